#include "profile.h"

#include <stdlib.h>
#include <string.h>

static void strtab_init(struct cs_strtab *t)
{
	memset(t, 0, sizeof(*t));
	cs_index_init(&t->ix);
}

static void strtab_release(struct cs_strtab *t)
{
	free(t->arena);
	free(t->off);
	free(t->len);
	cs_index_release(&t->ix);
	memset(t, 0, sizeof(*t));
}

struct str_key {
	const struct cs_strtab *t;
	const char *s;
	size_t len;
};

static int str_eq(void *ctx, uint32_t idx)
{
	struct str_key *k = ctx;
	return k->t->len[idx] == k->len && !memcmp(k->t->arena + k->t->off[idx], k->s, k->len);
}

uint32_t cs_profile_str(struct cs_profile *p, const char *s, size_t len)
{
	struct cs_strtab *t = &p->strs;
	uint64_t h = cs_hash_bytes(s, len, 0x5a);
	struct str_key k = {t, s, len};
	uint32_t idx = cs_index_find(&t->ix, h, str_eq, &k);
	if (idx != CS_INDEX_NONE)
		return idx;
	if (t->n >= UINT32_MAX - 1)
		abort();
	/* s may point into the arena itself (a part of an interned string): find it
	 * again after the arena has moved. */
	int inside = t->arena && s >= t->arena && s < t->arena + t->arena_n;
	size_t s_off = inside ? (size_t)(s - t->arena) : 0;
	size_t off = t->arena_n;
	CS_GROW(t->arena, t->arena_cap, t->arena_n + len + 1);
	if (inside)
		s = t->arena + s_off;
	memmove(t->arena + off, s, len);
	t->arena[off + len] = 0;
	t->arena_n += len + 1;
	size_t cap = t->cap;
	CS_GROW(t->off, cap, t->n + 1);
	CS_GROW(t->len, t->cap, t->n + 1);
	t->off[t->n] = off;
	t->len[t->n] = (uint32_t)len;
	idx = (uint32_t)t->n++;
	cs_index_insert(&t->ix, h, idx);
	return idx;
}

uint32_t cs_profile_cstr(struct cs_profile *p, const char *s)
{
	return cs_profile_str(p, s ? s : "", s ? strlen(s) : 0);
}

void cs_profile_init(struct cs_profile *p)
{
	memset(p, 0, sizeof(*p));
	strtab_init(&p->strs);
	cs_index_init(&p->frame_ix);
	cs_index_init(&p->node_ix);
	cs_index_init(&p->module_ix);
	cs_index_init(&p->thread_ix);
	cs_map64_init(&p->sample_ix);
	cs_profile_str(p, "", 0);
	struct cs_node root = {CS_NONE, 0, 0};
	CS_VEC_PUSH(p->nodes, root);
}

void cs_profile_release(struct cs_profile *p)
{
	strtab_release(&p->strs);
	CS_VEC_FREE(p->frames);
	cs_index_release(&p->frame_ix);
	CS_VEC_FREE(p->nodes);
	cs_index_release(&p->node_ix);
	CS_VEC_FREE(p->modules);
	cs_index_release(&p->module_ix);
	CS_VEC_FREE(p->threads);
	cs_index_release(&p->thread_ix);
	CS_VEC_FREE(p->samples);
	cs_map64_release(&p->sample_ix);
	CS_VEC_FREE(p->timeline);
	for (size_t i = 0; i < p->leaks.n; i++)
		CS_VEC_FREE(p->leaks.v[i].sites);
	CS_VEC_FREE(p->leaks);
	CS_VEC_FREE(p->leak_procs);
	CS_VEC_FREE(p->heap);
	CS_VEC_FREE(p->times.threads);
	memset(p, 0, sizeof(*p));
}

static uint64_t frame_hash(const struct cs_frame *f)
{
	uint64_t h = cs_hash_u64(((uint64_t)f->func << 32) | f->file);
	h = cs_hash_u64(h ^ (((uint64_t)f->line << 32) | f->module));
	h = cs_hash_u64(h ^ f->flags ^ (f->addr * 0x9e3779b97f4a7c15ULL));
	return h;
}

