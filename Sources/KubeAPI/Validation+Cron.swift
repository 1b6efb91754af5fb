import Foundation

/// A CronJob schedule as github.com/robfig/cron/v3 parses and runs it. This is the only cron
/// parser in Tandem. The API server validates with it (`validateScheduleFormat` calls
/// `cron.ParseStandard`), and the CronJob controller computes activation times with it
/// (pkg/controller/cronjob calls `cron.ParseStandard(...).Next`). Using one parser means a
/// schedule is never accepted by one half and read differently by the other.
///
/// The syntax is `ParseStandard`'s: five fields (minute, hour, day of month, month, day of
/// week) or a descriptor (`@hourly`, `@every 5m`, …), optionally after a `TZ=`/`CRON_TZ=`
/// prefix (Kubernetes validation rejects the prefix in favour of `spec.timeZone`, but robfig
/// parses it, so the parser does too). Error messages are robfig's, because the API server
/// returns them verbatim.
public struct CronSchedule: Sendable, Hashable {
    /// The schedule's own zone from a `TZ=`/`CRON_TZ=` prefix. nil stands for robfig's
    /// `time.Local`: the times are then read in the zone the caller passes to `next`.
    public let location: TimeZone?
    let kind: Kind

    enum Kind: Sendable, Hashable {
        /// `SpecSchedule`: one bit per allowed value, plus `starBit` when the field was `*`/`?`.
        case spec(second: UInt64, minute: UInt64, hour: UInt64, dom: UInt64, month: UInt64, dow: UInt64)
        /// `ConstantDelaySchedule` (`@every`): whole seconds, at least 1.
        case every(seconds: Int64)
    }

    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    struct Bounds {
        let min: Int
        let max: Int
        let names: [String: Int]
    }

    /// robfig sets this bit in a field's mask when the field was written `*` or `?` (and the
    /// step, if any, is 1). `dayMatches` needs it: day of month and day of week are ANDed when
    /// either is a star and ORed when both are restricted (Vixie cron).
    static let starBit: UInt64 = 1 << 63

