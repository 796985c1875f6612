/* perf.c - perf_event_open sampling: events per (thread x CPU), one ring per CPU,
 * records merged across rings in timestamp order. */
#include "backend.h"
#include "util/hash.h"
#include "util/proc.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_KCHAIN 256
#define CS_SWITCH_STACK 4096 /* bytes of user stack copied per switch-out */

/* perf's x86-64 user register order, as selected by REGS_MASK. */
enum {
	PREG_AX, PREG_BX, PREG_CX, PREG_DX, PREG_SI, PREG_DI, PREG_BP, PREG_SP, PREG_IP,
	PREG_FLAGS, PREG_CS, PREG_SS, PREG_R8, PREG_R9, PREG_R10, PREG_R11, PREG_R12, PREG_R13,
	PREG_R14, PREG_R15, PREG_COUNT
};
#define REGS_MASK 0xff0fffULL /* all general registers; segment registers give EINVAL */

struct ring {
	int fd;	  /* the event that owns the mmap; -1 if this CPU could not be opened */
	int cpu;
	uint8_t *base;
	size_t map_len;
	struct perf_event_mmap_page *meta;
	uint8_t *data;
	size_t size; /* power of two */
	uint64_t tail; /* tail after the records collected this round */
	uint8_t *scratch; /* a record that wraps around the end is copied here */
};

struct entry {
	uint64_t time;
	uint64_t seq;
	const struct perf_event_header *h;
};

struct perf_sampler {
	struct cs_sampler_opts o;
	pid_t pid;
	int ncpu;
	struct ring *rings;
	CS_VEC(int) fds;
	CS_VEC(pid_t) tids;
	CS_VEC(struct entry) entries;
	uint64_t kchain[MAX_KCHAIN];
	struct cs_map64 switch_ids; /* ids of the context-switch events (opts.wall) */
	int switch_nostack;	    /* they may not sample kernel mode: records only */
	int *refused; /* while opening: where a refusal goes instead of an error line */
};

static long perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group,
			    unsigned long flags)
{
	return syscall(SYS_perf_event_open, attr, pid, cpu, group, flags);
}

static void fill_attr(struct perf_event_attr *a, const struct cs_sampler_opts *o)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	/* cpu-clock is a software event: every kernel has it, no PMU needed. It fires
	 * after each period of the thread's CPU time, so samples measure CPU time. */
	a->type = PERF_TYPE_SOFTWARE;
	a->config = PERF_COUNT_SW_CPU_CLOCK;
	a->sample_period = 1000000000ULL / (o->hz ? o->hz : 99);
	a->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU |
			 PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
	if (o->kernel) {
		a->sample_type |= PERF_SAMPLE_CALLCHAIN;
		a->exclude_callchain_user = 1; /* the user part is unwound from the copy */
	} else {
		a->exclude_kernel = 1;
	}
	a->exclude_hv = 1;
	a->sample_regs_user = REGS_MASK;
	a->sample_stack_user = o->stack_size;
	a->inherit = 1;
	a->mmap = 1;
	a->mmap2 = 1;
	a->comm = 1;
	a->comm_exec = 1;
	a->task = 1;
	a->sample_id_all = 1;
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC;
	a->watermark = 1;
	if (o->enable_on_exec) {
		a->disabled = 1;
		a->enable_on_exec = 1;
	}
	if (o->wall)
		a->sample_type |= PERF_SAMPLE_ID; /* which of the two events sampled */
}

/* The off-CPU event: a sample at every switch-out, plus the switch records. The
 * switch happens in the kernel, so the event must count kernel mode even when kernel
 * frames are not wanted (exclude_kernel would drop every sample); nostack: only the
 * records, which the kernel allows for one's own processes. Side-band records (mmap,
 * comm, task) come from the cpu-clock event alone. */
