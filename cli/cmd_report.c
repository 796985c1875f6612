/* cmd_report.c - csampler report: hotspot lists. */
#include "cli.h"
#include "render/view.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: csampler report [-i FILE] [--top N] [--sort self|total]\n"
	"                       [--by function|line|module|thread]\n"
	"                       [--callers FN | --callees FN] [--addrs]\n"
	"                       [--format text|json|csv] [-o OUT]\n"
	"       csampler report --leaks [-i FILE] [--cost COST] [--pid PID] [--snapshot K]\n"
	"                       [--diff A B] [--min-age S] [--top N] [--format text|json]\n"
	"\n"
	"Print where the samples fall: for each function (or line, module, thread) the\n"
	"share of samples in it (self) and under it (total), with module and file:line.\n"
	"FILE is a csampler recording (default csampler.data), folded stacks or perf script\n"
	"text. For recordings the text and JSON forms also summarize the process timeline\n"
	"(RSS, threads, open files, CPU %). Samples of perf script text weigh their period\n"
	"when perf printed one, as in perf report.\n"
	"\n"
	"  -i, --input FILE    profile to read (default csampler.data)\n"
	"  -n, --top N         rows to print (default 25; 0 = all); with --leaks, stacks\n"
	"                      to list (default: 10 in text, all in JSON)\n"
	"  -s, --sort KEY      self (default) or total\n"
	"  -b, --by KEY        function (default), line, module or thread\n"
	"      --callers FN    who calls FN, with each caller's share of FN's samples\n"
	"                      (a C++ name may leave out its parameter list)\n"
	"      --callees FN    what FN calls, with shares ([self] = FN's own time)\n"
	"  -b thread with a recording made with 'record --wall': each thread's CPU,\n"
	"                      blocked, preempted and wall time (ms), and how long it\n"
	"                      existed while recorded\n"
	"      --addrs         frames without a symbol (MODULE+0xOFFSET) get one row per\n"
	"                      address, instead of one [MODULE] row per module\n"
	"  -f, --format FMT    text (default), json or csv\n"
	"  -o, --output OUT    write here instead of standard output\n"
	CS_VIEW_USAGE
	"\n"
	"Leak snapshots (recorded by 'csampler leaks' or 'record --leaks'):\n"
	"      --leaks         for each process: the heap's peak (bytes and when), its\n"
	"                      allocations, frees and temporary allocations, a timeline of\n"
	"                      tracked bytes next to RSS; then allocations by call stack in\n"
	"                      the last snapshot (stacks with the same frames merged into one\n"
	"                      site), and the growth suspects: stacks whose outstanding bytes\n"
	"                      kept rising (never fell, rose in most intervals)\n"
	"      --cost COST     sort stacks by leaked (bytes outstanding, the default),\n"
	"                      allocations (made since tracking began, with their rate),\n"
	"                      temporary (allocations freed before their thread allocated or\n"
	"                      freed anything else) or peak (bytes held when the heap peaked)\n"
	"      --pid PID       only this process (a launched command's children and the\n"
	"                      programs they exec each have their own section)\n"
	"      --snapshot K    list snapshot K (1 = the first) instead of the last, of one\n"
	"                      process (--pid, else the first)\n"
	"      --diff A B      the growth per call stack from snapshot A to snapshot B\n"
	"      --min-age S     only stacks whose oldest outstanding block is S seconds old\n"
	"\n"
	"examples:\n"
	"  csampler report --top 20\n"
	"  csampler report --by line --sort total -i app.data\n"
	"  csampler report --callers malloc --format json\n"
	"  csampler report --callers 'std::vector<int>::push_back'\n"
	"  csampler report --time off --exclude-idle -i wall.data\n"
	"  csampler report --by thread -i wall.data\n"
	"  perf script | csampler report -i - --by module\n"
	"  csampler report --leaks --min-age 60\n"
	"  csampler report --leaks --cost allocations --top 5\n"
	"  csampler report --leaks --diff 1 5 --format json\n";

static int pick(const char *v, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v, names[i]))
			return i;
	return -1;
}

