/* aspace.c - the address space of each process: its executable file mappings (each
 * a module of the registry with its load bias) and its anonymous executable memory
 * (JIT code), kept up to date from /proc and from perf's MMAP, FORK and COMM records.
 * Nothing is forgotten but what a new mapping replaces, so late samples still find
 * the code they ran. */
#include "walk.h"
#include "util/proc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct aspace *cs_space_get(struct cs_symbolizer *s, pid_t pid)
{
	uint64_t *slot = cs_map64_get(&s->space_ix, (uint64_t)pid);
	return slot ? s->spaces.v[*slot] : NULL;
}

static struct aspace *space_new(struct cs_symbolizer *s, pid_t pid)
{
	struct aspace *a = cs_space_get(s, pid);
	if (a) {
		/* pid reuse or re-exec: keep the object, forget the mappings */
		a->maps.n = 0;
		a->jit.n = 0;
		cs_map64_release(&a->callsites);
		cs_map64_init(&a->callsites);
		a->rebuild = 1;
		return a;
	}
	a = cs_xcalloc(1, sizeof(*a));
	cs_map64_init(&a->rules);
	cs_map64_init(&a->callsites);
	a->pid = pid;
	*cs_map64_put(&s->space_ix, (uint64_t)pid, s->spaces.n, NULL) = s->spaces.n;
	CS_VEC_PUSH(s->spaces, a);
	return a;
}

void cs_space_retire_dwfl(struct aspace *a)
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

/* Cut [start, end) out of the file mappings (a new mmap replaces what it overlaps). */
static void space_cut(struct aspace *a, uint64_t start, uint64_t end)
{
	size_t n = a->maps.n;
	struct amap *v = a->maps.v;
	CS_VEC(struct amap) out = {0};
	for (size_t i = 0; i < n; i++) {
		struct amap m = v[i];
		if (m.end <= start || m.start >= end) {
			CS_VEC_PUSH(out, m);
			continue;
		}
		if (m.reported)
			a->rebuild = 1; /* the Dwfl knows a module that is (partly) gone */
		if (m.start < start) {
			struct amap left = m;
			left.end = start;
			CS_VEC_PUSH(out, left);
		}
		if (m.end > end) {
			struct amap right = m;
			right.pgoff += end - m.start;
			right.start = end;
			CS_VEC_PUSH(out, right);
		}
	}
	free(a->maps.v);
	a->maps.v = out.v;
	a->maps.n = out.n;
	a->maps.cap = out.cap;
}

/* Cut [start, end) out of the JIT ranges; with add, then make it one. */
static void jit_update(struct aspace *a, uint64_t start, uint64_t end, int add)
{
	CS_VEC(struct jit_range) out = {0};
	for (size_t i = 0; i < a->jit.n; i++) {
		struct jit_range r = a->jit.v[i];
		if (r.end <= start || r.start >= end) {
			CS_VEC_PUSH(out, r);
			continue;
		}
		if (r.start < start) {
			struct jit_range left = {r.start, start};
			CS_VEC_PUSH(out, left);
		}
		if (r.end > end) {
			struct jit_range right = {end, r.end};
			CS_VEC_PUSH(out, right);
		}
	}
	if (add) {
		size_t k = 0;
		while (k < out.n && out.v[k].start < start)
			k++;
		CS_GROW(out.v, out.cap, out.n + 1);
		memmove(out.v + k + 1, out.v + k, (out.n - k) * sizeof(*out.v));
		out.v[k].start = start;
		out.v[k].end = end;
		out.n++;
	}
	CS_VEC_FREE(a->jit);
	a->jit.v = out.v;
	a->jit.n = out.n;
	a->jit.cap = out.cap;
}

static void space_insert(struct aspace *a, const struct amap *nm)
{
	size_t k;
	space_cut(a, nm->start, nm->end);
	jit_update(a, nm->start, nm->end, 0);
	for (k = 0; k < a->maps.n && a->maps.v[k].start < nm->start; k++)
		;
	CS_GROW(a->maps.v, a->maps.cap, a->maps.n + 1);
	memmove(a->maps.v + k + 1, a->maps.v + k, (a->maps.n - k) * sizeof(*a->maps.v));
	a->maps.v[k] = *nm;
	a->maps.n++;
	a->dirty = 1;
}

