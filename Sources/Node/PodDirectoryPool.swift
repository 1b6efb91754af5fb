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
/// inode. So ready directories wait in `ROOT/pods/.ready` (the same file system as the pods'),
/// and a taken one is replaced once no pod took one for a moment (`refillDelay`), off the
/// starts that follow.
///
/// The files are empty; the pod worker writes what they hold, as it does into files it made
/// itself. A ready directory is only ever renamed onto a path that does not exist yet
/// (`RENAME_NOREPLACE`), so a pod directory or container directory from an earlier sandbox or
/// instance is never replaced.
public final class PodDirectoryPool: Sendable {
    /// `ROOT/pods/.ready`: a name no pod directory (`<namespace>_<name>_<uid>`) can have.
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

    /// The files of a ready pod directory (what `PodWorker.writeEtcHosts` writes every time).
    static let podFiles = ["etc-hosts", "hostname"]

    /// Removes what a killed run left in `ROOT/pods/.ready`, then makes the first directories.
    public init(root: String, pods: Int = 2, containers: Int = 6, refillDelay: Duration = .milliseconds(100)) {
        directory = root + "/pods/.ready"
        podCount = pods
        containerCount = containers
        self.refillDelay = refillDelay
        try? FileManager.default.removeItem(atPath: directory)
        scheduleRefill(after: .zero)
    }

    /// Renames a ready pod directory to `path`, which must not exist: it then holds empty
    /// `etc-hosts` and `hostname` files. False when none is ready or `path` exists.
    public func takePod(at path: String) -> Bool {
        take(path) { $0.pods.popLast() }
    }

    /// Renames a ready container directory to `path`, which must not exist: it then holds the
    /// first instance's termination-message file (`termination-0.log`, mode 0666 as the
    /// kubelet makes it) and its staged log (`0.log.created`, see `CreatedContainer`).
    public func takeContainer(at path: String) -> Bool {
        take(path) { $0.containers.popLast() }
    }

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

    private func take(_ path: String, _ pop: (inout State) -> String?) -> Bool {
        // Only a take that got one delays the refill: with none left, waiting pods would
        // otherwise postpone it for good.
        guard let name = state.withLock({ s -> String? in
            guard s.open, let name = pop(&s) else { return nil }
            s.lastTake = .now
            return name
        }) else { return false }
        scheduleRefill(after: refillDelay)
        let source = directory + "/" + name
        if Sys.renameNoReplace(source, path) { return true }
        try? FileManager.default.removeItem(atPath: source)
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
            if let name = make("p", files: Self.podFiles.map { ($0, 0o644) }) { pods.append(name) }
        }
        for _ in 0..<max(0, needContainers) {
            if let name = make("c", files: [("termination-0.log", 0o666), ("0.log.created", 0o640)]) { containers.append(name) }
        }
        let kept = state.withLock { s -> Bool in
            s.refill = nil
            guard s.open else { return false }
            s.pods += pods
            s.containers += containers
            return true
        }
        if !kept { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// One ready directory with empty `files` (name, mode), or nil when it could not be made.
    private func make(_ prefix: String, files: [(String, mode_t)]) -> String? {
        let name = prefix + "-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let dir = directory + "/" + name
        guard mkdir(dir, 0o755) == 0 else { return nil }
        for (file, mode) in files {
            let fd = open(dir + "/" + file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
            // The mode exactly, whatever the umask (a termination log is written by any user).
            guard fd >= 0, fchmod(fd, mode) == 0 else {
                if fd >= 0 { close(fd) }
                try? FileManager.default.removeItem(atPath: dir)
                return nil
            }
            close(fd)
        }
        return name
    }
}
