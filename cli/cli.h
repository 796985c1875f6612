/* cli.h - the command layer: one entry function per command, the only place that
 * exits. Each cmd_* returns the process exit status. */
#ifndef CS_CLI_H
#define CS_CLI_H

#include <stdio.h>

#include "profile/profile.h"

int cmd_record(int argc, char **argv);
int cmd_leaks(int argc, char **argv);
int cmd_flame(int argc, char **argv);
int cmd_fold(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* An output file written atomically: to PATH.tmp.PID, renamed over PATH on commit, so
 * an interrupted run never leaves a partial file under the final name. "-" or NULL
 * means standard output. */
struct cs_out {
	FILE *f;
	char *path, *tmp;
};

int cs_out_open(struct cs_out *o, const char *path);
/* Flush, check for write errors, close and rename; 0 or -1 after one error line. */
int cs_out_commit(struct cs_out *o);
/* Discard the output (removes the temporary file). */
void cs_out_abort(struct cs_out *o);

/* Load the input of a reading command, defaulting to csampler.data. */
int cs_cli_load(struct cs_profile *p, const char *path, const struct cs_import_opts *o);

/* Print "csampler CMD: unknown option ..." style usage errors: returns 2. */
int cs_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
