import ClusterDNS
import Foundation
import KubeAPI
import Node
import ServiceProxy
import Testing

private func objects(_ yaml: String) throws -> [KubeObject] { try Manifest.decode(yaml, source: "test") }

private func service(_ yaml: String) throws -> Service {
    guard case .service(var s)? = try objects(yaml).first else { throw CancellationError() }
    s.metadata.namespace = s.metadata.namespace ?? "default"
    return s
}

/// A pod as a worker publishes it: labels, a named port, an IP, and Ready or not.
private func pod(_ name: String, ip: String, ready: Bool, labels: String = "app: web", phase: String = "Running") throws -> Pod {
    guard case .pod(var p)? = try objects("""
        apiVersion: v1
        kind: Pod
        metadata: {name: \(name), labels: {\(labels)}}
        spec:
          containers:
          - name: c
            image: busybox
            ports: [{name: http, containerPort: 8080}]
        """).first else { throw CancellationError() }
    p.metadata.namespace = "default"
    p.metadata.uid = "uid-\(name)"
    var status = PodStatus()
    status.phase = phase
    status.podIP = ip
    status.conditions = [Condition(type: "Ready", status: ready ? "True" : "False")]
    p.status = status
    return p
}

private let web = """
    apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec:
      clusterIP: 10.96.0.50
      selector: {app: web}
      ports:
      - {name: http, port: 80, targetPort: http}
    """

struct EndpointTests {
    @Test func onlyReadyPodsAreServedAndNamedPortsResolve() throws {
        let s = try service(web)
        let pods = [try pod("a", ip: "10.88.0.5", ready: true), try pod("b", ip: "10.88.0.6", ready: false),
                    try pod("other", ip: "10.88.0.7", ready: true, labels: "app: db"),
                    try pod("done", ip: "10.88.0.8", ready: false, phase: "Succeeded")]
        let ports = EndpointsController.endpoints(of: s, pods: pods)
        #expect(ports.count == 1)
        #expect(ports[0].endpoints.map(\.ip) == ["10.88.0.5", "10.88.0.6"])
        #expect(ports[0].endpoints.map(\.port) == [8080, 8080])
        #expect(ports[0].ready.map(\.ip) == ["10.88.0.5"])
    }

    @Test func terminatingPodsAreNotReadyButServeWhenNothingElseDoes() throws {
        let s = try service(web)
        let both = [try pod("a", ip: "10.88.0.5", ready: true), try pod("b", ip: "10.88.0.6", ready: true)]
        let draining = EndpointsController.endpoints(of: s, pods: both, terminating: ["default/a"])
        #expect(draining[0].ready.map(\.ip) == ["10.88.0.6"])
        #expect(draining[0].usable.map(\.ip) == ["10.88.0.6"])
        let allGoing = EndpointsController.endpoints(of: s, pods: both, terminating: ["default/a", "default/b"])
        #expect(allGoing[0].ready.isEmpty)
        #expect(allGoing[0].usable.map(\.ip) == ["10.88.0.5", "10.88.0.6"])
        let slice = EndpointSlices.slices(service: s, ports: allGoing, nodeName: "n")[0]
        guard case .array(let eps)? = slice["endpoints"] else { Issue.record("no endpoints"); return }
        let drainingConditions: JSONValue = .object(["ready": .bool(false), "serving": .bool(true), "terminating": .bool(true)])
        #expect(eps.map { $0["conditions"] } == [drainingConditions, drainingConditions])
    }

    @Test func headlessServiceRecordsAreTheReadyPods() throws {
        let s = try service("""
            apiVersion: v1
            kind: Service
            metadata: {name: db}
            spec: {clusterIP: None, selector: {app: web}}
            """)
        let pods = [try pod("a", ip: "10.88.0.5", ready: true), try pod("b", ip: "10.88.0.6", ready: false)]
        let records = ServiceRecords.records(services: [s, try service(web)], pods: pods, terminating: [], domain: "cluster.local")
        #expect(records["db.default.svc.cluster.local"] == ["10.88.0.5"])
        #expect(records["web.default.svc.cluster.local"] == ["10.96.0.50"])
    }

    @Test func slicesCarryReadinessAndResolvedPorts() throws {
        let s = try service(web)
        let ports = EndpointsController.endpoints(of: s, pods: [try pod("a", ip: "10.88.0.5", ready: true), try pod("b", ip: "10.88.0.6", ready: false)])
        let slices = EndpointSlices.slices(service: s, ports: ports, nodeName: "n")
        #expect(slices.count == 1)
        guard case .array(let eps)? = slices[0]["endpoints"] else { Issue.record("no endpoints"); return }
        #expect(eps.map { $0["conditions"]?["ready"] } == [.bool(true), .bool(false)])
        #expect(slices[0]["ports"] == .array([.object(["name": .string("http"), "port": .int(8080), "protocol": .string("TCP")])]))
    }
}

