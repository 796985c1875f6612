/* cmd_diff.c - csampler diff: did it get slower, and where? */
#include "cli.h"
#include "render/diff.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: csampler diff [options] BASE NEW\n"
    "       csampler diff [options] --base FILE... --new FILE...\n"
    "\n"
    "Compare two profiles function by function: where NEW spends more or less time than\n"
    "BASE, and whether each change is larger than sampling noise or is only noise. Each\n"
    "side is a csampler recording, folded stacks or 'perf script' text (detected from the\n"
    "content); with --base and --new a side is several files, merged: several runs of\n"
    "each version, which also measures their run-to-run spread.\n"
    "\n"
    "Time is CPU self time (the samples whose leaf is the function). It is compared per\n"
    "run for launched recordings and text inputs (each file is one run; several runs\n"
    "are averaged), per second of recording for attached ones (recordings of different\n"
    "lengths), or as shares with --normalize; the header says which. A row is marked '*'\n"
    "when its change is significant: beyond sampling noise and the noise of whole runs,\n"
    "at level --alpha for the whole table (so two profiles of one unchanged program flag\n"
    "no row 19 times in 20). Functions found on one side only are 'new' or 'gone'.\n"
    "\n"
    "The noise of whole runs: with two or more runs on a side, that side's run-to-run\n"
    "spread (a side of one run borrows the other's). With one run per side, a whole run\n"
    "of an unchanged program may be up to 30% slower or faster (a busy machine, a\n"
    "hypervisor), which scales every function alike: diff estimates that common scale\n"
    "NEW/BASE from the functions that agree on it (preferring no change on a tie) and\n"
    "judges each function by its excess over scale x BASE (sampling noise, the scale's\n"
    "uncertainty, 5% jitter); the total and kernel functions (where a hypervisor's\n"
    "stolen time shows) count only beyond 30% of BASE's total. The header and the JSON\n"
    "(\"noise_model\", \"scale\", \"excess_s\") say what was estimated. A slowdown of\n"
    "the whole program under 30%, or of kernel code, needs several runs per side.\n"
    "\n"
    "  -o, --output OUT.svg   also write a differential flame graph: NEW's stacks, red\n"
    "                         where time grew, blue where it shrank, grey where the\n"
    "                         change is not significant; BASE-only frames hatched\n"
    "      --format FMT       text (default), json or csv\n"
    "      --by KEY           function (default), line, module or thread (by name)\n"
    "      --top N            rows of the text table (default 25; 0: all)\n"
    "      --normalize        compare shares of each side's total, not time\n"
    "      --fail-above PCT   exit with status 3 when NEW's total, or any row, grew\n"
    "                         significantly by more than PCT %% of BASE's total (with\n"
    "                         one run per side: a row's excess over the common scale),\n"
    "                         and say which (stderr)\n"
    "      --alpha P          significance level of the table (default 0.05)\n"
    "  -F, --freq HZ          sampling rate of text inputs, to compare them in seconds\n"
    "                         with recordings (else they count samples)\n"
    "      --time KIND        the time compared: cpu, off (blocked + preempted), wall,\n"
    "                         blocked or preempted; off and wall need recordings made\n"
    "                         with 'record --wall' (their default is wall, else cpu)\n"
    "      --title TEXT       title of the flame graph\n"
    "\n"
    "Exit status: 0, 1 on an error, 2 on a usage error, 3 when --fail-above trips.\n"
    "\n"
    "examples:\n"
    "  csampler diff before.data after.data\n"
    "  csampler diff --base a1.data a2.data a3.data --new b1.data b2.data b3.data\n"
    "  csampler diff -o diff.svg --fail-above 5 main.data branch.data\n"
    "  csampler diff --format json --normalize old.folded new.folded > diff.json\n";

/* Split "--base A B --new C D" (and "--base=A") out of argv; the rest stays for
 * getopt. Returns 0 or the exit status of a usage error. */
struct files {
	const char **v;
	size_t n, cap;
};

