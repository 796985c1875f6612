/* pprof.c - the profile.proto of pprof (github.com/google/pprof, proto/profile.proto),
 * gzip'd, written by a small protobuf encoder of our own.
 *
 * Model -> proto:
 * - a sample per (stack, thread) with labels thread/pid/tid; values samples/count and
 *   cpu/nanoseconds (a recording's period), or inuse_space/bytes and
 *   inuse_objects/count for a leak snapshot;
 * - a location per run of frames that share one return address: the frame that is
 *   not inlined and the frames inlined into it, leaf first, as the location's lines;
 * - a function per (name, file); a mapping per module (path, build-id). The recording
 *   keeps module-relative addresses, so each mapping gets a range of its own (file
 *   offset 0) and a location's address is its mapping's start plus the relative
 *   address: addresses stay distinct and map back to the file's addresses.
 */
#include "pb.h"
#include "view.h"
#include "util/buf.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* profile.proto's field numbers */
enum {
	PROFILE_SAMPLE_TYPE = 1,
	PROFILE_SAMPLE,
	PROFILE_MAPPING,
	PROFILE_LOCATION,
	PROFILE_FUNCTION,
	PROFILE_STRING_TABLE,
	PROFILE_TIME_NANOS = 9,
	PROFILE_DURATION_NANOS,
	PROFILE_PERIOD_TYPE,
	PROFILE_PERIOD,
	PROFILE_COMMENT,
	VALUETYPE_TYPE = 1,
	VALUETYPE_UNIT,
	SAMPLE_LOCATION_ID = 1,
	SAMPLE_VALUE,
	SAMPLE_LABEL,
	LABEL_KEY = 1,
	LABEL_STR,
	LABEL_NUM,
	MAPPING_ID = 1,
	MAPPING_START,
	MAPPING_LIMIT,
	MAPPING_OFFSET,
	MAPPING_FILENAME,
	MAPPING_BUILD_ID,
	MAPPING_HAS_FUNCTIONS,
	MAPPING_HAS_FILENAMES,
	MAPPING_HAS_LINES,
	MAPPING_HAS_INLINES,
	LOCATION_ID = 1,
	LOCATION_MAPPING_ID,
	LOCATION_ADDRESS,
	LOCATION_LINE,
	LINE_FUNCTION_ID = 1,
	LINE_LINE,
	FUNCTION_ID = 1,
	FUNCTION_NAME,
	FUNCTION_SYSTEM_NAME,
	FUNCTION_FILENAME,
};

/* Each mapping gets 2^40 bytes of made-up address space (module-relative addresses
 * beyond that keep address 0). */
#define MAP_SHIFT 40

struct enc {
	const struct cs_profile *p;
	struct cs_buf out, sub, sub2, tmp;
	/* pprof string indices: of the profile's strings (0 = not yet written), and the
	 * count written so far */
	uint32_t *sidx;
	uint32_t *map_id; /* module -> mapping id */
	uint64_t nstr;
	struct cs_map64 funcs; /* func << 32 | file -> function id */
	uint32_t *node_loc;  /* per stack node: location id of the run ending there (0: not yet) */
	uint32_t *node_next; /* ... and the node above that run */
	uint64_t nloc;
	struct cs_index loc_ix;	     /* locations by their frames */
	CS_VEC(uint32_t) loc_frames; /* frames of every location, leaf first */
	CS_VEC(uint64_t) loc_off; /* location id - 1 -> offset in loc_frames; one more at the end */
};

static uint64_t extra_str(struct enc *e, const char *s)
{
	pb_bytes(&e->out, PROFILE_STRING_TABLE, s, strlen(s));
	return e->nstr++;
}

static uint64_t str(struct enc *e, uint32_t id)
{
	if (!id)
		return 0;
	if (!e->sidx[id]) {
		pb_bytes(&e->out, PROFILE_STRING_TABLE, cs_str(e->p, id), cs_strlen(e->p, id));
		e->sidx[id] = (uint32_t)e->nstr++;
	}
	return e->sidx[id];
}

