import Foundation
import KubeAPI

/// pkg/controller/job/job_controller.go: runs a Job's pods to completion, as 1.31 does
/// (pod replacement policy, interim `SuccessCriteriaMet`/`FailureTarget` conditions,
/// terminating pod count, pod failure policy).
public enum JobController {
    public static let controllerUIDLabel = "batch.kubernetes.io/controller-uid"
    public static let jobNameLabel = "batch.kubernetes.io/job-name"
    public static let legacyControllerUIDLabel = "controller-uid"
    public static let legacyJobNameLabel = "job-name"
    public static let completionIndexKey = "batch.kubernetes.io/job-completion-index"
    public static let completionIndexEnv = "JOB_COMPLETION_INDEX"

    /// `DefaultJobPodFailureBackOff` and `MaxJobPodFailureBackOff`.
    public static let podFailureBackOff: TimeInterval = 10
    public static let maxPodFailureBackOff: TimeInterval = 360

    /// What the API server does when it admits a Job: the batch/v1 defaults
    /// (pkg/apis/batch/v1/defaults.go `SetDefaults_Job`) and, unless `manualSelector`, the
    /// generated selector and template labels (pkg/registry/batch/job/strategy.go
    /// `generateSelector`). Since 1.27 both the `batch.kubernetes.io/` labels and the legacy
    /// unprefixed ones are set, and the selector uses the prefixed controller-uid.
    public static func prepare(job: inout Job, uid: String) {
        job.metadata.uid = uid
        if job.metadata.generation == nil { job.metadata.generation = 1 }
        if job.spec.completions == nil && job.spec.parallelism == nil {
            job.spec.completions = 1
            job.spec.parallelism = 1
        }
        if job.spec.parallelism == nil { job.spec.parallelism = 1 }
        if job.spec.backoffLimit == nil {
            job.spec.backoffLimit = job.spec.backoffLimitPerIndex != nil ? Int32.max : 6
        }
        if job.spec.completionMode == nil { job.spec.completionMode = "NonIndexed" }
        if job.spec.suspend == nil { job.spec.suspend = false }
        if job.spec.podReplacementPolicy == nil {
            job.spec.podReplacementPolicy = job.spec.podFailurePolicy != nil ? "Failed" : "TerminatingOrFailed"
        }
        if job.spec.manualSelector == true { return }
        job.spec.manualSelector = nil
        job.spec.selector = LabelSelector(matchLabels: [controllerUIDLabel: uid])
        var meta = job.spec.template.metadata ?? ObjectMeta()
        var labels = meta.labels ?? [:]
        let name = job.metadata.name ?? ""
        labels[controllerUIDLabel] = uid
        labels[jobNameLabel] = name
        labels[legacyControllerUIDLabel] = uid
        labels[legacyJobNameLabel] = name
        meta.labels = labels
        job.spec.template.metadata = meta
    }

