/* End-to-end tests of the ptrace sampler: the fallback where perf events are refused
 * (csampler under a seccomp filter, tests/helpers/noperf.c), its agreement with the perf
 * sampler, and a target whose signals and stops must behave exactly as untraced. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static char *dir;

static void setup(void)
{
	h_require_ptrace();
	dir = h_tmpdir();
}

static void teardown(void)
{
	if (dir)
		h_tmpdir_free(dir);
	dir = NULL;
}

TestSuite(ptrace, .init = setup, .fini = teardown, .timeout = 120);

static double share(uint64_t part, uint64_t total)
{
	return total ? (double)part / (double)total : 0;
}

/* Lines of text that start with prefix. */
static int lines_with(const char *text, const char *prefix)
{
	int n = 0;
	size_t len = strlen(prefix);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		n += !strncmp(l, prefix, len);
	return n;
}

static char state_of(pid_t pid, int *tracer)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	char *s = h_read_file(path, NULL);
	cr_assert(s, "no status of %d", (int)pid);
	const char *st = strstr(s, "\nState:\t");
	const char *tr = strstr(s, "\nTracerPid:\t");
	char c = st ? st[8] : '?';
	*tracer = tr ? atoi(tr + 12) : -1;
	free(s);
	return c;
}

Test(ptrace, refused_perf_falls_back_in_one_line)
{
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_cpu3"), NULL};
	h_start(&t, argv);
	char *data = h_path(dir, "rec.data");
	char pidbuf[16];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)t.pid);
	char *rec[] = {CS_NOPERF_EXE, "record", "-p", pidbuf, "-d", "1.5", "-o", data, NULL};
	char *err;
	int st = h_run(rec, 60, NULL, &err);
	cr_assert_eq(st, 0, "record failed: %s", err);
	cr_expect_eq(lines_with(err, "csampler:"), 1, "one line about the fallback: %s", err);
	cr_expect(strstr(err, "csampler: perf events refused (Permission denied, by a seccomp "
			      "filter); sampling with ptrace instead"),
		  "the line names the cause: %s", err);
	cr_expect(strstr(err, "ptrace sampler at 99 Hz (perf events were refused)"),
		  "the summary names the sampler: %s", err);
	cr_expect(strstr(err, "us median"), "the summary gives the stop time: %s", err);
	free(err);
	struct h_folded f;
	h_fold(data, NULL, &f);
	cr_expect_gt(f.total, 10, "samples: %llu", (unsigned long long)f.total);
	cr_expect_geq(share(h_with_prefix(&f, "_start;"), f.total), 0.99);
	h_folded_free(&f);

	/* Forced perf: no fallback, and advice that names seccomp, not the sysctl. */
	char *perf[] = {CS_NOPERF_EXE, "record", "--sampler", "perf", "-p", pidbuf,
			"-d",	       "1",	 "-o",	      data,   NULL};
	st = h_run(perf, 60, NULL, &err);
	cr_expect_neq(st, 0);
	cr_expect_eq(lines_with(err, "csampler:"), 1, "one error line: %s", err);
	cr_expect(strstr(err, "seccomp"), "advice names seccomp: %s", err);
	cr_expect(!strstr(err, "perf_event_paranoid"), "no sysctl advice: %s", err);
	free(err);
	/* ENOSYS, as some runtimes' filters answer. */
	setenv("CS_NOPERF_ERRNO", "ENOSYS", 1);
	st = h_run(rec, 60, NULL, &err);
	unsetenv("CS_NOPERF_ERRNO");
	cr_expect_eq(st, 0, "record failed: %s", err);
	cr_expect(strstr(err, "perf events refused (Function not implemented, by a seccomp"),
		  "ENOSYS falls back too: %s", err);
	free(err);
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0);
	free(data);
}

/* The same target recorded by both samplers: the same functions in about the same
 * proportions, and complete stacks. */
