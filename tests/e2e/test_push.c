/* End-to-end tests of continuous mode (record --push): a loopback HTTP server run by
 * the test records every request; the windows are checked against Pyroscope's ingest
 * contract, decoded by the real pprof (`go tool pprof -raw`, Debian golang-go), and
 * their samples must add up to the whole recording written with -o. With
 * --push-format otlp the requests are decoded by a protobuf reader of the test's own
 * that checks every field number and wire type against opentelemetry-proto's
 * profiles.proto (no OpenTelemetry Collector is packaged for Debian; it is not run).
 * Also: a server that refuses connections, and one that accepts but never answers. */
#include <criterion/criterion.h>
#include <stdint.h>
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


/* ---- an OTLP profiles reader of the test's own ----
 *
 * Field numbers and wire types, as opentelemetry-proto's late-2025 releases define them
 * (collector/profiles/v1development/profiles_service.proto, profiles/v1development/
 * profiles.proto, common/v1/common.proto, resource/v1/resource.proto). A field that is
 * not in its message's list fails the test. */

enum { W_VAR = 0, W_I64 = 1, W_LEN = 2 };

struct pbr {
	const uint8_t *p, *end;
};

struct pbf {
	unsigned num, wire;
	uint64_t v;	   /* varint or fixed64 */
	const uint8_t *b; /* length-delimited bytes */
	size_t n;
};

static int pb_var(struct pbr *r, uint64_t *v)
{
	*v = 0;
	for (int sh = 0; sh < 64 && r->p < r->end; sh += 7) {
		uint8_t c = *r->p++;
		*v |= (uint64_t)(c & 0x7f) << sh;
		if (!(c & 0x80))
			return 0;
	}
	return -1;
}

/* The next field: 1, 0 at the end; a malformed message fails the test. */
static int pb_next(struct pbr *r, struct pbf *f)
{
	if (r->p >= r->end)
		return 0;
	uint64_t key;
	cr_assert(pb_var(r, &key) == 0, "truncated key");
	f->num = (unsigned)(key >> 3);
	f->wire = (unsigned)(key & 7);
	cr_assert(f->num > 0, "field number 0");
	if (f->wire == W_VAR) {
		cr_assert(pb_var(r, &f->v) == 0, "truncated varint");
	} else if (f->wire == W_I64) {
		cr_assert(r->end - r->p >= 8, "truncated fixed64");
		memcpy(&f->v, r->p, 8);
		r->p += 8;
	} else if (f->wire == W_LEN) {
		uint64_t n;
		cr_assert(pb_var(r, &n) == 0 && n <= (uint64_t)(r->end - r->p), "bad length");
		f->b = r->p;
		f->n = (size_t)n;
		r->p += n;
	} else {
		cr_assert_fail("wire type %u (field %u) is not used by the OTLP profiles messages",
			       f->wire, f->num);
	}
	return 1;
}

static struct pbr pb_sub(const struct pbf *f)
{
	struct pbr r = {f->b, f->b + f->n};
	return r;
}

/* Fail unless (num, wire) is in spec, a string of "NUM:WIRE " pairs. */
static void pb_expect(const char *msg, const char *spec, const struct pbf *f)
{
	char want[16];
	snprintf(want, sizeof(want), " %u:%u ", f->num, f->wire);
	char padded[256];
	snprintf(padded, sizeof(padded), " %s ", spec);
	cr_assert(strstr(padded, want), "%s: field %u with wire type %u is not in the spec (%s)",
		  msg, f->num, f->wire, spec);
}

/* A packed (LEN) or single (VARINT) repeated varint field, appended to v. */
static size_t pb_ints(const struct pbf *f, uint64_t *v, size_t n, size_t cap)
{
	if (f->wire == W_VAR) {
		if (n < cap)
			v[n++] = f->v;
		return n;
	}
	struct pbr r = pb_sub(f);
	while (r.p < r.end && n < cap)
		cr_assert(pb_var(&r, &v[n++]) == 0, "bad packed varint");
	return n;
}

#define OT_MAX 4096

