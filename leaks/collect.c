/* collect.c - every leak session of one recording (see collect.h). */
#include "collect.h"
#include "rendezvous.h"
#include "target.h"
#include "util/proc.h"
#include "util/util.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Sessions of a command's processes open at once; more are refused (their agents go
 * inert) and counted. */
#define MAX_LIVE 256
/* A new process's agent sends HELLO before its socket: it is there at once. */
#define CHILD_HANDSHAKE_MS 2000
/* Time spent taking new sessions per poll, before the other work gets its turn. */
#define NEW_BUDGET_NS 200000000ull
#define STATS_WAIT_MS 500
#define FINAL_WAIT_MS 2000

/* A snapshot whose stacks are nodes of the caller's trie. */
struct psite {
	uint32_t node;
	uint64_t bytes, blocks, age_ns, allocs, alloc_bytes, temporary, peak_bytes;
};

struct psnap {
	double time_s;
	uint32_t flags; /* enum cs_snapshot_flags */
	uint32_t proc;
	uint64_t sample_bytes, untracked_frees, allocs, frees;
	struct cs_heap_counters heap;
	CS_VEC(struct psite) sites;
};

struct pproc {
	pid_t pid, ppid;
	char *command;
	uint32_t flags; /* enum cs_leak_process_flags */
	double start_s, end_s;
	uint64_t last_bytes; /* outstanding at its latest snapshot */
};

struct live {
	struct cs_leak_session *s;
	uint32_t proc;
};

struct cs_leak_collect {
	struct cs_leak_collect_opts o;
	struct cs_leak_session *first; /* until its handshake */
	pid_t first_pid;
	int ctl; /* launch mode: the control socket, or -1 */
	int ep;	 /* epoll over ctl and every live session */
	uint64_t start_ns, last_snap;
	CS_VEC(struct live) live;
	CS_VEC(struct pproc) procs;
	CS_VEC(struct psnap) snaps;
	CS_VEC(struct cs_heap_point) points;
	uint64_t refused; /* sessions refused: too many at once */
};

static double since_start(const struct cs_leak_collect *c, uint64_t ns)
{
	return ns > c->start_ns ? (double)(ns - c->start_ns) / 1e9 : 0;
}

static void watch(struct cs_leak_collect *c, int fd)
{
	if (c->ep < 0 || fd < 0)
		return;
	struct epoll_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = fd;
	epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev);
}

struct cs_leak_collect *cs_leak_collect_new(const struct cs_leak_collect_opts *o)
{
	struct cs_leak_session *s = cs_leak_session_new(&o->leak);
	if (!s)
		return NULL;
	struct cs_leak_collect *c = cs_xcalloc(1, sizeof(*c));
	c->o = *o;
	c->first = s;
	c->ctl = -1;
	c->ep = epoll_create1(EPOLL_CLOEXEC);
	return c;
}

void cs_leak_collect_free(struct cs_leak_collect *c)
{
	if (!c)
		return;
	cs_leak_session_free(c->first);
	for (size_t i = 0; i < c->live.n; i++)
		cs_leak_session_free(c->live.v[i].s);
	CS_VEC_FREE(c->live);
	for (size_t i = 0; i < c->procs.n; i++)
		free(c->procs.v[i].command);
	CS_VEC_FREE(c->procs);
	for (size_t i = 0; i < c->snaps.n; i++)
		CS_VEC_FREE(c->snaps.v[i].sites);
	CS_VEC_FREE(c->snaps);
	CS_VEC_FREE(c->points);
	if (c->ctl >= 0)
		close(c->ctl);
	if (c->ep >= 0)
		close(c->ep);
	free(c);
}

int cs_leak_collect_launch_env(struct cs_leak_collect *c, char ***env)
{
	return cs_leak_session_launch_env(c->first, env);
}

int cs_leak_collect_attach(struct cs_leak_collect *c, pid_t pid, struct cs_inject_stats *st)
{
	return cs_leak_session_attach(c->first, c->o.leak.sym, pid, st);
}

/* ---- processes ---- */

struct hello_ctx {
	struct cs_leak_collect *c;
	pid_t pid;
};

/* Between the agent's HELLO and csampler's CONFIG the process waits: read its maps
 * (a program exec'd under a pid already known replaces what that pid had). */
