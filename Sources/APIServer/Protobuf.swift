import Foundation
import KubeAPI

/// The protobuf request bodies kubectl's typed clients send (`kubectl create secret|configmap|
/// namespace` always do, with no switch to turn it off): the `k8s\0` envelope
/// (`runtime.Unknown`: 1 typeMeta {1 apiVersion, 2 kind}, 2 raw) around the object, decoded into
/// the JSON tree the rest of the server works on. Only the kinds and fields those commands
/// send are read; anything else is refused with 415 so the client knows.
enum Protobuf {
    static let magic: [UInt8] = [0x6b, 0x38, 0x73, 0x00]

    /// One field of a message: its number and its value (varint or bytes).
    struct Field {
        var number: Int
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
        var object: [String: JSONValue] = ["apiVersion": .string(apiVersion), "kind": .string(kind)]
        let top = try fields(raw)
        switch kind {
        case "Secret":
            for f in top {
                switch f.number {
                case 1: object["metadata"] = try objectMeta(f.bytes)
                case 2: try mapEntry(f.bytes, into: &object, key: "data") { .string(Data($0).base64EncodedString()) }
                case 3: object["type"] = .string(string(f.bytes))
                case 4: try mapEntry(f.bytes, into: &object, key: "stringData") { .string(string($0)) }
                case 5: object["immutable"] = .bool(f.varint != 0)
                default: break
                }
            }
        case "ConfigMap":
            for f in top {
                switch f.number {
                case 1: object["metadata"] = try objectMeta(f.bytes)
                case 2: try mapEntry(f.bytes, into: &object, key: "data") { .string(string($0)) }
                case 3: try mapEntry(f.bytes, into: &object, key: "binaryData") { .string(Data($0).base64EncodedString()) }
                case 4: object["immutable"] = .bool(f.varint != 0)
                default: break
                }
            }
        case "Namespace", "ServiceAccount":
            // `kubectl create serviceaccount` sends only the metadata (field 1 of both kinds).
            for f in top where f.number == 1 { object["metadata"] = try objectMeta(f.bytes) }
        default:
            throw .unsupportedMediaType("application/vnd.kubernetes.protobuf", accepted: ["application/json", "application/yaml"])
        }
        return .object(object)
    }

    /// ObjectMeta: 1 name, 2 generateName, 3 namespace, 11 labels, 12 annotations.
    static func objectMeta(_ bytes: [UInt8]) throws(APIError) -> JSONValue {
        var meta: [String: JSONValue] = [:]
        for f in try fields(bytes) {
            switch f.number {
            case 1: meta["name"] = .string(string(f.bytes))
            case 2: meta["generateName"] = .string(string(f.bytes))
            case 3: meta["namespace"] = .string(string(f.bytes))
            case 11: try mapEntry(f.bytes, into: &meta, key: "labels") { .string(string($0)) }
            case 12: try mapEntry(f.bytes, into: &meta, key: "annotations") { .string(string($0)) }
            default: break
            }
        }
        return .object(meta)
    }

    /// One `map<string, V>` entry (`{1 key, 2 value}`) added to `object[key]`.
    static func mapEntry(_ bytes: [UInt8], into object: inout [String: JSONValue], key: String,
                         value: ([UInt8]) -> JSONValue) throws(APIError) {
        var k = "", v: [UInt8] = []
        for f in try fields(bytes) {
            if f.number == 1 { k = string(f.bytes) } else if f.number == 2 { v = f.bytes }
        }
        var map = object[key]?.objectValue ?? [:]
        map[k] = value(v)
        object[key] = .object(map)
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
            var f = Field(number: Int(tag >> 3))
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
