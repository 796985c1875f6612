/* Bad input gives one clear line on stderr and a non-zero exit, never a crash and
 * never a partial file left looking complete. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
