/* cmd_ab.c - csampler ab: run A and B alternately under record, N times each, and
 * answer "is B slower, by how much, and where": each run's wall and CPU time, the
 * median ratio B/A with a 95% confidence interval, then the diff of the runs. */
#include "cli.h"
#include "render/diff.h"
#include "render/render.h"
#include "util/stats.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: csampler ab [options] -- COMMAND_A... --vs COMMAND_B...\n"
    "\n"
    "Run A and B alternately (A B, B A, A B, ...: a drift of the machine hits both),\n"
    "each under 'csampler record', N times each. Print each run's wall time and CPU\n"
    "time, the median of the ratios B/A of each pair with a 95% confidence interval\n"
    "(order statistics: no assumption about the distribution), then 'csampler diff' of\n"
    "all A runs against all B runs, whose significance allows for the run-to-run\n"
    "spread. The recordings stay in DIR (A-1.data, B-1.data, ...) for a later diff;\n"
    "each run's standard output goes to A-1.out, B-1.out, ... beside them.\n"
    "\n"
    "CPU time is the sampled CPU time of the command and its children (samples / rate);\n"
    "wall time runs from the launch to the exit of the command.\n"
    "\n"
    "  -n, --runs N          runs of each command (default 10; at least 6 for a 95%\n"
    "                        interval)\n"
    "  -o, --output DIR      where recordings go (default csampler-ab; created)\n"
    "  -F, --freq HZ         sampling rate (default 999)\n"
    "      --wall            the ratio of wall times (default: CPU times)\n"
    "      --fail-above PCT  exit with status 3 when B's time, or any function's, grew\n"
    "                        significantly by more than PCT %% of A's (as diff)\n"
    "      --by KEY          rows of the diff: function (default), line, module, thread\n"
    "      --top N           rows of the diff (default 25; 0: all)\n"
    "      --svg FILE        also write the differential flame graph\n"
    "      --format FMT      text (default) or json: one JSON document on stdout (the\n"
    "                        runs then go to stderr as they finish); --json is the same\n"
    "\n"
    "JSON: {\"runs\", \"hz\", \"time\": \"cpu\"|\"wall\", \"dir\", \"a\" and \"b\": {\"command\":\n"
    "[ARG...], \"runs\": [{\"run\", \"file\", \"wall_s\", \"cpu_s\"}...]}, \"ratios\": [B/A of\n"
    "each pair], \"median_ratio\", \"ci95\": [LO, HI], \"ci_coverage\" (0: too few pairs,\n"
    "ci95 is the range), \"diff\": the JSON of 'csampler diff --format json'}.\n"
    "\n"
    "examples:\n"
    "  csampler ab -- ./build-main/app input --vs ./build-branch/app input\n"
    "  csampler ab -n 20 --fail-above 5 -o ab-runs -- python3 old.py --vs python3 new.py\n";

struct run {
	double wall, cpu;
};

/* One run of argv under record into path (stdout to out_path). 0, or -1 after one
 * error line. */
static int record_one(const char *self, char **argv, const char *hz, const char *path,
		      const char *out_path, const char *label, size_t k)
{
	size_t n = 0;
	while (argv[n])
		n++;
	char **v = cs_xmalloc((n + 10) * sizeof(char *));
	size_t a = 0;
	v[a++] = "csampler";
	v[a++] = "record";
	v[a++] = "-q";
	v[a++] = "-F";
	v[a++] = (char *)hz;
	v[a++] = "-o";
	v[a++] = (char *)path;
	v[a++] = "--";
	for (size_t i = 0; i < n; i++)
		v[a++] = argv[i];
	v[a] = NULL;
	int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		free(v);
		return cs_error("cannot write '%s': %s", out_path, strerror(errno));
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fd, 1);
		execv(self, v);
		fprintf(stderr, "csampler ab: cannot run '%s': %s\n", self, strerror(errno));
		_exit(127);
	}
	int e = errno;
	close(fd);
	free(v);
	if (pid < 0)
		return cs_error("cannot start run %zu of %s: %s", k, label, strerror(e));
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return cs_error("cannot wait for run %zu of %s: %s", k, label,
					strerror(errno));
	}
	if (WIFSIGNALED(st))
		return cs_error("run %zu of %s ended by signal %d", k, label, WTERMSIG(st));
	if (WEXITSTATUS(st))
		return cs_error("run %zu of %s failed with exit status %d (its output: '%s')", k,
				label, WEXITSTATUS(st), out_path);
	return 0;
}

