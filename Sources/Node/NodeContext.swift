import Cgroups
import ContainerRuntime
import Foundation
import KubeAPI

/// What every pod worker on this node shares: the runtime, the pod network, the image catalog,
/// the state directory and the timeline. The kubelet's `Kubelet` struct, reduced to what a pod needs.
public struct NodeContext: Sendable {
    public let root: String
    public let runtime: Runtime
    public let network: PodNetwork
    public let images: ImageCatalog
    public let timeline: Timeline
    public let hostIP: String
    public let nodeName: String
    /// The least time between two containers of a pod started in one sync. The kubelet starts
    /// them one after another, and each start goes through the CRI (create, start, and for
    /// `:latest` images a registry check): on containerd the earlier container gets a head start
    /// of 100 ms or more. Manifests written for clusters lean on it without knowing: seed 001's
    /// `tail -f /logs/access.log` beside nginx works only because nginx has opened its log by
    /// then. Tandem starts a container in about 2 ms, so it keeps the head start explicitly.
    public let containerStartSpacing: Duration
    /// The cluster DNS Service's address for `ClusterFirst` pods (nil: pods keep the host's resolver).
    public var clusterDNS: String?
    public var clusterDomain = "cluster.local"
    /// The kubelet's service lister: every Service the node knows, for the containers' Service
    /// environment variables (`tandem run`: the manifests' as admitted; `tandem serve`: the store's).
    public var serviceLister: @Sendable () -> [Service] = { [] }
    /// The node's cgroup tree; nil runs containers without resource limits (no writable cgroups).
    public let cgroups: NodeCgroups?
    /// What the pods bound to this node request, for the scheduler's fit check.
    public let resources: NodeResources
    /// Pod and container directories made ahead (nil: each pod makes its own).
    public var podDirectories: PodDirectoryPool?

    public init(root: String, runtime: Runtime, network: PodNetwork, images: ImageCatalog, timeline: Timeline, hostIP: String = "127.0.0.1", nodeName: String,
                containerStartSpacing: Duration = .milliseconds(100), cgroups: NodeCgroups? = nil,
                resources: NodeResources? = nil) {
        self.resources = resources ?? NodeResources(cgroups: cgroups)
        self.containerStartSpacing = containerStartSpacing
        self.cgroups = cgroups
        self.root = root
        self.runtime = runtime
        self.network = network
        self.images = images
        self.timeline = timeline
        self.hostIP = hostIP
        self.nodeName = nodeName
    }

    /// `ROOT/pods/<namespace>_<name>_<uid>`: the kubelet's log directory naming (`BuildPodLogsDirectory`).
    public func podDirectory(_ pod: Pod) -> String {
        "\(root)/pods/\(pod.namespace)_\(pod.name)_\(pod.uid)"
    }

    /// Where containers' and sandboxes' state directories (image files, shim records) live.
    public var containersDirectory: String { root + "/containers" }
}
