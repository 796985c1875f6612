/* session.c - csampler's end of the agent protocol (see session.h, agent/protocol.h). */
#include "session.h"
#include "rendezvous.h"
#include "target.h"
#include "util/util.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_PAYLOAD (1ull << 31)
/* Messages that are not the answer waited for, before the agent is given up on. */
#define MAX_STRAY 64
/* A snapshot request, normally; and once csampler was asked to end. */
#define SNAPSHOT_WAIT_MS 30000
#define SNAPSHOT_WAIT_STOPPING_MS 5000
/* Connections to the rendezvous from other processes, before giving up. */
#define MAX_REJECTED 256
#define HELLO_WAIT_MS 2000

struct cs_leak_session {
	struct cs_leak_opts o;
	char *agent; /* path of the agent library */
	struct cs_rendezvous rz;
	int fd;	      /* the connection to the agent */
	int ctl;      /* launch mode: csampler's end of the control socket, or -1 */
	pid_t pid;    /* the target */
	int attach;
	int adopted;  /* a process of a launched command: fd came over the control socket */
	int inexact;  /* mark every snapshot inexact (an allocator the agent cannot see) */
	sig_atomic_t stop_seen; /* *o.stop when the current wait began */
	char **env;
	int final_pending; /* a FINAL snapshot was read ahead */
	struct cs_leak_raw final;
};

/* An error line, unless the session is quiet; -1 either way. */
__attribute__((format(printf, 2, 3))) static int fail(const struct cs_leak_session *s,
						      const char *fmt, ...)
{
	if (s->o.quiet)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	cs_error("%s", msg ? msg : fmt);
	free(msg);
	return -1;
}

#ifndef CS_AGENT_INSTALL_REL
#define CS_AGENT_INSTALL_REL "../lib/csampler"
#endif

static char *find_agent(void)
{
	const char *env = getenv("CSAMPLER_AGENT");
	if (env && *env)
		return access(env, R_OK) == 0 ? realpath(env, NULL) : NULL;
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
		"/../agent/libcsampler_agent.so",		      /* build tree */
		"/" CS_AGENT_INSTALL_REL "/libcsampler_agent.so", /* installed */
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
	s->fd = s->ctl = -1;
	cs_rendezvous_init(&s->rz);
	return s;
}

struct cs_leak_session *cs_leak_session_adopt(const struct cs_leak_opts *o, int fd, pid_t pid)
{
	struct cs_leak_session *s = cs_xcalloc(1, sizeof(*s));
	s->o = *o;
	if (!s->o.max_depth || s->o.max_depth > CS_AGENT_MAX_DEPTH)
		s->o.max_depth = 64;
	s->agent = cs_xstrdup(o->agent ? o->agent : "");
	s->fd = fd;
	s->ctl = -1;
	s->pid = pid;
	s->adopted = 1;
	cs_rendezvous_init(&s->rz);
	return s;
}

int cs_leak_session_take_control(struct cs_leak_session *s)
{
	int fd = s->ctl;
	s->ctl = -1;
	return fd;
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
	if (s->ctl >= 0)
		close(s->ctl);
	cs_rendezvous_release(&s->rz);
	if (s->env) {
		for (char **e = s->env; *e; e++)
			free(*e);
		free(s->env);
	}
	if (s->final_pending)
		cs_leak_raw_release(&s->final);
	free(s->agent);
	free(s);
}

int cs_leak_session_launch_env(struct cs_leak_session *s, char ***env)
{
	if (cs_rendezvous_launch(&s->rz, &s->ctl) < 0)
		return -1;
	/* The caller's environment, with the agent preloaded first. */
	size_t n = 0;
	for (char **e = environ; *e; e++)
		n++;
	s->env = cs_xcalloc(n + 3, sizeof(char *));
	size_t k = 0;
	const char *old = getenv("LD_PRELOAD");
	for (char **e = environ; *e; e++) {
		if (!strncmp(*e, "LD_PRELOAD=", 11) ||
		    !strncmp(*e, CS_AGENT_FD_ENV "=", sizeof(CS_AGENT_FD_ENV)))
			continue;
		s->env[k++] = cs_xstrdup(*e);
	}
	if (old && *old)
		s->env[k++] = cs_xasprintf("LD_PRELOAD=%s:%s", s->agent, old);
	else
		s->env[k++] = cs_xasprintf("LD_PRELOAD=%s", s->agent);
	s->env[k++] = cs_xasprintf("%s=%d,%d", CS_AGENT_FD_ENV, s->rz.child_fd, (int)getpid());
	s->env[k] = NULL;
	*env = s->env;
	return 0;
}

