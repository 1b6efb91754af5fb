import Foundation
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
/// overflow) loses nothing. One thread blocks in `poll(2)` on the inotify descriptor and an
/// eventfd used to stop it; it records what happened and wakes the tailer through a stream that
/// holds at most one pending wake-up, so a writer producing a million `IN_MODIFY` events costs
/// the tailer one pass per wake, not one per event.
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

    private let fd: Int32
    /// A pipe whose write end `stop()` writes to; the thread polls the read end.
    private let stopFD: Int32
    private let stopReadFD: Int32
    private let state = Mutex(State())
    private let wake: AsyncStream<Void>.Continuation
    public let wakeups: AsyncStream<Void>

    public init() throws {
        fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard fd >= 0 else { throw FD.Error("inotify_init1") }
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else {
            let e = FD.Error("pipe")
            close(fd)
            throw e
        }
        stopFD = ends[1]
        stopReadFD = ends[0]
        _ = fcntl(stopFD, F_SETFD, FD_CLOEXEC)
        _ = fcntl(stopReadFD, F_SETFD, FD_CLOEXEC)
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let thread = Thread { [self] in loop() }
        thread.name = "tandem-logs-inotify"
        thread.start()
    }

    deinit { close(stopFD) }

    /// Watches `dir` (once). Returns false if it cannot be watched (it does not exist yet).
    @discardableResult
    public func watch(_ dir: String) -> Bool {
        if state.withLock({ $0.watched.contains(dir) }) { return true }
        let mask = IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF
        let wd = inotify_add_watch(fd, dir, UInt32(mask))
        guard wd >= 0 else { return false }
        state.withLock {
            $0.dirs[wd] = dir
            $0.watched.insert(dir)
        }
        return true
    }

    /// What happened since the last call.
    public func takeChanges() -> Changes {
        state.withLock { s in
            defer { s.changes = Changes() }
            return s.changes
        }
    }

    /// Wakes the tailer without an inotify event (timer, stop request).
    public func poke() { wake.yield() }

    /// Ends the thread and the `wakeups` stream.
    public func stop() {
        var one: UInt8 = 1
        _ = write(stopFD, &one, 1)
    }

    private func loop() {
        defer {
            wake.finish()
            close(fd)
            close(stopReadFD)
        }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: stopReadFD, events: Int16(POLLIN), revents: 0)]
        while true {
            let r = poll(&fds, 2, -1)
            if r < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 { return }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return
            }
            var offset = 0
            var changes = Changes()
            var gone: [Int32] = []
            buffer.withUnsafeBytes { raw in
                while offset + MemoryLayout<inotify_event>.size <= n {
                    let event = raw.load(fromByteOffset: offset, as: inotify_event.self)
                    let m = Int32(bitPattern: event.mask)
                    if m & Int32(IN_Q_OVERFLOW) != 0 { changes.overflow = true }
                    if m & Int32(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF) != 0 {
                        changes.structural = true
                    }
                    if m & Int32(IN_IGNORED) != 0 { gone.append(event.wd) }
                    offset += MemoryLayout<inotify_event>.size + Int(event.len)
                }
            }
            state.withLock {
                $0.changes.structural = $0.changes.structural || changes.structural
                $0.changes.overflow = $0.changes.overflow || changes.overflow
                // A removed directory's watch is gone; it is watched again if it comes back.
                for wd in gone {
                    if let dir = $0.dirs.removeValue(forKey: wd) { $0.watched.remove(dir) }
                }
            }
            wake.yield()
        }
    }
}
