/* hash.h - two hash tables.
 *
 * cs_index: an open-addressing set of element indices into an array the caller owns.
 * Hashing and equality are the caller's, so one table type interns strings, frames and
 * stack nodes alike ("aggregate in one structure, order in another").
 *
 * cs_map64: uint64 key -> uint64 value.
 */
#ifndef CS_HASH_H
#define CS_HASH_H

#include <stddef.h>
#include <stdint.h>

struct cs_index {
	uint64_t *slots; /* (hash32 << 32) | (index + 1); 0 = empty */
	size_t cap, n;
};

#define CS_INDEX_NONE UINT32_MAX

/* Returns 1 if element idx equals the key being looked up. */
typedef int (*cs_index_eq_fn)(void *ctx, uint32_t idx);

void cs_index_init(struct cs_index *ix);
void cs_index_release(struct cs_index *ix);
/* Index of the element with this hash that eq() accepts, or CS_INDEX_NONE. */
uint32_t cs_index_find(const struct cs_index *ix, uint64_t hash, cs_index_eq_fn eq, void *ctx);
/* Record that element idx has this hash. The caller first checked it is absent. */
void cs_index_insert(struct cs_index *ix, uint64_t hash, uint32_t idx);

struct cs_map64 {
	uint64_t *keys;
	uint64_t *vals;
	uint8_t *used;
	size_t cap, n;
};

void cs_map64_init(struct cs_map64 *m);
void cs_map64_release(struct cs_map64 *m);
/* Pointer to the value of key, or NULL. Valid until the next insertion. */
uint64_t *cs_map64_get(const struct cs_map64 *m, uint64_t key);
/* Pointer to the value of key, inserting it with value def if absent (*added set to 1). */
uint64_t *cs_map64_put(struct cs_map64 *m, uint64_t key, uint64_t def, int *added);
/* Remove key; returns 1 if it was present. */
int cs_map64_del(struct cs_map64 *m, uint64_t key);

#endif
