/* End-to-end tests of `csampler record --wall`: off-CPU time of threads that sleep,
 * read a pipe, wait for a mutex or are preempted, checked against what the target
 * measured itself with CLOCK_MONOTONIC and its threads' CPU clocks. */
#include <criterion/criterion.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static char *dir;

static void setup(void)
{
	h_require_perf();
	dir = h_tmpdir();
}

static void teardown(void)
{
	if (dir)
		h_tmpdir_free(dir);
	dir = NULL;
}

TestSuite(wall, .init = setup, .fini = teardown, .timeout = 180);

/* Off-CPU stacks need the context-switch event to sample kernel mode. */
static int stacks_allowed(void)
{
	if (geteuid() == 0)
		return 1;
	char *s = h_read_file("/proc/sys/kernel/perf_event_paranoid", NULL);
	int v = s ? atoi(s) : 2;
	free(s);
	return v <= 1;
}

static char *record_wall(pid_t pid, const char *hz, const char *secs, char **err)
{
	char *data = h_path(dir, "wall.data");
	char pidbuf[16];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	char *argv[] = {CS_EXE, "record", "--wall", "-p", pidbuf, "-F", (char *)hz,
			"-d", (char *)secs, "-o", data, NULL};
	char *e;
	int st = h_run(argv, 90, NULL, &e);
	cr_assert_eq(st, 0, "record --wall failed: %s", e);
	if (err)
		*err = e;
	else
		free(e);
	return data;
}

/* ---- what the target says ---- */

struct truth {
	char name[32];
	int tid;
	double wait_s, life_s, cpu_s;
};

/* Stop the target and read its "truth" lines. */
static size_t stop_and_read(struct h_proc *t, struct truth *out, size_t cap)
{
	char buf[4096];
	size_t n = 0;
	ssize_t r;
	kill(t->pid, SIGTERM);
	/* until it exits (end of file), at most 5 s */
	struct pollfd pf = {t->out_fd, POLLIN, 0};
	while (n < sizeof(buf) - 1 && poll(&pf, 1, 5000) > 0 &&
	       (r = read(t->out_fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	cr_assert_eq(h_stop(t, SIGTERM, 5000), 0, "the target did not end cleanly");
	size_t k = 0;
	for (char *line = strtok(buf, "\n"); line && k < cap; line = strtok(NULL, "\n")) {
		unsigned long long w, l, c;
		if (sscanf(line, "truth %31s %d %llu %llu %llu", out[k].name, &out[k].tid, &w, &l,
			   &c) == 5) {
			out[k].wait_s = (double)w / 1e9;
			out[k].life_s = (double)l / 1e9;
			out[k].cpu_s = (double)c / 1e9;
			k++;
		}
	}
	return k;
}

static const struct truth *truth_of(const struct truth *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].name, name))
			return &t[i];
	cr_assert_fail("the target reported no thread '%s'", name);
	return NULL;
}

/* ---- what csampler says ---- */

struct trow {
	char name[32];
	int tid;
	double cpu, blocked, preempted, wall, existed; /* ms */
};

static size_t thread_times(const char *data, struct trow *rows, size_t cap)
{
	char *argv[] = {CS_EXE, "report", "-i", (char *)data, "--by", "thread", "--format", "csv",
			"--top", "0", NULL};
	char *out, *err;
	cr_assert_eq(h_run(argv, 60, &out, &err), 0, "report --by thread failed: %s", err);
	size_t k = 0;
	char *save;
	for (char *line = strtok_r(out, "\n", &save); line && k < cap;
	     line = strtok_r(NULL, "\n", &save)) {
		struct trow *r = &rows[k];
		char *comma = strchr(line, ',');
		if (!comma || !strncmp(line, "thread,", 7))
			continue;
		snprintf(r->name, sizeof(r->name), "%.*s", (int)(comma - line), line);
		int pid;
		if (sscanf(comma + 1, "%d,%d,%lf,%lf,%lf,%lf,%lf", &r->tid, &pid, &r->cpu,
			   &r->blocked, &r->preempted, &r->wall, &r->existed) == 7)
			k++;
	}
	free(out);
	free(err);
	return k;
}

