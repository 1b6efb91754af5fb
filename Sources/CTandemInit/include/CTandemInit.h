#pragma once
#include <sys/types.h>

/*
 * The C half of Tandem's container runtime.
 *
 * A Swift process is multithreaded before main() runs, and setns(CLONE_NEWNS),
 * unshare(CLONE_NEWPID) + fork, pivot_root etc. are only safe in a
 * single-threaded process. So, like runc's nsexec, a constructor in this
 * library runs before the Swift runtime whenever the binary is started as
 *
 *     argv = { "tandem-init", "__tandem-init", "zygote" | "run" | "create" | "exec", NULL }
 *
 * and then never returns to Swift.
 *
 * "zygote" is what a Runtime starts once: fd 3 is one end of a SOCK_SEQPACKET
 * socketpair, fd 4 the lifeline. Each message on the socket is a start request:
 * the mode ("run", "create", "exec" or "sandbox") as data, and TANDEM_ZYGOTE_NFDS fds by
 * SCM_RIGHTS (stdin, stdout, stderr, config, status, start). The zygote keeps
 * TANDEM_ZYGOTE_SPARES children forked ahead (spares) reading the socket; the spare that
 * takes a request puts those fds at the numbers below and becomes a shim, and the zygote
 * forks another once none was taken for a while, at a low priority (see zygote_main). Exec'ing the 20 MB Swift binary and
 * loading its libraries costs about 10 ms; a fork of the idle zygote a fraction
 * of a millisecond. There is no reply: everything comes back on the status pipe.
 * The zygote exits when the socket's other end closes or the lifeline breaks.
 *
 * "run" and "exec" are a shim started directly (the fallback when no zygote
 * could be started). Either way a shim's file descriptors are fixed:
 *   0  stdin  (/dev/null, or a pipe tandem writes: a container's `stdin: true`, a streaming
 *             exec's; or a pty slave: `tty: true`, exec -t)
 *   1  stdout (a pipe tandem reads; for a container with a terminal, a copy of the pty master,
 *             which the child replaces with the slave)
 *   2  stderr (a pipe tandem reads; the same pipe as 1 for a probe or hook exec)
 *   3  config: a memfd of records  key '\0' value '\0'  (see init.c)
 *   4  lifeline: read end of a pipe whose write end only tandem holds
 *   5  status: write end of a pipe carrying text lines
 *        "P <hostpid>"    the shim itself (always the first line); its parent may
 *                         be the zygote, so tandem signals it through a pidfd
 *        "C created"      a created container is set up and waits on fd 6 (its child
 *                         writes this line, before its copy of the pipe closes on exec)
 *        "S <hostpid>"    the container process exec'd (or is about to, for exec)
 *        "E <message>"    set-up failed before exec (the shim then exits 128)
 *        "X <waitstatus>" the container process exited (raw wait(2) status)
 *      Only the shim holds the write end (its child gets it close-on-exec). After
 *      "X" the shim closes it and its stdout/stderr before it exits, so EOF on all
 *      three means the container is over and its output is all in.
 *   6  start: for "create", one end of a SOCK_SEQPACKET socketpair (/dev/null otherwise).
 *
 * "create" is runc's create/start split: the shim does all that "run" does up to the exec
 * (namespaces, root, /dev, volumes, cgroups), then its child waits on fd 6. A memfd received
 * there (records "arg" and "env", which replace the config's) starts it: the child execs and
 * the shim reports "S". EOF instead means the container was never started: "E", exit 128.
 *
 * A *persistent* shim (config "persist 1", `tandem serve`) outlives tandem, as containerd's
 * shims outlive the kubelet: it ignores the lifeline and holds a read end of each of its
 * three pipes (TANDEM_KEEP_OUT/ERR/STATUS), so the container never gets EPIPE and nothing
 * written meanwhile is lost; a restarted tandem opens /proc/<shim>/fd/<n> to read on where
 * the old one stopped. After "X" such a shim waits for one byte written to
 * /proc/<shim>/fd/TANDEM_KEEP_RELEASE_W (tandem has read everything) before it exits.
 */

#define TANDEM_INIT_MARKER "__tandem-init"
#define TANDEM_INIT_FD_CONFIG 3
#define TANDEM_INIT_FD_LIFELINE 4
#define TANDEM_INIT_FD_STATUS 5
#define TANDEM_INIT_FD_START 6
#define TANDEM_KEEP_OUT 10
#define TANDEM_KEEP_ERR 11
#define TANDEM_KEEP_STATUS 12
#define TANDEM_KEEP_RELEASE_R 13
#define TANDEM_KEEP_RELEASE_W 14
/* A persistent shim's write end of its container's stdin pipe (config "stdin 1"), so the
 * container never reads EOF while no tandem runs; closed when tandem writes 'c' on the release
 * pipe (stdinOnce). With a terminal (config "tty 1") TANDEM_KEEP_OUT is a copy of the pty
 * master instead, which tandem takes with pidfd_getfd. */
