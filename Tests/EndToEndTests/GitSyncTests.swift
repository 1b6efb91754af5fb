import Foundation
import KubeAPI
import Synchronization
import Testing

/// A bare repository and a working clone that pushes to it, with the host's real git.
final class GitFixture: @unchecked Sendable {
    let dir: String
    let bare: String
    let work: String
    private var version = 0

    /// `bare` defaults to a fresh temporary path; the seed test passes /srv/git/site.git.
    init(bare: String? = nil) throws {
        dir = try Tandem.tempDir("tandem-gitsync")
        self.bare = bare ?? dir + "/site.git"
        work = dir + "/work"
        try git(["init", "-q", "--bare", "-b", "master", self.bare])
        try git(["init", "-q", "-b", "master", work])
        try git(["-C", work, "remote", "add", "origin", self.bare])
    }

    @discardableResult
    func git(_ args: [String]) throws -> String {
        let r = try Tandem.exec("/usr/bin/git", ["-c", "user.name=e2e", "-c", "user.email=e2e@example.com"] + args)
        guard r.status == 0 else { throw FixtureError(message: "git \(args.joined(separator: " ")): \(r.stderr)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Commits `files` (name → content) and pushes; returns the new commit's hash.
    @discardableResult
    func commit(_ files: [String: String]) throws -> String {
        version += 1
        for (name, content) in files { try content.write(toFile: "\(work)/\(name)", atomically: false, encoding: .utf8) }
        try git(["-C", work, "add", "-A"])
        try git(["-C", work, "commit", "-q", "-m", "version \(version)"])
        try git(["-C", work, "push", "-q", "origin", "master"])
        return try git(["-C", work, "rev-parse", "HEAD"])
    }

    func cleanup() {
        try? FileManager.default.removeItem(atPath: dir)
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// `tandem sidecar git-sync …` left running in the background.
final class GitSyncRun: @unchecked Sendable {
    let process = Process()
    let outDir: String

    init(_ args: [String], env: [String: String] = [:]) throws {
        outDir = try Tandem.tempDir("tandem-gitsync-out")
        FileManager.default.createFile(atPath: outDir + "/err", contents: nil)
        process.executableURL = URL(fileURLWithPath: Tandem.binary)
        process.arguments = ["sidecar", "git-sync"] + args
        process.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: outDir + "/err"))
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var log: String { (try? String(contentsOfFile: outDir + "/err", encoding: .utf8)) ?? "" }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: outDir)
    }
}

/// Waits (up to `timeout`) for `condition`; tests may poll, the product does not.
@discardableResult
func eventually(_ timeout: TimeInterval, every: useconds_t = 5_000, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(every)
    }
    return condition()
}

/// The hash a git-sync link publishes: `basename(readlink(link))`, git-sync's contract.
func publishedHash(_ link: String) -> String? {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: link)).map { ($0 as NSString).lastPathComponent }
}

