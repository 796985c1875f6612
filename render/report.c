/* report.c - hotspot lists: self/total by function, line, module or thread, and the
 * callers/callees of one function, as text, JSON or CSV. */
#include "render.h"

#include <stdlib.h>
#include <string.h>

/* ---- computing rows ---- */

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
	       a->line == b->line && a->thread == b->thread;
}

static uint32_t row_of(struct rows *r, const struct cs_hotspot *key)
{
	uint64_t h = cs_hash_u64(((uint64_t)key->func << 32) ^ key->module);
	h = cs_hash_u64(h ^ ((uint64_t)key->file << 32) ^ key->line ^ ((uint64_t)key->thread << 17));
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

static struct cs_hotspot frame_key(const struct cs_profile *p, uint32_t frame, int by)
{
	const struct cs_frame *f = &p->frames.v[frame];
	struct cs_hotspot k = {0};
	k.thread = CS_NONE;
	k.module = f->module;
	if (by == CS_BY_MODULE) {
		k.func = 0;
		return k;
	}
	k.func = f->func;
	if (by == CS_BY_LINE) {
		k.file = f->file;
		k.line = f->line;
	}
	return k;
}

/* Sample count per stack node, all threads together. */
static uint64_t *node_counts(const struct cs_profile *p)
{
	uint64_t *c = cs_xcalloc(p->nodes.n, sizeof(uint64_t));
	for (size_t i = 0; i < p->samples.n; i++)
		c[p->samples.v[i].stack] += p->samples.v[i].count;
	return c;
}

size_t cs_hotspots(const struct cs_profile *p, int by, struct cs_hotspot **out)
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
			r.v.v[row].self += s->count;
			r.v.v[row].total += s->count;
		}
		cs_index_release(&r.ix);
		*out = r.v.v;
		return r.v.n;
	}

	uint64_t *count = node_counts(p);
	uint32_t *frame_row = cs_xmalloc((p->frames.n + 1) * sizeof(uint32_t));
	for (size_t f = 0; f < p->frames.n; f++) {
		struct cs_hotspot k = frame_key(p, (uint32_t)f, by);
		frame_row[f] = row_of(&r, &k);
	}
	/* Per-frame self/total too, to pick the source line shown for a function. */
	uint64_t *fself = cs_xcalloc(p->frames.n + 1, sizeof(uint64_t));
	uint64_t *ftotal = cs_xcalloc(p->frames.n + 1, sizeof(uint64_t));
	uint32_t *row_stamp = cs_xmalloc((r.v.n + 1) * sizeof(uint32_t));
	uint32_t *frame_stamp = cs_xmalloc((p->frames.n + 1) * sizeof(uint32_t));
	memset(row_stamp, 0xff, (r.v.n + 1) * sizeof(uint32_t));
	memset(frame_stamp, 0xff, (p->frames.n + 1) * sizeof(uint32_t));

	for (uint32_t n = 1; n < p->nodes.n; n++) {
		uint64_t c = count[n];
		if (!c)
			continue;
		uint32_t leaf = p->nodes.v[n].frame;
		r.v.v[frame_row[leaf]].self += c;
		fself[leaf] += c;
		/* Count each row once per stack, however often it recurs. */
		for (uint32_t m = n; m; m = p->nodes.v[m].parent) {
			uint32_t f = p->nodes.v[m].frame;
			uint32_t row = frame_row[f];
			if (row_stamp[row] != n) {
				row_stamp[row] = n;
				r.v.v[row].total += c;
			}
			if (frame_stamp[f] != n) {
				frame_stamp[f] = n;
				ftotal[f] += c;
			}
		}
	}
	if (by == CS_BY_FUNCTION) {
		/* Show the hottest source line of each function. */
		uint64_t *best_self = cs_xcalloc(r.v.n + 1, sizeof(uint64_t));
		uint64_t *best_total = cs_xcalloc(r.v.n + 1, sizeof(uint64_t));
		for (size_t f = 0; f < p->frames.n; f++) {
			const struct cs_frame *fr = &p->frames.v[f];
			uint32_t row = frame_row[f];
			if (!fr->file || !ftotal[f])
				continue;
			struct cs_hotspot *h = &r.v.v[row];
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
	/* Drop rows of frames that never occur in a sample. */
	size_t k = 0;
	for (size_t i = 0; i < r.v.n; i++)
		if (r.v.v[i].total)
			r.v.v[k++] = r.v.v[i];
	r.v.n = k;

	free(count);
	free(frame_row);
	free(fself);
	free(ftotal);
	free(row_stamp);
	free(frame_stamp);
	cs_index_release(&r.ix);
	*out = r.v.v;
	return r.v.n;
}

/* ---- printing ---- */

void cs_json_str(FILE *out, const char *s, size_t len)
{
	fputc('"', out);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			fputc('\\', out);
			fputc(c, out);
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(out, "\\u%04x", c);
		} else if (c < 0x80) {
			fputc(c, out);
		} else {
			/* Copy valid UTF-8 sequences; replace invalid bytes with U+FFFD. */
			size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
			int ok = n && c < 0xf5 && i + n <= len;
			for (size_t j = 1; ok && j < n; j++)
				ok = ((unsigned char)s[i + j] & 0xc0) == 0x80;
			if (ok && n == 3 && c == 0xe0 && (unsigned char)s[i + 1] < 0xa0)
				ok = 0;
			if (ok && n == 4 && c == 0xf0 && (unsigned char)s[i + 1] < 0x90)
				ok = 0;
			if (ok && n == 4 && c == 0xf4 && (unsigned char)s[i + 1] > 0x8f)
				ok = 0;
			if (ok && n == 3 && c == 0xed && (unsigned char)s[i + 1] > 0x9f)
				ok = 0;
			if (ok) {
				fwrite(s + i, 1, n, out);
				i += n - 1;
			} else {
				fputs("\\ufffd", out);
			}
		}
	}
	fputc('"', out);
}

