/* End-to-end tests of what heaptrack and valgrind users expect of `csampler leaks`:
 * the heap's peak (bytes and when), allocations and temporary allocations per stack
 * against a target whose figures are known exactly (tests/targets/heap_known.c) and
 * against heaptrack on the same target; the timeline of tracked bytes next to RSS;
 * stacks with the same resolved frames merged into one site; flamegraphs of each
 * cost; every process of a launched command (fork, exec) reported on its own; and
 * recordings of the earlier format still read. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"

#define KNOWN TARGET("cs_t_heap_known")

/* The known figures of heap_known known (see the target). */
#define ALLOCS	  2250
#define TEMPORARY 1000
#define PEAK	  2003201
#define LEAKED	  3200

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

TestSuite(leaks_heap, .init = setup, .fini = teardown, .timeout = 180);

/* Record `heap_known ARGS` with csampler leaks into a fresh file. */
static char *record(const char *name, const char *mode, const char *arg)
{
	char *data = h_path(dir, name);
	char *argv[] = {CS_EXE, "leaks", "-q",	"--interval", "60",	   "-o",
			data,	"--",	 KNOWN, (char *)mode, (char *)arg, NULL};
	char *err;
	int st = h_run(argv, 120, NULL, &err);
	cr_assert_eq(st, 0, "csampler leaks failed: %s", err);
	free(err);
	return data;
}

static char *report(const char *data, const char *a, const char *b, int json)
{
	char *argv[] = {CS_EXE,
			"report",
			"--leaks",
			"-i",
			(char *)data,
			"--top",
			"0",
			json ? "--format" : (char *)a,
			json ? "json" : (char *)b,
			json ? (char *)a : NULL,
			(char *)b,
			NULL};
	char *out, *err;
	int st = h_run(argv, 60, &out, &err);
	cr_assert_eq(st, 0, "report --leaks failed: %s", err);
	free(err);
	return out;
}

/* The number after "field": in the first object after pos, or -1. */
static long long field_after(const char *pos, const char *field)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\": ", field);
	const char *end = strchr(pos, '}');
	const char *f = strstr(pos, pat);
	if (!f || (end && f > end))
		return -1;
	return strtoll(f + strlen(pat), NULL, 10);
}

/* A field of the one site whose stack ends in fn (0 sites: -1; more: the test fails). */
static long long site_field(const char *json, const char *fn, const char *field)
{
	char pat[128];
	snprintf(pat, sizeof(pat), "\"%s\"], ", fn);
	const char *s = strstr(json, pat);
	if (!s)
		return -1;
	cr_assert_null(strstr(s + 1, pat), "one site ends in %s: %s", fn, json);
	return field_after(s, field);
}

/* ---- the truth ---- */

