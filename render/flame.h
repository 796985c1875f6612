/* flame.h - interactive SVG flamegraphs.
 *
 * Two layers, usable apart:
 *
 * 1. A flame tree built from the model: frames merge by name and flags (as
 *    flamegraph.pl merges equal folded text), children sorted by name bytewise, an
 *    "all" root, optional per-thread roots and reversed (leaf-first) stacks. Siblings
 *    narrower than a threshold can be merged into one frame that holds exactly their
 *    time and says how many frames it stands for.
 *
 * 2. An SVG writer that draws the frames wide enough to see as plain SVG elements
 *    (rects, truncated labels, <title> tooltips: the file is a picture in an <img>,
 *    an image viewer or rsvg-convert) and embeds the tree as a compact table (interned
 *    strings, nodes in preorder) plus a script that replaces that drawing with an
 *    interactive one: zoom, search, tooltips, the width of the window. The script
 *    draws only the frames visible at the current zoom, merging siblings narrower than
 *    --minwidth on the fly, so that no time ever vanishes and the file stays small.
 *    Every name reaches the document as escaped XML text, or as escaped JSON inside
 *    CDATA put on screen with textContent: no symbol name can inject markup or script.
 *    The same profile and options always give the same bytes.
 */
#ifndef CS_FLAME_H
#define CS_FLAME_H

#include <stdio.h>

#include "render.h"

/* ---- the tree ---- */

struct cs_flame_node {
	const char *name; /* not NUL-terminated; NULL for merged frames */
	uint32_t name_len;
	uint32_t flags;		    /* CS_FRAME_* shared by the merged model frames */
	uint32_t frame;		    /* the model frame shown for it (module, file:line): the
				       one of its heaviest model stack node; CS_NONE for the
				       root, thread roots and merged frames */
	uint32_t parent;	    /* CS_NONE for the root */
	uint32_t child, next;	    /* first child, next sibling; CS_NONE ends a list */
	uint32_t depth;		    /* the root "all" is depth 0 */
	uint32_t merged;	    /* 0, or how many sibling frames this frame stands for */
	uint32_t cut;		    /* 1: a merged frame that stands for a narrow call
				       chain cut below the depth limit (see
				       cs_flame_merge_narrow) */
	uint64_t total, self;	    /* samples in and under it; samples in it alone */
	uint64_t off;		    /* of total, the off-CPU time (wall recordings) */
	uint64_t weight;	    /* internal: samples behind the choice of frame */
};

struct cs_flame_tree {
	CS_VEC(struct cs_flame_node) nodes; /* node 0 is "all"; unlinked nodes are dead */
	char *labels;			    /* owned text of the thread-root names */
};

/* Build the tree of p: reverse puts leaves at the root (flamegraph.pl --reverse);
 * thread_root (enum cs_thread_root) adds a root frame per thread as the folded view
 * names it. Children come in no particular order (see cs_flame_sort): sorting
 * millions of frames that a merge is about to drop would be wasted. Returns 0, or -1
 * after one error line if p has no samples. The tree points into p's strings: p must
 * outlive it. */
int cs_flame_build(struct cs_flame_tree *t, const struct cs_profile *p, int reverse,
		   int thread_root);
void cs_flame_release(struct cs_flame_tree *t);

/* Order the children of every frame reachable from the root by name (bytewise), then
 * flags; merged frames last. */
void cs_flame_sort(struct cs_flame_tree *t);

/* Which frames stay: a frame is wide if its total is above min_total, or equal to it
 * and it is no deeper than tie_depth (so that among equally wide frames the ones
 * nearer the root stay). A lone narrow child followed down (see cs_flame_merge_narrow)
 * is cut below max_depth. */
struct cs_flame_fit {
	uint64_t min_total;
	uint32_t tie_depth; /* UINT32_MAX: a frame as wide as min_total is wide */
	uint32_t max_depth; /* CS_FLAME_NO_CUT: no depth limit */
	uint64_t cut_total; /* out: samples in the frames that stand for cut chains */
};
#define CS_FLAME_NO_CUT UINT32_MAX

/* Merge, under every frame, the children that are not wide into one frame placed
 * after the others, with merged = the number of frames it replaces and total = self =
 * the sum of theirs (their descendants go with them). A lone narrow child is not
 * merged: it keeps its name and its own children are considered in turn, as long as
 * it is no deeper than max_depth. A lone narrow child deeper than that is cut: it and
 * all below it become one merged frame with cut = 1. Returns the number of frames left
 * reachable from the root. */
size_t cs_flame_merge_narrow(struct cs_flame_tree *t, const struct cs_flame_fit *fit);

