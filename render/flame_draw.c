/* flame_draw.c - the static drawing of a flame graph: what a viewer without script
 * shows. See flame_draw.h; flame.js holds the same layout, labels and colours. */
#include "flame_draw.h"
#include "flame.h"

#include <stdlib.h>
#include <string.h>

/* The static drawing stops after the row that passes STATIC_BYTES (a deep or very
 * wide profile must not make the file many times larger: the script draws it all);
 * frames after TITLE_BYTES get no <title>. The 20,000-stack benchmark draws about
 * 2,000 frames, some 500 KB with their titles. */
#define STATIC_BYTES (1024 * 1024)
#define TITLE_BYTES  (640 * 1024)
/* Longest name in a <title>, in UTF-16 code units (the table holds it whole). */
#define TITLE_NAME_MAX 400

/* ---- names, hashes, colours ---- */

uint32_t cs_flame_hash_name(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		i += cs_flame_utf8_next(u + i, len - i, &cp);
		if (cp >= 0x10000) {
			/* as JavaScript sees it: a surrogate pair */
			h = (h ^ (0xd800 + ((cp - 0x10000) >> 10))) * 16777619u;
			cp = 0xdc00 + ((cp - 0x10000) & 0x3ff);
		}
		h = (h ^ cp) * 16777619u;
	}
	h ^= h >> 15;
	h *= 2246822507u;
	h ^= h >> 13;
	return h;
}

uint32_t cs_flame_node_hash(uint32_t name_hash, uint32_t node, int by_name)
{
	if (by_name)
		return name_hash;
	uint32_t h = name_hash ^ ((node + 1) * 0x9e3779b1u);
	h ^= h >> 16;
	h *= 0x7feb352du;
	h ^= h >> 15;
	h *= 0x846ca68bu;
	h ^= h >> 16;
	return h;
}

/* Per kind of frame: the two ends of its range of hues (RGB), and how far towards
 * white the lightness may go (/256). */
static const struct {
	uint8_t lo[3], hi[3], light;
} kinds[] = {
    {{204, 204, 204}, {220, 220, 220}, 0},  /* root */
    {{230, 61, 55}, {230, 131, 55}, 47},    /* user code: red to orange */
    {{231, 159, 35}, {191, 231, 35}, 54},   /* library: by module, amber to yellow-green */
    {{102, 169, 214}, {102, 128, 214}, 54}, /* kernel: blues */
    {{62, 204, 185}, {62, 189, 204}, 43},   /* inlined: teals */
    {{104, 198, 57}, {57, 198, 76}, 51},    /* JIT: greens */
    {{168, 168, 168}, {189, 189, 189}, 0},  /* unknown: greys */
    {{128, 118, 190}, {150, 150, 176}, 40}, /* off-CPU (only waiting below it): slate */
};

uint32_t cs_flame_colour(int colors, uint32_t kind, uint32_t h, int has_module,
			 uint32_t module_hash)
{
	uint32_t a = h & 0xffff, b = (h >> 16) & 0xff, c = h >> 24;
	uint32_t rgb[3];
	switch (colors) {
	case CS_COLORS_HOT:
		rgb[0] = 205 + ((50 * c) >> 8);
		rgb[1] = (230 * a) >> 16;
		rgb[2] = (55 * b) >> 8;
		break;
	case CS_COLORS_MEM:
		rgb[0] = 0;
		rgb[1] = 190 + ((50 * b) >> 8);
		rgb[2] = (210 * a) >> 16;
		break;
	case CS_COLORS_IO:
		rgb[0] = rgb[1] = 80 + ((60 * a) >> 16);
		rgb[2] = 190 + ((55 * b) >> 8);
		break;
	default: {
		uint32_t k = kind < sizeof(kinds) / sizeof(kinds[0]) ? kind : 6;
		uint32_t t = k == 2 && has_module ? module_hash >> 16 : a;
		for (int i = 0; i < 3; i++) {
			uint32_t v = (kinds[k].lo[i] * (65536 - t) + kinds[k].hi[i] * t) >> 16;
			rgb[i] = v + (((255 - v) * b * kinds[k].light) >> 16);
		}
	}
	}
	return rgb[0] << 16 | rgb[1] << 8 | rgb[2];
}

