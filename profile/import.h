/* import.h - text importers behind cs_profile_load (internal to profile/).
 * Each parses a whole NUL-terminated buffer into an empty profile and returns 0, or
 * prints one error line naming the input and the line number and returns -1. */
#ifndef CS_IMPORT_H
#define CS_IMPORT_H

#include "profile.h"

/* Does the text look like folded stacks ("a;b;c 12" lines)? */
int cs_looks_folded(const char *text, size_t n);
int cs_import_folded(struct cs_profile *p, const char *text, size_t n, const char *name);

/* Does the text look like `perf script` output (a sample header line, then frame
 * lines "ADDR SYM (MODULE)", or one-line samples)? */
int cs_looks_perf_script(const char *text, size_t n);
/* Import `perf script` text. Stacks are named as FlameGraph's stackcollapse-perf.pl
 * names them; the process name (comm), pid and tid of each sample become its thread
 * (pid CS_NONE when perf printed only the thread id), not a frame. Frames carry
 * CS_FRAME_KERNEL (kernel and kernel-module code), CS_FRAME_JIT (perf-PID.map,
 * jitted-*.so, [JIT]), CS_FRAME_INLINE ("a->b" chains, perf's "(inlined)") and
 * CS_FRAME_UNKNOWN; modules carry CS_MODULE_KERNEL/VDSO/MAIN. Each sample counts its
 * period when perf printed one, else 1 (p->stats.samples counts the samples). Only
 * samples of the first event type seen are kept (a warning says how many others were
 * left out). With o->compat the lines are read exactly as the Perl script reads them
 * and the names carry the script's _[k]/_[j]/_[i] suffixes as o->kernel and o->jit
 * ask (see perf_script.c); o->addrs names unknown frames by address, o->pid/tid turn
 * off the tidying of Java names, as in the script. Periods that do not fit in 64
 * bits, or add up past them, are refused with one error line. */
int cs_import_perf_script(struct cs_profile *p, const char *text, size_t n, const char *name,
			  const struct cs_import_opts *o);

/* The line patterns of FlameGraph's stackcollapse-perf.pl, matched as Perl matches
 * them (perf_compat.c). Each returns 1 and fills its result on a match, else 0. */
struct cs_perl_header {
	size_t comm_len;	   /* the comm is the line's first comm_len bytes */
	const char *first, *second; /* "PID/TID" or "TID": the digit groups (second may be "") */
	size_t first_len, second_len;
};
/* /^(\S.+?)\s+(\d+)[/]*(\d+)*\s+/ : a sample's header line */
int cs_perl_header(const char *s, size_t n, struct cs_perl_header *h);
/* /:\s*(\d+)*\s+(\S+):\s*$/ : the period (possibly "") and the event of a header */
int cs_perl_event(const char *s, size_t n, const char **period, size_t *period_len,
		  const char **event, size_t *event_len);
struct cs_perl_frame {
	const char *pc, *func, *mod;
	size_t pc_len, func_len, mod_len;
};
/* /^\s*(\w+)\s*(.+) \((\S*)\)/ : a frame line "ADDR SYMBOL (MODULE)" */
int cs_perl_frame(const char *s, size_t n, struct cs_perl_frame *f);

/* Split a folded frame's annotation suffix (_[k] kernel, _[j] JIT, _[i] inline) off
 * name[0..*len): shortens *len and returns the matching CS_FRAME_* flag, or 0. */
uint32_t cs_folded_annotation(const char *name, size_t *len);

#endif
