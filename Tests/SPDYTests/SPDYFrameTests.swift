import NIOCore
import Testing
@testable import SPDY

/// The framer against itself: what one side encodes the other decodes, header blocks through
/// one running zlib stream per direction, bytes arriving in arbitrary pieces.
struct SPDYFrameTests {
    @Test func framesSurviveARoundTripInPieces() throws {
        let encoder = try SPDYFrameEncoder()
        var decoder = try SPDYFrameDecoder()
        let frames: [SPDYFrame] = [
            .synStream(streamID: 1, fin: false, headers: SPDYHeaders([("streamtype", "error"), ("port", "80"), ("requestid", "0")])),
            .synStream(streamID: 3, fin: false, headers: SPDYHeaders([("streamtype", "data"), ("port", "80"), ("requestid", "0")])),
            .synReply(streamID: 3, fin: false, headers: SPDYHeaders()),
            .data(streamID: 3, fin: false, payload: ByteBuffer(string: String(repeating: "x", count: 70_000))),
            .data(streamID: 1, fin: true, payload: ByteBuffer()),
            .rstStream(streamID: 3, status: .cancel),
            .ping(id: 7),
            .windowUpdate(streamID: 3, delta: 65536),
            .goAway(lastGoodStreamID: 3, status: 0),
        ]
        var wire = ByteBuffer()
        for frame in frames { wire.writeImmutableBuffer(try encoder.encode(frame)) }
        // The header dictionary's id in the zlib header: Adler-32 of the 1423 bytes (draft 3).
        #expect(HeaderDictionary.bytes.count == 1423)
        var decoded: [SPDYFrame] = []
        while wire.readableBytes > 0 {
            decoder.feed(wire.readSlice(length: min(wire.readableBytes, 13))!)
            while let frame = try decoder.next() { decoded.append(frame) }
        }
        #expect(decoded == frames)
    }

    @Test func theFirstHeaderBlockNamesTheSPDYDictionary() throws {
        let encoder = try SPDYFrameEncoder()
        var frame = try encoder.encode(.synReply(streamID: 1, fin: false, headers: SPDYHeaders()))
        frame.moveReaderIndex(forwardBy: 12)
        // zlib header: CMF, FLG with FDICT (0x20), then the dictionary's Adler-32.
        let flg = frame.getInteger(at: frame.readerIndex + 1, as: UInt8.self)!
        #expect(flg & 0x20 != 0)
        #expect(frame.getInteger(at: frame.readerIndex + 2, as: UInt32.self) == 0xe3c6_a7c2)
    }

    @Test func headerLookupIgnoresCase() {
        let headers = SPDYHeaders([("streamtype", "data"), ("port", "80\u{0}81")])
        #expect(headers["streamType"] == "data")
        #expect(headers["port"] == "80")
        #expect(headers["requestID"] == nil)
    }

    @Test func aFrameOfAnotherVersionIsRefused() throws {
        var decoder = try SPDYFrameDecoder()
        var bytes = ByteBuffer()
        bytes.writeInteger(UInt32(0x8002_0006))
        bytes.writeInteger(UInt32(4))
        bytes.writeInteger(UInt32(1))
        decoder.feed(bytes)
        #expect(throws: SPDYProtocolError.self) { try decoder.next() }
    }
}
