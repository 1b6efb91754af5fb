import Foundation
import Synchronization

/// client-go's reflector for one named object, as pure state: a list gives the object and the
/// resourceVersion to watch from; each watch event moves both on; `410 Gone` (the version was
/// compacted away) means list again. What MinIO's informers do for its Tenant and Secret.
public struct InformerState: Sendable, Equatable {
    /// The object's JSON, nil when it does not exist.
    public private(set) var object: Data?
    public private(set) var resourceVersion = ""

    public init() {}

    public enum Outcome: Sendable, Equatable {
        /// The object was added, modified or deleted.
        case changed
        /// A bookmark, or an event that leaves the object as it was.
        case unchanged
        /// The watch's resourceVersion is too old: list again (the server's message).
        case gone(String)
        /// Any other error event: watch again from the last version.
        case failed(String)
    }

    /// A `…List` response (filtered by the server to `name`; checked here again).
    public mutating func applyList(_ body: Data, name: String) throws(SourceError) -> Bool {
        guard let list = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any],
              let items = list["items"] as? [Any] else { throw SourceError("list response is not a Kubernetes list") }
        resourceVersion = (list["metadata"] as? [String: Any])?["resourceVersion"] as? String ?? ""
        let match = items.first { (($0 as? [String: Any])?["metadata"] as? [String: Any])?["name"] as? String == name }
        let new = try match.map { item throws(SourceError) -> Data in
            do { return try JSONSerialization.data(withJSONObject: item, options: [.sortedKeys]) } catch { throw SourceError("list item: \(error)") }
        }
        defer { object = new }
        return new != object
    }

    /// One watch event line: `{"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": …}`.
    public mutating func apply(event line: Data) throws(SourceError) -> Outcome {
        guard let event = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any],
              let type = event["type"] as? String, let obj = event["object"] as? [String: Any] else {
            throw SourceError("malformed watch event: \(String(decoding: line.prefix(200), as: UTF8.self))")
        }
        if type == "ERROR" {
            let code = obj["code"] as? Int ?? 0
            let message = obj["message"] as? String ?? ""
            return code == 410 ? .gone(message) : .failed("watch error \(code): \(message)")
        }
        if let rv = (obj["metadata"] as? [String: Any])?["resourceVersion"] as? String { resourceVersion = rv }
        switch type {
        case "BOOKMARK": return .unchanged
        case "DELETED":
            defer { object = nil }
            return object == nil ? .unchanged : .changed
        case "ADDED", "MODIFIED":
            let data: Data
            do { data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]) } catch { throw SourceError("watch object: \(error)") }
            defer { object = data }
            return data == object ? .unchanged : .changed
        default:
            throw SourceError("unknown watch event type \"\(type)\"")
        }
    }
}

/// One named object kept in step with the API server: list, then watch from the list's
/// resourceVersion with bookmarks; re-watch when the server ends a watch; list again on 410;
/// back off a second after a failure. No polling: the server pushes each change.
final class Informer: Sendable {
    let http: KubeHTTP
    /// The collection, e.g. `/api/v1/namespaces/ns/secrets`.
    let collection: String
    let name: String
    private let state = Mutex(InformerState())

    init(http: KubeHTTP, collection: String, name: String) {
        self.http = http
        self.collection = collection
        self.name = name
    }

    var object: Data? { state.withLock { $0.object } }

    private var selector: String { "fieldSelector=metadata.name%3D" + (name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? name) }

    /// Lists; returns whether the object changed.
    func list() async throws(KubeHTTP.Failure) -> Bool {
        let body = try await http.get("\(collection)?\(selector)")
        do {
            return try state.withLock { s throws(SourceError) in try s.applyList(body, name: name) }
        } catch {
            throw .transport("\(collection): \(error.message)")
        }
    }

