/* flame_svg.c - write a flame tree as a standalone interactive SVG.
 *
 * The document holds the title, legend, buttons and status lines, the frames drawn
 * as plain SVG (flame_draw.c: what a viewer without script shows), a note when call
 * chains were cut, and two scripts: a JSON table of the tree and the code (flame.js,
 * flame.css embedded at build time) that redraws it interactively. The table:
 *
 *   strings  every name, module and file, in order of first use
 *   frames   per frame description: name, kind, module+1, file+1, line
 *   nodes    per node in preorder: depth step (previous depth + 1 - depth),
 *            frame description + 1 (0: merged frame, then how many it stands for, 0
 *            for the frame that stands for a cut call chain), total samples
 *
 * With cut chains the table also says cut_depth (the depth of the frames that stand
 * for them) and max_frames.
 *
 * frames and nodes are unsigned numbers in a base-32 varint over the characters
 * [0-9A-Za-z_-] (digits 32-63 continue, low digits first), which need no escaping in
 * JSON or XML: 5-8 bytes per node.
 */
#include "flame.h"
#include "flame_draw.h"
#include "util/buf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern const unsigned char cs_flame_js[], cs_flame_css[];
extern const size_t cs_flame_js_len, cs_flame_css_len;

/* Frame kinds, for colouring (flame.js knows the same numbers). */
enum kind { K_ROOT = 0, K_USER, K_LIB, K_KERNEL, K_INLINE, K_JIT, K_UNKNOWN, K_OFFCPU };

/* ---- escaping ---- */

size_t cs_flame_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
	if (!len || c > 0xf4 || len > n) {
		*cp = 0xfffd;
		return 1;
	}
	uint32_t v = c & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = 0xfffd;
			return 1;
		}
		v = (v << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10ffff)) ||
	    (v >= 0xd800 && v <= 0xdfff)) {
		*cp = 0xfffd;
		return 1;
	}
	*cp = v;
	return len;
}

static void put_utf8(FILE *out, uint32_t cp)
{
	if (cp < 0x80) {
		fputc((int)cp, out);
	} else if (cp < 0x800) {
		fputc(0xc0 | (int)(cp >> 6), out);
		fputc(0x80 | (int)(cp & 0x3f), out);
	} else if (cp < 0x10000) {
		fputc(0xe0 | (int)(cp >> 12), out);
		fputc(0x80 | (int)((cp >> 6) & 0x3f), out);
		fputc(0x80 | (int)(cp & 0x3f), out);
	} else {
		fputc(0xf0 | (int)(cp >> 18), out);
		fputc(0x80 | (int)((cp >> 12) & 0x3f), out);
		fputc(0x80 | (int)((cp >> 6) & 0x3f), out);
		fputc(0x80 | (int)(cp & 0x3f), out);
	}
}

void cs_flame_json_str(FILE *out, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	fputc('"', out);
	for (size_t i = 0; i < len;) {
		unsigned char c = u[i];
		/* the common case: plain ASCII that needs nothing */
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>' &&
		    c != '&') {
			size_t j = i + 1;
			while (j < len && u[j] >= 0x20 && u[j] < 0x7f && u[j] != '"' && u[j] != '\\' &&
			       u[j] != '<' && u[j] != '>' && u[j] != '&')
				j++;
			fwrite(s + i, 1, j - i, out);
			i = j;
			continue;
		}
		uint32_t cp;
		i += cs_flame_utf8_next(u + i, len - i, &cp);
		if (cp == '"' || cp == '\\')
			fprintf(out, "\\%c", (int)cp);
		else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == '<' || cp == '>' ||
			 cp == '&' || cp == 0x2028 || cp == 0x2029 || cp == 0xfffe || cp == 0xffff)
			fprintf(out, "\\u%04x", (unsigned)cp);
		else
			put_utf8(out, cp);
	}
	fputc('"', out);
}

void cs_flame_xml_str(FILE *out, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		i += cs_flame_utf8_next(u + i, len - i, &cp);
		switch (cp) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&apos;", out); break;
		default:
			if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0xfffe ||
			    cp == 0xffff)
				cp = 0xfffd;
			put_utf8(out, cp);
		}
	}
}

