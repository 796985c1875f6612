/* Unit tests of the symbolizer: unwinding this test's own stack (through libc's qsort)
 * from a register snapshot and a stack copy, exactly as samples are unwound, and
 * resolving the frames to names and lines; resolution on real layouts (PLT stubs of
 * every kind, inline chains within and across LTO units, text mapped twice) compared
 * with binutils (objdump, addr2line -i). */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../e2e/harness.h"
#include "profile/profile.h"
#include "symbolizer/symbolizer.h"

static uint64_t snap_regs[CS_DWARF_NREGS];
static uint8_t snap_stack[65536];
static size_t snap_len;

/* Copy n bytes of stack from `from`. The copy spans other frames, ASan's redzones
 * between their variables included: it is neither instrumented nor a memcpy (which ASan
 * checks wherever it is called), so a sanitizer build reads it as the kernel would. */
__attribute__((no_sanitize_address)) static void copy_stack(uint8_t *to, uintptr_t from, size_t n)
{
	const volatile uint8_t *s = (const volatile uint8_t *)from;
	for (size_t i = 0; i < n; i++)
		to[i] = s[i];
}

/* Take the registers (DWARF order) and a copy of the stack from rsp upwards, as the
 * kernel does for a sample. */
__attribute__((noinline)) static void snapshot(void)
{
	uint64_t *r = snap_regs;
	__asm__ volatile("movq %%rax, 0(%0)\n\t"
			 "movq %%rdx, 8(%0)\n\t"
			 "movq %%rcx, 16(%0)\n\t"
			 "movq %%rbx, 24(%0)\n\t"
			 "movq %%rsi, 32(%0)\n\t"
			 "movq %%rdi, 40(%0)\n\t"
			 "movq %%rbp, 48(%0)\n\t"
			 "movq %%rsp, 56(%0)\n\t"
			 "movq %%r8, 64(%0)\n\t"
			 "movq %%r9, 72(%0)\n\t"
			 "movq %%r10, 80(%0)\n\t"
			 "movq %%r11, 88(%0)\n\t"
			 "movq %%r12, 96(%0)\n\t"
			 "movq %%r13, 104(%0)\n\t"
			 "movq %%r14, 112(%0)\n\t"
			 "movq %%r15, 120(%0)\n\t"
			 "leaq 0(%%rip), %%rax\n\t"
			 "movq %%rax, 128(%0)\n\t"
			 :
			 : "D"(r)
			 : "rax", "memory");
	/* Copy up to the top of this thread's stack. */
	pthread_attr_t at;
	void *base;
	size_t size;
	pthread_getattr_np(pthread_self(), &at);
	pthread_attr_getstack(&at, &base, &size);
	pthread_attr_destroy(&at);
	uint64_t top = (uint64_t)(uintptr_t)base + size;
	snap_len = top - r[7];
	if (snap_len > sizeof(snap_stack))
		snap_len = sizeof(snap_stack);
	copy_stack(snap_stack, (uintptr_t)r[7], snap_len);
}

static int took;

__attribute__((noinline)) static int compare_and_snapshot(const void *a, const void *b)
{
	if (!took) {
		took = 1;
		snapshot();
	}
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

__attribute__((noinline)) static void sort_something(void)
{
	int v[64];
	for (int i = 0; i < 64; i++)
		v[i] = (i * 37) % 64;
	qsort(v, 64, sizeof(int), compare_and_snapshot);
	__asm__ volatile("" ::: "memory");
}

/* Resolve an unwound stack to function names, leaf first. */
static size_t names(struct cs_symbolizer *s, struct cs_profile *p, struct cs_uframe *fr,
		    size_t n, const char **out, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t ids[16];
		int resolved;
		size_t m = cs_sym_resolve(s, p, fr[i], ids, 16, &resolved);
		/* ids are root first; list leaf first. Copies: the arena moves as it grows. */
		for (size_t j = m; j-- > 0 && k < cap;)
			out[k++] = strdup(cs_str(p, p->frames.v[ids[j]].func));
	}
	return k;
}

