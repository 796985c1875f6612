/* heap_show.c - what the leak report prints of the heap: a site's line by cost, the
 * process, the heap's peak and totals, the timeline of tracked bytes next to RSS
 * (a table and sparklines), and the same as JSON. */
#include "heap.h"

#include <stdlib.h>
#include <string.h>

#define TIMELINE_ROWS 12
#define SPARK_WIDTH   60

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
		total += cs_heap_cost(&s->sites.v[i], cost);
	double pct = total ? 100.0 * (double)cs_heap_cost(site, cost) / (double)total : 0.0;
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
	size_t n = cs_heap_select(p, o->pid, 0, &sel);
	uint32_t *canon = cs_heap_canonical(p);
	struct cs_leak_report_opts rest = *o;
	rest.whole = NULL;
	fprintf(out, ", \"processes\": [");
	for (size_t i = 1; i < n; i++) {
		struct cs_profile v;
		cs_heap_view(&v, p, sel[i], canon, o->cost);
		fputs(i > 1 ? ",\n" : "\n", out);
		cs_leak_render_process(&v, &rest, out);
		cs_heap_view_release(&v);
	}
	fprintf(out, "]");
	free(canon);
	free(sel);
}
