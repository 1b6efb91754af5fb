import APIServer
import ContainerRuntime
import Node

/// The kubelet's streaming side of `kubectl port-forward`: one connection to the pod's port
/// per forwarded client connection, made in the pod sandbox's network namespace.
extension NodeAgent {
    public func portForward(namespace: String, pod: String, uid: String, port: UInt16) async throws(PortForwardError) -> Int32 {
        // The CRI names the pod by its sandbox id, and the kubelet's message carries it with an
        // empty uid (`httpStreamHandler` is given the sandbox id as the pod's name).
        let sandboxID = "sandbox-\(uid)"
        let prefix = "error forwarding port \(port) to pod \(sandboxID), uid : "
        guard let entry = workers["\(namespace)/\(pod)"], entry.uid == uid else {
            throw PortForwardError(prefix + "pod not found (\"\(pod)_\(namespace)\")")
        }
        let target = await entry.worker.portForwardNamespace
        guard target.hostNetwork || target.netnsPath != nil else {
            throw PortForwardError(prefix + "failed to find sandbox for pod \"\(pod)_\(namespace)\"")
        }
        do {
            return try await PodPortConnect.connect(netnsPath: target.hostNetwork ? nil : target.netnsPath, port: port, sandboxID: sandboxID)
        } catch {
            throw PortForwardError(prefix + error.message)
        }
    }
}
