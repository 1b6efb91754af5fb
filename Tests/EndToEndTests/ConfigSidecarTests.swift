import Foundation
import KubeAPI
import Node
import Testing

/// `tandem sidecar config` through the binary: real files, volumes updated with the kubelet's
/// AtomicWriter, real HTTP to a stand-in MinIO (Python's http.server), real signals.
@Suite(.serialized) struct ConfigSidecarTests {
    static let tenant = """
        apiVersion: minio.min.io/v2
        kind: Tenant
        metadata: {name: myminio, namespace: test-tenant}
        spec:
          configuration: {name: myminio-env-configuration}
          pools: [{servers: 4, volumesPerServer: 1}]
          subPath: /data
          env: [{name: TEST, value: value}]

        """
    static let credentials = "export MINIO_ROOT_USER=\"minio\"\nexport MINIO_ROOT_PASSWORD=\"minio123\"\n"

    /// A Tenant ConfigMap volume and a Secret volume laid out by the kubelet's AtomicWriter, and
    /// an output directory; all removed by `cleanup`.
    final class Volumes {
        let dir: String
        var tenantDir: String { dir + "/tenant" }
        var secretDir: String { dir + "/secret" }
        var outDir: String { dir + "/out" }
        var output: String { outDir + "/config.env" }
        var tenantFile: String { tenantDir + "/tenant.yaml" }

        init(tenant: String = ConfigSidecarTests.tenant, configEnv: String? = ConfigSidecarTests.credentials) throws {
            dir = try Tandem.tempDir("cfgsc-e2e")
            for d in [tenantDir, secretDir, outDir] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
            try setTenant(tenant)
            try setSecret(configEnv)
        }

        func setTenant(_ yaml: String) throws {
            try AtomicWriter(targetDir: tenantDir).write(["tenant.yaml": FileProjection(data: Array(yaml.utf8), mode: 0o644)])
        }

        func setSecret(_ configEnv: String?) throws {
            try AtomicWriter(targetDir: secretDir).write(configEnv.map { ["config.env": FileProjection(data: Array($0.utf8), mode: 0o644)] } ?? [:])
        }

        var args: [String] { ["--tenant-file", tenantFile, "--secret-dir", secretDir, "--output", output] }
        var outputText: String? { try? String(contentsOfFile: output, encoding: .utf8) }

        func cleanup() { try? FileManager.default.removeItem(atPath: dir) }
    }

    static func sidecar(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try Tandem.exec(Tandem.binary, ["sidecar", "config"] + args)
    }

    // MARK: - validate

    @Test func validateWritesMinIOsFileWithMode0644AndNothingElse() throws {
        let v = try Volumes()
        defer { v.cleanup() }
        let r = try Self.sidecar(["validate", "--tenant", "myminio"] + v.args)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(v.outputText == """
            export MINIO_ARGS="https://myminio-ss-0-{0...3}.myminio-hl.test-tenant.svc.cluster.local/export/data"
            export MINIO_PROMETHEUS_JOB_ID="minio-job"
            export MINIO_ROOT_PASSWORD="minio123"
            export MINIO_ROOT_USER="minio"
            export MINIO_SERVER_URL="https://minio.test-tenant.svc.cluster.local:443"
            export MINIO_UPDATE="on"
            export MINIO_UPDATE_MINISIGN_PUBKEY="RWTx5Zr1tiHQLwG9keckT0c45M3AGeHD6IvimQHpyRywVWGbP1aVSGav"
            export TEST="value"

            """)
        #expect((try FileManager.default.attributesOfItem(atPath: v.output)[.posixPermissions] as? Int) == 0o644)
        #expect(try FileManager.default.contentsOfDirectory(atPath: v.outDir) == ["config.env"], "no temporary file may stay")
        // MinIO's alias `v` and CLUSTER_DOMAIN from the environment.
        let alias = try Tandem.exec("/usr/bin/env", ["CLUSTER_DOMAIN=example.org", Tandem.binary, "sidecar", "config", "v", "--tenant", "myminio"] + v.args)
        #expect(alias.status == 0)
        #expect(v.outputText?.contains("https://minio.test-tenant.svc.example.org:443") == true)
    }

