import CTandemInit
import Foundation
import Testing
@testable import ContainerRuntime
#if canImport(Glibc)
import Glibc
#endif

@Suite("SandboxPool") struct SandboxPoolTests {
    /// A pod's sandbox taken from the pool is the pod's own: its directory is the one asked for,
    /// its containers get the pod's hostname, the pod's volumes (mounted after the sandbox was
    /// made) and share its /dev/shm and IPC namespace, the host's
    /// hostname is untouched, and draining the pool leaves no directory or process behind.
    @Test func pooledSandboxTakesThePodsIdentity() async throws {
        let scratch = try Scratch()
        let runtime = try Runtime(logEcho: nil)
        let containers = scratch.dir + "/containers"
        runtime.enableSandboxPool(containersDir: containers)
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        while runtime.sandboxPool.withLock({ $0?.ready.count ?? 0 }) < 2, clock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let pooledPids = runtime.sandboxPool.withLock { p in Set((p?.ready.values.map(\.process.pid)) ?? []) }
        try #require(pooledPids.count == 2)

        let stateDir = containers + "/sandbox1"
        let (pause, sandbox) = try await runtime.startSandbox(id: "pod1", hostname: "web-1", shmDir: scratch.dir + "/shm-unused",
                                                              stateDir: stateDir)
        #expect(pooledPids.contains(pause.pid))
        #expect(sandbox.shmDir == stateDir + "/shm")
        #expect(FileManager.default.fileExists(atPath: stateDir + "/shm"))
        #expect(!FileManager.default.fileExists(atPath: scratch.dir + "/shm-unused"))

        // A tmpfs volume mounted on the host after the pooled sandbox was made, as the kubelet
        // mounts a pod's secret volumes: the host's / is private here, so only a volume taken
        // from the host's mount namespace shows its files.
        let volume = scratch.dir + "/secret-volume"
        try FileManager.default.createDirectory(atPath: volume, withIntermediateDirectories: true)
        try #require(mount("tmpfs", volume, "tmpfs", 0, "size=1m") == 0)
        defer { umount2(volume, Int32(MNT_DETACH)) }
        try "s3cret\n".write(toFile: volume + "/password", atomically: false, encoding: .utf8)

        func run(_ script: String) async throws -> [String] {
            var spec = scratch.spec(["sh", "-c", script], mounts: [BindMount(source: volume, target: "/etc/secret", readOnly: true)])
            spec.hostname = nil
            spec.sandbox = sandbox
            let c = try await runtime.start(spec)
            #expect(await c.wait().exitCode == 0)
            defer { runtime.removeState(spec) }
            return try criRecords(spec.logPath).map(\.text)
        }
        let first = try await run("cat /proc/sys/kernel/hostname; echo shared > /dev/shm/x; readlink /proc/self/ns/ipc")
        let second = try await run("cat /proc/sys/kernel/hostname; cat /dev/shm/x; cat /etc/secret/password; readlink /proc/self/ns/ipc")
        #expect(first.first == "web-1")
        #expect(second.first == "web-1")
        #expect(second.dropFirst().first == "shared")
        #expect(second.dropFirst(2).first == "s3cret", "a volume mounted after the sandbox was made: \(second)")
        #expect(first.last == second.last)
        let hostIPC = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/ipc")
        #expect(first.last != hostIPC)
        var uts = utsname()
        uname(&uts)
        let hostName = withUnsafeBytes(of: uts.nodename) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        #expect(hostName != "web-1")

        pause.signal(SIGKILL)
        _ = await pause.wait()
        runtime.removeState(stateDir: stateDir)
        await runtime.drainSandboxPool()
        #expect((try FileManager.default.contentsOfDirectory(atPath: containers)).isEmpty)
        for pid in pooledPids where pid != pause.pid { #expect(!isAlive(pid)) }
    }

    /// A sandbox attaches none of the host trees its spare cloned ahead, nor uses its prepared
    /// root: once its `pause` is ready, neither it nor its shim holds them (a detached clone pins
    /// the host's mounts below /dev/pts, /sys, /home, /media, /mnt and /srv, so that the host
    /// could not unmount them, and a prepared root holds clones of them).
    @Test func aReadySandboxPinsNoHostTrees() async throws {
        let scratch = try Scratch()
        let runtime = try Runtime(logEcho: nil)
        let (pause, _) = try await runtime.startSandbox(id: "pod1", hostname: "pinless", shmDir: scratch.dir + "/shm",
                                                        stateDir: scratch.dir + "/sandbox")
        defer {
            pause.signal(SIGKILL)
            runtime.removeState(stateDir: scratch.dir + "/sandbox")
        }
        let shim = try #require(pause.shimPid)
        func treeFDs(_ pid: pid_t) -> [Int32] {
            // The host trees' numbers and the prepared root's after them.
            (TANDEM_HOST_TREE_FD...TANDEM_PREPARED_ROOT_FD).filter { access("/proc/\(pid)/fd/\($0)", F_OK) == 0 }
        }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(5)
        while !(treeFDs(shim) + treeFDs(pause.pid)).isEmpty, clock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(treeFDs(pause.pid).isEmpty, "pause holds host trees")
        #expect(treeFDs(shim).isEmpty, "the sandbox's shim holds host trees")
        #expect(isAlive(pause.pid))
        pause.signal(SIGKILL)
        _ = await pause.wait()
    }
}