int cs_leak_session_attach(struct cs_leak_session *s, struct cs_symbolizer *sym, pid_t pid,
			   struct cs_inject_stats *st)
{
	s->pid = pid;
	s->attach = 1;
	if (cs_target_is_static(pid) == 1)
		return cs_error("PID %d runs a statically linked program: the allocation agent "
				"can only be loaded into dynamically linked ones",
				(int)pid);
	if (cs_rendezvous_attach(&s->rz, pid, s->agent) < 0)
		return -1;
	struct cs_inject_call call = {CS_AGENT_ATTACH_FN, &s->rz.rv, sizeof(s->rz.rv)};
	return cs_inject_dlopen(sym, pid, s->rz.load_path, &call, st);
}

/* ---- messages ---- */

static uint64_t now_ms(void)
{
	return cs_now_ns() / 1000000;
}

/* A signal asked csampler to end since the current wait began. */
static int stopping(const struct cs_leak_session *s)
{
	return s->o.stop && *s->o.stop != s->stop_seen;
}

static void wait_begins(struct cs_leak_session *s)
{
	s->stop_seen = s->o.stop ? *s->o.stop : 0;
}

/* Wait until fd is readable, the deadline passes (errno ETIMEDOUT) or a signal asks
 * csampler to end (errno EINTR). 0 or -1. */