struct NFTRulesTests {
    private func script(_ readyA: Bool, _ readyB: Bool) throws -> String {
        let s = try service(web)
        let pods = [try pod("a", ip: "10.88.0.5", ready: readyA), try pod("b", ip: "10.88.0.6", ready: readyB)]
        let state = ServiceState(namespace: "default", name: "web", clusterIP: "10.96.0.50", ports: EndpointsController.endpoints(of: s, pods: pods))
        return NFTRules.script(table: "tandem-test", comment: "test", services: [state], dns: DNSRedirect(ip: "10.96.0.10", port: 40053))
    }

    @Test func readyEndpointsAreChosenAtRandomFromTheServiceChain() throws {
        let text = try script(true, true)
        #expect(text.contains("10.96.0.50 . tcp . 80 : goto service-"))
        #expect(text.contains("numgen random mod 2 vmap"))
        #expect(text.contains("meta l4proto tcp dnat to 10.88.0.5:8080"))
        #expect(text.contains("meta l4proto tcp dnat to 10.88.0.6:8080"))
        #expect(text.contains("10.96.0.10 . udp . 53 : goto cluster-dns"))
        #expect(text.contains("redirect to :40053"))
    }

    @Test func notReadyEndpointsGetNoRuleAndNoneMeansReject() throws {
        let one = try script(true, false)
        #expect(!one.contains("10.88.0.6"))
        #expect(!one.contains("numgen"))
        let none = try script(false, false)
        #expect(none.contains("10.96.0.50 . tcp . 80 : goto reject-chain"))
        #expect(!none.contains("dnat to 10.88"))
    }

    /// The kernel's own parser accepts the script (`nft -c`, nothing applied).
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft") && getuid() == 0))
    func nftAcceptsTheScript() throws {
        for text in [try script(true, true), try script(false, false)] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/nft")
            p.arguments = ["-c", "-f", "-"]
            let input = Pipe()
            let err = Pipe()
            p.standardInput = input
            p.standardError = err
            try p.run()
            input.fileHandleForWriting.write(Data(text.utf8))
            try input.fileHandleForWriting.close()
            p.waitUntilExit()
            let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(p.terminationStatus == 0, "\(message)\n\(text)")
        }
    }
}

struct ConntrackTests {
    private func state(_ ips: [String], udp: Bool = true) -> [ServiceState] {
        let eps = ips.map { Endpoint(ip: $0, port: 5353, serving: true, podName: $0) }
        return [ServiceState(namespace: "default", name: "dns", clusterIP: "10.96.0.53",
                             ports: [PortEndpoints(name: "", proto: udp ? "UDP" : "TCP", port: 53, nodePort: nil, endpoints: eps)])]
    }

    @Test func flowsToEndpointsNoLongerUsedAndRejectedFlowsAreDeleted() {
        #expect(ConntrackCleanup.commands(old: state(["10.88.0.5", "10.88.0.6"]), new: state(["10.88.0.6"]))
                == [["-D", "-p", "udp", "--orig-dst", "10.96.0.53", "--orig-port-dst", "53", "--dst-nat", "10.88.0.5"]])
        #expect(ConntrackCleanup.commands(old: state([]), new: state(["10.88.0.6"]))
                == [["-D", "-p", "udp", "--orig-dst", "10.96.0.53", "--orig-port-dst", "53"]])
        #expect(ConntrackCleanup.commands(old: state(["10.88.0.5"]), new: state(["10.88.0.5", "10.88.0.6"])).isEmpty)
        #expect(ConntrackCleanup.commands(old: state(["10.88.0.5"], udp: false), new: state([], udp: false)).isEmpty)
    }
}

