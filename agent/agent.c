/* agent.c - the agent's session: take the connection csampler prepared, hand-shake,
 * install the hooks, answer snapshot requests from one service thread, and go inert on
 * DETACH, on EOF or error, or when nobody answers. See protocol.h for the messages and
 * how both ends know each other.
 *
 * Launch mode (CSAMPLER_AGENT_FD set, the agent was preloaded): the constructor opens
 * a session over the control socket and does the whole handshake before main() runs,
 * so the program is tracked from its first instruction. A child after fork opens a
 * session of its own from a new service thread. Attach mode (loaded by dlopen through
 * ptrace, then cs_agent_attach() called by the injected code): only the connection is
 * made on the borrowed thread; the service thread does the handshake and the borrowed
 * thread goes back at once; a child after fork goes inert.
 *
 * The final snapshot (normal exit, or a fatal signal in launch mode) is sent by the
 * service thread too: the dying thread asks for it through a pipe and waits, bounded,
 * for csampler's FINAL_ACK. Pipes, poll and atomics are all a signal handler needs.
 */
#include "agent/agent.h"
#include "agent/protocol.h"
#include "agent/table.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CONFIG_TIMEOUT_MS 5000
#define CTL_SEND_MS 5000 /* how long a new process waits for room on the control socket */
#define START_WAIT_MS 3000 /* how long an ending process waits for its session to start */
#define MAX_SITES (1u << 20)
#define PUBLIC __attribute__((visibility("default")))

static int sock = -1;
static int session;	/* 0: idle; 1: a session is starting or running (atomic) */
static int serving;	/* tracking and the service thread runs (atomic) */
static pid_t session_pid; /* the process the session belongs to */
static int launch_mode;	  /* sessions come over the control socket; no keys */
static int ctl_fd = -1;	  /* launch mode: the control socket (inherited across exec) */
static int handshake_in_thread; /* attach mode, or a forked child */
static int forked_tables;	/* a forked child's tables, tracking since the fork */
static struct cs_agent_rendezvous rendezvous; /* attach mode: keys and name */
static int atfork_done;
/* The final snapshot: requested through wake (0: none, 1: exit, 2: fatal signal);
 * done is made readable once it was acknowledged or given up. */
static int final_req;
static int wake_pipe[2] = {-1, -1}, done_pipe[2] = {-1, -1};

uint64_t cs_now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static pid_t raw_getpid(void)
{
	return (pid_t)syscall(SYS_getpid);
}

static int send_msg(uint32_t type, const void *payload, size_t len)
{
	return cs_send_msg(sock, type, payload, len);
}

static void send_error(const char *what)
{
	send_msg(CS_MSG_ERROR, what, strlen(what));
}

static int recv_msg(struct cs_msg *m, void *buf, size_t cap)
{
	return cs_recv_msg(sock, m, buf, cap);
}

static int wait_readable(int ms)
{
	return cs_wait_readable(sock, ms);
}

/* ---- lifecycle ---- */

/* Stop recording and put the GOT back. The tables stay mapped: another thread may
 * still be inside a hook. */
static void go_inert(void)
{
	if (__atomic_exchange_n(&cs_state.active, 0, __ATOMIC_ACQ_REL))
		cs_got_restore();
}

static void signal_done(void)
{
	if (done_pipe[1] >= 0)
		(void)!write(done_pipe[1], "x", 1);
}

static void end_session(void)
{
	go_inert();
	__atomic_store_n(&serving, 0, __ATOMIC_RELEASE);
	if (sock >= 0)
		close(sock);
	sock = -1;
	signal_done(); /* whoever waits for a final snapshot waits no more */
	__atomic_store_n(&session, 0, __ATOMIC_RELEASE);
}

static void make_pipes(void)
{
	if (wake_pipe[0] < 0 && pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK))
		wake_pipe[0] = wake_pipe[1] = -1;
	if (done_pipe[0] < 0 && pipe2(done_pipe, O_CLOEXEC | O_NONBLOCK))
		done_pipe[0] = done_pipe[1] = -1;
	/* A new session starts with nothing pending. */
	char buf[64];
	while (wake_pipe[0] >= 0 && read(wake_pipe[0], buf, sizeof(buf)) > 0)
		;
	while (done_pipe[0] >= 0 && read(done_pipe[0], buf, sizeof(buf)) > 0)
		;
	__atomic_store_n(&final_req, 0, __ATOMIC_RELEASE);
}

