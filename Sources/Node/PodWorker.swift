import Cgroups
import ContainerRuntime
import Foundation
import KubeAPI
import PodLifecycle
import Synchronization

/// The kubelet's per-pod worker: one actor per pod that repeatedly asks `PodLifecycle` what to do
/// and does it (`SyncPod`), then, once the pod is finished or deleted, terminates it
/// (`SyncTerminatingPod`) and releases its sandbox and volumes (`SyncTerminatedPod`).
///
/// Syncs are triggered by events only — a container exit, a probe verdict, a back-off expiry, a
/// deletion — never by polling. One sync runs at a time; events that arrive meanwhile coalesce into
/// one more sync.
public actor PodWorker {
    public private(set) var pod: Pod
    private let ctx: NodeContext
    private var sources: VolumeSources
    private let onChange: @Sendable (Pod) -> Void

    private var runtimeStatus = PodRuntimeStatus()
    private var processes: [String: ContainerProcess] = [:]
    /// Containers created ahead of their turn (`createAhead`), by name.
    private var createdAhead: [String: CreatedAhead] = [:]
    /// Containers whose turn came in this sandbox: never created ahead again, even while their
    /// start is still under way.
    private var turnTaken: Set<String> = []
    /// Each running container's state dir (image files, shim record) and log, by container ID.
    private var containerStateDirs: [String: String] = [:]
    private var containerLogs: [String: String] = [:]
    /// Where exec'd commands start (the container's `workingDir` or the image's).
    private var containerWorkingDirs: [String: String] = [:]
    private var containerEnv: [String: [String]] = [:]
    private var probes = ProbeResults()
    /// One prober worker per container instance and probe type.
    private var probeTasks: [ProbeKey: Task<Void, Never>] = [:]
    private struct ProbeKey: Hashable {
        var id: String
        var type: ProbeType
    }
    private var backoff = RestartBackoff()
    private var reasonCache: [String: StartFailure] = [:]
    private var deleting = false
    /// `DeadlineExceeded` once `activeDeadlineSeconds` has passed (`pastActiveDeadline`).
    private var failure: StartFailure?
    private var deletionGrace: Int64?
    private var terminationTask: Task<Void, Never>?
    private var sandbox: PodSandboxNetwork?
    /// The sandbox's process and what containers join (the pause container's part).
    private var podSandbox: (process: ContainerProcess, sandbox: PodSandbox)?
    private var sandboxStateDir: String?
    private var volumeManager: VolumeManager?
    private var volumes: [String: MountedVolume] = [:]
    /// The scheduler's `FailedScheduling` message while the pod does not fit the node; nil once bound.
    private var unschedulable: String?
    private var bound = false
    /// The pod's cgroup and each running container's, by container ID (`kubepods/…/pod<uid>/<id>`).
    private var podCgroup: PodCgroupLease?
    private var containerCgroups: [String: CgroupName] = [:]
    private var sandboxCgroup: CgroupName?
    private var timers: [Task<Void, Never>] = []
    /// Removal of exited containers' writable layers, done off the actor so the next container
    /// does not wait for it; one chain (so a crash loop adds no tasks), awaited before the pod
    /// counts as terminated.
    private var layerRemoval: Task<Void, Never>?
    private let statusFile: StatusFileWriter
    /// What `checkpoint.json` (see `PodCheckpoint`) holds; written only on a persistent runtime.
    private var checkpointData: Data?
    /// Set once `adoptCheckpoint` took the pod over from a previous Tandem.
    private var adopted = false
    private var done = false

    private let wakeStream: AsyncStream<Void>
    private let wakeContinuation: AsyncStream<Void>.Continuation

    public init(pod: Pod, context: NodeContext, sources: VolumeSources, onChange: @escaping @Sendable (Pod) -> Void = { _ in }) {
        self.pod = pod
        self.ctx = context
        self.sources = sources
        self.onChange = onChange
        statusFile = StatusFileWriter(path: context.podDirectory(pod) + "/pod.json")
        (wakeStream, wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Runs the pod until it has finished (Succeeded or Failed) or was deleted and every container
    /// is gone; returns the final object with its status.
    public func run() async -> Pod {
        if !adopted {
            // The pod as the API server admitted it, before the kubelet wrote any status: `Pending`.
            var admitted = pod
            admitted.status = PodStatus()
            admitted.status?.phase = "Pending"
            ctx.timeline.podChanged(admitted)
        }
        publish()
        if let deadline = pod.spec.activeDeadlineSeconds {
            schedule(at: Date().addingTimeInterval(TimeInterval(deadline)))
        }
        wake()
        for await _ in wakeStream {
            if deleting { break }
            guard await bind() else { continue }
            await syncPod()
            publish()
            if isFinished || (failure != nil && runtimeStatus.running.isEmpty) { break }
        }
        await terminationTask?.value
        await syncTerminatedPod()
        return pod
    }

    /// Deletes the pod (`kubectl delete`, or Ctrl-C on `tandem run`): every container is stopped the
    /// way the kubelet does it, with `grace` (or the pod's `terminationGracePeriodSeconds`).
    public func terminate(gracePeriod: Int64? = nil) {
        let spec = pod.spec.terminationGracePeriodSeconds ?? 30
        let requested = max(1, gracePeriod ?? spec)
        // The grace can only shrink (`calculateEffectiveGracePeriod`).
        deletionGrace = min(deletionGrace ?? requested, requested)
        guard !deleting, !done else { return }
        deleting = true
        pod.metadata.deletionTimestamp = Timestamp.string(Date())
        pod.metadata.deletionGracePeriodSeconds = deletionGrace
        publish(metadataChanged: true)
        if terminationTask == nil { terminationTask = Task { await self.syncTerminatingPod() } }
        wake()
    }

    /// A spec update (`kubectl set image`, or an edited manifest under `tandem run --watch`).
    /// Only the fields the API server lets a Pod change take effect; the next sync restarts
    /// running containers whose image changed (the container hash covers name and image).
    public func update(spec: PodSpec) {
        guard !deleting, !done else { return }
        for (i, c) in spec.containers.enumerated() where i < pod.spec.containers.count { pod.spec.containers[i].image = c.image }
        for (i, c) in (spec.initContainers ?? []).enumerated() where i < (pod.spec.initContainers ?? []).count {
            pod.spec.initContainers![i].image = c.image
        }
        if let deadline = spec.activeDeadlineSeconds { pod.spec.activeDeadlineSeconds = deadline }
        // Ephemeral containers are only ever added (the API server refuses any other change);
        // the next sync starts the new ones.
        if let ephemeral = spec.ephemeralContainers { pod.spec.ephemeralContainers = ephemeral }
        publish()
        wake()
    }

    /// Newer ConfigMaps and Secrets (an edited manifest under `tandem run --watch`, an update
    /// through the API): the pod's configMap, secret and projected volumes are re-projected at
    /// once with `AtomicWriter`'s `..data` swap, which the kubelet does on its next periodic sync
    /// (up to a minute or two later). subPath mounts keep the file they bound, as in the kubelet;
    /// environment variables change only for containers started from now on.
    public func update(sources: VolumeSources) async {
        self.sources = sources
        guard !done, let volumeManager else { return }
        do {
            try await volumeManager.update(pod: pod, sources: sources)
        } catch {
            ctx.timeline.event(pod, "Warning", "FailedMount", "\(error)")
        }
    }

    private func wake() { wakeContinuation.yield() }

    // MARK: - Adoption (kubelet-rules KR-1)

    /// Before `run`, on a restarted `tandem serve`: takes the pod over from the checkpoint the
    /// previous Tandem left (`PodCheckpoint`), as a restarted kubelet finds its pods' containers
    /// still running in the CRI runtime. Containers still running are adopted — their output is
    /// read on, their exits reported, their probes resumed — so nothing that completed runs again
    /// and nothing running restarts; restart counts, `started` and `ready` stay as they were
    /// (containers that were ready and started over 10 s ago stay ready, as the kubelet's prober
    /// treats them). A container whose shim is gone counts as exited (`ContainerStatusUnknown`,
    /// 137) and its restart policy decides. Without its `pause` process the pod lost its sandbox
    /// meanwhile, and the first sync re-creates it and runs the init containers again (KR-2), as
    /// after a node reboot. Returns false when there is no checkpoint.
    public func adoptCheckpoint() async -> Bool {
        guard ctx.runtime.persistent, !adopted, let checkpoint = PodCheckpoint.load(podDir: ctx.podDirectory(pod)) else { return false }
        adopted = true
        runtimeStatus = checkpoint.runtime
        try? ensurePodCgroup()
        let vm = VolumeManager(podDir: ctx.podDirectory(pod), pod: pod, sources: sources)
        volumes = (try? await vm.setUp()) ?? [:]
        volumeManager = vm
        if let network = checkpoint.network, await ctx.network.adopt(network, podUID: pod.uid) { sandbox = network }
        if let dir = checkpoint.sandboxStateDir,
           let found = ctx.runtime.adopt(id: "sandbox-\(pod.uid)", stateDir: dir, logPath: nil), let sb = found.sandbox,
           pod.spec.hostNetwork == true || sandbox != nil {
            sandboxStateDir = dir
            sandboxCgroup = checkpoint.sandboxCgroup
            watchSandbox((found.process, sb), attempt: runtimeStatus.sandboxAttempt)
        } else {
            if let dir = checkpoint.sandboxStateDir { ctx.runtime.discard(stateDir: dir) }
            ctx.timeline.note("\(pod.name): Normal SandboxChanged: Pod sandbox changed, it will be killed and re-created.")
            runtimeStatus.sandboxReady = false
        }
        let now = Date()
        let podWasReady = pod.status?.conditions?.first { $0.type == "Ready" }?.status != "False"
        let statuses = (pod.status?.initContainerStatuses ?? []) + (pod.status?.containerStatuses ?? [])
        for (id, c) in checkpoint.containers {
            guard let record = runtimeStatus.instances.values.compactMap({ $0.first { $0.id == id } }).first,
                  record.state == .running, let container = container(named: record.name),
                  let found = ctx.runtime.adopt(id: id, stateDir: c.stateDir, logPath: c.logPath) else {
                ctx.runtime.discard(stateDir: c.stateDir)
                ctx.runtime.removeState(stateDir: c.stateDir)
                if var record = runtimeStatus.instances.values.compactMap({ $0.first { $0.id == id } }).first, record.state == .running {
                    record.state = .exited
                    record.exitCode = 137
                    record.finishedAt = now
                    record.reason = "ContainerStatusUnknown"
                    record.message = "The container could not be located when the pod was adopted"
                    runtimeStatus.update(record)
                }
                continue
            }
            processes[id] = found.process
            containerStateDirs[id] = c.stateDir
            containerLogs[id] = c.logPath
            containerWorkingDirs[id] = c.workingDir
            containerEnv[id] = c.env
            if let cgroup = c.cgroup { containerCgroups[id] = cgroup }
            ctx.timeline.register(containerID: id, pod: pod.name, container: record.name)
            Task { [weak self] in
                let exit = await found.process.wait()
                await self?.containerExited(id: id, exit: exit)
            }
            let previous = statuses.first { $0.name == record.name }
            let wasReady = podWasReady && previous?.ready == true && now.timeIntervalSince(found.process.startedAt) > 10
            adoptProbes(container, id: id, started: previous?.started == true, ready: wasReady)
        }
        return true
    }

    /// Probes of an adopted container resume where they were: a startup probe that had passed is
    /// not run again, readiness keeps its last verdict until the next probe.
    private func adoptProbes(_ container: Container, id: String, started: Bool, ready: Bool) {
        guard container.startupProbe == nil || started else { return startProbes(for: container, id: id) }
        if container.startupProbe != nil { probes.set(.startup, id, .success) }
        if container.readinessProbe != nil { probes.set(.readiness, id, ready ? .success : .failure) }
        if container.livenessProbe != nil { probes.set(.liveness, id, .success) }
        startLivenessAndReadiness(container, id: id)
    }

    /// Writes `checkpoint.json` when what it holds changed — at once, on the worker: a container
    /// started but not yet in the checkpoint when Tandem is killed would be lost to the next one
    /// (it kills what no checkpoint names), so this must not lag behind.
    private func writeCheckpoint() {
        var containers: [String: PodCheckpoint.Container] = [:]
        for (id, dir) in containerStateDirs {
            containers[id] = .init(stateDir: dir, logPath: containerLogs[id] ?? "", env: containerEnv[id] ?? [],
                                   workingDir: containerWorkingDirs[id], cgroup: containerCgroups[id])
        }
        var bare = pod
        bare.status = nil
        let checkpoint = PodCheckpoint(pod: bare, runtime: runtimeStatus, network: sandbox, sandboxStateDir: sandboxStateDir,
                                       sandboxCgroup: sandboxCgroup, containers: containers)
        guard let data = try? JSONEncoder().encode(checkpoint), data != checkpointData,
              (try? Sys.replaceFile(PodCheckpoint.path(podDir: ctx.podDirectory(pod)), data, mode: 0o600)) != nil else { return }
        checkpointData = data
    }

    /// The scheduler's part, before the kubelet sees the pod: bound once its requests fit beside the
    /// other pods' (`NodeResourcesFit`), otherwise `Pending` with `PodScheduled: False`.
    private func bind() async -> Bool {
        if bound { return true }
        if let message = await ctx.resources.bind(pod, retry: { [weak self] in Task { await self?.wake() } }) {
            if unschedulable != message { ctx.timeline.event(pod, "Warning", "FailedScheduling", message, from: "default-scheduler") }
            unschedulable = message
            publish()
            return false
        }
        bound = true
        unschedulable = nil
        return true
    }

    private var isFinished: Bool {
        let phase = pod.status?.phase
        return (phase == "Succeeded" || phase == "Failed") && runtimeStatus.running.isEmpty
    }

    // MARK: - SyncPod

    private func syncPod() async {
        if pastActiveDeadline() { return }
        let actions = PodLifecycle.computePodActions(spec: pod.spec, status: runtimeStatus, probes: probes)
        if actions.killPod {
            await killPod(gracePeriodOverride: nil)
            if !actions.createSandbox { return }
            if runtimeStatus.sandboxAttempt > 0 {
                // PodSandboxChanged: everything of the old sandbox goes, the init containers start over.
                runtimeStatus.purge((pod.spec.initContainers ?? []).map(\.name))
                await stopSandbox()
            }
        } else {
            for kill in actions.containersToKill {
                await killContainer(id: kill.containerID, reason: kill.reason, message: kill.message, probe: kill.probe, gracePeriodOverride: nil, ordering: nil)
            }
        }
        if actions.createSandbox {
            guard await createSandbox() else { return }
            // Those starting now first; the rest on this actor once the first start waits for its exec.
            let now = actions.initContainersToStart.map { (pod.spec.initContainers ?? [])[$0].name }
                + actions.containersToStart.map { pod.spec.containers[$0].name }
            let all = (pod.spec.initContainers ?? []) + pod.spec.containers
            for c in all where now.contains(c.name) { createAhead(c) }
            let attempt = runtimeStatus.sandboxAttempt
            Task {
                for c in all where !now.contains(c.name) {
                    // One at a time, so that the starts under way (their exec reports, exits) are
                    // taken in between rather than after every creation.
                    await Task.yield()
                    guard self.runtimeStatus.sandboxAttempt == attempt else { return }
                    self.createAhead(c)
                }
            }
        }
        // `SyncPod` starts ephemeral containers before init containers, so that a pod stuck
        // initializing can be debugged.
        for i in actions.ephemeralContainersToStart {
            guard !deleting else { return }
            let e = pod.spec.ephemeralContainers![i]
            _ = await startContainer(e.container, target: e.targetContainerName)
        }
        let inits = pod.spec.initContainers ?? []
        for i in actions.initContainersToStart {
            guard !deleting else { return }
            let started = await startContainer(inits[i])
            if !started && !inits[i].isSidecar { return }
        }
        var previousStart: ContinuousClock.Instant?
        for i in actions.containersToStart {
            if let previousStart { try? await Task.sleep(until: previousStart + ctx.containerStartSpacing, clock: .continuous) }
            guard !deleting else { return }
            previousStart = .now
            _ = await startContainer(pod.spec.containers[i])
        }
    }

    /// `pastActiveDeadline`: a pod running longer than `activeDeadlineSeconds` (counted from its
    /// start time) is failed by the kubelet with reason `DeadlineExceeded` and its containers are
    /// stopped with the pod's grace period.
    private func pastActiveDeadline() -> Bool {
        guard failure == nil, let deadline = pod.spec.activeDeadlineSeconds,
              let start = pod.status?.startTime.flatMap(Timestamp.date),
              Date().timeIntervalSince(start) >= TimeInterval(deadline) else { return failure != nil }
        failure = StartFailure(reason: "DeadlineExceeded", message: "Pod was active on the node longer than the specified deadline")
        ctx.timeline.event(pod, "Normal", "DeadlineExceeded", "Pod was active on the node longer than the specified deadline")
        terminationTask = Task { await self.syncTerminatingPod() }
        publish()
        return true
    }

    /// Volumes first, then the network namespace (`SyncPod` step 4 after `WaitForAttachAndMount`).
    private func createSandbox() async -> Bool {
        do { try ensurePodCgroup() } catch { return failSandbox(reason: "FailedCreatePodSandBox", error) }
        // Before the volumes, which are made inside it.
        if volumeManager == nil { _ = ctx.podDirectories?.takePod(at: ctx.podDirectory(pod)) }
        // Volumes are the volume manager's (`WaitForAttachAndMount`), whose failures are `FailedMount`
        // events; no sandbox is made before they are all mounted.
        if volumeManager == nil {
            let vm = VolumeManager(podDir: ctx.podDirectory(pod), pod: pod, sources: sources)
            do {
                volumes = try await vm.setUp()
                volumeManager = vm
            } catch {
                return failSandbox(reason: "FailedMount", error)
            }
        }
        do {
            if pod.spec.hostNetwork == true {
                runtimeStatus.podIP = ctx.hostIP
            } else if sandbox == nil {
                let s = try await ctx.network.setUp(podUID: pod.uid, podName: pod.name, namespace: pod.namespace)
                sandbox = s
                runtimeStatus.podIP = s.ip
            }
            try writeEtcHosts()
            if podSandbox == nil {
                let hostname = pod.spec.hostNetwork == true ? nil : (pod.spec.hostname ?? pod.name)
                let stateDir = "\(ctx.containersDirectory)/\(Self.newID())"
                let started = try await ctx.runtime.startSandbox(id: pod.uid, hostname: hostname, shmDir: ctx.podDirectory(pod) + "/shm",
                                                                 sharePIDNamespace: pod.spec.shareProcessNamespace == true,
                                                                 hostPID: pod.spec.hostPID == true, hostIPC: pod.spec.hostIPC == true,
                                                                 isolation: try sandboxIsolation(), stateDir: stateDir)
                sandboxStateDir = stateDir
                watchSandbox(started, attempt: runtimeStatus.sandboxAttempt + 1)
            }
        } catch {
            return failSandbox(reason: "FailedCreatePodSandBox", error)
        }
        runtimeStatus.sandboxReady = true
        runtimeStatus.sandboxAttempt += 1
        return true
    }

    /// The pod waits in `ContainerCreating` with the error, and the next sync tries again.
    private func failSandbox(reason: String, _ error: any Error) -> Bool {
        ctx.timeline.event(pod, "Warning", reason, "\(error)")
        for c in (pod.spec.initContainers ?? []) + pod.spec.containers {
            reasonCache[c.name] = StartFailure(reason: "ContainerCreating", message: "\(error)")
        }
        schedule(at: Date().addingTimeInterval(10))
        return false
    }

    private func watchSandbox(_ started: (process: ContainerProcess, sandbox: PodSandbox), attempt: Int) {
        podSandbox = started
        Task { [weak self] in
            _ = await started.process.wait()
            await self?.sandboxDied(started.process, attempt: attempt)
        }
    }

    /// The sandbox's process is gone (killed from outside, say): as the kubelet does when PLEG
    /// finds the sandbox dead, the next sync kills the pod's containers and re-creates it all,
    /// init containers first (`kubelet-rules.md` KR-2).
    private func sandboxDied(_ process: ContainerProcess, attempt: Int) {
        // Not when Tandem itself stopped it (`stopSandbox` lets go of it first).
        guard podSandbox?.process === process, attempt == runtimeStatus.sandboxAttempt, !deleting, failure == nil, !done else { return }
        ctx.timeline.event(pod, "Normal", "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.")
        runtimeStatus.sandboxReady = false
        podSandbox = nil
        publish()
        wake()
    }

    /// StopPodSandbox: the sandbox's process and network namespace (the IP is released).
    private func stopSandbox() async {
        runtimeStatus.sandboxReady = false
        await discardCreatedAhead()
        if let (process, _) = podSandbox {
            podSandbox = nil
            process.signal(SIGKILL)
            _ = await process.wait()
        }
        if let dir = sandboxStateDir {
            ctx.runtime.removeState(stateDir: dir)
            sandboxStateDir = nil
        }
        if let sandboxCgroup {
            ctx.cgroups?.remove(sandboxCgroup)
            self.sandboxCgroup = nil
        }
        if let sandbox {
            await ctx.network.tearDown(sandbox, podUID: pod.uid)
            self.sandbox = nil
        }
        runtimeStatus.sandboxReady = false
    }

    private var qosClass: String { PodStatusGenerator.qosClass(pod.spec) }

    /// The pause process goes into a cgroup of its own below the pod's, as containerd puts the
    /// sandbox container there, with the kubelet's `PodInfraOOMAdj` (-998).
    private func sandboxIsolation() throws -> ProcessIsolation {
        var iso = ProcessIsolation()
        iso.oomScoreAdj = -998
        if let cgroups = ctx.cgroups, let podCgroup {
            let cgroup = podCgroup.name.child(Self.newID())
            try cgroups.create(cgroup, ResourceConfig())
            sandboxCgroup = cgroup
            iso.cgroupProcs = cgroups.procsFiles(cgroup)
        }
        return iso
    }

    /// The pod-level cgroup (`UpdateQOSCgroups` + `EnsureExists` in `SyncPod`), with the limits of
    /// `ResourceConfigForPod`.
    private func ensurePodCgroup() throws {
        guard let cgroups = ctx.cgroups, podCgroup == nil else { return }
        podCgroup = try cgroups.createPod(.pod(uid: pod.uid, qosClass: qosClass), ResourceMath.pod(pod.spec, qosClass: qosClass))
    }

    private var etcHostsPath: String { ctx.podDirectory(pod) + "/etc-hosts" }
    private var etcHostnamePath: String { ctx.podDirectory(pod) + "/hostname" }

    /// The kubelet-managed `/etc/hosts` (`ensureHostsFile`): localhost plus the pod's own name.
    private func writeEtcHosts() throws {
        var text = "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        text += "fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
        if let ip = runtimeStatus.podIP, pod.spec.hostNetwork != true {
            text += "\(ip)\t\(pod.spec.hostname ?? pod.name)\n"
        }
        try Sys.mkdirs(ctx.podDirectory(pod))
        // In place: the files of a ready pod directory exist, empty (see `writeFileInPlace`).
        try Sys.writeFileInPlace(etcHostsPath, text.utf8)
        // The CRI runtime's sandbox `/etc/hostname`: the pod's hostname, the node's with hostNetwork.
        let hostname = pod.spec.hostNetwork == true ? ProcessInfo.processInfo.hostName : pod.spec.hostname ?? pod.name
        try Sys.writeFileInPlace(etcHostnamePath, (hostname + "\n").utf8)
        let hostResolvConf = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
        if let conf = PodDNS.resolvConf(pod: pod, clusterDNS: ctx.clusterDNS, domain: ctx.clusterDomain, host: hostResolvConf) {
            try Sys.writeFile(resolvConfPath, conf.utf8)
        }
    }

    /// The kubelet's per-pod `resolv.conf` (`PodDNS`), bind-mounted into every container.
    private var resolvConfPath: String { ctx.podDirectory(pod) + "/resolv.conf" }

    // MARK: - Starting a container

    /// `startContainer` with `doBackOff` in front: returns false when the container did not start
    /// (back-off, configuration error, runtime error, failed postStart). `target` names the
    /// container whose PID namespace an ephemeral container joins.
    private func startContainer(_ container: Container, target: String? = nil) async -> Bool {
        let name = container.name
        let image = container.image ?? ""
        let now = Date()
        if let last = runtimeStatus.instances[name]?.last(where: { $0.state == .exited }), let finished = last.finishedAt {
            let key = RestartBackoff.key(podName: pod.name, namespace: pod.namespace, podUID: pod.uid, container: name, image: image)
            if backoff.isInBackOffSince(key, since: finished, now: now) {
                let d = backoff.duration(key) ?? backoff.initial
                reasonCache[name] = StartFailure(reason: "CrashLoopBackOff",
                                                 message: "back-off \(PodPrinter.goDuration(d)) restarting failed container=\(name) pod=\(pod.name)_\(pod.namespace)(\(pod.uid))")
                if let expiry = backoff.expiry(key, since: finished) { schedule(at: expiry) }
                return false
            }
            backoff.next(key, since: finished, now: now)
        }

        turnTaken.insert(name)
        var ahead = createdAhead.removeValue(forKey: name)
        if let a = ahead, runtimeStatus.latest(name) != nil || a.sandboxAttempt != runtimeStatus.sandboxAttempt || a.image != image {
            await discard(a)
            ahead = nil
        }
        let restartCount = ahead?.restartCount ?? nextRestartCount(container.name)
        var spec: ContainerSpec
        let env: [String]
        do {
            if let ahead {
                let (resolved, startEnv, _) = try commandLine(container)
                (spec, env) = (ahead.container.spec, startEnv)
                (spec.argv, spec.env) = (resolved.argv, startEnv)
            } else {
                (spec, env) = try makeContainerSpec(container, restartCount: restartCount, target: target)
            }
        } catch let error as ImageError {
            if let ahead { await discard(ahead) }
            reasonCache[name] = StartFailure(reason: "ErrImagePull", message: error.description)
            return false
        } catch {
            if let ahead { await discard(ahead) }
            let failure = StartFailure(reason: "CreateContainerConfigError", message: "\(error)")
            // The kubelet's `Failed` event, once per distinct error rather than on every sync.
            if reasonCache[name] != failure { ctx.timeline.event(pod, container: name, "Warning", "Failed", "Error: \(error)") }
            reasonCache[name] = failure
            return false
        }
        ctx.timeline.register(containerID: spec.id, pod: pod.name, container: name)
        let process: ContainerProcess
        do {
            if let ahead {
                process = try await ahead.container.start(argv: spec.argv, env: spec.env)
            } else {
                process = try await ctx.runtime.start(spec)
            }
        } catch {
            ctx.timeline.unregister(containerID: spec.id)
            if let cgroup = containerCgroups.removeValue(forKey: spec.id) { ctx.cgroups?.remove(cgroup) }
            runtimeStatus.append(ContainerRecord(name: name, id: spec.id, image: image, state: .exited, exitCode: 128, reason: "StartError",
                                                 message: "\(error)", createdAt: now, startedAt: now, finishedAt: Date(), restartCount: restartCount))
            reasonCache[name] = StartFailure(reason: "RunContainerError", message: "\(error)")
            ctx.runtime.removeState(spec)
            return false
        }
        var record = ContainerRecord(name: name, id: spec.id, image: image, state: .running, createdAt: now,
                                     startedAt: process.startedAt, restartCount: restartCount)
        record.sandbox = runtimeStatus.sandboxAttempt
        runtimeStatus.append(record)
        processes[spec.id] = process
        containerStateDirs[spec.id] = spec.stateDir
        containerLogs[spec.id] = spec.logPath
        containerWorkingDirs[spec.id] = spec.workingDir
        containerEnv[spec.id] = env
        reasonCache[name] = nil
        Task { [weak self] in
            let exit = await process.wait()
            await self?.containerExited(id: spec.id, exit: exit)
        }
        startProbes(for: container, id: spec.id)
        publish()
        // PLEG's ContainerStarted: the next sync looks again (the next init container, say).
        wake()

        // postStart is synchronous: the next container waits for it (SYNC-2).
        if let postStart = container.lifecycle?.postStart {
            do {
                try await handlers.hook(postStart, pod: pod, container: container, process: process, env: env, timeout: nil)
            } catch {
                // `startContainer`: the event leaves the hook's output out; the status keeps it.
                ctx.timeline.event(pod, container: name, "Warning", "FailedPostStartHook", "PostStartHook failed")
                await killContainer(id: spec.id, reason: "FailedPostStartHook", message: "FailedPostStartHook", probe: nil, gracePeriodOverride: nil, ordering: nil)
                reasonCache[name] = StartFailure(reason: "PostStartHookError", message: "\(error)")
                return false
            }
        }
        return true
    }

    private var handlers: Handlers { Handlers(runtime: ctx.runtime, podIP: runtimeStatus.podIP) }

    /// Where `kubectl port-forward` connects (the CRI's PortForward): the sandbox's network
    /// namespace, none with hostNetwork (the node's), nil too before the sandbox exists.
    public var portForwardNamespace: (hostNetwork: Bool, netnsPath: String?) { (pod.spec.hostNetwork == true, sandbox?.netnsPath) }

    /// The running instance of container `name` — its process, environment and working
    /// directory — for `kubectl exec` and `attach`; nil when none runs (the kubelet's
    /// `findContainer`, whose miss is `container not found`).
    public func runningContainer(named name: String) -> (process: ContainerProcess, env: [String], workingDir: String?)? {
        guard let record = runtimeStatus.latest(name), record.state == .running,
              let process = processes[record.id] else { return nil }
        return (process, containerEnv[record.id] ?? [], containerWorkingDirs[record.id])
    }

    /// Everything the runtime needs to start one instance: command line from the image catalog with
    /// `$(VAR)` expanded, environment, mounts (volumes, `/etc/hosts`, the termination log).
    private func makeContainerSpec(_ container: Container, restartCount: Int32, target: String?, ahead: Bool = false) throws -> (ContainerSpec, [String]) {
        let (resolved, env, mapping) = try commandLine(container)
        let id = Self.newID()
        let podDir = ctx.podDirectory(pod)
        let stateDir = "\(ctx.containersDirectory)/\(id)"

        var mounts: [BindMount] = []
        for m in container.volumeMounts ?? [] {
            guard let v = volumes[m.name] else { throw ContainerConfigError(description: "volume \"\(m.name)\" not found") }
            var source = v.hostPath
            var subPath = m.subPath ?? ""
            if let expr = m.subPathExpr, !expr.isEmpty { subPath = try ContainerEnvironment.expandSubPathExpr(expr, mapping) }
            if !subPath.isEmpty { source = try SubPath.prepare(subPath, in: v.hostPath, volumeMount: m.name, container: container.name) }
            mounts.append(BindMount(source: source, target: m.mountPath, readOnly: (m.readOnly ?? false) || v.readOnly))
        }
        if pod.spec.hostNetwork != true, !mounts.contains(where: { $0.target == "/etc/hosts" }) {
            mounts.append(BindMount(source: etcHostsPath, target: "/etc/hosts", readOnly: false))
        }
        if !mounts.contains(where: { $0.target == "/etc/hostname" }) {
            mounts.append(BindMount(source: etcHostnamePath, target: "/etc/hostname", readOnly: false))
        }
        if FileManager.default.fileExists(atPath: resolvConfPath) {
            mounts.append(BindMount(source: resolvConfPath, target: "/etc/resolv.conf", readOnly: false))
        }
        // The termination message file (`terminationMessagePath`), one per instance. A first
        // instance created ahead takes a ready directory that holds it and its staged log.
        let terminationLog = terminationLogPath(container.name, restartCount: restartCount)
        if !(ahead && restartCount == 0 && ctx.podDirectories?.takeContainer(at: "\(podDir)/\(container.name)") == true) {
            try Sys.mkdirs("\(podDir)/\(container.name)")
            try Sys.writeFile(terminationLog, [])
            // Writable by whatever user the container runs as, as the kubelet makes it.
            chmod(terminationLog, 0o666)
        }
        mounts.append(BindMount(source: terminationLog, target: container.terminationMessagePath ?? "/dev/termination-log", readOnly: false))
        mounts.sort { $0.target.split(separator: "/").count < $1.target.split(separator: "/").count }

        var spec = ContainerSpec(id: id, argv: resolved.argv, env: env, workingDir: container.workingDir ?? resolved.workingDir,
                                 mounts: mounts, sandbox: podSandbox?.sandbox,
                                 netnsPath: pod.spec.hostNetwork == true ? nil : sandbox?.netnsPath,
                                 stateDir: stateDir, logPath: "\(podDir)/\(container.name)/\(restartCount).log",
                                 imageFiles: try ctx.images.filesDirectory(resolved.files))
        spec.isolation = try ContainerSecurity.isolation(pod, container, qosClass: qosClass, memoryCapacity: NodeAllocatable.host.memoryBytes)
        (spec.stdin, spec.stdinOnce, spec.tty) = (container.stdin ?? false, container.stdinOnce ?? false, container.tty ?? false)
        if let target, !target.isEmpty {
            // containerd refuses a target that is not running; so does Tandem, and the next sync retries.
            guard let record = runtimeStatus.latest(target), record.state == .running, let process = processes[record.id] else {
                throw ContainerConfigError(description: "target container \"\(target)\" is not running")
            }
            spec.pidNamespaceOf = process.pid
        }
        if let cgroups = ctx.cgroups, let podCgroup {
            // The CRI runtime's part: the container's own cgroup below the pod's, made before it starts.
            let cgroup = podCgroup.name.child(id)
            try cgroups.create(cgroup, ResourceMath.container(container))
            containerCgroups[id] = cgroup
            spec.isolation.cgroupProcs = cgroups.procsFiles(cgroup)
        }
        return (spec, env)
    }

    /// A container made by `createAhead`, and what it was made for: it is started only as that
    /// instance (the same restart count, sandbox and image), otherwise discarded.
    struct CreatedAhead {
        var container: CreatedContainer
        var name: String
        var restartCount: Int32
        var sandboxAttempt: Int
        var image: String
    }

    /// Creates container `c` ahead of its turn (`Runtime.create`), as soon as the pod's sandbox
    /// exists: the next init container, the sidecars and the main containers are set up while the
    /// earlier ones start and run. Each still starts at its turn, with the command line and
    /// environment of that moment; the kubelet's order and conditions are untouched, only the
    /// set-up before the exec has moved earlier. Only a container's first start in a sandbox.
    /// Left out, because what they bind is only known at the container's turn: containers with a
    /// `subPath` (made, or resolved, then, perhaps from what an init container wrote) or a
    /// `hostPath` volume (a file or directory anything on the host may replace meanwhile, where a
    /// bind made earlier would keep the old one); and `stdin`/`tty` ones.
    private func createAhead(_ c: Container) {
        let hostPaths = Set((pod.spec.volumes ?? []).filter { $0.hostPath != nil }.map(\.name))
        guard createdAhead[c.name] == nil, !turnTaken.contains(c.name), !deleting, failure == nil, runtimeStatus.sandboxReady,
              runtimeStatus.latest(c.name) == nil, c.stdin != true, c.tty != true,
              pod.spec.shareProcessNamespace != true, pod.spec.hostPID != true,
              !(c.volumeMounts ?? []).contains(where: {
                  !($0.subPath ?? "").isEmpty || !($0.subPathExpr ?? "").isEmpty || hostPaths.contains($0.name)
              })
        else { return }
        let restartCount = nextRestartCount(c.name)
        // Whatever fails here fails again at the container's turn, and is reported then.
        guard let (spec, _) = try? makeContainerSpec(c, restartCount: restartCount, target: nil, ahead: true) else {
            // A ready directory it took keeps a staged log no start will use.
            unlink(CreatedContainer.stagedLog("\(ctx.podDirectory(pod))/\(c.name)/\(restartCount).log"))
            return
        }
        guard !Self.makesDirectoriesInVolumes(spec) else { return removeAheadLeftovers(spec, name: c.name, restartCount: restartCount) }
        do {
            createdAhead[c.name] = CreatedAhead(container: try ctx.runtime.create(spec), name: c.name, restartCount: restartCount,
                                                sandboxAttempt: runtimeStatus.sandboxAttempt, image: c.image ?? "")
        } catch {
            removeAheadLeftovers(spec, name: c.name, restartCount: restartCount)
        }
    }

    /// Whether setting `spec` up would make directories inside its volumes: a mount point below
    /// another mount's target (`/data/conf` under an emptyDir at `/data`). Made ahead, it would be
    /// there for the init containers running meanwhile; the working directory is made at the
    /// container's turn in any case.
    static func makesDirectoriesInVolumes(_ spec: ContainerSpec) -> Bool {
        let targets = spec.mounts.map { cleanContainerPath($0.target) }
        return targets.contains { inner in targets.contains { inner != $0 && inner.hasPrefix($0 == "/" ? "/" : $0 + "/") } }
    }

    /// Go's `path.Clean` of an absolute path inside the container: lexical only. A mount target
    /// names a place in the container's root, so the host's symlinks must not be followed here
    /// (which `NSString.standardizingPath` does, with a readlink per component).
    static func cleanContainerPath(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." {
            if part == ".." { _ = parts.popLast() } else { parts.append(part) }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Lets a container created ahead go unstarted, with its cgroup and termination-message file.
    private func discard(_ ahead: CreatedAhead) async {
        await ahead.container.discard()
        removeAheadLeftovers(ahead.container.spec, name: ahead.name, restartCount: ahead.restartCount)
    }

    private func removeAheadLeftovers(_ spec: ContainerSpec, name: String, restartCount: Int32) {
        if let cgroup = containerCgroups.removeValue(forKey: spec.id) { ctx.cgroups?.remove(cgroup) }
        unlink(terminationLogPath(name, restartCount: restartCount))
        unlink(CreatedContainer.stagedLog(spec.logPath))
        ctx.runtime.removeState(spec)
    }

    /// The termination message file of one instance (`terminationMessagePath` is bound to it).
    private func terminationLogPath(_ name: String, restartCount: Int32) -> String {
        "\(ctx.podDirectory(pod))/\(name)/\(Self.terminationLogName(restartCount: restartCount))"
    }

    /// The name of an instance's termination message file in its container's directory.
    static func terminationLogName(restartCount: Int32) -> String { "termination-\(restartCount).log" }

    /// Every container created ahead goes: the pod is stopping or its sandbox is being replaced.
    private func discardCreatedAhead() async {
        turnTaken = []
        // Until none is left: the creations still to come stop at `sandboxReady`, which the
        // caller cleared, but one may have been made while an earlier discard was awaited.
        while let (name, ahead) = createdAhead.first {
            createdAhead[name] = nil
            await discard(ahead)
        }
    }

    /// The command line from the image catalog with `$(VAR)` expanded, and the environment: what the
    /// kubelet computes as it starts a container (`generateContainerConfig`), from the ConfigMaps,
    /// Secrets and Services of that moment.
    private func commandLine(_ container: Container) throws -> (ResolvedImage, env: [String], mapping: [String: String]) {
        let plain = try ctx.images.resolve(image: container.image ?? "", command: container.command, args: container.args)
        let (envPairs, mapping) = try ContainerEnvironment.environment(for: container, pod: pod, podIP: runtimeStatus.podIP, hostIP: ctx.hostIP,
                                                                       nodeName: ctx.nodeName, configMaps: sources.configMaps, secrets: sources.secrets,
                                                                       imageEnv: plain.env, services: ctx.serviceLister())
        let resolved = try ctx.images.resolve(image: container.image ?? "",
                                              command: container.command?.map { ContainerEnvironment.expand($0, mapping) },
                                              args: container.args?.map { ContainerEnvironment.expand($0, mapping) })
        return (resolved, envPairs.map { "\($0.0)=\($0.1)" }, mapping)
    }

    /// One more than the newest instance's count; without an instance (purged with an old
    /// sandbox) one more than the highest `<n>.log` in the container's log dir, as the kubelet's
    /// `calcRestartCountByLogDir` does.
    private func nextRestartCount(_ name: String) -> Int32 {
        if let latest = runtimeStatus.latest(name) { return latest.restartCount + 1 }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: "\(ctx.podDirectory(pod))/\(name)")) ?? []
        return files.compactMap { f in f.hasSuffix(".log") ? Int32(f.dropLast(4)).map { $0 + 1 } : nil }.max() ?? 0
    }

    static func newID() -> String {
        (0..<16).map { _ in String(UInt8.random(in: 0...15), radix: 16) }.joined()
    }

    // MARK: - Container exits

    /// PLEG's "container died": records the exit (reading the termination message) and wakes the sync.
    private func containerExited(id: String, exit: ContainerExit) {
        guard processes.removeValue(forKey: id) != nil else { return }
        guard var record = runtimeStatus.instances.values.compactMap({ $0.first { $0.id == id } }).first else { return }
        record.state = .exited
        record.exitCode = exit.exitCode
        record.finishedAt = exit.finishedAt
        if let cgroup = containerCgroups.removeValue(forKey: id), let cgroups = ctx.cgroups {
            // containerd reports OOMKilled when the kernel's OOM killer struck in the container's cgroup.
            if cgroups.oomKills(cgroup) > 0 { record.reason = "OOMKilled" }
            cgroups.remove(cgroup)
        }
        if let startError = exit.startError {
            record.reason = "StartError"
            record.message = startError
        } else if let container = container(named: record.name) {
            let file = terminationLogPath(record.name, restartCount: record.restartCount)
            let fallback = container.terminationMessagePolicy == "FallbackToLogsOnError" && exit.exitCode != 0
            if let message = TerminationMessage.read(file: file, log: containerLogs[id], fallbackToLogs: fallback) { record.message = message }
        }
        runtimeStatus.update(record)
        for type in ProbeType.allCases { probeTasks.removeValue(forKey: ProbeKey(id: id, type: type))?.cancel() }
        if container(named: record.name)?.readinessProbe != nil { probes.set(.readiness, id, .failure) }
        ctx.timeline.unregister(containerID: id)
        containerLogs[id] = nil
        containerWorkingDirs[id] = nil
        if let stateDir = containerStateDirs.removeValue(forKey: id) {
            let (runtime, previous) = (ctx.runtime, layerRemoval)
            layerRemoval = Task.detached(priority: .utility) {
                await previous?.value
                runtime.removeState(stateDir: stateDir)
            }
        }
        containerEnv[id] = nil
        publish()
        wake()
    }

    private func container(named name: String) -> Container? {
        ((pod.spec.initContainers ?? []) + pod.spec.containers + (pod.spec.ephemeralContainers ?? []).map(\.container)).first { $0.name == name }
    }

    // MARK: - Killing

    /// `killContainer`: preStop within the grace, then (for sidecars) wait for its turn, then the
    /// stop signal with at least 2 s before SIGKILL.
    private func killContainer(id: String, reason: String, message: String, probe: ProbeType?, gracePeriodOverride: Int64?, ordering: TerminationWaiter?) async {
        guard let process = processes[id],
              let record = runtimeStatus.instances.values.compactMap({ $0.first { $0.id == id } }).first,
              let container = container(named: record.name) else {
            if let record = runtimeStatus.instances.values.compactMap({ $0.first { $0.id == id } }).first { await ordering?.containerTerminated(record.name) }
            return
        }
        var grace = TerminationOrdering.gracePeriod(spec: pod.spec, container: container, probe: probe, override: gracePeriodOverride)
        ctx.timeline.event(pod, container: container.name, "Normal", "Killing", message.isEmpty ? "Stopping container \(container.name)" : message, echo: false)
        if let preStop = container.lifecycle?.preStop, grace > 0 {
            let start = Date()
            do {
                try await handlers.hook(preStop, pod: pod, container: container, process: process, env: containerEnv[id] ?? [], timeout: .seconds(grace))
            } catch {
                ctx.timeline.event(pod, container: container.name, "Warning", "FailedPreStopHook", "PreStopHook failed")
            }
            grace -= Int64(Date().timeIntervalSince(start))
        }
        if let ordering, grace > 0 {
            let start = Date()
            await ordering.waitForTurn(container.name, timeout: .seconds(grace))
            grace -= Int64(Date().timeIntervalSince(start))
        }
        grace = max(grace, TerminationOrdering.minimumGracePeriod)
        process.signal(Self.stopSignal(container))
        let killer = Task {
            try? await Task.sleep(for: .seconds(grace))
            if !Task.isCancelled { process.signal(SIGKILL) }
        }
        let exit = await process.wait()
        killer.cancel()
        containerExited(id: id, exit: exit)
        await ordering?.containerTerminated(container.name)
    }

    static func stopSignal(_ container: Container) -> Int32 {
        switch container.lifecycle?.stopSignal?.uppercased() {
        case "SIGINT": return SIGINT
        case "SIGQUIT": return SIGQUIT
        case "SIGKILL": return SIGKILL
        case "SIGHUP": return SIGHUP
        case "SIGUSR1": return SIGUSR1
        case "SIGUSR2": return SIGUSR2
        default: return SIGTERM
        }
    }

    /// `killPodWithSyncResult`: every running container at once, sidecars in reverse order after
    /// the main containers.
    private func killPod(gracePeriodOverride: Int64?) async {
        let running = runtimeStatus.running
        guard !running.isEmpty else { return }
        let ordering = TerminationWaiter(dependencies: TerminationOrdering.dependencies(spec: pod.spec, running: Set(running.map(\.name))))
        await withTaskGroup(of: Void.self) { group in
            for r in running {
                group.addTask {
                    await self.killContainer(id: r.id, reason: "", message: "", probe: nil, gracePeriodOverride: gracePeriodOverride, ordering: ordering)
                }
            }
        }
    }

    /// `SyncTerminatingPod`: liveness and startup stop, readiness keeps running until the containers
    /// are gone, then every container is killed with the effective grace period.
    private func syncTerminatingPod() async {
        for (key, task) in probeTasks where key.type != .readiness {
            task.cancel()
            probeTasks[key] = nil
        }
        while !runtimeStatus.running.isEmpty {
            await killPod(gracePeriodOverride: deletionGrace)
        }
        wake()
    }

    /// `SyncTerminatedPod` + `TerminatePod`: release the network and volumes, force a terminal phase.
    private func syncTerminatedPod() async {
        for task in probeTasks.values { task.cancel() }
        probeTasks = [:]
        for t in timers { t.cancel() }
        await layerRemoval?.value
        await ctx.resources.release(pod.uid)
        await stopSandbox()
        if let podCgroup {
            for (id, cgroup) in containerCgroups { ctx.cgroups?.remove(cgroup); containerCgroups[id] = nil }
            ctx.cgroups?.remove(podCgroup.name)
            self.podCgroup = nil
        }
        await volumeManager?.tearDown()
        volumeManager = nil
        runtimeStatus.sandboxReady = false
        done = true
        if checkpointData != nil { try? FileManager.default.removeItem(atPath: PodCheckpoint.path(podDir: ctx.podDirectory(pod))) }
        publish(terminated: true)
        // The final status is on disk when `run` returns, whoever removes the pod's directory next.
        statusFile.flush()
        wakeContinuation.finish()
    }

    // MARK: - Probes

    private func startProbes(for container: Container, id: String) {
        if container.readinessProbe != nil { probes.set(.readiness, id, .failure) }
        if container.livenessProbe != nil { probes.set(.liveness, id, .success) }
        if let startup = container.startupProbe {
            probes.set(.startup, id, .unknown)
            startProbe(.startup, startup, container: container, id: id)
        } else {
            startLivenessAndReadiness(container, id: id)
        }
    }

    private func startLivenessAndReadiness(_ container: Container, id: String) {
        if let p = container.readinessProbe { startProbe(.readiness, p, container: container, id: id) }
        if let p = container.livenessProbe, !deleting { startProbe(.liveness, p, container: container, id: id) }
    }

    /// One prober worker (`prober/worker.go`): tries at once, then every `periodSeconds`; nothing
    /// before `initialDelaySeconds`; results count only in runs reaching their threshold.
    private func startProbe(_ type: ProbeType, _ probe: Probe, container: Container, id: String) {
        guard let process = processes[id] else { return }
        let key = ProbeKey(id: id, type: type)
        probeTasks[key]?.cancel()
        let period = Duration.seconds(Int64(max(1, probe.periodSeconds ?? 10)))
        let initialDelay = TimeInterval(probe.initialDelaySeconds ?? 0)
        probeTasks[key] = Task { [weak self] in
            var threshold = ProbeThreshold(type: type, probe: probe)
            var lastResult: ProbeResult?
            // A ticker, as `worker.run`'s: probes start every period, however long each takes
            // (a slow one is followed at once by the next, missed ticks are dropped).
            var tick = ContinuousClock.now
            while !Task.isCancelled {
                if Date().timeIntervalSince(process.startedAt).rounded(.down) >= initialDelay {
                    guard let self, let handlers = await self.probeContext(id: id) else { return }
                    let (result, message) = await handlers.0.probe(probe, container: container, process: process, env: handlers.1)
                    if Task.isCancelled { return }
                    if result != .success {
                        // Every failure is an `Unhealthy` event (repeats fold into its count);
                        // the timeline prints the first of a run. A probe that could not run
                        // (a named port the container does not have) is an error whose result
                        // the worker throws away (`doProbe`).
                        await self.unhealthy(type, container: container, message: message, errored: result == .unknown, echo: lastResult != result)
                    }
                    lastResult = result
                    if result != .unknown, let effective = threshold.record(result) {
                        await self.setProbeResult(type, id: id, container: container, result: effective, message: message)
                    }
                    if threshold.onHold { return }
                }
                tick += period
                let now = ContinuousClock.now
                if tick < now - period { tick = now }
                try? await Task.sleep(until: tick, clock: .continuous)
            }
        }
    }

    private func probeContext(id: String) -> (Handlers, [String])? {
        guard processes[id] != nil else { return nil }
        return (handlers, containerEnv[id] ?? [])
    }

    /// The kubelet's `Unhealthy` event, recorded on every failed probe, and on every probe that
    /// errored (`probe errored and resulted in unknown state`).
    private func unhealthy(_ type: ProbeType, container: Container, message: String, errored: Bool, echo: Bool) {
        let what = type.rawValue.prefix(1).uppercased() + type.rawValue.dropFirst()
        let text = errored ? "\(what) probe errored and resulted in unknown state: \(message)"
            : "\(what) probe failed: \(message.trimmingCharacters(in: .whitespacesAndNewlines))"
        ctx.timeline.event(pod, container: container.name, "Warning", "Unhealthy", text, echo: echo)
    }

    private func setProbeResult(_ type: ProbeType, id: String, container: Container, result: ProbeResult, message: String) {
        guard processes[id] != nil else { return }
        probes.set(type, id, result)
        if type == .startup && result == .success { startLivenessAndReadiness(container, id: id) }
        publish()
        wake()
    }

    // MARK: - Status

    /// `POD_DIR/pod.json`: the pod as last published, for tools and tests that look at a running
    /// pod from outside (its IP, its container states) — the kubelet's status, on disk. Written
    /// off the worker and coalesced (see `StatusFileWriter`), so a status change never waits for
    /// the disk.
    private func writeStatusFile() {
        statusFile.submit(pod)
    }

    private func schedule(at date: Date) {
        let delay = max(0, date.timeIntervalSinceNow)
        timers.removeAll { $0.isCancelled }
        timers.append(Task { [weak self] in
            try? await Task.sleep(for: .milliseconds(Int64(delay * 1000) + 1))
            await self?.wake()
        })
    }

    /// Recomputes the status from the records (`generateAPIPodStatus`) and reports a change.
    /// Publishes the pod when its status changed, or always with `metadataChanged` (a deletion
    /// timestamp: `kubectl get -w` shows `Terminating` at once, and controllers see it).
    private func publish(terminated: Bool = false, metadataChanged: Bool = false) {
        if ctx.runtime.persistent && !done { writeCheckpoint() }
        var input = StatusInputs(runtime: runtimeStatus, probes: probes, reasonCache: reasonCache, deleting: deleting || failure != nil,
                                 terminated: terminated, previous: pod.status, now: Date(), hostIP: ctx.hostIP)
        input.failure = failure
        let status = unschedulable.map { PodStatusGenerator.unschedulable(pod.spec, message: $0) } ?? PodStatusGenerator.generate(pod: pod, input)
        guard status != pod.status || metadataChanged else { return }
        pod.status = status
        ctx.timeline.podChanged(pod)
        writeStatusFile()
        onChange(pod)
    }
}

/// Writes `pod.json` atomically, coalescing: a pod start publishes half a dozen statuses within
/// a few milliseconds, and encoding each one (JSONEncoder, some 4 KB) took CPU from the very
/// containers starting beside it on a small node. The newest status is written at most
/// `delay` after it was submitted, older ones that it overtook never; `flush` writes at once.
final class StatusFileWriter: Sendable {
    private let path: String
    private let delay: Duration = .milliseconds(20)
    private let pending = Mutex<(pod: Pod?, scheduled: Bool)>((nil, false))
    /// Held while encoding and writing, so two flushes cannot write out of order.
    private let writing = Mutex<Void>(())

    init(path: String) { self.path = path }

    func submit(_ pod: Pod) {
        let schedule = pending.withLock { p in
            p.pod = pod
            defer { p.scheduled = true }
            return !p.scheduled
        }
        guard schedule else { return }
        Task.detached(priority: .utility) { [self, delay] in
            try? await Task.sleep(for: delay)
            flush()
        }
    }

    func flush() {
        writing.withLock { _ in
            let next = pending.withLock { p in
                defer { p = (nil, false) }
                return p.pod
            }
            guard let next, let data = try? JSONEncoder.pod.encode(next) else { return }
            let dir = (path as NSString).deletingLastPathComponent
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try? Sys.replaceFile(path, data)
        }
    }
}

extension JSONEncoder {
    /// Sorted keys, as `kubectl get -o json` lists fields.
    static var pod: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return e
    }
}
