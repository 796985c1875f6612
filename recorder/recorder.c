/* recorder.c - the recording loop (see recorder.h). */
#include "recorder.h"
#include "leaks/collect.h"
#include "python/pyframes.h"
#include "sampler/launch.h"
#include "sampler/sampler.h"
#include "symbolizer/perfmap.h"
#include "symbolizer/symbolizer.h"
#include "util/proc.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAMES 2048
_Static_assert(CS_SAMPLE_NREGS == CS_DWARF_NREGS, "samples carry DWARF-ordered registers");
/* A sample older than this is not continued from live memory: the longer the wait,
 * the likelier its stack has changed (see symbolizer/livestack.c). */
#define LIVE_FRESH_NS 1000000000ull

/* JIT frames in the trie: module CS_SYM_JIT, addr = index into rec.jits, since the
 * same address means different code in different processes. */
struct jitpc {
	uint32_t pid;
	uint64_t addr;
};

/* A node of the address trie: one return address called from its parent. */
struct anode {
	uint32_t parent;
	uint32_t module;
	uint64_t addr;
};

struct rthread {
	uint32_t pid, tid;
	char name[32];
	int alive;
	/* --wall (times CLOCK_MONOTONIC ns; 0 = not known): */
	uint64_t span_start, span_end; /* existed while recorded: from, to */
	uint64_t oncpu_ns;
	uint64_t in_since;  /* on the CPU since */
	uint64_t out_at;    /* off the CPU since (an interval waits for its return) */
	uint32_t out_node;  /* ... its stack (trie node, ending in the kind's marker) */
	uint32_t out_kind;  /* ... CS_TIME_BLOCKED or CS_TIME_PREEMPTED */
	uint64_t pend_time; /* a switch-out sample waiting for its switch record: when */
	uint32_t pend_node; /* ... its user stack (trie node) */
	CS_VEC(uint64_t) pend_kchain; /* ... its kernel chain, leaf first */
	int created;	    /* created while recorded (a FORK record) */
	int runnable;	    /* it was runnable when recording began (waiting for a CPU) */
};

/* Off-CPU time of one stack in one thread (--wall). */
struct offrow {
	uint32_t node, thread, kind;
	uint64_t ns;
};

struct rproc {
	uint32_t pid;
	int alive;
	uint64_t last_cpu_ns;
	unsigned dead_cuts; /* window_only: windows cut since it ended */
};

struct rec {
	const struct cs_record_opts *o;
	struct cs_symbolizer *sym;
	int kernel;
	char cmdline[4096]; /* of an attached target, read at attach: it may exit first */

	CS_VEC(struct anode) nodes; /* node 0 = root */
	struct cs_index node_ix;
	const struct anode *key;

	CS_VEC(struct rthread) threads;
	struct cs_map64 live_thread; /* tid -> index of its current slot */
	CS_VEC(struct rproc) procs;
	struct cs_map64 proc_ix; /* pid -> index */

	struct cs_map64 counts; /* (node << 24 | thread) -> count; see count_key */
	CS_VEC(uint64_t) count_keys;

	struct cs_stats st;
	struct cs_jitsyms *jit;	 /* JIT function names from perf maps and jitdump files */
	CS_VEC(struct jitpc) jits;
	struct cs_index jit_ix;
	const struct jitpc *jit_key;
	struct cs_map64 nofile; /* registry module -> stacks cut in it (unreadable file) */
	uint32_t jit_unnamed_pid; /* a process with JIT code no file names */
	uint64_t start_ns;
	pid_t pid;
	struct cs_leak_collect *lc; /* leak tracking: every process's agent session */
	struct cs_py *py;	    /* Python frames (python/pyframes.h); NULL with --no-python */
	uint64_t tick_samples;
	CS_VEC(struct offrow) offrows; /* --wall */
	struct cs_map64 dead;	       /* tids that exited: their last switch is no news */
	struct cs_map64 off_ix;	       /* (node << 24 | thread) -> index into offrows */
	/* continuous mode (see "windows" below): this window's counts, like counts */
	struct cs_pusher *pusher;
	struct cs_map64 wcounts;
	CS_VEC(uint64_t) wkeys;
	uint64_t win_start; /* CLOCK_MONOTONIC ns */
	struct cs_uframe frames[MAX_FRAMES];
};

/* Off-CPU marker frames in the trie: this module, addr = the time kind, or
 * OFF_UNKNOWN for the root frame of an interval whose stack is not known. A private
 * id, far from the symbolizer's own. */
#define MOD_OFFCPU (UINT32_MAX - 16)
#define OFF_UNKNOWN 16

/* ---- address trie ---- */

static int anode_eq(void *ctx, uint32_t idx)
{
	struct rec *r = ctx;
	const struct anode *a = &r->nodes.v[idx], *b = r->key;
	return a->parent == b->parent && a->module == b->module && a->addr == b->addr;
}

static uint32_t anode_get(struct rec *r, uint32_t parent, uint32_t module, uint64_t addr)
{
	struct anode k = {parent, module, addr};
	uint64_t h = cs_hash_u64(((uint64_t)parent << 32 | module) ^ cs_hash_u64(addr));
	r->key = &k;
	uint32_t idx = cs_index_find(&r->node_ix, h, anode_eq, r);
	if (idx != CS_INDEX_NONE)
		return idx;
	idx = (uint32_t)r->nodes.n;
	CS_VEC_PUSH(r->nodes, k);
	cs_index_insert(&r->node_ix, h, idx);
	return idx;
}

static int jitpc_eq(void *ctx, uint32_t idx)
{
	struct rec *r = ctx;
	return r->jits.v[idx].pid == r->jit_key->pid && r->jits.v[idx].addr == r->jit_key->addr;
}

static uint32_t jitpc_get(struct rec *r, uint32_t pid, uint64_t addr)
{
	struct jitpc k = {pid, addr};
	uint64_t h = cs_hash_u64(((uint64_t)pid << 32) ^ cs_hash_u64(addr));
	r->jit_key = &k;
	uint32_t idx = cs_index_find(&r->jit_ix, h, jitpc_eq, r);
	if (idx != CS_INDEX_NONE)
		return idx;
	idx = (uint32_t)r->jits.n;
	CS_VEC_PUSH(r->jits, k);
	cs_index_insert(&r->jit_ix, h, idx);
	return idx;
}

/* ---- threads and processes ---- */

static struct rproc *proc_get(struct rec *r, uint32_t pid)
{
	int added;
	uint64_t *slot = cs_map64_put(&r->proc_ix, pid, r->procs.n, &added);
	if (added) {
		struct rproc p = {pid, 1, 0, 0};
		struct cs_proc_usage u;
		if (cs_proc_usage((pid_t)pid, &u) == 0)
			p.last_cpu_ns = u.cpu_ns;
		CS_VEC_PUSH(r->procs, p);
		r->st.processes++;
	}
	return &r->procs.v[*slot];
}

