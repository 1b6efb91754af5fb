import Foundation
import KubeAPI
import Testing
@testable import PodLifecycle

/// The kubelet's ephemeral container rules (`computePodActions`' `EphemeralContainersToStart`,
/// their statuses in `generateAPIPodStatus`).
@Suite struct EphemeralContainerTests {
    func fixture(restartPolicy: String = "Always", inits: [Container] = []) -> Fixture {
        var f = Fixture(inits: inits, containers: [Container(name: "app")], restartPolicy: restartPolicy)
        f.spec.ephemeralContainers = [EphemeralContainer(Container(name: "debugger", command: ["sh"]), targetContainerName: "app")]
        return f
    }

    @Test func startsOnceWhileThePodRuns() {
        var f = fixture()
        f.running("app")
        #expect(f.actions.ephemeralContainersToStart == [0])
        #expect(f.actions.containersToStart.isEmpty)
        f.running("debugger")
        #expect(f.actions.ephemeralContainersToStart.isEmpty)
    }

    @Test(arguments: [Int32(0), 1, 137])
    func neverRestartedWhateverItExitsWith(code: Int32) {
        var f = fixture()
        f.running("app")
        f.exited("debugger", code: code)
        let a = f.actions
        #expect(a.ephemeralContainersToStart.isEmpty)
        #expect(!a.killPod)
        #expect(a.containersToKill.isEmpty)
    }

    @Test func startsBeforeInitializationCompletes() {
        var f = fixture(inits: [Container(name: "setup")])
        f.running("setup")
        let a = f.actions
        #expect(a.ephemeralContainersToStart == [0])
        #expect(a.initContainersToStart.isEmpty)
    }

    @Test func notStartedInAFinishedPod() {
        var f = fixture(restartPolicy: "Never")
        f.exited("app", code: 0)
        let a = f.actions
        #expect(a.killPod)
        #expect(a.ephemeralContainersToStart.isEmpty)
    }

    @Test func notStartedWithoutASandbox() {
        var f = fixture()
        f.status = PodRuntimeStatus()
        #expect(f.actions.createSandbox)
        #expect(f.actions.ephemeralContainersToStart.isEmpty)
    }

    @Test func doesNotKeepAPodAliveNorCountAsARegularContainer() {
        var f = fixture(restartPolicy: "Never")
        f.exited("app", code: 0)
        f.running("debugger")
        // The pod is finished: the running debugger is stopped with the rest.
        #expect(f.actions.killPod)
    }

    @Test func statusesAsTheKubeletWritesThem() throws {
        var f = fixture()
        f.running("app")
        let pod = Pod(metadata: ObjectMeta(name: "p"), spec: f.spec)
        var status = PodStatusGenerator.generate(pod: pod, StatusInputs(runtime: f.status, now: f.t0))
        var e = try #require(status.ephemeralContainerStatuses?.first)
        #expect(e.name == "debugger")
        #expect(e.state.waiting?.reason == "ContainerCreating")
        #expect(!e.ready && e.started == nil && e.restartCount == 0)

        f.exited("debugger", code: 3)
        status = PodStatusGenerator.generate(pod: pod, StatusInputs(runtime: f.status, now: f.t0))
        e = try #require(status.ephemeralContainerStatuses?.first)
        #expect(e.state.terminated?.exitCode == 3)
        #expect(e.state.terminated?.reason == "Error")
        #expect(e.containerID == "tandem://debugger-0")
        // A debugger exiting changes nothing else: the pod stays Running and Ready.
        #expect(status.phase == "Running")
        #expect(status.containerStatuses?.map(\.name) == ["app"])
        #expect(status.conditions?.first { $0.type == "ContainersReady" }?.status == "True")
    }

    @Test func aFailedStartShowsWhy() throws {
        var f = fixture()
        f.running("app")
        let pod = Pod(metadata: ObjectMeta(name: "p"), spec: f.spec)
        let failure = StartFailure(reason: "CreateContainerConfigError", message: "target container \"app\" is not running")
        let status = PodStatusGenerator.generate(pod: pod, StatusInputs(runtime: f.status, reasonCache: ["debugger": failure], now: f.t0))
        #expect(status.ephemeralContainerStatuses?.first?.state.waiting == ContainerStateWaiting(reason: failure.reason, message: failure.message))
        // Without an instance it is tried again.
        #expect(f.actions.ephemeralContainersToStart == [0])
    }
}
