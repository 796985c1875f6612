/* gecko.c - the Firefox Profiler's Gecko profile format (the JSON Firefox itself writes;
 * profiler.firefox.com processes it on load): meta, libs, and one thread per recorded
 * thread with its own string, frame and stack tables and its samples with times.
 *
 * Times: the model keeps how often each stack was sampled per thread, not when
 * (the recording's timeline has only per-second totals of all threads). So a thread's
 * samples are laid end to end from the start of the recording at the sampling
 * interval, grouped by stack: a track is as long as the thread's sampled time, and the
 * call tree, flame graph and stack chart are exact, but the order is not the order in
 * which the stacks ran. meta.csampler says so in the file.
 */
#include "view.h"
#include "util/buf.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ROWS 10000000ull /* samples written at most; beyond, each stands for more */

enum { CAT_USER = 0, CAT_KERNEL, CAT_OTHER };

struct gthread {
	const struct cs_profile *p;
	struct cs_map64 strs, frames, stacks; /* model id -> index in the thread's table */
	FILE *st, *ft, *kt;		      /* string, frame, stack tables being written */
	uint32_t nstr, nframe, nstack;
};

static uint32_t gstr(struct gthread *t, uint32_t id)
{
	int added;
	uint64_t *v = cs_map64_put(&t->strs, id, t->nstr, &added);
	if (added) {
		fputs(t->nstr++ ? ",\n" : "\n", t->st);
		const char *s = cs_str(t->p, id);
		if (!*s)
			s = "[unknown]";
		cs_json_str(t->st, s, strlen(s));
	}
	return (uint32_t)*v;
}

static uint32_t gframe(struct gthread *t, uint32_t frame)
{
	int added;
	uint64_t *v = cs_map64_put(&t->frames, frame, t->nframe, &added);
	if (added) {
		uint32_t idx = t->nframe++;
		const struct cs_frame *f = &t->p->frames.v[frame];
		uint32_t loc = gstr(t, f->func);
		/* [location, relevantForJS, innerWindowID, implementation, line, column,
		 *  category, subcategory] */
		fprintf(t->ft, "%s[%u,false,0,null,", idx ? ",\n" : "\n", loc);
		if (f->line)
			fprintf(t->ft, "%u", f->line);
		else
			fputs("null", t->ft);
		fprintf(t->ft, ",null,%d,0]", f->flags & CS_FRAME_KERNEL ? CAT_KERNEL : CAT_USER);
		return idx;
	}
	return (uint32_t)*v;
}

static uint32_t gstack(struct gthread *t, uint32_t node)
{
	const uint64_t *v = cs_map64_get(&t->stacks, node);
	if (v)
		return (uint32_t)*v;
	/* the nodes from node up to the first one already written, then down again */
	uint32_t chain[64];
	size_t n = 0;
	uint32_t at = node;
	while (at && !cs_map64_get(&t->stacks, at) && n < CS_ARRAY_SIZE(chain)) {
		chain[n++] = at;
		at = t->p->nodes.v[at].parent;
	}
	if (at && !cs_map64_get(&t->stacks, at))
		gstack(t, at); /* deeper than the chain: the part above first */
	int64_t prefix = at ? (int64_t)*cs_map64_get(&t->stacks, at) : -1;
	while (n--) {
		uint32_t nd = chain[n];
		uint32_t fr = gframe(t, t->p->nodes.v[nd].frame);
		uint32_t idx = t->nstack++;
		if (prefix < 0)
			fprintf(t->kt, "%s[null,%u]", idx ? ",\n" : "\n", fr);
		else
			fprintf(t->kt, "%s[%lld,%u]", idx ? ",\n" : "\n", (long long)prefix, fr);
		int added;
		*cs_map64_put(&t->stacks, nd, idx, &added) = idx;
		prefix = idx;
	}
	return (uint32_t)prefix;
}

static void put_mem(FILE *out, char *buf, size_t n)
{
	fwrite(buf, 1, n, out);
	free(buf);
}

