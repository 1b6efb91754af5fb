/// MinIO's `config.env`: `export KEY="VALUE"` lines.
public enum EnvFile {
    /// One variable of a parsed file, with the line it came from (1-based).
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var value: String
        public var line: Int
    }

    /// `parseConfEnvSecret` (pkg/configuration/tenant_configuration.go), stricter where MinIO
    /// would silently lose a setting: each line is trimmed; only lines starting with `export `
    /// count (comments and anything else are skipped, as MinIO does); the name is what precedes
    /// the first `=`, trimmed; the value is trimmed and stripped of every leading and trailing `"`
    /// (Go's `strings.Trim(v, "\"")`, so single quotes stay); nothing is unescaped. A later line
    /// wins over an earlier one.
    ///
    /// Where MinIO skips an `export` line with no `=` or an empty or spaced name (and the setting
    /// quietly disappears), this throws, naming the line: the sidecar must not start MinIO with
    /// half a configuration.
    public static func parse(_ text: String, source: String) throws(SourceError) -> [String: Entry] {
        var entries: [String: Entry] = [:]
        // Split on the scalar: a Swift Character "\r\n" is not equal to "\n".
        for (i, raw) in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = goTrimSpace(Substring(raw))
            guard line.hasPrefix("export ") else { continue }
            let rest = line.dropFirst("export ".count)
            guard let eq = rest.firstIndex(of: "=") else {
                throw SourceError("\(source):\(i + 1): malformed line, expected export KEY=\"VALUE\": \(line)")
            }
            let name = goTrimSpace(rest[..<eq])
            guard isValidName(name) else {
                throw SourceError("\(source):\(i + 1): invalid variable name \"\(name)\"")
            }
            let value = trimQuotes(goTrimSpace(rest[rest.index(after: eq)...]))
            entries[String(name)] = Entry(name: String(name), value: String(value), line: i + 1)
        }
        return entries
    }

    /// A name MinIO can read back: non-empty, no white space, no `=`, no quote.
    static func isValidName(_ name: Substring) -> Bool {
        !name.isEmpty && !name.contains { $0.isWhitespace || $0 == "=" || $0 == "\"" || $0 == "'" }
    }

    /// Go's `strings.TrimSpace`: ASCII and Unicode white space at both ends.
    static func goTrimSpace(_ s: Substring) -> Substring {
        var s = s
        while let f = s.unicodeScalars.first, f.properties.isWhitespace { s = s.dropFirst() }
        while let l = s.unicodeScalars.last, l.properties.isWhitespace { s = s.dropLast() }
        return s
    }

    static func trimQuotes(_ s: Substring) -> Substring {
        var s = s
        while s.first == "\"" { s = s.dropFirst() }
        while s.last == "\"" { s = s.dropLast() }
        return s
    }

    /// A value `config.env` cannot hold: MinIO reads the file line by line, so a line break
    /// would end the value and start a new (injected) line.
    public struct UnrepresentableValue: Error, CustomStringConvertible, Sendable {
        public var name: String
        public var description: String { "the value of \(name) contains a line break, which config.env cannot hold" }
    }

    /// `envVarsToFileContent`, with the quoting MinIO leaves out. MinIO's own reader
    /// (`minioEnvironFromFile`) strips one pair of matching outer quotes, `"` or `'`, and
    /// unescapes nothing; a shell that sources the file unescapes inside `"…"`. So:
    ///   - a value with none of `"` `\` `$` `` ` `` is written `export K="V"`, byte for byte MinIO's output;
    ///   - else, with no `'`, it is written `export K='V'`: both readers see exactly V;
    ///   - else it is written in double quotes with `\` before each of `"` `\` `$` `` ` ``: a shell
    ///     sees V, and no `"` can end the value early (MinIO's reader keeps the backslashes).
    /// Line breaks cannot be represented for MinIO's line reader and are refused.
    public static func render(_ vars: [(name: String, value: String)]) throws(UnrepresentableValue) -> String {
        var out = ""
        for (name, value) in vars {
            if value.unicodeScalars.contains(where: { $0 == "\n" || $0 == "\r" }) { throw UnrepresentableValue(name: name) }
            out += "export \(name)=\(quote(value))\n"
        }
        return out
    }

    static func quote(_ value: String) -> String {
        let special: Set<Character> = ["\"", "\\", "$", "`"]
        if !value.contains(where: special.contains) { return "\"\(value)\"" }
        if !value.contains("'") { return "'\(value)'" }
        var escaped = ""
        for c in value {
            if special.contains(c) { escaped.append("\\") }
            escaped.append(c)
        }
        return "\"\(escaped)\""
    }
}
