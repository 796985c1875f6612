/* report.c - hotspot lists: self/total by function, line, module or thread, as text,
 * JSON or CSV. Callers and callees of one function are in report_rel.c.
 *
 * A row's total counts every sample whose stack holds the row at least once, however
 * often it recurs. Computed by one depth-first walk of the stack tree that keeps, for
 * each row, how many nodes of the current path belong to it: a node adds its
 * inclusive count to its row only when no node above it does. Linear in the number
 * of nodes, so a crafted 200,000-frame chain costs no more than 200,000 stacks. */
#include "report_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- the stack tree ---- */

void cs_tree_build(const struct cs_profile *p, struct cs_tree *t)
{
	size_t n = p->nodes.n;
	t->n = n;
	t->first = cs_xcalloc(n + 1, sizeof(uint32_t));
	t->kids = cs_xmalloc((n + 1) * sizeof(uint32_t));
	t->self = cs_xcalloc(n + 1, sizeof(uint64_t));
	t->incl = cs_xcalloc(n + 1, sizeof(uint64_t));
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct cs_sample *s = &p->samples.v[i];
		uint64_t *c = &t->self[s->stack];
		*c = s->count > UINT64_MAX - *c ? UINT64_MAX : *c + s->count;
	}
	/* A parent is always numbered before its children (nodes are only ever added
	 * under an existing one), so one backward pass sums the subtrees. */
	memcpy(t->incl, t->self, n * sizeof(uint64_t));
	for (size_t i = n; i-- > 1;) {
		uint32_t par = p->nodes.v[i].parent;
		uint64_t *c = &t->incl[par];
		*c = t->incl[i] > UINT64_MAX - *c ? UINT64_MAX : *c + t->incl[i];
		t->first[par + 1]++;
	}
	for (size_t i = 0; i < n; i++)
		t->first[i + 1] += t->first[i];
	uint32_t *fill = cs_xmalloc((n + 1) * sizeof(uint32_t));
	memcpy(fill, t->first, (n + 1) * sizeof(uint32_t));
	for (size_t i = 1; i < n; i++)
		t->kids[fill[p->nodes.v[i].parent]++] = (uint32_t)i;
	free(fill);
}

void cs_tree_release(struct cs_tree *t)
{
	free(t->first);
	free(t->kids);
	free(t->self);
	free(t->incl);
	memset(t, 0, sizeof(*t));
}

void cs_tree_walk(const struct cs_tree *t, void (*enter)(void *ctx, uint32_t n),
		  void (*leave)(void *ctx, uint32_t n), void *ctx)
{
	if (!t->n)
		return;
	uint32_t *path = cs_xmalloc(t->n * sizeof(uint32_t));
	uint32_t *next = cs_xmalloc(t->n * sizeof(uint32_t)); /* next child to visit */
	size_t depth = 0;
	path[depth++] = 0;
	next[0] = t->first[0];
	while (depth) {
		uint32_t n = path[depth - 1];
		if (next[n] < t->first[n + 1]) {
			uint32_t c = t->kids[next[n]++];
			enter(ctx, c);
			next[c] = t->first[c];
			path[depth++] = c;
		} else {
			depth--;
			if (n)
				leave(ctx, n);
		}
	}
	free(path);
	free(next);
}

/* ---- rows ---- */

struct rows {
	const struct cs_profile *p;
	CS_VEC(struct cs_hotspot) v;
	struct cs_index ix;
	const struct cs_hotspot *key;
};

static int row_eq(void *ctx, uint32_t idx)
{
	struct rows *r = ctx;
	const struct cs_hotspot *a = &r->v.v[idx], *b = r->key;
	return a->func == b->func && a->module == b->module && a->file == b->file &&
	       a->line == b->line && a->thread == b->thread && a->unnamed == b->unnamed;
}

static uint32_t row_of(struct rows *r, const struct cs_hotspot *key)
{
	uint64_t h =
	    cs_hash_u64(((uint64_t)key->func << 32) ^ key->module ^ ((uint64_t)key->unnamed << 31));
	h = cs_hash_u64(h ^ ((uint64_t)key->file << 32) ^ key->line ^
			((uint64_t)key->thread << 17));
	r->key = key;
	uint32_t idx = cs_index_find(&r->ix, h, row_eq, r);
	if (idx != CS_INDEX_NONE)
		return idx;
	idx = (uint32_t)r->v.n;
	CS_VEC_PUSH(r->v, *key);
	r->v.v[idx].self = r->v.v[idx].total = 0;
	cs_index_insert(&r->ix, h, idx);
	return idx;
}

