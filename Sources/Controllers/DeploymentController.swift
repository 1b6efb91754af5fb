import Foundation
import KubeAPI

/// pkg/controller/deployment: rolls a Deployment's pod template out through ReplicaSets,
/// one per template revision, named `<deployment>-<pod-template-hash>`.
public enum DeploymentController {
    public static let revisionAnnotation = "deployment.kubernetes.io/revision"
    public static let desiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
    public static let maxReplicasAnnotation = "deployment.kubernetes.io/max-replicas"
    public static let podTemplateHashLabel = "pod-template-hash"

    /// `syncDeployment` → `rolloutRolling` (rolling.go) or `rolloutRecreate` (recreate.go)
    /// → `syncRolloutStatus` (progress.go).
    ///
    /// Availability of a ReplicaSet is taken from the pods passed in (the pods its selector
    /// and ownerReference claim), not from its possibly stale `status`, so the driver need
    /// not have stored the ReplicaSet controller's status before calling this.
    /// A paused Deployment (`spec.paused`) gets its status only.
    public static func reconcile(deployment d: Deployment, replicaSets: [ReplicaSet], pods: [Pod], now: Date) -> Reconciled<DeploymentStatus> {
        var sync = Sync(d: d, replicaSets: replicaSets, pods: pods, now: now)
        if d.spec.paused != true {
            if sync.strategy == "Recreate" { sync.rolloutRecreate() } else { sync.rolloutRolling() }
        }
        return sync.finish()
    }

    /// `ResolveFenceposts` (deployment/util): maxSurge rounds up, maxUnavailable down; both
    /// zero would deadlock a rollout, so maxUnavailable becomes 1. Defaults are 25%/25%.
    public static func resolveFenceposts(maxSurge: IntOrString?, maxUnavailable: IntOrString?, desired: Int32) -> (surge: Int32, unavailable: Int32) {
        let surge = scaled(maxSurge ?? .string("25%"), total: desired, roundUp: true)
        var unavailable = scaled(maxUnavailable ?? .string("25%"), total: desired, roundUp: false)
        if surge == 0 && unavailable == 0 { unavailable = 1 }
        return (surge, unavailable)
    }

    /// `intstr.GetScaledValueFromIntOrPercent`.
    static func scaled(_ v: IntOrString, total: Int32, roundUp: Bool) -> Int32 {
        switch v {
        case .int(let i): return Int32(i)
        case .string(let s):
            guard s.hasSuffix("%"), let p = Double(s.dropLast()) else { return Int32(s) ?? 0 }
            let x = p * Double(total) / 100
            return Int32(roundUp ? x.rounded(.up) : x.rounded(.down))
        }
    }

    /// The template without `pod-template-hash`, for `EqualIgnoreHash`.
    static func withoutHash(_ t: PodTemplateSpec) -> PodTemplateSpec {
        var t = t
        if var meta = t.metadata {
            meta.labels?.removeValue(forKey: podTemplateHashLabel)
            if meta.labels?.isEmpty == true { meta.labels = nil }
            t.metadata = meta
        }
        return t
    }

    /// Builds a ReplicaSet. The KubeAPI types have no public memberwise initialisers, so
    /// the object is assembled as JSON and decoded, which is what the API server would store.
    static func makeReplicaSet(meta: ObjectMeta, replicas: Int32, minReadySeconds: Int32?, selector: LabelSelector, template: PodTemplateSpec) -> ReplicaSet {
        do {
            var spec: [String: JSONValue] = [
                "replicas": .int(Int64(replicas)),
                "selector": try JSONValue(encoding: selector),
                "template": try JSONValue(encoding: template),
            ]
            if let minReadySeconds { spec["minReadySeconds"] = .int(Int64(minReadySeconds)) }
            let object: JSONValue = .object([
                "apiVersion": .string("apps/v1"), "kind": .string("ReplicaSet"),
                "metadata": try JSONValue(encoding: meta), "spec": .object(spec),
            ])
            return try object.decode(ReplicaSet.self)
        } catch {
            preconditionFailure("ReplicaSet round trip failed: \(error)")
        }
    }
}

/// What the pods of one ReplicaSet say (the fields of its status that the Deployment
/// controller reads: `Status.Replicas`, `ReadyReplicas`, `AvailableReplicas`).
struct RSPods {
    var actual: Int32 = 0
    var ready: Int32 = 0
    var available: Int32 = 0
    var running: Int = 0  // not Succeeded/Failed, deleting or not: `oldPodsRunning`
    var nextAvailable: Date?
}

