import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The git-sync program: set-up, then the sync loop of git-sync's `main` — sync, count the
/// result, clean up, and wait for the period (or the sync signal); abort after too many
/// consecutive failures; with --one-time, exit after the first success once the hooks ran.
public enum GitSyncProgram {
    /// Runs until --one-time completes or failures exceed --max-failures; returns the exit code.
    /// `metrics` is passed in so the bench can read what a run did.
    public static func run(_ config: GitSyncConfig, metrics: Metrics = Metrics()) async -> Int32 {
        var config = config
        let log = Logger(verbosity: config.verbose, errorFile: config.errorFile)
        for note in config.notes { log.info(0, note) }
        log.info(0, "starting up", ("pid", Int(getpid())), ("uid", Int(getuid())), ("gid", Int(getgid())),
                 ("repo", config.repo), ("ref", config.ref), ("root", config.root), ("link", config.link))

        guard let git = Subprocess.lookPath(config.git, environment: ProcessInfo.processInfo.environment) else {
            log.error(SyncError("exec: \"\(config.git)\": executable file not found in $PATH"), "FATAL: git executable not found", ("git", config.git))
            return 1
        }
        config.git = git
        umask(0o022)
        do {
            try FileManager.default.createDirectory(atPath: config.root, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o775])
        } catch {
            log.error(error, "FATAL: can't make root dir", ("path", config.root))
            return 1
        }
        // Symlinks in the root path would confuse the relative links later.
        if let real = realpath(config.root, nil) {
            let resolved = String(cString: real)
            free(real)
            if resolved != config.root {
                log.info(0, "normalized root path", ("root", config.root), ("result", resolved))
                if config.link.hasPrefix(config.root + "/") { config.link = resolved + config.link.dropFirst(config.root.count) }
                config.root = resolved
            }
        }

        let gitEnvironment: [String: String]
        do {
            gitEnvironment = try await setUpGit(config, log: log)
        } catch {
            log.error(error, "can't set default git configs")
            return 1
        }

        let ready = Atomic<Bool>(false)
        var httpServer: Task<Void, any Error>?
        defer { httpServer?.cancel() }
        if let bind = config.httpBind {
            do {
                let endpoint = HTTPEndpoint(metrics: config.httpMetrics ? metrics : nil, ready: { ready.load(ordering: .relaxed) })
                httpServer = try await endpoint.serve(address: bind)
                log.info(0, "serving HTTP", ("endpoint", bind), ("reasons", config.httpMetrics ? ["liveness", "metrics"] : ["liveness"]))
            } catch {
                log.error(error, "can't bind HTTP endpoint", ("endpoint", bind))
                return 1
            }
        }

        var repo = Repository(config: config, log: log, metrics: metrics, gitEnvironment: gitEnvironment)
        let hooks = makeHooks(config, log: log, metrics: metrics, worktree: { [root = config.root] in root + "/.worktrees/" + $0 })
        let hookTasks = hooks.map { h in Task { await h.run() } }
        defer { hookTasks.forEach { $0.cancel() } }

        let waker = Waker()
        var signalSource: (any DispatchSourceSignal)?
        if let signo = config.syncSignal {
            signal(signo, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signo)
            source.setEventHandler { waker.wake() }
            source.resume()
            signalSource = source
        }
        defer { signalSource?.cancel() }

