/* symbols: built three ways by the tests - stripped with debug info in a separate
 * file found by build-id, stripped with a .gnu_debuglink, and stripped with no
 * debug info at all. The hot functions are static, so only debug info names them. */
#include "common.h"

static __attribute__((noinline)) unsigned long secret_inner(void) { return burn(100) + 1; }
static __attribute__((noinline)) unsigned long secret_outer(void)
{
	unsigned long r = secret_inner();
	__asm__ volatile("" : "+r"(r));
	return r * 3;
}

int main(void)
{
	target_ready();
	unsigned long acc = 0;
	while (!target_stop)
		acc += secret_outer();
	target_sink = acc;
	return 0;
}
