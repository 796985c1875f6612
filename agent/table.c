/* table.c - sites and live blocks for the allocation-tracking agent (see table.h). */
#include "agent/table.h"
#include "agent/protocol.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>

#define CACHE_LINE 64
#define SITE_CHUNK (4u << 20)	/* site records are carved from 4 MiB mappings */
#define FILTER_BITS CS_FILTER_BITS
#define SHARD_MIN_CAP 128	/* entries in a shard's first table (one 4 KiB page) */

struct entry {
	uint64_t ptr; /* 0: empty */
	uint64_t size;
	uint64_t time_ns;
	uint32_t site;
	uint32_t pad;
};

struct shard {
	int lock;
	uint32_t pad;
	struct entry *e;
	uint64_t cap; /* power of two, 0 before the first insert */
	uint64_t count;
	uint64_t allocs, frees, untracked_frees;
} __attribute__((aligned(CACHE_LINE)));

struct site {
	uint64_t hash;
	uint32_t depth;
	uint32_t truncated;
	uint64_t addrs[];
};

/* Sampled mode: counts are kept in fixed point, a block's weight times W_ONE. */
#define W_ONE 256

/* One thread's share of one site's counters, written by that thread alone (relaxed
 * stores, no locked instruction) and summed over the threads by whoever reads. */
struct part {
	int64_t cur;	 /* outstanding bytes (negative: it freed others' blocks) */
	int64_t at_peak; /* what cur was at the heap's last peak, if gen is the heap's */
	uint64_t gen;
	uint64_t allocs, alloc_bytes, temporary; /* counts in W_ONE units when sampled */
};
#define PART_BITS 8 /* sites per chunk of parts: 12 KiB */

struct cs_tables_thread {
	struct cs_tables_thread *next; /* every thread's, newest first */
	size_t self_size;
	int64_t cur; /* the heap's outstanding bytes while this is the only thread */
	int folded;  /* cur was added to the shared counter (several threads) */
	struct part *chunk[]; /* max_sites >> PART_BITS (+1), mapped on first use */
};

/* The heap's outstanding bytes and their peak. While one thread allocates, its own
 * counter is the heap's (plain stores); once a second thread comes, every thread adds
 * its counter to the shared one at its next event and moves the shared one from then
 * on (one locked instruction per event). */
struct heap {
	int64_t cur; /* shared, once several threads allocate */
	uint64_t peak, peak_ns, gen;
	int several;
} __attribute__((aligned(CACHE_LINE)));

struct cs_tables {
	struct shard shards[CS_TABLE_SHARDS];

	/* sites */
	uint32_t max_sites;
	uint32_t nsites;     /* published with release after the site is complete */
	uint64_t index_mask; /* index has index_mask + 1 slots of (id + 1), 0 = empty */
	uint32_t *index;
	struct site **by_id;
	int site_lock;
	char *chunk;
	size_t chunk_used;

	uint8_t *filter; /* NULL unless built with filter */
	uint64_t period; /* sampled mode's mean bytes between samples, or 0 */

	uint64_t ext_allocs, ext_frees, lost; /* relaxed atomics */
	size_t self_size;
	struct cs_tables_thread *threads; /* pushed with release */
	struct heap heap;
};

/* ---- small helpers ---- */

