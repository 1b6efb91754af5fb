import Foundation
import KubeAPI
#if canImport(Glibc)
import Glibc
#endif

/// The ConfigMaps and Secrets a pod's volumes may name, keyed by name, from the pod's namespace
/// only (the kubelet's configmap and secret managers, which fetch per namespace).
public struct VolumeSources: Sendable, Equatable {
    public var configMaps: [String: ConfigMap]
    public var secrets: [String: Secret]
    /// Where `serviceAccountToken` projections get their tokens (the kubelet's token manager);
    /// nil where there is no API server to issue them (`tandem run`).
    public var tokens: (any ServiceAccountTokenSource)?

    public init(configMaps: [String: ConfigMap] = [:], secrets: [String: Secret] = [:], tokens: (any ServiceAccountTokenSource)? = nil) {
        self.configMaps = configMaps
        self.secrets = secrets
        self.tokens = tokens
    }

    /// The same contents: the token source is the node's one, not part of what changed.
    public static func == (a: VolumeSources, b: VolumeSources) -> Bool {
        a.configMaps == b.configMaps && a.secrets == b.secrets
    }
}

/// The kubelet's token manager (`pkg/kubelet/token`) as projected volumes see it: a token for
/// the pod's service account, bound to the pod, for an audience and lifetime; the same token
/// again until 80% of its lifetime has passed, then a new one.
public protocol ServiceAccountTokenSource: Sendable {
    func token(for pod: Pod, audience: String?, expirationSeconds: Int64) throws -> String
}

/// A volume ready on the host: what a container's `volumeMounts` bind-mount.
public struct MountedVolume: Sendable, Hashable {
    public let name: String
    /// The directory (or, for a hostPath file/socket/device, the file) to bind-mount.
    public let hostPath: String
    public let isFile: Bool
    /// The plugin's `GetAttributes().ReadOnly`: configMap, secret, downwardAPI and projected
    /// volumes are mounted read-only whatever the volumeMount says (`makeMounts`' `mustMountRO`).
    public let readOnly: Bool

    public init(name: String, hostPath: String, isFile: Bool, readOnly: Bool = false) {
        self.name = name
        self.hostPath = hostPath
        self.isFile = isFile
        self.readOnly = readOnly
    }
}

