/* heap.c - the heap side of the leak views: one view per process, sites merged by
 * their resolved frames, heaptrack's four costs, the report of every process, and the
 * profile a flamegraph of a cost is drawn from (what they print: heap_show.c). */
#include "heap.h"

#include <stdlib.h>
#include <string.h>

static const char *const cost_names[] = {"leaked", "allocations", "temporary", "peak"};

const char *cs_leak_cost_name(int cost)
{
	return cost >= 0 && (size_t)cost < CS_ARRAY_SIZE(cost_names) ? cost_names[cost] : NULL;
}

int cs_leak_cost_parse(const char *s)
{
	for (size_t i = 0; i < CS_ARRAY_SIZE(cost_names); i++)
		if (!strcmp(s, cost_names[i]))
			return (int)i;
	return -1;
}

uint64_t cs_heap_cost(const struct cs_leak_site *s, int cost)
{
	switch (cost) {
	case CS_COST_ALLOCATIONS:
		return s->allocs;
	case CS_COST_TEMPORARY:
		return s->temporary;
	case CS_COST_PEAK:
		return s->peak_bytes;
	default:
		return s->bytes;
	}
}

static int has_totals(const struct cs_leak_snapshot *s)
{
	return (s->flags & CS_LEAK_TOTALS) != 0;
}

/* ---- processes ---- */

static size_t nprocs(const struct cs_profile *p)
{
	return p->leak_procs.n ? p->leak_procs.n : 1;
}

/* Does snapshot s belong to process i? (A recording without processes has one.) */
static int belongs(const struct cs_profile *p, const struct cs_leak_snapshot *s, size_t i)
{
	return p->leak_procs.n ? s->process == i : i == 0;
}

static uint32_t proc_pid(const struct cs_profile *p, size_t i)
{
	return p->leak_procs.n ? p->leak_procs.v[i].pid : (uint32_t)p->meta.pid;
}

static size_t snapshots_of(const struct cs_profile *p, size_t i)
{
	size_t n = 0;
	for (size_t k = 0; k < p->leaks.n; k++)
		n += belongs(p, &p->leaks.v[k], i);
	return n;
}

/* The processes a request is about, in order, that have snapshots: pid's (0: all);
 * only the first of them when one is wanted. Returns the count (0: pid has none). */
size_t cs_heap_select(const struct cs_profile *p, int64_t pid, int one, size_t **out)
{
	size_t *v = cs_xmalloc(nprocs(p) * sizeof(*v)), n = 0;
	for (size_t i = 0; i < nprocs(p) && !(one && n); i++)
		if ((!pid || proc_pid(p, i) == (uint64_t)pid) && snapshots_of(p, i))
			v[n++] = i;
	*out = v;
	return n;
}

static int no_such_process(const struct cs_profile *p, int64_t pid)
{
	char list[256] = "";
	size_t len = 0;
	for (size_t i = 0; i < nprocs(p) && len < sizeof(list) - 16; i++)
		if (snapshots_of(p, i))
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%u",
						len ? ", " : "", proc_pid(p, i));
	return cs_error("--pid %lld: no leak snapshots of that process in this recording (it has "
			"some of: %s)",
			(long long)pid, list);
}

static int check_request(const struct cs_profile *p, int cost, int64_t pid)
{
	if (!p->leaks.n)
		return cs_error("this recording has no leak snapshots (record them with 'csampler "
				"leaks' or 'csampler record --leaks')");
	if (!cs_leak_cost_name(cost))
		return cs_error("unknown leak cost %d", cost);
	if (cost != CS_COST_LEAKED) {
		int any = 0;
		for (size_t k = 0; k < p->leaks.n; k++)
			any |= has_totals(&p->leaks.v[k]);
		if (!any)
			return cs_error(
			    "--cost %s: this recording has outstanding bytes only (it was "
			    "made by an older csampler); use --cost leaked",
			    cs_leak_cost_name(cost));
	}
	size_t *sel;
	size_t n = cs_heap_select(p, pid, 0, &sel);
	free(sel);
	return n || !pid ? 0 : no_such_process(p, pid);
}

/* ---- merging: stacks whose resolved frames are the same but for their addresses ---- */

struct frame_key {
	const struct cs_profile *p;
	const struct cs_frame *f;
};

static int frame_same(void *ctx, uint32_t idx)
{
	const struct frame_key *k = ctx;
	const struct cs_frame *a = &k->p->frames.v[idx], *b = k->f;
	return a->func == b->func && a->file == b->file && a->line == b->line &&
	       a->module == b->module && a->flags == b->flags;
}

/* For every stack node, the first node whose path from the root has the same frames
 * but for their addresses (parents come before their children). */
