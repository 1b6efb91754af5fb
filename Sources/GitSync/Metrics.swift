import CoreMetrics
import Prometheus

/// git-sync's Prometheus metrics under their real names, so dashboards and alerts written for
/// git-sync work unchanged: `git_sync_duration_seconds` (by status), `git_sync_count_total` (by
/// status: success, error, noop), `git_fetch_count_total`, and `git_sync_hook_run_count_total`
/// (by hook name and status). Recorded through swift-metrics (`Counter`, `Timer`) into a
/// registry of this run's own rather than the process-wide one (the bench and the tests run
/// several syncs in one process), and exposed from it by swift-prometheus.
///
/// As in git-sync, the series of a status appear once a sync ended with it, and
/// `git_fetch_count_total` is there from the start. Two differences from git-sync's
/// client_golang output: `git_sync_duration_seconds` is a histogram (swift-prometheus has no
/// summary; the `_sum` and `_count` series are the summary's), and there are no `# HELP` lines
/// (swift-metrics carries no help text).
public final class Metrics: Sendable {
    public enum SyncStatus: String, Sendable { case success, error, noop }

    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let fetches: CoreMetrics.Counter

    public init() {
        factory = PrometheusMetricsFactory(registry: registry)
        fetches = CoreMetrics.Counter(label: "git_fetch_count_total", factory: factory)
    }

    /// `updateSyncMetrics`: one finished sync attempt.
    func sync(_ status: SyncStatus, seconds: Double) {
        let dimensions = [("status", status.rawValue)]
        CoreMetrics.Counter(label: "git_sync_count_total", dimensions: dimensions, factory: factory).increment()
        CoreMetrics.Timer(label: "git_sync_duration_seconds", dimensions: dimensions, factory: factory).recordSeconds(seconds)
    }

    func fetched() { fetches.increment() }

    func hookRun(_ name: String, success: Bool) {
        CoreMetrics.Counter(label: "git_sync_hook_run_count_total",
                            dimensions: [("name", name), ("status", success ? "success" : "error")], factory: factory).increment()
    }

    /// The `/metrics` body, in the Prometheus text format 0.0.4.
    public func exposition() -> String { registry.emitToString() }
}
