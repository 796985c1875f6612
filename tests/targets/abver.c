/* abver: one program, two versions, for csampler diff and ab. Version A (the default)
 * burns CPU in grow() and steady() in equal parts; version B (built with -DVERSION_B)
 * spends 50% more in grow(), the same in steady(), and adds added() worth half of
 * steady(). The work is a fixed count of iterations, so each run's CPU time is a
 * property of the version.
 *
 * Usage: abver [ROUNDS [OUT]]: ROUNDS rounds (default 100; one round is about 4 ms of
 * CPU in A), then the thread CPU seconds measured around each function are written to
 * OUT ("grow 0.123\n" ...), the target's own account of where its time went. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile unsigned long sink;

static double cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Each function burns in its own loop, so its samples are its self time. */
#define BURN(units)                                                                                \
	do {                                                                                       \
		unsigned long x = sink;                                                            \
		for (unsigned long i = 0; i < (units)*1000UL; i++)                                 \
			x = x * 6364136223846793005UL + i;                                         \
		sink = x;                                                                          \
	} while (0)

#ifdef VERSION_B
#define GROW_UNITS 1500
#else
#define GROW_UNITS 1000
#endif

__attribute__((noinline)) void grow(void)
{
	BURN(GROW_UNITS);
}
__attribute__((noinline)) void steady(void)
{
	BURN(1000);
}
#ifdef VERSION_B
__attribute__((noinline)) void added(void)
{
	BURN(500);
}
#endif

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 100;
	double t_grow = 0, t_steady = 0, t_added = 0, t0;
	for (long r = 0; r < rounds; r++) {
		t0 = cpu_now();
		grow();
		t_grow += cpu_now() - t0;
		t0 = cpu_now();
		steady();
		t_steady += cpu_now() - t0;
#ifdef VERSION_B
		t0 = cpu_now();
		added();
		t_added += cpu_now() - t0;
#endif
	}
	if (argc > 2) {
		FILE *f = fopen(argv[2], "w");
		if (!f)
			return 1;
		fprintf(f, "grow %.6f\nsteady %.6f\nadded %.6f\n", t_grow, t_steady, t_added);
		if (fclose(f))
			return 1;
	}
	return 0;
}
