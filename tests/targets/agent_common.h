/* agent_common.h - shared bits of the allocation-tracking targets: output without
 * stdio (a stdio buffer would be an allocation of its own), the load base the test
 * adds to `nm` values, and single-byte commands read from stdin. */
#ifndef CS_AGENT_TARGET_COMMON_H
#define CS_AGENT_TARGET_COMMON_H

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Keeps pointers alive and out of the optimizer's reach. */
static void *volatile agent_sink;

static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		(void)!write(1, buf, (size_t)n);
}

/* "base NAME 0xADDR": where the object containing addr is loaded. */
static void say_base(const char *name, const void *addr)
{
	Dl_info info;
	if (dladdr(addr, &info))
		say("base %s %p\n", name, info.dli_fbase);
}

/* Wait for the test's next command byte; 0 on EOF. */
static char wait_cmd(void)
{
	char c;
	return read(0, &c, 1) == 1 ? c : 0;
}

#endif
