import Foundation
import Testing
import KubeAPI
@testable import Controllers

func makeReplicaSet(name: String = "web-abc", replicas: Int32, minReadySeconds: Int32? = nil) -> ReplicaSet {
    var rs: ReplicaSet = decode(#"""
    {"metadata":{"name":"\#(name)","namespace":"default","uid":"rs-uid","generation":3},
     "spec":{"selector":{"matchLabels":{"app":"web","pod-template-hash":"abc"}},
             "template":{"metadata":{"labels":{"app":"web","pod-template-hash":"abc"}},
                         "spec":{"containers":[{"name":"main","image":"nginx"}]}}}}
    """#)
    rs.spec.replicas = replicas
    rs.spec.minReadySeconds = minReadySeconds
    return rs
}

@Suite struct ReplicaSetControllerTests {
    let suffixes = Suffixes()

    /// Pods of `rs` created at `created` seconds, in the given states.
    func pod(_ rs: ReplicaSet, _ name: String, created: TimeInterval) -> Pod {
        var p = PodUtil.fromTemplate(rs.spec.template, name: name, namespace: "default",
                                     owner: OwnerReference(apiVersion: "apps/v1", kind: "ReplicaSet", name: rs.metadata.name!, uid: "rs-uid"), now: at(created))
        p.spec.nodeName = "tandem"
        return p
    }

    @Test func scaleUpCreatesOwnedPods() throws {
        let rs = makeReplicaSet(replicas: 3)
        let r = ReplicaSetController.reconcile(rs: rs, pods: [], now: t0, randomSuffix: suffixes.next)
        #expect(r.createdPods.map(\.name) == ["web-abc-s0001", "web-abc-s0002", "web-abc-s0003"])
        let p = try #require(r.createdPods.first)
        #expect(p.metadata.labels == ["app": "web", "pod-template-hash": "abc"])
        #expect(p.metadata.ownerReferences == [OwnerReference(apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-abc", uid: "rs-uid")])
        #expect(p.metadata.uid != nil && p.metadata.creationTimestamp == Timestamp.string(t0))
        #expect(r.status.replicas == 0 && r.status.observedGeneration == 3)
    }

    @Test func steadyStateDoesNothing() {
        let rs = makeReplicaSet(replicas: 2)
        let pods = [pod(rs, "a", created: 0).running(since: at(1)), pod(rs, "b", created: 0).running(since: at(1))]
        let r = ReplicaSetController.reconcile(rs: rs, pods: pods, now: at(5), randomSuffix: suffixes.next)
        #expect(r.actions.isEmpty)
        #expect(r.status.replicas == 2 && r.status.readyReplicas == 2 && r.status.availableReplicas == 2 && r.status.fullyLabeledReplicas == 2)
    }

    @Test func scaleDownRanksPods() {
        let rs = makeReplicaSet(replicas: 2)
        var pending = pod(rs, "pending", created: 0)
        pending.status = PodStatus()
        pending.status?.phase = "Pending"
        let pods = [
            pod(rs, "ready-old", created: 0).running(since: at(1)),
            pending,
            pod(rs, "ready-recent", created: 0).running(since: at(8)),
            pod(rs, "not-ready", created: 0).running(ready: false, since: at(1)),
            pod(rs, "ready-new", created: 5).running(since: at(1)),
        ]
        let r = ReplicaSetController.reconcile(rs: rs, pods: pods, now: at(10), randomSuffix: suffixes.next)
        #expect(r.deletedPods == ["pending", "not-ready", "ready-recent"])
        // Ready for the same time: the newer pod goes first.
        let r2 = ReplicaSetController.reconcile(rs: makeReplicaSet(replicas: 1), pods: [pods[0], pods[4]], now: at(10), randomSuffix: suffixes.next)
        #expect(r2.deletedPods == ["ready-new"])
    }

    @Test func unscheduledAndRestartedPodsGoFirst() {
        let rs = makeReplicaSet(replicas: 1)
        var restarted = pod(rs, "restarted", created: 0).running(since: at(1))
        restarted.status?.containerStatuses?[0].restartCount = 4
        let calm = pod(rs, "calm", created: 0).running(since: at(1))
        #expect(ReplicaSetController.reconcile(rs: rs, pods: [calm, restarted], now: at(10), randomSuffix: suffixes.next).deletedPods == ["restarted"])
        var unscheduled = calm
        unscheduled.metadata.name = "unscheduled"
        unscheduled.spec.nodeName = nil
        #expect(ReplicaSetController.reconcile(rs: rs, pods: [calm, unscheduled], now: at(10), randomSuffix: suffixes.next).deletedPods == ["unscheduled"])
    }

    @Test func failedPodIsDeletedAndReplaced() {
        let rs = makeReplicaSet(replicas: 2)
        let pods = [pod(rs, "ok", created: 0).running(since: at(1)), pod(rs, "bad", created: 0).failed(at: at(3))]
        let r = ReplicaSetController.reconcile(rs: rs, pods: pods, now: at(4), randomSuffix: suffixes.next)
        #expect(r.deletedPods == ["bad"])
        #expect(r.createdPods.count == 1)
        #expect(r.status.replicas == 1)
    }

    @Test func deletingPodsAreReplacedButNotDeletedAgain() {
        let rs = makeReplicaSet(replicas: 1)
        let pods = [pod(rs, "going", created: 0).running(since: at(1)).deleting(at: at(2))]
        let r = ReplicaSetController.reconcile(rs: rs, pods: pods, now: at(3), randomSuffix: suffixes.next)
        #expect(r.deletedPods.isEmpty && r.createdPods.count == 1)
    }

    @Test func availabilityWaitsForMinReadySeconds() {
        let rs = makeReplicaSet(replicas: 2, minReadySeconds: 10)
        let pods = [pod(rs, "a", created: 0).running(since: at(0)), pod(rs, "b", created: 0).running(since: at(5))]
        let r = ReplicaSetController.reconcile(rs: rs, pods: pods, now: at(12), randomSuffix: suffixes.next)
        #expect(r.status.readyReplicas == 2 && r.status.availableReplicas == 1)
        #expect(r.requeueAfter == .seconds(4))
    }

    @Test func podsOfOtherControllersAreIgnored() {
        let rs = makeReplicaSet(replicas: 1)
        var foreign = pod(rs, "foreign", created: 0).running(since: at(1))
        foreign.metadata.ownerReferences = [OwnerReference(apiVersion: "apps/v1", kind: "ReplicaSet", name: "x", uid: "x")]
        let r = ReplicaSetController.reconcile(rs: rs, pods: [foreign], now: at(2), randomSuffix: suffixes.next)
        #expect(r.createdPods.count == 1 && r.deletedPods.isEmpty)
    }
}
