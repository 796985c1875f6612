/* symbolizer.h - address spaces, DWARF unwinding and symbol resolution (libdw/libelf).
 *
 * One cs_symbolizer follows every process of a recording:
 *   - a registry of modules (each distinct mapped file, opened once and kept open, so it
 *     can be read after the target exits or the file is deleted or replaced);
 *   - per process, the executable mappings and one long-lived libdwfl Dwfl used to
 *     unwind copies of the user stack by DWARF CFI;
 *   - at the end, resolution of (module, address) into frames: function, inline chain,
 *     file:line, via a per-module sorted symbol table and the DWARF scopes.
 *
 * Addresses are module-relative ELF virtual addresses ("vaddr": what nm and addr2line
 * print), so one libc frame is the same in every process. Return addresses have
 * already had one subtracted (done once, in cs_sym_unwind).
 */
#ifndef CS_SYMBOLIZER_H
#define CS_SYMBOLIZER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "profile/profile.h"

#define CS_SYM_NOMOD UINT32_MAX	      /* address outside any known module: absolute */
#define CS_SYM_KERNEL (UINT32_MAX - 1) /* kernel address: absolute */
#define CS_SYM_JIT (UINT32_MAX - 2)    /* JIT code (cs_sym_unwind_ex only): absolute */

/* x86-64 DWARF register numbers 0..16 (16 = return address column = rip). */
#define CS_DWARF_NREGS 17

struct cs_uframe {
	uint32_t module; /* registry index, CS_SYM_NOMOD or CS_SYM_KERNEL */
	uint64_t addr;	 /* vaddr within the module, or absolute */
};

struct cs_symbolizer_opts {
	const char *const *debug_dirs; /* extra roots searched for separate debug info */
	size_t n_debug_dirs;
	size_t max_frames; /* frames per stack before the unwinder gives up (default 1024) */
};

struct cs_mapping {
	uint64_t start, len, pgoff;
	uint32_t maj, min;
	uint64_t ino;
	int prot; /* PROT_* */
	const char *path;
};

struct cs_symbolizer;

struct cs_symbolizer *cs_symbolizer_new(const struct cs_symbolizer_opts *o);
void cs_symbolizer_free(struct cs_symbolizer *s);

/* ---- following address spaces (from /proc and from perf records) ---- */

/* Learn process pid's mappings from /proc/pid/maps. 0, or -1 if it is gone. */
int cs_sym_proc_load(struct cs_symbolizer *s, pid_t pid);
/* Add what /proc/pid/maps shows now to pid's known mappings (new mappings replace
 * what they overlap; nothing is forgotten). 0, or -1 if pid is gone. */
int cs_sym_proc_refresh(struct cs_symbolizer *s, pid_t pid);
/* pid was forked from ppid: it starts with a copy of the parent's mappings. */
void cs_sym_proc_fork(struct cs_symbolizer *s, pid_t ppid, pid_t pid);
/* pid called exec: its old mappings are gone. */
void cs_sym_proc_exec(struct cs_symbolizer *s, pid_t pid);
/* pid mapped something; only executable file mappings matter. */
void cs_sym_proc_mmap(struct cs_symbolizer *s, pid_t pid, const struct cs_mapping *m);
/* Process pid has ended: free its address space, its unwinder and their caches. A
 * later sample of that pid loads it afresh from /proc. */
void cs_sym_proc_forget(struct cs_symbolizer *s, pid_t pid);
/* Free what only samples already unwound needed: the unwinders replaced when a mapping
 * they knew went away (dlclose, exec), and per-address unwinding caches grown past
 * their bound. For long runs (continuous mode); call between samples. */
void cs_sym_trim(struct cs_symbolizer *s);
/* Is pid's address space known? */
int cs_sym_proc_known(struct cs_symbolizer *s, pid_t pid);

/* ---- unwinding ---- */

enum cs_unwind_result {
	CS_UNWIND_COMPLETE = 1,	 /* reached the thread's root frame */
	CS_UNWIND_TRUNCATED = 0, /* stopped early (stack copy too small, no CFI, ...) */
};

/* Unwind one sample of thread tid of process pid from its user registers (DWARF order)
 * and a copy of its stack starting at regs[7] (rsp). Frames go to out leaf first, at
 * most cap of them; *n receives the count. Returns enum cs_unwind_result. */
int cs_sym_unwind(struct cs_symbolizer *s, pid_t pid, pid_t tid,
		  const uint64_t regs[CS_DWARF_NREGS], const uint8_t *stack, size_t stack_len,
		  struct cs_uframe *out, size_t cap, size_t *n);

