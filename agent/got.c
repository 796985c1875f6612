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
 * at the same address cannot restore a stale value. It also holds what the set-up
 * watchdog needs to undo an install without walking the modules: the hook written and
 * whether the slot's page is read-only.
 */
#include "agent/agent.h"

#include <elf.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define ORIG_BITS 15 /* remembered slots: 32768 */

struct orig {
	uintptr_t slot, value, hook;
	uintptr_t ro; /* the slot's page is read-only outside our writes */
};

static pthread_mutex_t got_lock = PTHREAD_MUTEX_INITIALIZER;
static struct orig *origs;
static uintptr_t page_size;

static void orig_put(uintptr_t slot, uintptr_t value, uintptr_t hook, int ro)
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
			origs[i].value = value;
			origs[i].hook = hook;
			origs[i].ro = (uintptr_t)ro;
			__atomic_store_n(&origs[i].slot, slot, __ATOMIC_RELEASE);
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

#define PHASE_RESTORE 0
#define PHASE_FOREIGN 3 /* count slots pointing into another copy of the agent */
#define MAX_FOREIGN 8

struct scan {
	int phase; /* 1, 2, PHASE_RESTORE or PHASE_FOREIGN */
	uintptr_t relro_lo, relro_hi; /* page range made read-only by the loader */
	uint32_t slots;
	uint32_t failed; /* slots that could not be made writable */
	uintptr_t foreign_lo[MAX_FOREIGN], foreign_hi[MAX_FOREIGN];
	int nforeign;
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

static int is_foreign(const struct scan *sc, uintptr_t v)
{
	for (int i = 0; i < sc->nforeign; i++)
		if (v >= sc->foreign_lo[i] && v < sc->foreign_hi[i])
			return 1;
	return 0;
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
		if (sc->phase == PHASE_FOREIGN) {
			sc->slots += is_foreign(sc, cur);
			continue;
		}
		if (sc->phase == PHASE_RESTORE) {
			if (cur != (uintptr_t)h->hook)
				continue;
			uintptr_t v;
			if (!orig_get(slot, &v))
				v = (uintptr_t)*h->real;
			write_slot(sc, slot, v);
		} else {
			if (h->phase != sc->phase || !*h->real || cur == (uintptr_t)h->hook)
				continue;
			/* The watchdog gave up on this session: write nothing more. */
			if (__atomic_load_n(&cs_state.abandoned, __ATOMIC_ACQUIRE))
				return;
			orig_put(slot, cur, (uintptr_t)h->hook,
				 slot >= sc->relro_lo && slot < sc->relro_hi);
			write_slot(sc, slot, (uintptr_t)h->hook);
		}
	}
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
	if (cs_is_agent_module(name)) /* another copy of the agent */
		return 1;
	return 0;
}

static int module_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct scan *sc = arg;
	if (skip_module(info))
		return 0;
	uintptr_t base = info->dlpi_addr;
	sc->relro_lo = sc->relro_hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_GNU_RELRO) {
			/* The loader protects whole pages: start and end rounded down. */
			sc->relro_lo = (base + ph->p_vaddr) & ~(page_size - 1);
			sc->relro_hi = (base + ph->p_vaddr + ph->p_memsz) & ~(page_size - 1);
		}
	}
	const ElfW(Dyn) *dyn = cs_module_dynamic(info);
	if (!dyn)
		return 0;
	struct cs_module_tables t;
	cs_module_tables(info, dyn, &t);
	if (!t.symtab || !t.strtab)
		return 0;
	if (t.jmprel && t.pltrel_is_rela)
		scan_rela(sc, base, t.jmprel, t.pltrelsz / sizeof(ElfW(Rela)), t.symtab, t.strtab);
	if (t.rela)
		scan_rela(sc, base, t.rela, t.relasz / sizeof(ElfW(Rela)), t.symtab, t.strtab);
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

void cs_got_after_fork(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
	got_lock = fresh;
}

void cs_got_restore(void)
{
	pthread_mutex_lock(&got_lock);
	if (!page_size)
		page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
	struct count_ctx c;
	memset(&c, 0, sizeof(c));
	c.sc.phase = PHASE_RESTORE;
	dl_iterate_phdr(count_cb, &c);
	pthread_mutex_unlock(&got_lock);
}

uint32_t cs_got_emergency_restore(int wait_ms)
{
	/* An install in progress holds got_lock and toggles page protections: wait for
	 * it to notice cs_state.abandoned and stop. If it never lets go (it is stuck in
	 * the loader), restore anyway: the writer is not running then. */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	int locked = pthread_mutex_timedlock(&got_lock, &until) == 0;
	uint32_t n = 0;
	uintptr_t ps = page_size ? page_size : (uintptr_t)sysconf(_SC_PAGESIZE);
	for (size_t i = 0; origs && i < ((size_t)1 << ORIG_BITS); i++) {
		uintptr_t slot = __atomic_load_n(&origs[i].slot, __ATOMIC_ACQUIRE);
		if (!slot)
			continue;
		void *page = (void *)(slot & ~(ps - 1));
		/* A module unloaded since: its page is gone (msync says ENOMEM). */
		if (msync(page, ps, MS_ASYNC) && errno == ENOMEM)
			continue;
		if (__atomic_load_n((uintptr_t *)slot, __ATOMIC_RELAXED) != origs[i].hook)
			continue;
		if (origs[i].ro && mprotect(page, ps, PROT_READ | PROT_WRITE))
			continue;
		uintptr_t expect = origs[i].hook;
		n += __atomic_compare_exchange_n((uintptr_t *)slot, &expect, origs[i].value, 0,
						 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
		if (origs[i].ro)
			mprotect(page, ps, PROT_READ);
	}
	if (locked)
		pthread_mutex_unlock(&got_lock);
	return n;
}

static int foreign_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct scan *sc = arg;
	if (!cs_is_agent_module(info->dlpi_name) || sc->nforeign == MAX_FOREIGN ||
	    (info->dlpi_addr >= cs_state.self_lo && info->dlpi_addr < cs_state.self_hi))
		return 0;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;
		lo = a < lo ? a : lo;
		hi = a + ph->p_memsz > hi ? a + ph->p_memsz : hi;
	}
	if (lo < hi) {
		sc->foreign_lo[sc->nforeign] = lo;
		sc->foreign_hi[sc->nforeign++] = hi;
	}
	return 0;
}

uint32_t cs_got_foreign(void)
{
	struct count_ctx c;
	memset(&c, 0, sizeof(c));
	c.sc.phase = PHASE_FOREIGN;
	pthread_mutex_lock(&got_lock);
	if (!page_size)
		page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
	dl_iterate_phdr(foreign_cb, &c.sc);
	if (c.sc.nforeign)
		dl_iterate_phdr(count_cb, &c);
	pthread_mutex_unlock(&got_lock);
	return c.sc.slots;
}
