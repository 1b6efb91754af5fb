import Foundation
import KubeAPI
import Testing
@testable import PodLifecycle

/// Builds pods and runtime records for the pure lifecycle rules.
struct Fixture {
    var spec: PodSpec
    var status = PodRuntimeStatus(sandboxReady: true, sandboxAttempt: 1)
    var probes = ProbeResults()
    let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    init(inits: [Container] = [], containers: [Container], restartPolicy: String = "Never") {
        spec = PodSpec(containers: containers, initContainers: inits.isEmpty ? nil : inits, restartPolicy: restartPolicy)
    }

    static func sidecar(_ name: String, startupProbe: Bool = false) -> Container {
        var c = Container(name: name, command: ["sh"])
        c.restartPolicy = "Always"
        if startupProbe { c.startupProbe = Probe(exec: ExecAction(command: ["true"])) }
        return c
    }

    mutating func running(_ name: String, id: String? = nil, restarts: Int32 = 0) {
        status.append(ContainerRecord(name: name, id: id ?? name + "-\(restarts)", image: "busybox", state: .running, createdAt: t0, startedAt: t0, restartCount: restarts))
    }

    mutating func exited(_ name: String, code: Int32, restarts: Int32 = 0) {
        status.append(ContainerRecord(name: name, id: name + "-\(restarts)", image: "busybox", state: .exited, exitCode: code,
                                      createdAt: t0, startedAt: t0, finishedAt: t0.addingTimeInterval(1), restartCount: restarts))
    }

    var actions: PodActions { PodLifecycle.computePodActions(spec: spec, status: status, probes: probes) }
}

@Suite struct PodActionsTests {
    @Test func firstSyncCreatesSandboxAndStartsFirstInit() {
        var f = Fixture(inits: [Container(name: "i1"), Container(name: "i2")], containers: [Container(name: "app")])
        f.status = PodRuntimeStatus()
        let a = f.actions
        #expect(a.createSandbox)
        #expect(a.initContainersToStart == [0])
        #expect(a.containersToStart.isEmpty)
    }

    @Test func initContainersRunOneAtATime() {
        var f = Fixture(inits: [Container(name: "i1"), Container(name: "i2"), Container(name: "i3")], containers: [Container(name: "app")])
        f.running("i1")
        #expect(f.actions.initContainersToStart.isEmpty)
        f.status = PodRuntimeStatus(sandboxReady: true, sandboxAttempt: 1)
        f.exited("i1", code: 0)
        #expect(f.actions.initContainersToStart == [1])
        f.exited("i2", code: 0)
        #expect(f.actions.initContainersToStart == [2])
        f.exited("i3", code: 0)
        #expect(f.actions.initContainersToStart.isEmpty)
        #expect(f.actions.containersToStart == [0])
    }

    @Test func failedInitUnderNeverKillsPod() {
        var f = Fixture(inits: [Fixture.sidecar("sc"), Container(name: "i1")], containers: [Container(name: "app")])
        f.running("sc")
        f.exited("i1", code: 1)
        let a = f.actions
        #expect(a.killPod)
        #expect(a.initContainersToStart.isEmpty)
        #expect(a.containersToStart.isEmpty)
    }

    @Test func failedInitUnderOnFailureRetriesOnlyThatInit() {
        var f = Fixture(inits: [Container(name: "i1"), Container(name: "i2")], containers: [Container(name: "app")], restartPolicy: "OnFailure")
        f.exited("i1", code: 0)
        f.exited("i2", code: 1)
        let a = f.actions
        #expect(!a.killPod)
        #expect(a.initContainersToStart == [1])
    }

    @Test func sidecarGatesNextInitUntilStarted() {
        var f = Fixture(inits: [Fixture.sidecar("sc", startupProbe: true), Container(name: "i1")], containers: [Container(name: "app")])
        f.running("sc")
        #expect(f.actions.initContainersToStart.isEmpty, "no startup result yet: wait")
        f.probes.set(.startup, "sc-0", .unknown)
        #expect(f.actions.initContainersToStart.isEmpty)
        f.probes.set(.startup, "sc-0", .success)
        #expect(f.actions.initContainersToStart == [1])
    }

    @Test func sidecarWithoutStartupProbeCountsAsStartedWhenRunning() {
        var f = Fixture(inits: [Fixture.sidecar("sc1"), Fixture.sidecar("sc2")], containers: [Container(name: "app")])
        f.running("sc1")
        #expect(f.actions.initContainersToStart == [1])
        f.running("sc2")
        #expect(f.actions.containersToStart == [0])
    }

    @Test func sidecarRestartsOnAnyExitEvenUnderNever() {
        var f = Fixture(inits: [Fixture.sidecar("sc")], containers: [Container(name: "app")])
        f.exited("sc", code: 0)
        f.running("app")
        let a = f.actions
        #expect(a.initContainersToStart == [0])
        #expect(!a.killPod)
    }

    @Test func sidecarStartupFailureKillsAndRestartsIt() {
        var f = Fixture(inits: [Fixture.sidecar("sc", startupProbe: true)], containers: [Container(name: "app")])
        f.running("sc")
        f.probes.set(.startup, "sc-0", .failure)
        let a = f.actions
        #expect(a.containersToKill.map(\.reason) == ["StartupProbe"])
        #expect(a.initContainersToStart == [0])
        #expect(a.containersToStart.isEmpty)
    }

    @Test func podDoneUnderNeverKillsSidecarsAndStartsNothing() {
        var f = Fixture(inits: [Fixture.sidecar("sc")], containers: [Container(name: "app")])
        f.running("sc")
        f.exited("app", code: 0)
        let a = f.actions
        #expect(a.killPod)
        #expect(a.initContainersToStart.isEmpty)
    }

