/* util/outfile.c and util/cache.c: outputs that never follow a planted link, the
 * private cache directory, checksummed cache entries, files opened without blocking. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/cache.h"
#include "util/outfile.h"
#include "util/util.h"

static char dir[] = "/tmp/cs-unit-out-XXXXXX";

static void setup(void)
{
	cr_assert(mkdtemp(dir));
}

static void teardown(void)
{
	char *cmd = cs_xasprintf("rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
	free(cmd);
}

TestSuite(outfile, .init = setup, .fini = teardown);
TestSuite(cache, .init = setup, .fini = teardown);

static char *path(const char *name)
{
	return cs_xasprintf("%s/%s", dir, name);
}

static void put(const char *p, const char *text)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	cr_assert_eq(cs_write_all(fd, text, strlen(text)), 0);
	close(fd);
}

static int is_text(const char *p, const char *text)
{
	size_t n;
	char *s = cs_read_file(p, 1 << 20, &n);
	int ok = s && n == strlen(text) && !memcmp(s, text, n);
	free(s);
	return ok;
}

static int entries(void)
{
	DIR *d = opendir(dir);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

Test(outfile, replaces_a_regular_file_only_on_commit)
{
	char *out = path("out");
	put(out, "old\n");
	struct cs_outfile o;
	cr_assert_eq(cs_outfile_open(&o, out, 0), 0);
	cr_assert_eq(cs_write_all(o.fd, "new\n", 4), 0);
	cr_expect(is_text(out, "old\n"), "the name shows the old file until commit");
	cr_expect_eq(entries(), 1, "the temporary has no name while it is written");
	cr_assert_eq(cs_outfile_commit(&o), 0);
	cr_expect(is_text(out, "new\n"));
	cr_expect_eq(entries(), 1);
	cs_outfile_abort(&o); /* harmless after commit */
	free(out);
}

Test(outfile, abort_leaves_nothing)
{
	char *out = path("out");
	struct cs_outfile o;
	cr_assert_eq(cs_outfile_open(&o, out, 0), 0);
	cr_assert_eq(cs_write_all(o.fd, "partial", 7), 0);
	cs_outfile_abort(&o);
	cr_expect_eq(entries(), 0);
	free(out);
}

Test(outfile, link_at_the_name_is_replaced_not_followed)
{
	char *out = path("out"), *victim = path("victim");
	put(victim, "precious\n");
	cr_assert_eq(symlink(victim, out), 0);
	struct cs_outfile o;
	cr_assert_eq(cs_outfile_open(&o, out, 0), 0);
	cr_assert_eq(cs_write_all(o.fd, "new\n", 4), 0);
	cr_assert_eq(cs_outfile_commit(&o), 0);
	struct stat st;
	cr_expect(lstat(out, &st) == 0 && S_ISREG(st.st_mode) && is_text(out, "new\n"));
	cr_expect(is_text(victim, "precious\n"));
	free(out);
	free(victim);
}

Test(outfile, fifo_is_written_in_place)
{
	char *fifo = path("fifo");
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	int rd = open(fifo, O_RDONLY | O_NONBLOCK); /* a reader, so that opening does not wait */
	cr_assert(rd >= 0);
	struct cs_outfile o;
	cr_assert_eq(cs_outfile_open(&o, fifo, 0), 0);
	cr_assert_eq(cs_write_all(o.fd, "data", 4), 0);
	cr_assert_eq(cs_outfile_commit(&o), 0);
	char buf[8] = "";
	cr_expect_eq(read(rd, buf, sizeof(buf)), 4);
	cr_expect_str_eq(buf, "data");
	close(rd);
	struct stat st;
	cr_expect(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
	free(fifo);
}

Test(outfile, errors_name_the_output)
{
	struct cs_outfile o;
	char *d = path("sub");
	cr_assert_eq(mkdir(d, 0700), 0);
	cr_expect_eq(cs_outfile_open(&o, d, CS_OUT_QUIET), -1);
	cr_expect_eq(errno, EISDIR);
	cr_expect_eq(cs_outfile_open(&o, "/nonexistent-dir/x", CS_OUT_QUIET), -1);
	cr_expect_eq(errno, ENOENT);
	free(d);
}

Test(cache, checksum_sees_every_changed_byte)
{
	unsigned char buf[203];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 7);
	uint64_t h = cs_checksum(buf, sizeof(buf));
	cr_expect_eq(h, cs_checksum(buf, sizeof(buf)));
	for (size_t i = 0; i < sizeof(buf); i++) {
		buf[i] ^= 0x20;
		cr_expect_neq(cs_checksum(buf, sizeof(buf)), h, "byte %zu", i);
		buf[i] ^= 0x20;
	}
	cr_expect_neq(cs_checksum(buf, sizeof(buf) - 1), h);
}

