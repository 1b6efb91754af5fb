import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The stream a log line came from, as spelled in the CRI log format.
public enum LogStream: String, Sendable {
    case stdout, stderr
}

/// Formats one stream of a container's output into the kubelet's CRI log format:
///
///     2024-01-01T00:00:00.123456789Z stdout F the line
///
/// `F` marks a full line, `P` a partial chunk: like containerd, lines longer than
/// 16 KiB are cut into `P` chunks followed by the `F` remainder, and an unterminated
/// last line at EOF is written as `F`.
///
/// Hot path (a container and tandem share the CPUs, so copies and syscalls are what
/// count): one memchr per line over the raw read buffer, then a fixed 40-byte record
/// prefix ("<timestamp> stdout F ", stored as five words) and one memcpy of the line
/// with its newline into a reusable output buffer; one timestamp and one write(2) per
/// read batch (so `tail -f` stays live and the file never holds half a record). No
/// Swift allocation, lock or String per line (a String only for the echo hook).
/// Output is flushed early, at a record boundary, only when the buffer is full.
final class CRILogSink: ByteSink {
    static let maxLine = 16 * 1024
    /// "2024-01-01T00:00:00.123456789Z stdout F ": 30 + 8 + 2 bytes, for both streams.
    static let prefixLen = 40
    private static let outCap = 1 << 20

    private let fd: Int32
    private let echo: (@Sendable (String) -> Void)?
    private let clock: TimestampFormatter
    /// The record prefix with tag `F`, rebuilt once per read batch.
    private let prefix: UnsafeMutableRawPointer
    private var stamp = [UInt8](repeating: 0, count: 30)
    private let out: UnsafeMutableRawPointer
    /// An unterminated line carried across reads: never more than `maxLine` bytes
    /// (every full 16 KiB before more bytes arrive has already gone out as `P`).
    private let carry: UnsafeMutableRawPointer
    private var carryLen = 0

