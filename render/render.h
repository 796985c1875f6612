/* render.h - views of a profile. Every renderer reads a const model and writes to a
 * FILE *; none touches sampling or DWARF. Each returns 0, or -1 after printing one
 * error line (a write error is reported by the caller that owns the stream). */
#ifndef CS_RENDER_H
#define CS_RENDER_H

#include <stdio.h>

#include "profile/profile.h"

/* ---- folded stacks ---- */

enum cs_thread_root {
	CS_ROOT_NONE = 0,
	CS_ROOT_THREAD, /* "NAME-TID" (csampler fold --per-thread) */
	CS_ROOT_PID,	/* "COMM-PID" (stackcollapse-perf --pid) */
	CS_ROOT_TID,	/* "COMM-PID/TID" (stackcollapse-perf --tid) */
	CS_ROOT_COMM,	/* "COMM" (stackcollapse-perf's default) */
};
/* The COMM, PID and TID roots are written as stackcollapse-perf.pl writes them:
 * spaces in the name become '_' and an unknown pid (CS_NONE) is '?'. */

struct cs_fold_opts {
	int thread_root;     /* enum cs_thread_root */
	int annotate_kernel; /* suffix kernel frames with _[k] */
	int annotate_jit;    /* suffix JIT frames with _[j] */
	int annotate_inline; /* suffix inlined frames with _[i] */
	int zero_lines;	     /* also write stacks whose count is 0 (as stackcollapse-perf.pl
			      * does for a period of "00") */
	int lines;	     /* append " (FILE:LINE)" (FILE's base name) where the line is known */
};

/* Append the root frame name of thread t for kind (not CS_ROOT_NONE) to b, as the
 * folded view writes it. */
struct cs_buf;
void cs_thread_root_label(struct cs_buf *b, const struct cs_profile *p, const struct cs_thread *t,
			  int kind);

/* Folded stacks, one line per unique stack, root first, sorted bytewise. */
int cs_render_folded(const struct cs_profile *p, const struct cs_fold_opts *o, FILE *out);

/* Write a frame name made safe for folded text: ';' becomes ':' and line breaks
 * become spaces, so one frame can never split into two or a line into two. */
void cs_fold_put_name(FILE *out, const char *s, size_t len);

/* ---- hotspot report ---- */

enum cs_report_by { CS_BY_FUNCTION = 0, CS_BY_LINE, CS_BY_MODULE, CS_BY_THREAD };
enum cs_report_format { CS_FMT_TEXT = 0, CS_FMT_JSON, CS_FMT_CSV };

struct cs_report_opts {
	int top;	/* rows to print; 0 = all */
	int sort_total; /* sort by total instead of self */
	int by;		/* enum cs_report_by */
	int format;	/* enum cs_report_format */
	int addrs;	/* frames without a symbol: one row per address, not per module */
	/* Print the callers (callees) of this function instead. A name without a
	 * parameter list also matches "NAME(...)", so C++ names need not be spelled out. */
	const char *callers;
	const char *callees;
};

int cs_render_report(const struct cs_profile *p, const struct cs_report_opts *o, FILE *out);

/* One row of the hotspot table, computed from the model (also used by tests). */
struct cs_hotspot {
	uint32_t func;	 /* string id (function, or the row's label for other --by) */
	uint32_t module; /* module index or CS_NONE */
	uint32_t file, line;
	uint32_t thread; /* thread index for --by thread, else CS_NONE */
	uint32_t unnamed; /* 1: every frame of module that has no symbol ("[module]") */
	uint64_t self, total;
};

/* Compute hotspot rows (unsorted); returns the count, rows in *out (caller frees).
 * Frames without a symbol share one row per module unless addrs. Time and memory are
 * linear in the size of the profile, whatever the depth of its stacks. */
size_t cs_hotspots(const struct cs_profile *p, int by, int addrs, struct cs_hotspot **out);

/* ---- leak snapshots ---- */

/* What a leak site costs (heaptrack's four costs). */
enum cs_leak_cost {
	CS_COST_LEAKED = 0,  /* bytes outstanding at the snapshot (at the end: leaked) */
	CS_COST_ALLOCATIONS, /* allocations made since tracking began */
	CS_COST_TEMPORARY,   /* of them, those freed right away (see struct cs_leak_site) */
	CS_COST_PEAK,	     /* bytes held when the process's tracked heap peaked */
};
/* "leaked", "allocations", "temporary", "peak"; NULL for another value. */
const char *cs_leak_cost_name(int cost);
/* The cost named s, or -1. */
int cs_leak_cost_parse(const char *s);

struct cs_leak_report_opts {
	int snapshot;	   /* 1-based snapshot to list; 0 = the last */
	int diff_a, diff_b; /* 1-based: show the growth from snapshot a to b (0 = off) */
	double min_age_s;  /* only stacks whose oldest block is at least this old */
	int top;	   /* stacks to list; 0 = all */
	int format;	   /* CS_FMT_TEXT or CS_FMT_JSON */
	int cost;	   /* enum cs_leak_cost: what stacks are sorted by */
	int64_t pid;	   /* only this process (0: every process of the recording) */
	/* Internal: the whole recording, while one process's view is rendered. */
	const struct cs_profile *whole;
};

/* Allocations by call stack, per process: the heap's peak and totals, its timeline
 * next to RSS, the stacks sorted by a cost (stacks whose resolved frames are the same
 * merged into one site), the growth between snapshots, and the growth suspects (stacks
 * whose outstanding bytes kept rising). A recording of a launched command holds one
 * section per process it started (JSON: the first process at the top level, the
 * others in "processes"); --snapshot and --diff concern one process (pid, or the
 * first). */
int cs_render_leaks(const struct cs_profile *p, const struct cs_leak_report_opts *o, FILE *out);

struct cs_leak_flame_opts {
	int snapshot; /* 1-based snapshot of the process; 0 = each process's last */
	int cost;     /* enum cs_leak_cost */
	int64_t pid;  /* only this process (0: every process) */
	int objects;  /* weigh stacks by outstanding blocks instead (pprof's inuse_objects) */
};

/* Fill the empty profile q with p's leak stacks weighted by a cost, for the CPU views
 * (flame, fold). With several processes, each stack's thread is its process (root it
 * with CS_ROOT_PID): *several is set to 1 then. */
int cs_leak_profile(const struct cs_profile *p, const struct cs_leak_flame_opts *o,
		    struct cs_profile *q, int *several);

/* ---- escaping (escape.c) ---- */

/* A JSON string: control characters (C0 and C1) escaped, bytes that are not UTF-8
 * replaced by U+FFFD. */
void cs_json_str(FILE *out, const char *s, size_t len);
/* Text for a terminal: control characters (C0, DEL, C1) and bytes that are not UTF-8
 * appended to b as \xNN, everything else as it is. */
void cs_text_escape(struct cs_buf *b, const char *s, size_t len);
/* cs_text_escape of s into b (emptied first), NUL-terminated; returns b's text. */
const char *cs_text_str(struct cs_buf *b, const char *s);
/* Write s escaped as cs_text_escape does. */
void cs_text_put(FILE *out, const char *s);
/* One CSV field: escaped as text, then quoted if it holds ',' or '"'. */
void cs_csv_str(FILE *out, const char *s);

#endif
