/* test_agent.c - the allocation-tracking agent: its tables on their own, then the
 * whole agent in purpose-built targets. The test plays csampler's part: it launches a
 * target with LD_PRELOAD and one end of a control socket in CSAMPLER_AGENT_FD, on which
 * each process of the target sends its session (or lets it dlopen the agent and call
 * cs_agent_attach, for attach mode), speaks agent/protocol.h and checks snapshots.
 * Call sites are recognised by addrs[0] lying inside a function, whose range comes
 * from `nm -S` on the target plus the load base the target prints. */

#include "agent/protocol.h"
#include "agent/table.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define AGENT CS_BINARY_DIR "/agent/libcsampler_agent.so"
#define TGT(name) CS_BINARY_DIR "/tests/targets/" name
#define LEAKS TGT("cs_t_agent_leaks")
#define CXX TGT("cs_t_agent_cxx")
#define PLUGIN TGT("libcs_t_agent_plugin.so")

/* ======================= the tables alone ======================= */

struct snap {
	struct cs_snap_header h;
	size_t n;
	struct cs_snap_site *s;
	uint64_t **addrs;
};

static void snap_parse(struct snap *sn, const char *buf, size_t len)
{
	cr_assert_geq(len, sizeof(sn->h));
	memcpy(&sn->h, buf, sizeof(sn->h));
	sn->n = sn->h.nsites;
	sn->s = calloc(sn->n + 1, sizeof(*sn->s));
	sn->addrs = calloc(sn->n + 1, sizeof(*sn->addrs));
	size_t off = sizeof(sn->h);
	for (size_t i = 0; i < sn->n; i++) {
		cr_assert_leq(off + sizeof(sn->s[i]), len, "site %zu overruns the payload", i);
		memcpy(&sn->s[i], buf + off, sizeof(sn->s[i]));
		off += sizeof(sn->s[i]);
		size_t a = sn->s[i].depth * sizeof(uint64_t);
		cr_assert_leq(off + a, len);
		sn->addrs[i] = malloc(a + 8);
		memcpy(sn->addrs[i], buf + off, a);
		off += a;
	}
	cr_assert_eq(off, len, "payload has %zu trailing bytes", len - off);
}

static void snap_free(struct snap *sn)
{
	for (size_t i = 0; i < sn->n; i++)
		free(sn->addrs[i]);
	free(sn->addrs);
	free(sn->s);
	memset(sn, 0, sizeof(*sn));
}

static void table_snap(struct cs_tables *t, uint64_t sample_bytes, struct snap *sn)
{
	struct cs_snap_params p = {.time_ns = 1000, .start_ns = 10, .sample_bytes = sample_bytes};
	void *buf;
	size_t len;
	cr_assert_eq(cs_tables_snapshot(t, &p, &buf, &len), 0);
	snap_parse(sn, buf, len);
	cs_snap_buf_free(buf, len);
}

/* The site record whose first address is a0, or NULL. */
static const struct cs_snap_site *site_by_a0(const struct snap *sn, uint64_t a0, size_t *idx)
{
	for (size_t i = 0; i < sn->n; i++)
		if (sn->s[i].depth && sn->addrs[i][0] == a0) {
			if (idx)
				*idx = i;
			return &sn->s[i];
		}
	return NULL;
}

Test(agent_tables, sites_blocks_and_snapshot)
{
	struct cs_tables *t = cs_tables_new(1024, 0);
	struct cs_tables_thread *me = cs_tables_thread_new(t);
	cr_assert_not_null(t);
	uint64_t a[3] = {0x1000, 0x2000, 0x3000}, b[2] = {0x5000, 0x6000};
	uint32_t sa = cs_tables_site(t, a, 3, 0), sb = cs_tables_site(t, b, 2, 1);
	cr_assert_neq(sa, sb);
	cr_assert_eq(cs_tables_site(t, a, 3, 0), sa, "the same stack must intern to one site");
	cr_assert_neq(cs_tables_site(t, a, 2, 0), sa, "a prefix is another stack");
	cr_assert_neq(cs_tables_site(t, a, 3, 1), sa, "truncation is part of the stack");

	for (uintptr_t i = 1; i <= 100; i++) {
		struct cs_block blk = {.size = 64, .time_ns = 100 + i, .site = sa};
		cr_assert_eq(cs_tables_insert(t, me, i * 16, &blk), 0);
	}
	struct cs_block blk = {.size = 4096, .time_ns = 5, .site = sb};
	cs_tables_insert(t, me, 0x7f0000001000, &blk);
	struct cs_block got;
	cr_assert_eq(cs_tables_remove(t, me, 16, &got, 1), 1);
	cr_assert_eq(got.size, 64);
	cr_assert_eq(got.site, sa);
	cr_assert_eq(got.time_ns, 101);
	cr_assert_eq(cs_tables_remove(t, me, 16, NULL, 1), 0, "removed twice");
	cr_assert_eq(cs_tables_remove(t, me, 0xdead0, NULL, 1), 0);

	struct snap sn;
	table_snap(t, 0, &sn);
	cr_assert_eq(sn.n, 2);
	const struct cs_snap_site *s = site_by_a0(&sn, 0x1000, NULL);
	cr_assert_not_null(s);
	cr_assert_eq(s->blocks, 99);
	cr_assert_eq(s->bytes, 99 * 64);
	cr_assert_eq(s->oldest_ns, 102, "oldest live block of site a: %llu",
		     (unsigned long long)s->oldest_ns);
	cr_assert_eq(s->depth, 3);
	cr_assert_eq(s->truncated, 0);
	s = site_by_a0(&sn, 0x5000, NULL);
	cr_assert_not_null(s);
	cr_assert_eq(s->blocks, 1);
	cr_assert_eq(s->truncated, 1);
	cr_assert_eq(s->oldest_ns, 10, "times before the start are clamped to it");
	cr_assert_eq(sn.h.allocs, 101);
	cr_assert_eq(sn.h.frees, 3);
	cr_assert_eq(sn.h.untracked_frees, 2);
	cr_assert_eq(sn.h.flags, 0);
	snap_free(&sn);

	cs_tables_lost(t, 1);
	table_snap(t, 0, &sn);
	cr_assert(sn.h.flags & CS_SNAP_INEXACT, "a lost event must mark the snapshot inexact");
	cr_assert_eq(sn.h.lost, 1);
	snap_free(&sn);
	cs_tables_destroy(t);
}

/* Many blocks, random inserts and removals against a reference: exercises growth and
 * backward-shift deletion in every shard. */
Test(agent_tables, random_against_reference)
{
	struct cs_tables *t = cs_tables_new(64, 0);
	struct cs_tables_thread *me = cs_tables_thread_new(t);
	cr_assert_not_null(t);
	enum { N = 200000 };
	uint8_t *live = calloc(N, 1);
	uint32_t sites[4];
	for (int i = 0; i < 4; i++) {
		uint64_t a = 0x400000 + (uint64_t)i;
		sites[i] = cs_tables_site(t, &a, 1, 0);
	}
	uint64_t x = 88172645463325252ull, nlive = 0;
	for (int step = 0; step < 1000000; step++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t i = x % N;
		uintptr_t p = 0x10000000 + i * 16;
		if (live[i]) {
			struct cs_block b;
			cr_assert_eq(cs_tables_remove(t, me, p, &b, 1), 1, "step %d: %#lx lost", step,
				     (unsigned long)p);
			cr_assert_eq(b.size, i % 1000);
			live[i] = 0;
			nlive--;
		} else {
			struct cs_block b = {.size = i % 1000, .time_ns = 1, .site = sites[i % 4]};
			cr_assert_eq(cs_tables_insert(t, me, p, &b), 0);
			live[i] = 1;
			nlive++;
		}
	}
	struct cs_table_stats st;
	cs_tables_stats(t, &st);
	cr_assert_eq(st.live_blocks, nlive);
	uint64_t want_bytes[4] = {0}, want_blocks[4] = {0};
	for (uint64_t i = 0; i < N; i++)
		if (live[i]) {
			want_bytes[i % 4] += i % 1000;
			want_blocks[i % 4]++;
		}
	struct snap sn;
	table_snap(t, 0, &sn);
	for (int k = 0; k < 4; k++) {
		const struct cs_snap_site *s = site_by_a0(&sn, 0x400000 + (uint64_t)k, NULL);
		cr_assert_not_null(s);
		cr_assert_eq(s->blocks, want_blocks[k]);
		cr_assert_eq(s->bytes, want_bytes[k]);
	}
	snap_free(&sn);
	/* Every live pointer is still found; no freed one is. */
	for (uint64_t i = 0; i < N; i++)
		cr_assert_eq(cs_tables_remove(t, me, 0x10000000 + i * 16, NULL, 0), live[i]);
	cs_tables_stats(t, &st);
	cr_assert_eq(st.live_blocks, 0);
	free(live);
	cs_tables_destroy(t);
}

