/* End-to-end tests of `csampler leaks` on the cases that once hung a program, let
 * another user in, or lost a snapshot: canonical PLT entries (a non-PIE program that
 * takes free's address, Debian's python3), exit statuses and fatal signals, a second
 * csampler, dlopen just before exit, a program with its own malloc. (Hostile users,
 * SIGKILL, misbehaving agents, containers and installing: test_leaks_hostile.c.) */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define NOPIE TARGET("cs_t_leak_nopie")
#define EDGE TARGET("cs_t_leak_edge")
#define PLUGIN TARGET("libcs_t_agent_plugin.so")
#define PYTHON "/usr/bin/python3"

static char *dir;

static void setup(void)
{
	dir = h_tmpdir();
}

static void teardown(void)
{
	if (dir)
		h_tmpdir_free(dir);
	dir = NULL;
}

TestSuite(leaks_safety, .init = setup, .fini = teardown, .timeout = 180);

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* The JSON of the last snapshot of a recording (heap string). */
static char *last_snapshot(const char *data)
{
	char *argv[] = {CS_EXE, "report", "--leaks", "-i", (char *)data, "--format", "json",
			"--top", "0", NULL};
	char *out, *err;
	int st = h_run(argv, 60, &out, &err);
	cr_assert_eq(st, 0, "report --leaks failed: %s", err);
	free(err);
	char *s = NULL;
	for (char *p = out; (p = strstr(p, "{\"index\": ")); p++)
		s = p;
	cr_assert(s, "no snapshot in %s", out);
	char *copy = strdup(s);
	free(out);
	return copy;
}

/* Exactly one site whose two innermost frames are caller, leaf with these figures. */
static void expect_site(const char *snap, const char *caller, const char *leaf,
			unsigned long long bytes, unsigned long long blocks)
{
	char pat[512];
	snprintf(pat, sizeof(pat), "\"%s\", \"%s\"], \"bytes\": %llu, \"blocks\": %llu,", caller,
		 leaf, bytes, blocks);
	cr_expect_eq(count(snap, pat), 1, "want %s in: %s", pat, snap);
}

static void pid_arg(char *buf, size_t n, pid_t pid)
{
	snprintf(buf, n, "%d", (int)pid);
}

/* ---- canonical PLT entries ---- */

Test(leaks_safety, nopie_program_taking_free_address_launched)
{
	char *data = h_path(dir, "n.data");
	char *argv[] = {CS_EXE, "leaks", "-q", "-o", data, "--", NOPIE, "fptr", NULL};
	char *err;
	int st = h_run(argv, 60, NULL, &err);
	cr_assert_eq(st, 0, "csampler leaks failed or hung: %s", err);
	free(err);
	char *snap = last_snapshot(data);
	cr_expect(strstr(snap, "\"exact\": true"), "%s", snap);
	expect_site(snap, "main", "leak_fp", 3000, 30);
	free(snap);
	free(data);
}

Test(leaks_safety, nopie_program_taking_free_address_attached)
{
	struct h_proc t;
	char *targ[] = {NOPIE, "busy", NULL};
	h_start(&t, targ);
	char *data = h_path(dir, "a.data"), pid[16];
	pid_arg(pid, sizeof(pid), t.pid);
	char *rec[] = {CS_EXE, "leaks", "-q", "-p", pid, "--interval", "0.5", "-d", "4",
		       "-o", data, NULL};
	int err_fd;
	pid_t r = h_spawn(rec, &err_fd);
	cr_assert(h_wait_agent(t.pid, 20000, 300), "the agent never started");
	kill(t.pid, SIGUSR1);
	char *err;
	int st = h_collect(r, err_fd, 60, &err);
	cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "leaks failed: %s", err);
	free(err);
	cr_expect(h_alive(t.pid), "the target runs on");
	uint64_t c0 = h_cpu_ns(t.pid), c1 = c0;
	for (int i = 0; i < 60 && c1 == c0; i++) {
		usleep(50 * 1000);
		c1 = h_cpu_ns(t.pid);
	}
	cr_expect_gt(c1, c0, "and keeps working (not spinning in a hook: it exits below)");
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0, "and exits normally");
	char *snap = last_snapshot(data);
	expect_site(snap, "main", "leak_fp", 3000, 30);
	free(snap);
	free(data);
}

