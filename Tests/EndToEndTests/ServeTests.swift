import Foundation
import KubeAPI
import Testing

/// A `tandem serve` on a free port with its own root, driven by the real `/usr/bin/kubectl`
/// (the dispatcher, which picks kubectl 1.32 from the server's `/version`) through the
/// kubeconfig serve writes. Stopped and removed in every case.
final class ServeRun: @unchecked Sendable {
    let process = Process()
    let root: String
    let outDir: String
    let cacheDir: String
    let ownsRoot: Bool

    init(root existing: String? = nil, arguments: [String] = []) throws {
        ownsRoot = existing == nil
        root = try existing ?? Tandem.tempDir("tandem-serve-root")
        outDir = try Tandem.tempDir("tandem-serve-out")
        cacheDir = try Tandem.tempDir("tandem-serve-kubecache")
        FileManager.default.createFile(atPath: outDir + "/out", contents: nil)
        FileManager.default.createFile(atPath: outDir + "/err", contents: nil)
        process.executableURL = URL(fileURLWithPath: Tandem.binary)
        process.arguments = ["serve", "--root", root, "--port", "0"] + arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outDir + "/out"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: outDir + "/err"))
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var stdout: String { (try? String(contentsOfFile: outDir + "/out", encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: outDir + "/err", encoding: .utf8)) ?? "" }

    /// Waits for the announcement serve prints once it listens (and has written the kubeconfig).
    func ready() -> Bool { waitUntil(60) { stdout.contains("export KUBECONFIG=") || !process.isRunning } && process.isRunning }

    /// Runs kubectl with `KUBECONFIG` set to serve's kubeconfig and a private discovery cache;
    /// `input`, when given, is its stdin (`echo hello | kubectl exec -i …`).
    @discardableResult
    func kubectl(_ args: [String], input: String? = nil, timeout: TimeInterval = 90, environment: [String: String] = [:]) throws
        -> (status: Int32, stdout: String, stderr: String) {
        let dir = try Tandem.tempDir("tandem-kubectl-out")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        FileManager.default.createFile(atPath: dir + "/out", contents: nil)
        FileManager.default.createFile(atPath: dir + "/err", contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/kubectl")
        p.arguments = ["--cache-dir", cacheDir] + args
        var env = ProcessInfo.processInfo.environment
        env["KUBECONFIG"] = root + "/kubeconfig"
        env["HOME"] = cacheDir
        env.merge(environment) { $1 }
        p.environment = env
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/out"))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/err"))
        if let input {
            FileManager.default.createFile(atPath: dir + "/in", contents: Data(input.utf8))
            p.standardInput = FileHandle(forReadingAtPath: dir + "/in")
        } else {
            p.standardInput = FileHandle.nullDevice
        }
        try p.run()
        let pid = p.processIdentifier
        let killer = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        p.waitUntilExit()
        killer.cancel()
        return (p.terminationStatus, (try? String(contentsOfFile: dir + "/out", encoding: .utf8)) ?? "",
                (try? String(contentsOfFile: dir + "/err", encoding: .utf8)) ?? "")
    }

    /// kubectl left running (`get -w`, `logs -f`); its output goes to `out`, its stderr to
    /// `out` + ".err" when `keepStderr`.
    func kubectlInBackground(_ args: [String], keepStderr: Bool = false, environment: [String: String] = [:]) throws -> (process: Process, out: String) {
        let out = outDir + "/bg-\(UUID().uuidString.prefix(6))"
        FileManager.default.createFile(atPath: out, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/kubectl")
        p.arguments = ["--cache-dir", cacheDir] + args
        var env = ProcessInfo.processInfo.environment
        env["KUBECONFIG"] = root + "/kubeconfig"
        env["HOME"] = cacheDir
        env.merge(environment) { $1 }
        p.environment = env
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        if keepStderr { FileManager.default.createFile(atPath: out + ".err", contents: nil) }
        p.standardError = keepStderr ? try FileHandle(forWritingTo: URL(fileURLWithPath: out + ".err")) : FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return (p, out)
    }

    /// Runs `body` against a new serve with the pod `yaml` applied and Ready, given a scratch
    /// directory; stops serve and removes everything afterwards, whatever happened.
    static func withReadyPod(_ yaml: String, named name: String, _ body: (ServeRun, String) throws -> Void) throws {
        let serve = try ServeRun()
        let dir = try Tandem.tempDir("tandem-serve-pod")
        defer {
            serve.cleanup()
            try? FileManager.default.removeItem(atPath: dir)
        }
        try yaml.write(toFile: dir + "/pod.yaml", atomically: true, encoding: .utf8)
        try #require(serve.ready(), "serve did not start: \(serve.stderr)")
        try serve.kubectl(["apply", "-f", dir + "/pod.yaml"])
        let ready = try serve.kubectl(["wait", "--for=condition=Ready", "pod/\(name)", "--timeout=60s"])
        try #require(ready.status == 0, "\(ready.stderr)")
        try body(serve, dir)
    }

    /// Processes below serve whose command line contains `marker`.
    func containers(_ marker: String) -> [Int32] {
        descendants(of: process.processIdentifier).filter { commandLine($0).contains(marker) }
    }

    /// SIGTERM, as a service manager stops it; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Containers outlive a killed serve (the next one adopts them): kills their shims, and the
    /// containers die with them.
    func killShims() {
        let dir = root + "/containers"
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
            guard let data = FileManager.default.contents(atPath: "\(dir)/\(entry)/shim.json"),
                  let record = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let pid = record["shimPid"] as? Int, commandLine(Int32(pid)).contains("__tandem-init") else { continue }
            kill(Int32(pid), SIGKILL)
        }
    }

    func cleanup(keepRoot: Bool = false) {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        // A killed serve leaves its kubernetes Service's nftables table and ClusterIP lease,
        // which the next Tandem to start would remove as stale.
        let pid = process.processIdentifier
        for table in tandemTables() where table.hasPrefix("tandem-\(pid)-") {
            _ = try? Tandem.exec("/usr/sbin/nft", ["delete", "table", "ip", table])
        }
        let leases = "/run/tandem/services"
        for lease in (try? FileManager.default.contentsOfDirectory(atPath: leases)) ?? []
        where (try? String(contentsOfFile: leases + "/" + lease, encoding: .utf8))?.hasPrefix("\(pid) ") == true {
            try? FileManager.default.removeItem(atPath: leases + "/" + lease)
        }
        killShims()
        // A serve killed mid-test leaves its pods' tmpfs volumes (secrets) mounted under the root.
        let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 4, fields[4].hasPrefix(root + "/") else { continue }
            umount2(String(fields[4]), Int32(MNT_DETACH))
        }
        if ownsRoot && !keepRoot { try? FileManager.default.removeItem(atPath: root) }
        try? FileManager.default.removeItem(atPath: outDir)
        try? FileManager.default.removeItem(atPath: cacheDir)
    }
}