    static let months: [String: Int] = ["jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
                                        "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12]
    static let days: [String: Int] = ["sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6]
    static let fields = [Bounds(min: 0, max: 59, names: [:]), Bounds(min: 0, max: 23, names: [:]), Bounds(min: 1, max: 31, names: [:]),
                         Bounds(min: 1, max: 12, names: months), Bounds(min: 0, max: 6, names: days)]

    // MARK: Parsing

    /// robfig's error text for `spec`, or nil when it parses.
    public static func parseError(_ spec: String) -> String? {
        if case .failure(let e) = parse(spec) { return e.message }
        return nil
    }

    /// `cron.ParseStandard`.
    public static func parse(_ spec: String) -> Result<CronSchedule, ParseError> {
        func fail(_ m: String) -> Result<CronSchedule, ParseError> { .failure(ParseError(message: m)) }
        if spec.isEmpty { return fail("empty spec string") }
        var spec = Substring(spec)
        var location: TimeZone?
        if spec.hasPrefix("TZ=") || spec.hasPrefix("CRON_TZ=") {
            guard let space = spec.firstIndex(of: " ") else { return fail("provided bad location \(spec.drop(while: { $0 != "=" }).dropFirst()): unknown time zone") }
            let zone = String(spec[spec.index(after: spec.firstIndex(of: "=")!)..<space])
            if zone == "Local" {
                location = nil
            } else if zone == "UTC" || Validation.knownTimeZone(zone), let tz = TimeZone(identifier: zone) {
                location = tz
            } else {
                return fail("provided bad location \(zone): unknown time zone \(zone)")
            }
            spec = spec[space...].drop(while: { $0 == " " })
        }
        if spec.hasPrefix("@") { return descriptor(String(spec), location) }
        let parts = spec.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
        if parts.count != 5 {
            return fail("expected exactly 5 fields, found \(parts.count): [\(parts.joined(separator: " "))]")
        }
        var masks: [UInt64] = []
        for (field, bounds) in zip(parts, fields) {
            // `getField` splits with strings.FieldsFunc, which drops empty items ("1,,2").
            var bits: UInt64 = 0
            for expr in field.split(separator: ",") {
                switch range(String(expr), bounds) {
                case .failure(let e): return .failure(e)
                case .success(let b): bits |= b
                }
            }
            masks.append(bits)
        }
        return .success(CronSchedule(location: location, kind: .spec(second: 1, minute: masks[0], hour: masks[1], dom: masks[2], month: masks[3], dow: masks[4])))
    }

    /// `parseDescriptor`.
    static func descriptor(_ spec: String, _ location: TimeZone?) -> Result<CronSchedule, ParseError> {
        let everyDom = all(fields[2]), everyMonth = all(fields[3]), everyDow = all(fields[4])
        func make(hour: UInt64, dom: UInt64, month: UInt64, dow: UInt64) -> Result<CronSchedule, ParseError> {
            .success(CronSchedule(location: location, kind: .spec(second: 1, minute: 1, hour: hour, dom: dom, month: month, dow: dow)))
        }
        switch spec {
        case "@yearly", "@annually": return make(hour: 1, dom: 1 << 1, month: 1 << 1, dow: everyDow)
        case "@monthly": return make(hour: 1, dom: 1 << 1, month: everyMonth, dow: everyDow)
        case "@weekly": return make(hour: 1, dom: everyDom, month: everyMonth, dow: 1 << 0)
        case "@daily", "@midnight": return make(hour: 1, dom: everyDom, month: everyMonth, dow: everyDow)
        case "@hourly": return make(hour: all(fields[1]), dom: everyDom, month: everyMonth, dow: everyDow)
        default:
            if spec.hasPrefix("@every ") {
                switch parseDuration(String(spec.dropFirst("@every ".count))) {
                case .failure(let e): return .failure(ParseError(message: "failed to parse duration \(spec): \(e.message)"))
                case .success(let nanoseconds):
                    // `Every`: below a second becomes a second; the rest is truncated to seconds.
                    let seconds = nanoseconds < 1e9 ? 1 : Int64((nanoseconds / 1e9).rounded(.down))
                    return .success(CronSchedule(location: location, kind: .every(seconds: seconds)))
                }
            }
            return .failure(ParseError(message: "unrecognized descriptor: \(spec)"))
        }
    }

    /// Go's `time.ParseDuration`, for `@every`: the value in nanoseconds, or Go's error text.
    static func parseDuration(_ text: String) -> Result<Double, ParseError> {
        func fail(_ m: String) -> Result<Double, ParseError> { .failure(ParseError(message: m)) }
        var s = Substring(text)
        var sign = 1.0
        if s.hasPrefix("-") || s.hasPrefix("+") { sign = s.hasPrefix("-") ? -1 : 1; s = s.dropFirst() }
        if s == "0" { return .success(0) }
        if s.isEmpty { return fail("time: invalid duration \(Validation.q(text))") }
        let units: [String: Double] = ["ns": 1, "us": 1e3, "µs": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9]
        var total = 0.0
        while !s.isEmpty {
            let number = s.prefix(while: { $0.isNumber || $0 == "." })
            if number.isEmpty || number == "." { return fail("time: invalid duration \(Validation.q(text))") }
            s = s.dropFirst(number.count)
            let unit = s.prefix(while: { !$0.isNumber && $0 != "." })
            if unit.isEmpty { return fail("time: missing unit in duration \(Validation.q(text))") }
            guard let scale = units[String(unit)] else { return fail("time: unknown unit \(Validation.q(String(unit))) in duration \(Validation.q(text))") }
            s = s.dropFirst(unit.count)
            total += (Double(String(number)) ?? 0) * scale
        }
        return .success(sign * total)
    }

    /// robfig's `getRange`, check for check: the bits of one list item.
    static func range(_ expr: String, _ r: Bounds) -> Result<UInt64, ParseError> {
        func fail(_ m: String) -> Result<UInt64, ParseError> { .failure(ParseError(message: m)) }
        let rangeAndStep = expr.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let lowAndHigh = rangeAndStep[0].split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        var start: Int, end: Int, step: Int
        var extra: UInt64 = 0
        if lowAndHigh[0] == "*" || lowAndHigh[0] == "?" {
            start = r.min
            end = r.max
            extra = starBit
        } else {
            switch parseIntOrName(lowAndHigh[0], r.names) {
            case .failure(let e): return .failure(e)
            case .success(let v): start = v
            }
            switch lowAndHigh.count {
            case 1: end = start
            case 2:
                switch parseIntOrName(lowAndHigh[1], r.names) {
                case .failure(let e): return .failure(e)
                case .success(let v): end = v
                }
            default: return fail("too many hyphens: \(expr)")
            }
        }
        switch rangeAndStep.count {
        case 1: step = 1
        case 2:
            switch mustParseInt(rangeAndStep[1]) {
            case .failure(let e): return .failure(e)
            case .success(let v): step = v
            }
            // "N/step" means "N-max/step".
            if lowAndHigh.count == 1 { end = r.max }
            // "*/2" is not a star for dayMatches.
            if step > 1 { extra = 0 }
        default: return fail("too many slashes: \(expr)")
        }
        if start < r.min { return fail("beginning of range (\(start)) below minimum (\(r.min)): \(expr)") }
        if end > r.max { return fail("end of range (\(end)) above maximum (\(r.max)): \(expr)") }
        if start > end { return fail("beginning of range (\(start)) beyond end of range (\(end)): \(expr)") }
        if step == 0 { return fail("step of range should be a positive number: \(expr)") }
        var bits: UInt64 = 0
        for v in stride(from: start, through: end, by: step) { bits |= 1 << UInt64(v) }
        return .success(bits | extra)
    }

    /// `all`: every value of the field, plus the star bit.
    static func all(_ r: Bounds) -> UInt64 {
        var bits: UInt64 = 0
        for v in r.min...r.max { bits |= 1 << UInt64(v) }
        return bits | starBit
    }

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

    // MARK: Activation times

    /// The first activation strictly after `after` (robfig/cron/v3 `SpecSchedule.Next` and
    /// `ConstantDelaySchedule.Next`), or nil when none exists within five years (robfig's
    /// zero time), e.g. `0 0 30 2 *`.
    ///
    /// `zone` is used when the schedule has no `TZ=` prefix; it stands for robfig's
    /// `time.Local` (the Kubernetes controller prefixes `CRON_TZ=<spec.timeZone>` when the
    /// CronJob sets one, and otherwise runs in kube-controller-manager's local zone).
    ///
    /// The search is robfig's, step for step, on Go's wall-clock arithmetic (`time.Date`
    /// normalisation, `AddDate`, `Add`, `Truncate`) so that daylight-saving transitions come
    /// out as they do in Kubernetes: a time that falls in a spring-forward gap is skipped
    /// (`30 2 * * *` does not run that day in America/New_York), and an hour repeated by
    /// fall-back matches twice if the hour field allows it (`30 1 * * *` runs at 01:30 EDT
    /// and at 01:30 EST) but once for other hours.
    public func next(after: Date, in zone: TimeZone) -> Date? {
        let tz = GoZone(location ?? zone)
        // "Start at the earliest possible time (the upcoming second)."
        var t = Int64((after.timeIntervalSince1970).rounded(.down)) + 1
        switch kind {
        case .every(let seconds):
            return Date(timeIntervalSince1970: TimeInterval(t - 1 + seconds))
        case .spec(let second, let minute, let hour, let dom, let month, let dow):
            func has(_ mask: UInt64, _ v: Int) -> Bool { mask & (1 << UInt64(v)) != 0 }
            func dayMatches(_ c: GoZone.Civil) -> Bool {
                let domMatch = has(dom, c.day), dowMatch = has(dow, c.weekday)
                if dom & Self.starBit != 0 || dow & Self.starBit != 0 { return domMatch && dowMatch }
                return domMatch || dowMatch
            }
            var added = false
            let yearLimit = tz.civil(t).year + 5
            wrap: while true {
                if tz.civil(t).year > yearLimit { return nil }
                while !has(month, tz.civil(t).month) {
                    if !added {
                        added = true
                        let c = tz.civil(t)
                        t = tz.date(c.year, c.month, 1, 0, 0, 0)
                    }
                    t = tz.addDate(t, months: 1)
                    if tz.civil(t).month == 1 { continue wrap }
                }
                while !dayMatches(tz.civil(t)) {
                    if !added {
                        added = true
                        let c = tz.civil(t)
                        t = tz.date(c.year, c.month, c.day, 0, 0, 0)
                    }
                    t = tz.addDate(t, days: 1)
                    // Where midnight does not exist, the day starts at 01:00 or 23:00 the day before.
                    let h = tz.civil(t).hour
                    if h != 0 { t += h > 12 ? Int64(24 - h) * 3600 : -Int64(h) * 3600 }
                    if tz.civil(t).day == 1 { continue wrap }
                }
                while !has(hour, tz.civil(t).hour) {
                    if !added {
                        added = true
                        let c = tz.civil(t)
                        t = tz.date(c.year, c.month, c.day, c.hour, 0, 0)
                    }
                    t += 3600
                    if tz.civil(t).hour == 0 { continue wrap }
                }
                while !has(minute, tz.civil(t).minute) {
                    if !added {
                        added = true
                        t -= GoZone.floorMod(t, 60)
                    }
                    t += 60
                    if tz.civil(t).minute == 0 { continue wrap }
                }
                while !has(second, tz.civil(t).second) {
                    added = true
                    t += 1
                    if tz.civil(t).second == 0 { continue wrap }
                }
                return Date(timeIntervalSince1970: TimeInterval(t))
            }
        }
    }
}

/// The few pieces of Go's `time` package that `SpecSchedule.Next` relies on, over Unix
/// seconds in one zone. Offsets come from Foundation's copy of the tz database.
struct GoZone {
    let zone: TimeZone
    init(_ zone: TimeZone) { self.zone = zone }

    struct Civil {
        var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int
        /// 0 = Sunday, as `time.Weekday`.
        var weekday: Int
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
    static func floorMod(_ a: Int64, _ b: Int64) -> Int64 { a - floorDiv(a, b) * b }

    func offset(_ unix: Int64) -> Int64 { Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(unix)))) }

