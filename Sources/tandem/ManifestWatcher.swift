import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Tells when manifest files change, for `tandem run --watch`: inotify on each file's directory
/// (editors and `kubectl`-style tools replace files by rename, which a watch on the file itself
/// would miss). One thread blocks in `read(2)`; there is no polling.
final class ManifestWatcher: @unchecked Sendable {
    private let fd: Int32
    private let thread: Thread

    init?(files: [String], onChange: @escaping @Sendable () -> Void) {
        fd = inotify_init1(Int32(IN_CLOEXEC))
        guard fd >= 0 else { return nil }
        let dirs = Set(files.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path })
        let names = Set(files.map { URL(fileURLWithPath: $0).lastPathComponent })
        for dir in dirs {
            _ = inotify_add_watch(fd, dir, UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE))
        }
        let fd = self.fd
        thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { return }
                var offset = 0
                var relevant = false
                while offset + MemoryLayout<inotify_event>.size <= n {
                    let (len, name): (Int, String) = buffer.withUnsafeBytes { raw in
                        let event = raw.load(fromByteOffset: offset, as: inotify_event.self)
                        let nameStart = offset + MemoryLayout<inotify_event>.size
                        let bytes = raw[nameStart..<(nameStart + Int(event.len))].prefix { $0 != 0 }
                        return (Int(event.len), String(decoding: bytes, as: UTF8.self))
                    }
                    if names.contains(name) { relevant = true }
                    offset += MemoryLayout<inotify_event>.size + len
                }
                if relevant { onChange() }
            }
        }
        thread.start()
    }

    /// Closing the descriptor ends the blocked read and with it the thread.
    func cancel() {
        close(fd)
    }
}
