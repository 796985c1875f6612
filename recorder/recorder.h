/* recorder.h - `csampler record`: drive the sampler, unwind every sample online with
 * the symbolizer, keep only return-address stacks (interned in a trie), and at the
 * end resolve every distinct address once into a self-contained profile.
 *
 *   perf rings --> sample --> unwind (libdw CFI) --> address trie + counts
 *                                                         |  end of recording
 *                                                         v
 *                                     resolve each distinct address --> cs_profile
 */
#ifndef CS_RECORDER_H
#define CS_RECORDER_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "leaks/session.h"
#include "push/push.h"
#include "sampler/sampler.h"
#include "profile/profile.h"

/* Frames kept per stack; deeper stacks are cut there. */
#define CS_RECORD_MAX_FRAMES 1024

struct cs_record_opts {
	pid_t pid;	     /* attach to this process, or */
	char *const *argv;   /* launch this command (NULL-terminated) */
	unsigned hz;	     /* default 99 */
	unsigned stack_size; /* default CS_STACK_SIZE_DEFAULT */
	double duration_s;   /* 0 = until the target exits or a signal */
	int kernel;	     /* -1 = when allowed, 0 = never, 1 = always (fails if refused) */
	const char *const *debug_dirs;
	size_t n_debug_dirs;
	int status_line;     /* draw a live status line on stderr */
	int no_cpu;	     /* do not sample CPU time (leak tracking only) */
	int leaks;	     /* track allocations with the agent (see agent/protocol.h) */
	double leak_interval_s; /* seconds between leak snapshots (default 10) */
	uint64_t sample_bytes;	/* 0: exact tracking; else mean bytes between samples */
	const char *agent;	/* the agent library; NULL: found next to csampler */
	int wall;		/* also record off-CPU time and stacks (record --wall) */
	int sampler;		/* enum cs_sampler_kind: perf, ptrace, or perf with fallback */
	int no_python;		/* keep CPython's interpreter frames native (--no-python) */
	/* Continuous mode (record --push): every push->interval_s seconds the samples of
	 * the window since the last one become a profile sent by push/push.h. NULL: off.
	 * CPU samples only (not with wall or leaks). */
	const struct cs_push_opts *push;
	/* Continuous mode without -o: keep only what the current window needs (the
	 * address trie, counts, threads and processes that are gone, and the
	 * symbolizer's state for them are dropped after each window), so that memory
	 * stays bounded over days. The profile cs_record returns then holds no samples,
	 * only the statistics. */
	int window_only;
	/* Set asynchronously (by a signal handler) to end the recording. */
	volatile sig_atomic_t *stop;
};

struct cs_record_result {
	int launched;	  /* the target was launched by us */
	int exit_status;  /* its wait status when launched and it ended */
	int exited;	  /* the target exited during recording */
	int kernel;	  /* kernel frames were recorded */
	struct cs_sampler_info sampler; /* which sample source, and what it cost */
	int leaks;	  /* the agent tracked allocations */
	unsigned snapshots;
	struct cs_inject_stats inject; /* attach mode: how the agent was loaded */
	double agent_ready_ms;	       /* from the start of loading to tracking */
	struct cs_leak_notes leak_notes; /* what the leak session learnt about the target */
	/* Why stacks ended early, beyond the counts in the profile's stats (for hints). */
	char nofile[4096];     /* the unreadable file most cut stacks went through, or "" */
	char nofile_why[128];  /* why it could not be opened */
	unsigned nofile_count; /* distinct unreadable files stacks went through */
	int jit_unnamed_pid;   /* a process running JIT code that nothing names, or 0 */
	char jit_file[4096];   /* a perf map or jitdump file that named JIT frames, or "" */
	size_t jit_names;      /* functions it describes */
	int offcpu_nostack;    /* --wall: the kernel gave switch records but no stacks */
	char python_note[256]; /* a Python interpreter csampler could not read, or "" */
	int pushed;		     /* continuous mode was on: push holds its outcome */
	struct cs_push_stats push;
};

/* Record into p (an initialized, empty profile). Returns 0, or -1 after printing one
 * error line; on -1 nothing was recorded (p holds no samples). */
int cs_record(const struct cs_record_opts *o, struct cs_profile *p, struct cs_record_result *res);

#endif