Test(symbolizer, unwinds_own_stack_through_libc)
{
	took = 0;
	sort_something();
	cr_assert(took);
	struct cs_symbolizer_opts o = {0};
	struct cs_symbolizer *s = cs_symbolizer_new(&o);
	cr_assert_eq(cs_sym_proc_load(s, getpid()), 0);
	struct cs_uframe fr[256];
	size_t n;
	int r = cs_sym_unwind(s, getpid(), gettid(), snap_regs, snap_stack, snap_len, fr, 256, &n);
	cr_expect_eq(r, CS_UNWIND_COMPLETE, "unwinding stopped after %zu frames", n);
	struct cs_profile p;
	cs_profile_init(&p);
	const char *nm[512];
	size_t k = names(s, &p, fr, n, nm, 512);
	/* leaf first: snapshot, compare_and_snapshot, (libc qsort internals), qsort,
	 * sort_something, ... main, ..., _start or clone */
	cr_assert_gt(k, 5);
	cr_expect_str_eq(nm[0], "snapshot");
	cr_expect_str_eq(nm[1], "compare_and_snapshot");
	size_t iq = 0, isort = 0;
	for (size_t i = 0; i < k; i++) {
		if (!iq && strstr(nm[i], "qsort"))
			iq = i;
		if (!strcmp(nm[i], "sort_something"))
			isort = i;
	}
	cr_expect_gt(iq, 1, "a libc qsort frame between the comparator and its caller");
	cr_expect_gt(isort, iq, "sort_something called qsort");
	/* and the outermost frame is a thread root */
	const char *root = nm[k - 1];
	cr_expect(!strcmp(root, "_start") || strstr(root, "clone"), "root frame is %s", root);
	/* the comparator's frame has a source line in this file */
	uint32_t ids[16];
	int resolved;
	size_t m = cs_sym_resolve(s, &p, fr[1], ids, 16, &resolved);
	const struct cs_frame *f = &p.frames.v[ids[m - 1]];
	cr_expect(strstr(cs_str(&p, f->file), "test_symbolizer.c"), "file %s", cs_str(&p, f->file));
	cr_expect_gt(f->line, 0);
	for (size_t i = 0; i < k; i++)
		free((char *)nm[i]);
	cs_profile_release(&p);
	cs_symbolizer_free(s);
}

Test(symbolizer, truncated_copy_is_reported)
{
	took = 0;
	sort_something();
	struct cs_symbolizer_opts o = {0};
	struct cs_symbolizer *s = cs_symbolizer_new(&o);
	cr_assert_eq(cs_sym_proc_load(s, getpid()), 0);
	struct cs_uframe fr[256];
	size_t n;
	/* 64 bytes of stack cannot hold the whole chain. */
	int r = cs_sym_unwind(s, getpid(), gettid(), snap_regs, snap_stack, 64, fr, 256, &n);
	cr_expect_eq(r, CS_UNWIND_TRUNCATED, "%zu frames, result %d", n, r);
	cr_expect_geq(n, 1);
	cs_symbolizer_free(s);
}

Test(symbolizer, symbol_lookup_and_unknown_addresses)
{
	struct cs_symbolizer_opts o = {0};
	struct cs_symbolizer *s = cs_symbolizer_new(&o);
	cr_assert_eq(cs_sym_proc_load(s, getpid()), 0);
	struct cs_profile p;
	cs_profile_init(&p);
	/* A libc function by its address: libc's own, not a sanitizer's interceptor. */
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	cr_assert(libc);
	struct cs_uframe f = cs_sym_locate(s, getpid(), (uint64_t)(uintptr_t)dlsym(libc, "qsort"));
	dlclose(libc);
	cr_assert_neq(f.module, CS_SYM_NOMOD);
	uint32_t ids[16];
	int resolved;
	size_t m = cs_sym_resolve(s, &p, f, ids, 16, &resolved);
	cr_expect(resolved);
	cr_expect(strstr(cs_str(&p, p.frames.v[ids[m - 1]].func), "qsort"), "%s",
		  cs_str(&p, p.frames.v[ids[m - 1]].func));
	cr_expect_str_eq(cs_module_name(&p, p.frames.v[ids[0]].module), "libc.so.6");
	/* An address in no module. */
	struct cs_uframe u = {CS_SYM_NOMOD, 0x1234};
	m = cs_sym_resolve(s, &p, u, ids, 16, &resolved);
	cr_expect_not(resolved);
	cr_expect_str_eq(cs_str(&p, p.frames.v[ids[0]].func), "[unknown]");
	cs_profile_release(&p);
	cs_symbolizer_free(s);
}

