/* symcache.c - resolved frames per module and address, kept across runs.
 *
 * Resolving an address in a library whose separate debug info is compressed (Debian's
 * libc6-dbg, for one) first inflates all of its debug sections: tens of milliseconds,
 * every run. The frames an address resolves to depend only on the module's contents
 * (its build-id) and on the debug info found for it, so they are cached in
 * CACHE/syms/BUILDID-SIG, where SIG hashes what libdwfl would find: whether the module
 * carries .debug_info, and the size and time of every file at the places it looks for
 * separate debug info (by build-id and by .gnu_debuglink). Installing or removing
 * debug info changes SIG, so a cached answer is never stale. Entries carry a checksum
 * (util/cache.h): a damaged or edited one is ignored and rebuilt.
 *
 * File (host byte order): "CSSYMC01" | u32 nents | u32 nframes | u32 nstrs (bytes) |
 * u32 0 | nents x {u64 vaddr, u32 first, u16 count, u16 resolved} sorted by vaddr |
 * nframes x {u32 func, u32 file, u32 line, u32 flags} | strings (offsets into them).
 */
#include "internal.h"
#include "util/cache.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "CSSYMC01"
#define MAX_ENTS 400000

struct centry {
	uint64_t vaddr;
	uint32_t first;
	uint16_t count, resolved;
};

struct cframe {
	uint32_t func, file, line, flags;
};

struct symcache {
	char *path;
	struct cs_cache_entry file; /* what earlier runs found */
	const struct centry *ents;
	size_t nents;
	const struct cframe *frames;
	size_t nframes;
	const char *strs;
	size_t nstrs;
	/* found this run, looked up as the file's entries are (vaddr -> 1 + index in add),
	 * so that continuous mode, which resolves an address again in every window, does
	 * it once and never records it twice; at most MAX_ENTS entries in all */
	CS_VEC(struct centry) add;
	CS_VEC(struct cframe) add_frames;
	struct cs_map64 add_ix;
	struct cs_profile names; /* interns the strings of new entries */
};

/* Hash in the size and time of path, named by path + skip. */
static void stat_into(uint64_t *h, const char *path, size_t skip)
{
	struct stat st;
	if (stat(path, &st) == 0)
		*h = cs_hash_u64(
		    *h ^ cs_hash_bytes(path + skip, strlen(path + skip), (uint64_t)st.st_size) ^
		    (uint64_t)st.st_mtime);
}

/* Bump when resolution itself changes (names, inline chains, lines): an answer cached
 * by an older csampler for the same module must not be served. */
#define RESOLVER_REVISION 2

/* What libdwfl would find as debug info for this module, as a hash. */
static uint64_t debug_signature(struct cs_symbolizer *s, struct symmod *m)
{
	uint64_t h = cs_hash_bytes(CS_VERSION, strlen(CS_VERSION), 0x5157 + RESOLVER_REVISION);
	size_t shstrndx;
	const char *link = NULL;
	if (elf_getshdrstrndx(m->elf, &shstrndx) == 0) {
		for (Elf_Scn *scn = NULL; (scn = elf_nextscn(m->elf, scn));) {
			GElf_Shdr sh;
			if (!gelf_getshdr(scn, &sh))
				continue;
			const char *name = elf_strptr(m->elf, shstrndx, sh.sh_name);
			if (!name)
				continue;
			if (!strcmp(name, ".debug_info"))
				h = cs_hash_u64(h ^ 1);
			if (!strcmp(name, ".gnu_debuglink")) {
				Elf_Data *d = elf_getdata(scn, NULL);
				if (d && d->d_size > 4 && memchr(d->d_buf, 0, d->d_size))
					link = d->d_buf;
			}
		}
	}
	/* by build-id under every absolute directory of the debuginfo path, and for a
	 * module of another mount namespace under its root too (debugfind.c); a path under
	 * a root is hashed as that namespace names it (the descriptor differs per run) */
	char hex[2 * sizeof(m->build_id) + 1];
	cs_symmod_build_id_hex(m, hex);
	size_t rootlen = cs_root_len(m->dwfl_name);
	char *dirs = cs_xstrdup(s->debuginfo_path);
	for (char *tok = strtok(dirs, ":"); tok; tok = strtok(NULL, ":")) {
		if (tok[0] != '/' || (s->debug_cache && !strcmp(tok, s->debug_cache)))
			continue; /* our uncompressed copy holds what the original holds */
		char *p = cs_xasprintf("%s/.build-id/%.2s/%s.debug", tok, hex, hex + 2);
		stat_into(&h, p, 0);
		free(p);
		if (rootlen) {
			p = cs_xasprintf("%.*s%s/.build-id/%.2s/%s.debug", (int)rootlen,
					 m->dwfl_name, tok, hex, hex + 2);
			stat_into(&h, p, rootlen);
			free(p);
		}
	}
	free(dirs);
	/* by .gnu_debuglink: next to the file, in .debug/, under /usr/lib/debug */
	if (link && !strchr(link, '/')) {
		char *dir = cs_xstrdup(m->file_name);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = 0;
		const char *fmts[] = {"%s/%s", "%s/.debug/%s", "/usr/lib/debug%s/%s"};
		for (size_t i = 0; i < CS_ARRAY_SIZE(fmts); i++) {
			char *p = cs_xasprintf(fmts[i], dir, link);
			stat_into(&h, p, 0);
			if (rootlen) {
				char *q = cs_xasprintf("%.*s%s", (int)rootlen, m->dwfl_name, p);
				stat_into(&h, q, rootlen);
				free(q);
			}
			free(p);
		}
		for (size_t i = 0; i < s->o.n_debug_dirs; i++) {
			char *p = cs_xasprintf("%s%s/%s", s->o.debug_dirs[i], dir, link);
			stat_into(&h, p, 0);
			free(p);
			p = cs_xasprintf("%s/%s", s->o.debug_dirs[i], link);
			stat_into(&h, p, 0);
			free(p);
		}
		free(dir);
	}
	return h;
}

