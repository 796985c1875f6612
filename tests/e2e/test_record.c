/* End-to-end tests of `csampler record`: real targets built by the suite, attached by
 * PID while they run (or launched), checked through `csampler fold` / `report`. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "util/util.h"

/* Built a second time as test_record_noperf: every csampler then runs under a seccomp
 * filter that refuses perf_event_open (tests/helpers/noperf.c), so recording goes
 * through the ptrace fallback, at its 250 Hz cap (AT_RATE scales sample floors). */
#ifdef CS_TEST_NOPERF
#undef CS_EXE
#define CS_EXE CS_NOPERF_EXE
/* A floor of n samples at hz, under the fallback's 250 Hz cap. */
#define AT_RATE(n, hz) ((uint64_t)(n) * 250 / (hz))
#else
#define AT_RATE(n, hz) ((uint64_t)(n))
#endif

static char *dir;

static void setup(void)
{
#ifdef CS_TEST_NOPERF
	h_require_ptrace();
#else
	h_require_perf();
#endif
	dir = h_tmpdir();
}

static void teardown(void)
{
	if (dir)
		h_tmpdir_free(dir);
	dir = NULL;
}

TestSuite(record, .init = setup, .fini = teardown, .timeout = 120);

/* Record pid for secs seconds at hz; returns the recording's path. */
static char *record_pid(pid_t pid, int hz, const char *secs, const char *extra1,
			const char *extra2)
{
	char *data = h_path(dir, "rec.data");
	char pidbuf[16], hzbuf[16];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	snprintf(hzbuf, sizeof(hzbuf), "%d", hz);
	char *argv[] = {CS_EXE, "record", "-q", "-p", pidbuf, "-F", hzbuf, "-d", (char *)secs,
			"-o", data, (char *)extra1, (char *)extra2, NULL};
	char *err;
	int st = h_run(argv, 60, NULL, &err);
	cr_assert_eq(st, 0, "record failed: %s", err);
	free(err);
	return data;
}

static double share(uint64_t part, uint64_t total)
{
	return total ? (double)part / (double)total : 0;
}

Test(record, cpu_split_omit_frame_pointer)
{
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_cpu3"), NULL};
	h_start(&t, argv);
	char *data = record_pid(t.pid, 999, "2", NULL, NULL);
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0, "target must exit normally");

	struct h_folded f;
	h_fold(data, NULL, &f);
#ifdef CS_TEST_NOPERF
	/* The fallback caps 999 Hz at 250 Hz, and a sample taken late stands for several
	 * periods (its weight): fewer distinct samples, so wider proportions. */
	const uint64_t min_samples = 100;
	const int tolerance = 120;
#else
	const uint64_t min_samples = 200;
	const int tolerance = 70;
#endif
	cr_assert_gt(f.total, min_samples, "too few samples: %llu", (unsigned long long)f.total);
	/* Every stack shows the full chain from the program's entry through main. */
	uint64_t rooted = h_with_prefix(&f, "_start;");
	uint64_t with_main = h_with_frame(&f, "main");
	cr_expect_geq(share(rooted, f.total), 0.99, "stacks from _start: %.3f", share(rooted, f.total));
	cr_expect_geq(share(with_main, f.total), 0.99, "stacks with main: %.3f",
		      share(with_main, f.total));
	uint64_t a = h_with_seq(&f, "main;work_a;burn_a");
	uint64_t b = h_with_seq(&f, "main;work_b;burn_b");
	uint64_t c = h_with_seq(&f, "main;work_c;burn_c");
	double abc = (double)(a + b + c);
	cr_expect_geq(share(a + b + c, f.total), 0.95, "samples in work_*: %.3f",
		      share(a + b + c, f.total));
	cr_expect(abc > 0);
	/* Proportions are only owed when no sample was lost (a starved reader on an
	 * overloaded machine loses a burst of samples from whatever ran then). */
	char *rep[] = {CS_EXE, "report", "-i", data, "--format", "json", "--top", "1", NULL};
	char *json;
	cr_assert_eq(h_run(rep, 30, &json, NULL), 0);
	int lost = !strstr(json, "\"lost\": 0,");
	if (lost)
		cr_log_warn("samples were lost on this busy machine: proportions not checked: %s",
			    strstr(json, "\"stats\""));
	else {
		cr_expect_leq(abs((int)(1000 * a / abc) - 500), tolerance,
			      "work_a share %.3f, want 0.50", a / abc);
		cr_expect_leq(abs((int)(1000 * b / abc) - 333), tolerance,
			      "work_b share %.3f, want 0.33", b / abc);
		cr_expect_leq(abs((int)(1000 * c / abc) - 167), tolerance,
			      "work_c share %.3f, want 0.17", c / abc);
	}
	free(json);
	h_folded_free(&f);
	free(data);
}

