import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Requests to a running `tandem run` from other tandem commands on the machine, until
/// `tandem serve` gives it an API: files in `ROOT/requests`. A run holds a shared lock on
/// `ROOT/requests/run.lock` for its whole life, so a client can tell whether a run is there (and
/// notice when it ends) without polling. A request is `ID.request`, renamed in whole; the run
/// answers with `ID.reply`, renamed in whole, once the request is done.
enum RunRequests {
    struct Request: Codable {
        var verb: String
        var kind: String
        var namespace: String
        var name: String
        /// `--grace-period`: nil for the pod's own `terminationGracePeriodSeconds`.
        var gracePeriod: Int64?
    }

    struct Reply: Codable {
        /// "deleted" or "NotFound".
        var result: String
    }

    static func dir(root: String) -> String { root + "/requests" }
    static func lockPath(root: String) -> String { dir(root: root) + "/run.lock" }

    /// Writes `data` as `dir/name` in one step (a temporary name, then rename), so the reader's
    /// inotify sees the file only whole.
    static func writeWhole(_ data: Data, dir: String, name: String) throws {
        let tmp = "\(dir)/.\(name).tmp"
        try data.write(to: URL(fileURLWithPath: tmp))
        guard rename(tmp, "\(dir)/\(name)") == 0 else {
            unlink(tmp)
            throw CocoaError(.fileWriteUnknown)
        }
    }
}

/// The run's side: takes the lock, watches the directory and hands each request to `handle`,
/// writing its reply. A request file is claimed by unlinking it, so it is handled once.
final class RequestServer: @unchecked Sendable {
    private let lockFD: Int32
    private var watcher: DirectoryWatcher?
    private let lock = NSLock()
    /// Requests being handled, so that the run answers them all before it exits.
    private var inFlight: [UUID: Task<Void, Never>] = [:]

    init?(root: String, handle: @escaping @Sendable (RunRequests.Request) async -> RunRequests.Reply) {
        let dir = RunRequests.dir(root: root)
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        lockFD = open(RunRequests.lockPath(root: root), O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lockFD >= 0, flock(lockFD, LOCK_SH) == 0 else { return nil }
        watcher = DirectoryWatcher(dirs: [dir]) { [weak self] names in
            for name in names where name.hasSuffix(".request") && !name.hasPrefix(".") {
                let path = "\(dir)/\(name)"
                guard let data = FileManager.default.contents(atPath: path), unlink(path) == 0 else { continue }
                let id = String(name.dropLast(".request".count))
                self?.track { [dir] in
                    let reply: RunRequests.Reply
                    if let request = try? JSONDecoder().decode(RunRequests.Request.self, from: data) {
                        reply = await handle(request)
                    } else {
                        reply = RunRequests.Reply(result: "BadRequest")
                    }
                    try? RunRequests.writeWhole(JSONEncoder().encode(reply), dir: dir, name: id + ".reply")
                }
            }
        }
    }

    private func track(_ work: @escaping @Sendable () async -> Void) {
        let key = UUID()
        lock.withLock {
            inFlight[key] = Task {
                await work()
                self.lock.withLock { self.inFlight[key] = nil }
            }
        }
    }

    /// Stops taking requests, answers those under way, then lets the lock go with the descriptor.
    func finish() async {
        watcher?.cancel()
        let pending = lock.withLock { Array(inFlight.values) }
        for t in pending { await t.value }
        close(lockFD)
    }
}