/// One sync of one Deployment, with the ReplicaSets as they will be after the actions.
struct Sync {
    let d: Deployment
    let now: Date
    let stamp: String
    let namespace: String
    let name: String
    let replicas: Int32
    let strategy: String
    let maxSurge: Int32
    let maxUnavailable: Int32
    let minReady: Int32
    let pods: [Pod]

    var sets: [ReplicaSet]
    var stats: [String: RSPods] = [:]
    var newName: String?
    var created: [String] = []
    var updated: [String] = []
    var deleted: [String] = []
    var conditions: [Condition]

    init(d: Deployment, replicaSets: [ReplicaSet], pods: [Pod], now: Date) {
        self.d = d
        self.now = now
        self.pods = pods
        stamp = Timestamp.string(now)
        namespace = d.metadata.namespace ?? "default"
        name = d.metadata.name ?? ""
        replicas = d.spec.replicas ?? 1
        strategy = d.spec.strategy?.type ?? "RollingUpdate"
        minReady = d.spec.minReadySeconds ?? 0
        if strategy == "RollingUpdate" {
            let f = DeploymentController.resolveFenceposts(maxSurge: d.spec.strategy?.rollingUpdate?.maxSurge,
                                                           maxUnavailable: d.spec.strategy?.rollingUpdate?.maxUnavailable, desired: replicas)
            maxSurge = f.surge
            // `MaxUnavailable`: never more than the replicas, and 0 for 0 replicas.
            maxUnavailable = replicas == 0 ? 0 : min(f.unavailable, replicas)
        } else {
            maxSurge = 0
            maxUnavailable = 0
        }
        conditions = d.status?.conditions ?? []

        // `getReplicaSetsForDeployment`: owned by this Deployment (or orphans it selects).
        let uid = d.metadata.uid
        let ns = namespace
        let selector = d.spec.selector
        sets = replicaSets.filter { rs in
            guard (rs.metadata.namespace ?? "default") == ns else { return false }
            if let ref = PodUtil.controllerRef(rs.metadata) { return uid != nil && ref.uid == uid }
            return selector.matches(rs.metadata.labels ?? [:])
        }
        // `ReplicaSetsByCreationTimestamp`.
        sets.sort { a, b in
            let ac = a.metadata.creationTimestamp ?? "", bc = b.metadata.creationTimestamp ?? ""
            return ac != bc ? ac < bc : (a.metadata.name ?? "") < (b.metadata.name ?? "")
        }
        for rs in sets { stats[rs.metadata.name ?? ""] = Sync.podStats(rs, pods: pods, minReady: minReady, now: now) }
        let template = DeploymentController.withoutHash(d.spec.template)
        newName = sets.first { DeploymentController.withoutHash($0.spec.template) == template }?.metadata.name
    }

    static func podStats(_ rs: ReplicaSet, pods: [Pod], minReady: Int32, now: Date) -> RSPods {
        let claimed = PodUtil.claimed(pods, namespace: rs.metadata.namespace ?? "default", selector: rs.spec.selector, uid: rs.metadata.uid)
        var s = RSPods()
        for pod in claimed {
            if !PodUtil.isTerminal(pod) { s.running += 1 }
            guard PodUtil.isActive(pod) else { continue }
            s.actual += 1
            if PodUtil.isReady(pod) { s.ready += 1 }
            if PodUtil.isAvailable(pod, minReadySeconds: minReady, now: now) { s.available += 1 }
            if let at = PodUtil.becomesAvailable(pod, minReadySeconds: minReady, now: now) { s.nextAvailable = min(s.nextAvailable ?? at, at) }
        }
        return s
    }

    // MARK: ReplicaSets as they stand

    func index(_ n: String) -> Int? { sets.firstIndex { $0.metadata.name == n } }
    var newRS: ReplicaSet? { newName.flatMap(index).map { sets[$0] } }
    var oldRSs: [ReplicaSet] { sets.filter { $0.metadata.name != newName } }
    static func specReplicas(_ rs: ReplicaSet) -> Int32 { rs.spec.replicas ?? 1 }
    /// `GetReplicaCountForReplicaSets`: the sum of `spec.replicas`.
    func specCount(_ rss: [ReplicaSet]) -> Int32 { rss.reduce(0) { $0 + Sync.specReplicas($1) } }
    func available(_ rs: ReplicaSet) -> Int32 { stats[rs.metadata.name ?? ""]?.available ?? 0 }
    func availableCount(_ rss: [ReplicaSet]) -> Int32 { rss.reduce(0) { $0 + available($1) } }

    static func revision(_ rs: ReplicaSet) -> Int { Int(rs.metadata.annotations?[DeploymentController.revisionAnnotation] ?? "") ?? 0 }

