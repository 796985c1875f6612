/* pyframes.c - reading CPython's frames from a target's memory (see pyframes.h). */
#include "pyframes.h"
#include "util/proc.h"
#include "util/util.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* Offsets into CPython's structures for one minor version on x86-64 (from its
 * Include/internal headers: pycore_runtime.h, pycore_interp.h, cpython/pystate.h,
 * pycore_frame.h, cpython/code.h, cpython/unicodeobject.h). */
struct pylayout {
	unsigned major, minor;
	/* _PyRuntimeState */
	unsigned rt_interp_head, rt_tstate_current;
	/* PyInterpreterState */
	unsigned is_next, is_tstate_head;
	/* PyThreadState (ts_size: bytes read, covering every field used) */
	unsigned ts_next, ts_cframe, ts_native_tid, ts_size;
	/* _PyCFrame */
	unsigned cf_current_frame;
	/* _PyInterpreterFrame */
	unsigned fr_code, fr_previous, fr_prev_instr, fr_is_entry, fr_owner, fr_size;
	/* PyCodeObject */
	unsigned co_ob_size, co_firstlineno, co_firsttraceable, co_linetable, co_filename, co_qualname,
		co_code, co_size;
	/* a run of immutable PyCodeObject fields (line, names, tables) that tells
	 * whether an address still holds the code object decoded from it */
	unsigned co_sig_off, co_sig_len;
	/* PyBytesObject, PyASCIIObject / PyCompactUnicodeObject */
	unsigned by_size, by_sval, str_length, str_state, str_ascii_data, str_utf8_len,
		str_utf8, str_compact_data;
};

static const struct pylayout layouts[] = {
	{
		.major = 3, .minor = 11,
		.rt_interp_head = 40, .rt_tstate_current = 576,
		.is_next = 0, .is_tstate_head = 16,
		.ts_next = 8, .ts_cframe = 56, .ts_native_tid = 160, .ts_size = 168,
		.cf_current_frame = 8,
		.fr_code = 32, .fr_previous = 48, .fr_prev_instr = 56, .fr_is_entry = 68,
		.fr_owner = 69, .fr_size = 72,
		.co_ob_size = 16, .co_firstlineno = 72, .co_firsttraceable = 168, .co_linetable = 136,
		.co_filename = 112, .co_qualname = 128, .co_code = 184, .co_size = 184,
		.co_sig_off = 72, .co_sig_len = 72,
		.by_size = 16, .by_sval = 32,
		.str_length = 16, .str_state = 32, .str_ascii_data = 48, .str_utf8_len = 48,
		.str_utf8 = 56, .str_compact_data = 72,
	},
};

#define OB_TYPE 8	    /* PyObject.ob_type */
#define MAX_PY_FRAMES 4096  /* per sample */
#define MAX_THREADS 100000  /* thread states walked per lookup */
#define MAX_STR 4096	    /* bytes of a name or file name */
#define MAX_LINETABLE (1u << 20)
#define SIG_MAX 96
#define PROBE_TRIES 8

/* One _PyInterpreterFrame as read, before its code object is decoded. */
struct rawframe {
	uint64_t code, prev;
	uint8_t owner, entry;
	uint8_t sig[SIG_MAX];
};

enum { P_UNKNOWN = 0, P_READY = 1, P_NO = -1 };

/* A code object of one process, decoded once. */
struct pycode {
	char *qualname, *file;
	int firstlineno, firsttraceable;
	uint64_t code_start; /* address of its first instruction in the process */
	uint64_t code_len;   /* bytes of bytecode */
	uint8_t sig[SIG_MAX]; /* immutable fields: the same address holds the same code */
	uint8_t *linetable;
	uint32_t linetable_len;
};

struct pyproc {
	pid_t pid;
	int state;
	int probes; /* times proc_probe ran */
	int wait;   /* samples to let pass before probing again */
	const struct pylayout *L;
	uint64_t runtime;			       /* address of _PyRuntime */
	uint64_t code_type, unicode_type, bytes_type; /* type objects, for validation */
	struct cs_map64 tstate;			       /* tid -> thread state address */
	struct cs_map64 code;			       /* code object address -> index in codes */
};

