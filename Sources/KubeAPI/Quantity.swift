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
    public var value: Double? {
        let s = string
        guard !s.isEmpty else { return nil }
        let suffixes: [(String, Double)] = [
            ("Ki", 1024), ("Mi", 1_048_576), ("Gi", 1_073_741_824), ("Ti", 1_099_511_627_776), ("Pi", 1_125_899_906_842_624), ("Ei", 1_152_921_504_606_846_976),
            ("n", 1e-9), ("u", 1e-6), ("m", 1e-3), ("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12), ("P", 1e15), ("E", 1e18),
        ]
        var number = Substring(s)
        var multiplier = 1.0
        for (suffix, m) in suffixes where s.hasSuffix(suffix) {
            number = s.dropLast(suffix.count)
            multiplier = m
            break
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." || $0 == "+" || $0 == "-" || $0 == "e" || $0 == "E" }),
              let d = Double(number), d.isFinite else { return nil }
        return d * multiplier
    }

    /// `Quantity.Value()`: the value rounded up to a whole base unit. A quantity can be larger than
    /// any int64 (`8Ei`, `1e19`), and apimachinery then answers the largest one; so does this.
    public var int64Value: Int64? { value.map(Self.saturating) }

    /// `Quantity.MilliValue()`: thousandths, rounded up, saturating like `int64Value`.
    public var milliValue: Int64? { value.map { Self.saturating($0 * 1000) } }

    /// `d` rounded up, clamped to Int64's range (a plain conversion traps outside it).
    public static func saturating(_ d: Double) -> Int64 {
        let r = d.rounded(.up)
        if r >= 9_223_372_036_854_775_807.0 { return .max }
        if r <= -9_223_372_036_854_775_808.0 { return .min }
        return Int64(r)
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
