import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `--webhook-url`: after each publish, one HTTP request (default POST) carrying the hash in the
/// `Gitsync-Hash` header; success is the configured status (0: any answer). Plain HTTP/1.1 over
/// a socket: the binary carries no TLS stack, so `https://` is refused when the flags are read.
struct Webhook: Hook {
    let name = "webhook"
    let url: HTTPURL
    let method: String
    let successStatus: Int
    let timeout: Duration
    let log: Logger

    func run(hash: String) async throws {
        log.info(0, "sending webhook", ("hash", hash), ("url", url.text), ("method", method), ("timeout", "\(timeout)"))
        let request = "\(method) \(url.path) HTTP/1.1\r\nHost: \(url.hostHeader)\r\nUser-Agent: git-sync (tandem)\r\n"
            + "Gitsync-Hash: \(hash)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        let (status, body) = try await HTTPClient.exchange(host: url.host, port: url.port, request: Data(request.utf8), timeout: timeout)
        if successStatus > 0 && status != successStatus {
            throw SyncError("received response code \(status) expected \(successStatus), body: \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
        log.info(1, "webhook succeeded", ("hash", hash), ("status", status))
    }
}

/// An `http://host[:port]/path` URL, split the way the request line and socket need it.
struct HTTPURL: Sendable {
    var text: String
    var host: String
    var port: UInt16
    var path: String
    var hostHeader: String { port == 80 ? host : "\(host):\(port)" }

    init?(_ s: String) {
        guard let c = URLComponents(string: s), c.scheme?.lowercased() == "http", let host = c.host, !host.isEmpty else { return nil }
        text = s
        self.host = host
        port = UInt16(c.port ?? 80)
        var p = c.percentEncodedPath.isEmpty ? "/" : c.percentEncodedPath
        if let q = c.percentEncodedQuery { p += "?" + q }
        path = p
    }
}

/// One request, one response, connection closed: enough for a notification hook.
enum HTTPClient {
    /// Sends `request` and reads until the server closes; returns the status and the body.
    static func exchange(host: String, port: UInt16, request: Data, timeout: Duration) async throws -> (Int, Data) {
        try await withCheckedThrowingContinuation { c in
            DispatchQueue.global().async {
                c.resume(with: Result { try blockingExchange(host: host, port: port, request: request, timeout: timeout) })
            }
        }
    }

    private static func blockingExchange(host: String, port: UInt16, request: Data, timeout: Duration) throws -> (Int, Data) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &res)
        guard rc == 0, let first = res else { throw SyncError("dial tcp \(host):\(port): lookup failed: \(String(cString: gai_strerror(rc)))") }
        defer { freeaddrinfo(res) }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SyncError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        // SO_SNDTIMEO also bounds connect(2) on Linux; SO_RCVTIMEO bounds each read.
        var tv = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            throw SyncError("dial tcp \(host):\(port): \(String(cString: strerror(errno)))")
        }
        let sent = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == request.count else { throw SyncError("write to \(host):\(port): \(String(cString: strerror(errno)))") }
        var response = Data()
        var buf = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n == 0 { break }
            guard n > 0 else {
                throw SyncError(errno == EAGAIN ? "webhook to \(host):\(port) timed out after \(timeout)" : "read from \(host):\(port): \(String(cString: strerror(errno)))")
            }
            response.append(contentsOf: buf[0..<n])
        }
        return try parseResponse(response)
    }

    /// The status code from `HTTP/1.x NNN reason`, and the bytes after the header.
    static func parseResponse(_ data: Data) throws -> (Int, Data) {
        guard let headerEnd = data.range(of: Data("\r\n\r\n".utf8)) else { throw SyncError("malformed HTTP response") }
        let head = String(decoding: data[..<headerEnd.lowerBound], as: UTF8.self)
        let statusLine = head.split(separator: "\r\n").first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw SyncError("malformed HTTP status line: \(statusLine)")
        }
        return (status, Data(data[headerEnd.upperBound...]))
    }
}
