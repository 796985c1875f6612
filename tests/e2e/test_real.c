/* End-to-end tests on real Debian programs (node, sqlite3, xz, python3.11 with its
 * debug symbols) and on targets of ours, side by side with the references: Linux perf
 * attached to the same process at the same time (per-function self shares, names),
 * binutils addr2line -i (inline chains at the hottest addresses). scripts/deps.sh test
 * installs what they need; each test skips, saying why, when something is missing. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "profile/profile.h"

#define PERF "/usr/bin/perf"

/* Percentage points by which a function's self share may differ from perf's. */
#define TOLERANCE 8.0

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

TestSuite(real, .init = setup, .fini = teardown, .timeout = 300);

static void need_program(const char *path, const char *package)
{
	if (access(path, X_OK) != 0)
		cr_skip_test("%s is not installed (Debian package %s; scripts/deps.sh test)", path,
			     package);
}

/* perf must be able to record here: it is the reference. */
static void need_perf(void)
{
	need_program(PERF, "linux-perf");
	char *data = h_path(dir, "probe.perf");
	char *argv[] = {PERF, "record", "-q", "-e", "cpu-clock", "-o", data, "--", "/bin/true", NULL};
	char *err = NULL;
	int st = h_run(argv, 60, NULL, &err);
	if (st != 0)
		cr_skip_test("perf cannot record here (exit %d: %s): install linux-perf", st,
			     err ? err : "");
	free(err);
	free(data);
}

/* ---- per-function self shares ---- */

struct shares {
	size_t n;
	char *name[4096];
	double pct[4096];
};

static void shares_add(struct shares *s, const char *name, double pct)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->name[i], name)) {
			s->pct[i] += pct;
			return;
		}
	if (s->n < 4096) {
		s->name[s->n] = strdup(name);
		s->pct[s->n++] = pct;
	}
}

static double share_of(const struct shares *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->name[i], name))
			return s->pct[i];
	return 0;
}

static void shares_free(struct shares *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->name[i]);
	s->n = 0;
}

/* The k-th largest named share (names perf or csampler could not give are left out:
 * perf's "0x..." and our "module+0x..."), or NULL. */
static const char *top(const struct shares *s, size_t k)
{
	int used[4096] = {0};
	const char *best = NULL;
	for (size_t r = 0; r <= k; r++) {
		size_t bi = SIZE_MAX;
		for (size_t i = 0; i < s->n; i++)
			if (!used[i] && (bi == SIZE_MAX || s->pct[i] > s->pct[bi]))
				bi = i;
		if (bi == SIZE_MAX)
			return NULL;
		used[bi] = 1;
		best = s->name[bi];
	}
	return best;
}

static int unnamed(const char *name)
{
	return !strncmp(name, "0x", 2) || strstr(name, "+0x") || !strcmp(name, "[unknown]");
}

/* Self shares by function from `perf report` (user and kernel functions). */
static void perf_shares(const char *data, struct shares *s)
{
	char *argv[] = {PERF, "report", "-i", (char *)data, "--no-children", "--sort", "sym",
			"--stdio", "-q", "--percent-limit", "0", NULL};
	char *out = NULL, *err = NULL;
	int st = h_run(argv, 120, &out, &err);
	cr_assert_eq(st, 0, "perf report failed: %s", err);
	s->n = 0;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		double pct;
		char kind[8];
		int off = 0;
		if (sscanf(line, " %lf%% [%7[^]]] %n", &pct, kind, &off) < 2 || !off)
			continue;
		char *name = line + off;
		name[strcspn(name, "\r")] = 0;
		if (!unnamed(name))
			shares_add(s, name, pct);
	}
	free(out);
	free(err);
}

/* Self shares by function from a csampler recording: each sample goes to the first
 * frame from the leaf that is not inlined (what perf calls the sample's symbol). */
