import KubeAPI

/// A container port published on the node (`ports[].hostPort`), as the CNI `portmap` plugin
/// installs it for the kubelet: new connections to the host's addresses on `hostPort` are DNATed
/// to the pod's IP and `containerPort`.
public struct HostPortMapping: Hashable, Sendable, Comparable {
    public var proto: String
    public var hostPort: Int32
    public var podIP: String
    public var containerPort: Int32

    public init(proto: String, hostPort: Int32, podIP: String, containerPort: Int32) {
        self.proto = proto
        self.hostPort = hostPort
        self.podIP = podIP
        self.containerPort = containerPort
    }

    public static func < (a: HostPortMapping, b: HostPortMapping) -> Bool { (a.proto, a.hostPort) < (b.proto, b.hostPort) }

    /// The mappings of the pods that have an IP of their own and have not finished. A host port
    /// claimed twice goes to the first pod by name: the scheduler would not have put the second
    /// on this node (`NodePorts` filter).
    public static func mappings(pods: [Pod]) -> [HostPortMapping] {
        var taken: Set<String> = []
        var out: [HostPortMapping] = []
        for pod in pods.sorted(by: { ($0.namespace, $0.name) < ($1.namespace, $1.name) }) {
            guard pod.spec.hostNetwork != true, let ip = pod.status?.podIP, !ip.isEmpty,
                  pod.status?.phase != "Succeeded", pod.status?.phase != "Failed" else { continue }
            for c in (pod.spec.initContainers ?? []).filter(\.isSidecar) + pod.spec.containers {
                for p in c.ports ?? [] {
                    guard let hostPort = p.hostPort, hostPort > 0 else { continue }
                    let proto = p.protocol ?? "TCP"
                    guard taken.insert("\(proto)/\(hostPort)").inserted else { continue }
                    out.append(HostPortMapping(proto: proto, hostPort: hostPort, podIP: ip, containerPort: p.containerPort))
                }
            }
        }
        return out.sorted()
    }
}