static void *map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void lock(int *l)
{
	for (unsigned spins = 0;; spins++) {
		if (!__atomic_load_n(l, __ATOMIC_RELAXED) && !__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
			return;
		if (spins < 64)
			__builtin_ia32_pause();
		else
			sched_yield(); /* the holder may be preempted: do not burn its core */
	}
}

static void unlock(int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static inline uint64_t ptr_hash(uint64_t p)
{
	return cs_ptr_hash(p);
}

static inline struct shard *shard_of(struct cs_tables *t, uint64_t h)
{
	return &t->shards[h >> 56];
}

static inline uint64_t home_of(uint64_t h, uint64_t mask)
{
	return (h >> 8) & mask;
}

static inline uint8_t *filter_slot(const struct cs_tables *t, uint64_t h)
{
	return &t->filter[(h >> 20) & ((1u << FILTER_BITS) - 1)];
}

/* ---- creation ---- */

struct cs_tables *cs_tables_new(uint32_t max_sites, uint64_t sample_bytes)
{
	int filter = sample_bytes != 0;
	if (max_sites < 16)
		max_sites = 16;
	uint64_t slots = 1;
	while (slots < (uint64_t)max_sites * 2)
		slots <<= 1;
	size_t size = sizeof(struct cs_tables);
	struct cs_tables *t = map(size);
	if (!t)
		return NULL;
	t->self_size = size;
	t->period = sample_bytes;
	t->max_sites = max_sites;
	t->index_mask = slots - 1;
	t->index = map(slots * sizeof(uint32_t));
	t->by_id = map((size_t)max_sites * sizeof(struct site *));
	if (filter)
		t->filter = map(1u << FILTER_BITS);
	if (!t->index || !t->by_id || (filter && !t->filter)) {
		cs_tables_destroy(t);
		return NULL;
	}
	return t;
}

void cs_tables_destroy(struct cs_tables *t)
{
	if (!t)
		return;
	for (int i = 0; i < CS_TABLE_SHARDS; i++)
		if (t->shards[i].e)
			munmap(t->shards[i].e, t->shards[i].cap * sizeof(struct entry));
	/* Site chunks are not tracked individually; tests create few tables. */
	if (t->index)
		munmap(t->index, (t->index_mask + 1) * sizeof(uint32_t));
	if (t->by_id)
		munmap(t->by_id, (size_t)t->max_sites * sizeof(struct site *));
	if (t->filter)
		munmap(t->filter, 1u << FILTER_BITS);
	munmap(t, t->self_size);
}

/* ---- sites ---- */

static uint64_t stack_hash(const uint64_t *a, uint32_t depth, int truncated)
{
	/* Independent multiplies (they pipeline), each term tied to its position. */
	uint64_t h1 = 0x243F6A8885A308D3ull ^ depth, h2 = (uint64_t)truncated;
	uint32_t i = 0;
	for (; i + 1 < depth; i += 2) {
		h1 += (a[i] ^ (i * 0x9E3779B97F4A7C15ull)) * 0xff51afd7ed558ccdull;
		h2 += (a[i + 1] ^ (i * 0xC2B2AE3D27D4EB4Full)) * 0xc4ceb9fe1a85ec53ull;
	}
	if (i < depth)
		h1 += (a[i] ^ 0x165667B19E3779F9ull) * 0xff51afd7ed558ccdull;
	uint64_t h = h1 ^ (h2 + (h1 << 17) + (h1 >> 41));
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h | 1; /* never 0 */
}

static int site_equal(const struct site *s, uint64_t h, const uint64_t *a, uint32_t depth,
		      int truncated)
{
	return s->hash == h && s->depth == depth && s->truncated == (uint32_t)truncated &&
	       memcmp(s->addrs, a, depth * sizeof(uint64_t)) == 0;
}

/* Probe for the stack; returns its id, or CS_SITE_NONE with *empty the first empty slot. */
static uint32_t site_probe(struct cs_tables *t, uint64_t h, const uint64_t *a, uint32_t depth,
			   int truncated, uint64_t *empty)
{
	for (uint64_t i = h & t->index_mask;; i = (i + 1) & t->index_mask) {
		uint32_t v = __atomic_load_n(&t->index[i], __ATOMIC_ACQUIRE);
		if (!v) {
			*empty = i;
			return CS_SITE_NONE;
		}
		if (site_equal(t->by_id[v - 1], h, a, depth, truncated))
			return v - 1;
	}
}

uint32_t cs_tables_site(struct cs_tables *t, const uint64_t *addrs, uint32_t depth,
			int truncated)
{
	uint64_t h = stack_hash(addrs, depth, truncated), slot;
	uint32_t id = site_probe(t, h, addrs, depth, truncated, &slot);
	if (id != CS_SITE_NONE)
		return id;

	lock(&t->site_lock);
	id = site_probe(t, h, addrs, depth, truncated, &slot); /* someone may have won */
	if (id != CS_SITE_NONE)
		goto out;
	/* The index stays at most half full so probes stay short and always end. */
	if (t->nsites >= t->max_sites)
		goto out;
	size_t need = (sizeof(struct site) + depth * sizeof(uint64_t) + 15) & ~(size_t)15;
	if (!t->chunk || t->chunk_used + need > SITE_CHUNK) {
		char *c = map(SITE_CHUNK);
		if (!c)
			goto out;
		t->chunk = c;
		t->chunk_used = 0;
	}
	struct site *s = (struct site *)(t->chunk + t->chunk_used);
	t->chunk_used += need;
	s->hash = h;
	s->depth = depth;
	s->truncated = truncated ? 1 : 0;
	memcpy(s->addrs, addrs, depth * sizeof(uint64_t));
	id = t->nsites;
	t->by_id[id] = s;
	__atomic_store_n(&t->nsites, id + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&t->index[slot], id + 1, __ATOMIC_RELEASE);
out:
	unlock(&t->site_lock);
	return id;
}

/* ---- accounting: each thread's share of the sites, and the heap ---- */

struct cs_tables_thread *cs_tables_thread_new(struct cs_tables *t)
{
	size_t n = ((size_t)t->max_sites >> PART_BITS) + 1;
	size_t size = sizeof(struct cs_tables_thread) + n * sizeof(struct part *);
	struct cs_tables_thread *me = map(size);
	if (!me) { /* its events move the shared counter: keep every thread's there */
		__atomic_store_n(&t->heap.several, 1, __ATOMIC_RELEASE);
		return NULL;
	}
	me->self_size = size;
	me->next = __atomic_load_n(&t->threads, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&t->threads, &me->next, me, 1, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED))
		;
	if (me->next)
		__atomic_store_n(&t->heap.several, 1, __ATOMIC_RELEASE);
	return me;
}

/* This thread's part of site, or NULL if its chunk cannot be mapped. */
static struct part *part_of(struct cs_tables_thread *me, uint32_t site)
{
	struct part **c = &me->chunk[site >> PART_BITS];
	if (!*c) {
		struct part *p = map(sizeof(struct part) << PART_BITS);
		if (!p)
			return NULL;
		__atomic_store_n(c, p, __ATOMIC_RELEASE); /* readers see it whole */
	}
	return &(*c)[site & ((1u << PART_BITS) - 1)];
}

/* Only the owner writes a part: a load and a store, never a locked instruction. */
static inline void bump(uint64_t *v, uint64_t d)
{
	__atomic_store_n(v, *v + d, __ATOMIC_RELAXED);
}

/* What a block counts for: its weight (W_ONE units in sampled mode, else 1) and its
 * bytes, both scaled in sampled mode. */
static inline void block_weight(const struct cs_tables *t, uint64_t size, uint64_t *count,
				int64_t *bytes)
{
	if (!t->period) {
		*count = 1;
		*bytes = (int64_t)size;
		return;
	}
	double w = size ? 1.0 / -expm1(-(double)size / (double)t->period) : 1.0;
	*count = (uint64_t)llround(w * W_ONE);
	*bytes = (int64_t)llround(w * (double)size);
}

static void new_peak(struct cs_tables *t, uint64_t cur, uint64_t time_ns)
{
	__atomic_store_n(&t->heap.peak, cur, __ATOMIC_RELAXED);
	__atomic_store_n(&t->heap.peak_ns, time_ns, __ATOMIC_RELAXED);
	__atomic_store_n(&t->heap.gen, t->heap.gen + 1, __ATOMIC_RELEASE);
}

static void heap_move(struct cs_tables *t, struct cs_tables_thread *me, int64_t delta,
		      uint64_t time_ns)
{
	if (me && !__atomic_load_n(&t->heap.several, __ATOMIC_ACQUIRE)) {
		/* the only thread: its counter is the heap's */
		int64_t cur = me->cur + delta;
		__atomic_store_n(&me->cur, cur, __ATOMIC_RELAXED);
		if (delta > 0 && cur > 0 && (uint64_t)cur > t->heap.peak)
			new_peak(t, (uint64_t)cur, time_ns);
		return;
	}
	if (me && !me->folded) { /* the first event since a second thread came */
		delta += __atomic_load_n(&me->cur, __ATOMIC_RELAXED);
		__atomic_store_n(&me->cur, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&me->folded, 1, __ATOMIC_RELEASE);
	}
	int64_t cur = __atomic_add_fetch(&t->heap.cur, delta, __ATOMIC_RELAXED);
	if (cur <= 0)
		return;
	uint64_t peak = __atomic_load_n(&t->heap.peak, __ATOMIC_RELAXED);
	while ((uint64_t)cur > peak) {
		if (__atomic_compare_exchange_n(&t->heap.peak, &peak, (uint64_t)cur, 1,
						__ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
			__atomic_store_n(&t->heap.peak_ns, time_ns, __ATOMIC_RELAXED);
			__atomic_add_fetch(&t->heap.gen, 1, __ATOMIC_RELEASE);
			break;
		}
	}
}

/* A block became live (sign 1; fresh: a new allocation, counted as one) or stopped
 * being (-1). The site's part moves first: if the heap peaked since this thread last
 * changed it, what it held then is kept (it had not changed since the peak). */
static void account(struct cs_tables *t, struct cs_tables_thread *me, uint32_t site,
		    uint64_t size, uint64_t time_ns, int sign, int fresh, int temporary)
{
	uint64_t count;
	int64_t bytes;
	block_weight(t, size, &count, &bytes);
	struct part *p = me && site != CS_SITE_NONE ? part_of(me, site) : NULL;
	if (p) {
		uint64_t g = __atomic_load_n(&t->heap.gen, __ATOMIC_ACQUIRE);
		if (p->gen != g) {
			__atomic_store_n(&p->at_peak, p->cur, __ATOMIC_RELAXED);
			__atomic_store_n(&p->gen, g, __ATOMIC_RELEASE);
		}
		__atomic_store_n(&p->cur, p->cur + sign * bytes, __ATOMIC_RELAXED);
		if (fresh) {
			bump(&p->allocs, count);
			bump(&p->alloc_bytes, (uint64_t)bytes);
		}
		if (temporary)
			bump(&p->temporary, count);
	} else if (fresh || temporary) {
		cs_tables_lost(t, 1); /* its counts are missing */
	}
	heap_move(t, me, sign * bytes, time_ns);
}

/* Every thread's parts of sites [0, n) summed into sum[] (allocs, alloc_bytes,
 * temporary in their units; cur holds the share of the heap's peak generation g). */
static void sum_parts(struct cs_tables *t, uint32_t n, uint64_t g, struct part *sum)
{
	for (struct cs_tables_thread *me = __atomic_load_n(&t->threads, __ATOMIC_ACQUIRE); me;
	     me = me->next)
		for (uint32_t c = 0; c <= (n ? (n - 1) >> PART_BITS : 0) && n; c++) {
			struct part *ch = __atomic_load_n(&me->chunk[c], __ATOMIC_ACQUIRE);
			if (!ch)
				continue;
			uint32_t base = c << PART_BITS;
			for (uint32_t k = 0; k < (1u << PART_BITS) && base + k < n; k++) {
				const struct part *p = &ch[k];
				struct part *s = &sum[base + k];
				s->allocs += __atomic_load_n(&p->allocs, __ATOMIC_RELAXED);
				s->alloc_bytes += __atomic_load_n(&p->alloc_bytes, __ATOMIC_RELAXED);
				s->temporary += __atomic_load_n(&p->temporary, __ATOMIC_RELAXED);
				/* unchanged since the last peak: it holds now what it held then */
				s->at_peak += __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE) == g
						      ? __atomic_load_n(&p->at_peak, __ATOMIC_RELAXED)
						      : __atomic_load_n(&p->cur, __ATOMIC_RELAXED);
			}
		}
}

/* ---- live blocks ---- */

/* Place e into a table known to have room and not to contain e->ptr. */
static void place(struct entry *tab, uint64_t mask, const struct entry *e)
{
	uint64_t i = home_of(ptr_hash(e->ptr), mask);
	while (tab[i].ptr)
		i = (i + 1) & mask;
	tab[i] = *e;
}

static int grow(struct shard *s)
{
	uint64_t ncap = s->cap ? s->cap * 2 : SHARD_MIN_CAP;
	struct entry *n = map(ncap * sizeof(struct entry));
	if (!n)
		return -1;
	for (uint64_t i = 0; i < s->cap; i++)
		if (s->e[i].ptr)
			place(n, ncap - 1, &s->e[i]);
	if (s->e)
		munmap(s->e, s->cap * sizeof(struct entry));
	s->e = n;
	s->cap = ncap;
	return 0;
}

static void filter_add(struct cs_tables *t, uint64_t h)
{
	uint8_t *f = filter_slot(t, h), v = __atomic_load_n(f, __ATOMIC_RELAXED);
	/* A saturated counter stays at 255: it can only cause extra lookups. */
	while (v != 255 && !__atomic_compare_exchange_n(f, &v, v + 1, 1, __ATOMIC_RELAXED,
							__ATOMIC_RELAXED))
		;
}

static void filter_del(struct cs_tables *t, uint64_t h)
{
	uint8_t *f = filter_slot(t, h), v = __atomic_load_n(f, __ATOMIC_RELAXED);
	while (v != 255 && v != 0 && !__atomic_compare_exchange_n(f, &v, v - 1, 1, __ATOMIC_RELAXED,
								  __ATOMIC_RELAXED))
		;
}

static int insert(struct cs_tables *t, struct cs_tables_thread *me, uintptr_t ptr,
		  const struct cs_block *b, int fresh)
{
	uint64_t h = ptr_hash(ptr);
	struct shard *s = shard_of(t, h);
	int rc = 0;
	struct cs_block stale = {0, 0, CS_SITE_NONE};
	lock(&s->lock);
	if (fresh)
		s->allocs++;
	/* Grow at half load; if that fails keep filling to 7/8 before dropping. */
	if ((s->count + 1) * 2 > s->cap && grow(s) && (s->count + 1) * 8 > s->cap * 7) {
		rc = -1;
		goto out;
	}
	uint64_t mask = s->cap - 1;
	uint64_t i = home_of(h, mask);
	while (s->e[i].ptr && s->e[i].ptr != ptr)
		i = (i + 1) & mask;
	if (!s->e[i].ptr) {
		s->count++;
		if (t->filter)
			filter_add(t, h);
	} else {
		/* still recorded: its free never passed a hook (a call inside the C library,
		 * say); it is no longer outstanding */
		stale.size = s->e[i].size;
		stale.site = s->e[i].site;
	}
	s->e[i].ptr = ptr;
	s->e[i].size = b->size;
	s->e[i].time_ns = b->time_ns;
	s->e[i].site = b->site;
out:
	unlock(&s->lock);
	if (rc) {
		cs_tables_lost(t, 1);
		return rc;
	}
	if (stale.site != CS_SITE_NONE)
		account(t, me, stale.site, stale.size, 0, -1, 0, 0);
	account(t, me, b->site, b->size, b->time_ns, 1, fresh, 0);
	return rc;
}

int cs_tables_insert(struct cs_tables *t, struct cs_tables_thread *me, uintptr_t ptr,
		     const struct cs_block *b)
{
	return insert(t, me, ptr, b, 1);
}

int cs_tables_restore(struct cs_tables *t, struct cs_tables_thread *me, uintptr_t ptr,
		      const struct cs_block *b)
{
	return insert(t, me, ptr, b, 0);
}

int cs_tables_remove(struct cs_tables *t, struct cs_tables_thread *me, uintptr_t ptr,
		     struct cs_block *out, unsigned flags)
{
	uint64_t h = ptr_hash(ptr);
	struct shard *s = shard_of(t, h);
	int found = 0, count = !!(flags & CS_REMOVE_FREE);
	struct cs_block gone = {0, 0, CS_SITE_NONE};
	lock(&s->lock);
	if (count)
		s->frees++;
	if (!s->cap)
		goto out;
	uint64_t mask = s->cap - 1;
	uint64_t i = home_of(h, mask);
	while (s->e[i].ptr && s->e[i].ptr != ptr)
		i = (i + 1) & mask;
	if (!s->e[i].ptr)
		goto out;
	found = 1;
	gone.size = s->e[i].size;
	gone.time_ns = s->e[i].time_ns;
	gone.site = s->e[i].site;
	if (out)
		*out = gone;
	/* Backward-shift deletion: pull later entries of the probe run into the hole. */
	for (uint64_t j = i;;) {
		j = (j + 1) & mask;
		if (!s->e[j].ptr)
			break;
		uint64_t k = home_of(ptr_hash(s->e[j].ptr), mask);
		/* Entry j may move to i if its home k is not cyclically in (i, j]. */
		int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
		if (stays)
			continue;
		s->e[i] = s->e[j];
		i = j;
	}
	s->e[i].ptr = 0;
	s->count--;
	if (t->filter)
		filter_del(t, h);
out:
	if (count && !found)
		s->untracked_frees++;
	unlock(&s->lock);
	if (found)
		account(t, me, gone.site, gone.size, 0, -1, 0,
			count && (flags & CS_REMOVE_TEMPORARY));
	return found;
}

const uint8_t *cs_tables_filter(const struct cs_tables *t)
{
	return t->filter;
}

int cs_tables_maybe_live(const struct cs_tables *t, uintptr_t ptr)
{
	return __atomic_load_n(filter_slot(t, ptr_hash(ptr)), __ATOMIC_RELAXED) != 0;
}

void cs_tables_count(struct cs_tables *t, uint64_t allocs, uint64_t frees)
{
	if (allocs)
		__atomic_fetch_add(&t->ext_allocs, allocs, __ATOMIC_RELAXED);
	if (frees)
		__atomic_fetch_add(&t->ext_frees, frees, __ATOMIC_RELAXED);
}

void cs_tables_lost(struct cs_tables *t, uint64_t n)
{
	__atomic_fetch_add(&t->lost, n, __ATOMIC_RELAXED);
}

void cs_tables_stats(struct cs_tables *t, struct cs_table_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < CS_TABLE_SHARDS; i++) {
		struct shard *s = &t->shards[i];
		lock(&s->lock);
		st->allocs += s->allocs;
		st->frees += s->frees;
		st->untracked_frees += s->untracked_frees;
		st->live_blocks += s->count;
		unlock(&s->lock);
	}
	st->allocs += __atomic_load_n(&t->ext_allocs, __ATOMIC_RELAXED);
	st->frees += __atomic_load_n(&t->ext_frees, __ATOMIC_RELAXED);
	st->lost = __atomic_load_n(&t->lost, __ATOMIC_RELAXED);
	st->sites = __atomic_load_n(&t->nsites, __ATOMIC_ACQUIRE);
}

