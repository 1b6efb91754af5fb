import Foundation

/// Carries out a `TerminationOrdering` while a pod's containers stop together
/// (`terminationOrdering.waitForTurn` / `containerTerminated`): a sidecar's stop signal waits until
/// the containers it depends on have exited, or until its own budget runs out.
actor TerminationWaiter {
    private var dependencies: [String: Set<String>]
    private var exited: Set<String> = []
    private var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]

    init(dependencies: [String: Set<String>]) {
        self.dependencies = dependencies
    }

    /// Returns when every dependency of `name` has exited, or after `timeout`.
    func waitForTurn(_ name: String, timeout: Duration) async {
        guard !ready(name) else { return }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.release(name)
        }
        await withCheckedContinuation { waiters[name, default: []].append($0) }
        timer.cancel()
    }

    func containerTerminated(_ name: String) {
        exited.insert(name)
        for waiting in waiters.keys where ready(waiting) { release(waiting) }
    }

    private func ready(_ name: String) -> Bool {
        (dependencies[name] ?? []).isSubset(of: exited)
    }

    private func release(_ name: String) {
        for c in waiters.removeValue(forKey: name) ?? [] { c.resume() }
    }
}
