/* jit: runs generated machine code the way a JIT compiler does, and describes it the
 * way JIT runtimes do for profilers.
 *
 * Two generated functions with frame pointers and no CFI live in an anonymous
 * executable page: jit_outer calls jit_inner, which calls the C function jit_callee
 * (it burns the CPU); main calls jit_outer in a loop. The code is described by
 *   map        /tmp/perf-PID.map (as node --perf-basic-prof and python -X perf do)
 *   nomap      nothing
 *   dump DIR   DIR/jit-PID.dump, perf's jitdump format, mmapped executable as the
 *              jitdump convention asks (as node --perf-prof does)
 * usage: cs_t_jit [map|nomap|dump DIR] [SECONDS]
 * With SECONDS it exits by itself after that long; it removes what it wrote on exit,
 * as some runtimes do. */
#include "common.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

__attribute__((noinline)) unsigned long jit_callee(void)
{
	return burn(50) + 1;
}

/* push %rbp; mov %rsp,%rbp; movabs $callee,%rax; call *%rax; pop %rbp; ret */
static size_t emit(uint8_t *p, uint64_t callee)
{
	static const uint8_t head[] = {0x55, 0x48, 0x89, 0xe5, 0x48, 0xb8};
	static const uint8_t tail[] = {0xff, 0xd0, 0x5d, 0xc3};
	size_t k = 0;
	memcpy(p + k, head, sizeof(head));
	k += sizeof(head);
	memcpy(p + k, &callee, 8);
	k += 8;
	memcpy(p + k, tail, sizeof(tail));
	return k + sizeof(tail);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One JIT_CODE_LOAD record of perf's jitdump format (tools/perf/util/jitdump.h). */
static void dump_load(FILE *f, const char *name, uint64_t addr, size_t size, uint64_t index)
{
	uint32_t hdr[2] = {0 /* JIT_CODE_LOAD */,
			   (uint32_t)(16 + 8 + 4 * 8 + strlen(name) + 1 + size)};
	uint64_t ts = now_ns();
	uint32_t ids[2] = {(uint32_t)getpid(), (uint32_t)syscall(SYS_gettid)};
	uint64_t v[4] = {0 /* vma: unused */, addr, size, index};
	fwrite(hdr, sizeof(hdr), 1, f);
	fwrite(&ts, 8, 1, f);
	fwrite(ids, sizeof(ids), 1, f);
	fwrite(v, sizeof(v), 1, f);
	fwrite(name, strlen(name) + 1, 1, f);
	fwrite((void *)(uintptr_t)addr, size, 1, f);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "map";
	int dump = !strcmp(mode, "dump");
	const char *dir = dump && argc > 2 ? argv[2] : ".";
	double secs = argc > 2 + dump ? atof(argv[2 + dump]) : 0;
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *code =
	    mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED)
		return 1;
	uint8_t *inner = code + 64;
	size_t outer_len = emit(code, (uint64_t)(uintptr_t)inner);
	size_t inner_len = emit(inner, (uint64_t)(uintptr_t)jit_callee);
	if (mprotect(code, (size_t)page, PROT_READ | PROT_EXEC) < 0)
		return 1;

	char path[4096] = "";
	if (!strcmp(mode, "map")) {
		snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
		FILE *f = fopen(path, "w");
		if (!f)
			return 1;
		/* Names may hold spaces: everything after the size is the name. */
		fprintf(f, "%lx %zx JS:*jitOuter jit.js:1\n", (unsigned long)(uintptr_t)code,
			outer_len);
		fprintf(f, "%lx %zx JS:*jitInner jit.js:7\n", (unsigned long)(uintptr_t)inner,
			inner_len);
		fclose(f);
	} else if (dump) {
		snprintf(path, sizeof(path), "%s/jit-%d.dump", dir, (int)getpid());
		FILE *f = fopen(path, "w+");
		if (!f)
			return 1;
		struct {
			uint32_t magic, version, total_size, elf_mach, pad1, pid;
			uint64_t timestamp, flags;
		} h = {0x4A695444, 1, 40, 62 /* EM_X86_64 */, 0, (uint32_t)getpid(), now_ns(), 0};
		fwrite(&h, sizeof(h), 1, f);
		fflush(f);
		/* The marker mapping that tells profilers where the dump is. */
		if (mmap(NULL, (size_t)page, PROT_READ | PROT_EXEC, MAP_PRIVATE, fileno(f), 0) ==
		    MAP_FAILED)
			return 1;
		dump_load(f, "dump:jitOuter", (uint64_t)(uintptr_t)code, outer_len, 0);
		dump_load(f, "dump:jitInner", (uint64_t)(uintptr_t)inner, inner_len, 1);
		fclose(f);
	}

	target_ready();
	unsigned long (*fn)(void) = (unsigned long (*)(void))(uintptr_t)code;
	unsigned long acc = 0;
	uint64_t end = secs > 0 ? now_ns() + (uint64_t)(secs * 1e9) : 0;
	while (!target_stop && (!end || now_ns() < end))
		acc += fn();
	target_sink = acc;
	if (path[0])
		unlink(path);
	return 0;
}