static const char *const kind_names[] = {"root",    "user code", "library", "kernel",
					 "inlined", "JIT",	 "unknown", "off-CPU"};
#define NKINDS 8

struct cs_flame_coord cs_flame_coord(double v)
{
	struct cs_flame_coord c;
	if (!(v > -1e15 && v < 1e15))
		v = 0; /* not a coordinate any viewer can use; never reached by flame_svg.c */
	snprintf(c.s, sizeof(c.s), "%.2f", v);
	char *e = c.s + strlen(c.s);
	while (e[-1] == '0')
		*--e = 0;
	if (e[-1] == '.')
		*--e = 0;
	if (!strcmp(c.s, "-0"))
		strcpy(c.s, "0");
	return c;
}

static void put_coord(FILE *out, double v)
{
	fputs(cs_flame_coord(v).s, out);
}

static void put_fill(FILE *out, uint32_t fill)
{
	if (fill == CS_FLAME_FILL_GONE)
		fputs("url(#cs-gone)", out);
	else
		fprintf(out, "#%06x", fill & 0xffffff);
}

/* The caller's legend (struct cs_flame_paint) */
static void draw_own_legend(FILE *out, const struct cs_flame_layout *l, double y)
{
	double x = l->xpad, charw = l->fs * 0.59;
	for (size_t i = 0; i < l->nlegend; i++) {
		fputs("<rect x=\"", out);
		put_coord(out, x);
		fputs("\" y=\"", out);
		put_coord(out, y - l->fs * 0.75);
		fputs("\" width=\"", out);
		put_coord(out, l->fs * 0.8);
		fputs("\" height=\"", out);
		put_coord(out, l->fs * 0.8);
		fputs("\" fill=\"", out);
		put_fill(out, l->legend[i].fill);
		fputs("\"/><text x=\"", out);
		put_coord(out, x + l->fs);
		fputs("\" y=\"", out);
		put_coord(out, y);
		fputs("\">", out);
		cs_flame_xml_str(out, l->legend[i].label, strlen(l->legend[i].label));
		fputs("</text>\n", out);
		x += l->fs * 1.6 + (double)strlen(l->legend[i].label) * charw * 0.9;
	}
}

void cs_flame_draw_legend(FILE *out, const struct cs_flame_layout *l, double y,
			  const struct cs_flame_ddesc *descs, size_t ndescs)
{
	if (l->legend) {
		draw_own_legend(out, l, y);
		return;
	}
	if (l->colors != CS_COLORS_MODULE)
		return;
	int seen[NKINDS] = {0};
	for (size_t i = 0; i < ndescs; i++)
		seen[descs[i].kind < NKINDS ? descs[i].kind : 6] = 1;
	double x = l->xpad, charw = l->fs * 0.59;
	for (int k = 1; k < NKINDS; k++) {
		if (!seen[k])
			continue;
		fputs("<rect x=\"", out);
		put_coord(out, x);
		fputs("\" y=\"", out);
		put_coord(out, y - l->fs * 0.75);
		fputs("\" width=\"", out);
		put_coord(out, l->fs * 0.8);
		fputs("\" height=\"", out);
		put_coord(out, l->fs * 0.8);
		fprintf(out, "\" fill=\"#%06x\"/><text x=\"",
			cs_flame_colour(l->colors, (uint32_t)k, 0x80808080u, 0, 0));
		put_coord(out, x + l->fs);
		fputs("\" y=\"", out);
		put_coord(out, y);
		fprintf(out, "\">%s</text>\n", kind_names[k]);
		x += l->fs * 1.6 + (double)strlen(kind_names[k]) * charw * 0.9; /* 0.9em */
	}
	if (x == l->xpad)
		return;
	fputs("<text x=\"", out);
	put_coord(out, x + l->fs);
	fputs("\" y=\"", out);
	put_coord(out, y);
	fputs("\">\xc2\xb7 hatched: frames too narrow to draw, merged</text>\n", out);
}

