/* End-to-end tests of continuous mode (record --push): a loopback HTTP server run by
 * the test records every request; the windows are checked against Pyroscope's ingest
 * contract, decoded by the real pprof (`go tool pprof -raw`, Debian golang-go), and
 * their samples must add up to the whole recording written with -o. Also: a server
 * that refuses connections, and one that accepts but never answers. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static char *dir;

static void setup(void)
{
	h_require_perf();
	dir = h_tmpdir();
}

static void teardown(void)
{
	if (dir)
		h_tmpdir_free(dir);
	dir = NULL;
}

TestSuite(push, .init = setup, .fini = teardown, .timeout = 180);

/* ---- a loopback server ---- */

#define MAX_REQ 64

struct req {
	char line[1024];  /* "POST /ingest?... HTTP/1.1" */
	char ctype[256];  /* Content-Type */
	char *body;
	size_t len;
};

struct server {
	int fd, port, slow;
	int stop[2];
	pthread_t th;
	struct req req[MAX_REQ];
	int n;
	int held[MAX_REQ]; /* slow: connections accepted and never answered */
	int nheld;
};

/* Read one request (headers, then Content-Length bytes of body). */
static void read_req(int c, struct req *r)
{
	size_t cap = 1 << 20, got = 0;
	char *buf = malloc(cap + 1);
	char *hend = NULL;
	size_t need = 0;
	for (;;) {
		struct pollfd pf = {c, POLLIN, 0};
		if (poll(&pf, 1, 5000) <= 0)
			break;
		ssize_t k = read(c, buf + got, cap - got);
		if (k <= 0)
			break;
		got += (size_t)k;
		buf[got] = 0;
		if (!hend && (hend = strstr(buf, "\r\n\r\n"))) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");
			need = (size_t)(hend + 4 - buf) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (hend && got >= need)
			break;
	}
	buf[got] = 0;
	char *eol = strstr(buf, "\r\n");
	if (eol)
		snprintf(r->line, sizeof(r->line), "%.*s", (int)(eol - buf), buf);
	const char *ct = strcasestr(buf, "\r\nContent-Type:");
	if (ct && (!hend || ct < hend)) {
		ct += 15;
		while (*ct == ' ')
			ct++;
		snprintf(r->ctype, sizeof(r->ctype), "%.*s", (int)strcspn(ct, "\r\n"), ct);
	}
	if (hend) {
		r->len = got - (size_t)(hend + 4 - buf);
		r->body = malloc(r->len + 1);
		memcpy(r->body, hend + 4, r->len);
		r->body[r->len] = 0;
	}
	free(buf);
}

static void *serve(void *arg)
{
	struct server *s = arg;
	for (;;) {
		struct pollfd pf[2] = {{s->fd, POLLIN, 0}, {s->stop[0], POLLIN, 0}};
		poll(pf, 2, -1);
		if (pf[1].revents)
			break;
		int c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		if (s->slow) {
			if (s->nheld < MAX_REQ)
				s->held[s->nheld++] = c;
			else
				close(c);
			continue;
		}
		if (s->n < MAX_REQ) {
			read_req(c, &s->req[s->n]);
			s->n++;
		}
		static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		ssize_t w = write(c, ok, sizeof(ok) - 1);
		(void)w;
		close(c);
	}
	return NULL;
}

static void server_start(struct server *s, int slow)
{
	memset(s, 0, sizeof(*s));
	s->slow = slow;
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(s->fd >= 0);
	struct sockaddr_in a = {0};
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(bind(s->fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	cr_assert(listen(s->fd, 16) == 0);
	socklen_t sl = sizeof(a);
	getsockname(s->fd, (struct sockaddr *)&a, &sl);
	s->port = ntohs(a.sin_port);
	cr_assert(pipe(s->stop) == 0);
	cr_assert(pthread_create(&s->th, NULL, serve, s) == 0);
}

static void server_stop(struct server *s)
{
	ssize_t w = write(s->stop[1], "x", 1);
	(void)w;
	pthread_join(s->th, NULL);
	close(s->fd);
	close(s->stop[0]);
	close(s->stop[1]);
	for (int i = 0; i < s->nheld; i++)
		close(s->held[i]);
}

static void server_free(struct server *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->req[i].body);
}

/* A port on which nothing listens (bound, then closed). */
static int dead_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {0};
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	socklen_t sl = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &sl);
	close(fd);
	return ntohs(a.sin_port);
}

