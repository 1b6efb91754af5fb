import APIServer
import APIStore
import Foundation
import KubeAPI
import Node

/// The kubelet's node registration and status (`registerWithAPIServer`, `setNodeStatus`): one
/// Node object for this machine, named as serve names the node, with what the machine has
/// (CPUs, memory, root filesystem, 110 pods — the kubelet's default `maxPods`), its addresses,
/// the four conditions with their heartbeats, and `nodeInfo` read from the host. The status is
/// written on start and then every `reportInterval` (the kubelet's `nodeStatusReportFrequency`:
/// 5 minutes while nothing changes), which moves `lastHeartbeatTime`. Its heartbeat proper is
/// the node Lease in `kube-node-lease`, renewed every 10 s (a quarter of its 40 s duration, as
/// the kubelet's lease controller does).
public struct NodeStatusReporter: Sendable {
    let registry: Registry
    let hostIP: String
    let reportInterval: Duration
    static let leaseDuration: Int64 = 40

    public init(registry: Registry, hostIP: String, reportInterval: Duration = .seconds(300)) {
        self.registry = registry
        self.hostIP = hostIP
        self.reportInterval = reportInterval
    }

    /// Registers the node (or takes over the stored one after a restart), then renews its
    /// lease and reports its status until cancelled.
    public func run() async {
        let started = Timestamp.string(Date())
        let registered = (try? registry.get(.nodes, namespace: "", name: registry.nodeName)) == nil
            && (try? registry.create(.nodes, namespace: "", body: registration)) != nil
        recordStartEvents(registered: registered)
        let clock = ContinuousClock()
        var reported: ContinuousClock.Instant?
        while !Task.isCancelled {
            if reported.map({ clock.now - $0 >= reportInterval }) ?? true {
                registry.writeStatus(.nodes, namespace: "", name: registry.nodeName, status: status(readySince: started, now: Timestamp.string(Date())))
                reported = clock.now
            }
            renewLease()
            try? await Task.sleep(for: .seconds(Self.leaseDuration / 4))
        }
    }

    /// What `kubectl describe node` lists after a kubelet start: the kubelet's `Starting` and
    /// condition events and, for a new node, the node controller's `RegisteredNode`. The
    /// kubelet's reference to its node has the node's name as uid, as describe searches for.
    func recordStartEvents(registered: Bool) {
        let name = registry.nodeName
        let node = EventTarget(kind: "Node", apiVersion: "v1", namespace: "", name: name, uid: name)
        let kubelet = EventRecorder(registry: registry, component: "kubelet", host: name)
        kubelet.normal(node, "Starting", "Starting kubelet.")
        kubelet.normal(node, "NodeAllocatableEnforced", "Updated Node Allocatable limit across pods")
        for condition in ["NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID", "NodeReady"] {
            kubelet.normal(node, condition, "Node \(name) status is now: \(condition)")
        }
        if registered {
            EventRecorder(registry: registry, component: "node-controller").normal(node, "RegisteredNode", "Node \(name) event: Registered Node \(name) in Controller")
        }
    }

    /// `kube-node-lease/<node>`: created owned by the Node, then its `renewTime` moved.
    func renewLease() {
        let name = registry.nodeName
        let spec = JSONValue.object(["holderIdentity": .string(name), "leaseDurationSeconds": .int(Self.leaseDuration),
                                     "renewTime": .string(Self.microTime(Date()))])
        if let lease = try? registry.get(.leases, namespace: "kube-node-lease", name: name) {
            _ = try? registry.update(.leases, namespace: "kube-node-lease", name: name, body: lease.setting("spec", spec))
            return
        }
        guard let node = try? registry.get(.nodes, namespace: "", name: name) else { return }
        let owner = JSONValue.object(["apiVersion": .string("v1"), "kind": .string("Node"), "name": .string(name),
                                      "uid": node["metadata"]?["uid"] ?? .string("")])
        _ = try? registry.create(.leases, namespace: "kube-node-lease", body: .object([
            "metadata": .object(["name": .string(name), "ownerReferences": .array([owner])]), "spec": spec,
        ]))
    }

