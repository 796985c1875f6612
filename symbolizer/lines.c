/* lines.c - a compilation unit's line table, decoded straight from .debug_line.
 *
 * libdw's dwarf_getsrclines allocates every row separately and then sorts them all:
 * 83 ms for the 200k rows of the sqlite3 amalgamation, most of what resolving a
 * recording of it cost. Here the rows go into one array, and since a sequence's
 * addresses only grow and compilers emit sequences in address order, sorting is
 * usually not needed at all. DWARF 2 to 5 are read; anything this decoder does not
 * understand makes it fail, and the caller falls back to libdw.
 *
 * File names are composed as libdw composes them (a relative name joined to its
 * directory; directory 0 is the compilation directory), so frames read the same
 * whichever decoded them. */
#include "internal.h"

#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

struct rd {
	const uint8_t *p, *end;
	int bad;
};

static uint64_t rd_fixed(struct rd *r, size_t n)
{
	if ((size_t)(r->end - r->p) < n) {
		r->bad = 1;
		r->p = r->end;
		return 0;
	}
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)r->p[i] << (8 * i); /* x86-64 only: little-endian DWARF */
	r->p += n;
	return v;
}

static uint64_t rd_uleb(struct rd *r)
{
	uint64_t v = 0;
	for (unsigned shift = 0; r->p < r->end; shift += 7) {
		uint8_t b = *r->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	r->bad = 1;
	return 0;
}

static int64_t rd_sleb(struct rd *r)
{
	int64_t v = 0;
	unsigned shift = 0;
	uint8_t b = 0x80;
	while (r->p < r->end && (b & 0x80)) {
		b = *r->p++;
		if (shift < 64)
			v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
		shift += 7;
	}
	if (b & 0x80)
		r->bad = 1;
	else if (shift < 64 && (b & 0x40))
		v |= -((int64_t)1 << shift);
	return v;
}

static const char *rd_str(struct rd *r)
{
	const uint8_t *nul = memchr(r->p, 0, (size_t)(r->end - r->p));
	if (!nul) {
		r->bad = 1;
		r->p = r->end;
		return NULL;
	}
	const char *s = (const char *)r->p;
	r->p = nul + 1;
	return s;
}

/* A string at offset off of a string section, or NULL. */
static const char *sec_str(const Elf_Data *d, uint64_t off)
{
	if (!d || off >= d->d_size)
		return NULL;
	const char *s = (const char *)d->d_buf + off;
	return memchr(s, 0, d->d_size - off) ? s : NULL;
}

static Elf_Data *section_data(Elf *elf, const char *want)
{
	size_t shstrndx;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return NULL;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		const char *name;
		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)) ||
		    strcmp(name, want))
			continue;
		if (sh.sh_type == SHT_NOBITS)
			return NULL;
		/* libdw inflated compressed sections when it opened this file; do the
		 * same if it has not (elf_compress is a no-op on plain sections). */
		if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
			return NULL;
		return elf_getdata(scn, NULL);
	}
	return NULL;
}

struct strsecs {
	Elf_Data *str, *line_str;
	int offset_size;
};

/* One attribute value of a DWARF 5 directory or file entry: a string (*s) or a number
 * (*v). 0, or -1 for a form this decoder does not read. */
static int rd_form(struct rd *r, const struct strsecs *ss, uint64_t form, const char **s,
		   uint64_t *v)
{
	*s = NULL;
	*v = 0;
	switch (form) {
	case DW_FORM_string:
		*s = rd_str(r);
		return 0;
	case DW_FORM_line_strp:
		*s = sec_str(ss->line_str, rd_fixed(r, (size_t)ss->offset_size));
		return 0;
	case DW_FORM_strp:
		*s = sec_str(ss->str, rd_fixed(r, (size_t)ss->offset_size));
		return 0;
	case DW_FORM_udata:
		*v = rd_uleb(r);
		return 0;
	case DW_FORM_data1:
		*v = rd_fixed(r, 1);
		return 0;
	case DW_FORM_data2:
		*v = rd_fixed(r, 2);
		return 0;
	case DW_FORM_data4:
		*v = rd_fixed(r, 4);
		return 0;
	case DW_FORM_data8:
		*v = rd_fixed(r, 8);
		return 0;
	case DW_FORM_data16:
		rd_fixed(r, 8);
		rd_fixed(r, 8);
		return 0;
	case DW_FORM_block: {
		uint64_t n = rd_uleb(r);
		if (n > (uint64_t)(r->end - r->p))
			return -1;
		r->p += n;
		return 0;
	}
	default:
		return -1;
	}
}

