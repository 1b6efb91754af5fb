import Cgroups
import KubeAPI
import Testing

/// The kubelet's conversions (pkg/kubelet/cm/helpers_linux_test.go's cases) and the cgroupfs layout.
struct ResourceMathTests {
    @Test func milliCPUToSharesFollowsTheKubelet() {
        #expect(ResourceMath.milliCPUToShares(0) == 2)
        #expect(ResourceMath.milliCPUToShares(1) == 2)
        #expect(ResourceMath.milliCPUToShares(200) == 204)
        #expect(ResourceMath.milliCPUToShares(1000) == 1024)
        #expect(ResourceMath.milliCPUToShares(500_000) == 262_144)
    }

    @Test func milliCPUToQuotaHasAOneMillisecondFloor() {
        #expect(ResourceMath.milliCPUToQuota(0) == 0)
        #expect(ResourceMath.milliCPUToQuota(5) == 1000)
        #expect(ResourceMath.milliCPUToQuota(200) == 20_000)
        #expect(ResourceMath.milliCPUToQuota(1500) == 150_000)
    }

    @Test func sharesToWeightMapsOntoTheV2Range() {
        #expect(ResourceMath.sharesToWeight(2) == 1)
        #expect(ResourceMath.sharesToWeight(1024) == 39)
        #expect(ResourceMath.sharesToWeight(262_144) == 10_000)
    }

    private func container(_ name: String, requests: [String: String] = [:], limits: [String: String] = [:]) -> Container {
        var c = Container(name: name)
        c.resources = ResourceRequirements(limits: limits.mapValues(Quantity.init), requests: requests.mapValues(Quantity.init))
        return c
    }

    @Test func containerCgroupTakesItsOwnRequestAndLimits() {
        let c = ResourceMath.container(container("a", requests: ["cpu": "100m"], limits: ["cpu": "200m", "memory": "32Mi"]))
        #expect(c == ResourceConfig(cpuShares: 102, cpuQuota: 20_000, cpuPeriod: 100_000, memoryLimit: 33_554_432))
        #expect(ResourceMath.container(container("b")) == ResourceConfig(cpuShares: 2))
    }

    @Test func podCgroupLimitsOnlyWhenEveryContainerDeclaresThem() {
        let spec = PodSpec(containers: [container("a", requests: ["cpu": "100m"], limits: ["cpu": "200m", "memory": "32Mi"]),
                                        container("b", requests: ["cpu": "300m"], limits: ["memory": "64Mi"])])
        let pod = ResourceMath.pod(spec, qosClass: "Burstable")
        #expect(pod == ResourceConfig(cpuShares: 409, memoryLimit: 100_663_296))
        #expect(ResourceMath.pod(PodSpec(containers: [container("a")]), qosClass: "BestEffort") == ResourceConfig(cpuShares: 2))
    }

    @Test func podTotalsTakeTheLargestInitContainer() {
        let spec = PodSpec(containers: [container("a", requests: ["cpu": "100m"], limits: ["cpu": "100m", "memory": "10Mi"])],
                           initContainers: [container("i", limits: ["cpu": "500m", "memory": "5Mi"])])
        #expect(ResourceMath.pod(spec, qosClass: "Burstable").cpuQuota == 50_000)
        #expect(ResourceMath.pod(spec, qosClass: "Burstable").memoryLimit == Int64(10 * 1_048_576))
    }

    /// The API server accepts quantities beyond int64 (`8Ei`, `1e16` CPUs) and apimachinery's
    /// `Value()` saturates: so must every conversion and sum here, where a trap would crash Tandem.
    @Test func quantitiesBeyondInt64Saturate() {
        let spec = PodSpec(containers: [container("a", requests: ["memory": "5Ei", "cpu": "1"], limits: ["cpu": "1e16", "memory": "99999999999999999999999Ei"]),
                                        container("b", requests: ["memory": "5Ei", "cpu": "10000000000000000000"], limits: ["cpu": "1e16", "memory": "8Ei"])])
        #expect(ResourceMath.podRequests(spec) == (milliCPU: .max, memory: .max))
        let pod = ResourceMath.pod(spec, qosClass: "Burstable")
        #expect(pod.cpuShares == 262_144)
        #expect(pod.cpuQuota == ResourceMath.maxQuota)
        #expect(pod.memoryLimit == .max)
        #expect(ResourceMath.container(spec.containers[0]) == ResourceConfig(cpuShares: 1024, cpuQuota: ResourceMath.maxQuota, cpuPeriod: 100_000, memoryLimit: .max))
        #expect(Quantity("8Ei").int64Value == .max)
        #expect(Quantity("-8Ei").int64Value == .min)
        #expect(Quantity("1.5").milliValue == 1500)
    }

    @Test func layoutIsTheCgroupfsDriversByQoS() {
        #expect(CgroupName.pod(uid: "u", qosClass: "Guaranteed").path == "kubepods/podu")
        #expect(CgroupName.pod(uid: "u", qosClass: "Burstable").path == "kubepods/burstable/podu")
        #expect(CgroupName.pod(uid: "u", qosClass: "BestEffort").path == "kubepods/besteffort/podu")
    }
}
