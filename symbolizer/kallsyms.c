/* kallsyms.c - kernel addresses are resolved from /proc/kallsyms, never through libdw
 * (which would misattribute them to whatever user module is closest).
 *
 * Generating /proc/kallsyms costs the kernel 50-100 ms of CPU on every read. Its
 * addresses change only at boot (KASLR) and when modules come and go, so the text
 * symbols are kept as a sorted binary table in a private per-user cache keyed by the
 * boot id and the module list, and later runs read it and search it in place. The
 * entry is checksummed (util/cache.h): a damaged or edited one is rebuilt.
 * CSAMPLER_NO_CACHE=1 disables the cache.
 *
 * Table layout (host byte order): "CSKSYM01" | u64 count | count x {u64 addr,
 * u32 name, u32 module} sorted by addr | NUL-terminated strings (offsets from the
 * start of the string area; module 0 is "").
 */
#include "internal.h"
#include "util/cache.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KMAGIC "CSKSYM01"

struct kent {
	uint64_t addr;
	uint32_t name, module;
};

static char *cache_path(void)
{
	const char *no = getenv("CSAMPLER_NO_CACHE");
	if (no && *no && strcmp(no, "0"))
		return NULL;
	char *dir = cs_cache_dir();
	if (!dir)
		return NULL;
	size_t n;
	char *boot = cs_read_file("/proc/sys/kernel/random/boot_id", 256, &n);
	char *mods = cs_read_file("/proc/modules", 16u << 20, &n);
	char *path = NULL;
	if (boot) {
		boot[strcspn(boot, "\n")] = 0;
		uint64_t h = cs_hash_bytes(mods ? mods : "", mods ? strlen(mods) : 0, 0x6b);
		path = cs_xasprintf("%s/kallsyms-%s-%016llx", dir, boot, (unsigned long long)h);
	}
	free(boot);
	free(mods);
	free(dir);
	return path;
}

static int kent_cmp(const void *a, const void *b)
{
	const struct kent *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Build the table from /proc/kallsyms into a heap buffer. */
static void *build_table(size_t *size)
{
	size_t len;
	char *text = cs_read_file("/proc/kallsyms", 256u << 20, &len);
	if (!text)
		return NULL;
	CS_VEC(struct kent) v = {0};
	CS_VEC(char) strs = {0};
	CS_VEC_PUSH(strs, 0); /* offset 0: "" */
	char *p = text, *end = text + len;
	char lastmod[256] = "";
	uint32_t lastmod_off = 0;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		*nl = 0;
		/* "ffffffff81000000 T _stext\t[module]" */
		char *sp1 = strchr(p, ' ');
		if (sp1 && sp1[1] && sp1[2] == ' ') {
			char type = sp1[1];
			char *name = sp1 + 3;
			uint64_t addr = strtoull(p, NULL, 16);
			if (addr && (type == 't' || type == 'T' || type == 'w' || type == 'W')) {
				struct kent k = {addr, 0, 0};
				char *tab = strchr(name, '\t');
				if (tab) {
					*tab = 0;
					char *mod = tab + 1;
					if (*mod == '[')
						mod++;
					mod[strcspn(mod, "]")] = 0;
					if (strcmp(mod, lastmod)) { /* modules come in runs */
						snprintf(lastmod, sizeof(lastmod), "%s", mod);
						lastmod_off = (uint32_t)strs.n;
						for (const char *c = mod; *c; c++)
							CS_VEC_PUSH(strs, *c);
						CS_VEC_PUSH(strs, 0);
					}
					k.module = lastmod_off;
				}
				k.name = (uint32_t)strs.n;
				for (const char *c = name; *c; c++)
					CS_VEC_PUSH(strs, *c);
				CS_VEC_PUSH(strs, 0);
				CS_VEC_PUSH(v, k);
			}
		}
		p = nl + 1;
	}
	free(text);
	qsort(v.v, v.n, sizeof(*v.v), kent_cmp);
	/* One symbol per address; prefer a name without a leading underscore. */
	size_t out = 0;
	for (size_t i = 0; i < v.n; i++) {
		if (out && v.v[out - 1].addr == v.v[i].addr) {
			if (strs.v[v.v[out - 1].name] == '_' && strs.v[v.v[i].name] != '_')
				v.v[out - 1] = v.v[i];
			continue;
		}
		v.v[out++] = v.v[i];
	}
	*size = 16 + out * sizeof(struct kent) + strs.n;
	uint8_t *t = cs_xmalloc(*size);
	uint64_t count = out;
	memcpy(t, KMAGIC, 8);
	memcpy(t + 8, &count, 8);
	memcpy(t + 16, v.v, out * sizeof(struct kent));
	memcpy(t + 16 + out * sizeof(struct kent), strs.v, strs.n);
	CS_VEC_FREE(v);
	CS_VEC_FREE(strs);
	return t;
}

