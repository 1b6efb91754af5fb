import Foundation
import OneShotHTTP
import KubeAPI
#if canImport(Glibc)
import Glibc
#endif

/// A configuration git-sync refuses. `usage` errors are the flag parser's (pflag exits 2);
/// the rest are `fatalConfigErrorf`'s and exit 1, as git-sync does.
public struct GitSyncConfigError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var exitCode: Int32
    public var description: String { message }

    static func fatal(_ message: String) -> GitSyncConfigError { GitSyncConfigError(message: message, exitCode: 1) }
    static func usage(_ message: String) -> GitSyncConfigError { GitSyncConfigError(message: message, exitCode: 2) }
}

/// Everything one git-sync run needs, resolved and checked before anything touches the disk.
public struct GitSyncConfig: Sendable {
    public enum Submodules: String, Sendable { case recursive, shallow, off }
    public enum GC: String, Sendable { case auto, always, aggressive, off }

    public struct Exechook: Sendable {
        public var command: String
        public var timeout: Duration
        public var backoff: Duration
    }

    public struct Webhook: Sendable {
        public var url: String
        public var method: String
        /// 0: fire and forget, any answer is a success.
        public var successStatus: Int
        public var timeout: Duration
        public var backoff: Duration
    }

    public var repo: String
    public var ref: String
    public var depth: Int
    public var submodules: Submodules
    /// Absolute; where the bare-ish repo and `.worktrees/` live.
    public var root: String
    /// Absolute path of the published symlink.
    public var link: String
    public var errorFile: String?
    public var touchFile: String?
    public var period: Duration
    public var initPeriod: Duration
    public var syncTimeout: Duration
    public var oneTime: Bool
    public var syncSignal: Int32?
    public var maxFailures: Int
    /// Only when set explicitly (flag or `$GITSYNC_INIT_MAX_FAILURES`); else `maxFailures` applies.
    public var initMaxFailures: Int?
    public var staleWorktreeTimeout: Duration
    public var exechook: Exechook?
    public var webhook: Webhook?
    /// `--username` with `--password` or `--password-file`: HTTP credentials for `repo`.
    public var credentials: Credentials?
    public var httpBind: String?
    public var httpMetrics: Bool
    public var git: String
    public var gc: GC
    public var verbose: Int
    public struct Credentials: Sendable, Equatable {
        public enum Secret: Sendable, Equatable {
            case password(String)
            /// Read when git asks, so a rotated Secret volume is picked up by the next sync.
            case file(String)
        }

        public var username: String
        public var secret: Secret
    }

    /// What git-sync logs about how it read its settings (deprecated names and their mapping).
    public var notes: [String]

