/* plugin: a library the dlopen target loads after the profiler attached. */
unsigned long plugin_spin(unsigned long n);

__attribute__((noinline)) unsigned long plugin_inner(unsigned long n)
{
	volatile unsigned long x = 0;
	for (unsigned long i = 0; i < n * 1000; i++)
		x += i * i;
	return x;
}

unsigned long plugin_spin(unsigned long n)
{
	unsigned long r = plugin_inner(n);
	__asm__ volatile("" : "+r"(r));
	return r + 1;
}
