import Foundation
import KubeAPI
import Testing

/// The pod sandbox (the pause container's part): what a pod's containers share, and what happens
/// when it is lost.
@Suite(.serialized) struct SandboxTests {
    /// The `pause` processes of pods below a running tandem; not the ready ones of its sandbox
    /// pool, whose /dev/shm is still mounted in a `pool-` directory (a taken one's is renamed).
    static func pauses(of run: BackgroundRun) -> [Int32] {
        descendants(of: run.process.processIdentifier).filter {
            (try? String(contentsOfFile: "/proc/\($0)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == "pause"
                && !((try? String(contentsOfFile: "/proc/\($0)/mountinfo", encoding: .utf8))?.contains("/containers/pool-") ?? false)
        }.sorted()
    }

    @Test("40: the sandbox is lost: inits re-run in order, Pending until re-initialized, then the regular restarts")
    func lostSandboxReinitializesThePod() throws {
        typealias B = LifecycleScenarioTests.PodBuilder
        var b = try B()
        defer { b.cleanup() }
        b.name = "reboot"
        b.restartPolicy = "Always"
        b.grace = 2
        b.inits = [
            B.container("init-1", B.script("init-1")),
            B.container("sc-2", B.script("sc-2", loopForever: true), sidecar: true),
            B.container("init-3", B.script("init-3", delay: 1)),
        ]
        b.containers = [B.container("regular-1", B.script("regular-1", loopForever: true))]
        let file = b.dir + "/pod.yaml"
        try b.manifest.write(toFile: file, atomically: true, encoding: .utf8)
        let run = try BackgroundRun(files: [file], args: ["--timeout", "40s"])
        defer { run.cleanup() }
        #expect(run.wait { run.podRunningAndReady("reboot") }, "never Running and Ready: \(b.events)")
        let pause = try #require(Self.pauses(of: run).first, "no sandbox process")
        kill(pause, SIGKILL)

        // Pending while init-1 runs again, with its restart count raised.
        var sawPending = false
        #expect(run.wait {
            guard let pod = run.pod("reboot") else { return false }
            if pod["status"]?["phase"]?.stringValue == "Pending", (pod.containerStatus("init-1")?["restartCount"]?.int ?? 0) >= 1 { sawPending = true }
            return sawPending && run.podRunningAndReady("reboot") && (pod.containerStatus("regular-1")?["restartCount"]?.int ?? 0) >= 1
        }, "not re-initialized: \(b.events)")
        #expect(sawPending, "the pod was not Pending while it re-initialized")
        #expect(Self.pauses(of: run).count == 1, "one new sandbox")

        let r = run.stop()
        let events = b.events
        let second = try #require(events.indices.filter { events[$0] == "init-1 Starting" }.dropFirst().first, "init-1 did not run again: \(events)")
        let after = Array(events[second...])
        let starts = after.filter { $0.hasSuffix("Starting") }
        // init-3 starts once sc-2 runs (no startup probe), so their shells write their first lines
        // at about the same moment, in either order on a busy machine: the kubelet orders the
        // starts, not what the started processes print first.
        #expect(starts.count >= 4 && starts[0] == "init-1 Starting" && starts[3] == "regular-1 Starting"
                && Set(starts[1...2]) == ["sc-2 Starting", "init-3 Starting"], "\(events)")
        let pos = { (line: String) in after.firstIndex(of: line) ?? Int.max }
        #expect(pos("init-1 Exiting") < pos("sc-2 Starting"))
        #expect(pos("init-3 Exiting") < pos("regular-1 Starting"))
        let pod = try #require(r.pod("reboot"))
        #expect((pod.containerStatus("init-1")?["restartCount"]?.int ?? 0) >= 1)
        #expect((pod.containerStatus("regular-1")?["restartCount"]?.int ?? 0) >= 1)
    }

    @Test("a pod's containers share its IPC and UTS namespaces and its /dev/shm; hostNetwork keeps the host's hostname")
    func containersShareThePodsNamespaces() throws {
        func pod(_ name: String, hostNetwork: Bool) -> String {
            let show = "readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts; hostname"
            return """
            apiVersion: v1
            kind: Pod
            metadata: {name: \(name)}
            spec:
              restartPolicy: Never
              hostNetwork: \(hostNetwork)
              initContainers:
              - {name: writer, image: busybox, command: ["sh", "-c", "echo shared-\(name) > /dev/shm/token; \(show)"]}
              containers:
              - {name: reader, image: busybox, command: ["sh", "-c", "cat /dev/shm/token; \(show)"]}
            """
        }
        let r = try Tandem.run(pod("ns-a", hostNetwork: false) + "\n---\n" + pod("ns-b", hostNetwork: false) + "\n---\n" + pod("ns-h", hostNetwork: true),
                               keepRoot: true)
        defer { Tandem.cleanup(r) }
        #expect(r.status == 0, "\(r.stderr)")
        func lines(_ p: String, _ c: String) -> [String] {
            r.log(pod: p, container: c).split(separator: "\n").compactMap { $0.components(separatedBy: " stdout F ").last }
        }
        let host = [try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/ipc"),
                    try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/uts"),
                    ProcessInfo.processInfo.hostName]
        for p in ["ns-a", "ns-b", "ns-h"] {
            let writer = lines(p, "writer"), reader = lines(p, "reader")
            #expect(reader.first == "shared-\(p)", "\(p): /dev/shm is not shared: \(reader)")
            #expect(writer.count == 3 && Array(reader.dropFirst()) == writer, "\(p): namespaces differ: \(writer) vs \(reader)")
            #expect(writer.first != host[0], "\(p): a pod gets an IPC namespace of its own")
        }
        #expect(lines("ns-a", "writer")[0] != lines("ns-b", "writer")[0], "two pods, two IPC namespaces")
        #expect(Array(lines("ns-a", "writer").dropFirst()) != Array(host.dropFirst()))
        #expect(lines("ns-a", "writer").last == "ns-a")
        #expect(Array(lines("ns-h", "writer").dropFirst()) == Array(host.dropFirst()), "hostNetwork: the host's UTS namespace and hostname")
    }

    @Test("shareProcessNamespace: one PID namespace with pause as PID 1, so a sidecar can be signalled by name")
    func sharedProcessNamespaceLetsAContainerSignalAnother() throws {
        func pod(_ share: Bool) -> String {
            """
            apiVersion: v1
            kind: Pod
            metadata: {name: spn-\(share)}
            spec:
              restartPolicy: Never
              shareProcessNamespace: \(share)
              terminationGracePeriodSeconds: 2
              initContainers:
              - name: reloadee
                image: busybox
                restartPolicy: Always
                command: ["sh", "-c", "trap 'echo reloaded' HUP; echo up; while true; do sleep 0.1; done"]
              containers:
              - name: reloader
                image: busybox
                command: ["sh", "-c", "cat /proc/1/comm; sleep 0.3; pkill -HUP -f 'echo u[p]' && echo signalled; sleep 1"]
            """
        }
        let r = try Tandem.run(pod(true) + "\n---\n" + pod(false), keepRoot: true)
        defer { Tandem.cleanup(r) }
        #expect(r.status == 0, "\(r.stderr)")
        let shared = r.log(pod: "spn-true", container: "reloader"), apart = r.log(pod: "spn-false", container: "reloader")
        #expect(shared.contains("stdout F pause"), "PID 1 of a shared namespace is the sandbox: \(shared)")
        #expect(shared.contains("stdout F signalled"))
        #expect(r.log(pod: "spn-true", container: "reloadee").contains("stdout F reloaded"))
        #expect(apart.contains("stdout F sh"), "without sharing, PID 1 is the container's own: \(apart)")
        #expect(!apart.contains("signalled"))
        #expect(!r.log(pod: "spn-false", container: "reloadee").contains("reloaded"))
    }

    @Test("hostPID and hostIPC: the host's PID and IPC namespaces; a hostPID container's orphans go with it")
    func hostPIDAndHostIPC() throws {
        let orphan = "sleep \(Int.random(in: 100_000...999_999))"
        let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: host-ns}
            spec:
              restartPolicy: Never
              hostPID: true
              hostIPC: true
              initContainers:
              - {name: forker, image: busybox, command: ["sh", "-c", "\(orphan) & echo started"]}
              containers:
              - {name: show, image: busybox, command: ["sh", "-c", "readlink /proc/self/ns/pid; readlink /proc/self/ns/ipc; test -d /proc/1/ && cat /proc/1/comm"]}
            """
        let r = try Tandem.run(yaml, keepRoot: true)
        defer { Tandem.cleanup(r) }
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.log(pod: "host-ns", container: "show").split(separator: "\n").compactMap { $0.components(separatedBy: " stdout F ").last }
        let hostPID = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/pid")
        let hostIPC = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/ipc")
        let hostInit = (try String(contentsOfFile: "/proc/1/comm", encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(lines == [hostPID, hostIPC, hostInit], "\(lines)")
        // No PID namespace ended the init container's background sleep: the shim did.
        #expect(processes(containing: orphan).isEmpty, "the orphan of a hostPID container survived it")
    }

    @Test("shareProcessNamespace: what a container leaves behind is killed through its cgroup when it exits, as runc does")
    func sharedProcessNamespaceLeftoversGoWithTheirContainer() throws {
        let leftover = "sleep \(Int.random(in: 100_000...999_999))"
        let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: spn-leftover}
            spec:
              restartPolicy: Never
              shareProcessNamespace: true
              initContainers:
              - {name: forker, image: busybox, command: ["sh", "-c", "\(leftover) & echo started"]}
              containers:
              - {name: main, image: busybox, command: ["sh", "-c", "echo done"]}
            """
        // The leftover holds the init container's stdout: until it is gone, the init container's
        // output is not complete and the pod cannot go on.
        let r = try Tandem.run(yaml, timeout: "30s", keepRoot: true)
        defer { Tandem.cleanup(r) }
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.log(pod: "spn-leftover", container: "main").contains("stdout F done"))
        #expect(processes(containing: leftover).isEmpty, "the leftover of a shareProcessNamespace container survived it")
    }
}
