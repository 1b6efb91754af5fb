/*
 * Tandem's container init shim and the zygote that forks it. See
 * include/CTandemInit.h for the protocol.
 *
 * Everything here runs in a still single-threaded process that never enters
 * Swift (the zygote, exec'd once per Runtime, and the shims it forks; or a shim
 * exec'd directly as a fallback), because namespace set-up (setns into a mount
 * namespace, unshare(CLONE_NEWPID) followed by fork, pivot_root) is undefined
 * or refused in a multithreaded process.
 */
#define _GNU_SOURCE
#include "CTandemInit.h"
#include "isolation.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <dirent.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct tandem_mount_attr {
    unsigned long long attr_set, attr_clr, propagation, userns_fd;
};

/* ---------------------------------------------------------------- helpers for Swift */

int tandem_init_linked(void) { return 1; }

int tandem_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int tandem_pidfd_send_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int tandem_pidfd_getfd(int pidfd, int fd) { return (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0); }

int tandem_waitid_pidfd(int pidfd, int *wstatus) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int r;
    do { r = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED); } while (r < 0 && errno == EINTR);
    if (r < 0) return -1;
    /* Rebuild a wait(2) status so Swift decodes one format everywhere. */
    if (info.si_code == CLD_EXITED) *wstatus = (info.si_status & 0xff) << 8;
    else *wstatus = info.si_status & 0x7f; /* killed or dumped: signal number */
    return 0;
}

int tandem_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int tandem_rename_noreplace(const char *from, const char *to) { return renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE); }

int tandem_memfd(const char *name) { return memfd_create(name, MFD_CLOEXEC); }

int tandem_socketpair_cloexec(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds);
}

int tandem_zygote_request(int sock, const char *mode, const int fds[TANDEM_ZYGOTE_NFDS]) {
    union { struct cmsghdr align; char buf[CMSG_SPACE(TANDEM_ZYGOTE_NFDS * sizeof(int))]; } c;
    memset(&c, 0, sizeof c);
    struct iovec iov = { .iov_base = (void *)mode, .iov_len = strlen(mode) };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof c.buf };
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(TANDEM_ZYGOTE_NFDS * sizeof(int));
    memcpy(CMSG_DATA(h), fds, TANDEM_ZYGOTE_NFDS * sizeof(int));
    ssize_t r;
    /* MSG_NOSIGNAL: a dead zygote must be an error here, never a SIGPIPE. */
    do { r = sendmsg(sock, &m, MSG_NOSIGNAL); } while (r < 0 && errno == EINTR);
    return r < 0 ? -1 : 0;
}

int tandem_send_fd(int sock, int fd) {
    union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(int))]; } c;
    memset(&c, 0, sizeof c);
    char byte = 's';
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof c.buf };
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(h), &fd, sizeof(int));
    ssize_t r;
    do { r = sendmsg(sock, &m, MSG_NOSIGNAL); } while (r < 0 && errno == EINTR);
    return r < 0 ? -1 : 0;
}

int tandem_openpty(int *master, int *slave) {
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0) return -1;
    char name[64];
    if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof name) != 0) { int e = errno; close(m); errno = e; return -1; }
    int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) { int e = errno; close(m); errno = e; return -1; }
    *master = m;
    *slave = s;
    return 0;
}

int tandem_set_winsize(int fd, unsigned short rows, unsigned short cols) {
    struct winsize ws = { .ws_row = rows, .ws_col = cols };
    return ioctl(fd, TIOCSWINSZ, &ws);
}

int tandem_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int tandem_epoll_add(int epfd, int fd) {
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int tandem_epoll_del(int epfd, int fd) { return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL); }

int tandem_epoll_wait(int epfd, int *fds, int max) {
    struct epoll_event evs[64];
    if (max > 64) max = 64;
    int n;
    do { n = epoll_wait(epfd, evs, max, -1); } while (n < 0 && errno == EINTR);
    for (int i = 0; i < n; i++) fds[i] = evs[i].data.fd;
    return n;
}

pid_t tandem_spawn(const char *path, char *const argv[], char *const envp[],
                   const int *fds, int nfds, int search_path) {
    /* Duplicate the sources above every target first, so that mapping 7->1 and 1->2
     * cannot clobber each other inside the child. */
    int tmp[64];
    if (nfds > 64) { errno = EINVAL; return -1; }
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0) return -1;
    for (int i = 0; i < nfds; i++) {
        int src = fds[i] >= 0 ? fds[i] : devnull;
        tmp[i] = fcntl(src, F_DUPFD_CLOEXEC, 100);
        if (tmp[i] < 0) {
            int e = errno;
            for (int j = 0; j < i; j++) close(tmp[j]);
            close(devnull);
            errno = e;
            return -1;
        }
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    for (int i = 0; i < nfds; i++) posix_spawn_file_actions_adddup2(&fa, tmp[i], i);
    posix_spawn_file_actions_addclosefrom_np(&fa, nfds);
    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &empty);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    int rc = search_path ? posix_spawnp(&pid, path, &fa, &at, argv, envp)
                         : posix_spawn(&pid, path, &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    for (int i = 0; i < nfds; i++) close(tmp[i]);
    close(devnull);
    if (rc != 0) { errno = rc; return -1; }
    return pid;
}

/* ---------------------------------------------------------------- bench: the namespace floor */

static const char *mount_root(const char *image);

static int floor_child(void *p) {
    char *const *argv = p;
    if (mount_root(NULL) || mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) _exit(127);
    char *envp[] = { NULL };
    execve(argv[0], argv, envp);
    _exit(127);
}

pid_t tandem_bench_namespaced_spawn(char *const argv[]) {
    static char *stack;
    const size_t size = 256 * 1024;
    if (!stack && (stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0)) == MAP_FAILED) {
        stack = NULL;
        return -1;
    }
    return clone(floor_child, stack + size, CLONE_VM | CLONE_VFORK | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD,
                 (void *)argv);
}

/* ---------------------------------------------------------------- shim: config */

#define MAX_LIST 4096

struct bind { const char *flag, *source, *target; int tree; int is_dir; };

struct config {
    const char *netns, *image, *hostname, *cwd, *shm;
    pid_t target_pid, sandbox_pid;
    int share_pid;
    /* An ephemeral container's `targetContainerName`: the target's PID 1, whose PID namespace
     * the container's processes are born into. */
    pid_t pidns_pid;
    /* hostPID: the container stays in the host's PID namespace; hostIPC: the sandbox keeps
     * the host's IPC namespace (and so do the containers that join it). */
    int host_pid, host_ipc;
    /* Outlives tandem (see TANDEM_KEEP_* in the header). */
    int persist;
    /* With a terminal: fd 0 is a pty slave that becomes the process's controlling tty (for run,
     * fd 1 is a copy of the master and the child makes the slave its stdout and stderr too). */
    int tty;
    /* run with `stdin: true`: fd 0 is a pipe a persistent shim keeps a write end of. */
    int keep_stdin;
    /* `privileged`: a node for each of the host's devices in its /dev, as containerd gives it. */
    int host_dev;
    /* Mode "create": the child waits on TANDEM_INIT_FD_START before it execs. */
    int create;
    const char *argv[MAX_LIST + 1];
    int argc;
    const char *env[MAX_LIST + 1];
    int envc;
    struct bind binds[256];
    int nbinds;
};

static struct config cfg;

/* The status pipe: the shim's only channel to tandem. */
static void status_line(const char *kind, const char *fmt, ...) {
    char buf[4096];
    int n = snprintf(buf, sizeof buf, "%s ", kind);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(buf + n, sizeof buf - (size_t)n - 2, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 2) n = (int)sizeof buf - 2;
    for (int i = 0; i < n; i++) if (buf[i] == '\n') buf[i] = ' ';
    buf[n++] = '\n';
    ssize_t w;
    do { w = write(TANDEM_INIT_FD_STATUS, buf, (size_t)n); } while (w < 0 && errno == EINTR);
}

/* The whole of a config memfd, NUL-terminated twice; closes `fd`. */
static char *read_records(int fd, size_t *size_out) {
    struct stat st;
    if (fstat(fd, &st) < 0) { close(fd); return NULL; }
    size_t size = (size_t)st.st_size;
    char *data = malloc(size + 2);
    if (!data) { close(fd); return NULL; }
    size_t off = 0;
    while (off < size) {
        ssize_t r = pread(fd, data + off, size - off, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) { close(fd); free(data); return NULL; }
        off += (size_t)r;
    }
    data[size] = 0;
    data[size + 1] = 0;
    close(fd);
    *size_out = size;
    return data;
}

