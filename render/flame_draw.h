/* flame_draw.h - the static drawing of a flame graph, internal to render/.
 *
 * flame_svg.c writes the table the script reads; this part writes what a viewer
 * without script shows (an <img>, an image viewer, rsvg-convert): the frames the
 * script would draw before any zoom, as plain rects with truncated labels and <title>
 * tooltips, and the colour legend. Layout, labels and colours follow flame.js exactly
 * (the same arithmetic, colours in integers), so when the script replaces the drawing
 * with its own nothing moves.
 */
#ifndef CS_FLAME_DRAW_H
#define CS_FLAME_DRAW_H

#include <stdint.h>
#include <stdio.h>

/* One node of the table, in preorder. */
struct cs_flame_dnode {
	uint64_t total;
	uint64_t off; /* of total, off-CPU time (flame.js: with offcpu, after total) */
	uint32_t desc;	 /* frame description, or UINT32_MAX for a merged or cut frame */
	uint32_t merged; /* frames a merged frame stands for; 0 for a cut frame */
	uint32_t depth;
	uint32_t end; /* the first node after its subtree (filled by cs_flame_draw_static) */
	uint32_t fill;	  /* CS_FLAME_FILL_KIND, or as struct cs_flame_paint gives it */
	const char *note; /* one more tooltip line, or NULL */
};

/* One frame description (name and kind; flame.js: frames). */
struct cs_flame_ddesc {
	const char *name;
	size_t name_len;
	uint32_t kind;	      /* flame_svg.c enum kind */
	uint32_t name_hash;   /* cs_flame_hash_name of the name */
	uint32_t module_hash; /* ... of the module's name */
	int has_module;
};

struct cs_flame_layout {
	double w, h, fh, fs, xpad, top, bottom, minwidth;
	int inverted, hash, colors; /* colors: enum cs_flame_colors */
	const char *countname;
	uint32_t cut_depth; /* the depth of frames that stand for cut chains; 0: none */
	int offcpu;	    /* titles split each frame's time into CPU and off-CPU */
	const struct cs_flame_legend *legend; /* replaces the legend of kinds when set */
	size_t nlegend;
};

/* A coordinate as text: two decimals at most, no trailing zeros, never an exponent
 * (a graph 150,000 frames deep is 2.4 million px high). Use as cs_flame_coord(v).s
 * within one expression. */
struct cs_flame_coord {
	char s[40];
};
struct cs_flame_coord cs_flame_coord(double v);

/* Decode one UTF-8 sequence at s (n > 0 bytes left): the code point, or U+FFFD for an
 * invalid, overlong, surrogate or truncated sequence (consuming one byte). Returns the
 * bytes consumed. */
size_t cs_flame_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);

/* The hash flame.js computes of a name (FNV-1a over the UTF-16 code units of the name
 * as the table carries it, then mixed). */
uint32_t cs_flame_hash_name(const char *s, size_t len);

/* The colour of a frame of kind with hash h, as 0xRRGGBB (flame.js: paint). */
uint32_t cs_flame_colour(int colors, uint32_t kind, uint32_t h, int has_module,
			 uint32_t module_hash);

/* The hash a node's colour comes from: its name's, or with per-node colours (no
 * --hash) mixed with its preorder index, as flame.js does. */
uint32_t cs_flame_node_hash(uint32_t name_hash, uint32_t node, int by_name);

/* The legend (kinds present among descs, module palette only) inside <g id=cs-legend>. */
void cs_flame_draw_legend(FILE *out, const struct cs_flame_layout *l, double y,
			  const struct cs_flame_ddesc *descs, size_t ndescs);

/* The frames flame.js draws before any zoom, as SVG elements (the content of
 * <g id="cs-frames">), in a heap buffer of *len bytes (caller frees). The drawing stops
 * after the row that passes a size budget (a deep or wide profile must not make the
 * file many times larger): *rows is the number of rows drawn, or UINT32_MAX if all
 * were. Fills in nodes[].end. */
char *cs_flame_draw_static(const struct cs_flame_layout *l, struct cs_flame_dnode *nodes, size_t n,
			   const struct cs_flame_ddesc *descs, size_t *len, uint32_t *rows);

#endif