struct pyframe_id {
	uint32_t code; /* index into codes */
	uint32_t line;
};

struct cs_py {
	struct cs_symbolizer *sym;
	struct cs_map64 is_eval; /* (module, addr) key -> 1 eval frame, 2 other */
	CS_VEC(struct pyproc *) procs;
	struct cs_map64 proc_ix; /* pid -> index into procs */
	CS_VEC(struct pycode) codes;
	CS_VEC(struct pyframe_id) frames;
	struct cs_index frame_ix;
	const struct pyframe_id *key;
	struct cs_py_stats st;
	int active; /* some process runs a supported interpreter */
	char note[256];
	/* scratch for one sample */
	struct cs_uframe py[MAX_PY_FRAMES];
	struct rawframe raw[MAX_PY_FRAMES];
	int gil;	/* the thread read holds the GIL */
	long leaf_code; /* code index of the innermost Python frame read, or -1 */
	uint32_t group_end[MAX_PY_FRAMES]; /* group k is py[group_end[k-1]..group_end[k]) */
	struct cs_uframe *tmp;
	size_t tmp_cap;
};

struct cs_py *cs_py_new(struct cs_symbolizer *sym)
{
	struct cs_py *py = cs_xcalloc(1, sizeof(*py));
	py->sym = sym;
	cs_map64_init(&py->is_eval);
	cs_map64_init(&py->proc_ix);
	cs_index_init(&py->frame_ix);
	return py;
}

static void proc_free(struct pyproc *pp)
{
	if (!pp)
		return;
	cs_map64_release(&pp->tstate);
	cs_map64_release(&pp->code);
	free(pp);
}

void cs_py_free(struct cs_py *py)
{
	if (!py)
		return;
	for (size_t i = 0; i < py->procs.n; i++)
		proc_free(py->procs.v[i]);
	CS_VEC_FREE(py->procs);
	cs_map64_release(&py->proc_ix);
	cs_map64_release(&py->is_eval);
	for (size_t i = 0; i < py->codes.n; i++) {
		free(py->codes.v[i].qualname);
		free(py->codes.v[i].file);
		free(py->codes.v[i].linetable);
	}
	CS_VEC_FREE(py->codes);
	CS_VEC_FREE(py->frames);
	cs_index_release(&py->frame_ix);
	free(py->tmp);
	free(py);
}

/* ---- reading the target ---- */

static int rd(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	if (!addr)
		return -1;
	struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};
	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

static uint64_t u64_at(const uint8_t *b, unsigned off)
{
	uint64_t v;
	memcpy(&v, b + off, 8);
	return v;
}

static uint32_t u32_at(const uint8_t *b, unsigned off)
{
	uint32_t v;
	memcpy(&v, b + off, 4);
	return v;
}

