import Foundation
import KubeAPI
#if canImport(Glibc)
import Glibc
#endif

/// Where and how pod networks are made.
public struct PodNetworkConfig: Sendable {
    /// Kept for callers that place network state beside their root; the machine-wide state
    /// (leases, sandbox records) lives in `runDir`.
    public var stateDir: String
    /// Machine-wide network state: CNI result cache (`sandboxes/`) and host-local leases
    /// (`ipam/`). Every Tandem on the machine shares the bridge and the subnet, so they must
    /// share the leases too, or two of them would hand out the same IP. Under /run, like the
    /// named namespaces themselves, so a reboot clears both together.
    public var runDir = "/run/tandem/net"
    /// The Linux bridge every pod's veth is attached to; its address is the gateway.
    public var bridge = "tandem0"
    /// Podman's default pod subnet.
    public var subnet = "10.88.0.0/16"
    public var cniPath = "/usr/lib/cni"
    /// Named network namespaces are `<prefix><first 12 of the pod UID>` under /run/netns.
    /// `cleanupStale` removes every namespace with this prefix, so tests use their own.
    public var netnsPrefix = "tandem-"
    /// The CNI network name; host-local keeps its leases in `ipam/<networkName>/`.
    public var networkName = "tandem"
    /// The Service IP range, routed from each pod to the bridge gateway where the Service rules
    /// are (pods have no default route). Nil: no route.
    public var serviceCIDR: String?

    /// How many ready sandboxes (namespace made, CNI ADD done) to keep for the next pods, so that
    /// the ~30 ms of network set-up is off a pod's critical path. 0 disables the pool.
    public var poolSize = 0

    /// The state root of a `tandem serve`, whose pods outlive it: its sandboxes are left to it
    /// (to adopt or release when it starts again on that root), not to whichever other Tandem
    /// cleans up first while it is down. Nil for `tandem run`, whose pods die with it.
    public var persistentRoot: String?

    public init(stateDir: String) { self.stateDir = stateDir }

    var ipamDataDir: String { runDir + "/ipam" }
    var cacheDir: String { runDir + "/sandboxes" }
}

/// A pod's network sandbox: the namespace every container of the pod joins, and its IP.
public struct PodSandboxNetwork: Sendable, Hashable, Codable {
    public let netnsPath: String
    public let ip: String
    public let netnsName: String
    /// Wall time of `setUp` (namespace creation plus both CNI ADDs): the "network set-up" figure.
    public let setupDuration: Duration
    /// Whether the sandbox came ready-made from the pool (its set-up was off the pod's path).
    public let fromPool: Bool

    public init(netnsPath: String, ip: String, netnsName: String, setupDuration: Duration = .zero, fromPool: Bool = false) {
        self.netnsPath = netnsPath
        self.ip = ip
        self.netnsName = netnsName
        self.setupDuration = setupDuration
        self.fromPool = fromPool
    }
}

/// What Tandem remembers about a sandbox between set-up and tear-down, and across restarts:
/// libcni's result cache (`/var/lib/cni/results/<net>-<id>-<if>`), kept under Tandem's root.
struct SandboxRecord: Codable, Sendable {
    var podUID: String
    var containerID: String
    var netnsPath: String
    var result: JSONValue?
    /// The Tandem process that made the sandbox, and its start time (to survive PID reuse):
    /// `cleanupStale` releases only sandboxes whose owner is gone.
    var ownerPID: Int32?
    var ownerStart: String?
    /// The owner's `persistentRoot`: a `tandem serve` that may come back for this sandbox.
    var adoptableBy: String?
}

/// Identifies a process across PID reuse: field 22 (start time) of `/proc/PID/stat`.
public func processStartTime(_ pid: Int32) -> String? {
    guard let fields = processStat(pid), fields.count > 19 else { return nil }
    return String(fields[19])
}

/// The fields of `/proc/PID/stat` after the command name (so [0] is the state, [1] the parent).
func processStat(_ pid: Int32) -> [Substring]? {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
    let text = String(decoding: data, as: UTF8.self)
    guard let close = text.lastIndex(of: ")") else { return nil }
    return text[text.index(after: close)...].split(separator: " ")
}

