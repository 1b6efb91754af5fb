import Foundation
import KubeAPI
import Testing

/// The nftables tables of Tandem processes: `tandem-<pid>-<start time>`.
func tandemTables() -> [String] {
    guard let r = try? Tandem.exec("/usr/sbin/nft", ["list", "tables", "ip"]) else { return [] }
    return r.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }.filter { $0.hasPrefix("tandem-") }
}

/// The whole ruleset as text.
func ruleset() -> String { (try? Tandem.exec("/usr/sbin/nft", ["list", "ruleset"]))?.stdout ?? "" }

/// How a TCP connection to host:port ends: "connected", "refused", or "timeout" (after 3 s).
func tcpConnect(_ host: String, _ port: Int) -> String {
    let script = """
        import socket,sys
        s=socket.socket(); s.settimeout(3)
        try:
            s.connect((sys.argv[1], int(sys.argv[2]))); print("connected")
        except ConnectionRefusedError: print("refused")
        except socket.timeout: print("timeout")
        except OSError as e: print("error", e)
        """
    return (try? Tandem.exec("/usr/bin/python3", ["-c", script, host, String(port)]))?.stdout.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
}

/// An A record from a DNS server, asked from the host with busybox's nslookup.
func lookup(_ name: String, server: String) -> String? {
    guard let r = try? Tandem.exec("/bin/busybox", ["nslookup", "-type=a", name, server]), r.status == 0 else { return nil }
    // Output: "Server: …", "Address: server:53", blank, "Name: …", "Address: IP".
    let lines = r.stdout.split(separator: "\n").map(String.init)
    guard let nameLine = lines.firstIndex(where: { $0.hasPrefix("Name:") }), nameLine + 1 < lines.count else { return nil }
    return lines[nameLine + 1].split(separator: " ").last.map(String.init)
}

/// The cluster DNS address the pod's containers were given (its resolv.conf's nameserver).
func podNameserver(_ run: BackgroundRun, pod: String) -> String? {
    let dirs = (try? FileManager.default.contentsOfDirectory(atPath: run.root + "/pods")) ?? []
    for d in dirs where d.split(separator: "_").dropFirst().first == Substring(pod) {
        let text = (try? String(contentsOfFile: "\(run.root)/pods/\(d)/resolv.conf", encoding: .utf8)) ?? ""
        if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("nameserver ") }) { return String(line.dropFirst(11)) }
    }
    return nil
}

/// A free-looking address of the Service range for a test that asks for one (another Tandem
/// holding it would make the run exit 2, which the test would report).
func randomClusterIP() -> String { "10.96.\(Int.random(in: 200...250)).\(Int.random(in: 1...254))" }

/// The seed's Service, served: its ClusterIP answers from the host, and its name (short and
/// fully qualified) from another pod through the cluster DNS; after the run no rule is left.
/// In `GitSyncSeedTests` (serialized) because both use the seed's /srv/git/site.git.
extension GitSyncSeedTests {
    /// Runs `body` with a fresh repository at the seed's /srv/git/site.git; whatever was there
    /// is put back after.
    static func withSeedRepository(_ body: (GitFixture) throws -> Void) throws {
        let backup = bare + ".tandem-e2e-backup-\(UUID().uuidString.prefix(8))"
        let hadRepo = FileManager.default.fileExists(atPath: bare)
        let hadParent = FileManager.default.fileExists(atPath: "/srv/git")
        if hadRepo { try FileManager.default.moveItem(atPath: bare, toPath: backup) }
        defer {
            try? FileManager.default.removeItem(atPath: bare)
            if hadRepo { try? FileManager.default.moveItem(atPath: backup, toPath: bare) }
            if !hadParent { try? FileManager.default.removeItem(atPath: "/srv/git") }
        }
        try FileManager.default.createDirectory(atPath: "/srv/git", withIntermediateDirectories: true)
        let repo = try GitFixture(bare: bare)
        defer { repo.cleanup() }
        try body(repo)
    }

    @Test func seedServiceAnswersOnItsClusterIPAndByName() throws {
        try Self.withSeedRepository(seedService)
    }

