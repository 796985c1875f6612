/* resolve.c - (module, vaddr) -> frames: the function, each inlined function as its own
 * frame, and file:line. The function's name comes from the ELF symbol tables (.symtab,
 * else .dynsym; separate debug info found by build-id or .gnu_debuglink; PLT stubs
 * from plt.c), the inline chain from DWARF (inline.c), lines from the line table. Each
 * module gets an offline Dwfl of its own and a sorted symbol table built once,
 * searched by bisection. */
#include "internal.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The C++ ABI demangler from libstdc++ (always present where g++ is). */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *n, int *status);

static char *demangle(const char *name)
{
	if (!name || name[0] != '_' || name[1] != 'Z')
		return NULL;
	int status = 0;
	char *d = __cxa_demangle(name, NULL, NULL, &status);
	if (status != 0) {
		free(d);
		return NULL;
	}
	return d;
}

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	/* Among equals, any fixed order will do: the later name in byte order gives what
	 * perf shows for Debian's libc (__memmove_avx512_unaligned_erms over __memcpy_...,
	 * __libc_start_main_impl over __libc_start_main_alias_1). */
	return strcmp(y->name, x->name);
}

/* End of section shndx of elf, in the Dwfl's address space (elf's bias added), or
 * UINT64_MAX if unknown. */
static uint64_t section_end(Elf *elf, GElf_Word shndx, Dwarf_Addr bias)
{
	GElf_Shdr sh;
	Elf_Scn *scn = elf && shndx != SHN_UNDEF && shndx < SHN_LORESERVE ? elf_getscn(elf, shndx)
									  : NULL;
	if (!scn || !gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC))
		return UINT64_MAX;
	return sh.sh_addr + sh.sh_size + bias;
}

static void build_symtab(struct symmod *m)
{
	int n = dwfl_module_getsymtab(m->smod);
	size_t cap = n > 0 ? (size_t)n : 0, k = 0;
	struct sym *v = cap ? cs_xmalloc(cap * sizeof(*v)) : NULL;
	for (int i = 0; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		Elf *elf;
		Dwarf_Addr bias;
		const char *name = dwfl_module_getsym_info(m->smod, i, &sym, &addr, &shndx, &elf, &bias);
		if (!name || !*name || shndx == SHN_UNDEF)
			continue;
		int type = GELF_ST_TYPE(sym.st_info);
		if (type != STT_FUNC && type != STT_GNU_IFUNC)
			continue;
		int bind = GELF_ST_BIND(sym.st_info);
		/* Among aliases choose as perf does: not a versioned name
		 * (__libc_start_main_impl, not __libc_start_main@@GLIBC_2.34), a sized
		 * symbol, then not weak, then global, then fewer leading underscores (then
		 * sym_cmp's fixed order). */
		int under = 0;
		while (name[under] == '_' && under < 7)
			under++;
		int rank = (strchr(name, '@') ? 128 : 0) + (sym.st_size ? 0 : 64) +
			   (bind == STB_WEAK ? 32 : 0) + (bind == STB_GLOBAL ? 0 : 16) + under;
		v[k].start = addr;
		v[k].sized = sym.st_size > 0;
		v[k].end = sym.st_size ? addr + sym.st_size : section_end(elf, shndx, bias);
		v[k].name = name;
		v[k].rank = rank;
		k++;
	}
	/* PLT stubs: their bytes are only in the file itself, not in separate debug info. */
	cs_plt_symbols(m, m->elf, m->sbias, &v, &k, &cap);
	if (k)
		qsort(v, k, sizeof(*v), sym_cmp);
	/* Keep the preferred alias at each address; give sizeless symbols the room up to
	 * the next one, within their section (`_init` must not swallow the PLT). */
	size_t out = 0;
	for (size_t i = 0; i < k; i++) {
		if (out && v[out - 1].start == v[i].start) {
			struct sym *keep = &v[out - 1];
			if (v[i].sized && (!keep->sized || v[i].end > keep->end)) {
				keep->end = v[i].end;
				keep->sized = 1;
			}
			continue;
		}
		v[out++] = v[i];
	}
	for (size_t i = 0; i < out; i++) {
		if (v[i].sized)
			continue;
		uint64_t next = i + 1 < out ? v[i + 1].start : UINT64_MAX;
		if (v[i].end > next)
			v[i].end = next;
		if (v[i].end == UINT64_MAX || v[i].end <= v[i].start)
			v[i].end = v[i].start + 1;
	}
	m->syms = v;
	m->nsyms = out;
}

