/* recording.c - the csampler recording file.
 *
 * Layout (all integers little endian):
 *   header  : magic "CSAMPLER" | u32 version | u32 header_size | u64 features | u64 0
 *   section*: u32 type | u32 flags | u64 raw_size | u64 stored_size | u32 crc32(raw) | u32 0
 *             followed by stored_size bytes (zlib-compressed when flags & 1)
 *   the last section has type END and no payload; its crc field holds the CRC-32 of every
 *   byte before it, so a file without it is truncated and any damage is detected.
 * Sections the reader does not know are skipped. Inside a section, fields are LEB128
 * varints and length-prefixed strings; every index is checked against its table.
 */
#include "profile.h"
#include "util/buf.h"
#include "util/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define MAGIC "CSAMPLER"
#define VERSION 1
#define HEADER_SIZE 32
#define SECTION_HEADER 32
#define FLAG_ZLIB 1u
#define MAX_SECTION_RAW (1ull << 32)

enum {
	SEC_META = 1,
	SEC_STRINGS = 2,
	SEC_MODULES = 3,
	SEC_FRAMES = 4,
	SEC_NODES = 5,
	SEC_THREADS = 6,
	SEC_SAMPLES = 7,
	SEC_TIMELINE = 8,
	SEC_STATS = 9,
	SEC_LEAKS = 10,	 /* version 1 of the leak snapshots: outstanding bytes only */
	SEC_LEAKS2 = 20, /* leak snapshots with totals, their processes, the heap timeline */
	SEC_TIMES = 21,	 /* record --wall: off-CPU time per stack and thread, thread spans */
	SEC_END = 0x454e44,
};

/* LEAKS2 is made of records that each start with their number of fields, then the
 * fields as varints: a reader takes the fields it knows and skips the rest, so later
 * versions append fields without breaking it. Times are in microseconds. */
enum { LP_PID, LP_PPID, LP_COMMAND, LP_FLAGS, LP_START_US, LP_END_US, LP_N };
enum {
	LS_TIME_US,
	LS_FLAGS, /* 1 exact, 2 sampled, 4 totals, 8 final */
	LS_SAMPLE_BYTES,
	LS_PRE_ATTACH_FREES,
	LS_PROCESS,
	LS_ALLOCS,
	LS_FREES,
	LS_TEMPORARY,
	LS_ALLOC_BYTES,
	LS_PEAK_BYTES,
	LS_PEAK_US,
	LS_N
};
enum { LI_STACK, LI_BYTES, LI_BLOCKS, LI_AGE_NS, LI_ALLOCS, LI_ALLOC_BYTES, LI_TEMPORARY,
       LI_PEAK_BYTES, LI_N };
enum { LH_T_MS, LH_PROCESS, LH_BYTES, LH_ALLOCS, LH_N };
/* TIMES is made of such records too: one header, then threads, then off-CPU rows. A
 * reader that knows no TIMES reads the CPU samples alone, a CPU profile. */
enum { TH_CPU_PERIOD_NS, TH_N };
enum { TT_THREAD, TT_SPAN_NS, TT_ONCPU_NS, TT_N };
enum { TO_STACK, TO_THREAD, TO_KIND, TO_NS, TO_N };
#define MAX_FIELDS 256

/* Tagged fields of META and STATS: uv tag, uv kind (0 = uv, 1 = sv), value. */
enum {
	M_SOURCE = 1,
	M_COMMAND,
	M_HOSTNAME,
	M_KERNEL,
	M_EVENT,
	M_ARCH,
	M_PID,
	M_START,
	M_HZ,
	M_STACK_SIZE,
};

static void put_tag(struct cs_buf *b, uint64_t tag, uint64_t v)
{
	cs_buf_put_uv(b, tag);
	cs_buf_put_uv(b, 0);
	cs_buf_put_uv(b, v);
}

static void put_stag(struct cs_buf *b, uint64_t tag, int64_t v)
{
	cs_buf_put_uv(b, tag);
	cs_buf_put_uv(b, 1);
	cs_buf_put_sv(b, v);
}

static void enc_meta(const struct cs_profile *p, struct cs_buf *b)
{
	const struct cs_meta *m = &p->meta;
	put_tag(b, M_SOURCE, m->source);
	put_tag(b, M_COMMAND, m->command);
	put_tag(b, M_HOSTNAME, m->hostname);
	put_tag(b, M_KERNEL, m->kernel);
	put_tag(b, M_EVENT, m->event);
	put_tag(b, M_ARCH, m->arch);
	put_stag(b, M_PID, m->pid);
	put_tag(b, M_START, m->start_unix_ns);
	put_tag(b, M_HZ, m->hz);
	put_tag(b, M_STACK_SIZE, m->stack_size);
}

/* STATS fields in order: tag i+1 is the i-th uint64 of struct cs_stats. */
#define NSTATS (sizeof(struct cs_stats) / sizeof(uint64_t))

