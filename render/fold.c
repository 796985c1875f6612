/* fold.c - folded stacks: "root;...;leaf COUNT", one line per unique stack. */
#include "render.h"
#include "util/buf.h"

#include <stdlib.h>
#include <string.h>

void cs_fold_put_name(FILE *out, const char *s, size_t len)
{
	size_t i = 0, start = 0;
	for (; i < len; i++) {
		char c = s[i];
		if (c != ';' && c != '\n' && c != '\r')
			continue;
		fwrite(s + start, 1, i - start, out);
		fputc(c == ';' ? ':' : ' ', out);
		start = i + 1;
	}
	fwrite(s + start, 1, len - start, out);
}

static void buf_name(struct cs_buf *b, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == ';')
			c = ':';
		else if (c == '\n' || c == '\r')
			c = ' ';
		cs_buf_put_u8(b, (uint8_t)c);
	}
}

/* " (base.py:12)": where a frame is, in a form no folded-text reader splits. */
static void put_line(struct cs_buf *b, const char *file, uint32_t line)
{
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	char num[16];
	cs_buf_put(b, " (", 2);
	buf_name(b, base, strlen(base));
	int k = snprintf(num, sizeof(num), ":%u)", line);
	cs_buf_put(b, num, (size_t)k);
}

struct line {
	size_t off, len;
	uint64_t count;
};

static const char *g_text; /* qsort has no context argument */

static int line_cmp(const void *a, const void *b)
{
	const struct line *x = a, *y = b;
	size_t n = CS_MIN(x->len, y->len);
	int c = memcmp(g_text + x->off, g_text + y->off, n);
	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

void cs_thread_root_label(struct cs_buf *b, const struct cs_profile *p, const struct cs_thread *t,
			  int kind)
{
	char num[48], pid[16];
	const char *name = cs_str(p, kind == CS_ROOT_THREAD ? t->name : t->process);
	if (!*name)
		name = cs_str(p, t->name);
	size_t start = b->n;
	buf_name(b, name, strlen(name));
	if (kind != CS_ROOT_THREAD)
		for (size_t i = start; i < b->n; i++)
			if (b->p[i] == ' ')
				b->p[i] = '_';
	if (t->pid == CS_NONE)
		snprintf(pid, sizeof(pid), "?");
	else
		snprintf(pid, sizeof(pid), "%u", t->pid);
	if (kind == CS_ROOT_THREAD)
		snprintf(num, sizeof(num), "-%u", t->tid);
	else if (kind == CS_ROOT_PID)
		snprintf(num, sizeof(num), "-%s", pid);
	else if (kind == CS_ROOT_TID)
		snprintf(num, sizeof(num), "-%s/%u", pid, t->tid);
	else
		num[0] = 0;
	cs_buf_put(b, num, strlen(num));
}

int cs_render_folded(const struct cs_profile *p, const struct cs_fold_opts *o, FILE *out)
{
	struct cs_map64 agg;
	struct cs_buf text;
	CS_VEC(struct line) lines = {0};
	uint32_t *frames = NULL;
	size_t fcap = 0;

	cs_map64_init(&agg);
	cs_buf_init(&text);
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct cs_sample *s = &p->samples.v[i];
		if (!s->count && !o->zero_lines)
			continue;
		uint64_t key = s->stack;
		if (o->thread_root != CS_ROOT_NONE)
			key |= (uint64_t)s->thread << 32; /* threads are interned: one per identity */
		int added;
		uint64_t *slot = cs_map64_put(&agg, key, lines.n, &added);
		if (added) {
			struct line l = {0, 0, 0};
			CS_VEC_PUSH(lines, l);
		}
		lines.v[*slot].count += s->count;
	}
	/* Build the text of each line. */
	for (size_t k = 0; k < agg.cap; k++) {
		if (!agg.used[k])
			continue;
		struct line *l = &lines.v[agg.vals[k]];
		uint32_t stack = (uint32_t)agg.keys[k];
		uint32_t thread = (uint32_t)(agg.keys[k] >> 32);
		l->off = text.n;
		int first = 1;
		if (o->thread_root != CS_ROOT_NONE) {
			cs_thread_root_label(&text, p, &p->threads.v[thread], o->thread_root);
			first = 0;
		}
		size_t depth = p->nodes.v[stack].depth;
		if (depth > fcap) {
			fcap = depth;
			frames = cs_xrealloc(frames, fcap * sizeof(*frames));
		}
		cs_profile_frames(p, stack, frames, fcap);
		for (size_t d = 0; d < depth; d++) {
			const struct cs_frame *f = &p->frames.v[frames[d]];
			if (!first)
				cs_buf_put_u8(&text, ';');
			first = 0;
			buf_name(&text, cs_str(p, f->func), cs_strlen(p, f->func));
			/* one suffix per frame, inlining first, as stackcollapse-perf.pl */
			if (o->annotate_inline && (f->flags & CS_FRAME_INLINE))
				cs_buf_put(&text, "_[i]", 4);
			else if (o->annotate_kernel && (f->flags & CS_FRAME_KERNEL))
				cs_buf_put(&text, "_[k]", 4);
			else if (o->annotate_jit && (f->flags & CS_FRAME_JIT))
				cs_buf_put(&text, "_[j]", 4);
			if (o->lines && f->file && f->line)
				put_line(&text, cs_str(p, f->file), f->line);
		}
		l->len = text.n - l->off;
	}
	g_text = text.n ? (const char *)text.p : ""; /* no NULL + 0 for empty stacks */
	if (lines.n > 1)
		qsort(lines.v, lines.n, sizeof(*lines.v), line_cmp);
	for (size_t i = 0; i < lines.n;) {
		const struct line *l = &lines.v[i];
		uint64_t count = 0;
		size_t j = i;
		/* Different threads can fold to the same text (e.g. one root per process). */
		for (; j < lines.n && !line_cmp(l, &lines.v[j]); j++)
			count += lines.v[j].count;
		i = j;
		if (!l->len)
			continue; /* an empty stack has no frames to show */
		fwrite(text.p + l->off, 1, l->len, out);
		fprintf(out, " %llu\n", (unsigned long long)count);
	}
	g_text = NULL;
	free(frames);
	CS_VEC_FREE(lines);
	cs_buf_release(&text);
	cs_map64_release(&agg);
	return 0;
}
