/* push.h - continuous mode: send window profiles to a server that speaks Grafana
 * Pyroscope's ingest API, from a thread of its own so that a slow or dead server never
 * holds up sampling.
 *
 *   recorder --(window profile)--> cs_pusher_add: encode pprof, queue (bounded)
 *                                        |  push thread
 *                                        v
 *        POST URL/ingest?name=APP{k=v,...}&from=S&until=S&format=pprof
 *        body: multipart/form-data, field "profile" = the gzip'd pprof
 *
 * or, with --push-format otlp, to an OpenTelemetry Collector (OTLP/HTTP, profiles signal):
 *
 *        POST URL/v1development/profiles
 *        body: application/x-protobuf, an ExportProfilesServiceRequest (otlp.c)
 *
 * Plain http:// only: https needs a TLS library, which csampler does not link.
 * A window that fails is retried with a growing pause; when the queue is full the
 * oldest window is dropped. Every outcome is counted (cs_pusher_stats).
 */
#ifndef CS_PUSH_H
#define CS_PUSH_H

#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"

/* Windows waiting to be sent, at most. */
#define CS_PUSH_QUEUE_MAX 6
/* Attempts per window before it is dropped. */
#define CS_PUSH_MAX_TRIES 4

enum cs_push_format {
	CS_PUSH_PYROSCOPE = 0, /* Pyroscope's /ingest, pprof */
	CS_PUSH_OTLP,	       /* OTLP/HTTP profiles (Alpha signal, v1development) */
};

struct cs_push_opts {
	const char *url;    /* http://HOST[:PORT][/PREFIX] */
	int format;	    /* enum cs_push_format */
	const char *app;    /* application name (NULL: "csampler") */
	const char *labels; /* "k=v,k=v" or NULL */
	double interval_s;  /* seconds between windows: sets the request timeout */
};

struct cs_push_stats {
	uint64_t windows;  /* handed to the pusher */
	uint64_t sent;	   /* accepted by the server (2xx) */
	uint64_t retried;  /* attempts that failed and were tried again */
	uint64_t dropped;  /* given up: queue full, too many tries, or unsent at the end */
	uint64_t queued;   /* waiting now */
	char last_error[160]; /* the last failure, or "" */
};

struct cs_pusher;

/* "pyroscope" or "otlp" -> enum cs_push_format, or -1. */
int cs_push_format_parse(const char *s);

/* Encode window (see cs_pusher_add) as an OTLP ExportProfilesServiceRequest into out
 * (emptied first): resource attributes service.name = app (NULL: "csampler"), the
 * labels ("k=v,k=v", checked by cs_push_check, or NULL), host.name and process.pid;
 * one profile of cpu/nanoseconds samples with thread.name, thread.id and process.pid
 * attributes. Returns 0. (otlp.c) */
struct cs_buf;
int cs_otlp_encode(const struct cs_profile *window, const char *app, const char *labels,
		   struct cs_buf *out);

/* Check a URL, app name and labels as cs_pusher_new would. Returns 0, or -1 with a
 * message (without "csampler:") in why. */
int cs_push_check(const struct cs_push_opts *o, char *why, size_t why_len);
/* Start the push thread. Returns NULL after one error line. */
struct cs_pusher *cs_pusher_new(const struct cs_push_opts *o);
/* Encode window (a profile of the samples from from_ns to until_ns, Unix time in ns)
 * as pprof (or OTLP) and queue it; the caller keeps and frees window. Never blocks on the
 * network. Returns 0, or -1 when the window could not be encoded (counted as dropped). */
int cs_pusher_add(struct cs_pusher *ps, const struct cs_profile *window, uint64_t from_ns,
		  uint64_t until_ns);
void cs_pusher_stats(struct cs_pusher *ps, struct cs_push_stats *st);
/* Try to send what is queued for up to flush_s seconds, then stop the thread; what is
 * still queued is counted as dropped. Then free. NULL is ignored. */
void cs_pusher_finish(struct cs_pusher *ps, double flush_s, struct cs_push_stats *st);

#endif
