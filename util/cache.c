/* cache.c - the private cache directory and checksummed entries (see cache.h). */
#include "cache.h"
#include "outfile.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LINKS 40

static volatile sig_atomic_t warned;

static void refuse(const char *fmt, const char *path)
{
	if (warned)
		return;
	warned = 1;
	char why[PATH_MAX + 128];
	snprintf(why, sizeof(why), fmt, path);
	cs_warn("not using the cache: %s (set XDG_CACHE_HOME to a directory of your own, or "
		"CSAMPLER_NO_CACHE=1)",
		why);
}

/* May we pass through (or keep files in) a directory with status st? */
static const char *untrusted_dir(const struct stat *st)
{
	if (st->st_uid != geteuid() && st->st_uid != 0)
		return "'%s' belongs to another user";
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(st->st_mode & S_ISVTX))
		return "'%s' is writable by other users";
	return NULL;
}

/* The next component of *rest into name (skipping slashes); 0 at the end, -1 if too long. */
static int next_component(const char **rest, char *name)
{
	const char *p = *rest;
	while (*p == '/')
		p++;
	size_t n = strcspn(p, "/");
	if (n > NAME_MAX)
		return -1;
	memcpy(name, p, n);
	name[n] = 0;
	*rest = p + n;
	return n > 0;
}

/* Open the absolute directory path without letting the kernel follow links, checking
 * each step as cache.h says. An O_PATH descriptor, or -1 (a refusal was reported once;
 * a path that does not exist is not reported). */
static int open_trusted(const char *path)
{
	char *todo = cs_xstrdup(path), *walked = cs_xcalloc(1, PATH_MAX + 1);
	const char *rest = todo, *bad;
	char name[NAME_MAX + 1];
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), links = 0, r;
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0 && (bad = untrusted_dir(&st)))
		goto refused;
	while (fd >= 0 && (r = next_component(&rest, name)) != 0) {
		if (r < 0 || strlen(walked) + strlen(name) + 2 > PATH_MAX)
			goto fail;
		if (!strcmp(name, "."))
			continue;
		size_t wl = strlen(walked);
		if (!strcmp(name, ".."))
			*(strrchr(walked, '/') ? strrchr(walked, '/') : walked) = 0;
		else
			snprintf(walked + wl, PATH_MAX + 1 - wl, "/%s", name);
		if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			goto fail;
		if (S_ISLNK(st.st_mode)) {
			if (st.st_uid != geteuid() && st.st_uid != 0) {
				bad = "'%s' is a symbolic link that belongs to another user";
				goto refused;
			}
			char target[PATH_MAX + 1];
			ssize_t n = readlinkat(fd, name, target, PATH_MAX);
			if (n <= 0 || ++links > MAX_LINKS)
				goto fail;
			target[n] = 0;
			walked[wl] = 0;
			char *next = cs_xasprintf("%s/%s", target, rest);
			free(todo);
			rest = todo = next;
			if (target[0] == '/') {
				walked[0] = 0;
				close(fd);
				fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
			}
			continue;
		}
		int nfd = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = nfd;
		if (fd >= 0 && fstat(fd, &st) == 0 && (bad = untrusted_dir(&st)))
			goto refused;
	}
	free(todo);
	free(walked);
	return fd;
refused:
	refuse(bad, *walked ? walked : "/");
fail:
	if (fd >= 0)
		close(fd);
	free(todo);
	free(walked);
	return -1;
}

/* Create (mode 0700) and open directory name in dirfd: a real directory of ours that
 * nobody else may write. An O_PATH descriptor or -1. shown names it in a refusal. */
static int private_dir(int dirfd, const char *name, const char *shown)
{
	struct stat st;
	if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
		return -1;
	int fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			refuse(S_ISLNK(st.st_mode) ? "'%s' is a symbolic link"
						   : "'%s' is not a directory",
			       shown);
		return -1;
	}
	const char *bad = NULL;
	if (fstat(fd, &st) < 0)
		bad = "'%s' cannot be examined";
	else if (st.st_uid != geteuid())
		bad = "'%s' belongs to another user";
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		bad = "'%s' is writable by other users";
	if (bad) {
		refuse(bad, shown);
		close(fd);
		return -1;
	}
	return fd;
}

