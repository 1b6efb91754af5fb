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
/* In the child first: NULL, or the failed step (and *arg what it concerned), errno set. */
const char *isolation_enter(const char **arg);
/* In the child just before exec: NULL, or the failed step, errno set. */
const char *isolation_finish(const char **arg);
/* Kills every process left in the container's cgroup (shareProcessNamespace, at its exit). */
void isolation_kill_cgroup(void);
