/* cmd_flame.c - csampler flame: an interactive SVG flamegraph. */
#include "cli.h"
#include "render/view.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: csampler flame [-i FILE] [options] OUT.svg\n"
	"\n"
	"Draw a flamegraph as one standalone SVG that needs no network. Without script (an\n"
	"<img>, an image viewer, a repository's file view) it is a picture: the frames wide\n"
	"enough to see, with their names and, on hover, their samples. In a web browser it\n"
	"fills the window and is interactive: click a frame to zoom into it, Ctrl-F or\n"
	"'Search' to highlight frames matching a regular expression (with the share they\n"
	"hold), Esc to clear the search or the zoom; hovering a frame shows its samples,\n"
	"share, module and source line. Frames narrower than --minwidth are never dropped:\n"
	"siblings that narrow are drawn as one hatched frame saying how many frames and how\n"
	"much time it holds.\n"
	"FILE is a csampler recording (default csampler.data), folded stacks, or the text of\n"
	"'perf script'; the format is detected from the content. '-' reads standard input;\n"
	"OUT '-' writes to standard output.\n"
	"\n"
	"  -i, --input FILE      profile to read (default csampler.data)\n"
	"      --title TEXT      title (default 'Flame Graph', or 'Icicle Graph')\n"
	"      --subtitle TEXT   second line under the title\n"
	"      --width PX        width of the picture (default 1200); in a browser the\n"
	"                        graph takes the width of the window\n"
	"      --height PX       height of one frame (default 16)\n"
	"      --minwidth PX|N%  merge siblings narrower than this (default 1 px: thinner\n"
	"                        frames cannot be seen or pointed at; flamegraph.pl's 0.1\n"
	"                        draws up to ten times more frames that nobody can see)\n"
	"      --colors NAME     module (default: user code, libraries, kernel, inlined,\n"
	"                        JIT and unknown frames apart), hot, mem or io\n"
	"      --hash            colour by name only: the same name, the same colour\n"
	"      --inverted        icicle graph: the root at the top\n"
	"      --reverse         reverse stacks: leaf functions at the root\n"
	"      --per-thread      start every stack with a NAME-TID frame for its thread\n"
	"      --countname WORD  what a sample is called (default 'samples')\n"
	"      --fonttype FONTS  font families, as CSS lists them (default Verdana and\n"
	"                        fonts like it); a generic family is added if none is named\n"
	"      --fontsize PX     font size (default 12)\n"
	"      --max-frames N    frames kept in the file for zooming (default 150000);\n"
	"                        beyond that, the narrowest siblings are merged, and call\n"
	"                        chains deeper than the rest of the budget are cut into one\n"
	"                        'cut' frame (the SVG says how much time is below the cut)\n"
	CS_VIEW_USAGE
	"                        (the tooltip shows a frame's CPU and off-CPU time apart;\n"
	"                        off-CPU frames are drawn in blues and greys)\n"
	"      --leaks           draw the outstanding bytes of the last leak snapshot of\n"
	"                        each process (several processes: one root frame each)\n"
	"      --cost COST       ... or another cost: leaked (the default), allocations\n"
	"                        (every allocation since tracking began), temporary\n"
	"                        (allocations freed right away) or peak (bytes held when the\n"
	"                        process's heap peaked)\n"
	"      --pid PID         ... of this process only\n"
	"      --snapshot K      ... at snapshot K (1 = the first) of one process (--pid,\n"
	"                        else the first) instead\n"
	"\n"
	"For perf script input every stack starts with its process name, as FlameGraph's\n"
	"stackcollapse-perf.pl does, unless --per-thread is given.\n"
	"\n"
	"examples:\n"
	"  csampler flame out.svg\n"
	"  csampler flame -i app.data --title 'app under load' --per-thread app.svg\n"
	"  perf script | csampler flame -i - --colors hot perf.svg\n"
	"  csampler flame -i out.folded --reverse --inverted --minwidth 0.5% icicle.svg\n"
	"  csampler flame --leaks leaks.svg\n"
	"  csampler flame -i wall.data --exclude-idle wall.svg\n"
	"  csampler flame --leaks --cost allocations allocations.svg\n";