static int read_config(void) {
    size_t size;
    char *data = read_records(TANDEM_INIT_FD_CONFIG, &size);
    if (!data) return -1;
    /* Records: key NUL value NUL; "bind" takes three values (ro|rw, source, target). */
    char *p = data, *end = data + size;
#define NEXT() ({ char *s_ = p; if (p >= end) return -1; p += strlen(p) + 1; s_; })
    while (p < end) {
        char *key = NEXT();
        if (!strcmp(key, "bind")) {
            if (cfg.nbinds >= 256) return -1;
            struct bind *b = &cfg.binds[cfg.nbinds++];
            b->flag = NEXT(); b->source = NEXT(); b->target = NEXT();
            b->tree = -1;
            continue;
        }
        char *val = NEXT();
        if (!strcmp(key, "arg")) { if (cfg.argc >= MAX_LIST) return -1; cfg.argv[cfg.argc++] = val; }
        else if (!strcmp(key, "env")) { if (cfg.envc >= MAX_LIST) return -1; cfg.env[cfg.envc++] = val; }
        else if (!strcmp(key, "netns")) cfg.netns = val;
        else if (!strcmp(key, "image")) cfg.image = val;
        else if (!strcmp(key, "hostname")) cfg.hostname = val;
        else if (!strcmp(key, "cwd")) cfg.cwd = val;
        else if (!strcmp(key, "pid")) cfg.target_pid = (pid_t)atoi(val);
        else if (!strcmp(key, "sandbox")) cfg.sandbox_pid = (pid_t)atoi(val);
        else if (!strcmp(key, "pidns")) cfg.pidns_pid = (pid_t)atoi(val);
        else if (!strcmp(key, "shm")) cfg.shm = val;
        else if (!strcmp(key, "sharepid")) cfg.share_pid = !strcmp(val, "1");
        else if (!strcmp(key, "hostpid")) cfg.host_pid = !strcmp(val, "1");
        else if (!strcmp(key, "hostipc")) cfg.host_ipc = !strcmp(val, "1");
        else if (!strcmp(key, "persist")) cfg.persist = !strcmp(val, "1");
        else if (!strcmp(key, "tty")) cfg.tty = !strcmp(val, "1");
        else if (!strcmp(key, "stdin")) cfg.keep_stdin = !strcmp(val, "1");
        else if (!strcmp(key, "hostdev")) cfg.host_dev = !strcmp(val, "1");
        else if (isolation_config(key, val) <= 0) return -1;
    }
#undef NEXT
    cfg.argv[cfg.argc] = NULL;
    cfg.env[cfg.envc] = NULL;
    return cfg.argc > 0 || cfg.shm ? 0 : -1;
}

/* ---------------------------------------------------------------- shim: child side */

/* In the child, errors go to the sync pipe; the parent forwards them as "E ...". */
static int sync_fd = -1;

/* A shim forked as a spare tells the zygote it was taken (TANDEM_SPARE_TAKEN_FD) only once its
 * child runs, so that forking another spare, which then clones the host trees, comes after
 * this start rather than beside it. A shim that fails first exits, and the zygote reads EOF
 * instead. */
static int is_spare;   /* a zygote's child: only then is TANDEM_SPARE_TAKEN_FD the taken pipe */
static int spare_told; /* shared by a created container's child, which tells it first */
static void spare_taken(void) {
    if (!is_spare || fcntl(TANDEM_SPARE_TAKEN_FD, F_GETFD) < 0) return;
    if (!spare_told) {
        /* A zygote gone meanwhile (tandem exiting) makes this write raise SIGPIPE, which would
         * kill a shim that has already reported its container: blocked for the write, and a
         * SIGPIPE it raised taken back, so that no pending one reaches the container's exec. */
        sigset_t pipe_only, old;
        sigemptyset(&pipe_only);
        sigaddset(&pipe_only, SIGPIPE);
        sigprocmask(SIG_BLOCK, &pipe_only, &old);
        ssize_t w;
        do { w = write(TANDEM_SPARE_TAKEN_FD, "t", 1); } while (w < 0 && errno == EINTR);
        if (w < 0 && errno == EPIPE) {
            struct timespec none = { 0, 0 };
            while (sigtimedwait(&pipe_only, NULL, &none) < 0 && errno == EINTR) {}
        }
        sigprocmask(SIG_SETMASK, &old, NULL);
    }
    spare_told = 1;
    close(TANDEM_SPARE_TAKEN_FD);
}

static void die(const char *step, const char *arg) {
    char buf[2048];
    int e = errno;
    int n = snprintf(buf, sizeof buf, "%s%s%s: %s", step, arg ? " " : "", arg ? arg : "", strerror(e));
    if (n > 0 && sync_fd >= 0) { ssize_t w = write(sync_fd, buf, (size_t)n); (void)w; }
    _exit(128);
}

/* mkdir -p, resolved from the process's current root (the container's after pivot_root). */
static int mkdir_p(const char *path) {
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) { errno = ENAMETOOLONG; return -1; }
    for (char *s = buf + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST) return -1;
        *s = '/';
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST) return -1;
    return 0;
}

static int make_mountpoint(const char *target, int is_dir) {
    if (is_dir) return mkdir_p(target);
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", target);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) { *slash = 0; if (mkdir_p(parent) < 0) return -1; }
    struct stat st;
    if (stat(target, &st) == 0) return 0;
    int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    close(fd);
    return 0;
}

/* A detached copy of the mount tree at path, so it can be attached after pivot_root
 * where the host path is no longer reachable. Mount targets are then resolved inside
 * the container, so an absolute symlink such as /var/run -> /run can never lead a
 * mkdir or a mount onto the host's own directories. */
