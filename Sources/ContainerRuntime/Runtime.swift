import CTandemInit
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A volume bind mount: `source` on the host appears at `target` inside the container.
public struct BindMount: Sendable, Hashable {
    public var source: String
    public var target: String
    public var readOnly: Bool
    public init(source: String, target: String, readOnly: Bool = false) {
        self.source = source
        self.target = target
        self.readOnly = readOnly
    }
}

/// The content of a file placed into a container's root before it starts.
public struct FileContent: Sendable, Hashable {
    public var data: Data
    public var mode: UInt32
    /// When set, a symlink to this target is created instead of a regular file (the
    /// nginx image links its log files to /dev/stdout and /dev/stderr this way).
    public var symlinkTarget: String?
    public init(_ data: Data, mode: UInt32 = 0o644) {
        self.data = data
        self.mode = mode
    }
    public init(_ text: String, mode: UInt32 = 0o644) {
        self.init(Data(text.utf8), mode: mode)
    }
    public static func symlink(to target: String) -> FileContent {
        var f = FileContent(Data())
        f.symlinkTarget = target
        return f
    }
}

public struct ContainerSpec: Sendable {
    /// Unique, e.g. 16 hex chars; the containerID is "tandem://<id>".
    public var id: String
    /// argv[0] may be a bare name, resolved against PATH from `env` inside the container.
    public var argv: [String]
    /// "KEY=VALUE", in order.
    public var env: [String]
    public var workingDir: String?
    /// Applied in order (the caller sorts them by target depth).
    public var mounts: [BindMount]
    /// Set only for a container outside any pod sandbox (which would own the hostname).
    public var hostname: String?
    /// The pod sandbox to join (its IPC and UTS namespaces, its /dev/shm); nil for a
    /// container of its own (tests, benchmarks), which gets fresh ones.
    public var sandbox: PodSandbox?
    /// nil: the host network namespace.
    public var netnsPath: String?
    /// Per-container dir tandem owns, made only for a persistent runtime: the shim's record.
    public var stateDir: String
    /// The CRI log file, created with its parent dirs.
    public var logPath: String
    /// The tree of files the image carries (`ImageFiles`), copied into the container's fresh
    /// writable layer at each start.
    public var imageFiles: String?
    /// Cgroups and securityContext.
    public var isolation = ProcessIsolation()
    /// `stdin`, `stdinOnce`, `tty` of the container's spec: a stdin pipe the runtime holds
    /// open, closed after the first attach; a pseudo-terminal as stdin, stdout and stderr.
    public var stdin = false
    public var stdinOnce = false
    public var tty = false
    /// The host pid of a running container's PID 1 whose PID namespace this one joins (an
    /// ephemeral container's `targetContainerName`); nil: its own, or the sandbox's.
    public var pidNamespaceOf: Int32?

    public init(id: String, argv: [String], env: [String] = [], workingDir: String? = nil, mounts: [BindMount] = [],
                hostname: String? = nil, sandbox: PodSandbox? = nil, netnsPath: String? = nil, stateDir: String, logPath: String,
                imageFiles: String? = nil) {
        self.id = id
        self.argv = argv
        self.env = env
        self.workingDir = workingDir
        self.mounts = mounts
        self.hostname = hostname
        self.sandbox = sandbox
        self.netnsPath = netnsPath
        self.stateDir = stateDir
        self.logPath = logPath
        self.imageFiles = imageFiles
    }
}

public struct ContainerExit: Sendable, Equatable {
    /// The exit code, or 128 + signal when the process was killed (137 for SIGKILL).
    public var exitCode: Int32
    public var signal: Int32?
    public var finishedAt: Date
    /// Set when the container never ran (the kubelet's StartError, exit code 128).
    public var startError: String?
}

/// The shim failed before exec'ing the container's command: the kubelet reports this
/// as a StartError / ContainerCannotRun with exit code 128.
public struct ContainerStartError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var exitCode: Int32 { 128 }
    public var description: String { "failed to start container: \(message)" }
}

public struct ExecResult: Sendable {
    /// nil when the command timed out.
    public var exitCode: Int32?
    /// stdout and stderr, interleaved as written.
    public var output: String
    public var timedOut: Bool
}

