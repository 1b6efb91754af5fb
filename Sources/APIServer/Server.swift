import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore

/// The HTTPS listener: Hummingbird with TLS from `PKI`, every request through `Handler`.
public struct APIServer: Sendable {
    public let registry: Registry
    public let pki: PKI
    public let host: String
    public let port: Int
    public let root: String

    public init(registry: Registry, pki: PKI, host: String, port: Int, root: String) {
        self.registry = registry
        self.pki = pki
        self.host = host
        self.port = port
        self.root = root
    }

    /// Serves until the surrounding task is cancelled or a graceful shutdown is triggered
    /// (the ServiceGroup's SIGINT/SIGTERM). `onListening` gets the bound port.
    public func run(logger: Logger, onListening: @escaping @Sendable (Int) async -> Void) async throws {
        let handler = Handler(registry: registry, token: pki.token, serverAddress: "\(host):\(port)", logs: LogReader(root: root))
        let app = Application(responder: handler,
                              server: try .tls(.http1(), tlsConfiguration: pki.tlsConfiguration()),
                              configuration: .init(address: .hostname(host, port: port), serverName: nil),
                              onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
                              logger: logger)
        try await app.run()
    }
}
