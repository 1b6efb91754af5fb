import CTandemInit
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What a persistent runtime writes beside each container (and sandbox) it starts, so that the
/// next Tandem can adopt it: containerd keeps the same about its tasks so a restarted kubelet
/// finds its containers still running.
struct ShimRecord: Codable {
    var shimPid: Int32
    /// Field 22 of the shim's `/proc/PID/stat`: a recycled pid is never taken for the shim.
    var shimStart: String
    var pid: Int32
    var startedAt: Date
    var isolation: ProcessIsolation
    var sandbox: PodSandbox?

    static func path(_ stateDir: String) -> String { stateDir + "/shim.json" }
}

extension Runtime {
    /// The two CRI log writers of a container's stdout and stderr (one file, one clock).
    static func logSinks(out: Int32, err: Int32, logFD: Int32, echoOut: (@Sendable (String) -> Void)?,
                         echoErr: (@Sendable (String) -> Void)?) -> [(fd: Int32, sink: any ByteSink)] {
        let clock = TimestampFormatter()
        return [
            (fd: out, sink: CRILogSink(fd: logFD, stream: .stdout, clock: clock, echo: echoOut)),
            (fd: err, sink: CRILogSink(fd: logFD, stream: .stderr, clock: clock, echo: echoErr)),
        ]
    }

    func writeRecord(for process: ContainerProcess, at stateDir: String, sandbox: PodSandbox? = nil) {
        guard let shim = process.shimPid, let start = processStartTime(shim) else { return }
        let record = ShimRecord(shimPid: shim, shimStart: start, pid: process.pid, startedAt: process.startedAt,
                                isolation: process.isolation, sandbox: sandbox)
        guard let data = try? JSONEncoder().encode(record) else { return }
        _ = claimed.withLock { $0.insert(stateDir) }
        try? Sys.mkdirs(stateDir)
        try? Sys.writeFile(ShimRecord.path(stateDir), data)
    }

    /// Takes over a container (or, with `logPath` nil, a sandbox) that a previous persistent
    /// Runtime started in `stateDir`: its output is read on from where the old Tandem stopped and
    /// appended to `logPath`, and waiting on the result reports its exit as for a container this
    /// Runtime started — also when it exited while no Tandem ran (the shim keeps the exit status
    /// until it is read). Nil when there is nothing to adopt: no record, or the shim is gone
    /// (then so is its container, killed by PDEATHSIG).
    public func adopt(id: String, stateDir: String, logPath: String?) -> (process: ContainerProcess, sandbox: PodSandbox?)? {
        guard let data = FileManager.default.contents(atPath: ShimRecord.path(stateDir)),
              let record = try? JSONDecoder().decode(ShimRecord.self, from: data),
              processStartTime(record.shimPid) == record.shimStart else { return nil }
        var fds: [Int32] = []
        _ = claimed.withLock { $0.insert(stateDir) }
        for keep in [TANDEM_KEEP_OUT, TANDEM_KEEP_ERR, TANDEM_KEEP_STATUS] {
            let fd = open("/proc/\(record.shimPid)/fd/\(keep)", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                fds.forEach { close($0) }
                return nil
            }
            fds.append(fd)
        }
        let session = ShimSession()
        session.statusLine("P \(record.shimPid)")
        // The container's pid is signalled only while it is still the shim's child: once the
        // shim reaped it, the pid may name another process.
        let alive = processStat(record.pid).map { $0.count > 1 && Int32($0[1]) == record.shimPid } ?? false
        session.statusLine("S \(record.pid)")
        var sinks: [(fd: Int32, sink: any ByteSink)]
        if let logPath, case let logFD = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640), logFD >= 0 {
            let echo = logEcho
            sinks = Self.logSinks(out: fds[0], err: fds[1], logFD: logFD,
                                  echoOut: echo.map { e in { @Sendable line in e(id, .stdout, line) } },
                                  echoErr: echo.map { e in { @Sendable line in e(id, .stderr, line) } })
            sinks.append((fds[2], StatusSink(session)))
            start(adopted: session, sinks) { close(logFD) }
        } else {
            sinks = [(fds[0], DataSink(limit: 4096) { _ in }), (fds[1], DataSink(limit: 4096) { _ in }), (fds[2], StatusSink(session))]
            start(adopted: session, sinks) {}
        }
        let process = ContainerProcess(id: id, pid: record.pid, startedAt: record.startedAt, session: session,
                                       isolation: record.isolation, signalable: alive)
        return (process, record.sandbox)
    }

    private func start(adopted session: ShimSession, _ sinks: [(fd: Int32, sink: any ByteSink)], onDrained: @escaping @Sendable () -> Void) {
        Drain.start(sinks, name: "tandem-io-adopted") {
            onDrained()
            session.releaseShim()
            session.ioFinished()
        }
    }

    /// Once every pod was adopted: kills every shim a previous persistent Runtime left under
    /// `dir` that nothing took over (a container started just before Tandem was killed, before
    /// its pod's checkpoint named it), and removes its state.
    public func discardUnclaimed(under dir: String) {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
            let stateDir = dir + "/" + entry
            guard FileManager.default.fileExists(atPath: ShimRecord.path(stateDir)),
                  !claimed.withLock({ $0.contains(stateDir) }) else { continue }
            discard(stateDir: stateDir)
            removeState(stateDir: stateDir)
        }
    }

    /// Kills what a previous persistent Runtime left in `stateDir` and nobody adopts (a pod
    /// deleted while Tandem was down): the shim, and with it its container.
    public func discard(stateDir: String) {
        guard let data = FileManager.default.contents(atPath: ShimRecord.path(stateDir)),
              let record = try? JSONDecoder().decode(ShimRecord.self, from: data) else { return }
        let fd = tandem_pidfd_open(record.shimPid)
        guard fd >= 0 else { return }
        if processStartTime(record.shimPid) == record.shimStart { _ = tandem_pidfd_send_signal(fd, SIGKILL) }
        close(fd)
    }
}