    /// `t.In(loc)` broken into fields.
    func civil(_ unix: Int64) -> Civil {
        let local = unix + offset(unix)
        let days = Self.floorDiv(local, 86_400)
        let secs = Int(local - days * 86_400)
        let (y, m, d) = Self.civilFromDays(days)
        return Civil(year: y, month: m, day: d, hour: secs / 3600, minute: secs / 60 % 60, second: secs % 60,
                     weekday: Int(Self.floorMod(days + 4, 7)))
    }

    /// `time.Date(year, month, day, hour, min, sec, 0, loc)`: out-of-range fields carry over
    /// (Feb 30 is Mar 1 or 2), and a wall time that a transition skips or repeats is resolved
    /// the way Go does: with the offset in force just before the transition, re-looked-up at
    /// the resulting instant if that instant falls outside that offset's period.
    func date(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int) -> Int64 {
        let m0 = month - 1
        let y = year + Int(Self.floorDiv(Int64(m0), 12))
        let m = Int(Self.floorMod(Int64(m0), 12)) + 1
        let days = Self.daysFromCivil(y, m, 1) + Int64(day - 1)
        let local = days * 86_400 + Int64(hour) * 3600 + Int64(minute) * 60 + Int64(second)
        var off = offset(local)
        if off != 0 {
            let utc = local - off
            let other = offset(utc)
            if other != off { off = other }
        }
        return local - off
    }

    /// `t.AddDate(0, months, days)`: calendar arithmetic on the wall clock, then `time.Date`.
    func addDate(_ unix: Int64, months: Int = 0, days: Int = 0) -> Int64 {
        let c = civil(unix)
        return date(c.year, c.month + months, c.day + days, c.hour, c.minute, c.second)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let mp = Int64((month + 9) % 12)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ z0: Int64) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(yoe + era * 400 + (m <= 2 ? 1 : 0)), Int(m), Int(d))
    }
}
