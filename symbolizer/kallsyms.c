/* kallsyms.c - kernel addresses are resolved from /proc/kallsyms, never through libdw
 * (which would misattribute them to whatever user module is closest). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* prefer names without a leading underscore among aliases */
	return (x->name[0] == '_') - (y->name[0] == '_');
}

static void kernel_init(struct cs_symbolizer *s)
{
	s->kinit = 1;
	size_t len;
	s->kbuf = cs_read_file("/proc/kallsyms", 256u << 20, &len);
	if (!s->kbuf)
		return;
	CS_VEC(struct ksym) v = {0};
	char *p = s->kbuf, *end = s->kbuf + len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		*nl = 0;
		/* "ffffffff81000000 T _stext [module]" */
		char *sp1 = strchr(p, ' ');
		if (sp1 && sp1[1] && sp1[2] == ' ') {
			char type = sp1[1];
			char *name = sp1 + 3;
			uint64_t addr = strtoull(p, NULL, 16);
			if (addr && (type == 't' || type == 'T' || type == 'w' || type == 'W')) {
				struct ksym k = {addr, name, ""};
				char *tab = strchr(name, '\t');
				if (tab) {
					*tab = 0;
					char *mod = tab + 1;
					if (*mod == '[') {
						mod++;
						char *close = strchr(mod, ']');
						if (close)
							*close = 0;
					}
					k.module = mod;
				}
				CS_VEC_PUSH(v, k);
			}
		}
		p = nl + 1;
	}
	qsort(v.v, v.n, sizeof(*v.v), ksym_cmp);
	size_t out = 0;
	for (size_t i = 0; i < v.n; i++)
		if (!out || v.v[out - 1].addr != v.v[i].addr)
			v.v[out++] = v.v[i];
	s->ksyms = v.v;
	s->nksyms = out;
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
	size_t lo = 0, hi = s->nksyms;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->ksyms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct ksym *k = lo ? &s->ksyms[lo - 1] : NULL;
	char modname[300];
	snprintf(modname, sizeof(modname), "[%s]", k && k->module[0] ? k->module : "kernel.kallsyms");
	struct cs_module m;
	memset(&m, 0, sizeof(m));
	m.path = m.name = cs_profile_cstr(p, modname);
	m.flags = CS_MODULE_KERNEL;
	f.module = cs_profile_module(p, &m);
	if (k) {
		f.func = cs_profile_cstr(p, k->name);
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
	free(s->ksyms);
	free(s->kbuf);
	s->ksyms = NULL;
	s->kbuf = NULL;
}
