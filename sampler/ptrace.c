/* ptrace.c - the ptrace sample source, for where perf events are refused.
 *
 * Every thread is seized (PTRACE_SEIZE: no stop, and new threads, children and execs
 * are followed through PTRACE_O_TRACECLONE/FORK/VFORK/EXEC). At each tick, a thread
 * whose CPU time (/proc/.../schedstat) grew by a sampling period or more, and that
 * is running or runnable now (not sleeping: where it waits is not where its CPU time
 * went), is interrupted (PTRACE_INTERRUPT), its registers (PTRACE_GETREGSET) and the top of its
 * stack (process_vm_readv) read, and it is resumed at once; the sample then goes to
 * the caller like a perf sample, weighted by the periods it stands for.
 *
 * The target must behave exactly as untraced: a signal reported to us
 * (signal-delivery-stop) is given back when the thread resumes; a group-stop
 * (SIGSTOP, SIGTSTP, ...) is kept with PTRACE_LISTEN so the process stays stopped
 * until its SIGCONT. No PTRACE_O_EXITKILL: if csampler dies, even by SIGKILL, the
 * kernel detaches every thread and it runs on. csampler never waits on children that
 * are not its tracees (no waitpid(-1)), so it does not steal other children's status.
 */
#include "backend.h"
#include "util/proc.h"
#include "util/ptrace.h"
#include "util/util.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

_Static_assert(CS_SAMPLE_NREGS == CS_PT_NREGS, "one register order");

#define PT_OPTIONS                                                                                 \
	(PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC)

enum { T_RUN, T_GSTOP };

struct tthread {
	pid_t tid, pid;
	int state;		 /* T_RUN, or T_GSTOP: in a group-stop, kept with PTRACE_LISTEN */
	int announced;		 /* the caller was told of it (attach, or its fork record) */
	int sched_fd;		 /* /proc/PID/task/TID/schedstat, or -1 */
	uint64_t last_cpu, owed; /* ns of CPU time: last reading, not yet sampled */
	uint64_t comm_checked;
	char comm[16];
};

struct xmap {
	uint64_t start, end, pgoff, ino;
};

struct tproc {
	pid_t pid;
	int armed;		  /* sampled: attached, or exec'd after launch */
	CS_VEC(struct xmap) maps; /* executable mappings the caller knows of */
	uint64_t scanned;
	uint64_t changed; /* when a scan last found a new mapping (or the exec) */
};

struct ptrace_sampler {
	struct cs_sampler_opts o;
	pid_t pid;
	CS_VEC(struct tthread) threads;
	CS_VEC(struct tproc) procs;
	uint64_t period, next_tick;
	int disabled;
	int sfd; /* signalfd for SIGCHLD, or -1 */
	sigset_t oldmask;
	uint8_t *stack;
	/* Per sample: how long the thread was held stopped (from its stop reaching
	 * csampler to its resume), and the whole round trip from PTRACE_INTERRUPT to
	 * resume, which adds the time until the thread reached its stop (scheduling). */
	CS_VEC(uint32_t) stop_ns;
	CS_VEC(uint32_t) trip_ns;
	uint64_t interrupted;
	size_t attached;
	pid_t reaped_pid; /* a launched child's status, taken by our waitpid as tracer */
	int reaped_status;
	/* What a poll delivers to. */
	const struct cs_sampler_ops *ops;
	void *ctx;
	int delivered;
};

/* ---- threads and processes ---- */

static struct tthread *thread_find(struct ptrace_sampler *s, pid_t tid)
{
	for (size_t i = 0; i < s->threads.n; i++)
		if (s->threads.v[i].tid == tid)
			return &s->threads.v[i];
	return NULL;
}

static struct tproc *proc_find(struct ptrace_sampler *s, pid_t pid)
{
	for (size_t i = 0; i < s->procs.n; i++)
		if (s->procs.v[i].pid == pid)
			return &s->procs.v[i];
	return NULL;
}

