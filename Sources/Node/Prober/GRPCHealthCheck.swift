import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The kubelet's gRPC probe: one `grpc.health.v1.Health/Check` call over cleartext HTTP/2
/// (prior knowledge), success when the answer is `SERVING`. Written against the wire format so the
/// prober needs no gRPC stack: a preface, SETTINGS, one HEADERS and one DATA frame out, frames read
/// back until the response message arrives.
enum GRPCHealthCheck {
    static func check(host: String, port: Int, service: String, timeout: Duration) async throws -> Bool {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Bool, Error>) in
            Thread {
                do { cont.resume(returning: try run(host: host, port: port, service: service, timeout: timeout)) } catch { cont.resume(throwing: error) }
            }.start()
        }
    }

    private static func frame(type: UInt8, flags: UInt8, stream: UInt32, payload: [UInt8]) -> [UInt8] {
        let n = payload.count
        return [UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff), type, flags,
                UInt8(stream >> 24 & 0x7f), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)] + payload
    }

    /// HPACK "literal header field without indexing — new name", no Huffman coding.
    private static func literal(_ name: String, _ value: String) -> [UInt8] {
        [0x00, UInt8(name.utf8.count)] + Array(name.utf8) + [UInt8(value.utf8.count)] + Array(value.utf8)
    }

    private static func run(host: String, port: Int, service: String, timeout: Duration) throws -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let ai = res else { throw NetworkChecks.Failure(description: "no such host \(host)") }
        defer { freeaddrinfo(res) }
        let fd = socket(ai.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw NetworkChecks.Failure(description: "socket failed") }
        defer { close(fd) }
        var tv = timeval(tv_sec: max(1, Int(timeout.components.seconds)), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard Glibc.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 else {
            throw NetworkChecks.Failure(description: "connection refused")
        }
        var out = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
        out += frame(type: 0x4, flags: 0, stream: 0, payload: [])
        let headers = literal(":method", "POST") + literal(":scheme", "http") + literal(":path", "/grpc.health.v1.Health/Check")
            + literal(":authority", "\(host):\(port)") + literal("content-type", "application/grpc") + literal("te", "trailers")
        out += frame(type: 0x1, flags: 0x4, stream: 1, payload: headers)
        let request: [UInt8] = service.isEmpty ? [] : [0x0a, UInt8(service.utf8.count)] + Array(service.utf8)
        let message: [UInt8] = [0, 0, 0, 0, UInt8(request.count)] + request
        out += frame(type: 0x0, flags: 0x1, stream: 1, payload: message)
        try writeAll(fd, out)

        while true {
            let head = try readExactly(fd, 9)
            let length = Int(head[0]) << 16 | Int(head[1]) << 8 | Int(head[2])
            let type = head[3], flags = head[4]
            let stream = UInt32(head[5] & 0x7f) << 24 | UInt32(head[6]) << 16 | UInt32(head[7]) << 8 | UInt32(head[8])
            var payload = try readExactly(fd, length)
            switch type {
            case 0x4 where flags & 0x1 == 0:
                try writeAll(fd, frame(type: 0x4, flags: 0x1, stream: 0, payload: []))
            case 0x0 where stream == 1:
                if flags & 0x8 != 0, let pad = payload.first { payload = Array(payload.dropFirst().dropLast(Int(pad))) }
                guard payload.count >= 5 else { continue }
                let body = payload.dropFirst(5)
                // HealthCheckResponse { ServingStatus status = 1; } — SERVING is 1.
                if body.count >= 2, body[body.startIndex] == 0x08 { return body[body.startIndex + 1] == 1 }
                return false
            case 0x1 where stream == 1 && flags & 0x1 != 0, 0x3 where stream == 1:
                throw NetworkChecks.Failure(description: "rpc error: the server ended the call without a response")
            case 0x7:
                throw NetworkChecks.Failure(description: "connection closed by the server (GOAWAY)")
            default:
                continue
            }
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw NetworkChecks.Failure(description: "write failed") }
            sent += n
        }
    }

    private static func readExactly(_ fd: Int32, _ count: Int) throws -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, count - got, 0) }
            guard n > 0 else { throw NetworkChecks.Failure(description: n == 0 ? "connection closed" : "i/o timeout") }
            got += n
        }
        return buf
    }
}
