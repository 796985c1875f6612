/* Bad input gives one clear line on stderr and a non-zero exit, never a crash and
 * never a partial file left looking complete. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include "harness.h"

static int lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Run csampler with args; expect exit status want and one stderr line containing msg. */
static void expect_error(char *const argv[], int want, const char *msg)
{
	char *err;
	int st = h_run(argv, 60, NULL, &err);
	cr_expect_eq(st, want, "exit status %d, want %d; stderr: %s", st, want, err);
	cr_expect_eq(lines(err), 1, "want one line on stderr, got: %s", err);
	cr_expect(strstr(err, msg), "stderr lacks '%s': %s", msg, err);
	free(err);
}

Test(errors, no_such_pid)
{
	char *argv[] = {CS_EXE, "record", "-p", "999999999", "-o", "/tmp/cs-never.data", NULL};
	char *a2[] = {CS_EXE, "record", "-p", "2147483", "-o", "/tmp/cs-never.data", NULL};
	(void)argv;
	expect_error(a2, 1, "no process with PID 2147483");
	struct stat st;
	cr_expect_neq(stat("/tmp/cs-never.data", &st), 0);
}

Test(errors, bad_options)
{
	char *a1[] = {CS_EXE, "record", NULL};
	expect_error(a1, 2, "--pid PID or -- COMMAND");
	char *a2[] = {CS_EXE, "record", "-p", "abc", NULL};
	expect_error(a2, 2, "--pid needs a process id");
	char *a3[] = {CS_EXE, "record", "-F", "0", "-p", "1", NULL};
	expect_error(a3, 2, "--freq");
	char *a4[] = {CS_EXE, "record", "--stack-size", "99999999", "-p", "1", NULL};
	expect_error(a4, 2, "--stack-size");
	char *a5[] = {CS_EXE, "report", "--sort", "sideways", NULL};
	expect_error(a5, 2, "--sort is self or total");
	char *a6[] = {CS_EXE, "frobnicate", NULL};
	expect_error(a6, 2, "'frobnicate' is not a command");
}

Test(errors, unwritable_output_fails_before_recording)
{
	h_require_perf();
	char *argv[] = {CS_EXE, "record", "-o", "/nonexistent-dir/out.data", "--", "/bin/true", NULL};
	expect_error(argv, 1, "cannot write '/nonexistent-dir/out.data'");
}

Test(errors, command_not_found)
{
	h_require_perf();
	char *dir = h_tmpdir();
	char *out = h_path(dir, "x.data");
	char *argv[] = {CS_EXE, "record", "-o", out, "--", "/nonexistent/program", NULL};
	expect_error(argv, 1, "cannot run '/nonexistent/program'");
	struct stat st;
	cr_expect_neq(stat(out, &st), 0);
	free(out);
	h_tmpdir_free(dir);
}

Test(errors, missing_and_corrupt_inputs)
{
	char *a1[] = {CS_EXE, "report", "-i", "/nonexistent.data", NULL};
	expect_error(a1, 1, "cannot open '/nonexistent.data'");
	char *dir = h_tmpdir();
	char *bad = h_path(dir, "bad.data");
	FILE *f = fopen(bad, "w");
	fputs("CSAMPLER\x01\x00\x00\x00 this is not a real recording", f);
	fclose(f);
	char *a2[] = {CS_EXE, "report", "-i", bad, NULL};
	expect_error(a2, 1, "not a valid csampler recording");
	char *a3[] = {CS_EXE, "fold", "-i", bad, NULL};
	expect_error(a3, 1, "not a valid csampler recording");
	f = fopen(bad, "w");
	fputs("\x7f" "ELF\x02\x01\x01 binary junk\n", f);
	fwrite("\0\0\0", 1, 3, f);
	fclose(f);
	expect_error(a2, 1, "neither a csampler recording");
	free(bad);
	h_tmpdir_free(dir);
}

