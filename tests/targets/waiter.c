/* waiter: threads that wait in known ways, for off-CPU profiles (record --wall).
 * Each waiting thread measures with CLOCK_MONOTONIC how long it spent inside its
 * blocking call and, on SIGTERM, prints "truth NAME TID WAIT_NS LIFE_NS CPU_NS" (its
 * CPU time from its CPU-time clock).
 *
 *   waiter mix       "sleeper" (nanosleep 10 ms in sleep_wait), "reader" (read() of a
 *                    pipe in pipe_wait, fed a byte every 20 ms by "feeder"), "locker"
 *                    (pthread_mutex_lock in lock_wait while "holder" keeps the mutex
 *                    30 ms of every 40), "burner" (CPU-bound in burn_loop)
 *   waiter pinned    two CPU-bound threads "spin1", "spin2" pinned to one CPU
 *   waiter pingpong  two threads passing a byte back and forth through pipes as fast
 *                    as they can (tens of thousands of switches per second)
 */
#include "common.h"
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct truth {
	const char *name;
	pid_t tid;
	pthread_t self;
	uint64_t start, wait;
};

#define MAXT 8
static struct truth truths[MAXT];
static int ntruths;
static pthread_mutex_t truth_mu = PTHREAD_MUTEX_INITIALIZER;

static struct truth *begin(const char *name)
{
	pthread_setname_np(pthread_self(), name);
	pthread_mutex_lock(&truth_mu);
	struct truth *t = &truths[ntruths++];
	pthread_mutex_unlock(&truth_mu);
	t->name = name;
	t->tid = gettid();
	t->self = pthread_self();
	t->start = now_ns();
	return t;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* ---- mix ---- */

static int pipefd[2];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) static void sleep_wait(struct truth *t)
{
	uint64_t a = now_ns();
	sleep_ms(10);
	t->wait += now_ns() - a;
}

__attribute__((noinline)) static void pipe_wait(struct truth *t)
{
	char c;
	uint64_t a = now_ns();
	ssize_t r = read(pipefd[0], &c, 1);
	(void)r;
	t->wait += now_ns() - a;
}

__attribute__((noinline)) static void lock_wait(struct truth *t)
{
	uint64_t a = now_ns();
	pthread_mutex_lock(&mu);
	t->wait += now_ns() - a;
	pthread_mutex_unlock(&mu);
}

__attribute__((noinline)) static void burn_loop(void)
{
	while (!target_stop)
		burn(50);
}

static void *sleeper(void *arg)
{
	struct truth *t = begin("sleeper");
	while (!target_stop)
		sleep_wait(t);
	return arg;
}

static void *reader(void *arg)
{
	struct truth *t = begin("reader");
	while (!target_stop)
		pipe_wait(t);
	return arg;
}

static void *feeder(void *arg)
{
	pthread_setname_np(pthread_self(), "feeder");
	while (!target_stop) {
		sleep_ms(20);
		ssize_t r = write(pipefd[1], "x", 1);
		(void)r;
	}
	ssize_t r = write(pipefd[1], "x", 1); /* wake the reader for its exit */
	(void)r;
	return arg;
}

static void *holder(void *arg)
{
	pthread_setname_np(pthread_self(), "holder");
	while (!target_stop) {
		pthread_mutex_lock(&mu);
		sleep_ms(30);
		pthread_mutex_unlock(&mu);
		sleep_ms(10);
	}
	return arg;
}

static void *locker(void *arg)
{
	struct truth *t = begin("locker");
	while (!target_stop) {
		lock_wait(t);
		sleep_ms(1); /* let the holder take it again */
	}
	return arg;
}

static void *burner(void *arg)
{
	begin("burner");
	burn_loop();
	return arg;
}

/* ---- pinned ---- */

__attribute__((noinline)) static void spin_loop(void)
{
	while (!target_stop)
		burn(20);
}

static void *spinner(void *arg)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	begin(arg);
	spin_loop();
	return arg;
}

/* ---- pingpong ---- */

static int ping[2], pong[2];

__attribute__((noinline)) static void bounce(int in, int out)
{
	char c;
	while (!target_stop) {
		if (read(in, &c, 1) != 1)
			break;
		if (write(out, &c, 1) != 1)
			break;
	}
}

static void *pinger(void *arg)
{
	begin("ping");
	ssize_t r = write(ping[1], "p", 1);
	(void)r;
	bounce(pong[0], ping[1]);
	return arg;
}

static void *ponger(void *arg)
{
	begin("pong");
	bounce(ping[0], pong[1]);
	return arg;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "mix";
	pthread_t th[MAXT];
	int n = 0;

	if (pipe(pipefd) || pipe(ping) || pipe(pong))
		return 3;
	if (!strcmp(mode, "mix")) {
		pthread_create(&th[n++], NULL, sleeper, NULL);
		pthread_create(&th[n++], NULL, reader, NULL);
		pthread_create(&th[n++], NULL, feeder, NULL);
		pthread_create(&th[n++], NULL, holder, NULL);
		pthread_create(&th[n++], NULL, locker, NULL);
		pthread_create(&th[n++], NULL, burner, NULL);
	} else if (!strcmp(mode, "pinned")) {
		pthread_create(&th[n++], NULL, spinner, "spin1");
		pthread_create(&th[n++], NULL, spinner, "spin2");
	} else if (!strcmp(mode, "pingpong")) {
		pthread_create(&th[n++], NULL, pinger, NULL);
		pthread_create(&th[n++], NULL, ponger, NULL);
	} else {
		return 2;
	}
	sleep_ms(50); /* every thread has begun */
	target_ready();
	while (!target_stop)
		pause();
	uint64_t end = now_ns();
	pthread_mutex_lock(&truth_mu);
	for (int i = 0; i < ntruths; i++) {
		clockid_t cid;
		struct timespec cpu = {0, 0};
		if (pthread_getcpuclockid(truths[i].self, &cid) == 0)
			clock_gettime(cid, &cpu);
		printf("truth %s %d %llu %llu %llu\n", truths[i].name, (int)truths[i].tid,
		       (unsigned long long)truths[i].wait,
		       (unsigned long long)(end - truths[i].start),
		       (unsigned long long)cpu.tv_sec * 1000000000ull + (unsigned long long)cpu.tv_nsec);
	}
	pthread_mutex_unlock(&truth_mu);
	fflush(stdout);
	_exit(0); /* threads may be blocked: do not join them */
}
