/* diff_svg.c - the differential flame graph: NEW's stacks, each frame coloured by how
 * its time (inclusive) changed from BASE, and BASE's frames that NEW no longer has
 * drawn hatched where they were, so vanished time stays visible. The tree is made
 * here, with both sides' time per frame; the drawing, the script, escaping and size
 * limits are the flame graph's (flame_svg.c through struct cs_flame_paint). */
#include "diff.h"
#include "util/buf.h"
#include "util/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct dnode {
	uint32_t parent, qframe;
	double base, new_;	  /* self, then (after sum_up) total */
	double base_var, new_var; /* sampling noise of the same */
	double excess;		  /* the table's judgment (diff.c) of the total */
	int sig;
	uint64_t samples; /* self, then total */
	char *note;
};

struct dtree {
	const struct cs_diff *d;
	CS_VEC(struct dnode) n;
	struct cs_map64 kids; /* (parent << 32 | frame key) -> node */
	uint32_t *key_of;     /* q frame -> key of (name, flags) */
	uint32_t *of_flame;   /* flame node -> dnode (paint, memo) */
	uint32_t *of_model;   /* model node -> dnode */
	size_t of_flame_n;
	double maxdelta;
	int seconds;
};

static uint32_t child(struct dtree *t, uint32_t parent, uint32_t qframe)
{
	int added;
	uint64_t key = ((uint64_t)parent << 32) | t->key_of[qframe];
	uint64_t *slot = cs_map64_put(&t->kids, key, t->n.n, &added);
	if (added) {
		struct dnode dn;
		memset(&dn, 0, sizeof(dn));
		dn.parent = parent;
		dn.qframe = qframe;
		CS_VEC_PUSH(t->n, dn);
	}
	return (uint32_t)*slot;
}

/* The frames of d->p copied into q (same names, modules, lines), and a key per
 * (name, flags) as the flame tree merges them. */
