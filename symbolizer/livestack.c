/* livestack.c - checks on frames found without the safety of the stack copy: return
 * addresses must follow a call instruction, and a stack deeper than its copy is
 * continued from the live process only as far as it can be shown unchanged. */
#include "walk.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* How far past the copy is read at first (then 8 times more, up to LIVE_MAX). */
#define LIVE_FIRST (32u << 10)
/* Bytes at the end of the copy that live memory must still hold. */
#define LIVE_OVERLAP 1024

/* ---- return addresses must follow a call ----
 *
 * Frames found without CFI (frame-pointer chains) or from live memory are believed
 * only if their return address is in executable memory right after something that
 * encodes a call: E8 rel32, or FF /2 with any addressing form (with or without a REX
 * or other prefix in front). Garbage rarely passes; the verdict per address is kept. */

static int follows_call(const uint8_t c[7])
{
	if (c[2] == 0xe8)
		return 1;
	for (int len = 2; len <= 7; len++) {
		const uint8_t *p = c + 7 - len;
		if (p[0] != 0xff || ((p[1] >> 3) & 7) != 2)
			continue;
		int mod = p[1] >> 6, rm = p[1] & 7, want = 2;
		if (mod != 3 && rm == 4) {
			want++; /* SIB byte */
			if (mod == 0 && len >= 3 && (p[2] & 7) == 5)
				want += 4; /* no base: disp32 */
		}
		if (mod == 1)
			want += 1;
		else if (mod == 2 || (mod == 0 && rm == 5))
			want += 4;
		if (want == len)
			return 1;
	}
	return 0;
}

/* len bytes of code at addr: from the module's file when it has one (still readable
 * after the process exited), else from the process. */
static int read_code(struct cs_symbolizer *s, struct aspace *a, uint64_t addr, uint8_t *buf,
		     size_t len)
{
	const struct amap *m = cs_space_map(a, addr);
	if (m && addr + len <= m->end && s->mods.v[m->mod]->elf) {
		struct symmod *mod = s->mods.v[m->mod];
		uint64_t vaddr = addr - m->bias;
		size_t phnum;
		if (elf_getphdrnum(mod->elf, &phnum) == 0) {
			for (size_t i = 0; i < phnum; i++) {
				GElf_Phdr ph;
				if (!gelf_getphdr(mod->elf, (int)i, &ph) || ph.p_type != PT_LOAD ||
				    vaddr < ph.p_vaddr || vaddr + len > ph.p_vaddr + ph.p_filesz)
					continue;
				return pread(mod->fd, buf, len,
					     (off_t)(ph.p_offset + vaddr - ph.p_vaddr)) ==
				       (ssize_t)len;
			}
		}
	}
	struct iovec l = {buf, len}, r = {(void *)(uintptr_t)addr, len};
	return process_vm_readv(a->pid, &l, 1, &r, 1, 0) == (ssize_t)len;
}

int cs_callsite_ok(struct cs_symbolizer *s, struct aspace *a, uint64_t ra)
{
	if (ra < 8)
		return 0;
	uint64_t *slot = cs_map64_get(&a->callsites, ra);
	if (slot)
		return *slot == 1;
	uint8_t code[7];
	int ok = (cs_space_map(a, ra - 1) || cs_space_jit(a, ra - 1)) &&
		 read_code(s, a, ra - 7, code, 7) && follows_call(code);
	*cs_map64_put(&a->callsites, ra, 0, NULL) = ok ? 1 : 2;
	return ok;
}

/* ---- continuing a stack from live memory ----
 *
 * The kernel copies the top stack_size bytes of the stack at the sample; a deeper
 * stack is cut there. (A larger default copy is the simpler cure, but the kernel makes
 * that copy in the target's own time: at 999 Hz in bench/record.sh the target used 11.3%
 * more CPU with 64 KiB copies, 6.6-8.0% with 16 KiB, perf (8 KiB) 5.2-7.8%; and each
 * ring would be 4 times larger.)
 * The rest can still be read from the process, which has run on meanwhile (we unwind
 * online, milliseconds later, and never stop it): what it popped and pushed again since
 * the sample may hold other frames now, and reporting those would invent a stack. So
 * what is read is believed only under these checks:
 *
 *   1. Stacks are written only at and below the stack pointer. If the thread has not
 *      returned past the end of the copy since the sample, everything beyond it is as
 *      it was. If it has, and called down again, the frames at the end of the copy
 *      were overwritten by the new calls. So live memory must still hold exactly the
 *      copy's last LIVE_OVERLAP bytes (return addresses, saved registers and locals of
 *      several frames), before the memory beyond is read and again after it was used.
 *      (tests/targets/churn.c replaces the outer frames of a deep stack every 20 ms
 *      with another chain of the same layout: without this, a third of its samples
 *      came out mixing both chains.)
 *   2. process_vm_readv copies page by page while the thread runs: one read of a
 *      changing stack can join pages of two moments into a stack that never was, even
 *      between two good boundary checks (churn.c switching every few microseconds got
 *      such stacks). So the bytes the unwinder used are read a second time, after the
 *      unwind, and must be equal.
 *   3. Every frame found in live memory must return to executable code right after a
 *      call instruction (callsite_ok), and the continued stack must reach the thread's
 *      root frame, whose CFI marks the end (or the frame limit). A continuation that
 *      stops short is dropped whole, back to what the copy alone gave.
 *   4. What no check can exclude without stopping the thread: it returned past the end
 *      of the copy and either came back down writing the very same bytes there, or
 *      stayed above it (the old frames below its stack pointer intact) while its new
 *      frames above line up with the old ones exactly, same layouts, all the way to
 *      the root; and it held still while we read twice. Then the frames past the copy
 *      are the thread's stack at the time of reading. churn.c switching chains every
 *      couple of microseconds, on a loaded machine where the thread is often
 *      preempted, still showed this in 1% (200 frames) to 5% (600 frames) of its
 *      samples; with 20 ms between switches, never.
 *
 * Only samples the recorder considers fresh are offered (see LIVE_FRESH_NS there), and
 * the recording counts the stacks completed this way (stats.live_completed). */

