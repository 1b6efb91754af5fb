import ContainerRuntime
import Foundation
import KubeAPI
#if canImport(Glibc)
import Glibc
#endif

/// Where the Service proxy keeps its state and which ranges it serves.
public struct ProxyConfig: Sendable {
    /// The Service IP range (`--service-cluster-ip-range`); pods route it to the bridge gateway.
    public var serviceCIDR = IPv4CIDR("10.96.0.0/16")!
    /// The cluster DNS Service's address when free (kubeadm's `10.96.0.10`), else any free one.
    public var preferredDNSIP = "10.96.0.10"
    /// Machine-wide leases on Service IPs and node ports (see `Leases`).
    public var leaseDir = "/run/tandem/services"
    /// Tables are `<prefix><pid>-<start time>`: `cleanupStale` recognises a dead owner's table by name.
    public var tablePrefix = "tandem-"
    public var clusterDomain = "cluster.local"
    public var nodeName = ""
    public var nft = "/usr/sbin/nft"
    public var conntrack = "/usr/sbin/conntrack"

    public init() {}
}

public struct ProxyError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// kube-proxy for `tandem run`, plus the API server's Service IP and node port allocation: it
/// gives each Service its virtual IP, follows the pods, and keeps one nftables table holding
/// exactly the rules for the Services' ready endpoints (`NFTRules`). The decisions are the pure
/// functions beside it; this actor only allocates, runs `nft` and remembers what it applied.
public actor Proxier {
    public let config: ProxyConfig
    public let table: String
    private let leases: Leases
    private var held: [String] = []
    private var services: [Service] = []
    private var pods: [Pod] = []
    private var terminating: Set<String> = []
    public private(set) var dnsIP: String?
    private var dnsPort: Int?
    private var onRecords: @Sendable ([String: [String]]) -> Void = { _ in }

    private var desired: (script: String, states: [ServiceState])?
    private var applied: String?
    /// The endpoints the applied rules were made from, for the UDP conntrack clean-up.
    private var appliedStates: [ServiceState] = []
    private var applying = false
    private var idle: [CheckedContinuation<Void, Never>] = []
    private var stopped = false

    public init(config: ProxyConfig = ProxyConfig()) {
        self.config = config
        let pid = getpid()
        table = "\(config.tablePrefix)\(pid)-\(processStartTime(pid) ?? "0")"
        leases = Leases(dir: config.leaseDir)
    }

    /// Removes what a killed Tandem left: tables whose owner process is gone, and its leases.
    public static func cleanupStale(config: ProxyConfig = ProxyConfig()) async {
        Leases(dir: config.leaseDir).releaseStale()
        guard let r = try? await Command.run([config.nft, "list", "tables", "ip"]), r.status == 0 else { return }
        for line in String(decoding: r.stdout, as: UTF8.self).split(separator: "\n") {
            let name = line.split(separator: " ").last.map(String.init) ?? ""
            guard name.hasPrefix(config.tablePrefix) else { continue }
            let owner = name.dropFirst(config.tablePrefix.count).split(separator: "-")
            guard owner.count == 2, let pid = Int32(owner[0]) else { continue }
            if processStartTime(pid) == String(owner[1]) { continue }
            _ = try? await Command.run([config.nft, "delete", "table", "ip", name])
        }
    }

    /// The API server's part of creating the Services: range checks, then a virtual IP (the one
    /// asked for, or a free one) and node ports. Returns the errors, as `kubectl create` prints
    /// them, for any Service that cannot be admitted; nothing is kept allocated then.
    public func admit(_ input: [Service]) -> [String] {
        var errors: [String] = []
        var out: [Service] = []
        for var s in input {
            let kind = "Service \"\(s.metadata.name ?? "")\""
            let range = AllocationPlan.rangeErrors(s, cidr: config.serviceCIDR)
            if !range.isEmpty {
                errors.append("The \(kind) is invalid: " + range.joined(separator: ", "))
                continue
            }
            guard var spec = s.spec else { continue }
            if AllocationPlan.wantsClusterIP(s) {
                if let ip = spec.clusterIP, !ip.isEmpty {
                    guard take("clusterip-\(ip)") else {
                        errors.append("The \(kind) is invalid: spec.clusterIPs: Invalid value: []string{\"\(ip)\"}: failed to allocate IP \(ip): provided IP is already allocated")
                        continue
                    }
                } else {
                    guard let ip = allocateIP() else {
                        errors.append("Internal error occurred: failed to allocate a serviceIP: range is full")
                        continue
                    }
                    spec.clusterIP = ip
                }
                spec.clusterIPs = [spec.clusterIP!]
            } else if spec.clusterIP == "None" {
                spec.clusterIPs = ["None"]
            }
            if spec.type != "ExternalName" {
                spec.ipFamilies = ["IPv4"]
                spec.ipFamilyPolicy = "SingleStack"
            }
            if AllocationPlan.wantsNodePorts(s) {
                for i in (spec.ports ?? []).indices {
                    if let np = spec.ports![i].nodePort, np != 0 {
                        if !take("nodeport-\(np)") {
                            errors.append("The \(kind) is invalid: spec.ports[\(i)].nodePort: Invalid value: \(np): provided port is already allocated")
                        }
                    } else if let np = allocateNodePort() {
                        spec.ports![i].nodePort = np
                    } else {
                        errors.append("Internal error occurred: failed to allocate a nodePort: range is full")
                    }
                }
            }
            s.spec = spec
            s.metadata.uid = s.metadata.uid ?? UUID().uuidString.lowercased()
            s.metadata.creationTimestamp = s.metadata.creationTimestamp ?? Timestamp.string(Date())
            s.status = s.status ?? .object(["loadBalancer": .object([:])])
            out.append(s)
        }
        if !errors.isEmpty { releaseAll() }
        services = errors.isEmpty ? out : []
        return errors
    }

    /// The Services as admitted (with their clusterIP and node ports), for `-o json`.
    public func admittedServices() -> [Service] { services }

    /// Allocates the cluster DNS address (redirected to the responder on `dnsPort`), installs the
    /// table and starts publishing DNS records through `onRecords`.
    public func start(dnsPort: Int?, onRecords: @escaping @Sendable ([String: [String]]) -> Void) async throws {
        self.onRecords = onRecords
        if let dnsPort {
            self.dnsPort = dnsPort
            if take("clusterip-\(config.preferredDNSIP)") {
                dnsIP = config.preferredDNSIP
            } else {
                dnsIP = allocateIP()
            }
        }
        let script = render()
        let r = try await Command.run([config.nft, "-f", "-"], stdin: Data(script.utf8))
        guard r.status == 0 else {
            throw ProxyError(description: "nft: \(String(decoding: r.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        applied = script
        appliedStates = states()
        onRecords(records())
        // Pod-to-Service connections are forwarded by the host (from the host they work anyway).
        if (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8))?.hasPrefix("0") == true {
            FileHandle.standardError.write(Data("warning: net.ipv4.ip_forward is 0: pods cannot reach Services (the host can)\n".utf8))
        }
    }

    /// A pod changed (or went): recompute the endpoints, the rules and the DNS records.
    public func update(pods: [Pod], terminating: Set<String>) async {
        self.pods = pods
        self.terminating = terminating
        guard !stopped, applied != nil else { return }
        onRecords(records())
        desired = (render(), states())
        await sync()
    }

    /// Removes the table and gives back every lease (at exit).
    public func stop() async {
        stopped = true
        if applying { await withCheckedContinuation { idle.append($0) } }
        if applied != nil { _ = try? await Command.run([config.nft, "delete", "table", "ip", table]) }
        applied = nil
        releaseAll()
    }

    /// The endpoints of every Service port now, for the slices and the rules.
    public func states() -> [ServiceState] {
        services.map { s in
            let vip = s.spec?.clusterIP.flatMap { $0 == "None" || $0.isEmpty ? nil : $0 }
            return ServiceState(namespace: s.metadata.namespace ?? "default", name: s.metadata.name ?? "", clusterIP: vip,
                                ports: EndpointsController.endpoints(of: s, pods: pods, terminating: terminating))
        }
    }

    /// One EndpointSlice per Service (and per distinct port mapping), as `kubectl get endpointslices -o json`.
    public func endpointSlices() -> [JSONValue] {
        zip(services, states()).filter { $0.0.spec?.selector?.isEmpty == false }.flatMap {
            EndpointSlices.slices(service: $0.0, ports: $0.1.ports, nodeName: config.nodeName)
        }
    }

    // MARK: - Internals

    private func records() -> [String: [String]] {
        ServiceRecords.records(services: services, pods: pods, terminating: terminating, domain: config.clusterDomain)
    }

    private func render() -> String {
        NFTRules.script(table: table, comment: "tandem run, pid \(getpid())", services: states(),
                        dns: zip(dnsIP, dnsPort).map { DNSRedirect(ip: $0.0, port: $0.1) },
                        hostPorts: HostPortMapping.mappings(pods: pods))
    }

    /// Applies the newest desired script, one `nft` run at a time; changes arriving meanwhile
    /// coalesce into the next run.
    private func sync() async {
        guard !applying else { return }
        applying = true
        while !stopped, let (script, states) = desired, script != applied {
            let r = try? await Command.run([config.nft, "-f", "-"], stdin: Data(script.utf8))
            if r?.status == 0 {
                applied = script
                // conntrack exits 1 when nothing matched; without conntrack-tools this is skipped.
                if FileManager.default.isExecutableFile(atPath: config.conntrack) {
                    for args in ConntrackCleanup.commands(old: appliedStates, new: states) {
                        _ = try? await Command.run([config.conntrack] + args)
                    }
                }
                appliedStates = states
            } else {
                FileHandle.standardError.write(Data("tandem: nft: \(String(decoding: r?.stderr ?? Data(), as: UTF8.self))\n".utf8))
                break
            }
        }
        applying = false
        let waiters = idle
        idle = []
        waiters.forEach { $0.resume() }
    }

    private func take(_ name: String) -> Bool {
        guard leases.acquire(name) else { return false }
        held.append(name)
        return true
    }

    private func releaseAll() {
        for name in held { leases.release(name) }
        held = []
    }

    /// A random free address of the range, as the API server's `ipallocator` picks one; the
    /// lower addresses (up to .10) are left to Services that ask for one, like kubeadm's DNS.
    private func allocateIP() -> String? {
        let range = config.serviceCIDR.usable
        let low = range.lowerBound + 10
        for _ in 0..<64 {
            let ip = IPv4CIDR.format(UInt32.random(in: low...range.upperBound))
            if take("clusterip-\(ip)") { return ip }
        }
        return nil
    }

    private func allocateNodePort() -> Int32? {
        for _ in 0..<64 {
            let port = Int32.random(in: AllocationPlan.nodePorts)
            if take("nodeport-\(port)") { return port }
        }
        return nil
    }
}

private func zip<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}