static const struct trow *row_of(const struct trow *r, size_t n, int tid)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].tid == tid)
			return &r[i];
	cr_assert_fail("report --by thread has no thread %d", tid);
	return NULL;
}

/* Folded stacks of a selection of time, per thread. */
static void fold_time(const char *data, const char *time, struct h_folded *f)
{
	char *argv[] = {CS_EXE, "fold", "-i", (char *)data, "--time", (char *)time,
			"--per-thread", NULL};
	char *out, *err;
	cr_assert_eq(h_run(argv, 60, &out, &err), 0, "fold --time %s failed: %s", time, err);
	memset(f, 0, sizeof(*f));
	size_t cap = 0;
	char *save;
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strrchr(line, ' ');
		cr_assert(sp, "bad folded line: %s", line);
		*sp = 0;
		if (f->n == cap) {
			cap = cap ? cap * 2 : 64;
			f->stack = realloc(f->stack, cap * sizeof(char *));
			f->count = realloc(f->count, cap * sizeof(uint64_t));
		}
		f->stack[f->n] = strdup(line);
		f->count[f->n] = strtoull(sp + 1, NULL, 10);
		f->total += f->count[f->n];
		f->n++;
	}
	free(out);
	free(err);
}

/* Microseconds of thread NAME-TID whose stack holds frame fn (and, if not NULL, a
 * frame containing sub). */
static uint64_t thread_us(const struct h_folded *f, const char *name, int tid, const char *fn,
			  const char *sub)
{
	char root[64], seq[128];
	snprintf(root, sizeof(root), "%s-%d;", name, tid);
	snprintf(seq, sizeof(seq), ";%s;", fn);
	uint64_t us = 0;
	for (size_t i = 0; i < f->n; i++) {
		const char *s = f->stack[i];
		if (strncmp(s, root, strlen(root)) || !strstr(s, seq))
			continue;
		if (sub && !strstr(s, sub))
			continue;
		us += f->count[i];
	}
	return us;
}

