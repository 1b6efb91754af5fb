/// What kube-proxy programs for one Service: its virtual IP (nil for a headless Service, which
/// gets DNS records only) and its ports with their endpoints.
public struct ServiceState: Hashable, Sendable {
    public var namespace: String
    public var name: String
    public var clusterIP: String?
    public var ports: [PortEndpoints]

    public init(namespace: String, name: String, clusterIP: String?, ports: [PortEndpoints]) {
        self.namespace = namespace
        self.name = name
        self.clusterIP = clusterIP
        self.ports = ports
    }
}

/// The cluster DNS Service's virtual IP, redirected to the local responder's UDP port.
public struct DNSRedirect: Hashable, Sendable {
    public var ip: String
    public var port: Int

    public init(ip: String, port: Int) {
        self.ip = ip
        self.port = port
    }
}

/// kube-proxy's nftables mode (`pkg/proxy/nftables/proxier.go`), reduced to ClusterIP and
/// NodePort, plus the CNI `portmap` plugin's `hostPort` DNAT: the `service-ips` / `service-nodeports` verdict maps send a new connection to its
/// Service's chain, which marks it for masquerade and picks an endpoint chain with
/// `numgen random mod N` over the ready endpoints (or, with none, the serving terminating ones);
/// the endpoint chain DNATs. A Service port with no such endpoint is in
/// `no-endpoint-services` instead, whose verdict REJECTs in the filter hooks, as kube-proxy does.
///
/// All of it lives in one table per Tandem process, so that the whole set is replaced in one
/// transaction and removed with one `delete table`, and Tandems running side by side never touch
/// each other's rules.
public enum NFTRules {
    /// The packet mark that asks for masquerade (kube-proxy's `0x4000`). Every Service connection
    /// is masqueraded (kube-proxy's `--masquerade-all`): pods share one bridge without
    /// `br_netfilter`, so a reply from a backend to a client pod on the same bridge would otherwise
    /// bypass the host and never be un-DNATed; host-originated connections would carry the
    /// uplink's source address, which pods have no route to.
    public static let masqueradeMark = "0x00004000"