/* What ended an unwind that did not reach the thread's root frame. */
enum cs_unwind_end {
	CS_END_ROOT = 0, /* it did reach the root: the stack is complete */
	CS_END_COPY,	 /* the stack copy ran out (and live memory did not complete it) */
	CS_END_NOFILE,	 /* in a module whose file could not be opened (info.module) */
	CS_END_JIT,	 /* in JIT code whose frame-pointer chain could not be followed */
	CS_END_DEPTH,	 /* more frames than the unwinder keeps */
	CS_END_OTHER,	 /* no unwind rule, an unreadable register, ... */
};

struct cs_unwind_info {
	int end;	 /* enum cs_unwind_end */
	uint32_t module; /* CS_END_NOFILE: registry index of the module */
	int live;	 /* frames past the copy were read from the process's live memory */
	int live_refused; /* the copy ran out and live memory failed validation */
};

/* cs_sym_unwind, and also:
 *   - frames in JIT code (anonymous executable memory) have module CS_SYM_JIT and an
 *     absolute address (cs_sym_unwind reports them as CS_SYM_NOMOD);
 *   - with live set, a stack the copy could not hold is continued from the memory of
 *     the running process, validated as explained in unwind.c (the target is only
 *     read, never stopped);
 *   - *info (if not NULL) says how the unwind ended. */
int cs_sym_unwind_ex(struct cs_symbolizer *s, pid_t pid, pid_t tid,
		     const uint64_t regs[CS_DWARF_NREGS], const uint8_t *stack, size_t stack_len,
		     int live, struct cs_uframe *out, size_t cap, size_t *n,
		     struct cs_unwind_info *info);

/* Translate an absolute user address of pid into a cs_uframe (no unwinding). */
struct cs_uframe cs_sym_locate(struct cs_symbolizer *s, pid_t pid, uint64_t addr);

/* ---- resolution ---- */

/* Resolve one address into profile frames, root first: the function containing it,
 * then each inlined function down to the innermost. Writes at most cap frame ids to
 * out and returns how many were produced (at least 1). *resolved is set to 0 if no
 * symbol at all was found (the frame then reads "module+0xADDR").
 *
 * The function frame is named by the ELF symbol containing the address when there is
 * one (as perf names it: "f.lto_priv.0", "memcpy@plt" for a PLT stub), else by DWARF;
 * inlined frames by DWARF, following abstract origins into any unit. The innermost
 * frame's file:line is the line table's; each outer frame's is its inlined callee's call
 * site (as `addr2line -i` prints them).
 * With CSAMPLER_RESOLVE_STATS=1 in the environment, the thread CPU time spent resolving
 * is printed on stderr when the symbolizer is freed. */
size_t cs_sym_resolve(struct cs_symbolizer *s, struct cs_profile *p, struct cs_uframe f,
		      uint32_t *out, size_t cap, int *resolved);

/* ---- process introspection (for loading the allocation agent) ---- */

/* Absolute address in pid of function `name` defined in the module whose file name
 * starts with `module` (e.g. "libc.so"). 0, or -1 if not found. */
int cs_sym_find_symbol(struct cs_symbolizer *s, pid_t pid, const char *module, const char *name,
		       uint64_t *addr);
/* Forget which profile module each module became: cs_sym_resolve remembers it for
 * the profile it last wrote to, so call this before resolving into another profile
 * (continuous mode resolves each window into a profile of its own). */
void cs_sym_profile_reset(struct cs_symbolizer *s);

/* An address in pid where `need` bytes of executable memory hold no code: the
 * padding between the end of an executable segment and the end of its last page.
 * 0, or -1 if no mapping has that much room. */
int cs_sym_code_cave(struct cs_symbolizer *s, pid_t pid, size_t need, uint64_t *addr);

/* Name of the function containing f from the ELF symbol tables only (no DWARF, so
 * fast once cs_sym_prepare ran), or NULL. */
const char *cs_sym_func_name(struct cs_symbolizer *s, struct cs_uframe f);
/* Build the symbol tables and unwinding state of every module of pid now, so that
 * later unwinding and cs_sym_func_name are quick (used while a thread is stopped). */
void cs_sym_prepare(struct cs_symbolizer *s, pid_t pid);

/* Distinct addresses resolved (cs_sym_resolve) in module whose file could not be opened,
 * so that no name could be given to them; *err receives the errno of the failed open
 * (EACCES for a file in a directory the user cannot enter), or 0. A summary can name
 * cs_sym_module_path(s, module) as the cause of those unnamed frames. */
uint64_t cs_sym_module_unopened(const struct cs_symbolizer *s, uint32_t module, int *err);

/* Number of modules in the registry, and their paths (for messages and tests). */
size_t cs_sym_module_count(const struct cs_symbolizer *s);
const char *cs_sym_module_path(const struct cs_symbolizer *s, uint32_t module);

#endif
