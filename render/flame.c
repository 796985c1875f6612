/* flame.c - the flame tree: model stacks merged by frame name and flags, children
 * sorted by name, narrow siblings merged into one frame. See flame.h. */
#include "flame.h"
#include "util/buf.h"

#include <stdlib.h>
#include <string.h>

/* Sums of hostile counts stop at the largest count instead of wrapping around. */
static inline uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static inline uint64_t sat_sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

struct build {
	struct cs_flame_tree *t;
	const struct cs_profile *p;
	uint32_t *key_of_frame;	  /* model frame -> dense key of (name, flags) */
	struct cs_map64 children; /* (parent << 32 | key) -> child */
};

static uint32_t new_node(struct cs_flame_tree *t, uint32_t parent, const char *name, size_t len,
			 uint32_t flags, uint32_t frame)
{
	struct cs_flame_node n;
	memset(&n, 0, sizeof(n));
	n.name = name;
	n.name_len = (uint32_t)len;
	n.flags = flags;
	n.frame = frame;
	n.parent = parent;
	n.child = n.next = CS_NONE;
	uint32_t idx = (uint32_t)t->nodes.n;
	if (parent != CS_NONE) {
		struct cs_flame_node *pa = &t->nodes.v[parent];
		n.depth = pa->depth + 1;
		n.next = pa->child;
		pa->child = idx;
	}
	CS_VEC_PUSH(t->nodes, n);
	return idx;
}

/* The child of parent for model frame f, created on first use. weight: samples behind
 * this use of f; the heaviest use names the module and source line shown. */
static uint32_t child_of(struct build *b, uint32_t parent, uint32_t f, uint64_t weight)
{
	int added;
	uint64_t key = ((uint64_t)parent << 32) | b->key_of_frame[f];
	uint64_t *slot = cs_map64_put(&b->children, key, b->t->nodes.n, &added);
	uint32_t c = (uint32_t)*slot;
	if (added) {
		const struct cs_frame *fr = &b->p->frames.v[f];
		c = new_node(b->t, parent, cs_str(b->p, fr->func), cs_strlen(b->p, fr->func),
			     fr->flags, f);
		b->t->nodes.v[c].weight = weight;
	} else if (weight > b->t->nodes.v[c].weight) {
		b->t->nodes.v[c].weight = weight;
		b->t->nodes.v[c].frame = f;
	}
	return c;
}

static int node_cmp(const void *a, const void *b, void *ctx)
{
	const struct cs_flame_tree *t = ctx;
	const struct cs_flame_node *x = &t->nodes.v[*(const uint32_t *)a];
	const struct cs_flame_node *y = &t->nodes.v[*(const uint32_t *)b];
	/* merged frames go last */
	if ((x->merged != 0) != (y->merged != 0))
		return x->merged ? 1 : -1;
	size_t n = CS_MIN(x->name_len, y->name_len);
	int c = n ? memcmp(x->name, y->name, n) : 0;
	if (c)
		return c;
	if (x->name_len != y->name_len)
		return x->name_len < y->name_len ? -1 : 1;
	if (x->flags != y->flags)
		return x->flags < y->flags ? -1 : 1;
	return 0;
}

void cs_flame_sort(struct cs_flame_tree *t)
{
	CS_VEC(uint32_t) kids = {0};
	CS_VEC(uint32_t) pending = {0};
	CS_VEC_PUSH(pending, 0);
	while (pending.n) {
		struct cs_flame_node *n = &t->nodes.v[pending.v[--pending.n]];
		kids.n = 0;
		for (uint32_t c = n->child; c != CS_NONE; c = t->nodes.v[c].next) {
			CS_VEC_PUSH(kids, c);
			CS_VEC_PUSH(pending, c);
		}
		if (kids.n < 2)
			continue;
		qsort_r(kids.v, kids.n, sizeof(uint32_t), node_cmp, t);
		n->child = kids.v[0];
		for (size_t k = 0; k + 1 < kids.n; k++)
			t->nodes.v[kids.v[k]].next = kids.v[k + 1];
		t->nodes.v[kids.v[kids.n - 1]].next = CS_NONE;
	}
	CS_VEC_FREE(kids);
	CS_VEC_FREE(pending);
}

