import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a host command (`ip`, a CNI plugin) returned.
struct HostCommandResult: Sendable {
    var status: Int32
    var stdout: [UInt8]
    var stderr: [UInt8]

    var stdoutString: String { String(decoding: stdout, as: UTF8.self) }
    var stderrString: String { String(decoding: stderr, as: UTF8.self) }
}

struct HostCommandError: Error, CustomStringConvertible {
    var description: String
}

/// Runs host tools for the network sandbox: `ip netns …` and the CNI plugin binaries.
///
/// Private to the Network folder on purpose: the process-spawning part of ContainerRuntime is
/// written separately and this helper is to be swapped for it later. It uses `posix_spawn`
/// (as Go's `os/exec`, which libcni's `RawExec` uses, does on Linux) and blocks a detached
/// `Thread` in `poll`/`waitpid`, so no Swift concurrency thread is ever held by a child.
///
/// Caveat for the swap: it reaps its own child with `waitpid(pid)`; a process-wide
/// `waitpid(-1)` reaper elsewhere would steal the status.
enum HostCommand {
    /// Work nobody waits for (refilling the pool of ready sandboxes) runs its commands under
    /// `nice -n 19`, so that on a small machine it yields the CPU to the pod starting meanwhile.
    @TaskLocal static var inBackground = false

    static func run(_ path: String, _ arguments: [String], environment: [String: String]? = nil,
                    stdin: [UInt8] = []) async throws -> HostCommandResult {
        let (path, arguments) = inBackground ? ("/usr/bin/nice", ["-n", "19", path] + arguments) : (path, arguments)
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HostCommandResult, Error>) in
            let thread = Thread {
                continuation.resume(with: Result { try runBlocking(path, arguments, environment: environment, stdin: stdin) })
            }
            thread.name = "tandem-hostcmd"
            thread.start()
        }
    }

    /// Convenience: runs the command and throws when it exits non-zero.
    @discardableResult
    static func check(_ path: String, _ arguments: [String]) async throws -> HostCommandResult {
        let r = try await run(path, arguments)
        guard r.status == 0 else {
            throw HostCommandError(description: "\(([path] + arguments).joined(separator: " ")): exit \(r.status): \(r.stderrString.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return r
    }

    private static func makePipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        // Glibc's pipe2 is not imported without _GNU_SOURCE; set close-on-exec right after, so
        // only the child's dup2'ed copies survive exec.
        guard pipe(&fds) == 0 else {
            throw HostCommandError(description: "pipe: \(String(cString: strerror(errno)))")
        }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        return (fds[0], fds[1])
    }

    static func runBlocking(_ path: String, _ arguments: [String], environment: [String: String]?,
                            stdin input: [UInt8]) throws -> HostCommandResult {
        let inPipe = try makePipe()
        let outPipe = try makePipe()
        let errPipe = try makePipe()
        var parentEnds: [Int32] = [inPipe.write, outPipe.read, errPipe.read]
        var childEnds: [Int32] = [inPipe.read, outPipe.write, errPipe.write]
        defer { for fd in parentEnds + childEnds where fd >= 0 { close(fd) } }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe.read, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe.write, 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe.write, 2)

        // The child must not inherit a blocked signal mask or ignored signals from Tandem.
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attr, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attr, &allSignals)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let env = environment ?? ProcessInfo.processInfo.environment
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }

        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attr, argv, envp)
        guard rc == 0 else {
            throw HostCommandError(description: "posix_spawn \(path): \(String(cString: strerror(rc)))")
        }
        for fd in childEnds { close(fd) }
        childEnds = []

        // Feed stdin and drain stdout/stderr together so a chatty child can never deadlock us.
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var written = 0
        var inFD = inPipe.write
        if input.isEmpty { close(inFD); inFD = -1 }
        var outFD = outPipe.read
        var errFD = errPipe.read
        var buffer = [UInt8](repeating: 0, count: 65536)
        while inFD >= 0 || outFD >= 0 || errFD >= 0 {
            var pfds: [pollfd] = []
            if inFD >= 0 { pfds.append(pollfd(fd: inFD, events: Int16(POLLOUT), revents: 0)) }
            if outFD >= 0 { pfds.append(pollfd(fd: outFD, events: Int16(POLLIN), revents: 0)) }
            if errFD >= 0 { pfds.append(pollfd(fd: errFD, events: Int16(POLLIN), revents: 0)) }
            let n = poll(&pfds, nfds_t(pfds.count), -1)
            if n < 0 {
                if errno == EINTR { continue }
                break
            }
            for p in pfds where p.revents != 0 {
                if p.fd == inFD {
                    let w = input.withUnsafeBytes { raw in
                        Glibc.write(inFD, raw.baseAddress! + written, input.count - written)
                    }
                    if w > 0 { written += w }
                    if w < 0 && errno == EINTR { continue }
                    if w <= 0 || written == input.count { close(inFD); inFD = -1 }
                } else {
                    let r = buffer.withUnsafeMutableBytes { Glibc.read(p.fd, $0.baseAddress!, $0.count) }
                    if r < 0 && errno == EINTR { continue }
                    if r <= 0 {
                        close(p.fd)
                        if p.fd == outFD { outFD = -1 } else { errFD = -1 }
                    } else if p.fd == outFD {
                        stdout.append(contentsOf: buffer[0..<r])
                    } else {
                        stderr.append(contentsOf: buffer[0..<r])
                    }
                }
            }
        }
        parentEnds = [inFD, outFD, errFD]

        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR {
                throw HostCommandError(description: "waitpid \(path): \(String(cString: strerror(errno)))")
            }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as macros.
        let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return HostCommandResult(status: code, stdout: stdout, stderr: stderr)
    }
}