static int clone_tree(const char *path, int readonly) {
    int fd = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | O_CLOEXEC | AT_RECURSIVE);
    if (fd < 0) return -1;
    /* Private, whatever the source's propagation: a clone of a shared mount (the host's /
     * under systemd) would join its peer group, and mounts made in the container would then
     * reach the host, and the host's reach the container. */
    struct tandem_mount_attr a = { .attr_set = readonly ? MOUNT_ATTR_RDONLY : 0, .propagation = MS_PRIVATE };
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static int attach_tree(int fd, const char *target) {
    return (int)syscall(SYS_move_mount, fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
}

/* ---------------------------------------------------------------- the container's root */

/* Copies the tree below directory `src` into directory `dst` (both fds): directories, regular
 * files with their modes, and symlinks. Returns -1 on a failed step. */
static int copy_tree(int src, int dst) {
    int dir = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dir >= 0 ? fdopendir(dir) : NULL;
    if (!d) { if (dir >= 0) close(dir); return -1; }
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d)); ) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        struct stat st;
        if (fstatat(src, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) { rc = -1; break; }
        if (S_ISDIR(st.st_mode)) {
            int s2 = openat(src, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), d2 = -1;
            if (s2 < 0 || mkdirat(dst, e->d_name, st.st_mode & 07777) < 0
                || (d2 = openat(dst, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 || copy_tree(s2, d2) < 0) rc = -1;
            if (s2 >= 0) close(s2);
            if (d2 >= 0) close(d2);
        } else if (S_ISLNK(st.st_mode)) {
            static char target[PATH_MAX]; /* static: this recursion runs on the child's small stack */
            ssize_t n = readlinkat(src, e->d_name, target, sizeof target - 1);
            if (n < 0) { rc = -1; break; }
            target[n] = 0;
            if (symlinkat(target, dst, e->d_name) < 0) rc = -1;
        } else if (S_ISREG(st.st_mode)) {
            int in = openat(src, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            int out = openat(dst, e->d_name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
            static char buf[16384];
            ssize_t n = 0;
            while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
                if (write(out, buf, (size_t)n) != n) { n = -1; break; }
            if (in < 0 || out < 0 || n < 0 || fchmod(out, st.st_mode & 07777) < 0) rc = -1;
            if (in >= 0) close(in);
            if (out >= 0) close(out);
        }
    }
    closedir(d);
    return rc;
}

/* Makes the caller's root an overlay of the host's / with a fresh writable layer on a tmpfs
 * (holding a copy of `image`, the files an image carries, when given), as a new container gets on a
 * node, and detaches the host's tree. The caller must be in a mount namespace of its own.
 *
 * The layer lives on a tmpfs mounted over /tmp in this namespace only, not in directories on
 * the host's disk: the overlay creates and deletes a handful of inodes in its work dir at
 * every mount, and on an ext4 without a journal each new inode is placed by scanning past
 * every inode deleted in the last minute (`recently_deleted`), so on a busy node a disk-backed
 * layer took 0.5 to 3 ms of CPU per start, growing with the churn. The tmpfs also vanishes
 * with the container's mount namespace, so nothing is left to clean up, even after kill -9.
 * (The overlay's lower layers are the root file systems themselves, never what is mounted on
 * them, so the tmpfs over /tmp hides nothing from the container.) Returns the failed step. */
static const char *mount_root(const char *image) {
    /* The image's files are copied into the fresh layer, as a container's root starts with its
     * image's content; their dir may be below /tmp, so it is opened before the tmpfs covers it. */
    int image_dir = image ? open(image, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (image && image_dir < 0) return "open the image's files";
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) return "make / rprivate";
    if (mount("layer", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0) return "mount the writable layer's tmpfs";
    if (mkdir("/tmp/upper", 0755) < 0 || mkdir("/tmp/work", 0755) < 0 || mkdir("/tmp/root", 0755) < 0) return "create the writable layer";
    if (image_dir >= 0) {
        int upper = open("/tmp/upper", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int failed = upper < 0 || copy_tree(image_dir, upper) < 0;
        if (upper >= 0) close(upper);
        close(image_dir);
        if (failed) return "copy the image's files";
    }
    if (mount("overlay", "/tmp/root", "overlay", 0, "lowerdir=/,upperdir=/tmp/upper,workdir=/tmp/work") < 0) return "mount overlay root";
    if (chdir("/tmp/root") < 0) return "chdir to the container's root";
    if (syscall(SYS_pivot_root, ".", ".") < 0) return "pivot_root";
    if (umount2(".", MNT_DETACH) < 0) return "detach host root";
    if (chdir("/") < 0) return "chdir /";
    return NULL;
}

static const char *env_get(const char *name) {
    size_t n = strlen(name);
    for (int i = 0; i < cfg.envc; i++)
        if (!strncmp(cfg.env[i], name, n) && cfg.env[i][n] == '=') return cfg.env[i] + n + 1;
    return NULL;
}

/* execvp against the container's PATH (from the container env, not the shim's). */
static void exec_resolved(void) {
    const char *file = cfg.argv[0];
    char *const *argv = (char *const *)cfg.argv;
    char *const *envp = (char *const *)cfg.env;
    if (strchr(file, '/')) { execve(file, argv, envp); return; }
    const char *path = env_get("PATH");
    if (!path) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    int saw_eacces = 0;
    char buf[PATH_MAX];
    for (const char *p = path;; ) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        if (len == 0) snprintf(buf, sizeof buf, "%s", file);
        else snprintf(buf, sizeof buf, "%.*s/%s", (int)len, p, file);
        execve(buf, argv, envp);
        if (errno == EACCES) saw_eacces = 1;
        else if (errno != ENOENT && errno != ENOTDIR) return;
        if (!colon) break;
        p = colon + 1;
    }
    errno = saw_eacces ? EACCES : ENOENT;
}

/* The host trees every container gets: /dev/pts, a read-only /sys, and the host's data
 * directories, which stay live: an overlay never shows changes made to its lower layer after
 * a lookup (a repository pushed to under /srv would look frozen), so these are bind-mounted
 * over the overlay, shared with the host like hostPath volumes. */
static const char *const live_dirs[] = { "/home", "/media", "/mnt", "/srv" };
enum { N_LIVE = 4 };
static int host_pts = -1, host_sys = -1, host_live[N_LIVE] = { -1, -1, -1, -1 };
/* All six, in the order of their pinned numbers (TANDEM_HOST_TREE_FD onwards). */
static int *const host_trees[TANDEM_HOST_TREE_FDS] = { &host_pts, &host_sys, &host_live[0], &host_live[1], &host_live[2], &host_live[3] };
static int host_trees_ready;

/* Clones the host trees. A spare does it while it waits for a request, so that these six
 * open_tree calls are not on a container's start path; the clones are detached mounts, so
 * they attach in whatever mount namespace the container gets. (A submount made under one of
 * these directories after the spare was forked is missing from its container, as it would be
 * from a container started just before.) A spare attaches them to its prepared root
 * (`prepare_root`); one that could not make it keeps them at TANDEM_HOST_TREE_FD onwards,
 * which the shuffle of a request's descriptors leaves alone (`zygote_child`). Returns the
 * failed step, or NULL. */
static const char *clone_host_trees(int pinned) {
    if (host_trees_ready) return NULL;
    if ((host_pts = clone_tree("/dev/pts", 0)) < 0) return "clone /dev/pts";
    if ((host_sys = clone_tree("/sys", 1)) < 0) return "clone /sys";
    for (int i = 0; i < N_LIVE; i++) {
        struct stat st;
        host_live[i] = stat(live_dirs[i], &st) == 0 && S_ISDIR(st.st_mode) ? clone_tree(live_dirs[i], 0) : -1;
    }
    for (int i = 0; pinned && i < TANDEM_HOST_TREE_FDS; i++) {
        if (*host_trees[i] < 0) continue;
        if (dup3(*host_trees[i], TANDEM_HOST_TREE_FD + i, O_CLOEXEC) < 0) return "keep the host trees";
        close(*host_trees[i]);
        *host_trees[i] = TANDEM_HOST_TREE_FD + i;
    }
    host_trees_ready = 1;
    return NULL;
}

/* Sandboxes and exec'd commands attach none of them (nor use a prepared root); the pause
 * process must not pin them. The last close of a detached tree unmounts it, and each such
 * unmount waits for an expedited RCU grace period (an IPI to every CPU), as does dropping a
 * prepared root; so an exec shim releases them only once it has reported the command's exit,
 * and a sandbox's shim once its pause is ready, not before either starts. */
static int release_trees_at_exit;
static void release_host_trees(void) {
    for (int i = 0; i < TANDEM_HOST_TREE_FDS; i++) {
        if (*host_trees[i] >= 0) close(*host_trees[i]);
        *host_trees[i] = -1;
    }
    host_trees_ready = 0;
}

/* containerd's host devices for a privileged container (`WithHostDevices`): a node in `dst` for
 * every device below the host's /dev (`src`, a clone of it), with its mode and owner, and its
 * directories and symlinks; the file systems mounted below it (pts, shm, mqueue, hugepages) are
 * not copied. Returns -1 on a failed step. */
static int copy_host_devices(int src, const char *dst, dev_t dev_fs) {
    int dir = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dir >= 0 ? fdopendir(dir) : NULL;
    if (!d) return -1;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[PATH_MAX];
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", dst, e->d_name) >= (int)sizeof path) continue;
        if (fstatat(dir, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev_fs) continue;
        if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
            if (mknod(path, st.st_mode, st.st_rdev) < 0 || chmod(path, st.st_mode & 07777) < 0 || lchown(path, st.st_uid, st.st_gid) < 0) rc = -1;
        } else if (S_ISLNK(st.st_mode)) {
            static char target[PATH_MAX]; /* static: this recursion runs on the child's small stack */
            ssize_t n = readlinkat(dir, e->d_name, target, sizeof target - 1);
            if (n > 0) { target[n] = 0; if (symlink(target, path) < 0) rc = -1; }
        } else if (S_ISDIR(st.st_mode)) {
            int sub = openat(dir, e->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0 || mkdir(path, st.st_mode & 07777) < 0 || copy_host_devices(sub, path, dev_fs) < 0) rc = -1;
            if (sub >= 0) close(sub);
        }
    }
    closedir(d);
    return rc;
}

/* runc's /dev: a tmpfs of the container's own holding the devices the OCI runtime spec requires
 * (and, for a privileged container, a node for each of the host's devices, `host`), so that a
 * container neither reaches the host's disks unless privileged nor ever leaves files (a
 * termination log's mount point, say) in the host's /dev. /dev/pts is the host's devpts
 * instance (`pts`, a clone of it), not a new one as runc mounts, because the terminals Tandem
 * gives containers are allocated there and ttyname(3) looks for them under /dev/pts. Returns
 * the failed step, or NULL. */
static const char *make_dev(int pts, int host) {
    if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k") < 0) return "mount /dev";
    struct stat root;
    if (host >= 0 && (fstat(host, &root) < 0 || copy_host_devices(host, "/dev", root.st_dev) < 0)) return "copy the host's devices";
    static const struct { const char *name; unsigned major, minor; } nodes[] = {
        { "/dev/null", 1, 3 }, { "/dev/zero", 1, 5 }, { "/dev/full", 1, 7 },
        { "/dev/random", 1, 8 }, { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
    };
    for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++) {
        if (mknod(nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) < 0) {
            if (errno == EEXIST && host >= 0) continue; /* the host's, copied */
            return "mknod in /dev";
        }
        if (chmod(nodes[i].name, 0666) < 0) return "chmod in /dev"; /* whatever the umask */
    }
    static const char *const links[][2] = {
        { "/proc/self/fd", "/dev/fd" }, { "/proc/self/fd/0", "/dev/stdin" }, { "/proc/self/fd/1", "/dev/stdout" },
        { "/proc/self/fd/2", "/dev/stderr" }, { "pts/ptmx", "/dev/ptmx" }, { "/proc/kcore", "/dev/core" },
    };
    for (size_t i = 0; i < sizeof links / sizeof *links; i++)
        if (symlink(links[i][0], links[i][1]) < 0 && !(errno == EEXIST && host >= 0)) return "symlink in /dev";
    if (mkdir("/dev/pts", 0755) < 0 || attach_tree(pts, "/dev/pts") < 0) return "mount /dev/pts";
    if (mkdir("/dev/mqueue", 0755) < 0) return "create /dev/mqueue";
    return NULL;
}

/* The container's POSIX message queues: an mqueue instance belongs to the IPC namespace of
 * whoever mounts it, so this comes after the container has joined its pod's. */
static int mount_mqueue(void) {
    return mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

/* The container's root in the caller's own mount namespace, from the host trees: the overlay
 * root (with `image`'s files), /dev (with the host's devices from `dev`, a clone of the host's
 * /dev, or -1), /sys, the mount point of /dev/shm and the host's live directories. Returns the
 * failed step (*arg what it concerned), or NULL. */
static const char *make_root(const char *image, int dev, const char **arg) {
    *arg = NULL;
    const char *step = mount_root(image);
    if (step) return step;
    mkdir_p("/proc");
    mkdir_p("/dev");
    if ((step = make_dev(host_pts, dev))) return step;
    mkdir_p("/sys");
    if (attach_tree(host_sys, "/sys") < 0) { *arg = "/sys"; return "mount"; }
    mkdir_p("/dev/shm");
    for (int i = 0; i < N_LIVE; i++)
        if (host_live[i] >= 0 && attach_tree(host_live[i], live_dirs[i]) < 0) { *arg = live_dirs[i]; return "mount host directory"; }
    return NULL;
}

/* The part of a container's mount namespace that depends on nothing in its request, made by a
 * spare while it waits (`prepare_root`): the root, /dev, /sys and the host's live directories.
 * Unsharing a copy of the host's mount tree, mounting the overlay, pivoting into it and
 * detaching the host's tree (which waits for an expedited RCU grace period) were most of a
 * container's set-up, and the first container of a pod waited for all of it. What depends on
 * the request (the network, the pod's IPC, UTS and PID namespaces, /proc, /dev/mqueue, the
 * pod's /dev/shm, the volumes) is still done at the container's start. */
static int prepared_root = -1;
/* Set in run_mode when the container gets the prepared root; its child then adds only the
 * request's mounts. */
static int in_prepared_root;
/* The pod's /dev/shm, cloned by the shim in the sandbox's mount namespace (prepared root) or
 * by the child in its copy of it. */
static int shm_tree = -1;

/* Runs in a helper that shares the spare's memory and descriptor table but has a mount
 * namespace of its own, so the spare never leaves the host's: it builds the root there and
 * leaves a descriptor of that namespace in the shared table, which keeps it alive. */
static int prepare_root_child(void *arg) {
    const char **step = arg;
    int proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
    const char *root_arg;
    const char *s = proc < 0 ? "open /proc" : make_root(NULL, -1, &root_arg);
    struct stat pivoted, entered;
    if (!s && stat("/", &pivoted) < 0) s = "stat the root";
    if (!s) {
        /* Resolved through the host's /proc, opened before the pivot: "thread-self" is this helper. */
        int fd = openat(proc, "thread-self/ns/mnt", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || dup3(fd, TANDEM_PREPARED_ROOT_FD, O_CLOEXEC) < 0) s = "keep the prepared namespace";
        if (fd >= 0) close(fd);
        /* Entering a mount namespace puts a process at the top of its tree, which is the
         * overlay only where the pivot replaced the namespace's root: not under a chroot into a
         * mount point, where only that mount was replaced. Such a root is not used. */
        if (!s && (setns(TANDEM_PREPARED_ROOT_FD, CLONE_NEWNS) < 0 || stat("/", &entered) < 0
                   || entered.st_dev != pivoted.st_dev || entered.st_ino != pivoted.st_ino)) {
            s = "enter the prepared namespace";
            close(TANDEM_PREPARED_ROOT_FD);
        }
    }
    if (proc >= 0) close(proc);
    *step = s;
    return 0;
}

/* A spare's prepared root (see prepared_root); best effort: without it, the container's child
 * makes its root as a shim without a zygote does. The host trees are attached there, so they
 * are cloned again should the prepared root not be made. */
static void prepare_root(void) {
    const size_t size = 64 * 1024;
    char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) return;
    const char *step = "clone";
    pid_t pid = clone(prepare_root_child, stack + size, CLONE_VM | CLONE_VFORK | CLONE_FILES | CLONE_NEWNS | SIGCHLD, &step);
    if (pid > 0) while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    munmap(stack, size);
    if (pid > 0 && !step) prepared_root = TANDEM_PREPARED_ROOT_FD;
    else close(TANDEM_PREPARED_ROOT_FD);
    release_host_trees();
    if (prepared_root < 0 && clone_host_trees(1)) release_host_trees();
}

static void release_prepared_root(void) {
    if (prepared_root >= 0) close(prepared_root);
    prepared_root = -1;
}

/* A created container's child, everything set up but the exec: lets the zygote fork another
 * spare (this one is taken, and idle from now on), then waits for tandem's start config, whose
 * command line and environment replace the config's: the kubelet computes them as it starts a
 * container, not as it creates it. EOF means tandem let the container go unstarted. */
static void await_start(void) {
    spare_taken();
    status_line("C", "created");
    char byte;
    union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(int))]; } c;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof c.buf };
    ssize_t r;
    do { r = recvmsg(TANDEM_INIT_FD_START, &m, MSG_CMSG_CLOEXEC); } while (r < 0 && errno == EINTR);
    struct cmsghdr *h = r > 0 ? CMSG_FIRSTHDR(&m) : NULL;
    if (!h || h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS || h->cmsg_len != CMSG_LEN(sizeof(int))) {
        errno = ECANCELED;
        die("start", "the created container");
    }
    int fd;
    memcpy(&fd, CMSG_DATA(h), sizeof fd);
    close(TANDEM_INIT_FD_START);
    size_t size;
    char *data = read_records(fd, &size);
    if (!data) die("read the start config", NULL);
    cfg.argc = cfg.envc = 0;
    for (char *p = data, *end = data + size; p < end; ) {
        char *key = p;
        p += strlen(p) + 1;
        if (p >= end) break;
        char *val = p;
        p += strlen(p) + 1;
        errno = E2BIG;
        if (!strcmp(key, "arg")) { if (cfg.argc >= MAX_LIST) die("start", "with so many arguments"); cfg.argv[cfg.argc++] = val; }
        else if (!strcmp(key, "env")) { if (cfg.envc >= MAX_LIST) die("start", "with so many variables"); cfg.env[cfg.envc++] = val; }
    }
    cfg.argv[cfg.argc] = NULL;
    cfg.env[cfg.envc] = NULL;
    errno = EINVAL;
    if (cfg.argc == 0) die("start", "without a command");
}

