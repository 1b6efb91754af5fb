import KubeAPI
import Testing
@testable import Node

/// containerd's capability arithmetic and the kubelet's OOM scores and runAsNonRoot check.
@Suite struct ContainerSecurityTests {
    func sc(add: [String]? = nil, drop: [String]? = nil, privileged: Bool? = nil) -> SecurityContext {
        var s = SecurityContext()
        s.capabilities = Capabilities(add: add, drop: drop)
        s.privileged = privileged
        return s
    }

    @Test func capabilitiesFollowContainerd() {
        #expect(ContainerSecurity.capabilities(nil) == 0xa804_25fb)
        #expect(ContainerSecurity.capabilities(sc(drop: ["ALL"])) == 0)
        #expect(ContainerSecurity.capabilities(sc(add: ["NET_ADMIN"], drop: ["ALL"])) == 1 << 12)
        #expect(ContainerSecurity.capabilities(sc(add: ["ALL"], drop: ["chown"])) == (1 << 41) - 2)
        // containerd prefixes `CAP_` itself: a prefixed name matches nothing and is ignored.
        #expect(ContainerSecurity.capabilities(sc(add: ["CAP_SYS_ADMIN", "NO_SUCH"])) == 0xa804_25fb)
        #expect(ContainerSecurity.capabilities(sc(drop: ["ALL"], privileged: true)) == nil)
    }

    @Test func oomScoresByQoS() {
        var c = Container(name: "c")
        #expect(ContainerSecurity.oomScoreAdj(qosClass: "Guaranteed", container: c, memoryCapacity: 1000) == -997)
        #expect(ContainerSecurity.oomScoreAdj(qosClass: "BestEffort", container: c, memoryCapacity: 1000) == 1000)
        #expect(ContainerSecurity.oomScoreAdj(qosClass: "Burstable", container: c, memoryCapacity: 1000) == 999)
        c.resources = ResourceRequirements(requests: ["memory": Quantity("250")])
        #expect(ContainerSecurity.oomScoreAdj(qosClass: "Burstable", container: c, memoryCapacity: 1000) == 750)
        c.resources = ResourceRequirements(requests: ["memory": Quantity("999")])
        #expect(ContainerSecurity.oomScoreAdj(qosClass: "Burstable", container: c, memoryCapacity: 1000) == 3)
    }

    @Test func runAsNonRootRefusesRoot() throws {
        var pod = Pod(metadata: ObjectMeta(name: "p", namespace: "ns"), spec: PodSpec(containers: [Container(name: "c")]))
        pod.metadata.uid = "u"
        var psc = PodSecurityContext()
        psc.runAsNonRoot = true
        pod.spec.securityContext = psc
        let imageRoot = #expect(throws: (any Error).self) { try ContainerSecurity.verifyRunAsNonRoot(pod, pod.spec.containers[0]) }
        #expect(imageRoot.map { "\($0)" } == "container has runAsNonRoot and image will run as root (pod: \"p_ns(u)\", container: c)")
        pod.spec.securityContext?.runAsUser = 0
        let uidZero = #expect(throws: (any Error).self) { try ContainerSecurity.verifyRunAsNonRoot(pod, pod.spec.containers[0]) }
        #expect(uidZero.map { "\($0)" } == "container's runAsUser breaks non-root policy (pod: \"p_ns(u)\", container: c)")
        pod.spec.containers[0].securityContext = SecurityContext()
        pod.spec.containers[0].securityContext?.runAsUser = 1000
        try ContainerSecurity.verifyRunAsNonRoot(pod, pod.spec.containers[0])
    }
}
