/* leaks.c - views of the leak snapshots of a recording: outstanding allocations by
 * call stack, the growth between two snapshots, and the growth suspects (stacks whose
 * outstanding bytes kept rising).
 *
 * The figures come from a file, so they are checked before any is added: a snapshot
 * whose bytes or blocks add up past 64 bits is refused with one line, and a growth is
 * a difference of two such figures, kept as a sign and a magnitude. Sites are found by
 * stack through one index per snapshot, so the work stays linear in the input. */
#include "heap.h"
#include "render.h"
#include "util/buf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SHOW_FRAMES 12
#define JSON_FRAMES 1024

/* Sums of a snapshot's bytes and blocks; -1 if either does not fit in 64 bits. */
static int snap_sums(const struct cs_leak_snapshot *s, uint64_t *bytes, uint64_t *blocks)
{
	uint64_t b = 0, n = 0;
	for (size_t i = 0; i < s->sites.n; i++) {
		if (s->sites.v[i].bytes > UINT64_MAX - b || s->sites.v[i].blocks > UINT64_MAX - n)
			return -1;
		b += s->sites.v[i].bytes;
		n += s->sites.v[i].blocks;
	}
	*bytes = b;
	if (blocks)
		*blocks = n;
	return 0;
}

static uint64_t snap_bytes(const struct cs_leak_snapshot *s, uint64_t *blocks)
{
	uint64_t b = 0, n = 0;
	snap_sums(s, &b, &n); /* checked by cs_render_leaks */
	if (blocks)
		*blocks = n;
	return b;
}

/* stack -> index of its first site, for each snapshot */
struct site_ix {
	struct cs_map64 *m;
	size_t n;
};

static void site_ix_build(const struct cs_profile *p, struct site_ix *x)
{
	x->n = p->leaks.n;
	x->m = cs_xcalloc(x->n + 1, sizeof(*x->m));
	for (size_t k = 0; k < x->n; k++) {
		cs_map64_init(&x->m[k]);
		const struct cs_leak_snapshot *s = &p->leaks.v[k];
		for (size_t i = 0; i < s->sites.n; i++) {
			int added;
			cs_map64_put(&x->m[k], s->sites.v[i].stack, i, &added);
		}
	}
}

static void site_ix_release(struct site_ix *x)
{
	for (size_t k = 0; k < x->n; k++)
		cs_map64_release(&x->m[k]);
	free(x->m);
}

/* The site of stack in snapshot k (its first, should a file list it twice), or NULL. */
static const struct cs_leak_site *find_site(const struct cs_profile *p, const struct site_ix *x,
					    size_t k, uint32_t stack)
{
	uint64_t *i = cs_map64_get(&x->m[k], stack);
	return i ? &p->leaks.v[k].sites.v[*i] : NULL;
}

/* ---- growth suspects ---- */

