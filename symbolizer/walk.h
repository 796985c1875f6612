/* walk.h - what the stack-walking files share (aspace.c, unwind.c, livestack.c); not a
 * public interface. */
#ifndef CS_SYMBOLIZER_WALK_H
#define CS_SYMBOLIZER_WALK_H

#include "internal.h"

/* ---- aspace.c: per-process address spaces ---- */

/* pid's address space, or NULL if it is not known. */
struct aspace *cs_space_get(struct cs_symbolizer *s, pid_t pid);
/* The file mapping, or the JIT range, of a that contains addr; NULL if none. */
const struct amap *cs_space_map(const struct aspace *a, uint64_t addr);
const struct jit_range *cs_space_jit(const struct aspace *a, uint64_t addr);
/* Stop using a's Dwfl (kept until the end: its Elf handles may be shared); every
 * mapping is reported again to the next one. */
void cs_space_retire_dwfl(struct aspace *a);
void cs_space_free(struct aspace *a);

/* ---- unwind.c: one walk over a stack buffer ---- */

/* How far past the kernel's copy the rest of a stack is looked for in live memory. */
#define LIVE_MAX (1u << 20)

/* The walk in progress (aspace.pass), as seen by its memory reads. */
struct unwind_pass {
	uint64_t copy_end; /* end of the kernel's copy of the stack */
	uint64_t ran_out;  /* an address past the buffer the unwinder needed, or 0 */
	size_t frames;	   /* frames delivered so far */
	size_t live_frame; /* the first frame that needed memory past copy_end */
	uint64_t max_read; /* the end of the highest word read */
};

/* Unwind the stack in buf (len bytes from regs[7]) with a->pass set: frames leaf first
 * with absolute addresses into out; *depth set if the frame limit cut it. Returns
 * CS_UNWIND_COMPLETE, CS_UNWIND_TRUNCATED, or -1 if not even one frame came out. */
int cs_unwind_buf(struct cs_symbolizer *s, struct aspace *a, pid_t tid, const uint64_t *regs,
		  const uint8_t *buf, size_t len, struct cs_uframe *out, size_t cap, size_t *n,
		  int *depth);

/* ---- livestack.c ---- */

/* Is ra a plausible return address: in executable memory, right after a call? */
int cs_callsite_ok(struct cs_symbolizer *s, struct aspace *a, uint64_t ra);

/* The copy (stack, stack_len) ran out after *n frames in out: continue from live
 * memory if that passes every check, else leave the copy's frames. Returns the result
 * of the unwind; clears *ran_out when nothing followed the copy; sets info->live and
 * info->live_refused. */
int cs_live_continue(struct cs_symbolizer *s, struct aspace *a, pid_t tid, const uint64_t *regs,
		     const uint8_t *stack, size_t stack_len, struct cs_uframe *out, size_t cap,
		     size_t *n, int *depth, int *ran_out, struct cs_unwind_info *info);

#endif
