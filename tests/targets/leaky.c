/* leaky: leaks known amounts from known functions while churning many correct
 * malloc/free pairs. Built -O2 -fomit-frame-pointer. No stdio (its buffers would be
 * allocations of their own).
 *   leaky basic    leak, churn a moment, exit 0
 *   leaky busy     allocate 50 blocks, say ready, churn until SIGTERM; on SIGUSR1 free
 *                  the 50 (made before any attach) and leak as in basic
 *   leaky grow     churn; leak 1000 bytes in grow_leak every 20 ms, until SIGTERM
 *   leaky aligned  leak through posix_memalign, aligned_alloc, memalign and valloc
 *   leaky threads  3 threads leak 10 x 256 bytes each in thread_leak; then a late thread
 *                  leaks 5 x 512 in late_leak
 * The leaks, exactly (each called from leak_all): leak_malloc 100 x 64 B; leak_calloc
 * 10 x 4096 B; leak_realloc one block grown by realloc to 65536 B. */
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *keep[4096];
static volatile int nkeep;
static volatile sig_atomic_t stop, go;
void *volatile sink;

static void hold(void *p)
{
	keep[nkeep++] = p;
}

static void say(const char *s)
{
	if (write(1, s, strlen(s)) < 0)
		_exit(5);
}

static void on_signal(int sig)
{
	if (sig == SIGTERM)
		stop = 1;
	else
		go = 1;
}

__attribute__((noinline)) void leak_malloc(void)
{
	for (int i = 0; i < 100; i++)
		hold(malloc(64));
}

__attribute__((noinline)) void leak_calloc(void)
{
	for (int i = 0; i < 10; i++)
		hold(calloc(1, 4096));
}

__attribute__((noinline)) void leak_realloc(void)
{
	void *p = NULL;
	for (size_t n = 1000; n < 65536; n += 4000)
		p = realloc(p, n);
	hold(realloc(p, 65536));
}

__attribute__((noinline)) void grow_leak(void)
{
	hold(malloc(1000));
}

/* Correct allocation traffic: none of it may ever be reported. */
__attribute__((noinline)) void churn(int n)
{
	for (int i = 0; i < n; i++) {
		void *p = malloc(16 + (size_t)(i % 700));
		sink = p;
		free(p);
		p = calloc(2, 24);
		p = realloc(p, 300);
		sink = p;
		free(p);
		p = realloc(NULL, 40);
		sink = realloc(p, 0); /* frees p */
	}
}

__attribute__((noinline)) static void leak_all(void)
{
	leak_malloc();
	leak_calloc();
	leak_realloc();
	__asm__ volatile("" ::: "memory"); /* no tail call: leak_all stays on the stack */
}

static volatile int two = 2, three = 3, four = 4, five = 5; /* loops are not unrolled */

__attribute__((noinline)) void leak_aligned(void)
{
	void *p;
	for (int i = 0; i < three; i++)
		if (posix_memalign(&p, 64, 200) == 0)
			hold(p);
	for (int i = 0; i < four; i++)
		hold(aligned_alloc(128, 256));
	for (int i = 0; i < five; i++)
		hold(memalign(32, 96));
	for (int i = 0; i < two; i++)
		hold(valloc(1000));
	/* and each of them freed correctly too */
	for (int i = 0; i < 100; i++) {
		if (posix_memalign(&p, 64, 200) == 0)
			free(p);
		free(aligned_alloc(128, 256));
		free(memalign(32, 96));
		free(valloc(1000));
	}
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) void thread_leak(void)
{
	for (int i = 0; i < 10; i++) {
		void *p = malloc(256);
		pthread_mutex_lock(&lock);
		hold(p);
		pthread_mutex_unlock(&lock);
	}
}

__attribute__((noinline)) void late_leak(void)
{
	for (int i = 0; i < 5; i++) {
		void *p = malloc(512);
		pthread_mutex_lock(&lock);
		hold(p);
		pthread_mutex_unlock(&lock);
	}
}

static void *worker(void *arg)
{
	churn(20000);
	thread_leak();
	churn(20000);
	return arg;
}

static void *late_worker(void *arg)
{
	churn(5000);
	late_leak();
	return arg;
}

static void nap_ms(long ms)
{
	struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&d, NULL);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "basic";
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	if (!strcmp(mode, "basic")) {
		churn(1000);
		leak_all();
		churn(50000);
	} else if (!strcmp(mode, "aligned")) {
		leak_aligned();
	} else if (!strcmp(mode, "threads")) {
		pthread_t t[3], late;
		for (int i = 0; i < 3; i++)
			pthread_create(&t[i], NULL, worker, NULL);
		for (int i = 0; i < 3; i++)
			pthread_join(t[i], NULL);
		pthread_create(&late, NULL, late_worker, NULL);
		pthread_join(late, NULL);
	} else if (!strcmp(mode, "busy") || !strcmp(mode, "grow")) {
		int grow = !strcmp(mode, "grow");
		void *before[50];
		for (int i = 0; i < 50; i++)
			before[i] = malloc(77);
		say("ready\n");
		int leaked = 0;
		while (!stop) {
			churn(200);
			if (grow) {
				if (nkeep < 4000)
					grow_leak();
				nap_ms(20);
			} else {
				if (go && !leaked) {
					for (int i = 0; i < 50; i++)
						free(before[i]);
					leak_all();
					leaked = 1;
				}
				nap_ms(2);
			}
		}
	} else {
		return 2;
	}
	return 0;
}
