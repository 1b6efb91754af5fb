import KubeAPI
import PodLifecycle
import Testing

/// `status.qosClass` as `GetPodQOS` computes it (pkg/apis/core/v1/helper/qos/qos_test.go's cases).
struct QOSTests {
    func container(_ name: String, requests: [String: String] = [:], limits: [String: String] = [:]) -> Container {
        var c = Container(name: name)
        c.resources = ResourceRequirements(limits: limits.mapValues(Quantity.init), requests: requests.mapValues(Quantity.init))
        return c
    }

    @Test func bestEffortWithoutCPUOrMemory() {
        #expect(PodStatusGenerator.qosClass(PodSpec(containers: [container("a")])) == "BestEffort")
        // Only CPU and memory count, and zero is no value.
        let other = container("a", requests: ["ephemeral-storage": "1Gi", "cpu": "0"], limits: ["ephemeral-storage": "1Gi"])
        #expect(PodStatusGenerator.qosClass(PodSpec(containers: [other])) == "BestEffort")
    }

    @Test func guaranteedWhenEveryContainerLimitsBothAtItsRequests() {
        let full = container("a", requests: ["cpu": "100m", "memory": "16Mi"], limits: ["cpu": "0.1", "memory": "16Mi"])
        #expect(PodStatusGenerator.qosClass(PodSpec(containers: [full, full])) == "Guaranteed")
        let initToo = PodSpec(containers: [full], initContainers: [container("i", requests: ["cpu": "100m", "memory": "16Mi"], limits: ["cpu": "100m", "memory": "16Mi"])])
        #expect(PodStatusGenerator.qosClass(initToo) == "Guaranteed")
    }

    @Test func burstableOtherwise() {
        let full = container("a", requests: ["cpu": "100m", "memory": "16Mi"], limits: ["cpu": "100m", "memory": "16Mi"])
        #expect(PodStatusGenerator.qosClass(PodSpec(containers: [full, container("b")])) == "Burstable")
        #expect(PodStatusGenerator.qosClass(PodSpec(containers: [container("a", limits: ["memory": "32Mi"])])) == "Burstable")
        let below = container("a", requests: ["cpu": "50m", "memory": "16Mi"], limits: ["cpu": "100m", "memory": "16Mi"])
        #expect(PodStatusGenerator.qosClass(PodSpec(containers: [below])) == "Burstable")
    }
}
