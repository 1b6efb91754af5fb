import KubeAPI

/// What one cgroup is given: the kubelet's `ResourceConfig` (pkg/kubelet/cm/types.go), in the
/// cgroup v1 units the kubelet computes in (shares, CFS quota and period in µs, bytes). On
/// cgroup v2 the same numbers are converted when written (`cpu.weight`, `cpu.max`, `memory.max`),
/// as runc's `libcontainer/cgroups/fs2` does.
public struct ResourceConfig: Sendable, Hashable {
    /// `cpu.shares`; nil leaves the kernel's default.
    public var cpuShares: UInt64?
    /// `cpu.cfs_quota_us`; nil or -1 is unlimited.
    public var cpuQuota: Int64?
    /// `cpu.cfs_period_us`.
    public var cpuPeriod: UInt64?
    /// `memory.limit_in_bytes`; nil is unlimited.
    public var memoryLimit: Int64?

    public init(cpuShares: UInt64? = nil, cpuQuota: Int64? = nil, cpuPeriod: UInt64? = nil, memoryLimit: Int64? = nil) {
        self.cpuShares = cpuShares
        self.cpuQuota = cpuQuota
        self.cpuPeriod = cpuPeriod
        self.memoryLimit = memoryLimit
    }
}

/// The kubelet's conversions from a pod spec to cgroup values (pkg/kubelet/cm/helpers_linux.go and
/// `generateLinuxContainerResources` in kuberuntime_container_linux.go). Pure, so unit-tested.
public enum ResourceMath {
    public static let minShares: UInt64 = 2
    public static let maxShares: UInt64 = 262_144
    public static let sharesPerCPU: UInt64 = 1024
    public static let milliCPUToCPU: UInt64 = 1000
    /// `QuotaPeriod`: 100 ms, the kubelet's CFS period.
    public static let quotaPeriod: UInt64 = 100_000
    /// `MinQuotaPeriod`: the kernel refuses a quota below 1 ms.
    public static let minQuotaPeriod: Int64 = 1000

    /// `MilliCPUToShares`.
    public static func milliCPUToShares(_ milliCPU: Int64) -> UInt64 {
        if milliCPU <= 0 { return minShares }
        let (product, overflow) = UInt64(milliCPU).multipliedReportingOverflow(by: sharesPerCPU)
        if overflow { return maxShares }
        return min(max(product / milliCPUToCPU, minShares), maxShares)
    }

    /// `MilliCPUToQuota`: 0 (no limit) for no CPU; otherwise at least `minQuotaPeriod`.
    public static func milliCPUToQuota(_ milliCPU: Int64, period: UInt64 = quotaPeriod) -> Int64 {
        if milliCPU <= 0 { return 0 }
        let (product, overflow) = milliCPU.multipliedReportingOverflow(by: Int64(period))
        let quota = overflow ? maxQuota : min(product / Int64(milliCPUToCPU), maxQuota)
        return max(quota, minQuotaPeriod)
    }

    /// The kernel's largest CFS quota in µs (`max_cfs_runtime`, 2^44 - 1): a larger one is refused
    /// with EINVAL, so a limit of more CPUs than that stands for "no limit to speak of".
    public static let maxQuota: Int64 = (1 << 44) - 1

    /// `cpu.weight` for cgroup v2 from v1 shares: runc's `ConvertCPUSharesToCgroupV2Value`,
    /// mapping [2, 262144] onto [1, 10000].
    public static func sharesToWeight(_ shares: UInt64) -> UInt64 {
        if shares == 0 { return 0 }
        return 1 + ((shares - 2) * 9999) / 262_142
    }

    /// `Quantity.MilliValue()` (rounded up) of a resource in a list, 0 when absent.
    static func milli(_ list: [String: Quantity]?, _ name: String) -> Int64 {
        max(list?[name]?.milliValue ?? 0, 0)
    }

    /// `Quantity.Value()` (rounded up), 0 when absent.
    static func bytes(_ list: [String: Quantity]?, _ name: String) -> Int64 {
        max(list?[name]?.int64Value ?? 0, 0)
    }

    /// One container's cgroup: shares from its CPU request, CFS quota from its CPU limit, its
    /// memory limit (`generateLinuxContainerResources`). A container without a CPU request gets
    /// the minimum shares, as the kubelet passes `MilliCPUToShares(0)`.
    public static func container(_ c: Container) -> ResourceConfig {
        let requests = c.resources?.requests, limits = c.resources?.limits
        var config = ResourceConfig(cpuShares: milliCPUToShares(milli(requests, "cpu")))
        let cpuLimit = milli(limits, "cpu")
        if cpuLimit > 0 {
            config.cpuQuota = milliCPUToQuota(cpuLimit)
            config.cpuPeriod = quotaPeriod
        }
        let memory = bytes(limits, "memory")
        if memory > 0 { config.memoryLimit = memory }
        return config
    }

    /// The pod's effective requests or limits of one resource (`resource.PodRequests`/`PodLimits`):
    /// the larger of the regular containers plus sidecars running beside them, and each init
    /// container plus the sidecars started before it; then the pod overhead.
    static func podTotal(_ spec: PodSpec, _ name: String, limits: Bool, value: ([String: Quantity]?, String) -> Int64) -> Int64 {
        func v(_ c: Container) -> Int64 { value(limits ? c.resources?.limits : c.resources?.requests, name) }
        var sidecars: Int64 = 0
        var initMax: Int64 = 0
        for c in spec.initContainers ?? [] {
            if c.isSidecar {
                sidecars = sidecars.saturatingAdd(v(c))
                initMax = max(initMax, sidecars)
            } else {
                initMax = max(initMax, sidecars.saturatingAdd(v(c)))
            }
        }
        let regular = spec.containers.reduce(sidecars) { $0.saturatingAdd(v($1)) }
        return max(regular, initMax).saturatingAdd(value(spec.overhead, name))
    }

    /// What the scheduler counts for a pod (`resource.PodRequests`): milli-CPU and bytes of memory.
    public static func podRequests(_ spec: PodSpec) -> (milliCPU: Int64, memory: Int64) {
        (podTotal(spec, "cpu", limits: false, value: milli), podTotal(spec, "memory", limits: false, value: bytes))
    }

    /// `ResourceConfigForPod`: the pod cgroup. Shares from the summed CPU requests; a CPU quota and
    /// a memory limit only when every container declares that limit (otherwise one container
    /// could use the whole machine, and the pod with it); BestEffort pods get the minimum shares.
    public static func pod(_ spec: PodSpec, qosClass: String) -> ResourceConfig {
        let all = (spec.initContainers ?? []) + spec.containers
        let cpuLimitsDeclared = all.allSatisfy { milli($0.resources?.limits, "cpu") > 0 }
        let memoryLimitsDeclared = all.allSatisfy { bytes($0.resources?.limits, "memory") > 0 }
        let cpuRequests = podTotal(spec, "cpu", limits: false, value: milli)
        let cpuLimits = podTotal(spec, "cpu", limits: true, value: milli)
        let memoryLimits = podTotal(spec, "memory", limits: true, value: bytes)
        var config = ResourceConfig(cpuShares: milliCPUToShares(cpuRequests))
        switch qosClass {
        case "BestEffort":
            config.cpuShares = minShares
        default:
            if cpuLimitsDeclared {
                config.cpuQuota = milliCPUToQuota(cpuLimits)
                config.cpuPeriod = quotaPeriod
            }
            if memoryLimitsDeclared { config.memoryLimit = memoryLimits }
        }
        return config
    }
}
