import Foundation
import Inotify
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// inotify on the directories that hold (or will hold) the tailed files. A directory watch
/// reports writes to every file in it (`IN_MODIFY`) as well as creations, renames and deletions,
/// so one watch covers a file, its rotated predecessors in the same directory and a file that
/// does not exist yet; a watch on the file itself would go stale at the first rename.
///
/// Events are only a hint that something changed: the tailer reacts by reading and re-checking
/// everything, never by trusting an event's details, so coalescing events (and an inotify queue
/// overflow) loses nothing. The `Inotify` thread records what happened (no allocation per event)
/// and wakes the tailer through a stream that holds at most one pending wake-up, so a writer
/// producing a million `IN_MODIFY` events costs the tailer one pass per wake, not one per event.
public final class DirectoryWatcher: Sendable {
    public struct Changes: Sendable {
        /// Something was created, renamed or deleted: the paths must be resolved again.
        public var structural = false
        /// The kernel dropped events: resolve everything.
        public var overflow = false
    }

    private struct State {
        var dirs: [Int32: String] = [:]
        var watched: Set<String> = []
        var changes = Changes()
    }

    /// The state the inotify thread updates, in a box the thread's closure can hold.
    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    private let inotify: Inotify
    private let shared: Shared
    private let wake: AsyncStream<Void>.Continuation
    public let wakeups: AsyncStream<Void>

    public init() throws {
        let (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let shared = Shared()
        self.shared = shared
        self.wakeups = wakeups
        self.wake = wake
        inotify = try Inotify(onEvents: { events in
            var changes = Changes()
            var gone: [Int32] = []
            for e in events {
                if e.has(IN_Q_OVERFLOW) { changes.overflow = true }
                if e.has(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF) {
                    changes.structural = true
                }
                if e.has(IN_IGNORED) { gone.append(e.wd) }
            }
            shared.state.withLock {
                $0.changes.structural = $0.changes.structural || changes.structural
                $0.changes.overflow = $0.changes.overflow || changes.overflow
                // A removed directory's watch is gone; it is watched again if it comes back.
                for wd in gone {
                    if let dir = $0.dirs.removeValue(forKey: wd) { $0.watched.remove(dir) }
                }
            }
            wake.yield()
        }, onEnd: { wake.finish() })
    }

    deinit { inotify.stop() }

    /// Watches `dir` (once). Returns false if it cannot be watched (it does not exist yet).
    @discardableResult
    public func watch(_ dir: String) -> Bool {
        if shared.state.withLock({ $0.watched.contains(dir) }) { return true }
        let mask = IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF
        guard let wd = try? inotify.watch(dir, mask: UInt32(mask)) else { return false }
        shared.state.withLock {
            $0.dirs[wd] = dir
            $0.watched.insert(dir)
        }
        return true
    }

    /// What happened since the last call.
    public func takeChanges() -> Changes {
        shared.state.withLock { s in
            defer { s.changes = Changes() }
            return s.changes
        }
    }

    /// Wakes the tailer without an inotify event (timer, stop request).
    public func poke() { wake.yield() }

    /// Ends the thread and the `wakeups` stream.
    public func stop() { inotify.stop() }
}