static void enc_stats(const struct cs_profile *p, struct cs_buf *b)
{
	uint64_t v[NSTATS];
	memcpy(v, &p->stats, sizeof(v));
	for (size_t i = 0; i < NSTATS; i++)
		put_tag(b, i + 1, v[i]);
}

static void enc_strings(const struct cs_profile *p, struct cs_buf *b)
{
	cs_buf_put_uv(b, p->strs.n);
	for (size_t i = 0; i < p->strs.n; i++)
		cs_buf_put_str(b, cs_str(p, (uint32_t)i), cs_strlen(p, (uint32_t)i));
}

static void enc_modules(const struct cs_profile *p, struct cs_buf *b)
{
	cs_buf_put_uv(b, p->modules.n);
	for (size_t i = 0; i < p->modules.n; i++) {
		const struct cs_module *m = &p->modules.v[i];
		cs_buf_put_uv(b, m->path);
		cs_buf_put_uv(b, m->name);
		cs_buf_put_uv(b, m->flags);
		cs_buf_put_str(b, (const char *)m->build_id, m->build_id_len);
	}
}

static void enc_frames(const struct cs_profile *p, struct cs_buf *b)
{
	cs_buf_put_uv(b, p->frames.n);
	for (size_t i = 0; i < p->frames.n; i++) {
		const struct cs_frame *f = &p->frames.v[i];
		cs_buf_put_uv(b, f->func);
		cs_buf_put_uv(b, f->file);
		cs_buf_put_uv(b, f->line);
		cs_buf_put_uv(b, f->module == CS_NONE ? 0 : (uint64_t)f->module + 1);
		cs_buf_put_uv(b, f->flags);
		cs_buf_put_uv(b, f->addr);
	}
}

static void enc_nodes(const struct cs_profile *p, struct cs_buf *b)
{
	cs_buf_put_uv(b, p->nodes.n - 1);
	for (size_t i = 1; i < p->nodes.n; i++) {
		cs_buf_put_uv(b, p->nodes.v[i].frame);
		cs_buf_put_uv(b, i - p->nodes.v[i].parent); /* parents always come first */
	}
}

static void enc_threads(const struct cs_profile *p, struct cs_buf *b)
{
	cs_buf_put_uv(b, p->threads.n);
	for (size_t i = 0; i < p->threads.n; i++) {
		const struct cs_thread *t = &p->threads.v[i];
		cs_buf_put_uv(b, t->pid);
		cs_buf_put_uv(b, t->tid);
		cs_buf_put_uv(b, t->name);
		cs_buf_put_uv(b, t->process);
	}
}

/* CPU samples only: off-CPU time goes to TIMES. */
static void enc_samples(const struct cs_profile *p, struct cs_buf *b)
{
	size_t n = 0;
	for (size_t i = 0; i < p->samples.n; i++)
		n += p->samples.v[i].kind == CS_TIME_CPU;
	cs_buf_put_uv(b, n);
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct cs_sample *s = &p->samples.v[i];
		if (s->kind != CS_TIME_CPU)
			continue;
		cs_buf_put_uv(b, s->stack);
		cs_buf_put_uv(b, s->thread);
		cs_buf_put_uv(b, s->count);
	}
}

static void enc_timeline(const struct cs_profile *p, struct cs_buf *b)
{
	cs_buf_put_uv(b, p->timeline.n);
	for (size_t i = 0; i < p->timeline.n; i++) {
		const struct cs_tick *t = &p->timeline.v[i];
		cs_buf_put_uv(b, t->t_ms);
		cs_buf_put_uv(b, t->rss);
		cs_buf_put_uv(b, t->threads);
		cs_buf_put_uv(b, t->fds);
		cs_buf_put_f64(b, t->cpu_pct);
		cs_buf_put_uv(b, t->samples);
	}
}

/* Version 1, for readers that know no other: the first process's snapshots and their
 * sites with outstanding blocks (LEAKS2 holds everything). */
static void enc_leaks(const struct cs_profile *p, struct cs_buf *b)
{
	size_t n = 0;
	for (size_t i = 0; i < p->leaks.n; i++)
		n += p->leaks.v[i].process == 0;
	cs_buf_put_uv(b, n);
	for (size_t i = 0; i < p->leaks.n; i++) {
		const struct cs_leak_snapshot *s = &p->leaks.v[i];
		if (s->process != 0)
			continue;
		cs_buf_put_f64(b, s->time_s);
		cs_buf_put_uv(b, (uint64_t)s->exact | ((uint64_t)s->sampled << 1));
		cs_buf_put_uv(b, s->sample_bytes);
		cs_buf_put_uv(b, s->pre_attach_frees);
		size_t live = 0;
		for (size_t j = 0; j < s->sites.n; j++)
			live += s->sites.v[j].blocks != 0;
		cs_buf_put_uv(b, live);
		for (size_t j = 0; j < s->sites.n; j++) {
			const struct cs_leak_site *l = &s->sites.v[j];
			if (!l->blocks)
				continue;
			cs_buf_put_uv(b, l->stack);
			cs_buf_put_uv(b, l->bytes);
			cs_buf_put_uv(b, l->blocks);
			cs_buf_put_uv(b, l->oldest_age_ns);
		}
	}
}

