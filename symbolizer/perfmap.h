/* perfmap.h - names of JIT-compiled code, from the files JIT runtimes write for
 * profilers:
 *   - perf maps, /tmp/perf-PID.map: one "START SIZE NAME" line per function, in hex
 *     (node --perf-basic-prof, python3.12 -X perf, the JVM's perf-map-agent);
 *   - jitdump files, jit-PID.dump, perf's binary format (node --perf-prof, the JVM's
 *     and .NET's jitdump agents), found by the executable mapping of the file that
 *     the runtime makes for profilers to see.
 *
 * The runtime writes them while it runs, and may delete them when it exits: each file
 * is opened the first time it is seen and kept open, and what was appended is read at
 * every poll, so it stays readable to the end. A file in /tmp could be planted by
 * another user: it is used only if it is a regular file owned by the target's user or
 * root, opened without following a symbolic link, and within bounds of size and line
 * length; a file refused is named in a warning, once.
 */
#ifndef CS_PERFMAP_H
#define CS_PERFMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cs_jitsyms;

struct cs_jitsyms *cs_jitsyms_new(void);
void cs_jitsyms_free(struct cs_jitsyms *j);

/* Read what is new in pid's JIT descriptions: /tmp/perf-PID.map (opened the first
 * time it exists) and every jitdump file announced for pid. Cheap when nothing
 * changed. The first poll of a live pid also learns its user (for the checks). */
void cs_jitsyms_poll(struct cs_jitsyms *j, pid_t pid);

/* pid mapped the file at path; if it is named jit-PID.dump it is read (now and at
 * every later poll of pid). Other paths are ignored. */
void cs_jitsyms_mapped(struct cs_jitsyms *j, pid_t pid, const char *path);

/* The name of pid's JIT function containing addr (the latest one described there),
 * or NULL. *file (if not NULL) receives the file that named it. The strings live as
 * long as j. */
const char *cs_jitsyms_find(struct cs_jitsyms *j, pid_t pid, uint64_t addr, const char **file);

/* Number of JIT functions known for pid (0 if none, or no file was read). */
size_t cs_jitsyms_count(const struct cs_jitsyms *j, pid_t pid);

#endif
