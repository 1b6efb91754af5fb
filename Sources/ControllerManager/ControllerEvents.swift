import APIServer
import Controllers
import Foundation
import KubeAPI

/// The events kube-controller-manager's controllers record about their objects, each with its
/// controller's name as `source.component`: the ReplicaSet and Job controllers'
/// `SuccessfulCreate` / `SuccessfulDelete` (`Created pod: x`), the Deployment controller's
/// `ScalingReplicaSet` (`Scaled up replica set x from 0 to 1`), the CronJob controller's
/// `SuccessfulCreate` (`Created job x`), and the Job controller's `Completed` or failure reason
/// when a Job finishes. Recorded after the action they report succeeded.
struct ControllerEvents: Sendable {
    let registry: Registry
    private let recorders: [String: EventRecorder]

    init(registry: Registry) {
        self.registry = registry
        var r: [String: EventRecorder] = [:]
        for (kind, component) in [("ReplicaSet", "replicaset-controller"), ("Job", "job-controller"),
                                  ("Deployment", "deployment-controller"), ("CronJob", "cronjob-controller")] {
            r[kind] = EventRecorder(registry: registry, component: component)
        }
        recorders = r
    }

    /// The object's controller (its `controller: true` owner reference), as an event target.
    private func owner(_ meta: ObjectMeta) -> (EventRecorder, EventTarget)? {
        guard let ref = (meta.ownerReferences ?? []).first(where: { $0.controller == true }), let recorder = recorders[ref.kind] else { return nil }
        return (recorder, EventTarget(kind: ref.kind, apiVersion: ref.apiVersion, namespace: meta.namespace ?? "default", name: ref.name, uid: ref.uid))
    }

    func createdPod(_ stored: JSONValue) {
        guard let meta = try? (stored["metadata"] ?? .object([:])).decode(ObjectMeta.self), let (recorder, target) = owner(meta) else { return }
        recorder.normal(target, "SuccessfulCreate", "Created pod: \(meta.name ?? "")")
    }

    func deletedPod(_ before: JSONValue?) {
        guard let meta = try? (before?["metadata"] ?? .object([:])).decode(ObjectMeta.self), let (recorder, target) = owner(meta) else { return }
        recorder.normal(target, "SuccessfulDelete", "Deleted pod: \(meta.name ?? "")")
    }

    /// A ReplicaSet made or resized by the Deployment controller.
    func scaled(_ rs: ReplicaSet, from old: Int32, name: String) {
        let new = rs.spec.replicas ?? 1
        guard new != old, let (recorder, target) = owner(rs.metadata) else { return }
        recorder.normal(target, "ScalingReplicaSet", "Scaled \(new > old ? "up" : "down") replica set \(name) from \(old) to \(new)")
    }

    func createdJob(_ job: Job, name: String) {
        guard let (recorder, target) = owner(job.metadata) else { return }
        recorder.normal(target, "SuccessfulCreate", "Created job \(name)")
    }

    /// A Job whose new status has it finished (`Complete` or `Failed` newly true).
    func jobStatus(_ job: Job, old: JobStatus?, new: JobStatus) {
        func isTrue(_ s: JobStatus?, _ type: String) -> Bool { (s?.conditions ?? []).contains { $0.type == type && $0.status == "True" } }
        guard let recorder = recorders["Job"], let name = job.metadata.name, let uid = job.metadata.uid else { return }
        let target = EventTarget(kind: "Job", apiVersion: "batch/v1", namespace: job.metadata.namespace ?? "default", name: name, uid: uid)
        if isTrue(new, "Complete") && !isTrue(old, "Complete") {
            recorder.normal(target, "Completed", "Job completed")
        } else if isTrue(new, "Failed") && !isTrue(old, "Failed"), let failed = new.conditions?.first(where: { $0.type == "Failed" }) {
            recorder.warning(target, failed.reason ?? "Failed", failed.message ?? "")
        }
    }
}
