/* leaks.c - views of the leak snapshots of a recording: outstanding allocations by
 * call stack, the growth between two snapshots, and the growth suspects (stacks whose
 * outstanding bytes kept rising). */
#include "heap.h"
#include "render.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SHOW_FRAMES 12

static uint64_t snap_bytes(const struct cs_leak_snapshot *s, uint64_t *blocks)
{
	uint64_t b = 0, n = 0;
	for (size_t i = 0; i < s->sites.n; i++) {
		b += s->sites.v[i].bytes;
		n += s->sites.v[i].blocks;
	}
	if (blocks)
		*blocks = n;
	return b;
}

/* Outstanding bytes and blocks of stack in snapshot s (0 if absent). */
static const struct cs_leak_site *find_site(const struct cs_leak_snapshot *s, uint32_t stack)
{
	for (size_t i = 0; i < s->sites.n; i++)
		if (s->sites.v[i].stack == stack)
			return &s->sites.v[i];
	return NULL;
}

static const struct cs_profile *g_prof; /* for qsort */

/* ---- growth suspects ---- */

struct suspect {
	uint32_t stack;
	size_t first;	      /* index of the first snapshot it appears in */
	uint64_t first_bytes, last_bytes;
	size_t rises;
	double rate;	      /* bytes per second */
};