static void cs_shares(const char *data, struct shares *s, uint64_t *total)
{
	struct cs_profile p;
	cs_profile_init(&p);
	cr_assert_eq(cs_profile_load(&p, data, NULL), 0);
	*total = cs_profile_total(&p);
	cr_assert_gt(*total, 0);
	s->n = 0;
	for (size_t i = 0; i < p.samples.n; i++) {
		uint32_t node = p.samples.v[i].stack;
		while (node != CS_NONE && node != 0 &&
		       (p.frames.v[p.nodes.v[node].frame].flags & CS_FRAME_INLINE))
			node = p.nodes.v[node].parent;
		if (node == CS_NONE || node == 0)
			continue;
		const char *name = cs_str(&p, p.frames.v[p.nodes.v[node].frame].func);
		if (!unnamed(name))
			shares_add(s, name, 100.0 * (double)p.samples.v[i].count / (double)*total);
	}
	cs_profile_release(&p);
}

static void dump_top(const char *who, const struct shares *s)
{
	fprintf(stderr, "%s:", who);
	for (size_t k = 0; k < 8; k++) {
		const char *n = top(s, k);
		if (n)
			fprintf(stderr, " %s %.1f%%;", n, share_of(s, n));
	}
	fprintf(stderr, "\n");
}

/* Record pid with csampler and perf at the same time for secs seconds at hz. */
static void record_both(pid_t pid, const char *secs, const char *hz, char **cs_data,
			char **perf_data)
{
	*cs_data = h_path(dir, "cs.data");
	*perf_data = h_path(dir, "perf.data");
	char pidbuf[16];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	char *pargv[] = {PERF, "record", "-q", "-e", "cpu-clock", "-F", (char *)hz, "-p", pidbuf,
			 "-o", *perf_data, "--", "/bin/sleep", (char *)secs, NULL};
	int perr;
	pid_t perf = h_spawn(pargv, &perr);
	/* --no-python: perf shows CPython's interpreter frames as they are; compare like
	 * with like (test_python.c tests the Python frames) */
	char *cargv[] = {CS_EXE, "record", "-q", "-p", pidbuf, "-F", (char *)hz, "-d", (char *)secs,
			 "--no-python", "-o", *cs_data, NULL};
	char *err = NULL;
	int st = h_run(cargv, 120, NULL, &err);
	cr_assert_eq(st, 0, "csampler record failed: %s", err);
	free(err);
	err = NULL;
	st = h_collect(perf, perr, 120, &err);
	cr_assert_eq(st, 0, "perf record failed: %s", err);
	free(err);
}

/* PLT stubs: perf 6.1 calls some of them _init where csampler says NAME@plt; their
 * shares are compared as a whole (plt_stub_of_our_target_matches_perf, sqlite3). */
static int plt_name(const char *n)
{
	return strstr(n, "@plt") || !strcmp(n, "_init");
}

/* perf's top-5 functions and csampler's have the same self shares within TOLERANCE
 * (so the top-3 names agree but for near ties), and every function csampler gives 3%
 * or more is one perf names too: a function either of them names wrongly has nearly
 * no share in the other. */
static void compare_top(const char *what, const struct shares *cs, const struct shares *pf)
{
	dump_top("perf", pf);
	dump_top("csampler", cs);
	for (size_t k = 0; k < 5; k++) {
		const char *n = top(pf, k);
		if (n && !plt_name(n))
			cr_expect_leq(abs((int)(share_of(cs, n) * 100) - (int)(share_of(pf, n) * 100)),
				      (int)(TOLERANCE * 100), "%s: perf's #%zu %s %.1f%%, csampler %.1f%%",
				      what, k + 1, n, share_of(pf, n), share_of(cs, n));
		n = top(cs, k);
		if (!n || plt_name(n))
			continue;
		cr_expect_leq(abs((int)(share_of(cs, n) * 100) - (int)(share_of(pf, n) * 100)),
			      (int)(TOLERANCE * 100), "%s: csampler's #%zu %s %.1f%%, perf %.1f%%",
			      what, k + 1, n, share_of(cs, n), share_of(pf, n));
		if (share_of(cs, n) >= 3.0)
			cr_expect_gt(share_of(pf, n), 0.5, "%s: csampler's #%zu %s %.1f%%: perf %.1f%%",
				     what, k + 1, n, share_of(cs, n), share_of(pf, n));
	}
}