    @Test func validateWithoutRootPasswordExits1AndLeavesTheOldFile() throws {
        let v = try Volumes(configEnv: "export MINIO_ROOT_USER=\"minio\"\nexport MINIO_ROOT_PASSWORD_TYPO=\"x\"\n")
        defer { v.cleanup() }
        try "previous\n".write(toFile: v.output, atomically: false, encoding: .utf8)
        let r = try Self.sidecar(["validate", "--tenant", "myminio"] + v.args)
        #expect(r.status == 1)
        #expect(r.stderr.contains("Missing root credentials in the configuration.\n"))
        #expect(r.stderr.contains("MinIO won't start"))
        #expect(v.outputText == "previous\n")
        // A Secret with no config.env key at all is the same case.
        try v.setSecret(nil)
        #expect(try Self.sidecar(["validate", "--tenant", "myminio"] + v.args).status == 1)
    }

    /// Each bad input: a one-line reason, exit 1 or 2, never a crash, never a touched output.
    @Test func badInputIsAClearErrorAndNeverAPartialFile() throws {
        let v = try Volumes()
        defer { v.cleanup() }
        try "previous\n".write(toFile: v.output, atomically: false, encoding: .utf8)
        func expectFailure(_ args: [String], status: Int32, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let r = try Self.sidecar(args)
            #expect(r.status == status, "\(r.stderr)", sourceLocation: sourceLocation)
            #expect(r.stderr.contains(message), "\(r.stderr)", sourceLocation: sourceLocation)
            #expect(v.outputText == "previous\n", sourceLocation: sourceLocation)
            #expect(try FileManager.default.contentsOfDirectory(atPath: v.outDir) == ["config.env"], sourceLocation: sourceLocation)
        }
        // MinIO's own required flags of `sidecar`.
        try expectFailure(["sidecar", "--config-name", "x"] + v.args, status: 1, "Must pass --tenant flag")
        try expectFailure(["sidecar", "--tenant", "myminio"] + v.args, status: 1, "Must pass --config-name flag")
        try expectFailure(["validate", "--tenant", "other"] + v.args, status: 2, "tenants.minio.min.io \"other\" not found")
        try expectFailure(["validate", "--tenant", "myminio", "--tenant-file", v.dir] + v.args.dropFirst(2), status: 2,
                          "\(v.dir): cannot read the Tenant file: Is a directory")
        try expectFailure(["validate", "--tenant", "myminio", "--tenant-file", v.dir + "/none.yaml"] + v.args.dropFirst(2), status: 2,
                          "\(v.dir)/none.yaml: cannot read the Tenant file: No such file or directory")
        try expectFailure(["validate", "--tenant", "myminio", "--secret-dir", v.dir + "/none", "--output", v.output, "--tenant-file", v.tenantFile],
                          status: 2, "\(v.dir)/none: the configuration Secret directory does not exist")
        try v.setTenant("apiVersion: minio.min.io/v2\nkind: Tenant\nmetadata: {name: myminio}\nspec: {pools: [{servers: [4]}]}\n")
        try expectFailure(["validate", "--tenant", "myminio"] + v.args, status: 2, "document 1: spec.pools[0].servers: expected Int32")
        try v.setTenant("apiVersion: minio.min.io/v2\nkind: Tenant\nmetadata: {name: myminio\n")
        try expectFailure(["validate", "--tenant", "myminio"] + v.args, status: 2, "\(v.tenantFile): malformed YAML")
        try v.setTenant(Self.tenant)
        try v.setSecret(Self.credentials + "export MINIO_BROWSER\n")
        try expectFailure(["validate", "--tenant", "myminio"] + v.args, status: 2, "\(v.secretDir)/config.env:3: malformed line")
        try v.setSecret(Self.credentials)
        try v.setTenant(Self.tenant + "  requestAutoCert: false\n" + "  features: {domains: {console: \"a\\nexport MINIO_ROOT_USER=evil\"}}\n")
        try expectFailure(["validate", "--tenant", "myminio"] + v.args, status: 2, "MINIO_BROWSER_REDIRECT_URL contains a line break")
        // An output that cannot be written is fatal (MinIO only logs it and lets MinIO start).
        try v.setTenant(Self.tenant)
        try expectFailure(["validate", "--tenant", "myminio", "--tenant-file", v.tenantFile, "--secret-dir", v.secretDir, "--output", v.dir + "/missing/config.env"],
                          status: 1, "\(v.dir)/missing/config.env: cannot create a temporary file: No such file or directory")
        try expectFailure(["watch", "--tenant", "myminio", "--config-name", "c", "--on-change-signal", "HUP"] + v.args, status: 2,
                          "--on-change-signal needs --on-change-process")
    }

