import Cgroups
import KubeAPI

/// The scheduler's view of this one node: the `NodeResourcesFit` filter over the pods bound to it.
/// A pod whose requests do not fit beside the pods already running stays `Pending`, unscheduled,
/// with the scheduler's message, and is tried again whenever a pod leaves (the scheduler requeues
/// unschedulable pods on a pod deletion). Terminal pods count no more, as the scheduler's pod
/// informer leaves them out.
public actor NodeResources {
    private let allocatable: NodeAllocatable
    private var reserved: [String: (milliCPU: Int64, memory: Int64)] = [:]
    /// Unschedulable pods' retry hooks, by pod UID.
    private var waiting: [String: @Sendable () -> Void] = [:]

    public init(allocatable: NodeAllocatable = .host) { self.allocatable = allocatable }

    /// Binds the pod (its requests now count) and returns nil, or returns the scheduler's
    /// `FailedScheduling` message and calls `retry` once another pod has left.
    func bind(_ pod: Pod, retry: @escaping @Sendable () -> Void) -> String? {
        let (cpu, memory) = ResourceMath.podRequests(pod.spec)
        let usedCPU = reserved.values.reduce(0) { $0 + $1.milliCPU }, usedMemory = reserved.values.reduce(0) { $0 + $1.memory }
        var insufficient: [String] = []
        if cpu > 0 && usedCPU + cpu > allocatable.cpuMillis { insufficient.append("Insufficient cpu") }
        if memory > 0 && usedMemory + memory > allocatable.memoryBytes { insufficient.append("Insufficient memory") }
        guard !insufficient.isEmpty else {
            reserved[pod.uid] = (cpu, memory)
            waiting[pod.uid] = nil
            return nil
        }
        waiting[pod.uid] = retry
        return "0/1 nodes are available: " + insufficient.map { "1 " + $0 }.joined(separator: ", ")
            + ". preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
    }

    /// The pod is gone (or finished): its requests are free for the pods waiting.
    func release(_ uid: String) {
        waiting[uid] = nil
        guard reserved.removeValue(forKey: uid) != nil else { return }
        for retry in waiting.values { retry() }
    }
}
