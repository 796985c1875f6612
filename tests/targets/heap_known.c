/* heap_known: allocations whose figures are known exactly, for the heap views of
 * `csampler leaks` and the comparison with heaptrack. No stdio (its buffers would be
 * allocations of their own); built -O2 -fomit-frame-pointer.
 *
 *   heap_known known   in this order, from main:
 *       make_temporaries  1000 x (malloc(100), free it at once): 1000 temporary
 *       make_pairs        500 x (p = malloc(32), q = malloc(32), free p, free q):
 *                         1000 allocations, none temporary (another event in between)
 *       leak_some         50 x malloc(64), never freed: 3200 bytes leaked
 *       (sleep 1.2 s)
 *       build_peak        199 x malloc(10000) and one malloc(10001), each written: with
 *                         leak_some's blocks the heap's peak, 2003201 bytes; held 2.2 s,
 *                         then freed in the order they were made (none temporary; the
 *                         last is of another size so that heaptrack, which takes a free
 *                         for temporary when the last allocation had the same size and
 *                         stack, agrees)
 *       (sleep 1.2 s), exit 0
 *     In all 2250 allocations, 1000 temporary, peak 2003201 bytes (build_peak holds
 *     2000001 of it, leak_some 3200), 3200 bytes leaked in 50 blocks.
 *   heap_known paths   three_paths: 3 x malloc(24) from three calls on one source
 *                      line of three_paths (three call stacks, one site), 10 times:
 *                      30 blocks, 720 bytes leaked; one_path: 10 x malloc(48)
 *   heap_known fork SELF   leak_some in the parent; a child that leaks 7 x malloc(99)
 *                      in child_leak and ends with _exit (no exit handlers run); then a
 *                      child that execs SELF child; the parent waits for both, exits 0
 *   heap_known child   child_exec_leak: 11 x malloc(77), exit 0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void *keep[4096]; /* global: the stores must stay */
static int nkeep;
void *volatile sink;

static void hold(void *p)
{
	keep[nkeep++] = p;
}

static void nap(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
	while (nanosleep(&t, &t))
		;
}

__attribute__((noinline)) void make_temporaries(void)
{
	for (int i = 0; i < 1000; i++) {
		void *p = malloc(100);
		sink = p;
		free(p);
	}
}

__attribute__((noinline)) void make_pairs(void)
{
	for (int i = 0; i < 500; i++) {
		void *p = malloc(32), *q = malloc(32);
		sink = p;
		sink = q;
		free(p);
		free(q);
	}
}

__attribute__((noinline)) void leak_some(void)
{
	for (int i = 0; i < 50; i++)
		hold(malloc(64));
}

__attribute__((noinline)) void build_peak(void)
{
	void *b[200];
	for (int i = 0; i < 200; i++) {
		size_t n = i < 199 ? 10000 : 10001;
		b[i] = malloc(n);
		memset(b[i], i, n); /* resident: RSS shows it too */
	}
	nap(2200);
	for (int i = 0; i < 200; i++)
		free(b[i]);
}

__attribute__((noinline)) void *mk(size_t n)
{
	void *p = malloc(n);
	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

/* Three calls on one line: three call stacks that resolve to the same frames. */
__attribute__((noinline)) void three_paths(void)
{
	for (int i = 0; i < 10; i++) {
		/* the three calls stay on one line */
		/* clang-format off */
		hold(mk(24)); hold(mk(24)); hold(mk(24));
		/* clang-format on */
	}
}

__attribute__((noinline)) void one_path(void)
{
	for (int i = 0; i < 10; i++)
		hold(malloc(48));
}

__attribute__((noinline)) void child_leak(void)
{
	for (int i = 0; i < 7; i++)
		hold(malloc(99));
}

__attribute__((noinline)) void child_exec_leak(void)
{
	for (int i = 0; i < 11; i++)
		hold(malloc(77));
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "known")) {
		make_temporaries();
		make_pairs();
		leak_some();
		nap(1200);
		build_peak();
		nap(1200);
	} else if (!strcmp(mode, "paths")) {
		three_paths();
		one_path();
	} else if (!strcmp(mode, "fork") && argc > 2) {
		leak_some();
		for (int k = 0; k < 2; k++) {
			pid_t c = fork();
			if (c == 0 && k == 0) {
				child_leak();
				_exit(0);
			}
			if (c == 0) {
				execl(argv[2], argv[2], "child", (char *)NULL);
				_exit(127);
			}
			int st;
			if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
				return 3;
		}
	} else if (!strcmp(mode, "child")) {
		child_exec_leak();
	} else {
		return 2;
	}
	return 0;
}
