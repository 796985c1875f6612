/* agent_fake: a misbehaving stand-in for libcsampler_agent.so, preloaded by
 * `csampler leaks --agent`, to show that csampler's waits are bounded. It hand-shakes
 * correctly, then answers every snapshot request as CS_FAKE_AGENT says:
 *   flood   endless messages of an unknown type (until csampler hangs up)
 *   silent  nothing at all */
#include "../../agent/protocol.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fd = -1;

static int put(uint32_t type, const void *p, size_t len)
{
	struct cs_msg m = {CS_AGENT_MAGIC, type, len};
	if (send(fd, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
		return -1;
	return len && send(fd, p, len, MSG_NOSIGNAL) != (ssize_t)len ? -1 : 0;
}

static int get(struct cs_msg *m, void *buf, size_t cap)
{
	if (recv(fd, m, sizeof(*m), MSG_WAITALL) != (ssize_t)sizeof(*m))
		return -1;
	for (uint64_t left = m->len; left;) {
		char skip[256];
		size_t take = left < sizeof(skip) ? left : sizeof(skip);
		if (recv(fd, skip, take, MSG_WAITALL) != (ssize_t)take)
			return -1;
		if (cap) {
			size_t c = take < cap ? take : cap;
			memcpy(buf, skip, c);
			buf = (char *)buf + c;
			cap -= c;
		}
		left -= take;
	}
	return 0;
}

static void *serve(void *arg)
{
	const char *mode = arg;
	struct cs_msg m;
	while (get(&m, NULL, 0) == 0) {
		if (m.type != CS_MSG_SNAP_REQ || strcmp(mode, "flood"))
			continue;
		while (put(99, NULL, 0) == 0)
			;
	}
	return NULL;
}

__attribute__((constructor)) static void fake_ctor(void)
{
	const char *v = getenv(CS_AGENT_FD_ENV), *mode = getenv("CS_FAKE_AGENT");
	if (!v)
		return;
	fd = atoi(v);
	unsetenv(CS_AGENT_FD_ENV);
	unsetenv("LD_PRELOAD");
	struct cs_msg_hello hello;
	memset(&hello, 0, sizeof(hello));
	hello.version = CS_AGENT_VERSION;
	hello.pid = (uint32_t)getpid();
	struct cs_msg m;
	struct cs_msg_config cfg;
	struct cs_msg_ready ready;
	memset(&ready, 0, sizeof(ready));
	if (put(CS_MSG_HELLO, &hello, sizeof(hello)) || get(&m, &cfg, sizeof(cfg)) ||
	    put(CS_MSG_READY, &ready, sizeof(ready)))
		return;
	pthread_t th;
	pthread_create(&th, NULL, serve, (void *)(mode ? mode : "flood"));
	pthread_detach(th);
}
