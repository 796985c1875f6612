/* inline.c - per compilation unit, which function and which chain of inlined calls
 * covers an address, and its line.
 *
 * libdw's dwarf_getscopes answers one address by walking the whole DIE tree of its
 * compilation unit, and loses the chain when an inlined call's abstract origin lives in
 * another unit (LTO partitions, partial units): a sqlite3 amalgamation built -g spent
 * 70% of its resolution time there. Instead, the first address looked up in a unit walks
 * that unit once and keeps what every later lookup needs: each function and inlined
 * call with code (a node: its DIE offset and the node it was inlined into), and their
 * address ranges as intervals sorted by start, each linked to the nearest earlier
 * interval that encloses it. A lookup is then a bisection and a short walk up that
 * link; names come later from the DIEs themselves (dwarf_attr_integrate follows
 * abstract origins into any unit). The unit's line table is read on first use too
 * (lines.c, or libdw's reader when that one cannot). */
#include "internal.h"

#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

struct inl_node {
	Dwarf_Off off;	/* the DIE in the module's main Dwarf */
	int32_t parent; /* node this one was inlined into; -1 for a function */
};

struct inl_ival {
	Dwarf_Addr lo, hi; /* [lo, hi) in the unit's DWARF addresses */
	uint32_t node;
	int32_t enc;	/* nearest earlier interval enclosing this one's start, or -1 */
	uint32_t depth; /* nesting depth of the node (ties: outer before inner) */
};

struct cs_unit {
	Dwarf_Die cudie;
	int built; /* nodes and iv */
	struct inl_node *nodes;
	struct inl_ival *iv;
	size_t niv;
	int lines_state; /* 0 not read, 1 lines, -1 read by libdw instead */
	struct cs_linetab lines;
	Dwarf_Files *dw_files; /* libdw's file table, when lines_state is -1 */
	size_t dw_nfiles;
};

struct inl_units {
	struct cs_map64 ix; /* CU DIE offset -> index into v */
	CS_VEC(struct cs_unit *) v;
};

/* Tags whose children may hold code: everything else (types, variables, parameters)
 * is skipped without a look inside. */
static int may_hold_code(int tag)
{
	switch (tag) {
	case DW_TAG_compile_unit:
	case DW_TAG_partial_unit:
	case DW_TAG_namespace:
	case DW_TAG_module:
	case DW_TAG_subprogram:
	case DW_TAG_inlined_subroutine:
	case DW_TAG_lexical_block:
	case DW_TAG_try_block:
	case DW_TAG_catch_block:
	case DW_TAG_with_stmt:
		return 1;
	default:
		return 0;
	}
}

static int ival_cmp(const void *a, const void *b)
{
	const struct inl_ival *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi > y->hi ? -1 : 1; /* the enclosing one first */
	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	return x->node < y->node ? -1 : x->node > y->node;
}

struct walk_item {
	Dwarf_Die die;
	int32_t parent;
	uint32_t depth;
};

/* One pass over the unit's DIE tree. */
static void build_unit(Dwarf_Die *cudie, struct cs_unit *u)
{
	CS_VEC(struct inl_node) nodes = {0};
	CS_VEC(struct inl_ival) iv = {0};
	CS_VEC(struct walk_item) stack = {0};
	struct walk_item top = {.parent = -1, .depth = 0};
	if (dwarf_child(cudie, &top.die) == 0)
		CS_VEC_PUSH(stack, top);
	while (stack.n) {
		struct walk_item it = stack.v[--stack.n];
		/* the next sibling waits on the stack while this DIE's children are seen */
		struct walk_item sib = it;
		if (dwarf_siblingof(&it.die, &sib.die) == 0)
			CS_VEC_PUSH(stack, sib);
		int tag = dwarf_tag(&it.die);
		if (!may_hold_code(tag))
			continue;
		int32_t parent = it.parent;
		uint32_t depth = it.depth;
		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
			Dwarf_Addr base, lo, hi;
			ptrdiff_t off = 0;
			int32_t me = (int32_t)nodes.n;
			int any = 0;
			while ((off = dwarf_ranges(&it.die, off, &base, &lo, &hi)) > 0) {
				if (hi <= lo)
					continue;
				struct inl_ival v = {lo, hi, (uint32_t)me, -1, depth + 1};
				CS_VEC_PUSH(iv, v);
				any = 1;
			}
			if (!any && tag == DW_TAG_subprogram)
				continue; /* an abstract definition or a declaration: no code inside */
			if (any) {
				/* A function with code of its own is a root even when nested (GCC
				 * nested functions, methods of local classes): it is not inlined. */
				struct inl_node n = {dwarf_dieoffset(&it.die),
						     tag == DW_TAG_subprogram ? -1 : parent};
				CS_VEC_PUSH(nodes, n);
				parent = me;
				depth++;
			}
		}
		struct walk_item child = {.parent = parent, .depth = depth};
		if (dwarf_child(&it.die, &child.die) == 0)
			CS_VEC_PUSH(stack, child);
	}
	CS_VEC_FREE(stack);
	if (iv.n)
		qsort(iv.v, iv.n, sizeof(*iv.v), ival_cmp);
	/* Link each interval to the nearest earlier one still open at its start. */
	int32_t *open = cs_xmalloc((iv.n + 1) * sizeof(*open));
	size_t nopen = 0;
	for (size_t i = 0; i < iv.n; i++) {
		while (nopen && iv.v[open[nopen - 1]].hi <= iv.v[i].lo)
			nopen--;
		iv.v[i].enc = nopen ? open[nopen - 1] : -1;
		open[nopen++] = (int32_t)i;
	}
	free(open);
	u->nodes = nodes.v;
	u->iv = iv.v;
	u->niv = iv.n;
}

