/* hooks.c - the replacement allocation functions the GOT slots point at.
 *
 * Every hook first checks that tracking is active and that this thread is not already
 * inside the agent (the reentrancy guard, initial-exec TLS); otherwise it forwards to
 * the real function untouched. Allocations are recorded after the real call returned,
 * frees are removed from the table before the real call (so another thread cannot
 * receive the same address and record it before we remove the old entry).
 *
 * Built with -fexceptions: a throwing operator new unwinds through these frames, and
 * the guard is released by a cleanup.
 */
#include "agent/agent.h"
#include "agent/protocol.h"
#include "agent/table.h"

#include <dlfcn.h>
#include <errno.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <link.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#define HOOK __attribute__((visibility("hidden"), used))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

struct tstate {
	int guard;
	int seeded;
	int64_t countdown; /* sampled mode: bytes until the next sample point */
	uint64_t rng;
	uint32_t allocs, frees; /* sampled mode: events not yet added to the tables */
	/* The block this thread's last allocation event made, or 0 after another event:
	 * freed next, it was a temporary allocation. */
	uintptr_t last;
	/* This thread's share of the counters of the tables me_of (see table.h). */
	struct cs_tables *me_of;
	struct cs_tables_thread *me;
};
static __thread struct tstate ts __attribute__((tls_model("initial-exec")));

struct cs_agent_state cs_state;

void cs_guard_enter(void)
{
	ts.guard++;
}

void cs_guard_leave(void)
{
	ts.guard--;
}

static inline int tracking(void)
{
	return likely(__atomic_load_n(&cs_state.active, __ATOMIC_RELAXED)) && !ts.guard;
}

static void guard_cleanup(int *unused)
{
	ts.guard = 0;
}
/* Hold the guard to the end of the enclosing block, also when an exception leaves it. */
#define GUARD_SCOPE                                                                        \
	int cs_guard_ __attribute__((cleanup(guard_cleanup), unused)) = 0;                 \
	ts.guard = 1

static uint64_t coarse_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* ---- sampling ---- */

static uint64_t next_rand(void)
{
	uint64_t x = ts.rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	ts.rng = x;
	return x * 0x2545F4914F6CDD1Dull;
}

/* Bytes to the next sample point of a Poisson process with mean sample_bytes. */
static int64_t draw(void)
{
	double u = (double)((next_rand() >> 11) + 1) * 0x1.0p-53; /* (0, 1] */
	double d = -log(u) * (double)cs_state.sample_bytes;
	return d >= 0x1p62 ? (int64_t)1 << 62 : (int64_t)d + 1;
}

static void flush_counts(void)
{
	cs_tables_count(cs_state.tables, ts.allocs, ts.frees);
	ts.allocs = ts.frees = 0;
}

/* Exact mode: always. Sampled mode: whether a sample point falls inside these bytes.
 * The per-thread counts of unsampled events are handed over at the next sample. */
static inline int want(size_t n)
{
	if (!cs_state.sampled)
		return 1;
	if (unlikely(!ts.seeded)) {
		ts.seeded = 1;
		ts.rng = ((uint64_t)syscall(SYS_gettid) << 32) ^ coarse_ns() ^ (uintptr_t)&ts;
		ts.rng |= 1;
		ts.countdown = draw();
	}
	int64_t s = n > ((uint64_t)1 << 62) ? (int64_t)1 << 62 : (int64_t)n;
	ts.countdown -= s;
	if (likely(ts.countdown > 0)) {
		ts.allocs++;
		ts.last = 0;
		return 0;
	}
	/* Memoryless: the distance past this block to the next point is a fresh draw. */
	ts.countdown = draw();
	flush_counts();
	return n != 0;
}

/* Sampled mode's allocation fast path: count this block's bytes down; 1 when a
 * sample point falls inside it (then want() decides, as for every other allocation
 * function). Otherwise the allocation is only counted. A thread's first allocation
 * comes here with countdown 0 and goes to want(), which seeds its countdown. */
