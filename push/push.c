/* push.c - the push thread and its HTTP/1.1 client (see push.h). */
#include "push.h"
#include "util/buf.h"
#include "render/view.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct window {
	char *body; /* the gzip'd pprof, or the OTLP request */
	size_t len;
	uint64_t from_s, until_s;
	unsigned tries;
};

struct cs_pusher {
	char host[256], port[8], prefix[512];
	char name[1024]; /* APP{labels}, percent-encoded */
	int format;	 /* enum cs_push_format */
	char *app, *labels; /* OTLP: resource attributes (NULL: none given) */
	int timeout_ms;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct window q[CS_PUSH_QUEUE_MAX];
	size_t head, n;
	int stopping;		/* finish: send what is queued until flush_deadline */
	uint64_t flush_deadline;
	uint64_t hard_stop; /* atomic: a send in flight gives up then (0: never) */
	struct cs_push_stats st;
};

/* ---- options ---- */

static int parse_url(const char *url, char *host, size_t hl, char *port, size_t pl, char *prefix,
		     size_t xl, char *why, size_t wl)
{
	if (!strncmp(url, "https://", 8)) {
		snprintf(why, wl, "--push: https is not supported (csampler links no TLS library); "
				  "use http:// or a local TLS proxy");
		return -1;
	}
	if (strncmp(url, "http://", 7)) {
		snprintf(why, wl, "--push needs an http://HOST[:PORT] URL, not '%s'", url);
		return -1;
	}
	const char *h = url + 7, *slash = strchr(h, '/');
	size_t len = slash ? (size_t)(slash - h) : strlen(h);
	const char *hs = h, *he, *colon; /* host from hs to he; the port after colon */
	if (h[0] == '[') { /* [IPv6]:PORT */
		const char *rb = memchr(h, ']', len);
		if (!rb)
			goto nohost;
		hs = h + 1;
		he = rb;
		colon = rb + 1 < h + len && rb[1] == ':' ? rb + 1 : NULL;
		if (!colon && rb + 1 != h + len)
			goto nohost;
	} else {
		colon = memchr(h, ':', len);
		he = colon ? colon : h + len;
	}
	if (he <= hs || (size_t)(he - hs) >= hl)
		goto nohost;
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = 0;
	snprintf(port, pl, "80");
	if (colon) {
		const char *pp = colon + 1;
		size_t plen = (size_t)(h + len - pp);
		char *end;
		long v = strtol(pp, &end, 10);
		if (!plen || end != pp + plen || v < 1 || v > 65535) {
			snprintf(why, wl, "--push: bad port in '%s'", url);
			return -1;
		}
		snprintf(port, pl, "%ld", v);
	}
	const char *pre = slash ? slash : "";
	size_t prl = strlen(pre);
	while (prl && pre[prl - 1] == '/')
		prl--;
	if (prl >= xl || strpbrk(pre, "?# \r\n")) {
		snprintf(why, wl, "--push: unusable path in '%s'", url);
		return -1;
	}
	memcpy(prefix, pre, prl);
	prefix[prl] = 0;
	return 0;
nohost:
	snprintf(why, wl, "--push: no host in '%s'", url);
	return -1;
}

static int name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/* "k=v,k=v" -> "{k=v,k=v}"; keys and values are names (letters, digits, _ . -). */
static int check_labels(const char *labels, char *why, size_t wl)
{
	const char *s = labels;
	while (*s) {
		const char *eq = strchr(s, '='), *end = strchr(s, ',');
		if (!end)
			end = s + strlen(s);
		if (!eq || eq > end || eq == s || eq + 1 == end)
			goto bad;
		for (const char *c = s; c < end; c++)
			if (c != eq && !name_char_ok(*c))
				goto bad;
		s = *end ? end + 1 : end;
		if (*end && !*s)
			goto bad;
	}
	return 0;
bad:
	snprintf(why, wl, "--labels needs KEY=VALUE[,KEY=VALUE...] of letters, digits, '_', "
			  "'.' and '-', not '%s'",
		 labels);
	return -1;
}

