/* End-to-end tests of JIT code: frames without CFI followed by their frame pointers
 * and named from the perf map or jitdump file the runtime writes (tests/targets/jit.c
 * generates such code; node --perf-basic-prof is the real thing). */
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
	h_require_perf();
	dir = h_tmpdir();
}

static void teardown(void)
{
	if (dir)
		h_tmpdir_free(dir);
	dir = NULL;
}

TestSuite(jit, .init = setup, .fini = teardown, .timeout = 180);

/* Record pid for secs seconds at 499 Hz, without -q; returns the recording's path and
 * the summary in *err. */
static char *record(pid_t pid, const char *secs, char **err)
{
	char *data = h_path(dir, "jit.data");
	char pidbuf[16];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	char *argv[] = {CS_EXE, "record",     "-p", pidbuf, "-F", "499",
			"-d",	(char *)secs, "-o", data,   NULL};
	int st = h_run(argv, 60, NULL, err);
	cr_assert_eq(st, 0, "record failed: %s", *err);
	return data;
}

static double share(uint64_t part, uint64_t total)
{
	return total ? (double)part / (double)total : 0;
}

static char *map_path(pid_t pid)
{
	char *p = malloc(64);
	snprintf(p, 64, "/tmp/perf-%d.map", (int)pid);
	return p;
}

Test(jit, frames_named_from_the_perf_map)
{
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_jit"), "map", NULL};
	h_start(&t, argv);
	char *err;
	char *data = record(t.pid, "2", &err);
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0);
	struct h_folded f;
	h_fold(data, NULL, &f);
	cr_assert_gt(f.total, 100, "%s", err);
	/* Named from the map (names hold spaces), and followed by the frame pointers
	 * through both generated functions back into main and to the root. */
	uint64_t named =
	    h_with_seq(&f, "main;JS:*jitOuter jit.js:1;JS:*jitInner jit.js:7;jit_callee");
	uint64_t rooted = h_with_prefix(&f, "_start;__libc_start_main");
	cr_expect_geq(share(named, f.total), 0.9, "named JIT frames: %.3f", share(named, f.total));
	cr_expect_geq(share(rooted, f.total), 0.95, "stacks from _start: %.3f",
		      share(rooted, f.total));
	if (share(named, f.total) < 0.9)
		h_folded_dump(&f, 10);
	cr_expect(strstr(err, "JIT functions named from '/tmp/perf-"), "%s", err);
	cr_expect_null(strstr(err, "no perf map"), "%s", err);
	free(err);
	h_folded_free(&f);
	free(data);
}

Test(jit, frames_named_from_a_jitdump_file)
{
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_jit"), "dump", dir, NULL};
	h_start(&t, argv);
	char *err;
	char *data = record(t.pid, "2", &err);
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0);
	struct h_folded f;
	h_fold(data, NULL, &f);
	cr_assert_gt(f.total, 100, "%s", err);
	uint64_t named = h_with_seq(&f, "main;dump:jitOuter;dump:jitInner;jit_callee");
	cr_expect_geq(share(named, f.total), 0.9, "named JIT frames: %.3f", share(named, f.total));
	cr_expect(strstr(err, ".dump' (2 functions)"), "%s", err);
	free(err);
	h_folded_free(&f);
	free(data);
}

/* The target deletes its map as it exits, before csampler's last read: the names
 * come from the file csampler opened while it ran. */
Test(jit, map_read_before_the_target_deletes_it)
{
	char *data = h_path(dir, "launch.data");
	char *argv[] = {CS_EXE, "record",	    "-F",  "499", "-o", data,
			"--",	TARGET("cs_t_jit"), "map", "2.5", NULL};
	char *err;
	cr_assert_eq(h_run(argv, 60, NULL, &err), 0, "%s", err);
	struct h_folded f;
	h_fold(data, NULL, &f);
	cr_assert_gt(f.total, 100, "%s", err);
	uint64_t named = h_with_seq(&f, "JS:*jitOuter jit.js:1;JS:*jitInner jit.js:7;jit_callee");
	cr_expect_geq(share(named, f.total), 0.8, "named JIT frames: %.3f", share(named, f.total));
	free(err);
	h_folded_free(&f);
	free(data);
}

Test(jit, code_without_a_map_is_followed_and_explained)
{
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_jit"), "nomap", NULL};
	h_start(&t, argv);
	char *err;
	char *data = record(t.pid, "2", &err);
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0);
	struct h_folded f;
	h_fold(data, NULL, &f);
	cr_assert_gt(f.total, 100, "%s", err);
	/* One [JIT] frame per unnamed function, and the stack goes on through it. */
	uint64_t through = h_with_seq(&f, "main;[JIT];[JIT];jit_callee");
	cr_expect_geq(share(through, f.total), 0.9, "stacks through unnamed JIT code: %.3f",
		      share(through, f.total));
	char want[96];
	snprintf(want, sizeof(want),
		 "samples ran JIT code that no perf map or jitdump file names "
		 "(process %d)",
		 (int)t.pid);
	cr_expect(strstr(err, want), "the summary says JIT code: %s", err);
	cr_expect(strstr(err, "--perf-basic-prof"), "%s", err);
	free(err);
	h_folded_free(&f);
	free(data);
}

