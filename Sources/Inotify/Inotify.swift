import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// inotify(7), once for every watcher in Tandem (the log tailer, the config sidecar's file
/// source, `tandem run --watch`, `kubectl logs -f`, the git-sync benchmark).
///
/// One thread blocks in `poll(2)` on the inotify descriptor and a stop pipe — nothing polls on a
/// timer, and `stop()` wakes it at once — reads whatever is queued and hands each read's events
/// to `onEvents` as a borrowed view of the kernel's buffer: a caller that only needs to know
/// *that* something happened (the tailer, under a writer producing a million `IN_MODIFY`s)
/// allocates nothing per event. The thread owns the descriptors and closes them as it ends, so
/// a descriptor number is never reused under a read still in flight.
public final class Inotify: Sendable {
    private let fd: Int32
    private let stopWrite: Int32
    private let stopped = Atomic<Bool>(false)

    /// Starts the thread. `onEvents` runs on it, once per `read(2)`; `onEnd` once, after the last.
    public init(onEvents: @escaping @Sendable (InotifyEvents) -> Void, onEnd: @escaping @Sendable () -> Void = {}) throws(InotifyError) {
        let fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard fd >= 0 else { throw InotifyError("inotify_init1") }
        var p: [Int32] = [0, 0]
        guard pipe(&p) == 0, fcntl(p[0], F_SETFD, FD_CLOEXEC) == 0, fcntl(p[1], F_SETFD, FD_CLOEXEC) == 0 else {
            let e = InotifyError("pipe")
            close(fd)
            throw e
        }
        self.fd = fd
        stopWrite = p[1]
        let stopRead = p[0]
        let thread = Thread {
            Self.readLoop(fd: fd, stop: stopRead, onEvents: onEvents)
            close(fd)
            close(stopRead)
            onEnd()
        }
        thread.name = "tandem-inotify"
        thread.start()
    }

    deinit { stop() }

    /// Adds a watch; returns its descriptor. Throws (with errno's text) for a path that cannot
    /// be watched: missing, out of watches, or not a directory with `IN_ONLYDIR`.
    @discardableResult
    public func watch(_ path: String, mask: UInt32) throws(InotifyError) -> Int32 {
        let wd = inotify_add_watch(fd, path, mask)
        guard wd >= 0 else { throw InotifyError("\(path): cannot watch") }
        return wd
    }

    /// Ends the thread; idempotent.
    public func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        var b: UInt8 = 1
        _ = write(stopWrite, &b, 1)
        close(stopWrite)
    }

    private static func readLoop(fd: Int32, stop: Int32, onEvents: @Sendable (InotifyEvents) -> Void) {
        let size = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: stop, events: Int16(POLLIN), revents: 0)]
        while true {
            if poll(&fds, 2, -1) < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 { return }
            // Everything queued, one callback per read.
            while true {
                let n = read(fd, buffer, size)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                onEvents(InotifyEvents(UnsafeRawBufferPointer(start: buffer, count: n)))
            }
        }
    }
}

/// The events of one `read(2)`, valid only during the `onEvents` call.
public struct InotifyEvents: Sequence {
    public struct Event {
        public let wd: Int32
        public let mask: UInt32
        fileprivate let nameBytes: UnsafeRawBufferPointer
        /// The entry's name within the watched directory; empty for the directory itself.
        public var name: String { String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self) }
        public func has(_ bits: Int32) -> Bool { mask & UInt32(bitPattern: bits) != 0 }
    }

    private let raw: UnsafeRawBufferPointer
    init(_ raw: UnsafeRawBufferPointer) { self.raw = raw }

    public struct Iterator: IteratorProtocol {
        let raw: UnsafeRawBufferPointer
        var offset = 0
        public mutating func next() -> Event? {
            let header = MemoryLayout<inotify_event>.size
            guard offset + header <= raw.count else { return nil }
            let e = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
            let end = Swift.min(raw.count, offset + header + Int(e.len))
            defer { offset = end }
            return Event(wd: e.wd, mask: e.mask, nameBytes: UnsafeRawBufferPointer(rebasing: raw[(offset + header)..<end]))
        }
    }

    public func makeIterator() -> Iterator { Iterator(raw: raw) }
}

public struct InotifyError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    /// `what: <strerror(errno)>`.
    public init(_ what: String) { description = "\(what): \(String(cString: strerror(errno)))" }
}