        var failCount = 0
        var initialSyncDone = false
        var syncCount = 0
        while true {
            let start = ContinuousClock.now
            do {
                let outcome = try await repo.sync(deadline: start + config.syncTimeout) { hash in
                    for h in hooks { h.send(hash) }
                }
                initialSyncDone = true
                ready.store(true, ordering: .relaxed)
                let seconds = Self.seconds(ContinuousClock.now - start)
                // The first loop counts as a sync, hooks and all.
                if outcome.changed || syncCount == 0 {
                    if let touch = config.touchFile { Self.touch(touch, log: log) }
                    metrics.sync(.success, seconds: seconds)
                } else {
                    metrics.sync(.noop, seconds: seconds)
                }
                syncCount += 1
                do { try await repo.cleanup(deadline: ContinuousClock.now + config.syncTimeout) } catch {
                    log.error(error, "git cleanup failed")
                }
                if config.oneTime {
                    var code: Int32 = 0
                    for h in hooks where !(await h.waitForCompletion()) { code = 1 }
                    log.deleteErrorFile()
                    log.info(0, "exiting after one sync", ("status", Int(code)))
                    return code
                }
                if outcome.hash == config.ref {
                    log.info(0, "ref appears to be a git hash, no further sync needed", ("ref", config.ref))
                    log.deleteErrorFile()
                    while true { try? await Task.sleep(for: .seconds(86400 * 365)) }
                }
                failCount = 0
                log.deleteErrorFile()
            } catch {
                failCount += 1
                metrics.sync(.error, seconds: Self.seconds(ContinuousClock.now - start))
                let maxFails = !initialSyncDone ? (config.initMaxFailures ?? config.maxFailures) : config.maxFailures
                if maxFails >= 0 && failCount >= maxFails {
                    log.error(error, "too many failures, aborting", ("failCount", failCount), ("maxFailures", maxFails))
                    return 1
                }
                log.error(error, "error syncing repo, will retry", ("failCount", failCount))
            }
            let wait = initialSyncDone ? config.period : config.initPeriod
            log.info(3, "next sync", ("waitTime", "\(wait)"), ("syncCount", syncCount))
            await waker.wait(wait)
        }
    }

    /// git-sync's private git configuration: a temporary global config (the user's own is not
    /// touched, the system's is ignored) with its defaults — no detached gc, prune at once,
    /// never prompt for a password — and, with `--username`, a credential helper for the repo's
    /// URL. git-sync v4 `git credential approve`s the pair into git's `cache` helper before each
    /// sync; here the helper answers git's `get` from this process's environment (or reads
    /// `--password-file` when git asks), so no credential daemon outlives the sidecar and nothing
    /// is written to disk.
    static func setUpGit(_ config: GitSyncConfig, log: Logger) async throws -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        var template = Array((NSTemporaryDirectory() + "/git-sync.gitconfig.XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw SyncError("can't create gitconfig file: \(String(cString: strerror(errno)))") }
        close(fd)
        env["GIT_CONFIG_GLOBAL"] = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        env["GIT_CONFIG_NOSYSTEM"] = "true"
        let version = try await Subprocess.check([config.git, "version"], environment: env, timeout: .seconds(30))
        log.info(0, "git version", ("version", version.trimmingCharacters(in: .whitespacesAndNewlines)))
        var settings = [("gc.autoDetach", "false"), ("gc.pruneExpire", "now"), ("core.askPass", "true")]
        if let c = config.credentials {
            log.info(1, "storing git credential", ("url", config.repo))
            env["GITSYNC_CREDENTIAL_USERNAME"] = c.username
            let password: String
            switch c.secret {
            case .password(let p):
                env["GITSYNC_CREDENTIAL_PASSWORD"] = p
                password = #""$GITSYNC_CREDENTIAL_PASSWORD""#
            case .file(let path):
                env["GITSYNC_CREDENTIAL_PASSWORD_FILE"] = path
                password = #""$(cat "$GITSYNC_CREDENTIAL_PASSWORD_FILE")""#
            }
            // Scoped as `git credential approve url=REPO` scopes it: scheme, host and port (git
            // leaves the path out unless credential.useHttpPath).
            let scope = URLComponents(string: config.repo).flatMap { u in
                u.scheme.flatMap { scheme in u.host.map { "credential.\(scheme)://\($0)\(u.port.map { ":\($0)" } ?? "")." } }
            }
            settings.append(((scope ?? "credential.") + "helper",
                             #"!f() { test "$1" = get || exit 0; printf 'username=%s\npassword=%s\n' "$GITSYNC_CREDENTIAL_USERNAME" "# + password + "; }; f"))
        }
        for (key, value) in settings {
            try await Subprocess.check([config.git, "config", "--global", key, value], environment: env, timeout: .seconds(30))
        }
        return env
    }

    static func makeHooks(_ config: GitSyncConfig, log: Logger, metrics: Metrics, worktree: @escaping @Sendable (String) -> String) -> [HookRunner] {
        var hooks: [HookRunner] = []
        if let e = config.exechook {
            let l = log.named("exechook")
            hooks.append(HookRunner(hook: Exechook(command: e.command, timeout: e.timeout, worktree: worktree, log: l),
                                    backoff: e.backoff, log: l, metrics: metrics, oneTime: config.oneTime))
        }
        if let w = config.webhook {
            let l = log.named("webhook")
            hooks.append(HookRunner(hook: Webhook(url: w.url, method: w.method, successStatus: w.successStatus, timeout: w.timeout, log: l),
                                    backoff: w.backoff, log: l, metrics: metrics, oneTime: config.oneTime))
        }
        return hooks
    }

    static func touch(_ path: String, log: Logger) {
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if utimes(path, nil) != 0 {
                guard FileManager.default.createFile(atPath: path, contents: nil) else { throw SyncError("can't create \(path)") }
            }
        } catch {
            log.error(error, "failed to touch touch-file", ("path", path))
        }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
