import Foundation
import Testing
import KubeAPI
@testable import Controllers

/// Fake time: every test works from this instant plus offsets.
let t0 = Date(timeIntervalSince1970: 1_700_000_000)
func at(_ seconds: TimeInterval) -> Date { t0.addingTimeInterval(seconds) }

func decode<T: Decodable>(_ json: String) -> T {
    do { return try JSONDecoder().decode(T.self, from: Data(json.utf8)) } catch { fatalError("\(error)") }
}

/// Deterministic name suffixes: s0001, s0002, ...
final class Suffixes: @unchecked Sendable {
    var n = 0
    func next() -> String { n += 1; return String(format: "s%04d", n) }
}

func makeJob(name: String = "pi", parallelism: Int32? = nil, completions: Int32? = nil, backoffLimit: Int32? = nil,
             indexed: Bool = false, activeDeadlineSeconds: Int64? = nil, ttl: Int32? = nil,
             podFailurePolicy: String? = nil) -> Job {
    var job: Job = decode(#"{"metadata":{"name":"\#(name)","namespace":"default"},"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"main","image":"busybox"}]}}}}"#)
    job.spec.parallelism = parallelism
    job.spec.completions = completions
    job.spec.backoffLimit = backoffLimit
    if indexed { job.spec.completionMode = "Indexed" }
    job.spec.activeDeadlineSeconds = activeDeadlineSeconds
    job.spec.ttlSecondsAfterFinished = ttl
    if let podFailurePolicy { job.spec.podFailurePolicy = decode(podFailurePolicy) }
    JobController.prepare(job: &job, uid: "job-uid-1")
    return job
}

func readyCondition(_ ready: Bool, since: Date) -> Condition {
    Condition(type: "Ready", status: ready ? "True" : "False", lastTransitionTime: Timestamp.string(since))
}

extension Pod {
    func running(ready: Bool = true, since: Date) -> Pod {
        var p = self
        var s = PodStatus()
        s.phase = "Running"
        s.conditions = [readyCondition(ready, since: since)]
        s.containerStatuses = [ContainerStatus(name: "main", state: .init(running: .init(startedAt: Timestamp.string(since))), ready: ready, restartCount: 0, image: "busybox")]
        p.status = s
        return p
    }

    func succeeded(at time: Date) -> Pod { terminated(phase: "Succeeded", exitCode: 0, at: time) }

    func failed(exitCode: Int32 = 1, at time: Date, conditions: [Condition] = []) -> Pod {
        terminated(phase: "Failed", exitCode: exitCode, at: time, extra: conditions)
    }

    func terminated(phase: String, exitCode: Int32, at time: Date, extra: [Condition] = []) -> Pod {
        var p = self
        var s = PodStatus()
        s.phase = phase
        s.conditions = [readyCondition(false, since: time)] + extra
        s.containerStatuses = [ContainerStatus(name: "main", state: .init(terminated: .init(exitCode: exitCode, reason: exitCode == 0 ? "Completed" : "Error", startedAt: nil, finishedAt: Timestamp.string(time))), ready: false, restartCount: 0, image: "busybox")]
        p.status = s
        return p
    }

    func deleting(at time: Date) -> Pod {
        var p = self
        p.metadata.deletionTimestamp = Timestamp.string(time)
        return p
    }
}

extension Reconciled {
    var createdPods: [Pod] { actions.compactMap { if case .createPod(let p) = $0 { return p } else { return nil } } }
    var deletedPods: [String] {
        actions.compactMap { if case .deletePod(_, let n) = $0 { return n } else { return nil } }
    }
}

extension JobStatus {
    var conditionTypes: [String] { (conditions ?? []).map(\.type) }
    func condition(_ type: String) -> Condition? { conditions?.first { $0.type == type } }
}

/// A tiny stand-in for the driver and the kubelet side: applies actions to a pod list.
/// Deleted pods vanish at once unless `graceful`, in which case they get a deletionTimestamp.
struct PodWorld {
    var pods: [Pod] = []
    var graceful = false

    mutating func apply(_ actions: [ControllerAction], now: Date) {
        for a in actions {
            switch a {
            case .createPod(let p): pods.append(p)
            case .deletePod(_, let name):
                if graceful, let i = pods.firstIndex(where: { $0.name == name }) {
                    pods[i] = pods[i].deleting(at: now)
                } else {
                    pods.removeAll { $0.name == name }
                }
            default: break
            }
        }
    }

    mutating func update(_ name: String, _ f: (Pod) -> Pod) {
        if let i = pods.firstIndex(where: { $0.name == name }) { pods[i] = f(pods[i]) }
    }

    var activeNames: [String] { pods.filter { $0.status?.phase != "Succeeded" && $0.status?.phase != "Failed" && $0.metadata.deletionTimestamp == nil }.map(\.name) }
}
