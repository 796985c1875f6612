/* report_rel.c - the callers or the callees of one function, with each one's share of
 * the function's samples.
 *
 * A sample counts once for the function and once for each distinct caller (callee)
 * on its stack, however often the function recurs. As for hotspot totals, one walk
 * of the stack tree does it: a node adds its inclusive count to a relation only when
 * no node above it on the path already stands for the same relation. */
#include "report_int.h"

#include <stdlib.h>
#include <string.h>

#define REL_ROOT    CS_NONE	  /* func of "[root]" (callers) or "[self]" (callees) */
#define REL_UNNAMED (CS_NONE - 1) /* func of "[module]": the module's unnamed frames */

struct rel {
	uint32_t func, module;
	uint64_t count;
};

struct relwalk {
	const struct cs_profile *p;
	const struct cs_tree *t;
	const uint8_t *match; /* per frame: is the function asked about */
	int callers, addrs;
	CS_VEC(struct rel) rels;
	struct cs_map64 ix;  /* (func << 32 | module) -> index in rels */
	CS_VEC(uint32_t) on; /* per rel: nodes of the current path counted for it */
	uint32_t fn_on;	     /* matching nodes on the current path */
	uint64_t fn_total;
};

/* Does a frame's name stand for fn: the same, or fn followed by a parameter list
 * ("ns::f" matches "ns::f(int) const"). */
static int name_matches(const char *name, const char *fn, size_t fn_len)
{
	return !strncmp(name, fn, fn_len) && (name[fn_len] == 0 || name[fn_len] == '(');
}

static uint32_t rel_of(struct relwalk *w, uint32_t frame)
{
	uint32_t func = REL_ROOT, module = CS_NONE;
	if (frame != CS_NONE) {
		struct cs_hotspot k = cs_frame_key(w->p, frame, CS_BY_FUNCTION, w->addrs);
		func = k.unnamed ? REL_UNNAMED : k.func;
		module = k.module;
	}
	int added;
	uint64_t *slot = cs_map64_put(&w->ix, ((uint64_t)func << 32) | module, w->rels.n, &added);
	if (added) {
		struct rel r = {func, module, 0};
		CS_VEC_PUSH(w->rels, r);
		CS_VEC_PUSH(w->on, 0);
	}
	return (uint32_t)*slot;
}

static void add_sat(uint64_t *a, uint64_t b)
{
	*a = b > UINT64_MAX - *a ? UINT64_MAX : *a + b;
}

/* The relation node n stands for, or CS_NONE: for callers, n matches and the relation
 * is its parent's frame; for callees, n's parent matches and the relation is n's. */
static uint32_t rel_at(struct relwalk *w, uint32_t n)
{
	const struct cs_node *nd = &w->p->nodes.v[n];
	if (w->callers) {
		if (!w->match[nd->frame])
			return CS_NONE;
		return rel_of(w, nd->parent ? w->p->nodes.v[nd->parent].frame : CS_NONE);
	}
	if (!nd->parent || !w->match[w->p->nodes.v[nd->parent].frame])
		return CS_NONE;
	return rel_of(w, nd->frame);
}

static void rel_enter(void *ctx, uint32_t n)
{
	struct relwalk *w = ctx;
	if (w->match[w->p->nodes.v[n].frame]) {
		if (!w->fn_on++)
			add_sat(&w->fn_total, w->t->incl[n]);
		/* callees: the samples that end in the function itself */
		if (!w->callers && w->t->self[n]) {
			uint32_t self = rel_of(w, CS_NONE); /* may move rels: index first */
			add_sat(&w->rels.v[self].count, w->t->self[n]);
		}
	}
	uint32_t r = rel_at(w, n);
	if (r != CS_NONE && !w->on.v[r]++)
		add_sat(&w->rels.v[r].count, w->t->incl[n]);
}

static void rel_leave(void *ctx, uint32_t n)
{
	struct relwalk *w = ctx;
	if (w->match[w->p->nodes.v[n].frame])
		w->fn_on--;
	uint32_t r = rel_at(w, n);
	if (r != CS_NONE)
		w->on.v[r]--;
}

static const struct cs_profile *g_prof; /* qsort has no context argument */

static int rel_cmp(const void *a, const void *b)
{
	const struct rel *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	/* [root] / [self] sort after the others of the same count, "[module]" rows
	 * before them */
	if ((x->func == REL_ROOT) != (y->func == REL_ROOT))
		return x->func == REL_ROOT ? 1 : -1;
	if ((x->func == REL_UNNAMED) != (y->func == REL_UNNAMED))
		return x->func == REL_UNNAMED ? 1 : -1;
	int c = x->func >= REL_UNNAMED ? 0 : cs_name_cmp(g_prof, x->func, y->func);
	return c ? c : cs_module_cmp(g_prof, x->module, y->module);
}

static const char *rel_label(const struct cs_profile *p, const struct rel *r, int callers,
			     char *buf, size_t n)
{
	if (r->func == REL_ROOT)
		return callers ? "[root]" : "[self]";
	if (r->func == REL_UNNAMED) {
		snprintf(buf, n, "[%s]", cs_module_name(p, r->module));
		return buf;
	}
	return cs_str(p, r->func);
}

