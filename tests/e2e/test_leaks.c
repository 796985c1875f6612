/* End-to-end tests of `csampler leaks` and `record --leaks`: targets that leak known
 * amounts from known stacks while churning correct allocations, launched and attached;
 * checked through `csampler report --leaks --format json`. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

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

TestSuite(leaks, .init = setup, .fini = teardown, .timeout = 120);

/* The JSON report of a recording. */
static char *leak_json(const char *data, const char *extra)
{
	char *argv[] = {CS_EXE, "report", "--leaks", "-i", (char *)data, "--format", "json",
			"--top", "0", (char *)extra, NULL};
	char *out, *err;
	int st = h_run(argv, 60, &out, &err);
	cr_assert_eq(st, 0, "report --leaks failed: %s", err);
	free(err);
	return out;
}

/* The text of the last snapshot object in the JSON report (points into json). */
static char *last_snapshot(char *json)
{
	char *s = NULL, *p = json;
	while ((p = strstr(p, "{\"index\": "))) {
		s = p;
		p++;
	}
	cr_assert(s, "no snapshot in %s", json);
	char *end = strstr(s, "]}");
	cr_assert(end);
	end[2] = 0;
	return s;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* Expect exactly one site whose stack ends with leaf (called from `caller`) holding
 * bytes in blocks. */
static void expect_site(const char *snap, const char *caller, const char *leaf,
			unsigned long long bytes, unsigned long long blocks)
{
	char pat[512];
	snprintf(pat, sizeof(pat), "\"%s\", \"%s\"], \"bytes\": %llu, \"blocks\": %llu,", caller,
		 leaf, bytes, blocks);
	cr_expect_eq(count(snap, pat), 1, "want %s in: %s", pat, snap);
}

static char *run_leaks(char **argv)
{
	char *err;
	int st = h_run(argv, 90, NULL, &err);
	cr_assert_eq(st, 0, "csampler leaks failed: %s", err);
	free(err);
	return NULL;
}

Test(leaks, launched_exact_sites_amid_churn)
{
	char *data = h_path(dir, "l.data");
	char *argv[] = {CS_EXE, "leaks", "-q", "-o", data, "--", TARGET("cs_t_leaky"), "basic", NULL};
	run_leaks(argv);
	char *json = leak_json(data, NULL);
	char *snap = last_snapshot(json);
	cr_expect(strstr(snap, "\"exact\": true"), "%s", snap);
	/* exactly the three leaking stacks, nothing else */
	cr_expect_eq(count(snap, "{\"frames\": "), 3, "%s", snap);
	expect_site(snap, "leak_all", "leak_malloc", 6400, 100);
	expect_site(snap, "leak_all", "leak_calloc", 40960, 10);
	expect_site(snap, "leak_all", "leak_realloc", 65536, 1);
	/* complete stacks without frame pointers, through libc, from _start */
	cr_expect_eq(count(snap, "{\"frames\": [\"_start\", \"__libc_start_main_impl\", "
				 "\"__libc_start_call_main\", \"main\", \"leak_all\", "),
		     3, "%s", snap);
	free(json);
	free(data);
}

Test(leaks, attached_while_busy_allocating)
{
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_leaky"), "busy", NULL};
	h_start(&t, argv);
	char *data = h_path(dir, "a.data");
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	char *rec[] = {CS_EXE, "leaks", "-p", pid, "--interval", "0.5", "-d", "5", "-o", data, NULL};
	int err_fd;
	pid_t r = h_spawn(rec, &err_fd);
	/* loading takes long on a busy machine: wait until the agent is there */
	cr_assert(h_wait_agent(t.pid, 20000, 300), "the agent never started");
	kill(t.pid, SIGUSR1); /* now: free the 50 blocks from before the attach, and leak */
	char *err;
	int st = h_collect(r, err_fd, 60, &err);
	cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "leaks failed: %s", err);
	/* the summary says how the target was stopped (a stop inside malloc is refused
	 * and retried, so the count may exceed one) */
	cr_expect(strstr(err, "agent loaded in") && strstr(err, "was stopped"), "%s", err);
	free(err);
	/* After detach the target runs on, and exits normally when asked. */
	usleep(200 * 1000);
	cr_expect(h_alive(t.pid));
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0);

	/* A snapshot of a running target may catch a churn block between its malloc and
	 * its free: it is outstanding at that instant. Old blocks are what leaks are. */
	char *json = leak_json(data, "--min-age=0.5");
	char *snap = last_snapshot(json);
	cr_expect_eq(count(snap, "{\"frames\": "), 3, "%s", snap);
	expect_site(snap, "leak_all", "leak_malloc", 6400, 100);
	expect_site(snap, "leak_all", "leak_calloc", 40960, 10);
	expect_site(snap, "leak_all", "leak_realloc", 65536, 1);
	/* the 50 blocks from before the attach were freed: unknown, ignored, counted (with
	 * whatever churn was allocated just before the hooks went in) */
	const char *uf = strstr(snap, "\"untracked_frees\": ");
	cr_assert(uf, "%s", snap);
	cr_expect_geq(strtoull(uf + 19, NULL, 10), 50, "%s", snap);
	cr_expect_geq(count(json, "{\"index\": "), 4, "snapshots every 0.5 s");
	free(json);
	free(data);
}