    // MARK: - watch

    @Test func watchFollowsAtomicWriterSwapsNotifiesAndExitsWhenCredentialsGo() throws {
        let v = try Volumes()
        defer { v.cleanup() }
        let minio = try StandIn(mode: "answer")
        defer { minio.stop() }
        let hupTarget = try HUPTarget()
        defer { hupTarget.stop() }
        let watch = try WatchProcess(["--tenant", "myminio", "--config-name", "myminio-env-configuration",
                                      "--probe-url", "http://127.0.0.1:\(minio.port)/minio/health/live",
                                      "--on-change-url", "http://127.0.0.1:\(minio.port)/-/reload",
                                      "--on-change-signal", "HUP", "--on-change-process", hupTarget.name] + v.args)
        defer { watch.stop() }
        #expect(watch.readyPort != nil, "\(watch.stderr)")
        #expect(v.outputText?.contains("MINIO_ROOT_PASSWORD=\"minio123\"") == true)

        // A Secret update as the kubelet makes it: one `..data` rename.
        try v.setSecret(Self.credentials.replacingOccurrences(of: "minio123", with: "rotated\"quote"))
        #expect(waitUntil { v.outputText?.contains("export MINIO_ROOT_PASSWORD='rotated\"quote'\n") == true }, "\(watch.stderr)")
        #expect(waitUntil { minio.requests.contains("POST /-/reload") }, "\(watch.stderr)")
        #expect(waitUntil { hupTarget.hangups >= 1 }, "\(watch.stderr)")
        // A Tenant update: a second pool changes MINIO_ARGS.
        try v.setTenant(Self.tenant.replacingOccurrences(of: "pools: [{servers: 4, volumesPerServer: 1}]",
                                                         with: "pools: [{servers: 4, volumesPerServer: 1}, {servers: 2, volumesPerServer: 1}]"))
        #expect(waitUntil { v.outputText?.contains("https://myminio-ss-1-{0...1}.myminio-hl.test-tenant.svc.cluster.local/export/data\"") == true })
        // A broken Tenant mid-update keeps the last good file and the sidecar running.
        let good = v.outputText
        try v.setTenant("apiVersion: minio.min.io/v2\nkind: Tenant\nmetadata: {name: [\n")
        #expect(waitUntil { watch.stderr.contains("keeping the previous") })
        #expect(v.outputText == good)
        #expect(watch.isRunning)
        try v.setTenant(Self.tenant)
        #expect(waitUntil { v.outputText?.contains("ss-1") == false })
        // The credentials disappear: MinIO's sidecar exits 1.
        try v.setSecret("export MINIO_ROOT_USER=\"minio\"\n")
        #expect(watch.waitForExit(seconds: 10) == 1)
        #expect(watch.stderr.contains("Missing root credentials in the configuration."))
        #expect(v.outputText?.contains("MINIO_ROOT_PASSWORD") == true, "the last good file stays")
        #expect(try FileManager.default.contentsOfDirectory(atPath: v.outDir) == ["config.env"])
    }

    @Test func watchAlsoFollowsFilesRewrittenInPlaceAndStopsCleanlyOnSIGTERM() throws {
        let v = try Volumes()
        defer { v.cleanup() }
        // Plain files, no AtomicWriter: the Secret's config.env replaced in place.
        try FileManager.default.removeItem(atPath: v.secretDir)
        try FileManager.default.createDirectory(atPath: v.secretDir, withIntermediateDirectories: true)
        try Self.credentials.write(toFile: v.secretDir + "/config.env", atomically: false, encoding: .utf8)
        let watch = try WatchProcess(["sidecar", "--tenant", "myminio", "--config-name", "c"] + v.args, subcommand: nil)
        defer { watch.stop() }
        #expect(watch.readyPort != nil)
        try (Self.credentials + "export MINIO_BROWSER=\"off\"\n").write(toFile: v.secretDir + "/config.env", atomically: false, encoding: .utf8)
        #expect(waitUntil { v.outputText?.contains("export MINIO_BROWSER=\"off\"") == true }, "\(watch.stderr)")
        kill(watch.process.processIdentifier, SIGTERM)
        #expect(watch.waitForExit(seconds: 10) == 0, "\(watch.stderr)")
    }

