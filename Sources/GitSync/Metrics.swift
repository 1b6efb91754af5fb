import Synchronization

/// git-sync's Prometheus metrics under their real names, so dashboards and alerts written for
/// git-sync work unchanged: `git_sync_duration_seconds` (a summary by status),
/// `git_sync_count_total` (by status: success, error, noop), `git_fetch_count_total`, and
/// `git_sync_hook_run_count_total` (by hook name and status). Rendered in the Prometheus text
/// format 0.0.4 by hand: a summary without quantiles is just `_sum` and `_count`, which is what
/// client_golang prints for git-sync's objective-less `SummaryVec`.
public final class Metrics: Sendable {
    public enum SyncStatus: String, Sendable { case success, error, noop }

    private struct State {
        var syncDuration: [String: (sum: Double, count: Int)] = [:]
        var syncCount: [String: Int] = [:]
        var fetchCount = 0
        var hookRuns: [HookKey: Int] = [:]
    }

    struct HookKey: Hashable { var name: String; var status: String }

    private let state = Mutex(State())

    public init() {}

    /// `updateSyncMetrics`: one finished sync attempt.
    func sync(_ status: SyncStatus, seconds: Double) {
        state.withLock {
            $0.syncDuration[status.rawValue, default: (0, 0)].sum += seconds
            $0.syncDuration[status.rawValue, default: (0, 0)].count += 1
            $0.syncCount[status.rawValue, default: 0] += 1
        }
    }

    func fetched() { state.withLock { $0.fetchCount += 1 } }

    func hookRun(_ name: String, success: Bool) {
        state.withLock { $0.hookRuns[HookKey(name: name, status: success ? "success" : "error"), default: 0] += 1 }
    }

    /// The count of syncs that ended with `status` (for tests and the bench).
    public func syncCount(_ status: SyncStatus) -> Int { state.withLock { $0.syncCount[status.rawValue] ?? 0 } }

    /// The `/metrics` body.
    public func exposition() -> String {
        let s = state.withLock { $0 }
        var out = ""
        func header(_ name: String, _ help: String, _ type: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        if !s.syncCount.isEmpty {
            header("git_sync_count_total", "How many git syncs completed, partitioned by state (success, error, noop)", "counter")
            for (status, n) in s.syncCount.sorted(by: { $0.key < $1.key }) {
                out += "git_sync_count_total{status=\"\(status)\"} \(n)\n"
            }
            header("git_sync_duration_seconds", "Summary of git_sync durations", "summary")
            for (status, d) in s.syncDuration.sorted(by: { $0.key < $1.key }) {
                out += "git_sync_duration_seconds_sum{status=\"\(status)\"} \(Self.number(d.sum))\n"
                out += "git_sync_duration_seconds_count{status=\"\(status)\"} \(d.count)\n"
            }
        }
        header("git_fetch_count_total", "How many git fetches were run", "counter")
        out += "git_fetch_count_total \(s.fetchCount)\n"
        if !s.hookRuns.isEmpty {
            header("git_sync_hook_run_count_total", "How many hook runs completed, partitioned by name and state (success, error)", "counter")
            for (key, n) in s.hookRuns.sorted(by: { ($0.key.name, $0.key.status) < ($1.key.name, $1.key.status) }) {
                out += "git_sync_hook_run_count_total{name=\"\(key.name)\",status=\"\(key.status)\"} \(n)\n"
            }
        }
        return out
    }

    /// Go's `%g`-like shortest float text Prometheus parses (`0.012`, `1e-05`).
    static func number(_ d: Double) -> String { d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : "\(d)" }
}