    /// `scaleReplicaSet`: the new size with the desired/max-replicas annotations
    /// (`SetReplicasAnnotations`); nothing happens when the size is unchanged.
    @discardableResult
    mutating func scale(_ rsName: String, to newSize: Int32) -> Bool {
        guard let i = index(rsName), Sync.specReplicas(sets[i]) != newSize else { return false }
        sets[i].spec.replicas = newSize
        var ann = sets[i].metadata.annotations ?? [:]
        ann[DeploymentController.desiredReplicasAnnotation] = String(replicas)
        ann[DeploymentController.maxReplicasAnnotation] = String(replicas + maxSurge)
        sets[i].metadata.annotations = ann
        touch(rsName)
        return true
    }

    mutating func touch(_ rsName: String) {
        if !created.contains(rsName) && !updated.contains(rsName) { updated.append(rsName) }
    }

    // MARK: sync.go getNewReplicaSet

    /// `getNewReplicaSet`: brings an existing new ReplicaSet's revision up to date, or
    /// creates it (with the size `NewRSNewReplicas` allows) when `create` is set.
    mutating func getNewReplicaSet(create: Bool) {
        let maxOld = oldRSs.map(Sync.revision).max() ?? 0
        let newRevision = String(maxOld + 1)
        if let n = newName, let i = index(n) {
            var changed = false
            if Sync.revision(sets[i]) < maxOld + 1 {
                sets[i].metadata.annotations = (sets[i].metadata.annotations ?? [:]).merging([DeploymentController.revisionAnnotation: newRevision]) { $1 }
                changed = true
            }
            if sets[i].spec.minReadySeconds != d.spec.minReadySeconds {
                sets[i].spec.minReadySeconds = d.spec.minReadySeconds
                changed = true
            }
            if changed { touch(n) }
            if conditions.first(where: { $0.type == "Progressing" }) == nil && hasProgressDeadline {
                setCondition("Progressing", "True", "FoundNewReplicaSet", "Found new replica set \"\(n)\"")
            }
            return
        }
        guard create else { return }
        let hash = PodTemplateHash.hash(d.spec.template)
        let rsName = "\(name)-\(hash)"
        var template = d.spec.template
        var tmeta = template.metadata ?? ObjectMeta()
        tmeta.labels = (tmeta.labels ?? [:]).merging([DeploymentController.podTemplateHashLabel: hash]) { $1 }
        template.metadata = tmeta
        var selector = d.spec.selector
        selector.matchLabels = (selector.matchLabels ?? [:]).merging([DeploymentController.podTemplateHashLabel: hash]) { $1 }

        var meta = ObjectMeta(name: rsName, namespace: namespace, labels: tmeta.labels)
        // `copyDeploymentAnnotationsToReplicaSet` + `SetNewReplicaSetAnnotations` + `SetReplicasAnnotations`.
        var ann = (d.metadata.annotations ?? [:]).filter { key, _ in
            ![DeploymentController.revisionAnnotation, DeploymentController.desiredReplicasAnnotation,
              DeploymentController.maxReplicasAnnotation, "deployment.kubernetes.io/revision-history",
              "kubectl.kubernetes.io/last-applied-configuration"].contains(key)
        }
        ann[DeploymentController.revisionAnnotation] = newRevision
        ann[DeploymentController.desiredReplicasAnnotation] = String(replicas)
        ann[DeploymentController.maxReplicasAnnotation] = String(replicas + maxSurge)
        meta.annotations = ann
        meta.ownerReferences = [OwnerReference(apiVersion: "apps/v1", kind: "Deployment", name: name, uid: d.metadata.uid ?? "")]
        meta.uid = UUID().uuidString.lowercased()
        meta.creationTimestamp = stamp
        meta.generation = 1

        let size = newRSNewReplicas(current: nil)
        let rs = DeploymentController.makeReplicaSet(meta: meta, replicas: size, minReadySeconds: d.spec.minReadySeconds, selector: selector, template: template)
        sets.append(rs)
        stats[rsName] = Sync.podStats(rs, pods: pods, minReady: minReady, now: now)
        newName = rsName
        created.append(rsName)
        setCondition("Progressing", "True", "NewReplicaSetCreated", "Created new replica set \"\(rsName)\"")
    }

