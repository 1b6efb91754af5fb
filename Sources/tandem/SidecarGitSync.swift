import ArgumentParser
import Foundation
import GitSync

/// `tandem sidecar git-sync`: kubernetes/git-sync v4 on the host's `git` — same flags, same
/// `GITSYNC_*` (and v3 `GIT_SYNC_*`) variables, same on-disk layout and atomic symlink publish,
/// same metrics. The image catalog maps git-sync's images here, so manifests that use
/// `k8s.gcr.io/git-sync` or `registry.k8s.io/git-sync/git-sync` run unchanged.
///
/// The flags are parsed by `GitSyncOptions` inside `run` rather than by the command itself so
/// that exit codes are git-sync's: a bad flag exits 2 (pflag's usage error), a bad or missing
/// setting exits 1 (`fatalConfigErrorf`) — not ArgumentParser's 64.
struct SidecarGitSync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "git-sync",
        abstract: "Keep a directory in step with a git repository (kubernetes/git-sync v4, v3 env).",
        discussion: "Run `tandem sidecar git-sync --help` for git-sync's flags.",
        helpNames: []
    )

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var arguments: [String] = []

    func run() async throws {
        Pid1.reRunIfInit()
        let options: GitSyncOptions
        do {
            options = try GitSyncOptions.parse(GitSyncOptions.normalize(arguments))
        } catch {
            if GitSyncOptions.exitCode(for: error) == .success {
                print(GitSyncOptions.helpMessage(columns: 100).replacingOccurrences(of: "USAGE: git_sync", with: "USAGE: tandem sidecar git-sync"))
                return
            }
            FileHandle.standardError.write(Data((GitSyncOptions.message(for: error) + "\nRun 'tandem sidecar git-sync --help' for the flags.\n").utf8))
            throw ExitCode(2)
        }
        let config: GitSyncConfig
        do {
            config = try GitSyncConfig.resolve(options, environment: ProcessInfo.processInfo.environment)
        } catch let error as GitSyncConfigError {
            FileHandle.standardError.write(Data((error.message + "\n").utf8))
            throw ExitCode(error.exitCode)
        }
        let code = await GitSyncProgram.run(config)
        throw ExitCode(code)
    }
}