static void on_hello(void *arg)
{
	struct hello_ctx *h = arg;
	struct cs_leak_collect *c = h->c;
	if (!c->o.refresh_maps)
		return;
	for (size_t i = 0; i < c->procs.n; i++)
		if (c->procs.v[i].pid == h->pid) {
			cs_sym_proc_exec(c->o.leak.sym, h->pid);
			break;
		}
	cs_sym_proc_refresh(c->o.leak.sym, h->pid);
}

/* A session is ready: its process. */
static uint32_t add_proc(struct cs_leak_collect *c, pid_t pid, uint64_t ready_ns)
{
	struct pproc q;
	memset(&q, 0, sizeof(q));
	q.pid = pid;
	q.ppid = cs_target_ppid(pid);
	char cmd[1024];
	if (cs_proc_cmdline(pid, cmd, sizeof(cmd)) < 0 || !cmd[0])
		snprintf(cmd, sizeof(cmd), "[%d]", (int)pid);
	q.command = cs_xstrdup(cmd);
	q.start_s = since_start(c, ready_ns);
	CS_VEC_PUSH(c->procs, q);
	return (uint32_t)(c->procs.n - 1);
}

int cs_leak_collect_start(struct cs_leak_collect *c, pid_t pid, uint64_t start_ns, int timeout_ms)
{
	c->start_ns = start_ns;
	c->first_pid = pid;
	uint64_t ready = 0;
	struct hello_ctx h = {c, pid};
	if (cs_leak_session_handshake(c->first, pid, timeout_ms, &ready, on_hello, &h) < 0)
		return -1;
	struct live l = {c->first, add_proc(c, pid, ready)};
	c->first = NULL;
	CS_VEC_PUSH(c->live, l);
	watch(c, cs_leak_session_fd(l.s));
	c->ctl = cs_leak_session_take_control(l.s);
	watch(c, c->ctl);
	c->last_snap = cs_now_ns();
	return 0;
}

int cs_leak_collect_fd(const struct cs_leak_collect *c)
{
	return c->ep;
}

/* The sessions of processes the command started. */
static void take_new(struct cs_leak_collect *c)
{
	uint64_t until = cs_now_ns() + NEW_BUDGET_NS;
	while (c->ctl >= 0 && cs_now_ns() < until) {
		int fd;
		pid_t pid;
		int r = cs_rendezvous_take(c->ctl, &fd, &pid);
		if (r == 0)
			return;
		if (r < 0) { /* no process of the command holds it any more */
			close(c->ctl);
			c->ctl = -1;
			return;
		}
		if (c->live.n >= MAX_LIVE) {
			close(fd); /* its agent sees EOF and goes inert */
			c->refused++;
			continue;
		}
		struct cs_leak_opts lo = c->o.leak;
		lo.notes = NULL;
		lo.quiet = 1;
		struct cs_leak_session *s = cs_leak_session_adopt(&lo, fd, pid);
		uint64_t ready = 0;
		struct hello_ctx h = {c, pid};
		if (cs_leak_session_handshake(s, pid, CHILD_HANDSHAKE_MS, &ready, on_hello, &h) <
		    0) {
			cs_leak_session_free(s); /* it exec'd or ended first: nothing to say */
			continue;
		}
		struct live l = {s, add_proc(c, pid, ready)};
		CS_VEC_PUSH(c->live, l);
		watch(c, cs_leak_session_fd(s));
	}
}

