/* unwind.c - DWARF CFI unwinding of stack copies.
 *
 * Each process gets one long-lived Dwfl: modules are reported once with the file
 * descriptor the registry holds, and the thread state is served from the sample
 * being unwound (registers and stack copy), so libdw caches CFI across samples.
 *
 * Code without CFI (JIT code in anonymous memory, hand-written or generated code in a
 * module) is unwound by its frame-pointer chain, as libdw's own fallback does, with
 * every return address so found checked to follow a call instruction. A stack deeper
 * than its copy is continued from the process's live memory (livestack.c). */
#include "walk.h"
#include "util/cache.h"
#include "util/proc.h"

#include <dwarf.h>

#include <errno.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

/* ---- the sample being unwound ---- */

static pid_t cb_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	return 0; /* threads are only ever asked for by id */
}

static bool cb_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	*thread_argp = arg;
	return true;
}

static int read_copy(struct aspace *a, uint64_t addr, uint64_t *out)
{
	struct unwind_pass *p = a->pass;
	if (!p)
		return 0;
	if (addr >= p->copy_end && p->live_frame > p->frames)
		p->live_frame = p->frames;
	if (addr >= a->sp && addr - a->sp <= a->stack_len && a->stack_len - (addr - a->sp) >= 8) {
		memcpy(out, a->stack + (addr - a->sp), 8);
		p->max_read = CS_MAX(p->max_read, addr + 8);
		return 1;
	}
	/* Past the end of what we have, where the rest of the stack may be. */
	uint64_t end = a->sp + a->stack_len;
	if (addr >= a->sp && addr + 8 > end && addr < end + LIVE_MAX && !p->ran_out)
		p->ran_out = addr;
	return 0;
}

static bool cb_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	/* Outside the copy the stack ends, for us. */
	return read_copy(arg, addr, result);
}

static bool cb_set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct aspace *a = arg;
	Dwarf_Word regs[CS_DWARF_NREGS];
	for (int i = 0; i < CS_DWARF_NREGS; i++)
		regs[i] = a->regs[i];
	if (!dwfl_thread_state_registers(thread, 0, CS_DWARF_NREGS, regs))
		return false;
	dwfl_thread_state_register_pc(thread, a->regs[16]);
	return true;
}

static const Dwfl_Thread_Callbacks thread_cbs = {
	.next_thread = cb_next_thread,
	.get_thread = cb_get_thread,
	.memory_read = cb_memory_read,
	.set_initial_registers = cb_set_initial_registers,
};

static int report_modules(struct cs_symbolizer *s, struct aspace *a)
{
	if (a->rebuild)
		cs_space_retire_dwfl(a);
	if (!a->dwfl) {
		a->dwfl = dwfl_begin(&s->unwind_cb);
		if (!a->dwfl)
			return -1;
		dwfl_report_begin(a->dwfl);
	} else {
		dwfl_report_begin_add(a->dwfl);
	}
	for (size_t i = 0; i < a->maps.n; i++) {
		struct amap *m = &a->maps.v[i];
		if (m->reported)
			continue;
		m->reported = 1;
		struct symmod *mod = s->mods.v[m->mod];
		if (mod->fd < 0)
			continue;
		/* A fixed-address executable lives at bias 0. libdwfl places ET_EXEC modules
		 * there whatever base it is given, so a second mapping of its text elsewhere
		 * (node remaps its builtins) would be taken for a conflicting report of the
		 * same module and make libdwfl drop the first: that code is unwound by frame
		 * pointers instead. */
		if (mod->e_type == ET_EXEC && m->bias != 0)
			continue;
		/* Several mappings of one file share one module: report it once, at the
		 * bias of its mapping lowest in the file. libdwfl refuses a second report of
		 * a file at another bias (the images overlap) and loses the first with it. */
		int seen = 0;
		for (size_t j = 0; j < a->maps.n && !seen; j++) {
			const struct amap *o = &a->maps.v[j];
			seen = j != i && o->mod == m->mod &&
			       (o->in_dwfl || (!o->reported && (o->pgoff < m->pgoff ||
								(o->pgoff == m->pgoff && j < i))));
		}
		if (seen)
			continue;
		int fd = dup(mod->fd);
		if (fd < 0)
			continue;
		/* add_p_vaddr: base is the load bias. The fd is consumed. */
		if (dwfl_report_elf(a->dwfl, mod->path, mod->dwfl_name, fd, m->bias, true))
			m->in_dwfl = 1;
		else
			close(fd);
	}
	dwfl_report_end(a->dwfl, NULL, NULL);
	a->dirty = 0;
	if (!a->attached) {
		if (!dwfl_attach_state(a->dwfl, NULL, a->pid, &thread_cbs, a))
			return -1;
		a->attached = 1;
	}
	return 0;
}