    private func seedService(_ repo: GitFixture) throws {
        try repo.commit(["index.html": "served through the Service\n"])

        // A client pod that fetches the page by the short name and by the FQDN, until both work.
        let clientDir = try Tandem.tempDir("tandem-e2e-svc-client")
        defer { try? FileManager.default.removeItem(atPath: clientDir) }
        let client = clientDir + "/client.yaml"
        try """
            apiVersion: v1
            kind: Pod
            metadata:
              name: client
            spec:
              restartPolicy: Never
              containers:
              - name: wget
                image: busybox
                command:
                - sh
                - -c
                - |
                  for n in svc-sidecar svc-sidecar.default.svc.cluster.local; do
                    until out=$(wget -q -O- http://$n/); do sleep 0.5; done
                    echo "$n: $out"
                  done
                  cat /etc/resolv.conf
            """.write(toFile: client, atomically: true, encoding: .utf8)

        let seeds = ProcessInfo.processInfo.environment["TANDEM_SEEDS"] ?? Tandem.seeds
        let run = try BackgroundRun(files: ["\(seeds)/git-sync.yaml", client], args: ["--timeout", "60s"])
        defer { run.cleanup() }
        let pid = run.process.processIdentifier
        #expect(run.wait { run.podRunningAndReady("git-sync") }, "pod never Running and Ready: \(run.timeline.suffix(800))")
        #expect(tandemTables().contains { $0.hasPrefix("tandem-\(pid)-") }, "no table for this tandem: \(tandemTables())")

        // By name from the host through the cluster DNS, then the ClusterIP itself.
        let dnsIP = try #require(podNameserver(run, pod: "client"))
        var vip: String?
        #expect(run.wait(for: 10) { vip = lookup("svc-sidecar.default.svc.cluster.local", server: dnsIP); return vip != nil })
        let clusterIP = try #require(vip)
        #expect(clusterIP.hasPrefix("10.96."))
        #expect(run.wait(for: 30) { httpGet(clusterIP) == "served through the Service\n" }, "ClusterIP \(clusterIP) never answered")

        // From the other pod, by both names.
        #expect(run.wait(for: 30) { run.pod("client")?["status"]?["phase"]?.stringValue == "Succeeded" },
                "client: \(run.log(pod: "client", container: "wget").suffix(800))")
        let log = run.log(pod: "client", container: "wget")
        #expect(log.contains("svc-sidecar: served through the Service"))
        #expect(log.contains("svc-sidecar.default.svc.cluster.local: served through the Service"))
        #expect(log.contains("search default.svc.cluster.local svc.cluster.local cluster.local"))
        #expect(log.contains("options ndots:5"))

        let r = run.stop()
        #expect(r.status == 0, "\(r.stderr.suffix(500))")
        // -o json lists the Service with its address, and its EndpointSlice.
        let svc = r.kind("Service").first { $0["metadata"]?["name"]?.stringValue == "svc-sidecar" }
        #expect(svc?["spec"]?["clusterIP"]?.stringValue == clusterIP)
        #expect(svc?["spec"]?["clusterIPs"] == .array([.string(clusterIP)]))
        #expect(r.kind("EndpointSlice").contains { $0["metadata"]?["labels"]?["kubernetes.io/service-name"]?.stringValue == "svc-sidecar" })
        // Gone: this tandem's table and every rule for the VIP.
        #expect(!tandemTables().contains { $0.hasPrefix("tandem-\(pid)-") }, "left: \(tandemTables())")
        #expect(!ruleset().contains("\(clusterIP) . tcp"))
    }
}

/// Readiness gates Service traffic, as the EndpointSlice controller and kube-proxy make it.
@Suite struct ServiceTests {
    @Test func notReadyPodGetsNoTrafficUntilReady() throws {
        // The readiness file lives under /mnt, which containers see live from the host.
        let gate = "/mnt/tandem-e2e-ready-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: gate, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: gate) }
        let vip = randomClusterIP()
        let empty = randomClusterIP()
        func server(_ name: String, probe: String) -> String {
            """
            apiVersion: v1
            kind: Pod
            metadata:
              name: \(name)
              labels: {app: rd}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: web
                image: busybox
                command: ["sh", "-c", "mkdir -p /tmp/www && echo \(name) > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www"]
                ports: [{name: http, containerPort: 8080}]
                readinessProbe:
                  exec: {command: ["sh", "-c", "\(probe)"]}
                  periodSeconds: 1
            """
        }
        let yaml = [
            server("ready", probe: "true"),
            server("late", probe: "test -f \(gate)/ready"),
            """
            apiVersion: v1
            kind: Service
            metadata: {name: rd}
            spec:
              clusterIP: \(vip)
              selector: {app: rd}
              ports: [{port: 80, targetPort: http}]
            """,
            """
            apiVersion: v1
            kind: Service
            metadata: {name: rd-headless}
            spec:
              clusterIP: None
              selector: {app: rd}
            """,
            """
            apiVersion: v1
            kind: Service
            metadata: {name: nobody}
            spec:
              clusterIP: \(empty)
              selector: {app: nobody}
              ports: [{port: 80}]
            """,
        ].joined(separator: "\n---\n")
        let dir = try Tandem.tempDir("tandem-e2e-svc")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try yaml.write(toFile: dir + "/m.yaml", atomically: true, encoding: .utf8)
        let run = try BackgroundRun(files: [dir + "/m.yaml"], args: ["--timeout", "60s"])
        defer { run.cleanup() }
        #expect(run.wait { run.podRunningAndReady("ready") && run.pod("late")?["status"]?["phase"]?.stringValue == "Running" },
                "\(run.timeline.suffix(800))")