static uint32_t thread_new(struct rec *r, uint32_t pid, uint32_t tid, const char *name)
{
	struct rthread t;
	memset(&t, 0, sizeof(t));
	t.pid = pid;
	t.tid = tid;
	t.alive = 1;
	if (name)
		snprintf(t.name, sizeof(t.name), "%s", name);
	else if (cs_proc_comm((pid_t)pid, (pid_t)tid, t.name, sizeof(t.name)) < 0)
		snprintf(t.name, sizeof(t.name), "[%u]", tid);
	uint32_t idx = (uint32_t)r->threads.n;
	CS_VEC_PUSH(r->threads, t);
	*cs_map64_put(&r->live_thread, tid, idx, NULL) = idx;
	r->st.threads++;
	proc_get(r, pid);
	return idx;
}

static uint32_t thread_get(struct rec *r, uint32_t pid, uint32_t tid)
{
	uint64_t *slot = cs_map64_get(&r->live_thread, tid);
	if (slot && r->threads.v[*slot].pid == pid)
		return (uint32_t)*slot;
	return thread_new(r, pid, tid, NULL);
}

/* ---- perf record handlers ---- */

/* Count how an unwind ended, for the statistics and the summary's hints. */
static void count_end(struct rec *r, const struct cs_unwind_info *ui, int offcpu)
{
	if (offcpu) { /* kept apart: the CPU figures stay comparable */
		r->st.offcpu_complete += ui->end == CS_END_ROOT;
		r->st.offcpu_truncated += ui->end != CS_END_ROOT;
		return;
	}
	if (ui->end == CS_END_ROOT) {
		r->st.complete++;
		r->st.live_completed += ui->live;
		return;
	}
	r->st.truncated++;
	switch (ui->end) {
	case CS_END_COPY: r->st.cut_copy++; break;
	case CS_END_JIT: r->st.cut_jit++; break;
	case CS_END_DEPTH: r->st.cut_depth++; break;
	case CS_END_NOFILE:
		r->st.cut_nofile++;
		(*cs_map64_put(&r->nofile, ui->module, 0, NULL))++;
		break;
	default: break;
	}
}

/* ---- off-CPU intervals (--wall) ----
 *
 * A thread leaving the CPU yields a sample (its stack) and a switch-out record (why:
 * preempted or not), then, when it runs again, a switch-in record. The interval from
 * switch-out to switch-in is added to the stack, under a marker frame for its kind
 * and above it the kernel's path into the scheduler. */

static uint32_t thread_get(struct rec *r, uint32_t pid, uint32_t tid);

/* The thread's existence while recorded begins with its first event. */
static struct rthread *wall_thread(struct rec *r, uint32_t pid, uint32_t tid, uint64_t time)
{
	uint32_t i = thread_get(r, pid, tid); /* may move the array */
	struct rthread *t = &r->threads.v[i];
	if (!t->span_start)
		t->span_start = time > r->start_ns || !r->start_ns ? time : r->start_ns;
	return t;
}

static void off_add(struct rec *r, uint32_t node, uint32_t thread, uint32_t kind, uint64_t ns)
{
	int added;
	uint64_t *slot = cs_map64_put(&r->off_ix, ((uint64_t)node << 24) | thread, r->offrows.n,
				      &added);
	if (added) {
		struct offrow o = {node, thread, kind, 0};
		CS_VEC_PUSH(r->offrows, o);
	}
	r->offrows.v[*slot].ns += ns;
}

static void offcpu_sample(struct rec *r, const struct cs_sample_rec *s, uint32_t node)
{
	if (cs_map64_get(&r->dead, s->tid))
		return;
	struct rthread *t = wall_thread(r, s->pid, s->tid, s->time);
	t->pend_time = s->time;
	t->pend_node = node;
	t->pend_kchain.n = 0;
	if (r->kernel)
		for (size_t i = 0; i < s->kchain_len; i++)
			CS_VEC_PUSH(t->pend_kchain, s->kchain[i]);
}

/* The stack of an interval that begins now: the pending sample's, or unknown. */
static uint32_t off_node(struct rec *r, struct rthread *t, uint32_t kind, uint64_t time,
			 int switch_out)
{
	uint32_t node;
	/* the sample and its record are written together; one from long ago was left by a
	 * record that was lost */
	if (t->pend_time && time - t->pend_time < 1000000) {
		node = anode_get(r, t->pend_node, MOD_OFFCPU, kind);
		for (size_t i = t->pend_kchain.n; i-- > 0;)
			node = anode_get(r, node, CS_SYM_KERNEL, t->pend_kchain.v[i]);
	} else {
		node = anode_get(r, anode_get(r, 0, MOD_OFFCPU, OFF_UNKNOWN), MOD_OFFCPU, kind);
		r->st.offcpu_lost += switch_out; /* else: off since before it was recorded */
	}
	t->pend_time = 0;
	return node;
}

static void off_close(struct rec *r, struct rthread *t, uint64_t time)
{
	if (t->out_at && time >= t->out_at) {
		off_add(r, t->out_node, (uint32_t)(t - r->threads.v), t->out_kind, time - t->out_at);
		r->st.offcpu_events++;
	}
	t->out_at = 0;
}

static void on_ctxsw(void *ctx, uint32_t pid, uint32_t tid, uint64_t time, int out, int preempt)
{
	struct rec *r = ctx;
	if (cs_map64_get(&r->dead, tid))
		return;
	struct rthread *t = wall_thread(r, pid, tid, time);
	uint32_t self = (uint32_t)(t - r->threads.v);
	if (out) {
		if (t->out_at) { /* its return was lost: that interval's end is unknown */
			r->st.offcpu_unmatched++;
			t->out_at = 0;
		} else {
			/* on the CPU since it came back, or since recording began */
			uint64_t from = t->in_since ? t->in_since : t->span_start;
			if (time > from && (t->in_since || !t->created))
				t->oncpu_ns += time - from;
		}
		t->in_since = 0;
		t->out_kind = preempt ? CS_TIME_PREEMPTED : CS_TIME_BLOCKED;
		t->out_node = off_node(r, t, t->out_kind, time, 1);
		t->out_at = time;
		return;
	}
	uint64_t since = t->in_since ? t->in_since : t->span_start;
	if (t->out_at) {
		off_close(r, t, time);
	} else if (t->pend_time && t->pend_time >= since && t->pend_time <= time) {
		/* its switch-out record was lost, not the sample: off since then, why
		 * unknown (counted as blocked) */
		if (t->in_since || !t->created)
			t->oncpu_ns += t->pend_time - since;
		uint64_t from = t->pend_time;
		off_add(r, off_node(r, t, CS_TIME_BLOCKED, from, 0), self, CS_TIME_BLOCKED,
			time - from);
		r->st.offcpu_events++;
	} else if (t->in_since) {
		r->st.offcpu_unmatched++; /* a whole switch-out was lost */
	} else if (time > t->span_start) {
		/* Off the CPU since before it was recorded (or since it was created). */
		uint32_t kind = t->created || t->runnable ? CS_TIME_PREEMPTED : CS_TIME_BLOCKED;
		off_add(r, off_node(r, t, kind, time, 0), self, kind, time - t->span_start);
		r->st.offcpu_events++;
	}
	t->in_since = time;
}

