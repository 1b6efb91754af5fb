import Foundation
import KubeAPI

/// The protobuf request bodies kubectl's typed clients send (`kubectl create secret|configmap|
/// namespace|serviceaccount|deployment|job|cronjob|service` always do, with no switch to turn it
/// off): the `k8s\0` envelope (`runtime.Unknown`: 1 typeMeta {1 apiVersion, 2 kind}, 2 raw) around
/// the object, decoded into the JSON tree the rest of the server works on — and from there
/// defaulted, validated and stored like a JSON body.
///
/// The messages are described by `ProtoSchemas` (field number → JSON name and type, from
/// k8s.io/api's `generated.proto`), for the kinds and fields those commands send. A field this
/// table does not know is refused with 415 rather than dropped, so nothing a client sent is
/// silently lost.
enum Protobuf {
    static let magic: [UInt8] = [0x6b, 0x38, 0x73, 0x00]

    /// One field of a message: its number, wire type and value (varint or bytes).
    struct Field {
        var number: Int
        var wireType: UInt64
        var varint: UInt64 = 0
        var bytes: [UInt8] = []
    }

    static func decode(_ body: [UInt8]) throws(APIError) -> JSONValue {
        guard body.starts(with: magic) else { throw .badRequest("the protobuf body does not start with the k8s envelope") }
        let envelope = try fields(Array(body.dropFirst(magic.count)))
        var apiVersion = "", kind = "", raw: [UInt8] = []
        for f in envelope {
            if f.number == 1 {
                for t in try fields(f.bytes) {
                    if t.number == 1 { apiVersion = string(t.bytes) } else if t.number == 2 { kind = string(t.bytes) }
                }
            } else if f.number == 2 {
                raw = f.bytes
            }
        }
        guard ProtoSchemas.messages[kind] != nil else { throw unsupported("the kind \(kind)") }
        guard case .object(var object) = try message(raw, kind, path: kind) else { return .object([:]) }
        object["apiVersion"] = .string(apiVersion)
        object["kind"] = .string(kind)
        return .object(object)
    }

    static func unsupported(_ what: String) -> APIError {
        .unsupportedMediaType("application/vnd.kubernetes.protobuf (\(what) is not decoded; send JSON)",
                              accepted: ["application/json", "application/yaml"])
    }

    /// A message of schema `name` as a JSON object.
    static func message(_ bytes: [UInt8], _ name: String, path: String) throws(APIError) -> JSONValue {
        guard let schema = ProtoSchemas.messages[name] else { throw unsupported(path) }
        var object: [String: JSONValue] = [:]
        for f in try fields(bytes) {
            guard let (name, kind) = schema[f.number] else { throw unsupported("\(path) field \(f.number)") }
            let optional = name.hasSuffix("?")
            let key = optional ? String(name.dropLast()) : name
            switch kind {
            case .skip:
                continue
            case .inline(let inner):
                // An embedded message whose fields are the parent's in JSON (Volume's VolumeSource).
                if case .object(let fields) = try message(f.bytes, inner, path: path) { object.merge(fields) { $1 } }
            case .repeated(let element):
                var list = object[key]?.arrayValue ?? []
                list.append(try value(f, element, path: "\(path).\(key)"))
                object[key] = .array(list)
            case .map(let valueKind):
                var k = "", v = Field(number: 2, wireType: 2)
                for entry in try fields(f.bytes) {
                    if entry.number == 1 { k = string(entry.bytes) } else if entry.number == 2 { v = entry }
                }
                var map = object[key]?.objectValue ?? [:]
                map[k] = try value(v, valueKind, path: "\(path).\(key)")
                object[key] = .object(map)
            default:
                let v = try value(f, kind, path: "\(path).\(key)")
                // A zero scalar of a non-pointer Go field is the field's absence.
                if !optional, Self.isZero(v) { continue }
                object[key] = v
            }
        }
        return .object(object)
    }

    static func isZero(_ v: JSONValue) -> Bool {
        switch v {
        case .string(let s): return s.isEmpty
        case .int(let i): return i == 0
        case .bool(let b): return !b
        case .null: return true
        default: return false
        }
    }

    static func value(_ f: Field, _ kind: ProtoKind, path: String) throws(APIError) -> JSONValue {
        switch kind {
        case .string: return .string(string(f.bytes))
        case .bytes: return .string(Data(f.bytes).base64EncodedString())
        case .int: return .int(Int64(bitPattern: f.varint))
        case .bool: return .bool(f.varint != 0)
        case .message(let name): return try message(f.bytes, name, path: path)
        case .quantity:
            // resource.Quantity: 1 string.
            return .string(try fields(f.bytes).first { $0.number == 1 }.map { string($0.bytes) } ?? "0")
        case .intOrString:
            // intstr.IntOrString: 1 type (0 int, 1 string), 2 intVal, 3 strVal.
            var type: UInt64 = 0, int: Int64 = 0, str = ""
            for g in try fields(f.bytes) {
                switch g.number {
                case 1: type = g.varint
                case 2: int = Int64(Int32(truncatingIfNeeded: g.varint))
                case 3: str = string(g.bytes)
                default: break
                }
            }
            return type == 1 ? .string(str) : .int(int)
        case .time:
            // metav1.Time: 1 seconds, 2 nanos (RFC 3339 in JSON, whole seconds); the zero time is
            // written as an empty message and is JSON's null.
            guard let seconds = try fields(f.bytes).first(where: { $0.number == 1 }).map({ Int64(bitPattern: $0.varint) }) else { return .null }
            return .string(Timestamp.string(Date(timeIntervalSince1970: TimeInterval(seconds))))
        case .repeated, .map, .inline, .skip:
            throw unsupported(path)
        }
    }

    static func string(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// The fields of one message, in order.
    static func fields(_ b: [UInt8]) throws(APIError) -> [Field] {
        var out: [Field] = []
        var i = 0
        func varint() throws(APIError) -> UInt64 {
            var result: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard i < b.count, shift < 64 else { throw .badRequest("truncated protobuf varint") }
                let byte = b[i]
                i += 1
                result |= UInt64(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
            }
        }
        while i < b.count {
            let tag = try varint()
            var f = Field(number: Int(tag >> 3), wireType: tag & 7)
            switch tag & 7 {
            case 0: f.varint = try varint()
            case 1: i += 8
            case 2:
                let n = Int(try varint())
                guard n >= 0, i + n <= b.count else { throw .badRequest("truncated protobuf field") }
                f.bytes = Array(b[i..<(i + n)])
                i += n
            case 5: i += 4
            default: throw .badRequest("unsupported protobuf wire type \(tag & 7)")
            }
            guard i <= b.count else { throw .badRequest("truncated protobuf field") }
            out.append(f)
        }
        return out
    }
}

/// How one protobuf field reads as JSON.
indirect enum ProtoKind: Sendable {
    case string, bytes, int, bool, quantity, intOrString, time
    case message(String)
    case repeated(ProtoKind)
    /// `map<string, V>`: entries `{1 key, 2 value}`.
    case map(ProtoKind)
    /// A message whose fields appear inline in its parent's JSON.
    case inline(String)
    /// Read over (status, which the server ignores on create).
    case skip
}
