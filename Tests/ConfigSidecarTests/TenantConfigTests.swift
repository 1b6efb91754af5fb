import Foundation
import Testing
@testable import ConfigSidecar

/// `GetFullTenantConfig` against the MinIO operator's own expected outputs
/// (pkg/configuration/tenant_configuration_test.go), byte for byte, and the cases it leaves out.
struct TenantConfigTests {
    static let seed = """
        export MINIO_ROOT_USER="minio"
        export MINIO_ROOT_PASSWORD="minio123"
        export MINIO_STORAGE_CLASS_STANDARD="EC:2"
        export MINIO_BROWSER="on"
        """

    func render(_ tenantYAML: String, seed: String? = TenantConfigTests.seed, clusterDomain: String = "cluster.local") throws -> TenantConfig {
        var tenant = try Tenant.decode("apiVersion: minio.min.io/v2\nkind: Tenant\n" + tenantYAML, name: nil, source: "t.yaml")
        tenant.ensureDefaults()
        let parsed = try seed.map { try EnvFile.parse($0, source: "config.env") }
        return try TenantConfig.render(tenant: tenant, seed: parsed, clusterDomain: clusterDomain)
    }

    /// MinIO's expected output for its "Empty tenant with one env var" case, verbatim.
    static let emptyTenantOutput = """
        export MINIO_ARGS=""
        export MINIO_BROWSER="on"
        export MINIO_PROMETHEUS_JOB_ID="minio-job"
        export MINIO_ROOT_PASSWORD="minio123"
        export MINIO_ROOT_USER="minio"
        export MINIO_SERVER_URL="https://minio..svc.cluster.local:443"
        export MINIO_STORAGE_CLASS_STANDARD="EC:2"
        export MINIO_UPDATE="on"
        export MINIO_UPDATE_MINISIGN_PUBKEY="RWTx5Zr1tiHQLwG9keckT0c45M3AGeHD6IvimQHpyRywVWGbP1aVSGav"
        export TEST="value"

        """
    /// MinIO's "with domains" case: the same plus the redirect URL after MINIO_BROWSER.
    static let consoleDomainOutput = emptyTenantOutput.replacingOccurrences(
        of: "export MINIO_BROWSER=\"on\"\n",
        with: "export MINIO_BROWSER=\"on\"\nexport MINIO_BROWSER_REDIRECT_URL=\"http://console.minio\"\n")

    @Test func emptyTenantWithOneEnvVarMatchesMinIO() throws {
        let c = try render("metadata: {}\nspec:\n  env: [{name: TEST, value: value}]\n")
        #expect(c.content == Self.emptyTenantOutput)
        #expect(c.credentialsFound)
    }

    @Test func consoleDomainSetsBrowserRedirectURLAsMinIO() throws {
        let c = try render("metadata: {}\nspec:\n  env: [{name: TEST, value: value}]\n  features: {domains: {console: 'http://console.minio'}}\n")
        #expect(c.content == Self.consoleDomainOutput)
    }