/* The CFI row for pc, from .eh_frame or else .debug_frame (as libdw's unwinder looks).
 * 0 and *frame (caller frees), or -1. */
static int cfi_frame_at(struct aspace *a, uint64_t pc, Dwarf_Frame **frame)
{
	Dwfl_Module *mod = dwfl_addrmodule(a->dwfl, pc);
	if (!mod)
		return -1;
	for (int pass = 0; pass < 2; pass++) {
		Dwarf_Addr bias;
		Dwarf_CFI *cfi = pass ? dwfl_module_dwarf_cfi(mod, &bias) : dwfl_module_eh_cfi(mod, &bias);
		if (cfi && dwarf_cfi_addrframe(cfi, pc - bias, frame) == 0)
			return 0;
	}
	return -1;
}

static int cfi_frame(struct aspace *a, uint64_t pc, Dwarf_Frame **frame)
{
	if (cfi_frame_at(a, pc, frame) == 0)
		return 0;
	/* Code mapped a second time at another bias (node's builtins) is not in the Dwfl
	 * (see report_modules): its rules are those of the same vaddr where the file is. */
	const struct amap *m = cs_space_map(a, pc);
	for (size_t j = 0; m && j < a->maps.n; j++) {
		const struct amap *o = &a->maps.v[j];
		if (o->mod == m->mod && o->in_dwfl && o->bias != m->bias)
			return cfi_frame_at(a, pc - m->bias + o->bias, frame);
	}
	return -1;
}

/* Does the CFI at pc say the caller's return address is undefined? */
static int outermost(struct aspace *a, uint64_t pc)
{
	Dwarf_Frame *frame;
	if (cfi_frame(a, pc, &frame) < 0)
		return 0;
	Dwarf_Op ops_mem[3], *ops;
	size_t nops;
	int ra = dwarf_frame_info(frame, NULL, NULL, NULL);
	int undefined = ra >= 0 && dwarf_frame_register(frame, ra, ops_mem, &ops, &nops) == 0 &&
			nops == 0 && ops == ops_mem;
	free(frame);
	return undefined;
}

/* ---- the walk by libdw ---- */

struct walk {
	struct cs_symbolizer *s;
	struct aspace *a;
	struct cs_uframe *out;
	size_t cap, n, max;
	int overflow;
	uint64_t last_pc; /* absolute, already adjusted into the call instruction */
};

static int rule_kind(struct aspace *a, uint64_t pc);
enum { R_COMPLEX = 1, R_RSP = 2, R_RBP = 3, R_END = 4, R_FP = 5 };

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct walk *w = arg;
	Dwarf_Addr pc;
	bool activation;
	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	/* A return address points after the call: step back into the call instruction
	 * so that the frame resolves to the calling line (the one place this is done). */
	if (!activation && pc > 0)
		pc--;
	if (w->n >= w->cap || w->n >= w->max) {
		w->overflow = 1;
		return DWARF_CB_ABORT;
	}
	/* libdw followed the frame pointer where there was no CFI: check as the fast
	 * path does, so that both give the same stack. */
	if (w->n > 0 && !activation && rule_kind(w->a, w->last_pc) == R_FP &&
	    !cs_callsite_ok(w->s, w->a, pc + 1))
		return DWARF_CB_ABORT;
	/* Absolute for now: cs_sym_unwind_ex makes them module-relative at the end. */
	struct cs_uframe f = {CS_SYM_NOMOD, pc};
	w->out[w->n++] = f;
	w->a->pass->frames = w->n;
	w->last_pc = pc;
	return DWARF_CB_OK;
}