static void fill_switch_attr(struct perf_event_attr *a, const struct cs_sampler_opts *o,
			     int nostack)
{
	fill_attr(a, o);
	a->config = PERF_COUNT_SW_CONTEXT_SWITCHES;
	a->sample_period = 1;
	a->exclude_kernel = nostack;
	a->context_switch = 1;
	a->mmap = a->mmap2 = a->comm = a->comm_exec = a->task = 0;
	/* A thread that left the CPU to wait keeps its stack as it is while it waits: a
	 * small copy does, and the unwinder reads on from the live process. The kernel
	 * copies this much at every switch, so it is most of the target's cost. */
	if (a->sample_stack_user > CS_SWITCH_STACK)
		a->sample_stack_user = CS_SWITCH_STACK;
}

static size_t auto_ring_bytes(const struct cs_sampler_opts *o)
{
	/* About a quarter second of one busy thread's samples, at least 1 MiB; off-CPU:
	 * about 2000 switch-outs. */
	uint64_t want = (uint64_t)o->hz * (o->stack_size + 512) / 4;
	uint64_t sw = o->stack_size < CS_SWITCH_STACK ? o->stack_size : CS_SWITCH_STACK;
	if (o->wall && want < 2000ull * (sw + 512))
		want = 2000ull * (sw + 512);
	size_t sz = 1 << 20;
	while (sz < want && sz < (64u << 20))
		sz <<= 1;
	return sz;
}

static int open_error(const struct perf_sampler *s, int err, pid_t tid)
{
	char advice[512];
	switch (err) {
	case EACCES:
	case EPERM:
	case ENOSYS:
		cs_perf_refusal_advice(err, s->pid, advice, sizeof(advice));
		return cs_error("perf events refused sampling PID %d (%s): %s; or use "
				"--sampler ptrace",
				(int)s->pid, strerror(err), advice);
	case ESRCH:
		return cs_error("process %d exited while csampler attached to it", (int)s->pid);
	case EMFILE:
	case ENFILE:
		return cs_error("too many open files attaching to %zu threads of PID %d: raise "
				"'ulimit -n'",
				s->tids.n, (int)s->pid);
	case ENOENT:
	case ENODEV:
	case EOPNOTSUPP:
		return cs_error("this kernel offers no cpu-clock perf event (%s); csampler needs "
				"CONFIG_PERF_EVENTS",
				strerror(err));
	default:
		return cs_error("cannot open a perf event for thread %d of PID %d: %s",
				(int)tid, (int)s->pid, strerror(err));
	}
}

static int map_ring(struct perf_sampler *s, struct ring *r, int fd)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t size = s->o.ring_bytes ? s->o.ring_bytes : auto_ring_bytes(&s->o);
	for (;;) {
		size_t len = size + page;
		void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p != MAP_FAILED) {
			r->fd = fd;
			r->base = p;
			r->map_len = len;
			r->meta = p;
			r->data = (uint8_t *)p + page;
			r->size = size;
			r->scratch = cs_xmalloc(65536); /* a record is at most 64 KiB */
			return 0;
		}
		if ((errno != EPERM && errno != ENOMEM) || size <= 64 * 1024)
			return cs_error("cannot map the perf ring buffer (%zu KiB): %s; raise "
					"sysctl kernel.perf_event_mlock_kb or run as root",
					size >> 10, strerror(errno));
		size >>= 1;
	}
}

/* The off-CPU event of thread tid on cpu, into ring r (already mapped). */
static int open_switch(struct perf_sampler *s, struct ring *r, pid_t tid, int cpu)
{
	struct perf_event_attr a;
	fill_switch_attr(&a, &s->o, s->switch_nostack);
	int fd = (int)perf_event_open(&a, tid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0 && (errno == EACCES || errno == EPERM) && !s->switch_nostack) {
		s->switch_nostack = 1;
		fill_switch_attr(&a, &s->o, 1);
		fd = (int)perf_event_open(&a, tid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	}
	if (fd < 0) {
		if (errno == ESRCH)
			return 0; /* gone: its cpu-clock event says so */
		return cs_error("cannot open a context-switch perf event for thread %d: %s",
				(int)tid, strerror(errno));
	}
	CS_VEC_PUSH(s->fds, fd);
	uint64_t id;
	if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, r->fd) < 0 ||
	    ioctl(fd, PERF_EVENT_IOC_ID, &id) < 0)
		return cs_error("cannot redirect the context-switch event into the ring: %s",
				strerror(errno));
	*cs_map64_put(&s->switch_ids, id, 1, NULL) = 1;
	return 0;
}

