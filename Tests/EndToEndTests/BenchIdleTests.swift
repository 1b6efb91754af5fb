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
        // Per pod: the container's shim, the sandbox's shim and `pause`; plus the zygote and its spares.
        #expect((figures["runtimeProcesses"] as? Int ?? 0) >= 3 * 3 + 1)
        #expect((figures["supervisorRSSKiB"] as? Int ?? 0) > 0)
        #expect((figures["containerPSSKiB"] as? Int ?? 0) > 0)
        let namespaces = (try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []
        #expect(!namespaces.contains { $0.hasPrefix("tndidle-") }, "\(namespaces)")
        #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/tndidle0"))
    }
}

/// A `tandem bench` stopped by SIGTERM (or Ctrl-C) mid-measurement still removes its scratch
/// root, its network namespaces and its bridge, and exits with 130.
@Suite struct BenchInterruptTests {
    @Test func aSignalledBenchCleansUpAndExits130() throws {
        let before = Set((try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []).filter { $0.hasPrefix("tandem-bench.") }
        let namespaces = { Set((try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []).filter { $0.hasPrefix("tndbench-") } }
        let namespacesBefore = namespaces()
        let bench = Process()
        bench.executableURL = URL(fileURLWithPath: Tandem.binary)
        bench.arguments = ["bench", "--pod-start-only", "--iterations", "10000"]
        bench.standardOutput = FileHandle.nullDevice
        bench.standardError = FileHandle.nullDevice
        try bench.run()
        defer { if bench.isRunning { kill(bench.processIdentifier, SIGKILL) } }
        #expect(waitUntil(30) { !namespaces().subtracting(namespacesBefore).isEmpty }, "the bench made its pool's network namespace")
        kill(bench.processIdentifier, SIGTERM)
        bench.waitUntilExit()
        #expect(bench.terminationStatus == 130)
        let after = Set((try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []).filter { $0.hasPrefix("tandem-bench.") }
        #expect(after.subtracting(before).isEmpty, "\(after.subtracting(before))")
        #expect(namespaces().subtracting(namespacesBefore).isEmpty, "\(namespaces())")
        #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/tndbench0"))
    }
}
