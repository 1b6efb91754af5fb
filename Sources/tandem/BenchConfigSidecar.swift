import ConfigSidecar
import ContainerRuntime
import Foundation
import KubeAPI
import Node
#if canImport(Glibc)
import Glibc
#endif

/// `tandem bench`'s config-sidecar line: how long after a Secret volume update the real
/// `tandem sidecar config watch` process has rewritten `config.env`. Each update is made with
/// the kubelet's algorithm (`AtomicWriter`, the `..data` symlink swap); the anchor, measured on
/// the same updates, is the bench's own inotify event for that swap, so the difference is the
/// sidecar's own wake-up, re-read, render and atomic write.
struct ConfigRenderFigures {
    var swaps: Int
    /// From the start of `AtomicWriter.write` to the bench seeing `config.env` replaced.
    var rerender: Stats
    /// From the same start to the bench seeing `..data` renamed (inotify alone).
    var inotify: Stats

    static func ms(_ s: Double) -> String { String(format: "%.2f ms", s * 1000) }

    var text: String {
        let figure = "p50 \(Self.ms(rerender.median))   p99 \(Self.ms(rerender.percentile(99)))   "
        let anchor = "(anchor: the ..data inotify event alone, p50 \(Self.ms(inotify.median)) p99 \(Self.ms(inotify.percentile(99))); \(swaps) swaps; target p99 ≤ 50 ms)"
        return figure + anchor
    }

    var json: JSONValue {
        var o: [String: JSONValue] = ["swaps": .int(Int64(swaps))]
        o["rerenderP50Ms"] = .double(rerender.median * 1000)
        o["rerenderP99Ms"] = .double(rerender.percentile(99) * 1000)
        o["inotifyP50Ms"] = .double(inotify.median * 1000)
        o["inotifyP99Ms"] = .double(inotify.percentile(99) * 1000)
        return .object(o)
    }
}

extension Bench {
    static let benchTenant = """
        apiVersion: minio.min.io/v2
        kind: Tenant
        metadata: {name: bench, namespace: default}
        spec: {requestAutoCert: false, pools: [{servers: 4, volumesPerServer: 4}], env: [{name: A, value: b}]}

        """

    static func benchSecret(_ password: String) -> [String: FileProjection] {
        ["config.env": FileProjection(data: Array("export MINIO_ROOT_USER=\"bench\"\nexport MINIO_ROOT_PASSWORD=\"\(password)\"\n".utf8), mode: 0o644)]
    }

    /// Runs `tandem sidecar config watch` on volumes under `workDir` and times `swaps` Secret
    /// updates (after 5 untimed ones). Everything it starts or creates is gone when it returns.
    static func configRerender(swaps: Int, workDir: String) async throws -> ConfigRenderFigures {
        let tenantDir = workDir + "/tenant", secretDir = workDir + "/secret", outDir = workDir + "/out"
        for d in [tenantDir, secretDir, outDir] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        defer { try? FileManager.default.removeItem(atPath: workDir) }
        try AtomicWriter(targetDir: tenantDir).write(["tenant.yaml": FileProjection(data: Array(benchTenant.utf8), mode: 0o644)])
        let secret = AtomicWriter(targetDir: secretDir)
        try secret.write(benchSecret("initial"))

        let watcher = try InotifyWatcher(directories: [secretDir, outDir])
        defer { watcher.stop() }
        var events = watcher.batches.makeAsyncIterator()

        let sidecar = Process()
        sidecar.executableURL = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        sidecar.arguments = ["sidecar", "config", "watch", "--tenant", "bench", "--config-name", "bench",
                             "--tenant-file", tenantDir + "/tenant.yaml", "--secret-dir", secretDir,
                             "--output", outDir + "/config.env", "--ready-address", "127.0.0.1:0"]
        _ = FileManager.default.createFile(atPath: workDir + "/sidecar.log", contents: nil)
        sidecar.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: workDir + "/sidecar.log"))
        sidecar.standardOutput = FileHandle.nullDevice
        sidecar.standardInput = FileHandle.nullDevice
        try sidecar.run()
        defer {
            if sidecar.isRunning { kill(sidecar.processIdentifier, SIGKILL) }
            sidecar.waitUntilExit()
        }

        /// Waits for the events of one update: `..data` in the Secret directory, `config.env` in
        /// the output directory (either may be nil when only the other is awaited).
        func waitForUpdate(dataLink: Bool) async throws -> (data: ContinuousClock.Instant?, output: ContinuousClock.Instant) {
            var data: ContinuousClock.Instant?
            let timeout = Task {
                try await Task.sleep(for: .seconds(5))
                watcher.stop()
            }
            defer { timeout.cancel() }
            while let batch = await events.next() {
                for e in batch.events {
                    if e.directory == secretDir && e.name == AtomicUpdate.dataLink && e.mask & UInt32(IN_MOVED_TO) != 0 && data == nil {
                        data = batch.readAt
                    }
                    if e.directory == outDir && e.name == "config.env" && e.mask & UInt32(IN_MOVED_TO) != 0 && (data != nil || !dataLink) {
                        return (data, batch.readAt)
                    }
                }
            }
            let log = (try? String(contentsOfFile: workDir + "/sidecar.log", encoding: .utf8)) ?? ""
            throw RuntimeError("the config sidecar did not rewrite config.env within 5 s: \(log.suffix(400))")
        }

        _ = try await waitForUpdate(dataLink: false)  // the sidecar's first write
        var rerender: [Double] = [], inotify: [Double] = []
        for i in -5..<swaps {
            let start = ContinuousClock.now
            try secret.write(benchSecret("password-\(i)"))
            let (data, output) = try await waitForUpdate(dataLink: true)
            guard i >= 0, let data else { continue }
            rerender.append(seconds(output - start))
            inotify.append(seconds(data - start))
        }
        kill(sidecar.processIdentifier, SIGTERM)
        return ConfigRenderFigures(swaps: swaps, rerender: Stats(rerender), inotify: Stats(inotify))
    }
}
