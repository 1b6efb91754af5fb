import Hummingbird
import Logging
import NIOCore

/// `--http-bind`: git-sync's HTTP endpoint, served by Hummingbird. `/metrics` (with
/// `--http-metrics`) is the Prometheus exposition; every other path is the readiness check —
/// 503 "repo is not ready" until the first sync succeeded, then 200 with an empty body — which
/// is what startup and liveness probes hit, whatever the method (Go's `ServeMux` pattern "/").
struct HTTPEndpoint: HTTPResponder {
    typealias Context = BasicRequestContext

    let metrics: Metrics?
    let ready: @Sendable () -> Bool

    func respond(to request: Request, context: Context) async throws -> Response {
        if let metrics, request.uri.path == "/metrics" {
            return Self.text(.ok, metrics.exposition(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        return ready() ? Self.text(.ok, "") : Self.text(.serviceUnavailable, "repo is not ready\n")
    }

    private static func text(_ status: HTTPResponse.Status, _ body: String, contentType: String = "text/plain; charset=utf-8") -> Response {
        Response(status: status, headers: [.contentType: contentType], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    /// `host:port`, `:port` or `[v6]:port`, as Go's net.Listen takes it; no host is every IPv4
    /// address.
    static func parseAddress(_ address: String) -> (host: String, port: Int)? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port) else {
            return nil
        }
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    /// Binds `address` and serves until the returned task is cancelled. Returns once the socket
    /// is listening, so a port in use is an error before the first sync, as in git-sync.
    func serve(address: String) async throws -> Task<Void, any Error> {
        guard let (host, port) = Self.parseAddress(address) else {
            throw SyncError("can't bind HTTP endpoint \(address): missing port in address")
        }
        var logger = Logging.Logger(label: "git-sync-http")
        logger.logLevel = .critical
        let (listening, listeningContinuation) = AsyncThrowingStream.makeStream(of: Void.self)
        let app = Application(responder: self, configuration: .init(address: .hostname(host, port: port), serverName: nil),
                              onServerRunning: { _ in listeningContinuation.yield() }, logger: logger)
        // `run`, not `runService`: git-sync's own signal handling (SIGTERM, --sync-on-signal)
        // stays in charge of the process.
        let task = Task {
            do {
                try await app.run()
                listeningContinuation.finish()
            } catch {
                listeningContinuation.finish(throwing: SyncError("can't bind HTTP endpoint \(address): \(error)"))
                throw error
            }
        }
        for try await _ in listening { return task }
        throw SyncError("can't bind HTTP endpoint \(address): the server stopped")
    }
}
