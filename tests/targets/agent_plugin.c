/* agent_plugin: a library the agent_leaks target dlopen()s after tracking began; its
 * allocations go through its own GOT, which the agent must hook after the dlopen. */
#include <stdlib.h>

void *plugin_keep[16];

__attribute__((noinline)) void plugin_leak(void)
{
	for (int i = 0; i < 7; i++)
		plugin_keep[i] = malloc(333);
	for (int i = 0; i < 1000; i++) {
		void *p = malloc(500);
		__asm__ volatile("" : : "r"(p) : "memory");
		free(p);
	}
}