/* Open events for one thread on every CPU. Returns 0, 1 if the thread is gone, -1. */
static int open_thread(struct perf_sampler *s, pid_t tid)
{
	struct perf_event_attr a;
	fill_attr(&a, &s->o);
	int opened = 0;
	for (int cpu = 0; cpu < s->ncpu; cpu++) {
		struct ring *r = &s->rings[cpu];
		if (r->cpu < 0)
			continue; /* offline */
		/* Wake the reader when a quarter of the ring is full. */
		size_t ring = r->fd >= 0 ? r->size
					 : (s->o.ring_bytes ? s->o.ring_bytes : auto_ring_bytes(&s->o));
		a.wakeup_watermark = (uint32_t)(ring / 4);
		int fd = (int)perf_event_open(&a, tid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			if (e == ESRCH)
				return 1;
			if ((e == ENODEV || e == EINVAL) && s->tids.n == 0 && cpu > 0) {
				r->cpu = -1; /* CPU offline */
				continue;
			}
			if (s->refused && (e == EACCES || e == EPERM || e == ENOSYS)) {
				*s->refused = e;
				return -1;
			}
			open_error(s, e, tid);
			return -1;
		}
		CS_VEC_PUSH(s->fds, fd);
		if (r->fd < 0) {
			if (map_ring(s, r, fd) < 0)
				return -1;
		} else if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, r->fd) < 0) {
			return cs_error("cannot redirect perf events into one ring per CPU: %s",
					strerror(errno));
		}
		if (s->o.wall && open_switch(s, r, tid, cpu) < 0)
			return -1;
		opened++;
	}
	return opened ? 0 : 1;
}