Test(agent_tables, sampled_weights_and_filter)
{
	struct cs_tables *t = cs_tables_new(64, 1);
	struct cs_tables_thread *me = cs_tables_thread_new(t);
	cr_assert_not_null(t);
	uint64_t a = 0xabc;
	uint32_t s = cs_tables_site(t, &a, 1, 0);
	const double P = 4096;
	for (uintptr_t i = 1; i <= 10; i++) {
		struct cs_block b = {.size = 1000, .time_ns = 1, .site = s};
		cs_tables_insert(t, me, i * 4096, &b);
		cr_assert(cs_tables_maybe_live(t, i * 4096));
	}
	struct cs_block big = {.size = 1 << 20, .time_ns = 1, .site = s};
	cs_tables_insert(t, me, 0x900000, &big);
	struct snap sn;
	table_snap(t, (uint64_t)P, &sn);
	cr_assert(sn.h.flags & CS_SNAP_SAMPLED);
	cr_assert_eq(sn.h.sample_bytes, (uint64_t)P);
	double w = 1.0 / (1.0 - exp(-1000.0 / P)), wb = 1.0 / (1.0 - exp(-(double)(1 << 20) / P));
	cr_assert_eq(sn.n, 1);
	cr_assert_eq(sn.s[0].blocks, (uint64_t)llround(10 * w + wb));
	cr_assert_eq(sn.s[0].bytes, (uint64_t)llround(10 * w * 1000 + wb * (1 << 20)));
	snap_free(&sn);
	for (uintptr_t i = 1; i <= 10; i++)
		cs_tables_remove(t, me, i * 4096, NULL, 1);
	cs_tables_remove(t, me, 0x900000, NULL, 1);
	int maybe = 0;
	for (uintptr_t i = 1; i <= 10; i++)
		maybe += cs_tables_maybe_live(t, i * 4096);
	cr_assert_eq(maybe, 0, "the filter must forget removed pointers");
	cs_tables_destroy(t);
}

/* The heap's peak, each site's share of it, temporary allocations and totals, on a
 * sequence whose figures are known. */
Test(agent_tables, heap_peak_temporary_and_totals)
{
	struct cs_tables *t = cs_tables_new(64, 0);
	struct cs_tables_thread *me = cs_tables_thread_new(t);
	uint64_t a = 0xa, b = 0xb, c = 0xc;
	uint32_t sa = cs_tables_site(t, &a, 1, 0), sb = cs_tables_site(t, &b, 1, 0),
		 sc = cs_tables_site(t, &c, 1, 0);
	struct cs_block blk;
#define INS(p, s_, n, when)                                                                \
	do {                                                                               \
		blk = (struct cs_block){.size = n, .time_ns = when, .site = s_};          \
		cr_assert_eq(cs_tables_insert(t, me, p, &blk), 0);                             \
	} while (0)
	INS(0x100, sa, 100, 1);
	INS(0x200, sb, 200, 2);
	cs_tables_remove(t, me, 0x100, NULL, CS_REMOVE_FREE); /* 200 */
	INS(0x300, sc, 50, 3);				   /* 250 */
	INS(0x400, sa, 400, 4);				   /* 650: the peak */
	cs_tables_remove(t, me, 0x400, NULL, CS_REMOVE_FREE | CS_REMOVE_TEMPORARY);
	INS(0x500, sb, 100, 5); /* 350 */
	cs_tables_remove(t, me, 0x200, NULL, CS_REMOVE_FREE | CS_REMOVE_TEMPORARY); /* 150 */
	INS(0x600, sc, 499, 6); /* 649: below the peak */
	/* a realloc that failed: taken out, then put back; no allocation more */
	cr_assert(cs_tables_remove(t, me, 0x600, &blk, CS_REMOVE_FREE));
	cr_assert_eq(cs_tables_restore(t, me, 0x600, &blk), 0);
	struct cs_heap_counters h;
	cs_tables_heap(t, &h);
	cr_assert_eq(h.peak_bytes, 650);
	cr_assert_eq(h.peak_ns, 4);
	cr_assert_eq(h.heap_bytes, 649);
	cr_assert_eq(h.alloc_bytes, 100 + 200 + 50 + 400 + 100 + 499);
	cr_assert_eq(h.temporary, 2, "a temporary free of a block counts");
	struct snap sn;
	table_snap(t, 0, &sn);
	cr_assert_eq(sn.n, 3, "every site allocated from is sent, with blocks or not");
	cr_assert_eq(sn.h.heap.peak_bytes, 650);
	struct {
		uint64_t a0, allocs, bytes, temporary, peak, live;
	} want[] = {{0xa, 2, 500, 1, 400, 0}, {0xb, 2, 300, 1, 200, 100}, {0xc, 2, 549, 0, 50, 549}};
	for (size_t k = 0; k < 3; k++) {
		const struct cs_snap_site *x = site_by_a0(&sn, want[k].a0, NULL);
		cr_assert_not_null(x);
		cr_expect_eq(x->allocs, want[k].allocs, "site %zu allocs %llu", k,
			     (unsigned long long)x->allocs);
		cr_expect_eq(x->alloc_bytes, want[k].bytes, "site %zu", k);
		cr_expect_eq(x->temporary, want[k].temporary, "site %zu", k);
		cr_expect_eq(x->peak_bytes, want[k].peak, "site %zu: %llu at the peak", k,
			     (unsigned long long)x->peak_bytes);
		cr_expect_eq(x->bytes, want[k].live, "site %zu", k);
	}
	snap_free(&sn);
#undef INS
	cs_tables_destroy(t);
}

/* Random allocations and frees against a model of the heap: the peak and every site's
 * share of it. */
