/* cpu3: CPU split among three functions in known proportions (3:2:1). Built
 * -O2 -fomit-frame-pointer; the calls are neither inlined nor tail calls, so every
 * sample's stack must read _start ... main;work_X;burn_X. Optional argument: run for
 * that many seconds, then exit 0. */
#include "common.h"
#include <time.h>

__attribute__((noinline)) unsigned long burn_a(unsigned long n) { return burn(n) + 1; }
__attribute__((noinline)) unsigned long burn_b(unsigned long n) { return burn(n) + 2; }
__attribute__((noinline)) unsigned long burn_c(unsigned long n) { return burn(n) + 3; }

__attribute__((noinline)) unsigned long work_a(void) { return burn_a(300) * 3; }
__attribute__((noinline)) unsigned long work_b(void) { return burn_b(200) * 5; }
__attribute__((noinline)) unsigned long work_c(void) { return burn_c(100) * 7; }

int main(int argc, char **argv)
{
	double limit = argc > 1 ? atof(argv[1]) : 0;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	target_ready();
	unsigned long acc = 0;
	while (!target_stop) {
		acc += work_a();
		acc += work_b();
		acc += work_c();
		if (limit > 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 > limit)
				break;
		}
	}
	target_sink = acc;
	return 0;
}