Test(ptrace, agrees_with_perf)
{
	h_require_perf();
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_cpu3"), NULL};
	h_start(&t, argv);
	char pidbuf[16];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)t.pid);
	const char *kinds[2] = {"perf", "ptrace"};
	double sh[2][3];
	for (int k = 0; k < 2; k++) {
		char *data = h_path(dir, kinds[k]);
		char *rec[] = {CS_EXE, "record", "-q", "--sampler", (char *)kinds[k],
			       "-p",   pidbuf,	 "-F", "199",	    "-d",
			       "3",    "-o",	 data, NULL};
		char *err;
		cr_assert_eq(h_run(rec, 60, NULL, &err), 0, "%s: %s", kinds[k], err);
		free(err);
		struct h_folded f;
		h_fold(data, NULL, &f);
		cr_assert_gt(f.total, 50, "%s: %llu samples", kinds[k],
			     (unsigned long long)f.total);
		cr_expect_geq(share(h_with_prefix(&f, "_start;"), f.total), 0.99, "%s: rooted %.3f",
			      kinds[k], share(h_with_prefix(&f, "_start;"), f.total));
		sh[k][0] = share(h_with_seq(&f, "main;work_a;burn_a"), f.total);
		sh[k][1] = share(h_with_seq(&f, "main;work_b;burn_b"), f.total);
		sh[k][2] = share(h_with_seq(&f, "main;work_c;burn_c"), f.total);
		h_folded_free(&f);
		free(data);
	}
	/* Two samplings of the same split: each share within a few standard deviations
	 * of the other (a ptrace sample taken late carries several periods' weight). */
	for (int i = 0; i < 3; i++)
		cr_expect_leq(abs((int)(1000 * (sh[0][i] - sh[1][i]))), 150,
			      "work_%c: perf %.3f, ptrace %.3f", 'a' + i, sh[0][i], sh[1][i]);
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0);
}

static uint64_t cpu_over(pid_t pid, int ms)
{
	uint64_t c0 = h_cpu_ns(pid);
	usleep((useconds_t)ms * 1000);
	return h_cpu_ns(pid) - c0;
}

/* Signals and stops reach the target as without csampler: every queued signal is
 * handled once, SIGSTOP stops it until SIGCONT, and a stop in effect when csampler
 * lets go stays in effect. */
Test(ptrace, signals_and_stops_unchanged)
{
	char *counts = h_path(dir, "counts");
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_signals"), counts, NULL};
	h_start(&t, argv);
	char *data = h_path(dir, "rec.data");
	char pidbuf[16];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)t.pid);
	char *rec[] = {CS_EXE, "record", "-q", "--sampler", "ptrace", "-p", pidbuf,
		       "-F",   "499",	 "-d", "3",	    "-o",     data, NULL};
	int err_fd;
	pid_t r = h_spawn(rec, &err_fd);
	usleep(300 * 1000);
	union sigval v = {0};
	for (int i = 0; i < 100; i++) {
		sigqueue(t.pid, SIGRTMIN, v);
		if (i % 10 == 0)
			kill(t.pid, SIGUSR1);
		usleep(2000);
	}
	/* Stopped means stopped while traced... */
	kill(t.pid, SIGSTOP);
	usleep(200 * 1000);
	int tracer;
	char s = state_of(t.pid, &tracer);
	cr_expect(s == 't' || s == 'T', "stopped under csampler, state %c", s);
	cr_expect_lt(cpu_over(t.pid, 300), 5000000ull, "no CPU used while stopped");
	kill(t.pid, SIGCONT);
	cr_expect_gt(cpu_over(t.pid, 500), 0, "runs again after SIGCONT");
	/* ...and stays stopped when csampler lets go of it. */
	usleep(800 * 1000);
	kill(t.pid, SIGSTOP);
	char *err;
	int st = h_collect(r, err_fd, 60, &err);
	cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "record failed: %s", err);
	free(err);
	usleep(100 * 1000);
	s = state_of(t.pid, &tracer);
	cr_expect_eq(tracer, 0, "not traced after recording");
	cr_expect_eq(s, 'T', "still stopped after recording, state %c", s);
	cr_expect_lt(cpu_over(t.pid, 300), 5000000ull, "no CPU used while stopped");
	kill(t.pid, SIGCONT);
	cr_expect_gt(cpu_over(t.pid, 500), 0, "runs again after SIGCONT");
	s = state_of(t.pid, &tracer);
	cr_expect(s == 'R' || s == 'S', "running, state %c", s);
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0, "target exits normally");
	char *c = h_read_file(counts, NULL);
	cr_assert(c, "the target wrote its counts");
	int usr1 = -1, rt = -1, cont = -1;
	cr_assert_eq(sscanf(c, "usr1=%d rt=%d cont=%d", &usr1, &rt, &cont), 3, "%s", c);
	cr_expect_eq(rt, 100, "every queued signal handled once: %s", c);
	cr_expect(usr1 >= 1 && usr1 <= 10, "SIGUSR1 handled: %s", c);
	cr_expect_eq(cont, 2, "SIGCONT handled at each continue: %s", c);
	free(c);
	struct h_folded f;
	h_fold(data, NULL, &f);
	cr_expect_gt(h_with_seq(&f, "main;spin"), 10, "the target was sampled");
	h_folded_free(&f);
	free(data);
	free(counts);
}