struct cs_hotspot cs_frame_key(const struct cs_profile *p, uint32_t frame, int by, int addrs)
{
	const struct cs_frame *f = &p->frames.v[frame];
	struct cs_hotspot k = {0};
	k.thread = CS_NONE;
	k.module = f->module;
	if (by == CS_BY_MODULE)
		return k;
	if (!addrs && (f->flags & CS_FRAME_UNKNOWN) && f->module != CS_NONE) {
		k.unnamed = 1; /* "module+0x1234": one row for all of them */
		return k;
	}
	k.func = f->func;
	if (by == CS_BY_LINE) {
		k.file = f->file;
		k.line = f->line;
	}
	return k;
}

const char *cs_key_label(const struct cs_profile *p, const struct cs_hotspot *h, int by, char *buf,
			 size_t n)
{
	const char *m = cs_module_name(p, h->module);
	if (by == CS_BY_MODULE)
		return *m ? m : "[unknown]";
	if (h->unnamed) {
		snprintf(buf, n, "[%s]", m);
		return buf;
	}
	return cs_str(p, h->func);
}

static void add_sat(uint64_t *a, uint64_t b)
{
	*a = b > UINT64_MAX - *a ? UINT64_MAX : *a + b;
}

/* The walk's state: per row and per frame, how many nodes of the current path are
 * theirs. */
struct walk {
	const struct cs_profile *p;
	const struct cs_tree *t;
	const uint32_t *frame_row;
	struct cs_hotspot *rows;
	uint32_t *row_on, *frame_on;
	uint64_t *ftotal;
};

static void walk_enter(void *ctx, uint32_t n)
{
	struct walk *w = ctx;
	uint32_t f = w->p->nodes.v[n].frame, r = w->frame_row[f];
	if (!w->row_on[r]++)
		add_sat(&w->rows[r].total, w->t->incl[n]);
	if (!w->frame_on[f]++)
		add_sat(&w->ftotal[f], w->t->incl[n]);
}

static void walk_leave(void *ctx, uint32_t n)
{
	struct walk *w = ctx;
	uint32_t f = w->p->nodes.v[n].frame;
	w->row_on[w->frame_row[f]]--;
	w->frame_on[f]--;
}

/* For --by function, the hottest source line of each function's frames. */
static void pick_lines(const struct cs_profile *p, struct rows *r, const uint32_t *frame_row,
		       const uint64_t *fself, const uint64_t *ftotal)
{
	uint64_t *best_self = cs_xcalloc(r->v.n + 1, sizeof(uint64_t));
	uint64_t *best_total = cs_xcalloc(r->v.n + 1, sizeof(uint64_t));
	for (size_t f = 0; f < p->frames.n; f++) {
		const struct cs_frame *fr = &p->frames.v[f];
		uint32_t row = frame_row[f];
		if (!fr->file || !ftotal[f])
			continue;
		struct cs_hotspot *h = &r->v.v[row];
		int better = !h->file || fself[f] > best_self[row] ||
			     (fself[f] == best_self[row] && ftotal[f] > best_total[row]) ||
			     (fself[f] == best_self[row] && ftotal[f] == best_total[row] &&
			      fr->line < h->line);
		if (better) {
			h->file = fr->file;
			h->line = fr->line;
			best_self[row] = fself[f];
			best_total[row] = ftotal[f];
		}
	}
	free(best_self);
	free(best_total);
}

