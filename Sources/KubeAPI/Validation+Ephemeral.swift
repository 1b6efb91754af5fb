/// Ephemeral containers (`kubectl debug`): `validateEphemeralContainers` and
/// `ValidatePodEphemeralContainersUpdate` of `pkg/apis/core/validation/validation.go`, and the
/// rules that keep them out of pod creation and templates.
extension Validation {
    /// `validateEphemeralContainers`: each one is checked as a container, its name must be unique
    /// among all of the pod's containers, `targetContainerName` must name a regular or init
    /// container, and the fields that would make it part of the workload (ports, probes, hooks,
    /// resources, a restart policy, subPath mounts) are refused, in the order of the Go struct's
    /// fields as the API server's allow-list reflection walks them.
    static func validateEphemeralContainers(_ ephemeral: [EphemeralContainer], spec: PodSpec, volumes: [String: Volume], path: String) -> [FieldError] {
        var errs: [FieldError] = []
        let others = Set(spec.containers.map(\.name) + (spec.initContainers ?? []).map(\.name))
        var all = others
        for (i, ec) in ephemeral.enumerated() {
            let p = "\(path)[\(i)]"
            let c = ec.container
            errs += validateContainerCommon(c, volumes: volumes, path: p)
            if all.contains(c.name) { errs.append(.duplicate("\(p).name", c.name)) } else { all.insert(c.name) }
            if let target = ec.targetContainerName, !target.isEmpty, !others.contains(target) {
                errs.append(.notFound("\(p).targetContainerName", target))
            }
            let why = "cannot be set for an Ephemeral Container"
            let disallowed: [(String, Bool)] = [
                ("ports", !(c.ports ?? []).isEmpty),
                ("resources", c.resources.map { !($0.limits ?? [:]).isEmpty || !($0.requests ?? [:]).isEmpty || !($0.claims ?? []).isEmpty } ?? false),
                ("resizePolicy", !(c.resizePolicy ?? []).isEmpty),
                ("restartPolicy", c.restartPolicy != nil),
                ("livenessProbe", c.livenessProbe != nil),
                ("readinessProbe", c.readinessProbe != nil),
                ("startupProbe", c.startupProbe != nil),
                ("lifecycle", c.lifecycle != nil),
            ]
            for (field, set) in disallowed where set { errs.append(.forbidden("\(p).\(field)", why)) }
            for (n, m) in (c.volumeMounts ?? []).enumerated() {
                if !(m.subPath ?? "").isEmpty { errs.append(.forbidden("\(p).volumeMounts[\(n)].subPath", why)) }
                if !(m.subPathExpr ?? "").isEmpty { errs.append(.forbidden("\(p).volumeMounts[\(n)].subPathExpr", why)) }
            }
        }
        return errs
    }

    /// `ValidatePodCreate`'s rule: ephemeral containers are added only through the
    /// `ephemeralcontainers` subresource of an existing pod.
    public static func ephemeralContainersOnCreate(_ spec: PodSpec) -> [FieldError] {
        (spec.ephemeralContainers ?? []).isEmpty ? [] : [.forbidden("spec.ephemeralContainers", "cannot be set on create")]
    }

    /// The second part of `ValidatePodEphemeralContainersUpdate` (the first is the whole pod's
    /// validation): existing ephemeral containers may be neither removed nor changed — matched
    /// by name, since a patch does not keep their order. The real "changed" message goes on
    /// with a newline and a `cmp.Diff` of the two structs; Tandem's names the container only.
    public static func ephemeralContainersUpdate(old: PodSpec, new: PodSpec) -> [FieldError] {
        var errs: [FieldError] = []
        let byName = Dictionary((new.ephemeralContainers ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for o in old.ephemeralContainers ?? [] {
            guard let n = byName[o.name] else {
                errs.append(.forbidden("spec.ephemeralContainers", "existing ephemeral containers \"\(o.name)\" may not be removed\n"))
                continue
            }
            if n != o {
                errs.append(.forbidden("spec.ephemeralContainers", "existing ephemeral containers \"\(o.name)\" may not be changed"))
            }
        }
        return errs
    }
}