static void child_run(void) {
    const char *iso_arg, *iso_step;
    if ((iso_step = isolation_enter(&iso_arg))) die(iso_step, iso_arg);
    if (!in_prepared_root) {
        if ((iso_step = clone_host_trees(0))) die(iso_step, NULL);
        /* A privileged container's devices are copied from the host's /dev (make_dev); no other
         * container needs it, so it is cloned here rather than by every spare. */
        int dev = -1;
        if (cfg.host_dev && (dev = clone_tree("/dev", 0)) < 0) die("clone", "/dev");
        /* The pod's /dev/shm: the sandbox's tmpfs, which this mount namespace copied. */
        if (cfg.shm && (shm_tree = clone_tree(cfg.shm, 0)) < 0) die("clone the pod's /dev/shm", cfg.shm);
        const char *root_arg, *root_step = make_root(cfg.image, dev, &root_arg);
        if (root_step) die(root_step, root_arg);
        if (dev >= 0) close(dev);
        release_host_trees();
    }
    /* /proc is mounted by the container's first process, for its PID namespace's view. */
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) die("mount", "/proc");
    if (mount_mqueue() < 0) die("mount", "/dev/mqueue");
    if (shm_tree >= 0) {
        if (attach_tree(shm_tree, "/dev/shm") < 0) die("mount", "/dev/shm");
        close(shm_tree);
    } else if (mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k") < 0) {
        die("mount", "/dev/shm");
    }
    for (int i = 0; i < cfg.nbinds; i++) {
        struct bind *b = &cfg.binds[i];
        if (make_mountpoint(b->target, b->is_dir) < 0) die("create mount point", b->target);
        if (attach_tree(b->tree, b->target) < 0) die("mount volume at", b->target);
        close(b->tree);
    }
    if (cfg.hostname && sethostname(cfg.hostname, strlen(cfg.hostname)) < 0) die("sethostname", cfg.hostname);
    /* The working directory, which may lie in a volume, is made only at the container's turn:
     * an init container that runs meanwhile must not find it there. */
    if (cfg.create) {
        if ((iso_step = isolation_narrow_bounding_set())) die(iso_step, NULL);
        await_start();
    }
    const char *cwd = cfg.cwd ? cfg.cwd : "/";
    if (cfg.cwd) mkdir_p(cwd); /* the kubelet's runtimes create a missing workingDir */
    if (chdir(cwd) < 0) die("chdir to workingDir", cwd);
    /* `tty: true`: as runc's console, the pty slave is stdin, stdout and stderr, and the
     * controlling terminal of the container's own session. */
    if (cfg.tty && (setsid() < 0 || ioctl(0, TIOCSCTTY, 0) < 0 || dup2(0, 1) < 0 || dup2(0, 2) < 0))
        die("set up the container's terminal", NULL);
    if ((iso_step = isolation_finish(&iso_arg))) die(iso_step, iso_arg);
    exec_resolved();
    die("exec", cfg.argv[0]);
}

