/* plt: spends a large share of its time in PLT stubs: a loop calls a function of a
 * shared library (libcs_t_pltlib.so) that returns at once, so each call's jump
 * through the PLT is a third of the work. It also calls memcpy and memcmp through
 * the PLT. Built three ways (PIE, IBT's .plt.sec, no PIE) to cover every stub kind. */
#include "common.h"

int cs_pltlib_nothing(int x);

__attribute__((noinline)) unsigned long call_through_plt(unsigned long n)
{
	unsigned long acc = 0;
	for (unsigned long i = 0; i < n; i++)
		acc += (unsigned long)cs_pltlib_nothing((int)i);
	return acc;
}

__attribute__((noinline)) int copy_and_compare(char *a, char *b, size_t n)
{
	memcpy(a, b, n);
	return memcmp(a, b, n);
}

int main(void)
{
	char a[64], b[64];
	memset(b, 'x', sizeof(b));
	target_ready();
	unsigned long acc = 0;
	while (!target_stop) {
		acc += call_through_plt(100000);
		acc += (unsigned long)copy_and_compare(a, b, (size_t)(acc & 31) + 1);
	}
	target_sink = acc;
	return 0;
}