/* The UTF-8 text of a str object at addr, or NULL. */
static char *read_str(const struct pyproc *pp, uint64_t addr)
{
	const struct pylayout *L = pp->L;
	uint8_t h[80];
	if (rd(pp->pid, addr, h, sizeof(h)) < 0 || u64_at(h, OB_TYPE) != pp->unicode_type)
		return NULL;
	uint64_t len = u64_at(h, L->str_length);
	uint32_t state = u32_at(h, L->str_state);
	unsigned kind = (state >> 2) & 7, compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
	if (!compact || len > MAX_STR)
		return NULL; /* code names and file names are compact */
	if (ascii) {
		char *s = cs_xmalloc(len + 1);
		if (rd(pp->pid, addr + L->str_ascii_data, s, len) < 0) {
			free(s);
			return NULL;
		}
		s[len] = 0;
		return s;
	}
	uint64_t ulen = u64_at(h, L->str_utf8_len), utf8 = u64_at(h, L->str_utf8);
	if (utf8 && ulen <= MAX_STR * 4) {
		char *s = cs_xmalloc(ulen + 1);
		if (rd(pp->pid, utf8, s, ulen) < 0) {
			free(s);
			return NULL;
		}
		s[ulen] = 0;
		return s;
	}
	if (kind != 1 && kind != 2 && kind != 4)
		return NULL;
	uint8_t *raw = cs_xmalloc(len * kind + 1);
	if (rd(pp->pid, addr + L->str_compact_data, raw, len * kind) < 0) {
		free(raw);
		return NULL;
	}
	char *s = cs_xmalloc(len * 4 + 1), *o = s;
	for (uint64_t i = 0; i < len; i++) {
		uint32_t c = kind == 1 ? raw[i] : kind == 2 ? ((uint16_t *)raw)[i] : ((uint32_t *)raw)[i];
		if (c < 0x80) {
			*o++ = (char)c;
		} else if (c < 0x800) {
			*o++ = (char)(0xc0 | c >> 6);
			*o++ = (char)(0x80 | (c & 63));
		} else if (c < 0x10000) {
			*o++ = (char)(0xe0 | c >> 12);
			*o++ = (char)(0x80 | ((c >> 6) & 63));
			*o++ = (char)(0x80 | (c & 63));
		} else {
			*o++ = (char)(0xf0 | (c >> 18 & 7));
			*o++ = (char)(0x80 | ((c >> 12) & 63));
			*o++ = (char)(0x80 | ((c >> 6) & 63));
			*o++ = (char)(0x80 | (c & 63));
		}
	}
	*o = 0;
	free(raw);
	return s;
}

/* The code object at addr, decoded once per process; index into codes or -1. */
static long code_get(struct cs_py *py, struct pyproc *pp, uint64_t addr, const uint8_t *sig)
{
	const struct pylayout *L = pp->L;
	uint64_t *slot = cs_map64_get(&pp->code, addr);
	if (slot && !memcmp(py->codes.v[*slot].sig, sig, L->co_sig_len))
		return (long)*slot;
	uint8_t b[256];
	if (L->co_size > sizeof(b) || rd(pp->pid, addr, b, L->co_size) < 0 ||
	    u64_at(b, OB_TYPE) != pp->code_type)
		return -1;
	struct pycode c;
	memset(&c, 0, sizeof(c));
	memcpy(c.sig, b + L->co_sig_off, L->co_sig_len);
	if (memcmp(c.sig, sig, L->co_sig_len))
		return -1; /* changed since the signature was read */
	c.firstlineno = (int)u32_at(b, L->co_firstlineno);
	c.firsttraceable = (int)u32_at(b, L->co_firsttraceable);
	c.code_start = addr + L->co_code;
	c.code_len = 2 * u64_at(b, L->co_ob_size);
	uint64_t lt = u64_at(b, L->co_linetable);
	uint8_t lh[40];
	if (rd(pp->pid, lt, lh, L->by_sval) == 0 && u64_at(lh, OB_TYPE) == pp->bytes_type) {
		uint64_t n = u64_at(lh, L->by_size);
		if (n <= MAX_LINETABLE) {
			c.linetable = cs_xmalloc(n ? n : 1);
			if (rd(pp->pid, lt + L->by_sval, c.linetable, n) == 0 || !n) {
				c.linetable_len = (uint32_t)n;
			} else {
				free(c.linetable);
				c.linetable = NULL;
			}
		}
	}
	c.qualname = read_str(pp, u64_at(b, L->co_qualname));
	c.file = read_str(pp, u64_at(b, L->co_filename));
	if (!c.qualname || !c.file || !c.linetable) {
		free(c.qualname);
		free(c.file);
		free(c.linetable);
		return -1;
	}
	long idx = (long)py->codes.n;
	CS_VEC_PUSH(py->codes, c);
	*cs_map64_put(&pp->code, addr, (uint64_t)idx, NULL) = (uint64_t)idx; /* replaces */
	return idx;
}

/* ---- finding the interpreter of a process ---- */