#define TANDEM_KEEP_IN 15
/* A spare shim's end of the pipe on which it tells the zygote it was taken (init.c). */
#define TANDEM_SPARE_TAKEN_FD 19
/* A spare shim's clones of the host's /dev/pts, /sys, /home, /media, /mnt and /srv, where it has
 * not attached them to its prepared root (init.c). */
#define TANDEM_HOST_TREE_FD 20
#define TANDEM_HOST_TREE_FDS 6
/* A spare shim's prepared mount namespace: a container's root made ahead (init.c). */
#define TANDEM_PREPARED_ROOT_FD 26
#define TANDEM_ZYGOTE_FD_SOCKET 3
#define TANDEM_ZYGOTE_NFDS 6
/* Enough for a pod of four containers, or of three and an exec (a probe's, a hook's), so that
 * the refill can wait until the pod has started (see zygote_main in init.c). */
#define TANDEM_ZYGOTE_SPARES 5
#define TANDEM_ZYGOTE_REFILL_DELAY_MS 100

/* Referenced from Swift so the linker keeps the object holding the constructor. */
int tandem_init_linked(void);

/* Thin syscall wrappers Swift cannot call directly (syscall(2) is variadic). */
int tandem_pidfd_open(pid_t pid);
int tandem_pidfd_send_signal(int pidfd, int sig);
/* pidfd_getfd(2): a copy of another process's descriptor; -1 with errno. */
int tandem_pidfd_getfd(int pidfd, int fd);
/* Reaps the child behind pidfd; returns 0 and a wait(2)-style status, or -1 with errno. */
int tandem_waitid_pidfd(int pidfd, int *wstatus);
/* setns(fd, CLONE_NEWNET) for the calling thread (netns.c). */
int tandem_setns_net(int fd);

/*
 * posix_spawn with a clean fd table: fds[i] (or /dev/null when fds[i] < 0) becomes
 * fd i in the child for i < nfds, every other fd is closed, signal mask and
 * dispositions are reset (Swift/Foundation ignore SIGPIPE; children must not inherit that).
 * search_path: resolve path against the PATH in envp-independent parent PATH (posix_spawnp).
 * Returns the pid, or -1 with errno set.
 */
pid_t tandem_spawn(const char *path, char *const argv[], char *const envp[],
                   const int *fds, int nfds, int search_path);

/* epoll, reduced to what the reaper needs (Swift's Glibc module lacks sys/epoll.h). */
int tandem_epoll_create(void);
int tandem_epoll_add(int epfd, int fd);
int tandem_epoll_del(int epfd, int fd);
/* Waits (EINTR retried) and stores up to max ready fds; returns how many, or -1. */
int tandem_epoll_wait(int epfd, int *fds, int max);

/* socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC) for the zygote. */
int tandem_socketpair_cloexec(int fds[2]);
/* Sends one start request to the zygote: mode "run" or "exec" and fds = { stdin, stdout,
 * stderr, config, status }. Returns 0, or -1 with errno (EPIPE: the zygote is gone). */
int tandem_zygote_request(int sock, const char *mode, const int fds[TANDEM_ZYGOTE_NFDS]);
/* Sends one fd (a created container's start config) on a SOCK_SEQPACKET socket. */
int tandem_send_fd(int sock, int fd);

/* A pseudo-terminal pair for `kubectl exec -t`, both ends close-on-exec and O_NOCTTY (tandem
 * itself never gets a controlling terminal); returns 0, or -1 with errno. */
int tandem_openpty(int *master, int *slave);
/* TIOCSWINSZ on a pty master: the terminal size the command sees (and SIGWINCH for it). */
int tandem_set_winsize(int fd, unsigned short rows, unsigned short cols);

/* pipe2(O_CLOEXEC) and memfd_create(MFD_CLOEXEC), which Swift's Glibc module does not expose. */
int tandem_pipe_cloexec(int fds[2]);
/* rename(2) that fails with EEXIST instead of replacing `to` (RENAME_NOREPLACE). */
int tandem_rename_noreplace(const char *from, const char *to);
int tandem_memfd(const char *name);

/* For `tandem bench` only: spawns argv the way a container's PID 1 starts, without Tandem
 * around it (new mount, PID, IPC and UTS namespaces, the overlay root a container gets,
 * pivot_root, /proc), so the benchmark can show the kernel's own cost of a container beside
 * the plain fork/exec. Returns the pid (wait for it), or -1. Not thread-safe. */
pid_t tandem_bench_namespaced_spawn(char *const argv[]);