static uint64_t function(struct enc *e, const struct cs_frame *f)
{
	int added;
	uint64_t *id = cs_map64_put(&e->funcs, (uint64_t)f->func << 32 | f->file, 0, &added);
	if (!added)
		return *id;
	*id = e->funcs.n;
	uint64_t fid = *id;
	e->sub.n = 0;
	pb_uint(&e->sub, FUNCTION_ID, fid);
	pb_uint(&e->sub, FUNCTION_NAME, str(e, f->func));
	pb_uint(&e->sub, FUNCTION_SYSTEM_NAME, str(e, f->func));
	pb_uint(&e->sub, FUNCTION_FILENAME, str(e, f->file));
	/* start_line is not known: the recording keeps the line of each address only */
	pb_msg(&e->tmp, PROFILE_FUNCTION, &e->sub);
	return fid;
}

struct loc_key {
	struct enc *e;
	const uint32_t *frames;
	size_t n;
};

static int loc_eq(void *ctx, uint32_t idx)
{
	struct loc_key *k = ctx;
	const struct enc *e = k->e;
	uint64_t off = e->loc_off.v[idx], n = e->loc_off.v[idx + 1] - off;
	return n == k->n && !memcmp(e->loc_frames.v + off, k->frames, n * sizeof(uint32_t));
}

/* The location of the run of frames that ends (toward the leaf) at node, and the node
 * above the run. */
static uint32_t location(struct enc *e, uint32_t node, uint32_t *next)
{
	if (e->node_loc[node]) {
		*next = e->node_next[node];
		return e->node_loc[node];
	}
	const struct cs_profile *p = e->p;
	uint32_t frames[256];
	size_t n = 0;
	uint32_t at = node;
	/* the leaf-most frames are those inlined into the next one toward the root */
	while (at && n < CS_ARRAY_SIZE(frames)) {
		uint32_t f = p->nodes.v[at].frame;
		frames[n++] = f;
		at = p->nodes.v[at].parent;
		if (!(p->frames.v[f].flags & CS_FRAME_INLINE))
			break;
	}
	uint64_t h = cs_hash_bytes(frames, n * sizeof(uint32_t), 0x10c);
	struct loc_key k = {e, frames, n};
	uint32_t idx = cs_index_find(&e->loc_ix, h, loc_eq, &k);
	if (idx == CS_INDEX_NONE) {
		idx = (uint32_t)(e->loc_off.n - 1);
		cs_index_insert(&e->loc_ix, h, idx);
		for (size_t i = 0; i < n; i++)
			CS_VEC_PUSH(e->loc_frames, frames[i]);
		CS_VEC_PUSH(e->loc_off, (uint64_t)e->loc_frames.n);
		/* the location's address and mapping are its outermost frame's */
		const struct cs_frame *phys = &p->frames.v[frames[n - 1]];
		struct cs_buf *s = &e->sub2;
		s->n = 0;
		pb_uint(s, LOCATION_ID, idx + 1u);
		if (phys->module != CS_NONE) {
			uint64_t id = e->map_id[phys->module];
			pb_uint(s, LOCATION_MAPPING_ID, id);
			if (phys->addr && phys->addr < (1ull << MAP_SHIFT))
				pb_uint(s, LOCATION_ADDRESS, id << MAP_SHIFT | phys->addr);
		}
		for (size_t i = 0; i < n; i++) {
			const struct cs_frame *f = &p->frames.v[frames[i]];
			uint64_t fid = function(e, f);
			e->sub.n = 0;
			pb_uint(&e->sub, LINE_FUNCTION_ID, fid);
			pb_uint(&e->sub, LINE_LINE, f->line);
			pb_msg(s, LOCATION_LINE, &e->sub);
		}
		pb_msg(&e->tmp, PROFILE_LOCATION, s);
	}
	e->node_loc[node] = idx + 1;
	e->node_next[node] = at;
	*next = at;
	return idx + 1;
}

static void value_type(struct enc *e, unsigned field, const char *type, const char *unit)
{
	uint64_t t = extra_str(e, type), u = extra_str(e, unit);
	e->sub.n = 0;
	pb_uint(&e->sub, VALUETYPE_TYPE, t);
	pb_uint(&e->sub, VALUETYPE_UNIT, u);
	pb_msg(&e->tmp, field, &e->sub);
}

