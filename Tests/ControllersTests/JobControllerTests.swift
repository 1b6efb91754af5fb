import Foundation
import Testing
import KubeAPI
@testable import Controllers

@Suite struct JobPrepareTests {
    @Test func defaultsSelectorAndLabels() {
        let job = makeJob()
        #expect(job.metadata.uid == "job-uid-1")
        #expect(job.spec.selector?.matchLabels == ["batch.kubernetes.io/controller-uid": "job-uid-1"])
        let labels = job.spec.template.metadata?.labels ?? [:]
        #expect(labels["batch.kubernetes.io/controller-uid"] == "job-uid-1")
        #expect(labels["controller-uid"] == "job-uid-1")
        #expect(labels["batch.kubernetes.io/job-name"] == "pi")
        #expect(labels["job-name"] == "pi")
        #expect(job.spec.completions == 1 && job.spec.parallelism == 1)
        #expect(job.spec.backoffLimit == 6)
        #expect(job.spec.completionMode == "NonIndexed")
        #expect(job.spec.podReplacementPolicy == "TerminatingOrFailed")
    }

    @Test func podFailurePolicyDefaultsReplacementToFailed() {
        let job = makeJob(podFailurePolicy: #"{"rules":[]}"#)
        #expect(job.spec.podReplacementPolicy == "Failed")
    }
}

@Suite struct JobControllerTests {
    let suffixes = Suffixes()
    func sync(_ job: inout Job, _ world: inout PodWorld, _ now: Date) -> Reconciled<JobStatus> {
        let r = JobController.reconcile(job: job, pods: world.pods, now: now, randomSuffix: suffixes.next)
        world.apply(r.actions, now: now)
        job.status = r.status
        return r
    }

    @Test func firstSyncCreatesPodsWithLabelsAndOwner() throws {
        var job = makeJob(parallelism: 2, completions: 4)
        var world = PodWorld()
        let r = sync(&job, &world, t0)
        #expect(r.createdPods.count == 2)
        let pod = try #require(r.createdPods.first)
        #expect(pod.name == "pi-s0001")
        #expect(pod.metadata.generateName == "pi-")
        #expect(pod.metadata.labels?["batch.kubernetes.io/job-name"] == "pi")
        #expect(pod.metadata.labels?["controller-uid"] == "job-uid-1")
        let owner = try #require(pod.metadata.ownerReferences?.first)
        #expect(owner.apiVersion == "batch/v1" && owner.kind == "Job" && owner.name == "pi" && owner.uid == "job-uid-1")
        #expect(owner.controller == true && owner.blockOwnerDeletion == true)
        #expect(r.status.startTime == Timestamp.string(t0))
        #expect(r.status.active == 2 && r.status.succeeded == 0 && r.status.failed == 0)
        #expect(r.status.conditions == nil)
    }

    @Test func backoffLimitZeroFailsOnFirstFailure() {
        var job = makeJob(backoffLimit: 0)
        var world = PodWorld()
        _ = sync(&job, &world, t0)
        world.update(world.pods[0].name) { $0.failed(at: at(5)) }
        let r = sync(&job, &world, at(6))
        #expect(r.createdPods.isEmpty)
        #expect(r.status.failed == 1)
        #expect(r.status.conditionTypes == ["FailureTarget", "Failed"])
        #expect(r.status.condition("Failed")?.reason == "BackoffLimitExceeded")
        #expect(r.status.condition("Failed")?.message == "Job has reached the specified backoff limit")
        #expect(r.status.completionTime == nil)
    }

    /// Fails every pod as soon as it exists; returns the back-off each replacement waited.
    func failUntilFinished(backoffLimit: Int32) -> (delays: [Duration], job: Job) {
        var job = makeJob(backoffLimit: backoffLimit)
        var world = PodWorld()
        var now = t0
        var delays: [Duration] = []
        _ = sync(&job, &world, now)
        for _ in 0..<20 {
            guard let live = world.activeNames.first else { break }
            now = now.addingTimeInterval(2)
            world.update(live) { $0.failed(at: now) }
            now = now.addingTimeInterval(1)
            let r = sync(&job, &world, now)
            if JobController.finishedCondition(r.status) != nil { break }
            // One second after the failure the back-off is still running.
            #expect(r.createdPods.isEmpty)
            let wait = try! #require(r.requeueAfter)
            delays.append(wait + .seconds(1))
            now = now.addingTimeInterval(Double(wait.components.seconds))
            let r2 = sync(&job, &world, now)
            #expect(r2.createdPods.count == 1)
        }
        return (delays, job)
    }

