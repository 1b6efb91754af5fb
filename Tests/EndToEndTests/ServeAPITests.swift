import Foundation
import Testing

/// The wider `tandem serve` API, driven by the real `/usr/bin/kubectl` (and the official Python
/// client): the kubelet's and scheduler's Events, the Node, ServiceAccounts, namespace
/// deletion, finalizers and foreground deletion, pagination and watch bookmarks.
@Suite(.serialized) struct ServeAPITests {
    func manifest(_ text: String) throws -> (path: String, dir: String) {
        let dir = try Tandem.tempDir("tandem-serve-api")
        try text.write(toFile: dir + "/m.yaml", atomically: true, encoding: .utf8)
        return (dir + "/m.yaml", dir)
    }

    func matches(_ text: String, _ pattern: String) -> Bool {
        text.range(of: pattern, options: .regularExpression) != nil
    }

    /// A pod whose init container succeeds, whose `crash` container exits 1 (back-off) and whose
    /// `probed` container fails its liveness probe: the kubelet's events for all of it, as
    /// `kubectl describe` and `kubectl get events` show them; the Node and the ServiceAccounts.
    @Test func eventsNodeAndServiceAccountsReadAsOnACluster() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        #expect(serve.ready(), "serve did not start: \(serve.stderr)")
        let marker = "serve-events-\(UUID().uuidString.prefix(8))"
        let m = try manifest("""
            apiVersion: v1
            kind: Pod
            metadata:
              name: crasher
            spec:
              terminationGracePeriodSeconds: 1
              initContainers:
              - name: setup
                image: busybox
                command: ["true"]
              containers:
              - name: crash
                image: busybox
                command: ["sh", "-c", "exit 1"]
              - name: probed
                image: busybox
                command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done # \(marker)"]
                livenessProbe:
                  exec:
                    command: ["false"]
                  periodSeconds: 1
                  failureThreshold: 1
            """)
        defer { try? FileManager.default.removeItem(atPath: m.dir) }
        #expect(try serve.kubectl(["apply", "-f", m.path]).status == 0)