        // Only the ready pod answers; 20 connections would reach the other with p = 1 - 2^-20.
        var answers: [String] = []
        for _ in 0..<20 { answers.append(httpGet(vip) ?? "no answer") }
        #expect(Set(answers) == ["ready\n"], "\(answers)")
        #expect(!run.podRunningAndReady("late"))
        // A headless Service's name is its ready pods' addresses.
        let clusterDNS = try #require(podNameserver(run, pod: "ready"))
        #expect(lookup("rd-headless.default.svc.cluster.local", server: clusterDNS) == run.pod("ready")?["status"]?["podIP"]?.stringValue)
        // A Service with no ready endpoint refuses at once, as kube-proxy's REJECT does.
        #expect(tcpConnect(empty, 80) == "refused")

        // Ready: it is added, and both now get traffic.
        FileManager.default.createFile(atPath: gate + "/ready", contents: nil)
        #expect(run.wait(for: 10) { run.podRunningAndReady("late") })
        var seen: Set<String> = []
        #expect(run.wait(for: 10) { seen.insert(httpGet(vip) ?? "no answer"); return seen.isSuperset(of: ["ready\n", "late\n"]) }, "\(seen)")

        // Names outside the cluster domain get the host resolver's answer (where it has one).
        #expect(lookup("rd.default.svc.cluster.local", server: clusterDNS) == vip)
        let hostConf = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
        if let hostServer = hostConf.split(separator: "\n").first(where: { $0.hasPrefix("nameserver ") })?.split(separator: " ").last.map(String.init),
           let expected = lookup("deb.debian.org", server: hostServer) {
            #expect(lookup("deb.debian.org", server: clusterDNS) == expected)
        }