static void xml_cstr(FILE *out, const char *s)
{
	cs_flame_xml_str(out, s, strlen(s));
}

/* ---- the table ---- */

static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-";

static void put_num(struct cs_buf *b, uint64_t v)
{
	while (v >= 32) {
		cs_buf_put_u8(b, (uint8_t)digits[32 + (v & 31)]);
		v >>= 5;
	}
	cs_buf_put_u8(b, (uint8_t)digits[v]);
}

struct str_ent {
	const char *s;
	uint32_t len;
};

struct frame_ent {
	uint32_t name, kind, module, file, line; /* module, file: string index + 1, 0 = none */
};

struct table {
	const struct cs_profile *p;
	CS_VEC(struct str_ent) strs;
	struct cs_index str_ix;
	CS_VEC(struct frame_ent) frames;
	struct cs_index frame_ix;
	const void *key;
};

static int str_eq(void *ctx, uint32_t idx)
{
	struct table *t = ctx;
	const struct str_ent *a = &t->strs.v[idx], *b = t->key;
	return a->len == b->len && !memcmp(a->s, b->s, a->len);
}

static uint32_t str_of(struct table *t, const char *s, size_t len)
{
	struct str_ent k = {s, (uint32_t)len};
	uint64_t h = cs_hash_bytes(s, len, 3);
	t->key = &k;
	uint32_t idx = cs_index_find(&t->str_ix, h, str_eq, t);
	if (idx != CS_INDEX_NONE)
		return idx;
	idx = (uint32_t)t->strs.n;
	CS_VEC_PUSH(t->strs, k);
	cs_index_insert(&t->str_ix, h, idx);
	return idx;
}

static int frame_eq(void *ctx, uint32_t idx)
{
	struct table *t = ctx;
	return !memcmp(&t->frames.v[idx], t->key, sizeof(struct frame_ent));
}

static uint32_t kind_of(const struct cs_profile *p, const struct cs_flame_node *n)
{
	if (n->frame == CS_NONE)
		return K_ROOT;
	const struct cs_frame *f = &p->frames.v[n->frame];
	uint32_t mflags = f->module == CS_NONE ? 0 : p->modules.v[f->module].flags;
	/* in a view of CPU and off-CPU time, a frame where only waiting happens (in and
	 * under it) is off-CPU; the markers always are */
	unsigned sel = p->times.shown;
	if ((n->flags & CS_FRAME_OFFCPU) ||
	    ((sel & CS_SEL_CPU) && (sel & CS_SEL_OFF) && n->total && n->off == n->total))
		return K_OFFCPU;
	if ((n->flags & CS_FRAME_KERNEL) || (mflags & CS_MODULE_KERNEL))
		return K_KERNEL;
	if (n->flags & CS_FRAME_JIT)
		return K_JIT;
	if (n->flags & CS_FRAME_INLINE)
		return K_INLINE;
	if (n->flags & CS_FRAME_UNKNOWN)
		return K_UNKNOWN;
	if (f->module != CS_NONE && !(mflags & CS_MODULE_MAIN))
		return K_LIB;
	return K_USER;
}

static uint32_t frame_of(struct table *t, const struct cs_flame_node *n)
{
	const struct cs_profile *p = t->p;
	struct frame_ent e = {0};
	e.name = str_of(t, n->name, n->name_len);
	e.kind = kind_of(p, n);
	if (n->frame != CS_NONE) {
		const struct cs_frame *f = &p->frames.v[n->frame];
		const char *m = cs_module_name(p, f->module);
		if (*m)
			e.module = str_of(t, m, strlen(m)) + 1;
		if (f->file)
			e.file = str_of(t, cs_str(p, f->file), cs_strlen(p, f->file)) + 1;
		e.line = f->file ? f->line : 0;
	}
	uint64_t h = cs_hash_bytes(&e, sizeof(e), 5);
	t->key = &e;
	uint32_t idx = cs_index_find(&t->frame_ix, h, frame_eq, t);
	if (idx != CS_INDEX_NONE)
		return idx;
	idx = (uint32_t)t->frames.n;
	CS_VEC_PUSH(t->frames, e);
	cs_index_insert(&t->frame_ix, h, idx);
	return idx;
}

