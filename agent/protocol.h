/* protocol.h - the contract between csampler and its allocation-tracking agent.
 *
 * The agent (libcsampler_agent.so) runs inside the target: preloaded (LD_PRELOAD) when
 * csampler launches the program, or loaded with dlopen() through ptrace when csampler
 * attaches. It hooks the allocation functions by rewriting GOT entries, aggregates
 * outstanding allocations per call stack inside the target, and answers snapshot
 * requests over a Unix stream socket.
 *
 * Connection. No third process can take either end's place:
 * - Launch mode: csampler makes a SOCK_SEQPACKET socketpair, the control socket, and
 *   the command inherits one end; CSAMPLER_AGENT_FD holds "FD,PID": its number and
 *   csampler's process id (checked against the socket's SO_PEERCRED, so that another
 *   socket reusing the number is never taken for it). Every process of the command
 *   opens its own session: the agent makes a stream socketpair and sends one end to
 *   csampler over the control socket (struct cs_ctl_hello with SCM_RIGHTS); csampler
 *   learns the process from that end's SO_PEERCRED (the process that made the pair).
 *   The preloaded agent does this in its constructor, so the environment and the
 *   control socket stay for programs the command execs (they are tracked too), and in
 *   a child after fork (see below). Processes the command starts are thus followed
 *   across fork and exec, each in a session of its own.
 * - Attach mode: csampler listens on an abstract socket with a random name (in the
 *   target's network namespace), and the injected code calls
 *   cs_agent_attach(&rendezvous) right after dlopen; the rendezvous holds the name and
 *   two random keys and lives in the target's memory only. The agent accepts a listener
 *   of its own user or root (SO_PEERCRED) and proves itself with agent_key in HELLO;
 *   csampler accepts only a connection from the target's process (SO_PEERCRED, checked
 *   against a pidfd so a recycled PID cannot pass) and proves itself with
 *   csampler_key in CONFIG. A connection that fails either check is dropped; the
 *   agent never installs a hook for a peer that did not prove itself.
 * If nothing answers, the agent stays inert.
 *
 * Every message is a cs_msg header followed by `len` payload bytes; integers are in
 * the host's byte order (both ends run on the same machine).
 *
 *   agent   -> csampler : HELLO
 *   csampler -> agent   : CONFIG
 *   agent   -> csampler : READY          (hooks installed, tracking from now on)
 *                         or BUSY        (another session is using this process's agent)
 *   then, any number of times:
 *   csampler -> agent   : SNAP_REQ
 *   agent   -> csampler : SNAPSHOT
 *   or:
 *   csampler -> agent   : STATS_REQ
 *   agent   -> csampler : STATS
 *   and at the end:
 *   csampler -> agent   : DETACH
 *   agent   -> csampler : BYE            (hooks removed, agent inert)
 *
 * When the target exits normally (exit(), _exit() or return from main), or, in launch
 * mode, is about to die of a fatal signal (SIGSEGV, SIGABRT, SIGTERM, ... whose disposition was
 * the default), the agent sends one unsolicited SNAPSHOT with CS_SNAP_FINAL set and
 * holds the dying thread until csampler answers FINAL_ACK (at most
 * CS_AGENT_FINAL_WAIT_MS): the address space is still whole then, so csampler reads
 * the libraries the program loaded before it lets it go.
 * If the socket closes (csampler exited or was killed) the agent removes its hooks and
 * goes inert; the target keeps running normally. An agent that cannot proceed sends
 * ERROR (a message string) and goes inert. An agent whose set-up does not finish
 * within CS_AGENT_SETUP_MS puts every rewritten slot back by itself (a watchdog that
 * needs neither the loader nor the allocator) and goes inert.
 *
 * Fork. A child never uses its parent's session. In attach mode it goes inert (its
 * hooks forward). In launch mode it records from the fork on, with new, empty tables
 * and its parent's configuration (what the parent allocated before the fork is unknown
 * to it, as in attach mode), and opens a session of its own over the control socket
 * from a new service thread; CONFIG there normally repeats the configuration, else the
 * tables start anew. If the session cannot be opened the child goes inert. A child that
 * ends before its session is ready waits for it, bounded, to send its final snapshot.
 * Exec ends a session (its socket is close-on-exec) without a final snapshot; the
 * program exec'd opens a new one.
 */
#ifndef CS_AGENT_PROTOCOL_H
#define CS_AGENT_PROTOCOL_H

#include <stdint.h>

#define CS_AGENT_MAGIC 0x43534147u /* "CSAG" */
#define CS_AGENT_VERSION 3
#define CS_AGENT_FD_ENV "CSAMPLER_AGENT_FD"
#define CS_AGENT_ATTACH_FN "cs_agent_attach"
#define CS_AGENT_KEY_BYTES 16
#define CS_AGENT_MAX_DEPTH 128
/* The agent's set-up watchdog, and how long csampler waits for READY after CONFIG. */
#define CS_AGENT_SETUP_MS 5000
#define CS_AGENT_READY_WAIT_MS 8000
/* How long a dying target waits for FINAL_ACK. */
#define CS_AGENT_FINAL_WAIT_MS 5000
/* Test hook: the agent sleeps this many milliseconds in its set-up, with half of its
 * hooks installed (read from the target's environment). */
#define CS_AGENT_STALL_ENV "CSAMPLER_AGENT_TEST_STALL_MS"

/* Attach mode: what the injected code passes to cs_agent_attach(). */
struct cs_agent_rendezvous {
	uint32_t magic;	  /* CS_AGENT_MAGIC */
	uint32_t version; /* CS_AGENT_VERSION */
	char name[96];	  /* abstract socket name, without the leading NUL; NUL-terminated */
	uint8_t agent_key[CS_AGENT_KEY_BYTES];	  /* the agent shows this in HELLO */
	uint8_t csampler_key[CS_AGENT_KEY_BYTES]; /* csampler shows this in CONFIG */
};

