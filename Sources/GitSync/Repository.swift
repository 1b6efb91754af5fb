import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The local side of one git-sync: a repository at `--root` that is fetched into but never
/// checked out, and one worktree per commit at `ROOT/.worktrees/HASH`. Publishing is
/// `Publisher`'s job; this is a port of git-sync's `repoSync` (`initRepo`, `fetch`, `SyncRepo`,
/// `createWorktree`, `configureWorktree`, `cleanup`) on the host's `git`, command for command,
/// so that a root written by the real git-sync is taken over as it is (and vice versa).
struct Repository {
    let config: GitSyncConfig
    let log: Logger
    let metrics: Metrics
    /// git's environment: the process's own, plus a private global config.
    let gitEnvironment: [String: String]
    /// Syncs that published (the first sync counts even when nothing changed).
    private(set) var syncCount = 0
    /// Set after a failure: the next attempt re-checks the repo and worktree from scratch.
    private var verified = false

    init(config: GitSyncConfig, log: Logger, metrics: Metrics, gitEnvironment: [String: String]) {
        self.config = config
        self.log = log
        self.metrics = metrics
        self.gitEnvironment = gitEnvironment
    }

    var worktreesDir: String { config.root + "/.worktrees" }
    func worktree(for hash: String) -> String { worktreesDir + "/" + hash }

    /// What one sync did: whether the published hash changed, and the hash now published.
    struct Outcome: Sendable {
        var changed: Bool
        var hash: String
    }

    /// `SyncRepo`: fetch the ref, and when it moved (or on the first sync) build its worktree
    /// and publish it. `beforePublish`/`afterPublish` are the hooks' entry points.
    mutating func sync(deadline: ContinuousClock.Instant, afterPublish: (String) -> Void) async throws -> Outcome {
        do {
            let outcome = try await syncOnce(deadline: deadline, afterPublish: afterPublish)
            verified = true
            return outcome
        } catch {
            verified = false
            throw error
        }
    }

    private mutating func syncOnce(deadline: ContinuousClock.Instant, afterPublish: (String) -> Void) async throws -> Outcome {
        try await initRepo(deadline)
        let current = Publisher.currentTarget(link: config.link)
        var currentHash = current.map { ($0 as NSString).lastPathComponent } ?? ""
        try await fetch(deadline)
        let remoteHash = try await git(["rev-parse", "FETCH_HEAD^{}"], deadline).trimmingCharacters(in: .whitespacesAndNewlines)

        if currentHash == remoteHash, let current, !(await worktreeIsSane(current, hash: currentHash, deadline)) {
            log.info(0, "worktree failed checks or was empty", ("path", current))
            try await removeWorktree(current, deadline)
            currentHash = ""
        }
        // A worktree somewhere else (an older git-sync's layout) counts as a change.
        let changed = currentHash != remoteHash || current != worktree(for: currentHash)
        guard changed || syncCount == 0 else {
            log.info(2, "update not required", ("ref", config.ref), ("remote", remoteHash), ("syncCount", syncCount))
            return Outcome(changed: false, hash: remoteHash)
        }
        log.info(0, "update required", ("ref", config.ref), ("local", currentHash), ("remote", remoteHash), ("syncCount", syncCount))
        metrics.fetched()
        // Moves the repo's own HEAD (no checkout) so later fetches negotiate from here.
        try await git(["reset", "--soft", remoteHash, "--"], deadline)
        let target = worktree(for: remoteHash)
        if changed { try await createWorktree(target, hash: remoteHash, deadline) }
        try await configureWorktree(target, hash: remoteHash, deadline)
        if changed {
            try Publisher.publish(target: target, link: config.link)
            // The old worktree's mtime starts its --stale-worktree-timeout.
            if let current { _ = utimes(current, nil) }
        }
        afterPublish(remoteHash)
        syncCount += 1
        log.info(0, "updated successfully", ("ref", config.ref), ("remote", remoteHash), ("syncCount", syncCount))
        if let current, !currentHash.isEmpty, current != worktree(for: currentHash) {
            try? FileManager.default.removeItem(atPath: current)
        }
        return Outcome(changed: changed, hash: remoteHash)
    }

