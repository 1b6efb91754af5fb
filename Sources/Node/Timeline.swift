import Foundation
import KubeAPI
import PodLifecycle
import Synchronization

/// The live view `tandem run` prints: pod rows exactly as `kubectl get pods -w` prints them and
/// every container's output prefixed `pod/container | `, as `docker compose up` shows logs.
///
/// Writes go straight to one file descriptor under a lock, so lines of different containers never
/// interleave mid-line.
public final class Timeline: Sendable {
    struct State {
        var prefixes: [String: String] = [:]
        var lastRows: [String: PodPrinter.Row] = [:]
        var headerPrinted = false
        /// Column widths, remembered across rows as kubectl's tabwriter does (`RememberWidths`).
        var widths: [Int] = []
    }

    private let state = Mutex(State())
    private let fd: Int32
    private let showLogs: Bool
    private let events: (@Sendable (PodEvent) -> Void)?

    /// - Parameters:
    ///   - fd: where to write (stdout normally, stderr when `-o` keeps stdout for the result).
    ///   - showLogs: whether container output is echoed (the benchmark turns it off).
    ///   - events: where the kubelet's events go besides the timeline (`tandem serve` writes
    ///     them as Event objects).
    public init(fd: Int32, showLogs: Bool = true, events: (@Sendable (PodEvent) -> Void)? = nil) {
        self.fd = fd
        self.showLogs = showLogs
        self.events = events
    }

    public func register(containerID: String, pod: String, container: String) {
        state.withLock { $0.prefixes[containerID] = "\(pod)/\(container)" }
    }

    public func unregister(containerID: String) {
        _ = state.withLock { $0.prefixes.removeValue(forKey: containerID) }
    }

    /// The runtime's log echo hook.
    public func log(containerID: String, line: String) {
        guard showLogs else { return }
        let prefix = state.withLock { $0.prefixes[containerID] } ?? containerID
        write("\(prefix) | \(line)\n")
    }

    /// Prints the pod's row if READY, STATUS or RESTARTS changed, like a watch event.
    public func podChanged(_ pod: Pod, now: Date = Date()) {
        let row = PodPrinter.row(pod, now: now)
        let text: String? = state.withLock { s in
            let key = "\(pod.namespace)/\(pod.name)"
            if let last = s.lastRows[key], last.ready == row.ready, last.status == row.status, last.restarts == row.restarts { return nil }
            s.lastRows[key] = row
            let cells = [row.name, row.ready, row.status, row.restarts, row.age]
            var lines = [cells]
            if !s.headerPrinted {
                s.headerPrinted = true
                lines.insert(PodPrinter.header, at: 0)
            }
            return Timeline.format(lines, widths: &s.widths)
        }
        if let text { write(text) }
    }

    /// A free-form note (events such as `Warning BackOff`), prefixed like kubectl events.
    public func note(_ text: String) {
        write(text + "\n")
    }

    /// An event the kubelet records about a pod or one of its containers (`recorder.Eventf`):
    /// handed to the event sink and, when `echo`, printed as a note (`pod/container: Warning
    /// Unhealthy: …`). Progress events that the pod rows already show are not echoed.
    public func event(_ pod: Pod, container: String? = nil, _ type: String, _ reason: String, _ message: String,
                      from component: String = "kubelet", echo: Bool = true) {
        if echo { note("\(pod.name)\(container.map { "/" + $0 } ?? ""): \(type) \(reason): \(message)") }
        events?(PodEvent(pod, container: container, type: type, reason: reason, message: message, component: component))
    }

    /// kubectl's table writer (`printers.GetNewTabWriter`: minimum cell width 6, padding 3,
    /// widths remembered between flushes): every cell but the last is padded to its column's
    /// widest value so far, so rows line up until a wider value (`PodInitializing`) widens them.
    static func format(_ lines: [[String]], widths: inout [Int]) -> String {
        for cells in lines {
            if widths.count < cells.count { widths += Array(repeating: 0, count: cells.count - widths.count) }
            for (i, c) in cells.enumerated().dropLast() { widths[i] = max(widths[i], c.count + 3, 6) }
        }
        var out = ""
        for cells in lines {
            for (i, c) in cells.enumerated() {
                out += c
                if i < cells.count - 1 { out += String(repeating: " ", count: widths[i] - c.count) }
            }
            out += "\n"
        }
        return out
    }

    private func write(_ s: String) {
        state.withLock { _ in
            var bytes = Array(s.utf8)
            var off = 0
            while off < bytes.count {
                let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
                if n <= 0 { break }
                off += n
            }
        }
    }
}

/// One kubelet event about a pod: what `Timeline.event` hands to its sink.
public struct PodEvent: Sendable {
    public var namespace: String
    public var name: String
    public var uid: String
    /// `spec.containers{name}` or `spec.initContainers{name}` (`GenerateContainerRef`); nil for the pod itself.
    public var fieldPath: String?
    public var type: String
    public var reason: String
    public var message: String
    /// `source.component`: `kubelet`, or `default-scheduler` for the fit check the node makes for it.
    public var component: String

    public init(_ pod: Pod, container: String?, type: String, reason: String, message: String, component: String = "kubelet") {
        self.component = component
        namespace = pod.namespace
        name = pod.name
        uid = pod.uid
        fieldPath = container.map { c in
            (pod.spec.initContainers ?? []).contains { $0.name == c } ? "spec.initContainers{\(c)}" : "spec.containers{\(c)}"
        }
        self.type = type
        self.reason = reason
        self.message = message
    }
}