static inline int sample_due(size_t n)
{
	int64_t s = n > ((uint64_t)1 << 62) ? (int64_t)1 << 62 : (int64_t)n;
	if (likely((ts.countdown -= s) > 0)) {
		ts.allocs++;
		ts.last = 0;
		return 0;
	}
	return 1;
}

/* ---- recording ---- */

/* This thread's share of t's counters (made on its first event in t). */
static inline struct cs_tables_thread *me_in(struct cs_tables *t)
{
	if (unlikely(ts.me_of != t)) {
		ts.me = cs_tables_thread_new(t);
		ts.me_of = t;
	}
	return ts.me;
}

static __attribute__((noinline)) void record(void *p, size_t n)
{
	uint64_t buf[CS_AGENT_MAX_DEPTH + 8];
	int max = (int)cs_state.max_depth;
	int got = unw_backtrace((void **)buf, max + 8);
	int k = 0;
	while (k < got && buf[k] >= cs_state.self_lo && buf[k] < cs_state.self_hi)
		k++; /* frames inside the agent */
	uint32_t depth = (uint32_t)(got - k);
	int truncated = 0;
	if (depth > (uint32_t)max) {
		depth = (uint32_t)max;
		truncated = 1;
	}
	struct cs_tables *t = cs_state.tables;
	uint32_t site = cs_tables_site(t, buf + k, depth, truncated);
	if (site == CS_SITE_NONE) {
		cs_tables_lost(t, 1);
		return;
	}
	struct cs_block b = {.size = n, .time_ns = coarse_ns(), .site = site};
	cs_tables_insert(t, me_in(t), (uintptr_t)p, &b);
}

static inline void track(void *p, size_t n)
{
	if (p && want(n)) {
		int g = ts.guard;
		ts.guard = 1;
		record(p, n);
		ts.guard = g;
		ts.last = (uintptr_t)p;
	}
}

/* Forget p if it is live (a free); returns 1 and its record if it was. A free right
 * after p's own allocation, in this thread, makes p a temporary allocation. */
static inline int untrack(void *p, struct cs_block *old)
{
	if (cs_state.sampled && !cs_filter_maybe_live(cs_state.filter, (uintptr_t)p)) {
		ts.frees++;
		ts.last = 0;
		return 0;
	}
	unsigned fl = CS_REMOVE_FREE | (ts.last == (uintptr_t)p ? CS_REMOVE_TEMPORARY : 0);
	struct cs_tables *t = cs_state.tables;
	int found = cs_tables_remove(t, me_in(t), (uintptr_t)p, old, fl);
	if (found || cs_state.sampled)
		ts.last = 0; /* a block allocated before tracking began is no event here */
	return found;
}

/* ---- the real functions ---- */

typedef void *(*fn_sz)(size_t);
typedef void *(*fn_sz_sz)(size_t, size_t);
typedef void *(*fn_sz_ptr)(size_t, const void *);
typedef void *(*fn_sz_sz_ptr)(size_t, size_t, const void *);
typedef void *(*fn_realloc)(void *, size_t);
typedef void *(*fn_reallocarray)(void *, size_t, size_t);
typedef int (*fn_pm)(void **, size_t, size_t);
typedef void (*fn_p)(void *);
typedef void (*fn_p_sz)(void *, size_t);
typedef void (*fn_p_sz_sz)(void *, size_t, size_t);
typedef void (*fn_p_ptr)(void *, const void *);
typedef void (*fn_p_sz_ptr)(void *, size_t, const void *);
typedef void *(*fn_dlopen)(const char *, int);
typedef void *(*fn_dlmopen)(Lmid_t, const char *, int);
typedef void (*fn_exit)(int);

static void *r__exit, *r__Exit;
static void *r_malloc, *r_calloc, *r_realloc, *r_reallocarray, *r_free, *r_posix_memalign,
	*r_aligned_alloc, *r_memalign, *r_valloc, *r_pvalloc, *r_dlopen, *r_dlmopen;