uint32_t *cs_heap_canonical(const struct cs_profile *p)
{
	uint32_t *cframe = cs_xmalloc((p->frames.n + 1) * sizeof(*cframe));
	struct cs_index fix;
	cs_index_init(&fix);
	for (size_t i = 0; i < p->frames.n; i++) {
		const struct cs_frame *f = &p->frames.v[i];
		uint64_t h = cs_hash_u64(((uint64_t)f->func << 32) ^ f->file);
		h = cs_hash_u64(h ^ ((uint64_t)f->line << 32) ^ f->module ^
				((uint64_t)f->flags << 58));
		struct frame_key k = {p, f};
		uint32_t c = cs_index_find(&fix, h, frame_same, &k);
		if (c == CS_INDEX_NONE) {
			c = (uint32_t)i;
			cs_index_insert(&fix, h, c);
		}
		cframe[i] = c;
	}
	cs_index_release(&fix);
	uint32_t *canon = cs_xmalloc((p->nodes.n + 1) * sizeof(*canon));
	struct cs_map64 nix;
	cs_map64_init(&nix);
	canon[0] = 0;
	for (size_t i = 1; i < p->nodes.n; i++) {
		const struct cs_node *nd = &p->nodes.v[i];
		uint64_t key = ((uint64_t)canon[nd->parent] << 32) | cframe[nd->frame];
		canon[i] = (uint32_t)*cs_map64_put(&nix, key, i, NULL);
	}
	cs_map64_release(&nix);
	free(cframe);
	return canon;
}

/* ---- views ---- */

/* One process of p as a profile of its own (see heap.h). Shares p's tables: never
 * release it with cs_profile_release, only with view_release. */
void cs_heap_view(struct cs_profile *v, const struct cs_profile *p, size_t proc,
		  const uint32_t *canon, int cost)
{
	*v = *p;
	memset(&v->leaks, 0, sizeof(v->leaks));
	memset(&v->leak_procs, 0, sizeof(v->leak_procs));
	memset(&v->heap, 0, sizeof(v->heap));
	for (size_t k = 0; k < p->leaks.n; k++) {
		const struct cs_leak_snapshot *s = &p->leaks.v[k];
		if (!belongs(p, s, proc))
			continue;
		struct cs_map64 ix; /* canonical stack -> its site in c */
		cs_map64_init(&ix);
		struct cs_leak_snapshot c = *s;
		c.process = 0;
		memset(&c.sites, 0, sizeof(c.sites));
		for (size_t i = 0; i < s->sites.n; i++) {
			const struct cs_leak_site *x = &s->sites.v[i];
			if (cost == CS_COST_LEAKED && !x->blocks)
				continue; /* nothing outstanding: not part of this view */
			int added;
			uint64_t *at = cs_map64_put(&ix, canon[x->stack], c.sites.n, &added);
			if (added) {
				struct cs_leak_site m = *x;
				m.stack = canon[x->stack];
				m.stacks = 1;
				CS_VEC_PUSH(c.sites, m);
				continue;
			}
			struct cs_leak_site *m = &c.sites.v[*at];
			m->bytes += x->bytes;
			m->blocks += x->blocks;
			m->oldest_age_ns = CS_MAX(m->oldest_age_ns, x->oldest_age_ns);
			m->allocs += x->allocs;
			m->alloc_bytes += x->alloc_bytes;
			m->temporary += x->temporary;
			m->peak_bytes += x->peak_bytes;
			m->stacks++;
		}
		cs_map64_release(&ix);
		CS_VEC_PUSH(v->leaks, c);
	}
	if (p->leak_procs.n) {
		const struct cs_leak_process *q = &p->leak_procs.v[proc];
		CS_VEC_PUSH(v->leak_procs, *q);
		v->meta.command = q->command;
		v->meta.pid = q->pid;
		for (size_t i = 0; i < p->heap.n; i++)
			if (p->heap.v[i].process == proc) {
				struct cs_heap_point h = p->heap.v[i];
				h.process = 0;
				CS_VEC_PUSH(v->heap, h);
			}
	}
	if (proc != 0)
		v->timeline.n = 0; /* the RSS timeline is the first process's */
}

void cs_heap_view_release(struct cs_profile *v)
{
	for (size_t i = 0; i < v->leaks.n; i++)
		CS_VEC_FREE(v->leaks.v[i].sites);
	CS_VEC_FREE(v->leaks);
	CS_VEC_FREE(v->leak_procs);
	CS_VEC_FREE(v->heap);
}

int cs_render_leaks(const struct cs_profile *p, const struct cs_leak_report_opts *o, FILE *out)
{
	if (check_request(p, o->cost, o->pid) < 0)
		return -1;
	size_t *sel;
	size_t n = cs_heap_select(p, o->pid, o->snapshot || o->diff_a, &sel);
	if (!n) { /* a recording whose only snapshots are of none of its processes */
		free(sel);
		return cs_error("this recording has no leak snapshots");
	}
	uint32_t *canon = cs_heap_canonical(p);
	int ret = 0;
	if (o->format == CS_FMT_JSON) {
		struct cs_profile v;
		cs_heap_view(&v, p, sel[0], canon, o->cost);
		struct cs_leak_report_opts first = *o;
		first.whole = n > 1 ? p : NULL; /* it lists the other processes */
		ret = cs_leak_render_process(&v, &first, out);
		cs_heap_view_release(&v);
	} else {
		for (size_t i = 0; i < n && ret == 0; i++) {
			if (n > 1)
				fprintf(out, "%s# ======== process %zu of %zu ========\n",
					i ? "\n" : "", i + 1, n);
			struct cs_profile v;
			cs_heap_view(&v, p, sel[i], canon, o->cost);
			ret = cs_leak_render_process(&v, o, out);
			cs_heap_view_release(&v);
		}
	}
	free(canon);
	free(sel);
	return ret;
}

