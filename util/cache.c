/* cache.c - the private cache directory and checksummed entries (see cache.h). */
#include "cache.h"
#include "outfile.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
			refuse(S_ISLNK(st.st_mode) ? "'%s' is a symbolic link" : "'%s' is not a directory",
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

uint64_t cs_checksum(const void *p, size_t n)
{
	/* Four independent lanes keep the multiplier busy; each step is a bijection of the
	 * lane for a fixed word, so any one changed word changes the result. */
	const unsigned char *s = p;
	uint64_t h[4] = {0x243f6a8885a308d3ULL, 0x13198a2e03707344ULL, 0xa4093822299f31d0ULL,
			 0x082efa98ec4e6c89ULL};
	size_t len = n;
	while (n >= 32) {
		for (int i = 0; i < 4; i++) {
			uint64_t w;
			memcpy(&w, s + 8 * i, 8);
			h[i] = (h[i] ^ w) * 0xff51afd7ed558ccdULL;
			h[i] ^= h[i] >> 32;
		}
		s += 32;
		n -= 32;
	}
	uint64_t x = cs_hash_bytes(s, n, len);
	for (int i = 0; i < 4; i++)
		x = cs_hash_u64(x ^ h[i]) + (uint64_t)i;
	return x;
}

#define TRAILER_MAGIC "CSCSUM01"

struct trailer {
	char magic[8];
	uint64_t size, sum;
};

int cs_cache_entry_map(const char *path, struct cs_cache_entry *e)
{
	memset(e, 0, sizeof(*e));
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			unlink(path); /* a link or something we cannot read: rebuild */
		return -1;
	}
	struct stat st;
	struct trailer t;
	void *m = MAP_FAILED;
	int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
		 !(st.st_mode & (S_IWGRP | S_IWOTH)) && (uint64_t)st.st_size >= sizeof(t) &&
		 (uint64_t)st.st_size < SIZE_MAX / 2;
	if (ok)
		m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m != MAP_FAILED) {
		size_t n = (size_t)st.st_size - sizeof(t);
		memcpy(&t, (const char *)m + n, sizeof(t));
		if (!memcmp(t.magic, TRAILER_MAGIC, 8) && t.size == n && t.sum == cs_checksum(m, n)) {
			e->data = m;
			e->size = n;
			e->map = m;
			e->map_size = (size_t)st.st_size;
			return 0;
		}
		munmap(m, (size_t)st.st_size);
	}
	unlink(path);
	return -1;
}

void cs_cache_entry_unmap(struct cs_cache_entry *e)
{
	if (e->map)
		munmap(e->map, e->map_size);
	memset(e, 0, sizeof(*e));
}

int cs_cache_entry_seal(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	size_t n = (size_t)st.st_size;
	struct trailer t;
	memcpy(t.magic, TRAILER_MAGIC, 8);
	t.size = n;
	if (n) {
		void *m = mmap(NULL, n, PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			return -1;
		t.sum = cs_checksum(m, n);
		munmap(m, n);
	} else {
		t.sum = cs_checksum("", 0);
	}
	return pwrite(fd, &t, sizeof(t), (off_t)n) == (ssize_t)sizeof(t) ? 0 : -1;
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
