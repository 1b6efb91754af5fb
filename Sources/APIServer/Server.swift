import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HTTPTypes
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1

/// The HTTPS listener: Hummingbird with TLS from `PKI`, every request through `Handler`.
public struct APIServer: Sendable {
    public let registry: Registry
    public let pki: PKI
    public let host: String
    public let port: Int
    public let root: String
    /// The node that runs `kubectl exec` commands; without one, exec is refused.
    public let streaming: (any StreamingRuntime)?
    /// A second address served on the same port: the pod bridge's, where pods reach the API
    /// (the `kubernetes` Service's endpoint), since the host's loopback is not theirs.
    public let podHost: String?

    public init(registry: Registry, pki: PKI, host: String, port: Int, root: String, streaming: (any StreamingRuntime)? = nil,
                podHost: String? = nil) {
        self.podHost = podHost
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
        let portForward = PortForwardServer(registry: registry, token: pki.token, runtime: streaming)
        // HTTP/1.1 with the WebSocket upgrade `kubectl exec` asks for. Frames up to 1 MiB:
        // client-go writes stdin in 32 KiB pieces, more than the 16 KiB default.
        let upgrade = HTTP1WebSocketUpgradeChannel.Configuration(ws: .init(maxFrameSize: 1 << 20))
        let tls = try pki.tlsConfiguration()
        let server = HTTPServerBuilder { responder in
            let http = HTTP1WebSocketUpgradeChannel(responder: responder, configuration: upgrade) { head, _, _ in
                PortForwardServer.isPortForward(head) ? portForward.shouldUpgrade(head) : exec.shouldUpgrade(head)
            }
            let refused: @Sendable (HTTPRequestHead) -> Bool = { head in
                let request = HTTPRequest(nio: head)
                let decision = PortForwardServer.isPortForward(request) ? portForward.shouldUpgrade(request) : exec.shouldUpgrade(request)
                if case .dontUpgrade = decision { return true }
                return false
            }
            return try TLSChannel(UnservedUpgradeFilter(base: http, served: "websocket", refused: refused, spdy: portForward.spdyUpgrade),
                                  tlsConfiguration: tls)
        }
        func application(_ host: String, _ port: Int, onRunning: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
            Application(responder: handler, server: server, configuration: .init(address: .hostname(host, port: port), serverName: nil),
                        onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) }, logger: logger)
        }
        guard let podHost else {
            try await application(host, port, onRunning: onListening).run()
            return
        }
        // The pod address listens on the port the first listener got (`--port 0` picks one);
        // `onListening` once both listen. Pods are an extra: without the bridge, serve goes on.
        let (bound, boundFeed) = AsyncStream.makeStream(of: Int.self)
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await application(host, port) { boundFeed.yield($0); boundFeed.finish() }.run()
                return true
            }
            group.addTask {
                var ports = bound.makeAsyncIterator()
                guard let p = await ports.next() else { return false }
                do {
                    try await application(podHost, p) { _ in await onListening(p) }.run()
                } catch {
                    logger.warning("pods cannot reach the API on \(podHost):\(p): \(error)")
                    await onListening(p)
                }
                return false
            }
            // The API is served as long as the loopback listener runs.
            while let main = try await group.next(), !main {}
            group.cancelAll()
        }
    }
}

extension HTTPRequest {
    /// The parts of an HTTP/1 head the upgrade hooks look at: method, target, header fields.
    init(nio head: HTTPRequestHead) {
        var fields = HTTPFields()
        for (name, value) in head.headers {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        self.init(method: HTTPRequest.Method(head.method.rawValue) ?? .get, scheme: "https", authority: nil, path: head.uri, headerFields: fields)
    }
}