static char *join_path(const char *dir, const char *name)
{
	if (!name)
		return cs_xstrdup("???");
	if (name[0] == '/' || !dir || !*dir)
		return cs_xstrdup(name);
	return cs_xasprintf("%s/%s", dir, name);
}

/* DWARF 5 directory or file entries: count entries of the given formats. For files,
 * dirs/ndirs resolve the directory index. 0 or -1. */
struct strvec {
	char **v;
	size_t n, cap;
};

static int read_entries5(struct rd *r, const struct strsecs *ss, int files, char **dirs,
			 size_t ndirs, struct strvec *out)
{
	uint64_t nfmt = rd_fixed(r, 1);
	uint64_t fmt[32][2];
	if (nfmt > 32)
		return -1;
	for (uint64_t i = 0; i < nfmt; i++) {
		fmt[i][0] = rd_uleb(r);
		fmt[i][1] = rd_uleb(r);
	}
	uint64_t count = rd_uleb(r);
	for (uint64_t k = 0; k < count && !r->bad; k++) {
		const char *name = NULL;
		uint64_t dir = 0;
		for (uint64_t i = 0; i < nfmt; i++) {
			const char *s;
			uint64_t v;
			if (rd_form(r, ss, fmt[i][1], &s, &v) < 0)
				return -1;
			if (fmt[i][0] == DW_LNCT_path)
				name = s;
			else if (fmt[i][0] == DW_LNCT_directory_index)
				dir = v;
		}
		char *path = files ? join_path(dir < ndirs ? dirs[dir] : NULL, name)
				   : cs_xstrdup(name ? name : "");
		CS_VEC_PUSH(*out, path);
	}
	return r->bad ? -1 : 0;
}