struct HostPortTests {
    @Test func hostPortsOfRunningPodsAreDNATedFirstClaimWins() throws {
        guard case .pod(var p)? = try objects("""
            apiVersion: v1
            kind: Pod
            metadata: {name: a}
            spec:
              containers:
              - {name: c, image: busybox, ports: [{containerPort: 8080, hostPort: 9090}, {containerPort: 53, hostPort: 5353, protocol: UDP}]}
            """).first else { throw CancellationError() }
        p.metadata.namespace = "default"
        var status = PodStatus()
        status.podIP = "10.88.0.5"
        status.phase = "Running"
        p.status = status
        var second = p
        second.metadata.name = "b"
        second.status?.podIP = "10.88.0.6"
        var finished = p
        finished.metadata.name = "0-done"
        finished.status?.phase = "Succeeded"
        let m = HostPortMapping.mappings(pods: [second, p, finished])
        #expect(m == [HostPortMapping(proto: "TCP", hostPort: 9090, podIP: "10.88.0.5", containerPort: 8080),
                      HostPortMapping(proto: "UDP", hostPort: 5353, podIP: "10.88.0.5", containerPort: 53)])
        let text = NFTRules.script(table: "t", comment: "c", services: [], dns: nil, hostPorts: m)
        #expect(text.contains("tcp . 9090 : goto hostport-"))
        #expect(text.contains("meta l4proto udp dnat to 10.88.0.5:53"))
    }
}

struct AllocationTests {
    @Test func requestedValuesOutsideTheRangesAreRefused() throws {
        let cidr = try #require(IPv4CIDR("10.96.0.0/16"))
        #expect(cidr.contains("10.96.255.1") && !cidr.contains("10.97.0.1"))
        let s = try service("""
            apiVersion: v1
            kind: Service
            metadata: {name: s}
            spec: {type: NodePort, clusterIP: 10.0.0.1, ports: [{port: 80, nodePort: 80}]}
            """)
        #expect(ServicePrinter.row(s) == ["s", "NodePort", "10.0.0.1", "<none>", "80:80/TCP"])
        #expect(AllocationPlan.rangeErrors(s, cidr: cidr) == [
            "spec.clusterIPs: Invalid value: []string{\"10.0.0.1\"}: failed to allocate IP 10.0.0.1: the provided IP (10.0.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/16",
            "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767",
        ])
    }
}

struct ClusterDNSTests {
    /// A query for `name`, with RD set, as a stub resolver sends it.
    private func query(_ name: String, type: UInt16 = 1) -> [UInt8] {
        var q: [UInt8] = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in name.split(separator: ".") { q.append(UInt8(label.utf8.count)); q += Array(label.utf8) }
        return q + [0, UInt8(type >> 8), UInt8(type & 0xff), 0, 1]
    }

    @Test func clusterNamesAnswerAndOthersForward() {
        let zone = ClusterZone(records: ["web.default.svc.cluster.local": ["10.96.0.50"], "db.default.svc.cluster.local": []])
        #expect(zone.answer("web.default.svc.cluster.local") == .records(["10.96.0.50"]))
        #expect(zone.answer("db.default.svc.cluster.local") == .nxdomain)
        #expect(zone.answer("nope.default.svc.cluster.local") == .nxdomain)
        #expect(zone.answer("10-88-0-5.default.pod.cluster.local") == .records(["10.88.0.5"]))
        #expect(zone.answer("example.com") == .forward)
    }

    @Test func responseCarriesTheIDQuestionAndARecords() throws {
        let bytes = query("Web.default.svc.cluster.local")
        let q = try #require(DNSMessage.question(bytes))
        #expect(q.name == "web.default.svc.cluster.local" && q.type == 1)
        let r = DNSMessage.response(to: bytes, q, .records(["10.96.0.50"]), ttl: 5)
        #expect(Array(r[0..<2]) == [0x12, 0x34])
        #expect(r[2] & 0x80 != 0 && r[2] & 0x04 != 0 && r[3] & 0x0f == 0)
        #expect(Array(r[6..<8]) == [0, 1])
        #expect(Array(r.suffix(4)) == [10, 96, 0, 50])
        let nx = DNSMessage.response(to: bytes, q, .nxdomain, ttl: 5)
        #expect(nx[3] & 0x0f == 3 && nx.count == bytes.count)
        // AAAA for a name that exists: NOERROR, no answer.
        let aaaa = query("web.default.svc.cluster.local", type: 28)
        let none = DNSMessage.response(to: aaaa, try #require(DNSMessage.question(aaaa)), .records(["10.96.0.50"]), ttl: 5)
        #expect(none[3] & 0x0f == 0 && Array(none[6..<8]) == [0, 0])
    }
}

/// A UDP socket on 127.0.0.1 with a receive timeout, for talking to the server under test.
private final class UDPSocket {
    let fd: Int32
    let port: Int

