#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cs_out_open(struct cs_out *o, const char *path)
{
	memset(o, 0, sizeof(*o));
	if (!path || !strcmp(path, "-")) {
		o->f = stdout;
		return 0;
	}
	o->path = cs_xstrdup(path);
	o->tmp = cs_xasprintf("%s.tmp.%d", path, (int)getpid());
	o->f = fopen(o->tmp, "w");
	if (!o->f) {
		int e = errno;
		free(o->path);
		free(o->tmp);
		o->path = o->tmp = NULL;
		return cs_error("cannot create '%s': %s", path, strerror(e));
	}
	return 0;
}

int cs_out_commit(struct cs_out *o)
{
	int ret = 0;
	if (!o->path) {
		if (fflush(stdout) != 0 || ferror(stdout))
			ret = cs_error("cannot write to standard output: %s", strerror(errno));
		return ret;
	}
	int bad = fflush(o->f) != 0 || ferror(o->f);
	int e = errno;
	if (fclose(o->f) != 0 && !bad) {
		bad = 1;
		e = errno;
	}
	if (bad) {
		ret = cs_error("cannot write '%s': %s", o->path, strerror(e));
		unlink(o->tmp);
	} else if (rename(o->tmp, o->path) < 0) {
		ret = cs_error("cannot create '%s': %s", o->path, strerror(errno));
		unlink(o->tmp);
	}
	free(o->path);
	free(o->tmp);
	memset(o, 0, sizeof(*o));
	return ret;
}

void cs_out_abort(struct cs_out *o)
{
	if (o->path) {
		fclose(o->f);
		unlink(o->tmp);
		free(o->path);
		free(o->tmp);
	}
	memset(o, 0, sizeof(*o));
}

int cs_cli_load(struct cs_profile *p, const char *path, const struct cs_import_opts *o)
{
	struct cs_import_opts none = {0};
	return cs_profile_load(p, path ? path : "csampler.data", o ? o : &none);
}

int cs_usage_error(const char *cmd, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "csampler %s: %s (see 'csampler %s --help')\n", cmd, buf, cmd);
	return 2;
}
