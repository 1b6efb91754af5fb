import CTandemInit
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A container set up to the point of its exec and waiting there (`Runtime.create`), as a
/// container is between `runc create` and `runc start`.
///
/// Everything that costs time in a start (the shim, namespaces, the overlay root, /dev, the
/// volumes' binds, joining cgroups) is done while the pod's earlier containers run, so starting
/// it is one message and an exec. Its command line and environment are given at `start`, where
/// the kubelet computes them: a ConfigMap or Service that changed meanwhile is seen, as when
/// the container is created at its turn.
public final class CreatedContainer: Sendable {
    public let spec: ContainerSpec
    private let runtime: Runtime
    private let session: ShimSession
    private let stdio: ContainerStdio
    /// Our end of the start socket; -1 once used. Closing it unstarted makes the shim give up.
    private let socket: Mutex<Int32>

    init(spec: ContainerSpec, runtime: Runtime, session: ShimSession, stdio: ContainerStdio, socket: Int32) {
        self.spec = spec
        self.runtime = runtime
        self.session = session
        self.stdio = stdio
        self.socket = Mutex(socket)
    }

    deinit { socket.withLock { if $0 >= 0 { close($0) } } }

    /// The shim's host pid once it reported it (tests find the waiting child through it).
    var shimPid: pid_t? { session.shimPid }

    /// Runs the container with `argv` and `env`; returns once they were exec'd, or throws
    /// `ContainerStartError`. When set-up itself had failed, the container is set up again from
    /// scratch, now: what it lacked (a host path an init container makes, say) may exist by now,
    /// and a container started at its turn would have found it.
    public func start(argv: [String], env: [String]) async throws -> ContainerProcess {
        var spec = self.spec
        spec.argv = argv
        spec.env = env
        guard !argv.isEmpty else {
            await discard()
            throw ContainerStartError(message: "no command")
        }
        // A child already gone (killed while it waited: the shim then reports it as if it had
        // exec'd) counts as a set-up that failed. The log gets its name before the start is sent,
        // so that a container never runs with its log under the staged one.
        guard session.childPid == nil, rename(Self.stagedLog(spec.logPath), spec.logPath) == 0 else {
            await discard()
            return try await runtime.start(spec)
        }
        var config = ShimConfig()
        for a in argv { config.add("arg", a) }
        for e in env { config.add("env", e) }
        let memfd = try Sys.memfd(config.bytes)
        defer { close(memfd) }
        // Sent at once, whether or not the shim has reported "created": a child still setting up
        // finds its start waiting when it gets there, rather than reporting and then waiting for
        // tandem to answer (a round trip of 0.15 ms and more, traced, on a pod's start path).
        // A set-up that fails meanwhile is set up afresh, as before; a shim gone after it was set
        // up (a failed send) is reported by `running` as a container that did not start.
        socket.withLock { fd in
            _ = tandem_send_fd(fd, memfd)
            close(fd)
            fd = -1
        }
        guard await session.created() else {
            await discard()
            return try await runtime.start(spec)
        }
        return try await runtime.running(spec, session: session, stdio: stdio)
    }

    /// Where a created container's log is written until its start.
    public static func stagedLog(_ logPath: String) -> String { logPath + ".created" }

    /// Lets the container go unstarted: its shim exits, and its empty log and state go with it.
    public func discard() async {
        socket.withLock { fd in
            if fd >= 0 { close(fd) }
            fd = -1
        }
        _ = await session.finished()
        unlink(Self.stagedLog(spec.logPath))
        runtime.removeState(spec)
    }
}