size_t cs_hotspots(const struct cs_profile *p, int by, int addrs, struct cs_hotspot **out)
{
	struct rows r;
	memset(&r, 0, sizeof(r));
	r.p = p;
	cs_index_init(&r.ix);

	if (by == CS_BY_THREAD) {
		for (size_t i = 0; i < p->samples.n; i++) {
			const struct cs_sample *s = &p->samples.v[i];
			struct cs_hotspot k = {0};
			k.func = p->threads.v[s->thread].name;
			k.module = CS_NONE;
			k.thread = s->thread;
			uint32_t row = row_of(&r, &k);
			add_sat(&r.v.v[row].self, s->count);
			add_sat(&r.v.v[row].total, s->count);
		}
		cs_index_release(&r.ix);
		*out = r.v.v;
		return r.v.n;
	}

	struct cs_tree t;
	cs_tree_build(p, &t);
	uint32_t *frame_row = cs_xmalloc((p->frames.n + 1) * sizeof(uint32_t));
	for (size_t f = 0; f < p->frames.n; f++) {
		struct cs_hotspot k = cs_frame_key(p, (uint32_t)f, by, addrs);
		frame_row[f] = row_of(&r, &k);
	}
	uint64_t *fself = cs_xcalloc(p->frames.n + 1, sizeof(uint64_t));
	uint64_t *ftotal = cs_xcalloc(p->frames.n + 1, sizeof(uint64_t));
	for (uint32_t n = 1; n < p->nodes.n; n++) {
		uint32_t f = p->nodes.v[n].frame;
		add_sat(&r.v.v[frame_row[f]].self, t.self[n]);
		add_sat(&fself[f], t.self[n]);
	}
	struct walk w = {p,
			 &t,
			 frame_row,
			 r.v.v,
			 cs_xcalloc(r.v.n + 1, sizeof(uint32_t)),
			 cs_xcalloc(p->frames.n + 1, sizeof(uint32_t)),
			 ftotal};
	cs_tree_walk(&t, walk_enter, walk_leave, &w);
	if (by == CS_BY_FUNCTION)
		pick_lines(p, &r, frame_row, fself, ftotal);
	/* Drop rows of frames that never occur in a sample. */
	size_t k = 0;
	for (size_t i = 0; i < r.v.n; i++)
		if (r.v.v[i].total)
			r.v.v[k++] = r.v.v[i];
	r.v.n = k;

	free(w.row_on);
	free(w.frame_on);
	free(frame_row);
	free(fself);
	free(ftotal);
	cs_tree_release(&t);
	cs_index_release(&r.ix);
	*out = r.v.v;
	return r.v.n;
}

/* ---- shared text ---- */

double cs_pct(uint64_t v, uint64_t total)
{
	return total ? 100.0 * (double)v / (double)total : 0.0;
}

const char *cs_plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

int cs_name_cmp(const struct cs_profile *p, uint32_t a, uint32_t b)
{
	return a == b ? 0 : strcmp(cs_str(p, a), cs_str(p, b));
}

int cs_module_cmp(const struct cs_profile *p, uint32_t a, uint32_t b)
{
	return a == b ? 0 : strcmp(cs_module_name(p, a), cs_module_name(p, b));
}

/* Samples weigh their period (perf script that printed periods). */
static int weighted(const struct cs_profile *p, uint64_t total)
{
	return p->meta.source == CS_SOURCE_PERF_SCRIPT && total != p->stats.samples;
}

void cs_report_text_header(const struct cs_profile *p, FILE *out)
{
	const struct cs_meta *m = &p->meta;
	const struct cs_stats *st = &p->stats;
	fprintf(out, "# csampler report");
	if (m->command && *cs_str(p, m->command)) {
		fputs(": ", out);
		cs_text_put(out, cs_str(p, m->command));
	}
	fputc('\n', out);
	if (m->source == CS_SOURCE_RECORDING) {
		fprintf(out, "# %.1f s at %u Hz (", (double)st->duration_ns / 1e9, m->hz);
		cs_text_put(out, cs_str(p, m->event));
		fprintf(out, "), %llu %s in %llu %s\n", (unsigned long long)st->threads,
			cs_plural(st->threads, "thread", "threads"),
			(unsigned long long)st->processes,
			cs_plural(st->processes, "process", "processes"));
	}
	if (p->times.wall)
		fprintf(out, "# time: %s%s\n", cs_time_name(p->times.shown),
			!cs_time_in_us(p->times.shown) ? " (CPU samples)"
			: p->times.shown == CS_SEL_WALL ? " (CPU + off-CPU), in microseconds"
							: " (off-CPU), in microseconds");
}

