/* agent_leaks: leaks known amounts from known functions while churning many
 * malloc/free pairs, for the allocation-tracking agent's tests. Built
 * -fomit-frame-pointer. Protocol with the test: lines on stdout ("base ...", "done",
 * ...), single command bytes on stdin.
 *
 *   agent_leaks basic      100 x malloc(64) in leak_malloc, 10 x calloc(1, 4096) in
 *                          leak_calloc, one buffer realloc'ed up to 64 KiB in leak_realloc
 *   agent_leaks deep       20 x malloc(48) at the end of deep1 -> ... -> deep6
 *   agent_leaks threads    4 threads x 50 x malloc(128) in thread_leak; "phase1"; on
 *                          'n' one late thread does the same
 *   agent_leaks dlopen LIB plugin_leak() of LIB, loaded after tracking began
 *   agent_leaks sampled    20000 x malloc(1000) in samp_small, 200 x malloc(65536) in
 *                          samp_big, 500k churn pairs
 *   agent_leaks fork SELF  a forked child that allocates and execs SELF noop; then a
 *                          child that leaks as leak_malloc does and sleeps 3 s holding
 *                          whatever fds it inherited
 *   agent_leaks attach AGENT  no preload: 50 blocks allocated; then commands: 'a' reads a
 *                          line "NAME AGENTKEY CSAMPLERKEY" (hex keys), dlopen(AGENT) and
 *                          cs_agent_attach() with it ("attached"; may come again); 'p'
 *                          says where free's and malloc's GOT slots point ("slots
 *                          FREE-FILE MALLOC-FILE"); 'g' frees the 50 blocks and leaks
 *                          20 x malloc(100) in late_leak
 *   agent_leaks segv       leak_malloc's 100 blocks, "done", then on 's' a SIGSEGV
 *   agent_leaks noop       exits 0
 * After "done" every mode waits for one more command byte (or EOF), allocates and frees
 * some more (the agent may be inert by then) and exits 0.
 */
#include "agent_common.h"

#include "../../agent/protocol.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>

void *keep[64 * 1024]; /* global: the stores must stay */
size_t nkeep;

static void hold(void *p)
{
	keep[nkeep++] = p;
}

__attribute__((noinline)) static void churn(int n)
{
	for (int i = 0; i < n; i++) {
		void *p = malloc(16 + (size_t)(i % 512));
		agent_sink = p;
		free(p);
	}
	/* calloc, realloc(NULL, n), realloc(p, 0), reallocarray: all freed again. */
	for (int i = 0; i < 100; i++) {
		void *p = calloc(3, 100);
		p = realloc(p, 5000);
		free(p);
		p = realloc(NULL, 200);
		agent_sink = realloc(p, 0);
		p = reallocarray(NULL, 10, 10);
		free(p);
	}
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
	char *p = NULL;
	for (size_t n = 16; n <= 65536; n *= 2) {
		p = realloc(p, n);
		p[n - 1] = 1;
	}
	hold(p);
}

/* Six frames that the compiler must keep: no inlining, no tail calls. */
#define DEEP(name, next)                                                                   \
	__attribute__((noinline)) int name(int n)                                          \
	{                                                                                  \
		int r = next(n + 1);                                                       \
		__asm__ volatile("" : "+r"(r));                                            \
		return r + 1;                                                              \
	}
__attribute__((noinline)) int deep6(int n)
{
	for (int i = 0; i < 20; i++)
		hold(malloc(48));
	__asm__ volatile("" : "+r"(n));
	return n;
}
DEEP(deep5, deep6)
DEEP(deep4, deep5)
DEEP(deep3, deep4)
DEEP(deep2, deep3)
DEEP(deep1, deep2)

static pthread_mutex_t keep_lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) void thread_leak(void)
{
	for (int i = 0; i < 50; i++) {
		void *p = malloc(128);
		pthread_mutex_lock(&keep_lock);
		hold(p);
		pthread_mutex_unlock(&keep_lock);
	}
}

static void *thread_main(void *arg)
{
	churn(20000);
	thread_leak();
	churn(20000);
	return arg;
}

static void run_threads(int n)
{
	pthread_t th[8];
	for (int i = 0; i < n; i++)
		pthread_create(&th[i], NULL, thread_main, NULL);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
}

__attribute__((noinline)) void samp_small(void)
{
	for (int i = 0; i < 20000; i++)
		hold(malloc(1000));
}

__attribute__((noinline)) void samp_big(void)
{
	for (int i = 0; i < 200; i++)
		hold(malloc(65536));
}

__attribute__((noinline)) void early_alloc(void)
{
	for (int i = 0; i < 50; i++)
		hold(malloc(256));
}