static uint32_t *copy_frames(const struct cs_profile *p, struct cs_profile *q)
{
	uint32_t *str = cs_xmalloc((p->strs.n + 1) * sizeof(uint32_t));
	memset(str, 0xff, (p->strs.n + 1) * sizeof(uint32_t));
#define STR(id)                                                                                    \
	(str[id] != CS_NONE ? str[id]                                                              \
			    : (str[id] = cs_profile_str(q, cs_str(p, id), cs_strlen(p, id))))
	uint32_t *mod = cs_xmalloc((p->modules.n + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < p->modules.n; i++) {
		struct cs_module m = p->modules.v[i];
		m.path = STR(m.path);
		m.name = STR(m.name);
		mod[i] = cs_profile_module(q, &m);
	}
	uint32_t *frame = cs_xmalloc((p->frames.n + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < p->frames.n; i++) {
		struct cs_frame f = p->frames.v[i];
		f.func = STR(f.func);
		f.file = f.file ? STR(f.file) : 0;
		f.module = f.module == CS_NONE ? CS_NONE : mod[f.module];
		frame[i] = cs_profile_frame(q, &f);
	}
#undef STR
	free(mod);
	free(str);
	return frame;
}

static uint32_t *frame_keys(const struct cs_profile *q)
{
	struct cs_map64 keys;
	cs_map64_init(&keys);
	uint32_t *key = cs_xmalloc((q->frames.n + 1) * sizeof(uint32_t));
	for (size_t f = 0; f < q->frames.n; f++) {
		int added;
		uint64_t k = ((uint64_t)q->frames.v[f].func << 32) | q->frames.v[f].flags;
		key[f] = (uint32_t)*cs_map64_put(&keys, k, keys.n, &added);
	}
	cs_map64_release(&keys);
	return key;
}

static void fmt_value(struct cs_buf *b, const struct dtree *t, double v)
{
	char s[64];
	if (t->seconds)
		snprintf(s, sizeof(s), "%.3f s", v);
	else
		snprintf(s, sizeof(s), "%.1f samples", v);
	cs_buf_put(b, s, strlen(s));
}

static void make_note(struct dtree *t, struct dnode *n)
{
	struct cs_buf b;
	char s[128];
	cs_buf_init(&b);
	double all = t->d->value[CS_BASE];
	if (n->new_ == 0) {
		cs_buf_put(&b, "only in BASE: ", 14);
		fmt_value(&b, t, n->base);
	} else {
		cs_buf_put(&b, "BASE ", 5);
		fmt_value(&b, t, n->base);
		cs_buf_put(&b, ", NEW ", 6);
		fmt_value(&b, t, n->new_);
		snprintf(s, sizeof(s), t->seconds ? ": %+.3f s" : ": %+.1f samples",
			 n->new_ - n->base);
		cs_buf_put(&b, s, strlen(s));
	}
	if (t->d->noise == CS_NOISE_SINGLE && n->new_ > 0 && n->base > 0) {
		snprintf(s, sizeof(s),
			 t->seconds ? ", %+.3f s beyond scale x BASE"
				    : ", %+.1f samples beyond scale x BASE",
			 n->excess);
		cs_buf_put(&b, s, strlen(s));
	}
	snprintf(s, sizeof(s), " (%+.2f%% of BASE's total), %s",
		 all > 0 ? 100 * (n->new_ - n->base) / all : 0.0,
		 n->sig ? "significant" : "within noise");
	cs_buf_put(&b, s, strlen(s) + 1);
	n->note = (char *)b.p;
}

static uint32_t fill_of(const struct dtree *t, const struct dnode *n)
{
	if (n->new_ == 0)
		return CS_FLAME_FILL_GONE;
	double delta = n->excess;
	if (!n->sig || delta == 0)
		return 0xcfcfcf;
	double s = t->maxdelta > 0 ? fabs(delta) / t->maxdelta : 1;
	s = 0.2 + 0.8 * (s > 1 ? 1 : s); /* saturation by size; a significant change shows */
	uint32_t lo = (uint32_t)lround(225 - 190 * s), hi = 238;
	return delta > 0 ? (hi << 16 | lo << 8 | lo) : (lo << 16 | lo << 8 | hi);
}

/* Each frame's total judged as the table judges a row (cs_diff_judge): by the same
 * noise model, at the level of the whole graph shared by the frames with samples. With
 * several runs on a side, each frame's total per run gives the run-to-run spread. */
static void judge_nodes(struct dtree *t, const struct cs_profile *q)
{
	const struct cs_diff *d = t->d;
	const struct cs_profile *p = &d->p;
	size_t nn = t->n.n, nf = d->files.n;
	struct cs_diff_est *est = cs_xcalloc(2 * nn + 1, sizeof(*est));
	for (size_t i = 0; i < nn; i++) {
		const struct dnode *n = &t->n.v[i];
		est[2 * i].value = n->base;
		est[2 * i].pois = n->base_var;
		est[2 * i + 1].value = n->new_;
		est[2 * i + 1].pois = n->new_var;
	}
	for (size_t s = 0; s < 2; s++)
		for (size_t i = 0; i < nn; i++)
			est[2 * i + s].n = d->runs[s];
	if (d->noise != CS_NOISE_SINGLE) {
		/* one file at a time: its total per frame, summed up the tree (parents
		 * are numbered before their children), into sums per side */
		double *x = cs_xmalloc((nn + 1) * sizeof(double));
		double *sum = cs_xcalloc(2 * nn + 1, sizeof(double));
		double *sum2 = cs_xcalloc(2 * nn + 1, sizeof(double));
		for (size_t f = 0; f < nf; f++) {
			const struct cs_diff_file *df = &d->files.v[f];
			memset(x, 0, (nn + 1) * sizeof(double));
			for (size_t i = 0; i < p->samples.n; i++) {
				const struct cs_sample *sm = &p->samples.v[i];
				if (p->threads.v[sm->thread].tid != f)
					continue;
				x[t->of_model[sm->stack]] += (double)sm->count * df->xscale;
			}
			for (size_t i = nn; i-- > 1;)
				x[t->n.v[i].parent] += x[i];
			for (size_t i = 0; i < nn; i++) {
				sum[2 * i + (size_t)df->side] += x[i];
				sum2[2 * i + (size_t)df->side] += x[i] * x[i];
			}
		}
		for (size_t j = 0; j < 2 * nn; j++) {
			double k = (double)est[j].n;
			if (k >= 2) {
				double m = sum[j] / k;
				double v = (sum2[j] - k * m * m) / (k - 1);
				est[j].run_s2 = v > 0 ? v : 0;
			}
		}
		free(sum2);
		free(sum);
		free(x);
	}
	size_t tested = 0;
	for (size_t i = 1; i < nn; i++)
		tested += t->n.v[i].samples > 0;
	double thr_p = d->o.alpha / (double)(tested ? tested : 1);
	for (size_t i = 0; i < nn; i++) {
		struct dnode *n = &t->n.v[i];
		struct cs_diff_row r;
		memset(&r, 0, sizeof(r));
		r.kernel = i > 0 && (q->frames.v[n->qframe].flags & CS_FRAME_KERNEL);
		cs_diff_judge(d, &r, &est[2 * i], &est[2 * i + 1], thr_p, i == 0);
		n->excess = r.excess;
		n->sig = r.significant;
	}
	free(est);
}

static uint32_t paint(void *ctx, const struct cs_flame_tree *ft, uint32_t node, const char **note)
{
	struct dtree *t = ctx;
	if (!t->of_flame) {
		t->of_flame_n = ft->nodes.n;
		t->of_flame = cs_xmalloc((t->of_flame_n + 1) * sizeof(uint32_t));
		memset(t->of_flame, 0xff, (t->of_flame_n + 1) * sizeof(uint32_t));
		t->of_flame[0] = 0;
	}
	*note = NULL;
	const struct cs_flame_node *fn = &ft->nodes.v[node];
	if (node == 0) {
		if (!t->n.v[0].note)
			make_note(t, &t->n.v[0]);
		*note = t->n.v[0].note;
		return CS_FLAME_FILL_KIND;
	}
	if (node >= t->of_flame_n || fn->frame == CS_NONE || fn->parent == CS_NONE ||
	    t->of_flame[fn->parent] == CS_NONE)
		return CS_FLAME_FILL_KIND;
	/* preorder: the parent is placed already */
	uint64_t key = ((uint64_t)t->of_flame[fn->parent] << 32) | t->key_of[fn->frame];
	uint64_t *v = cs_map64_get(&t->kids, key);
	if (!v)
		return CS_FLAME_FILL_KIND;
	t->of_flame[node] = (uint32_t)*v;
	struct dnode *dn = &t->n.v[*v];
	if (!dn->note)
		make_note(t, dn);
	*note = dn->note;
	return fill_of(t, dn);
}

int cs_render_diff_flame(const struct cs_diff *d, const struct cs_flame_opts *o, FILE *out)
{
	const struct cs_profile *p = &d->p;
	struct cs_profile q;
	struct dtree t;
	cs_profile_init(&q);
	memset(&t, 0, sizeof(t));
	t.d = d;
	t.seconds = d->seconds;
	cs_map64_init(&t.kids);

	uint32_t *qframe = copy_frames(p, &q);
	t.key_of = frame_keys(&q);
	struct dnode root;
	memset(&root, 0, sizeof(root));
	root.parent = CS_NONE;
	root.qframe = CS_NONE;
	CS_VEC_PUSH(t.n, root);

	/* model node -> tree node: parents are numbered before their children */
	uint32_t *of_model = cs_xmalloc((p->nodes.n + 1) * sizeof(uint32_t));
	t.of_model = of_model;
	of_model[0] = 0;
	for (size_t i = 1; i < p->nodes.n; i++)
		of_model[i] =
		    child(&t, of_model[p->nodes.v[i].parent], qframe[p->nodes.v[i].frame]);
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct cs_sample *s = &p->samples.v[i];
		const struct cs_diff_file *f = &d->files.v[p->threads.v[s->thread].tid];
		struct dnode *dn = &t.n.v[of_model[s->stack]];
		double c = (double)s->count; /* the time the table compared (diff.c) */
		if (f->side == CS_BASE) {
			dn->base += c * f->scale;
			dn->base_var += c * f->scale * f->scale * f->weight;
		} else {
			dn->new_ += c * f->scale;
			dn->new_var += c * f->scale * f->scale * f->weight;
		}
		dn->samples += (uint64_t)llround(c / f->weight);
	}
	free(qframe);

	/* what is drawn of each: NEW's own time, or BASE's where NEW has none below */
	size_t nn = t.n.n;
	double *self_new = cs_xmalloc((nn + 1) * sizeof(double));
	double *self_base = cs_xmalloc((nn + 1) * sizeof(double));
	for (size_t i = 0; i < nn; i++) {
		self_new[i] = t.n.v[i].new_;
		self_base[i] = t.n.v[i].base;
	}
	for (size_t i = nn; i-- > 1;) {
		struct dnode *n = &t.n.v[i], *pa = &t.n.v[n->parent];
		pa->base += n->base;
		pa->new_ += n->new_;
		pa->base_var += n->base_var;
		pa->new_var += n->new_var;
		pa->samples += n->samples;
	}
	judge_nodes(&t, &q);
	free(of_model);
	t.of_model = NULL;
	for (size_t i = 1; i < nn; i++) {
		const struct dnode *n = &t.n.v[i];
		if (n->new_ > 0 && n->sig && fabs(n->excess) > t.maxdelta)
			t.maxdelta = fabs(n->excess);
	}

	/* integer weights for the drawing: microseconds, or thousandths of samples */
	double ticks = d->seconds ? 1e6 : 1e3;
	uint32_t *qnode = cs_xmalloc((nn + 1) * sizeof(uint32_t));
	qnode[0] = 0;
	for (size_t i = 1; i < nn; i++) {
		const struct dnode *n = &t.n.v[i];
		qnode[i] = cs_profile_node(&q, qnode[n->parent], n->qframe);
		double w = n->new_ > 0 ? self_new[i] : self_base[i];
		if (w > 0) {
			double v = w * ticks;
			cs_profile_add(&q, qnode[i], CS_NONE, v < 1 ? 1 : (uint64_t)llround(v));
		}
	}
	free(qnode);
	free(self_new);
	free(self_base);

	static const struct cs_flame_legend legend[] = {
	    {0xee2323, "grew"},
	    {0x2323ee, "shrank"},
	    {0xcfcfcf, "no significant change"},
	    {CS_FLAME_FILL_GONE, "only in BASE"},
	};
	struct cs_flame_paint pt = {paint, &t, legend, CS_ARRAY_SIZE(legend)};
	struct cs_flame_opts fo = *o;
	fo.paint = &pt;
	fo.colors = CS_COLORS_MODULE;
	if (!fo.title)
		fo.title = "Differential Flame Graph";
	char *sub = NULL;
	if (!fo.subtitle) {
		char scale[64] = "";
		if (d->noise == CS_NOISE_SINGLE)
			snprintf(scale, sizeof(scale), ", common scale %.3f", d->scale);
		static const char *const how[] = {"time per run", "time per second of recording",
						  "shares of each side's total"};
		sub = cs_xasprintf("NEW's stacks against BASE, %s: red grew, blue shrank, grey "
				   "within noise (%s model%s); hatched: only in BASE",
				   how[d->mode], cs_diff_noise_name(d), scale);
		fo.subtitle = sub;
	}
	if (!fo.countname)
		fo.countname = d->seconds ? "\xc2\xb5s" : "thousandths of samples";
	int ret = cs_render_flame(&q, &fo, out);

	free(sub);
	for (size_t i = 0; i < t.n.n; i++)
		free(t.n.v[i].note);
	CS_VEC_FREE(t.n);
	cs_map64_release(&t.kids);
	free(t.key_of);
	free(t.of_flame);
	cs_profile_release(&q);
	return ret;
}
