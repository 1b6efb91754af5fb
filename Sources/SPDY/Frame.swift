import NIOCore

/// A header block: names lower-case (SPDY/3 requires it), a name's several values joined by NUL.
public struct SPDYHeaders: Sendable, Equatable {
    public var fields: [(name: String, value: String)]

    public init(_ fields: [(name: String, value: String)] = []) { self.fields = fields }

    /// The first value of `name`, matched case-insensitively as Go's `http.Header.Get` does
    /// (client-go sets `streamType`, the wire carries `streamtype`).
    public subscript(name: String) -> String? {
        let wanted = name.lowercased()
        return fields.first { $0.name == wanted }.map { String($0.value.split(separator: "\0", omittingEmptySubsequences: false).first ?? "") }
    }

    public static func == (a: SPDYHeaders, b: SPDYHeaders) -> Bool {
        a.fields.map(\.name) == b.fields.map(\.name) && a.fields.map(\.value) == b.fields.map(\.value)
    }
}

/// The SPDY/3.1 frames a server sees and sends (draft 3.1 §2.6). CREDENTIAL is gone in 3.1 and
/// SETTINGS carries nothing this server acts on, so both are read and dropped.
public enum SPDYFrame: Sendable, Equatable {
    case synStream(streamID: UInt32, fin: Bool, headers: SPDYHeaders)
    case synReply(streamID: UInt32, fin: Bool, headers: SPDYHeaders)
    case rstStream(streamID: UInt32, status: SPDYResetStatus)
    case settings
    case ping(id: UInt32)
    case goAway(lastGoodStreamID: UInt32, status: UInt32)
    case headers(streamID: UInt32, fin: Bool, headers: SPDYHeaders)
    case windowUpdate(streamID: UInt32, delta: UInt32)
    case data(streamID: UInt32, fin: Bool, payload: ByteBuffer)
}

public struct SPDYResetStatus: RawRepresentable, Sendable, Equatable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let protocolError = Self(rawValue: 1)
    public static let invalidStream = Self(rawValue: 2)
    public static let refusedStream = Self(rawValue: 3)
    public static let cancel = Self(rawValue: 5)
    public static let internalError = Self(rawValue: 6)
}

public struct SPDYProtocolError: Error, CustomStringConvertible {
    public let description: String
}

enum ControlType: UInt16 {
    case synStream = 1, synReply, rstStream, settings, ping = 6, goAway, headers, windowUpdate
}

/// Reads frames out of a byte stream that arrives in arbitrary pieces (WebSocket messages or
/// TCP reads), with the connection's header inflater.
public struct SPDYFrameDecoder {
    private var buffer = ByteBuffer()
    private let inflater: ZlibStream
    /// A frame larger than this is refused rather than buffered (SPDY allows 16 MiB).
    static let maxFrame = 1 << 24

    public init() throws {
        inflater = try ZlibStream(inflating: true)
    }

    public mutating func feed(_ bytes: ByteBuffer) {
        var bytes = bytes
        buffer.writeBuffer(&bytes)
    }

    /// The next complete frame, or nil until more bytes arrive.
    public mutating func next() throws -> SPDYFrame? {
        while true {
            guard buffer.readableBytes >= 8,
                  let word = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
                  let flagsAndLength = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt32.self) else { return nil }
            let flags = UInt8(flagsAndLength >> 24)
            let length = Int(flagsAndLength & 0xff_ffff)
            guard buffer.readableBytes >= 8 + length else { return nil }
            buffer.moveReaderIndex(forwardBy: 8)
            var body = buffer.readSlice(length: length)!
            buffer.discardReadBytes()
            let fin = flags & 0x01 != 0
            guard word & 0x8000_0000 != 0 else {
                return .data(streamID: word & 0x7fff_ffff, fin: fin, payload: body)
            }
            let version = UInt16(word >> 16) & 0x7fff
            guard version == 3 else { throw SPDYProtocolError(description: "SPDY version \(version) is not 3") }
            guard let type = ControlType(rawValue: UInt16(word & 0xffff)) else { continue }  // unknown control frames are ignored (§2.2.1)
            switch type {
            case .synStream:
                guard let id = body.readInteger(as: UInt32.self), body.readInteger(as: UInt32.self) != nil,
                      body.readInteger(as: UInt16.self) != nil else { throw SPDYProtocolError(description: "short SYN_STREAM") }
                return .synStream(streamID: id & 0x7fff_ffff, fin: fin, headers: try headers(&body))
            case .synReply:
                guard let id = body.readInteger(as: UInt32.self) else { throw SPDYProtocolError(description: "short SYN_REPLY") }
                return .synReply(streamID: id & 0x7fff_ffff, fin: fin, headers: try headers(&body))
            case .headers:
                guard let id = body.readInteger(as: UInt32.self) else { throw SPDYProtocolError(description: "short HEADERS") }
                return .headers(streamID: id & 0x7fff_ffff, fin: fin, headers: try headers(&body))
            case .rstStream:
                guard let id = body.readInteger(as: UInt32.self), let status = body.readInteger(as: UInt32.self) else {
                    throw SPDYProtocolError(description: "short RST_STREAM")
                }
                return .rstStream(streamID: id & 0x7fff_ffff, status: SPDYResetStatus(rawValue: status))
            case .settings:
                return .settings
            case .ping:
                guard let id = body.readInteger(as: UInt32.self) else { throw SPDYProtocolError(description: "short PING") }
                return .ping(id: id)
            case .goAway:
                guard let id = body.readInteger(as: UInt32.self) else { throw SPDYProtocolError(description: "short GOAWAY") }
                return .goAway(lastGoodStreamID: id & 0x7fff_ffff, status: body.readInteger(as: UInt32.self) ?? 0)
            case .windowUpdate:
                guard let id = body.readInteger(as: UInt32.self), let delta = body.readInteger(as: UInt32.self) else {
                    throw SPDYProtocolError(description: "short WINDOW_UPDATE")
                }
                return .windowUpdate(streamID: id & 0x7fff_ffff, delta: delta & 0x7fff_ffff)
            }
        }
    }

    /// Inflates and parses a header block: a count, then length-prefixed names and values.
    private func headers(_ body: inout ByteBuffer) throws -> SPDYHeaders {
        var plain = ByteBuffer(bytes: try inflater.process(Array(body.readableBytesView)))
        guard let count = plain.readInteger(as: UInt32.self) else { throw SPDYProtocolError(description: "empty header block") }
        var fields: [(name: String, value: String)] = []
        for _ in 0..<count {
            guard let nameLength = plain.readInteger(as: UInt32.self), let name = plain.readString(length: Int(nameLength)),
                  let valueLength = plain.readInteger(as: UInt32.self), let value = plain.readString(length: Int(valueLength)) else {
                throw SPDYProtocolError(description: "truncated header block")
            }
            fields.append((name, value))
        }
        return SPDYHeaders(fields)
    }
}

