import APIServer
import APIStore
import Foundation
import KubeAPI
import Node

/// The kubelet's side of `tandem serve`: it watches the pods in the store, binds new ones to this
/// node (the scheduler's one decision on a one-node cluster), runs each in a `Node.PodWorker` —
/// the engine `tandem run` uses — writes the worker's status back through the status
/// subresource, stops a pod when it gets a `deletionTimestamp`, and removes the object once its
/// containers are gone (what `kubectl delete` waits for).
public actor NodeAgent {
    private let registry: Registry
    let ctx: NodeContext
    var workers: [String: (uid: String, worker: PodWorker, task: Task<Void, Never>, images: [String?])] = [:]
    private var stopping = false
    /// Pods whose worker has finished in this process: never started again (a late status
    /// write can still show them running).
    private var finishedUIDs: Set<String> = []
    /// During the first pass over the stored pods: each started pod's adoption of what a
    /// previous Tandem left running for it.
    private var adopting: [(uid: String, task: Task<Bool, Never>)]?
    /// Status writes in the order the workers publish them: one consumer, so a late write never
    /// overtakes a newer one.
    private let statusFeed: AsyncStream<StatusReport>.Continuation
    private let statusStream: AsyncStream<StatusReport>
    /// The events the pod workers record themselves (`Timeline.event`: probes, kills, hooks).
    private let workerEvents: AsyncStream<PodEvent>
    private let recorders: EventRecorders
    /// The Node's `spec.unschedulable` (`kubectl cordon`): new pods are not bound meanwhile.
    private var cordoned = false
    /// Pods left unbound because the node is cordoned, by `namespace/name`: bound on uncordon.
    private var unscheduled: Set<String> = []
    /// The pods' service account tokens, and per pod with token projections the task that
    /// projects its volumes again when the tokens are due for refresh.
    private let tokens: TokenManager
    private var tokenRefreshers: [String: Task<Void, Never>] = [:]

    /// - Parameter events: what the node context's timeline hands its event sink.
    public init(registry: Registry, context: NodeContext, events: AsyncStream<PodEvent>) {
        self.registry = registry
        ctx = context
        (statusStream, statusFeed) = AsyncStream.makeStream(of: StatusReport.self)
        workerEvents = events
        recorders = EventRecorders(registry: registry)
        tokens = TokenManager(registry: registry)
    }

    /// Runs until cancelled: first the pods already stored, then every change. After a restart
    /// (`kill -9` included) the stored pods' containers are still running, and their workers
    /// adopt them (`PodWorker.adoptCheckpoint`); what no stored pod claims is then torn down.
    public func run() async {
        let writer = Task { [registry, statusStream, recorders] in
            // The last status written per pod: the events are what changed since.
            var last: [String: Pod] = [:]
            for await report in statusStream {
                switch report {
                case .status(let pod):
                    let status = (try? JSONValue(encoding: pod.status)) ?? .object([:])
                    registry.writeStatus(.pods, namespace: pod.namespace, name: pod.name, uid: pod.uid, status: status)
                    for event in PodEvents.between(last[pod.uid], pod) { recorders.record(event) }
                    last[pod.uid] = pod
                case .gone(let uid):
                    last[uid] = nil
                }
            }
        }
        let eventWriter = Task { [workerEvents, recorders] in
            for await event in workerEvents { recorders.record(event) }
        }
        let heartbeat = Task { [registry, ctx] in await NodeStatusReporter(registry: registry, hostIP: ctx.hostIP).run() }
        defer {
            writer.cancel()
            eventWriter.cancel()
            heartbeat.cancel()
        }
        guard let listed = try? registry.list(.pods, namespace: nil),
              let changes = try? registry.store.watch(resource: APIResource.pods.qualifiedName, namespace: nil, from: listed.revision) else { return }
        adopting = []
        for item in listed.items { sync(item, deleted: false) }
        let adoptions = adopting ?? []
        let claimed = Set(adoptions.map(\.uid))
        for adoption in adoptions { _ = await adoption.task.value }
        adopting = nil
        for (uid, podDir) in PodWorker.checkpointedPods(root: ctx.root) where !claimed.contains(uid) {
            await PodWorker.discard(podDir: podDir, context: ctx)
        }
        ctx.runtime.discardUnclaimed(under: ctx.root + "/containers")
        // ConfigMap and Secret changes, one namespace at a time through one consumer, so that
        // the newest contents are always the last applied.
        let (edited, editedFeed) = AsyncStream.makeStream(of: String.self)
        let feeds = [APIResource.configMaps, .secrets].compactMap { r -> Task<Void, Never>? in
            guard let changes = try? registry.store.watch(resource: r.qualifiedName, namespace: nil, from: listed.revision) else { return nil }
            return Task { for await change in changes { editedFeed.yield(change.object["metadata"]?["namespace"]?.stringValue ?? "default") } }
        }
        let applier = Task { for await namespace in edited { await self.sourcesChanged(namespace: namespace) } }
        cordoned = Self.unschedulable(try? registry.get(.nodes, namespace: "", name: registry.nodeName))
        let nodeChanges = try? registry.store.watch(resource: APIResource.nodes.qualifiedName, namespace: nil, from: listed.revision)
        let nodeFeed = Task { [nodeName = registry.nodeName] in
            for await change in nodeChanges ?? AsyncStream { $0.finish() } where change.key.name == nodeName {
                await self.nodeChanged(change.type == .deleted ? nil : change.object)
            }
        }
        defer {
            nodeFeed.cancel()
            feeds.forEach { $0.cancel() }
            editedFeed.finish()
            applier.cancel()
        }
        for await change in changes {
            if stopping { break }
            sync(change.object, deleted: change.type == .deleted)
        }
    }

    private func sync(_ object: JSONValue, deleted: Bool) {
        guard let pod = try? object.decode(Pod.self), !stopping else { return }
        let key = "\(pod.namespace)/\(pod.name)"
        let entry = workers[key].flatMap { $0.uid == pod.uid ? $0 : nil }
        if deleted {
            // Removed without waiting (`--grace-period=0 --force`): stop what still runs.
            if let entry { Task { await entry.worker.terminate(gracePeriod: 0) } }
            return
        }
        if pod.metadata.deletionTimestamp != nil {
            if let entry {
                let grace = pod.metadata.deletionGracePeriodSeconds
                Task { await entry.worker.terminate(gracePeriod: grace) }
            } else {
                registry.removeTerminatedPod(namespace: pod.namespace, name: pod.name, uid: pod.uid)
            }
            return
        }
        if let entry {
            // A changed image (`kubectl set image`) or a new ephemeral container; status writes
            // come back here too and change nothing.
            if Self.images(pod.spec) != entry.images {
                workers[key]?.images = Self.images(pod.spec)
                let worker = entry.worker
                Task { await worker.update(spec: pod.spec) }
            }
            return
        }
        let phase = pod.status?.phase ?? ""
        if phase == "Succeeded" || phase == "Failed" || finishedUIDs.contains(pod.uid) { return }
        if (pod.spec.nodeName ?? "").isEmpty {
            if cordoned {
                if unscheduled.insert(key).inserted { reportUnschedulable(pod) }
                return
            }
            unscheduled.remove(key)
            registry.bind(namespace: pod.namespace, name: pod.name)
            recorders.record(PodEvent(pod, container: nil, type: "Normal", reason: "Scheduled",
                                      message: "Successfully assigned \(pod.namespace)/\(pod.name) to \(registry.nodeName)", component: "default-scheduler"))
            return
        }
        guard pod.spec.nodeName == registry.nodeName else { return }
        start(pod, key: key)
    }

    /// The scheduler's verdict for a pod while the only node is cordoned: `PodScheduled` False,
    /// `Unschedulable`, and its `FailedScheduling` event.
    private func reportUnschedulable(_ pod: Pod) {
        let message = "0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
        let condition = JSONValue.object(["type": .string("PodScheduled"), "status": .string("False"), "reason": .string("Unschedulable"),
                                          "message": .string(message), "lastProbeTime": .null, "lastTransitionTime": .string(Timestamp.string(Date()))])
        registry.writeStatus(.pods, namespace: pod.namespace, name: pod.name, uid: pod.uid,
                             status: .object(["phase": .string("Pending"), "conditions": .array([condition])]))
        recorders.record(PodEvent(pod, container: nil, type: "Warning", reason: "FailedScheduling", message: message, component: "default-scheduler"))
    }

    /// The Node changed: cordoned or uncordoned. On uncordon the pods left unbound are scheduled.
    private func nodeChanged(_ node: JSONValue?) {
        cordoned = Self.unschedulable(node)
        guard !cordoned else { return }
        let waiting = unscheduled
        unscheduled = []
        for key in waiting {
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            if parts.count == 2, let pod = try? registry.get(.pods, namespace: parts[0], name: parts[1]) { sync(pod, deleted: false) }
        }
    }

    static func unschedulable(_ node: JSONValue?) -> Bool {
        node?["spec"]?["unschedulable"] == .bool(true)
    }

    private func start(_ pod: Pod, key: String) {
        let feed = statusFeed
        let worker = PodWorker(pod: pod, context: ctx, sources: volumeSources(namespace: pod.namespace)) { p in feed.yield(.status(p)) }
        let uid = pod.uid
        let adoption = adopting != nil ? Task { await worker.adoptCheckpoint() } : nil
        if let adoption { adopting?.append((uid, adoption)) }
        let task = Task {
            _ = await adoption?.value
            let final = await worker.run()
            await self.finished(key: key, uid: uid, final)
        }
        workers[key] = (uid, worker, task, Self.images(pod.spec))
        if let interval = TokenManager.refreshInterval(pod) {
            let namespace = pod.namespace
            tokenRefreshers[uid] = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(interval))
                    if Task.isCancelled { break }
                    await worker.update(sources: self.volumeSources(namespace: namespace))
                }
            }
        }
    }

    /// The worker is done: its pod either finished (Succeeded/Failed, and stays listed) or was
    /// deleted (and now goes).
    private func finished(key: String, uid: String, _ pod: Pod) {
        if workers[key]?.uid == uid { workers[key] = nil }
        tokenRefreshers.removeValue(forKey: uid)?.cancel()
        tokens.forget(podUID: uid)
        finishedUIDs.insert(uid)
        statusFeed.yield(.gone(uid))
        guard !stopping else { return }
        let stored = try? registry.get(.pods, namespace: pod.namespace, name: pod.name)
        if stored?["metadata"]?["uid"]?.stringValue == uid, stored?["metadata"]?["deletionTimestamp"] != nil {
            registry.removeTerminatedPod(namespace: pod.namespace, name: pod.name, uid: uid)
        }
    }

    /// What of a spec the worker takes up when it changes: the images, and the ephemeral
    /// containers (`kubectl debug` adds one).
    static func images(_ spec: PodSpec) -> [String?] {
        (spec.initContainers ?? []).map(\.image) + spec.containers.map(\.image) + (spec.ephemeralContainers ?? []).map(\.container.image)
    }

    /// A ConfigMap or Secret of `namespace` changed: its pods' configMap, secret and projected
    /// volumes get the new contents at once (the kubelet's periodic remount, without the wait).
    private func sourcesChanged(namespace: String) async {
        guard !stopping else { return }
        let sources = volumeSources(namespace: namespace)
        for (key, entry) in workers where key.hasPrefix(namespace + "/") {
            await entry.worker.update(sources: sources)
        }
    }

    /// The ConfigMaps and Secrets of a namespace when the pod starts (its volumes and env).
    private func volumeSources(namespace: String) -> VolumeSources {
        var sources = VolumeSources(tokens: tokens)
        for item in (try? registry.list(.configMaps, namespace: namespace).items) ?? [] {
            if let cm = try? item.decode(ConfigMap.self), let name = cm.metadata.name { sources.configMaps[name] = cm }
        }
        for item in (try? registry.list(.secrets, namespace: namespace).items) ?? [] {
            if let s = try? item.decode(Secret.self), let name = s.metadata.name { sources.secrets[name] = s }
        }
        return sources
    }

    /// Stops every pod as the kubelet does on shutdown (preStop hooks, reverse sidecar order,
    /// the grace period) and waits for them. The objects stay in the store unchanged, so a
    /// restarted `tandem serve` runs them again.
    public func shutdown() async {
        stopping = true
        statusFeed.finish()
        tokenRefreshers.values.forEach { $0.cancel() }
        tokenRefreshers = [:]
        let all = Array(workers.values)
        for entry in all { await entry.worker.terminate() }
        for entry in all { await entry.task.value }
    }
}