/// `tandem sidecar git-sync` through the binary, with real git, real files and real HTTP.
@Suite(.serialized) struct GitSyncEndToEndTests {
    /// git-sync's layout: ROOT/.worktrees/HASH, the link relative, and --one-time exits 0.
    @Test func oneTimeSyncLaysOutWorktreeAndRelativeLink() throws {
        let repo = try GitFixture()
        defer { repo.cleanup() }
        let hash = try repo.commit(["index.html": "version 1\n"])
        let root = repo.dir + "/root"
        let r = try Tandem.exec(Tandem.binary, ["sidecar", "git-sync", "--repo", "file://\(repo.bare)", "--root", root,
                                                "--link", "html", "--ref", "master", "--one-time"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/html") == ".worktrees/\(hash)")
        #expect(try String(contentsOfFile: root + "/html/index.html", encoding: .utf8) == "version 1\n")
        #expect(try String(contentsOfFile: "\(root)/.worktrees/\(hash)/.git", encoding: .utf8) == "gitdir: ../../.git/worktrees/\(hash)\n")
        #expect(r.stderr.contains("\"msg\":\"updated successfully\""))
        #expect(r.stderr.contains("\"msg\":\"exiting after one sync\""))
    }

    /// The seed manifest's v3 variables, outside a pod: dest → link, branch → ref, --root from
    /// GIT_SYNC_ROOT, GIT_SYNC_ONE_TIME honoured.
    @Test func v3EnvironmentIsHonoured() throws {
        let repo = try GitFixture()
        defer { repo.cleanup() }
        let hash = try repo.commit(["a.txt": "a\n"])
        let root = repo.dir + "/v3root"
        let p = try GitSyncRun([], env: ["GIT_SYNC_REPO": repo.bare, "GIT_SYNC_BRANCH": "master", "GIT_SYNC_DEPTH": "1",
                                        "GIT_SYNC_DEST": "html", "GIT_SYNC_ROOT": root, "GIT_SYNC_ONE_TIME": "true"])
        p.process.waitUntilExit()
        #expect(p.process.terminationStatus == 0, "\(p.log)")
        #expect(publishedHash(root + "/html") == hash)
        #expect(p.log.contains("setting --link from deprecated --dest"))
        p.stop()
    }

    /// 100 commits published while a reader checks every tree it can reach through the link:
    /// the two files of one commit always agree (never a mixed tree), the link never dangles,
    /// and old worktrees are cleaned up.
    @Test func hundredUpdatesNeverShowAMixedTree() throws {
        let repo = try GitFixture()
        defer { repo.cleanup() }
        try repo.commit(["a.txt": "0\n", "b.txt": "0\n"])
        let root = repo.dir + "/root"
        let link = root + "/html"
        let p = try GitSyncRun(["--repo", repo.bare, "--root", root, "--link", "html", "--period", "20ms", "--git-gc", "off"])
        defer { p.stop() }
        #expect(eventually(20) { publishedHash(link) != nil }, "first sync: \(p.log.suffix(500))")

        let reader = ConsistencyReader(link: link)
        reader.start()
        var latencies: [Double] = []
        for i in 1...100 {
            // Large enough that a non-atomic copy would be caught half-way.
            let body = String(repeating: "\(i)\n", count: 2000)
            let hash = try repo.commit(["a.txt": body, "b.txt": body])
            let pushed = Date()
            guard eventually(10, every: 1_000, { publishedHash(link) == hash }) else {
                Issue.record("update \(i) not published: \(p.log.suffix(800))")
                break
            }
            latencies.append(Date().timeIntervalSince(pushed))
        }
        let result = reader.stop()
        #expect(result.reads > 100, "reader ran: \(result)")
        #expect(result.mixed == 0, "mixed trees: \(result)")
        #expect(result.dangling == 0, "the link resolved to nothing: \(result)")
        // Cleanup keeps only the current worktree once the loop has caught up.
        #expect(eventually(5) { (try? FileManager.default.contentsOfDirectory(atPath: root + "/.worktrees"))?.count == 1 })
        let sorted = latencies.sorted()
        print("git-sync e2e: 100 publishes, median \(Int(sorted[sorted.count / 2] * 1000)) ms after push (period 20ms), reader \(result)")
    }

    /// --http-bind: / is 503 until the first sync and 200 after; /metrics has git-sync's names.
    @Test func httpEndpointServesReadinessAndMetrics() throws {
        let repo = try GitFixture()
        defer { repo.cleanup() }
        let port = 20000 + Int.random(in: 0..<20000)
        let root = repo.dir + "/root"
        // An empty repo cannot be synced: the endpoint must say "not ready".
        let p = try GitSyncRun(["--repo", repo.bare, "--root", root, "--period", "100ms", "--max-failures=-1",
                                "--http-bind", "127.0.0.1:\(port)", "--http-metrics"])
        defer { p.stop() }
        #expect(eventually(10) { httpStatus("127.0.0.1", port: port, path: "/") == 503 }, "\(p.log.suffix(500))")
        let hash = try repo.commit(["index.html": "hello\n"])
        #expect(eventually(10) { publishedHash(root + "/" + "site.git") == hash }, "link named after the repo: \(p.log.suffix(500))")
        #expect(eventually(5) { httpStatus("127.0.0.1", port: port, path: "/") == 200 })
        let metrics = httpGet("127.0.0.1", port: port, path: "/metrics") ?? ""
        #expect(metrics.contains("# TYPE git_sync_count_total counter"))
        #expect(metrics.contains("git_sync_count_total{status=\"success\"} 1"))
        #expect(metrics.contains("git_sync_count_total{status=\"error\"}"))
        #expect(metrics.contains("git_sync_duration_seconds_count{status=\"success\"} 1"))
        #expect(metrics.contains("git_fetch_count_total 1"))
    }

    /// Hooks run after the publish: the exechook in the new worktree with $GITSYNC_HASH, the
    /// webhook as a POST carrying Gitsync-Hash; --one-time waits for both and exits 0.
    @Test func exechookAndWebhookSeeTheNewHash() throws {
        let repo = try GitFixture()
        defer { repo.cleanup() }
        let hash = try repo.commit(["index.html": "hooked\n"])
        let root = repo.dir + "/root"
        let hook = repo.dir + "/hook.sh"
        try "#!/bin/sh\necho \"$GITSYNC_HASH $(pwd) $(cat index.html)\" > \(repo.dir)/exechook.out\n".write(toFile: hook, atomically: true, encoding: .utf8)
        chmod(hook, 0o755)
        let server = try WebhookReceiver(dir: repo.dir)
        defer { server.stop() }
        let r = try Tandem.exec(Tandem.binary, ["sidecar", "git-sync", "--repo", repo.bare, "--root", root, "--one-time",
                                                "--exechook-command", hook, "--webhook-url", "http://127.0.0.1:\(server.port)/synced"])
        #expect(r.status == 0, "\(r.stderr)")
        let out = (try? String(contentsOfFile: repo.dir + "/exechook.out", encoding: .utf8)) ?? ""
        #expect(out == "\(hash) \(root)/.worktrees/\(hash) hooked\n")
        #expect(server.requests().contains("POST /synced \(hash)"), "\(server.requests())")
    }

    /// --sync-on-signal cuts the period short: a commit is published right after SIGHUP even
    /// with an hour-long period.
    @Test func syncOnSignal() throws {
        let repo = try GitFixture()
        defer { repo.cleanup() }
        try repo.commit(["a": "1"])
        let root = repo.dir + "/root"
        let p = try GitSyncRun(["--repo", repo.bare, "--root", root, "--period", "1h", "--sync-on-signal", "SIGHUP"])
        defer { p.stop() }
        #expect(eventually(10) { publishedHash(root + "/site.git") != nil })
        let hash = try repo.commit(["a": "2"])
        kill(p.process.processIdentifier, SIGHUP)
        #expect(eventually(5) { publishedHash(root + "/site.git") == hash }, "\(p.log.suffix(500))")
    }

    /// Bad input: a clear message and exit 1 (configuration, as git-sync's fatalConfigErrorf) or
    /// 2 (flag syntax, as pflag); never a crash.
    @Test(arguments: [
        ("no repo", ["--root", "/tmp/tandem-gitsync-none"], [String: String](), Int32(1), "required flag: --repo must be specified"),
        ("no root", ["--repo", "/srv/none.git"], [:], 1, "required flag: --root must be specified"),
        ("bad period", ["--repo", "/x", "--root", "/tmp/x", "--period", "fast"], [:], 2, "time: invalid duration \"fast\""),
        ("bad env period", ["--repo", "/x", "--root", "/tmp/x"], ["GITSYNC_PERIOD": "10"], 1, "time: missing unit in duration \"10\""),
        ("short period", ["--repo", "/x", "--root", "/tmp/x", "--period=1ms"], [:], 1, "--period must be at least 10ms"),
        ("unknown flag", ["--repo", "/x", "--root", "/tmp/x", "--no-such-flag"], [:], 2, "Unknown option '--no-such-flag'"),
        ("bad depth", ["--repo", "/x", "--root", "/tmp/x", "--depth", "deep"], [:], 2, "deep"),
        ("https webhook", ["--repo", "/x", "--root", "/tmp/x", "--webhook-url", "https://example.com/"], [:], 1, "must be an http:// URL"),
    ])
    func badInput(name: String, args: [String], env: [String: String], code: Int32, message: String) throws {
        let p = try GitSyncRun(args, env: env)
        p.process.waitUntilExit()
        let log = p.log
        #expect(p.process.terminationStatus == code, "\(name): \(log)")
        #expect(log.contains(message), "\(name): \(log)")
        p.stop()
    }

    /// --http-bind on a port another process listens on: exit 1 before any sync, with
    /// git-sync's message, not a sidecar that syncs without its probe endpoint.
    @Test func httpBindOnABusyPortFailsBeforeSyncing() throws {
        let repo = try GitFixture()
        defer { repo.cleanup() }
        try repo.commit(["a": "1"])
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, len) == 0 && listen(holder, 1) == 0 && getsockname(holder, $0, &len) == 0 }
        }
        try #require(bound)
        let port = Int(UInt16(bigEndian: addr.sin_port))
        let root = repo.dir + "/root"
        let r = try Tandem.exec(Tandem.binary, ["sidecar", "git-sync", "--repo", repo.bare, "--root", root, "--one-time",
                                                "--http-bind", "127.0.0.1:\(port)"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("can't bind HTTP endpoint"), "\(r.stderr)")
        #expect(publishedHash(root + "/site.git") == nil, "nothing synced")
    }

