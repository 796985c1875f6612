/* load.c - read any supported profile into the model, detecting the format from the
 * content: a csampler recording, `perf script` text, or folded stacks. */
#include "import.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_INPUT (16ull << 30)

static char *read_stdin(size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = cs_xmalloc(cap + 1);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			buf = cs_xrealloc(buf, cap + 1);
		}
		ssize_t r = read(STDIN_FILENO, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

/* Views divide counts by their total: refuse counts that add up to more than 64 bits
 * hold (hostile input) rather than show wrapped figures. */
static int check_total(const struct cs_profile *p, const char *name)
{
	uint64_t t = 0;
	for (size_t i = 0; i < p->samples.n; i++) {
		uint64_t c = p->samples.v[i].count;
		if (c >= UINT64_MAX - t)
			return cs_error("'%s': its sample counts add up to more than %llu, which "
					"cannot be counted",
					name, (unsigned long long)(UINT64_MAX - 1));
		t += c;
	}
	return 0;
}

int cs_profile_load(struct cs_profile *p, const char *path, const struct cs_import_opts *o)
{
	struct cs_file file = {0};
	size_t n = 0;
	char *data;
	const char *name = strcmp(path, "-") ? path : "standard input";

	if (!strcmp(path, "-")) {
		data = file.data = read_stdin(&n);
	} else {
		struct stat st;
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			return cs_error("cannot read '%s': Is a directory", path);
		data = cs_file_open(&file, path, MAX_INPUT) == 0 ? file.data : NULL;
		n = file.len;
	}
	if (!data) {
		if (errno == ENOENT && !strcmp(path, "csampler.data"))
			return cs_error("cannot open 'csampler.data': No such file or directory "
					"(record one with 'csampler record', or pass -i FILE)");
		return cs_error("cannot open '%s': %s", name, strerror(errno));
	}
	int ret;
	if (cs_profile_is_recording(data, n))
		ret = cs_profile_decode(p, data, n, name);
	else if (n == 0)
		ret = cs_error("'%s' is empty: no samples to show", name);
	else if (memchr(data, 0, n))
		ret = cs_error("'%s' is neither a csampler recording, folded stacks nor perf script "
			       "output",
			       name);
	else if (cs_looks_perf_script(data, n))
		ret = cs_import_perf_script(p, data, n, name, o);
	else if (cs_looks_folded(data, n))
		ret = cs_import_folded(p, data, n, name);
	else
		ret = cs_error("'%s' is neither a csampler recording, folded stacks nor perf script "
			       "output",
			       name);
	if (ret == 0)
		ret = check_total(p, name);
	cs_file_release(&file);
	return ret;
}
