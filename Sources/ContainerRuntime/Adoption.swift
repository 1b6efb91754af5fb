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
    /// The container's `stdin`, `stdinOnce` and `tty` (absent in records of older Tandems: all false).
    var stdin: Bool?
    var stdinOnce: Bool?
    var tty: Bool?

    static func path(_ stateDir: String) -> String { stateDir + "/shim.json" }
}

extension Runtime {
    /// The CRI log writers of a container's output (one file, one clock), each also feeding its
    /// attach sessions: stdout and stderr, or a terminal's one stream, logged as stdout.
    func logSinks(_ reads: [(fd: Int32, stderr: Bool)], logFD: Int32, id: String, stdio: ContainerStdio) -> [(fd: Int32, sink: any ByteSink)] {
        let clock = TimestampFormatter()
        return reads.map { read in
            let stream: LogStream = read.stderr ? .stderr : .stdout
            let echo = logEcho.map { e in { @Sendable (line: String) in e(id, stream, line) } }
            return (fd: read.fd, sink: TappedSink(CRILogSink(fd: logFD, stream: stream, clock: clock, echo: echo), stdio: stdio, stderr: read.stderr))
        }
    }

    func writeRecord(for process: ContainerProcess, at stateDir: String, sandbox: PodSandbox? = nil, spec: ContainerSpec? = nil) {
        guard let shim = process.shimPid, let start = processStartTime(shim) else { return }
        let record = ShimRecord(shimPid: shim, shimStart: start, pid: process.pid, startedAt: process.startedAt,
                                isolation: process.isolation, sandbox: sandbox, stdin: spec?.stdin, stdinOnce: spec?.stdinOnce, tty: spec?.tty)
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
        _ = claimed.withLock { $0.insert(stateDir) }
        let tty = record.tty == true, stdin = record.stdin == true
        // The shim's read ends of its stdout and stderr pipes, or its copy of the pty master
        // (duplicated: opening a master's /proc link would open a new pty), then its status pipe.
        var fds: [Int32] = []
        for keep in tty ? [TANDEM_KEEP_STATUS] : [TANDEM_KEEP_OUT, TANDEM_KEEP_ERR, TANDEM_KEEP_STATUS] {
            let fd = open("/proc/\(record.shimPid)/fd/\(keep)", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                fds.forEach { close($0) }
                return nil
            }
            fds.append(fd)
        }
        var reads: [(fd: Int32, stderr: Bool)] = tty ? [] : [(fds[0], false), (fds[1], true)]
        var input: Int32 = -1
        if tty {
            let master = Self.shimDescriptor(record.shimPid, TANDEM_KEEP_OUT)
            guard master >= 0 else {
                fds.forEach { close($0) }
                return nil
            }
            reads = [(master, false)]
            if stdin { input = fcntl(master, F_DUPFD_CLOEXEC, 0) }
        } else if stdin {
            // Gone once a `stdinOnce` container's stdin was closed.
            input = open("/proc/\(record.shimPid)/fd/\(TANDEM_KEEP_IN)", O_WRONLY | O_CLOEXEC)
        }
        let status = fds[fds.count - 1]
        let stdio = ContainerStdio(tty: tty, stdinOnce: record.stdinOnce == true, input: input)
        let session = ShimSession()
        session.statusLine("P \(record.shimPid)")
        if stdin, !tty { stdio.keptBy(session) }
        // The container's pid is signalled only while it is still the shim's child: once the
        // shim reaped it, the pid may name another process.
        let alive = processStat(record.pid).map { $0.count > 1 && Int32($0[1]) == record.shimPid } ?? false
        session.statusLine("S \(record.pid)")
        var sinks: [(fd: Int32, sink: any ByteSink)]
        if let logPath, case let logFD = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640), logFD >= 0 {
            sinks = logSinks(reads, logFD: logFD, id: id, stdio: stdio)
            sinks.append((status, StatusSink(session)))
            start(adopted: session, sinks) {
                close(logFD)
                stdio.outputEnded()
            }
        } else {
            sinks = reads.map { (fd: $0.fd, sink: DataSink(limit: 4096) { _ in }) }
            sinks.append((status, StatusSink(session)))
            start(adopted: session, sinks) { stdio.outputEnded() }
        }
        let process = ContainerProcess(id: id, pid: record.pid, startedAt: record.startedAt, session: session,
                                       isolation: record.isolation, signalable: alive, stdio: stdio)
        return (process, record.sandbox)
    }

    /// A copy of descriptor `fd` of process `pid` (`pidfd_getfd`); -1 when it cannot be had.
    private static func shimDescriptor(_ pid: Int32, _ fd: Int32) -> Int32 {
        let pidfd = tandem_pidfd_open(pid)
        guard pidfd >= 0 else { return -1 }
        defer { close(pidfd) }
        return tandem_pidfd_getfd(pidfd, fd)
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
