import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// One plain-HTTP/1.1 request with a deadline over SwiftNIO, for the two requests the sidecar
/// makes: the readiness `HEAD` to MinIO and the `--on-change-url` notification. Returns the
/// response status as soon as the response head arrives.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    public var host: String
    public var port: Int
    public var path: String
    public var body: String?

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// `url` must be `http://host[:port][/path]`; https is not spoken (see `ReadinessProbe`).
    public init(method: HTTPMethod, url: String, body: String? = nil) throws(Failure) {
        guard let u = URLComponents(string: url), u.scheme == "http", let host = u.host, !host.isEmpty else {
            throw Failure(description: "invalid URL \"\(url)\": expected http://host[:port][/path]")
        }
        self.method = method
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        port = u.port ?? 80
        let query = u.percentEncodedQuery.map { "?" + $0 } ?? ""
        path = (u.percentEncodedPath.isEmpty ? "/" : u.percentEncodedPath) + query
        self.body = body
    }

    public var url: String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)\(path)" }

    /// Sends the request; fails with the connection error, or with a timeout when no response
    /// head arrived within `timeout` (connection included).
    public func send(timeout: Duration) async throws(Failure) -> HTTPResponseStatus {
        let deadline = NIODeadline.now() + .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
        let request = self
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.nanoseconds(max(1, (deadline - .now()).nanoseconds)))
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                    }
                }
            // Past the deadline the channel is closed, which ends the response stream below.
            let timer = channel.channel.eventLoop.scheduleTask(deadline: deadline) { channel.channel.close(promise: nil) }
            defer { timer.cancel() }
            return try await channel.executeThenClose { inbound, outbound in
                var headers = HTTPHeaders()
                headers.add(name: "Host", value: request.port == 80 ? request.host : "\(request.host):\(request.port)")
                headers.add(name: "User-Agent", value: "tandem-sidecar-config")
                headers.add(name: "Connection", value: "close")
                let bodyBytes = request.body.map { ByteBuffer(string: $0) }
                if request.method != .HEAD && request.method != .GET {
                    headers.add(name: "Content-Length", value: "\(bodyBytes?.readableBytes ?? 0)")
                }
                try await outbound.write(.head(HTTPRequestHead(version: .http1_1, method: request.method, uri: request.path, headers: headers)))
                if let bodyBytes { try await outbound.write(.body(.byteBuffer(bodyBytes))) }
                try await outbound.write(.end(nil))
                for try await part in inbound {
                    if case .head(let head) = part { return head.status }
                }
                throw Failure(description: NIODeadline.now() >= deadline
                    ? "\(request.method) \(request.url): timeout after \(timeout)"
                    : "\(request.method) \(request.url): connection closed before a response")
            }
        } catch let f as Failure {
            throw f
        } catch {
            if NIODeadline.now() >= deadline { throw Failure(description: "\(method) \(url): timeout after \(timeout)") }
            throw Failure(description: "\(method) \(url): \(Self.describe(error))")
        }
    }

    /// NIO's errors in a line a person reads: `connect 127.0.0.1:9000: Connection refused`.
    static func describe(_ error: any Error) -> String {
        if let e = error as? NIOConnectionError {
            if let first = e.connectionErrors.first { return "connect \(Self.address(first.target)): \(describe(first.error))" }
            if let dns = e.dnsAError ?? e.dnsAAAAError { return "lookup \(e.host): \(dns)" }
            return "connect \(e.host):\(e.port) failed"
        }
        if let e = error as? IOError { return String(cString: strerror(e.errnoCode)) }
        if error is ChannelError, case .connectTimeout = error as! ChannelError { return "connect timeout" }
        return "\(error)"
    }

    static func address(_ a: SocketAddress) -> String {
        guard let ip = a.ipAddress, let port = a.port else { return "\(a)" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}
