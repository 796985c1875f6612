/* heap.c - the heap side of the leak views: one view per process, sites merged by
 * their resolved frames, heaptrack's four costs, the heap's peak and totals, its
 * timeline next to RSS, and the profile a flamegraph of a cost is drawn from. */
#include "heap.h"

#include <stdlib.h>
#include <string.h>

#define TIMELINE_ROWS 12
#define SPARK_WIDTH   60

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

static uint64_t cost_of(const struct cs_leak_site *s, int cost)
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

/* "512 B", "1.5 KiB", "3.2 MiB", ... */
static const char *human(char *buf, size_t n, uint64_t bytes)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
	if (bytes < 1024) {
		snprintf(buf, n, "%llu B", (unsigned long long)bytes);
		return buf;
	}
	double v = (double)bytes / 1024;
	size_t u = 0;
	while (v >= 1024 && u + 1 < CS_ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, n, "%.1f %s", v, units[u]);
	return buf;
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
static size_t select_procs(const struct cs_profile *p, int64_t pid, int one, size_t **out)
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
	size_t n = select_procs(p, pid, 0, &sel);
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
static uint32_t *canonical_nodes(const struct cs_profile *p)
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
static void view_init(struct cs_profile *v, const struct cs_profile *p, size_t proc,
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

static void view_release(struct cs_profile *v)
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
	size_t n = select_procs(p, o->pid, o->snapshot || o->diff_a, &sel);
	if (!n) { /* a recording whose only snapshots are of none of its processes */
		free(sel);
		return cs_error("this recording has no leak snapshots");
	}
	uint32_t *canon = canonical_nodes(p);
	int ret = 0;
	if (o->format == CS_FMT_JSON) {
		struct cs_profile v;
		view_init(&v, p, sel[0], canon, o->cost);
		struct cs_leak_report_opts first = *o;
		first.whole = n > 1 ? p : NULL; /* it lists the other processes */
		ret = cs_leak_render_process(&v, &first, out);
		view_release(&v);
	} else {
		for (size_t i = 0; i < n && ret == 0; i++) {
			if (n > 1)
				fprintf(out, "%s# ======== process %zu of %zu ========\n",
					i ? "\n" : "", i + 1, n);
			struct cs_profile v;
			view_init(&v, p, sel[i], canon, o->cost);
			ret = cs_leak_render_process(&v, o, out);
			view_release(&v);
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

/* ---- text ---- */

/* Seconds the process was tracked up to snapshot s (0: unknown). */
static double tracked_for(const struct cs_profile *view, const struct cs_leak_snapshot *s)
{
	double start = view->leak_procs.n ? view->leak_procs.v[0].start_s : 0;
	return s->time_s > start ? s->time_s - start : 0;
}

static void text_rate(FILE *out, uint64_t n, double secs)
{
	if (secs > 0)
		fprintf(out, " (%.0f/s)", (double)n / secs);
}

void cs_heap_text_site(const struct cs_profile *view, const struct cs_leak_snapshot *s,
		       const struct cs_leak_site *site, size_t rank, int cost, FILE *out)
{
	uint64_t total = 0;
	for (size_t i = 0; i < s->sites.n; i++)
		total += cost_of(&s->sites.v[i], cost);
	double pct = total ? 100.0 * (double)cost_of(site, cost) / (double)total : 0.0;
	double secs = tracked_for(view, s);
	char a[32];
	switch (cost) {
	case CS_COST_ALLOCATIONS:
		fprintf(out, "%3zu. %llu allocation%s", rank, (unsigned long long)site->allocs,
			site->allocs == 1 ? "" : "s");
		text_rate(out, site->allocs, secs);
		fprintf(out, ", %.1f%%", pct);
		break;
	case CS_COST_TEMPORARY:
		fprintf(out, "%3zu. %llu temporary allocation%s, %.1f%% (%.1f%% of its %llu)", rank,
			(unsigned long long)site->temporary, site->temporary == 1 ? "" : "s", pct,
			site->allocs ? 100.0 * (double)site->temporary / (double)site->allocs : 0.0,
			(unsigned long long)site->allocs);
		break;
	case CS_COST_PEAK:
		fprintf(out, "%3zu. %llu bytes at the peak, %.1f%%", rank,
			(unsigned long long)site->peak_bytes, pct);
		break;
	default:
		fprintf(out, "%3zu. %llu bytes in %llu block%s, %.1f%%, oldest %.1f s old", rank,
			(unsigned long long)site->bytes, (unsigned long long)site->blocks,
			site->blocks == 1 ? "" : "s", pct, (double)site->oldest_age_ns / 1e9);
		break;
	}
	/* then what else is known, the cost left out */
	if (cost != CS_COST_LEAKED)
		fprintf(out, "; %llu bytes in %llu block%s outstanding",
			(unsigned long long)site->bytes, (unsigned long long)site->blocks,
			site->blocks == 1 ? "" : "s");
	if (has_totals(s)) {
		fputs("; ", out);
		if (cost != CS_COST_ALLOCATIONS) {
			fprintf(out, "%llu allocation%s", (unsigned long long)site->allocs,
				site->allocs == 1 ? "" : "s");
			text_rate(out, site->allocs, secs);
			fputs(", ", out);
		}
		if (cost != CS_COST_TEMPORARY)
			fprintf(out, "%llu temporary, ", (unsigned long long)site->temporary);
		if (cost != CS_COST_PEAK)
			fprintf(out, "%llu bytes at the peak, ",
				(unsigned long long)site->peak_bytes);
		fprintf(out, "%s allocated", human(a, sizeof(a), site->alloc_bytes));
	}
	if (site->stacks > 1)
		fprintf(out, " [%u call stacks]", site->stacks);
	fputc('\n', out);
}

static const struct cs_leak_snapshot *last_of(const struct cs_profile *view)
{
	return view->leaks.n ? &view->leaks.v[view->leaks.n - 1] : NULL;
}

static void text_process(const struct cs_profile *view, FILE *out)
{
	if (!view->leak_procs.n)
		return;
	const struct cs_leak_process *q = &view->leak_procs.v[0];
	fprintf(out, "# process %u", q->pid);
	if (q->ppid)
		fprintf(out, " (parent %u)", q->ppid);
	fprintf(out, ", tracked from %.1f s: ", q->start_s);
	if (q->flags & CS_LPROC_EXITED)
		fprintf(out, "exited at %.1f s\n", q->end_s);
	else if (q->flags & CS_LPROC_SIGNALED)
		fprintf(out, "killed by a signal at %.1f s\n", q->end_s);
	else if (q->flags & CS_LPROC_VANISHED)
		fprintf(out,
			"its session ended at %.1f s without a final snapshot (it exec'd "
			"another program, called _exit or was killed by SIGKILL): the last "
			"snapshot is not what it leaked\n",
			q->end_s);
	else
		fprintf(out, "it ran on after the recording\n");
}

/* One row of the timeline: RSS (0: none) and tracked bytes (has: 1 if known). */
struct row {
	uint64_t t_ms, rss, tracked;
	int has_rss, has_tracked;
};

/* The rows: every heap point, with the RSS of the same tick. */
static size_t timeline_rows(const struct cs_profile *view, struct row **out)
{
	struct row *v = cs_xcalloc(view->heap.n + 1, sizeof(*v));
	size_t j = 0;
	for (size_t i = 0; i < view->heap.n; i++) {
		const struct cs_heap_point *h = &view->heap.v[i];
		v[i].t_ms = h->t_ms;
		v[i].tracked = h->bytes;
		v[i].has_tracked = 1;
		while (j < view->timeline.n && view->timeline.v[j].t_ms < h->t_ms)
			j++;
		if (j < view->timeline.n && view->timeline.v[j].t_ms == h->t_ms) {
			v[i].rss = view->timeline.v[j].rss;
			v[i].has_rss = 1;
		}
	}
	*out = v;
	return view->heap.n;
}

static void spark(FILE *out, const char *label, const struct row *v, size_t n, int rss)
{
	static const char *const bars[] = {"\u2581", "\u2582", "\u2583", "\u2584",
					   "\u2585", "\u2586", "\u2587", "\u2588"};
	uint64_t max = 0;
	for (size_t i = 0; i < n; i++)
		max = CS_MAX(max, rss ? v[i].rss : v[i].tracked);
	size_t w = CS_MIN(n, (size_t)SPARK_WIDTH);
	fprintf(out, "# %-8s", label);
	for (size_t b = 0; b < w; b++) {
		uint64_t m = 0;
		for (size_t i = b * n / w; i < (b + 1) * n / w; i++)
			m = CS_MAX(m, rss ? v[i].rss : v[i].tracked);
		size_t k = max ? (size_t)((double)m * 7.0 / (double)max + 0.5) : 0;
		fputs(bars[k > 7 ? 7 : k], out);
	}
	char a[32];
	fprintf(out, "  (up to %s)\n", human(a, sizeof(a), max));
}

static void text_timeline(const struct cs_profile *view, FILE *out)
{
	struct row *v;
	size_t n = timeline_rows(view, &v);
	if (n < 2) {
		free(v);
		return;
	}
	int rss = 0;
	size_t top = 0;
	for (size_t i = 0; i < n; i++) {
		rss |= v[i].has_rss;
		if (v[i].tracked > v[top].tracked)
			top = i;
	}
	fprintf(out, "# timeline, once a second: tracked heap%s\n",
		rss ? " next to the process's resident memory (RSS)" : "");
	fprintf(out, "#   %8s  %10s%s\n", "time", "tracked", rss ? "         RSS" : "");
	size_t rows = CS_MIN(n, (size_t)TIMELINE_ROWS);
	for (size_t r = 0; r < rows; r++) {
		size_t i = rows > 1 ? r * (n - 1) / (rows - 1) : 0;
		/* the most tracked tick shows, in place of its nearest row */
		size_t next = r + 1 < rows ? (r + 1) * (n - 1) / (rows - 1) : n;
		if (top > i && top < next && top - i <= next - top)
			i = top;
		char a[32], b[32];
		fprintf(out, "#   %6.1f s  %10s", (double)v[i].t_ms / 1000,
			human(a, sizeof(a), v[i].tracked));
		if (rss)
			fprintf(out, "  %10s", v[i].has_rss ? human(b, sizeof(b), v[i].rss) : "-");
		fprintf(out, "%s\n", i == top ? "  <- most tracked" : "");
	}
	spark(out, "tracked", v, n, 0);
	if (rss)
		spark(out, "RSS", v, n, 1);
	free(v);
}

void cs_heap_text_summary(const struct cs_profile *view, const struct cs_leak_report_opts *o,
			  FILE *out)
{
	const struct cs_leak_snapshot *s = last_of(view);
	if (!s)
		return;
	text_process(view, out);
	if (has_totals(s) && !s->allocs) {
		fprintf(out, "# heap: nothing was allocated\n");
	} else if (has_totals(s)) {
		char a[32], b[32];
		fprintf(out, "# heap: peak %s (%llu bytes) at %.1f s; %llu allocations",
			human(a, sizeof(a), s->peak_bytes), (unsigned long long)s->peak_bytes,
			s->peak_time_s, (unsigned long long)s->allocs);
		text_rate(out, s->allocs, tracked_for(view, s));
		fprintf(out, ", %llu frees, %llu temporary (%.1f%%); %s allocated in all\n",
			(unsigned long long)s->frees, (unsigned long long)s->temporary,
			s->allocs ? 100.0 * (double)s->temporary / (double)s->allocs : 0.0,
			human(b, sizeof(b), s->alloc_bytes));
	}
	size_t stacks = 0;
	for (size_t i = 0; i < s->sites.n; i++)
		stacks += s->sites.v[i].stacks ? s->sites.v[i].stacks : 1;
	if (stacks > s->sites.n)
		fprintf(out,
			"# %zu call stacks are %zu sites: stacks whose frames differ only in "
			"their addresses are merged\n",
			stacks, s->sites.n);
	if (o->cost != CS_COST_LEAKED)
		fprintf(out, "# stacks are sorted by %s\n", cs_leak_cost_name(o->cost));
	text_timeline(view, out);
}

/* ---- JSON ---- */

void cs_heap_json_site(const struct cs_profile *view, const struct cs_leak_snapshot *s,
		       const struct cs_leak_site *site, FILE *out)
{
	if (has_totals(s)) {
		double secs = tracked_for(view, s);
		fprintf(
		    out,
		    ", \"allocations\": %llu, \"allocations_per_s\": %.1f, \"temporary\": %llu, "
		    "\"peak_bytes\": %llu, \"allocated_bytes\": %llu",
		    (unsigned long long)site->allocs, secs > 0 ? (double)site->allocs / secs : 0.0,
		    (unsigned long long)site->temporary, (unsigned long long)site->peak_bytes,
		    (unsigned long long)site->alloc_bytes);
	}
	if (site->stacks)
		fprintf(out, ", \"stacks\": %u", site->stacks);
}

static void json_process(const struct cs_profile *view, FILE *out)
{
	if (!view->leak_procs.n)
		return;
	const struct cs_leak_process *q = &view->leak_procs.v[0];
	const char *end = q->flags & CS_LPROC_EXITED	 ? "exited"
			  : q->flags & CS_LPROC_SIGNALED ? "signaled"
			  : q->flags & CS_LPROC_VANISHED ? "vanished"
							 : "running";
	fprintf(out,
		", \"process\": {\"pid\": %u, \"ppid\": %u, \"start\": %.3f, \"end\": %.3f, "
		"\"ended\": \"%s\"}",
		q->pid, q->ppid, q->start_s, q->end_s, end);
}

static void json_heap(const struct cs_profile *view, FILE *out)
{
	const struct cs_leak_snapshot *s = last_of(view);
	if (!s || !has_totals(s))
		return;
	double secs = tracked_for(view, s);
	fprintf(out,
		", \"heap\": {\"peak_bytes\": %llu, \"peak_time\": %.3f, \"allocations\": %llu, "
		"\"allocations_per_s\": %.1f, \"frees\": %llu, \"temporary\": %llu, "
		"\"allocated_bytes\": %llu}",
		(unsigned long long)s->peak_bytes, s->peak_time_s, (unsigned long long)s->allocs,
		secs > 0 ? (double)s->allocs / secs : 0.0, (unsigned long long)s->frees,
		(unsigned long long)s->temporary, (unsigned long long)s->alloc_bytes);
}

static void json_timeline(const struct cs_profile *view, FILE *out)
{
	struct row *v;
	size_t n = timeline_rows(view, &v);
	if (!n) { /* none recorded (an older recording) */
		free(v);
		return;
	}
	int rss = 0;
	for (size_t i = 0; i < n; i++)
		rss |= v[i].has_rss;
	fprintf(out, ", \"timeline\": {\"time\": [");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%.3f", i ? ", " : "", (double)v[i].t_ms / 1000);
	fprintf(out, "], \"tracked_bytes\": [");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%llu", i ? ", " : "", (unsigned long long)v[i].tracked);
	fprintf(out, "], \"allocations\": [");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%llu", i ? ", " : "", (unsigned long long)view->heap.v[i].allocs);
	fprintf(out, "]");
	if (rss) {
		fprintf(out, ", \"rss_bytes\": [");
		for (size_t i = 0; i < n; i++) {
			if (v[i].has_rss)
				fprintf(out, "%s%llu", i ? ", " : "", (unsigned long long)v[i].rss);
			else
				fprintf(out, "%snull", i ? ", " : "");
		}
		fprintf(out, "]");
	}
	fprintf(out, "}");
	free(v);
}

void cs_heap_json_extra(const struct cs_profile *view, const struct cs_leak_report_opts *o,
			FILE *out)
{
	json_process(view, out);
	json_heap(view, out);
	json_timeline(view, out);
	if (!o->whole)
		return;
	const struct cs_profile *p = o->whole;
	size_t *sel;
	size_t n = select_procs(p, o->pid, 0, &sel);
	uint32_t *canon = canonical_nodes(p);
	struct cs_leak_report_opts rest = *o;
	rest.whole = NULL;
	fprintf(out, ", \"processes\": [");
	for (size_t i = 1; i < n; i++) {
		struct cs_profile v;
		view_init(&v, p, sel[i], canon, o->cost);
		fputs(i > 1 ? ",\n" : "\n", out);
		cs_leak_render_process(&v, &rest, out);
		view_release(&v);
	}
	fprintf(out, "]");
	free(canon);
	free(sel);
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
	size_t n = select_procs(p, o->pid, o->snapshot != 0, &sel);
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
		for (size_t i = 0; i < s->sites.n; i++) {
			uint64_t w = cost_of(&s->sites.v[i], o->cost);
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