static int number(const char *opt, const char *v, double lo, double hi, double *out)
{
	double d = 0;
	if (cs_parse_double(v, &d) < 0 || d < lo || d > hi)
		return cs_usage_error("flame", "%s needs a number from %g to %g, not '%s'", opt, lo,
				      hi, v);
	*out = d;
	return 0;
}

struct flame_ctx {
	struct cs_flame_opts *o;
	const struct cs_leak_flame_opts *lo;
	int leaks, per_thread;
};

/* With --leaks a cost of each leak site takes the place of samples; the roots depend on
 * what was read. */
static int flame_prep(struct cs_profile *p, struct cs_view_opts *vo, void *arg)
{
	struct flame_ctx *c = arg;
	struct cs_flame_opts *o = c->o;
	int several = 0;
	(void)vo;
	if (c->leaks) {
		static const char *const titles[] = {"Outstanding allocations", "Allocations",
						     "Temporary allocations", "Heap at its peak"};
		static const char *const counts[] = {"bytes", "allocations", "allocations",
						     "bytes"};
		struct cs_profile lp;
		cs_profile_init(&lp);
		if (cs_leak_profile(p, c->lo, &lp, &several) < 0) {
			cs_profile_release(&lp);
			return -1;
		}
		cs_profile_release(p);
		*p = lp;
		if (!o->countname)
			o->countname = counts[c->lo->cost];
		if (!o->title)
			o->title = titles[c->lo->cost];
	} else if (cs_time_in_us(p->times.shown)) {
		if (!o->countname)
			o->countname = "us";
		if (!o->title)
			o->title = p->times.shown == CS_SEL_WALL ? "Wall-clock time (CPU + off-CPU)"
								 : "Off-CPU time";
	}
	if (c->per_thread)
		o->thread_root = CS_ROOT_THREAD;
	else if (p->meta.source == CS_SOURCE_PERF_SCRIPT)
		o->thread_root = CS_ROOT_COMM;
	else if (several)
		o->thread_root = CS_ROOT_PID; /* leaks of several processes: one root each */
	return 0;
}

