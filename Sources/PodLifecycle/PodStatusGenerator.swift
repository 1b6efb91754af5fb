import Foundation
import KubeAPI

/// A start failure remembered for the status (`reasonCache`): `CrashLoopBackOff`,
/// `PostStartHookError`, `ErrImagePull`, `CreateContainerConfigError`, `RunContainerError`.
public struct StartFailure: Sendable, Hashable {
    public var reason: String
    public var message: String
    public init(reason: String, message: String) {
        self.reason = reason
        self.message = message
    }
}

/// Everything the kubelet consults to write a pod's status, besides the runtime records.
public struct StatusInputs: Sendable {
    public var runtime: PodRuntimeStatus
    public var probes: ProbeResults
    /// Containers that have a probe worker of each type (a worker with no result yet means "not yet").
    public var reasonCache: [String: StartFailure]
    /// The pod is being terminated (deleted, or stopped by `tandem run`): nothing restarts.
    public var deleting: Bool
    /// The pod worker finished with the pod (`TerminatePod`): the phase is forced terminal.
    public var terminated: Bool
    /// Set when the kubelet itself fails the pod (`DeadlineExceeded`): the phase is Failed and
    /// kubectl's STATUS column shows the reason.
    public var failure: StartFailure?
    public var previous: PodStatus?
    public var now: Date
    public var hostIP: String

    public init(runtime: PodRuntimeStatus, probes: ProbeResults = .init(), reasonCache: [String: StartFailure] = [:], deleting: Bool = false,
                terminated: Bool = false, previous: PodStatus? = nil, now: Date, hostIP: String = "127.0.0.1") {
        self.runtime = runtime
        self.probes = probes
        self.reasonCache = reasonCache
        self.deleting = deleting
        self.terminated = terminated
        self.previous = previous
        self.now = now
        self.hostIP = hostIP
    }
}

/// `generateAPIPodStatus`: container statuses, phase and conditions, derived from the records on
/// every sync — never patched by hand.
public enum PodStatusGenerator {
    public static func generate(pod: Pod, _ input: StatusInputs) -> PodStatus {
        let spec = pod.spec
        var status = PodStatus()
        let hasInits = !(spec.initContainers ?? []).isEmpty
        status.initContainerStatuses = hasInits ? containerStatuses(spec.initContainers ?? [], pod: pod, input, isInit: true) : nil
        status.containerStatuses = containerStatuses(spec.containers, pod: pod, input, isInit: false).sorted { $0.name < $1.name }
        if let ephemeral = spec.ephemeralContainers, !ephemeral.isEmpty {
            status.ephemeralContainerStatuses = ephemeralContainerStatuses(ephemeral, input)
        }

        var phase = getPhase(spec: spec, initStatuses: status.initContainerStatuses ?? [], statuses: status.containerStatuses ?? [],
                             runtime: input.runtime, podIsTerminal: input.terminated)
        // A terminal phase is sticky.
        if let old = input.previous?.phase, old == "Succeeded" || old == "Failed" { phase = old }
        if input.terminated {
            terminatePod(&status, spec: spec)
            if phase != "Succeeded" && phase != "Failed" { phase = "Failed" }
        }
        if let failure = input.failure {
            phase = "Failed"
            status.reason = failure.reason
            status.message = failure.message
        }
        status.phase = phase
        status.hostIP = input.hostIP
        status.hostIPs = [PodIP(ip: input.hostIP)]
        if let ip = input.runtime.podIP {
            status.podIP = ip
            status.podIPs = [PodIP(ip: ip)]
        }
        status.startTime = input.previous?.startTime ?? Timestamp.string(input.now)
        status.qosClass = qosClass(spec)
        status.conditions = conditions(pod: pod, status: status, phase: phase, input)
        return status
    }

    // MARK: container statuses

