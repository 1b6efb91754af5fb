import Foundation
import KubeAPI

/// The columns `kubectl get pods` prints (`printers.go` `printPod`), so that Tandem's timeline
/// reads exactly like `kubectl get pods -w`.
public enum PodPrinter {
    public struct Row: Sendable, Hashable {
        public var name: String
        public var ready: String
        public var status: String
        public var restarts: String
        public var age: String
    }

    public static let header = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]

    /// What a row reads of a pod: besides the status, only names, counts and timestamps of the
    /// spec and metadata. The API server's Tables fill it straight from the stored JSON, which
    /// spares decoding every listed pod into `Pod`.
    public struct Subject: Sendable {
        public var name: String
        public var creationTimestamp: String?
        public var deleting: Bool
        /// How many init containers the spec has, and the names of those that are sidecars
        /// (`restartPolicy: Always`).
        public var initContainerCount: Int
        public var sidecars: Set<String>
        public var containerCount: Int
        public var status: PodStatus

        public init(name: String, creationTimestamp: String?, deleting: Bool, initContainerCount: Int, sidecars: Set<String>,
                    containerCount: Int, status: PodStatus) {
            self.name = name
            self.creationTimestamp = creationTimestamp
            self.deleting = deleting
            self.initContainerCount = initContainerCount
            self.sidecars = sidecars
            self.containerCount = containerCount
            self.status = status
        }

        public init(_ pod: Pod) {
            self.init(name: pod.name, creationTimestamp: pod.metadata.creationTimestamp, deleting: pod.metadata.deletionTimestamp != nil,
                      initContainerCount: pod.spec.initContainers?.count ?? 0,
                      sidecars: Set((pod.spec.initContainers ?? []).filter(\.isSidecar).map(\.name)),
                      containerCount: pod.spec.containers.count, status: pod.status ?? PodStatus())
        }
    }

    public static func row(_ pod: Pod, now: Date) -> Row { row(Subject(pod), now: now) }

    public static func row(_ pod: Subject, now: Date) -> Row {
        let st = pod.status
        var reason = st.reason ?? st.phase ?? "Pending"
        if st.reason == "" { reason = st.phase ?? "Pending" }
        let sidecars = pod.sidecars
        let total = pod.containerCount + sidecars.count
        var ready = 0, restarts = 0, sidecarRestarts = 0
        var lastRestart: Date?, sidecarLastRestart: Date?
        var initializing = false

        func later(_ a: Date?, _ b: String?) -> Date? {
            guard let b, let d = Timestamp.date(b) else { return a }
            guard let a else { return d }
            return max(a, d)
        }

        for (i, c) in (st.initContainerStatuses ?? []).enumerated() {
            restarts += Int(c.restartCount)
            lastRestart = later(lastRestart, c.lastState.terminated?.finishedAt)
            let isSidecar = sidecars.contains(c.name)
            if isSidecar {
                sidecarRestarts += Int(c.restartCount)
                sidecarLastRestart = later(sidecarLastRestart, c.lastState.terminated?.finishedAt)
            }
            if let t = c.state.terminated, t.exitCode == 0 { continue }
            if isSidecar && c.started == true {
                if c.ready { ready += 1 }
                continue
            }
            if let t = c.state.terminated {
                if let r = t.reason, !r.isEmpty { reason = "Init:" + r } else if let sig = t.signal, sig != 0 { reason = "Init:Signal:\(sig)" } else { reason = "Init:ExitCode:\(t.exitCode)" }
            } else if let w = c.state.waiting, let r = w.reason, !r.isEmpty, r != "PodInitializing" {
                reason = "Init:" + r
            } else {
                reason = "Init:\(i)/\(pod.initContainerCount)"
            }
            initializing = true
            break
        }

        let initializedTrue = st.conditions?.contains { $0.type == "Initialized" && $0.status == "True" } ?? false
        if !initializing || initializedTrue {
            restarts = sidecarRestarts
            lastRestart = sidecarLastRestart
            var hasRunning = false
            for c in (st.containerStatuses ?? []).reversed() {
                restarts += Int(c.restartCount)
                lastRestart = later(lastRestart, c.lastState.terminated?.finishedAt)
                if let w = c.state.waiting, let r = w.reason, !r.isEmpty {
                    reason = r
                } else if let t = c.state.terminated, let r = t.reason, !r.isEmpty {
                    reason = r
                } else if let t = c.state.terminated {
                    reason = (t.signal ?? 0) != 0 ? "Signal:\(t.signal!)" : "ExitCode:\(t.exitCode)"
                } else if c.ready && c.state.running != nil {
                    hasRunning = true
                    ready += 1
                }
            }
            if reason == "Completed" && hasRunning {
                let podReady = st.conditions?.contains { $0.type == "Ready" && $0.status == "True" } ?? false
                reason = podReady ? "Running" : "NotReady"
            }
        }

        if pod.deleting {
            if st.reason == "NodeLost" { reason = "Unknown" } else if st.phase != "Succeeded" && st.phase != "Failed" { reason = "Terminating" }
        }

        var restartsText = String(restarts)
        if restarts > 0, let lastRestart {
            restartsText += " (\(humanDuration(now.timeIntervalSince(lastRestart))) ago)"
        }
        let created = pod.creationTimestamp.flatMap(Timestamp.date) ?? now
        return Row(name: pod.name, ready: "\(ready)/\(total)", status: reason, restarts: restartsText,
                   age: humanDuration(now.timeIntervalSince(created)))
    }

    /// `duration.HumanDuration`.
    public static func humanDuration(_ d: TimeInterval) -> String {
        let seconds = Int(d.rounded(.towardZero))
        if seconds < -1 { return "<invalid>" }
        if seconds < 0 { return "0s" }
        if seconds < 120 { return "\(seconds)s" }
        let minutes = seconds / 60
        if minutes < 10 {
            let s = seconds % 60
            return s == 0 ? "\(minutes)m" : "\(minutes)m\(s)s"
        }
        if minutes < 180 { return "\(minutes)m" }
        let hours = seconds / 3600
        if hours < 8 {
            let m = minutes % 60
            return m == 0 ? "\(hours)h" : "\(hours)h\(m)m"
        }
        if hours < 48 { return "\(hours)h" }
        if hours < 24 * 8 {
            let h = hours % 24
            return h == 0 ? "\(hours / 24)d" : "\(hours / 24)d\(h)h"
        }
        if hours < 24 * 365 * 2 { return "\(hours / 24)d" }
        if hours < 24 * 365 * 8 {
            let dy = (hours / 24) % 365
            return dy == 0 ? "\(hours / 24 / 365)y" : "\(hours / 24 / 365)y\(dy)d"
        }
        return "\(hours / 24 / 365)y"
    }

    /// Go's `time.Duration.String` for whole seconds (`10s`, `1m20s`, `5m0s`), as in back-off messages.
    public static func goDuration(_ d: TimeInterval) -> String {
        let total = Int(d.rounded())
        if total < 60 { return "\(total)s" }
        let h = total / 3600, m = (total % 3600) / 60, s = total % 60
        return h > 0 ? "\(h)h\(m)m\(s)s" : "\(m)m\(s)s"
    }
}