/* A process in its own mount and PID namespace whose binary exists only there (a
 * container seen from the host): both samplers name its functions and file:line, and
 * its thread, from the host. */
Test(ptrace, container_from_host)
{
	char script[1024];
	snprintf(script, sizeof(script),
		 "mount -t tmpfs none /mnt && mkdir /mnt/priv && cp %s /mnt/priv/cpu3ns && "
		 "exec /mnt/priv/cpu3ns 30",
		 TARGET("cs_t_cpu3"));
	char *check[] = {"/usr/bin/unshare", "--mount", "--pid", "--fork", "true", NULL};
	if (h_run(check, 10, NULL, NULL) != 0)
		cr_skip_test("cannot create mount and PID namespaces here (unshare)");
	struct h_proc t;
	char *argv[] = {"/usr/bin/unshare", "--mount", "--pid", "--fork", "--propagation",
			"private",	    "/bin/sh", "-c",	script,	  NULL};
	h_start(&t, argv);
	/* The target is the child of unshare. */
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)t.pid, (int)t.pid);
	char *kids = h_read_file(path, NULL);
	cr_assert(kids && atoi(kids) > 0, "no child of unshare");
	pid_t pid = atoi(kids);
	free(kids);
	char exe[256] = "";
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	cr_assert_gt(readlink(path, exe, sizeof(exe) - 1), 0);
	cr_assert_str_eq(exe, "/mnt/priv/cpu3ns");
	cr_assert_neq(access("/mnt/priv/cpu3ns", F_OK), 0, "the path exists on the host too");
	char pidbuf[16];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	const char *kinds[2] = {"perf", "ptrace"};
	for (int k = h_perf_allowed() ? 0 : 1; k < 2; k++) {
		char *data = h_path(dir, kinds[k]);
		char *rec[] = {CS_EXE, "record", "-q", "--sampler", (char *)kinds[k],
			       "-p",   pidbuf,	 "-F", "199",	    "-d",
			       "1.5",  "-o",	 data, NULL};
		char *err;
		cr_assert_eq(h_run(rec, 60, NULL, &err), 0, "%s: %s", kinds[k], err);
		free(err);
		struct h_folded f;
		h_fold(data, "--per-thread", &f);
		uint64_t named = 0;
		for (size_t i = 0; i < f.n; i++)
			if (!strncmp(f.stack[i], "cpu3ns-", 7) && strstr(f.stack[i], ";main;work_"))
				named += f.count[i];
		cr_expect_geq(share(named, f.total), 0.95, "%s: thread and functions named in %.3f",
			      kinds[k], share(named, f.total));
		char *rep[] = {CS_EXE, "report", "-i", data, "--format", "csv", "--top", "0", NULL};
		char *out;
		cr_assert_eq(h_run(rep, 30, &out, NULL), 0);
		cr_expect(strstr(out, "cpu3.c"), "%s: file:line from the host: %s", kinds[k], out);
		free(out);
		h_folded_free(&f);
		free(data);
	}
	kill(t.pid, SIGKILL); /* unshare; its namespace's init, the target, goes with it */
	kill(pid, SIGKILL);
	h_stop(&t, SIGKILL, 5000);
}