Test(leaks_heap, known_figures_peak_allocations_temporary)
{
	char *data = record("k.data", "known", NULL);
	char *json = report(data, "--cost", "allocations", 1);
	/* per stack */
	cr_expect_eq(site_field(json, "make_temporaries", "allocations"), 1000, "%s", json);
	cr_expect_eq(site_field(json, "make_temporaries", "temporary"), 1000);
	cr_expect_eq(site_field(json, "make_pairs", "allocations"), 1000);
	cr_expect_eq(site_field(json, "make_pairs", "temporary"), 0,
		     "freed after another allocation: not temporary");
	cr_expect_eq(site_field(json, "leak_some", "allocations"), 50);
	cr_expect_eq(site_field(json, "leak_some", "bytes"), LEAKED);
	cr_expect_eq(site_field(json, "leak_some", "peak_bytes"), LEAKED);
	cr_expect_eq(site_field(json, "build_peak", "allocations"), 200);
	cr_expect_eq(site_field(json, "build_peak", "temporary"), 0);
	cr_expect_eq(site_field(json, "build_peak", "peak_bytes"), PEAK - LEAKED);
	cr_expect_eq(site_field(json, "build_peak", "bytes"), 0);
	/* the process */
	const char *heap = strstr(json, "\"heap\": {");
	cr_assert(heap, "%s", json);
	cr_expect_eq(field_after(heap, "peak_bytes"), PEAK, "%s", heap);
	cr_expect_eq(field_after(heap, "allocations"), ALLOCS);
	cr_expect_eq(field_after(heap, "temporary"), TEMPORARY);
	/* when: the target reaches its peak 1.2 s after it starts (then holds it 2.2 s) */
	const char *pt = strstr(heap, "\"peak_time\": "), *ps = strstr(json, "\"start\": ");
	cr_assert(pt && ps);
	double when = strtod(pt + 13, NULL) - strtod(ps + 9, NULL);
	cr_expect(when >= 1.15 && when < 2.5, "the peak %.3f s after the start", when);
	free(json);

	/* The timeline: tracked bytes once a second next to RSS; while the peak is held the
	 * tracked heap is the peak and RSS holds it too (the blocks are written). */
	json = report(data, NULL, NULL, 1);
	const char *tl = strstr(json, "\"timeline\": {");
	cr_assert(tl, "%s", json);
	const char *tb = strstr(tl, "\"tracked_bytes\": ["), *rb = strstr(tl, "\"rss_bytes\": [");
	cr_assert(tb && rb, "tracked bytes and RSS side by side: %s", tl);
	int at_peak = 0, before = 0;
	char *p = (char *)tb + 18, *q = (char *)rb + 14;
	for (int i = 0; *p != ']' && i < 100; i++) {
		unsigned long long t = strtoull(p, &p, 10), r = strtoull(q, &q, 10);
		if (t == PEAK) {
			at_peak++;
			cr_expect_geq(r, PEAK, "RSS %llu while %llu bytes are tracked", r, t);
		}
		before += t == LEAKED;
		while (*p == ',' || *p == ' ')
			p++;
		while (*q == ',' || *q == ' ')
			q++;
	}
	cr_expect_geq(at_peak, 1, "a tick while the peak was held: %s", tl);
	cr_expect_geq(before, 1, "a tick before or after it: %s", tl);
	free(json);
	char *text = report(data, NULL, NULL, 0);
	cr_expect(strstr(text, "# heap: peak 1.9 MiB (2003201 bytes) at "), "%s", text);
	cr_expect(strstr(text, "2250 allocations"), "%s", text);
	cr_expect(strstr(text, "1000 temporary"), "%s", text);
	cr_expect(strstr(text, "# timeline, once a second: tracked heap next to the process's "
			       "resident memory (RSS)"),
		  "%s", text);
	cr_expect(strstr(text, "  <- most tracked"), "%s", text);
	free(text);
	free(data);
}

/* ---- heaptrack on the same target ---- */

/* Sum of heaptrack's folded stacks whose leaf is fn, for one cost. */
static long long ht_cost(const char *folded, const char *fn)
{
	long long sum = 0;
	char frame[128];
	snprintf(frame, sizeof(frame), "%s (", fn);
	for (const char *line = folded; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[4096];
		if (len < sizeof(buf)) {
			memcpy(buf, line, len);
			buf[len] = 0;
			char *val = strrchr(buf, ';'); /* "frames; VALUE" */
			if (val) {
				*val = 0;
				char *leaf = strrchr(buf, ';');
				leaf = leaf ? leaf + 1 : buf;
				if (!strncmp(leaf, frame, strlen(frame)))
					sum += strtoll(val + 1, NULL, 10);
			}
		}
		line += len + (nl ? 1 : 0);
	}
	return sum;
}

static char *heaptrack_print(const char *file, const char *cost)
{
	char *out = h_path(dir, cost);
	/* through sh: found on PATH */
	char *argv[] = {"/bin/sh",
			"-c",
			"exec heaptrack_print \"$@\"",
			"sh",
			"-f",
			(char *)file,
			"--flamegraph-cost-type",
			(char *)cost,
			"-F",
			out,
			NULL};
	char *err;
	cr_assert_eq(h_run(argv, 120, NULL, &err), 0, "heaptrack_print: %s", err);
	free(err);
	char *text = h_read_file(out, NULL);
	cr_assert(text);
	free(out);
	return text;
}

