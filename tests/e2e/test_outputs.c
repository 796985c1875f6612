/* Outputs and caches as root in hostile directories: a link planted at any temporary
 * name is never written through; devices, FIFOs and /dev/stdout are written in place,
 * never replaced; a killed command leaves nothing behind; the cache is refused when it
 * is not private and its entries are checksummed; a FIFO planted where debug info is
 * looked up does not block record. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define FOLDED "main;a;b 10\nmain;c 5\n"

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

TestSuite(outputs, .init = setup, .fini = teardown, .timeout = 300);

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert(f, "cannot create %s", path);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

static int is_text(const char *path, const char *text)
{
	char *s = h_read_file(path, NULL);
	int ok = s && !strcmp(s, text);
	free(s);
	return ok;
}

/* The command that writes out from the folded input in (record ignores in). */
enum cmd { FOLD, FLAME, REPORT, RECORD, N_CMDS };
static const char *const cmd_names[] = {"fold", "flame", "report", "record"};

static void command(enum cmd c, const char *in, const char *out, char **argv)
{
	char *const v[N_CMDS][9] = {
	    {CS_EXE, "fold", "-i", (char *)in, "-o", (char *)out, NULL},
	    {CS_EXE, "flame", "-i", (char *)in, (char *)out, NULL},
	    {CS_EXE, "report", "-i", (char *)in, "-o", (char *)out, NULL},
	    {CS_EXE, "record", "-q", "-o", (char *)out, "--", TARGET("cs_t_cpu3"), "0.2", NULL},
	};
	memcpy(argv, v[c], sizeof(v[c]));
}

/* Does the output of command c look complete? */
static int output_ok(enum cmd c, const char *data, size_t n)
{
	switch (c) {
	case FOLD:
		return data && strstr(data, "main;a;b 10");
	case FLAME:
		return data && strstr(data, "<svg") && strstr(data, "</svg>");
	case REPORT:
		return data && strstr(data, "main");
	default:
		return data && n > 8 && !memcmp(data, "CSAMPLER", 8);
	}
}

/* Start argv (stdout to /dev/null, stderr to a pipe) held before exec until
 * gate_open(): its PID, which it keeps across exec, is known before it runs. */
