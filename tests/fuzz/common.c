/* common.c - stderr capture and the run of every view behind the readers (fuzz.h). */
#include "fuzz.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/flame.h"
#include "render/render.h"

void fz_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("fuzz: broken promise: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

/* ---- in-memory streams ---- */

/* A FILE that appends to a growable buffer we can inspect, reused across calls
 * (open_memstream would allocate and free on every one). */
struct mem {
	char *p;
	size_t n, cap;
};

static ssize_t mem_write(void *cookie, const char *buf, size_t n)
{
	struct mem *m = cookie;
	if (m->n + n > m->cap) {
		m->cap = (m->n + n) * 2;
		m->p = realloc(m->p, m->cap);
		if (!m->p)
			abort();
	}
	memcpy(m->p + m->n, buf, n);
	m->n += n;
	return (ssize_t)n;
}

static FILE *mem_open(struct mem *m)
{
	FILE *f = fopencookie(m, "w", (cookie_io_functions_t){.write = mem_write});
	if (!f)
		abort();
	return f;
}

/* ---- stderr capture ---- */

/* cs_error and cs_warn print through the stdio stream stderr: pointing it elsewhere
 * catches their lines while sanitizer and libFuzzer reports, which write to the
 * descriptor or their own stream, still reach the terminal. */
static struct mem err_mem;
static FILE *err_file, *saved_stderr;

void fz_capture_begin(void)
{
	if (!err_file)
		err_file = mem_open(&err_mem);
	err_mem.n = 0;
	saved_stderr = stderr;
	stderr = err_file;
}

void fz_capture_end(int ret, const char *what)
{
	fflush(err_file);
	stderr = saved_stderr;
	const char *s = err_mem.p, *end = err_mem.n ? err_mem.p + err_mem.n : s;
	int errors = 0;
	if (err_mem.n && end[-1] != '\n')
		fz_fail("%s: stderr does not end with a line break: '%.*s'", what, (int)err_mem.n,
			s);
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = (size_t)(nl - s);
		if (len < 10 || memcmp(s, "csampler: ", 10))
			fz_fail("%s: a message that does not start with 'csampler: ' (a line break "
				"inside a message?): '%.*s'",
				what, (int)len, s);
		if (len < 19 || memcmp(s + 10, "warning: ", 9))
			errors++;
		s = nl + 1;
	}
	if (ret == FZ_FAILED_OR_GONE) { /* failed with one line, or ended quietly */
		if (errors > 1)
			fz_fail("%s failed with %d error lines instead of one: '%.*s'", what,
				errors, (int)err_mem.n, err_mem.p);
		return;
	}
	if (ret < 0 && errors != 1)
		fz_fail("%s failed with %d error lines instead of one: '%.*s'", what, errors,
			(int)err_mem.n, err_mem.p);
	if (ret == 0 && errors)
		fz_fail("%s succeeded but printed an error: '%.*s'", what, (int)err_mem.n,
			err_mem.p);
	if (ret != 0 && ret != -1)
		fz_fail("%s returned %d, neither 0 nor -1", what, ret);
}

/* ---- every view ---- */

enum out_kind { OUT_TEXT, OUT_CSV, OUT_JSON, OUT_FOLDED, OUT_SVG };

static struct mem out_mem;
static FILE *out_file;

static FILE *out_begin(void)
{
	if (!out_file)
		out_file = mem_open(&out_mem);
	out_mem.n = 0;
	fz_capture_begin();
	return out_file;
}

/* A view wrote what out_mem holds and returned ret: check both. */
static void out_end(int ret, enum out_kind kind, const char *what)
{
	fflush(out_file);
	fz_capture_end(ret, what);
	if (ret < 0)
		return; /* what was written so far is the caller's to discard */
	switch (kind) {
	case OUT_JSON:
		fz_check_json(out_mem.p, out_mem.n, what);
		break;
	case OUT_FOLDED:
		fz_check_folded(out_mem.p, out_mem.n, what);
		break;
	case OUT_SVG:
		fz_check_xml_chars(out_mem.p, out_mem.n, what);
		break;
	case OUT_TEXT:
		fz_check_terminal(out_mem.p, out_mem.n, 0, what);
		break;
	case OUT_CSV:
		fz_check_terminal(out_mem.p, out_mem.n, 1, what);
		break;
	}
}

static void folded_views(const struct cs_profile *p, uint32_t v)
{
	/* no thread root, and one of the others with the annotations on or off */
	int roots[] = {CS_ROOT_NONE, CS_ROOT_THREAD + (int)(v % 4)};
	for (size_t i = 0; i < CS_ARRAY_SIZE(roots); i++) {
		int ann = (v >> 2) & 1;
		struct cs_fold_opts o = {roots[i], ann, ann, ann, (int)((v >> 3) & 1),
					  (int)((v >> 4) & 1)};
		FILE *f = out_begin();
		out_end(cs_render_folded(p, &o, f), OUT_FOLDED, "fold");
	}
}

/* The functions of the leaf and of the root frame of the heaviest sample: names that
 * occur, for --callers and --callees. */
