import KubeAPI

/// Who waits for whom when a pod's containers are stopped together
/// (`kuberuntime_termination_order.go` `newTerminationOrdering`).
///
/// Regular containers wait for nobody. A sidecar waits for every regular container and for the
/// sidecar declared right after it, so sidecars get their stop signal in reverse order after all
/// main containers have exited. Containers that are not running are released up front: a sidecar
/// whose later neighbour is not running waits for no sidecar at all, even a running one further
/// down (the source, not the docs: `previousSidecarName` is set whether or not it runs).
public enum TerminationOrdering {
    /// For each running container, the names it must see exit before its stop signal.
    public static func dependencies(spec: PodSpec, running: Set<String>) -> [String: Set<String>] {
        let sidecars = (spec.initContainers ?? []).filter(\.isSidecar).map(\.name)
        guard !sidecars.isEmpty else { return [:] }
        let regular = Set(spec.containers.map(\.name)).intersection(running)
        var deps: [String: Set<String>] = [:]
        var nextSidecar: String?
        for name in sidecars.reversed() {
            defer { nextSidecar = name }
            guard running.contains(name) else { continue }
            var d = regular
            if let nextSidecar, running.contains(nextSidecar) { d.insert(nextSidecar) }
            deps[name] = d
        }
        return deps
    }

    /// `killContainer`'s grace: the delete's grace, else the probe's grace for a probe kill, else the
    /// pod's `terminationGracePeriodSeconds`, else 2.
    public static func gracePeriod(spec: PodSpec, container: Container?, probe: ProbeType?, override: Int64?) -> Int64 {
        if let override { return override }
        if let probe, let c = container {
            let p: Probe? = probe == .liveness ? c.livenessProbe : (probe == .startup ? c.startupProbe : nil)
            if let g = p?.terminationGracePeriodSeconds { return g }
        }
        return spec.terminationGracePeriodSeconds ?? 2
    }

    /// `minimumGracePeriodInSeconds`: every container gets at least this long between the stop
    /// signal and SIGKILL.
    public static let minimumGracePeriod: Int64 = 2
}
