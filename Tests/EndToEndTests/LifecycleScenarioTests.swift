import Foundation
import KubeAPI
import Testing

/// The node e2e lifecycle scenarios (`test/e2e_node/container_lifecycle_test.go`, numbered as in
/// kubelet-rules.md "Scenarios to reproduce"), run through the `tandem` binary. Every container
/// appends `NAME Starting` / `NAME Exiting` to one shared hostPath file, and the test asserts the
/// order, as the kubelet's tests do with their `/persistent` log.
@Suite(.serialized) struct LifecycleScenarioTests {
    /// A pod manifest (as JSON, which is YAML) with an events file shared by all its containers.
    struct PodBuilder {
        var name = "lifecycle"
        var restartPolicy = "Never"
        var grace: Int? = nil
        var inits: [JSONValue] = []
        var containers: [JSONValue] = []
        let dir: String

        init() throws { dir = try Tandem.tempDir("tandem-events") }

        var events: [String] {
            ((try? String(contentsOfFile: dir + "/events", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        func index(_ line: String) -> Int? { events.firstIndex(of: line) }

        static func script(_ name: String, delay: Int = 0, exit: Int = 0, loopForever: Bool = false, trapTerm: (seconds: Int, exit: Int)? = nil) -> String {
            var s = "echo '\(name) Starting' >> /persistent/events; "
            if let t = trapTerm { s += "trap 'sleep \(t.seconds); echo \(name) Exiting >> /persistent/events; exit \(t.exit)' TERM; " }
            s += "sleep \(delay); "
            if loopForever { s += "while true; do sleep 1; done; " }
            return s + "echo '\(name) Exiting' >> /persistent/events; exit \(exit)"
        }

        static func container(_ name: String, _ script: String, sidecar: Bool = false, extra: [String: JSONValue] = [:]) -> JSONValue {
            var o: [String: JSONValue] = [
                "name": .string(name), "image": .string("busybox"),
                "command": .array([.string("sh"), .string("-c"), .string(script)]),
                "volumeMounts": .array([.object(["name": .string("persistent"), "mountPath": .string("/persistent")])]),
            ]
            if sidecar { o["restartPolicy"] = .string("Always") }
            for (k, v) in extra { o[k] = v }
            return .object(o)
        }

        var manifest: String {
            var spec: [String: JSONValue] = [
                "restartPolicy": .string(restartPolicy),
                "containers": .array(containers),
                "volumes": .array([.object(["name": .string("persistent"), "hostPath": .object(["path": .string(dir), "type": .string("DirectoryOrCreate")])])]),
            ]
            if !inits.isEmpty { spec["initContainers"] = .array(inits) }
            if let grace { spec["terminationGracePeriodSeconds"] = .int(Int64(grace)) }
            return JSONValue.object(["apiVersion": .string("v1"), "kind": .string("Pod"),
                                     "metadata": .object(["name": .string(name)]), "spec": .object(spec)]).jsonText()
        }

        func cleanup() { try? FileManager.default.removeItem(atPath: dir) }
    }

    static func exec(_ cmd: String) -> JSONValue { .object(["exec": .object(["command": .array([.string("sh"), .string("-c"), .string(cmd)])])]) }

    @Test("1: init containers run one at a time before the regular container")
    func initContainersInOrder() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.inits = (1...3).map { PodBuilder.container("init-\($0)", PodBuilder.script("init-\($0)", delay: 1)) }
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1", delay: 1))]
        let r = try Tandem.run(b.manifest)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(b.events == ["init-1 Starting", "init-1 Exiting", "init-2 Starting", "init-2 Exiting", "init-3 Starting", "init-3 Exiting",
                             "regular-1 Starting", "regular-1 Exiting"])
        #expect(r.pod("lifecycle")?["status"]?["phase"]?.stringValue == "Succeeded")
    }

    @Test("2: a failing init container fails the pod; the regular container never starts")
    func failingInitFailsPod() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.inits = [PodBuilder.container("init-1", PodBuilder.script("init-1", exit: 1))]
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1"))]
        let r = try Tandem.run(b.manifest)
        #expect(r.status == 1)
        let pod = try #require(r.pod("lifecycle"))
        #expect(pod["status"]?["phase"]?.stringValue == "Failed")
        #expect(pod.containerStatus("init-1")?.terminated?["exitCode"]?.int == 1)
        #expect(pod.containerStatus("init-1")?.terminated?["reason"]?.stringValue == "Error")
        #expect(b.events == ["init-1 Starting", "init-1 Exiting"])
    }

    /// The regular container was set up ahead (`Runtime.create`) as init-1 started; it never
    /// starts, and nothing of it is left: no process, no log, no termination-message file.
    @Test("2b: a container created ahead that never starts leaves nothing behind")
    func unstartedContainerLeavesNothing() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        let tag = "4000\(Int.random(in: 100...999))"
        b.inits = [PodBuilder.container("init-1", PodBuilder.script("init-1", exit: 1))]
        // No hostPath volume, which would keep it from being created ahead.
        b.containers = [PodBuilder.container("regular-1", "sleep \(tag)", extra: ["volumeMounts": .array([])])]
        let r = try Tandem.run(b.manifest, keepRoot: true)
        defer { Tandem.cleanup(r) }
        #expect(r.status == 1)
        #expect(processes(containing: "sleep \(tag)").isEmpty)
        let pods = (try? FileManager.default.contentsOfDirectory(atPath: r.root + "/pods")) ?? []
        let podDir = try #require(pods.first { $0.contains("_lifecycle") })
        let left = (try? FileManager.default.contentsOfDirectory(atPath: "\(r.root)/pods/\(podDir)/regular-1")) ?? []
        #expect(left.isEmpty, "\(left)")
        #expect(r.pod("lifecycle")?.containerStatus("regular-1")?["state"]?["waiting"] != nil)
    }

