import Foundation
import KubeAPI

/// A policy/v1 PodDisruptionBudget, as far as the disruption controller and the eviction
/// subresource read it.
public struct PodDisruptionBudget: Codable, Sendable {
    public var metadata: ObjectMeta
    public var spec: PodDisruptionBudgetSpec
    public var status: PodDisruptionBudgetStatus?
}

public struct PodDisruptionBudgetSpec: Codable, Sendable {
    public var minAvailable: IntOrString?
    public var maxUnavailable: IntOrString?
    public var selector: LabelSelector?
    public var unhealthyPodEvictionPolicy: String?
}

public struct PodDisruptionBudgetStatus: Codable, Sendable, Equatable {
    public var observedGeneration: Int64?
    /// Pods the eviction subresource let go, by name, with when: not counted as healthy until
    /// they are seen deleting or `DisruptionController.deletionTimeout` has passed.
    public var disruptedPods: [String: String]?
    public var disruptionsAllowed: Int32
    public var currentHealthy: Int32
    public var desiredHealthy: Int32
    public var expectedPods: Int32
    public var conditions: [BudgetCondition]?
}

/// `metav1.Condition` (the PDB's `DisruptionAllowed`).
public struct BudgetCondition: Codable, Sendable, Equatable {
    public var type: String
    public var status: String
    public var observedGeneration: Int64?
    public var lastTransitionTime: String
    public var reason: String
    public var message: String
}

/// kube-controller-manager's disruption controller (`pkg/controller/disruption/disruption.go`),
/// its `trySync` as a pure function: which pods a budget covers, how many of them are healthy,
/// how many must be, and so how many may be evicted now.
public enum DisruptionController {
    /// `DeletionTimeout`: how long an evicted pod counts as going before it is counted again.
    public static let deletionTimeout: TimeInterval = 120

    /// The pods of the budget's namespace its selector picks (`getPodsForPdb`; policy/v1: an
    /// empty selector picks every pod, a missing one none).
    public static func pods(of pdb: PodDisruptionBudget, in pods: [Pod]) -> [Pod] {
        guard let selector = pdb.spec.selector else { return [] }
        return pods.filter { $0.namespace == (pdb.metadata.namespace ?? "default") && selector.matches($0.metadata.labels ?? [:]) }
    }

    /// The new status, and when it must be computed again (the first disrupted pod's timeout).
    public static func status(_ pdb: PodDisruptionBudget, pods all: [Pod], replicaSets: [ReplicaSet], deployments: [Deployment],
                              now: Date) -> (status: PodDisruptionBudgetStatus, recheck: Date?) {
        let covered = pods(of: pdb, in: all)
        // `buildDisruptedPodMap`: entries of pods now deleting or gone, or timed out, drop.
        var disrupted: [String: String] = [:]
        var recheck: Date?
        for pod in covered where pod.metadata.deletionTimestamp == nil {
            guard let stamp = pdb.status?.disruptedPods?[pod.name], let at = Timestamp.date(stamp) else { continue }
            let expires = at.addingTimeInterval(deletionTimeout)
            guard expires > now else { continue }
            disrupted[pod.name] = stamp
            recheck = min(recheck ?? expires, expires)
        }
        // `countHealthyPods`.
        let currentHealthy = Int32(covered.filter { $0.metadata.deletionTimestamp == nil && disrupted[$0.name] == nil && PodUtil.isReady($0) }.count)
        // `getExpectedPodCount`.
        var expected: Int32 = 0, desired: Int32 = 0
        if let maxUnavailable = pdb.spec.maxUnavailable {
            expected = expectedScale(covered, replicaSets: replicaSets, deployments: deployments)
            desired = max(0, expected - scaled(maxUnavailable, of: expected))
        } else if let minAvailable = pdb.spec.minAvailable {
            if case .int(let n) = minAvailable {
                desired = Int32(n)
                expected = Int32(covered.count)
            } else {
                expected = expectedScale(covered, replicaSets: replicaSets, deployments: deployments)
                desired = scaled(minAvailable, of: expected)
            }
        }
        var allowed = currentHealthy - desired
        if expected <= 0 || allowed <= 0 { allowed = 0 }
        // `UpdateDisruptionAllowedCondition`: the transition time moves only with the status.
        let conditionStatus = allowed > 0 ? "True" : "False"
        let previous = pdb.status?.conditions?.first { $0.type == "DisruptionAllowed" }
        let condition = BudgetCondition(type: "DisruptionAllowed", status: conditionStatus, observedGeneration: pdb.metadata.generation,
                                        lastTransitionTime: previous?.status == conditionStatus ? previous!.lastTransitionTime : Timestamp.string(now),
                                        reason: allowed > 0 ? "SufficientPods" : "InsufficientPods", message: "")
        let status = PodDisruptionBudgetStatus(observedGeneration: pdb.metadata.generation, disruptedPods: disrupted.isEmpty ? nil : disrupted,
                                               disruptionsAllowed: allowed, currentHealthy: currentHealthy, desiredHealthy: desired,
                                               expectedPods: expected, conditions: [condition])
        return (status, recheck)
    }

    /// `getExpectedScale`: the sum of the scales of the pods' controllers, each counted once (a
    /// ReplicaSet of a Deployment by the Deployment's). Pods without a controller add nothing.
    static func expectedScale(_ pods: [Pod], replicaSets: [ReplicaSet], deployments: [Deployment]) -> Int32 {
        var scales: [String: Int32] = [:]
        for pod in pods {
            guard let ref = pod.metadata.ownerReferences?.first(where: { $0.controller == true }) else { continue }
            if ref.kind == "ReplicaSet", let rs = replicaSets.first(where: { $0.metadata.uid == ref.uid }) {
                if let dref = rs.metadata.ownerReferences?.first(where: { $0.controller == true && $0.kind == "Deployment" }),
                   let d = deployments.first(where: { $0.metadata.uid == dref.uid }) {
                    scales[dref.uid] = d.spec.replicas ?? 1
                } else {
                    scales[ref.uid] = rs.spec.replicas ?? 1
                }
            }
        }
        return scales.values.reduce(0, +)
    }

    /// `intstr.GetScaledValueFromIntOrPercent(v, total, roundUp: true)`.
    static func scaled(_ v: IntOrString, of total: Int32) -> Int32 {
        switch v {
        case .int(let n): return Int32(n)
        case .string(let s):
            let percent = Double(s.dropLast()) ?? 0
            return Int32((percent * Double(total) / 100).rounded(.up))
        }
    }
}