void cs_report_text_footer(const struct cs_profile *p, uint64_t total, FILE *out)
{
	const struct cs_stats *st = &p->stats;
	if (weighted(p, total)) {
		fprintf(out, "# %llu %s of ", (unsigned long long)st->samples,
			cs_plural(st->samples, "sample", "samples"));
		cs_text_put(out, *cs_str(p, p->meta.event) ? cs_str(p, p->meta.event) : "perf");
		fprintf(out, ", weighted by their period as in perf report: %llu in all\n",
			(unsigned long long)total);
		return;
	}
	if (cs_time_in_us(p->times.shown))
		fprintf(out, "# %llu us of %s time (%llu CPU samples)", (unsigned long long)total,
			cs_time_name(p->times.shown), (unsigned long long)st->samples);
	else
		fprintf(out, "# %llu %s", (unsigned long long)total,
			cs_plural(total, "sample", "samples"));
	if (p->meta.source == CS_SOURCE_RECORDING) {
		/* saturated: a file's counts may add up past 64 bits */
		uint64_t unwound = st->complete > UINT64_MAX - st->truncated
				       ? UINT64_MAX
				       : st->complete + st->truncated;
		fprintf(out, ", %llu lost", (unsigned long long)st->lost);
		if (unwound)
			fprintf(out, ", %.1f%% of stacks complete to the thread root",
				cs_pct(st->complete, unwound));
		if (st->truncated)
			fprintf(out, " (%llu truncated)", (unsigned long long)st->truncated);
		fprintf(out, ", %llu unresolved %s", (unsigned long long)st->unresolved,
			cs_plural(st->unresolved, "address", "addresses"));
	}
	fputc('\n', out);
	if (p->times.wall) {
		uint64_t unw = st->offcpu_complete + st->offcpu_truncated;
		fprintf(out, "# off-CPU: %llu intervals, %.1f%% of their stacks complete, %llu "
			"with their stack lost, %llu with their end lost\n",
			(unsigned long long)st->offcpu_events, cs_pct(st->offcpu_complete, unw),
			(unsigned long long)st->offcpu_lost, (unsigned long long)st->offcpu_unmatched);
	}
	if (p->meta.source == CS_SOURCE_RECORDING && st->py_samples) {
		/* saturated sums, as above */
		uint64_t kept = st->py_samples > st->py_merged ? st->py_samples - st->py_merged : 0;
		fprintf(out,
			"# Python frames merged in %.1f%% of %llu samples of CPython code; %llu kept "
			"the interpreter's native frames (%llu had moved on, %llu did not match, "
			"%llu read late, %llu unreadable)\n",
			cs_pct(st->py_merged, st->py_samples), (unsigned long long)st->py_samples,
			(unsigned long long)kept, (unsigned long long)st->py_moved,
			(unsigned long long)st->py_mismatch, (unsigned long long)st->py_late,
			(unsigned long long)st->py_unreadable);
	}
}

void cs_report_json_meta(const struct cs_profile *p, uint64_t total, FILE *out)
{
	const struct cs_stats *st = &p->stats;
	const struct cs_meta *m = &p->meta;
	static const char *src[] = {"recording", "folded", "perf-script"};
	/* saturated: a file's counts may add up past 64 bits */
	uint64_t unwound =
	    st->complete > UINT64_MAX - st->truncated ? UINT64_MAX : st->complete + st->truncated;
	fprintf(out, "\"source\": \"%s\", \"weight\": \"%s\", ",
		m->source < 3 ? src[m->source] : "unknown",
		cs_time_in_us(p->times.shown) ? "us" : weighted(p, total) ? "period" : "samples");
	if (p->times.wall) /* CPU profiles read as they always did */
		fprintf(out, "\"time\": \"%s\", \"time_kinds\": \"cpu,blocked,preempted\", ",
			cs_time_name(p->times.shown ? p->times.shown : CS_SEL_WALL));
	fprintf(out, "\"command\": ");
	cs_json_str(out, cs_str(p, m->command), cs_strlen(p, m->command));
	fprintf(out, ", \"pid\": %lld, \"hz\": %u, \"event\": ", (long long)m->pid, m->hz);
	cs_json_str(out, cs_str(p, m->event), cs_strlen(p, m->event));
	fprintf(out,
		", \"stats\": {\"duration_s\": %.3f, \"samples\": %llu, \"lost\": %llu, "
		"\"complete\": %llu, \"truncated\": %llu, \"complete_pct\": %.2f, "
		"\"kernel_only\": %llu, \"unresolved\": %llu, \"threads\": %llu, "
		"\"processes\": %llu, \"profiler_cpu_s\": %.3f",
		(double)st->duration_ns / 1e9, (unsigned long long)st->samples,
		(unsigned long long)st->lost, (unsigned long long)st->complete,
		(unsigned long long)st->truncated, cs_pct(st->complete, unwound),
		(unsigned long long)st->kernel_only, (unsigned long long)st->unresolved,
		(unsigned long long)st->threads, (unsigned long long)st->processes,
		(double)st->profiler_cpu_ns / 1e9);
	if (p->times.wall)
		fprintf(out,
			", \"offcpu_intervals\": %llu, \"offcpu_stack_lost\": %llu, "
			"\"offcpu_end_lost\": %llu, \"offcpu_complete\": %llu, "
			"\"offcpu_truncated\": %llu",
			(unsigned long long)st->offcpu_events, (unsigned long long)st->offcpu_lost,
			(unsigned long long)st->offcpu_unmatched,
			(unsigned long long)st->offcpu_complete,
			(unsigned long long)st->offcpu_truncated);
	if (st->py_samples) /* only for CPython: other outputs stay as they were */
		fprintf(out, ", \"python_samples\": %llu, \"python_merged\": %llu",
			(unsigned long long)st->py_samples, (unsigned long long)st->py_merged);
	fputc('}', out);
}