    /// A container created ahead makes its working directory, and mount points nested in a
    /// volume, only at its turn: the init container sharing the volume finds neither.
    @Test("2c: a later container's workingDir and nested mount points are not in a shared volume before its turn")
    func laterContainersDirectoriesAppearAtTheirTurn() throws {
        let yaml = """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: conf}
            data: {k: v}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: dirs-at-turn}
            spec:
              restartPolicy: Never
              initContainers:
              - name: init
                image: busybox
                command: ["sh", "-c", "test ! -e /work/app && test ! -e /work/conf && mkdir /work/app && echo made > /work/app/f"]
                volumeMounts: [{name: work, mountPath: /work}]
              containers:
              - name: main
                image: busybox
                workingDir: /work/app
                command: ["sh", "-c", "pwd; cat f"]
                volumeMounts: [{name: work, mountPath: /work}]
              - name: nested
                image: busybox
                command: ["cat", "/work/conf/k"]
                volumeMounts: [{name: work, mountPath: /work}, {name: conf, mountPath: /work/conf}]
              volumes:
              - {name: work, emptyDir: {}}
              - {name: conf, configMap: {name: conf}}
            """
        let r = try Tandem.run(yaml, keepRoot: true)
        defer { Tandem.cleanup(r) }
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.log(pod: "dirs-at-turn", container: "main").contains("/work/app"))
        #expect(r.log(pod: "dirs-at-turn", container: "main").contains("made"))
        #expect(r.log(pod: "dirs-at-turn", container: "nested").contains("v"))
    }