/* Accept a table only if every offset in it is inside it. */
static int table_ok(const uint8_t *t, size_t size)
{
	if (size < 17 || memcmp(t, KMAGIC, 8))
		return 0;
	uint64_t count;
	memcpy(&count, t + 8, 8);
	if (count > (size - 16) / sizeof(struct kent))
		return 0;
	size_t strn = size - 16 - count * sizeof(struct kent);
	const struct kent *k = (const struct kent *)(t + 16);
	const char *strs = (const char *)(k + count);
	if (!strn || strs[strn - 1] != 0)
		return 0;
	for (uint64_t i = 0; i < count; i++)
		if (k[i].name >= strn || k[i].module >= strn || (i && k[i].addr < k[i - 1].addr))
			return 0;
	return 1;
}

static void kernel_init(struct cs_symbolizer *s)
{
	s->kinit = 1;
	char *cache = cache_path();
	struct cs_cache_entry e;
	if (cache && cs_cache_entry_read(cache, &e) == 0) {
		if (table_ok(e.data, e.size)) {
			s->ktable = e.data; /* ours to free */
			s->ktable_size = e.size;
		} else {
			cs_cache_entry_release(&e);
		}
	}
	if (!s->ktable) {
		size_t size;
		void *t = build_table(&size);
		if (t && table_ok(t, size)) {
			s->ktable = t;
			s->ktable_size = size;
			struct iovec part = {t, size};
			if (cache && size > 17)
				cs_cache_entry_write(cache, &part, 1);
		} else {
			free(t);
		}
	}
	free(cache);
}

size_t cs_kernel_resolve(struct cs_symbolizer *s, struct cs_profile *p, uint64_t addr,
			 uint32_t *out, int *resolved)
{
	if (!s->kinit)
		kernel_init(s);
	struct cs_frame f;
	memset(&f, 0, sizeof(f));
	f.flags = CS_FRAME_KERNEL;
	f.addr = addr;
	const struct kent *k = NULL, *tab = NULL;
	const char *strs = "";
	if (s->ktable) {
		uint64_t count;
		memcpy(&count, (const uint8_t *)s->ktable + 8, 8);
		tab = (const struct kent *)((const uint8_t *)s->ktable + 16);
		strs = (const char *)(tab + count);
		size_t lo = 0, hi = count;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (tab[mid].addr <= addr)
				lo = mid + 1;
			else
				hi = mid;
		}
		k = lo ? &tab[lo - 1] : NULL;
	}
	char modname[300];
	snprintf(modname, sizeof(modname), "[%s]", k && strs[k->module] ? strs + k->module : "kernel.kallsyms");
	struct cs_module m;
	memset(&m, 0, sizeof(m));
	m.path = m.name = cs_profile_cstr(p, modname);
	m.flags = CS_MODULE_KERNEL;
	f.module = cs_profile_module(p, &m);
	if (k) {
		f.func = cs_profile_cstr(p, strs + k->name);
		f.addr = addr - k->addr; /* offset in the function: kernel addresses move */
		*resolved = 1;
	} else {
		f.func = cs_profile_cstr(p, "[unknown]");
		f.flags |= CS_FRAME_UNKNOWN;
		*resolved = 0;
	}
	out[0] = cs_profile_frame(p, &f);
	return 1;
}

void cs_kernel_free(struct cs_symbolizer *s)
{
	free(s->ktable);
	s->ktable = NULL;
}