/* ---- the timeline ---- */

/* start / peak / end of one timeline quantity */
struct span {
	uint64_t start, peak, end;
};

static struct span tl_span(const struct cs_profile *p, int what)
{
	struct span s = {0, 0, 0};
	for (size_t i = 0; i < p->timeline.n; i++) {
		const struct cs_tick *t = &p->timeline.v[i];
		uint64_t v = what == 0 ? t->rss : what == 1 ? t->threads : t->fds;
		if (i == 0)
			s.start = v;
		s.peak = CS_MAX(s.peak, v);
		s.end = v;
	}
	return s;
}

static void cpu_span(const struct cs_profile *p, double *start, double *peak, double *end)
{
	*start = *peak = *end = 0;
	for (size_t i = 0; i < p->timeline.n; i++) {
		double v = p->timeline.v[i].cpu_pct;
		if (i == 0)
			*start = v;
		if (v > *peak)
			*peak = v;
		*end = v;
	}
}

static void text_timeline(const struct cs_profile *p, FILE *out)
{
	if (!p->timeline.n)
		return;
	struct span rss = tl_span(p, 0), thr = tl_span(p, 1), fds = tl_span(p, 2);
	double c0, c1, c2;
	cpu_span(p, &c0, &c1, &c2);
	fprintf(out, "# timeline (%zu s)      start       peak        end\n", p->timeline.n);
	fprintf(out, "#   RSS MiB      %10.1f %10.1f %10.1f\n", (double)rss.start / 1048576.0,
		(double)rss.peak / 1048576.0, (double)rss.end / 1048576.0);
	fprintf(out, "#   threads      %10llu %10llu %10llu\n", (unsigned long long)thr.start,
		(unsigned long long)thr.peak, (unsigned long long)thr.end);
	fprintf(out, "#   open fds     %10llu %10llu %10llu\n", (unsigned long long)fds.start,
		(unsigned long long)fds.peak, (unsigned long long)fds.end);
	fprintf(out, "#   CPU %%        %10.1f %10.1f %10.1f\n", c0, c1, c2);
}

static void json_timeline(const struct cs_profile *p, FILE *out)
{
	static const char *names[] = {"rss_bytes", "threads", "fds"};
	fprintf(out, ", \"timeline\": {");
	for (int w = 0; w < 3; w++) {
		struct span s = tl_span(p, w);
		fprintf(out, "%s\"%s\": {\"start\": %llu, \"peak\": %llu, \"end\": %llu}",
			w ? ", " : "", names[w], (unsigned long long)s.start,
			(unsigned long long)s.peak, (unsigned long long)s.end);
	}
	double c0, c1, c2;
	cpu_span(p, &c0, &c1, &c2);
	fprintf(out, ", \"cpu_pct\": {\"start\": %.1f, \"peak\": %.1f, \"end\": %.1f}", c0, c1, c2);
	fprintf(out, ", \"series\": [");
	for (size_t i = 0; i < p->timeline.n; i++) {
		const struct cs_tick *t = &p->timeline.v[i];
		fprintf(out,
			"%s{\"t\": %.3f, \"rss_bytes\": %llu, \"threads\": %u, \"fds\": %u, "
			"\"cpu_pct\": %.1f, \"samples\": %llu}",
			i ? ", " : "", (double)t->t_ms / 1000.0, (unsigned long long)t->rss,
			t->threads, t->fds, t->cpu_pct, (unsigned long long)t->samples);
	}
	fprintf(out, "]}");
}

/* ---- printing rows ---- */

static int g_sort_total;
static const struct cs_profile *g_prof; /* qsort has no context argument */

