#include "cli.h"
#include "render/view.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void on_fatal_signal(int sig)
{
	cs_outfile_remove_temps();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* A command killed while writing leaves no temporary file behind. Signals a command
 * handles itself (record stops on SIGINT) keep their handler. */
static void remove_temps_on_signals(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	for (size_t i = 0; i < CS_ARRAY_SIZE(sigs); i++) {
		struct sigaction old, sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_fatal_signal;
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL)
			sigaction(sigs[i], &sa, NULL);
	}
}

int cs_out_open(struct cs_out *o, const char *path)
{
	memset(o, 0, sizeof(*o));
	o->file.fd = -1;
	if (!path || !strcmp(path, "-")) {
		o->f = stdout;
		return 0;
	}
	remove_temps_on_signals();
	if (cs_outfile_open(&o->file, path, 0) < 0)
		return -1;
	/* The FILE writes through its own descriptor, so that closing it leaves the
	 * output's own for the commit. */
	int fd = fcntl(o->file.fd, F_DUPFD_CLOEXEC, 3);
	o->f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!o->f) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		cs_outfile_abort(&o->file);
		return cs_error("cannot write '%s': %s", path, strerror(e));
	}
	return 0;
}

int cs_out_commit(struct cs_out *o)
{
	if (!o->f)
		return 0;
	if (o->f == stdout) {
		o->f = NULL;
		if (fflush(stdout) != 0 || ferror(stdout))
			return cs_error("cannot write to standard output: %s", strerror(errno));
		return 0;
	}
	int bad = fflush(o->f) != 0 || ferror(o->f);
	int e = errno;
	if (fclose(o->f) != 0 && !bad) {
		bad = 1;
		e = errno;
	}
	o->f = NULL;
	if (bad) {
		cs_error("cannot write '%s': %s", o->file.path, strerror(e));
		cs_outfile_abort(&o->file);
		return -1;
	}
	return cs_outfile_commit(&o->file);
}

void cs_out_abort(struct cs_out *o)
{
	if (o->f && o->f != stdout)
		fclose(o->f);
	o->f = NULL;
	cs_outfile_abort(&o->file);
}

int cs_cli_load(struct cs_profile *p, const char *path, const struct cs_import_opts *o)
{
	struct cs_import_opts none = {0};
	return cs_profile_load(p, path ? path : "csampler.data", o ? o : &none);
}

int cs_cli_render(const char *input, const struct cs_import_opts *io,
		  const struct cs_view_sel *sel, const struct cs_view *v, struct cs_view_opts *o,
		  cs_cli_prep_fn prep, void *ctx, const char *output)
{
	struct cs_profile p;
	struct cs_out out;
	int ret = 1;
	cs_profile_init(&p);
	if (cs_cli_load(&p, input, io) < 0)
		goto done;
	if (sel && cs_view_apply(&p, sel) < 0)
		goto done;
	if (prep && prep(&p, o, ctx) < 0)
		goto done;
	if ((v->flags & CS_VIEW_BINARY) && (!output || !strcmp(output, "-")) && isatty(1)) {
		cs_error("the %s format is binary: write it to a file (-o FILE) or a pipe",
			 v->name);
		goto done;
	}
	if (cs_out_open(&out, output) < 0)
		goto done;
	if (v->render(&p, o, out.f) < 0) {
		cs_out_abort(&out);
		goto done;
	}
	if (cs_out_commit(&out) < 0)
		goto done;
	ret = 0;
done:
	cs_profile_release(&p);
	return ret;
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

int cs_view_opt(struct cs_view_sel *v, const char *cmd, int c, const char *arg)
{
	uint64_t n;
	switch (c) {
	case CS_VOPT_TIME:
		v->time = cs_time_parse(arg);
		if (!v->time) {
			cs_usage_error(cmd, "--time needs cpu, off, wall, blocked or preempted, not '%s'",
				       arg);
			return -1;
		}
		return 1;
	case CS_VOPT_TID:
		if (cs_parse_u64(arg, &n) < 0 || n == 0 || n > UINT32_MAX) {
			cs_usage_error(cmd, "--tid needs a thread id, not '%s'", arg);
			return -1;
		}
		if (v->ntids == CS_ARRAY_SIZE(v->tids)) {
			cs_usage_error(cmd, "at most %zu --tid options", CS_ARRAY_SIZE(v->tids));
			return -1;
		}
		v->tids[v->ntids++] = (uint32_t)n;
		return 1;
	case CS_VOPT_COMM: v->comm = arg; return 1;
	case CS_VOPT_EXCLUDE_IDLE: v->exclude_idle = 1; return 1;
	default: return 0;
	}
}

int cs_view_apply(struct cs_profile *p, const struct cs_view_sel *v)
{
	struct cs_thread_filter f = {v->tids, v->ntids, v->comm, v->exclude_idle};
	if (cs_profile_filter_threads(p, &f) < 0)
		return -1;
	return cs_profile_select_time(p, v->time ? v->time : cs_time_default(p));
}