/// The kubelet's volume manager for one pod (pkg/kubelet/volumemanager, with the emptyDir,
/// hostPath, configMap, secret, downwardAPI and projected plugins it drives).
///
/// Directories follow the kubelet's layout, `<podDir>/volumes/kubernetes.io~<plugin>/<name>`,
/// so that tools and people who know the kubelet find things where they expect them.
/// Secret, downwardAPI and projected volumes sit on a tmpfs (their plugins wrap an emptyDir with
/// `medium: Memory`, so secrets never reach the disk); configMap volumes on the disk.
public actor VolumeManager {
    public let podDir: String
    private var pod: Pod
    private var sources: VolumeSources
    private let allocatable: NodeAllocatable
    private var mounted: [String: MountedVolume] = [:]

    public init(podDir: String, pod: Pod, sources: VolumeSources, nodeAllocatable: NodeAllocatable = .host) {
        self.podDir = podDir
        self.pod = pod
        self.sources = sources
        self.allocatable = nodeAllocatable
    }

    static let emptyDirPlugin = "kubernetes.io~empty-dir"
    static let configMapPlugin = "kubernetes.io~configmap"
    static let secretPlugin = "kubernetes.io~secret"
    static let downwardAPIPlugin = "kubernetes.io~downward-api"
    static let projectedPlugin = "kubernetes.io~projected"

    /// The host directory of a pod volume (`getPodVolumeDir`).
    public nonisolated func volumeDir(plugin: String, name: String) -> String {
        podDir + "/volumes/" + plugin + "/" + name
    }

    /// Mounts every volume of the pod (`WaitForAttachAndMount` → each plugin's `SetUpAt`).
    /// Idempotent: a volume already set up is refreshed, a tmpfs already mounted is kept. Throws
    /// the first failure as the kubelet's `FailedMount` text.
    public func setUp() async throws -> [String: MountedVolume] {
        for volume in pod.spec.volumes ?? [] {
            do {
                mounted[volume.name] = try setUp(volume)
            } catch let e as VolumeError {
                throw VolumeError(volume: volume.name, e.message)
            } catch {
                throw VolumeError(volume: volume.name, "\(error)")
            }
        }
        return mounted
    }

    /// Re-projects configMap, secret, downwardAPI and projected volumes from a newer pod (labels,
    /// annotations) and newer objects, through `AtomicWriter` so that readers see one version or
    /// the other: the kubelet's periodic remount of these volumes during `SyncPod`. Every volume
    /// is attempted; the first failure is thrown.
    public func update(pod: Pod, sources: VolumeSources) async throws {
        self.pod = pod
        self.sources = sources
        var first: VolumeError?
        for volume in pod.spec.volumes ?? [] where isProjectedKind(volume) {
            do {
                try project(volume)
            } catch let e as VolumeError {
                if first == nil { first = VolumeError(volume: volume.name, e.message) }
            } catch {
                if first == nil { first = VolumeError(volume: volume.name, "\(error)") }
            }
        }
        if let first { throw first }
    }

    /// Unmounts every tmpfs and removes every volume directory of the pod (`TearDownAt`, then the
    /// kubelet's orphaned-volume cleanup). Works from what is on disk, so it also cleans volumes
    /// left by an earlier Tandem. hostPath volumes are never touched. Never throws.
    public func tearDown() async {
        let fm = FileManager.default
        let root = podDir + "/volumes"
        for plugin in (try? fm.contentsOfDirectory(atPath: root)) ?? [] {
            let pluginDir = root + "/" + plugin
            for name in (try? fm.contentsOfDirectory(atPath: pluginDir)) ?? [] {
                let dir = pluginDir + "/" + name
                if Mounts.fsType(at: dir) != nil {
                    _ = Mounts.unmount(dir)
                    // Still mounted (unmount refused): leave it rather than empty a live mount.
                    if Mounts.fsType(at: dir) != nil { continue }
                }
                Mounts.removeAll(dir)
            }
            rmdir(pluginDir)
        }
        rmdir(root)
        mounted = [:]
    }

    // MARK: - Per plugin

    private func isProjectedKind(_ v: Volume) -> Bool {
        v.configMap != nil || v.secret != nil || v.downwardAPI != nil || v.projected != nil
    }

    private func setUp(_ volume: Volume) throws -> MountedVolume {
        if let e = volume.emptyDir {
            let dir = volumeDir(plugin: Self.emptyDirPlugin, name: volume.name)
            try makeEmptyDir(dir, memory: e.medium == "Memory", sizeLimit: e.sizeLimit)
            if let fsGroup = pod.spec.securityContext?.fsGroup { VolumeOwnership.apply(dir, fsGroup: fsGroup, readOnly: false) }
            return MountedVolume(name: volume.name, hostPath: dir, isFile: false)
        }
        if let h = volume.hostPath {
            let isFile = try HostPathType.check(h.path, type: h.type)
            return MountedVolume(name: volume.name, hostPath: h.path, isFile: isFile)
        }
        if isProjectedKind(volume) {
            let dir = try project(volume)
            return MountedVolume(name: volume.name, hostPath: dir, isFile: false, readOnly: true)
        }
        let kind = volume.persistentVolumeClaim != nil ? "persistentVolumeClaim"
            : volume.nfs != nil ? "nfs" : volume.csi != nil ? "csi"
            : volume.ephemeral != nil ? "ephemeral" : volume.image != nil ? "image" : "unknown"
        throw VolumeError("volume type \(kind) is not supported by Tandem")
    }

    /// Builds the payload of a configMap/secret/downwardAPI/projected volume and writes it with
    /// `AtomicWriter`, making the (wrapped emptyDir) directory first. Returns the directory.
    @discardableResult
    private func project(_ volume: Volume) throws -> String {
        let plugin: String
        let memory: Bool
        let payload: [String: FileProjection]
        if let c = volume.configMap {
            plugin = Self.configMapPlugin
            memory = false
            let name = c.name ?? ""
            let optional = c.optional ?? false
            // The configmap manager's NotFound: `configmap "x" not found`.
            guard let cm = sources.configMaps[name] ?? (optional ? Payloads.emptyConfigMap(name) : nil) else {
                throw VolumeError("configmap \"\(name)\" not found")
            }
            payload = try Payloads.configMap(c.items, cm, defaultMode: c.defaultMode ?? Payloads.defaultMode, optional: optional)
        } else if let s = volume.secret {
            plugin = Self.secretPlugin
            memory = true
            let name = s.secretName ?? ""
            let optional = s.optional ?? false
            guard let secret = sources.secrets[name] ?? (optional ? Payloads.emptySecret(name) : nil) else {
                throw VolumeError("secret \"\(name)\" not found")
            }
            payload = try Payloads.secret(s.items, secret, defaultMode: s.defaultMode ?? Payloads.defaultMode, optional: optional)
        } else if let d = volume.downwardAPI {
            plugin = Self.downwardAPIPlugin
            memory = true
            payload = try Payloads.downwardAPI(d.items, pod: pod, defaultMode: d.defaultMode ?? Payloads.defaultMode, allocatable: allocatable)
        } else if let p = volume.projected {
            plugin = Self.projectedPlugin
            memory = true
            payload = try Payloads.projected(p, pod: pod, sources: sources, allocatable: allocatable)
        } else {
            throw VolumeError("not a projected volume")
        }
        let dir = volumeDir(plugin: plugin, name: volume.name)
        // The payload is computed before anything is created: a missing object leaves no trace.
        try makeEmptyDir(dir, memory: memory, sizeLimit: nil)
        try AtomicWriter(targetDir: dir).write(payload)
        // These plugins mount read-only: group read, never write.
        if let fsGroup = pod.spec.securityContext?.fsGroup { VolumeOwnership.apply(dir, fsGroup: fsGroup, readOnly: true) }
        return dir
    }

    /// The emptyDir plugin's `SetUpAt`: `setupDir` (mode 0777 regardless of umask), then for
    /// `medium: Memory` a tmpfs unless one is already mounted there.
    private func makeEmptyDir(_ dir: String, memory: Bool, sizeLimit: Quantity?) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(dir, 0o777)
        guard memory, Mounts.fsType(at: dir) != "tmpfs" else { return }
        try Mounts.mountTmpfs(at: dir, sizeBytes: try memorySize(sizeLimit))
    }

    /// `calculateEmptyDirMemorySize`: node allocatable memory, lowered to the pod's memory limit
    /// when every container has one, lowered to the volume's `sizeLimit` when that is smaller.
    private func memorySize(_ sizeLimit: Quantity?) throws -> Int64 {
        var size = Decimal(allocatable.memoryBytes)
        func memLimit(_ c: Container) -> Decimal? {
            c.resources?.limits?["memory"]?.exactValue
        }
        let regular = pod.spec.containers.map(memLimit)
        let inits = (pod.spec.initContainers ?? []).map(memLimit)
        if !regular.isEmpty, regular.allSatisfy({ $0 != nil }), inits.allSatisfy({ $0 != nil }) {
            let sum = regular.reduce(Decimal(0)) { $0 + $1! }
            let podLimit = max(sum, inits.map { $0! }.max() ?? 0)
            if podLimit > 0 && podLimit <= size { size = podLimit }
        }
        if let sizeLimit {
            guard let v = sizeLimit.exactValue else { throw VolumeError("invalid sizeLimit \(sizeLimit)") }
            if v > 0 && v <= size { size = v }
        }
        return Int64(truncating: NSDecimalNumber(decimal: size))
    }
}
