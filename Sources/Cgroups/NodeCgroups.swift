import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A cgroup below the node's tree, as path components: `["kubepods", "burstable", "pod<uid>", "<container-id>"]`.
public struct CgroupName: Sendable, Hashable, Codable, CustomStringConvertible {
    public var components: [String]
    public init(_ components: [String]) { self.components = components }
    public func child(_ name: String) -> CgroupName { CgroupName(components + [name]) }
    public var path: String { components.joined(separator: "/") }
    public var description: String { "/" + path }

    public static let kubepods = CgroupName(["kubepods"])

    /// The pod's cgroup as the kubelet's cgroupfs driver names it: Guaranteed pods directly under
    /// `kubepods`, the others under their QoS class's cgroup.
    public static func pod(uid: String, qosClass: String) -> CgroupName {
        switch qosClass {
        case "Guaranteed": return kubepods.child("pod" + uid)
        case "BestEffort": return kubepods.child("besteffort").child("pod" + uid)
        default: return kubepods.child("burstable").child("pod" + uid)
        }
    }
}

public struct CgroupError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ d: String) { description = d }
}

/// The kernel side of the node's cgroups: the kubelet's cgroupfs driver (`cgroupManagerImpl`) and
/// the part of the CRI runtime that writes a container's limits.
///
/// The tree is made below the cgroup Tandem itself runs in, per hierarchy, read from
/// `/proc/self/cgroup` (Tandem may run nested, in a container or a session's cgroup): cgroup v2
/// when `/sys/fs/cgroup` is the unified hierarchy, otherwise the v1 `memory`, `cpu`, `cpuacct` and
/// `pids` hierarchies (hybrid mode's `unified` mount has no controllers and is not used).
public final class NodeCgroups: Sendable {
    public enum Mode: String, Sendable { case v1, v2 }

    public let mode: Mode
    /// v1: the directory of Tandem's own cgroup in each hierarchy, by controller. v2: one entry, "".
    private let bases: [String: String]
    /// The distinct directories of `bases` (co-mounted controllers share one).
    private let dirs: [String]
    static let v1Controllers = ["memory", "cpu", "cpuacct", "pids"]