/* Resolve a fixed set of addresses; return the frames as text, one per line. */
static char *resolve_all(void)
{
	struct cs_symbolizer_opts o = {0};
	struct cs_symbolizer *s = cs_symbolizer_new(&o);
	cr_assert_eq(cs_sym_proc_load(s, getpid()), 0);
	struct cs_profile p;
	cs_profile_init(&p);
	took = 0;
	sort_something();
	struct cs_uframe fr[256];
	size_t n;
	cs_sym_unwind(s, getpid(), gettid(), snap_regs, snap_stack, snap_len, fr, 256, &n);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	for (size_t i = 0; i < n; i++) {
		uint32_t ids[16];
		int resolved;
		size_t m = cs_sym_resolve(s, &p, fr[i], ids, 16, &resolved);
		for (size_t k = 0; k < m; k++) {
			const struct cs_frame *f = &p.frames.v[ids[k]];
			fprintf(out, "%s %s:%u %#x %llx %s %d\n", cs_str(&p, f->func), cs_str(&p, f->file),
				f->line, f->flags, (unsigned long long)f->addr,
				cs_module_name(&p, f->module), resolved);
		}
	}
	fclose(out);
	cs_profile_release(&p);
	cs_symbolizer_free(s); /* saves the cache */
	/* Frames from resolve_all up depend on where it was called from: compare below. */
	char *cut = strstr(buf, "resolve_all ");
	if (cut)
		*cut = 0;
	return buf;
}

Test(symbolizer, cache_gives_the_same_answers)
{
	char dir[] = "/tmp/cs-cache-XXXXXX";
	cr_assert(mkdtemp(dir));
	setenv("XDG_CACHE_HOME", dir, 1);
	unsetenv("CSAMPLER_NO_CACHE");
	char *cold = resolve_all();
	char *warm = resolve_all();
	cr_expect_str_eq(warm, cold);
	/* damage every cached file: it must be ignored, not trusted */
	char cmd[256];
	snprintf(cmd, sizeof(cmd),
		 "find %s -type f -name '*-*' -path '*/syms/*' -exec truncate -s 40 {} +", dir);
	cr_assert_eq(system(cmd), 0);
	char *damaged = resolve_all();
	cr_expect_str_eq(damaged, cold);
	setenv("CSAMPLER_NO_CACHE", "1", 1);
	char *none = resolve_all();
	cr_expect_str_eq(none, cold);
	cr_expect(strstr(cold, "sort_something"), "%s", cold);
	free(cold);
	free(warm);
	free(damaged);
	free(none);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

/* ---- real layouts: PLT stubs, inline chains, text mapped twice ---- */

#define MAXCHAIN 16

/* One address's frames, innermost first: names, file base names and lines. */
struct chain {
	size_t n;
	char name[MAXCHAIN][256];
	char file[MAXCHAIN][128];
	unsigned line[MAXCHAIN];
};

static const char *base_of(const char *path)
{
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}

/* Module index of pid's mapped file whose path ends in "/name". */
static uint32_t module_named(struct cs_symbolizer *s, const char *name)
{
	for (size_t i = 0; i < cs_sym_module_count(s); i++)
		if (!strcmp(base_of(cs_sym_module_path(s, (uint32_t)i)), name))
			return (uint32_t)i;
	cr_assert_fail("no module %s", name);
	return CS_SYM_NOMOD;
}

static void resolve_chain(struct cs_symbolizer *s, struct cs_profile *p, struct cs_uframe f,
			  struct chain *c)
{
	uint32_t ids[MAXCHAIN];
	int resolved;
	size_t m = cs_sym_resolve(s, p, f, ids, MAXCHAIN, &resolved);
	c->n = 0;
	for (size_t j = m; j-- > 0;) {
		const struct cs_frame *fr = &p->frames.v[ids[j]];
		snprintf(c->name[c->n], sizeof(c->name[0]), "%s", cs_str(p, fr->func));
		snprintf(c->file[c->n], sizeof(c->file[0]), "%s", base_of(cs_str(p, fr->file)));
		c->line[c->n] = fr->line;
		c->n++;
	}
}

/* `addr2line -a -f -i` on n addresses of exe: one chain each, innermost first. */
static void addr2line_chains(const char *exe, const uint64_t *addrs, size_t n, struct chain *out)
{
	char *path = strdup("/tmp/cs-a2l-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	FILE *in = fdopen(fd, "w");
	for (size_t i = 0; i < n; i++)
		fprintf(in, "%#llx\n", (unsigned long long)addrs[i]);
	fclose(in);
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "addr2line -a -f -i -e '%s' < %s", exe, path);
	FILE *a2l = popen(cmd, "r");
	cr_assert(a2l, "cannot run addr2line");
	char line[4096];
	long k = -1;
	while (fgets(line, sizeof(line), a2l)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "0x", 2)) {
			k++;
			cr_assert_lt((size_t)k, n);
			out[k].n = 0;
			continue;
		}
		cr_assert_geq(k, 0);
		struct chain *c = &out[k];
		char loc[4096];
		cr_assert(fgets(loc, sizeof(loc), a2l), "addr2line: no location after %s", line);
		loc[strcspn(loc, "\n")] = 0;
		char *disc = strstr(loc, " (discriminator");
		if (disc)
			*disc = 0;
		char *colon = strrchr(loc, ':');
		if (c->n == MAXCHAIN)
			continue;
		snprintf(c->name[c->n], sizeof(c->name[0]), "%.255s", line);
		if (colon)
			*colon = 0;
		snprintf(c->file[c->n], sizeof(c->file[0]), "%.127s", base_of(loc));
		c->line[c->n] = colon ? (unsigned)strtoul(colon + 1, NULL, 10) : 0;
		c->n++;
	}
	pclose(a2l);
	unlink(path);
	free(path);
	cr_assert_eq((size_t)(k + 1), n, "addr2line answered %ld of %zu addresses", k + 1, n);
}

