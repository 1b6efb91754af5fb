import Foundation
import KubeAPI

extension APIResource {
    public static let services = find(kind: "Service")!
    public static let endpoints = find(kind: "Endpoints")!
    public static let endpointSlices = find(kind: "EndpointSlice")!
}

/// What the `kubernetes` Service of the `default` namespace points at: its ClusterIP, and the
/// address and port pods reach the API server on (kube-apiserver's `--advertise-address` and
/// `--secure-port`).
public struct MasterService: Sendable, Equatable {
    public var clusterIP: String
    public var endpointIP: String
    public var apiPort: Int

    public init(clusterIP: String, endpointIP: String, apiPort: Int) {
        self.clusterIP = clusterIP
        self.endpointIP = endpointIP
        self.apiPort = apiPort
    }

    public static let name = "kubernetes"
    public static let namespace = "default"
    /// The Service port in-cluster clients use (`KUBERNETES_SERVICE_PORT`).
    public static let port = 443

    /// The Service as kube-apiserver writes it (`createOrUpdateMasterServiceIfNeeded`).
    var service: JSONValue {
        .object([
            "metadata": .object([
                "name": .string(Self.name),
                "labels": .object(["component": .string("apiserver"), "provider": .string("kubernetes")]),
            ]),
            "spec": .object([
                "type": .string("ClusterIP"),
                "clusterIP": .string(clusterIP),
                "clusterIPs": .array([.string(clusterIP)]),
                "ipFamilies": .array([.string("IPv4")]),
                "ipFamilyPolicy": .string("SingleStack"),
                "sessionAffinity": .string("None"),
                "internalTrafficPolicy": .string("Cluster"),
                "ports": .array([.object(["name": .string("https"), "port": .int(Int64(Self.port)), "protocol": .string("TCP"),
                                           "targetPort": .int(Int64(apiPort))])]),
            ]),
        ])
    }

    /// The Endpoints kube-apiserver's endpoint reconciler keeps (not mirrored into a slice).
    var endpoints: JSONValue {
        .object([
            "metadata": .object([
                "name": .string(Self.name),
                "labels": .object(["endpointslice.kubernetes.io/skip-mirror": .string("true")]),
            ]),
            "subsets": .array([.object([
                "addresses": .array([.object(["ip": .string(endpointIP)])]),
                "ports": .array([.object(["name": .string("https"), "port": .int(Int64(apiPort)), "protocol": .string("TCP")])]),
            ])]),
        ])
    }

    /// The EndpointSlice it writes beside them.
    var endpointSlice: JSONValue {
        .object([
            "metadata": .object([
                "name": .string(Self.name),
                "labels": .object(["kubernetes.io/service-name": .string(Self.name)]),
            ]),
            "addressType": .string("IPv4"),
            "endpoints": .array([.object([
                "addresses": .array([.string(endpointIP)]),
                "conditions": .object(["ready": .bool(true)]),
            ])]),
            "ports": .array([.object(["name": .string("https"), "port": .int(Int64(apiPort)), "protocol": .string("TCP")])]),
        ])
    }
}

extension Registry {
    /// kube-apiserver's `kubernetes` Service controller and endpoint reconciler
    /// (`pkg/controlplane/controller/kubernetesservice`, `reconcilers`), one pass: the Service is
    /// made when missing (at start, and again after a delete), its ports put back when edited,
    /// and made anew when its ClusterIP is not this server's (immutable on a real Service);
    /// the Endpoints and the EndpointSlice are made or rewritten to list `endpointIP:apiPort`.
    public func reconcileMasterService(_ m: MasterService) {
        let ns = MasterService.namespace, name = MasterService.name
        let wanted = m.service
        if let current = try? get(.services, namespace: ns, name: name), current["metadata"]?["deletionTimestamp"] == nil {
            if current["spec"]?["clusterIP"] != wanted["spec"]?["clusterIP"] {
                _ = try? delete(.services, namespace: ns, name: name)
                _ = try? create(.services, namespace: ns, body: wanted)
            } else if current["spec"]?["ports"] != wanted["spec"]?["ports"] || current["spec"]?["type"] != wanted["spec"]?["type"] {
                let spec = (current["spec"] ?? .object([:])).setting("ports", wanted["spec"]?["ports"]).setting("type", .string("ClusterIP"))
                _ = try? update(.services, namespace: ns, name: name, body: current.setting("spec", spec))
            }
        } else {
            _ = try? create(.services, namespace: ns, body: wanted)
        }
        keep(.endpoints, m.endpoints, fields: ["subsets"])
        keep(.endpointSlices, m.endpointSlice, fields: ["addressType", "endpoints", "ports"])
    }

    /// Makes `default/kubernetes` of kind `r` hold `wanted`'s `fields` (and its labels).
    private func keep(_ r: APIResource, _ wanted: JSONValue, fields: [String]) {
        let ns = MasterService.namespace, name = MasterService.name
        guard let current = try? get(r, namespace: ns, name: name) else {
            _ = try? create(r, namespace: ns, body: wanted)
            return
        }
        var updated = current
        for f in fields { updated = updated.setting(f, wanted[f]) }
        let labels = wanted["metadata"]?["labels"]?.objectValue ?? [:]
        var merged = current["metadata"]?["labels"]?.objectValue ?? [:]
        merged.merge(labels) { $1 }
        updated = updated.setting("metadata", (current["metadata"] ?? .object([:])).setting("labels", .object(merged)))
        if updated != current { _ = try? update(r, namespace: ns, name: name, body: updated) }
    }
}
