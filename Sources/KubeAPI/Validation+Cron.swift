/// The schedule check of `validateScheduleFormat`, which calls `cron.ParseStandard` from
/// github.com/robfig/cron/v3: five fields (minute, hour, day of month, month, day of week) or a
/// descriptor (`@hourly`, `@every 5m`, …). The messages are robfig's, since the API server
/// returns them verbatim.
enum CronSchedule {
    struct Bounds {
        let min: Int
        let max: Int
        let names: [String: Int]
    }

    static let months: [String: Int] = ["jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
                                        "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12]
    static let days: [String: Int] = ["sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6]
    static let fields = [Bounds(min: 0, max: 59, names: [:]), Bounds(min: 0, max: 23, names: [:]), Bounds(min: 1, max: 31, names: [:]),
                         Bounds(min: 1, max: 12, names: months), Bounds(min: 0, max: 6, names: days)]

    /// robfig's error text for `spec`, or nil when it parses.
    static func parseError(_ spec: String) -> String? {
        if spec.isEmpty { return "empty spec string" }
        var spec = Substring(spec)
        if spec.hasPrefix("TZ=") || spec.hasPrefix("CRON_TZ=") {
            guard let space = spec.firstIndex(of: " ") else { return "provided bad location \(spec.drop(while: { $0 != "=" }).dropFirst()): unknown time zone" }
            let zone = spec[spec.index(after: spec.firstIndex(of: "=")!)..<space]
            if zone != "UTC" && zone != "Local" && !Validation.knownTimeZone(String(zone)) {
                return "provided bad location \(zone): unknown time zone \(zone)"
            }
            spec = spec[space...].drop(while: { $0 == " " })
        }
        if spec.hasPrefix("@") { return descriptorError(String(spec)) }
        let parts = spec.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
        if parts.count != 5 {
            return "expected exactly 5 fields, found \(parts.count): [\(parts.joined(separator: " "))]"
        }
        for (field, bounds) in zip(parts, fields) {
            for expr in field.split(separator: ",", omittingEmptySubsequences: false) {
                if let e = rangeError(String(expr), bounds) { return e }
            }
        }
        return nil
    }

    static func descriptorError(_ spec: String) -> String? {
        switch spec {
        case "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly": return nil
        default:
            if spec.hasPrefix("@every ") {
                let text = String(spec.dropFirst("@every ".count))
                if let e = durationError(text) { return "failed to parse duration \(spec): \(e)" }
                return nil
            }
            return "unrecognized descriptor: \(spec)"
        }
    }

    /// Go's `time.ParseDuration` errors, for `@every`.
    static func durationError(_ text: String) -> String? {
        var s = Substring(text)
        if s.hasPrefix("-") || s.hasPrefix("+") { s = s.dropFirst() }
        if s == "0" { return nil }
        if s.isEmpty { return "time: invalid duration \(Validation.q(text))" }
        let units = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"]
        while !s.isEmpty {
            let number = s.prefix(while: { $0.isNumber || $0 == "." })
            if number.isEmpty || number == "." { return "time: invalid duration \(Validation.q(text))" }
            s = s.dropFirst(number.count)
            let unit = s.prefix(while: { !$0.isNumber && $0 != "." })
            if unit.isEmpty { return "time: missing unit in duration \(Validation.q(text))" }
            if !units.contains(String(unit)) { return "time: unknown unit \(Validation.q(String(unit))) in duration \(Validation.q(text))" }
            s = s.dropFirst(unit.count)
        }
        return nil
    }

    /// robfig's `getRange`, check for check.
    static func rangeError(_ expr: String, _ r: Bounds) -> String? {
        let rangeAndStep = expr.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let lowAndHigh = rangeAndStep[0].split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        var start: Int, end: Int, step: Int
        if lowAndHigh[0] == "*" || lowAndHigh[0] == "?" {
            start = r.min
            end = r.max
        } else {
            switch parseIntOrName(lowAndHigh[0], r.names) {
            case .failure(let e): return e.message
            case .success(let v): start = v
            }
            switch lowAndHigh.count {
            case 1: end = start
            case 2:
                switch parseIntOrName(lowAndHigh[1], r.names) {
                case .failure(let e): return e.message
                case .success(let v): end = v
                }
            default: return "too many hyphens: \(expr)"
            }
        }
        switch rangeAndStep.count {
        case 1: step = 1
        case 2:
            switch mustParseInt(rangeAndStep[1]) {
            case .failure(let e): return e.message
            case .success(let v): step = v
            }
            // "N/step" means "N-max/step".
            if lowAndHigh.count == 1 { end = r.max }
        default: return "too many slashes: \(expr)"
        }
        if start < r.min { return "beginning of range (\(start)) below minimum (\(r.min)): \(expr)" }
        if end > r.max { return "end of range (\(end)) above maximum (\(r.max)): \(expr)" }
        if start > end { return "beginning of range (\(start)) beyond end of range (\(end)): \(expr)" }
        if step == 0 { return "step of range should be a positive number: \(expr)" }
        return nil
    }

    struct ParseError: Error { let message: String }

    static func parseIntOrName(_ expr: String, _ names: [String: Int]) -> Result<Int, ParseError> {
        if let v = names[expr.lowercased()] { return .success(v) }
        return mustParseInt(expr)
    }

    /// `mustParseInt`, with `strconv.Atoi`'s error text.
    static func mustParseInt(_ expr: String) -> Result<Int, ParseError> {
        guard let n = Int(expr) else {
            let reason = expr.isEmpty || Int(expr.filter { $0 != "+" && $0 != "-" }) == nil || expr.dropFirst().contains(where: { $0 == "+" || $0 == "-" })
                ? "invalid syntax" : "value out of range"
            return .failure(ParseError(message: "failed to parse int from \(expr): strconv.Atoi: parsing \(Validation.q(expr)): \(reason)"))
        }
        if n < 0 { return .failure(ParseError(message: "negative number (\(n)) not allowed: \(expr)")) }
        return .success(n)
    }
}
