import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Pod sandboxes started ahead of their pods, as `PodNetwork` keeps ready network namespaces: a
/// pod's `pause` process (its IPC and UTS namespaces and its /dev/shm) is the first thing its
/// start waits for, and none of it depends on the pod. One ready sandbox per kind — with a UTS
/// namespace of its own, or the host's for `hostNetwork` pods — is handed to the next pod and
/// replaced shortly after, off that pod's path.
///
/// A taken sandbox gets the pod's identity afterwards: its directory is renamed to the one the
/// pod asked for (the pause process's /dev/shm mount follows the directory, not its path), the
/// pod's containers set its hostname as they join it.
/// Sandboxes that share the pod's PID namespace, or the host's PID or IPC namespace, are never
/// pooled, nor are a persistent runtime's (`tandem serve`), whose sandboxes must outlive it, nor
/// those of pods in cgroups (see `Runtime.startSandbox`): a node with cgroups keeps no pool.
struct SandboxPool {
    /// Where ready sandboxes keep their directories (`pool-<id>`, renamed when taken): the
    /// runtime's container state directory, so that the rename stays on one file system.
    var directory: String
    var ready: [Bool: Entry] = [:]
    var refills: [Bool: Task<Void, Never>] = [:]

    /// A ready sandbox: its pause process and the directory it keeps until a pod takes it.
    struct Entry {
        var process: ContainerProcess
        var stateDir: String
    }

    static let prefix = "pool-"
}

extension Runtime {
    /// Starts keeping ready sandboxes in `containersDir` (where the caller puts sandbox state
    /// directories). Directories of a killed run's ready sandboxes are removed first: their
    /// processes died with that run's lifeline.
    public func enableSandboxPool(containersDir: String) {
        guard !persistent else { return }
        try? Sys.mkdirs(containersDir)
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: containersDir)) ?? [] where entry.hasPrefix(SandboxPool.prefix) {
            removeState(stateDir: containersDir + "/" + entry)
        }
        sandboxPool.withLock { $0 = SandboxPool(directory: containersDir) }
        for ownUTS in [true, false] { refillSandbox(ownUTS: ownUTS, after: .zero) }
    }

    /// Stops keeping sandboxes: the ready ones are stopped and their directories removed, and
    /// refills under way are waited for, so nothing of the pool outlives the call.
    public func drainSandboxPool() async {
        guard let pool = sandboxPool.withLock({ p -> SandboxPool? in defer { p = nil }; return p }) else { return }
        for task in pool.refills.values { await task.value }
        for entry in pool.ready.values { await stopPooled(entry) }
    }

    /// A ready sandbox for a pod that asked for `stateDir`, renamed to it, or nil (none ready,
    /// or the pod needs a kind the pool does not keep).
    func takePooledSandbox(ownUTS: Bool, stateDir: String) -> (process: ContainerProcess, shmDir: String)? {
        guard let entry = sandboxPool.withLock({ p -> SandboxPool.Entry? in
            guard let dir = p?.directory, (stateDir as NSString).deletingLastPathComponent == dir else { return nil }
            return p?.ready.removeValue(forKey: ownUTS)
        }) else { return nil }
        refillSandbox(ownUTS: ownUTS, after: .milliseconds(100))
        guard !entry.process.hasExited, rename(entry.stateDir, stateDir) == 0 else {
            Task { await stopPooled(entry) }
            return nil
        }
        return (entry.process, stateDir + "/shm")
    }

    /// Starts a replacement after `delay`: a pod start that just took one should not compete
    /// with it for the CPU.
    private func refillSandbox(ownUTS: Bool, after delay: Duration) {
        sandboxPool.withLock { p in
            guard p != nil, p?.refills[ownUTS] == nil else { return }
            p?.refills[ownUTS] = Task.detached(priority: .utility) { [self] in
                if delay > .zero { try? await Task.sleep(for: delay) }
                let entry = await startPooled(ownUTS: ownUTS)
                let kept = sandboxPool.withLock { p -> Bool in
                    p?.refills[ownUTS] = nil
                    guard p != nil, let entry else { return false }
                    p?.ready[ownUTS] = entry
                    return true
                }
                if !kept, let entry { await stopPooled(entry) }
            }
        }
    }

    private func startPooled(ownUTS: Bool) async -> SandboxPool.Entry? {
        guard let dir = sandboxPool.withLock({ $0?.directory }) else { return nil }
        let stateDir = dir + "/" + SandboxPool.prefix + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        var isolation = ProcessIsolation()
        isolation.oomScoreAdj = Self.sandboxOOMScoreAdj
        // A placeholder hostname gives the sandbox a UTS namespace of its own; the pod's containers
        // set the real one as they join it.
        guard let started = try? await startFreshSandbox(id: "pool", hostname: ownUTS ? "localhost" : nil, shmDir: stateDir + "/shm",
                                                         isolation: isolation) else {
            removeState(stateDir: stateDir)
            return nil
        }
        return SandboxPool.Entry(process: started.process, stateDir: stateDir)
    }

    private func stopPooled(_ entry: SandboxPool.Entry) async {
        entry.process.signal(SIGKILL)
        _ = await entry.process.wait()
        removeState(stateDir: entry.stateDir)
    }

    /// The kubelet's `PodInfraOOMAdj`, which every sandbox gets; a pooled one is started with it.
    public static let sandboxOOMScoreAdj = -998
}