static pid_t gated_spawn(char *const argv[], int *gate, int *err_fd)
{
	int g[2], e[2];
	cr_assert_eq(pipe2(g, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(e, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char c;
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(e[1], 2);
		close(g[1]);
		if (read(g[0], &c, 1) != 1)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	close(g[0]);
	close(e[1]);
	*gate = g[1];
	*err_fd = e[0];
	return pid;
}

static void gate_open(int gate)
{
	cr_assert_eq(write(gate, "x", 1), 1);
	close(gate);
}

/* Names a writer might use for a temporary next to out, for the process pid. */
static size_t temp_names(const char *out, pid_t pid, char names[][PATH_MAX])
{
	const char *slash = strrchr(out, '/');
	const char *base = slash + 1;
	int dl = (int)(slash - out);
	static const char *const suffix[] = {".tmp", ".new", "~", ".part", ".swp", ".bak", ".temp"};
	size_t n = 0;
	for (int d = -2; d <= 2; d++) {
		snprintf(names[n++], PATH_MAX, "%s.tmp.%d", out, (int)pid + d);
		snprintf(names[n++], PATH_MAX, "%s.%d", out, (int)pid + d);
		snprintf(names[n++], PATH_MAX, "%s.tmp-%d", out, (int)pid + d);
		snprintf(names[n++], PATH_MAX, "%.*s/.%s.%d", dl, out, base, (int)pid + d);
	}
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(names[n++], PATH_MAX, "%s%s", out, suffix[i]);
		snprintf(names[n++], PATH_MAX, "%.*s/.%s%s", dl, out, base, suffix[i]);
	}
	return n;
}
#define MAX_NAMES 64

/* Plant at every temporary name of out, for the process that will write it: links to
 * victim (as_files: regular files holding "keep") ; run; check that nothing planted
 * changed, the output is complete and nothing else appeared. */
static void planted(enum cmd c, int as_files)
{
	char *in = h_path(dir, "in.folded"), *out = h_path(dir, "out");
	char *victim = h_path(dir, "victim");
	put(in, FOLDED);
	put(victim, "precious\n");
	char *argv[9];
	command(c, in, out, argv);
	int gate, err_fd;
	pid_t pid = gated_spawn(argv, &gate, &err_fd);
	static char names[MAX_NAMES][PATH_MAX];
	size_t n = temp_names(out, pid, names);
	for (size_t i = 0; i < n; i++) {
		if (as_files)
			put(names[i], "keep\n");
		else
			cr_assert_eq(symlink(victim, names[i]), 0, "%s", strerror(errno));
	}
	gate_open(gate);
	char *err;
	int st = h_collect(pid, err_fd, 120, &err);
	cr_expect(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s -o with %s planted: %s",
		  cmd_names[c], as_files ? "files" : "links", err);
	free(err);
	cr_expect(is_text(victim, "precious\n"), "%s wrote through a planted link", cmd_names[c]);
	size_t len;
	char *data = h_read_file(out, &len);
	struct stat ls;
	cr_expect(lstat(out, &ls) == 0 && S_ISREG(ls.st_mode) && output_ok(c, data, len),
		  "%s: incomplete output", cmd_names[c]);
	free(data);
	for (size_t i = 0; i < n; i++) {
		char target[PATH_MAX] = "";
		if (as_files) {
			cr_expect(is_text(names[i], "keep\n"), "%s changed %s", cmd_names[c],
				  names[i]);
		} else {
			ssize_t r = readlink(names[i], target, sizeof(target) - 1);
			cr_expect(r > 0 && !strcmp(target, victim), "%s removed link %s",
				  cmd_names[c], names[i]);
		}
	}
	/* nothing but what we put there */
	DIR *d = opendir(dir);
	size_t entries = 0;
	for (struct dirent *e; (e = readdir(d));)
		entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	cr_expect_eq(entries, n + 3, "%s left %zu extra files", cmd_names[c], entries - (n + 3));
	free(in);
	free(out);
	free(victim);
}

Test(outputs, planted_links_at_temporary_names_are_never_followed)
{
	for (int c = FOLD; c < RECORD; c++) {
		planted(c, 0);
		h_tmpdir_free(dir);
		dir = h_tmpdir();
	}
}

Test(outputs, files_at_temporary_names_are_left_alone)
{
	for (int c = FOLD; c < RECORD; c++) {
		planted(c, 1);
		h_tmpdir_free(dir);
		dir = h_tmpdir();
	}
}

Test(outputs, record_never_follows_planted_links)
{
	h_require_perf();
	planted(RECORD, 0);
	h_tmpdir_free(dir);
	dir = h_tmpdir();
	planted(RECORD, 1);
}

static int run_ok(char *const argv[], char **out)
{
	char *err;
	int st = h_run(argv, 120, out, &err);
	cr_expect_eq(st, 0, "%s %s: %s", argv[1], argv[2], err);
	free(err);
	return st == 0;
}

/* A character device (a private copy of /dev/null) stays one. */
Test(outputs, character_device_written_in_place)
{
	char *null = h_path(dir, "null"), *in = h_path(dir, "in.folded");
	put(in, FOLDED);
	if (mknod(null, S_IFCHR | 0666, makedev(1, 3)) < 0)
		cr_skip_test("cannot make a device node here (%s)", strerror(errno));
	int good = 1;
	for (int c = FOLD; c < N_CMDS; c++) {
		if (c == RECORD && geteuid() != 0)
			continue;
		char *argv[9];
		command(c, in, null, argv);
		good &= run_ok(argv, NULL);
		struct stat st;
		int chr =
		    lstat(null, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
		cr_expect(chr, "%s -o DEVICE replaced the device", cmd_names[c]);
		good &= chr;
	}
	/* Only once the copy survived, and only if it is whole now: the real /dev/null,
	 * shared with the machine. */
	struct stat st;
	if (good && lstat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode)) {
		char *argv[] = {CS_EXE, "fold", "-i", in, "-o", "/dev/null", NULL};
		run_ok(argv, NULL);
		cr_expect(lstat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
	}
	free(null);
	free(in);
}

/* A reader on a FIFO gets the whole output; the FIFO stays a FIFO. */
Test(outputs, fifo_written_in_place)
{
	char *fifo = h_path(dir, "fifo"), *got = h_path(dir, "got"), *in = h_path(dir, "in.folded");
	put(in, FOLDED);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	for (int c = FOLD; c < N_CMDS; c++) {
		if (c == RECORD) {
			struct stat st;
			if (stat(TARGET("cs_t_cpu3"), &st) < 0)
				continue;
			h_require_perf();
		}
		pid_t reader = fork();
		cr_assert_geq(reader, 0);
		if (reader == 0) {
			int fd = open(fifo, O_RDONLY),
			    o = open(got, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			char buf[65536];
			ssize_t r;
			while (fd >= 0 && (r = read(fd, buf, sizeof(buf))) > 0)
				if (write(o, buf, (size_t)r) != r)
					_exit(1);
			_exit(fd < 0);
		}
		char *argv[9];
		command(c, in, fifo, argv);
		run_ok(argv, NULL);
		/* a reader that never saw a writer (the FIFO was replaced) is stopped */
		int st, waited = 0;
		while (waitpid(reader, &st, WNOHANG) == 0 && waited++ < 1000)
			usleep(10000);
		if (waited > 1000) {
			kill(reader, SIGKILL);
			waitpid(reader, &st, 0);
		}
		size_t len;
		char *data = h_read_file(got, &len);
		cr_expect(output_ok(c, data, len), "%s -o FIFO: the reader got %zu bytes",
			  cmd_names[c], len);
		free(data);
		struct stat fs;
		cr_expect(lstat(fifo, &fs) == 0 && S_ISFIFO(fs.st_mode), "%s replaced the FIFO",
			  cmd_names[c]);
	}
	free(fifo);
	free(got);
	free(in);
}

/* Links of our own to standard output (as /dev/stdout is) write to it, and stay links. */
Test(outputs, stdout_links_write_to_stdout)
{
	char *in = h_path(dir, "in.folded"), *link = h_path(dir, "so"), *file = h_path(dir, "f");
	put(in, FOLDED);
	cr_assert_eq(symlink("/proc/self/fd/1", link), 0);
	char *out, *err;
	int good = 1;
	char *fold[] = {CS_EXE, "fold", "-i", in, "-o", link, NULL};
	good &= run_ok(fold, &out) && strstr(out, "main;a;b 10");
	free(out);
	char *flame[] = {CS_EXE, "flame", "-i", in, link, NULL};
	good &= run_ok(flame, &out) && strstr(out, "</svg>");
	free(out);
	/* standard output redirected to a regular file: written through that descriptor */
	char *sh[] = {"/bin/sh", "-c", "exec \"$0\" fold -i \"$1\" -o \"$2\" > \"$3\"",
		      CS_EXE,	 in,   link,
		      file,	 NULL};
	good &= run_ok(sh, NULL) && is_text(file, "main;a;b 10\nmain;c 5\n");
	struct stat st;
	good &= lstat(link, &st) == 0 && S_ISLNK(st.st_mode);
	cr_expect(good, "a link to /proc/self/fd/1 was not written through, or was replaced");
	/* Only once the private link survived: the machine's own /dev/stdout. */
	if (good && lstat("/dev/stdout", &st) == 0 && S_ISLNK(st.st_mode)) {
		char *dev[] = {CS_EXE, "fold", "-i", in, "-o", "/dev/stdout", NULL};
		cr_expect(run_ok(dev, &out) && strstr(out, "main;c 5"));
		free(out);
		cr_expect(lstat("/dev/stdout", &st) == 0 && S_ISLNK(st.st_mode));
	}
	(void)err;
	free(in);
	free(link);
	free(file);
}

/* A link at the output name that leads to a regular file, or that belongs to someone
 * else, is replaced: the file it leads to is never written. */
Test(outputs, link_at_output_name_is_replaced)
{
	char *in = h_path(dir, "in.folded"), *victim = h_path(dir, "victim");
	char *out = h_path(dir, "out"), *null = h_path(dir, "null"), *out2 = h_path(dir, "out2");
	put(in, FOLDED);
	put(victim, "precious\n");
	cr_assert_eq(symlink(victim, out), 0);
	char *fold[] = {CS_EXE, "fold", "-i", in, "-o", out, NULL};
	run_ok(fold, NULL);
	struct stat st;
	cr_expect(is_text(victim, "precious\n"));
	cr_expect(lstat(out, &st) == 0 && S_ISREG(st.st_mode) && is_text(out, FOLDED));
	if (geteuid() == 0 && mknod(null, S_IFCHR | 0666, makedev(1, 3)) == 0) {
		cr_assert_eq(symlink(null, out2), 0);
		cr_assert_eq(lchown(out2, 65534, 65534), 0);
		char *f2[] = {CS_EXE, "fold", "-i", in, "-o", out2, NULL};
		run_ok(f2, NULL);
		cr_expect(lstat(out2, &st) == 0 && S_ISREG(st.st_mode) && is_text(out2, FOLDED),
			  "a link of another user's was followed");
		cr_expect(lstat(null, &st) == 0 && S_ISCHR(st.st_mode));
	}
	free(in);
	free(victim);
	free(out);
	free(null);
	free(out2);
}

/* Has pid a file in dir other than skip open? 0: no; 1: yes, by name; 2: yes, a file
 * without a name (O_TMPFILE). */
static int has_output_open(pid_t pid, const char *skip)
{
	char fds[64], link[PATH_MAX + 32], target[PATH_MAX];
	snprintf(fds, sizeof(fds), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(fds);
	int found = 0;
	for (struct dirent *e; d && !found && (e = readdir(d));) {
		snprintf(link, sizeof(link), "%s/%s", fds, e->d_name);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (!strncmp(target, dir, strlen(dir)) && target[strlen(dir)] == '/' &&
		    strcmp(target, skip))
			found = strstr(target, " (deleted)") ? 2 : 1;
	}
	if (d)
		closedir(d);
	return found;
}

/* Can files without a name be made in dir? */
static int tmpfile_works(void)
{
	int fd = open(dir, O_TMPFILE | O_WRONLY, 0600);
	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

/* Kill the command with sig while its output is open; nothing may remain but the input. */
static void killed_leaves_nothing(enum cmd c, int sig)
{
	char *in = h_path(dir, "in.folded"), *out = h_path(dir, "out");
	for (int attempt = 0, lines = 300000; attempt < 4; attempt++, lines *= 2) {
		FILE *f = fopen(in, "w");
		for (int i = 0; i < lines; i++)
			fprintf(f, "main;f%d;g%d;h%d %d\n", i % 1000, i % 7919, i, 1 + i % 5);
		fclose(f);
		char *argv[9];
		command(c, in, out, argv);
		int err_fd, st;
		pid_t pid = h_spawn(argv, &err_fd);
		int caught = 0;
		while (!caught && waitpid(pid, &st, WNOHANG) == 0) {
			caught = has_output_open(pid, in);
			if (caught == 1 && sig == SIGKILL && !tmpfile_works()) {
				kill(pid, SIGKILL);
				h_collect(pid, err_fd, 60, NULL);
				cr_skip_test(
				    "no O_TMPFILE here: a temporary killed by SIGKILL has a name");
			}
			if (caught)
				kill(pid, sig);
			else
				usleep(500);
		}
		if (!caught) { /* it finished first: try a larger input */
			close(err_fd);
			unlink(out);
			continue;
		}
		st = h_collect(pid, err_fd, 60, NULL);
		cr_expect(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == sig, "%s: status %#x",
			  cmd_names[c], st);
		DIR *d = opendir(dir);
		for (struct dirent *e; (e = readdir(d));)
			cr_expect(!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
				      !strcmp(e->d_name, "in.folded"),
				  "%s killed by signal %d left '%s'", cmd_names[c], sig, e->d_name);
		closedir(d);
		free(in);
		free(out);
		return;
	}
	cr_skip_test("%s always finished before it could be signalled", cmd_names[c]);
}

Test(outputs, sigterm_leaves_nothing_behind)
{
	killed_leaves_nothing(FOLD, SIGTERM);
	killed_leaves_nothing(FLAME, SIGTERM);
	killed_leaves_nothing(REPORT, SIGINT);
}

Test(outputs, sigkill_leaves_nothing_behind)
{
	killed_leaves_nothing(FLAME, SIGKILL);
}

/* ---- caches ---- */

/* Record cs_t_cpu3 with XDG_CACHE_HOME=cache; returns its stderr. */
static char *record_with_cache(const char *cache, const char *data)
{
	h_require_perf();
	setenv("XDG_CACHE_HOME", cache, 1);
	unsetenv("CSAMPLER_NO_CACHE");
	char *argv[] = {CS_EXE, "record", "-q", "-o", (char *)data, "--", TARGET("cs_t_cpu3"),
			"0.4",	NULL};
	char *err;
	int st = h_run(argv, 120, NULL, &err);
	cr_expect_eq(st, 0, "%s", err);
	return err;
}

static int lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static int empty_dir(const char *path)
{
	DIR *d = opendir(path);
	int n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	return d && !n;
}

Test(outputs, symlinked_cache_directory_is_refused)
{
	char *cache = h_path(dir, "cache"), *elsewhere = h_path(dir, "elsewhere");
	char *link = h_path(cache, "csampler"), *data = h_path(dir, "r.data");
	cr_assert_eq(mkdir(cache, 0700), 0);
	cr_assert_eq(mkdir(elsewhere, 0700), 0);
	cr_assert_eq(symlink(elsewhere, link), 0);
	char *err = record_with_cache(cache, data);
	cr_expect_eq(lines(err), 1, "want one line: %s", err);
	cr_expect(strstr(err, "not using the cache") && strstr(err, "symbolic link"), "%s", err);
	cr_expect(empty_dir(elsewhere), "the cache was written through a link");
	free(err);
	free(cache);
	free(elsewhere);
	free(link);
	free(data);
}

Test(outputs, foreign_cache_directory_is_refused)
{
	if (geteuid() != 0)
		cr_skip_test("giving a directory to another user needs root");
	char *cache = h_path(dir, "cache"), *mine = h_path(cache, "csampler");
	char *data = h_path(dir, "r.data");
	cr_assert_eq(mkdir(cache, 0700), 0);
	cr_assert_eq(mkdir(mine, 0700), 0);
	cr_assert_eq(chown(mine, 65534, 65534), 0);
	char *err = record_with_cache(cache, data);
	cr_expect_eq(lines(err), 1, "want one line: %s", err);
	cr_expect(strstr(err, "not using the cache") && strstr(err, "another user"), "%s", err);
	cr_expect(empty_dir(mine), "root wrote into another user's cache");
	free(err);
	/* the same for a directory on the way that others may write */
	char *open_dir = h_path(dir, "open");
	cr_assert_eq(mkdir(open_dir, 0700), 0);
	cr_assert_eq(chmod(open_dir, 0777), 0);
	err = record_with_cache(open_dir, data);
	cr_expect(lines(err) == 1 && strstr(err, "writable by other users"), "%s", err);
	cr_expect(empty_dir(open_dir));
	free(err);
	free(open_dir);
	free(cache);
	free(mine);
	free(data);
}

/* Replace every "work_a" in the files under path by "pwned!" (same length). */
static int edit_entries(const char *path)
{
	DIR *d = opendir(path);
	int edited = 0;
	for (struct dirent *e; d && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char *p = h_path(path, e->d_name);
		size_t n;
		char *s = h_read_file(p, &n);
		int hit = 0;
		for (size_t i = 0; s && i + 6 <= n; i++)
			if (!memcmp(s + i, "work_a", 6)) {
				memcpy(s + i, "pwned!", 6);
				hit = 1;
			}
		if (hit) {
			int fd = open(p, O_WRONLY);
			cr_assert(fd >= 0 && pwrite(fd, s, n, 0) == (ssize_t)n);
			close(fd);
			edited++;
		}
		free(s);
		free(p);
	}
	if (d)
		closedir(d);
	return edited;
}

Test(outputs, edited_cache_entry_is_rebuilt)
{
	char *cache = h_path(dir, "cache"), *data = h_path(dir, "r.data");
	char *syms = h_path(cache, "csampler/syms");
	cr_assert_eq(mkdir(cache, 0700), 0);
	free(record_with_cache(cache, data));
	cr_assert_gt(edit_entries(syms), 0, "no cache entry names work_a");
	free(record_with_cache(cache, data));
	struct h_folded f;
	h_fold(data, NULL, &f);
	cr_expect_gt(h_with_seq(&f, "main;work_a;burn_a"), 0);
	cr_expect_eq(h_with_frame(&f, "pwned!"), 0, "an edited cache entry named frames");
	h_folded_free(&f);
	free(cache);
	free(data);
	free(syms);
}

/* ---- debug info ---- */

static void sh(const char *cmd)
{
	char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	char *err;
	cr_assert_eq(h_run(argv, 60, NULL, &err), 0, "%s: %s", cmd, err);
	free(err);
}

/* record with a FIFO at every place the .gnu_debuglink name is looked up, with the
 * cache and without: it ends in time with the right names. */
Test(outputs, fifo_at_debuglink_path_does_not_block_record)
{
	h_require_perf();
	if (access("/usr/bin/objcopy", X_OK) != 0)
		cr_skip_test("objcopy (binutils) is not installed");
	char *cmd;
	cr_assert(asprintf(&cmd,
			   "cd '%s' && cp '%s' prog && objcopy --only-keep-debug prog prog.debug &&"
			   " objcopy --strip-debug --add-gnu-debuglink=prog.debug prog &&"
			   " mkdir .debug && mv prog.debug .debug/",
			   dir, TARGET("cs_t_cpu3")) > 0);
	sh(cmd);
	free(cmd);
	char *prog = h_path(dir, "prog"), *data = h_path(dir, "r.data");
	char *cache = h_path(dir, "cache");
	cr_assert_eq(mkdir(cache, 0700), 0);
	setenv("XDG_CACHE_HOME", cache, 1);
	/* first the real debug file in .debug/: found, so lines come from it */
	char *argv[] = {CS_EXE, "record", "-q", "-o", data, "--", prog, "0.3", NULL};
	cr_assert_eq(h_run(argv, 120, NULL, NULL), 0);
	char *rep[] = {CS_EXE, "report", "-i", data, "--by", "line", "--top", "0", NULL};
	char *out;
	cr_assert_eq(h_run(rep, 60, &out, NULL), 0);
	cr_expect(strstr(out, "cpu3.c:"), "the .gnu_debuglink file was not found: %s", out);
	free(out);
	cr_assert(asprintf(&cmd,
			   "cd '%s' && rm .debug/prog.debug && mkfifo .debug/prog.debug "
			   "prog.debug",
			   dir) > 0);
	sh(cmd);
	free(cmd);
	for (int no_cache = 0; no_cache < 2; no_cache++) {
		if (no_cache)
			setenv("CSAMPLER_NO_CACHE", "1", 1);
		unlink(data);
		char *err;
		int st = h_run(argv, 60, NULL, &err);
		cr_expect_eq(st, 0, "record with FIFOs at the debuglink paths%s: %s",
			     no_cache ? " (no cache)" : "", err);
		free(err);
		if (st == 0) {
			struct h_folded f;
			h_fold(data, NULL, &f);
			cr_expect_gt(h_with_seq(&f, "main;work_a;burn_a"), 0);
			h_folded_free(&f);
		}
	}
	/* the same for the dwz file named by a .gnu_debugaltlink */
	unsetenv("CSAMPLER_NO_CACHE");
	char *sec = h_path(dir, "altsec");
	FILE *f = fopen(sec, "w");
	cr_assert(f);
	fwrite("alt.debug\0"
	       "0123456789abcdefghij",
	       1, 30, f);
	fclose(f);
	cr_assert(asprintf(&cmd,
			   "cd '%s' && objcopy --add-section .gnu_debugaltlink=altsec prog "
			   "prog2 && mkdir .dwz && mkfifo alt.debug .dwz/alt.debug",
			   dir) > 0);
	sh(cmd);
	free(cmd);
	char *prog2 = h_path(dir, "prog2");
	argv[6] = prog2;
	char *err;
	cr_expect_eq(h_run(argv, 60, NULL, &err), 0, "FIFOs at the .gnu_debugaltlink paths: %s",
		     err);
	free(err);
	free(prog2);
	free(sec);
	free(prog);
	free(data);
	free(cache);
}
