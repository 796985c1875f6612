/* csampler diff: growth, new and gone functions found and sized; no false alarms on
 * profiles of one unchanged program (sampling noise, run-to-run spread); the gate's
 * exit status; errors in one line. On folded files (exact inputs) and on recordings of
 * two builds of one program (tests/targets/abver.c) checked against the program's
 * own CPU clock. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

TestSuite(diff, .init = setup, .fini = teardown, .timeout = 600);

static char *put(const char *name, const char *text)
{
	char *path = h_path(dir, name);
	FILE *f = fopen(path, "w");
	cr_assert(f, "cannot create %s", path);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	return path;
}

/* Run csampler with args (NULL-terminated); returns the exit status. */
static int run(char **out, char **err, const char *a0, ...)
{
	char *argv[64];
	int n = 0;
	argv[n++] = CS_EXE;
	va_list ap;
	va_start(ap, a0);
	for (const char *a = a0; a && n < 63; a = va_arg(ap, const char *))
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	return h_run(argv, 120, out, err);
}

struct row {
	int found;
	double base, new_, delta, delta_pct;
	int significant;
	char status[8];
};

static double field(const char *obj, const char *end, const char *name)
{
	char key[64];
	snprintf(key, sizeof(key), "\"%s\": ", name);
	const char *s = strstr(obj, key);
	cr_assert(s && s < end, "no %s in the row", name);
	return strtod(s + strlen(key), NULL);
}

/* The row of function name in the JSON's "functions" (section "functions" or
 * "regressions"). */
static struct row json_row(const char *json, const char *section, const char *name)
{
	struct row r;
	memset(&r, 0, sizeof(r));
	char key[256];
	snprintf(key, sizeof(key), "\"%s\": [", section);
	const char *s = strstr(json, key);
	cr_assert(s, "no %s in %s", section, json);
	/* the section ends where the next begins (names may hold brackets) */
	const char *stop = strstr(s, !strcmp(section, "functions") ? "],\n\"regressions\"" : "]}");
	cr_assert(stop, "%s", json);
	snprintf(key, sizeof(key), "{\"function\": \"%s\"", name);
	const char *o = strstr(s, key);
	if (!o || o > stop)
		return r;
	const char *end = strchr(o, '}');
	r.found = 1;
	r.base = field(o, end, "base_s");
	r.new_ = field(o, end, "new_s");
	r.delta = field(o, end, "delta_s");
	r.delta_pct = field(o, end, "delta_pct");
	const char *sig = strstr(o, "\"significant\": ");
	r.significant = sig && sig < end && !strncmp(sig + 15, "true", 4);
	const char *st = strstr(o, "\"status\": \"");
	if (st && st < end)
		sscanf(st + 11, "%7[a-z]", r.status);
	return r;
}

static int count_significant(const char *json)
{
	int n = 0;
	const char *s = strstr(json, "\"functions\": [");
	const char *stop = strstr(json, "\"regressions\": [");
	for (; s && (s = strstr(s, "\"significant\": true")) && s < stop; s++)
		n++;
	return n;
}

/* ---- folded inputs ---- */

#define BASE_FOLDED "main;work;grow 10000\nmain;work;steady 5000\nmain;old 1200\n"
#define NEW_FOLDED  "main;work;grow 15000\nmain;work;steady 5050\nmain;added 2500\n"