static void res_init(struct cs_symbolizer *s, struct symmod *m)
{
	m->res_init = 1;
	if (m->fd < 0)
		return;
	cs_debugcache_prepare(s, m);
	m->sdwfl = dwfl_begin(&s->offline_cb);
	if (!m->sdwfl)
		return;
	int fd = dup(m->fd);
	if (fd < 0)
		return;
	dwfl_report_begin(m->sdwfl);
	m->smod = dwfl_report_offline(m->sdwfl, m->path, m->dwfl_name, fd);
	dwfl_report_end(m->sdwfl, NULL, NULL);
	if (!m->smod) {
		close(fd);
		return;
	}
	Dwarf_Addr bias = 0;
	if (!dwfl_module_getelf(m->smod, &bias)) {
		m->smod = NULL;
		return;
	}
	m->sbias = bias;
	build_symtab(m);
}

static const struct sym *find_sym(const struct symmod *m, uint64_t a)
{
	size_t lo = 0, hi = m->nsyms;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->syms[mid].start <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct sym *y = &m->syms[lo - 1];
	return a < y->end ? y : NULL;
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	return b && b[1] ? b + 1 : path;
}

uint32_t cs_symmod_profile_module(struct cs_symbolizer *s, struct cs_profile *p, uint32_t mod)
{
	struct symmod *m = s->mods.v[mod];
	if (m->profile_module != CS_NONE)
		return m->profile_module;
	struct cs_module pm;
	memset(&pm, 0, sizeof(pm));
	pm.path = cs_profile_cstr(p, m->file_name);
	pm.name = cs_profile_cstr(p, base_name(m->file_name));
	pm.flags = (m->vdso ? CS_MODULE_VDSO : 0) | (m->is_main ? CS_MODULE_MAIN : 0);
	pm.build_id_len = (uint32_t)m->build_id_len;
	memcpy(pm.build_id, m->build_id, m->build_id_len);
	m->profile_module = cs_profile_module(p, &pm);
	return m->profile_module;
}

void cs_sym_profile_reset(struct cs_symbolizer *s)
{
	for (size_t i = 0; i < s->mods.n; i++)
		s->mods.v[i]->profile_module = CS_NONE;
}

/* Name of a subprogram or inlined-subroutine DIE: the demangled linkage name if it
 * has one (C++), else its DW_AT_name, following abstract origins. *owned is set when
 * the result must be freed. */
static const char *die_name(Dwarf_Die *die, char **owned)
{
	Dwarf_Attribute attr;
	*owned = NULL;
	const char *link = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
	if (!link)
		link = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
	if (link) {
		*owned = demangle(link);
		return *owned ? *owned : link;
	}
	return dwarf_diename(die);
}

static uint32_t intern_name(struct cs_profile *p, const char *name)
{
	return cs_profile_cstr(p, name ? name : "");
}

#define MAX_INLINE 64

uint64_t cs_resolve_thread_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The call site of inlined instance die: file (from its unit's file table) and line. */
static void call_site(Dwarf_Die *die, struct cs_unit *u, struct cs_profile *p, struct cs_frame *f)
{
	Dwarf_Attribute attr;
	Dwarf_Word cf = 0, cl = 0;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &attr), &cf) == 0) {
		const char *fn = cs_unit_file(u, cf);
		if (fn)
			f->file = cs_profile_cstr(p, fn);
	}
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &attr), &cl) == 0)
		f->line = (uint32_t)cl;
}

static size_t resolve_in_module(struct cs_symbolizer *s, struct cs_profile *p,
				struct cs_uframe uf, uint32_t *out, size_t cap, int *resolved)
{
	struct cs_frame f;
	memset(&f, 0, sizeof(f));
	f.addr = uf.addr;
	struct symmod *m = s->mods.v[uf.module];
	f.module = cs_symmod_profile_module(s, p, uf.module);
	if (m->fd < 0)
		m->unopened++;
	size_t cached = cs_symcache_lookup(s, m, p, f.module, uf.addr, out, cap, resolved);
	if (cached)
		return cached;
	if (!m->res_init)
		res_init(s, m);
	uint64_t a = uf.addr + m->sbias; /* address in the offline Dwfl */