/// What a pod sandbox holds for its containers, as the pause container does under the
/// kubelet: the pod's IPC namespace, its UTS namespace (the hostname; the host's for
/// `hostNetwork` pods) and its /dev/shm.
public struct PodSandbox: Sendable, Codable {
    /// The host pid of the sandbox's process (`pause`).
    public var pid: Int32
    /// Where the pod's /dev/shm tmpfs is mounted, in the sandbox's mount namespace only.
    public var shmDir: String
    /// `shareProcessNamespace`: one PID namespace for the pod, `pause` its PID 1.
    public var sharesPIDNamespace: Bool
    /// `hostPID`: containers stay in the host's PID namespace (and see every host process).
    public var usesHostPIDNamespace = false
    /// The pod's hostname, which each container sets in the sandbox's UTS namespace as it joins:
    /// a sandbox from the pool was started before its pod was known (`SandboxPool`).
    public var hostname: String?
}

/// A running (or exited) container: its PID 1 is a host process in its own namespaces.
public final class ContainerProcess: Sendable {
    public let id: String
    /// The host pid of the container's PID 1.
    public let pid: Int32
    public let startedAt: Date
    let session: ShimSession
    /// Signals go through a pidfd so a recycled pid can never be hit.
    private let pidfd: Mutex<Int32>
    /// What exec'd commands (probes, hooks) run with too, as `runc exec` reuses the process spec.
    let isolation: ProcessIsolation
    /// Its stdin and live output, for `kubectl attach`.
    public let stdio: ContainerStdio

    /// `signalable: false` for an adopted container whose process may already be gone (and its pid
    /// reused): it is never signalled, only its shim.
    init(id: String, pid: Int32, startedAt: Date, session: ShimSession, isolation: ProcessIsolation = ProcessIsolation(),
         signalable: Bool = true, stdio: ContainerStdio = ContainerStdio()) {
        self.isolation = isolation
        self.stdio = stdio
        self.id = id
        self.pid = pid
        self.startedAt = startedAt
        self.session = session
        self.pidfd = Mutex(signalable ? tandem_pidfd_open(pid) : -1)
    }

    deinit { pidfd.withLock { if $0 >= 0 { close($0) } } }

    /// Sends `signo` to the container's PID 1; a no-op once it exited. As on a real node,
    /// PID 1 ignores signals it has no handler for (SIGKILL excepted).
    public func signal(_ signo: Int32) {
        guard !session.childExited else { return }
        pidfd.withLock { fd in
            if fd >= 0 { _ = tandem_pidfd_send_signal(fd, signo) } else if signo == SIGKILL { session.killShim() }
        }
    }

    /// Returns once the container exited *and* its stdout/stderr are fully in the log.
    /// Any number of tasks may wait.
    public func wait() async -> ContainerExit {
        let o = await session.finished()
        let st = o.status
        return ContainerExit(exitCode: st.code, signal: st.signal, finishedAt: o.finishedAt, startError: nil)
    }

    /// Kills the shim (tests use it to simulate the shim dying).
    func killShim() { session.killShim() }

    /// Whether the process is known to have exited.
    var hasExited: Bool { session.childExited }

    /// The shim's host pid.
    var shimPid: pid_t? { session.shimPid }
}

/// Runs containers as host processes in their own namespaces, through the C shim.
///
/// The runtime holds the write end of a *lifeline* pipe; every shim (and the zygote that
/// forks them) holds the read end and kills its container the moment it sees EOF. The
/// kernel closes the write end when tandem dies for any reason (kill -9 included), so no
/// container outlives tandem, and also when this Runtime is deinitialised.
public final class Runtime: Sendable {
    /// Containers and sandboxes outlive this process (`tandem serve`, as containers outlive a
    /// kubelet restart) and a later Runtime adopts them; see `adopt`.
    public let persistent: Bool
    /// State dirs whose shim records this Runtime wrote or adopted (see `discardUnclaimed`).
    let claimed = Mutex<Set<String>>([])
    private let lifelineRead: Int32
    private let lifelineWrite: Mutex<Int32>
    /// Every shim's stdin unless a streaming exec or a container's `stdin`/`tty` gives it one
    /// (`Sys.spawn` would map -1 to /dev/null, but a zygote request carries real descriptors only).
    let devNull: Int32
    /// nil if it could not be started: every shim is then spawned directly.
    private let zygote: Zygote?
    let logEcho: (@Sendable (_ containerID: String, _ stream: LogStream, _ line: String) -> Void)?
    private let logger = Logger(label: "tandem.runtime")
    /// Ready sandboxes, once `enableSandboxPool` was called.
    let sandboxPool = Mutex<SandboxPool?>(nil)