static void start_cmd(struct h_proc *t, char *const argv[])
{
	/* real programs do not say "ready": a shell says it, then becomes the program */
	char cmd[8192] = "echo ready; exec";
	for (size_t i = 0; argv[i]; i++) {
		strncat(cmd, " '", sizeof(cmd) - strlen(cmd) - 1);
		strncat(cmd, argv[i], sizeof(cmd) - strlen(cmd) - 1);
		strncat(cmd, "'", sizeof(cmd) - strlen(cmd) - 1);
	}
	char *sh[] = {"/bin/sh", "-c", cmd, NULL};
	h_start(t, sh);
	usleep(300 * 1000); /* past the exec and the program's start-up */
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert(f);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

/* ---- node: builtins in text node maps a second time ---- */

static const char sort_js[] =
	"const n = 200000; const a = [];\n"
	"for (let i = 0; i < n; i++) a.push((i * 7919) % n);\n"
	"const end = Date.now() + 1000 * Number(process.argv[2]);\n"
	"while (Date.now() < end) { const b = a.slice(); b.sort((x, y) => x - y); }\n";

Test(real, node_functions_match_perf)
{
	need_program("/usr/bin/node", "nodejs");
	need_perf();
	char *js = h_path(dir, "sort.js");
	write_file(js, sort_js);
	struct h_proc t;
	char *argv[] = {"/usr/bin/node", js, "30", NULL};
	start_cmd(&t, argv);
	usleep(500 * 1000);
	char *cs, *pf;
	record_both(t.pid, "4", "999", &cs, &pf);
	h_stop(&t, SIGTERM, 5000);
	struct shares a, b;
	uint64_t total;
	cs_shares(cs, &a, &total);
	perf_shares(pf, &b);
	compare_top("node", &a, &b);
	shares_free(&a);
	shares_free(&b);
	free(js);
	free(cs);
	free(pf);
}

/* ---- sqlite3 and xz: stripped Debian libraries, PLT stubs ---- */

static const char sort_sql[] =
	"CREATE TABLE t(a INTEGER, b TEXT, c BLOB);\n"
	"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<100000)\n"
	"  INSERT INTO t SELECT x, hex(randomblob(12)), randomblob(40) FROM c;\n";

Test(real, sqlite3_functions_and_plt_stubs_match_perf)
{
	need_program("/usr/bin/sqlite3", "sqlite3");
	need_perf();
	char *sql = h_path(dir, "sort.sql");
	FILE *f = fopen(sql, "w");
	cr_assert(f);
	fputs(sort_sql, f);
	for (int i = 0; i < 400; i++)
		fputs("SELECT count(*) FROM (SELECT c FROM t ORDER BY c);\n", f);
	cr_assert_eq(fclose(f), 0);
	char *cmd = h_path(dir, "run.sh");
	char text[4096];
	snprintf(text, sizeof(text), "exec /usr/bin/sqlite3 :memory: < '%s' > /dev/null\n", sql);
	write_file(cmd, text);
	struct h_proc t;
	char *argv[] = {"/bin/sh", cmd, NULL};
	start_cmd(&t, argv);
	char *cs, *pf;
	record_both(t.pid, "4", "2999", &cs, &pf);
	h_stop(&t, SIGTERM, 5000);
	struct shares a, b;
	uint64_t total;
	cs_shares(cs, &a, &total);
	perf_shares(pf, &b);
	compare_top("sqlite3", &a, &b);
	/* PLT stubs: perf's NAME@plt, never _init */
	double cs_plt = 0, perf_plt = 0;
	size_t common = 0;
	for (size_t i = 0; i < b.n; i++)
		if (strstr(b.name[i], "@plt")) {
			perf_plt += b.pct[i];
			common += share_of(&a, b.name[i]) > 0;
		}
	for (size_t i = 0; i < a.n; i++)
		if (strstr(a.name[i], "@plt"))
			cs_plt += a.pct[i];
	fprintf(stderr, "sqlite3 PLT stubs: perf %.2f%%, csampler %.2f%%, %zu names in common\n",
		perf_plt, cs_plt, common);
	cr_expect_eq(share_of(&a, "_init"), 0, "csampler names %.2f%% _init", share_of(&a, "_init"));
	if (perf_plt >= 0.3) {
		cr_expect_gt(common, 0, "none of perf's NAME@plt stubs named by csampler");
		cr_expect_leq(abs((int)(cs_plt * 100) - (int)(perf_plt * 100)), (int)(TOLERANCE * 100));
	}
	shares_free(&a);
	shares_free(&b);
	free(sql);
	free(cmd);
	free(cs);
	free(pf);
}

Test(real, xz_functions_match_perf)
{
	need_program("/usr/bin/xz", "xz-utils");
	need_perf();
	/* compressible but not trivial input, more than xz -9 gets through while recorded */
	char *in = h_path(dir, "input.txt");
	FILE *f = fopen(in, "w");
	cr_assert(f);
	for (unsigned i = 0; i < 3000000; i++)
		fprintf(f, "%u %x\n", i, i * 2654435761u);
	cr_assert_eq(fclose(f), 0);
	struct h_proc t;
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "exec /usr/bin/xz -9 -T1 -c -k %s > /dev/null", in);
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	start_cmd(&t, argv);
	char *cs, *pf;
	record_both(t.pid, "3", "999", &cs, &pf);
	h_stop(&t, SIGTERM, 5000);
	struct shares a, b;
	uint64_t total;
	cs_shares(cs, &a, &total);
	perf_shares(pf, &b);
	compare_top("xz", &a, &b);
	shares_free(&a);
	shares_free(&b);
	free(in);
	free(cs);
	free(pf);
}