/* ---- the frames ---- */

enum { T_FRAME, T_MERGED, T_CUT };

struct item {
	double x, w;
	uint64_t sum; /* of a merged or cut frame */
	uint32_t node, depth, members, seq;
	int type;
};

struct walk {
	CS_VEC(struct item) items;
};

static void add(struct walk *wk, int type, uint32_t node, uint32_t depth, double x, double w,
		uint32_t members, uint64_t sum)
{
	struct item it = {x, w, sum, node, depth, members, (uint32_t)wk->items.n, type};
	CS_VEC_PUSH(wk->items, it);
}

static int item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* How many UTF-16 code units the name has, and the byte length of its first k units
 * (never splitting a surrogate pair). */
static size_t units(const char *s, size_t len, size_t k, size_t *prefix)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = 0;
	*prefix = len;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t step = cs_flame_utf8_next(u + i, len - i, &cp);
		size_t w = cp >= 0x10000 ? 2 : 1;
		if (n + w > k && *prefix == len)
			*prefix = i;
		n += w;
		i += step;
	}
	return n;
}

static void put_count(FILE *out, uint64_t v)
{
	char s[32];
	int n = snprintf(s, sizeof(s), "%llu", (unsigned long long)v);
	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			fputc(',', out);
		fputc(s[i], out);
	}
}

static double pct(uint64_t v, uint64_t of)
{
	return of ? 100.0 * (double)v / (double)of : 0;
}

/* "NAME (1,234 samples, 12.34%)", or what a merged or cut frame stands for. */
static void put_title(FILE *out, const struct cs_flame_layout *l, const struct item *it,
		      const struct cs_flame_dnode *nodes, const struct cs_flame_ddesc *descs,
		      uint64_t all)
{
	uint64_t v = it->sum, off = 0;
	if (it->type == T_FRAME) {
		const struct cs_flame_ddesc *d = &descs[nodes[it->node].desc];
		size_t prefix;
		size_t n = units(d->name, d->name_len, TITLE_NAME_MAX, &prefix);
		cs_flame_xml_str(out, d->name, n > TITLE_NAME_MAX ? prefix : d->name_len);
		if (n > TITLE_NAME_MAX)
			fputs("..", out);
		v = nodes[it->node].total;
		off = nodes[it->node].off;
	} else if (it->type == T_MERGED && nodes[it->node].desc == UINT32_MAX) {
		/* merged when the file was written, not for the width */
		fprintf(out, "%u frames merged to fit --max-frames", it->members);
	} else if (it->type == T_MERGED) {
		fprintf(out, "%u frames merged, each narrower than %g px", it->members,
			l->minwidth);
	} else {
		fprintf(out, "frames deeper than %u cut to fit --max-frames", l->cut_depth - 1);
	}
	fputs(" (", out);
	put_count(out, v);
	fputc(' ', out);
	cs_flame_xml_str(out, l->countname, strlen(l->countname));
	fprintf(out, ", %.2f%%", pct(v, all));
	if (l->offcpu && it->type == T_FRAME) {
		fputs("; CPU ", out);
		put_count(out, v - off);
		fputs(", off-CPU ", out);
		put_count(out, off);
	}
	fputc(')', out);
	if (it->type == T_FRAME && nodes[it->node].note) {
		fputs("\n", out);
		cs_flame_xml_str(out, nodes[it->node].note, strlen(nodes[it->node].note));
	}
}

