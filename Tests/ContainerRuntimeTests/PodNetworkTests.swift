import Foundation
import Testing
@testable import ContainerRuntime
#if canImport(Glibc)
import Glibc
#endif

/// Real network namespaces, real CNI plugins. Each test uses its own bridge, a /24 inside
/// 10.88.0.0/16 (more specific than a running Tandem's /16 route, so they never clash), its own
/// netns prefix and its own state directory, and removes all of them at the end.
@Suite(.serialized) struct PodNetworkTests {
    struct Env {
        let config: PodNetworkConfig
        let root: String
        let gateway: String
    }

    static func makeEnv(third: Int) -> Env {
        let tag = String(UInt32.random(in: 0..<0xFFFFFF), radix: 16)
        let root = "/tmp/tandem-nettest-\(tag)"
        var config = PodNetworkConfig(stateDir: root + "/net")
        config.runDir = root + "/run"
        config.bridge = "tndt\(tag)"
        config.subnet = "10.88.\(third).0/24"
        config.netnsPrefix = "tndtest\(tag)-"
        config.networkName = "tndtest"
        return Env(config: config, root: root, gateway: "10.88.\(third).1")
    }

    static func destroy(_ env: Env) {
        // Synchronous (it runs in `defer`): Foundation's Process waits for its own pid only.
        let ip = Process()
        ip.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        ip.arguments = ["link", "delete", env.config.bridge]
        ip.standardError = FileHandle.nullDevice
        if (try? ip.run()) != nil { ip.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: env.root)
    }

    /// `setns` is not imported by Glibc's module map (it needs _GNU_SOURCE); look it up.
    static let setnsFn: @convention(c) (Int32, Int32) -> Int32 = {
        let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns")!
        return unsafeBitCast(sym, to: (@convention(c) (Int32, Int32) -> Int32).self)
    }()

