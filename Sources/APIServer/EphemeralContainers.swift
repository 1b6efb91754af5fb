import APIStore
import KubeAPI

/// The `ephemeralcontainers` subresource of pods (`EphemeralContainersREST` with
/// `podEphemeralContainersStrategy`), what `kubectl debug POD` patches. A GET answers with the
/// pod; a PUT or PATCH changes `spec.ephemeralContainers` and nothing else
/// (`dropNonEphemeralContainerUpdates` keeps every other field as stored), and is validated as
/// `ValidatePodEphemeralContainersUpdate` does: the whole pod again, then no existing ephemeral
/// container removed or changed.
extension Registry {
    static let ephemeralContainersSubresource = "ephemeralcontainers"

    func updateEphemeralContainers(namespace: String, name: String, body: JSONValue, dryRun: Bool) throws(APIError) -> JSONValue {
        let r = APIResource.pods
        let tree = try typeMeta(body, r)
        if let bodyName = tree["metadata"]?["name"]?.stringValue, bodyName != name {
            throw .badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        let precondition = tree["metadata"]?["resourceVersion"]?.stringValue
        let requested = tree["spec"]?["ephemeralContainers"]
        let transform: (JSONValue) throws -> JSONValue = { current in
            var spec = current["spec"] ?? .object([:])
            spec = spec.setting("ephemeralContainers", requested)
            let admitted = try self.admit(r, current.setting("spec", spec), name: name)
            if let old = try? current["spec"]?.decode(PodSpec.self), let new = try? admitted["spec"]?.decode(PodSpec.self) {
                let errs = Validation.ephemeralContainersUpdate(old: old, new: new)
                if !errs.isEmpty { throw APIError.invalid(r, name, errs) }
            }
            return current.setting("spec", spec.setting("ephemeralContainers", admitted["spec"]?["ephemeralContainers"]))
        }
        if dryRun {
            let current = try get(r, namespace: namespace, name: name)
            do { return try transform(current) } catch let e as APIError { throw e } catch { throw .badRequest("\(error)") }
        }
        return withTypeMeta(try storeCall({ try store.update(key(r, namespace, name), precondition: precondition, transform) }, r, name), r)
    }
}
