import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `volume.SetVolumeOwnership` (pkg/volume/volume_linux.go): with a pod `fsGroup`, every file
/// of an emptyDir, configMap, secret, downwardAPI or projected volume is given that group and
/// group read (and write, unless the volume is read-only) permission; directories also get
/// group search and the setgid bit, so files created later inherit the group.
enum VolumeOwnership {
    static func apply(_ dir: String, fsGroup: Int64, readOnly: Bool) {
        walk(dir) { path, st in
            _ = lchown(path, uid_t.max, gid_t(fsGroup))
            // chmod would follow a symlink to its target and undo the volume's defaultMode.
            guard (st.st_mode & S_IFMT) != S_IFLNK else { return }
            var mask: mode_t = readOnly ? 0o440 : 0o660
            if (st.st_mode & S_IFMT) == S_IFDIR { mask |= S_ISGID | 0o110 }
            _ = chmod(path, (st.st_mode & 0o7777) | mask)
        }
    }

    /// `filepath.Walk`: the directory itself, then its entries, without following symlinks.
    private static func walk(_ path: String, _ body: (String, stat) -> Void) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        body(path, st)
        guard (st.st_mode & S_IFMT) == S_IFDIR else { return }
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] { walk(path + "/" + entry, body) }
    }
}
