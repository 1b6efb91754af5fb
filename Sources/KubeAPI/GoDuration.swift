/// Go's `time.ParseDuration`, which kubectl's duration flags use: `300ms`, `30s`, `5m`, `1h30m`,
/// with Go's error messages.
public enum GoDuration {
    public struct ParseError: Error, Sendable {
        public var message: String
    }

    public static func parse(_ s: String) -> Result<Duration, ParseError> {
        let quoted = "\"\(s)\""
        var rest = Substring(s)
        if rest.hasPrefix("+") || rest.hasPrefix("-") { rest = rest.dropFirst() }
        if rest == "0" { return .success(.zero) }
        guard !rest.isEmpty else { return .failure(ParseError(message: "time: invalid duration \(quoted)")) }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return .failure(ParseError(message: "time: invalid duration \(quoted)")) }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { !($0.isNumber || $0 == ".") }
            rest = rest.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "": return .failure(ParseError(message: "time: missing unit in duration \(quoted)"))
            case "ns": scale = 1e-9
            case "us", "µs", "μs": scale = 1e-6
            case "ms": scale = 1e-3
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            default: return .failure(ParseError(message: "time: unknown unit \"\(unit)\" in duration \(quoted)"))
            }
            total += value * scale
        }
        if s.hasPrefix("-") { total = -total }
        return .success(.milliseconds(Int64(total * 1000)))
    }
}