    // MARK: - The repository at --root

    /// `initRepo`: make the root a usable repository with `origin` = --repo. An unusable root
    /// (a crash mid-sync, someone else's files) is emptied rather than removed: it is usually a
    /// volume's mount point.
    private func initRepo(_ deadline: ContinuousClock.Instant) async throws {
        var needInit = false
        if !FileManager.default.fileExists(atPath: config.root) {
            log.info(1, "repo directory does not exist, creating it", ("path", config.root))
            try FileManager.default.createDirectory(atPath: config.root, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o775])
            needInit = true
        } else if !verified, !(await repoIsSane(deadline)) {
            log.info(0, "repo directory was empty or failed checks", ("path", config.root))
            try Self.removeContents(of: config.root) { _ in true }
            needInit = true
        }
        if needInit {
            log.info(0, "initializing repo directory", ("path", config.root))
            try await git(["init", "-b", "git-sync"], deadline)
            guard await repoIsSane(deadline) else { throw SyncError("can't initialize git repo directory") }
        }
        let r = try await Subprocess.run([config.git, "remote", "get-url", "origin"], cwd: config.root,
                                         environment: gitEnvironment, timeout: remaining(deadline))
        if r.status != 0 {
            guard r.stderr.contains("No such remote") else { throw Subprocess.Failure(command: ["git", "remote", "get-url", "origin"], result: r) }
            try await git(["remote", "add", "origin", config.repo], deadline)
        } else if r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) != config.repo {
            try await git(["remote", "set-url", "origin", config.repo], deadline)
        }
    }

    /// `sanityCheckRepo`: non-empty, its own top level (not inside another repo), passes fsck,
    /// and no `shallow.lock` left by a crashed git. Checked on the first sync and after a
    /// failure; a repo this process just used successfully needs no re-check every period.
    private func repoIsSane(_ deadline: ContinuousClock.Instant) async -> Bool {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: config.root), !entries.isEmpty else { return false }
        guard let top = try? await git(["rev-parse", "--show-toplevel"], deadline),
              top.trimmingCharacters(in: .whitespacesAndNewlines) == config.root else {
            log.info(0, "repo directory is not the top of its own repo", ("path", config.root))
            return false
        }
        guard (try? await git(["fsck", "--no-progress", "--connectivity-only"], deadline)) != nil else { return false }
        return !FileManager.default.fileExists(atPath: config.root + "/.git/shallow.lock")
    }

    /// `fetch`: the one ref, at --depth, without checking anything out.
    private func fetch(_ deadline: ContinuousClock.Instant) async throws {
        log.info(2, "fetching", ("ref", config.ref), ("repo", config.repo))
        var args = ["fetch", config.repo, config.ref, "--verbose", "--no-progress", "--prune", "--no-auto-gc"]
        if config.depth > 0 {
            args += ["--depth", String(config.depth)]
        } else if try await git(["rev-parse", "--is-shallow-repository"], deadline).trimmingCharacters(in: .whitespacesAndNewlines) == "true" {
            args.append("--unshallow")
        }
        try await git(args, deadline)
    }

    // MARK: - Worktrees

    /// `sanityCheckWorktree`: non-empty and checked out at its own hash.
    private func worktreeIsSane(_ path: String, hash: String, _ deadline: ContinuousClock.Instant) async -> Bool {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: path), !entries.isEmpty else { return false }
        guard let head = try? await git(["rev-parse", "HEAD"], deadline, cwd: path) else { return false }
        guard head.trimmingCharacters(in: .whitespacesAndNewlines) == hash else { return false }
        if verified { return true }
        return (try? await git(["fsck", "--no-progress", "--connectivity-only"], deadline, cwd: path)) != nil
    }

    private func createWorktree(_ path: String, hash: String, _ deadline: ContinuousClock.Instant) async throws {
        // A worktree dir left by a sync that failed half-way would make `worktree add` fail forever.
        try await removeWorktree(path, deadline)
        log.info(1, "adding worktree", ("path", path), ("hash", hash))
        try await git(["worktree", "add", "--force", "--detach", path, hash, "--no-checkout"], deadline)
    }

    /// `configureWorktree`: a relative `.git` file (so the worktree works wherever the volume
    /// is mounted), the files checked out, and submodules updated.
    private func configureWorktree(_ path: String, hash: String, _ deadline: ContinuousClock.Instant) async throws {
        let rel = Publisher.relativePath(from: path, to: config.root)
        try "gitdir: \(rel)/.git/worktrees/\(hash)\n".write(toFile: path + "/.git", atomically: false, encoding: .utf8)
        log.info(1, "setting worktree HEAD", ("hash", hash))
        try await git(["reset", "--hard", hash, "--"], deadline, cwd: path)
        // Without a .gitmodules there is nothing to update, and the command costs a good share
        // of a publish (tens of ms): skip it, the tree is the same.
        if config.submodules != .off, FileManager.default.fileExists(atPath: path + "/.gitmodules") {
            var args = ["submodule", "update", "--init"]
            if config.submodules == .recursive { args.append("--recursive") }
            if config.depth != 0 { args += ["--depth", String(config.depth)] }
            log.info(1, "updating submodules")
            try await git(args, deadline, cwd: path)
        }
    }

    private func removeWorktree(_ path: String, _ deadline: ContinuousClock.Instant) async throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        log.info(1, "removing worktree", ("path", path))
        try FileManager.default.removeItem(atPath: path)
        try await git(["worktree", "prune", "--verbose"], deadline)
    }

    /// `cleanup`: remove worktrees that are not current and older than
    /// --stale-worktree-timeout, then let git forget them and collect garbage.
    func cleanup(deadline: ContinuousClock.Instant) async throws {
        guard let current = Publisher.currentTarget(link: config.link) else { return }
        let currentHash = (current as NSString).lastPathComponent
        let stale = Double(config.staleWorktreeTimeout.components.seconds) + Double(config.staleWorktreeTimeout.components.attoseconds) / 1e18
        var removed = 0
        guard FileManager.default.fileExists(atPath: worktreesDir) else { return }
        try Self.removeContents(of: worktreesDir) { path in
            guard (path as NSString).lastPathComponent != currentHash else { return false }
            let mtime = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? .distantPast
            guard Date().timeIntervalSince(mtime) > stale else { return false }
            removed += 1
            return true
        }
        guard removed > 0 else { return }
        try await git(["worktree", "prune", "--verbose"], deadline)
        try await git(["reflog", "expire", "--expire-unreachable=all", "--all"], deadline)
        switch config.gc {
        case .off: break
        case .auto: try await git(["gc", "--auto"], deadline)
        case .always: try await git(["gc"], deadline)
        case .aggressive: try await git(["gc", "--aggressive"], deadline)
        }
    }

    /// Removes the entries of `dir` for which `predicate` holds; keeps going past failures
    /// (another container's busy file must not stop the rest) and reports them together.
    static func removeContents(of dir: String, where predicate: (String) -> Bool) throws {
        var failures: [String] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
            let path = dir + "/" + name
            guard predicate(path) else { continue }
            do { try FileManager.default.removeItem(atPath: path) } catch { failures.append("\(path): \(error.localizedDescription)") }
        }
        if !failures.isEmpty { throw SyncError("can't remove \(failures.joined(separator: "; "))") }
    }

    // MARK: - Running git

    @discardableResult
    func git(_ args: [String], _ deadline: ContinuousClock.Instant, cwd: String? = nil) async throws -> String {
        log.info(5, "running command", ("cwd", cwd ?? config.root), ("cmd", ([config.git] + args).joined(separator: " ")))
        return try await Subprocess.check([config.git] + args, cwd: cwd ?? config.root, environment: gitEnvironment,
                                          timeout: remaining(deadline))
    }

    private func remaining(_ deadline: ContinuousClock.Instant) -> Duration {
        max(deadline - ContinuousClock.now, .milliseconds(1))
    }
}

struct SyncError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
