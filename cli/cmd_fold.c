/* cmd_fold.c - csampler fold: folded stacks for flamegraph.pl and friends. */
#include "cli.h"
#include "render/view.h"

#include <getopt.h>
#include <string.h>

static const char usage_text[] =
	"usage: csampler fold [-i FILE] [-o OUT] [--per-thread] [perf-script options]\n"
	"\n"
	"Write one line per unique stack, root first: 'main;work;spin 42'.\n"
	"FILE is a csampler recording (default csampler.data), folded stacks, or the text of\n"
	"'perf script'; the format is detected from the content. '-' reads standard input.\n"
	"\n"
	"  -i, --input FILE   profile to read (default csampler.data)\n"
	"  -o, --output OUT   write here instead of standard output\n"
	"      --per-thread   start every stack with a NAME-TID frame for its thread\n"
	"      --lines        follow each frame whose line is known with ' (FILE:LINE)',\n"
	"                     FILE its base name: 'Worker.alpha (app.py:12)'\n"
	CS_VIEW_USAGE
	"                     (fold spells it --tid=TID: a bare --tid is stackcollapse's)\n"
	"\n"
	"The count of a stack is its number of CPU samples, or with --time off, wall,\n"
	"blocked or preempted its time in microseconds (integers, as flamegraph.pl reads).\n"
	"\n"
	"perf script input is folded exactly as FlameGraph's stackcollapse-perf.pl folds\n"
	"it: every stack starts with the process name (unless --per-thread, --pid or --tid\n"
	"say otherwise), each sample counts its period when perf printed one, and the\n"
	"script's quirks are kept. Its options:\n"
	"      --pid          start every stack with COMM-PID\n"
	"      --tid          start every stack with COMM-PID/TID\n"
	"      --kernel       suffix kernel frames with _[k]\n"
	"      --jit          suffix JIT frames with _[j]\n"
	"      --all          both --kernel and --jit\n"
	"      --addrs        name frames without a symbol by their address\n"
	"      --robust       read the input as report and flame do instead: keep samples\n"
	"                     without a call chain (perf script without -g) and the last\n"
	"                     sample when no empty line follows it, accept CRLF lines and\n"
	"                     one-letter process names, name a frame without a symbol\n"
	"                     [MODULE], and mark only kernel code _[k] (not [vdso])\n"
	"\n"
	"Kernel frames of csampler recordings always carry _[k].\n"
	"\n"
	"examples:\n"
	"  csampler fold > out.folded && flamegraph.pl out.folded > out.svg\n"
	"  csampler fold --per-thread -i app.data -o app.folded\n"
	"  csampler fold --time off --exclude-idle -i wall.data | flamegraph.pl > off.svg\n"
	"  csampler fold --lines | grep 'app.py'\n"
	"  perf script | csampler fold -i - --pid\n"
	"  perf script | csampler fold -i - --robust --all\n";

struct fold_ctx {
	const struct cs_import_opts *io;
	struct cs_fold_opts *fo;
	int per_thread, robust;
};

/* What to annotate and how to root the stacks depends on what was read. */
static int fold_prep(struct cs_profile *p, struct cs_view_opts *vo, void *arg)
{
	struct fold_ctx *c = arg;
	struct cs_fold_opts *fo = c->fo;
	(void)vo;
	switch (p->meta.source) {
	case CS_SOURCE_RECORDING:
		fo->annotate_kernel = 1;
		break;
	case CS_SOURCE_FOLDED: /* give back what was read */
		fo->annotate_kernel = fo->annotate_jit = fo->annotate_inline = 1;
		break;
	default: /* perf script: as stackcollapse-perf.pl, which always marks inlining */
		if (c->robust) {
			fo->annotate_kernel = c->io->kernel;
			fo->annotate_jit = c->io->jit;
			fo->annotate_inline = 1;
		} else {
			/* the names carry their suffixes, given by the script's rules */
			fo->zero_lines = 1;
		}
		fo->thread_root = CS_ROOT_COMM;
		break;
	}
	if (c->per_thread)
		fo->thread_root = CS_ROOT_THREAD;
	else if (c->io->tid)
		fo->thread_root = CS_ROOT_TID;
	else if (c->io->pid)
		fo->thread_root = CS_ROOT_PID;
	return 0;
}

int cmd_fold(int argc, char **argv)
{
	enum { O_PER_THREAD = 256, O_PID, O_TID, O_KERNEL, O_JIT, O_ALL, O_ADDRS, O_ROBUST, O_LINES };
	static const struct option longopts[] = {
		{"input", required_argument, 0, 'i'},
		{"output", required_argument, 0, 'o'},
		{"per-thread", no_argument, 0, O_PER_THREAD},
		{"pid", no_argument, 0, O_PID},
		{"tid", optional_argument, 0, O_TID}, /* before CS_VIEW_LONGOPTS' --tid */
		{"kernel", no_argument, 0, O_KERNEL},
		{"jit", no_argument, 0, O_JIT},
		{"all", no_argument, 0, O_ALL},
		{"addrs", no_argument, 0, O_ADDRS},
		{"robust", no_argument, 0, O_ROBUST},
		CS_VIEW_LONGOPTS,
		{"lines", no_argument, 0, O_LINES},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	const char *input = NULL, *output = NULL;
	struct cs_import_opts io = {0};
	struct cs_fold_opts fo = {0};
	int per_thread = 0, robust = 0, c;
	struct cs_view_sel sel = {0};

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "i:o:h", longopts, NULL)) != -1) {
		int v = cs_view_opt(&sel, "fold", c, optarg);
		if (v < 0)
			return 2;
		if (v)
			continue;
		switch (c) {
		case 'i': input = optarg; break;
		case 'o': output = optarg; break;
		case O_PER_THREAD: per_thread = 1; break;
		case O_PID: io.pid = 1; break;
		case O_TID:
			if (optarg) { /* --tid=TID: the views' thread filter */
				if (cs_view_opt(&sel, "fold", CS_VOPT_TID, optarg) < 0)
					return 2;
			} else {
				io.tid = 1;
			}
			break;
		case O_KERNEL: io.kernel = 1; break;
		case O_JIT: io.jit = 1; break;
		case O_ALL: io.kernel = io.jit = 1; break;
		case O_ADDRS: io.addrs = 1; break;
		case O_ROBUST: robust = 1; break;
		case O_LINES: fo.lines = 1; break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return cs_usage_error("fold", "unknown option or missing value: '%s'",
					      argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cs_usage_error("fold", "unexpected argument '%s'", argv[optind]);

	io.compat = !robust;
	struct fold_ctx ctx = {&io, &fo, per_thread, robust};
	struct cs_view_opts vo = {.fold = &fo};
	return cs_cli_render(input, &io, &sel, cs_view_find("folded"), &vo, fold_prep, &ctx,
			     output);
}
