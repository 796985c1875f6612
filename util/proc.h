/* proc.h - facts about processes read from /proc. All return -1 (without printing)
 * when the process is gone or the file cannot be read. */
#ifndef CS_PROC_H
#define CS_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Thread ids of process pid; *tids is heap-allocated (caller frees). */
int cs_proc_tasks(pid_t pid, pid_t **tids, size_t *n);
/* Thread name (comm) of tid in process pid, NUL-terminated into buf. */
int cs_proc_comm(pid_t pid, pid_t tid, char *buf, size_t n);
/* Command line with arguments separated by spaces. */
int cs_proc_cmdline(pid_t pid, char *buf, size_t n);
/* 1 if pid exists and is not a zombie. */
int cs_proc_alive(pid_t pid);

/* One reading of the quantities in the recording's timeline. */
struct cs_proc_usage {
	uint64_t rss;	    /* bytes */
	uint64_t cpu_ns;    /* user + system CPU time so far */
	uint32_t threads;
	uint32_t fds;
};
int cs_proc_usage(pid_t pid, struct cs_proc_usage *u);

/* Call fn for each line of /proc/pid/maps, parsed. Returns 0 or -1. */
struct cs_proc_map {
	uint64_t start, end, pgoff;
	uint32_t maj, min;
	uint64_t ino;
	int prot; /* PROT_* */
	const char *path; /* "" for anonymous mappings */
};
int cs_proc_maps(pid_t pid, void (*fn)(void *ctx, const struct cs_proc_map *m), void *ctx);

#endif
