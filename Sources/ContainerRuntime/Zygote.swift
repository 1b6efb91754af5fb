import CTandemInit
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One idle, single-threaded C process per `Runtime` that keeps a forked child (a spare)
/// waiting for the next start request; the spare that takes one becomes that container's
/// shim, and the zygote forks the next (the protocol is in CTandemInit.h).
///
/// Exec'ing tandem's own 20 MB binary and dynamically loading the Swift runtime and
/// Foundation cost about 10 ms per shim, most of a container's start. The zygote pays
/// that once; a shim is then a fork of an already-loaded process that never entered
/// Swift, so it can still do everything a freshly exec'd shim does (unshare, setns,
/// pivot_root). Requests carry no reply: the shim reports on its status pipe.
final class Zygote: Sendable {
    /// Our ends of the SOCK_SEQPACKET socketpairs: the socket and the run socket, whose spares
    /// build a container's root ahead (-1 without one). Closing them makes the zygote exit once
    /// its spares have (a run spare removes its layer first); -1 once `stop` closed them.
    private let sockets: Mutex<(plain: Int32, run: Int32)>
    private let runSocketOpened: Bool
    /// Whether the zygote exited, and who waits for it to (shared with the reaper's handler).
    private final class Exit: Sendable {
        let state = Mutex<(exited: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    }
    private let exit = Exit()
    let pid: pid_t

    /// Spawns the zygote with the lifeline's read end, so it exits with tandem. Given
    /// `layerDirectory` (on the filesystem of the containers' state dirs), it also keeps spares
    /// with prebuilt roots there.
    init(shimPath: String, lifeline: Int32, layerDirectory: String?) throws {
        var sp: [Int32] = [-1, -1]
        var rp: [Int32] = [-1, -1]
        guard tandem_socketpair_cloexec(&sp) == 0 else { throw RuntimeError.errno("socketpair") }
        defer { close(sp[1]) }
        if layerDirectory != nil, tandem_socketpair_cloexec(&rp) != 0 {
            close(sp[0])
            throw RuntimeError.errno("socketpair")
        }
        defer { if rp[1] >= 0 { close(rp[1]) } }
        do {
            pid = try Sys.spawn(shimPath, argv: ["tandem-zygote", TANDEM_INIT_MARKER, "zygote"] + (layerDirectory.map { [$0] } ?? []),
                                env: [], fds: [-1, -1, -1, sp[1], lifeline, -1, rp[1]], searchPath: false)
        } catch {
            close(sp[0])
            if rp[0] >= 0 { close(rp[0]) }
            throw error
        }
        sockets = Mutex((sp[0], rp[0]))
        runSocketOpened = rp[0] >= 0
        // The zygote is tandem's child: reap it whenever it exits.
        try? Reaper.shared.watch(pid) { [exit] _ in
            let waiters = exit.state.withLock { e in
                e.exited = true
                defer { e.waiters = [] }
                return e.waiters
            }
            waiters.forEach { $0.resume() }
        }
    }

    deinit { closeSockets() }

    private func closeSockets() {
        sockets.withLock { s in
            for fd in [s.plain, s.run] where fd >= 0 { close(fd) }
            s = (-1, -1)
        }
    }

    /// Ends the zygote and its spares and returns once they are gone (their layers with them),
    /// so that nothing of them outlives a tandem that is done. Later requests fail.
    func stop() async {
        closeSockets()
        await withCheckedContinuation { c in
            let exited = exit.state.withLock { e in
                if !e.exited { e.waiters.append(c) }
                return e.exited
            }
            if exited { c.resume() }
        }
    }

    /// Whether "run" requests can go to spares with a prebuilt root (`request(prebuiltRoot:)`).
    var buildsRoots: Bool { runSocketOpened }

    /// Asks the zygote for a shim in `mode` ("run", "exec" or "sandbox") with fds = [stdin,
    /// stdout, stderr, config, status]; the zygote's child gets its own copies. `prebuiltRoot`:
    /// a "run" whose layer dirs do not exist yet, for a spare whose root is built. False if the
    /// zygote is gone.
    func request(mode: String, fds: [Int32], prebuiltRoot: Bool = false) -> Bool {
        precondition(fds.count == Int(TANDEM_ZYGOTE_NFDS))
        return sockets.withLock { s in
            let fd = prebuiltRoot && s.run >= 0 ? s.run : s.plain
            return fd >= 0 && tandem_zygote_request(fd, mode, fds) == 0
        }
    }
}