/* One root frame per distinct thread-root name; returns thread -> root node. */
static uint32_t *thread_roots(struct cs_flame_tree *t, const struct cs_profile *p, int kind)
{
	struct cs_buf text;
	CS_VEC(size_t) off = {0};
	uint32_t *label_of = cs_xmalloc((p->threads.n + 1) * sizeof(uint32_t));
	struct cs_map64 seen; /* hash of the name -> first label with it (+ chain below) */
	cs_buf_init(&text);
	/* Storage from the start: with empty first labels text.p would still be NULL,
	 * and NULL + 0 or memcmp(NULL, ...) is undefined. */
	cs_buf_put_u8(&text, 0);
	text.n = 0;
	cs_map64_init(&seen);
	for (size_t i = 0; i < p->threads.n; i++) {
		size_t start = text.n;
		cs_thread_root_label(&text, p, &p->threads.v[i], kind);
		size_t len = text.n - start;
		uint64_t h = cs_hash_bytes(text.p + start, len, 7);
		uint32_t found = CS_NONE;
		/* probe h, h+1, ... until an equal label or a free key */
		for (uint64_t k = h;; k++) {
			uint64_t *v = cs_map64_get(&seen, k);
			if (!v)
				break;
			size_t o = off.v[*v], l = off.v[*v + 1] - o;
			if (l == len && !memcmp(text.p + o, text.p + start, len)) {
				found = (uint32_t)*v;
				break;
			}
		}
		if (found != CS_NONE) {
			text.n = start;
			label_of[i] = found;
			continue;
		}
		uint64_t k = h;
		while (cs_map64_get(&seen, k))
			k++;
		int added;
		label_of[i] = (uint32_t)(off.n ? off.n - 1 : 0);
		if (!off.n)
			CS_VEC_PUSH(off, start);
		CS_VEC_PUSH(off, text.n);
		cs_map64_put(&seen, k, label_of[i], &added);
	}
	/* The text is final: now the names can point into it. */
	t->labels = (char *)text.p;
	size_t nlabels = off.n ? off.n - 1 : 0;
	uint32_t *node_of_label = cs_xmalloc((nlabels + 1) * sizeof(uint32_t));
	for (size_t l = 0; l < nlabels; l++)
		node_of_label[l] = new_node(t, 0, t->labels + off.v[l], off.v[l + 1] - off.v[l], 0,
					    CS_NONE);
	for (size_t i = 0; i < p->threads.n; i++)
		label_of[i] = node_of_label[label_of[i]];
	free(node_of_label);
	CS_VEC_FREE(off);
	cs_map64_release(&seen);
	return label_of;
}

/* When no two model frames share a name and flags (folded input, for one), the flame
 * tree has the shape of the model's stack tree: take it over node for node instead of
 * merging, which saves a hash lookup per node. Needs parents before children. */
static int build_same_shape(struct cs_flame_tree *t, const struct cs_profile *p)
{
	size_t n = p->nodes.n;
	for (size_t i = 1; i < n; i++)
		if (p->nodes.v[i].parent >= i)
			return 0;
	CS_GROW(t->nodes.v, t->nodes.cap, n);
	t->nodes.n = n;
	for (size_t i = 1; i < n; i++) {
		const struct cs_node *m = &p->nodes.v[i];
		const struct cs_frame *fr = &p->frames.v[m->frame];
		struct cs_flame_node *tn = &t->nodes.v[i];
		memset(tn, 0, sizeof(*tn));
		tn->name = cs_str(p, fr->func);
		tn->name_len = cs_strlen(p, fr->func);
		tn->flags = fr->flags;
		tn->frame = m->frame;
		tn->parent = m->parent;
		tn->depth = m->depth;
		tn->child = tn->next = CS_NONE;
	}
	for (size_t i = 0; i < p->samples.n; i++) {
		struct cs_flame_node *tn = &t->nodes.v[p->samples.v[i].stack];
		tn->self = sat_add(tn->self, p->samples.v[i].count);
	}
	for (size_t i = n; i > 0; i--) {
		struct cs_flame_node *tn = &t->nodes.v[i - 1];
		tn->total = sat_add(tn->total, tn->self);
		if (i > 1) {
			struct cs_flame_node *pa = &t->nodes.v[tn->parent];
			pa->total = sat_add(pa->total, tn->total);
		}
	}
	/* link children, leaving out stacks that never had a sample */
	for (size_t i = n; i > 1; i--) {
		struct cs_flame_node *tn = &t->nodes.v[i - 1];
		if (!tn->total)
			continue;
		tn->next = t->nodes.v[tn->parent].child;
		t->nodes.v[tn->parent].child = (uint32_t)(i - 1);
	}
	return 1;
}

