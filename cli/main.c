/* main.c - the command table. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct cmd commands[] = {
	{"record", cmd_record, "sample a running process or a command; write csampler.data"},
	{"leaks", cmd_leaks, "track allocations never freed in a running process or a command"},
	{"flame", cmd_flame, "interactive SVG flamegraph (zoom, search, tooltips)"},
	{"fold", cmd_fold, "write folded stacks (flamegraph.pl input)"},
	{"report", cmd_report, "hotspot list: self/total by function, line, module, thread"},
	{"diff", cmd_diff, "compare two profiles: what got slower, beyond noise; CI gate"},
	{"ab", cmd_ab, "run two commands alternately: ratio with its interval, and diff"},
	{"export", cmd_export, "pprof, speedscope, Firefox Profiler (gecko) or callgrind file"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: csampler COMMAND [OPTIONS]\n\n"
		     "A sampling profiler for Linux: attach to any process, see where its time "
		     "goes.\n\ncommands:\n");
	for (size_t i = 0; i < CS_ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\nexamples:\n"
		     "  csampler record --pid 4242 -F 999 -d 30\n"
		     "  csampler record -- ./server --port 8080\n"
		     "  csampler report --top 20\n"
		     "  csampler fold > out.folded\n\n"
		     "outputs (-o FILE, flame's OUT.svg), safe as root in shared directories:\n"
		     "  a new or regular file is replaced atomically once complete: never a partial\n"
		     "  file under the name, no temporary file left behind even if csampler is\n"
		     "  killed. A device, a FIFO or /dev/stdout is written in place, never replaced.\n"
		     "  A symbolic link is written through only if it is yours or root's and leads\n"
		     "  to something that is not a regular file (/dev/stdout); any other link is\n"
		     "  replaced by the new file, and what it pointed to is left untouched.\n\n"
		     "'csampler COMMAND --help' describes each command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(name, "--version") || !strcmp(name, "version")) {
		printf("csampler %s\n", CS_VERSION);
		return 0;
	}
	for (size_t i = 0; i < CS_ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "csampler: '%s' is not a command (see 'csampler --help')\n", name);
	return 2;
}
