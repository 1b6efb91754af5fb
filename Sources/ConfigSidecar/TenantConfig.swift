/// The MinIO operator's `GetFullTenantConfig(tenant, configSecret)`
/// (pkg/configuration/tenant_configuration.go) as a pure function: the `config.env` MinIO starts
/// with, and whether the Secret's `config.env` names a root user and a root password.
public struct TenantConfig: Sendable, Equatable {
    /// The file's text: sorted `export KEY="VALUE"` lines.
    public var content: String
    /// `MINIO_ROOT_USER` or `MINIO_ACCESS_KEY` is present in the Secret's `config.env`.
    public var rootUserFound: Bool
    /// `MINIO_ROOT_PASSWORD` or `MINIO_SECRET_KEY` is present there. Presence only: an empty
    /// value passes, as in MinIO.
    public var rootPasswordFound: Bool
    public var credentialsFound: Bool { rootUserFound && rootPasswordFound }

    /// MinIO's message when a credential is absent; the process then exits 1.
    public static let missingCredentials = "Missing root credentials in the configuration."

    static let minisignPublicKey = "RWTx5Zr1tiHQLwG9keckT0c45M3AGeHD6IvimQHpyRywVWGbP1aVSGav"

    /// - Parameters:
    ///   - tenant: the Tenant, already through `ensureDefaults()` (the operator's callers do that).
    ///   - seed: the Secret's `config.env` parsed by `EnvFile.parse`; nil when there is no Secret.
    ///   - clusterDomain: `$CLUSTER_DOMAIN`, else `cluster.local` (`GetClusterDomain`).
    public static func render(tenant: Tenant, seed: [String: EnvFile.Entry]?,
                              clusterDomain: String = "cluster.local") throws(EnvFile.UnrepresentableValue) -> TenantConfig {
        let seed = seed ?? [:]
        let userFound = seed["MINIO_ROOT_USER"] != nil || seed["MINIO_ACCESS_KEY"] != nil
        let passwordFound = seed["MINIO_ROOT_PASSWORD"] != nil || seed["MINIO_SECRET_KEY"] != nil
        var vars = tenantEnvs(tenant: tenant, clusterDomain: clusterDomain)
        // defaults < tenant.spec.env < the Secret's config.env (MINIO_ARGS included).
        for (name, entry) in seed { vars[name] = entry.value }
        // Go's sort.Slice on names compares bytes.
        let sorted = vars.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map { (name: $0.key, value: $0.value) }
        return TenantConfig(content: try EnvFile.render(sorted), rootUserFound: userFound, rootPasswordFound: passwordFound)
    }

    /// `buildTenantEnvs` before the Secret's variables are laid over it.
    static func tenantEnvs(tenant t: Tenant, clusterDomain: String) -> [String: String] {
        var env: [String: String] = [
            "MINIO_UPDATE": "on",
            "MINIO_UPDATE_MINISIGN_PUBKEY": minisignPublicKey,
            "MINIO_PROMETHEUS_JOB_ID": t.prometheusJobName,
        ]
        // crun does not set $HOME.
        if (t.spec.pools ?? []).contains(where: { $0.runtimeClassName == "crun" }) { env["HOME"] = "/" }

        var domains: [String] = []
        if t.spec.features?.bucketDNS == true {
            domains.append("\(t.namespace).svc.\(clusterDomain)")
            env["MINIO_DNS_WEBHOOK_ENDPOINT"] = "http://127.0.0.1:4222/webhook/v1/bucketsrv/\(t.namespace)/\(t.name)"
        }
        if t.hasMinIODomains { domains += t.domainHosts() }
        if !domains.isEmpty { env["MINIO_DOMAIN"] = domains.joined(separator: ",") }

        var serverURL = t.serverEndpoint(clusterDomain: clusterDomain)
        if let first = t.spec.features?.domains?.minio?.first {
            serverURL = first.hasPrefix("http") ? first : "\(t.scheme)://\(first)"
        }
        env["MINIO_SERVER_URL"] = serverURL

        if t.hasConsoleDomain, let console = t.spec.features?.domains?.console {
            env["MINIO_BROWSER_REDIRECT_URL"] = console.hasPrefix("http") ? console : "\(t.scheme)://\(console)"
        }
        if let kes = t.spec.kes {
            env["MINIO_KMS_KES_ENDPOINT"] = t.kesServiceEndpoint(clusterDomain: clusterDomain)
            env["MINIO_KMS_KES_CERT_FILE"] = Tenant.certPath + "/client.crt"
            env["MINIO_KMS_KES_KEY_FILE"] = Tenant.certPath + "/client.key"
            env["MINIO_KMS_KES_CA_PATH"] = Tenant.certPath + "/CAs/kes.crt"
            env["MINIO_KMS_KES_CAPATH"] = Tenant.certPath + "/CAs/kes.crt"
            env["MINIO_KMS_KES_KEY_NAME"] = kes.keyName ?? ""
        }
        env["MINIO_ARGS"] = t.containerArgs(clusterDomain: clusterDomain).joined(separator: " ")
        for e in t.spec.env ?? [] { env[e.name] = e.value ?? "" }
        return env
    }
}
