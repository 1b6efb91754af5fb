import Foundation
import KubeAPI
import Testing

/// The scenarios that change a running pod's image (kubelet-rules.md 7, 8, 23, 24, 25), driven by
/// editing the manifest under `tandem run --watch`, as `kubectl set image` would on a cluster.
@Suite(.serialized) struct ImageUpdateScenarioTests {
    typealias PodBuilder = LifecycleScenarioTests.PodBuilder

    /// Starts `b` under `--watch`, waits for `ready`, swaps the image of `container`, then waits
    /// for `done` and stops tandem.
    func run(_ b: PodBuilder, change container: String, when ready: @escaping (PodBuilder) -> Bool,
             until done: @escaping (PodBuilder) -> Bool) throws -> Tandem.Result {
        let dir = try Tandem.tempDir("tandem-watch")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/pod.json"
        try b.manifest.write(toFile: file, atomically: true, encoding: .utf8)
        let run = try BackgroundRun(files: [file], args: ["--watch", "--timeout", "40s"])
        defer { run.cleanup() }
        #expect(run.wait(for: 20) { ready(b) }, "not ready: \(b.events)")
        var changed = b
        changed.inits = b.inits.map { Self.withImage($0, container) }
        changed.containers = b.containers.map { Self.withImage($0, container) }
        try changed.manifest.write(toFile: file, atomically: true, encoding: .utf8)
        #expect(run.wait(for: 20) { done(b) }, "not done: \(b.events)")
        return run.stop()
    }

    static func withImage(_ c: JSONValue, _ name: String) -> JSONValue {
        guard case .object(var o) = c, o["name"]?.stringValue == name else { return c }
        o["image"] = .string("busybox:1.36")
        return .object(o)
    }

    func count(_ b: PodBuilder, _ line: String) -> Int { b.events.filter { $0 == line }.count }

