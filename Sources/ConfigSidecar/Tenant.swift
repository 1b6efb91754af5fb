import Foundation
import Yams

/// The fields of a `minio.min.io/v2` Tenant that the MinIO operator's sidecar reads to build
/// `config.env` (pkg/apis/minio.min.io/v2/types.go). Every other field is accepted and ignored,
/// as a Go struct decoding the Tenant ignores what it does not name.
public struct Tenant: Decodable, Sendable, Equatable {
    public struct Metadata: Decodable, Sendable, Equatable {
        public var name: String?
        public var namespace: String?
        public var resourceVersion: String?
    }

    public struct Pool: Decodable, Sendable, Equatable {
        public var name: String?
        public var servers: Int32?
        public var volumesPerServer: Int32?
        public var runtimeClassName: String?
    }

    /// `corev1.EnvVar`: a `valueFrom` entry keeps its empty `value`, as `GetEnvVars()` hands it on.
    public struct EnvVar: Decodable, Sendable, Equatable {
        public var name: String
        public var value: String?
    }

    public struct Domains: Decodable, Sendable, Equatable {
        public var minio: [String]?
        public var console: String?
    }

    public struct Features: Decodable, Sendable, Equatable {
        public var bucketDNS: Bool?
        public var domains: Domains?
    }

    public struct KES: Decodable, Sendable, Equatable {
        public var keyName: String?
    }

    public struct LocalObjectReference: Decodable, Sendable, Equatable {
        public var name: String?
    }

    /// Any YAML value whose content does not matter, only that it is there.
    public struct Present: Decodable, Sendable, Equatable {
        public init(from decoder: any Decoder) throws {}
    }

    public struct Spec: Decodable, Sendable, Equatable {
        public var pools: [Pool]?
        public var env: [EnvVar]?
        public var mountPath: String?
        public var subPath: String?
        public var requestAutoCert: Bool?
        public var externalCertSecret: [Present]?
        public var features: Features?
        public var kes: KES?
        public var prometheusOperator: Bool?
        public var configuration: LocalObjectReference?
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: Metadata
    public var spec: Spec

    public var name: String { metadata.name ?? "" }
    public var namespace: String { metadata.namespace ?? "" }

    // MARK: - Operator defaults and derived names (helper.go, names.go, constants.go)

    static let statefulSetPrefix = "ss"
    static let volumeMountPath = "/export"
    static let kesMinIOKey = "my-minio-key"
    static let certPath = "/tmp/certs"

    /// `Tenant.EnsureDefaults()`, for the fields the configuration depends on: pool names
    /// `ss-<index>`, the mount path `/export`, the KES key name.
    public mutating func ensureDefaults() {
        if var pools = spec.pools {
            for i in pools.indices where (pools[i].name ?? "").isEmpty {
                pools[i].name = "\(Self.statefulSetPrefix)-\(i)"
            }
            spec.pools = pools
        }
        if (spec.mountPath ?? "").isEmpty { spec.mountPath = Self.volumeMountPath }
        if spec.kes != nil, (spec.kes?.keyName ?? "").isEmpty { spec.kes?.keyName = Self.kesMinIOKey }
    }

    /// `AutoCert() || ExternalCert()`: automatic certificates are on unless `requestAutoCert: false`.
    public var tls: Bool { (spec.requestAutoCert ?? true) || !(spec.externalCertSecret ?? []).isEmpty }
    var scheme: String { tls ? "https" : "http" }

    var hlServiceName: String { name + "-hl" }
    /// `MinIOFQDNServiceName`: the ClusterIP service is always called `minio`.
    public func fqdnServiceName(clusterDomain: String) -> String { "minio.\(namespace).svc.\(clusterDomain)" }

    /// `MinIOHosts`: one ellipsis host per pool.
    func minioHosts(clusterDomain: String) -> [String] {
        (spec.pools ?? []).map { pool in
            let servers = Int(pool.servers ?? 0)
            let ordinal = servers == 1 ? "0" : Self.ellipsis(0, servers - 1)
            return "\(name)-\(pool.name ?? "")-\(ordinal).\(hlServiceName).\(namespace).svc.\(clusterDomain)"
        }
    }

    /// `VolumePathForPool`: `path.Join("/", mountPath[+ellipsis], "/", subPath)`.
    func volumePath(for pool: Pool) -> String {
        let mount = spec.mountPath ?? ""
        let base = pool.volumesPerServer == 1 ? mount : mount + Self.ellipsis(0, Int(pool.volumesPerServer ?? 0) - 1)
        return Self.cleanPath("/" + base + "/" + (spec.subPath ?? ""))
    }

    /// `statefulsets.GetContainerArgs(t, "")`: the volume path alone for a single server,
    /// else one `scheme://host/path` per pool.
    public func containerArgs(clusterDomain: String) -> [String] {
        let pools = spec.pools ?? []
        if pools.count == 1 && pools[0].servers == 1 { return [volumePath(for: pools[0])] }
        return zip(minioHosts(clusterDomain: clusterDomain), pools).map { host, pool in
            "\(scheme)://\(host)\(volumePath(for: pool))"
        }
    }

    /// `MinIOServerEndpoint`: the ClusterIP service on 443 or 80.
    func serverEndpoint(clusterDomain: String) -> String {
        "\(scheme)://\(fqdnServiceName(clusterDomain: clusterDomain)):\(tls ? 443 : 80)"
    }

    /// `KESServiceEndpoint`.
    func kesServiceEndpoint(clusterDomain: String) -> String {
        "https://\(name)-kes-hl-svc.\(namespace).svc.\(clusterDomain):7373"
    }

