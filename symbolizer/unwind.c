/* unwind.c - per-process address spaces and DWARF CFI unwinding of stack copies.
 *
 * Each process gets one long-lived Dwfl: modules are reported once with the file
 * descriptor the registry holds, and the thread state is served from the sample
 * being unwound (registers and stack copy), so libdw caches CFI across samples. */
#include "internal.h"
#include "util/proc.h"

#include <dwarf.h>

#include <errno.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- address spaces ---- */

static struct aspace *space_get(struct cs_symbolizer *s, pid_t pid)
{
	uint64_t *slot = cs_map64_get(&s->space_ix, (uint64_t)pid);
	return slot ? s->spaces.v[*slot] : NULL;
}

static struct aspace *space_new(struct cs_symbolizer *s, pid_t pid)
{
	struct aspace *a = space_get(s, pid);
	if (a) {
		/* pid reuse or re-exec: keep the object, forget the mappings */
		a->maps.n = 0;
		a->rebuild = 1;
		return a;
	}
	a = cs_xcalloc(1, sizeof(*a));
	cs_map64_init(&a->rules);
	a->pid = pid;
	*cs_map64_put(&s->space_ix, (uint64_t)pid, s->spaces.n, NULL) = s->spaces.n;
	CS_VEC_PUSH(s->spaces, a);
	return a;
}

static void space_retire_dwfl(struct aspace *a)
{
	cs_map64_release(&a->rules); /* rules came from the modules of that Dwfl */
	cs_map64_init(&a->rules);
	if (a->dwfl) {
		CS_VEC_PUSH(a->retired, a->dwfl);
		a->dwfl = NULL;
	}
	a->attached = 0;
	for (size_t i = 0; i < a->maps.n; i++)
		a->maps.v[i].reported = a->maps.v[i].in_dwfl = 0;
	a->dirty = a->maps.n > 0;
	a->rebuild = 0;
}

/* Insert a mapping, cutting away whatever it overlaps (a new mmap replaces). */
static void space_insert(struct aspace *a, const struct amap *nm)
{
	size_t n = a->maps.n, k = 0;
	struct amap *v = a->maps.v;
	CS_VEC(struct amap) out = {0};
	for (size_t i = 0; i < n; i++) {
		struct amap m = v[i];
		if (m.end <= nm->start || m.start >= nm->end) {
			CS_VEC_PUSH(out, m);
			continue;
		}
		if (m.reported)
			a->rebuild = 1; /* the Dwfl knows a module that is (partly) gone */
		if (m.start < nm->start) {
			struct amap left = m;
			left.end = nm->start;
			CS_VEC_PUSH(out, left);
		}
		if (m.end > nm->end) {
			struct amap right = m;
			right.pgoff += nm->end - m.start;
			right.start = nm->end;
			CS_VEC_PUSH(out, right);
		}
	}
	/* place the new one in order */
	for (k = 0; k < out.n && out.v[k].start < nm->start; k++)
		;
	CS_GROW(out.v, out.cap, out.n + 1);
	memmove(out.v + k + 1, out.v + k, (out.n - k) * sizeof(*out.v));
	out.v[k] = *nm;
	out.n++;
	free(a->maps.v);
	a->maps.v = out.v;
	a->maps.n = out.n;
	a->maps.cap = out.cap;
	a->dirty = 1;
}

static const struct amap *find_map(const struct aspace *a, uint64_t addr);

static void add_mapping(struct cs_symbolizer *s, struct aspace *a, const struct cs_mapping *m)
{
	if (!(m->prot & PROT_EXEC) || !m->len)
		return;
	if (!m->path[0] || (m->path[0] == '[' && strcmp(m->path, "[vdso]")))
		return; /* anonymous memory (JIT code, trampolines): no file to read */
	if (!strncmp(m->path, "//anon", 6) || !strncmp(m->path, "/memfd:", 7))
		return;
	struct amap am;
	am.start = m->start;
	am.end = m->start + m->len;
	am.pgoff = m->pgoff;
	am.mod = cs_symmod_get(s, a->pid, m);
	/* The same mapping seen again (a refresh from /proc): nothing changes. */
	const struct amap *old = find_map(a, am.start);
	if (old && old->start == am.start && old->end == am.end && old->pgoff == am.pgoff &&
	    old->mod == am.mod)
		return;
	am.bias = cs_symmod_bias(s->mods.v[am.mod], m);
	am.reported = am.in_dwfl = 0;
	if (a->exe_pending && !s->mods.v[am.mod]->vdso) {
		s->mods.v[am.mod]->is_main = 1;
		a->exe_pending = 0;
	}
	space_insert(a, &am);
}