/* Turn a snapshot into trie nodes now, while the address space is known. */
static void add_snapshot(struct cs_leak_collect *c, const struct live *l, struct cs_leak_raw *raw)
{
	struct pproc *q = &c->procs.v[l->proc];
	struct cs_symbolizer *sym = c->o.leak.sym;
	/* Without perf records the maps come from /proc, read now; a final snapshot (the
	 * process is ending, its maps may be half gone) uses what was read as it came. */
	if (c->o.refresh_maps && !(raw->h.flags & CS_SNAP_FINAL) && cs_proc_alive(q->pid))
		cs_sym_proc_refresh(sym, q->pid);
	struct psnap ps;
	memset(&ps, 0, sizeof(ps));
	ps.time_s = since_start(c, raw->h.time_ns);
	ps.flags = raw->h.flags;
	ps.proc = l->proc;
	ps.sample_bytes = raw->h.sample_bytes;
	ps.untracked_frees = raw->h.untracked_frees;
	ps.allocs = raw->h.allocs;
	ps.frees = raw->h.frees;
	ps.heap = raw->h.heap;
	q->last_bytes = 0;
	for (size_t i = 0; i < raw->n; i++) {
		const struct cs_leak_raw_site *site = &raw->sites[i];
		uint32_t node = 0;
		/* Root first. Every address is a return address: step back into the call. */
		for (uint32_t d = site->depth; d-- > 0;) {
			uint64_t a = site->addrs[d];
			struct cs_uframe f = cs_sym_locate(sym, q->pid, a ? a - 1 : 0);
			node = c->o.node(c->o.ctx, node, f.module, f.addr);
		}
		struct psite p = {node,
				  site->bytes,
				  site->blocks,
				  site->blocks && raw->h.time_ns > site->oldest_ns
				      ? raw->h.time_ns - site->oldest_ns
				      : 0,
				  site->allocs,
				  site->alloc_bytes,
				  site->temporary,
				  site->peak_bytes};
		CS_VEC_PUSH(ps.sites, p);
		q->last_bytes += site->bytes;
	}
	CS_VEC_PUSH(c->snaps, ps);
}

/* The session live[i] is over: its process ended (flags), or ran on (0). */
static void end_session(struct cs_leak_collect *c, size_t i, uint32_t flags)
{
	struct pproc *q = &c->procs.v[c->live.v[i].proc];
	q->flags |= flags;
	if (flags)
		q->end_s = since_start(c, cs_now_ns());
	cs_leak_session_free(c->live.v[i].s); /* closing its socket takes it off the epoll */
	memmove(&c->live.v[i], &c->live.v[i + 1], (c->live.n - i - 1) * sizeof(c->live.v[0]));
	c->live.n--;
}

static uint32_t final_flags(const struct cs_leak_raw *raw)
{
	return raw->h.flags & CS_SNAP_SIGNAL ? CS_LPROC_SIGNALED : CS_LPROC_EXITED;
}

/* Ask live[i] for a snapshot; 0, or -1 when the session ended (it is gone then). */
static int snapshot_one(struct cs_leak_collect *c, size_t i)
{
	struct cs_leak_raw raw;
	int gone = 0;
	if (cs_leak_session_snapshot(c->live.v[i].s, &raw, &gone) < 0) {
		end_session(c, i, CS_LPROC_VANISHED);
		return -1;
	}
	add_snapshot(c, &c->live.v[i], &raw);
	uint32_t fl = raw.h.flags & CS_SNAP_FINAL ? final_flags(&raw) : CS_LPROC_VANISHED;
	cs_leak_raw_release(&raw);
	if (gone) {
		end_session(c, i, fl);
		return -1;
	}
	return 0;
}

void cs_leak_collect_poll(struct cs_leak_collect *c, uint64_t now_ns)
{
	/* The epoll set is level-triggered: handling what is readable clears it. */
	take_new(c);
	for (size_t i = 0; i < c->live.n;) {
		struct cs_leak_raw raw;
		int r = cs_leak_session_unasked(c->live.v[i].s, &raw);
		if (r == 0) {
			i++;
			continue;
		}
		uint32_t fl = CS_LPROC_VANISHED;
		if (r == 1) { /* the process is ending */
			add_snapshot(c, &c->live.v[i], &raw);
			fl = final_flags(&raw);
			cs_leak_raw_release(&raw);
		}
		end_session(c, i, fl);
	}
	uint64_t interval = (uint64_t)((c->o.interval_s > 0 ? c->o.interval_s : 10) * 1e9);
	if (now_ns - c->last_snap >= interval) {
		for (size_t i = 0; i < c->live.n;)
			i += snapshot_one(c, i) == 0;
		c->last_snap = now_ns;
	}
}