Test(wall, waits_match_the_targets_own_clocks)
{
	int stacks = stacks_allowed();
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_waiter"), "mix", NULL};
	h_start(&t, argv);
	usleep(300000);
	char *data = record_wall(t.pid, "499", "3", NULL);
	struct truth tr[8];
	size_t ntr = stop_and_read(&t, tr, 8);
	cr_assert_geq(ntr, 4, "the target reported %zu threads", ntr);

	struct trow rows[32];
	size_t nrows = thread_times(data, rows, 32);
	cr_assert_geq(nrows, 7, "report --by thread listed %zu threads", nrows);
	/* every thread: CPU + blocked + preempted = the time it existed, within 2% */
	for (size_t i = 0; i < nrows; i++) {
		const struct trow *r = &rows[i];
		double sum = r->cpu + r->blocked + r->preempted;
		cr_assert(r->existed > 2500 && r->existed < 4000, "%s-%d existed %.1f ms", r->name,
			  r->tid, r->existed);
		cr_assert(sum > r->existed * 0.98 && sum < r->existed * 1.02,
			  "%s-%d: cpu %.1f + blocked %.1f + preempted %.1f = %.1f ms, existed %.1f",
			  r->name, r->tid, r->cpu, r->blocked, r->preempted, sum, r->existed);
	}

	struct h_folded off;
	fold_time(data, "off", &off);
	/* each waiting function's share of its thread's time, as the target measured it */
	static const struct {
		const char *thread, *fn, *kernel;
	} waits[] = {
		{"sleeper", "sleep_wait", "do_nanosleep_[k]"},
		{"reader", "pipe_wait", "pipe_read"},
		{"locker", "lock_wait", "futex_wait"},
	};
	for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
		const struct truth *w = truth_of(tr, ntr, waits[i].thread);
		const struct trow *r = row_of(rows, nrows, w->tid);
		double want = w->wait_s / w->life_s;
		if (!stacks) {
			/* no stacks: the thread's off-CPU time alone */
			double got = (r->blocked + r->preempted) / r->existed;
			cr_assert(got > want - 0.05, "%s: off-CPU %.3f of its time, measured %.3f",
				  w->name, got, want);
			continue;
		}
		uint64_t us = thread_us(&off, w->name, w->tid, waits[i].fn, "[off-CPU: blocked]");
		double got = (double)us / 1000.0 / r->existed;
		if (got < want - 0.05 || got > want + 0.05)
			h_folded_dump(&off, 40);
		cr_assert(got > want - 0.05 && got < want + 0.05,
			  "%s: blocked in %s %.3f of its time, the target measured %.3f", w->name,
			  waits[i].fn, got, want);
		/* the kernel's blocking path above the marker */
		cr_assert_gt(thread_us(&off, w->name, w->tid, waits[i].fn, waits[i].kernel), us / 2,
			     "%s: no %s frames over its wait", w->name, waits[i].kernel);
	}
	/* the CPU-bound thread: its CPU share as its CPU clock says */
	const struct truth *b = truth_of(tr, ntr, "burner");
	const struct trow *br = row_of(rows, nrows, b->tid);
	double want = b->cpu_s / b->life_s, got = br->cpu / br->existed;
	cr_assert(got > want - 0.1 && got < want + 0.1,
		  "burner: CPU %.3f of its time in the recording, %.3f by its CPU clock", got, want);
	cr_assert_lt(br->blocked, br->existed * 0.05, "burner blocked %.1f ms", br->blocked);

	/* CPU views of the same recording: the burner's samples, no off-CPU marker */
	struct h_folded cpu;
	fold_time(data, "cpu", &cpu);
	cr_assert_gt(thread_us(&cpu, "burner", b->tid, "burn_loop", NULL), 0);
	cr_assert_eq(h_with_frame(&cpu, "[off-CPU: blocked]"), 0);
	h_folded_free(&cpu);

	/* --tid keeps one thread */
	const struct truth *sl = truth_of(tr, ntr, "sleeper");
	char tid[32];
	snprintf(tid, sizeof(tid), "--tid=%d", sl->tid);
	char *targv[] = {CS_EXE, "fold", "-i", data, tid, "--per-thread", NULL};
	char *out;
	cr_assert_eq(h_run(targv, 60, &out, NULL), 0);
	char prefix[48];
	snprintf(prefix, sizeof(prefix), "sleeper-%d;", sl->tid);
	cr_assert(*out && !strncmp(out, prefix, strlen(prefix)), "fold --tid: %.200s", out);
	for (char *nl = strchr(out, '\n'); nl && nl[1]; nl = strchr(nl + 1, '\n'))
		cr_assert(!strncmp(nl + 1, prefix, strlen(prefix)), "another thread: %.200s", nl + 1);
	free(out);

	/* the flamegraph's tooltips split a frame's time into CPU and off-CPU */
	char *svg = h_path(dir, "wall.svg");
	char *fargv[] = {CS_EXE, "flame", "-i", data, svg, NULL};
	cr_assert_eq(h_run(fargv, 60, NULL, NULL), 0);
	char *text = h_read_file(svg, NULL);
	cr_assert(text && strstr(text, "<title>sleep_wait (") && strstr(text, "; CPU ") &&
		  strstr(text, "off-CPU"), "no CPU / off-CPU split in the flamegraph");
	free(text);
	free(svg);
	h_folded_free(&off);
	free(data);
}

