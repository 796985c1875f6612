/* protocol.h - the contract between csampler and its allocation-tracking agent.
 *
 * The agent (libcsampler_agent.so) runs inside the target: preloaded (LD_PRELOAD) when
 * csampler launches the program, or loaded with dlopen() through ptrace when csampler
 * attaches. It hooks the allocation functions by rewriting GOT entries, aggregates
 * outstanding allocations per call stack inside the target, and answers snapshot
 * requests over a Unix stream socket.
 *
 * Connection: the agent's constructor connects to the Unix socket whose filesystem
 * path is in the environment variable CSAMPLER_AGENT_SOCKET if set (launch mode;
 * csampler creates it in a private temporary directory; the agent then removes it and
 * its own path from LD_PRELOAD so that programs the target execs are not tracked),
 * else to the abstract socket "\0csampler-agent-<PID>" (attach mode; PID is the
 * target's getpid()). If nothing answers, the agent stays inert.
 *
 * Every message is a cs_msg header followed by `len` payload bytes; integers are in
 * the host's byte order (both ends run on the same machine).
 *
 *   agent   -> csampler : HELLO
 *   csampler -> agent   : CONFIG
 *   agent   -> csampler : READY          (hooks installed, tracking from now on)
 *   then, any number of times:
 *   csampler -> agent   : SNAP_REQ
 *   agent   -> csampler : SNAPSHOT
 *   and at the end:
 *   csampler -> agent   : DETACH
 *   agent   -> csampler : BYE            (hooks removed, agent inert)
 * When the target exits normally (exit() or return from main) while connected, the
 * agent sends one unsolicited SNAPSHOT with CS_SNAP_FINAL set from its destructor, so
 * what was never freed by a program that ran to completion is reported.
 * If the socket closes (csampler exited or was killed) the agent also removes its
 * hooks and goes inert; the target keeps running normally. An agent that cannot
 * proceed sends ERROR (a message string) and goes inert.
 */
#ifndef CS_AGENT_PROTOCOL_H
#define CS_AGENT_PROTOCOL_H

#include <stdint.h>

#define CS_AGENT_MAGIC 0x43534147u /* "CSAG" */
#define CS_AGENT_VERSION 1
#define CS_AGENT_SOCKET_ENV "CSAMPLER_AGENT_SOCKET"
#define CS_AGENT_ABSTRACT_FMT "csampler-agent-%d" /* after a leading NUL byte */
#define CS_AGENT_MAX_DEPTH 128

enum cs_msg_type {
	CS_MSG_HELLO = 1,
	CS_MSG_CONFIG = 2,
	CS_MSG_READY = 3,
	CS_MSG_SNAP_REQ = 4,
	CS_MSG_SNAPSHOT = 5,
	CS_MSG_DETACH = 6,
	CS_MSG_BYE = 7,
	CS_MSG_ERROR = 8,
};

struct cs_msg {
	uint32_t magic; /* CS_AGENT_MAGIC */
	uint32_t type;	/* enum cs_msg_type */
	uint64_t len;	/* payload bytes that follow */
};

struct cs_msg_hello {
	uint32_t version; /* CS_AGENT_VERSION */
	uint32_t pid;
};

enum cs_agent_mode {
	CS_AGENT_EXACT = 0,   /* every allocation */
	CS_AGENT_SAMPLED = 1, /* Poisson sampling by bytes, mean sample_bytes */
};

struct cs_msg_config {
	uint32_t mode;	       /* enum cs_agent_mode */
	uint32_t max_depth;    /* frames kept per stack, <= CS_AGENT_MAX_DEPTH */
	uint64_t sample_bytes; /* mean bytes between samples in sampled mode */
};

struct cs_msg_ready {
	uint64_t start_ns;	/* CLOCK_MONOTONIC when tracking began */
	uint32_t modules;	/* modules whose GOT was rewritten */
	uint32_t slots;		/* GOT entries rewritten */
};

enum cs_snapshot_flags {
	/* Some event may be missing (e.g. the agent could not allocate a table entry):
	 * the figures may be wrong and must be shown as inexact. */
	CS_SNAP_INEXACT = 1u << 0,
	/* Figures are estimates from byte sampling (bytes and blocks are scaled). */
	CS_SNAP_SAMPLED = 1u << 1,
	/* Sent by the agent on its own as the target exits (see above). */
	CS_SNAP_FINAL = 1u << 2,
};

/* SNAPSHOT payload: this header, then nsites records of struct cs_snap_site each
 * followed by `depth` uint64 addresses. */
struct cs_snap_header {
	uint64_t time_ns;	   /* CLOCK_MONOTONIC at the snapshot */
	uint32_t flags;		   /* enum cs_snapshot_flags */
	uint32_t nsites;
	uint64_t sample_bytes;	   /* as configured (0 in exact mode) */
	uint64_t untracked_frees;  /* frees of blocks allocated before tracking began */
	uint64_t allocs, frees;	   /* events seen since tracking began */
	uint64_t lost;		   /* events that could not be recorded */
};

/* One call stack with outstanding allocations. Addresses are return addresses as
 * found on the stack, innermost first: addrs[0] is in the caller of the allocation
 * function (malloc, operator new, ...), never inside the agent. Only sites with
 * blocks > 0 are sent. In sampled mode bytes and blocks are already scaled to
 * estimates of the true totals. */
struct cs_snap_site {
	uint64_t bytes;
	uint64_t blocks;
	uint64_t oldest_ns; /* CLOCK_MONOTONIC allocation time of the oldest live block */
	uint32_t depth;	    /* number of addresses that follow */
	uint32_t truncated; /* 1 if the stack was deeper than max_depth */
};

#endif
