/// The request bodies an HTTP receiver understands:
/// * `ndjson`: one JSON object per line, `{"time","file","line"}` (Vector's `http_server`,
///   Fluent Bit's `http` input, or anything that reads newline-delimited JSON);
/// * `loki`: Loki's `/loki/api/v1/push` JSON, one stream per file, labels `filename` plus
///   any given with `--label`;
/// * `elasticsearch`: the `_bulk` API's action/document line pairs into one index.
public enum PushFormat: String, Sendable, CaseIterable {
    case ndjson, loki, elasticsearch

    public var contentType: String {
        switch self {
        case .ndjson, .elasticsearch: return "application/x-ndjson"
        case .loki: return "application/json"
        }
    }

    public struct Options: Sendable {
        public var labels: [(String, String)] = []
        public var index = "tandem-logs"
        public init() {}
    }

    public func body(_ batch: LineBatch, options: Options) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(batch.byteCount + batch.lineCount * 80)
        let time = batch.time.rfc3339Nano
        switch self {
        case .ndjson:
            batch.forEachLine { path, line in
                Self.document(time: ("time", time), path: path, line: ("line", line), to: &out)
            }
        case .elasticsearch:
            var action: [UInt8] = Array("{\"index\":{\"_index\":".utf8)
            JSONString.append(Array(options.index.utf8)[...], to: &action)
            action += Array("}}\n".utf8)
            batch.forEachLine { path, line in
                out += action
                Self.document(time: ("@timestamp", time), path: path, line: ("message", line), to: &out)
            }
        case .loki:
            let ns = batch.time.unixNanoString
            out += Array("{\"streams\":[".utf8)
            // One stream per file, in order of first appearance.
            var order: [String] = []
            var lines: [String: [ArraySlice<UInt8>]] = [:]
            batch.forEachLine { path, line in
                if lines[path] == nil { order.append(path) }
                lines[path, default: []].append(line)
            }
            for (i, path) in order.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out += Array("{\"stream\":{".utf8)
                for (k, v) in options.labels {
                    JSONString.append(Array(k.utf8)[...], to: &out)
                    out.append(UInt8(ascii: ":"))
                    JSONString.append(Array(v.utf8)[...], to: &out)
                    out.append(UInt8(ascii: ","))
                }
                out += Array("\"filename\":".utf8)
                JSONString.append(Array(path.utf8)[...], to: &out)
                out += Array("},\"values\":[".utf8)
                for (j, line) in lines[path]!.enumerated() {
                    if j > 0 { out.append(UInt8(ascii: ",")) }
                    out += Array("[\"\(ns)\",".utf8)
                    JSONString.append(line, to: &out)
                    out.append(UInt8(ascii: "]"))
                }
                out += Array("]}".utf8)
            }
            out += Array("]}".utf8)
        }
        return out
    }

    /// `{"<time key>":"…","file":"…","<line key>":"…"}` and a newline.
    private static func document(time: (key: String, value: String), path: String, line: (key: String, value: ArraySlice<UInt8>),
                                 to out: inout [UInt8]) {
        out += Array("{\"\(time.key)\":\"\(time.value)\",\"file\":".utf8)
        JSONString.append(Array(path.utf8)[...], to: &out)
        out += Array(",\"\(line.key)\":".utf8)
        JSONString.append(line.value, to: &out)
        out += Array("}\n".utf8)
    }
}

/// JSON string escaping of raw log bytes. Invalid UTF-8 is replaced (U+FFFD): JSON cannot carry
/// arbitrary bytes, and a receiver that rejects the whole batch over one bad byte would stall
/// delivery.
enum JSONString {
    static func append(_ bytes: ArraySlice<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        let valid = String(validating: bytes, as: UTF8.self) != nil
        let source: [UInt8] = valid ? Array(bytes) : Array(String(decoding: bytes, as: UTF8.self).utf8)
        for b in source {
            switch b {
            case UInt8(ascii: "\""): out += [92, 34]
            case UInt8(ascii: "\\"): out += [92, 92]
            case 0x0A: out += [92, UInt8(ascii: "n")]
            case 0x0D: out += [92, UInt8(ascii: "r")]
            case 0x09: out += [92, UInt8(ascii: "t")]
            case 0..<0x20: out += [92, UInt8(ascii: "u"), 48, 48, hex[Int(b >> 4)], hex[Int(b & 15)]]
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