struct frame_key {
	const struct cs_profile *p;
	const struct cs_frame *f;
};

static int frame_eq(void *ctx, uint32_t idx)
{
	struct frame_key *k = ctx;
	const struct cs_frame *a = &k->p->frames.v[idx], *b = k->f;
	return a->func == b->func && a->file == b->file && a->line == b->line &&
	       a->module == b->module && a->flags == b->flags && a->addr == b->addr;
}

uint32_t cs_profile_frame(struct cs_profile *p, const struct cs_frame *f)
{
	uint64_t h = frame_hash(f);
	struct frame_key k = {p, f};
	uint32_t idx = cs_index_find(&p->frame_ix, h, frame_eq, &k);
	if (idx != CS_INDEX_NONE)
		return idx;
	idx = (uint32_t)p->frames.n;
	CS_VEC_PUSH(p->frames, *f);
	cs_index_insert(&p->frame_ix, h, idx);
	return idx;
}

struct module_key {
	const struct cs_profile *p;
	const struct cs_module *m;
};

static int module_eq(void *ctx, uint32_t idx)
{
	struct module_key *k = ctx;
	const struct cs_module *a = &k->p->modules.v[idx], *b = k->m;
	return a->path == b->path && a->build_id_len == b->build_id_len &&
	       !memcmp(a->build_id, b->build_id, a->build_id_len) && a->flags == b->flags;
}

uint32_t cs_profile_module(struct cs_profile *p, const struct cs_module *m)
{
	uint64_t h = cs_hash_bytes(m->build_id, m->build_id_len, m->path ^ ((uint64_t)m->flags << 32));
	struct module_key k = {p, m};
	uint32_t idx = cs_index_find(&p->module_ix, h, module_eq, &k);
	if (idx != CS_INDEX_NONE)
		return idx;
	idx = (uint32_t)p->modules.n;
	CS_VEC_PUSH(p->modules, *m);
	cs_index_insert(&p->module_ix, h, idx);
	return idx;
}

struct thread_key {
	const struct cs_profile *p;
	uint32_t pid, tid, name, process;
};

static int thread_eq(void *ctx, uint32_t idx)
{
	struct thread_key *k = ctx;
	const struct cs_thread *t = &k->p->threads.v[idx];
	return t->pid == k->pid && t->tid == k->tid && t->name == k->name &&
	       t->process == k->process;
}

uint32_t cs_profile_thread(struct cs_profile *p, uint32_t pid, uint32_t tid, uint32_t name,
			   uint32_t process)
{
	uint64_t h = cs_hash_u64(((uint64_t)pid << 32 | tid) ^ cs_hash_u64((uint64_t)name << 32 | process));
	struct thread_key k = {p, pid, tid, name, process};
	uint32_t idx = cs_index_find(&p->thread_ix, h, thread_eq, &k);
	if (idx != CS_INDEX_NONE)
		return idx;
	struct cs_thread t = {pid, tid, name, process};
	idx = (uint32_t)p->threads.n;
	CS_VEC_PUSH(p->threads, t);
	cs_index_insert(&p->thread_ix, h, idx);
	return idx;
}

struct node_key {
	const struct cs_profile *p;
	uint32_t parent, frame;
};

static int node_eq(void *ctx, uint32_t idx)
{
	struct node_key *k = ctx;
	const struct cs_node *n = &k->p->nodes.v[idx];
	return n->parent == k->parent && n->frame == k->frame;
}

/* node_ix holds every node but those numbered right after their parent, which are
 * found by looking there first: a chain of new nodes, as most stacks end in, costs
 * one index entry instead of one per node, and the index stays a fraction of the size
 * of the node array. */