    /// A repository that does not exist: git's own error, "too many failures", exit 1.
    @Test func missingRepositoryFailsClearly() throws {
        let root = try Tandem.tempDir("tandem-gitsync-missing")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let r = try Tandem.exec(Tandem.binary, ["sidecar", "git-sync", "--repo", "file:///nonexistent/tandem-e2e.git", "--root", root])
        #expect(r.status == 1)
        #expect(r.stderr.contains("too many failures, aborting"))
        #expect(r.stderr.contains("does not appear to be a git repository"))
    }
}

/// Reads the tree behind a git-sync link in a tight loop on its own thread, the way a consumer
/// would: resolve the link once, then read both files of that tree.
final class ConsistencyReader: @unchecked Sendable {
    struct Result: CustomStringConvertible {
        var reads = 0, mixed = 0, dangling = 0, vanished = 0
        var description: String { "reads \(reads), mixed \(mixed), dangling \(dangling), old tree removed mid-read \(vanished)" }
    }

    let link: String
    private let state = Mutex((stop: false, result: Result()))
    private let done = DispatchSemaphore(value: 0)

    init(link: String) { self.link = link }

    func start() {
        Thread { [self] in
            let dir = (link as NSString).deletingLastPathComponent
            var r = Result()
            while !state.withLock({ $0.stop }) {
                // The link itself must always lead to a complete tree.
                guard access(link + "/a.txt", R_OK) == 0 else { r.dangling += 1; continue }
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link) else { r.dangling += 1; continue }
                let tree = dir + "/" + target
                let a = try? String(contentsOfFile: tree + "/a.txt", encoding: .utf8)
                let b = try? String(contentsOfFile: tree + "/b.txt", encoding: .utf8)
                guard let a, let b else { r.vanished += 1; continue } // cleaned up after the swap: not a mix
                r.reads += 1
                if a != b { r.mixed += 1 }
            }
            state.withLock { $0.result = r }
            done.signal()
        }.start()
    }

    func stop() -> Result {
        state.withLock { $0.stop = true }
        done.wait()
        return state.withLock { $0.result }
    }
}

