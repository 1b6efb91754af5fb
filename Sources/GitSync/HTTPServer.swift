import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `--http-bind`: git-sync's small HTTP endpoint. `/metrics` (with --http-metrics) is the
/// Prometheus exposition; every other path is the readiness check — 503 "repo is not ready"
/// until the first sync succeeded, then 200 — which is what startup and liveness probes hit.
/// A plain blocking accept loop on its own thread: scrapes and probes are rare, tiny requests,
/// and the binary carries no HTTP framework for them.
final class HTTPServer: Sendable {
    struct Response: Sendable {
        var status: Int
        var body: String
        var contentType = "text/plain; charset=utf-8"
    }

    let fd: Int32
    /// The port actually bound (useful with `:0`).
    let port: UInt16
    private let handler: @Sendable (String) -> Response

    /// Binds `address` (`host:port`, `:port` or `[v6]:port`, as Go's net.Listen takes it).
    init(address: String, handler: @escaping @Sendable (String) -> Response) throws {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
            throw SyncError("can't bind HTTP endpoint \(address): missing port in address")
        }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var res: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host.isEmpty ? nil : host, String(port), &hints, &res)
        guard rc == 0, let ai = res else { throw SyncError("can't bind HTTP endpoint \(address): \(String(cString: gai_strerror(rc)))") }
        defer { freeaddrinfo(res) }
        // With no host, listen on IPv6 any with v4-mapped addresses, as Go does; else IPv4 any.
        var chosen = ai.pointee
        if host.isEmpty {
            var p: UnsafeMutablePointer<addrinfo>? = ai
            while let cur = p { if cur.pointee.ai_family == AF_INET6 { chosen = cur.pointee; break }; p = cur.pointee.ai_next }
        }
        let fd = socket(chosen.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SyncError("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1, zero: Int32 = 0
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if chosen.ai_family == AF_INET6 { setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &zero, socklen_t(MemoryLayout<Int32>.size)) }
        guard bind(fd, chosen.ai_addr, chosen.ai_addrlen) == 0, listen(fd, 64) == 0 else {
            let e = String(cString: strerror(errno))
            close(fd)
            throw SyncError("can't bind HTTP endpoint \(address): \(e)")
        }
        var ss = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &ss) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let boundAddress = ss
        let bound = withUnsafePointer(to: boundAddress) { p -> UInt16 in
            boundAddress.ss_family == sa_family_t(AF_INET6)
                ? p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
                : p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        self.fd = fd
        self.port = bound
        self.handler = handler
    }

    func start() {
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "git-sync-http"
        thread.start()
    }

    private func acceptLoop() {
        while true {
            let conn = accept(fd, nil, nil)
            if conn < 0 {
                if errno == EINTR || errno == ECONNABORTED || errno == EMFILE { continue }
                return
            }
            _ = fcntl(conn, F_SETFD, FD_CLOEXEC)
            DispatchQueue.global().async { [self] in serve(conn) }
        }
    }

    private func serve(_ conn: Int32) {
        defer { close(conn) }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var request = Data()
        var buf = [UInt8](repeating: 0, count: 4096)
        while request.range(of: Data("\r\n\r\n".utf8)) == nil, request.count < 65536 {
            let n = recv(conn, &buf, buf.count, 0)
            guard n > 0 else { return }
            request.append(contentsOf: buf[0..<n])
        }
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self).split(separator: " ")
        guard line.count >= 2 else { return }
        let path = String(line[1].split(separator: "?", maxSplits: 1).first ?? "/")
        let r = handler(path)
        let body = Data(r.body.utf8)
        let reason = [200: "OK", 404: "Not Found", 503: "Service Unavailable"][r.status] ?? "Status"
        let head = "HTTP/1.1 \(r.status) \(reason)\r\nContent-Type: \(r.contentType)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        var out = Data(head.utf8)
        if line[0] != "HEAD" { out.append(body) }
        _ = out.withUnsafeBytes { send(conn, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