    @Test func readyAnswersOnAnyHTTPResponseAndFailsWithinTheTimeout() throws {
        let v = try Volumes()
        defer { v.cleanup() }
        let minio = try StandIn(mode: "answer")
        defer { minio.stop() }
        let hanging = try StandIn(mode: "hang")
        defer { hanging.stop() }
        for (target, expected) in [(minio.port, 200), (hanging.port, 500)] {
            let watch = try WatchProcess(["--tenant", "myminio", "--config-name", "c", "--probe-url", "http://127.0.0.1:\(target)/minio/health/live"] + v.args)
            defer { watch.stop() }
            let port = try #require(watch.readyPort, "\(watch.stderr)")
            let start = Date()
            let r = try Tandem.exec("/usr/bin/python3", ["-c", Self.getScript, "http://127.0.0.1:\(port)/ready"])
            let elapsed = Date().timeIntervalSince(start)
            #expect(r.stdout.hasPrefix("\(expected) "), "\(r.stdout) \(r.stderr)")
            if expected == 200 {
                // MinIO answered 503 to HEAD: still ready, the status quoted as Go prints it.
                #expect(r.stdout == "200 Readiness probe succeeded with HTTP status  503\n")
                #expect(minio.requests.contains("HEAD /minio/health/live"))
            } else {
                #expect(r.stdout.contains("HTTP request failed:") && r.stdout.contains("timeout"), "\(r.stdout)")
                #expect(elapsed >= 0.45 && elapsed < 2.5, "answered after \(elapsed) s")
            }
        }
        // Nothing listening: refused at once.
        hanging.stop()
        let watch = try WatchProcess(["--tenant", "myminio", "--config-name", "c", "--probe-url", "http://127.0.0.1:\(hanging.port)/"] + v.args)
        defer { watch.stop() }
        let port = try #require(watch.readyPort)
        let r = try Tandem.exec("/usr/bin/python3", ["-c", Self.getScript, "http://127.0.0.1:\(port)/ready"])
        #expect(r.stdout.hasPrefix("500 HTTP request failed:") && r.stdout.contains("Connection refused"), "\(r.stdout)")
    }

    /// GET a URL, print "STATUS BODY" whatever the status.
    static let getScript = """
        import sys, urllib.request, urllib.error
        try:
            r = urllib.request.urlopen(sys.argv[1], timeout=5); sys.stdout.write("%d %s" % (r.status, r.read().decode()))
        except urllib.error.HTTPError as e:
            sys.stdout.write("%d %s" % (e.code, e.read().decode()))
        """

    // MARK: - The example, in a pod

    @Test func examplePodStartsMinIOWithTheRenderedFileAndIsReady() throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples/minio-sidecar.yaml").path
        let run = try BackgroundRun(files: [example])
        defer { run.cleanup() }
        #expect(run.wait { run.podRunningAndReady("myminio-pool-0-0") }, "pod never Running and Ready")
        let ip = try #require(run.pod("myminio-pool-0-0")?["status"]?["podIP"]?.stringValue)
        #expect(httpGet(ip, port: 4444, path: "/ready")?.hasPrefix("Readiness probe succeeded with HTTP status ") == true)
        let log = run.log(pod: "myminio-pool-0-0", container: "minio")
        #expect(log.contains("minio: MINIO_ARGS=http://myminio-pool-0-{0...3}.myminio-hl.default.svc.cluster.local/export{0...1}"))
        #expect(log.contains("minio: root user minio, storage class EC:2"))
        let r = run.stop()
        #expect(r.status == 0, "\(r.stderr.suffix(500))")
        #expect(r.pod("myminio-pool-0-0")?.containerStatus("validate-arguments")?.terminated?["exitCode"]?.int == 0)
    }

    @Test func examplePodWithoutCredentialsNeverStartsMinIO() throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples/minio-sidecar.yaml").path
        let yaml = try String(contentsOfFile: example, encoding: .utf8).replacingOccurrences(of: "    export MINIO_ROOT_PASSWORD=\"minio123\"\n", with: "")
        #expect(!yaml.contains("MINIO_ROOT_PASSWORD"))
        let r = try Tandem.run(yaml, timeout: "6s", keepRoot: true)
        defer { Tandem.cleanup(r) }
        #expect(r.status == 1)
        let pod = try #require(r.pod("myminio-pool-0-0"))
        #expect(pod.containerStatus("validate-arguments")?.terminated?["exitCode"]?.int == 1)
        #expect(pod.containerStatus("minio")?["state"]?["running"] == nil)
        #expect(r.log(pod: "myminio-pool-0-0", container: "validate-arguments").contains("Missing root credentials in the configuration."))
        #expect(r.log(pod: "myminio-pool-0-0", container: "minio").isEmpty)
    }
}