        let pid = run.process.processIdentifier
        let r = run.stop()
        #expect(r.status == 0, "\(r.stderr.suffix(500))")
        #expect(!tandemTables().contains { $0.hasPrefix("tandem-\(pid)-") })
        #expect(!ruleset().contains("\(vip) . tcp"))
    }

    /// A web pod behind a Service of `type` (fields of its port: `portFields`).
    private func webWithService(type: String, portFields: String) -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata:
          name: web
          labels: {app: np}
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: web
            image: busybox
            command: ["sh", "-c", "mkdir -p /tmp/www && echo node-port > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www"]
            ports: [{name: http, containerPort: 8080}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: np}
        spec:
          type: \(type)
          selector: {app: np}
          ports: [{port: 80, targetPort: http\(portFields)}]
        """
    }

    @Test func nodePortAndHostPortAnswerOnTheHostsAddresses() throws {
        let port = Int.random(in: 31000...31999)
        let hostPort = Int.random(in: 42000...42999)
        let dir = try Tandem.tempDir("tandem-e2e-np")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try webWithService(type: "NodePort", portFields: ", nodePort: \(port)")
            .replacingOccurrences(of: "containerPort: 8080}", with: "containerPort: 8080, hostPort: \(hostPort)}")
            .write(toFile: dir + "/m.yaml", atomically: true, encoding: .utf8)
        let run = try BackgroundRun(files: [dir + "/m.yaml"], args: ["--timeout", "30s"])
        defer { run.cleanup() }
        #expect(run.wait { run.podRunningAndReady("web") }, "\(run.timeline.suffix(500))")
        // The pod bridge's address is the host's on every machine; so is the uplink's, if any.
        #expect(run.wait(for: 5) { httpGet("10.88.0.1", port: port) == "node-port\n" })
        #expect(httpGet("10.88.0.1", port: hostPort) == "node-port\n")
        let r = run.stop()
        #expect(r.status == 0, "\(r.stderr.suffix(500))")
        let svc = r.kind("Service").first
        #expect(svc?["spec"]?["ports"]?.array.first?["nodePort"] == .int(Int64(port)))
        #expect(httpGet("10.88.0.1", port: port) == nil)
        #expect(httpGet("10.88.0.1", port: hostPort) == nil)
    }

    /// A UDP Service port reaches a UDP server in the pod (the host's python3: containers see
    /// the host's programs) and the reply comes back from the Service address. When the pod the
    /// flow went to stops being ready, the flow's conntrack entry is deleted, as kube-proxy does:
    /// the same client socket then reaches the pod that is ready now.
    @Test func udpServiceFollowsReadiness() throws {
        let vip = randomClusterIP()
        let gate = "/mnt/tandem-e2e-udp-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: gate, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: gate) }
        FileManager.default.createFile(atPath: gate + "/first", contents: nil)
        let dir = try Tandem.tempDir("tandem-e2e-udp")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = "import os,socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('0.0.0.0',5353))\nwhile True:\n d,a=s.recvfrom(512); s.sendto(b'pong '+os.environ['HOSTNAME'].encode(),a)\n"
        func echo(_ name: String) -> String {
            """
            apiVersion: v1
            kind: Pod
            metadata:
              name: \(name)
              labels: {app: udp}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: echo
                image: busybox
                command: ["/usr/bin/python3", "-c", \(JSONValue.string(server).jsonText())]
                ports: [{name: dns, containerPort: 5353, protocol: UDP}]
                readinessProbe:
                  exec: {command: ["test", "-f", "\(gate)/\(name)"]}
                  periodSeconds: 1
                  failureThreshold: 1
            """
        }
        try [echo("first"), echo("second"), """
            apiVersion: v1
            kind: Service
            metadata: {name: udp}
            spec:
              clusterIP: \(vip)
              selector: {app: udp}
              ports: [{port: 53, targetPort: dns, protocol: UDP}]
            """].joined(separator: "\n---\n").write(toFile: dir + "/m.yaml", atomically: true, encoding: .utf8)
        let run = try BackgroundRun(files: [dir + "/m.yaml"], args: ["--timeout", "40s"])
        defer { run.cleanup() }
        #expect(run.wait { run.podRunningAndReady("first") && run.pod("second")?["status"]?["phase"]?.stringValue == "Running" },
                "\(run.timeline.suffix(500))")
        // One client address and port for every datagram: one conntrack entry.
        let clientPort = String(Int.random(in: 40000...44999))
        let client = """
            import socket,sys
            s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)
            s.bind(('0.0.0.0',int(sys.argv[2]))); s.settimeout(1); s.connect((sys.argv[1],53))
            s.send(b'ping'); print(s.recv(512).decode())
            """
        func ask() -> String {
            (try? Tandem.exec("/usr/bin/python3", ["-c", client, vip, clientPort]))?.stdout.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        }
        var reply = ""
        #expect(run.wait(for: 10) { reply = ask(); return reply == "pong first" }, "reply: \(reply)")

        // Readiness moves from the first pod to the second.
        FileManager.default.createFile(atPath: gate + "/second", contents: nil)
        try FileManager.default.removeItem(atPath: gate + "/first")
        #expect(run.wait(for: 10) { run.podRunningAndReady("second") && !run.podRunningAndReady("first") })
        #expect(run.wait(for: 5) { reply = ask(); return reply == "pong second" }, "the flow stayed on the first pod: \(reply)")
        let r = run.stop()
        #expect(r.status == 1, "the first pod was not ready when stopped: \(r.stderr.suffix(300))")
    }

    /// After `kill -9` the table and the leases stay; the next `tandem run` removes them.
    @Test func killedTandemsRulesAreRemovedAtTheNextStart() throws {
        let dir = try Tandem.tempDir("tandem-e2e-kill")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let vip = randomClusterIP()
        try webWithService(type: "ClusterIP", portFields: "").replacingOccurrences(of: "type: ClusterIP", with: "clusterIP: \(vip)")
            .write(toFile: dir + "/m.yaml", atomically: true, encoding: .utf8)
        let run = try BackgroundRun(files: [dir + "/m.yaml"], args: ["--timeout", "30s"])
        defer { run.cleanup() }
        let pid = run.process.processIdentifier
        #expect(run.wait { tandemTables().contains { $0.hasPrefix("tandem-\(pid)-") } })
        kill(pid, SIGKILL)
        run.process.waitUntilExit()
        #expect(tandemTables().contains { $0.hasPrefix("tandem-\(pid)-") })
        #expect(FileManager.default.fileExists(atPath: "/run/tandem/services/clusterip-\(vip)"))

        let next = try Tandem.run("""
            apiVersion: v1
            kind: Pod
            metadata: {name: once}
            spec:
              restartPolicy: Never
              containers: [{name: c, image: busybox, command: ["true"]}]
            """)
        #expect(next.status == 0, "\(next.stderr.suffix(500))")
        #expect(!tandemTables().contains { $0.hasPrefix("tandem-\(pid)-") }, "\(tandemTables())")
        #expect(!ruleset().contains("\(vip) . tcp"))
        #expect(!FileManager.default.fileExists(atPath: "/run/tandem/services/clusterip-\(vip)"))
    }
}
