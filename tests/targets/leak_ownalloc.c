/* leak_ownalloc: a program with its own malloc (as when an allocator such as jemalloc
 * is linked statically): the executable defines malloc, free, calloc, realloc and the
 * aligned forms, and every library's calls end up in them too. Its own calls to them
 * are direct and never pass through a GOT slot. Leaks 20 x malloc(64) in own_leak,
 * then exits 0. A bump allocator: free only forgets. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define ARENA (64u << 20)

static char *arena;
static size_t used;

static void *bump(size_t n, size_t align)
{
	if (!arena) {
		void *p = mmap(NULL, ARENA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			       0);
		if (p == MAP_FAILED)
			return NULL;
		arena = p;
	}
	if (align < 16)
		align = 16;
	size_t at = (used + sizeof(size_t) + align - 1) & ~(align - 1);
	if (n > ARENA || at + n > ARENA) {
		errno = ENOMEM;
		return NULL;
	}
	((size_t *)(arena + at))[-1] = n;
	used = at + n;
	return arena + at;
}

void *malloc(size_t n)
{
	return bump(n, 16);
}

void free(void *p)
{
	(void)p;
}

void *calloc(size_t n, size_t m)
{
	size_t t;
	if (__builtin_mul_overflow(n, m, &t))
		return NULL;
	return bump(t, 16); /* fresh mmap'ed memory is zero */
}

void *realloc(void *p, size_t n)
{
	void *q = bump(n, 16);
	if (p && q) {
		size_t old = ((size_t *)p)[-1];
		memcpy(q, p, old < n ? old : n);
	}
	return q;
}

void *memalign(size_t align, size_t n)
{
	return bump(n, align);
}

void *aligned_alloc(size_t align, size_t n)
{
	return bump(n, align);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	void *p = bump(n, align);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

size_t malloc_usable_size(void *p)
{
	return p ? ((size_t *)p)[-1] : 0;
}

void *volatile keep[32];

__attribute__((noinline)) void own_leak(void)
{
	for (int i = 0; i < 20; i++)
		keep[i] = malloc(64);
}

int main(void)
{
	own_leak();
	return 0;
}
