import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// git-sync's `pkg/pid1`: as a container's first process it would inherit every orphan (git's
/// helpers) and, being PID 1, ignore SIGTERM by default. So, like git-sync, it re-runs itself
/// as a child and acts as a bare init: signals are passed on, every child is reaped, and the
/// exit status is the child's (128 + signal when it was killed).
public enum Pid1 {
    /// When this process is PID 1: runs the child and never returns (exits with its status).
    public static func reRunIfInit() {
        guard getpid() == 1 else { return }
        FileHandle.standardError.write(Data("INFO: detected pid 1, running init handler\n".utf8))
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var attr = Subprocess.defaultSignalsAttributes()
        let argv = ([exe] + CommandLine.arguments.dropFirst()).map { strdup($0) } + [nil]
        var child: pid_t = 0
        let rc = posix_spawn(&child, exe, nil, &attr, argv, environ)
        guard rc == 0 else {
            FileHandle.standardError.write(Data("FATAL: unhandled pid1 error: \(String(cString: strerror(rc)))\n".utf8))
            exit(127)
        }
        let firstborn = child
        for signo in [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGALRM] {
            signal(signo, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signo)
            source.setEventHandler { kill(firstborn, signo) }
            source.resume()
            sources.append(source)
        }
        // Reaping blocks in wait(2): this process has no other children of its own to wait for.
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, 0)
            if pid == firstborn { break }
            if pid < 0 && errno != EINTR { exit(127) }
        }
        let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        exit(code)
    }

    /// Kept alive for the life of the process.
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []
}
