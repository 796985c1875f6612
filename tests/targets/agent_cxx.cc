// agent_cxx: C++ operator new/delete in all their forms and the aligned C allocators,
// for the allocation-tracking agent's tests. Each leak_* function leaks a known
// amount; churn() allocates and releases with every form and must leave nothing.
// Prints "base main ADDR", "unwind LIB" (who provides _Unwind_RaiseException: the
// agent must not change it) and "done"; then waits for a byte on stdin and exits 0.
#include "agent_common.h"

#include <malloc.h>
#include <new>
#include <stdexcept>

void *keep[256]; // global: stores to it must not be optimized away
int nkeep;

struct alignas(64) Aligned {
	char data[128];
};

#define ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

extern "C" {

__attribute__((noinline)) void leak_new(void) // 10 x 48
{
	for (int i = 0; i < 10; i++)
		keep[nkeep++] = ::operator new(48);
}

__attribute__((noinline)) void leak_new_array(void) // 5 x 100
{
	for (int i = 0; i < 5; i++)
		keep[nkeep++] = new char[100];
}

__attribute__((noinline)) void leak_new_aligned(void) // 4 x 128
{
	for (int i = 0; i < 4; i++)
		keep[nkeep++] = new Aligned;
}

__attribute__((noinline)) void leak_new_nothrow(void) // 3 x 200 + 2 x 300
{
	for (int i = 0; i < 3; i++)
		keep[nkeep++] = new (std::nothrow) char[200];
	for (int i = 0; i < 2; i++)
		keep[nkeep++] = ::operator new(300, std::nothrow);
}

__attribute__((noinline)) void leak_new_aligned_array(void) // 2 x 256 (align 128)
{
	for (int i = 0; i < 2; i++)
		keep[nkeep++] = ::operator new[](256, std::align_val_t(128));
}

__attribute__((noinline)) void leak_aligned_c(void) // 6x256 + 5x640 + 4x300 + 2x100
{
	for (int i = 0; i < 6; i++) {
		void *p = nullptr;
		if (posix_memalign(&p, 64, 256) == 0)
			keep[nkeep++] = p;
	}
	for (int i = 0; i < 5; i++)
		keep[nkeep++] = aligned_alloc(64, 640);
	for (int i = 0; i < 4; i++)
		keep[nkeep++] = memalign(128, 300);
	for (int i = 0; i < 2; i++)
		keep[nkeep++] = valloc(100);
}

__attribute__((noinline)) void leak_realloc_forms(void) // 3 x 77 + 2 x 300
{
	for (int i = 0; i < 3; i++)
		keep[nkeep++] = realloc(nullptr, 77);
	for (int i = 0; i < 2; i++)
		keep[nkeep++] = reallocarray(nullptr, 10, 30);
}

__attribute__((noinline)) void churn(int n)
{
	for (int i = 0; i < n; i++) {
		void *p = ::operator new(32);
		ESCAPE(p);
		::operator delete(p);
		p = ::operator new(40);
		ESCAPE(p);
		::operator delete(p, 40);
		char *a = new char[64];
		ESCAPE(a);
		delete[] a;
		p = ::operator new[](72);
		ESCAPE(p);
		::operator delete[](p, 72);
		p = ::operator new(96, std::align_val_t(64));
		ESCAPE(p);
		::operator delete(p, std::align_val_t(64));
		p = ::operator new(96, std::align_val_t(64));
		ESCAPE(p);
		::operator delete(p, 96, std::align_val_t(64));
		p = ::operator new[](80, std::align_val_t(32));
		ESCAPE(p);
		::operator delete[](p, std::align_val_t(32));
		p = ::operator new[](80, std::align_val_t(32));
		ESCAPE(p);
		::operator delete[](p, 80, std::align_val_t(32));
		p = ::operator new(24, std::nothrow);
		ESCAPE(p);
		::operator delete(p, std::nothrow);
		p = ::operator new[](24, std::nothrow);
		ESCAPE(p);
		::operator delete[](p, std::nothrow);
		p = ::operator new(24, std::align_val_t(64), std::nothrow);
		ESCAPE(p);
		::operator delete(p, std::align_val_t(64), std::nothrow);
		p = ::operator new[](24, std::align_val_t(64), std::nothrow);
		ESCAPE(p);
		::operator delete[](p, std::align_val_t(64), std::nothrow);
		Aligned *al = new Aligned;
		ESCAPE(al);
		delete al;
		void *q = nullptr;
		if (posix_memalign(&q, 32, 100) == 0)
			free(q);
		free(aligned_alloc(32, 64));
		free(memalign(64, 50));
		free(valloc(10));
		free(pvalloc(10));
		q = realloc(nullptr, 10);
		q = realloc(q, 1000);
		ESCAPE(realloc(q, 0)); // frees q in glibc
		free(reallocarray(nullptr, 3, 7));
	}
}

// A throwing operator new unwinds through the agent's hook: the thread must go on
// being tracked afterwards (leak_new_after_throw must show up).
__attribute__((noinline)) int throw_through_new(void)
{
	try {
		void *p = ::operator new((size_t)1 << 62);
		ESCAPE(p);
	} catch (const std::bad_alloc &) {
		return 1;
	}
	return 0;
}

__attribute__((noinline)) void leak_new_after_throw(void) // 1 x 72
{
	keep[nkeep++] = ::operator new(72);
}

} // extern "C"

int main()
{
	say_base("main", (void *)main);
	Dl_info info;
	void *raise = dlsym(RTLD_DEFAULT, "_Unwind_RaiseException");
	say("unwind %s\n", raise && dladdr(raise, &info) ? info.dli_fname : "?");
	churn(2000);
	leak_new();
	leak_new_array();
	leak_new_aligned();
	leak_new_nothrow();
	leak_new_aligned_array();
	leak_aligned_c();
	leak_realloc_forms();
	churn(2000);
	if (!throw_through_new())
		return 3;
	leak_new_after_throw();
	say("done\n");
	wait_cmd();
	churn(100);
	return 0;
}
