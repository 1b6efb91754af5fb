import KubeAPI

/// An IPv4 CIDR such as `10.96.0.0/16`, for the Service IP range.
public struct IPv4CIDR: Hashable, Sendable, CustomStringConvertible {
    public let base: UInt32
    public let prefix: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let p = Int(parts[1]), (8...30).contains(p), let b = IPv4CIDR.parse(String(parts[0])) else { return nil }
        prefix = p
        base = b & mask(p)
    }

    public var description: String { "\(IPv4CIDR.format(base))/\(prefix)" }

    public func contains(_ ip: String) -> Bool {
        guard let v = IPv4CIDR.parse(ip) else { return false }
        return v & mask(prefix) == base
    }

    /// The addresses a ClusterIP may take: not the network address, not the broadcast address.
    public var usable: ClosedRange<UInt32> { (base + 1)...(base | ~mask(prefix)) - 1 }

    public static func parse(_ s: String) -> UInt32? {
        let octets = s.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var v: UInt32 = 0
        for o in octets {
            guard !o.isEmpty, o.count <= 3, o.allSatisfy(\.isASCII), let n = UInt32(o), n <= 255 else { return nil }
            v = v << 8 | n
        }
        return v
    }

    public static func format(_ v: UInt32) -> String {
        "\(v >> 24).\(v >> 16 & 255).\(v >> 8 & 255).\(v & 255)"
    }
}

private func mask(_ prefix: Int) -> UInt32 { prefix == 0 ? 0 : ~UInt32(0) << (32 - prefix) }

/// What the API server's Service REST storage allocates on create (`ipallocator`,
/// `portallocator`), as a pure plan: the addresses and ports asked for are checked against the
/// ranges; the rest are left to be picked from what is free.
public enum AllocationPlan {
    /// The default NodePort range (`--service-node-port-range`).
    public static let nodePorts: ClosedRange<Int32> = 30000...32767

    /// The API server's errors for requested values outside the ranges (`spec.clusterIPs`,
    /// `spec.ports[i].nodePort`), checked before anything is allocated.
    public static func rangeErrors(_ service: Service, cidr: IPv4CIDR) -> [String] {
        guard let spec = service.spec else { return [] }
        var errs: [String] = []
        if let ip = spec.clusterIP, !ip.isEmpty, ip != "None", IPv4CIDR.parse(ip) != nil, !cidr.contains(ip) {
            errs.append("spec.clusterIPs: Invalid value: []string{\"\(ip)\"}: failed to allocate IP \(ip): the provided IP (\(ip)) is not in the valid range. The range of valid IPs is \(cidr)")
        }
        for (i, p) in (spec.ports ?? []).enumerated() {
            if let np = p.nodePort, np != 0, !nodePorts.contains(np) {
                errs.append("spec.ports[\(i)].nodePort: Invalid value: \(np): provided port is not in the valid range. The range of valid ports is \(nodePorts.lowerBound)-\(nodePorts.upperBound)")
            }
        }
        return errs
    }

    /// Whether the Service gets a virtual IP: not headless, not ExternalName.
    public static func wantsClusterIP(_ service: Service) -> Bool {
        service.spec?.clusterIP != "None" && service.spec?.type != "ExternalName"
    }

    /// Whether its ports get node ports: type NodePort or LoadBalancer.
    public static func wantsNodePorts(_ service: Service) -> Bool {
        ["NodePort", "LoadBalancer"].contains(service.spec?.type ?? "")
    }
}

/// `kubectl get services` columns for a Service as admitted (`printService`).
public enum ServicePrinter {
    /// NAME, TYPE, CLUSTER-IP, EXTERNAL-IP, PORT(S).
    public static func row(_ s: Service) -> [String] {
        let spec = s.spec
        let ports = (spec?.ports ?? []).map { p in
            "\(p.port)" + (p.nodePort.map { ":\($0)" } ?? "") + "/\(p.protocol ?? "TCP")"
        }
        let external = spec?.type == "ExternalName" ? (spec?.externalName ?? "<none>")
            : (spec?.externalIPs?.isEmpty == false ? spec!.externalIPs!.joined(separator: ",") : (spec?.type == "LoadBalancer" ? "<pending>" : "<none>"))
        return [s.metadata.name ?? "", spec?.type ?? "ClusterIP", spec?.clusterIP ?? "<none>", external,
                ports.isEmpty ? "<none>" : ports.joined(separator: ",")]
    }
}
