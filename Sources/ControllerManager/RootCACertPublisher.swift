import APIServer
import Foundation

/// The root-ca-cert-publisher (`pkg/controller/certificates/rootcacertpublisher`): every active
/// namespace has the ConfigMap `kube-root-ca.crt` whose `ca.crt` is the cluster's CA, made again
/// when deleted and put back when edited. Pods read it through their `kube-api-access-*` volume.
struct RootCACertPublisher {
    let registry: Registry

    func run() async {
        await ReconcileLoop(registry: registry, watched: [.namespaces, .configMaps]).run { reconcile() }
    }

    private func reconcile() -> Date? {
        for ns in (try? registry.list(.namespaces, namespace: nil).items) ?? [] where ns["metadata"]?["deletionTimestamp"] == nil {
            if let name = ns["metadata"]?["name"]?.stringValue { registry.publishRootCA(namespace: name) }
        }
        return nil
    }
}