/* ---- the fast path: per-pc rules computed once from libdw's CFI ----
 *
 * Nearly every x86-64 frame follows one of a few rules: CFA = rsp + k or rbp + k, the
 * return address saved at CFA + r, rbp either unchanged or saved at CFA + b, and at
 * the outermost frame the return address undefined. Code without any CFI gets the
 * frame-pointer rule, as in libdw's fallback (CFA = rbp + 16, with the checks below).
 * The rule of each pc is asked of libdw once and packed into 64 bits; a stack is then
 * walked with a few loads per frame. A pc whose rule is anything else (PLT stubs,
 * signal frames, realigned stacks) sends the whole sample to libdw's own unwinder, so
 * the result is always the one libdw would give. */

#define OFF_BITS 18
#define OFF_MAX ((1 << (OFF_BITS - 1)) - 1)

static uint64_t pack_rule(int kind, int64_t cfa, int64_t ra, int rbp_same, int64_t rbp)
{
	uint64_t m = (1u << OFF_BITS) - 1;
	return (uint64_t)kind | ((uint64_t)rbp_same << 3) | (((uint64_t)cfa & m) << 4) |
	       (((uint64_t)ra & m) << (4 + OFF_BITS)) | (((uint64_t)rbp & m) << (4 + 2 * OFF_BITS));
}

static int64_t field(uint64_t r, int shift)
{
	int64_t v = (int64_t)((r >> shift) & ((1u << OFF_BITS) - 1));
	return v >= (1 << (OFF_BITS - 1)) ? v - (1 << OFF_BITS) : v;
}

/* Offset from the CFA of a register saved by an "offset(N)" rule, or 0 on failure. */
static int saved_at(const Dwarf_Op *ops, size_t n, int64_t *off)
{
	if (n < 1 || ops[0].atom != DW_OP_call_frame_cfa)
		return 0;
	if (n == 1) {
		*off = 0;
		return 1;
	}
	if (n == 2 && ops[1].atom == DW_OP_plus_uconst) {
		*off = (int64_t)ops[1].number;
		return 1;
	}
	if (n == 3 && (ops[1].atom == DW_OP_consts || ops[1].atom == DW_OP_const1s ||
		       ops[1].atom == DW_OP_const2s || ops[1].atom == DW_OP_const4s) &&
	    ops[2].atom == DW_OP_plus) {
		*off = (int64_t)ops[1].number;
		return 1;
	}
	return 0;
}

static uint64_t compute_rule(struct aspace *a, uint64_t pc)
{
	uint64_t rule = pack_rule(R_COMPLEX, 0, 0, 0, 0);
	Dwarf_Frame *frame;
	if (cfi_frame(a, pc, &frame) < 0)
		return pack_rule(R_FP, 16, -8, 0, -16);
	bool signal = false;
	int ra = dwarf_frame_info(frame, NULL, NULL, &signal);
	Dwarf_Op *cfa_ops, mem[3], *ops;
	size_t ncfa, n;
	if (signal || ra != 16 || dwarf_frame_cfa(frame, &cfa_ops, &ncfa) != 0 || ncfa != 1 ||
	    cfa_ops[0].atom != DW_OP_bregx || (cfa_ops[0].number != 7 && cfa_ops[0].number != 6))
		goto done;
	int kind = cfa_ops[0].number == 7 ? R_RSP : R_RBP;
	int64_t cfa_off = (int64_t)cfa_ops[0].number2, ra_off = 0, rbp_off = 0;
	int rbp_same = 0;
	if (dwarf_frame_register(frame, ra, mem, &ops, &n) != 0)
		goto done;
	if (n == 0 && ops == mem) {
		rule = pack_rule(R_END, 0, 0, 0, 0); /* return address undefined: the root */
		goto done;
	}
	if (!saved_at(ops, n, &ra_off) || dwarf_frame_register(frame, 6, mem, &ops, &n) != 0)
		goto done;
	if (n == 0 && !ops)
		rbp_same = 1;
	else if (!saved_at(ops, n, &rbp_off))
		goto done;
	if (cfa_off < -OFF_MAX || cfa_off > OFF_MAX || ra_off < -OFF_MAX || ra_off > OFF_MAX ||
	    rbp_off < -OFF_MAX || rbp_off > OFF_MAX)
		goto done;
	rule = pack_rule(kind, cfa_off, ra_off, rbp_same, rbp_off);
done:
	free(frame);
	return rule;
}