	const struct sym *y = m->smod ? find_sym(m, a) : NULL;
	char *ysym = y ? demangle(y->name) : NULL;
	const char *elf_name = ysym ? ysym : y ? y->name : NULL;

	/* DWARF: the function and the inlined calls at a, innermost first, and the
	 * innermost location from the line table. */
	Dwarf_Die chain[MAX_INLINE];
	Dwarf_Addr x = 0;
	struct cs_unit *unit = cs_unit_at(m, a, &x);
	size_t nchain = unit ? cs_unit_chain(unit, x, chain, MAX_INLINE) : 0;
	int leaf_line = 0;
	const char *leaf_file = unit ? cs_unit_line(unit, x, &leaf_line) : NULL;

	/* Root first: the function, then each inlined call. The function is named by its
	 * ELF symbol when there is one, as perf names it: GCC's clone suffixes included
	 * ("f.lto_priv.0", "f.cold"), so every address of a clone agrees, and the alias
	 * perf picks where several names share the code (__memmove_avx512_unaligned_erms,
	 * whose DWARF says __memcpy_...); by DWARF otherwise. */
	int root_is_fn = nchain && dwarf_tag(&chain[nchain - 1]) == DW_TAG_subprogram;
	size_t nframes = nchain + (!root_is_fn && (elf_name || !nchain));
	size_t n = 0;
	for (size_t k = nframes; k-- > 0 && n < cap;) {
		/* frame k (0 = innermost) is chain[k], or the ELF function above the chain */
		Dwarf_Die *die = k < nchain ? &chain[k] : NULL;
		char *owned = NULL;
		const char *name = NULL;
		if (k == nframes - 1 && elf_name)
			name = elf_name;
		else if (die)
			name = die_name(die, &owned);
		f.flags = k == nframes - 1 ? 0 : CS_FRAME_INLINE;
		f.file = 0;
		f.line = 0;
		if (!name && k == nframes - 1 && !nchain) {
			char buf[4200];
			snprintf(buf, sizeof(buf), "%s+0x%llx", base_name(m->file_name),
				 (unsigned long long)uf.addr);
			name = buf;
			f.flags = CS_FRAME_UNKNOWN;
			*resolved = 0;
			f.func = cs_profile_cstr(p, name);
		} else {
			f.func = intern_name(p, name ? name : "[unknown]");
		}
		free(owned);
		if (k == 0) {
			if (leaf_file) {
				f.file = cs_profile_cstr(p, leaf_file);
				f.line = (uint32_t)(leaf_line > 0 ? leaf_line : 0);
			}
		} else if (k - 1 < nchain && dwarf_tag(&chain[k - 1]) == DW_TAG_inlined_subroutine) {
			/* where the next frame in was inlined into this one */
			call_site(&chain[k - 1], unit, p, &f);
		}
		out[n++] = cs_profile_frame(p, &f);
	}
	free(ysym);
	cs_symcache_add(s, m, p, uf.addr, out, n, *resolved);
	return n;
}

static size_t resolve_one(struct cs_symbolizer *s, struct cs_profile *p, struct cs_uframe uf,
			  uint32_t *out, size_t cap, int *resolved)
{
	*resolved = 1;
	if (cap == 0)
		return 0;
	if (uf.module == CS_SYM_KERNEL)
		return cs_kernel_resolve(s, p, uf.addr, out, resolved);
	if (uf.module == CS_SYM_NOMOD || uf.module >= s->mods.n) {
		struct cs_frame f;
		memset(&f, 0, sizeof(f));
		f.module = CS_NONE;
		f.addr = uf.addr;
		f.func = cs_profile_cstr(p, "[unknown]");
		f.flags = CS_FRAME_UNKNOWN;
		*resolved = 0;
		out[0] = cs_profile_frame(p, &f);
		return 1;
	}
	return resolve_in_module(s, p, uf, out, cap, resolved);
}

size_t cs_sym_resolve(struct cs_symbolizer *s, struct cs_profile *p, struct cs_uframe uf,
		      uint32_t *out, size_t cap, int *resolved)
{
	if (!s->res_calls) {
		const char *e = getenv("CSAMPLER_RESOLVE_STATS");
		s->res_stats = e && *e && strcmp(e, "0");
		if (s->res_stats)
			s->res_first_ns = cs_resolve_thread_ns();
	}
	s->res_calls++;
	size_t n = resolve_one(s, p, uf, out, cap, resolved);
	if (s->res_stats > 0)
		s->res_last_ns = cs_resolve_thread_ns();
	return n;
}