    /// `syncJob` → `manageJob` → `trackJobStatusWithFinalizers`, as one pure step.
    ///
    /// Counting: `succeeded`/`failed` come from the pods passed in and never go below what
    /// the status already says. The real controller keeps a pod from disappearing before it
    /// is counted with the `batch.kubernetes.io/job-tracking` finalizer; here the driver is
    /// expected to keep a Job's finished pods until the Job itself is deleted (kubectl shows
    /// them as Completed/Error just the same).
    public static func reconcile(job: Job, pods: [Pod], now: Date, randomSuffix: () -> String) -> Reconciled<JobStatus> {
        var status = job.status ?? JobStatus()
        let namespace = job.metadata.namespace ?? "default"
        let name = job.metadata.name ?? ""
        let claimed = PodUtil.claimed(pods, namespace: namespace, selector: job.spec.selector, uid: job.metadata.uid)
        let stamp = Timestamp.string(now)

        // A finished Job is left alone (`IsJobFinished` → return) except for its TTL.
        if let finished = finishedCondition(status) {
            return expire(job: job, status: status, finished: finished, pods: claimed, now: now)
        }

        let indexed = job.spec.completionMode == "Indexed"
        let parallelism = Int(max(0, job.spec.parallelism ?? 1))
        let completions = job.spec.completions.map { Int(max(0, $0)) }
        let backoffLimit = Int(job.spec.backoffLimit ?? 6)
        let policy = PodFailurePolicy(job.spec.podFailurePolicy)
        let onlyReplaceFailed = job.spec.podReplacementPolicy == "Failed" || policy != nil
        let suspended = job.spec.suspend == true

        if status.startTime == nil && !suspended { status.startTime = stamp }

        var active = claimed.filter(PodUtil.isActive)
        var terminating = claimed.filter(PodUtil.isTerminating).count
        let ready = active.filter(PodUtil.isReady).count

        // Failed pods (`isPodFailed`): Failed phase, or, unless only failed pods are replaced,
        // deleted before succeeding. The pod failure policy may ignore one or fail the Job.
        var failedPods: [Pod] = []
        var failJobMessage: String?
        for pod in claimed {
            let phase = PodUtil.phase(pod)
            let isFailed = phase == "Failed" || (!onlyReplaceFailed && PodUtil.isDeleting(pod) && phase != "Succeeded")
            guard isFailed else { continue }
            if phase == "Failed", let policy, let match = policy.match(pod) {
                switch match.action {
                case "Ignore": continue
                case "FailJob": failJobMessage = failJobMessage ?? match.message
                default: break
                }
            }
            failedPods.append(pod)
        }
        let succeededPods = claimed.filter { PodUtil.phase($0) == "Succeeded" }

        var succeededIndexes = Set<Int>()
        let succeeded: Int
        if indexed, let completions {
            succeededIndexes = CompletionIndexes.parse(status.completedIndexes, completions: completions)
            for pod in succeededPods { if let i = CompletionIndexes.of(pod), i < completions { succeededIndexes.insert(i) } }
            succeeded = succeededIndexes.count
        } else {
            succeeded = max(Int(status.succeeded ?? 0), succeededPods.count)
        }
        let failed = max(Int(status.failed ?? 0), failedPods.count)

        var conditions = status.conditions ?? []
        var actions: [ControllerAction] = []
        var requeue: TimeInterval?

        // Failure first, in syncJob's order: a FailureTarget already recorded, the pod
        // failure policy, the backoff limit, the active deadline.
        var failure: (reason: String, message: String)?
        if let target = conditions.first(where: { $0.type == "FailureTarget" && $0.status == "True" }) {
            failure = (target.reason ?? "", target.message ?? "")
        } else if let failJobMessage {
            failure = ("PodFailurePolicy", failJobMessage)
        } else if failed > backoffLimit {
            failure = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
        } else if pastActiveDeadline(job: job, status: status, now: now) {
            failure = ("DeadlineExceeded", "Job was active longer than specified deadline")
        }
        var successMet = conditions.contains { $0.type == "SuccessCriteriaMet" && $0.status == "True" }

        if let failure {
            // Although the Job is failing its pods may still run: delete them
            // (`deleteActivePods`); they count as terminating until they are gone.
            for pod in active { actions.append(.deletePod(namespace: namespace, name: pod.name)) }
            terminating += active.count
            active = []
            if !conditions.contains(where: { $0.type == "FailureTarget" }) {
                conditions.append(condition("FailureTarget", failure.reason, failure.message, stamp))
            }
            if terminating == 0 {
                conditions.append(condition("Failed", failure.reason, failure.message, stamp))
            }
        } else if successMet {
            for pod in active { actions.append(.deletePod(namespace: namespace, name: pod.name)) }
            terminating += active.count
            active = []
        } else if suspended {
            // `manageJob` with suspend: every active pod is deleted and none is created.
            for pod in active { actions.append(.deletePod(namespace: namespace, name: pod.name)) }
            terminating += active.count
            active = []
            if !conditions.contains(where: { $0.type == "Suspended" && $0.status == "True" }) {
                conditions.removeAll { $0.type == "Suspended" }
                conditions.append(condition("Suspended", "JobSuspended", "Job suspended", stamp))
            }
        } else {
            if let i = conditions.firstIndex(where: { $0.type == "Suspended" && $0.status == "True" }) {
                conditions[i] = Condition(type: "Suspended", status: "False", reason: "JobResumed", message: "Job resumed", lastTransitionTime: stamp)
                conditions[i].lastProbeTime = stamp
            }
            // manageJob.
            var wantActive: Int
            if let completions {
                wantActive = min(max(completions - succeeded, 0), parallelism)
            } else {
                wantActive = succeeded > 0 ? active.count : parallelism
            }
            var toDelete: [Pod] = []
            if indexed, let completions {
                // `appendDuplicatedIndexPodsForRemoval`: pods without a valid index, for an
                // index already succeeded, or duplicating another pod's index go first.
                var keep: [Int: Pod] = [:]
                var left: [Pod] = []
                for pod in active.sorted(by: { ReplicaSetController.deletesBefore($1, $0, now: now) }) {
                    guard let i = CompletionIndexes.of(pod), i < completions, !succeededIndexes.contains(i), keep[i] == nil else {
                        toDelete.append(pod)
                        continue
                    }
                    keep[i] = pod
                    left.append(pod)
                }
                active = left
            }
            if active.count > wantActive {
                toDelete += ReplicaSetController.podsToDelete(active, count: active.count - wantActive, now: now)
            }
            let deleted = Set(toDelete.map(\.name))
            for pod in toDelete { actions.append(.deletePod(namespace: namespace, name: pod.name)) }
            active.removeAll { deleted.contains($0.name) }
            terminating += toDelete.count

            if active.count < wantActive {
                let remaining = backoffRemaining(failed: failedPods, succeeded: succeededPods, now: now)
                if remaining > 0 {
                    requeue = remaining
                } else {
                    var diff = wantActive - active.count
                    if onlyReplaceFailed { diff -= terminating }
                    if diff > 0 {
                        let owner = OwnerReference(apiVersion: "batch/v1", kind: "Job", name: name, uid: job.metadata.uid ?? "")
                        if indexed, let completions {
                            var taken = succeededIndexes.union(active.compactMap(CompletionIndexes.of))
                            if onlyReplaceFailed {
                                taken.formUnion(claimed.filter(PodUtil.isTerminating).compactMap(CompletionIndexes.of))
                            }
                            let pending = (0..<completions).filter { !taken.contains($0) }.prefix(diff)
                            for index in pending {
                                let pod = makePod(job: job, index: index, owner: owner, now: now, suffix: randomSuffix())
                                actions.append(.createPod(pod))
                                active.append(pod)
                            }
                        } else {
                            for _ in 0..<diff {
                                let pod = makePod(job: job, index: nil, owner: owner, now: now, suffix: randomSuffix())
                                actions.append(.createPod(pod))
                                active.append(pod)
                            }
                        }
                    }
                }
            }
            let complete = completions.map { succeeded >= $0 && active.isEmpty } ?? (succeeded > 0 && active.isEmpty)
            if complete {
                successMet = true
                conditions.append(condition("SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods", stamp))
            }
        }

        if successMet && failure == nil && terminating == 0 {
            let met = conditions.first { $0.type == "SuccessCriteriaMet" }
            conditions.append(condition("Complete", met?.reason ?? "CompletionsReached", met?.message ?? "Reached expected number of succeeded pods", stamp))
            status.completionTime = stamp
        }

        status.conditions = conditions.isEmpty ? nil : conditions
        status.active = Int32(active.count)
        status.succeeded = Int32(succeeded)
        status.failed = Int32(failed)
        status.ready = Int32(ready)
        status.terminating = Int32(terminating)
        if indexed {
            let text = CompletionIndexes.format(succeededIndexes)
            status.completedIndexes = text.isEmpty ? nil : text
        }

        // Wake up for the active deadline, and for the TTL if the Job just finished.
        if finishedCondition(status) == nil, let ads = job.spec.activeDeadlineSeconds,
           let start = PodUtil.date(status.startTime), !suspended {
            let left = start.addingTimeInterval(TimeInterval(ads)).timeIntervalSince(now)
            if left > 0 { requeue = min(requeue ?? left, left) }
        }
        if let finished = finishedCondition(status) {
            let ttl = expire(job: job, status: status, finished: finished, pods: claimed, now: now)
            actions += ttl.actions
            if let after = ttl.requeueAfter { return Reconciled(actions: actions, status: status, requeueAfter: after) }
        }
        return Reconciled(actions: actions, status: status, requeueAfter: requeue.map { .interval($0) })
    }

