import APIStore
import Controllers
import Foundation
import KubeAPI

extension APIResource {
    public static let podDisruptionBudgets = find(kind: "PodDisruptionBudget")!
}

/// The `pods/eviction` subresource (`pkg/registry/core/pod/storage/eviction.go`): a policy/v1
/// Eviction POSTed for a pod deletes it as its `deleteOptions` say, unless a
/// PodDisruptionBudget covering it has no disruption left, which is `429 TooManyRequests` —
/// what `kubectl drain` retries every 5 s until the budget allows it or its timeout runs out.
extension Registry {
    static let budgetViolated = "Cannot evict pod as it would violate the pod's disruption budget."

    public func evict(namespace: String, name: String, body: JSONValue, dryRun: Bool) throws(APIError) -> JSONValue {
        let pod = try get(.pods, namespace: namespace, name: name)
        if let named = body["metadata"]?["name"]?.stringValue, !named.isEmpty, named != name {
            throw .badRequest("name in URL does not match name in Eviction object")
        }
        let options = body["deleteOptions"] ?? .object([:])
        let uid = pod["metadata"]?["uid"]?.stringValue ?? ""
        if let wanted = options["preconditions"]?["uid"]?.stringValue, !wanted.isEmpty, wanted != uid {
            throw APIError(code: 409, reason: "Conflict",
                           message: "Operation cannot be fulfilled on Pod \"\(name)\": the UID in the precondition (\(wanted)) does not match the UID in record (\(uid)). The object might have been deleted and then recreated",
                           details: APIError.details(.pods, name))
        }
        let grace: Int64? = if case .int(let g)? = options["gracePeriodSeconds"] { g } else { nil }
        let dry = dryRun || options["dryRun"]?.arrayValue?.contains(.string("All")) == true
        if !Self.canIgnoreBudget(pod) {
            try takeDisruption(pod, namespace: namespace, name: name, dryRun: dry)
        }
        _ = try delete(.pods, namespace: namespace, name: name, gracePeriod: grace,
                       propagation: options["propagationPolicy"]?.stringValue, dryRun: dry)
        return .object(["kind": .string("Status"), "apiVersion": .string("v1"), "metadata": .object([:]),
                        "status": .string("Success"), "code": .int(201)])
    }

    /// `canIgnorePDB`: a pod that finished, has not started running, or is already being
    /// deleted does not count against a budget.
    static func canIgnoreBudget(_ pod: JSONValue) -> Bool {
        let phase = pod["status"]?["phase"]?.stringValue ?? "Pending"
        return ["Succeeded", "Failed", "Pending"].contains(phase) || pod["metadata"]?["deletionTimestamp"] != nil
    }