Test(leaks_heap, same_figures_as_heaptrack)
{
	if (system("command -v heaptrack >/dev/null && command -v heaptrack_print >/dev/null"))
		cr_skip_test(
		    "heaptrack is not installed (Debian package heaptrack; scripts/deps.sh "
		    "test installs it)");
	char *data = record("k.data", "known", NULL);
	char *json = report(data, "--cost", "allocations", 1);
	char *ht = h_path(dir, "ht");
	char *argv[] = {"/bin/sh", "-c", "exec heaptrack \"$@\"", "sh", "-o", ht, KNOWN,
			"known",   NULL};
	char *out, *err;
	int st = h_run(argv, 120, &out, &err);
	cr_assert_eq(st, 0, "heaptrack failed (%d): %s%s", st, out, err);
	free(out);
	free(err);
	char *file;
	cr_assert_geq(asprintf(&file, "%s.zst", ht), 0);
	if (access(file, R_OK)) {
		free(file);
		cr_assert_geq(asprintf(&file, "%s.gz", ht), 0);
	}
	cr_assert_eq(access(file, R_OK), 0, "heaptrack wrote no %s.zst or .gz", ht);
	static const char *const fns[] = {"make_temporaries", "make_pairs", "leak_some",
					  "build_peak"};
	/* heaptrack's costs and ours, per function, and the truth */
	static const struct {
		const char *cost, *field;
		long long truth[4];
	} costs[] = {
	    {"allocations", "allocations", {1000, 1000, 50, 200}},
	    {"temporary", "temporary", {1000, 0, 0, 0}},
	    {"peak", "peak_bytes", {0, 0, LEAKED, PEAK - LEAKED}},
	    {"leaked", "bytes", {0, 0, LEAKED, 0}},
	};
	long long ht_peak = 0;
	for (size_t c = 0; c < 4; c++) {
		char *folded = heaptrack_print(file, costs[c].cost);
		for (size_t k = 0; k < 4; k++) {
			long long theirs = ht_cost(folded, fns[k]);
			long long ours = site_field(json, fns[k], costs[c].field);
			cr_expect_eq(ours, costs[c].truth[k], "%s of %s: ours %lld, truth %lld",
				     costs[c].cost, fns[k], ours, costs[c].truth[k]);
			cr_expect_eq(theirs, costs[c].truth[k],
				     "%s of %s: heaptrack %lld, truth %lld", costs[c].cost, fns[k],
				     theirs, costs[c].truth[k]);
			cr_expect_eq(ours, theirs, "%s of %s: ours %lld, heaptrack %lld",
				     costs[c].cost, fns[k], ours, theirs);
			if (!strcmp(costs[c].cost, "peak"))
				ht_peak += theirs;
		}
		free(folded);
	}
	/* The heap's peak: heaptrack's program-wide figure also holds what its own
	 * libstdc++ allocated; the program's stacks' shares of it add up to ours. */
	const char *heap = strstr(json, "\"heap\": {");
	cr_assert(heap);
	cr_expect_eq(field_after(heap, "peak_bytes"), ht_peak);
	free(file);
	free(ht);
	free(json);
	free(data);
}

/* ---- merged sites ---- */

Test(leaks_heap, stacks_with_the_same_frames_are_one_site)
{
	char *data = record("p.data", "paths", NULL);
	char *json = report(data, NULL, NULL, 1);
	/* three calls on one line of three_paths: three stacks, one site */
	cr_expect_eq(site_field(json, "mk", "stacks"), 3, "%s", json);
	cr_expect_eq(site_field(json, "mk", "blocks"), 30);
	cr_expect_eq(site_field(json, "mk", "bytes"), 720);
	cr_expect_eq(site_field(json, "one_path", "stacks"), 1);
	cr_expect_eq(site_field(json, "one_path", "blocks"), 10);
	const char *snap = strstr(json, "\"sites\": [");
	int sites = 0;
	for (const char *s = snap; s && (s = strstr(s, "{\"frames\": ")); s++)
		sites++;
	cr_expect_eq(sites, 2, "%s", json);
	free(json);
	char *text = report(data, NULL, NULL, 0);
	cr_expect(strstr(text, "# 4 call stacks are 2 sites"), "%s", text);
	cr_expect(strstr(text, " [3 call stacks]\n"), "%s", text);
	free(text);
	free(data);
}