/* ---- sorting ---- */

static int by_outstanding(const struct cs_leak_site *x, const struct cs_leak_site *y)
{
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->blocks != y->blocks)
		return x->blocks > y->blocks ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

#define BY(name, field)                                                                            \
	static int name(const void *a, const void *b)                                              \
	{                                                                                          \
		const struct cs_leak_site *x = a, *y = b;                                          \
		if (x->field != y->field)                                                          \
			return x->field > y->field ? -1 : 1;                                       \
		return by_outstanding(x, y);                                                       \
	}
BY(cmp_leaked, bytes)
BY(cmp_allocations, allocs)
BY(cmp_temporary, temporary)
BY(cmp_peak, peak_bytes)

void cs_heap_sort_sites(struct cs_leak_site *v, size_t n, int cost)
{
	static int (*const cmp[])(const void *, const void *) = {cmp_leaked, cmp_allocations,
								 cmp_temporary, cmp_peak};
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp[cost >= 0 && cost < 4 ? cost : 0]);
}

/* ---- a flamegraph of a cost ---- */

/* The name of a process for its root frame: its program's file name. */
static uint32_t proc_name(struct cs_profile *q, const struct cs_profile *p, size_t i)
{
	const char *cmd =
	    p->leak_procs.n ? cs_str(p, p->leak_procs.v[i].command) : cs_str(p, p->meta.command);
	size_t len = strcspn(cmd, " ");
	const char *slash = memrchr(cmd, '/', len);
	const char *base = slash ? slash + 1 : cmd;
	return cs_profile_str(q, base, len - (size_t)(base - cmd));
}

int cs_leak_profile(const struct cs_profile *p, const struct cs_leak_flame_opts *o,
		    struct cs_profile *q, int *several)
{
	if (check_request(p, o->cost, o->pid) < 0)
		return -1;
	size_t *sel;
	size_t n = cs_heap_select(p, o->pid, o->snapshot != 0, &sel);
	if (!n) {
		free(sel);
		return cs_error("this recording has no leak snapshots");
	}
	if (o->snapshot && (size_t)o->snapshot > snapshots_of(p, sel[0])) {
		int ret = cs_error("--snapshot %d: this recording has snapshots 1 to %zu of PID %u",
				   o->snapshot, snapshots_of(p, sel[0]), proc_pid(p, sel[0]));
		free(sel);
		return ret;
	}
	/* Interning the same tables in the same order gives the same indices. */
	for (size_t i = 1; i < p->strs.n; i++)
		cs_profile_str(q, cs_str(p, (uint32_t)i), cs_strlen(p, (uint32_t)i));
	for (size_t i = 0; i < p->modules.n; i++)
		cs_profile_module(q, &p->modules.v[i]);
	for (size_t i = 0; i < p->frames.n; i++)
		cs_profile_frame(q, &p->frames.v[i]);
	for (size_t i = 1; i < p->nodes.n; i++)
		cs_profile_node(q, p->nodes.v[i].parent, p->nodes.v[i].frame);
	q->meta = p->meta;
	*several = n > 1;
	for (size_t k = 0; k < n; k++) {
		const struct cs_leak_snapshot *s = NULL;
		size_t seen = 0;
		for (size_t j = 0; j < p->leaks.n; j++)
			if (belongs(p, &p->leaks.v[j], sel[k])) {
				s = &p->leaks.v[j];
				if (++seen == (size_t)o->snapshot)
					break;
			}
		uint32_t thread = CS_NONE;
		if (n > 1) {
			uint32_t name = proc_name(q, p, sel[k]), pid = proc_pid(p, sel[k]);
			thread = cs_profile_thread(q, pid, pid, name, name);
		}
		/* The figures come from a file: a snapshot whose costs add up past 64 bits
		 * is corrupt, and would draw nonsense. */
		uint64_t sum = 0;
		for (size_t i = 0; i < s->sites.n; i++) {
			uint64_t w = o->objects ? s->sites.v[i].blocks
					: cs_heap_cost(&s->sites.v[i], o->cost);
			if (w > UINT64_MAX - 1 - sum) {
				free(sel);
				return cs_error("a leak snapshot is corrupt: its %s costs add up to "
						"more than %llu",
						cs_leak_cost_name(o->cost),
						(unsigned long long)(UINT64_MAX - 1));
			}
			sum += w;
			if (w)
				cs_profile_add(q, s->sites.v[i].stack, thread, w);
		}
	}
	free(sel);
	q->stats.samples = cs_profile_total(q);
	if (!q->stats.samples)
		return cs_error("no call stack has a %s cost in %s", cs_leak_cost_name(o->cost),
				o->snapshot ? "that snapshot" : "the last snapshot");
	return 0;
}
