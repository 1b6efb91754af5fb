import ArgumentParser

/// git-sync's command line, flag for flag: the v4 names plus the deprecated v3 ones v4 still
/// accepts (`--branch`, `--rev`, `--dest`, `--wait`, …). Every value is optional because an unset
/// flag falls back to its `GITSYNC_*` / `GIT_SYNC_*` variable and then to git-sync's default —
/// that resolution is `GitSyncConfig.resolve`, not ArgumentParser's, so that the order and the
/// messages are git-sync's. Durations stay strings here for the same reason: Go's
/// `time.ParseDuration` errors are what a git-sync user expects to read.
public struct GitSyncOptions: ParsableArguments {
    public init() {}

    @Option(help: "The git repository to sync (required).")
    public var repo: String?
    @Option(help: "The git revision (branch, tag, or hash) to sync (default HEAD).")
    public var ref: String?
    @Option(parsing: .unconditional, help: "Create a shallow clone with history truncated to N commits; 0 = full history (default 1).")
    public var depth: Int?
    @Option(help: "Git submodule behavior: recursive, shallow, or off (default recursive).")
    public var submodules: String?
    @Option(help: "The root directory for git-sync operations (required).")
    public var root: String?
    @Option(help: "The path (absolute or relative to --root) of the symlink to the checked-out files (default: the leaf dir of --repo).")
    public var link: String?
    @Option(name: .customLong("error-file"), help: "A file (absolute or relative to --root) into which errors are written.")
    public var errorFile: String?
    @Option(name: .customLong("touch-file"), help: "A file (absolute or relative to --root) touched whenever a sync completes.")
    public var touchFile: String?
    @Option(help: "How long to wait between syncs, at least 10ms (default 10s).")
    public var period: String?
    @Option(name: .customLong("init-period"), help: "How long to wait between attempts until the first success (default: --period).")
    public var initPeriod: String?
    @Option(name: .customLong("sync-timeout"), help: "The total time allowed for one sync (default 120s).")
    public var syncTimeout: String?
    @Flag(name: .customLong("one-time"), inversion: .prefixedNo, help: "Exit after the first sync.")
    public var oneTime: Bool?
    @Option(name: .customLong("sync-on-signal"), help: "Sync on receipt of this signal (e.g. SIGHUP, HUP or 1).")
    public var syncOnSignal: String?
    @Option(name: .customLong("max-failures"), parsing: .unconditional, help: "Consecutive failures allowed before aborting; -1 retries forever (default 0).")
    public var maxFailures: Int?
    @Option(name: .customLong("init-max-failures"), parsing: .unconditional, help: "As --max-failures, until the first success.")
    public var initMaxFailures: Int?
    @Option(name: .customLong("stale-worktree-timeout"), help: "How long to keep worktrees that are no longer current (default 0).")
    public var staleWorktreeTimeout: String?

    @Option(name: .customLong("exechook-command"), help: "A command run in the new worktree after each sync, with $GITSYNC_HASH set (must be idempotent).")
    public var exechookCommand: String?
    @Option(name: .customLong("exechook-timeout"), help: "The timeout for the exechook (default 30s).")
    public var exechookTimeout: String?
    @Option(name: .customLong("exechook-backoff"), help: "The time to wait before retrying a failed exechook (default 3s).")
    public var exechookBackoff: String?
    @Option(name: .customLong("webhook-url"), help: "A URL notified after each sync, with header Gitsync-Hash (must be idempotent).")
    public var webhookURL: String?
    @Option(name: .customLong("webhook-method"), help: "The HTTP method for the webhook (default POST).")
    public var webhookMethod: String?
    @Option(name: .customLong("webhook-success-status"), parsing: .unconditional, help: "The HTTP status that means success; 0 = fire and forget (default 200).")
    public var webhookSuccessStatus: Int?
    @Option(name: .customLong("webhook-timeout"), help: "The timeout for the webhook (default 1s).")
    public var webhookTimeout: String?
    @Option(name: .customLong("webhook-backoff"), help: "The time to wait before retrying a failed webhook (default 3s).")
    public var webhookBackoff: String?

    @Option(name: .customLong("http-bind"), help: "The address (host:port) of the HTTP endpoint: / is 503 until the first sync, then 200.")
    public var httpBind: String?
    @Flag(name: .customLong("http-metrics"), inversion: .prefixedNo, help: "Serve Prometheus metrics at /metrics on --http-bind.")
    public var httpMetrics: Bool?

    @Option(help: "The username to use for git authentication (see --password and --password-file).")
    public var username: String?
    @Option(help: "The password or personal access token for --username; visible in ps, prefer $GITSYNC_PASSWORD or --password-file.")
    public var password: String?
    @Option(name: .customLong("password-file"), help: "A file holding the password or token for --username, read again for each sync.")
    public var passwordFile: String?

    @Option(help: "The git command to run (default git).")
    public var git: String?
    @Option(name: .customLong("git-gc"), help: "Git garbage collection: auto, always, aggressive, or off (default always).")
    public var gitGC: String?
    @Option(name: [.customShort("v"), .customLong("verbose")], parsing: .unconditional, help: "Log at this V level and lower.")
    public var verbose: Int?

    // Deprecated v3 flags that v4 still maps onto the new ones.
    @Option(help: .hidden) public var branch: String?
    @Option(help: .hidden) public var rev: String?
    @Option(help: .hidden) public var dest: String?
    @Option(help: .hidden) public var wait: Double?
    @Option(help: .hidden) public var timeout: Int?
    @Option(name: .customLong("max-sync-failures"), parsing: .unconditional, help: .hidden) public var maxSyncFailures: Int?
    @Option(name: .customLong("sync-hook-command"), help: .hidden) public var syncHookCommand: String?

    /// The boolean flags, which pflag also accepts as `--flag=true|false`.
    static let booleanFlags = ["one-time", "http-metrics"]

    /// pflag spells booleans `--one-time=false`; ArgumentParser spells that `--no-one-time`.
    public static func normalize(_ arguments: [String]) -> [String] {
        arguments.map { arg in
            for name in booleanFlags {
                for value in ["true", "1", "t", "T", "TRUE", "True"] where arg == "--\(name)=\(value)" { return "--\(name)" }
                for value in ["false", "0", "f", "F", "FALSE", "False"] where arg == "--\(name)=\(value)" { return "--no-\(name)" }
            }
            return arg
        }
    }
}
