/* table.h - the agent's aggregation tables: interned call stacks ("sites") and the
 * live-block table, both in mmap'ed memory (never from the hooked allocator), safe to
 * use from many threads at once, the heap counters, and the SNAPSHOT payload built
 * from them.
 *
 * Sites: a lock-free open-addressing index over an append-only array; a site is never
 * removed, so readers need no lock and a site id stays valid for the table's life.
 * New sites are created under one spinlock (rare: only for a stack never seen).
 *
 * Counters per site: allocations, their bytes, temporary allocations, outstanding
 * bytes and what the site held at the heap's peak. Each thread keeps its own share of
 * them (struct cs_tables_thread), written with plain stores, and readers add the
 * shares up: the hot path never takes a lock or bounces a cache line for them.
 *
 * The heap's peak: every allocation and free moves one outstanding-bytes counter (the
 * one locked instruction per event); when it passes the peak, the peak, its time and a
 * peak generation move on. A share of the peak is kept lazily: the first change to a
 * thread's share of a site after a new peak first saves what it held (it had not
 * changed since the peak), so a peak costs nothing for the shares that do not change
 * afterwards. In one thread this is exact; while several threads allocate at the
 * instant of a peak, a share may be off by their blocks in flight.
 *
 * Live blocks: pointer -> (site, size, allocation time), in CS_TABLE_SHARDS shards,
 * each an open-addressing table (linear probing, backward-shift deletion, no
 * tombstones) under its own spinlock, held only for one insert, one removal, or one
 * shard's scan at snapshot time.
 *
 * Nothing here allocates with malloc, calls back into the allocator, or takes a lock
 * that is held across a call out of this file, so it may run inside allocation hooks.
 */
#ifndef CS_AGENT_TABLE_H
#define CS_AGENT_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "agent/protocol.h"

#define CS_TABLE_SHARDS 256
#define CS_SITE_NONE UINT32_MAX

struct cs_tables;

/* One live block as stored. */
struct cs_block {
	uint64_t size;
	uint64_t time_ns;
	uint32_t site;
};

/* Create empty tables able to hold up to max_sites distinct stacks. sample_bytes != 0
 * is sampled mode: each recorded block stands for 1 / (1 - exp(-size / sample_bytes))
 * blocks in the counters and snapshots, and the small counting filter
 * cs_tables_maybe_live() reads is kept (almost no freed pointer is in the table then).
 * Returns NULL if the memory cannot be mapped. The tables are never unmapped by the
 * agent (a hook may still be running on another thread); cs_tables_destroy exists for
 * tests. */
struct cs_tables *cs_tables_new(uint32_t max_sites, uint64_t sample_bytes);
void cs_tables_destroy(struct cs_tables *t);

/* Intern the stack addrs[0..depth) (truncated: 1 if it was cut at max depth). Returns
 * its site id, or CS_SITE_NONE if the site table is full or cannot grow (the caller
 * counts the event as lost). */
uint32_t cs_tables_site(struct cs_tables *t, const uint64_t *addrs, uint32_t depth,
			int truncated);

/* The calling thread's share of t's counters: made (mapped, never unmapped) and
 * registered once per thread and table; only that thread may pass it below. NULL if
 * the memory cannot be mapped (the thread's counts are then lost, and counted so). */
struct cs_tables_thread;
struct cs_tables_thread *cs_tables_thread_new(struct cs_tables *t);

/* Record a live block (ptr != 0; a pointer already present is replaced: its free was
 * never seen). Returns 0, or -1 if the shard is full and cannot grow: the block is then
 * counted in `lost`. Counts one allocation (in its shard, its site and the heap). */
int cs_tables_insert(struct cs_tables *t, struct cs_tables_thread *me, uintptr_t ptr,
		     const struct cs_block *b);
/* Put back a block that cs_tables_remove took out (a realloc that failed): live again,
 * but not counted as an allocation. 0 or -1 as cs_tables_insert. */
