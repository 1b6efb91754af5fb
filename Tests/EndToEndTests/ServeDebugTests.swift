import Foundation
import Testing

/// `kubectl debug` against `tandem serve`, driven by the real kubectl 1.32: the
/// `ephemeralcontainers` subresource, the kubelet's ephemeral container rules (started once,
/// never restarted, stopped with the pod), `--target` sharing the target's PID namespace, and
/// what `kubectl logs`, `get` and `describe` show of them.
@Suite(.serialized) struct ServeDebugTests {
    /// `app` runs a process the debugger can find with `ps` once it shares its PID namespace.
    static let pod = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: web
        spec:
          terminationGracePeriodSeconds: 2
          containers:
          - name: app
            image: busybox
            command: ["sleep", "3601"]
        """

    /// The status of ephemeral container `name` once `path` (a jsonpath below it) prints
    /// something, or "" after 30 s.
    func ephemeralStatus(_ serve: ServeRun, _ name: String, _ path: String) -> String {
        var out = ""
        _ = waitUntil(30) {
            out = (try? serve.kubectl(["get", "pod", "web", "-o", "jsonpath={.status.ephemeralContainerStatuses[?(@.name==\"\(name)\")]\(path)}"]).stdout) ?? ""
            return !out.isEmpty
        }
        return out
    }

    @Test func debugAddsEphemeralContainersThatRunOnceInThePod() throws {
        try ServeRun.withReadyPod(Self.pod, named: "web") { serve, _ in
            let discovery = try serve.kubectl(["get", "--raw", "/api/v1"]).stdout
            let list = try JSONSerialization.jsonObject(with: Data(discovery.utf8)) as? [String: Any]
            let sub = (list?["resources"] as? [[String: Any]])?.first { $0["name"] as? String == "pods/ephemeralcontainers" }
            #expect(sub?["kind"] as? String == "Pod" && sub?["verbs"] as? [String] == ["get", "patch", "update"], "\(discovery)")

            // --attach=false: kubectl names the container and leaves; it runs, exits 3, and
            // stays exited (never restarted), its output in its log.
            let detached = try serve.kubectl(["debug", "web", "--image=busybox", "--attach=false", "--", "sh", "-c", "echo hi; exit 3"])
            #expect(detached.status == 0, "\(detached)")
            let name = try #require(detached.stdout.firstMatch(of: /Defaulting debug container name to (debugger-[a-z0-9]{5})\./)?.1, "\(detached)").description
            #expect(ephemeralStatus(serve, name, ".state.terminated.exitCode") == "3")
            let logs = try serve.kubectl(["logs", "web", "-c", name])
            #expect(logs.stdout == "hi\n", "\(logs)")
            Thread.sleep(forTimeInterval: 2)
            #expect(try serve.kubectl(["get", "pod", "web", "-o", "jsonpath={.status.ephemeralContainerStatuses[0].restartCount} {.status.ephemeralContainerStatuses[0].state.terminated.reason} {.status.phase}"]).stdout
                    == "0 Error Running")

            // -it with --target: a shell on a terminal, in the pod's network namespace and the
            // target's PID namespace; `exit` ends it and kubectl.
            let ip = try serve.kubectl(["get", "pod", "web", "-o", "jsonpath={.status.podIP}"]).stdout
            let shell = try ServeAttachStdinTests.inTerminal(serve, "debug -it web --image=busybox --target=app -c shell -- sh",
                                                              typing: ["", "ps -o pid,args; ip -4 addr; echo marker-$((6*7))", "exit"], pause: 1.5)
            #expect(shell.status == 0, "\(shell)")
            #expect(shell.stdout.contains("marker-42"), "\(shell.stdout)")
            #expect(shell.stdout.range(of: #"(?m)^\s*1\s+sleep 3601"#, options: .regularExpression) != nil, "\(shell.stdout)")
            #expect(shell.stdout.contains("inet \(ip)/"), "\(ip) \(shell.stdout)")
            #expect(ephemeralStatus(serve, "shell", ".state.terminated.reason") == "Completed")

            // The name is taken by a regular container: refused.
            let clash = try serve.kubectl(["debug", "web", "--image=busybox", "--attach=false", "-c", "app", "--", "true"])
            #expect(clash.status == 1, "\(clash)")
            #expect(clash.stderr.contains(#"The Pod "web" is invalid: spec.ephemeralContainers[2].name: Duplicate value: "app""#), "\(clash.stderr)")
            // By an ephemeral one: kubectl's patch names it twice, its new spec and then its old
            // one, which merge into the existing container in turn, leaving it as it was: a
            // no-op, as on a real server. A patch that does change it is refused.
            let again = try serve.kubectl(["debug", "web", "--image=busybox", "--attach=false", "-c", "shell", "--", "sh", "-c", "echo again"])
            #expect(again.status == 0, "\(again)")
            #expect(try serve.kubectl(["get", "pod", "web", "-o", "jsonpath={.spec.ephemeralContainers[*].name} {.spec.ephemeralContainers[1].command}"]).stdout
                    == "\(name) shell [\"sh\"]")
            let change = try serve.kubectl(["patch", "pod", "web", "--subresource=ephemeralcontainers", "-p",
                                            #"{"spec":{"ephemeralContainers":[{"name":"shell","image":"busybox","command":["sh","-c","echo again"]}]}}"#])
            #expect(change.status == 1, "\(change)")
            #expect(change.stderr.contains(#"The Pod "web" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral containers "shell" may not be changed"#),
                    "\(change.stderr)")

            // Writing the pod itself may not touch them.
            let edit = try serve.kubectl(["patch", "pod", "web", "--type=json", "-p", #"[{"op":"remove","path":"/spec/ephemeralContainers/0"}]"#])
            #expect(edit.status == 1 && edit.stderr.contains("Forbidden: pod updates may not change fields"), "\(edit)")

            let describe = try serve.kubectl(["describe", "pod", "web"])
            #expect(describe.stdout.contains("Ephemeral Containers:"), "\(describe.stdout)")
            #expect(describe.stdout.range(of: #"(?m)^  shell:\n"#, options: .regularExpression) != nil, "\(describe.stdout)")

            // A running debugger is stopped with the pod.
            let sleeper = try serve.kubectl(["debug", "web", "--image=busybox", "--attach=false", "-c", "sleeper", "--", "sleep", "3599"])
            #expect(sleeper.status == 0, "\(sleeper)")
            #expect(!ephemeralStatus(serve, "sleeper", ".state.running.startedAt").isEmpty)
            #expect(!serve.containers("sleep 3599").isEmpty)
            let delete = try serve.kubectl(["delete", "pod", "web", "--timeout=30s"])
            #expect(delete.status == 0, "\(delete)")
            #expect(serve.containers("sleep 3599").isEmpty && serve.containers("sleep 3601").isEmpty)
        }
    }

    /// The other two forms make ordinary pods, created through kubectl's typed (protobuf)
    /// client: a node debugger in the host's namespaces with `/` at `/host`, and a copy of the
    /// pod with one more container, sharing its process namespace (`--share-processes`: kubectl
    /// sets it only when the flag is given).
    @Test func debugANodeAndACopyOfThePod() throws {
        try ServeRun.withReadyPod(Self.pod, named: "web") { serve, _ in
            let node = try serve.kubectl(["get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"]).stdout
            let hostname = try String(contentsOfFile: "/etc/hostname", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let debug = try serve.kubectl(["debug", "node/\(node)", "--image=busybox", "--", "sh", "-c", "cat /host/etc/hostname; ps -o pid,args | grep -c 'sleep 360[1]'"])
            #expect(debug.status == 0, "\(debug)")
            let pod = try #require(debug.stdout.firstMatch(of: /Creating debugging pod (node-debugger-[a-z0-9-]+) with container debugger on node/)?.1, "\(debug)")
            var logs = ""
            #expect(waitUntil(30) {
                logs = (try? serve.kubectl(["logs", String(pod)]).stdout) ?? ""
                return logs.hasSuffix("1\n")
            }, "\(logs)")
            #expect(logs == "\(hostname)\n1\n")
            #expect(try serve.kubectl(["get", "pod", String(pod), "-o", "jsonpath={.spec.hostPID} {.spec.hostNetwork} {.spec.nodeName}"]).stdout == "true true \(node)")

            let copy = try serve.kubectl(["debug", "web", "--copy-to=web-copy", "--share-processes", "--image=busybox", "-c", "extra", "--", "sh", "-c", "ps -o args | grep -c 'sleep 360[1]'; sleep 3600"])
            #expect(copy.status == 0, "\(copy)")
            #expect(try serve.kubectl(["wait", "--for=condition=Ready", "pod/web-copy", "--timeout=30s"]).status == 0)
            #expect(waitUntil(10) { (try? serve.kubectl(["logs", "web-copy", "-c", "extra"]).stdout) == "1\n" })
            #expect(try serve.kubectl(["get", "pod", "web-copy", "-o", "jsonpath={.spec.shareProcessNamespace} {.spec.containers[*].name}"]).stdout == "true app extra")
            #expect(try serve.kubectl(["delete", "pod", "web-copy", "web", "--grace-period=1"]).status == 0)
        }
    }

    /// KR-1 for ephemeral containers: a debugger running when serve is killed with -9 is adopted
    /// by the next serve on the same root (same process, same container ID), one that ended
    /// meanwhile is reported with its exit code, and neither is started again.
    @Test func aKilledServeAdoptsEphemeralContainers() throws {
        let first = try ServeRun()
        defer { first.cleanup() }
        let dir = try Tandem.tempDir("tandem-serve-debug")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.pod.write(toFile: dir + "/pod.yaml", atomically: true, encoding: .utf8)
        try #require(first.ready(), "serve did not start: \(first.stderr)")
        try first.kubectl(["apply", "-f", dir + "/pod.yaml"])
        #expect(try first.kubectl(["wait", "--for=condition=Ready", "pod/web", "--timeout=60s"]).status == 0)
        #expect(try first.kubectl(["debug", "web", "--image=busybox", "--attach=false", "-c", "stays", "--", "sleep", "3598"]).status == 0)
        #expect(try first.kubectl(["debug", "web", "--image=busybox", "--attach=false", "-c", "ends", "--", "sh", "-c", "sleep 2; exit 4"]).status == 0)
        let id = ephemeralStatus(first, "stays", ".containerID")
        let pids = { ServeRestartTests().processes("sleep 3598") }
        #expect(!id.isEmpty && waitUntil(10) { pids().count == 1 })
        let pid = pids()

        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        let second = try ServeRun(root: first.root)
        defer { second.cleanup() }
        try #require(second.ready(), "serve did not restart: \(second.stderr)")
        #expect(ephemeralStatus(second, "ends", ".state.terminated.exitCode") == "4")
        #expect(ephemeralStatus(second, "stays", ".containerID") == id)
        #expect(ephemeralStatus(second, "stays", ".state.running.startedAt") != "")
        Thread.sleep(forTimeInterval: 1)
        #expect(pids() == pid, "the debugger was restarted")
        #expect(second.stop() == 0)
        #expect(pids().isEmpty, "the debugger outlived its pod")
    }
}