int cmd_report(int argc, char **argv)
{
	enum { O_CALLERS = 256, O_CALLEES, O_LEAKS, O_SNAPSHOT, O_DIFF, O_MIN_AGE, O_ADDRS, O_COST,
	       O_PID };
	static const struct option longopts[] = {
		{"input", required_argument, 0, 'i'},	{"output", required_argument, 0, 'o'},
		{"top", required_argument, 0, 'n'},	{"sort", required_argument, 0, 's'},
		{"by", required_argument, 0, 'b'},	{"format", required_argument, 0, 'f'},
		{"callers", required_argument, 0, O_CALLERS},
		{"callees", required_argument, 0, O_CALLEES},
		{"leaks", no_argument, 0, O_LEAKS},
		{"addrs", no_argument, 0, O_ADDRS},
		{"snapshot", required_argument, 0, O_SNAPSHOT},
		{"diff", required_argument, 0, O_DIFF},
		{"min-age", required_argument, 0, O_MIN_AGE},
		{"cost", required_argument, 0, O_COST},
		{"pid", required_argument, 0, O_PID},
		CS_VIEW_LONGOPTS,
		{"help", no_argument, 0, 'h'},		{0, 0, 0, 0},
	};
	static const char *const sorts[] = {"self", "total"};
	static const char *const bys[] = {"function", "line", "module", "thread"};
	static const char *const fmts[] = {"text", "json", "csv"};
	const char *input = NULL, *output = NULL;
	struct cs_report_opts o = {0};
	struct cs_leak_report_opts lo = {0};
	uint64_t top, k;
	double age;
	int c, leaks = 0, top_set = 0;
	struct cs_view_sel sel;
	memset(&sel, 0, sizeof(sel));

	o.top = 25;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "i:o:n:s:b:f:h", longopts, NULL)) != -1) {
		int v = cs_view_opt(&sel, "report", c, optarg);
		if (v < 0)
			return 2;
		if (v)
			continue;
		switch (c) {
		case 'i': input = optarg; break;
		case 'o': output = optarg; break;
		case 'n':
			if (cs_parse_u64(optarg, &top) < 0 || top > 1000000000)
				return cs_usage_error("report", "--top needs a number, not '%s'", optarg);
			o.top = (int)top;
			top_set = 1;
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
		case O_LEAKS: leaks = 1; break;
		case O_SNAPSHOT:
			if (cs_parse_u64(optarg, &k) < 0 || k < 1 || k > 1000000000)
				return cs_usage_error("report", "--snapshot needs a snapshot number (1 = the "
								"first), not '%s'",
						      optarg);
			lo.snapshot = (int)k;
			leaks = 1;
			break;
		case O_DIFF: {
			uint64_t b;
			if (cs_parse_u64(optarg, &k) < 0 || k < 1 || k > 1000000000 || optind >= argc ||
			    cs_parse_u64(argv[optind], &b) < 0 || b < 1 || b > 1000000000)
				return cs_usage_error("report", "--diff needs two snapshot numbers: "
								"--diff A B");
			lo.diff_a = (int)k;
			lo.diff_b = (int)b;
			optind++;
			leaks = 1;
			break;
		}
		case O_MIN_AGE:
			if (cs_parse_double(optarg, &age) < 0 || age < 0)
				return cs_usage_error("report", "--min-age needs seconds, not '%s'", optarg);
			lo.min_age_s = age;
			leaks = 1;
			break;
		case O_ADDRS: o.addrs = 1; break;
		case O_COST:
			if ((lo.cost = cs_leak_cost_parse(optarg)) < 0)
				return cs_usage_error("report", "--cost is leaked, allocations, temporary "
								"or peak, not '%s'",
						      optarg);
			leaks = 1;
			break;
		case O_PID:
			if (cs_parse_u64(optarg, &k) < 0 || k < 1 || k > 0x7fffffff)
				return cs_usage_error("report", "--pid needs a process id, not '%s'",
						      optarg);
			lo.pid = (int64_t)k;
			leaks = 1;
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

	struct cs_view_opts vo = {.leaks = leaks, .report = &o, .leak_report = &lo};
	if (leaks) {
		/* text lists the top 10 stacks and says how many more; JSON has them all */
		lo.top = top_set ? o.top : o.format == CS_FMT_JSON ? 0 : 10;
		lo.format = o.format;
		if (o.format == CS_FMT_CSV)
			return cs_usage_error("report", "leak reports come as text or json");
	}
	/* leak reports have no time kinds: the selection is for samples */
	return cs_cli_render(input, NULL, leaks ? NULL : &sel, cs_view_find("report"), &vo, NULL,
			     NULL, output);
}