Test(leaks, growing_leak_is_a_suspect)
{
	char *data = h_path(dir, "g.data");
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_leaky"), "grow", NULL};
	h_start(&t, argv);
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	char *rec[] = {CS_EXE, "leaks", "-q", "-p", pid, "--interval", "0.4", "-d", "2.2",
		       "-o", data, NULL};
	run_leaks(rec);
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0);
	char *json = leak_json(data, NULL);
	char *sus = strstr(json, "\"suspects\": [");
	cr_assert(sus, "%s", json);
	cr_expect(strstr(sus, "\"main\", \"grow_leak\"], \"first_bytes\": "), "%s", sus);
	/* the text report names it too */
	char *tr[] = {CS_EXE, "report", "--leaks", "-i", data, NULL};
	char *out;
	cr_assert_eq(h_run(tr, 30, &out, NULL), 0);
	char *ts = strstr(out, "# growth suspects");
	cr_expect(ts && strstr(ts, "grow_leak"), "%s", out);
	free(out);
	free(json);
	free(data);
}

Test(leaks, aligned_allocators)
{
	char *data = h_path(dir, "al.data");
	char *argv[] = {CS_EXE, "leaks", "-q", "-o", data, "--", TARGET("cs_t_leaky"), "aligned", NULL};
	run_leaks(argv);
	char *json = leak_json(data, NULL);
	char *snap = last_snapshot(json);
	/* one site per allocation call: posix_memalign, aligned_alloc, memalign, valloc */
	cr_expect_eq(count(snap, "{\"frames\": "), 4, "%s", snap);
	expect_site(snap, "main", "leak_aligned", 600, 3);
	expect_site(snap, "main", "leak_aligned", 1024, 4);
	expect_site(snap, "main", "leak_aligned", 480, 5);
	expect_site(snap, "main", "leak_aligned", 2000, 2);
	free(json);
	free(data);
}

Test(leaks, cxx_new_and_delete)
{
	char *data = h_path(dir, "cxx.data");
	char *argv[] = {CS_EXE, "leaks", "-q", "-o", data, "--", TARGET("cs_t_leaky_cxx"), NULL};
	run_leaks(argv);
	char *json = leak_json(data, NULL);
	char *snap = last_snapshot(json);
	cr_expect_eq(count(snap, "{\"frames\": "), 4, "%s", snap);
	expect_site(snap, "main", "leak_new()", 960, 20);
	expect_site(snap, "main", "leak_new_array()", 5000, 5);
	expect_site(snap, "main", "leak_new_aligned()", 384, 3);
	expect_site(snap, "main", "leak_new_nothrow()", 192, 4);
	free(json);
	free(data);
}

Test(leaks, threads_and_a_late_thread)
{
	char *data = h_path(dir, "t.data");
	char *argv[] = {CS_EXE, "leaks", "-q", "-o", data, "--", TARGET("cs_t_leaky"), "threads", NULL};
	run_leaks(argv);
	char *json = leak_json(data, NULL);
	char *snap = last_snapshot(json);
	cr_expect_eq(count(snap, "{\"frames\": "), 2, "%s", snap);
	expect_site(snap, "worker", "thread_leak", 7680, 30);
	expect_site(snap, "late_worker", "late_leak", 2560, 5);
	cr_expect_eq(count(snap, "\"start_thread\", "), 2, "thread stacks are complete: %s", snap);
	free(json);
	free(data);
}

