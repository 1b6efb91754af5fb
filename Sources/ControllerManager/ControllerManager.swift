import APIServer
import APIStore
import Controllers
import Foundation
import KubeAPI

/// kube-controller-manager for `tandem serve`: the Job, CronJob, Deployment and ReplicaSet
/// controllers (the pure reconcile functions `tandem run` also uses), woken by any change to
/// the objects they read and by their own requeue times. Their decisions are written through
/// the `Registry`, so controller-made objects are admitted exactly as a client's are.
public actor ControllerManager {
    private let registry: Registry
    private let events: ControllerEvents
    private let wakes: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private var timer: Task<Void, Never>?
    private var timerDue: Date?

    static let watched: [APIResource] = [.pods, .jobs, .cronJobs, .deployments, .replicaSets]

    public init(registry: Registry) {
        self.registry = registry
        events = ControllerEvents(registry: registry)
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Runs until cancelled. Changes coalesce: one reconcile pass covers every change since the last.
    public func run() async {
        let store = registry.store
        guard let revision = try? store.revision() else { return }
        let feeds = Self.watched.compactMap { r -> Task<Void, Never>? in
            guard let changes = try? store.watch(resource: r.qualifiedName, namespace: nil, from: revision) else { return nil }
            return Task { [wake] in for await _ in changes { wake.yield() } }
        }
        let namespaces = Task { [registry] in await NamespaceController(registry: registry).run() }
        let budgets = Task { [registry] in await DisruptionBudgetController(registry: registry).run() }
        let rootCA = Task { [registry] in await RootCACertPublisher(registry: registry).run() }
        defer {
            feeds.forEach { $0.cancel() }
            timer?.cancel()
            namespaces.cancel()
            budgets.cancel()
            rootCA.cancel()
        }
        wake.yield()
        for await _ in wakes {
            if Task.isCancelled { break }
            reconcile()
        }
    }

    private func items<T: Decodable>(_ r: APIResource, as type: T.Type) -> [T] {
        ((try? registry.list(r, namespace: nil).items) ?? []).compactMap { try? $0.decode(T.self) }
    }

    /// One pass of every controller (`ControllerPass`), written back to the store.
    private func reconcile() {
        let pass = ControllerPass(cronJobs: items(.cronJobs, as: CronJob.self), jobs: items(.jobs, as: Job.self),
                                  deployments: items(.deployments, as: Deployment.self),
                                  replicaSets: items(.replicaSets, as: ReplicaSet.self), pods: items(.pods, as: Pod.self),
                                  now: Date(), randomSuffix: NameGenerator.randomSuffix)
        for (cj, result) in pass.cronJobs { writeStatus(.cronJobs, cj.metadata, result.status.json) }
        for (job, status) in pass.jobs {
            writeStatus(.jobs, job.metadata, try? JSONValue(encoding: status))
            events.jobStatus(job, old: job.status, new: status)
        }
        for (d, status) in pass.deployments { writeStatus(.deployments, d.metadata, try? JSONValue(encoding: status)) }
        for (rs, status) in pass.replicaSets { writeStatus(.replicaSets, rs.metadata, try? JSONValue(encoding: status)) }
        apply(pass.actions)
        if let requeue = pass.requeueAfter { schedule(after: requeue) }
    }

    private func writeStatus(_ r: APIResource, _ meta: ObjectMeta, _ status: JSONValue?) {
        guard let status, let name = meta.name else { return }
        registry.writeStatus(r, namespace: meta.namespace ?? "default", name: name, uid: meta.uid, status: status)
    }

    /// The controllers' client calls. A refusal (the object changed meanwhile, or already
    /// exists) is dropped: the change that caused it wakes the next pass.
    private func apply(_ actions: [ControllerAction]) {
        for action in actions {
            switch action {
            case .createPod(let pod):
                if let body = try? JSONValue(encoding: pod), let stored = try? registry.create(.pods, namespace: pod.namespace, body: body) {
                    events.createdPod(stored)
                }
            case .deletePod(let ns, let name):
                let before = try? registry.get(.pods, namespace: ns, name: name)
                if (try? registry.delete(.pods, namespace: ns, name: name)) != nil { events.deletedPod(before) }
            case .createReplicaSet(let rs):
                if let body = try? JSONValue(encoding: rs),
                   let stored = try? registry.create(.replicaSets, namespace: rs.metadata.namespace ?? "default", body: body) {
                    events.scaled(rs, from: 0, name: stored["metadata"]?["name"]?.stringValue ?? "")
                }
            case .updateReplicaSet(let rs):
                if let body = try? JSONValue(encoding: rs), let name = rs.metadata.name {
                    let ns = rs.metadata.namespace ?? "default"
                    let old: Int32? = (try? registry.get(.replicaSets, namespace: ns, name: name)).flatMap { o in
                        if case .int(let n)? = o["spec"]?["replicas"] { Int32(n) } else { nil }
                    }
                    if (try? registry.update(.replicaSets, namespace: ns, name: name, body: body)) != nil, let old {
                        events.scaled(rs, from: old, name: name)
                    }
                }
            case .deleteReplicaSet(let ns, let name):
                _ = try? registry.delete(.replicaSets, namespace: ns, name: name)
            case .createJob(let job):
                if let body = try? JSONValue(encoding: job), let stored = try? registry.create(.jobs, namespace: job.metadata.namespace ?? "default", body: body) {
                    events.createdJob(job, name: stored["metadata"]?["name"]?.stringValue ?? "")
                }
            case .deleteJob(let ns, let name):
                _ = try? registry.delete(.jobs, namespace: ns, name: name, propagation: "Background")
            }
        }
    }

    /// `queue.AddAfter`: one timer, at the earliest time any controller asked to look again.
    private func schedule(after d: Duration) {
        let due = Date().addingTimeInterval(Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
        if let timerDue, timerDue <= due, timer != nil { return }
        timer?.cancel()
        timerDue = due
        timer = Task { [wake] in
            try? await Task.sleep(for: d)
            guard !Task.isCancelled else { return }
            wake.yield()
            await self.timerFired()
        }
    }

    private func timerFired() {
        timer = nil
        timerDue = nil
    }
}