    public init(logEcho: (@Sendable (_ containerID: String, _ stream: LogStream, _ line: String) -> Void)?,
                persistent: Bool = false) throws {
        self.persistent = persistent
        // Keeps the constructor's object file linked into every binary that uses the runtime.
        precondition(tandem_init_linked() == 1)
        let p = try Sys.pipe()
        lifelineRead = p.read
        lifelineWrite = Mutex(p.write)
        devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        self.logEcho = logEcho
        do {
            zygote = try Zygote(shimPath: Self.shimPath, lifeline: p.read)
        } catch {
            Logger(label: "tandem.runtime").warning("no zygote, spawning every shim directly: \(error)")
            zygote = nil
        }
    }

    deinit {
        lifelineWrite.withLock { if $0 >= 0 { close($0) } }
        close(lifelineRead)
        close(devNull)
    }

    /// Closes the lifeline: every container of this runtime is killed, as if tandem died.
    func severLifeline() {
        lifelineWrite.withLock { fd in
            if fd >= 0 { close(fd) }
            fd = -1
        }
    }

    private static let shimPath = "/proc/self/exe"

    /// The zygote's pid (tests check where shims come from, and kill it to force the fallback).
    var zygotePid: pid_t? { zygote?.pid }

    /// Starts a container; returns once its command was exec'd, or throws
    /// `ContainerStartError` when set-up failed first (missing binary, bad mount, …).
    public func start(_ spec: ContainerSpec) async throws -> ContainerProcess {
        guard !spec.argv.isEmpty else { throw ContainerStartError(message: "no command") }
        let (session, stdio) = try launch(spec, mode: "run", start: devNull)
        return try await running(spec, session: session, stdio: stdio)
    }

    /// Sets a container up to the point of exec'ing its command and leaves it waiting, as
    /// `runc create` does: namespaces, root, /dev, volumes and cgroups are all in place when
    /// `CreatedContainer.start` runs it, so a pod's next container starts in the time of an
    /// exec. Returns at once; set-up goes on in the shim.
    public func create(_ spec: ContainerSpec) throws -> CreatedContainer {
        guard !spec.argv.isEmpty else { throw ContainerStartError(message: "no command") }
        var sp: [Int32] = [-1, -1]
        guard tandem_socketpair_cloexec(&sp) == 0 else { throw RuntimeError.errno("socketpair") }
        defer { close(sp[1]) }
        // The log is written under a name of its own until the start: a Tandem killed meanwhile
        // leaves no `<restartCount>.log` of a container that never ran to count as a run.
        var staged = spec
        staged.logPath = CreatedContainer.stagedLog(spec.logPath)
        do {
            let (session, stdio) = try launch(staged, mode: "create", start: sp[1])
            return CreatedContainer(spec: spec, runtime: self, session: session, stdio: stdio, socket: sp[0])
        } catch {
            close(sp[0])
            throw error
        }
    }

    /// A container's process once `session` reports the exec, or its start error.
    func running(_ spec: ContainerSpec, session: ShimSession, stdio: ContainerStdio) async throws -> ContainerProcess {
        switch await session.started() {
        case .success(let pid):
            let process = ContainerProcess(id: spec.id, pid: pid, startedAt: Date(), session: session, isolation: spec.isolation,
                                           stdio: stdio)
            if persistent { writeRecord(for: process, at: spec.stateDir, spec: spec) }
            return process
        case .failure(let e):
            _ = await session.finished()
            logger.debug("container \(spec.id) failed to start: \(e.message)")
            throw e
        }
    }