    init(fd: Int32, stream: LogStream, clock: TimestampFormatter, echo: (@Sendable (String) -> Void)?) {
        self.fd = fd
        self.echo = echo
        self.clock = clock
        let header = Array(" \(stream.rawValue) F ".utf8)
        precondition(30 + header.count == Self.prefixLen)
        let prefix = UnsafeMutableRawPointer.allocate(byteCount: Self.prefixLen, alignment: 8)
        header.withUnsafeBytes { (prefix + 30).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        self.prefix = prefix
        out = .allocate(byteCount: Self.outCap, alignment: 16)
        carry = .allocate(byteCount: Self.maxLine, alignment: 16)
    }

    deinit {
        prefix.deallocate()
        out.deallocate()
        carry.deallocate()
    }

    private func stampNow() {
        clock.now(into: &stamp)
        stamp.withUnsafeBytes { prefix.copyMemory(from: $0.baseAddress!, byteCount: 30) }
    }

    func consume(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        stampNow()
        var p = base
        let end = base + bytes.count
        var o = out
        let outEnd = out + Self.outCap
        // The prefix as five words in registers: a 40-byte record header costs five stores.
        let w0 = prefix.load(as: UInt64.self), w1 = prefix.load(fromByteOffset: 8, as: UInt64.self)
        let w2 = prefix.load(fromByteOffset: 16, as: UInt64.self), w3 = prefix.load(fromByteOffset: 24, as: UInt64.self)
        let w4 = prefix.load(fromByteOffset: 32, as: UInt64.self)

        if carryLen > 0 {
            // Finish (or extend) the line carried from the previous read.
            let nl = memchr(p, 0x0A, end - p).map { UnsafeRawPointer($0) }
            let segEnd = nl ?? end
            o = appendCarry(p, segEnd - p, o)
            if let nl {
                o = record(carry, carryLen, tag: UInt8(ascii: "F"), o)
                carryLen = 0
                p = nl + 1
            } else {
                p = end
            }
        }
        while p < end {
            guard let found = memchr(p, 0x0A, end - p) else {
                o = appendCarry(p, end - p, o)
                break
            }
            let nl = UnsafeRawPointer(found)
            let n = nl - p
            if n > Self.maxLine {
                o = longLine(p, n, o)
            } else {
                if o + (Self.prefixLen + 1 + n) > outEnd { o = flush(o) }
                o.storeBytes(of: w0, as: UInt64.self)
                o.storeBytes(of: w1, toByteOffset: 8, as: UInt64.self)
                o.storeBytes(of: w2, toByteOffset: 16, as: UInt64.self)
                o.storeBytes(of: w3, toByteOffset: 24, as: UInt64.self)
                o.storeBytes(of: w4, toByteOffset: 32, as: UInt64.self)
                // The line and its newline in one copy.
                (o + Self.prefixLen).copyMemory(from: p, byteCount: n + 1)
                o += Self.prefixLen + 1 + n
                if let echo { echo(String(decoding: UnsafeRawBufferPointer(start: p, count: n), as: UTF8.self)) }
            }
            p = nl + 1
        }
        _ = flush(o)
    }

    func finish() {
        guard carryLen > 0 else { return }
        stampNow()
        let o = record(carry, carryLen, tag: UInt8(ascii: "F"), out)
        carryLen = 0
        _ = flush(o)
    }

    /// Adds unterminated bytes to the carry; each time it holds 16 KiB and more bytes
    /// follow, those 16 KiB go out as a `P` record (so the carry stays bounded and a
    /// line of exactly 16 KiB still ends as one `F`).
    private func appendCarry(_ src: UnsafeRawPointer, _ count: Int, _ o: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
        var o = o, src = src, left = count
        while left > 0 {
            if carryLen == Self.maxLine {
                o = record(carry, carryLen, tag: UInt8(ascii: "P"), o)
                carryLen = 0
            }
            let k = min(left, Self.maxLine - carryLen)
            (carry + carryLen).copyMemory(from: src, byteCount: k)
            carryLen += k
            src += k
            left -= k
        }
        return o
    }

    /// A complete line longer than 16 KiB: `P` chunks for every full 16 KiB except the last piece, then `F`.
    private func longLine(_ line: UnsafeRawPointer, _ count: Int, _ o: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
        var o = o, off = 0
        while count - off > Self.maxLine {
            o = record(line + off, Self.maxLine, tag: UInt8(ascii: "P"), o)
            off += Self.maxLine
        }
        return record(line + off, count - off, tag: UInt8(ascii: "F"), o)
    }

    /// One record written at `o` (flushing first if it would not fit); returns the new end.
    private func record(_ content: UnsafeRawPointer, _ count: Int, tag: UInt8, _ o: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
        var o = o
        if o + (Self.prefixLen + 1 + count) > out + Self.outCap { o = flush(o) }
        o.copyMemory(from: prefix, byteCount: Self.prefixLen)
        o.storeBytes(of: tag, toByteOffset: Self.prefixLen - 2, as: UInt8.self)
        if count > 0 { (o + Self.prefixLen).copyMemory(from: content, byteCount: count) }
        (o + Self.prefixLen + count).storeBytes(of: 0x0A, as: UInt8.self)
        if let echo { echo(String(decoding: UnsafeRawBufferPointer(start: content, count: count), as: UTF8.self)) }
        return o + Self.prefixLen + 1 + count
    }

    /// Writes out[..<end] and returns the start of the (now empty) buffer.
    private func flush(_ end: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
        let len = end - out
        if len > 0 {
            // A full disk must not stop the container: drop the batch rather than block it.
            try? Sys.writeAll(fd, UnsafeRawBufferPointer(start: out, count: len))
        }
        return out
    }
}

/// RFC 3339 UTC timestamps with nanoseconds, as the CRI log format wants.
/// The date-and-time part is formatted once per second and cached.
final class TimestampFormatter {
    private var cachedSecond: Int = -1
    private var prefix = [UInt8](repeating: 0, count: 20) // "2024-01-01T00:00:00."

    func now(into out: inout [UInt8]) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        format(seconds: Int(ts.tv_sec), nanos: Int(ts.tv_nsec), into: &out)
    }

    func format(seconds: Int, nanos: Int, into out: inout [UInt8]) {
        if seconds != cachedSecond {
            var t = time_t(seconds)
            var tm = tm()
            gmtime_r(&t, &tm)
            let fields = [(Int(tm.tm_year) + 1900, 4, UInt8(ascii: "-")), (Int(tm.tm_mon) + 1, 2, UInt8(ascii: "-")),
                          (Int(tm.tm_mday), 2, UInt8(ascii: "T")), (Int(tm.tm_hour), 2, UInt8(ascii: ":")),
                          (Int(tm.tm_min), 2, UInt8(ascii: ":")), (Int(tm.tm_sec), 2, UInt8(ascii: "."))]
            var i = 0
            for (value, width, sep) in fields {
                var v = value
                for k in stride(from: width - 1, through: 0, by: -1) {
                    prefix[i + k] = UInt8(ascii: "0") + UInt8(v % 10)
                    v /= 10
                }
                prefix[i + width] = sep
                i += width + 1
            }
            cachedSecond = seconds
        }
        for i in 0..<20 { out[i] = prefix[i] }
        var n = nanos
        for i in stride(from: 28, through: 20, by: -1) {
            out[i] = UInt8(ascii: "0") + UInt8(n % 10)
            n /= 10
        }
        out[29] = UInt8(ascii: "Z")
    }
}