/* ---- the document ---- */

/* Fonts most systems have that look like Verdana, then the generic family: a family
 * alone that is missing renders in the default font, a serif one on many systems. */
static const char default_fonts[] =
	"Verdana, DejaVu Sans, Bitstream Vera Sans, Liberation Sans, Arial, sans-serif";

/* A coordinate for a %s: see cs_flame_coord. */
#define C(v) (cs_flame_coord(v).s)

struct geom {
	double w, fh, fs, xpad, top, bottom, h, legend_y, sub_y, status_y, note_y;
	uint32_t depth;
};

static void put_embedded(FILE *out, const unsigned char *s, size_t n)
{
	fwrite(s, 1, n, out);
}

/* The font list: the user's, with a generic family at the end if it names none. */
static void put_fonts(FILE *out, const char *fonttype)
{
	if (!fonttype) {
		xml_cstr(out, default_fonts);
		return;
	}
	xml_cstr(out, fonttype);
	static const char *const generic[] = {"serif", "sans-serif", "monospace", "cursive",
					      "fantasy", "system-ui"};
	const char *last = strrchr(fonttype, ',');
	last = last ? last + 1 : fonttype;
	last += strspn(last, " \t'\"");
	size_t n = strcspn(last, " \t'\"");
	for (size_t i = 0; i < CS_ARRAY_SIZE(generic); i++)
		if (n == strlen(generic[i]) && !strncasecmp(last, generic[i], n))
			return;
	fputs(", sans-serif", out);
}

static void write_head(FILE *out, const struct cs_flame_opts *o, const struct geom *g,
		       const char *title)
{
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n");
	fprintf(out,
		"<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%s\" "
		"height=\"%s\" viewBox=\"0 0 %s %s\" font-size=\"%s\" font-family=\"",
		C(g->w), C(g->h), C(g->w), C(g->h), C(g->fs));
	put_fonts(out, o->fonttype);
	fprintf(out, "\">\n<!-- Flame graph drawn by csampler flame. In a web browser, click a "
		     "frame to zoom into it; Ctrl-F searches. -->\n");
	fprintf(out, "<defs>\n<linearGradient id=\"cs-bg\" x1=\"0\" y1=\"0\" x2=\"0\" y2=\"1\">"
		     "<stop offset=\"5%%\" stop-color=\"#f7f7f5\"/><stop offset=\"95%%\" "
		     "stop-color=\"#ebe7da\"/></linearGradient>\n"
		     "<pattern id=\"cs-merged\" width=\"6\" height=\"6\" "
		     "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
		     "<rect width=\"6\" height=\"6\" fill=\"#cfcfcf\"/><rect width=\"3\" "
		     "height=\"6\" fill=\"#a9a9a9\"/></pattern>\n"
		     "<pattern id=\"cs-cut\" width=\"6\" height=\"6\" "
		     "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(-45)\">"
		     "<rect width=\"6\" height=\"6\" fill=\"#e9d2d2\"/><rect width=\"2\" "
		     "height=\"6\" fill=\"#b86f6f\"/></pattern>\n");
	if (o->paint)
		fprintf(out, "<pattern id=\"cs-gone\" width=\"6\" height=\"6\" "
			     "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
			     "<rect width=\"6\" height=\"6\" fill=\"#dfe6f5\"/><rect width=\"3\" "
			     "height=\"6\" fill=\"#6f8fd0\"/></pattern>\n");
	fprintf(out, "</defs>\n");
	fprintf(out, "<style><![CDATA[\n");
	put_embedded(out, cs_flame_css, cs_flame_css_len);
	fprintf(out, "]]></style>\n");
	fprintf(out, "<rect id=\"cs-background\" x=\"0\" y=\"0\" width=\"%s\" height=\"%s\" "
		     "fill=\"url(#cs-bg)\"/>\n",
		C(g->w), C(g->h));
	fprintf(out, "<text id=\"cs-title\" x=\"%s\" y=\"%s\" text-anchor=\"middle\">",
		C(g->w / 2), C(g->fs * 2));
	xml_cstr(out, title);
	fprintf(out, "</text>\n");
	if (o->subtitle) {
		fprintf(out, "<text id=\"cs-subtitle\" x=\"%s\" y=\"%s\" text-anchor=\"middle\">",
			C(g->w / 2), C(g->sub_y));
		xml_cstr(out, o->subtitle);
		fprintf(out, "</text>\n");
	}
	/* the buttons do something only with the script: it shows them */
	fprintf(out, "<text id=\"cs-unzoom\" class=\"cs-button cs-hide\" x=\"%s\" y=\"%s\">Reset "
		     "Zoom</text>\n",
		C(g->xpad), C(g->fs * 2));
	fprintf(out, "<text id=\"cs-search\" class=\"cs-button cs-hide\" x=\"%s\" y=\"%s\" "
		     "text-anchor=\"end\">Search</text>\n",
		C(g->w - g->xpad), C(g->fs * 2));
}

