import Foundation
import KubeAPI
import Testing

/// In-cluster clients in `tandem serve`'s pods: the `kubernetes` Service the API server keeps,
/// and the Service environment variables the kubelet gives every container.
@Suite(.serialized) struct ServeInClusterTests {
    /// The API port serve announced in its kubeconfig.
    static func apiPort(_ serve: ServeRun) throws -> String {
        let kubeconfig = try String(contentsOfFile: serve.root + "/kubeconfig", encoding: .utf8)
        return kubeconfig.range(of: #"server: https://127\.0\.0\.1:[0-9]+"#, options: .regularExpression)
            .map { String(kubeconfig[$0].split(separator: ":").last!) } ?? ""
    }

    /// What the pod's one container printed, once the pod has succeeded.
    static func completedLogs(_ serve: ServeRun, pod: String) throws -> String {
        let done = try serve.kubectl(["wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/\(pod)", "--timeout=60s"])
        let logs = try serve.kubectl(["logs", pod]).stdout
        #expect(done.status == 0, "\(done.stderr) \(logs)")
        return logs
    }

    /// Applies the pod `yaml` and returns what it printed once it has succeeded.
    static func run(_ serve: ServeRun, pod: String, _ yaml: String) throws -> String {
        let manifest = serve.outDir + "/\(pod).yaml"
        try yaml.write(toFile: manifest, atomically: true, encoding: .utf8)
        let applied = try serve.kubectl(["apply", "-f", manifest])
        try #require(applied.status == 0, "\(applied.stderr)")
        return try completedLogs(serve, pod: pod)
    }

    /// The environment a container printed (`env` as its command), as `NAME=value` lines.
    static func environment(_ serve: ServeRun, pod: String) throws -> [String: String] {
        var env: [String: String] = [:]
        for line in try completedLogs(serve, pod: pod).split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            env[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return env
    }

    @Test func theKubernetesServicePointsAtTheAPIAndComesBack() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        try #require(serve.ready(), "serve did not start: \(serve.stderr)")
        let port = try Self.apiPort(serve)
        let svc = try serve.kubectl(["get", "svc", "kubernetes", "-o",
                                     "jsonpath={.spec.clusterIP} {.spec.ports[0].name} {.spec.ports[0].port} {.spec.ports[0].targetPort}"])
        let fields = svc.stdout.split(separator: " ").map(String.init)
        try #require(fields.count == 4, "\(svc.stdout) \(svc.stderr)")
        // 10.96.0.1 unless another serve on this machine holds it (then one of the next ones).
        #expect((1...9).map { "10.96.0.\($0)" }.contains(fields[0]), "\(fields)")
        #expect(Array(fields[1...]) == ["https", "443", port])
        let ep = try serve.kubectl(["get", "endpoints", "kubernetes", "-o", "jsonpath={.subsets[0].addresses[0].ip}:{.subsets[0].ports[0].port}"])
        #expect(ep.stdout == "10.88.0.1:\(port)", "\(ep.stderr)")
        let slice = try serve.kubectl(["get", "endpointslices.discovery.k8s.io", "kubernetes", "-o",
                                       "jsonpath={.endpoints[0].addresses[0]}:{.ports[0].port} {.metadata.labels.kubernetes\\.io/service-name}"])
        #expect(slice.stdout == "10.88.0.1:\(port) kubernetes", "\(slice.stderr)")
        // kubectl's columns for both, from the server's Table.
        func row(_ args: [String]) throws -> [String] {
            let lines = try serve.kubectl(["get"] + args).stdout.split(separator: "\n")
            return lines.count == 2 ? lines.flatMap { $0.split(separator: " ").map(String.init) } : []
        }
        #expect(try row(["endpoints", "kubernetes"]).dropLast() == ["NAME", "ENDPOINTS", "AGE", "kubernetes", "10.88.0.1:\(port)"])
        #expect(try row(["endpointslices", "kubernetes"]).dropLast()
            == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE", "kubernetes", "IPv4", port, "10.88.0.1"])

        // Deleted, it is made again (a new object), as kube-apiserver's controller does.
        let uid = try serve.kubectl(["get", "svc", "kubernetes", "-o", "jsonpath={.metadata.uid}"]).stdout
        #expect(try serve.kubectl(["delete", "svc", "kubernetes"]).status == 0)
        #expect(waitUntil(10) {
            let again = (try? serve.kubectl(["get", "svc", "kubernetes", "-o", "jsonpath={.metadata.uid} {.spec.clusterIP}"]).stdout) ?? ""
            return !again.isEmpty && !again.hasPrefix(uid) && again.hasSuffix(" " + fields[0])
        })
        // Edited ports are put back.
        #expect(try serve.kubectl(["patch", "svc", "kubernetes", "--type=json",
                                   "-p", #"[{"op":"replace","path":"/spec/ports/0/port","value":8443}]"#]).status == 0)
        #expect(waitUntil(10) {
            (try? serve.kubectl(["get", "svc", "kubernetes", "-o", "jsonpath={.spec.ports[0].port}"]).stdout) == "443"
        })
        #expect(serve.stop() == 0)
    }

    @Test func podsGetTheServiceEnvironmentOfTheirNamespaceAndTheMaster() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        try #require(serve.ready(), "serve did not start: \(serve.stderr)")
        let master = try serve.kubectl(["get", "svc", "kubernetes", "-o", "jsonpath={.spec.clusterIP}"]).stdout
        try #require(!master.isEmpty)
        let manifest = serve.outDir + "/pods.yaml"
        try """
            apiVersion: v1
            kind: Service
            metadata: {name: my-svc}
            spec:
              clusterIP: 10.96.201.17
              selector: {app: none}
              ports: [{name: http, port: 8080, targetPort: 80}, {name: dns, port: 53, protocol: UDP}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: headless}
            spec:
              clusterIP: None
              selector: {app: none}
              ports: [{port: 80}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: linked}
            spec:
              restartPolicy: Never
              containers:
                - name: c
                  image: busybox
                  command: [env]
                  env: [{name: MY_URL, value: "http://$(MY_SVC_SERVICE_HOST):$(MY_SVC_SERVICE_PORT_HTTP)"}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: unlinked}
            spec:
              enableServiceLinks: false
              restartPolicy: Never
              containers: [{name: c, image: busybox, command: [env]}]

            """.write(toFile: manifest, atomically: true, encoding: .utf8)
        let applied = try serve.kubectl(["apply", "-f", manifest])
        try #require(applied.status == 0, "\(applied.stderr)")

        let linked = try Self.environment(serve, pod: "linked")
        #expect(linked["KUBERNETES_SERVICE_HOST"] == master)
        #expect(linked["KUBERNETES_SERVICE_PORT"] == "443")
        #expect(linked["KUBERNETES_SERVICE_PORT_HTTPS"] == "443")
        #expect(linked["KUBERNETES_PORT"] == "tcp://\(master):443")
        #expect(linked["KUBERNETES_PORT_443_TCP_ADDR"] == master)
        #expect(linked["MY_SVC_SERVICE_HOST"] == "10.96.201.17")
        #expect(linked["MY_SVC_SERVICE_PORT"] == "8080")
        #expect(linked["MY_SVC_PORT_53_UDP"] == "udp://10.96.201.17:53")
        #expect(linked["MY_URL"] == "http://10.96.201.17:8080")
        #expect(!linked.keys.contains { $0.hasPrefix("HEADLESS_") })

        let unlinked = try Self.environment(serve, pod: "unlinked")
        #expect(unlinked["KUBERNETES_SERVICE_HOST"] == master)
        #expect(unlinked["KUBERNETES_SERVICE_PORT"] == "443")
        #expect(!unlinked.keys.contains { $0.hasPrefix("MY_SVC_") }, "\(unlinked)")
        #expect(serve.stop() == 0)
    }

    /// Real in-cluster clients in pods with their own network namespace, nothing set by hand:
    /// kubectl (client-go's `rest.InClusterConfig()`: no kubeconfig) and the official Python
    /// client (`python3-kubernetes`, `load_incluster_config()`) read the injected
    /// `KUBERNETES_SERVICE_HOST`/`_PORT`, the service account token and `ca.crt`, and verify the
    /// certificate against the ClusterIP they dial.
    @Test func inClusterClientsInPodsReachTheAPIThroughTheClusterIP() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        try #require(serve.ready(), "serve did not start: \(serve.stderr)")
        let master = try serve.kubectl(["get", "svc", "kubernetes", "-o", "jsonpath={.spec.clusterIP}"]).stdout
        let kubectl = try Self.run(serve, pod: "kubectl-incluster", """
            apiVersion: v1
            kind: Pod
            metadata: {name: kubectl-incluster}
            spec:
              restartPolicy: Never
              containers:
                - name: c
                  image: busybox
                  command: [/usr/bin/kubectl, get, svc, kubernetes, -o, "jsonpath={.metadata.name} {.spec.ports[0].port}"]
                  env: [{name: HOME, value: /tmp}]

            """)
        #expect(kubectl.trimmingCharacters(in: .newlines) == "kubernetes 443", "\(kubectl)")
        let python = try Self.run(serve, pod: "py-incluster", """
            apiVersion: v1
            kind: Pod
            metadata: {name: py-incluster}
            spec:
              restartPolicy: Never
              containers:
                - name: c
                  image: busybox
                  command:
                    - /usr/bin/python3
                    - -c
                    - |
                      from kubernetes import client, config
                      config.load_incluster_config()
                      print("host", client.Configuration.get_default_copy().host)
                      v1 = client.CoreV1Api()
                      print("service", v1.read_namespaced_service("kubernetes", "default").spec.cluster_ip)
                      print("pods", ",".join(p.metadata.name for p in v1.list_namespaced_pod("default").items))

            """)
        #expect(python == "host https://\(master):443\nservice \(master)\npods kubectl-incluster,py-incluster\n", "\(python)")
        #expect(serve.stop() == 0)
    }

    /// `tandem run` gives pods the Service variables of the manifest's Services, with the
    /// addresses it allocated.
    @Test func runGivesPodsTheManifestsServices() throws {
        let r = try Tandem.run("""
            apiVersion: v1
            kind: Service
            metadata: {name: web-front}
            spec:
              selector: {app: web}
              ports: [{name: http, port: 80, targetPort: 8080}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: show}
            spec:
              restartPolicy: Never
              containers: [{name: c, image: busybox, command: [env]}]
            """, keepRoot: true)
        defer { Tandem.cleanup(r) }
        #expect(r.status == 0, "\(r.stderr.suffix(500))")
        let ip = r.kind("Service").first?["spec"]?["clusterIP"]?.stringValue ?? ""
        try #require(!ip.isEmpty)
        let log = r.log(pod: "show", container: "c")
        #expect(log.contains("WEB_FRONT_SERVICE_HOST=\(ip)\n"), "\(log)")
        #expect(log.contains("WEB_FRONT_SERVICE_PORT_HTTP=80\n"))
        #expect(log.contains("WEB_FRONT_PORT_80_TCP=tcp://\(ip):80\n"))
        // No API server: no master Service.
        #expect(!log.contains("KUBERNETES_SERVICE_HOST"))
    }
}
