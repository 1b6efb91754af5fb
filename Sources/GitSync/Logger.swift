import Foundation
import KubeAPI
import Synchronization

/// git-sync's log: one JSON object per line on stderr (`funcr`'s shape: `logger`, `ts`, `level`,
/// `msg`, then key/value pairs), so a container log reads like the real program's. Errors are
/// also written to `--error-file` when set, and the file is removed after a good sync, as
/// git-sync's `ExportError` / `DeleteErrorFile` do.
public final class Logger: Sendable {
    let verbosity: Int
    let name: String
    let errorFile: String?
    private let lock = Mutex<Void>(())

    public init(verbosity: Int, name: String = "", errorFile: String? = nil) {
        self.verbosity = verbosity
        self.name = name
        self.errorFile = errorFile
    }

    func named(_ n: String) -> Logger { Logger(verbosity: verbosity, name: n, errorFile: errorFile) }

    /// `log.V(level).Info(msg, kv...)`.
    func info(_ level: Int = 0, _ msg: String, _ kv: (String, any Sendable)...) {
        guard level <= verbosity else { return }
        write(level: level, msg: msg, error: nil, kv)
    }

    /// `log.Error(err, msg, kv...)`: always printed, and exported to the error file.
    func error(_ err: (any Error)?, _ msg: String, _ kv: (String, any Sendable)...) {
        write(level: 0, msg: msg, error: err.map { "\($0)" } ?? "<nil>", kv)
        if let errorFile {
            let text = "{\"ts\":\(GoSyntax.quote(Self.timestamp())),\"msg\":\(GoSyntax.quote(msg)),\"err\":\(GoSyntax.quote(err.map { "\($0)" } ?? ""))}\n"
            try? FileManager.default.createDirectory(atPath: (errorFile as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try? text.write(toFile: errorFile, atomically: true, encoding: .utf8)
        }
    }

    func deleteErrorFile() {
        if let errorFile { try? FileManager.default.removeItem(atPath: errorFile) }
    }

    private func write(level: Int, msg: String, error: String?, _ kv: [(String, any Sendable)]) {
        var line = "{\"logger\":\(GoSyntax.quote(name)),\"ts\":\(GoSyntax.quote(Self.timestamp())),\"level\":\(level),\"msg\":\(GoSyntax.quote(msg))"
        if let error { line += ",\"error\":\(GoSyntax.quote(error))" }
        for (k, v) in kv { line += ",\(GoSyntax.quote(k)):\(Self.json(v))" }
        line += "}\n"
        lock.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
    }

    private static func json(_ v: any Sendable) -> String {
        switch v {
        case let i as Int: return String(i)
        case let b as Bool: return b ? "true" : "false"
        case let d as Double: return String(d)
        case let a as [String]: return "[" + a.map { GoSyntax.quote($0) }.joined(separator: ",") + "]"
        default: return GoSyntax.quote("\(v)")
        }
    }

    static func timestamp() -> String {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var t = time_t(tv.tv_sec)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d.%06d", tmv.tm_year + 1900, tmv.tm_mon + 1, tmv.tm_mday,
                      tmv.tm_hour, tmv.tm_min, tmv.tm_sec, Int32(tv.tv_usec))
    }
}