static void put_fields(struct cs_buf *b, const uint64_t *v, size_t n)
{
	cs_buf_put_uv(b, n);
	for (size_t i = 0; i < n; i++)
		cs_buf_put_uv(b, v[i]);
}

static uint64_t to_us(double s)
{
	return s > 0 && s < 1e12 ? (uint64_t)(s * 1e6 + 0.5) : 0;
}

static void enc_leaks2(const struct cs_profile *p, struct cs_buf *b)
{
	cs_buf_put_uv(b, p->leak_procs.n);
	for (size_t i = 0; i < p->leak_procs.n; i++) {
		const struct cs_leak_process *q = &p->leak_procs.v[i];
		uint64_t v[LP_N] = {q->pid, q->ppid, q->command, q->flags, to_us(q->start_s),
				    to_us(q->end_s)};
		put_fields(b, v, LP_N);
	}
	cs_buf_put_uv(b, p->leaks.n);
	for (size_t i = 0; i < p->leaks.n; i++) {
		const struct cs_leak_snapshot *s = &p->leaks.v[i];
		uint64_t fl = (uint64_t)!!s->exact | (uint64_t)!!s->sampled << 1 |
			      (s->flags & CS_LEAK_TOTALS ? 4u : 0) | (s->flags & CS_LEAK_FINAL ? 8u : 0);
		uint64_t v[LS_N] = {to_us(s->time_s), fl,	  s->sample_bytes, s->pre_attach_frees,
				    s->process,	      s->allocs,  s->frees,	   s->temporary,
				    s->alloc_bytes,   s->peak_bytes, to_us(s->peak_time_s)};
		put_fields(b, v, LS_N);
		cs_buf_put_uv(b, s->sites.n);
		for (size_t j = 0; j < s->sites.n; j++) {
			const struct cs_leak_site *l = &s->sites.v[j];
			uint64_t w[LI_N] = {l->stack,	    l->bytes,	    l->blocks,
					    l->oldest_age_ns, l->allocs,   l->alloc_bytes,
					    l->temporary,   l->peak_bytes};
			put_fields(b, w, LI_N);
		}
	}
	cs_buf_put_uv(b, p->heap.n);
	for (size_t i = 0; i < p->heap.n; i++) {
		const struct cs_heap_point *h = &p->heap.v[i];
		uint64_t v[LH_N] = {h->t_ms, h->process, h->bytes, h->allocs};
		put_fields(b, v, LH_N);
	}
}

static void enc_times(const struct cs_profile *p, struct cs_buf *b)
{
	uint64_t h[TH_N] = {p->times.cpu_period_ns};
	put_fields(b, h, TH_N);
	cs_buf_put_uv(b, p->times.threads.n);
	for (size_t i = 0; i < p->times.threads.n; i++) {
		const struct cs_thread_time *t = &p->times.threads.v[i];
		uint64_t v[TT_N] = {i, t->span_ns, t->oncpu_ns};
		put_fields(b, v, TT_N);
	}
	size_t n = 0;
	for (size_t i = 0; i < p->samples.n; i++)
		n += p->samples.v[i].kind != CS_TIME_CPU;
	cs_buf_put_uv(b, n);
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct cs_sample *s = &p->samples.v[i];
		if (s->kind == CS_TIME_CPU)
			continue;
		uint64_t v[TO_N] = {s->stack, s->thread, s->kind, s->count};
		put_fields(b, v, TO_N);
	}
}

static int put_section(struct cs_buf *out, uint32_t type, const struct cs_buf *raw)
{
	uLongf zn = compressBound(raw->n);
	uint8_t *z = cs_xmalloc(zn);
	int zerr = compress2(z, &zn, raw->p ? raw->p : (const Bytef *)"", raw->n, 6);
	if (zerr != Z_OK) {
		free(z);
		return cs_error("cannot compress recording section %u: zlib error %d", type, zerr);
	}
	cs_buf_put_u32(out, type);
	cs_buf_put_u32(out, FLAG_ZLIB);
	cs_buf_put_u64(out, raw->n);
	cs_buf_put_u64(out, zn);
	cs_buf_put_u32(out, (uint32_t)crc32(0, raw->p ? raw->p : (const Bytef *)"", (uInt)raw->n));
	cs_buf_put_u32(out, 0);
	cs_buf_put(out, z, zn);
	free(z);
	return 0;
}

typedef void (*enc_fn)(const struct cs_profile *, struct cs_buf *);

