/* fuzz_agent.c - csampler's end of the agent protocol: the messages and snapshots an
 * agent sends (leaks/session.c, agent/protocol.h).
 *
 * The agent runs inside the profiled process, which may be hostile, so everything it
 * sends is untrusted input. Each run plays the agent over a real session socket: it
 * connects as a launched program's agent would, sends a valid HELLO and READY, then the
 * input bytes, and closes its end. csampler's side asks for snapshots until the agent
 * is gone, then reads a final snapshot and detaches, as `csampler leaks` does. Every
 * snapshot it accepts is walked in full (ASan checks that each address lies inside the
 * message). */
#include "fuzz.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "leaks/session.h"

/* Inputs larger than this are skipped: the whole stream must fit in the socket buffer,
 * since this one thread writes all of it before csampler's side reads. */
#define MAX_STREAM (1u << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* The session only needs the agent library to exist: nothing is injected. */
	setenv("CSAMPLER_AGENT", "/proc/self/exe", 1);
	return 0;
}

static void put_msg(uint8_t *buf, size_t *n, uint32_t type, const void *payload, size_t len)
{
	struct cs_msg m = {CS_AGENT_MAGIC, type, len};
	memcpy(buf + *n, &m, sizeof(m));
	memcpy(buf + *n + sizeof(m), payload, len);
	*n += sizeof(m) + len;
}

/* Open a session as a launched command's agent does: over the inherited control socket
 * (CSAMPLER_AGENT_FD="FD,PID"), send one end of a fresh stream socket pair with a
 * cs_ctl_hello; then send the handshake, then data, on the other end and close it for
 * writing. Returns that end, or -1. */
static int play_agent(char **env, const uint8_t *data, size_t size)
{
	const char *val = NULL;
	for (char **e = env; *e; e++)
		if (!strncmp(*e, CS_AGENT_FD_ENV "=", sizeof(CS_AGENT_FD_ENV)))
			val = *e + sizeof(CS_AGENT_FD_ENV);
	if (!val)
		fz_fail("the launch environment has no %s", CS_AGENT_FD_ENV);
	int ctl = atoi(val);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		fz_fail("cannot make a socket pair");
	struct cs_ctl_hello h = {CS_AGENT_MAGIC, CS_AGENT_VERSION, (uint32_t)getpid(), 0};
	struct iovec iov = {&h, sizeof(h)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr mh = {0};
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &sv[1], sizeof(int));
	if (sendmsg(ctl, &mh, 0) != (ssize_t)sizeof(h))
		fz_fail("cannot send a session over the control socket");
	close(sv[1]);
	int fd = sv[0];
	int sz = 4 * MAX_STREAM;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
	fcntl(fd, F_SETFL, O_NONBLOCK);

	uint8_t hs[128];
	size_t n = 0;
	struct cs_msg_hello hello = {CS_AGENT_VERSION, (uint32_t)getpid(), {0}};
	struct cs_msg_ready ready = {1, 2, 3, 0, 0};
	put_msg(hs, &n, CS_MSG_HELLO, &hello, sizeof(hello));
	put_msg(hs, &n, CS_MSG_READY, &ready, sizeof(ready));
	if (write(fd, hs, n) != (ssize_t)n || (size && write(fd, data, size) != (ssize_t)size)) {
		close(fd);
		return -1; /* the socket buffer is smaller than the input: skip it */
	}
	shutdown(fd, SHUT_WR);
	return fd;
}

/* csampler's session refuses a message longer than this (leaks/session.c). */
#define SESSION_MAX_PAYLOAD (1ull << 31)

/* A message that announces more bytes than the stream still holds makes csampler
 * allocate that much, then meet the end of the stream. Under ASan a gigabyte costs a
 * second, and an input can announce many: walking the messages as csampler frames them,
 * shorten each such length to one byte more than is left, which takes the same path. */
static void clamp_lengths(uint8_t *s, size_t n)
{
	size_t pos = 0;
	while (n - pos >= sizeof(struct cs_msg)) {
		struct cs_msg m;
		memcpy(&m, s + pos, sizeof(m));
		pos += sizeof(m);
		if (m.magic != CS_AGENT_MAGIC || m.len > SESSION_MAX_PAYLOAD)
			continue; /* refused: the next header is read right after this one */
		if (m.len > n - pos) {
			m.len = n - pos + 1;
			memcpy(s + pos - sizeof(m), &m, sizeof(m));
			return;
		}
		pos += m.len;
	}
}

static uint64_t walk(const struct cs_leak_raw *raw)
{
	uint64_t sum = raw->h.nsites;
	for (size_t i = 0; i < raw->n; i++) {
		const struct cs_leak_raw_site *s = &raw->sites[i];
		if (s->depth > CS_AGENT_MAX_DEPTH)
			fz_fail("a site of depth %u was accepted", s->depth);
		sum += s->bytes + s->blocks + s->oldest_ns;
		for (uint32_t d = 0; d < s->depth; d++)
			sum += s->addrs[d];
	}
	return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_STREAM)
		return 0;
	struct cs_leak_opts o = {0};
	fz_capture_begin();
	struct cs_leak_session *s = cs_leak_session_new(&o);
	char **env = NULL;
	int r = s ? cs_leak_session_launch_env(s, &env) : -1;
	fz_capture_end(r, "setting up a leak session");
	if (r < 0)
		fz_fail("cannot set up a leak session");
	uint8_t *stream = cs_xmalloc(size ? size : 1);
	memcpy(stream, data, size);
	clamp_lengths(stream, size);
	int fd = play_agent(env, stream, size);
	free(stream);
	if (fd < 0) {
		cs_leak_session_free(s);
		return 0;
	}
	uint64_t start_ns;
	fz_capture_begin();
	r = cs_leak_session_handshake(s, getpid(), 5000, &start_ns, NULL, NULL);
	fz_capture_end(r, "cs_leak_session_handshake");
	if (r < 0)
		fz_fail("the handshake failed on a valid HELLO and READY");
	volatile uint64_t sink = 0;
	/* At most one snapshot per message; a message is at least 16 bytes. */
	for (size_t i = 0; i <= size / sizeof(struct cs_msg); i++) {
		struct cs_leak_raw raw;
		int gone;
		fz_capture_begin();
		r = cs_leak_session_snapshot(s, &raw, &gone);
		/* -1 with gone: the agent went away (no line) or was cut off after one */
		fz_capture_end(r < 0 && gone ? FZ_FAILED_OR_GONE : r, "cs_leak_session_snapshot");
		if (r < 0)
			break;
		sink += walk(&raw);
		cs_leak_raw_release(&raw);
		if (gone)
			break;
	}
	struct cs_leak_raw raw;
	if (cs_leak_session_final(s, &raw, 0) == 1) {
		sink += walk(&raw);
		cs_leak_raw_release(&raw);
	}
	cs_leak_session_detach(s);
	cs_leak_session_free(s);
	close(fd);
	(void)sink;
	return 0;
}
