import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The network handlers of probes and hooks: a TCP connect and an HTTP/1.1 GET, each bounded by a
/// timeout. They run on a thread of their own so a slow peer never blocks Swift's cooperative pool.
enum NetworkChecks {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// `tcp.DoTCPProbe`: success when a connection is established within the timeout.
    static func tcpConnect(host: String, port: Int, timeout: Duration) async throws {
        try await onThread {
            let fd = try connect(host: host, port: port, timeout: timeout)
            close(fd)
        }
    }

    /// `http.DoHTTPProbe`: returns the status code (the caller decides what passes; the kubelet's
    /// probe passes 200–399, a hook only needs the request to go through). Reads at most 10 KiB.
    static func httpGet(host: String, port: Int, path: String, headers: [(String, String)], userAgent: String = "kube-probe/1.32",
                        timeout: Duration) async throws -> Int {
        try await onThread {
            let fd = try connect(host: host, port: port, timeout: timeout)
            defer { close(fd) }
            var tv = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
            if tv.tv_sec == 0 && tv.tv_usec == 0 { tv.tv_usec = 1 }
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var request = "GET \(path.isEmpty ? "/" : path) HTTP/1.1\r\n"
            var hasHost = false, hasAgent = false, hasAccept = false
            for (k, v) in headers {
                request += "\(k): \(v)\r\n"
                switch k.lowercased() {
                case "host": hasHost = true
                case "user-agent": hasAgent = true
                case "accept": hasAccept = true
                default: break
                }
            }
            if !hasHost { request += "Host: \(host.contains(":") ? "[\(host)]" : host):\(port)\r\n" }
            if !hasAgent { request += "User-Agent: \(userAgent)\r\n" }
            if !hasAccept { request += "Accept: */*\r\n" }
            request += "Connection: close\r\n\r\n"
            let bytes = Array(request.utf8)
            var sent = 0
            while sent < bytes.count {
                let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { throw Failure(description: "write: \(String(cString: strerror(errno)))") }
                sent += n
            }
            var buffer = [UInt8](repeating: 0, count: 10 * 1024)
            var got = 0
            while got < buffer.count {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, $0.count - got, 0) }
                if n < 0 {
                    if errno == EAGAIN || errno == EWOULDBLOCK { throw Failure(description: "context deadline exceeded (Client.Timeout exceeded while awaiting headers)") }
                    throw Failure(description: "read: \(String(cString: strerror(errno)))")
                }
                if n == 0 { break }
                got += n
                if buffer[0..<got].firstIndex(of: UInt8(ascii: "\n")) != nil { break }
            }
            let head = String(decoding: buffer[0..<got], as: UTF8.self)
            let parts = head.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let code = Int(parts[1]) else {
                throw Failure(description: "malformed HTTP response \(head.prefix(40).debugDescription)")
            }
            return code
        }
    }

    private static func connect(host: String, port: Int, timeout: Duration) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let ai = res else {
            throw Failure(description: "dial tcp: lookup \(host): no such host")
        }
        defer { freeaddrinfo(res) }
        let fd = socket(ai.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        let address = "\(host):\(port)"
        if Glibc.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else {
                let e = String(cString: strerror(errno))
                close(fd)
                throw Failure(description: "dial tcp \(address): connect: \(e.lowercased())")
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ms = Int32(max(1, timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000))
            let r = poll(&pfd, 1, ms)
            if r == 0 {
                close(fd)
                throw Failure(description: "dial tcp \(address): i/o timeout")
            }
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            if err != 0 {
                close(fd)
                throw Failure(description: "dial tcp \(address): connect: \(String(cString: strerror(err)).lowercased())")
            }
        }
        // Back to blocking mode for the request; timeouts come from SO_RCVTIMEO/SO_SNDTIMEO.
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags & ~Int32(O_NONBLOCK))
        return fd
    }

    private static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, Error>) in
            let thread = Thread {
                do { cont.resume(returning: try body()) } catch { cont.resume(throwing: error) }
            }
            thread.start()
        }
    }
}