        // The first restart is immediate, the next waits out a back-off: two starts of `crash`
        // fold into one event with count 2, then a BackOff.
        var counts = ""
        #expect(waitUntil(40) {
            counts = (try? serve.kubectl(["get", "events", "--field-selector", "involvedObject.name=crasher",
                                          "-o", #"jsonpath={range .items[*]}{.reason} {.involvedObject.fieldPath}={.count}{"\n"}{end}"#]).stdout) ?? ""
            let lines = counts.split(separator: "\n")
            return lines.contains { $0.hasPrefix("Started spec.containers{crash}=") && !$0.hasSuffix("=1") }
                && lines.contains { $0.hasPrefix("BackOff spec.containers{crash}=") } && lines.contains { $0.hasPrefix("Killing ") }
        }, "\(counts)")
        #expect(counts.contains("Started spec.initContainers{setup}=1"), "\(counts)")

        let describe = try serve.kubectl(["describe", "pod", "crasher"])
        #expect(describe.status == 0, "\(describe.stderr)")
        let out = describe.stdout
        #expect(out.contains("\nEvents:\n  Type     Reason     Age"), "\(out)")
        for line in [#"Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned default/crasher to \S+"#,
                     #"Normal\s+Pulled\s+\S+( \(x\d+ over \S+\))?\s+kubelet\s+Container image "busybox" already present on machine"#,
                     #"Normal\s+Created\s+\S+\s+kubelet\s+Created container: setup"#,
                     #"Normal\s+Started\s+\S+ \(x\d+ over \S+\)\s+kubelet\s+Started container crash"#,
                     #"Warning\s+BackOff\s+\S+( \(x\d+ over \S+\))?\s+kubelet\s+Back-off restarting failed container crash in pod crasher_default\([0-9a-f-]+\)"#,
                     #"Warning\s+Unhealthy\s+\S+( \(x\d+ over \S+\))?\s+kubelet\s+Liveness probe failed:"#,
                     #"Normal\s+Killing\s+\S+( \(x\d+ over \S+\))?\s+kubelet\s+Container probed failed liveness probe, will be restarted"#] {
            #expect(matches(out, "(?m)^  " + line), "no \(line) in\n\(out)")
        }
        let events = try serve.kubectl(["get", "events"])
        #expect(events.stdout.hasPrefix("LAST SEEN   TYPE      REASON"), "\(events.stdout)")
        #expect(matches(events.stdout, #"(?m)^\S+\s+Warning\s+BackOff\s+pod/crasher\s+Back-off restarting failed container crash"#), "\(events.stdout)")

        // The node: its row, and what describe reads from it.
        let nodes = try serve.kubectl(["get", "nodes"])
        #expect(matches(nodes.stdout, #"^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\n\S+\s+Ready\s+<none>\s+\d+s\s+v1\.32\.5\+tandem\n$"#), "\(nodes.stdout) \(nodes.stderr)")
        let node = try serve.kubectl(["describe", "node"])
        #expect(node.status == 0, "\(node.stderr)")
        for line in [#"Container Runtime Version:\s+tandem://v1\.32\.5\+tandem"#, #"Kubelet Version:\s+v1\.32\.5\+tandem"#,
                     #"Ready\s+True\s+.*KubeletReady\s+kubelet is posting ready status"#, #"InternalIP:\s+127\.0\.0\.1"#,
                     #"MemoryPressure\s+False"#, #"pods:\s+110"#, #"default\s+crasher\s+"#,
                     #"Normal\s+Starting\s+\S+\s+kubelet\s+Starting kubelet\."#,
                     #"Normal\s+NodeReady\s+\S+\s+kubelet\s+Node \S+ status is now: NodeReady"#,
                     #"Normal\s+RegisteredNode\s+\S+\s+node-controller\s+Node \S+ event: Registered Node \S+ in Controller"#,
                     #"Lease:\n\s+HolderIdentity:\s+\S+\n\s+AcquireTime:\s+<unset>\n\s+RenewTime:\s+\w{3}, \d\d \w{3} \d{4}"#] {
            #expect(matches(node.stdout, line), "no \(line) in\n\(node.stdout)")
        }

        // A cordoned node gets no new pods (the scheduler's FailedScheduling) until uncordoned.
        let nodeName = try serve.kubectl(["get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"]).stdout
        #expect(try serve.kubectl(["cordon", nodeName]).stdout == "node/\(nodeName) cordoned\n")
        #expect(matches(try serve.kubectl(["get", "nodes"]).stdout, #"\n\S+\s+Ready,SchedulingDisabled\s+"#))
        let waiter = "serve-cordon-\(UUID().uuidString.prefix(8))"
        #expect(try serve.kubectl(["run", "waiter", "--image=busybox", "--", "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done # \(waiter)"]).status == 0)
        var unscheduled = ""
        #expect(waitUntil(10) {
            unscheduled = (try? serve.kubectl(["describe", "pod", "waiter"]).stdout) ?? ""
            return matches(unscheduled, #"Warning\s+FailedScheduling\s+\S+\s+default-scheduler\s+0/1 nodes are available: 1 node\(s\) were unschedulable\."#)
        }, "\(unscheduled)")
        #expect(matches(unscheduled, #"PodScheduled\s+False"#) && serve.containers(waiter).isEmpty, "\(unscheduled)")
        #expect(try serve.kubectl(["uncordon", nodeName]).stdout == "node/\(nodeName) uncordoned\n")
        #expect(try serve.kubectl(["wait", "--for=condition=Ready", "pod/waiter", "--timeout=30s"]).status == 0)
        #expect(!serve.containers(waiter).isEmpty)
        #expect(try serve.kubectl(["delete", "pod", "waiter"]).status == 0)

        let leases = try serve.kubectl(["get", "leases", "-n", "kube-node-lease"])
        #expect(matches(leases.stdout, #"^NAME\s+HOLDER\s+AGE\n(\S+)\s+\1\s+\d+s\n$"#), "\(leases.stdout) \(leases.stderr)")