Test(wall, two_threads_on_one_cpu_are_preempted_half_the_time)
{
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_waiter"), "pinned", NULL};
	h_start(&t, argv);
	usleep(200000);
	char *data = record_wall(t.pid, "199", "2", NULL);
	struct truth tr[4];
	size_t ntr = stop_and_read(&t, tr, 4);
	cr_assert_eq(ntr, 2);
	struct trow rows[8];
	size_t nrows = thread_times(data, rows, 8);
	double cpu = 0;
	for (size_t i = 0; i < 2; i++) {
		const struct trow *r = row_of(rows, nrows, tr[i].tid);
		double pre = r->preempted / r->existed;
		/* half, or more when other programs also use that CPU */
		cr_assert(pre > 0.35 && pre < 0.97, "%s: preempted %.3f of its time", r->name, pre);
		cr_assert_lt(r->blocked, r->existed * 0.05, "%s blocked %.1f ms", r->name, r->blocked);
		cpu += r->cpu / r->existed;
	}
	/* they shared one CPU */
	cr_assert_lt(cpu, 1.1, "the two threads ran %.2f CPUs' worth", cpu);
	free(data);
}

/* voluntary + involuntary context switches of a process's threads so far */
static uint64_t switches(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	uint64_t n = 0;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "cat /proc/%d/task/*/status", (int)pid);
	FILE *f = popen(cmd, "r");
	cr_assert(f);
	char line[256];
	unsigned long long v;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1 ||
		    sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
			n += v;
	pclose(f);
	return n;
}

static double json_num(const char *json, const char *key)
{
	char k[64];
	snprintf(k, sizeof(k), "\"%s\": ", key);
	const char *p = strstr(json, k);
	cr_assert(p, "no %s in the report", key);
	return strtod(p + strlen(k), NULL);
}

Test(wall, fast_switching_loses_nothing_silently)
{
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_waiter"), "pingpong", NULL};
	h_start(&t, argv);
	usleep(200000);
	uint64_t s0 = switches(t.pid), t0 = (uint64_t)time(NULL);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	char *err;
	char *data = record_wall(t.pid, "99", "2", &err);
	clock_gettime(CLOCK_MONOTONIC, &b);
	uint64_t s1 = switches(t.pid);
	(void)t0;
	double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	double rate = (double)(s1 - s0) / secs;
	struct truth tr[4];
	stop_and_read(&t, tr, 4);

	char *rargv[] = {CS_EXE, "report", "-i", data, "--format", "json", NULL};
	char *out, *rerr;
	cr_assert_eq(h_run(rargv, 60, &out, &rerr), 0, "report failed: %s", rerr);
	double dur = json_num(out, "duration_s");
	double kept = json_num(out, "offcpu_intervals");
	double lost = json_num(out, "lost");
	double stackless = json_num(out, "offcpu_stack_lost");
	double endless = json_num(out, "offcpu_end_lost");
	cr_log_info("pingpong: %.0f switches/s; kept %.0f intervals in %.2f s, %.0f records lost, "
		    "%.0f without stack, %.0f without end",
		    rate, kept, dur, lost, stackless, endless);
	if (rate < 5000)
		cr_skip_test("the target switched only %.0f times a second here", rate);
	if (kept / dur < 5000)
		cr_skip_test("csampler kept only %.0f switches a second here", kept / dur);
	/* a thread whose times do not add up lost some: then record and report say so */
	struct trow rows[8];
	size_t nrows = thread_times(data, rows, 8);
	int short_sum = 0;
	for (size_t i = 0; i < nrows; i++) {
		double sum = rows[i].cpu + rows[i].blocked + rows[i].preempted;
		short_sum |= sum < rows[i].existed * 0.98;
	}
	if (short_sum)
		cr_assert_gt(lost + endless, 0, "times are missing and no loss was counted");
	if (lost > 0 || stackless > 0 || endless > 0) {
		cr_assert(strstr(err, "lost"), "records were lost and record said nothing: %s", err);
		char *targv[] = {CS_EXE, "report", "-i", data, NULL};
		char *text;
		cr_assert_eq(h_run(targv, 60, &text, NULL), 0);
		cr_assert(strstr(text, " lost"), "the report does not say what was lost: %s", text);
		free(text);
	}
	free(out);
	free(rerr);
	free(err);
	free(data);
}