/* The whole recording file into out. 0 or -1 after one error line. */
static int encode(const struct cs_profile *p, struct cs_buf *out)
{
	static const struct {
		uint32_t type;
		enc_fn fn;
	} secs[] = {
		{SEC_META, enc_meta},	    {SEC_STATS, enc_stats},	  {SEC_STRINGS, enc_strings},
		{SEC_MODULES, enc_modules}, {SEC_FRAMES, enc_frames},	  {SEC_NODES, enc_nodes},
		{SEC_THREADS, enc_threads}, {SEC_SAMPLES, enc_samples}, {SEC_TIMELINE, enc_timeline},
		{SEC_LEAKS, enc_leaks},	    {SEC_LEAKS2, enc_leaks2},	  {SEC_TIMES, enc_times},
	};
	struct cs_buf raw;
	int ret = -1;

	cs_buf_init(&raw);
	cs_buf_put(out, MAGIC, 8);
	cs_buf_put_u32(out, VERSION);
	cs_buf_put_u32(out, HEADER_SIZE);
	cs_buf_put_u64(out, 0);
	cs_buf_put_u64(out, 0);
	for (size_t i = 0; i < CS_ARRAY_SIZE(secs); i++) {
		if (secs[i].type == SEC_LEAKS2 && !p->leaks.n && !p->leak_procs.n && !p->heap.n)
			continue;
		if (secs[i].type == SEC_TIMES && !p->times.wall)
			continue;
		raw.n = 0;
		secs[i].fn(p, &raw);
		if (put_section(out, secs[i].type, &raw) < 0)
			goto out;
	}
	/* END: crc over everything before it. */
	uint32_t all = (uint32_t)crc32(0, out->p, (uInt)out->n);
	cs_buf_put_u32(out, SEC_END);
	cs_buf_put_u32(out, 0);
	cs_buf_put_u64(out, 0);
	cs_buf_put_u64(out, 0);
	cs_buf_put_u32(out, all);
	cs_buf_put_u32(out, 0);
	ret = 0;
out:
	cs_buf_release(&raw);
	return ret;
}

int cs_profile_write_to(const struct cs_profile *p, FILE *f)
{
	struct cs_buf out;
	cs_buf_init(&out);
	int ret = encode(p, &out);
	if (ret == 0 && out.n)
		fwrite(out.p, 1, out.n, f); /* errors show in ferror(f) */
	cs_buf_release(&out);
	return ret;
}

int cs_profile_write(const struct cs_profile *p, const char *path)
{
	struct cs_buf out;
	struct cs_outfile o;
	cs_buf_init(&out);
	int ret = encode(p, &out);
	if (ret == 0 && cs_outfile_open(&o, path, 0) < 0)
		ret = -1;
	else if (ret == 0 && cs_write_all(o.fd, out.p, out.n) < 0) {
		ret = !strcmp(path, "-") ? cs_error("cannot write recording to standard output: %s",
						    strerror(errno))
					 : cs_error("cannot write '%s': %s", path, strerror(errno));
		cs_outfile_abort(&o);
	} else if (ret == 0) {
		ret = cs_outfile_commit(&o);
	}
	cs_buf_release(&out);
	return ret;
}

int cs_profile_is_recording(const void *data, size_t n)
{
	return n >= 8 && !memcmp(data, MAGIC, 8);
}

/* ---- reading ---- */

struct dec {
	struct cs_profile *p;
	const char *name;
	uint32_t *str_map; /* file string id -> profile string id */
	size_t nstr;
	uint32_t *mod_map, *frame_map, *node_map, *thread_map;
	size_t nmod, nframe, nnode, nthread;
	unsigned seen; /* bit per section type < 32 */
};

static int corrupt(const struct dec *d, const char *what)
{
	return cs_error("'%s' is not a valid csampler recording (%s); record it again", d->name,
			what);
}

static uint32_t rd_str(struct cs_rd *r, const struct dec *d)
{
	uint64_t i = cs_rd_idx(r, d->nstr);
	return r->err ? 0 : d->str_map[i];
}

static int dec_tags(struct dec *d, struct cs_rd *r, int stats)
{
	uint64_t sv[NSTATS];
	memcpy(sv, &d->p->stats, sizeof(sv));
	while (cs_rd_left(r) && !r->err) {
		uint64_t tag = cs_rd_uv(r), kind = cs_rd_uv(r);
		uint64_t v = 0;
		int64_t s = 0;
		if (kind == 0)
			v = cs_rd_uv(r);
		else if (kind == 1)
			s = cs_rd_sv(r);
		else
			return corrupt(d, "unknown field kind");
		if (stats) {
			if (tag >= 1 && tag <= NSTATS)
				sv[tag - 1] = v;
			continue;
		}
		struct cs_meta *m = &d->p->meta;
		switch (tag) {
		case M_SOURCE: m->source = (uint32_t)v; break;
		case M_COMMAND: m->command = (uint32_t)v; break;
		case M_HOSTNAME: m->hostname = (uint32_t)v; break;
		case M_KERNEL: m->kernel = (uint32_t)v; break;
		case M_EVENT: m->event = (uint32_t)v; break;
		case M_ARCH: m->arch = (uint32_t)v; break;
		case M_PID: m->pid = s; break;
		case M_START: m->start_unix_ns = v; break;
		case M_HZ: m->hz = (uint32_t)v; break;
		case M_STACK_SIZE: m->stack_size = (uint32_t)v; break;
		default: break;
		}
	}
	if (r->err)
		return corrupt(d, stats ? "bad statistics" : "bad metadata");
	if (stats)
		memcpy(&d->p->stats, sv, sizeof(sv));
	return 0;
}

