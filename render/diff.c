/* diff.c - BASE against NEW: merging the files of each side, rows, significance,
 * the table. See diff.h. */
#include "diff.h"
#include "report_int.h"
#include "util/buf.h"
#include "util/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void cs_diff_init(struct cs_diff *d, const struct cs_diff_opts *o)
{
	memset(d, 0, sizeof(*d));
	cs_profile_init(&d->p);
	d->o = *o;
	if (!(d->o.alpha > 0 && d->o.alpha < 1))
		d->o.alpha = 0.05;
}

void cs_diff_release(struct cs_diff *d)
{
	for (size_t i = 0; i < d->files.n; i++)
		free(d->files.v[i].name);
	CS_VEC_FREE(d->files);
	CS_VEC_FREE(d->rows);
	free(d->frame_row);
	cs_profile_release(&d->p);
	memset(d, 0, sizeof(*d));
}

/* ---- the time of a sample ---- */

/* The weight of one sample in the chosen kind of time, in the counts of its file. The
 * command selects the time of every input before it is added (cs_profile_select_time:
 * CPU samples, or microseconds of off-CPU or wall time), so the counts are that time. */
static uint64_t sample_time(const struct cs_profile *p, const struct cs_sample *s)
{
	(void)p;
	return s->count;
}

static void add_sat(uint64_t *a, uint64_t b)
{
	*a = b > UINT64_MAX - *a ? UINT64_MAX : *a + b;
}

/* ---- merging ---- */

struct copy {
	struct cs_profile *dst;
	const struct cs_profile *src;
	uint32_t *str;
};

static uint32_t str_of(struct copy *c, uint32_t id)
{
	if (c->str[id] == CS_NONE)
		c->str[id] = cs_profile_str(c->dst, cs_str(c->src, id), cs_strlen(c->src, id));
	return c->str[id];
}

/* How a profile's counts turn into time, and how much it holds. */
static void describe_file(const struct cs_diff *d, struct cs_diff_file *f,
			  const struct cs_profile *src)
{
	const struct cs_meta *m = &src->meta;
	uint64_t total = 0;
	for (size_t i = 0; i < src->samples.n; i++)
		add_sat(&total, sample_time(src, &src->samples.v[i]));
	f->total = total;
	f->samples = src->stats.samples ? src->stats.samples : total;
	f->weight = f->samples ? (double)total / (double)f->samples : 1;
	if (f->weight < 1)
		f->weight = 1;
	f->duration_s = (double)src->stats.duration_ns / 1e9;
	f->unit = 1;
	f->seconds = 0;
	if (m->source == CS_SOURCE_RECORDING) {
		f->attached = m->pid != 0;
		if (cs_time_in_us(src->times.shown)) {
			/* off-CPU or wall time in microseconds: each sample and each off-CPU
			 * interval is one event of the noise model */
			uint64_t ev = src->stats.samples;
			add_sat(&ev, src->stats.offcpu_events);
			f->samples = ev ? ev : total;
			f->weight = f->samples ? (double)total / (double)f->samples : 1;
			if (f->weight < 1)
				f->weight = 1;
			f->unit = 1e-6;
			f->seconds = 1;
			return;
		}
		if (m->hz) {
			f->unit = 1.0 / m->hz;
			f->seconds = 1;
		}
		return;
	}
	/* perf script of a clock event weighted by period: nanoseconds */
	const char *ev = cs_str(src, m->event);
	if (m->source == CS_SOURCE_PERF_SCRIPT && total != src->stats.samples &&
	    strstr(ev, "clock")) {
		f->unit = 1e-9;
		f->seconds = 1;
		return;
	}
	if (d->o.freq > 0) {
		f->unit = 1.0 / (d->o.freq * f->weight); /* each sample is 1/freq s */
		f->seconds = 1;
	}
}

