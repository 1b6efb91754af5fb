import Controllers
import Foundation
import KubeAPI
import Node
import PodLifecycle

/// A one-node cluster in memory for `tandem run`: the objects of the manifests, a pod worker per
/// pod (the kubelet) and the Job / ReplicaSet / Deployment controllers, driven by pod status
/// changes. The controllers' decisions are pure functions; this actor only applies them.
actor LocalCluster {
    private let ctx: NodeContext
    private var sources: [String: VolumeSources]
    private var pods: [String: Pod] = [:]
    private var workers: [String: PodWorker] = [:]
    private var workerTasks: [String: Task<Void, Never>] = [:]
    private var deletedPods: Set<String> = []
    private var jobs: [String: Job] = [:]
    private var deployments: [String: Deployment] = [:]
    private var replicaSets: [String: ReplicaSet] = [:]
    private var cronJobs: [String: CronJob] = [:]
    /// CronJobs started by hand (`--trigger cronjob/NAME`): then tandem returns once their Jobs end.
    private let triggered: Set<String>
    /// Controller events already shown; the API server's recorder aggregates repeats likewise.
    private var shownEvents: Set<String> = []
    private var others: [KubeObject] = []
    private var stopping = false
    private var readyWhenStopped: [String: Bool] = [:]
    private var requeue: [Task<Void, Never>] = []
    private let wakeStream: AsyncStream<Void>
    private let wakeContinuation: AsyncStream<Void>.Continuation
    /// Told every pod change: the pods as published and the keys of those being deleted (the
    /// EndpointSlice controller's and kube-proxy's informer, for the Service proxy).
    private let podsChanged: @Sendable ([Pod], Set<String>) -> Void

    init(context: NodeContext, objects: [KubeObject], trigger: [String] = [],
         podsChanged: @escaping @Sendable ([Pod], Set<String>) -> Void = { _, _ in }) {
        ctx = context
        self.podsChanged = podsChanged
        triggered = Set(trigger)
        sources = Self.volumeSources(objects)
        (wakeStream, wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        for o in objects {
            let key = Self.key(o.metadata)
            switch o {
            case .pod(let p): pods[key] = p
            case .job(var j):
                Self.admit(&j.metadata)
                JobController.prepare(job: &j, uid: j.metadata.uid!)
                jobs[key] = j
            case .deployment(var d):
                Self.admit(&d.metadata)
                deployments[key] = d
            case .replicaSet(var rs):
                Self.admit(&rs.metadata)
                replicaSets[key] = rs
            case .cronJob(var c):
                Self.admit(&c.metadata)
                cronJobs[key] = c
            default: others.append(o)
            }
        }
    }

    /// The ConfigMaps and Secrets of the input, per namespace: what volumes and env read.
    static func volumeSources(_ objects: [KubeObject]) -> [String: VolumeSources] {
        var sources: [String: VolumeSources] = [:]
        for o in objects {
            let ns = o.metadata.namespace ?? "default"
            switch o {
            case .configMap(let cm): sources[ns, default: VolumeSources(configMaps: [:], secrets: [:])].configMaps[cm.metadata.name ?? ""] = cm
            case .secret(let s): sources[ns, default: VolumeSources(configMaps: [:], secrets: [:])].secrets[s.metadata.name ?? ""] = s
            default: break
            }
        }
        return sources
    }

    static func key(_ m: ObjectMeta) -> String { "\(m.namespace ?? "default")/\(m.name ?? "")" }

    /// What the API server fills in on create: namespace, uid, creation time, generation 1.
    static func admit(_ m: inout ObjectMeta) {
        m.namespace = m.namespace ?? "default"
        m.uid = m.uid ?? UUID().uuidString.lowercased()
        m.creationTimestamp = m.creationTimestamp ?? Timestamp.string(Date())
        m.generation = m.generation ?? 1
    }

    /// Whether `tandem run` waits for a signal or the timeout rather than for completion.
    var runsUntilStopped: Bool { !deployments.isEmpty || !replicaSets.isEmpty || (!cronJobs.isEmpty && triggered.isEmpty) }

    /// Starts every bare pod and the controllers; returns when everything has finished (or, for
    /// Deployments and CronJobs, when `shutdown` was called and every pod is gone).
    func run() async {
        for (key, pod) in pods.sorted(by: { $0.key < $1.key }) { startPod(key: key, pod) }
        // `kubectl create job --from=cronjob/NAME`: one Job now, from the CronJob's template.
        for name in triggered.sorted() {
            guard let cj = cronJobs.values.first(where: { $0.metadata.name == name }) else { continue }
            let job = CronJobController.jobFromCronJob(cj, name: "\(name)-manual-\(NameGenerator.randomSuffix())", now: Date())
            apply([.createJob(job)])
        }
        wakeContinuation.yield()
        for await _ in wakeStream {
            if !stopping { reconcileControllers() }
            if isComplete { break }
        }
        for t in requeue { t.cancel() }
    }

    private var isComplete: Bool {
        if stopping { return workers.isEmpty }
        if runsUntilStopped { return false }
        let podsDone = pods.values.allSatisfy { ["Succeeded", "Failed"].contains($0.status?.phase ?? "") } && workers.isEmpty
        let jobsDone = jobs.values.allSatisfy { Self.jobFinished($0) != nil }
        return podsDone && jobsDone
    }

    static func jobFinished(_ job: Job) -> String? {
        for c in job.status?.conditions ?? [] where c.status == "True" && (c.type == "Complete" || c.type == "Failed") { return c.type }
        return nil
    }

    /// Admission of a pod: the fields the API server fills (uid, creation time, namespace).
    private func startPod(key: String, _ pod: Pod) {
        var pod = pod
        Self.admit(&pod.metadata)
        pod.spec.nodeName = ctx.nodeName
        pods[key] = pod
        let worker = PodWorker(pod: pod, context: ctx, sources: sources[pod.namespace] ?? VolumeSources(configMaps: [:], secrets: [:])) { [weak self] p in
            Task { await self?.podChanged(key: key, p) }
        }
        workers[key] = worker
        workerTasks[key] = Task {
            let final = await worker.run()
            self.podFinished(key: key, final)
        }
    }

    private func podChanged(key: String, _ pod: Pod) {
        guard workers[key] != nil else { return }
        pods[key] = pod
        publishPods()
        wakeContinuation.yield()
    }

    private func publishPods() {
        podsChanged(workers.keys.compactMap { pods[$0] }, stopping ? Set(pods.keys) : deletedPods)
    }

    private func podFinished(key: String, _ pod: Pod) {
        workers[key] = nil
        workerTasks[key] = nil
        if deletedPods.contains(key) && !stopping {
            pods[key] = nil
        } else {
            pods[key] = pod
        }
        publishPods()
        wakeContinuation.yield()
    }

    // MARK: controllers

    private func reconcileControllers() {
        let pass = ControllerPass(cronJobs: triggered.isEmpty ? Array(cronJobs.values) : [], jobs: Array(jobs.values),
                                  deployments: Array(deployments.values), replicaSets: Array(replicaSets.values),
                                  pods: Array(pods.values), now: Date(), randomSuffix: NameGenerator.randomSuffix)
        for (cj, result) in pass.cronJobs {
            let key = Self.key(cj.metadata)
            cronJobs[key]?.status = result.status.json
            for event in result.events where shownEvents.insert("\(key) \(event.reason) \(event.message)").inserted {
                ctx.timeline.note("cronjob/\(cj.metadata.name ?? ""): \(event.type) \(event.reason): \(event.message)")
            }
        }
        for (job, status) in pass.jobs { jobs[Self.key(job.metadata)]?.status = status }
        for (d, status) in pass.deployments { deployments[Self.key(d.metadata)]?.status = status }
        for (rs, status) in pass.replicaSets { replicaSets[Self.key(rs.metadata)]?.status = status }
        apply(pass.actions)
        if let after = pass.requeueAfter { requeueAfter(after) }
    }

    private func apply(_ actions: [ControllerAction]) {
        for action in actions {
            switch action {
            case .createPod(let pod):
                let key = Self.key(pod.metadata)
                guard pods[key] == nil else { continue }
                startPod(key: key, pod)
            case .deletePod(let ns, let name):
                beginDeletion("\(ns)/\(name)")
            case .createReplicaSet(var rs):
                Self.admit(&rs.metadata)
                replicaSets[Self.key(rs.metadata)] = rs
                wakeContinuation.yield()
            case .updateReplicaSet(let rs):
                replicaSets[Self.key(rs.metadata)] = rs
                wakeContinuation.yield()
            case .deleteReplicaSet(let ns, let name):
                replicaSets["\(ns)/\(name)"] = nil
            case .createJob(var j):
                // From CronJobController; admitted as a Job from a manifest is.
                let key = Self.key(j.metadata)
                guard jobs[key] == nil else { continue }
                Self.admit(&j.metadata)
                JobController.prepare(job: &j, uid: j.metadata.uid!)
                jobs[key] = j
                wakeContinuation.yield()
            case .deleteJob(let ns, let name):
                let key = "\(ns)/\(name)"
                if let uid = jobs[key]?.metadata.uid {
                    for (pk, p) in pods where p.metadata.isOwned(by: uid) { beginDeletion(pk) }
                }
                jobs[key] = nil
            }
        }
    }

    /// Graceful deletion of a pod: its worker stops the containers; a pod without one goes at once.
    private func beginDeletion(_ key: String, gracePeriod: Int64? = nil) {
        deletedPods.insert(key)
        publishPods()
        if let w = workers[key] { Task { await w.terminate(gracePeriod: gracePeriod) } } else { pods[key] = nil }
    }

    /// `tandem delete pod` (as `kubectl delete pod`): deletes the pod gracefully and returns once
    /// it is gone; false when there is no such pod. Its controller, if any, replaces it.
    func deletePod(namespace: String, name: String, gracePeriod: Int64? = nil) async -> Bool {
        let key = "\(namespace)/\(name)"
        guard pods[key] != nil, !deletedPods.contains(key) || workers[key] != nil else { return false }
        let task = workerTasks[key]
        beginDeletion(key, gracePeriod: gracePeriod)
        wakeContinuation.yield()
        await task?.value
        return true
    }

    private func requeueAfter(_ d: Duration) {
        requeue.removeAll { $0.isCancelled }
        requeue.append(Task { [weak self] in
            try? await Task.sleep(for: d)
            await self?.wake()
        })
    }

    private func wake() { wakeContinuation.yield() }

    /// Ctrl-C or `--timeout`: remember which pods were Running and Ready, then delete every pod
    /// gracefully, as `kubectl delete` would.
    func shutdown() async {
        guard !stopping else { return }
        stopping = true
        for (key, p) in pods {
            readyWhenStopped[key] = p.status?.phase == "Running" && (p.status?.conditions?.contains { $0.type == "Ready" && $0.status == "True" } ?? false)
        }
        publishPods()
        for w in workers.values { await w.terminate() }
        wakeContinuation.yield()
    }

    /// Applies an edited manifest (`--watch`): new ConfigMap and Secret contents go to the pods'
    /// volumes; for Pods, returns the API server's error for changes a Pod does not allow
    /// (`ValidatePodUpdate`), else hands the new images to the pod worker.
    func update(_ objects: [KubeObject]) async -> [String] {
        var errors: [String] = []
        // Edited ConfigMaps and Secrets reach the mounted volumes of every pod in their namespace.
        let newSources = Self.volumeSources(objects)
        for ns in Set(sources.keys).union(newSources.keys) where sources[ns] != newSources[ns] {
            let updated = newSources[ns] ?? VolumeSources(configMaps: [:], secrets: [:])
            for (key, worker) in workers where key.hasPrefix(ns + "/") { await worker.update(sources: updated) }
        }
        sources = newSources
        for case .pod(let new) in objects {
            let key = Self.key(new.metadata)
            guard let old = pods[key], let worker = workers[key] else { continue }
            if let message = Validation.podUpdateError(old: old.spec, new: new.spec) {
                errors.append("The Pod \"\(new.name)\" is invalid: spec: Forbidden: \(message)")
                continue
            }
            if old.spec.containers.map(\.image) != new.spec.containers.map(\.image)
                || (old.spec.initContainers ?? []).map(\.image) != (new.spec.initContainers ?? []).map(\.image) {
                await worker.update(spec: new.spec)
            }
        }
        return errors
    }

    // MARK: results

    /// 0 when every pod ended well (Succeeded, or Running and Ready when stopped), 1 when a pod or a
    /// Job failed.
    func exitCode() -> Int32 {
        for job in jobs.values where Self.jobFinished(job) != "Complete" { return 1 }
        for (key, p) in pods {
            let ownedByJob = p.metadata.ownerReferences?.contains { $0.kind == "Job" } ?? false
            if ownedByJob { continue }
            if readyWhenStopped[key] == true { continue }
            if p.status?.phase != "Succeeded" { return 1 }
        }
        return 0
    }

    /// The final objects, as `kubectl get -o json` would list them.
    func finalObjects() -> [KubeObject] {
        var out: [KubeObject] = []
        out += others
        out += cronJobs.values.sorted { Self.key($0.metadata) < Self.key($1.metadata) }.map { .cronJob($0) }
        out += deployments.values.sorted { Self.key($0.metadata) < Self.key($1.metadata) }.map { .deployment($0) }
        out += replicaSets.values.sorted { Self.key($0.metadata) < Self.key($1.metadata) }.map { .replicaSet($0) }
        out += jobs.values.sorted { Self.key($0.metadata) < Self.key($1.metadata) }.map { .job($0) }
        out += pods.values.sorted { Self.key($0.metadata) < Self.key($1.metadata) }.map { .pod($0) }
        return out
    }
}
