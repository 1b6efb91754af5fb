import APIServer
import APIStore
import Foundation

/// The shape of a small controller: a watch on the kinds it reads feeds one wake-up stream
/// (changes coalesce, so one pass covers every change since the last), and `reconcile` runs
/// once per wake-up until cancelled. `reconcile` returns when it wants to look again without a
/// change (a timeout it keeps), which wakes it then.
public struct ReconcileLoop: Sendable {
    let registry: Registry
    let watched: [APIResource]

    public init(registry: Registry, watched: [APIResource]) {
        self.registry = registry
        self.watched = watched
    }

    public func run(_ reconcile: @escaping @Sendable () async -> Date?) async {
        let store = registry.store
        guard let revision = try? store.revision() else { return }
        let (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let feeds = watched.compactMap { r -> Task<Void, Never>? in
            guard let changes = try? store.watch(resource: r.qualifiedName, namespace: nil, from: revision) else { return nil }
            return Task { for await _ in changes { wake.yield() } }
        }
        var timer: Task<Void, Never>?
        defer {
            feeds.forEach { $0.cancel() }
            timer?.cancel()
        }
        wake.yield()
        for await _ in wakes {
            if Task.isCancelled { break }
            guard let due = await reconcile() else { continue }
            timer?.cancel()
            timer = Task {
                try? await Task.sleep(for: .seconds(max(0, due.timeIntervalSinceNow) + 0.01))
                if !Task.isCancelled { wake.yield() }
            }
        }
    }
}