int cs_diff_add(struct cs_diff *d, int side, const struct cs_profile *src, const char *name)
{
	struct cs_profile *dst = &d->p;
	struct copy c = {dst, src, cs_xmalloc((src->strs.n + 1) * sizeof(uint32_t))};
	memset(c.str, 0xff, (src->strs.n + 1) * sizeof(uint32_t));
	uint32_t file = (uint32_t)d->files.n;

	uint32_t *mod = cs_xmalloc((src->modules.n + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < src->modules.n; i++) {
		struct cs_module m = src->modules.v[i];
		m.path = str_of(&c, m.path);
		m.name = str_of(&c, m.name);
		mod[i] = cs_profile_module(dst, &m);
	}
	uint32_t *frame = cs_xmalloc((src->frames.n + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < src->frames.n; i++) {
		struct cs_frame f = src->frames.v[i];
		f.func = str_of(&c, f.func);
		f.file = f.file ? str_of(&c, f.file) : 0;
		f.module = f.module == CS_NONE ? CS_NONE : mod[f.module];
		frame[i] = cs_profile_frame(dst, &f);
	}
	/* A parent is numbered before its children, so one pass maps every node. */
	uint32_t *node = cs_xmalloc((src->nodes.n + 1) * sizeof(uint32_t));
	node[0] = 0;
	for (size_t i = 1; i < src->nodes.n; i++) {
		const struct cs_node *n = &src->nodes.v[i];
		node[i] =
		    n->parent < i ? cs_profile_node(dst, node[n->parent], frame[n->frame]) : 0;
	}
	uint32_t *thr = cs_xmalloc((src->threads.n + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < src->threads.n; i++) {
		const struct cs_thread *t = &src->threads.v[i];
		thr[i] = cs_profile_thread(dst, (uint32_t)side, file, str_of(&c, t->name),
					   str_of(&c, t->process));
	}
	for (size_t i = 0; i < src->samples.n; i++) {
		const struct cs_sample *s = &src->samples.v[i];
		uint32_t t = s->thread < src->threads.n
				 ? thr[s->thread]
				 : cs_profile_thread(dst, (uint32_t)side, file, 0, 0);
		cs_profile_add(dst, node[s->stack], t, sample_time(src, s));
	}
	if (!dst->meta.hz)
		dst->meta.hz = src->meta.hz;

	struct cs_diff_file f;
	memset(&f, 0, sizeof(f));
	f.name = cs_xstrdup(name);
	f.side = side;
	describe_file(d, &f, src);
	CS_VEC_PUSH(d->files, f);
	free(thr);
	free(node);
	free(frame);
	free(mod);
	free(c.str);
	return 0;
}

/* ---- rows ---- */

struct keys {
	struct cs_diff *d;
	CS_VEC(struct cs_diff_row) v;
	struct cs_index ix;
	const struct cs_diff_row *key;
};

static int key_eq(void *ctx, uint32_t idx)
{
	struct keys *k = ctx;
	const struct cs_diff_row *a = &k->v.v[idx], *b = k->key;
	return a->label == b->label && a->module_key == b->module_key && a->file == b->file &&
	       a->line == b->line;
}

static uint32_t row_of(struct keys *k, uint32_t label, uint32_t module, uint32_t module_key,
		       uint32_t file, uint32_t line)
{
	struct cs_diff_row r;
	memset(&r, 0, sizeof(r));
	r.label = label;
	r.module = module;
	r.module_key = module_key;
	r.file = file;
	r.line = line;
	uint64_t h = cs_hash_u64(((uint64_t)label << 32) ^ module_key);
	h = cs_hash_u64(h ^ ((uint64_t)file << 32) ^ line);
	k->key = &r;
	uint32_t idx = cs_index_find(&k->ix, h, key_eq, k);
	if (idx != CS_INDEX_NONE)
		return idx;
	idx = (uint32_t)k->v.n;
	CS_VEC_PUSH(k->v, r);
	cs_index_insert(&k->ix, h, idx);
	return idx;
}

/* The row of a model frame: by function, line or module, keyed by names so that two
 * builds of a program (other build-ids, other addresses) meet. The main executables
 * of all files are one module for this, whatever their names (./app-1.2 against
 * ./app-1.3): the row shows the name seen first. */
static uint32_t frame_key(struct keys *k, uint32_t f)
{
	struct cs_profile *p = &k->d->p;
	int by = k->d->o.by;
	struct cs_hotspot h = cs_frame_key(p, f, by, 0);
	uint32_t mname = h.module == CS_NONE ? 0 : p->modules.v[h.module].name;
	uint32_t mkey = mname;
	if (h.module != CS_NONE && (p->modules.v[h.module].flags & CS_MODULE_MAIN))
		mkey = CS_NONE;
	if (by == CS_BY_MODULE) {
		const char *m = cs_module_name(p, h.module);
		uint32_t id = cs_profile_cstr(p, *m ? m : "[unknown]");
		/* the label of the main executables' row is set once rows are made */
		return row_of(k, mkey == CS_NONE ? 0 : id, id, mkey, 0, 0);
	}
	if (h.unnamed) {
		char *s = mkey == CS_NONE ? cs_xstrdup("[main]")
					  : cs_xasprintf("[%s]", cs_module_name(p, h.module));
		uint32_t id = cs_profile_cstr(p, s);
		free(s);
		return row_of(k, id, mname, mkey, 0, 0);
	}
	return row_of(k, h.func, mname, mkey, h.file, h.line);
}

static int row_cmp(const void *a, const void *b, void *ctx)
{
	const struct cs_diff *d = ctx;
	const struct cs_diff_row *x = a, *y = b;
	double ax = fabs(x->delta), ay = fabs(y->delta);
	if (ax != ay)
		return ax > ay ? -1 : 1;
	double mx = CS_MAX(x->base, x->new_), my = CS_MAX(y->base, y->new_);
	if (mx != my)
		return mx > my ? -1 : 1;
	int c = strcmp(cs_str(&d->p, x->label), cs_str(&d->p, y->label));
	if (c)
		return c;
	c = strcmp(cs_str(&d->p, x->module), cs_str(&d->p, y->module));
	if (c)
		return c;
	c = strcmp(cs_str(&d->p, x->file), cs_str(&d->p, y->file));
	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* ---- significance ---- */

/* A side's estimate of one row from its files' counts c[file]. */
static struct cs_diff_est estimate(const struct cs_diff *d, int side, const uint64_t *c)
{
	struct cs_diff_est e = {0, 0, 0, 0};
	double sum = 0, sum2 = 0;
	for (size_t i = 0; i < d->files.n; i++) {
		const struct cs_diff_file *f = &d->files.v[i];
		if (f->side != side)
			continue;
		double ci = (double)c[i];
		e.value += ci * f->scale;
		e.pois += f->scale * f->scale * f->weight * ci;
		double x = ci * f->xscale;
		sum += x;
		sum2 += x * x;
		e.n++;
	}
	if (e.n >= 2) {
		double mean = sum / (double)e.n;
		e.run_s2 = (sum2 - (double)e.n * mean * mean) / (double)(e.n - 1);
		if (e.run_s2 < 0)
			e.run_s2 = 0;
	}
	return e;
}

/* The variance of a side's value and its degrees of freedom: the larger of sampling
 * noise and the spread between runs. A side of one run borrows the spread of the other
 * side's runs (the same program, the same machine): its own cannot be seen. */
static double side_var(const struct cs_diff_est *e, const struct cs_diff_est *other, double *df)
{
	double s2 = e->run_s2, n_s2 = (double)e->n;
	if (e->n < 2 && other->n >= 2) {
		s2 = other->run_s2;
		n_s2 = (double)other->n;
	}
	double spread = s2 / (double)e->n;
	*df = INFINITY;
	if (n_s2 >= 2 && spread > e->pois) {
		*df = n_s2 - 1;
		return spread;
	}
	return e->pois;
}

const char *cs_diff_noise_name(const struct cs_diff *d)
{
	static const char *const names[] = {"run-to-run", "borrowed-spread", "single-run"};
	return names[d->noise];
}

/* single-run model: the excess of NEW over scale x BASE, its variance, and what of it
 * the allowance covers */
static void judge_single(const struct cs_diff *d, struct cs_diff_row *r,
			 const struct cs_diff_est *b, const struct cs_diff_est *n, int total,
			 double *var, double *tol)
{
	double all = d->value[CS_BASE];
	if (total) {
		r->excess = n->value - b->value;
		*var = b->pois + n->pois;
		*tol = CS_DIFF_ALLOWANCE * all;
		return;
	}
	double k = d->scale, jit = CS_DIFF_JITTER * k * b->value;
	r->excess = n->value - k * b->value;
	*var = n->pois + k * k * b->pois + jit * jit + b->value * b->value * d->scale_var;
	*tol = r->kernel ? CS_DIFF_ALLOWANCE * all : 0;
}

void cs_diff_judge(const struct cs_diff *d, struct cs_diff_row *r, const struct cs_diff_est *b,
		   const struct cs_diff_est *n, double thr_p, int total)
{
	double all = d->value[CS_BASE];
	r->base = b->value;
	r->new_ = n->value;
	r->delta = n->value - b->value;
	r->delta_pct = all > 0 ? 100.0 * r->delta / all : 0;
	r->excess = r->delta;
	r->status = b->value == 0 && n->value > 0   ? CS_DIFF_NEW
		    : n->value == 0 && b->value > 0 ? CS_DIFF_GONE
						    : CS_DIFF_BOTH;
	r->df = INFINITY;
	r->z = 0;
	r->significant = 0;
	if (d->noise == CS_NOISE_SINGLE) {
		double v, tol;
		judge_single(d, r, b, n, total, &v, &tol);
		double m = fabs(r->excess) - tol;
		if (v > 0 && m > 0) {
			r->z = (r->excess > 0 ? m : -m) / sqrt(v);
			r->significant = fabs(r->z) > cs_norm_quantile(1 - thr_p / 2);
		}
	} else {
		double bdf, ndf;
		double bv = side_var(b, n, &bdf), nv = side_var(n, b, &ndf);
		double v = bv + nv;
		if (v > 0) {
			/* Welch-Satterthwaite; a side of sampling noise only has infinite
			 * df. A borrowed spread counts its degrees of freedom once. */
			double den =
			    (isinf(bdf) ? 0 : bv * bv / bdf) + (isinf(ndf) ? 0 : nv * nv / ndf);
			if (den > 0)
				r->df = v * v / den;
			if (b->n < 2 && !isinf(bdf))
				r->df = CS_MIN(r->df, ndf);
			if (n->n < 2 && !isinf(ndf))
				r->df = CS_MIN(r->df, bdf);
			r->z = r->delta / sqrt(v);
			r->significant = fabs(r->z) > cs_t_quantile(1 - thr_p / 2, r->df);
		}
	}
	r->excess_pct = all > 0 ? 100.0 * r->excess / all : 0;
	r->regression = r->significant && r->excess > 0 &&
			(d->o.fail_above < 0 || r->excess_pct > d->o.fail_above);
}

/* single-run model: is row i's NEW figure within noise of k x its BASE figure? */
static int agrees(const struct cs_diff_est *b, const struct cs_diff_est *n, double k)
{
	double sd = sqrt(n->pois + k * k * b->pois);
	return fabs(n->value - k * b->value) <= 2 * sd + CS_DIFF_JITTER * k * b->value;
}

/* The common scale NEW/BASE of one run per side. Rows seen on both sides with enough
 * samples, kernel rows left out, vote: each candidate scale (1, and every row's own
 * ratio within the allowance) gets the BASE time of the rows that agree with it,
 * discounted by up to half towards the ends of the allowance (no change is the likelier
 * reading of a tie: a function that doubled next to one that stayed is a change, not a
 * slow machine). The winner's agreeing rows give the scale as their ratio of totals. */
static void estimate_scale(struct cs_diff *d, const struct cs_diff_row *rows,
			   const struct cs_diff_est *est, size_t nrows)
{
	double lim = log1p(CS_DIFF_ALLOWANCE);
	double best = 0, bestk = 1;
	d->scale = 1;
	d->scale_var = 0;
	d->scale_share = 0;
	d->scale_rows = 0;
	for (size_t j = 0; j <= nrows; j++) {
		double k = 1;
		if (j < nrows) {
			const struct cs_diff_est *b = &est[2 * j], *n = &est[2 * j + 1];
			if (rows[j].kernel || rows[j].base_samples < 10 ||
			    rows[j].new_samples < 10 || !(b->value > 0))
				continue;
			k = n->value / b->value;
			if (!(fabs(log(k)) <= lim))
				continue;
		}
		double support = 0;
		for (size_t i = 0; i < nrows; i++) {
			const struct cs_diff_est *b = &est[2 * i], *n = &est[2 * i + 1];
			if (rows[i].kernel || rows[i].base_samples < 10 || rows[i].new_samples < 10)
				continue;
			if (agrees(b, n, k))
				support += b->value;
		}
		double score = support * (1 - 0.5 * fabs(log(k)) / lim);
		if (score > best) {
			best = score;
			bestk = k;
		}
	}
	if (!(best > 0))
		return;
	double sb = 0, sn = 0, vb = 0, vn = 0;
	for (size_t i = 0; i < nrows; i++) {
		const struct cs_diff_est *b = &est[2 * i], *n = &est[2 * i + 1];
		if (rows[i].kernel || rows[i].base_samples < 10 || rows[i].new_samples < 10 ||
		    !agrees(b, n, bestk))
			continue;
		sb += b->value;
		sn += n->value;
		vb += b->pois;
		vn += n->pois;
		d->scale_rows++;
	}
	if (!(sb > 0 && sn > 0))
		return;
	double k = sn / sb;
	if (k > 1 + CS_DIFF_ALLOWANCE)
		k = 1 + CS_DIFF_ALLOWANCE;
	if (k < 1 / (1 + CS_DIFF_ALLOWANCE))
		k = 1 / (1 + CS_DIFF_ALLOWANCE);
	d->scale = k;
	/* delta method on sn / sb */
	d->scale_var = k * k * (vn / (sn * sn) + vb / (sb * sb));
	d->scale_share = d->value[CS_BASE] > 0 ? sb / d->value[CS_BASE] : 0;
}

/* ---- computing ---- */

static int choose_mode(struct cs_diff *d)
{
	int attached = 0, secs = 1;
	for (size_t i = 0; i < d->files.n; i++) {
		const struct cs_diff_file *f = &d->files.v[i];
		d->runs[f->side]++;
		d->samples[f->side] += f->samples;
		d->duration[f->side] += f->duration_s;
		attached |= f->attached;
		secs &= f->seconds;
	}
	for (int s = 0; s < 2; s++)
		if (!d->runs[s])
			return cs_error("no %s profile: give at least one file on each side",
					s ? "NEW" : "BASE");
	for (size_t i = 0; i < d->files.n; i++)
		if (!d->files.v[i].total)
			return cs_error("'%s' has no samples: nothing to compare",
					d->files.v[i].name);
	d->seconds = secs;
	if (d->o.normalize) {
		d->mode = CS_DIFF_SHARES;
		return 0;
	}
	for (size_t i = 0; !secs && i < d->files.n; i++) {
		if (!d->files.v[i].seconds)
			continue;
		for (size_t j = 0; j < d->files.n; j++)
			if (!d->files.v[j].seconds)
				return cs_error(
				    "'%s' counts samples at an unknown rate and '%s' CPU "
				    "time: give the sampling rate of the text input with "
				    "-F HZ, or compare shares with --normalize",
				    d->files.v[j].name, d->files.v[i].name);
	}
	if (!attached) {
		d->mode = CS_DIFF_PER_RUN;
		return 0;
	}
	d->mode = CS_DIFF_PER_SECOND;
	for (size_t i = 0; i < d->files.n; i++)
		if (!(d->files.v[i].duration_s > 0))
			return cs_error(
			    "'%s' has no duration, and attached recordings are compared "
			    "per second of recording: compare shares with --normalize",
			    d->files.v[i].name);
	return 0;
}

static int cmp_desc(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x > y ? -1 : x < y;
}

/* How many rows share the significance level (Tarone's refinement of Bonferroni): a
 * row of c samples, all of them on one side, is at most sqrt(c) standard errors from
 * no change; rows too thin to reach the level K rows would each get cannot be flagged
 * at all and do not dilute it. The smallest K that at most K rows can reach, the total
 * included. */
static size_t tested_rows(const struct cs_diff *d, const struct cs_diff_row *rows, size_t n)
{
	double *c = cs_xmalloc((n + 2) * sizeof(double));
	size_t m = 0;
	c[m++] = INFINITY; /* the total */
	for (size_t i = 0; i < n; i++)
		c[m++] = (double)rows[i].base_samples + (double)rows[i].new_samples;
	qsort(c, m, sizeof(double), cmp_desc);
	size_t k = 1;
	for (; k < m; k++) {
		double z = cs_norm_quantile(1 - d->o.alpha / (2.0 * (double)k));
		/* rows with sqrt(c) > z: the first of c[] at or below z*z ends them */
		size_t lo = 0, hi = m;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (c[mid] > z * z)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo <= k)
			break;
	}
	free(c);
	return k;
}

int cs_diff_compute(struct cs_diff *d)
{
	if (choose_mode(d) < 0)
		return -1;
	size_t nf = d->files.n;
	/* per run, then per second or shares */
	double total[2] = {0, 0};
	uint64_t counts[2] = {0, 0};
	for (size_t i = 0; i < nf; i++) {
		struct cs_diff_file *f = &d->files.v[i];
		total[f->side] += (double)f->total * f->unit / (double)d->runs[f->side];
		add_sat(&counts[f->side], f->total);
	}
	for (size_t i = 0; i < nf; i++) {
		struct cs_diff_file *f = &d->files.v[i];
		double n = (double)d->runs[f->side];
		switch (d->mode) {
		case CS_DIFF_PER_RUN:
			f->scale = f->unit / n;
			f->xscale = f->unit;
			break;
		case CS_DIFF_PER_SECOND:
			f->scale = f->unit / d->duration[f->side];
			f->xscale = f->unit / f->duration_s;
			break;
		default:
			/* each side scaled to BASE's total per run */
			f->scale = total[CS_BASE] / (double)counts[f->side];
			f->xscale = total[CS_BASE] / (double)f->total;
			break;
		}
	}
	for (size_t i = 0; i < nf; i++)
		d->value[d->files.v[i].side] += (double)d->files.v[i].total * d->files.v[i].scale;

	/* counts per row and file */
	struct keys k;
	memset(&k, 0, sizeof(k));
	k.d = d;
	cs_index_init(&k.ix);
	struct cs_profile *p = &d->p;
	uint32_t *frame_row = cs_xmalloc((p->frames.n + 1) * sizeof(uint32_t));
	memset(frame_row, 0xff, (p->frames.n + 1) * sizeof(uint32_t));
	CS_VEC(uint64_t) c = {0};
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct cs_sample *s = &p->samples.v[i];
		uint64_t w = s->count; /* the merged model holds the chosen time only */
		if (!w)
			continue;
		uint32_t row;
		if (d->o.by == CS_BY_THREAD) {
			row = row_of(&k, p->threads.v[s->thread].name, 0, 0, 0, 0);
		} else if (s->stack == 0) {
			row = row_of(&k, cs_profile_cstr(p, "[no stack]"), 0, 0, 0, 0);
		} else {
			uint32_t f = p->nodes.v[s->stack].frame;
			if (frame_row[f] == CS_NONE) {
				frame_row[f] = frame_key(&k, f);
				if (p->frames.v[f].flags & CS_FRAME_KERNEL)
					k.v.v[frame_row[f]].kernel = 1;
			}
			row = frame_row[f];
		}
		size_t need = (k.v.n) * nf;
		if (c.n < need) {
			CS_GROW(c.v, c.cap, need);
			memset(c.v + c.n, 0, (need - c.n) * sizeof(uint64_t));
			c.n = need;
		}
		add_sat(&c.v[(size_t)row * nf + p->threads.v[s->thread].tid], w);
	}
	d->frame_row = frame_row;

	for (size_t r = 0; r < k.v.n; r++) {
		struct cs_diff_row *row = &k.v.v[r];
		if (d->o.by == CS_BY_MODULE && row->module_key == CS_NONE)
			row->label = row->module;
		const uint64_t *rc = c.v + r * nf;
		for (size_t i = 0; i < nf; i++) {
			double s = (double)rc[i] / d->files.v[i].weight;
			if (d->files.v[i].side == CS_BASE)
				row->base_samples += (uint64_t)llround(s);
			else
				row->new_samples += (uint64_t)llround(s);
		}
	}
	d->tested = tested_rows(d, k.v.v, k.v.n);
	double thr_p = d->o.alpha / (double)d->tested;

	d->noise = d->runs[CS_BASE] >= 2 && d->runs[CS_NEW] >= 2   ? CS_NOISE_RUNS
		   : d->runs[CS_BASE] >= 2 || d->runs[CS_NEW] >= 2 ? CS_NOISE_BORROWED
								   : CS_NOISE_SINGLE;
	struct cs_diff_est *est = cs_xmalloc((2 * k.v.n + 1) * sizeof(*est));
	for (size_t r = 0; r < k.v.n; r++) {
		est[2 * r] = estimate(d, CS_BASE, c.v + r * nf);
		est[2 * r + 1] = estimate(d, CS_NEW, c.v + r * nf);
	}
	d->scale = 1;
	d->scale_var = 0;
	if (d->noise == CS_NOISE_SINGLE)
		estimate_scale(d, k.v.v, est, k.v.n);

	uint64_t *tot = cs_xcalloc(nf + 1, sizeof(uint64_t));
	for (size_t i = 0; i < nf; i++)
		tot[i] = d->files.v[i].total;
	memset(&d->total, 0, sizeof(d->total));
	d->total.label = cs_profile_cstr(p, "[total]");
	struct cs_diff_est tb = estimate(d, CS_BASE, tot), tn = estimate(d, CS_NEW, tot);
	cs_diff_judge(d, &d->total, &tb, &tn, thr_p, 1);
	d->total.base_samples = d->samples[CS_BASE];
	d->total.new_samples = d->samples[CS_NEW];
	free(tot);
	d->regressions = d->total.regression;
	for (size_t r = 0; r < k.v.n; r++) {
		cs_diff_judge(d, &k.v.v[r], &est[2 * r], &est[2 * r + 1], thr_p, 0);
		d->regressions += (size_t)k.v.v[r].regression;
	}
	free(est);
	qsort_r(k.v.v, k.v.n, sizeof(struct cs_diff_row), row_cmp, d);
	d->rows.v = k.v.v;
	d->rows.n = k.v.n;
	d->rows.cap = k.v.cap;
	cs_index_release(&k.ix);
	CS_VEC_FREE(c);
	return 0;
}
