/* view.h - the table of views. Every output of a profile is one row: a name, what it
 * is, and a function that renders a const model to a FILE *. A new format is a new file
 * plus one row; the command layer loads, looks the view up and commits its output
 * (cli.h: cs_cli_render) without knowing the format.
 *
 * Weights: every export asks cs_view_weight what a sample (stack, thread) weighs, so
 * that a choice of what to weigh (--time, leak costs) is made in one place.
 */
#ifndef CS_VIEW_H
#define CS_VIEW_H

#include <stdio.h>

#include "flame.h"
#include "render.h"

/* Which time the samples hold is the profile's own (p->times.shown, chosen by the
 * command with cs_profile_select_time before rendering): CPU samples, or microseconds
 * of off-CPU or wall time. */
struct cs_view_opts {
	/* Leak snapshots instead of samples: the stacks of each process's last snapshot
	 * (snapshot K of one process), weighed by outstanding bytes (pprof also writes
	 * outstanding blocks). */
	int leaks;
	int snapshot; /* 1-based, of the first process (or pid's); 0: each one's last */
	int64_t pid;  /* only this process (0: all) */
	/* Options of the views that had them before the table (NULL: defaults). */
	const struct cs_fold_opts *fold;
	const struct cs_report_opts *report;
	const struct cs_leak_report_opts *leak_report;
	const struct cs_flame_opts *flame;
};

enum cs_view_flags {
	CS_VIEW_EXPORT = 1u << 0, /* a format of csampler export */
	CS_VIEW_BINARY = 1u << 1, /* writes bytes, not text */
};

struct cs_view {
	const char *name;
	const char *help; /* one line */
	unsigned flags;	  /* enum cs_view_flags */
	const char *ext;  /* the usual file name ending, for messages and examples */
	int (*render)(const struct cs_profile *p, const struct cs_view_opts *o, FILE *out);
};

/* The views; the table ends with a row whose name is NULL. */
extern const struct cs_view cs_views[];
/* The view called name, or NULL. */
const struct cs_view *cs_view_find(const char *name);

/* ---- what the views share ---- */

/* The weight of one sample row (a stack in a thread) in the unit cs_view_unit names:
 * the only place where a view decides what a stack weighs. */
uint64_t cs_view_weight(const struct cs_profile *p, const struct cs_sample *s,
			const struct cs_view_opts *o);
/* The sample rows that weigh something, grouped by thread (then by stack): an array
 * of *n pointers into p->samples, which the caller frees. */
const struct cs_sample **cs_view_rows(const struct cs_profile *p, const struct cs_view_opts *o,
				      size_t *n);
/* Nanoseconds one count stands for: a recording's sampling period for CPU samples,
 * 1000 for microseconds of off-CPU or wall time; 0 when unknown (folded text, perf
 * script text, leak snapshots). */
uint64_t cs_view_period_ns(const struct cs_profile *p, const struct cs_view_opts *o);
/* What the weights of the profile to draw (see cs_view_input) count, as pprof names
 * a sample type: samples/count; cpu/nanoseconds for perf script cpu-clock periods;
 * EVENT/count for other periods; inuse_space/bytes for leaks; wall/microseconds,
 * off_cpu/microseconds, blocked/..., preempted/... for a selected off-CPU or wall time
 * of a 'record --wall' recording. */
void cs_view_unit(const struct cs_profile *p, const struct cs_view_opts *o, const char **type,
		  const char **unit);
/* The kind of time the weights measure, as a pprof value type: "cpu", "wall",
 * "off_cpu", "blocked" or "preempted". */
const char *cs_view_time_type(const struct cs_profile *p);
/* The profile to draw: p itself, or for o->leaks a profile of p's leak stacks in
 * *tmp (an empty, initialized profile the caller releases), weighed by outstanding
 * blocks instead of bytes if objects. With several processes each process is one
 * thread (pid = tid). Returns 0, or -1 after one error line. */
int cs_view_input(const struct cs_profile *p, const struct cs_view_opts *o, int objects,
		  struct cs_profile *tmp, const struct cs_profile **use);
/* A name for thread t: "NAME (TID)", or the process "NAME (PID)" for leak views. */
void cs_view_thread_name(struct cs_buf *b, const struct cs_profile *p, uint32_t t);

/* The renderers of the export formats. */
int cs_render_pprof(const struct cs_profile *p, const struct cs_view_opts *o, FILE *out);
int cs_render_speedscope(const struct cs_profile *p, const struct cs_view_opts *o, FILE *out);
int cs_render_gecko(const struct cs_profile *p, const struct cs_view_opts *o, FILE *out);
int cs_render_callgrind(const struct cs_profile *p, const struct cs_view_opts *o, FILE *out);

#endif
