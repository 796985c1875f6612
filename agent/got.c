/* got.c - install and remove the agent's hooks by rewriting GOT slots.
 *
 * Every module of the base namespace is walked with dl_iterate_phdr; its dynamic
 * section gives the PLT relocations (DT_JMPREL) and the other RELA relocations
 * (DT_RELA). R_X86_64_JUMP_SLOT, R_X86_64_GLOB_DAT and addend-free R_X86_64_64
 * relocations against a hooked name name a slot that holds the function's address;
 * that slot is overwritten with the hook. Slots in the RELRO range are made writable
 * for the write and read-only again after.
 *
 * The original values are remembered so the slots can be put back exactly (a lazily
 * bound slot goes back to its PLT stub). The table is keyed by slot address and
 * rewritten whenever a slot is hooked again, so a module unloaded and another loaded
 * at the same address cannot restore a stale value.
 */
#include "agent/agent.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ORIG_BITS 15 /* remembered slots: 32768 */

struct orig {
	uintptr_t slot, value;
};

static pthread_mutex_t got_lock = PTHREAD_MUTEX_INITIALIZER;
static struct orig *origs;
static uintptr_t page_size;

static void orig_put(uintptr_t slot, uintptr_t value)
{
	if (!origs) {
		void *p = mmap(NULL, sizeof(struct orig) << ORIG_BITS, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return;
		origs = p;
	}
	uintptr_t mask = ((uintptr_t)1 << ORIG_BITS) - 1;
	for (uintptr_t i = ((slot >> 3) * 0x9E3779B97F4A7C15ull >> 40) & mask, n = 0; n <= mask;
	     i = (i + 1) & mask, n++)
		if (!origs[i].slot || origs[i].slot == slot) {
			origs[i].slot = slot;
			origs[i].value = value;
			return;
		}
	/* Full: restore will fall back to the real function's address. */
}

static int orig_get(uintptr_t slot, uintptr_t *value)
{
	if (!origs)
		return 0;
	uintptr_t mask = ((uintptr_t)1 << ORIG_BITS) - 1;
	for (uintptr_t i = ((slot >> 3) * 0x9E3779B97F4A7C15ull >> 40) & mask, n = 0; n <= mask;
	     i = (i + 1) & mask, n++) {
		if (!origs[i].slot)
			return 0;
		if (origs[i].slot == slot) {
			*value = origs[i].value;
			return 1;
		}
	}
	return 0;
}

static const struct cs_hook *find_hook(const char *name)
{
	/* Cheap reject: every hooked name starts with one of these letters. */
	switch (name[0]) {
	case '_': case 'a': case 'c': case 'd': case 'f': case 'm': case 'p': case 'r': case 'v':
		break;
	default:
		return NULL;
	}
	size_t lo = 0, hi = cs_nhooks;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, cs_hooks[mid].name);
		if (!c)
			return &cs_hooks[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

struct scan {
	int phase; /* 1, 2; 0 = restore */
	uintptr_t relro_lo, relro_hi; /* page range made read-only by the loader */
	uint32_t slots;
	uint32_t failed; /* slots that could not be made writable */
};

static void write_slot(struct scan *sc, uintptr_t slot, uintptr_t value)
{
	int ro = slot >= sc->relro_lo && slot < sc->relro_hi;
	void *page = (void *)(slot & ~(page_size - 1));
	if (ro && mprotect(page, page_size, PROT_READ | PROT_WRITE)) {
		sc->failed++;
		return;
	}
	__atomic_store_n((uintptr_t *)slot, value, __ATOMIC_RELEASE);
	if (ro)
		mprotect(page, page_size, PROT_READ);
	sc->slots++;
}

static void scan_rela(struct scan *sc, uintptr_t base, const ElfW(Rela) *r, size_t n,
		      const ElfW(Sym) *symtab, const char *strtab)
{
	for (size_t i = 0; i < n; i++) {
		unsigned type = ELF64_R_TYPE(r[i].r_info), sym = ELF64_R_SYM(r[i].r_info);
		if (!sym || (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT &&
			     (type != R_X86_64_64 || r[i].r_addend)))
			continue;
		const struct cs_hook *h = find_hook(strtab + symtab[sym].st_name);
		if (!h)
			continue;
		uintptr_t slot = base + r[i].r_offset;
		uintptr_t cur = __atomic_load_n((uintptr_t *)slot, __ATOMIC_RELAXED);
		if (sc->phase == 0) {
			if (cur != (uintptr_t)h->hook)
				continue;
			uintptr_t v;
			if (!orig_get(slot, &v))
				v = (uintptr_t)*h->real;
			write_slot(sc, slot, v);
		} else {
			if (h->phase != sc->phase || !*h->real || cur == (uintptr_t)h->hook)
				continue;
			orig_put(slot, cur);
			write_slot(sc, slot, (uintptr_t)h->hook);
		}
	}
}

static int in_base_namespace(const void *dyn)
{
	for (const struct link_map *l = _r_debug.r_map; l; l = l->l_next)
		if (l->l_ld == dyn)
			return 1;
	return 0;
}

static int skip_module(const struct dl_phdr_info *info)
{
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	if (info->dlpi_addr == _r_debug.r_ldbase && info->dlpi_addr)
		return 1; /* the dynamic loader calls libc's allocator directly anyway */
	if (info->dlpi_addr >= cs_state.self_lo && info->dlpi_addr < cs_state.self_hi)
		return 1;
	if (!strncmp(name, "linux-vdso", 10) || !strncmp(name, "linux-gate", 10))
		return 1;
	if (strstr(name, "/libunwind.so") || strstr(name, "/libunwind-")) /* the unwinder */
		return 1;
	return 0;
}

static int module_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct scan *sc = arg;
	if (skip_module(info))
		return 0;
	uintptr_t base = info->dlpi_addr;
	const ElfW(Dyn) *dyn = NULL;
	sc->relro_lo = sc->relro_hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(base + ph->p_vaddr);
		else if (ph->p_type == PT_GNU_RELRO) {
			/* The loader protects whole pages: start and end rounded down. */
			sc->relro_lo = (base + ph->p_vaddr) & ~(page_size - 1);
			sc->relro_hi = (base + ph->p_vaddr + ph->p_memsz) & ~(page_size - 1);
		}
	}
	if (!dyn || !in_base_namespace(dyn))
		return 0;

	const ElfW(Sym) *symtab = NULL;
	const char *strtab = NULL;
	const ElfW(Rela) *jmprel = NULL, *rela = NULL;
	size_t pltrelsz = 0, relasz = 0;
	int pltrel_is_rela = 1;
	/* The loader has relocated these d_ptr values in place on x86-64; a value below
	 * the load base is still a link-time address. */
#define DPTR(v) ((uintptr_t)(v) < base ? (uintptr_t)(v) + base : (uintptr_t)(v))
	for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: symtab = (const void *)DPTR(d->d_un.d_ptr); break;
		case DT_STRTAB: strtab = (const void *)DPTR(d->d_un.d_ptr); break;
		case DT_JMPREL: jmprel = (const void *)DPTR(d->d_un.d_ptr); break;
		case DT_PLTRELSZ: pltrelsz = d->d_un.d_val; break;
		case DT_PLTREL: pltrel_is_rela = d->d_un.d_val == DT_RELA; break;
		case DT_RELA: rela = (const void *)DPTR(d->d_un.d_ptr); break;
		case DT_RELASZ: relasz = d->d_un.d_val; break;
		}
	}