struct load_ctx {
	struct cs_symbolizer *s;
	struct aspace *a;
};

static void load_one(void *ctx, const struct cs_proc_map *pm);

int cs_sym_proc_load(struct cs_symbolizer *s, pid_t pid)
{
	char path[64], exe[4096];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	if (access(path, R_OK) < 0)
		return -1;
	struct aspace *a = space_new(s, pid);
	a->exe_pending = 0;
	struct load_ctx lc = {s, a};
	if (cs_proc_maps(pid, load_one, &lc) < 0)
		return -1;
	/* Mark the program itself. */
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		for (size_t i = 0; i < a->maps.n; i++) {
			struct symmod *m = s->mods.v[a->maps.v[i].mod];
			if (!strcmp(m->path, exe) || !strcmp(m->file_name, exe))
				m->is_main = 1;
		}
	}
	return 0;
}

int cs_sym_proc_refresh(struct cs_symbolizer *s, pid_t pid)
{
	struct aspace *a = space_get(s, pid);
	if (!a)
		return cs_sym_proc_load(s, pid);
	struct load_ctx lc = {s, a};
	return cs_proc_maps(pid, load_one, &lc);
}

static void load_one(void *ctx, const struct cs_proc_map *pm)
{
	struct load_ctx *lc = ctx;
	struct cs_mapping m;
	m.start = pm->start;
	m.len = pm->end - pm->start;
	m.pgoff = pm->pgoff;
	m.maj = pm->maj;
	m.min = pm->min;
	m.ino = pm->ino;
	m.prot = pm->prot;
	m.path = pm->path;
	add_mapping(lc->s, lc->a, &m);
}

void cs_sym_proc_fork(struct cs_symbolizer *s, pid_t ppid, pid_t pid)
{
	struct aspace *parent = space_get(s, ppid);
	struct aspace *a = space_new(s, pid);
	if (parent && parent != a) {
		for (size_t i = 0; i < parent->maps.n; i++) {
			struct amap m = parent->maps.v[i];
			m.reported = 0;
			CS_VEC_PUSH(a->maps, m);
		}
		a->dirty = 1;
	}
}

void cs_sym_proc_exec(struct cs_symbolizer *s, pid_t pid)
{
	struct aspace *a = space_get(s, pid);
	if (!a)
		a = space_new(s, pid);
	a->maps.n = 0;
	space_retire_dwfl(a);
	a->exe_pending = 1;
}

void cs_sym_proc_mmap(struct cs_symbolizer *s, pid_t pid, const struct cs_mapping *m)
{
	struct aspace *a = space_get(s, pid);
	if (!a)
		return; /* unknown process: it is loaded from /proc when first sampled */
	add_mapping(s, a, m);
}

int cs_sym_proc_known(struct cs_symbolizer *s, pid_t pid)
{
	return space_get(s, pid) != NULL;
}

static const struct amap *find_map(const struct aspace *a, uint64_t addr)
{
	size_t lo = 0, hi = a->maps.n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct amap *m = &a->maps.v[mid];
		if (addr < m->start)
			hi = mid;
		else if (addr >= m->end)
			lo = mid + 1;
		else
			return m;
	}
	return NULL;
}

struct cs_uframe cs_sym_locate(struct cs_symbolizer *s, pid_t pid, uint64_t addr)
{
	struct cs_uframe f = {CS_SYM_NOMOD, addr};
	struct aspace *a = space_get(s, pid);
	const struct amap *m = a ? find_map(a, addr) : NULL;
	if (m) {
		f.module = m->mod;
		f.addr = addr - m->bias;
	}
	return f;
}