    static func containerStatuses(_ containers: [Container], pod: Pod, _ input: StatusInputs, isInit: Bool) -> [ContainerStatus] {
        let spec = pod.spec
        let defaultReason = (spec.initContainers ?? []).isEmpty ? "ContainerCreating" : "PodInitializing"
        return containers.map { c in
            var st = ContainerStatus(name: c.name, state: ContainerState(waiting: .init(reason: defaultReason)), ready: false,
                                     restartCount: 0, image: c.image ?? "", imageID: "", started: false)
            if input.runtime.latest(c.name) == nil,
               let old = ((isInit ? input.previous?.initContainerStatuses : input.previous?.containerStatuses) ?? []).first(where: { $0.name == c.name }) {
                // No instance (purged with the old sandbox): the last reported status stands if it was
                // terminated; otherwise its restart count and last state carry over
                // (`convertToAPIContainerStatuses`).
                if old.state.terminated != nil {
                    st = old
                } else {
                    st.restartCount = old.restartCount
                    st.lastState = old.lastState
                }
            }
            if let r = input.runtime.latest(c.name) {
                describe(r, in: &st)
                st.restartCount = r.restartCount
                if let p = input.runtime.previous(c.name) { st.lastState = state(of: p, forceTerminated: true) }
                let running = r.state == .running
                let started = running && (c.startupProbe == nil || input.probes.get(.startup, r.id) == .success)
                st.started = started
                if isInit && !c.isSidecar {
                    st.ready = r.state == .exited && r.exitCode == 0
                } else if started {
                    st.ready = c.readinessProbe == nil || input.probes.get(.readiness, r.id) == .success
                }
            }
            // A container that will be started again shows why it is waiting (reasonCache), as
            // `convertToAPIContainerStatuses` decides it: never an init container whose last
            // instance exited 0, sidecars included, and only by `ShouldContainerBeRestarted`, which
            // knows nothing of sidecars. So an exited sidecar in back-off shows its termination
            // under `Never` (kubectl: `Init:Error`), or after exit 0, though it is restarted.
            let latest = input.runtime.latest(c.name)
            let exitedCleanly = isInit && latest?.state == .exited && latest?.exitCode == 0
            if !exitedCleanly, PodLifecycle.shouldContainerBeRestarted(c, spec: spec, status: input.runtime, deleting: input.deleting),
               let failure = input.reasonCache[c.name] {
                if st.state.terminated != nil { st.lastState = st.state }
                st.state = ContainerState(waiting: .init(reason: failure.reason, message: failure.message))
            }
            return st
        }
    }

    /// The ephemeral containers' statuses (`convertToAPIContainerStatuses` with their specs as
    /// containers, called as for init containers): `ContainerCreating` until the one instance
    /// starts, or the reason its start failed (it is tried again, since it has no instance);
    /// never ready, no `started`, as the prober does not look at them.
    static func ephemeralContainerStatuses(_ ephemeral: [EphemeralContainer], _ input: StatusInputs) -> [ContainerStatus] {
        ephemeral.map { e in
            var st = ContainerStatus(name: e.name, state: ContainerState(waiting: .init(reason: "ContainerCreating")), ready: false,
                                     restartCount: 0, image: e.container.image ?? "")
            if let r = input.runtime.latest(e.name) {
                describe(r, in: &st)
            } else if let failure = input.reasonCache[e.name] {
                st.state = ContainerState(waiting: .init(reason: failure.reason, message: failure.message))
            }
            return st
        }
    }

    /// What a status takes from its container's latest instance: state, ID and image.
    private static func describe(_ r: ContainerRecord, in st: inout ContainerStatus) {
        st.state = state(of: r)
        st.containerID = "tandem://\(r.id)"
        st.image = r.image
    }

    static func state(of r: ContainerRecord, forceTerminated: Bool = false) -> ContainerState {
        switch r.state {
        case .running where !forceTerminated:
            return ContainerState(running: .init(startedAt: r.startedAt.map(Timestamp.string)))
        case .created where !forceTerminated:
            return ContainerState(waiting: .init(reason: nil))
        case .unknown:
            return ContainerState(terminated: .init(exitCode: 137, reason: "ContainerStatusUnknown",
                                                    message: "The container could not be located when the pod was terminated",
                                                    startedAt: r.startedAt.map(Timestamp.string), finishedAt: r.finishedAt.map(Timestamp.string),
                                                    containerID: "tandem://\(r.id)"))
        default:
            return ContainerState(terminated: .init(exitCode: r.exitCode ?? 0, reason: r.terminatedReason, message: r.message,
                                                    startedAt: r.startedAt.map(Timestamp.string), finishedAt: r.finishedAt.map(Timestamp.string),
                                                    containerID: "tandem://\(r.id)"))
        }
    }

    /// `TerminatePod`: once a pod has initialized, a container without a terminated state is
    /// reported as lost; so is every init container that had attempted to start.
    /// `TerminatePod` (status_manager.go): once the pod initialized, a regular container with no
    /// termination (it never started, or nothing was seen of its end) ends `ContainerStatusUnknown`
    /// with 137, so no absent status reads as success; so do the init containers that attempted
    /// to start (`initializedContainers`).
    static func terminatePod(_ status: inout PodStatus, spec: PodSpec) {
        let unknown = ContainerState(terminated: .init(exitCode: 137, reason: "ContainerStatusUnknown",
                                                       message: "The container could not be located when the pod was terminated",
                                                       startedAt: nil, finishedAt: nil))
        if hasPodInitialized(status, spec: spec) {
            for i in (status.containerStatuses ?? []).indices where status.containerStatuses![i].state.terminated == nil {
                status.containerStatuses![i].state = unknown
                status.containerStatuses![i].ready = false
                status.containerStatuses![i].started = false
            }
        }
        if var inits = status.initContainerStatuses {
            // All but the final suffix of init containers with no evidence of a start, and at
            // least the first.
            let attempted = inits.lastIndex { $0.state.waiting == nil || $0.lastState.terminated != nil } ?? 0
            for i in inits.indices where i <= attempted && inits[i].state.terminated == nil {
                inits[i].state = unknown
                inits[i].ready = false
                inits[i].started = false
            }
            status.initContainerStatuses = inits
        }
    }