struct otlp_dict {
	const uint8_t *str[OT_MAX];
	size_t strlen[OT_MAX];
	size_t nstr;
	uint64_t func_name[OT_MAX];
	size_t nfunc;
	uint64_t loc_func[OT_MAX][8]; /* the functions of the location's lines, leaf first */
	size_t loc_nfunc[OT_MAX];
	size_t nloc;
	uint64_t stack_loc[OT_MAX][64]; /* leaf first */
	size_t stack_n[OT_MAX], nstack;
	size_t nmap, nattr, nlink;
	uint64_t attr_key[OT_MAX];
	int first_empty; /* every table began with its zero value */
};

static int ot_str_is(const struct otlp_dict *d, uint64_t i, const char *s)
{
	return i < d->nstr && d->strlen[i] == strlen(s) && !memcmp(d->str[i], s, d->strlen[i]);
}

static void ot_any(const struct pbf *f, const uint8_t **s, size_t *sl, uint64_t *iv)
{
	struct pbr r = pb_sub(f);
	struct pbf g;
	*s = NULL;
	while (pb_next(&r, &g)) {
		pb_expect("AnyValue", "1:2 2:0 3:0 4:1 5:2 6:2 7:2", &g);
		if (g.num == 1) {
			*s = g.b;
			*sl = g.n;
		} else if (g.num == 3) {
			*iv = g.v;
		}
	}
}

static void ot_dict(const struct pbf *df, struct otlp_dict *d)
{
	memset(d, 0, sizeof(*d));
	d->first_empty = 1;
	struct pbr r = pb_sub(df);
	struct pbf f, g;
	while (pb_next(&r, &f)) {
		pb_expect("ProfilesDictionary", "1:2 2:2 3:2 4:2 5:2 6:2 7:2", &f);
		struct pbr m = pb_sub(&f);
		switch (f.num) {
		case 1: /* Mapping */
			if (!d->nmap++ && f.n)
				d->first_empty = 0;
			while (pb_next(&m, &g))
				pb_expect("Mapping", "1:0 2:0 3:0 4:0 5:2 5:0", &g);
			break;
		case 2: /* Location */
			cr_assert(d->nloc < OT_MAX);
			if (!d->nloc && f.n)
				d->first_empty = 0;
			d->loc_nfunc[d->nloc] = 0;
			while (pb_next(&m, &g)) {
				pb_expect("Location", "1:0 2:0 3:2 4:2 4:0", &g);
				if (g.num != 3)
					continue;
				struct pbr l = pb_sub(&g);
				struct pbf h;
				while (pb_next(&l, &h)) {
					pb_expect("Line", "1:0 2:0 3:0", &h);
					if (h.num == 1 && d->loc_nfunc[d->nloc] < 8)
						d->loc_func[d->nloc][d->loc_nfunc[d->nloc]++] = h.v;
				}
			}
			d->nloc++;
			break;
		case 3: /* Function */
			cr_assert(d->nfunc < OT_MAX);
			if (!d->nfunc && f.n)
				d->first_empty = 0;
			d->func_name[d->nfunc] = 0;
			while (pb_next(&m, &g)) {
				pb_expect("Function", "1:0 2:0 3:0 4:0", &g);
				if (g.num == 1)
					d->func_name[d->nfunc] = g.v;
			}
			d->nfunc++;
			break;
		case 4: /* Link */
			if (!d->nlink++ && f.n)
				d->first_empty = 0;
			while (pb_next(&m, &g))
				pb_expect("Link", "1:2 2:2", &g);
			break;
		case 5:
			cr_assert(d->nstr < OT_MAX);
			if (!d->nstr && f.n)
				d->first_empty = 0;
			d->str[d->nstr] = f.b;
			d->strlen[d->nstr++] = f.n;
			break;
		case 6: /* KeyValueAndUnit */
			cr_assert(d->nattr < OT_MAX);
			if (!d->nattr && f.n)
				d->first_empty = 0;
			d->attr_key[d->nattr] = 0;
			while (pb_next(&m, &g)) {
				pb_expect("KeyValueAndUnit", "1:0 2:2 3:0", &g);
				if (g.num == 1)
					d->attr_key[d->nattr] = g.v;
				if (g.num == 2) {
					const uint8_t *sv;
					size_t sl;
					uint64_t iv;
					ot_any(&g, &sv, &sl, &iv);
				}
			}
			d->nattr++;
			break;
		case 7: /* Stack */
			cr_assert(d->nstack < OT_MAX);
			if (!d->nstack && f.n)
				d->first_empty = 0;
			d->stack_n[d->nstack] = 0;
			while (pb_next(&m, &g)) {
				pb_expect("Stack", "1:2 1:0", &g);
				d->stack_n[d->nstack] =
				    pb_ints(&g, d->stack_loc[d->nstack], d->stack_n[d->nstack], 64);
			}
			d->nstack++;
			break;
		}
	}
}