Test(agent_tables, peak_shares_against_reference)
{
	enum { N = 4096, SITES = 8, STEPS = 200000 };
	struct cs_tables *t = cs_tables_new(64, 0);
	struct cs_tables_thread *me = cs_tables_thread_new(t);
	uint32_t site[SITES];
	for (int i = 0; i < SITES; i++) {
		uint64_t a = 0x1000 + (uint64_t)i;
		site[i] = cs_tables_site(t, &a, 1, 0);
	}
	uint64_t *size = calloc(N, sizeof(*size));
	int64_t cur[SITES] = {0}, at_peak[SITES] = {0}, heap = 0, peak = 0;
	uint64_t x = 0x9E3779B97F4A7C15ull, allocs[SITES] = {0};
	for (int step = 0; step < STEPS; step++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t i = x % N;
		int k = (int)(i % SITES);
		/* the heap drifts up and down: bursts of allocations, then of frees */
		int grow = (step / 5000) % 2 == 0;
		if (size[i] && (!grow || x % 4 == 0)) {
			cr_assert(cs_tables_remove(t, me, 0x10000 + i * 16, NULL, CS_REMOVE_FREE));
			cur[k] -= (int64_t)size[i];
			heap -= (int64_t)size[i];
			size[i] = 0;
		} else if (!size[i]) {
			size[i] = 1 + (x >> 40) % 5000;
			struct cs_block b = {.size = size[i], .time_ns = (uint64_t)step,
					     .site = site[k]};
			cr_assert_eq(cs_tables_insert(t, me, 0x10000 + i * 16, &b), 0);
			cur[k] += (int64_t)size[i];
			heap += (int64_t)size[i];
			allocs[k]++;
			if (heap > peak) {
				peak = heap;
				memcpy(at_peak, cur, sizeof(cur));
			}
		}
	}
	struct snap sn;
	table_snap(t, 0, &sn);
	cr_assert_eq(sn.h.heap.peak_bytes, (uint64_t)peak);
	cr_assert_eq(sn.h.heap.heap_bytes, (uint64_t)heap);
	for (int k = 0; k < SITES; k++) {
		const struct cs_snap_site *s = site_by_a0(&sn, 0x1000 + (uint64_t)k, NULL);
		cr_assert_not_null(s);
		cr_expect_eq(s->peak_bytes, (uint64_t)at_peak[k], "site %d: %llu, want %lld", k,
			     (unsigned long long)s->peak_bytes, (long long)at_peak[k]);
		cr_expect_eq(s->allocs, allocs[k]);
		cr_expect_eq(s->bytes, (uint64_t)cur[k]);
	}
	snap_free(&sn);
	free(size);
	cs_tables_destroy(t);
}

struct conc_arg {
	struct cs_tables *t;
	uintptr_t base;
	uint32_t site;
};

static void *conc_worker(void *p)
{
	struct conc_arg *a = p;
	struct cs_tables_thread *me = cs_tables_thread_new(a->t);
	for (int round = 0; round < 20; round++) {
		for (uintptr_t i = 0; i < 5000; i++) {
			struct cs_block b = {.size = 8, .time_ns = 1, .site = a->site};
			cs_tables_insert(a->t, me, a->base + i * 16, &b);
		}
		for (uintptr_t i = 0; i < 5000; i++)
			if (round == 19 ? i % 2 : 1)
				cs_tables_remove(a->t, me, a->base + i * 16, NULL, 1);
	}
	return NULL;
}