    /// Whether a Job's TTL after finishing has passed
    /// (pkg/controller/ttlafterfinished `needsCleanup`/`processTTL`, timed from the finishing
    /// condition's transition, as `jobFinishTime` does).
    public static func expired(job: Job, now: Date) -> Bool {
        guard let ttl = job.spec.ttlSecondsAfterFinished, let status = job.status,
              let c = finishedCondition(status), let at = PodUtil.date(c.lastTransitionTime) else { return false }
        return at.addingTimeInterval(TimeInterval(ttl)) <= now
    }

    static func expire(job: Job, status: JobStatus, finished: Condition, pods: [Pod], now: Date) -> Reconciled<JobStatus> {
        guard let ttl = job.spec.ttlSecondsAfterFinished, let at = PodUtil.date(finished.lastTransitionTime) else {
            return Reconciled(actions: [], status: status)
        }
        let expireAt = at.addingTimeInterval(TimeInterval(ttl))
        if expireAt > now {
            return Reconciled(actions: [], status: status, requeueAfter: .interval(expireAt.timeIntervalSince(now)))
        }
        let namespace = job.metadata.namespace ?? "default"
        var actions: [ControllerAction] = pods.filter { !PodUtil.isDeleting($0) }.map { .deletePod(namespace: namespace, name: $0.name) }
        actions.append(.deleteJob(namespace: namespace, name: job.metadata.name ?? ""))
        return Reconciled(actions: actions, status: status)
    }

