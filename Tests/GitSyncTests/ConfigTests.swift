import Foundation
import Testing
@testable import GitSync

/// Flags, env and defaults resolve as git-sync's main.go does, including v3 compatibility.
@Suite struct ConfigTests {
    func resolve(_ args: [String], env: [String: String] = [:]) throws -> GitSyncConfig {
        try GitSyncConfig.resolve(GitSyncOptions.parse(GitSyncOptions.normalize(args)), environment: env)
    }

    func failure(_ args: [String], env: [String: String] = [:]) -> GitSyncConfigError? {
        do {
            _ = try resolve(args, env: env)
            return nil
        } catch let e as GitSyncConfigError {
            return e
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    /// The seed's v3.1.6 env: root defaults to /tmp/git, dest → link, branch → ref.
    @Test func seedV3Environment() throws {
        let c = try resolve([], env: ["GIT_SYNC_REPO": "file:///srv/git/site.git", "GIT_SYNC_BRANCH": "master",
                                      "GIT_SYNC_DEPTH": "1", "GIT_SYNC_DEST": "html"])
        #expect(c.root == "/tmp/git")
        #expect(c.link == "/tmp/git/html")
        #expect(c.ref == "master")
        #expect(c.depth == 1)
        #expect(c.period == .seconds(10))
        #expect(c.notes.contains("setting --ref from deprecated --branch"))
        #expect(c.notes.contains("env $GIT_SYNC_REPO has been deprecated, use $GITSYNC_REPO instead"))
    }

    @Test func v4Defaults() throws {
        let c = try resolve(["--repo", "https://example.com/org/repo.git", "--root", "/srv/root"])
        #expect(c.ref == "HEAD")
        #expect(c.link == "/srv/root/repo.git", "link defaults to the leaf of --repo")
        #expect(c.depth == 1 && c.submodules == .recursive && c.gc == .always)
        #expect(c.initPeriod == c.period)
        #expect(c.syncTimeout == .seconds(120))
        #expect(c.maxFailures == 0 && c.initMaxFailures == nil)
        #expect(!c.oneTime && c.exechook == nil && c.webhook == nil && c.httpBind == nil)
    }

    @Test func flagsBeatEnvironment() throws {
        let c = try resolve(["--repo=/r", "--root=/x", "--period=250ms", "--link=/abs/link", "--one-time=true"],
                            env: ["GITSYNC_PERIOD": "5s", "GITSYNC_ONE_TIME": "false"])
        #expect(c.period == .milliseconds(250))
        #expect(c.link == "/abs/link")
        #expect(c.oneTime)
    }

    @Test func waitSecondsBecomePeriod() throws {
        let c = try resolve(["--repo=/r", "--root=/x"], env: ["GIT_SYNC_WAIT": "0.5"])
        #expect(c.period == .milliseconds(500))
        #expect(c.notes.contains("setting --period from deprecated --wait"))
    }

    /// env.go: with both names set, the later (deprecated) one wins, with a warning.
    @Test func envPrecedenceIsGitSyncs() throws {
        let c = try resolve(["--root=/x"], env: ["GITSYNC_REPO": "/new", "GIT_SYNC_REPO": "/old"])
        #expect(c.repo == "/old")
        #expect(c.notes.contains("env $GITSYNC_REPO was overridden by $GIT_SYNC_REPO"))
    }

    @Test func syncSignalNames() throws {
        #expect(try resolve(["--repo=/r", "--root=/x", "--sync-on-signal=SIGHUP"]).syncSignal == SIGHUP)
        #expect(try resolve(["--repo=/r", "--root=/x", "--sync-on-signal=USR1"]).syncSignal == SIGUSR1)
        #expect(try resolve(["--repo=/r", "--root=/x", "--sync-on-signal=1"]).syncSignal == 1)
    }

    @Test(arguments: [
        (["--root=/x"], [String: String](), Int32(1), "required flag: --repo must be specified"),
        (["--repo=/r"], [:], 1, "required flag: --root must be specified"),
        (["--repo=/r", "--root=/x", "--period=10"], [:], 2, "invalid argument \"10\" for \"--period\" flag: time: missing unit in duration \"10\""),
        (["--repo=/r", "--root=/x"], ["GITSYNC_PERIOD": "soon"], 1, "invalid duration env GITSYNC_PERIOD=\"soon\": time: invalid duration \"soon\""),
        (["--repo=/r", "--root=/x", "--period=5ms"], [:], 1, "invalid flag: --period must be at least 10ms"),
        (["--repo=/r", "--root=/x", "--depth=-1"], [:], 1, "invalid flag: --depth must be greater than or equal to 0"),
        (["--repo=/r", "--root=/x", "--branch=a", "--rev=b"], [:], 1, "deprecated flag combo: can't set --ref from deprecated --branch and --rev (one or the other is OK)"),
        (["--repo=/r", "--root=/x", "--submodules=some"], [:], 1, "invalid flag: --submodules must be one of \"recursive\", \"shallow\", or \"off\""),
        (["--repo=/r", "--root=/x", "--http-metrics"], [:], 1, "required flag: --http-bind must be specified when --http-metrics is set"),
        (["--repo=/r", "--root=/x", "--webhook-url=http://h/", "--webhook-timeout=100ms"], [:], 1, "invalid flag: --webhook-timeout must be at least 1s"),
        (["--repo=/r", "--root=/x", "--sync-on-signal=SIGNOPE"], [:], 1, "invalid flag: --sync-on-signal must be a valid signal name or number"),
        (["--repo=/r", "--root=/x"], ["GITSYNC_ONE_TIME": "yes"], 1, "invalid bool env GITSYNC_ONE_TIME=\"yes\": strconv.ParseBool: parsing \"yes\": invalid syntax"),
    ])
    func badInputIsRefusedWithGitSyncsMessage(args: [String], env: [String: String], code: Int32, message: String) {
        let e = failure(args, env: env)
        #expect(e?.exitCode == code)
        #expect(e?.message == message)
    }

    @Test func goParseRules() {
        #expect(GoParse.int("0x10") == 16 && GoParse.int("010") == 8 && GoParse.int("-3") == -3 && GoParse.int("1_000") == nil)
        #expect(GoParse.int("12") == 12 && GoParse.int("") == nil && GoParse.int("1.5") == nil)
        #expect(GoParse.bool("T") == true && GoParse.bool("0") == false && GoParse.bool("yes") == nil)
    }

    @Test func absolutePaths() {
        #expect(GitSyncConfig.absolute("html", base: "/tmp/git") == "/tmp/git/html")
        #expect(GitSyncConfig.absolute("../x/./y", base: "/tmp/git") == "/tmp/x/y")
        #expect(GitSyncConfig.absolute("/abs", base: "/tmp/git") == "/abs")
    }
}
