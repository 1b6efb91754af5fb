import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Yams

/// How to reach the Kubernetes API server: a kubeconfig's current context, or the pod's
/// in-cluster service account (`rest.InClusterConfig()`, which MinIO's sidecar uses).
///
/// Only plain-HTTP servers are spoken to: Tandem builds no TLS client. On a cluster that means
/// an HTTP front such as `kubectl proxy` named in the kubeconfig; an https server is refused with
/// that advice rather than spoken to insecurely.
public struct KubeClientConfig: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// A path prefix of the server URL (`http://host:8001/prefix`), without trailing slash.
    public var basePath: String
    public var token: String?
    /// The context's namespace, when it names one.
    public var namespace: String?

    public init(host: String, port: Int, basePath: String = "", token: String? = nil, namespace: String? = nil) {
        self.host = host
        self.port = port
        self.basePath = basePath
        self.token = token
        self.namespace = namespace
    }

    static let serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// `server:` → host, port, base path; https is refused (see the type's comment).
    static func parseServer(_ server: String, source: String) throws(SourceError) -> (String, Int, String) {
        guard let u = URLComponents(string: server), let scheme = u.scheme, let host = u.host, !host.isEmpty else {
            throw SourceError("\(source): invalid server \"\(server)\"")
        }
        guard scheme == "http" else {
            throw SourceError("\(source): server \(server) is \(scheme); Tandem's API source speaks plain HTTP only (no TLS client built in): "
                + "run `kubectl proxy` and point a kubeconfig at http://127.0.0.1:8001")
        }
        var path = u.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        return (host, u.port ?? 80, path)
    }

    /// The kubeconfig's `current-context`: its cluster's `server`, its user's `token` or
    /// `tokenFile`, its `namespace`.
    public static func kubeconfig(_ path: String) throws(SourceError) -> KubeClientConfig {
        let text = try FileSource.readText(path, what: "kubeconfig")
        let root: [String: Any]
        do {
            guard let r = try Yams.load(yaml: text) as? [String: Any] else { throw SourceError("\(path): not a kubeconfig mapping") }
            root = r
        } catch let e as SourceError {
            throw e
        } catch {
            throw SourceError("\(path): malformed YAML: \(error)")
        }
        func named(_ key: String, _ name: String?, _ field: String) -> [String: Any]? {
            guard let name else { return nil }
            return (root[key] as? [[String: Any]])?.first { $0["name"] as? String == name }?[field] as? [String: Any]
        }
        guard let current = root["current-context"] as? String, !current.isEmpty else {
            throw SourceError("\(path): no current-context")
        }
        guard let context = named("contexts", current, "context") else { throw SourceError("\(path): context \"\(current)\" not found") }
        guard let cluster = named("clusters", context["cluster"] as? String, "cluster"), let server = cluster["server"] as? String else {
            throw SourceError("\(path): cluster of context \"\(current)\" not found or has no server")
        }
        let (host, port, base) = try parseServer(server, source: path)
        let user = named("users", context["user"] as? String, "user") ?? [:]
        var token = user["token"] as? String
        if token == nil, let file = user["tokenFile"] as? String {
            token = try FileSource.readText(file, what: "token file").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return KubeClientConfig(host: host, port: port, basePath: base, token: token, namespace: context["namespace"] as? String)
    }

    /// `rest.InClusterConfig()`: `KUBERNETES_SERVICE_HOST`/`_PORT` and the service account's
    /// token. The in-cluster endpoint is always https, so this explains the refusal.
    public static func inCluster(environment: [String: String]) throws(SourceError) -> KubeClientConfig {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], let port = environment["KUBERNETES_SERVICE_PORT"] else {
            throw SourceError("no kubeconfig (--kubeconfig, $KUBECONFIG) and not in a cluster (KUBERNETES_SERVICE_HOST unset)")
        }
        let bracketed = host.contains(":") ? "[\(host)]" : host
        let (h, p, base) = try parseServer("https://\(bracketed):\(port)", source: "in-cluster config")
        return KubeClientConfig(host: h, port: p, basePath: base)
    }
}

/// A Kubernetes API error: the HTTP status and the `Status` object's message.
public struct KubeStatusError: Error, CustomStringConvertible, Sendable, Equatable {
    public var code: Int
    public var message: String
    public var description: String { message.isEmpty ? "HTTP \(code)" : message }

    /// From a `Status` body (`{"kind":"Status","code":404,"message":"…"}`), else the raw text.
    static func from(status: Int, body: Data) -> KubeStatusError {
        let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
        let message = object?["message"] as? String ?? String(decoding: body.prefix(300), as: UTF8.self)
        return KubeStatusError(code: object?["code"] as? Int ?? status, message: message)
    }
}

/// GET requests to the API server over plain HTTP/1.1 (SwiftNIO): whole bodies for gets and
/// lists, newline-delimited JSON for watches.
public struct KubeHTTP: Sendable {
    public var config: KubeClientConfig

    public init(config: KubeClientConfig) { self.config = config }

    public enum Failure: Error, CustomStringConvertible, Sendable {
        case status(KubeStatusError)
        case transport(String)
        public var description: String {
            switch self {
            case .status(let s): return s.description
            case .transport(let t): return t
            }
        }
    }

    /// The whole body of a 200 response.
    public func get(_ path: String) async throws(Failure) -> Data {
        var body = Data()
        try await stream(path) { chunk in body += chunk }
        return body
    }

    /// Each line of a 200 response as it arrives (a watch: one event per line); returns when the
    /// server ends the response.
    public func lines(_ path: String, _ onLine: (Data) async throws -> Void) async throws(Failure) {
        var pending = Data()
        try await stream(path) { chunk in
            pending += chunk
            while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = pending[pending.startIndex..<nl]
                pending = Data(pending[pending.index(after: nl)...])
                if !line.isEmpty { try await onLine(Data(line)) }
            }
        }
        if !pending.isEmpty { try? await onLine(pending) }
    }

    private func stream(_ path: String, _ onBody: (Data) async throws -> Void) async throws(Failure) {
        let config = self.config
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(10))
                .connect(host: config.host, port: config.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                    }
                }
            try await channel.executeThenClose { inbound, outbound in
                var headers = HTTPHeaders()
                headers.add(name: "Host", value: config.port == 80 ? config.host : "\(config.host):\(config.port)")
                headers.add(name: "Accept", value: "application/json")
                headers.add(name: "User-Agent", value: "tandem-sidecar-config")
                if let token = config.token { headers.add(name: "Authorization", value: "Bearer \(token)") }
                try await outbound.write(.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: config.basePath + path, headers: headers)))
                try await outbound.write(.end(nil))
                var status = 0
                var errorBody = Data()
                for try await part in inbound {
                    switch part {
                    case .head(let head): status = Int(head.status.code)
                    case .body(let buffer):
                        let bytes = Data(buffer.readableBytesView)
                        if status == 200 { try await onBody(bytes) } else { errorBody += bytes }
                    case .end:
                        if status != 200 { throw Failure.status(.from(status: status, body: errorBody)) }
                        return
                    }
                }
                throw Failure.transport("GET \(path): connection closed before the response ended")
            }
        } catch let f as Failure {
            throw f
        } catch {
            throw .transport("GET http://\(config.host):\(config.port)\(config.basePath)\(path): \(HTTPRequest.describe(error))")
        }
    }
}
