/* lto_lib: inlined into lto_main.c by link-time optimization (see there). */
unsigned long lto_outer(unsigned long x);

static inline __attribute__((always_inline)) unsigned long lto_inner(unsigned long x)
{
	for (int i = 0; i < 1000; i++) {
		x = x * 6364136223846793005UL + (unsigned long)i;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

unsigned long lto_outer(unsigned long x)
{
	x = lto_inner(x) ^ (x >> 7);
	return lto_inner(x);
}
