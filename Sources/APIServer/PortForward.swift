import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import KubeAPI
import Logging
import NIOCore
import NIOPosix
import SPDY

/// Why the node could not forward a connection: the kubelet's text, which reaches kubectl on
/// the connection's error stream.
public struct PortForwardError: Error, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// `kubectl port-forward`'s request: `…/pods/P/portforward` (the ports travel in each
/// stream's headers, not in the URL).
struct PortForwardRequest: Sendable {
    var namespace: String
    var pod: String

    /// The subprotocol kubectl 1.32 asks for first: SPDY/3.1 carried in WebSocket binary
    /// messages (client-go's tunneling dialer), the port-forward protocol inside.
    static let tunnelledProtocol = "SPDY/3.1+portforward.k8s.io"

    init?(path: String) {
        let segments = path.split(separator: "/").map(String.init)
        guard segments.count == 7, segments[0] == "api", segments[1] == "v1", segments[2] == "namespaces",
              segments[4] == "pods", segments[6] == "portforward" else { return nil }
        namespace = segments[3]
        pod = segments[5]
    }

    /// The API server's checks before it connects to the node (`PortForwardLocation`): the pod
    /// exists and is bound to a node. Returns the pod's uid.
    func validate(_ registry: Registry) throws(APIError) -> String {
        let object = try registry.get(.pods, namespace: namespace, name: pod)
        guard let decoded = try? object.decode(Pod.self) else { throw APIError.badRequest("pod \"\(pod)\" cannot be read") }
        guard let node = decoded.spec.nodeName, !node.isEmpty else {
            throw APIError.badRequest("pod \(pod) does not have a host assigned")
        }
        return decoded.uid
    }
}

/// The streaming server for `kubectl port-forward`, the kubelet's part and the API server's in
/// one, as for exec. kubectl 1.32 first asks for a WebSocket upgrade offering
/// `SPDY/3.1+portforward.k8s.io` and then runs an ordinary SPDY/3.1 client connection over
/// the WebSocket's binary messages (the API server's stream tunnel does the same towards the
/// kubelet's SPDY server). A request that fails the API server's checks is not upgraded;
/// kubectl's SPDY fallback (a POST with `Upgrade: SPDY/3.1`) then gets the same `Status`.
struct PortForwardServer: Sendable {
    let registry: Registry
    let token: String
    let runtime: (any StreamingRuntime)?

    func shouldUpgrade(_ head: HTTPRequest) -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        guard let runtime, head.method == .get,
              registry.authenticate(head.headerFields[.authorization], adminToken: token) != nil else { return .dontUpgrade }
        let path = (head.path ?? "").split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
        guard let request = PortForwardRequest(path: path), let uid = try? request.validate(registry) else { return .dontUpgrade }
        let offered = head.headerFields[values: .secWebSocketProtocol]
            .flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        guard offered.contains(PortForwardRequest.tunnelledProtocol) else { return .dontUpgrade }
        var headers = HTTPFields()
        headers[.secWebSocketProtocol] = PortForwardRequest.tunnelledProtocol
        return .upgrade(headers) { inbound, outbound, context in
            let session = PortForwardSession(request: request, uid: uid, runtime: runtime, logger: context.logger) { bytes in
                try await outbound.write(.binary(bytes))
            }
            await session.run(inbound.messages(maxSize: 1 << 20).compactMap { message -> ByteBuffer? in
                guard case .binary(let data) = message else { return nil }
                return data
            })
            try? await outbound.close(.normalClosure, reason: nil)
        }
    }

    /// Lets `PortForwardServer` and `ExecServer` share the one upgrade hook: by path.
    static func isPortForward(_ head: HTTPRequest) -> Bool {
        (head.path ?? "").split(separator: "?", maxSplits: 1).first?.hasSuffix("/portforward") ?? false
    }
}

/// One SPDY connection carrying the kubelet's port-forward protocol
/// (`pkg/kubelet/cri/streaming/portforward/httpstream.go`): for each client connection kubectl
/// opens an `error` stream and a `data` stream with the same `requestID` and `port` headers;
/// once both are there the node connects to the port and the data stream carries the bytes
/// both ways. A failure is written as text on the error stream; both streams then end (FIN),
/// as the kubelet closes them.
struct PortForwardSession: Sendable {
    let request: PortForwardRequest
    let uid: String
    let runtime: any StreamingRuntime
    let logger: Logger
    /// Writes bytes of the SPDY connection to the client (one WebSocket message each).
    let send: @Sendable (ByteBuffer) async throws -> Void

    /// After one direction of a forwarded connection ends, how long the other may go on before
    /// both are closed (containerd's `portForward` gives it a second, as socat does).
    static let halfCloseGrace = Duration.seconds(1)

    /// The two streams of one forwarded connection, as they arrive.
    private struct Pair {
        var port: UInt16
        var error: UInt32?
        var data: UInt32?
        /// The client's bytes for the data stream, from its arrival (before the node connects).
        var input: AsyncStream<ByteBuffer>?
    }