static int valid(const uint8_t *p, size_t size, struct symcache *c)
{
	if (size < 24 || memcmp(p, MAGIC, 8))
		return 0;
	uint32_t ne, nf, ns;
	memcpy(&ne, p + 8, 4);
	memcpy(&nf, p + 12, 4);
	memcpy(&ns, p + 16, 4);
	size_t need = 24 + (size_t)ne * sizeof(struct centry) + (size_t)nf * sizeof(struct cframe) + ns;
	if (need != size || ns == 0)
		return 0;
	const struct centry *e = (const void *)(p + 24);
	const struct cframe *f = (const void *)(e + ne);
	const char *strs = (const char *)(f + nf);
	if (strs[ns - 1])
		return 0;
	for (uint32_t i = 0; i < ne; i++)
		if ((uint64_t)e[i].first + e[i].count > nf || !e[i].count ||
		    (i && e[i].vaddr <= e[i - 1].vaddr))
			return 0;
	for (uint32_t i = 0; i < nf; i++)
		if (f[i].func >= ns || f[i].file >= ns)
			return 0;
	c->ents = e;
	c->nents = ne;
	c->frames = f;
	c->nframes = nf;
	c->strs = strs;
	c->nstrs = ns;
	return 1;
}

/* Load the cache of module m (once). Returns it, or NULL if m cannot be cached. */
static struct symcache *cache_of(struct cs_symbolizer *s, struct symmod *m)
{
	if (m->cache_state)
		return m->cache_state > 0 ? m->cache : NULL;
	m->cache_state = -1;
	const char *no = getenv("CSAMPLER_NO_CACHE");
	if ((no && *no && strcmp(no, "0")) || !m->build_id_len || !m->elf)
		return NULL;
	char *sub = cs_cache_subdir("syms");
	if (!sub)
		return NULL;
	struct symcache *c = cs_xcalloc(1, sizeof(*c));
	char hex[2 * sizeof(m->build_id) + 1];
	cs_symmod_build_id_hex(m, hex);
	c->path = cs_xasprintf("%s/%s-%016llx", sub, hex, (unsigned long long)debug_signature(s, m));
	free(sub);
	cs_profile_init(&c->names);
	cs_map64_init(&c->add_ix);
	/* A damaged or edited entry fails its checksum and is rebuilt from scratch. */
	if (cs_cache_entry_read(c->path, &c->file) == 0 && !valid(c->file.data, c->file.size, c))
		cs_cache_entry_release(&c->file);
	m->cache = c;
	m->cache_state = 1;
	return c;
}

size_t cs_symcache_lookup(struct cs_symbolizer *s, struct symmod *m, struct cs_profile *p,
			  uint32_t module, uint64_t vaddr, uint32_t *out, size_t cap, int *resolved)
{
	struct symcache *c = cache_of(s, m);
	if (!c)
		return 0;
	const uint64_t *added = cs_map64_get(&c->add_ix, vaddr);
	if (added) { /* resolved earlier in this run */
		const struct centry *e = &c->add.v[*added - 1];
		size_t n = CS_MIN((size_t)e->count, cap);
		for (size_t i = 0; i < n; i++) {
			const struct cframe *cf = &c->add_frames.v[e->first + i];
			struct cs_frame f;
			f.func = cs_profile_cstr(p, cs_str(&c->names, cf->func));
			f.file = cs_profile_cstr(p, cs_str(&c->names, cf->file));
			f.line = cf->line;
			f.module = module;
			f.flags = cf->flags;
			f.addr = vaddr;
			out[i] = cs_profile_frame(p, &f);
		}
		*resolved = e->resolved;
		return n;
	}
	if (!c->nents)
		return 0;
	size_t lo = 0, hi = c->nents;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (c->ents[mid].vaddr < vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == c->nents || c->ents[lo].vaddr != vaddr)
		return 0;
	const struct centry *e = &c->ents[lo];
	size_t n = CS_MIN((size_t)e->count, cap);
	for (size_t i = 0; i < n; i++) {
		const struct cframe *cf = &c->frames[e->first + i];
		struct cs_frame f;
		f.func = cs_profile_cstr(p, c->strs + cf->func);
		f.file = cs_profile_cstr(p, c->strs + cf->file);
		f.line = cf->line;
		f.module = module;
		f.flags = cf->flags;
		f.addr = vaddr;
		out[i] = cs_profile_frame(p, &f);
	}
	*resolved = e->resolved;
	return n;
}

