/*
 * A container's isolation, applied by the shim's child (the container's PID 1 before it execs):
 * its cgroups, its OOM score, and its securityContext (user, groups, capabilities,
 * no_new_privs, read-only root). Configured by the shim's config records (see isolation.h);
 * init.c calls the three hooks below.
 */
#define _GNU_SOURCE
#include "isolation.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

#define MAX_CGROUPS 16
#define MAX_GROUPS 64

static struct {
    const char *cgroup_procs[MAX_CGROUPS];
    int ncgroups;
    const char *oom_score_adj;
    int has_ids;
    int bounding_narrowed;
    uid_t uid;
    gid_t gid;
    gid_t groups[MAX_GROUPS];
    int ngroups;
    int has_caps;
    unsigned long long caps;
    int no_new_privs;
    int readonly_root;
} iso;

int isolation_config(const char *key, const char *val) {
    if (!strcmp(key, "cgroup")) {
        if (iso.ncgroups >= MAX_CGROUPS) return -1;
        iso.cgroup_procs[iso.ncgroups++] = val;
    } else if (!strcmp(key, "oomscoreadj")) iso.oom_score_adj = val;
    else if (!strcmp(key, "uid")) { iso.has_ids = 1; iso.uid = (uid_t)strtoul(val, NULL, 10); }
    else if (!strcmp(key, "gid")) { iso.has_ids = 1; iso.gid = (gid_t)strtoul(val, NULL, 10); }
    else if (!strcmp(key, "group")) {
        if (iso.ngroups >= MAX_GROUPS) return -1;
        iso.has_ids = 1;
        iso.groups[iso.ngroups++] = (gid_t)strtoul(val, NULL, 10);
    } else if (!strcmp(key, "caps")) { iso.has_caps = 1; iso.caps = strtoull(val, NULL, 16); }
    else if (!strcmp(key, "nnp")) iso.no_new_privs = !strcmp(val, "1");
    else if (!strcmp(key, "rootro")) iso.readonly_root = !strcmp(val, "1");
    else return 0;
    return 1;
}

/* Where the absolute paths of the config (cgroups, /proc) are resolved: the host's root, which
 * a container set up in a prepared root has left by the time its child joins its cgroups. */
static int host_root = AT_FDCWD;

void isolation_resolve_in(int root) { host_root = root; }

static int open_host(const char *path, int flags) {
    return host_root == AT_FDCWD || path[0] != '/' ? open(path, flags) : openat(host_root, path + 1, flags);
}

static int write_file(const char *path, const char *value) {
    int fd = open_host(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t w = write(fd, value, strlen(value));
    int e = errno;
    close(fd);
    errno = e;
    return w < 0 ? -1 : 0;
}

/* Moves the calling process into the cgroup whose `cgroup.procs` is `procs`. In a v1 hierarchy it
 * writes "0" to the cgroup's `tasks` instead: moving the writer's own thread is the one migration
 * for which the kernel does not take `cgroup_threadgroup_rwsem` for writing, and taking it waits
 * for an RCU grace period (14 ms measured on a 2-core VM, the first join of every container). The
 * child is a single thread, so its thread is the whole process. v2 has no `tasks` file. */
static int join_cgroup(const char *procs) {
    char tasks[PATH_MAX];
    const char *slash = strrchr(procs, '/');
    if (slash && snprintf(tasks, sizeof tasks, "%.*s/tasks", (int)(slash - procs), procs) < (int)sizeof tasks) {
        if (write_file(tasks, "0") == 0) return 0;
        if (errno != ENOENT) return -1;
    }
    return write_file(procs, "0");
}

/* First thing in the child, through the host's view of /sys and /proc: join the container's
 * cgroups so that everything it execs is charged from its first page.
 * The shim stays outside: it holds the container's namespaces and overlay, and must neither be
 * counted against the container's memory limit nor be the OOM killer's choice. */
const char *isolation_enter(const char **arg) {
    for (int i = 0; i < iso.ncgroups; i++) {
        *arg = iso.cgroup_procs[i];
        if (join_cgroup(iso.cgroup_procs[i]) < 0) return "join cgroup";
    }
    /* Lowering the score below the inherited one needs CAP_SYS_RESOURCE, which Tandem may lack
     * (run inside a container); the container then keeps Tandem's score. */
    *arg = iso.oom_score_adj;
    if (iso.oom_score_adj && write_file("/proc/self/oom_score_adj", iso.oom_score_adj) < 0 && errno != EACCES && errno != EPERM)
        return "set oom_score_adj";
    return NULL;
}

/* runc's signalAllProcesses for a container without a PID namespace of its own (a pod with
 * shareProcessNamespace): once its first process is gone, whatever it left behind, re-parented to
 * `pause`, is SIGKILLed through the container's cgroup, rounds until none is left (bounded: a
 * fork bomb must not hold the shim). Without a cgroup there is nothing to find them by. */
void isolation_kill_cgroup(void) {
    if (iso.ncgroups == 0) return;
    for (int round = 0; round < 100; round++) {
        int fd = open_host(iso.cgroup_procs[0], O_RDONLY | O_CLOEXEC);
        if (fd < 0) return;
        char buf[8192];
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0) return;
        buf[n] = 0;
        for (char *p = buf, *end; *p; p = end) {
            long pid = strtol(p, &end, 10);
            if (end == p) break;
            if (pid > 0) kill((pid_t)pid, SIGKILL);
        }
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
}

/* The bounding set cut down to the container's set (see isolation.h: a created container's child
 * does it while it waits for its start). */
const char *isolation_narrow_bounding_set(void) {
    if (!iso.has_caps || iso.bounding_narrowed) return NULL;
    for (int cap = 0; cap < 64; cap++) {
        if (iso.caps & (1ULL << cap)) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) return "drop capability from the bounding set";
    }
    iso.bounding_narrowed = 1;
    return NULL;
}

/* Just before exec, with every mount in place, as runc's finalizeNamespace does it: the root
 * read-only, the capability bounding set cut down to the container's set (unless done already),
 * the inheritable and ambient sets emptied, then groups, gid and uid, then no_new_privs. The exec
 * then computes the process's capabilities from the bounding set: all of it for uid 0, none for
 * any other uid (Kubernetes adds no ambient capabilities). */
const char *isolation_finish(const char **arg) {
    *arg = NULL;
    if (iso.readonly_root && mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) return "remount / read-only";
    if (iso.has_caps) {
        const char *step = isolation_narrow_bounding_set();
        if (step) return step;
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
        struct __user_cap_data_struct d[2];
        if (syscall(SYS_capget, &h, d) < 0) return "capget";
        d[0].inheritable = d[1].inheritable = 0;
        if (syscall(SYS_capset, &h, d) < 0) return "capset";
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    }
    if (iso.has_ids) {
        /* Raw syscalls: glibc's wrappers would try to change every thread of the process, and this
         * child shares the shim's memory (CLONE_VM) without being one of its threads. */
        if (syscall(SYS_setgroups, (size_t)iso.ngroups, iso.groups) < 0) return "setgroups";
        if (syscall(SYS_setresgid, iso.gid, iso.gid, iso.gid) < 0) return "setgid";
        if (syscall(SYS_setresuid, iso.uid, iso.uid, iso.uid) < 0) return "setuid";
    }
    if (iso.no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return "set no_new_privs";
    return NULL;
}
