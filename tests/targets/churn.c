/* churn: a stack deeper than the default stack copy that keeps changing. Each descent
 * recurses 200 frames of ~128 bytes through either chain_a or chain_b, alternately, and
 * burns a little CPU at the bottom (UNITS of burn, default 20: usage cs_t_churn [UNITS]): what lies past the copy when a profiler reads it
 * later has most likely been rewritten by the other chain. A true stack is made of one
 * chain only; a stack with both was invented from memory that had changed. */
#include "common.h"

static unsigned long units = 20;

__attribute__((noinline)) unsigned long churn_leaf(void)
{
	return burn(units) + 1;
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
	if (argc > 1)
		units = strtoul(argv[1], NULL, 10);
	target_ready();
	unsigned long acc = 0;
	for (unsigned i = 0; !target_stop; i++)
		acc += i & 1 ? chain_a(199) : chain_b(199);
	target_sink = acc;
	return 0;
}
