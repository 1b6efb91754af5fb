import Foundation
import Testing
import KubeAPI
@testable import Controllers

func makeDeployment(replicas: Int32, strategy: String = "RollingUpdate", surge: String? = nil, unavailable: String? = nil,
                    minReadySeconds: Int32? = nil, revisionHistoryLimit: Int32? = nil) -> Deployment {
    func json(_ v: String?) -> String? { v.map { Int($0) != nil ? $0 : "\"\($0)\"" } }
    var rolling: [String] = []
    if let s = json(surge) { rolling.append("\"maxSurge\":\(s)") }
    if let u = json(unavailable) { rolling.append("\"maxUnavailable\":\(u)") }
    let strategyJSON = strategy == "Recreate" ? #"{"type":"Recreate"}"# : #"{"type":"RollingUpdate","rollingUpdate":{\#(rolling.joined(separator: ","))}}"#
    var d: Deployment = decode(#"""
    {"metadata":{"name":"web","namespace":"default","uid":"dep-uid","generation":1},
     "spec":{"replicas":\#(replicas),"selector":{"matchLabels":{"app":"web"}},"strategy":\#(strategyJSON),
             "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"main","image":"nginx:1"}]}}}}
    """#)
    d.spec.minReadySeconds = minReadySeconds
    d.spec.revisionHistoryLimit = revisionHistoryLimit
    return d
}

extension DeploymentStatus {
    func condition(_ type: String) -> Condition? { conditions?.first { $0.type == type } }
}

/// The driver, the ReplicaSet controller and a kubelet whose pods become ready one per
/// second, around the Deployment controller.
struct Cluster {
    var d: Deployment
    var rss: [ReplicaSet] = []
    var world = PodWorld()
    var now = t0
    let suffixes = Suffixes()
    var readyPerStep = 1
    var last: Reconciled<DeploymentStatus>?

    init(_ d: Deployment) { self.d = d }

    @discardableResult
    mutating func syncDeployment() -> Reconciled<DeploymentStatus> {
        let r = DeploymentController.reconcile(deployment: d, replicaSets: rss, pods: world.pods, now: now)
        for a in r.actions {
            switch a {
            case .createReplicaSet(let rs): rss.append(rs)
            case .updateReplicaSet(let rs): if let i = rss.firstIndex(where: { $0.metadata.name == rs.metadata.name }) { rss[i] = rs }
            case .deleteReplicaSet(_, let n): rss.removeAll { $0.metadata.name == n }
            default: Issue.record("unexpected \(a)")
            }
        }
        d.status = r.status
        last = r
        return r
    }

    mutating func syncReplicaSets() {
        for i in rss.indices {
            let r = ReplicaSetController.reconcile(rs: rss[i], pods: world.pods, now: now, randomSuffix: suffixes.next)
            world.apply(r.actions, now: now)
            rss[i].status = r.status
        }
    }

    /// The kubelet side: the oldest `readyPerStep` pending pods start and become ready.
    mutating func kubelet() {
        now = now.addingTimeInterval(1)
        var n = 0
        for i in world.pods.indices where world.pods[i].status == nil && world.pods[i].metadata.deletionTimestamp == nil {
            if n == readyPerStep { break }
            world.pods[i] = world.pods[i].running(since: now)
            n += 1
        }
        // Terminating pods finish and disappear.
        world.pods.removeAll { $0.metadata.deletionTimestamp != nil }
    }

    var activePods: [Pod] { world.pods.filter(PodUtil.isActive) }
    var availablePods: Int { activePods.filter { PodUtil.isAvailable($0, minReadySeconds: d.spec.minReadySeconds ?? 0, now: now) }.count }

    func rs(_ name: String?) -> ReplicaSet? { rss.first { $0.metadata.name == name } }
    var newRSName: String { "web-\(PodTemplateHash.hash(d.spec.template))" }

    var complete: Bool {
        let s = d.status
        let r = d.spec.replicas ?? 1
        return s?.updatedReplicas == r && s?.replicas == r && s?.availableReplicas == r
            && s?.condition("Progressing")?.reason == "NewReplicaSetAvailable"
            && world.pods.count == Int(r) && rss.filter { $0.metadata.name != newRSName }.allSatisfy { $0.spec.replicas == 0 }
    }

    /// Runs sync rounds until the rollout completes; `check` sees every intermediate state.
    mutating func runToCompletion(maxSteps: Int = 300, check: (Cluster) -> Void = { _ in }) -> Int {
        for step in 0..<maxSteps {
            syncDeployment()
            check(self)
            syncReplicaSets()
            check(self)
            if complete { return step }
            kubelet()
            check(self)
        }
        Issue.record("rollout did not complete")
        return maxSteps
    }

    mutating func updateImage(_ image: String) {
        d.spec.template.spec.containers[0].image = image
        d.metadata.generation = (d.metadata.generation ?? 1) + 1
    }
}

@Suite struct DeploymentControllerTests {
    @Test func firstSyncCreatesReplicaSet() throws {
        let d = makeDeployment(replicas: 3)
        let r = DeploymentController.reconcile(deployment: d, replicaSets: [], pods: [], now: t0)
        let hash = PodTemplateHash.hash(d.spec.template)
        guard case .createReplicaSet(let rs)? = r.actions.first, r.actions.count == 1 else {
            Issue.record("expected one createReplicaSet, got \(r.actions)")
            return
        }
        #expect(rs.metadata.name == "web-\(hash)")
        #expect(rs.metadata.namespace == "default")
        #expect(rs.spec.replicas == 3)
        #expect(rs.spec.selector.matchLabels == ["app": "web", "pod-template-hash": hash])
        #expect(rs.spec.template.metadata?.labels == ["app": "web", "pod-template-hash": hash])
        #expect(rs.metadata.labels == ["app": "web", "pod-template-hash": hash])
        #expect(rs.metadata.annotations?["deployment.kubernetes.io/revision"] == "1")
        #expect(rs.metadata.annotations?["deployment.kubernetes.io/desired-replicas"] == "3")
        #expect(rs.metadata.annotations?["deployment.kubernetes.io/max-replicas"] == "4")
        #expect(rs.metadata.ownerReferences == [OwnerReference(apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: "dep-uid")])
        #expect(r.status.observedGeneration == 1)
        #expect(r.status.replicas == 0 && r.status.updatedReplicas == 0 && r.status.unavailableReplicas == 3)
        let progressing = try #require(r.status.condition("Progressing"))
        #expect(progressing.status == "True" && progressing.reason == "NewReplicaSetCreated")
        #expect(progressing.message == "Created new replica set \"web-\(hash)\"")
        let available = try #require(r.status.condition("Available"))
        #expect(available.status == "False" && available.reason == "MinimumReplicasUnavailable")
        #expect(available.message == "Deployment does not have minimum availability.")
    }

    @Test func statusConditionsThroughFirstRollout() throws {
        var c = Cluster(makeDeployment(replicas: 2))
        c.syncDeployment()
        c.syncReplicaSets()
        c.kubelet()
        let r = c.syncDeployment()
        #expect(r.status.condition("Progressing")?.reason == "ReplicaSetUpdated")
        #expect(r.status.condition("Progressing")?.message == "ReplicaSet \"\(c.newRSName)\" is progressing.")
        _ = c.runToCompletion()
        let s = try #require(c.d.status)
        #expect(s.replicas == 2 && s.updatedReplicas == 2 && s.readyReplicas == 2 && s.availableReplicas == 2 && s.unavailableReplicas == 0)
        #expect(s.condition("Available")?.status == "True")
        #expect(s.condition("Available")?.reason == "MinimumReplicasAvailable")
        #expect(s.condition("Available")?.message == "Deployment has minimum availability.")
        #expect(s.condition("Progressing")?.reason == "NewReplicaSetAvailable")
        #expect(s.condition("Progressing")?.message == "ReplicaSet \"\(c.newRSName)\" has successfully progressed.")
        // Progressing kept its first transition time.
        #expect(s.condition("Progressing")?.lastTransitionTime == Timestamp.string(t0))
        // Steady state: nothing more to do.
        #expect(c.syncDeployment().actions.isEmpty)
    }

    @Test func fenceposts() {
        #expect(DeploymentController.resolveFenceposts(maxSurge: nil, maxUnavailable: nil, desired: 10) == (3, 2))
        #expect(DeploymentController.resolveFenceposts(maxSurge: nil, maxUnavailable: nil, desired: 3) == (1, 0))
        #expect(DeploymentController.resolveFenceposts(maxSurge: .int(0), maxUnavailable: .int(0), desired: 3) == (0, 1))
        #expect(DeploymentController.resolveFenceposts(maxSurge: .string("0%"), maxUnavailable: .string("0%"), desired: 3) == (0, 1))
        #expect(DeploymentController.resolveFenceposts(maxSurge: .string("50%"), maxUnavailable: .string("50%"), desired: 5) == (3, 2))
    }

    static let strategies = ["25%/25%", "1/0", "0/1", "2/1"]

    @Test(arguments: [Int32(1), 3, 10], strategies)
    func rollingUpdateKeepsInvariants(replicas: Int32, strategy: String) throws {
        let parts = strategy.split(separator: "/").map(String.init)
        var c = Cluster(makeDeployment(replicas: replicas, surge: parts[0], unavailable: parts[1]))
        let (surge, unavailable) = DeploymentController.resolveFenceposts(
            maxSurge: Int(parts[0]).map { .int($0) } ?? .string(parts[0]),
            maxUnavailable: Int(parts[1]).map { .int($0) } ?? .string(parts[1]), desired: replicas)
        let maxPods = Int(replicas + surge)
        let minAvailable = Int(replicas - min(unavailable, replicas))

        _ = c.runToCompletion { c in #expect(c.activePods.count <= maxPods, "surge exceeded") }
        let oldName = c.newRSName
        #expect(c.rs(oldName)?.metadata.annotations?["deployment.kubernetes.io/revision"] == "1")

        c.updateImage("nginx:2")
        var maxSeen = 0, minSeen = Int.max
        let steps = c.runToCompletion { c in
            maxSeen = max(maxSeen, c.activePods.count)
            minSeen = min(minSeen, c.availablePods)
            #expect(c.activePods.count <= maxPods, "more than replicas+maxSurge pods")
            #expect(c.availablePods >= minAvailable, "fewer than replicas-maxUnavailable available")
        }
        #expect(steps > 0)
        #expect(maxSeen <= maxPods && minSeen >= minAvailable)
        // With no unavailability allowed the rollout must surge, up to maxSurge pods (never
        // beyond the new ReplicaSet's own `replicas`).
        if unavailable == 0 { #expect(maxSeen == Int(replicas + min(surge, replicas))) }
        let newRS = try #require(c.rs(c.newRSName))
        #expect(newRS.metadata.name != oldName)
        #expect(newRS.metadata.annotations?["deployment.kubernetes.io/revision"] == "2")
        #expect(newRS.spec.replicas == replicas)
        #expect(c.rs(oldName)?.spec.replicas == 0)
        #expect(c.world.pods.allSatisfy { $0.metadata.labels?["pod-template-hash"] == PodTemplateHash.hash(c.d.spec.template) })
        #expect(c.d.status?.observedGeneration == 2)
        #expect(c.d.status?.condition("Available")?.status == "True")
        #expect(c.d.status?.condition("Progressing")?.message == "ReplicaSet \"\(c.newRSName)\" has successfully progressed.")
    }

    @Test func rollingUpdateFirstStepScalesNewUpBySurge() throws {
        var c = Cluster(makeDeployment(replicas: 10, surge: "2", unavailable: "1"))
        _ = c.runToCompletion()
        let old = c.newRSName
        c.updateImage("nginx:2")
        let r = c.syncDeployment()
        // New RS created at maxSurge (2 pods beyond 10); old scaled down by maxUnavailable next.
        guard case .createReplicaSet(let rs)? = r.actions.first else { Issue.record("\(r.actions)"); return }
        #expect(rs.spec.replicas == 2)
        #expect(r.status.condition("Progressing")?.reason == "NewReplicaSetCreated")
        // In the same sync (as rolloutRolling does): minAvailable 9, all 10 old available,
        // 2 new unavailable: 12 - 9 - 2 = 1 old pod may go.
        #expect(r.actions.count == 2)
        if case .updateReplicaSet(let o)? = r.actions.last {
            #expect(o.metadata.name == old && o.spec.replicas == 9)
            #expect(o.metadata.annotations?["deployment.kubernetes.io/desired-replicas"] == "10")
            #expect(o.metadata.annotations?["deployment.kubernetes.io/max-replicas"] == "12")
        } else { Issue.record("\(r.actions)") }
        // With the old one at 9 the new one may grow to 3 (12 pods in all), and then nothing
        // more happens until new pods become available.
        c.syncReplicaSets()
        let next = c.syncDeployment()
        if case .updateReplicaSet(let n)? = next.actions.first, next.actions.count == 1 {
            #expect(n.metadata.name == c.newRSName && n.spec.replicas == 3)
        } else { Issue.record("\(next.actions)") }
        c.syncReplicaSets()
        #expect(c.activePods.count == 12)
        #expect(c.syncDeployment().actions.isEmpty)
    }

    @Test func unhealthyOldPodsAreCleanedUpFirst() {
        // Old ReplicaSet whose pods never got ready: with maxUnavailable 0 the healthy
        // scale-down would be blocked, but unavailable old replicas may always go.
        var c = Cluster(makeDeployment(replicas: 3, surge: "1", unavailable: "0"))
        c.readyPerStep = 0
        c.syncDeployment()
        c.syncReplicaSets()
        c.updateImage("nginx:2")
        let r = c.syncDeployment()
        #expect(r.actions.count == 1) // new RS at 1
        let r2 = c.syncDeployment()
        // allPods 4, minAvailable 3, new unavailable 1 → 0 may go: blocked.
        #expect(r2.actions.isEmpty)
        c.readyPerStep = 100
        _ = c.runToCompletion()
        #expect(c.complete)
    }

    @Test func recreateScalesOldDownThenWaits() throws {
        var c = Cluster(makeDeployment(replicas: 3, strategy: "Recreate"))
        _ = c.runToCompletion()
        let old = c.newRSName
        c.world.graceful = true
        c.updateImage("nginx:2")
        var r = c.syncDeployment()
        #expect(r.actions.count == 1)
        if case .updateReplicaSet(let o)? = r.actions.first { #expect(o.metadata.name == old && o.spec.replicas == 0) }
        c.syncReplicaSets()
        #expect(c.world.pods.allSatisfy { $0.metadata.deletionTimestamp != nil })
        // Old pods still terminating: no new ReplicaSet yet.
        r = c.syncDeployment()
        #expect(r.actions.isEmpty)
        c.kubelet() // terminating pods go away
        r = c.syncDeployment()
        guard case .createReplicaSet(let rs)? = r.actions.first else { Issue.record("\(r.actions)"); return }
        #expect(rs.spec.replicas == 3)
        #expect(rs.metadata.annotations?["deployment.kubernetes.io/max-replicas"] == "3")
        _ = c.runToCompletion { c in
            let hashes = Set(c.world.pods.compactMap { $0.metadata.labels?["pod-template-hash"] })
            #expect(hashes.count <= 1, "old and new pods at the same time")
        }
        #expect(c.d.status?.condition("Available")?.status == "True")
    }

    @Test func scalingChangesTheReplicaSet() {
        var c = Cluster(makeDeployment(replicas: 3))
        _ = c.runToCompletion()
        c.d.spec.replicas = 5
        _ = c.runToCompletion()
        #expect(c.rs(c.newRSName)?.spec.replicas == 5)
        #expect(c.rs(c.newRSName)?.metadata.annotations?["deployment.kubernetes.io/desired-replicas"] == "5")
        c.d.spec.replicas = 1
        _ = c.runToCompletion()
        #expect(c.world.pods.count == 1)
    }

    @Test func pausedDeploymentOnlyReportsStatus() {
        var d = makeDeployment(replicas: 3)
        d.spec.paused = true
        let r = DeploymentController.reconcile(deployment: d, replicaSets: [], pods: [], now: t0)
        #expect(r.actions.isEmpty)
    }

    @Test func oldReplicaSetsBeyondHistoryLimitAreDeleted() {
        var c = Cluster(makeDeployment(replicas: 1, revisionHistoryLimit: 1))
        _ = c.runToCompletion()
        for image in ["nginx:2", "nginx:3"] {
            c.updateImage(image)
            _ = c.runToCompletion()
        }
        c.syncDeployment()
        #expect(c.rss.count == 2)
        #expect(c.rs(c.newRSName)?.metadata.annotations?["deployment.kubernetes.io/revision"] == "3")
    }

    @Test func rollbackReusesTheOldReplicaSet() {
        var c = Cluster(makeDeployment(replicas: 2))
        _ = c.runToCompletion()
        let first = c.newRSName
        c.updateImage("nginx:2")
        _ = c.runToCompletion()
        c.updateImage("nginx:1")
        _ = c.runToCompletion()
        #expect(c.newRSName == first)
        #expect(c.rss.count == 2)
        #expect(c.rs(first)?.metadata.annotations?["deployment.kubernetes.io/revision"] == "3")
    }

    @Test func minReadySecondsDelaysAvailability() {
        var c = Cluster(makeDeployment(replicas: 1, minReadySeconds: 5))
        c.syncDeployment()
        c.syncReplicaSets()
        c.kubelet()
        let r = c.syncDeployment()
        #expect(r.status.readyReplicas == 1 && r.status.availableReplicas == 0)
        #expect(r.requeueAfter == .seconds(6))
    }
}

@Suite struct PodTemplateHashTests {
    @Test func fnvVectors() {
        #expect(PodTemplateHash.fnv32a(Data()) == 0x811c9dc5)
        #expect(PodTemplateHash.fnv32a(Data("a".utf8)) == 0xe40c292c)
        #expect(PodTemplateHash.fnv32a(Data("foobar".utf8)) == 0xbf9cf968)
    }

    @Test func stableAndSensitive() {
        let a = makeDeployment(replicas: 1).spec.template
        // The same template decoded from differently ordered JSON hashes the same.
        let b: PodTemplateSpec = decode(#"{"spec":{"containers":[{"image":"nginx:1","name":"main"}]},"metadata":{"labels":{"app":"web"}}}"#)
        #expect(PodTemplateHash.hash(a) == PodTemplateHash.hash(b))
        #expect(PodTemplateHash.hash(a) == PodTemplateHash.hash(a))
        var c = a
        c.spec.containers[0].image = "nginx:2"
        #expect(PodTemplateHash.hash(a) != PodTemplateHash.hash(c))
        let alphabet = Set("bcdfghjklmnpqrstvwxz2456789")
        #expect(PodTemplateHash.hash(a).allSatisfy { alphabet.contains($0) })
        #expect((1...10).contains(PodTemplateHash.hash(a).count))
    }

    @Test func safeEncodeMatchesGo() {
        // rand.SafeEncodeString("0123456789"): bytes 48...57 modulo 27 → indexes 21...26, 0...3.
        #expect(SafeAlphabet.encode("0123456789") == "456789bcdf")
    }

    @Test func randomSuffix() {
        let s = NameGenerator.randomSuffix()
        #expect(s.count == 5)
        let alphabet = Set("bcdfghjklmnpqrstvwxz2456789")
        #expect(s.allSatisfy { alphabet.contains($0) })
    }
}
