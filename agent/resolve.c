/* resolve.c - find where a name is really defined among the loaded modules, without
 * the loader's symbol lookup.
 *
 * dlsym(RTLD_DEFAULT, "free") is wrong for the agent in a non-PIE executable that
 * takes free's address (Debian's python3.11, pigz, node): the executable then has a
 * "canonical PLT entry", an undefined symbol with an address, and dlsym returns that
 * PLT stub, which jumps through the very GOT slot the agent rewrites, so a hook calling
 * it calls itself forever. dlsym may also allocate (its error string) while hooks are
 * half installed. Here every module of the base namespace is searched in load order
 * (the order of the global scope for everything loaded at start-up) through its own
 * hash table, and only real definitions count.
 */
#include "agent/agent.h"

#include <elf.h>
#include <link.h>
#include <string.h>

static int in_base_namespace(const void *dyn)
{
	for (const struct link_map *l = _r_debug.r_map; l; l = l->l_next)
		if (l->l_ld == dyn)
			return 1;
	return 0;
}

const ElfW(Dyn) *cs_module_dynamic(const struct dl_phdr_info *info)
{
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC) {
			uintptr_t a = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
			return in_base_namespace((const void *)a) ? (const void *)a : NULL;
		}
	return NULL;
}

int cs_is_agent_module(const char *name)
{
	const char *slash = name ? strrchr(name, '/') : NULL;
	return slash && !strncmp(slash + 1, "libcsampler_agent", 17);
}

void cs_module_tables(const struct dl_phdr_info *info, const ElfW(Dyn) *dyn,
		      struct cs_module_tables *t)
{
	uintptr_t base = info->dlpi_addr;
	memset(t, 0, sizeof(*t));
	t->pltrel_is_rela = 1;
	/* The loader has relocated these d_ptr values in place on x86-64; a value below
	 * the load base is still a link-time address. */
#define DPTR(v) ((uintptr_t)(v) < base ? (uintptr_t)(v) + base : (uintptr_t)(v))
	for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: t->symtab = (const void *)DPTR(d->d_un.d_ptr); break;
		case DT_STRTAB: t->strtab = (const void *)DPTR(d->d_un.d_ptr); break;
		case DT_GNU_HASH: t->gnu_hash = (const void *)DPTR(d->d_un.d_ptr); break;
		case DT_HASH: t->sysv_hash = (const void *)DPTR(d->d_un.d_ptr); break;
		case DT_VERSYM: t->versym = (const void *)DPTR(d->d_un.d_ptr); break;
		case DT_JMPREL: t->jmprel = (const void *)DPTR(d->d_un.d_ptr); break;
		case DT_PLTRELSZ: t->pltrelsz = d->d_un.d_val; break;
		case DT_PLTREL: t->pltrel_is_rela = d->d_un.d_val == DT_RELA; break;
		case DT_RELA: t->rela = (const void *)DPTR(d->d_un.d_ptr); break;
		case DT_RELASZ: t->relasz = d->d_un.d_val; break;
		}
	}
#undef DPTR
}

static uint32_t gnu_hash(const char *s)
{
	uint32_t h = 5381;
	for (; *s; s++)
		h = h * 33 + (uint8_t)*s;
	return h;
}

static uint32_t sysv_hash(const char *s)
{
	uint32_t h = 0;
	for (; *s; s++) {
		h = (h << 4) + (uint8_t)*s;
		uint32_t g = h & 0xf0000000u;
		if (g)
			h ^= g >> 24;
		h &= ~g;
	}
	return h;
}