Test(leaks, sigkill_of_csampler_leaves_target_running)
{
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_leaky"), "busy", NULL};
	h_start(&t, argv);
	char *data = h_path(dir, "k.data");
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	char *rec[] = {CS_EXE, "leaks", "-q", "-p", pid, "--interval", "0.2", "-o", data, NULL};
	int err_fd;
	pid_t r = h_spawn(rec, &err_fd);
	usleep(1200 * 1000);
	kill(r, SIGKILL);
	h_collect(r, err_fd, 10, NULL);
	kill(t.pid, SIGUSR1); /* it allocates and frees on, with the agent now inert */
	usleep(500 * 1000);
	cr_expect(h_alive(t.pid), "target survived csampler's death");
	/* CPU time in /proc moves in 10 ms ticks and this target naps: give it time. */
	uint64_t c0 = h_cpu_ns(t.pid), c1 = c0;
	for (int i = 0; i < 60 && c1 == c0; i++) {
		usleep(50 * 1000);
		c1 = h_cpu_ns(t.pid);
	}
	cr_expect_gt(c1, c0, "and keeps working");
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0, "and exits normally");
	struct stat sb;
	cr_expect_neq(stat(data, &sb), 0, "no recording that looks complete");
	free(data);
}

Test(leaks, record_cpu_and_leaks_together)
{
	h_require_perf();
	char *data = h_path(dir, "both.data");
	char *argv[] = {CS_EXE, "record", "-q", "--leaks", "-F", "499", "-o", data, "--",
			TARGET("cs_t_leaky"), "basic", NULL};
	run_leaks(argv);
	char *json = leak_json(data, NULL);
	char *snap = last_snapshot(json);
	expect_site(snap, "leak_all", "leak_malloc", 6400, 100);
	free(json);
	/* and the CPU samples of the same run */
	struct h_folded f;
	h_fold(data, NULL, &f);
	cr_expect_gt(h_with_frame(&f, "churn"), 0, "CPU samples in churn");
	h_folded_free(&f);
	/* flame --leaks draws the outstanding bytes */
	char *svg = h_path(dir, "leaks.svg");
	char *fl[] = {CS_EXE, "flame", "--leaks", "-i", data, svg, NULL};
	cr_expect_eq(h_run(fl, 30, NULL, NULL), 0);
	size_t n;
	char *text = h_read_file(svg, &n);
	cr_expect(text && strstr(text, "leak_realloc"), "the SVG names the leaking function");
	free(text);
	free(svg);
	free(data);
}

Test(leaks, bad_requests)
{
	/* a recording without leak snapshots */
	h_require_perf();
	char *data = h_path(dir, "cpu.data");
	char *argv[] = {CS_EXE, "record", "-q", "-o", data, "--", TARGET("cs_t_cpu3"), "0.3", NULL};
	cr_assert_eq(h_run(argv, 60, NULL, NULL), 0);
	char *r1[] = {CS_EXE, "report", "--leaks", "-i", data, NULL};
	char *err;
	cr_expect_eq(h_run(r1, 30, NULL, &err), 1);
	cr_expect(strstr(err, "no leak snapshots"), "%s", err);
	free(err);
	char *r2[] = {CS_EXE, "leaks", "--sample-bytes", "0", "-p", "1", NULL};
	cr_expect_eq(h_run(r2, 30, NULL, &err), 2);
	cr_expect(strstr(err, "--sample-bytes"), "%s", err);
	free(err);
	free(data);
}

/* report --leaks: JSON lists every site unless --top says otherwise, and says how many
 * it left out; text lists 10 and says how many more there are. */
Test(leaks, report_lists_every_site_or_says_what_it_left_out)
{
	char *data = h_path(dir, "many.data");
	char *argv[] = {CS_EXE, "leaks", "-q", "-o", data, "--", TARGET("cs_t_leak_edge"), "many",
			NULL};
	run_leaks(argv);
	char *json = leak_json(data, NULL); /* --top 0 */
	cr_expect_eq(count(json, "{\"frames\": "), 25, "%s", json);
	free(json);
	char *r1[] = {CS_EXE, "report", "--leaks", "-i", data, "--format", "json", NULL};
	char *out;
	cr_assert_eq(h_run(r1, 30, &out, NULL), 0);
	cr_expect_eq(count(out, "{\"frames\": "), 25, "JSON has every site by default: %s", out);
	cr_expect(!strstr(out, "sites_left_out"), "%s", out);
	free(out);
	char *r2[] = {CS_EXE, "report", "--leaks", "-i", data, "--format", "json", "--top", "5",
		      NULL};
	cr_assert_eq(h_run(r2, 30, &out, NULL), 0);
	cr_expect_eq(count(out, "{\"frames\": "), 5, "%s", out);
	cr_expect(strstr(out, "\"sites_left_out\": 20"), "%s", out);
	free(out);
	char *r3[] = {CS_EXE, "report", "--leaks", "-i", data, NULL};
	cr_assert_eq(h_run(r3, 30, &out, NULL), 0);
	cr_expect(strstr(out, "# ... 15 more stacks"), "%s", out);
	free(out);
	free(data);
}
