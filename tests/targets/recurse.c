/* recurse: the hot loop sits 200 frames deep in a recursion with frames of about 100
 * bytes (a small local buffer, as real recursive code has), so the whole stack is
 * deeper than the default 16 KiB stack copy. */
#include "common.h"

__attribute__((noinline)) unsigned long leaf_burn(void) { return burn(50) + 1; }

/* Not a tail call (the result is used after the call), not inlined. */
__attribute__((noinline)) unsigned long recurse(int depth)
{
	volatile unsigned char pad[88];
	pad[depth % 88] = (unsigned char)depth;
	unsigned long r = depth == 0 ? leaf_burn() : recurse(depth - 1);
	__asm__ volatile("" : "+r"(r));
	return r + (unsigned long)depth + pad[(depth * 7) % 88];
}

int main(int argc, char **argv)
{
	int depth = argc > 1 ? atoi(argv[1]) : 200;
	target_ready();
	unsigned long acc = 0;
	while (!target_stop)
		acc += recurse(depth - 1); /* depth frames named recurse */
	target_sink = acc;
	return 0;
}
