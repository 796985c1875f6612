/* session.c - csampler's end of the agent protocol (see session.h, agent/protocol.h). */
#include "session.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_PAYLOAD (1ull << 31)

struct cs_leak_session {
	struct cs_leak_opts o;
	char *agent;	 /* path of the agent library */
	char *dir;	 /* private temporary directory, removed at the end */
	char *sock_path; /* launch mode */
	char *copy;	 /* attach mode: a fresh copy of the agent, so its constructor runs */
	int listen_fd, fd;
	char **env;
	int final_pending; /* a FINAL snapshot was read ahead */
	struct cs_leak_raw final;
};

static char *find_agent(void)
{
	const char *env = getenv("CSAMPLER_AGENT");
	if (env && *env)
		return access(env, R_OK) == 0 ? cs_xstrdup(env) : NULL;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = 0;
	static const char *const rel[] = {
		"/../agent/libcsampler_agent.so",	/* build tree */
		"/../lib/csampler/libcsampler_agent.so", /* installed */
		"/libcsampler_agent.so",
	};
	for (size_t i = 0; i < CS_ARRAY_SIZE(rel); i++) {
		char *p = cs_xasprintf("%s%s", exe, rel[i]);
		char *real = realpath(p, NULL);
		free(p);
		if (real && access(real, R_OK) == 0)
			return real;
		free(real);
	}
	return NULL;
}

struct cs_leak_session *cs_leak_session_new(const struct cs_leak_opts *o)
{
	char *agent = o->agent ? realpath(o->agent, NULL) : find_agent();
	if (!agent || access(agent, R_OK) != 0) {
		cs_error("cannot find the allocation agent (libcsampler_agent.so) next to csampler%s%s",
			 o->agent ? ": " : "; set CSAMPLER_AGENT to its path", o->agent ? o->agent : "");
		free(agent);
		return NULL;
	}
	struct cs_leak_session *s = cs_xcalloc(1, sizeof(*s));
	s->o = *o;
	if (!s->o.max_depth || s->o.max_depth > CS_AGENT_MAX_DEPTH)
		s->o.max_depth = 64;
	s->agent = agent;
	s->listen_fd = s->fd = -1;
	char tmpl[] = "/tmp/csampler-XXXXXX";
	if (!mkdtemp(tmpl)) {
		cs_error("cannot create a temporary directory in /tmp: %s", strerror(errno));
		cs_leak_session_free(s);
		return NULL;
	}
	/* Readable by a target running as another user (it loads a library from here). */
	chmod(tmpl, 0755);
	s->dir = cs_xstrdup(tmpl);
	return s;
}

void cs_leak_raw_release(struct cs_leak_raw *r)
{
	free(r->sites);
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

void cs_leak_session_free(struct cs_leak_session *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->sock_path)
		unlink(s->sock_path);
	if (s->copy)
		unlink(s->copy);
	if (s->dir)
		rmdir(s->dir);
	if (s->env) {
		for (char **e = s->env; *e; e++)
			free(*e);
		free(s->env);
	}
	if (s->final_pending)
		cs_leak_raw_release(&s->final);
	free(s->sock_path);
	free(s->copy);
	free(s->dir);
	free(s->agent);
	free(s);
}

static int listen_on(struct cs_leak_session *s, const struct sockaddr_un *addr, socklen_t len,
		     const char *what)
{
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0)
		return cs_error("cannot create a socket: %s", strerror(errno));
	if (bind(s->listen_fd, (const struct sockaddr *)addr, len) < 0) {
		if (errno == EADDRINUSE)
			return cs_error("another csampler is already tracking allocations in %s", what);
		return cs_error("cannot create the agent's socket: %s", strerror(errno));
	}
	if (listen(s->listen_fd, 4) < 0)
		return cs_error("cannot listen on the agent's socket: %s", strerror(errno));
	return 0;
}