Test(errors, truncated_recording)
{
	h_require_perf();
	char *dir = h_tmpdir();
	char *data = h_path(dir, "r.data");
	char *argv[] = {CS_EXE, "record", "-q", "-o", data, "--", TARGET("cs_t_cpu3"), "0.3", NULL};
	cr_assert_eq(h_run(argv, 60, NULL, NULL), 0);
	struct stat st;
	cr_assert_eq(stat(data, &st), 0);
	/* every prefix is rejected with one line */
	char *cut = h_path(dir, "cut.data");
	size_t n;
	char *buf = NULL;
	FILE *f = fopen(data, "r");
	buf = malloc((size_t)st.st_size);
	n = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	for (size_t len = 1; len < n; len += (len < 64 ? 7 : n / 9)) {
		f = fopen(cut, "w");
		fwrite(buf, 1, len, f);
		fclose(f);
		char *a2[] = {CS_EXE, "report", "-i", cut, NULL};
		expect_error(a2, 1, "cut.data");
	}
	free(buf);
	free(cut);
	free(data);
	h_tmpdir_free(dir);
}

/* Run argv as user nobody (setpriv, from util-linux). */
static int as_nobody(char **argv, int timeout, char **err)
{
	char *full[32] = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
	size_t k = 4;
	for (size_t i = 0; argv[i] && k < 31; i++)
		full[k++] = argv[i];
	full[k] = NULL;
	return h_run(full, timeout, NULL, err);
}

/* A directory nobody can use, holding copies of csampler and cs_t_cpu3: the build
 * itself may be in a directory nobody may enter (a checkout in /root). */
static char *nobody_dir(char **exe, char **target)
{
	char *dir = h_tmpdir();
	cr_assert_eq(chmod(dir, 0777), 0);
	*exe = h_copy_exe(CS_EXE, dir, "csampler");
	*target = h_copy_exe(TARGET("cs_t_cpu3"), dir, "cs_t_cpu3");
	return dir;
}

static void require_setpriv_and_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("changing to another user needs root");
	if (access("/usr/bin/setpriv", X_OK) != 0)
		cr_skip_test("setpriv (util-linux) is not installed");
}

Test(errors, permission_denied_names_the_fix)
{
	require_setpriv_and_root();
	char *exe, *target, *dir = nobody_dir(&exe, &target);
	char *argv[] = {exe, "record", "-p", "1", "-d", "1", "-o", "/tmp/cs-never.data", NULL};
	char *err;
	int st = as_nobody(argv, 30, &err);
	cr_expect_eq(st, 1, "%s", err);
	cr_expect_eq(lines(err), 1, "%s", err);
	cr_expect(strstr(err, "permission denied"), "%s", err);
	cr_expect(strstr(err, "CAP_SYS_PTRACE") && strstr(err, "kernel.perf_event_paranoid"), "%s",
		  err);
	free(err);
	free(exe);
	free(target);
	h_tmpdir_free(dir);
}

Test(errors, unprivileged_user_records_own_process)
{
	require_setpriv_and_root();
	h_require_perf();
	char *exe, *target, *dir = nobody_dir(&exe, &target);
	char *data = h_path(dir, "np.data");
	/* the target runs as nobody too */
	char *targ[] = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
			target, NULL};
	struct h_proc t;
	h_start(&t, targ);
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	char *argv[] = {exe, "record", "-p", pid, "-d", "1", "-o", data, NULL};
	char *err;
	int st = as_nobody(argv, 30, &err);
	cr_expect_eq(st, 0, "%s", err);
	cr_expect(strstr(err, "kernel frames not recorded"), "the summary says what is missing: %s",
		  err);
	free(err);
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0);
	struct h_folded f;
	h_fold(data, NULL, &f);
	cr_expect_gt(h_with_seq(&f, "main;work_a;burn_a"), 0);
	h_folded_free(&f);
	free(data);
	free(exe);
	free(target);
	h_tmpdir_free(dir);
}