int cs_render_gecko(const struct cs_profile *p0, const struct cs_view_opts *o, FILE *out)
{
	struct cs_profile tmp;
	cs_profile_init(&tmp);
	const struct cs_profile *p;
	if (cs_view_input(p0, o, 0, &tmp, &p) < 0) {
		cs_profile_release(&tmp);
		return -1;
	}
	size_t nrows;
	const struct cs_sample **rows = cs_view_rows(p, o, &nrows);
	uint64_t total = 0;
	for (size_t i = 0; i < nrows; i++)
		total += cs_view_weight(p, rows[i], o);
	/* How many samples the weights stand for: perf script counts weigh periods and
	 * leak views bytes; then the samples are spread in proportion. */
	uint64_t samples = total;
	if (!o->leaks && p->meta.source == CS_SOURCE_PERF_SCRIPT && p->stats.samples &&
	    p->stats.samples < total)
		samples = p->stats.samples;
	if (o->leaks)
		samples = CS_MIN(total, 10000); /* bytes: a sample per ~total/10000 bytes */
	uint64_t written = CS_MIN(samples, MAX_ROWS);
	double interval = o->leaks			  ? 1.0
			  : cs_time_in_us(p->times.shown) ? 0.001 /* a count is 1 us */
			  : p->meta.hz			  ? 1000.0 / p->meta.hz
							  : 1.0;
	double step = interval * (double)samples / (double)written; /* ms per written sample */
	double per_weight = (double)written / (double)total;

	fprintf(out,
		"{\"meta\":{\"version\":27,\"interval\":%.6f,\"startTime\":%.3f,"
		"\"shutdownTime\":null,\"processType\":0,\"product\":",
		step, (double)p->meta.start_unix_ns / 1e6);
	const char *cmd = cs_str(p, p->meta.command);
	char product[512];
	snprintf(product, sizeof(product), "csampler: %s", *cmd ? cmd : "profile");
	cs_json_str(out, product, strlen(product));
	fprintf(out,
		",\"stackwalk\":1,\"debug\":false,\"abi\":\"\",\"oscpu\":\"\","
		"\"platform\":\"Linux\",\"toolkit\":\"\",\"misc\":\"\",\"appBuildID\":\"\","
		"\"sourceURL\":\"\",\"physicalCPUs\":0,\"logicalCPUs\":0,\"markerSchema\":[],"
		"\"categories\":[{\"name\":\"User\",\"color\":\"yellow\",\"subcategories\":"
		"[\"Other\"]},{\"name\":\"Kernel\",\"color\":\"orange\",\"subcategories\":"
		"[\"Other\"]},{\"name\":\"Other\",\"color\":\"grey\",\"subcategories\":"
		"[\"Other\"]}],\n\"csampler\":{\"version\":\"%s\",\"sampleTimes\":"
		"\"synthesized: each thread's samples end to end at the sampling interval, "
		"grouped by stack (the recording keeps counts per stack, not times)\","
		"\"weight\":\"%s\"}},\n\"libs\":[],\"pausedRanges\":[],\"processes\":[],"
		"\"threads\":[",
		CS_VERSION,
		o->leaks ? "bytes" : cs_time_in_us(p->times.shown) ? "microseconds" : "samples");
	struct cs_buf name;
	cs_buf_init(&name);
	size_t nthreads = 0;
	for (size_t i = 0; i < nrows;) {
		uint32_t th = rows[i]->thread;
		struct gthread t;
		memset(&t, 0, sizeof(t));
		t.p = p;
		cs_map64_init(&t.strs);
		cs_map64_init(&t.frames);
		cs_map64_init(&t.stacks);
		char *sb = NULL, *fb = NULL, *kb = NULL, *xb = NULL;
		size_t sn = 0, fn = 0, kn = 0, xn = 0;
		t.st = open_memstream(&sb, &sn);
		t.ft = open_memstream(&fb, &fn);
		t.kt = open_memstream(&kb, &kn);
		FILE *xt = open_memstream(&xb, &xn);
		if (!t.st || !t.ft || !t.kt || !xt)
			abort();
		double time = 0;
		size_t nsamples = 0;
		for (; i < nrows && rows[i]->thread == th; i++) {
			uint32_t stack = gstack(&t, rows[i]->stack);
			double want = (double)cs_view_weight(p, rows[i], o) * per_weight;
			uint64_t n = (uint64_t)(want + 0.5);
			if (!n)
				n = 1; /* a stack seen is never left out */
			for (uint64_t k = 0; k < n; k++, time += step)
				fprintf(xt, "%s[%u,%.3f,0]", nsamples++ ? ",\n" : "\n", stack,
					time);
		}
		fclose(t.st);
		fclose(t.ft);
		fclose(t.kt);
		fclose(xt);
		const struct cs_thread *ct = &p->threads.v[th];
		name.n = 0;
		cs_view_thread_name(&name, p, th);
		fputs(nthreads++ ? ",\n{\"name\":" : "\n{\"name\":", out);
		cs_json_str(out, (const char *)name.p, name.n);
		const char *proc = cs_str(p, ct->process);
		fputs(",\"processType\":\"default\",\"processName\":", out);
		cs_json_str(out, proc, strlen(proc));
		fprintf(out, ",\"pid\":%u,\"tid\":%u,\"registerTime\":0,\"unregisterTime\":null,",
			ct->pid == CS_NONE ? 0 : ct->pid, ct->tid == CS_NONE ? 0 : ct->tid);
		fputs("\n\"markers\":{\"schema\":{\"name\":0,\"startTime\":1,\"endTime\":2,"
		      "\"phase\":3,\"category\":4,\"data\":5},\"data\":[]},"
		      "\n\"samples\":{\"schema\":{\"stack\":0,\"time\":1,\"eventDelay\":2},"
		      "\"data\":[",
		      out);
		put_mem(out, xb, xn);
		fputs("]},\n\"stackTable\":{\"schema\":{\"prefix\":0,\"frame\":1},\"data\":[", out);
		put_mem(out, kb, kn);
		fputs("]},\n\"frameTable\":{\"schema\":{\"location\":0,\"relevantForJS\":1,"
		      "\"innerWindowID\":2,\"implementation\":3,\"line\":4,\"column\":5,"
		      "\"category\":6,\"subcategory\":7},\"data\":[",
		      out);
		put_mem(out, fb, fn);
		fputs("]},\n\"stringTable\":[", out);
		put_mem(out, sb, sn);
		fputs("]}", out);
		cs_map64_release(&t.strs);
		cs_map64_release(&t.frames);
		cs_map64_release(&t.stacks);
	}
	fputs("]}\n", out);
	cs_buf_release(&name);
	free(rows);
	cs_profile_release(&tmp);
	return 0;
}
