/* spawner: a long-running program that keeps changing under the profiler, for the
 * continuous-mode soak (bench/soak.sh). 10 ms after the last one ended it starts a
 * thread that lives a few tens of milliseconds; each thread loads PLUGIN with dlopen,
 * burns CPU in it and in a recursion whose path through three functions changes with
 * every call (new distinct stacks keep appearing, as in a server running many code
 * paths), then unloads the plugin and exits. About half a core in all.
 *
 * usage: cs_t_spawner PLUGIN [SECONDS]     (0 or nothing: until SIGTERM)
 */
#include "common.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

static const char *plugin;
static volatile unsigned long spawned;

static unsigned long walk(uint64_t path, int depth);

__attribute__((noinline)) static unsigned long step_a(uint64_t path, int depth)
{
	return walk(path / 3, depth - 1) + 1;
}
__attribute__((noinline)) static unsigned long step_b(uint64_t path, int depth)
{
	return walk(path / 3, depth - 1) + 2;
}
__attribute__((noinline)) static unsigned long step_c(uint64_t path, int depth)
{
	return walk(path / 3, depth - 1) + 3;
}

/* Down depth frames, each step_a, _b or _c by the next base-3 digit of path. */
__attribute__((noinline)) static unsigned long walk(uint64_t path, int depth)
{
	if (depth <= 0)
		return burn(1500);
	switch (path % 3) {
	case 0:
		return step_a(path, depth);
	case 1:
		return step_b(path, depth);
	default:
		return step_c(path, depth);
	}
}

static void *worker(void *arg)
{
	uint64_t seed = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull;
	void *h = dlopen(plugin, RTLD_NOW | RTLD_LOCAL);
	unsigned long (*spin)(unsigned long) =
	    h ? (unsigned long (*)(unsigned long))dlsym(h, "plugin_spin") : NULL;
	unsigned long acc = 0;
	for (int i = 0; i < 8 && !target_stop; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		acc += walk(seed >> 11, 6 + (int)(seed % 10));
		if (spin)
			acc += spin(1500);
	}
	target_sink += acc;
	if (h)
		dlclose(h);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	plugin = argv[1];
	double limit = argc > 2 ? atof(argv[2]) : 0;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	target_ready();
	while (!target_stop) {
		pthread_t th;
		if (pthread_create(&th, NULL, worker, (void *)(uintptr_t)++spawned) == 0)
			pthread_join(th, NULL);
		struct timespec pause = {0, 10000000};
		nanosleep(&pause, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (limit > 0 && (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 > limit)
			break;
	}
	return 0;
}
