import Foundation
import KubeAPI
import Testing
@testable import Controllers

/// The disruption controller's status: healthy and desired counts for integer, percentage and
/// maxUnavailable budgets, and pods the eviction subresource let go.
@Suite struct DisruptionControllerTests {
    func budget(_ spec: String, status: String = "null") -> PodDisruptionBudget {
        decode(#"{"metadata":{"name":"web","namespace":"default","generation":2},"spec":\#(spec),"status":\#(status)}"#)
    }

    func pod(_ name: String, ready: Bool, deleting: Bool = false, app: String = "web") -> Pod {
        decode(#"""
        {"metadata":{"name":"\#(name)","namespace":"default","uid":"u-\#(name)","labels":{"app":"\#(app)"},
                     "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-abc","uid":"rs-uid","controller":true}]
                     \#(deleting ? #","deletionTimestamp":"2023-11-14T22:13:20Z""# : "")},
         "spec":{"containers":[{"name":"main","image":"busybox"}]},
         "status":{"phase":"Running","conditions":[{"type":"Ready","status":"\#(ready ? "True" : "False")"}]}}
        """#)
    }

    let selector = #""selector":{"matchLabels":{"app":"web"}}"#

    @Test func anIntegerMinAvailableCountsTheCoveredPods() {
        let pods = [pod("a", ready: true), pod("b", ready: true), pod("c", ready: false), pod("other", ready: true, app: "db")]
        let (status, recheck) = DisruptionController.status(budget(#"{"minAvailable":1,\#(selector)}"#), pods: pods, replicaSets: [],
                                                            deployments: [], now: t0)
        #expect(status.currentHealthy == 2 && status.desiredHealthy == 1 && status.expectedPods == 3 && status.disruptionsAllowed == 1)
        #expect(status.observedGeneration == 2 && recheck == nil)
        #expect(status.conditions?.first?.reason == "SufficientPods" && status.conditions?.first?.status == "True")
    }

    @Test func maxUnavailableAndPercentagesUseTheControllersScale() {
        let rs: ReplicaSet = decode(#"""
            {"metadata":{"name":"web-abc","namespace":"default","uid":"rs-uid"},"spec":{"replicas":4,"selector":{"matchLabels":{"app":"web"}},
             "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"main","image":"busybox"}]}}}}
            """#)
        let pods = [pod("a", ready: true), pod("b", ready: true), pod("c", ready: true)]
        let max = DisruptionController.status(budget(#"{"maxUnavailable":"50%",\#(selector)}"#), pods: pods, replicaSets: [rs],
                                              deployments: [], now: t0).status
        #expect(max.expectedPods == 4 && max.desiredHealthy == 2 && max.disruptionsAllowed == 1)
        let min = DisruptionController.status(budget(#"{"minAvailable":"80%",\#(selector)}"#), pods: pods, replicaSets: [rs],
                                              deployments: [], now: t0).status
        // 80% of 4 rounds up to 4: nothing may go.
        #expect(min.desiredHealthy == 4 && min.disruptionsAllowed == 0 && min.conditions?.first?.reason == "InsufficientPods")
    }

    @Test func evictedPodsDoNotCountUntilTheyGoOrTimeOut() {
        let stamp = Timestamp.string(t0)
        let evicted = budget(#"{"minAvailable":1,\#(selector)}"#,
                             status: #"{"disruptedPods":{"a":"\#(stamp)","gone":"\#(stamp)"},"disruptionsAllowed":0,"currentHealthy":1,"desiredHealthy":1,"expectedPods":2}"#)
        let pods = [pod("a", ready: true), pod("b", ready: true)]
        let soon = DisruptionController.status(evicted, pods: pods, replicaSets: [], deployments: [], now: at(30))
        #expect(soon.status.currentHealthy == 1 && soon.status.disruptedPods == ["a": stamp] && soon.recheck == at(120))
        let later = DisruptionController.status(evicted, pods: pods, replicaSets: [], deployments: [], now: at(121))
        #expect(later.status.currentHealthy == 2 && later.status.disruptedPods == nil && later.status.disruptionsAllowed == 1)
        // A pod being deleted is neither healthy nor kept in the map.
        let deleting = DisruptionController.status(evicted, pods: [pod("a", ready: true, deleting: true), pod("b", ready: true)],
                                                   replicaSets: [], deployments: [], now: at(30))
        #expect(deleting.status.currentHealthy == 1 && deleting.status.disruptedPods == nil)
    }
}