/* The outermost frame carries the ELF symbol's name: GCC's clone suffixes aside, it
 * must be DWARF's (addr2line's) name. */
static int same_name(const char *ours, const char *theirs, int outermost)
{
	size_t n = strlen(theirs);
	if (!outermost)
		return !strcmp(ours, theirs);
	return !strncmp(ours, theirs, n) && (ours[n] == 0 || ours[n] == '.');
}

/* Compare the chains of every address of function fn in exe (a target, started as
 * pid) with addr2line's; returns how many addresses had inlined frames. */
static size_t compare_with_addr2line(pid_t pid, const char *exe, const char *fn)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "nm -S --defined-only '%s'", exe);
	FILE *nm = popen(cmd, "r");
	cr_assert(nm);
	unsigned long long start = 0, size = 0;
	char line[1024];
	while (fgets(line, sizeof(line), nm)) {
		unsigned long long a, z;
		char type, name[512];
		if (sscanf(line, "%llx %llx %c %511s", &a, &z, &type, name) == 4 && !strcmp(name, fn)) {
			start = a;
			size = z;
		}
	}
	pclose(nm);
	cr_assert_gt(size, 0, "%s not found in %s", fn, exe);
	struct cs_symbolizer_opts o = {0};
	struct cs_symbolizer *s = cs_symbolizer_new(&o);
	cr_assert_eq(cs_sym_proc_load(s, pid), 0);
	uint32_t mod = module_named(s, base_of(exe));
	struct cs_profile p;
	cs_profile_init(&p);
	uint64_t *addrs = calloc(size, sizeof(*addrs));
	struct chain *ours = calloc(size, sizeof(*ours)), *theirs = calloc(size, sizeof(*theirs));
	for (size_t i = 0; i < size; i++) {
		addrs[i] = start + i;
		resolve_chain(s, &p, (struct cs_uframe){mod, addrs[i]}, &ours[i]);
	}
	addr2line_chains(exe, addrs, size, theirs);
	size_t inlined = 0;
	for (size_t i = 0; i < size; i++) {
		const struct chain *a = &ours[i], *b = &theirs[i];
		cr_expect_eq(a->n, b->n, "%s+%#zx: %zu frames, addr2line %zu (%s ... %s)", fn, i, a->n,
			     b->n, a->name[0], b->name[0]);
		for (size_t k = 0; k < a->n && k < b->n; k++) {
			cr_expect(same_name(a->name[k], b->name[k], k == a->n - 1),
				  "%s+%#zx frame %zu: %s, addr2line %s", fn, i, k, a->name[k], b->name[k]);
			cr_expect(!strcmp(a->file[k], b->file[k]) && a->line[k] == b->line[k],
				  "%s+%#zx frame %zu (%s): %s:%u, addr2line %s:%u", fn, i, k, a->name[k],
				  a->file[k], a->line[k], b->file[k], b->line[k]);
		}
		inlined += a->n > 1;
	}
	free(addrs);
	free(ours);
	free(theirs);
	cs_profile_release(&p);
	cs_symbolizer_free(s);
	return inlined;
}

