/* record_workload.c - the fixed-work target of bench/record.sh. Build it -O2 -g
 * -fomit-frame-pointer: the stacks then have no frame-pointer chain and only DWARF CFI
 * unwinds them.
 *
 * usage: record_workload [-w] ITERS [THREADS]
 *
 * THREADS threads (default 2: main and one pthread) each run ITERS call trees: random
 * walks over NF functions, 10 to 30 calls deep, that end in an arithmetic loop or in a
 * qsort() whose comparator is ours (so stacks also cross libc). The pseudo-random
 * sequence is seeded per thread, so every run does exactly the same work.
 *
 * With -w, the threads are created first, then the program prints "ready PID" on
 * stdout and waits for SIGUSR1 before working: a profiler can attach in between.
 * At the end it prints "wall_s W cpu_s C user_s U sys_s S", measured from the start of
 * the work to its end (all threads, from getrusage). */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define NF 16
#define MIN_DEPTH 10
#define MAX_DEPTH 30

struct ctx {
	uint64_t state;
	uint64_t acc;
};

typedef void (*fn)(struct ctx *c, int depth);
static fn table[NF];
static volatile uint64_t sink;

static uint64_t next(struct ctx *c)
{
	c->state ^= c->state << 13;
	c->state ^= c->state >> 7;
	c->state ^= c->state << 17;
	return c->state;
}

__attribute__((noinline)) static void spin(struct ctx *c, int n)
{
	uint64_t x = c->acc;
	for (int i = 0; i < n; i++)
		x = x * 6364136223846793005ULL + (uint64_t)i;
	c->acc = x;
}

__attribute__((noinline)) static int compare(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

__attribute__((noinline)) static void sort_some(struct ctx *c, int n)
{
	uint64_t v[48];
	for (int i = 0; i < n; i++)
		v[i] = next(c);
	qsort(v, (size_t)n, sizeof(v[0]), compare);
	c->acc += v[n / 2];
}

/* Each function calls another one chosen at random until the walk is at least
 * MIN_DEPTH deep, then stops with probability 1/5 per level, and always at MAX_DEPTH.
 * The work after the call keeps it from being a tail call. */
#define DEF(i)                                                                                     \
	__attribute__((noinline)) static void f##i(struct ctx *c, int depth)                       \
	{                                                                                          \
		uint64_t r = next(c);                                                              \
		if (depth >= MAX_DEPTH || (depth >= MIN_DEPTH && r % 5 == 0)) {                    \
			if ((r >> 20) % 4 == 0)                                                    \
				sort_some(c, 16 + (int)((r >> 24) % 32));                          \
			else                                                                       \
				spin(c, 300 + (int)((r >> 32) % 3000));                            \
			return;                                                                    \
		}                                                                                  \
		table[(r >> 8) % NF](c, depth + 1);                                                \
		c->acc += r;                                                                       \
	}
DEF(0) DEF(1) DEF(2) DEF(3) DEF(4) DEF(5) DEF(6) DEF(7)
DEF(8) DEF(9) DEF(10) DEF(11) DEF(12) DEF(13) DEF(14) DEF(15)

static long iters;
static pthread_barrier_t go;

__attribute__((noinline)) static uint64_t run(unsigned seed)
{
	struct ctx c = {88172645463325252ULL ^ (0x9e3779b97f4a7c15ULL * (seed + 1)), 0};
	for (long i = 0; i < iters; i++)
		table[next(&c) % NF](&c, 1);
	return c.acc;
}

static void *worker(void *arg)
{
	pthread_barrier_wait(&go);
	sink += run((unsigned)(uintptr_t)arg);
	return NULL;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double tv_s(struct timeval t) { return (double)t.tv_sec + (double)t.tv_usec / 1e6; }

int main(int argc, char **argv)
{
	int wait_go = 0, a = 1;
	if (a < argc && !strcmp(argv[a], "-w")) {
		wait_go = 1;
		a++;
	}
	if (a >= argc) {
		fprintf(stderr, "usage: record_workload [-w] ITERS [THREADS]\n");
		return 2;
	}
	iters = atol(argv[a]);
	int nthreads = a + 1 < argc ? atoi(argv[a + 1]) : 2;
	if (iters <= 0 || nthreads < 1 || nthreads > 64) {
		fprintf(stderr, "record_workload: bad ITERS or THREADS\n");
		return 2;
	}
	fn t[NF] = {f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15};
	memcpy(table, t, sizeof(t));

	/* Block SIGUSR1 before creating threads, so that every thread inherits the mask
	 * and sigwait() below receives it. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	pthread_barrier_init(&go, NULL, (unsigned)nthreads);
	pthread_t th[64];
	for (int i = 1; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i)) {
			fprintf(stderr, "record_workload: pthread_create failed\n");
			return 1;
		}
	if (wait_go) {
		printf("ready %d\n", (int)getpid());
		fflush(stdout);
		int sig;
		sigwait(&set, &sig);
	}

	struct rusage r0, r1;
	getrusage(RUSAGE_SELF, &r0);
	double w0 = now_s();
	pthread_barrier_wait(&go);
	sink += run(0);
	for (int i = 1; i < nthreads; i++)
		pthread_join(th[i], NULL);
	double w1 = now_s();
	getrusage(RUSAGE_SELF, &r1);
	double u = tv_s(r1.ru_utime) - tv_s(r0.ru_utime);
	double s = tv_s(r1.ru_stime) - tv_s(r0.ru_stime);
	printf("wall_s %.4f cpu_s %.4f user_s %.4f sys_s %.4f\n", w1 - w0, u + s, u, s);
	return 0;
}