/* The top of the row of frames at depth (flame.js: yOf). */
static double row_y(const struct cs_flame_layout *l, uint32_t depth)
{
	return l->inverted ? l->top + depth * l->fh : l->h - l->bottom - (depth + 1) * l->fh;
}

static void put_label(FILE *out, const struct cs_flame_layout *l, const struct item *it,
		      const struct cs_flame_dnode *nodes, const struct cs_flame_ddesc *descs,
		      uint64_t all)
{
	double chars = (it->w - 6) / (l->fs * 0.59); /* floored below, as flame.js does */
	if (!(chars >= 3))
		return;
	char text[96];
	const char *s = text;
	size_t len;
	if (it->type == T_FRAME) {
		const struct cs_flame_ddesc *d = &descs[nodes[it->node].desc];
		s = d->name;
		len = d->name_len;
	} else if (it->type == T_MERGED) {
		len = (size_t)snprintf(text, sizeof(text), "%u frames, %.2f%%", it->members,
				       pct(it->sum, all));
	} else {
		len = (size_t)snprintf(text, sizeof(text), "cut: deeper frames, %.2f%%",
				       pct(it->sum, all));
	}
	size_t prefix, k = chars > 1e9 ? (size_t)1e9 : (size_t)chars;
	size_t n = units(s, len, k - 2, &prefix);
	fputs("<text x=\"", out);
	put_coord(out, it->x + 3);
	fputs("\" y=\"", out);
	put_coord(out, row_y(l, it->depth) + l->fh / 2 + l->fs / 3);
	fputs("\">", out);
	if (n <= k) {
		cs_flame_xml_str(out, s, len);
	} else {
		cs_flame_xml_str(out, s, prefix);
		fputs("..", out);
	}
	fputs("</text>", out);
}

