import Cgroups
import KubeAPI
import PodLifecycle

/// The scheduler's view of this one node: the `NodeResourcesFit` filter over the pods bound to it.
/// A pod whose requests do not fit beside the pods already running stays `Pending`, unscheduled,
/// with the scheduler's message, and is tried again whenever a pod leaves (the scheduler requeues
/// unschedulable pods on a pod deletion). Terminal pods count no more, as the scheduler's pod
/// informer leaves them out.
///
/// It also keeps the kubelet's QoS cgroups in step (`qosContainerManager.UpdateCgroups`): the
/// `burstable` cgroup's CPU shares are those of the Burstable pods' summed CPU requests.
public actor NodeResources {
    private let allocatable: NodeAllocatable
    private let cgroups: NodeCgroups?
    private var reserved: [String: (milliCPU: Int64, memory: Int64, burstable: Bool)] = [:]
    /// Unschedulable pods' retry hooks, by pod UID.
    private var waiting: [String: @Sendable () -> Void] = [:]

    public init(allocatable: NodeAllocatable = .host, cgroups: NodeCgroups? = nil) {
        self.allocatable = allocatable
        self.cgroups = cgroups
    }

    /// Binds the pod (its requests now count) and returns nil, or returns the scheduler's
    /// `FailedScheduling` message and calls `retry` once another pod has left.
    func bind(_ pod: Pod, retry: @escaping @Sendable () -> Void) -> String? {
        let (cpu, memory) = ResourceMath.podRequests(pod.spec)
        let usedCPU = reserved.values.reduce(Int64(0)) { $0.saturatingAdd($1.milliCPU) }
        let usedMemory = reserved.values.reduce(Int64(0)) { $0.saturatingAdd($1.memory) }
        var insufficient: [String] = []
        if cpu > 0 && usedCPU.saturatingAdd(cpu) > allocatable.cpuMillis { insufficient.append("Insufficient cpu") }
        if memory > 0 && usedMemory.saturatingAdd(memory) > allocatable.memoryBytes { insufficient.append("Insufficient memory") }
        guard !insufficient.isEmpty else {
            let burstable = PodStatusGenerator.qosClass(pod.spec) == "Burstable"
            reserved[pod.uid] = (cpu, memory, burstable)
            waiting[pod.uid] = nil
            if burstable { updateBurstableShares() }
            return nil
        }
        waiting[pod.uid] = retry
        return "0/1 nodes are available: " + insufficient.map { "1 " + $0 }.joined(separator: ", ")
            + ". preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
    }

    /// The pod is gone (or finished): its requests are free for the pods waiting.
    func release(_ uid: String) {
        waiting[uid] = nil
        guard let released = reserved.removeValue(forKey: uid) else { return }
        if released.burstable { updateBurstableShares() }
        for retry in waiting.values { retry() }
    }

    /// Best effort, as the kubelet's periodic update is: a failed write leaves the last value.
    private func updateBurstableShares() {
        let requests = reserved.values.filter(\.burstable).reduce(Int64(0)) { $0.saturatingAdd($1.milliCPU) }
        try? cgroups?.create(.kubepods.child("burstable"), ResourceConfig(cpuShares: ResourceMath.milliCPUToShares(requests)))
    }
}
