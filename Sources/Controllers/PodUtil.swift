import Foundation
import KubeAPI

/// The pod predicates of pkg/controller/controller_utils.go and pkg/api/v1/pod/util.go that
/// every controller here shares.
enum PodUtil {
    static func phase(_ pod: Pod) -> String { pod.status?.phase ?? "Pending" }

    static func isTerminal(_ pod: Pod) -> Bool {
        let p = phase(pod)
        return p == "Succeeded" || p == "Failed"
    }

    static func isDeleting(_ pod: Pod) -> Bool { pod.metadata.deletionTimestamp != nil }

    /// `controller.IsPodActive`: neither finished nor being deleted. Only active pods count
    /// towards a controller's desired number, so a deleted pod is replaced at once.
    static func isActive(_ pod: Pod) -> Bool { !isTerminal(pod) && !isDeleting(pod) }

    /// `controller.IsPodTerminating` (job_controller.go): deleted but not yet finished.
    static func isTerminating(_ pod: Pod) -> Bool { !isTerminal(pod) && isDeleting(pod) }

    static func condition(_ pod: Pod, _ type: String) -> Condition? {
        pod.status?.conditions?.first { $0.type == type }
    }

    /// `podutil.IsPodReady`.
    static func isReady(_ pod: Pod) -> Bool { condition(pod, "Ready")?.status == "True" }

    /// `podutil.IsPodAvailable`: ready, and for at least `minReadySeconds` measured from the
    /// Ready condition's `lastTransitionTime` (strictly before `now`, as the Go code uses `Before`).
    static func isAvailable(_ pod: Pod, minReadySeconds: Int32, now: Date) -> Bool {
        guard let c = condition(pod, "Ready"), c.status == "True" else { return false }
        if minReadySeconds <= 0 { return true }
        guard let since = c.lastTransitionTime.flatMap(Timestamp.date) else { return false }
        return since.addingTimeInterval(TimeInterval(minReadySeconds)) < now
    }

    /// When a ready pod that is not yet available will become so: the controllers have no
    /// watch on the passage of time, so they requeue themselves for that moment
    /// (replica_set.go: `enqueueRSAfter(rs, minReadySeconds)`).
    static func becomesAvailable(_ pod: Pod, minReadySeconds: Int32, now: Date) -> Date? {
        guard minReadySeconds > 0, isActive(pod), let c = condition(pod, "Ready"), c.status == "True",
              let since = c.lastTransitionTime.flatMap(Timestamp.date) else { return nil }
        let at = since.addingTimeInterval(TimeInterval(minReadySeconds) + 1)
        return at > now ? at : nil
    }

    static func controllerRef(_ meta: ObjectMeta) -> OwnerReference? {
        meta.ownerReferences?.first { $0.controller == true }
    }

    /// The pods a controller manages (`ControllerRefManager.ClaimPods`): same namespace,
    /// matching the selector, and controlled by `uid`. Orphans that match a non-empty
    /// selector are counted as adopted (the driver is expected to keep the ownerReference of
    /// pods it created from `createPod`, so orphans only come from user-made pods; the real
    /// controller would patch an ownerReference onto them, for which there is no action yet).
    static func claimed(_ pods: [Pod], namespace: String, selector: LabelSelector?, uid: String?) -> [Pod] {
        pods.filter { pod in
            guard pod.namespace == namespace else { return false }
            let labels = pod.metadata.labels ?? [:]
            if let ref = controllerRef(pod.metadata) {
                guard let uid, ref.uid == uid else { return false }
                return selector.map { $0.matches(labels) } ?? true
            }
            guard let selector, !(selector.matchLabels ?? [:]).isEmpty || !(selector.matchExpressions ?? []).isEmpty else { return false }
            return selector.matches(labels)
        }
    }

    static func date(_ s: String?) -> Date? { s.flatMap(Timestamp.date) }

    /// The moment a pod finished (pkg/controller/job/backoff_utils.go `getFinishedTime`): the
    /// latest `finishedAt` of its containers, else when it stopped being ready, else its
    /// deletion, else its creation.
    static func finishedTime(_ pod: Pod, now: Date) -> Date {
        let statuses = (pod.status?.containerStatuses ?? []) + (pod.status?.initContainerStatuses ?? [])
        let finished = statuses.compactMap { date($0.state.terminated?.finishedAt) }
        if let latest = finished.max() { return latest }
        if let c = condition(pod, "Ready"), c.status == "False", let t = date(c.lastTransitionTime) { return t }
        if let t = date(pod.metadata.deletionTimestamp) { return t }
        return date(pod.metadata.creationTimestamp) ?? now
    }

    /// `controller.GetPodFromTemplate`: labels, annotations and spec from the template, the
    /// controller's ownerReference, and the name `generateName` would give.
    static func fromTemplate(_ template: PodTemplateSpec, name: String, namespace: String,
                             owner: OwnerReference, now: Date) -> Pod {
        var meta = ObjectMeta(name: name, namespace: namespace, labels: template.metadata?.labels)
        meta.annotations = template.metadata?.annotations
        meta.finalizers = template.metadata?.finalizers
        meta.generateName = String(name.dropLast(5))
        meta.ownerReferences = [owner]
        meta.uid = UUID().uuidString.lowercased()
        meta.creationTimestamp = Timestamp.string(now)
        return Pod(metadata: meta, spec: template.spec)
    }
}

/// Conversions from Go's `*int32` defaults.
extension Optional where Wrapped == Int32 {
    func or(_ d: Int32) -> Int32 { self ?? d }
}

extension Duration {
    static func interval(_ t: TimeInterval) -> Duration { .milliseconds(Int64((t * 1000).rounded(.up))) }
}
