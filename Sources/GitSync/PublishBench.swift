import Foundation
import Inotify
#if canImport(Glibc)
import Glibc
#endif

/// The figure for `tandem bench`: how long after a commit git-sync has it published, against
/// the least git itself needs to do the same (`git fetch` + `git worktree add`, timed directly)
/// in the same run. git-sync runs as its real binary with default settings, an hour-long period
/// and `--sync-on-signal SIGHUP`, so the measured span is exactly signal → sync → link renamed,
/// with no share of the polling period in it; the rename is caught with inotify, not by polling.
public enum PublishBench {
    public struct Samples: Sendable {
        /// Seconds from SIGHUP to the link naming the new commit.
        public var publish: [Double] = []
        /// Seconds for `git fetch --depth 1` + `git worktree add` of the same commit.
        public var anchor: [Double] = []
    }

    /// - Parameters:
    ///   - executable: the `tandem` binary (its `sidecar git-sync`).
    ///   - dir: an empty scratch directory, removed by the caller.
    public static func run(executable: String, dir: String, iterations: Int) async throws -> Samples {
        let git = Subprocess.lookPath("git", environment: ProcessInfo.processInfo.environment) ?? "/usr/bin/git"
        let bare = dir + "/site.git", work = dir + "/work", root = dir + "/root", anchor = dir + "/anchor"
        let author = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]
        func g(_ args: [String]) async throws -> String {
            try await Subprocess.check([git] + author + args, timeout: .seconds(60)).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        _ = try await g(["init", "-q", "--bare", "-b", "master", bare])
        _ = try await g(["init", "-q", "-b", "master", work])
        _ = try await g(["init", "-q", anchor])
        var version = 0
        func commit() async throws -> String {
            version += 1
            // A small site: a page and a few assets, as the seed's nginx would serve.
            for name in ["index.html", "style.css", "app.js", "about.html"] {
                try "version \(version) of \(name)\n\(String(repeating: "x", count: 2048))\n".write(toFile: "\(work)/\(name)", atomically: false, encoding: .utf8)
            }
            _ = try await g(["-C", work, "add", "-A"])
            _ = try await g(["-C", work, "commit", "-q", "-m", "v\(version)"])
            _ = try await g(["-C", work, "push", "-q", bare, "master"])
            return try await g(["-C", work, "rev-parse", "HEAD"])
        }
        var hash = try await commit()

        let devNull = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer { close(devNull) }
        let pid = try Subprocess.launch([executable, "sidecar", "git-sync", "--repo", bare, "--ref", "master", "--root", root,
                                         "--link", "html", "--period", "1h", "--sync-on-signal", "SIGHUP"],
                                        environment: ProcessInfo.processInfo.environment, output: devNull)
        defer {
            kill(pid, SIGKILL)
            var st: Int32 = 0
            waitpid(pid, &st, 0)
        }
        let watch = try LinkWatch(dir: root, name: "html")
        defer { watch.close() }
        try await watch.wait(for: hash, timeout: 30) // the first sync, not timed

        var samples = Samples()
        let clock = ContinuousClock()
        for _ in 0..<iterations {
            hash = try await commit()
            try await waitUntilIdle(pid)
            let start = clock.now
            kill(pid, SIGHUP)
            try await watch.wait(for: hash, timeout: 30)
            samples.publish.append(GitSyncProgram.seconds(clock.now - start))

            // git-sync's clean-up (prune, gc) must not run beside the anchor either.
            try await waitUntilIdle(pid)
            let t0 = clock.now
            _ = try await g(["-C", anchor, "fetch", "-q", "--depth", "1", "--no-auto-gc", bare, "master"])
            _ = try await g(["-C", anchor, "worktree", "add", "-q", "--detach", "\(anchor)/.worktrees/\(hash)", "FETCH_HEAD"])
            samples.anchor.append(GitSyncProgram.seconds(clock.now - t0))
        }
        return samples
    }

    /// Waits until git-sync has no child left (its clean-up and gc after the previous publish
    /// are done), so one measurement does not inherit the tail of the last.
    private static func waitUntilIdle(_ pid: pid_t) async throws {
        for _ in 0..<2000 {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
            let busy = tasks.contains { t in
                !((try? String(contentsOfFile: "/proc/\(pid)/task/\(t)/children", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespaces).isEmpty
            }
            if !busy { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw SyncError("git-sync stayed busy for 10 s")
    }
}

/// inotify on the link's directory: git-sync's publish is a rename onto the link's name, which
/// arrives as IN_MOVED_TO, so the wait wakes on the event itself.
final class LinkWatch: Sendable {
    let dir: String
    let name: String
    private let inotify: Inotify
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init(dir: String, name: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        self.dir = dir
        self.name = name
        let (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.wakeups = wakeups
        self.wake = wake
        inotify = try Inotify(onEvents: { _ in wake.yield() }, onEnd: { wake.finish() })
        try inotify.watch(dir, mask: UInt32(IN_MOVED_TO | IN_CREATE))
    }

    /// Returns once `dir/name` points at a worktree named `hash`.
    func wait(for hash: String, timeout: Double) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        let timer = Task { [wake] in
            try? await Task.sleep(until: deadline, clock: .continuous)
            wake.yield()
        }
        defer { timer.cancel() }
        if publishedHash() == hash { return }
        for await _ in wakeups {
            if publishedHash() == hash { return }
            if ContinuousClock.now >= deadline { break }
        }
        throw SyncError("\(dir)/\(name) did not reach \(hash) in \(timeout) s")
    }

    private func publishedHash() -> String? {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: dir + "/" + name)).map { ($0 as NSString).lastPathComponent }
    }

    func close() { inotify.stop() }
}