/* META string ids are file ids until the strings are known; map them afterwards. */
static int fix_meta(struct dec *d)
{
	struct cs_meta *m = &d->p->meta;
	uint32_t *ids[] = {&m->command, &m->hostname, &m->kernel, &m->event, &m->arch};
	for (size_t i = 0; i < CS_ARRAY_SIZE(ids); i++) {
		if (*ids[i] >= d->nstr)
			return corrupt(d, "bad metadata string");
		*ids[i] = d->str_map[*ids[i]];
	}
	return 0;
}

static int dec_strings(struct dec *d, struct cs_rd *r)
{
	uint64_t n = cs_rd_uv(r);
	if (n > cs_rd_left(r) + 1)
		return corrupt(d, "bad string count");
	d->str_map = cs_xmalloc((n ? n : 1) * sizeof(uint32_t));
	for (uint64_t i = 0; i < n && !r->err; i++) {
		size_t len;
		const char *s = cs_rd_str(r, &len);
		if (s && memchr(s, 0, len))
			return corrupt(d, "NUL inside a string");
		d->str_map[i] = s ? cs_profile_str(d->p, s, len) : 0;
		d->nstr = i + 1;
	}
	return r->err ? corrupt(d, "bad string table") : 0;
}

static uint64_t rd_count(struct cs_rd *r, size_t min_bytes)
{
	uint64_t n = cs_rd_uv(r);
	if (n > cs_rd_left(r) / min_bytes)
		r->err = 1;
	return r->err ? 0 : n;
}

static int dec_modules(struct dec *d, struct cs_rd *r)
{
	uint64_t n = rd_count(r, 4);
	d->mod_map = cs_xmalloc((n ? n : 1) * sizeof(uint32_t));
	for (uint64_t i = 0; i < n && !r->err; i++) {
		struct cs_module m = {0};
		m.path = rd_str(r, d);
		m.name = rd_str(r, d);
		m.flags = (uint32_t)cs_rd_uv(r);
		size_t len;
		const char *bid = cs_rd_str(r, &len);
		if (len > sizeof(m.build_id))
			r->err = 1;
		if (r->err)
			break;
		m.build_id_len = (uint32_t)len;
		memcpy(m.build_id, bid, len);
		d->mod_map[i] = cs_profile_module(d->p, &m);
		d->nmod = i + 1;
	}
	return r->err ? corrupt(d, "bad module table") : 0;
}

static int dec_frames(struct dec *d, struct cs_rd *r)
{
	uint64_t n = rd_count(r, 6);
	d->frame_map = cs_xmalloc((n ? n : 1) * sizeof(uint32_t));
	for (uint64_t i = 0; i < n && !r->err; i++) {
		struct cs_frame f;
		f.func = rd_str(r, d);
		f.file = rd_str(r, d);
		f.line = (uint32_t)cs_rd_uv(r);
		uint64_t mod = cs_rd_idx(r, d->nmod + 1);
		f.module = mod ? d->mod_map[mod - 1] : CS_NONE;
		f.flags = (uint32_t)cs_rd_uv(r);
		f.addr = cs_rd_uv(r);
		if (r->err)
			break;
		d->frame_map[i] = cs_profile_frame(d->p, &f);
		d->nframe = i + 1;
	}
	return r->err ? corrupt(d, "bad frame table") : 0;
}

static int dec_nodes(struct dec *d, struct cs_rd *r)
{
	uint64_t n = rd_count(r, 2);
	d->node_map = cs_xmalloc((n + 1) * sizeof(uint32_t));
	d->node_map[0] = 0;
	d->nnode = 1;
	for (uint64_t i = 1; i <= n && !r->err; i++) {
		uint64_t frame = cs_rd_idx(r, d->nframe);
		uint64_t delta = cs_rd_uv(r);
		if (r->err || delta == 0 || delta > i) {
			r->err = 1;
			break;
		}
		d->node_map[i] = cs_profile_node(d->p, d->node_map[i - delta], d->frame_map[frame]);
		d->nnode = i + 1;
	}
	return r->err ? corrupt(d, "bad stack table") : 0;
}

static int dec_threads(struct dec *d, struct cs_rd *r)
{
	uint64_t n = rd_count(r, 4);
	d->thread_map = cs_xmalloc((n ? n : 1) * sizeof(uint32_t));
	for (uint64_t i = 0; i < n && !r->err; i++) {
		uint32_t pid = (uint32_t)cs_rd_uv(r), tid = (uint32_t)cs_rd_uv(r);
		uint32_t name = rd_str(r, d), proc = rd_str(r, d);
		if (r->err)
			break;
		d->thread_map[i] = cs_profile_thread(d->p, pid, tid, name, proc);
		d->nthread = i + 1;
	}
	return r->err ? corrupt(d, "bad thread table") : 0;
}