Test(cache, entry_round_trip_and_damage)
{
	char *e = path("entry");
	struct iovec parts[] = {{"hello ", 6}, {"world", 5}};
	cr_assert_eq(cs_cache_entry_write(e, parts, 2), 0);
	struct stat st;
	cr_expect(stat(e, &st) == 0 && (st.st_mode & 0777) == 0600);
	struct cs_cache_entry ce;
	cr_assert_eq(cs_cache_entry_read(e, &ce), 0);
	cr_expect_eq(ce.size, 11);
	cr_expect(!memcmp(ce.data, "hello world", 11));
	cs_cache_entry_release(&ce);
	cr_expect_eq(cs_cache_entry_check(e), 0);
	/* one byte edited: ignored and removed, so that it is rebuilt */
	int fd = open(e, O_WRONLY);
	cr_assert_eq(pwrite(fd, "j", 1, 0), 1);
	close(fd);
	cr_expect_eq(cs_cache_entry_read(e, &ce), -1);
	cr_expect_neq(access(e, F_OK), 0);
	/* the streaming check agrees, on an entry of several pieces and a tail */
	size_t big = (1 << 19) + 77;
	char *blob = cs_xmalloc(big);
	for (size_t i = 0; i < big; i++)
		blob[i] = (char)(i * 13 + 5);
	struct iovec one = {blob, big};
	cr_assert_eq(cs_cache_entry_write(e, &one, 1), 0);
	cr_expect_eq(cs_cache_entry_check(e), 0);
	cr_assert_eq(cs_cache_entry_read(e, &ce), 0);
	cr_expect(ce.size == big && !memcmp(ce.data, blob, big));
	cs_cache_entry_release(&ce);
	fd = open(e, O_WRONLY);
	cr_assert_eq(pwrite(fd, "\xff", 1, (off_t)big - 3), 1);
	close(fd);
	cr_expect_eq(cs_cache_entry_check(e), -1);
	cr_expect_neq(access(e, F_OK), 0);
	free(blob);
	/* cut short */
	cr_assert_eq(cs_cache_entry_write(e, parts, 2), 0);
	cr_assert_eq(truncate(e, 20), 0);
	cr_expect_eq(cs_cache_entry_read(e, &ce), -1);
	free(e);
}

Test(cache, entry_that_is_a_link_or_fifo_is_refused)
{
	char *e = path("entry"), *victim = path("victim");
	struct iovec part = {"x", 1};
	cr_assert_eq(cs_cache_entry_write(victim, &part, 1), 0);
	cr_assert_eq(symlink(victim, e), 0);
	struct cs_cache_entry ce;
	cr_expect_eq(cs_cache_entry_read(e, &ce), -1,
		     "a valid entry behind a link is still refused");
	struct stat st;
	cr_expect_neq(lstat(e, &st), 0, "the link is removed");
	cr_expect_eq(stat(victim, &st), 0, "its target is not");
	cr_assert_eq(mkfifo(e, 0600), 0);
	cr_expect_eq(cs_cache_entry_read(e, &ce), -1); /* returns at once: no writer needed */
	free(e);
	free(victim);
}

Test(cache, directory_must_be_private)
{
	char *cache = path("c"), *mine = path("c/csampler"), *elsewhere = path("elsewhere");
	cr_assert_eq(mkdir(cache, 0700), 0);
	setenv("XDG_CACHE_HOME", cache, 1);
	unsetenv("CSAMPLER_NO_CACHE");
	char *d = cs_cache_dir();
	cr_expect(d && !strcmp(d, mine));
	free(d);
	char *sub = cs_cache_subdir("debug/.build-id/ab");
	struct stat st;
	cr_expect(sub && stat(sub, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
	free(sub);
	/* a link in place of csampler/ is never followed */
	cr_assert_eq(system(cs_xasprintf("rm -rf '%s'", mine)), 0);
	cr_assert_eq(mkdir(elsewhere, 0700), 0);
	cr_assert_eq(symlink(elsewhere, mine), 0);
	cr_expect_null(cs_cache_dir());
	cr_expect_null(cs_cache_subdir("syms"));
	DIR *dd = opendir(elsewhere);
	int n = 0;
	for (struct dirent *e; (e = readdir(dd));)
		n += e->d_name[0] != '.';
	closedir(dd);
	cr_expect_eq(n, 0);
	/* a directory on the way that others may write */
	unlink(mine);
	cr_assert_eq(chmod(cache, 0777), 0);
	cr_expect_null(cs_cache_dir());
	cr_assert_eq(chmod(cache, 0700), 0);
	setenv("CSAMPLER_NO_CACHE", "1", 1);
	cr_expect_null(cs_cache_dir());
	unsetenv("CSAMPLER_NO_CACHE");
	free(cache);
	free(mine);
	free(elsewhere);
}

Test(cache, open_regular_never_blocks)
{
	char *fifo = path("fifo"), *file = path("file");
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	put(file, "x");
	cr_expect_eq(cs_open_regular(fifo), -1);
	cr_expect_eq(errno, EINVAL);
	cr_expect_eq(cs_open_regular(dir), -1);
	cr_expect_eq(errno, EISDIR);
	int fd = cs_open_regular(file);
	cr_expect_geq(fd, 0);
	cr_expect(!(fcntl(fd, F_GETFL) & O_NONBLOCK));
	close(fd);
	char *dev = path("null");
	if (mknod(dev, S_IFCHR | 0666, makedev(1, 3)) == 0)
		cr_expect_eq(cs_open_regular(dev), -1, "a device is never opened");
	free(dev);
	free(fifo);
	free(file);
}