/* Number frames by (name, flags) into key_of_frame (NULL: only count); returns how
 * many distinct keys there are. */
static size_t frame_keys(const struct cs_profile *p, uint32_t *key_of_frame)
{
	struct cs_map64 keys;
	cs_map64_init(&keys);
	for (size_t f = 0; f < p->frames.n; f++) {
		int added;
		uint64_t k = ((uint64_t)p->frames.v[f].func << 32) | p->frames.v[f].flags;
		uint32_t key = (uint32_t)*cs_map64_put(&keys, k, keys.n, &added);
		if (key_of_frame)
			key_of_frame[f] = key;
	}
	size_t n = keys.n;
	cs_map64_release(&keys);
	return n;
}

/* Not cs_profile_total() != 0: a sum of hostile counts can wrap to 0. */
static int has_samples(const struct cs_profile *p)
{
	for (size_t i = 0; i < p->samples.n; i++)
		if (p->samples.v[i].count)
			return 1;
	return 0;
}

int cs_flame_build(struct cs_flame_tree *t, const struct cs_profile *p, int reverse,
		   int thread_root)
{
	struct build b;
	memset(t, 0, sizeof(*t));
	memset(&b, 0, sizeof(b));
	b.t = t;
	b.p = p;
	if (!has_samples(p))
		return cs_error("the profile has no samples: nothing to draw");

	/* Frames with the same name and flags are one key. */
	b.key_of_frame = cs_xmalloc((p->frames.n + 1) * sizeof(uint32_t));
	size_t keys_n = frame_keys(p, b.key_of_frame);
	cs_map64_init(&b.children);

	new_node(t, CS_NONE, "all", 3, 0, CS_NONE);
	/* (off-CPU time is summed by the general path only) */
	if (thread_root == CS_ROOT_NONE && !reverse && keys_n == p->frames.n && !p->times.wall &&
	    build_same_shape(t, p)) {
		free(b.key_of_frame);
		cs_map64_release(&b.children);
		return 0;
	}
	uint32_t *root_of = NULL;
	if (thread_root != CS_ROOT_NONE)
		root_of = thread_roots(t, p, thread_root);

	/* Samples per model stack node, inclusive: how heavy each use of a frame is. */
	uint64_t *incl = cs_xcalloc(p->nodes.n + 1, sizeof(uint64_t));
	for (size_t i = 0; i < p->samples.n; i++)
		for (uint32_t m = p->samples.v[i].stack; m; m = p->nodes.v[m].parent)
			incl[m] = sat_add(incl[m], p->samples.v[i].count);

	/* model node -> tree node, per root: an array without thread roots, else a map */
	uint32_t *memo = NULL;
	struct cs_map64 memo_map;
	cs_map64_init(&memo_map);
	if (!root_of && !reverse) {
		memo = cs_xmalloc(p->nodes.n * sizeof(uint32_t));
		memset(memo, 0xff, p->nodes.n * sizeof(uint32_t));
		memo[0] = 0;
	}
	CS_VEC(uint32_t) path = {0};

	for (size_t i = 0; i < p->samples.n; i++) {
		const struct cs_sample *s = &p->samples.v[i];
		if (!s->count)
			continue;
		uint32_t root = root_of ? root_of[s->thread] : 0;
		uint32_t tn;
		if (reverse) {
			tn = root;
			for (uint32_t m = s->stack; m; m = p->nodes.v[m].parent)
				tn = child_of(&b, tn, p->nodes.v[m].frame, s->count);
		} else {
			/* climb to a model node already placed under this root, then down */
			path.n = 0;
			uint32_t m = s->stack;
			for (;;) {
				if (m == 0) {
					tn = root;
					break;
				}
				uint64_t *hit = NULL;
				if (memo && memo[m] != CS_NONE) {
					tn = memo[m];
					break;
				}
				if (!memo && (hit = cs_map64_get(&memo_map, ((uint64_t)root << 32) | m))) {
					tn = (uint32_t)*hit;
					break;
				}
				CS_VEC_PUSH(path, m);
				m = p->nodes.v[m].parent;
			}
			for (size_t k = path.n; k > 0; k--) {
				uint32_t mm = path.v[k - 1];
				tn = child_of(&b, tn, p->nodes.v[mm].frame, incl[mm]);
				if (memo) {
					memo[mm] = tn;
				} else {
					int added;
					cs_map64_put(&memo_map, ((uint64_t)root << 32) | mm, tn, &added);
				}
			}
		}
		t->nodes.v[tn].self = sat_add(t->nodes.v[tn].self, s->count);
		if (s->kind != CS_TIME_CPU)
			t->nodes.v[tn].off = sat_add(t->nodes.v[tn].off, s->count);
	}
	/* Children were created after their parents: one backward pass sums totals. */
	for (size_t i = t->nodes.n; i > 0; i--) {
		struct cs_flame_node *n = &t->nodes.v[i - 1];
		n->total = sat_add(n->total, n->self);
		if (n->parent != CS_NONE) {
			t->nodes.v[n->parent].total =
				sat_add(t->nodes.v[n->parent].total, n->total);
			t->nodes.v[n->parent].off = sat_add(t->nodes.v[n->parent].off, n->off);
		}
	}
	CS_VEC_FREE(path);
	free(memo);
	cs_map64_release(&memo_map);
	free(incl);
	free(root_of);
	free(b.key_of_frame);
	cs_map64_release(&b.children);
	return 0;
}

