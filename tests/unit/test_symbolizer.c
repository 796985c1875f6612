/* Unit tests of the symbolizer: unwinding this test's own stack (through libc's qsort)
 * from a register snapshot and a stack copy, exactly as samples are unwound, and
 * resolving the frames to names and lines. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
