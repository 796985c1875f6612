/* replay.c - main() for a harness built without libFuzzer: run LLVMFuzzerTestOneInput
 * once on every file named on the command line, and on every file in every directory
 * named there (the seed corpus, the regression inputs). A finding aborts, as under
 * libFuzzer. A path that does not exist is skipped (no regression inputs yet), but
 * finding no input at all is an error.
 *
 * Usage: fuzz_NAME [FILE|DIR]... */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static size_t ran;

static int run_file(const char *path)
{
	size_t n;
	char *data = cs_read_file(path, 64u << 20, &n);
	if (!data) {
		fprintf(stderr, "replay: cannot read '%s': %s\n", path, strerror(errno));
		return -1;
	}
	/* so that a finding names its input */
	fprintf(stderr, "replay: %s\n", path);
	LLVMFuzzerTestOneInput((const uint8_t *)data, n);
	free(data);
	ran++;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	CS_VEC(char *) names = {0};
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *p = cs_xasprintf("%s/%s", dir, e->d_name);
		CS_VEC_PUSH(names, p);
	}
	closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof(*names.v), cmp_names);
	int ret = 0;
	for (size_t i = 0; i < names.n; i++) {
		struct stat st;
		if (stat(names.v[i], &st) == 0 && S_ISREG(st.st_mode) && run_file(names.v[i]) < 0)
			ret = -1;
		free(names.v[i]);
	}
	CS_VEC_FREE(names);
	return ret;
}

int main(int argc, char **argv)
{
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	int ret = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			if (errno == ENOENT)
				continue;
			st.st_mode = 0; /* run_file says why */
		}
		ret |= S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i]);
	}
	if (!ran) {
		fprintf(stderr, "replay: no inputs found\n");
		return 1;
	}
	fprintf(stderr, "replay: %zu inputs, no finding\n", ran);
	return ret ? 1 : 0;
}