int cmd_flame(int argc, char **argv)
{
	enum {
		O_TITLE = 256,
		O_SUBTITLE,
		O_WIDTH,
		O_HEIGHT,
		O_MINWIDTH,
		O_COLORS,
		O_HASH,
		O_INVERTED,
		O_REVERSE,
		O_PER_THREAD,
		O_COUNTNAME,
		O_FONTTYPE,
		O_FONTSIZE,
		O_MAX_FRAMES,
		O_LEAKS,
		O_SNAPSHOT,
		O_COST,
		O_PID,
	};
	static const struct option longopts[] = {
		{"input", required_argument, 0, 'i'},
		{"title", required_argument, 0, O_TITLE},
		{"subtitle", required_argument, 0, O_SUBTITLE},
		{"width", required_argument, 0, O_WIDTH},
		{"height", required_argument, 0, O_HEIGHT},
		{"minwidth", required_argument, 0, O_MINWIDTH},
		{"colors", required_argument, 0, O_COLORS},
		{"colours", required_argument, 0, O_COLORS},
		{"hash", no_argument, 0, O_HASH},
		{"inverted", no_argument, 0, O_INVERTED},
		{"reverse", no_argument, 0, O_REVERSE},
		{"per-thread", no_argument, 0, O_PER_THREAD},
		{"countname", required_argument, 0, O_COUNTNAME},
		{"fonttype", required_argument, 0, O_FONTTYPE},
		{"fontsize", required_argument, 0, O_FONTSIZE},
		{"max-frames", required_argument, 0, O_MAX_FRAMES},
		{"leaks", no_argument, 0, O_LEAKS},
		{"snapshot", required_argument, 0, O_SNAPSHOT},
		{"cost", required_argument, 0, O_COST},
		{"pid", required_argument, 0, O_PID},
		CS_VIEW_LONGOPTS,
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	static const char *const palettes[] = {"module", "hot", "mem", "io"};
	const char *input = NULL;
	struct cs_flame_opts o;
	int per_thread = 0, leaks = 0, c;
	struct cs_leak_flame_opts lo = {0, CS_COST_LEAKED, 0, 0};
	double d = 0;
	uint64_t u;

	memset(&o, 0, sizeof(o));
	optind = 1;
	opterr = 0;
	struct cs_view_sel sel;
	memset(&sel, 0, sizeof(sel));
	while ((c = getopt_long(argc, argv, "i:h", longopts, NULL)) != -1) {
		int v = cs_view_opt(&sel, "flame", c, optarg);
		if (v < 0)
			return 2;
		if (v)
			continue;
		switch (c) {
		case 'i': input = optarg; break;
		case O_TITLE: o.title = optarg; break;
		case O_SUBTITLE: o.subtitle = optarg; break;
		case O_WIDTH:
			if (number("--width", optarg, 100, 100000, &o.width))
				return 2;
			break;
		case O_HEIGHT:
			if (number("--height", optarg, 2, 1000, &o.frame_height))
				return 2;
			break;
		case O_FONTSIZE:
			if (number("--fontsize", optarg, 1, 200, &o.fontsize))
				return 2;
			break;
		case O_MINWIDTH: {
			char *v = cs_xstrdup(optarg);
			size_t n = strlen(v);
			if (n && v[n - 1] == '%') {
				v[n - 1] = 0;
				o.minwidth_pct = 1;
			}
			int bad = number("--minwidth", v, 0.001, o.minwidth_pct ? 100 : 100000, &d);
			free(v);
			if (bad)
				return 2;
			o.minwidth = d;
			break;
		}
		case O_COLORS:
			o.colors = -1;
			for (int k = 0; k < 4; k++)
				if (!strcmp(optarg, palettes[k]))
					o.colors = k;
			if (o.colors < 0)
				return cs_usage_error("flame",
						      "--colors is module, hot, mem or io, not '%s'",
						      optarg);
			break;
		case O_HASH: o.hash = 1; break;
		case O_INVERTED: o.inverted = 1; break;
		case O_REVERSE: o.reverse = 1; break;
		case O_PER_THREAD: per_thread = 1; break;
		case O_COUNTNAME: o.countname = optarg; break;
		case O_FONTTYPE: o.fonttype = optarg; break;
		case O_MAX_FRAMES:
			if (cs_parse_u64(optarg, &u) < 0 || u < 16 || u > 100000000)
				return cs_usage_error("flame",
						      "--max-frames needs a number from 16 to "
						      "100000000, not '%s'",
						      optarg);
			o.max_frames = (size_t)u;
			break;
		case O_LEAKS: leaks = 1; break;
		case O_SNAPSHOT:
			if (cs_parse_u64(optarg, &u) < 0 || u < 1 || u > 1000000000)
				return cs_usage_error("flame", "--snapshot needs a snapshot number (1 = "
							       "the first), not '%s'",
						      optarg);
			lo.snapshot = (int)u;
			leaks = 1;
			break;
		case O_COST:
			if ((lo.cost = cs_leak_cost_parse(optarg)) < 0)
				return cs_usage_error("flame", "--cost is leaked, allocations, temporary "
							       "or peak, not '%s'",
						      optarg);
			leaks = 1;
			break;
		case O_PID:
			if (cs_parse_u64(optarg, &u) < 0 || u < 1 || u > 0x7fffffff)
				return cs_usage_error("flame", "--pid needs a process id, not '%s'",
						      optarg);
			lo.pid = (int64_t)u;
			leaks = 1;
			break;
		case 'h': fputs(usage_text, stdout); return 0;
		default:
			return cs_usage_error("flame", "unknown option or missing value: '%s'",
					      argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cs_usage_error("flame", "missing the output file (OUT.svg, or - for "
					       "standard output)");
	if (optind + 1 < argc)
		return cs_usage_error("flame", "unexpected argument '%s'", argv[optind + 1]);
	const char *output = argv[optind];

	struct flame_ctx ctx = {&o, &lo, leaks, per_thread};
	struct cs_view_opts vo = {.flame = &o};
	/* leak costs have no time kinds: the selection is for samples */
	return cs_cli_render(input, NULL, leaks ? NULL : &sel, cs_view_find("flame"), &vo,
			     flame_prep, &ctx, output);
}
