import APIStore
import Controllers
import Foundation
import KubeAPI

/// The API server's registry layer (`pkg/registry/.../strategy.go` and the generic store): what
/// happens to an object between the HTTP handler and the store — decoding with strict fields,
/// defaulting and validation (through `KubeAPI`, the one validator), the fields the server owns
/// on create, status kept apart from spec, graceful deletion of pods and the garbage collector's
/// background cascade. The HTTP handlers, the controllers and the node all write through it.
public final class Registry: Sendable {
    public let store: ObjectStore
    public let nodeName: String
    /// The kinds the stored CRDs define (`definitionsChanged` keeps it in step).
    public let customResources = CustomResources()

    /// The service account token signer and the root CA (nil: no tokens are issued or accepted).
    public let tokens: ServiceAccountTokens?

    public init(store: ObjectStore, nodeName: String, tokens: ServiceAccountTokens? = nil) {
        self.store = store
        self.nodeName = nodeName
        self.tokens = tokens
    }

    public func key(_ r: APIResource, _ namespace: String, _ name: String) -> ObjectKey {
        ObjectKey(resource: r.qualifiedName, namespace: r.namespaced ? namespace : "", name: name)
    }

    /// The `default` namespace exists from the start, as on every cluster.
    public func bootstrap() throws {
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] where try store.get(key(.namespaces, "", ns)) == nil {
            _ = try create(.namespaces, namespace: "", body: .object(["metadata": .object(["name": .string(ns)])]))
        }
        definitionsChanged()
    }

    // MARK: reads

    public func get(_ r: APIResource, namespace: String, name: String) throws(APIError) -> JSONValue {
        guard let o = try storeCall({ try store.get(key(r, namespace, name)) }, r, name) else { throw .notFound(r, name) }
        return withTypeMeta(o, r)
    }

    public func list(_ r: APIResource, namespace: String?) throws(APIError) -> (items: [JSONValue], revision: Int64) {
        let result = try storeCall({ try store.list(resource: r.qualifiedName, namespace: r.namespaced ? namespace : nil) }, r, "")
        return (result.items.map { withTypeMeta($0, r) }, result.revision)
    }

    func withTypeMeta(_ o: JSONValue, _ r: APIResource) -> JSONValue {
        o.setting("kind", .string(r.kind)).setting("apiVersion", .string(r.apiVersion))
    }

    // MARK: writes

    /// POST: admission, then the fields the server owns (uid, creation time, generation,
    /// resourceVersion; the Job selector; a new pod is `Pending`).
    public func create(_ r: APIResource, namespace: String, body: JSONValue, dryRun: Bool = false) throws(APIError) -> JSONValue {
        var tree = try typeMeta(body, r)
        var meta = tree["metadata"]?.objectValue ?? [:]
        if r.namespaced {
            if let ns = meta["namespace"]?.stringValue, !ns.isEmpty, ns != namespace {
                throw .badRequest("the namespace of the provided object does not match the namespace sent on the request")
            }
            meta["namespace"] = .string(namespace)
        } else {
            meta["namespace"] = nil
        }
        if (meta["name"]?.stringValue ?? "").isEmpty, let prefix = meta["generateName"]?.stringValue, !prefix.isEmpty {
            meta["name"] = .string(prefix + NameGenerator.randomSuffix())
        }
        for owned in ["uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "managedFields"] {
            meta[owned] = nil
        }
        let uid = UUID().uuidString.lowercased()
        meta["uid"] = .string(uid)
        tree = tree.setting("metadata", .object(meta))
        let name = meta["name"]?.stringValue ?? ""
        var object = try admit(r, tree, name: name)
        switch r.kind {
        case "Pod":
            if let spec = try? object["spec"]?.decode(PodSpec.self) {
                let errs = Validation.ephemeralContainersOnCreate(spec)
                if !errs.isEmpty { throw .invalid(r, name, errs) }
            }
            object = try admitServiceAccount(object.setting("status", .object(["phase": .string("Pending")])), namespace: namespace, name: name)
        case "Namespace": object = object.setting("status", .object(["phase": .string("Active")]))
        case "Job":
            if case .job(var job) = try decode(r, object, name: name) {
                JobController.prepare(job: &job, uid: uid)
                object = try encode(job)
            }
        default: break
        }
        if r.namespaced, r.kind != "Namespace" { try checkNamespaceAcceptsContent(r, namespace: namespace, name: name) }
        if dryRun { return withTypeMeta(object, r) }
        let created = try storeCall({ try store.create(key(r, namespace, name), object, trackGeneration: r.tracksGeneration) }, r, name)
        if r == .customResourceDefinitions { definitionsChanged() }
        if r == .namespaces { populate(namespace: name) }
        return withTypeMeta(created, r)
    }

    /// PUT (and the result of a PATCH): the whole object, validated again. The main resource
    /// cannot change `status`; the `status` subresource changes only `status`. A Pod's spec may
    /// change only where `ValidatePodUpdate` allows; its `ephemeralcontainers` subresource
    /// changes only `spec.ephemeralContainers` (`updateEphemeralContainers`).
    public func update(_ r: APIResource, namespace: String, name: String, body: JSONValue, subresource: String? = nil,
                       dryRun: Bool = false) throws(APIError) -> JSONValue {
        if r == .pods, subresource == Self.ephemeralContainersSubresource {
            return try updateEphemeralContainers(namespace: namespace, name: name, body: body, dryRun: dryRun)
        }
        let tree = try typeMeta(body, r)
        if let bodyName = tree["metadata"]?["name"]?.stringValue, bodyName != name {
            throw .badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        let precondition = tree["metadata"]?["resourceVersion"]?.stringValue
        var validated = tree
        if r.kind == "Job" {
            // The selector was generated on create; an update keeps it rather than generating again.
            validated = tree.setting("spec", (tree["spec"] ?? .object([:])).setting("manualSelector", .bool(true)))
        }
        var admitted = try admit(r, validated, name: name)
        if r.kind == "Job" {
            admitted = admitted.setting("spec", (admitted["spec"] ?? .object([:])).setting("manualSelector", tree["spec"]?["manualSelector"]))
        }
        let new = admitted
        let checkPodSpec = r.kind == "Pod" && subresource == nil
        let transform: (JSONValue) throws -> JSONValue = { current in
            if checkPodSpec, let old = try? current["spec"]?.decode(PodSpec.self), let next = try? new["spec"]?.decode(PodSpec.self),
               let message = Validation.podUpdateError(old: old, new: next) {
                throw APIError.invalid(r, name, [.forbidden("spec", message)])
            }
            if subresource == "status" { return current.setting("status", new["status"]) }
            // Without a status subresource a custom object's status is written like any field.
            let statusApart = r.custom == nil || r.subresources.contains("status")
            var next = statusApart ? new.setting("status", current["status"]) : new
            // Deletion is the server's business: a client cannot set or clear it by an update.
            var meta = next["metadata"]?.objectValue ?? [:]
            meta["deletionTimestamp"] = current["metadata"]?["deletionTimestamp"]
            meta["deletionGracePeriodSeconds"] = current["metadata"]?["deletionGracePeriodSeconds"]
            meta["namespace"] = current["metadata"]?["namespace"]
            next = next.setting("metadata", .object(meta))
            return next
        }
        if dryRun {
            let current = try get(r, namespace: namespace, name: name)
            do { return try transform(current) } catch let e as APIError { throw e } catch { throw .badRequest("\(error)") }
        }
        let updated = withTypeMeta(try storeCall({ try store.update(key(r, namespace, name), precondition: precondition, transform) }, r, name), r)
        if r == .customResourceDefinitions { definitionsChanged() }
        return removeIfFinalized(r, namespace: namespace, name: name, updated)
    }

    /// PATCH: the patch applied to the stored object, then the update path (so a patch is
    /// validated as a PUT is). A `metadata.resourceVersion` inside the patch is a precondition.
    public func patch(_ r: APIResource, namespace: String, name: String, type: PatchType, patch: JSONValue,
                      subresource: String? = nil, dryRun: Bool = false) throws(APIError) -> JSONValue {
        for attempt in 0..<5 {
            let current = try get(r, namespace: namespace, name: name)
            var patched: JSONValue
            switch type {
            case .merge: patched = Patch.mergePatch(current, patch)
            case .strategic: patched = try Patch.strategicMerge(current, patch)
            case .json: patched = try Patch.jsonPatch(current, patch)
            }
            // Without its own precondition the patch applies to the object just read; a write
            // between the read and the update is retried, as the API server's GuaranteedUpdate does.
            let explicit = patch["metadata"]?["resourceVersion"]?.stringValue
            let pinned = explicit ?? current["metadata"]?["resourceVersion"]?.stringValue
            var meta = patched["metadata"]?.objectValue ?? [:]
            meta["resourceVersion"] = pinned.map { .string($0) }
            patched = patched.setting("metadata", .object(meta))
            do {
                return try update(r, namespace: namespace, name: name, body: patched, subresource: subresource, dryRun: dryRun)
            } catch let e where e.reason == "Conflict" && explicit == nil && attempt < 4 {
                continue
            }
        }
        throw .conflict(r, name)
    }

    /// DELETE. A pod bound to the node and still running is deleted gracefully: it gets
    /// `deletionTimestamp` (now + grace) and stays until the node has stopped it
    /// (`removeTerminatedPod`); grace 0 (`--force`) removes it at once. Other kinds go at once,
    /// and their dependents (ownerReferences) are deleted in the background, as the garbage
    /// collector does, unless the policy is `Orphan`.
    public func delete(_ r: APIResource, namespace: String, name: String, gracePeriod: Int64? = nil,
                       propagation: String? = nil, dryRun: Bool = false) throws(APIError) -> JSONValue {
        let current = try get(r, namespace: namespace, name: name)
        if r.kind == "Namespace", ["default", "kube-system", "kube-public"].contains(name) {
            throw APIError(code: 403, reason: "Forbidden", message: "namespaces \"\(name)\" is forbidden: this namespace may not be deleted",
                           details: APIError.details(r, name))
        }
        if dryRun { return current }
        if r.kind == "Pod" {
            let phase = current["status"]?["phase"]?.stringValue ?? ""
            let bound = !(current["spec"]?["nodeName"]?.stringValue ?? "").isEmpty
            let specGrace: Int64 = if case .int(let g)? = current["spec"]?["terminationGracePeriodSeconds"] { g } else { 30 }
            let grace = gracePeriod ?? specGrace
            if grace > 0, bound, phase != "Succeeded", phase != "Failed" {
                return withTypeMeta(try storeCall({
                    try store.update(key(r, namespace, name)) { cur in
                        var meta = cur["metadata"]?.objectValue ?? [:]
                        if case .int(let existing)? = meta["deletionGracePeriodSeconds"], existing <= grace { return cur }
                        meta["deletionTimestamp"] = .string(Timestamp.string(Date().addingTimeInterval(TimeInterval(grace))))
                        meta["deletionGracePeriodSeconds"] = .int(grace)
                        return cur.setting("metadata", .object(meta))
                    }
                }, r, name), r)
            }
        }
        if let waiting = try beginDeletion(r, namespace: namespace, name: name, current: current, propagation: propagation) { return waiting }
        let removed = try storeCall({ try store.delete(key(r, namespace, name)) }, r, name)
        if r == .customResourceDefinitions { definitionsChanged() }
        if propagation != "Orphan", let uid = current["metadata"]?["uid"]?.stringValue {
            deleteDependents(of: uid, namespace: namespace)
        }
        return withTypeMeta(removed, r)
    }

    /// The garbage collector's background cascade: objects whose ownerReferences name `uid`.
    func deleteDependents(of uid: String, namespace: String) {
        for r in [APIResource.replicaSets, .jobs, .pods] {
            guard let items = try? store.list(resource: r.qualifiedName, namespace: namespace).items else { continue }
            for item in items where (item["metadata"]?["ownerReferences"]?.arrayValue ?? []).contains(where: { $0["uid"]?.stringValue == uid }) {
                if let name = item["metadata"]?["name"]?.stringValue {
                    _ = try? delete(r, namespace: namespace, name: name, propagation: "Background")
                }
            }
        }
    }

    // MARK: the node's and the controllers' writes

    /// Writes `status` only (the status subresource), as the kubelet's status manager and the
    /// controllers do; false when the object is gone.
    @discardableResult
    public func writeStatus(_ r: APIResource, namespace: String, name: String, uid: String? = nil, status: JSONValue) -> Bool {
        do {
            _ = try store.update(key(r, namespace, name)) { cur in
                if let uid, cur["metadata"]?["uid"]?.stringValue != uid { throw StoreError.notFound }
                return cur.setting("status", status)
            }
            return true
        } catch {
            return false
        }
    }

    /// The scheduler's binding: the pod is assigned to this node.
    public func bind(namespace: String, name: String) {
        _ = try? store.update(key(.pods, namespace, name)) { cur in
            cur.setting("spec", (cur["spec"] ?? .object([:])).setting("nodeName", .string(nodeName)))
        }
    }

    /// The kubelet's final step of a graceful deletion: the pod's containers are gone, so the
    /// object goes (the DELETED event `kubectl delete` waits for).
    public func removeTerminatedPod(namespace: String, name: String, uid: String) {
        guard let current = try? store.get(key(.pods, namespace, name)), current["metadata"]?["uid"]?.stringValue == uid else { return }
        if finishTerminatedPodWithFinalizers(current) { return }
        _ = try? store.delete(key(.pods, namespace, name))
    }

    // MARK: admission

    func typeMeta(_ body: JSONValue, _ r: APIResource) throws(APIError) -> JSONValue {
        guard case .object = body else { throw .badRequest("the body of the request is not a JSON object") }
        if let kind = body["kind"]?.stringValue, !kind.isEmpty, kind != r.kind {
            throw .badRequest("the kind of the provided object (\(kind)) does not match the resource (\(r.kind))")
        }
        if let v = body["apiVersion"]?.stringValue, !v.isEmpty, v != r.apiVersion {
            throw .badRequest("the API version of the provided object (\(v)) does not match the request (\(r.apiVersion))")
        }
        return withTypeMeta(body, r)
    }

    /// Decoding with strict fields, defaulting and validation — `KubeAPI`'s, the same code
    /// `tandem run` admits manifests with — with its errors turned into the API server's
    /// Status: unknown fields 400 (`strict decoding error`), field errors 422 Invalid.
    func admit(_ r: APIResource, _ tree: JSONValue, name: String) throws(APIError) -> JSONValue {
        if r.kind == "Event" { return tree }
        if r == .customResourceDefinitions {
            let crd = CustomResources.defaulted(tree)
            let errs = CustomResources.validate(crd)
            if !errs.isEmpty { throw .invalid(r, name, errs) }
            return crd
        }
        if r.custom != nil { return try CustomResources.admit(r, tree, name: name) }
        if ["ServiceAccount", "Node", "Lease", "Endpoints", "EndpointSlice"].contains(r.kind) { return try admitMetadataOnly(r, tree, name: name) }
        if r.kind == "PodDisruptionBudget" { return try admitPodDisruptionBudget(tree, name: name) }
        var object = try decode(r, tree, name: name)
        // The Secret conversion: `stringData` is written into `data` (base64) and not stored.
        if case .secret(var secret) = object, let plain = secret.stringData {
            var data = secret.data ?? [:]
            for (k, v) in plain { data[k] = Data(v.utf8).base64EncodedString() }
            secret.data = data
            secret.stringData = nil
            object = .secret(secret)
        }
        return try encode(object)
    }

    func decode(_ r: APIResource, _ tree: JSONValue, name: String) throws(APIError) -> KubeObject {
        do {
            return try Manifest.decodeObject(tree, source: "")
        } catch {
            if let message = error.message { throw .badRequest(message) }
            let unknown = error.errors.filter { if case .unknownField = $0.kind { true } else { false } }
            if !unknown.isEmpty, unknown.count == error.errors.count, FieldValidation.current != .strict {
                if FieldValidation.current == .warn { FieldValidation.warnings?.add(unknown.map { "unknown field \"\($0.field)\"" }) }
                return try decode(r, FieldValidation.pruning(tree, unknown.map(\.field)), name: name)
            }
            let isField: (FieldError) -> Bool = { e in
                switch e.kind {
                case .unknownField, .typeMismatch: return false
                default: return true
                }
            }
            if error.errors.allSatisfy(isField) { throw .invalid(r, name, error.errors) }
            let text = error.description
            throw .badRequest(text.hasPrefix("error: ") ? String(text.dropFirst(7)) : text)
        }
    }

    func encode<T: Encodable>(_ value: T) throws(APIError) -> JSONValue {
        do { return try JSONValue(encoding: value) } catch { throw APIError(code: 500, reason: "InternalError", message: "Internal error occurred: \(error)") }
    }

    func encode(_ object: KubeObject) throws(APIError) -> JSONValue {
        do { return try object.jsonValue() } catch { throw APIError(code: 500, reason: "InternalError", message: "Internal error occurred: \(error)") }
    }

    /// Runs a store call, turning the store's refusals into the API server's.
    func storeCall<T>(_ body: () throws -> T, _ r: APIResource, _ name: String) throws(APIError) -> T {
        do {
            return try body()
        } catch let e as APIError {
            throw e
        } catch let e as StoreError {
            switch e {
            case .notFound: throw .notFound(r, name)
            case .alreadyExists: throw .alreadyExists(r, name)
            case .conflict: throw .conflict(r, name)
            case .expired(let requested, let oldest): throw .expired("too old resource version: \(requested) (\(oldest))")
            }
        } catch {
            throw APIError(code: 500, reason: "InternalError", message: "Internal error occurred: \(error)")
        }
    }
}