struct elfsyms {
	uint64_t runtime, version, code_type, unicode_type, bytes_type;
	int dyn;	     /* ET_DYN: addresses move with the load address */
	uint64_t first_load; /* lowest PT_LOAD vaddr, page aligned */
};

static void elf_symbols(Elf *e, struct elfsyms *out)
{
	GElf_Ehdr eh;
	if (!gelf_getehdr(e, &eh))
		return;
	out->dyn = eh.e_type == ET_DYN;
	size_t nph = 0;
	elf_getphdrnum(e, &nph);
	out->first_load = UINT64_MAX;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && ph.p_vaddr < out->first_load)
			out->first_load = ph.p_vaddr & ~(uint64_t)4095;
	}
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB))
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || !sh.sh_entsize)
			continue;
		size_t n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym s;
			if (!gelf_getsym(d, (int)i, &s) || !s.st_value || s.st_shndx == SHN_UNDEF)
				continue;
			const char *name = elf_strptr(e, sh.sh_link, s.st_name);
			if (!name || (name[0] != '_' && name[0] != 'P'))
				continue;
			uint64_t *dst = !strcmp(name, "_PyRuntime")	 ? &out->runtime
					: !strcmp(name, "Py_Version")	 ? &out->version
					: !strcmp(name, "PyCode_Type")	 ? &out->code_type
					: !strcmp(name, "PyUnicode_Type") ? &out->unicode_type
					: !strcmp(name, "PyBytes_Type")	 ? &out->bytes_type
									 : NULL;
			if (dst && !*dst)
				*dst = s.st_value;
		}
	}
}

struct findmap {
	const char *path;
	struct stat st;
	int have_st;
	uint64_t start, end;
	int found;
};

static void find_map(void *ctx, const struct cs_proc_map *m)
{
	struct findmap *f = ctx;
	if (f->found || m->pgoff != 0 || !m->path[0])
		return;
	if (strcmp(m->path, f->path) != 0 &&
	    !(f->have_st && m->ino == (uint64_t)f->st.st_ino))
		return;
	f->start = m->start;
	f->end = m->end;
	f->found = 1;
}

/* Learn where pid's interpreter keeps its state, given the module of an eval frame.
 * A failure may be passing (the process is mapping or exiting): it is tried again on
 * later samples, PROBE_TRIES times at most; a version we do not know is final. */
static void proc_probe(struct cs_py *py, struct pyproc *pp, uint32_t module)
{
	pp->state = ++pp->probes < PROBE_TRIES ? P_UNKNOWN : P_NO;
	const char *path = cs_sym_module_path(py->sym, module);
	if (!path)
		return;
	struct findmap fm;
	memset(&fm, 0, sizeof(fm));
	fm.path = path;
	fm.have_st = stat(path, &fm.st) == 0;
	if (cs_proc_maps(pp->pid, find_map, &fm) < 0 || !fm.found)
		return;
	char mf[128];
	snprintf(mf, sizeof(mf), "/proc/%d/map_files/%llx-%llx", (int)pp->pid,
		 (unsigned long long)fm.start, (unsigned long long)fm.end);
	int fd = open(mf, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	struct elfsyms es;
	memset(&es, 0, sizeof(es));
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (e)
		elf_symbols(e, &es);
	if (e)
		elf_end(e);
	close(fd);
	if (!es.runtime || !es.version || !es.code_type || !es.unicode_type || !es.bytes_type ||
	    es.first_load == UINT64_MAX)
		return; /* not CPython, or a build without the symbols */
	uint64_t bias = es.dyn ? fm.start - es.first_load : 0;
	uint64_t version = 0;
	if (rd(pp->pid, es.version + bias, &version, sizeof(version)) < 0)
		return;
	unsigned major = (unsigned)(version >> 24) & 255, minor = (unsigned)(version >> 16) & 255;
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].major == major && layouts[i].minor == minor)
			pp->L = &layouts[i];
	if (!pp->L) {
		pp->state = P_NO;
		if (!py->note[0])
			snprintf(py->note, sizeof(py->note),
				 "Python %u.%u in PID %d is not supported (only 3.11): its "
				 "stacks keep the interpreter's native frames",
				 major, minor, (int)pp->pid);
		return;
	}
	pp->runtime = es.runtime + bias;
	pp->code_type = es.code_type + bias;
	pp->unicode_type = es.unicode_type + bias;
	pp->bytes_type = es.bytes_type + bias;
	pp->state = P_READY;
	py->active = 1;
}

