/* watchdog.c - the set-up watchdog: if the agent's set-up is not done in
 * CS_AGENT_SETUP_MS (stuck on a lock, or a hook that loops), stop recording, stop
 * installing, put back every slot written so far from the remembered-slot table
 * (neither the loader nor the allocator is needed for that), and hang up so that
 * csampler knows. The stuck thread finds cs_state.abandoned when it comes back. */
#include "agent/agent.h"
#include "agent/protocol.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

static pthread_mutex_t wd_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wd_cond;
static int wd_done, wd_fd = -1;
static pthread_t wd_thread;

static void *watchdog_main(void *arg)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += CS_AGENT_SETUP_MS / 1000;
	until.tv_nsec += (long)(CS_AGENT_SETUP_MS % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&wd_lock);
	int rc = 0;
	while (!wd_done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&wd_cond, &wd_lock, &until);
	int fire = !wd_done;
	pthread_mutex_unlock(&wd_lock);
	if (!fire)
		return NULL;
	__atomic_store_n(&cs_state.abandoned, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&cs_state.active, 0, __ATOMIC_RELEASE);
	cs_got_emergency_restore(200);
	if (wd_fd >= 0)
		shutdown(wd_fd, SHUT_RDWR);
	return NULL;
}

int cs_watchdog_start(int fd)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wd_cond, &ca);
	pthread_condattr_destroy(&ca);
	wd_done = 0;
	wd_fd = fd;
	pthread_attr_t attr;
	sigset_t all;
	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_attr_setsigmask_np(&attr, &all); /* the target's handlers never run here */
	int rc = pthread_create(&wd_thread, &attr, watchdog_main, NULL);
	pthread_attr_destroy(&attr);
	return rc;
}

void cs_watchdog_stop(void)
{
	pthread_mutex_lock(&wd_lock);
	wd_done = 1;
	pthread_cond_signal(&wd_cond);
	pthread_mutex_unlock(&wd_lock);
	pthread_join(wd_thread, NULL);
}

void cs_watchdog_after_fork(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
	wd_lock = fresh;
	wd_done = 1;
	wd_fd = -1;
}

void cs_test_stall(void)
{
	const char *v = getenv(CS_AGENT_STALL_ENV);
	long ms = v ? strtol(v, NULL, 10) : 0;
	if (ms > 0) {
		struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
		while (nanosleep(&t, &t) && errno == EINTR)
			;
	}
}
