#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *cs_progname = "csampler";

static void oom(size_t n)
{
	fprintf(stderr, "%s: out of memory allocating %zu bytes\n", cs_progname, n);
	abort();
}

void *cs_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *cs_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom(n * size);
	return p;
}

void *cs_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *cs_xstrdup(const char *s)
{
	return cs_xstrndup(s, strlen(s));
}

char *cs_xstrndup(const char *s, size_t n)
{
	char *p = cs_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *cs_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		oom(strlen(fmt));
	va_end(ap);
	return s;
}

int cs_error(const char *fmt, ...)
{
	va_list ap;
	char buf[2048];
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", cs_progname, buf);
	return -1;
}

void cs_warn(const char *fmt, ...)
{
	va_list ap;
	char buf[2048];
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: warning: %s\n", cs_progname, buf);
}

uint64_t cs_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t cs_process_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void cs_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return;
	size_t ncap = *cap ? *cap : 8;
	while (ncap < need)
		ncap *= 2;
	*arr = cs_xrealloc(*arr, ncap * elem);
	*cap = ncap;
}

uint64_t cs_hash_bytes(const void *p, size_t n, uint64_t seed)
{
	/* FNV-1a over 8-byte words, finished with a strong mixer. */
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL ^ seed ^ (n * 0x9e3779b97f4a7c15ULL);
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 29;
		s += 8;
		n -= 8;
	}
	while (n--)
		h = (h ^ *s++) * 0x100000001b3ULL;
	return cs_hash_u64(h);
}

int cs_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

char *cs_read_file(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = cs_xmalloc(cap + 1);
	for (;;) {
		if (n == cap) {
			if (cap >= max)
				break;
			cap = CS_MIN(cap * 2, max);
			buf = cs_xrealloc(buf, cap + 1);
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(buf);
			close(fd);
			errno = e;
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

int cs_file_open(struct cs_file *f, const char *path, size_t max)
{
	memset(f, 0, sizeof(*f));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (uint64_t)st.st_size <= max && (uint64_t)st.st_size < SIZE_MAX / 2) {
		/* Room for the file and a NUL after it: anonymous zero pages, then the file
		 * mapped over their start (the rest of its last page reads as zeros). */
		size_t size = (size_t)st.st_size, page = (size_t)sysconf(_SC_PAGESIZE);
		size_t room = (size + 1 + page - 1) / page * page;
		int prot = PROT_READ | PROT_WRITE;
		char *p = mmap(NULL, room, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED) {
			if (mmap(p, size, prot, MAP_PRIVATE | MAP_FIXED, fd, 0) != MAP_FAILED) {
				close(fd);
				f->data = p;
				f->len = size;
				f->mapped = room;
				return 0;
			}
			munmap(p, room);
		}
	}
	close(fd);
	f->data = cs_read_file(path, max, &f->len);
	return f->data ? 0 : -1;
}

void cs_file_release(struct cs_file *f)
{
	if (f->mapped)
		munmap(f->data, f->mapped);
	else
		free(f->data);
	memset(f, 0, sizeof(*f));
}

int cs_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int cs_parse_double(const char *s, double *out)
{
	char *end;
	if (!s || !*s)
		return -1;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || v != v)
		return -1;
	*out = v;
	return 0;
}

int cs_open_regular(const char *path)
{
	/* An O_PATH descriptor opens nothing; reopening it through /proc reaches the very
	 * inode just checked, so the file cannot be swapped for a FIFO in between. */
	int pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd < 0)
		return -1;
	struct stat st;
	int fd = -1;
	if (fstat(pfd, &st) < 0) {
		fd = -1;
	} else if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
	} else {
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
		fd = open(proc, O_RDONLY | O_NOCTTY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT) { /* no /proc: never block, check again */
			fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
			struct stat s2;
			if (fd >= 0 && (fstat(fd, &s2) < 0 || !S_ISREG(s2.st_mode))) {
				close(fd);
				fd = -1;
				errno = EINVAL;
			} else if (fd >= 0) {
				fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
			}
		}
	}
	int e = errno;
	close(pfd);
	errno = e;
	return fd;
}

int cs_copy_file_to(const char *src, int out)
{
	int in = cs_open_regular(src);
	if (in < 0)
		return -1;
	char buf[1 << 16];
	ssize_t r;
	int ret = 0;
	while ((r = read(in, buf, sizeof(buf))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || cs_write_all(out, buf, (size_t)r) < 0) {
			ret = -1;
			break;
		}
	}
	int e = errno;
	close(in);
	errno = e;
	return ret;
}