#undef DPTR
	if (!symtab || !strtab)
		return 0;
	if (jmprel && pltrel_is_rela)
		scan_rela(sc, base, jmprel, pltrelsz / sizeof(ElfW(Rela)), symtab, strtab);
	if (rela)
		scan_rela(sc, base, rela, relasz / sizeof(ElfW(Rela)), symtab, strtab);
	return 0;
}

struct count_ctx {
	struct scan sc;
	uint32_t modules;
};

static int count_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct count_ctx *c = arg;
	uint32_t before = c->sc.slots;
	module_cb(info, size, &c->sc);
	if (c->sc.slots != before)
		c->modules++;
	return 0;
}

void cs_got_install(int phase, struct cs_got_stats *st)
{
	cs_hooks_resolve(); /* names a new module brought in; never under the loader's lock */
	pthread_mutex_lock(&got_lock);
	if (!page_size)
		page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
	struct count_ctx c;
	memset(&c, 0, sizeof(c));
	c.sc.phase = phase;
	/* A dlopen racing with the end of the session must not hook again after restore. */
	if (__atomic_load_n(&cs_state.active, __ATOMIC_ACQUIRE))
		dl_iterate_phdr(count_cb, &c);
	pthread_mutex_unlock(&got_lock);
	if (st) {
		st->modules += c.modules;
		st->slots += c.sc.slots;
		st->failed += c.sc.failed;
	}
}

void cs_got_restore(void)
{
	pthread_mutex_lock(&got_lock);
	if (!page_size)
		page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
	struct count_ctx c;
	memset(&c, 0, sizeof(c));
	c.sc.phase = 0;
	dl_iterate_phdr(count_cb, &c);
	pthread_mutex_unlock(&got_lock);
}