static int suspect_cmp(const void *a, const void *b)
{
	const struct suspect *x = a, *y = b;
	if (x->rate != y->rate)
		return x->rate > y->rate ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/* A stack is a suspect if it is present in the last snapshot and, since it first
 * appeared, its outstanding bytes never fell and rose in at least half of the
 * intervals, at least twice. (Requiring a rise in every interval would miss a steady
 * leak whenever two snapshots come close together, as the one at the end does.) */
static size_t find_suspects(const struct cs_profile *p, struct suspect **out)
{
	CS_VEC(struct suspect) v = {0};
	size_t n = p->leaks.n;
	if (n >= 3) {
		const struct cs_leak_snapshot *last = &p->leaks.v[n - 1];
		for (size_t i = 0; i < last->sites.n; i++) {
			uint32_t st = last->sites.v[i].stack;
			size_t first = n - 1;
			while (first > 0 && find_site(&p->leaks.v[first - 1], st))
				first--;
			if (n - first < 3)
				continue;
			size_t rises = 0;
			int ok = 1;
			for (size_t k = first + 1; k < n && ok; k++) {
				uint64_t prev = find_site(&p->leaks.v[k - 1], st)->bytes;
				uint64_t cur = find_site(&p->leaks.v[k], st)->bytes;
				if (cur > prev)
					rises++;
				else if (cur < prev)
					ok = 0;
			}
			if (!ok || rises < 2 || rises * 2 < n - 1 - first)
				continue;
			struct suspect s;
			s.stack = st;
			s.first = first;
			s.first_bytes = find_site(&p->leaks.v[first], st)->bytes;
			s.last_bytes = last->sites.v[i].bytes;
			s.rises = rises;
			double dt = last->time_s - p->leaks.v[first].time_s;
			s.rate = dt > 0 ? (double)(s.last_bytes - s.first_bytes) / dt : 0;
			CS_VEC_PUSH(v, s);
		}
	}
	g_prof = p;
	qsort(v.v, v.n, sizeof(*v.v), suspect_cmp);
	*out = v.v;
	return v.n;
}

/* ---- text ---- */

static void text_stack(const struct cs_profile *p, uint32_t stack, FILE *out)
{
	uint32_t frames[512];
	size_t depth = cs_profile_frames(p, stack, frames, 512);
	size_t shown = 0;
	for (size_t d = CS_MIN(depth, 512); d-- > 0 && shown < SHOW_FRAMES; shown++) {
		const struct cs_frame *f = &p->frames.v[frames[d]];
		fprintf(out, "        %s", cs_str(p, f->func));
		if (f->flags & CS_FRAME_INLINE)
			fprintf(out, " (inlined)");
		if (f->file && f->line)
			fprintf(out, "  %s:%u", cs_str(p, f->file), f->line);
		else if (*cs_module_name(p, f->module))
			fprintf(out, "  [%s]", cs_module_name(p, f->module));
		fputc('\n', out);
	}
	if (depth > shown)
		fprintf(out, "        ... %zu more frames toward the root\n", depth - shown);
}

static const char *kind(const struct cs_leak_snapshot *s)
{
	return s->sampled ? "sampled: estimates" : s->exact ? "exact" : "INEXACT: events were lost";
}

static void text_header(const struct cs_profile *p, FILE *out)
{
	const struct cs_leak_snapshot *last = &p->leaks.v[p->leaks.n - 1];
	fprintf(out, "# csampler leaks");
	if (*cs_str(p, p->meta.command))
		fprintf(out, ": %s", cs_str(p, p->meta.command));
	if (p->meta.pid)
		fprintf(out, " (PID %lld)", (long long)p->meta.pid);
	fprintf(out, "\n# %zu snapshot%s over %.1f s; ", p->leaks.n, p->leaks.n == 1 ? "" : "s",
		last->time_s);
	if (last->sampled)
		fprintf(out, "sampled tracking (about one allocation per %llu bytes): every "
			     "figure is an estimate\n",
			(unsigned long long)last->sample_bytes);
	else
		fprintf(out, "every allocation tracked\n");
	uint64_t untracked = 0;
	for (size_t i = 0; i < p->leaks.n; i++)
		untracked = CS_MAX(untracked, p->leaks.v[i].pre_attach_frees);
	fprintf(out, "# allocations made before tracking began are unknown and not counted");
	if (untracked)
		fprintf(out, " (%llu frees of such blocks were ignored)", (unsigned long long)untracked);
	fputc('\n', out);
	for (size_t i = 0; i < p->leaks.n; i++)
		if (!p->leaks.v[i].exact && !p->leaks.v[i].sampled) {
			fprintf(out, "# WARNING: snapshot %zu is inexact: the agent lost events, its "
				     "figures may be wrong\n",
				i + 1);
		}
}

static void text_snapshot(const struct cs_profile *p, size_t k, double min_age, int top,
			  int cost, FILE *out)
{
	const struct cs_leak_snapshot *s = &p->leaks.v[k];
	uint64_t blocks, bytes = snap_bytes(s, &blocks);
	fprintf(out, "\n# snapshot %zu of %zu at %.1f s (%s): %llu bytes outstanding in %llu blocks "
		     "from %zu call stacks\n",
		k + 1, p->leaks.n, s->time_s, kind(s), (unsigned long long)bytes,
		(unsigned long long)blocks, s->sites.n);
	struct cs_leak_site *v = cs_xmalloc((s->sites.n + 1) * sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < s->sites.n; i++)
		if ((double)s->sites.v[i].oldest_age_ns / 1e9 >= min_age)
			v[n++] = s->sites.v[i];
	g_prof = p;
	cs_heap_sort_sites(v, n, cost);
	if (min_age > 0)
		fprintf(out, "# showing %zu stacks whose oldest block is at least %.1f s old\n", n,
			min_age);
	size_t shown = top > 0 ? CS_MIN(n, (size_t)top) : n;
	for (size_t i = 0; i < shown; i++) {
		cs_heap_text_site(p, s, &v[i], i + 1, cost, out);
		text_stack(p, v[i].stack, out);
	}
	if (shown < n)
		fprintf(out, "# ... %zu more stacks (use --top 0 for all)\n", n - shown);
	free(v);
}

static void text_suspects(const struct cs_profile *p, int top, FILE *out)
{
	struct suspect *v;
	size_t n = find_suspects(p, &v);
	if (p->leaks.n < 3) {
		fprintf(out, "\n# growth suspects: need at least 3 snapshots (have %zu); use a "
			     "shorter --interval or a longer recording\n",
			p->leaks.n);
	} else if (!n) {
		fprintf(out, "\n# growth suspects: none (no stack's outstanding bytes kept rising)\n");
	} else {
		fprintf(out, "\n# growth suspects: stacks whose outstanding bytes kept rising (never "
			     "fell, rose in at least half of the intervals)\n");
		size_t shown = top > 0 ? CS_MIN(n, (size_t)top) : n;
		for (size_t i = 0; i < shown; i++) {
			fprintf(out, "%3zu. +%.0f bytes/s: from %llu to %llu bytes over %zu "
				     "snapshots (rose in %zu of %zu intervals)\n",
				i + 1, v[i].rate, (unsigned long long)v[i].first_bytes,
				(unsigned long long)v[i].last_bytes, p->leaks.n - v[i].first,
				v[i].rises, p->leaks.n - 1 - v[i].first);
			text_stack(p, v[i].stack, out);
		}
		if (shown < n)
			fprintf(out, "# ... %zu more suspects (use --top 0 for all)\n", n - shown);
	}
	free(v);
}

struct delta {
	uint32_t stack;
	int64_t bytes, blocks;
};

static int delta_cmp(const void *a, const void *b)
{
	const struct delta *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

static size_t diff(const struct cs_profile *p, size_t a, size_t b, struct delta **out)
{
	const struct cs_leak_snapshot *sa = &p->leaks.v[a], *sb = &p->leaks.v[b];
	CS_VEC(struct delta) v = {0};
	for (size_t i = 0; i < sb->sites.n; i++) {
		const struct cs_leak_site *x = &sb->sites.v[i];
		const struct cs_leak_site *y = find_site(sa, x->stack);
		struct delta d = {x->stack, (int64_t)x->bytes - (int64_t)(y ? y->bytes : 0),
				  (int64_t)x->blocks - (int64_t)(y ? y->blocks : 0)};
		if (d.bytes || d.blocks)
			CS_VEC_PUSH(v, d);
	}
	for (size_t i = 0; i < sa->sites.n; i++) {
		const struct cs_leak_site *y = &sa->sites.v[i];
		if (find_site(sb, y->stack))
			continue;
		struct delta d = {y->stack, -(int64_t)y->bytes, -(int64_t)y->blocks};
		CS_VEC_PUSH(v, d);
	}
	qsort(v.v, v.n, sizeof(*v.v), delta_cmp);
	*out = v.v;
	return v.n;
}

static void text_diff(const struct cs_profile *p, size_t a, size_t b, int top, FILE *out)
{
	struct delta *v;
	size_t n = diff(p, a, b, &v);
	int64_t total = (int64_t)snap_bytes(&p->leaks.v[b], NULL) -
			(int64_t)snap_bytes(&p->leaks.v[a], NULL);
	fprintf(out, "\n# growth from snapshot %zu (%.1f s) to snapshot %zu (%.1f s): %+lld bytes\n",
		a + 1, p->leaks.v[a].time_s, b + 1, p->leaks.v[b].time_s, (long long)total);
	size_t shown = top > 0 ? CS_MIN(n, (size_t)top) : n;
	for (size_t i = 0; i < shown; i++) {
		fprintf(out, "%3zu. %+lld bytes, %+lld blocks\n", i + 1, (long long)v[i].bytes,
			(long long)v[i].blocks);
		text_stack(p, v[i].stack, out);
	}
	if (shown < n)
		fprintf(out, "# ... %zu more stacks (use --top 0 for all)\n", n - shown);
	free(v);
}

/* ---- JSON ---- */

static void json_frames(const struct cs_profile *p, uint32_t stack, FILE *out)
{
	uint32_t frames[1024];
	size_t depth = CS_MIN(cs_profile_frames(p, stack, frames, 1024), (size_t)1024);
	fputc('[', out);
	for (size_t d = 0; d < depth; d++) {
		if (d)
			fputs(", ", out);
		const struct cs_frame *f = &p->frames.v[frames[d]];
		cs_json_str(out, cs_str(p, f->func), cs_strlen(p, f->func));
	}
	fputc(']', out);
}

static void json_site(const struct cs_profile *p, const struct cs_leak_snapshot *snap,
		      const struct cs_leak_site *s, FILE *out)
{
	fprintf(out, "{\"frames\": ");
	json_frames(p, s->stack, out);
	fprintf(out, ", \"bytes\": %llu, \"blocks\": %llu, \"oldest_age\": %.3f",
		(unsigned long long)s->bytes, (unsigned long long)s->blocks,
		(double)s->oldest_age_ns / 1e9);
	cs_heap_json_site(p, snap, s, out);
	fputc('}', out);
}

static void json_all(const struct cs_profile *p, const struct cs_leak_report_opts *o, FILE *out)
{
	fprintf(out, "{\"command\": ");
	cs_json_str(out, cs_str(p, p->meta.command), cs_strlen(p, p->meta.command));
	fprintf(out, ", \"pid\": %lld, \"snapshots\": [", (long long)p->meta.pid);
	size_t from = 0, to = p->leaks.n;
	if (o->snapshot) {
		from = (size_t)o->snapshot - 1;
		to = from + 1;
	}
	for (size_t k = from; k < to; k++) {
		const struct cs_leak_snapshot *s = &p->leaks.v[k];
		uint64_t blocks, bytes = snap_bytes(s, &blocks);
		struct cs_leak_site *v = cs_xmalloc((s->sites.n + 1) * sizeof(*v));
		size_t n = 0;
		for (size_t i = 0; i < s->sites.n; i++)
			if ((double)s->sites.v[i].oldest_age_ns / 1e9 >= o->min_age_s)
				v[n++] = s->sites.v[i];
		cs_heap_sort_sites(v, n, o->cost);
		fprintf(out,
			"%s\n  {\"index\": %zu, \"time\": %.3f, \"exact\": %s, \"sampled\": %s, "
			"\"sample_bytes\": %llu, \"total_bytes\": %llu, \"total_blocks\": %llu, "
			"\"untracked_frees\": %llu, \"sites\": [",
			k > from ? "," : "", k + 1, s->time_s, s->exact ? "true" : "false",
			s->sampled ? "true" : "false", (unsigned long long)s->sample_bytes,
			(unsigned long long)bytes, (unsigned long long)blocks,
			(unsigned long long)s->pre_attach_frees);
		size_t shown = o->top > 0 ? CS_MIN(n, (size_t)o->top) : n;
		for (size_t i = 0; i < shown; i++) {
			fputs(i ? ",\n    " : "\n    ", out);
			json_site(p, s, &v[i], out);
		}
		fprintf(out, "]");
		if (shown < n) /* --top cut the list: say so */
			fprintf(out, ", \"sites_left_out\": %zu", n - shown);
		fprintf(out, "}");
		free(v);
	}
	fprintf(out, "\n], \"suspects\": [");
	struct suspect *sv;
	size_t ns = find_suspects(p, &sv);
	for (size_t i = 0; i < ns; i++) {
		fprintf(out, "%s\n  {\"frames\": ", i ? "," : "");
		json_frames(p, sv[i].stack, out);
		fprintf(out,
			", \"first_bytes\": %llu, \"last_bytes\": %llu, \"growth_bytes_per_s\": "
			"%.1f, \"snapshots\": %zu}",
			(unsigned long long)sv[i].first_bytes, (unsigned long long)sv[i].last_bytes,
			sv[i].rate, p->leaks.n - sv[i].first);
	}
	free(sv);
	fprintf(out, "\n]");
	if (o->diff_a) {
		struct delta *dv;
		size_t nd = diff(p, (size_t)o->diff_a - 1, (size_t)o->diff_b - 1, &dv);
		fprintf(out, ", \"diff\": {\"from\": %d, \"to\": %d, \"sites\": [", o->diff_a, o->diff_b);
		for (size_t i = 0; i < nd; i++) {
			fprintf(out, "%s\n  {\"frames\": ", i ? "," : "");
			json_frames(p, dv[i].stack, out);
			fprintf(out, ", \"bytes\": %lld, \"blocks\": %lld}", (long long)dv[i].bytes,
				(long long)dv[i].blocks);
		}
		fprintf(out, "\n]}");
		free(dv);
	}
	cs_heap_json_extra(p, o, out);
	fprintf(out, ", \"note\": \"allocations made before tracking began are unknown and not "
		     "counted\"}\n");
}

int cs_leak_render_process(const struct cs_profile *p, const struct cs_leak_report_opts *o,
			   FILE *out)
{
	size_t n = p->leaks.n;
	if (!n)
		return cs_error("this recording has no leak snapshots (record them with 'csampler "
				"leaks' or 'csampler record --leaks')");
	if (o->snapshot < 0 || (size_t)o->snapshot > n)
		return cs_error("--snapshot %d: this recording has snapshots 1 to %zu", o->snapshot, n);
	if (o->diff_a && (o->diff_a < 1 || o->diff_b < 1 || (size_t)o->diff_a > n ||
			  (size_t)o->diff_b > n))
		return cs_error("--diff %d %d: this recording has snapshots 1 to %zu", o->diff_a,
				o->diff_b, n);
	if (o->format == CS_FMT_JSON) {
		json_all(p, o, out);
		return 0;
	}
	if (o->format != CS_FMT_TEXT)
		return cs_error("leak reports come as text or json");
	text_header(p, out);
	cs_heap_text_summary(p, o, out);
	if (o->diff_a) {
		text_diff(p, (size_t)o->diff_a - 1, (size_t)o->diff_b - 1, o->top, out);
		return 0;
	}
	text_snapshot(p, o->snapshot ? (size_t)o->snapshot - 1 : n - 1, o->min_age_s, o->top,
		      o->cost, out);
	text_suspects(p, o->top, out);
	return 0;
}
