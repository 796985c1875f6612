/* util.h - allocation, error reporting and small containers shared by every module.
 *
 * Error convention (as in git): the function that detects an error prints one line
 * with cs_error() and returns -1; callers propagate -1 without printing again, so a
 * user always sees exactly one line saying what failed first.
 */
#ifndef CS_UTIL_H
#define CS_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CS_MIN(a, b)	 ((a) < (b) ? (a) : (b))
#define CS_MAX(a, b)	 ((a) > (b) ? (a) : (b))

/* Allocation that never returns NULL: on exhaustion it prints one line and aborts.
 * A profiler that cannot allocate cannot produce anything honest. */
void *cs_xmalloc(size_t n);
void *cs_xcalloc(size_t n, size_t size);
void *cs_xrealloc(void *p, size_t n);
char *cs_xstrdup(const char *s);
char *cs_xstrndup(const char *s, size_t n);
char *cs_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "csampler: MESSAGE" on stderr and return -1. */
int cs_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "csampler: warning: MESSAGE" on stderr. */
void cs_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Program name used as the prefix of messages (default "csampler"). */
extern const char *cs_progname;

/* Monotonic and CPU clocks in nanoseconds. */
uint64_t cs_now_ns(void);
uint64_t cs_process_cpu_ns(void);

/* Grow *arr (element size elem) so that it holds at least need elements. */
void cs_grow(void **arr, size_t *cap, size_t need, size_t elem);
#define CS_GROW(arr, cap, need) cs_grow((void **)&(arr), &(cap), (need), sizeof(*(arr)))

/* A vector of elements of one type: `CS_VEC(struct foo) v;` then CS_VEC_PUSH(v, x). */
#define CS_VEC(T)                                                                                  \
	struct {                                                                                   \
		T *v;                                                                              \
		size_t n, cap;                                                                     \
	}
#define CS_VEC_PUSH(vec, x)                                                                        \
	do {                                                                                       \
		CS_GROW((vec).v, (vec).cap, (vec).n + 1);                                          \
		(vec).v[(vec).n++] = (x);                                                          \
	} while (0)
#define CS_VEC_FREE(vec)                                                                           \
	do {                                                                                       \
		free((vec).v);                                                                     \
		(vec).v = NULL;                                                                    \
		(vec).n = (vec).cap = 0;                                                           \
	} while (0)

/* Hashing. */
uint64_t cs_hash_bytes(const void *p, size_t n, uint64_t seed);
static inline uint64_t cs_hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* Write the whole buffer; 0 or -1 with errno set. */
int cs_write_all(int fd, const void *buf, size_t n);
/* Read a whole file (up to max bytes) into a NUL-terminated heap buffer. Returns the
 * buffer (caller frees) and its length in *len, or NULL with errno set. */
char *cs_read_file(const char *path, size_t max, size_t *len);

/* A whole file to read, NUL-terminated: a regular file of at most max bytes is mapped
 * (private: no copy through the heap, writes stay in this process), anything else is
 * read as by cs_read_file. Returns 0, or -1 with errno set; release with
 * cs_file_release. As with any mapping, a file cut shorter while it is open makes
 * reads of the lost part fault. */
struct cs_file {
	char *data;
	size_t len;
	size_t mapped; /* length of the mapping; 0: data is a heap buffer */
};
int cs_file_open(struct cs_file *f, const char *path, size_t max);
void cs_file_release(struct cs_file *f);

/* Open a file for reading only if it is a regular file, without ever blocking (a
 * FIFO there is refused, not waited on) and without opening a device (opening one can
 * have effects). A descriptor, or -1 with errno set (EINVAL: not a regular file). */
int cs_open_regular(const char *path);

/* Append the contents of the regular file src to the open descriptor out (never
 * blocking on a FIFO, see cs_open_regular). 0, or -1 with errno. */
int cs_copy_file_to(const char *src, int out);

/* Parse a decimal/hex number strictly; 0 on success, -1 if s is not a whole number. */
int cs_parse_u64(const char *s, uint64_t *out);
int cs_parse_double(const char *s, double *out);

#endif