/* ---- libdwfl state callbacks: the thread is the sample being unwound ---- */

static pid_t cb_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	return 0; /* threads are only ever asked for by id */
}

static bool cb_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	*thread_argp = arg;
	return true;
}

static int read_copy(const struct aspace *a, uint64_t addr, uint64_t *out)
{
	if (addr < a->sp || addr - a->sp > a->stack_len || a->stack_len - (addr - a->sp) < 8)
		return 0;
	memcpy(out, a->stack + (addr - a->sp), 8);
	return 1;
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
		space_retire_dwfl(a);
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
		if (dwfl_report_elf(a->dwfl, mod->path, mod->file_name, fd, m->bias, true))
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
	const struct amap *m = find_map(a, pc);
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

struct walk {
	struct cs_symbolizer *s;
	struct aspace *a;
	struct cs_uframe *out;
	size_t cap, n, max;
	int overflow;
	uint64_t last_pc; /* absolute, already adjusted into the call instruction */
};

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
	const struct amap *m = find_map(w->a, pc);
	struct cs_uframe f = {CS_SYM_NOMOD, pc};
	if (m) {
		f.module = m->mod;
		f.addr = pc - m->bias;
	}
	w->out[w->n++] = f;
	w->last_pc = pc;
	return DWARF_CB_OK;
}

/* ---- the fast path: per-pc rules computed once from libdw's CFI ----
 *
 * Nearly every x86-64 frame follows one of a few rules: CFA = rsp + k or rbp + k, the
 * return address saved at CFA + r, rbp either unchanged or saved at CFA + b, and at
 * the outermost frame the return address undefined. The rule of each pc is asked of
 * libdw once and packed into 64 bits; a stack is then walked with a few loads per
 * frame. A pc whose rule is anything else (PLT stubs, signal frames, realigned stacks,
 * no CFI) sends the whole sample to libdw's own unwinder, so the result is always the
 * one libdw would give. */

enum { R_COMPLEX = 1, R_RSP = 2, R_RBP = 3, R_END = 4 };
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
		return rule;
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