    /// Watches until cancelled, calling `onChange` after each change.
    func run(onChange: @escaping @Sendable () -> Void, log: @escaping @Sendable (String) -> Void) async {
        var needList = false
        while !Task.isCancelled {
            do throws(KubeHTTP.Failure) {
                if needList {
                    if try await list() { onChange() }
                    needList = false
                }
                let rv = state.withLock { $0.resourceVersion }
                try await http.lines("\(collection)?\(selector)&watch=1&allowWatchBookmarks=true&resourceVersion=\(rv)&timeoutSeconds=300") { line in
                    let outcome = try state.withLock { s throws(SourceError) in try s.apply(event: line) }
                    switch outcome {
                    case .changed: onChange()
                    case .unchanged: break
                    case .gone(let message): throw KubeHTTP.Failure.status(KubeStatusError(code: 410, message: message))
                    case .failed(let message): throw KubeHTTP.Failure.transport(message)
                    }
                }
            } catch .status(let s) where s.code == 410 {
                log("\(collection)/\(name): \(s.message); listing again")
                needList = true
            } catch {
                if Task.isCancelled { return }
                log("\(collection)/\(name): \(error); watching again in 1s")
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}

/// The Tenant and its configuration Secret read and watched through the Kubernetes API, as
/// MinIO's sidecar does with its informers (over TLS to an https server; see `KubeClientConfig`).
public final class KubeSource: ConfigSource {
    public let namespace: String
    public let tenantName: String
    /// `--config-name`; nil takes the Tenant's `spec.configuration.name` (MinIO's `validate`).
    public let secretName: String?
    public let clusterDomain: String
    let tenant: Informer
    let http: KubeHTTP
    let secret = Mutex<Informer?>(nil)
    let log: @Sendable (String) -> Void

    public init(config: KubeClientConfig, namespace: String, tenantName: String, secretName: String?, clusterDomain: String,
                log: @escaping @Sendable (String) -> Void) throws(SourceError) {
        http = try KubeHTTP(config: config)
        self.log = log
        self.namespace = namespace
        self.tenantName = tenantName
        self.secretName = secretName
        self.clusterDomain = clusterDomain
        tenant = Informer(http: http, collection: "/apis/minio.min.io/v2/namespaces/\(namespace)/tenants", name: tenantName)
    }

    /// Lists the Tenant, then its Secret (named by `secretName` or by the Tenant).
    func listAll() async throws(SourceError) -> Informer {
        do {
            _ = try await tenant.list()
        } catch {
            throw SourceError("tenants.minio.min.io \"\(tenantName)\": \(error)")
        }
        var name = secretName
        if name == nil { name = try decodeTenant().spec.configuration?.name }
        guard let name, !name.isEmpty else {
            throw SourceError("tenants.minio.min.io \"\(tenantName)\" names no spec.configuration Secret and no --config-name was given")
        }
        let informer = Informer(http: http, collection: "/api/v1/namespaces/\(namespace)/secrets", name: name)
        do {
            _ = try await informer.list()
        } catch {
            throw SourceError("secrets \"\(name)\": \(error)")
        }
        secret.withLock { $0 = informer }
        return informer
    }

    /// For `validate`: one list of each.
    public func prepare() async throws(SourceError) {
        _ = try await listAll()
    }

    public func follow() async throws(SourceError) -> (changes: AsyncStream<ContinuousClock.Instant>, stop: @Sendable () -> Void) {
        let secretInformer = try await listAll()
        let (changes, continuation) = AsyncStream.makeStream(of: ContinuousClock.Instant.self, bufferingPolicy: .bufferingNewest(1))
        let log = self.log
        let notify: @Sendable () -> Void = { continuation.yield(.now) }
        let tenantTask = Task { [tenant] in await tenant.run(onChange: notify, log: log) }
        let secretTask = Task { await secretInformer.run(onChange: notify, log: log) }
        return (changes, {
            tenantTask.cancel()
            secretTask.cancel()
            continuation.finish()
        })
    }

    func decodeTenant() throws(SourceError) -> Tenant {
        guard let data = tenant.object else { throw SourceError("tenants.minio.min.io \"\(tenantName)\" not found") }
        do {
            return try JSONDecoder().decode(Tenant.self, from: data)
        } catch let e as DecodingError {
            throw SourceError("tenants.minio.min.io \"\(tenantName)\": \(Tenant.describe(e))")
        } catch {
            throw SourceError("tenants.minio.min.io \"\(tenantName)\": \(error)")
        }
    }

    /// Renders from the objects last seen; the Secret's `data["config.env"]` is base64.
    public func load() throws(SourceError) -> TenantConfig {
        var t = try decodeTenant()
        if (t.metadata.namespace ?? "").isEmpty { t.metadata.namespace = namespace }
        t.ensureDefaults()
        guard let informer = secret.withLock({ $0 }) else { throw SourceError("the configuration Secret was not listed") }
        guard let data = informer.object else { throw SourceError("secrets \"\(informer.name)\" not found") }
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        var seed: [String: EnvFile.Entry]?
        if let encoded = (object?["data"] as? [String: Any])?[FileSource.secretKey] as? String {
            guard let bytes = Data(base64Encoded: encoded), let text = String(data: bytes, encoding: .utf8) else {
                throw SourceError("secrets \"\(informer.name)\": data[\(FileSource.secretKey)] is not base64 UTF-8 text")
            }
            seed = try EnvFile.parse(text, source: "secrets \"\(informer.name)\" \(FileSource.secretKey)")
        }
        do {
            return try TenantConfig.render(tenant: t, seed: seed, clusterDomain: clusterDomain)
        } catch {
            throw SourceError("tenants.minio.min.io \"\(tenantName)\": \(error)")
        }
    }
}
