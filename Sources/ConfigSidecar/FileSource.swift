import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where the sidecar finds the Tenant and its configuration Secret when there is no API server:
/// files, typically volumes the kubelet projects (a Secret volume, and a ConfigMap volume holding
/// the Tenant's YAML), which it updates by swapping their `..data` symlink.
public struct FileSource: ConfigSource {
    /// The YAML file holding the Tenant (one document, or several of which one is the Tenant).
    public var tenantFile: String
    /// The mounted configuration Secret: `config.env` is read from here.
    public var secretDir: String
    /// `--tenant`: the Tenant's name; nil accepts the file's only Tenant.
    public var tenantName: String?
    /// The namespace when the Tenant's metadata has none.
    public var defaultNamespace: String
    public var clusterDomain: String

    public static let secretKey = "config.env"

    public init(tenantFile: String, secretDir: String, tenantName: String?, defaultNamespace: String, clusterDomain: String) {
        self.tenantFile = tenantFile
        self.secretDir = secretDir
        self.tenantName = tenantName
        self.defaultNamespace = defaultNamespace
        self.clusterDomain = clusterDomain
    }

    /// The directories whose entries change when a source does: the Secret volume itself and the
    /// directory of the Tenant file (a ConfigMap volume's root, where `..data` is swapped).
    public var watchedDirectories: [String] {
        let tenantDir = (tenantFile as NSString).deletingLastPathComponent
        return Array(Set([secretDir, tenantDir.isEmpty ? "." : tenantDir])).sorted()
    }

    /// The names in `watchedDirectories` whose events mean a source changed.
    public var watchedNames: Set<String> {
        [AtomicUpdate.dataLink, Self.secretKey, (tenantFile as NSString).lastPathComponent]
    }

    /// Watches `watchedDirectories` with inotify; a change is any event on one of
    /// `watchedNames`, or the loss of a directory or of events (queue overflow).
    public func follow() async throws(SourceError) -> (changes: AsyncStream<ContinuousClock.Instant>, stop: @Sendable () -> Void) {
        let watcher = try InotifyWatcher(directories: watchedDirectories)
        let names = watchedNames
        let (changes, continuation) = AsyncStream.makeStream(of: ContinuousClock.Instant.self, bufferingPolicy: .bufferingNewest(1))
        let relay = Task {
            for await batch in watcher.batches
            where batch.events.contains(where: { names.contains($0.name) || $0.mask & UInt32(IN_Q_OVERFLOW | IN_DELETE_SELF | IN_MOVE_SELF) != 0 }) {
                continuation.yield(batch.readAt)
            }
            continuation.finish()
        }
        return (changes, { watcher.stop(); relay.cancel() })
    }

    /// Reads both sources and renders the file. Throws `SourceError` when a source cannot be read
    /// or understood, and when a value cannot be written.
    public func load() throws(SourceError) -> TenantConfig {
        var tenant = try Tenant.decode(try Self.readText(tenantFile, what: "Tenant file"), name: tenantName, source: tenantFile)
        if (tenant.metadata.namespace ?? "").isEmpty { tenant.metadata.namespace = defaultNamespace }
        tenant.ensureDefaults()
        let seed = try readSeed()
        do {
            return try TenantConfig.render(tenant: tenant, seed: seed, clusterDomain: clusterDomain)
        } catch {
            throw SourceError("\(tenantFile): \(error)")
        }
    }

    /// The Secret's `config.env`: nil (no variables) when the Secret has no such key, an error
    /// when the Secret directory itself is missing (the Secret GET failing, for MinIO).
    func readSeed() throws(SourceError) -> [String: EnvFile.Entry]? {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: secretDir, isDirectory: &isDir) else {
            throw SourceError("\(secretDir): the configuration Secret directory does not exist")
        }
        guard isDir.boolValue else { throw SourceError("\(secretDir): not a directory") }
        let path = secretDir + "/" + Self.secretKey
        var st = stat()
        if stat(path, &st) != 0 && errno == ENOENT { return nil }
        return try EnvFile.parse(try Self.readText(path, what: "configuration"), source: path)
    }

    /// The whole file through open(2)/read(2), so that errors carry errno's words
    /// (`No such file or directory`, `Permission denied`, `Is a directory`).
    static func readText(_ path: String, what: String) throws(SourceError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SourceError("\(path): cannot read the \(what): \(AtomicFile.errnoString())") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SourceError("\(path): cannot read the \(what): \(AtomicFile.errnoString())")
            }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw SourceError("\(path): the \(what) is not UTF-8 text") }
        return text
    }
}

/// Writing a whole file so that readers see the old one or the new one, never part of either.
public enum AtomicFile {
    /// `content` into `path` through a temporary file in the same directory, `fsync`ed, given
    /// `mode` exactly, then `rename(2)`d over `path`. On any error the temporary file is removed
    /// and `path` is left as it was.
    public static func write(_ content: String, to path: String, mode: mode_t = 0o644) throws(SourceError) {
        let dir = (path as NSString).deletingLastPathComponent
        var template = Array(((dir.isEmpty ? "." : dir) + "/." + (path as NSString).lastPathComponent + ".XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw SourceError("\(path): cannot create a temporary file: \(errnoString())") }
        let tmp = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        func fail(_ step: String) -> SourceError {
            let e = SourceError("\(path): \(step): \(errnoString())")
            close(fd)
            unlink(tmp)
            return e
        }
        let bytes = Array(content.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("write")
            }
            offset += n
        }
        guard fchmod(fd, mode) == 0 else { throw fail("chmod") }
        guard fsync(fd) == 0 else { throw fail("fsync") }
        guard close(fd) == 0 else {
            let e = SourceError("\(path): close: \(errnoString())")
            unlink(tmp)
            throw e
        }
        guard rename(tmp, path) == 0 else {
            let e = SourceError("\(path): rename: \(errnoString())")
            unlink(tmp)
            throw e
        }
    }

    static func errnoString() -> String { String(cString: strerror(errno)) }
}

/// The kubelet's atomic volume update, from the reader's side.
public enum AtomicUpdate {
    /// The symlink the kubelet's AtomicWriter swaps with one `rename(2)` on every update.
    public static let dataLink = "..data"
}