/* Is the thread runnable (running or waiting for a CPU) now? */
static int thread_runnable(pid_t pid, pid_t tid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	char *s = cs_read_file(path, 4096, NULL);
	const char *p = s ? strrchr(s, ')') : NULL; /* the name may hold anything */
	int r = p && p[1] == ' ' && p[2] == 'R';
	free(s);
	return r;
}

/* A thread ended (time) or the recording did: close its intervals. */
static void wall_end_thread(struct rec *r, struct rthread *t, uint64_t time)
{
	if (!t->span_start || t->span_end)
		return;
	t->span_end = time;
	if (t->out_at) {
		off_close(r, t, time);
	} else if (t->in_since) {
		if (time > t->in_since)
			t->oncpu_ns += time - t->in_since;
	} else if (time > t->span_start) {
		/* not a single switch while recorded: on the CPU all along if it was
		 * sampled there, else waiting all along */
		int ran = 0;
		for (size_t i = 0; i < r->count_keys.n && !ran; i++)
			ran = (r->count_keys.v[i] & 0xffffff) == (uint64_t)(t - r->threads.v);
		if (ran) {
			t->oncpu_ns += time - t->span_start;
		} else {
			uint32_t kind = t->created || t->runnable ? CS_TIME_PREEMPTED : CS_TIME_BLOCKED;
			off_add(r, off_node(r, t, kind, time, 0), (uint32_t)(t - r->threads.v), kind,
				time - t->span_start);
		}
	}
	t->in_since = 0;
}

static void on_sample(void *ctx, const struct cs_sample_rec *s)
{
	struct rec *r = ctx;
	size_t n = 0;

	if (s->user_regs) {
		struct cs_unwind_info ui;
		int live = cs_now_ns() - s->time < LIVE_FRESH_NS;
		cs_sym_unwind_ex(r->sym, (pid_t)s->pid, (pid_t)s->tid, s->regs, s->stack, s->stack_len,
				 live, r->frames, MAX_FRAMES, &n, &ui);
		count_end(r, &ui, s->offcpu);
		for (size_t i = 0; i < n; i++)
			if (r->frames[i].module == CS_SYM_JIT)
				r->frames[i].addr = jitpc_get(r, s->pid, r->frames[i].addr);
		/* python: interpreter frames -> the Python frames they ran, read right now */
		if (r->py) {
			struct cs_py_sample ps = {s->regs, s->stack, s->stack_len};
			n = cs_py_splice(r->py, (pid_t)s->pid, (pid_t)s->tid, r->frames, n,
					 MAX_FRAMES, ui.end == CS_END_ROOT, s->time, &ps);
		}
	} else {
		r->st.kernel_only++;
	}
	/* Root first: user frames (unwound leaf first), then kernel frames. */
	uint32_t node = 0;
	for (size_t i = n; i-- > 0;)
		node = anode_get(r, node, r->frames[i].module, r->frames[i].addr);
	if (s->offcpu) {
		offcpu_sample(r, s, node);
		return;
	}
	if (r->kernel && s->in_kernel) {
		if (s->kchain_len) {
			for (size_t i = s->kchain_len; i-- > 0;)
				node = anode_get(r, node, CS_SYM_KERNEL, s->kchain[i]);
		} else {
			node = anode_get(r, node, CS_SYM_KERNEL, s->ip);
		}
	} else if (!s->user_regs && n == 0) {
		node = anode_get(r, node, CS_SYM_KERNEL, s->ip);
	}
	uint32_t t = thread_get(r, s->pid, s->tid);
	if (r->o->wall)
		wall_thread(r, s->pid, s->tid, s->time);
	uint64_t key = ((uint64_t)node << 24) | t;
	int added;
	uint64_t *c;
	/* A sample may stand for several periods of CPU time (ptrace samples the CPU a
	 * thread used since its last sample). */
	if (!r->o->window_only) { /* the whole recording's counts */
		c = cs_map64_put(&r->counts, key, 0, &added);
		if (added)
			CS_VEC_PUSH(r->count_keys, key);
		*c += s->weight;
	}
	if (r->pusher) { /* continuous mode: the window's own count too */
		c = cs_map64_put(&r->wcounts, key, 0, &added);
		if (added)
			CS_VEC_PUSH(r->wkeys, key);
		*c += s->weight;
	}
	r->st.samples += s->weight;
	r->tick_samples += s->weight;
}

static void on_mmap(void *ctx, const struct cs_mmap_rec *m)
{
	struct rec *r = ctx;
	struct cs_mapping mp = {m->start, m->len, m->pgoff, m->maj, m->min, m->ino,
				(int)m->prot, m->filename};
	cs_sym_proc_mmap(r->sym, (pid_t)m->pid, &mp);
	if (m->prot & PROT_EXEC)
		cs_jitsyms_mapped(r->jit, (pid_t)m->pid, m->filename); /* a jitdump file? */
}

static void on_comm(void *ctx, uint32_t pid, uint32_t tid, const char *comm, int exec,
		    uint64_t time)
{
	struct rec *r = ctx;
	if (exec) {
		cs_sym_proc_exec(r->sym, (pid_t)pid);
		if (r->py) /* python: another program now */
			cs_py_forget(r->py, (pid_t)pid);
	}
	uint32_t t = thread_get(r, pid, tid);
	snprintf(r->threads.v[t].name, sizeof(r->threads.v[t].name), "%s", comm);
	if (r->o->wall && exec)
		wall_thread(r, pid, tid, time); /* a launched program begins here */
}

static void on_fork(void *ctx, uint32_t pid, uint32_t ppid, uint32_t tid, uint32_t ptid,
		    uint64_t time)
{
	struct rec *r = ctx;
	char name[32] = "";
	uint64_t *parent = cs_map64_get(&r->live_thread, ptid);
	if (parent)
		snprintf(name, sizeof(name), "%s", r->threads.v[*parent].name);
	if (pid != ppid) /* a new process: it starts as a copy of its parent */
		cs_sym_proc_fork(r->sym, (pid_t)ppid, (pid_t)pid);
	uint32_t t = thread_new(r, pid, tid, parent ? name : NULL);
	cs_map64_del(&r->dead, tid);
	if (r->o->wall) {
		r->threads.v[t].created = 1;
		r->threads.v[t].span_start = time;
	}
}