static int dec_samples(struct dec *d, struct cs_rd *r)
{
	uint64_t n = rd_count(r, 3);
	for (uint64_t i = 0; i < n && !r->err; i++) {
		uint64_t stack = cs_rd_idx(r, d->nnode);
		uint64_t thread = cs_rd_idx(r, d->nthread);
		uint64_t count = cs_rd_uv(r);
		if (r->err)
			break;
		if (count > UINT64_MAX / 4) {
			r->err = 1;
			break;
		}
		cs_profile_add(d->p, d->node_map[stack], d->thread_map[thread], count);
	}
	return r->err ? corrupt(d, "bad sample table") : 0;
}

static int dec_timeline(struct dec *d, struct cs_rd *r)
{
	uint64_t n = rd_count(r, 13);
	for (uint64_t i = 0; i < n && !r->err; i++) {
		struct cs_tick t;
		t.t_ms = cs_rd_uv(r);
		t.rss = cs_rd_uv(r);
		t.threads = (uint32_t)cs_rd_uv(r);
		t.fds = (uint32_t)cs_rd_uv(r);
		t.cpu_pct = cs_rd_f64(r);
		t.samples = cs_rd_uv(r);
		if (r->err)
			break;
		if (!(t.cpu_pct >= 0 && t.cpu_pct < 1e7))
			t.cpu_pct = 0;
		CS_VEC_PUSH(d->p->timeline, t);
	}
	return r->err ? corrupt(d, "bad timeline") : 0;
}

static int dec_leaks(struct dec *d, struct cs_rd *r)
{
	if (d->seen & (1u << SEC_LEAKS2))
		return 0; /* the later version says it all */
	uint64_t n = rd_count(r, 12); /* an empty snapshot takes 12 bytes */
	for (uint64_t i = 0; i < n && !r->err; i++) {
		struct cs_leak_snapshot s;
		memset(&s, 0, sizeof(s));
		s.time_s = cs_rd_f64(r);
		uint64_t fl = cs_rd_uv(r);
		s.exact = (int)(fl & 1);
		s.sampled = (int)((fl >> 1) & 1);
		s.sample_bytes = cs_rd_uv(r);
		s.pre_attach_frees = cs_rd_uv(r);
		uint64_t ns = rd_count(r, 4);
		for (uint64_t j = 0; j < ns && !r->err; j++) {
			struct cs_leak_site l;
			uint64_t st = cs_rd_idx(r, d->nnode);
			l.stack = r->err ? 0 : d->node_map[st];
			l.bytes = cs_rd_uv(r);
			l.blocks = cs_rd_uv(r);
			l.oldest_age_ns = cs_rd_uv(r);
			CS_VEC_PUSH(s.sites, l);
		}
		if (!(s.time_s >= 0 && s.time_s < 1e12))
			r->err = 1;
		CS_VEC_PUSH(d->p->leaks, s);
	}
	return r->err ? corrupt(d, "bad leak snapshots") : 0;
}

/* One LEAKS2 record: its fields into v[0..known) (missing ones 0, extra ones skipped). */
static void rd_fields(struct cs_rd *r, uint64_t *v, size_t known)
{
	uint64_t nf = cs_rd_uv(r);
	if (nf > MAX_FIELDS)
		r->err = 1;
	for (uint64_t i = 0; i < nf && !r->err; i++) {
		uint64_t x = cs_rd_uv(r);
		if (i < known)
			v[i] = x;
	}
	for (uint64_t i = nf; i < known; i++)
		v[i] = 0;
}

static double from_us(uint64_t us)
{
	return (double)us / 1e6;
}

static void drop_leaks(struct cs_profile *p)
{
	for (size_t i = 0; i < p->leaks.n; i++)
		CS_VEC_FREE(p->leaks.v[i].sites);
	p->leaks.n = 0;
}