static uint64_t sched_cpu(struct tthread *t)
{
	char buf[128];
	if (t->sched_fd < 0)
		return t->last_cpu;
	ssize_t n = pread(t->sched_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return t->last_cpu;
	buf[n] = 0;
	return strtoull(buf, NULL, 10);
}

/* 1 unless the thread is known to be off the CPU by its own wish (sleeping, waiting on
 * I/O): /proc/PID/task/TID/stat's state is R (running or runnable). Its CPU time since
 * the last sample was spent elsewhere, so a sample of where it waits now would put
 * that time on the wrong stack; it is sampled when it next runs. */
static int thread_on_cpu(pid_t pid, pid_t tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = 0;
	const char *rp = strrchr(buf, ')'); /* the name may hold anything but ends there */
	return !rp || rp[1] != ' ' || rp[2] == 'R';
}

static pid_t tgid_of(pid_t tid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	char *st = cs_read_file(path, 1 << 16, NULL);
	if (!st)
		return 0;
	const char *p = strstr(st, "\nTgid:");
	pid_t tg = p ? (pid_t)atoi(p + 6) : 0;
	free(st);
	return tg;
}

static struct tthread *thread_add(struct ptrace_sampler *s, pid_t pid, pid_t tid, int announced)
{
	struct tthread t;
	memset(&t, 0, sizeof(t));
	t.tid = tid;
	t.pid = pid;
	t.state = T_RUN;
	t.announced = announced;
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", (int)pid, (int)tid);
	t.sched_fd = open(path, O_RDONLY | O_CLOEXEC);
	t.last_cpu = sched_cpu(&t);
	CS_VEC_PUSH(s->threads, t);
	return &s->threads.v[s->threads.n - 1];
}

static struct tproc *proc_add(struct ptrace_sampler *s, pid_t pid, int armed)
{
	struct tproc p;
	memset(&p, 0, sizeof(p));
	p.pid = pid;
	p.armed = armed;
	CS_VEC_PUSH(s->procs, p);
	return &s->procs.v[s->procs.n - 1];
}

static void proc_remove(struct ptrace_sampler *s, pid_t pid)
{
	for (size_t i = 0; i < s->procs.n; i++)
		if (s->procs.v[i].pid == pid) {
			CS_VEC_FREE(s->procs.v[i].maps);
			s->procs.v[i] = s->procs.v[--s->procs.n];
			return;
		}
}

/* The thread is gone: tell the caller, forget it. */
static void thread_gone(struct ptrace_sampler *s, pid_t tid)
{
	for (size_t i = 0; i < s->threads.n; i++) {
		struct tthread *t = &s->threads.v[i];
		if (t->tid != tid)
			continue;
		pid_t pid = t->pid;
		if (t->sched_fd >= 0)
			close(t->sched_fd);
		if (s->ops && s->ops->exit && t->announced) {
			s->ops->exit(s->ctx, (uint32_t)pid, (uint32_t)pid, (uint32_t)tid,
				     (uint32_t)tid, cs_now_ns());
			s->delivered++;
		}
		s->threads.v[i] = s->threads.v[--s->threads.n];
		if (pid == tid)
			proc_remove(s, pid);
		return;
	}
}

/* ---- mappings ---- */

struct scan {
	struct ptrace_sampler *s;
	struct tproc *p;
	int emit, found;
	CS_VEC(struct xmap) now;
};

static int known_map(const struct tproc *p, const struct xmap *m)
{
	for (size_t i = 0; i < p->maps.n; i++)
		if (p->maps.v[i].start == m->start && p->maps.v[i].end == m->end &&
		    p->maps.v[i].pgoff == m->pgoff && p->maps.v[i].ino == m->ino)
			return 1;
	return 0;
}

static void scan_one(void *ctx, const struct cs_proc_map *m)
{
	struct scan *sc = ctx;
	if (!(m->prot & PROT_EXEC) || !m->path[0])
		return;
	struct xmap x = {m->start, m->end, m->pgoff, m->ino};
	CS_VEC_PUSH(sc->now, x);
	if (!sc->emit || known_map(sc->p, &x) || !sc->s->ops || !sc->s->ops->mmap)
		return;
	sc->found = 1;
	struct cs_mmap_rec r = {(uint32_t)sc->p->pid,
				(uint32_t)sc->p->pid,
				m->start,
				m->end - m->start,
				m->pgoff,
				m->maj,
				m->min,
				m->ino,
				(uint32_t)m->prot,
				MAP_PRIVATE,
				m->path,
				cs_now_ns()};
	sc->s->ops->mmap(sc->s->ctx, &r);
	sc->s->delivered++;
}

/* Read the process's executable mappings; tell the caller of new ones if emit. */
static void scan_maps(struct ptrace_sampler *s, struct tproc *p, int emit)
{
	struct scan sc = {s, p, emit, 0, {0}};
	if (cs_proc_maps(p->pid, scan_one, &sc) < 0) {
		CS_VEC_FREE(sc.now);
		return;
	}
	CS_VEC_FREE(p->maps);
	memcpy(&p->maps, &sc.now, sizeof(sc.now));
	p->scanned = cs_now_ns();
	if (sc.found)
		p->changed = p->scanned;
}

static int in_known_map(const struct tproc *p, uint64_t ip)
{
	for (size_t i = 0; i < p->maps.n; i++)
		if (ip >= p->maps.v[i].start && ip < p->maps.v[i].end)
			return 1;
	return 0;
}

/* ---- stops ---- */

static void check_comm(struct ptrace_sampler *s, struct tthread *t, uint64_t now)
{
	char name[16];
	if (t->comm_checked && now - t->comm_checked < 1000000000ull)
		return;
	t->comm_checked = now;
	if (cs_proc_comm(t->pid, t->tid, name, sizeof(name)) < 0 || !strcmp(name, t->comm))
		return;
	snprintf(t->comm, sizeof(t->comm), "%s", name);
	/* A thread named itself after its start (perf reports that with a COMM record
	 * too); the first time, this also corrects the name a new thread was given from
	 * its creator. */
	if (s->ops && s->ops->comm) {
		s->ops->comm(s->ctx, (uint32_t)t->pid, (uint32_t)t->tid, name, 0, now);
		s->delivered++;
	}
}

/* At our interrupt stop: read registers and stack, resume, then deliver. */
static void sample_stopped(struct ptrace_sampler *s, struct tthread *t, uint64_t t0,
			   uint64_t weight)
{
	struct user_regs_struct r;
	size_t got;
	int ok = cs_pt_snapshot(t->tid, &r, s->stack, s->o.stack_size, &got) == 0;
	uint64_t now = cs_now_ns();
	cs_pt_resume(t->tid, 0);
	uint64_t end = cs_now_ns(), held = end - t0, trip = end - s->interrupted;
	CS_VEC_PUSH(s->stop_ns, (uint32_t)(held > UINT32_MAX ? UINT32_MAX : held));
	CS_VEC_PUSH(s->trip_ns, (uint32_t)(trip > UINT32_MAX ? UINT32_MAX : trip));
	if (!ok)
		return;
	struct tproc *p = proc_find(s, t->pid);
	/* Code outside every mapping we know: something was mapped since (dlopen). */
	if (p && !in_known_map(p, r.rip) && now - p->scanned > 20000000ull)
		scan_maps(s, p, 1);
	check_comm(s, t, now);
	struct cs_sample_rec sr;
	memset(&sr, 0, sizeof(sr));
	sr.pid = (uint32_t)t->pid;
	sr.tid = (uint32_t)t->tid;
	sr.cpu = 0;
	sr.time = now;
	sr.weight = weight;
	sr.ip = r.rip;
	sr.user_regs = 1;
	cs_pt_regs_dwarf(&r, sr.regs);
	sr.stack = s->stack;
	sr.stack_len = got;
	if (s->ops && s->ops->sample) {
		s->ops->sample(s->ctx, &sr);
		s->delivered++;
	}
}

static void on_new_task(struct ptrace_sampler *s, struct tthread *parent, int event)
{
	unsigned long msg = 0;
	if (ptrace(PTRACE_GETEVENTMSG, parent->tid, 0, &msg) < 0 || !msg)
		return;
	pid_t tid = (pid_t)msg, ptid = parent->tid, ppid = parent->pid;
	pid_t tg = tgid_of(tid);
	if (!tg)
		tg = event == PTRACE_EVENT_CLONE ? ppid : tid;
	struct tthread *t = thread_find(s, tid);
	if (!t)
		t = thread_add(s, tg, tid, 0);
	t->pid = tg;
	if (t->announced)
		return;
	t->announced = 1;
	if (tg == tid && !proc_find(s, tid)) {
		/* A new process: a copy of its parent's address space. */
		struct tproc *pp = proc_find(s, ppid);
		int armed = pp ? pp->armed : 1;
		struct tproc *np = proc_add(s, tid, armed);
		pp = proc_find(s, ppid);
		if (pp)
			for (size_t i = 0; i < pp->maps.n; i++)
				CS_VEC_PUSH(np->maps, pp->maps.v[i]);
		np->scanned = cs_now_ns();
	}
	if (s->ops && s->ops->fork) {
		s->ops->fork(s->ctx, (uint32_t)tg, (uint32_t)(tg == tid ? ppid : tg), (uint32_t)tid,
			     (uint32_t)ptid, cs_now_ns());
		s->delivered++;
	}
}

static void on_exec(struct ptrace_sampler *s, struct tthread *t)
{
	unsigned long former = 0;
	ptrace(PTRACE_GETEVENTMSG, t->tid, 0, &former);
	if (former && (pid_t)former != t->tid)
		thread_gone(s, (pid_t)former); /* a non-leader exec'd: it took the pid */
	struct tproc *p = proc_find(s, t->pid);
	if (!p)
		p = proc_add(s, t->pid, 1);
	p->armed = 1;
	p->maps.n = 0;
	p->changed = cs_now_ns();
	char name[16] = "";
	cs_proc_comm(t->pid, t->tid, name, sizeof(name));
	snprintf(t->comm, sizeof(t->comm), "%s", name);
	t->comm_checked = cs_now_ns();
	if (s->ops && s->ops->comm) {
		s->ops->comm(s->ctx, (uint32_t)t->pid, (uint32_t)t->tid, name, 1, cs_now_ns());
		s->delivered++;
	}
	scan_maps(s, p, 1);
	t->last_cpu = sched_cpu(t);
	t->owed = 0;
}

/* Handle one wait status of a tracee. If want_sample and this is the stop our
 * PTRACE_INTERRUPT asked for, the thread is sampled. The tracee is always let go
 * (or kept in its group-stop) before this returns. */
static void on_status(struct ptrace_sampler *s, pid_t tid, int status, uint64_t t0,
		      uint64_t want_sample)
{
	int sig, event;
	enum cs_pt_stop kind = cs_pt_decode(status, &sig, &event);
	if (kind == CS_PT_GONE) {
		if (s->o.enable_on_exec && tid == s->pid) {
			s->reaped_pid = tid;
			s->reaped_status = status;
		}
		thread_gone(s, tid);
		return;
	}
	if (kind == CS_PT_NONE)
		return;
	struct tthread *t = thread_find(s, tid);
	if (!t) {
		/* A new thread's first stop before its creator's clone event. */
		pid_t tg = tgid_of(tid);
		t = thread_add(s, tg ? tg : tid, tid, 0);
	}
	switch (kind) {
	case CS_PT_SIGNAL:
		/* signal-delivery-stop: the target's own signal, delivered as it resumes */
		t->state = T_RUN;
		cs_pt_resume(tid, sig);
		return;
	case CS_PT_GROUP_STOP:
		/* group-stop: the process stays stopped as it would untraced, and
		 * PTRACE_LISTEN lets us hear of its SIGCONT */
		t->state = T_GSTOP;
		ptrace(PTRACE_LISTEN, tid, 0, 0);
		return;
	case CS_PT_INTERRUPT:
		t->state = T_RUN;
		if (want_sample) {
			sample_stopped(s, t, t0, want_sample);
			return;
		}
		break;
	case CS_PT_EVENT:
		if (event == PTRACE_EVENT_CLONE || event == PTRACE_EVENT_FORK ||
		    event == PTRACE_EVENT_VFORK) {
			on_new_task(s, t, event);
			t = thread_find(s, tid); /* the vector may have moved */
		} else if (event == PTRACE_EVENT_EXEC) {
			on_exec(s, t);
		}
		break;
	default:
		break;
	}
	if (t)
		t->state = T_RUN;
	cs_pt_resume(tid, 0);
}

/* Take every status already waiting, thread by thread (never waitpid(-1): csampler's
 * other children are not ours to reap). */
static void reap(struct ptrace_sampler *s)
{
	for (size_t i = 0; i < s->threads.n; i++) {
		pid_t tid = s->threads.v[i].tid;
		int status;
		pid_t w = cs_pt_wait(tid, &status, 1);
		if (w == tid) {
			on_status(s, tid, status, 0, 0);
			i = (size_t)-1; /* the list may have changed: start over */
		} else if (w == -ECHILD) {
			thread_gone(s, tid); /* no longer ours */
			i = (size_t)-1;
		}
	}
}

/* Wait up to ms for a tracee's stop or exit to be reported. */
static void wait_sigchld(struct ptrace_sampler *s, int ms)
{
	if (s->sfd >= 0) {
		struct pollfd pf = {s->sfd, POLLIN, 0};
		if (poll(&pf, 1, ms) > 0) {
			struct signalfd_siginfo si[8];
			while (read(s->sfd, si, sizeof(si)) > 0)
				;
		}
	} else {
		struct timespec ts = {0, 200000}; /* no signalfd: look every 0.2 ms */
		nanosleep(&ts, NULL);
	}
}

struct due {
	pid_t tid;
	uint64_t weight, interrupted;
	int done;
};

/* Interrupt the due threads together, then sample each at its stop in the order they
 * stop, so a thread waits for csampler as little as possible. A thread's interrupt is
 * used up by whatever stop comes first (a signal, an event): that one is handled as
 * usual and the thread is sampled at a later tick. */
static void interrupt_and_sample(struct ptrace_sampler *s, struct due *d, size_t n)
{
	size_t left = 0;
	for (size_t i = 0; i < n; i++) {
		d[i].interrupted = cs_now_ns();
		d[i].done = cs_pt_interrupt(d[i].tid) < 0;
		left += !d[i].done;
	}
	/* A thread in uninterruptible sleep stops only when it wakes: after a second,
	 * its stop is left to reap() (and handled there without a sample). */
	uint64_t give_up = cs_now_ns() + 1000000000ull;
	while (left && cs_now_ns() < give_up) {
		int got = 0;
		for (size_t i = 0; i < n; i++) {
			if (d[i].done)
				continue;
			int status;
			pid_t w = cs_pt_wait(d[i].tid, &status, 1);
			if (w == d[i].tid) {
				s->interrupted = d[i].interrupted;
				on_status(s, d[i].tid, status, cs_now_ns(), d[i].weight);
			} else if (w < 0) {
				thread_gone(s, d[i].tid);
			} else {
				continue;
			}
			d[i].done = 1;
			left--;
			got = 1;
		}
		if (!got)
			wait_sigchld(s, 10);
	}
}

static void tick(struct ptrace_sampler *s)
{
	uint64_t now = cs_now_ns();
	/* Without mmap records, mappings are read from /proc: every 10 ms while a process
	 * is loading libraries (the second after its exec or a new mapping), else every
	 * second, and whenever a sample's pc is outside them (sample_stopped). A stack
	 * through a library mapped since the last reading still unwinds without its CFI
	 * (frame pointers): the stack is then counted as incomplete. */
	for (size_t i = 0; i < s->procs.n; i++) {
		struct tproc *p = &s->procs.v[i];
		uint64_t every = now - p->changed < 1000000000ull ? 10000000ull : 1000000000ull;
		if (p->armed && now - p->scanned >= every)
			scan_maps(s, p, 1);
	}
	/* Collect the due threads first: sampling may add or remove threads. */
	CS_VEC(struct due) due = {0};
	for (size_t i = 0; i < s->threads.n; i++) {
		struct tthread *t = &s->threads.v[i];
		if (t->state != T_RUN || !t->announced)
			continue;
		struct tproc *p = proc_find(s, t->pid);
		uint64_t cpu = sched_cpu(t);
		if (cpu > t->last_cpu)
			t->owed += cpu - t->last_cpu;
		t->last_cpu = cpu;
		if (!p || !p->armed || t->owed < s->period || !thread_on_cpu(t->pid, t->tid))
			continue;
		/* All the CPU time since the last sample, so that totals measure CPU time
		 * even when csampler itself was kept waiting for a CPU. */
		uint64_t w = t->owed / s->period;
		t->owed -= w * s->period;
		struct due d = {t->tid, w, 0, 0};
		CS_VEC_PUSH(due, d);
	}
	if (due.n)
		interrupt_and_sample(s, due.v, due.n);
	CS_VEC_FREE(due);
}

/* ---- the backend ---- */

static void ptrace_close(void *b);

static int seize(struct ptrace_sampler *s, pid_t tid)
{
	int e = -cs_pt_seize(tid, PT_OPTIONS);
	if (!e) {
		s->attached++;
		return 0;
	}
	if (e == ESRCH)
		return 1;
	if (e == EPERM && thread_find(s, tid))
		return 1; /* already ours (followed from its creator) */
	char advice[512];
	cs_ptrace_refusal_advice(e, s->pid, advice, sizeof(advice));
	return cs_error("cannot attach to PID %d with ptrace (%s): %s", (int)s->pid, strerror(e),
			advice);
}

static void *ptrace_open(pid_t pid, const struct cs_sampler_opts *o, int *refused)
{
	(void)refused;
	struct ptrace_sampler *s = cs_xcalloc(1, sizeof(*s));
	s->o = *o;
	s->pid = pid;
	s->sfd = -1;
	s->period = 1000000000ull / (o->hz ? o->hz : 99);
	s->stack = cs_xmalloc(o->stack_size ? o->stack_size : CS_STACK_SIZE_DEFAULT);
	if (!s->o.stack_size)
		s->o.stack_size = CS_STACK_SIZE_DEFAULT;

	if (o->enable_on_exec) {
		/* Held at the door: sampled from its exec on. */
		int r = seize(s, pid);
		if (r != 0) {
			if (r > 0)
				cs_error("process %d exited before csampler could attach",
					 (int)pid);
			goto fail;
		}
		thread_add(s, pid, pid, 1);
		proc_add(s, pid, 0);
	} else {
		proc_add(s, pid, 1);
		for (int round = 0; round < 100; round++) {
			pid_t *tids;
			size_t n;
			if (cs_proc_tasks(pid, &tids, &n) < 0) {
				if (s->threads.n)
					break;
				cs_error("no process with PID %d", (int)pid);
				goto fail;
			}
			int added = 0;
			for (size_t i = 0; i < n; i++) {
				if (thread_find(s, tids[i]))
					continue;
				int r = seize(s, tids[i]);
				if (r < 0) {
					free(tids);
					goto fail;
				}
				if (r == 0) {
					thread_add(s, pid, tids[i], 1);
					added++;
				}
			}
			free(tids);
			if (!added)
				break;
		}
		if (!s->threads.n) {
			cs_error("process %d exited while csampler attached to it", (int)pid);
			goto fail;
		}
		scan_maps(s, &s->procs.v[0], 0); /* the caller read them too */
	}
	/* Wake on SIGCHLD (a tracee stopped or exited) as well as on the tick. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, &s->oldmask) == 0)
		s->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	s->next_tick = cs_now_ns() + s->period;
	return s;
fail:
	ptrace_close(s);
	return NULL;
}

static size_t ptrace_threads(const void *b)
{
	const struct ptrace_sampler *s = b;
	return s->attached;
}

static int ptrace_poll(void *b, int timeout_ms, const struct cs_sampler_ops *ops, void *ctx)
{
	struct ptrace_sampler *s = b;
	uint64_t deadline = cs_now_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000ull;
	s->ops = ops;
	s->ctx = ctx;
	s->delivered = 0;
	for (;;) {
		reap(s);
		uint64_t now = cs_now_ns();
		if (!s->disabled && now >= s->next_tick) {
			tick(s);
			s->next_tick += s->period;
			now = cs_now_ns();
			if (s->next_tick <= now) /* fell behind: no burst of ticks */
				s->next_tick = now + s->period;
		}
		if (timeout_ms == 0 || now >= deadline)
			break;
		uint64_t until = deadline;
		if (!s->disabled && s->next_tick < until)
			until = s->next_tick;
		wait_sigchld(s, (int)((until - now + 999999) / 1000000));
	}
	s->ops = NULL;
	s->ctx = NULL;
	return s->delivered;
}