int cs_push_format_parse(const char *s)
{
	return !strcmp(s, "pyroscope") ? CS_PUSH_PYROSCOPE : !strcmp(s, "otlp") ? CS_PUSH_OTLP : -1;
}

int cs_push_check(const struct cs_push_opts *o, char *why, size_t wl)
{
	char host[256], port[8], prefix[512];
	if (parse_url(o->url, host, sizeof(host), port, sizeof(port), prefix, sizeof(prefix), why,
		      wl) < 0)
		return -1;
	if (o->app) {
		if (!o->app[0] || strlen(o->app) > 200)
			goto badapp;
		for (const char *c = o->app; *c; c++)
			if (!name_char_ok(*c))
				goto badapp;
	}
	if (o->labels && strlen(o->labels) > 600) {
		snprintf(why, wl, "--labels: too long (at most 600 characters)");
		return -1;
	}
	return o->labels ? check_labels(o->labels, why, wl) : 0;
badapp:
	snprintf(why, wl, "--app needs a name of letters, digits, '_', '.' and '-', not '%s'",
		 o->app);
	return -1;
}

/* ---- HTTP ---- */

/* deadline, or earlier when the recording has ended and the flush time is over. Waits
 * are cut into pieces of at most 100 ms so that a send in flight notices. */
static uint64_t limit(const struct cs_pusher *ps, uint64_t deadline)
{
	uint64_t hard = __atomic_load_n(&ps->hard_stop, __ATOMIC_RELAXED);
	return hard && hard < deadline ? hard : deadline;
}

/* Milliseconds to wait in poll before deadline: 0 when it passed, at most 100. */
static int wait_ms(uint64_t deadline)
{
	uint64_t now = cs_now_ns();
	if (now >= deadline)
		return 0;
	uint64_t ms = (deadline - now) / 1000000 + 1;
	return ms > 100 ? 100 : (int)ms;
}

/* Connect with a timeout; -1 with why set. */
static int dial(const struct cs_pusher *ps, char *why, size_t wl)
{
	struct addrinfo hints, *ai = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	int rc = getaddrinfo(ps->host, ps->port, &hints, &ai);
	if (rc) {
		snprintf(why, wl, "cannot resolve '%.64s': %s", ps->host, gai_strerror(rc));
		return -1;
	}
	int fd = -1, err = 0;
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			struct pollfd pf = {fd, POLLOUT, 0};
			socklen_t sl = sizeof(err);
			uint64_t deadline = cs_now_ns() + (uint64_t)ps->timeout_ms * 1000000ull;
			int ms, ready = 0;
			err = 0;
			while (!ready && (ms = wait_ms(limit(ps, deadline))) > 0)
				ready = poll(&pf, 1, ms) == 1;
			if (ready && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == 0 && !err)
				break;
			if (!err)
				err = ETIMEDOUT;
		} else {
			err = errno;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		snprintf(why, wl, "cannot connect to %.64s:%s: %s", ps->host, ps->port, strerror(err));
	return fd;
}

/* Write all of buf before deadline (cs_now_ns). */
static int send_all(const struct cs_pusher *ps, int fd, const char *buf, size_t len,
		    uint64_t deadline)
{
	while (len) {
		ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);
		if (w > 0) {
			buf += w;
			len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		int ms = wait_ms(limit(ps, deadline));
		if (!ms) {
			errno = ETIMEDOUT;
			return -1;
		}
		struct pollfd pf = {fd, POLLOUT, 0};
		poll(&pf, 1, ms);
	}
	return 0;
}