static uint64_t get_rule(struct aspace *a, uint64_t pc)
{
	int added;
	uint64_t *slot = cs_map64_put(&a->rules, pc, 0, &added);
	if (added)
		*slot = compute_rule(a, pc);
	return *slot;
}

static int rule_kind(struct aspace *a, uint64_t pc)
{
	return (int)(get_rule(a, pc) & 7);
}

/* 1 complete, 0 truncated, -1 for libdw to do it. Frames are absolute. */
static int fast_unwind(struct cs_symbolizer *s, struct aspace *a, const uint64_t *regs,
		       struct cs_uframe *out, size_t cap, size_t max, size_t *n, int *depth)
{
	uint64_t pc = regs[16], sp = regs[7], bp = regs[6];
	int bp_known = 1;
	size_t k = 0;
	for (int first = 1;; first = 0) {
		uint64_t look = first ? pc : pc - 1;
		if (k >= cap || k >= max) {
			*depth = 1;
			*n = k;
			return 0;
		}
		out[k].module = CS_SYM_NOMOD;
		out[k].addr = look;
		a->pass->frames = ++k;
		uint64_t rule = get_rule(a, look);
		int kind = (int)(rule & 7);
		if (kind == R_COMPLEX)
			return -1;
		if (kind == R_END) {
			*n = k;
			return 1;
		}
		if ((kind == R_RBP || kind == R_FP) && !bp_known)
			return -1;
		uint64_t ra;
		if (kind == R_FP) {
			/* libdw's fallback: [rbp] = the caller's rbp, [rbp + 8] = the return
			 * address, and the chain must go up the stack. */
			uint64_t prev;
			if (bp == 0 || bp + 16 <= sp || !read_copy(a, bp + 8, &ra)) {
				*n = k;
				return 0;
			}
			if (!read_copy(a, bp, &prev))
				prev = 0;
			if (ra == 0 || !cs_callsite_ok(s, a, ra)) {
				*n = k;
				return 0;
			}
			sp = bp + 16;
			bp = prev;
			pc = ra;
			continue;
		}
		uint64_t cfa = (kind == R_RSP ? sp : bp) + (uint64_t)field(rule, 4);
		if (!read_copy(a, cfa + (uint64_t)field(rule, 4 + OFF_BITS), &ra)) {
			*n = k;
			return 0; /* the copy ends here */
		}
		if (!((rule >> 3) & 1))
			bp_known = read_copy(a, cfa + (uint64_t)field(rule, 4 + 2 * OFF_BITS), &bp);
		sp = cfa;
		pc = ra;
		if (pc == 0) {
			*n = k;
			return 0;
		}
	}
}