__attribute__((noinline)) void late_leak(void)
{
	for (int i = 0; i < 20; i++)
		hold(malloc(100));
}

/* Read the rendezvous line from stdin and hand it to the agent in AGENT. */
static int attach_agent(const char *agent)
{
	char line[512];
	size_t n = 0;
	while (n + 1 < sizeof(line) && read(0, line + n, 1) == 1 && line[n] != '\n')
		n++;
	line[n] = 0;
	struct cs_agent_rendezvous rv;
	memset(&rv, 0, sizeof(rv));
	rv.magic = CS_AGENT_MAGIC;
	rv.version = CS_AGENT_VERSION;
	char ka[64], kc[64];
	if (sscanf(line, "%95s %63s %63s", rv.name, ka, kc) != 3)
		return -1;
	for (int i = 0; i < CS_AGENT_KEY_BYTES; i++) {
		unsigned a, c;
		if (sscanf(ka + 2 * i, "%2x", &a) != 1 || sscanf(kc + 2 * i, "%2x", &c) != 1)
			return -1;
		rv.agent_key[i] = (uint8_t)a;
		rv.csampler_key[i] = (uint8_t)c;
	}
	void *h = dlopen(agent, RTLD_NOW);
	typedef int (*attach_fn)(const struct cs_agent_rendezvous *);
	attach_fn fn = h ? (attach_fn)dlsym(h, CS_AGENT_ATTACH_FN) : NULL;
	if (!fn)
		return -1;
	fn(&rv);
	return 0;
}

/* The file a function pointer taken now lies in: its GOT slot's current target. */
static const char *file_of(void *p)
{
	Dl_info info;
	if (!dladdr(p, &info) || !info.dli_fname)
		return "?";
	const char *slash = strrchr(info.dli_fname, '/');
	return slash ? slash + 1 : info.dli_fname;
}

static int run_fork(const char *self)
{
	pid_t c = fork();
	if (c == 0) {
		churn(10000);
		execl(self, self, "noop", (char *)NULL);
		_exit(127);
	}
	int st;
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st)) {
		say("child failed\n");
		return 1;
	}
	c = fork();
	if (c == 0) {
		struct timespec ts = {3, 0};
		churn(1000);
		leak_malloc();
		nanosleep(&ts, NULL);
		_exit(0);
	}
	say("child %d\n", (int)c);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "noop"))
		return 0;
	signal(SIGPIPE, SIG_IGN);
	say_base("main", (void *)main);
	if (!strcmp(mode, "basic")) {
		churn(100000);
		leak_malloc();
		churn(100000);
		leak_calloc();
		leak_realloc();
		churn(100000);
	} else if (!strcmp(mode, "deep")) {
		churn(1000);
		agent_sink = (void *)(long)deep1(0);
	} else if (!strcmp(mode, "threads")) {
		run_threads(4);
		say("phase1\n");
		if (wait_cmd() != 'n')
			return 3;
		run_threads(1);
	} else if (!strcmp(mode, "dlopen") && argc > 2) {
		churn(1000);
		void *h = dlopen(argv[2], RTLD_NOW);
		if (!h) {
			say("dlopen failed\n");
			return 4;
		}
		void (*fn)(void) = (void (*)(void))dlsym(h, "plugin_leak");
		say_base("plugin", (void *)fn);
		fn();
	} else if (!strcmp(mode, "sampled")) {
		churn(250000);
		samp_small();
		samp_big();
		churn(250000);
	} else if (!strcmp(mode, "fork") && argc > 2) {
		churn(1000);
		if (run_fork(argv[2]))
			return 5;
	} else if (!strcmp(mode, "attach") && argc > 2) {
		early_alloc();
		say("early\n");
		for (char c; (c = wait_cmd()) != 'g';) {
			void *volatile f = (void *)free, *volatile m = (void *)malloc;
			if (c == 'a' && attach_agent(argv[2]) < 0) {
				say("attach failed\n");
				return 7;
			} else if (c == 'a') {
				say("attached\n");
			} else if (c == 'p') {
				churn(100);
				say("slots %s %s\n", file_of(f), file_of(m));
			} else {
				return 6;
			}
		}
		for (size_t i = 0; i < 50; i++)
			free(keep[i]);
		late_leak();
		churn(10000);
	} else if (!strcmp(mode, "segv")) {
		churn(1000);
		leak_malloc();
		say("done\n");
		if (wait_cmd() != 's')
			return 9;
		agent_sink = NULL;
		*(volatile int *)agent_sink = 0; /* a volatile load: the compiler cannot know */
		return 10;
	} else {
		return 2;
	}
	say("done\n");
	wait_cmd();
	churn(10000);
	return 0;
}