static int split_sides(int *argc, char **argv, struct files *side)
{
	int out = 1, cur = -1;
	for (int i = 1; i < *argc; i++) {
		char *a = argv[i];
		if (!strcmp(a, "--")) {
			for (; i < *argc; i++)
				argv[out++] = argv[i];
			break;
		}
		if (!strcmp(a, "--base") || !strcmp(a, "--new")) {
			cur = a[2] == 'b' ? 0 : 1;
			continue;
		}
		if (!strncmp(a, "--base=", 7) || !strncmp(a, "--new=", 6)) {
			cur = a[2] == 'b' ? 0 : 1;
			CS_VEC_PUSH(side[cur], strchr(a, '=') + 1);
			continue;
		}
		if (cur >= 0 && (a[0] != '-' || !strcmp(a, "-"))) {
			CS_VEC_PUSH(side[cur], a);
			continue;
		}
		cur = -1;
		argv[out++] = a;
	}
	*argc = out;
	argv[out] = NULL;
	return 0;
}

int cmd_diff(int argc, char **argv)
{
	enum {
		O_FORMAT = 256,
		O_BY,
		O_TOP,
		O_NORMALIZE,
		O_FAIL,
		O_ALPHA,
		O_TIME,
		O_TITLE,
	};
	static const struct option longopts[] = {
	    {"output", required_argument, 0, 'o'},
	    {"format", required_argument, 0, O_FORMAT},
	    {"by", required_argument, 0, O_BY},
	    {"top", required_argument, 0, O_TOP},
	    {"normalize", no_argument, 0, O_NORMALIZE},
	    {"fail-above", required_argument, 0, O_FAIL},
	    {"alpha", required_argument, 0, O_ALPHA},
	    {"freq", required_argument, 0, 'F'},
	    {"time", required_argument, 0, O_TIME},
	    {"title", required_argument, 0, O_TITLE},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	static const char *const bys[] = {"function", "line", "module", "thread"};
	static const char *const fmts[] = {"text", "json", "csv"};
	struct files side[2] = {{0}, {0}};
	struct cs_diff_opts o = {CS_BY_FUNCTION, 0, 0.05, 0, -1, 0};
	struct cs_flame_opts fo;
	const char *svg = NULL, *time_kind = NULL;
	int format = CS_FMT_TEXT, top = 25, c, ret = 2;
	uint64_t u;
	double v;

	memset(&fo, 0, sizeof(fo));
	split_sides(&argc, argv, side);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:F:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			svg = optarg;
			break;
		case O_FORMAT:
			format = -1;
			for (int k = 0; k < 3; k++)
				if (!strcmp(optarg, fmts[k]))
					format = k;
			if (format < 0) {
				cs_usage_error("diff", "--format is text, json or csv, not '%s'",
					       optarg);
				goto out;
			}
			break;
		case O_BY:
			o.by = -1;
			for (int k = 0; k < 4; k++)
				if (!strcmp(optarg, bys[k]))
					o.by = k;
			if (o.by < 0) {
				cs_usage_error("diff",
					       "--by is function, line, module or thread, not '%s'",
					       optarg);
				goto out;
			}
			break;
		case O_TOP:
			if (cs_parse_u64(optarg, &u) < 0 || u > 100000000) {
				cs_usage_error("diff", "--top needs a number of rows, not '%s'",
					       optarg);
				goto out;
			}
			top = (int)u;
			break;
		case O_NORMALIZE:
			o.normalize = 1;
			break;
		case O_FAIL:
			if (cs_parse_double(optarg, &v) < 0 || !(v >= 0 && v <= 1e6)) {
				cs_usage_error("diff",
					       "--fail-above needs a percentage (0 or more), "
					       "not '%s'",
					       optarg);
				goto out;
			}
			o.fail_above = v;
			break;
		case O_ALPHA:
			if (cs_parse_double(optarg, &v) < 0 || !(v > 0 && v < 1)) {
				cs_usage_error("diff",
					       "--alpha needs a level between 0 and 1, not '%s'",
					       optarg);
				goto out;
			}
			o.alpha = v;
			break;
		case 'F':
			if (cs_parse_double(optarg, &v) < 0 || !(v > 0 && v <= 1e9)) {
				cs_usage_error("diff", "-F needs samples per second, not '%s'",
					       optarg);
				goto out;
			}
			o.freq = v;
			break;
		case O_TIME:
			time_kind = optarg;
			break;
		case O_TITLE:
			fo.title = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			ret = 0;
			goto out;
		default:
			cs_usage_error("diff", "unknown option or missing value: '%s'",
				       argv[optind - 1]);
			goto out;
		}
	}
	unsigned sel = 0; /* 0: the first input's default */
	if (time_kind && !(sel = cs_time_parse(time_kind))) {
		cs_usage_error("diff", "--time is cpu, off, wall, blocked or preempted, not '%s'",
			       time_kind);
		goto out;
	}
	for (int i = optind; i < argc; i++) {
		int s = side[0].n == 0 ? 0 : side[1].n == 0 ? 1 : 2;
		if (s == 2) {
			cs_usage_error("diff",
				       "unexpected argument '%s': give BASE and NEW, or "
				       "--base FILE... --new FILE...",
				       argv[i]);
			goto out;
		}
		CS_VEC_PUSH(side[s], argv[i]);
	}
	if (!side[0].n || !side[1].n) {
		cs_usage_error("diff",
			       "missing %s: give BASE and NEW, or --base FILE... --new "
			       "FILE...",
			       side[0].n ? "NEW" : "BASE");
		goto out;
	}

	ret = 1;
	struct cs_diff d;
	cs_diff_init(&d, &o);
	for (int s = 0; s < 2; s++) {
		for (size_t i = 0; i < side[s].n; i++) {
			struct cs_profile p;
			cs_profile_init(&p);
			if (cs_cli_load(&p, side[s].v[i], NULL) < 0) {
				cs_profile_release(&p);
				goto done;
			}
			/* every input shows the same time: the one asked for, or the
			 * first input's default (wall for a --wall recording) */
			if (!sel)
				sel = cs_time_default(&p);
			if (sel != CS_SEL_CPU && !p.times.wall) {
				cs_error("'%s' has no off-CPU time: --time %s needs a recording made "
					 "with 'csampler record --wall'",
					 side[s].v[i], cs_time_name(sel));
				cs_profile_release(&p);
				goto done;
			}
			if (cs_profile_select_time(&p, sel) < 0) {
				cs_profile_release(&p);
				goto done;
			}
			d.o.time = sel;
			cs_diff_add(&d, s, &p, side[s].v[i]);
			cs_profile_release(&p);
		}
	}
	if (cs_diff_compute(&d) < 0)
		goto done;
	if (svg) {
		struct cs_out so;
		if (cs_out_open(&so, svg) < 0)
			goto done;
		if (cs_render_diff_flame(&d, &fo, so.f) < 0) {
			cs_out_abort(&so);
			goto done;
		}
		if (cs_out_commit(&so) < 0)
			goto done;
	}
	struct cs_out out;
	if (cs_out_open(&out, "-") < 0)
		goto done;
	cs_render_diff(&d, format, top, out.f);
	if (cs_out_commit(&out) < 0)
		goto done;
	ret = 0;
	if (o.fail_above >= 0 && d.noise == CS_NOISE_SINGLE && d.regressions)
		cs_warn("with one run per side the gate judges each function against a common "
			"scale NEW/BASE of %.3f and the total against a +-%.0f%% allowance for "
			"run-to-run noise: give several runs per side, or use 'csampler ab'",
			d.scale, 100 * CS_DIFF_ALLOWANCE);
	if (o.fail_above >= 0 && d.regressions) {
		cs_diff_print_regressions(&d, stderr);
		ret = 3;
	}
done:
	cs_diff_release(&d);
out:
	CS_VEC_FREE(side[0]);
	CS_VEC_FREE(side[1]);
	return ret;
}
