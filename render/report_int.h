/* report_int.h - what the hotspot report (report.c) and the callers/callees view
 * (report_rel.c) share: the stack tree walked in linear time, row keys and text
 * helpers. Internal to render/. */
#ifndef CS_REPORT_INT_H
#define CS_REPORT_INT_H

#include "render.h"
#include "util/buf.h"

/* The stack nodes as a tree. Node n's children are kids[first[n] .. first[n + 1]);
 * self[n] is the count of the samples whose leaf is n, incl[n] that of the samples
 * whose stack passes through n (incl[0] is the total). Sums saturate. */
struct cs_tree {
	size_t n;
	uint32_t *first, *kids;
	uint64_t *self, *incl;
};

void cs_tree_build(const struct cs_profile *p, struct cs_tree *t);
void cs_tree_release(struct cs_tree *t);

/* Visit every node but the root depth-first: enter(ctx, n) on the way down, leave(ctx,
 * n) on the way back. No recursion, so any depth works; each node is visited once. */
void cs_tree_walk(const struct cs_tree *t, void (*enter)(void *ctx, uint32_t n),
		  void (*leave)(void *ctx, uint32_t n), void *ctx);

/* The row a frame belongs to for --by function, line or module: with unnamed set for
 * frames without a symbol of a known module (unless addrs). */
struct cs_hotspot cs_frame_key(const struct cs_profile *p, uint32_t frame, int by, int addrs);

/* The display name of a function or module row, in buf when it must be made. */
const char *cs_key_label(const struct cs_profile *p, const struct cs_hotspot *h, int by, char *buf,
			 size_t n);

/* Orders names and modules bytewise, for deterministic ties (p set by the caller). */
int cs_name_cmp(const struct cs_profile *p, uint32_t a, uint32_t b);
int cs_module_cmp(const struct cs_profile *p, uint32_t a, uint32_t b);

double cs_pct(uint64_t v, uint64_t total);
/* one or many, by n */
const char *cs_plural(uint64_t n, const char *one, const char *many);
/* "# csampler report: COMMAND" and, for recordings, the duration line */
void cs_report_text_header(const struct cs_profile *p, FILE *out);
/* "# N samples ..." with what the counts mean */
void cs_report_text_footer(const struct cs_profile *p, uint64_t total, FILE *out);
/* "source": ..., "command": ..., "stats": {...} (no braces around) */
void cs_report_json_meta(const struct cs_profile *p, uint64_t total, FILE *out);

/* --callers / --callees (report_rel.c) */
int cs_render_relatives(const struct cs_profile *p, const struct cs_report_opts *o, FILE *out);

#endif