struct suspect {
	uint32_t stack;
	size_t first; /* index of the first snapshot it appears in */
	uint64_t first_bytes, last_bytes;
	size_t rises;
	double rate; /* bytes per second */
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
static size_t find_suspects(const struct cs_profile *p, const struct site_ix *x,
			    struct suspect **out)
{
	CS_VEC(struct suspect) v = {0};
	size_t n = p->leaks.n;
	if (n >= 3) {
		const struct cs_leak_snapshot *last = &p->leaks.v[n - 1];
		for (size_t i = 0; i < last->sites.n; i++) {
			uint32_t st = last->sites.v[i].stack;
			if (find_site(p, x, n - 1, st) != &last->sites.v[i])
				continue; /* listed twice: the first one counts */
			size_t first = n - 1;
			while (first > 0 && find_site(p, x, first - 1, st))
				first--;
			if (n - first < 3)
				continue;
			size_t rises = 0;
			int ok = 1;
			for (size_t k = first + 1; k < n && ok; k++) {
				uint64_t prev = find_site(p, x, k - 1, st)->bytes;
				uint64_t cur = find_site(p, x, k, st)->bytes;
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
			s.first_bytes = find_site(p, x, first, st)->bytes;
			s.last_bytes = last->sites.v[i].bytes; /* >= first_bytes: it never fell */
			s.rises = rises;
			double dt = last->time_s - p->leaks.v[first].time_s;
			/* Snapshots a hostile file puts 1e-320 s apart would make the rate
			 * infinite (and "inf" is not JSON): such a rate is unknown, 0. */
			s.rate = dt > 0 && isfinite(dt)
				     ? (double)(s.last_bytes - s.first_bytes) / dt
				     : 0;
			if (!isfinite(s.rate))
				s.rate = 0;
			CS_VEC_PUSH(v, s);
		}
	}
	if (v.n > 1)
		qsort(v.v, v.n, sizeof(*v.v), suspect_cmp);
	*out = v.v;
	return v.n;
}

/* ---- text ---- */

/* The leaf-most frames of stack, leaf first, into out (at most cap); returns how many.
 * Walks only as far as it shows, whatever the depth. */
static size_t leaf_frames(const struct cs_profile *p, uint32_t stack, uint32_t *out, size_t cap)
{
	size_t k = 0;
	for (uint32_t n = stack; n && k < cap; n = p->nodes.v[n].parent)
		out[k++] = p->nodes.v[n].frame;
	return k;
}

static void text_stack(const struct cs_profile *p, uint32_t stack, struct cs_buf *b, FILE *out)
{
	uint32_t frames[SHOW_FRAMES];
	size_t shown = leaf_frames(p, stack, frames, SHOW_FRAMES);
	size_t depth = p->nodes.v[stack].depth;
	for (size_t d = 0; d < shown; d++) {
		const struct cs_frame *f = &p->frames.v[frames[d]];
		fprintf(out, "        %s", cs_text_str(b, cs_str(p, f->func)));
		if (f->flags & CS_FRAME_INLINE)
			fprintf(out, " (inlined)");
		if (f->file && f->line)
			fprintf(out, "  %s:%u", cs_text_str(b, cs_str(p, f->file)), f->line);
		else if (*cs_module_name(p, f->module))
			fprintf(out, "  [%s]", cs_text_str(b, cs_module_name(p, f->module)));
		fputc('\n', out);
	}
	if (depth > shown)
		fprintf(out, "        ... %zu more %s toward the root\n", depth - shown,
			depth - shown == 1 ? "frame" : "frames");
}

static const char *kind(const struct cs_leak_snapshot *s)
{
	return s->sampled ? "sampled: estimates" : s->exact ? "exact" : "INEXACT: events were lost";
}

static void text_header(const struct cs_profile *p, FILE *out)
{
	const struct cs_leak_snapshot *last = &p->leaks.v[p->leaks.n - 1];
	fprintf(out, "# csampler leaks");
	if (*cs_str(p, p->meta.command)) {
		fputs(": ", out);
		cs_text_put(out, cs_str(p, p->meta.command));
	}
	if (p->meta.pid)
		fprintf(out, " (PID %lld)", (long long)p->meta.pid);
	fprintf(out, "\n# %zu snapshot%s over %.1f s; ", p->leaks.n, p->leaks.n == 1 ? "" : "s",
		last->time_s);
	if (last->sampled)
		fprintf(out,
			"sampled tracking (about one allocation per %llu bytes): every "
			"figure is an estimate\n",
			(unsigned long long)last->sample_bytes);
	else
		fprintf(out, "every allocation tracked\n");
	uint64_t untracked = 0;
	for (size_t i = 0; i < p->leaks.n; i++)
		untracked = CS_MAX(untracked, p->leaks.v[i].pre_attach_frees);
	fprintf(out, "# allocations made before tracking began are unknown and not counted");
	if (untracked)
		fprintf(out, " (%llu %s of such blocks %s ignored)", (unsigned long long)untracked,
			untracked == 1 ? "free" : "frees", untracked == 1 ? "was" : "were");
	fputc('\n', out);
	for (size_t i = 0; i < p->leaks.n; i++)
		if (!p->leaks.v[i].exact && !p->leaks.v[i].sampled) {
			fprintf(out,
				"# WARNING: snapshot %zu is inexact: the agent lost events, its "
				"figures may be wrong\n",
				i + 1);
		}
}

static void text_snapshot(const struct cs_profile *p, size_t k, double min_age, int top,
			  int cost, FILE *out)
{
	const struct cs_leak_snapshot *s = &p->leaks.v[k];
	uint64_t blocks, bytes = snap_bytes(s, &blocks);
	struct cs_buf b;
	cs_buf_init(&b);
	fprintf(out,
		"\n# snapshot %zu of %zu at %.1f s (%s): %llu %s outstanding in %llu %s "
		"from %zu call %s\n",
		k + 1, p->leaks.n, s->time_s, kind(s), (unsigned long long)bytes,
		bytes == 1 ? "byte" : "bytes", (unsigned long long)blocks,
		blocks == 1 ? "block" : "blocks", s->sites.n, s->sites.n == 1 ? "stack" : "stacks");
	struct cs_leak_site *v = cs_xmalloc((s->sites.n + 1) * sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < s->sites.n; i++)
		if ((double)s->sites.v[i].oldest_age_ns / 1e9 >= min_age)
			v[n++] = s->sites.v[i];
	cs_heap_sort_sites(v, n, cost);
	if (min_age > 0)
		fprintf(out, "# showing %zu %s whose oldest block is at least %.1f s old\n", n,
			n == 1 ? "stack" : "stacks", min_age);
	size_t shown = top > 0 ? CS_MIN(n, (size_t)top) : n;
	for (size_t i = 0; i < shown; i++) {
		cs_heap_text_site(p, s, &v[i], i + 1, cost, out);
		text_stack(p, v[i].stack, &b, out);
	}
	if (shown < n)
		fprintf(out, "# ... %zu more %s (use --top 0 for all)\n", n - shown,
			n - shown == 1 ? "stack" : "stacks");
	free(v);
	cs_buf_release(&b);
}

static void text_suspects(const struct cs_profile *p, const struct site_ix *x, int top, FILE *out)
{
	struct suspect *v;
	size_t n = find_suspects(p, x, &v);
	struct cs_buf b;
	cs_buf_init(&b);
	if (p->leaks.n < 3) {
		fprintf(out,
			"\n# growth suspects: need at least 3 snapshots (have %zu); use a "
			"shorter --interval or a longer recording\n",
			p->leaks.n);
	} else if (!n) {
		fprintf(out,
			"\n# growth suspects: none (no stack's outstanding bytes kept rising)\n");
	} else {
		fprintf(out,
			"\n# growth suspects: stacks whose outstanding bytes kept rising (never "
			"fell, rose in at least half of the intervals)\n");
		size_t shown = top > 0 ? CS_MIN(n, (size_t)top) : n;
		for (size_t i = 0; i < shown; i++) {
			size_t intervals = p->leaks.n - 1 - v[i].first;
			fprintf(out,
				"%3zu. +%.0f bytes/s: from %llu to %llu bytes over %zu "
				"snapshots (rose in %zu of %zu %s)\n",
				i + 1, v[i].rate, (unsigned long long)v[i].first_bytes,
				(unsigned long long)v[i].last_bytes, p->leaks.n - v[i].first,
				v[i].rises, intervals, intervals == 1 ? "interval" : "intervals");
			text_stack(p, v[i].stack, &b, out);
		}
		if (shown < n)
			fprintf(out, "# ... %zu more suspects (use --top 0 for all)\n", n - shown);
	}
	free(v);
	cs_buf_release(&b);
}

/* A growth: b - a of two unsigned 64-bit figures, as a sign and a magnitude. */
struct growth {
	int neg;
	uint64_t mag;
};

static struct growth growth_of(uint64_t a, uint64_t b)
{
	struct growth g = {a > b, a > b ? a - b : b - a};
	return g;
}

static int growth_cmp(struct growth x, struct growth y) /* larger growth first */
{
	if (x.neg != y.neg)
		return x.neg ? 1 : -1;
	if (x.mag == y.mag)
		return 0;
	return (x.mag > y.mag) != x.neg ? -1 : 1;
}

static void growth_put(FILE *out, struct growth g)
{
	fprintf(out, "%c%llu", g.neg ? '-' : '+', (unsigned long long)g.mag);
}

struct delta {
	uint32_t stack;
	struct growth bytes, blocks;
};

static int delta_cmp(const void *a, const void *b)
{
	const struct delta *x = a, *y = b;
	int c = growth_cmp(x->bytes, y->bytes);
	if (c)
		return c;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

static size_t diff(const struct cs_profile *p, const struct site_ix *x, size_t a, size_t b,
		   struct delta **out)
{
	const struct cs_leak_snapshot *sa = &p->leaks.v[a], *sb = &p->leaks.v[b];
	CS_VEC(struct delta) v = {0};
	for (size_t i = 0; i < sb->sites.n; i++) {
		const struct cs_leak_site *s = &sb->sites.v[i];
		if (find_site(p, x, b, s->stack) != s)
			continue;
		const struct cs_leak_site *y = find_site(p, x, a, s->stack);
		struct delta d = {s->stack, growth_of(y ? y->bytes : 0, s->bytes),
				  growth_of(y ? y->blocks : 0, s->blocks)};
		if (d.bytes.mag || d.blocks.mag)
			CS_VEC_PUSH(v, d);
	}
	for (size_t i = 0; i < sa->sites.n; i++) {
		const struct cs_leak_site *y = &sa->sites.v[i];
		if (find_site(p, x, b, y->stack) || find_site(p, x, a, y->stack) != y)
			continue;
		struct delta d = {y->stack, growth_of(y->bytes, 0), growth_of(y->blocks, 0)};
		CS_VEC_PUSH(v, d);
	}
	if (v.n > 1)
		qsort(v.v, v.n, sizeof(*v.v), delta_cmp);
	*out = v.v;
	return v.n;
}

static void text_diff(const struct cs_profile *p, const struct site_ix *x, size_t a, size_t b,
		      int top, FILE *out)
{
	struct delta *v;
	size_t n = diff(p, x, a, b, &v);
	struct cs_buf buf;
	cs_buf_init(&buf);
	fprintf(out, "\n# growth from snapshot %zu (%.1f s) to snapshot %zu (%.1f s): ", a + 1,
		p->leaks.v[a].time_s, b + 1, p->leaks.v[b].time_s);
	growth_put(out,
		   growth_of(snap_bytes(&p->leaks.v[a], NULL), snap_bytes(&p->leaks.v[b], NULL)));
	fprintf(out, " bytes\n");
	size_t shown = top > 0 ? CS_MIN(n, (size_t)top) : n;
	for (size_t i = 0; i < shown; i++) {
		fprintf(out, "%3zu. ", i + 1);
		growth_put(out, v[i].bytes);
		fprintf(out, " bytes, ");
		growth_put(out, v[i].blocks);
		fprintf(out, " blocks\n");
		text_stack(p, v[i].stack, &buf, out);
	}
	if (shown < n)
		fprintf(out, "# ... %zu more %s (use --top 0 for all)\n", n - shown,
			n - shown == 1 ? "stack" : "stacks");
	free(v);
	cs_buf_release(&buf);
}

/* ---- JSON ---- */

/* Root first; of a stack deeper than JSON_FRAMES, its leaf-most JSON_FRAMES frames and
 * the number of those left out toward the root. */
static void json_frames(const struct cs_profile *p, uint32_t stack, FILE *out)
{
	uint32_t frames[JSON_FRAMES];
	size_t n = leaf_frames(p, stack, frames, JSON_FRAMES);
	size_t depth = p->nodes.v[stack].depth;
	fputc('[', out);
	for (size_t d = n; d-- > 0;) {
		const struct cs_frame *f = &p->frames.v[frames[d]];
		cs_json_str(out, cs_str(p, f->func), cs_strlen(p, f->func));
		if (d)
			fputs(", ", out);
	}
	fputc(']', out);
	if (depth > n)
		fprintf(out, ", \"frames_left_out\": %zu", depth - n);
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

static void json_growth(FILE *out, struct growth g)
{
	if (g.neg)
		fputc('-', out);
	fprintf(out, "%llu", (unsigned long long)g.mag);
}

static void json_all(const struct cs_profile *p, const struct site_ix *x,
		     const struct cs_leak_report_opts *o, FILE *out)
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
	size_t ns = find_suspects(p, x, &sv);
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
		size_t nd = diff(p, x, (size_t)o->diff_a - 1, (size_t)o->diff_b - 1, &dv);
		fprintf(out, ", \"diff\": {\"from\": %d, \"to\": %d, \"sites\": [", o->diff_a,
			o->diff_b);
		for (size_t i = 0; i < nd; i++) {
			fprintf(out, "%s\n  {\"frames\": ", i ? "," : "");
			json_frames(p, dv[i].stack, out);
			fprintf(out, ", \"bytes\": ");
			json_growth(out, dv[i].bytes);
			fprintf(out, ", \"blocks\": ");
			json_growth(out, dv[i].blocks);
			fputc('}', out);
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
		return cs_error("--snapshot %d: this recording has snapshots 1 to %zu", o->snapshot,
				n);
	if (o->diff_a &&
	    (o->diff_a < 1 || o->diff_b < 1 || (size_t)o->diff_a > n || (size_t)o->diff_b > n))
		return cs_error("--diff %d %d: this recording has snapshots 1 to %zu", o->diff_a,
				o->diff_b, n);
	if (o->format != CS_FMT_TEXT && o->format != CS_FMT_JSON)
		return cs_error("leak reports come as text or json");
	for (size_t k = 0; k < n; k++) {
		uint64_t bytes, blocks;
		if (snap_sums(&p->leaks.v[k], &bytes, &blocks) < 0)
			return cs_error(
			    "leak snapshot %zu is corrupt: its bytes or blocks add up to "
			    "more than %llu",
			    k + 1, (unsigned long long)UINT64_MAX);
	}
	struct site_ix x;
	site_ix_build(p, &x);
	if (o->format == CS_FMT_JSON) {
		json_all(p, &x, o, out);
	} else {
		text_header(p, out);
		cs_heap_text_summary(p, o, out);
		if (o->diff_a) {
			text_diff(p, &x, (size_t)o->diff_a - 1, (size_t)o->diff_b - 1, o->top, out);
		} else {
			text_snapshot(p, o->snapshot ? (size_t)o->snapshot - 1 : n - 1,
				      o->min_age_s, o->top, o->cost, out);
			text_suspects(p, &x, o->top, out);
		}
	}
	site_ix_release(&x);
	return 0;
}
