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
/// Hot path: one memchr per line and memcpy into a reusable output buffer; one
/// timestamp and one write(2) per read batch (so `tail -f` stays live and the file
/// never holds half a record). No String is built unless there is an echo hook.
final class CRILogSink: ByteSink {
    static let maxLine = 16 * 1024

    private let fd: Int32
    private let header: [UInt8]          // " stdout " / " stderr "
    private let echo: (@Sendable (String) -> Void)?
    private var pending: [UInt8] = []    // an unterminated line carried across reads
    private var out: UnsafeMutableRawPointer
    private var outCap: Int
    private var outLen = 0
    private var stamp = [UInt8](repeating: 0, count: 30)
    /// "<timestamp> <stream> ", rebuilt once per read batch, copied with one memcpy per record.
    private let prefix: UnsafeMutableRawPointer
    private let prefixLen: Int
    private let clock: TimestampFormatter

    init(fd: Int32, stream: LogStream, clock: TimestampFormatter, echo: (@Sendable (String) -> Void)?) {
        self.fd = fd
        self.header = Array(" \(stream.rawValue) ".utf8)
        self.echo = echo
        self.clock = clock
        outCap = 1 << 20
        out = .allocate(byteCount: outCap, alignment: 16)
        prefixLen = 30 + header.count
        prefix = .allocate(byteCount: prefixLen, alignment: 16)
        header.withUnsafeBytes { (prefix + 30).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    deinit {
        out.deallocate()
        prefix.deallocate()
    }

    private func stampNow() {
        clock.now(into: &stamp)
        stamp.withUnsafeBytes { prefix.copyMemory(from: $0.baseAddress!, byteCount: 30) }
    }

    func consume(_ bytes: UnsafeRawBufferPointer) {
        stampNow()
        guard var p = bytes.baseAddress, bytes.count > 0 else { return }
        let end = p + bytes.count
        while p < end {
            guard let nl = memchr(p, 0x0A, end - p) else {
                pending.append(contentsOf: UnsafeRawBufferPointer(start: p, count: end - p))
                // Keep the carry bounded: anything beyond 16 KiB is a partial record already.
                if pending.count >= Self.maxLine {
                    var whole = pending.count / Self.maxLine * Self.maxLine
                    if whole == pending.count { whole -= Self.maxLine }
                    if whole > 0 {
                        pending.withUnsafeBytes { emitPartials(UnsafeRawBufferPointer(rebasing: $0[0..<whole])) }
                        pending.removeFirst(whole)
                    }
                }
                break
            }
            let lineEnd = UnsafeRawPointer(nl)
            if pending.isEmpty {
                emitLine(UnsafeRawBufferPointer(start: p, count: lineEnd - p))
            } else {
                pending.append(contentsOf: UnsafeRawBufferPointer(start: p, count: lineEnd - p))
                pending.withUnsafeBytes { emitLine($0) }
                pending.removeAll(keepingCapacity: true)
            }
            p = lineEnd + 1
        }
        flush()
    }

    func finish() {
        if !pending.isEmpty {
            stampNow()
            pending.withUnsafeBytes { emitLine($0) }
            pending.removeAll()
            flush()
        }
    }

    /// A complete line: `P` chunks for every full 16 KiB except the last piece, then `F`.
    private func emitLine(_ line: UnsafeRawBufferPointer) {
        var off = 0
        while line.count - off > Self.maxLine {
            emit(UnsafeRawBufferPointer(rebasing: line[off..<off + Self.maxLine]), tag: UInt8(ascii: "P"))
            off += Self.maxLine
        }
        emit(UnsafeRawBufferPointer(rebasing: line[off...]), tag: UInt8(ascii: "F"))
    }

    private func emitPartials(_ bytes: UnsafeRawBufferPointer) {
        var off = 0
        while off < bytes.count {
            let n = min(Self.maxLine, bytes.count - off)
            emit(UnsafeRawBufferPointer(rebasing: bytes[off..<off + n]), tag: UInt8(ascii: "P"))
            off += n
        }
    }

    private func emit(_ content: UnsafeRawBufferPointer, tag: UInt8) {
        let need = prefixLen + 2 + content.count + 1
        if outLen + need > outCap {
            flush()
            if need > outCap {
                out.deallocate()
                outCap = need
                out = .allocate(byteCount: outCap, alignment: 16)
            }
        }
        var w = out + outLen
        w.copyMemory(from: prefix, byteCount: prefixLen)
        w += prefixLen
        w.storeBytes(of: tag, as: UInt8.self)
        (w + 1).storeBytes(of: UInt8(ascii: " "), as: UInt8.self)
        w += 2
        if content.count > 0 { w.copyMemory(from: content.baseAddress!, byteCount: content.count) }
        w += content.count
        w.storeBytes(of: 0x0A, as: UInt8.self)
        outLen += need
        if let echo { echo(String(decoding: content, as: UTF8.self)) }
    }

    private func flush() {
        guard outLen > 0 else { return }
        // A full disk must not stop the container: drop the batch rather than block it.
        try? Sys.writeAll(fd, UnsafeRawBufferPointer(start: out, count: outLen))
        outLen = 0
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
            let s = String(format: "%04d-%02d-%02dT%02d:%02d:%02d.", Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1,
                           Int(tm.tm_mday), Int(tm.tm_hour), Int(tm.tm_min), Int(tm.tm_sec))
            prefix = Array(s.utf8)
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