static void on_exit_rec(void *ctx, uint32_t pid, uint32_t ppid, uint32_t tid, uint32_t ptid,
			uint64_t time)
{
	struct rec *r = ctx;
	uint64_t *slot = cs_map64_get(&r->live_thread, tid);
	if (slot && r->o->wall) {
		wall_end_thread(r, &r->threads.v[*slot], time);
		*cs_map64_put(&r->dead, tid, 1, NULL) = 1;
	}
	if (slot) {
		r->threads.v[*slot].alive = 0;
		cs_map64_del(&r->live_thread, tid);
	}
	if (pid == tid) {
		uint64_t *p = cs_map64_get(&r->proc_ix, pid);
		if (p)
			r->procs.v[*p].alive = 0;
		/* The runtime may delete its perf map as it exits: read it while it is there. */
		cs_jitsyms_poll(r->jit, (pid_t)pid);
	}
}

static void on_lost(void *ctx, uint64_t count)
{
	struct rec *r = ctx;
	r->st.lost += count;
}

static const struct cs_sampler_ops ops = {
	.sample = on_sample,
	.mmap = on_mmap,
	.comm = on_comm,
	.fork = on_fork,
	.exit = on_exit_rec,
	.lost = on_lost,
	.ctxsw = on_ctxsw,
};

/* ---- leak snapshots ---- */

/* The collector's stacks go into the same trie as the samples'. */
static uint32_t leak_node(void *ctx, uint32_t parent, uint32_t module, uint64_t addr)
{
	return anode_get(ctx, parent, module, addr);
}

/* ---- timeline and status ---- */

static void timeline_tick(struct rec *r, struct cs_profile *p, uint64_t now, uint64_t *last_tick)
{
	struct cs_tick t;
	memset(&t, 0, sizeof(t));
	t.t_ms = (now - r->start_ns) / 1000000;
	uint64_t cpu_delta = 0;
	int seen = 0;
	for (size_t i = 0; i < r->procs.n; i++) {
		struct rproc *pr = &r->procs.v[i];
		if (!pr->alive)
			continue;
		struct cs_proc_usage u;
		if (cs_proc_usage((pid_t)pr->pid, &u) < 0) {
			pr->alive = 0;
			continue;
		}
		seen = 1;
		t.rss += u.rss;
		t.threads += u.threads;
		t.fds += u.fds;
		if (u.cpu_ns > pr->last_cpu_ns)
			cpu_delta += u.cpu_ns - pr->last_cpu_ns;
		pr->last_cpu_ns = u.cpu_ns;
	}
	if (!seen)
		return; /* everything exited: a point of zeros would be a false reading */
	uint64_t wall = now - *last_tick;
	t.cpu_pct = wall ? 100.0 * (double)cpu_delta / (double)wall : 0;
	t.samples = r->tick_samples;
	r->st.target_cpu_ns += cpu_delta;
	r->tick_samples = 0;
	*last_tick = now;
	if (!r->o->window_only) /* nothing would write it: keep memory flat */
		CS_VEC_PUSH(p->timeline, t);
}

static void status(const struct rec *r, uint64_t now)
{
	size_t live = 0;
	for (size_t i = 0; i < r->threads.n; i++)
		live += r->threads.v[i].alive;
	fprintf(stderr, "\r\033[K[csampler] recording: %.1f s", (double)(now - r->start_ns) / 1e9);
	if (!r->o->no_cpu)
		fprintf(stderr, ", %llu samples, %zu threads", (unsigned long long)r->st.samples, live);
	if (r->o->wall)
		fprintf(stderr, ", %llu off-CPU intervals", (unsigned long long)r->st.offcpu_events);
	if (r->st.lost)
		fprintf(stderr, ", %llu lost", (unsigned long long)r->st.lost);
	if (r->pusher) {
		struct cs_push_stats ps;
		cs_pusher_stats(r->pusher, &ps);
		fprintf(stderr, ", pushed %llu/%llu windows", (unsigned long long)ps.sent,
			(unsigned long long)ps.windows);
		if (ps.retried || ps.dropped)
			fprintf(stderr, " (%llu retried, %llu dropped)", (unsigned long long)ps.retried,
				(unsigned long long)ps.dropped);
	}
	if (r->lc) {
		size_t snaps;
		uint64_t bytes;
		cs_leak_collect_status(r->lc, &snaps, &bytes);
		fprintf(stderr, ", %zu leak snapshots, %.1f MiB outstanding", snaps,
			(double)bytes / 1048576.0);
	}
	fflush(stderr);
}

/* ---- building the profile ---- */

/* Resolved frames of each distinct (module, address), shared by all trie nodes. */
struct resolved {
	uint32_t module;
	uint64_t addr;
	uint32_t off, n; /* run of frame ids in frames */
	uint32_t jit;	 /* JIT_IN | JIT_UNNAMED, or 0 */
};

enum { JIT_IN = 1, JIT_UNNAMED = 2 };

/* The frame of JIT code at index idx of rec.jits, named from the process's perf map
 * or jitdump file when one describes it. */
static uint32_t jit_frame(struct rec *r, struct cs_profile *p, uint32_t idx, int *named)
{
	const struct jitpc *j = &r->jits.v[idx];
	const char *file = NULL;
	const char *name = cs_jitsyms_find(r->jit, (pid_t)j->pid, j->addr, &file);
	struct cs_frame f;
	memset(&f, 0, sizeof(f));
	f.flags = CS_FRAME_JIT;
	f.module = CS_NONE;
	*named = name != NULL;
	if (name) {
		struct cs_module m;
		memset(&m, 0, sizeof(m));
		const char *base = strrchr(file, '/');
		m.path = cs_profile_cstr(p, file);
		m.name = cs_profile_cstr(p, base ? base + 1 : file);
		f.module = cs_profile_module(p, &m);
		f.func = cs_profile_cstr(p, name);
		f.addr = j->addr;
	} else {
		/* One frame for all of a process's unnamed JIT code: addresses alone say
		 * nothing, and the summary tells how to get names. */
		f.func = cs_profile_cstr(p, "[JIT]");
		f.flags |= CS_FRAME_UNKNOWN;
		if (!r->jit_unnamed_pid)
			r->jit_unnamed_pid = j->pid;
	}
	return cs_profile_frame(p, &f);
}

/* The marker frame of an off-CPU interval (see MOD_OFFCPU). */
static uint32_t offcpu_frame(struct cs_profile *p, uint64_t what)
{
	struct cs_frame f;
	memset(&f, 0, sizeof(f));
	f.module = CS_NONE;
	f.flags = CS_FRAME_OFFCPU;
	f.func = cs_profile_cstr(p, what == CS_TIME_PREEMPTED ? "[off-CPU: preempted]"
				    : what == CS_TIME_BLOCKED ? "[off-CPU: blocked]"
							      : "[off-CPU: stack unknown]");
	return cs_profile_frame(p, &f);
}

/* python: the profile frame of Python frame id (a CS_SYM_PY address); its module is
 * the source file, so that --by module groups Python code by file. */