/* ---------------------------------------------------------------- shim: parent side */

/* A subreaper's clean-up: SIGKILL every process the shim adopted (the container's orphans,
 * reparented here) and reap them, until none is left. Orphans can fork meanwhile, so the
 * children list is read again after each round. */
static void kill_adopted(void) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
    for (;;) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        char buf[4096];
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0) close(fd);
        if (n <= 0) break;
        buf[n] = 0;
        for (char *p = buf; *p; ) {
            char *end;
            long pid = strtol(p, &end, 10);
            if (end == p) break;
            p = end;
            if (pid <= 0) continue;
            kill((pid_t)pid, SIGKILL);
            while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR) {}
        }
    }
}

/* Waits for the child while watching the lifeline; never returns. */
static void supervise(pid_t child, int kill_group) {
    int pidfd = tandem_pidfd_open(child);
    /* A persistent shim keeping its container's stdin closes it when tandem writes 'c'. */
    int kept_stdin = cfg.persist && cfg.keep_stdin && !cfg.tty;
    struct pollfd p[3] = {
        { .fd = TANDEM_INIT_FD_LIFELINE, .events = POLLIN },
        { .fd = pidfd, .events = POLLIN },
        { .fd = kept_stdin ? TANDEM_KEEP_RELEASE_R : -1, .events = POLLIN },
    };
    int lifeline_open = !cfg.persist;
    if (!lifeline_open) p[0].fd = -1;
    for (;;) {
        /* Without a pidfd (should not happen on 6.x) we fall back to a plain blocking wait. */
        if (pidfd < 0) break;
        int n = poll(p, 3, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        if (p[1].revents) break;
        if (p[2].revents) {
            char c;
            if (read(TANDEM_KEEP_RELEASE_R, &c, 1) == 1 && c == 'c') {
                close(TANDEM_KEEP_IN);
                p[2].fd = -1;
            }
        }
        if (lifeline_open && p[0].revents) {
            char c;
            ssize_t r = read(TANDEM_INIT_FD_LIFELINE, &c, 1);
            if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
                /* tandem is gone: nothing may outlive it. */
                if (kill_group) kill(-child, SIGKILL);
                kill(child, SIGKILL);
                lifeline_open = 0;
                p[0].fd = -1;
            }
        }
    }
    int st = 0;
    while (waitpid(child, &st, 0) < 0 && errno == EINTR) {}
    if (cfg.host_pid) kill_adopted();
    else if ((cfg.share_pid && cfg.sandbox_pid > 0) || cfg.pidns_pid > 0) isolation_kill_cgroup();
    status_line("X", "%d", st);
    /* Close our copies of the output and status pipes now rather than in _exit: the kernel
     * defers the last close of an exiting task's files until after it has torn down its
     * namespaces, which costs milliseconds, and tandem treats EOF on these pipes as the
     * container's end (its last log line is in by then). */
    close(0);
    close(1);
    close(2);
    close(TANDEM_INIT_FD_STATUS);
    /* An exec shim's unused clones (see release_host_trees). Only its: a container's child may
     * have cloned the trees itself (a shim without a zygote), under its own fd numbers. */
    if (release_trees_at_exit) release_host_trees();
    release_prepared_root();
    if (cfg.persist) {
        /* Keep the pipes' contents until a tandem has read them all and says so ('r'; a late
         * 'c' for the stdin closed with the container is skipped). */
        char c = 0;
        ssize_t r;
        do { r = read(TANDEM_KEEP_RELEASE_R, &c, 1); } while ((r < 0 && errno == EINTR) || (r == 1 && c == 'c'));
    }
    if (WIFEXITED(st)) _exit(WEXITSTATUS(st));
    _exit(128 + (WTERMSIG(st) & 0x7f));
}

/* The child's side of spawn_synced: runs on its own stack in the shim's memory. */
struct spawn_args { void (*fn)(void); int new_group; int sync; pid_t shim; };

static int spawned_child(void *arg) {
    struct spawn_args *a = arg;
    sync_fd = a->sync;
    /* The shim is single-threaded, so PDEATHSIG here really means "the shim died". */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* Inside a new PID namespace the parent is invisible (getppid() == 0). */
    pid_t pp = getppid();
    if (pp != 0 && pp != a->shim) _exit(137);
    if (a->new_group) setpgid(0, 0);
    close(TANDEM_INIT_FD_LIFELINE);
    fcntl(TANDEM_INIT_FD_STATUS, F_SETFD, FD_CLOEXEC);
    a->fn();
    _exit(128);
}

/* Starts the container/exec child behind a CLOEXEC sync pipe: EOF without data means
 * execve succeeded, data is the child's error message. `ns` are CLONE_NEW* flags for
 * the child alone.
 *
 * clone(CLONE_VM | CLONE_VFORK), as posix_spawn does it: the child borrows the shim's
 * memory until it execs, so neither the start (no page tables copied) nor the exec (no
 * address space torn down) pays for the shim's image, which is tandem's whole binary
 * and its libraries. The shim sleeps meanwhile, so the shared memory is never raced;
 * what the child writes before exec (config fields, the descriptor numbers of the trees it
 * attached and closed) is harmless to the shim, which keeps its own copies until it exits. The fd
 * table is not shared (no CLONE_FILES), so the child's closes stay its own. */
