import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A plain-HTTP/1.1 POST over a socket: one connection per request (`Connection: close`), a
/// `Content-Length` body, the status line and headers parsed, the body read to the end. That is
/// all a log push needs; it keeps the sidecar free of an HTTP stack that takes longer to build
/// than the rest of Tandem. No TLS: `https://` URLs are refused at start, not half-supported
/// (terminate TLS in a proxy beside the pod, or use a receiver on the pod network).
///
/// Blocking calls with send/receive timeouts, run on a thread of their own (`onThread`), so a
/// slow receiver never holds one of Swift concurrency's few cooperative threads.
public struct HTTPEndpoint: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var path: String

    public struct URLError: Error, CustomStringConvertible {
        public var description: String
    }

    public init(host: String, port: Int, path: String) {
        self.host = host
        self.port = port
        self.path = path
    }

    /// Parses `http://host[:port]/path`.
    public init(_ url: String) throws {
        guard url.hasPrefix("http://") else {
            if url.hasPrefix("https://") {
                throw URLError(description: "\(url): https is not supported by the built-in HTTP client; use http:// (for TLS, a proxy beside the pod)")
            }
            throw URLError(description: "\(url): not an http:// URL")
        }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        path = rest.count > authority.count ? String(rest.dropFirst(authority.count)) : "/"
        if authority.isEmpty { throw URLError(description: "\(url): no host") }
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw URLError(description: "\(url): unclosed IPv6 address") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            port = after.isEmpty ? 80 : try Self.port(after.dropFirst(), url)
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            port = try Self.port(authority[authority.index(after: colon)...], url)
        } else {
            host = String(authority)
            port = 80
        }
        if host.isEmpty { throw URLError(description: "\(url): no host") }
    }

    private static func port(_ s: Substring, _ url: String) throws -> Int {
        guard let p = Int(s), (1...65535).contains(p) else { throw URLError(description: "\(url): bad port '\(s)'") }
        return p
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var body: [UInt8]
}

public enum HTTPPost {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static func send(_ endpoint: HTTPEndpoint, contentType: String, body: [UInt8], timeout: Int = 10) async throws -> HTTPResponse {
        try await onThread { try sendBlocking(endpoint, contentType: contentType, body: body, timeout: timeout) }
    }

    private static func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { cont in
            let thread = Thread { cont.resume(with: Result { try work() }) }
            thread.start()
        }
    }

    static func sendBlocking(_ endpoint: HTTPEndpoint, contentType: String, body: [UInt8], timeout: Int) throws -> HTTPResponse {
        let fd = try connect(endpoint, timeout: timeout)
        defer { close(fd) }
        let hostHeader = endpoint.host.contains(":") ? "[\(endpoint.host)]:\(endpoint.port)" : "\(endpoint.host):\(endpoint.port)"
        let head = "POST \(endpoint.path) HTTP/1.1\r\nHost: \(hostHeader)\r\nUser-Agent: tandem-sidecar-logs\r\n"
            + "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        do {
            try Array(head.utf8).withUnsafeBytes { try FD.writeAll(fd, $0, socket: true) }
            try body.withUnsafeBytes { try FD.writeAll(fd, $0, socket: true) }
        } catch {
            throw Failure(description: "sending to \(hostHeader): \(error)")
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "reading the response from \(hostHeader): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            response.append(contentsOf: buffer[0..<n])
        }
        return try parse(response, from: hostHeader)
    }

    /// Status and body of a complete response (read until the server closed the connection).
    static func parse(_ response: [UInt8], from host: String) throws -> HTTPResponse {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let headEnd = response.firstRange(of: separator) else {
            throw Failure(description: "\(host) closed the connection without a complete HTTP response")
        }
        let head = String(decoding: response[..<headEnd.lowerBound], as: UTF8.self)
        let statusLine = head.prefix { $0 != "\r" }
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw Failure(description: "\(host) sent no HTTP status line (got '\(statusLine.prefix(80))')")
        }
        var body = Array(response[headEnd.upperBound...])
        if head.lowercased().contains("transfer-encoding: chunked") { body = dechunk(body) }
        return HTTPResponse(status: status, body: body)
    }

    /// A chunked body, reassembled (only used to look at error messages and `_bulk` results).
    static func dechunk(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < data.count {
            guard let lineEnd = data[i...].firstRange(of: [13, 10]) else { break }
            let sizeText = String(decoding: data[i..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size > 0 else { break }
            let start = lineEnd.upperBound
            out.append(contentsOf: data[start..<min(start + size, data.count)])
            i = start + size + 2
        }
        return out
    }

    private static func connect(_ endpoint: HTTPEndpoint, timeout: Int) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
        guard rc == 0, let first = list else {
            throw Failure(description: "cannot resolve \(endpoint.host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            ai = a.pointee.ai_next
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), a.pointee.ai_protocol)
            if fd < 0 { continue }
            var tv = timeval(tv_sec: timeout, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { return fd }
            lastError = String(cString: strerror(errno))
            close(fd)
        }
        throw Failure(description: "cannot connect to \(endpoint.host):\(endpoint.port): \(lastError)")
    }
}