    @Test("4: regular-2 starts only after regular-1's postStart finished")
    func postStartBlocksNextContainer() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.containers = [
            PodBuilder.container("regular-1", PodBuilder.script("regular-1", delay: 2),
                                 extra: ["lifecycle": .object(["postStart": Self.exec("sleep 1; echo 'poststart-1 Done' >> /persistent/events")])]),
            PodBuilder.container("regular-2", PodBuilder.script("regular-2", delay: 1)),
        ]
        let r = try Tandem.run(b.manifest)
        #expect(r.status == 0, "\(r.stderr)")
        let done = try #require(b.index("poststart-1 Done"))
        let start2 = try #require(b.index("regular-2 Starting"))
        #expect(done < start2, "\(b.events)")
    }

    @Test("5/6/22: under Always a crashing regular container restarts (at once, then after 10 s); inits run once")
    func alwaysRestartsWithBackoff() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.restartPolicy = "Always"
        b.grace = 1
        b.inits = [PodBuilder.container("init-1", PodBuilder.script("init-1")),
                   PodBuilder.container("sidecar-1", PodBuilder.script("sidecar-1", loopForever: true), sidecar: true)]
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1", exit: 1))]
        let r = try Tandem.run(b.manifest, timeout: "13s")
        let pod = try #require(r.pod("lifecycle"))
        #expect(pod.containerStatus("regular-1")?["restartCount"]?.int == 2, "\(b.events)")
        #expect(pod.containerStatus("sidecar-1")?["restartCount"]?.int == 0)
        #expect(b.events.filter { $0 == "sidecar-1 Starting" }.count == 1, "the sidecar is not re-run")
        #expect(b.events.filter { $0 == "init-1 Starting" }.count == 1, "the init container is not re-run")
        #expect(r.stdout.isEmpty == false)
    }

    @Test("12/13: inits and sidecars interleave in order; the pod Succeeds though its sidecars were killed")
    func initsAndSidecarsInterleave() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.grace = 2
        b.inits = [
            PodBuilder.container("init-1", PodBuilder.script("init-1", delay: 1)),
            PodBuilder.container("sidecar-1", PodBuilder.script("sidecar-1", loopForever: true), sidecar: true),
            PodBuilder.container("init-2", PodBuilder.script("init-2", delay: 1)),
            PodBuilder.container("sidecar-2", PodBuilder.script("sidecar-2", loopForever: true), sidecar: true),
            PodBuilder.container("init-3", PodBuilder.script("init-3", delay: 1)),
        ]
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1", delay: 1))]
        let r = try Tandem.run(b.manifest)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Array(b.events.prefix(9)) == ["init-1 Starting", "init-1 Exiting", "sidecar-1 Starting", "init-2 Starting", "init-2 Exiting",
                                              "sidecar-2 Starting", "init-3 Starting", "init-3 Exiting", "regular-1 Starting"])
        let pod = try #require(r.pod("lifecycle"))
        #expect(pod["status"]?["phase"]?.stringValue == "Succeeded")
        // Sidecars that ignore SIGTERM as PID 1 end with SIGKILL after the grace period.
        #expect(pod.containerStatus("sidecar-1")?.terminated?["exitCode"]?.int == 137)
        #expect(pod.containerStatus("sidecar-2")?.terminated?["exitCode"]?.int == 137)
    }

    @Test("14: sidecar startup probes gate the next container")
    func startupProbesGate() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.grace = 1
        let probe: JSONValue = .object(["exec": .object(["command": .array([.string("test"), .string("-f"), .string("/tmp/ready")])]),
                                        "periodSeconds": .int(1), "failureThreshold": .int(30)])
        func sc(_ name: String) -> JSONValue {
            PodBuilder.container(name, "echo '\(name) Starting' >> /persistent/events; sleep 2; touch /tmp/ready; echo '\(name) Ready' >> /persistent/events; while true; do sleep 1; done",
                                 sidecar: true, extra: ["startupProbe": probe])
        }
        b.inits = [sc("sidecar-1"), sc("sidecar-2")]
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1"))]
        let r = try Tandem.run(b.manifest)
        #expect(r.status == 0, "\(r.stderr)")
        let e = b.events
        let s2 = try #require(e.firstIndex(of: "sidecar-2 Starting")), r1 = try #require(e.firstIndex(of: "regular-1 Starting"))
        #expect(try #require(e.firstIndex(of: "sidecar-1 Ready")) < s2)
        #expect(try #require(e.firstIndex(of: "sidecar-2 Ready")) < r1)
        let pod = try #require(r.pod("lifecycle"))
        #expect(pod.containerStatus("sidecar-1")?["started"] == .bool(false))
    }

    @Test("15/16/17: a sidecar that keeps exiting is restarted even under Never; the pod Succeeds")
    func exitingSidecarRestarts() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.grace = 1
        b.inits = [PodBuilder.container("sidecar-1", PodBuilder.script("sidecar-1", exit: 1), sidecar: true)]
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1", delay: 3))]
        let r = try Tandem.run(b.manifest)
        #expect(r.status == 0, "\(r.stderr)")
        let pod = try #require(r.pod("lifecycle"))
        #expect(pod["status"]?["phase"]?.stringValue == "Succeeded")
        #expect((pod.containerStatus("sidecar-1")?["restartCount"]?.int ?? 0) >= 1)
    }

    @Test("18: a failing init before a sidecar: Failed, the sidecar never starts")
    func failingInitBeforeSidecar() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.inits = [PodBuilder.container("init-1", PodBuilder.script("init-1", exit: 1)),
                   PodBuilder.container("sidecar-1", PodBuilder.script("sidecar-1", loopForever: true), sidecar: true)]
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1"))]
        let r = try Tandem.run(b.manifest)
        #expect(r.status == 1)
        #expect(r.pod("lifecycle")?["status"]?["phase"]?.stringValue == "Failed")
        #expect(!b.events.contains("sidecar-1 Starting"))
    }

    @Test("19: a sidecar, then a failing init: Failed; they ran in parallel")
    func sidecarThenFailingInit() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.grace = 1
        b.inits = [PodBuilder.container("sidecar-1", PodBuilder.script("sidecar-1", loopForever: true), sidecar: true),
                   PodBuilder.container("init-1", PodBuilder.script("init-1", delay: 1, exit: 1))]
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1"))]
        let r = try Tandem.run(b.manifest)
        #expect(r.status == 1)
        #expect(r.pod("lifecycle")?["status"]?["phase"]?.stringValue == "Failed")
        #expect(Array(b.events.prefix(3)) == ["sidecar-1 Starting", "init-1 Starting", "init-1 Exiting"])
        #expect(!b.events.contains("regular-1 Starting"))
    }

    @Test("20: OnFailure, a failing init, then a sidecar: Pending; the init is retried, the sidecar never starts")
    func onFailureRetriesInit() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.restartPolicy = "OnFailure"
        b.inits = [PodBuilder.container("init-1", PodBuilder.script("init-1", exit: 1)),
                   PodBuilder.container("sidecar-1", PodBuilder.script("sidecar-1", loopForever: true), sidecar: true)]
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1"))]
        let r = try Tandem.run(b.manifest, timeout: "3s")
        let pod = try #require(r.pod("lifecycle"))
        #expect((pod.containerStatus("init-1")?["restartCount"]?.int ?? 0) >= 1)
        #expect(!b.events.contains("sidecar-1 Starting"))
        #expect(r.stderr.contains("Init:") || r.stdout.isEmpty == false)
    }

    @Test("30/31: sidecars stop in reverse order after the regular container, preStops first")
    func sidecarsStopInReverseOrder() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        let preStop: (String) -> [String: JSONValue] = { name in
            ["lifecycle": .object(["preStop": Self.exec("echo '\(name) PreStop' >> /persistent/events; sleep 1")])]
        }
        b.inits = (1...3).map { PodBuilder.container("sidecar-\($0)", PodBuilder.script("sidecar-\($0)", loopForever: true, trapTerm: (0, 0)),
                                                     sidecar: true, extra: preStop("sidecar-\($0)")) }
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1", delay: 1))]
        let r = try Tandem.run(b.manifest)
        #expect(r.status == 0, "\(r.stderr)")
        let exits = b.events.filter { $0.hasSuffix("Exiting") }
        #expect(exits == ["regular-1 Exiting", "sidecar-3 Exiting", "sidecar-2 Exiting", "sidecar-1 Exiting"], "\(b.events)")
        let preStops = b.events.enumerated().filter { $0.element.hasSuffix("PreStop") }.map(\.offset)
        let firstSidecarExit = try #require(b.index("sidecar-3 Exiting"))
        #expect(preStops.count == 3 && preStops.allSatisfy { $0 < firstSidecarExit }, "all preStops start before any sidecar stops: \(b.events)")
        let pod = try #require(r.pod("lifecycle"))
        for n in 1...3 {
            #expect(pod.containerStatus("sidecar-\(n)")?.terminated?["exitCode"]?.int == 0)
            #expect(pod.containerStatus("sidecar-\(n)")?.terminated?["reason"]?.stringValue == "Completed")
        }
    }

    @Test("32: sidecar preStops that never end: every sidecar is SIGKILLed at grace + 2 s; Succeeded")
    func hungPreStops() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.grace = 3
        b.inits = (1...2).map { PodBuilder.container("sidecar-\($0)", PodBuilder.script("sidecar-\($0)", loopForever: true), sidecar: true,
                                                     extra: ["lifecycle": .object(["preStop": Self.exec("while true; do sleep 1; done")])]) }
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1"))]
        let start = Date()
        let r = try Tandem.run(b.manifest)
        let elapsed = Date().timeIntervalSince(start)
        #expect(r.status == 0, "\(r.stderr)")
        let pod = try #require(r.pod("lifecycle"))
        #expect(pod["status"]?["phase"]?.stringValue == "Succeeded")
        for n in 1...2 { #expect(pod.containerStatus("sidecar-\(n)")?.terminated?["exitCode"]?.int == 137) }
        #expect(elapsed < 3 + 2 + 6, "took \(elapsed) s")
    }

    @Test("34: stopped with grace 2 while the regular container needs longer: it ends 137 and the pod Failed")
    func graceRunsOut() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.restartPolicy = "Always"
        b.grace = 2
        b.inits = [PodBuilder.container("sidecar-1", PodBuilder.script("sidecar-1", loopForever: true, trapTerm: (0, 0)), sidecar: true)]
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1", loopForever: true, trapTerm: (20, 0)))]
        let r = try Tandem.run(b.manifest, timeout: "2s")
        let pod = try #require(r.pod("lifecycle"))
        #expect(pod.containerStatus("regular-1")?.terminated?["exitCode"]?.int == 137)
        #expect(pod["status"]?["phase"]?.stringValue == "Failed")
        // Stopped while Running and Ready: that is a good end for `tandem run`.
        #expect(r.status == 0)
    }

    @Test("33: stopped, and a sidecar exits 1 on SIGTERM: it ends 1 Error, the pod Succeeds")
    func sidecarErrorOnTermDoesNotFailPod() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.restartPolicy = "Always"
        b.inits = [PodBuilder.container("sidecar-1", PodBuilder.script("sidecar-1", loopForever: true, trapTerm: (0, 1)), sidecar: true)]
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1", loopForever: true, trapTerm: (0, 0)))]
        let r = try Tandem.run(b.manifest, timeout: "3s")
        let pod = try #require(r.pod("lifecycle"))
        #expect(pod.containerStatus("sidecar-1")?.terminated?["exitCode"]?.int == 1)
        #expect(pod.containerStatus("sidecar-1")?.terminated?["reason"]?.stringValue == "Error")
        #expect(pod["status"]?["phase"]?.stringValue == "Succeeded")
    }

    @Test("37: stopped with grace 3 during the first init container: gone in < 6 s")
    func stoppedDuringInit() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.grace = 3
        b.inits = [PodBuilder.container("init-1", PodBuilder.script("init-1", delay: 600))]
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1"))]
        let start = Date()
        let r = try Tandem.run(b.manifest, timeout: "1s")
        #expect(Date().timeIntervalSince(start) < 7)
        #expect(r.pod("lifecycle")?["status"]?["phase"]?.stringValue == "Failed")
    }

    @Test("9: a regular container whose startup probe fails is killed (preStop runs) and not restarted under Never")
    func startupProbeFailure() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.grace = 2
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1", loopForever: true), extra: [
            "startupProbe": .object(["exec": .object(["command": .array([.string("false")])]), "periodSeconds": .int(1), "failureThreshold": .int(1)]),
            "lifecycle": .object(["preStop": Self.exec("echo 'regular-1 PreStop' >> /persistent/events")]),
        ])]
        let r = try Tandem.run(b.manifest, timeout: "20s")
        #expect(b.events.contains("regular-1 PreStop"))
        let pod = try #require(r.pod("lifecycle"))
        #expect(pod.containerStatus("regular-1")?["restartCount"]?.int == 0)
        #expect(pod["status"]?["phase"]?.stringValue == "Failed")
    }

    @Test("26: a sidecar's failing startup probe restarts it even under Never; the regular never starts")
    func sidecarStartupProbeFailure() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.grace = 1
        b.inits = [PodBuilder.container("sidecar-1", PodBuilder.script("sidecar-1", loopForever: true), sidecar: true, extra: [
            "startupProbe": .object(["exec": .object(["command": .array([.string("false")])]), "periodSeconds": .int(1), "failureThreshold": .int(1)]),
        ])]
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1"))]
        let r = try Tandem.run(b.manifest, timeout: "6s")
        let pod = try #require(r.pod("lifecycle"))
        #expect((pod.containerStatus("sidecar-1")?["restartCount"]?.int ?? 0) >= 1)
        #expect(!b.events.contains("regular-1 Starting"))
        #expect(r.status == 1)
    }

    @Test("28: Always, a sidecar's liveness probe fails: it restarts, the regular still starts")
    func sidecarLivenessFailure() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.restartPolicy = "Always"
        b.grace = 1
        b.inits = [PodBuilder.container("sidecar-1", PodBuilder.script("sidecar-1", loopForever: true), sidecar: true, extra: [
            "livenessProbe": .object(["exec": .object(["command": .array([.string("false")])]), "periodSeconds": .int(1), "failureThreshold": .int(1)]),
        ])]
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1", loopForever: true))]
        let r = try Tandem.run(b.manifest, timeout: "6s")
        let pod = try #require(r.pod("lifecycle"))
        #expect((pod.containerStatus("sidecar-1")?["restartCount"]?.int ?? 0) >= 1)
        #expect(b.events.contains("regular-1 Starting"))
    }
    @Test("3: the regular container's postStart begins only after the init container exited")
    func postStartAfterInit() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.inits = [PodBuilder.container("init-1", PodBuilder.script("init-1", delay: 1))]
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1", delay: 1),
                                             extra: ["lifecycle": .object(["postStart": Self.exec("echo 'regular-1 PostStart' >> /persistent/events")])])]
        let r = try Tandem.run(b.manifest)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try #require(b.index("init-1 Exiting")) < (try #require(b.index("regular-1 PostStart"))))
    }

    @Test("10: after a liveness kill, readiness keeps running during the preStop; liveness does not")
    func readinessRunsDuringPreStop() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.restartPolicy = "Never"
        b.grace = 10
        b.containers = [PodBuilder.container("regular-1", "touch /tmp/alive; sleep 2; rm /tmp/alive; trap 'exit 0' TERM; while true; do sleep 0.2; done", extra: [
            "livenessProbe": .object(["exec": .object(["command": .array([.string("sh"), .string("-c"), .string("echo liveness >> /persistent/events; test -f /tmp/alive")])]),
                                      "periodSeconds": .int(1), "failureThreshold": .int(1)]),
            "readinessProbe": .object(["exec": .object(["command": .array([.string("sh"), .string("-c"), .string("echo readiness >> /persistent/events")])]),
                                       "periodSeconds": .int(1)]),
            "lifecycle": .object(["preStop": Self.exec("echo 'PreStop Start' >> /persistent/events; sleep 3; echo 'PreStop End' >> /persistent/events")]),
        ])]
        let r = try Tandem.run(b.manifest, timeout: "30s")
        let e = b.events
        let start = try #require(e.firstIndex(of: "PreStop Start")), end = try #require(e.firstIndex(of: "PreStop End"))
        let during = e[(start + 1)..<end]
        #expect(during.contains("readiness"), "\(e)")
        #expect(!during.contains("liveness"), "\(e)")
        #expect(r.pod("lifecycle")?.containerStatus("regular-1")?["restartCount"]?.int == 0)
    }

    @Test("11: a preStop that never ends: the pod is still gone within the grace period")
    func hungPreStopIsBoundedByGrace() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.restartPolicy = "Always"
        b.grace = 2
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1", loopForever: true),
                                             extra: ["lifecycle": .object(["preStop": Self.exec("sleep 10000")])])]
        let start = Date()
        let r = try Tandem.run(b.manifest, timeout: "1s")
        // --timeout, the grace period, the kubelet's 2 s extension after a preStop that used it up,
        // and room for start-up and tear-down on a loaded machine (8.1 s seen once with 3 s): a
        // preStop that held the pod would keep it for hours.
        #expect(Date().timeIntervalSince(start) < 1 + 2 + 2 + 5)
        #expect(r.pod("lifecycle")?.containerStatus("regular-1")?.terminated?["exitCode"]?.int == 137)
    }

    @Test("21: OnFailure, a failing sidecar then a failing init: Pending; both restart, in parallel")
    func failingSidecarAndInitRestartInParallel() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.restartPolicy = "OnFailure"
        b.grace = 1
        b.inits = [PodBuilder.container("sidecar-1", PodBuilder.script("sidecar-1", delay: 1, exit: 1), sidecar: true),
                   PodBuilder.container("init-1", PodBuilder.script("init-1", delay: 1, exit: 1))]
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1"))]
        let r = try Tandem.run(b.manifest, timeout: "4s")
        let pod = try #require(r.pod("lifecycle"))
        #expect((pod.containerStatus("sidecar-1")?["restartCount"]?.int ?? 0) >= 1)
        #expect((pod.containerStatus("init-1")?["restartCount"]?.int ?? 0) >= 1)
        #expect(!b.events.contains("regular-1 Starting"))
        #expect(r.stderr.isEmpty || !r.stderr.contains("Running "), "never Running: \(r.stderr)")
    }

    @Test("27: Always, a sidecar's startup probe fails: its preStop runs, it restarts; the regular never starts")
    func sidecarStartupFailureUnderAlways() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.restartPolicy = "Always"
        b.grace = 1
        b.inits = [PodBuilder.container("sidecar-1", PodBuilder.script("sidecar-1", loopForever: true), sidecar: true, extra: [
            "startupProbe": .object(["exec": .object(["command": .array([.string("false")])]), "periodSeconds": .int(1), "failureThreshold": .int(1)]),
            "lifecycle": .object(["preStop": Self.exec("echo 'sidecar-1 PreStop' >> /persistent/events")]),
        ])]
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1"))]
        let r = try Tandem.run(b.manifest, timeout: "5s")
        #expect(b.events.contains("sidecar-1 PreStop"))
        #expect((r.pod("lifecycle")?.containerStatus("sidecar-1")?["restartCount"]?.int ?? 0) >= 1)
        #expect(!b.events.contains("regular-1 Starting"))
    }

    @Test("35: grace 3 and sidecar-2 needs 20 s: sidecar-2 ends 137, the rest 0; Succeeded")
    func slowSidecarIsKilled() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.grace = 3
        b.inits = (1...3).map { n in
            PodBuilder.container("sidecar-\(n)", PodBuilder.script("sidecar-\(n)", loopForever: true, trapTerm: (n == 2 ? 20 : 0, 0)), sidecar: true)
        }
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1", delay: 1))]
        let r = try Tandem.run(b.manifest)
        let pod = try #require(r.pod("lifecycle"))
        #expect(pod["status"]?["phase"]?.stringValue == "Succeeded")
        #expect(pod.containerStatus("sidecar-2")?.terminated?["exitCode"]?.int == 137)
        #expect(pod.containerStatus("sidecar-1")?.terminated?["exitCode"]?.int == 0)
        #expect(pod.containerStatus("sidecar-3")?.terminated?["exitCode"]?.int == 0)
        #expect(pod.containerStatus("regular-1")?.terminated?["exitCode"]?.int == 0)
    }

    @Test("36: grace 3 and the regular container's preStop takes 20 s: it ends 137; Failed")
    func slowPreStopOfRegular() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.restartPolicy = "Always"
        b.grace = 3
        b.inits = [PodBuilder.container("sidecar-1", PodBuilder.script("sidecar-1", loopForever: true, trapTerm: (0, 0)), sidecar: true)]
        // No TERM trap: PID 1 ignores SIGTERM, so the 2 s minimum after the preStop ends in SIGKILL.
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1", loopForever: true),
                                             extra: ["lifecycle": .object(["preStop": Self.exec("sleep 20")])])]
        let r = try Tandem.run(b.manifest, timeout: "2s")
        let pod = try #require(r.pod("lifecycle"))
        #expect(pod.containerStatus("regular-1")?.terminated?["exitCode"]?.int == 137)
        #expect(pod["status"]?["phase"]?.stringValue == "Failed")
    }

    @Test("38: stopped while a sidecar runs but never started (grace 180): gone long before the grace runs out")
    func stoppedWithUnstartedSidecar() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.grace = 180
        b.inits = [
            PodBuilder.container("sidecar-1", PodBuilder.script("sidecar-1", loopForever: true, trapTerm: (1, 0)), sidecar: true),
            PodBuilder.container("sidecar-2", PodBuilder.script("sidecar-2", loopForever: true, trapTerm: (1, 0)), sidecar: true, extra: [
                "startupProbe": .object(["exec": .object(["command": .array([.string("false")])]), "periodSeconds": .int(1), "failureThreshold": .int(600)]),
            ]),
        ]
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1"))]
        let start = Date()
        let r = try Tandem.run(b.manifest, timeout: "3s")
        #expect(Date().timeIntervalSince(start) < 3 + 15)
        #expect(!b.events.contains("regular-1 Starting"))
        let exits = b.events.filter { $0.hasSuffix("Exiting") }
        #expect(exits == ["sidecar-2 Exiting", "sidecar-1 Exiting"], "\(b.events)")
        #expect(r.pod("lifecycle")?.containerStatus("sidecar-2")?.terminated?["exitCode"]?.int == 0)
    }
}