int cs_leak_session_launch_env(struct cs_leak_session *s, char ***env)
{
	struct sockaddr_un a;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	s->sock_path = cs_xasprintf("%s/agent.sock", s->dir);
	if (strlen(s->sock_path) >= sizeof(a.sun_path))
		return cs_error("temporary socket path too long: %s", s->sock_path);
	strcpy(a.sun_path, s->sock_path);
	if (listen_on(s, &a, sizeof(a), "this command") < 0)
		return -1;
	/* The caller's environment, with the agent preloaded first. */
	size_t n = 0;
	for (char **e = environ; *e; e++)
		n++;
	s->env = cs_xcalloc(n + 3, sizeof(char *));
	size_t k = 0;
	const char *old = getenv("LD_PRELOAD");
	for (char **e = environ; *e; e++) {
		if (!strncmp(*e, "LD_PRELOAD=", 11) || !strncmp(*e, CS_AGENT_SOCKET_ENV "=", sizeof(CS_AGENT_SOCKET_ENV)))
			continue;
		s->env[k++] = cs_xstrdup(*e);
	}
	if (old && *old)
		s->env[k++] = cs_xasprintf("LD_PRELOAD=%s:%s", s->agent, old);
	else
		s->env[k++] = cs_xasprintf("LD_PRELOAD=%s", s->agent);
	s->env[k++] = cs_xasprintf("%s=%s", CS_AGENT_SOCKET_ENV, s->sock_path);
	s->env[k] = NULL;
	*env = s->env;
	return 0;
}

static int copy_file(const char *from, const char *to)
{
	int fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	int ret = cs_copy_file_to(from, fd);
	if (close(fd) < 0)
		ret = -1;
	return ret;
}

int cs_leak_session_attach(struct cs_leak_session *s, struct cs_symbolizer *sym, pid_t pid,
			   struct cs_inject_stats *st)
{
	struct sockaddr_un a;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	int len = snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, CS_AGENT_ABSTRACT_FMT, (int)pid);
	char what[64];
	snprintf(what, sizeof(what), "PID %d", (int)pid);
	if (listen_on(s, &a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)len),
		      what) < 0)
		return -1;
	/* dlopen() loads a path once: a fresh copy makes the constructor run even if an
	 * earlier session left an (inert) agent in this process. */
	s->copy = cs_xasprintf("%s/libcsampler_agent.so", s->dir);
	if (copy_file(s->agent, s->copy) < 0)
		return cs_error("cannot copy the agent to '%s': %s", s->copy, strerror(errno));
	return cs_inject_dlopen(sym, pid, s->copy, st);
}

static uint64_t now_ms(void)
{
	return cs_now_ns() / 1000000;
}

/* Read exactly n bytes before the deadline. 0, or -1 (errno ETIMEDOUT, or EPIPE on
 * end of file). */
