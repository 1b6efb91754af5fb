/// The `--format` template for stdout: literal text with `{time}`, `{time_ns}`, `{file}` and
/// `{line}` fields (`{{` and `}}` for literal braces). The seed forwarder's shape is
/// `[PROCESSED] {time} - {line}`, available as the preset name `processed`. Parsed once at start
/// so a typo is an error before anything runs, not a silent literal in every output line.
public struct LineFormat: Sendable, Equatable {
    public enum Segment: Sendable, Equatable {
        case literal([UInt8])
        case time, timeNano, file, line
    }

    public static let presets: [String: String] = [
        "plain": "{line}",
        "processed": "[PROCESSED] {time} - {line}",
        "cri": "{time_ns} {file} {line}",
    ]

    public let segments: [Segment]

    /// Just the line, as `tail` prints it.
    public var isPlain: Bool { segments == [.line] }

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    public init(_ template: String) throws {
        let text = Self.presets[template] ?? template
        var segments: [Segment] = []
        var literal: [UInt8] = []
        let chars = Array(text.utf8)
        var i = 0
        func flushLiteral() {
            if !literal.isEmpty { segments.append(.literal(literal)); literal = [] }
        }
        while i < chars.count {
            let c = chars[i]
            if c == UInt8(ascii: "{"), i + 1 < chars.count, chars[i + 1] == UInt8(ascii: "{") {
                literal.append(c); i += 2; continue
            }
            if c == UInt8(ascii: "}"), i + 1 < chars.count, chars[i + 1] == UInt8(ascii: "}") {
                literal.append(c); i += 2; continue
            }
            if c == UInt8(ascii: "}") {
                throw ParseError(description: "format template: unmatched '}' at position \(i + 1) (write '}}' for a literal brace)")
            }
            guard c == UInt8(ascii: "{") else { literal.append(c); i += 1; continue }
            guard let close = chars[(i + 1)...].firstIndex(of: UInt8(ascii: "}")) else {
                throw ParseError(description: "format template: unclosed '{' at position \(i + 1) (write '{{' for a literal brace)")
            }
            let name = String(decoding: chars[(i + 1)..<close], as: UTF8.self)
            flushLiteral()
            switch name {
            case "time": segments.append(.time)
            case "time_ns": segments.append(.timeNano)
            case "file": segments.append(.file)
            case "line": segments.append(.line)
            default:
                throw ParseError(description: "format template: unknown field {\(name)}; the fields are {time}, {time_ns}, {file}, {line}")
            }
            i = close + 1
        }
        flushLiteral()
        self.segments = segments
    }

    /// Renders every line of `batch`, each followed by a newline, appended to `out`.
    public func render(_ batch: LineBatch, into out: inout [UInt8]) {
        let time = Array(batch.time.rfc3339.utf8)
        let timeNano = segments.contains(.timeNano) ? Array(batch.time.rfc3339Nano.utf8) : []
        let onlyLine = isPlain
        for chunk in batch.chunks {
            let file = Array(chunk.path.utf8)
            chunk.bytes.withUnsafeBufferPointer { bytes in
                for r in chunk.lines {
                    if onlyLine {
                        out.append(contentsOf: bytes[r])
                    } else {
                        for s in segments {
                            switch s {
                            case .literal(let l): out.append(contentsOf: l)
                            case .time: out.append(contentsOf: time)
                            case .timeNano: out.append(contentsOf: timeNano)
                            case .file: out.append(contentsOf: file)
                            case .line: out.append(contentsOf: bytes[r])
                            }
                        }
                    }
                    out.append(0x0A)
                }
            }
        }
    }
}
