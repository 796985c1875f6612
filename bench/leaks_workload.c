/* leaks_workload.c - the malloc-heavy program of bench/leaks.sh: millions of
 * malloc/free pairs made ~10 frames deep from a handful of call sites, a small working
 * set of live blocks, and a few leaks (known: 1000 x 48 bytes + 10 x 4 KiB).
 *
 * usage: leaks_workload [PAIRS]   (default 2000000)
 * At the end it prints its own run time on stderr: "workload_us N".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIVE 64

void *ring[LIVE];     /* global so the stores stay */
void *leaked[2048];
static unsigned ring_pos;
static uint64_t rng = 88172645463325252ull;

static unsigned next(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return (unsigned)rng;
}

/* Four leaf sites: each replaces one block of the working set. */
#define LEAF(name, base)                                                                   \
	__attribute__((noinline)) void name(unsigned r)                                    \
	{                                                                                  \
		size_t n = base + (r % 256);                                               \
		char *p = malloc(n);                                                       \
		p[0] = (char)r;                                                            \
		unsigned i = ring_pos++ % LIVE;                                            \
		free(ring[i]);                                                             \
		ring[i] = p;                                                               \
	}
LEAF(leaf_a, 16)
LEAF(leaf_b, 64)
LEAF(leaf_c, 200)
LEAF(leaf_d, 500)

__attribute__((noinline)) int descend(int depth, unsigned r)
{
	if (depth == 0) {
		switch (r & 3) {
		case 0: leaf_a(r); break;
		case 1: leaf_b(r); break;
		case 2: leaf_c(r); break;
		default: leaf_d(r); break;
		}
		return 1;
	}
	int v = descend(depth - 1, r);
	__asm__ volatile("" : "+r"(v));
	return v + 1;
}

__attribute__((noinline)) void leak_some(int i)
{
	leaked[i] = malloc(i < 1000 ? 48 : 4096);
}

int main(int argc, char **argv)
{
	long pairs = argc > 1 ? atol(argv[1]) : 2000000;
	long acc = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < pairs; i++) {
		acc += descend(8, next());
		if (i % (pairs / 1010 + 1) == 0 && i / (pairs / 1010 + 1) < 1010)
			leak_some((int)(i / (pairs / 1010 + 1)));
	}
	for (int i = 0; i < LIVE; i++)
		free(ring[i]);
	/* The program's own run time, from main to the end of the work: the slowdown the
	 * program suffers, without any tool's start-up or post-processing. */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "workload_us %ld\n",
		(long)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000));
	return acc == 0;
}
