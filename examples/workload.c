/* workload.c - the example csampler profiles in the README's demo: three threads with
 * different kinds of work, so the flamegraph has something to show.
 *   main     matrix products (hot inner loop inlined into its caller)
 *   words    counts words of generated text in a hash table (string code, libc)
 *   sorter   sorts random arrays with libc's qsort and a comparator
 * Usage: workload [SECONDS]   (default 8) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double seconds;
static struct timespec t0;

static int time_left(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 < seconds;
}

/* ---- matrix products ---- */

#define N 96
static double A[N][N], B[N][N], C[N][N];

static inline double dot_column(int i, int j)
{
	double s = 0;
	for (int k = 0; k < N; k++)
		s += A[i][k] * B[k][j];
	return s;
}

__attribute__((noinline)) static void multiply(void)
{
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N; j++)
			C[i][j] = dot_column(i, j);
}

__attribute__((noinline)) static double matrix_round(void)
{
	multiply();
	double t = 0;
	for (int i = 0; i < N; i++)
		t += C[i][i];
	return t;
}

/* ---- word counting ---- */

#define BUCKETS 4096
struct word {
	char text[24];
	unsigned count;
	struct word *next;
};
static struct word *table[BUCKETS];

static unsigned hash_word(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

__attribute__((noinline)) static void count_word(const char *w)
{
	unsigned b = hash_word(w) % BUCKETS;
	for (struct word *p = table[b]; p; p = p->next)
		if (!strcmp(p->text, w)) {
			p->count++;
			return;
		}
	struct word *n = calloc(1, sizeof(*n));
	snprintf(n->text, sizeof(n->text), "%s", w);
	n->count = 1;
	n->next = table[b];
	table[b] = n;
}

__attribute__((noinline)) static void make_text(char *buf, size_t n, unsigned *seed)
{
	static const char *const vocab[] = {"alpha", "beta", "gamma", "delta", "epsilon",
					    "zeta", "eta", "theta", "iota", "kappa", "lambda"};
	size_t len = 0;
	while (len + 32 < n) {
		*seed = *seed * 1103515245u + 12345u;
		len += (size_t)snprintf(buf + len, n - len, "%s%u ", vocab[(*seed >> 16) % 11],
					(*seed >> 8) % 50);
	}
}

static void *words(void *arg)
{
	pthread_setname_np(pthread_self(), "words");
	char text[8192];
	unsigned seed = 1;
	while (time_left()) {
		make_text(text, sizeof(text), &seed);
		char *save = NULL;
		for (char *w = strtok_r(text, " ", &save); w; w = strtok_r(NULL, " ", &save))
			count_word(w);
	}
	return arg;
}

/* ---- sorting ---- */

static int compare_ints(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static void *sorter(void *arg)
{
	pthread_setname_np(pthread_self(), "sorter");
	enum { M = 20000 };
	int *v = malloc(M * sizeof(int));
	unsigned seed = 7;
	while (time_left()) {
		for (int i = 0; i < M; i++)
			v[i] = (int)(seed = seed * 1664525u + 1013904223u);
		qsort(v, M, sizeof(int), compare_ints);
	}
	free(v);
	return arg;
}

int main(int argc, char **argv)
{
	seconds = argc > 1 ? atof(argv[1]) : 8;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N; j++) {
			A[i][j] = (i + j) % 7;
			B[i][j] = (i * j) % 5;
		}
	pthread_t tw, ts;
	pthread_create(&tw, NULL, words, NULL);
	pthread_create(&ts, NULL, sorter, NULL);
	double acc = 0;
	while (time_left())
		acc += matrix_round();
	pthread_join(tw, NULL);
	pthread_join(ts, NULL);
	printf("workload done (%g)\n", acc);
	return 0;
}