static uint32_t py_frame(struct rec *r, struct cs_profile *p, uint32_t id)
{
	const char *qual, *file;
	uint32_t line;
	cs_py_frame(r->py, id, &qual, &file, &line);
	struct cs_frame f;
	memset(&f, 0, sizeof(f));
	f.flags = CS_FRAME_PYTHON;
	f.module = CS_NONE;
	if (file[0]) {
		struct cs_module m;
		memset(&m, 0, sizeof(m));
		const char *base = strrchr(file, '/');
		m.path = cs_profile_cstr(p, file);
		m.name = cs_profile_cstr(p, base ? base + 1 : file);
		f.module = cs_profile_module(p, &m);
		f.file = m.path;
	}
	f.func = cs_profile_cstr(p, qual);
	f.line = line;
	return cs_profile_frame(p, &f);
}

struct res_cache {
	CS_VEC(struct resolved) v;
	struct cs_index ix;
	CS_VEC(uint32_t) frames;
	const struct anode *key;
};

static int res_eq(void *ctx, uint32_t idx)
{
	struct res_cache *c = ctx;
	return c->v.v[idx].module == c->key->module && c->v.v[idx].addr == c->key->addr;
}

static void build_profile(struct rec *r, struct cs_profile *p)
{
	/* Each trie node becomes a chain of profile nodes (inline frames expand). */
	uint32_t *pnode = cs_xmalloc(r->nodes.n * sizeof(uint32_t));
	uint8_t *jit = cs_xcalloc(r->nodes.n, 1); /* JIT_* of the node and its callers */
	struct res_cache c;
	memset(&c, 0, sizeof(c));
	cs_index_init(&c.ix);
	pnode[0] = 0;
	for (size_t i = 1; i < r->nodes.n; i++) {
		const struct anode *a = &r->nodes.v[i];
		uint64_t h = cs_hash_u64(((uint64_t)a->module << 40) ^ cs_hash_u64(a->addr));
		c.key = a;
		uint32_t idx = cs_index_find(&c.ix, h, res_eq, &c);
		if (idx == CS_INDEX_NONE) {
			uint32_t ids[64], jf = 0;
			struct cs_uframe uf = {a->module, a->addr};
			int resolved;
			size_t n = 1;
			if (a->module == CS_SYM_PY && r->py) {
				ids[0] = py_frame(r, p, (uint32_t)a->addr);
				resolved = 1;
			} else if (a->module == CS_SYM_JIT) {
				ids[0] = jit_frame(r, p, (uint32_t)a->addr, &resolved);
				jf = JIT_IN | (resolved ? 0 : JIT_UNNAMED);
			} else if (a->module == MOD_OFFCPU) {
				ids[0] = offcpu_frame(p, a->addr);
				resolved = 1;
			} else {
				n = cs_sym_resolve(r->sym, p, uf, ids, 64, &resolved);
			}
			if (!resolved)
				r->st.unresolved++;
			struct resolved rs = {a->module, a->addr, (uint32_t)c.frames.n, (uint32_t)n, jf};
			for (size_t k = 0; k < n; k++)
				CS_VEC_PUSH(c.frames, ids[k]);
			idx = (uint32_t)c.v.n;
			CS_VEC_PUSH(c.v, rs);
			cs_index_insert(&c.ix, h, idx);
		}
		const struct resolved *rs = &c.v.v[idx];
		jit[i] = (uint8_t)(jit[a->parent] | rs->jit);
		uint32_t node = pnode[a->parent];
		for (uint32_t k = 0; k < rs->n; k++)
			node = cs_profile_node(p, node, c.frames.v[rs->off + k]);
		pnode[i] = node;
	}
	CS_VEC_FREE(c.v);
	CS_VEC_FREE(c.frames);
	cs_index_release(&c.ix);
	/* Threads: name and process name (the name of the thread whose tid is the pid). */
	uint32_t *pthread = cs_xmalloc((r->threads.n + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < r->threads.n; i++) {
		const struct rthread *t = &r->threads.v[i];
		const char *pname = t->name;
		for (size_t j = 0; j < r->threads.n; j++)
			if (r->threads.v[j].tid == t->pid && r->threads.v[j].pid == t->pid) {
				pname = r->threads.v[j].name;
				break;
			}
		pthread[i] = cs_profile_thread(p, t->pid, t->tid, cs_profile_cstr(p, t->name),
					       cs_profile_cstr(p, pname));
	}
	for (size_t i = 0; i < r->count_keys.n; i++) {
		uint64_t key = r->count_keys.v[i];
		uint64_t *c = cs_map64_get(&r->counts, key);
		uint32_t node = (uint32_t)(key >> 24), thread = (uint32_t)(key & 0xffffff);
		cs_profile_add(p, pnode[node], pthread[thread], *c);
		if (jit[node] & JIT_IN)
			r->st.jit_samples += *c;
		if (jit[node] & JIT_UNNAMED)
			r->st.jit_unnamed += *c;
	}
	for (size_t i = 0; i < r->offrows.n; i++) {
		const struct offrow *o = &r->offrows.v[i];
		cs_profile_add_time(p, pnode[o->node], pthread[o->thread], o->kind, o->ns);
	}
	if (r->o->wall) {
		p->times.wall = 1;
		p->times.cpu_period_ns = 1000000000ull / (r->o->hz ? r->o->hz : 99);
		for (size_t i = 0; i < r->threads.n; i++) {
			const struct rthread *t = &r->threads.v[i];
			uint32_t pt = pthread[i];
			while (p->times.threads.n <= pt) {
				struct cs_thread_time z;
			memset(&z, 0, sizeof(z));
				CS_VEC_PUSH(p->times.threads, z);
			}
			struct cs_thread_time *tt = &p->times.threads.v[pt];
			if (t->span_end > t->span_start && t->span_start)
				tt->span_ns += t->span_end - t->span_start;
			tt->oncpu_ns += t->oncpu_ns;
		}
	}
	if (r->lc)
		cs_leak_collect_build(r->lc, p, pnode);
	free(pthread);
	free(pnode);
	free(jit);
}

static void fill_meta(const struct rec *r, struct cs_profile *p, pid_t pid);

/* ---- windows (continuous mode) ----
 *
 * Every interval the samples counted since the last window (wcounts) become a profile
 * of their own: only the trie nodes they use are resolved (the symbolizer caches what
 * it read), the profile is handed to the pusher, which encodes it, and both are freed.
 * The windows' counts add up to the whole recording's. */

/* Continuous mode without -o: once a window is cut nothing needs its stacks, so the
 * address trie and the JIT addresses start afresh, and threads and processes that
 * ended are dropped (a process one window later, for its last samples), with what the
 * symbolizer kept for them. Memory then follows what one window holds, not the number
 * of distinct stacks, threads, processes and libraries seen since the start. */
static void window_forget(struct rec *r)
{
	r->nodes.n = 1; /* the root */
	cs_index_release(&r->node_ix);
	cs_index_init(&r->node_ix);
	r->jits.n = 0;
	cs_index_release(&r->jit_ix);
	cs_index_init(&r->jit_ix);
	size_t k = 0;
	cs_map64_release(&r->live_thread);
	cs_map64_init(&r->live_thread);
	for (size_t i = 0; i < r->threads.n; i++) {
		struct rthread t = r->threads.v[i];
		if (!t.alive) {
			CS_VEC_FREE(t.pend_kchain);
			continue;
		}
		*cs_map64_put(&r->live_thread, t.tid, k, NULL) = k;
		r->threads.v[k++] = t;
	}
	r->threads.n = k;
	k = 0;
	cs_map64_release(&r->proc_ix);
	cs_map64_init(&r->proc_ix);
	for (size_t i = 0; i < r->procs.n; i++) {
		struct rproc pr = r->procs.v[i];
		if (!pr.alive && ++pr.dead_cuts >= 2) {
			cs_sym_proc_forget(r->sym, (pid_t)pr.pid);
			if (r->py)
				cs_py_forget(r->py, (pid_t)pr.pid);
			continue;
		}
		*cs_map64_put(&r->proc_ix, pr.pid, k, NULL) = k;
		r->procs.v[k++] = pr;
	}
	r->procs.n = k;
	cs_sym_trim(r->sym);
}

static void window_cut(struct rec *r, uint64_t now)
{
	struct cs_profile w;
	cs_profile_init(&w);
	struct cs_map64 pnode, pthread; /* trie node / thread index -> 1 + the window's */
	memset(&pnode, 0, sizeof(pnode));
	memset(&pthread, 0, sizeof(pthread));
	cs_map64_init(&pnode);
	cs_map64_init(&pthread);
	CS_VEC(uint32_t) chain = {0};
	uint64_t total = 0;
	cs_sym_profile_reset(r->sym); /* module ids of another profile otherwise */
	for (size_t i = 0; i < r->wkeys.n; i++) {
		uint64_t key = r->wkeys.v[i], count = *cs_map64_get(&r->wcounts, key);
		uint32_t node = (uint32_t)(key >> 24), thread = (uint32_t)(key & 0xffffff);
		/* the node's callers up to one already in the window (or the root) */
		chain.n = 0;
		uint64_t *have;
		uint32_t at = node;
		while (at && !(have = cs_map64_get(&pnode, at))) {
			CS_VEC_PUSH(chain, at);
			at = r->nodes.v[at].parent;
		}
		uint32_t pn = at ? (uint32_t)(*cs_map64_get(&pnode, at) - 1) : 0;
		for (size_t k = chain.n; k-- > 0;) {
			const struct anode *a = &r->nodes.v[chain.v[k]];
			uint32_t ids[64];
			size_t n = 1;
			int resolved;
			struct cs_uframe uf = {a->module, a->addr};
			if (a->module == CS_SYM_PY && r->py)
				ids[0] = py_frame(r, &w, (uint32_t)a->addr);
			else if (a->module == CS_SYM_JIT)
				ids[0] = jit_frame(r, &w, (uint32_t)a->addr, &resolved);
			else if (a->module == MOD_OFFCPU)
				ids[0] = offcpu_frame(&w, a->addr);
			else
				n = cs_sym_resolve(r->sym, &w, uf, ids, 64, &resolved);
			for (size_t j = 0; j < n; j++)
				pn = cs_profile_node(&w, pn, ids[j]);
			*cs_map64_put(&pnode, chain.v[k], 0, NULL) = (uint64_t)pn + 1;
		}
		uint64_t *pt = cs_map64_get(&pthread, thread);
		if (!pt) {
			const struct rthread *t = &r->threads.v[thread];
			const char *pname = t->name;
			for (size_t j = 0; j < r->threads.n; j++)
				if (r->threads.v[j].tid == t->pid && r->threads.v[j].pid == t->pid) {
					pname = r->threads.v[j].name;
					break;
				}
			uint32_t id = cs_profile_thread(&w, t->pid, t->tid, cs_profile_cstr(&w, t->name),
							cs_profile_cstr(&w, pname));
			pt = cs_map64_put(&pthread, thread, (uint64_t)id + 1, NULL);
		}
		cs_profile_add(&w, pn, (uint32_t)(*pt - 1), count);
		total += count;
	}
	CS_VEC_FREE(chain);
	cs_map64_release(&pnode);
	cs_map64_release(&pthread);
	fill_meta(r, &w, r->pid);
	/* Unix time of the window's edges, from the monotonic clock's */
	uint64_t unix_start = w.meta.start_unix_ns; /* of the recording */
	uint64_t from = unix_start + (r->win_start - r->start_ns);
	uint64_t until = unix_start + (now - r->start_ns);
	w.meta.start_unix_ns = from;
	w.stats.duration_ns = now - r->win_start;
	w.stats.samples = total;
	if (total) /* an empty window says nothing (and pprof wants samples) */
		cs_pusher_add(r->pusher, &w, from, until);
	cs_profile_release(&w);
	cs_sym_profile_reset(r->sym);
	cs_map64_release(&r->wcounts);
	memset(&r->wcounts, 0, sizeof(r->wcounts));
	cs_map64_init(&r->wcounts);
	CS_VEC_FREE(r->wkeys);
	r->win_start = now;
	if (r->o->window_only)
		window_forget(r);
}

static void fill_meta(const struct rec *r, struct cs_profile *p, pid_t pid)
{
	const struct cs_record_opts *o = r->o;
	struct utsname u;
	char cmd[4096] = "";
	if (o->argv) {
		size_t len = 0;
		for (char *const *a = o->argv; *a && len < sizeof(cmd) - 2; a++)
			len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, "%s%s", len ? " " : "", *a);
	} else if (r->cmdline[0]) {
		snprintf(cmd, sizeof(cmd), "%s", r->cmdline);
	} else {
		cs_proc_cmdline(pid, cmd, sizeof(cmd));
	}
	p->meta.source = CS_SOURCE_RECORDING;
	p->meta.command = cs_profile_cstr(p, cmd);
	if (uname(&u) == 0) {
		p->meta.hostname = cs_profile_cstr(p, u.nodename);
		p->meta.kernel = cs_profile_cstr(p, u.release);
		p->meta.arch = cs_profile_cstr(p, u.machine);
	}
	p->meta.event = cs_profile_cstr(p, o->wall ? "cpu-clock,context-switches" : "cpu-clock");
	p->meta.pid = o->argv ? 0 : pid;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	p->meta.start_unix_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec -
				(cs_now_ns() - r->start_ns);
	p->meta.hz = o->hz;
	p->meta.stack_size = o->stack_size;
}