    /// `hasPodInitialized`: without init containers always; otherwise once a regular container
    /// left waiting (or ever terminated), or the last init container completed with 0 (a last
    /// sidecar: runs and started).
    static func hasPodInitialized(_ status: PodStatus, spec: PodSpec) -> Bool {
        let initContainers = spec.initContainers ?? []
        if initContainers.isEmpty { return true }
        if (status.containerStatuses ?? []).contains(where: { $0.lastState.terminated != nil || $0.state.waiting == nil }) { return true }
        guard let inits = status.initContainerStatuses, let last = inits.last, inits.count <= initContainers.count,
              initContainers[inits.count - 1].name == last.name else { return false }
        if initContainers[inits.count - 1].isSidecar { return last.state.running != nil && last.started == true }
        return last.lastState.terminated?.exitCode == 0 || last.state.terminated?.exitCode == 0
    }

    // MARK: phase

    /// `getPhase`.
    public static func getPhase(spec: PodSpec, initStatuses: [ContainerStatus], statuses: [ContainerStatus], runtime: PodRuntimeStatus, podIsTerminal: Bool) -> String {
        var pendingInitialization = 0, failedInitialization = 0
        var unknown = 0, running = 0, waiting = 0, stopped = 0, succeeded = 0
        for c in spec.initContainers ?? [] {
            guard let s = initStatuses.first(where: { $0.name == c.name }) else {
                if c.isSidecar { unknown += 1 } else { pendingInitialization += 1 }
                continue
            }
            if c.isSidecar {
                if s.state.running != nil {
                    running += 1
                    if s.started != true { pendingInitialization += 1 }
                } else if s.state.terminated != nil {
                    // A sidecar's exit never decides the phase.
                } else if s.state.waiting != nil && s.lastState.terminated == nil {
                    waiting += 1
                }
                continue
            }
            if s.state.running != nil {
                pendingInitialization += 1
            } else if let t = s.state.terminated {
                if t.exitCode != 0 { failedInitialization += 1 }
            } else if s.state.waiting != nil {
                if let t = s.lastState.terminated, t.exitCode != 0 { failedInitialization += 1 } else if s.lastState.terminated == nil { pendingInitialization += 1 }
            } else {
                pendingInitialization += 1
            }
        }
        for c in spec.containers {
            guard let s = statuses.first(where: { $0.name == c.name }) else { unknown += 1; continue }
            if s.state.running != nil {
                running += 1
            } else if let t = s.state.terminated {
                stopped += 1
                if t.exitCode == 0 { succeeded += 1 }
            } else if s.state.waiting != nil {
                if s.lastState.terminated != nil { stopped += 1 } else { waiting += 1 }
            } else {
                unknown += 1
            }
        }
        let policy = spec.restartPolicy ?? "Always"
        if failedInitialization > 0 && policy == "Never" { return "Failed" }
        // HasAnyActiveRegularContainerStarted: a regular container of the current sandbox exists.
        let initialized = runtime.sandboxReady && runtime.hasInstanceInCurrentSandbox(of: spec.containers.map(\.name))
        if (pendingInitialization > 0 && !initialized) || waiting > 0 { return "Pending" }
        if running > 0 && unknown == 0 { return "Running" }
        if running == 0 && stopped > 0 && unknown == 0 {
            if podIsTerminal { return stopped == succeeded ? "Succeeded" : "Failed" }
            if policy == "Always" { return "Running" }
            if stopped == succeeded { return "Succeeded" }
            return policy == "Never" ? "Failed" : "Running"
        }
        return "Pending"
    }

    // MARK: conditions

