import APIServer
import KubeAPI
import Node

/// The kubelet's container events that a status change shows: a new container instance
/// (`Pulled`, `Created`, `Started`, or `Failed` when it could not start), a container entering
/// back-off (`BackOff`) and an image that cannot be had (`Failed`). Read off two successive
/// statuses the pod worker published, so the worker records only the events its status cannot
/// show (probe failures, kills, hooks).
enum PodEvents {
    static func between(_ previous: Pod?, _ current: Pod) -> [PodEvent] {
        var out: [PodEvent] = []
        let lists: [([Container], [ContainerStatus]?, [ContainerStatus]?)] = [
            (current.spec.initContainers ?? [], previous?.status?.initContainerStatuses, current.status?.initContainerStatuses),
            (current.spec.containers, previous?.status?.containerStatuses, current.status?.containerStatuses),
            ((current.spec.ephemeralContainers ?? []).map(\.container), previous?.status?.ephemeralContainerStatuses,
             current.status?.ephemeralContainerStatuses),
        ]
        func event(_ c: String, _ type: String, _ reason: String, _ message: String) {
            out.append(PodEvent(current, container: c, type: type, reason: reason, message: message))
        }
        for (specs, before, after) in lists {
            for status in after ?? [] {
                let old = before?.first { $0.name == status.name }
                let image = specs.first { $0.name == status.name }?.image ?? status.image
                let id = status.containerID ?? status.state.terminated?.containerID
                if let id, !id.isEmpty, id != (old?.containerID ?? old?.state.terminated?.containerID),
                   status.state.running != nil || status.state.terminated != nil {
                    // Images are the host's own commands: always "present on machine".
                    event(status.name, "Normal", "Pulled", "Container image \"\(image)\" already present on machine")
                    event(status.name, "Normal", "Created", "Created container: \(status.name)")
                    if let t = status.state.terminated, t.reason == "StartError" {
                        event(status.name, "Warning", "Failed", "Error: \(t.message ?? "")")
                    } else {
                        event(status.name, "Normal", "Started", "Started container \(status.name)")
                    }
                }
                guard let waiting = status.state.waiting, waiting != old?.state.waiting else { continue }
                switch waiting.reason {
                case "CrashLoopBackOff":
                    event(status.name, "Warning", "BackOff",
                          "Back-off restarting failed container \(status.name) in pod \(current.name)_\(current.namespace)(\(current.uid))")
                case "ErrImagePull", "ImagePullBackOff":
                    event(status.name, "Warning", "Failed", "Failed to pull image \"\(image)\": \(waiting.message ?? "")")
                    event(status.name, "Warning", "Failed", "Error: \(waiting.reason ?? "")")
                default: break
                }
            }
        }
        return out
    }
}

/// What the pod workers report to the status writer, in order.
enum StatusReport: Sendable {
    /// A new status to write (and to read events off).
    case status(Pod)
    /// The worker is done: its last status is no longer needed to compare against.
    case gone(String)
}

/// The node's event recorders: the kubelet's, and the scheduler's for binding and fit.
struct EventRecorders: Sendable {
    let kubelet: EventRecorder
    let scheduler: EventRecorder

    init(registry: Registry) {
        kubelet = EventRecorder(registry: registry, component: "kubelet", host: registry.nodeName)
        scheduler = EventRecorder(registry: registry, component: "default-scheduler")
    }

    func record(_ e: PodEvent) {
        let target = EventTarget(kind: "Pod", apiVersion: "v1", namespace: e.namespace, name: e.name, uid: e.uid, fieldPath: e.fieldPath)
        (e.component == "default-scheduler" ? scheduler : kubelet).record(target, type: e.type, reason: e.reason, message: e.message)
    }
}