@Suite(.serialized) struct ServeTests {
    let seeds = Tandem.seeds

    @Test func kubectlSeesTheServerVersionAndTheDefaultNamespace() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        #expect(serve.ready(), "serve did not start: \(serve.stderr)")
        let version = try serve.kubectl(["version"])
        #expect(version.status == 0, "\(version.stderr)")
        #expect(version.stdout.contains("Server Version: v1.32.5+tandem"), "\(version.stdout)")
        let ns = try serve.kubectl(["get", "ns"])
        #expect(ns.status == 0, "\(ns.stderr)")
        #expect(ns.stdout.range(of: #"(?m)^default\s+Active\s+\d+s"#, options: .regularExpression) != nil, "\(ns.stdout)")
        // The kubeconfig holds the token: only root may read it.
        let mode = try FileManager.default.attributesOfItem(atPath: serve.root + "/kubeconfig")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(serve.stop() == 0)
    }

    @Test func aRequestWithoutTheTokenIsUnauthorized() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        #expect(serve.ready(), "serve did not start: \(serve.stderr)")
        let r = try serve.kubectl(["get", "pods", "--token", "wrong"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("You must be logged in to the server"), "\(r.stderr)")
    }

    @Test func theInitAndSidecarSeedRunsThroughKubectl() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        #expect(serve.ready(), "serve did not start: \(serve.stderr)")
        let apply = try serve.kubectl(["apply", "-f", "\(seeds)/init-and-sidecar.yaml"])
        #expect(apply.status == 0, "\(apply.stderr)")
        #expect(apply.stdout == "pod/init-and-sidecar created\n", "\(apply.stdout)")
        var table = ""
        #expect(waitUntil(60) {
            table = (try? serve.kubectl(["get", "pods"]).stdout) ?? ""
            return table.range(of: #"(?m)^init-and-sidecar\s+2/2\s+Running\s+0\s+\d+s"#, options: .regularExpression) != nil
        }, "\(table)")
        #expect(table.hasPrefix("NAME"), "\(table)")
        var logs = ""
        #expect(waitUntil(20) {
            logs = (try? serve.kubectl(["logs", "init-and-sidecar", "-c", "sidecar-monitor"]).stdout) ?? ""
            return logs.contains("Monitoring...")
        }, "\(logs)")
        let phase = try serve.kubectl(["get", "pod", "init-and-sidecar", "-o", "jsonpath={.status.phase}"])
        #expect(phase.stdout == "Running", "\(phase.stdout) \(phase.stderr)")
        let yaml = try serve.kubectl(["get", "pod", "init-and-sidecar", "-o", "yaml"])
        #expect(yaml.stdout.contains("kind: Pod") && yaml.stdout.contains("nodeName:"), "\(yaml.stdout)")
        #expect(!serve.containers("Monitoring...").isEmpty, "the sidecar is not running under serve")

        let watch = try serve.kubectlInBackground(["get", "pods", "-w"])
        let follow = try serve.kubectlInBackground(["logs", "-f", "init-and-sidecar", "-c", "sidecar-monitor"])
        defer {
            for p in [watch.process, follow.process] where p.isRunning { p.terminate() }
        }
        #expect(waitUntil(10) { ((try? String(contentsOfFile: watch.out, encoding: .utf8)) ?? "").contains("Running") })
        let delete = try serve.kubectl(["delete", "pod", "init-and-sidecar"])
        #expect(delete.status == 0, "\(delete.stderr)")
        #expect(delete.stdout == "pod \"init-and-sidecar\" deleted\n", "\(delete.stdout)")
        // `get -w` saw the deletion as the watch's rows; `logs -f` ended with the container.
        let rows = (try? String(contentsOfFile: watch.out, encoding: .utf8)) ?? ""
        #expect(rows.range(of: #"(?m)^init-and-sidecar\s+2/2\s+Terminating\s+0\s+"#, options: .regularExpression) != nil, "\(rows)")
        #expect(waitUntil(5) { !follow.process.isRunning }, "logs -f did not end with the container")
        #expect(((try? String(contentsOfFile: follow.out, encoding: .utf8)) ?? "").hasPrefix("Monitoring...\n"))
        // kubectl waited for the DELETED event: the containers are gone by now.
        #expect(serve.containers("Monitoring...").isEmpty)
        #expect(serve.containers("nginx").isEmpty)
        let after = try serve.kubectl(["get", "pods"])
        #expect(after.stderr.contains("No resources found in default namespace."), "\(after.stdout) \(after.stderr)")
        #expect(serve.stop() == 0)
    }

    @Test func aJobWithANativeSidecarCompletesForKubectlWait() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        #expect(serve.ready(), "serve did not start: \(serve.stderr)")
        let apply = try serve.kubectl(["apply", "-f", "\(seeds)/job-sidecar-job-demo.yaml"])
        #expect(apply.stdout == "job.batch/sidecar-job-demo created\n", "\(apply.stdout) \(apply.stderr)")
        let wait = try serve.kubectl(["wait", "--for=condition=complete", "job/sidecar-job-demo", "--timeout=60s"])
        #expect(wait.status == 0, "\(wait.stdout) \(wait.stderr)")
        #expect(wait.stdout == "job.batch/sidecar-job-demo condition met\n", "\(wait.stdout)")
        let pods = try serve.kubectl(["get", "pods", "-l", "job-name=sidecar-job-demo"])
        #expect(pods.stdout.range(of: #"(?m)^sidecar-job-demo-\w{5}\s+0/2\s+Completed\s+0\s+\d+s"#, options: .regularExpression) != nil, "\(pods.stdout)")
        let jobs = try serve.kubectl(["get", "jobs"])
        #expect(jobs.stdout.range(of: #"(?m)^sidecar-job-demo\s+Complete\s+1/1\s+"#, options: .regularExpression) != nil, "\(jobs.stdout)")
        // Deleting the Job takes its pod with it (the garbage collector's background cascade).
        let delete = try serve.kubectl(["delete", "job", "sidecar-job-demo"])
        #expect(delete.stdout == "job.batch \"sidecar-job-demo\" deleted\n", "\(delete.stdout) \(delete.stderr)")
        #expect(waitUntil(20) { (try? serve.kubectl(["get", "pods", "-o", "name"]).stdout) == "" })
        #expect(serve.stop() == 0)
    }

    @Test func aDeploymentRollsOutScalesAndUpdatesThroughKubectl() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        #expect(serve.ready(), "serve did not start: \(serve.stderr)")
        // The seed, with a short grace period so that replaced pods go quickly.
        let dir = try Tandem.tempDir("tandem-serve-deploy")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let seed = try String(contentsOfFile: "\(seeds)/deployment-sidecar-demo.yaml", encoding: .utf8)
            .replacingOccurrences(of: "\n    spec:\n", with: "\n    spec:\n      terminationGracePeriodSeconds: 2\n")
        try seed.write(toFile: dir + "/d.yaml", atomically: true, encoding: .utf8)
        #expect(try serve.kubectl(["apply", "-f", dir + "/d.yaml"]).stdout == "deployment.apps/sidecar-demo created\n")
        let rollout = try serve.kubectl(["rollout", "status", "deployment/sidecar-demo", "--timeout=60s"])
        #expect(rollout.stdout.hasSuffix("deployment \"sidecar-demo\" successfully rolled out\n"), "\(rollout.stdout) \(rollout.stderr)")

        let scale = try serve.kubectl(["scale", "deployment/sidecar-demo", "--replicas=2"])
        #expect(scale.stdout == "deployment.apps/sidecar-demo scaled\n", "\(scale.stdout) \(scale.stderr)")
        #expect(try serve.kubectl(["rollout", "status", "deployment/sidecar-demo", "--timeout=60s"]).status == 0)
        let two = try serve.kubectl(["get", "deployment", "sidecar-demo"])
        #expect(two.stdout.range(of: #"(?m)^sidecar-demo\s+2/2\s+2\s+2\s+"#, options: .regularExpression) != nil, "\(two.stdout)")

        // A changed template through client-side apply (a strategic merge patch): a new ReplicaSet.
        try seed.replacingOccurrences(of: "Writing the logs", with: "Writing new logs")
            .write(toFile: dir + "/d.yaml", atomically: true, encoding: .utf8)
        let configured = try serve.kubectl(["apply", "-f", dir + "/d.yaml"])
        #expect(configured.stdout == "deployment.apps/sidecar-demo configured\n", "\(configured.stdout) \(configured.stderr)")
        #expect(try serve.kubectl(["rollout", "status", "deployment/sidecar-demo", "--timeout=60s"]).status == 0)
        let replicaSets = try serve.kubectl(["get", "rs", "-o", "jsonpath={range .items[*]}{.spec.replicas} {end}"])
        // The manifest says `replicas: 1` and the live object 2: apply's three-way merge sets it back,
        // as on a cluster.
        #expect(replicaSets.stdout.split(separator: " ").sorted() == ["0", "1"], "\(replicaSets.stdout)")
        let generation = try serve.kubectl(["get", "deployment", "sidecar-demo", "-o", "jsonpath={.metadata.generation} {.status.observedGeneration}"])
        #expect(generation.stdout == "3 3", "\(generation.stdout)")

        let delete = try serve.kubectl(["delete", "-f", dir + "/d.yaml"])
        #expect(delete.stdout == "deployment.apps \"sidecar-demo\" deleted\n", "\(delete.stdout) \(delete.stderr)")
        #expect(waitUntil(30) { (try? serve.kubectl(["get", "pods,rs", "-o", "name"]).stdout) == "" })
        #expect(serve.stop() == 0)
    }

    /// `kubectl create configmap/secret`, a pod mounting both, then `kubectl patch`: the running
    /// container sees the new contents behind a new `..data`, with no restart.
    @Test func editedConfigMapsAndSecretsReachARunningPodsVolumes() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        #expect(serve.ready(), "serve did not start: \(serve.stderr)")
        #expect(try serve.kubectl(["create", "configmap", "app-config", "--from-literal=greeting=v1"]).status == 0)
        #expect(try serve.kubectl(["create", "secret", "generic", "app-secret", "--from-literal=password=s1"]).status == 0)
        let marker = "serve-cfg-\(UUID().uuidString.prefix(8))"
        let dir = try Tandem.tempDir("tandem-serve-cfg")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try VolumeUpdateTests.readerPod(marker: marker).write(toFile: dir + "/pod.yaml", atomically: true, encoding: .utf8)
        let apply = try serve.kubectl(["apply", "-f", dir + "/pod.yaml"])
        #expect(apply.status == 0, "\(apply.stderr)")
        #expect(try serve.kubectl(["wait", "--for=condition=Ready", "pod/cfg-reader", "--timeout=60s"]).status == 0)
        let pid = try #require(serve.containers(marker).first)
        func read(_ path: String) -> String? { try? String(contentsOfFile: "/proc/\(pid)/root\(path)", encoding: .utf8) }
        #expect(read("/etc/cfg/greeting") == "v1" && read("/etc/sec/password") == "s1")

        #expect(try serve.kubectl(["patch", "configmap", "app-config", "--type", "merge", "-p", #"{"data":{"greeting":"v2"}}"#]).status == 0)
        #expect(try serve.kubectl(["patch", "secret", "app-secret", "--type", "merge", "-p", #"{"data":{"password":"czI="}}"#]).status == 0)
        #expect(waitUntil(10) { read("/etc/cfg/greeting") == "v2" && read("/etc/sec/password") == "s2" },
                "not updated: \(read("/etc/cfg/greeting") ?? "nil"), \(read("/etc/sec/password") ?? "nil")")
        #expect(serve.containers(marker) == [pid], "the container was restarted")
        let restarts = try serve.kubectl(["get", "pod", "cfg-reader", "-o", "jsonpath={.status.containerStatuses[0].restartCount}"])
        #expect(restarts.stdout == "0")
        // Stopped as a service manager stops it: the pod is terminated and its volumes unmounted.
        #expect(serve.stop() == 0)
    }

    @Test func errorsReadAsARealClustersDo() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        #expect(serve.ready(), "serve did not start: \(serve.stderr)")
        let missing = try serve.kubectl(["get", "pod", "nope"])
        #expect(missing.status == 1)
        #expect(missing.stderr == "Error from server (NotFound): pods \"nope\" not found\n", "\(missing.stderr)")
        let deleteMissing = try serve.kubectl(["delete", "deployment", "nope"])
        #expect(deleteMissing.stderr == "Error from server (NotFound): deployments.apps \"nope\" not found\n", "\(deleteMissing.stderr)")

        let dir = try Tandem.tempDir("tandem-serve-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
            apiVersion: v1
            kind: Pod
            metadata:
              name: twins
            spec:
              containers:
              - name: same
                image: busybox
                command: ["sleep", "5"]
              - name: same
                image: busybox
                command: ["sleep", "5"]
            """.write(toFile: dir + "/dup.yaml", atomically: true, encoding: .utf8)
        let dup = try serve.kubectl(["apply", "-f", dir + "/dup.yaml"])
        #expect(dup.status == 1)
        #expect(dup.stderr == "The Pod \"twins\" is invalid: spec.containers[1].name: Duplicate value: \"same\"\n", "\(dup.stderr)")

        try """
            apiVersion: v1
            kind: Pod
            metadata:
              name: typo
            spec:
              containers:
              - name: c
                image: busybox
                comand: ["sleep", "5"]
            """.write(toFile: dir + "/typo.yaml", atomically: true, encoding: .utf8)
        let typo = try serve.kubectl(["apply", "-f", dir + "/typo.yaml"])
        #expect(typo.status == 1)
        #expect(typo.stderr.contains("strict decoding error: unknown field \"spec.containers[0].comand\""), "\(typo.stderr)")

        let created = try serve.kubectl(["create", "-f", "\(seeds)/init-and-sidecar.yaml", "--dry-run=server"])
        #expect(created.stdout == "pod/init-and-sidecar created (server dry run)\n", "\(created.stdout) \(created.stderr)")
        #expect(try serve.kubectl(["get", "pods", "-o", "name"]).stdout == "")
        #expect(serve.stop() == 0)
    }

    @Test func objectsSurviveARestartOnTheSameRoot() throws {
        let first = try ServeRun()
        defer { first.cleanup() }
        #expect(first.ready(), "serve did not start: \(first.stderr)")
        let dir = try Tandem.tempDir("tandem-serve-keep")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
            apiVersion: v1
            kind: Namespace
            metadata:
              name: team
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: keep
            data:
              a: "1"
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: web
            spec:
              selector:
                app: web
              ports:
              - port: 80
            """.write(toFile: dir + "/keep.yaml", atomically: true, encoding: .utf8)
        let apply = try first.kubectl(["apply", "-f", dir + "/keep.yaml"])
        #expect(apply.stdout == "namespace/team created\nconfigmap/keep created\nservice/web created\n", "\(apply.stdout) \(apply.stderr)")
        // kubectl's typed create sends protobuf.
        let secret = try first.kubectl(["create", "secret", "generic", "cfg", "--from-literal=user=admin"])
        #expect(secret.stdout == "secret/cfg created\n", "\(secret.stdout) \(secret.stderr)")
        let label = try first.kubectl(["label", "configmap", "keep", "tier=one"])
        #expect(label.stdout == "configmap/keep labeled\n", "\(label.stdout) \(label.stderr)")
        #expect(first.stop() == 0)

        let second = try ServeRun(root: first.root)
        defer { second.cleanup() }
        #expect(second.ready(), "serve did not restart: \(second.stderr)")
        let cm = try second.kubectl(["get", "configmap", "keep", "-o", "jsonpath={.data.a} {.metadata.labels.tier}"])
        #expect(cm.stdout == "1 one", "\(cm.stdout) \(cm.stderr)")
        let svc = try second.kubectl(["get", "svc"])
        #expect(svc.stdout.range(of: #"(?m)^web\s+ClusterIP\s+<none>\s+<none>\s+80/TCP\s+\d+s$"#, options: .regularExpression) != nil, "\(svc.stdout)")
        let cfg = try second.kubectl(["get", "secret", "cfg", "-o", "jsonpath={.type} {.data.user}"])
        #expect(cfg.stdout == "Opaque YWRtaW4=", "\(cfg.stdout) \(cfg.stderr)")
        let ns = try second.kubectl(["get", "ns", "team", "-o", "name"])
        #expect(ns.stdout == "namespace/team\n", "\(ns.stdout) \(ns.stderr)")
        #expect(second.stop() == 0)
    }
}
