import KubeAPI

/// A container to kill and why (`containerToKillInfo`).
public struct ContainerKill: Sendable, Hashable {
    public var name: String
    public var containerID: String
    /// `LivenessProbe`, `StartupProbe`, `Unknown`, or empty for a definition change.
    public var reason: String
    public var message: String
    /// Which probe caused the kill: its `terminationGracePeriodSeconds` then applies.
    public var probe: ProbeType?
}

/// What one sync must do: the kubelet's `podActions`.
public struct PodActions: Sendable, Hashable {
    public var killPod = false
    public var createSandbox = false
    /// Indexes into `spec.initContainers`, in spec order.
    public var initContainersToStart: [Int] = []
    /// Indexes into `spec.containers`, in spec order.
    public var containersToStart: [Int] = []
    /// Indexes into `spec.ephemeralContainers`, in spec order.
    public var ephemeralContainersToStart: [Int] = []
    public var containersToKill: [ContainerKill] = []

    public init() {}
}

/// The kubelet's sync decisions (`kuberuntime_manager.go` `computePodActions` and
/// `kuberuntime_container.go` `computeInitContainerActions`), as one pure function of the pod spec,
/// the runtime's records and the probe results. Every sidecar rule of `kubelet-rules.md` A and B
/// lives here and only here.
public enum PodLifecycle {
    /// `computePodActions`.
    public static func computePodActions(spec: PodSpec, status: PodRuntimeStatus, probes: ProbeResults) -> PodActions {
        var changes = PodActions()
        let restartPolicy = spec.restartPolicy ?? "Always"

        // PodSandboxChanged: no sandbox yet (first start) or it was lost (all processes gone).
        if !status.sandboxReady {
            changes.killPod = true
            changes.createSandbox = true
            if restartPolicy == "Never" && status.sandboxAttempt != 0 && status.hasAnyContainers {
                // A pod that must not restart does not get a second sandbox.
                changes.createSandbox = false
                return changes
            }
            if !(spec.initContainers ?? []).isEmpty {
                changes.initContainersToStart = [0]
                return changes
            }
            for (i, c) in spec.containers.enumerated() {
                if restartPolicy == "OnFailure", let s = status.latest(c.name), s.state == .exited, s.exitCode == 0 { continue }
                changes.containersToStart.append(i)
            }
            return changes
        }

        // Ephemeral containers may start even before initialization completes, and are never
        // restarted: one with an instance, running or exited with any code, stays as it is.
        for (i, e) in (spec.ephemeralContainers ?? []).enumerated() where status.latest(e.name) == nil {
            changes.ephemeralContainersToStart.append(i)
        }

        let initialized = computeInitContainerActions(spec: spec, status: status, probes: probes, changes: &changes)
        if changes.killPod || !initialized { return changes }

        var keepCount = 0
        for (idx, container) in spec.containers.enumerated() {
            guard let s = status.latest(container.name), s.state == .running else {
                if shouldContainerBeRestarted(container, spec: spec, status: status, deleting: false) {
                    changes.containersToStart.append(idx)
                    if let s = status.latest(container.name), s.state == .unknown {
                        changes.containersToKill.append(ContainerKill(name: container.name, containerID: s.id, reason: "Unknown",
                                                                      message: "Container is in \"unknown\" state, try killing it before restart"))
                    }
                }
                continue
            }
            var restart = restartPolicy != "Never"
            var kill: ContainerKill
            if s.image != (container.image ?? "") {
                kill = ContainerKill(name: container.name, containerID: s.id, reason: "", message: "Container \(container.name) definition changed")
                restart = true
            } else if probes.get(.liveness, s.id) == .failure {
                kill = ContainerKill(name: container.name, containerID: s.id, reason: "LivenessProbe", message: "Container \(container.name) failed liveness probe", probe: .liveness)
            } else if probes.get(.startup, s.id) == .failure {
                kill = ContainerKill(name: container.name, containerID: s.id, reason: "StartupProbe", message: "Container \(container.name) failed startup probe", probe: .startup)
            } else {
                keepCount += 1
                continue
            }
            if restart {
                kill.message += ", will be restarted"
                changes.containersToStart.append(idx)
            }
            changes.containersToKill.append(kill)
        }

        if keepCount == 0 && changes.containersToStart.isEmpty {
            changes.killPod = true
            // Sidecars must not keep a finished pod alive, and a finished pod starts no ephemeral
            // container (the kubelet's pod worker terminates it before `SyncPod` could).
            changes.initContainersToStart = []
            changes.ephemeralContainersToStart = []
        }
        return changes
    }

