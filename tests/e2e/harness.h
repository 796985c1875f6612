/* harness.h - helpers for end-to-end tests: start target programs, run csampler,
 * read folded stacks back. Every helper fails the current Criterion test on error. */
#ifndef CS_HARNESS_H
#define CS_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TARGET(name) CS_BINARY_DIR "/tests/targets/" name

struct h_proc {
	pid_t pid;
	int out_fd; /* the target's stdout, or -1 */
};

/* Skip the current test with a reason if this machine refuses perf events. */
void h_require_perf(void);
/* 1 if this machine lets us open a cpu-clock perf event. */
int h_perf_allowed(void);
/* Skip the current test with a reason if this process may not ptrace its children. */
void h_require_ptrace(void);

/* Start argv[0] with its stdout on a pipe; wait (up to 10 s) for its "ready" line. */
void h_start(struct h_proc *p, char *const argv[]);
/* Send sig; wait up to timeout_ms for exit. Returns the wait status, or -1 if it did
 * not exit in time (it is then killed). */
int h_stop(struct h_proc *p, int sig, int timeout_ms);
/* 1 if the process exists and is not a zombie. */
int h_alive(pid_t pid);
/* CPU time (ns) the process has used so far. */
uint64_t h_cpu_ns(pid_t pid);
/* Wait up to timeout_ms until the allocation agent's thread ("csampler-agent") runs in
 * pid, then settle_ms more (its handshake is quick once it runs). 1 if it appeared. */
int h_wait_agent(pid_t pid, int timeout_ms, int settle_ms);

/* Run a command to completion (killed after timeout_s). Returns its exit status (-1
 * on timeout or signal). *out / *err receive its stdout / stderr if not NULL. */
int h_run(char *const argv[], int timeout_s, char **out, char **err);
/* Start a command in the background; its stderr goes to a pipe read by h_collect. */
pid_t h_spawn(char *const argv[], int *err_fd);
/* Wait for a spawned command; returns its wait status, or -1 on timeout. */
int h_collect(pid_t pid, int err_fd, int timeout_s, char **err);

/* The whole file as a NUL-terminated heap string, or NULL. */
char *h_read_file(const char *path, size_t *len);

/* Copy the executable src to dir/name (mode 0755); returns the new path. For running
 * programs of the build as another user: the checkout may be in a directory that
 * nobody else can enter. */
char *h_copy_exe(const char *src, const char *dir, const char *name);

/* A fresh temporary directory (removed by h_tmpdir_free). */
char *h_tmpdir(void);
void h_tmpdir_free(char *dir);
char *h_path(const char *dir, const char *name);

/* Folded stacks read back with `csampler fold`. */
struct h_folded {
	size_t n;
	char **stack; /* "a;b;c" */
	uint64_t *count;
	uint64_t total;
};

/* Fold a recording (extra: one optional extra option, e.g. "--per-thread"). */
void h_fold(const char *data, const char *extra, struct h_folded *f);
void h_folded_free(struct h_folded *f);
/* Samples whose stack contains frame name (exactly, as one frame). */
uint64_t h_with_frame(const struct h_folded *f, const char *frame);
/* Samples whose stack contains the frame sequence "a;b" (consecutive frames). */
uint64_t h_with_seq(const struct h_folded *f, const char *seq);
/* Samples whose stack's leaf (last frame, ignoring kernel frames) is frame. */
uint64_t h_with_leaf(const struct h_folded *f, const char *frame);
/* Samples whose stack starts with prefix (root first). */
uint64_t h_with_prefix(const struct h_folded *f, const char *prefix);
/* Number of frames named frame in the stack with that leaf, maximum over stacks. */
size_t h_max_repeat(const struct h_folded *f, const char *frame);
/* Print the folded stacks (for failure diagnosis). */
void h_folded_dump(const struct h_folded *f, size_t max);

#endif
