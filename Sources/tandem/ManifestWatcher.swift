import Foundation
import Inotify
#if canImport(Glibc)
import Glibc
#endif

/// Tells which files are written and closed, created, or renamed into some directories, through
/// `Inotify` (no polling loop).
final class DirectoryWatcher: Sendable {
    private let inotify: Inotify

    /// `onNames` gets the file names of each batch of events (directories are not told apart).
    /// Nil when inotify cannot be had at all; a directory that cannot be watched is skipped.
    init?(dirs: [String], onNames: @escaping @Sendable ([String]) -> Void) {
        guard let inotify = try? Inotify(onEvents: { events in onNames(events.map(\.name)) }) else { return nil }
        for dir in Set(dirs) { _ = try? inotify.watch(dir, mask: UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE)) }
        self.inotify = inotify
    }

    /// Ends the thread; it closes the inotify descriptor as it goes.
    func cancel() { inotify.stop() }
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