enum cs_msg_type {
	CS_MSG_HELLO = 1,
	CS_MSG_CONFIG = 2,
	CS_MSG_READY = 3,
	CS_MSG_SNAP_REQ = 4,
	CS_MSG_SNAPSHOT = 5,
	CS_MSG_DETACH = 6,
	CS_MSG_BYE = 7,
	CS_MSG_ERROR = 8,
	CS_MSG_FINAL_ACK = 9,
	CS_MSG_BUSY = 10,
	CS_MSG_STATS_REQ = 11, /* csampler -> agent: the heap counters, now */
	CS_MSG_STATS = 12,     /* agent -> csampler: struct cs_msg_stats */
};

/* Launch mode: what goes over the control socket with the session's socket. */
struct cs_ctl_hello {
	uint32_t magic;	  /* CS_AGENT_MAGIC */
	uint32_t version; /* CS_AGENT_VERSION */
	uint32_t pid;	  /* getpid() in the sender's PID namespace */
	uint32_t pad;
};

struct cs_msg {
	uint32_t magic; /* CS_AGENT_MAGIC */
	uint32_t type;	/* enum cs_msg_type */
	uint64_t len;	/* payload bytes that follow */
};

struct cs_msg_hello {
	uint32_t version; /* CS_AGENT_VERSION */
	uint32_t pid;	  /* getpid() in the target's own PID namespace */
	uint8_t key[CS_AGENT_KEY_BYTES]; /* attach: rendezvous.agent_key; launch: zeros */
};

enum cs_agent_mode {
	CS_AGENT_EXACT = 0,   /* every allocation */
	CS_AGENT_SAMPLED = 1, /* Poisson sampling by bytes, mean sample_bytes */
};

struct cs_msg_config {
	uint32_t mode;	       /* enum cs_agent_mode */
	uint32_t max_depth;    /* frames kept per stack, <= CS_AGENT_MAX_DEPTH */
	uint64_t sample_bytes; /* mean bytes between samples in sampled mode */
	uint8_t key[CS_AGENT_KEY_BYTES]; /* attach: rendezvous.csampler_key; launch: ignored */
};

enum cs_ready_flags {
	/* The main executable defines (and exports) malloc: its own calls to it are
	 * direct and never pass through a GOT slot, so they are not tracked. */
	CS_READY_EXE_ALLOCATOR = 1u << 0,
	/* Some allocation function could not be hooked: snapshots are marked inexact. */
	CS_READY_PARTIAL = 1u << 1,
};

struct cs_msg_ready {
	uint64_t start_ns;	/* CLOCK_MONOTONIC when tracking began */
	uint32_t modules;	/* modules whose GOT was rewritten */
	uint32_t slots;		/* GOT entries rewritten */
	uint32_t flags;		/* enum cs_ready_flags */
	uint32_t pad;
};

enum cs_snapshot_flags {
	/* Some event may be missing (e.g. the agent could not allocate a table entry):
	 * the figures may be wrong and must be shown as inexact. */
	CS_SNAP_INEXACT = 1u << 0,
	/* Figures are estimates from byte sampling (bytes and blocks are scaled). */
	CS_SNAP_SAMPLED = 1u << 1,
	/* Sent by the agent on its own as the target exits (see above). */
	CS_SNAP_FINAL = 1u << 2,
	/* With FINAL: the target is dying of a signal (not exiting normally). */
	CS_SNAP_SIGNAL = 1u << 3,
};

/* The tracked heap since tracking began. "Temporary": an allocation freed before the
 * thread that made it allocated or freed anything else (heaptrack's definition, per
 * thread: heaptrack orders all threads' events in one stream). The peak is of the
 * tracked outstanding bytes. In sampled mode the byte figures and temporary are
 * estimates (each sampled block weighted as it is in the snapshot). */
struct cs_heap_counters {
	uint64_t heap_bytes;  /* outstanding now */
	uint64_t peak_bytes;  /* the most ever outstanding */
	uint64_t peak_ns;     /* CLOCK_MONOTONIC when the peak was reached (0: never) */
	uint64_t alloc_bytes; /* bytes allocated in all */
	uint64_t temporary;   /* temporary allocations */
};

/* STATS payload. */
struct cs_msg_stats {
	uint64_t time_ns; /* CLOCK_MONOTONIC when the counters were read */
	uint64_t allocs, frees;
	struct cs_heap_counters heap;
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
	struct cs_heap_counters heap;
};

/* One call stack allocations were made from since tracking began. Addresses are
 * return addresses as found on the stack, innermost first: addrs[0] is in the caller
 * of the allocation function (malloc, operator new, ...), never inside the agent.
 * bytes, blocks and oldest_ns describe the outstanding blocks (0 when all were freed);
 * allocs, alloc_bytes and temporary count everything since tracking began; peak_bytes
 * is what the site held when the process's tracked heap reached its peak (as
 * heaptrack's "peak" cost; exact in a single thread, while other threads allocate at
 * that instant it may be off by their blocks in flight). In sampled mode every figure
 * is already scaled to an estimate of the true one. */
struct cs_snap_site {
	uint64_t bytes;
	uint64_t blocks;
	uint64_t oldest_ns; /* CLOCK_MONOTONIC allocation time of the oldest live block */
	uint64_t allocs, alloc_bytes, temporary, peak_bytes;
	uint32_t depth;	    /* number of addresses that follow */
	uint32_t truncated; /* 1 if the stack was deeper than max_depth */
};

#endif
