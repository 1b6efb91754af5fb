import Foundation
import KubeAPI
import Testing
@testable import PodLifecycle

@Suite struct StatusTests {
    func pod(_ f: Fixture, probes: ProbeResults = .init(), reasons: [String: StartFailure] = [:], terminated: Bool = false) -> Pod {
        var p = Pod(metadata: ObjectMeta(name: "p", namespace: "default"), spec: f.spec)
        p.metadata.creationTimestamp = Timestamp.string(f.t0)
        p.metadata.uid = "uid"
        p.status = PodStatusGenerator.generate(pod: p, StatusInputs(runtime: f.status, probes: probes, reasonCache: reasons, terminated: terminated,
                                                                    now: f.t0.addingTimeInterval(5)))
        return p
    }

    /// `TerminatePod`: a pod without init containers counts as initialized, so its never-started
    /// container ends `ContainerStatusUnknown`; of init containers that never started, the first.
    @Test func terminatedPodLeavesNoContainerWaiting() {
        let configError = StartFailure(reason: "CreateContainerConfigError", message: "configmap \"x\" not found")
        let bare = pod(Fixture(containers: [Container(name: "c1")]), reasons: ["c1": configError], terminated: true)
        #expect(bare.status?.phase == "Failed")
        #expect(bare.status?.containerStatuses?[0].state.terminated?.reason == "ContainerStatusUnknown")
        #expect(bare.status?.containerStatuses?[0].state.terminated?.exitCode == 137)
        #expect(row(bare).status == "ContainerStatusUnknown")

        let f = Fixture(inits: [Container(name: "i1"), Container(name: "i2")], containers: [Container(name: "app")])
        let stuck = pod(f, reasons: ["i1": configError], terminated: true)
        #expect(stuck.status?.initContainerStatuses?[0].state.terminated?.reason == "ContainerStatusUnknown")
        #expect(stuck.status?.initContainerStatuses?[1].state.waiting != nil)
        #expect(stuck.status?.containerStatuses?[0].state.waiting != nil, "not initialized: the regular container stays waiting")
        #expect(row(stuck).status == "Init:ContainerStatusUnknown")
    }

    func row(_ p: Pod) -> PodPrinter.Row { PodPrinter.row(p, now: Date(timeIntervalSince1970: 1_700_000_010)) }

    @Test func initProgressColumns() {
        var f = Fixture(inits: [Container(name: "i1")], containers: [Container(name: "app")])
        f.running("i1")
        let p = pod(f)
        #expect(p.status?.phase == "Pending")
        #expect(row(p).status == "Init:0/1")
        #expect(row(p).ready == "0/1")
        #expect(p.status?.conditions?.map(\.type) == ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"])
        #expect(p.status?.conditions?[1].message == "containers with incomplete status: [i1]")
        #expect(p.status?.containerStatuses?.first?.state.waiting?.reason == "PodInitializing")
    }

    @Test func podInitializingAfterInitsDone() {
        var f = Fixture(inits: [Container(name: "i1")], containers: [Container(name: "app")])
        f.exited("i1", code: 0)
        let p = pod(f)
        #expect(row(p).status == "PodInitializing")
        #expect(p.status?.initContainerStatuses?.first?.ready == true)
    }

    @Test func jobPodWithSidecarShowsCompletedWhileSidecarStops() {
        var f = Fixture(inits: [Fixture.sidecar("sc")], containers: [Container(name: "job")])
        f.running("sc")
        f.exited("job", code: 0)
        let p = pod(f)
        #expect(p.status?.phase == "Running")
        #expect(row(p).status == "Completed")
        #expect(row(p).ready == "1/2")
    }

    @Test func succeededIgnoresSidecarExitCodes() {
        var f = Fixture(inits: [Fixture.sidecar("sc")], containers: [Container(name: "job")])
        f.exited("sc", code: 137)
        f.exited("job", code: 0)
        let p = pod(f)
        #expect(p.status?.phase == "Succeeded")
        #expect(p.status?.conditions?.first { $0.type == "ContainersReady" }?.reason == "PodCompleted")
        #expect(p.status?.conditions?.first { $0.type == "Initialized" }?.reason == "PodCompleted")
    }