    /// The script for `nft -f -` that makes the table hold exactly `services` (and the DNS
    /// redirect): created if absent, then deleted and re-declared in the same transaction.
    public static func script(table: String, comment: String, services: [ServiceState], dns: DNSRedirect?,
                              hostPorts: [HostPortMapping] = []) -> String {
        var serviceIPs: [String] = []
        var nodePorts: [String] = []
        var hostPortElements: [String] = []
        var noEndpoints: [String] = []
        var noEndpointNodePorts: [String] = []
        var chains: [String] = []
        var input = ["type filter hook input priority -110; policy accept;", "ct state new jump nodeport-endpoints-check"]
        if let dns {
            serviceIPs.append("\(dns.ip) . udp . 53 : goto cluster-dns")
            // From a pod, to the bridge address the query came in on. From the host, to the
            // query's own source address: the responder's socket is not bound to one address,
            // so it answers from the address its route to the client picks, and the reply only
            // matches the connection (and is un-NATed back to the Service address) if that is
            // the address the query was sent to.
            chains.append(chain("cluster-dns", [
                "fib saddr type local meta l4proto udp dnat to ip saddr : \(dns.port)",
                "meta l4proto udp redirect to :\(dns.port)",
            ]))
            // The responder listens on every address; it answers only through the Service address.
            input.append("udp dport \(dns.port) ct original ip daddr != \(dns.ip) drop")
        }
        for svc in services.sorted(by: { ($0.namespace, $0.name) < ($1.namespace, $1.name) }) {
            guard let vip = svc.clusterIP else { continue }
            for port in svc.ports {
                let proto = port.proto.lowercased()
                let base = "\(svc.namespace)/\(svc.name)/\(proto)/\(port.name)"
                let ready = port.usable.sorted()
                if ready.isEmpty {
                    noEndpoints.append("\(vip) . \(proto) . \(port.port) : goto reject-chain")
                    if let np = port.nodePort { noEndpointNodePorts.append("\(proto) . \(np) : goto reject-chain") }
                    continue
                }
                let svcChain = chainName("service", base)
                serviceIPs.append("\(vip) . \(proto) . \(port.port) : goto \(svcChain)")
                if let np = port.nodePort { nodePorts.append("\(proto) . \(np) : goto \(svcChain)") }
                var epChains: [String] = []
                for ep in ready {
                    let name = chainName("endpoint", "\(base)__\(ep.ip)/\(ep.port)")
                    epChains.append(name)
                    chains.append(chain(name, ["meta l4proto \(proto) dnat to \(ep.ip):\(ep.port)"]))
                }
                let pick = epChains.count == 1
                    ? "goto \(epChains[0])"
                    : "numgen random mod \(epChains.count) vmap { " + epChains.enumerated().map { "\($0.offset) : goto \($0.element)" }.joined(separator: ", ") + " }"
                chains.append(chain(svcChain, ["jump mark-for-masquerade", pick]))
            }
        }
        for m in hostPorts {
            let proto = m.proto.lowercased()
            let name = chainName("hostport", "\(proto)/\(m.hostPort)__\(m.podIP)/\(m.containerPort)")
            hostPortElements.append("\(proto) . \(m.hostPort) : goto \(name)")
            chains.append(chain(name, ["jump mark-for-masquerade", "meta l4proto \(proto) dnat to \(m.podIP):\(m.containerPort)"]))
        }
        var out = "add table ip \(table)\ndelete table ip \(table)\ntable ip \(table) {\n"
        out += "\tcomment \"\(comment)\"\n"
        out += map("service-ips", "ipv4_addr . inet_proto . inet_service", serviceIPs)
        out += map("service-nodeports", "inet_proto . inet_service", nodePorts)
        out += map("host-ports", "inet_proto . inet_service", hostPortElements)
        out += map("no-endpoint-services", "ipv4_addr . inet_proto . inet_service", noEndpoints)
        out += map("no-endpoint-nodeports", "inet_proto . inet_service", noEndpointNodePorts)
        out += chain("nat-prerouting", ["type nat hook prerouting priority dstnat; policy accept;", "jump services"])
        out += chain("nat-output", ["type nat hook output priority -100; policy accept;", "jump services"])
        out += chain("nat-postrouting", ["type nat hook postrouting priority srcnat; policy accept;", "jump masquerading"])
        out += chain("filter-input", input)
        out += chain("filter-forward", ["type filter hook forward priority -110; policy accept;", "ct state new jump endpoints-check"])
        out += chain("filter-output", ["type filter hook output priority -110; policy accept;", "ct state new jump endpoints-check"])
        out += chain("services", [
            "ip daddr . meta l4proto . th dport vmap @service-ips",
            "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports",
            "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @host-ports",
        ])
        out += chain("endpoints-check", [
            "ip daddr . meta l4proto . th dport vmap @no-endpoint-services",
            "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports",
        ])
        out += chain("nodeport-endpoints-check", [
            "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports",
        ])
        out += chain("mark-for-masquerade", ["meta mark set meta mark | \(masqueradeMark)"])
        out += chain("masquerading", [
            "meta mark & \(masqueradeMark) == 0 return",
            "meta mark set meta mark ^ \(masqueradeMark)",
            "masquerade fully-random",
        ])
        out += chain("reject-chain", ["reject"])
        out += chains.joined()
        return out + "}\n"
    }

    /// kube-proxy's chain naming: a hash of the full name (so that two names never collide after
    /// cutting), then the readable name, e.g. `service-4XCB5KXQ-default/web/tcp/http`.
    static func chainName(_ prefix: String, _ name: String) -> String {
        "\(prefix)-\(hash8(name))-\(name)"
    }

    /// 8 base32 characters of the 64-bit FNV-1a hash of `s` (kube-proxy uses SHA-256; any
    /// stable hash serves, nothing outside this table reads the names).
    static func hash8(_ s: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01b3
        }
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        return String((0..<8).map { alphabet[Int((h >> (UInt64($0) * 5)) & 31)] })
    }

    private static func chain(_ name: String, _ rules: [String]) -> String {
        "\tchain \(name) {\n" + rules.map { "\t\t\($0)\n" }.joined() + "\t}\n"
    }

    private static func map(_ name: String, _ type: String, _ elements: [String]) -> String {
        var s = "\tmap \(name) {\n\t\ttype \(type) : verdict\n"
        if !elements.isEmpty { s += "\t\telements = { " + elements.joined(separator: ",\n\t\t\t") + " }\n" }
        return s + "\t}\n"
    }
}
