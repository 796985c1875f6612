/* workload.c - a CPU-bound program with many distinct call stacks, to record with
 * `perf record -g` for the perf script benchmark. Built with frame pointers.
 * usage: workload SECONDS */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static volatile uint64_t sink;
static uint64_t state = 88172645463325252ULL;

static uint64_t next(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

#define NF 24
typedef void (*fn)(int depth);
static fn table[NF];

__attribute__((noinline)) static void spin(int n)
{
	uint64_t x = 0;
	for (int i = 0; i < n; i++)
		x = x * 6364136223846793005ULL + (uint64_t)i;
	sink += x;
}

/* Each function either works or calls another one chosen at random: call chains are
 * random walks over NF functions, 1 to 40 deep. */
#define DEF(i)                                                                                     \
	__attribute__((noinline)) static void f##i(int depth)                                      \
	{                                                                                          \
		uint64_t r = next();                                                               \
		if (depth >= 40 || r % 9 == 0) {                                                   \
			spin(200 + (int)(r >> 40) % 2000);                                         \
			return;                                                                    \
		}                                                                                  \
		table[(r >> 8) % NF](depth + 1);                                                   \
		sink += r;                                                                         \
	}
DEF(0) DEF(1) DEF(2) DEF(3) DEF(4) DEF(5) DEF(6) DEF(7) DEF(8) DEF(9) DEF(10) DEF(11)
DEF(12) DEF(13) DEF(14) DEF(15) DEF(16) DEF(17) DEF(18) DEF(19) DEF(20) DEF(21) DEF(22)
DEF(23)

int main(int argc, char **argv)
{
	fn t[NF] = {f0,  f1,  f2,  f3,  f4,  f5,  f6,  f7,  f8,  f9,  f10, f11,
		    f12, f13, f14, f15, f16, f17, f18, f19, f20, f21, f22, f23};
	for (int i = 0; i < NF; i++)
		table[i] = t[i];
	double secs = argc > 1 ? atof(argv[1]) : 5;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		for (int i = 0; i < 1000; i++)
			table[next() % NF](0);
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9 < secs);
	return 0;
}