static void print_rels(const struct cs_profile *p, const struct cs_report_opts *o,
		       struct relwalk *w, uint64_t total, FILE *out)
{
	int callers = w->callers;
	const char *fn = callers ? o->callers : o->callees;
	const char *what = callers ? "callers" : "callees";
	size_t shown = o->top > 0 ? CS_MIN(w->rels.n, (size_t)o->top) : w->rels.n;
	uint64_t fn_total = w->fn_total;
	char lbuf[512];

	if (o->format == CS_FMT_JSON) {
		fprintf(out, "{\"total_samples\": %llu, \"function\": ", (unsigned long long)total);
		cs_json_str(out, fn, strlen(fn));
		fprintf(out, ", \"function_total\": %llu, \"function_total_pct\": %.2f, \"%s\": [",
			(unsigned long long)fn_total, cs_pct(fn_total, total), what);
		for (size_t i = 0; i < shown; i++) {
			const struct rel *r = &w->rels.v[i];
			const char *l = rel_label(p, r, callers, lbuf, sizeof(lbuf));
			const char *m = cs_module_name(p, r->module);
			fprintf(out, "%s\n  {\"function\": ", i ? "," : "");
			cs_json_str(out, l, strlen(l));
			fprintf(out, ", \"module\": ");
			cs_json_str(out, m, strlen(m));
			fprintf(out,
				", \"samples\": %llu, \"pct_of_function\": %.2f, \"pct\": %.2f}",
				(unsigned long long)r->count, cs_pct(r->count, fn_total),
				cs_pct(r->count, total));
		}
		fprintf(out, "\n]}\n");
		return;
	}
	if (o->format == CS_FMT_CSV) {
		fprintf(out, "function,module,samples,pct_of_function,pct\n");
		for (size_t i = 0; i < shown; i++) {
			const struct rel *r = &w->rels.v[i];
			cs_csv_str(out, rel_label(p, r, callers, lbuf, sizeof(lbuf)));
			fputc(',', out);
			cs_csv_str(out, cs_module_name(p, r->module));
			fprintf(out, ",%llu,%.2f,%.2f\n", (unsigned long long)r->count,
				cs_pct(r->count, fn_total), cs_pct(r->count, total));
		}
		return;
	}
	struct cs_buf b;
	cs_buf_init(&b);
	cs_report_text_header(p, out);
	fprintf(out, "# %s of %s: %llu %s (%.2f%% of all)\n", what, cs_text_str(&b, fn),
		(unsigned long long)fn_total, cs_plural(fn_total, "sample", "samples"),
		cs_pct(fn_total, total));
	fprintf(out, "%9s %7s %8s  %-40s %s\n", "of-func%", "total%", "samples",
		callers ? "caller" : "callee", "module");
	for (size_t i = 0; i < shown; i++) {
		const struct rel *r = &w->rels.v[i];
		const char *mod = cs_module_name(p, r->module);
		fprintf(out, "%8.2f%% %6.2f%% %8llu  %-40s ", cs_pct(r->count, fn_total),
			cs_pct(r->count, total), (unsigned long long)r->count,
			cs_text_str(&b, rel_label(p, r, callers, lbuf, sizeof(lbuf))));
		fprintf(out, "%s\n", *mod ? cs_text_str(&b, mod) : "-");
	}
	if (shown < w->rels.n)
		fprintf(out, "# ... %zu more %s (use --top 0 for all)\n", w->rels.n - shown,
			cs_plural(w->rels.n - shown, "row", "rows"));
	cs_buf_release(&b);
}

int cs_render_relatives(const struct cs_profile *p, const struct cs_report_opts *o, FILE *out)
{
	struct relwalk w;
	struct cs_tree t;
	const char *fn = o->callers ? o->callers : o->callees;
	size_t fn_len = strlen(fn);
	int ret = 0;

	memset(&w, 0, sizeof(w));
	w.p = p;
	w.t = &t;
	w.callers = o->callers != NULL;
	w.addrs = o->addrs;
	cs_map64_init(&w.ix);
	uint8_t *match = cs_xcalloc(p->frames.n + 1, 1);
	for (size_t f = 0; f < p->frames.n; f++)
		match[f] = (uint8_t)name_matches(cs_str(p, p->frames.v[f].func), fn, fn_len);
	w.match = match;
	cs_tree_build(p, &t);
	cs_tree_walk(&t, rel_enter, rel_leave, &w);
	/* relations opened but never counted (a caller whose stacks have no samples) */
	size_t k = 0;
	for (size_t i = 0; i < w.rels.n; i++)
		if (w.rels.v[i].count)
			w.rels.v[k++] = w.rels.v[i];
	w.rels.n = k;
	g_prof = p;
	if (w.rels.n > 1)
		qsort(w.rels.v, w.rels.n, sizeof(*w.rels.v), rel_cmp);
	if (!w.fn_total) {
		struct cs_buf b;
		cs_buf_init(&b);
		ret = cs_error("function '%s' does not occur in any sample", cs_text_str(&b, fn));
		cs_buf_release(&b);
	} else {
		print_rels(p, o, &w, cs_profile_total(p), out);
	}
	free(match);
	cs_tree_release(&t);
	CS_VEC_FREE(w.rels);
	CS_VEC_FREE(w.on);
	cs_map64_release(&w.ix);
	return ret;
}