static void json_cstr(FILE *out, const char *s)
{
	cs_json_str(out, s, strlen(s));
}

static void csv_str(FILE *out, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static int g_sort_total;
static const struct cs_profile *g_prof; /* qsort has no context argument */

/* Ties are ordered by name, then module name, so output never depends on the order
 * in which a profile happened to intern its strings. */
static int name_cmp(uint32_t a, uint32_t b)
{
	return a == b ? 0 : strcmp(cs_str(g_prof, a), cs_str(g_prof, b));
}

static int module_cmp(uint32_t a, uint32_t b)
{
	return a == b ? 0 : strcmp(cs_module_name(g_prof, a), cs_module_name(g_prof, b));
}

static int row_cmp(const void *a, const void *b)
{
	const struct cs_hotspot *x = a, *y = b;
	uint64_t xa = g_sort_total ? x->total : x->self, ya = g_sort_total ? y->total : y->self;
	uint64_t xb = g_sort_total ? x->self : x->total, yb = g_sort_total ? y->self : y->total;
	if (xa != ya)
		return xa > ya ? -1 : 1;
	if (xb != yb)
		return xb > yb ? -1 : 1;
	int c = name_cmp(x->func, y->func);
	if (c)
		return c;
	if ((c = module_cmp(x->module, y->module)))
		return c;
	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	if ((c = name_cmp(x->file, y->file)))
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* The label of a row, written into buf. */
static const char *row_label(const struct cs_profile *p, const struct cs_hotspot *h, int by,
			     char *buf, size_t n)
{
	if (by == CS_BY_MODULE) {
		const char *m = cs_module_name(p, h->module);
		return *m ? m : "[unknown]";
	}
	if (by == CS_BY_THREAD) {
		const struct cs_thread *t = &p->threads.v[h->thread];
		snprintf(buf, n, "%s-%u", cs_str(p, t->name), t->tid);
		return buf;
	}
	return cs_str(p, h->func);
}

static double pct(uint64_t v, uint64_t total)
{
	return total ? 100.0 * (double)v / (double)total : 0.0;
}

static const char *by_name(int by)
{
	static const char *names[] = {"function", "line", "module", "thread"};
	return names[by];
}

static void text_header(const struct cs_profile *p, FILE *out)
{
	const struct cs_meta *m = &p->meta;
	const struct cs_stats *st = &p->stats;
	fprintf(out, "# csampler report");
	if (m->command && *cs_str(p, m->command))
		fprintf(out, ": %s", cs_str(p, m->command));
	fputc('\n', out);
	if (m->source == CS_SOURCE_RECORDING)
		fprintf(out, "# %.1f s at %u Hz (%s), %llu threads in %llu processes\n",
			(double)st->duration_ns / 1e9, m->hz, cs_str(p, m->event),
			(unsigned long long)st->threads, (unsigned long long)st->processes);
}

static void text_footer(const struct cs_profile *p, uint64_t total, FILE *out)
{
	const struct cs_stats *st = &p->stats;
	fprintf(out, "# %llu samples", (unsigned long long)total);
	if (p->meta.source == CS_SOURCE_RECORDING) {
		uint64_t unwound = st->complete + st->truncated;
		fprintf(out, ", %llu lost", (unsigned long long)st->lost);
		if (unwound)
			fprintf(out, ", %.1f%% of stacks complete to the thread root",
				pct(st->complete, unwound));
		if (st->truncated)
			fprintf(out, " (%llu truncated)", (unsigned long long)st->truncated);
		fprintf(out, ", %llu unresolved addresses", (unsigned long long)st->unresolved);
	}
	fputc('\n', out);
}

/* start / peak / end of one timeline quantity. */
struct span {
	double start, peak, end;
};

static struct span tl_span(const struct cs_profile *p, int what)
{
	struct span s = {0, 0, 0};
	for (size_t i = 0; i < p->timeline.n; i++) {
		const struct cs_tick *t = &p->timeline.v[i];
		double v = what == 0 ? (double)t->rss : what == 1 ? t->threads : what == 2 ? t->fds : t->cpu_pct;
		if (i == 0)
			s.start = v;
		if (v > s.peak)
			s.peak = v;
		s.end = v;
	}
	return s;
}

static void text_timeline(const struct cs_profile *p, FILE *out)
{
	if (!p->timeline.n)
		return;
	struct span rss = tl_span(p, 0), thr = tl_span(p, 1), fds = tl_span(p, 2), cpu = tl_span(p, 3);
	fprintf(out, "# timeline (%zu s)      start       peak        end\n", p->timeline.n);
	fprintf(out, "#   RSS MiB      %10.1f %10.1f %10.1f\n", rss.start / 1048576.0,
		rss.peak / 1048576.0, rss.end / 1048576.0);
	fprintf(out, "#   threads      %10.0f %10.0f %10.0f\n", thr.start, thr.peak, thr.end);
	fprintf(out, "#   open fds     %10.0f %10.0f %10.0f\n", fds.start, fds.peak, fds.end);
	fprintf(out, "#   CPU %%        %10.1f %10.1f %10.1f\n", cpu.start, cpu.peak, cpu.end);
}

static void json_stats(const struct cs_profile *p, FILE *out)
{
	const struct cs_stats *st = &p->stats;
	const struct cs_meta *m = &p->meta;
	static const char *src[] = {"recording", "folded", "perf-script"};
	uint64_t unwound = st->complete + st->truncated;
	fprintf(out, "\"source\": \"%s\", ", m->source < 3 ? src[m->source] : "unknown");
	fprintf(out, "\"command\": ");
	json_cstr(out, cs_str(p, m->command));
	fprintf(out,
		", \"pid\": %lld, \"hz\": %u, \"event\": ",
		(long long)m->pid, m->hz);
	json_cstr(out, cs_str(p, m->event));
	fprintf(out,
		", \"stats\": {\"duration_s\": %.3f, \"samples\": %llu, \"lost\": %llu, "
		"\"complete\": %llu, \"truncated\": %llu, \"complete_pct\": %.2f, "
		"\"kernel_only\": %llu, \"unresolved\": %llu, \"threads\": %llu, "
		"\"processes\": %llu, \"profiler_cpu_s\": %.3f}",
		(double)st->duration_ns / 1e9, (unsigned long long)st->samples,
		(unsigned long long)st->lost, (unsigned long long)st->complete,
		(unsigned long long)st->truncated, pct(st->complete, unwound),
		(unsigned long long)st->kernel_only, (unsigned long long)st->unresolved,
		(unsigned long long)st->threads, (unsigned long long)st->processes,
		(double)st->profiler_cpu_ns / 1e9);
}

static void json_timeline(const struct cs_profile *p, FILE *out)
{
	static const char *names[] = {"rss_bytes", "threads", "fds", "cpu_pct"};
	fprintf(out, ", \"timeline\": {");
	for (int w = 0; w < 4; w++) {
		struct span s = tl_span(p, w);
		fprintf(out, "%s\"%s\": {\"start\": %.6g, \"peak\": %.6g, \"end\": %.6g}", w ? ", " : "",
			names[w], s.start, s.peak, s.end);
	}
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

static void source_of(const struct cs_profile *p, const struct cs_hotspot *h, char *buf, size_t n)
{
	if (h->file && h->line)
		snprintf(buf, n, "%s:%u", cs_str(p, h->file), h->line);
	else if (h->file)
		snprintf(buf, n, "%s", cs_str(p, h->file));
	else
		buf[0] = 0;
}

static int report_rows(const struct cs_profile *p, const struct cs_report_opts *o, FILE *out)
{
	struct cs_hotspot *rows;
	size_t n = cs_hotspots(p, o->by, &rows);
	uint64_t total = cs_profile_total(p);
	g_sort_total = o->sort_total;
	g_prof = p;
	qsort(rows, n, sizeof(*rows), row_cmp);
	size_t shown = o->top > 0 ? CS_MIN(n, (size_t)o->top) : n;
	char lbuf[512], src[4096];

	if (o->format == CS_FMT_JSON) {
		fprintf(out, "{\"total_samples\": %llu, \"by\": \"%s\", \"hotspots\": [",
			(unsigned long long)total, by_name(o->by));
		for (size_t i = 0; i < shown; i++) {
			const struct cs_hotspot *h = &rows[i];
			fprintf(out, "%s\n  {\"function\": ", i ? "," : "");
			json_cstr(out, row_label(p, h, o->by, lbuf, sizeof(lbuf)));
			fprintf(out, ", \"module\": ");
			json_cstr(out, cs_module_name(p, h->module));
			fprintf(out, ", \"file\": ");
			json_cstr(out, cs_str(p, h->file));
			fprintf(out, ", \"line\": %u, \"self\": %llu, \"total\": %llu, "
				     "\"self_pct\": %.2f, \"total_pct\": %.2f",
				h->line, (unsigned long long)h->self, (unsigned long long)h->total,
				pct(h->self, total), pct(h->total, total));
			if (o->by == CS_BY_THREAD) {
				const struct cs_thread *t = &p->threads.v[h->thread];
				fprintf(out, ", \"tid\": %u, \"pid\": ", t->tid);
				/* perf script without a pid field: unknown */
				fprintf(out, t->pid == CS_NONE ? "null" : "%u", t->pid);
			}
			fputc('}', out);
		}
		fprintf(out, "\n], ");
		json_stats(p, out);
		json_timeline(p, out);
		fprintf(out, "}\n");
	} else if (o->format == CS_FMT_CSV) {
		fprintf(out, "function,module,file,line,self,total,self_pct,total_pct\n");
		for (size_t i = 0; i < shown; i++) {
			const struct cs_hotspot *h = &rows[i];
			csv_str(out, row_label(p, h, o->by, lbuf, sizeof(lbuf)));
			fputc(',', out);
			csv_str(out, cs_module_name(p, h->module));
			fputc(',', out);
			csv_str(out, cs_str(p, h->file));
			fprintf(out, ",%u,%llu,%llu,%.2f,%.2f\n", h->line, (unsigned long long)h->self,
				(unsigned long long)h->total, pct(h->self, total), pct(h->total, total));
		}
	} else {
		int w = 8;
		for (size_t i = 0; i < shown; i++) {
			int l = (int)strlen(row_label(p, &rows[i], o->by, lbuf, sizeof(lbuf)));
			w = CS_MAX(w, CS_MIN(l, 60));
		}
		text_header(p, out);
		fprintf(out, "%7s %7s %8s %8s  %-*s  %-20s %s\n", "self%", "total%", "self", "total",
			w, by_name(o->by), "module", "source");
		for (size_t i = 0; i < shown; i++) {
			const struct cs_hotspot *h = &rows[i];
			source_of(p, h, src, sizeof(src));
			const char *mod = cs_module_name(p, h->module);
			fprintf(out, "%6.2f%% %6.2f%% %8llu %8llu  %-*s  %-20s %s\n", pct(h->self, total),
				pct(h->total, total), (unsigned long long)h->self,
				(unsigned long long)h->total, w,
				row_label(p, h, o->by, lbuf, sizeof(lbuf)), *mod ? mod : "-", src);
		}
		if (shown < n)
			fprintf(out, "# ... %zu more rows (use --top 0 for all)\n", n - shown);
		text_footer(p, total, out);
		text_timeline(p, out);
	}
	free(rows);
	return 0;
}

/* ---- callers / callees of one function ---- */

struct rel {
	uint32_t func, module; /* func CS_NONE: "[root]" (callers) or "[self]" (callees) */
	uint64_t count;
	uint32_t stamp;
};

static int rel_cmp(const void *a, const void *b)
{
	const struct rel *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	/* [root] / [self] (CS_NONE) sort after named functions of the same count. */
	if ((x->func == CS_NONE) != (y->func == CS_NONE))
		return x->func == CS_NONE ? 1 : -1;
	int c = x->func == CS_NONE ? 0 : name_cmp(x->func, y->func);
	return c ? c : module_cmp(x->module, y->module);
}

static int report_relatives(const struct cs_profile *p, const struct cs_report_opts *o, FILE *out)
{
	int callers = o->callers != NULL;
	const char *fn = callers ? o->callers : o->callees;
	uint32_t *frames = NULL;
	size_t fcap = 0;
	uint64_t *count = node_counts(p);
	uint64_t total = cs_profile_total(p), fn_total = 0;
	CS_VEC(struct rel) rels = {0};
	struct cs_map64 ix; /* (func << 32 | module) -> index in rels */
	cs_map64_init(&ix);

	for (uint32_t n = 1; n < p->nodes.n; n++) {
		uint64_t c = count[n];
		if (!c)
			continue;
		size_t depth = p->nodes.v[n].depth;
		if (depth > fcap) {
			fcap = depth;
			frames = cs_xrealloc(frames, fcap * sizeof(*frames));
		}
		cs_profile_frames(p, n, frames, fcap);
		int hit = 0;
		for (size_t d = 0; d < depth; d++) {
			const struct cs_frame *f = &p->frames.v[frames[d]];
			if (strcmp(cs_str(p, f->func), fn))
				continue;
			hit = 1;
			uint32_t rf = CS_NONE, rm = CS_NONE;
			if (callers && d > 0) {
				rf = p->frames.v[frames[d - 1]].func;
				rm = p->frames.v[frames[d - 1]].module;
			} else if (!callers && d + 1 < depth) {
				rf = p->frames.v[frames[d + 1]].func;
				rm = p->frames.v[frames[d + 1]].module;
			}
			int added;
			uint64_t *slot = cs_map64_put(&ix, ((uint64_t)rf << 32) | rm, rels.n, &added);
			if (added) {
				struct rel r = {rf, rm, 0, 0};
				CS_VEC_PUSH(rels, r);
			}
			struct rel *r = &rels.v[*slot];
			if (r->stamp != n) { /* once per stack, even under recursion */
				r->stamp = n;
				r->count += c;
			}
		}
		if (hit)
			fn_total += c;
	}
	g_prof = p;
	qsort(rels.v, rels.n, sizeof(*rels.v), rel_cmp);
	size_t shown = o->top > 0 ? CS_MIN(rels.n, (size_t)o->top) : rels.n;
	const char *what = callers ? "callers" : "callees";
	const char *none = callers ? "[root]" : "[self]";
	int ret = 0;

	if (!fn_total) {
		ret = cs_error("function '%s' does not occur in any sample", fn);
	} else if (o->format == CS_FMT_JSON) {
		fprintf(out, "{\"total_samples\": %llu, \"function\": ", (unsigned long long)total);
		json_cstr(out, fn);
		fprintf(out, ", \"function_total\": %llu, \"function_total_pct\": %.2f, \"%s\": [",
			(unsigned long long)fn_total, pct(fn_total, total), what);
		for (size_t i = 0; i < shown; i++) {
			const struct rel *r = &rels.v[i];
			fprintf(out, "%s\n  {\"function\": ", i ? "," : "");
			json_cstr(out, r->func == CS_NONE ? none : cs_str(p, r->func));
			fprintf(out, ", \"module\": ");
			json_cstr(out, cs_module_name(p, r->module));
			fprintf(out, ", \"samples\": %llu, \"pct_of_function\": %.2f, \"pct\": %.2f}",
				(unsigned long long)r->count, pct(r->count, fn_total),
				pct(r->count, total));
		}
		fprintf(out, "\n]}\n");
	} else if (o->format == CS_FMT_CSV) {
		fprintf(out, "function,module,samples,pct_of_function,pct\n");
		for (size_t i = 0; i < shown; i++) {
			const struct rel *r = &rels.v[i];
			csv_str(out, r->func == CS_NONE ? none : cs_str(p, r->func));
			fputc(',', out);
			csv_str(out, cs_module_name(p, r->module));
			fprintf(out, ",%llu,%.2f,%.2f\n", (unsigned long long)r->count,
				pct(r->count, fn_total), pct(r->count, total));
		}
	} else {
		text_header(p, out);
		fprintf(out, "# %s of %s: %llu samples (%.2f%% of all)\n", what, fn,
			(unsigned long long)fn_total, pct(fn_total, total));
		fprintf(out, "%9s %7s %8s  %-40s %s\n", "of-func%", "total%", "samples",
			callers ? "caller" : "callee", "module");
		for (size_t i = 0; i < shown; i++) {
			const struct rel *r = &rels.v[i];
			const char *mod = cs_module_name(p, r->module);
			fprintf(out, "%8.2f%% %6.2f%% %8llu  %-40s %s\n", pct(r->count, fn_total),
				pct(r->count, total), (unsigned long long)r->count,
				r->func == CS_NONE ? none : cs_str(p, r->func), *mod ? mod : "-");
		}
		if (shown < rels.n)
			fprintf(out, "# ... %zu more rows (use --top 0 for all)\n", rels.n - shown);
	}
	free(frames);
	free(count);
	CS_VEC_FREE(rels);
	cs_map64_release(&ix);
	return ret;
}

int cs_render_report(const struct cs_profile *p, const struct cs_report_opts *o, FILE *out)
{
	if (o->callers || o->callees)
		return report_relatives(p, o, out);
	return report_rows(p, o, out);
}