Test(record, threads_and_a_late_thread)
{
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_threads"), NULL};
	h_start(&t, argv);
	char *data = h_path(dir, "rec.data");
	char pidbuf[16];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)t.pid);
	char *rec[] = {CS_EXE, "record", "-q", "-p", pidbuf, "-F", "499", "-d", "3", "-o", data, NULL};
	int err_fd;
	uint64_t cpu0 = h_cpu_ns(t.pid);
	pid_t r = h_spawn(rec, &err_fd);
	usleep(1000 * 1000);
	kill(t.pid, SIGUSR1); /* now the target creates thread "late" */
	char *err;
	int st = h_collect(r, err_fd, 60, &err);
	uint64_t cpu1 = h_cpu_ns(t.pid);
	cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "record failed: %s", err);
	free(err);
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0);

	struct h_folded f;
	h_fold(data, "--per-thread", &f);
	uint64_t heavy = 0, light = 0, late = 0;
	for (size_t i = 0; i < f.n; i++) {
		if (!strncmp(f.stack[i], "heavy-", 6))
			heavy += f.count[i];
		else if (!strncmp(f.stack[i], "light-", 6))
			light += f.count[i];
		else if (!strncmp(f.stack[i], "late-", 5))
			late += f.count[i];
	}
	/* How many samples there are depends on how much CPU the target got on a shared
	 * machine: compare with its own CPU time over the recording (499 Hz of CPU time,
	 * the window a little wider than the recording's), not with a fixed figure. */
	uint64_t all = 0;
	for (size_t i = 0; i < f.n; i++)
		all += f.count[i];
#ifdef CS_TEST_NOPERF
	double expect = (double)(cpu1 - cpu0) / 1e9 * 250; /* the fallback's rate cap */
#else
	double expect = (double)(cpu1 - cpu0) / 1e9 * 499;
#endif
	cr_expect(all >= expect * 0.5 && all <= expect * 1.2,
		  "%llu samples for %.0f expected from the target's CPU time",
		  (unsigned long long)all, expect);
	cr_expect_gt(heavy, 20, "heavy thread samples: %llu", (unsigned long long)heavy);
	cr_expect_gt(light, 2, "light thread samples: %llu", (unsigned long long)light);
	cr_expect_lt(light, heavy * 6 / 10, "light (%llu) should be well below heavy (%llu)",
		     (unsigned long long)light, (unsigned long long)heavy);
	cr_expect_gt(late, 5, "late thread samples: %llu", (unsigned long long)late);
	/* nearly all of it in late_work (a sample may land in thread start-up) */
	uint64_t late_in_work = 0;
	for (size_t i = 0; i < f.n; i++)
		if (!strncmp(f.stack[i], "late-", 5) && strstr(f.stack[i], ";late_work"))
			late_in_work += f.count[i];
	cr_expect_geq(late_in_work * 10, late * 9, "late thread runs late_work: %llu of %llu",
		      (unsigned long long)late_in_work, (unsigned long long)late);
	cr_expect_gt(h_with_seq(&f, "start_thread"), 0, "thread stacks start in libc");
	h_folded_free(&f);
	free(data);
}

/* 200 frames of ~128 bytes are deeper than the default 16 KiB copy: at default options
 * the rest of the stack comes from the live process (the recursion keeps it unchanged),
 * and the summary says so. */