    /// `metav1.MicroTime`: RFC 3339 with microseconds.
    static func microTime(_ date: Date) -> String {
        let micros = Int((date.timeIntervalSince1970 * 1e6).truncatingRemainder(dividingBy: 1e6))
        let seconds = Timestamp.string(date).dropLast()
        return seconds + "." + String(format: "%06d", micros) + "Z"
    }

    /// The Node as the kubelet registers it: the well-known labels and annotations.
    var registration: JSONValue {
        let name = registry.nodeName
        return .object([
            "metadata": .object([
                "name": .string(name),
                "labels": .object(["beta.kubernetes.io/arch": .string(Self.architecture), "beta.kubernetes.io/os": .string("linux"),
                                   "kubernetes.io/arch": .string(Self.architecture), "kubernetes.io/hostname": .string(name),
                                   "kubernetes.io/os": .string("linux")]),
                "annotations": .object(["node.alpha.kubernetes.io/ttl": .string("0"),
                                        "volumes.kubernetes.io/controller-managed-attach-detach": .string("true")]),
            ]),
            "spec": .object([:]),
        ])
    }

    func status(readySince: String, now: String) -> JSONValue {
        let machine = NodeAllocatable.host
        let resources = JSONValue.object([
            "cpu": .string(String(machine.cpuMillis / 1000)), "memory": .string("\(machine.memoryBytes / 1024)Ki"),
            "ephemeral-storage": .string("\(machine.ephemeralStorageBytes / 1024)Ki"), "pods": .string("110"),
            "hugepages-1Gi": .string("0"), "hugepages-2Mi": .string("0"),
        ])
        func condition(_ type: String, _ status: String, _ reason: String, _ message: String) -> JSONValue {
            .object(["type": .string(type), "status": .string(status), "lastHeartbeatTime": .string(now),
                     "lastTransitionTime": .string(readySince), "reason": .string(reason), "message": .string(message)])
        }
        let info = Self.hostInfo
        return .object([
            "capacity": resources, "allocatable": resources,
            "conditions": .array([
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ]),
            "addresses": .array([.object(["type": .string("InternalIP"), "address": .string(hostIP)]),
                                 .object(["type": .string("Hostname"), "address": .string(registry.nodeName)])]),
            "daemonEndpoints": .object(["kubeletEndpoint": .object(["Port": .int(0)])]),
            "nodeInfo": .object([
                "machineID": .string(info.machineID), "systemUUID": .string(info.systemUUID), "bootID": .string(info.bootID),
                "kernelVersion": .string(info.kernel), "osImage": .string(info.osImage),
                "containerRuntimeVersion": .string("tandem://\(KubernetesVersion.gitVersion)"),
                "kubeletVersion": .string(KubernetesVersion.gitVersion), "kubeProxyVersion": .string(""),
                "operatingSystem": .string("linux"), "architecture": .string(Self.architecture),
            ]),
        ])
    }

    static var architecture: String {
        #if arch(x86_64)
        "amd64"
        #elseif arch(arm64)
        "arm64"
        #else
        "unknown"
        #endif
    }

    /// What cAdvisor and the runtime report: machine and boot IDs, kernel release, the
    /// `PRETTY_NAME` of os-release.
    static var hostInfo: (machineID: String, systemUUID: String, bootID: String, kernel: String, osImage: String) {
        func read(_ path: String) -> String {
            ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var u = utsname()
        uname(&u)
        let kernel = withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let pretty = read("/etc/os-release").split(separator: "\n").first { $0.hasPrefix("PRETTY_NAME=") }
            .map { String($0.dropFirst("PRETTY_NAME=".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) } ?? "Linux"
        let machineID = read("/etc/machine-id")
        let uuid = read("/sys/class/dmi/id/product_uuid")
        return (machineID, uuid.isEmpty ? machineID : uuid.lowercased(), read("/proc/sys/kernel/random/boot_id"), kernel, pretty)
    }
}
