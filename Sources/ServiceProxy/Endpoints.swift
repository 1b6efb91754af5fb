import KubeAPI

/// One address behind a Service port: a pod's IP and the port its `targetPort` resolved to there.
public struct Endpoint: Hashable, Sendable, Comparable {
    public var ip: String
    public var port: Int32
    /// The pod's Ready condition (EndpointSlice `serving`).
    public var serving: Bool
    /// The pod is being deleted (EndpointSlice `terminating`).
    public var terminating: Bool
    public var podName: String
    public var podUID: String

    /// EndpointSlice `ready`: serving and not terminating.
    public var ready: Bool { serving && !terminating }

    public init(ip: String, port: Int32, serving: Bool, terminating: Bool = false, podName: String, podUID: String = "") {
        self.ip = ip
        self.port = port
        self.serving = serving
        self.terminating = terminating
        self.podName = podName
        self.podUID = podUID
    }

    public static func < (a: Endpoint, b: Endpoint) -> Bool { (a.ip, a.port) < (b.ip, b.port) }
}

/// The endpoints of one port of one Service.
public struct PortEndpoints: Hashable, Sendable {
    public var name: String
    /// "TCP" or "UDP".
    public var proto: String
    public var port: Int32
    public var nodePort: Int32?
    public var endpoints: [Endpoint]

    public init(name: String, proto: String, port: Int32, nodePort: Int32?, endpoints: [Endpoint]) {
        self.name = name
        self.proto = proto
        self.port = port
        self.nodePort = nodePort
        self.endpoints = endpoints
    }

    /// The ready endpoints (all of them with `publishNotReadyAddresses`, whose not-ready
    /// endpoints the controller marks ready).
    public var ready: [Endpoint] { endpoints.filter(\.ready) }

    /// What kube-proxy load-balances over (`CategorizeEndpoints`): the ready endpoints, or, when
    /// there is none, the serving terminating ones, so that a rolling pod keeps answering while
    /// it drains (KEP-1669, GA in 1.28).
    public var usable: [Endpoint] {
        let r = ready
        return r.isEmpty ? endpoints.filter { $0.serving && $0.terminating } : r
    }
}

/// The EndpointSlice controller's choice of endpoints, as a pure function of the Service and the
/// pods (`endpointslice.Reconciler` with `podToEndpoint`, `FindPort`).
public enum EndpointsController {
    /// Whether the pod's labels satisfy the Service's selector (`labels.SelectorFromSet`). A
    /// Service without a selector gets no endpoints from the controller.
    public static func selects(_ selector: [String: String]?, _ labels: [String: String]?) -> Bool {
        guard let selector, !selector.isEmpty else { return false }
        let labels = labels ?? [:]
        return selector.allSatisfy { labels[$0.key] == $0.value }
    }

    /// `podutil.FindPort`: a number is used as is; a name is looked up among the ports of the
    /// pod's containers and of its sidecars (restartable init containers), protocol included.
    public static func findPort(_ target: IntOrString, proto: String, in pod: Pod) -> Int32? {
        switch target {
        case .int(let n): return Int32(n)
        case .string(let name):
            let containers = pod.spec.containers + (pod.spec.initContainers ?? []).filter(\.isSidecar)
            for c in containers {
                for p in c.ports ?? [] where p.name == name && (p.protocol ?? "TCP") == proto { return p.containerPort }
            }
            return nil
        }
    }

    /// The endpoints of every port of `service` among `pods` (already in its namespace or not):
    /// pods selected, with an IP, not finished; serving when the pod is Ready, ready when serving
    /// and not terminating
    /// (`podutil.IsPodReady`, `endpointutil.ShouldPodBeInEndpoints`).
    public static func endpoints(of service: Service, pods: [Pod], terminating: Set<String> = []) -> [PortEndpoints] {
        guard let spec = service.spec else { return [] }
        let members = members(of: service, pods: pods)
        return (spec.ports ?? []).map { sp in
            let proto = sp.protocol ?? "TCP"
            var eps: [Endpoint] = []
            for pod in members {
                guard let port = findPort(sp.targetPort ?? .int(Int(sp.port)), proto: proto, in: pod) else { continue }
                eps.append(Endpoint(ip: pod.status!.podIP!, port: port,
                                    serving: service.spec?.publishNotReadyAddresses == true || isReady(pod),
                                    terminating: terminating.contains("\(pod.namespace)/\(pod.name)"),
                                    podName: pod.name, podUID: pod.metadata.uid ?? ""))
            }
            return PortEndpoints(name: sp.name ?? "", proto: proto, port: sp.port, nodePort: sp.nodePort, endpoints: eps)
        }
    }

    /// The pods behind a Service: selected, in its namespace, with an IP, not finished.
    static func members(of service: Service, pods: [Pod]) -> [Pod] {
        let namespace = service.metadata.namespace ?? "default"
        return pods.filter { pod in
            pod.namespace == namespace && selects(service.spec?.selector, pod.metadata.labels)
                && !(pod.status?.podIP ?? "").isEmpty
                && pod.status?.phase != "Succeeded" && pod.status?.phase != "Failed"
        }.sorted { ($0.status?.podIP ?? "") < ($1.status?.podIP ?? "") }
    }

    static func ready(_ pod: Pod, _ service: Service, _ terminating: Set<String>) -> Bool {
        service.spec?.publishNotReadyAddresses == true || (isReady(pod) && !terminating.contains("\(pod.namespace)/\(pod.name)"))
    }

    /// `podutil.IsPodReady`: the Ready condition is True.
    public static func isReady(_ pod: Pod) -> Bool {
        pod.status?.conditions?.contains { $0.type == "Ready" && $0.status == "True" } ?? false
    }
}

extension EndpointsController {
    /// The addresses of a headless Service's DNS name: the ready pods it selects (all selected
    /// pods with `publishNotReadyAddresses`), ports or not, as CoreDNS answers from the slices.
    public static func readyIPs(of service: Service, pods: [Pod], terminating: Set<String> = []) -> [String] {
        members(of: service, pods: pods).filter { ready($0, service, terminating) }.compactMap(\.status?.podIP)
    }
}

/// The cluster domain's A records (`<service>.<namespace>.svc.<domain>`), as CoreDNS's
/// `kubernetes` plugin serves them: a Service's virtual IP, or a headless Service's ready pods.
public enum ServiceRecords {
    public static func records(services: [Service], pods: [Pod], terminating: Set<String>, domain: String) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for s in services where s.spec?.type != "ExternalName" {
            let fqdn = "\(s.metadata.name ?? "").\(s.metadata.namespace ?? "default").svc.\(domain)"
            if let ip = s.spec?.clusterIP, ip != "None", !ip.isEmpty {
                out[fqdn] = [ip]
            } else {
                out[fqdn] = EndpointsController.readyIPs(of: s, pods: pods, terminating: terminating)
            }
        }
        return out
    }
}
