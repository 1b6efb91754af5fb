import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import NIOCore

/// The HTTPS listener: Hummingbird with TLS from `PKI`, every request through `Handler`.
public struct APIServer: Sendable {
    public let registry: Registry
    public let pki: PKI
    public let host: String
    public let port: Int
    public let root: String
    /// The node that runs `kubectl exec` commands; without one, exec is refused.
    public let streaming: (any StreamingRuntime)?

    public init(registry: Registry, pki: PKI, host: String, port: Int, root: String, streaming: (any StreamingRuntime)? = nil) {
        self.registry = registry
        self.pki = pki
        self.host = host
        self.port = port
        self.root = root
        self.streaming = streaming
    }

    /// Serves until the surrounding task is cancelled or a graceful shutdown is triggered
    /// (the ServiceGroup's SIGINT/SIGTERM). `onListening` gets the bound port.
    public func run(logger: Logger, onListening: @escaping @Sendable (Int) async -> Void) async throws {
        let handler = Handler(registry: registry, token: pki.token, serverAddress: "\(host):\(port)", logs: LogReader(root: root))
        let exec = ExecServer(registry: registry, token: pki.token, runtime: streaming)
        // HTTP/1.1 with the WebSocket upgrade `kubectl exec` asks for. Frames up to 1 MiB:
        // client-go writes stdin in 32 KiB pieces, more than the 16 KiB default.
        let upgrade = HTTP1WebSocketUpgradeChannel.Configuration(ws: .init(maxFrameSize: 1 << 20))
        let tls = try pki.tlsConfiguration()
        let server = HTTPServerBuilder { responder in
            let http = HTTP1WebSocketUpgradeChannel(responder: responder, configuration: upgrade) { head, _, _ in exec.shouldUpgrade(head) }
            return try TLSChannel(UnservedUpgradeFilter(base: http, served: "websocket"), tlsConfiguration: tls)
        }
        let app = Application(responder: handler, server: server,
                              configuration: .init(address: .hostname(host, port: port), serverName: nil),
                              onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
                              logger: logger)
        try await app.run()
    }
}
