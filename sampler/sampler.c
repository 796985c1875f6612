/* sampler.c - choosing a sample source, falling back from perf to ptrace, and advice
 * that matches why perf events were refused. */
#include "backend.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct cs_sampler {
	const struct cs_sampler_backend *b;
	void *impl;
	int fallback;
};

/* Capability bits (linux/capability.h) this advice needs. */
#define CAP_BIT_SYS_PTRACE 19
#define CAP_BIT_SYS_ADMIN  21
#define CAP_BIT_PERFMON	   38

/* A field of /proc/self/status ("Seccomp", "CapEff"), or NULL. */
static int status_field(const char *name, char *out, size_t n)
{
	char *s = cs_read_file("/proc/self/status", 1 << 16, NULL);
	if (!s)
		return -1;
	size_t len = strlen(name);
	int ret = -1;
	for (char *line = s; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, name, len) == 0 && line[len] == ':') {
			const char *v = line + len + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			size_t k = strcspn(v, "\n");
			if (k >= n)
				k = n - 1;
			memcpy(out, v, k);
			out[k] = 0;
			ret = 0;
			break;
		}
	}
	free(s);
	return ret;
}

static int under_seccomp_filter(void)
{
	char v[32];
	return status_field("Seccomp", v, sizeof(v)) == 0 && atoi(v) == 2;
}

static int has_cap(int bit)
{
	char v[64];
	if (status_field("CapEff", v, sizeof(v)) < 0)
		return geteuid() == 0;
	return (strtoull(v, NULL, 16) >> bit) & 1;
}

static int paranoid_level(void)
{
	char *s = cs_read_file("/proc/sys/kernel/perf_event_paranoid", 64, NULL);
	int v = s ? atoi(s) : 2;
	free(s);
	return v;
}

int cs_kernel_sampling_allowed(void)
{
	if (geteuid() == 0 && (has_cap(CAP_BIT_PERFMON) || has_cap(CAP_BIT_SYS_ADMIN)))
		return 1;
	return paranoid_level() <= 1 || has_cap(CAP_BIT_PERFMON);
}

/* The owner of pid differs from us. */
static int other_user(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	char *s = cs_read_file(path, 1 << 16, NULL);
	if (!s)
		return 0;
	const char *u = strstr(s, "\nUid:");
	unsigned real = 0, eff = 0;
	int other = u && sscanf(u + 5, "%u %u", &real, &eff) == 2 && eff != geteuid();
	free(s);
	return other;
}

const char *cs_perf_refusal_cause(int err)
{
	if (under_seccomp_filter())
		return "by a seccomp filter";
	if (err == ENOSYS)
		return "this kernel has no perf events";
	if (paranoid_level() >= 3 && !has_cap(CAP_BIT_PERFMON) && !has_cap(CAP_BIT_SYS_ADMIN))
		return "by sysctl kernel.perf_event_paranoid >= 3";
	if (!has_cap(CAP_BIT_PERFMON) && !has_cap(CAP_BIT_SYS_ADMIN))
		return "without CAP_PERFMON";
	return "by the kernel";
}

void cs_perf_refusal_advice(int err, pid_t pid, char *buf, size_t n)
{
	int perfmon = has_cap(CAP_BIT_PERFMON) || has_cap(CAP_BIT_SYS_ADMIN);
	int level = paranoid_level();
	if (under_seccomp_filter()) {
		snprintf(buf, n,
			 "a seccomp filter refuses perf_event_open here (Docker's default profile "
			 "does, for root too): run the container with a seccomp profile that "
			 "allows perf_event_open (--security-opt seccomp=PROFILE.json)");
	} else if (err == ENOSYS) {
		snprintf(buf, n, "this kernel was built without perf events (CONFIG_PERF_EVENTS)");
	} else if (pid > 0 && other_user(pid) && !has_cap(CAP_BIT_SYS_PTRACE)) {
		snprintf(buf, n,
			 "PID %d belongs to another user: run csampler as that user or as root, "
			 "or give it CAP_SYS_PTRACE (in a container: --cap-add SYS_PTRACE)",
			 (int)pid);
	} else if (level >= 3 && !perfmon) {
		snprintf(buf, n,
			 "sysctl kernel.perf_event_paranoid is %d, which refuses perf events to "
			 "every unprivileged process: set it to 2 or less, or give csampler "
			 "CAP_PERFMON",
			 level);
	} else if (!perfmon && geteuid() == 0) {
		snprintf(buf, n,
			 "csampler runs as root without CAP_PERFMON or CAP_SYS_ADMIN (a "
			 "container?): add the capability (--cap-add PERFMON, or SYS_ADMIN on "
			 "kernels before 5.8)");
	} else if (!perfmon) {
		snprintf(buf, n,
			 "give csampler CAP_PERFMON (setcap cap_perfmon+ep, or --cap-add PERFMON "
			 "in a container), or set sysctl kernel.perf_event_paranoid to 1 or less "
			 "(now %d)",
			 level);
	} else {
		snprintf(buf, n,
			 "the kernel refused although csampler has CAP_PERFMON (an LSM such as "
			 "SELinux or AppArmor?)");
	}
}