/// A background `tandem sidecar config watch …` on an ephemeral `/ready` port.
final class WatchProcess {
    let process = Process()
    let errFile: String

    init(_ args: [String], subcommand: String? = "watch") throws {
        errFile = try Tandem.tempDir("cfgsc-e2e-watch") + "/err"
        FileManager.default.createFile(atPath: errFile, contents: nil)
        process.executableURL = URL(fileURLWithPath: Tandem.binary)
        process.arguments = ["sidecar", "config"] + (subcommand.map { [$0] } ?? []) + args + ["--ready-address", "127.0.0.1:0"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errFile))
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var stderr: String { (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.isRunning }

    /// The port it printed once serving (nil if it did not within 10 s).
    lazy var readyPort: Int? = {
        var port: Int?
        _ = waitUntil {
            guard let r = stderr.range(of: "serving GET /ready on 127.0.0.1:") else { return false }
            port = Int(stderr[r.upperBound...].prefix { $0.isNumber })
            return true
        }
        return port
    }()

    func waitForExit(seconds: TimeInterval) -> Int32? {
        guard waitUntil(seconds, { !process.isRunning }) else { return nil }
        return process.terminationStatus
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: (errFile as NSString).deletingLastPathComponent)
    }
}

/// A stand-in MinIO on an ephemeral loopback port: `answer` replies 503 to HEAD and 200 to POST
/// and records each request line; `hang` accepts and never answers.
final class StandIn {
    let process = Process()
    let dir: String
    private(set) var port = 0

    static let script = """
        import http.server, socketserver, sys, time
        mode, log = sys.argv[1], sys.argv[2]
        class H(http.server.BaseHTTPRequestHandler):
            def record(self):
                with open(log, "a") as f: f.write("%s %s\\n" % (self.command, self.path))
            def do_HEAD(self):
                self.record()
                if mode == "hang": time.sleep(60)
                self.send_response(503); self.end_headers()
            do_GET = do_HEAD
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0"))); self.record()
                self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
            def log_message(self, *a): pass
        class S(socketserver.ThreadingMixIn, http.server.HTTPServer): daemon_threads = True
        s = S(("127.0.0.1", 0), H)
        print(s.server_address[1], flush=True)
        s.serve_forever()
        """

    init(mode: String) throws {
        dir = try Tandem.tempDir("cfgsc-e2e-minio")
        FileManager.default.createFile(atPath: dir + "/requests", contents: nil)
        let out = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", Self.script, mode, dir + "/requests"]
        process.standardOutput = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    var requests: String { (try? String(contentsOfFile: dir + "/requests", encoding: .utf8)) ?? "" }

    /// SIGKILL: children of the test runner inherit its blocked signal mask, SIGTERM included.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: dir)
    }
}

/// A process with a unique name (a symlink to python3 names the process) that counts SIGHUPs.
final class HUPTarget {
    let process = Process()
    let dir: String
    let name = "cfgsc-hup-\(UUID().uuidString.prefix(5).lowercased())"

    init() throws {
        dir = try Tandem.tempDir("cfgsc-e2e-hup")
        try FileManager.default.createSymbolicLink(atPath: dir + "/" + name, withDestinationPath: "/usr/bin/python3")
        process.executableURL = URL(fileURLWithPath: dir + "/" + name)
        process.arguments = ["-c", """
            import signal, sys, time
            def hup(*_):
                with open(sys.argv[1], "a") as f: f.write("HUP\\n")
            signal.signal(signal.SIGHUP, hup)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGHUP])  # the test runner blocks it
            open(sys.argv[1] + ".ready", "w").close()
            while True: time.sleep(1)
            """, dir + "/hups"]
        try process.run()
        _ = waitUntil { FileManager.default.fileExists(atPath: self.dir + "/hups.ready") }
    }

    var hangups: Int { ((try? String(contentsOfFile: dir + "/hups", encoding: .utf8)) ?? "").split(separator: "\n").count }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: dir)
    }
}