static void start_target(struct h_proc *t, const char *exe)
{
	char *argv[] = {(char *)exe, NULL};
	h_start(t, argv);
}

Test(symbolizer, inline_chains_match_addr2line)
{
	setenv("CSAMPLER_NO_CACHE", "1", 1);
	struct {
		const char *exe, *fn;
	} cases[] = {
		{TARGET("cs_t_inline"), "hot_caller"}, /* inlined within one unit */
		{TARGET("cs_t_inline_dw4"), "hot_caller"}, /* the same in DWARF 4 */
		{TARGET("cs_t_lto"), "lto_hot"},       /* across LTO units (DW_FORM_ref_addr) */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct h_proc t;
		start_target(&t, cases[i].exe);
		size_t inlined = compare_with_addr2line(t.pid, cases[i].exe, cases[i].fn);
		cr_expect_gt(inlined, 10, "%s: addresses with inlined frames: %zu", cases[i].fn,
			     inlined);
		h_stop(&t, SIGTERM, 5000);
	}
	unsetenv("CSAMPLER_NO_CACHE");
}

/* Every stub objdump names NAME@plt must resolve to that name, in .plt (lazy and
 * PIE), .plt.sec with .plt (IBT) and .plt.got; no PLT byte may be named _init. */
Test(symbolizer, plt_stubs_are_named_like_objdump)
{
	setenv("CSAMPLER_NO_CACHE", "1", 1);
	const char *exes[] = {TARGET("cs_t_plt"), TARGET("cs_t_plt_ibt"), TARGET("cs_t_plt_nopie")};
	for (size_t e = 0; e < sizeof(exes) / sizeof(exes[0]); e++) {
		struct h_proc t;
		start_target(&t, exes[e]);
		struct cs_symbolizer_opts o = {0};
		struct cs_symbolizer *s = cs_symbolizer_new(&o);
		cr_assert_eq(cs_sym_proc_load(s, t.pid), 0);
		uint32_t mod = module_named(s, base_of(exes[e]));
		struct cs_profile p;
		cs_profile_init(&p);
		char cmd[4096];
		snprintf(cmd, sizeof(cmd),
			 "objdump -d -j .plt -j .plt.sec -j .plt.got '%s' | grep '@plt>:$'", exes[e]);
		FILE *od = popen(cmd, "r");
		cr_assert(od);
		char line[1024];
		size_t stubs = 0;
		int saw[3] = {0};
		while (fgets(line, sizeof(line), od)) {
			unsigned long long a;
			char name[512];
			if (sscanf(line, "%llx <%511[^>]>:", &a, name) != 2)
				continue;
			stubs++;
			saw[0] |= !strcmp(name, "cs_pltlib_nothing@plt");
			saw[1] |= !strcmp(name, "memcpy@plt");
			saw[2] |= !strcmp(name, "memcmp@plt");
			/* the stub's first byte and one in its middle */
			for (unsigned d = 0; d <= 6; d += 6) {
				struct chain c;
				resolve_chain(s, &p, (struct cs_uframe){mod, a + d}, &c);
				cr_expect_eq(c.n, 1);
				cr_expect_str_eq(c.name[0], name, "%s at %#llx", base_of(exes[e]), a + d);
			}
		}
		pclose(od);
		cr_expect(saw[0] && saw[1] && saw[2], "%s: objdump listed %zu stubs", exes[e], stubs);
		/* whatever PLT bytes objdump did not label (the lazy half of IBT's .plt, the
		 * resolver trampoline) are not _init either */
		snprintf(cmd, sizeof(cmd), "objdump -h '%s' | awk '$2 ~ /^\\.plt/ {print $4, $3}'",
			 exes[e]);
		od = popen(cmd, "r");
		cr_assert(od);
		while (fgets(line, sizeof(line), od)) {
			unsigned long long a, z;
			if (sscanf(line, "%llx %llx", &a, &z) != 2)
				continue;
			for (unsigned long long x = a; x < a + z; x += 4) {
				struct chain c;
				resolve_chain(s, &p, (struct cs_uframe){mod, x}, &c);
				cr_expect(strcmp(c.name[0], "_init") && (strstr(c.name[0], "@plt") ||
									 !strcmp(c.name[0], ".plt")),
					  "%s: PLT byte %#llx named %s", base_of(exes[e]), x, c.name[0]);
			}
		}
		pclose(od);
		cs_profile_release(&p);
		cs_symbolizer_free(s);
		h_stop(&t, SIGTERM, 5000);
	}
	unsetenv("CSAMPLER_NO_CACHE");
}

