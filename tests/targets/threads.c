/* threads: named threads with different loads; on SIGUSR1 a new thread "late" starts
 * (created after the profiler attached). */
#include "common.h"
#include <pthread.h>
#include <time.h>

static volatile sig_atomic_t start_late;

static void on_usr1(int sig)
{
	(void)sig;
	start_late = 1;
}

__attribute__((noinline)) unsigned long heavy_work(void) { return burn(200) + 1; }
__attribute__((noinline)) unsigned long light_work(void) { return burn(100) + 2; }
__attribute__((noinline)) unsigned long late_work(void) { return burn(100) + 3; }

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void *heavy(void *arg)
{
	pthread_setname_np(pthread_self(), "heavy");
	unsigned long acc = 0;
	while (!target_stop)
		acc += heavy_work();
	return (void *)acc;
}

/* Busy about a quarter of the time. */
static void *light(void *arg)
{
	pthread_setname_np(pthread_self(), "light");
	unsigned long acc = 0;
	while (!target_stop) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		do {
			acc += light_work();
			clock_gettime(CLOCK_MONOTONIC, &b);
		} while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 5000000L);
		sleep_ms(15);
	}
	return (void *)acc;
}

static void *late(void *arg)
{
	pthread_setname_np(pthread_self(), "late");
	unsigned long acc = 0;
	while (!target_stop)
		acc += late_work();
	return (void *)acc;
}

int main(void)
{
	signal(SIGUSR1, on_usr1);
	pthread_t h, l, z;
	pthread_create(&h, NULL, heavy, NULL);
	pthread_create(&l, NULL, light, NULL);
	target_ready();
	int late_started = 0;
	while (!target_stop) {
		if (start_late && !late_started) {
			pthread_create(&z, NULL, late, NULL);
			late_started = 1;
		}
		sleep_ms(10);
	}
	pthread_join(h, NULL);
	pthread_join(l, NULL);
	if (late_started)
		pthread_join(z, NULL);
	return 0;
}
