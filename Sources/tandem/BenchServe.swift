import APIServer
import APIStore
import ArgumentParser
import ConfigSidecar
import ContainerRuntime
import Foundation
import KubeAPI
import Logging
import Node
#if canImport(Glibc)
import Glibc
#endif

/// `tandem bench serve`: the `tandem serve` stack on a scratch root with `--pods` pods stored
/// and bound to another node (so this node runs none of them, and their Running status stays
/// as written), measured through the real
/// `/usr/bin/kubectl`. Each figure stands beside an anchor from the same run:
/// - `kubectl get pods` of all of them beside `kubectl get pods` of an empty namespace
///   (kubectl's own start-up, discovery from its cache and one round trip);
/// - a status write's arrival at a `kubectl get --raw …?watch=true` client beside its arrival at
///   an in-process watch of the store (what the HTTP watch path adds);
/// - a Secret edit through the API to the `..data` swap in a running pod's secret volume
///   beside the swap alone (`AtomicWriter` on a scratch directory, seen by the same inotify).
struct BenchServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "tandem serve with many stored pods: kubectl get, watch latency and Secret-to-volume latency against anchors."
    )

    @Option(help: "Pods stored (bound to another node).")
    var pods: Int = 1000

    @Option(help: "Timed samples of each latency (after 5 untimed ones).")
    var samples: Int = 100

    @Option(help: "Timed kubectl runs of each listing.")
    var rounds: Int = 5

    func validate() throws {
        guard pods >= 1, samples >= 1, rounds >= 1 else { throw ValidationError("--pods, --samples and --rounds must be at least 1") }
    }

    func run() async throws {
        guard geteuid() == 0 else { throw ValidationError("tandem bench serve must run as root (namespaces, overlayfs, CNI)") }
        let text = try await Bench.withScratch(name: "srv", subnet: "10.85.0.0/24", poolSize: 1) { root, network in
            try await measure(root: root, network: network)
        }
        print(text)
    }

    private func measure(root: String, network: PodNetwork) async throws -> String {
        let devNull = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer { close(devNull) }
        let stack = try ServeStack(root: root + "/serve", address: "127.0.0.1", port: 0, images: nil, network: network, nodeName: "bench-node",
                                   timelineFD: devNull)
        let registry = stack.registry
        for ns in ["bench", "bench-empty"] {
            _ = try registry.create(.namespaces, namespace: "", body: .object(["metadata": .object(["name": .string(ns)])]))
        }
        for i in 0..<pods {
            _ = try registry.create(.pods, namespace: "bench", body: Self.elsewherePod(i))
            _ = registry.writeStatus(.pods, namespace: "bench", name: "p-\(i)", status: Self.runningStatus(i))
        }

        var logger = Logger(label: "tandem.bench.serve")
        logger.logLevel = .critical
        let (ports, portFeed) = AsyncStream.makeStream(of: Int.self)
        let api = Task { try await stack.api.run(logger: logger) { portFeed.yield($0) } }
        let node = Task { await stack.node.run() }
        let controllers = Task { await stack.controllers.run() }
        var portIterator = ports.makeAsyncIterator()
        guard let port = await portIterator.next() else { throw RuntimeError("the API server did not start") }
        let kube = Kubectl(root: root)
        try PKI.write(kube.kubeconfig, stack.pki.kubeconfig(server: "https://127.0.0.1:\(port)"))

        let result: Result<String, any Error>
        do {
            let listing = try listings(kube)
            let watch = try await watchLatency(kube, registry: registry)
            let volume = try await volumeLatency(stack: stack, scratch: root + "/swap")
            result = .success("""
                tandem bench serve: \(pods) pods stored (bound to another node), \(samples) samples per latency
                \(listing)
                \(watch)
                \(volume)
                """)
        } catch {
            result = .failure(error)
        }
        // As serve stops: the node's pods first, then the watches and the rest.
        await stack.node.shutdown()
        registry.store.closeWatches()
        for task in [node, controllers] { task.cancel() }
        api.cancel()
        return try result.get()
    }

    static func elsewherePod(_ i: Int) -> JSONValue {
        .object([
            "metadata": .object(["name": .string("p-\(i)"), "labels": .object(["app": .string("bench")])]),
            "spec": .object(["nodeName": .string("bench-elsewhere"),
                             "containers": .array([.object(["name": .string("main"), "image": .string("busybox"),
                                                            "command": .array([.string("sleep"), .string("600")])])])]),
        ])
    }

    /// The status a node writes for a running pod, so each listed row costs what a real one
    /// does (conditions, a container status, IPs).
    static func runningStatus(_ i: Int) -> JSONValue {
        let time = JSONValue.string(Timestamp.string(Date()))
        let conditions: [JSONValue] = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"].map {
            .object(["type": .string($0), "status": .string("True"), "lastProbeTime": .null, "lastTransitionTime": time])
        }
        let ip = JSONValue.string("10.85.\(i / 250).\(i % 250 + 2)")
        return .object([
            "phase": .string("Running"), "conditions": .array(conditions), "hostIP": .string("10.0.0.2"),
            "hostIPs": .array([.object(["ip": .string("10.0.0.2")])]), "podIP": ip, "podIPs": .array([.object(["ip": ip])]),
            "startTime": time, "qosClass": .string("BestEffort"),
            "containerStatuses": .array([.object([
                "name": .string("main"), "image": .string("busybox"), "imageID": .string("tandem://busybox"),
                "containerID": .string("tandem://\(i)"), "ready": .bool(true), "started": .bool(true), "restartCount": .int(0),
                "state": .object(["running": .object(["startedAt": time])]), "lastState": .object([:]),
            ])]),
        ])
    }

    // MARK: - kubectl get

    private func listings(_ kube: Kubectl) throws -> String {
        // Warm-up: kubectl fills its discovery cache; the row count proves the whole list came back.
        let rows = try kube.run(["get", "pods", "-n", "bench", "--no-headers"], capture: true).split(separator: "\n").count
        guard rows == pods else { throw RuntimeError("kubectl get pods listed \(rows) pods, not \(pods)") }
        _ = try kube.run(["get", "pods", "-n", "bench-empty"])
        var full: [Double] = [], empty: [Double] = []
        for _ in 0..<rounds {
            full.append(try kube.timed(["get", "pods", "-n", "bench"]))
            empty.append(try kube.timed(["get", "pods", "-n", "bench-empty"]))
        }
        let (f, e) = (Stats(full).median, Stats(empty).median)
        return Self.row("kubectl get pods (\(pods) pods)", "p50 \(Self.ms(f))   "
            + "(anchor: kubectl get pods of an empty namespace, p50 \(Self.ms(e)): \(Self.ratio(f, e)); \(rounds) runs)")
    }

    // MARK: - watch latency

    /// A status write (the node's path: `Registry.writeStatus`) to its line on a watching
    /// kubectl's stdout, beside the same write's arrival at an in-process store watch.
    private func watchLatency(_ kube: Kubectl, registry: Registry) async throws -> String {
        let revision = try registry.store.revision()
        let storeChanges = try registry.store.watch(resource: APIResource.pods.qualifiedName, namespace: "bench", from: revision)
        var storeIterator = storeChanges.makeAsyncIterator()
        let watcher = try kube.stream(["get", "--raw", "/api/v1/namespaces/bench/pods?watch=true&resourceVersion=\(revision)"])
        defer { watcher.stop() }
        var lines = watcher.lines.makeAsyncIterator()
        var client: [Double] = [], store: [Double] = []
        for i in -5..<samples {
            let mark = "bench-mark-\(i + 5)"
            let status = JSONValue.object(["phase": .string("Pending"), "message": .string(mark)])
            let start = ContinuousClock.now
            registry.writeStatus(.pods, namespace: "bench", name: "p-\((i + 5) % pods)", status: status)
            var storeAt: ContinuousClock.Instant?
            while let change = await storeIterator.next() {
                if change.object["status"]?["message"]?.stringValue == mark { storeAt = .now; break }
            }
            var clientAt: ContinuousClock.Instant?
            while let line = await lines.next() {
                if line.text.contains("\"\(mark)\"") { clientAt = line.at; break }
            }
            guard let storeAt, let clientAt else { throw RuntimeError("the watch ended before \(mark) arrived") }
            if i >= 0 {
                client.append(Bench.seconds(clientAt - start))
                store.append(Bench.seconds(storeAt - start))
            }
        }
        let (c, s) = (Stats(client), Stats(store))
        return Self.row("watch event, status write → kubectl watch", "p50 \(Self.ms(c.median))   p99 \(Self.ms(c.percentile(99)))   "
            + "(anchor: the store's in-process watch, p50 \(Self.ms(s.median)) p99 \(Self.ms(s.percentile(99))): \(Self.ratio(c.median, s.median)))")
    }

    // MARK: - Secret → volume

    /// A Secret patched through the registry (what `kubectl patch` does on the server) until the
    /// running pod's secret volume swaps `..data`, beside `AtomicWriter`'s swap alone.
    private func volumeLatency(stack: ServeStack, scratch: String) async throws -> String {
        let registry = stack.registry
        func value(_ s: String) -> JSONValue { .object(["value": .string(Data(s.utf8).base64EncodedString())]) }
        _ = try registry.create(.secrets, namespace: "default", body: .object(["metadata": .object(["name": .string("bench-secret")]), "data": value("v0")]))
        let revision = try registry.store.revision()
        let podChanges = try registry.store.watch(resource: APIResource.pods.qualifiedName, namespace: "default", from: revision)
        let created = try registry.create(.pods, namespace: "default", body: .object([
            "metadata": .object(["name": .string("reader")]),
            "spec": .object([
                "terminationGracePeriodSeconds": .int(1),
                "containers": .array([.object(["name": .string("main"), "image": .string("busybox"), "command": .array([.string("sh"), .string("-c"), .string("trap 'exit 0' TERM; while true; do sleep 1; done")]),
                                               "volumeMounts": .array([.object(["name": .string("sec"), "mountPath": .string("/etc/sec")])])])]),
                "volumes": .array([.object(["name": .string("sec"), "secret": .object(["secretName": .string("bench-secret")])])]),
            ]),
        ]))
        let uid = created["metadata"]?["uid"]?.stringValue ?? ""
        for await change in podChanges where change.object["status"]?["phase"]?.stringValue == "Running" { break }
        let volume = "\(stack.context.root)/pods/default_reader_\(uid)/volumes/kubernetes.io~secret/sec"
        guard FileManager.default.fileExists(atPath: volume) else { throw RuntimeError("no secret volume at \(volume)") }
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let watcher = try InotifyWatcher(directories: [volume, scratch])
        defer { watcher.stop() }
        var batches = watcher.batches.makeAsyncIterator()
        func swapped(in dir: String) async -> ContinuousClock.Instant? {
            while let batch = await batches.next() {
                if batch.events.contains(where: { $0.directory == dir && $0.name == "..data" && $0.mask & UInt32(IN_MOVED_TO) != 0 }) {
                    return batch.readAt
                }
            }
            return nil
        }
        let writer = AtomicWriter(targetDir: scratch)
        var edit: [Double] = [], swap: [Double] = []
        for i in -5..<samples {
            var start = ContinuousClock.now
            _ = try registry.patch(.secrets, namespace: "default", name: "bench-secret", type: .merge, patch: .object(["data": value("v\(i + 6)")]))
            guard let seen = await swapped(in: volume) else { throw RuntimeError("the secret volume was not updated") }
            if i >= 0 { edit.append(Bench.seconds(seen - start)) }
            start = ContinuousClock.now
            try writer.write(["value": FileProjection(data: Array("v\(i + 6)".utf8), mode: 0o644)])
            guard let anchor = await swapped(in: scratch) else { throw RuntimeError("the scratch swap was not seen") }
            if i >= 0 { swap.append(Bench.seconds(anchor - start)) }
        }
        let (e, s) = (Stats(edit), Stats(swap))
        return Self.row("Secret edit → running pod's volume", "p50 \(Self.ms(e.median))   p99 \(Self.ms(e.percentile(99)))   "
            + "(anchor: the ..data swap alone, p50 \(Self.ms(s.median)) p99 \(Self.ms(s.percentile(99))): \(Self.ratio(e.median, s.median)))")
    }

    static func row(_ label: String, _ rest: String) -> String { label.padding(toLength: 44, withPad: " ", startingAt: 0) + rest }
    static func ms(_ s: Double) -> String { String(format: "%.1f ms", s * 1000) }
    static func ratio(_ a: Double, _ b: Double) -> String { String(format: "%.1fx", a / b) }
}

