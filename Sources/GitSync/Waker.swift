import Synchronization

/// The pause between syncs: the period as a timer, cut short by `--sync-on-signal`. A wake-up
/// that arrives while a sync is running is kept, so the signal is never lost.
final class Waker: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
        var timer: Task<Void, Never>?
    }

    private let state = Mutex(State())

    init() {}

    func wake() {
        let c = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let c = s.waiter else { s.pending = true; return nil }
            s.waiter = nil
            s.timer?.cancel()
            s.timer = nil
            return c
        }
        c?.resume()
    }

    /// Returns after `period`, or at once when woken since the last wait.
    func wait(_ period: Duration) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.pending { s.pending = false; return true }
                s.waiter = c
                s.timer = Task { [self] in
                    try? await Task.sleep(for: period)
                    if !Task.isCancelled { wake() }
                }
                return false
            }
            if resumeNow { c.resume() }
        }
    }
}