Test(diff, folded_growth_new_gone)
{
	char *a = put("a.folded", BASE_FOLDED), *b = put("b.folded", NEW_FOLDED);
	char *out = NULL, *err = NULL;
	cr_assert_eq(run(&out, &err, "diff", "--format", "json", a, b, NULL), 0, "%s", err);
	struct row g = json_row(out, "functions", "grow");
	cr_assert(g.found && g.significant, "%s", out);
	cr_expect_float_eq(g.delta, 5000, 1e-6);
	cr_expect_float_eq(g.delta_pct, 5000.0 / 16200 * 100, 1e-6);
	struct row n = json_row(out, "functions", "added");
	cr_expect(n.found && n.significant && !strcmp(n.status, "new"), "%s", out);
	struct row o = json_row(out, "functions", "old");
	cr_expect(o.found && o.significant && !strcmp(o.status, "gone"), "%s", out);
	struct row s = json_row(out, "functions", "steady");
	cr_expect(s.found && !s.significant, "steady flagged: %s", out);
	cr_expect(strstr(out, "\"ratio\": "), "%s", out);
	/* JSON contract: the top-level keys */
	cr_expect(strstr(out, "\"base\": {\"files\": [") && strstr(out, "\"new\": {\"files\": ["));
	cr_expect(strstr(out, "\"runs\": 1, \"seconds\": 16200, \"samples\": 16200"), "%s", out);
	free(out);
	free(err);

	/* the text table: grow first (the largest change), then added */
	cr_assert_eq(run(&out, &err, "diff", a, b, NULL), 0, "%s", err);
	char *pg = strstr(out, "grow"), *pn = strstr(out, "added"), *ps = strstr(out, "steady");
	cr_expect(pg && pn && ps && pg < pn && pn < ps, "%s", out);
	cr_expect(strstr(out, "per run"), "the header says what is compared: %s", out);
	free(out);
	free(err);

	/* gate: grow (+30.9% of BASE) and added (+15.4%) exceed 10%, the total (+40.4%) 35% */
	cr_assert_eq(run(&out, &err, "diff", "--fail-above", "10", a, b, NULL), 3, "%s", err);
	cr_expect(strstr(err, "grow") && strstr(err, "added"), "%s", err);
	cr_expect(!strstr(err, "steady"), "%s", err);
	free(out);
	free(err);
	cr_expect_eq(run(&out, &err, "diff", "--fail-above", "35", "--format", "json", a, b, NULL),
		     3, "the total grew 40%%: %s", err);
	cr_expect(strstr(err, "total") && !strstr(err, "grow"), "%s", err);
	cr_expect(json_row(out, "regressions", "[total]").found, "%s", out);
	free(out);
	free(err);
	cr_expect_eq(run(&out, &err, "diff", "--fail-above", "45", a, b, NULL), 0, "%s", err);
	free(out);
	free(err);
	/* the other way round nothing grew but steady, and not significantly */
	cr_expect_eq(run(&out, &err, "diff", "--fail-above", "0", b, a, NULL), 3, "old is back");
	free(out);
	free(err);
	free(a);
	free(b);
}

/* Deterministic pseudo-random samples: n samples over k functions of equal weight. */
static char *sampled(const char *name, unsigned long long *seed, int n, int k)
{
	int *c = calloc((size_t)k, sizeof(int));
	for (int i = 0; i < n; i++) {
		*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
		c[(*seed >> 33) % (unsigned)k]++;
	}
	char text[4096];
	size_t len = 0;
	for (int f = 0; f < k; f++)
		len +=
		    (size_t)snprintf(text + len, sizeof(text) - len, "main;fn%02d %d\n", f, c[f]);
	free(c);
	return put(name, text);
}

/* Two samplings of one unchanged program: at alpha 0.05 for the whole table, at most
 * 1 pair in 20 may show any significant row. Testing each row at 0.05 alone flags
 * some row in most pairs of a 20-row table. */
Test(diff, same_program_false_alarms)
{
	unsigned long long seed = 42;
	int alarms = 0, tries = 40;
	for (int t = 0; t < tries; t++) {
		char *a = sampled("s1.folded", &seed, 2000, 20);
		char *b = sampled("s2.folded", &seed, 2000, 20);
		char *out = NULL, *err = NULL;
		cr_assert_eq(run(&out, &err, "diff", "--format", "json", a, b, NULL), 0, "%s", err);
		alarms += count_significant(out) > 0;
		free(out);
		free(err);
		free(a);
		free(b);
	}
	cr_expect_leq(alarms, tries / 20 + 1, "%d of %d pairs flagged", alarms, tries);
}

/* One run of a program of ten functions of weights 1..10 plus a little kernel time,
 * sampled n times; each function's share multiplied by grow[f] (1: unchanged), and
 * extra_k samples more in the kernel's pvm_irq_enable (a hypervisor's stolen time). */
