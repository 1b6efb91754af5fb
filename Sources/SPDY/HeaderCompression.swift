import CZlib
import NIOCore

/// SPDY/3's header compression: each direction of a connection is one zlib stream, primed
/// with the protocol's dictionary, flushed (Z_SYNC_FLUSH) after every header block so the
/// block can be decoded on arrival. The state carries over from block to block, so a
/// connection has exactly one deflater and one inflater, used in frame order.
enum HeaderDictionary {
    /// The SPDY/3 dictionary (draft 3, §2.6.10.1): header names and common values, each
    /// length-prefixed like a header block, then common value fragments run together.
    /// 1423 bytes; its Adler-32 (0xe3c6a7c2) is the dictionary id Go's zlib reader checks.
    static let bytes: [UInt8] = {
        let words = [
            "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding",
            "accept-language", "accept-ranges", "age", "allow", "authorization", "cache-control", "connection",
            "content-base", "content-encoding", "content-language", "content-length", "content-location", "content-md5",
            "content-range", "content-type", "date", "etag", "expect", "expires", "from", "host", "if-match",
            "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified", "location",
            "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer", "retry-after",
            "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via", "warning",
            "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url", "public",
            "set-cookie", "keep-alive", "origin",
        ]
        let tail = "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
            + "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
            + "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
            + "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
            + "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
            + "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
        var out: [UInt8] = []
        for word in words {
            let count = UInt32(word.utf8.count)
            out += [UInt8(count >> 24), UInt8(count >> 16 & 0xff), UInt8(count >> 8 & 0xff), UInt8(count & 0xff)]
            out += Array(word.utf8)
        }
        return out + Array(tail.utf8)
    }()
}

public struct SPDYCompressionError: Error, CustomStringConvertible {
    public let description: String
}

/// One zlib stream in one direction. Not Sendable: it belongs to the one task that reads (or
/// writes) the connection's frames, in order.
final class ZlibStream {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private let inflating: Bool

    init(inflating: Bool) throws(SPDYCompressionError) {
        self.inflating = inflating
        stream.initialize(to: z_stream())
        if inflating {
            guard czlib_inflate_init(stream) == Z_OK else { throw SPDYCompressionError(description: "inflateInit failed") }
        } else {
            // Go's spdy framer compresses at BestCompression; any level reads the same.
            guard czlib_deflate_init(stream, Z_BEST_COMPRESSION) == Z_OK else { throw SPDYCompressionError(description: "deflateInit failed") }
            let status = HeaderDictionary.bytes.withUnsafeBufferPointer {
                deflateSetDictionary(stream, $0.baseAddress, UInt32($0.count))
            }
            guard status == Z_OK else { throw SPDYCompressionError(description: "deflateSetDictionary failed") }
        }
    }

    deinit {
        if inflating { inflateEnd(stream) } else { deflateEnd(stream) }
        stream.deallocate()
    }

    /// Runs all of `input` through the stream with a sync flush and returns what comes out.
    func process(_ input: [UInt8]) throws(SPDYCompressionError) -> [UInt8] {
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var input = input
        let count = input.count
        return try input.withUnsafeMutableBufferPointer { (inBuf) throws(SPDYCompressionError) -> [UInt8] in
            stream.pointee.next_in = inBuf.baseAddress
            stream.pointee.avail_in = UInt32(count)
            defer { stream.pointee.next_in = nil }
            while true {
                let (status, produced) = chunk.withUnsafeMutableBufferPointer { out -> (Int32, Int) in
                    stream.pointee.next_out = out.baseAddress
                    stream.pointee.avail_out = UInt32(out.count)
                    let status = inflating ? inflate(stream, Z_SYNC_FLUSH) : deflate(stream, Z_SYNC_FLUSH)
                    return (status, out.count - Int(stream.pointee.avail_out))
                }
                output += chunk[0..<produced]
                switch status {
                case Z_NEED_DICT where inflating:
                    let set = HeaderDictionary.bytes.withUnsafeBufferPointer {
                        inflateSetDictionary(stream, $0.baseAddress, UInt32($0.count))
                    }
                    guard set == Z_OK else { throw SPDYCompressionError(description: "the header block's dictionary is not SPDY/3's") }
                case Z_OK, Z_BUF_ERROR, Z_STREAM_END:
                    // Done once the input is consumed and the last round left room in the output:
                    // nothing more is pending inside zlib.
                    if stream.pointee.avail_in == 0 && produced < chunk.count { return output }
                    if status == Z_BUF_ERROR && produced == 0 { return output }
                default:
                    throw SPDYCompressionError(description: "zlib error \(status) in a header block")
                }
            }
        }
    }
}
