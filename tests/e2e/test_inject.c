/* Loading a library into a running process (the way the leak agent is loaded): the
 * borrowed thread must come back with every register, its vector state and its
 * interrupted system call intact, and the library's constructor must have run. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "harness.h"
#include "leaks/inject.h"

#define MARKER CS_BINARY_DIR "/tests/targets/libcs_t_marker.so"

static char *marker_path(pid_t pid)
{
	char *p;
	cr_assert(asprintf(&p, "/tmp/cs-marker-%d", (int)pid) > 0);
	return p;
}

/* Wait up to 5 s for the marker library's constructor to report in pid. */
static int marker_seen(pid_t pid)
{
	char *p = marker_path(pid);
	int seen = 0;
	for (int i = 0; i < 500 && !seen; i++) {
		seen = access(p, F_OK) == 0;
		if (!seen)
			usleep(10000);
	}
	unlink(p);
	free(p);
	return seen;
}

static void inject(pid_t pid, struct cs_inject_stats *st)
{
	struct cs_symbolizer_opts o = {0};
	struct cs_symbolizer *s = cs_symbolizer_new(&o);
	cr_assert_eq(cs_inject_dlopen(s, pid, MARKER, NULL, st), 0);
	cs_symbolizer_free(s);
	cr_log_info("stops %u, longest %.3f ms", st->stops, st->max_stop_ms);
}

static int avx2(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2");
}

Test(inject, registers_and_vector_state_survive, .timeout = 60)
{
	if (!avx2())
		cr_skip_test("this CPU has no AVX2, which the register-check target uses");
	for (int round = 0; round < 3; round++) {
		struct h_proc t;
		char *argv[] = {TARGET("cs_t_regcheck"), NULL};
		h_start(&t, argv);
		usleep(100000);
		struct cs_inject_stats st;
		inject(t.pid, &st);
		cr_expect(marker_seen(t.pid), "the library's constructor ran");
		usleep(300000); /* let it check its registers for a while */
		cr_expect(h_alive(t.pid), "target still running");
		cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0, "regcheck found every register intact");
	}
}

Test(inject, interrupted_sleep_is_restarted, .timeout = 60)
{
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_blocker"), "sleep", NULL};
	h_start(&t, argv);
	usleep(100000);
	struct cs_inject_stats st;
	inject(t.pid, &st);
	cr_expect(marker_seen(t.pid));
	usleep(200000);
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0, "nanosleep never failed");
}

Test(inject, interrupted_read_is_restarted, .timeout = 60)
{
	int in[2];
	cr_assert_eq(pipe(in), 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		close(in[1]);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		execl(TARGET("cs_t_blocker"), TARGET("cs_t_blocker"), "read", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	usleep(300000); /* blocked in read() by now */
	struct cs_inject_stats st;
	inject(pid, &st);
	cr_expect(marker_seen(pid));
	cr_expect_eq(write(in[1], "x", 1), 1);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "read() returned the byte instead of failing (status %d)", status);
	close(in[1]);
}

Test(inject, missing_process)
{
	struct cs_symbolizer_opts o = {0};
	struct cs_symbolizer *s = cs_symbolizer_new(&o);
	struct cs_inject_stats st;
	cr_expect_eq(cs_inject_dlopen(s, 2147483, MARKER, NULL, &st), -1);
	cs_symbolizer_free(s);
}
