import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The few mount-table operations the volume manager needs (the kubelet's `mount.Interface`).
enum Mounts {
    /// The filesystem type mounted exactly at `path`, from /proc/self/mountinfo, or nil when
    /// `path` is not a mount point (the kubelet's `IsLikelyNotMountPoint`, made exact).
    static func fsType(at path: String) -> String? {
        let target = normalize(path)
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
        var found: String?
        for line in text.split(separator: "\n") {
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let fields = halves[0].split(separator: " ")
            guard fields.count >= 5, unescape(String(fields[4])) == target else { continue }
            // The last matching line is the one on top.
            found = halves[1].split(separator: " ").first.map(String.init)
        }
        return found
    }

    /// mountinfo escapes space, tab, newline and backslash as `\ooo`.
    static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\"), i + 3 < b.count,
               let v = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(v); i += 4
            } else {
                out.append(b[i]); i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func normalize(_ path: String) -> String {
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        if realpath(path, &resolved) != nil {
            return String(decoding: resolved.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return path
    }

    /// `mount -t tmpfs -o size=<bytes> tmpfs <path>`, as the emptyDir plugin's `setupTmpfs`.
    static func mountTmpfs(at path: String, sizeBytes: Int64?) throws {
        let options = sizeBytes.map { "size=\($0)" } ?? ""
        guard mount("tmpfs", path, "tmpfs", 0, options) == 0 else {
            throw VolumeError("mount failed: tmpfs on \(path) (\(options)): \(String(cString: strerror(errno)))")
        }
    }

    /// Unmounts `path`. A container's mount namespace may still hold the volume busy, in which
    /// case the mount is detached (lazy), which is what `umount -l` would do.
    static func unmount(_ path: String) -> Bool {
        if umount2(path, 0) == 0 { return true }
        if errno == EBUSY { return umount2(path, Int32(MNT_DETACH)) == 0 }
        return errno == EINVAL // not a mount point
    }

    /// `os.RemoveAll` that never follows a symlink and never descends into another filesystem,
    /// so a mount left inside a volume directory is not emptied by accident.
    static func removeAll(_ path: String) {
        var root = stat()
        guard lstat(path, &root) == 0 else { return }
        removeAll(path, device: root.st_dev)
    }

    private static func removeAll(_ path: String, device: dev_t) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            guard st.st_dev == device else { return }
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
                removeAll(path + "/" + entry, device: device)
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
