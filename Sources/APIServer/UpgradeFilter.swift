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

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Base.Value> {
        let (served, refused) = (self.served, self.refused)
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try pipeline.addHandler(UpgradeHeaderFilter(served: served, refused: refused), position: .after(decoder))
            return value
        }
    }

    func handle(value: Base.Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Strips `Upgrade` (and its `Connection` token) from the first request head when it names
/// another protocol or would be refused, then leaves the pipeline: the upgrade decision is made on that head.
final class UpgradeHeaderFilter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    let served: String
    let refused: @Sendable (HTTPRequestHead) -> Bool
    init(served: String, refused: @escaping @Sendable (HTTPRequestHead) -> Bool) {
        self.served = served
        self.refused = refused
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        defer { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
        guard case .head(var head) = unwrapInboundIn(data),
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