/* Leak sites of leaky's leak_all in a recording's last snapshot (text report). */
static void expect_leak_sites(const char *data)
{
	char *rep[] = {CS_EXE, "report", "--leaks", "-i", (char *)data, "--top", "0", NULL};
	char *out, *err;
	cr_assert_eq(h_run(rep, 30, &out, &err), 0, "report --leaks failed: %s", err);
	cr_expect(strstr(out, "40960 bytes in 10 blocks") && strstr(out, "leak_calloc"),
		  "leak_calloc's 10 blocks: %s", out);
	cr_expect(strstr(out, "6400 bytes in 100 blocks") && strstr(out, "leak_malloc"),
		  "leak_malloc's 100 blocks: %s", out);
	free(out);
	free(err);
}

/* Inside a container: perf events refused by seccomp, only the runtime's default
 * capabilities plus CAP_SYS_PTRACE (tests/helpers/noperf.c, CS_NOPERF_CAPS). CPU
 * samples through the ptrace sampler and allocation tracking work together on a
 * running process (the agent is loaded before the sampler seizes the threads), and
 * leaks alone works on a running and on a launched process; the target is left
 * untraced. */
Test(ptrace, leaks_beside_the_ptrace_sampler_in_a_container)
{
	setenv("CS_NOPERF_CAPS", "container", 1);
	struct h_proc t;
	char *targv[] = {TARGET("cs_t_leaky"), "busy", NULL};
	h_start(&t, targv);
	char pidbuf[16];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)t.pid);
	char *data = h_path(dir, "rl.data");
	char *rec[] = {CS_NOPERF_EXE, "record", "--leaks", "-p", pidbuf, "--interval", "0.5",
		       "-d", "4", "-o", data, NULL};
	int err_fd;
	pid_t r = h_spawn(rec, &err_fd);
	cr_assert(h_wait_agent(t.pid, 20000, 300), "the agent never started");
	kill(t.pid, SIGUSR1);
	char *err;
	int st = h_collect(r, err_fd, 60, &err);
	cr_expect(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "csampler failed: %s", err);
	cr_expect(strstr(err, "by a seccomp filter") && strstr(err, "ptrace sampler"),
		  "sampled with ptrace: %s", err);
	free(err);
	int tracer;
	char s = state_of(t.pid, &tracer);
	cr_expect_eq(tracer, 0, "left untraced");
	cr_expect(s == 'R' || s == 'S', "running, state %c", s);
	struct h_folded f;
	h_fold(data, NULL, &f);
	/* (Where: leaky busy runs in bursts of a few microseconds between naps of 2 ms, and
	 * a thread that is runnable having just woken is sampled in its nanosleep.) */
	cr_expect_gt(h_with_frame(&f, "main"), 0, "CPU samples of the target");
	h_folded_free(&f);
	expect_leak_sites(data);

	/* leaks alone, attached */
	char *lk[] = {CS_NOPERF_EXE, "leaks", "-q", "-p", pidbuf, "-d", "1", "-o", data, NULL};
	cr_expect_eq(h_run(lk, 60, NULL, &err), 0, "leaks --pid failed: %s", err);
	free(err);
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0, "the target ended normally");

	/* leaks alone, launched */
	char *ll[] = {CS_NOPERF_EXE, "leaks", "-q", "-o", data, "--", TARGET("cs_t_leaky"), "basic",
		      NULL};
	cr_expect_eq(h_run(ll, 60, NULL, &err), 0, "leaks -- command failed: %s", err);
	free(err);
	expect_leak_sites(data);

	/* record --leaks of a launched command: refused in one line, nothing left running */
	char *rl[] = {CS_NOPERF_EXE, "record", "--leaks", "-o", data, "--", TARGET("cs_t_leaky"),
		      "basic", NULL};
	cr_expect_neq(h_run(rl, 60, NULL, &err), 0);
	cr_expect_eq(lines_with(err, "csampler: "), 2, "the fallback and the refusal: %s", err);
	cr_expect(strstr(err, "--leaks --pid PID"), "the way round: %s", err);
	free(err);
	unsetenv("CS_NOPERF_CAPS");
	free(data);
}

/* A container's separate debug info, seen from the host: two stripped programs in a
 * mount and PID namespace of their own, one with its debug file under the container's
 * /usr/lib/debug/.build-id, one with its .gnu_debuglink file next to it (both paths
 * exist only inside). record --pid from the host names their functions and file:line
 * (looked up through the namespace's root). */