static char *machine_run(const char *name, unsigned long long *seed, int n, const double *grow,
			 int extra_k)
{
	double w[11], sum = 0;
	for (int f = 0; f < 10; f++)
		sum += w[f] = (f + 1) * (grow ? grow[f] : 1);
	sum += w[10] = 0.5; /* the kernel's own share */
	int c[11] = {0};
	for (int i = 0; i < n; i++) {
		*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
		double u = (double)(*seed >> 11) / 9007199254740992.0 * sum;
		int f = 0;
		while (f < 10 && u >= w[f])
			u -= w[f++];
		c[f]++;
	}
	char text[4096];
	size_t len = 0;
	for (int f = 0; f < 10; f++)
		len +=
		    (size_t)snprintf(text + len, sizeof(text) - len, "main;fn%02d %d\n", f, c[f]);
	len += (size_t)snprintf(text + len, sizeof(text) - len, "main;fn00;pvm_irq_enable_[k] %d\n",
				c[10] + extra_k);
	return put(name, text);
}

/* One run per side of one unchanged program on a machine whose whole runs are up to
 * 28% slower or faster (every function alike), or whose hypervisor takes 20% more in
 * the kernel: the gate at 2% and the '*' marks stay off in at least 19 pairs of 20.
 * Judged against sampling noise alone, nearly every such pair would trip. */
Test(diff, single_runs_machine_noise)
{
	static const double scale[] = {0.8, 0.87, 0.93, 1.07, 1.15, 1.22, 1.28, 1.0};
	unsigned long long seed = 7;
	int alarms = 0, tries = 40;
	for (int t = 0; t < tries; t++) {
		double s = scale[t % 8];
		int extra = t % 8 == 7 ? 4000 : 0;
		char *a = machine_run("m1.folded", &seed, 20000, NULL, 0);
		char *b = machine_run("m2.folded", &seed, (int)(20000 * s), NULL, extra);
		char *out = NULL, *err = NULL;
		int st =
		    run(&out, &err, "diff", "--fail-above", "2", "--format", "json", a, b, NULL);
		cr_assert(st == 0 || st == 3, "%s", err);
		if (st == 3 || count_significant(out) > 0) {
			alarms++;
			cr_log_info("pair %d (scale %.2f, kernel +%d): %s", t, s, extra, err);
		}
		cr_expect(strstr(out, "\"noise_model\": \"single-run\""), "%s", out);
		if (!extra) {
			const char *k = strstr(out, "\"scale\": ");
			double got = k ? strtod(k + 9, NULL) : 0;
			cr_expect(fabs(got - s) < 0.05 * s, "scale %.3f estimated as %.3f", s, got);
		}
		free(out);
		free(err);
		free(a);
		free(b);
	}
	cr_expect_leq(alarms, tries / 20, "%d of %d pairs of one program flagged", alarms, tries);
}

/* The same machine noise, and NEW's largest function (18% of the time) 50% slower: the
 * gate trips on it in every pair, whatever the scale of the run. */
Test(diff, single_runs_real_regression)
{
	static const double scale[] = {0.8, 0.9, 1.0, 1.1, 1.2, 1.28};
	double grow[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1.5};
	unsigned long long seed = 11;
	for (int t = 0; t < 12; t++) {
		double s = scale[t % 6];
		char *a = machine_run("r1.folded", &seed, 20000, NULL, 0);
		/* the other functions' time is unchanged: NEW has more samples in all */
		char *b =
		    machine_run("r2.folded", &seed, (int)(20000 * s * (55.5 + 5) / 55.5), grow, 0);
		char *out = NULL, *err = NULL;
		int st =
		    run(&out, &err, "diff", "--fail-above", "5", "--format", "json", a, b, NULL);
		cr_expect_eq(st, 3, "scale %.2f: the regression was missed: %s", s, out);
		cr_expect(err && strstr(err, "fn09 grew by"), "%s", err);
		cr_expect(!strstr(err, "fn08") && !strstr(err, "pvm_irq_enable"), "%s", err);
		struct row r = json_row(out, "functions", "fn09");
		cr_expect(r.significant, "%s", out);
		free(out);
		free(err);
		free(a);
		free(b);
	}
}