static void *r_nw, *r_na, *r_nw_nt, *r_na_nt, *r_nw_al, *r_na_al, *r_nw_al_nt, *r_na_al_nt;
static void *r_dl, *r_da, *r_dl_sz, *r_da_sz, *r_dl_al, *r_da_al, *r_dl_sz_al, *r_da_sz_al,
	*r_dl_nt, *r_da_nt, *r_dl_al_nt, *r_da_al_nt;

/* ---- C allocation functions ---- */

HOOK void *cs_h_malloc(size_t n)
{
	void *p = ((fn_sz)r_malloc)(n);
	if (cs_state.sampled) {
		/* the guard first: bytes an operator new already counted are not counted
		 * again when it calls malloc */
		if (likely(!ts.guard) && sample_due(n) && tracking()) {
			ts.countdown += (int64_t)n; /* want() takes the block into account */
			track(p, n);
		}
	} else if (tracking()) {
		track(p, n);
	}
	return p;
}

HOOK void *cs_h_calloc(size_t n, size_t m)
{
	void *p = ((fn_sz_sz)r_calloc)(n, m);
	if (tracking())
		track(p, n * m); /* calloc failed (NULL) on overflow */
	return p;
}

HOOK int cs_h_posix_memalign(void **out, size_t align, size_t n)
{
	int rc = ((fn_pm)r_posix_memalign)(out, align, n);
	if (!rc && tracking())
		track(*out, n);
	return rc;
}

HOOK void *cs_h_aligned_alloc(size_t align, size_t n)
{
	void *p = ((fn_sz_sz)r_aligned_alloc)(align, n);
	if (tracking())
		track(p, n);
	return p;
}

HOOK void *cs_h_memalign(size_t align, size_t n)
{
	void *p = ((fn_sz_sz)r_memalign)(align, n);
	if (tracking())
		track(p, n);
	return p;
}

HOOK void *cs_h_valloc(size_t n)
{
	void *p = ((fn_sz)r_valloc)(n);
	if (tracking())
		track(p, n);
	return p;
}

HOOK void *cs_h_pvalloc(size_t n)
{
	void *p = ((fn_sz)r_pvalloc)(n);
	if (tracking())
		track(p, n);
	return p;
}

HOOK void cs_h_free(void *p)
{
	if (p) {
		if (cs_state.sampled) {
			/* almost no freed block was sampled: one filter load decides */
			if (likely(!cs_filter_maybe_live(cs_state.filter, (uintptr_t)p))) {
				ts.frees++;
				ts.last = 0;
			} else if (tracking()) {
				untrack(p, NULL);
			}
		} else if (tracking()) {
			untrack(p, NULL);
		}
	}
	((fn_p)r_free)(p);
}

/* realloc(NULL, n) allocates; realloc(p, 0) frees p and returns NULL in glibc (an
 * allocator that returns a block instead gets that block tracked); a failed realloc
 * leaves p live, so its record is put back. */
static void *realloc_common(void *p, size_t n, size_t m, int array)
{
	size_t size = n;
	if (array && __builtin_mul_overflow(n, m, &size))
		size = (size_t)-1;
	struct cs_block old;
	int had = p ? untrack(p, &old) : 0;
	void *q;
	if (array) {
		/* glibc's reallocarray calls realloc through its own (hooked) GOT: that inner
		 * call must pass through, so the block is recorded once */
		int g = ts.guard;
		ts.guard = 1;
		q = ((fn_reallocarray)r_reallocarray)(p, n, m);
		ts.guard = g;
	} else {
		q = ((fn_realloc)r_realloc)(p, n);
	}
	if (!q) {
		if (had && size) /* failed: p is still live */
			cs_tables_restore(cs_state.tables, me_in(cs_state.tables), (uintptr_t)p,
					  &old);
		return NULL;
	}
	track(q, size);
	return q;
}