/* Does live memory still hold the copy's last bytes? 1 yes, 0 no, -1 unreadable. */
static int boundary_same(struct aspace *a, const uint8_t *stack, size_t stack_len)
{
	size_t ov = CS_MIN(stack_len, (size_t)LIVE_OVERLAP);
	uint8_t now[LIVE_OVERLAP];
	struct iovec l = {now, ov}, r = {(void *)(uintptr_t)(a->pass->copy_end - ov), ov};
	if (process_vm_readv(a->pid, &l, 1, &r, 1, 0) != (ssize_t)ov)
		return -1;
	return !memcmp(now, stack + stack_len - ov, ov);
}

/* Extend the copy with up to want bytes of live memory after it, into s->live (which
 * keeps as much room again for live_confirm). 0 and *len (copy + what could be read);
 * -1 if the memory cannot be read (the process is gone, say); -2 if the copy's last
 * bytes have changed; -3 if nothing is mapped after the copy (the stack ends there). */
static int live_extend(struct cs_symbolizer *s, struct aspace *a, const uint8_t *stack,
		       size_t stack_len, size_t want, size_t *len)
{
	int same = boundary_same(a, stack, stack_len);
	if (same <= 0)
		return same < 0 ? -1 : -2;
	CS_GROW(s->live, s->live_cap, stack_len + 2 * want);
	memcpy(s->live, stack, stack_len);
	struct iovec l = {s->live + stack_len, want};
	struct iovec r = {(void *)(uintptr_t)a->pass->copy_end, want};
	ssize_t got = process_vm_readv(a->pid, &l, 1, &r, 1, 0);
	if (got < 0 && errno != EFAULT)
		return -1;
	if (got < 8)
		return -3;
	*len = stack_len + (size_t)got;
	return 0;
}

/* After the unwind of s->live (len bytes): the live bytes it used read again equal,
 * and the boundary still the copy's. */
static int live_confirm(struct cs_symbolizer *s, struct aspace *a, const uint8_t *stack,
			size_t stack_len, size_t len)
{
	uint64_t end = a->pass->copy_end, used = a->pass->max_read;
	if (used <= end)
		return 1;
	size_t n = CS_MIN((size_t)(used - end), len - stack_len);
	struct iovec l = {s->live + len, n}, r = {(void *)(uintptr_t)end, n};
	return process_vm_readv(a->pid, &l, 1, &r, 1, 0) == (ssize_t)n &&
	       !memcmp(s->live + len, s->live + stack_len, n) &&
	       boundary_same(a, stack, stack_len) == 1;
}

/* The copy ran out: go on from live memory, reading more as needed. The frames are
 * replaced only by a continuation that passes every check; else they stay as the
 * copy alone gave them. Returns the result; *ran_out is cleared when the stack turned
 * out to end with the copy. */
int cs_live_continue(struct cs_symbolizer *s, struct aspace *a, pid_t tid, const uint64_t *regs,
		     const uint8_t *stack, size_t stack_len, struct cs_uframe *out, size_t cap,
		     size_t *n, int *depth, int *ran_out, struct cs_unwind_info *info)
{
	size_t keep = *n; /* frames of out[] known to come from the copy alone */
	for (size_t want = LIVE_FIRST;; want *= 8) {
		size_t len, m;
		int e = live_extend(s, a, stack, stack_len, want, &len);
		if (e == -3)
			*ran_out = 0; /* nothing is mapped past the copy: the stack ends there */
		if (e == -2)
			info->live_refused = 1;
		if (e < 0)
			break;
		int r = cs_unwind_buf(s, a, tid, regs, s->live, len, out, cap, &m, depth);
		keep = CS_MIN(keep, CS_MIN(m, a->pass->live_frame));
		size_t from = CS_MAX(a->pass->live_frame, (size_t)1);
		for (size_t i = from; r >= 0 && i < m; i++) {
			if (!cs_callsite_ok(s, a, out[i].addr + 1)) {
				r = -1;
				break;
			}
		}
		if ((r == CS_UNWIND_COMPLETE || (r >= 0 && *depth)) &&
		    !live_confirm(s, a, stack, stack_len, len)) {
			info->live_refused = 1;
			break;
		}
		if (r == CS_UNWIND_COMPLETE || (r >= 0 && *depth)) {
			*n = m;
			info->live = m > a->pass->live_frame;
			return r;
		}
		/* Short of the root: more memory may finish it, if more was there. */
		if (r < 0 || !a->pass->ran_out || len < stack_len + want || want >= LIVE_MAX) {
			info->live_refused = 1;
			break;
		}
	}
	*n = keep;
	*depth = 0;
	return CS_UNWIND_TRUNCATED;
}
