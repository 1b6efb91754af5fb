import Foundation
import Testing
@testable import Node
import KubeAPI
#if canImport(Glibc)
import Glibc
#endif

/// Real files in temporary directories under /tmp; real tmpfs mounts, always unmounted.
struct AtomicWriterTests {
    static func tempDir() throws -> String {
        let dir = "/tmp/tandem-voltest-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func readlink(_ path: String) -> String? { AtomicWriter.readlink(path) }

    static func mode(_ path: String) -> Int32 {
        var st = stat()
        stat(path, &st)
        return Int32(st.st_mode & 0o7777)
    }

    static func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    static func entries(_ dir: String) -> Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
    }

    @Test func firstWriteMakesLinksIntoATimestampedDataDir() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let w = AtomicWriter(targetDir: dir)
        try w.write([
            "a": FileProjection(data: Array("A".utf8), mode: 0o644),
            "nested/deep/b": FileProjection(data: Array("B".utf8), mode: 0o400),
        ])
        let ts = try #require(Self.readlink(dir + "/..data"))
        #expect(ts.range(of: #"^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\..+$"#, options: .regularExpression) != nil, "\(ts)")
        #expect(Self.mode(dir + "/" + ts) == 0o755)
        #expect(Self.readlink(dir + "/a") == "..data/a")
        // Nested paths: only the first element is linked.
        #expect(Self.readlink(dir + "/nested") == "..data/nested")
        #expect(Self.read(dir + "/a") == "A")
        #expect(Self.read(dir + "/nested/deep/b") == "B")
        #expect(Self.mode(dir + "/" + ts + "/a") == 0o644)
        #expect(Self.mode(dir + "/" + ts + "/nested/deep/b") == 0o400)
        #expect(Self.entries(dir) == ["..data", ts, "a", "nested"])
    }

    @Test func updateSwapsDataAndRemovesStaleFilesAndTheOldDir() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let w = AtomicWriter(targetDir: dir)
        try w.write(["a": .init(data: Array("1".utf8), mode: 0o644), "gone": .init(data: [1], mode: 0o644)])
        let old = try #require(Self.readlink(dir + "/..data"))
        try w.write(["a": .init(data: Array("2".utf8), mode: 0o644), "new": .init(data: Array("n".utf8), mode: 0o600)])
        let new = try #require(Self.readlink(dir + "/..data"))
        #expect(new != old)
        #expect(!FileManager.default.fileExists(atPath: dir + "/" + old))
        #expect(Self.read(dir + "/a") == "2")
        #expect(Self.read(dir + "/new") == "n")
        #expect(Self.mode(dir + "/" + new + "/new") == 0o600)
        #expect(Self.entries(dir) == ["..data", new, "a", "new"])
    }

    @Test func unchangedPayloadIsANoOp() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let w = AtomicWriter(targetDir: dir)
        let payload: [String: FileProjection] = ["a": .init(data: Array("same".utf8), mode: 0o644)]
        try w.write(payload)
        let first = Self.readlink(dir + "/..data")
        try w.write(payload)
        #expect(Self.readlink(dir + "/..data") == first)
        // A mode change alone is a change.
        try w.write(["a": .init(data: Array("same".utf8), mode: 0o600)])
        #expect(Self.readlink(dir + "/..data") != first)
    }

    @Test func invalidPathsAreRejected() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let w = AtomicWriter(targetDir: dir)
        for bad in ["/abs", "a/../b", "..", "..hidden", ""] {
            #expect(throws: VolumeError.self, "\(bad)") { try w.write([bad: .init(data: [], mode: 0o644)]) }
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/..data"))
    }
}

struct VolumeManagerTests {
    static func pod(_ json: String) throws -> Pod {
        try JSONDecoder().decode(Pod.self, from: Data(json.utf8))
    }