void cs_flame_release(struct cs_flame_tree *t)
{
	CS_VEC_FREE(t->nodes);
	free(t->labels);
	memset(t, 0, sizeof(*t));
}

static inline int is_wide(const struct cs_flame_node *n, const struct cs_flame_fit *f)
{
	return n->total > f->min_total || (n->total == f->min_total && n->depth <= f->tie_depth);
}

/* Visit the frames cs_flame_merge_narrow would keep; merge != 0 does the merging. Each
 * kept frame is visited once and its children looked at once: bounded by the tree. */
static size_t walk_narrow(struct cs_flame_tree *t, const struct cs_flame_fit *f, int merge)
{
	CS_VEC(uint32_t) pending = {0};
	size_t kept = 0;
	CS_VEC_PUSH(pending, 0);
	while (pending.n) {
		uint32_t n = pending.v[--pending.n];
		kept++;
		uint32_t narrow = 0, lone = CS_NONE, members = 0;
		uint64_t sum = 0, off = 0;
		for (uint32_t c = t->nodes.v[n].child; c != CS_NONE; c = t->nodes.v[c].next) {
			const struct cs_flame_node *cn = &t->nodes.v[c];
			int wide = is_wide(cn, f);
			if (wide && !cn->merged) {
				CS_VEC_PUSH(pending, c);
				continue;
			}
			if (wide && cn->merged) {
				kept++; /* an earlier merge wide enough to stay as it is */
				continue;
			}
			narrow++;
			lone = c;
			members += cn->merged ? cn->merged : 1;
			sum = sat_add(sum, cn->total);
			off = sat_add(off, cn->off);
		}
		if (!narrow)
			continue;
		int cut = narrow == 1 && t->nodes.v[lone].cut;
		if (narrow == 1 && !t->nodes.v[lone].merged) {
			if (t->nodes.v[lone].depth <= f->max_depth) {
				CS_VEC_PUSH(pending, lone);
				continue;
			}
			cut = 1;
		}
		kept++;
		if (!merge)
			continue;
		/* unlink the narrow ones, then append one merged frame */
		uint32_t *link = &t->nodes.v[n].child, last = CS_NONE;
		while (*link != CS_NONE) {
			struct cs_flame_node *cn = &t->nodes.v[*link];
			if (!is_wide(cn, f)) {
				*link = cn->next;
				cn->parent = CS_NONE; /* dead */
				continue;
			}
			last = *link;
			link = &cn->next;
		}
		uint32_t m = new_node(t, CS_NONE, NULL, 0, 0, CS_NONE);
		struct cs_flame_node *mn = &t->nodes.v[m];
		mn->parent = n;
		mn->depth = t->nodes.v[n].depth + 1;
		mn->merged = members;
		mn->cut = (uint32_t)cut;
		mn->total = mn->self = sum;
		mn->off = off;
		if (last == CS_NONE)
			t->nodes.v[n].child = m;
		else
			t->nodes.v[last].next = m;
	}
	CS_VEC_FREE(pending);
	return kept;
}

