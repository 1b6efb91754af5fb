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

    public init(root: String, runtime: Runtime, network: PodNetwork, images: ImageCatalog, timeline: Timeline, hostIP: String = "127.0.0.1", nodeName: String) {
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
}