static int row_cmp(const void *a, const void *b)
{
	const struct cs_hotspot *x = a, *y = b;
	uint64_t xa = g_sort_total ? x->total : x->self, ya = g_sort_total ? y->total : y->self;
	uint64_t xb = g_sort_total ? x->self : x->total, yb = g_sort_total ? y->self : y->total;
	if (xa != ya)
		return xa > ya ? -1 : 1;
	if (xb != yb)
		return xb > yb ? -1 : 1;
	/* Ties by name, then module name, so output never depends on the order in which a
	 * profile happened to intern its strings. */
	int c = cs_name_cmp(g_prof, x->func, y->func);
	if (c)
		return c;
	if ((c = cs_module_cmp(g_prof, x->module, y->module)))
		return c;
	if (x->unnamed != y->unnamed)
		return x->unnamed < y->unnamed ? -1 : 1;
	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	if ((c = cs_name_cmp(g_prof, x->file, y->file)))
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

static const char *by_name(int by)
{
	static const char *names[] = {"function", "line", "module", "thread"};
	return names[by];
}

static void source_of(const struct cs_profile *p, const struct cs_hotspot *h, char *buf, size_t n)
{
	if (h->file && h->line)
		snprintf(buf, n, "%s:%u", cs_str(p, h->file), h->line);
	else if (h->file)
		snprintf(buf, n, "%s", cs_str(p, h->file));
	else
		buf[0] = 0;
}

/* The label of a row in lbuf: function, module or "NAME-TID". */
static const char *label(const struct cs_profile *p, const struct cs_hotspot *h, int by, char *lbuf,
			 size_t n)
{
	if (by == CS_BY_THREAD) {
		const struct cs_thread *t = &p->threads.v[h->thread];
		snprintf(lbuf, n, "%s-%u", cs_str(p, t->name), t->tid);
		return lbuf;
	}
	return cs_key_label(p, h, by, lbuf, n);
}

static void json_rows(const struct cs_profile *p, const struct cs_report_opts *o,
		      const struct cs_hotspot *rows, size_t shown, uint64_t total, FILE *out)
{
	char lbuf[512];
	fprintf(out, "{\"total_samples\": %llu, \"by\": \"%s\", \"hotspots\": [",
		(unsigned long long)total, by_name(o->by));
	for (size_t i = 0; i < shown; i++) {
		const struct cs_hotspot *h = &rows[i];
		fputs(i ? ",\n  {" : "\n  {", out);
		if (o->by == CS_BY_THREAD) {
			const struct cs_thread *t = &p->threads.v[h->thread];
			fprintf(out, "\"thread\": ");
			cs_json_str(out, cs_str(p, t->name), cs_strlen(p, t->name));
			fprintf(out, ", \"tid\": %u, \"pid\": ", t->tid);
			/* perf script without a pid field: unknown */
			fprintf(out, t->pid == CS_NONE ? "null" : "%u", t->pid);
		} else if (o->by == CS_BY_MODULE) {
			const char *m = label(p, h, o->by, lbuf, sizeof(lbuf));
			fprintf(out, "\"module\": ");
			cs_json_str(out, m, strlen(m));
		} else {
			const char *f = label(p, h, o->by, lbuf, sizeof(lbuf));
			const char *m = cs_module_name(p, h->module);
			fprintf(out, "\"function\": ");
			cs_json_str(out, f, strlen(f));
			fprintf(out, ", \"module\": ");
			cs_json_str(out, m, strlen(m));
			fprintf(out, ", \"file\": ");
			cs_json_str(out, cs_str(p, h->file), cs_strlen(p, h->file));
			fprintf(out, ", \"line\": %u", h->line);
		}
		fprintf(
		    out,
		    ", \"self\": %llu, \"total\": %llu, \"self_pct\": %.2f, \"total_pct\": %.2f}",
		    (unsigned long long)h->self, (unsigned long long)h->total,
		    cs_pct(h->self, total), cs_pct(h->total, total));
	}
	fprintf(out, "\n], ");
	cs_report_json_meta(p, total, out);
	json_timeline(p, out);
	fprintf(out, "}\n");
}

static void csv_rows(const struct cs_profile *p, const struct cs_report_opts *o,
		     const struct cs_hotspot *rows, size_t shown, uint64_t total, FILE *out)
{
	char lbuf[512];
	if (o->by == CS_BY_THREAD)
		fprintf(out, "thread,tid,pid,");
	else if (o->by == CS_BY_MODULE)
		fprintf(out, "module,");
	else
		fprintf(out, "function,module,file,line,");
	fprintf(out, "self,total,self_pct,total_pct\n");
	for (size_t i = 0; i < shown; i++) {
		const struct cs_hotspot *h = &rows[i];
		if (o->by == CS_BY_THREAD) {
			const struct cs_thread *t = &p->threads.v[h->thread];
			cs_csv_str(out, cs_str(p, t->name));
			fprintf(out, ",%u,", t->tid);
			if (t->pid != CS_NONE)
				fprintf(out, "%u", t->pid);
		} else if (o->by == CS_BY_MODULE) {
			cs_csv_str(out, label(p, h, o->by, lbuf, sizeof(lbuf)));
		} else {
			cs_csv_str(out, label(p, h, o->by, lbuf, sizeof(lbuf)));
			fputc(',', out);
			cs_csv_str(out, cs_module_name(p, h->module));
			fputc(',', out);
			cs_csv_str(out, cs_str(p, h->file));
			fprintf(out, ",%u", h->line);
		}
		fprintf(out, ",%llu,%llu,%.2f,%.2f\n", (unsigned long long)h->self,
			(unsigned long long)h->total, cs_pct(h->self, total),
			cs_pct(h->total, total));
	}
}

static void text_rows(const struct cs_profile *p, const struct cs_report_opts *o,
		      const struct cs_hotspot *rows, size_t shown, size_t n, uint64_t total,
		      FILE *out)
{
	char lbuf[512], src[4096];
	struct cs_buf lb, mb, sb;
	cs_buf_init(&lb);
	cs_buf_init(&mb);
	cs_buf_init(&sb);
	int w = 8;
	for (size_t i = 0; i < shown; i++) {
		const char *l = cs_text_str(&lb, label(p, &rows[i], o->by, lbuf, sizeof(lbuf)));
		w = CS_MAX(w, CS_MIN((int)strlen(l), 60));
	}
	cs_report_text_header(p, out);
	fprintf(out, "%7s %7s %8s %8s  ", "self%", "total%", "self", "total");
	if (o->by == CS_BY_MODULE)
		fprintf(out, "%s\n", "module");
	else if (o->by == CS_BY_THREAD)
		fprintf(out, "%-*s  %s\n", w, "thread", "pid");
	else
		fprintf(out, "%-*s  %-20s %s\n", w, "function", "module", "source");
	for (size_t i = 0; i < shown; i++) {
		const struct cs_hotspot *h = &rows[i];
		const char *l = cs_text_str(&lb, label(p, h, o->by, lbuf, sizeof(lbuf)));
		fprintf(out, "%6.2f%% %6.2f%% %8llu %8llu  ", cs_pct(h->self, total),
			cs_pct(h->total, total), (unsigned long long)h->self,
			(unsigned long long)h->total);
		if (o->by == CS_BY_MODULE) {
			fprintf(out, "%s\n", l);
		} else if (o->by == CS_BY_THREAD) {
			const struct cs_thread *t = &p->threads.v[h->thread];
			if (t->pid == CS_NONE)
				fprintf(out, "%-*s  -\n", w, l);
			else
				fprintf(out, "%-*s  %u\n", w, l, t->pid);
		} else {
			const char *mod = cs_module_name(p, h->module);
			source_of(p, h, src, sizeof(src));
			fprintf(out, "%-*s  %-20s %s\n", w, l, *mod ? cs_text_str(&mb, mod) : "-",
				cs_text_str(&sb, src));
		}
	}
	if (shown < n)
		fprintf(out, "# ... %zu more %s (use --top 0 for all)\n", n - shown,
			cs_plural(n - shown, "row", "rows"));
	cs_report_text_footer(p, total, out);
	text_timeline(p, out);
	cs_buf_release(&lb);
	cs_buf_release(&mb);
	cs_buf_release(&sb);
}

/* ---- report --by thread of a wall recording: each thread's times ---- */

struct trow {
	uint32_t thread;
	uint64_t ns[CS_TIME_KINDS];
	uint64_t wall, key; /* key: the selected time */
};

static int trow_cmp(const void *a, const void *b)
{
	const struct trow *x = a, *y = b;
	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return x->thread < y->thread ? -1 : x->thread > y->thread;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static int thread_times(const struct cs_profile *p, const struct cs_report_opts *o, FILE *out)
{
	/* the threads the view kept: those with a row left */
	uint8_t *kept = cs_xcalloc(p->threads.n + 1, 1);
	for (size_t i = 0; i < p->samples.n; i++)
		if (p->samples.v[i].thread < p->threads.n)
			kept[p->samples.v[i].thread] = 1;
	CS_VEC(struct trow) rows = {0};
	for (uint32_t t = 0; t < p->threads.n && t < p->times.threads.n; t++) {
		if (!kept[t])
			continue;
		struct trow r;
		memset(&r, 0, sizeof(r));
		r.thread = t;
		memcpy(r.ns, p->times.threads.v[t].ns, sizeof(r.ns));
		for (int k = 0; k < CS_TIME_KINDS; k++) {
			r.wall += r.ns[k];
			if (p->times.shown & (1u << k))
				r.key += r.ns[k];
		}
		CS_VEC_PUSH(rows, r);
	}
	free(kept);
	if (rows.n > 1)
		qsort(rows.v, rows.n, sizeof(*rows.v), trow_cmp);
	size_t shown = o->top > 0 ? CS_MIN(rows.n, (size_t)o->top) : rows.n;
	if (o->format == CS_FMT_JSON) {
		fprintf(out, "{\"by\": \"thread\", \"unit\": \"ms\", \"threads\": [");
		for (size_t i = 0; i < shown; i++) {
			const struct trow *r = &rows.v[i];
			const struct cs_thread *t = &p->threads.v[r->thread];
			const struct cs_thread_time *tt = &p->times.threads.v[r->thread];
			fprintf(out, "%s{\"thread\": ", i ? ",\n  " : "\n  ");
			cs_json_str(out, cs_str(p, t->name), cs_strlen(p, t->name));
			fprintf(out,
				", \"tid\": %u, \"pid\": %u, \"cpu_ms\": %.3f, \"blocked_ms\": %.3f, "
				"\"preempted_ms\": %.3f, \"wall_ms\": %.3f, \"existed_ms\": %.3f, "
				"\"oncpu_measured_ms\": %.3f}",
				t->tid, t->pid, ms(r->ns[CS_TIME_CPU]), ms(r->ns[CS_TIME_BLOCKED]),
				ms(r->ns[CS_TIME_PREEMPTED]), ms(r->wall), ms(tt->span_ns),
				ms(tt->oncpu_ns));
		}
		fprintf(out, "\n], ");
		cs_report_json_meta(p, cs_profile_total(p), out);
		fprintf(out, "}\n");
	} else if (o->format == CS_FMT_CSV) {
		fprintf(out, "thread,tid,pid,cpu_ms,blocked_ms,preempted_ms,wall_ms,existed_ms\n");
		for (size_t i = 0; i < shown; i++) {
			const struct trow *r = &rows.v[i];
			const struct cs_thread *t = &p->threads.v[r->thread];
			cs_csv_str(out, cs_str(p, t->name));
			fprintf(out, ",%u,%u,%.3f,%.3f,%.3f,%.3f,%.3f\n", t->tid, t->pid,
				ms(r->ns[CS_TIME_CPU]), ms(r->ns[CS_TIME_BLOCKED]),
				ms(r->ns[CS_TIME_PREEMPTED]), ms(r->wall),
				ms(p->times.threads.v[r->thread].span_ns));
		}
	} else {
		struct cs_buf lb;
		cs_buf_init(&lb);
		cs_report_text_header(p, out);
		fprintf(out, "# per thread, in ms: CPU (from samples) + blocked + preempted = wall; "
			     "existed = how long the thread existed while recorded\n");
		fprintf(out, "%10s %10s %10s %10s %10s  %s\n", "cpu", "blocked", "preempted", "wall",
			"existed", "thread");
		for (size_t i = 0; i < shown; i++) {
			const struct trow *r = &rows.v[i];
			const struct cs_thread *t = &p->threads.v[r->thread];
			fprintf(out, "%10.1f %10.1f %10.1f %10.1f %10.1f  %s-%u\n",
				ms(r->ns[CS_TIME_CPU]), ms(r->ns[CS_TIME_BLOCKED]),
				ms(r->ns[CS_TIME_PREEMPTED]), ms(r->wall),
				ms(p->times.threads.v[r->thread].span_ns),
				cs_text_str(&lb, cs_str(p, t->name)), t->tid);
		}
		if (shown < rows.n)
			fprintf(out, "# ... %zu more %s (use --top 0 for all)\n", rows.n - shown,
				cs_plural(rows.n - shown, "thread", "threads"));
		cs_report_text_footer(p, cs_profile_total(p), out);
		cs_buf_release(&lb);
	}
	CS_VEC_FREE(rows);
	return 0;
}

static int report_rows(const struct cs_profile *p, const struct cs_report_opts *o, FILE *out)
{
	if (o->by == CS_BY_THREAD && p->times.wall)
		return thread_times(p, o, out);
	struct cs_hotspot *rows;
	size_t n = cs_hotspots(p, o->by, o->addrs, &rows);
	uint64_t total = cs_profile_total(p);
	g_sort_total = o->sort_total;
	g_prof = p;
	if (n > 1)
		qsort(rows, n, sizeof(*rows), row_cmp);
	size_t shown = o->top > 0 ? CS_MIN(n, (size_t)o->top) : n;
	if (o->format == CS_FMT_JSON)
		json_rows(p, o, rows, shown, total, out);
	else if (o->format == CS_FMT_CSV)
		csv_rows(p, o, rows, shown, total, out);
	else
		text_rows(p, o, rows, shown, n, total, out);
	free(rows);
	return 0;
}

int cs_render_report(const struct cs_profile *p, const struct cs_report_opts *o, FILE *out)
{
	if (o->callers || o->callees)
		return cs_render_relatives(p, o, out);
	return report_rows(p, o, out);
}
