/* cli.h - the command layer: one entry function per command, the only place that
 * exits. Each cmd_* returns the process exit status. */
#ifndef CS_CLI_H
#define CS_CLI_H

#include <stdio.h>

#include "profile/profile.h"
#include "util/outfile.h"

int cmd_record(int argc, char **argv);
int cmd_leaks(int argc, char **argv);
int cmd_flame(int argc, char **argv);
int cmd_fold(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_ab(int argc, char **argv);
int cmd_export(int argc, char **argv);

/* An output of a command (util/outfile.h says exactly what happens): "-" or NULL is
 * standard output; a new or regular file is replaced atomically on commit, so an
 * interrupted run never leaves a partial file under the final name nor a temporary file
 * beside it (SIGINT, SIGTERM and SIGHUP remove it before csampler dies); a device or a
 * FIFO is written in place; a symbolic link is written through only when it is the
 * caller's or root's and leads to something that is not a regular file (/dev/stdout),
 * else it is replaced, never followed. */
struct cs_out {
	FILE *f;
	struct cs_outfile file;
};

/* Open for writing; 0 or -1 after one error line. */
int cs_out_open(struct cs_out *o, const char *path);
/* Flush, check for write errors, close and rename; 0 or -1 after one error line. */
int cs_out_commit(struct cs_out *o);
/* Discard the output (removes the temporary file). A no-op after commit. */
void cs_out_abort(struct cs_out *o);

/* Load the input of a reading command, defaulting to csampler.data. */
int cs_cli_load(struct cs_profile *p, const char *path, const struct cs_import_opts *o);

/* ---- options every profile view takes (common.c) ----
 *
 * --time cpu|off|wall|blocked|preempted, --tid TID (repeatable), --comm NAME and
 * --exclude-idle. A command adds CS_VIEW_LONGOPTS to its getopt table, passes every
 * option to cs_view_opt first, and gives the selection to cs_cli_render (or calls
 * cs_view_apply right after loading):
 *
 *     int v = cs_view_opt(&vo, "fold", c, optarg);    // 1 taken, 0 not a view option,
 *     if (v < 0) return 2; if (v) continue;           // -1 usage error printed
 *     ...
 *     if (cs_cli_load(&p, ...) < 0 || cs_view_apply(&p, &vo) < 0) goto out;
 *
 * After cs_view_apply the profile's counts are the selected time (p.times.shown; see
 * profile.h), so the command renders it as any profile. */
enum { CS_VOPT_TIME = 0x1000, CS_VOPT_TID, CS_VOPT_COMM, CS_VOPT_EXCLUDE_IDLE };
#define CS_VIEW_LONGOPTS                                                                           \
	{"time", required_argument, 0, CS_VOPT_TIME}, {"tid", required_argument, 0, CS_VOPT_TID},   \
		{"comm", required_argument, 0, CS_VOPT_COMM},                                      \
		{"exclude-idle", no_argument, 0, CS_VOPT_EXCLUDE_IDLE}
#define CS_VIEW_USAGE                                                                              \
	"      --time KIND    which time to show: cpu (CPU samples), off (off-CPU time,\n"           \
	"                     blocked + preempted), wall (both), blocked or preempted;\n"           \
	"                     recordings made with 'record --wall' default to wall and\n"          \
	"                     count microseconds, others have cpu only\n"                          \
	"      --tid TID      only this thread (may be repeated)\n"                                \
	"      --comm NAME    only threads of this name, or of processes of this name\n"           \
	"      --exclude-idle leave out threads that used no CPU while recorded\n"

struct cs_view_sel {
	unsigned time; /* enum cs_time_sel; 0 = the profile's default */
	uint32_t tids[64];
	size_t ntids;
	const char *comm;
	int exclude_idle;
};
int cs_view_opt(struct cs_view_sel *v, const char *cmd, int c, const char *arg);
int cs_view_apply(struct cs_profile *p, const struct cs_view_sel *v);
/* One view of one input: load input (cs_cli_load with io), select its time and threads
 * (cs_view_apply with sel, unless sel is NULL), let prep adjust the profile and the
 * options once loaded (NULL: nothing to adjust; it may replace *p, and returns
 * 0, or -1 after one error line), render the view into output (NULL or "-": standard
 * output) and commit it atomically: on any failure no output file appears. Returns the
 * exit status. */
struct cs_view;
struct cs_view_opts;
typedef int (*cs_cli_prep_fn)(struct cs_profile *p, struct cs_view_opts *o, void *ctx);
int cs_cli_render(const char *input, const struct cs_import_opts *io,
		  const struct cs_view_sel *sel, const struct cs_view *v, struct cs_view_opts *o,
		  cs_cli_prep_fn prep, void *ctx, const char *output);

/* Print "csampler CMD: unknown option ..." style usage errors: returns 2. */
int cs_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
