import Foundation
import Testing

/// The config sidecar's Kubernetes API source against `tandem serve`, over TLS with the
/// kubeconfig serve writes: the Tenant CRD, a Tenant and its Secret applied with kubectl;
/// `validate` renders config.env once; `watch` re-renders it after `kubectl edit` of the Secret
/// and a patch of the Tenant, and exits 1 with MinIO's message when the credentials go.
@Suite(.serialized) struct ServeConfigSidecarTests {
    @Test func theConfigSidecarFollowsTheTenantAndItsSecretThroughServe() throws {
        let serve = try ServeRun()
        let dir = try Tandem.tempDir("serve-cfgsc")
        var watch: WatchProcess?
        defer {
            watch?.stop()
            serve.cleanup()
            try? FileManager.default.removeItem(atPath: dir)
        }
        #expect(serve.ready(), "serve did not start: \(serve.stderr)")
        #expect(try serve.kubectl(["apply", "-f", ServeCustomResourceTests.examples + "/minio-tenant-crd.yaml"]).status == 0)
        let applied = try serve.kubectl(["apply", "-f", ServeCustomResourceTests.examples + "/minio-tenant.yaml"])
        #expect(applied.status == 0, "\(applied.stderr)")
        let kubeconfig = serve.root + "/kubeconfig"
        let api = ["--source", "api", "--kubeconfig", kubeconfig, "--tenant", "myminio"]
        let output = dir + "/config.env"
        func rendered() -> String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }

        let validate = try Tandem.exec(Tandem.binary, ["sidecar", "config", "validate"] + api + ["--output", output])
        #expect(validate.status == 0, "\(validate.stderr)")
        for line in [#"export MINIO_ROOT_USER="minio""#, #"export MINIO_PROMETHEUS_AUTH_TYPE="public""#,
                     #"export MINIO_ARGS="http://myminio-pool-0-{0...3}.myminio-hl.default.svc.cluster.local/export{0...1}""#] {
            #expect(rendered().contains(line + "\n"), "\(line) not in:\n\(rendered())")
        }