/* With several runs per side, a function whose time swings from run to run is not
 * flagged for a difference of means that sampling noise alone would call real; a
 * steady growth is. */
Test(diff, run_to_run_spread)
{
	char *a1 = put("a1.folded", "main;swing 1000\nmain;firm 1000\n");
	char *a2 = put("a2.folded", "main;swing 1400\nmain;firm 1010\n");
	char *a3 = put("a3.folded", "main;swing 600\nmain;firm 990\n");
	char *b1 = put("b1.folded", "main;swing 1300\nmain;firm 1500\n");
	char *b2 = put("b2.folded", "main;swing 1700\nmain;firm 1490\n");
	char *b3 = put("b3.folded", "main;swing 900\nmain;firm 1510\n");
	char *out = NULL, *err = NULL;
	cr_assert_eq(run(&out, &err, "diff", "--format", "json", "--base", a1, a2, a3, "--new", b1,
			 b2, b3, NULL),
		     0, "%s", err);
	struct row s = json_row(out, "functions", "swing"), f = json_row(out, "functions", "firm");
	cr_expect(s.found && !s.significant, "swing flagged: %s", out);
	cr_expect(f.found && f.significant, "firm not flagged: %s", out);
	cr_expect_float_eq(s.delta, 300, 1e-6);
	cr_expect(strstr(out, "\"runs\": 3"), "%s", out);
	free(out);
	free(err);
	/* the differential graph judges its frames by the same spread: swing grey */
	char *svg = h_path(dir, "spread.svg");
	cr_assert_eq(
	    run(&out, &err, "diff", "-o", svg, "--base", a1, a2, a3, "--new", b1, b2, b3, NULL), 0,
	    "%s", err);
	char *x = h_read_file(svg, NULL);
	cr_assert(x);
	cr_expect(strstr(x, "NEW 1300.0 samples: +300.0 samples (+15.00% of BASE&apos;s total), "
			    "within noise"),
		  "swing's frame is judged by sampling noise only");
	cr_expect(strstr(x, "NEW 1500.0 samples: +500.0 samples (+25.00% of BASE&apos;s total), "
			    "significant"),
		  "firm's frame");
	free(x);
	free(svg);
	free(out);
	free(err);
	/* one run per side: beyond sampling noise both grew, but a whole run may be up to
	 * 30% slower: the common scale is swing's 1.3 (firm's 1.5 is beyond the
	 * allowance), and firm is 200 samples above 1.3 x BASE */
	cr_assert_eq(run(&out, &err, "diff", "--format", "json", a1, b1, NULL), 0, "%s", err);
	cr_expect(strstr(out, "\"noise_model\": \"single-run\", \"scale\": 1.3,"), "%s", out);
	s = json_row(out, "functions", "swing");
	cr_expect(s.found && !s.significant, "%s", out);
	const char *fx = strstr(out, "{\"function\": \"firm\"");
	cr_expect(fx && strstr(fx, "\"excess_s\": 200,"), "%s", out);
	free(out);
	free(err);
	free(a1), free(a2), free(a3), free(b1), free(b2), free(b3);
}

Test(diff, normalize_and_by)
{
	char *a = put("a.folded", "main;f 1000\nmain;g 1000\n");
	char *b = put("b.folded", "main;f 2000\nmain;g 2000\n");
	char *out = NULL, *err = NULL;
	cr_assert_eq(run(&out, &err, "diff", "--normalize", "--format", "json", a, b, NULL), 0);
	cr_expect_eq(count_significant(out), 0, "%s", out);
	cr_expect(strstr(out, "\"mode\": \"shares\"") && strstr(out, "\"ratio\": 1,"), "%s", out);
	free(out);
	free(err);
	cr_assert_eq(run(&out, &err, "diff", "--format", "csv", a, b, NULL), 0);
	static const char head[] = "function,module,base_samples,new_samples,delta_samples,"
				   "delta_pct,significant,status\n";
	cr_expect(!strncmp(out, head, strlen(head)), "%s", out);
	free(out);
	free(err);
	cr_assert_eq(run(&out, &err, "diff", "--by", "thread", "-F", "100", a, b, NULL), 0);
	cr_expect(strstr(out, "times in seconds"), "%s", out);
	free(out);
	free(err);
	free(a);
	free(b);
}