    /// The budget check and its bookkeeping, in one write of the budget's status (retried on
    /// a conflicting write, as the real `GuaranteedUpdate`): one fewer disruption allowed, and
    /// the pod in `disruptedPods` so the controller does not count it healthy meanwhile.
    private func takeDisruption(_ pod: JSONValue, namespace: String, name: String, dryRun: Bool) throws(APIError) {
        let labels = (try? (pod["metadata"]?["labels"] ?? .object([:])).decode([String: String].self)) ?? [:]
        let budgets = try list(.podDisruptionBudgets, namespace: namespace).items.compactMap { try? $0.decode(PodDisruptionBudget.self) }
            .filter { pdb in pdb.spec.selector.map { selector in selector.matches(labels) } ?? false }
        guard let budget = budgets.first else { return }
        if budgets.count > 1 {
            throw APIError(code: 500, reason: "InternalError",
                           message: "Internal error occurred: This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.")
        }
        let budgetName = budget.metadata.name ?? ""
        let ready = (pod["status"]?["conditions"]?.arrayValue ?? []).contains { $0["type"] == .string("Ready") && $0["status"] == .string("True") }
        let decision: (PodDisruptionBudget) throws(APIError) -> PodDisruptionBudgetStatus? = { pdb throws(APIError) in
            guard let status = pdb.status, (status.observedGeneration ?? 0) >= (pdb.metadata.generation ?? 0) else {
                throw Self.tooManyRequests(retryAfter: 10, "The disruption budget \(budgetName) is still being processed by the server.")
            }
            if !ready {
                // An unready pod: `AlwaysAllow`, or `IfHealthyBudget` while the budget is met,
                // lets it go without taking a disruption.
                if pdb.spec.unhealthyPodEvictionPolicy == "AlwaysAllow" { return nil }
                if status.currentHealthy >= status.desiredHealthy, status.desiredHealthy > 0 { return nil }
            }
            if status.disruptionsAllowed < 0 {
                throw APIError(code: 403, reason: "Forbidden", message: "pdb disruptions allowed is negative")
            }
            if status.disruptionsAllowed == 0 {
                throw Self.tooManyRequests(retryAfter: 0,
                    "The disruption budget \(budgetName) needs \(status.desiredHealthy) healthy pods and has \(status.currentHealthy) currently")
            }
            var next = status
            next.disruptionsAllowed -= 1
            next.disruptedPods = (next.disruptedPods ?? [:]).merging([name: Timestamp.string(Date())]) { $1 }
            return next
        }
        if dryRun {
            _ = try decision(budget)
            return
        }
        let budgetKey = key(.podDisruptionBudgets, namespace, budgetName)
        _ = try storeCall({
            try store.update(budgetKey) { current in
                guard let pdb = try? current.decode(PodDisruptionBudget.self) else { return current }
                guard let next = try decision(pdb) else { return current }
                return current.setting("status", try JSONValue(encoding: next))
            }
        }, .podDisruptionBudgets, budgetName)
    }

    static func tooManyRequests(retryAfter: Int64, _ cause: String) -> APIError {
        var details: [String: JSONValue] = ["causes": .array([.object(["reason": .string("DisruptionBudget"), "message": .string(cause)])])]
        if retryAfter > 0 { details["retryAfterSeconds"] = .int(retryAfter) }
        return APIError(code: 429, reason: "TooManyRequests", message: budgetViolated, details: .object(details))
    }

    /// policy/v1 `ValidatePodDisruptionBudget`: the metadata, `minAvailable` and
    /// `maxUnavailable` (not both; each a non-negative integer or a percentage up to 100%), and
    /// the unhealthy pod eviction policy.
    func admitPodDisruptionBudget(_ tree: JSONValue, name: String) throws(APIError) -> JSONValue {
        let r = APIResource.podDisruptionBudgets
        _ = try admitMetadataOnly(r, tree, name: name)
        let spec = tree["spec"] ?? .object([:])
        var errors: [FieldError] = []
        if spec["minAvailable"] != nil, spec["maxUnavailable"] != nil {
            errors.append(.invalid("spec", spec.compactJSON(), "minAvailable and maxUnavailable cannot be both set"))
        }
        for field in ["minAvailable", "maxUnavailable"] {
            switch spec[field] {
            case .int(let n)? where n < 0:
                errors.append(.invalid("spec.\(field)", "\(n)", "must be greater than or equal to 0"))
            case .string(let s)?:
                if s.count < 2 || !s.hasSuffix("%") || !s.dropLast().allSatisfy(\.isNumber) {
                    errors.append(.invalid("spec.\(field)", "\"\(s)\"",
                                           "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"))
                } else if (Int(s.dropLast()) ?? 0) > 100 {
                    errors.append(.invalid("spec.\(field)", "\"\(s)\"", "must be no more than 100%"))
                }
            default: break
            }
        }
        if let policy = spec["unhealthyPodEvictionPolicy"]?.stringValue, !["AlwaysAllow", "IfHealthyBudget"].contains(policy) {
            errors.append(.notSupported("spec.unhealthyPodEvictionPolicy", policy, ["AlwaysAllow", "IfHealthyBudget"]))
        }
        if !errors.isEmpty { throw .invalid(r, name, errors) }
        return tree
    }
}