const struct jit_range *cs_space_jit(const struct aspace *a, uint64_t addr)
{
	size_t lo = 0, hi = a->jit.n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct jit_range *r = &a->jit.v[mid];
		if (addr < r->start)
			hi = mid;
		else if (addr >= r->end)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

/* Executable memory without a file: JIT compilers' code (node, python -X perf, the
 * JVM), trampolines. "[anon:NAME]" is anonymous memory named with prctl. */
static int anonymous(const char *path)
{
	return !path[0] || !strncmp(path, "//anon", 6) || !strncmp(path, "/memfd:", 7) ||
	       !strncmp(path, "[anon", 5);
}

static void add_mapping(struct cs_symbolizer *s, struct aspace *a, const struct cs_mapping *m)
{
	if (!(m->prot & PROT_EXEC) || !m->len)
		return;
	if (anonymous(m->path)) {
		/* JIT code: no file to read; unwound by frame pointers, named by perf maps */
		space_cut(a, m->start, m->start + m->len);
		jit_update(a, m->start, m->start + m->len, 1);
		return;
	}
	if (m->path[0] == '[' && strcmp(m->path, "[vdso]"))
		return; /* [vsyscall], [uprobes] */
	struct amap am;
	am.start = m->start;
	am.end = m->start + m->len;
	am.pgoff = m->pgoff;
	am.mod = cs_symmod_get(s, a->pid, m);
	/* The same mapping seen again (a refresh from /proc): nothing changes. */
	const struct amap *old = cs_space_map(a, am.start);
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
	struct aspace *a = cs_space_get(s, pid);
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
	struct aspace *parent = cs_space_get(s, ppid);
	struct aspace *a = space_new(s, pid);
	if (parent && parent != a) {
		for (size_t i = 0; i < parent->maps.n; i++) {
			struct amap m = parent->maps.v[i];
			m.reported = 0;
			CS_VEC_PUSH(a->maps, m);
		}
		for (size_t i = 0; i < parent->jit.n; i++)
			CS_VEC_PUSH(a->jit, parent->jit.v[i]);
		a->dirty = 1;
	}
}

void cs_sym_proc_exec(struct cs_symbolizer *s, pid_t pid)
{
	struct aspace *a = cs_space_get(s, pid);
	if (!a)
		a = space_new(s, pid);
	a->maps.n = 0;
	jit_update(a, 0, UINT64_MAX, 0);
	cs_map64_release(&a->callsites);
	cs_map64_init(&a->callsites);
	cs_space_retire_dwfl(a);
	a->exe_pending = 1;
}

void cs_sym_proc_mmap(struct cs_symbolizer *s, pid_t pid, const struct cs_mapping *m)
{
	struct aspace *a = cs_space_get(s, pid);
	if (!a)
		return; /* unknown process: it is loaded from /proc when first sampled */
	add_mapping(s, a, m);
}

int cs_sym_proc_known(struct cs_symbolizer *s, pid_t pid)
{
	return cs_space_get(s, pid) != NULL;
}

const struct amap *cs_space_map(const struct aspace *a, uint64_t addr)
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
	struct aspace *a = cs_space_get(s, pid);
	const struct amap *m = a ? cs_space_map(a, addr) : NULL;
	if (m) {
		f.module = m->mod;
		f.addr = addr - m->bias;
	}
	return f;
}

void cs_space_free(struct aspace *a)
{
	if (a->dwfl)
		dwfl_end(a->dwfl);
	for (size_t j = 0; j < a->retired.n; j++)
		dwfl_end(a->retired.v[j]);
	CS_VEC_FREE(a->retired);
	CS_VEC_FREE(a->maps);
	CS_VEC_FREE(a->jit);
	cs_map64_release(&a->rules);
	cs_map64_release(&a->callsites);
	free(a);
}

void cs_sym_proc_forget(struct cs_symbolizer *s, pid_t pid)
{
	uint64_t *slot = cs_map64_get(&s->space_ix, (uint64_t)pid);
	if (!slot)
		return;
	size_t i = (size_t)*slot, last = s->spaces.n - 1;
	cs_space_free(s->spaces.v[i]);
	cs_map64_del(&s->space_ix, (uint64_t)pid);
	if (i != last) {
		s->spaces.v[i] = s->spaces.v[last];
		*cs_map64_get(&s->space_ix, (uint64_t)s->spaces.v[i]->pid) = i;
	}
	s->spaces.n--;
}

/* Entries of a per-address cache (pc -> unwind rule, return address -> call check)
 * past which it starts afresh: a few MiB, far more than the code a program runs. */
#define SPACE_CACHE_MAX (1u << 18)

void cs_sym_trim(struct cs_symbolizer *s)
{
	for (size_t i = 0; i < s->spaces.n; i++) {
		struct aspace *a = s->spaces.v[i];
		/* Retired when a mapping they reported was replaced: no unwind in progress
		 * uses them between samples, and each holds the files it opened. */
		for (size_t j = 0; j < a->retired.n; j++)
			dwfl_end(a->retired.v[j]);
		a->retired.n = 0;
		if (a->rules.n > SPACE_CACHE_MAX) {
			cs_map64_release(&a->rules);
			cs_map64_init(&a->rules);
		}
		if (a->callsites.n > SPACE_CACHE_MAX) {
			cs_map64_release(&a->callsites);
			cs_map64_init(&a->callsites);
		}
	}
}
