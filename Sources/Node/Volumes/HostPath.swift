import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `hostPath.type` checks, the kubelet's `checkTypeInternal` (pkg/volume/hostpath/host_path.go),
/// with its error texts. The type is checked on the host before any container starts.
enum HostPathType {
    /// Checks (and for the `…OrCreate` types, creates) `path`. Returns whether the path is a
    /// file-like object (not a directory), which decides how it is bind-mounted.
    @discardableResult
    static func check(_ path: String, type: String?) throws -> Bool {
        switch type ?? "" {
        case "":
            break
        case "DirectoryOrCreate":
            if !exists(path) {
                // makeDir: os.MkdirAll(path, 0755)
                do {
                    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                            attributes: [.posixPermissions: 0o755])
                } catch {
                    throw VolumeError("mkdir \(path): \(error.localizedDescription)")
                }
                return false
            }
            fallthrough
        case "Directory":
            guard fileType(path) == S_IFDIR else { throw VolumeError("hostPath type check failed: \(path) is not a directory") }
        case "FileOrCreate":
            if !exists(path) {
                // makeFile: os.OpenFile(path, O_CREATE, 0644); the parent must exist.
                let fd = open(path, O_CREAT | O_RDONLY | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw VolumeError("open \(path): \(String(cString: strerror(errno)))") }
                close(fd)
                return true
            }
            fallthrough
        case "File":
            guard fileType(path) == S_IFREG else { throw VolumeError("hostPath type check failed: \(path) is not a file") }
        case "Socket":
            guard fileType(path) == S_IFSOCK else { throw VolumeError("hostPath type check failed: \(path) is not a socket file") }
        case "CharDevice":
            guard fileType(path) == S_IFCHR else { throw VolumeError("hostPath type check failed: \(path) is not a character device") }
        case "BlockDevice":
            guard fileType(path) == S_IFBLK else { throw VolumeError("hostPath type check failed: \(path) is not a block device") }
        default:
            throw VolumeError("\(type!) is an invalid volume type")
        }
        if let t = fileType(path) { return t != S_IFDIR }
        return false
    }

    private static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    /// `GetFileType` follows symlinks (it uses `os.Stat`).
    private static func fileType(_ path: String) -> mode_t? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return st.st_mode & S_IFMT
    }
}