    @Test(arguments: [(Int32(0), 1), (1, 2), (6, 7)])
    func backoffLimitCountsFailures(limit: Int32, failuresToFail: Int) {
        let (delays, job) = failUntilFinished(backoffLimit: limit)
        #expect(delays.count == failuresToFail - 1)
        #expect(job.status?.failed == Int32(failuresToFail))
        #expect(job.status?.condition("Failed")?.reason == "BackoffLimitExceeded")
    }

    @Test func backoffDelaysDoubleAndCap() {
        let (delays, _) = failUntilFinished(backoffLimit: 6)
        #expect(delays == [10, 20, 40, 80, 160, 320].map { Duration.seconds($0) })
        #expect(JobController.backoffDelay(failures: 7) == 360)
        #expect(JobController.backoffDelay(failures: 30) == 360)
        #expect(JobController.backoffDelay(failures: 0) == 0)
    }

    @Test func successAfterFailureResetsBackoff() {
        var job = makeJob(parallelism: 1, completions: 3)
        var world = PodWorld()
        _ = sync(&job, &world, t0)
        world.update(world.pods[0].name) { $0.failed(at: at(1)) }
        #expect(sync(&job, &world, at(2)).requeueAfter == .seconds(9))
        #expect(sync(&job, &world, at(11)).createdPods.count == 1)
        world.update(world.activeNames[0]) { $0.succeeded(at: at(12)) }
        let r = sync(&job, &world, at(13))
        #expect(r.requeueAfter == nil)
        #expect(r.createdPods.count == 1)
        #expect(r.status.succeeded == 1 && r.status.failed == 1)
    }

    @Test func parallelismAndCompletions() {
        var job = makeJob(parallelism: 2, completions: 5)
        var world = PodWorld()
        var now = t0
        var r = sync(&job, &world, now)
        var steps = 0
        while JobController.finishedCondition(r.status) == nil && steps < 20 {
            steps += 1
            #expect(world.activeNames.count <= 2)
            now = now.addingTimeInterval(5)
            world.update(world.activeNames[0]) { $0.succeeded(at: now) }
            r = sync(&job, &world, now)
        }
        #expect(steps == 5)
        #expect(world.pods.count == 5)
        #expect(r.status.succeeded == 5 && r.status.active == 0)
        #expect(r.status.conditionTypes == ["SuccessCriteriaMet", "Complete"])
        #expect(r.status.condition("Complete")?.reason == "CompletionsReached")
        #expect(r.status.completionTime == Timestamp.string(now))
    }

    @Test func workQueueJobCompletesWhenOneSucceedsAndOthersFinish() {
        var job = makeJob(parallelism: 3)
        job.spec.completions = nil
        var world = PodWorld()
        _ = sync(&job, &world, t0)
        #expect(world.pods.count == 3)
        world.update(world.pods[0].name) { $0.succeeded(at: at(1)) }
        var r = sync(&job, &world, at(2))
        #expect(r.createdPods.isEmpty && r.deletedPods.isEmpty)
        #expect(r.status.active == 2 && r.status.conditions == nil)
        world.update(world.pods[1].name) { $0.succeeded(at: at(3)) }
        world.update(world.pods[2].name) { $0.succeeded(at: at(3)) }
        r = sync(&job, &world, at(4))
        #expect(r.status.conditionTypes == ["SuccessCriteriaMet", "Complete"])
    }

    @Test func indexedJobRunsEveryIndexOnce() throws {
        var job = makeJob(parallelism: 3, completions: 3, indexed: true)
        var world = PodWorld()
        let r = sync(&job, &world, t0)
        #expect(r.createdPods.map(\.name) == ["pi-0-s0001", "pi-1-s0002", "pi-2-s0003"])
        let pod = try #require(r.createdPods.last)
        #expect(pod.metadata.annotations?["batch.kubernetes.io/job-completion-index"] == "2")
        #expect(pod.metadata.labels?["batch.kubernetes.io/job-completion-index"] == "2")
        #expect(pod.spec.hostname == "pi-2")
        #expect(pod.spec.containers[0].env?.contains(EnvVar(name: "JOB_COMPLETION_INDEX", value: "2")) == true)

        world.update("pi-0-s0001") { $0.succeeded(at: at(5)) }
        world.update("pi-2-s0003") { $0.succeeded(at: at(5)) }
        world.update("pi-1-s0002") { $0.failed(at: at(6)) }
        var r2 = sync(&job, &world, at(7))
        #expect(r2.status.completedIndexes == "0,2")
        #expect(r2.status.succeeded == 2 && r2.status.failed == 1)
        #expect(r2.createdPods.isEmpty)
        #expect(r2.requeueAfter == .seconds(9))
        r2 = sync(&job, &world, at(16))
        #expect(r2.createdPods.map(\.name) == ["pi-1-s0004"])
        world.update("pi-1-s0004") { $0.succeeded(at: at(20)) }
        r2 = sync(&job, &world, at(21))
        #expect(r2.status.completedIndexes == "0-2")
        #expect(r2.status.succeeded == 3)
        #expect(r2.status.conditionTypes == ["SuccessCriteriaMet", "Complete"])
    }

