/* view.c - the table of views and what the export formats share. */
#include "view.h"
#include "util/buf.h"

#include <stdlib.h>
#include <string.h>

static int view_folded(const struct cs_profile *p, const struct cs_view_opts *o, FILE *out)
{
	static const struct cs_fold_opts none;
	return cs_render_folded(p, o->fold ? o->fold : &none, out);
}

static int view_report(const struct cs_profile *p, const struct cs_view_opts *o, FILE *out)
{
	static const struct cs_report_opts def = {.top = 25};
	static const struct cs_leak_report_opts ldef = {.top = 10};
	if (o->leaks)
		return cs_render_leaks(p, o->leak_report ? o->leak_report : &ldef, out);
	return cs_render_report(p, o->report ? o->report : &def, out);
}

static int view_flame(const struct cs_profile *p, const struct cs_view_opts *o, FILE *out)
{
	static const struct cs_flame_opts none;
	return cs_render_flame(p, o->flame ? o->flame : &none, out);
}

const struct cs_view cs_views[] = {
    {"folded", "folded stacks, one line per unique stack", 0, ".folded", view_folded},
    {"report", "hotspot list (or the leak report)", 0, ".txt", view_report},
    {"flame", "interactive SVG flamegraph", 0, ".svg", view_flame},
    {"pprof", "gzip'd profile.proto for go tool pprof, Pyroscope, Parca",
     CS_VIEW_EXPORT | CS_VIEW_BINARY, ".pb.gz", cs_render_pprof},
    {"speedscope", "speedscope JSON, one sampled profile per thread", CS_VIEW_EXPORT,
     ".speedscope.json", cs_render_speedscope},
    {"gecko", "Firefox Profiler (Gecko profile JSON), one track per thread", CS_VIEW_EXPORT,
     ".gecko.json", cs_render_gecko},
    {"callgrind", "callgrind profile for callgrind_annotate and KCachegrind", CS_VIEW_EXPORT,
     ".callgrind", cs_render_callgrind},
    {NULL, NULL, 0, NULL, NULL},
};

const struct cs_view *cs_view_find(const char *name)
{
	for (const struct cs_view *v = cs_views; v->name; v++)
		if (!strcmp(v->name, name))
			return v;
	return NULL;
}

uint64_t cs_view_weight(const struct cs_profile *p, const struct cs_sample *s,
			const struct cs_view_opts *o)
{
	(void)p;
	(void)o; /* CPU samples (or leak bytes) are the only weight the model holds yet */
	return s->count;
}

const char *cs_view_time_type(const struct cs_profile *p)
{
	unsigned sel = p->times.shown;
	if (!cs_time_in_us(sel))
		return "cpu";
	return sel == CS_SEL_OFF ? "off_cpu" : cs_time_name(sel);
}

static int by_thread(const void *a, const void *b)
{
	const struct cs_sample *x = *(const struct cs_sample *const *)a,
			       *y = *(const struct cs_sample *const *)b;
	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

const struct cs_sample **cs_view_rows(const struct cs_profile *p, const struct cs_view_opts *o,
				      size_t *n)
{
	const struct cs_sample **rows = cs_xmalloc((p->samples.n + 1) * sizeof(*rows));
	size_t k = 0;
	for (size_t i = 0; i < p->samples.n; i++)
		if (cs_view_weight(p, &p->samples.v[i], o))
			rows[k++] = &p->samples.v[i];
	qsort(rows, k, sizeof(*rows), by_thread);
	*n = k;
	return rows;
}

uint64_t cs_view_period_ns(const struct cs_profile *p, const struct cs_view_opts *o)
{
	if (!o->leaks && cs_time_in_us(p->times.shown))
		return 1000; /* the counts are microseconds */
	if (o->leaks || p->meta.source != CS_SOURCE_RECORDING || !p->meta.hz)
		return 0;
	return 1000000000ull / p->meta.hz;
}

void cs_view_unit(const struct cs_profile *p, const struct cs_view_opts *o, const char **type,
		  const char **unit)
{
	*type = "samples";
	*unit = "count";
	if (o->leaks) {
		*type = "inuse_space";
		*unit = "bytes";
	} else if (cs_time_in_us(p->times.shown)) {
		*type = cs_view_time_type(p);
		*unit = "microseconds";
	} else if (p->meta.source == CS_SOURCE_PERF_SCRIPT &&
		   p->stats.samples != cs_profile_total(p)) {
		const char *ev = cs_str(p, p->meta.event);
		if (!strcmp(ev, "cpu-clock") || !strcmp(ev, "task-clock")) {
			*type = "cpu";
			*unit = "nanoseconds";
		} else if (*ev) {
			*type = ev; /* periods of another event */
		}
	}
}

int cs_view_input(const struct cs_profile *p, const struct cs_view_opts *o, int objects,
		  struct cs_profile *tmp, const struct cs_profile **use)
{
	*use = p;
	if (!o->leaks) {
		if (!cs_profile_total(p))
			return cs_error("the profile has no samples");
		return 0;
	}
	struct cs_leak_flame_opts lo = {o->snapshot, CS_COST_LEAKED, o->pid, objects};
	int several = 0;
	if (cs_leak_profile(p, &lo, tmp, &several) < 0)
		return -1;
	*use = tmp;
	return 0;
}

void cs_view_thread_name(struct cs_buf *b, const struct cs_profile *p, uint32_t t)
{
	const struct cs_thread *th = &p->threads.v[t];
	const char *name = cs_str(p, th->name);
	if (!*name)
		name = cs_str(p, th->process);
	if (!*name)
		name = "thread";
	cs_buf_put(b, name, strlen(name));
	if (th->tid != CS_NONE && th->tid) {
		char num[24];
		int n = snprintf(num, sizeof(num), " (%u)", th->tid);
		cs_buf_put(b, num, (size_t)n);
	}
}
