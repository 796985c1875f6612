/* wire.c - the agent's side of the message framing of protocol.h on a Unix stream
 * socket. Nothing here raises SIGPIPE in the target or allocates. */
#include "agent/agent.h"
#include "agent/protocol.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

/* Serializes whole messages (a busy answer and the service thread may both send). */
static pthread_mutex_t send_lock = PTHREAD_MUTEX_INITIALIZER;

static int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int recv_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len) {
		ssize_t n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int cs_send_msg(int fd, uint32_t type, const void *payload, size_t len)
{
	struct cs_msg m = {CS_AGENT_MAGIC, type, len};
	pthread_mutex_lock(&send_lock);
	int rc = send_all(fd, &m, sizeof(m));
	if (!rc && len)
		rc = send_all(fd, payload, len);
	pthread_mutex_unlock(&send_lock);
	return rc;
}

void cs_wire_after_fork(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
	send_lock = fresh;
}

int cs_recv_msg(int fd, struct cs_msg *m, void *buf, size_t cap)
{
	if (recv_all(fd, m, sizeof(*m)) || m->magic != CS_AGENT_MAGIC)
		return -1;
	uint64_t left = m->len;
	char skip[256];
	while (left) {
		size_t take = left;
		char *dst = skip;
		if (cap) {
			if (take > cap)
				take = cap;
			dst = buf;
			buf = (char *)buf + take;
			cap -= take;
		} else if (take > sizeof(skip)) {
			take = sizeof(skip);
		}
		if (recv_all(fd, dst, take))
			return -1;
		left -= take;
	}
	return 0;
}

int cs_wait_readable(int fd, int ms)
{
	struct pollfd pf = {fd, POLLIN, 0};
	uint64_t end = cs_now_ns() + (uint64_t)ms * 1000000u;
	for (;;) {
		uint64_t now = cs_now_ns();
		int left = now < end ? (int)((end - now) / 1000000u) : 0;
		int rc = poll(&pf, 1, left);
		if (rc >= 0)
			return rc > 0;
		if (errno != EINTR)
			return -1;
	}
}
