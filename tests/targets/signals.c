/* signals: a busy target with its own signal handlers, for the ptrace sampler. It
 * counts SIGUSR1, queued SIGRTMIN and SIGCONT in handlers (SA_RESTART), burns CPU in
 * between, and on SIGTERM writes "usr1=N rt=M cont=K" to the file named by argv[1]
 * and exits 0. Being traced must change none of these counts. */
#include "common.h"

static volatile sig_atomic_t n_usr1, n_rt, n_cont;

static void on_usr1(int sig)
{
	(void)sig;
	n_usr1++;
}
static void on_rt(int sig)
{
	(void)sig;
	n_rt++;
}
static void on_cont(int sig)
{
	(void)sig;
	n_cont++;
}

__attribute__((noinline)) unsigned long spin(void)
{
	return burn(200);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_rt;
	sigaction(SIGRTMIN, &sa, NULL);
	sa.sa_handler = on_cont;
	sigaction(SIGCONT, &sa, NULL);
	target_ready();
	unsigned long acc = 0;
	while (!target_stop)
		acc += spin();
	FILE *f = fopen(argv[1], "w");
	if (!f)
		return 3;
	fprintf(f, "usr1=%d rt=%d cont=%d\n", (int)n_usr1, (int)n_rt, (int)n_cont);
	return fclose(f) == 0 && acc != 1 ? 0 : 4;
}
