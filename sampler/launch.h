/* launch.h - start a command held at the door: forked, but not yet exec'd, so the
 * profiler can attach before the program's first instruction. */
#ifndef CS_LAUNCH_H
#define CS_LAUNCH_H

#include <sys/types.h>

struct cs_launch {
	pid_t pid;
	int go_fd;  /* write end: closing it lets the child exec */
	int err_fd; /* read end: receives errno if exec fails, EOF if it succeeded */
};

/* Fork a child that waits, then execs argv[0] (searched in PATH) with environment env
 * (NULL: this process's). 0 or -1 (printed). */
int cs_launch_prepare(char *const argv[], char *const env[], struct cs_launch *l);
/* Let the child exec; 0 if it did, -1 (printed) if the command could not be run. */
int cs_launch_go(struct cs_launch *l, const char *name);
/* Give up on a prepared child: it exits without running the command. */
void cs_launch_abort(struct cs_launch *l);

#endif
