import Synchronization

/// Something run after a hash is published: the exechook or the webhook.
protocol Hook: Sendable {
    var name: String { get }
    func run(hash: String) async throws
}

/// git-sync's `HookRunner`: hooks run asynchronously, off the sync loop, and are retried after
/// `backoff` until they succeed. Only the newest hash matters: a hash published while a hook is
/// failing replaces the one being retried, so hooks may skip hashes and may see one twice —
/// git-sync documents that hooks must be idempotent for exactly this reason.
final class HookRunner: Sendable {
    let hook: any Hook
    let backoff: Duration
    let log: Logger
    let metrics: Metrics
    let oneTime: Bool
    private let latest = Mutex<String>("")
    private let events: AsyncStream<Void>
    private let trigger: AsyncStream<Void>.Continuation
    private let (results, result) = AsyncStream.makeStream(of: Bool.self, bufferingPolicy: .bufferingOldest(1))

    init(hook: any Hook, backoff: Duration, log: Logger, metrics: Metrics, oneTime: Bool) {
        self.hook = hook
        self.backoff = backoff
        self.log = log
        self.metrics = metrics
        self.oneTime = oneTime
        // One pending wake-up is enough: the runner always reads the newest hash.
        (events, trigger) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Non-blocking: records `hash` as the newest and wakes the runner.
    func send(_ hash: String) {
        latest.withLock { $0 = hash }
        trigger.yield()
    }

    /// The runner's loop; returns when cancelled, or after the first attempt in --one-time mode.
    func run() async {
        var lastHash = ""
        for await _ in events {
            while !Task.isCancelled {
                let hash = latest.withLock { $0 }
                if hash == lastHash { break }
                do {
                    try await hook.run(hash: hash)
                    metrics.hookRun(hook.name, success: true)
                    lastHash = hash
                    if finishOneTime(true) { return }
                    break
                } catch {
                    log.error(error, "hook failed", ("hash", hash), ("retry", "\(backoff)"))
                    metrics.hookRun(hook.name, success: false)
                    if finishOneTime(false) { return }
                    try? await Task.sleep(for: backoff)
                }
            }
        }
    }

    private func finishOneTime(_ ok: Bool) -> Bool {
        guard oneTime else { return false }
        result.yield(ok)
        result.finish()
        return true
    }

    /// --one-time: whether the hook's first run succeeded.
    func waitForCompletion() async -> Bool {
        for await ok in results { return ok }
        return false
    }
}
