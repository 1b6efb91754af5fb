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

    mutating func add(_ key: String, _ values: String...) {
        bytes.append(contentsOf: key.utf8)
        bytes.append(0)
        for v in values {
            bytes.append(contentsOf: v.utf8)
            bytes.append(0)
        }
    }
}

/// What the shim told us, plus how the shim itself ended.
struct ShimOutcome: Sendable {
    /// The wait status of the container (or exec'd) process, from the shim's "X" line.
    var childStatus: WaitStatus?
    /// The shim's own wait status.
    var shimStatus: WaitStatus
    /// The shim's "E" message: set-up failed before exec.
    var startError: String?
    var finishedAt: Date
}

/// One run of the shim: tracks its status pipe, its output pipes and its exit.
///
/// Three independent events complete it, in any order: the reaper reports the shim's
/// exit, the drain thread reaches EOF on every pipe, and (usually first) the status
/// pipe says "S pid". Callers wait for "started" and for "finished"; finished means
/// all output is in the log, so the last line is never lost.
final class ShimSession: Sendable {
    private struct State {
        var childPid: pid_t?
        var startError: String?
        var childStatus: WaitStatus?
        var childFinishedAt: Date?
        var shimStatus: WaitStatus?
        var ioDone = false
        var outcome: ShimOutcome?
        var startWaiters: [CheckedContinuation<Result<pid_t, ContainerStartError>, Never>] = []
        var finishWaiters: [CheckedContinuation<ShimOutcome, Never>] = []
    }

    let shimPid: pid_t
    private let state = Mutex(State())

    init(shimPid: pid_t) { self.shimPid = shimPid }

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
            case "S": s.childPid = pid_t(value)
            case "E": s.startError = String(value)
            case "X":
                s.childStatus = Int32(value).map(WaitStatus.init(raw:))
                s.childFinishedAt = Date()
            default: break
            }
        }
    }

    func shimExited(_ status: WaitStatus) { update { $0.shimStatus = status } }
    func ioFinished() { update { $0.ioDone = true } }

    private static func startFailure(_ s: State) -> ContainerStartError? {
        if let e = s.startError { return ContainerStartError(message: e) }
        if s.childPid == nil, let o = s.outcome {
            return ContainerStartError(message: "container init exited before starting the container (\(describe(o.shimStatus)))")
        }
        return nil
    }

    private static func describe(_ st: WaitStatus) -> String {
        if let sig = st.signal { return "killed by signal \(sig)" }
        return "exit code \(st.exitCode ?? -1)"
    }

    /// Applies an event, then resumes whoever it unblocked, outside the lock.
    private func update(_ body: (inout State) -> Void) {
        var starts: [CheckedContinuation<Result<pid_t, ContainerStartError>, Never>] = []
        var startResult: Result<pid_t, ContainerStartError>?
        var finishes: [CheckedContinuation<ShimOutcome, Never>] = []
        var outcome: ShimOutcome?
        state.withLock { s in
            body(&s)
            if s.outcome == nil, let shim = s.shimStatus, s.ioDone {
                s.outcome = ShimOutcome(childStatus: s.childStatus, shimStatus: shim, startError: s.startError,
                                        finishedAt: s.childFinishedAt ?? Date())
            }
            if !s.startWaiters.isEmpty {
                if let pid = s.childPid { startResult = .success(pid) } else if let e = Self.startFailure(s) { startResult = .failure(e) }
                if startResult != nil { swap(&starts, &s.startWaiters) }
            }
            if let o = s.outcome, !s.finishWaiters.isEmpty {
                outcome = o
                swap(&finishes, &s.finishWaiters)
            }
        }
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
