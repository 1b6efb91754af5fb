import ContainerRuntime
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Machine-wide leases on Service IPs and node ports, one file each under `dir`, holding the
/// owning Tandem's PID and start time. Every Tandem on the machine shares the Service range (the
/// host routes it to all of them), so two must never hand out the same address; a lease whose
/// owner is gone is free again. The API server keeps this in etcd; the files are its stand-in.
struct Leases: Sendable {
    let dir: String
    let owner: String

    init(dir: String) {
        self.dir = dir
        let pid = getpid()
        owner = "\(pid) \(processStartTime(pid) ?? "")"
    }

    /// Takes `name` for this process; false when a live owner holds it.
    func acquire(_ name: String) -> Bool {
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/" + name
        for _ in 0..<2 {
            let fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0o644)
            if fd >= 0 {
                let line = owner + "\n"
                _ = line.withCString { write(fd, $0, strlen($0)) }
                close(fd)
                return true
            }
            guard errno == EEXIST else { return false }
            if Self.holderAlive(path) { return false }
            unlink(path)
        }
        return false
    }

    func release(_ name: String) {
        let path = dir + "/" + name
        if (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == owner { unlink(path) }
    }

    /// Removes every lease whose owner is gone (at start-up, after a `kill -9`).
    func releaseStale() {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where !Self.holderAlive(dir + "/" + entry) {
            unlink(dir + "/" + entry)
        }
    }

    static func holderAlive(_ path: String) -> Bool {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return false }
        let parts = text.split(whereSeparator: \.isWhitespace)
        guard parts.count == 2, let pid = Int32(parts[0]) else { return false }
        return processStartTime(pid) == String(parts[1])
    }
}