static void require_python(void)
{
	if (access(PYTHON, X_OK))
		cr_skip_test(PYTHON " is not installed");
}

/* The largest "total_bytes" of any snapshot in a recording. */
static uint64_t max_total_bytes(const char *data, char **json)
{
	char *argv[] = {CS_EXE, "report", "--leaks", "-i", (char *)data, "--format", "json",
			"--top", "0", NULL};
	char *out;
	cr_assert_eq(h_run(argv, 60, &out, NULL), 0);
	uint64_t max = 0;
	for (const char *p = out; (p = strstr(p, "\"total_bytes\": ")); p++) {
		uint64_t v = strtoull(p + 15, NULL, 10);
		max = v > max ? v : max;
	}
	*json = out;
	return max;
}

/* Debian's python3.11 is non-PIE and takes malloc's and free's addresses. */
Test(leaks_safety, python3_launched)
{
	require_python();
	char *data = h_path(dir, "py.data");
	/* Python frees its objects as it shuts down: the periodic snapshots see them. */
	char *argv[] = {CS_EXE, "leaks", "--interval", "0.3", "-o", data, "--", PYTHON, "-c",
			"import time\n"
			"held = [bytearray(100000) for i in range(30)]\n"
			"small = [str(i) * 3 for i in range(600000)]\n"
			"time.sleep(1.5)\n"
			"print('ok', len(held))",
			NULL};
	char *out, *err;
	int st = h_run(argv, 120, &out, &err);
	cr_assert_eq(st, 0, "csampler leaks failed or hung: %s", err);
	cr_expect(strstr(out, "ok 30"), "python's output: %s", out);
	/* pymalloc's arenas come from mmap: the summary says memory grew unseen */
	cr_expect(strstr(err, "memory the agent does not see"), "%s", err);
	free(out);
	free(err);
	char *json;
	cr_expect_geq(max_total_bytes(data, &json), 30 * 100000ull, "%.3000s", json);
	cr_expect(strstr(json, "bytearray"), "python's frames are named: %.3000s", json);
	free(json);
	free(data);
}

Test(leaks_safety, python3_attached)
{
	require_python();
	struct h_proc t;
	char *targ[] = {PYTHON, "-c",
			"import signal, sys, time\n"
			"signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n"
			"print('ready', flush=True)\n"
			"held = []\n"
			"while True:\n"
			"    held.append(bytearray(3000)); time.sleep(0.005)\n",
			NULL};
	h_start(&t, targ);
	char *data = h_path(dir, "pa.data"), pid[16];
	pid_arg(pid, sizeof(pid), t.pid);
	/* loading the agent reads python's debug symbols first: a second or two, cold */
	char *rec[] = {CS_EXE, "leaks", "-p", pid, "-d", "5", "-o", data, NULL};
	char *err;
	int st = h_run(rec, 60, NULL, &err);
	cr_assert_eq(st, 0, "csampler leaks failed: %s", err);
	cr_log_info("%s", err);
	free(err);
	usleep(300 * 1000);
	cr_expect(h_alive(t.pid), "python runs on");
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0, "and exits normally");
	char *snap = last_snapshot(data);
	const char *tb = strstr(snap, "\"total_blocks\": ");
	cr_assert(tb, "%s", snap);
	cr_expect_geq(strtoull(tb + 16, NULL, 10), 50, "the held bytearrays: %.2000s", snap);
	free(snap);
	free(data);
}

/* ---- exit status, fatal signals ---- */

Test(leaks_safety, exit_status_is_the_commands)
{
	char *data = h_path(dir, "e.data");
	char *argv[] = {CS_EXE, "leaks", "-q", "-o", data, "--", EDGE, "exit", "3", NULL};
	cr_expect_eq(h_run(argv, 60, NULL, NULL), 3);
	char *snap = last_snapshot(data);
	expect_site(snap, "main", "leak_fp", 3000, 30);
	free(snap);
	free(data);
}

