/* speedscope.c - speedscope's file format (https://www.speedscope.app/file-format-schema.json):
 * the frames shared by every profile, and one "sampled" profile per thread whose
 * samples are stacks of frame indices, root first, each with its weight. */
#include "view.h"
#include "util/buf.h"

#include <stdlib.h>
#include <string.h>

struct sframe {
	uint32_t func, file, line;
};

struct ss {
	const struct cs_profile *p;
	CS_VEC(struct sframe) frames;
	struct cs_index ix;
	uint32_t *of_frame; /* model frame -> speedscope frame + 1 (0: not yet) */
};

struct skey {
	struct ss *s;
	const struct sframe *f;
};

static int sframe_eq(void *ctx, uint32_t idx)
{
	struct skey *k = ctx;
	const struct sframe *a = &k->s->frames.v[idx], *b = k->f;
	return a->func == b->func && a->file == b->file && a->line == b->line;
}

/* Frames that differ only in their address are one frame to speedscope. */
static uint32_t sframe(struct ss *s, uint32_t frame)
{
	if (s->of_frame[frame])
		return s->of_frame[frame] - 1;
	const struct cs_frame *f = &s->p->frames.v[frame];
	struct sframe sf = {f->func, f->file, f->file ? f->line : 0};
	if (!sf.file && f->module != CS_NONE)
		sf.file = s->p->modules.v[f->module].path; /* where the code is, at least */
	uint64_t h = cs_hash_u64(((uint64_t)sf.func << 32 | sf.file) ^ cs_hash_u64(sf.line));
	struct skey k = {s, &sf};
	uint32_t idx = cs_index_find(&s->ix, h, sframe_eq, &k);
	if (idx == CS_INDEX_NONE) {
		idx = (uint32_t)s->frames.n;
		CS_VEC_PUSH(s->frames, sf);
		cs_index_insert(&s->ix, h, idx);
	}
	s->of_frame[frame] = idx + 1;
	return idx;
}

int cs_render_speedscope(const struct cs_profile *p0, const struct cs_view_opts *o, FILE *out)
{
	struct cs_profile tmp;
	cs_profile_init(&tmp);
	const struct cs_profile *p;
	if (cs_view_input(p0, o, 0, &tmp, &p) < 0) {
		cs_profile_release(&tmp);
		return -1;
	}
	struct ss s;
	memset(&s, 0, sizeof(s));
	s.p = p;
	cs_index_init(&s.ix);
	s.of_frame = cs_xcalloc(p->frames.n + 1, sizeof(*s.of_frame));
	uint64_t period = cs_view_period_ns(p, o);
	const char *type, *unit;
	cs_view_unit(p, o, &type, &unit);
	unit = o->leaks ? "bytes" : period || !strcmp(unit, "nanoseconds") ? "nanoseconds" : "none";
	if (!period)
		period = 1;

	/* the samples of each thread together */
	size_t nrows;
	const struct cs_sample **rows = cs_view_rows(p, o, &nrows);

	/* Profiles first (frames are numbered as they are met), into a buffer. */
	char *body = NULL;
	size_t body_n = 0;
	FILE *b = open_memstream(&body, &body_n);
	if (!b)
		abort();
	struct cs_buf name;
	cs_buf_init(&name);
	uint32_t *stack = NULL;
	size_t cap = 0;
	size_t nprof = 0;
	for (size_t i = 0; i < nrows;) {
		uint32_t t = rows[i]->thread;
		size_t end = i;
		uint64_t total = 0;
		while (end < nrows && rows[end]->thread == t)
			total += cs_view_weight(p, rows[end++], o) * period;
		name.n = 0;
		cs_view_thread_name(&name, p, t);
		fputs(nprof++ ? ",\n{\"type\":\"sampled\",\"name\":"
			      : "\n{\"type\":\"sampled\",\"name\":",
		      b);
		cs_json_str(b, (const char *)name.p, name.n);
		fprintf(b, ",\"unit\":\"%s\",\"startValue\":0,\"endValue\":%llu,\"samples\":[",
			unit, (unsigned long long)total);
		for (size_t k = i; k < end; k++) {
			size_t d = p->nodes.v[rows[k]->stack].depth;
			CS_GROW(stack, cap, d + 1);
			cs_profile_frames(p, rows[k]->stack, stack, d);
			fputs(k > i ? ",[" : "[", b);
			for (size_t j = 0; j < d; j++)
				fprintf(b, j ? ",%u" : "%u", sframe(&s, stack[j]));
			fputc(']', b);
		}
		fputs("],\"weights\":[", b);
		for (size_t k = i; k < end; k++)
			fprintf(b, k > i ? ",%llu" : "%llu",
				(unsigned long long)(cs_view_weight(p, rows[k], o) * period));
		fputs("]}", b);
		i = end;
	}
	int bad = fclose(b) != 0;

	fprintf(out,
		"{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\n"
		"\"exporter\":\"csampler %s\",\"name\":",
		CS_VERSION);
	const char *title = cs_str(p, p->meta.command);
	if (!*title)
		title = "csampler profile";
	cs_json_str(out, title, strlen(title));
	fputs(",\"activeProfileIndex\":0,\n\"shared\":{\"frames\":[", out);
	for (size_t i = 0; i < s.frames.n; i++) {
		const struct sframe *f = &s.frames.v[i];
		fputs(i ? ",\n{\"name\":" : "\n{\"name\":", out);
		cs_json_str(out, cs_str(p, f->func), cs_strlen(p, f->func));
		if (f->file) {
			fputs(",\"file\":", out);
			cs_json_str(out, cs_str(p, f->file), cs_strlen(p, f->file));
		}
		if (f->line)
			fprintf(out, ",\"line\":%u", f->line);
		fputc('}', out);
	}
	fputs("]},\n\"profiles\":[", out);
	fwrite(body, 1, body_n, out);
	fputs("]}\n", out);

	free(body);
	free(stack);
	free(rows);
	cs_buf_release(&name);
	free(s.of_frame);
	CS_VEC_FREE(s.frames);
	cs_index_release(&s.ix);
	cs_profile_release(&tmp);
	return bad ? cs_error("cannot build the speedscope file: out of memory") : 0;
}
