/// Which UDP conntrack entries to delete after a rules change, as kube-proxy's
/// `deleteUDPEndpointConnections` / `ClearEntriesForIP` decide: UDP has no connection end, so an
/// entry NATed to an endpoint that is no longer used would keep a client's flow pointed at it
/// until it times out, and an entry made while the Service rejected would keep bypassing the new
/// endpoints. Each result is the argument list of one `conntrack -D`.
public enum ConntrackCleanup {
    public static func commands(old: [ServiceState], new: [ServiceState]) -> [[String]] {
        var byKey: [String: PortEndpoints] = [:]
        for s in old {
            for p in s.ports where p.proto == "UDP" { byKey["\(s.namespace)/\(s.name)/\(p.name)"] = p }
        }
        var out: [[String]] = []
        for s in new {
            guard let vip = s.clusterIP else { continue }
            for p in s.ports where p.proto == "UDP" {
                let before = Set((byKey["\(s.namespace)/\(s.name)/\(p.name)"]?.usable ?? []).map(\.ip))
                let now = Set(p.usable.map(\.ip))
                for gone in before.subtracting(now).sorted() {
                    out.append(["-D", "-p", "udp", "--orig-dst", vip, "--orig-port-dst", String(p.port), "--dst-nat", gone])
                    if let np = p.nodePort { out.append(["-D", "-p", "udp", "--orig-port-dst", String(np), "--dst-nat", gone]) }
                }
                if before.isEmpty && !now.isEmpty {
                    out.append(["-D", "-p", "udp", "--orig-dst", vip, "--orig-port-dst", String(p.port)])
                }
            }
        }
        return out
    }
}
