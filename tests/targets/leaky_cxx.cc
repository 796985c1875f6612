// leaky_cxx: leaks through every form of C++ operator new, and frees through every
// form of operator delete, so each must be tracked and paired. Built -O2
// -fomit-frame-pointer. The leaks, exactly:
//   leak_new          20 x new Obj           (Obj is 48 bytes)
//   leak_new_array    5 x new char[1000]
//   leak_new_aligned  3 x new Aligned        (alignas(64), 128 bytes)
//   leak_new_nothrow  4 x new (nothrow) Obj
#include <cstdlib>
#include <new>

struct Obj {
	long v[6];
};
struct alignas(64) Aligned {
	char b[128];
};

static void *keep[256];
static int nkeep;
void *volatile sink;

__attribute__((noinline)) void leak_new()
{
	for (int i = 0; i < 20; i++)
		keep[nkeep++] = new Obj();
}

__attribute__((noinline)) void leak_new_array()
{
	for (int i = 0; i < 5; i++)
		keep[nkeep++] = new char[1000];
}

__attribute__((noinline)) void leak_new_aligned()
{
	for (int i = 0; i < 3; i++)
		keep[nkeep++] = new Aligned();
}

__attribute__((noinline)) void leak_new_nothrow()
{
	for (int i = 0; i < 4; i++)
		keep[nkeep++] = new (std::nothrow) Obj();
}

__attribute__((noinline)) void churn_cxx()
{
	for (int i = 0; i < 20000; i++) {
		Obj *o = new Obj();
		sink = o;
		delete o; // sized delete
		char *a = new char[100 + i % 50];
		sink = a;
		delete[] a;
		Aligned *al = new Aligned();
		sink = al;
		delete al; // aligned (sized) delete
		Aligned *aa = new Aligned[2];
		sink = aa;
		delete[] aa; // aligned array delete
		Obj *n = new (std::nothrow) Obj();
		sink = n;
		::operator delete(n, std::nothrow);
		void *raw = ::operator new(64);
		sink = raw;
		::operator delete(raw);
	}
}

int main()
{
	churn_cxx();
	leak_new();
	leak_new_array();
	leak_new_aligned();
	leak_new_nothrow();
	churn_cxx();
	return 0;
}
