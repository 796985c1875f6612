/* gen_folded.c - a synthetic folded-stacks profile for benchmarks.
 *
 * usage: gen_folded STACKS [MIN_DEPTH MAX_DEPTH [FUNCTIONS [SEED]]] > out.folded
 *
 * Writes STACKS unique stacks whose depth is uniform in [MIN_DEPTH, MAX_DEPTH]. Stacks
 * are paths down an implicit call tree that branches little near the root and more
 * further down, as real programs do, so prefixes are shared; each tree node is named
 * from a pool of FUNCTIONS C++-looking names. Counts follow a long-tailed law. The
 * output is the same for the same arguments.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t z = a * 0x9e3779b97f4a7c15ULL + b + 0x632be59bd9b4e019ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s STACKS [MIN_DEPTH MAX_DEPTH [FUNCTIONS [SEED]]]\n", argv[0]);
		return 2;
	}
	long stacks = atol(argv[1]);
	int lo = argc > 3 ? atoi(argv[2]) : 10, hi = argc > 3 ? atoi(argv[3]) : 60;
	long nfuncs = argc > 4 ? atol(argv[4]) : 8000;
	rng_state = argc > 5 ? strtoull(argv[5], NULL, 10) : 42;
	if (stacks < 1 || lo < 1 || hi < lo || nfuncs < 1)
		return 2;

	static const char *const ns[] = {"net", "db", "http", "json", "util", "core", "io", "sched"};
	static const char *const verbs[] = {"parse", "handle", "read", "write", "encode", "decode",
					    "lookup", "insert", "flush", "visit", "run", "poll"};
	static const char *const nouns[] = {"Request", "Buffer", "Table", "Index", "Frame",
					    "Token", "Socket", "Row", "Node", "Batch"};
	char **names = malloc((size_t)nfuncs * sizeof(char *));
	for (long i = 0; i < nfuncs; i++) {
		char buf[128];
		uint64_t r = mix((uint64_t)i, 7);
		snprintf(buf, sizeof(buf), "%s::%s%s_%ld", ns[r % 8], verbs[(r >> 8) % 12],
			 nouns[(r >> 16) % 10], i);
		names[i] = strdup(buf);
	}

	/* a set of stack ids, to keep stacks unique */
	size_t cap = 1;
	while (cap < (size_t)stacks * 2)
		cap <<= 1;
	uint64_t *seen = calloc(cap, sizeof(uint64_t));
	uint64_t *path = malloc((size_t)(hi + 1) * sizeof(uint64_t));
	for (long s = 0; s < stacks;) {
		int depth = lo + (int)(rnd() % (uint64_t)(hi - lo + 1));
		uint64_t node = 1;
		for (int d = 0; d < depth; d++) {
			/* 2 children near the root, up to 12 deep down */
			uint64_t branch = d < 4 ? 2 : d < 12 ? 4 : 12;
			node = mix(node, rnd() % branch);
			path[d] = node;
		}
		uint64_t id = mix(node, (uint64_t)depth) | 1;
		size_t k = id & (cap - 1);
		while (seen[k] && seen[k] != id)
			k = (k + 1) & (cap - 1);
		if (seen[k])
			continue;
		seen[k] = id;
		s++;
		for (int d = 0; d < depth; d++) {
			if (d)
				putchar(';');
			fputs(names[path[d] % (uint64_t)nfuncs], stdout);
		}
		/* long tail: most stacks are rare, a few are hot */
		uint64_t r = rnd();
		uint64_t count = 1 + (r % 4 == 0 ? (r >> 8) % 1000 : (r >> 8) % 10);
		printf(" %llu\n", (unsigned long long)count);
	}
	return 0;
}
