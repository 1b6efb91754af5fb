import Foundation
import KubeAPI

/// What the runtime knows about one container instance: the kubelet's `kubecontainer.Status`.
///
/// The rules in this module look only at these records (plus probe results and the clock), never at
/// processes, so every lifecycle decision can be unit-tested without running anything.
public struct ContainerRecord: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Hashable, Codable {
        case created, running, exited, unknown
    }

    public var name: String
    /// Runtime ID of this instance (`tandem://<id>` in `containerID`).
    public var id: String
    /// The image this instance was started from; with the name it is the container hash
    /// (`HashContainer` covers only name and image).
    public var image: String
    public var state: State
    public var exitCode: Int32?
    /// `OOMKilled`, `ContainerStatusUnknown`, or nil to derive `Completed`/`Error` from the exit code.
    public var reason: String?
    public var message: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var restartCount: Int32
    /// The sandbox attempt (`PodRuntimeStatus.sandboxAttempt`) this instance ran in; nil when
    /// not tracked, which counts as the current one.
    public var sandbox: Int?

    public init(name: String, id: String, image: String, state: State, exitCode: Int32? = nil, reason: String? = nil, message: String? = nil,
                createdAt: Date, startedAt: Date? = nil, finishedAt: Date? = nil, restartCount: Int32 = 0) {
        self.name = name
        self.id = id
        self.image = image
        self.state = state
        self.exitCode = exitCode
        self.reason = reason
        self.message = message
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.restartCount = restartCount
    }

    /// The terminated reason the runtime reports: `Completed` for 0, `Error` otherwise, unless the
    /// runtime knows better (`OOMKilled`).
    public var terminatedReason: String {
        if let reason { return reason }
        return exitCode == 0 ? "Completed" : "Error"
    }
}

/// Every instance the runtime still has for one pod, newest last per container, plus whether the
/// pod's sandbox (network namespace) exists. This is `kubecontainer.PodStatus`.
public struct PodRuntimeStatus: Sendable, Hashable, Codable {
    public var sandboxReady: Bool
    /// How many sandboxes this pod has had (0 before the first one).
    public var sandboxAttempt: Int
    public var podIP: String?
    /// Instances of each container, oldest first.
    public var instances: [String: [ContainerRecord]]

    public init(sandboxReady: Bool = false, sandboxAttempt: Int = 0, podIP: String? = nil, instances: [String: [ContainerRecord]] = [:]) {
        self.sandboxReady = sandboxReady
        self.sandboxAttempt = sandboxAttempt
        self.podIP = podIP
        self.instances = instances
    }

    /// The newest instance of a container (`FindContainerStatusByName`).
    public func latest(_ name: String) -> ContainerRecord? { instances[name]?.last }

    /// The instance before the newest one, for `lastState`.
    public func previous(_ name: String) -> ContainerRecord? {
        guard let list = instances[name], list.count >= 2 else { return nil }
        return list[list.count - 2]
    }

    public var hasAnyContainers: Bool { instances.values.contains { !$0.isEmpty } }

    /// `HasAnyActiveRegularContainerStarted` (1.33): whether one of `names` has an instance in
    /// the current sandbox. A pod whose sandbox was re-created is not initialized until one has.
    public func hasInstanceInCurrentSandbox(of names: [String]) -> Bool {
        names.contains { name in latest(name).map { $0.sandbox == nil || $0.sandbox == sandboxAttempt } ?? false }
    }

    /// `purgeInitContainers`: a new sandbox runs the init containers again from the first, so
    /// the instances of the old one must not count as progress.
    public mutating func purge(_ names: [String]) {
        for name in names { instances[name] = nil }
    }

    public var running: [ContainerRecord] {
        instances.values.compactMap { $0.last }.filter { $0.state == .running }
    }

    public mutating func append(_ record: ContainerRecord) {
        instances[record.name, default: []].append(record)
        // Keep what the status needs (current and previous) — the kubelet's GC keeps a few as well.
        if instances[record.name]!.count > 2 { instances[record.name]!.removeFirst() }
    }

    public mutating func update(_ record: ContainerRecord) {
        guard var list = instances[record.name], let i = list.lastIndex(where: { $0.id == record.id }) else { return }
        list[i] = record
        instances[record.name] = list
    }
}

/// A probe's effective result (`proberesults.Result`).
public enum ProbeResult: String, Sendable, Hashable {
    case unknown, success, failure
}

public enum ProbeType: String, Sendable, Hashable, CaseIterable {
    case startup, readiness, liveness

    /// The kill reason reported when this probe's failure kills a container.
    public var killReason: String {
        switch self {
        case .liveness: return "LivenessProbe"
        case .startup: return "StartupProbe"
        case .readiness: return ""
        }
    }
}

/// Probe results of container instances, keyed by instance ID, as the kubelet's results managers
/// keep them. A missing entry means "no result yet" (`found == false`).
public struct ProbeResults: Sendable, Hashable {
    public var results: [String: [ProbeType: ProbeResult]] = [:]

    public init() {}

    public func get(_ type: ProbeType, _ containerID: String) -> ProbeResult? { results[containerID]?[type] }

    public mutating func set(_ type: ProbeType, _ containerID: String, _ result: ProbeResult) {
        results[containerID, default: [:]][type] = result
    }

    public mutating func remove(_ containerID: String) { results[containerID] = nil }
}
