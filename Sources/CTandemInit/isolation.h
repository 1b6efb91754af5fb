#pragma once
/*
 * The container's isolation (isolation.c), as shim config records:
 *   cgroup <path of a cgroup.procs>   one per hierarchy; the child joins them before anything else
 *   oomscoreadj <n>                   the kubelet's OOM score for the container's QoS
 *   uid <n> / gid <n> / group <n>...  the user, primary group and supplementary groups to exec as
 *   caps <hex>                        the capability bounding set (absent: keep every capability)
 *   nnp 1                             PR_SET_NO_NEW_PRIVS (allowPrivilegeEscalation: false)
 *   rootro 1                          the root filesystem read-only (readOnlyRootFilesystem)
 */

/* Takes a config record: 1 if it is one of the keys above, 0 if not, -1 when over a limit. */
int isolation_config(const char *key, const char *val);
/* Resolves the config's paths below `root` (a directory fd of the host's /) rather than the
 * caller's root: set by a shim whose container's mount namespace no longer shows the host's. */
void isolation_resolve_in(int root);
/* In the child first: NULL, or the failed step (and *arg what it concerned), errno set. */
const char *isolation_enter(const char **arg);
/* Drops what the config leaves out of the capability bounding set, which only limits what
 * the exec grants (the caller keeps its effective capabilities): about fifty prctl calls, each
 * a new set of credentials, that a created container's child makes while it waits for its
 * start rather than between the start and the exec. isolation_finish does it if not done.
 * NULL, or the failed step, errno set. */
const char *isolation_narrow_bounding_set(void);
/* In the child just before exec: NULL, or the failed step, errno set. */
const char *isolation_finish(const char **arg);
/* Kills every process left in the container's cgroup (shareProcessNamespace, at its exit). */
void isolation_kill_cgroup(void);
