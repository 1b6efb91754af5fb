import APIServer
import Foundation
import KubeAPI
import Node
import Synchronization

/// The kubelet's token manager (`pkg/kubelet/token/token_manager.go`) for the pods' projected
/// `serviceAccountToken` sources: it asks the API server for a token bound to the pod (its
/// TokenRequest, here a call into the registry), keeps it, and hands out the same token until
/// 80% of its lifetime has passed (`requiresRefresh`), when it asks for a new one. The node
/// re-projects a pod's volumes at that moment (`NodeAgent`), so the file is always fresh.
final class TokenManager: ServiceAccountTokenSource {
    private let registry: Registry
    private let cache = Mutex<[String: (token: String, refreshAt: Date)]>([:])

    init(registry: Registry) {
        self.registry = registry
    }

    func token(for pod: Pod, audience: String?, expirationSeconds: Int64) throws -> String {
        let account = pod.spec.serviceAccountName ?? pod.spec.serviceAccount ?? "default"
        let key = "\(pod.uid)/\(account)/\(audience ?? "")/\(expirationSeconds)"
        let now = Date()
        if let cached = cache.withLock({ $0[key] }), cached.refreshAt > now { return cached.token }
        var spec: [String: JSONValue] = [
            "expirationSeconds": .int(expirationSeconds),
            "boundObjectRef": .object(["kind": .string("Pod"), "apiVersion": .string("v1"), "name": .string(pod.name), "uid": .string(pod.uid)]),
        ]
        if let audience, !audience.isEmpty { spec["audiences"] = .array([.string(audience)]) }
        let issued: JSONValue
        do {
            issued = try registry.requestToken(namespace: pod.namespace, serviceAccount: account, body: .object(["spec": .object(spec)]))
        } catch {
            throw VolumeError("failed to fetch token: \((error as? APIError)?.message ?? "\(error)")")
        }
        let token = issued["status"]?["token"]?.stringValue ?? ""
        let refreshAt = now.addingTimeInterval(Self.refreshAfter(expirationSeconds))
        cache.withLock { $0[key] = (token, refreshAt) }
        return token
    }

    /// 80% of the lifetime (`requiresRefresh`: within 20% of the expiry), capped at the
    /// manager's 24 h `maxTTL`.
    static func refreshAfter(_ expirationSeconds: Int64) -> TimeInterval {
        min(TimeInterval(expirationSeconds) * 0.8, 24 * 3600)
    }

    /// A pod's tokens are dropped when it goes (`DeleteServiceAccountToken`).
    func forget(podUID: String) {
        cache.withLock { $0 = $0.filter { !$0.key.hasPrefix(podUID + "/") } }
    }

    /// The shortest lifetime among the pod's token projections, if it has any: when its volumes
    /// must be projected again.
    static func refreshInterval(_ pod: Pod) -> TimeInterval? {
        let expirations = (pod.spec.volumes ?? []).flatMap { $0.projected?.sources ?? [] }.compactMap { p -> Int64? in
            guard let t = p.serviceAccountToken else { return nil }
            if case .int(let e)? = t["expirationSeconds"] { return e }
            return 3600
        }
        return expirations.min().map(refreshAfter)
    }
}