struct otlp_window {
	uint64_t values, period, time_ns, duration_ns;
	uint64_t hot_value; /* of samples whose stack goes through burn_a */
	uint64_t plugin_value; /* ... through plugin_inner */
	int threads_named;  /* every sample carries a thread.name attribute */
	char service[64], env[64], host[64];
};

/* Decode one ExportProfilesServiceRequest, checking it against the spec. */
static void ot_request(const char *body, size_t len, struct otlp_window *w)
{
	static struct otlp_dict d; /* large: not on the stack */
	memset(w, 0, sizeof(*w));
	w->threads_named = 1;
	struct pbr r = {(const uint8_t *)body, (const uint8_t *)body + len};
	struct pbf f, rp = {0}, dict = {0};
	int nrp = 0, ndict = 0;
	while (pb_next(&r, &f)) {
		pb_expect("ExportProfilesServiceRequest", "1:2 2:2", &f);
		if (f.num == 1) {
			rp = f;
			nrp++;
		} else {
			dict = f;
			ndict++;
		}
	}
	cr_assert(nrp == 1 && ndict == 1, "%d resource_profiles, %d dictionaries", nrp, ndict);
	ot_dict(&dict, &d);
	cr_expect(d.first_empty, "every dictionary table starts with its zero value");
	cr_assert(d.nstr > 0 && d.strlen[0] == 0, "string_table[0] must be empty");

	struct pbr rr = pb_sub(&rp), m;
	struct pbf g, h, k;
	int nprof = 0;
	while (pb_next(&rr, &g)) {
		pb_expect("ResourceProfiles", "1:2 2:2 3:2", &g);
		if (g.num == 1) { /* Resource */
			m = pb_sub(&g);
			while (pb_next(&m, &h)) {
				pb_expect("Resource", "1:2 2:0", &h);
				if (h.num != 1)
					continue;
				struct pbr kv = pb_sub(&h);
				const uint8_t *key = NULL, *sv = NULL;
				size_t kl = 0, sl = 0;
				uint64_t iv = 0;
				while (pb_next(&kv, &k)) {
					pb_expect("KeyValue", "1:2 2:2", &k);
					if (k.num == 1) {
						key = k.b;
						kl = k.n;
					} else {
						ot_any(&k, &sv, &sl, &iv);
					}
				}
				char *dst = NULL;
				if (key && kl == 12 && !memcmp(key, "service.name", 12))
					dst = w->service;
				else if (key && kl == 3 && !memcmp(key, "env", 3))
					dst = w->env;
				else if (key && kl == 4 && !memcmp(key, "host", 4))
					dst = w->host;
				if (dst && sv)
					snprintf(dst, 64, "%.*s", (int)sl, (const char *)sv);
			}
			continue;
		}
		if (g.num != 2)
			continue;
		m = pb_sub(&g); /* ScopeProfiles */
		while (pb_next(&m, &h)) {
			pb_expect("ScopeProfiles", "1:2 2:2 3:2", &h);
			if (h.num != 2)
				continue;
			nprof++;
			struct pbr pr = pb_sub(&h);
			while (pb_next(&pr, &k)) {
				pb_expect("Profile", "1:2 2:2 3:1 4:0 5:2 6:0 7:2 8:0 9:2 10:2 11:2 11:0",
					  &k);
				struct pbr x = pb_sub(&k);
				struct pbf y;
				if (k.num == 1 || k.num == 5) { /* ValueType: cpu/nanoseconds */
					uint64_t t = 0, u = 0;
					while (pb_next(&x, &y)) {
						pb_expect("ValueType", "1:0 2:0", &y);
						if (y.num == 1)
							t = y.v;
						else
							u = y.v;
					}
					cr_expect(ot_str_is(&d, t, "cpu") && ot_str_is(&d, u, "nanoseconds"),
						  "value type of field %u", k.num);
				} else if (k.num == 3) {
					w->time_ns = k.v;
				} else if (k.num == 4) {
					w->duration_ns = k.v;
				} else if (k.num == 6) {
					w->period = k.v;
				} else if (k.num == 7) {
					cr_expect_eq(k.n, 16, "profile_id is 16 bytes");
				} else if (k.num == 2) { /* Sample */
					uint64_t stack = 0, vals[4], attrs[8];
					size_t nv = 0, na = 0;
					while (pb_next(&x, &y)) {
						pb_expect("Sample", "1:0 2:2 2:0 3:2 3:0 4:0 5:2 5:1", &y);
						if (y.num == 1)
							stack = y.v;
						else if (y.num == 2)
							nv = pb_ints(&y, vals, nv, 4);
						else if (y.num == 3)
							na = pb_ints(&y, attrs, na, 8);
					}
					cr_assert_eq(nv, 1, "one value per sample (one sample type)");
					cr_assert(stack > 0 && stack < d.nstack, "stack_index %llu of %zu",
						  (unsigned long long)stack, d.nstack);
					w->values += vals[0];
					int named = 0;
					for (size_t i = 0; i < na; i++) {
						cr_assert(attrs[i] < d.nattr, "attribute index");
						named |= ot_str_is(&d, d.attr_key[attrs[i]], "thread.name");
					}
					w->threads_named &= named;
					cr_assert(d.stack_n[stack] > 0, "an empty stack");
					int through = 0, in_plugin = 0;
					for (size_t i = 0; i < d.stack_n[stack]; i++) {
						uint64_t l = d.stack_loc[stack][i];
						cr_assert(l > 0 && l < d.nloc, "location index %llu",
							  (unsigned long long)l);
						cr_assert(d.loc_nfunc[l] > 0, "a location without lines");
						for (size_t j = 0; j < d.loc_nfunc[l]; j++) {
							uint64_t fn = d.loc_func[l][j];
							cr_assert(fn > 0 && fn < d.nfunc, "function index");
							through |= ot_str_is(&d, d.func_name[fn], "burn_a");
							in_plugin |=
							    ot_str_is(&d, d.func_name[fn], "plugin_inner");
						}
					}
					if (through)
						w->hot_value += vals[0];
					if (in_plugin)
						w->plugin_value += vals[0];
				}
			}
		}
	}
	cr_assert_eq(nprof, 1, "one profile per window");
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

Test(push, otlp)
{
	struct server s;
	server_start(&s, 0);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/otel", s.port);
	char *data = h_path(dir, "otlp.data"), *err = NULL;
	char *argv[] = {CS_EXE, "record", "-o", data, "--push-interval", "1", "--push-format",
			"otlp", "--app", "csamptest", "--labels", "env=test,host=h1", "--push", url,
			"--", TARGET("cs_t_cpu3"), "4", NULL};
	int st = h_run(argv, 90, NULL, &err);
	server_stop(&s);
	cr_assert_eq(st, 0, "record --push-format otlp failed: %s", err);
	struct pushline pl;
	cr_assert(parse_summary(err, &pl), "no push summary in:\n%s", err);
	cr_expect_eq(pl.sent, pl.windows, "%s", err);
	cr_assert(s.n >= 4 && s.n <= 6, "%d requests", s.n);
	uint64_t sum = 0, prev_end = 0;
	int hot = 0;
	for (int i = 0; i < s.n; i++) {
		const struct req *r = &s.req[i];
		cr_assert_str_eq(r->line, "POST /otel/v1development/profiles HTTP/1.1");
		cr_expect_str_eq(r->ctype, "application/x-protobuf");
		cr_assert(r->body && r->len > 0, "window %d has no body", i);
		struct otlp_window w;
		ot_request(r->body, r->len, &w);
		cr_expect_str_eq(w.service, "csamptest");
		cr_expect_str_eq(w.env, "test");
		cr_expect_str_eq(w.host, "h1");
		cr_expect(w.threads_named, "window %d: a sample without thread.name", i);
		cr_assert_eq(w.period, 1000000000ull / 99, "period %llu", (unsigned long long)w.period);
		cr_assert_eq(w.values % w.period, 0, "values are whole periods");
		cr_expect(w.time_ns > 1600000000ull * 1000000000ull && w.duration_ns > 0 &&
			      w.duration_ns < 3000000000ull,
			  "window %d: time %llu duration %llu", i, (unsigned long long)w.time_ns,
			  (unsigned long long)w.duration_ns);
		if (i) { /* contiguous, to within the clocks' reading */
			int64_t gap = (int64_t)(w.time_ns - prev_end);
			cr_expect(gap > -50000000 && gap < 50000000, "window %d begins %lld ns off",
				  i, (long long)gap);
		}
		prev_end = w.time_ns + w.duration_ns;
		sum += w.values / w.period;
		/* cpu3 spends its CPU 3:2:1 in burn_a, burn_b, burn_c: burn_a has half */
		hot += w.values && w.hot_value * 10 > w.values * 3 && w.hot_value * 4 < w.values * 3;
	}
	uint64_t whole = recorded(data);
	cr_assert(whole > 50, "whole recording: %llu samples", (unsigned long long)whole);
	cr_expect_eq(sum, whole, "windows %llu samples, whole recording %llu",
		     (unsigned long long)sum, (unsigned long long)whole);
	cr_expect(hot >= s.n - 1, "burn_a is the hot leaf in %d of %d windows", hot, s.n);
	server_free(&s);
	free(err);
	free(data);
}

/* Without -o csampler keeps only the current window (memory bounded over days): the
 * trie, threads that ended and processes are dropped after each window, and the
 * unwinders of unloaded libraries are freed. The windows must still add up to the
 * samples the summary counts, and code in a library loaded and unloaded by every
 * short-lived thread must still be named. */
Test(push, window_only_churn)
{
	struct server s;
	server_start(&s, 0);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.port);
	char *err = NULL;
	char *argv[] = {CS_EXE, "record", "--push-interval", "1", "--push-format", "otlp",
			"--push", url, "--", TARGET("cs_t_spawner"),
			TARGET("libcs_t_plugin.so"), "4", NULL};
	int st = h_run(argv, 90, NULL, &err);
	server_stop(&s);
	cr_assert_eq(st, 0, "record --push failed: %s", err);
	struct pushline pl;
	cr_assert(parse_summary(err, &pl), "no push summary in:\n%s", err);
	cr_expect_eq(pl.sent, pl.windows, "%s", err);
	unsigned long long summary = 0;
	const char *sl = strstr(err, " s: ");
	cr_assert(sl && sscanf(sl, " s: %llu samples", &summary) == 1, "no sample count in %s",
		  err);
	cr_assert(s.n >= 4 && s.n <= 6, "%d requests", s.n);
	uint64_t sum = 0;
	int plugin = 0;
	for (int i = 0; i < s.n; i++) {
		struct otlp_window w;
		ot_request(s.req[i].body, s.req[i].len, &w);
		sum += w.period ? w.values / w.period : 0;
		plugin += w.plugin_value > 0;
	}
	cr_assert(summary > 20, "%llu samples", summary);
	cr_expect_eq(sum, summary, "windows %llu samples, summary %llu", (unsigned long long)sum,
		     summary);
	cr_expect(plugin >= s.n - 2, "plugin_inner named in %d of %d windows", plugin, s.n);
	server_free(&s);
	free(err);
}

Test(push, otlp_format_refused)
{
	char *err = NULL;
	char *argv[] = {CS_EXE, "record", "--push", "http://127.0.0.1:9", "--push-format", "jfr",
			"--", "true", NULL};
	int st = h_run(argv, 30, NULL, &err);
	cr_expect_neq(st, 0);
	cr_expect(err && strstr(err, "csampler record: --push-format needs"), "%s",
		  err ? err : "");
	free(err);
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
