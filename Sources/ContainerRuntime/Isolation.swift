/// What confines a container's process beyond its namespaces: its cgroups and its
/// securityContext, applied by the shim's child before it execs (`CTandemInit/isolation.c`).
public struct ProcessIsolation: Sendable, Hashable, Codable {
    /// The `cgroup.procs` files the process writes itself into first, one per hierarchy.
    public var cgroupProcs: [String] = []
    /// `/proc/self/oom_score_adj`, the kubelet's value for the pod's QoS class.
    public var oomScoreAdj: Int?
    /// The user, primary group and supplementary groups; nil keeps root's.
    public var uid: UInt32?
    public var gid: UInt32?
    public var groups: [UInt32] = []
    /// The capability bounding set as a bit mask (bit n = capability n); nil keeps every one
    /// (`privileged`).
    public var capabilities: UInt64?
    /// `allowPrivilegeEscalation: false`.
    public var noNewPrivileges = false
    /// `readOnlyRootFilesystem`.
    public var readOnlyRoot = false
    /// `privileged`: a node for each of the host's devices in the container's `/dev`, as containerd
    /// gives a privileged container, besides runc's minimal set.
    public var hostDevices = false

    public init() {}

    /// A command exec'd in the running container: its user, groups, capabilities and
    /// no_new_privs. It enters the container's namespaces, where the root is already read-only
    /// and `/sys` (with the cgroup files) is, so it stays in the shim's cgroup and keeps its
    /// OOM score: probes and hooks are charged to Tandem, not the container.
    var forExec: ProcessIsolation {
        var iso = self
        iso.cgroupProcs = []
        iso.oomScoreAdj = nil
        iso.readOnlyRoot = false
        return iso
    }

    func add(to config: inout ShimConfig) {
        for p in cgroupProcs { config.add("cgroup", p) }
        if let oomScoreAdj { config.add("oomscoreadj", String(oomScoreAdj)) }
        if uid != nil || gid != nil || !groups.isEmpty {
            config.add("uid", String(uid ?? 0))
            config.add("gid", String(gid ?? 0))
            for g in groups { config.add("group", String(g)) }
        }
        if let capabilities { config.add("caps", String(capabilities, radix: 16)) }
        if noNewPrivileges { config.add("nnp", "1") }
        if readOnlyRoot { config.add("rootro", "1") }
        if hostDevices { config.add("hostdev", "1") }
    }
}
