import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The files an image carries (nginx's configuration, its index page), unpacked once per distinct
/// content into an image store and shared by every container started from that image, as a node
/// unpacks an image's layers once rather than at each container start. Each container copies
/// them into its own writable layer (`mount_root` in init.c), so what one edits no other sees.
public enum ImageFiles {
    /// `store/<key>`, where `key` is a digest of `files` (paths, modes, link targets, contents):
    /// a directory, once written, never changes, and a Tandem carrying other files for an image
    /// gets a directory of its own. Written under a temporary name and renamed into place, so a
    /// container never copies a half-written tree and concurrent starts cannot collide.
    public static func directory(for files: [String: FileContent], under store: String) throws -> String {
        let dir = store + "/" + key(files)
        if FileManager.default.fileExists(atPath: dir) { return dir }
        try Sys.mkdirs(store)
        var template = Array((store + "/.unpacking-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw RuntimeError.errno("mkdtemp in \(store)")
        }
        let tmp = String(cString: made)
        do {
            for (path, content) in files {
                let dest = tmp + (path.hasPrefix("/") ? path : "/" + path)
                try Sys.mkdirs((dest as NSString).deletingLastPathComponent)
                if let target = content.symlinkTarget {
                    try FileManager.default.createSymbolicLink(atPath: dest, withDestinationPath: target)
                } else if !FileManager.default.createFile(atPath: dest, contents: content.data,
                                                          attributes: [.posixPermissions: Int(content.mode)]) {
                    throw RuntimeError("cannot write \(dest)")
                }
            }
            chmod(tmp, 0o755)
            // Another start may have won the race: its tree has the same content.
            if rename(tmp, dir) != 0 && !FileManager.default.fileExists(atPath: dir) { throw RuntimeError.errno("rename \(tmp) to \(dir)") }
        } catch {
            try? FileManager.default.removeItem(atPath: tmp)
            throw error
        }
        try? FileManager.default.removeItem(atPath: tmp)
        return dir
    }

    /// FNV-1a over the sorted entries: stable across runs (Swift's `Hasher` is seeded per process).
    static func key(_ files: [String: FileContent]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
            for b in bytes {
                h ^= UInt64(b)
                h = h &* 0x0000_0100_0000_01b3
            }
        }
        for path in files.keys.sorted() {
            let f = files[path]!
            mix(path.utf8)
            mix([0])
            mix(String(f.mode, radix: 8).utf8)
            mix(f.symlinkTarget.map { "l" + $0 }?.utf8 ?? "f".utf8)
            mix(String(f.data.count).utf8)
            mix([0])
            mix(f.data)
        }
        return String(h, radix: 16)
    }
}
