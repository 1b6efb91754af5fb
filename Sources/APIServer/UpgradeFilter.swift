import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Lets a request that asks for an upgrade the server does not offer reach the responder as a
/// plain request. swift-nio's typed upgrade handler drops the head of such a request (it
/// buffers only what follows), so the connection would just close; kubectl's SPDY fallback for
/// exec (`POST …/exec` with `Upgrade: SPDY/3.1`) must instead get the error `Status` that
/// kubectl prints.
///
/// A request for the served protocol that the upgrade hook would refuse (a missing pod) is let
/// through the same way: swift-nio would answer it with a bare 400, where the API server
/// answers with the `Status` (404 NotFound) that the plain request gets.
struct UnservedUpgradeFilter<Base: ServerChildChannel>: ServerChildChannel {
    let base: Base
    /// The one protocol that is upgraded (lower-case).
    let served: String
    /// Whether the upgrade hook refuses this request for the served protocol.
    let refused: @Sendable (HTTPRequestHead) -> Bool
    /// A SPDY/3.1 upgrade this server takes over itself (`kubectl port-forward`'s fallback).
    let spdy: @Sendable (HTTPRequestHead) -> PortForwardServer.SPDYStart?

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Base.Value> {
        let (served, refused, spdy) = (self.served, self.refused, self.spdy)
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try pipeline.addHandler(UpgradeHeaderFilter(served: served, refused: refused, spdy: spdy), position: .after(decoder))
            return value
        }
    }

    func handle(value: Base.Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Strips `Upgrade` (and its `Connection` token) from the first request head when it names
/// another protocol or would be refused, then leaves the pipeline (unless it hands the
/// connection to SPDY): the upgrade decision is made on that head.
final class UpgradeHeaderFilter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    let served: String
    let refused: @Sendable (HTTPRequestHead) -> Bool
    let spdy: @Sendable (HTTPRequestHead) -> PortForwardServer.SPDYStart?
    /// A SPDY upgrade being taken over: the rest of its request is swallowed.
    private var takingOver: PortForwardServer.SPDYStart?

    init(served: String, refused: @escaping @Sendable (HTTPRequestHead) -> Bool,
         spdy: @escaping @Sendable (HTTPRequestHead) -> PortForwardServer.SPDYStart?) {
        self.served = served
        self.refused = refused
        self.spdy = spdy
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if let start = takingOver {
            if case .end = part { PortForwardSPDYHandler.switchProtocols(context: context, replacing: self, start: start) }
            return
        }
        if case .head(let head) = part, let start = spdy(head) {
            takingOver = start
            return
        }
        defer { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
        guard case .head(var head) = part,
              let requested = head.headers.first(name: "upgrade"), requested.lowercased() != served || refused(head) else {
            context.fireChannelRead(data)
            return
        }
        head.headers.remove(name: "upgrade")
        let connection = head.headers[canonicalForm: "connection"].filter { $0.lowercased() != "upgrade" }
        head.headers.remove(name: "connection")
        for token in connection { head.headers.add(name: "connection", value: String(token)) }
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }
}