/* 1 complete, 0 truncated, -1 for libdw to do it. */
static int fast_unwind(struct aspace *a, const uint64_t *regs, struct cs_uframe *out,
		       size_t cap, size_t max, size_t *n)
{
	uint64_t pc = regs[16], sp = regs[7], bp = regs[6];
	int bp_known = 1;
	size_t k = 0;
	for (int first = 1;; first = 0) {
		uint64_t look = first ? pc : pc - 1;
		if (k >= cap || k >= max) {
			*n = k;
			return 0;
		}
		const struct amap *m = find_map(a, look);
		out[k].module = m ? m->mod : CS_SYM_NOMOD;
		out[k].addr = m ? look - m->bias : look;
		k++;
		int added;
		uint64_t *slot = cs_map64_put(&a->rules, look, 0, &added);
		if (added)
			*slot = compute_rule(a, look);
		uint64_t rule = *slot;
		int kind = (int)(rule & 7);
		if (kind == R_COMPLEX)
			return -1;
		if (kind == R_END) {
			*n = k;
			return 1;
		}
		if (kind == R_RBP && !bp_known)
			return -1;
		uint64_t cfa = (kind == R_RSP ? sp : bp) + (uint64_t)field(rule, 4);
		uint64_t ra;
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

int cs_sym_unwind(struct cs_symbolizer *s, pid_t pid, pid_t tid,
		  const uint64_t regs[CS_DWARF_NREGS], const uint8_t *stack, size_t stack_len,
		  struct cs_uframe *out, size_t cap, size_t *n)
{
	struct aspace *a = space_get(s, pid);
	*n = 0;
	if (!a) {
		if (cs_sym_proc_load(s, pid) < 0 || !(a = space_get(s, pid)))
			goto leaf_only;
	}
	if (a->dirty || a->rebuild || !a->dwfl) {
		if (report_modules(s, a) < 0)
			goto leaf_only;
	}
	a->regs = regs;
	a->stack = stack;
	a->stack_len = stack ? stack_len : 0;
	a->sp = regs[7];
	size_t max = s->o.max_frames ? s->o.max_frames : 1024;
	int fr = fast_unwind(a, regs, out, cap, max, n);
	if (fr >= 0 && !s->check_unwind) {
		s->fast++;
		return fr ? CS_UNWIND_COMPLETE : CS_UNWIND_TRUNCATED;
	}
	size_t nfast = *n;
	struct cs_uframe fast[64];
	if (fr >= 0)
		memcpy(fast, out, CS_MIN(nfast, (size_t)64) * sizeof(*fast));
	s->slow++;
	struct walk w = {s, a, out, cap, 0, max, 0, 0};
	int r = dwfl_getthread_frames(a->dwfl, tid, frame_cb, &w);
	*n = w.n;
	if (w.n == 0)
		goto leaf_only;
	/* libdwfl also ends cleanly when it cannot read a return address (the copy ran
	 * out), so a clean end alone proves nothing: the stack is complete only if the
	 * last frame is an outermost one, whose CFI says the return address is
	 * undefined (_start, clone3, ...). */
	int result = r == 0 && !w.overflow && outermost(a, w.last_pc) ? CS_UNWIND_COMPLETE
									: CS_UNWIND_TRUNCATED;
	if (fr >= 0 && s->check_unwind) {
		/* Check mode: the fast path must agree with libdw, frame for frame. */
		int same = (fr ? CS_UNWIND_COMPLETE : CS_UNWIND_TRUNCATED) == result && nfast == w.n;
		for (size_t i = 0; same && i < CS_MIN(nfast, (size_t)64); i++)
			same = fast[i].module == out[i].module && fast[i].addr == out[i].addr;
		if (!same) {
			s->mismatches++;
			cs_warn("fast unwinder disagrees with libdw at pc %#llx: %zu vs %zu frames, "
				"%s vs %s",
				(unsigned long long)regs[16], nfast, w.n, fr ? "complete" : "truncated",
				result == CS_UNWIND_COMPLETE ? "complete" : "truncated");
		}
	}
	return result;

leaf_only:
	/* At least the interrupted instruction is known. */
	if (cap) {
		out[0] = cs_sym_locate(s, pid, regs[16]);
		*n = 1;
	}
	return CS_UNWIND_TRUNCATED;
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
	const char *no = getenv("CSAMPLER_NO_CACHE");
	if (!(no && *no && strcmp(no, "0"))) {
		char *cache = cs_cache_dir();
		if (cache) {
			s->debug_cache = cs_xasprintf("%s/debug", cache);
			if (mkdir(s->debug_cache, 0700) < 0 && errno != EEXIST) {
				free(s->debug_cache);
				s->debug_cache = NULL;
			}
			free(cache);
		}
	}
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
	s->unwind_cb.find_debuginfo = dwfl_standard_find_debuginfo;
	s->unwind_cb.debuginfo_path = &s->debuginfo_path;
	s->offline_cb.find_elf = dwfl_build_id_find_elf;
	s->offline_cb.find_debuginfo = dwfl_standard_find_debuginfo;
	s->offline_cb.section_address = dwfl_offline_section_address;
	s->offline_cb.debuginfo_path = &s->debuginfo_path;
	s->kmodule = CS_NONE;
	cs_map64_init(&s->mod_ix);
	cs_map64_init(&s->space_ix);
	return s;
}

void cs_symbolizer_free(struct cs_symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->spaces.n; i++) {
		struct aspace *a = s->spaces.v[i];
		if (a->dwfl)
			dwfl_end(a->dwfl);
		for (size_t j = 0; j < a->retired.n; j++)
			dwfl_end(a->retired.v[j]);
		CS_VEC_FREE(a->retired);
		CS_VEC_FREE(a->maps);
		cs_map64_release(&a->rules);
		free(a);
	}
	cs_symmods_free(s);
	CS_VEC_FREE(s->spaces);
	cs_map64_release(&s->mod_ix);
	cs_map64_release(&s->space_ix);
	cs_kernel_free(s);
	free(s->debuginfo_path);
	free(s->debug_cache);
	free(s);
}