    /// The node's cgroups, or nil when this machine has none Tandem can write (no cgroupfs, not
    /// root); the caller then runs containers without limits and says so.
    public static func detect(mountRoot: String = "/sys/fs/cgroup", procSelfCgroup: String = "/proc/self/cgroup") -> NodeCgroups? {
        guard let text = try? String(contentsOfFile: procSelfCgroup, encoding: .utf8) else { return nil }
        var bases: [String: String] = [:]
        let mode: Mode
        if FileManager.default.fileExists(atPath: mountRoot + "/cgroup.controllers") {
            mode = .v2
            for line in text.split(separator: "\n") where line.hasPrefix("0::") {
                bases[""] = mountRoot + String(line.dropFirst(3)).trimmedSlash
            }
        } else {
            mode = .v1
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
                guard parts.count == 3 else { continue }
                let hierarchy = String(parts[1])
                for controller in hierarchy.split(separator: ",").map(String.init) where v1Controllers.contains(controller) {
                    let combined = mountRoot + "/" + hierarchy
                    let dir = FileManager.default.fileExists(atPath: combined) ? combined : mountRoot + "/" + controller
                    bases[controller] = dir + String(parts[2]).trimmedSlash
                }
            }
        }
        guard !bases.isEmpty, bases.values.allSatisfy({ access($0, W_OK) == 0 }) else { return nil }
        return try? NodeCgroups(mode: mode, bases: bases)
    }

    private init(mode: Mode, bases: [String: String]) throws {
        self.mode = mode
        self.bases = bases
        dirs = Array(Set(bases.values)).sorted()
        if mode == .v2 {
            // Controllers must be enabled on every level above a cgroup that uses them. On a
            // cgroup that holds processes (Tandem's own, unless it is the root) the kernel refuses
            // (the "no internal processes" rule): then there are no limits to be had.
            try Self.write(dirs[0] + "/cgroup.subtree_control", "+cpu +memory +pids")
        }
        for d in dirs { try Self.mkdir(d + "/kubepods") }
    }

    /// Runs `body` under a `flock` (`LOCK_SH` or `LOCK_EX`) on the first hierarchy's `kubepods`
    /// directory: pod cgroups are made under a shared one, stale ones swept under an exclusive
    /// one. A descriptor of its own each time, since a flock belongs to the open file, which
    /// concurrent pod workers must not share.
    private func withKubepodsLock<T>(_ operation: Int32, _ body: () throws -> T) rethrows -> T {
        let fd = open(dirs[0] + "/kubepods", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { _ = flock(fd, operation) }
        defer { if fd >= 0 { close(fd) } }
        return try body()
    }

    /// Makes the node-level cgroups (`kubepods`, `kubepods/burstable`, `kubepods/besteffort`), as
    /// the kubelet's QoS container manager does at start-up: `kubepods` shares by the node's CPUs,
    /// BestEffort the minimum. Then removes the pod cgroups nobody owns (`sweepStale`).
    /// `keeping`: UIDs of pods a restarted `tandem serve` adopts, whose cgroups hold their
    /// running containers.
    public func claim(allocatableMilliCPU: Int64, keeping: Set<String> = []) throws {
        try create(.kubepods, ResourceConfig(cpuShares: ResourceMath.milliCPUToShares(allocatableMilliCPU)))
        try create(.kubepods.child("burstable"), ResourceConfig())
        try create(.kubepods.child("besteffort"), ResourceConfig(cpuShares: ResourceMath.minShares))
        sweepStale(keeping: keeping)
    }

    /// The kubelet's orphaned pod cgroup clean-up: removes every pod cgroup that no live Tandem
    /// holds, such as those of a Tandem killed with -9 (its containers died with it). Each live
    /// pod's cgroup directory is `flock`ed shared by its Tandem for as long as the pod runs, and
    /// made under a shared lock on `kubepods`; the sweep holds that exclusively, so it never sees
    /// a pod cgroup between its mkdir and its lock. Several Tandems may share one tree.
    public func sweepStale(keeping: Set<String> = []) {
        withKubepodsLock(LOCK_EX) { sweepUnlocked(keeping: keeping) }
    }

    private func sweepUnlocked(keeping: Set<String>) {
        for qos in [CgroupName.kubepods, .kubepods.child("burstable"), .kubepods.child("besteffort")] {
            var pods = Set<String>()
            for d in dirs {
                for entry in (try? FileManager.default.contentsOfDirectory(atPath: d + "/" + qos.path)) ?? [] where entry.hasPrefix("pod") {
                    pods.insert(entry)
                }
            }
            for entry in pods where !keeping.contains(String(entry.dropFirst(3))) {
                let fd = open(dirs[0] + "/" + qos.child(entry).path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                if fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0 {
                    close(fd)
                    continue
                }
                // Only what is empty: a kill -9'd `tandem run`'s containers died with it (its
                // lifeline), while a killed `tandem serve`'s are still running, for the next serve
                // on its root to adopt, and must not be touched by another Tandem's sweep.
                remove(qos.child(entry), killing: false)
                if fd >= 0 { close(fd) }
            }
        }
    }

    /// Makes a pod's cgroup (see `create`) and holds it: the returned lease keeps a shared
    /// `flock` on it, so no other Tandem's `sweepStale` removes it while the pod lives.
    public func createPod(_ name: CgroupName, _ config: ResourceConfig) throws -> PodCgroupLease {
        try withKubepodsLock(LOCK_SH) {
            try create(name, config)
            let fd = open(dirs[0] + "/" + name.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { throw CgroupError("open \(dirs[0])/\(name.path): \(String(cString: strerror(errno)))") }
            _ = flock(fd, LOCK_SH)
            return PodCgroupLease(name: name, fd: fd)
        }
    }

    /// Creates the cgroup in every hierarchy (idempotent) and writes its limits.
    public func create(_ name: CgroupName, _ config: ResourceConfig) throws {
        for d in dirs { try Self.mkdir(d + "/" + name.path) }
        if mode == .v2 {
            // Only the levels above containers delegate controllers: a cgroup with controllers
            // enabled for its children cannot hold processes itself.
            let last = name.components.last ?? ""
            if name.components.count == 1 || last.hasPrefix("pod") || last == "burstable" || last == "besteffort" {
                try Self.write(dir(nil, name) + "/cgroup.subtree_control", "+cpu +memory +pids")
            }
            if let shares = config.cpuShares { try Self.write(dir(nil, name) + "/cpu.weight", String(ResourceMath.sharesToWeight(shares))) }
            let period = config.cpuPeriod ?? ResourceMath.quotaPeriod
            let quota = config.cpuQuota.flatMap { $0 > 0 ? String($0) : nil } ?? "max"
            try Self.write(dir(nil, name) + "/cpu.max", "\(quota) \(period)")
            try Self.write(dir(nil, name) + "/memory.max", config.memoryLimit.map(String.init) ?? "max")
            return
        }
        if let shares = config.cpuShares { try Self.write(dir("cpu", name) + "/cpu.shares", String(shares)) }
        if let period = config.cpuPeriod { try Self.write(dir("cpu", name) + "/cpu.cfs_period_us", String(period)) }
        try Self.write(dir("cpu", name) + "/cpu.cfs_quota_us", String(config.cpuQuota.flatMap { $0 > 0 ? $0 : nil } ?? -1))
        try Self.write(dir("memory", name) + "/memory.limit_in_bytes", String(config.memoryLimit ?? -1))
    }

    /// The `cgroup.procs` file of the cgroup in each hierarchy: the container's first process
    /// writes itself into these before it execs (see `isolation.c`).
    public func procsFiles(_ name: CgroupName) -> [String] {
        dirs.map { $0 + "/" + name.path + "/cgroup.procs" }
    }

    /// How many times the kernel's OOM killer killed a process of this cgroup: `oom_kill` in
    /// `memory.oom_control` (v1) or `memory.events` (v2), what containerd watches to report
    /// `OOMKilled`.
    public func oomKills(_ name: CgroupName) -> Int {
        let file = mode == .v2 ? dir(nil, name) + "/memory.events" : dir("memory", name) + "/memory.oom_control"
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return Int(line.dropFirst("oom_kill ".count)) ?? 0
        }
        return 0
    }

    /// Removes the cgroup and everything below it in every hierarchy. Processes still inside (a
    /// container's stragglers after a kill -9 of Tandem) are killed first. The kernel has no
    /// event for "a v1 cgroup is empty" short of a release agent, so a cgroup whose last process
    /// is still exiting is retried briefly.
    /// `killing: false` leaves a cgroup that still holds processes (and its parents) in place.
    public func remove(_ name: CgroupName, killing: Bool = true) {
        for d in dirs { Self.removeTree(d + "/" + name.path, killing: killing) }
    }

    private static func removeTree(_ path: String, killing: Bool) {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            var st = stat()
            if lstat(path + "/" + entry, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { removeTree(path + "/" + entry, killing: killing) }
        }
        for attempt in 0..<100 {
            if rmdir(path) == 0 || errno == ENOENT { return }
            guard errno == EBUSY, killing else { return }
            if attempt == 0, let procs = try? String(contentsOfFile: path + "/cgroup.procs", encoding: .utf8) {
                for pid in procs.split(separator: "\n").compactMap({ pid_t($0) }) { kill(pid, SIGKILL) }
            }
            usleep(10_000)
        }
    }

    private func dir(_ controller: String?, _ name: CgroupName) -> String {
        (bases[controller ?? ""] ?? dirs[0]) + "/" + name.path
    }

    static func mkdir(_ path: String) throws {
        if Glibc.mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw CgroupError("mkdir \(path): \(String(cString: strerror(errno)))")
        }
    }

    static func write(_ path: String, _ value: String) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CgroupError("open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let ok = value.withCString { Glibc.write(fd, $0, strlen($0)) } >= 0
        guard ok else { throw CgroupError("write \(value) to \(path): \(String(cString: strerror(errno)))") }
    }
}

/// A live pod's claim on its cgroup: released (the descriptor closed) when dropped, or when
/// Tandem dies, so a later sweep knows the cgroup is orphaned.
public final class PodCgroupLease: Sendable {
    public let name: CgroupName
    private let fd: Int32
    init(name: CgroupName, fd: Int32) {
        self.name = name
        self.fd = fd
    }
    deinit { close(fd) }
}

private extension String {
    /// "/" is the hierarchy's root: no suffix.
    var trimmedSlash: String { self == "/" ? "" : self }
}
