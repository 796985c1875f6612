/* folded.c - import folded stacks: one line per stack, root first, frames separated by
 * ';', then a space and a sample count ("main;work;spin 42"). This is what
 * stackcollapse-*.pl write and flamegraph.pl reads. */
#include "import.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

uint32_t cs_folded_annotation(const char *name, size_t *len)
{
	static const struct {
		const char *suffix;
		uint32_t flag;
	} ann[] = {
		{"_[k]", CS_FRAME_KERNEL},
		{"_[j]", CS_FRAME_JIT},
		{"_[i]", CS_FRAME_INLINE},
	};
	for (size_t i = 0; i < CS_ARRAY_SIZE(ann); i++) {
		if (*len > 4 && !memcmp(name + *len - 4, ann[i].suffix, 4)) {
			*len -= 4;
			return ann[i].flag;
		}
	}
	return 0;
}

/* Parse the count at the end of a line: digits, optionally a fraction (rounded), after
 * the last space. Returns the index of that space or -1. */
static long split_count(const char *line, size_t len, uint64_t *count)
{
	while (len && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
		len--;
	size_t end = len, i = len;
	while (i && (isdigit((unsigned char)line[i - 1]) || line[i - 1] == '.'))
		i--;
	if (i == end || i == 0 || (line[i - 1] != ' ' && line[i - 1] != '\t'))
		return -1;
	char num[32];
	if (end - i >= sizeof(num))
		return -1;
	memcpy(num, line + i, end - i);
	num[end - i] = 0;
	if (!memchr(num, '.', end - i)) {
		/* an integer: exactly, not through a double (53 bits) */
		uint64_t v = 0;
		for (size_t k = 0; num[k]; k++) {
			v = v * 10 + (uint64_t)(num[k] - '0');
			if (v > 1000000000000000000ull)
				return -1;
		}
		*count = v;
		return (long)i - 1;
	}
	char *e;
	double v = strtod(num, &e);
	if (*e || v < 0 || v > 1e18)
		return -1;
	*count = (uint64_t)(v + 0.5);
	return (long)i - 1;
}

int cs_looks_folded(const char *text, size_t n)
{
	/* Look at the first few non-empty lines: each must end in a count. */
	size_t pos = 0;
	int seen = 0;
	while (pos < n && seen < 5) {
		const char *nl = memchr(text + pos, '\n', n - pos);
		size_t len = nl ? (size_t)(nl - (text + pos)) : n - pos;
		const char *line = text + pos;
		pos += len + 1;
		if (len == 0 || (len == 1 && line[0] == '\r'))
			continue;
		uint64_t c;
		if (split_count(line, len, &c) <= 0)
			return 0;
		seen++;
	}
	return seen > 0;
}

/* Length of the common prefix of a and b. */
static size_t common_prefix(const char *a, size_t an, const char *b, size_t bn)
{
	size_t n = CS_MIN(an, bn), i = 0;
	while (i + 8 <= n) {
		uint64_t x, y;
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			break;
		i += 8;
	}
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

/* The frame of each distinct frame text seen, keyed by the text itself (annotation
 * included): one lookup per frame of a line instead of interning its name, then its
 * frame. A slot holds all but the text, which is copied into one small arena: compared
 * against its first occurrence in the input, every lookup would be a cache miss. */
struct text_slot {
	uint32_t hash;
	uint32_t len; /* 0: free slot (empty texts are never looked up) */
	uint32_t frame;
	uint32_t off; /* in arena */
};

struct text_tab {
	struct text_slot *slot;
	size_t cap, n;
	CS_VEC(char) arena;
};

static void text_grow(struct text_tab *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 1024;
	struct text_slot *ns = cs_xcalloc(ncap, sizeof(*ns));
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->slot[i].len)
			continue;
		size_t j = t->slot[i].hash & (ncap - 1);
		while (ns[j].len)
			j = (j + 1) & (ncap - 1);
		ns[j] = t->slot[i];
	}
	free(t->slot);
	t->slot = ns;
	t->cap = ncap;
}

