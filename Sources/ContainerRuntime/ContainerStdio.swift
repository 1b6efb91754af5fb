import CTandemInit
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A running container's live stdio, what containerd's `ContainerIO` keeps for the CRI's
/// `Attach`: the write end of the stdin pipe (`stdin: true`) or the pty master (`tty: true`),
/// held for the container's whole life so it never sees EOF until it should, and the output
/// as it is read, broadcast to every attach session beside the CRI log file.
///
/// Attach takes the bytes from here rather than from the log file because the log holds
/// only complete lines (a shell prompt has no newline), as containerd's attach reads its
/// broadcast group rather than its log.
public final class ContainerStdio: Sendable {
    /// The container runs on a pseudo-terminal: one output stream, input goes to the master.
    public let tty: Bool
    /// `stdinOnce`: the first attach session's end closes stdin for good (the container reads EOF).
    public let stdinOnce: Bool

    private struct State {
        /// The stdin pipe's write end or the pty master; -1 without stdin, or once closed.
        var input: Int32 = -1
        /// The persistent shim that holds a write end of the stdin pipe too (see `TANDEM_KEEP_IN`).
        var keeper: ShimSession?
        var followers: [Int: AsyncStream<(stderr: Bool, bytes: [UInt8])>.Continuation] = [:]
        var nextFollower = 0
        var ended = false
    }

    private let state: Mutex<State>
    /// Read on the drain thread for every batch: with nobody attached, output costs no lock.
    private let following = Atomic<Int>(0)

    init(tty: Bool = false, stdinOnce: Bool = false, input: Int32 = -1) {
        self.tty = tty
        self.stdinOnce = stdinOnce
        state = Mutex(State(input: input))
    }

    /// `session`'s persistent shim keeps a write end of the stdin pipe, which `stdinOnce` must close too.
    func keptBy(_ session: ShimSession) { state.withLock { $0.keeper = session } }

    deinit { state.withLock { if $0.input >= 0 { close($0.input) } } }

    /// The container's output from now on, until it ends (the container exited and everything it
    /// wrote was read), or until the caller stops iterating.
    public func follow() -> AsyncStream<(stderr: Bool, bytes: [UInt8])> {
        let (stream, continuation) = AsyncStream.makeStream(of: (stderr: Bool, bytes: [UInt8]).self)
        let id: Int? = state.withLock { s in
            guard !s.ended else { return nil }
            let id = s.nextFollower
            s.nextFollower += 1
            s.followers[id] = continuation
            following.add(1, ordering: .relaxed)
            return id
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            state.withLock { s in
                if s.followers.removeValue(forKey: id) != nil { following.subtract(1, ordering: .relaxed) }
            }
        }
        return stream
    }

    /// A duplicate of the stdin write end (or the pty master) for one attach session to write
    /// and close; nil without stdin, or once a `stdinOnce` container's stdin was closed.
    public func openStdin() -> Int32? {
        state.withLock { s in
            guard s.input >= 0 else { return nil }
            let fd = fcntl(s.input, F_DUPFD_CLOEXEC, 0)
            return fd >= 0 ? fd : nil
        }
    }

    /// An attach session's stdin ended (the client's EOF or its going away). For a
    /// `stdinOnce` container without a terminal this closes stdin for good, as containerd's
    /// attach closes the task's stdin; with a terminal stdin stays open (kubectl and docker
    /// expect it), and without `stdinOnce` the next attach writes on.
    public func stdinSessionEnded() {
        guard stdinOnce, !tty else { return }
        let keeper = state.withLock { s in
            if s.input >= 0 { close(s.input) }
            s.input = -1
            defer { s.keeper = nil }
            return s.keeper
        }
        keeper?.closeKeptStdin()
    }

    /// Sets the terminal's size (`TIOCSWINSZ` on the master); the container gets SIGWINCH.
    public func resize(width: UInt16, height: UInt16) {
        guard tty else { return }
        state.withLock { s in
            if s.input >= 0 { _ = tandem_set_winsize(s.input, height, width) }
        }
    }

