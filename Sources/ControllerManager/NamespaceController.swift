import APIServer
import APIStore
import Foundation
import KubeAPI

/// Three small controllers of kube-controller-manager that react to any object's change:
/// - the serviceaccount controller: every active namespace has a `default` ServiceAccount
///   (made again if deleted);
/// - the namespace controller: a namespace being terminated is emptied (every object in it
///   deleted, pods gracefully by the node) and, once nothing is left, its `kubernetes`
///   finalizer is cleared so it goes;
/// - the garbage collector's foreground deletion: an owner carrying `foregroundDeletion` has
///   its dependents deleted (in the foreground too) and loses the finalizer once they are gone.
actor NamespaceController {
    private let registry: Registry
    private let wakes: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    /// The kinds that may own others (ownerReferences) and the kinds they own.
    static let owners: [APIResource] = [.deployments, .replicaSets, .jobs, .cronJobs]
    static let dependents: [APIResource] = [.replicaSets, .jobs, .pods]

    init(registry: Registry) {
        self.registry = registry
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func run() async {
        let store = registry.store
        guard let revision = try? store.revision() else { return }
        // Namespaced kinds end a namespace's termination when their last object goes.
        let watched = APIResource.served.filter { $0.namespaced } + [.namespaces]
        let feeds = watched.compactMap { r -> Task<Void, Never>? in
            guard let changes = try? store.watch(resource: r.qualifiedName, namespace: nil, from: revision) else { return nil }
            return Task { [wake] in for await _ in changes { wake.yield() } }
        }
        defer { feeds.forEach { $0.cancel() } }
        wake.yield()
        for await _ in wakes {
            if Task.isCancelled { break }
            reconcile()
        }
    }

    private func reconcile() {
        for ns in (try? registry.list(.namespaces, namespace: nil).items) ?? [] {
            guard let name = ns["metadata"]?["name"]?.stringValue else { continue }
            if ns["metadata"]?["deletionTimestamp"] != nil {
                if empty(namespace: name) { registry.removeFinalizer(.namespaces, namespace: "", name: name, "kubernetes") }
            } else if (try? registry.get(.serviceAccounts, namespace: name, name: "default")) == nil {
                _ = try? registry.create(.serviceAccounts, namespace: name,
                                         body: .object(["metadata": .object(["name": .string("default")])]))
            }
        }
        for r in Self.owners {
            for owner in (try? registry.list(r, namespace: nil).items) ?? [] {
                let meta = owner["metadata"]
                guard meta?["deletionTimestamp"] != nil, Self.array(meta?["finalizers"]).contains(.string("foregroundDeletion")),
                      let uid = meta?["uid"]?.stringValue, let namespace = meta?["namespace"]?.stringValue,
                      let name = meta?["name"]?.stringValue else { continue }
                if deleteDependents(of: uid, namespace: namespace) == 0 {
                    registry.removeFinalizer(r, namespace: namespace, name: name, "foregroundDeletion")
                }
            }
        }
    }

    /// Deletes what is left in a terminating namespace; true once nothing is.
    private func empty(namespace: String) -> Bool {
        var remaining = 0
        for r in APIResource.served where r.namespaced {
            for item in (try? registry.list(r, namespace: namespace).items) ?? [] {
                remaining += 1
                guard item["metadata"]?["deletionTimestamp"] == nil, let name = item["metadata"]?["name"]?.stringValue else { continue }
                _ = try? registry.delete(r, namespace: namespace, name: name, propagation: "Background")
            }
        }
        return remaining == 0
    }

    /// Deletes (in the foreground) the objects owned by `uid`; returns how many remain.
    private func deleteDependents(of uid: String, namespace: String) -> Int {
        var remaining = 0
        for r in Self.dependents {
            for item in (try? registry.list(r, namespace: namespace).items) ?? []
            where Self.array(item["metadata"]?["ownerReferences"]).contains(where: { $0["uid"]?.stringValue == uid }) {
                remaining += 1
                guard item["metadata"]?["deletionTimestamp"] == nil, let name = item["metadata"]?["name"]?.stringValue else { continue }
                _ = try? registry.delete(r, namespace: namespace, name: name, propagation: "Foreground")
            }
        }
        return remaining
    }

    static func array(_ v: JSONValue?) -> [JSONValue] {
        if case .array(let a)? = v { a } else { [] }
    }
}