static struct pyproc *proc_get(struct cs_py *py, pid_t pid)
{
	int added;
	uint64_t *slot = cs_map64_put(&py->proc_ix, (uint64_t)pid, py->procs.n, &added);
	if (added) {
		struct pyproc *pp = cs_xcalloc(1, sizeof(*pp));
		pp->pid = pid;
		cs_map64_init(&pp->tstate);
		cs_map64_init(&pp->code);
		CS_VEC_PUSH(py->procs, pp);
	}
	return py->procs.v[*slot];
}

void cs_py_forget(struct cs_py *py, pid_t pid)
{
	uint64_t *slot = cs_map64_get(&py->proc_ix, (uint64_t)pid);
	if (!slot)
		return;
	struct pyproc *pp = py->procs.v[*slot];
	cs_map64_release(&pp->tstate);
	cs_map64_release(&pp->code);
	memset(pp, 0, sizeof(*pp));
	pp->pid = pid;
	cs_map64_init(&pp->tstate);
	cs_map64_init(&pp->code);
}

/* ---- one sample ---- */

static int is_eval_frame(struct cs_py *py, struct cs_uframe f)
{
	if (f.module >= CS_SYM_PY || f.addr >> 40)
		return 0;
	uint64_t key = (uint64_t)f.module << 40 | f.addr;
	uint64_t *v = cs_map64_get(&py->is_eval, key);
	if (v)
		return *v == 1;
	const char *name = cs_sym_func_name(py->sym, f);
	/* The loop itself, and the parts of it GCC moved out (".cold"). */
	int yes = name && !strncmp(name, "_PyEval_EvalFrameDefault", 24) &&
		  (name[24] == 0 || name[24] == '.');
	*cs_map64_put(&py->is_eval, key, 0, NULL) = yes ? 1 : 2;
	return yes;
}

/* The thread state of tid, or 0; its first ts_size bytes go to ts. */
static uint64_t find_tstate(struct pyproc *pp, pid_t tid, uint8_t *ts)
{
	const struct pylayout *L = pp->L;
	uint64_t *slot = cs_map64_get(&pp->tstate, (uint64_t)tid);
	if (slot && rd(pp->pid, *slot, ts, L->ts_size) == 0 &&
	    u64_at(ts, L->ts_native_tid) == (uint64_t)tid)
		return *slot;
	uint64_t interp;
	if (rd(pp->pid, pp->runtime + L->rt_interp_head, &interp, 8) < 0)
		return 0;
	size_t budget = MAX_THREADS;
	for (int ni = 0; interp && ni < 64; ni++) {
		uint64_t t;
		if (rd(pp->pid, interp + L->is_tstate_head, &t, 8) < 0)
			return 0;
		while (t && budget--) {
			if (rd(pp->pid, t, ts, L->ts_size) < 0)
				return 0;
			uint64_t ntid = u64_at(ts, L->ts_native_tid);
			if (ntid && ntid < (1ull << 31))
				*cs_map64_put(&pp->tstate, ntid, t, NULL) = t;
			if (ntid == (uint64_t)tid)
				return t;
			t = u64_at(ts, L->ts_next);
		}
		if (rd(pp->pid, interp + L->is_next, &interp, 8) < 0)
			return 0;
	}
	return 0;
}

static int frame_eq(void *ctx, uint32_t idx)
{
	struct cs_py *py = ctx;
	return py->frames.v[idx].code == py->key->code && py->frames.v[idx].line == py->key->line;
}