    /// Bytes the drain thread read from the container's stdout (or the master) or stderr.
    func publish(stderr: Bool, _ bytes: UnsafeRawBufferPointer) {
        guard following.load(ordering: .relaxed) > 0 else { return }
        let chunk = (stderr: stderr, bytes: [UInt8](bytes))
        state.withLock { s in
            for c in s.followers.values { c.yield(chunk) }
        }
    }

    /// The container's output is over: followers finish, and stdin is closed.
    func outputEnded() {
        let followers = state.withLock { s in
            s.ended = true
            if s.input >= 0 { close(s.input) }
            s.input = -1
            s.keeper = nil
            defer { s.followers = [:] }
            return Array(s.followers.values)
        }
        following.store(0, ordering: .relaxed)
        followers.forEach { $0.finish() }
    }
}

/// A log sink that also hands every batch it consumes to the container's attach sessions.
final class TappedSink: ByteSink {
    private let inner: any ByteSink
    private let stdio: ContainerStdio
    private let stderr: Bool

    init(_ inner: any ByteSink, stdio: ContainerStdio, stderr: Bool) {
        self.inner = inner
        self.stdio = stdio
        self.stderr = stderr
    }

    func consume(_ bytes: UnsafeRawBufferPointer) {
        inner.consume(bytes)
        stdio.publish(stderr: stderr, bytes)
    }

    func finish() { inner.finish() }
}

/// The descriptors of a container's stdio as the runtime sets them up before the shim starts.
struct StdioSetup {
    /// What the shim gets as fds 0, 1 and 2 (the shim's copies, handed over and closed by `spawnShim`).
    var shimIn: Int32
    var shimOut: Int32
    var shimErr: Int32
    /// The ends the drain thread reads, with whether each is stderr: the stdout and stderr
    /// pipes, or the one pty master.
    var reads: [(fd: Int32, stderr: Bool)]
    /// Kept by `ContainerStdio`: the stdin pipe's write end, or a copy of the master.
    var input: Int32

    /// Pipes for stdout and stderr and, with `stdin`, one for stdin; with `tty` a pty whose
    /// slave is the container's stdin, stdout and stderr (the shim gets a copy of the master as
    /// its fd 1, which a persistent shim keeps so the terminal outlives Tandem).
    static func make(stdin: Bool, tty: Bool, devNull: Int32) throws -> StdioSetup {
        var opened: [Int32] = []
        do {
            if tty {
                var master: Int32 = -1, slave: Int32 = -1
                guard tandem_openpty(&master, &slave) == 0 else { throw RuntimeError.errno("openpty") }
                opened += [master, slave]
                let shimMaster = try dup(master)
                opened.append(shimMaster)
                let shimErr = try dup(slave)
                opened.append(shimErr)
                let input = stdin ? try dup(master) : -1
                return StdioSetup(shimIn: slave, shimOut: shimMaster, shimErr: shimErr, reads: [(master, false)], input: input)
            }
            let (out, err) = try outputPipes(&opened)
            let input = stdin ? try Sys.pipe() : nil
            return StdioSetup(shimIn: input?.read ?? devNull, shimOut: out.write, shimErr: err.write,
                              reads: [(out.read, false), (err.read, true)], input: input?.write ?? -1)
        } catch {
            opened.forEach { close($0) }
            throw error
        }
    }

    /// A stdout and a stderr pipe with grown buffers (see `Sys.growPipe`), their four ends
    /// added to `opened` (what the caller closes on failure).
    static func outputPipes(_ opened: inout [Int32]) throws -> (out: (read: Int32, write: Int32), err: (read: Int32, write: Int32)) {
        let out = try Sys.pipe()
        opened += [out.read, out.write]
        let err = try Sys.pipe()
        opened += [err.read, err.write]
        Sys.growPipe(out.read)
        Sys.growPipe(err.read)
        return (out, err)
    }

    private static func dup(_ fd: Int32) throws -> Int32 {
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { throw RuntimeError.errno("dup") }
        return copy
    }
}
