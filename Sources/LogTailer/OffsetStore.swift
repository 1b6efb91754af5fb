import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How far each file has been *written out*: identity → (path hint, fingerprint, offset just
/// past the last line the sink acknowledged). Updated only after a sink returns, never when a
/// line is merely read, so a restart resumes after the last line that left the process: no line
/// is lost. The only lines sent twice after a crash (not a graceful stop, which saves last) are
/// those written out after the last save, at most `maxUnsavedBytes` of them: the file is
/// rewritten once that much was written out, or `minSaveInterval` after the last rewrite,
/// whichever comes first (a tailer catching up hands the sink thousands of small chunks a
/// second, and a rewrite per chunk would cost more than the chunk). A change not yet saved is
/// saved by the next pass, at the latest the periodic one a rescan interval later.
///
/// Keyed by identity, not path (Promtail's path-keyed positions cannot tell a rotated file
/// from its successor). The file is replaced atomically (temp file, fsync, rename), so a crash
/// leaves the old or the new checkpoint, never half of one. fsync is rate-limited to once a
/// second: the rename alone is enough against a crash of this process; the fsync protects
/// against a crash of the machine, and a second of duplicates is the price of not syncing the
/// disk on every batch.
public struct OffsetStore: Sendable {
    public struct Checkpoint: Codable, Sendable, Equatable {
        public var path: String
        public var identity: FileIdentity
        public var fingerprint: Fingerprint
        public var offset: Int64
        /// Seconds since the epoch of the last update, to forget the oldest first.
        public var updated: Int

        public init(path: String, identity: FileIdentity, fingerprint: Fingerprint, offset: Int64, updated: Int) {
            self.path = path
            self.identity = identity
            self.fingerprint = fingerprint
            self.offset = offset
            self.updated = updated
        }
    }

    private struct FileFormat: Codable {
        var version: Int
        var files: [Checkpoint]
    }

    /// Checkpoints kept for files no longer open, so a rotated file that a glob matches again
    /// (or that is found after a restart) resumes where it was left. The oldest go first.
    public static let maxEntries = 1024

    /// The shortest time between two rewrites of the file, unless `maxUnsavedBytes` more were
    /// written out or the save is forced (see above).
    public static let minSaveInterval: Duration = .milliseconds(10)
    /// The most bytes written out and not yet saved: what a crash can send twice.
    public static let maxUnsavedBytes: Int64 = 1 << 20

    public let path: String?
    public private(set) var checkpoints: [FileIdentity: Checkpoint] = [:]
    private var lastSync: Int = 0
    private var lastWrite: ContinuousClock.Instant?
    private var unsavedBytes: Int64 = 0
    private var dirty = false

    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Loads `path` if it exists. A missing file is an empty store; an unreadable or corrupt
    /// one is an error (starting over silently would resend or skip everything).
    public init(path: String?) throws {
        self.path = path
        guard let path else { return }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return }
            throw LoadError(description: "state file \(path): \(String(cString: strerror(errno)))")
        }
        close(fd)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadError(description: "state file \(path): cannot read")
        }
        if data.isEmpty { return }
        do {
            let f = try JSONDecoder().decode(FileFormat.self, from: data)
            guard f.version == 1 else { throw LoadError(description: "state file \(path): unknown version \(f.version)") }
            for c in f.files { checkpoints[c.identity] = c }
        } catch let e as LoadError {
            throw e
        } catch {
            throw LoadError(description: "state file \(path) is not a tandem log state file (\(error)); move it away to start over")
        }
    }

    public subscript(identity: FileIdentity) -> Checkpoint? { checkpoints[identity] }

    public mutating func update(_ c: Checkpoint) {
        let old = checkpoints[c.identity]
        if old != c {
            unsavedBytes += max(0, c.offset - (old?.offset ?? 0))
            checkpoints[c.identity] = c
            dirty = true
        }
    }

    /// Writes the store out if anything changed and the last write is `minSaveInterval` old.
    /// `sync` forces the write and the fsync (graceful stop, error).
    public mutating func save(sync: Bool = false) throws {
        guard let path, dirty || sync else { return }
        let writeTime = ContinuousClock.now
        if !sync, unsavedBytes < Self.maxUnsavedBytes, let lastWrite, writeTime - lastWrite < Self.minSaveInterval { return }
        if checkpoints.count > Self.maxEntries {
            let keep = checkpoints.values.sorted { $0.updated > $1.updated }.prefix(Self.maxEntries)
            checkpoints = Dictionary(uniqueKeysWithValues: keep.map { ($0.identity, $0) })
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let files = checkpoints.values.sorted { ($0.path, $0.identity.inode) < ($1.path, $1.identity.inode) }
        let data = try encoder.encode(FileFormat(version: 1, files: files))
        let now = Int(time(nil))
        let doSync = sync || now != lastSync
        try Self.atomicWrite(data, to: path, fsync: doSync)
        if doSync { lastSync = now }
        lastWrite = writeTime
        unsavedBytes = 0
        dirty = false
    }

    static func atomicWrite(_ data: Data, to path: String, fsync doSync: Bool) throws {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LoadError(description: "state file \(tmp): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        try data.withUnsafeBytes { try FD.writeAll(fd, $0) }
        if doSync { fsync(fd) }
        guard rename(tmp, path) == 0 else { throw LoadError(description: "state file \(path): rename: \(String(cString: strerror(errno)))") }
    }
}