Test(agent_tables, concurrent_threads)
{
	struct cs_tables *t = cs_tables_new(64, 0);
	pthread_t th[4];
	struct conc_arg args[4];
	for (int i = 0; i < 4; i++) {
		uint64_t a = 0x100 + (uint64_t)i;
		args[i] = (struct conc_arg){t, 0x100000000ull * (uint64_t)(i + 1), 0};
		args[i].site = cs_tables_site(t, &a, 1, 0);
		pthread_create(&th[i], NULL, conc_worker, &args[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	struct snap sn;
	table_snap(t, 0, &sn);
	cr_assert_eq(sn.n, 4);
	for (size_t i = 0; i < sn.n; i++) {
		cr_assert_eq(sn.s[i].blocks, 2500);
		cr_assert_eq(sn.s[i].allocs, 20 * 5000, "each thread's share is counted");
		cr_assert_eq(sn.s[i].alloc_bytes, 20 * 5000 * 8);
	}
	cr_assert_eq(sn.h.allocs, 4 * 20 * 5000);
	cr_assert_eq(sn.h.heap.heap_bytes, 4 * 2500 * 8);
	cr_assert_eq(sn.h.heap.alloc_bytes, 4 * 20 * 5000 * 8);
	snap_free(&sn);
	cs_tables_destroy(t);
}

/* ======================= the agent in targets ======================= */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct tgt {
	pid_t pid;
	int in, out;  /* the target's stdin (write end) and stdout (read end) */
	int lfd, fd;  /* attach mode's listening socket, connection to the agent */
	int ctl;      /* launch mode: our end of the control socket, or -1 */
	struct cs_agent_rendezvous rv; /* attach mode */
	char lines[8192]; /* stdout read so far */
	size_t nlines;
	const char *exe;
	uint64_t base_main, base_plugin;
};

static void hex(char *out, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* Attach mode: listen on a fresh abstract name; the keys and name go to the target
 * on its command line (it passes them to cs_agent_attach). */
static void tgt_listen_abstract(struct tgt *t)
{
	memset(&t->rv, 0, sizeof(t->rv));
	t->rv.magic = CS_AGENT_MAGIC;
	t->rv.version = CS_AGENT_VERSION;
	snprintf(t->rv.name, sizeof(t->rv.name), "cs-agent-test-%d-%llx", (int)getpid(),
		 (unsigned long long)now_ms());
	for (int i = 0; i < CS_AGENT_KEY_BYTES; i++) {
		t->rv.agent_key[i] = (uint8_t)rand();
		t->rv.csampler_key[i] = (uint8_t)rand();
	}
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	size_t n = strlen(t->rv.name);
	memcpy(a.sun_path + 1, t->rv.name, n);
	t->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(bind(t->lfd, (struct sockaddr *)&a,
			  (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)),
		     0, "bind abstract: %s", strerror(errno));
	cr_assert_eq(listen(t->lfd, 4), 0);
}

/* The "NAME AGENTKEY CSAMPLERKEY" arguments of agent_leaks attach. */
static void tgt_rv_args(const struct tgt *t, char key_a[], char key_c[])
{
	hex(key_a, t->rv.agent_key, CS_AGENT_KEY_BYTES);
	hex(key_c, t->rv.csampler_key, CS_AGENT_KEY_BYTES);
}

/* Launch mode: the next session a process of the target sends on the control socket
 * (*pid: the process that made it), or -1 after timeout_ms. */
static int take_session(int ctl, int timeout_ms, pid_t *pid)
{
	struct pollfd pf = {ctl, POLLIN, 0};
	if (poll(&pf, 1, timeout_ms) != 1)
		return -1;
	struct cs_ctl_hello h;
	struct iovec iov = {&h, sizeof(h)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	ssize_t n = recvmsg(ctl, &mh, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return -1;
	cr_assert_eq(n, (ssize_t)sizeof(h));
	cr_assert_eq(h.magic, CS_AGENT_MAGIC);
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	cr_assert(c && c->cmsg_type == SCM_RIGHTS, "a session comes with its socket");
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	cr_assert_eq(getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl), 0);
	cr_assert_eq((uint32_t)cred.pid, h.pid, "the sender made the socket it sent");
	*pid = cred.pid;
	return fd;
}

/* Start argv; with preload, LD_PRELOAD the agent and give it one end of a control
 * socket (t->ctl is ours), and take the target's session (t->fd). extra_env: one more
 * NAME=VALUE, or NULL. */
static void tgt_spawn_env(struct tgt *t, const char *const argv[], int preload,
			  const char *extra_env)
{
	int in[2], out[2], sv[2] = {-1, -1};
	cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	if (preload)
		cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	t->exe = argv[0];
	t->fd = t->ctl = -1;
	pid_t me = getpid();
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		if (preload) {
			char num[32];
			fcntl(sv[1], F_SETFD, 0);
			snprintf(num, sizeof(num), "%d,%d", sv[1], (int)me);
			setenv("LD_PRELOAD", AGENT, 1);
			setenv(CS_AGENT_FD_ENV, num, 1);
		} else {
			unsetenv("LD_PRELOAD");
			unsetenv(CS_AGENT_FD_ENV);
		}
		if (extra_env)
			putenv((char *)extra_env);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	t->pid = pid;
	t->in = in[1];
	t->out = out[0];
	if (preload) {
		close(sv[1]);
		t->ctl = sv[0];
		pid_t from = 0;
		t->fd = take_session(t->ctl, 10000, &from);
		cr_assert_geq(t->fd, 0, "the target opened no session");
		cr_assert_eq(from, pid, "the first session is the target's own");
	}
}

static void tgt_spawn(struct tgt *t, const char *const argv[], int preload)
{
	tgt_spawn_env(t, argv, preload, NULL);
}

static int tgt_accept(struct tgt *t, int timeout_ms)
{
	struct pollfd pf = {t->lfd, POLLIN, 0};
	if (poll(&pf, 1, timeout_ms) != 1)
		return -1;
	return accept4(t->lfd, NULL, NULL, SOCK_CLOEXEC);
}

static int read_full(int fd, void *buf, size_t len, int timeout_ms)
{
	char *p = buf;
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	while (len) {
		struct pollfd pf = {fd, POLLIN, 0};
		int left = (int)(end - now_ms());
		if (left <= 0 || poll(&pf, 1, left) != 1)
			return -2; /* timeout */
		ssize_t n = read(fd, p, len);
		if (n <= 0)
			return -1; /* EOF or error */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One message; -1 if the peer has gone (MSG_NOSIGNAL: a peer that exits between two
 * messages must not kill the test with SIGPIPE). */
static int try_send_msg(int fd, uint32_t type, const void *payload, size_t len)
{
	struct cs_msg m = {CS_AGENT_MAGIC, type, len};
	if (send(fd, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
		return -1;
	if (len && send(fd, payload, len, MSG_NOSIGNAL) != (ssize_t)len)
		return -1;
	return 0;
}

static void send_msg(int fd, uint32_t type, const void *payload, size_t len)
{
	cr_assert_eq(try_send_msg(fd, type, payload, len), 0, "send: %s", strerror(errno));
}

/* Next message; *payload malloc'ed. Returns 0, -1 on EOF, -2 on timeout. */
static int recv_msg(int fd, struct cs_msg *m, char **payload, int timeout_ms)
{
	*payload = NULL;
	int rc = read_full(fd, m, sizeof(*m), timeout_ms);
	if (rc)
		return rc;
	cr_assert_eq(m->magic, CS_AGENT_MAGIC);
	cr_assert_lt(m->len, 1u << 28);
	*payload = malloc(m->len + 1);
	cr_assert_eq(read_full(fd, *payload, m->len, timeout_ms), 0);
	(*payload)[m->len] = 0;
	return 0;
}

/* HELLO, CONFIG, READY on an accepted connection. */
static void tgt_handshake(struct tgt *t, uint32_t mode, uint64_t sample_bytes,
			  struct cs_msg_ready *ready)
{
	struct cs_msg m;
	char *p;
	cr_assert_eq(recv_msg(t->fd, &m, &p, 10000), 0, "no HELLO");
	cr_assert_eq(m.type, CS_MSG_HELLO);
	struct cs_msg_hello hello;
	memcpy(&hello, p, sizeof(hello));
	free(p);
	cr_assert_eq(hello.version, CS_AGENT_VERSION);
	cr_assert_eq(hello.pid, (uint32_t)t->pid);
	cr_assert_eq(memcmp(hello.key, t->rv.agent_key, CS_AGENT_KEY_BYTES), 0,
		     "HELLO carries the agent key (zeros in launch mode)");
	struct cs_msg_config cfg = {mode, 64, sample_bytes, {0}};
	memcpy(cfg.key, t->rv.csampler_key, CS_AGENT_KEY_BYTES);
	send_msg(t->fd, CS_MSG_CONFIG, &cfg, sizeof(cfg));
	cr_assert_eq(recv_msg(t->fd, &m, &p, 10000), 0, "no READY");
	cr_assert_eq(m.type, CS_MSG_READY, "READY expected, got type %u: %s", m.type, p);
	memcpy(ready, p, sizeof(*ready));
	free(p);
	cr_assert_gt(ready->slots, 0);
	cr_assert_gt(ready->modules, 0);
}

static void tgt_launch(struct tgt *t, const char *const argv[], uint32_t mode,
		       uint64_t sample_bytes, struct cs_msg_ready *ready)
{
	memset(t, 0, sizeof(*t));
	t->lfd = -1;
	tgt_spawn(t, argv, 1);
	struct cs_msg_ready r;
	tgt_handshake(t, mode, sample_bytes, ready ? ready : &r);
}

/* Read stdout until a line starting with prefix; records "base" lines. */
static void tgt_expect(struct tgt *t, const char *prefix, char *rest, size_t rest_len)
{
	uint64_t end = now_ms() + 30000;
	for (;;) {
		char *nl;
		while ((nl = memchr(t->lines, '\n', t->nlines))) {
			*nl = 0;
			char name[32];
			unsigned long long v;
			if (sscanf(t->lines, "base %31s %llx", name, &v) == 2) {
				if (!strcmp(name, "main"))
					t->base_main = v;
				else if (!strcmp(name, "plugin"))
					t->base_plugin = v;
			}
			int match = !strncmp(t->lines, prefix, strlen(prefix));
			if (match && rest)
				snprintf(rest, rest_len, "%s", t->lines + strlen(prefix));
			size_t used = (size_t)(nl - t->lines) + 1;
			memmove(t->lines, nl + 1, t->nlines - used);
			t->nlines -= used;
			if (match)
				return;
		}
		int left = (int)(end - now_ms());
		struct pollfd pf = {t->out, POLLIN, 0};
		cr_assert(left > 0 && poll(&pf, 1, left) == 1, "no '%s' line from the target", prefix);
		ssize_t n = read(t->out, t->lines + t->nlines, sizeof(t->lines) - 1 - t->nlines);
		cr_assert_gt(n, 0, "target's stdout closed before '%s'", prefix);
		t->nlines += (size_t)n;
	}
}

static void tgt_cmd(struct tgt *t, char c)
{
	cr_assert_eq(write(t->in, &c, 1), 1);
}

/* A snapshot of every site the target allocated from. */
static void tgt_snap_all(struct tgt *t, struct snap *sn)
{
	send_msg(t->fd, CS_MSG_SNAP_REQ, NULL, 0);
	struct cs_msg m;
	char *p;
	cr_assert_eq(recv_msg(t->fd, &m, &p, 20000), 0, "no SNAPSHOT");
	cr_assert_eq(m.type, CS_MSG_SNAPSHOT, "got message type %u", m.type);
	snap_parse(sn, p, m.len);
	free(p);
}

/* Keep the sites with outstanding blocks only. */
static void snap_live(struct snap *sn)
{
	size_t k = 0;
	for (size_t i = 0; i < sn->n; i++) {
		if (!sn->s[i].blocks) {
			free(sn->addrs[i]);
			continue;
		}
		sn->s[k] = sn->s[i];
		sn->addrs[k++] = sn->addrs[i];
	}
	sn->n = k;
}

/* A snapshot of the sites with outstanding blocks. */
static void tgt_snap(struct tgt *t, struct snap *sn)
{
	tgt_snap_all(t, sn);
	snap_live(sn);
}

/* Wait for the target to exit; returns its wait status (killed after timeout). */
static int tgt_wait(struct tgt *t, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	int st;
	while (now_ms() < end) {
		pid_t r = waitpid(t->pid, &st, WNOHANG);
		if (r == t->pid)
			return st;
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
	}
	kill(t->pid, SIGKILL);
	waitpid(t->pid, &st, 0);
	return -1;
}

static void tgt_close(struct tgt *t)
{
	if (t->fd >= 0)
		close(t->fd);
	if (t->ctl >= 0)
		close(t->ctl);
	if (t->lfd >= 0)
		close(t->lfd);
	close(t->in);
	close(t->out);
}

/* DETACH must be answered by BYE. */
static void tgt_detach(struct tgt *t)
{
	send_msg(t->fd, CS_MSG_DETACH, NULL, 0);
	struct cs_msg m;
	char *p;
	cr_assert_eq(recv_msg(t->fd, &m, &p, 10000), 0, "no BYE");
	cr_assert_eq(m.type, CS_MSG_BYE);
	free(p);
}

static void expect_exit0(struct tgt *t, char cmd)
{
	tgt_cmd(t, cmd);
	int st = tgt_wait(t, 30000);
	cr_assert(st != -1, "the target did not exit");
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the target ended with status %#x", st);
}

/* [lo, hi) of a function of exe (or a library) from `nm -S`, plus the load base. */
static void fn_range(const char *file, const char *name, uint64_t base, uint64_t *lo,
		     uint64_t *hi)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "nm -S --defined-only '%s'", file);
	FILE *f = popen(cmd, "r");
	cr_assert_not_null(f);
	char line[512];
	int found = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v, sz;
		char type, sym[256];
		if (sscanf(line, "%llx %llx %c %255s", &v, &sz, &type, sym) == 4 &&
		    !strcmp(sym, name)) {
			*lo = base + v;
			*hi = base + v + sz;
			found = 1;
		}
	}
	pclose(f);
	cr_assert(found, "no symbol %s with a size in %s", name, file);
}

static int in_fn(uint64_t addr, const char *file, const char *name, uint64_t base)
{
	uint64_t lo, hi;
	fn_range(file, name, base, &lo, &hi);
	return addr > lo && addr <= hi; /* a return address follows its call */
}

struct total {
	uint64_t bytes, blocks;
	size_t sites;
};

/* Sum the sites whose first address is inside the function. */
static struct total at_fn(const struct snap *sn, const char *file, const char *name,
			  uint64_t base)
{
	uint64_t lo, hi;
	fn_range(file, name, base, &lo, &hi);
	struct total tot = {0, 0, 0};
	for (size_t i = 0; i < sn->n; i++)
		if (sn->s[i].depth && sn->addrs[i][0] > lo && sn->addrs[i][0] <= hi) {
			tot.bytes += sn->s[i].bytes;
			tot.blocks += sn->s[i].blocks;
			tot.sites++;
		}
	return tot;
}

static void snap_dump(const struct snap *sn)
{
	fprintf(stderr, "snapshot: %zu sites, flags %#x, allocs %llu frees %llu untracked %llu lost %llu\n",
		sn->n, sn->h.flags, (unsigned long long)sn->h.allocs,
		(unsigned long long)sn->h.frees, (unsigned long long)sn->h.untracked_frees,
		(unsigned long long)sn->h.lost);
	for (size_t i = 0; i < sn->n && i < 40; i++) {
		fprintf(stderr, "  %llu bytes %llu blocks:", (unsigned long long)sn->s[i].bytes,
			(unsigned long long)sn->s[i].blocks);
		for (uint32_t d = 0; d < sn->s[i].depth && d < 8; d++)
			fprintf(stderr, " %#llx", (unsigned long long)sn->addrs[i][d]);
		fprintf(stderr, "\n");
	}
}

#define EXPECT_AT(sn, file, fn, base, nbytes, nblocks)                                     \
	do {                                                                               \
		struct total tot_ = at_fn(sn, file, fn, base);                             \
		if (tot_.bytes != (nbytes) || tot_.blocks != (nblocks))                    \
			snap_dump(sn);                                                     \
		cr_assert_eq(tot_.blocks, (uint64_t)(nblocks), "%s: %llu blocks", fn,      \
			     (unsigned long long)tot_.blocks);                             \
		cr_assert_eq(tot_.bytes, (uint64_t)(nbytes), "%s: %llu bytes", fn,         \
			     (unsigned long long)tot_.bytes);                              \
	} while (0)

Test(agent, exact_sites_bytes_blocks, .timeout = 120)
{
	const char *argv[] = {LEAKS, "basic", NULL};
	struct tgt t;
	struct cs_msg_ready ready;
	tgt_launch(&t, argv, CS_AGENT_EXACT, 0, &ready);
	tgt_expect(&t, "done", NULL, 0);
	struct snap sn;
	tgt_snap(&t, &sn);
	if (sn.n != 3)
		snap_dump(&sn);
	cr_assert_eq(sn.n, 3, "exactly the three leaking sites, got %zu", sn.n);
	EXPECT_AT(&sn, LEAKS, "leak_malloc", t.base_main, 100 * 64, 100);
	EXPECT_AT(&sn, LEAKS, "leak_calloc", t.base_main, 10 * 4096, 10);
	EXPECT_AT(&sn, LEAKS, "leak_realloc", t.base_main, 65536, 1);
	cr_assert_eq(sn.h.flags & (CS_SNAP_INEXACT | CS_SNAP_SAMPLED), 0);
	cr_assert_eq(sn.h.lost, 0);
	cr_assert_geq(sn.h.allocs, 300000, "allocs %llu", (unsigned long long)sn.h.allocs);
	cr_assert_geq(sn.h.frees, 300000);
	/* the heap: what is left is the leaks; every churn allocation was temporary */
	cr_assert_eq(sn.h.heap.heap_bytes, 100 * 64 + 10 * 4096 + 65536, "heap %llu",
		     (unsigned long long)sn.h.heap.heap_bytes);
	cr_assert_geq(sn.h.heap.peak_bytes, sn.h.heap.heap_bytes);
	cr_assert_leq(sn.h.heap.peak_ns, sn.h.time_ns);
	for (size_t i = 0; i < sn.n; i++) {
		cr_assert_geq(sn.s[i].oldest_ns, ready.start_ns);
		cr_assert_leq(sn.s[i].oldest_ns, sn.h.time_ns);
		cr_assert_eq(sn.s[i].truncated, 0);
		cr_assert_geq(sn.s[i].depth, 3);
		/* the caller of the leaking function: main */
		cr_assert(in_fn(sn.addrs[i][1], LEAKS, "main", t.base_main));
	}
	snap_free(&sn);
	/* Every site, with its totals: leak_realloc's block grew by 12 reallocs from 16
	 * bytes to 64 KiB, each freeing the block the one before made (temporary). */
	tgt_snap_all(&t, &sn);
	uint64_t lo, hi, temporary = 0, allocs = 0;
	fn_range(LEAKS, "leak_realloc", t.base_main, &lo, &hi);
	const struct cs_snap_site *re = NULL;
	for (size_t i = 0; i < sn.n; i++) {
		temporary += sn.s[i].temporary;
		allocs += sn.s[i].allocs;
		if (sn.s[i].depth && sn.addrs[i][0] > lo && sn.addrs[i][0] <= hi)
			re = &sn.s[i];
	}
	cr_assert_not_null(re);
	cr_expect_eq(re->allocs, 13);
	cr_expect_eq(re->temporary, 12);
	cr_expect_eq(re->alloc_bytes, 131056, "16 + 32 + ... + 65536");
	cr_expect_eq(re->peak_bytes, 65536);
	cr_expect_eq(allocs, sn.h.allocs, "the sites' allocations are all of them");
	cr_expect_eq(temporary, sn.h.heap.temporary);
	cr_expect_eq(sn.h.allocs - temporary, 100 + 10 + 1, "all but the leaks were temporary");
	snap_free(&sn);
	tgt_detach(&t);
	/* inert: the target allocates on and exits normally */
	expect_exit0(&t, 'q');
	tgt_close(&t);
}

Test(agent, cxx_operators_and_aligned_allocators, .timeout = 120)
{
	const char *argv[] = {CXX, NULL};
	struct tgt t;
	tgt_launch(&t, argv, CS_AGENT_EXACT, 0, NULL);
	char unwind[512];
	tgt_expect(&t, "unwind ", unwind, sizeof(unwind));
	cr_assert(strstr(unwind, "libgcc_s"),
		  "the target's exceptions must stay with libgcc_s, not %s", unwind);
	tgt_expect(&t, "done", NULL, 0);
	struct snap sn;
	tgt_snap(&t, &sn);
	EXPECT_AT(&sn, CXX, "leak_new", t.base_main, 480, 10);
	EXPECT_AT(&sn, CXX, "leak_new_array", t.base_main, 500, 5);
	EXPECT_AT(&sn, CXX, "leak_new_aligned", t.base_main, 512, 4);
	EXPECT_AT(&sn, CXX, "leak_new_nothrow", t.base_main, 1200, 5);
	EXPECT_AT(&sn, CXX, "leak_new_aligned_array", t.base_main, 512, 2);
	EXPECT_AT(&sn, CXX, "leak_aligned_c", t.base_main, 6 * 256 + 5 * 640 + 4 * 300 + 2 * 100,
		  17);
	EXPECT_AT(&sn, CXX, "leak_realloc_forms", t.base_main, 3 * 77 + 2 * 300, 5);
	EXPECT_AT(&sn, CXX, "leak_new_after_throw", t.base_main, 72, 1);
	EXPECT_AT(&sn, CXX, "churn", t.base_main, 0, 0);
	/* Nothing else from the program's own code (libstdc++'s start-up may own some). */
	const char *leakers[] = {"leak_new", "leak_new_array", "leak_new_aligned",
				 "leak_new_nothrow", "leak_new_aligned_array", "leak_aligned_c",
				 "leak_realloc_forms", "leak_new_after_throw"};
	uint64_t lo, hi;
	fn_range(CXX, "main", t.base_main, &lo, &hi);
	for (size_t i = 0; i < sn.n; i++) {
		int under_main = 0, known = 0;
		for (uint32_t d = 0; d < sn.s[i].depth; d++)
			under_main |= sn.addrs[i][d] > lo && sn.addrs[i][d] <= hi;
		for (size_t k = 0; k < sizeof(leakers) / sizeof(leakers[0]); k++)
			known |= in_fn(sn.addrs[i][0], CXX, leakers[k], t.base_main);
		if (under_main && !known)
			snap_dump(&sn);
		cr_assert(!under_main || known, "site %zu (%#llx) is no known leak", i,
			  (unsigned long long)sn.addrs[i][0]);
	}
	cr_assert_eq(sn.h.lost, 0);
	snap_free(&sn);
	/* csampler vanishes without DETACH: the agent goes inert, the target runs on. */
	close(t.fd);
	t.fd = -1;
	expect_exit0(&t, 'q');
	tgt_close(&t);
}

Test(agent, stacks_complete_without_frame_pointers, .timeout = 120)
{
	const char *argv[] = {LEAKS, "deep", NULL};
	struct tgt t;
	tgt_launch(&t, argv, CS_AGENT_EXACT, 0, NULL);
	tgt_expect(&t, "done", NULL, 0);
	struct snap sn;
	tgt_snap(&t, &sn);
	EXPECT_AT(&sn, LEAKS, "deep6", t.base_main, 20 * 48, 20);
	size_t i = 0;
	for (; i < sn.n; i++)
		if (in_fn(sn.addrs[i][0], LEAKS, "deep6", t.base_main))
			break;
	const char *chain[] = {"deep6", "deep5", "deep4", "deep3", "deep2", "deep1", "main"};
	cr_assert_geq(sn.s[i].depth, 7);
	for (int d = 0; d < 7; d++)
		cr_assert(in_fn(sn.addrs[i][d], LEAKS, chain[d], t.base_main),
			  "frame %d is not in %s", d, chain[d]);
	snap_free(&sn);
	/* Exit without DETACH: the agent sends a final snapshot from its destructor. */
	tgt_cmd(&t, 'q');
	struct cs_msg m;
	char *p;
	cr_assert_eq(recv_msg(t.fd, &m, &p, 20000), 0, "no final snapshot");
	cr_assert_eq(m.type, CS_MSG_SNAPSHOT);
	snap_parse(&sn, p, m.len);
	free(p);
	cr_assert(sn.h.flags & CS_SNAP_FINAL);
	EXPECT_AT(&sn, LEAKS, "deep6", t.base_main, 20 * 48, 20);
	snap_free(&sn);
	cr_assert_eq(recv_msg(t.fd, &m, &p, 20000), -1, "EOF expected after the final snapshot");
	int st = tgt_wait(&t, 20000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	tgt_close(&t);
}

Test(agent, threads_including_a_late_one, .timeout = 120)
{
	const char *argv[] = {LEAKS, "threads", NULL};
	struct tgt t;
	tgt_launch(&t, argv, CS_AGENT_EXACT, 0, NULL);
	tgt_expect(&t, "phase1", NULL, 0);
	struct snap sn;
	tgt_snap(&t, &sn);
	EXPECT_AT(&sn, LEAKS, "thread_leak", t.base_main, 4 * 50 * 128, 4 * 50);
	EXPECT_AT(&sn, LEAKS, "churn", t.base_main, 0, 0);
	snap_free(&sn);
	tgt_cmd(&t, 'n');
	tgt_expect(&t, "done", NULL, 0);
	tgt_snap(&t, &sn);
	EXPECT_AT(&sn, LEAKS, "thread_leak", t.base_main, 5 * 50 * 128, 5 * 50);
	cr_assert_eq(sn.h.lost, 0);
	snap_free(&sn);
	tgt_detach(&t);
	expect_exit0(&t, 'q');
	tgt_close(&t);
}

Test(agent, library_dlopened_after_attach, .timeout = 120)
{
	const char *argv[] = {LEAKS, "dlopen", PLUGIN, NULL};
	struct tgt t;
	tgt_launch(&t, argv, CS_AGENT_EXACT, 0, NULL);
	tgt_expect(&t, "done", NULL, 0);
	cr_assert_neq(t.base_plugin, 0);
	struct snap sn;
	tgt_snap(&t, &sn);
	EXPECT_AT(&sn, PLUGIN, "plugin_leak", t.base_plugin, 7 * 333, 7);
	snap_free(&sn);
	tgt_detach(&t);
	expect_exit0(&t, 'q');
	tgt_close(&t);
}

static void within(const char *what, double got, double want, double tol)
{
	cr_assert(fabs(got - want) <= tol * want, "%s: estimate %.0f, true %.0f (tolerance %.0f%%)",
		  what, got, want, tol * 100);
}

Test(agent, sampled_mode_estimates, .timeout = 120)
{
	const char *argv[] = {LEAKS, "sampled", NULL};
	struct tgt t;
	tgt_launch(&t, argv, CS_AGENT_SAMPLED, 65536, NULL);
	tgt_expect(&t, "done", NULL, 0);
	struct snap sn;
	tgt_snap(&t, &sn);
	cr_assert(sn.h.flags & CS_SNAP_SAMPLED);
	cr_assert_eq(sn.h.sample_bytes, 65536);
	/* ~300 and ~126 samples: a relative error of ~6% each; 25% is > 4 sigma. */
	struct total small = at_fn(&sn, LEAKS, "samp_small", t.base_main);
	struct total big = at_fn(&sn, LEAKS, "samp_big", t.base_main);
	within("samp_small bytes", (double)small.bytes, 20000.0 * 1000, 0.25);
	within("samp_small blocks", (double)small.blocks, 20000, 0.25);
	within("samp_big bytes", (double)big.bytes, 200.0 * 65536, 0.25);
	within("samp_big blocks", (double)big.blocks, 200, 0.25);
	/* Freed memory is never reported. */
	struct total ch = at_fn(&sn, LEAKS, "churn", t.base_main);
	cr_assert_eq(ch.blocks, 0, "churn blocks were all freed");
	cr_assert_geq(sn.h.allocs, 500000);
	snap_free(&sn);
	tgt_detach(&t);
	expect_exit0(&t, 'q');
	tgt_close(&t);
}

/* Launch mode, the processes of the target: a session of HELLO, CONFIG, READY (0), or
 * -1 if the process went away first (a fork child that exec'd). */
static int serve_session(int fd, pid_t pid)
{
	struct cs_msg m;
	char *p;
	if (recv_msg(fd, &m, &p, 10000))
		return -1;
	cr_assert_eq(m.type, CS_MSG_HELLO);
	struct cs_msg_hello hello;
	memcpy(&hello, p, sizeof(hello));
	free(p);
	cr_assert_eq(hello.pid, (uint32_t)pid);
	struct cs_msg_config cfg = {CS_AGENT_EXACT, 64, 0, {0}};
	if (try_send_msg(fd, CS_MSG_CONFIG, &cfg, sizeof(cfg)))
		return -1; /* it exec'd or exited right after HELLO */
	if (recv_msg(fd, &m, &p, 10000))
		return -1;
	free(p);
	cr_assert_eq(m.type, CS_MSG_READY);
	return 0;
}

/* A fork child opens a session of its own, with tables of its own, and so does the
 * program a child execs; none of them speaks on the parent's connection or holds it
 * open. */
Test(agent, children_open_sessions_of_their_own, .timeout = 120)
{
	const char *argv[] = {LEAKS, "fork", LEAKS, NULL};
	struct tgt t;
	tgt_launch(&t, argv, CS_AGENT_EXACT, 0, NULL);
	/* Serve every session until the second child's (the one that leaks) is ready; the
	 * exec'd program ends with a final snapshot, acknowledged. */
	int leaker = -1, finals = 0, sessions = 0;
	pid_t leaker_pid = 0;
	int fds[16], nfds = 0;
	uint64_t end = now_ms() + 30000;
	while (leaker < 0 && now_ms() < end) {
		struct pollfd pf[17];
		pf[0] = (struct pollfd){t.ctl, POLLIN, 0};
		for (int i = 0; i < nfds; i++)
			pf[i + 1] = (struct pollfd){fds[i], POLLIN, 0};
		cr_assert_geq(poll(pf, (nfds_t)nfds + 1, 10000), 1, "no child session");
		if (pf[0].revents) {
			pid_t pid;
			int fd = take_session(t.ctl, 0, &pid);
			cr_assert_neq(pid, t.pid, "the parent opened a second session");
			sessions++;
			if (serve_session(fd, pid) < 0) {
				close(fd);
				continue;
			}
			cr_assert_lt(nfds, 16);
			fds[nfds++] = fd;
		}
		for (int i = 0; i < nfds && !pf[0].revents; i++) {
			if (!pf[i + 1].revents)
				continue;
			struct cs_msg m;
			char *p;
			if (recv_msg(fds[i], &m, &p, 5000)) {
				close(fds[i]);
				fds[i] = fds[--nfds];
				break;
			}
			if (m.type == CS_MSG_SNAPSHOT) {
				struct snap sn;
				snap_parse(&sn, p, m.len);
				cr_assert(sn.h.flags & CS_SNAP_FINAL, "only a final snapshot comes unasked");
				finals++;
				snap_free(&sn);
				try_send_msg(fds[i], CS_MSG_FINAL_ACK, NULL, 0); /* it may be gone */
			}
			free(p);
			break;
		}
		/* the leaking child is the second fork: its pid is on stdout once the first
		 * child's program has exited */
		char rest[64];
		if (!leaker_pid && finals) {
			tgt_expect(&t, "child ", rest, sizeof(rest));
			leaker_pid = (pid_t)atoi(rest);
		}
		if (leaker_pid)
			for (int i = 0; i < nfds; i++) {
				struct ucred cred;
				socklen_t cl = sizeof(cred);
				getsockopt(fds[i], SOL_SOCKET, SO_PEERCRED, &cred, &cl);
				if (cred.pid == leaker_pid)
					leaker = fds[i];
			}
	}
	cr_assert_geq(finals, 1, "the exec'd program sent its final snapshot");
	cr_assert_geq(sessions, 2, "a session from the exec'd program and one from the leaker");
	cr_assert_geq(leaker, 0, "the second child has a session of its own");
	tgt_expect(&t, "done", NULL, 0);
	/* The parent's connection carried nothing but answers. */
	struct pollfd pf = {t.fd, POLLIN, 0};
	cr_assert_eq(poll(&pf, 1, 300), 0, "a child of the target spoke on the parent's session");
	/* The leaking child's snapshot: what it allocated after the fork, nothing of its
	 * parent's. */
	struct snap sn;
	send_msg(leaker, CS_MSG_SNAP_REQ, NULL, 0);
	struct cs_msg m;
	char *p;
	for (;;) {
		cr_assert_eq(recv_msg(leaker, &m, &p, 10000), 0, "no snapshot from the child");
		if (m.type == CS_MSG_SNAPSHOT)
			break;
		free(p);
	}
	snap_parse(&sn, p, m.len);
	free(p);
	uint64_t live = 0, bytes = 0;
	for (size_t i = 0; i < sn.n; i++) {
		live += sn.s[i].blocks;
		bytes += sn.s[i].bytes;
	}
	cr_expect_eq(live, 100, "the child's 100 blocks of leak_malloc, nothing else");
	cr_expect_eq(bytes, 6400);
	cr_expect_geq(sn.h.allocs, 1000 + 100, "the child counts its own allocations");
	cr_expect_lt(sn.h.allocs, 3000, "and only its own");
	snap_free(&sn);
	/* Kill the parent: no child holds its connection open. */
	uint64_t t0 = now_ms();
	kill(t.pid, SIGKILL);
	int rc = recv_msg(t.fd, &m, &p, 2500);
	free(p);
	cr_assert_eq(rc, -1, "no EOF after the target died: a forked child kept the socket");
	cr_assert_lt(now_ms() - t0, 2000);
	tgt_wait(&t, 5000);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	tgt_close(&t);
}

/* Attach mode: the target dlopens the agent and calls cs_agent_attach with our
 * rendezvous (what csampler's injected code does). */
static void tgt_attach_cmd(struct tgt *t)
{
	char ka[2 * CS_AGENT_KEY_BYTES + 1], kc[2 * CS_AGENT_KEY_BYTES + 1], line[256];
	tgt_rv_args(t, ka, kc);
	int n = snprintf(line, sizeof(line), "a%s %s %s\n", t->rv.name, ka, kc);
	cr_assert_eq(write(t->in, line, (size_t)n), n);
	tgt_expect(t, "attached", NULL, 0); /* it returned before the handshake */
}

static void tgt_start_attachable(struct tgt *t, const char *extra_env)
{
	static const char *argv[] = {LEAKS, "attach", AGENT, NULL};
	memset(t, 0, sizeof(*t));
	t->lfd = -1;
	tgt_spawn_env(t, argv, 0, extra_env);
	tgt_expect(t, "early", NULL, 0);
	tgt_listen_abstract(t);
}

Test(agent, attach_by_dlopen_ignores_earlier_blocks, .timeout = 120)
{
	struct tgt t;
	tgt_start_attachable(&t, NULL);
	tgt_attach_cmd(&t);
	t.fd = tgt_accept(&t, 10000);
	cr_assert_geq(t.fd, 0, "the injected agent did not connect");
	struct cs_msg_ready ready;
	tgt_handshake(&t, CS_AGENT_EXACT, 0, &ready);
	tgt_cmd(&t, 'g');
	tgt_expect(&t, "done", NULL, 0);
	struct snap sn;
	tgt_snap(&t, &sn);
	EXPECT_AT(&sn, LEAKS, "late_leak", t.base_main, 2000, 20);
	EXPECT_AT(&sn, LEAKS, "early_alloc", t.base_main, 0, 0);
	cr_assert_geq(sn.h.untracked_frees, 50, "frees of blocks from before the attach: %llu",
		      (unsigned long long)sn.h.untracked_frees);
	snap_free(&sn);
	tgt_detach(&t);
	expect_exit0(&t, 'q');
	tgt_close(&t);
}

/* A listener that does not know csampler's key (say, someone who bound the name after
 * csampler gave up) gets a HELLO but can never make the agent install a hook. */
Test(agent, attach_refuses_a_peer_without_the_key, .timeout = 60)
{
	struct tgt t;
	tgt_start_attachable(&t, NULL);
	tgt_attach_cmd(&t);
	t.fd = tgt_accept(&t, 10000);
	cr_assert_geq(t.fd, 0);
	struct cs_msg m;
	char *p;
	cr_assert_eq(recv_msg(t.fd, &m, &p, 10000), 0);
	cr_assert_eq(m.type, CS_MSG_HELLO);
	free(p);
	struct cs_msg_config cfg = {CS_AGENT_EXACT, 64, 0, {0}}; /* a wrong key */
	send_msg(t.fd, CS_MSG_CONFIG, &cfg, sizeof(cfg));
	cr_assert_eq(recv_msg(t.fd, &m, &p, 10000), -1, "the agent answered: type %u", m.type);
	/* and nothing is hooked: free's and malloc's slots point into libc */
	tgt_cmd(&t, 'p');
	char slots[256];
	tgt_expect(&t, "slots ", slots, sizeof(slots));
	cr_assert(!strcmp(slots, "libc.so.6 libc.so.6"), "slots: %s", slots);
	tgt_cmd(&t, 'g');
	tgt_expect(&t, "done", NULL, 0);
	expect_exit0(&t, 'q');
	tgt_close(&t);
}

/* One session at a time: a second attach while one runs is told BUSY, and the first
 * session's figures stay exact. */
Test(agent, second_attach_is_refused, .timeout = 120)
{
	struct tgt t;
	tgt_start_attachable(&t, NULL);
	tgt_attach_cmd(&t);
	t.fd = tgt_accept(&t, 10000);
	cr_assert_geq(t.fd, 0);
	struct cs_msg_ready ready;
	tgt_handshake(&t, CS_AGENT_EXACT, 0, &ready);
	/* a second csampler: a new name and new keys */
	struct tgt second = t;
	tgt_listen_abstract(&second);
	tgt_attach_cmd(&second);
	int fd2 = tgt_accept(&second, 10000);
	cr_assert_geq(fd2, 0, "the busy agent did not say so");
	struct cs_msg m;
	char *p;
	cr_assert_eq(recv_msg(fd2, &m, &p, 10000), 0);
	cr_assert_eq(m.type, CS_MSG_HELLO);
	cr_assert_eq(memcmp(((struct cs_msg_hello *)p)->key, second.rv.agent_key,
			    CS_AGENT_KEY_BYTES), 0);
	free(p);
	cr_assert_eq(recv_msg(fd2, &m, &p, 10000), 0);
	cr_assert_eq(m.type, CS_MSG_BUSY, "type %u", m.type);
	free(p);
	close(fd2);
	close(second.lfd);
	tgt_cmd(&t, 'g');
	tgt_expect(&t, "done", NULL, 0);
	struct snap sn;
	tgt_snap(&t, &sn);
	EXPECT_AT(&sn, LEAKS, "late_leak", t.base_main, 2000, 20);
	cr_assert_eq(sn.h.flags & CS_SNAP_INEXACT, 0);
	snap_free(&sn);
	tgt_detach(&t);
	expect_exit0(&t, 'q');
	tgt_close(&t);
}

/* A set-up that hangs: the watchdog puts every rewritten slot back by itself (the
 * stuck thread still sleeps) and hangs up; the program runs on untouched. */
Test(agent, setup_watchdog_restores_the_slots, .timeout = 120)
{
	struct tgt t;
	tgt_start_attachable(&t, CS_AGENT_STALL_ENV "=30000");
	tgt_attach_cmd(&t);
	t.fd = tgt_accept(&t, 10000);
	cr_assert_geq(t.fd, 0);
	struct cs_msg m;
	char *p;
	cr_assert_eq(recv_msg(t.fd, &m, &p, 10000), 0);
	free(p);
	struct cs_msg_config cfg = {CS_AGENT_EXACT, 64, 0, {0}};
	memcpy(cfg.key, t.rv.csampler_key, CS_AGENT_KEY_BYTES);
	send_msg(t.fd, CS_MSG_CONFIG, &cfg, sizeof(cfg));
	/* phase 1 (free) goes in: its slot points at the agent while set-up hangs */
	char slots[256];
	for (int i = 0; i < 100; i++) {
		tgt_cmd(&t, 'p');
		tgt_expect(&t, "slots ", slots, sizeof(slots));
		if (strcmp(slots, "libc.so.6 libc.so.6"))
			break;
		struct timespec pause = {0, 20 * 1000000};
		nanosleep(&pause, NULL);
	}
	cr_assert(!strcmp(slots, "libcsampler_agent.so libc.so.6"), "slots: %s", slots);
	uint64_t t0 = now_ms();
	cr_assert_eq(recv_msg(t.fd, &m, &p, CS_AGENT_SETUP_MS + 5000), -1, "got type %u", m.type);
	uint64_t waited = now_ms() - t0;
	cr_assert_lt(waited, CS_AGENT_SETUP_MS + 4000, "hung up after %llu ms",
		     (unsigned long long)waited);
	tgt_cmd(&t, 'p');
	tgt_expect(&t, "slots ", slots, sizeof(slots));
	cr_assert(!strcmp(slots, "libc.so.6 libc.so.6"), "after the watchdog: %s", slots);
	tgt_cmd(&t, 'g');
	tgt_expect(&t, "done", NULL, 0);
	expect_exit0(&t, 'q');
	tgt_close(&t);
}

/* Launch mode: a fatal signal still gets the final snapshot out, and the program
 * then dies of that signal as it would have. */
Test(agent, final_snapshot_on_a_fatal_signal, .timeout = 60)
{
	const char *argv[] = {LEAKS, "segv", NULL};
	struct tgt t;
	tgt_launch(&t, argv, CS_AGENT_EXACT, 0, NULL);
	tgt_expect(&t, "done", NULL, 0);
	tgt_cmd(&t, 's');
	struct cs_msg m;
	char *p;
	cr_assert_eq(recv_msg(t.fd, &m, &p, 10000), 0, "no final snapshot");
	cr_assert_eq(m.type, CS_MSG_SNAPSHOT);
	struct snap sn;
	snap_parse(&sn, p, m.len);
	free(p);
	cr_assert_eq(sn.h.flags & (CS_SNAP_FINAL | CS_SNAP_SIGNAL), CS_SNAP_FINAL | CS_SNAP_SIGNAL);
	EXPECT_AT(&sn, LEAKS, "leak_malloc", t.base_main, 6400, 100);
	snap_free(&sn);
	/* it waits for the acknowledgement, then dies of SIGSEGV */
	struct timespec pause = {0, 200 * 1000000};
	nanosleep(&pause, NULL);
	cr_assert_eq(waitpid(t.pid, NULL, WNOHANG), 0, "the target did not wait for FINAL_ACK");
	send_msg(t.fd, CS_MSG_FINAL_ACK, NULL, 0);
	int st = tgt_wait(&t, 10000);
	cr_assert(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "status %#x", st);
	tgt_close(&t);
}

Test(agent, bad_config_leaves_the_target_alone, .timeout = 60)
{
	const char *argv[] = {LEAKS, "basic", NULL};
	struct tgt t;
	memset(&t, 0, sizeof(t));
	t.lfd = -1;
	tgt_spawn(&t, argv, 1);
	struct cs_msg m;
	char *p;
	cr_assert_eq(recv_msg(t.fd, &m, &p, 10000), 0);
	free(p);
	struct cs_msg_config cfg = {CS_AGENT_EXACT, CS_AGENT_MAX_DEPTH + 1, 0, {0}};
	send_msg(t.fd, CS_MSG_CONFIG, &cfg, sizeof(cfg));
	cr_assert_eq(recv_msg(t.fd, &m, &p, 10000), 0);
	cr_assert_eq(m.type, CS_MSG_ERROR);
	cr_assert(strstr(p, "max_depth"), "error text: %s", p);
	free(p);
	tgt_expect(&t, "done", NULL, 0);
	expect_exit0(&t, 'q');
	tgt_close(&t);
}
