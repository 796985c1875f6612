/* agent.c - the agent's session: connect to csampler, handshake, install the hooks,
 * answer snapshot requests from one service thread, and go inert on DETACH, on EOF or
 * error, in a forked child, or when nobody answers. See protocol.h for the messages.
 *
 * Launch mode (CSAMPLER_AGENT_SOCKET set, the agent was preloaded): the constructor does
 * the whole handshake before main() runs, so the program is tracked from its first
 * instruction. Attach mode (loaded by dlopen through ptrace): the constructor only
 * connects and starts the service thread, which does the handshake; dlopen returns at
 * once and the borrowed thread goes back to the target.
 */
#include "agent/agent.h"
#include "agent/protocol.h"
#include "agent/table.h"

#include <errno.h>
#include <link.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CONFIG_TIMEOUT_MS 5000
#define MAX_SITES (1u << 20)
#define PUBLIC __attribute__((visibility("default")))

static int sock = -1;
static int session; /* 0: idle; 1: a session is starting or running */
/* Serializes whole messages: the service thread and the exiting thread may both send. */
static pthread_mutex_t send_lock = PTHREAD_MUTEX_INITIALIZER;
static int atfork_done;

uint64_t cs_now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* ---- socket I/O (never SIGPIPE the target) ---- */

static int send_all(const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = send(sock, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int recv_all(void *buf, size_t len)
{
	char *p = buf;
	while (len) {
		ssize_t n = recv(sock, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_msg(uint32_t type, const void *payload, size_t len)
{
	struct cs_msg m = {CS_AGENT_MAGIC, type, len};
	pthread_mutex_lock(&send_lock);
	int rc = send_all(&m, sizeof(m));
	if (!rc && len)
		rc = send_all(payload, len);
	pthread_mutex_unlock(&send_lock);
	return rc;
}

static void send_error(const char *what)
{
	send_msg(CS_MSG_ERROR, what, strlen(what));
}

/* Read one message header and up to cap payload bytes into buf (the rest is
 * discarded). Returns 0 or -1 on EOF, error or a bad magic. */
static int recv_msg(struct cs_msg *m, void *buf, size_t cap)
{
	if (recv_all(m, sizeof(*m)) || m->magic != CS_AGENT_MAGIC)
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
		if (recv_all(dst, take))
			return -1;
		left -= take;
	}
	return 0;
}

/* ---- lifecycle ---- */

/* Stop recording and put the GOT back. The tables stay mapped: another thread may
 * still be inside a hook. */
static void go_inert(void)
{
	if (__atomic_exchange_n(&cs_state.active, 0, __ATOMIC_ACQ_REL))
		cs_got_restore();
}

static void end_session(void)
{
	go_inert();
	if (sock >= 0)
		close(sock);
	sock = -1;
	__atomic_store_n(&session, 0, __ATOMIC_RELEASE);
}

/* In a forked child: forward everything, never touch the parent's socket. Only
 * async-signal-safe work here: no locks (the parent's other threads may have held
 * the loader's or the agent's), so the GOT keeps pointing at hooks that forward. */
static void on_fork_child(void)
{
	__atomic_store_n(&cs_state.active, 0, __ATOMIC_RELAXED);
	if (sock >= 0)
		close(sock);
	sock = -1;
	session = 0;
}

static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t me = (uintptr_t)arg, lo = UINTPTR_MAX, hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;
		if (a < lo)
			lo = a;
		if (a + ph->p_memsz > hi)
			hi = a + ph->p_memsz;
	}
	if (me >= lo && me < hi) {
		cs_state.self_lo = lo;
		cs_state.self_hi = hi;
		return 1;
	}
	return 0;
}

/* Apply CONFIG: tables, real functions, hooks. Returns NULL or an error message. */
static const char *setup(const struct cs_msg_config *c, struct cs_msg_ready *ready)
{
	if (c->mode != CS_AGENT_EXACT && c->mode != CS_AGENT_SAMPLED)
		return "CONFIG: unknown mode";
	if (c->max_depth > CS_AGENT_MAX_DEPTH)
		return "CONFIG: max_depth above CS_AGENT_MAX_DEPTH";
	if (c->mode == CS_AGENT_SAMPLED && !c->sample_bytes)
		return "CONFIG: sampled mode needs sample_bytes > 0";
	if (!cs_state.self_hi)
		dl_iterate_phdr(find_self, (void *)(uintptr_t)&find_self);
	struct cs_tables *t = cs_tables_new(MAX_SITES, c->mode == CS_AGENT_SAMPLED);
	if (!t)
		return "cannot map the agent's tables (out of memory)";
	cs_hooks_resolve();
	for (size_t i = 0; i < cs_nhooks; i++)
		if (!strcmp(cs_hooks[i].name, "malloc") || !strcmp(cs_hooks[i].name, "free"))
			if (!*cs_hooks[i].real)
				return "cannot resolve malloc/free with dlsym";
	cs_unwind_init();
	if (!atfork_done) {
		pthread_atfork(NULL, NULL, on_fork_child);
		atfork_done = 1;
	}
	cs_state.tables = t;
	cs_state.filter = cs_tables_filter(t);
	cs_state.sampled = c->mode == CS_AGENT_SAMPLED;
	cs_state.sample_bytes = cs_state.sampled ? c->sample_bytes : 0;
	cs_state.max_depth = c->max_depth ? c->max_depth : CS_AGENT_MAX_DEPTH;
	cs_state.inexact = 0;
	cs_state.start_ns = cs_now_ns();
	__atomic_store_n(&cs_state.active, 1, __ATOMIC_RELEASE);
	/* Everything that releases blocks first, in every module; then the allocators. */
	struct cs_got_stats st = {0, 0, 0};
	cs_got_install(1, &st);
	cs_got_install(2, &st);
	if (st.failed)
		cs_state.inexact = 1;
	ready->start_ns = cs_state.start_ns;
	ready->modules = st.modules;
	ready->slots = st.slots;
	return NULL;
}

/* HELLO, CONFIG (with a timeout), set-up, READY. Returns 0 when tracking. */
static int handshake(void)
{
	struct cs_msg_hello hello = {CS_AGENT_VERSION, (uint32_t)getpid()};
	if (send_msg(CS_MSG_HELLO, &hello, sizeof(hello)))
		return -1;
	struct pollfd pf = {sock, POLLIN, 0};
	int rc;
	while ((rc = poll(&pf, 1, CONFIG_TIMEOUT_MS)) < 0 && errno == EINTR)
		;
	if (rc <= 0)
		return -1;
	/* A peer that stalls mid-message must not hold us either. */
	struct timeval tv = {CONFIG_TIMEOUT_MS / 1000, 0};
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct cs_msg m;
	struct cs_msg_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	if (recv_msg(&m, &cfg, sizeof(cfg)))
		return -1;
	if (m.type != CS_MSG_CONFIG || m.len < sizeof(cfg)) {
		send_error("expected CONFIG");
		return -1;
	}
	struct timeval none = {0, 0};
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
	struct cs_msg_ready ready;
	memset(&ready, 0, sizeof(ready));
	const char *err = setup(&cfg, &ready);
	if (err) {
		send_error(err);
		return -1;
	}
	return send_msg(CS_MSG_READY, &ready, sizeof(ready));
}

static int send_snapshot(uint32_t flags)
{
	struct cs_snap_params p = {
		.time_ns = cs_now_ns(),
		.start_ns = cs_state.start_ns,
		.sample_bytes = cs_state.sample_bytes,
		.extra_flags = flags | (cs_state.inexact ? CS_SNAP_INEXACT : 0),
	};
	void *buf;
	size_t len;
	if (cs_tables_snapshot(cs_state.tables, &p, &buf, &len)) {
		send_error("cannot map memory for the snapshot");
		return 0; /* the session can go on */
	}
	int rc = send_msg(CS_MSG_SNAPSHOT, buf, len);
	cs_snap_buf_free(buf, len);
	return rc;
}

static void serve(void)
{
	for (;;) {
		struct cs_msg m;
		if (recv_msg(&m, NULL, 0))
			return; /* EOF, error or garbage: csampler is gone */
		switch (m.type) {
		case CS_MSG_SNAP_REQ:
			if (send_snapshot(0))
				return;
			break;
		case CS_MSG_DETACH:
			go_inert();
			send_msg(CS_MSG_BYE, NULL, 0);
			return;
		default:
			break; /* unknown requests are ignored (their payload was skipped) */
		}
	}
}

static void *service_main(void *arg)
{
	int attach = (int)(intptr_t)arg;
	cs_guard_enter(); /* nothing this thread allocates is tracked */
	pthread_setname_np(pthread_self(), "csampler-agent");
	if (!attach || handshake() == 0)
		serve();
	end_session();
	return NULL;
}

static int start_service(int attach)
{
	pthread_attr_t attr;
	sigset_t all;
	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	/* The target's signal handlers must never run on the agent's thread. */
	pthread_attr_setsigmask_np(&attr, &all);
	pthread_t th;
	int rc = pthread_create(&th, &attr, service_main, (void *)(intptr_t)attach);
	pthread_attr_destroy(&attr);
	return rc;
}

/* Launch mode: programs the target execs must not be tracked. */
static void clean_environment(void)
{
	unsetenv(CS_AGENT_SOCKET_ENV);
	const char *pre = getenv("LD_PRELOAD");
	if (!pre)
		return;
	static char out[4096];
	size_t o = 0;
	const char *p = pre;
	while (*p) {
		size_t n = strcspn(p, ": ");
		const char *slash = memrchr(p, '/', n);
		const char *base = slash ? slash + 1 : p;
		size_t blen = n - (size_t)(base - p);
		int mine = blen == strlen("libcsampler_agent.so") &&
			   !memcmp(base, "libcsampler_agent.so", blen);
		if (n && !mine && o + n + 2 < sizeof(out)) {
			if (o)
				out[o++] = ':';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
		while (*p == ':' || *p == ' ')
			p++;
	}
	out[o] = 0;
	if (o)
		setenv("LD_PRELOAD", out, 1);
	else
		unsetenv("LD_PRELOAD");
}

static int connect_to(const char *name, int abstract)
{
	struct sockaddr_un a;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	size_t n = strlen(name);
	if (n + 1 + (size_t)abstract > sizeof(a.sun_path))
		return -1;
	memcpy(a.sun_path + abstract, name, n);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + abstract + n +
				    (abstract ? 0 : 1));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, len)) {
		close(fd);
		return -1;
	}
	/* A csampler that stops reading must not hang the target (e.g. in exit). */
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Start a session if none is running: connect, then hand-shake here (launch mode) or
 * on the service thread (attach mode). Exported so that csampler can start a new
 * session in a process where the agent is already loaded (a second dlopen does not run
 * the constructor again). Returns 0 if a session started, -1 if not. */
PUBLIC int cs_agent_start(void)
{
	int idle = 0;
	if (!__atomic_compare_exchange_n(&session, &idle, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return -1;
	cs_guard_enter();
	int rc = -1;
	const char *path = getenv(CS_AGENT_SOCKET_ENV);
	if (path && *path) {
		char copy[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
		int abstract = path[0] == '@';
		snprintf(copy, sizeof(copy), "%s", path + abstract);
		clean_environment();
		sock = connect_to(copy, abstract);
		if (sock >= 0 && handshake() == 0 && start_service(0) == 0)
			rc = 0;
	} else {
		char name[64];
		snprintf(name, sizeof(name), CS_AGENT_ABSTRACT_FMT, (int)getpid());
		sock = connect_to(name, 1);
		if (sock >= 0 && start_service(1) == 0)
			rc = 0;
	}
	if (rc)
		end_session();
	cs_guard_leave();
	return rc;
}

__attribute__((constructor)) static void cs_agent_ctor(void)
{
	cs_agent_start();
}

/* The program is exiting normally: send what it never freed (after its own atexit
 * handlers and destructors, which ran before ours), then stop tracking. The service
 * thread sees the shutdown as EOF and ends the session. */
__attribute__((destructor)) static void cs_agent_dtor(void)
{
	if (!__atomic_load_n(&cs_state.active, __ATOMIC_ACQUIRE) || sock < 0)
		return;
	cs_guard_enter();
	send_snapshot(CS_SNAP_FINAL);
	go_inert();
	shutdown(sock, SHUT_RDWR);
	cs_guard_leave();
}