    @Test func indexedDuplicatesAndSucceededIndexesAreRemoved() {
        var job = makeJob(parallelism: 2, completions: 2, indexed: true)
        var world = PodWorld()
        _ = sync(&job, &world, t0)
        // A stray second pod for index 0 (e.g. created by a previous driver run).
        var dup = world.pods[0]
        dup.metadata.name = "pi-0-dup00"
        world.pods.append(dup)
        world.update("pi-1-s0002") { $0.succeeded(at: at(1)) }
        let r = sync(&job, &world, at(2))
        #expect(r.deletedPods.count == 1)
        #expect(r.status.active == 1)
        #expect(r.status.completedIndexes == "1")
    }

    @Test func completedIndexesFormat() {
        #expect(CompletionIndexes.format([0, 1, 2, 4]) == "0-2,4")
        #expect(CompletionIndexes.format([3, 4]) == "3,4")
        #expect(CompletionIndexes.format([]) == "")
        #expect(CompletionIndexes.parse("0-2,4,7", completions: 5) == [0, 1, 2, 4])
    }

    @Test func activeDeadlineFailsAndDeletesActivePods() {
        var job = makeJob(parallelism: 2, completions: 2, activeDeadlineSeconds: 30)
        var world = PodWorld(graceful: true)
        var r = sync(&job, &world, t0)
        #expect(r.requeueAfter == .seconds(30))
        for n in world.activeNames { world.update(n) { $0.running(since: at(2)) } }
        r = sync(&job, &world, at(10))
        #expect(r.requeueAfter == .seconds(20))
        #expect(r.status.ready == 2)
        r = sync(&job, &world, at(30))
        #expect(Set(r.deletedPods) == Set(world.pods.map(\.name)))
        #expect(r.status.conditionTypes == ["FailureTarget"])
        #expect(r.status.condition("FailureTarget")?.reason == "DeadlineExceeded")
        #expect(r.status.condition("FailureTarget")?.message == "Job was active longer than specified deadline")
        #expect(r.status.terminating == 2 && r.status.active == 0)
        // Still terminating: no Failed yet, and nothing is deleted twice.
        r = sync(&job, &world, at(31))
        #expect(r.actions.isEmpty)
        #expect(r.status.conditionTypes == ["FailureTarget"])
        for n in world.pods.map(\.name) { world.update(n) { $0.failed(exitCode: 137, at: at(32)).deleting(at: at(30)) } }
        r = sync(&job, &world, at(33))
        #expect(r.status.conditionTypes == ["FailureTarget", "Failed"])
        #expect(r.status.condition("Failed")?.reason == "DeadlineExceeded")
        #expect(r.status.terminating == 0 && r.status.failed == 2)
    }

