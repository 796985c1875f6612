/* session.h - csampler's end of the agent protocol (agent/protocol.h): the connection
 * to the agent, how the agent gets into the target (LD_PRELOAD for a launched
 * command, ptrace injection for a running process), the handshake, and snapshots.
 *
 * Every wait is bounded by a deadline and by a cap on messages, and gives up at once
 * when *stop changes (a signal asked csampler to end). */
#ifndef CS_LEAK_SESSION_H
#define CS_LEAK_SESSION_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/protocol.h"
#include "leaks/inject.h"
#include "symbolizer/symbolizer.h"

/* What csampler learns about the target besides the snapshots, for its summary. */
struct cs_leak_notes {
	char own_allocator[256];  /* the executable that has its own malloc, or "" */
	uint64_t rss_anon_start;  /* resident anonymous bytes when tracking began (0: unknown) */
	/* The snapshot where resident anonymous memory had grown most beyond the tracked
	 * outstanding bytes: the growth since the start, and the tracked bytes then. */
	uint64_t rss_growth, tracked_then;
	int snapshots;		  /* snapshots read */
	int died_of_signal;	  /* the final snapshot came as the target died of a signal */
};

struct cs_leak_opts {
	uint64_t sample_bytes; /* 0: exact; else mean bytes between samples */
	unsigned max_depth;    /* frames per stack (default 64) */
	const char *agent;     /* the agent library; NULL: found next to csampler */
	/* When the final snapshot arrives the target waits: its maps are read into sym
	 * then (libraries it loaded lately get names). May be NULL. */
	struct cs_symbolizer *sym;
	volatile sig_atomic_t *stop; /* a change means: stop waiting now. May be NULL. */
	uint64_t end_ns;	     /* CLOCK_MONOTONIC time csampler must end by (-d), or 0 */
	struct cs_leak_notes *notes; /* kept up to date when not NULL */
	int quiet;		     /* no error lines (a child process's session) */
};

/* One call stack in a snapshot, as the agent sent it (see struct cs_snap_site). */
struct cs_leak_raw_site {
	uint64_t bytes, blocks, oldest_ns;
	uint64_t allocs, alloc_bytes, temporary, peak_bytes;
	uint32_t depth, truncated;
	const uint64_t *addrs; /* return addresses, innermost first */
};

struct cs_leak_raw {
	struct cs_snap_header h;
	size_t n;
	struct cs_leak_raw_site *sites;
	uint8_t *buf; /* owns the addresses */
};

void cs_leak_raw_release(struct cs_leak_raw *r);

struct cs_leak_session;

/* Find the agent and prepare. NULL after one error line. */
struct cs_leak_session *cs_leak_session_new(const struct cs_leak_opts *o);
void cs_leak_session_free(struct cs_leak_session *s);

/* Launch mode: make the control socket the command inherits; *env receives the
 * NULL-terminated environment for it (the caller's environment plus LD_PRELOAD and
 * CSAMPLER_AGENT_FD; owned by the session). Call before forking the command. 0 or -1.
 * The handshake then takes the session of the command's own process from it. */
int cs_leak_session_launch_env(struct cs_leak_session *s, char ***env);
/* Launch mode, after the handshake: csampler's end of the control socket, on which
 * the other processes of the command (children, programs exec'd) send their sessions
 * (see leaks/rendezvous.h, cs_rendezvous_take). The caller owns it now; -1 if none. */
int cs_leak_session_take_control(struct cs_leak_session *s);
/* A session on a connection taken from the control socket (fd, made by process pid);
 * the session owns fd. Then cs_leak_session_handshake(s, pid, ...) as for the first. */
struct cs_leak_session *cs_leak_session_adopt(const struct cs_leak_opts *o, int fd, pid_t pid);
/* Attach mode: listen where only the agent csampler loads can connect, then load the
 * agent into pid (see inject.h) and have it connect. 0 or -1. */
int cs_leak_session_attach(struct cs_leak_session *s, struct cs_symbolizer *sym, pid_t pid,
			   struct cs_inject_stats *st);
/* Wait (up to timeout_ms) for the agent of process pid, exchange HELLO/CONFIG/READY.
 * on_hello(ctx), if not NULL, runs between HELLO and CONFIG: the target waits for
 * CONFIG then (a launched program has not reached main yet), so its memory map can be
 * read without a race. *start_ns receives when tracking began. 0 or -1. */
int cs_leak_session_handshake(struct cs_leak_session *s, pid_t pid, int timeout_ms,
			      uint64_t *start_ns, void (*on_hello)(void *ctx), void *ctx);
/* Ask for a snapshot and read it. 0, or -1 if the agent is gone (*gone set to 1, no
 * message) or misbehaved (one error line; the connection is closed). If the agent's
 * final snapshot (sent as the target exits) is pending, that one is returned. */
int cs_leak_session_snapshot(struct cs_leak_session *s, struct cs_leak_raw *out, int *gone);
/* Read the agent's final snapshot if it sends one within timeout_ms (the target is
 * exiting). 1 if one was read, 0 if none. */
int cs_leak_session_final(struct cs_leak_session *s, struct cs_leak_raw *out, int timeout_ms);
/* Ask for the heap counters and read them (up to timeout_ms). 0, or -1 if they did not
 * come in time (a late answer is skipped later) or the agent is gone; a final snapshot
 * that comes meanwhile is kept (cs_leak_session_pending) for cs_leak_session_final. */
int cs_leak_session_stats(struct cs_leak_session *s, struct cs_msg_stats *out, int timeout_ms);
/* What the agent sent unasked, without waiting for more: 1 and its final snapshot in
 * *out (the target is ending; it was acknowledged); 0 if nothing but late answers was
 * there; -1 if the agent went away (EOF, error, garbage: the connection is closed). */
int cs_leak_session_unasked(struct cs_leak_session *s, struct cs_leak_raw *out);
/* 1 if a final snapshot was read ahead and waits for cs_leak_session_final. */
int cs_leak_session_pending(const struct cs_leak_session *s);
/* The socket to watch for the final snapshot (readable when the agent speaks or
 * goes away), or -1. */
int cs_leak_session_fd(const struct cs_leak_session *s);
/* Tell the agent to remove its hooks (when still connected), and close. */
void cs_leak_session_detach(struct cs_leak_session *s);

/* A launched command whose tracking could not start runs on untracked: say so and wait
 * for it (until *stop changes), so that it is not left behind; *status receives its
 * wait status and *exited 1 if it ended. */
void cs_leak_wait_command(pid_t pid, volatile sig_atomic_t *stop, int *status, int *exited);

#endif
