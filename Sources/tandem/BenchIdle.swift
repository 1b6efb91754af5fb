import ArgumentParser
import ContainerRuntime
import Foundation
import KubeAPI
import Node
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `tandem bench idle`: what N running pods cost while nothing happens — the supervisor's memory,
/// threads and CPU, and the per-container processes Tandem keeps (a shim per container, a
/// `pause` per pod), beside the containers' own memory measured in the same run. The question a
/// node operator asks of conmon or containerd-shim: how much does the runtime cost per pod?
struct BenchIdle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "idle",
        abstract: "Run N idle pods and measure the supervisor's and the shims' memory and CPU beside the containers' own."
    )

    @Option(help: "Pods to run, each with one `sleep` container.")
    var pods: Int = 100

    @Option(help: "Seconds of idle time over which CPU use is measured.")
    var window: Int = 10

    @Flag(name: .customLong("host-network"), help: "Run the pods with hostNetwork (no network namespaces, no CNI).")
    var hostNetwork = false

    @Flag(help: "Print the figures as JSON.")
    var json = false

    func validate() throws {
        guard (1...250).contains(pods) else { throw ValidationError("--pods must be between 1 and 250 (the bench subnet's size)") }
        guard window >= 1 else { throw ValidationError("--window must be at least 1") }
    }

    func run() async throws {
        guard geteuid() == 0 else { throw ValidationError("tandem bench idle must run as root (namespaces, overlayfs, CNI)") }
        let figures = try await Bench.withScratch(name: "idle", subnet: "10.86.0.0/24", poolSize: 0) { root, network in
            try await measure(root: root, network: network)
        }
        print(json ? figures.jsonText() : figures.text())
    }

    private func measure(root: String, network: PodNetwork) async throws -> IdleFigures {
        let devNull = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer { close(devNull) }
        let runtime = try Runtime(logEcho: nil)
        let context = NodeContext(root: root, runtime: runtime, network: network,
                                  images: try ImageCatalog(userFile: nil, stateDir: root + "/images"),
                                  timeline: Timeline(fd: devNull, showLogs: false), hostIP: "127.0.0.1",
                                  nodeName: ProcessInfo.processInfo.hostName)
        let before = ProcessSample.current()

        // Every pod Running: counted from the workers' own status publications.
        let (running, runningCont) = AsyncStream.makeStream(of: String.self)
        var workers: [PodWorker] = []
        var runs: [Task<Pod, Never>] = []
        for i in 0..<pods {
            let pod = try Self.idlePod(index: i, hostNetwork: hostNetwork, nodeName: context.nodeName)
            let reported = Mutex(false)
            let worker = PodWorker(pod: pod, context: context, sources: VolumeSources(configMaps: [:], secrets: [:])) { p in
                guard p.status?.containerStatuses?.first?.state.running != nil else { return }
                if reported.withLock({ let first = !$0; $0 = true; return first }) { runningCont.yield(p.name) }
            }
            workers.append(worker)
            runs.append(Task { await worker.run() })
        }
        let deadline = Task {
            try? await Task.sleep(for: .seconds(60 + pods))
            runningCont.finish()
        }
        var started = 0
        for await _ in running {
            started += 1
            if started == pods { break }
        }
        deadline.cancel()

        var figures = IdleFigures(pods: pods, window: window, hostNetwork: hostNetwork)
        if started == pods {
            // Let start-up work (pool refills, layer writes, page faults) settle before sampling.
            try await Task.sleep(for: .seconds(1))
            let a = ProcessSample.current()
            try await Task.sleep(for: .seconds(window))
            let b = ProcessSample.current()
            figures.record(before: before, start: a, end: b)
        }
        await withTaskGroup(of: Void.self) { group in
            for w in workers { group.addTask { await w.terminate(gracePeriod: 1) } }
        }
        for r in runs { _ = await r.value }
        guard started == pods else { throw RuntimeError("only \(started) of \(pods) idle pods reached Running") }
        return figures
    }

    private static func idlePod(index: Int, hostNetwork: Bool, nodeName: String) throws -> Pod {
        let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: idle-\(index)}
            spec:
              restartPolicy: Never
              hostNetwork: \(hostNetwork)
              containers:
              - {name: main, image: busybox, command: ["sleep", "3600"]}
            """
        guard case .pod(var pod) = try Manifest.decode(yaml, source: "bench").first else {
            throw RuntimeError("idle pod manifest did not decode to a Pod")
        }
        pod.metadata.namespace = "default"
        pod.metadata.uid = UUID().uuidString.lowercased()
        pod.metadata.creationTimestamp = Timestamp.string(Date())
        pod.spec.nodeName = nodeName
        return pod
    }
}

/// One reading of the supervisor and its process tree from /proc.
struct ProcessSample {
    struct Group { var count = 0; var pssKiB = 0; var cpuTicks = 0 }
    var supervisorRSSKiB = 0
    var supervisorThreads = 0
    /// The supervisor's CPU ticks before and after this sample's own /proc scan, so that a window
    /// from one sample to the next counts neither scan.
    var supervisorTicks = 0
    var supervisorTicksAfterScan = 0
    /// The processes Tandem keeps per container and per pod: shims, `pause`, the zygote.
    var runtime = Group()
    /// The containers' own processes (`sleep`).
    var containers = Group()

    static func current() -> ProcessSample {
        let me = getpid()
        var s = ProcessSample()
        let status = read("/proc/self/status")
        s.supervisorRSSKiB = field(status, "VmRSS:")
        s.supervisorThreads = field(status, "Threads:")
        s.supervisorTicks = cpuTicks(me)
        var children: [pid_t: [pid_t]] = [:]
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for e in entries {
            guard let pid = pid_t(e), let parent = parentPID(pid) else { continue }
            children[parent, default: []].append(pid)
        }
        var queue = children[me] ?? []
        while let pid = queue.popLast() {
            queue += children[pid] ?? []
            let comm = read("/proc/\(pid)/comm").trimmingCharacters(in: .whitespacesAndNewlines)
            let pss = field(read("/proc/\(pid)/smaps_rollup"), "Pss:")
            let ticks = cpuTicks(pid)
            if comm == "sleep" {
                s.containers.count += 1; s.containers.pssKiB += pss; s.containers.cpuTicks += ticks
            } else {
                s.runtime.count += 1; s.runtime.pssKiB += pss; s.runtime.cpuTicks += ticks
            }
        }
        s.supervisorTicksAfterScan = cpuTicks(me)
        return s
    }

    private static func read(_ path: String) -> String {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    private static func field(_ text: String, _ name: String) -> Int {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return 0 }
        return Int(line.dropFirst(name.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "") ?? 0
    }

    /// Fields after the command name in /proc/PID/stat (it may contain spaces, so split after ')').
    private static func statFields(_ pid: pid_t) -> [Substring] {
        let text = read("/proc/\(pid)/stat")
        guard let close = text.lastIndex(of: ")") else { return [] }
        return text[text.index(after: close)...].split(separator: " ")
    }

    private static func parentPID(_ pid: pid_t) -> pid_t? {
        let f = statFields(pid)
        return f.count > 1 ? pid_t(f[1]) : nil
    }

    /// utime + stime (fields 14 and 15 of stat), in clock ticks.
    private static func cpuTicks(_ pid: pid_t) -> Int {
        let f = statFields(pid)
        guard f.count > 12 else { return 0 }
        return (Int(f[11]) ?? 0) + (Int(f[12]) ?? 0)
    }
}

struct IdleFigures {
    var pods: Int
    var window: Int
    var hostNetwork: Bool
    var idleSupervisorRSSKiB = 0
    var supervisorRSSKiB = 0
    var supervisorThreads = 0
    var supervisorCPUPercent = 0.0
    var runtimeProcesses = 0
    var runtimePSSKiB = 0
    var runtimeCPUPercent = 0.0
    var containerProcesses = 0
    var containerPSSKiB = 0

    mutating func record(before: ProcessSample, start: ProcessSample, end: ProcessSample) {
        let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
        idleSupervisorRSSKiB = before.supervisorRSSKiB
        supervisorRSSKiB = end.supervisorRSSKiB
        supervisorThreads = end.supervisorThreads
        supervisorCPUPercent = Double(max(0, end.supervisorTicks - start.supervisorTicksAfterScan)) / hz / Double(window) * 100
        runtimeProcesses = end.runtime.count
        runtimePSSKiB = end.runtime.pssKiB
        runtimeCPUPercent = Double(max(0, end.runtime.cpuTicks - start.runtime.cpuTicks)) / hz / Double(window) * 100
        containerProcesses = end.containers.count
        containerPSSKiB = end.containers.pssKiB
    }

    /// Tandem's own memory per pod: the supervisor's growth over its idle self plus the shims.
    var perPodKiB: Double { Double(supervisorRSSKiB - idleSupervisorRSSKiB + runtimePSSKiB) / Double(pods) }
    var containerPerPodKiB: Double { Double(containerPSSKiB) / Double(pods) }

    func text() -> String {
        func mib(_ kib: Int) -> String { String(format: "%.1f MiB", Double(kib) / 1024) }
        func kib(_ v: Double) -> String { String(format: "%.0f KiB", v) }
        let podman = ["/usr/bin/conmon", "/usr/libexec/podman/conmon"].contains { FileManager.default.isExecutableFile(atPath: $0) }
        return [
            "idle cost of \(pods) running pods (1 container each, \(hostNetwork ? "hostNetwork" : "pod network")), \(window) s window",
            "supervisor (tandem)                 RSS \(mib(supervisorRSSKiB)) (idle tandem \(mib(idleSupervisorRSSKiB)))   threads \(supervisorThreads)   CPU \(String(format: "%.2f", supervisorCPUPercent))% of a core",
            "shims, pause, zygote (\(runtimeProcesses) processes)   PSS \(mib(runtimePSSKiB))   CPU \(String(format: "%.2f", runtimeCPUPercent))% of a core",
            "the containers themselves (\(containerProcesses) sleep)   PSS \(mib(containerPSSKiB)) = \(kib(containerPerPodKiB)) per pod (anchor)",
            "Tandem per pod                      \(kib(perPodKiB)) = \(String(format: "%.1fx", perPodKiB / max(containerPerPodKiB, 1))) the container's own memory",
            podman ? "podman's conmon: installed but not measured by this bench" : "podman's conmon: not installed on this machine, not measured",
        ].joined(separator: "\n")
    }

    func jsonText() -> String {
        let object: [String: Any] = [
            "pods": pods, "windowSeconds": window, "hostNetwork": hostNetwork,
            "idleSupervisorRSSKiB": idleSupervisorRSSKiB, "supervisorRSSKiB": supervisorRSSKiB,
            "supervisorThreads": supervisorThreads, "supervisorCPUPercent": supervisorCPUPercent,
            "runtimeProcesses": runtimeProcesses, "runtimePSSKiB": runtimePSSKiB, "runtimeCPUPercent": runtimeCPUPercent,
            "containerProcesses": containerProcesses, "containerPSSKiB": containerPSSKiB,
            "perPodKiB": perPodKiB, "containerPerPodKiB": containerPerPodKiB,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