/// A one-shot HTTP server (Python's http.server) that records `METHOD PATH GITSYNC-HASH` lines.
final class WebhookReceiver {
    let process = Process()
    let port: Int
    let log: String

    init(dir: String) throws {
        log = dir + "/webhook.log"
        port = 20000 + Int.random(in: 0..<20000)
        let script = """
            import http.server, sys
            class H(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    with open(sys.argv[2], "a") as f:
                        f.write("%s %s %s\\n" % (self.command, self.path, self.headers.get("Gitsync-Hash")))
                    self.send_response(200); self.end_headers()
                def log_message(self, *a): pass
            http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
            """
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, String(port), log]
        try process.run()
        _ = eventually(5) { httpStatus("127.0.0.1", port: port, path: "/") != nil }
    }

    func requests() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// SIGKILL: the test process may hand its children a blocked SIGTERM, which python keeps.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// The status of a GET (nil when nothing answers), for endpoints that answer 5xx on purpose.
func httpStatus(_ host: String, port: Int, path: String) -> Int? {
    let script = """
        import sys, urllib.request, urllib.error
        try:
            print(urllib.request.urlopen(sys.argv[1], timeout=3).status)
        except urllib.error.HTTPError as e:
            print(e.code)
        """
    guard let r = try? Tandem.exec("/usr/bin/python3", ["-c", script, "http://\(host):\(port)\(path)"]), r.status == 0 else { return nil }
    return Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
}