    /// Throws `GitSyncConfigError` only.
    /// Flags first, then the environment, then git-sync's defaults; then main.go's checks, in
    /// main.go's order, so the first complaint is the one git-sync would make.
    public static func resolve(_ o: GitSyncOptions, environment: [String: String]) throws -> GitSyncConfig {
        var env = Environment(environment)
        var notes: [String] = []

        func duration(_ flag: String?, _ name: String, env fromEnv: Duration?, default def: Duration) throws -> Duration {
            guard let flag else { return fromEnv ?? def }
            switch GoDuration.parse(flag) {
            case .success(let d): return d
            case .failure(let e): throw GitSyncConfigError.usage("invalid argument \(GoSyntax.quote(flag)) for \"--\(name)\" flag: \(e.message)")
            }
        }

        let verbose = try o.verbose ?? env.int("GITSYNC_VERBOSE") ?? 0
        let repo = o.repo ?? env.string("GITSYNC_REPO", "GIT_SYNC_REPO") ?? ""
        var ref = o.ref ?? env.string("GITSYNC_REF") ?? "HEAD"
        let depth = try o.depth ?? env.int("GITSYNC_DEPTH", "GIT_SYNC_DEPTH") ?? 1
        let submodules = o.submodules ?? env.string("GITSYNC_SUBMODULES", "GIT_SYNC_SUBMODULES") ?? "recursive"
        var root = o.root ?? env.string("GITSYNC_ROOT", "GIT_SYNC_ROOT") ?? ""
        var link = o.link ?? env.string("GITSYNC_LINK", "GIT_SYNC_LINK") ?? ""
        let errorFile = o.errorFile ?? env.string("GITSYNC_ERROR_FILE", "GIT_SYNC_ERROR_FILE") ?? ""
        let touchFile = o.touchFile ?? env.string("GITSYNC_TOUCH_FILE", "GIT_SYNC_TOUCH_FILE") ?? ""
        let initPeriodSet = try duration(o.initPeriod, "init-period", env: env.duration("GITSYNC_INIT_PERIOD"), default: .zero)
        var period = try duration(o.period, "period", env: env.duration("GITSYNC_PERIOD", "GIT_SYNC_PERIOD"), default: .seconds(10))
        var syncTimeout = try duration(o.syncTimeout, "sync-timeout", env: env.duration("GITSYNC_SYNC_TIMEOUT", "GIT_SYNC_SYNC_TIMEOUT"), default: .seconds(120))
        let oneTime = try o.oneTime ?? env.bool("GITSYNC_ONE_TIME", "GIT_SYNC_ONE_TIME") ?? false
        let syncOnSignal = o.syncOnSignal ?? env.string("GITSYNC_SYNC_ON_SIGNAL", "GIT_SYNC_SYNC_ON_SIGNAL") ?? ""
        var maxFailures = try o.maxFailures ?? env.int("GITSYNC_MAX_FAILURES", "GIT_SYNC_MAX_FAILURES") ?? 0
        let initMaxFailures = try o.initMaxFailures ?? env.int("GITSYNC_INIT_MAX_FAILURES")
        let stale = try duration(o.staleWorktreeTimeout, "stale-worktree-timeout", env: env.duration("GITSYNC_STALE_WORKTREE_TIMEOUT"), default: .zero)
        var exechookCommand = o.exechookCommand ?? env.string("GITSYNC_EXECHOOK_COMMAND", "GIT_SYNC_EXECHOOK_COMMAND") ?? ""
        let exechookTimeout = try duration(o.exechookTimeout, "exechook-timeout", env: env.duration("GITSYNC_EXECHOOK_TIMEOUT", "GIT_SYNC_EXECHOOK_TIMEOUT"), default: .seconds(30))
        let exechookBackoff = try duration(o.exechookBackoff, "exechook-backoff", env: env.duration("GITSYNC_EXECHOOK_BACKOFF", "GIT_SYNC_EXECHOOK_BACKOFF"), default: .seconds(3))
        let webhookURL = o.webhookURL ?? env.string("GITSYNC_WEBHOOK_URL", "GIT_SYNC_WEBHOOK_URL") ?? ""
        let webhookMethod = o.webhookMethod ?? env.string("GITSYNC_WEBHOOK_METHOD", "GIT_SYNC_WEBHOOK_METHOD") ?? "POST"
        var webhookStatus = try o.webhookSuccessStatus ?? env.int("GITSYNC_WEBHOOK_SUCCESS_STATUS", "GIT_SYNC_WEBHOOK_SUCCESS_STATUS") ?? 200
        let webhookTimeout = try duration(o.webhookTimeout, "webhook-timeout", env: env.duration("GITSYNC_WEBHOOK_TIMEOUT", "GIT_SYNC_WEBHOOK_TIMEOUT"), default: .seconds(1))
        let webhookBackoff = try duration(o.webhookBackoff, "webhook-backoff", env: env.duration("GITSYNC_WEBHOOK_BACKOFF", "GIT_SYNC_WEBHOOK_BACKOFF"), default: .seconds(3))
        let httpBind = o.httpBind ?? env.string("GITSYNC_HTTP_BIND", "GIT_SYNC_HTTP_BIND") ?? ""
        let httpMetrics = try o.httpMetrics ?? env.bool("GITSYNC_HTTP_METRICS", "GIT_SYNC_HTTP_METRICS") ?? false
        let git = o.git ?? env.string("GITSYNC_GIT", "GIT_SYNC_GIT") ?? "git"
        let gc = o.gitGC ?? env.string("GITSYNC_GIT_GC", "GIT_SYNC_GIT_GC") ?? "always"
        // The deprecated flags' defaults are the v3 variables themselves.
        let branch = o.branch ?? env.string("GIT_SYNC_BRANCH") ?? ""
        let rev = o.rev ?? env.string("GIT_SYNC_REV") ?? ""
        let dest = o.dest ?? env.string("GIT_SYNC_DEST") ?? ""
        let wait = try o.wait ?? env.double("GIT_SYNC_WAIT") ?? 0
        let timeout = try o.timeout ?? env.int("GIT_SYNC_TIMEOUT") ?? 0
        let maxSyncFailures = try o.maxSyncFailures ?? env.int("GIT_SYNC_MAX_SYNC_FAILURES") ?? 0
        let syncHookCommand = o.syncHookCommand ?? env.string("GIT_SYNC_HOOK_COMMAND") ?? ""
        notes += env.warnings

        if root.isEmpty {
            // v4 requires --root; the v3 image defaulted it to $HOME/git with HOME=/tmp, and
            // manifests written for it (like the seed) rely on that.
            guard env.usesV3Names else { throw GitSyncConfigError.fatal("required flag: --root must be specified") }
            root = "/tmp/git"
            notes.append("defaulting --root to /tmp/git, as the v3 image did ($HOME/git with HOME=/tmp)")
        }
        root = absolute(root, base: FileManager.default.currentDirectoryPath)

        if repo.isEmpty { throw GitSyncConfigError.fatal("required flag: --repo must be specified") }

        switch (branch.isEmpty, rev.isEmpty || rev == "HEAD") {
        case (false, true):
            notes.append("setting --ref from deprecated --branch")
            ref = branch
        case (true, _) where !rev.isEmpty:
            notes.append("setting --ref from deprecated --rev")
            ref = rev
        case (false, false):
            throw GitSyncConfigError.fatal("deprecated flag combo: can't set --ref from deprecated --branch and --rev (one or the other is OK)")
        default: break
        }
        if ref.isEmpty { throw GitSyncConfigError.fatal("required flag: --ref must be specified") }
        if depth < 0 { throw GitSyncConfigError.fatal("invalid flag: --depth must be greater than or equal to 0") }
        guard let submodulesMode = Submodules(rawValue: submodules) else {
            throw GitSyncConfigError.fatal("invalid flag: --submodules must be one of \"recursive\", \"shallow\", or \"off\"")
        }
        guard let gcMode = GC(rawValue: gc) else {
            throw GitSyncConfigError.fatal("invalid flag: --git-gc must be one of \"auto\", \"always\", \"aggressive\", or \"off\"")
        }

        if !dest.isEmpty {
            notes.append("setting --link from deprecated --dest")
            link = dest
        }
        if link.isEmpty {
            link = repo.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? repo
        }

        if wait != 0 {
            notes.append("setting --period from deprecated --wait")
            period = .milliseconds(Int64(wait * 1000))
        }
        if period < .milliseconds(10) { throw GitSyncConfigError.fatal("invalid flag: --period must be at least 10ms") }
        var initPeriod = initPeriodSet
        if initPeriod == .zero {
            initPeriod = period
        } else if initPeriod < .milliseconds(10) {
            throw GitSyncConfigError.fatal("invalid flag: --init-period must be at least 10ms")
        }

        var syncSignal: Int32?
        if !syncOnSignal.isEmpty {
            guard let signo = Signals.number(syncOnSignal) else {
                throw GitSyncConfigError.fatal("invalid flag: --sync-on-signal must be a valid signal name or number")
            }
            syncSignal = signo
        }

        if timeout != 0 {
            notes.append("setting --sync-timeout from deprecated --timeout")
            syncTimeout = .seconds(timeout)
        }
        if syncTimeout < .milliseconds(10) { throw GitSyncConfigError.fatal("invalid flag: --sync-timeout must be at least 10ms") }
        if maxSyncFailures != 0 {
            notes.append("setting --max-failures from deprecated --max-sync-failures")
            maxFailures = maxSyncFailures
        }

        if !syncHookCommand.isEmpty {
            notes.append("setting --exechook-command from deprecated --sync-hook-command")
            exechookCommand = syncHookCommand
        }
        var exechook: Exechook?
        if !exechookCommand.isEmpty {
            if exechookTimeout < .seconds(1) { throw GitSyncConfigError.fatal("invalid flag: --exechook-timeout must be at least 1s") }
            if exechookBackoff < .seconds(1) { throw GitSyncConfigError.fatal("invalid flag: --exechook-backoff must be at least 1s") }
            exechook = Exechook(command: exechookCommand, timeout: exechookTimeout, backoff: exechookBackoff)
        }

        var webhook: Webhook?
        if !webhookURL.isEmpty {
            if webhookStatus == -1 { webhookStatus = 0 } // back-compat: -1 and 0 mean the same
            if webhookStatus < 0 { throw GitSyncConfigError.fatal("invalid flag: --webhook-success-status must be a valid HTTP code or 0") }
            if webhookTimeout < .seconds(1) { throw GitSyncConfigError.fatal("invalid flag: --webhook-timeout must be at least 1s") }
            if webhookBackoff < .seconds(1) { throw GitSyncConfigError.fatal("invalid flag: --webhook-backoff must be at least 1s") }
            // Tandem's webhook client speaks plain HTTP only.
            guard (try? OneShotRequest(method: .POST, url: webhookURL)) != nil else {
                throw GitSyncConfigError.fatal("invalid flag: --webhook-url must be an http:// URL (tandem's git-sync has no TLS): \(webhookURL)")
            }
            webhook = Webhook(url: webhookURL, method: webhookMethod, successStatus: webhookStatus,
                              timeout: webhookTimeout, backoff: webhookBackoff)
        }

        if httpBind.isEmpty && httpMetrics {
            throw GitSyncConfigError.fatal("required flag: --http-bind must be specified when --http-metrics is set")
        }

        let username = o.username ?? env.string("GITSYNC_USERNAME", "GIT_SYNC_USERNAME") ?? ""
        let password = o.password ?? env.string("GITSYNC_PASSWORD", "GIT_SYNC_PASSWORD") ?? ""
        let passwordFile = o.passwordFile ?? env.string("GITSYNC_PASSWORD_FILE", "GIT_SYNC_PASSWORD_FILE") ?? ""
        var credentials: Credentials?
        if !username.isEmpty {
            if password.isEmpty && passwordFile.isEmpty {
                throw GitSyncConfigError.fatal("required flag: --password or --password-file must be specified when --username is specified")
            }
            if !password.isEmpty && !passwordFile.isEmpty {
                throw GitSyncConfigError.fatal("invalid flag: only one of --password and --password-file may be specified")
            }
            if let u = URLComponents(string: repo), u.user != nil {
                throw GitSyncConfigError.fatal("invalid flag: credentials may not be specified in --repo when --username is specified")
            }
            credentials = Credentials(username: username, secret: passwordFile.isEmpty ? .password(password) : .file(passwordFile))
        } else if !password.isEmpty {
            throw GitSyncConfigError.fatal("invalid flag: --password may only be specified when --username is specified")
        } else if !passwordFile.isEmpty {
            throw GitSyncConfigError.fatal("invalid flag: --password-file may only be specified when --username is specified")
        }

        func underRoot(_ p: String) -> String? { p.isEmpty ? nil : absolute(p, base: root) }
        return GitSyncConfig(
            repo: repo, ref: ref, depth: depth, submodules: submodulesMode, root: root, link: absolute(link, base: root),
            errorFile: underRoot(errorFile), touchFile: underRoot(touchFile), period: period, initPeriod: initPeriod,
            syncTimeout: syncTimeout, oneTime: oneTime, syncSignal: syncSignal, maxFailures: maxFailures,
            initMaxFailures: initMaxFailures, staleWorktreeTimeout: stale, exechook: exechook, webhook: webhook, credentials: credentials,
            httpBind: httpBind.isEmpty ? nil : httpBind, httpMetrics: httpMetrics, git: git, gc: gcMode,
            verbose: verbose, notes: notes)
    }

    /// `makeAbsPath`: absolute paths stay, relative ones are joined to `base`; `.`/`..` folded.
    static func absolute(_ path: String, base: String) -> String {
        let joined = path.hasPrefix("/") ? path : base + "/" + path
        var parts: [Substring] = []
        for part in joined.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }
}

/// Signal names as `--sync-on-signal` takes them: a number, `SIGHUP`, or `HUP`.
enum Signals {
    static let names: [String: Int32] = [
        "SIGHUP": SIGHUP, "SIGINT": SIGINT, "SIGQUIT": SIGQUIT, "SIGUSR1": SIGUSR1, "SIGUSR2": SIGUSR2,
        "SIGALRM": SIGALRM, "SIGTERM": SIGTERM, "SIGCONT": SIGCONT, "SIGWINCH": SIGWINCH,
    ]

    static func number(_ s: String) -> Int32? {
        if let n = GoParse.int(s) { return n > 0 && n < 65 ? Int32(n) : nil }
        return names[s] ?? names["SIG" + s]
    }
}
