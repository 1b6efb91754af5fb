/// Lines read in one go, handed to a `LogSink` together. Lines are ranges into their chunk's
/// bytes (one buffer per file read, no allocation per line). `time` is when they were read: log
/// files carry no reliable timestamp of their own, so like the CRI log format the receive time
/// is attached.
public struct LineBatch: Sendable {
    public struct Chunk: Sendable {
        public let path: String
        public let bytes: [UInt8]
        public let lines: [Range<Int>]

        /// Whether `bytes` is exactly the lines, each followed by its newline (no line was cut
        /// for length, no final line without a newline): then it can be written out as it was
        /// read. Known to whoever split the bytes; worked out line by line otherwise.
        public let isWholeLines: Bool

        public init(path: String, bytes: [UInt8], lines: [Range<Int>], isWholeLines: Bool? = nil) {
            self.path = path
            self.bytes = bytes
            self.lines = lines
            self.isWholeLines = isWholeLines ?? Self.areWholeLines(bytes, lines)
        }

        private static func areWholeLines(_ bytes: [UInt8], _ lines: [Range<Int>]) -> Bool {
            var expected = 0
            for r in lines {
                guard r.lowerBound == expected, r.upperBound < bytes.count, bytes[r.upperBound] == 0x0A else { return false }
                expected = r.upperBound + 1
            }
            return expected == bytes.count
        }
    }

    public var time: WallTime
    public var chunks: [Chunk] = []

    public init(time: WallTime, chunks: [Chunk] = []) {
        self.time = time
        self.chunks = chunks
    }

    public var lineCount: Int { chunks.reduce(0) { $0 + $1.lines.count } }
    public var byteCount: Int { chunks.reduce(0) { $0 + $1.bytes.count } }
    public var isEmpty: Bool { chunks.allSatisfy { $0.lines.isEmpty } }

    /// Every line with its file, in order.
    public func forEachLine(_ body: (_ path: String, _ line: ArraySlice<UInt8>) throws -> Void) rethrows {
        for c in chunks {
            for r in c.lines { try body(c.path, c.bytes[r]) }
        }
    }

    /// Splits into batches of at most `maxLines` lines, for receivers with a request size limit.
    public func split(maxLines: Int) -> [LineBatch] {
        guard lineCount > maxLines else { return [self] }
        var out: [LineBatch] = []
        var current = LineBatch(time: time)
        var n = 0
        for c in chunks {
            var start = 0
            while start < c.lines.count {
                let take = min(maxLines - n, c.lines.count - start)
                current.chunks.append(Chunk(path: c.path, bytes: c.bytes, lines: Array(c.lines[start..<(start + take)])))
                n += take
                start += take
                if n == maxLines {
                    out.append(current)
                    current = LineBatch(time: time)
                    n = 0
                }
            }
        }
        if n > 0 { out.append(current) }
        return out
    }
}