/* ---- flamegraphs of each cost ---- */

/* The count in the <title> of frame fn in the SVG ("fn (1,000 allocations, ..."). */
static long long svg_count(const char *svg, const char *fn, const char *unit)
{
	char pat[128];
	snprintf(pat, sizeof(pat), "<title>%s (", fn);
	const char *t = strstr(svg, pat);
	if (!t)
		return -1;
	t += strlen(pat);
	long long v = 0;
	for (; *t && *t != ' '; t++)
		if (*t >= '0' && *t <= '9')
			v = v * 10 + (*t - '0');
	return strncmp(t + 1, unit, strlen(unit)) ? -2 : v;
}

static char *flame(const char *data, const char *cost)
{
	char *svg = h_path(dir, cost);
	char *argv[] = {CS_EXE, "flame",      "--leaks", "--cost", (char *)cost,
			"-i",	(char *)data, svg,	 NULL};
	char *err;
	cr_assert_eq(h_run(argv, 60, NULL, &err), 0, "flame --cost %s: %s", cost, err);
	free(err);
	char *text = h_read_file(svg, NULL);
	cr_assert(text);
	free(svg);
	return text;
}

Test(leaks_heap, flamegraphs_of_each_cost)
{
	char *data = record("k.data", "known", NULL);
	char *svg = flame(data, "allocations");
	cr_expect_eq(svg_count(svg, "all", "allocations"), ALLOCS);
	cr_expect_eq(svg_count(svg, "make_temporaries", "allocations"), 1000);
	cr_expect_eq(svg_count(svg, "make_pairs", "allocations"), 1000);
	cr_expect_eq(svg_count(svg, "build_peak", "allocations"), 200);
	cr_expect_eq(svg_count(svg, "leak_some", "allocations"), 50);
	cr_expect(strstr(svg, ">Allocations</text>"), "the title says what is drawn");
	free(svg);
	svg = flame(data, "temporary");
	cr_expect_eq(svg_count(svg, "all", "allocations"), TEMPORARY);
	cr_expect_eq(svg_count(svg, "make_temporaries", "allocations"), 1000);
	cr_expect_eq(svg_count(svg, "make_pairs", "allocations"), -1, "no temporary there");
	free(svg);
	svg = flame(data, "peak");
	cr_expect_eq(svg_count(svg, "all", "bytes"), PEAK);
	cr_expect_eq(svg_count(svg, "build_peak", "bytes"), PEAK - LEAKED);
	cr_expect_eq(svg_count(svg, "leak_some", "bytes"), LEAKED);
	free(svg);
	svg = flame(data, "leaked");
	cr_expect_eq(svg_count(svg, "all", "bytes"), LEAKED);
	cr_expect_eq(svg_count(svg, "build_peak", "bytes"), -1, "nothing of it leaked");
	free(svg);
	/* report --leaks sorts by the same costs */
	char *text = report(data, "--cost", "allocations", 0);
	const char *a = strstr(text, "  1. 1000 allocations"),
		   *b = strstr(text, "  3. 200 allocations"),
		   *c = strstr(text, "  4. 50 allocations");
	cr_expect(a && b && c && a < b && b < c, "sorted by allocations: %s", text);
	free(text);
	text = report(data, "--cost", "peak", 0);
	cr_expect(strstr(text, "  1. 2000001 bytes at the peak"), "%s", text);
	free(text);
	free(data);
}

/* ---- children ---- */

