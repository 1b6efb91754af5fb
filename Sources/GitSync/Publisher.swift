import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The atomic publish, as git-sync's `publishSymlink` does it: a new symlink `tmp-link` beside
/// the link, then rename(2) over the link. rename replaces the old link in one step, so a reader
/// that resolves the link sees either the old complete worktree or the new complete one, never
/// a missing link or a half-written tree (the tree was complete before the link moved).
///
/// The target is *relative* (`.worktrees/HASH`): the volume is mounted at different paths in
/// different containers (the seed: `/tmp/git` in git-sync, `/usr/share/nginx/` in nginx), and
/// only a relative link resolves in all of them. The contract consumers rely on is
/// `basename(readlink(link)) == commit hash`.
enum Publisher {
    static let tmpLinkName = "tmp-link"

    static func publish(target: String, link: String) throws {
        let linkDir = (link as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: linkDir, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o775])
        let relative = relativePath(from: linkDir, to: target)
        let tmp = linkDir + "/" + tmpLinkName
        // A tmp-link left by a crash between symlink and rename would make symlink fail (EEXIST).
        unlink(tmp)
        guard symlink(relative, tmp) == 0 else { throw SyncError("error creating symlink: \(String(cString: strerror(errno)))") }
        guard rename(tmp, link) == 0 else {
            let e = errno
            unlink(tmp)
            throw SyncError("error replacing symlink: \(String(cString: strerror(e)))")
        }
    }

    /// The absolute worktree the link points at, or nil when there is no link yet.
    static func currentTarget(link: String) -> String? {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link), !target.isEmpty else { return nil }
        if target.hasPrefix("/") { return target }
        return GitSyncConfig.absolute(target, base: (link as NSString).deletingLastPathComponent)
    }

    /// Go's `filepath.Rel` for two absolute, clean paths: `from`=/r, `to`=/r/.worktrees/H gives
    /// `.worktrees/H`; `from`=/r/.worktrees/H, `to`=/r gives `../..`.
    static func relativePath(from base: String, to target: String) -> String {
        let b = base.split(separator: "/"), t = target.split(separator: "/")
        var common = 0
        while common < b.count, common < t.count, b[common] == t[common] { common += 1 }
        let parts = Array(repeating: "..", count: b.count - common) + t[common...].map(String.init)
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }
}