static int wait_fd(struct cs_leak_session *s, int fd, uint64_t deadline)
{
	for (;;) {
		if (stopping(s)) {
			errno = EINTR;
			return -1;
		}
		uint64_t now = now_ms();
		if (now >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		/* short slices: a signal handler that only sets a flag does not end poll if
		 * it was installed with SA_RESTART */
		int slice = deadline - now > 100 ? 100 : (int)(deadline - now);
		struct pollfd pf = {fd, POLLIN, 0};
		int r = poll(&pf, 1, slice);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* Read exactly n bytes before the deadline. 0, or -1 (errno ETIMEDOUT, EINTR, or
 * EPIPE on end of file). */
static int read_full(struct cs_leak_session *s, int fd, void *buf, size_t n, uint64_t deadline)
{
	uint8_t *p = buf;
	while (n) {
		if (wait_fd(s, fd, deadline) < 0)
			return -1;
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

/* All of buf on a socket. MSG_NOSIGNAL: an agent whose process exits or execs between
 * two messages (a launched program's fork children do) is an EPIPE here, never a
 * SIGPIPE that would end csampler. */
static int send_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int send_msg(int fd, uint32_t type, const void *payload, size_t len)
{
	struct cs_msg m = {CS_AGENT_MAGIC, type, len};
	if (send_all(fd, &m, sizeof(m)) < 0)
		return -1;
	return len ? send_all(fd, payload, len) : 0;
}

/* Read one message; *payload is heap memory the caller frees. 0 or -1 (errno set;
 * EPROTO for a malformed message). */
static int read_msg(struct cs_leak_session *s, int fd, struct cs_msg *m, uint8_t **payload,
		    uint64_t deadline)
{
	*payload = NULL;
	if (read_full(s, fd, m, sizeof(*m), deadline) < 0)
		return -1;
	if (m->magic != CS_AGENT_MAGIC || m->len > MAX_PAYLOAD) {
		errno = EPROTO;
		return -1;
	}
	*payload = cs_xmalloc(m->len ? m->len : 1);
	if (m->len && read_full(s, fd, *payload, m->len, deadline) < 0) {
		free(*payload);
		*payload = NULL;
		return -1;
	}
	return 0;
}

static void hang_up(struct cs_leak_session *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* ---- handshake ---- */

/* Read HELLO from fd and check it: 0, or -1 with errno EPROTO (not our agent), or the
 * read's errno. */
static int read_hello(struct cs_leak_session *s, int fd, uint64_t deadline)
{
	struct cs_msg m;
	uint8_t *p;
	if (read_msg(s, fd, &m, &p, deadline) < 0)
		return -1;
	struct cs_msg_hello hello;
	memset(&hello, 0, sizeof(hello));
	int ok = m.type == CS_MSG_HELLO && m.len >= sizeof(hello);
	if (ok)
		memcpy(&hello, p, sizeof(hello));
	free(p);
	if (ok && hello.version != CS_AGENT_VERSION)
		return fail(s, "the agent in PID %d speaks protocol %u; this csampler speaks %d",
				(int)s->pid, hello.version, CS_AGENT_VERSION),
		       errno = ENOTSUP, -1;
	if (!ok || (s->attach && memcmp(hello.key, s->rz.rv.agent_key, CS_AGENT_KEY_BYTES))) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

/* Attach mode: accept connections until one from the target shows the agent key. */
static int accept_agent(struct cs_leak_session *s, uint64_t deadline)
{
	for (int rejected = 0; rejected < MAX_REJECTED;) {
		if (wait_fd(s, s->rz.listen_fd, deadline) < 0)
			return -1;
		int fd = accept4(s->rz.listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED)
				continue;
			return -1;
		}
		/* Another process (whoever saw the name), or the target's agent without the
		 * key: drop it and keep waiting for ours. */
		uint64_t hello_by = now_ms() + HELLO_WAIT_MS;
		if (!cs_rendezvous_peer_ok(&s->rz, fd, s->pid) ||
		    read_hello(s, fd, hello_by < deadline ? hello_by : deadline) < 0) {
			int e = errno;
			close(fd);
			if (e == ENOTSUP || e == EINTR)
				return errno = e, -1;
			rejected++;
			continue;
		}
		s->fd = fd;
		return 0;
	}
	errno = EAGAIN;
	return -1;
}

/* Launch mode: wait on the control socket for the session of the command's first
 * process; sessions of other processes cannot come before it (it opens its session
 * before main), and are dropped. */
static int accept_launched(struct cs_leak_session *s, uint64_t deadline)
{
	for (;;) {
		if (wait_fd(s, s->ctl, deadline) < 0)
			return -1;
		int fd;
		pid_t pid;
		int r = cs_rendezvous_take(s->ctl, &fd, &pid);
		if (r < 0)
			return errno = EPIPE, -1; /* every process of the command is gone */
		if (r == 0)
			continue;
		if (pid != s->pid) {
			close(fd);
			continue;
		}
		s->fd = fd;
		return read_hello(s, fd, deadline);
	}
}

/* Why no agent said HELLO, as one error line. */
static int no_hello(struct cs_leak_session *s, int timeout_ms)
{
	int e = errno;
	if (e == ENOTSUP)
		return -1; /* printed */
	if (e == EINTR)
		return fail(s, "interrupted while waiting for the allocation agent in PID %d",
				(int)s->pid);
	if (!s->attach) {
		if (e == EPIPE)
			return fail(s, "the command ended before the allocation agent started "
					"in it");
		return fail(s, "the allocation agent did not start in PID %d within %d s (a "
				"program that clears LD_PRELOAD, or a set-user-ID program?)",
				(int)s->pid, timeout_ms / 1000);
	}
	if (e == EAGAIN)
		return fail(s, "gave up waiting for the allocation agent in PID %d: %d other "
				"connections to its socket were refused",
				(int)s->pid, MAX_REJECTED);
	if (cs_target_maps_file(s->pid, s->rz.load_path))
		return fail(s, "the allocation agent was loaded into PID %d but did not connect "
				"to csampler within %d s",
				(int)s->pid, timeout_ms / 1000);
	return fail(s, "the allocation agent did not load in PID %d within %d s: dlopen('%s') "
			"failed or has not returned there (a library it needs, such as libunwind, "
			"missing in that process's mount namespace, or a thread holding the "
			"loader's lock)",
			(int)s->pid, timeout_ms / 1000, s->rz.load_path);
}

/* After HELLO: look at the program the agent runs in. */
static void inspect_target(struct cs_leak_session *s)
{
	struct cs_leak_notes *n = s->o.notes;
	char exe[sizeof(n->own_allocator)];
	if (cs_target_own_allocator(s->pid, exe, sizeof(exe))) {
		s->inexact = 1;
		if (n)
			snprintf(n->own_allocator, sizeof(n->own_allocator), "%s", exe);
	}
}

int cs_leak_session_handshake(struct cs_leak_session *s, pid_t pid, int timeout_ms,
			      uint64_t *start_ns, void (*on_hello)(void *ctx), void *ctx)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	s->pid = pid;
	wait_begins(s);
	if (!s->attach && !s->adopted) {
		/* The command runs: its end of the pair is its own now. */
		if (s->rz.child_fd >= 0)
			close(s->rz.child_fd);
		s->rz.child_fd = -1;
		if (cs_target_is_static(pid) == 1)
			return cs_error("the command is statically linked: the allocation agent "
					"can only be loaded into dynamically linked programs");
	}
	int hello = s->attach	  ? accept_agent(s, deadline)
		    : s->adopted ? read_hello(s, s->fd, deadline)
				 : accept_launched(s, deadline);
	if (hello < 0)
		return no_hello(s, timeout_ms);
	/* The agent is loaded: its copy and the listening socket can go. */
	cs_rendezvous_drop_copy(&s->rz);
	if (s->rz.listen_fd >= 0)
		close(s->rz.listen_fd);
	s->rz.listen_fd = -1;
	if (on_hello)
		on_hello(ctx);
	inspect_target(s);
	struct cs_msg_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = s->o.sample_bytes ? CS_AGENT_SAMPLED : CS_AGENT_EXACT;
	cfg.max_depth = s->o.max_depth;
	cfg.sample_bytes = s->o.sample_bytes;
	memcpy(cfg.key, s->rz.rv.csampler_key, CS_AGENT_KEY_BYTES);
	/* If this fails the agent said BUSY and hung up: the read below tells. */
	send_msg(s->fd, CS_MSG_CONFIG, &cfg, sizeof(cfg));
	struct cs_msg m;
	uint8_t *p;
	if (read_msg(s, s->fd, &m, &p, now_ms() + CS_AGENT_READY_WAIT_MS) < 0) {
		int e = errno;
		hang_up(s); /* a stuck agent's watchdog removes its hooks */
		if (e == EINTR)
			return fail(s, "interrupted while the allocation agent in PID %d was "
					"getting ready",
					(int)pid);
		if (e == ETIMEDOUT)
			return fail(s, "the allocation agent in PID %d did not get ready "
					"within %d s; it removes its hooks by itself",
					(int)pid, CS_AGENT_READY_WAIT_MS / 1000);
		return fail(s, "the allocation agent in PID %d gave up before it was ready "
				"(its hooks are removed)",
				(int)pid);
	}
	int ret = -1;
	if (m.type == CS_MSG_BUSY)
		fail(s, "another csampler is already tracking allocations in PID %d", (int)pid);
	else if (m.type == CS_MSG_ERROR)
		fail(s, "the allocation agent in PID %d failed: %.*s", (int)pid,
			 (int)(m.len < 200 ? m.len : 200), (char *)p);
	else if (m.type != CS_MSG_READY || m.len < sizeof(struct cs_msg_ready))
		fail(s, "the allocation agent in PID %d answered out of turn", (int)pid);
	else
		ret = 0;
	if (ret < 0) {
		free(p);
		hang_up(s);
		return -1;
	}
	struct cs_msg_ready ready;
	memcpy(&ready, p, sizeof(ready));
	free(p);
	*start_ns = ready.start_ns;
	if (ready.flags & CS_READY_EXE_ALLOCATOR) {
		s->inexact = 1;
		if (s->o.notes && !s->o.notes->own_allocator[0]) {
			char link[64];
			snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
			char *n = s->o.notes->own_allocator;
			ssize_t len = readlink(link, n, sizeof(s->o.notes->own_allocator) - 1);
			n[len > 0 ? len : 0] = 0;
		}
	}
	if (s->o.notes)
		s->o.notes->rss_anon_start = cs_target_rss_anon(pid);
	return 0;
}

/* ---- snapshots ---- */

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
		r->allocs = site.allocs;
		r->alloc_bytes = site.alloc_bytes;
		r->temporary = site.temporary;
		r->peak_bytes = site.peak_bytes;
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

/* A snapshot was read: notes, flags, and for the final one the target's maps (it
 * waits for FINAL_ACK meanwhile, its address space whole). */
static void took(struct cs_leak_session *s, struct cs_leak_raw *out)
{
	if (s->inexact)
		out->h.flags |= CS_SNAP_INEXACT;
	struct cs_leak_notes *n = s->o.notes;
	if (out->h.flags & CS_SNAP_FINAL) {
		if (s->o.sym)
			cs_sym_proc_refresh(s->o.sym, s->pid);
		if (n && (out->h.flags & CS_SNAP_SIGNAL))
			n->died_of_signal = 1;
	}
	if (n) {
		uint64_t rss = cs_target_rss_anon(s->pid), tracked = 0;
		for (size_t i = 0; i < out->n; i++)
			tracked += out->sites[i].bytes;
		uint64_t grew = rss > n->rss_anon_start ? rss - n->rss_anon_start : 0;
		uint64_t before = n->rss_growth > n->tracked_then ? n->rss_growth - n->tracked_then
								  : 0;
		if (n->rss_anon_start && grew > tracked && grew - tracked > before) {
			n->rss_growth = grew;
			n->tracked_then = tracked;
		}
		n->snapshots++;
	}
	if (out->h.flags & CS_SNAP_FINAL) {
		send_msg(s->fd, CS_MSG_FINAL_ACK, NULL, 0);
		hang_up(s);
	}
}

/* Read messages until a snapshot; others are skipped, MAX_STRAY at most. 0, or -1
 * with *gone = 1 when the agent went away (no message), or after one error line. */
static int read_snapshot(struct cs_leak_session *s, struct cs_leak_raw *out, int *gone,
			 uint64_t wait_ms, int quiet)
{
	uint64_t deadline = now_ms() + wait_ms;
	for (int stray = 0;; stray++) {
		if (stray == MAX_STRAY) {
			hang_up(s);
			*gone = 1;
			if (quiet)
				return -1;
			return fail(s, "the allocation agent of PID %d sent %d messages that were "
					"not snapshots: csampler stopped listening to it",
					(int)s->pid, MAX_STRAY);
		}
		struct cs_msg m;
		uint8_t *p;
		if (read_msg(s, s->fd, &m, &p, deadline) < 0) {
			int e = errno;
			hang_up(s);
			*gone = 1;
			if (quiet || e == EPIPE || e == ECONNRESET)
				return -1;
			if (e == EPROTO)
				return fail(s, "the allocation agent sent a malformed message");
			if (e == EINTR)
				return fail(s, "interrupted while waiting for a leak snapshot");
			return fail(s, "the allocation agent of PID %d did not answer within %d s",
					(int)s->pid, (int)(wait_ms / 1000));
		}
		if (m.type == CS_MSG_ERROR || m.type == CS_MSG_BYE) {
			free(p);
			hang_up(s);
			*gone = 1;
			return -1;
		}
		if (m.type != CS_MSG_SNAPSHOT) {
			free(p);
			continue;
		}
		if (parse_snapshot(p, m.len, out) < 0) {
			cs_leak_raw_release(out);
			free(p);
			hang_up(s);
			*gone = 1;
			if (quiet)
				return -1;
			return fail(s, "the allocation agent sent a malformed snapshot");
		}
		took(s, out);
		if (out->h.flags & CS_SNAP_FINAL)
			*gone = 1;
		return 0;
	}
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
	/* Once csampler was asked to end (a signal, or -d is up), the last snapshot gets
	 * a short wait; a further signal ends it at once. Before -d is up, a snapshot may
	 * not take csampler much past it. */
	uint64_t now = cs_now_ns();
	int stopping_now = (s->o.stop && *s->o.stop) || (s->o.end_ns && now >= s->o.end_ns);
	wait_begins(s);
	uint64_t wait = stopping_now ? SNAPSHOT_WAIT_STOPPING_MS : SNAPSHOT_WAIT_MS;
	if (!stopping_now && s->o.end_ns &&
	    (s->o.end_ns - now) / 1000000 + SNAPSHOT_WAIT_STOPPING_MS < wait)
		wait = (s->o.end_ns - now) / 1000000 + SNAPSHOT_WAIT_STOPPING_MS;
	return read_snapshot(s, out, gone, wait, 0);
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
	wait_begins(s);
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	int gone = 0;
	while (s->fd >= 0) {
		uint64_t now = now_ms();
		if (now >= deadline || read_snapshot(s, out, &gone, deadline - now, 1) < 0)
			return 0;
		if (out->h.flags & CS_SNAP_FINAL)
			return 1;
		cs_leak_raw_release(out); /* a late answer to an earlier request */
	}
	return 0;
}

int cs_leak_session_stats(struct cs_leak_session *s, struct cs_msg_stats *out, int timeout_ms)
{
	if (s->final_pending || s->fd < 0)
		return -1;
	uint64_t asked = cs_now_ns();
	if (send_msg(s->fd, CS_MSG_STATS_REQ, NULL, 0) < 0)
		return -1;
	wait_begins(s);
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	for (int stray = 0; stray < MAX_STRAY; stray++) {
		struct cs_msg m;
		uint8_t *p;
		if (read_msg(s, s->fd, &m, &p, deadline) < 0) {
			/* late: the answer is skipped when it comes; gone: EOF shows next time */
			if (errno != ETIMEDOUT && errno != EINTR)
				hang_up(s);
			return -1;
		}
		if (m.type == CS_MSG_STATS && m.len >= sizeof(*out)) {
			memcpy(out, p, sizeof(*out));
			free(p);
			if (out->time_ns >= asked)
				return 0;
			continue; /* the answer to an earlier request that timed out */
		}
		if (m.type == CS_MSG_SNAPSHOT) {
			/* the agent's own, as the target exits: keep it for the next read */
			struct cs_leak_raw r;
			if (parse_snapshot(p, m.len, &r) < 0) {
				cs_leak_raw_release(&r);
				free(p);
				continue;
			}
			if (r.h.flags & CS_SNAP_FINAL) {
				took(s, &r);
				s->final = r;
				s->final_pending = 1;
				return -1;
			}
			cs_leak_raw_release(&r); /* late: owns p */
			continue;
		}
		free(p);
		if (m.type == CS_MSG_ERROR || m.type == CS_MSG_BYE) {
			hang_up(s);
			return -1;
		}
	}
	hang_up(s); /* nothing but messages out of turn: it misbehaves */
	return -1;
}

int cs_leak_session_unasked(struct cs_leak_session *s, struct cs_leak_raw *out)
{
	if (s->final_pending) {
		*out = s->final;
		s->final_pending = 0;
		return 1;
	}
	wait_begins(s);
	while (s->fd >= 0) {
		struct pollfd pf = {s->fd, POLLIN, 0};
		if (poll(&pf, 1, 0) <= 0)
			return 0;
		struct cs_msg m;
		uint8_t *p;
		/* what has begun to arrive comes whole at once: a short wait */
		if (read_msg(s, s->fd, &m, &p, now_ms() + 2000) < 0) {
			hang_up(s);
			return -1;
		}
		if (m.type == CS_MSG_ERROR || m.type == CS_MSG_BYE) {
			free(p);
			hang_up(s);
			return -1;
		}
		if (m.type != CS_MSG_SNAPSHOT) {
			free(p); /* a late answer */
			continue;
		}
		if (parse_snapshot(p, m.len, out) < 0) {
			cs_leak_raw_release(out);
			free(p);
			hang_up(s);
			return -1;
		}
		if (out->h.flags & CS_SNAP_FINAL) {
			took(s, out);
			return 1;
		}
		cs_leak_raw_release(out); /* a late answer; owns p */
	}
	return -1;
}

int cs_leak_session_pending(const struct cs_leak_session *s)
{
	return s->final_pending;
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
		wait_begins(s);
		uint64_t deadline = now_ms() + 2000;
		for (int i = 0; i < MAX_STRAY; i++) {
			struct cs_msg m;
			uint8_t *p;
			if (read_msg(s, s->fd, &m, &p, deadline) < 0)
				break;
			free(p);
			if (m.type == CS_MSG_BYE)
				break;
		}
	}
	hang_up(s);
}

void cs_leak_wait_command(pid_t pid, volatile sig_atomic_t *stop, int *status, int *exited)
{
	fprintf(stderr, "[csampler] the command runs on untracked; waiting for it to end\n");
	sig_atomic_t seen = stop ? *stop : 0;
	while (!stop || *stop == seen) {
		int st;
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid) {
			*status = st;
			*exited = 1;
			return;
		}
		if (w < 0 && errno != EINTR)
			return;
		struct timespec t = {0, 50 * 1000000};
		nanosleep(&t, NULL);
	}
}