/* A perf map that the target's user did not write is not believed. */
Test(jit, planted_perf_map_is_ignored)
{
	if (geteuid() != 0)
		cr_skip_test("giving a file to another user needs root");
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_jit"), "map", NULL};
	h_start(&t, argv);
	char *map = map_path(t.pid);
	cr_assert_eq(chown(map, 65534, 65534), 0, "chown %s", map);
	char *err;
	char *data = record(t.pid, "1", &err);
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0);
	unlink(map);
	char want[160];
	snprintf(want, sizeof(want), "ignoring JIT symbols in '%s': owned by uid 65534", map);
	cr_expect(strstr(err, want), "%s", err);
	struct h_folded f;
	h_fold(data, NULL, &f);
	cr_expect_eq(h_with_frame(&f, "JS:*jitOuter jit.js:1"), 0, "a planted name was used");
	cr_expect_gt(h_with_frame(&f, "[JIT]"), 0);
	free(err);
	h_folded_free(&f);
	free(data);
	free(map);
}

/* A symbolic link in /tmp is not followed. */
Test(jit, perf_map_symlink_is_ignored)
{
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_jit"), "map", NULL};
	h_start(&t, argv);
	char *map = map_path(t.pid);
	char *real = h_path(dir, "real.map");
	cr_assert_eq(rename(map, real), 0);
	cr_assert_eq(symlink(real, map), 0);
	char *err;
	char *data = record(t.pid, "1", &err);
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0);
	unlink(map);
	cr_expect(strstr(err, "it is a symbolic link"), "%s", err);
	struct h_folded f;
	h_fold(data, NULL, &f);
	cr_expect_eq(h_with_frame(&f, "JS:*jitOuter jit.js:1"), 0);
	free(err);
	h_folded_free(&f);
	free(data);
	free(real);
	free(map);
}

/* ---- node ---- */

static const char hot_js[] =
    "function hotLoop(n) {\n"
    "  let s = 0;\n"
    "  for (let i = 0; i < n; i++) s = (s * 31 + i) % 1000003;\n"
    "  return s;\n"
    "}\n"
    "function outer() { let t = 0; for (let k = 0; k < 50; k++) t += hotLoop(100000); "
    "return t; }\n"
    "let stop = false, acc = 0;\n"
    "process.on('SIGTERM', () => { stop = true; });\n"
    "console.log('ready ' + process.pid);\n"
    "function run() { const end = Date.now() + 200; while (Date.now() < end) acc += outer();\n"
    "  if (!stop) setImmediate(run); }\n"
    "run();\n";

static char *find_node(void)
{
	const char *path = getenv("PATH");
	char *copy = strdup(path ? path : "/usr/bin");
	char *save = NULL, *found = NULL;
	for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char *p = h_path(d, "node");
		if (access(p, X_OK) == 0)
			found = p;
		else
			free(p);
	}
	free(copy);
	return found;
}

struct node_run {
	uint64_t total, named, rooted;
	char *err;
};

static void profile_node(const char *node, int perf_map, struct node_run *out)
{
	char *js = h_path(dir, "hot.js");
	FILE *f = fopen(js, "w");
	cr_assert(f);
	fputs(hot_js, f);
	fclose(f);
	char *argv[] = {(char *)node, perf_map ? "--perf-basic-prof" : js, perf_map ? js : NULL,
			NULL};
	struct h_proc t;
	h_start(&t, argv);
	char *data = record(t.pid, "2", &out->err);
	cr_expect_eq(h_stop(&t, SIGTERM, 10000), 0, "node ended badly");
	char *map = map_path(t.pid);
	unlink(map); /* node leaves it behind */
	free(map);
	struct h_folded fo;
	h_fold(data, NULL, &fo);
	out->total = fo.total;
	out->named = 0;
	/* V8's optimizing compiler may inline hotLoop into outer; either is the script's
	 * own code named from the map ('*' optimized, '~' interpreted, '^' baseline). */
	static const char *const named[] = {"*hotLoop ", "~hotLoop ", "^hotLoop ",
					    "*outer ",	 "~outer ",   "^outer "};
	for (size_t i = 0; i < fo.n; i++)
		for (size_t k = 0; k < sizeof named / sizeof *named; k++)
			if (strstr(fo.stack[i], named[k])) {
				out->named += fo.count[i];
				break;
			}
	/* the main thread starts in _start, node's other threads in clone3 */
	out->rooted = h_with_prefix(&fo, "_start;") + h_with_prefix(&fo, "clone3;") +
		      h_with_prefix(&fo, "__clone3;");
	h_folded_free(&fo);
	free(data);
	free(js);
}

Test(jit, node_perf_basic_prof_names_js_functions)
{
	char *node = find_node();
	if (!node)
		cr_skip_test("node is not installed (scripts/deps.sh test installs it)");
	struct node_run with, without;
	profile_node(node, 1, &with);
	profile_node(node, 0, &without);
	cr_assert_gt(with.total, 200, "%s", with.err);
	cr_assert_gt(without.total, 200, "%s", without.err);
	/* JS functions are named from node's map (JS:*hotLoop, or LazyCompile:*hotLoop in
	 * older versions), and the stacks go through JIT code to the root either way. */
	cr_expect_geq(share(with.named, with.total), 0.5,
		      "samples in the named script functions: %.3f\n%s",
		      share(with.named, with.total), with.err);
	cr_expect_eq(without.named, 0);
	cr_expect_geq(share(with.rooted, with.total), 0.9, "rooted with the map: %.3f\n%s",
		      share(with.rooted, with.total), with.err);
	cr_expect_geq(share(without.rooted, without.total), 0.9, "rooted without it: %.3f\n%s",
		      share(without.rooted, without.total), without.err);
	cr_expect(strstr(without.err, "JIT code that no perf map"), "%s", without.err);
	cr_expect(strstr(with.err, "JIT functions named from '/tmp/perf-"), "%s", with.err);
	free(with.err);
	free(without.err);
	free(node);
}
