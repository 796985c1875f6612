/* backend.h - what a sample source implements (see sampler.h for the records). */
#ifndef CS_SAMPLER_BACKEND_H
#define CS_SAMPLER_BACKEND_H

#include "sampler.h"

struct cs_sampler_backend {
	const char *name;
	/* Open sampling of pid. When refused is not NULL and the kernel refuses this kind
	 * of sampling outright (perf: EACCES, EPERM, ENOSYS), set *refused to the errno and
	 * return NULL without printing; any other failure is printed. */
	void *(*open)(pid_t pid, const struct cs_sampler_opts *o, int *refused);
	void (*close)(void *b);
	size_t (*threads)(const void *b);
	int (*poll)(void *b, int timeout_ms, const struct cs_sampler_ops *ops, void *ctx);
	void (*disable)(void *b);
	void (*info)(const void *b, struct cs_sampler_info *info);
	pid_t (*waitpid)(void *b, pid_t pid, int *status); /* NULL: waitpid(2) */
};

extern const struct cs_sampler_backend cs_perf_backend;
extern const struct cs_sampler_backend cs_ptrace_backend;

/* Why perf_event_open failed with err, as advice that names the fix that applies (a
 * seccomp filter, a missing capability, the sysctl). Writes one phrase into buf. */
void cs_perf_refusal_advice(int err, pid_t pid, char *buf, size_t n);
/* Why PTRACE_SEIZE of pid failed with err, as advice (seccomp, CAP_SYS_PTRACE, Yama's
 * ptrace_scope, another tracer). */
void cs_ptrace_refusal_advice(int err, pid_t pid, char *buf, size_t n);
/* A short name of the cause: "a seccomp filter", "missing CAP_PERFMON", ... */
const char *cs_perf_refusal_cause(int err);

#endif