Test(leaks_safety, command_killed_by_sigsegv_still_gets_its_snapshot)
{
	char *data = h_path(dir, "s.data");
	char *argv[] = {CS_EXE, "leaks", "-o", data, "--", EDGE, "segv", NULL};
	char *err;
	cr_expect_eq(h_run(argv, 60, NULL, &err), 128 + SIGSEGV);
	cr_expect(strstr(err, "died of a signal"), "%s", err);
	free(err);
	char *snap = last_snapshot(data);
	expect_site(snap, "main", "leak_fp", 3000, 30);
	free(snap);
	free(data);
}

Test(leaks_safety, record_passes_the_exit_status_on_too)
{
	h_require_perf();
	char *data = h_path(dir, "r.data");
	char *argv[] = {CS_EXE, "record", "-q", "-o", data, "--", "/bin/sh", "-c", "exit 3", NULL};
	cr_expect_eq(h_run(argv, 60, NULL, NULL), 3);
	free(data);
}

/* ---- one csampler per process ---- */

Test(leaks_safety, second_concurrent_attach_is_refused)
{
	struct h_proc t;
	char *targ[] = {TARGET("cs_t_leaky"), "busy", NULL};
	h_start(&t, targ);
	char *a = h_path(dir, "first.data"), *b = h_path(dir, "second.data"), pid[16];
	pid_arg(pid, sizeof(pid), t.pid);
	char *first[] = {CS_EXE, "leaks", "-q", "-p", pid, "--interval", "0.5", "-d", "6",
			 "-o", a, NULL};
	int err_fd;
	pid_t r = h_spawn(first, &err_fd);
	cr_assert(h_wait_agent(t.pid, 20000, 300), "the first csampler's agent never started");
	char *second[] = {CS_EXE, "leaks", "-q", "-p", pid, "-d", "1", "-o", b, NULL};
	char *err2;
	cr_expect_eq(h_run(second, 60, NULL, &err2), 1, "the second csampler was not refused");
	cr_expect(strstr(err2, "another csampler is already tracking allocations in PID"), "%s",
		  err2);
	cr_expect_eq(count(err2, "\n"), 1, "one clear line: %s", err2);
	free(err2);
	kill(t.pid, SIGUSR1); /* leak, now that both have had their go */
	char *err;
	int st = h_collect(r, err_fd, 60, &err);
	cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "first failed: %s", err);
	free(err);
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0);
	/* the first one's figures are whole and exact */
	char *argv[] = {CS_EXE, "report", "--leaks", "-i", a, "--format", "json", "--top", "0",
			"--min-age=0.3", NULL};
	char *out;
	cr_assert_eq(h_run(argv, 60, &out, NULL), 0);
	char *snap = out;
	for (char *p = out; (p = strstr(p, "{\"index\": ")); p++)
		snap = p;
	cr_expect(strstr(snap, "\"exact\": true"), "%s", snap);
	expect_site(snap, "leak_all", "leak_malloc", 6400, 100);
	expect_site(snap, "leak_all", "leak_calloc", 40960, 10);
	free(out);
	free(a);
	free(b);
}

/* ---- launch mode: names, own allocators ---- */

Test(leaks_safety, library_dlopened_just_before_exit_is_named)
{
	char *data = h_path(dir, "d.data");
	char *argv[] = {CS_EXE, "leaks", "-q", "-o", data, "--", EDGE, "dlopen", PLUGIN, NULL};
	cr_assert_eq(h_run(argv, 60, NULL, NULL), 0);
	char *snap = last_snapshot(data);
	expect_site(snap, "main", "plugin_leak", 7 * 333, 7);
	free(snap);
	free(data);
}

Test(leaks_safety, program_with_its_own_malloc_is_flagged)
{
	char *data = h_path(dir, "o.data");
	char *argv[] = {CS_EXE, "leaks", "-o", data, "--", TARGET("cs_t_leak_ownalloc"), NULL};
	char *err;
	cr_assert_eq(h_run(argv, 60, NULL, &err), 0);
	cr_expect(strstr(err, "has its own malloc"), "%s", err);
	cr_expect(!strstr(err, "(exact)"), "%s", err);
	free(err);
	char *snap = last_snapshot(data);
	cr_expect(strstr(snap, "\"exact\": false"), "%s", snap);
	free(snap);
	free(data);
}