    init() throws {
        let s = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        var tv = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        fd = s
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8], to port: Int) {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        _ = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// The next datagram and its sender's port (nil after the timeout).
    func receive() -> ([UInt8], Int)? {
        var buffer = [UInt8](repeating: 0, count: 1500)
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let n = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &len) }
        }
        return n > 0 ? (Array(buffer[0..<n]), Int(UInt16(bigEndian: addr.sin_port))) : nil
    }
}

struct ClusterDNSServerTests {
    private func query(_ name: String, id: (UInt8, UInt8)) -> [UInt8] {
        var q: [UInt8] = [id.0, id.1, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in name.split(separator: ".") { q.append(UInt8(label.utf8.count)); q += Array(label.utf8) }
        return q + [0, 0, 1, 0, 1]
    }

    /// Cluster names are answered by the server; others go to the upstream under another ID and
    /// its answer comes back to the client with the client's ID.
    @Test func answersClusterNamesAndRelaysTheRest() async throws {
        let upstream = try UDPSocket()
        let server = try await ClusterDNSServer.start(host: "127.0.0.1", upstream: "127.0.0.1", upstreamPort: upstream.port)
        server.update(records: ["web.default.svc.cluster.local": ["10.96.0.50"]])
        let client = try UDPSocket()

        client.send(query("web.default.svc.cluster.local", id: (0xab, 0xcd)), to: server.port)
        let answer = try #require(client.receive())
        #expect(Array(answer.0[0..<2]) == [0xab, 0xcd] && Array(answer.0.suffix(4)) == [10, 96, 0, 50])

        let outside = query("example.org", id: (0x01, 0x02))
        client.send(outside, to: server.port)
        let (forwarded, relayPort) = try #require(upstream.receive())
        #expect(Array(forwarded[2...]) == Array(outside[2...]))
        var reply = forwarded
        reply[2] |= 0x80
        reply[3] = 0x83  // RA, NXDOMAIN: whatever the upstream says is passed on
        upstream.send(reply, to: relayPort)
        let relayed = try #require(client.receive())
        #expect(Array(relayed.0[0..<2]) == [0x01, 0x02])
        #expect(Array(relayed.0[2...]) == Array(reply[2...]))
        await server.stop()
    }
}

struct PodDNSTests {
    private func pod(_ extra: String) throws -> Pod {
        guard case .pod(var p)? = try objects("""
            apiVersion: v1
            kind: Pod
            metadata: {name: p, namespace: team}
            spec:
              containers: [{name: c, image: busybox}]
            \(extra)
            """).first else { throw CancellationError() }
        p.metadata.namespace = "team"
        return p
    }

    @Test func clusterFirstUsesTheClusterDNSAndSearchPath() throws {
        let conf = PodDNS.resolvConf(pod: try pod(""), clusterDNS: "10.96.0.10", domain: "cluster.local", host: "nameserver 1.1.1.1\nsearch corp.example\n")
        #expect(conf == "nameserver 10.96.0.10\nsearch team.svc.cluster.local svc.cluster.local cluster.local corp.example\noptions ndots:5\n")
    }

    @Test func hostNetworkAndDefaultKeepTheHostsFile() throws {
        #expect(PodDNS.resolvConf(pod: try pod("  hostNetwork: true"), clusterDNS: "10.96.0.10", domain: "cluster.local", host: "") == nil)
        #expect(PodDNS.resolvConf(pod: try pod("  dnsPolicy: Default"), clusterDNS: "10.96.0.10", domain: "cluster.local", host: "") == nil)
        let withHost = PodDNS.resolvConf(pod: try pod("  hostNetwork: true\n  dnsPolicy: ClusterFirstWithHostNet"), clusterDNS: "10.96.0.10",
                                         domain: "cluster.local", host: "")
        #expect(withHost?.hasPrefix("nameserver 10.96.0.10\n") == true)
    }

    @Test func dnsConfigIsMergedAndNoneUsesOnlyIt() throws {
        let none = try pod("""
              dnsPolicy: None
              dnsConfig: {nameservers: [1.2.3.4], searches: [a.example], options: [{name: ndots, value: "2"}, {name: edns0}]}
            """)
        #expect(PodDNS.resolvConf(pod: none, clusterDNS: "10.96.0.10", domain: "cluster.local", host: "nameserver 9.9.9.9\n")
                == "nameserver 1.2.3.4\nsearch a.example\noptions ndots:2 edns0\n")
        let merged = try pod("  dnsConfig: {options: [{name: ndots, value: \"1\"}]}")
        #expect(PodDNS.resolvConf(pod: merged, clusterDNS: "10.96.0.10", domain: "cluster.local", host: "")?.hasSuffix("options ndots:1\n") == true)
    }
}