Test(leaks_heap, fork_and_exec_children_report_their_own_leaks)
{
	char *data = record("f.data", "fork", KNOWN);
	char *json = report(data, NULL, NULL, 1);
	const char *procs = strstr(json, "\"processes\": [");
	cr_assert(procs, "the other processes: %s", json);
	/* the parent, at the top level: its own leaks only */
	char *top = strndup(json, (size_t)(procs - json));
	cr_expect_eq(site_field(top, "leak_some", "bytes"), LEAKED, "%s", top);
	cr_expect_null(strstr(top, "child_leak"), "%s", top);
	cr_expect_null(strstr(top, "child_exec_leak"), "%s", top);
	long long parent = field_after(strstr(top, "\"process\": {"), "pid");
	/* the forked child: what it leaked after the fork, none of its parent's blocks */
	cr_expect_eq(site_field(procs, "child_leak", "bytes"), 7 * 99, "%s", procs);
	cr_expect_eq(site_field(procs, "child_leak", "blocks"), 7);
	/* the program a child exec'd */
	cr_expect_eq(site_field(procs, "child_exec_leak", "bytes"), 11 * 77);
	cr_expect_eq(site_field(procs, "child_exec_leak", "blocks"), 11);
	cr_expect_null(strstr(procs, "\"leak_some\""), "%s", procs);
	int children = 0;
	char pat[64];
	snprintf(pat, sizeof(pat), "\"ppid\": %lld,", parent);
	for (const char *s = procs; (s = strstr(s, pat)); s++)
		children++;
	cr_expect_eq(children, 2, "both children name their parent: %s", procs);
	free(top);
	free(json);
	/* the text report has one section per process; flame --leaks one root each */
	char *text = report(data, NULL, NULL, 0);
	cr_expect(strstr(text, "# ======== process 3 of 3 ========"), "%s", text);
	free(text);
	char *svg = h_path(dir, "f.svg");
	char *argv[] = {CS_EXE, "flame", "--leaks", "-i", data, svg, NULL};
	cr_assert_eq(h_run(argv, 60, NULL, NULL), 0);
	char *s = h_read_file(svg, NULL);
	snprintf(pat, sizeof(pat), "<title>cs_t_heap_known-%lld (3,200 bytes", parent);
	cr_expect(s && strstr(s, pat), "a root frame per process: %s", pat);
	free(s);
	free(svg);
	free(data);
}

/* ---- recordings of the earlier format ---- */

/* The recording at path without its LEAKS2 section (type 20), as a csampler before it
 * wrote: sections are u32 type, u32 flags, u64 raw size, u64 stored size, u32 crc,
 * u32 0, then the stored bytes; the END section's crc covers everything before it. */
static void strip_leaks2(const char *path)
{
	size_t n;
	char *in = h_read_file(path, &n);
	cr_assert(in && n > 32);
	char *out = malloc(n);
	memcpy(out, in, 32);
	size_t o = 32, i = 32;
	int dropped = 0;
	for (;;) {
		cr_assert_leq(i + 32, n);
		uint32_t type;
		uint64_t stored;
		memcpy(&type, in + i, 4);
		memcpy(&stored, in + i + 16, 8);
		if (type == 0x454e44) {
			uint32_t crc = (uint32_t)crc32(0, (const Bytef *)out, (uInt)o);
			memcpy(out + o, in + i, 32);
			memcpy(out + o + 24, &crc, 4);
			o += 32;
			break;
		}
		if (type == 20)
			dropped = 1;
		else {
			memcpy(out + o, in + i, 32 + stored);
			o += 32 + stored;
		}
		i += 32 + stored;
	}
	cr_assert(dropped, "the recording had a LEAKS2 section");
	FILE *f = fopen(path, "wb");
	cr_assert(f && fwrite(out, 1, o, f) == o && fclose(f) == 0);
	free(in);
	free(out);
}

Test(leaks_heap, recordings_of_the_earlier_format_still_read)
{
	char *data = record("o.data", "paths", NULL);
	strip_leaks2(data);
	char *json = report(data, NULL, NULL, 1);
	/* outstanding bytes as before, merged; no totals to show */
	cr_expect_eq(site_field(json, "mk", "blocks"), 30, "%s", json);
	cr_expect_eq(site_field(json, "one_path", "bytes"), 480);
	cr_expect_null(strstr(json, "\"allocations\": "), "%s", json);
	free(json);
	char *argv[] = {CS_EXE, "report", "--leaks", "-i", data, "--cost", "allocations", NULL};
	char *err;
	cr_expect_eq(h_run(argv, 60, NULL, &err), 1);
	cr_expect(strstr(err, "outstanding bytes only"), "%s", err);
	free(err);
	free(data);
}