/* 1: sym i is a usable definition of name; 0: not this one; -1: an IFUNC definition. */
static int defines(const struct cs_module_tables *t, uint32_t i, const char *name)
{
	const ElfW(Sym) *s = &t->symtab[i];
	if (strcmp(t->strtab + s->st_name, name))
		return 0;
	/* An undefined symbol with a value is a canonical PLT entry, not a definition. */
	if (s->st_shndx == SHN_UNDEF || !s->st_value)
		return 0;
	if (t->versym && (t->versym[i] & 0x8000)) /* an old, hidden version */
		return 0;
	unsigned bind = ELF64_ST_BIND(s->st_info), type = ELF64_ST_TYPE(s->st_info);
	if (bind != STB_GLOBAL && bind != STB_WEAK && bind != STB_GNU_UNIQUE)
		return 0;
	if (type == STT_GNU_IFUNC)
		return -1;
	return type == STT_FUNC || type == STT_NOTYPE;
}

/* Index of name's definition in the module, 0 if none, -1 for an IFUNC. */
static long lookup(const struct cs_module_tables *t, const char *name)
{
	if (t->gnu_hash) {
		const uint32_t *gh = t->gnu_hash;
		uint32_t nbuckets = gh[0], symoffset = gh[1], bloom_size = gh[2], shift = gh[3];
		if (!nbuckets || !bloom_size)
			return 0;
		const uint64_t *bloom = (const uint64_t *)(gh + 4);
		const uint32_t *buckets = (const uint32_t *)(bloom + bloom_size);
		const uint32_t *chain = buckets + nbuckets;
		uint32_t h = gnu_hash(name);
		uint64_t word = bloom[(h / 64) % bloom_size];
		uint64_t mask = (1ull << (h % 64)) | (1ull << ((h >> shift) % 64));
		if ((word & mask) != mask)
			return 0;
		uint32_t i = buckets[h % nbuckets];
		if (i < symoffset)
			return 0;
		for (;; i++) {
			uint32_t h2 = chain[i - symoffset];
			if ((h | 1) == (h2 | 1)) {
				int d = defines(t, i, name);
				if (d)
					return d < 0 ? -1 : (long)i;
			}
			if (h2 & 1)
				return 0;
		}
	}
	if (t->sysv_hash) {
		const uint32_t *sh = t->sysv_hash;
		uint32_t nbucket = sh[0], nchain = sh[1];
		if (!nbucket)
			return 0;
		const uint32_t *bucket = sh + 2, *chain = bucket + nbucket;
		uint32_t n = 0;
		for (uint32_t i = bucket[sysv_hash(name) % nbucket]; i && i < nchain && n <= nchain;
		     i = chain[i], n++) {
			int d = defines(t, i, name);
			if (d)
				return d < 0 ? -1 : (long)i;
		}
	}
	return 0;
}

struct find {
	const char *name;
	void *addr;
	int in_exe;
	int done;
	unsigned index; /* modules seen: the main program comes first */
};

static int find_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct find *f = arg;
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	if (f->done)
		return 1;
	int first = f->index++ == 0;
	if (info->dlpi_addr == _r_debug.r_ldbase && info->dlpi_addr)
		return 0; /* the dynamic loader */
	if (info->dlpi_addr >= cs_state.self_lo && info->dlpi_addr < cs_state.self_hi)
		return 0;
	if (!strncmp(name, "linux-vdso", 10) || !strncmp(name, "linux-gate", 10) ||
	    cs_is_agent_module(name))
		return 0;
	const ElfW(Dyn) *dyn = cs_module_dynamic(info);
	if (!dyn)
		return 0;
	struct cs_module_tables t;
	cs_module_tables(info, dyn, &t);
	if (!t.symtab || !t.strtab)
		return 0;
	long i = lookup(&t, f->name);
	if (!i)
		return 0;
	f->done = 1;
	if (i > 0) {
		f->addr = (void *)(info->dlpi_addr + t.symtab[i].st_value);
		f->in_exe = first;
	}
	return 1;
}

void *cs_find_definition(const char *name, int *in_exe)
{
	struct find f = {name, NULL, 0, 0, 0};
	dl_iterate_phdr(find_cb, &f);
	if (in_exe)
		*in_exe = f.in_exe;
	return f.addr;
}