        // ServiceAccounts: `default` in every namespace, made when the namespace is.
        #expect(matches(try serve.kubectl(["get", "sa"]).stdout, #"^NAME\s+SECRETS\s+AGE\ndefault\s+0\s+\d+s\n$"#))
        let create = try serve.kubectl(["create", "serviceaccount", "robot"])
        #expect(create.stdout == "serviceaccount/robot created\n", "\(create.stdout) \(create.stderr)")
        #expect(try serve.kubectl(["create", "namespace", "fresh"]).status == 0)
        #expect(waitUntil(10) { (try? serve.kubectl(["get", "sa", "-n", "fresh", "-o", "name"]).stdout) == "serviceaccount/default\n" })
        let bad = try serve.kubectl(["create", "serviceaccount", "Bad_Name"])
        #expect(bad.stderr.contains(#"metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain"#), "\(bad.stderr)")

        #expect(try serve.kubectl(["delete", "pod", "crasher", "--grace-period=1"]).status == 0)
        #expect(serve.containers(marker).isEmpty)
        #expect(serve.stop() == 0)
    }

    /// `kubectl delete namespace` empties it (the pod stopped by the node) and then removes it;
    /// meanwhile it is `Terminating` and refuses new content. A finalizer holds an object until
    /// it is cleared; `--cascade=foreground` removes a Deployment only after its pods.
    @Test func namespaceDeletionFinalizersAndForegroundDeletion() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        #expect(serve.ready(), "serve did not start: \(serve.stderr)")
        let marker = "serve-doomed-\(UUID().uuidString.prefix(8))"
        #expect(try serve.kubectl(["create", "namespace", "doomed"]).status == 0)
        #expect(try serve.kubectl(["create", "configmap", "settings", "-n", "doomed", "--from-literal=a=b"]).status == 0)
        let m = try manifest("""
            apiVersion: v1
            kind: Pod
            metadata:
              name: sleeper
              namespace: doomed
            spec:
              terminationGracePeriodSeconds: 3
              containers:
              - name: main
                image: busybox
                command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done # \(marker)"]
            """)
        defer { try? FileManager.default.removeItem(atPath: m.dir) }
        #expect(try serve.kubectl(["apply", "-f", m.path]).status == 0)
        #expect(try serve.kubectl(["wait", "--for=condition=Ready", "pod/sleeper", "-n", "doomed", "--timeout=60s"]).status == 0)
        #expect(!serve.containers(marker).isEmpty)

        #expect(try serve.kubectl(["delete", "namespace", "doomed", "--wait=false"]).status == 0)
        let phase = try serve.kubectl(["get", "namespace", "doomed", "-o", "jsonpath={.status.phase}"])
        #expect(phase.stdout == "Terminating", "\(phase.stdout) \(phase.stderr)")
        let refused = try serve.kubectl(["create", "configmap", "late", "-n", "doomed"])
        #expect(refused.stderr.contains(#"configmaps "late" is forbidden: unable to create new content in namespace doomed because it is being terminated"#),
                "\(refused.stderr)")
        let wait = try serve.kubectl(["wait", "--for=delete", "namespace/doomed", "--timeout=60s"])
        #expect(wait.status == 0, "\(wait.stdout) \(wait.stderr)")
        #expect(serve.containers(marker).isEmpty, "the pod's container outlived its namespace")
        let gone = try serve.kubectl(["get", "namespace", "doomed"])
        #expect(gone.stderr == "Error from server (NotFound): namespaces \"doomed\" not found\n", "\(gone.stderr)")

        // A finalizer holds a ConfigMap (deletionTimestamp set) until a patch clears the list.
        let held = try manifest("""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: held
              finalizers: ["example.com/hold"]
            data: {a: b}
            """)
        defer { try? FileManager.default.removeItem(atPath: held.dir) }
        #expect(try serve.kubectl(["apply", "-f", held.path]).status == 0)
        #expect(try serve.kubectl(["delete", "configmap", "held", "--wait=false"]).status == 0)
        let pending = try serve.kubectl(["get", "configmap", "held", "-o", "jsonpath={.metadata.deletionTimestamp}|{.metadata.finalizers}"])
        #expect(matches(pending.stdout, #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|\["example.com/hold"\]$"#), "\(pending.stdout) \(pending.stderr)")
        #expect(try serve.kubectl(["patch", "configmap", "held", "--type=merge", "-p", #"{"metadata":{"finalizers":null}}"#]).status == 0)
        #expect(try serve.kubectl(["get", "configmap", "held"]).stderr.contains("not found"))

        // Foreground: the Deployment stays (with `foregroundDeletion`) until its ReplicaSet and pod are gone.
        let web = "serve-web-\(UUID().uuidString.prefix(8))"
        let d = try manifest("""
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: web
            spec:
              replicas: 1
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}}
                spec:
                  terminationGracePeriodSeconds: 2
                  containers:
                  - name: main
                    image: busybox
                    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done # \(web)"]
            """)
        defer { try? FileManager.default.removeItem(atPath: d.dir) }
        #expect(try serve.kubectl(["apply", "-f", d.path]).status == 0)
        #expect(try serve.kubectl(["rollout", "status", "deployment/web", "--timeout=60s"]).status == 0)
        #expect(!serve.containers(web).isEmpty)
        // The controllers' events: the Deployment scaled its ReplicaSet, which created the pod.
        var controllerEvents = ""
        #expect(waitUntil(10) {
            controllerEvents = (try? serve.kubectl(["get", "events", "-o", "wide"]).stdout) ?? ""
            return matches(controllerEvents, #"(?m)Normal\s+ScalingReplicaSet\s+deployment/web\s+deployment-controller\s+Scaled up replica set web-[a-z0-9]+ from 0 to 1"#)
                && matches(controllerEvents, #"(?m)Normal\s+SuccessfulCreate\s+replicaset/web-[a-z0-9]+\s+replicaset-controller\s+Created pod: web-[a-z0-9]+-[a-z0-9]{5}"#)
        }, "\(controllerEvents)")
        #expect(try serve.kubectl(["delete", "deployment", "web", "--cascade=foreground", "--wait=false"]).status == 0)
        let owner = try serve.kubectl(["get", "deployment", "web", "-o", "jsonpath={.metadata.finalizers}"])
        #expect(owner.stdout == #"["foregroundDeletion"]"#, "\(owner.stdout) \(owner.stderr)")
        #expect(try serve.kubectl(["wait", "--for=delete", "deployment/web", "--timeout=60s"]).status == 0)
        #expect(try serve.kubectl(["get", "pods,rs", "-o", "name"]).stdout == "")
        #expect(serve.containers(web).isEmpty)

        // A Job's pod creation and completion.
        let job = try manifest("""
            apiVersion: batch/v1
            kind: Job
            metadata:
              name: once
            spec:
              template:
                spec:
                  restartPolicy: Never
                  containers:
                  - name: main
                    image: busybox
                    command: ["true"]
            """)
        defer { try? FileManager.default.removeItem(atPath: job.dir) }
        #expect(try serve.kubectl(["apply", "-f", job.path]).status == 0)
        #expect(try serve.kubectl(["wait", "--for=condition=complete", "job/once", "--timeout=60s"]).status == 0)
        var jobEvents = ""
        #expect(waitUntil(10) {
            jobEvents = (try? serve.kubectl(["get", "events", "--field-selector", "involvedObject.kind=Job", "-o", "wide"]).stdout) ?? ""
            return matches(jobEvents, #"(?m)Normal\s+SuccessfulCreate\s+job/once\s+job-controller\s+Created pod: once-[a-z0-9]{5}"#)
                && matches(jobEvents, #"(?m)Normal\s+Completed\s+job/once\s+job-controller\s+Job completed"#)
        }, "\(jobEvents)")
        #expect(serve.stop() == 0)
    }

    /// `limit`/`continue` (kubectl's `--chunk-size`) and watch bookmarks; then the official
    /// Python client lists pods and watches one through ADDED and MODIFIED; events expire
    /// after `--event-ttl`.
    @Test func paginationBookmarksThePythonClientAndEventExpiry() throws {
        let serve = try ServeRun(arguments: ["--event-ttl", "5s"])
        defer { serve.cleanup() }
        #expect(serve.ready(), "serve did not start: \(serve.stderr)")
        for i in 1...7 { #expect(try serve.kubectl(["create", "configmap", "cm-\(i)"]).status == 0) }
        let chunked = try serve.kubectl(["get", "configmaps", "--chunk-size=3", "-o", "name"])
        // The root-ca-cert-publisher's kube-root-ca.crt is in every namespace, as on a cluster.
        #expect(chunked.stdout == (1...7).map { "configmap/cm-\($0)\n" }.joined() + "configmap/kube-root-ca.crt\n", "\(chunked.stdout) \(chunked.stderr)")
        let first = try serve.kubectl(["get", "--raw", "/api/v1/namespaces/default/configmaps?limit=3"])
        let page = try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any]
        let meta = page?["metadata"] as? [String: Any]
        #expect((page?["items"] as? [Any])?.count == 3)
        #expect(meta?["remainingItemCount"] as? Int == 5, "\(first.stdout)")
        let token = try #require(meta?["continue"] as? String)
        let second = try serve.kubectl(["get", "--raw", "/api/v1/namespaces/default/configmaps?limit=3&continue=\(token)"])
        let names = ((try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [String: Any])?["items"] as? [[String: Any]])?
            .compactMap { ($0["metadata"] as? [String: Any])?["name"] as? String }
        #expect(names == ["cm-4", "cm-5", "cm-6"], "\(second.stdout)")

        // A watch that ends in 4 s gets its bookmark 2 s before the end.
        let watch = try serve.kubectl(["get", "--raw", "/api/v1/namespaces/default/configmaps?watch=true&allowWatchBookmarks=true&timeoutSeconds=4&resourceVersion=1"])
        let bookmark = watch.stdout.split(separator: "\n").last { $0.contains(#""type":"BOOKMARK""#) }
        #expect(bookmark?.contains(#""kind":"ConfigMap""#) == true, "\(watch.stdout)")

        let marker = "serve-py-\(UUID().uuidString.prefix(8))"
        let m = try manifest("""
            apiVersion: v1
            kind: Pod
            metadata:
              name: pywatched
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: main
                image: busybox
                command: ["sh", "-c", "echo hello-py; trap 'exit 0' TERM; while true; do sleep 1; done # \(marker)"]
            """)
        defer { try? FileManager.default.removeItem(atPath: m.dir) }
        #expect(try serve.kubectl(["apply", "-f", m.path]).status == 0)
        #expect(try serve.kubectl(["wait", "--for=condition=Ready", "pod/pywatched", "--timeout=60s"]).status == 0)
        let podEvents = ["get", "events", "--field-selector", "involvedObject.name=pywatched", "-o", "name"]
        #expect(try serve.kubectl(podEvents).stdout.contains("event/pywatched."))
        let script = """
            import threading, time
            from kubernetes import client, config, watch
            config.load_kube_config(config_file="\(serve.root)/kubeconfig")
            v1 = client.CoreV1Api()
            print("list", ",".join(p.metadata.name + ":" + p.status.phase for p in v1.list_namespaced_pod("default").items), flush=True)
            stamp, line = v1.read_namespaced_pod_log("pywatched", "default", timestamps=True).split(" ", 1)
            print("log", stamp.endswith("Z"), line.strip(), flush=True)
            def touch():
                time.sleep(1)
                v1.patch_namespaced_pod("pywatched", "default", {"metadata": {"labels": {"touched": "yes"}}})
            threading.Thread(target=touch).start()
            w = watch.Watch()
            for e in w.stream(v1.list_namespaced_pod, "default", timeout_seconds=10):
                print(e["type"], e["object"].metadata.name, (e["object"].metadata.labels or {}).get("touched", "-"), flush=True)
                if e["type"] == "MODIFIED":
                    w.stop()
            """
        let out = try Tandem.tempDir("tandem-serve-py")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", script]
        FileManager.default.createFile(atPath: out + "/out", contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out + "/out"))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: out + "/out"))
        try p.run()
        let pid = p.processIdentifier
        let killer = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 30, execute: killer)
        p.waitUntilExit()
        killer.cancel()
        let printed = (try? String(contentsOfFile: out + "/out", encoding: .utf8)) ?? ""
        #expect(p.terminationStatus == 0, "\(printed)")
        #expect(printed.hasPrefix("list pywatched:Running\nlog True hello-py\nADDED pywatched -\n"), "\(printed)")
        #expect(printed.hasSuffix("MODIFIED pywatched yes\n"), "\(printed)")
        // Nothing new happened to the running pod: its events go 5 s after their last write.
        #expect(waitUntil(15) { (try? serve.kubectl(podEvents).stdout) == "" })
        #expect(try serve.kubectl(["delete", "pod", "pywatched", "--grace-period=1"]).status == 0)
        #expect(serve.stop() == 0)
    }
}
