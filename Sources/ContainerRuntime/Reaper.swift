import CTandemInit
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Reaps tandem's direct children, event-driven.
///
/// One thread sleeps in epoll_wait over a pidfd per child; a pidfd becomes readable
/// when its process exits, and waitid(P_PIDFD) reaps exactly that child. Nothing here
/// touches SIGCHLD or waits for "any child", so it coexists with other code that waits
/// for its own children by pid. (Code that calls waitpid(-1) would steal our statuses;
/// tandem must not use Foundation.Process for that reason.)
final class Reaper: Sendable {
    static let shared = Reaper()

    private let epfd: Int32
    private let handlers = Mutex<[Int32: @Sendable (WaitStatus) -> Void]>([:])

    private init() {
        epfd = tandem_epoll_create()
        precondition(epfd >= 0, "epoll_create1 failed")
        let thread = Thread { [self] in loop() }
        thread.name = "tandem-reaper"
        thread.stackSize = 128 * 1024
        thread.start()
    }

    /// Calls `onExit` (on the reaper thread) once `pid`, a child of this process, has
    /// exited and been reaped. Registering after the child already exited is fine: a
    /// pidfd of a zombie is readable at once.
    func watch(_ pid: pid_t, onExit: @escaping @Sendable (WaitStatus) -> Void) throws {
        let fd = tandem_pidfd_open(pid)
        guard fd >= 0 else { throw RuntimeError.errno("pidfd_open \(pid)") }
        // The handler must be in place before epoll can report the fd.
        handlers.withLock { $0[fd] = onExit }
        guard tandem_epoll_add(epfd, fd) == 0 else {
            let err = RuntimeError.errno("epoll_ctl")
            _ = handlers.withLock { $0.removeValue(forKey: fd) }
            close(fd)
            throw err
        }
    }

    private func loop() {
        var ready = [Int32](repeating: -1, count: 64)
        while true {
            let n = tandem_epoll_wait(epfd, &ready, Int32(ready.count))
            if n < 0 { continue }
            for i in 0..<Int(n) {
                let fd = ready[i]
                var raw: Int32 = 0
                let reaped = tandem_waitid_pidfd(fd, &raw) == 0
                tandem_epoll_del(epfd, fd)
                close(fd)
                let handler = handlers.withLock { $0.removeValue(forKey: fd) }
                // ECHILD means someone else reaped it; report it as killed rather than hang.
                handler?(reaped ? WaitStatus(raw: raw) : WaitStatus(raw: SIGKILL))
            }
        }
    }
}