/* ---- python3.11 with debug symbols: LTO inline chains ---- */

static const char py_src[] =
	"import sys, time\n"
	"end = time.time() + float(sys.argv[1])\n"
	"while time.time() < end:\n"
	"    s = 0\n"
	"    for i in range(20000):\n"
	"        s += len(str(i * 12345678901234567))\n"
	"    d = {str(i): i for i in range(2000)}\n"
	"    l = sorted(d.items(), key=lambda kv: -kv[1])\n";

static int has_debug_symbols(const char *exe)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "id=$(readelf -n '%s' | sed -n 's/.*Build ID: //p'); "
		 "test -n \"$id\" && test -r /usr/lib/debug/.build-id/$(echo $id | cut -c1-2)/"
		 "$(echo $id | cut -c3-).debug",
		 exe);
	return system(cmd) == 0;
}

struct hot {
	uint64_t addr, count;
	char chain[16][256]; /* innermost first */
	char file[16][128];
	unsigned line[16];
	size_t n;
};

static int hot_cmp(const void *a, const void *b)
{
	const struct hot *x = a, *y = b;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

static const char *basename_of(const char *p)
{
	const char *b = strrchr(p, '/');
	return b ? b + 1 : p;
}

Test(real, python_functions_match_perf_and_inline_chains_match_addr2line)
{
	const char *exe = "/usr/bin/python3.11";
	need_program(exe, "python3.11");
	if (!has_debug_symbols(exe))
		cr_skip_test("no debug symbols for %s (Debian package python3.11-dbg)", exe);
	need_perf();
	char *py = h_path(dir, "work.py");
	write_file(py, py_src);
	struct h_proc t;
	char *argv[] = {(char *)exe, py, "30", NULL};
	start_cmd(&t, argv);
	char *cs, *pf;
	record_both(t.pid, "4", "999", &cs, &pf);
	h_stop(&t, SIGTERM, 5000);
	struct shares a, b;
	uint64_t total;
	cs_shares(cs, &a, &total);
	perf_shares(pf, &b);
	compare_top("python3.11", &a, &b);
	shares_free(&a);
	shares_free(&b);

	/* The hottest leaf addresses in python3.11 and their chains. */
	struct cs_profile p;
	cs_profile_init(&p);
	cr_assert_eq(cs_profile_load(&p, cs, NULL), 0);
	static struct hot hot[512];
	size_t nhot = 0, inlined = 0;
	for (size_t i = 0; i < p.samples.n; i++) {
		uint32_t node = p.samples.v[i].stack;
		const struct cs_frame *leaf = &p.frames.v[p.nodes.v[node].frame];
		if (leaf->module == CS_NONE || strcmp(cs_module_name(&p, leaf->module), "python3.11"))
			continue;
		size_t k;
		for (k = 0; k < nhot && hot[k].addr != leaf->addr; k++)
			;
		if (k == nhot) {
			if (nhot == 512)
				continue;
			memset(&hot[k], 0, sizeof(hot[k]));
			hot[k].addr = leaf->addr;
			for (uint32_t n = node; n && hot[k].n < 16; n = p.nodes.v[n].parent) {
				const struct cs_frame *f = &p.frames.v[p.nodes.v[n].frame];
				snprintf(hot[k].chain[hot[k].n], 256, "%s", cs_str(&p, f->func));
				snprintf(hot[k].file[hot[k].n], 128, "%s", basename_of(cs_str(&p, f->file)));
				hot[k].line[hot[k].n] = f->line;
				hot[k].n++;
				if (!(f->flags & CS_FRAME_INLINE))
					break;
			}
			nhot++;
		}
		hot[k].count += p.samples.v[i].count;
	}
	cs_profile_release(&p);
	cr_assert_gt(nhot, 10);
	qsort(hot, nhot, sizeof(*hot), hot_cmp);
	size_t check = nhot < 30 ? nhot : 30;
	char cmd[8192];
	int len = snprintf(cmd, sizeof(cmd), "addr2line -a -f -i -e %s", exe);
	for (size_t k = 0; k < check; k++)
		len += snprintf(cmd + len, sizeof(cmd) - (size_t)len, " %#llx",
				(unsigned long long)hot[k].addr);
	char *sh[] = {"/bin/sh", "-c", cmd, NULL};
	char *out = NULL;
	cr_assert_eq(h_run(sh, 120, &out, NULL), 0);
	long k = -1;
	size_t level = 0;
	char *save = NULL;
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "0x", 2)) {
			if (k >= 0)
				cr_expect_eq(level, hot[k].n, "%#llx: %zu frames, addr2line %zu",
					     (unsigned long long)hot[k].addr, hot[k].n, level);
			k++;
			level = 0;
			continue;
		}
		char *loc = strtok_r(NULL, "\n", &save);
		cr_assert(k >= 0 && loc);
		struct hot *h = &hot[k];
		if (level < h->n) {
			const char *ours = h->chain[level];
			size_t nl = strlen(line);
			int outer = level + 1 == h->n;
			int same = outer ? !strncmp(ours, line, nl) && (ours[nl] == 0 || ours[nl] == '.')
					 : !strcmp(ours, line);
			cr_expect(same, "%#llx level %zu: %s, addr2line %s",
				  (unsigned long long)h->addr, level, ours, line);
			char *disc = strstr(loc, " (discriminator");
			if (disc)
				*disc = 0;
			char *colon = strrchr(loc, ':');
			unsigned ln = colon ? (unsigned)strtoul(colon + 1, NULL, 10) : 0;
			if (colon)
				*colon = 0;
			/* addr2line says "<artificial>" for some LTO lines: the line still counts */
			if (strcmp(basename_of(loc), "<artificial>"))
				cr_expect_str_eq(h->file[level], basename_of(loc), "%#llx level %zu (%s)",
						 (unsigned long long)h->addr, level, ours);
			cr_expect_eq(h->line[level], ln, "%#llx level %zu (%s): line %u, addr2line %u",
				     (unsigned long long)h->addr, level, ours, h->line[level], ln);
		}
		level++;
	}
	if (k >= 0)
		cr_expect_eq(level, hot[k].n);
	cr_expect_eq((size_t)(k + 1), check);
	for (size_t i = 0; i < check; i++)
		inlined += hot[i].n > 1;
	cr_expect_gt(inlined, 3, "only %zu of the %zu hottest addresses have inlined frames",
		     inlined, check);
	free(out);
	free(py);
	free(cs);
	free(pf);
}