    /// MinIO's "One Pool Tenant" case: its MINIO_ARGS and MINIO_SERVER_URL lines.
    @Test func onePoolTenantMatchesMinIO() throws {
        let c = try render("""
            metadata: {name: tenant, namespace: ns-x}
            spec:
              env: [{name: TEST, value: value}]
              features: {domains: {console: 'http://console.minio'}}
              pools: [{name: pool-0, servers: 4, volumesPerServer: 4}]

            """)
        #expect(c.content == Self.consoleDomainOutput
            .replacingOccurrences(of: "export MINIO_ARGS=\"\"", with: "export MINIO_ARGS=\"https://tenant-pool-0-{0...3}.tenant-hl.ns-x.svc.cluster.local/export{0...3}\"")
            .replacingOccurrences(of: "https://minio..svc", with: "https://minio.ns-x.svc"))
    }

    /// The example quoted in minio/operator PR #2140: default pool name, a subPath.
    @Test func minioArgsOfDefaultPoolWithSubPath() throws {
        let c = try render("""
            metadata: {name: myminio, namespace: test-tenant}
            spec: {pools: [{servers: 4, volumesPerServer: 1}], subPath: /data}

            """)
        #expect(c.content.contains("export MINIO_ARGS=\"https://myminio-ss-0-{0...3}.myminio-hl.test-tenant.svc.cluster.local/export/data\"\n"))
    }

    @Test func standaloneServerGetsThePathOnlyAndPlainHTTPWithoutTLS() throws {
        let c = try render("""
            metadata: {name: solo, namespace: default}
            spec: {requestAutoCert: false, mountPath: /data/, pools: [{servers: 1, volumesPerServer: 1}]}

            """, clusterDomain: "example.org")
        #expect(c.content.contains("export MINIO_ARGS=\"/data\"\n"))
        #expect(c.content.contains("export MINIO_SERVER_URL=\"http://minio.default.svc.example.org:80\"\n"))
    }

    @Test func poolsAreJoinedWithSpacesAndTLSFollowsExternalCert() throws {
        let c = try render("""
            metadata: {name: t, namespace: n}
            spec:
              requestAutoCert: false
              externalCertSecret: [{name: tls, type: kubernetes.io/tls}]
              pools: [{name: a, servers: 2, volumesPerServer: 2}, {name: b, servers: 3, volumesPerServer: 1}]

            """)
        #expect(c.content.contains("export MINIO_ARGS=\"https://t-a-{0...1}.t-hl.n.svc.cluster.local/export{0...1} https://t-b-{0...2}.t-hl.n.svc.cluster.local/export\"\n"))
    }

    @Test func bucketDNSDomainsKESCrunAndPrometheusOperator() throws {
        let c = try render("""
            metadata: {name: t, namespace: n}
            spec:
              requestAutoCert: false
              prometheusOperator: true
              features:
                bucketDNS: true
                domains: {minio: [minio.example.com, 'https://s3.example.com:9000'], console: console.example.com}
              kes: {image: kes}
              pools: [{servers: 4, volumesPerServer: 1, runtimeClassName: crun}]

            """)
        let lines = Set(c.content.split(separator: "\n").map(String.init))
        #expect(lines.contains("export HOME=\"/\""))
        #expect(lines.contains("export MINIO_DNS_WEBHOOK_ENDPOINT=\"http://127.0.0.1:4222/webhook/v1/bucketsrv/n/t\""))
        #expect(lines.contains("export MINIO_DOMAIN=\"n.svc.cluster.local,minio.example.com,s3.example.com\""))
        #expect(lines.contains("export MINIO_SERVER_URL=\"http://minio.example.com\""))
        #expect(lines.contains("export MINIO_BROWSER_REDIRECT_URL=\"http://console.example.com\""))
        #expect(lines.contains("export MINIO_KMS_KES_ENDPOINT=\"https://t-kes-hl-svc.n.svc.cluster.local:7373\""))
        #expect(lines.contains("export MINIO_KMS_KES_KEY_NAME=\"my-minio-key\""))
        #expect(lines.contains("export MINIO_KMS_KES_CAPATH=\"/tmp/certs/CAs/kes.crt\""))
        #expect(lines.contains("export MINIO_PROMETHEUS_JOB_ID=\"t-n-minio-job\""))
    }

    /// defaults < tenant.spec.env < the Secret's config.env, MINIO_ARGS included.
    @Test func precedenceSecretOverTenantEnvOverDefaults() throws {
        let c = try render("""
            metadata: {name: t, namespace: n}
            spec:
              env: [{name: MINIO_UPDATE, value: "off"}, {name: MINIO_BROWSER, value: tenant}, {name: FROM_SECRET_REF, valueFrom: {secretKeyRef: {name: s, key: k}}}]
              pools: [{servers: 4, volumesPerServer: 1}]

            """, seed: TenantConfigTests.seed + "\nexport MINIO_ARGS=\"/custom\"\n")
        let lines = c.content.split(separator: "\n").map(String.init)
        #expect(lines.contains("export MINIO_UPDATE=\"off\""))
        #expect(lines.contains("export MINIO_BROWSER=\"on\""))
        #expect(lines.contains("export MINIO_ARGS=\"/custom\""))
        #expect(lines.contains("export FROM_SECRET_REF=\"\""))
        #expect(lines == lines.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    }

    @Test func credentialsArePresenceOnlyAndAcceptTheLegacyNames() throws {
        #expect(try render("metadata: {}\nspec: {}\n", seed: "export MINIO_ACCESS_KEY=a\nexport MINIO_SECRET_KEY=\"\"\n").credentialsFound)
        let noPassword = try render("metadata: {}\nspec: {}\n", seed: "export MINIO_ROOT_USER=a\n# export MINIO_ROOT_PASSWORD=b\n")
        #expect(noPassword.rootUserFound && !noPassword.rootPasswordFound)
        let noSecret = try render("metadata: {}\nspec: {}\n", seed: nil)
        #expect(!noSecret.rootUserFound && !noSecret.rootPasswordFound)
        // tenant.spec.env does not count: the check looks at the Secret only.
        #expect(!(try render("metadata: {}\nspec: {env: [{name: MINIO_ROOT_USER, value: u}, {name: MINIO_ROOT_PASSWORD, value: p}]}\n", seed: "").credentialsFound))
    }

    @Test func aValueWithALineBreakIsRefused() throws {
        #expect(throws: EnvFile.UnrepresentableValue.self) {
            try render("metadata: {}\nspec: {env: [{name: MULTI, value: \"a\\nexport MINIO_ROOT_USER=evil\"}]}\n")
        }
    }
}
