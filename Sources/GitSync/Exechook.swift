import Foundation

/// `--exechook-command`: run after each publish with the new worktree as its working directory
/// and `GITSYNC_HASH` in its environment, so it can act on the exact tree that went live. The
/// command is one program, not a shell line (git-sync execs it with no arguments).
struct Exechook: Hook {
    let name = "exechook"
    let command: String
    let timeout: Duration
    let worktree: @Sendable (String) -> String
    let log: Logger

    func run(hash: String) async throws {
        var env = ProcessInfo.processInfo.environment
        env["GITSYNC_HASH"] = hash
        log.info(0, "running exechook", ("hash", hash), ("command", command), ("timeout", "\(timeout)"))
        let out = try await Subprocess.check([command], cwd: worktree(hash), environment: env, timeout: timeout)
        log.info(1, "exechook succeeded", ("hash", hash), ("stdout", out))
    }
}
