import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A path or glob given on the command line. A plain path names one file that may not exist
/// yet (it is waited for); a glob names whatever matches now or later. Globs are expanded again
/// on every directory change and on the periodic rescan, so files created after the start are
/// picked up. A glob should not match the rotated names (`*.log`, not `*`): Fluent Bit's docs
/// warn that this reads rotated files twice. Tandem tracks files by identity, so a renamed file
/// is not read again, but a copytruncate copy is a new file and would be.
public struct PathPattern: Sendable, Equatable {
    public let pattern: String

    public init(_ pattern: String) {
        self.pattern = pattern.hasPrefix("/") ? pattern : FileManager.default.currentDirectoryPath + "/" + pattern
    }

    public var isGlob: Bool { pattern.contains { $0 == "*" || $0 == "?" || $0 == "[" } }

    /// The deepest directory with no wildcard in its path: always watched, so the first match
    /// appearing is noticed.
    public var literalDirectory: String {
        var parts = pattern.split(separator: "/", omittingEmptySubsequences: false).dropLast()
        if let i = parts.firstIndex(where: { $0.contains { "*?[".contains($0) } }) { parts = parts[..<i] }
        let dir = parts.joined(separator: "/")
        return dir.isEmpty ? "/" : dir
    }

    /// The paths this pattern names now: itself for a plain path, the matches for a glob.
    public func expand() -> [String] {
        guard isGlob else { return [pattern] }
        var g = glob_t()
        defer { globfree(&g) }
        guard glob(pattern, 0, nil, &g) == 0 else { return [] }
        return (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
