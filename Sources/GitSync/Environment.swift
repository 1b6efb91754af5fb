import Foundation
import KubeAPI

/// git-sync's environment variables: each flag's default comes from `$GITSYNC_<NAME>` and, for
/// the settings v3 already had, from the deprecated `$GIT_SYNC_<NAME>` (the seed's v3.1.6
/// manifest sets only those). The rules are `env.go`'s: when several are set the *last* of the
/// list wins (with a warning), and values are parsed with Go's `strconv` / `time` rules, so an
/// unparsable value is a fatal configuration error rather than silently ignored.
struct Environment {
    let variables: [String: String]
    /// Warnings git-sync prints on stderr before anything else (deprecated names, overrides).
    private(set) var warnings: [String] = []

    init(_ variables: [String: String]) { self.variables = variables }

    /// Whether any v3-style `GIT_SYNC_*` variable is set: a manifest written for a v3 image.
    var usesV3Names: Bool { variables.keys.contains { $0.hasPrefix("GIT_SYNC_") } }

    func isSet(_ key: String) -> Bool { variables[key] != nil }

    /// The raw value, by env.go's precedence (the last one set wins).
    mutating func string(_ key: String, _ alts: String...) -> String? { lookup(key, alts) }

    mutating func lookup(_ key: String, _ alts: [String]) -> String? {
        var found: [(String, String)] = []
        if let v = variables[key] { found.append((key, v)) }
        for alt in alts {
            guard let v = variables[alt] else { continue }
            warnings.append("env $\(alt) has been deprecated, use $\(key) instead")
            found.append((alt, v))
        }
        if found.count > 1 { warnings.append("env $\(key) was overridden by $\(found.last!.0)") }
        return found.last?.1
    }

    mutating func int(_ key: String, _ alts: String...) throws -> Int? {
        guard let raw = lookup(key, alts) else { return nil }
        guard let v = GoParse.int(raw) else { throw GitSyncConfigError.fatal("invalid int env \(name(key, alts))=\(GoSyntax.quote(raw)): strconv.ParseInt: parsing \(GoSyntax.quote(raw)): invalid syntax") }
        return v
    }

    mutating func bool(_ key: String, _ alts: String...) throws -> Bool? {
        guard let raw = lookup(key, alts) else { return nil }
        guard let v = GoParse.bool(raw) else { throw GitSyncConfigError.fatal("invalid bool env \(name(key, alts))=\(GoSyntax.quote(raw)): strconv.ParseBool: parsing \(GoSyntax.quote(raw)): invalid syntax") }
        return v
    }

    mutating func double(_ key: String, _ alts: String...) throws -> Double? {
        guard let raw = lookup(key, alts) else { return nil }
        guard let v = Double(raw.trimmingPrefix("+")), v.isFinite else { throw GitSyncConfigError.fatal("invalid float env \(name(key, alts))=\(GoSyntax.quote(raw)): strconv.ParseFloat: parsing \(GoSyntax.quote(raw)): invalid syntax") }
        return v
    }

    mutating func duration(_ key: String, _ alts: String...) throws -> Duration? {
        guard let raw = lookup(key, alts) else { return nil }
        switch GoDuration.parse(raw) {
        case .success(let d): return d
        case .failure(let e): throw GitSyncConfigError.fatal("invalid duration env \(name(key, alts))=\(GoSyntax.quote(raw)): \(e.message)")
        }
    }

    /// The variable a value came from, for messages.
    private func name(_ key: String, _ alts: [String]) -> String {
        ([key] + alts).last { variables[$0] != nil } ?? key
    }
}

/// Go's `strconv.ParseBool` and `strconv.ParseInt(s, 0, 0)`.
enum GoParse {
    static func bool(_ s: String) -> Bool? {
        switch s {
        case "1", "t", "T", "TRUE", "true", "True": return true
        case "0", "f", "F", "FALSE", "false", "False": return false
        default: return nil
        }
    }

    /// Base 0: `0x1f`, `0o17`, `017` (octal), `0b101`, `1_000`, with an optional sign.
    static func int(_ s: String) -> Int? {
        var rest = Substring(s)
        var negative = false
        if let c = rest.first, c == "+" || c == "-" {
            negative = c == "-"
            rest = rest.dropFirst()
        }
        var radix = 10
        let lower = rest.lowercased()
        if lower.hasPrefix("0x") { radix = 16; rest = rest.dropFirst(2) }
        else if lower.hasPrefix("0o") { radix = 8; rest = rest.dropFirst(2) }
        else if lower.hasPrefix("0b") { radix = 2; rest = rest.dropFirst(2) }
        else if rest.count > 1 && rest.hasPrefix("0") { radix = 8; rest = rest.dropFirst() }
        let digits = radix == 10 ? String(rest) : rest.replacingOccurrences(of: "_", with: "")
        guard !digits.isEmpty, let v = Int(digits, radix: radix) else { return nil }
        return negative ? -v : v
    }
}