int cs_render_flame(const struct cs_profile *p, const struct cs_flame_opts *o, FILE *out)
{
	struct cs_flame_tree tree;
	struct geom g;
	memset(&g, 0, sizeof(g));
	g.w = o->width > 0 ? o->width : 1200;
	g.fh = o->frame_height > 0 ? o->frame_height : 16;
	g.fs = o->fontsize > 0 ? o->fontsize : 12;
	g.xpad = 10;
	if (g.w < 2 * g.xpad + 10)
		return cs_error("a width of %g px leaves no room for frames", g.w);
	double minw = o->minwidth > 0 ? o->minwidth : (o->minwidth_pct ? 0 : 1.0);
	if (o->minwidth_pct)
		minw = minw / 100.0 * (g.w - 2 * g.xpad);
	size_t budget = o->max_frames ? o->max_frames : CS_FLAME_MAX_FRAMES_DEFAULT;
	if (budget < 16)
		budget = 16;

	struct cs_flame_fit fit;
	if (cs_flame_build_fit(&tree, p, o->reverse, o->thread_root, budget, &fit) < 0)
		return -1;
	cs_flame_sort(&tree);

	uint32_t *order;
	size_t n = cs_flame_preorder(&tree, &order);
	struct table tab;
	memset(&tab, 0, sizeof(tab));
	tab.p = p;
	cs_index_init(&tab.str_ix);
	cs_index_init(&tab.frame_ix);
	struct cs_buf nodes, frames;
	cs_buf_init(&nodes);
	cs_buf_init(&frames);
	struct cs_flame_dnode *dn = cs_xmalloc((n + 1) * sizeof(*dn));
	/* a wall-clock view: each frame's off-CPU part goes in the table too */
	int offcpu = p->times.wall && (p->times.shown & CS_SEL_OFF) && (p->times.shown & CS_SEL_CPU);
	long prev_depth = -1;
	for (size_t i = 0; i < n; i++) {
		const struct cs_flame_node *nd = &tree.nodes.v[order[i]];
		g.depth = CS_MAX(g.depth, nd->depth);
		put_num(&nodes, (uint64_t)(prev_depth + 1 - (long)nd->depth));
		prev_depth = (long)nd->depth;
		dn[i].total = nd->total;
		dn[i].off = nd->off;
		dn[i].depth = nd->depth;
		dn[i].desc = UINT32_MAX;
		dn[i].merged = nd->cut ? 0 : nd->merged;
		dn[i].fill = CS_FLAME_FILL_KIND;
		dn[i].note = NULL;
		if (o->paint && !nd->merged)
			dn[i].fill = o->paint->node(o->paint->ctx, &tree, order[i], &dn[i].note);
		if (nd->merged) {
			/* a cut frame is a merged frame of 0 */
			put_num(&nodes, 0);
			put_num(&nodes, dn[i].merged);
		} else {
			dn[i].desc = frame_of(&tab, nd);
			put_num(&nodes, dn[i].desc + 1);
		}
		put_num(&nodes, nd->total);
		if (offcpu)
			put_num(&nodes, nd->off);
	}
	struct cs_flame_ddesc *dd = cs_xmalloc((tab.frames.n + 1) * sizeof(*dd));
	for (size_t i = 0; i < tab.frames.n; i++) {
		const struct frame_ent *e = &tab.frames.v[i];
		put_num(&frames, e->name);
		put_num(&frames, e->kind);
		put_num(&frames, e->module);
		put_num(&frames, e->file);
		put_num(&frames, e->line);
		const struct str_ent *name = &tab.strs.v[e->name];
		dd[i].name = name->s;
		dd[i].name_len = name->len;
		dd[i].kind = e->kind;
		dd[i].name_hash = cs_flame_hash_name(name->s, name->len);
		dd[i].has_module = e->module != 0;
		dd[i].module_hash = 0;
		if (e->module) {
			const struct str_ent *m = &tab.strs.v[e->module - 1];
			dd[i].module_hash = cs_flame_hash_name(m->s, m->len);
		}
	}

	/* layout: title row, optional subtitle, legend row; frames; status row, and a
	 * row that says what was cut, if anything was */
	int cut = fit.max_depth != CS_FLAME_NO_CUT;
	g.sub_y = g.fs * 3.6;
	g.legend_y = (o->subtitle ? g.fs * 5.4 : g.fs * 3.6);
	g.top = g.legend_y + g.fs;
	g.bottom = g.fs * 2 + 10 + (cut ? g.fs * 1.5 : 0);
	g.h = g.top + (g.depth + 1) * g.fh + g.bottom;
	g.status_y = g.h - g.bottom + g.fs + 5 + g.fs / 3;
	g.note_y = g.status_y + g.fs * 1.5;
	const char *title = o->title ? o->title : o->inverted ? "Icicle Graph" : "Flame Graph";
	const char *cn = o->countname ? o->countname : "samples";
	int colors = o->colors >= 0 && o->colors < 4 ? o->colors : 0;

	struct cs_flame_layout lay = {
		.w = g.w, .h = g.h, .fh = g.fh, .fs = g.fs, .xpad = g.xpad, .top = g.top,
		.bottom = g.bottom, .minwidth = minw, .inverted = !!o->inverted,
		.hash = !!o->hash, .colors = colors, .countname = cn,
		.cut_depth = cut ? fit.max_depth + 1 : 0, .offcpu = offcpu,
		.legend = o->paint ? o->paint->legend : NULL,
		.nlegend = o->paint ? o->paint->nlegend : 0,
	};
	size_t static_len;
	uint32_t static_rows;
	char *drawing = cs_flame_draw_static(&lay, dn, n, dd, &static_len, &static_rows);

	write_head(out, o, &g, title);
	fputs("<g id=\"cs-legend\">\n", out);
	cs_flame_draw_legend(out, &lay, g.legend_y, dd, tab.frames.n);
	fputs("</g>\n", out);
	if (static_rows != UINT32_MAX)
		fprintf(out, "<text id=\"cs-static-note\" x=\"%s\" y=\"%s\" text-anchor=\"end\">"
			     "This picture shows the first %u rows: open it in a web browser for "
			     "all %u.</text>\n",
			C(g.w - g.xpad), C(g.legend_y), static_rows, g.depth + 1);
	fputs("<g id=\"cs-frames\">\n", out);
	fwrite(drawing, 1, static_len, out);
	fputs("</g>\n", out);
	free(drawing);
	fprintf(out, "<text id=\"cs-details\" x=\"%s\" y=\"%s\"> </text>\n", C(g.xpad),
		C(g.status_y));
	fprintf(out, "<text id=\"cs-matched\" x=\"%s\" y=\"%s\" text-anchor=\"end\"> </text>\n",
		C(g.w - g.xpad), C(g.status_y));
	if (cut) {
		uint64_t all = tree.nodes.v[0].total;
		fprintf(out, "<text id=\"cs-note\" x=\"%s\" y=\"%s\">Call chains are cut after %u "
			     "frames to fit --max-frames %zu: %llu ",
			C(g.xpad), C(g.note_y), fit.max_depth, budget,
			(unsigned long long)fit.cut_total);
		xml_cstr(out, cn);
		fprintf(out,
			" (%.2f%%) are in the frames marked 'cut' that stand for them.</text>\n",
			all ? 100.0 * (double)fit.cut_total / (double)all : 0.0);
	}
	fprintf(out, "<g id=\"cs-tip\" class=\"cs-hide\"><rect/><text/></g>\n");

	static const char *const palettes[] = {"module", "hot", "mem", "io"};
	fprintf(out, "<script type=\"application/json\" id=\"cs-data\"><![CDATA[\n");
	fprintf(out,
		"{\"version\": 1, \"total\": %llu, \"width\": %s, \"height\": %s, \"xpad\": %s, "
		"\"top\": %s, \"bottom\": %s, \"legend_y\": %s, \"frame_height\": %s, "
		"\"font_size\": %s, \"minwidth\": %.6g, \"inverted\": %d, \"colors\": \"%s\", "
		"\"hash\": %d, \"reverse\": %d, %s\"countname\": ",
		(unsigned long long)tree.nodes.v[0].total, C(g.w), C(g.h), C(g.xpad), C(g.top),
		C(g.bottom), C(g.legend_y), C(g.fh), C(g.fs), minw, !!o->inverted, palettes[colors],
		!!o->hash, !!o->reverse, offcpu ? "\"offcpu\": 1, " : "");
	cs_flame_json_str(out, cn, strlen(cn));
	fprintf(out, ",\n\"merged_below\": %llu, ", (unsigned long long)fit.min_total);
	if (cut)
		fprintf(out, "\"cut_depth\": %u, \"max_frames\": %zu, ", fit.max_depth + 1, budget);
	fprintf(out, "\"node_count\": %zu, \"strings\": [", n);
	for (size_t i = 0; i < tab.strs.n; i++) {
		if (i)
			fputs(i % 8 ? ", " : ",\n", out);
		cs_flame_json_str(out, tab.strs.v[i].s, tab.strs.v[i].len);
	}
	fprintf(out, "],\n\"frames\": \"");
	fwrite(frames.p, 1, frames.n, out);
	fprintf(out, "\",\n\"nodes\": \"");
	fwrite(nodes.p, 1, nodes.n, out);
	if (o->paint) {
		/* per node: fill + 1 (0: by kind; CS_FLAME_FILL_GONE + 1: hatched), then
		 * its note's string + 1 (0: none) */
		struct cs_buf fills;
		cs_buf_init(&fills);
		size_t first_note = tab.strs.n;
		for (size_t i = 0; i < n; i++) {
			put_num(&fills, dn[i].fill == CS_FLAME_FILL_KIND ? 0 : (uint64_t)dn[i].fill + 1);
			put_num(&fills, dn[i].note ? str_of(&tab, dn[i].note, strlen(dn[i].note)) + 1 : 0);
		}
		fprintf(out, "\",\n\"fills\": \"");
		fwrite(fills.p, 1, fills.n, out);
		fprintf(out, "\",\n\"notes\": [");
		for (size_t i = first_note; i < tab.strs.n; i++) {
			if (i > first_note)
				fputs(",\n", out);
			cs_flame_json_str(out, tab.strs.v[i].s, tab.strs.v[i].len);
		}
		fprintf(out, "], \"first_note\": %zu", first_note);
		cs_buf_release(&fills);
	} else {
		fputc('"', out);
	}
	fprintf(out, "}\n]]></script>\n");
	fprintf(out, "<script type=\"text/ecmascript\"><![CDATA[\n");
	put_embedded(out, cs_flame_js, cs_flame_js_len);
	fprintf(out, "]]></script>\n</svg>\n");

	free(order);
	free(dn);
	free(dd);
	CS_VEC_FREE(tab.strs);
	CS_VEC_FREE(tab.frames);
	cs_index_release(&tab.str_ix);
	cs_index_release(&tab.frame_ix);
	cs_buf_release(&nodes);
	cs_buf_release(&frames);
	cs_flame_release(&tree);
	return 0;
}
