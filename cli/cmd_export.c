/* cmd_export.c - csampler export: the profile in another tool's format. */
#include "cli.h"
#include "render/view.h"

#include <getopt.h>
#include <string.h>

static const char usage_text[] =
    "usage: csampler export --format pprof|speedscope|gecko|callgrind [-i FILE] [-o OUT]\n"
    "                       [--time KIND] [--leaks [--pid PID] [--snapshot K]]\n"
    "\n"
    "Write the profile in the format of a tool people already use. FILE is a csampler\n"
    "recording (default csampler.data), folded stacks or perf script text, detected\n"
    "from the content; '-' reads standard input. OUT defaults to standard output.\n"
    "\n"
    "  -f, --format FMT   pprof       gzip'd profile.proto: go tool pprof, Pyroscope,\n"
    "                                 Parca. Values samples/count and cpu/nanoseconds\n"
    "                                 (recordings); locations carry their module\n"
    "                                 (path, build-id) and inline chains; samples carry\n"
    "                                 thread, pid and tid labels\n"
    "                     speedscope  speedscope's JSON: one sampled profile per thread\n"
    "                     gecko       the Firefox Profiler's Gecko format: one track per\n"
    "                                 thread (see 'sample times' below)\n"
    "                     callgrind   callgrind_annotate and KCachegrind: self cost by\n"
    "                                 file, function and line, calls with inclusive cost\n"
    "  -i, --input FILE   profile to read (default csampler.data)\n"
    "  -o, --output OUT   write here instead of standard output\n"
    CS_VIEW_USAGE
    "                     (off-CPU and wall time are written in microseconds:\n"
    "                     pprof wall/nanoseconds, speedscope nanoseconds)\n"
    "      --leaks        the stacks of each process's last leak snapshot, weighed by\n"
    "                     outstanding bytes (pprof: inuse_space/bytes and\n"
    "                     inuse_objects/count, as Go's heap profiles)\n"
    "      --pid PID      ... of this process only\n"
    "      --snapshot K   ... snapshot K (1 = the first) of one process instead\n"
    "\n"
    "Sample times (gecko): a recording keeps how often each stack was sampled in each\n"
    "thread, not when. The Gecko tracks lay a thread's samples end to end at the\n"
    "sampling interval, grouped by stack: their length is the thread's CPU time, their\n"
    "order is not the order in which the stacks ran.\n"
    "\n"
    "examples:\n"
    "  csampler export --format pprof -o cpu.pb.gz && go tool pprof -top cpu.pb.gz\n"
    "  csampler export -f speedscope -i app.data -o app.speedscope.json\n"
    "  csampler export -f gecko -o app.gecko.json     # profiler.firefox.com: Load a file\n"
    "  csampler export -f callgrind -o callgrind.out && callgrind_annotate callgrind.out\n"
    "  csampler export -f pprof --leaks -o heap.pb.gz\n"
    "  perf script | csampler export -i - -f speedscope -o perf.json\n";

static int known_formats(const char *got)
{
	char list[256] = "";
	for (const struct cs_view *v = cs_views; v->name; v++)
		if (v->flags & CS_VIEW_EXPORT) {
			if (*list)
				strncat(list, ", ", sizeof(list) - strlen(list) - 1);
			strncat(list, v->name, sizeof(list) - strlen(list) - 1);
		}
	if (!got)
		return cs_usage_error("export", "--format is required: one of %s", list);
	return cs_usage_error("export", "--format is one of %s, not '%s'", list, got);
}

int cmd_export(int argc, char **argv)
{
	enum { O_LEAKS = 256, O_SNAPSHOT, O_PID };
	static const struct option longopts[] = {
	    {"format", required_argument, 0, 'f'},
	    {"input", required_argument, 0, 'i'},
	    {"output", required_argument, 0, 'o'},
	    CS_VIEW_LONGOPTS,
	    {"leaks", no_argument, 0, O_LEAKS},
	    {"snapshot", required_argument, 0, O_SNAPSHOT},
	    {"pid", required_argument, 0, O_PID},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	const char *input = NULL, *output = NULL, *format = NULL;
	struct cs_view_opts o = {0};
	struct cs_view_sel sel = {0};
	uint64_t u;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "f:i:o:h", longopts, NULL)) != -1) {
		int sv = cs_view_opt(&sel, "export", c, optarg);
		if (sv < 0)
			return 2;
		if (sv)
			continue;
		switch (c) {
		case 'f':
			format = optarg;
			break;
		case 'i':
			input = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case O_LEAKS:
			o.leaks = 1;
			break;
		case O_SNAPSHOT:
			if (cs_parse_u64(optarg, &u) < 0 || u < 1 || u > 1000000000)
				return cs_usage_error("export",
						      "--snapshot needs a snapshot number (1 = "
						      "the first), not '%s'",
						      optarg);
			o.snapshot = (int)u;
			o.leaks = 1;
			break;
		case O_PID:
			if (cs_parse_u64(optarg, &u) < 0 || u < 1 || u > 0x7fffffff)
				return cs_usage_error("export",
						      "--pid needs a process id, not '%s'", optarg);
			o.pid = (int64_t)u;
			o.leaks = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return cs_usage_error("export", "unknown option or missing value: '%s'",
					      argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cs_usage_error("export", "unexpected argument '%s'", argv[optind]);
	const struct cs_view *v = format ? cs_view_find(format) : NULL;
	if (!v || !(v->flags & CS_VIEW_EXPORT))
		return known_formats(format);
	/* leak snapshots have no time kinds: the selection is for samples */
	return cs_cli_render(input, NULL, o.leaks ? NULL : &sel, v, &o, NULL, NULL, output);
}
