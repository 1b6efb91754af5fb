import CTandemInit
#if canImport(Glibc)
import Glibc
#endif

/// One idle, single-threaded C process per `Runtime` that keeps forked children (spares, five:
/// one per container of a typical pod, all created at once, and some left over) waiting for the
/// next start requests; the spare that takes one becomes that container's shim, and the zygote
/// forks others at the lowest priority once the pod has started (the protocol is in
/// CTandemInit.h).
///
/// Exec'ing tandem's own 20 MB binary and dynamically loading the Swift runtime and
/// Foundation cost about 10 ms per shim, most of a container's start. The zygote pays
/// that once; a shim is then a fork of an already-loaded process that never entered
/// Swift, so it can still do everything a freshly exec'd shim does (unshare, setns,
/// pivot_root). Requests carry no reply: the shim reports on its status pipe.
final class Zygote: Sendable {
    /// Our end of the SOCK_SEQPACKET socketpair; closing it makes the zygote exit.
    private let socket: Int32
    let pid: pid_t

    /// Spawns the zygote with the lifeline's read end, so it exits with tandem.
    init(shimPath: String, lifeline: Int32) throws {
        var sp: [Int32] = [-1, -1]
        guard tandem_socketpair_cloexec(&sp) == 0 else { throw RuntimeError.errno("socketpair") }
        defer { close(sp[1]) }
        do {
            // Every symbol bound at load: the zygote leaves the libraries it does not need out of
            // its forks (see `leave_libraries_out_of_forks`), where a lazy binding would look them up.
            pid = try Sys.spawn(shimPath, argv: ["tandem-zygote", TANDEM_INIT_MARKER, "zygote"], env: ["LD_BIND_NOW=1"],
                                fds: [-1, -1, -1, sp[1], lifeline], searchPath: false)
        } catch {
            close(sp[0])
            throw error
        }
        socket = sp[0]
        // The zygote is tandem's child: reap it whenever it exits.
        try? Reaper.shared.watch(pid) { _ in }
    }

    deinit { close(socket) }

    /// Asks the zygote for a shim in `mode` ("run" or "exec") with fds = [stdin, stdout,
    /// stderr, config, status]; the zygote's child gets its own copies. False if the zygote is gone.
    func request(mode: String, fds: [Int32]) -> Bool {
        precondition(fds.count == Int(TANDEM_ZYGOTE_NFDS))
        return tandem_zygote_request(socket, mode, fds) == 0
    }
}