uint32_t cs_profile_node(struct cs_profile *p, uint32_t parent, uint32_t frame)
{
	uint32_t next = parent + 1;
	if (next < p->nodes.n && p->nodes.v[next].parent == parent &&
	    p->nodes.v[next].frame == frame)
		return next;
	uint64_t h = cs_hash_u64(((uint64_t)parent << 32) | frame);
	struct node_key k = {p, parent, frame};
	uint32_t idx = cs_index_find(&p->node_ix, h, node_eq, &k);
	if (idx != CS_INDEX_NONE)
		return idx;
	struct cs_node n = {frame, parent, p->nodes.v[parent].depth + 1};
	idx = (uint32_t)p->nodes.n;
	CS_VEC_PUSH(p->nodes, n);
	if (idx != next)
		cs_index_insert(&p->node_ix, h, idx);
	return idx;
}

uint32_t cs_profile_chain(struct cs_profile *p, uint32_t parent, const uint32_t *frames, size_t n)
{
	if (!n)
		return parent;
	CS_GROW(p->nodes.v, p->nodes.cap, p->nodes.n + n);
	uint32_t first = (uint32_t)p->nodes.n, depth = p->nodes.v[parent].depth;
	if (first != parent + 1)
		cs_index_insert(&p->node_ix, cs_hash_u64(((uint64_t)parent << 32) | frames[0]),
				first);
	/* every other node comes right after its parent */
	for (size_t k = 0; k < n; k++) {
		struct cs_node nd = {frames[k], parent, ++depth};
		p->nodes.v[p->nodes.n] = nd;
		parent = (uint32_t)p->nodes.n++;
	}
	return parent;
}

uint32_t cs_profile_stack(struct cs_profile *p, const uint32_t *frames, size_t n)
{
	uint32_t node = 0;
	for (size_t i = 0; i < n; i++)
		node = cs_profile_node(p, node, frames[i]);
	return node;
}

/* The sample index's key: (stack, kind) above the thread. Stack nodes stay far below
 * 2^30 (each takes 12 bytes), which leaves two bits for the kind. */
static uint64_t sample_key(uint32_t stack, uint32_t thread, uint32_t kind)
{
	if (stack >= 1u << 30 || kind >= CS_TIME_KINDS)
		abort();
	return ((uint64_t)(stack | kind << 30) << 32) | thread;
}

void cs_profile_add_time(struct cs_profile *p, uint32_t stack, uint32_t thread, uint32_t kind,
			 uint64_t value)
{
	if (thread == CS_NONE) {
		if (!p->threads.n)
			cs_profile_thread(p, 0, 0, cs_profile_cstr(p, "all"), 0);
		thread = 0;
	}
	int added;
	uint64_t *slot = cs_map64_put(&p->sample_ix, sample_key(stack, thread, kind), p->samples.n,
				      &added);
	if (added) {
		struct cs_sample s = {stack, thread, 0, kind};
		CS_VEC_PUSH(p->samples, s);
	}
	uint64_t *c = &p->samples.v[*slot].count;
	*c = value > UINT64_MAX - *c ? UINT64_MAX : *c + value; /* saturate: load rejects it */
}

void cs_profile_add(struct cs_profile *p, uint32_t stack, uint32_t thread, uint64_t count)
{
	cs_profile_add_time(p, stack, thread, CS_TIME_CPU, count);
}

uint64_t cs_profile_total(const struct cs_profile *p)
{
	uint64_t t = 0;
	for (size_t i = 0; i < p->samples.n; i++) {
		uint64_t c = p->samples.v[i].count;
		t = c > UINT64_MAX - t ? UINT64_MAX : t + c;
	}
	return t;
}

size_t cs_profile_frames(const struct cs_profile *p, uint32_t leaf, uint32_t *out, size_t cap)
{
	size_t depth = p->nodes.v[leaf].depth;
	size_t i = depth;
	for (uint32_t n = leaf; n != 0; n = p->nodes.v[n].parent) {
		i--;
		if (i < cap)
			out[i] = p->nodes.v[n].frame;
	}
	return depth;
}

const char *cs_module_name(const struct cs_profile *p, uint32_t module)
{
	if (module == CS_NONE || module >= p->modules.n)
		return "";
	return cs_str(p, p->modules.v[module].name);
}
