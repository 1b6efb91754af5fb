import Foundation
import KubeAPI

/// pkg/controller/replicaset/replica_set.go: keeps `spec.replicas` active pods alive.
public enum ReplicaSetController {
    /// `syncReplicaSet` + `manageReplicas` + `calculateStatus`.
    ///
    /// Active pods (not Succeeded/Failed, not being deleted) are compared with
    /// `spec.replicas`; missing ones are created, extra ones deleted in the order of
    /// `getPodsToDelete`. Tandem difference: a finished (Failed or Succeeded) pod is also
    /// deleted, since one machine has no pod garbage collector with a terminated-pod threshold
    /// (`--terminated-pod-gc-threshold`) to remove it later.
    public static func reconcile(rs: ReplicaSet, pods: [Pod], now: Date, randomSuffix: () -> String) -> Reconciled<ReplicaSetStatus> {
        let namespace = rs.metadata.namespace ?? "default"
        let name = rs.metadata.name ?? ""
        let minReady = rs.spec.minReadySeconds ?? 0
        let claimed = PodUtil.claimed(pods, namespace: namespace, selector: rs.spec.selector, uid: rs.metadata.uid)
        let active = claimed.filter(PodUtil.isActive)
        let desired = Int(rs.spec.replicas ?? 1)
        var actions: [ControllerAction] = []

        for pod in claimed where PodUtil.isTerminal(pod) && !PodUtil.isDeleting(pod) {
            actions.append(.deletePod(namespace: namespace, name: pod.name))
        }

        let diff = active.count - desired
        if diff < 0 {
            let owner = OwnerReference(apiVersion: "apps/v1", kind: "ReplicaSet", name: name, uid: rs.metadata.uid ?? "")
            // burstReplicas (500) bounds one sync, as in manageReplicas.
            for _ in 0..<min(-diff, 500) {
                let pod = PodUtil.fromTemplate(rs.spec.template, name: "\(name)-\(randomSuffix())", namespace: namespace, owner: owner, now: now)
                actions.append(.createPod(pod))
            }
        } else if diff > 0 {
            for pod in podsToDelete(active, count: min(diff, 500), now: now) {
                actions.append(.deletePod(namespace: namespace, name: pod.name))
            }
        }

        var status = ReplicaSetStatus(replicas: Int32(active.count))
        let templateLabels = rs.spec.template.metadata?.labels ?? [:]
        status.fullyLabeledReplicas = Int32(active.filter { pod in
            let labels = pod.metadata.labels ?? [:]
            return templateLabels.allSatisfy { labels[$0.key] == $0.value }
        }.count)
        status.readyReplicas = Int32(active.filter(PodUtil.isReady).count)
        status.availableReplicas = Int32(active.filter { PodUtil.isAvailable($0, minReadySeconds: minReady, now: now) }.count)
        status.observedGeneration = rs.metadata.generation

        let next = active.compactMap { PodUtil.becomesAvailable($0, minReadySeconds: minReady, now: now) }.min()
        return Reconciled(actions: actions, status: status, requeueAfter: next.map { .interval($0.timeIntervalSince(now)) })
    }

    /// `getPodsToDelete` with `controller.ActivePodsWithRanks.Less`: the pods whose loss
    /// hurts least go first: unscheduled before scheduled, Pending before Unknown before
    /// Running, not ready before ready, ready for a shorter time before longer, more
    /// restarts before fewer, newer before older. (Every pod is on the same node here, so the
    /// "pods on the same node" rank is equal for all and left out.) Names break ties so that
    /// the choice is deterministic.
    static func podsToDelete(_ pods: [Pod], count: Int, now: Date) -> [Pod] {
        Array(pods.sorted(by: { deletesBefore($0, $1, now: now) }).prefix(count))
    }

    static func deletesBefore(_ a: Pod, _ b: Pod, now: Date) -> Bool {
        let aAssigned = !(a.spec.nodeName ?? "").isEmpty, bAssigned = !(b.spec.nodeName ?? "").isEmpty
        if aAssigned != bAssigned { return !aAssigned }
        let order = ["Pending": 0, "Unknown": 1, "Running": 2]
        let ap = order[PodUtil.phase(a)] ?? 1, bp = order[PodUtil.phase(b)] ?? 1
        if ap != bp { return ap < bp }
        let ar = PodUtil.isReady(a), br = PodUtil.isReady(b)
        if ar != br { return !ar }
        if ar && br {
            let at = PodUtil.date(PodUtil.condition(a, "Ready")?.lastTransitionTime)
            let bt = PodUtil.date(PodUtil.condition(b, "Ready")?.lastTransitionTime)
            if at != bt {
                guard let at else { return true }
                guard let bt else { return false }
                return at > bt
            }
        }
        let arc = restarts(a), brc = restarts(b)
        if arc != brc { return arc > brc }
        let ac = PodUtil.date(a.metadata.creationTimestamp), bc = PodUtil.date(b.metadata.creationTimestamp)
        if ac != bc {
            guard let ac else { return true }
            guard let bc else { return false }
            return ac > bc
        }
        return a.name > b.name
    }

    /// `maxContainerRestarts`.
    static func restarts(_ pod: Pod) -> Int32 {
        ((pod.status?.containerStatuses ?? []) + (pod.status?.initContainerStatuses ?? [])).map(\.restartCount).max() ?? 0
    }
}
