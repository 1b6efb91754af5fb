import OneShotHTTP
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

/// The sidecar's `GET /ready` (sidecar/pkg/sidecar/probes_handlers.go): it sends
/// `HEAD /minio/health/live` to the MinIO beside it with a 500 ms client timeout and answers 200
/// on *any* HTTP response — "we only want to know if the service is running" — and 500 when the
/// request fails. The operator probes it every second with failureThreshold 1, so the pod's
/// readiness follows "the local MinIO answers HTTP".
///
/// MinIO chooses https when the Tenant has TLS; this probe always speaks plain HTTP. A Go TLS
/// server (MinIO's) answers a plain-HTTP request with `400 Client sent an HTTP request to an
/// HTTPS server`, which is an HTTP response, so the verdict is the same without a TLS stack.
public struct ReadinessServer: Sendable {
    public var host: String
    public var port: Int
    public var probe: OneShotRequest
    public var timeout: Duration

    public static let defaultProbeURL = "http://localhost:9000/minio/health/live"

    public init(host: String, port: Int, probe: OneShotRequest, timeout: Duration = .milliseconds(500)) {
        self.host = host
        self.port = port
        self.probe = probe
        self.timeout = timeout
    }

    /// `0.0.0.0:4444`, `127.0.0.1:0`, `[::]:4444`.
    public static func parseAddress(_ s: String) -> (host: String, port: Int)? {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        var host = String(s[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    /// Serves until cancelled or SIGTERM/SIGINT (graceful shutdown). `onListening` gets the bound
    /// port (the real one when `port` is 0).
    public func run(logger: Logger, onListening: @escaping @Sendable (Int) async -> Void) async throws {
        let router = Router()
        let probe = self.probe, timeout = self.timeout
        router.get("/ready") { _, _ -> Response in
            do {
                let status = try await probe.send(timeout: timeout)
                return Self.text(.ok, "Readiness probe succeeded with HTTP status  \(status.code)\n")
            } catch {
                return Self.text(.internalServerError, "HTTP request failed: \(error)\n")
            }
        }
        let app = Application(router: router,
                              configuration: .init(address: .hostname(host, port: port), serverName: nil),
                              onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
                              logger: logger)
        try await app.runService()
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
