import ContainerRuntime
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Pod and container directories made ahead of the pods that use them, holding the files a
/// start writes first, as `PodNetwork` and the runtime's sandbox pool keep network namespaces
/// and sandboxes ready.
///
/// Why: on an ext4 without a journal (this project's machines) each new inode is placed by
/// scanning past every inode of its group freed in the last minutes (`recently_deleted`), and
/// a node that starts and removes pods frees many. Profiled in `tandem bench`, a mkdir there
/// took about 0.15 ms of CPU and a file creation 0.05 ms, and a pod made six of them before
/// its first container could run: its directory, `etc-hosts`, `hostname`, the first
/// container's directory, termination-message file and staged log. A rename allocates no
/// inode. So ready directories wait in `ROOT/pods/.ready-<pid>` (the pods' file system),
/// and a taken one is replaced once no pod took one for a moment (`refillDelay`), off the
/// starts that follow.
///
/// The files are empty; the pod worker writes what they hold, as it does into files it made
/// itself. A ready directory is only ever renamed onto a path that does not exist yet
/// (`RENAME_NOREPLACE`), so a pod directory or container directory from an earlier sandbox or
/// instance is never replaced.
public final class PodDirectoryPool: Sendable {
    /// `ROOT/pods/.ready-<pid>`: a name no pod directory (`<namespace>_<name>_<uid>`) can have,
    /// and one per Tandem process, so that runs sharing a root never remove each other's.
    public let directory: String
    private let podCount: Int
    private let containerCount: Int
    private let refillDelay: Duration
    private let state = Mutex(State())

    private struct State {
        var pods: [String] = []
        var containers: [String] = []
        var lastTake = ContinuousClock.now
        var refill: Task<Void, Never>?
        var open = true
    }

    static let prefix = ".ready-"

    /// The files of a ready pod directory (what `PodWorker.writeEtcHosts` writes every time).
    static let podFiles = ["etc-hosts", "hostname"]

    /// Removes what killed runs left in `ROOT/pods` (the `.ready-<pid>` of a process that is
    /// gone), then makes the first directories on another task.
    public init(root: String, pods: Int = 2, containers: Int = 6, refillDelay: Duration = .milliseconds(100)) {
        let parent = root + "/pods"
        directory = parent + "/" + Self.prefix + String(getpid())
        podCount = pods
        containerCount = containers
        self.refillDelay = refillDelay
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] where entry.hasPrefix(Self.prefix) {
            guard let pid = pid_t(entry.dropFirst(Self.prefix.count)), pid == getpid() || (kill(pid, 0) != 0 && errno == ESRCH) else { continue }
            try? FileManager.default.removeItem(atPath: parent + "/" + entry)
        }
        scheduleRefill(after: .zero)
    }

    /// Renames a ready pod directory to `path`, which must not exist: it then holds empty
    /// `etc-hosts` and `hostname` files. False when none is ready or `path` exists.
    public func takePod(at path: String) -> Bool {
        take(path, \.pods)
    }

    /// Renames a ready container directory to `path`, which must not exist: it then holds the
    /// first instance's termination-message file (`termination-0.log`, mode 0666 as the
    /// kubelet makes it) and its staged log (`0.log.created`, see `CreatedContainer`).
    public func takeContainer(at path: String) -> Bool {
        take(path, \.containers)
    }

    /// How many directories are ready (for tests).
    var readyCount: Int { state.withLock { $0.pods.count + $0.containers.count } }

    /// Stops refilling and removes every ready directory; a refill under way is waited for.
    public func drain() async {
        let refill = state.withLock { s -> Task<Void, Never>? in
            s.open = false
            s.refill?.cancel()
            return s.refill
        }
        await refill?.value
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func take(_ path: String, _ kind: WritableKeyPath<State, [String]>) -> Bool {
        // Only a take that got one delays the refill: with none left, waiting pods would
        // otherwise postpone it for good.
        guard let name = state.withLock({ s -> String? in
            guard s.open, let name = s[keyPath: kind].popLast() else { return nil }
            s.lastTake = .now
            return name
        }) else { return false }
        let source = directory + "/" + name
        if Sys.renameNoReplace(source, path) {
            scheduleRefill(after: refillDelay)
            return true
        }
        if errno == EEXIST {
            // The path exists (an earlier instance's directory): the ready one stays ready.
            state.withLock { s in if s.open { s[keyPath: kind].append(name) } }
            return false
        }
        // Anything else (a file system without RENAME_NOREPLACE, say): the pool is no use here.
        state.withLock { $0.open = false }
        return false
    }

    /// Tops the pool up once no directory was taken for `delay`: a pod that just took one
    /// is still starting, and must not compete with the refill's inode scans for the CPU.
    private func scheduleRefill(after delay: Duration) {
        state.withLock { s in
            guard s.open, s.refill == nil else { return }
            s.refill = Task.detached(priority: .utility) { [self] in
                var wait = delay
                while wait > .zero, !Task.isCancelled {
                    try? await Task.sleep(for: wait)
                    wait = state.withLock { $0.lastTake + delay - .now }
                }
                fill()
            }
        }
    }

    private func fill() {
        guard state.withLock({ s in
            if !s.open { s.refill = nil }
            return s.open
        }) else { return }
        try? Sys.mkdirs(directory)
        var pods: [String] = [], containers: [String] = []
        let (needPods, needContainers) = state.withLock { s in (podCount - s.pods.count, containerCount - s.containers.count) }
        for _ in 0..<max(0, needPods) {
            if let name = make("p", files: Self.podFiles.map { ($0, 0o644, false) }) { pods.append(name) }
        }
        for _ in 0..<max(0, needContainers) {
            let files = [(PodWorker.terminationLogName(restartCount: 0), mode_t(0o666), true), (CreatedContainer.stagedLog("0.log"), 0o640, false)]
            if let name = make("c", files: files) { containers.append(name) }
        }
        let (kept, short) = state.withLock { s -> (Bool, Bool) in
            s.refill = nil
            guard s.open else { return (false, false) }
            s.pods += pods
            s.containers += containers
            return (true, s.pods.count < podCount || s.containers.count < containerCount)
        }
        if !kept { try? FileManager.default.removeItem(atPath: directory) }
        // Taken from while it was being filled: once more, unless this fill made nothing (a
        // full disk), which the next take that gets one retries.
        if kept, short, !(pods.isEmpty && containers.isEmpty) { scheduleRefill(after: refillDelay) }
    }

    /// One ready directory with empty `files` (name, mode, whether the mode is exact whatever
    /// the umask, as the termination log's must be), or nil when it could not be made.
    private func make(_ prefix: String, files: [(String, mode_t, Bool)]) -> String? {
        let name = prefix + "-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let dir = directory + "/" + name
        guard mkdir(dir, 0o755) == 0 else { return nil }
        for (file, mode, exact) in files {
            let fd = open(dir + "/" + file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
            guard fd >= 0, !exact || fchmod(fd, mode) == 0 else {
                if fd >= 0 { close(fd) }
                try? FileManager.default.removeItem(atPath: dir)
                return nil
            }
            close(fd)
        }
        return name
    }
}
