import KubeAPI

/// The Service environment variables the kubelet gives every container (`getServiceEnvVarMap`
/// in `pkg/kubelet/kubelet_pods.go`, `FromServices` in `pkg/kubelet/envvars`): Docker-link style
/// `NAME_SERVICE_HOST`, `NAME_SERVICE_PORT`, `NAME_PORT_443_TCP_ADDR`, … for the Services a pod
/// may reach. In-cluster clients (client-go's `InClusterConfig`, the Python client) find the API
/// server through `KUBERNETES_SERVICE_HOST` and `KUBERNETES_SERVICE_PORT`, so the master
/// Service's variables are there even when `enableServiceLinks` is false.
public enum ServiceEnvironment {
    /// The namespace of the master Service (the kubelet's `masterServiceNamespace`).
    public static let masterServiceNamespace = "default"
    /// The master Services (`masterServices`): only `kubernetes` nowadays.
    public static let masterServices: Set<String> = ["kubernetes"]

    /// `getServiceEnvVarMap`: of `services` (any namespaces), those with a cluster IP that a pod
    /// in `namespace` sees — the master Service always, and with `enableServiceLinks` every
    /// Service of its own namespace, which wins over a master Service of the same name (the
    /// kubelet keeps the first master entry but lets a same-namespace Service replace it).
    /// Variables sorted by name, so the container's environment does not change from one start
    /// to the next (the kubelet's map order is random).
    public static func variables(services: [Service], namespace: String, enableServiceLinks: Bool) -> [(String, String)] {
        var visible: [String: Service] = [:]
        for s in services where isServiceIPSet(s) {
            let name = s.metadata.name ?? ""
            if s.metadata.namespace ?? "default" == masterServiceNamespace && masterServices.contains(name) {
                if visible[name] == nil { visible[name] = s }
            } else if s.metadata.namespace ?? "default" == namespace && enableServiceLinks {
                visible[name] = s
            }
        }
        var merged: [String: String] = [:]
        for s in visible.values {
            for (k, v) in fromService(s) { merged[k] = v }
        }
        return merged.sorted { $0.key < $1.key }
    }

    /// `IsServiceIPSet`: a cluster IP that is neither empty nor `None` (headless).
    public static func isServiceIPSet(_ s: Service) -> Bool {
        guard let ip = s.spec?.clusterIP else { return false }
        return !ip.isEmpty && ip != "None"
    }

    /// `FromServices` for one Service: the host, the first port under the backwards-compatible
    /// name, every named port, then the Docker link variables (`makeLinkVariables`).
    public static func fromService(_ s: Service) -> [(String, String)] {
        guard isServiceIPSet(s), let ip = s.spec?.clusterIP, let ports = s.spec?.ports, let first = ports.first else { return [] }
        let prefix = variableName(s.metadata.name ?? "")
        var out = [(prefix + "_SERVICE_HOST", ip), (prefix + "_SERVICE_PORT", String(first.port))]
        for p in ports {
            if let name = p.name, !name.isEmpty { out.append((prefix + "_SERVICE_PORT_" + variableName(name), String(p.port))) }
        }
        for (i, p) in ports.enumerated() {
            let proto = p.protocol.flatMap { $0.isEmpty ? nil : $0 } ?? "TCP"
            // `net.JoinHostPort`: an IPv6 address in brackets.
            let url = "\(proto.lowercased())://\(ip.contains(":") ? "[\(ip)]" : ip):\(p.port)"
            if i == 0 { out.append((prefix + "_PORT", url)) }
            let portPrefix = "\(prefix)_PORT_\(p.port)_\(proto.uppercased())"
            out += [(portPrefix, url), (portPrefix + "_PROTO", proto.lowercased()), (portPrefix + "_PORT", String(p.port)),
                    (portPrefix + "_ADDR", ip)]
        }
        return out
    }

    /// `makeEnvVariableName`: upper case with `-` as `_`, nothing more (its TODO leaves leading
    /// digits and dots alone): a port named `8080-http` gives `…_SERVICE_PORT_8080_HTTP`.
    public static func variableName(_ s: String) -> String {
        s.uppercased().replacingOccurrences(of: "-", with: "_")
    }
}