static int read_full(int fd, void *buf, size_t n, uint64_t deadline)
{
	uint8_t *p = buf;
	while (n) {
		int left = (int)(deadline > now_ms() ? deadline - now_ms() : 0);
		struct pollfd pf = {fd, POLLIN, 0};
		int r = poll(&pf, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		ssize_t got = read(fd, p, n);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got <= 0) {
			errno = got == 0 ? EPIPE : errno;
			return -1;
		}
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

static int send_msg(int fd, uint32_t type, const void *payload, size_t len)
{
	struct cs_msg m = {CS_AGENT_MAGIC, type, len};
	if (cs_write_all(fd, &m, sizeof(m)) < 0)
		return -1;
	return len ? cs_write_all(fd, payload, len) : 0;
}

/* Read one message; *payload is heap memory the caller frees. 0 or -1 (errno set;
 * EPROTO for a malformed message). */
static int read_msg(int fd, struct cs_msg *m, uint8_t **payload, uint64_t deadline)
{
	*payload = NULL;
	if (read_full(fd, m, sizeof(*m), deadline) < 0)
		return -1;
	if (m->magic != CS_AGENT_MAGIC || m->len > MAX_PAYLOAD) {
		errno = EPROTO;
		return -1;
	}
	*payload = cs_xmalloc(m->len ? m->len : 1);
	if (m->len && read_full(fd, *payload, m->len, deadline) < 0) {
		free(*payload);
		*payload = NULL;
		return -1;
	}
	return 0;
}

int cs_leak_session_handshake(struct cs_leak_session *s, pid_t pid, int timeout_ms,
			      uint64_t *start_ns, void (*on_hello)(void *ctx), void *ctx)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	struct pollfd pf = {s->listen_fd, POLLIN, 0};
	int r;
	do
		r = poll(&pf, 1, (int)(deadline > now_ms() ? deadline - now_ms() : 0));
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return cs_error("the allocation agent did not start in PID %d within %d s (a "
				"statically linked program, or one that clears LD_PRELOAD?)",
				(int)pid, timeout_ms / 1000);
	s->fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (s->fd < 0)
		return cs_error("cannot accept the agent's connection: %s", strerror(errno));
	/* Only this target's agent may talk to us. */
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	if (getsockopt(s->fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 && cred.pid != pid)
		return cs_error("the agent socket was answered by PID %d, not %d", (int)cred.pid,
				(int)pid);
	struct cs_msg m;
	uint8_t *p;
	if (read_msg(s->fd, &m, &p, deadline) < 0 || m.type != CS_MSG_HELLO ||
	    m.len < sizeof(struct cs_msg_hello)) {
		free(p);
		return cs_error("the allocation agent in PID %d did not introduce itself", (int)pid);
	}
	struct cs_msg_hello hello;
	memcpy(&hello, p, sizeof(hello));
	free(p);
	if (hello.version != CS_AGENT_VERSION)
		return cs_error("the agent in PID %d speaks protocol %u; this csampler speaks %d",
				(int)pid, hello.version, CS_AGENT_VERSION);
	if (on_hello)
		on_hello(ctx);
	struct cs_msg_config cfg = {s->o.sample_bytes ? CS_AGENT_SAMPLED : CS_AGENT_EXACT,
				    s->o.max_depth, s->o.sample_bytes};
	if (send_msg(s->fd, CS_MSG_CONFIG, &cfg, sizeof(cfg)) < 0)
		return cs_error("lost the allocation agent of PID %d", (int)pid);
	if (read_msg(s->fd, &m, &p, deadline) < 0) {
		free(p);
		return cs_error("the allocation agent in PID %d did not get ready", (int)pid);
	}
	if (m.type == CS_MSG_ERROR) {
		cs_error("the allocation agent in PID %d failed: %.*s", (int)pid, (int)m.len, (char *)p);
		free(p);
		return -1;
	}
	if (m.type != CS_MSG_READY || m.len < sizeof(struct cs_msg_ready)) {
		free(p);
		return cs_error("the allocation agent in PID %d answered out of turn", (int)pid);
	}
	struct cs_msg_ready ready;
	memcpy(&ready, p, sizeof(ready));
	free(p);
	*start_ns = ready.start_ns;
	/* Done with the rendezvous: the copy and the socket name can go. */
	if (s->copy) {
		unlink(s->copy);
		free(s->copy);
		s->copy = NULL;
	}
	if (s->sock_path) {
		unlink(s->sock_path);
		free(s->sock_path);
		s->sock_path = NULL;
	}
	close(s->listen_fd);
	s->listen_fd = -1;
	return 0;
}

static int parse_snapshot(uint8_t *p, size_t len, struct cs_leak_raw *out)
{
	memset(out, 0, sizeof(*out));
	if (len < sizeof(struct cs_snap_header))
		return -1;
	memcpy(&out->h, p, sizeof(out->h));
	size_t off = sizeof(out->h);
	if (out->h.nsites > len / sizeof(struct cs_snap_site))
		return -1;
	out->sites = cs_xcalloc(out->h.nsites ? out->h.nsites : 1, sizeof(*out->sites));
	for (uint32_t i = 0; i < out->h.nsites; i++) {
		struct cs_snap_site site;
		if (len - off < sizeof(site))
			return -1;
		memcpy(&site, p + off, sizeof(site));
		off += sizeof(site);
		if (site.depth > CS_AGENT_MAX_DEPTH || (len - off) / 8 < site.depth)
			return -1;
		struct cs_leak_raw_site *r = &out->sites[i];
		r->bytes = site.bytes;
		r->blocks = site.blocks;
		r->oldest_ns = site.oldest_ns;
		r->depth = site.depth;
		r->truncated = site.truncated;
		r->addrs = (const uint64_t *)(uintptr_t)off; /* fixed up below */
		off += (size_t)site.depth * 8;
	}
	out->n = out->h.nsites;
	out->buf = p;
	for (size_t i = 0; i < out->n; i++) /* payload offsets are 8-aligned */
		out->sites[i].addrs = (const uint64_t *)(p + (uintptr_t)out->sites[i].addrs);
	return 0;
}

int cs_leak_session_snapshot(struct cs_leak_session *s, struct cs_leak_raw *out, int *gone)
{
	*gone = 0;
	if (s->final_pending) {
		*out = s->final;
		s->final_pending = 0;
		*gone = 1;
		return 0;
	}
	if (s->fd < 0 || send_msg(s->fd, CS_MSG_SNAP_REQ, NULL, 0) < 0) {
		*gone = 1;
		return -1;
	}
	for (;;) {
		struct cs_msg m;
		uint8_t *p;
		if (read_msg(s->fd, &m, &p, now_ms() + 60000) < 0) {
			int e = errno;
			free(p);
			if (e == EPROTO)
				return cs_error("the allocation agent sent a malformed message");
			*gone = 1;
			return -1;
		}
		if (m.type != CS_MSG_SNAPSHOT) {
			free(p);
			if (m.type == CS_MSG_ERROR || m.type == CS_MSG_BYE) {
				*gone = 1;
				return -1;
			}
			continue;
		}
		if (parse_snapshot(p, m.len, out) < 0) {
			cs_leak_raw_release(out);
			free(p);
			return cs_error("the allocation agent sent a malformed snapshot");
		}
		if (out->h.flags & CS_SNAP_FINAL)
			*gone = 1;
		return 0;
	}
}

int cs_leak_session_final(struct cs_leak_session *s, struct cs_leak_raw *out, int timeout_ms)
{
	if (s->final_pending) {
		*out = s->final;
		s->final_pending = 0;
		return 1;
	}
	if (s->fd < 0)
		return 0;
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		struct cs_msg m;
		uint8_t *p;
		if (read_msg(s->fd, &m, &p, deadline) < 0) {
			free(p);
			return 0;
		}
		if (m.type != CS_MSG_SNAPSHOT) {
			free(p);
			continue;
		}
		if (parse_snapshot(p, m.len, out) < 0) {
			cs_leak_raw_release(out);
			free(p);
			continue;
		}
		if (out->h.flags & CS_SNAP_FINAL)
			return 1;
		cs_leak_raw_release(out); /* a late answer to an earlier request */
	}
}

int cs_leak_session_fd(const struct cs_leak_session *s)
{
	return s->fd;
}

void cs_leak_session_detach(struct cs_leak_session *s)
{
	if (s->fd < 0)
		return;
	if (send_msg(s->fd, CS_MSG_DETACH, NULL, 0) == 0) {
		uint64_t deadline = now_ms() + 2000;
		for (;;) {
			struct cs_msg m;
			uint8_t *p;
			if (read_msg(s->fd, &m, &p, deadline) < 0) {
				free(p);
				break;
			}
			free(p);
			if (m.type == CS_MSG_BYE)
				break;
		}
	}
	close(s->fd);
	s->fd = -1;
}