/* One unwind of the stack in buf (len bytes from regs[7]); frames absolute. */
int cs_unwind_buf(struct cs_symbolizer *s, struct aspace *a, pid_t tid, const uint64_t *regs,
		      const uint8_t *buf, size_t len, struct cs_uframe *out, size_t cap, size_t *n,
		      int *depth)
{
	size_t max = s->o.max_frames ? s->o.max_frames : 1024;
	a->regs = regs;
	a->stack = buf;
	a->stack_len = buf ? len : 0;
	a->sp = regs[7];
	a->pass->ran_out = 0;
	a->pass->frames = 0;
	a->pass->live_frame = SIZE_MAX;
	a->pass->max_read = 0;
	*depth = 0;
	int fr = fast_unwind(s, a, regs, out, cap, max, n, depth);
	if (fr >= 0 && !s->check_unwind) {
		s->fast++;
		return fr ? CS_UNWIND_COMPLETE : CS_UNWIND_TRUNCATED;
	}
	size_t nfast = *n;
	int fast_depth = *depth;
	struct cs_uframe fast[64];
	if (fr >= 0)
		memcpy(fast, out, CS_MIN(nfast, (size_t)64) * sizeof(*fast));
	s->slow++;
	a->pass->ran_out = 0;
	a->pass->frames = 0;
	a->pass->live_frame = SIZE_MAX;
	a->pass->max_read = 0;
	struct walk w = {s, a, out, cap, 0, max, 0, 0};
	int r = dwfl_getthread_frames(a->dwfl, tid, frame_cb, &w);
	*n = w.n;
	*depth = w.overflow;
	if (w.n == 0)
		return -1;
	/* libdwfl also ends cleanly when it cannot read a return address (the copy ran
	 * out), so a clean end alone proves nothing: the stack is complete only if the
	 * last frame is an outermost one, whose CFI says the return address is
	 * undefined (_start, clone3, ...). */
	int result = r == 0 && !w.overflow && outermost(a, w.last_pc) ? CS_UNWIND_COMPLETE
									: CS_UNWIND_TRUNCATED;
	if (fr >= 0 && s->check_unwind) {
		/* Check mode: the fast path must agree with libdw, frame for frame. */
		int same = (fr ? CS_UNWIND_COMPLETE : CS_UNWIND_TRUNCATED) == result &&
			   nfast == w.n && fast_depth == w.overflow;
		for (size_t i = 0; same && i < CS_MIN(nfast, (size_t)64); i++)
			same = fast[i].addr == out[i].addr;
		if (!same) {
			s->mismatches++;
			cs_warn("fast unwinder disagrees with libdw at pc %#llx: %zu vs %zu frames, "
				"%s vs %s",
				(unsigned long long)regs[16], nfast, w.n, fr ? "complete" : "truncated",
				result == CS_UNWIND_COMPLETE ? "complete" : "truncated");
		}
	}
	return result;
}

/* ---- unwinding a sample ---- */

/* Does the stack (absolute frames) go through a module whose file could not be
 * opened? Its first such module into *mod. */
static int through_unreadable(struct cs_symbolizer *s, struct aspace *a,
			      const struct cs_uframe *f, size_t n, uint32_t *mod)
{
	for (size_t i = 0; i < n; i++) {
		const struct amap *m = cs_space_map(a, f[i].addr);
		if (m && s->mods.v[m->mod]->fd < 0) {
			*mod = m->mod;
			return 1;
		}
	}
	return 0;
}

int cs_sym_unwind_ex(struct cs_symbolizer *s, pid_t pid, pid_t tid,
		     const uint64_t regs[CS_DWARF_NREGS], const uint8_t *stack, size_t stack_len,
		     int live, struct cs_uframe *out, size_t cap, size_t *n,
		     struct cs_unwind_info *info)
{
	struct cs_unwind_info dummy;
	struct unwind_pass pass;
	int depth = 0, result = CS_UNWIND_TRUNCATED, ran_out = 0;
	if (!info)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	info->end = CS_END_OTHER;
	info->module = CS_SYM_NOMOD;
	*n = 0;
	struct aspace *a = cs_space_get(s, pid);
	if (!a) {
		if (cs_sym_proc_load(s, pid) < 0 || !(a = cs_space_get(s, pid)))
			goto leaf_only;
	}
	if (a->dirty || a->rebuild || !a->dwfl) {
		if (report_modules(s, a) < 0)
			goto leaf_only;
	}
	a->pass = &pass;
	pass.copy_end = regs[7] + (stack ? stack_len : 0);
	result = cs_unwind_buf(s, a, tid, regs, stack, stack_len, out, cap, n, &depth);
	if (result < 0)
		goto leaf_only;
	ran_out = result != CS_UNWIND_COMPLETE && !depth && pass.ran_out;
	if (ran_out && live && stack && stack_len >= 64)
		result = cs_live_continue(s, a, tid, regs, stack, stack_len, out, cap, n, &depth,
				       &ran_out, info);
	a->pass = NULL;
	/* Why it ended, for the summary's hints. A stack through code whose file could
	 * not be read (no CFI: only frame pointers) is blamed on that file first. */
	if (result == CS_UNWIND_COMPLETE)
		info->end = CS_END_ROOT;
	else if (depth)
		info->end = CS_END_DEPTH;
	else if (through_unreadable(s, a, out, *n, &info->module))
		info->end = CS_END_NOFILE;
	else if (ran_out || info->live_refused)
		info->end = CS_END_COPY;
	else if (*n && cs_space_jit(a, out[*n - 1].addr))
		info->end = CS_END_JIT;
	/* Absolute addresses -> module-relative ones. */
	for (size_t i = 0; i < *n; i++) {
		uint64_t pc = out[i].addr;
		const struct amap *m = cs_space_map(a, pc);
		if (m) {
			out[i].module = m->mod;
			out[i].addr = pc - m->bias;
		} else if (cs_space_jit(a, pc)) {
			out[i].module = CS_SYM_JIT;
		}
	}
	return result;

leaf_only:
	if (a)
		a->pass = NULL;
	/* At least the interrupted instruction is known. */
	if (cap) {
		out[0] = cs_sym_locate(s, pid, regs[16]);
		*n = 1;
		if (a && cs_space_jit(a, regs[16]))
			out[0].module = CS_SYM_JIT;
	}
	return CS_UNWIND_TRUNCATED;
}

