import ContainerRuntime
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `makeMounts`' subPath steps: a missing subPath is created inside the volume with the volume
/// directory's own mode (`SafeMakeDir`, so an fsGroup volume's group-writable setgid mode carries
/// over), and the path finally bind-mounted must resolve inside the volume (`PrepareSafeSubpath`):
/// a symlink the pod planted there (`ln -s /etc vol/esc`) never leads a mount to the host's files.
/// The errors are the kubelet's, which keep the host paths out of what the user sees.
enum SubPath {
    static func prepare(_ subPath: String, in volume: String, volumeMount: String, container: String) throws -> String {
        let full = volume + "/" + subPath
        if !FileManager.default.fileExists(atPath: full) {
            do { try makeDirectories(subPath, in: volume) } catch {
                throw ContainerConfigError(description: "failed to create subPath directory for volumeMount \"\(volumeMount)\" of container \"\(container)\"")
            }
        }
        guard let resolved = realPath(full), let base = realPath(volume), within(resolved, base) else {
            throw ContainerConfigError(description: "failed to prepare subPath for volumeMount \"\(volumeMount)\" of container \"\(container)\"")
        }
        return resolved
    }

    /// `doSafeMakeDir`: each missing component made with the volume's mode (chmod'ed, so the
    /// umask takes nothing off); an existing one must be a directory inside the volume.
    private static func makeDirectories(_ subPath: String, in volume: String) throws {
        var st = stat()
        guard stat(volume, &st) == 0, let base = realPath(volume) else { throw RuntimeError("volume \(volume) is gone") }
        let mode = st.st_mode & 0o7777
        var current = volume
        for component in subPath.split(separator: "/") where component != "." {
            current += "/" + component
            if let existing = realPath(current) {
                var cst = stat()
                guard within(existing, base), stat(existing, &cst) == 0, (cst.st_mode & S_IFMT) == S_IFDIR else {
                    throw RuntimeError("\(current) is not a directory inside the volume")
                }
                continue
            }
            guard mkdir(current, mode) == 0 || errno == EEXIST, chmod(current, mode) == 0 else { throw RuntimeError("mkdir \(current): \(String(cString: strerror(errno)))") }
        }
    }

    private static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    private static func within(_ path: String, _ base: String) -> Bool {
        path == base || path.hasPrefix(base.hasSuffix("/") ? base : base + "/")
    }
}