/* Read what JIT runtimes appended to their perf maps and jitdump files. */
static void poll_jit(struct rec *r, int all)
{
	for (size_t i = 0; i < r->procs.n; i++)
		if (all || r->procs.v[i].alive)
			cs_jitsyms_poll(r->jit, (pid_t)r->procs.v[i].pid);
}

static void scan_one(void *ctx, const struct cs_proc_map *m)
{
	struct rec *r = ctx;
	if (m->prot & PROT_EXEC)
		cs_jitsyms_mapped(r->jit, r->pid, m->path);
}

/* Explain the stacks that ended early: the unreadable file most of them went through,
 * the JIT code nothing names, the files that did name JIT code. */
static void fill_hints(struct rec *r, struct cs_record_result *res)
{
	uint64_t most = 0;
	uint32_t mod = CS_SYM_NOMOD;
	for (uint32_t m = 0; m < cs_sym_module_count(r->sym); m++) {
		uint64_t *c = cs_map64_get(&r->nofile, m);
		if (!c)
			continue;
		res->nofile_count++;
		if (*c > most) {
			most = *c;
			mod = m;
		}
	}
	if (mod != CS_SYM_NOMOD) {
		const char *path = cs_sym_module_path(r->sym, mod);
		snprintf(res->nofile, sizeof(res->nofile), "%s", path);
		/* Ask again, to say why (the registry only knows that it failed). */
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			snprintf(res->nofile_why, sizeof(res->nofile_why),
				 "not while it was being recorded");
		} else {
			snprintf(res->nofile_why, sizeof(res->nofile_why), "%s", strerror(errno));
		}
	}
	res->jit_unnamed_pid = (int)r->jit_unnamed_pid;
	for (size_t i = 0; i < r->procs.n && !res->jit_file[0]; i++) {
		pid_t pid = (pid_t)r->procs.v[i].pid;
		size_t n = cs_jitsyms_count(r->jit, pid);
		if (!n)
			continue;
		/* the file that named the first named frame */
		for (size_t k = 0; k < r->jits.n; k++) {
			const char *file = NULL;
			if (r->jits.v[k].pid == (uint32_t)pid &&
			    cs_jitsyms_find(r->jit, pid, r->jits.v[k].addr, &file)) {
				snprintf(res->jit_file, sizeof(res->jit_file), "%s", file);
				res->jit_names = n;
				break;
			}
		}
	}
}