int cs_sym_unwind(struct cs_symbolizer *s, pid_t pid, pid_t tid,
		  const uint64_t regs[CS_DWARF_NREGS], const uint8_t *stack, size_t stack_len,
		  struct cs_uframe *out, size_t cap, size_t *n)
{
	int r = cs_sym_unwind_ex(s, pid, tid, regs, stack, stack_len, 0, out, cap, n, NULL);
	for (size_t i = 0; i < *n; i++)
		if (out[i].module == CS_SYM_JIT)
			out[i].module = CS_SYM_NOMOD;
	return r;
}

/* ---- lifetime ---- */

struct cs_symbolizer *cs_symbolizer_new(const struct cs_symbolizer_opts *o)
{
	struct cs_symbolizer *s = cs_xcalloc(1, sizeof(*s));
	s->o = *o;
	elf_version(EV_CURRENT); /* libelf refuses to work until told its version */
	const char *check = getenv("CSAMPLER_UNWIND_CHECK");
	s->check_unwind = check && *check && strcmp(check, "0");
	/* Separate debug info: next to the file, in .debug/, under /usr/lib/debug (by
	 * build-id and by path), then the user's directories. */
	s->debug_cache = cs_cache_subdir("debug"); /* NULL with CSAMPLER_NO_CACHE */
	size_t len = 64 + (s->debug_cache ? strlen(s->debug_cache) + 1 : 0);
	for (size_t i = 0; i < o->n_debug_dirs; i++)
		len += strlen(o->debug_dirs[i]) + 1;
	s->debuginfo_path = cs_xmalloc(len);
	/* Uncompressed copies first (debugcache.c), then libdwfl's usual places. */
	snprintf(s->debuginfo_path, len, "%s%s:.debug:/usr/lib/debug",
		 s->debug_cache ? s->debug_cache : "", s->debug_cache ? ":" : "");
	for (size_t i = 0; i < o->n_debug_dirs; i++) {
		strcat(s->debuginfo_path, ":");
		strcat(s->debuginfo_path, o->debug_dirs[i]);
	}
	s->unwind_cb.find_elf = dwfl_build_id_find_elf;
	s->unwind_cb.find_debuginfo = cs_find_debuginfo; /* never blocks on a FIFO */
	s->unwind_cb.debuginfo_path = &s->debuginfo_path;
	s->offline_cb.find_elf = dwfl_build_id_find_elf;
	s->offline_cb.find_debuginfo = cs_find_debuginfo;
	s->offline_cb.section_address = dwfl_offline_section_address;
	s->offline_cb.debuginfo_path = &s->debuginfo_path;
	cs_debugfind_use_path(s->debuginfo_path);
	s->kmodule = CS_NONE;
	cs_map64_init(&s->mod_ix);
	cs_map64_init(&s->space_ix);
	return s;
}

void cs_symbolizer_free(struct cs_symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->spaces.n; i++)
		cs_space_free(s->spaces.v[i]);
	cs_symmods_free(s);
	for (size_t i = 0; i < s->roots.n; i++)
		close(s->roots.v[i].fd);
	CS_VEC_FREE(s->roots);
	CS_VEC_FREE(s->spaces);
	cs_map64_release(&s->mod_ix);
	cs_map64_release(&s->space_ix);
	cs_kernel_free(s);
	free(s->debuginfo_path);
	free(s->debug_cache);
	free(s->live);
	free(s);
}