    static let policy = #"""
    {"rules":[
      {"action":"FailJob","onExitCodes":{"containerName":"main","operator":"In","values":[42]}},
      {"action":"Ignore","onPodConditions":[{"type":"DisruptionTarget"}]}
    ]}
    """#

    @Test func podFailurePolicyFailJobOnExitCode() {
        var job = makeJob(parallelism: 2, completions: 2, podFailurePolicy: Self.policy)
        var world = PodWorld()
        _ = sync(&job, &world, t0)
        world.update("pi-s0001") { $0.failed(exitCode: 42, at: at(3)) }
        world.update("pi-s0002") { $0.running(since: at(1)) }
        let r = sync(&job, &world, at(4))
        #expect(r.deletedPods == ["pi-s0002"])
        #expect(r.status.condition("FailureTarget")?.reason == "PodFailurePolicy")
        #expect(r.status.condition("FailureTarget")?.message == "Container main for pod default/pi-s0001 failed with exit code 42 matching FailJob rule at index 0")
        // The running pod was deleted in this sync, so it is terminating until the next one.
        #expect(r.status.conditionTypes == ["FailureTarget"])
        let r2 = sync(&job, &world, at(5))
        #expect(r2.status.conditionTypes == ["FailureTarget", "Failed"])
        #expect(r2.status.condition("Failed")?.message == r.status.condition("FailureTarget")?.message)
    }

    @Test func podFailurePolicyExitCodeNotMatchingCounts() {
        var job = makeJob(backoffLimit: 3, podFailurePolicy: Self.policy)
        var world = PodWorld()
        _ = sync(&job, &world, t0)
        world.update("pi-s0001") { $0.failed(exitCode: 1, at: at(3)) }
        let r = sync(&job, &world, at(4))
        #expect(r.status.failed == 1 && r.status.conditions == nil)
    }

    @Test func podFailurePolicyIgnoresDisruption() {
        var job = makeJob(backoffLimit: 0, podFailurePolicy: Self.policy)
        var world = PodWorld()
        _ = sync(&job, &world, t0)
        world.update("pi-s0001") { $0.failed(exitCode: 137, at: at(3), conditions: [Condition(type: "DisruptionTarget", status: "True", reason: "DeletionByTaintManager")]) }
        let r = sync(&job, &world, at(4))
        #expect(r.status.failed == 0)
        #expect(r.status.conditions == nil)
        // Ignored failures do not start a back-off: the replacement comes at once.
        #expect(r.createdPods.count == 1)
        #expect(r.requeueAfter == nil)
    }

    @Test func podFailurePolicyNotInOperator() {
        let p = PodFailurePolicy(decode(#"{"rules":[{"action":"FailJob","onExitCodes":{"operator":"NotIn","values":[1,2]}}]}"#))!
        let base = makeJob()
        let pod = JobController.makePod(job: base, index: nil, owner: OwnerReference(apiVersion: "batch/v1", kind: "Job", name: "pi", uid: "u"), now: t0, suffix: "aaaaa")
        #expect(p.match(pod.failed(exitCode: 1, at: t0)) == nil)
        #expect(p.match(pod.failed(exitCode: 3, at: t0))?.action == "FailJob")
    }

    @Test func successWaitsForTerminatingPods() {
        var job = makeJob(parallelism: 2, completions: 2)
        var world = PodWorld(graceful: true)
        _ = sync(&job, &world, t0)
        // A third pod, deleted by someone earlier, still terminating.
        var stray = world.pods[0].running(since: at(1)).deleting(at: at(2))
        stray.metadata.name = "pi-stray"
        world.pods.append(stray)
        world.update("pi-s0001") { $0.succeeded(at: at(3)) }
        world.update("pi-s0002") { $0.succeeded(at: at(3)) }
        var r = sync(&job, &world, at(4))
        #expect(r.status.conditionTypes == ["SuccessCriteriaMet"])
        #expect(r.status.condition("SuccessCriteriaMet")?.reason == "CompletionsReached")
        #expect(r.status.terminating == 1)
        #expect(r.status.completionTime == nil)
        world.pods.removeAll { $0.name == "pi-stray" }
        r = sync(&job, &world, at(6))
        #expect(r.status.conditionTypes == ["SuccessCriteriaMet", "Complete"])
        #expect(r.status.completionTime == Timestamp.string(at(6)))
    }

    @Test func finishedJobIsLeftAloneUntilTTL() {
        var job = makeJob(ttl: 100)
        var world = PodWorld()
        _ = sync(&job, &world, t0)
        world.update("pi-s0001") { $0.succeeded(at: at(1)) }
        var r = sync(&job, &world, at(2))
        #expect(r.status.conditionTypes == ["SuccessCriteriaMet", "Complete"])
        #expect(r.requeueAfter == .seconds(100))
        r = sync(&job, &world, at(50))
        #expect(r.actions.isEmpty && r.requeueAfter == .seconds(52))
        #expect(!JobController.expired(job: job, now: at(50)))
        r = sync(&job, &world, at(102))
        #expect(r.actions == [.deletePod(namespace: "default", name: "pi-s0001"), .deleteJob(namespace: "default", name: "pi")])
        #expect(JobController.expired(job: job, now: at(102)))
    }

    @Test func suspendedJobDeletesPodsAndCreatesNone() {
        var job = makeJob(parallelism: 1)
        var world = PodWorld()
        _ = sync(&job, &world, t0)
        job.spec.suspend = true
        var r = sync(&job, &world, at(1))
        #expect(r.deletedPods == ["pi-s0001"])
        #expect(r.status.condition("Suspended")?.status == "True")
        job.spec.suspend = false
        r = sync(&job, &world, at(2))
        #expect(r.createdPods.count == 1)
        #expect(r.status.condition("Suspended")?.status == "False")
    }

    @Test func podsOfOtherOwnersAreIgnored() {
        var job = makeJob()
        var world = PodWorld()
        _ = sync(&job, &world, t0)
        var other = world.pods[0]
        other.metadata.name = "other"
        other.metadata.ownerReferences = [OwnerReference(apiVersion: "batch/v1", kind: "Job", name: "x", uid: "other-uid")]
        world.pods.append(other.failed(at: at(1)))
        let r = sync(&job, &world, at(2))
        #expect(r.status.failed == 0 && r.status.active == 1)
    }
}