/// The seed's git-sync example (`shared/examples/seeds/git-sync.yaml`), unchanged, under
/// `tandem run`: the v3.1.6 image runs Tandem's git-sync, nginx serves the synced tree through
/// the relative link in the shared emptyDir, and a new commit shows up within period + 1 s.
@Suite(.serialized) struct GitSyncSeedTests {
    static let bare = "/srv/git/site.git"

    @Test func seedServesRepoAndFollowsNewCommits() throws {
        // The manifest names /srv/git/site.git; keep whatever is there and put it back after.
        try Self.withSeedRepository(seedServesRepo)
    }

    private func seedServesRepo(_ repo: GitFixture) throws {
        let first = try repo.commit(["index.html": "This is version 1.0\n"])

        // TANDEM_SEEDS: for a checkout that does not sit beside shared/ (a git worktree).
        let seeds = ProcessInfo.processInfo.environment["TANDEM_SEEDS"] ?? Tandem.seeds
        let run = try BackgroundRun(files: ["\(seeds)/git-sync.yaml"])
        defer { run.cleanup() }
        #expect(run.wait { run.podRunningAndReady("git-sync") }, "pod never Running and Ready")
        let ip = try #require(run.pod("git-sync")?["status"]?["podIP"]?.stringValue)
        #expect(run.wait(for: 30) { httpGet(ip) == "This is version 1.0\n" },
                "nginx never served the synced page: \(run.log(pod: "git-sync", container: "ctr-sync").suffix(800))")
        // nginx sees the volume's `html` as a relative link into .worktrees (its own mount path).
        let nginx = processes(containing: "nginx: master process").filter {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\($0)/root/usr/share/nginx/html")) != nil
        }
        #expect(nginx.count == 1)
        if let pid = nginx.first {
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/root/usr/share/nginx/html") == ".worktrees/\(first)")
        }
        let log = run.log(pod: "git-sync", container: "ctr-sync")
        #expect(log.contains("setting --ref from deprecated --branch"))
        #expect(log.contains("\"msg\":\"updated successfully\""))

        // Push version 2; git-sync's default period is 10 s.
        _ = try repo.commit(["index.html": "This is version 2.0\n"])
        let pushed = Date()
        #expect(run.wait(for: 11) { httpGet(ip) == "This is version 2.0\n" }, "not served within period + 1 s")
        #expect(Date().timeIntervalSince(pushed) <= 11)
        let r = run.stop()
        #expect(r.status == 0, "\(r.stderr.suffix(500))")
    }
}