Test(record, deep_recursion_complete)
{
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_recurse"), "200", NULL};
	h_start(&t, argv);
	char *data = h_path(dir, "rec.data");
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	char *rec[] = {CS_EXE, "record", "-p", pid, "-F", "499", "-d", "2", "-o", data, NULL};
	char *err;
	cr_assert_eq(h_run(rec, 60, NULL, &err), 0, "record failed: %s", err);
	h_stop(&t, SIGTERM, 5000);
	cr_expect(strstr(err, "completed from live memory past the 16384-byte stack copy"), "%s",
		  err);
	cr_expect_null(strstr(err, "--stack-size"), "no advice for a copy that was enough: %s",
		       err);
	struct h_folded f;
	h_fold(data, NULL, &f);
	cr_assert_gt(f.total, 100);
	uint64_t leaf = h_with_seq(&f, "leaf_burn");
	cr_expect_geq(share(leaf, f.total), 0.9);
	cr_expect_eq(h_max_repeat(&f, "recurse"), 200, "deepest stack has %zu recurse frames",
		     h_max_repeat(&f, "recurse"));
	/* the samples in leaf_burn all have the full chain */
	uint64_t full = 0;
	for (size_t i = 0; i < f.n; i++) {
		struct h_folded one = {1, &f.stack[i], &f.count[i], f.count[i]};
		if (h_with_seq(&one, "leaf_burn") && h_max_repeat(&one, "recurse") == 200 &&
		    !strncmp(f.stack[i], "_start;", 7))
			full += f.count[i];
	}
	cr_expect_geq(share(full, leaf), 0.99, "complete deep stacks: %.3f\n%s", share(full, leaf),
		      err);
	free(err);
	h_folded_free(&f);
	free(data);
}

/* A stack deeper than the copy whose outer part is replaced by another call chain
 * of the same layout every 20 ms: samples read after a switch must not be continued
 * with the new chain's frames (without the boundary check, a third of them were). */
Test(record, changed_live_stack_is_never_mixed_in)
{
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_churn"), "600", "20", NULL};
	h_start(&t, argv);
	char *data = h_path(dir, "churn.data");
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	char *rec[] = {CS_EXE, "record", "-p", pid, "-F", "999", "-d", "3", "-o", data, NULL};
	char *err;
	cr_assert_eq(h_run(rec, 60, NULL, &err), 0, "record failed: %s", err);
	h_stop(&t, SIGTERM, 5000);
	struct h_folded f;
	h_fold(data, NULL, &f);
	cr_assert_gt(f.total, 100, "%s", err);
	uint64_t mixed = 0, whole = 0;
	for (size_t i = 0; i < f.n; i++) {
		struct h_folded one = {1, &f.stack[i], &f.count[i], f.count[i]};
		size_t a = h_max_repeat(&one, "chain_a"), b = h_max_repeat(&one, "chain_b");
		if (a && b) {
			mixed += f.count[i];
			cr_log_error("mixed stack: %.300s...", f.stack[i]);
		}
		if ((a == 600 || b == 600) && !strncmp(f.stack[i], "_start;", 7))
			whole += f.count[i];
	}
	cr_expect_eq(mixed, 0, "%llu of %llu samples mix the two chains",
		     (unsigned long long)mixed, (unsigned long long)f.total);
	cr_expect_gt(whole, 0, "stacks completed from live memory: %s", err);
	/* unless every stack was completed (the ptrace sampler unwinds right after the
	 * thread resumed, so its stacks change less often in between) */
	cr_expect((strstr(err, "where the ") && strstr(err, "stack copy ran out")) ||
		      strstr(err, "unwound to the thread root: 100.0%"),
		  "%s", err);
	free(err);
	h_folded_free(&f);
	free(data);
}

/* A binary the user cannot read (its directory was closed after it started): the
 * summary names it instead of suggesting a larger stack copy. */
Test(record, unreadable_binary_named_in_summary)
{
	if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0)
		cr_skip_test("needs root and setpriv (util-linux) to act as another user");
	/* Copies, so that nobody can run them wherever the checkout is. */
	chmod(dir, 0777);
	char *bin = h_path(dir, "bin");
	cr_assert_eq(mkdir(bin, 0755), 0);
	char *prog = h_path(bin, "cpu3"), *exe = h_path(dir, "csampler");
	const char *from[3] = {TARGET("cs_t_cpu3"), CS_EXE}, *to[3] = {prog, exe};
	int ncopies = 2;
#ifdef CS_TEST_NOPERF
	/* the seccomp wrapper runs a copy of csampler too, named by CS_NOPERF_REAL */
	char *real = h_path(dir, "csampler.real");
	from[2] = CS_CSAMPLER_EXE;
	to[2] = real;
	ncopies = 3;
	setenv("CS_NOPERF_REAL", real, 1);
