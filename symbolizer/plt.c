/* plt.c - symbols for the stubs of the procedure linkage table.
 *
 * No symbol table covers .plt, .plt.sec or .plt.got, so their samples used to take the
 * name of whatever sizeless symbol came before (`_init`). Each stub is named NAME@plt,
 * as perf and objdump name it, from the relocation of the GOT slot it jumps through
 * (.rela.plt for JUMP_SLOT, .rela.dyn for GLOB_DAT) and that relocation's dynamic
 * symbol. A stub that jumps through no slot but pushes a relocation index (the lazy
 * half of an IBT-enabled .plt) is named from .rela.plt by that index. The first entry
 * of .plt, the lazy-binding trampoline, is named ".plt" (objdump's label for it). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

struct slot {
	uint64_t got; /* r_offset: the GOT slot's vaddr */
	const char *name;
	uint64_t addend; /* for IRELATIVE, which has no symbol */
};

static int slot_cmp(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;
	return x->got < y->got ? -1 : x->got > y->got;
}

struct plt_ctx {
	Elf *elf;
	CS_VEC(struct slot) slots; /* sorted by got */
	CS_VEC(struct slot) lazy;  /* .rela.plt in order, for push-index stubs */
};

/* Read one SHT_RELA section into the slot tables. */
static void read_relocs(struct plt_ctx *c, Elf_Scn *scn, const GElf_Shdr *sh, int is_plt)
{
	Elf_Scn *symscn = elf_getscn(c->elf, sh->sh_link);
	GElf_Shdr symsh;
	Elf_Data *syms = symscn ? elf_getdata(symscn, NULL) : NULL;
	Elf_Data *d = elf_getdata(scn, NULL);
	if (!d || !sh->sh_entsize || !syms || !gelf_getshdr(symscn, &symsh))
		return;
	size_t n = sh->sh_size / sh->sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Rela r;
		if (!gelf_getrela(d, (int)i, &r))
			break;
		unsigned type = GELF_R_TYPE(r.r_info);
		struct slot s = {r.r_offset, NULL, (uint64_t)r.r_addend};
		if (type == R_X86_64_JUMP_SLOT || type == R_X86_64_GLOB_DAT) {
			GElf_Sym sym;
			if (gelf_getsym(syms, (int)GELF_R_SYM(r.r_info), &sym))
				s.name = elf_strptr(c->elf, symsh.sh_link, sym.st_name);
			if (s.name && !*s.name)
				s.name = NULL;
		} else if (type != R_X86_64_IRELATIVE) {
			continue;
		}
		if (type != R_X86_64_GLOB_DAT || s.name)
			CS_VEC_PUSH(c->slots, s);
		if (is_plt)
			CS_VEC_PUSH(c->lazy, s);
	}
}

static const struct slot *slot_at(const struct plt_ctx *c, uint64_t got)
{
	size_t lo = 0, hi = c->slots.n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (c->slots.v[mid].got < got)
			lo = mid + 1;
		else if (c->slots.v[mid].got > got)
			hi = mid;
		else
			return &c->slots.v[mid];
	}
	return NULL;
}

/* The slot a stub at vaddr (bytes p, len of them) refers to, or NULL. */
static const struct slot *decode_stub(const struct plt_ctx *c, uint64_t vaddr, const uint8_t *p,
				      size_t len)
{
	size_t i = 0;
	if (len >= 4 && p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa)
		i = 4; /* endbr64 */
	if (i < len && p[i] == 0xf2)
		i++; /* bnd prefix */
	if (i + 6 <= len && p[i] == 0xff && p[i + 1] == 0x25) {
		int32_t rel;
		memcpy(&rel, p + i + 2, 4);
		return slot_at(c, vaddr + i + 6 + (int64_t)rel); /* jmp *GOT(%rip) */
	}
	if (i + 5 <= len && p[i] == 0x68) {
		uint32_t idx;
		memcpy(&idx, p + i + 1, 4);
		return idx < c->lazy.n ? &c->lazy.v[idx] : NULL; /* push $index */
	}
	return NULL;
}

static void add_sym(struct symmod *m, struct sym **v, size_t *n, size_t *cap, uint64_t start,
		    uint64_t size, char *name)
{
	CS_GROW(*v, *cap, *n + 1);
	struct sym *y = &(*v)[(*n)++];
	y->start = start;
	y->end = start + size;
	y->name = name;
	y->rank = CS_SYM_RANK_SYNTHETIC;
	y->sized = 1;
	CS_VEC_PUSH(m->owned_names, name);
}

static void stubs_of(struct plt_ctx *c, struct symmod *m, Elf_Scn *scn, const GElf_Shdr *sh,
		     int is_plt, uint64_t bias, struct sym **v, size_t *n, size_t *cap)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	if (!d || !d->d_buf || sh->sh_type != SHT_PROGBITS)
		return;
	size_t ent = sh->sh_entsize >= 8 ? sh->sh_entsize : 16;
	size_t size = d->d_size < sh->sh_size ? d->d_size : sh->sh_size;
	const uint8_t *p = d->d_buf;
	for (size_t off = 0; off + ent <= size; off += ent) {
		uint64_t vaddr = sh->sh_addr + off;
		if (is_plt && off == 0) {
			add_sym(m, v, n, cap, vaddr + bias, ent, cs_xstrdup(".plt"));
			continue;
		}
		const struct slot *s = decode_stub(c, vaddr, p + off, ent);
		if (!s)
			continue;
		char *name = s->name ? cs_xasprintf("%s@plt", s->name)
				     : cs_xasprintf("*ABS*+0x%llx@plt", (unsigned long long)s->addend);
		add_sym(m, v, n, cap, vaddr + bias, ent, name);
	}
}

void cs_plt_symbols(struct symmod *m, Elf *elf, uint64_t bias, struct sym **v, size_t *n,
		    size_t *cap)
{
	size_t shstrndx;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return;
	struct plt_ctx c;
	memset(&c, 0, sizeof(c));
	c.elf = elf;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		const char *name;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA ||
		    !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		if (!strcmp(name, ".rela.plt") || !strcmp(name, ".rela.dyn"))
			read_relocs(&c, scn, &sh, !strcmp(name, ".rela.plt"));
	}
	if (c.slots.n)
		qsort(c.slots.v, c.slots.n, sizeof(*c.slots.v), slot_cmp);
	for (Elf_Scn *scn = NULL; c.slots.n && (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		const char *name;
		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		if (!strcmp(name, ".plt") || !strcmp(name, ".plt.sec") || !strcmp(name, ".plt.got"))
			stubs_of(&c, m, scn, &sh, !strcmp(name, ".plt"), bias, v, n, cap);
	}
	CS_VEC_FREE(c.slots);
	CS_VEC_FREE(c.lazy);
}