HOOK void *cs_h_realloc(void *p, size_t n)
{
	if (!tracking())
		return ((fn_realloc)r_realloc)(p, n);
	return realloc_common(p, n, 0, 0);
}

HOOK void *cs_h_reallocarray(void *p, size_t n, size_t m)
{
	if (!tracking())
		return ((fn_reallocarray)r_reallocarray)(p, n, m);
	return realloc_common(p, n, m, 1);
}

/* ---- C++ operators ----
 * The real operators call malloc/free through libstdc++'s own (hooked) GOT: the guard
 * makes those inner calls pass through, so each block is recorded once, with the
 * caller of operator new. */

#define NEW_HOOK(name, real, type, params, args, size)                                     \
	HOOK void *name params                                                             \
	{                                                                                  \
		if (!tracking())                                                           \
			return ((type)real)args;                                           \
		GUARD_SCOPE;                                                               \
		void *p = ((type)real)args;                                                \
		track(p, size);                                                            \
		return p;                                                                  \
	}

NEW_HOOK(cs_h_nw, r_nw, fn_sz, (size_t n), (n), n)
NEW_HOOK(cs_h_na, r_na, fn_sz, (size_t n), (n), n)
NEW_HOOK(cs_h_nw_nt, r_nw_nt, fn_sz_ptr, (size_t n, const void *nt), (n, nt), n)
NEW_HOOK(cs_h_na_nt, r_na_nt, fn_sz_ptr, (size_t n, const void *nt), (n, nt), n)
NEW_HOOK(cs_h_nw_al, r_nw_al, fn_sz_sz, (size_t n, size_t al), (n, al), n)
NEW_HOOK(cs_h_na_al, r_na_al, fn_sz_sz, (size_t n, size_t al), (n, al), n)
NEW_HOOK(cs_h_nw_al_nt, r_nw_al_nt, fn_sz_sz_ptr, (size_t n, size_t al, const void *nt),
	 (n, al, nt), n)
NEW_HOOK(cs_h_na_al_nt, r_na_al_nt, fn_sz_sz_ptr, (size_t n, size_t al, const void *nt),
	 (n, al, nt), n)

#define DELETE_HOOK(name, real, type, params, args)                                        \
	HOOK void name params                                                              \
	{                                                                                  \
		if (!p || !tracking()) {                                                   \
			((type)real)args;                                                  \
			return;                                                            \
		}                                                                          \
		untrack(p, NULL);                                                          \
		GUARD_SCOPE;                                                               \
		((type)real)args;                                                          \
	}

DELETE_HOOK(cs_h_dl, r_dl, fn_p, (void *p), (p))
DELETE_HOOK(cs_h_da, r_da, fn_p, (void *p), (p))
DELETE_HOOK(cs_h_dl_sz, r_dl_sz, fn_p_sz, (void *p, size_t n), (p, n))
DELETE_HOOK(cs_h_da_sz, r_da_sz, fn_p_sz, (void *p, size_t n), (p, n))
DELETE_HOOK(cs_h_dl_al, r_dl_al, fn_p_sz, (void *p, size_t al), (p, al))
DELETE_HOOK(cs_h_da_al, r_da_al, fn_p_sz, (void *p, size_t al), (p, al))
DELETE_HOOK(cs_h_dl_sz_al, r_dl_sz_al, fn_p_sz_sz, (void *p, size_t n, size_t al), (p, n, al))
DELETE_HOOK(cs_h_da_sz_al, r_da_sz_al, fn_p_sz_sz, (void *p, size_t n, size_t al), (p, n, al))
DELETE_HOOK(cs_h_dl_nt, r_dl_nt, fn_p_ptr, (void *p, const void *nt), (p, nt))
DELETE_HOOK(cs_h_da_nt, r_da_nt, fn_p_ptr, (void *p, const void *nt), (p, nt))
DELETE_HOOK(cs_h_dl_al_nt, r_dl_al_nt, fn_p_sz_ptr, (void *p, size_t al, const void *nt),
	    (p, al, nt))