#endif
	for (int i = 0; i < ncopies; i++) {
		int fd = open(to[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
		cr_assert(fd >= 0 && cs_copy_file_to(from[i], fd) == 0, "copy %s", from[i]);
		close(fd);
	}
	char *targ[] = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
			prog, NULL};
	struct h_proc t;
	h_start(&t, targ);
	cr_assert_eq(chmod(bin, 0700), 0); /* root's: nobody cannot open it any more */
	char *data = h_path(dir, "nf.data");
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	char *rec[] = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", exe,
		       "record", "-p", pid, "-d", "1", "-o", data, NULL};
	char *err;
	int st = h_run(rec, 60, NULL, &err);
#ifdef CS_TEST_NOPERF
	unsetenv("CS_NOPERF_REAL");
	free(real);
#endif
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0);
	cr_assert_eq(st, 0, "%s", err);
	char want[4200];
	snprintf(want, sizeof(want), "in code of '%s', which csampler could not open (Permission "
				     "denied)", prog);
	cr_expect(strstr(err, want), "the summary names the file: %s", err);
	cr_expect_null(strstr(err, "--stack-size"), "no advice about the copy: %s", err);
	free(err);
	free(data);
	free(prog);
	free(exe);
	free(bin);
}

Test(record, inlined_functions_are_frames)
{
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_inline"), NULL};
	h_start(&t, argv);
	char *data = record_pid(t.pid, 499, "2", NULL, NULL);
	h_stop(&t, SIGTERM, 5000);
	struct h_folded f;
	h_fold(data, NULL, &f);
	uint64_t inl = h_with_seq(&f, "main;hot_caller;mix_outer;mix_inner");
	cr_expect_geq(share(inl, f.total), 0.8, "inline chain in %.3f of samples",
		      share(inl, f.total));
	/* and the report places them in the source */
	char *rep[] = {CS_EXE, "report", "-i", data, "--format", "csv", "--top", "0", NULL};
	char *out;
	cr_assert_eq(h_run(rep, 30, &out, NULL), 0);
	cr_expect(strstr(out, "mix_inner,cs_t_inline,"), "report: %s", out);
	cr_expect(strstr(out, "inline.c"), "report has file names: %s", out);
	free(out);
	h_folded_free(&f);
	free(data);
}

Test(record, library_loaded_after_attach)
{
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_dlopen"), CS_BINARY_DIR "/tests/targets/libcs_t_plugin.so", NULL};
	h_start(&t, argv);
	char *data = h_path(dir, "rec.data");
	char pidbuf[16];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)t.pid);
	char *rec[] = {CS_EXE, "record", "-q", "-p", pidbuf, "-F", "499", "-d", "2.5", "-o", data, NULL};
	int err_fd;
	pid_t r = h_spawn(rec, &err_fd);
	usleep(700 * 1000);
	kill(t.pid, SIGUSR1); /* dlopen now */
	char *err;
	int st = h_collect(r, err_fd, 60, &err);
	cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "record failed: %s", err);
	free(err);
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0);
	struct h_folded f;
	h_fold(data, NULL, &f);
	uint64_t plug = h_with_seq(&f, "main;plugin_spin;plugin_inner");
	cr_expect_geq(share(plug, f.total), 0.9, "plugin frames in %.3f of %llu samples",
		      share(plug, f.total), (unsigned long long)f.total);
	if (share(plug, f.total) < 0.9)
		h_folded_dump(&f, 20);
	h_folded_free(&f);
	free(data);
}

