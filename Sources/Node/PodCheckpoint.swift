import Cgroups
import ContainerRuntime
import Foundation
import KubeAPI
import PodLifecycle

/// What a pod worker on a persistent runtime (`tandem serve`) keeps on disk after every change,
/// so that the Tandem started after it was killed takes the pod over instead of starting it
/// afresh (`kubelet-rules.md` KR-1). The kubelet gets the same from the CRI runtime after its own
/// restart (ListPodSandbox, ListContainers, with the restart count and hash in the labels).
struct PodCheckpoint: Codable {
    /// One running container: where its shim record and log are, and the environment and
    /// working directory its exec probes, hooks and `kubectl exec` run with.
    struct Container: Codable {
        var stateDir: String
        var logPath: String
        var env: [String]
        var workingDir: String?
        var cgroup: CgroupName?
    }

    /// The pod as last seen, so a pod deleted while Tandem was down can still be torn down.
    var pod: Pod
    var runtime: PodRuntimeStatus
    var network: PodSandboxNetwork?
    /// The shim record directory of the sandbox's `pause` process.
    var sandboxStateDir: String?
    var sandboxCgroup: CgroupName?
    var containers: [String: Container]

    static func path(podDir: String) -> String { podDir + "/checkpoint.json" }

    static func load(podDir: String) -> PodCheckpoint? {
        guard let data = FileManager.default.contents(atPath: path(podDir: podDir)) else { return nil }
        return try? JSONDecoder().decode(PodCheckpoint.self, from: data)
    }
}

extension PodWorker {
    /// Pod directories (`ROOT/pods/<namespace>_<name>_<uid>`) holding a checkpoint, by pod UID.
    public static func checkpointedPods(root: String) -> [String: String] {
        var found: [String: String] = [:]
        let dir = root + "/pods"
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
            let podDir = dir + "/" + entry
            guard FileManager.default.fileExists(atPath: PodCheckpoint.path(podDir: podDir)),
                  let uid = entry.split(separator: "_").last else { continue }
            found[String(uid)] = podDir
        }
        return found
    }

    /// Tears down what a previous Tandem left running for a pod nobody adopts (deleted, or
    /// finished, while Tandem was down): its containers and sandbox (their shims are killed, and
    /// the containers with them), network, cgroups and volumes.
    public static func discard(podDir: String, context ctx: NodeContext) async {
        guard let checkpoint = PodCheckpoint.load(podDir: podDir) else { return }
        for c in checkpoint.containers.values {
            ctx.runtime.discard(stateDir: c.stateDir)
            ctx.runtime.removeState(stateDir: c.stateDir)
        }
        if let dir = checkpoint.sandboxStateDir { ctx.runtime.discard(stateDir: dir) }
        if let network = checkpoint.network { await ctx.network.tearDown(network, podUID: checkpoint.pod.uid) }
        if let cgroups = ctx.cgroups {
            cgroups.remove(.pod(uid: checkpoint.pod.uid, qosClass: PodStatusGenerator.qosClass(checkpoint.pod.spec)))
        }
        await VolumeManager(podDir: podDir, pod: checkpoint.pod, sources: VolumeSources()).tearDown()
        try? FileManager.default.removeItem(atPath: PodCheckpoint.path(podDir: podDir))
    }
}
