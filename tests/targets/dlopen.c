/* dlopen: waits for SIGUSR1, then loads the plugin named on the command line and
 * spends its time in it. */
#include "common.h"
#include <dlfcn.h>
#include <time.h>

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	signal(SIGUSR1, on_usr1);
	target_ready();
	while (!go && !target_stop) {
		struct timespec ts = {0, 5000000};
		nanosleep(&ts, NULL);
	}
	void *h = dlopen(argv[1], RTLD_NOW);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	unsigned long (*spin)(unsigned long) = (unsigned long (*)(unsigned long))dlsym(h, "plugin_spin");
	unsigned long acc = 0;
	while (!target_stop)
		acc += spin(100);
	target_sink = acc;
	return 0;
}
