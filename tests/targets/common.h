/* common.h - shared bits of the test targets: a CPU burner the compiler cannot
 * remove, a ready handshake, and a clean exit on SIGTERM (exit status 0). */
#ifndef CS_TARGET_COMMON_H
#define CS_TARGET_COMMON_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t target_stop;
static volatile unsigned long target_sink;

static void target_on_term(int sig)
{
	(void)sig;
	target_stop = 1;
}

/* Install the SIGTERM handler and tell the test we are running. */
static void target_ready(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = target_on_term;
	sigaction(SIGTERM, &sa, NULL);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
}

/* Burn about n units of CPU. */
static inline unsigned long burn(unsigned long n)
{
	unsigned long x = target_sink;
	for (unsigned long i = 0; i < n * 1000; i++)
		x = x * 6364136223846793005UL + i;
	target_sink = x;
	return x;
}

#endif
