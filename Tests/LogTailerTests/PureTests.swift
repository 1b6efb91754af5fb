import Foundation
import Testing
@testable import LogTailer

@Suite struct LineSplitterTests {
    @Test func completeLinesAndUnfinishedRest() {
        let r = LineSplitter().split(Array("one\ntwo\nthr".utf8))
        #expect(r.lines == [0..<3, 4..<7])
        #expect(r.consumed == 8)
    }

    @Test func emptyLinesAreLines() {
        let r = LineSplitter().split(Array("\n\na\n".utf8))
        #expect(r.lines == [0..<0, 1..<1, 2..<3])
        #expect(r.consumed == 4)
    }

    @Test func overLongLinesAreCutNotDropped() {
        let s = LineSplitter(maxLineBytes: 4)
        let r = s.split(Array("abcdefghij\nxy".utf8))
        #expect(r.lines == [0..<4, 4..<8, 8..<10])
        #expect(r.consumed == 11)
        // An unfinished line past the cap is cut now rather than held forever.
        let open = s.split(Array("abcdefghi".utf8))
        #expect(open.lines == [0..<4, 4..<8])
        #expect(open.consumed == 8)
    }
}

@Suite struct LineFormatTests {
    let batch = LineBatch(time: WallTime(seconds: 1_795_759_391, nanoseconds: 5_000),
                          chunks: [.init(path: "/logs/a.log", bytes: Array("x\ny".utf8), lines: [0..<1, 2..<3])])

    func render(_ template: String) throws -> String {
        var out: [UInt8] = []
        try LineFormat(template).render(batch, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func seedShapeAsPreset() throws {
        #expect(try render("processed") == "[PROCESSED] 2026-11-27T06:03:11Z - x\n[PROCESSED] 2026-11-27T06:03:11Z - y\n")
    }

    @Test func allFieldsAndEscapedBraces() throws {
        #expect(try render("{{{file}}} {time_ns} {line}") == "{/logs/a.log} 2026-11-27T06:03:11.000005000Z x\n{/logs/a.log} 2026-11-27T06:03:11.000005000Z y\n")
        #expect(try render("plain") == "x\ny\n")
    }

    @Test(arguments: ["{nope}", "{line", "a } b", "{}"])
    func badTemplatesAreRefused(_ template: String) {
        #expect(throws: LineFormat.ParseError.self) { try LineFormat(template) }
    }
}

@Suite struct RotationDetectorTests {
    let a = FileIdentity(device: 1, inode: 10)
    let b = FileIdentity(device: 1, inode: 11)

    @Test func classifiesPathChanges() {
        #expect(RotationDetector.classify(reading: nil, atPath: nil) == .unchanged)
        #expect(RotationDetector.classify(reading: a, atPath: a) == .unchanged)
        #expect(RotationDetector.classify(reading: nil, atPath: a) == .appeared(a))
        #expect(RotationDetector.classify(reading: a, atPath: nil) == .vanished(a))
        #expect(RotationDetector.classify(reading: a, atPath: b) == .replaced(old: a, new: b))
    }

    @Test func truncationBySizeOrByHead() {
        #expect(RotationDetector.wasTruncated(size: 10, offset: 20, headUnchanged: true))
        #expect(RotationDetector.wasTruncated(size: 30, offset: 20, headUnchanged: false), "refilled past the offset before the look")
        #expect(!RotationDetector.wasTruncated(size: 30, offset: 20, headUnchanged: true))
        #expect(!RotationDetector.wasTruncated(size: 0, offset: 0, headUnchanged: false))
    }

    @Test func startOffsets() {
        #expect(RotationDetector.startOffset(checkpoint: 5, size: 9, existedAtStart: true, fromEnd: true) == 5)
        #expect(RotationDetector.startOffset(checkpoint: nil, size: 9, existedAtStart: true, fromEnd: false) == 0)
        #expect(RotationDetector.startOffset(checkpoint: nil, size: 9, existedAtStart: true, fromEnd: true) == 9)
        #expect(RotationDetector.startOffset(checkpoint: nil, size: 9, existedAtStart: false, fromEnd: true) == 0,
                "a file created while running is read whole even with --from end")
    }
}

@Suite struct HTTPPieceTests {
    @Test func parsesURLs() throws {
        let e = try HTTPEndpoint("http://127.0.0.1:3100/loki/api/v1/push")
        #expect(e == HTTPEndpoint(host: "127.0.0.1", port: 3100, path: "/loki/api/v1/push"))
        #expect(try HTTPEndpoint("http://example") == HTTPEndpoint(host: "example", port: 80, path: "/"))
        #expect(try HTTPEndpoint("http://[::1]:9200/_bulk") == HTTPEndpoint(host: "::1", port: 9200, path: "/_bulk"))
    }

    @Test(arguments: ["https://x/", "ftp://x", "http://", "http://h:0/", "http://h:99999/", "http://h:abc/", "localhost:80"])
    func refusesBadURLs(_ url: String) {
        #expect(throws: HTTPEndpoint.URLError.self) { try HTTPEndpoint(url) }
    }