static int measure(const char *path, struct run *r)
{
	struct cs_profile p;
	cs_profile_init(&p);
	if (cs_cli_load(&p, path, NULL) < 0) {
		cs_profile_release(&p);
		return -1;
	}
	r->wall = (double)p.stats.duration_ns / 1e9;
	r->cpu = p.meta.hz ? (double)cs_profile_total(&p) / p.meta.hz : 0;
	cs_profile_release(&p);
	return 0;
}

static void put_cmd(FILE *out, char **argv)
{
	for (size_t i = 0; argv[i]; i++) {
		fputc(' ', out);
		cs_text_put(out, argv[i]);
	}
}

int cmd_ab(int argc, char **argv)
{
	enum { O_WALL = 256, O_FAIL, O_BY, O_TOP, O_SVG, O_FORMAT, O_JSON };
	static const struct option longopts[] = {
	    {"runs", required_argument, 0, 'n'},
	    {"output", required_argument, 0, 'o'},
	    {"freq", required_argument, 0, 'F'},
	    {"wall", no_argument, 0, O_WALL},
	    {"fail-above", required_argument, 0, O_FAIL},
	    {"by", required_argument, 0, O_BY},
	    {"top", required_argument, 0, O_TOP},
	    {"svg", required_argument, 0, O_SVG},
	    {"format", required_argument, 0, O_FORMAT},
	    {"json", no_argument, 0, O_JSON},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	static const char *const bys[] = {"function", "line", "module", "thread"};
	struct cs_diff_opts o = {CS_BY_FUNCTION, 0, 0.05, 0, -1, 0};
	const char *dir = "csampler-ab", *hz = "999", *svg = NULL;
	int wall = 0, top = 25, c, json = 0;
	uint64_t runs = 10, u;
	double v;

	optind = 1;
	opterr = 0;
	/* options end at "--": the commands follow */
	int dd = 1;
	while (dd < argc && strcmp(argv[dd], "--"))
		dd++;
	while ((c = getopt_long(dd, argv, "n:o:F:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (cs_parse_u64(optarg, &runs) < 0 || runs < 1 || runs > 10000)
				return cs_usage_error("ab",
						      "-n needs a number of runs from 1 to "
						      "10000, not '%s'",
						      optarg);
			break;
		case 'o':
			dir = optarg;
			break;
		case 'F':
			if (cs_parse_u64(optarg, &u) < 0 || u < 1 || u > 100000)
				return cs_usage_error("ab",
						      "-F needs a rate in Hz from 1 to 100000, "
						      "not '%s'",
						      optarg);
			hz = optarg;
			break;
		case O_WALL:
			wall = 1;
			break;
		case O_FAIL:
			if (cs_parse_double(optarg, &v) < 0 || !(v >= 0 && v <= 1e6))
				return cs_usage_error("ab",
						      "--fail-above needs a percentage (0 or "
						      "more), not '%s'",
						      optarg);
			o.fail_above = v;
			break;
		case O_BY:
			o.by = -1;
			for (int k = 0; k < 4; k++)
				if (!strcmp(optarg, bys[k]))
					o.by = k;
			if (o.by < 0)
				return cs_usage_error("ab",
						      "--by is function, line, module or "
						      "thread, not '%s'",
						      optarg);
			break;
		case O_TOP:
			if (cs_parse_u64(optarg, &u) < 0 || u > 100000000)
				return cs_usage_error(
				    "ab", "--top needs a number of rows, not '%s'", optarg);
			top = (int)u;
			break;
		case O_SVG:
			svg = optarg;
			break;
		case O_FORMAT:
			if (strcmp(optarg, "text") && strcmp(optarg, "json"))
				return cs_usage_error("ab", "--format is text or json, not '%s'",
						      optarg);
			json = !strcmp(optarg, "json");
			break;
		case O_JSON:
			json = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return cs_usage_error("ab", "unknown option or missing value: '%s'",
					      argv[optind - 1]);
		}
	}
	if (optind < dd)
		return cs_usage_error("ab", "unexpected argument '%s': commands go after '--'",
				      argv[optind]);
	if (dd >= argc)
		return cs_usage_error("ab", "say what to compare: -- COMMAND_A... --vs "
					    "COMMAND_B...");
	char **cmd_a = argv + dd + 1, **cmd_b = NULL;
	for (int i = dd + 1; i < argc; i++) {
		if (!strcmp(argv[i], "--vs")) {
			argv[i] = NULL;
			cmd_b = argv + i + 1;
			break;
		}
	}
	if (!cmd_b)
		return cs_usage_error("ab", "missing '--vs COMMAND_B...' after COMMAND_A");
	if (!cmd_a[0] || !cmd_b[0])
		return cs_usage_error("ab", "COMMAND_%s is empty", cmd_a[0] ? "B" : "A");

	char self[PATH_MAX];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0)
		return cs_error("cannot find csampler's own executable: %s", strerror(errno)), 1;
	self[sl] = 0;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return cs_error("cannot create '%s': %s", dir, strerror(errno)), 1;

	struct run *ra = cs_xcalloc(runs, sizeof(struct run));
	struct run *rb = cs_xcalloc(runs, sizeof(struct run));
	char **paths = cs_xcalloc(2 * runs, sizeof(char *));
	int ret = 1;
	double *ratio = NULL, *sorted = NULL, med = 0, lo = 0, hi = 0, cover = 0;
	size_t nr = 0;
	struct cs_diff d;
	cs_diff_init(&d, &o);

	/* the runs as they finish: on stdout, or on stderr when stdout is JSON */
	FILE *log = json ? stderr : stdout;
	fprintf(log,
		"# csampler ab: %llu runs each of A and B, alternately, at %s Hz; recordings in ",
		(unsigned long long)runs, hz);
	cs_text_put(log, dir);
	fprintf(log, "\n#   A:");
	put_cmd(log, cmd_a);
	fprintf(log, "\n#   B:");
	put_cmd(log, cmd_b);
	fprintf(log, "\n\n  run     A wall      A CPU     B wall      B CPU   B/A (%s)\n",
		wall ? "wall" : "CPU");
	for (size_t i = 0; i < runs; i++) {
		/* A B, then B A: a machine that speeds up or slows down hits both */
		for (int k = 0; k < 2; k++) {
			int side = (i % 2) ? 1 - k : k;
			char *path = cs_xasprintf("%s/%c-%zu.data", dir, side ? 'B' : 'A', i + 1);
			char *outp = cs_xasprintf("%s/%c-%zu.out", dir, side ? 'B' : 'A', i + 1);
			paths[2 * i + (size_t)side] = path;
			int bad = record_one(self, side ? cmd_b : cmd_a, hz, path, outp,
					     side ? "B" : "A", i + 1);
			free(outp);
			if (bad || measure(path, side ? &rb[i] : &ra[i]) < 0)
				goto done;
		}
		double x = wall ? ra[i].wall : ra[i].cpu, y = wall ? rb[i].wall : rb[i].cpu;
		fprintf(log, "  %3zu  %8.3f s  %8.3f s  %8.3f s  %8.3f s   %.3f\n", i + 1,
			ra[i].wall, ra[i].cpu, rb[i].wall, rb[i].cpu, x > 0 ? y / x : 0.0);
		fflush(log);
	}

	ratio = cs_xmalloc(runs * sizeof(double));
	sorted = cs_xmalloc(runs * sizeof(double));
	for (size_t i = 0; i < runs; i++) {
		double x = wall ? ra[i].wall : ra[i].cpu, y = wall ? rb[i].wall : rb[i].cpu;
		if (x > 0)
			ratio[nr++] = y / x;
	}
	if (nr) {
		memcpy(sorted, ratio, nr * sizeof(double));
		med = cs_median(sorted, nr);
		cover = cs_median_ci(sorted, nr, 0.95, &lo, &hi);
		fprintf(log, "\nmedian B/A (%s time): %.3f, 95%% CI [%.3f, %.3f]",
			wall ? "wall" : "CPU", med, lo, hi);
		if (cover > 0)
			fprintf(log, " (order statistics of %zu pairs: %.1f%% coverage)\n", nr,
				100 * cover);
		else
			fprintf(log,
				" is only the range: %zu pairs are too few for 95%% (6 or more)\n",
				nr);
	}
	fprintf(log, "\n");

	for (size_t i = 0; i < 2 * runs; i++) {
		struct cs_profile p;
		cs_profile_init(&p);
		if (cs_cli_load(&p, paths[i], NULL) < 0) {
			cs_profile_release(&p);
			goto done;
		}
		cs_diff_add(&d, (int)(i % 2), &p, paths[i]);
		cs_profile_release(&p);
	}
	if (cs_diff_compute(&d) < 0)
		goto done;
	if (svg) {
		struct cs_out so;
		struct cs_flame_opts fo;
		memset(&fo, 0, sizeof(fo));
		if (cs_out_open(&so, svg) < 0)
			goto done;
		if (cs_render_diff_flame(&d, &fo, so.f) < 0) {
			cs_out_abort(&so);
			goto done;
		}
		if (cs_out_commit(&so) < 0)
			goto done;
	}
	if (json) {
		struct cs_out out;
		if (cs_out_open(&out, "-") < 0)
			goto done;
		FILE *f = out.f;
		fprintf(f, "{\"runs\": %llu, \"hz\": %s, \"time\": \"%s\", \"dir\": ",
			(unsigned long long)runs, hz, wall ? "wall" : "cpu");
		cs_json_str(f, dir, strlen(dir));
		for (int side = 0; side < 2; side++) {
			char **cmd = side ? cmd_b : cmd_a;
			const struct run *r = side ? rb : ra;
			fprintf(f, ",\n\"%s\": {\"command\": [", side ? "b" : "a");
			for (size_t i = 0; cmd[i]; i++) {
				if (i)
					fputs(", ", f);
				cs_json_str(f, cmd[i], strlen(cmd[i]));
			}
			fputs("], \"runs\": [", f);
			for (size_t i = 0; i < runs; i++) {
				const char *pth = paths[2 * i + (size_t)side];
				fprintf(f, "%s{\"run\": %zu, \"file\": ", i ? ", " : "", i + 1);
				cs_json_str(f, pth, strlen(pth));
				fprintf(f, ", \"wall_s\": %.9g, \"cpu_s\": %.9g}", r[i].wall,
					r[i].cpu);
			}
			fputs("]}", f);
		}
		fputs(",\n\"ratios\": [", f);
		for (size_t i = 0; i < nr; i++)
			fprintf(f, "%s%.9g", i ? ", " : "", ratio[i]);
		fprintf(f,
			"], \"median_ratio\": %.9g, \"ci95\": [%.9g, %.9g], "
			"\"ci_coverage\": %.9g,\n\"diff\": ",
			med, lo, hi, cover);
		cs_render_diff(&d, CS_FMT_JSON, top, f);
		fputs("}\n", f);
		if (cs_out_commit(&out) < 0)
			goto done;
	} else {
		cs_render_diff(&d, CS_FMT_TEXT, top, stdout);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			cs_error("cannot write to standard output: %s", strerror(errno));
			goto done;
		}
	}
	ret = 0;
	if (o.fail_above >= 0 && d.regressions) {
		cs_diff_print_regressions(&d, stderr);
		ret = 3;
	}
done:
	free(ratio);
	free(sorted);
	cs_diff_release(&d);
	for (size_t i = 0; i < 2 * runs; i++)
		free(paths[i]);
	free(paths);
	free(ra);
	free(rb);
	return ret;
}