/* ---- helpers ---- */

/* The value of query parameter key in a request line, percent-decoded. */
static int query(const char *line, const char *key, char *out, size_t cap)
{
	const char *q = strchr(line, '?');
	size_t kl = strlen(key);
	while (q) {
		q++;
		if (!strncmp(q, key, kl) && q[kl] == '=') {
			const char *v = q + kl + 1;
			size_t n = 0;
			while (*v && *v != '&' && *v != ' ' && n + 1 < cap) {
				if (*v == '%' && v[1] && v[2]) {
					char hex[3] = {v[1], v[2], 0};
					out[n++] = (char)strtol(hex, NULL, 16);
					v += 3;
				} else {
					out[n++] = *v++;
				}
			}
			out[n] = 0;
			return 1;
		}
		q = strchr(q, '&');
	}
	return 0;
}

static void *memmem_(const void *h, size_t hl, const char *n)
{
	return memmem(h, hl, n, strlen(n));
}

/* The bytes of multipart field name, or NULL. */
static const char *field(const struct req *r, const char *name, size_t *len)
{
	const char *b = strstr(r->ctype, "boundary=");
	if (!b || !r->body)
		return NULL;
	char delim[200], disp[128];
	snprintf(delim, sizeof(delim), "\r\n--%s", b + 9);
	snprintf(disp, sizeof(disp), "name=\"%s\"", name);
	const char *p = memmem_(r->body, r->len, delim + 2); /* the first has no CRLF */
	while (p) {
		const char *hend = memmem_(p, r->len - (size_t)(p - r->body), "\r\n\r\n");
		if (!hend)
			return NULL;
		const char *next = memmem_(hend, r->len - (size_t)(hend - r->body), delim);
		if (!next)
			return NULL;
		if (memmem(p, (size_t)(hend - p), disp, strlen(disp))) {
			*len = (size_t)(next - (hend + 4));
			return hend + 4;
		}
		p = next + 2;
	}
	return NULL;
}

static int have_go(void)
{
	char *argv[] = {"/usr/bin/env", "go", "version", NULL};
	return h_run(argv, 60, NULL, NULL) == 0;
}

/* `go tool pprof -raw` of a pprof file; the summed first value of its samples. */
static uint64_t pprof_raw(const char *file, char **text)
{
	char gocache[4096], home[4096];
	snprintf(gocache, sizeof(gocache), "GOCACHE=%s/gocache", dir);
	snprintf(home, sizeof(home), "HOME=%s", dir);
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "PPROF_TMPDIR=%s", dir);
	char *argv[] = {"/usr/bin/env", gocache, home, tmp, "GOFLAGS=-mod=mod", "GOPROXY=off",
			"GOTOOLCHAIN=local", "go", "tool", "pprof", "-raw", (char *)file, NULL};
	char *out = NULL, *err = NULL;
	int st = h_run(argv, 120, &out, &err);
	cr_assert_eq(st, 0, "go tool pprof -raw %s failed: %s", file, err ? err : "");
	free(err);
	uint64_t total = 0;
	const char *s = strstr(out, "\nSamples:\n");
	cr_assert(s, "no samples section in:\n%s", out);
	s = strchr(s + 10, '\n'); /* the line naming the sample types */
	while (s && *++s == ' ') {
		unsigned long long v;
		if (sscanf(s, " %llu", &v) == 1 && strchr(s, ':') < strchr(s, '\n'))
			total += v; /* a sample line: "COUNT NS: LOCATIONS" (labels lines have none) */
		s = strchr(s, '\n');
	}
	*text = out;
	return total;
}