static int has_tid(const struct perf_sampler *s, pid_t tid)
{
	for (size_t i = 0; i < s->tids.n; i++)
		if (s->tids.v[i] == tid)
			return 1;
	return 0;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void perf_close(void *b);

static void *perf_open(pid_t pid, const struct cs_sampler_opts *o, int *refused)
{
	struct perf_sampler *s = cs_xcalloc(1, sizeof(*s));
	s->o = *o;
	s->refused = refused;
	s->pid = pid;
	s->ncpu = (int)sysconf(_SC_NPROCESSORS_CONF);
	if (s->ncpu < 1)
		s->ncpu = 1;
	s->rings = cs_xcalloc((size_t)s->ncpu, sizeof(*s->rings));
	cs_map64_init(&s->switch_ids);
	for (int i = 0; i < s->ncpu; i++) {
		s->rings[i].fd = -1;
		s->rings[i].cpu = i;
	}
	raise_fd_limit();

	if (o->enable_on_exec) {
		/* Launch mode: one thread, not yet running the target program. */
		int r = open_thread(s, pid);
		if (r != 0) {
			if (r > 0)
				cs_error("process %d exited before csampler could attach", (int)pid);
			goto fail;
		}
		CS_VEC_PUSH(s->tids, pid);
		s->refused = NULL;
		return s;
	}
	/* Attach: open every thread; repeat until no thread appeared meanwhile. Threads
	 * created by an already-sampled thread are inherited by the kernel. */
	for (int round = 0; round < 100; round++) {
		pid_t *tids;
		size_t n;
		if (cs_proc_tasks(pid, &tids, &n) < 0) {
			if (s->tids.n)
				break; /* exited during attach: what we have is consistent */
			cs_error("no process with PID %d", (int)pid);
			goto fail;
		}
		int added = 0;
		for (size_t i = 0; i < n; i++) {
			if (has_tid(s, tids[i]))
				continue;
			int r = open_thread(s, tids[i]);
			if (r < 0) {
				free(tids);
				goto fail;
			}
			if (r == 0) {
				CS_VEC_PUSH(s->tids, tids[i]);
				added++;
			}
		}
		free(tids);
		if (!added)
			break;
	}
	if (!s->tids.n) {
		cs_error("process %d exited while csampler attached to it", (int)pid);
		goto fail;
	}
	s->refused = NULL;
	return s;
fail:
	perf_close(s);
	return NULL;
}

static size_t perf_threads(const void *b)
{
	const struct perf_sampler *s = b;
	return s->tids.n;
}

static void perf_disable(void *b)
{
	struct perf_sampler *s = b;
	for (size_t i = 0; i < s->fds.n; i++)
		ioctl(s->fds.v[i], PERF_EVENT_IOC_DISABLE, 0);
}

static void perf_close(void *b)
{
	struct perf_sampler *s = b;
	if (!s)
		return;
	for (int i = 0; i < s->ncpu; i++) {
		if (s->rings[i].base)
			munmap(s->rings[i].base, s->rings[i].map_len);
		free(s->rings[i].scratch);
	}
	for (size_t i = 0; i < s->fds.n; i++)
		close(s->fds.v[i]);
	free(s->rings);
	CS_VEC_FREE(s->fds);
	CS_VEC_FREE(s->tids);
	CS_VEC_FREE(s->entries);
	cs_map64_release(&s->switch_ids);
	free(s);
}

/* ---- reading ---- */

/* Field reader over one record. */
struct rec {
	const uint8_t *p, *end;
	int bad;
};

static uint64_t rec_u64(struct rec *r)
{
	if (r->end - r->p < 8) {
		r->bad = 1;
		return 0;
	}
	uint64_t v;
	memcpy(&v, r->p, 8);
	r->p += 8;
	return v;
}

static uint64_t record_time(const struct perf_sampler *s, const struct perf_event_header *h)
{
	uint64_t t = 0;
	size_t trailer = s->o.wall ? 32 : 24; /* pid/tid, time, [id,] cpu */
	if (h->type == PERF_RECORD_SAMPLE) {
		if (h->size >= 32)
			memcpy(&t, (const uint8_t *)h + 24, 8); /* header, ip, pid/tid */
	} else if (h->size >= 8 + trailer) {
		memcpy(&t, (const uint8_t *)h + h->size - trailer + 8, 8);
	}
	return t;
}

static void collect(struct perf_sampler *s, struct ring *r, uint64_t *seq)
{
	uint64_t head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = r->meta->data_tail;
	size_t mask = r->size - 1;
	int wrapped = 0;
	while (tail + sizeof(struct perf_event_header) <= head) {
		const struct perf_event_header *h =
			(const struct perf_event_header *)(r->data + (tail & mask));
		size_t size = h->size;
		if (size < sizeof(*h) || tail + size > head)
			break;
		size_t off = tail & mask;
		if (off + size > r->size) {
			if (wrapped)
				break; /* deliver the rest next round */
			size_t first = r->size - off;
			memcpy(r->scratch, r->data + off, first);
			memcpy(r->scratch + first, r->data, size - first);
			h = (const struct perf_event_header *)r->scratch;
			wrapped = 1;
		}
		struct entry e = {record_time(s, h), (*seq)++, h};
		CS_VEC_PUSH(s->entries, e);
		tail += size;
	}
	r->tail = tail;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void deliver_sample(struct perf_sampler *s, const struct perf_event_header *h,
			   const struct cs_sampler_ops *ops, void *ctx)
{
	struct rec r = {(const uint8_t *)(h + 1), (const uint8_t *)h + h->size, 0};
	struct cs_sample_rec sr;
	memset(&sr, 0, sizeof(sr));
	sr.weight = 1;
	sr.ip = rec_u64(&r);
	uint64_t pt = rec_u64(&r);
	sr.pid = (uint32_t)pt;
	sr.tid = (uint32_t)(pt >> 32);
	sr.time = rec_u64(&r);
	if (s->o.wall)
		sr.offcpu = cs_map64_get(&s->switch_ids, rec_u64(&r)) != NULL;
	sr.cpu = (uint32_t)rec_u64(&r);
	sr.in_kernel = (h->misc & PERF_RECORD_MISC_CPUMODE_MASK) == PERF_RECORD_MISC_KERNEL;
	if (s->o.kernel) {
		uint64_t nr = rec_u64(&r);
		if (nr > (uint64_t)(r.end - r.p) / 8) {
			r.bad = 1;
		} else {
			size_t k = 0;
			for (uint64_t i = 0; i < nr; i++) {
				uint64_t ip = rec_u64(&r);
				if (ip >= (uint64_t)PERF_CONTEXT_MAX)
					continue; /* context marker */
				if (k < MAX_KCHAIN)
					s->kchain[k++] = ip;
			}
			sr.kchain = s->kchain;
			sr.kchain_len = k;
		}
	}
	uint64_t abi = rec_u64(&r);
	if (abi != PERF_SAMPLE_REGS_ABI_NONE) {
		uint64_t p[PREG_COUNT];
		for (int i = 0; i < PREG_COUNT; i++)
			p[i] = rec_u64(&r);
		/* perf's register order -> DWARF x86-64 numbering */
		static const uint8_t dwarf[CS_SAMPLE_NREGS] = {
			PREG_AX, PREG_DX,  PREG_CX,  PREG_BX,  PREG_SI,	 PREG_DI,
			PREG_BP, PREG_SP,  PREG_R8,  PREG_R9,  PREG_R10, PREG_R11,
			PREG_R12, PREG_R13, PREG_R14, PREG_R15, PREG_IP};
		for (int i = 0; i < CS_SAMPLE_NREGS; i++)
			sr.regs[i] = p[dwarf[i]];
		sr.user_regs = abi == PERF_SAMPLE_REGS_ABI_64;
	}
	uint64_t size = rec_u64(&r);
	if (size && !r.bad) {
		if (size > (uint64_t)(r.end - r.p) - 8) {
			r.bad = 1;
		} else {
			const uint8_t *data = r.p;
			r.p += size;
			uint64_t dyn = rec_u64(&r);
			sr.stack = data;
			sr.stack_len = dyn < size ? dyn : size;
		}
	}
	if (r.bad) {
		if (ops->lost)
			ops->lost(ctx, 1);
		return;
	}
	if (ops->sample)
		ops->sample(ctx, &sr);
}

static void deliver(struct perf_sampler *s, const struct perf_event_header *h,
		    const struct cs_sampler_ops *ops, void *ctx)
{
	const uint8_t *p = (const uint8_t *)(h + 1);
	size_t n = h->size - sizeof(*h);
	uint64_t t = record_time(s, h);
	switch (h->type) {
	case PERF_RECORD_SAMPLE:
		deliver_sample(s, h, ops, ctx);
		break;
	case PERF_RECORD_MMAP2: {
		if (n < 64 || !ops->mmap)
			break;
		struct cs_mmap_rec m;
		uint32_t u32[2];
		memcpy(u32, p, 8);
		m.pid = u32[0];
		m.tid = u32[1];
		memcpy(&m.start, p + 8, 8);
		memcpy(&m.len, p + 16, 8);
		memcpy(&m.pgoff, p + 24, 8);
		memcpy(&m.maj, p + 32, 4);
		memcpy(&m.min, p + 36, 4);
		memcpy(&m.ino, p + 40, 8);
		if (h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID)
			m.maj = m.min = 0, m.ino = 0;
		memcpy(&m.prot, p + 56, 4);
		memcpy(&m.flags, p + 60, 4);
		m.filename = (const char *)p + 64;
		if (!memchr(m.filename, 0, n - 64))
			break;
		m.time = t;
		ops->mmap(ctx, &m);
		break;
	}
	case PERF_RECORD_COMM: {
		if (n < 9 || !ops->comm)
			break;
		uint32_t u32[2];
		memcpy(u32, p, 8);
		const char *comm = (const char *)p + 8;
		if (!memchr(comm, 0, n - 8))
			break;
		ops->comm(ctx, u32[0], u32[1], comm, !!(h->misc & PERF_RECORD_MISC_COMM_EXEC), t);
		break;
	}
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT: {
		if (n < 24)
			break;
		uint32_t u32[4];
		uint64_t time;
		memcpy(u32, p, 16);
		memcpy(&time, p + 16, 8);
		if (h->type == PERF_RECORD_FORK && ops->fork)
			ops->fork(ctx, u32[0], u32[1], u32[2], u32[3], time);
		else if (h->type == PERF_RECORD_EXIT && ops->exit)
			ops->exit(ctx, u32[0], u32[1], u32[2], u32[3], time);
		break;
	}
	case PERF_RECORD_SWITCH: {
		if (!ops->ctxsw || n < 8)
			break;
		uint32_t u32[2];
		memcpy(u32, p, 8); /* the sample_id trailer: the thread switched */
		ops->ctxsw(ctx, u32[0], u32[1], t, !!(h->misc & PERF_RECORD_MISC_SWITCH_OUT),
			   !!(h->misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT));
		break;
	}
	case PERF_RECORD_LOST: {
		if (n < 16 || !ops->lost)
			break;
		uint64_t lost;
		memcpy(&lost, p + 8, 8);
		ops->lost(ctx, lost);
		break;
	}
	default:
		break;
	}
}

static int perf_poll(void *b, int timeout_ms, const struct cs_sampler_ops *ops, void *ctx)
{
	struct perf_sampler *s = b;
	struct pollfd pfd[256];
	int n = 0;
	for (int i = 0; i < s->ncpu && n < 256; i++) {
		if (s->rings[i].fd < 0)
			continue;
		pfd[n].fd = s->rings[i].fd;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		n++;
	}
	if (timeout_ms != 0 && n) {
		int r = poll(pfd, (nfds_t)n, timeout_ms);
		if (r < 0 && errno != EINTR)
			return cs_error("poll on perf events failed: %s", strerror(errno));
	}
	s->entries.n = 0;
	uint64_t seq = 0;
	for (int i = 0; i < s->ncpu; i++)
		if (s->rings[i].fd >= 0)
			collect(s, &s->rings[i], &seq);
	if (s->entries.n > 1)
		qsort(s->entries.v, s->entries.n, sizeof(*s->entries.v), entry_cmp);
	for (size_t i = 0; i < s->entries.n; i++)
		deliver(s, s->entries.v[i].h, ops, ctx);
	for (int i = 0; i < s->ncpu; i++) {
		struct ring *r = &s->rings[i];
		if (r->fd >= 0)
			__atomic_store_n(&r->meta->data_tail, r->tail, __ATOMIC_RELEASE);
	}
	return (int)s->entries.n;
}

static void perf_info(const void *b, struct cs_sampler_info *info)
{
	const struct perf_sampler *s = b;
	memset(info, 0, sizeof(*info));
	info->name = "perf";
	info->kernel = s->o.kernel;
	info->hz = s->o.hz;
	info->offcpu_stacks = s->o.wall && !s->switch_nostack;
}

const struct cs_sampler_backend cs_perf_backend = {
	.name = "perf",
	.open = perf_open,
	.close = perf_close,
	.threads = perf_threads,
	.poll = perf_poll,
	.disable = perf_disable,
	.info = perf_info,
	.waitpid = NULL,
};