    @Test func parsesResponses() throws {
        let r = try HTTPPost.parse(Array("HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n".utf8), from: "h")
        #expect(r.status == 204 && r.body.isEmpty)
        let chunked = try HTTPPost.parse(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n".utf8), from: "h")
        #expect(String(decoding: chunked.body, as: UTF8.self) == "hello!")
        #expect(throws: HTTPPost.Failure.self) { try HTTPPost.parse(Array("garbage".utf8), from: "h") }
        #expect(throws: HTTPPost.Failure.self) { try HTTPPost.parse(Array("SSH-2.0\r\n\r\n".utf8), from: "h") }
    }

    @Test func backoffDoublesUpToTheCap() {
        let b = Backoff(initial: .milliseconds(100), maximum: .seconds(1))
        #expect(b.base(after: 1) == .milliseconds(100))
        #expect(b.base(after: 2) == .milliseconds(200))
        #expect(b.base(after: 4) == .milliseconds(800))
        #expect(b.base(after: 5) == .seconds(1))
        #expect(b.base(after: 50) == .seconds(1))
        var j = b
        let first = j.next()
        #expect(first >= .milliseconds(100) && first < .milliseconds(125))
    }

    let batch = LineBatch(time: WallTime(seconds: 1_795_759_391, nanoseconds: 42),
                          chunks: [.init(path: "/l/a.log", bytes: Array("say \"hi\"\tok\nb".utf8), lines: [0..<11, 12..<13]),
                                   .init(path: "/l/b.log", bytes: Array("c".utf8), lines: [0..<1])])

    func json(_ line: Substring) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test func ndjsonBody() throws {
        let lines = String(decoding: PushFormat.ndjson.body(batch, options: .init()), as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 3)
        let first = try json(lines[0])
        #expect(first["line"] as? String == "say \"hi\"\tok")
        #expect(first["file"] as? String == "/l/a.log")
        #expect(first["time"] as? String == "2026-11-27T06:03:11.000000042Z")
    }

    @Test func lokiBodyHasOneStreamPerFile() throws {
        var o = PushFormat.Options()
        o.labels = [("job", "web")]
        let body = try json(Substring(String(decoding: PushFormat.loki.body(batch, options: o), as: UTF8.self)))
        let streams = try #require(body["streams"] as? [[String: Any]])
        #expect(streams.count == 2)
        #expect(streams[0]["stream"] as? [String: String] == ["job": "web", "filename": "/l/a.log"])
        let values = try #require(streams[0]["values"] as? [[String]])
        #expect(values == [["1795759391000000042", "say \"hi\"\tok"], ["1795759391000000042", "b"]])
    }

    @Test func elasticsearchBulkBody() throws {
        var o = PushFormat.Options()
        o.index = "app"
        let lines = String(decoding: PushFormat.elasticsearch.body(batch, options: o), as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 6)
        #expect(try json(lines[0])["index"] as? [String: String] == ["_index": "app"])
        #expect(try json(lines[5])["message"] as? String == "c")
        #expect(try json(lines[1])["@timestamp"] as? String == "2026-11-27T06:03:11.000000042Z")
    }

    @Test func invalidUTF8IsReplacedNotRejected() throws {
        var out: [UInt8] = []
        JSONString.append([0x61, 0xff, 0x01][...], to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "\"a\u{FFFD}\\u0001\"")
    }

    @Test func batchSplitKeepsOrder() {
        let parts = batch.split(maxLines: 2)
        #expect(parts.map(\.lineCount) == [2, 1])
        var seen: [String] = []
        for p in parts { p.forEachLine { _, l in seen.append(String(decoding: l, as: UTF8.self)) } }
        #expect(seen == ["say \"hi\"\tok", "b", "c"])
    }
}

@Suite struct StdoutSinkTests {
    /// The plain fast path (chunks written as read) and the rendered path give the same bytes.
    @Test func plainOutputIsTheLinesWhateverTheChunkShape() async throws {
        let s = try Scratch()
        let whole = LineBatch.Chunk(path: "a", bytes: Array("x\nyy\n".utf8), lines: [0..<1, 2..<4])
        let cut = LineBatch.Chunk(path: "a", bytes: Array("abcd".utf8), lines: [0..<2, 2..<4])
        let flushed = LineBatch.Chunk(path: "a", bytes: Array("tail".utf8), lines: [0..<4])
        #expect(whole.isWholeLines && !cut.isWholeLines && !flushed.isWholeLines)
        try await StdoutSink(fd: s.outFD, format: LineFormat("plain")).write(LineBatch(time: .now(), chunks: [whole]))
        try await StdoutSink(fd: s.outFD, format: LineFormat("plain")).write(LineBatch(time: .now(), chunks: [cut, flushed]))
        #expect(s.output == ["x", "yy", "ab", "cd", "tail"])
    }
}
