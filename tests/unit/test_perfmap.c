/* Unit tests of the perf map and jitdump reader (symbolizer/perfmap.c), on files this
 * test writes for its own process. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbolizer/perfmap.h"

static char map[64];

static void setup(void)
{
	snprintf(map, sizeof(map), "/tmp/perf-%d.map", (int)getpid());
	unlink(map);
}

static void teardown(void)
{
	unlink(map);
}

TestSuite(perfmap, .init = setup, .fini = teardown);

static void append(const char *path, const void *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static void append_str(const char *path, const char *s)
{
	append(path, s, strlen(s));
}

static const char *find(struct cs_jitsyms *j, uint64_t addr)
{
	return cs_jitsyms_find(j, getpid(), addr, NULL);
}

Test(perfmap, lines_names_and_bounds)
{
	struct cs_jitsyms *j = cs_jitsyms_new();
	append_str(map, "1000 100 JS:*first file.js:1\n"
			"0x2000 0x10 with 0x prefix\r\n"
			"3000 zz not hex\n"
			"3000 10\n"
			"4000 0 empty size\n");
	cs_jitsyms_poll(j, getpid());
	cr_expect_str_eq(find(j, 0x1000), "JS:*first file.js:1");
	cr_expect_str_eq(find(j, 0x10ff), "JS:*first file.js:1");
	cr_expect_null(find(j, 0x1100));
	cr_expect_str_eq(find(j, 0x200f), "with 0x prefix");
	cr_expect_null(find(j, 0x3000), "malformed lines are skipped");
	cr_expect_null(find(j, 0x4000));
	cr_expect_eq(cs_jitsyms_count(j, getpid()), 2);

	/* An overlong line is skipped whole, the next one read; an unfinished line waits. */
	char *longl = malloc(70000);
	memset(longl, 'x', 70000);
	memcpy(longl, "5000 10 ", 8);
	longl[69999] = '\n';
	append(map, longl, 70000);
	append_str(map, "6000 10 after the long one\n7000 10 unfinished");
	cs_jitsyms_poll(j, getpid());
	cr_expect_null(find(j, 0x5000));
	cr_expect_str_eq(find(j, 0x6000), "after the long one");
	cr_expect_null(find(j, 0x7000));
	append_str(map, " now\n");
	cs_jitsyms_poll(j, getpid());
	cr_expect_str_eq(find(j, 0x7000), "unfinished now");

	/* Code moved or replaced at an address: the latest description wins. */
	append_str(map, "1080 20 JS:*second file.js:9\n");
	cs_jitsyms_poll(j, getpid());
	cr_expect_str_eq(find(j, 0x1090), "JS:*second file.js:9");
	cr_expect_str_eq(find(j, 0x1010), "JS:*first file.js:1");
	cr_expect_str_eq(find(j, 0x10f0), "JS:*first file.js:1");
	free(longl);
	cs_jitsyms_free(j);
}

/* Once opened, the file stays readable after the runtime deletes it. */
Test(perfmap, read_after_the_file_is_deleted)
{
	struct cs_jitsyms *j = cs_jitsyms_new();
	append_str(map, "1000 10 early\n");
	cs_jitsyms_poll(j, getpid());
	append_str(map, "2000 10 late\n");
	unlink(map);
	cs_jitsyms_poll(j, getpid());
	cr_expect_str_eq(find(j, 0x2000), "late");
	cs_jitsyms_free(j);
}

Test(perfmap, symlink_is_refused)
{
	char target[64];
	snprintf(target, sizeof(target), "/tmp/cs-perfmap-%d.real", (int)getpid());
	append_str(target, "1000 10 planted\n");
	cr_assert_eq(symlink(target, map), 0);
	struct cs_jitsyms *j = cs_jitsyms_new();
	cs_jitsyms_poll(j, getpid());
	cr_expect_null(find(j, 0x1000));
	cs_jitsyms_free(j);
	unlink(target);
}

struct rec_prefix {
	uint32_t id, total;
	uint64_t time;
};

static void dump_load(const char *path, uint64_t addr, uint64_t size, uint64_t index,
		      const char *name)
{
	struct rec_prefix p = {0, (uint32_t)(16 + 40 + strlen(name) + 1 + size), 0};
	uint32_t ids[2] = {(uint32_t)getpid(), (uint32_t)getpid()};
	uint64_t v[4] = {0 /* vma: unused */, addr, size, index};
	append(path, &p, sizeof(p));
	append(path, ids, sizeof(ids));
	append(path, v, sizeof(v));
	append(path, name, strlen(name) + 1);
	char *code = calloc(1, size);
	append(path, code, size);
	free(code);
}

Test(perfmap, jitdump_loads_and_moves)
{
	char path[64];
	snprintf(path, sizeof(path), "/tmp/cs-%d/jit-%d.dump", (int)getpid(), (int)getpid());
	char dir[64];
	snprintf(dir, sizeof(dir), "/tmp/cs-%d", (int)getpid());
	mkdir(dir, 0700);
	struct {
		uint32_t magic, version, total, mach, pad, pid;
		uint64_t time, flags;
	} h = {0x4A695444, 1, 40, 62, 0, (uint32_t)getpid(), 0, 0};
	append(path, &h, sizeof(h));
	dump_load(path, 0x10000, 0x40, 7, "dumped");
	struct cs_jitsyms *j = cs_jitsyms_new();
	cs_jitsyms_mapped(j, getpid(), "/somewhere/not-a-dump.so"); /* ignored */
	cs_jitsyms_mapped(j, getpid(), path);
	const char *file = NULL;
	cr_expect_str_eq(cs_jitsyms_find(j, getpid(), 0x10020, &file), "dumped");
	cr_expect_str_eq(file, path);
	cr_expect_null(find(j, 0x10040), "the function ends with its code");
	/* a move of code index 7, then a record still being written */
	struct rec_prefix p = {1, 16 + 48, 0};
	uint32_t ids[2] = {0, 0};
	uint64_t mv[5] = {0, 0x10000, 0x20000, 0x40, 7};
	append(path, &p, sizeof(p));
	append(path, ids, sizeof(ids));
	append(path, mv, sizeof(mv));
	struct rec_prefix partial = {0, 4096, 0};
	append(path, &partial, sizeof(partial));
	cs_jitsyms_poll(j, getpid());
	cr_expect_str_eq(find(j, 0x20010), "dumped");
	cr_expect_eq(cs_jitsyms_count(j, getpid()), 2);
	cs_jitsyms_free(j);
	unlink(path);
	rmdir(dir);
}

Test(perfmap, foreign_byte_order_is_refused)
{
	char path[64];
	snprintf(path, sizeof(path), "/tmp/cs-bo-%d/jit-%d.dump", (int)getpid(), (int)getpid());
	char dir[64];
	snprintf(dir, sizeof(dir), "/tmp/cs-bo-%d", (int)getpid());
	mkdir(dir, 0700);
	uint32_t h[10] = {0x4454694A, 0x01000000, 0x28000000}; /* big endian */
	append(path, h, sizeof(h));
	dump_load(path, 0x10000, 0x40, 7, "dumped");
	struct cs_jitsyms *j = cs_jitsyms_new();
	cs_jitsyms_mapped(j, getpid(), path);
	cr_expect_null(find(j, 0x10000));
	cs_jitsyms_free(j);
	unlink(path);
	rmdir(dir);
}