void cs_symcache_add(struct cs_symbolizer *s, struct symmod *m, const struct cs_profile *p,
		     uint64_t vaddr, const uint32_t *ids, size_t n, int resolved)
{
	struct symcache *c = cache_of(s, m);
	if (!c || !n || n > 0xffff || c->nents + c->add.n >= MAX_ENTS ||
	    cs_map64_get(&c->add_ix, vaddr))
		return;
	*cs_map64_put(&c->add_ix, vaddr, 0, NULL) = c->add.n + 1;
	struct centry e = {vaddr, (uint32_t)c->add_frames.n, (uint16_t)n, (uint16_t)!!resolved};
	for (size_t i = 0; i < n; i++) {
		const struct cs_frame *f = &p->frames.v[ids[i]];
		uint32_t fn = cs_profile_str(&c->names, cs_str(p, f->func), cs_strlen(p, f->func));
		uint32_t fl = cs_profile_str(&c->names, cs_str(p, f->file), cs_strlen(p, f->file));
		struct cframe cf = {fn, fl, f->line, f->flags};
		CS_VEC_PUSH(c->add_frames, cf);
	}
	CS_VEC_PUSH(c->add, e);
}

static const struct centry *g_add_ents; /* qsort context */

static int add_cmp(const void *a, const void *b)
{
	const struct centry *x = &g_add_ents[*(const uint32_t *)a], *y = &g_add_ents[*(const uint32_t *)b];
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

/* Merge what this run found into the file, atomically. */
static void flush(struct symcache *c)
{
	struct cs_profile out; /* used only as a string interner */
	cs_profile_init(&out);
	CS_VEC(struct centry) ents = {0};
	CS_VEC(struct cframe) frames = {0};
	uint32_t *order = cs_xmalloc((c->add.n + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < c->add.n; i++)
		order[i] = (uint32_t)i;
	g_add_ents = c->add.v;
	qsort(order, c->add.n, sizeof(uint32_t), add_cmp);
	size_t i = 0, j = 0;
	while (i < c->nents || j < c->add.n) {
		int take_old = j == c->add.n ||
			       (i < c->nents && c->ents[i].vaddr <= c->add.v[order[j]].vaddr);
		const struct centry *e = take_old ? &c->ents[i] : &c->add.v[order[j]];
		const struct cframe *src = take_old ? c->frames : c->add_frames.v;
		const char *strs = take_old ? c->strs : NULL;
		if (!ents.n || ents.v[ents.n - 1].vaddr != e->vaddr) {
			struct centry ne = {e->vaddr, (uint32_t)frames.n, e->count, e->resolved};
			for (uint16_t k = 0; k < e->count; k++) {
				const struct cframe *f = &src[e->first + k];
				const char *fn = strs ? strs + f->func : cs_str(&c->names, f->func);
				const char *fl = strs ? strs + f->file : cs_str(&c->names, f->file);
				uint32_t a = cs_profile_cstr(&out, fn), b = cs_profile_cstr(&out, fl);
				struct cframe nf = {(uint32_t)out.strs.off[a], (uint32_t)out.strs.off[b],
						    f->line, f->flags};
				CS_VEC_PUSH(frames, nf);
			}
			CS_VEC_PUSH(ents, ne);
		}
		if (take_old)
			i++;
		else
			j++;
	}
	uint8_t head[24];
	uint32_t ne = (uint32_t)ents.n, nf = (uint32_t)frames.n, ns = (uint32_t)out.strs.arena_n;
	memcpy(head, MAGIC, 8);
	memcpy(head + 8, &ne, 4);
	memcpy(head + 12, &nf, 4);
	memcpy(head + 16, &ns, 4);
	memset(head + 20, 0, 4);
	struct iovec parts[] = {
		{head, 24},
		{ents.v, ents.n * sizeof(*ents.v)},
		{frames.v, frames.n * sizeof(*frames.v)},
		{out.strs.arena, out.strs.arena_n},
	};
	cs_cache_entry_write(c->path, parts, (int)CS_ARRAY_SIZE(parts));
	free(order);
	CS_VEC_FREE(ents);
	CS_VEC_FREE(frames);
	cs_profile_release(&out);
}

void cs_symcache_close(struct symmod *m)
{
	struct symcache *c = m->cache;
	if (!c)
		return;
	if (c->add.n)
		flush(c);
	cs_cache_entry_release(&c->file);
	CS_VEC_FREE(c->add);
	CS_VEC_FREE(c->add_frames);
	cs_map64_release(&c->add_ix);
	cs_profile_release(&c->names);
	free(c->path);
	free(c);
	m->cache = NULL;
}