Test(ptrace, container_separate_debug_info_from_host)
{
	char *check[] = {"/usr/bin/unshare", "--mount", "--pid", "--fork", "--mount-proc", "true",
			 NULL};
	if (h_run(check, 10, NULL, NULL) != 0)
		cr_skip_test("cannot create mount and PID namespaces here (unshare refused)");
	if (access("/usr/lib/debug", F_OK))
		cr_skip_test("no /usr/lib/debug to mount the container's own over");
	const char *sv = CS_BINARY_DIR "/tests/targets/symvariants";
	char script[2048];
	snprintf(script, sizeof(script),
		 "mount -t tmpfs none /mnt && mkdir /mnt/priv && cp %s/symbols-buildid "
		 "/mnt/priv/symns && cp %s/debuglink/symbols-debuglink "
		 "%s/debuglink/symbols-debuglink.debug /mnt/priv/ && "
		 "mount -t tmpfs none /usr/lib/debug && cp -r %s/buildid-root/.build-id "
		 "/usr/lib/debug/ || exit 77\n"
		 "/mnt/priv/symbols-debuglink &\n"
		 "exec /mnt/priv/symns\n",
		 sv, sv, sv, sv);
	struct h_proc t;
	char *argv[] = {"/usr/bin/unshare", "--mount", "--pid", "--fork", "--mount-proc",
			"/bin/sh", "-c", script, NULL};
	h_start(&t, argv);
	char path[96];
	pid_t pids[2] = {0, 0};
	const char *exes[2] = {"/mnt/priv/symns", "/mnt/priv/symbols-debuglink"};
	for (int i = 0; i < 200 && !pids[1]; i++) {
		/* unshare's child runs symns; its child, symbols-debuglink */
		pid_t p = t.pid;
		for (int k = 0; k < 2 && p > 0; k++) {
			snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)p, (int)p);
			char *kids = h_read_file(path, NULL);
			p = kids ? atoi(kids) : 0;
			free(kids);
			char exe[256] = "", link[64];
			snprintf(link, sizeof(link), "/proc/%d/exe", (int)p);
			ssize_t n = p > 0 ? readlink(link, exe, sizeof(exe) - 1) : -1;
			exe[n > 0 ? n : 0] = 0;
			pids[k] = !strcmp(exe, exes[k]) ? p : 0;
		}
		if (!pids[1])
			usleep(20000);
	}
	cr_assert(pids[0] > 0 && pids[1] > 0, "the two programs never ran in the namespace");
	cr_assert_neq(access("/mnt/priv/symns", F_OK), 0, "the path exists on the host too");
	for (int k = 0; k < 2; k++) {
		char pidbuf[16];
		snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pids[k]);
		char *data = h_path(dir, k ? "dl.data" : "bid.data");
		char *rec[] = {CS_EXE, "record", "-q", "-p", pidbuf, "-F", "199", "-d", "1.5", "-o",
			       data, NULL};
		char *err;
		cr_assert_eq(h_run(rec, 60, NULL, &err), 0, "%s: %s", exes[k], err);
		free(err);
		struct h_folded f;
		h_fold(data, NULL, &f);
		uint64_t named = h_with_seq(&f, "main;secret_outer;secret_inner");
		cr_expect_geq(share(named, f.total), 0.9, "%s: named in %.3f of %llu", exes[k],
			      share(named, f.total), (unsigned long long)f.total);
		h_folded_free(&f);
		char *rep[] = {CS_EXE, "report", "-i", data, "--format", "csv", "--top", "0", NULL};
		char *out;
		cr_assert_eq(h_run(rep, 30, &out, NULL), 0);
		cr_expect(strstr(out, "symbols.c,"), "%s: file:line from its debug file: %s",
			  exes[k], out);
		free(out);
		free(data);
	}
	kill(t.pid, SIGKILL); /* unshare; its namespace's init and the rest go with it */
	kill(pids[0], SIGKILL);
	kill(pids[1], SIGKILL);
	h_stop(&t, SIGKILL, 5000);
}