static void put_item(FILE *out, const struct cs_flame_layout *l, const struct item *it,
		     const struct cs_flame_dnode *nodes, const struct cs_flame_ddesc *descs,
		     uint64_t all, int title)
{
	if (title) {
		fputs("<g><title>", out);
		put_title(out, l, it, nodes, descs, all);
		fputs("</title>", out);
	}
	fputs("<rect x=\"", out);
	put_coord(out, it->x);
	fputs("\" y=\"", out);
	put_coord(out, row_y(l, it->depth));
	fputs("\" width=\"", out);
	put_coord(out, it->w);
	fputs("\" height=\"", out);
	put_coord(out, l->fh - 1);
	fputs("\" rx=\"2\" fill=\"", out);
	if (it->type == T_FRAME && nodes[it->node].fill != CS_FLAME_FILL_KIND) {
		put_fill(out, nodes[it->node].fill);
	} else if (it->type == T_FRAME) {
		const struct cs_flame_ddesc *d = &descs[nodes[it->node].desc];
		uint32_t h = cs_flame_node_hash(d->name_hash, it->node, l->hash);
		fprintf(out, "#%06x",
			cs_flame_colour(l->colors, d->kind, h, d->has_module, d->module_hash));
	} else {
		fputs(it->type == T_CUT ? "url(#cs-cut)" : "url(#cs-merged)", out);
	}
	fputs("\"/>", out);
	put_label(out, l, it, nodes, descs, all);
	fputs(title ? "</g>\n" : "\n", out);
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static double at_least_1(double w)
{
	return w > 1 ? w : 1;
}

/* The frames flame.js draw() places at zoom 0, in its order. */
static void layout(struct walk *wk, const struct cs_flame_layout *l,
		   const struct cs_flame_dnode *nodes)
{
	double scale = (l->w - 2 * l->xpad) / (double)nodes[0].total;
	CS_VEC(struct item) todo = {0};
	struct item first = {l->xpad, 0, 0, 0, 0, 0, 0, T_FRAME};
	CS_VEC_PUSH(todo, first);
	while (todo.n) {
		uint32_t n = todo.v[--todo.n].node;
		double x = todo.v[todo.n].x;
		add(wk, T_FRAME, n, nodes[n].depth, x, (double)nodes[n].total * scale, 0, 0);
		double cx = x, sum = 0;
		uint32_t narrow = 0, members = 0, lone = 0;
		uint64_t isum = 0;
		for (uint32_t c = n + 1; c < nodes[n].end; c = nodes[c].end) {
			const struct cs_flame_dnode *cn = &nodes[c];
			double cw = (double)cn->total * scale;
			if (cw >= l->minwidth && cn->desc != UINT32_MAX) {
				struct item t = {cx, 0, 0, c, 0, 0, 0, T_FRAME};
				CS_VEC_PUSH(todo, t);
				cx += cw;
			} else if (cw >= l->minwidth) {
				add(wk, cn->merged ? T_MERGED : T_CUT, c, cn->depth, cx, cw,
				    cn->merged, cn->total);
				cx += cw;
			} else {
				narrow++;
				members += cn->desc != UINT32_MAX || !cn->merged ? 1 : cn->merged;
				sum += (double)cn->total;
				isum = sat_add(isum, cn->total);
				lone = c;
			}
		}
		if (narrow == 1) {
			const struct cs_flame_dnode *cn = &nodes[lone];
			int type = cn->desc != UINT32_MAX ? T_FRAME : cn->merged ? T_MERGED : T_CUT;
			add(wk, type, lone, cn->depth, cx, at_least_1((double)cn->total * scale),
			    members, cn->total);
		} else if (narrow) {
			add(wk, T_MERGED, n, nodes[n].depth + 1, cx, at_least_1(sum * scale),
			    members, isum);
		}
	}
	CS_VEC_FREE(todo);
}

char *cs_flame_draw_static(const struct cs_flame_layout *l, struct cs_flame_dnode *nodes, size_t n,
			   const struct cs_flame_ddesc *descs, size_t *len, uint32_t *rows)
{
	/* the subtree ends, as flame.js finds them: in preorder a node's parent is the
	 * last node one level up */
	uint32_t *parent = cs_xmalloc((n + 1) * sizeof(uint32_t));
	CS_VEC(uint32_t) at = {0};
	for (size_t i = 0; i < n; i++) {
		uint32_t d = nodes[i].depth;
		at.n = d;
		parent[i] = d ? at.v[d - 1] : UINT32_MAX;
		CS_VEC_PUSH(at, (uint32_t)i);
		nodes[i].end = (uint32_t)i + 1;
	}
	for (size_t i = n; i-- > 1;)
		if (nodes[i].end > nodes[parent[i]].end)
			nodes[parent[i]].end = nodes[i].end;
	CS_VEC_FREE(at);
	free(parent);

	struct walk wk = {{0}};
	layout(&wk, l, nodes);
	qsort(wk.items.v, wk.items.n, sizeof(struct item), item_cmp);

	/* row by row from the root, into memory to know the size */
	char *buf = NULL;
	*len = 0;
	FILE *mem = open_memstream(&buf, len);
	if (!mem) {
		fprintf(stderr, "%s: out of memory drawing the flame graph\n", cs_progname);
		abort();
	}
	*rows = UINT32_MAX;
	int titles = 1;
	for (size_t i = 0; i < wk.items.n;) {
		uint32_t d = wk.items.v[i].depth;
		for (; i < wk.items.n && wk.items.v[i].depth == d; i++)
			put_item(mem, l, &wk.items.v[i], nodes, descs, nodes[0].total, titles);
		fflush(mem);
		if (*len > TITLE_BYTES)
			titles = 0;
		if (*len > STATIC_BYTES && i < wk.items.n) {
			*rows = d + 1;
			break;
		}
	}
	if (fclose(mem)) {
		fprintf(stderr, "%s: out of memory drawing the flame graph\n", cs_progname);
		abort();
	}
	CS_VEC_FREE(wk.items);
	return buf;
}