/* How many frames cs_flame_merge_narrow(t, fit) would leave. */
size_t cs_flame_count_kept(const struct cs_flame_tree *t, const struct cs_flame_fit *fit);

/* cs_flame_build, then cs_flame_merge_narrow so that the tree fits in budget frames
 * (at least 4). Nothing is merged (min_total 0) if the frames with samples are no
 * more. Else the wide frames are those before the (budget/2+1)-th in the order of
 * total (largest first), then depth (nearest the root first): min_total and tie_depth
 * say where that frame is. They are at most budget/2 and, as a frame's parent is
 * always before it, connected to the root; with one merged frame under each, they fit.
 * Lone narrow children, followed down, can still exceed the budget (a call chain
 * deeper than the budget is all lone children); then max_depth is the deepest limit
 * for them that fits (found by bisection: every pass over the tree is bounded,
 * whatever the input). When the tree has the shape of the model's stack tree (folded
 * input, for one), the frames no such fit can keep are not made: the result is the
 * same tree up to the numbering of its nodes, which cs_flame_sort makes irrelevant.
 * Returns 0, or -1 as cs_flame_build. */
int cs_flame_build_fit(struct cs_flame_tree *t, const struct cs_profile *p, int reverse,
		       int thread_root, size_t budget, struct cs_flame_fit *fit);

/* Frames reachable from the root, in the order the SVG lists them (preorder, children
 * by name, merged frames last); returns the count, array in *out (caller frees). */
size_t cs_flame_preorder(const struct cs_flame_tree *t, uint32_t **out);

/* ---- the SVG ---- */

enum cs_flame_colors {
	CS_COLORS_MODULE = 0, /* user code, libraries, kernel, inlined, JIT apart */
	CS_COLORS_HOT,
	CS_COLORS_MEM,
	CS_COLORS_IO,
};

/* Colours and notes chosen per frame by the caller (the differential flame graph): for
 * frame node of t (not a merged one), the fill as 0xRRGGBB, CS_FLAME_FILL_GONE (a
 * hatched frame) or CS_FLAME_FILL_KIND (the usual colour); *note, if set, is one more
 * line of its tooltip, alive as long as ctx. legend: nlegend entries replacing the
 * legend of kinds. */
#define CS_FLAME_FILL_KIND UINT32_MAX
#define CS_FLAME_FILL_GONE 0x1000000u
struct cs_flame_legend {
	uint32_t fill;
	const char *label;
};
struct cs_flame_paint {
	uint32_t (*node)(void *ctx, const struct cs_flame_tree *t, uint32_t node, const char **note);
	void *ctx;
	const struct cs_flame_legend *legend;
	size_t nlegend;
};

struct cs_flame_opts {
	const char *title;     /* NULL: "Flame Graph", or "Icicle Graph" when inverted */
	const char *subtitle;  /* NULL: none */
	double width;	       /* of the image in px; 0: 1200 */
	double frame_height;   /* px; 0: 16 */
	double minwidth;       /* siblings narrower than this merge (px; 0: 1) */
	int minwidth_pct;      /* minwidth is a percentage of the zoomed frame instead */
	int colors;	       /* enum cs_flame_colors */
	int hash;	       /* colour by name only: the same name, the same colour */
	int inverted;	       /* icicle graph: root at the top */
	int reverse;	       /* leaf frames at the root */
	int thread_root;       /* enum cs_thread_root */
	const char *countname; /* NULL: "samples" */
	const char *fonttype;  /* NULL: "Verdana" */
	double fontsize;       /* 0: 12 */
	size_t max_frames;     /* frames embedded at most (narrower ones merge); 0: 150000 */
	const struct cs_flame_paint *paint; /* NULL: colours by kind (see above) */
};

#define CS_FLAME_MAX_FRAMES_DEFAULT 150000

/* Write the SVG of p. Returns 0, or -1 after one error line (no samples, bad
 * options). Write errors are left to the owner of out. */
int cs_render_flame(const struct cs_profile *p, const struct cs_flame_opts *o, FILE *out);

/* Escapers, exposed for tests. Both turn invalid UTF-8 into U+FFFD. */
/* JSON string (with quotes) safe inside CDATA and script: also escapes < > & and
 * U+2028/2029, and every character XML 1.0 cannot carry. */
void cs_flame_json_str(FILE *out, const char *s, size_t len);
/* XML text or attribute value: & < > " ' as entities; characters XML 1.0 cannot
 * carry (C0 controls but tab/newline, U+FFFE/FFFF) become U+FFFD. */
void cs_flame_xml_str(FILE *out, const char *s, size_t len);

#endif