static uint32_t frame_id(struct cs_py *py, uint32_t code, uint32_t line)
{
	struct pyframe_id k = {code, line};
	uint64_t h = cs_hash_u64((uint64_t)code << 32 | line);
	py->key = &k;
	uint32_t idx = cs_index_find(&py->frame_ix, h, frame_eq, py);
	if (idx != CS_INDEX_NONE)
		return idx;
	idx = (uint32_t)py->frames.n;
	CS_VEC_PUSH(py->frames, k);
	cs_index_insert(&py->frame_ix, h, idx);
	return idx;
}

/* Read tid's Python frames into py->py, grouped per eval call (innermost first).
 * Returns the number of groups, or -1 if something could not be read. */
static long read_groups(struct cs_py *py, struct pyproc *pp, pid_t tid)
{
	const struct pylayout *L = pp->L;
	uint8_t ts[512], fr[128];
	if (L->ts_size > sizeof(ts) || L->fr_size > sizeof(fr) || L->co_sig_len > SIG_MAX)
		return -1;
	uint64_t tstate = find_tstate(pp, tid, ts);
	if (!tstate)
		return -1;
	/* the current frame, and which thread holds the GIL, in one read */
	uint64_t frame, holder;
	struct iovec loc[2] = {{&frame, 8}, {&holder, 8}};
	struct iovec rem[2] = {
		{(void *)(uintptr_t)(u64_at(ts, L->ts_cframe) + L->cf_current_frame), 8},
		{(void *)(uintptr_t)(pp->runtime + L->rt_tstate_current), 8}};
	if (!u64_at(ts, L->ts_cframe) || process_vm_readv(pp->pid, loc, 2, rem, 2, 0) != 16)
		return -1;
	py->gil = holder == tstate;
	/* The chain first, then the code objects' signatures in one read, so that a
	 * cached code object is only used while its address still holds it. */
	size_t nf = 0;
	while (frame) {
		if (nf == MAX_PY_FRAMES || rd(pp->pid, frame, fr, L->fr_size) < 0)
			return -1;
		struct rawframe *f = &py->raw[nf++];
		f->code = u64_at(fr, L->fr_code);
		f->prev = u64_at(fr, L->fr_prev_instr);
		f->owner = fr[L->fr_owner];
		f->entry = fr[L->fr_is_entry];
		if (f->owner > 2 || f->entry > 1 || !f->code)
			return -1;
		frame = u64_at(fr, L->fr_previous);
	}
	for (size_t i = 0; i < nf; i += 512) {
		struct iovec loc[512], rem[512];
		size_t k = CS_MIN(nf - i, (size_t)512);
		for (size_t j = 0; j < k; j++) {
			loc[j].iov_base = py->raw[i + j].sig;
			loc[j].iov_len = L->co_sig_len;
			rem[j].iov_base = (void *)(uintptr_t)(py->raw[i + j].code + L->co_sig_off);
			rem[j].iov_len = L->co_sig_len;
		}
		if (process_vm_readv(pp->pid, loc, k, rem, k, 0) != (ssize_t)(k * L->co_sig_len))
			return -1;
	}
	size_t n = 0, groups = 0;
	py->leaf_code = -1;
	for (size_t i = 0; i < nf; i++) {
		const struct rawframe *f = &py->raw[i];
		long c = code_get(py, pp, f->code, f->sig);
		if (c < 0)
			return -1;
		const struct pycode *code = &py->codes.v[c];
		long lasti = ((long)(f->prev - code->code_start)) / 2;
		/* A frame that has not reached its first traceable instruction is still
		 * being set up: CPython leaves it out of tracebacks, so do we. */
		int incomplete = f->owner != 1 && lasti < code->firsttraceable;
		if (!incomplete) {
			if (!n)
				py->leaf_code = c;
			int line = cs_py_addr2line(code->linetable, code->linetable_len,
						   code->firstlineno, (int)(lasti * 2));
			py->py[n].module = CS_SYM_PY;
			py->py[n].addr = frame_id(py, (uint32_t)c, line > 0 ? (uint32_t)line : 0);
			n++;
		}
		if (f->entry)
			py->group_end[groups++] = (uint32_t)n;
	}
	if (n && (!groups || py->group_end[groups - 1] != n))
		return -2; /* frames after the last entry frame: not a chain we understand */
	return (long)groups;
}

