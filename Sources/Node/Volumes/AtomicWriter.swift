import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One file of a projected payload: its bytes and its permission bits.
public struct FileProjection: Sendable, Hashable {
    public var data: [UInt8]
    public var mode: Int32

    public init(data: [UInt8], mode: Int32) {
        self.data = data
        self.mode = mode
    }
}

/// A volume set-up or update failure. `description` is the kubelet's event text
/// (`MountVolume.SetUp failed for volume "x" : …`); `message` is the cause alone.
public struct VolumeError: Error, CustomStringConvertible, Sendable, Equatable {
    public var volume: String?
    public var message: String

    public init(volume: String? = nil, _ message: String) {
        self.volume = volume
        self.message = message
    }

    public var description: String {
        guard let volume else { return message }
        return "MountVolume.SetUp failed for volume \"\(volume)\" : \(message)"
    }
}

/// Writes a set of files into a directory so that readers always see either the whole old set
/// or the whole new set, never a mix: the kubelet's `AtomicWriter.Write`
/// (pkg/volume/util/atomic_writer.go, the 12-step version current since 1.29).
///
/// Layout: `<dir>/<key> -> ..data/<key>`, `<dir>/..data -> ..YYYY_MM_DD_HH_MM_SS.<random>`; an
/// update writes a new timestamped directory and swaps `..data` with one `rename(2)`. Programs
/// such as configmap-reload watch for exactly that rename.
public struct AtomicWriter: Sendable {
    public let targetDir: String

    static let dataDirName = "..data"
    static let newDataDirName = "..data_tmp"
    static let maxFileNameLength = 255
    static let maxPathLength = 4096

    public init(targetDir: String) {
        self.targetDir = targetDir
    }

    public func write(_ payload: [String: FileProjection]) throws {
        // (1) Validate and clean the payload paths.
        let clean = try Self.validatePayload(payload)

        let dataDirPath = targetDir + "/" + Self.dataDirName
        // (2) The current version, if any.
        let oldTsDir = Self.readlink(dataDirPath) ?? ""
        let oldTsPath = targetDir + "/" + oldTsDir

        var pathsToRemove: Set<String> = []
        var shouldWrite = true
        if !oldTsDir.isEmpty {
            // (3) Paths of the old version that the new payload no longer has.
            pathsToRemove = Self.pathsToRemove(clean, oldTsPath: oldTsPath)
            // (4) Nothing differs: keep the old version (and its directory).
            if !(try Self.shouldWritePayload(clean, oldTsPath: oldTsPath)) && pathsToRemove.isEmpty {
                shouldWrite = false
            }
        }

        if shouldWrite {
            // (5) A fresh timestamped directory, 0755 whatever the umask.
            let tsDir = try newTimestampDir()
            let tsDirName = (tsDir as NSString).lastPathComponent
            // (6) The payload, each file chmod'ed to its exact mode.
            do {
                try Self.writePayload(clean, into: tsDir)
            } catch {
                try? FileManager.default.removeItem(atPath: tsDir)
                throw error
            }
            // (7) setPerms (fsGroup ownership) is not applied: Tandem runs pods as its own user.
            // (8) `..data_tmp -> <tsDirName>` (a relative target).
            let newDataDirPath = targetDir + "/" + Self.newDataDirName
            unlink(newDataDirPath)
            guard symlink(tsDirName, newDataDirPath) == 0 else {
                let e = Self.errnoString()
                try? FileManager.default.removeItem(atPath: tsDir)
                throw VolumeError("symlink \(newDataDirPath): \(e)")
            }
            // (9) The atomic switch.
            guard rename(newDataDirPath, dataDirPath) == 0 else {
                let e = Self.errnoString()
                unlink(newDataDirPath)
                try? FileManager.default.removeItem(atPath: tsDir)
                throw VolumeError("rename \(newDataDirPath) to \(dataDirPath): \(e)")
            }
        }

        // (10) Missing user-visible links, one per top-level path element.
        try createUserVisibleFiles(clean)
        // (11) Stale top-level links.
        try removeUserVisiblePaths(pathsToRemove)
        // (12) The old version.
        if !oldTsDir.isEmpty && shouldWrite {
            try? FileManager.default.removeItem(atPath: oldTsPath)
        }
    }

    // MARK: - Steps

    /// `validatePayload` + `validatePath`, with the kubelet's messages; returns cleaned paths.
    static func validatePayload(_ payload: [String: FileProjection]) throws -> [String: FileProjection] {
        var clean: [String: FileProjection] = [:]
        for (path, projection) in payload {
            try validatePath(path)
            clean[cleanPath(path)] = projection
        }
        return clean
    }