    /// Opens a listening TCP socket on 0.0.0.0:`port` inside the namespace at `netnsPath`.
    /// A socket belongs to the namespace it was created in, so a throwaway thread enters the
    /// namespace, creates and binds it, and returns; the socket stays in the pod's namespace.
    static func listen(inNetns netnsPath: String, port: UInt16) async throws -> Int32 {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Int32, Error>) in
            Thread {
                let original = open("/proc/thread-self/ns/net", O_RDONLY)
                let target = open(netnsPath, O_RDONLY)
                defer { close(target); close(original) }
                guard setnsFn(target, 0x4000_0000) == 0 else {
                    c.resume(throwing: HostCommandError(description: "setns: \(errno)")); return
                }
                defer { _ = setnsFn(original, 0x4000_0000) }
                let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var addr = sockaddr_in()
                addr.sin_family = sa_family_t(AF_INET)
                addr.sin_port = port.bigEndian
                addr.sin_addr.s_addr = 0
                let b = withUnsafePointer(to: &addr) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                guard b == 0, Glibc.listen(s, 4) == 0 else {
                    let e = errno
                    close(s)
                    c.resume(throwing: HostCommandError(description: "bind/listen :\(port): \(String(cString: strerror(e)))")); return
                }
                c.resume(returning: s)
            }.start()
        }
    }

    /// Connects from the host (Tandem's namespace) to `ip:port`, sends `message`; returns the fd.
    static func connect(to ip: String, port: UInt16, message: String) throws -> Int32 {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        inet_pton(AF_INET, ip, &addr.sin_addr)
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0 else {
            let e = errno
            close(s)
            throw HostCommandError(description: "connect \(ip):\(port): \(String(cString: strerror(e)))")
        }
        _ = message.withCString { send(s, $0, strlen($0), 0) }
        return s
    }

    /// Accepts one connection on `listener`; returns the peer's address and the bytes it sent.
    static func acceptOne(_ listener: Int32) throws -> (peer: String, data: String) {
        var tv = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var peer = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let conn = withUnsafeMutablePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(listener, $0, &len) }
        }
        guard conn >= 0 else { throw HostCommandError(description: "accept: \(String(cString: strerror(errno)))") }
        defer { close(conn) }
        setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buf = [UInt8](repeating: 0, count: 256)
        let n = recv(conn, &buf, buf.count, 0)
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        inet_ntop(AF_INET, &peer.sin_addr, &text, socklen_t(INET_ADDRSTRLEN))
        return (String(decoding: text.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self), n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : "")
    }

    static func inSubnet(_ ip: String, third: Int) -> Bool {
        let parts = ip.split(separator: ".").compactMap { Int($0) }
        return parts.count == 4 && parts[0] == 10 && parts[1] == 88 && parts[2] == third && (2...254).contains(parts[3])
    }

    @Test func twoPodsGetDistinctIPsListenOnPort80AndAreReachableFromTheHost() async throws {
        let env = Self.makeEnv(third: 251)
        defer { Self.destroy(env) }
        let network = PodNetwork(config: env.config)
        let uidA = UUID().uuidString.lowercased(), uidB = UUID().uuidString.lowercased()
        let a = try await network.setUp(podUID: uidA, podName: "a", namespace: "default")
        var b: PodSandboxNetwork?
        var listeners: [Int32] = []
        do {
            b = try await network.setUp(podUID: uidB, podName: "b", namespace: "default")
            let b = b!
            #expect(a.ip != b.ip)
            #expect(Self.inSubnet(a.ip, third: 251), "\(a.ip)")
            #expect(Self.inSubnet(b.ip, third: 251), "\(b.ip)")
            #expect(a.netnsPath == "/run/netns/\(a.netnsName)")
            #expect(a.netnsName == env.config.netnsPrefix + String(uidA.filter { $0 != "-" }.prefix(12)))
            #expect(FileManager.default.fileExists(atPath: a.netnsPath))
            #expect(a.setupDuration > .zero)
            print("network set-up: \(a.setupDuration), \(b.setupDuration)")

            // Both pods bind port 80: each has its own namespace.
            listeners.append(try await Self.listen(inNetns: a.netnsPath, port: 80))
            listeners.append(try await Self.listen(inNetns: b.netnsPath, port: 80))

            for (sandbox, listener) in zip([a, b], listeners) {
                let client = try Self.connect(to: sandbox.ip, port: 80, message: "hello \(sandbox.ip)")
                defer { close(client) }
                let got = try Self.acceptOne(listener)
                #expect(got.data == "hello \(sandbox.ip)")
                // The host reaches the pod through the bridge, from the gateway address.
                #expect(got.peer == env.gateway)
            }

            // The lease files of host-local live under stateDir.
            let leaseDir = env.config.runDir + "/ipam/tndtest"
            #expect(FileManager.default.fileExists(atPath: leaseDir + "/" + a.ip))
            #expect(FileManager.default.fileExists(atPath: leaseDir + "/" + b.ip))
        } catch {
            for l in listeners { close(l) }
            await network.tearDown(a, podUID: uidA)
            if let b { await network.tearDown(b, podUID: uidB) }
            throw error
        }
        for l in listeners { close(l) }
        await network.tearDown(a, podUID: uidA)
        await network.tearDown(b!, podUID: uidB)
        // Idempotent.
        await network.tearDown(a, podUID: uidA)

        let leaseDir = env.config.runDir + "/ipam/tndtest"
        #expect(!FileManager.default.fileExists(atPath: a.netnsPath))
        #expect(!FileManager.default.fileExists(atPath: b!.netnsPath))
        #expect(!FileManager.default.fileExists(atPath: leaseDir + "/" + a.ip))
        #expect(!FileManager.default.fileExists(atPath: leaseDir + "/" + b!.ip))
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: env.config.runDir + "/sandboxes")) ?? []).isEmpty)
    }

    /// Without the CNI plugins (`containernetworking-plugins` not installed) the sandbox fails with
    /// libcni's message, and the half-made namespace is gone.
    @Test func missingPluginsFailWithLibcnisMessageAndLeaveNothing() async throws {
        var env = Self.makeEnv(third: 250)
        defer { Self.destroy(env) }
        var config = env.config
        config.cniPath = env.root + "/no-plugins"
        env = Env(config: config, root: env.root, gateway: env.gateway)
        let network = PodNetwork(config: env.config)
        let uid = UUID().uuidString.lowercased()
        do {
            _ = try await network.setUp(podUID: uid, podName: "p", namespace: "default", usePool: false)
            Issue.record("set-up succeeded without plugins")
        } catch {
            #expect("\(error)".contains("failed to find plugin \"loopback\" in path [\(env.root)/no-plugins]"), "\(error)")
        }
        let name = await network.netnsName(podUID: uid)
        #expect(!FileManager.default.fileExists(atPath: "/run/netns/" + name))
        await network.shutdown()
    }

    @Test func cleanupStaleRemovesNamespacesAndLeasesOfAKilledTandem() async throws {
        let env = Self.makeEnv(third: 252)
        defer { Self.destroy(env) }
        let uid = UUID().uuidString.lowercased()
        // A first Tandem sets up a pod and "dies" (its actor is dropped without tear-down).
        var sandbox: PodSandboxNetwork
        do {
            let first = PodNetwork(config: env.config)
            sandbox = try await first.setUp(podUID: uid, podName: "p", namespace: "default")
        }
        let leaseFile = env.config.runDir + "/ipam/tndtest/" + sandbox.ip
        #expect(FileManager.default.fileExists(atPath: sandbox.netnsPath))
        // Its owner is gone: point the record at a PID that does not exist.
        let recordPath = env.config.runDir + "/sandboxes/" + sandbox.netnsName + ".json"
        let record = try #require(FileManager.default.contents(atPath: recordPath))
        let patched = String(decoding: record, as: UTF8.self).replacingOccurrences(of: "\"ownerPID\":\(getpid())", with: "\"ownerPID\":2147483000")
        try patched.write(toFile: recordPath, atomically: true, encoding: .utf8)
        #expect(FileManager.default.fileExists(atPath: leaseFile))

        let second = PodNetwork(config: env.config)
        await second.cleanupStale()
        #expect(!FileManager.default.fileExists(atPath: sandbox.netnsPath))
        #expect(!FileManager.default.fileExists(atPath: leaseFile))

        // Set-up on a namespace name that is still present re-creates it cleanly.
        sandbox = try await second.setUp(podUID: uid, podName: "p", namespace: "default")
        let again = try await second.setUp(podUID: uid, podName: "p", namespace: "default")
        #expect(FileManager.default.fileExists(atPath: again.netnsPath))
        // A live sandbox of this actor survives cleanupStale.
        await second.cleanupStale()
        #expect(FileManager.default.fileExists(atPath: again.netnsPath))
        await second.tearDown(again, podUID: uid)
        #expect(!FileManager.default.fileExists(atPath: again.netnsPath))
    }

    /// A killed `tandem serve`'s sandboxes stay for it while its root exists (its pods still run,
    /// and it adopts them when it starts again): another Tandem's clean-up leaves them; the serve
    /// on that root releases what it does not adopt. A record's temporary file that a kill cut
    /// short is removed once it is old.
    @Test func aKilledServesSandboxesAreLeftToItAndStaleTempFilesGo() async throws {
        let env = Self.makeEnv(third: 249)
        defer { Self.destroy(env) }
        let serveRoot = env.root + "/serve"
        try FileManager.default.createDirectory(atPath: serveRoot, withIntermediateDirectories: true)
        var serveConfig = env.config
        serveConfig.persistentRoot = serveRoot
        let uid = UUID().uuidString.lowercased()
        let sandbox = try await PodNetwork(config: serveConfig).setUp(podUID: uid, podName: "p", namespace: "default")
        let recordPath = env.config.runDir + "/sandboxes/" + sandbox.netnsName + ".json"
        let record = try #require(FileManager.default.contents(atPath: recordPath))
        let dead = String(decoding: record, as: UTF8.self).replacingOccurrences(of: "\"ownerPID\":\(getpid())", with: "\"ownerPID\":2147483000")
        try dead.write(toFile: recordPath, atomically: true, encoding: .utf8)
        let oldTemp = env.config.runDir + "/sandboxes/tndtest-old.json.tmp", newTemp = env.config.runDir + "/sandboxes/tndtest-new.json.tmp"
        for path in [oldTemp, newTemp] { try "{}".write(toFile: path, atomically: false, encoding: .utf8) }
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -120)], ofItemAtPath: oldTemp)

        // Another Tandem (a `tandem run`) cleans up while the serve is down.
        await PodNetwork(config: env.config).cleanupStale()
        #expect(FileManager.default.fileExists(atPath: sandbox.netnsPath), "another Tandem released a killed serve's sandbox")
        #expect(!FileManager.default.fileExists(atPath: oldTemp))
        #expect(FileManager.default.fileExists(atPath: newTemp), "a write under way lost its temporary file")

        // The serve on that root adopts what it keeps...
        let restarted = PodNetwork(config: serveConfig)
        await restarted.cleanupStale(keeping: [uid])
        #expect(await restarted.adopt(sandbox, podUID: uid))
        await restarted.tearDown(sandbox, podUID: uid)
        #expect(!FileManager.default.fileExists(atPath: sandbox.netnsPath))

        // ...and releases what it does not.
        let other = try await PodNetwork(config: serveConfig).setUp(podUID: UUID().uuidString.lowercased(), podName: "q", namespace: "default")
        let otherRecord = env.config.runDir + "/sandboxes/" + other.netnsName + ".json"
        let text = String(decoding: try #require(FileManager.default.contents(atPath: otherRecord)), as: UTF8.self)
        try text.replacingOccurrences(of: "\"ownerPID\":\(getpid())", with: "\"ownerPID\":2147483000").write(toFile: otherRecord, atomically: true, encoding: .utf8)
        await PodNetwork(config: serveConfig).cleanupStale()
        #expect(!FileManager.default.fileExists(atPath: other.netnsPath))
        unlink(newTemp)
    }

    /// The bridge plugin turns forwarding on; Tandem puts the host's setting back. Tested from
    /// `0` (set here, and the original restored after), the one value the plugin changes.
    @Test func hostForwardingIsLeftAsItWas() async throws {
        let env = Self.makeEnv(third: 253)
        let path = "/proc/sys/net/ipv4/ip_forward"
        let original = try String(contentsOfFile: path, encoding: .utf8)
        defer {
            try? original.write(toFile: path, atomically: false, encoding: .utf8)
            Self.destroy(env)
        }
        try "0\n".write(toFile: path, atomically: false, encoding: .utf8)
        let network = PodNetwork(config: env.config)
        let uid = UUID().uuidString.lowercased()
        let s = try await network.setUp(podUID: uid, podName: "p", namespace: "default")
        await network.tearDown(s, podUID: uid)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "0\n")
    }
}
