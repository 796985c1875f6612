/* outfile.c - output files that never follow a planted link and never replace what is
 * not a regular file (see outfile.h). */
#include "outfile.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TEMPS 16

/* Named temporaries that exist right now, for cs_outfile_remove_temps. A slot is
 * filled before it is published (used = 1) and only changed with signals blocked. */
static struct {
	volatile sig_atomic_t used;
	int dirfd;
	char name[NAME_MAX + 1];
} temps[MAX_TEMPS];

void cs_outfile_remove_temps(void)
{
	for (int i = 0; i < MAX_TEMPS; i++)
		if (temps[i].used)
			unlinkat(temps[i].dirfd, temps[i].name, 0);
}

static void block_signals(sigset_t *old)
{
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, old);
}

static void restore_signals(const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
}

/* Call with signals blocked. */
static void track(struct cs_outfile *o)
{
	for (int i = 0; i < MAX_TEMPS; i++) {
		if (temps[i].used)
			continue;
		temps[i].dirfd = o->dirfd;
		memcpy(temps[i].name, o->tmp, sizeof(temps[i].name));
		temps[i].used = 1;
		o->slot = i;
		return;
	}
	o->slot = -1; /* more than MAX_TEMPS at once: not removed on a signal */
}

static void untrack(struct cs_outfile *o)
{
	if (o->slot >= 0)
		temps[o->slot].used = 0;
	o->slot = -1;
}

/* An unpredictable name next to base: BASE.tmp-HEX. */
static void temp_name(char *out, const char *base)
{
	static uint64_t counter;
	uint64_t r;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = cs_hash_u64(cs_now_ns() ^ ((uint64_t)getpid() << 40) ^ ++counter);
	snprintf(out, NAME_MAX + 1, "%.200s.tmp-%016llx", base, (unsigned long long)r);
}

/* A descriptor of this process open for writing on the file st describes (what
 * /dev/stdout or /dev/fd/N name), duplicated; or -1. */
static int own_writer(const struct stat *st)
{
	for (int fd = 0; fd < 256; fd++) {
		int fl = fcntl(fd, F_GETFL);
		struct stat s;
		if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY || fstat(fd, &s) < 0)
			continue;
		if (s.st_dev == st->st_dev && s.st_ino == st->st_ino)
			return fcntl(fd, F_DUPFD_CLOEXEC, 3);
	}
	return -1;
}

/* Decide from what the name is now (outfile.h). 1: o->fd writes in place; 0: replace
 * the name; -1: error, errno set. */
