/* churn: a stack deeper than the stack copy whose outer part is replaced from time to
 * time. The thread recurses DEPTH frames of ~128 bytes through chain_a, burns CPU at
 * the bottom for DWELL_MS, returns, does the same through chain_b, and so on. A true
 * stack holds one chain only; a stack with both would have been invented from live
 * memory read after the switch. The two chains have the same frame layout, so only
 * checking the memory itself can tell them apart.
 * usage: cs_t_churn [DEPTH] [DWELL_MS]     (default 600 frames, 20 ms) */
#include "common.h"

#include <stdint.h>
#include <time.h>

static uint64_t dwell_ns = 20000000;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

__attribute__((noinline)) unsigned long churn_leaf(void)
{
	unsigned long r = 0;
	uint64_t end = now_ns() + dwell_ns;
	while (now_ns() < end && !target_stop)
		r += burn(1);
	return r;
}

__attribute__((noinline)) unsigned long chain_a(int depth)
{
	volatile unsigned char pad[88];
	pad[depth % 88] = (unsigned char)depth;
	unsigned long r = depth == 0 ? churn_leaf() : chain_a(depth - 1);
	__asm__ volatile("" : "+r"(r));
	return r + (unsigned long)depth + pad[(depth * 7) % 88];
}

__attribute__((noinline)) unsigned long chain_b(int depth)
{
	volatile unsigned char pad[88];
	pad[depth % 88] = (unsigned char)(depth ^ 0x5a);
	unsigned long r = depth == 0 ? churn_leaf() : chain_b(depth - 1);
	__asm__ volatile("" : "+r"(r));
	return r * 3 + (unsigned long)depth + pad[(depth * 5) % 88];
}

int main(int argc, char **argv)
{
	int depth = argc > 1 ? atoi(argv[1]) : 600;
	if (argc > 2)
		dwell_ns = strtoull(argv[2], NULL, 10) * 1000000ull;
	target_ready();
	unsigned long acc = 0;
	for (unsigned i = 0; !target_stop; i++)
		acc += i & 1 ? chain_a(depth - 1) : chain_b(depth - 1);
	target_sink = acc;
	return 0;
}