static int dec_leaks2(struct dec *d, struct cs_rd *r)
{
	struct cs_profile *p = d->p;
	drop_leaks(p); /* version 1 came first: this one replaces it */
	uint64_t np = rd_count(r, 1);
	for (uint64_t i = 0; i < np && !r->err; i++) {
		uint64_t v[LP_N];
		rd_fields(r, v, LP_N);
		if (r->err || v[LP_COMMAND] >= d->nstr || v[LP_PID] > UINT32_MAX ||
		    v[LP_PPID] > UINT32_MAX) {
			r->err = 1;
			break;
		}
		struct cs_leak_process q = {(uint32_t)v[LP_PID], (uint32_t)v[LP_PPID],
					    d->str_map[v[LP_COMMAND]], (uint32_t)v[LP_FLAGS],
					    from_us(v[LP_START_US]), from_us(v[LP_END_US])};
		CS_VEC_PUSH(p->leak_procs, q);
	}
	uint64_t ns = rd_count(r, 2);
	for (uint64_t i = 0; i < ns && !r->err; i++) {
		uint64_t v[LS_N];
		rd_fields(r, v, LS_N);
		struct cs_leak_snapshot s;
		memset(&s, 0, sizeof(s));
		s.time_s = from_us(v[LS_TIME_US]);
		s.exact = (int)(v[LS_FLAGS] & 1);
		s.sampled = (int)((v[LS_FLAGS] >> 1) & 1);
		s.flags = (v[LS_FLAGS] & 4 ? CS_LEAK_TOTALS : 0) | (v[LS_FLAGS] & 8 ? CS_LEAK_FINAL : 0);
		s.sample_bytes = v[LS_SAMPLE_BYTES];
		s.pre_attach_frees = v[LS_PRE_ATTACH_FREES];
		if (v[LS_PROCESS] >= (np ? np : 1))
			r->err = 1;
		s.process = (uint32_t)v[LS_PROCESS];
		s.allocs = v[LS_ALLOCS];
		s.frees = v[LS_FREES];
		s.temporary = v[LS_TEMPORARY];
		s.alloc_bytes = v[LS_ALLOC_BYTES];
		s.peak_bytes = v[LS_PEAK_BYTES];
		s.peak_time_s = from_us(v[LS_PEAK_US]);
		uint64_t nsites = rd_count(r, 2);
		for (uint64_t j = 0; j < nsites && !r->err; j++) {
			uint64_t w[LI_N];
			rd_fields(r, w, LI_N);
			if (w[LI_STACK] >= d->nnode) {
				r->err = 1;
				break;
			}
			struct cs_leak_site l = {d->node_map[w[LI_STACK]], w[LI_BYTES], w[LI_BLOCKS],
						 w[LI_AGE_NS], w[LI_ALLOCS], w[LI_ALLOC_BYTES],
						 w[LI_TEMPORARY], w[LI_PEAK_BYTES], 0};
			CS_VEC_PUSH(s.sites, l);
		}
		CS_VEC_PUSH(p->leaks, s);
	}
	uint64_t nh = rd_count(r, 1);
	for (uint64_t i = 0; i < nh && !r->err; i++) {
		uint64_t v[LH_N];
		rd_fields(r, v, LH_N);
		if (v[LH_PROCESS] >= (np ? np : 1)) {
			r->err = 1;
			break;
		}
		struct cs_heap_point h = {v[LH_T_MS], (uint32_t)v[LH_PROCESS], v[LH_BYTES],
					  v[LH_ALLOCS]};
		CS_VEC_PUSH(p->heap, h);
	}
	return r->err ? corrupt(d, "bad leak snapshots") : 0;
}

static int dec_times(struct dec *d, struct cs_rd *r)
{
	struct cs_profile *p = d->p;
	uint64_t h[TH_N];
	rd_fields(r, h, TH_N);
	if (!r->err && (h[TH_CPU_PERIOD_NS] == 0 || h[TH_CPU_PERIOD_NS] > 1000000000000ull))
		r->err = 1; /* a period from 1 ns to 1000 s */
	p->times.wall = 1;
	p->times.cpu_period_ns = h[TH_CPU_PERIOD_NS];
	uint64_t nt = rd_count(r, 1);
	for (uint64_t i = 0; i < nt && !r->err; i++) {
		uint64_t v[TT_N];
		rd_fields(r, v, TT_N);
		if (r->err || v[TT_THREAD] >= d->nthread) {
			r->err = 1;
			break;
		}
		uint32_t t = d->thread_map[v[TT_THREAD]];
		while (p->times.threads.n <= t) {
			struct cs_thread_time z;
			memset(&z, 0, sizeof(z));
			CS_VEC_PUSH(p->times.threads, z);
		}
		p->times.threads.v[t].span_ns = v[TT_SPAN_NS];
		p->times.threads.v[t].oncpu_ns = v[TT_ONCPU_NS];
	}
	uint64_t nr = rd_count(r, 1);
	for (uint64_t i = 0; i < nr && !r->err; i++) {
		uint64_t v[TO_N];
		rd_fields(r, v, TO_N);
		if (r->err || v[TO_STACK] >= d->nnode || v[TO_THREAD] >= d->nthread ||
		    v[TO_KIND] == CS_TIME_CPU || v[TO_KIND] >= CS_TIME_KINDS ||
		    v[TO_NS] > UINT64_MAX / 4) {
			r->err = 1;
			break;
		}
		cs_profile_add_time(p, d->node_map[v[TO_STACK]], d->thread_map[v[TO_THREAD]],
				    (uint32_t)v[TO_KIND], v[TO_NS]);
	}
	return r->err ? corrupt(d, "bad off-CPU times") : 0;
}

