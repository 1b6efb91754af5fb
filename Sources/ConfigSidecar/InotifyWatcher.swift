import Foundation
import Inotify
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Entries created, renamed, written or removed in a set of directories, as an async sequence of
/// batches. The kubelet's AtomicWriter publishes a volume update with one
/// `rename("..data_tmp", "..data")`, which arrives here as `IN_MOVED_TO "..data"`; a file
/// written in place arrives as `IN_CLOSE_WRITE`, a file replaced by rename as `IN_MOVED_TO`.
public final class InotifyWatcher: Sendable {
    /// One inotify event: the directory it happened in, the entry's name, the mask.
    public struct Event: Sendable, Equatable {
        public var directory: String
        public var name: String
        public var mask: UInt32
    }

    /// Events read together (one `read(2)`), stamped when they were read.
    public struct Batch: Sendable {
        public var events: [Event]
        public var readAt: ContinuousClock.Instant
    }

    public let batches: AsyncStream<Batch>
    private let inotify: Inotify

    static let mask = UInt32(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_DELETE | IN_ATTRIB
        | IN_DELETE_SELF | IN_MOVE_SELF)

    /// Starts watching. Throws `SourceError` when a directory cannot be watched (missing, not a
    /// directory, out of inotify watches).
    public init(directories: [String]) throws(SourceError) {
        let (stream, continuation) = AsyncStream.makeStream(of: Batch.self, bufferingPolicy: .unbounded)
        batches = stream
        // Watch descriptors are known only once added, after the thread started.
        let box = NamesBox()
        let inotify: Inotify
        do {
            inotify = try Inotify(onEvents: { events in
                let readAt = ContinuousClock.now
                let directories = box.names.withLock { $0 }
                let batch = events.map { Event(directory: directories[$0.wd] ?? "", name: $0.name, mask: $0.mask) }
                if !batch.isEmpty { continuation.yield(Batch(events: batch, readAt: readAt)) }
            }, onEnd: { continuation.finish() })
        } catch {
            throw SourceError(error.description)
        }
        do {
            for dir in directories {
                let wd = try inotify.watch(dir, mask: Self.mask | UInt32(IN_ONLYDIR))
                box.names.withLock { $0[wd] = dir }
            }
        } catch {
            inotify.stop()
            throw SourceError(error.description)
        }
        self.inotify = inotify
    }

    /// Ends the sequence and releases the descriptors.
    public func stop() { inotify.stop() }

    deinit { stop() }
}

/// The watched directories by watch descriptor, shared with the inotify thread.
private final class NamesBox: Sendable {
    let names = Mutex<[Int32: String]>([:])
}
