/// An arbitrary JSON/YAML value.
///
/// Used for the parts of the API Tandem accepts but does not act on (affinity, tolerations,
/// a Tenant's spec): they must survive a round trip untouched, as the API server stores them.
public enum JSONValue: Codable, Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        if let b = try? c.decode(Bool.self) { self = .bool(b); return }
        if let i = try? c.decode(Int64.self) { self = .int(i); return }
        if let d = try? c.decode(Double.self) { self = .double(d); return }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        if let a = try? c.decode([JSONValue].self) { self = .array(a); return }
        if let o = try? c.decode([String: JSONValue].self) { self = .object(o); return }
        throw DecodingError.dataCorruptedError(in: c, debugDescription: "unsupported value")
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// One step into a tree: a list index or an object key.
    public enum PathComponent: Hashable, Sendable {
        case index(Int)
        case key(String)
    }

    /// Every number in the tree with its path.
    func numberLeaves(at path: [PathComponent] = []) -> [(path: [PathComponent], number: JSONValue)] {
        switch self {
        case .int, .double: return [(path, self)]
        case .array(let a): return a.enumerated().flatMap { $1.numberLeaves(at: path + [.index($0)]) }
        case .object(let o): return o.flatMap { $1.numberLeaves(at: path + [.key($0)]) }
        default: return []
        }
    }

    /// The tree with the value at `path` replaced (unchanged where the path leads nowhere).
    func replacing(at path: [PathComponent], with value: JSONValue) -> JSONValue {
        guard let first = path.first else { return value }
        let rest = Array(path.dropFirst())
        switch (self, first) {
        case (.array(var a), .index(let i)) where a.indices.contains(i):
            a[i] = a[i].replacing(at: rest, with: value)
            return .array(a)
        case (.object(var o), .key(let k)) where o[k] != nil:
            o[k] = o[k]!.replacing(at: rest, with: value)
            return .object(o)
        default:
            return self
        }
    }

    /// The name the API server uses for this JSON type in decoding errors.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "bool"
        case .int, .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}
