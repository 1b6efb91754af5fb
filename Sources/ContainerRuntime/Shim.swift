import CTandemInit
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The shim's config: `key NUL value NUL` records (`bind` takes three values). Trivial
/// to parse in C before any allocator-heavy runtime exists, and binary-safe for any
/// path or env value that has no NUL (which POSIX forbids anyway).
struct ShimConfig {
    private(set) var bytes: [UInt8] = []

    /// Whether the shim outlives tandem (`persist`).
    private(set) var persists = false

    mutating func add(_ key: String, _ values: String...) {
        if key == "persist" { persists = true }
        bytes.append(contentsOf: key.utf8)
        bytes.append(0)
        for v in values {
            bytes.append(contentsOf: v.utf8)
            bytes.append(0)
        }
    }
}

/// What the shim told us by the time its status pipe closed (that is, it exited).
struct ShimOutcome: Sendable {
    /// The wait status of the container (or exec'd) process, from the shim's "X" line.
    var childStatus: WaitStatus?
    /// The shim's "E" message: set-up failed before exec.
    var startError: String?
    var finishedAt: Date

    /// The container's wait status. The shim always reports "X" before it exits, so
    /// without one it was killed, and its child died with it (PDEATHSIG=SIGKILL).
    var status: WaitStatus { childStatus ?? WaitStatus(raw: SIGKILL) }
}

/// One run of the shim: tracks its status pipe and its output pipes.
///
/// Everything arrives on the status pipe ("P", then "S" or "E", then "X"), and EOF on
/// every pipe completes the session: only the shim holds the status pipe's write end,
/// and it closes its pipes only once the container is gone (then it exits), whether
/// tandem or the zygote is its parent.
/// Callers wait for "started" and for "finished"; finished means all output is in the
/// log, so the last line is never lost.
final class ShimSession: Sendable {
    private struct State {
        var shimPid: pid_t?
        /// Opened on the "P" line. The zygote, not tandem, reaps the shim, so a bare pid
        /// could be recycled once it exits; the shim is still busy setting up when its
        /// first line is read, so the pidfd is taken while the pid is surely its own.
        var shimPidfd: Int32 = -1
        var childPid: pid_t?
        /// A created container's child is set up and waits for its start ("C").
        var created = false
        var startError: String?
        var childStatus: WaitStatus?
        var childFinishedAt: Date?
        var ioDone = false
        var outcome: ShimOutcome?
        var startWaiters: [CheckedContinuation<Result<pid_t, ContainerStartError>, Never>] = []
        var createWaiters: [CheckedContinuation<Bool, Never>] = []
        var finishWaiters: [CheckedContinuation<ShimOutcome, Never>] = []
    }

    private let state = Mutex(State())

    init() {}

    deinit { state.withLock { if $0.shimPidfd >= 0 { close($0.shimPidfd) } } }

    /// The shim's host pid, known from its first status line on.
    var shimPid: pid_t? { state.withLock { $0.shimPid } }

    /// SIGKILLs the shim (its child follows through PDEATHSIG); a no-op once it exited.
    func killShim() {
        state.withLock { s in
            if s.shimPidfd >= 0, !s.ioDone { _ = tandem_pidfd_send_signal(s.shimPidfd, SIGKILL) }
        }
    }

    /// Lets a persistent shim exit: everything it kept has been read (see TANDEM_KEEP_RELEASE_W).
    func releaseShim() { tellShim("r") }

    /// Has a persistent shim close its write end of the container's stdin (see TANDEM_KEEP_IN).
    func closeKeptStdin() { tellShim("c") }

    /// One byte on a persistent shim's release pipe: `r` (release) or `c` (close the kept stdin).
    private func tellShim(_ byte: StaticString) {
        state.withLock { s in
            guard let pid = s.shimPid, s.shimPidfd >= 0 else { return }
            // The pidfd pins nothing, but polling it tells whether `pid` is still our shim.
            var p = pollfd(fd: s.shimPidfd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 0) == 0 else { return }
            let fd = open("/proc/\(pid)/fd/\(TANDEM_KEEP_RELEASE_W)", O_WRONLY | O_CLOEXEC | O_NONBLOCK)
            guard fd >= 0 else { return }
            _ = write(fd, byte.utf8Start, 1)
            close(fd)
        }
    }

