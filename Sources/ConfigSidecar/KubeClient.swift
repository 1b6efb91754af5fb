import Foundation
import OneShotHTTP
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Yams

/// How to reach the Kubernetes API server: a kubeconfig's current context, or the pod's
/// in-cluster service account (`rest.InClusterConfig()`, which MinIO's sidecar uses). An https
/// server is spoken to over TLS (SwiftNIO SSL) trusting the kubeconfig's CA; an http one (a
/// `kubectl proxy`) in the clear.
public struct KubeClientConfig: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// A path prefix of the server URL (`http://host:8001/prefix`), without trailing slash.
    public var basePath: String
    public var token: String?
    /// Read again for every request, as client-go's file token source does: a projected
    /// service-account token is rotated by the kubelet while the sidecar runs.
    public var tokenFile: String?
    /// The context's namespace, when it names one.
    public var namespace: String?
    /// For an https server; nil speaks plain HTTP.
    public var tls: TLS?

    /// A kubeconfig cluster's and user's TLS settings, the files already read.
    public struct TLS: Sendable, Equatable {
        /// `certificate-authority(-data)`: the PEM roots trusted; nil trusts the system's.
        public var caPEM: [UInt8]?
        /// `insecure-skip-tls-verify`: no certificate or host name check.
        public var insecureSkipVerify = false
        /// `tls-server-name`: the name checked (and sent as SNI) instead of the server's host.
        public var serverName: String?
        /// `client-certificate(-data)` and `client-key(-data)`, PEM.
        public var clientCertificatePEM: [UInt8]?
        public var clientKeyPEM: [UInt8]?

        public init(caPEM: [UInt8]? = nil, insecureSkipVerify: Bool = false, serverName: String? = nil,
                    clientCertificatePEM: [UInt8]? = nil, clientKeyPEM: [UInt8]? = nil) {
            self.caPEM = caPEM
            self.insecureSkipVerify = insecureSkipVerify
            self.serverName = serverName
            self.clientCertificatePEM = clientCertificatePEM
            self.clientKeyPEM = clientKeyPEM
        }
    }

    public init(host: String, port: Int, basePath: String = "", token: String? = nil, tokenFile: String? = nil,
                namespace: String? = nil, tls: TLS? = nil) {
        self.host = host
        self.port = port
        self.basePath = basePath
        self.token = token
        self.tokenFile = tokenFile
        self.namespace = namespace
        self.tls = tls
    }

    public static let serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

    public var scheme: String { tls == nil ? "http" : "https" }

    /// `server:` → scheme, host, port, base path.
    static func parseServer(_ server: String, source: String) throws(SourceError) -> (https: Bool, host: String, port: Int, path: String) {
        guard let u = URLComponents(string: server), let scheme = u.scheme, let host = u.host, !host.isEmpty else {
            throw SourceError("\(source): invalid server \"\(server)\"")
        }
        guard scheme == "http" || scheme == "https" else { throw SourceError("\(source): server \(server): unsupported scheme \(scheme)") }
        var path = u.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        return (scheme == "https", bare, u.port ?? (scheme == "https" ? 443 : 80), path)
    }

    /// The kubeconfig's `current-context`: its cluster's `server` and TLS settings, its user's
    /// `token` or `tokenFile` or client certificate, its `namespace`. Relative file names are
    /// the kubeconfig's directory's, as client-go resolves them.
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
        let (https, host, port, base) = try parseServer(server, source: path)
        let user = named("users", context["user"] as? String, "user") ?? [:]
        for plugin in ["exec", "auth-provider"] where user[plugin] != nil {
            throw SourceError("\(path): user of context \"\(current)\": \(plugin) credential plugins are not supported; use a token or a client certificate")
        }
        let dir = (path as NSString).deletingLastPathComponent
        func resolve(_ file: String) -> String { file.hasPrefix("/") || dir.isEmpty ? file : dir + "/" + file }
        /// `<field>-data` (base64) or `<field>` (a file name).
        func pem(_ map: [String: Any], _ field: String) throws(SourceError) -> [UInt8]? {
            if let data = map[field + "-data"] as? String {
                guard let bytes = Data(base64Encoded: data.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                    throw SourceError("\(path): \(field)-data is not base64")
                }
                return Array(bytes)
            }
            guard let file = map[field] as? String else { return nil }
            return Array(try FileSource.readText(resolve(file), what: field).utf8)
        }
        var tls: TLS?
        if https {
            tls = TLS(caPEM: try pem(cluster, "certificate-authority"),
                      insecureSkipVerify: cluster["insecure-skip-tls-verify"] as? Bool ?? false,
                      serverName: cluster["tls-server-name"] as? String,
                      clientCertificatePEM: try pem(user, "client-certificate"), clientKeyPEM: try pem(user, "client-key"))
        }
        let tokenFile = (user["tokenFile"] as? String).map(resolve)
        let config = KubeClientConfig(host: host, port: port, basePath: base, token: user["token"] as? String,
                                      tokenFile: user["token"] == nil ? tokenFile : nil, namespace: context["namespace"] as? String, tls: tls)
        _ = try config.bearerToken()
        return config
    }

    /// `rest.InClusterConfig()`: `KUBERNETES_SERVICE_HOST`/`_PORT` over https, the service
    /// account's token (re-read for every request) and, when it is there, its `ca.crt` (else
    /// the system's roots, as client-go falls back).
    public static func inCluster(environment: [String: String], serviceAccountDir: String = KubeClientConfig.serviceAccountDir) throws(SourceError) -> KubeClientConfig {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty, let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty else {
            throw SourceError("no kubeconfig (--kubeconfig, $KUBECONFIG) and not in a cluster (KUBERNETES_SERVICE_HOST unset)")
        }
        let bracketed = host.contains(":") ? "[\(host)]" : host
        let (_, h, p, base) = try parseServer("https://\(bracketed):\(port)", source: "in-cluster config")
        let ca = FileManager.default.contents(atPath: serviceAccountDir + "/ca.crt").map { Array($0) }
        let config = KubeClientConfig(host: h, port: p, basePath: base, tokenFile: serviceAccountDir + "/token", tls: TLS(caPEM: ca))
        _ = try config.bearerToken()
        return config
    }

    /// The token to send: `token`, or the token file's current content.
    func bearerToken() throws(SourceError) -> String? {
        guard let tokenFile else { return token }
        return try FileSource.readText(tokenFile, what: "token file").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The TLS client context for `tls` (nil for plain HTTP), made once per client.
    func sslContext() throws(SourceError) -> NIOSSLContext? {
        guard let tls else { return nil }
        var c = TLSConfiguration.makeClientConfiguration()
        do {
            if tls.insecureSkipVerify {
                c.certificateVerification = .none
            } else if let ca = tls.caPEM {
                c.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
            }
            if let cert = tls.clientCertificatePEM, let key = tls.clientKeyPEM {
                c.certificateChain = try NIOSSLCertificate.fromPEMBytes(cert).map { .certificate($0) }
                c.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
            } else if (tls.clientCertificatePEM == nil) != (tls.clientKeyPEM == nil) {
                throw SourceError("a client certificate needs both client-certificate and client-key")
            }
            return try NIOSSLContext(configuration: c)
        } catch let e as SourceError {
            throw e
        } catch {
            throw SourceError("TLS configuration for \(host): \(error)")
        }
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

/// GET requests to the API server over HTTP/1.1 (SwiftNIO, with NIOSSL for https): whole
/// bodies for gets and lists, newline-delimited JSON for watches.
public struct KubeHTTP: Sendable {
    public let config: KubeClientConfig
    let ssl: NIOSSLContext?

    public init(config: KubeClientConfig) throws(SourceError) {
        self.config = config
        ssl = try config.sslContext()
    }

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
        let ssl = self.ssl
        // SNI carries a name, never an address: for an IP the certificate is checked against it.
        let serverName = config.tls?.serverName ?? ((try? SocketAddress(ipAddress: config.host, port: 0)) == nil ? config.host : nil)
        let url = "\(config.scheme)://\(config.host.contains(":") ? "[\(config.host)]" : config.host):\(config.port)\(config.basePath)\(path)"
        do {
            let token: String?
            do { token = try config.bearerToken() } catch { throw Failure.transport(error.message) }
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(10))
                .connect(host: config.host, port: config.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let ssl {
                            try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: ssl, serverHostname: serverName))
                        }
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                    }
                }
            try await channel.executeThenClose { inbound, outbound in
                var headers = HTTPHeaders()
                headers.add(name: "Host", value: config.port == (ssl == nil ? 80 : 443) ? config.host : "\(config.host):\(config.port)")
                headers.add(name: "Accept", value: "application/json")
                headers.add(name: "User-Agent", value: "tandem-sidecar-config")
                if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
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
            // BoringSSL's verification failure in words, as Go's `x509:` errors give it.
            let reason = "\(error)".contains("CERTIFICATE_VERIFY_FAILED")
                ? "tls: failed to verify certificate (CERTIFICATE_VERIFY_FAILED): not signed by the trusted CA, or not valid for \(serverName ?? config.host)"
                : OneShotRequest.describe(error)
            throw .transport("GET \(url): \(reason)")
        }
    }
}