/* The frame of text s[0..len) (len > 0), interned on first sight. */
static uint32_t text_frame(struct cs_profile *p, struct text_tab *t, const char *s, size_t len)
{
	uint32_t h32 = (uint32_t)cs_hash_bytes(s, len, 0x7f);
	size_t j = h32 & (t->cap - 1);
	for (;; j = (j + 1) & (t->cap - 1)) {
		const struct text_slot *e = &t->slot[j];
		if (!e->len)
			break;
		if (e->hash == h32 && e->len == len && !memcmp(t->arena.v + e->off, s, len))
			return e->frame;
	}
	size_t flen = len;
	struct cs_frame f = {0};
	f.module = CS_NONE;
	f.flags = cs_folded_annotation(s, &flen);
	f.func = cs_profile_str(p, s, flen);
	uint32_t fi = cs_profile_frame(p, &f);
	if (len > UINT32_MAX || t->arena.n + len > UINT32_MAX)
		return fi; /* beyond what the table can hold: interned every time */
	if ((t->n + 1) * 2 > t->cap) {
		text_grow(t);
		j = h32 & (t->cap - 1);
		while (t->slot[j].len)
			j = (j + 1) & (t->cap - 1);
	}
	struct text_slot e = {h32, (uint32_t)len, fi, (uint32_t)t->arena.n};
	CS_GROW(t->arena.v, t->arena.cap, t->arena.n + len);
	memcpy(t->arena.v + t->arena.n, s, len);
	t->arena.n += len;
	t->slot[j] = e;
	t->n++;
	return fi;
}

int cs_import_folded(struct cs_profile *p, const char *text, size_t n, const char *name)
{
	/* Folded files are usually sorted, so a line mostly repeats the frames of the one
	 * before: the stack nodes of the previous line's frames are kept, with the offset
	 * of the ';' after each, and reused while the two lines agree. */
	CS_VEC(size_t) semi_at = {0};
	CS_VEC(uint32_t) node_at = {0};
	CS_VEC(uint32_t) tail = {0};
	struct text_tab texts = {0};
	const char *prev = NULL;
	size_t prev_stop = 0, pos = 0, lineno = 0;
	int ret = -1;

	text_grow(&texts);
	p->meta.source = CS_SOURCE_FOLDED;
	while (pos < n) {
		const char *nl = memchr(text + pos, '\n', n - pos);
		size_t len = nl ? (size_t)(nl - (text + pos)) : n - pos;
		const char *line = text + pos;
		pos += len + 1;
		lineno++;
		while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
			len--;
		if (len == 0)
			continue;
		uint64_t count;
		long sp = split_count(line, len, &count);
		if (sp < 0) {
			cs_error("'%s' line %zu: expected 'frame;frame;... COUNT'", name, lineno);
			goto out;
		}
		size_t start = 0, stop = (size_t)sp;
		uint32_t node = 0;
		size_t same = prev ? common_prefix(prev, prev_stop, line, stop) : 0;
		size_t keep = 0;
		while (keep < semi_at.n && semi_at.v[keep] < same)
			keep++;
		if (keep) {
			node = node_at.v[keep - 1];
			start = semi_at.v[keep - 1] + 1;
		}
		semi_at.n = node_at.n = keep;
		uint32_t base = (uint32_t)p->nodes.n, tail_parent = CS_NONE, tail_base = 0;
		tail.n = 0;
		while (start <= stop) {
			const char *semi = memchr(line + start, ';', stop - start);
			size_t seglen = semi ? (size_t)(semi - (line + start)) : stop - start;
			if (seglen) {
				uint32_t fi = text_frame(p, &texts, line + start, seglen);
				/* below a node made on this line, every node is new: collect
				 * them and add them at once (their ids are known already) */
				if (tail_parent != CS_NONE) {
					CS_VEC_PUSH(tail, fi);
					node = tail_base + (uint32_t)tail.n - 1;
				} else {
					node = cs_profile_node(p, node, fi);
					if (node >= base) {
						tail_parent = node;
						tail_base = (uint32_t)p->nodes.n;
					}
				}
			}
			start += seglen + 1;
			if (!semi)
				break;
			CS_VEC_PUSH(semi_at, start - 1);
			CS_VEC_PUSH(node_at, node);
		}
		if (tail.n)
			cs_profile_chain(p, tail_parent, tail.v, tail.n);
		prev = line;
		prev_stop = stop;
		if (!count)
			continue;
		cs_profile_add(p, node, CS_NONE, count);
		p->stats.samples += count;
	}
	ret = 0;
out:
	free(texts.slot);
	CS_VEC_FREE(texts.arena);
	CS_VEC_FREE(semi_at);
	CS_VEC_FREE(node_at);
	CS_VEC_FREE(tail);
	return ret;
}