    /// Opens the log and hands the container's shim to the zygote in `mode` ("run" or "create",
    /// whose start socket is `start`).
    private func launch(_ spec: ContainerSpec, mode: String, start: Int32) throws -> (ShimSession, ContainerStdio) {
        try Sys.mkdirs((spec.logPath as NSString).deletingLastPathComponent)
        let logFD = open(spec.logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard logFD >= 0 else { throw RuntimeError.errno("open log \(spec.logPath)") }

        var config = ShimConfig()
        if let netns = spec.netnsPath { config.add("netns", netns) }
        // The writable layer is the shim's (a tmpfs in the container's mount namespace, see
        // `mount_root` in init.c), which copies the image's files into it.
        if let dir = spec.imageFiles { config.add("image", dir) }
        if let sandbox = spec.sandbox {
            config.add("sandbox", String(sandbox.pid))
            if let hostname = sandbox.hostname { config.add("hostname", hostname) }
            config.add("shm", sandbox.shmDir)
            if sandbox.sharesPIDNamespace { config.add("sharepid", "1") }
            if sandbox.usesHostPIDNamespace { config.add("hostpid", "1") }
        } else if let hostname = spec.hostname {
            config.add("hostname", hostname)
        }
        if let target = spec.pidNamespaceOf { config.add("pidns", String(target)) }
        if let cwd = spec.workingDir, !cwd.isEmpty { config.add("cwd", cwd) }
        if persistent { config.add("persist", "1") }
        for m in spec.mounts { config.add("bind", m.readOnly ? "ro" : "rw", m.source, m.target) }
        for a in spec.argv { config.add("arg", a) }
        for e in spec.env { config.add("env", e) }
        spec.isolation.add(to: &config)

        if spec.tty { config.add("tty", "1") } else if spec.stdin { config.add("stdin", "1") }
        let session: ShimSession
        let stdio: ContainerStdio
        do {
            let fds = try StdioSetup.make(stdin: spec.stdin, tty: spec.tty, devNull: devNull)
            stdio = ContainerStdio(tty: spec.tty, stdinOnce: spec.stdinOnce, input: fds.input)
            let sources = logSinks(fds.reads, logFD: logFD, id: spec.id, stdio: stdio)
            session = try spawnShim(mode: mode, config: config, name: spec.id, stdin: fds.shimIn, out: fds.shimOut, err: fds.shimErr,
                                    start: start, sources: sources, readEnds: Set(fds.reads.map(\.fd))) {
                close(logFD)
                stdio.outputEnded()
            }
        } catch {
            close(logFD)
            throw error
        }
        // A persistent shim holds a write end of the stdin pipe too (tandem may die meanwhile),
        // which it closes when told: `stdinOnce`.
        if persistent, spec.stdin, !spec.tty { stdio.keptBy(session) }
        return (session, stdio)
    }

    /// Starts a pod sandbox: one idle process (named `pause`) in new IPC (the host's with
    /// `hostIPC`) and, given a hostname, UTS namespaces (and with `sharePIDNamespace` a PID
    /// namespace it is PID 1 of; with `hostPID` containers stay in the host's), with a tmpfs at
    /// `shmDir` in a mount namespace of its own. Containers
    /// started with the returned sandbox join it. Waiting on the process tells when the sandbox
    /// is lost; `signal(SIGKILL)` removes it (the kubelet's StopPodSandbox).
    /// `isolation` places it (its cgroups and OOM score; the sandbox is not a user's process).
    public func startSandbox(id: String, hostname: String?, shmDir: String, sharePIDNamespace: Bool = false,
                             hostPID: Bool = false, hostIPC: Bool = false,
                             isolation: ProcessIsolation = ProcessIsolation(), stateDir: String? = nil) async throws
        -> (process: ContainerProcess, sandbox: PodSandbox) {
        // Not for a pod in cgroups: a ready `pause` would have to be moved into the pod's cgroups
        // from outside, and in a v1 hierarchy that write holds the kernel's cgroup_mutex through an
        // RCU grace period (`join_cgroup` in isolation.c), which the pod's own container cgroups
        // then wait for: measured, a pod in cgroups started in 25 ms with a pooled sandbox and in
        // 20 ms with a fresh one, whose `pause` joins by itself without that wait.
        if !sharePIDNamespace, !hostPID, !hostIPC, isolation.cgroupProcs.isEmpty, let stateDir,
           let taken = takePooledSandbox(ownUTS: hostname != nil, stateDir: stateDir) {
            if let adj = isolation.oomScoreAdj, adj != Self.sandboxOOMScoreAdj {
                try? Sys.writeFile("/proc/\(taken.process.pid)/oom_score_adj", Array(String(adj).utf8))
            }
            var sandbox = PodSandbox(pid: taken.process.pid, shmDir: taken.shmDir, sharesPIDNamespace: false)
            sandbox.hostname = hostname
            return (taken.process, sandbox)
        }
        let started = try await startFreshSandbox(id: id, hostname: hostname, shmDir: shmDir, sharePIDNamespace: sharePIDNamespace,
                                                  hostPID: hostPID, hostIPC: hostIPC, isolation: isolation, persist: persistent && stateDir != nil)
        if persistent, let stateDir { writeRecord(for: started.process, at: stateDir, sandbox: started.sandbox) }
        return started
    }

    func startFreshSandbox(id: String, hostname: String?, shmDir: String, sharePIDNamespace: Bool = false, hostPID: Bool = false,
                           hostIPC: Bool = false, isolation: ProcessIsolation, persist: Bool = false) async throws
        -> (process: ContainerProcess, sandbox: PodSandbox) {
        try Sys.mkdirs(shmDir)
        var config = ShimConfig()
        if persist { config.add("persist", "1") }
        config.add("shm", shmDir)
        isolation.add(to: &config)
        if let hostname { config.add("hostname", hostname) }
        if sharePIDNamespace { config.add("sharepid", "1") }
        if hostIPC { config.add("hostipc", "1") }
        let session = try spawnShim(mode: "sandbox", config: config, name: "sandbox-\(id)") { out, err in
            [(fd: out, sink: DataSink(limit: 4096) { _ in }), (fd: err, sink: DataSink(limit: 4096) { _ in })]
        } onDrained: {}
        switch await session.started() {
        case .success(let pid):
            let process = ContainerProcess(id: "sandbox-\(id)", pid: pid, startedAt: Date(), session: session)
            let sandbox = PodSandbox(pid: pid, shmDir: shmDir, sharesPIDNamespace: sharePIDNamespace, usesHostPIDNamespace: hostPID)
            return (process, sandbox)
        case .failure(let e):
            _ = await session.finished()
            throw e
        }
    }

    /// Starts a shim with stdout/stderr pipes handed to `sinks` and the status pipe to a
    /// session; everything is drained on one thread.
    private func spawnShim(mode: String, config: ShimConfig, name: String, sharedOutput: Bool = false,
                           sinks: (_ out: Int32, _ err: Int32) -> [(fd: Int32, sink: any ByteSink)],
                           onDrained: @escaping @Sendable () -> Void) throws -> ShimSession {
        let out = try Sys.pipe()
        let err: (read: Int32, write: Int32)
        do { err = sharedOutput ? out : try Sys.pipe() } catch {
            close(out.read)
            close(out.write)
            throw error
        }
        Sys.growPipe(out.read)
        if !sharedOutput { Sys.growPipe(err.read) }
        let sources = sharedOutput ? Array(sinks(out.read, -1).prefix(1)) : sinks(out.read, err.read)
        return try spawnShim(mode: mode, config: config, name: name, stdin: devNull, out: out.write, err: err.write,
                             sources: sources, readEnds: Set([out.read, err.read]), onDrained: onDrained)
    }

    /// Starts a shim on the given stdio (the shim's copies; ours are closed here once it has
    /// them) and drains `sources` plus the status pipe on one thread. On failure every
    /// descriptor passed in is closed, `readEnds` included (they would never see EOF).
    func spawnShim(mode: String, config: ShimConfig, name: String, stdin: Int32, out: Int32, err: Int32, start: Int32? = nil,
                   sources: [(fd: Int32, sink: any ByteSink)], readEnds: Set<Int32>,
                   onDrained: @escaping @Sendable () -> Void) throws -> ShimSession {
        let ours = Set([out, err] + (stdin == devNull ? [] : [stdin]))
        let cfgFD: Int32
        let status: (read: Int32, write: Int32)
        do {
            cfgFD = try Sys.memfd(config.bytes)
            do { status = try Sys.pipe() } catch {
                close(cfgFD)
                throw error
            }
        } catch {
            for fd in ours.union(readEnds) { close(fd) }
            throw error
        }
        defer { close(cfgFD) }
        let lifeline = lifelineWrite.withLock { $0 >= 0 } ? lifelineRead : -1
        guard lifeline >= 0 else {
            for fd in ours.union(readEnds).union([status.read, status.write]) { close(fd) }
            throw RuntimeError("runtime is shut down")
        }
        do {
            try launchShim(mode: mode, stdin: stdin, out: out, err: err, config: cfgFD, status: status.write, start: start ?? devNull,
                           lifeline: lifeline)
        } catch {
            for fd in ours.union(readEnds).union([status.read, status.write]) { close(fd) }
            throw error
        }
        // From here on only the shim holds the write ends, so EOF on them means it exited.
        for fd in ours.union([status.write]) { close(fd) }
        let session = ShimSession()
        var all = sources
        all.append((status.read, StatusSink(session)))
        let persists = config.persists
        Drain.start(all, name: "tandem-io-\(name)") {
            onDrained()
            if persists { session.releaseShim() }
            session.ioFinished()
        }
        return session
    }

    /// Hands the request to the zygote or, when there is none (or it died), execs the shim
    /// directly: about 10 ms slower (see `Zygote`), otherwise the same shim.
    private func launchShim(mode: String, stdin: Int32, out: Int32, err: Int32, config: Int32, status: Int32, start: Int32,
                            lifeline: Int32) throws {
        if let zygote, zygote.request(mode: mode, fds: [stdin, out, err, config, status, start]) { return }
        let pid = try Sys.spawn(Self.shimPath, argv: ["tandem-init", TANDEM_INIT_MARKER, mode], env: [],
                                fds: [stdin, out, err, config, lifeline, status, start], searchPath: false)
        // Only to reap it: the session learns everything from the status pipe. watch()
        // fails only without pidfd support, which the shim itself needs anyway.
        try? Reaper.shared.watch(pid) { _ in }
    }

    /// Runs `argv` inside a running container's namespaces (exec probes, exec hooks).
    /// On timeout the command's whole process group is killed.
    public func exec(in container: ContainerProcess, argv: [String], env: [String], workingDir: String?,
                     timeout: Duration) async -> ExecResult {
        guard !argv.isEmpty else { return ExecResult(exitCode: 126, output: "no command", timedOut: false) }
        var config = ShimConfig()
        config.add("pid", String(container.pid))
        if let cwd = workingDir, !cwd.isEmpty { config.add("cwd", cwd) }
        for a in argv { config.add("arg", a) }
        for e in env { config.add("env", e) }
        container.isolation.forExec.add(to: &config)
        let output = Mutex(Data())
        let session: ShimSession
        do {
            session = try spawnShim(mode: "exec", config: config, name: "exec-\(container.id)", sharedOutput: true) { out, _ in
                [(fd: out, sink: DataSink { data in output.withLock { $0 = data } })]
            } onDrained: {}
        } catch {
            return ExecResult(exitCode: 126, output: "\(error)", timedOut: false)
        }
        let timer = Task {
            try await Task.sleep(for: timeout)
            // The exec'd command leads its own process group; the shim then reports it. On a
            // loaded machine the deadline can pass before the command even started: wait for
            // it, or killing the shim alone (its child dies by PDEATHSIG) would leave the
            // child's own children holding the output pipe until they end.
            if case .success(let child) = await session.started() { kill(-child, SIGKILL) }
            session.killShim()
        }
        let o = await session.finished()
        timer.cancel()
        let timedOut = await timer.result.map { true }.get(or: false)
        var text = String(decoding: output.withLock { $0 }, as: UTF8.self)
        if timedOut { return ExecResult(exitCode: nil, output: text, timedOut: true) }
        if let e = o.startError {
            if text.isEmpty { text = e }
            return ExecResult(exitCode: e.contains("No such file") ? 127 : 126, output: text, timedOut: false)
        }
        return ExecResult(exitCode: o.status.code, output: text, timedOut: false)
    }

    /// Removes an exited container's state (its shim record); the log file stays.
    public func removeState(_ spec: ContainerSpec) { removeState(stateDir: spec.stateDir) }

    /// Removes the state dir of an exited container or sandbox: the shim record, a sandbox's
    /// /dev/shm mount point, and the copy of the image's files an earlier Tandem kept there (a
    /// container adopted across an upgrade). Its writable layer went with its mount namespace.
    public func removeState(stateDir: String) {
        _ = claimed.withLock { $0.remove(stateDir) }
        // Plain unlink and rmdir first: these are mostly absent or empty, and FileManager builds
        // an error (and lists the directory) for each; it is left the tree of an image copy.
        for entry in ["image", "shm", "shim.json"] {
            let path = stateDir + "/" + entry
            if unlink(path) == 0 || errno == ENOENT || rmdir(path) == 0 || errno == ENOENT { continue }
            try? FileManager.default.removeItem(atPath: path)
        }
        // The state dir itself goes only if nothing else (such as the log) lives there.
        rmdir(stateDir)
    }
}

private extension Result where Failure == any Error {
    func get(or fallback: Success) -> Success { (try? get()) ?? fallback }
}