Test(wall, time_of_a_cpu_recording_is_cpu_only)
{
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_waiter"), "pinned", NULL};
	h_start(&t, argv);
	char *data = h_path(dir, "cpu.data");
	char pidbuf[16];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)t.pid);
	char *rec[] = {CS_EXE, "record", "-q", "-p", pidbuf, "-d", "0.5", "-o", data, NULL};
	cr_assert_eq(h_run(rec, 60, NULL, NULL), 0);
	h_stop(&t, SIGTERM, 5000);
	char *fold[] = {CS_EXE, "fold", "-i", data, "--time", "off", NULL};
	char *err;
	cr_assert_eq(h_run(fold, 60, NULL, &err), 1);
	cr_assert(strstr(err, "--wall") && !strchr(strchr(err, '\n') + 1, '\n'),
		  "not one line naming --wall: %s", err);
	free(err);
	char *ok[] = {CS_EXE, "report", "-i", data, "--time", "cpu", "--exclude-idle", NULL};
	cr_assert_eq(h_run(ok, 60, NULL, NULL), 0);
	free(data);
}

/* The time kinds reach the other views: export writes the selected time (speedscope
 * in nanoseconds: the microseconds fold gives, times 1000), and diff compares it. */
Test(wall, export_and_diff_show_the_selected_time)
{
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_waiter"), "mix", NULL};
	h_start(&t, argv);
	usleep(200000);
	char *data = record_wall(t.pid, "199", "1.5", NULL);
	struct truth tr[8];
	stop_and_read(&t, tr, 8);

	struct h_folded f;
	fold_time(data, "off", &f);
	cr_assert_gt(f.total, 500000, "off-CPU microseconds: %llu", (unsigned long long)f.total);

	char *json = h_path(dir, "off.speedscope.json");
	char *ex[] = {CS_EXE, "export", "-f", "speedscope", "--time", "off", "-i", data, "-o",
		      json, NULL};
	char *err;
	cr_assert_eq(h_run(ex, 60, NULL, &err), 0, "export failed: %s", err);
	free(err);
	char *text = h_read_file(json, NULL);
	cr_assert(text && strstr(text, "\"unit\":\"nanoseconds\""), "%.300s", text ? text : "");
	/* the profiles' endValues add up to the off-CPU time */
	double sum = 0;
	for (const char *p = text; (p = strstr(p, "\"endValue\":")); p++)
		sum += strtod(p + strlen("\"endValue\":"), NULL);
	cr_expect(sum > (double)f.total * 1000 * 0.999 && sum < (double)f.total * 1000 * 1.001,
		  "speedscope %.0f ns, fold %llu us", sum, (unsigned long long)f.total);
	free(text);

	char *dout;
	char *df[] = {CS_EXE, "diff", "--time", "off", data, data, NULL};
	cr_assert_eq(h_run(df, 60, &dout, &err), 0, "diff failed: %s", err);
	cr_expect(strstr(dout, "off-CPU self time"), "%.400s", dout);
	free(dout);
	free(err);
	/* the JSON names the time it compared */
	char *dj[] = {CS_EXE, "diff", "--time", "off", "--format", "json", data, data, NULL};
	cr_assert_eq(h_run(dj, 60, &dout, &err), 0, "diff --format json failed: %s", err);
	cr_expect(strstr(dout, "\"time\": \"off\""), "%.400s", dout);
	free(dout);
	free(err);
	/* a CPU selection of the same recording is still samples */
	char *dc[] = {CS_EXE, "export", "-f", "callgrind", "--time", "cpu", "-i", data, "-o",
		      h_path(dir, "cpu.callgrind"), NULL};
	cr_expect_eq(h_run(dc, 60, NULL, NULL), 0);
	h_folded_free(&f);
	free(json);
	free(data);
}
