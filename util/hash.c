#include "hash.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

void cs_index_init(struct cs_index *ix)
{
	memset(ix, 0, sizeof(*ix));
}

void cs_index_release(struct cs_index *ix)
{
	free(ix->slots);
	memset(ix, 0, sizeof(*ix));
}

static void index_rehash(struct cs_index *ix, size_t ncap)
{
	uint64_t *old = ix->slots;
	size_t ocap = ix->cap;
	ix->slots = cs_xcalloc(ncap, sizeof(uint64_t));
	ix->cap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		uint64_t s = old[i];
		if (!s)
			continue;
		size_t j = (size_t)(s >> 32) & (ncap - 1);
		while (ix->slots[j])
			j = (j + 1) & (ncap - 1);
		ix->slots[j] = s;
	}
	free(old);
}

uint32_t cs_index_find(const struct cs_index *ix, uint64_t hash, cs_index_eq_fn eq, void *ctx)
{
	if (!ix->cap)
		return CS_INDEX_NONE;
	uint32_t h = (uint32_t)(hash ^ (hash >> 32));
	size_t j = h & (ix->cap - 1);
	for (;;) {
		uint64_t s = ix->slots[j];
		if (!s)
			return CS_INDEX_NONE;
		if ((uint32_t)(s >> 32) == h) {
			uint32_t idx = (uint32_t)s - 1;
			if (eq(ctx, idx))
				return idx;
		}
		j = (j + 1) & (ix->cap - 1);
	}
}

void cs_index_insert(struct cs_index *ix, uint64_t hash, uint32_t idx)
{
	if ((ix->n + 1) * 4 >= ix->cap * 3)
		index_rehash(ix, ix->cap ? ix->cap * 2 : 64);
	uint32_t h = (uint32_t)(hash ^ (hash >> 32));
	size_t j = h & (ix->cap - 1);
	while (ix->slots[j])
		j = (j + 1) & (ix->cap - 1);
	ix->slots[j] = ((uint64_t)h << 32) | ((uint64_t)idx + 1);
	ix->n++;
}

void cs_map64_init(struct cs_map64 *m)
{
	memset(m, 0, sizeof(*m));
}

void cs_map64_release(struct cs_map64 *m)
{
	free(m->keys);
	free(m->vals);
	free(m->used);
	memset(m, 0, sizeof(*m));
}

static size_t map_slot(const struct cs_map64 *m, uint64_t key)
{
	size_t j = cs_hash_u64(key) & (m->cap - 1);
	while (m->used[j] && m->keys[j] != key)
		j = (j + 1) & (m->cap - 1);
	return j;
}

static void map_rehash(struct cs_map64 *m, size_t ncap)
{
	struct cs_map64 o = *m;
	m->keys = cs_xmalloc(ncap * sizeof(uint64_t));
	m->vals = cs_xmalloc(ncap * sizeof(uint64_t));
	m->used = cs_xcalloc(ncap, 1);
	m->cap = ncap;
	for (size_t i = 0; i < o.cap; i++) {
		if (!o.used[i])
			continue;
		size_t j = map_slot(m, o.keys[i]);
		m->used[j] = 1;
		m->keys[j] = o.keys[i];
		m->vals[j] = o.vals[i];
	}
	free(o.keys);
	free(o.vals);
	free(o.used);
}

uint64_t *cs_map64_get(const struct cs_map64 *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	size_t j = map_slot(m, key);
	return m->used[j] ? &m->vals[j] : NULL;
}

uint64_t *cs_map64_put(struct cs_map64 *m, uint64_t key, uint64_t def, int *added)
{
	if ((m->n + 1) * 4 >= m->cap * 3)
		map_rehash(m, m->cap ? m->cap * 2 : 64);
	size_t j = map_slot(m, key);
	if (added)
		*added = !m->used[j];
	if (!m->used[j]) {
		m->used[j] = 1;
		m->keys[j] = key;
		m->vals[j] = def;
		m->n++;
	}
	return &m->vals[j];
}

int cs_map64_del(struct cs_map64 *m, uint64_t key)
{
	if (!m->cap)
		return 0;
	size_t j = map_slot(m, key);
	if (!m->used[j])
		return 0;
	/* Backward-shift deletion keeps probe chains intact without tombstones. */
	m->used[j] = 0;
	m->n--;
	size_t k = (j + 1) & (m->cap - 1);
	while (m->used[k]) {
		size_t home = cs_hash_u64(m->keys[k]) & (m->cap - 1);
		/* Move k into the hole at j if its home is not within (j, k]. */
		int move = (j <= k) ? (home <= j || home > k) : (home <= j && home > k);
		if (move) {
			m->keys[j] = m->keys[k];
			m->vals[j] = m->vals[k];
			m->used[j] = 1;
			m->used[k] = 0;
			j = k;
		}
		k = (k + 1) & (m->cap - 1);
	}
	return 1;
}