static void ptrace_disable(void *b)
{
	struct ptrace_sampler *s = b;
	s->disabled = 1;
}

/* Let every thread go: interrupt them all, then detach each at its stop, giving back a
 * signal it stopped for. A thread in a group-stop stays stopped (the kernel keeps the
 * group-stop on detach). A thread that does not stop within two seconds (a zombie
 * leader whose other threads run on, uninterruptible sleep) is left to the kernel,
 * which detaches it when csampler exits. */
static void detach_all(struct ptrace_sampler *s)
{
	size_t left = 0;
	for (size_t i = 0; i < s->threads.n; i++) {
		struct tthread *t = &s->threads.v[i];
		t->owed = cs_pt_interrupt(t->tid) == 0; /* owed: "pending" */
		left += t->owed;
	}
	uint64_t give_up = cs_now_ns() + 2000000000ull;
	while (left && cs_now_ns() < give_up) {
		int got = 0;
		for (size_t i = 0; i < s->threads.n; i++) {
			struct tthread *t = &s->threads.v[i];
			if (!t->owed)
				continue;
			int status;
			pid_t w = cs_pt_wait(t->tid, &status, 1);
			if (w == 0)
				continue;
			int event;
			enum cs_pt_stop kind =
			    w == t->tid ? cs_pt_decode(status, NULL, &event) : CS_PT_NONE;
			if (kind != CS_PT_NONE && kind != CS_PT_GONE) {
				if (event == PTRACE_EVENT_CLONE || event == PTRACE_EVENT_FORK ||
				    event == PTRACE_EVENT_VFORK) {
					/* The new task is ours too: let it go in its turn. */
					unsigned long msg = 0;
					if (ptrace(PTRACE_GETEVENTMSG, t->tid, 0, &msg) == 0 && msg &&
					    !thread_find(s, (pid_t)msg)) {
						pid_t tid = t->tid;
						struct tthread *nt = thread_add(s, tid, (pid_t)msg, 0);
						nt->owed = 1; /* its first stop is on its way */
						left++;
						t = thread_find(s, tid);
					}
				}
				cs_pt_detach(t->tid, cs_pt_signal_to_give(status));
			} else if (kind == CS_PT_GONE && s->o.enable_on_exec && t->tid == s->pid) {
				s->reaped_pid = t->tid; /* exited: keep the launched child's status */
				s->reaped_status = status;
			}
			t->owed = 0;
			left--;
			got = 1;
		}
		if (!got)
			wait_sigchld(s, 10);
	}
}

