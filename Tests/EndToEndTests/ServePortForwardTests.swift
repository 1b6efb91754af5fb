import Foundation
import Testing

/// `kubectl port-forward` against `tandem serve`: the real kubectl 1.32, SPDY/3.1 tunnelled in
/// WebSocket, each connection made to the port inside the pod's network namespace.
@Suite(.serialized) struct ServePortForwardTests {
    /// Lines in the large file: about 4.7 MB, so a response spans many SPDY frames.
    static let bigLines = 600_000

    /// busybox httpd on port 80 of the pod's own network namespace (nothing listens on the
    /// host's port 80 for it), serving a small page and a large file.
    static let pod = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: web
        spec:
          containers:
          - name: httpd
            image: busybox
            command: ["sh", "-c", "echo hello-from-the-pod > /www/index.html; seq 1 \(bigLines) > /www/big; exec httpd -f -p 80 -h /www"]
            readinessProbe:
              tcpSocket:
                port: 80
              periodSeconds: 1
            volumeMounts:
            - name: www
              mountPath: /www
          volumes:
          - name: www
            emptyDir: {}
        """

    /// A running `kubectl port-forward`, killed and reaped in every case.
    final class Forward {
        let process: Process
        let out: String
        init(_ serve: ServeRun, _ args: [String], environment: [String: String] = [:]) throws {
            (process, out) = try serve.kubectlInBackground(["port-forward"] + args, keepStderr: true, environment: environment)
        }
        var stdout: String { (try? String(contentsOfFile: out, encoding: .utf8)) ?? "" }
        var stderr: String { (try? String(contentsOfFile: out + ".err", encoding: .utf8)) ?? "" }
        /// The local port from kubectl's `Forwarding from 127.0.0.1:PORT -> REMOTE` line.
        func localPort() -> Int? {
            _ = waitUntil(30) { stdout.contains("Forwarding from 127.0.0.1:") || !process.isRunning }
            guard let match = stdout.firstMatch(of: /Forwarding from 127\.0\.0\.1:(\d+) ->/) else { return nil }
            return Int(match.1)
        }
        func stop(_ signo: Int32 = SIGKILL) {
            if process.isRunning { kill(process.processIdentifier, signo) }
            process.waitUntilExit()
        }
        deinit { stop() }
    }

    static func withServedPod(_ body: (ServeRun, String) throws -> Void) throws {
        try ServeRun.withReadyPod(pod, named: "web", body)
    }

    static func curl(_ url: String, to file: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        try Tandem.exec("/usr/bin/curl", ["-sS", "--max-time", "30"] + (file.map { ["-o", $0] } ?? []) + [url])
    }

    /// Established TCP connections to port 80 in the pod's network namespace (its
    /// /proc/net/tcp and tcp6, seen through the httpd's /proc entry).
    static func podConnections(_ serve: ServeRun) -> Int {
        guard let pid = serve.containers("httpd -f -p 80").first else { return -1 }
        return ["tcp", "tcp6"].reduce(0) { count, table in
            let lines = ((try? String(contentsOfFile: "/proc/\(pid)/net/\(table)", encoding: .utf8)) ?? "").split(separator: "\n").dropFirst()
            return count + lines.filter { line in
                let f = line.split(separator: " ")
                return f.count > 3 && f[1].hasSuffix(":0050") && f[3] == "01"
            }.count
        }
    }

    @Test func forwardsConnectionsToThePodsPort() throws {
        try Self.withServedPod { serve, dir in
            let forward = try Forward(serve, ["pod/web", ":80"])
            let port = try #require(forward.localPort(), "\(forward.stdout) \(forward.stderr)")
            // Several connections one after the other, each its own pair of SPDY streams.
            for _ in 0..<3 {
                let r = try Self.curl("http://127.0.0.1:\(port)/")
                #expect(r.status == 0 && r.stdout == "hello-from-the-pod\n", "\(r) \(forward.stderr)")
            }
            // Two at once, each a large response that arrives intact.
            let expected = Data((1...Self.bigLines).map { "\($0)\n" }.joined().utf8)
            let downloads = (0..<2).map { i in
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
                p.arguments = ["-sS", "--max-time", "60", "-o", "\(dir)/big\(i)", "http://127.0.0.1:\(port)/big"]
                return p
            }
            for p in downloads { try p.run() }
            for p in downloads { p.waitUntilExit() }
            for i in 0..<2 {
                #expect(downloads[i].terminationStatus == 0)
                let got = FileManager.default.contents(atPath: "\(dir)/big\(i)")
                #expect(got == expected, "download \(i): \(got?.count ?? -1) bytes of \(expected.count)")
            }
            #expect(forward.stdout.components(separatedBy: "Handling connection for \(port)").count - 1 == 5, "\(forward.stdout)")
            #expect(forward.process.isRunning, "\(forward.stderr)")
            // kubectl killed: it goes, and so does every connection serve made for it.
            forward.stop(SIGINT)
            #expect(forward.process.terminationReason == .exit && forward.process.terminationStatus == 0, "\(forward.stderr)")
            #expect(waitUntil(10) { Self.podConnections(serve) == 0 }, "connections left: \(Self.podConnections(serve))")
            // serve goes on serving port-forwards.
            let again = try Forward(serve, ["pod/web", ":80"])
            let second = try #require(again.localPort(), "\(again.stdout) \(again.stderr)")
            #expect(try Self.curl("http://127.0.0.1:\(second)/").stdout == "hello-from-the-pod\n")
            // kubectl killed outright while a client holds a connection open (httpd waits for its
            // request): serve's connection in the pod goes too.
            let slow = Process()
            slow.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            slow.arguments = ["-c", "import socket,time; s=socket.create_connection(('127.0.0.1', \(second))); time.sleep(60)"]
            try slow.run()
            defer {
                if slow.isRunning { kill(slow.processIdentifier, SIGKILL) }
                slow.waitUntilExit()
            }
            #expect(waitUntil(10) { Self.podConnections(serve) == 1 }, "connections: \(Self.podConnections(serve))")
            again.stop(SIGKILL)
            #expect(waitUntil(10) { Self.podConnections(serve) == 0 }, "connections left: \(Self.podConnections(serve))")
        }
    }

    /// kubectl's fallback transport, forced: `POST …/portforward` upgraded to SPDY/3.1 itself.
    @Test func theSPDYUpgradeForwardsToo() throws {
        try Self.withServedPod { serve, dir in
            let forward = try Forward(serve, ["pod/web", ":80"], environment: ["KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"])
            let port = try #require(forward.localPort(), "\(forward.stdout) \(forward.stderr)")
            let r = try Self.curl("http://127.0.0.1:\(port)/")
            #expect(r.status == 0 && r.stdout == "hello-from-the-pod\n", "\(r) \(forward.stderr)")
            let big = try Self.curl("http://127.0.0.1:\(port)/big", to: dir + "/big")
            #expect(big.status == 0 && FileManager.default.contents(atPath: dir + "/big") == Data((1...Self.bigLines).map { "\($0)\n" }.joined().utf8))
            forward.stop(SIGINT)
            #expect(forward.process.terminationStatus == 0, "\(forward.stderr)")
            #expect(waitUntil(10) { Self.podConnections(serve) == 0 }, "connections left: \(Self.podConnections(serve))")
        }
    }

    @Test func aPortNobodyListensOnGivesTheKubeletsError() throws {
        try Self.withServedPod { serve, _ in
            let uid = try serve.kubectl(["get", "pod", "web", "-o", "jsonpath={.metadata.uid}"]).stdout
            let forward = try Forward(serve, ["pod/web", ":81"])
            let port = try #require(forward.localPort(), "\(forward.stdout) \(forward.stderr)")
            let r = try Self.curl("http://127.0.0.1:\(port)/")
            #expect(r.status != 0)
            // kubectl prints the node's error from the error stream, then gives up the connection.
            let message = "an error occurred forwarding \(port) -> 81: error forwarding port 81 to pod sandbox-\(uid), uid : "
                + "failed to connect to localhost:81 inside namespace \\\"sandbox-\(uid)\\\", IPv4: dial tcp4 127.0.0.1:81: connect: connection refused"
            #expect(waitUntil(10) { forward.stderr.contains(message) }, "\(forward.stderr)")
            // Asked without any upgrade: the API server's refusal.
            let plain = try serve.kubectl(["get", "--raw", "/api/v1/namespaces/default/pods/web/portforward"])
            #expect(plain.status == 1 && plain.stderr == "Error from server (BadRequest): Upgrade request required\n", "\(plain)")
        }
    }

    @Test func aMissingPodIsRefusedAlikeOverWebSocketAndSPDY() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        try #require(serve.ready(), "serve did not start: \(serve.stderr)")
        let r = try serve.kubectl(["port-forward", "pod/nope", ":80"])
        #expect(r.status == 1)
        #expect(r.stderr == "Error from server (NotFound): pods \"nope\" not found\n", "\(r.stderr)")
        // Below kubectl's own check: both transports it tries answer with the same Status.
        let config = try String(contentsOfFile: serve.root + "/kubeconfig", encoding: .utf8)
        let server = try #require(config.firstMatch(of: /server: (\S+)/)).1
        let token = try String(contentsOfFile: serve.root + "/pki/token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let url = "\(server)/api/v1/namespaces/default/pods/nope/portforward"
        let common = ["-sk", "--max-time", "10", "-H", "Authorization: Bearer \(token)", "-H", "Connection: Upgrade"]
        let websocket = try Tandem.exec("/usr/bin/curl", common + ["-H", "Upgrade: websocket", "-H", "Sec-WebSocket-Version: 13",
                                                                   "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                                                                   "-H", "Sec-WebSocket-Protocol: SPDY/3.1+portforward.k8s.io", url])
        let spdy = try Tandem.exec("/usr/bin/curl", common + ["-X", "POST", "-H", "Upgrade: SPDY/3.1",
                                                              "-H", "X-Stream-Protocol-Version: portforward.k8s.io", url])
        #expect(websocket.stdout.contains(#""reason":"NotFound""#) && websocket.stdout.contains(#"pods \"nope\" not found"#), "\(websocket)")
        func status(_ body: String) -> NSDictionary? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? NSDictionary }
        #expect(status(spdy.stdout) != nil && status(spdy.stdout) == status(websocket.stdout), "\(spdy.stdout)")
    }
}