static pid_t spawn_synced(void (*child_fn)(void), int new_group, int ns, int share_vm) {
    int sp[2];
    if (pipe2(sp, O_CLOEXEC) < 0) { status_line("E", "pipe: %s", strerror(errno)); _exit(128); }
    static char *stack;
    const size_t stack_size = 256 * 1024;
    if (!stack) {
        stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (stack == MAP_FAILED) { status_line("E", "mmap: %s", strerror(errno)); _exit(128); }
    }
    struct spawn_args a = { .fn = child_fn, .new_group = new_group, .sync = sp[1], .shim = getpid() };
    pid_t pid = clone(spawned_child, stack + stack_size, (share_vm ? CLONE_VM | CLONE_VFORK : 0) | ns | SIGCHLD, &a);
    if (pid < 0) {
        status_line("E", ns ? "create namespaces: %s" : "fork: %s", strerror(errno));
        _exit(128);
    }
    sync_fd = -1; /* the child set it in our shared memory */
    close(sp[1]);
    char msg[2048];
    size_t off = 0;
    for (;;) {
        ssize_t r = read(sp[0], msg + off, sizeof msg - 1 - off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        off += (size_t)r;
        if (off >= sizeof msg - 1) break;
    }
    close(sp[0]);
    msg[off] = 0;
    if (off > 0) {
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
        status_line("E", "%s", msg);
        _exit(128);
    }
    status_line("S", "%d", (int)pid);
    spare_taken();
    return pid;
}

static void run_mode(void) {
    if (cfg.netns) {
        int fd = open(cfg.netns, O_RDONLY | O_CLOEXEC);
        if (fd < 0) { status_line("E", "open network namespace %s: %s", cfg.netns, strerror(errno)); _exit(128); }
        if (setns(fd, CLONE_NEWNET) < 0) { status_line("E", "setns network namespace %s: %s", cfg.netns, strerror(errno)); _exit(128); }
        close(fd);
    }
    /* Volumes are cloned here, in the host's mount namespace, where the kubelet mounted them:
     * the sandbox's is a copy of the host's from when it was made (a pooled one, before the
     * pod's tmpfs volumes existed) and, with a private /, sees no host mount made since. */
    for (int i = 0; i < cfg.nbinds; i++) {
        struct bind *b = &cfg.binds[i];
        struct stat st;
        const char *step = "volume source";
        if (stat(b->source, &st) == 0) {
            b->is_dir = S_ISDIR(st.st_mode);
            step = "bind volume";
            b->tree = clone_tree(b->source, !strcmp(b->flag, "ro"));
        }
        if (b->tree < 0) { status_line("E", "%s %s: %s", step, b->source, strerror(errno)); _exit(128); }
    }
    /* A prepared root serves any container but one whose root needs more than the host's
     * (an image's files, a privileged container's devices). Otherwise it is kept until the
     * shim exits: dropping it unmounts its trees, which is no start's business. */
    int prepared = prepared_root >= 0 && !cfg.image && !cfg.host_dev;
    if (prepared) {
        /* The child joins its cgroups (and the shim finds them again at the exit) through the
         * host's /sys/fs/cgroup and /proc, which the prepared root does not show. Opened here,
         * in the host's mount namespace: the sandbox's lives only as long as its pause. */
        int host = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (host < 0) {
            status_line("E", "open the host's root: %s", strerror(errno));
            _exit(128);
        }
        isolation_resolve_in(host);
    } else if (!host_trees_ready) {
        /* The host trees a spare attached to its prepared root: cloned again for the fresh
         * root, here in the host's mount namespace (the child would clone them in its copy of
         * the sandbox's, which lacks host mounts made since the sandbox was). */
        const char *step = clone_host_trees(0);
        if (step) {
            status_line("E", "%s: %s", step, strerror(errno));
            _exit(128);
        }
    }
    int ns = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
    if (cfg.sandbox_pid > 0) {
        /* A pod's containers share its IPC and UTS namespaces (the hostname) with the pod
         * sandbox, and copy the sandbox's mounts (its /dev/shm), as with the pause container. */
        int pidfd = tandem_pidfd_open(cfg.sandbox_pid);
        int join = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | (cfg.share_pid ? CLONE_NEWPID : 0);
        if (pidfd < 0 || setns(pidfd, join) < 0) {
            status_line("E", "join the pod sandbox (pid %d): %s", (int)cfg.sandbox_pid, strerror(errno));
            _exit(128);
        }
        close(pidfd);
        ns = CLONE_NEWNS;
        /* The pod's /dev/shm, cloned from the sandbox's mount namespace before leaving it. */
        if (prepared && cfg.shm && (shm_tree = clone_tree(cfg.shm, 0)) < 0) {
            status_line("E", "clone the pod's /dev/shm %s: %s", cfg.shm, strerror(errno));
            _exit(128);
        }
    }
    if (cfg.pidns_pid > 0) {
        /* The CRI's NamespaceMode_TARGET: the child joins the target container's PID namespace
         * (setns applies to children), so `ps` shows the target's processes. */
        int pidfd = tandem_pidfd_open(cfg.pidns_pid);
        if (pidfd < 0 || setns(pidfd, CLONE_NEWPID) < 0) {
            status_line("E", "join the target container's PID namespace (pid %d): %s", (int)cfg.pidns_pid, strerror(errno));
            _exit(128);
        }
        close(pidfd);
    }
    /* The shim enters the new mount, UTS and IPC namespaces itself and keeps them until it
     * exits: otherwise the container's last exit would tear them down (the overlay and every
     * mount, an RCU grace period) before the kernel reports that exit, a delay that would sit
     * between one init container and the next. The shim reports the exit, closes its pipes,
     * and only then pays for the tear-down. The PID namespace is the child's alone (its first
     * process is the container's PID 1). */
    if (unshare(prepared ? ns & ~CLONE_NEWNS : ns) < 0) {
        status_line("E", "unshare namespaces: %s", strerror(errno));
        _exit(128);
    }
    if (prepared) {
        if (setns(prepared_root, CLONE_NEWNS) < 0) {
            status_line("E", "enter the container's mount namespace: %s", strerror(errno));
            _exit(128);
        }
        release_prepared_root();
        in_prepared_root = 1;
    }
    /* shareProcessNamespace: the child is born into the pod's PID namespace (setns above
     * applies to children), where `pause` is PID 1 and reaps orphans. */
    /* hostPID: no PID namespace ends the container's orphans with it, so the shim adopts them
     * (a subreaper) and kills what is left once the container's main process is gone. */
    if (cfg.host_pid) prctl(PR_SET_CHILD_SUBREAPER, 1);
    pid_t child = spawn_synced(child_run, 0, cfg.share_pid || cfg.host_pid || cfg.pidns_pid > 0 ? 0 : CLONE_NEWPID, 1);
    supervise(child, 0);
}

/* The pod sandbox's one process (the pause container's job): holds the pod's IPC and UTS
 * namespaces, a mount namespace with the pod's /dev/shm tmpfs, and with
 * shareProcessNamespace the pod's PID namespace (as its PID 1), which containers join.
 * The mount namespace is a slave of the host's, so later host mounts (volumes) reach it,
 * and the tmpfs exists only in it and its copies: nothing to unmount, even after kill -9. */
static void child_pause(void) {
    const char *iso_arg, *iso_step;
    if ((iso_step = isolation_enter(&iso_arg))) die(iso_step, iso_arg);
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) die("make / rslave", NULL);
    if (mount("shm", cfg.shm, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k") < 0) die("mount shm at", cfg.shm);
    if (cfg.hostname && sethostname(cfg.hostname, strlen(cfg.hostname)) < 0) die("sethostname", cfg.hostname);
    prctl(PR_SET_NAME, "pause");
    /* A persistent shim's keepers are its own, not the pause process's. */
    for (int fd = TANDEM_KEEP_OUT; fd <= TANDEM_KEEP_RELEASE_W; fd++) close(fd);
    /* As PID 1 of a shared PID namespace it inherits every orphan: let the kernel reap them. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sa.sa_flags = SA_NOCLDWAIT;
    sigaction(SIGCHLD, &sa, NULL);
    /* Its copies of the host trees and of a prepared root; the shim's are the last. */
    release_host_trees();
    release_prepared_root();
    /* Ready: EOF on the sync pipe (there is no exec to close it). */
    close(sync_fd);
    sync_fd = -1;
    for (;;) pause();
}

static void sandbox_mode(void) {
    if (!cfg.shm) { status_line("E", "config: missing shm dir"); _exit(128); }
    /* A real fork, not the vfork of containers: this child never execs. Without a hostname
     * (hostNetwork) the pod keeps the host's UTS namespace, as the kubelet's pods do. */
    pid_t child = spawn_synced(child_pause, 0, CLONE_NEWNS | (cfg.host_ipc ? 0 : CLONE_NEWIPC) | (cfg.hostname ? CLONE_NEWUTS : 0)
                               | (cfg.share_pid ? CLONE_NEWPID : 0), 0);
    release_host_trees();
    release_prepared_root();
    supervise(child, 0);
}

static void child_exec(void) {
    const char *cwd = cfg.cwd ? cfg.cwd : "/";
    if (chdir(cwd) < 0) die("chdir", cwd);
    /* A session of its own with the pty as its controlling terminal, as runc's exec with a
     * terminal: the shell gets job control, ^C reaches its foreground group, and hang-up
     * (tandem closing the master) reaches the session. */
    if (cfg.tty && (setsid() < 0 || ioctl(0, TIOCSCTTY, 0) < 0)) die("set the controlling terminal", NULL);
    const char *iso_arg, *iso_step;
    if ((iso_step = isolation_finish(&iso_arg))) die(iso_step, iso_arg);
    exec_resolved();
    /* Like runc: report on the exec'd process's own output as well. */
    int e = errno;
    dprintf(2, "tandem exec: %s: %s\n", cfg.argv[0], strerror(e));
    errno = e;
    die("exec", cfg.argv[0]);
}

static void exec_mode(void) {
    release_trees_at_exit = 1;
    static const struct { const char *name; int type; } nss[] = {
        { "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS }, { "net", CLONE_NEWNET },
        { "pid", CLONE_NEWPID }, { "mnt", CLONE_NEWNS },
    };
    int fds[5];
    /* Open all first: after entering the mount namespace, /proc is the container's. */
    for (int i = 0; i < 5; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)cfg.target_pid, nss[i].name);
        fds[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (fds[i] < 0) { status_line("E", "open %s: %s", path, strerror(errno)); _exit(128); }
    }
    for (int i = 0; i < 5; i++) {
        if (setns(fds[i], nss[i].type) < 0) {
            status_line("E", "setns %s: %s", nss[i].name, strerror(errno));
            _exit(128);
        }
        close(fds[i]);
    }
    /* With a tty the child leads a session (setsid), hence a process group, itself. */
    pid_t child = spawn_synced(child_exec, !cfg.tty, 0, 1);
    supervise(child, 1);
}

/* A persistent shim holds a read end of its stdout, stderr and status pipes (reopened through
 * /proc/self/fd, which yields a new read end of the same pipe) and a release pipe, at fixed
 * numbers a restarted tandem finds through /proc/<shim>/fd; all close-on-exec. */
static void keep_pipes(void) {
    static const int from[] = { 1, 2, TANDEM_INIT_FD_STATUS };
    static const int to[] = { TANDEM_KEEP_OUT, TANDEM_KEEP_ERR, TANDEM_KEEP_STATUS };
    for (int i = 0; i < 3; i++) {
        /* A terminal's output is the master at fd 1, kept as it is (reopening it would open a
         * new pty); the slave at fd 2 is not output to keep. */
        if (cfg.tty && i < 2) {
            if (i == 0 && dup3(1, TANDEM_KEEP_OUT, O_CLOEXEC) < 0) { status_line("E", "keep the terminal: %s", strerror(errno)); _exit(128); }
            continue;
        }
        char path[32];
        snprintf(path, sizeof path, "/proc/self/fd/%d", from[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0 || dup3(fd, to[i], O_CLOEXEC) < 0) { status_line("E", "keep %s: %s", path, strerror(errno)); _exit(128); }
        close(fd);
    }
    /* A write end of the stdin pipe, opened anew through the read end's /proc link. */
    if (cfg.keep_stdin && !cfg.tty) {
        int fd = open("/proc/self/fd/0", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || dup3(fd, TANDEM_KEEP_IN, O_CLOEXEC) < 0) { status_line("E", "keep stdin: %s", strerror(errno)); _exit(128); }
        close(fd);
    }
    int r[2];
    if (pipe2(r, O_CLOEXEC) < 0 || dup3(r[0], TANDEM_KEEP_RELEASE_R, O_CLOEXEC) < 0 || dup3(r[1], TANDEM_KEEP_RELEASE_W, O_CLOEXEC) < 0) {
        status_line("E", "release pipe: %s", strerror(errno));
        _exit(128);
    }
    close(r[0]);
    close(r[1]);
}

/* A shim's whole life, with fds 0-5 in place (see the header); never returns. */
static void shim_main(const char *mode) {
    /* First line, so tandem can signal the shim by pidfd even though the zygote, not
     * tandem, is its parent. */
    status_line("P", "%d", (int)getpid());
    if (read_config() < 0) { status_line("E", "tandem-init: bad config"); _exit(128); }
    if (cfg.persist && strcmp(mode, "exec") != 0) keep_pipes();
    cfg.create = !strcmp(mode, "create");
    /* Only a created container's child keeps it, to wait on (close-on-exec). */
    if (cfg.create) fcntl(TANDEM_INIT_FD_START, F_SETFD, FD_CLOEXEC);
    else close(TANDEM_INIT_FD_START);
    if (!strcmp(mode, "run") || cfg.create) run_mode();
    else if (!strcmp(mode, "exec")) exec_mode();
    else if (!strcmp(mode, "sandbox")) sandbox_mode();
    status_line("E", "tandem-init: unknown mode %s", mode);
    _exit(128);
}

/* ---------------------------------------------------------------- zygote */

/* In a freshly forked zygote child: move the request's fds to the shim's fixed numbers.
 * Received fds are all >= 5 (0-4 are taken in the zygote), so in/out/err/config can be
 * moved first and only status and start need care: status stays if it already sits at 5,
 * and start is copied out of the way first. */
static void zygote_child(const int fds[TANDEM_ZYGOTE_NFDS], const char *mode) {
    /* Undo the zygote's SA_NOCLDWAIT: the shim must wait for its own child, and the
     * container must not inherit an unusual SIGCHLD disposition. */
    signal(SIGCHLD, SIG_DFL);
    /* A shim outlives the zygote: its container runs on (see spare_main). */
    prctl(PR_SET_PDEATHSIG, 0);
    is_spare = 1;
    /* The start socket first goes above every fixed number, where nothing below can clobber it. */
    int start = fcntl(fds[5], F_DUPFD, TANDEM_PREPARED_ROOT_FD + 1);
    if (start < 0) _exit(128);
    if (dup2(fds[0], 0) < 0 || dup2(fds[1], 1) < 0 || dup2(fds[2], 2) < 0 || dup2(fds[3], TANDEM_INIT_FD_CONFIG) < 0) _exit(128);
    if (fds[4] != TANDEM_INIT_FD_STATUS && dup2(fds[4], TANDEM_INIT_FD_STATUS) < 0) _exit(128);
    if (dup2(start, TANDEM_INIT_FD_START) < 0) _exit(128);
    /* Everything else goes but the spare's taken pipe, the host trees it cloned ahead and its
     * prepared root (see spare_taken, clone_host_trees and prepare_root). Where the spare holds
     * neither trees nor root, those numbers may be a request's descriptors, received there. */
    syscall(SYS_close_range, TANDEM_INIT_FD_START + 1, TANDEM_SPARE_TAKEN_FD - 1, 0);
    for (int i = 0; i < TANDEM_HOST_TREE_FDS; i++)
        if (*host_trees[i] != TANDEM_HOST_TREE_FD + i) close(TANDEM_HOST_TREE_FD + i);
    if (prepared_root < 0) close(TANDEM_PREPARED_ROOT_FD);
    syscall(SYS_close_range, TANDEM_PREPARED_ROOT_FD + 1, ~0U, 0);
    shim_main(mode);
}

/* Receives one start request on the zygote socket: the mode and TANDEM_ZYGOTE_NFDS fds.
 * Returns 1 with a well-formed request, 0 for a malformed one (its fds closed), -1 when
 * tandem closed the socket. */
static int receive_request(char mode[16], int fds[TANDEM_ZYGOTE_NFDS]) {
    for (;;) {
        union { struct cmsghdr align; char buf[CMSG_SPACE(TANDEM_ZYGOTE_NFDS * sizeof(int))]; } c;
        struct iovec iov = { .iov_base = mode, .iov_len = 15 };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof c.buf };
        ssize_t r = recvmsg(TANDEM_ZYGOTE_FD_SOCKET, &m, MSG_CMSG_CLOEXEC);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (r <= 0) return -1;
        mode[r] = 0;
        int nfds = 0;
        for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
            if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
            int k = (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            int got[TANDEM_ZYGOTE_NFDS];
            if (k > TANDEM_ZYGOTE_NFDS) k = TANDEM_ZYGOTE_NFDS;
            memcpy(got, CMSG_DATA(h), (size_t)k * sizeof(int));
            for (int i = 0; i < k; i++) {
                if (nfds < TANDEM_ZYGOTE_NFDS) fds[nfds++] = got[i];
                else close(got[i]);
            }
        }
        if (nfds == TANDEM_ZYGOTE_NFDS && !(m.msg_flags & (MSG_CTRUNC | MSG_TRUNC))) return 1;
        /* A malformed request is dropped: closing its status pipe tells tandem the shim
         * exited before starting anything. */
        for (int i = 0; i < nfds; i++) close(fds[i]);
        return 0;
    }
}

/* A spare: a zygote child forked ahead of time, waiting for the next start request, so the
 * fork is not on a container's start path. It tells the zygote (one byte on `taken`) once
 * its request's process runs (`spare_taken`), and 'q' when tandem closed the socket. The
 * spares wait in recvmsg itself, where a seqpacket socket wakes one waiter per message
 * (an exclusive wait): a poll would wake them all for every request. EOF there is also how
 * a spare learns that tandem is gone. Never returns. */
static void spare_main(int taken, int nice, pid_t zygote) {
    /* Back to tandem's own priority at once: cloning the host trees takes the kernel's mount
     * lock, which a preempted nice-19 task would hold for every mount on the node, and a
     * request must wake it without delay (nor is the zygote's priority the container's). */
    setpriority(PRIO_PROCESS, 0, nice);
    /* Untaken spares go with the zygote: it leaves when tandem does, and a spare whose zygote
     * is gone must not take a request (the Runtime then spawns shims itself). */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != zygote) _exit(0);
    /* A failure here is retried, and reported, by the container that needs the trees. */
    if (clone_host_trees(1)) release_host_trees();
    else prepare_root();
    char mode[16];
    int fds[TANDEM_ZYGOTE_NFDS];
    int got = receive_request(mode, fds);
    if (got <= 0) {
        ssize_t w;
        do { w = write(taken, got < 0 ? "q" : "t", 1); } while (w < 0 && errno == EINTR);
        _exit(0);
    }
    if (dup3(taken, TANDEM_SPARE_TAKEN_FD, O_CLOEXEC) < 0) _exit(128);
    close(taken);
    zygote_child(fds, mode);
}

/* Leaves the Swift runtime and the other libraries the binary loaded out of every fork of
 * the zygote (MADV_DONTFORK): a shim runs only this C code and libc, and never returns to
 * Swift. A fork copies the page tables of every mapping the dynamic loader wrote to
 * (relocations), an exiting shim tears them down again and each write to one of them after
 * the fork is a copy-on-write fault; with Foundation, ICU and the Swift runtime that was most
 * of a shim's own CPU time. The binary itself (this code), libc, the loader and the anonymous
 * mappings (heap, stack, TLS) stay. Only with every symbol bound at load (LD_BIND_NOW, which
 * the Runtime sets): a lazy binding in a fork would search the libraries that are not there.
 * Best effort: a mapping it cannot read is simply kept. */
static void leave_libraries_out_of_forks(void) {
    const char *now = getenv("LD_BIND_NOW");
    if (!now || !*now) return;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return;
    exe[n] = 0;
    FILE *maps = fopen("/proc/self/maps", "re");
    if (!maps) return;
    char line[PATH_MAX + 128];
    while (fgets(line, sizeof line, maps)) {
        unsigned long lo, hi;
        char *path = strchr(line, '/');
        if (!path || sscanf(line, "%lx-%lx", &lo, &hi) != 2) continue;
        path[strcspn(path, "\n")] = 0;
        const char *base = strrchr(path, '/') + 1;
        if (!strcmp(path, exe) || !strncmp(base, "libc.so", 7) || !strncmp(base, "ld-linux", 8)) continue;
        madvise((void *)lo, hi - lo, MADV_DONTFORK);
    }
    fclose(maps);
}

/* Whether this process may raise its priority again once lowered: CAP_SYS_NICE in its
 * effective set (root in a container or a user namespace may lack it). */
static int can_raise_priority(void) {
    FILE *f = fopen("/proc/self/status", "re");
    if (!f) return 0;
    char line[256];
    unsigned long long caps = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "CapEff: %llx", &caps) == 1) break;
    fclose(f);
    return (caps >> CAP_SYS_NICE) & 1;
}

