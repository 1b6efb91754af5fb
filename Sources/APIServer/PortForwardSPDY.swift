import HTTPTypes
import NIOCore
import NIOHTTP1

extension PortForwardServer {
    /// Builds the session of an accepted SPDY upgrade once its connection can send.
    typealias SPDYStart = @Sendable (@escaping @Sendable (ByteBuffer) async throws -> Void) -> PortForwardSession

    /// kubectl's fallback (and `KUBECTL_PORT_FORWARD_WEBSOCKETS=false`): `POST …/portforward`
    /// with `Upgrade: SPDY/3.1` and `X-Stream-Protocol-Version: portforward.k8s.io`, answered
    /// 101 and then SPDY/3.1 straight on the connection, as the kubelet serves it. nil leaves the
    /// request to the responder (which answers a refused one with its `Status`).
    func spdyUpgrade(_ head: HTTPRequestHead) -> SPDYStart? {
        guard let runtime, head.method == .POST,
              registry.authenticate(head.headers.first(name: "authorization"), adminToken: token) != nil,
              head.headers.first(name: "upgrade")?.lowercased() == "spdy/3.1",
              head.headers[canonicalForm: "x-stream-protocol-version"].contains(where: { $0 == Self.spdyProtocol }),
              let request = PortForwardRequest(path: head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""),
              let uid = try? request.validate(registry) else { return nil }
        return { send in PortForwardSession(request: request, uid: uid, runtime: runtime, logger: .init(label: "port-forward"), send: send) }
    }

    /// The port-forward protocol's name, negotiated in `X-Stream-Protocol-Version`.
    static let spdyProtocol = "portforward.k8s.io"
}

/// The connection after an accepted SPDY upgrade: answers 101 through the HTTP encoder, takes
/// the HTTP codec out of the pipeline, and runs a `PortForwardSession` on the raw bytes. The
/// HTTP server behind it never sees the request and ends when the connection closes.
final class PortForwardSPDYHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let start: PortForwardServer.SPDYStart
    private var feed: AsyncStream<ByteBuffer>.Continuation?

    private init(start: @escaping PortForwardServer.SPDYStart) { self.start = start }

    /// Puts the handler in place of `filter` once the upgrade request is complete; the request
    /// decoder goes too, handing on any bytes that followed the request.
    static func switchProtocols(context: ChannelHandlerContext, replacing filter: UpgradeHeaderFilter, start: @escaping PortForwardServer.SPDYStart) {
        let pipeline = context.pipeline.syncOperations
        do {
            try pipeline.addHandler(PortForwardSPDYHandler(start: start), position: .after(filter))
            pipeline.removeHandler(context: context, promise: nil)
            pipeline.removeHandler(try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self), promise: nil)
        } catch {
            context.close(promise: nil)
        }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let (input, feed) = AsyncStream.makeStream(of: ByteBuffer.self)
        self.feed = feed
        var headers = HTTPHeaders()
        headers.add(name: "Connection", value: "Upgrade")
        headers.add(name: "Upgrade", value: "SPDY/3.1")
        headers.add(name: "X-Stream-Protocol-Version", value: PortForwardServer.spdyProtocol)
        let head = HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: headers)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let channel = context.channel
        let start = self.start
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.head(head))).flatMapThrowing {
            // Bytes from here on are SPDY frames, not HTTP responses.
            let pipeline = bound.value.pipeline.syncOperations
            pipeline.removeHandler(try pipeline.handler(type: HTTPResponseEncoder.self), promise: nil)
        }.whenComplete { result in
            guard case .success = result else { return channel.close(promise: nil) }
            let eventLoop = channel.eventLoop
            let session = start { bytes in
                try await eventLoop.flatSubmit { bound.value.writeAndFlush(NIOAny(bytes)) }.get()
            }
            Task {
                await session.run(input)
                try? await channel.close()
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        feed?.yield(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        feed?.finish()
        context.fireChannelInactive()
    }
}
