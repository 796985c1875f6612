/* target.h - facts about the process whose allocations are tracked, gathered from
 * /proc before and while the agent runs: whether the agent can load there at all,
 * whether it brings its own allocator, how much anonymous memory it holds. Every
 * function returns a "don't know" value (-1 or 0, as stated) when /proc cannot tell. */
#ifndef CS_LEAK_TARGET_H
#define CS_LEAK_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* 1 if pid runs a statically linked program (its executable has no PT_INTERP), 0 if
 * dynamically linked, -1 if unknown. */
int cs_target_is_static(pid_t pid);

/* The effective uid of pid, or -1. */
long cs_target_euid(pid_t pid);

/* 1 if the file at path (in csampler's mount namespace) is the same file at the same
 * path in pid's mount namespace and the target's user can read it there; 0 if not;
 * -1 if unknown. */
int cs_target_sees_file(pid_t pid, const char *path);

/* 1 if pid has a mapping of the file path (as the target names it). */
int cs_target_maps_file(pid_t pid, const char *path);

/* 1 if pid lives in another network namespace than csampler. */
int cs_target_other_netns(pid_t pid);

/* The parent of pid, or 0 if unknown. */
pid_t cs_target_ppid(pid_t pid);

/* Resident anonymous memory of pid in bytes (RssAnon), or 0 if unknown. */
uint64_t cs_target_rss_anon(pid_t pid);

/* 1 if pid's main executable defines malloc itself (a statically linked allocator,
 * in its symbol table or its dynamic symbols); its path goes to exe. 0 if not. */
int cs_target_own_allocator(pid_t pid, char *exe, size_t len);

#endif
