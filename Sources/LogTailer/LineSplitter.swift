#if canImport(Glibc)
import Glibc
#endif

/// Finds the complete lines in a buffer whose end may be an unfinished line. The caller keeps
/// the unfinished rest (`consumed..<end`) and reads more after it, so a line a writer is halfway
/// through is never emitted in two pieces (Fluent Bit #5382 is the partial first line after a
/// rotation). A line longer than `maxLineBytes` is emitted in pieces of that size rather than
/// skipped: one absurd line must not cost data or stall the file (Fluent Bit's default drops
/// the whole file from monitoring).
///
/// Lines are returned as ranges into the caller's buffer, so splitting costs no allocation per
/// line: the tailer's throughput is mostly this loop and `memchr`.
public struct LineSplitter: Sendable {
    public let maxLineBytes: Int

    public init(maxLineBytes: Int = 1 << 20) {
        precondition(maxLineBytes > 0)
        self.maxLineBytes = maxLineBytes
    }

    public struct Result: Equatable, Sendable {
        /// Each line's bytes, without the newline.
        public var lines: [Range<Int>]
        /// Everything before this index is accounted for by `lines`; the rest is an
        /// unfinished line to keep.
        public var consumed: Int
        /// Whether a line was cut for length. When none was, `buffer[..<consumed]` is exactly
        /// the lines, each followed by its newline, and can be written out as it is.
        public var cut = false
    }

    public func split(_ buffer: UnsafeRawBufferPointer) -> Result {
        var result = Result(lines: [], consumed: 0)
        var start = 0
        let count = buffer.count
        guard let base = buffer.baseAddress else { return result }
        while start < count {
            guard let p = memchr(base + start, 0x0A, count - start) else { break }
            let nl = UnsafeRawPointer(p) - base
            appendCapped(start..<nl, to: &result)
            start = nl + 1
        }
        // An unfinished line that already exceeds the cap is cut now, or it would grow forever.
        while count - start >= maxLineBytes {
            result.lines.append(start..<(start + maxLineBytes))
            result.cut = true
            start += maxLineBytes
        }
        result.consumed = start
        return result
    }

    public func split(_ bytes: [UInt8]) -> Result {
        bytes.withUnsafeBytes { split($0) }
    }

    private func appendCapped(_ line: Range<Int>, to result: inout Result) {
        var s = line.lowerBound
        while line.upperBound - s > maxLineBytes {
            result.lines.append(s..<(s + maxLineBytes))
            result.cut = true
            s += maxLineBytes
        }
        result.lines.append(s..<line.upperBound)
    }
}