static void rec_release(struct rec *r)
{
	cs_jitsyms_free(r->jit);
	CS_VEC_FREE(r->jits);
	cs_index_release(&r->jit_ix);
	cs_map64_release(&r->nofile);
	CS_VEC_FREE(r->nodes);
	cs_index_release(&r->node_ix);
	for (size_t i = 0; i < r->threads.n; i++)
		CS_VEC_FREE(r->threads.v[i].pend_kchain);
	CS_VEC_FREE(r->threads);
	cs_map64_release(&r->live_thread);
	CS_VEC_FREE(r->procs);
	cs_map64_release(&r->proc_ix);
	cs_map64_release(&r->counts);
	CS_VEC_FREE(r->count_keys);
	CS_VEC_FREE(r->offrows);
	cs_map64_release(&r->off_ix);
	cs_map64_release(&r->dead);
	cs_map64_release(&r->wcounts);
	CS_VEC_FREE(r->wkeys);
	cs_leak_collect_free(r->lc);
	cs_py_free(r->py);
}

int cs_record(const struct cs_record_opts *o, struct cs_profile *p, struct cs_record_result *res)
{
	struct rec *r = cs_xcalloc(1, sizeof(*r));
	struct cs_sampler *smp = NULL;
	struct cs_launch launch = {0, -1, -1};
	int launched = 0, ret = -1, wait_command = 0;
	pid_t pid = o->pid;
	char **env = NULL;

	memset(res, 0, sizeof(*res));
	r->o = o;
	cs_index_init(&r->node_ix);
	cs_index_init(&r->jit_ix);
	cs_map64_init(&r->nofile);
	cs_map64_init(&r->off_ix);
	cs_map64_init(&r->dead);
	r->jit = cs_jitsyms_new();
	struct anode root = {0, CS_SYM_NOMOD, 0};
	CS_VEC_PUSH(r->nodes, root);

	r->kernel = o->no_cpu ? 0 : o->kernel < 0 ? cs_kernel_sampling_allowed() : o->kernel;
	struct cs_sampler_opts so;
	memset(&so, 0, sizeof(so));
	so.hz = o->hz;
	so.stack_size = o->stack_size;
	so.kernel = r->kernel;
	so.wall = o->wall;
	so.kind = o->sampler;
	struct cs_symbolizer_opts yo = {o->debug_dirs, o->n_debug_dirs, CS_RECORD_MAX_FRAMES};
	r->sym = cs_symbolizer_new(&yo);
	if (!o->no_python && !o->no_cpu)
		r->py = cs_py_new(r->sym);
	if (o->push && !(r->pusher = cs_pusher_new(o->push))) /* continuous mode */
		goto out;

	if (o->leaks) {
		struct cs_leak_collect_opts lo = {
			{o->sample_bytes, 0, o->agent, r->sym, o->stop,
			 o->duration_s > 0 ? cs_now_ns() + (uint64_t)(o->duration_s * 1e9) : 0,
			 &res->leak_notes, 0},
			o->leak_interval_s, o->no_cpu, leak_node, r};
		r->lc = cs_leak_collect_new(&lo);
		if (!r->lc)
			goto out;
	}
	if (o->argv) {
		if (r->lc && cs_leak_collect_launch_env(r->lc, &env) < 0)
			goto out;
		if (cs_launch_prepare(o->argv, env, &launch) < 0)
			goto out;
		launched = 1;
		pid = launch.pid;
		so.enable_on_exec = 1;
	} else {
		if (kill(pid, 0) < 0 && errno == ESRCH) {
			cs_error("no process with PID %d", (int)pid);
			goto out;
		}
		/* Know the address space before the first sample arrives. */
		if (cs_sym_proc_load(r->sym, pid) < 0) {
			if (!cs_proc_alive(pid))
				cs_error("no process with PID %d", (int)pid);
			else
				cs_error("permission denied reading the memory map of PID %d: "
					 "profiling another user's process needs root or "
					 "CAP_SYS_PTRACE (and CAP_PERFMON, or sysctl "
					 "kernel.perf_event_paranoid <= 1)",
					 (int)pid);
			goto out;
		}
	}
	r->pid = pid;
	if (!o->argv)
		cs_proc_cmdline(pid, r->cmdline, sizeof(r->cmdline));
	if (!o->argv && !o->no_cpu) {
		/* JIT code described before we came */
		cs_proc_maps(pid, scan_one, r);
		cs_jitsyms_poll(r->jit, pid);
	}
	/* Attach mode: the agent is loaded before the sampler opens. Its injection seizes
	 * a thread with ptrace and detaches; once the ptrace sampler holds every thread
	 * that would be refused (a thread has one tracer). A launched command loads it
	 * without ptrace (LD_PRELOAD). */
	int leaks_first = r->lc && !o->argv;
	if (leaks_first) {
		r->start_ns = cs_now_ns();
		if (cs_leak_collect_attach(r->lc, pid, &res->inject) < 0 ||
		    cs_leak_collect_start(r->lc, pid, r->start_ns, 10000) < 0)
			goto out;
		res->agent_ready_ms = (double)(cs_now_ns() - r->start_ns) / 1e6;
	}
	if (!o->no_cpu) {
		smp = cs_sampler_open(pid, &so);
		if (!smp)
			goto out;
		cs_sampler_info(smp, &res->sampler);
		r->kernel = res->sampler.kernel;
		if (r->lc && o->argv && !strcmp(res->sampler.name, "ptrace")) {
			/* The agent's handshake blocks while the command's exec and thread
			 * creation wait in ptrace stops that only the sampler's poll ends. */
			cs_error("allocation tracking of a launched command cannot run beside the "
				 "ptrace sampler: start the command, then 'csampler record --leaks "
				 "--pid PID', or record CPU and leaks in two runs");
			goto out;
		}
	}
	if (!leaks_first)
		r->start_ns = cs_now_ns();
	r->win_start = r->start_ns;
	if (!o->argv)
		proc_get(r, (uint32_t)pid);
	if (smp && o->wall) {
		res->offcpu_nostack = !cs_sampler_offcpu_stacks(smp);
		pid_t *tids;
		size_t nt;
		/* Every thread exists from now on, also one that never switches. */
		if (!o->argv && cs_proc_tasks(pid, &tids, &nt) == 0) {
			for (size_t i = 0; i < nt; i++)
				wall_thread(r, (uint32_t)pid, (uint32_t)tids[i], r->start_ns)->runnable =
					thread_runnable(pid, tids[i]);
			free(tids);
		}
	}
	if (launched) {
		if (cs_launch_go(&launch, o->argv[0]) < 0) {
			launched = 0; /* reaped */
			goto out;
		}
		res->launched = 1;
		proc_get(r, (uint32_t)pid);
		if (r->lc && cs_leak_collect_start(r->lc, pid, r->start_ns, 10000) < 0) {
			wait_command = 1; /* not orphaned: it runs on untracked, we wait */
			goto out;
		}
	}
	res->leaks = r->lc != NULL;

	/* Without perf rings to wait on, wake up when the target exits (pidfd, Linux 5.3+)
	 * or the agent speaks, not only on the 100 ms tick. */
	int pidfd = smp ? -1 : (int)syscall(SYS_pidfd_open, pid, 0);
	uint64_t last_tick = r->start_ns, last_status = 0;
	uint64_t deadline = o->duration_s > 0 ? r->start_ns + (uint64_t)(o->duration_s * 1e9) : 0;
	for (;;) {
		if (smp) {
			/* python: frames are read as samples are taken, so drain often */
			int wait_ms = r->py && cs_py_active(r->py) ? 1 : 100;
			if (cs_sampler_poll(smp, wait_ms, &ops, r) < 0)
				goto out;
		} else {
			struct pollfd pf[2] = {{r->lc ? cs_leak_collect_fd(r->lc) : -1, POLLIN, 0},
					       {pidfd, POLLIN, 0}};
			poll(pf, 2, 100);
		}
		uint64_t now = cs_now_ns();
		if (r->lc)
			cs_leak_collect_poll(r->lc, now); /* new processes, finals, snapshots */
		if (now - last_tick >= 1000000000ull) {
			timeline_tick(r, p, now, &last_tick);
			if (!o->no_cpu)
				poll_jit(r, 0);
			if (r->lc) /* tracked bytes beside RSS: the same tick */
				cs_leak_collect_tick(r->lc, (now - r->start_ns) / 1000000);
		}
		/* continuous mode: a window every push interval */
		if (r->pusher && now - r->win_start >= (uint64_t)(o->push->interval_s * 1e9))
			window_cut(r, now);
		if (o->status_line && now - last_status >= 250000000ull) {
			status(r, now);
			last_status = now;
		}
		if (o->stop && *o->stop)
			break;
		if (deadline && now >= deadline)
			break;
		if (launched) {
			int st;
			pid_t w = cs_sampler_waitpid(smp, launch.pid, &st);
			if (w == launch.pid) {
				launched = 0;
				res->exited = 1;
				res->exit_status = st;
				break;
			}
		} else if (!cs_proc_alive(pid)) {
			res->exited = 1;
			break;
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	/* The last leak snapshots: the agents' own if the processes exited, else ask. */
	if (r->lc)
		cs_leak_collect_finish(r->lc, res->exited);
	/* Stop sampling, then take what is still in the rings. */
	if (smp) {
		cs_sampler_disable(smp);
		for (int i = 0; i < 64 && cs_sampler_poll(smp, 0, &ops, r) > 0; i++)
			;
	}
	uint64_t end = cs_now_ns();
	if (o->wall)
		for (size_t i = 0; i < r->threads.n; i++)
			if (r->threads.v[i].alive)
				wall_end_thread(r, &r->threads.v[i], end);
	if (r->pusher) { /* continuous mode: the last window, then what is still queued */
		window_cut(r, end);
		if (o->status_line)
			fprintf(stderr, "\r\033[K[csampler] sending the last windows...");
		cs_pusher_finish(r->pusher, 3.0, &res->push);
		r->pusher = NULL;
		res->pushed = 1;
	}
	if (end - last_tick >= 200000000ull || !p->timeline.n)
		timeline_tick(r, p, end, &last_tick);
	if (o->status_line)
		fprintf(stderr, "\r\033[K");
	if (smp) {
		cs_sampler_info(smp, &res->sampler);
		cs_sampler_close(smp);
	}
	smp = NULL;

	r->st.duration_ns = end - r->start_ns;
	fill_meta(r, p, pid);
	if (o->no_cpu)
		p->meta.event = cs_profile_cstr(p, "allocations");
	if (!o->no_cpu)
		poll_jit(r, 1);
	build_profile(r, p);
	fill_hints(r, res);
	if (r->py) { /* python: what could not be merged, for the summary */
		struct cs_py_stats ps;
		cs_py_stats(r->py, &ps);
		r->st.py_samples = ps.samples;
		r->st.py_merged = ps.merged;
		r->st.py_mismatch = ps.mismatch;
		r->st.py_unreadable = ps.unreadable;
		r->st.py_late = ps.late;
		r->st.py_moved = ps.moved;
		r->st.py_gil = ps.gil;
		r->st.py_lag_ns = ps.lag_ns;
		snprintf(res->python_note, sizeof(res->python_note), "%s", cs_py_note(r->py));
	}
	r->st.profiler_cpu_ns = cs_process_cpu_ns();
	p->stats = r->st;
	res->kernel = r->kernel;
	res->snapshots = (unsigned)p->leaks.n;
	ret = 0;
out:
	if (smp)
		cs_sampler_close(smp);
	if (launched) {
		/* The command keeps running: csampler never ends a program it profiles. */
		if (launch.go_fd >= 0)
			cs_launch_abort(&launch);
		else if (wait_command)
			cs_leak_wait_command(launch.pid, o->stop, &res->exit_status, &res->exited);
	}
	cs_pusher_finish(r->pusher, 0, NULL);
	cs_symbolizer_free(r->sym);
	rec_release(r);
	free(r);
	return ret;
}
