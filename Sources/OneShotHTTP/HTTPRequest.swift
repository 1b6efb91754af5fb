import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// One plain-HTTP/1.1 request with a deadline over SwiftNIO, for the sidecars' notifications:
/// the config sidecar's readiness `HEAD` to MinIO and its `--on-change-url` POST, and
/// git-sync's `--webhook-url`. Returns the response status (and, when asked, the start of the
/// body) without waiting for more of the response than that.
public struct OneShotRequest: Sendable {
    public var method: HTTPMethod
    public var host: String
    public var port: Int
    public var path: String
    public var body: String?
    public var headers: [(name: String, value: String)]
    public var userAgent: String

    /// The status, and up to `bodyLimit` bytes of the body when `send` was asked for it.
    public struct Response: Sendable {
        public var status: HTTPResponseStatus
        public var body: Data
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// `url` must be `http://host[:port][/path]`; https is not spoken (see `ReadinessProbe`).
    public init(method: HTTPMethod, url: String, body: String? = nil, headers: [(name: String, value: String)] = [],
                userAgent: String = "tandem-sidecar-config") throws(Failure) {
        guard let u = URLComponents(string: url), u.scheme == "http", let host = u.host, !host.isEmpty else {
            throw Failure(description: "invalid URL \"\(url)\": expected http://host[:port][/path]")
        }
        self.method = method
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        port = u.port ?? 80
        let query = u.percentEncodedQuery.map { "?" + $0 } ?? ""
        path = (u.percentEncodedPath.isEmpty ? "/" : u.percentEncodedPath) + query
        self.body = body
        self.headers = headers
        self.userAgent = userAgent
    }

    public var url: String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)\(path)" }

    /// Sends the request; fails with the connection error, or with a timeout when no response
    /// head arrived within `timeout` (connection included).
    public func send(timeout: Duration) async throws(Failure) -> HTTPResponseStatus {
        try await send(timeout: timeout, bodyLimit: 0).status
    }

    /// Sends the request and reads the response until its end, the connection's, or `bodyLimit`
    /// bytes of body (0: the head only).
    public func send(timeout: Duration, bodyLimit: Int) async throws(Failure) -> Response {
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
                headers.add(name: "User-Agent", value: request.userAgent)
                headers.add(name: "Connection", value: "close")
                for (name, value) in request.headers { headers.add(name: name, value: value) }
                let bodyBytes = request.body.map { ByteBuffer(string: $0) }
                if request.method != .HEAD && request.method != .GET {
                    headers.add(name: "Content-Length", value: "\(bodyBytes?.readableBytes ?? 0)")
                }
                try await outbound.write(.head(HTTPRequestHead(version: .http1_1, method: request.method, uri: request.path, headers: headers)))
                if let bodyBytes { try await outbound.write(.body(.byteBuffer(bodyBytes))) }
                try await outbound.write(.end(nil))
                var status: HTTPResponseStatus?
                var body = Data()
                for try await part in inbound {
                    switch part {
                    case .head(let head):
                        if bodyLimit == 0 { return Response(status: head.status, body: Data()) }
                        status = head.status
                    case .body(let bytes):
                        body.append(contentsOf: bytes.readableBytesView.prefix(bodyLimit - body.count))
                        if let status, body.count >= bodyLimit { return Response(status: status, body: body) }
                    case .end:
                        if let status { return Response(status: status, body: body) }
                    }
                }
                if let status { return Response(status: status, body: body) }
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
    public static func describe(_ error: any Error) -> String {
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