    /// The host pid of the container process once it exec'd, or the shim's error.
    func started() async -> Result<pid_t, ContainerStartError> {
        await withCheckedContinuation { c in
            let now: Result<pid_t, ContainerStartError>? = state.withLock { s in
                if let pid = s.childPid { return .success(pid) }
                if let r = Self.startFailure(s) { return .failure(r) }
                s.startWaiters.append(c)
                return nil
            }
            if let now { c.resume(returning: now) }
        }
    }

    /// For a created container: true once it waits for its start, false when set-up failed or
    /// the child is gone without having reported (killed during its set-up: the shim then
    /// reports "S" without a "C").
    func created() async -> Bool {
        await withCheckedContinuation { c in
            let now: Bool? = state.withLock { s in
                if s.created { return true }
                if Self.creationFailed(s) { return false }
                s.createWaiters.append(c)
                return nil
            }
            if let now { c.resume(returning: now) }
        }
    }

    func finished() async -> ShimOutcome {
        await withCheckedContinuation { c in
            let now: ShimOutcome? = state.withLock { s in
                if let o = s.outcome { return o }
                s.finishWaiters.append(c)
                return nil
            }
            if let now { c.resume(returning: now) }
        }
    }

    /// True once the container process has exited (so its pid may be reused).
    var childExited: Bool { state.withLock { $0.childStatus != nil || $0.outcome != nil } }

    var childPid: pid_t? { state.withLock { $0.childPid } }

    // MARK: events

    func statusLine(_ line: Substring) {
        guard let space = line.firstIndex(of: " ") else { return }
        let kind = line[..<space], value = line[line.index(after: space)...]
        update { s in
            switch kind {
            case "P":
                s.shimPid = pid_t(value)
                if let pid = s.shimPid, s.shimPidfd < 0 { s.shimPidfd = tandem_pidfd_open(pid) }
            case "C": s.created = true
            case "S": s.childPid = pid_t(value)
            case "E": s.startError = String(value)
            case "X":
                s.childStatus = Int32(value).map(WaitStatus.init(raw:))
                s.childFinishedAt = Date()
            default: break
            }
        }
    }

    func ioFinished() { update { $0.ioDone = true } }

    private static func creationFailed(_ s: State) -> Bool {
        !s.created && (startFailure(s) != nil || s.childPid != nil || s.outcome != nil)
    }

    private static func startFailure(_ s: State) -> ContainerStartError? {
        if let e = s.startError { return ContainerStartError(message: e) }
        if s.childPid == nil, s.outcome != nil {
            return ContainerStartError(message: "container init exited before starting the container")
        }
        return nil
    }

    /// Applies an event, then resumes whoever it unblocked, outside the lock.
    private func update(_ body: (inout State) -> Void) {
        var starts: [CheckedContinuation<Result<pid_t, ContainerStartError>, Never>] = []
        var startResult: Result<pid_t, ContainerStartError>?
        var finishes: [CheckedContinuation<ShimOutcome, Never>] = []
        var outcome: ShimOutcome?
        var creates: [CheckedContinuation<Bool, Never>] = []
        var createResult = false
        state.withLock { s in
            body(&s)
            if s.outcome == nil, s.ioDone {
                s.outcome = ShimOutcome(childStatus: s.childStatus, startError: s.startError,
                                        finishedAt: s.childFinishedAt ?? Date())
            }
            if !s.startWaiters.isEmpty {
                if let pid = s.childPid { startResult = .success(pid) } else if let e = Self.startFailure(s) { startResult = .failure(e) }
                if startResult != nil { swap(&starts, &s.startWaiters) }
            }
            if !s.createWaiters.isEmpty, s.created || Self.creationFailed(s) {
                createResult = s.created
                swap(&creates, &s.createWaiters)
            }
            if let o = s.outcome, !s.finishWaiters.isEmpty {
                outcome = o
                swap(&finishes, &s.finishWaiters)
            }
        }
        creates.forEach { $0.resume(returning: createResult) }
        if let startResult { starts.forEach { $0.resume(returning: startResult) } }
        if let outcome { finishes.forEach { $0.resume(returning: outcome) } }
    }
}

/// Splits the status pipe into lines for the session.
final class StatusSink: ByteSink {
    private var buffer: [UInt8] = []
    private let session: ShimSession
    init(_ session: ShimSession) { self.session = session }

    func consume(_ bytes: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: bytes)
        while let nl = buffer.firstIndex(of: 0x0A) {
            session.statusLine(Substring(String(decoding: buffer[..<nl], as: UTF8.self)))
            buffer.removeSubrange(...nl)
        }
    }

    func finish() {
        if !buffer.isEmpty { session.statusLine(Substring(String(decoding: buffer, as: UTF8.self))) }
    }
}
