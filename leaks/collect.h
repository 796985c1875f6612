/* collect.h - every leak session of one recording: the process csampler launched or
 * attached to and, in launch mode, each process that command starts (a child after
 * fork, a program after exec), each in a session of its own (agent/protocol.h). The
 * collector takes new processes' sessions from the control socket, asks every live
 * session for a snapshot each interval and for its heap counters at each tick of the
 * timeline, keeps each process's final snapshot, and turns every snapshot's stacks
 * into nodes of the caller's address trie while the address space they came from is
 * known (they are resolved at the end, with the rest of the recording).
 *
 * Like the sessions, it never waits without a bound, and processes other than the
 * first fail quietly (a child that ends before its agent is ready is no error). */
#ifndef CS_LEAK_COLLECT_H
#define CS_LEAK_COLLECT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "leaks/inject.h"
#include "leaks/session.h"
#include "profile/profile.h"

struct cs_leak_collect_opts {
	/* For every session; notes are the first process's (children's are not kept). */
	struct cs_leak_opts leak;
	double interval_s; /* between snapshots */
	int refresh_maps;  /* no perf records: read /proc/PID/maps when needed */
	/* The node of the frame (module, module-relative addr) called from node parent in
	 * the caller's address trie (cs_sym_locate's terms); node 0 is the root. */
	uint32_t (*node)(void *ctx, uint32_t parent, uint32_t module, uint64_t addr);
	void *ctx;
};

struct cs_leak_collect;

/* Prepare (find the agent). NULL after one error line. */
struct cs_leak_collect *cs_leak_collect_new(const struct cs_leak_collect_opts *o);
void cs_leak_collect_free(struct cs_leak_collect *c);

/* Launch mode: the environment for the command (see cs_leak_session_launch_env). */
int cs_leak_collect_launch_env(struct cs_leak_collect *c, char ***env);
/* Attach mode: load the agent into pid (see cs_leak_session_attach). 0 or -1. */
int cs_leak_collect_attach(struct cs_leak_collect *c, pid_t pid, struct cs_inject_stats *st);
/* Hand-shake with the first process, pid (launched or attached): 0, or -1 after one
 * error line. Times in the recording count from start_ns (CLOCK_MONOTONIC). */
int cs_leak_collect_start(struct cs_leak_collect *c, pid_t pid, uint64_t start_ns, int timeout_ms);

/* A descriptor that becomes readable when cs_leak_collect_poll has work (a process's
 * agent spoke or a new process's session came), or -1. */
int cs_leak_collect_fd(const struct cs_leak_collect *c);
/* Take new processes' sessions and final snapshots; end the sessions that went away;
 * every interval, a snapshot of every live session. now_ns: CLOCK_MONOTONIC. */
void cs_leak_collect_poll(struct cs_leak_collect *c, uint64_t now_ns);
/* One tick of the timeline (t_ms since start_ns): each live process's heap counters. */
void cs_leak_collect_tick(struct cs_leak_collect *c, uint64_t t_ms);
/* The end: the first process's final snapshot if it exited (first_exited), else one
 * last snapshot and DETACH; the same for every other live process (its final
 * snapshot if it is ending, else a last snapshot and DETACH). */
void cs_leak_collect_finish(struct cs_leak_collect *c, int first_exited);

/* For the status line: snapshots taken, and the outstanding bytes of every process
 * at its latest snapshot. */
void cs_leak_collect_status(const struct cs_leak_collect *c, size_t *snapshots, uint64_t *bytes);
/* Into p: the processes, the snapshots (trie node i becomes profile node pnode[i]) and
 * the heap timeline. */
void cs_leak_collect_build(struct cs_leak_collect *c, struct cs_profile *p, const uint32_t *pnode);

#endif