static void pick_functions(const struct cs_profile *p, const char **a, const char **b)
{
	uint64_t best = 0;
	*a = *b = "no such function";
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct cs_sample *s = &p->samples.v[i];
		const struct cs_node *nd = &p->nodes.v[s->stack];
		if (s->stack == 0 || s->count < best)
			continue;
		best = s->count;
		*a = cs_str(p, p->frames.v[nd->frame].func);
		uint32_t root = s->stack;
		while (p->nodes.v[root].parent != 0)
			root = p->nodes.v[root].parent;
		*b = cs_str(p, p->frames.v[p->nodes.v[root].frame].func);
	}
}

static void report_views(const struct cs_profile *p, uint32_t v)
{
	static const enum out_kind kinds[] = {OUT_TEXT, OUT_JSON, OUT_CSV};
	for (int by = CS_BY_FUNCTION; by <= CS_BY_THREAD; by++) {
		struct cs_report_opts o = {0};
		o.by = by;
		o.format = (int)((v + (uint32_t)by) % 3);
		o.sort_total = (v >> 3) & 1;
		o.top = (v >> 4) & 1 ? 0 : 5;
		FILE *f = out_begin();
		out_end(cs_render_report(p, &o, f), kinds[o.format], "report");
	}
	const char *leaf, *root;
	pick_functions(p, &leaf, &root);
	const char *fns[] = {leaf, root, "no such function"};
	for (size_t i = 0; i < CS_ARRAY_SIZE(fns); i++) {
		struct cs_report_opts o = {0};
		o.format = (int)((v + i) % 3);
		o.top = (int)i * 3;
		if (((v >> 5) + i) & 1)
			o.callers = fns[i];
		else
			o.callees = fns[i];
		FILE *f = out_begin();
		out_end(cs_render_report(p, &o, f), kinds[o.format], "report --callers/--callees");
	}
}

static void flame_views(const struct cs_profile *p, uint32_t v)
{
	struct cs_flame_opts o = {0};
	FILE *f = out_begin();
	out_end(cs_render_flame(p, &o, f), OUT_SVG, "flame");

	/* Everything else at once: a small frame budget forces merging. */
	o.title = "t\x01<&]]>";
	o.subtitle = "s";
	o.inverted = o.reverse = 1;
	o.thread_root = CS_ROOT_THREAD + (int)(v % 4);
	o.colors = (int)((v >> 1) % 4);
	o.hash = 1;
	o.minwidth = 5;
	o.minwidth_pct = 1;
	o.max_frames = 64;
	f = out_begin();
	out_end(cs_render_flame(p, &o, f), OUT_SVG, "flame --reverse --max-frames 64 ...");
}

static void leak_views(const struct cs_profile *p, uint32_t v)
{
	int n = (int)CS_MIN(p->leaks.n, (size_t)INT32_MAX);
	int fmt = (v >> 6) & 1 ? CS_FMT_JSON : CS_FMT_TEXT;
	enum out_kind kind = fmt == CS_FMT_JSON ? OUT_JSON : OUT_TEXT;
	const struct {
		int snapshot, diff_a, diff_b;
		double min_age_s;
		const char *what;
	} runs[] = {
	    {0, 0, 0, 0, "report --leaks"},
	    {1, 0, 0, 0.5, "report --leaks --snapshot 1 --min-age 0.5"},
	    {0, 1, n, 0, "report --leaks --diff 1 N"},
	    {0, n, 1, 0, "report --leaks --diff N 1"},
	};
	for (size_t i = 0; i < CS_ARRAY_SIZE(runs); i++) {
		struct cs_leak_report_opts o = {0};
		o.format = fmt;
		o.snapshot = runs[i].snapshot;
		o.diff_a = runs[i].diff_a;
		o.diff_b = runs[i].diff_b;
		o.min_age_s = runs[i].min_age_s;
		o.top = (v >> 7) & 1 ? 0 : 3;
		o.cost = (int)((v >> 9) % 4); /* leaked, allocations, temporary, peak */
		FILE *f = out_begin();
		out_end(cs_render_leaks(p, &o, f), kind, runs[i].what);
	}
	/* flame --leaks and fold --leaks, of the last snapshot or the first */
	struct cs_profile q;
	cs_profile_init(&q);
	fz_capture_begin();
	struct cs_leak_flame_opts lo = {(int)((v >> 8) & 1), (int)((v >> 11) % 4), 0, 0};
	int several;
	int r = cs_leak_profile(p, &lo, &q, &several);
	fz_capture_end(r, "the profile of a leak snapshot");
	if (r == 0) {
		struct cs_fold_opts fo = {0};
		fo.thread_root = several ? CS_ROOT_PID : CS_ROOT_NONE;
		FILE *f = out_begin();
		out_end(cs_render_folded(&q, &fo, f), OUT_FOLDED, "fold --leaks");
		struct cs_flame_opts flo = {0};
		flo.countname = "bytes";
		f = out_begin();
		out_end(cs_render_flame(&q, &flo, f), OUT_SVG, "flame --leaks");
	}
	cs_profile_release(&q);
}

void fz_render_all(const struct cs_profile *p, uint32_t variant)
{
	folded_views(p, variant);
	report_views(p, variant);
	flame_views(p, variant);
	if (p->leaks.n) {
		leak_views(p, variant);
	} else {
		/* the error path: no snapshots */
		struct cs_leak_report_opts o = {0};
		FILE *f = out_begin();
		out_end(cs_render_leaks(p, &o, f), OUT_TEXT, "report --leaks");
	}
}

uint32_t fz_variant(const uint8_t *data, size_t n)
{
	return (uint32_t)cs_hash_bytes(data, n, 0x5eed);
}
