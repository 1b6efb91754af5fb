import APIServer
import Controllers
import Foundation
import KubeAPI

/// The disruption controller: every PodDisruptionBudget's status (`currentHealthy`,
/// `desiredHealthy`, `expectedPods`, `disruptionsAllowed`, `observedGeneration`, the
/// `DisruptionAllowed` condition, the eviction subresource's `disruptedPods` pruned) computed by
/// `Controllers.DisruptionController` from the pods and their controllers' scale, whenever one of
/// them changes, and again when a disrupted pod's two minutes run out.
struct DisruptionBudgetController {
    let registry: Registry

    func run() async {
        await ReconcileLoop(registry: registry, watched: [.podDisruptionBudgets, .pods, .replicaSets, .deployments]).run { reconcile() }
    }

    private func items<T: Decodable>(_ r: APIResource, as type: T.Type) -> [T] {
        ((try? registry.list(r, namespace: nil).items) ?? []).compactMap { try? $0.decode(T.self) }
    }

    private func reconcile() -> Date? {
        let budgets = items(.podDisruptionBudgets, as: PodDisruptionBudget.self)
        guard !budgets.isEmpty else { return nil }
        let pods = items(.pods, as: Pod.self), replicaSets = items(.replicaSets, as: ReplicaSet.self)
        let deployments = items(.deployments, as: Deployment.self)
        var next: Date?
        for pdb in budgets where pdb.metadata.deletionTimestamp == nil {
            let (status, recheck) = DisruptionController.status(pdb, pods: pods, replicaSets: replicaSets, deployments: deployments, now: Date())
            if let recheck { next = min(next ?? recheck, recheck) }
            guard status != pdb.status, let name = pdb.metadata.name, let json = try? JSONValue(encoding: status) else { continue }
            registry.writeStatus(.podDisruptionBudgets, namespace: pdb.metadata.namespace ?? "default", name: name, uid: pdb.metadata.uid, status: json)
        }
        return next
    }
}