size_t cs_flame_count_kept(const struct cs_flame_tree *t, const struct cs_flame_fit *fit)
{
	return walk_narrow((struct cs_flame_tree *)t, fit, 0);
}

size_t cs_flame_merge_narrow(struct cs_flame_tree *t, const struct cs_flame_fit *fit)
{
	return walk_narrow(t, fit, 1);
}

/* The k-th largest of v[0..n) (k < n), reordering v. */
static uint64_t kth_largest(uint64_t *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;
	while (lo < hi) {
		uint64_t pivot = v[lo + (hi - lo) / 2];
		size_t i = lo, j = hi;
		while (i <= j) {
			while (v[i] > pivot)
				i++;
			while (v[j] < pivot)
				j--;
			if (i <= j) {
				uint64_t x = v[i];
				v[i] = v[j];
				v[j] = x;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return v[k];
	}
	return v[k];
}

static inline int bit_length(uint64_t v)
{
	return v ? 64 - __builtin_clzll(v) : 0;
}

/* The k-th largest of the non-zero values of v[0..n) (k < how many there are), given
 * how many there are of each bit length: only those of the bit length of the k-th
 * largest are copied and selected from. */
static uint64_t kth_largest_nonzero(const uint64_t *v, size_t n, const size_t count[65], size_t k)
{
	int bits = 64;
	while (bits > 0 && k >= count[bits])
		k -= count[bits--];
	uint64_t *w = cs_xmalloc((count[bits] + 1) * sizeof(uint64_t));
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (bit_length(v[i]) == bits)
			w[m++] = v[i];
	uint64_t r = kth_largest(w, m, k);
	free(w);
	return r;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The fit for at most budget frames, given kth, the total of the (budget/2+1)-th widest
 * frame (every frame that total or more is in t): the frames wider than kth stay, and
 * as many as wide as kth as the budget has left for, nearest the root first. If lone
 * narrow chains then exceed the budget, the deepest limit for them that fits, by
 * bisection over the depth: the count never shrinks as the limit grows, and at limit 0
 * it is at most budget (see flame.h). */
static void choose_fit(const struct cs_flame_tree *t, uint64_t kth, size_t budget,
		       struct cs_flame_fit *fit)
{
	size_t wider = 0;
	uint32_t deepest = 0;
	CS_VEC(uint32_t) ties = {0};
	for (size_t i = 0; i < t->nodes.n; i++) {
		const struct cs_flame_node *n = &t->nodes.v[i];
		deepest = CS_MAX(deepest, n->depth);
		if (n->total > kth)
			wider++;
		else if (n->total == kth)
			CS_VEC_PUSH(ties, n->depth);
	}
	size_t room = wider < budget / 2 ? budget / 2 - wider : 0;
	fit->min_total = kth;
	fit->tie_depth = UINT32_MAX;
	if (room < ties.n) {
		qsort(ties.v, ties.n, sizeof(uint32_t), cmp_u32);
		fit->tie_depth = ties.v[room] ? ties.v[room] - 1 : 0;
	}
	CS_VEC_FREE(ties);
	fit->max_depth = CS_FLAME_NO_CUT;
	if (cs_flame_count_kept(t, fit) <= budget)
		return;
	uint32_t lo = 0, hi = deepest;
	while (hi - lo > 1) {
		fit->max_depth = lo + (hi - lo) / 2;
		if (cs_flame_count_kept(t, fit) <= budget)
			lo = fit->max_depth;
		else
			hi = fit->max_depth;
	}
	fit->max_depth = lo;
}

/* How far ahead passes over the model's nodes fetch what they will need. */
#define AHEAD 16

/* Samples per model stack node, inclusive, and how many of them there are by bit
 * length; NULL when the flame tree does not have the shape of the model's stack tree
 * (see build_same_shape). */
static uint64_t *model_totals(const struct cs_profile *p, size_t count[65])
{
	size_t n = p->nodes.n;
	for (size_t i = 1; i < n; i++)
		if (p->nodes.v[i].parent >= i)
			return NULL;
	uint64_t *total = cs_xcalloc(n, sizeof(uint64_t));
	for (size_t i = 0; i < p->samples.n; i++) {
		uint32_t s = p->samples.v[i].stack;
		total[s] = sat_add(total[s], p->samples.v[i].count);
	}
	/* Children come after their parent, so a node's total is whole when this pass
	 * reaches it. Its parent is mostly the node before; where not (where stacks
	 * branch), it can be anywhere: fetch it ahead. */
	memset(count, 0, 65 * sizeof(size_t));
	for (size_t i = n - 1; i > 0; i--) {
		if (i > AHEAD)
			__builtin_prefetch(&total[p->nodes.v[i - AHEAD].parent], 1);
		total[p->nodes.v[i].parent] = sat_add(total[p->nodes.v[i].parent], total[i]);
		count[bit_length(total[i])]++;
	}
	count[bit_length(total[0])]++;
	return total;
}

/* The fit of a profile whose flame tree has the shape of its stack tree, made from the
 * model's totals without building the whole tree: only the frames a fit with
 * min_total = thr_lo can keep or look at are made. A frame is kept if it is wide, or
 * the lone narrow child of a kept frame; narrower than thr_lo means narrow in that fit,
 * whatever its tie_depth, and a lone child narrower than thr_lo is still narrow and
 * lone, or else wide. So the frames that can be kept are those "open" ones: the root,
 * the children of an open frame at least as wide as thr_lo, and its child narrower
 * than thr_lo when it is the only one; and all that a count or merge looks at are the
 * open frames and their children. A frame made without its subtree is narrow and goes
 * into a merged frame. Every frame as wide as thr_lo is made. total[] is used up: an
 * open node's entry becomes its tree node once it is made. */
static void fit_same_shape(struct cs_flame_tree *t, const struct cs_profile *p, uint64_t *total,
			   const size_t count[65], size_t budget, struct cs_flame_fit *fit)
{
	size_t n = p->nodes.n, live = n - count[0];
	uint64_t kth = 0, thr_lo = 0;
	if (live > budget) {
		kth = kth_largest_nonzero(total, n, count, budget / 2);
		thr_lo = kth; /* frames as wide as kth may stay (see choose_fit) */
	}
	/* per model node: its narrow children (0, 1, 2 = more), and whether it is open */
	enum { NARROW = 3, OPEN = 4 };
	uint8_t *state = cs_xcalloc(n, 1);
	for (size_t i = 1; i < n; i++) {
		if (i + AHEAD < n)
			__builtin_prefetch(&state[p->nodes.v[i + AHEAD].parent], 1);
		uint8_t *ps = &state[p->nodes.v[i].parent];
		if (total[i] && total[i] < thr_lo && (*ps & NARROW) < 2)
			(*ps)++;
	}
	t->nodes.v[0].total = t->nodes.v[0].self = total[0];
	state[0] |= OPEN;
	total[0] = 0;
	for (size_t i = 1; i < n; i++) {
		const struct cs_node *m = &p->nodes.v[i];
		if (i + AHEAD < n)
			__builtin_prefetch(&state[p->nodes.v[i + AHEAD].parent]);
		if (!total[i] || !(state[m->parent] & OPEN))
			continue;
		const struct cs_frame *fr = &p->frames.v[m->frame];
		uint32_t parent = (uint32_t)total[m->parent];
		uint32_t c = new_node(t, parent, cs_str(p, fr->func), cs_strlen(p, fr->func),
				      fr->flags, m->frame);
		t->nodes.v[c].total = t->nodes.v[c].self = total[i];
		t->nodes.v[parent].self = sat_sub(t->nodes.v[parent].self, total[i]);
		if (total[i] >= thr_lo || (state[m->parent] & NARROW) == 1) {
			state[i] |= OPEN;
			total[i] = c;
		}
	}
	free(state);
	if (live > budget)
		choose_fit(t, kth, budget, fit);
}

int cs_flame_build_fit(struct cs_flame_tree *t, const struct cs_profile *p, int reverse,
		       int thread_root, size_t budget, struct cs_flame_fit *fit)
{
	size_t count[65];
	uint64_t *total = NULL;
	fit->min_total = 0;
	fit->tie_depth = UINT32_MAX;
	fit->max_depth = CS_FLAME_NO_CUT;
	fit->cut_total = 0;
	if (budget < 4)
		budget = 4;
	if (thread_root == CS_ROOT_NONE && !reverse && !p->times.wall &&
	    frame_keys(p, NULL) == p->frames.n)
		total = model_totals(p, count);
	if (total) {
		memset(t, 0, sizeof(*t));
		if (!total[0]) {
			free(total);
			return cs_error("the profile has no samples: nothing to draw");
		}
		new_node(t, CS_NONE, "all", 3, 0, CS_NONE);
		fit_same_shape(t, p, total, count, budget, fit);
		free(total);
	} else {
		if (cs_flame_build(t, p, reverse, thread_root) < 0)
			return -1;
		/* right after building, the frames with samples are exactly the live ones */
		size_t nn = t->nodes.n;
		uint64_t *tot = cs_xmalloc(nn * sizeof(uint64_t));
		memset(count, 0, sizeof(count));
		for (size_t i = 0; i < nn; i++) {
			tot[i] = t->nodes.v[i].total;
			count[bit_length(tot[i])]++;
		}
		uint64_t kth = 0;
		if (nn - count[0] > budget)
			kth = kth_largest_nonzero(tot, nn, count, budget / 2);
		free(tot);
		if (nn - count[0] > budget)
			choose_fit(t, kth, budget, fit);
	}
	if (fit->min_total) {
		size_t live = t->nodes.n;
		cs_flame_merge_narrow(t, fit);
		for (size_t i = live; i < t->nodes.n; i++)
			if (t->nodes.v[i].cut)
				fit->cut_total = sat_add(fit->cut_total, t->nodes.v[i].total);
	}
	return 0;
}

size_t cs_flame_preorder(const struct cs_flame_tree *t, uint32_t **out)
{
	CS_VEC(uint32_t) order = {0};
	uint32_t n = 0;
	for (;;) {
		CS_VEC_PUSH(order, n);
		const struct cs_flame_node *nn = &t->nodes.v[n];
		if (nn->child != CS_NONE) {
			n = nn->child;
			continue;
		}
		while (n != 0 && t->nodes.v[n].next == CS_NONE)
			n = t->nodes.v[n].parent;
		if (n == 0)
			break;
		n = t->nodes.v[n].next;
	}
	*out = order.v;
	return order.n;
}