static int row_cmp(const void *a, const void *b)
{
	const struct cs_line *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* a sequence ending where another starts must not hide the other's first row */
	if (x->end_seq != y->end_seq)
		return x->end_seq ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

struct seq {
	uint64_t lo;	    /* first address */
	size_t first, n; /* rows */
};

static int seq_cmp(const void *a, const void *b)
{
	const struct seq *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

/* Put the rows in address order. Each sequence's rows already are (an address only
 * grows within a sequence), so only whole sequences move, unless they overlap. */
static void sort_rows(struct cs_line **rows, size_t n)
{
	CS_VEC(struct seq) seqs = {0};
	int in_order = 1;
	for (size_t i = 0, start = 0; i < n; i++) {
		if (i > start && (*rows)[i].addr < (*rows)[i - 1].addr)
			in_order = 0; /* not monotonic inside a sequence */
		if ((*rows)[i].end_seq || i + 1 == n) {
			struct seq q = {(*rows)[start].addr, start, i + 1 - start};
			CS_VEC_PUSH(seqs, q);
			start = i + 1;
		}
	}
	if (in_order) {
		qsort(seqs.v, seqs.n, sizeof(*seqs.v), seq_cmp);
		/* sequences must not overlap: each ends where or before the next begins */
		for (size_t k = 1; k < seqs.n && in_order; k++) {
			const struct seq *prev = &seqs.v[k - 1];
			in_order = (*rows)[prev->first + prev->n - 1].addr <= seqs.v[k].lo;
		}
	}
	if (in_order) {
		struct cs_line *out = cs_xmalloc(n * sizeof(*out));
		size_t k = 0;
		for (size_t q = 0; q < seqs.n; q++) {
			memcpy(out + k, *rows + seqs.v[q].first, seqs.v[q].n * sizeof(*out));
			k += seqs.v[q].n;
		}
		free(*rows);
		*rows = out;
	} else {
		qsort(*rows, n, sizeof(**rows), row_cmp);
	}
	CS_VEC_FREE(seqs);
}

int cs_linetab_read(Dwarf_Die *cudie, struct cs_linetab *t)
{
	memset(t, 0, sizeof(*t));
	Dwarf_Attribute attr;
	Dwarf_Word stmt;
	if (dwarf_formudata(dwarf_attr(cudie, DW_AT_stmt_list, &attr), &stmt) != 0)
		return -1;
	Dwarf *dbg = dwarf_cu_getdwarf(cudie->cu);
	Elf *elf = dbg ? dwarf_getelf(dbg) : NULL;
	Elf_Data *line = section_data(elf, ".debug_line");
	if (!line || stmt >= line->d_size)
		return -1;
	struct strsecs ss = {section_data(elf, ".debug_str"), section_data(elf, ".debug_line_str"), 4};
	struct rd r = {(const uint8_t *)line->d_buf + stmt, (const uint8_t *)line->d_buf + line->d_size, 0};
	uint64_t unit_len = rd_fixed(&r, 4);
	if (unit_len == 0xffffffffu) {
		unit_len = rd_fixed(&r, 8);
		ss.offset_size = 8;
	}
	if (r.bad || unit_len > (uint64_t)(r.end - r.p))
		return -1;
	r.end = r.p + unit_len;
	unsigned version = (unsigned)rd_fixed(&r, 2);
	if (version < 2 || version > 5)
		return -1;
	if (version >= 5 && (rd_fixed(&r, 1) != 8 || rd_fixed(&r, 1) != 0))
		return -1; /* address size 8, no segment selector */
	uint64_t header_len = rd_fixed(&r, (size_t)ss.offset_size);
	if (r.bad || header_len > (uint64_t)(r.end - r.p))
		return -1;
	const uint8_t *program = r.p + header_len;
	unsigned min_inst = (unsigned)rd_fixed(&r, 1);
	if (version >= 4 && rd_fixed(&r, 1) != 1)
		return -1; /* VLIW op_index: not on x86-64 */
	int default_stmt = (int)rd_fixed(&r, 1);
	int line_base = (int8_t)rd_fixed(&r, 1);
	unsigned line_range = (unsigned)rd_fixed(&r, 1);
	unsigned opcode_base = (unsigned)rd_fixed(&r, 1);
	uint8_t oplen[256] = {0};
	for (unsigned i = 1; i < opcode_base; i++)
		oplen[i] = (uint8_t)rd_fixed(&r, 1);
	if (r.bad || !line_range || !opcode_base)
		return -1;
	(void)default_stmt;

	struct strvec dirs = {0}, files = {0};
	int ok = 0;
	if (version >= 5) {
		ok = read_entries5(&r, &ss, 0, NULL, 0, &dirs) == 0 &&
		     read_entries5(&r, &ss, 1, dirs.v, dirs.n, &files) == 0;
	} else {
		/* directory 0 is the compilation directory; file 0 does not exist */
		const char *comp = dwarf_formstring(dwarf_attr(cudie, DW_AT_comp_dir, &attr));
		CS_VEC_PUSH(dirs, cs_xstrdup(comp ? comp : ""));
		const char *s;
		while ((s = rd_str(&r)) && *s)
			CS_VEC_PUSH(dirs, cs_xstrdup(s));
		CS_VEC_PUSH(files, cs_xstrdup("???"));
		while ((s = rd_str(&r)) && *s) {
			uint64_t dir = rd_uleb(&r);
			rd_uleb(&r); /* mtime */
			rd_uleb(&r); /* length */
			CS_VEC_PUSH(files, join_path(dir < dirs.n ? dirs.v[dir] : NULL, s));
		}
		ok = !r.bad;
	}
	for (size_t i = 0; i < dirs.n; i++)
		free(dirs.v[i]);
	CS_VEC_FREE(dirs);
	t->files = files.v;
	t->nfiles = files.n;
	if (!ok || program > r.end) {
		cs_linetab_release(t);
		return -1;
	}

	/* The line program. */
	r.p = program;
	CS_VEC(struct cs_line) rows = {0};
	/* about one row per three bytes of program: one allocation, rarely a second */
	CS_GROW(rows.v, rows.cap, (size_t)(r.end - r.p) / 3 + 16);
	uint64_t addr = 0, file = 1, lineno = 1;
	int sorted = 1;
	uint64_t last_addr = 0;
	while (r.p < r.end && !r.bad) {
		unsigned op = *r.p++;
		int emit = 0, end_seq = 0;
		if (op >= opcode_base) {
			unsigned adj = op - opcode_base;
			addr += (uint64_t)min_inst * (adj / line_range);
			lineno += (uint64_t)(int64_t)(line_base + (int)(adj % line_range));
			emit = 1;
		} else if (op == 0) {
			uint64_t len = rd_uleb(&r);
			if (!len || len > (uint64_t)(r.end - r.p)) {
				r.bad = 1;
				break;
			}
			const uint8_t *next = r.p + len;
			unsigned sub = *r.p++;
			if (sub == DW_LNE_end_sequence) {
				emit = end_seq = 1;
			} else if (sub == DW_LNE_set_address) {
				addr = rd_fixed(&r, (size_t)(len - 1));
			} else if (sub == DW_LNE_define_file) {
				r.bad = 1; /* DWARF 2-4 only, never emitted by current tools */
			}
			r.p = next;
		} else {
			switch (op) {
			case DW_LNS_copy:
				emit = 1;
				break;
			case DW_LNS_advance_pc:
				addr += (uint64_t)min_inst * rd_uleb(&r);
				break;
			case DW_LNS_advance_line:
				lineno += (uint64_t)rd_sleb(&r);
				break;
			case DW_LNS_set_file:
				file = rd_uleb(&r);
				break;
			case DW_LNS_const_add_pc:
				addr += (uint64_t)min_inst * ((255 - opcode_base) / line_range);
				break;
			case DW_LNS_fixed_advance_pc:
				addr += rd_fixed(&r, 2);
				break;
			default: /* operands we do not need, each a ULEB128 */
				for (unsigned i = 0; i < oplen[op]; i++)
					rd_uleb(&r);
				break;
			}
		}
		if (!emit)
			continue;
		if (rows.n && addr < last_addr)
			sorted = 0;
		last_addr = addr;
		struct cs_line row = {addr, (uint32_t)lineno, (uint32_t)(file < UINT32_MAX ? file : 0),
				      (uint32_t)rows.n, end_seq};
		CS_VEC_PUSH(rows, row);
		if (end_seq) {
			addr = 0;
			file = 1;
			lineno = 1;
		}
	}
	if (r.bad) {
		CS_VEC_FREE(rows);
		cs_linetab_release(t);
		return -1;
	}
	/* Rows at one address keep their order: the last of them is the answer. */
	if (!sorted)
		sort_rows(&rows.v, rows.n);
	t->rows = rows.v;
	t->nrows = rows.n;
	return 0;
}

const struct cs_line *cs_linetab_find(const struct cs_linetab *t, Dwarf_Addr a)
{
	size_t lo = 0, hi = t->nrows;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (t->rows[mid].addr <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct cs_line *l = &t->rows[lo - 1];
	/* an end of sequence is the first address after its code */
	return l->end_seq ? NULL : l;
}

const char *cs_linetab_file(const struct cs_linetab *t, uint64_t file)
{
	return file < t->nfiles ? t->files[file] : NULL;
}

void cs_linetab_release(struct cs_linetab *t)
{
	for (size_t i = 0; i < t->nfiles; i++)
		free(t->files[i]);
	free(t->files);
	free(t->rows);
	memset(t, 0, sizeof(*t));
}
