import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Tells which files appear or change in some directories: inotify for files written and closed,
/// created, or renamed in. One thread blocks in `poll(2)` on the inotify descriptor and a stop
/// pipe; there is no polling loop. The thread owns both descriptors and closes them as it ends,
/// so a descriptor number is never reused under a read still in flight (closing an fd does not
/// wake a thread blocked reading it).
final class DirectoryWatcher: @unchecked Sendable {
    private let stopFD: Int32
    private let thread: Thread

    /// `onNames` gets the file names of each batch of events (directories are not told apart).
    init?(dirs: [String], onNames: @escaping @Sendable ([String]) -> Void) {
        let fd = inotify_init1(Int32(IN_CLOEXEC))
        guard fd >= 0 else { return nil }
        var stop: [Int32] = [0, 0]
        guard pipe(&stop) == 0 else {
            close(fd)
            return nil
        }
        for end in stop { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        stopFD = stop[1]
        let stopRead = stop[0]
        for dir in Set(dirs) {
            _ = inotify_add_watch(fd, dir, UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE))
        }
        thread = Thread {
            defer {
                close(fd)
                close(stopRead)
            }
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: stopRead, events: Int16(POLLIN), revents: 0)]
                if poll(&fds, 2, -1) < 0 {
                    if errno == EINTR { continue }
                    return
                }
                if fds[1].revents != 0 { return }
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { return }
                onNames(Self.names(in: buffer, count: n))
            }
        }
        thread.start()
    }

    /// The names of the inotify events in the first `count` bytes of `buffer`.
    static func names(in buffer: [UInt8], count n: Int) -> [String] {
        var names: [String] = []
        var offset = 0
        buffer.withUnsafeBytes { raw in
            while offset + MemoryLayout<inotify_event>.size <= n {
                let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                let nameStart = offset + MemoryLayout<inotify_event>.size
                let nameEnd = nameStart + Int(event.len)
                guard nameEnd <= n else { return }
                names.append(String(decoding: raw[nameStart..<nameEnd].prefix { $0 != 0 }, as: UTF8.self))
                offset = nameEnd
            }
        }
        return names
    }

    /// Ends the thread; it closes the inotify descriptor as it goes.
    func cancel() {
        var byte: UInt8 = 1
        _ = write(stopFD, &byte, 1)
        close(stopFD)
    }
}

/// Tells when manifest files change, for `tandem run --watch`: a watch on each file's directory
/// (editors and `kubectl`-style tools replace files by rename, which a watch on the file itself
/// would miss).
enum ManifestWatcher {
    static func watch(files: [String], onChange: @escaping @Sendable () -> Void) -> DirectoryWatcher? {
        let dirs = files.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
        let names = Set(files.map { URL(fileURLWithPath: $0).lastPathComponent })
        return DirectoryWatcher(dirs: dirs) { changed in
            if changed.contains(where: names.contains) { onChange() }
        }
    }
}