static int gzip_out(const struct cs_buf *b, FILE *out)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return cs_error("cannot compress the profile: zlib failed to start");
	unsigned char chunk[1 << 16];
	z.next_in = b->p;
	int ret = 0, st;
	size_t left = b->n;
	do {
		uInt take = left > (1u << 30) ? (1u << 30) : (uInt)left;
		z.avail_in = take;
		left -= take;
		do {
			z.next_out = chunk;
			z.avail_out = sizeof(chunk);
			st = deflate(&z, left ? Z_NO_FLUSH : Z_FINISH);
			fwrite(chunk, 1, sizeof(chunk) - z.avail_out, out);
		} while (z.avail_out == 0);
	} while (left);
	if (st != Z_STREAM_END)
		ret = cs_error("cannot compress the profile: zlib error %d", st);
	deflateEnd(&z);
	return ret;
}

int cs_render_pprof(const struct cs_profile *p0, const struct cs_view_opts *o, FILE *out)
{
	struct cs_profile bytes, blocks;
	cs_profile_init(&bytes);
	cs_profile_init(&blocks);
	const struct cs_profile *p, *pb = NULL;
	int ret = -1;
	if (cs_view_input(p0, o, 0, &bytes, &p) < 0)
		goto done;
	if (o->leaks && cs_view_input(p0, o, 1, &blocks, &pb) < 0)
		goto done;

	struct enc e;
	memset(&e, 0, sizeof(e));
	e.p = p;
	cs_buf_init(&e.out);
	cs_buf_init(&e.sub);
	cs_buf_init(&e.sub2);
	cs_buf_init(&e.tmp);
	e.sidx = cs_xcalloc(p->strs.n, sizeof(*e.sidx));
	e.node_loc = cs_xcalloc(p->nodes.n, sizeof(*e.node_loc));
	e.node_next = cs_xcalloc(p->nodes.n, sizeof(*e.node_next));
	cs_map64_init(&e.funcs);
	cs_index_init(&e.loc_ix);
	CS_VEC_PUSH(e.loc_off, 0);

	/* The string table is written to e.out as strings come; everything else to
	 * e.tmp, appended after it (field order is free in protobuf). */
	extra_str(&e, "");
	uint64_t period_ns = cs_view_period_ns(p, o);
	if (o->leaks) {
		value_type(&e, PROFILE_SAMPLE_TYPE, "inuse_space", "bytes");
		value_type(&e, PROFILE_SAMPLE_TYPE, "inuse_objects", "count");
	} else {
		const char *type, *unit;
		cs_view_unit(p, o, &type, &unit);
		value_type(&e, PROFILE_SAMPLE_TYPE, type, unit);
		if (period_ns) {
			const char *tt = cs_view_time_type(p);
			value_type(&e, PROFILE_SAMPLE_TYPE, tt, "nanoseconds");
			value_type(&e, PROFILE_PERIOD_TYPE, tt, "nanoseconds");
			pb_uint(&e.tmp, PROFILE_PERIOD, period_ns);
		}
	}
	uint64_t k_thread = extra_str(&e, "thread"), k_pid = extra_str(&e, "pid"),
		 k_tid = extra_str(&e, "tid");

	/* Mapping ids: pprof names a profile after its first mapping, so the main
	 * executables come first. */
	e.map_id = cs_xcalloc(p->modules.n + 1, sizeof(*e.map_id));
	uint32_t next_id = 1;
	for (int pass = 0; pass < 2; pass++)
		for (size_t m = 0; m < p->modules.n; m++)
			if (((p->modules.v[m].flags & CS_MODULE_MAIN) ? 0 : 1) == pass)
				e.map_id[m] = next_id++;
	for (uint32_t id = 1; id < next_id; id++) {
		size_t m = 0;
		while (e.map_id[m] != id)
			m++;
		const struct cs_module *mod = &p->modules.v[m];
		struct cs_buf *s = &e.sub2;
		s->n = 0;
		pb_uint(s, MAPPING_ID, id);
		pb_uint(s, MAPPING_START, (uint64_t)id << MAP_SHIFT);
		pb_uint(s, MAPPING_LIMIT, (uint64_t)(id + 1) << MAP_SHIFT);
		pb_uint(s, MAPPING_FILENAME, str(&e, mod->path ? mod->path : mod->name));
		if (mod->build_id_len) {
			char hex[81];
			size_t n = CS_MIN(mod->build_id_len, sizeof(mod->build_id));
			for (size_t i = 0; i < n; i++)
				snprintf(hex + 2 * i, 3, "%02x", mod->build_id[i]);
			/* the build-id is a string index */
			pb_bytes(&e.out, PROFILE_STRING_TABLE, hex, 2 * n);
			pb_uint(s, MAPPING_BUILD_ID, e.nstr++);
		}
		pb_uint(s, MAPPING_HAS_FUNCTIONS, 1);
		pb_uint(s, MAPPING_HAS_FILENAMES, 1);
		pb_uint(s, MAPPING_HAS_LINES, 1);
		pb_uint(s, MAPPING_HAS_INLINES, 1);
		pb_msg(&e.tmp, PROFILE_MAPPING, s);
	}

	CS_VEC(uint64_t) locs = {0};
	uint64_t *thread_label = cs_xcalloc(p->threads.n + 1, sizeof(*thread_label));
	struct cs_buf sample;
	cs_buf_init(&sample);
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct cs_sample *smp = &p->samples.v[i];
		uint64_t w = cs_view_weight(p, smp, o);
		if (!w)
			continue;
		locs.n = 0;
		for (uint32_t at = smp->stack; at;) {
			uint32_t next;
			uint64_t id = location(&e, at, &next);
			CS_VEC_PUSH(locs, id);
			at = next;
		}
		sample.n = 0;
		pb_packed(&sample, SAMPLE_LOCATION_ID, locs.v, locs.n, &e.sub);
		uint64_t vals[2] = {w, 0};
		size_t nv = 1;
		if (o->leaks) {
			const uint64_t *b =
			    cs_map64_get(&pb->sample_ix, (uint64_t)smp->stack << 32 | smp->thread);
			vals[nv++] = b ? pb->samples.v[*b].count : 0;
		} else if (period_ns) {
			vals[nv++] = w * period_ns;
		}
		pb_packed(&sample, SAMPLE_VALUE, vals, nv, &e.sub);
		if (smp->thread < p->threads.n) {
			const struct cs_thread *t = &p->threads.v[smp->thread];
			uint64_t sid = thread_label[smp->thread];
			if (!sid) {
				struct cs_buf name;
				cs_buf_init(&name);
				cs_view_thread_name(&name, p, smp->thread);
				pb_bytes(&e.out, PROFILE_STRING_TABLE, name.p, name.n);
				cs_buf_release(&name);
				sid = thread_label[smp->thread] = e.nstr++;
			}
			e.sub2.n = 0;
			pb_uint(&e.sub2, LABEL_KEY, k_thread);
			pb_uint(&e.sub2, LABEL_STR, sid);
			pb_msg(&sample, SAMPLE_LABEL, &e.sub2);
			if (t->pid != CS_NONE) {
				pb_uint(&e.sub2, LABEL_KEY, k_pid);
				pb_uint(&e.sub2, LABEL_NUM, t->pid);
				pb_msg(&sample, SAMPLE_LABEL, &e.sub2);
			}
			if (t->tid != CS_NONE && t->tid) {
				pb_uint(&e.sub2, LABEL_KEY, k_tid);
				pb_uint(&e.sub2, LABEL_NUM, t->tid);
				pb_msg(&sample, SAMPLE_LABEL, &e.sub2);
			}
		}
		pb_msg(&e.tmp, PROFILE_SAMPLE, &sample);
	}
	CS_VEC_FREE(locs);
	free(thread_label);
	cs_buf_release(&sample);
	pb_uint(&e.tmp, PROFILE_TIME_NANOS, p->meta.start_unix_ns);
	pb_uint(&e.tmp, PROFILE_DURATION_NANOS, p->stats.duration_ns);
	char comment[64];
	snprintf(comment, sizeof(comment), "csampler %s", CS_VERSION);
	pb_uint(&e.tmp, PROFILE_COMMENT, extra_str(&e, comment));
	cs_buf_put(&e.out, e.tmp.p, e.tmp.n);
	ret = gzip_out(&e.out, out);

	free(e.sidx);
	free(e.node_loc);
	free(e.node_next);
	free(e.map_id);
	cs_map64_release(&e.funcs);
	cs_index_release(&e.loc_ix);
	CS_VEC_FREE(e.loc_frames);
	CS_VEC_FREE(e.loc_off);
	cs_buf_release(&e.out);
	cs_buf_release(&e.sub);
	cs_buf_release(&e.sub2);
	cs_buf_release(&e.tmp);
done:
	cs_profile_release(&bytes);
	cs_profile_release(&blocks);
	return ret;
}