    static func conditions(pod: Pod, status: PodStatus, phase: String, _ input: StatusInputs) -> [Condition] {
        let spec = pod.spec
        let inits = status.initContainerStatuses ?? []
        let regular = status.containerStatuses ?? []
        var result: [Condition] = []

        // PodReadyToStartContainers: the sandbox exists.
        result.append(condition("PodReadyToStartContainers", input.runtime.sandboxReady && !input.terminated))

        // Initialized.
        var unknownInit: [String] = [], incomplete: [String] = []
        for c in spec.initContainers ?? [] {
            guard let s = inits.first(where: { $0.name == c.name }) else { unknownInit.append(c.name); continue }
            let done = c.isSidecar ? s.started == true : (s.state.terminated?.exitCode == 0)
            if !done { incomplete.append(c.name) }
        }
        if phase == "Succeeded" && unknownInit.isEmpty {
            result.append(condition("Initialized", true, reason: "PodCompleted"))
        } else if regular.contains(where: { $0.state.running != nil || $0.state.terminated != nil }) {
            result.append(condition("Initialized", true))
        } else {
            var messages: [String] = []
            if !unknownInit.isEmpty { messages.append("containers with unknown status: [\(unknownInit.joined(separator: " "))]") }
            if !incomplete.isEmpty { messages.append("containers with incomplete status: [\(incomplete.joined(separator: " "))]") }
            result.append(messages.isEmpty ? condition("Initialized", true)
                                           : condition("Initialized", false, reason: "ContainersNotInitialized", message: messages.joined(separator: ", ")))
        }

        // ContainersReady, then Ready, which copies it (and adds readiness gates).
        var unready: [String] = []
        for c in (spec.initContainers ?? []).filter(\.isSidecar) {
            if inits.first(where: { $0.name == c.name })?.ready != true { unready.append(c.name) }
        }
        for c in spec.containers where regular.first(where: { $0.name == c.name })?.ready != true { unready.append(c.name) }
        let containersReady: Condition
        if phase == "Succeeded" {
            containersReady = condition("ContainersReady", false, reason: "PodCompleted")
        } else if phase == "Failed" {
            containersReady = condition("ContainersReady", false, reason: "PodFailed")
        } else if !unready.isEmpty {
            containersReady = condition("ContainersReady", false, reason: "ContainersNotReady", message: "containers with unready status: [\(unready.joined(separator: " "))]")
        } else {
            containersReady = condition("ContainersReady", true)
        }
        var ready = containersReady
        ready.type = "Ready"
        // `GeneratePodReadyCondition`: one sentence per gate without its condition (no one sets a
        // gate's condition here), joined with ", ".
        if containersReady.status == "True", let gates = spec.readinessGates, !gates.isEmpty {
            ready = condition("Ready", false, reason: "ReadinessGatesNotReady",
                              message: gates.map { "corresponding condition of pod readiness gate \"\($0.conditionType)\" does not exist." }
                                  .joined(separator: ", "))
        }
        result.append(ready)
        result.append(containersReady)
        result.append(condition("PodScheduled", true))

        // lastTransitionTime only moves when the status flips.
        let now = Timestamp.string(input.now)
        return result.map { c in
            var c = c
            if let old = input.previous?.conditions?.first(where: { $0.type == c.type }), old.status == c.status {
                c.lastTransitionTime = old.lastTransitionTime
            } else {
                c.lastTransitionTime = now
            }
            return c
        }
    }

    private static func condition(_ type: String, _ ok: Bool, reason: String? = nil, message: String? = nil) -> Condition {
        Condition(type: type, status: ok ? "True" : "False", reason: reason, message: message)
    }

    /// The status the scheduler leaves on a pod it cannot place: `Pending`, `PodScheduled` false
    /// with reason `Unschedulable` and the scheduler's message, no container statuses yet.
    public static func unschedulable(_ spec: PodSpec, message: String) -> PodStatus {
        var status = PodStatus()
        status.phase = "Pending"
        status.conditions = [condition("PodScheduled", false, reason: "Unschedulable", message: message)]
        status.qosClass = qosClass(spec)
        return status
    }

    /// `GetPodQOS` (pkg/apis/core/v1/helper/qos), as the API server sets `status.qosClass` at
    /// creation: only CPU and memory count, and only non-zero quantities. BestEffort without any;
    /// Guaranteed when every container limits both and every request equals its limit; Burstable
    /// otherwise. The node's cgroup layout (`kubepods/burstable/pod<uid>`) follows the same answer.
    public static func qosClass(_ spec: PodSpec) -> String {
        var requests: [String: Double] = [:], limits: [String: Double] = [:]
        var guaranteed = true
        for c in (spec.initContainers ?? []) + spec.containers {
            var found = 0
            for name in ["cpu", "memory"] {
                if let v = c.resources?.requests?[name]?.value, v > 0 { requests[name, default: 0] += v }
                if let v = c.resources?.limits?[name]?.value, v > 0 {
                    limits[name, default: 0] += v
                    found += 1
                }
            }
            if found < 2 { guaranteed = false }
        }
        if requests.isEmpty && limits.isEmpty { return "BestEffort" }
        if guaranteed {
            for (name, r) in requests where limits[name] != r { guaranteed = false }
        }
        return guaranteed && requests.count == limits.count ? "Guaranteed" : "Burstable"
    }
}