static struct aspace *space_of(struct cs_symbolizer *s, pid_t pid)
{
	uint64_t *slot = cs_map64_get(&s->space_ix, (uint64_t)pid);
	return slot ? s->spaces.v[*slot] : NULL;
}

int cs_sym_find_symbol(struct cs_symbolizer *s, pid_t pid, const char *module, const char *name,
		       uint64_t *addr)
{
	struct aspace *a = space_of(s, pid);
	if (!a)
		return -1;
	size_t mlen = strlen(module);
	for (size_t i = 0; i < a->maps.n; i++) {
		struct symmod *m = s->mods.v[a->maps.v[i].mod];
		if (strncmp(base_name(m->file_name), module, mlen))
			continue;
		if (!m->res_init)
			res_init(s, m);
		for (size_t k = 0; k < m->nsyms; k++) {
			if (strcmp(m->syms[k].name, name))
				continue;
			/* symbol address in the offline Dwfl -> vaddr -> absolute */
			*addr = m->syms[k].start - m->sbias + a->maps.v[i].bias;
			return 0;
		}
		/* Aliases lost to a preferred name at the same address: ask libdwfl. */
		int n = m->smod ? dwfl_module_getsymtab(m->smod) : 0;
		for (int k = 0; k < n; k++) {
			GElf_Sym sym;
			GElf_Addr sa;
			GElf_Word shndx;
			Elf *elf;
			Dwarf_Addr bias;
			const char *nm = dwfl_module_getsym_info(m->smod, k, &sym, &sa, &shndx, &elf, &bias);
			if (nm && shndx != SHN_UNDEF && GELF_ST_TYPE(sym.st_info) == STT_FUNC &&
			    !strcmp(nm, name)) {
				*addr = sa - m->sbias + a->maps.v[i].bias;
				return 0;
			}
		}
	}
	return -1;
}

int cs_sym_code_cave(struct cs_symbolizer *s, pid_t pid, size_t need, uint64_t *addr)
{
	struct aspace *a = space_of(s, pid);
	if (!a)
		return -1;
	for (size_t i = 0; i < a->maps.n; i++) {
		const struct amap *am = &a->maps.v[i];
		struct symmod *m = s->mods.v[am->mod];
		size_t phnum;
		if (!m->elf || m->vdso || elf_getphdrnum(m->elf, &phnum) != 0)
			continue;
		for (size_t k = 0; k < phnum; k++) {
			GElf_Phdr ph;
			if (!gelf_getphdr(m->elf, (int)k, &ph) || ph.p_type != PT_LOAD ||
			    !(ph.p_flags & PF_X))
				continue;
			uint64_t seg_end = ph.p_vaddr + ph.p_memsz + am->bias;
			/* the segment must end inside this mapping, before its last byte */
			if (seg_end <= am->start || seg_end >= am->end)
				continue;
			uint64_t start = (seg_end + 15) & ~15ull;
			if (am->end - start >= need) {
				*addr = start;
				return 0;
			}
		}
	}
	return -1;
}

const char *cs_sym_func_name(struct cs_symbolizer *s, struct cs_uframe f)
{
	if (f.module >= s->mods.n)
		return NULL;
	struct symmod *m = s->mods.v[f.module];
	if (!m->res_init)
		res_init(s, m);
	const struct sym *y = m->smod ? find_sym(m, f.addr + m->sbias) : NULL;
	return y ? y->name : NULL;
}

void cs_sym_prepare(struct cs_symbolizer *s, pid_t pid)
{
	struct aspace *a = space_of(s, pid);
	if (!a)
		return;
	for (size_t i = 0; i < a->maps.n; i++) {
		struct symmod *m = s->mods.v[a->maps.v[i].mod];
		if (!m->res_init)
			res_init(s, m);
	}
	/* Report the modules to the unwinding Dwfl and load their CFI. */
	uint64_t regs[CS_DWARF_NREGS] = {0};
	for (size_t i = 0; i < a->maps.n; i++) {
		regs[16] = a->maps.v[i].start;
		struct cs_uframe fr[2];
		size_t n;
		cs_sym_unwind(s, pid, pid, regs, NULL, 0, fr, 2, &n);
	}
}
