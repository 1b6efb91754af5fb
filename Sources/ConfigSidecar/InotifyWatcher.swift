import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Entries created, renamed, written or removed in a set of directories, from inotify(7), as an
/// async sequence of batches. The kubelet's AtomicWriter publishes a volume update with one
/// `rename("..data_tmp", "..data")`, which arrives here as `IN_MOVED_TO "..data"`; a file
/// written in place arrives as `IN_CLOSE_WRITE`, a file replaced by rename as `IN_MOVED_TO`.
///
/// A dedicated thread blocks in `poll(2)` on the inotify descriptor and a stop pipe, so nothing
/// polls on a timer and `stop()` wakes it at once.
public final class InotifyWatcher: Sendable {
    /// One inotify event: the directory it happened in, the entry's name, the mask.
    public struct Event: Sendable, Equatable {
        public var directory: String
        public var name: String
        public var mask: UInt32
    }

    /// Events read together (one `read(2)` and whatever was already queued behind it), stamped
    /// when they were read.
    public struct Batch: Sendable {
        public var events: [Event]
        public var readAt: ContinuousClock.Instant
    }

    public let batches: AsyncStream<Batch>
    private let fd: Int32
    private let stopPipe: (read: Int32, write: Int32)
    private let stopped = Atomic<Bool>(false)

    static let mask = UInt32(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_DELETE | IN_ATTRIB
        | IN_DELETE_SELF | IN_MOVE_SELF)

    /// Starts watching. Throws `SourceError` when a directory cannot be watched (missing, not a
    /// directory, out of inotify watches).
    public init(directories: [String]) throws(SourceError) {
        let fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard fd >= 0 else { throw SourceError("inotify_init1: \(String(cString: strerror(errno)))") }
        var names: [Int32: String] = [:]
        for dir in directories {
            let wd = inotify_add_watch(fd, dir, Self.mask | UInt32(IN_ONLYDIR))
            guard wd >= 0 else {
                let e = String(cString: strerror(errno))
                close(fd)
                throw SourceError("\(dir): cannot watch: \(e)")
            }
            names[wd] = dir
        }
        var p: [Int32] = [0, 0]
        guard pipe(&p) == 0, fcntl(p[0], F_SETFD, FD_CLOEXEC) == 0, fcntl(p[1], F_SETFD, FD_CLOEXEC) == 0 else {
            close(fd)
            throw SourceError("pipe: \(String(cString: strerror(errno)))")
        }
        self.fd = fd
        stopPipe = (p[0], p[1])
        let (stream, continuation) = AsyncStream.makeStream(of: Batch.self, bufferingPolicy: .unbounded)
        batches = stream
        let stopRead = p[0]
        let directoryOf = names
        let thread = Thread {
            Self.readLoop(fd: fd, stop: stopRead, names: directoryOf, continuation: continuation)
            close(fd)
            close(stopRead)
        }
        thread.name = "inotify"
        thread.start()
    }

    /// Ends the sequence and releases the descriptors.
    public func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        var b: UInt8 = 1
        _ = write(stopPipe.write, &b, 1)
        close(stopPipe.write)
    }

    deinit { stop() }

    private static func readLoop(fd: Int32, stop: Int32, names: [Int32: String], continuation: AsyncStream<Batch>.Continuation) {
        defer { continuation.finish() }
        let bufferSize = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: stop, events: Int16(POLLIN), revents: 0)]
            let r = poll(&fds, 2, -1)
            if r < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 { return }
            var events: [Event] = []
            var readAt: ContinuousClock.Instant?
            // Drain everything queued: one batch per wake-up, however many entries changed.
            while true {
                let n = read(fd, buffer, bufferSize)
                if n <= 0 { break }
                if readAt == nil { readAt = ContinuousClock.now }
                var offset = 0
                while offset + MemoryLayout<inotify_event>.size <= n {
                    let ev = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                    let nameStart = buffer.advanced(by: offset + MemoryLayout<inotify_event>.size)
                    let name = ev.len > 0 ? String(cString: nameStart.assumingMemoryBound(to: CChar.self)) : ""
                    events.append(Event(directory: names[ev.wd] ?? "", name: name, mask: ev.mask))
                    offset += MemoryLayout<inotify_event>.size + Int(ev.len)
                }
            }
            if let readAt, !events.isEmpty { continuation.yield(Batch(events: events, readAt: readAt)) }
        }
    }
}