    /// `IsJobFinished`: a Complete or Failed condition that is True.
    static func finishedCondition(_ status: JobStatus) -> Condition? {
        status.conditions?.first { ($0.type == "Complete" || $0.type == "Failed") && $0.status == "True" }
    }

    /// `pastActiveDeadline`: elapsed since `startTime` ≥ `activeDeadlineSeconds`.
    static func pastActiveDeadline(job: Job, status: JobStatus, now: Date) -> Bool {
        guard let ads = job.spec.activeDeadlineSeconds, let start = PodUtil.date(status.startTime) else { return false }
        return now.timeIntervalSince(start) >= TimeInterval(ads)
    }

    /// `backoffRecord.getRemainingTime`: 10 s doubled for every failure after the last
    /// success (10, 20, 40, ... capped at 6 min), counted from the last failure.
    static func backoffRemaining(failed: [Pod], succeeded: [Pod], now: Date) -> TimeInterval {
        let lastSuccess = succeeded.map { PodUtil.finishedTime($0, now: now) }.max()
        let failures = failed.map { PodUtil.finishedTime($0, now: now) }.filter { lastSuccess == nil || $0 > lastSuccess! }
        guard let lastFailure = failures.max() else { return 0 }
        let delay = backoffDelay(failures: failures.count)
        let elapsed = now.timeIntervalSince(lastFailure)
        return delay > elapsed ? delay - elapsed : 0
    }

    /// The back-off after `failures` consecutive failures: 10 s × 2^(failures−1), at most 6 min.
    public static func backoffDelay(failures: Int) -> TimeInterval {
        guard failures > 0 else { return 0 }
        var d = podFailureBackOff
        for _ in 1..<failures {
            d *= 2
            if d >= maxPodFailureBackOff { return maxPodFailureBackOff }
        }
        return min(d, maxPodFailureBackOff)
    }

    /// Job conditions carry both probe and transition times (`newCondition`).
    static func condition(_ type: String, _ reason: String, _ message: String, _ stamp: String) -> Condition {
        var c = Condition(type: type, status: "True", reason: reason, message: message, lastTransitionTime: stamp)
        c.lastProbeTime = stamp
        return c
    }

    /// The pod `manageJob` creates: the template with the Job's ownerReference; for an
    /// Indexed Job also the completion index as annotation, label and `JOB_COMPLETION_INDEX`
    /// (`addCompletionIndexEnvVariables`; a literal value rather than the real fieldRef to the
    /// annotation, which comes to the same), and the hostname `<job>-<index>`
    /// (`podGenerateNameWithIndex` gives the name `<job>-<index>-<5 chars>`).
    static func makePod(job: Job, index: Int?, owner: OwnerReference, now: Date, suffix: String) -> Pod {
        let jobName = job.metadata.name ?? ""
        var template = job.spec.template
        let name: String
        if let index {
            name = "\(jobName)-\(index)-\(suffix)"
            var meta = template.metadata ?? ObjectMeta()
            meta.annotations = (meta.annotations ?? [:]).merging([completionIndexKey: String(index)]) { $1 }
            meta.labels = (meta.labels ?? [:]).merging([completionIndexKey: String(index)]) { $1 }
            template.metadata = meta
            if template.spec.hostname == nil { template.spec.hostname = "\(jobName)-\(index)" }
            func addEnv(_ c: inout Container) {
                if (c.env ?? []).contains(where: { $0.name == completionIndexEnv }) { return }
                c.env = (c.env ?? []) + [EnvVar(name: completionIndexEnv, value: String(index))]
            }
            for i in template.spec.containers.indices { addEnv(&template.spec.containers[i]) }
            if template.spec.initContainers != nil {
                for i in template.spec.initContainers!.indices { addEnv(&template.spec.initContainers![i]) }
            }
        } else {
            name = "\(jobName)-\(suffix)"
        }
        return PodUtil.fromTemplate(template, name: name, namespace: job.metadata.namespace ?? "default", owner: owner, now: now)
    }
}