/* ---- targets of ours: PLT stubs, text mapped twice ---- */

Test(real, plt_stub_of_our_target_matches_perf)
{
	need_perf();
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_plt"), NULL};
	h_start(&t, argv);
	char *cs, *pf;
	record_both(t.pid, "3", "999", &cs, &pf);
	h_stop(&t, SIGTERM, 5000);
	struct shares a, b;
	uint64_t total;
	cs_shares(cs, &a, &total);
	perf_shares(pf, &b);
	compare_top("cs_t_plt", &a, &b);
	/* perf 6.1 itself calls the stubs' samples _init (newer perfs say NAME@plt): the
	 * stubs' share is the reference, the name is objdump's (see test_symbolizer) */
	double cs_plt = 0, perf_plt = share_of(&b, "_init");
	for (size_t i = 0; i < a.n; i++)
		if (strstr(a.name[i], "@plt"))
			cs_plt += a.pct[i];
	for (size_t i = 0; i < b.n; i++)
		if (strstr(b.name[i], "@plt"))
			perf_plt += b.pct[i];
	fprintf(stderr, "cs_t_plt stubs: perf %.2f%%, csampler %.2f%%\n", perf_plt, cs_plt);
	cr_expect_eq(share_of(&a, "_init"), 0, "csampler names %.2f%% _init", share_of(&a, "_init"));
	cr_expect_leq(abs((int)(cs_plt * 100) - (int)(perf_plt * 100)), (int)(TOLERANCE * 100));
	shares_free(&a);
	shares_free(&b);
	/* the stub's samples unwind to the function that called through it */
	struct h_folded f;
	h_fold(cs, NULL, &f);
	uint64_t leaf = h_with_leaf(&f, "cs_pltlib_nothing@plt");
	uint64_t seq = h_with_seq(&f, "main;call_through_plt;cs_pltlib_nothing@plt");
	cr_expect_geq(seq * 10, leaf * 9, "stacks main;call_through_plt;stub: %llu of %llu",
		      (unsigned long long)seq, (unsigned long long)leaf);
	h_folded_free(&f);
	free(cs);
	free(pf);
}