    /// `PrometheusConfigJobName`.
    var prometheusJobName: String { spec.prometheusOperator == true ? "\(name)-\(namespace)-minio-job" : "minio-job" }

    var hasMinIODomains: Bool { !(spec.features?.domains?.minio ?? []).isEmpty }
    var hasConsoleDomain: Bool { !(spec.features?.domains?.console ?? "").isEmpty }

    /// `GetDomainHosts`: each MinIO domain with a scheme inferred from TLS, kept if it looks like a
    /// domain name, reduced to its host without port.
    func domainHosts() -> [String] {
        (spec.features?.domains?.minio ?? []).compactMap { d in
            let domain = d.hasPrefix("http") ? d : "\(scheme)://\(d)"
            guard Self.isDomainName(domain) else { return nil }
            return Self.urlHost(domain).split(separator: ":", omittingEmptySubsequences: false).first.map(String.init)
        }
    }

    /// A URL's host[:port], as Go's `url.Parse(...).Host`.
    static func urlHost(_ url: String) -> String {
        guard let r = url.range(of: "://") else { return "" }
        let rest = url[r.upperBound...]
        let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var host = rest[..<end]
        if let at = host.lastIndex(of: "@") { host = host[host.index(after: at)...] }
        return String(host)
    }

    /// miekg/dns `IsDomainName`: at most 255 octets, no empty label but the root, labels of at
    /// most 63 octets. It accepts almost anything else, a scheme prefix included.
    static func isDomainName(_ s: String) -> Bool {
        let bytes = Array(s.utf8)
        if bytes.isEmpty || bytes.count > 255 { return false }
        if s == "." { return true }
        var labels = s.split(separator: ".", omittingEmptySubsequences: false)
        if labels.last == "" { labels.removeLast() }
        return labels.allSatisfy { !$0.isEmpty && $0.utf8.count <= 63 }
    }

    static func ellipsis(_ start: Int, _ end: Int) -> String { "{\(start)...\(end)}" }

    /// Go's `path.Clean` for an absolute path.
    static func cleanPath(_ path: String) -> String {
        var out: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { if !out.isEmpty { out.removeLast() }; continue }
            out.append(part)
        }
        return "/" + out.joined(separator: "/")
    }

    // MARK: - Reading

    /// The Tenant named `name` among the YAML documents of `text` (one Tenant, or several
    /// documents of which one is the Tenant). Errors name the document and the field.
    public static func decode(_ text: String, name: String?, source: String) throws(SourceError) -> Tenant {
        var documents: [Any] = []
        do {
            var sequence = try Yams.load_all(yaml: text)
            while let doc = sequence.next() { if !(doc is NSNull) { documents.append(doc) } }
            if let error = sequence.error { throw error }
        } catch {
            throw SourceError("\(source): malformed YAML: \(error)")
        }
        var tenants: [Tenant] = []
        for (i, doc) in documents.enumerated() {
            guard let map = doc as? [String: Any] else {
                throw SourceError("\(source): document \(i + 1) is not a mapping")
            }
            guard (map["kind"] as? String) == "Tenant" else { continue }
            let apiVersion = map["apiVersion"] as? String ?? ""
            guard apiVersion.hasPrefix("minio.min.io/") else {
                throw SourceError("\(source): document \(i + 1): apiVersion \"\(apiVersion)\" is not minio.min.io/v2")
            }
            do {
                let data = try JSONSerialization.data(withJSONObject: Self.jsonCompatible(map))
                tenants.append(try JSONDecoder().decode(Tenant.self, from: data))
            } catch let e as DecodingError {
                throw SourceError("\(source): document \(i + 1): \(Self.describe(e))")
            } catch {
                throw SourceError("\(source): document \(i + 1): \(error)")
            }
        }
        if tenants.isEmpty { throw SourceError("\(source): no minio.min.io/v2 Tenant in the file") }
        if let name {
            guard let t = tenants.first(where: { $0.metadata.name == name }) else {
                throw SourceError("\(source): tenants.minio.min.io \"\(name)\" not found")
            }
            return t
        }
        guard tenants.count == 1 else { throw SourceError("\(source): \(tenants.count) Tenants in the file; name one with --tenant") }
        return tenants[0]
    }

    /// Yams yields Int, Double, Bool, String, Date and nested containers; JSON needs plain ones.
    static func jsonCompatible(_ v: Any) -> Any {
        switch v {
        case let m as [String: Any]: return m.mapValues(jsonCompatible)
        case let m as [AnyHashable: Any]: return Dictionary(uniqueKeysWithValues: m.map { ("\($0.key)", jsonCompatible($0.value)) })
        case let a as [Any]: return a.map(jsonCompatible)
        case let d as Date: return ISO8601DateFormatter().string(from: d)
        case let d as Data: return d.base64EncodedString()
        case is NSNull: return NSNull()
        case let b as Bool: return b
        case let i as Int: return i
        case let d as Double: return d
        case let s as String: return s
        default: return "\(v)"
        }
    }

    static func describe(_ e: DecodingError) -> String {
        func path(_ c: [any CodingKey]) -> String {
            c.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().replacingOccurrences(of: ".[", with: "[")
                .trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        switch e {
        case .typeMismatch(let t, let c): return "\(path(c.codingPath)): expected \(t)"
        case .valueNotFound(let t, let c): return "\(path(c.codingPath)): expected \(t), found null"
        case .keyNotFound(let k, let c): return "\(path(c.codingPath + [k])): Required value"
        case .dataCorrupted(let c): return "\(path(c.codingPath)): \(c.debugDescription)"
        @unknown default: return "\(e)"
        }
    }
}

/// A source (Tenant file, Secret directory) that cannot be read or understood.
public struct SourceError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
