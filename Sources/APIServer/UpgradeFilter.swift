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
struct UnservedUpgradeFilter<Base: ServerChildChannel>: ServerChildChannel {
    let base: Base
    /// The one protocol that is upgraded (lower-case).
    let served: String

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Base.Value> {
        let served = self.served
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try pipeline.addHandler(UpgradeHeaderFilter(served: served), position: .after(decoder))
            return value
        }
    }

    func handle(value: Base.Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Strips `Upgrade` (and its `Connection` token) from the first request head when it names
/// another protocol, then leaves the pipeline: the upgrade decision is made on that head.
final class UpgradeHeaderFilter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    let served: String
    init(served: String) { self.served = served }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        defer { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
        guard case .head(var head) = unwrapInboundIn(data),
              let requested = head.headers.first(name: "upgrade"), requested.lowercased() != served else {
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
