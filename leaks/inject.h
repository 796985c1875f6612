/* inject.h - load a shared library into a running process without stopping it for
 * more than a moment: ptrace one thread at a safe point, point it at a trampoline
 * that calls dlopen() and then restores the thread's exact state by itself. */
#ifndef CS_INJECT_H
#define CS_INJECT_H

#include <sys/types.h>

#include "symbolizer/symbolizer.h"

struct cs_inject_stats {
	unsigned stops;	    /* times a thread was stopped */
	double max_stop_ms; /* the longest single stop */
	double total_ms;    /* from the first stop to the release of the chosen thread */
	pid_t tid;	    /* the thread that runs dlopen */
};

/* After loading: call the library's function `entry` (found with dlsym in the new
 * handle) with a pointer to a copy of arg, on the same thread. */
struct cs_inject_call {
	const char *entry; /* at most CS_INJECT_ENTRY_MAX - 1 characters */
	const void *arg;
	size_t arg_len; /* at most CS_INJECT_ARG_MAX */
};
#define CS_INJECT_ENTRY_MAX 32
#define CS_INJECT_ARG_MAX 192

/* Make process pid dlopen(path, RTLD_NOW) on one of its threads, then (if call is not
 * NULL and the library loaded) call->entry(&copy of call->arg). Returns 0 once the
 * thread has been sent on its way (the library loads asynchronously: the caller
 * learns of success from the library itself), or -1 after printing one error line.
 * The thread is stopped only at points where no allocator, loader or signal-handler
 * frame is on its stack. The argument stays readable in the target's memory (only
 * to those who may read that memory anyway). */
int cs_inject_dlopen(struct cs_symbolizer *sym, pid_t pid, const char *path,
		     const struct cs_inject_call *call, struct cs_inject_stats *st);

#endif