    /// `computeInitContainerActions`: returns whether the pod has initialized. Progress is judged
    /// from the *last* init container that has a record, so a finished init container whose record
    /// vanished is never run again.
    static func computeInitContainerActions(spec: PodSpec, status: PodRuntimeStatus, probes: ProbeResults, changes: inout PodActions) -> Bool {
        let inits = spec.initContainers ?? []
        if inits.isEmpty { return true }
        var podHasInitialized = spec.containers.contains { c in
            guard let s = status.latest(c.name) else { return false }
            return s.state == .created || s.state == .running
        }
        var isPreviouslyInitialized = podHasInitialized
        let restartOnFailure = (spec.restartPolicy ?? "Always") != "Never"
        var toStart: [Int] = []

        for i in stride(from: inits.count - 1, through: 0, by: -1) {
            let container = inits[i]
            guard let s = status.latest(container.name) else {
                if isPreviouslyInitialized && container.isSidecar { toStart.append(i) }
                continue
            }
            if isPreviouslyInitialized && !container.isSidecar { continue }

            switch s.state {
            case .created:
                toStart.append(i)
            case .running:
                guard container.isSidecar else { break }
                if container.startupProbe != nil {
                    guard let startup = probes.get(.startup, s.id) else { break }
                    if startup != .success {
                        if startup == .failure {
                            changes.containersToKill.append(ContainerKill(name: container.name, containerID: s.id, reason: "StartupProbe",
                                                                          message: "Init container \(container.name) failed startup probe", probe: .startup))
                            toStart.append(i)
                        }
                        break
                    }
                }
                if i == inits.count - 1 {
                    podHasInitialized = true
                } else if !isPreviouslyInitialized {
                    toStart.append(i + 1)
                }
                if s.image != (container.image ?? "") {
                    changes.containersToKill.append(ContainerKill(name: container.name, containerID: s.id, reason: "",
                                                                  message: "Init container \(container.name) definition changed"))
                    toStart.append(i)
                    break
                }
                if container.livenessProbe != nil {
                    guard let liveness = probes.get(.liveness, s.id) else { break }
                    if liveness == .failure {
                        changes.containersToKill.append(ContainerKill(name: container.name, containerID: s.id, reason: "LivenessProbe",
                                                                      message: "Init container \(container.name) failed liveness probe", probe: .liveness))
                        toStart.append(i)
                    }
                }
            case .exited:
                if container.isSidecar {
                    toStart.append(i)
                } else if isInitContainerFailed(s) {
                    if !restartOnFailure {
                        changes.killPod = true
                        changes.initContainersToStart = []
                        return false
                    }
                    toStart.append(i)
                } else if i == inits.count - 1 {
                    podHasInitialized = true
                } else {
                    toStart.append(i + 1)
                }
            case .unknown:
                if container.isSidecar {
                    changes.containersToKill.append(ContainerKill(name: container.name, containerID: s.id, reason: "Unknown",
                                                                  message: "Init container is in \"unknown\" state, try killing it before restart"))
                    toStart.append(i)
                } else {
                    if !restartOnFailure {
                        changes.killPod = true
                        changes.initContainersToStart = []
                        return false
                    }
                    changes.containersToKill.append(ContainerKill(name: container.name, containerID: s.id, reason: "Unknown",
                                                                  message: "Init container is in \"unknown\" state, try killing it before restart"))
                    toStart.append(i)
                }
            }
            isPreviouslyInitialized = true
        }
        if !isPreviouslyInitialized { toStart.append(0) }
        changes.initContainersToStart = toStart.reversed()
        return podHasInitialized
    }

    /// `isInitContainerFailed`.
    public static func isInitContainerFailed(_ s: ContainerRecord) -> Bool {
        if s.state == .exited && (s.exitCode ?? 0) != 0 { return true }
        if s.state == .unknown { return true }
        return s.reason == "OOMKilled"
    }

    /// `ShouldContainerBeRestarted` for a container that is not running.
    public static func shouldContainerBeRestarted(_ container: Container, spec: PodSpec, status: PodRuntimeStatus, deleting: Bool) -> Bool {
        if deleting { return false }
        guard let s = status.latest(container.name) else { return true }
        switch s.state {
        case .running: return false
        case .unknown, .created: return true
        case .exited: break
        }
        switch spec.restartPolicy ?? "Always" {
        case "Never": return false
        case "OnFailure": return s.exitCode != 0
        default: return true
        }
    }
}