static uint64_t count_of(const struct cs_tables *t, uint64_t units)
{
	return t->period ? (units + W_ONE / 2) / W_ONE : units;
}

/* The heap's own counters, and the sums (alloc_bytes, temporary) of sum[0, n). */
static void heap_of(struct cs_tables *t, const struct part *sum, uint32_t n,
		    struct cs_heap_counters *h)
{
	/* the shared counter, and what the threads have not added to it yet */
	int64_t cur = __atomic_load_n(&t->heap.cur, __ATOMIC_RELAXED);
	for (struct cs_tables_thread *me = __atomic_load_n(&t->threads, __ATOMIC_ACQUIRE); me;
	     me = me->next)
		if (!__atomic_load_n(&me->folded, __ATOMIC_ACQUIRE))
			cur += __atomic_load_n(&me->cur, __ATOMIC_RELAXED);
	h->heap_bytes = cur > 0 ? (uint64_t)cur : 0;
	h->peak_bytes = __atomic_load_n(&t->heap.peak, __ATOMIC_RELAXED);
	h->peak_ns = __atomic_load_n(&t->heap.peak_ns, __ATOMIC_RELAXED);
	uint64_t temporary = 0;
	h->alloc_bytes = 0;
	for (uint32_t i = 0; i < n; i++) {
		h->alloc_bytes += sum[i].alloc_bytes;
		temporary += sum[i].temporary;
	}
	h->temporary = count_of(t, temporary);
}