static int start_service(void);
static int open_session(void);

/* In a forked child: never touch the parent's socket or pipes. Attach mode: forward
 * everything from now on. Launch mode, if the parent was tracking: new tables (what
 * the parent allocated is unknown to the child) that record from the fork on, with the
 * parent's configuration, and a session of the child's own, opened by a new service
 * thread; if it cannot be opened the child goes inert. Locks a parent's thread may have
 * held at the fork are made anew; glibc has reset its own (the allocator's and the
 * loader's) before running this handler. */
static void on_fork_child(void)
{
	int was_serving = serving;
	__atomic_store_n(&cs_state.active, 0, __ATOMIC_RELAXED);
	serving = 0;
	if (sock >= 0)
		close(sock);
	sock = -1;
	for (int i = 0; i < 2; i++) {
		if (wake_pipe[i] >= 0)
			close(wake_pipe[i]);
		if (done_pipe[i] >= 0)
			close(done_pipe[i]);
		wake_pipe[i] = done_pipe[i] = -1;
	}
	session = 0;
	if (!was_serving || !launch_mode || ctl_fd < 0)
		return;
	cs_wire_after_fork();
	cs_got_after_fork();
	cs_watchdog_after_fork();
	struct cs_tables *t = cs_tables_new(MAX_SITES, cs_state.sample_bytes);
	if (!t)
		return; /* the hooks forward */
	cs_state.tables = t;
	cs_state.filter = cs_tables_filter(t);
	cs_state.inexact = 0;
	cs_state.start_ns = cs_now_ns();
	forked_tables = 1;
	session = 1;
	handshake_in_thread = 1;
	make_pipes();
	__atomic_store_n(&cs_state.active, 1, __ATOMIC_RELEASE);
	if (start_service()) {
		go_inert();
		session = 0;
	}
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

/* ---- set-up ---- */

enum { SETUP_OK, SETUP_BUSY, SETUP_ERROR };

/* Apply CONFIG: tables, real functions, hooks. *err receives a message on error. */
static int setup(const struct cs_msg_config *c, struct cs_msg_ready *ready, const char **err)
{
	static char msg[128];
	if (c->mode != CS_AGENT_EXACT && c->mode != CS_AGENT_SAMPLED)
		return *err = "CONFIG: unknown mode", SETUP_ERROR;
	if (c->max_depth > CS_AGENT_MAX_DEPTH)
		return *err = "CONFIG: max_depth above CS_AGENT_MAX_DEPTH", SETUP_ERROR;
	if (c->mode == CS_AGENT_SAMPLED && !c->sample_bytes)
		return *err = "CONFIG: sampled mode needs sample_bytes > 0", SETUP_ERROR;
	if (!cs_state.self_hi)
		dl_iterate_phdr(find_self, (void *)(uintptr_t)&find_self);
	if (cs_got_foreign())
		return SETUP_BUSY; /* another agent library has hooks in place */
	cs_hooks_resolve();
	for (size_t i = 0; i < cs_nhooks; i++)
		if (!strcmp(cs_hooks[i].name, "malloc") || !strcmp(cs_hooks[i].name, "free"))
			if (!*cs_hooks[i].real)
				return *err = "cannot find the definitions of malloc and free",
				       SETUP_ERROR;
	uint64_t period = c->mode == CS_AGENT_SAMPLED ? c->sample_bytes : 0;
	uint32_t depth = c->max_depth ? c->max_depth : CS_AGENT_MAX_DEPTH;
	/* A forked child tracks from the fork on with its parent's configuration: keep its
	 * tables if csampler asks for the same. */
	int keep = forked_tables && cs_state.sample_bytes == period && cs_state.max_depth == depth;
	forked_tables = 0;
	if (!keep) {
		__atomic_store_n(&cs_state.active, 0, __ATOMIC_RELEASE);
		struct cs_tables *t = cs_tables_new(MAX_SITES, period);
		if (!t)
			return *err = "cannot map the agent's tables (out of memory)", SETUP_ERROR;
		cs_state.tables = t;
		cs_state.filter = cs_tables_filter(t);
		cs_state.sampled = c->mode == CS_AGENT_SAMPLED;
		cs_state.sample_bytes = period;
		cs_state.max_depth = depth;
		cs_state.inexact = 0;
		cs_state.start_ns = cs_now_ns();
	}
	cs_unwind_init();
	if (!atfork_done) {
		pthread_atfork(NULL, NULL, on_fork_child);
		atfork_done = 1;
	}
	cs_state.abandoned = 0;
	int watched = cs_watchdog_start(sock) == 0;
	__atomic_store_n(&cs_state.active, 1, __ATOMIC_RELEASE);
	/* Everything that releases blocks first, in every module; then the allocators. */
	struct cs_got_stats st = {0, 0, 0};
	cs_got_install(1, &st);
	cs_test_stall();
	cs_got_install(2, &st);
	if (watched)
		cs_watchdog_stop();
	if (__atomic_load_n(&cs_state.abandoned, __ATOMIC_ACQUIRE)) {
		cs_got_restore(); /* whatever the emergency restore could not reach */
		snprintf(msg, sizeof(msg),
			 "set-up took more than %d ms: every hook was removed again",
			 CS_AGENT_SETUP_MS);
		return *err = msg, SETUP_ERROR;
	}
	if (st.failed)
		cs_state.inexact = 1;
	ready->start_ns = cs_state.start_ns;
	ready->modules = st.modules;
	ready->slots = st.slots;
	ready->flags = (cs_state.exe_allocator ? CS_READY_EXE_ALLOCATOR : 0) |
		       (st.failed ? CS_READY_PARTIAL : 0);
	return SETUP_OK;
}

static int keys_equal(const uint8_t *a, const uint8_t *b)
{
	uint8_t d = 0;
	for (int i = 0; i < CS_AGENT_KEY_BYTES; i++)
		d |= (uint8_t)(a[i] ^ b[i]);
	return d == 0;
}

/* HELLO, CONFIG (with a timeout), set-up, READY. Returns 0 when tracking. */
static int handshake(void)
{
	struct cs_msg_hello hello;
	memset(&hello, 0, sizeof(hello));
	hello.version = CS_AGENT_VERSION;
	hello.pid = (uint32_t)getpid();
	if (!launch_mode)
		memcpy(hello.key, rendezvous.agent_key, sizeof(hello.key));
	if (send_msg(CS_MSG_HELLO, &hello, sizeof(hello)))
		return -1;
	if (wait_readable(CONFIG_TIMEOUT_MS) <= 0)
		return -1;
	/* A peer that stalls mid-message must not hold us either. */
	struct timeval tv = {CONFIG_TIMEOUT_MS / 1000, 0};
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct cs_msg m;
	struct cs_msg_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	if (recv_msg(&m, &cfg, sizeof(cfg)) || m.type != CS_MSG_CONFIG || m.len < sizeof(cfg))
		return -1;
	/* Attach mode: only the csampler that injected us knows this key. Whoever else
	 * answered gets nothing, not even an error. */
	if (!launch_mode && !keys_equal(cfg.key, rendezvous.csampler_key))
		return -1;
	struct timeval none = {0, 0};
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
	struct cs_msg_ready ready;
	memset(&ready, 0, sizeof(ready));
	const char *err = NULL;
	switch (setup(&cfg, &ready, &err)) {
	case SETUP_BUSY:
		send_msg(CS_MSG_BUSY, NULL, 0);
		return -1;
	case SETUP_ERROR:
		send_error(err);
		return -1;
	}
	if (send_msg(CS_MSG_READY, &ready, sizeof(ready)))
		return -1;
	session_pid = raw_getpid();
	__atomic_store_n(&serving, 1, __ATOMIC_RELEASE);
	return 0;
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

static int send_stats(void)
{
	struct cs_msg_stats st;
	struct cs_table_stats ts;
	memset(&st, 0, sizeof(st));
	st.time_ns = cs_now_ns();
	cs_tables_stats(cs_state.tables, &ts);
	st.allocs = ts.allocs;
	st.frees = ts.frees;
	cs_tables_heap(cs_state.tables, &st.heap); /* out of memory: the sums are 0 */
	return send_msg(CS_MSG_STATS, &st, sizeof(st));
}

/* The target is exiting or dying: the final snapshot, then csampler's FINAL_ACK (it
 * reads the address space meanwhile), bounded. */
static void send_final(int kind)
{
	uint64_t end = cs_now_ns() + (uint64_t)CS_AGENT_FINAL_WAIT_MS * 1000000u;
	if (send_snapshot(CS_SNAP_FINAL | (kind == 2 ? CS_SNAP_SIGNAL : 0)) == 0) {
		for (;;) {
			uint64_t now = cs_now_ns();
			if (now >= end || wait_readable((int)((end - now) / 1000000u)) <= 0)
				break;
			struct cs_msg m;
			if (recv_msg(&m, NULL, 0) || m.type == CS_MSG_FINAL_ACK)
				break;
		}
	}
	go_inert();
}

static void serve(void)
{
	for (;;) {
		struct pollfd pf[2] = {{sock, POLLIN, 0}, {wake_pipe[0], POLLIN, 0}};
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		int kind = __atomic_load_n(&final_req, __ATOMIC_ACQUIRE);
		if (kind) {
			send_final(kind);
			return;
		}
		if (!pf[0].revents)
			continue;
		struct cs_msg m;
		if (recv_msg(&m, NULL, 0))
			return; /* EOF, error or garbage: csampler is gone */
		switch (m.type) {
		case CS_MSG_SNAP_REQ:
			if (send_snapshot(0))
				return;
			break;
		case CS_MSG_STATS_REQ:
			if (send_stats())
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
	cs_guard_enter(); /* nothing this thread allocates is tracked */
	pthread_setname_np(pthread_self(), "csampler-agent");
	if (handshake_in_thread && launch_mode && sock < 0)
		sock = open_session(); /* a forked child */
	if (!handshake_in_thread || (sock >= 0 && handshake() == 0))
		serve();
	end_session();
	return NULL;
}

static int start_service(void)
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
	int rc = pthread_create(&th, &attr, service_main, NULL);
	pthread_attr_destroy(&attr);
	return rc;
}

/* Ask the service thread for the final snapshot and wait for it, at most timeout_ms.
 * Async-signal-safe. */
/* A session still starting (a forked child's, whose tables record already): wait,
 * bounded, until it is ready or gone. Async-signal-safe. */
static void wait_started(int timeout_ms)
{
	for (int i = 0; i < timeout_ms && __atomic_load_n(&session, __ATOMIC_ACQUIRE) &&
			!__atomic_load_n(&serving, __ATOMIC_ACQUIRE);
	     i++) {
		struct timespec t = {0, 1000000};
		nanosleep(&t, NULL);
	}
}

static void request_final(int kind, int timeout_ms)
{
	wait_started(START_WAIT_MS);
	if (!__atomic_load_n(&serving, __ATOMIC_ACQUIRE) || session_pid != raw_getpid() ||
	    wake_pipe[1] < 0 || done_pipe[0] < 0)
		return;
	int none = 0;
	if (__atomic_compare_exchange_n(&final_req, &none, kind, 0, __ATOMIC_ACQ_REL,
					__ATOMIC_RELAXED))
		(void)!write(wake_pipe[1], "x", 1);
	uint64_t end = cs_now_ns() + (uint64_t)timeout_ms * 1000000u;
	struct pollfd pf = {done_pipe[0], POLLIN, 0};
	for (;;) {
		uint64_t now = cs_now_ns();
		if (now >= end || poll(&pf, 1, (int)((end - now) / 1000000u)) > 0)
			return;
	}
}

/* ---- fatal signals (launch mode) ---- */

/* Signals whose default action ends the process and that programs rarely query.
 * SIGINT is left alone: Python, for one, installs its KeyboardInterrupt handler only
 * when it finds SIGINT at its default. */
static const int fatal_signals[] = {SIGSEGV, SIGBUS,  SIGILL,  SIGFPE,	SIGABRT, SIGSYS,
				    SIGTERM, SIGHUP, SIGQUIT, SIGXCPU, SIGXFSZ};

static void on_fatal(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	/* SA_RESETHAND put the default back: a second fault, or the re-raise, kills. */
	request_final(2, CS_AGENT_FINAL_WAIT_MS + 1000);
	int fault = (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE) &&
		    si && si->si_code > 0;
	/* A fault happens again when the instruction is retried; anything else is sent
	 * again (pending while this handler runs, delivered when it returns). */
	if (!fault)
		raise(sig);
	errno = saved;
}

static void install_fatal_handlers(void)
{
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++) {
		struct sigaction old, sa;
		if (sigaction(fatal_signals[i], NULL, &old) || (old.sa_flags & SA_SIGINFO) ||
		    old.sa_handler != SIG_DFL)
			continue; /* the program (or its parent) chose: leave it */
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_fatal;
		sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK | SA_RESTART;
		sigfillset(&sa.sa_mask);
		sigaction(fatal_signals[i], &sa, NULL);
	}
}

/* ---- starting a session ---- */

/* A csampler that stops reading must not hang the target (e.g. in exit). */
static void send_timeout(int fd)
{
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Connect to csampler's abstract socket; only a listener of our own user or root is
 * accepted (anyone can bind an abstract name once csampler let it go). */
static int connect_rendezvous(const char *name)
{
	struct sockaddr_un a;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	size_t n = strnlen(name, sizeof(rendezvous.name));
	if (!n || n >= sizeof(rendezvous.name) || n + 1 > sizeof(a.sun_path))
		return -1;
	memcpy(a.sun_path + 1, name, n);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	if (connect(fd, (struct sockaddr *)&a,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) ||
	    (cred.uid != 0 && cred.uid != geteuid() && cred.uid != getuid())) {
		close(fd);
		return -1;
	}
	send_timeout(fd);
	return fd;
}

/* Another session runs here: tell the csampler that just injected us, then hang up. */
static void answer_busy(const struct cs_agent_rendezvous *r)
{
	int fd = connect_rendezvous(r->name);
	if (fd < 0)
		return;
	struct cs_msg_hello hello;
	memset(&hello, 0, sizeof(hello));
	hello.version = CS_AGENT_VERSION;
	hello.pid = (uint32_t)getpid();
	memcpy(hello.key, r->agent_key, sizeof(hello.key));
	if (cs_send_msg(fd, CS_MSG_HELLO, &hello, sizeof(hello)) == 0)
		cs_send_msg(fd, CS_MSG_BUSY, NULL, 0);
	close(fd);
}

/* Attach mode: called by the code csampler injected, right after dlopen, on a thread
 * it borrowed; r lives in that code's memory. Connects and starts the service thread,
 * which hand-shakes. Returns 0 if a session started, -1 if not. */
PUBLIC int cs_agent_attach(const struct cs_agent_rendezvous *r)
{
	if (!r || r->magic != CS_AGENT_MAGIC || r->version != CS_AGENT_VERSION)
		return -1;
	cs_guard_enter();
	int rc = -1, idle = 0;
	if (!__atomic_compare_exchange_n(&session, &idle, 1, 0, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED)) {
		answer_busy(r);
		cs_guard_leave();
		return -1;
	}
	launch_mode = 0;
	handshake_in_thread = 1;
	memcpy(&rendezvous, r, sizeof(rendezvous));
	rendezvous.name[sizeof(rendezvous.name) - 1] = 0;
	make_pipes();
	sock = connect_rendezvous(rendezvous.name);
	if (sock >= 0 && start_service() == 0)
		rc = 0;
	if (rc)
		end_session();
	cs_guard_leave();
	return rc;
}

/* Launch mode: the control socket csampler left open for us, if it is one: CSAMPLER_
 * AGENT_FD is "FD,PID", and FD must be a Unix SOCK_SEQPACKET socket made by process PID
 * (csampler). It stays open across exec, for the programs this one runs. */
static int control_socket(void)
{
	const char *v = getenv(CS_AGENT_FD_ENV);
	if (!v)
		return -1;
	char *end;
	long fd = strtol(v, &end, 10), pid = 0;
	if (end != v && *end == ',')
		pid = strtol(end + 1, &end, 10);
	if (*end || fd < 0 || fd > 1 << 20 || pid <= 0)
		return -1;
	struct stat st;
	struct ucred cred;
	int type = 0, domain = 0;
	socklen_t l1 = sizeof(type), l2 = sizeof(domain), l3 = sizeof(cred);
	if (fstat((int)fd, &st) || !S_ISSOCK(st.st_mode) ||
	    getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &l1) || type != SOCK_SEQPACKET ||
	    getsockopt((int)fd, SOL_SOCKET, SO_DOMAIN, &domain, &l2) || domain != AF_UNIX ||
	    getsockopt((int)fd, SOL_SOCKET, SO_PEERCRED, &cred, &l3) || cred.pid != (pid_t)pid)
		return -1;
	return (int)fd;
}

/* Launch mode: a session for this process: a stream socketpair whose other end goes to
 * csampler over the control socket. The socket, or -1. */
static int open_session(void)
{
	int sv[2];
	if (ctl_fd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	struct cs_ctl_hello h = {CS_AGENT_MAGIC, CS_AGENT_VERSION, (uint32_t)getpid(), 0};
	struct iovec iov = {&h, sizeof(h)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr mh;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &sv[1], sizeof(int));
	/* Many processes may start at once: wait, bounded, for room. */
	ssize_t n = -1;
	uint64_t end = cs_now_ns() + (uint64_t)CTL_SEND_MS * 1000000u;
	for (;;) {
		n = sendmsg(ctl_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n >= 0 || (errno != EAGAIN && errno != EINTR))
			break;
		uint64_t now = cs_now_ns();
		struct pollfd pf = {ctl_fd, POLLOUT, 0};
		if (now >= end || poll(&pf, 1, (int)((end - now) / 1000000u) + 1) < 0)
			break;
	}
	close(sv[1]);
	if (n != (ssize_t)sizeof(h)) {
		close(sv[0]);
		return -1;
	}
	send_timeout(sv[0]);
	return sv[0];
}

__attribute__((constructor)) static void cs_agent_ctor(void)
{
	int fd = control_socket();
	if (fd < 0)
		return;
	int idle = 0;
	if (!__atomic_compare_exchange_n(&session, &idle, 1, 0, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		return;
	cs_guard_enter();
	launch_mode = 1;
	ctl_fd = fd;
	if (!atfork_done) {
		/* before any session: a child forked meanwhile opens its own */
		pthread_atfork(NULL, NULL, on_fork_child);
		atfork_done = 1;
	}
	sock = open_session();
	make_pipes();
	if (sock >= 0 && handshake() == 0 && start_service() == 0)
		install_fatal_handlers();
	else
		end_session();
	cs_guard_leave();
}

void cs_agent_ending(void)
{
	if (!__atomic_load_n(&session, __ATOMIC_ACQUIRE))
		return;
	cs_guard_enter();
	request_final(1, CS_AGENT_FINAL_WAIT_MS + 1000);
	if (session_pid == raw_getpid()) /* not a vfork child: that shares its parent's */
		go_inert();
	cs_guard_leave();
}

/* The program is exiting normally: have what it never freed sent (after its own
 * atexit handlers and destructors, which ran before ours), then stop tracking. */
__attribute__((destructor)) static void cs_agent_dtor(void)
{
	wait_started(START_WAIT_MS); /* a short-lived child's session may still be starting */
	if (!__atomic_load_n(&serving, __ATOMIC_ACQUIRE))
		return;
	cs_guard_enter();
	request_final(1, CS_AGENT_FINAL_WAIT_MS + 1000);
	go_inert();
	cs_guard_leave();
}
