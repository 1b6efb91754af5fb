import Foundation
import KubeAPI
import PodLifecycle

/// Pod rows of a Table, read straight from the stored JSON tree. Decoding each listed pod into
/// `Pod` through `Codable` (text, then `JSONDecoder`) was most of the server's time in a
/// `kubectl get pods` of 1000 pods; the printer needs only the status and a few names and
/// counts, so only those are read (`PodPrinter.Subject`), and the rule stays `PodPrinter`'s.
extension Tables {
    static func podCells(_ o: JSONValue, now: Date) -> [JSONValue] {
        let meta = o["metadata"], spec = o["spec"], status = o["status"]
        let initContainers = spec?["initContainers"]?.arrayValue ?? []
        let subject = PodPrinter.Subject(
            name: meta?["name"]?.stringValue ?? "", creationTimestamp: meta?["creationTimestamp"]?.stringValue,
            deleting: meta?["deletionTimestamp"].map { $0 != .null } ?? false, initContainerCount: initContainers.count,
            sidecars: Set(initContainers.filter { $0["restartPolicy"]?.stringValue == "Always" }.compactMap { $0["name"]?.stringValue }),
            containerCount: spec?["containers"]?.arrayValue?.count ?? 0, status: podStatus(status))
        let row = PodPrinter.row(subject, now: now)
        let phase = status?["phase"]?.stringValue ?? ""
        let gates = spec?["readinessGates"]?.arrayValue?.count ?? 0
        return [.string(row.name), .string(row.ready), .string(subject.deleting && !["Succeeded", "Failed"].contains(phase) ? "Terminating" : row.status),
                .string(row.restarts), .string(row.age),
                .string(status?["podIP"]?.stringValue ?? "<none>"), .string(spec?["nodeName"]?.stringValue ?? "<none>"), .string("<none>"),
                .string(gates == 0 ? "<none>" : "\(gates)")]
    }

    /// The parts of a pod's status the printer reads: phase, reason, conditions' types and
    /// statuses, and the container statuses.
    static func podStatus(_ s: JSONValue?) -> PodStatus {
        var status = PodStatus()
        status.phase = s?["phase"]?.stringValue
        status.reason = s?["reason"]?.stringValue
        status.conditions = s?["conditions"]?.arrayValue?.map { Condition(type: $0["type"]?.stringValue ?? "", status: $0["status"]?.stringValue ?? "") }
        status.initContainerStatuses = s?["initContainerStatuses"]?.arrayValue?.map(containerStatus)
        status.containerStatuses = s?["containerStatuses"]?.arrayValue?.map(containerStatus)
        return status
    }

    static func containerStatus(_ c: JSONValue) -> ContainerStatus {
        func int32(_ v: JSONValue?) -> Int32 { if case .int(let i)? = v { Int32(truncatingIfNeeded: i) } else { 0 } }
        func state(_ s: JSONValue?) -> ContainerState {
            var state = ContainerState()
            if let w = s?["waiting"], w != .null { state.waiting = ContainerStateWaiting(reason: w["reason"]?.stringValue) }
            if let r = s?["running"], r != .null { state.running = ContainerStateRunning(startedAt: r["startedAt"]?.stringValue) }
            if let t = s?["terminated"], t != .null {
                var terminated = ContainerStateTerminated(exitCode: int32(t["exitCode"]), reason: t["reason"]?.stringValue,
                                                          startedAt: t["startedAt"]?.stringValue, finishedAt: t["finishedAt"]?.stringValue)
                if let signal = t["signal"], signal != .null { terminated.signal = int32(signal) }
                state.terminated = terminated
            }
            return state
        }
        var started: Bool?
        if case .bool(let b)? = c["started"] { started = b }
        return ContainerStatus(name: c["name"]?.stringValue ?? "", state: state(c["state"]), lastState: state(c["lastState"]),
                               ready: c["ready"] == .bool(true), restartCount: int32(c["restartCount"]), image: "", started: started)
    }
}
