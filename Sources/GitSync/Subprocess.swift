import Foundation
import KubeAPI
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One child process run to completion: git, or the exechook. Spawned with posix_spawn and
/// waited for by pid on a dispatch thread, rather than with Foundation.Process, whose `run()`
/// crashed (a bad memmove inside it) after a few dozen quick syncs in a row.
struct Subprocess {
    struct Result: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
        var timedOut: Bool
    }

    /// A failed command, described as git-sync does: the command line, the status, and stderr.
    struct Failure: Error, CustomStringConvertible {
        var command: [String]
        var result: Result
        var description: String {
            let what = result.timedOut ? "timed out" : "exit status \(result.status)"
            let err = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            return "Run(\(command.joined(separator: " "))): \(what): { stdout: \(GoSyntax.quote(result.stdout)), stderr: \(GoSyntax.quote(err)) }"
        }
    }

    /// Runs `argv` (argv[0] searched in PATH when it has no slash) in `cwd`, killing it once
    /// `timeout` has passed (SIGTERM, then SIGKILL a second later).
    static func run(_ argv: [String], cwd: String? = nil, environment: [String: String]? = nil,
                    timeout: Duration? = nil) async throws -> Result {
        let env = environment ?? ProcessInfo.processInfo.environment
        guard let program = argv.first, let path = lookPath(program, environment: env) else {
            throw Failure(command: argv, result: Result(status: 127, stdout: "", stderr: "executable file not found in $PATH", timedOut: false))
        }
        // Pipes are made and handed over under one lock: a hook spawning at the same moment as
        // a git command must not inherit the other's pipe ends (no pipe2 in the Glibc overlay).
        let (out, err, pid) = try spawnLock.withLock { _ in
            let out = try pipe(), err = try pipe()
            do {
                let pid = try spawn(path, argv: argv, env: env.map { "\($0.key)=\($0.value)" }, cwd: cwd, stdout: out.write, stderr: err.write)
                close(out.write)
                close(err.write)
                return (out, err, pid)
            } catch {
                [out.read, out.write, err.read, err.write].forEach { close($0) }
                throw error
            }
        }
        // Both pipes drained while the child runs, off the cooperative pool: a full pipe would
        // block the child, and a blocking read must not hold one of the pool's few threads.
        async let o = drain(out.read)
        async let e = drain(err.read)
        let timedOut = TimeoutFlag()
        let killer = timeout.map { timeout in
            Task {
                try await Task.sleep(for: timeout)
                timedOut.set()
                kill(pid, SIGTERM)
                try await Task.sleep(for: .seconds(1))
                kill(pid, SIGKILL)
            }
        }
        let status = await waitForExit(pid)
        killer?.cancel()
        return Result(status: status, stdout: await o, stderr: await e, timedOut: timedOut.isSet)
    }

    /// Starts `argv` in the background with its output going to `output` (e.g. /dev/null);
    /// the caller owns the pid (kill and waitpid it).
    static func launch(_ argv: [String], environment: [String: String], output: Int32) throws -> pid_t {
        try spawnLock.withLock { _ in
            try spawn(argv[0], argv: argv, env: environment.map { "\($0.key)=\($0.value)" }, cwd: nil, stdout: output, stderr: output)
        }
    }

    private static let spawnLock = Mutex<Void>(())

    private static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard Glibc.pipe(&fds) == 0 else { throw SyncError("pipe: \(String(cString: strerror(errno)))") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }

    /// glibc's `posix_spawn_file_actions_addchdir_np` (2.29+), which the Glibc module does not
    /// export: the child's working directory without a shell or `env -C` in between.
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private static let addChdir: AddChdir? = dlsym(nil, "posix_spawn_file_actions_addchdir_np").map { unsafeBitCast($0, to: AddChdir.self) }

    /// posix_spawn with stdin from /dev/null, the two pipes as stdout and stderr, `cwd`, and
    /// every signal back at its default (an inherited ignored SIGTERM would make timeouts moot).
    private static func spawn(_ path: String, argv: [String], env: [String], cwd: String?, stdout: Int32, stderr: Int32) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        if let cwd {
            guard let addChdir else { throw SyncError("posix_spawn_file_actions_addchdir_np is missing from this libc") }
            _ = addChdir(&actions, cwd)
        }
        var attr = defaultSignalsAttributes()
        defer { posix_spawnattr_destroy(&attr) }
        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer { (cArgv + cEnv).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attr, cArgv, cEnv)
        guard rc == 0 else { throw SyncError("fork/exec \(path): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// Spawn attributes that give the child every signal at its default and none blocked,
    /// whatever this process ignores or blocks.
    static func defaultSignalsAttributes() -> posix_spawnattr_t {
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        var all = sigset_t(), none = sigset_t()
        sigfillset(&all)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        return attr
    }

    /// The exit status (128 + signal when killed), waited for by pid on a dispatch thread.
    private static func waitForExit(_ pid: pid_t) async -> Int32 {
        await withCheckedContinuation { c in
            DispatchQueue.global().async {
                var st: Int32 = 0
                while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
                c.resume(returning: st & 0x7f == 0 ? (st >> 8) & 0xff : 128 + (st & 0x7f))
            }
        }
    }

    /// As `run`, but a non-zero exit is an error; returns stdout.
    @discardableResult
    static func check(_ argv: [String], cwd: String? = nil, environment: [String: String]? = nil, timeout: Duration? = nil) async throws -> String {
        let r = try await run(argv, cwd: cwd, environment: environment, timeout: timeout)
        guard r.status == 0, !r.timedOut else { throw Failure(command: argv, result: r) }
        return r.stdout
    }

    /// Reads `fd` to EOF on a dispatch thread, then closes it.
    private static func drain(_ fd: Int32) async -> String {
        await withCheckedContinuation { c in
            DispatchQueue.global().async {
                let data = (try? FileHandle(fileDescriptor: fd, closeOnDealloc: true).readToEnd()) ?? Data()
                c.resume(returning: String(decoding: data ?? Data(), as: UTF8.self))
            }
        }
    }

    /// Go's `exec.LookPath`: names with a slash are used as they are.
    static func lookPath(_ name: String, environment: [String: String]) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        for dir in (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            var st = stat()
            if stat(candidate, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

/// Whether the timeout fired, set by the killer task and read once the child has exited.
final class TimeoutFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .relaxed) }
    var isSet: Bool { flag.load(ordering: .relaxed) }
}