DELETE_HOOK(cs_h_da_al_nt, r_da_al_nt, fn_p_sz_ptr, (void *p, size_t al, const void *nt),
	    (p, al, nt))

/* ---- dlopen: hook the libraries it brings ---- */

static void hook_new_modules(void)
{
	struct cs_got_stats st = {0, 0, 0};
	cs_guard_enter();
	cs_got_install(1, &st);
	cs_got_install(2, &st);
	cs_guard_leave();
	if (st.failed)
		cs_state.inexact = 1;
}

/* The real dlopen searches the DT_RUNPATH of the object that called it, which is now
 * the agent. For a bare name called from an object with a run path, search that
 * object's path list ourselves (dlinfo RTLD_DI_SERINFO, $ORIGIN already expanded) and
 * open the first file found there by its full path. */
static void *dlopen_as(const char *file, int flags, const void *caller)
{
	fn_dlopen real = (fn_dlopen)r_dlopen;
	if (!file || strchr(file, '/'))
		return real(file, flags);
	Dl_info info;
	struct link_map *lm = NULL;
	if (!dladdr1(caller, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm || !lm->l_ld)
		return real(file, flags);
	int has_path = 0;
	for (const ElfW(Dyn) *d = lm->l_ld; d->d_tag != DT_NULL; d++)
		if (d->d_tag == DT_RUNPATH || d->d_tag == DT_RPATH)
			has_path = 1;
	if (!has_path)
		return real(file, flags);
	void *h = real(file, flags | RTLD_NOLOAD); /* already loaded: by name */
	if (h)
		return h;
	Dl_serinfo size;
	if (dlinfo(lm, RTLD_DI_SERINFOSIZE, &size) || size.dls_size > 4096)
		return real(file, flags);
	char sibuf[4096] __attribute__((aligned(16)));
	Dl_serinfo *si = (Dl_serinfo *)sibuf;
	memcpy(si, &size, sizeof(size));
	if (dlinfo(lm, RTLD_DI_SERINFOSIZE, si) || dlinfo(lm, RTLD_DI_SERINFO, si))
		return real(file, flags);
	size_t flen = strlen(file);
	for (unsigned i = 0; i < si->dls_cnt; i++) {
		const char *dir = si->dls_serpath[i].dls_name;
		size_t dlen = strlen(dir);
		char path[1024];
		if (!dlen || dlen + flen + 2 > sizeof(path))
			continue;
		memcpy(path, dir, dlen);
		path[dlen] = '/';
		memcpy(path + dlen + 1, file, flen + 1);
		if (access(path, F_OK) == 0 && (h = real(path, flags)))
			return h;
	}
	return real(file, flags);
}

HOOK void *cs_h_dlopen(const char *file, int flags)
{
	if (!tracking())
		return ((fn_dlopen)r_dlopen)(file, flags);
	void *h = dlopen_as(file, flags, __builtin_return_address(0));
	if (h && tracking())
		hook_new_modules();
	return h;
}

HOOK void *cs_h_dlmopen(Lmid_t lmid, const char *file, int flags)
{
	void *h = ((fn_dlmopen)r_dlmopen)(lmid, file, flags);
	if (h && lmid == LM_ID_BASE && tracking())
		hook_new_modules();
	return h;
}

/* ---- _exit: the process ends without its exit handlers ---- */

/* A forked child that ends with _exit (as most do), or a shell: its final snapshot is
 * sent first, as exit() would have it sent. */
HOOK void cs_h__exit(int status)
{
	cs_agent_ending();
	((fn_exit)r__exit)(status);
	__builtin_unreachable();
}

HOOK void cs_h__Exit(int status)
{
	cs_agent_ending();
	((fn_exit)r__Exit)(status);
	__builtin_unreachable();
}

/* ---- the table ---- */

#define H(name, fn, real, phase) {name, (void *)fn, &real, phase}
struct cs_hook cs_hooks[] = {
	H("_Exit", cs_h__Exit, r__Exit, 1),
	H("_ZdaPv", cs_h_da, r_da, 1),
	H("_ZdaPvRKSt9nothrow_t", cs_h_da_nt, r_da_nt, 1),
	H("_ZdaPvSt11align_val_t", cs_h_da_al, r_da_al, 1),
	H("_ZdaPvSt11align_val_tRKSt9nothrow_t", cs_h_da_al_nt, r_da_al_nt, 1),
	H("_ZdaPvm", cs_h_da_sz, r_da_sz, 1),
	H("_ZdaPvmSt11align_val_t", cs_h_da_sz_al, r_da_sz_al, 1),
	H("_ZdlPv", cs_h_dl, r_dl, 1),
	H("_ZdlPvRKSt9nothrow_t", cs_h_dl_nt, r_dl_nt, 1),
	H("_ZdlPvSt11align_val_t", cs_h_dl_al, r_dl_al, 1),
	H("_ZdlPvSt11align_val_tRKSt9nothrow_t", cs_h_dl_al_nt, r_dl_al_nt, 1),
	H("_ZdlPvm", cs_h_dl_sz, r_dl_sz, 1),
	H("_ZdlPvmSt11align_val_t", cs_h_dl_sz_al, r_dl_sz_al, 1),
	H("_Znam", cs_h_na, r_na, 2),
	H("_ZnamRKSt9nothrow_t", cs_h_na_nt, r_na_nt, 2),
	H("_ZnamSt11align_val_t", cs_h_na_al, r_na_al, 2),
	H("_ZnamSt11align_val_tRKSt9nothrow_t", cs_h_na_al_nt, r_na_al_nt, 2),
	H("_Znwm", cs_h_nw, r_nw, 2),
	H("_ZnwmRKSt9nothrow_t", cs_h_nw_nt, r_nw_nt, 2),
	H("_ZnwmSt11align_val_t", cs_h_nw_al, r_nw_al, 2),
	H("_ZnwmSt11align_val_tRKSt9nothrow_t", cs_h_nw_al_nt, r_nw_al_nt, 2),
	H("_exit", cs_h__exit, r__exit, 1),
	H("aligned_alloc", cs_h_aligned_alloc, r_aligned_alloc, 2),
	H("calloc", cs_h_calloc, r_calloc, 2),
	H("dlmopen", cs_h_dlmopen, r_dlmopen, 1),
	H("dlopen", cs_h_dlopen, r_dlopen, 1),
	H("free", cs_h_free, r_free, 1),
	H("malloc", cs_h_malloc, r_malloc, 2),
	H("memalign", cs_h_memalign, r_memalign, 2),
	H("posix_memalign", cs_h_posix_memalign, r_posix_memalign, 2),
	H("pvalloc", cs_h_pvalloc, r_pvalloc, 2),
	H("realloc", cs_h_realloc, r_realloc, 1),
	H("reallocarray", cs_h_reallocarray, r_reallocarray, 1),
	H("valloc", cs_h_valloc, r_valloc, 2),
};
const size_t cs_nhooks = sizeof(cs_hooks) / sizeof(cs_hooks[0]);

void cs_hooks_resolve(void)
{
	for (size_t i = 0; i < cs_nhooks; i++) {
		if (__atomic_load_n(cs_hooks[i].real, __ATOMIC_ACQUIRE))
			continue;
		int in_exe = 0;
		void *p = cs_find_definition(cs_hooks[i].name, &in_exe);
		if (!p || p == cs_hooks[i].hook)
			continue;
		if (in_exe && cs_hooks[i].hook == (void *)cs_h_malloc)
			cs_state.exe_allocator = 1;
		__atomic_store_n(cs_hooks[i].real, p, __ATOMIC_RELEASE);
	}
}

void cs_unwind_init(void)
{
	/* The first unw_backtrace of a thread sets up its frame cache. */
	void *buf[4];
	unw_backtrace(buf, 4);
}