    static func validatePath(_ path: String) throws {
        if path.isEmpty { throw VolumeError("invalid path: must not be empty: \"\(path)\"") }
        if path.hasPrefix("/") { throw VolumeError("invalid path: must be relative path: \(path)") }
        if path.utf8.count > maxPathLength {
            throw VolumeError("invalid path: must be less than or equal to \(maxPathLength) characters")
        }
        let items = path.split(separator: "/", omittingEmptySubsequences: false)
        for item in items {
            if item == ".." { throw VolumeError("invalid path: must not contain '..': \(path)") }
            if item.utf8.count > maxFileNameLength {
                throw VolumeError("invalid path: filenames must be less than or equal to \(maxFileNameLength) characters")
            }
        }
        if let first = items.first, first.hasPrefix(".."), first.count > 2 {
            throw VolumeError("invalid path: must not start with '..': \(path)")
        }
    }

    /// Go's `filepath.Clean` for relative paths without `..` (already rejected).
    static func cleanPath(_ path: String) -> String {
        let parts = path.split(separator: "/").filter { $0 != "." }
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }

    /// `pathsToRemove`: every path under the old directory that is neither a payload file nor a
    /// parent directory of one.
    static func pathsToRemove(_ payload: [String: FileProjection], oldTsPath: String) -> Set<String> {
        var newPaths: Set<String> = []
        for path in payload.keys {
            var p = Substring(path)
            newPaths.insert(path)
            while let slash = p.lastIndex(of: "/") {
                p = p[..<slash]
                newPaths.insert(String(p))
            }
        }
        var remove: Set<String> = []
        guard let walker = FileManager.default.enumerator(atPath: oldTsPath) else { return remove }
        while let relative = walker.nextObject() as? String {
            if relative.isEmpty || relative == "." { continue }
            if !newPaths.contains(relative) { remove.insert(relative) }
        }
        return remove
    }

    /// `shouldWritePayload`: true when any file is new, or differs in bytes or mode.
    static func shouldWritePayload(_ payload: [String: FileProjection], oldTsPath: String) throws -> Bool {
        for (path, projection) in payload {
            let full = oldTsPath + "/" + path
            var st = stat()
            guard lstat(full, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return true }
            if Int32(st.st_mode & 0o7777) != projection.mode & 0o7777 { return true }
            guard let old = FileManager.default.contents(atPath: full) else { return true }
            if !old.elementsEqual(projection.data) { return true }
        }
        return false
    }

    /// `newTimestampDir`: `MkdirTemp(targetDir, "..2006_01_02_15_04_05.")` then chmod 0755.
    func newTimestampDir() throws -> String {
        var now = time(nil)
        var t = tm()
        gmtime_r(&now, &t)
        let stamp = String(format: "..%04d_%02d_%02d_%02d_%02d_%02d.", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)
        var template = Array((targetDir + "/" + stamp + "XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw VolumeError("unable to create new temp directory in \(targetDir): \(Self.errnoString())")
        }
        let dir = String(cString: made)
        guard chmod(dir, 0o755) == 0 else {
            throw VolumeError("unable to chmod \(dir): \(Self.errnoString())")
        }
        return dir
    }

    /// `writePayloadToDir`: `MkdirAll(parent, 0777)`, `WriteFile(path, data, mode)`, `Chmod(mode)`.
    static func writePayload(_ payload: [String: FileProjection], into dir: String) throws {
        for (path, projection) in payload {
            let full = dir + "/" + path
            let parent = (full as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            let mode = mode_t(projection.mode & 0o7777)
            let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
            guard fd >= 0 else { throw VolumeError("unable to write file \(full) with mode \(String(mode, radix: 8)): \(errnoString())") }
            var offset = 0
            while offset < projection.data.count {
                let n = projection.data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
                if n < 0 {
                    if errno == EINTR { continue }
                    let e = errnoString()
                    close(fd)
                    throw VolumeError("unable to write file \(full): \(e)")
                }
                offset += n
            }
            close(fd)
            // The umask applied to open(2); the requested mode must hold exactly.
            guard chmod(full, mode) == 0 else { throw VolumeError("unable to change file \(full) with mode \(String(mode, radix: 8)): \(errnoString())") }
        }
    }

    /// `createUserVisibleFiles`: `<dir>/e -> ..data/e` for the first element e of each path.
    func createUserVisibleFiles(_ payload: [String: FileProjection]) throws {
        for path in payload.keys {
            let link = String(path.split(separator: "/").first ?? Substring(path))
            let visible = targetDir + "/" + link
            var st = stat()
            if lstat(visible, &st) != 0 && errno == ENOENT {
                guard symlink(Self.dataDirName + "/" + link, visible) == 0 else {
                    throw VolumeError("symlink \(visible): \(Self.errnoString())")
                }
            }
        }
    }

    /// `removeUserVisiblePaths`: only top-level entries (no `/`) are links in the volume root.
    func removeUserVisiblePaths(_ paths: Set<String>) throws {
        var last: VolumeError?
        for path in paths where !path.contains("/") {
            if unlink(targetDir + "/" + path) != 0 && errno != ENOENT {
                last = VolumeError("error pruning old user-visible path \(path): \(Self.errnoString())")
            }
        }
        if let last { throw last }
    }

    static func readlink(_ path: String) -> String? {
        var buf = [CChar](repeating: 0, count: 4097)
        let n = Glibc.readlink(path, &buf, 4096)
        guard n >= 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func errnoString() -> String { String(cString: strerror(errno)) }
}
