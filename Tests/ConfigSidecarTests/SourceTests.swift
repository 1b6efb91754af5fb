import Foundation
import Testing
@testable import ConfigSidecar

/// Runs a program to completion and returns its standard output.
func run(_ path: String, _ args: [String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

/// A fresh directory, removed when `body` returns or throws.
func withTempDir<T>(_ body: (String) throws -> T) throws -> T {
    let dir = NSTemporaryDirectory() + "cfgsc-unit-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try body(dir)
}

struct SourceTests {
    static let tenant = """
        apiVersion: minio.min.io/v2
        kind: Tenant
        metadata: {name: myminio}
        spec: {requestAutoCert: false, pools: [{servers: 1, volumesPerServer: 1}]}

        """

    func source(_ dir: String, name: String? = "myminio") -> FileSource {
        FileSource(tenantFile: dir + "/tenant/tenant.yaml", secretDir: dir + "/secret", tenantName: name,
                   defaultNamespace: "minio-operator", clusterDomain: "cluster.local")
    }

    func lay(_ dir: String, tenant: String? = SourceTests.tenant, seed: String? = "export MINIO_ROOT_USER=u\nexport MINIO_ROOT_PASSWORD=p\n") throws {
        try FileManager.default.createDirectory(atPath: dir + "/tenant", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/secret", withIntermediateDirectories: true)
        if let tenant { try tenant.write(toFile: dir + "/tenant/tenant.yaml", atomically: false, encoding: .utf8) }
        if let seed { try seed.write(toFile: dir + "/secret/config.env", atomically: false, encoding: .utf8) }
    }

    @Test func loadsTheNamedTenantAmongDocumentsWithTheDefaultNamespace() throws {
        try withTempDir { dir in
            try lay(dir, tenant: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n" + SourceTests.tenant
                    + "---\napiVersion: minio.min.io/v2\nkind: Tenant\nmetadata: {name: other}\nspec: {}\n")
            let c = try source(dir).load()
            #expect(c.content.contains("export MINIO_SERVER_URL=\"http://minio.minio-operator.svc.cluster.local:80\"\n"))
            #expect(c.content.contains("export MINIO_ARGS=\"/export\"\n"))
            #expect(throws: SourceError("\(dir)/tenant/tenant.yaml: 2 Tenants in the file; name one with --tenant")) { try source(dir, name: nil).load() }
        }
    }

    @Test func badSourcesAreClearErrors() throws {
        try withTempDir { dir in
            try lay(dir, tenant: nil)
            let file = dir + "/tenant/tenant.yaml"
            #expect(throws: SourceError("\(file): cannot read the Tenant file: No such file or directory")) { try source(dir).load() }
            try "kind: Tenant\napiVersion: minio.min.io/v2\nmetadata: {name: myminio\n".write(toFile: file, atomically: false, encoding: .utf8)
            #expect { try source(dir).load() } throws: { ($0 as? SourceError)?.message.hasPrefix("\(file): malformed YAML:") == true }
            try "kind: Tenant\napiVersion: minio.min.io/v2\nmetadata: {name: myminio}\nspec: {pools: [{servers: four}]}\n".write(toFile: file, atomically: false, encoding: .utf8)
            #expect(throws: SourceError("\(file): document 1: spec.pools[0].servers: expected Int32")) { try source(dir).load() }
            try "kind: Tenant\napiVersion: minio.min.io/v2\nmetadata: {name: myminio}\n".write(toFile: file, atomically: false, encoding: .utf8)
            #expect(throws: SourceError("\(file): document 1: spec: Required value")) { try source(dir).load() }
            try "kind: Tenant\napiVersion: v1\nmetadata: {name: myminio}\nspec: {}\n".write(toFile: file, atomically: false, encoding: .utf8)
            #expect(throws: SourceError("\(file): document 1: apiVersion \"v1\" is not minio.min.io/v2")) { try source(dir).load() }
            try "- a list\n".write(toFile: file, atomically: false, encoding: .utf8)
            #expect(throws: SourceError("\(file): document 1 is not a mapping")) { try source(dir).load() }
            try Data([0xff, 0xfe]).write(to: URL(fileURLWithPath: file))
            #expect(throws: SourceError("\(file): the Tenant file is not UTF-8 text")) { try source(dir).load() }
            try SourceTests.tenant.write(toFile: file, atomically: false, encoding: .utf8)
            try FileManager.default.removeItem(atPath: dir + "/secret")
            #expect(throws: SourceError("\(dir)/secret: the configuration Secret directory does not exist")) { try source(dir).load() }
        }
    }

    /// A Secret without a config.env key is a Secret without credentials, not an error.
    @Test func secretWithoutTheKeyHasNoCredentials() throws {
        try withTempDir { dir in
            try lay(dir, seed: nil)
            #expect(!(try source(dir).load().credentialsFound))
        }
    }

    @Test func atomicFileReplacesWholeWithModeAndLeavesNothingOnFailure() throws {
        try withTempDir { dir in
            let path = dir + "/config.env"
            try AtomicFile.write("one\n", to: path)
            try AtomicFile.write("two\n", to: path)
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "two\n")
            let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? 0
            #expect(mode == 0o644)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["config.env"])
            #expect(throws: SourceError("\(dir)/missing/config.env: cannot create a temporary file: No such file or directory")) {
                try AtomicFile.write("x", to: dir + "/missing/config.env")
            }
            // The target is a directory: rename fails, the temporary file goes, the directory stays.
            try FileManager.default.createDirectory(atPath: dir + "/d", withIntermediateDirectories: false)
            #expect(throws: SourceError.self) { try AtomicFile.write("x", to: dir + "/d") }
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["config.env", "d"])
        }
    }

    /// The kubelet's swap (`..data_tmp` renamed over `..data`) arrives as `IN_MOVED_TO "..data"`.
    @Test func inotifySeesTheDataSymlinkSwap() async throws {
        let dir = NSTemporaryDirectory() + "cfgsc-unit-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir + "/..v1", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let watcher = try InotifyWatcher(directories: [dir])
        defer { watcher.stop() }
        try FileManager.default.createSymbolicLink(atPath: dir + "/..data_tmp", withDestinationPath: "..v1")
        #expect(rename(dir + "/..data_tmp", dir + "/..data") == 0)
        // Never hang: the sequence ends after 5 s whatever arrived.
        let timeout = Task {
            try await Task.sleep(for: .seconds(5))
            watcher.stop()
        }
        defer { timeout.cancel() }
        var seen: [InotifyWatcher.Event] = []
        for await batch in watcher.batches {
            seen += batch.events
            if seen.contains(where: { $0.name == "..data" }) { break }
        }
        #expect(seen.contains { $0.name == "..data" && $0.directory == dir && $0.mask & UInt32(IN_MOVED_TO) != 0 })
        #expect(throws: SourceError("\(dir)/nope: cannot watch: No such file or directory")) { try InotifyWatcher(directories: [dir + "/nope"]) }
    }

    @Test func signalNamesAndAddresses() {
        #expect(ChangeNotifier.parseSignal("HUP") == SIGHUP)
        #expect(ChangeNotifier.parseSignal("sigusr1") == SIGUSR1)
        #expect(ChangeNotifier.parseSignal("15") == SIGTERM)
        #expect(ChangeNotifier.parseSignal("BOGUS") == nil)
        #expect(ReadinessServer.parseAddress("0.0.0.0:4444")! == ("0.0.0.0", 4444))
        #expect(ReadinessServer.parseAddress("[::1]:0")! == ("::1", 0))
        #expect(ReadinessServer.parseAddress(":4444")! == ("0.0.0.0", 4444))
        #expect(ReadinessServer.parseAddress("4444") == nil)
    }
}
