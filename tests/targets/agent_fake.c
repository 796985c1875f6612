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
#include <sys/uio.h>
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

/* A session over the control socket ctl, as the real agent opens one. */
static int open_session(int ctl)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	struct cs_ctl_hello h = {CS_AGENT_MAGIC, CS_AGENT_VERSION, (uint32_t)getpid(), 0};
	struct iovec iov = {&h, sizeof(h)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &sv[1], sizeof(int));
	ssize_t n = sendmsg(ctl, &mh, MSG_NOSIGNAL);
	close(sv[1]);
	if (n != (ssize_t)sizeof(h)) {
		close(sv[0]);
		return -1;
	}
	return sv[0];
}

__attribute__((constructor)) static void fake_ctor(void)
{
	const char *v = getenv(CS_AGENT_FD_ENV), *mode = getenv("CS_FAKE_AGENT");
	if (!v)
		return;
	fd = open_session(atoi(v)); /* "FD,PID": the control socket's number first */
	unsetenv(CS_AGENT_FD_ENV);
	unsetenv("LD_PRELOAD");
	if (fd < 0)
		return;
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
