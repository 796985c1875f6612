/* lto_main, lto_lib: built with -flto, so that lto_lib's functions are inlined into
 * lto_main's across units. The inlined calls' abstract origins then live in another
 * unit (DW_FORM_ref_addr), as in Debian's python3.11. */
#include "common.h"

unsigned long lto_outer(unsigned long x);

__attribute__((noinline)) unsigned long lto_hot(unsigned long x)
{
	return lto_outer(x) + 1;
}

int main(void)
{
	target_ready();
	unsigned long acc = 1;
	while (!target_stop)
		acc += lto_hot(acc);
	target_sink = acc;
	return 0;
}