    @Test func failedInitUnderNever() {
        var f = Fixture(inits: [Container(name: "i1")], containers: [Container(name: "app")])
        f.exited("i1", code: 1)
        let p = pod(f)
        #expect(p.status?.phase == "Failed")
        #expect(row(p).status == "Init:Error")
    }

    @Test func crashLoopBackOffShowsWaitingWithLastState() {
        var f = Fixture(containers: [Container(name: "app")], restartPolicy: "Always")
        f.exited("app", code: 1, restarts: 0)
        f.exited("app", code: 1, restarts: 1)
        let p = pod(f, reasons: ["app": StartFailure(reason: "CrashLoopBackOff", message: "back-off 10s restarting failed container=app pod=p_default(uid)")])
        let s = p.status!.containerStatuses![0]
        #expect(s.state.waiting?.reason == "CrashLoopBackOff")
        #expect(s.lastState.terminated?.exitCode == 1)
        #expect(s.restartCount == 1)
        #expect(row(p).status == "CrashLoopBackOff")
        #expect(row(p).restarts.hasPrefix("1 ("))
        #expect(p.status?.phase == "Running")
    }

    @Test func initCrashLoopBackOff() {
        var f = Fixture(inits: [Container(name: "i1")], containers: [Container(name: "app")], restartPolicy: "OnFailure")
        f.exited("i1", code: 1)
        let p = pod(f, reasons: ["i1": StartFailure(reason: "CrashLoopBackOff", message: "x")])
        #expect(row(p).status == "Init:CrashLoopBackOff")
        #expect(p.status?.phase == "Pending")
    }

    /// `convertToAPIContainerStatuses` shows a sidecar in back-off as waiting only when
    /// `ShouldContainerBeRestarted` (which knows no sidecars) says so and it did not exit 0.
    @Test func sidecarInBackOffShowsWaitingOnlyAsTheKubeletDecides() {
        let backOff = StartFailure(reason: "CrashLoopBackOff", message: "back-off 10s restarting failed container=sc pod=p_default(uid)")
        func sidecarStatus(policy: String, code: Int32) -> (ContainerStatus, PodPrinter.Row) {
            var f = Fixture(inits: [Fixture.sidecar("sc")], containers: [Container(name: "app")], restartPolicy: policy)
            f.exited("sc", code: code)
            f.running("app")
            let p = pod(f, reasons: ["sc": backOff])
            return (p.status!.initContainerStatuses![0], row(p))
        }
        let (failedAlways, failedAlwaysRow) = sidecarStatus(policy: "Always", code: 1)
        #expect(failedAlways.state.waiting?.reason == "CrashLoopBackOff")
        #expect(failedAlways.lastState.terminated?.exitCode == 1)
        #expect(failedAlwaysRow.status == "Init:CrashLoopBackOff")
        let (cleanAlways, cleanAlwaysRow) = sidecarStatus(policy: "Always", code: 0)
        #expect(cleanAlways.state.terminated?.reason == "Completed")
        #expect(cleanAlwaysRow.status == "Running")
        let (failedNever, failedNeverRow) = sidecarStatus(policy: "Never", code: 1)
        #expect(failedNever.state.terminated?.exitCode == 1)
        #expect(failedNeverRow.status == "Init:Error")
        let (failedOnFailure, _) = sidecarStatus(policy: "OnFailure", code: 1)
        #expect(failedOnFailure.state.waiting?.reason == "CrashLoopBackOff")
    }

    /// `GeneratePodReadyCondition` writes one sentence per readiness gate without its condition.
    @Test func readinessGatesWithoutConditionsKeepThePodUnready() {
        var f = Fixture(containers: [Container(name: "app")], restartPolicy: "Always")
        f.spec.readinessGates = [PodReadinessGate(conditionType: "example.com/a"), PodReadinessGate(conditionType: "example.com/b")]
        f.running("app")
        let ready = pod(f).status?.conditions?.first { $0.type == "Ready" }
        #expect(ready?.status == "False")
        #expect(ready?.reason == "ReadinessGatesNotReady")
        #expect(ready?.message == #"corresponding condition of pod readiness gate "example.com/a" does not exist., "#
            + #"corresponding condition of pod readiness gate "example.com/b" does not exist."#)
    }