/* Samples of a recording, by csampler fold. */
static uint64_t recorded(const char *data)
{
	struct h_folded f;
	h_fold(data, NULL, &f);
	uint64_t t = f.total;
	h_folded_free(&f);
	return t;
}

struct pushline {
	unsigned long long sent, windows, retried, dropped;
};

static int parse_summary(const char *err, struct pushline *pl)
{
	const char *p = err ? strstr(err, "[csampler] pushed ") : NULL;
	return p && sscanf(p, "[csampler] pushed %llu of %llu windows; %llu retried, %llu dropped",
			   &pl->sent, &pl->windows, &pl->retried, &pl->dropped) == 4;
}

/* Launch cpu3 for secs seconds under record --push url (url NULL: no push). */
static int run_cpu3(const char *url, const char *secs, const char *data, char **err)
{
	char *argv[] = {CS_EXE, "record", "-o", (char *)data, "--push-interval", "1", "--app",
			"csamptest", "--labels", "env=test,host=h1", "--push", (char *)url,
			"--", TARGET("cs_t_cpu3"), (char *)secs, NULL};
	if (!url) { /* the same run without push */
		char *plain[] = {CS_EXE, "record", "-o", (char *)data, "--",
				 TARGET("cs_t_cpu3"), (char *)secs, NULL};
		return h_run(plain, 90, NULL, err);
	}
	return h_run(argv, 90, NULL, err);
}

/* ---- tests ---- */

Test(push, contract_and_totals)
{
	if (!have_go())
		cr_skip_test("go (Debian golang-go) is not installed: pprof cannot be decoded");
	struct server s;
	server_start(&s, 0);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.port);
	char *data = h_path(dir, "whole.data"), *err = NULL;
	int st = run_cpu3(url, "4", data, &err);
	server_stop(&s); /* csampler has finished: every request is in */
	cr_assert_eq(st, 0, "record --push failed: %s", err);
	struct pushline pl;
	cr_assert(parse_summary(err, &pl), "no push summary in:\n%s", err);
	cr_expect_eq(pl.sent, pl.windows, "%s", err);
	cr_expect_eq(pl.dropped, 0, "%s", err);
	/* 4 s at 1 s windows: 4 or 5 windows (the last one holds the rest) */
	cr_assert(s.n >= 4 && s.n <= 6, "%d requests", s.n);
	cr_expect_eq((unsigned long long)s.n, pl.sent);

	uint64_t sum = 0, max = 0, prev_until = 0;
	int hot = 0;
	for (int i = 0; i < s.n; i++) {
		const struct req *r = &s.req[i];
		char v[512];
		cr_assert(!strncmp(r->line, "POST /ingest?", 13), "request line '%s'", r->line);
		cr_assert(strstr(r->line, " HTTP/1.1"), "'%s'", r->line);
		cr_assert(query(r->line, "name", v, sizeof(v)), "no name in '%s'", r->line);
		cr_expect_str_eq(v, "csamptest{env=test,host=h1}");
		cr_assert(query(r->line, "format", v, sizeof(v)));
		cr_expect_str_eq(v, "pprof");
		cr_assert(query(r->line, "from", v, sizeof(v)), "no from in '%s'", r->line);
		uint64_t from = strtoull(v, NULL, 10);
		cr_assert(query(r->line, "until", v, sizeof(v)), "no until in '%s'", r->line);
		uint64_t until = strtoull(v, NULL, 10);
		cr_expect(from > 1600000000 && until >= from && until - from <= 2,
			  "window %d: from %llu until %llu", i, (unsigned long long)from,
			  (unsigned long long)until);
		if (i) /* contiguous: each window begins where the last ended */
			cr_expect_eq(from, prev_until, "window %d", i);
		prev_until = until;
		cr_assert(!strncmp(r->ctype, "multipart/form-data", 19), "Content-Type '%s'", r->ctype);
		size_t len;
		const char *prof = field(r, "profile", &len);
		cr_assert(prof && len > 2, "no multipart field 'profile' in window %d (%zu bytes, type %s): %.200s", i, r->len, r->ctype, r->body ? r->body : "");
		cr_expect((unsigned char)prof[0] == 0x1f && (unsigned char)prof[1] == 0x8b,
			  "window %d is not gzip'd", i);
		char name[64];
		snprintf(name, sizeof(name), "win%d.pb.gz", i);
		char *path = h_path(dir, name);
		FILE *f = fopen(path, "wb");
		cr_assert(f && fwrite(prof, 1, len, f) == len && fclose(f) == 0);
		char *text;
		uint64_t n = pprof_raw(path, &text);
		hot += strstr(text, " burn_a ") != NULL;
		free(text);
		free(path);
		sum += n;
		if (n > max)
			max = n;
	}
	uint64_t whole = recorded(data);
	cr_assert(whole > 50, "whole recording: %llu samples", (unsigned long long)whole);
	/* the windows are cut from the same counts: they add up exactly */
	cr_expect_eq(sum, whole, "windows %llu samples, whole recording %llu",
		     (unsigned long long)sum, (unsigned long long)whole);
	cr_expect(hot >= s.n - 1, "burn_a named in %d of %d windows", hot, s.n);
	server_free(&s);
	free(err);
	free(data);
}

