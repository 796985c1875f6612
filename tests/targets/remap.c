/* remap: maps the page holding one of its own functions a second time, from a file
 * offset in the middle of its text segment, and spends its time running that copy
 * (node does the same with its embedded builtins). Built -no-pie, so a vaddr and its
 * file offset differ by the 0x400000 load address: a bias taken as start - pgoff names
 * the copy's samples after code 4 MiB away. Optional argument: seconds to run. */
#include "common.h"
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <time.h>

/* Runs from the copy: registers only, no calls, no data, so it works at any address.
 * Aligned to a page so that its page holds nothing else that matters. */
__attribute__((noinline, aligned(4096))) unsigned long spin_remapped(unsigned long n)
{
	unsigned long x = n;
	for (unsigned long i = 0; i < n * 1000; i++) {
		x = x * 6364136223846793005UL + i;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

__attribute__((noinline)) unsigned long run_copy(unsigned long (*fn)(unsigned long))
{
	return fn(200) + 1;
}

/* The file offset of vaddr, from the program headers. */
static long file_offset(uintptr_t vaddr)
{
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
	size_t n = getauxval(AT_PHNUM);
	for (size_t i = 0; ph && i < n; i++)
		if (ph[i].p_type == PT_LOAD && vaddr >= ph[i].p_vaddr &&
		    vaddr < ph[i].p_vaddr + ph[i].p_filesz)
			return (long)(vaddr - ph[i].p_vaddr + ph[i].p_offset);
	return -1;
}

int main(int argc, char **argv)
{
	double limit = argc > 1 ? atof(argv[1]) : 0;
	uintptr_t fn = (uintptr_t)&spin_remapped;
	long off = file_offset(fn);
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (off < 0 || (off & 4095) || fd < 0) {
		fprintf(stderr, "remap: cannot find my own text (offset %ld)\n", off);
		return 1;
	}
	void *copy = mmap(NULL, 2 * 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, off);
	if (copy == MAP_FAILED) {
		perror("remap: mmap");
		return 1;
	}
	close(fd);
	unsigned long (*copy_fn)(unsigned long) = (unsigned long (*)(unsigned long))copy;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	target_ready();
	unsigned long acc = 0;
	while (!target_stop) {
		acc += run_copy(copy_fn);
		if (limit > 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 > limit)
				break;
		}
	}
	target_sink = acc;
	return 0;
}