void cs_leak_collect_tick(struct cs_leak_collect *c, uint64_t t_ms)
{
	for (size_t i = 0; i < c->live.n; i++) {
		struct live *l = &c->live.v[i];
		pid_t pid = c->procs.v[l->proc].pid;
		if (c->o.refresh_maps)
			cs_sym_proc_refresh(c->o.leak.sym, pid); /* keep up with dlopen */
		struct cs_msg_stats st;
		if (cs_leak_session_stats(l->s, &st, STATS_WAIT_MS) < 0)
			continue; /* late, or ending: the next poll tells */
		struct cs_heap_point h = {t_ms, l->proc, st.heap.heap_bytes, st.allocs};
		CS_VEC_PUSH(c->points, h);
	}
}

void cs_leak_collect_finish(struct cs_leak_collect *c, int first_exited)
{
	if (c->ctl >= 0) { /* no new sessions now: processes starting get EOF */
		close(c->ctl);
		c->ctl = -1;
	}
	while (c->live.n) {
		size_t i = c->live.n - 1;
		struct live *l = &c->live.v[i];
		struct cs_leak_raw raw;
		int r = cs_leak_session_unasked(l->s, &raw);
		if (r == 0 && l->proc == 0 && first_exited)
			r = cs_leak_session_final(l->s, &raw, FINAL_WAIT_MS) == 1 ? 1 : -1;
		if (r == 1) {
			add_snapshot(c, l, &raw);
			uint32_t fl = final_flags(&raw);
			cs_leak_raw_release(&raw);
			end_session(c, i, fl);
		} else if (r < 0) {
			end_session(c, i, CS_LPROC_VANISHED);
		} else if (snapshot_one(c, i) == 0) {
			cs_leak_session_detach(c->live.v[i].s);
			end_session(c, i, 0); /* it runs on */
		}
	}
	if (c->refused)
		cs_warn("%llu processes of the command were not tracked: more than %d were "
			"tracked at once",
			(unsigned long long)c->refused, MAX_LIVE);
}

void cs_leak_collect_status(const struct cs_leak_collect *c, size_t *snapshots, uint64_t *bytes)
{
	*snapshots = c->snaps.n;
	*bytes = 0;
	for (size_t i = 0; i < c->procs.n; i++)
		*bytes += c->procs.v[i].last_bytes;
}

void cs_leak_collect_build(struct cs_leak_collect *c, struct cs_profile *p, const uint32_t *pnode)
{
	for (size_t i = 0; i < c->procs.n; i++) {
		const struct pproc *q = &c->procs.v[i];
		struct cs_leak_process lp = {
		    (uint32_t)q->pid, (uint32_t)q->ppid, cs_profile_cstr(p, q->command),
		    q->flags,	      q->start_s,	 q->end_s};
		CS_VEC_PUSH(p->leak_procs, lp);
	}
	for (size_t i = 0; i < c->snaps.n; i++) {
		const struct psnap *ps = &c->snaps.v[i];
		struct cs_leak_snapshot ls;
		memset(&ls, 0, sizeof(ls));
		ls.time_s = ps->time_s;
		ls.sampled = !!(ps->flags & CS_SNAP_SAMPLED);
		ls.exact = !(ps->flags & (CS_SNAP_INEXACT | CS_SNAP_SAMPLED));
		ls.sample_bytes = ps->sample_bytes;
		ls.pre_attach_frees = ps->untracked_frees;
		ls.process = ps->proc;
		ls.flags = CS_LEAK_TOTALS | (ps->flags & CS_SNAP_FINAL ? CS_LEAK_FINAL : 0);
		ls.allocs = ps->allocs;
		ls.frees = ps->frees;
		ls.temporary = ps->heap.temporary;
		ls.alloc_bytes = ps->heap.alloc_bytes;
		ls.peak_bytes = ps->heap.peak_bytes;
		ls.peak_time_s = ps->heap.peak_ns ? since_start(c, ps->heap.peak_ns) : 0;
		for (size_t k = 0; k < ps->sites.n; k++) {
			const struct psite *q = &ps->sites.v[k];
			struct cs_leak_site site = {pnode[q->node], q->bytes,	   q->blocks,
						    q->age_ns,	    q->allocs,	   q->alloc_bytes,
						    q->temporary,   q->peak_bytes, 0};
			CS_VEC_PUSH(ls.sites, site);
		}
		CS_VEC_PUSH(p->leaks, ls);
	}
	for (size_t i = 0; i < c->points.n; i++)
		CS_VEC_PUSH(p->heap, c->points.v[i]);
}