    /// `NewRSNewReplicas`: Recreate goes straight to `replicas`; RollingUpdate grows the new
    /// ReplicaSet only as far as `replicas + maxSurge` pods in total allows.
    func newRSNewReplicas(current: ReplicaSet?) -> Int32 {
        guard strategy == "RollingUpdate" else { return replicas }
        let currentSize = current.map(Sync.specReplicas) ?? 0
        let currentPodCount = specCount(sets)
        let maxTotal = replicas + maxSurge
        if currentPodCount >= maxTotal { return currentSize }
        let up = min(maxTotal - currentPodCount, replicas - currentSize)
        return currentSize + max(up, 0)
    }

    // MARK: rolling.go

    mutating func rolloutRolling() {
        getNewReplicaSet(create: true)
        if reconcileNewReplicaSet() { return }
        if reconcileOldReplicaSets() { return }
        if isComplete(calculateStatus()) { cleanupDeployment() }
    }

    /// `reconcileNewReplicaSet`.
    mutating func reconcileNewReplicaSet() -> Bool {
        guard let rs = newRS, let n = rs.metadata.name else { return false }
        let size = Sync.specReplicas(rs)
        if size == replicas { return false }
        if size > replicas { return scale(n, to: replicas) }
        return scale(n, to: newRSNewReplicas(current: rs))
    }

    /// `reconcileOldReplicaSets`: old pods may go as far as the pods beyond `minAvailable`
    /// allow, counting the new ReplicaSet's not-yet-available pods as already missing;
    /// unhealthy old pods are removed first (`cleanupUnhealthyReplicas`), then available ones
    /// (`scaleDownOldReplicaSetsForRollingUpdate`), oldest ReplicaSet first.
    mutating func reconcileOldReplicaSets() -> Bool {
        let olds = oldRSs
        if specCount(olds) == 0 { return false }
        let allPods = specCount(sets)
        let minAvailable = replicas - maxUnavailable
        let newUnavailable = newRS.map { Sync.specReplicas($0) - available($0) } ?? 0
        let maxScaledDown = allPods - minAvailable - newUnavailable
        if maxScaledDown <= 0 { return false }

        var cleaned: Int32 = 0
        for rs in olds {
            if cleaned >= maxScaledDown { break }
            let size = Sync.specReplicas(rs)
            if size == 0 || size == available(rs) { continue }
            let down = min(maxScaledDown - cleaned, size - available(rs))
            scale(rs.metadata.name ?? "", to: size - down)
            cleaned += down
        }

        var scaledDown: Int32 = 0
        let availablePods = availableCount(sets)
        if availablePods > minAvailable {
            let total = availablePods - minAvailable
            for rs in oldRSs {
                if scaledDown >= total { break }
                let size = Sync.specReplicas(rs)
                if size == 0 { continue }
                let down = min(size, total - scaledDown)
                scale(rs.metadata.name ?? "", to: size - down)
                scaledDown += down
            }
        }
        return cleaned + scaledDown > 0
    }

    // MARK: recreate.go

    mutating func rolloutRecreate() {
        getNewReplicaSet(create: false)
        var scaledDown = false
        for rs in oldRSs where Sync.specReplicas(rs) > 0 {
            if scale(rs.metadata.name ?? "", to: 0) { scaledDown = true }
        }
        if scaledDown { return }
        // `oldPodsRunning`: wait until no pod of an old ReplicaSet is still running or terminating.
        if oldRSs.contains(where: { (stats[$0.metadata.name ?? ""]?.running ?? 0) > 0 }) { return }
        if newRS == nil { getNewReplicaSet(create: true) }
        if let n = newName { scale(n, to: replicas) }
        if isComplete(calculateStatus()) { cleanupDeployment() }
    }

    // MARK: sync.go cleanupDeployment

    /// `cleanupDeployment`: keeps at most `revisionHistoryLimit` (default 10) old ReplicaSets,
    /// deleting the oldest revisions that have neither replicas nor pods.
    mutating func cleanupDeployment() {
        let limit = Int(d.spec.revisionHistoryLimit ?? 10)
        let cleanable = oldRSs.filter { $0.metadata.deletionTimestamp == nil }.sorted { Sync.revision($0) < Sync.revision($1) }
        let diff = cleanable.count - limit
        guard diff > 0 else { return }
        for rs in cleanable.prefix(diff) {
            let n = rs.metadata.name ?? ""
            if Sync.specReplicas(rs) != 0 || (stats[n]?.running ?? 0) != 0 { continue }
            deleted.append(n)
        }
    }

    // MARK: progress.go / sync.go status

    var hasProgressDeadline: Bool {
        let p = d.spec.progressDeadlineSeconds ?? 600
        return p != Int32.max
    }

