import Foundation
import KubeAPI
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One child process run to completion: git, or the exechook. Foundation.Process is safe here
/// because it waits for its own pid only; this runs in the `tandem sidecar git-sync` process
/// (or the bench), never beside the runtime's pidfd reaper in a way that could steal a status.
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
        guard let program = argv.first, let path = lookPath(program, environment: environment ?? ProcessInfo.processInfo.environment) else {
            throw Failure(command: argv, result: Result(status: 127, stdout: "", stderr: "executable file not found in $PATH", timedOut: false))
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = Array(argv.dropFirst())
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        if let environment { p.environment = environment }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        let (exits, exited) = AsyncStream.makeStream(of: Int32.self, bufferingPolicy: .bufferingNewest(1))
        p.terminationHandler = { p in
            exited.yield(p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus)
            exited.finish()
        }
        try p.run()
        // Both pipes drained while the child runs, off the cooperative pool: a full pipe would
        // block the child, and a blocking read must not hold one of the pool's few threads.
        async let o = drain(out.fileHandleForReading)
        async let e = drain(err.fileHandleForReading)
        let timedOut = TimeoutFlag()
        let pid = p.processIdentifier
        let killer = timeout.map { timeout in
            Task {
                try await Task.sleep(for: timeout)
                timedOut.set()
                kill(pid, SIGTERM)
                try await Task.sleep(for: .seconds(1))
                kill(pid, SIGKILL)
            }
        }
        var status: Int32 = -1
        for await s in exits { status = s }
        killer?.cancel()
        return Result(status: status, stdout: await o, stderr: await e, timedOut: timedOut.isSet)
    }

    /// As `run`, but a non-zero exit is an error; returns stdout.
    @discardableResult
    static func check(_ argv: [String], cwd: String? = nil, environment: [String: String]? = nil, timeout: Duration? = nil) async throws -> String {
        let r = try await run(argv, cwd: cwd, environment: environment, timeout: timeout)
        guard r.status == 0, !r.timedOut else { throw Failure(command: argv, result: r) }
        return r.stdout
    }

    private static func drain(_ handle: FileHandle) async -> String {
        await withCheckedContinuation { c in
            DispatchQueue.global().async {
                let data = (try? handle.readToEnd()) ?? Data()
                c.resume(returning: String(decoding: data, as: UTF8.self))
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
