/* inline: the hot code lives in functions that -O2 inlines into their callers. */
#include "common.h"

static inline __attribute__((always_inline)) unsigned long mix_inner(unsigned long x)
{
	for (int i = 0; i < 1000; i++)
		x = x * 6364136223846793005UL + (unsigned long)i;
	return x;
}

static inline __attribute__((always_inline)) unsigned long mix_outer(unsigned long x)
{
	x = mix_inner(x) ^ (x >> 7);
	return mix_inner(x);
}

__attribute__((noinline)) unsigned long hot_caller(unsigned long x)
{
	return mix_outer(x) + 1;
}

int main(void)
{
	target_ready();
	unsigned long acc = 1;
	while (!target_stop)
		acc += hot_caller(acc);
	target_sink = acc;
	return 0;
}