    /// Reads the client's SPDY connection until it ends; every forwarded connection ends with it.
    func run<Input: AsyncSequence>(_ input: Input) async where Input.Element == ByteBuffer {
        let encoder: SPDYFrameEncoder
        var decoder: SPDYFrameDecoder
        do {
            encoder = try SPDYFrameEncoder()
            decoder = try SPDYFrameDecoder()
        } catch {
            logger.error("port-forward: \(error)")
            return
        }
        var pairs: [String: Pair] = [:]
        /// The data streams' inputs and forwarding tasks, by stream id.
        var feeds: [UInt32: AsyncStream<ByteBuffer>.Continuation] = [:]
        var forwards: [UInt32: Task<Void, Never>] = [:]
        do {
            reading: for try await bytes in input {
                decoder.feed(bytes)
                while let frame = try decoder.next() {
                    switch frame {
                    case .synStream(let id, _, let headers):
                        guard let (key, type, port) = streamHeaders(headers, id: id) else {
                            try await send(SPDYFrameEncoder.encode(.rstStream(streamID: id, status: .refusedStream)))
                            continue
                        }
                        // spdystream answers every accepted stream before the handler uses it.
                        try await send(try encoder.encode(.synReply(streamID: id, fin: false, headers: SPDYHeaders())))
                        var pair = pairs[key] ?? Pair(port: port)
                        if type == "error" { pair.error = id } else {
                            let (stream, feed) = AsyncStream.makeStream(of: ByteBuffer.self)
                            pair.data = id
                            pair.input = stream
                            feeds[id] = feed
                        }
                        guard let errorID = pair.error, let dataID = pair.data, let stream = pair.input else {
                            pairs[key] = pair
                            continue
                        }
                        pairs[key] = nil
                        forwards[dataID] = Task { await forward(port: pair.port, errorStream: errorID, dataStream: dataID, input: stream) }
                    case .data(let id, let fin, let payload):
                        if payload.readableBytes > 0 { feeds[id]?.yield(payload) }
                        if fin { feeds.removeValue(forKey: id)?.finish() }
                    case .rstStream(let id, _):
                        feeds.removeValue(forKey: id)?.finish()
                        forwards.removeValue(forKey: id)?.cancel()
                    case .ping(let id):
                        try await send(SPDYFrameEncoder.encode(.ping(id: id)))
                    case .goAway:
                        break reading
                    case .synReply, .headers, .settings, .windowUpdate:
                        // No server-initiated streams; flow control windows are not kept
                        // (spdystream, kubectl's side, neither sends nor honours them).
                        break
                    }
                }
            }
        } catch {
            logger.debug("port-forward connection ended: \(error)")
        }
        // Every forwarded connection ends with the client's connection, its pod socket closed.
        for feed in feeds.values { feed.finish() }
        for task in forwards.values { task.cancel() }
        for task in forwards.values { await task.value }
    }

    /// The pairing key, stream type and port of a new stream, checked as the kubelet's
    /// `httpStreamReceived` checks them; nil refuses the stream.
    private func streamHeaders(_ headers: SPDYHeaders, id: UInt32) -> (String, String, UInt16)? {
        guard let portText = headers["port"], let port = UInt16(portText), port > 0,
              let type = headers["streamType"], type == "error" || type == "data" else { return nil }
        // Clients older than requestID pair a data stream with the error stream just before it.
        let key = headers["requestID"] ?? String(type == "error" ? id : id - 2)
        return (key, type, port)
    }

    /// One forwarded connection: connect in the pod, copy both ways, then end both streams.
    private func forward(port: UInt16, errorStream: UInt32, dataStream: UInt32, input: AsyncStream<ByteBuffer>) async {
        do {
            let fd = try await runtime.portForward(namespace: request.namespace, pod: request.pod, uid: uid, port: port)
            try await copy(fd: fd, dataStream: dataStream, input: input)
        } catch let error as PortForwardError {
            try? await send(SPDYFrameEncoder.encode(.data(streamID: errorStream, fin: false, payload: ByteBuffer(string: error.message))))
        } catch {
            logger.debug("port-forward to \(port): \(error)")
        }
        // The kubelet's deferred Close of the error stream, then of the data stream.
        try? await send(SPDYFrameEncoder.encode(.data(streamID: errorStream, fin: true, payload: ByteBuffer())))
        try? await send(SPDYFrameEncoder.encode(.data(streamID: dataStream, fin: true, payload: ByteBuffer())))
    }

    private func copy(fd: Int32, dataStream: UInt32, input: AsyncStream<ByteBuffer>) async throws {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).withConnectedSocket(fd) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel,
                                                            configuration: .init(isOutboundHalfClosureEnabled: true))
            }
        }
        try await channel.executeThenClose { podOutput, podInput in
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        for try await chunk in podOutput {
                            try await send(SPDYFrameEncoder.encode(.data(streamID: dataStream, fin: false, payload: chunk)))
                        }
                    } catch {
                        logger.trace("port-forward pod output ended: \(error)")
                    }
                }
                group.addTask {
                    do {
                        for await chunk in input { try await podInput.write(chunk) }
                    } catch {
                        logger.trace("port-forward pod input ended: \(error)")
                    }
                    podInput.finish()
                }
                await group.next()
                group.addTask { try? await Task.sleep(for: Self.halfCloseGrace) }
                await group.next()
                group.cancelAll()
            }
        }
    }
}

extension Handler {
    /// A port-forward request that reached plain HTTP: neither upgrade (WebSocket, SPDY) took
    /// it. The same checks give the same `Status` (a missing pod's 404 for both of kubectl's
    /// transports); a request that passes them asked for no upgrade, which the API server's
    /// upgrade-aware proxy refuses with `Upgrade request required`.
    func portForwardRefusal(_ request: Request) throws(APIError) -> Response {
        guard let forward = PortForwardRequest(path: request.uri.path) else { throw APIError.pathNotFound }
        _ = try forward.validate(registry)
        throw APIError.badRequest("Upgrade request required")
    }
}
