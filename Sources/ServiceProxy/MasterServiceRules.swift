import ContainerRuntime
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// kube-proxy's part for `tandem serve`'s `kubernetes` Service: its ClusterIP, leased
/// machine-wide like every Service IP, and one nftables table (`NFTRules`, the same layout as
/// `tandem run`'s) that DNATs `clusterIP:443` to the API server's address on the pod bridge. Pods
/// reach it through their route to the Service range, as in-cluster clients reach the API
/// server through `KUBERNETES_SERVICE_HOST` on a cluster.
public actor MasterServiceRules {
    /// The addresses tried, in order: the first of the range (10.96.0.1, the address the API
    /// server gives the `kubernetes` Service), then the next ones below the cluster DNS address.
    /// Several `tandem serve`s on one machine share the range, and each needs its own address
    /// so that its pods reach their own API server.
    public static func candidates(_ cidr: IPv4CIDR) -> [String] {
        let first = cidr.usable.lowerBound
        return (0..<9).map { IPv4CIDR.format(first + $0) }
    }

    public let config: ProxyConfig
    public let table: String
    /// The address leased for the Service; nil when every candidate is held by another Tandem.
    public nonisolated let clusterIP: String?
    private let leases: Leases
    private var applied = false

    /// Leases the first free candidate.
    public init(config: ProxyConfig = ProxyConfig()) {
        self.config = config
        let pid = getpid()
        table = "\(config.tablePrefix)\(pid)-\(processStartTime(pid) ?? "0")"
        let leases = Leases(dir: config.leaseDir)
        self.leases = leases
        clusterIP = Self.candidates(config.serviceCIDR).first { leases.acquire("clusterip-\($0)") }
    }

    /// Installs (or replaces) the rule `clusterIP:port/TCP` → `endpoint:targetPort`.
    public func apply(port: Int32, endpoint: String, targetPort: Int32) async throws {
        guard let clusterIP else { return }
        let service = ServiceState(namespace: "default", name: "kubernetes", clusterIP: clusterIP, ports: [
            PortEndpoints(name: "https", proto: "TCP", port: port, nodePort: nil, endpoints: [
                Endpoint(ip: endpoint, port: targetPort, serving: true, podName: ""),
            ]),
        ])
        let script = NFTRules.script(table: table, comment: "tandem serve, pid \(getpid())", services: [service], dns: nil)
        let r = try await Command.run([config.nft, "-f", "-"], stdin: Data(script.utf8))
        guard r.status == 0 else {
            throw ProxyError(description: "nft: \(String(decoding: r.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        applied = true
    }

    /// Removes the table and gives the address back (at exit).
    public func stop() async {
        if applied { _ = try? await Command.run([config.nft, "delete", "table", "ip", table]) }
        applied = false
        if let clusterIP { leases.release("clusterip-\(clusterIP)") }
    }
}