static void ptrace_close(void *b)
{
	struct ptrace_sampler *s = b;
	if (!s)
		return;
	s->ops = NULL;
	detach_all(s);
	for (size_t i = 0; i < s->threads.n; i++)
		if (s->threads.v[i].sched_fd >= 0)
			close(s->threads.v[i].sched_fd);
	if (s->sfd >= 0) {
		close(s->sfd);
		sigprocmask(SIG_SETMASK, &s->oldmask, NULL);
	}
	for (size_t i = 0; i < s->procs.n; i++)
		CS_VEC_FREE(s->procs.v[i].maps);
	CS_VEC_FREE(s->procs);
	CS_VEC_FREE(s->threads);
	CS_VEC_FREE(s->stop_ns);
	CS_VEC_FREE(s->trip_ns);
	free(s->stack);
	free(s);
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void median_max(const uint32_t *ns, size_t n, double *median_us, double *max_us)
{
	if (!n)
		return;
	uint32_t *v = cs_xmalloc(n * sizeof(*v));
	memcpy(v, ns, n * sizeof(*v));
	qsort(v, n, sizeof(*v), u32_cmp);
	*median_us = v[n / 2] / 1e3;
	*max_us = v[n - 1] / 1e3;
	free(v);
}

static void ptrace_info(const void *b, struct cs_sampler_info *info)
{
	const struct ptrace_sampler *s = b;
	memset(info, 0, sizeof(*info));
	info->name = "ptrace";
	info->hz = s->o.hz;
	info->stops = s->stop_ns.n;
	median_max(s->stop_ns.v, s->stop_ns.n, &info->stop_median_us, &info->stop_max_us);
	median_max(s->trip_ns.v, s->trip_ns.n, &info->trip_median_us, &info->trip_max_us);
}

static pid_t ptrace_waitpid(void *b, pid_t pid, int *status)
{
	struct ptrace_sampler *s = b;
	if (s->reaped_pid == pid) {
		*status = s->reaped_status;
		return pid;
	}
	if (thread_find(s, pid))
		return 0; /* still ours: its end comes through our own waits */
	return waitpid(pid, status, WNOHANG);
}

const struct cs_sampler_backend cs_ptrace_backend = {
    .name = "ptrace",
    .open = ptrace_open,
    .close = ptrace_close,
    .threads = ptrace_threads,
    .poll = ptrace_poll,
    .disable = ptrace_disable,
    .info = ptrace_info,
    .waitpid = ptrace_waitpid,
};
