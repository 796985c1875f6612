/* callgrind.c - the callgrind profile format (valgrind's docs/callgrind-format), read by
 * callgrind_annotate and KCachegrind.
 *
 * A function is a (module, file, name); each frame's line is a position. Self cost:
 * a sample's weight at its leaf frame's function and line. Calls: for every adjacent
 * pair of frames of a stack, the caller's function and line call the callee's function,
 * with the stack's weight as inclusive cost; a stack that passes the same call site
 * twice (recursion) counts it once, so no inclusive cost exceeds the total. The calls=
 * count is the number of samples that passed the call site, not the number of calls
 * (a sampler cannot know it).
 */
#include "view.h"
#include "util/buf.h"

#include <stdlib.h>
#include <string.h>

struct cfn {
	uint32_t module, file, func;
};

struct edge {
	uint32_t fn, line, callee;
};

struct cg {
	const struct cs_profile *p;
	CS_VEC(struct cfn) fns;
	struct cs_index fn_ix;
	uint32_t *fn_of; /* frame -> fn + 1 */
	CS_VEC(struct edge) edges;
	CS_VEC(uint64_t) edge_cost;
	struct cs_index edge_ix;
	struct cs_map64 self; /* fn << 32 | line -> cost */
	/* name compression: id given to a module / file / function name (0: none yet) */
	uint32_t *ob_id, *fl_id, *fn_id;
	uint32_t next_ob, next_fl, next_fn;
};

struct fkey {
	struct cg *g;
	const void *k;
};

static int fn_eq(void *ctx, uint32_t idx)
{
	struct fkey *k = ctx;
	const struct cfn *a = &k->g->fns.v[idx], *b = k->k;
	return a->module == b->module && a->file == b->file && a->func == b->func;
}

static int edge_eq(void *ctx, uint32_t idx)
{
	struct fkey *k = ctx;
	const struct edge *a = &k->g->edges.v[idx], *b = k->k;
	return a->fn == b->fn && a->line == b->line && a->callee == b->callee;
}

static uint32_t fn_of(struct cg *g, uint32_t frame)
{
	if (g->fn_of[frame])
		return g->fn_of[frame] - 1;
	const struct cs_frame *f = &g->p->frames.v[frame];
	struct cfn c = {f->module, f->file, f->func};
	uint64_t h = cs_hash_u64(((uint64_t)c.module << 32 | c.file) ^ cs_hash_u64(c.func));
	struct fkey k = {g, &c};
	uint32_t idx = cs_index_find(&g->fn_ix, h, fn_eq, &k);
	if (idx == CS_INDEX_NONE) {
		idx = (uint32_t)g->fns.n;
		CS_VEC_PUSH(g->fns, c);
		cs_index_insert(&g->fn_ix, h, idx);
	}
	g->fn_of[frame] = idx + 1;
	return idx;
}