/* cs_t_remap runs a copy of spin_remapped mapped from the middle of its (non-PIE) text
 * segment: an address in the copy must resolve to spin_remapped. */
Test(symbolizer, text_mapped_twice_takes_its_segment_bias)
{
	struct h_proc t;
	start_target(&t, TARGET("cs_t_remap"));
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)t.pid);
	FILE *f = fopen(path, "r");
	cr_assert(f);
	char line[4096];
	unsigned long long copy = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi, off;
		char perm[8], file[4096] = "";
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %4095s", &lo, &hi, perm, &off, file) >= 4 &&
		    strstr(file, "cs_t_remap") && perm[2] == 'x' && lo > 0x10000000)
			copy = lo; /* not at its link-time address: the second mapping */
	}
	fclose(f);
	cr_assert_neq(copy, 0, "no second mapping of the program's text");
	struct cs_symbolizer_opts o = {0};
	struct cs_symbolizer *s = cs_symbolizer_new(&o);
	cr_assert_eq(cs_sym_proc_load(s, t.pid), 0);
	struct cs_profile p;
	cs_profile_init(&p);
	for (unsigned d = 0; d < 32; d += 4) {
		struct cs_uframe u = cs_sym_locate(s, t.pid, copy + d);
		cr_assert_neq(u.module, CS_SYM_NOMOD);
		struct chain c;
		resolve_chain(s, &p, u, &c);
		cr_expect_str_eq(c.name[c.n - 1], "spin_remapped", "copy+%u at vaddr %#llx", d,
				 (unsigned long long)u.addr);
	}
	cs_profile_release(&p);
	cs_symbolizer_free(s);
	h_stop(&t, SIGTERM, 5000);
}

/* A module whose file cannot be opened: its addresses are counted, with the reason. */
Test(symbolizer, unopened_modules_are_counted)
{
	struct cs_symbolizer_opts o = {0};
	struct cs_symbolizer *s = cs_symbolizer_new(&o);
	cr_assert_eq(cs_sym_proc_load(s, getpid()), 0);
	struct cs_mapping m = {.start = 0x7e0000000000ull, .len = 0x10000, .pgoff = 0, .maj = 8,
			       .min = 1, .ino = 4242, .prot = PROT_READ | PROT_EXEC,
			       .path = "/nonexistent-csampler-dir/libgone.so"};
	cs_sym_proc_mmap(s, getpid(), &m);
	struct cs_uframe u = cs_sym_locate(s, getpid(), m.start + 0x123);
	cr_assert_neq(u.module, CS_SYM_NOMOD);
	struct cs_profile p;
	cs_profile_init(&p);
	uint32_t ids[4];
	int resolved, err = -1;
	cs_sym_resolve(s, &p, u, ids, 4, &resolved);
	cr_expect_not(resolved);
	u.addr += 8;
	cs_sym_resolve(s, &p, u, ids, 4, &resolved);
	cr_expect_eq(cs_sym_module_unopened(s, u.module, &err), 2);
	cr_expect_eq(err, ENOENT, "errno %d", err);
	cr_expect_str_eq(cs_sym_module_path(s, u.module), m.path);
	/* a module that opened has none */
	struct cs_uframe q = cs_sym_locate(s, getpid(), (uint64_t)(uintptr_t)&qsort);
	cs_sym_resolve(s, &p, q, ids, 4, &resolved);
	cr_expect_eq(cs_sym_module_unopened(s, q.module, &err), 0);
	cr_expect_eq(err, 0);
	cs_profile_release(&p);
	cs_symbolizer_free(s);
}
