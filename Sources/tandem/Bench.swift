import ArgumentParser
import CTandemInit
import ContainerRuntime
import Foundation
import GitSync
import KubeAPI
import Node
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `tandem bench`: measures what Tandem adds on top of the processes it runs. Every figure is
/// printed next to an anchor measured in the same run on the same machine (plain fork/exec, a
/// plain `> file` redirect), because absolute times mean little across machines while the ratio
/// says how much of the cost is Tandem's own.
///
/// A group whose default is `all`, so that each measurement owns its options: a parent command's
/// options would shadow its subcommands' (`tandem bench idle --json` lost its `--json` to the
/// parent's).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure pod start latency, log capture throughput and memory against direct baselines.",
        discussion: """
            Needs root (namespaces, overlayfs, CNI). Everything it creates lives under a temporary \
            --root, a bench-only bridge and netns prefix, and is removed at exit. \
            `tandem bench logs` compares the log sidecar with `tail -F`; `tandem bench idle` measures \
            what idle pods cost.
            """,
        subcommands: [Bench.self, BenchLogs.self, BenchIdle.self, BenchServe.self],
        defaultSubcommand: Bench.self
    )
}

/// `tandem bench [all]`: pod start, log capture, git-sync publish, the config sidecar's
/// re-render and the supervisor's memory, in one run.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "all",
        abstract: "Pod start, log capture, sidecar and memory figures against direct baselines."
    )

    @Option(help: "Timed pod starts per variant (after one untimed warm-up).")
    var iterations: Int = 10

    @Option(name: .customLong("log-bytes"), help: "Bytes the log-capture container writes, as 100-byte lines.")
    var logBytes: Int = 1 << 30

    @Option(name: .customLong("config-swaps"), help: "Secret volume updates timed for the config sidecar's re-render latency.")
    var configSwaps: Int = 200

    @Flag(help: "Print the figures as JSON.")
    var json = false

    @Flag(name: .customLong("pod-start-only"), help: "Measure only the pod start figures (section 1), for profiling the start path.")
    var podStartOnly = false

    func validate() throws {
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1") }
        guard logBytes >= 100 else { throw ValidationError("--log-bytes must be at least 100") }
        guard configSwaps >= 1 else { throw ValidationError("--config-swaps must be at least 1") }
    }

    func run() async throws {
        guard geteuid() == 0 else { throw ValidationError("tandem bench must run as root (namespaces, overlayfs, CNI)") }
        // As `tandem run` does: a ready sandbox waits in a pool, refilled after each pod.
        let work = Task {
            try await Self.withScratch(name: "bench", subnet: "10.87.0.0/24", poolSize: 1) { root, network in
                try await measure(root: root, network: network)
            }
        }
        // Ctrl-C or a SIGTERM ends the measuring at the next pod or section, and the scratch
        // root, the bench's bridge and its network namespaces are still removed.
        let signals = SignalWatcher.install {
            FileHandle.standardError.write(Data("tandem bench: interrupted, cleaning up\n".utf8))
            work.cancel()
        }
        defer { signals.cancel() }
        let figures: Figures
        do {
            figures = try await work.value
        } catch where work.isCancelled {
            throw ExitCode(130) // the shell's status for a command ended by SIGINT
        }
        print(json ? figures.jsonText() : figures.text())
    }

    // MARK: - Measurements

    private func measure(root: String, network: PodNetwork) async throws -> Figures {
        var figures = Figures(iterations: iterations, logBytes: logBytes)
        let devNull = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer { close(devNull) }
        let timeline = Timeline(fd: devNull, showLogs: false)
        let runtime = try Runtime(logEcho: nil)
        let catalog = try ImageCatalog(userFile: nil, stateDir: root + "/images")
        // busybox's applet links, as `tandem run` makes them: without them the pods ran the host's
        // dynamically linked coreutils `true` and `sleep`, not the busybox the anchors run.
        catalog.prepare()
        // As `tandem run` does: pod and container directories made ahead, one pool for both nodes.
        let podDirectories = PodDirectoryPool(root: root)
        var context = NodeContext(root: root, runtime: runtime, network: network, images: catalog, timeline: timeline,
                                  hostIP: "127.0.0.1", nodeName: ProcessInfo.processInfo.hostName)
        context.podDirectories = podDirectories
        // The same node with cgroups: each pod and container in its cgroup, with limits. Not under
        // a real-time policy (`chrt`, which steadies the other figures): such a task cannot join a
        // v1 `cpu` cgroup that has no RT budget.
        let realTime = [SCHED_FIFO, SCHED_RR].contains(sched_getscheduler(0))
        figures.cgroupsSkippedUnderRealTime = realTime
        let isolated = realTime ? nil : Run.nodeCgroups().map {
            var c = NodeContext(root: root, runtime: runtime, network: network, images: catalog, timeline: timeline,
                                hostIP: "127.0.0.1", nodeName: ProcessInfo.processInfo.hostName, cgroups: $0)
            c.podDirectories = podDirectories
            return c
        }
        await network.cleanupStale()
        await network.prewarm()
        // As `tandem run` does: a ready sandbox for the next pod, too.
        runtime.enableSandboxPool(containersDir: context.containersDirectory)

        // 1. Pod start, with and without a network namespace, and the direct fork/exec anchor.
        // The variants alternate within each round so drift (page cache, CPU frequency) hits all alike.
        // Each timed pod starts on a node at rest (see `settle`), except the back-to-back one.
        // The pool is drained on every way out, a failed or interrupted pod included: a refill
        // left running would re-create its directory below the scratch root once that is gone.
        var withCgroups: [Double] = []
        var backToBack: [Double] = []
        var withNet: [Double] = [], hostNet: [Double] = [], direct: [Double] = [], namespaced: [Double] = [], netSetup: [Double] = [], single: [Double] = [], singleDirect: [Double] = []
        do {
            _ = try await podStart(context: context, hostNetwork: false)
            _ = try await podStart(context: context, hostNetwork: true)
            _ = try Self.directStart()
            _ = try Self.namespacedStart()
            _ = try await runtimeStart(context: context, index: -1)
            if let isolated { _ = try await podStart(context: isolated, hostNetwork: false, limits: true) }
            for i in 0..<iterations {
                try Task.checkCancellation()
                single.append(try await runtimeStart(context: context, index: i))
                singleDirect.append(try Self.directSingle())
                try await Task.sleep(for: Self.settle)
                withNet.append(try await podStart(context: context, hostNetwork: false))
                backToBack.append(try await podStart(context: context, hostNetwork: false))
                if let isolated {
                    try await Task.sleep(for: Self.settle)
                    withCgroups.append(try await podStart(context: isolated, hostNetwork: false, limits: true))
                }
                try await Task.sleep(for: Self.settle)
                hostNet.append(try await podStart(context: context, hostNetwork: true))
                direct.append(try Self.directStart())
                namespaced.append(try Self.namespacedStart())
                netSetup.append(try await networkSetup(network))
            }
        } catch {
            await runtime.drainSandboxPool()
            await podDirectories.drain()
            throw error
        }
        figures.podStart = Stats(withNet)
        figures.podStartBackToBack = Stats(backToBack)
        figures.podStartHostNetwork = Stats(hostNet)
        figures.podStartCgroups = Stats(withCgroups)
        figures.directStart = Stats(direct)
        figures.namespacedStart = Stats(namespaced)
        figures.networkSetup = Stats(netSetup)
        figures.runtimeStart = Stats(single)
        figures.directSingle = Stats(singleDirect)
        await runtime.drainSandboxPool()
        await podDirectories.drain()
        if podStartOnly { return figures }

        // 2. Log capture through the real runtime beside `> file` of the same byte stream.
        // Three rounds, medians of each side: one 1 GiB write is at the mercy of dirty-page
        // write-back and of whatever else the machine is doing, in either direction.
        var baselines: [Double] = [], captures: [Double] = []
        for round in 1...3 {
            let r = try await RuntimeBench.logCapture(bytes: logBytes, lineLength: 100, workDir: root + "/logbench\(round)")
            baselines.append(r.baselineSeconds)
            captures.append(r.captureSeconds)
        }
        figures.logCapture = LogFigures(bytes: logBytes, baselineSeconds: Stats(baselines).median,
                                                            captureSeconds: Stats(captures).median)

        try Task.checkCancellation()
        // 3. git-sync: from a commit's sync signal to its published link, beside git's own
        // fetch + worktree add of the same commit.
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let gitSync = try await PublishBench.run(executable: exe, dir: root + "/gitsync", iterations: iterations)
        figures.gitSyncPublish = Stats(gitSync.publish)
        figures.gitFetchWorktree = Stats(gitSync.anchor)

        try Task.checkCancellation()
        // 4. The log sidecar following a 256 MiB file beside coreutils `tail -F` (the rotation
        // comparison, which takes minutes, stays in `tandem bench logs`).
        // Three alternating rounds, medians: one 0.3 s round is at the mercy of whatever else
        // the machine does in that moment.
        let follow = try BenchLogs.parse(["--bytes", String(256 << 20), "--rounds", "3", "--rotations", "0", "--tailers", "tandem,coreutils"])
        figures.logFollow = try follow.throughput(dir: root + "/follow", kinds: [.tandem, .coreutils])

        // 5. The supervisor's own peak memory.
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        figures.maxRSSKiB = Int(usage.ru_maxrss)

        try Task.checkCancellation()
        // 6. The config sidecar's re-render after a kubelet-style `..data` swap (a child process,
        // after the RSS reading so that it cannot move it).
        figures.configRender = try await Self.configRerender(swaps: configSwaps, workDir: root + "/configsidecar")
        return figures
    }

    /// How long a timed pod waits after the step before it: a pod created on its own finds the
    /// node's pools full (ready sandboxes, network namespaces, pod directories and the zygote's
    /// spare shims, each with its container's root made ahead), because each refills
    /// `TANDEM_ZYGOTE_REFILL_DELAY_MS` (100 ms) after a pod took from it, off that pod's start.
    /// A pod started before then finds some empty and pays for their refill on its own path:
    /// the back-to-back figure, a pod started the moment the one before it ended.
    static let settle = Duration.milliseconds(400)

    /// One pod of init + native sidecar + main through the real `PodWorker`; returns the seconds
    /// from the worker's start to the main container's `terminated` status. Tear-down is waited
    /// for (so pods never overlap) but not counted.
    private func podStart(context: NodeContext, hostNetwork: Bool, limits: Bool = false) async throws -> Double {
        var pod = try Self.benchPod(hostNetwork: hostNetwork, limits: limits)
        pod.metadata.namespace = "default"
        pod.metadata.uid = UUID().uuidString.lowercased()
        pod.metadata.creationTimestamp = Timestamp.string(Date())
        pod.spec.nodeName = context.nodeName

        let clock = ContinuousClock()
        let (exits, exitCont) = AsyncStream.makeStream(of: (ContinuousClock.Instant, Int32).self, bufferingPolicy: .bufferingNewest(1))
        let last = Mutex<Pod?>(nil)
        let worker = PodWorker(pod: pod, context: context, sources: VolumeSources(configMaps: [:], secrets: [:])) { p in
            // Stamped here, inside the worker's publish, so the consumer's scheduling delay is not counted.
            last.withLock { $0 = p }
            if let t = p.status?.containerStatuses?.first(where: { $0.name == "main" })?.state.terminated {
                exitCont.yield((clock.now, t.exitCode))
                exitCont.finish()
            }
        }
        let start = clock.now
        let runTask = Task { await worker.run() }
        let timeout = Task {
            try? await Task.sleep(for: .seconds(30))
            exitCont.finish()
        }
        var seen: (ContinuousClock.Instant, Int32)?
        for await e in exits {
            seen = e
            break
        }
        timeout.cancel()
        await worker.terminate(gracePeriod: 1)
        _ = await runTask.value
        guard let (end, code) = seen else {
            let phase = last.withLock { $0?.status?.phase } ?? "?"
            throw RuntimeError("bench pod (hostNetwork: \(hostNetwork)) did not finish its main container in 30s (phase \(phase))")
        }
        guard code == 0 else { throw RuntimeError("bench pod's main container exited \(code)") }
        return Self.seconds(end - start)
    }

    /// With `limits`, every container has CPU and memory limits (a Guaranteed pod), so that the
    /// cgroups it is placed in carry quota, shares and a memory limit.
    private static func benchPod(hostNetwork: Bool, limits: Bool = false) throws -> Pod {
        let r = limits ? ", resources: {limits: {cpu: 100m, memory: 64Mi}}" : ""
        let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: bench\(hostNetwork ? "-hostnet" : "")\(limits ? "-limits" : "")}
            spec:
              restartPolicy: Never
              hostNetwork: \(hostNetwork)
              initContainers:
              - {name: init, image: busybox, command: ["true"]\(r)}
              - {name: sidecar, image: busybox, command: ["sleep", "3600"], restartPolicy: Always\(r)}
              containers:
              - {name: main, image: busybox, command: ["true"]\(r)}
            """
        guard case .pod(let pod) = try Manifest.decode(yaml, source: "bench").first else {
            throw RuntimeError("bench pod manifest did not decode to a Pod")
        }
        return pod
    }

    /// One `busybox true` through `Runtime.start` + `wait` with no pod worker around it (host
    /// network, no volumes): splits the pod's overhead into the runtime's per-container cost
    /// (shim exec, namespaces, overlay, log pipes) and the pod worker's own.
    private func runtimeStart(context: NodeContext, index: Int) async throws -> Double {
        let dir = "\(context.root)/single/\(index + 1)"
        let spec = ContainerSpec(id: "bench-single-\(index + 1)", argv: ["/usr/bin/busybox", "true"], env: ["PATH=/usr/bin:/bin"],
                                 hostname: "bench", stateDir: dir + "/state", logPath: dir + "/0.log")
        let clock = ContinuousClock()
        let start = clock.now
        let c = try await context.runtime.start(spec)
        let exit = await c.wait()
        let elapsed = clock.now - start
        context.runtime.removeState(spec)
        guard exit.exitCode == 0 else { throw RuntimeError("single bench container exited \(exit.exitCode)") }
        return Self.seconds(elapsed)
    }

    /// The network sandbox alone: `PodNetwork.setUp`'s own stopwatch (netns + both CNI ADDs),
    /// then tear-down (not counted).
    private func networkSetup(_ network: PodNetwork) async throws -> Double {
        let uid = UUID().uuidString.lowercased()
        // Made fresh, not taken from the pool: the pool's sandbox is the next pod's.
        let s = try await network.setUp(podUID: uid, podName: "bench-net", namespace: "default", usePool: false)
        await network.tearDown(s, podUID: uid)
        return Self.seconds(s.setupDuration)
    }

    /// The physical limit of the pod above: the same three programs spawned directly, init and
    /// main waited for, the sidecar left running until main is done (then killed, not counted).
    private static func directStart() throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try spawnWait("/usr/bin/busybox", ["true"])
        let sidecar = try spawn("/usr/bin/busybox", ["sleep", "3600"])
        try spawnWait("/usr/bin/busybox", ["true"])
        let elapsed = clock.now - start
        kill(sidecar, SIGKILL)
        var st: Int32 = 0
        waitpid(sidecar, &st, 0)
        return seconds(elapsed)
    }

    /// The kernel's part of the pod above: the same three programs, each started as a container's
    /// PID 1 is (fresh mount, PID, IPC and UTS namespaces, an overlay root, pivot_root, /proc) but
    /// with no Tandem around them: what isolation itself costs on this machine.
    private static func namespacedStart() throws -> Double {
        func start(_ argv: [String]) throws -> pid_t {
            let cArgs = argv.map { strdup($0) } + [nil]
            defer { cArgs.forEach { free($0) } }
            let pid = tandem_bench_namespaced_spawn(cArgs)
            guard pid > 0 else { throw RuntimeError("namespaced spawn: \(String(cString: strerror(errno)))") }
            return pid
        }
        func wait(_ pid: pid_t) throws {
            var st: Int32 = 0
            while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
            guard st == 0 else { throw RuntimeError("namespaced \(pid) exited with status \(st)") }
        }
        let clock = ContinuousClock()
        let begin = clock.now
        try wait(try start(["/usr/bin/busybox", "true"]))
        let sidecar = try start(["/usr/bin/busybox", "sleep", "3600"])
        try wait(try start(["/usr/bin/busybox", "true"]))
        let elapsed = clock.now - begin
        kill(sidecar, SIGKILL)
        var st: Int32 = 0
        waitpid(sidecar, &st, 0)
        return seconds(elapsed)
    }

    /// The anchor of the one-container line: `busybox true` spawned and waited for.
    private static func directSingle() throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try spawnWait("/usr/bin/busybox", ["true"])
        return seconds(clock.now - start)
    }

    private static func spawn(_ path: String, _ argv: [String]) throws -> pid_t {
        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var env: [UnsafeMutablePointer<CChar>?] = [nil]
        let rc = posix_spawn(&pid, path, nil, nil, cArgs, &env)
        guard rc == 0 else { throw RuntimeError("posix_spawn \(path): \(String(cString: strerror(rc)))") }
        return pid
    }

    private static func spawnWait(_ path: String, _ argv: [String]) throws {
        let pid = try spawn(path, argv)
        var st: Int32 = 0
        while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
        guard st == 0 else { throw RuntimeError("\(argv.joined(separator: " ")) exited with status \(st)") }
    }

    /// Runs `body` with a temporary root and a bench-only bridge, subnet and namespace prefix
    /// (`tnd<name>0`, `tnd<name>-`): a `tandem run` on this machine keeps its pods, leases and
    /// namespaces, and `cleanupStale` can only touch the bench's own. Everything is removed
    /// afterwards, whether `body` succeeded or not.
    static func withScratch<T>(name: String, subnet: String, poolSize: Int,
                               _ body: (_ root: String, _ network: PodNetwork) async throws -> T) async throws -> T {
        var template = Array("/tmp/tandem-bench.XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw RuntimeError("mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        let root = String(cString: made)
        var netConfig = PodNetworkConfig(stateDir: root + "/net")
        netConfig.bridge = "tnd\(name)0"
        netConfig.subnet = subnet
        netConfig.netnsPrefix = "tnd\(name)-"
        netConfig.networkName = "tandem-\(name)"
        netConfig.poolSize = poolSize
        let bridgeExisted = FileManager.default.fileExists(atPath: "/sys/class/net/" + netConfig.bridge)
        let network = PodNetwork(config: netConfig)
        await network.cleanupStale()
        let result: Result<T, any Error>
        do {
            result = .success(try await body(root, network))
        } catch {
            result = .failure(error)
        }
        // Cleanup runs whether the measurements succeeded or not (a `defer` cannot await).
        await network.shutdown()
        await network.cleanupStale()
        if !bridgeExisted {
            _ = try? await spawnAndWait("/usr/sbin/ip", ["ip", "link", "delete", netConfig.bridge])
        }
        try? FileManager.default.removeItem(atPath: root)
        return try result.get()
    }

    /// For the few host commands of the clean-up; blocking is fine there.
    static func spawnAndWait(_ path: String, _ argv: [String]) async throws {
        let pid = try spawn(path, argv)
        var st: Int32 = 0
        while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

/// Median and 90th percentile of a set of timings (nearest-rank, no interpolation).
struct Stats {
    var samples: [Double]
    init(_ samples: [Double]) { self.samples = samples.sorted() }
    var median: Double { percentile(50) }
    var p90: Double { percentile(90) }
    func percentile(_ p: Double) -> Double {
        guard !samples.isEmpty else { return .nan }
        let rank = Int((p / 100 * Double(samples.count)).rounded(.up))
        return samples[min(max(rank, 1), samples.count) - 1]
    }
}

/// Log capture against `> file`, the median seconds of each over the rounds.
struct LogFigures {
    var bytes: Int
    var baselineSeconds: Double
    var captureSeconds: Double
    var relativeSpeed: Double { baselineSeconds / captureSeconds }
}

/// Everything one `tandem bench` run measured, printed as aligned text or JSON.
struct Figures {
    var iterations: Int
    var logBytes: Int
    var podStart = Stats([])
    /// The same pod started the moment the previous one ended, before the pools refilled.
    var podStartBackToBack = Stats([])
    var podStartHostNetwork = Stats([])
    /// The with-network pod again, in cgroups with limits (empty without writable cgroups).
    var podStartCgroups = Stats([])
    /// The cgroups figure was not measured because the bench runs under `chrt`.
    var cgroupsSkippedUnderRealTime = false
    var directStart = Stats([])
    var namespacedStart = Stats([])
    var networkSetup = Stats([])
    var runtimeStart = Stats([])
    var directSingle = Stats([])
    var logCapture: LogFigures?
    var logFollow: [ThroughputFigure] = []
    /// The log sidecar's figure and coreutils `tail -F`'s, when both were measured.
    var logFollowPair: (ThroughputFigure, ThroughputFigure)? {
        guard let tandem = logFollow.first(where: { $0.name == "tandem sidecar logs" }),
              let tail = logFollow.first(where: { $0.name.hasPrefix("coreutils") }) else { return nil }
        return (tandem, tail)
    }
    var gitSyncPublish = Stats([])
    var gitFetchWorktree = Stats([])
    var maxRSSKiB = 0
    var configRender: ConfigRenderFigures?

    private static func ms(_ s: Double) -> String { String(format: "%.1f ms", s * 1000) }
    private static func ratio(_ a: Double, _ b: Double) -> String { String(format: "%.1fx", a / b) }
    private static func mbps(_ bytes: Int, _ s: Double) -> Double { Double(bytes) / s / 1e6 }

    func text() -> String {
        func row(_ label: String, _ rest: String) -> String { label.padding(toLength: 46, withPad: " ", startingAt: 0) + rest }
        var lines: [String] = []
        let d = directStart.median
        lines.append(row("pod start (1 init + 1 sidecar + 1 main)",
                         "median \(Self.ms(podStart.median))   p90 \(Self.ms(podStart.p90))   = \(Self.ratio(podStart.median, d)) direct fork/exec (\(Self.ms(d)))"))
        lines.append(row("pod start, back to back (pools refilling)",
                         "median \(Self.ms(podStartBackToBack.median))   p90 \(Self.ms(podStartBackToBack.p90))   = \(Self.ratio(podStartBackToBack.median, d)) direct fork/exec"))
        lines.append(row("pod start, hostNetwork (no netns, no CNI)",
                         "median \(Self.ms(podStartHostNetwork.median))   p90 \(Self.ms(podStartHostNetwork.p90))   = \(Self.ratio(podStartHostNetwork.median, d)) direct fork/exec"))
        if cgroupsSkippedUnderRealTime {
            lines.append(row("pod start in cgroups with limits", "not measured under a real-time policy (a SCHED_FIFO task cannot join a v1 cpu cgroup without an RT budget)"))
        } else if !podStartCgroups.samples.isEmpty {
            lines.append(row("pod start in cgroups with limits",
                             "median \(Self.ms(podStartCgroups.median))   p90 \(Self.ms(podStartCgroups.p90))   = \(Self.ratio(podStartCgroups.median, podStart.median)) the same pod without cgroups (the cost of isolation)"))
        }
        lines.append(row("network set-up (netns + CNI ADD)",
                         "median \(Self.ms(networkSetup.median))   p90 \(Self.ms(networkSetup.p90))   (measured apart; made ahead in the pool, off the pod's critical path)"))
        lines.append(row("one container via Runtime (true, no pod)",
                         "median \(Self.ms(runtimeStart.median))   p90 \(Self.ms(runtimeStart.p90))   = \(Self.ratio(runtimeStart.median, directSingle.median)) direct busybox true (\(Self.ms(directSingle.median)))"))
        lines.append(row("direct fork/exec (true; sleep &; true)",
                         "median \(Self.ms(d))   p90 \(Self.ms(directStart.p90))"))
        lines.append(row("the same in namespaces, no Tandem",
                         "median \(Self.ms(namespacedStart.median))   p90 \(Self.ms(namespacedStart.p90))   = \(Self.ratio(namespacedStart.median, d)) direct; pod start = \(Self.ratio(podStartHostNetwork.median, namespacedStart.median)) this (hostNetwork)"))
        if let log = logCapture {
            let cap = Self.mbps(log.bytes, log.captureSeconds), base = Self.mbps(log.bytes, log.baselineSeconds)
            lines.append(row("log capture (\(Self.size(log.bytes)) of 100-byte lines)",
                             String(format: "%.0f MB/s   = %.0f%% of `> file` (%.0f MB/s)   medians of 3 rounds", cap, log.relativeSpeed * 100, base)))
        }
        if let (tandem, tail) = logFollowPair {
            lines.append(row("log sidecar following 256 MiB of lines",
                             String(format: "%.0f MB/s   = %.2fx coreutils tail -F (%.0f MB/s)   medians of 3 rounds; rotations: tandem bench logs",
                                    tandem.megabytesPerSecond, tail.seconds / tandem.seconds, tail.megabytesPerSecond)))
        }
        if !gitSyncPublish.samples.isEmpty {
            lines.append(row("git-sync publish after a commit (SIGHUP)",
                             "median \(Self.ms(gitSyncPublish.median))   p90 \(Self.ms(gitSyncPublish.p90))   = \(Self.ratio(gitSyncPublish.median, gitFetchWorktree.median)) git fetch + worktree add (\(Self.ms(gitFetchWorktree.median)))"))
        }
        if maxRSSKiB > 0 { lines.append(row("supervisor max RSS", String(format: "%.1f MiB", Double(maxRSSKiB) / 1024))) }
        if let c = configRender { lines.append(row("config sidecar re-render after ..data swap", c.text)) }
        lines.append("(\(iterations) timed pod starts per variant after 1 warm-up, each on a node at rest but the back-to-back one; ratios are of medians measured in this run)")
        return lines.joined(separator: "\n")
    }

    private static func size(_ bytes: Int) -> String {
        if bytes >= 1 << 30, bytes % (1 << 30) == 0 { return "\(bytes >> 30) GiB" }
        if bytes >= 1 << 20 { return String(format: "%.0f MiB", Double(bytes) / Double(1 << 20)) }
        return "\(bytes) B"
    }

    func jsonText() -> String {
        func stats(_ s: Stats) -> JSONValue {
            .object(["medianMs": .double(s.median * 1000), "p90Ms": .double(s.p90 * 1000),
                     "samplesMs": .array(s.samples.map { .double($0 * 1000) })])
        }
        var o: [String: JSONValue] = [
            "iterations": .int(Int64(iterations)),
            "podStart": stats(podStart),
            "podStartBackToBack": stats(podStartBackToBack),
            "podStartHostNetwork": stats(podStartHostNetwork),
            "podStartCgroups": stats(podStartCgroups),
            "directForkExec": stats(directStart),
            "namespacedForkExec": stats(namespacedStart),
            "networkSetup": stats(networkSetup),
            "runtimeSingleContainer": stats(runtimeStart),
            "directSingle": stats(directSingle),
            "podStartOverDirect": .double(podStart.median / directStart.median),
            "podStartHostNetworkOverDirect": .double(podStartHostNetwork.median / directStart.median),
            "podStartBackToBackOverDirect": .double(podStartBackToBack.median / directStart.median),
        ]
        if maxRSSKiB > 0 { o["maxRSSKiB"] = .int(Int64(maxRSSKiB)) }
        if !gitSyncPublish.samples.isEmpty {
            o["gitSyncPublish"] = stats(gitSyncPublish)
            o["gitFetchWorktree"] = stats(gitFetchWorktree)
            o["gitSyncPublishOverGit"] = .double(gitSyncPublish.median / gitFetchWorktree.median)
        }
        if let log = logCapture {
            o["logCapture"] = .object([
                "bytes": .int(Int64(log.bytes)),
                "captureMBps": .double(Self.mbps(log.bytes, log.captureSeconds)),
                "baselineMBps": .double(Self.mbps(log.bytes, log.baselineSeconds)),
                "relativeSpeed": .double(log.relativeSpeed),
            ])
        }
        if let c = configRender { o["configSidecarRerender"] = c.json }
        if let (tandem, tail) = logFollowPair {
            o["logFollow"] = .object(["tandemMBps": .double(tandem.megabytesPerSecond), "coreutilsTailMBps": .double(tail.megabytesPerSecond),
                                      "relativeSpeed": .double(tail.seconds / tandem.seconds)])
        }
        return JSONValue.object(o).jsonText()
    }
}