static int open_in_place(struct cs_outfile *o, const char *base)
{
	struct stat ls, ts;
	int nofollow = O_NOFOLLOW;
	if (fstatat(o->dirfd, base, &ls, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (S_ISREG(ls.st_mode))
		return 0;
	if (S_ISDIR(ls.st_mode))
		return errno = EISDIR, -1;
	ts = ls;
	if (S_ISLNK(ls.st_mode)) {
		/* A link someone else planted, or one that leads nowhere, is replaced. */
		if ((ls.st_uid != geteuid() && ls.st_uid != 0) ||
		    fstatat(o->dirfd, base, &ts, 0) < 0)
			return 0;
		if (S_ISDIR(ts.st_mode))
			return errno = EISDIR, -1;
		nofollow = 0;
	}
	int fd = own_writer(&ts);
	if (fd < 0 && S_ISREG(ts.st_mode))
		return 0;
	if (fd < 0) {
		/* A FIFO blocks here until a reader comes, as a shell redirection would. */
		fd = openat(o->dirfd, base, O_WRONLY | O_NOCTTY | O_CLOEXEC | nofollow);
		if (fd < 0)
			return -1;
		struct stat s;
		if (fstat(fd, &s) == 0 && S_ISREG(s.st_mode)) {
			close(fd); /* it became a regular file meanwhile */
			return 0;
		}
	}
	o->fd = fd;
	return 1;
}

static int create_named(struct cs_outfile *o, mode_t mode)
{
	for (int i = 0; i < 64; i++) {
		sigset_t old;
		temp_name(o->tmp, o->name);
		block_signals(&old);
		int fd = openat(o->dirfd, o->tmp,
				O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		int e = errno;
		if (fd >= 0)
			track(o);
		restore_signals(&old);
		if (fd >= 0) {
			o->fd = fd;
			return 0;
		}
		o->tmp[0] = 0;
		if (e != EEXIST)
			return errno = e, -1;
	}
	return errno = EEXIST, -1;
}

static int make_temp(struct cs_outfile *o)
{
	mode_t mode = o->flags & CS_OUT_PRIVATE ? 0600 : 0666;
	/* A nameless file leaves nothing behind whatever kills us; naming it at the end
	 * goes through /proc/self/fd. */
	if (access("/proc/self/fd", X_OK) == 0) {
		int fd = openat(o->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
		if (fd >= 0) {
			o->fd = fd;
			o->anonymous = 1;
			return 0;
		}
		if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
			return -1;
	}
	return create_named(o, mode);
}

static void release(struct cs_outfile *o)
{
	if (o->dirfd >= 0)
		close(o->dirfd);
	free(o->path);
	free(o->name);
	memset(o, 0, sizeof(*o));
	o->fd = o->dirfd = o->slot = -1;
}

static int fail(struct cs_outfile *o, const char *path, int e)
{
	if (!(o->flags & CS_OUT_QUIET))
		cs_error("cannot write '%s': %s", path, strerror(e));
	errno = e;
	return -1;
}

int cs_outfile_open(struct cs_outfile *o, const char *path, int flags)
{
	memset(o, 0, sizeof(*o));
	o->fd = o->dirfd = o->slot = -1;
	o->flags = flags;
	if (!strcmp(path, "-")) {
		o->fd = STDOUT_FILENO;
		return 0;
	}
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	int e;
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
		e = EISDIR;
		goto out;
	}
	char *dir = slash ? cs_xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : NULL;
	o->dirfd = open(dir ? dir : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	e = errno;
	free(dir);
	errno = e;
	if (o->dirfd < 0)
		goto out;
	o->path = cs_xstrdup(path);
	if (!(flags & CS_OUT_REPLACE)) {
		int r = open_in_place(o, base);
		e = errno;
		if (r < 0)
			goto out;
		if (r > 0) {
			close(o->dirfd);
			o->dirfd = -1;
			return 0;
		}
	}
	o->name = cs_xstrdup(base);
	if (make_temp(o) == 0)
		return 0;
	e = errno;
out:
	release(o);
	o->flags = flags;
	return fail(o, path, e);
}

/* Give the nameless temporary a name. Call with signals blocked. */
static int name_temp(struct cs_outfile *o)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", o->fd);
	for (int i = 0; i < 64; i++) {
		temp_name(o->tmp, o->name);
		if (linkat(AT_FDCWD, proc, o->dirfd, o->tmp, AT_SYMLINK_FOLLOW) == 0) {
			track(o);
			o->anonymous = 0;
			return 0;
		}
		o->tmp[0] = 0;
		if (errno != EEXIST)
			return -1;
	}
	return errno = EEXIST, -1;
}

/* Name the temporary, check the name, rename. Called with signals blocked; 0 or errno. */
static int replace_name(struct cs_outfile *o)
{
	struct stat st;
	if (o->anonymous && name_temp(o) < 0)
		return errno;
	if (!(o->flags & CS_OUT_REPLACE) &&
	    fstatat(o->dirfd, o->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode) &&
	    !S_ISLNK(st.st_mode))
		return S_ISDIR(st.st_mode) ? EISDIR : EEXIST; /* appeared while we wrote */
	int fd = o->fd;
	o->fd = -1;
	if (close(fd) < 0 && errno != EINTR)
		return errno;
	if (renameat(o->dirfd, o->tmp, o->dirfd, o->name) < 0)
		return errno;
	o->tmp[0] = 0;
	return 0;
}

int cs_outfile_commit(struct cs_outfile *o)
{
	int e = 0;
	if (!o->path) { /* standard output: the caller flushes it */
		release(o);
		return 0;
	}
	if (o->dirfd < 0) { /* written in place */
		if (close(o->fd) < 0 && errno != EINTR)
			e = errno;
		o->fd = -1;
	} else if (fsync(o->fd) < 0) {
		e = errno;
	} else {
		/* From naming the temporary to renaming it, a signal must not stop us. */
		sigset_t old;
		block_signals(&old);
		e = replace_name(o);
		if (o->tmp[0])
			unlinkat(o->dirfd, o->tmp, 0);
		o->tmp[0] = 0;
		untrack(o);
		restore_signals(&old);
	}
	if (e)
		fail(o, o->path, e);
	cs_outfile_abort(o);
	return e ? -1 : 0;
}

void cs_outfile_abort(struct cs_outfile *o)
{
	if (!o->path)
		return; /* standard output, or already committed or aborted */
	sigset_t old;
	block_signals(&old);
	if (o->tmp[0])
		unlinkat(o->dirfd, o->tmp, 0);
	untrack(o);
	restore_signals(&old);
	if (o->fd >= 0)
		close(o->fd);
	release(o);
}