static void check_symbols(const char *exe, const char *debug_dir, int expect_names)
{
	struct h_proc t;
	char *argv[] = {(char *)exe, NULL};
	h_start(&t, argv);
	char *data = record_pid(t.pid, 499, "1.5", debug_dir ? "--debug-dir" : NULL, debug_dir);
	h_stop(&t, SIGTERM, 5000);
	struct h_folded f;
	h_fold(data, NULL, &f);
	cr_assert_gt(f.total, 50);
	uint64_t named = h_with_seq(&f, "main;secret_outer;secret_inner");
	const char *base = strrchr(exe, '/') + 1;
	if (expect_names) {
		cr_expect_geq(share(named, f.total), 0.9, "%s: named in %.3f", base,
			      share(named, f.total));
		char *rep[] = {CS_EXE, "report", "-i", data, "--format", "json", NULL};
		char *out;
		cr_assert_eq(h_run(rep, 30, &out, NULL), 0);
		cr_expect(strstr(out, "\"function\": \"secret_inner\""), "%s", out);
		cr_expect(strstr(out, "symbols.c\""), "file names from separate debug info: %s", out);
		free(out);
	} else {
		cr_expect_eq(h_with_frame(&f, "secret_inner") + h_with_frame(&f, "secret_outer"), 0);
		/* Frames in the stripped program read module+0xOFFSET, never a guess. */
		uint64_t anon = 0;
		size_t blen = strlen(base);
		for (size_t i = 0; i < f.n; i++) {
			size_t k = strlen(f.stack[i]);
			const char *leaf = f.stack[i] + k;
			while (leaf > f.stack[i] && leaf[-1] != ';')
				leaf--;
			if (!strncmp(leaf, base, blen) && !strncmp(leaf + blen, "+0x", 3))
				anon += f.count[i];
			/* no frame of this module has a name */
			for (const char *p = f.stack[i]; (p = strstr(p, base)); p += blen)
				cr_expect(!strncmp(p + blen, "+0x", 3), "%s", f.stack[i]);
		}
		cr_expect_geq(share(anon, f.total), 0.9, "module+offset leaves: %.3f",
			      share(anon, f.total));
	}
	h_folded_free(&f);
	free(data);
}

Test(record, separate_debug_info_by_build_id)
{
	check_symbols(CS_BINARY_DIR "/tests/targets/symvariants/symbols-buildid",
		      CS_BINARY_DIR "/tests/targets/symvariants/buildid-root", 1);
}

Test(record, separate_debug_info_by_debuglink)
{
	check_symbols(CS_BINARY_DIR "/tests/targets/symvariants/debuglink/symbols-debuglink", NULL, 1);
}

Test(record, no_debug_info_shows_offsets)
{
	check_symbols(CS_BINARY_DIR "/tests/targets/symvariants/symbols-nodebug", NULL, 0);
}

Test(record, launch_with_fork_and_exec)
{
	char *data = h_path(dir, "rec.data");
	char *argv[] = {CS_EXE, "record", "-q", "-F", "499", "-o", data, "--",
			TARGET("cs_t_forker"), TARGET("cs_t_cpu3"), "1.5", NULL};
	char *err;
	int st = h_run(argv, 60, NULL, &err);
	cr_assert_eq(st, 0, "record failed: %s", err);
	free(err);
	struct h_folded f;
	h_fold(data, "--per-thread", &f);
	uint64_t parent = h_with_seq(&f, "main;parent_work");
	uint64_t child = h_with_seq(&f, "main;work_a;burn_a");
	cr_expect_gt(parent, AT_RATE(30, 499), "forker's own samples: %llu",
		     (unsigned long long)parent);
	cr_expect_gt(child, AT_RATE(30, 499), "exec'd child's samples: %llu",
		     (unsigned long long)child);
	uint64_t child_thread = 0;
	for (size_t i = 0; i < f.n; i++)
		if (!strncmp(f.stack[i], "cs_t_cpu3-", 10))
			child_thread += f.count[i];
	cr_expect_gt(child_thread, AT_RATE(30, 499), "child named after the program it exec'd");
	h_folded_free(&f);
	free(data);
}

Test(record, sigkill_leaves_target_running)
{
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_cpu3"), NULL};
	h_start(&t, argv);
	char *data = h_path(dir, "rec.data");
	char pidbuf[16];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)t.pid);
	char *rec[] = {CS_EXE, "record", "-q", "-p", pidbuf, "-F", "999", "-o", data, NULL};
	int err_fd;
	pid_t r = h_spawn(rec, &err_fd);
	usleep(1000 * 1000);
	kill(r, SIGKILL);
	int st = h_collect(r, err_fd, 10, NULL);
	cr_expect(st >= 0 && WIFSIGNALED(st));
	/* The target runs on, using CPU, and exits normally when asked. */
	cr_expect(h_alive(t.pid));
	/* It keeps using CPU: 20 ms of it within 10 s, however loaded the machine is. */
	uint64_t c0 = h_cpu_ns(t.pid), c1 = c0;
	for (int i = 0; i < 100 && c1 < c0 + 20000000ull; i++) {
		usleep(100 * 1000);
		c1 = h_cpu_ns(t.pid);
	}
	cr_expect_geq(c1, c0 + 20000000ull, "target keeps running after csampler died");
	/* Neither traced (the ptrace sampler's kernel detach) nor stopped. */
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)t.pid);
	char *status = h_read_file(path, NULL);
	cr_assert(status);
	cr_expect(strstr(status, "\nTracerPid:\t0\n"), "target still traced: %s", status);
	const char *state = strstr(status, "\nState:\t");
	cr_expect(state && state[8] != 't' && state[8] != 'T', "target left stopped: %.20s", state);
	free(status);
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0, "target exits with status 0");
	/* No file was left under the final name. */
	struct stat sb;
	cr_expect_neq(stat(data, &sb), 0, "a killed recording must not look complete");
	free(data);
}