char *cs_cache_dir(void)
{
	const char *no = getenv("CSAMPLER_NO_CACHE");
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (no && *no && strcmp(no, "0"))
		return NULL;
	char *base;
	if (xdg && *xdg == '/') {
		base = cs_xstrdup(xdg);
	} else if (home && *home == '/') {
		/* ~/.cache may be a link of the user's own: it is walked like the rest. */
		int hfd = open_trusted(home);
		if (hfd < 0)
			return NULL;
		mkdirat(hfd, ".cache", 0700);
		close(hfd);
		base = cs_xasprintf("%s/.cache", home);
	} else {
		return NULL;
	}
	char *dir = cs_xasprintf("%s/csampler", base);
	int bfd = open_trusted(base);
	int fd = bfd >= 0 ? private_dir(bfd, "csampler", dir) : -1;
	free(base);
	if (bfd >= 0)
		close(bfd);
	if (fd < 0) {
		free(dir);
		return NULL;
	}
	close(fd);
	return dir;
}

int cs_cache_mkdirs(const char *dir, const char *rel)
{
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	char name[NAME_MAX + 1];
	const char *rest = rel;
	int r;
	while (fd >= 0 && (r = next_component(&rest, name)) != 0) {
		if (r < 0 || !strcmp(name, "..") || !strcmp(name, ".")) {
			close(fd);
			return -1;
		}
		char *shown = cs_xasprintf("%s/%.*s", dir, (int)(rest - rel), rel);
		int nfd = private_dir(fd, name, shown);
		free(shown);
		close(fd);
		fd = nfd;
	}
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

char *cs_cache_subdir(const char *rel)
{
	char *dir = cs_cache_dir();
	if (!dir)
		return NULL;
	char *sub = cs_cache_mkdirs(dir, rel) == 0 ? cs_xasprintf("%s/%s", dir, rel) : NULL;
	free(dir);
	return sub;
}

/* The checksum, over data given in pieces whose sizes are multiples of 32 bytes but
 * for the last. Four independent lanes keep the multiplier busy; each step is a
 * bijection of the lane for a fixed word, so any one changed word changes the result. */
struct sum {
	uint64_t h[4];
	size_t len;
};

static void sum_init(struct sum *s)
{
	static const uint64_t iv[4] = {0x243f6a8885a308d3ULL, 0x13198a2e03707344ULL,
				       0xa4093822299f31d0ULL, 0x082efa98ec4e6c89ULL};
	memcpy(s->h, iv, sizeof(iv));
	s->len = 0;
}

static void sum_blocks(struct sum *s, const unsigned char *p, size_t n)
{
	s->len += n;
	for (; n >= 32; p += 32, n -= 32)
		for (int i = 0; i < 4; i++) {
			uint64_t w;
			memcpy(&w, p + 8 * i, 8);
			s->h[i] = (s->h[i] ^ w) * 0xff51afd7ed558ccdULL;
			s->h[i] ^= s->h[i] >> 32;
		}
}

static uint64_t sum_final(struct sum *s, const unsigned char *tail, size_t n)
{
	uint64_t x = cs_hash_bytes(tail, n, s->len + n);
	for (int i = 0; i < 4; i++)
		x = cs_hash_u64(x ^ s->h[i]) + (uint64_t)i;
	return x;
}

uint64_t cs_checksum(const void *p, size_t n)
{
	struct sum s;
	sum_init(&s);
	sum_blocks(&s, p, n & ~(size_t)31);
	return sum_final(&s, (const unsigned char *)p + (n & ~(size_t)31), n & 31);
}

#define TRAILER_MAGIC "CSCSUM01"
#define MAX_ENTRY     (1ull << 31)

struct trailer {
	char magic[8];
	uint64_t size, sum;
};

/* Open the entry at path for reading: a regular file of ours that nobody else may
 * write, opened without following a link or waiting on a FIFO. Its size in *size.
 * A descriptor, or -1 (then a bad entry has been removed). */
static int open_entry(const char *path, size_t *size)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			unlink(path); /* a link, or something we cannot read: rebuild */
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	    !(st.st_mode & (S_IWGRP | S_IWOTH)) && (uint64_t)st.st_size >= sizeof(struct trailer) &&
	    (uint64_t)st.st_size <= MAX_ENTRY) {
		*size = (size_t)st.st_size;
		return fd;
	}
	close(fd);
	unlink(path);
	return -1;
}