/* Keeps TANDEM_ZYGOTE_SPARES spares ready until tandem goes away; never returns.
 * Single-threaded, so each fork yields a child that may do anything, exactly like a freshly
 * exec'd shim, minus the exec and the dynamic loading of the Swift binary (about 10 ms per
 * container). A pod's containers are created together (`PodWorker.createAhead`), so each
 * takes a spare forked before the pod came rather than one forked while it starts.
 *
 * Forking a spare copies the zygote's page tables (the Swift binary's and its libraries'),
 * a few tenths of a millisecond of CPU that no start is usually waiting for: where it may
 * raise its priority again (CAP_SYS_NICE) the zygote forks at the lowest one (nice 19), so
 * refills take only what pods starting meanwhile leave idle, unless a request already waits
 * for a spare. Each spare returns to tandem's priority as soon as it is forked.
 *
 * A priority does not keep a fork off a pod's start, though: copying the page tables is one
 * stretch of kernel work (0.2 ms traced) that nothing preempts, and each new spare clones its
 * host trees (six more mount copies) and makes its prepared root (a copy of the host's mount
 * tree, an overlay, a pivot and a detach) at tandem's priority; refilling right after a pod's
 * containers took their spares held a CPU for 0.5 ms while the pod's own start waited on it.
 * So the zygote refills once no spare was taken for TANDEM_ZYGOTE_REFILL_DELAY_MS, as the
 * network and sandbox pools do after a pod took theirs, and at once when none is left or a
 * request waits. */