Test(record, sigint_writes_readable_recording)
{
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_cpu3"), NULL};
	h_start(&t, argv);
	char *data = h_path(dir, "rec.data");
	char pidbuf[16];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)t.pid);
	char *rec[] = {CS_EXE, "record", "-p", pidbuf, "-F", "999", "-o", data, NULL};
	int err_fd;
	pid_t r = h_spawn(rec, &err_fd);
	usleep(1500 * 1000);
	kill(r, SIGINT);
	char *err;
	int st = h_collect(r, err_fd, 30, &err);
	cr_expect(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "record after SIGINT: %s", err);
	/* The summary names what the issue asks for. */
	cr_expect(strstr(err, "samples"), "%s", err);
	cr_expect(strstr(err, "lost"), "%s", err);
	cr_expect(strstr(err, "threads"), "%s", err);
	cr_expect(strstr(err, "stacks unwound to the thread root: 100.0%"), "%s", err);
	cr_expect(strstr(err, "profiler CPU"), "%s", err);
	free(err);
	cr_expect(h_alive(t.pid));
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0);
	struct h_folded f;
	h_fold(data, NULL, &f);
	cr_expect_gt(f.total, AT_RATE(100, 999));
	h_folded_free(&f);
	free(data);
}

Test(record, target_exit_ends_recording)
{
	struct h_proc t;
	/* long enough for a timeline point after a slow attach (sanitizer build) */
	char *argv[] = {TARGET("cs_t_cpu3"), "2.5", NULL};
	h_start(&t, argv);
	char *data = record_pid(t.pid, 499, "30", NULL, NULL);
	int st = h_stop(&t, 0, 5000);
	cr_expect_eq(st, 0);
	struct h_folded f;
	h_fold(data, NULL, &f);
	cr_expect_gt(f.total, 50);
	/* the timeline is in the JSON report */
	char *rep[] = {CS_EXE, "report", "-i", data, "--format", "json", NULL};
	char *out;
	cr_assert_eq(h_run(rep, 30, &out, NULL), 0);
	cr_expect(strstr(out, "\"series\": [{\"t\":"), "%s", out);
	cr_expect(strstr(out, "\"rss_bytes\": {\"start\":"), "%s", out);
	free(out);
	h_folded_free(&f);
	free(data);
}

/* The fast unwinder (per-pc rules) must give exactly what libdw gives, on complete
 * stacks through libc and on stacks cut short by a small copy. */
Test(record, fast_unwinder_agrees_with_libdw)
{
	setenv("CSAMPLER_UNWIND_CHECK", "1", 1);
	const char *sizes[] = {"16384", "1024"};
	for (int k = 0; k < 2; k++) {
		struct h_proc t;
		char *argv[] = {TARGET("cs_t_recurse"), "120", NULL};
		h_start(&t, argv);
		char *data = h_path(dir, "chk.data");
		char pid[16];
		snprintf(pid, sizeof(pid), "%d", (int)t.pid);
		char *rec[] = {CS_EXE, "record", "-p", pid, "-F", "999", "-d", "1", "--stack-size",
			       (char *)sizes[k], "-o", data, NULL};
		char *err;
		cr_assert_eq(h_run(rec, 60, NULL, &err), 0, "%s", err);
		cr_expect_null(strstr(err, "disagrees"), "%s", err);
		cr_expect(strstr(err, "samples"), "%s", err);
		free(err);
		h_stop(&t, SIGTERM, 5000);
		free(data);
	}
	unsetenv("CSAMPLER_UNWIND_CHECK");
}