    /// `calculateStatus`.
    func calculateStatus() -> DeploymentStatus {
        let live = sets.filter { !deleted.contains($0.metadata.name ?? "") }
        var s = DeploymentStatus()
        s.observedGeneration = d.metadata.generation
        s.replicas = live.reduce(0) { $0 + (stats[$1.metadata.name ?? ""]?.actual ?? 0) }
        s.updatedReplicas = newName.flatMap { stats[$0]?.actual } ?? 0
        s.readyReplicas = live.reduce(0) { $0 + (stats[$1.metadata.name ?? ""]?.ready ?? 0) }
        let avail = availableCount(live)
        s.availableReplicas = avail
        s.unavailableReplicas = max(0, specCount(live) - avail)
        return s
    }

    /// `DeploymentComplete`.
    func isComplete(_ s: DeploymentStatus) -> Bool {
        s.updatedReplicas == replicas && s.replicas == replicas && s.availableReplicas == replicas
            && (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
    }

    /// `SetDeploymentCondition`: same status and reason → untouched; same status → keeps
    /// its lastTransitionTime.
    mutating func setCondition(_ type: String, _ status: String, _ reason: String, _ message: String) {
        let current = conditions.first { $0.type == type }
        if let current, current.status == status, current.reason == reason { return }
        var c = Condition(type: type, status: status, reason: reason, message: message, lastTransitionTime: stamp)
        c.lastUpdateTime = stamp
        if let current, current.status == status { c.lastTransitionTime = current.lastTransitionTime }
        conditions.removeAll { $0.type == type }
        conditions.append(c)
    }

    /// `syncRolloutStatus`, then the actions in the order the real controller issues them.
    mutating func finish() -> Reconciled<DeploymentStatus> {
        var status = calculateStatus()
        let old = d.status ?? DeploymentStatus()
        if status.availableReplicas ?? 0 >= replicas - maxUnavailable {
            setCondition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
        } else {
            setCondition("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
        }
        let current = conditions.first { $0.type == "Progressing" }
        let rsRef = newName.map { "ReplicaSet \"\($0)\"" } ?? "Deployment \"\(name)\""
        if !hasProgressDeadline {
            conditions.removeAll { $0.type == "Progressing" }
        } else if !(status.replicas == status.updatedReplicas && current?.reason == "NewReplicaSetAvailable") {
            let oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0)
            let newOld = (status.replicas ?? 0) - (status.updatedReplicas ?? 0)
            let progressing = (status.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) || newOld < oldOld
                || (status.readyReplicas ?? 0) > (old.readyReplicas ?? 0) || (status.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
            if isComplete(status) {
                setCondition("Progressing", "True", "NewReplicaSetAvailable", "\(rsRef) has successfully progressed.")
            } else if progressing {
                // Progress refreshes lastUpdateTime even when the reason is unchanged.
                var c = Condition(type: "Progressing", status: "True", reason: "ReplicaSetUpdated", message: "\(rsRef) is progressing.", lastTransitionTime: stamp)
                c.lastUpdateTime = stamp
                if let current, current.status == "True" { c.lastTransitionTime = current.lastTransitionTime }
                conditions.removeAll { $0.type == "Progressing" }
                conditions.append(c)
            } else if let current, current.reason != "NewReplicaSetAvailable", current.reason != "ProgressDeadlineExceeded",
                      let from = PodUtil.date(current.lastUpdateTime ?? current.lastTransitionTime),
                      from.addingTimeInterval(TimeInterval(d.spec.progressDeadlineSeconds ?? 600)) < now {
                setCondition("Progressing", "False", "ProgressDeadlineExceeded", "\(rsRef) has timed out progressing.")
            }
        }
        status.conditions = conditions.isEmpty ? nil : conditions

        var actions: [ControllerAction] = []
        for n in created { if let i = index(n) { actions.append(.createReplicaSet(sets[i])) } }
        for n in updated { if let i = index(n) { actions.append(.updateReplicaSet(sets[i])) } }
        for n in deleted { actions.append(.deleteReplicaSet(namespace: namespace, name: n)) }

        // Wake up when a ready pod becomes available, and at the progress deadline.
        var wake = stats.values.compactMap(\.nextAvailable).min()
        if hasProgressDeadline, !isComplete(status),
           let c = conditions.first(where: { $0.type == "Progressing" }), c.status == "True", c.reason != "NewReplicaSetAvailable",
           let from = PodUtil.date(c.lastUpdateTime ?? c.lastTransitionTime) {
            let at = from.addingTimeInterval(TimeInterval(d.spec.progressDeadlineSeconds ?? 600) + 1)
            if at > now { wake = min(wake ?? at, at) }
        }
        return Reconciled(actions: actions, status: status, requeueAfter: wake.map { .interval($0.timeIntervalSince(now)) })
    }
}