    @Test func readinessDecidesReadyColumn() {
        var c = Container(name: "app")
        c.readinessProbe = Probe(exec: ExecAction(command: ["true"]))
        var f = Fixture(inits: [Fixture.sidecar("sc")], containers: [c], restartPolicy: "Always")
        f.running("sc")
        f.running("app")
        var probes = ProbeResults()
        probes.set(.readiness, "app-0", .failure)
        #expect(row(pod(f, probes: probes)).ready == "1/2")
        probes.set(.readiness, "app-0", .success)
        let p = pod(f, probes: probes)
        #expect(row(p).ready == "2/2")
        #expect(row(p).status == "Running")
        #expect(p.status?.conditions?.first { $0.type == "Ready" }?.status == "True")
    }

    @Test func statusesSortedByName() {
        var f = Fixture(containers: [Container(name: "zeta"), Container(name: "alpha")], restartPolicy: "Always")
        f.running("zeta")
        f.running("alpha")
        #expect(pod(f).status?.containerStatuses?.map(\.name) == ["alpha", "zeta"])
    }

    @Test func humanDuration() {
        #expect(PodPrinter.humanDuration(5) == "5s")
        #expect(PodPrinter.humanDuration(119) == "119s")
        #expect(PodPrinter.humanDuration(302) == "5m2s")
        #expect(PodPrinter.humanDuration(3600 * 3 + 60) == "3h1m")
        #expect(PodPrinter.goDuration(80) == "1m20s")
        #expect(PodPrinter.goDuration(300) == "5m0s")
    }
}

@Suite struct SandboxChangeTests {
    /// KR-2: after the sandbox is re-created, the old sandbox's regular instance does not make the
    /// pod initialized, and the purged init containers keep their last reported status.
    @Test func pendingUntilReinitializedAfterSandboxChange() {
        var f = Fixture(inits: [Container(name: "i1"), Container(name: "i2")], containers: [Container(name: "app")])
        f.spec.restartPolicy = "Always"
        f.exited("i1", code: 0)
        f.exited("i2", code: 0)
        f.running("app")
        var before = Pod(metadata: ObjectMeta(name: "p", namespace: "default"), spec: f.spec)
        before.status = PodStatusGenerator.generate(pod: before, StatusInputs(runtime: f.status, probes: .init(), reasonCache: [:], now: f.t0))
        #expect(before.status?.phase == "Running")

        // The sandbox died: the app was killed, the inits purged, a second sandbox made, i1 runs again.
        f.exited("app", code: 137)
        for name in ["i1", "i2", "app"] {
            f.status.instances[name] = f.status.instances[name]?.map { var r = $0; r.sandbox = 1; return r }
        }
        f.status.purge(["i1", "i2"])
        f.status.sandboxAttempt = 2
        #expect(PodLifecycle.computePodActions(spec: f.spec, status: f.status, probes: f.probes).initContainersToStart == [0])
        var r = ContainerRecord(name: "i1", id: "i1-again", image: "", state: .running, createdAt: f.t0, startedAt: f.t0, restartCount: 1)
        r.sandbox = 2
        f.status.append(r)
        let after = PodStatusGenerator.generate(pod: before, StatusInputs(runtime: f.status, probes: .init(), reasonCache: [:],
                                                                          previous: before.status, now: f.t0))
        #expect(after.phase == "Pending")
        #expect(!f.status.hasInstanceInCurrentSandbox(of: ["app"]))
        // i2 has no instance now: its last reported (terminated) status stands.
        #expect(after.initContainerStatuses?[1].state.terminated?.exitCode == 0)
        #expect(after.initContainerStatuses?[0].restartCount == 1)
    }
}
