import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs plain host commands (`ip`, CNI plugins, …) on the runtime's spawn/reap
/// machinery, so tandem never needs Foundation.Process and its SIGCHLD handling.
public enum Command {
    /// Runs `argv` (argv[0] searched in tandem's PATH) and collects its output.
    /// `status` is the exit code, or 128 + signal. `env` nil inherits tandem's environment.
    public static func run(_ argv: [String], env: [String]? = nil, stdin: Data? = nil) async throws
        -> (status: Int32, stdout: Data, stderr: Data) {
        guard let path = argv.first else { throw RuntimeError("Command.run: empty argv") }
        let out = try Sys.pipe()
        let err = try Sys.pipe()
        let input = stdin != nil ? try Sys.pipe() : nil
        let pid: pid_t
        do {
            pid = try Sys.spawn(path, argv: argv, env: env ?? Sys.environment,
                                fds: [input?.read ?? -1, out.write, err.write], searchPath: true)
        } catch {
            [out.read, out.write, err.read, err.write, input?.read, input?.write].compactMap { $0 }.forEach { close($0) }
            throw error
        }
        close(out.write)
        close(err.write)
        if let input, let stdin {
            close(input.read)
            // A separate thread: the child may not read its input before we drain its output.
            let data = Confined(stdin)
            let fd = input.write
            Thread.detachNewThread {
                signal(SIGPIPE, SIG_IGN) // a child that exits early must not kill tandem
                try? Sys.writeAll(fd, Array(data.value))
                close(fd)
            }
        }
        let collected = Mutex<(out: Data?, err: Data?, status: WaitStatus?)>((nil, nil, nil))
        let done = CompletionLatch()
        let check: @Sendable () -> Void = {
            if collected.withLock({ $0.out != nil && $0.err != nil && $0.status != nil }) { done.open() }
        }
        Drain.start([(out.read, DataSink { d in collected.withLock { $0.out = d } }),
                     (err.read, DataSink { d in collected.withLock { $0.err = d } })],
                    name: "tandem-cmd-\(pid)") { check() }
        try Reaper.shared.watch(pid) { st in
            collected.withLock { $0.status = st }
            check()
        }
        await done.wait()
        let r = collected.withLock { $0 }
        return (r.status!.code, r.out!, r.err!)
    }
}

/// A one-shot gate that any number of tasks can await.
final class CompletionLatch: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func open() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            if s.open { return [] }
            s.open = true
            defer { s.waiters = [] }
            return s.waiters
        }
        waiters.forEach { $0.resume() }
    }

    func wait() async {
        await withCheckedContinuation { c in
            let isOpen = state.withLock { s -> Bool in
                if s.open { return true }
                s.waiters.append(c)
                return false
            }
            if isOpen { c.resume() }
        }
    }
}