Test(real, text_mapped_twice_names_and_unwinds_the_copy)
{
	need_perf();
	struct h_proc t;
	char *argv[] = {TARGET("cs_t_remap"), NULL};
	h_start(&t, argv);
	char *cs, *pf;
	record_both(t.pid, "3", "999", &cs, &pf);
	h_stop(&t, SIGTERM, 5000);
	struct h_folded f;
	h_fold(cs, NULL, &f);
	cr_assert_gt(f.total, 50);
	uint64_t leaf = h_with_leaf(&f, "spin_remapped");
	uint64_t seq = h_with_seq(&f, "main;run_copy;spin_remapped");
	cr_expect_geq(leaf * 10, f.total * 9, "leaf spin_remapped: %llu of %llu",
		      (unsigned long long)leaf, (unsigned long long)f.total);
	cr_expect_geq(seq * 10, f.total * 8, "main;run_copy;spin_remapped: %llu of %llu",
		      (unsigned long long)seq, (unsigned long long)f.total);
	if (seq * 10 < f.total * 8)
		h_folded_dump(&f, 10);
	h_folded_free(&f);
	struct shares a, b;
	uint64_t total;
	cs_shares(cs, &a, &total);
	perf_shares(pf, &b);
	dump_top("perf", &b);
	dump_top("csampler", &a);
	shares_free(&a);
	shares_free(&b);
	free(cs);
	free(pf);
}
