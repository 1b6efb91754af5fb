import KubeAPI

/// The EndpointSlice objects the controller would publish for a Service
/// (`discovery.k8s.io/v1`), for `tandem run -o json`: one slice per distinct set of resolved
/// ports, as the reconciler groups endpoints whose named ports resolve alike.
public enum EndpointSlices {
    public static func slices(service: Service, ports: [PortEndpoints], nodeName: String) -> [JSONValue] {
        let name = service.metadata.name ?? ""
        let namespace = service.metadata.namespace ?? "default"
        // Endpoint IP → its port numbers in the order of the Service's ports.
        var byIP: [String: (ep: Endpoint, ports: [Int32?])] = [:]
        for (i, pe) in ports.enumerated() {
            for ep in pe.endpoints {
                var entry = byIP[ep.ip] ?? (ep, Array(repeating: nil, count: ports.count))
                entry.ports[i] = ep.port
                byIP[ep.ip] = entry
            }
        }
        var groups: [[Int32?]: [Endpoint]] = [:]
        for (_, entry) in byIP { groups[entry.ports, default: []].append(entry.ep) }
        if groups.isEmpty { groups[Array(repeating: nil, count: ports.count)] = [] }
        return groups.sorted { $0.value.map(\.ip).min() ?? "" < $1.value.map(\.ip).min() ?? "" }.enumerated().map { index, group in
            let endpoints: [JSONValue] = group.value.sorted().map { ep in
                .object([
                    "addresses": .array([.string(ep.ip)]),
                    "conditions": .object(["ready": .bool(ep.ready), "serving": .bool(ep.serving), "terminating": .bool(ep.terminating)]),
                    "nodeName": .string(nodeName),
                    "targetRef": .object(["kind": .string("Pod"), "name": .string(ep.podName), "namespace": .string(namespace), "uid": .string(ep.podUID)]),
                ])
            }
            let slicePorts: [JSONValue] = zip(ports, group.key).compactMap { pe, number in
                number.map { .object(["name": .string(pe.name), "port": .int(Int64($0)), "protocol": .string(pe.proto)]) }
            }
            return .object([
                "apiVersion": .string("discovery.k8s.io/v1"),
                "kind": .string("EndpointSlice"),
                "metadata": .object([
                    "name": .string("\(name)-\(NFTRules.hash8("\(namespace)/\(name)/\(index)").prefix(5).lowercased())"),
                    "namespace": .string(namespace),
                    "generateName": .string("\(name)-"),
                    "labels": .object([
                        "kubernetes.io/service-name": .string(name),
                        "endpointslice.kubernetes.io/managed-by": .string("endpointslice-controller.k8s.io"),
                    ]),
                    "ownerReferences": .array([.object([
                        "apiVersion": .string("v1"), "kind": .string("Service"), "name": .string(name),
                        "uid": .string(service.metadata.uid ?? ""), "controller": .bool(true), "blockOwnerDeletion": .bool(true),
                    ])]),
                ]),
                "addressType": .string("IPv4"),
                "endpoints": .array(endpoints),
                "ports": .array(slicePorts),
            ])
        }
    }
}