void cs_ptrace_refusal_advice(int err, pid_t pid, char *buf, size_t n)
{
	char path[64], *st;
	int tracer = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((st = cs_read_file(path, 1 << 16, NULL)) != NULL) {
		const char *t = strstr(st, "\nTracerPid:");
		tracer = t ? atoi(t + 11) : 0;
		free(st);
	}
	char *y = cs_read_file("/proc/sys/kernel/yama/ptrace_scope", 64, NULL);
	int scope = y ? atoi(y) : 0;
	free(y);
	int cap = has_cap(CAP_BIT_SYS_PTRACE);
	if (err != EPERM && err != EACCES && err != ENOSYS)
		snprintf(buf, n, "%s", strerror(err));
	else if (tracer)
		snprintf(buf, n,
			 "it is already traced by PID %d (a debugger, or another csampler?)",
			 tracer);
	else if (under_seccomp_filter())
		snprintf(
		    buf, n,
		    "a seccomp filter refuses ptrace here: allow ptrace and process_vm_readv "
		    "in the container's seccomp profile (--security-opt seccomp=PROFILE.json)");
	else if (pid > 0 && other_user(pid) && !cap)
		snprintf(buf, n,
			 "PID %d belongs to another user: run csampler as that user or as root, "
			 "or give it CAP_SYS_PTRACE (in a container: --cap-add SYS_PTRACE)",
			 (int)pid);
	else if (scope >= 3)
		snprintf(buf, n,
			 "sysctl kernel.yama.ptrace_scope is 3: no process may be traced "
			 "until reboot");
	else if (scope >= 1 && !cap)
		snprintf(buf, n,
			 "sysctl kernel.yama.ptrace_scope is %d: give csampler CAP_SYS_PTRACE "
			 "(--cap-add SYS_PTRACE in a container), launch the program under "
			 "csampler instead, or set the sysctl to 0",
			 scope);
	else if (!cap)
		snprintf(buf, n,
			 "give csampler CAP_SYS_PTRACE (--cap-add SYS_PTRACE in a "
			 "container)");
	else
		snprintf(buf, n,
			 "refused although csampler has CAP_SYS_PTRACE (an LSM such as "
			 "SELinux or AppArmor?)");
}

int cs_sampler_kind_parse(const char *name)
{
	if (!strcmp(name, "auto"))
		return CS_SAMPLER_AUTO;
	if (!strcmp(name, "perf"))
		return CS_SAMPLER_PERF;
	if (!strcmp(name, "ptrace"))
		return CS_SAMPLER_PTRACE;
	return -1;
}

struct cs_sampler *cs_sampler_open(pid_t pid, const struct cs_sampler_opts *o)
{
	struct cs_sampler *s = cs_xcalloc(1, sizeof(*s));
	struct cs_sampler_opts po = *o;
	int refused = 0;

	if (o->kind != CS_SAMPLER_PTRACE) {
		s->b = &cs_perf_backend;
		s->impl = s->b->open(pid, o, o->kind == CS_SAMPLER_AUTO ? &refused : NULL);
		if (s->impl || !refused) {
			if (!s->impl)
				goto fail;
			return s;
		}
		if (o->wall) {
			cs_error("perf events refused (%s, %s): record --wall needs them, the "
				 "ptrace sampler cannot see threads leave the CPU",
				 strerror(refused), cs_perf_refusal_cause(refused));
			goto fail;
		}
		/* One line: what was refused and why, and what happens instead. */
		if (po.hz > CS_PTRACE_HZ_CAP) {
			fprintf(stderr,
				"%s: perf events refused (%s, %s); sampling with ptrace instead at "
				"%u Hz, not %u (no kernel frames; each sample stops a thread "
				"briefly)\n",
				cs_progname, strerror(refused), cs_perf_refusal_cause(refused),
				CS_PTRACE_HZ_CAP, po.hz);
			po.hz = CS_PTRACE_HZ_CAP;
		} else {
			fprintf(
			    stderr,
			    "%s: perf events refused (%s, %s); sampling with ptrace instead (no "
			    "kernel frames; each sample stops a thread briefly)\n",
			    cs_progname, strerror(refused), cs_perf_refusal_cause(refused));
		}
		s->fallback = 1;
	}
	if (o->wall) {
		/* ptrace cannot see a thread leave the CPU: off-CPU time needs perf events */
		cs_error("record --wall needs perf events (context switches), which the "
			 "ptrace sampler cannot observe: use --sampler perf");
		goto fail;
	}
	po.kernel = 0;
	s->b = &cs_ptrace_backend;
	s->impl = s->b->open(pid, &po, NULL);
	if (s->impl)
		return s;
fail:
	free(s);
	return NULL;
}

void cs_sampler_close(struct cs_sampler *s)
{
	if (!s)
		return;
	s->b->close(s->impl);
	free(s);
}

size_t cs_sampler_threads(const struct cs_sampler *s)
{
	return s->b->threads(s->impl);
}

int cs_sampler_poll(struct cs_sampler *s, int timeout_ms, const struct cs_sampler_ops *ops,
		    void *ctx)
{
	return s->b->poll(s->impl, timeout_ms, ops, ctx);
}

void cs_sampler_disable(struct cs_sampler *s)
{
	s->b->disable(s->impl);
}

int cs_sampler_offcpu_stacks(const struct cs_sampler *s)
{
	struct cs_sampler_info info;
	cs_sampler_info(s, &info);
	return info.offcpu_stacks;
}

void cs_sampler_info(const struct cs_sampler *s, struct cs_sampler_info *info)
{
	s->b->info(s->impl, info);
	info->fallback = s->fallback;
}

pid_t cs_sampler_waitpid(struct cs_sampler *s, pid_t pid, int *status)
{
	if (s && s->b->waitpid)
		return s->b->waitpid(s->impl, pid, status);
	return waitpid(pid, status, WNOHANG);
}