/// The pod network sandbox, made the way containerd's CRI plugin makes one in
/// `RunPodSandbox` → `setupPodNetwork`: a new named network namespace (`netns.NewNetNS`), then
/// the CNI network list invoked on it (`cni.Setup` → libcni `AddNetworkList`: loopback, then
/// bridge). Tear-down mirrors `teardownPodNetwork` (`DelNetworkList`, plugins in reverse order)
/// followed by `RemovePodSandbox` removing the namespace.
public actor PodNetwork {
    public let config: PodNetworkConfig
    static let ipTool = "/usr/sbin/ip"
    static let netnsDir = "/run/netns"

    /// Namespaces set up by this actor and not yet torn down; `cleanupStale` leaves them alone.
    private var live: Set<String> = []
    /// Ready sandboxes not yet given to a pod.
    private var pool: [PodSandboxNetwork] = []
    /// The fill under way, if any. It is a task of its own, so that a caller that is cancelled
    /// (a signalled `tandem bench`) cannot cut a namespace's set-up short and leave it half made;
    /// `shutdown` waits for it.
    private var fill: Task<Void, Never>?
    /// Set by `shutdown`: no more fills, and a sandbox a fill finishes after it is torn down.
    private var closed = false
    /// The host's `net.ipv4.ip_forward` before the first bridge ADD (see `restoreForwarding`).
    private var hostForwarding: String?

    public init(config: PodNetworkConfig) {
        self.config = config
    }

    /// The name of a pod's namespace: `<prefix><first 12 characters of its UID>`, like the
    /// 12-character IDs containerd and Docker print.
    public func netnsName(podUID: String) -> String {
        let cleaned = podUID.lowercased().filter { $0.isLetter || $0.isNumber }
        return config.netnsPrefix + String(cleaned.prefix(12))
    }

    /// Gives the pod a network sandbox: a ready one from the pool when there is one (and the
    /// pool is refilled in the background), else one made now. Throws (after undoing what it
    /// did) when any step fails; the kubelet then reports `FailedCreatePodSandBox`.
    /// `usePool: false` makes one now and leaves the pool alone (`tandem bench` times set-up so).
    public func setUp(podUID: String, podName: String, namespace: String, usePool: Bool = true) async throws -> PodSandboxNetwork {
        if usePool, let ready = pool.popLast() {
            // The record names the pod (what a restarted `tandem serve` adopts, what `cleanupStale`
            // keeps). A serve's pods outlive it, so its record names the pod before the pod's
            // checkpoint can name the namespace; elsewhere the pods die with Tandem, and the record
            // is rewritten after the pool's refill delay, once the pod has started: its read, JSON
            // and file writes took a CPU beside the pod's start (0.2 ms traced) even off its path.
            if config.persistentRoot != nil {
                assign(ready.netnsName, to: podUID)
            } else {
                Task {
                    try? await Task.sleep(for: Self.refillDelay)
                    self.assign(ready.netnsName, to: podUID)
                }
            }
            refillPool()
            return PodSandboxNetwork(netnsPath: ready.netnsPath, ip: ready.ip, netnsName: ready.netnsName,
                                     setupDuration: ready.setupDuration, fromPool: true)
        }
        defer { if usePool { refillPool() } }
        return try await create(name: netnsName(podUID: podUID), podUID: podUID)
    }

    private func assign(_ name: String, to podUID: String) {
        guard live.contains(name), var r = readRecord(name: name) else { return }
        r.podUID = podUID
        writeRecord(r, name: name)
    }

    /// Fills the pool up to `poolSize` (at start-up, so the first pods find it ready).
    public func prewarm() async {
        if fill == nil, !closed, pool.count < config.poolSize {
            fill = Task { await self.fillPool() }
        }
        await fill?.value
    }

    private func fillPool() async {
        defer { fill = nil }
        while !closed && pool.count < config.poolSize {
            let name = config.netnsPrefix + (0..<12).map { _ in String(UInt8.random(in: 0...15), radix: 16) }.joined()
            guard let sandbox = try? await create(name: name, podUID: "") else { return }
            if closed {
                await tearDown(sandbox, podUID: "")
                return
            }
            pool.append(sandbox)
        }
    }

    /// Releases the sandboxes still waiting in the pool (at exit), once a fill under way is done.
    public func shutdown() async {
        closed = true
        await fill?.value
        let idle = pool
        pool = []
        for s in idle { await tearDown(s, podUID: "") }
    }

    /// How long a refill waits after a sandbox was taken. The pod that took it is starting its
    /// containers meanwhile (about 10 ms on this kind of machine), and the refill's `ip` and CNI
    /// plugin processes (some 25 ms of CPU) would otherwise compete with it for the same cores:
    /// measured, a pod start took 20 ms beside a refill and 12 ms without one.
    static let refillDelay = Duration.milliseconds(100)

    private func refillPool() {
        guard config.poolSize > 0, !closed, fill == nil, pool.count < config.poolSize else { return }
        Task {
            try? await Task.sleep(for: Self.refillDelay)
            await HostCommand.$inBackground.withValue(true) { await self.prewarm() }
        }
    }

    /// Makes a namespace named `name` and runs the CNI ADDs on it (`RunPodSandbox`).
    private func create(name: String, podUID: String) async throws -> PodSandboxNetwork {
        let clock = ContinuousClock()
        let start = clock.now
        let path = Self.netnsDir + "/" + name
        let cni = invocation(containerID: name, netnsPath: path)

        // A namespace of the same name is left over from a killed Tandem (or a pod re-created
        // with the same UID): release it first, as containerd does for a sandbox it re-creates.
        if FileManager.default.fileExists(atPath: path) {
            await tearDown(PodSandboxNetwork(netnsPath: path, ip: "", netnsName: name), podUID: podUID)
        }
        try createDirectories()
        // Written before the namespace exists so that a crash at any later point still leaves a
        // record for `cleanupStale` to release the namespace and the lease with.
        live.insert(name)
        writeRecord(record(podUID: podUID, name: name, path: path, result: nil), name: name)
        do {
            try await HostCommand.check(Self.ipTool, ["netns", "add", name])
        } catch {
            await tearDown(PodSandboxNetwork(netnsPath: path, ip: "", netnsName: name), podUID: podUID)
            throw error
        }

        do {
            _ = try await cni.exec("ADD", plugin: "loopback", config: CNIConfigs.loopback())
            if hostForwarding == nil { hostForwarding = readForwarding() }
            let out = try await cni.exec("ADD", plugin: "bridge", config: CNIConfigs.bridge(config))
            restoreForwarding()
            let result = try JSONDecoder().decode(JSONValue.self, from: Data(out))
            guard let ip = CNIConfigs.firstIP(result) else {
                throw CNIError(plugin: "bridge", command: "ADD", code: nil,
                               message: "no IP in result: \(String(decoding: out, as: UTF8.self))")
            }
            writeRecord(record(podUID: podUID, name: name, path: path, result: result), name: name)
            return PodSandboxNetwork(netnsPath: path, ip: ip, netnsName: name, setupDuration: clock.now - start)
        } catch {
            restoreForwarding()
            await tearDown(PodSandboxNetwork(netnsPath: path, ip: "", netnsName: name), podUID: podUID)
            throw error
        }
    }

    /// Detaches the pod from the bridge, releases its IP and deletes its namespace. Best effort and
    /// idempotent: every step runs even if an earlier one failed, and a missing namespace or lease
    /// is not an error (the CNI spec requires DEL to succeed for already-deleted resources).
    public func tearDown(_ sandbox: PodSandboxNetwork, podUID: String) async {
        let name = sandbox.netnsName.isEmpty ? netnsName(podUID: podUID) : sandbox.netnsName
        let path = sandbox.netnsPath.isEmpty ? Self.netnsDir + "/" + name : sandbox.netnsPath
        await release(containerID: name, netnsPath: path)
        live.remove(name)
    }

    /// Takes over the sandbox a previous Tandem made for a pod this one adopts (its containers
    /// still run in it): the record becomes this process's, so `cleanupStale` leaves it alone.
    /// False when the namespace or its record is gone.
    public func adopt(_ sandbox: PodSandboxNetwork, podUID: String) -> Bool {
        guard let r = readRecord(name: sandbox.netnsName), r.podUID == podUID,
              FileManager.default.fileExists(atPath: sandbox.netnsPath) else { return false }
        writeRecord(record(podUID: podUID, name: sandbox.netnsName, path: r.netnsPath, result: r.result), name: sandbox.netnsName)
        live.insert(sandbox.netnsName)
        return true
    }

    /// Removes what a killed Tandem left behind: every sandbox whose owning process is gone
    /// (its namespace, bridge port and IP, each with a CNI DEL), and every lease held by a
    /// container that has neither a record nor a namespace. Sandboxes of other live Tandems are
    /// left alone, and so are those of a killed `tandem serve` whose root still exists: its pods
    /// still run, and it adopts them when it starts again (a `tandem run` started meanwhile used
    /// to release them, and the restarted serve then re-created every pod). The counterpart of
    /// containerd restoring its sandboxes at start-up. A record's temporary file older than a
    /// minute is a write a `kill -9` cut short between its write and its rename: removed too.
    /// `keeping`: pods whose sandboxes a restarted `tandem serve` is about to adopt.
    public func cleanupStale(keeping: Set<String> = []) async {
        var stale: Set<String> = []
        let fm = FileManager.default
        for entry in (try? fm.contentsOfDirectory(atPath: config.cacheDir)) ?? [] {
            if entry.hasSuffix(".json.tmp") {
                // A record's temporary file a kill -9 cut short, once it is clearly not in progress.
                let path = config.cacheDir + "/" + entry
                if let modified = (try? fm.attributesOfItem(atPath: path))?[.modificationDate] as? Date, modified.timeIntervalSinceNow < -60 {
                    unlink(path)
                }
                continue
            }
            guard entry.hasSuffix(".json") else { continue }
            let id = String(entry.dropLast(5))
            guard id.hasPrefix(config.netnsPrefix), !live.contains(id) else { continue }
            if let r = readRecord(name: id) {
                if let pid = r.ownerPID, r.ownerStart != nil, processStartTime(pid) == r.ownerStart { continue }
                if keeping.contains(r.podUID) { continue }
                if let root = r.adoptableBy, root != config.persistentRoot, fm.fileExists(atPath: root) { continue }
            }
            stale.insert(id)
        }
        // host-local lease files are named after the IP and hold "<containerID>\n<ifname>".
        let leaseDir = config.ipamDataDir + "/" + config.networkName
        for entry in (try? fm.contentsOfDirectory(atPath: leaseDir)) ?? [] {
            guard let text = try? String(contentsOfFile: leaseDir + "/" + entry, encoding: .utf8) else { continue }
            let id = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            guard id.hasPrefix(config.netnsPrefix), !live.contains(id) else { continue }
            if readRecord(name: id) == nil && !fm.fileExists(atPath: Self.netnsDir + "/" + id) { stale.insert(id) }
        }
        for id in stale.sorted() {
            await release(containerID: id, netnsPath: Self.netnsDir + "/" + id)
        }
    }

    private func record(podUID: String, name: String, path: String, result: JSONValue?) -> SandboxRecord {
        let pid = getpid()
        return SandboxRecord(podUID: podUID, containerID: name, netnsPath: path, result: result, ownerPID: pid, ownerStart: processStartTime(pid),
                             adoptableBy: config.persistentRoot)
    }

    // MARK: - Internals

    private func invocation(containerID: String, netnsPath: String) -> CNIInvocation {
        CNIInvocation(cniPath: config.cniPath, containerID: containerID, netnsPath: netnsPath, ifName: "eth0")
    }

    private func release(containerID name: String, netnsPath path: String) async {
        let cni = invocation(containerID: name, netnsPath: path)
        let prev = readRecord(name: name)?.result
        // libcni's DelNetworkList: plugins in reverse order.
        _ = try? await cni.exec("DEL", plugin: "bridge", config: CNIConfigs.withPrevResult(CNIConfigs.bridge(config), prev))
        _ = try? await cni.exec("DEL", plugin: "loopback", config: CNIConfigs.loopback())
        if FileManager.default.fileExists(atPath: path) {
            _ = try? await HostCommand.run(Self.ipTool, ["netns", "delete", name])
        }
        unlink(config.cacheDir + "/" + name + ".json")
    }

    private func createDirectories() throws {
        for dir in [config.cacheDir, config.ipamDataDir] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
    }

    private func writeRecord(_ record: SandboxRecord, name: String) {
        guard let data = try? JSONEncoder().encode(record) else { return }
        let path = config.cacheDir + "/" + name + ".json"
        try? Sys.replaceFile(path, data, mode: 0o600)
    }

    private func readRecord(name: String) -> SandboxRecord? {
        guard let data = FileManager.default.contents(atPath: config.cacheDir + "/" + name + ".json") else { return nil }
        return try? JSONDecoder().decode(SandboxRecord.self, from: data)
    }

    private static let forwardingPath = "/proc/sys/net/ipv4/ip_forward"

    private func readForwarding() -> String? {
        (try? String(contentsOfFile: Self.forwardingPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The bridge plugin turns on `net.ipv4.ip_forward` whenever `isGateway` is set
    /// (`ip.EnableForward`). Tandem never routes pod traffic off the host — the host is on the
    /// bridge itself and pods reach each other at layer 2 — so the host's original setting is put
    /// back, keeping the machine from forwarding between its uplink and the pod subnet.
    private func restoreForwarding() {
        guard let original = hostForwarding, readForwarding() != original else { return }
        try? (original + "\n").write(toFile: Self.forwardingPath, atomically: false, encoding: .utf8)
    }
}
