/* cmd_report.c - csampler report: hotspot lists. */
#include "cli.h"
#include "render/render.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: csampler report [-i FILE] [--top N] [--sort self|total]\n"
	"                       [--by function|line|module|thread]\n"
	"                       [--callers FN | --callees FN] [--format text|json|csv] [-o OUT]\n"
	"\n"
	"Print where the samples fall: for each function (or line, module, thread) the\n"
	"share of samples in it (self) and under it (total), with module and file:line.\n"
	"FILE is a csampler recording (default csampler.data), folded stacks or perf script\n"
	"text. For recordings the text and JSON forms also summarize the process timeline\n"
	"(RSS, threads, open files, CPU %).\n"
	"\n"
	"  -i, --input FILE    profile to read (default csampler.data)\n"
	"  -n, --top N         rows to print (default 25; 0 = all)\n"
	"  -s, --sort KEY      self (default) or total\n"
	"  -b, --by KEY        function (default), line, module or thread\n"
	"      --callers FN    who calls FN, with each caller's share of FN's samples\n"
	"      --callees FN    what FN calls, with shares ([self] = FN's own time)\n"
	"  -f, --format FMT    text (default), json or csv\n"
	"  -o, --output OUT    write here instead of standard output\n"
	"\n"
	"examples:\n"
	"  csampler report --top 20\n"
	"  csampler report --by line --sort total -i app.data\n"
	"  csampler report --callers malloc --format json\n";

static int pick(const char *v, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v, names[i]))
			return i;
	return -1;
}

int cmd_report(int argc, char **argv)
{
	enum { O_CALLERS = 256, O_CALLEES };
	static const struct option longopts[] = {
		{"input", required_argument, 0, 'i'},	{"output", required_argument, 0, 'o'},
		{"top", required_argument, 0, 'n'},	{"sort", required_argument, 0, 's'},
		{"by", required_argument, 0, 'b'},	{"format", required_argument, 0, 'f'},
		{"callers", required_argument, 0, O_CALLERS},
		{"callees", required_argument, 0, O_CALLEES},
		{"help", no_argument, 0, 'h'},		{0, 0, 0, 0},
	};
	static const char *const sorts[] = {"self", "total"};
	static const char *const bys[] = {"function", "line", "module", "thread"};
	static const char *const fmts[] = {"text", "json", "csv"};
	const char *input = NULL, *output = NULL;
	struct cs_report_opts o = {0};
	uint64_t top;
	int c;

	o.top = 25;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "i:o:n:s:b:f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': input = optarg; break;
		case 'o': output = optarg; break;
		case 'n':
			if (cs_parse_u64(optarg, &top) < 0 || top > 1000000000)
				return cs_usage_error("report", "--top needs a number, not '%s'", optarg);
			o.top = (int)top;
			break;
		case 's':
			if ((o.sort_total = pick(optarg, sorts, 2)) < 0)
				return cs_usage_error("report", "--sort is self or total, not '%s'", optarg);
			break;
		case 'b':
			if ((o.by = pick(optarg, bys, 4)) < 0)
				return cs_usage_error("report",
						      "--by is function, line, module or thread, not '%s'",
						      optarg);
			break;
		case 'f':
			if ((o.format = pick(optarg, fmts, 3)) < 0)
				return cs_usage_error("report", "--format is text, json or csv, not '%s'",
						      optarg);
			break;
		case O_CALLERS: o.callers = optarg; break;
		case O_CALLEES: o.callees = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default:
			return cs_usage_error("report", "unknown option or missing value: '%s'",
					      argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cs_usage_error("report", "unexpected argument '%s'", argv[optind]);
	if (o.callers && o.callees)
		return cs_usage_error("report", "--callers and --callees exclude each other");

	struct cs_profile p;
	cs_profile_init(&p);
	int ret = 1;
	struct cs_out out;
	if (cs_cli_load(&p, input, NULL) < 0)
		goto done;
	if (cs_out_open(&out, output) < 0)
		goto done;
	if (cs_render_report(&p, &o, out.f) < 0) {
		cs_out_abort(&out);
		goto done;
	}
	if (cs_out_commit(&out) < 0)
		goto done;
	ret = 0;
done:
	cs_profile_release(&p);
	return ret;
}