/// `/usr/bin/kubectl` with the bench's kubeconfig and its own discovery cache.
struct Kubectl {
    let root: String
    var kubeconfig: String { root + "/kubeconfig" }

    func process(_ args: [String]) -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/kubectl")
        p.arguments = ["--cache-dir", root + "/kubecache"] + args
        var env = ProcessInfo.processInfo.environment
        env["KUBECONFIG"] = kubeconfig
        env["HOME"] = root
        p.environment = env
        p.standardInput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        return p
    }

    /// Runs kubectl to the end; its stdout when `capture`.
    @discardableResult
    func run(_ args: [String], capture: Bool = false) throws -> String {
        let p = process(args)
        let out = root + "/kubectl.out"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        defer { try? handle.close() }
        p.standardOutput = capture ? handle : FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw RuntimeError("kubectl \(args.joined(separator: " ")) exited \(p.terminationStatus)") }
        return capture ? ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "") : ""
    }

    /// Wall time of one whole kubectl run.
    func timed(_ args: [String]) throws -> Double {
        let start = ContinuousClock.now
        try run(args)
        return Bench.seconds(.now - start)
    }

    /// A long-running kubectl whose stdout lines arrive, stamped on reading, on `lines`.
    func stream(_ args: [String]) throws -> StreamingKubectl {
        let p = process(args)
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        return StreamingKubectl(process: p, fd: pipe.fileHandleForReading.fileDescriptor, pipe: pipe)
    }
}

/// A kubectl whose output is read on a thread of its own (a blocking `read`), so each line's
/// arrival time is when it reached this process.
final class StreamingKubectl: Sendable {
    struct Line: Sendable {
        var text: String
        var at: ContinuousClock.Instant
    }

    let lines: AsyncStream<Line>
    private let process: Process
    private let pipe: Pipe

    init(process: Process, fd: Int32, pipe: Pipe) {
        self.process = process
        self.pipe = pipe
        let (stream, feed) = AsyncStream.makeStream(of: Line.self)
        lines = stream
        Thread.detachNewThread {
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                let at = ContinuousClock.now
                pending += buffer[0..<n]
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    feed.yield(Line(text: String(decoding: pending[..<newline], as: UTF8.self), at: at))
                    pending.removeSubrange(...newline)
                }
            }
            feed.finish()
        }
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