    static func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(json.utf8))
    }

    static func fsType(_ path: String) -> String? { Mounts.fsType(at: path) }

    static func podJSON(volumes: String, labels: String = #"{"app":"web"}"#, containers: String? = nil) -> String {
        """
        {"metadata":{"name":"p","namespace":"ns","uid":"1234-uid","labels":\(labels),"annotations":{"a":"x\\"y"}},
         "spec":{"containers":\(containers ?? #"[{"name":"c","resources":{"limits":{"cpu":"250m","memory":"64Mi"}}}]"#),
                 "volumes":\(volumes)}}
        """
    }

    let podDir = "/tmp/tandem-voltest-pod-" + UUID().uuidString.prefix(8)

    @Test func configMapItemsAndModes() async throws {
        defer { try? FileManager.default.removeItem(atPath: podDir) }
        let cm = try Self.decode(ConfigMap.self, #"{"metadata":{"name":"cfg"},"data":{"k1":"v1","k2":"v2","k3":"v3"},"binaryData":{"bin":"AAEC"}}"#)
        let pod = try Self.pod(Self.podJSON(volumes: """
            [{"name":"all","configMap":{"name":"cfg","defaultMode":384}},
             {"name":"some","configMap":{"name":"cfg","items":[{"key":"k1","path":"dir/one"},{"key":"k2","path":"two","mode":256}]}}]
            """))
        let vm = VolumeManager(podDir: podDir, pod: pod, sources: VolumeSources(configMaps: ["cfg": cm]))
        let volumes = try await vm.setUp()
        let all = try #require(volumes["all"]).hostPath
        #expect(all == podDir + "/volumes/kubernetes.io~configmap/all")
        #expect(Set(AtomicWriterTests.entries(all).filter { !$0.hasPrefix("..") }) == Set(["k1", "k2", "k3", "bin"]))
        #expect(AtomicWriterTests.mode(all + "/k1") == 0o600)
        #expect(FileManager.default.contents(atPath: all + "/bin").map([UInt8].init) == [0, 1, 2])
        let some = try #require(volumes["some"]).hostPath
        #expect(AtomicWriterTests.read(some + "/dir/one") == "v1")
        #expect(AtomicWriterTests.mode(some + "/dir/one") == 0o644)
        #expect(AtomicWriterTests.mode(some + "/two") == 0o400)
        #expect(!FileManager.default.fileExists(atPath: some + "/k3"))
        await vm.tearDown()
        #expect(!FileManager.default.fileExists(atPath: podDir + "/volumes"))
    }

    @Test func missingConfigMapIsAnErrorUnlessOptional() async throws {
        defer { try? FileManager.default.removeItem(atPath: podDir) }
        let pod = try Self.pod(Self.podJSON(volumes: #"[{"name":"cfg","configMap":{"name":"nope"}}]"#))
        let vm = VolumeManager(podDir: podDir, pod: pod, sources: VolumeSources())
        do {
            _ = try await vm.setUp()
            Issue.record("expected an error")
        } catch let e as VolumeError {
            #expect(e.message == #"configmap "nope" not found"#)
            #expect(e.description == #"MountVolume.SetUp failed for volume "cfg" : configmap "nope" not found"#)
        }
        let cm = try Self.decode(ConfigMap.self, #"{"metadata":{"name":"cfg"},"data":{"a":"1"}}"#)
        let badKey = try Self.pod(Self.podJSON(volumes: #"[{"name":"v","configMap":{"name":"cfg","items":[{"key":"zz","path":"z"}]}}]"#))
        await #expect(throws: VolumeError(volume: "v", "configmap references non-existent config key: zz")) {
            _ = try await VolumeManager(podDir: podDir, pod: badKey, sources: VolumeSources(configMaps: ["cfg": cm])).setUp()
        }

        let optional = try Self.pod(Self.podJSON(volumes: """
            [{"name":"o","configMap":{"name":"nope","optional":true}},
             {"name":"s","secret":{"secretName":"nope","optional":true}},
             {"name":"k","configMap":{"name":"cfg","optional":true,"items":[{"key":"zz","path":"z"},{"key":"a","path":"a"}]}}]
            """))
        let vm2 = VolumeManager(podDir: podDir, pod: optional, sources: VolumeSources(configMaps: ["cfg": cm]))
        let vols = try await vm2.setUp()
        #expect(AtomicWriterTests.entries(try #require(vols["o"]).hostPath).filter { !$0.hasPrefix("..") }.isEmpty)
        #expect(AtomicWriterTests.entries(try #require(vols["k"]).hostPath).filter { !$0.hasPrefix("..") } == ["a"])
        await vm2.tearDown()
        #expect(Self.fsType(podDir + "/volumes/kubernetes.io~secret/s") == nil)
    }

    @Test func secretIsDecodedOntoATmpfsAndTornDown() async throws {
        defer { try? FileManager.default.removeItem(atPath: podDir) }
        let secret = try Self.decode(Secret.self, #"{"metadata":{"name":"s"},"data":{"user":"YWRtaW4=","pass":"czNjcjN0"},"stringData":{"extra":"plain"}}"#)
        let pod = try Self.pod(Self.podJSON(volumes: #"[{"name":"creds","secret":{"secretName":"s","defaultMode":256}}]"#))
        let vm = VolumeManager(podDir: podDir, pod: pod, sources: VolumeSources(secrets: ["s": secret]))
        let vols = try await vm.setUp()
        let dir = try #require(vols["creds"]).hostPath
        #expect(dir == podDir + "/volumes/kubernetes.io~secret/creds")
        #expect(Self.fsType(dir) == "tmpfs")
        let mountinfo = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(mountinfo.contains(" \(dir) "))
        #expect(AtomicWriterTests.read(dir + "/user") == "admin")
        #expect(AtomicWriterTests.read(dir + "/pass") == "s3cr3t")
        #expect(AtomicWriterTests.read(dir + "/extra") == "plain")
        #expect(AtomicWriterTests.mode(dir + "/user") == 0o400)
        // Set-up again keeps the one tmpfs.
        _ = try await vm.setUp()
        let count = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8).components(separatedBy: " \(dir) ").count - 1
        #expect(count == 1)

        // A changed secret is re-projected atomically.
        let before = AtomicWriter.readlink(dir + "/..data")
        let changed = try Self.decode(Secret.self, #"{"metadata":{"name":"s"},"data":{"user":"cm9vdA=="}}"#)
        try await vm.update(pod: pod, sources: VolumeSources(secrets: ["s": changed]))
        #expect(AtomicWriter.readlink(dir + "/..data") != before)
        #expect(AtomicWriterTests.read(dir + "/user") == "root")
        #expect(!FileManager.default.fileExists(atPath: dir + "/pass"))

        await vm.tearDown()
        #expect(Self.fsType(dir) == nil)
        #expect(!FileManager.default.fileExists(atPath: dir))
    }

    @Test func downwardAPILabelsFileAndLiveUpdate() async throws {
        defer { try? FileManager.default.removeItem(atPath: podDir) }
        let volumes = """
            [{"name":"info","downwardAPI":{"items":[
               {"path":"labels","fieldRef":{"fieldPath":"metadata.labels"}},
               {"path":"annotations","fieldRef":{"fieldPath":"metadata.annotations"}},
               {"path":"name","fieldRef":{"fieldPath":"metadata.name"}},
               {"path":"ns","fieldRef":{"fieldPath":"metadata.namespace"}},
               {"path":"uid","fieldRef":{"fieldPath":"metadata.uid"}},
               {"path":"app","fieldRef":{"fieldPath":"metadata.labels['app']"}},
               {"path":"cpu","resourceFieldRef":{"containerName":"c","resource":"limits.cpu","divisor":"1m"}},
               {"path":"cpu1","resourceFieldRef":{"containerName":"c","resource":"limits.cpu"}},
               {"path":"mem","resourceFieldRef":{"containerName":"c","resource":"limits.memory","divisor":"1Mi"}},
               {"path":"reqmem","resourceFieldRef":{"containerName":"c","resource":"requests.memory"}},
               {"path":"nolimit","resourceFieldRef":{"containerName":"d","resource":"limits.memory"}},
               {"path":"nocpu","resourceFieldRef":{"containerName":"d","resource":"limits.cpu","divisor":"1m"}}]}}]
            """
        let containers = #"[{"name":"c","resources":{"limits":{"cpu":"250m","memory":"64Mi"}}},{"name":"d"}]"#
        let pod = try Self.pod(Self.podJSON(volumes: volumes, labels: #"{"zeta":"last","app":"web","tier":"a\"b\\c\nd"}"#, containers: containers))
        let alloc = NodeAllocatable(cpuMillis: 4000, memoryBytes: 8_000_000_000, ephemeralStorageBytes: 1)
        let vm = VolumeManager(podDir: podDir, pod: pod, sources: VolumeSources(), nodeAllocatable: alloc)
        let vols = try await vm.setUp()
        let dir = try #require(vols["info"]).hostPath
        #expect(dir == podDir + "/volumes/kubernetes.io~downward-api/info")
        #expect(AtomicWriterTests.read(dir + "/labels") == "app=\"web\"\ntier=\"a\\\"b\\\\c\\nd\"\nzeta=\"last\"")
        #expect(AtomicWriterTests.read(dir + "/annotations") == #"a="x\"y""#)
        #expect(AtomicWriterTests.read(dir + "/name") == "p")
        #expect(AtomicWriterTests.read(dir + "/ns") == "ns")
        #expect(AtomicWriterTests.read(dir + "/uid") == "1234-uid")
        #expect(AtomicWriterTests.read(dir + "/app") == "web")
        #expect(AtomicWriterTests.read(dir + "/cpu") == "250")
        #expect(AtomicWriterTests.read(dir + "/cpu1") == "1")
        #expect(AtomicWriterTests.read(dir + "/mem") == "64")
        #expect(AtomicWriterTests.read(dir + "/reqmem") == "67108864")
        #expect(AtomicWriterTests.read(dir + "/nolimit") == "8000000000")
        #expect(AtomicWriterTests.read(dir + "/nocpu") == "4000")

        var relabeled = pod
        relabeled.metadata.labels = ["app": "api"]
        try await vm.update(pod: relabeled, sources: VolumeSources())
        #expect(AtomicWriterTests.read(dir + "/labels") == #"app="api""#)
        #expect(AtomicWriterTests.read(dir + "/app") == "api")
        await vm.tearDown()
        #expect(Self.fsType(dir) == nil)
    }

    @Test func goQuoteMatchesStrconvQuote() {
        #expect(GoSyntax.quote("plain") == #""plain""#)
        #expect(GoSyntax.quote("tab\there") == #""tab\there""#)
        #expect(GoSyntax.quote("\u{01}\u{7f}") == #""\x01\x7f""#)
        #expect(GoSyntax.quote("héllo ☃") == "\"héllo ☃\"")
        #expect(GoSyntax.quote("\u{200b}") == #""\u200b""#)
    }

    @Test func hostPathTypeChecks() async throws {
        let base = "/tmp/tandem-voltest-hp-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        _ = FileManager.default.createFile(atPath: base + "/file", contents: Data("x".utf8))

        func check(_ path: String, _ type: String) async throws -> [String: MountedVolume] {
            let pod = try Self.pod(Self.podJSON(volumes: #"[{"name":"h","hostPath":{"path":"\#(path)","type":"\#(type)"}}]"#))
            return try await VolumeManager(podDir: podDir, pod: pod, sources: VolumeSources()).setUp()
        }
        await #expect(throws: VolumeError(volume: "h", "hostPath type check failed: \(base)/file is not a directory")) {
            _ = try await check(base + "/file", "Directory")
        }
        await #expect(throws: VolumeError(volume: "h", "hostPath type check failed: \(base) is not a file")) {
            _ = try await check(base, "File")
        }
        await #expect(throws: VolumeError(volume: "h", "hostPath type check failed: \(base)/file is not a socket file")) {
            _ = try await check(base + "/file", "Socket")
        }
        await #expect(throws: VolumeError(volume: "h", "hostPath type check failed: \(base)/file is not a character device")) {
            _ = try await check(base + "/file", "CharDevice")
        }
        await #expect(throws: VolumeError(volume: "h", "hostPath type check failed: /dev/null is not a block device")) {
            _ = try await check("/dev/null", "BlockDevice")
        }
        await #expect(throws: VolumeError(volume: "h", "hostPath type check failed: \(base)/missing is not a directory")) {
            _ = try await check(base + "/missing", "Directory")
        }
        let created = try await check(base + "/made/deep", "DirectoryOrCreate")
        #expect(created["h"] == MountedVolume(name: "h", hostPath: base + "/made/deep", isFile: false))
        #expect(AtomicWriterTests.mode(base + "/made/deep") & 0o777 == 0o755 & ~0o022 || AtomicWriterTests.mode(base + "/made/deep") == 0o755)
        let file = try await check(base + "/newfile", "FileOrCreate")
        #expect(file["h"]?.isFile == true)
        #expect(FileManager.default.fileExists(atPath: base + "/newfile"))
        #expect(try await check("/dev/null", "CharDevice")["h"]?.isFile == true)
        #expect(try await check(base + "/file", "")["h"]?.isFile == true)
        // hostPath volumes are never removed by tear-down.
        let pod = try Self.pod(Self.podJSON(volumes: #"[{"name":"h","hostPath":{"path":"\#(base)","type":"Directory"}}]"#))
        let vm = VolumeManager(podDir: podDir, pod: pod, sources: VolumeSources())
        _ = try await vm.setUp()
        await vm.tearDown()
        #expect(FileManager.default.fileExists(atPath: base + "/file"))
        try? FileManager.default.removeItem(atPath: podDir)
    }

    @Test func emptyDirOnDiskAndInMemory() async throws {
        defer { try? FileManager.default.removeItem(atPath: podDir) }
        let pod = try Self.pod(Self.podJSON(volumes: """
            [{"name":"disk","emptyDir":{}},{"name":"mem","emptyDir":{"medium":"Memory","sizeLimit":"8Mi"}}]
            """))
        let vm = VolumeManager(podDir: podDir, pod: pod, sources: VolumeSources())
        let vols = try await vm.setUp()
        let disk = try #require(vols["disk"]).hostPath
        let mem = try #require(vols["mem"]).hostPath
        #expect(disk == podDir + "/volumes/kubernetes.io~empty-dir/disk")
        #expect(AtomicWriterTests.mode(disk) == 0o777)
        #expect(Self.fsType(disk) == nil)
        #expect(Self.fsType(mem) == "tmpfs")
        var fs = statvfs()
        statvfs(mem, &fs)
        #expect(Int64(fs.f_blocks) * Int64(fs.f_frsize) == 8 * 1024 * 1024)
        _ = FileManager.default.createFile(atPath: mem + "/data", contents: Data("x".utf8))
        await vm.tearDown()
        #expect(Self.fsType(mem) == nil)
        #expect(!FileManager.default.fileExists(atPath: mem))
        #expect(!FileManager.default.fileExists(atPath: disk))
    }

    @Test func projectedMergesSourcesAndRejectsTokens() async throws {
        defer { try? FileManager.default.removeItem(atPath: podDir) }
        let cm = try Self.decode(ConfigMap.self, #"{"metadata":{"name":"cfg"},"data":{"a":"1"}}"#)
        let secret = try Self.decode(Secret.self, #"{"metadata":{"name":"s"},"data":{"b":"Mg=="}}"#)
        let pod = try Self.pod(Self.podJSON(volumes: """
            [{"name":"all","projected":{"defaultMode":288,"sources":[
               {"configMap":{"name":"cfg"}},
               {"secret":{"name":"s","items":[{"key":"b","path":"sec/b"}]}},
               {"downwardAPI":{"items":[{"path":"name","fieldRef":{"fieldPath":"metadata.name"}}]}}]}}]
            """))
        let vm = VolumeManager(podDir: podDir, pod: pod, sources: VolumeSources(configMaps: ["cfg": cm], secrets: ["s": secret]))
        let vols = try await vm.setUp()
        let dir = try #require(vols["all"]).hostPath
        #expect(dir == podDir + "/volumes/kubernetes.io~projected/all")
        #expect(AtomicWriterTests.read(dir + "/a") == "1")
        #expect(AtomicWriterTests.read(dir + "/sec/b") == "2")
        #expect(AtomicWriterTests.read(dir + "/name") == "p")
        #expect(AtomicWriterTests.mode(dir + "/a") == 0o440)
        await vm.tearDown()

        let tokenPod = try Self.pod(Self.podJSON(volumes: #"[{"name":"t","projected":{"sources":[{"serviceAccountToken":{"path":"token"}}]}}]"#))
        await #expect(throws: VolumeError.self) {
            _ = try await VolumeManager(podDir: podDir, pod: tokenPod, sources: VolumeSources()).setUp()
        }
    }
}