struct cs_unit *cs_unit_at(struct symmod *m, Dwarf_Addr a, Dwarf_Addr *x)
{
	Dwarf_Addr cubias = 0;
	Dwarf_Die *cudie = m->smod ? dwfl_module_addrdie(m->smod, a, &cubias) : NULL;
	if (!cudie)
		return NULL;
	*x = a - cubias;
	struct inl_units *t = m->inl;
	if (!t) {
		t = m->inl = cs_xcalloc(1, sizeof(*t));
		cs_map64_init(&t->ix);
	}
	uint64_t key = dwarf_dieoffset(cudie);
	uint64_t *slot = cs_map64_get(&t->ix, key);
	if (slot)
		return t->v.v[*slot];
	struct cs_unit *u = cs_xcalloc(1, sizeof(*u));
	u->cudie = *cudie;
	*cs_map64_put(&t->ix, key, t->v.n, NULL) = t->v.n;
	CS_VEC_PUSH(t->v, u);
	return u;
}

size_t cs_unit_chain(struct cs_unit *u, Dwarf_Addr x, Dwarf_Die *out, size_t cap)
{
	if (!u->built) {
		build_unit(&u->cudie, u);
		u->built = 1;
	}
	/* the last interval starting at or before x, then outwards to one containing x */
	size_t lo = 0, hi = u->niv;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (u->iv[mid].lo <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	int32_t j = (int32_t)lo - 1;
	while (j >= 0 && x >= u->iv[j].hi)
		j = u->iv[j].enc;
	if (j < 0)
		return 0;
	Dwarf *dbg = dwarf_cu_getdwarf(u->cudie.cu);
	size_t n = 0;
	for (int32_t k = (int32_t)u->iv[j].node; k >= 0 && n < cap; k = u->nodes[k].parent) {
		if (!dwarf_offdie(dbg, u->nodes[k].off, &out[n]))
			break;
		n++;
	}
	return n;
}

static void read_lines(struct cs_unit *u)
{
	if (cs_linetab_read(&u->cudie, &u->lines) == 0) {
		u->lines_state = 1;
		return;
	}
	u->lines_state = -1;
	if (dwarf_getsrcfiles(&u->cudie, &u->dw_files, &u->dw_nfiles) != 0) {
		u->dw_files = NULL;
		u->dw_nfiles = 0;
	}
}

const char *cs_unit_line(struct cs_unit *u, Dwarf_Addr x, int *line)
{
	if (!u->lines_state)
		read_lines(u);
	*line = 0;
	if (u->lines_state > 0) {
		const struct cs_line *l = cs_linetab_find(&u->lines, x);
		if (!l)
			return NULL;
		*line = (int)l->line;
		return cs_linetab_file(&u->lines, l->file);
	}
	Dwarf_Line *l = dwarf_getsrc_die(&u->cudie, x);
	if (!l)
		return NULL;
	dwarf_lineno(l, line);
	return dwarf_linesrc(l, NULL, NULL);
}

const char *cs_unit_file(struct cs_unit *u, uint64_t file)
{
	if (!u->lines_state)
		read_lines(u);
	if (u->lines_state > 0)
		return cs_linetab_file(&u->lines, file);
	return u->dw_files && file < u->dw_nfiles ? dwarf_filesrc(u->dw_files, file, NULL, NULL)
						  : NULL;
}

void cs_inline_free(struct symmod *m)
{
	struct inl_units *t = m->inl;
	if (!t)
		return;
	for (size_t i = 0; i < t->v.n; i++) {
		struct cs_unit *u = t->v.v[i];
		free(u->nodes);
		free(u->iv);
		cs_linetab_release(&u->lines);
		free(u);
	}
	CS_VEC_FREE(t->v);
	cs_map64_release(&t->ix);
	free(t);
	m->inl = NULL;
}