static uint32_t edge_of(struct cg *g, const struct edge *e)
{
	uint64_t h = cs_hash_u64(((uint64_t)e->fn << 32 | e->line) ^ cs_hash_u64(e->callee + 1));
	struct fkey k = {g, e};
	uint32_t idx = cs_index_find(&g->edge_ix, h, edge_eq, &k);
	if (idx == CS_INDEX_NONE) {
		idx = (uint32_t)g->edges.n;
		CS_VEC_PUSH(g->edges, *e);
		CS_VEC_PUSH(g->edge_cost, 0);
		cs_index_insert(&g->edge_ix, h, idx);
	}
	return idx;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static const struct cg *g_sort; /* qsort has no context argument */

static int edge_cmp(const void *a, const void *b)
{
	const struct edge *x = &g_sort->edges.v[*(const uint32_t *)a],
			  *y = &g_sort->edges.v[*(const uint32_t *)b];
	if (x->fn != y->fn)
		return x->fn < y->fn ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->callee < y->callee ? -1 : x->callee > y->callee;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* A name with (id) compression: "(3) name" the first time, "(3)" after. Names are
 * one line: line breaks become spaces. */
static void put_name(FILE *out, const char *key, uint32_t *ids, uint32_t *next, uint32_t slot,
		     const char *name)
{
	if (ids[slot]) {
		fprintf(out, "%s=(%u)\n", key, ids[slot]);
		return;
	}
	ids[slot] = ++*next;
	fprintf(out, "%s=(%u) ", key, ids[slot]);
	for (const char *s = name; *s; s++)
		fputc(*s == '\n' || *s == '\r' ? ' ' : *s, out);
	fputc('\n', out);
}

static const char *module_name(const struct cs_profile *p, uint32_t m)
{
	if (m == CS_NONE)
		return "???";
	const char *s = cs_str(p, p->modules.v[m].path);
	return *s ? s : cs_module_name(p, m);
}

static void put_fn(struct cg *g, FILE *out, const char *ob, const char *fl, const char *fn,
		   uint32_t f)
{
	const struct cs_profile *p = g->p;
	const struct cfn *c = &g->fns.v[f];
	put_name(out, ob, g->ob_id, &g->next_ob, c->module == CS_NONE ? 0 : c->module + 1,
		 module_name(p, c->module));
	put_name(out, fl, g->fl_id, &g->next_fl, c->file, c->file ? cs_str(p, c->file) : "???");
	put_name(out, fn, g->fn_id, &g->next_fn, f, cs_str(p, c->func));
}

int cs_render_callgrind(const struct cs_profile *p0, const struct cs_view_opts *o, FILE *out)
{
	struct cs_profile tmp;
	cs_profile_init(&tmp);
	const struct cs_profile *p;
	if (cs_view_input(p0, o, 0, &tmp, &p) < 0) {
		cs_profile_release(&tmp);
		return -1;
	}
	struct cg g;
	memset(&g, 0, sizeof(g));
	g.p = p;
	cs_index_init(&g.fn_ix);
	cs_index_init(&g.edge_ix);
	cs_map64_init(&g.self);
	g.fn_of = cs_xcalloc(p->frames.n + 1, sizeof(*g.fn_of));

	uint32_t *stack = NULL, *seen = NULL;
	size_t cap = 0, seen_cap = 0;
	uint64_t total = 0;
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct cs_sample *s = &p->samples.v[i];
		uint64_t w = cs_view_weight(p, s, o);
		if (!w)
			continue;
		size_t d = p->nodes.v[s->stack].depth;
		if (!d)
			continue;
		CS_GROW(stack, cap, d);
		cs_profile_frames(p, s->stack, stack, d);
		total += w;
		int added;
		const struct cs_frame *leaf = &p->frames.v[stack[d - 1]];
		*cs_map64_put(&g.self, (uint64_t)fn_of(&g, stack[d - 1]) << 32 | leaf->line, 0,
			      &added) += w;
		CS_GROW(seen, seen_cap, d);
		size_t ns = 0;
		for (size_t j = 0; j + 1 < d; j++) {
			struct edge e = {fn_of(&g, stack[j]), p->frames.v[stack[j]].line,
					 fn_of(&g, stack[j + 1])};
			seen[ns++] = edge_of(&g, &e);
		}
		qsort(seen, ns, sizeof(*seen), u32_cmp);
		for (size_t j = 0; j < ns; j++)
			if (!j || seen[j] != seen[j - 1])
				g.edge_cost.v[seen[j]] += w;
	}
	free(stack);
	free(seen);

	/* Order: functions by id; within one, self lines then calls, by line. */
	size_t nself = 0;
	uint64_t *selfk = cs_xmalloc((g.self.n + 1) * sizeof(*selfk));
	for (size_t i = 0; i < g.self.cap; i++)
		if (g.self.used[i])
			selfk[nself++] = g.self.keys[i];
	qsort(selfk, nself, sizeof(*selfk), u64_cmp);
	uint32_t *eord = cs_xmalloc((g.edges.n + 1) * sizeof(*eord));
	for (size_t i = 0; i < g.edges.n; i++)
		eord[i] = (uint32_t)i;
	g_sort = &g;
	qsort(eord, g.edges.n, sizeof(*eord), edge_cmp);

	g.ob_id = cs_xcalloc(p->modules.n + 2, sizeof(uint32_t));
	g.fl_id = cs_xcalloc(p->strs.n + 1, sizeof(uint32_t));
	g.fn_id = cs_xcalloc(g.fns.n + 1, sizeof(uint32_t));
	const char *cmd = cs_str(p, p->meta.command);
	fprintf(out, "# callgrind format\nversion: 1\ncreator: csampler %s\n", CS_VERSION);
	if (p->meta.pid > 0)
		fprintf(out, "pid: %lld\n", (long long)p->meta.pid);
	fputs("cmd: ", out);
	for (const char *s = *cmd ? cmd : "csampler profile"; *s; s++)
		fputc(*s == '\n' || *s == '\r' ? ' ' : *s, out);
	uint64_t period = cs_view_period_ns(p, o);
	const char *type, *unit;
	cs_view_unit(p, o, &type, &unit);
	/* an event name is one word */
	fprintf(out, "\npart: 1\n\npositions: line\nevents: %s\n",
		o->leaks			? "Bytes"
		: !strcmp(unit, "nanoseconds")	? "Nanoseconds"
		: !strcmp(unit, "microseconds") ? "Microseconds"
						: "Samples");
	if (period && !cs_time_in_us(p->times.shown))
		fprintf(out, "# one sample: %llu ns of CPU time\n", (unsigned long long)period);
	fprintf(out, "summary: %llu\n\n", (unsigned long long)total);

	size_t si = 0, ei = 0;
	while (si < nself || ei < g.edges.n) {
		uint32_t f = UINT32_MAX;
		if (si < nself)
			f = (uint32_t)(selfk[si] >> 32);
		if (ei < g.edges.n && g.edges.v[eord[ei]].fn < f)
			f = g.edges.v[eord[ei]].fn;
		put_fn(&g, out, "ob", "fl", "fn", f);
		for (; si < nself && (uint32_t)(selfk[si] >> 32) == f; si++)
			fprintf(out, "%u %llu\n", (uint32_t)selfk[si],
				(unsigned long long)*cs_map64_get(&g.self, selfk[si]));
		for (; ei < g.edges.n && g.edges.v[eord[ei]].fn == f; ei++) {
			const struct edge *e = &g.edges.v[eord[ei]];
			uint64_t c = g.edge_cost.v[eord[ei]];
			put_fn(&g, out, "cob", "cfi", "cfn", e->callee);
			fprintf(out, "calls=%llu 0\n%u %llu\n", (unsigned long long)c, e->line,
				(unsigned long long)c);
		}
		fputc('\n', out);
	}
	fprintf(out, "totals: %llu\n", (unsigned long long)total);

	free(selfk);
	free(eord);
	free(g.ob_id);
	free(g.fl_id);
	free(g.fn_id);
	free(g.fn_of);
	CS_VEC_FREE(g.fns);
	CS_VEC_FREE(g.edges);
	CS_VEC_FREE(g.edge_cost);
	cs_index_release(&g.fn_ix);
	cs_index_release(&g.edge_ix);
	cs_map64_release(&g.self);
	cs_profile_release(&tmp);
	return 0;
}
