import CTandemInit
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A command exec'd into a running container with its stdio handed to the caller instead of
/// captured: what the CRI's `Exec` gives the kubelet's streaming server for `kubectl exec`.
///
/// The caller owns the descriptors it is given (and closes them, or hands them to an event
/// loop that does). The command ends on its own, or by `kill()` when the client went away.
public final class StreamingExec: Sendable {
    /// Where stdin is written: the write end of the command's stdin pipe; nil when the client
    /// sends no stdin (the command then reads /dev/null) or with a terminal.
    public let stdin: Int32?
    /// The read ends of the command's stdout and stderr pipes; nil with a terminal.
    public let stdout: Int32?
    public let stderr: Int32?
    /// With `tty`, the pty master: stdin is written to it and the terminal's output read from
    /// it (stdout and stderr are one stream on a terminal, as on a node).
    public let terminal: Int32?

    private let session: ShimSession
    /// A copy of the master kept for resizes: the caller's copy may be closed (and its number
    /// reused) while a resize message is still on its way.
    private let resizeFD: Int32

    init(stdin: Int32?, stdout: Int32?, stderr: Int32?, terminal: Int32?, session: ShimSession) {
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.terminal = terminal
        self.session = session
        resizeFD = terminal.map { fcntl($0, F_DUPFD_CLOEXEC, 0) } ?? -1
    }

    deinit { if resizeFD >= 0 { close(resizeFD) } }

    /// The command's exit code, once it exited; or why it never ran (a missing binary, a bad
    /// working directory), the runtime's error the kubelet passes on.
    public func wait() async -> Result<Int32, ContainerStartError> {
        let o = await session.finished()
        if let e = o.startError { return .failure(ContainerStartError(message: e)) }
        return .success(o.status.code)
    }

    /// Sets the terminal's size (`TIOCSWINSZ`); the command gets SIGWINCH.
    public func resize(width: UInt16, height: UInt16) {
        if resizeFD >= 0 { _ = tandem_set_winsize(resizeFD, height, width) }
    }

    /// SIGKILLs the command and whatever it started in its process group (the client is gone).
    public func kill() {
        if let child = session.childPid, !session.childExited { Glibc.kill(-child, SIGKILL) }
        session.killShim()
    }
}

extension Runtime {
    /// Runs `argv` inside a running container's namespaces, as `exec(in:…)` does for probes,
    /// but with live stdio: a stdin pipe when `stdin` is set, separate stdout and stderr pipes,
    /// or with `tty` one pseudo-terminal that becomes the command's controlling terminal.
    public func streamExec(in container: ContainerProcess, argv: [String], env: [String], workingDir: String?,
                           stdin: Bool, tty: Bool) throws -> StreamingExec {
        guard !argv.isEmpty else { throw ContainerStartError(message: "no command") }
        var config = ShimConfig()
        config.add("pid", String(container.pid))
        if let cwd = workingDir, !cwd.isEmpty { config.add("cwd", cwd) }
        if tty { config.add("tty", "1") }
        for a in argv { config.add("arg", a) }
        for e in env { config.add("env", e) }
        container.isolation.forExec.add(to: &config)
        let name = "exec-\(container.id)"
        if tty {
            var master: Int32 = -1, slave: Int32 = -1
            guard tandem_openpty(&master, &slave) == 0 else { throw RuntimeError.errno("openpty") }
            // The slave is the shim's stdin, stdout and stderr; spawnShim closes our copy.
            let session: ShimSession
            do {
                session = try spawnShim(mode: "exec", config: config, name: name, stdin: slave, out: slave, err: slave,
                                        sources: [], readEnds: [], onDrained: {})
            } catch {
                close(master)
                throw error
            }
            return StreamingExec(stdin: nil, stdout: nil, stderr: nil, terminal: master, session: session)
        }
        var opened: [Int32] = []
        do {
            let input = stdin ? try Sys.pipe() : nil
            if let input { opened += [input.read, input.write] }
            let (out, err) = try StdioSetup.outputPipes(&opened)
            // On failure spawnShim has closed what it was given; the rest is ours.
            opened = [input?.write, out.read, err.read].compactMap { $0 }
            let session = try spawnShim(mode: "exec", config: config, name: name, stdin: input?.read ?? devNull,
                                        out: out.write, err: err.write, sources: [], readEnds: [], onDrained: {})
            return StreamingExec(stdin: input?.write, stdout: out.read, stderr: err.read, terminal: nil, session: session)
        } catch {
            opened.forEach { close($0) }
            throw error
        }
    }
}