int cs_tables_restore(struct cs_tables *t, struct cs_tables_thread *me, uintptr_t ptr,
		      const struct cs_block *b);

enum cs_remove_flags {
	/* Count the event as a free (and, if ptr is unknown, as an untracked free). */
	CS_REMOVE_FREE = 1u << 0,
	/* The freeing thread's last allocation event allocated ptr: if ptr is live, it
	 * was a temporary allocation. */
	CS_REMOVE_TEMPORARY = 1u << 1,
};

/* Remove ptr. Returns 1 and fills *out (if not NULL) when it was live, else 0.
 * flags: enum cs_remove_flags; without CS_REMOVE_FREE it is bookkeeping that is not a
 * free (a test's check). */
int cs_tables_remove(struct cs_tables *t, struct cs_tables_thread *me, uintptr_t ptr,
		     struct cs_block *out, unsigned flags);

/* Sampled mode only: 0 if ptr is certainly not in the table (one load, no lock). */
int cs_tables_maybe_live(const struct cs_tables *t, uintptr_t ptr);

/* The same check, inlined into the free hooks (sampled mode's hot path): the filter is
 * 1 << CS_FILTER_BITS counters indexed by bits of cs_ptr_hash(ptr). */
#define CS_FILTER_BITS 16 /* 64 KiB of 8-bit counters: stays in L2 */
static inline uint64_t cs_ptr_hash(uint64_t p)
{
	/* malloc pointers are 16-byte aligned: drop those bits, then spread. */
	uint64_t h = (p >> 4) * 0x9E3779B97F4A7C15ull;
	return h ^ (h >> 29);
}
static inline int cs_filter_maybe_live(const uint8_t *filter, uintptr_t ptr)
{
	return __atomic_load_n(&filter[(cs_ptr_hash(ptr) >> 20) & ((1u << CS_FILTER_BITS) - 1)],
			       __ATOMIC_RELAXED) != 0;
}
/* The filter of t (NULL if t was made without one). */
const uint8_t *cs_tables_filter(const struct cs_tables *t);

/* Events that bypass the shards: allocations and frees seen but not sampled (sampled
 * mode), and events that could not be recorded. Relaxed atomic adds. */
void cs_tables_count(struct cs_tables *t, uint64_t allocs, uint64_t frees);
void cs_tables_lost(struct cs_tables *t, uint64_t n);

/* Totals, for tests and the snapshot header. */
struct cs_table_stats {
	uint64_t allocs, frees, untracked_frees, lost;
	uint64_t live_blocks;
	uint32_t sites;
};
void cs_tables_stats(struct cs_tables *t, struct cs_table_stats *st);

/* The heap counters now (no lock: each figure is read once; the sums add every
 * thread's shares). 0, or -ENOMEM when the sums could not be made (they are 0). */
int cs_tables_heap(struct cs_tables *t, struct cs_heap_counters *h);

/* Parameters of a snapshot. */
struct cs_snap_params {
	uint64_t time_ns;      /* CLOCK_MONOTONIC now */
	uint64_t start_ns;     /* tracking start: allocation times are clamped to it */
	uint64_t sample_bytes; /* as given to cs_tables_new (0: exact figures) */
	uint32_t extra_flags;  /* OR-ed into the header flags */
};

/* Build a SNAPSHOT payload (struct cs_snap_header, then every site with an allocation)
 * in a fresh mmap'ed buffer: *buf, *len; release it with cs_snap_buf_free. Scans the
 * live blocks shard by shard, holding each shard's lock only for that shard. Sets
 * CS_SNAP_INEXACT when anything was lost, CS_SNAP_SAMPLED when sample_bytes != 0.
 * Returns 0 or -errno. */
int cs_tables_snapshot(struct cs_tables *t, const struct cs_snap_params *p, void **buf,
		       size_t *len);
void cs_snap_buf_free(void *buf, size_t len);

#endif