    @Test("7: an image change restarts a running regular container even under Never; the other is untouched")
    func regularImageChange() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.grace = 1
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1", loopForever: true)),
                        PodBuilder.container("regular-2", PodBuilder.script("regular-2", loopForever: true))]
        let r = try run(b, change: "regular-1", when: { $0.events.contains("regular-2 Starting") && $0.events.contains("regular-1 Starting") },
                        until: { self.count($0, "regular-1 Starting") == 2 })
        #expect(count(b, "regular-2 Starting") == 1)
        let pod = try #require(r.pod("lifecycle"))
        #expect(pod.containerStatus("regular-1")?["restartCount"]?.int == 1)
        #expect(pod.containerStatus("regular-2")?["restartCount"]?.int == 0)
        #expect(pod.containerStatus("regular-1")?["image"]?.stringValue == "busybox:1.36")
    }

    @Test("8: a regular container's image changed during init: nothing starts early; it runs once, on the new image")
    func imageChangeDuringInit() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.grace = 1
        b.inits = [PodBuilder.container("init-1", PodBuilder.script("init-1", delay: 3))]
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1", loopForever: true))]
        let r = try run(b, change: "regular-1", when: { $0.events.contains("init-1 Starting") },
                        until: { $0.events.contains("regular-1 Starting") })
        #expect(b.events.prefix(3) == ["init-1 Starting", "init-1 Exiting", "regular-1 Starting"])
        #expect(count(b, "regular-1 Starting") == 1)
        let pod = try #require(r.pod("lifecycle"))
        #expect(pod.containerStatus("regular-1")?["image"]?.stringValue == "busybox:1.36")
        #expect(pod.containerStatus("regular-1")?["restartCount"]?.int == 0)
    }

    @Test("23: a running sidecar's image changes: only that sidecar restarts")
    func sidecarImageChange() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.grace = 1
        b.inits = [PodBuilder.container("sidecar-1", PodBuilder.script("sidecar-1", loopForever: true), sidecar: true),
                   PodBuilder.container("sidecar-2", PodBuilder.script("sidecar-2", loopForever: true), sidecar: true)]
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1", loopForever: true))]
        let r = try run(b, change: "sidecar-1", when: { $0.events.contains("regular-1 Starting") },
                        until: { self.count($0, "sidecar-1 Starting") == 2 })
        #expect(count(b, "sidecar-2 Starting") == 1)
        #expect(count(b, "regular-1 Starting") == 1)
        #expect(r.pod("lifecycle")?.containerStatus("sidecar-1")?["restartCount"]?.int == 1)
    }

    @Test("24/25: sidecar-1's image changes while init-2 runs: sidecar-1 restarts, inits don't; init-2 then fails: Failed")
    func sidecarImageChangeDuringInit() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.grace = 1
        b.inits = [PodBuilder.container("init-1", PodBuilder.script("init-1")),
                   PodBuilder.container("sidecar-1", PodBuilder.script("sidecar-1", loopForever: true), sidecar: true),
                   PodBuilder.container("init-2", PodBuilder.script("init-2", delay: 4, exit: 1))]
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1"))]
        let r = try run(b, change: "sidecar-1", when: { $0.events.contains("init-2 Starting") },
                        until: { $0.events.contains("init-2 Exiting") })
        #expect(count(b, "sidecar-1 Starting") == 2, "\(b.events)")
        #expect(count(b, "init-1 Starting") == 1)
        #expect(count(b, "init-2 Starting") == 1)
        #expect(!b.events.contains("regular-1 Starting"))
        let pod = try #require(r.pod("lifecycle"))
        #expect(pod["status"]?["phase"]?.stringValue == "Failed")
        let initExit = pod.containerStatus("init-2")?.terminated?["finishedAt"]?.stringValue ?? "~"
        let sidecarExit = pod.containerStatus("sidecar-1")?.terminated?["finishedAt"]?.stringValue ?? ""
        #expect(initExit <= sidecarExit, "init-2 exits before sidecar-1 is stopped")
    }

    @Test("29: a sidecar restarted by its liveness probe gets a new image: it restarts on it; the regular is untouched")
    func livenessRestartedSidecarGetsNewImage() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.restartPolicy = "Always"
        b.grace = 1
        b.inits = [PodBuilder.container("sidecar-1", PodBuilder.script("sidecar-1", loopForever: true), sidecar: true, extra: [
            "livenessProbe": .object(["exec": .object(["command": .array([.string("false")])]), "periodSeconds": .int(1), "failureThreshold": .int(1)]),
        ])]
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1", loopForever: true))]
        let r = try run(b, change: "sidecar-1", when: { self.count($0, "sidecar-1 Starting") >= 2 },
                        until: { self.count($0, "sidecar-1 Starting") >= 3 })
        let pod = try #require(r.pod("lifecycle"))
        #expect(pod.containerStatus("sidecar-1")?["image"]?.stringValue == "busybox:1.36")
        #expect(pod.containerStatus("regular-1")?["restartCount"]?.int == 0)
        #expect(count(b, "regular-1 Starting") == 1)
    }

    @Test func updatesOtherThanImagesAreRefused() throws {
        var b = try PodBuilder()
        defer { b.cleanup() }
        b.grace = 1
        b.restartPolicy = "Always"
        b.containers = [PodBuilder.container("regular-1", PodBuilder.script("regular-1", loopForever: true))]
        let dir = try Tandem.tempDir("tandem-watch")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/pod.json"
        try b.manifest.write(toFile: file, atomically: true, encoding: .utf8)
        let run = try BackgroundRun(files: [file], args: ["--watch"])
        defer { run.cleanup() }
        #expect(run.wait { b.events.contains("regular-1 Starting") })
        var changed = b
        changed.restartPolicy = "Never"
        try changed.manifest.write(toFile: file, atomically: true, encoding: .utf8)
        let refused = run.wait(for: 10) {
            ((try? String(contentsOfFile: run.outDir + "/err", encoding: .utf8)) ?? "")
                .contains("The Pod \"lifecycle\" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`")
        }
        #expect(refused)
        _ = run.stop()
        #expect(count(b, "regular-1 Starting") == 1)
    }
}
