import APIStore
import Foundation
import KubeAPI

/// Deletion that waits for someone: a namespace being emptied by the namespace controller,
/// `metadata.finalizers` that block removal until their owners clear them, and foreground
/// cascading deletion (`foregroundDeletion`), which the garbage collector clears once the
/// owner's dependents are gone.
extension Registry {
    /// `NamespaceLifecycle` admission: nothing new in a namespace that is being terminated.
    func checkNamespaceAcceptsContent(_ r: APIResource, namespace: String, name: String) throws(APIError) {
        guard let ns = try storeCall({ try store.get(key(.namespaces, "", namespace)) }, .namespaces, namespace) else {
            throw .notFound(.namespaces, namespace)
        }
        guard ns["metadata"]?["deletionTimestamp"] != nil else { return }
        let message = "unable to create new content in namespace \(namespace) because it is being terminated"
        var details = APIError.details(r, name)
        details = details.setting("causes", .array([.object(["reason": .string("NamespaceTerminating"), "message": .string(message),
                                                            "field": .string("metadata.namespace")])]))
        throw APIError(code: 403, reason: "Forbidden", message: "\(r.qualifiedName) \"\(name)\" is forbidden: \(message)", details: details)
    }

    /// The first step of a deletion that must wait: `deletionTimestamp` set, the object kept.
    /// A namespace also gets `status.phase: Terminating` and its `kubernetes` finalizer (in
    /// `spec.finalizers`, which the namespace controller clears once the namespace is empty);
    /// `Foreground` propagation adds `foregroundDeletion`. Returns nil when nothing waits, so
    /// the object can go at once.
    func beginDeletion(_ r: APIResource, namespace: String, name: String, current: JSONValue, propagation: String?) throws(APIError) -> JSONValue? {
        let finalizers = current["metadata"]?["finalizers"]?.arrayValue ?? []
        // Pods own nothing: a foreground deletion of one is an ordinary one.
        let foreground = propagation == "Foreground" && r.kind != "Namespace" && r.kind != "Pod"
        guard r.kind == "Namespace" || foreground || !finalizers.isEmpty else { return nil }
        return withTypeMeta(try storeCall({
            try store.update(key(r, namespace, name)) { cur in
                var meta = cur["metadata"]?.objectValue ?? [:]
                if meta["deletionTimestamp"] == nil {
                    meta["deletionTimestamp"] = .string(Timestamp.string(Date()))
                    meta["deletionGracePeriodSeconds"] = .int(0)
                }
                var next = cur
                if foreground {
                    var list = meta["finalizers"]?.arrayValue ?? []
                    if !list.contains(.string("foregroundDeletion")) { list.append(.string("foregroundDeletion")) }
                    meta["finalizers"] = .array(list)
                }
                if r.kind == "Namespace" {
                    next = next.setting("spec", (next["spec"] ?? .object([:])).setting("finalizers", .array([.string("kubernetes")])))
                    next = next.setting("status", (next["status"] ?? .object([:])).setting("phase", .string("Terminating")))
                }
                return next.setting("metadata", .object(meta))
            }
        }, r, name), r)
    }

    /// After an update: an object being deleted whose finalizers have all been cleared goes now
    /// (a namespace once its `spec.finalizers` are empty too).
    func removeIfFinalized(_ r: APIResource, namespace: String, name: String, _ object: JSONValue) -> JSONValue {
        guard object["metadata"]?["deletionTimestamp"] != nil, (object["metadata"]?["finalizers"]?.arrayValue ?? []).isEmpty else { return object }
        if r.kind == "Namespace", !(object["spec"]?["finalizers"]?.arrayValue ?? []).isEmpty { return object }
        // A pod still being stopped by the node goes when the node is done, not now.
        if r.kind == "Pod", object["metadata"]?["deletionGracePeriodSeconds"] != .int(0) { return object }
        guard let removed = try? store.delete(key(r, namespace, name), precondition: object["metadata"]?["resourceVersion"]?.stringValue) else {
            return object
        }
        if let uid = removed["metadata"]?["uid"]?.stringValue { deleteDependents(of: uid, namespace: namespace) }
        return withTypeMeta(removed, r)
    }

    /// Removes one finalizer (the controllers' part), which may complete the deletion.
    public func removeFinalizer(_ r: APIResource, namespace: String, name: String, _ finalizer: String) {
        guard let updated = try? store.update(key(r, namespace, name), { cur in
            var meta = cur["metadata"]?.objectValue ?? [:]
            let list = (meta["finalizers"]?.arrayValue ?? []).filter { $0 != .string(finalizer) }
            meta["finalizers"] = list.isEmpty ? nil : .array(list)
            var next = cur.setting("metadata", .object(meta))
            if r.kind == "Namespace", finalizer == "kubernetes" {
                next = next.setting("spec", (next["spec"] ?? .object([:])).setting("finalizers", .array([])))
            }
            return next
        }) else { return }
        _ = removeIfFinalized(r, namespace: namespace, name: name, updated)
    }

    /// A pod the node has stopped but whose finalizers remain: it stays, with grace 0, until
    /// they are cleared. True when that is the case.
    func finishTerminatedPodWithFinalizers(_ pod: JSONValue) -> Bool {
        guard !(pod["metadata"]?["finalizers"]?.arrayValue ?? []).isEmpty,
              let name = pod["metadata"]?["name"]?.stringValue, let namespace = pod["metadata"]?["namespace"]?.stringValue else { return false }
        _ = try? store.update(key(.pods, namespace, name)) { cur in
            cur.setting("metadata", (cur["metadata"] ?? .object([:])).setting("deletionGracePeriodSeconds", .int(0)))
        }
        return true
    }
}
