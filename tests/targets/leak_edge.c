/* leak_edge: the hard cases of `csampler leaks`. Built -no-pie (cs_t_leak_nopie) it
 * takes free's address, so the executable has a canonical PLT entry for free, as
 * Debian's python3.11, pigz and node do; built as PIE (cs_t_leak_edge) it is an
 * ordinary program. No stdio (its buffers are allocations).
 *   leak_edge fptr       leak 30 x malloc(100) in leak_fp, churn freeing through a
 *                        pointer to free, exit 0
 *   leak_edge busy       say ready, churn through the pointer until SIGTERM (exit 0);
 *                        on SIGUSR1 leak as in fptr
 *   leak_edge exit N     leak as in fptr, exit N
 *   leak_edge segv       leak as in fptr, then die of SIGSEGV
 *   leak_edge dlopen LIB dlopen LIB, call its plugin_leak (7 x malloc(333)), exit 0 at once
 *   leak_edge many       25 call sites (site_0 ... site_24) leak one malloc(64) each
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void *keep[256]; /* global: the stores must stay */
static int nkeep;
static volatile sig_atomic_t stop, go;
void *volatile sink;
/* The address of free, taken by the program's code (not by a data initializer): in a
 * non-PIE executable this is the executable's own PLT entry for free. */
void (*volatile free_fn)(void *);

static void on_signal(int sig)
{
	if (sig == SIGTERM)
		stop = 1;
	else
		go = 1;
}

__attribute__((noinline)) void leak_fp(void)
{
	for (int i = 0; i < 30; i++)
		keep[nkeep++] = malloc(100);
}

/* 25 functions, one leaking call site each. */
#define SITE(k)                                                                            \
	__attribute__((noinline)) void site_##k(void)                                      \
	{                                                                                  \
		keep[nkeep++] = malloc(64);                                                \
		__asm__ volatile("" ::: "memory");                                         \
	}
#define SITES5(a, b, c, d, e) SITE(a) SITE(b) SITE(c) SITE(d) SITE(e)
SITES5(0, 1, 2, 3, 4)
SITES5(5, 6, 7, 8, 9)
SITES5(10, 11, 12, 13, 14)
SITES5(15, 16, 17, 18, 19)
SITES5(20, 21, 22, 23, 24)
static void (*const sites[25])(void) = {
	site_0,	 site_1,  site_2,  site_3,  site_4,  site_5,  site_6,  site_7,	site_8,
	site_9,	 site_10, site_11, site_12, site_13, site_14, site_15, site_16, site_17,
	site_18, site_19, site_20, site_21, site_22, site_23, site_24,
};

__attribute__((noinline)) static void churn(int n)
{
	for (int i = 0; i < n; i++) {
		void *p = malloc(32 + (size_t)(i % 200));
		sink = p;
		free_fn(p);
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "fptr";
	free_fn = free;
	if (!strcmp(mode, "busy")) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGUSR1, &sa, NULL);
		if (write(1, "ready\n", 6) != 6)
			return 5;
		int leaked = 0;
		while (!stop) {
			churn(1000);
			if (go && !leaked) {
				leak_fp();
				leaked = 1;
			}
			struct timespec t = {0, 2000000};
			nanosleep(&t, NULL);
		}
		return 0;
	}
	if (!strcmp(mode, "dlopen") && argc > 2) {
		void *h = dlopen(argv[2], RTLD_NOW);
		void (*fn)(void) = h ? (void (*)(void))dlsym(h, "plugin_leak") : NULL;
		if (!fn)
			return 4;
		fn();
		return 0;
	}
	if (!strcmp(mode, "many")) {
		for (int i = 0; i < 25; i++)
			sites[i]();
		return 0;
	}
	churn(20000);
	leak_fp();
	churn(20000);
	if (!strcmp(mode, "exit") && argc > 2)
		return atoi(argv[2]);
	if (!strcmp(mode, "segv")) {
		sink = NULL;
		*(volatile int *)sink = 1;
	}
	return 0;
}
