import Foundation
import Testing

/// `tandem bench idle` through the binary: it must count what it claims to count (the pods'
/// containers, a shim and a sandbox per pod) and leave no namespace or bridge behind.
@Suite struct BenchIdleTests {
    @Test func countsThePodsProcessesAndCleansUp() throws {
        let r = try Tandem.exec(Tandem.binary, ["bench", "idle", "--pods", "3", "--window", "1", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let figures = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(figures["containerProcesses"] as? Int == 3)
        // Per pod: the container's shim, the sandbox's shim and `pause`; plus the zygote.
        #expect((figures["runtimeProcesses"] as? Int ?? 0) >= 3 * 3 + 1)
        #expect((figures["supervisorRSSKiB"] as? Int ?? 0) > 0)
        #expect((figures["containerPSSKiB"] as? Int ?? 0) > 0)
        let namespaces = (try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []
        #expect(!namespaces.contains { $0.hasPrefix("tndidle-") }, "\(namespaces)")
        #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/tndidle0"))
    }
}