        // The server's certificate is checked: without the kubeconfig's CA the handshake fails.
        let untrusted = dir + "/untrusted-kubeconfig"
        try String(contentsOfFile: kubeconfig, encoding: .utf8).split(separator: "\n").filter { !$0.contains("certificate-authority-data") }
            .joined(separator: "\n").write(toFile: untrusted, atomically: true, encoding: .utf8)
        let refused = try Tandem.exec(Tandem.binary, ["sidecar", "config", "validate", "--source", "api", "--kubeconfig", untrusted,
                                                      "--tenant", "myminio", "--output", dir + "/never.env"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("CERTIFICATE_VERIFY_FAILED"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/never.env"))

        let w = try WatchProcess(api + ["--config-name", "myminio-env-configuration", "--output", output])
        watch = w
        #expect(w.readyPort != nil, "\(w.stderr)")
        #expect(w.stderr.contains("through the API in namespace default"), "\(w.stderr)")

        // kubectl edit, its editor a sed script that replaces the Secret's base64 config.env.
        let old = try serve.kubectl(["get", "secret", "myminio-env-configuration", "-o", #"jsonpath={.data.config\.env}"#]).stdout
        let next = Data("export MINIO_ROOT_USER=\"minio\"\nexport MINIO_ROOT_PASSWORD=\"rotated\"\n".utf8).base64EncodedString()
        #expect(!old.isEmpty && !old.contains("|"))
        let started = Date()
        let edit = try serve.kubectl(["edit", "secret", "myminio-env-configuration"], environment: ["KUBE_EDITOR": "sed -i s|\(old)|\(next)|"])
        let edited = Date()
        #expect(edit.stdout.contains("secret/myminio-env-configuration edited"), "\(edit.stdout) \(edit.stderr)")
        #expect(waitUntil { rendered().contains("export MINIO_ROOT_PASSWORD=\"rotated\"\n") }, "\(rendered()) \(w.stderr)")
        let seen = Date()
        // The sidecar logs the time from the watch event to the rename.
        let render = w.stderr.range(of: #"\(([0-9.]+ ms) after the event\)"#, options: .regularExpression).map { String(w.stderr[$0]) } ?? "?"
        print("config sidecar (api source, TLS): kubectl edit took \(Int(edited.timeIntervalSince(started) * 1000)) ms; config.env re-rendered "
              + "\(Int(seen.timeIntervalSince(edited) * 1000)) ms after it returned; sidecar: \(render)")

        let tenant = try serve.kubectl(["patch", "tenant", "myminio", "--type=merge",
                                        "-p", #"{"spec":{"env":[{"name":"MINIO_PROMETHEUS_AUTH_TYPE","value":"jwt"}]}}"#])
        #expect(tenant.status == 0, "\(tenant.stderr)")
        #expect(waitUntil { rendered().contains("export MINIO_PROMETHEUS_AUTH_TYPE=\"jwt\"\n") }, "\(rendered()) \(w.stderr)")

        let removed = try serve.kubectl(["patch", "secret", "myminio-env-configuration", "--type=merge",
                                         "-p", #"{"stringData":{"config.env":"export MINIO_BROWSER=\"on\"\n"}}"#])
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(w.waitForExit(seconds: 10) == 1, "\(w.stderr)")
        #expect(w.stderr.contains("Missing root credentials in the configuration."), "\(w.stderr)")
        #expect(rendered().contains("rotated"), "the last good file stays")
    }

    /// `rest.InClusterConfig()` inside a pod of serve (its own network namespace): the validate
    /// init container (image `quay.io/minio/operator-sidecar`, mapped to the sidecar) finds the
    /// API server through the `KUBERNETES_SERVICE_HOST`/`_PORT` the kubelet injects (the
    /// `kubernetes` Service's ClusterIP, DNATed to serve on the pod bridge), verifies its
    /// certificate against the CA and authenticates with the service account token of the
    /// `kube-api-access-*` volume the ServiceAccount admission adds to every pod.
    @Test func theValidateInitContainerUsesTheInClusterServiceAccount() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        #expect(serve.ready(), "serve did not start: \(serve.stderr)")
        #expect(try serve.kubectl(["apply", "-f", ServeCustomResourceTests.examples + "/minio-tenant-crd.yaml"]).status == 0)
        #expect(try serve.kubectl(["apply", "-f", ServeCustomResourceTests.examples + "/minio-tenant.yaml"]).status == 0)
        let pod = serve.outDir + "/pod.yaml"
        try """
            apiVersion: v1
            kind: Pod
            metadata: {name: minio-incluster}
            spec:
              restartPolicy: Never
              initContainers:
                - name: validate
                  image: quay.io/minio/operator-sidecar:v7.0.1
                  args: [validate, --tenant, myminio, --source, api]
                  volumeMounts:
                    - {name: cfg, mountPath: /tmp/minio}
              containers:
                - name: show
                  image: busybox
                  command: [cat, /tmp/minio/config.env]
                  volumeMounts: [{name: cfg, mountPath: /tmp/minio}]
              volumes:
                - {name: cfg, emptyDir: {}}

            """.write(toFile: pod, atomically: true, encoding: .utf8)
        #expect(try serve.kubectl(["apply", "-f", pod]).status == 0)
        let done = try serve.kubectl(["wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/minio-incluster", "--timeout=60s"])
        #expect(done.status == 0, "\(done.stderr) \((try? serve.kubectl(["logs", "minio-incluster", "-c", "validate"]).stdout) ?? "")")
        let shown = try serve.kubectl(["logs", "minio-incluster", "-c", "show"])
        #expect(shown.stdout.contains("export MINIO_ROOT_USER=\"minio\"\n"), "\(shown.stdout) \(shown.stderr)")
        #expect(serve.stop() == 0)
    }
}