    @Test func restartPolicies() {
        for (policy, code, restart) in [("Always", 0, true), ("Always", 1, true), ("OnFailure", 0, false), ("OnFailure", 1, true), ("Never", 1, false)] {
            var f = Fixture(containers: [Container(name: "app"), Container(name: "keep")], restartPolicy: policy)
            f.exited("app", code: Int32(code))
            f.running("keep")
            #expect(f.actions.containersToStart == (restart ? [0] : []), "\(policy) exit \(code)")
        }
    }

    @Test func livenessFailureRestartsUnlessNever() {
        for (policy, restart) in [("Always", true), ("OnFailure", true), ("Never", false)] {
            var f = Fixture(containers: [Container(name: "app")], restartPolicy: policy)
            f.running("app")
            f.probes.set(.liveness, "app-0", .failure)
            let a = f.actions
            #expect(a.containersToKill.map(\.reason) == ["LivenessProbe"])
            #expect(a.containersToStart == (restart ? [0] : []))
        }
    }

    @Test func imageChangeRestartsRunningContainerEvenUnderNever() {
        var f = Fixture(containers: [Container(name: "app", image: "busybox:2"), Container(name: "other")])
        f.running("app")
        f.running("other")
        let a = f.actions
        #expect(a.containersToKill.map(\.name) == ["app"])
        #expect(a.containersToStart == [0])
    }

    @Test func finishedInitWhoseRecordVanishedIsNotRerun() {
        var f = Fixture(inits: [Container(name: "i1"), Container(name: "i2")], containers: [Container(name: "app")])
        f.exited("i2", code: 0)
        f.running("app")
        #expect(f.actions.initContainersToStart.isEmpty)
        #expect(f.actions.containersToStart.isEmpty)
    }
}

@Suite struct RestartBackoffTests {
    @Test func delaysDoubleFromTenSecondsToFiveMinutes() {
        var b = RestartBackoff()
        let key = "k"
        var t = Date(timeIntervalSince1970: 0)
        // 1st exit: no entry yet, restart at once.
        #expect(!b.isInBackOffSince(key, since: t, now: t))
        b.next(key, since: t, now: t)
        var delays: [TimeInterval] = []
        for _ in 0..<7 {
            let finished = t.addingTimeInterval(1)
            #expect(b.isInBackOffSince(key, since: finished, now: finished))
            let expiry = b.expiry(key, since: finished)!
            delays.append(expiry.timeIntervalSince(finished))
            #expect(!b.isInBackOffSince(key, since: finished, now: expiry))
            b.next(key, since: finished, now: expiry)
            t = expiry
        }
        #expect(delays == [10, 20, 40, 80, 160, 300, 300])
    }

    @Test func resetsAfterTenMinutesOfRunning() {
        var b = RestartBackoff()
        let t = Date(timeIntervalSince1970: 0)
        b.next("k", since: t, now: t)
        b.next("k", since: t, now: t)
        #expect(b.duration("k") == 20)
        let muchLater = t.addingTimeInterval(601)
        #expect(!b.isInBackOffSince("k", since: muchLater, now: muchLater))
        b.next("k", since: muchLater, now: muchLater)
        #expect(b.duration("k") == 10)
    }
}

@Suite struct ProbeThresholdTests {
    @Test func failureNeedsThresholdInARow() {
        var p = Probe(exec: ExecAction(command: ["x"]))
        p.failureThreshold = 3
        var t = ProbeThreshold(type: .readiness, probe: p)
        #expect(t.record(.failure) == nil)
        #expect(t.record(.failure) == nil)
        #expect(t.record(.success) == .success)
        #expect(t.record(.failure) == nil)
        #expect(t.record(.failure) == nil)
        #expect(t.record(.failure) == .failure)
        #expect(!t.onHold)
    }

    @Test func livenessFailureHoldsTheWorker() {
        var p = Probe(exec: ExecAction(command: ["x"]))
        p.failureThreshold = 1
        var t = ProbeThreshold(type: .liveness, probe: p)
        #expect(t.record(.failure) == .failure)
        #expect(t.onHold)
    }
}

@Suite struct TerminationOrderingTests {
    @Test func sidecarsWaitForRegularsAndLaterSidecars() {
        let f = Fixture(inits: [Fixture.sidecar("sc1"), Container(name: "i"), Fixture.sidecar("sc2"), Fixture.sidecar("sc3")], containers: [Container(name: "app")])
        let deps = TerminationOrdering.dependencies(spec: f.spec, running: ["sc1", "sc2", "sc3", "app"])
        #expect(deps["app"] == nil)
        #expect(deps["sc3"] == ["app"])
        #expect(deps["sc2"] == ["app", "sc3"])
        #expect(deps["sc1"] == ["app", "sc2"])
    }

    @Test func stoppedSidecarsCauseNoWait() {
        let f = Fixture(inits: [Fixture.sidecar("sc1"), Fixture.sidecar("sc2")], containers: [Container(name: "app")])
        let deps = TerminationOrdering.dependencies(spec: f.spec, running: ["sc1"])
        #expect(deps["sc1"] == [])
    }

    /// `newTerminationOrdering` links each sidecar to the one declared right after it; when that
    /// one is not running its channel is pre-closed, so the chain stops there.
    @Test func chainStopsAtAStoppedNeighbour() {
        let f = Fixture(inits: [Fixture.sidecar("sc1"), Fixture.sidecar("sc2"), Fixture.sidecar("sc3")], containers: [Container(name: "app")])
        let deps = TerminationOrdering.dependencies(spec: f.spec, running: ["sc1", "sc3", "app"])
        #expect(deps["sc1"] == ["app"])
        #expect(deps["sc3"] == ["app"])
    }
}