/* Does a register or a word of the stack copy point into code's bytecode? */
static int points_into(const struct pycode *code, const struct cs_py_sample *smp)
{
	uint64_t lo = code->code_start, hi = code->code_start + code->code_len;
	for (int i = 0; i < CS_DWARF_NREGS; i++)
		if (smp->regs[i] - lo < hi - lo)
			return 1;
	for (size_t off = 0; off + 8 <= smp->stack_len; off += 8) {
		uint64_t v;
		memcpy(&v, smp->stack + off, 8);
		if (v - lo < hi - lo)
			return 1;
	}
	return 0;
}

size_t cs_py_splice(struct cs_py *py, pid_t pid, pid_t tid, struct cs_uframe *frames, size_t n,
		    size_t cap, int complete, uint64_t sample_ns, const struct cs_py_sample *smp)
{
	size_t evals = 0, first = n;
	for (size_t i = 0; i < n; i++)
		if (is_eval_frame(py, frames[i])) {
			if (!evals)
				first = i;
			evals++;
		}
	if (!evals)
		return n;
	struct pyproc *pp = proc_get(py, pid);
	if (pp->state == P_UNKNOWN && pp->wait-- <= 0) {
		proc_probe(py, pp, frames[first].module);
		pp->wait = 50;
	}
	if (pp->state != P_READY)
		return n;
	py->st.samples++;
	uint64_t now = cs_now_ns();
	if (now > sample_ns && now - sample_ns > CS_PY_MAX_LAG_NS) {
		py->st.late++;
		return n;
	}
	long groups = read_groups(py, pp, tid);
	if (groups == -1) {
		py->st.unreadable++;
		return n;
	}
	if (groups < 0 || (size_t)groups < evals || (complete && (size_t)groups != evals)) {
		py->st.mismatch++;
		return n;
	}
	if (py->leaf_code >= 0 && smp && !points_into(&py->codes.v[py->leaf_code], smp)) {
		py->st.moved++;
		return n;
	}
	size_t pyn = evals ? py->group_end[evals - 1] : 0;
	size_t total = n + pyn; /* at most: empty groups keep their eval frame */
	if (total > cap) {
		py->st.mismatch++;
		return n;
	}
	if (py->tmp_cap < total) {
		py->tmp_cap = total;
		py->tmp = cs_xrealloc(py->tmp, total * sizeof(*py->tmp));
	}
	size_t o = 0, g = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_eval_frame(py, frames[i])) {
			py->tmp[o++] = frames[i];
			continue;
		}
		uint32_t from = g ? py->group_end[g - 1] : 0, to = py->group_end[g++];
		/* a call of the loop whose only frame is still being set up keeps its
		 * native frame: there is no Python function to show yet */
		if (from == to)
			py->tmp[o++] = frames[i];
		for (uint32_t k = from; k < to; k++)
			py->tmp[o++] = py->py[k];
	}
	memcpy(frames, py->tmp, o * sizeof(*frames));
	py->st.merged++;
	py->st.gil += py->gil;
	if (now > sample_ns)
		py->st.lag_ns += now - sample_ns;
	return o;
}

void cs_py_frame(const struct cs_py *py, uint32_t id, const char **qualname, const char **file,
		 uint32_t *line)
{
	if (id >= py->frames.n) {
		*qualname = "[python]";
		*file = "";
		*line = 0;
		return;
	}
	const struct pycode *c = &py->codes.v[py->frames.v[id].code];
	*qualname = c->qualname;
	*file = c->file;
	*line = py->frames.v[id].line;
}

void cs_py_stats(const struct cs_py *py, struct cs_py_stats *st)
{
	*st = py->st;
}

int cs_py_active(const struct cs_py *py)
{
	return py->active;
}

const char *cs_py_note(const struct cs_py *py)
{
	return py->note;
}
