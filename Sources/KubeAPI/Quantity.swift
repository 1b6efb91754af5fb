import Foundation

/// A resource quantity (`128Mi`, `100m`, `1.5`), kept as written and parsed on demand,
/// following `k8s.io/apimachinery/pkg/api/resource`.
public struct Quantity: Codable, Sendable, Hashable, CustomStringConvertible {
    public var string: String

    public init(_ string: String) { self.string = string }

    /// As `Quantity.UnmarshalJSON`: null is zero, and any other JSON (`true`, `{}`) is taken as
    /// text for `ParseQuantity`, which then refuses it with its own message.
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { string = "0"; return }
        if let i = try? c.decode(Int64.self) { string = String(i); return }
        if let d = try? c.decode(Double.self) { string = String(d); return }
        if let s = try? c.decode(String.self) { string = s; return }
        string = try c.decode(JSONValue.self).compactJSON()
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(string)
    }

    public var description: String { string }

    /// The value in base units (bytes, cores), or nil when the text is not a quantity.
    public var value: Double? { exactValue.map { NSDecimalNumber(decimal: $0).doubleValue } }

    /// The value in base units, exactly (`1001m` is 1.001, which no `Double` is), read from the text
    /// with surrounding spaces trimmed, as `Quantity.UnmarshalJSON` trims them.
    public var exactValue: Decimal? {
        let s = string.trimmingCharacters(in: .whitespaces)
        let suffixes: [(String, Decimal)] = [
            ("Ki", 1024), ("Mi", 1_048_576), ("Gi", 1_073_741_824), ("Ti", 1_099_511_627_776), ("Pi", 1_125_899_906_842_624),
            ("Ei", Decimal(string: "1152921504606846976")!),
            ("n", Decimal(sign: .plus, exponent: -9, significand: 1)), ("u", Decimal(sign: .plus, exponent: -6, significand: 1)),
            ("m", Decimal(sign: .plus, exponent: -3, significand: 1)), ("k", Decimal(sign: .plus, exponent: 3, significand: 1)),
            ("M", Decimal(sign: .plus, exponent: 6, significand: 1)), ("G", Decimal(sign: .plus, exponent: 9, significand: 1)),
            ("T", Decimal(sign: .plus, exponent: 12, significand: 1)), ("P", Decimal(sign: .plus, exponent: 15, significand: 1)),
            ("E", Decimal(sign: .plus, exponent: 18, significand: 1)),
        ]
        var number = Substring(s)
        var multiplier: Decimal = 1
        for (suffix, m) in suffixes where s.hasSuffix(suffix) {
            number = s.dropLast(suffix.count)
            multiplier = m
            break
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }),
              let d = Decimal(string: String(number), locale: Locale(identifier: "en_US_POSIX")), !d.isNaN else { return nil }
        return d * multiplier
    }

    /// `Quantity.Value()`: the value rounded up to a whole base unit. A quantity can be larger than
    /// any int64 (`8Ei`, `1e19`), and apimachinery then answers the largest one; so does this.
    public var int64Value: Int64? { exactValue.map(Self.saturating) }

    /// `Quantity.MilliValue()`: thousandths, rounded up, saturating like `int64Value`.
    public var milliValue: Int64? { exactValue.map { Self.saturating($0 * 1000) } }

    private static func saturating(_ d: Decimal) -> Int64 {
        var value = d, rounded = Decimal()
        NSDecimalRound(&rounded, &value, 0, .up)
        if rounded >= Decimal(Int64.max) { return .max }
        if rounded <= Decimal(Int64.min) { return .min }
        return NSDecimalNumber(decimal: rounded).int64Value
    }
}

extension Int64 {
    /// Sums of quantities (a pod's requests, a node's reservations) that stop at the largest
    /// int64, as apimachinery's arbitrary-precision sums do once read back with `Value()`.
    public func saturatingAdd(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}

/// `intstr.IntOrString`: ports and thresholds that may be a number or a name/percentage.
public enum IntOrString: Codable, Sendable, Hashable, CustomStringConvertible {
    case int(Int)
    case string(String)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let i = try? c.decode(Int.self) { self = .int(i); return }
        self = .string(try c.decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let i): try c.encode(i)
        case .string(let s): try c.encode(s)
        }
    }

    public var description: String {
        switch self {
        case .int(let i): return String(i)
        case .string(let s): return s
        }
    }
}