/* Every error is one line and a non-zero exit. */
Test(diff, errors)
{
	char *a = put("a.folded", "main;f 10\n"), *e = put("empty.folded", "");
	char *missing = h_path(dir, "missing.data");
	const char *cases[][6] = {
	    {"diff", a, NULL},
	    {"diff", "--base", a, NULL},
	    {"diff", a, missing, NULL},
	    {"diff", a, a, "--time", "off", NULL},
	    {"diff", a, a, "--time", "gpu", NULL},
	    {"diff", a, a, "--by", "colour", NULL},
	    {"diff", a, a, "--fail-above", "-3", NULL},
	    {"diff", a, a, a, NULL},
	    {"diff", a, e, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL, *err = NULL;
		const char **c = cases[i];
		int st = run(&out, &err, c[0], c[1], c[2], c[3], c[4], c[5]);
		cr_expect(st != 0 && st != 3, "case %zu: status %d", i, st);
		cr_expect(err && strncmp(err, "csampler", 8) == 0 && strchr(err, '\n') &&
			      strchr(err, '\n')[1] == 0,
			  "case %zu: not one line: '%s'", i, err ? err : "");
		free(out);
		free(err);
	}
	char *out = NULL, *err = NULL;
	run(&out, &err, "diff", a, a, "--time", "off", NULL);
	cr_expect(strstr(err, "no off-CPU time") && strstr(err, "record --wall"), "%s", err);
	free(out);
	free(err);
	free(a);
	free(e);
	free(missing);
}

/* ---- recordings of two builds ---- */

struct measured {
	double grow, steady, added;
};

static void record(const char *target, const char *data, const char *meas)
{
	char *argv[] = {CS_EXE,	      "record", "-q",		"-F",  "999",	     "-o",
			(char *)data, "--",	(char *)target, "200", (char *)meas, NULL};
	char *err = NULL;
	int st = h_run(argv, 120, NULL, &err);
	cr_assert_eq(st, 0, "record failed: %s", err);
	free(err);
}

static struct measured read_measured(const char *path)
{
	struct measured m = {0, 0, 0};
	char *s = h_read_file(path, NULL);
	cr_assert(s, "no %s", path);
	cr_assert_eq(sscanf(s, "grow %lf\nsteady %lf\nadded %lf", &m.grow, &m.steady, &m.added), 3);
	free(s);
	return m;
}

/* A change is sized right if within 20% (plus 30 ms) of what the program measured. */
static void expect_near(double got, double want, const char *what)
{
	cr_expect(fabs(got - want) <= 0.2 * fabs(want) + 0.03,
		  "%s: diff says %.3f s, the program "
		  "measured %.3f s",
		  what, got, want);
}

/* B spends 50% more in grow(), adds added() and leaves steady() alone. One run each
 * sizes both changes; four runs each also pass the gate's judgment. On a shared
 * machine the CPU time of one run of an unchanged program swings by more than 10%:
 * only the spread of several runs tells that from a change. (With three runs the t
 * test has 2 degrees of freedom and may miss added(), whose time swings between runs
 * like any other's.) */
Test(diff, two_builds)
{
	h_require_perf();
	enum { NA = 6, NB = 4 };
	char *data[NA + NB], *meas[NA + NB];
	struct measured m[NA + NB];
	for (int i = 0; i < NA + NB; i++) {
		char name[32];
		snprintf(name, sizeof(name), "%c%d.data", i < NA ? 'a' : 'b', i);
		data[i] = h_path(dir, name);
		snprintf(name, sizeof(name), "%c%d.txt", i < NA ? 'a' : 'b', i);
		meas[i] = h_path(dir, name);
		record(i < NA ? TARGET("cs_t_abver_a") : TARGET("cs_t_abver_b"), data[i], meas[i]);
		m[i] = read_measured(meas[i]);
	}
	char *a0 = data[0], *b0 = data[NA];

	char *out = NULL, *err = NULL;
	cr_assert_eq(run(&out, &err, "diff", "--format", "json", a0, b0, NULL), 0, "%s", err);
	struct row g = json_row(out, "functions", "grow");
	cr_expect(g.found && g.significant, "%s", out);
	expect_near(g.delta, m[NA].grow - m[0].grow, "grow's growth");
	expect_near(g.base, m[0].grow, "grow in A");
	struct row n = json_row(out, "functions", "added");
	cr_expect(n.found && n.significant && !strcmp(n.status, "new"), "%s", out);
	expect_near(n.new_, m[NA].added, "added in B");
	free(out);
	free(err);

	/* four runs each: the gate trips on grow and added, not on steady */
	cr_assert_eq(run(&out, &err, "diff", "--format", "json", "--fail-above", "10", "--base",
			 data[0], data[1], data[2], data[3], "--new", data[NA], data[NA + 1],
			 data[NA + 2], data[NA + 3], NULL),
		     3, "%s", err);
	cr_expect(strstr(err, "grow") && strstr(err, "added") && !strstr(err, "steady"), "%s", err);
	g = json_row(out, "functions", "grow");
	double want = 0;
	for (int i = 0; i < 4; i++)
		want += (m[NA + i].grow - m[i].grow) / 4;
	expect_near(g.delta, want, "grow's growth over four runs");
	cr_expect(json_row(out, "regressions", "grow").found, "%s", out);
	cr_expect(json_row(out, "regressions", "added").found, "%s", out);
	struct row s = json_row(out, "functions", "steady");
	cr_expect(s.found && !s.significant, "steady flagged: %s", out);
	free(out);
	free(err);

	/* one run per side: each run of B against one of A trips the gate, on grow (the
	 * common scale comes from steady; a run of B on a slow minute may leave grow's
	 * excess within noise once in four) */
	int grow_named = 0;
	for (int i = 0; i < NB; i++) {
		cr_expect_eq(
		    run(&out, &err, "diff", "--fail-above", "10", data[i], data[NA + i], NULL), 3,
		    "A%d against B%d: %s\n%s", i, i, err, out);
		grow_named += err && strstr(err, "grow grew by") != NULL;
		cr_expect(!strstr(err, "steady"), "%s", err);
		free(out);
		free(err);
	}
	cr_expect_geq(grow_named, NB - 1, "grow named in %d of %d single pairs", grow_named, NB);
	/* one run per side of one program (A against A, B against B, 8 pairs): the gate at
	 * 10% stays shut (1 in 20 allowed: 1 of 8) */
	int alarms = 0, pairs = 0;
	for (int i = 0; i + 1 < NA + NB; i++) {
		if (i + 1 == NA)
			continue;
		int st = run(&out, &err, "diff", "--fail-above", "10", data[i], data[i + 1], NULL);
		cr_expect(st == 0 || st == 3, "%s", err);
		pairs++;
		if (st == 3) {
			alarms++;
			cr_log_info("false alarm, %s against %s: %s\n%s", data[i], data[i + 1], err,
				    out);
		}
		free(out);
		free(err);
	}
	cr_expect_leq(alarms, 1, "%d of %d single pairs of one program tripped the gate", alarms,
		      pairs);

	/* three runs of A against three other runs of A, both ways: the gate stays shut */
	for (int k = 0; k < 2; k++) {
		int x = k ? 3 : 0, y = k ? 0 : 3;
		cr_expect_eq(run(&out, &err, "diff", "--fail-above", "10", "--base", data[x],
				 data[x + 1], data[x + 2], "--new", data[y], data[y + 1],
				 data[y + 2], NULL),
			     0, "A against A (%d): %s\n%s", k, err, out);
		free(out);
		free(err);
	}
	for (int i = 0; i < NA + NB; i++) {
		free(data[i]);
		free(meas[i]);
	}
}

/* ---- the differential flame graph ---- */

static int have_xmllint(void)
{
	return system("command -v xmllint >/dev/null 2>&1") == 0;
}

Test(diff, svg_wellformed_escaped_stable)
{
	char *a = put("a.folded", "main;work;grow 10000\nmain;work;steady 5000\nmain;old 1200\n"
				  "main;<script>alert(1)</script>;x&y 800\n");
	char *b = put("b.folded", "main;work;grow 15000\nmain;work;steady 5050\nmain;added 2500\n"
				  "main;<script>alert(1)</script>;x&y 790\n");
	char *s1 = h_path(dir, "d1.svg"), *s2 = h_path(dir, "d2.svg");
	char *out = NULL, *err = NULL;
	cr_assert_eq(run(&out, &err, "diff", "-o", s1, a, b, NULL), 0, "%s", err);
	free(out);
	free(err);
	cr_assert_eq(run(&out, &err, "diff", "-o", s2, a, b, NULL), 0, "%s", err);
	free(out);
	free(err);
	size_t n1, n2;
	char *x1 = h_read_file(s1, &n1), *x2 = h_read_file(s2, &n2);
	cr_assert(x1 && x2);
	cr_expect(n1 == n2 && !memcmp(x1, x2, n1), "the same input gave other bytes");
	cr_expect(!strstr(x1, "<script>alert"), "a name became markup");
	cr_expect(strstr(x1, "&lt;script&gt;alert(1)&lt;/script&gt;"), "the name is not shown");
	/* grow grew: a red frame; old is only in BASE: hatched, with its time */
	cr_expect(strstr(x1, "url(#cs-gone)") && strstr(x1, "id=\"cs-gone\""), "no hatched frame");
	cr_expect(strstr(x1, "only in BASE: 1200.0 samples"), "old's time is not shown");
	cr_expect(strstr(x1, "BASE 10000.0 samples, NEW 15000.0 samples: +5000.0 samples"),
		  "grow's tooltip");
	cr_expect(strstr(x1, "\"fills\": \"") && strstr(x1, "\"notes\": ["));
	/* the drawing holds NEW's time plus BASE's vanished time */
	cr_expect(strstr(x1, "all (24,540,000 thousandths of samples, 100.00%)"), "root width");
	if (have_xmllint()) {
		char cmd[512];
		snprintf(cmd, sizeof(cmd), "xmllint --noout '%s'", s1);
		cr_expect_eq(system(cmd), 0, "not well-formed XML");
	}
	free(x1);
	free(x2);
	free(s1);
	free(s2);
	free(a);
	free(b);
}

/* ---- ab ---- */

static double json_num_after(const char *s, const char *key)
{
	const char *k = strstr(s, key);
	cr_assert(k, "no %s in %s", key, s);
	return strtod(k + strlen(key), NULL);
}

/* B does 1.5 times A's work (tests/targets/abver.c): the interval of the median ratio
 * holds 1.5, the diff names grow and added, the gate trips, the recordings stay. With
 * --json the runs, the ratios, the interval and the diff are one JSON document on
 * stdout, and the table of runs goes to stderr. */
Test(diff, ab_interval_holds_the_truth)
{
	h_require_perf();
	char *abdir = h_path(dir, "runs");
	char *out = NULL, *err = NULL;
	int st = run(&out, &err, "ab", "-n", "6", "-o", abdir, "--fail-above", "10", "--json", "--",
		     TARGET("cs_t_abver_a"), "200", "--vs", TARGET("cs_t_abver_b"), "200", NULL);
	cr_assert_eq(st, 3, "status %d: %s\n%s", st, err, out);
	const char *m = strstr(err, "median B/A (CPU time): ");
	cr_assert(m, "%s", err);
	double med, lo, hi;
	cr_assert_eq(sscanf(m, "median B/A (CPU time): %lf, 95%% CI [%lf, %lf]", &med, &lo, &hi), 3,
		     "%s", m);
	cr_expect(lo <= 1.5 && 1.5 <= hi, "[%.3f, %.3f] misses 1.5", lo, hi);
	cr_expect(lo < hi && lo <= med && med <= hi);
	cr_expect(strstr(err, "regression: grow") && strstr(err, "regression: added") &&
		      !strstr(err, "steady"),
		  "%s", err);
	/* the JSON: the same figures, six runs a side, the diff inside */
	cr_expect(out[0] == '{' && !strstr(out, "# csampler ab"), "%s", out);
	cr_expect(fabs(json_num_after(out, "\"median_ratio\": ") - med) < 0.0005, "%s", out);
	const char *ci = strstr(out, "\"ci95\": [");
	cr_assert(ci, "%s", out);
	double jlo, jhi;
	cr_expect(sscanf(ci, "\"ci95\": [%lf, %lf]", &jlo, &jhi) == 2 && fabs(jlo - lo) < 0.0005 &&
		      fabs(jhi - hi) < 0.0005,
		  "%s", ci);
	cr_expect(json_num_after(out, "\"ci_coverage\": ") >= 0.95, "%s", out);
	for (int side = 0; side < 2; side++) {
		const char *r =
		    strstr(out, side ? "\n\"b\": {\"command\": [" : "\n\"a\": {\"command\": [");
		cr_assert(r, "%s", out);
		char key[32];
		snprintf(key, sizeof(key), "{\"run\": 6, \"file\": ");
		const char *r6 = strstr(r, key);
		cr_expect(r6 && json_num_after(r6, "\"cpu_s\": ") > 0.1 &&
			      json_num_after(r6, "\"wall_s\": ") > 0.1,
			  "%s", out);
		cr_expect(!strstr(r, "{\"run\": 7,") ||
			  strstr(r, "{\"run\": 7,") > strstr(r, "]}"));
	}
	const char *dj = strstr(out, "\n\"diff\": {\"mode\": \"per-run\"");
	cr_assert(dj, "%s", out);
	cr_expect(strstr(dj, "\"noise_model\": \"run-to-run\""), "%s", dj);
	cr_expect(json_row(dj, "regressions", "grow").found, "%s", dj);
	cr_expect(!json_row(dj, "regressions", "steady").found, "%s", dj);
	size_t ol = strlen(out);
	cr_expect(ol > 5 && !strcmp(out + ol - 5, "]}\n}\n"), "the document is cut: %s", out);
	if (system("command -v python3 >/dev/null 2>&1") == 0) {
		char *jf = h_path(dir, "ab.json"), cmd[1024];
		FILE *f = fopen(jf, "w");
		cr_assert(f);
		fputs(out, f);
		cr_assert_eq(fclose(f), 0);
		snprintf(cmd, sizeof(cmd), "python3 -m json.tool '%s' >/dev/null", jf);
		cr_expect_eq(system(cmd), 0, "not valid JSON: %s", out);
		free(jf);
	}
	for (int i = 1; i <= 6; i++) {
		char name[64];
		snprintf(name, sizeof(name), "runs/%c-%d.data", 'A' + (i % 2), i);
		char *p = h_path(dir, name);
		cr_expect(access(p, R_OK) == 0, "%s is missing", p);
		free(p);
	}
	free(out);
	free(err);
	/* text: one run each, the table and the diff on stdout, judged by the single-run
	 * model */
	st = run(&out, &err, "ab", "-n", "1", "-o", abdir, "--", TARGET("cs_t_abver_a"), "50",
		 "--vs", TARGET("cs_t_abver_b"), "50", NULL);
	cr_expect_eq(st, 0, "%s", err);
	cr_expect(strstr(out, "median B/A (CPU time): ") && strstr(out, "common scale"), "%s", out);
	free(out);
	free(err);
	/* usage errors are one line */
	cr_expect_eq(run(&out, &err, "ab", "--", TARGET("cs_t_abver_a"), NULL), 2);
	cr_expect(strstr(err, "--vs") && strchr(err, '\n')[1] == 0, "%s", err);
	free(out);
	free(err);
	cr_expect_eq(run(&out, &err, "ab", "--format", "xml", "--", "true", "--vs", "true", NULL),
		     2);
	cr_expect(strstr(err, "--format") && strchr(err, '\n')[1] == 0, "%s", err);
	free(out);
	free(err);
	free(abdir);
}