static int dec_section(struct dec *d, uint32_t type, const uint8_t *raw, size_t n)
{
	struct cs_rd r;
	cs_rd_init(&r, raw, n);
	/* Tables refer to earlier ones; insist on the order the writer uses. */
	static const struct {
		uint32_t type;
		unsigned needs;
	} deps[] = {
		{SEC_MODULES, 1u << SEC_STRINGS},
		{SEC_FRAMES, 1u << SEC_MODULES},
		{SEC_NODES, 1u << SEC_FRAMES},
		{SEC_THREADS, 1u << SEC_STRINGS},
		{SEC_SAMPLES, (1u << SEC_NODES) | (1u << SEC_THREADS)},
		{SEC_LEAKS, 1u << SEC_NODES},
		{SEC_LEAKS2, (1u << SEC_NODES) | (1u << SEC_STRINGS)},
		{SEC_TIMES, (1u << SEC_NODES) | (1u << SEC_THREADS)},
	};
	for (size_t i = 0; i < CS_ARRAY_SIZE(deps); i++)
		if (deps[i].type == type && (d->seen & deps[i].needs) != deps[i].needs)
			return corrupt(d, "sections out of order");
	if (type < 32) {
		if (d->seen & (1u << type))
			return corrupt(d, "repeated section");
		d->seen |= 1u << type;
	}
	switch (type) {
	case SEC_META: return dec_tags(d, &r, 0);
	case SEC_STATS: return dec_tags(d, &r, 1);
	case SEC_STRINGS: return dec_strings(d, &r);
	case SEC_MODULES: return dec_modules(d, &r);
	case SEC_FRAMES: return dec_frames(d, &r);
	case SEC_NODES: return dec_nodes(d, &r);
	case SEC_THREADS: return dec_threads(d, &r);
	case SEC_SAMPLES: return dec_samples(d, &r);
	case SEC_TIMELINE: return dec_timeline(d, &r);
	case SEC_LEAKS: return dec_leaks(d, &r);
	case SEC_LEAKS2: return dec_leaks2(d, &r);
	case SEC_TIMES: return dec_times(d, &r);
	default: return 0; /* unknown: skip */
	}
}

int cs_profile_decode(struct cs_profile *p, const void *data, size_t n, const char *name)
{
	struct dec d;
	memset(&d, 0, sizeof(d));
	d.p = p;
	d.name = name;
	struct cs_rd r;
	int ret = -1;
	uint8_t *raw = NULL;

	cs_rd_init(&r, data, n);
	const void *magic = cs_rd_bytes(&r, 8);
	uint32_t version = cs_rd_u32(&r), hsize = cs_rd_u32(&r);
	if (!magic || memcmp(magic, MAGIC, 8)) {
		corrupt(&d, "wrong magic");
		goto out;
	}
	uint64_t features = cs_rd_u64(&r);
	if (r.err || hsize < HEADER_SIZE || hsize > n) {
		corrupt(&d, "truncated header");
		goto out;
	}
	if (version != VERSION) {
		cs_error("'%s' is a csampler recording of version %u; this csampler reads version %d",
			 name, version, VERSION);
		goto out;
	}
	if (features) {
		cs_error("'%s' needs features this csampler lacks (0x%llx); update csampler", name,
			 (unsigned long long)features);
		goto out;
	}
	cs_rd_init(&r, (const uint8_t *)data + hsize, n - hsize);
	int ended = 0;
	while (!ended) {
		if (cs_rd_left(&r) == 0) {
			corrupt(&d, "truncated: no end marker");
			goto out;
		}
		size_t sec_off = (size_t)(r.p - (const uint8_t *)data);
		uint32_t type = cs_rd_u32(&r), flags = cs_rd_u32(&r);
		uint64_t rawn = cs_rd_u64(&r), stored = cs_rd_u64(&r);
		uint32_t crc = cs_rd_u32(&r);
		cs_rd_u32(&r);
		if (r.err || stored > cs_rd_left(&r)) {
			corrupt(&d, "truncated section");
			goto out;
		}
		const uint8_t *sp = cs_rd_bytes(&r, (size_t)stored);
		if (type == SEC_END) {
			if (flags || rawn || stored || (uint32_t)crc32(0, data, (uInt)sec_off) != crc) {
				corrupt(&d, "checksum mismatch");
				goto out;
			}
			ended = 1;
			break;
		}
		if ((flags & ~FLAG_ZLIB) || rawn > MAX_SECTION_RAW || ((flags & FLAG_ZLIB) && rawn > stored * 1100 + 64) ||
		    (!(flags & FLAG_ZLIB) && rawn != stored)) {
			corrupt(&d, "bad section size");
			goto out;
		}
		free(raw);
		raw = cs_xmalloc(rawn ? rawn : 1);
		if (flags & FLAG_ZLIB) {
			uLongf got = (uLongf)rawn;
			if (uncompress(raw, &got, sp, (uLong)stored) != Z_OK || got != rawn) {
				corrupt(&d, "damaged compressed data");
				goto out;
			}
		} else if (rawn) {
			memcpy(raw, sp, rawn);
		}
		if ((uint32_t)crc32(0, raw, (uInt)rawn) != crc) {
			corrupt(&d, "checksum mismatch");
			goto out;
		}
		if (dec_section(&d, type, raw, (size_t)rawn) < 0)
			goto out;
	}
	if (!(d.seen & (1u << SEC_STRINGS)) || !(d.seen & (1u << SEC_SAMPLES))) {
		corrupt(&d, "missing sections");
		goto out;
	}
	if (fix_meta(&d) < 0)
		goto out;
	ret = 0;
out:
	free(raw);
	free(d.str_map);
	free(d.mod_map);
	free(d.frame_map);
	free(d.node_map);
	free(d.thread_map);
	return ret;
}
