/*
 * Entering a network namespace from a Swift thread: glibc's setns(2) is declared only with
 * _GNU_SOURCE, which Swift's Glibc module does not see. Only the calling thread moves, so
 * the caller does this on a thread of its own (kubectl port-forward's connections).
 */
#define _GNU_SOURCE
#include <sched.h>
#include "CTandemInit.h"

int tandem_setns_net(int fd) { return setns(fd, CLONE_NEWNET); }
