/* wall_workload.c - fixed-work targets of bench/wall.sh.
 *
 * usage: wall_workload cpu N        two threads, N units of arithmetic each
 *        wall_workload pingpong N   two threads passing a byte back and forth N times
 *                                   through pipes (two context switches per round)
 *
 * At the end it prints "elapsed_s S switches_per_s R" (CLOCK_MONOTONIC, from the start
 * of the work to its end; switches from getrusage). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static long n;
static int ping[2], pong[2];
static volatile unsigned long sink;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static unsigned long work(unsigned long x)
{
	for (int i = 0; i < 100000; i++)
		x = x * 6364136223846793005UL + (unsigned long)i;
	return x;
}

static void *cpu(void *arg)
{
	unsigned long x = (unsigned long)(size_t)arg;
	for (long i = 0; i < n; i++)
		x = work(x);
	sink = x;
	return NULL;
}

__attribute__((noinline)) static void bounce(int in, int out, int first)
{
	char c = 'x';
	if (first && write(out, &c, 1) != 1)
		return;
	for (long i = 0; i < n; i++) {
		if (read(in, &c, 1) != 1)
			return;
		if ((!first || i + 1 < n) && write(out, &c, 1) != 1)
			return;
	}
}

static void *ponger(void *arg)
{
	(void)arg;
	bounce(ping[0], pong[1], 0);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3 || (n = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: wall_workload cpu|pingpong N\n");
		return 2;
	}
	int pp = !strcmp(argv[1], "pingpong");
	if (pipe(ping) || pipe(pong))
		return 1;
	double t0 = now();
	pthread_t th;
	pthread_create(&th, NULL, pp ? ponger : cpu, (void *)1);
	if (pp)
		bounce(pong[0], ping[1], 1);
	else
		cpu((void *)2);
	pthread_join(th, NULL);
	double t = now() - t0;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("elapsed_s %.4f switches_per_s %.0f\n", t, (double)(ru.ru_nvcsw + ru.ru_nivcsw) / t);
	return 0;
}