static void zygote_main(void) {
    /* Shims report their exit on the status pipe; the zygote never needs their status,
     * so the kernel reaps them at once. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sa.sa_flags = SA_NOCLDWAIT;
    sigaction(SIGCHLD, &sa, NULL);
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, 0);
    if (errno) nice = 0;
    leave_libraries_out_of_forks();
    /* Only where the spares may raise their priority again. */
    int background = can_raise_priority();
    pid_t self = getpid();
    /* Nobody ever writes the lifeline: readable means EOF, tandem is gone. Each shim holds its
     * own copy and kills its container; the zygote only has to leave. */
    struct pollfd p[TANDEM_ZYGOTE_SPARES + 1];
    p[0] = (struct pollfd){ .fd = TANDEM_INIT_FD_LIFELINE, .events = POLLIN };
    for (int i = 1; i <= TANDEM_ZYGOTE_SPARES; i++) p[i] = (struct pollfd){ .fd = -1, .events = POLLIN };
    struct timespec last_take = { 0, 0 };
    for (;;) {
        int ready = 0;
        for (int i = 1; i <= TANDEM_ZYGOTE_SPARES; i++) ready += p[i].fd >= 0;
        int timeout = -1;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long since = (now.tv_sec - last_take.tv_sec) * 1000LL + (now.tv_nsec - last_take.tv_nsec) / 1000000;
        /* A spare counts until it reports: one may hold a request it is still setting up. So a
         * request waiting in the socket means no idle spare is left, whatever the count. (It is
         * seen at the next report, which wakes the zygote; polling the socket itself would wake
         * it for every request the spares take.) */
        int waiting = 0;
        if (ioctl(TANDEM_ZYGOTE_FD_SOCKET, FIONREAD, &waiting) < 0) waiting = 0;
        if (ready > 0 && ready < TANDEM_ZYGOTE_SPARES && since < TANDEM_ZYGOTE_REFILL_DELAY_MS && waiting == 0)
            timeout = (int)(TANDEM_ZYGOTE_REFILL_DELAY_MS - since);
        for (int i = 1; i <= TANDEM_ZYGOTE_SPARES && timeout < 0; i++) {
            if (p[i].fd >= 0) continue;
            int taken[2];
            if (pipe2(taken, O_CLOEXEC) < 0) _exit(1);
            /* A request already waiting for a spare is a start waiting for this fork. */
            int pending = 0;
            if (background) setpriority(PRIO_PROCESS, 0, ioctl(TANDEM_ZYGOTE_FD_SOCKET, FIONREAD, &pending) == 0 && pending > 0 ? nice : 19);
            /* _Fork: no atfork handlers, which live in the libraries left out of the child. */
            pid_t pid = _Fork();
            if (pid == 0) {
                close(taken[0]);
                for (int j = 1; j <= TANDEM_ZYGOTE_SPARES; j++) if (p[j].fd >= 0) close(p[j].fd);
                spare_main(taken[1], nice, self);
            }
            close(taken[1]);
            if (pid < 0) _exit(1);
            p[i].fd = taken[0];
        }
        int n;
        do { n = poll(p, TANDEM_ZYGOTE_SPARES + 1, timeout); } while (n < 0 && errno == EINTR);
        if (n < 0 || p[0].revents) _exit(0);
        for (int i = 1; i <= TANDEM_ZYGOTE_SPARES; i++) {
            if (!p[i].revents) continue;
            char c = 0;
            ssize_t r;
            do { r = read(p[i].fd, &c, 1); } while (r < 0 && errno == EINTR);
            close(p[i].fd);
            p[i].fd = -1;
            /* 'q': tandem closed its end, the Runtime is gone. EOF without a byte: the spare
             * died; make another. */
            if (r == 1 && c == 'q') _exit(0);
            if (r == 1) clock_gettime(CLOCK_MONOTONIC, &last_take);
        }
    }
}

__attribute__((constructor, used))
static void tandem_init_constructor(int argc, char **argv, char **envp) {
    (void)envp;
    if (argc < 3 || !argv || !argv[1] || strcmp(argv[1], TANDEM_INIT_MARKER) != 0) return;
    /* A session of our own, without a controlling terminal: Ctrl-C in tandem's terminal
     * signals tandem's whole process group, and containers must only ever get the orderly
     * SIGTERM tandem sends them (runc makes every container a session leader likewise). */
    setsid();
    if (!strcmp(argv[2], "zygote")) zygote_main();
    shim_main(argv[2]);
}