Test(push, server_down)
{
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", dead_port());
	char *data = h_path(dir, "down.data"), *err = NULL;
	int st = run_cpu3(url, "3", data, &err);
	cr_assert_eq(st, 0, "record with a dead server must still succeed: %s", err);
	struct pushline pl;
	cr_assert(parse_summary(err, &pl), "no push summary in:\n%s", err);
	cr_expect_eq(pl.sent, 0);
	cr_expect(pl.windows >= 3, "%llu windows", pl.windows);
	cr_expect_eq(pl.dropped, pl.windows, "every window dropped and counted: %s", err);
	cr_expect(strstr(err, "Connection refused"), "the reason is given: %s", err);
	cr_expect(recorded(data) > 50, "the recording is complete");
	free(err);
	free(data);
}

Test(push, server_slow)
{
	struct server s;
	server_start(&s, 1); /* accepts, never answers */
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.port);
	struct h_proc t;
	char *targv[] = {TARGET("cs_t_cpu3"), NULL};
	h_start(&t, targv);
	char pidbuf[16];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)t.pid);
	char *data = h_path(dir, "slow.data"), *err = NULL;
	char *rec[] = {CS_EXE, "record", "-p", pidbuf, "-d", "4", "-o", data, "--push-interval", "1",
		       "--push", url, NULL};
	int err_fd;
	uint64_t cpu0 = h_cpu_ns(t.pid);
	pid_t r = h_spawn(rec, &err_fd);
	usleep(4100 * 1000); /* the recording's 4 s, and its start */
	uint64_t cpu1 = h_cpu_ns(t.pid);
	int st = h_collect(r, err_fd, 60, &err);
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0);
	server_stop(&s);
	cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", err);
	struct pushline pl;
	cr_assert(parse_summary(err, &pl), "no push summary in:\n%s", err);
	cr_expect_eq(pl.sent, 0, "%s", err);
	cr_expect(pl.retried >= 1, "a window that timed out is retried: %s", err);
	cr_expect(pl.dropped >= 1 && pl.dropped == pl.windows, "%s", err);
	cr_expect(s.nheld >= 2, "csampler connected %d times", s.nheld);
	/* Sampling is not held up by the server: 99 samples per second of the target's CPU
	 * time (a blocked loop would lose what overflows the rings while it waits). The
	 * CPU is measured over a little more than the recording. */
	uint64_t got = recorded(data);
	double expect = (double)(cpu1 - cpu0) / 1e9 * 99;
	cr_expect(got >= 0.7 * expect && got <= 1.15 * expect,
		  "%llu samples with a slow server, %.0f expected from the target's CPU time",
		  (unsigned long long)got, expect);
	free(err);
	free(data);
}