/// Writes frames with the connection's header deflater. Frames that carry a header block
/// must be encoded in the order they are sent, since the deflater's state runs on.
public struct SPDYFrameEncoder {
    private let deflater: ZlibStream

    public init() throws {
        deflater = try ZlibStream(inflating: false)
    }

    /// Encodes any frame; those with a header block advance the connection's deflater.
    public func encode(_ frame: SPDYFrame) throws -> ByteBuffer {
        try Self.encode(frame) { try deflater.process($0) }
    }

    /// Encodes a frame without a header block (DATA, RST_STREAM, PING, GOAWAY, ...), which needs
    /// no connection state and so may be written from any task.
    public static func encode(_ frame: SPDYFrame) -> ByteBuffer {
        encode(frame) { _ in preconditionFailure("a frame with a header block needs the connection's encoder") }
    }

    private static func encode(_ frame: SPDYFrame, block: ([UInt8]) throws -> [UInt8]) rethrows -> ByteBuffer {
        var out = ByteBuffer()
        func control(_ type: ControlType, flags: UInt8 = 0, _ body: ByteBuffer) {
            out.writeInteger(UInt16(0x8003))
            out.writeInteger(type.rawValue)
            out.writeInteger(UInt32(flags) << 24 | UInt32(body.readableBytes))
            out.writeImmutableBuffer(body)
        }
        var body = ByteBuffer()
        switch frame {
        case .synStream(let id, let fin, let headers):
            body.writeInteger(id)
            body.writeInteger(UInt32(0))
            body.writeInteger(UInt16(0))
            body.writeBytes(try block(plainBlock(headers)))
            control(.synStream, flags: fin ? 1 : 0, body)
        case .synReply(let id, let fin, let headers):
            body.writeInteger(id)
            body.writeBytes(try block(plainBlock(headers)))
            control(.synReply, flags: fin ? 1 : 0, body)
        case .headers(let id, let fin, let headers):
            body.writeInteger(id)
            body.writeBytes(try block(plainBlock(headers)))
            control(.headers, flags: fin ? 1 : 0, body)
        case .rstStream(let id, let status):
            body.writeInteger(id)
            body.writeInteger(status.rawValue)
            control(.rstStream, body)
        case .settings:
            body.writeInteger(UInt32(0))
            control(.settings, body)
        case .ping(let id):
            body.writeInteger(id)
            control(.ping, body)
        case .goAway(let id, let status):
            body.writeInteger(id)
            body.writeInteger(status)
            control(.goAway, body)
        case .windowUpdate(let id, let delta):
            body.writeInteger(id)
            body.writeInteger(delta)
            control(.windowUpdate, body)
        case .data(let id, let fin, let payload):
            out.reserveCapacity(8 + payload.readableBytes)
            out.writeInteger(id & 0x7fff_ffff)
            out.writeInteger(UInt32(fin ? 1 : 0) << 24 | UInt32(payload.readableBytes))
            out.writeImmutableBuffer(payload)
        }
        return out
    }

    /// A header block before compression: a count, then length-prefixed names and values.
    private static func plainBlock(_ headers: SPDYHeaders) -> [UInt8] {
        var plain = ByteBuffer()
        plain.writeInteger(UInt32(headers.fields.count))
        for (name, value) in headers.fields {
            plain.writeInteger(UInt32(name.utf8.count))
            plain.writeString(name.lowercased())
            plain.writeInteger(UInt32(value.utf8.count))
            plain.writeString(value)
        }
        return Array(plain.readableBytesView)
    }
}