static int read_at(int fd, void *buf, size_t n, off_t off)
{
	char *p = buf;
	while (n) {
		ssize_t r = pread(fd, p, n, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

static int trailer_ok(const struct trailer *t, size_t n, uint64_t sum)
{
	return !memcmp(t->magic, TRAILER_MAGIC, 8) && t->size == n && t->sum == sum;
}

/* Reading into memory costs less than mapping: a 10 MB entry took 3 ms of CPU with
 * pread, 7-10 ms with mmap (page faults or MAP_POPULATE). */
int cs_cache_entry_read(const char *path, struct cs_cache_entry *e)
{
	memset(e, 0, sizeof(*e));
	size_t size;
	int fd = open_entry(path, &size);
	if (fd < 0)
		return -1;
	char *buf = cs_xmalloc(size + 1);
	size_t n = size - sizeof(struct trailer);
	struct trailer t;
	int ok = read_at(fd, buf, size, 0) == 0;
	close(fd);
	if (ok) {
		memcpy(&t, buf + n, sizeof(t));
		ok = trailer_ok(&t, n, cs_checksum(buf, n));
	}
	if (!ok) {
		free(buf);
		unlink(path);
		return -1;
	}
	buf[n] = 0;
	e->data = buf;
	e->size = n;
	return 0;
}

void cs_cache_entry_release(struct cs_cache_entry *e)
{
	free(e->data);
	memset(e, 0, sizeof(*e));
}

/* The checksum of the first n bytes of fd, read in pieces. 0 or -1. */
static int sum_fd(int fd, size_t n, uint64_t *out)
{
	size_t bufsize = 1 << 18, off = 0; /* a multiple of 32 */
	unsigned char *buf = cs_xmalloc(bufsize);
	struct sum s;
	int ok = 1;
	sum_init(&s);
	for (;;) {
		size_t k = CS_MIN(bufsize, n - off);
		if (!(ok = read_at(fd, buf, k, (off_t)off) == 0) || off + k == n) {
			/* the last piece: its whole blocks, then the tail */
			sum_blocks(&s, buf, k & ~(size_t)31);
			*out = sum_final(&s, buf + (k & ~(size_t)31), k & 31);
			break;
		}
		sum_blocks(&s, buf, k);
		off += k;
	}
	free(buf);
	return ok ? 0 : -1;
}

int cs_cache_entry_check(const char *path)
{
	size_t size;
	int fd = open_entry(path, &size);
	if (fd < 0)
		return -1;
	size_t n = size - sizeof(struct trailer);
	struct trailer t;
	uint64_t sum;
	int ok = sum_fd(fd, n, &sum) == 0 && read_at(fd, &t, sizeof(t), (off_t)n) == 0 &&
		 trailer_ok(&t, n, sum);
	close(fd);
	if (!ok)
		unlink(path);
	return ok ? 0 : -1;
}

int cs_cache_entry_seal(int fd)
{
	struct stat st;
	struct trailer t;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    sum_fd(fd, (size_t)st.st_size, &t.sum) < 0)
		return -1;
	memcpy(t.magic, TRAILER_MAGIC, 8);
	t.size = (uint64_t)st.st_size;
	return pwrite(fd, &t, sizeof(t), st.st_size) == (ssize_t)sizeof(t) ? 0 : -1;
}

int cs_cache_entry_write(const char *path, const struct iovec *parts, int nparts)
{
	struct cs_outfile o;
	if (cs_outfile_open(&o, path, CS_OUT_PRIVATE | CS_OUT_REPLACE | CS_OUT_QUIET) < 0)
		return -1;
	for (int i = 0; i < nparts; i++) {
		if (cs_write_all(o.fd, parts[i].iov_base, parts[i].iov_len) < 0) {
			cs_outfile_abort(&o);
			return -1;
		}
	}
	if (cs_cache_entry_seal(o.fd) < 0) {
		cs_outfile_abort(&o);
		return -1;
	}
	return cs_outfile_commit(&o);
}