/* POST one window; 0 when the server answered 2xx, else -1 with why set. */
static int post(struct cs_pusher *ps, const struct window *w, char *why, size_t wl)
{
	static const char boundary[] = "csampler-8a3f61c0d94e27b5";
	char head[2048], part[256] = "", tail[64] = "";
	int pl = 0, tl = 0, hl;
	if (ps->format == CS_PUSH_OTLP) {
		hl = snprintf(head, sizeof(head),
			      "POST %s/v1development/profiles HTTP/1.1\r\nHost: %s%s%s\r\n"
			      "User-Agent: csampler\r\nContent-Type: application/x-protobuf\r\n"
			      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			      ps->prefix, ps->host, strcmp(ps->port, "80") ? ":" : "",
			      strcmp(ps->port, "80") ? ps->port : "", w->len);
		goto send;
	}
	pl = snprintf(part, sizeof(part),
			  "--%s\r\nContent-Disposition: form-data; name=\"profile\"; "
			  "filename=\"profile.pprof\"\r\nContent-Type: application/octet-stream\r\n\r\n",
			  boundary);
	tl = snprintf(tail, sizeof(tail), "\r\n--%s--\r\n", boundary);
	hl = snprintf(head, sizeof(head),
			  "POST %s/ingest?name=%s&from=%llu&until=%llu&format=pprof&spyName=csampler "
			  "HTTP/1.1\r\nHost: %s%s%s\r\nUser-Agent: csampler\r\n"
			  "Content-Type: multipart/form-data; boundary=%s\r\n"
			  "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			  ps->prefix, ps->name, (unsigned long long)w->from_s,
			  (unsigned long long)w->until_s, ps->host, strcmp(ps->port, "80") ? ":" : "",
			  strcmp(ps->port, "80") ? ps->port : "", boundary,
			  (size_t)pl + w->len + (size_t)tl);
send:
	if (hl < 0 || (size_t)hl >= sizeof(head)) {
		snprintf(why, wl, "request too long");
		return -1;
	}
	int fd = dial(ps, why, wl);
	if (fd < 0)
		return -1;
	uint64_t deadline = cs_now_ns() + (uint64_t)ps->timeout_ms * 1000000ull;
	int ret = -1;
	if (send_all(ps, fd, head, (size_t)hl, deadline) < 0 ||
	    (pl && send_all(ps, fd, part, (size_t)pl, deadline) < 0) ||
	    send_all(ps, fd, w->body, w->len, deadline) < 0 ||
	    (tl && send_all(ps, fd, tail, (size_t)tl, deadline) < 0)) {
		snprintf(why, wl, "sending to %.64s:%s: %s", ps->host, ps->port, strerror(errno));
		goto out;
	}
	/* The status line is enough: "HTTP/1.x NNN". */
	char resp[256];
	size_t got = 0;
	while (got < sizeof(resp) - 1 && !memchr(resp, '\n', got)) {
		int ms = wait_ms(limit(ps, deadline));
		if (!ms) {
			snprintf(why, wl, "no answer from %.64s:%s within %d ms", ps->host, ps->port,
				 ps->timeout_ms);
			goto out;
		}
		struct pollfd pf = {fd, POLLIN, 0};
		if (poll(&pf, 1, ms) <= 0)
			continue;
		ssize_t r = recv(fd, resp + got, sizeof(resp) - 1 - got, 0);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			snprintf(why, wl, "reading from %.64s:%s: %s", ps->host, ps->port,
				 strerror(errno));
			goto out;
		}
		got += (size_t)r;
	}
	resp[got] = 0;
	int code = 0;
	if (sscanf(resp, "HTTP/%*d.%*d %d", &code) != 1) {
		snprintf(why, wl, "no HTTP answer from %.64s:%s", ps->host, ps->port);
		goto out;
	}
	if (code < 200 || code > 299) {
		char *eol = strpbrk(resp, "\r\n");
		if (eol)
			*eol = 0;
		snprintf(why, wl, "%.64s:%s answered '%.40s'", ps->host, ps->port, resp);
		goto out;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

/* ---- the queue and the thread ---- */

static void drop_head(struct cs_pusher *ps)
{
	free(ps->q[ps->head].body);
	ps->head = (ps->head + 1) % CS_PUSH_QUEUE_MAX;
	ps->n--;
	ps->st.dropped++;
}

static void timed_wait(struct cs_pusher *ps, uint64_t until_mono_ns)
{
	/* the condition variable's clock is CLOCK_MONOTONIC (see cs_pusher_new) */
	struct timespec ts = {(time_t)(until_mono_ns / 1000000000ull),
			      (long)(until_mono_ns % 1000000000ull)};
	pthread_cond_timedwait(&ps->cv, &ps->mu, &ts);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *push_main(void *arg)
{
	struct cs_pusher *ps = arg;
	uint64_t next_try = 0; /* back off after a failure: no attempt before this */
	unsigned backoff_ms = 0;
	pthread_mutex_lock(&ps->mu);
	for (;;) {
		uint64_t now = mono_ns();
		if (ps->stopping && (!ps->n || now >= ps->flush_deadline))
			break;
		if (!ps->n || now < next_try) {
			uint64_t until = ps->n ? next_try : now + 1000000000ull;
			if (ps->stopping && until > ps->flush_deadline)
				until = ps->flush_deadline;
			timed_wait(ps, until);
			continue;
		}
		/* Send the oldest without the lock: the recorder may queue meanwhile. */
		struct window w = ps->q[ps->head];
		ps->q[ps->head].body = NULL; /* ours while sending */
		pthread_mutex_unlock(&ps->mu);
		char why[160] = "";
		int ok = post(ps, &w, why, sizeof(why)) == 0;
		pthread_mutex_lock(&ps->mu);
		/* The queue may have dropped its head (this window) while we sent. */
		int still = ps->n && ps->q[ps->head].body == NULL;
		if (ok) {
			ps->st.sent++;
			backoff_ms = 0;
			next_try = 0;
			if (still) {
				ps->head = (ps->head + 1) % CS_PUSH_QUEUE_MAX;
				ps->n--;
			}
			free(w.body);
			continue;
		}
		snprintf(ps->st.last_error, sizeof(ps->st.last_error), "%s", why);
		w.tries++;
		if (!still) {
			free(w.body); /* already counted as dropped */
		} else if (w.tries >= CS_PUSH_MAX_TRIES) {
			ps->q[ps->head].body = w.body;
			drop_head(ps);
		} else {
			ps->st.retried++;
			ps->q[ps->head] = w;
		}
		/* 0.5 s, 1, 2, 4 ... at most 30 s; at the end, no pause beyond the deadline */
		backoff_ms = backoff_ms ? backoff_ms * 2 : 500;
		if (backoff_ms > 30000)
			backoff_ms = 30000;
		next_try = mono_ns() + (uint64_t)backoff_ms * 1000000ull;
	}
	pthread_mutex_unlock(&ps->mu);
	return NULL;
}

/* Percent-encode s onto out (names are checked: only '{', '}', '=' and ',' need it). */
static void pct_append(char *out, size_t cap, const char *s)
{
	size_t n = strlen(out);
	for (; *s && n + 4 < cap; s++) {
		if (name_char_ok(*s))
			out[n++] = *s;
		else
			n += (size_t)snprintf(out + n, cap - n, "%%%02X", (unsigned char)*s);
	}
	out[n] = 0;
}

struct cs_pusher *cs_pusher_new(const struct cs_push_opts *o)
{
	char why[256];
	if (cs_push_check(o, why, sizeof(why)) < 0) {
		cs_error("%s", why);
		return NULL;
	}
	struct cs_pusher *ps = cs_xcalloc(1, sizeof(*ps));
	parse_url(o->url, ps->host, sizeof(ps->host), ps->port, sizeof(ps->port), ps->prefix,
		  sizeof(ps->prefix), why, sizeof(why));
	char raw[1024];
	snprintf(raw, sizeof(raw), "%s%s%s%s", o->app ? o->app : "csampler",
		 o->labels && o->labels[0] ? "{" : "", o->labels ? o->labels : "",
		 o->labels && o->labels[0] ? "}" : "");
	pct_append(ps->name, sizeof(ps->name), raw);
	ps->format = o->format;
	ps->app = o->app ? cs_xstrdup(o->app) : NULL;
	ps->labels = o->labels ? cs_xstrdup(o->labels) : NULL;
	/* A request may take up to one interval (at least 2 s, at most 10 s). */
	double t = o->interval_s;
	ps->timeout_ms = (int)((t < 2 ? 2 : t > 10 ? 10 : t) * 1000);
	pthread_mutex_init(&ps->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ps->cv, &ca);
	pthread_condattr_destroy(&ca);
	int rc = pthread_create(&ps->thread, NULL, push_main, ps);
	if (rc) {
		cs_error("cannot start the push thread: %s", strerror(rc));
		free(ps->app);
		free(ps->labels);
		pthread_cond_destroy(&ps->cv);
		pthread_mutex_destroy(&ps->mu);
		free(ps);
		return NULL;
	}
	return ps;
}

int cs_pusher_add(struct cs_pusher *ps, const struct cs_profile *window, uint64_t from_ns,
		  uint64_t until_ns)
{
	char *body = NULL;
	size_t len = 0;
	int bad = 0;
	if (ps->format == CS_PUSH_OTLP) {
		struct cs_buf b;
		cs_buf_init(&b);
		bad = cs_otlp_encode(window, ps->app, ps->labels, &b) < 0;
		body = (char *)b.p; /* the buffer's bytes are ours now */
		len = b.n;
	} else {
		FILE *f = open_memstream(&body, &len);
		struct cs_view_opts vo;
		memset(&vo, 0, sizeof(vo));
		bad = !f || cs_render_pprof(window, &vo, f) < 0;
		if (f && fclose(f) != 0)
			bad = 1;
	}
	pthread_mutex_lock(&ps->mu);
	ps->st.windows++;
	if (bad) {
		ps->st.dropped++;
		pthread_mutex_unlock(&ps->mu);
		free(body);
		return -1;
	}
	if (ps->n == CS_PUSH_QUEUE_MAX) {
		/* the oldest goes; if it is being sent, the thread frees it */
		if (ps->q[ps->head].body == NULL) {
			ps->head = (ps->head + 1) % CS_PUSH_QUEUE_MAX;
			ps->n--;
			ps->st.dropped++;
		} else {
			drop_head(ps);
		}
	}
	struct window w = {body, len, from_ns / 1000000000ull, until_ns / 1000000000ull, 0};
	ps->q[(ps->head + ps->n) % CS_PUSH_QUEUE_MAX] = w;
	ps->n++;
	pthread_cond_signal(&ps->cv);
	pthread_mutex_unlock(&ps->mu);
	return 0;
}

void cs_pusher_stats(struct cs_pusher *ps, struct cs_push_stats *st)
{
	pthread_mutex_lock(&ps->mu);
	*st = ps->st;
	st->queued = ps->n;
	pthread_mutex_unlock(&ps->mu);
}

void cs_pusher_finish(struct cs_pusher *ps, double flush_s, struct cs_push_stats *st)
{
	if (!ps)
		return;
	pthread_mutex_lock(&ps->mu);
	ps->stopping = 1;
	ps->flush_deadline = mono_ns() + (uint64_t)(flush_s * 1e9);
	__atomic_store_n(&ps->hard_stop, ps->flush_deadline ? ps->flush_deadline : 1,
			 __ATOMIC_RELAXED);
	pthread_cond_signal(&ps->cv);
	pthread_mutex_unlock(&ps->mu);
	pthread_join(ps->thread, NULL);
	while (ps->n)
		drop_head(ps);
	if (st) {
		*st = ps->st;
		st->queued = 0;
	}
	pthread_cond_destroy(&ps->cv);
	pthread_mutex_destroy(&ps->mu);
	free(ps->app);
	free(ps->labels);
	free(ps);
}