int cs_tables_heap(struct cs_tables *t, struct cs_heap_counters *h)
{
	uint32_t n = __atomic_load_n(&t->nsites, __ATOMIC_ACQUIRE);
	size_t size = ((size_t)n + 1) * sizeof(struct part);
	struct part *sum = map(size);
	if (!sum) {
		heap_of(t, NULL, 0, h);
		return -ENOMEM;
	}
	sum_parts(t, n, __atomic_load_n(&t->heap.gen, __ATOMIC_ACQUIRE), sum);
	heap_of(t, sum, n, h);
	munmap(sum, size);
	return 0;
}

/* ---- snapshot ---- */

struct agg {
	uint64_t bytes, blocks, oldest;
	double wbytes, wblocks;
};

int cs_tables_snapshot(struct cs_tables *t, const struct cs_snap_params *p, void **buf,
		       size_t *len)
{
	uint32_t n = __atomic_load_n(&t->nsites, __ATOMIC_ACQUIRE);
	size_t agg_size = ((size_t)n + 1) * sizeof(struct agg);
	size_t sum_size = ((size_t)n + 1) * sizeof(struct part);
	struct agg *agg = map(agg_size);
	struct part *sum = map(sum_size);
	if (!agg || !sum) {
		if (agg)
			munmap(agg, agg_size);
		if (sum)
			munmap(sum, sum_size);
		return -ENOMEM;
	}
	/* Read once: the generation the shares of the peak are taken at, and the parts. */
	sum_parts(t, n, __atomic_load_n(&t->heap.gen, __ATOMIC_ACQUIRE), sum);
	struct cs_snap_header hdr;
	memset(&hdr, 0, sizeof(hdr));
	double period = (double)p->sample_bytes;

	for (int i = 0; i < CS_TABLE_SHARDS; i++) {
		struct shard *s = &t->shards[i];
		lock(&s->lock);
		hdr.allocs += s->allocs;
		hdr.frees += s->frees;
		hdr.untracked_frees += s->untracked_frees;
		for (uint64_t j = 0; j < s->cap; j++) {
			const struct entry *e = &s->e[j];
			if (!e->ptr || e->site >= n)
				continue; /* sites born after the snapshot began wait for the next */
			struct agg *a = &agg[e->site];
			if (!a->blocks || e->time_ns < a->oldest)
				a->oldest = e->time_ns;
			a->blocks++;
			a->bytes += e->size;
			if (period > 0 && e->size) {
				double w = 1.0 / -expm1(-(double)e->size / period);
				a->wblocks += w;
				a->wbytes += w * (double)e->size;
			}
		}
		unlock(&s->lock);
	}

	size_t total = sizeof(hdr);
	uint32_t nout = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (agg[i].blocks || sum[i].allocs) {
			total += sizeof(struct cs_snap_site) + t->by_id[i]->depth * sizeof(uint64_t);
			nout++;
		}
	}
	char *out = map(total);
	if (!out) {
		munmap(agg, agg_size);
		munmap(sum, sum_size);
		return -ENOMEM;
	}
	hdr.time_ns = p->time_ns;
	hdr.nsites = nout;
	hdr.sample_bytes = p->sample_bytes;
	hdr.allocs += __atomic_load_n(&t->ext_allocs, __ATOMIC_RELAXED);
	hdr.frees += __atomic_load_n(&t->ext_frees, __ATOMIC_RELAXED);
	hdr.lost = __atomic_load_n(&t->lost, __ATOMIC_RELAXED);
	hdr.flags = p->extra_flags;
	heap_of(t, sum, n, &hdr.heap);
	if (hdr.lost)
		hdr.flags |= CS_SNAP_INEXACT;
	if (p->sample_bytes)
		hdr.flags |= CS_SNAP_SAMPLED;
	memcpy(out, &hdr, sizeof(hdr));

	char *w = out + sizeof(hdr);
	for (uint32_t i = 0; i < n; i++) {
		const struct agg *a = &agg[i];
		const struct site *s = t->by_id[i];
		if (!a->blocks && !sum[i].allocs)
			continue;
		struct cs_snap_site rec;
		memset(&rec, 0, sizeof(rec));
		rec.allocs = count_of(t, sum[i].allocs);
		rec.alloc_bytes = sum[i].alloc_bytes;
		rec.temporary = count_of(t, sum[i].temporary);
		rec.peak_bytes = sum[i].at_peak > 0 ? (uint64_t)sum[i].at_peak : 0;
		if (period > 0) {
			rec.bytes = (uint64_t)llround(a->wbytes);
			rec.blocks = (uint64_t)llround(a->wblocks);
		} else {
			rec.bytes = a->bytes;
			rec.blocks = a->blocks;
		}
		if (a->blocks)
			rec.oldest_ns = a->oldest < p->start_ns ? p->start_ns : a->oldest;
		rec.depth = s->depth;
		rec.truncated = s->truncated;
		memcpy(w, &rec, sizeof(rec));
		w += sizeof(rec);
		memcpy(w, s->addrs, s->depth * sizeof(uint64_t));
		w += s->depth * sizeof(uint64_t);
	}
	munmap(agg, agg_size);
	munmap(sum, sum_size);
	*buf = out;
	*len = total;
	return 0;
}

void cs_snap_buf_free(void *buf, size_t len)
{
	if (buf)
		munmap(buf, len);
}
