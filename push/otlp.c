/* otlp.c - a window as an OpenTelemetry profiles export request (see push.h).
 *
 * The layout is that of opentelemetry-proto's profiles/v1development/profiles.proto and
 * collector/profiles/v1development/profiles_service.proto in the form with a shared
 * dictionary of its late-2025 releases (ProfilesDictionary with mapping, location,
 * function, link, string, attribute (KeyValueAndUnit) and stack tables; Sample with
 * stack_index and values; Profile with one sample_type and a fixed64 time_unix_nano),
 * read from a descriptor generated from that profiles.proto. The signal is Alpha and its
 * field numbers have changed between releases: they are all in the enums below.
 *
 * Model -> OTLP:
 * - one ResourceProfiles: resource attributes service.name (--app), the --labels, and
 *   host.name and process.pid when known; one ScopeProfiles (scope "csampler"); one
 *   Profile of sample type cpu/nanoseconds (samples/count when the period is unknown),
 *   period cpu/nanoseconds, time and duration of the window;
 * - a sample per (stack, thread): its stack, one value, the thread's attributes
 *   thread.name, thread.id and process.pid;
 * - locations, functions and mappings as in pprof.c: a location per run of frames that
 *   share one return address (inlined frames first), a function per (name, file), a
 *   mapping per module with its own made-up address range and the GNU build-id as the
 *   attribute process.executable.build_id.gnu;
 * - every dictionary table starts with its zero value, so that index 0 means "none".
 */
#include "push.h"
#include "render/pb.h"
#include "render/view.h"
#include "util/hash.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* collector/profiles/v1development/profiles_service.proto */
enum { REQ_RESOURCE_PROFILES = 1, REQ_DICTIONARY = 2 };

/* profiles/v1development/profiles.proto */
enum {
	DICT_MAPPING = 1,
	DICT_LOCATION,
	DICT_FUNCTION,
	DICT_LINK,
	DICT_STRING,
	DICT_ATTRIBUTE,
	DICT_STACK,
	RP_RESOURCE = 1,
	RP_SCOPE_PROFILES,
	SP_SCOPE = 1,
	SP_PROFILES,
	PROF_SAMPLE_TYPE = 1, /* one ValueType */
	PROF_SAMPLES,
	PROF_TIME_UNIX_NANO, /* fixed64 */
	PROF_DURATION_NANO,
	PROF_PERIOD_TYPE,
	PROF_PERIOD,
	PROF_PROFILE_ID, /* 16 bytes */
	VT_TYPE = 1,
	VT_UNIT,
	SAMPLE_STACK = 1,
	SAMPLE_VALUES, /* packed int64 */
	SAMPLE_ATTRS,  /* packed int32 */
	MAP_START = 1,
	MAP_LIMIT,
	MAP_OFFSET,
	MAP_FILENAME,
	MAP_ATTRS,
	STACK_LOCATIONS = 1, /* packed int32, leaf first */
	LOC_MAPPING = 1,
	LOC_ADDRESS,
	LOC_LINES,
	LINE_FUNCTION = 1,
	LINE_LINE,
	FUNC_NAME = 1,
	FUNC_SYSTEM_NAME,
	FUNC_FILENAME,
	KVU_KEY = 1, /* KeyValueAndUnit: key as a string index */
	KVU_VALUE,
};

/* common/v1/common.proto and resource/v1/resource.proto */
enum {
	KV_KEY = 1,
	KV_VALUE,
	ANY_STRING = 1,
	ANY_INT = 3,
	RESOURCE_ATTRS = 1,
	SCOPE_NAME = 1,
	SCOPE_VERSION,
};

/* Each mapping gets 2^40 bytes of made-up address space, as in pprof.c. */
#define MAP_SHIFT 40

struct otlp {
	const struct cs_profile *p;
	/* the dictionary's tables, each a run of repeated fields */
	struct cs_buf strs, maps, locs, funcs, attrs, stacks;
	struct cs_buf sub, sub2, tmp; /* scratch for nested messages */
	uint64_t nstr, nloc, nattr, nstack;
	uint32_t *sidx;			/* profile string id -> string index (0: not yet) */
	uint32_t *map_idx;		/* module -> mapping index */
	struct cs_map64 fn;		/* func << 32 | file -> function index */
	uint32_t *node_loc, *node_next; /* per stack node: location of its run, node above it */
	struct cs_index loc_ix;
	CS_VEC(uint32_t) loc_frames;
	CS_VEC(uint64_t) loc_off;
	struct cs_map64 stack_ix; /* stack node -> stack index */
	struct cs_map64 attr_ix;  /* kind << 56 | value -> attribute index */
	CS_VEC(uint64_t) ids;	  /* scratch */
};

static uint64_t add_str(struct otlp *e, const char *s, size_t n)
{
	pb_bytes(&e->strs, DICT_STRING, s, n);
	return e->nstr++;
}

static uint64_t pstr(struct otlp *e, uint32_t id)
{
	if (!id)
		return 0;
	if (!e->sidx[id])
		e->sidx[id] = (uint32_t)add_str(e, cs_str(e->p, id), cs_strlen(e->p, id));
	return e->sidx[id];
}

/* Fixed strings, in this order after "" (string 0). */
enum { S_CPU = 1, S_NS, S_SAMPLES, S_COUNT, S_THREAD_NAME, S_THREAD_ID, S_PID, S_BUILD_ID };
static const char *const fixed_strs[] = {
    "",		 "cpu",		"nanoseconds",
    "samples",	 "count",	"thread.name",
    "thread.id", "process.pid", "process.executable.build_id.gnu"};
_Static_assert(sizeof(fixed_strs) / sizeof(fixed_strs[0]) == S_BUILD_ID + 1,
	       "one fixed string per S_ index");

enum { A_NAME = 1, A_TID, A_PID, A_BUILD };

/* The index of attribute kind with the value; an int, or the string index sv. */
static uint64_t attr(struct otlp *e, unsigned kind, uint64_t key, uint64_t v, const char *sv,
		     size_t svlen)
{
	int added;
	uint64_t *slot = cs_map64_put(&e->attr_ix, (uint64_t)kind << 56 | v, 0, &added);
	if (!added)
		return *slot;
	*slot = e->nattr++;
	e->sub2.n = 0;
	if (sv)
		pb_bytes(&e->sub2, ANY_STRING, sv, svlen);
	else
		pb_uint(&e->sub2, ANY_INT, v);
	pb_uint(&e->sub, KVU_KEY, key);
	pb_msg(&e->sub, KVU_VALUE, &e->sub2);
	pb_msg(&e->attrs, DICT_ATTRIBUTE, &e->sub);
	return *slot;
}

static uint64_t function(struct otlp *e, const struct cs_frame *f)
{
	int added;
	uint64_t *slot = cs_map64_put(&e->fn, (uint64_t)f->func << 32 | f->file, 0, &added);
	if (!added)
		return *slot;
	uint64_t idx = e->fn.n; /* index 0 is the zero function */
	*slot = idx;
	uint64_t name = pstr(e, f->func), file = pstr(e, f->file);
	pb_uint(&e->sub2, FUNC_NAME, name);
	pb_uint(&e->sub2, FUNC_SYSTEM_NAME, name);
	pb_uint(&e->sub2, FUNC_FILENAME, file);
	pb_msg(&e->funcs, DICT_FUNCTION, &e->sub2);
	return idx;
}

struct loc_key {
	struct otlp *e;
	const uint32_t *frames;
	size_t n;
};

static int loc_eq(void *ctx, uint32_t idx)
{
	struct loc_key *k = ctx;
	uint64_t off = k->e->loc_off.v[idx], n = k->e->loc_off.v[idx + 1] - off;
	return n == k->n && !memcmp(k->e->loc_frames.v + off, k->frames, n * sizeof(uint32_t));
}

/* The location index of the run of frames that ends (toward the leaf) at node, and the
 * node above the run (see pprof.c's location()). */
static uint64_t location(struct otlp *e, uint32_t node, uint32_t *next)
{
	if (e->node_loc[node]) {
		*next = e->node_next[node];
		return e->node_loc[node];
	}
	const struct cs_profile *p = e->p;
	uint32_t frames[256];
	size_t n = 0;
	uint32_t at = node;
	while (at && n < CS_ARRAY_SIZE(frames)) {
		uint32_t f = p->nodes.v[at].frame;
		frames[n++] = f;
		at = p->nodes.v[at].parent;
		if (!(p->frames.v[f].flags & CS_FRAME_INLINE))
			break;
	}
	uint64_t h = cs_hash_bytes(frames, n * sizeof(uint32_t), 0x07e1);
	struct loc_key k = {e, frames, n};
	uint32_t idx = cs_index_find(&e->loc_ix, h, loc_eq, &k);
	if (idx == CS_INDEX_NONE) {
		idx = (uint32_t)(e->loc_off.n - 1);
		cs_index_insert(&e->loc_ix, h, idx);
		for (size_t i = 0; i < n; i++)
			CS_VEC_PUSH(e->loc_frames, frames[i]);
		CS_VEC_PUSH(e->loc_off, (uint64_t)e->loc_frames.n);
		/* lines first (they may add functions, written to their own table) */
		struct cs_buf lines;
		cs_buf_init(&lines);
		for (size_t i = 0; i < n; i++) {
			const struct cs_frame *f = &p->frames.v[frames[i]];
			uint64_t fid = function(e, f);
			pb_uint(&e->sub2, LINE_FUNCTION, fid);
			pb_uint(&e->sub2, LINE_LINE, f->line);
			pb_msg(&lines, LOC_LINES, &e->sub2);
		}
		const struct cs_frame *phys = &p->frames.v[frames[n - 1]];
		struct cs_buf *s = &e->sub;
		s->n = 0;
		if (phys->module != CS_NONE) {
			uint64_t m = e->map_idx[phys->module];
			pb_uint(s, LOC_MAPPING, m);
			if (phys->addr && phys->addr < (1ull << MAP_SHIFT))
				pb_uint(s, LOC_ADDRESS, m << MAP_SHIFT | phys->addr);
		}
		cs_buf_put(s, lines.p, lines.n);
		cs_buf_release(&lines);
		pb_msg(&e->locs, DICT_LOCATION, s);
	}
	e->node_loc[node] = idx + 1; /* location 0 is the zero location */
	e->node_next[node] = at;
	*next = at;
	return idx + 1;
}

static uint64_t stack(struct otlp *e, uint32_t node)
{
	int added;
	uint64_t *slot = cs_map64_put(&e->stack_ix, node, 0, &added);
	if (!added)
		return *slot;
	uint64_t idx = e->nstack++; /* written once its locations are (they use sub) */
	e->ids.n = 0;
	for (uint32_t at = node; at;) {
		uint32_t next;
		uint64_t l = location(e, at, &next);
		CS_VEC_PUSH(e->ids, l);
		at = next;
	}
	pb_packed(&e->sub, STACK_LOCATIONS, e->ids.v, e->ids.n, &e->tmp);
	pb_msg(&e->stacks, DICT_STACK, &e->sub);
	*cs_map64_get(&e->stack_ix, node) = idx;
	return idx;
}

static void mappings(struct otlp *e)
{
	const struct cs_profile *p = e->p;
	e->map_idx = cs_xcalloc(p->modules.n + 1, sizeof(*e->map_idx));
	uint32_t next = 1;
	/* the main executables first: readers take mapping 1 as the program */
	for (int pass = 0; pass < 2; pass++)
		for (size_t m = 0; m < p->modules.n; m++)
			if (((p->modules.v[m].flags & CS_MODULE_MAIN) ? 0 : 1) == pass)
				e->map_idx[m] = next++;
	for (uint32_t id = 1; id < next; id++) {
		size_t m = 0;
		while (e->map_idx[m] != id)
			m++;
		const struct cs_module *mod = &p->modules.v[m];
		uint64_t a = 0;
		if (mod->build_id_len) {
			char hex[81];
			size_t n = CS_MIN(mod->build_id_len, sizeof(mod->build_id));
			for (size_t i = 0; i < n; i++)
				snprintf(hex + 2 * i, 3, "%02x", mod->build_id[i]);
			a = attr(e, A_BUILD, S_BUILD_ID, m, hex, 2 * n);
		}
		struct cs_buf *s = &e->sub;
		pb_uint(s, MAP_START, (uint64_t)id << MAP_SHIFT);
		pb_uint(s, MAP_LIMIT, (uint64_t)(id + 1) << MAP_SHIFT);
		pb_uint(s, MAP_FILENAME, pstr(e, mod->path ? mod->path : mod->name));
		if (a)
			pb_packed(s, MAP_ATTRS, &a, 1, &e->tmp);
		pb_msg(&e->maps, DICT_MAPPING, &e->sub);
	}
}

/* A resource attribute (common.v1.KeyValue) with a string value. */
static void res_attr(struct cs_buf *out, struct cs_buf *kv, struct cs_buf *any, const char *k,
		     size_t kl, const char *v, size_t vl)
{
	pb_bytes(any, ANY_STRING, v, vl);
	pb_bytes(kv, KV_KEY, k, kl);
	pb_msg(kv, KV_VALUE, any);
	pb_msg(out, RESOURCE_ATTRS, kv);
}

static void resource(const struct cs_profile *p, const char *app, const char *labels,
		     struct cs_buf *out)
{
	struct cs_buf kv, any;
	cs_buf_init(&kv);
	cs_buf_init(&any);
	app = app ? app : "csampler";
	/* keys are unique: a label may name the service or the host itself */
	int host_given = 0;
	if (!labels || (strncmp(labels, "service.name=", 13) && !strstr(labels, ",service.name=")))
		res_attr(out, &kv, &any, "service.name", 12, app, strlen(app));
	for (const char *s = labels; s && *s;) {
		const char *eq = strchr(s, '='), *end = strchr(s, ',');
		if (!end)
			end = s + strlen(s);
		if (eq && eq < end) {
			res_attr(out, &kv, &any, s, (size_t)(eq - s), eq + 1,
				 (size_t)(end - eq - 1));
			host_given |= eq - s == 9 && !strncmp(s, "host.name", 9);
		}
		s = *end ? end + 1 : end;
	}
	if (!host_given && p->meta.hostname)
		res_attr(out, &kv, &any, "host.name", 9, cs_str(p, p->meta.hostname),
			 cs_strlen(p, p->meta.hostname));
	if (p->meta.pid > 0) {
		pb_uint(&any, ANY_INT, (uint64_t)p->meta.pid);
		pb_str(&kv, KV_KEY, "process.pid");
		pb_msg(&kv, KV_VALUE, &any);
		pb_msg(out, RESOURCE_ATTRS, &kv);
	}
	cs_buf_release(&kv);
	cs_buf_release(&any);
}

int cs_otlp_encode(const struct cs_profile *p, const char *app, const char *labels,
		   struct cs_buf *out)
{
	struct otlp e;
	memset(&e, 0, sizeof(e));
	e.p = p;
	cs_buf_init(&e.strs);
	cs_buf_init(&e.maps);
	cs_buf_init(&e.locs);
	cs_buf_init(&e.funcs);
	cs_buf_init(&e.attrs);
	cs_buf_init(&e.stacks);
	cs_buf_init(&e.sub);
	cs_buf_init(&e.sub2);
	cs_buf_init(&e.tmp);
	cs_map64_init(&e.fn);
	cs_map64_init(&e.stack_ix);
	cs_map64_init(&e.attr_ix);
	cs_index_init(&e.loc_ix);
	CS_VEC_PUSH(e.loc_off, 0);
	e.sidx = cs_xcalloc(p->strs.n + 1, sizeof(*e.sidx));
	e.node_loc = cs_xcalloc(p->nodes.n + 1, sizeof(*e.node_loc));
	e.node_next = cs_xcalloc(p->nodes.n + 1, sizeof(*e.node_next));

	/* the zero value first in every table */
	for (size_t i = 0; i < CS_ARRAY_SIZE(fixed_strs); i++)
		add_str(&e, fixed_strs[i], strlen(fixed_strs[i]));
	pb_bytes(&e.maps, DICT_MAPPING, NULL, 0);
	pb_bytes(&e.locs, DICT_LOCATION, NULL, 0);
	pb_bytes(&e.funcs, DICT_FUNCTION, NULL, 0);
	pb_bytes(&e.attrs, DICT_ATTRIBUTE, NULL, 0);
	pb_bytes(&e.stacks, DICT_STACK, NULL, 0);
	e.nattr = e.nstack = 1;
	mappings(&e);

	struct cs_view_opts vo;
	memset(&vo, 0, sizeof(vo));
	uint64_t period = cs_view_period_ns(p, &vo);
	struct cs_buf prof, samp;
	cs_buf_init(&prof);
	cs_buf_init(&samp);
	pb_uint(&e.sub, VT_TYPE, period ? S_CPU : S_SAMPLES);
	pb_uint(&e.sub, VT_UNIT, period ? S_NS : S_COUNT);
	pb_msg(&prof, PROF_SAMPLE_TYPE, &e.sub);
	uint64_t *tattr = cs_xcalloc(3 * (p->threads.n + 1), sizeof(*tattr)); /* 0: not yet */
	struct cs_buf name;
	cs_buf_init(&name);
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct cs_sample *smp = &p->samples.v[i];
		uint64_t w = cs_view_weight(p, smp, &vo);
		if (!w)
			continue;
		uint64_t st = stack(&e, smp->stack);
		uint64_t a[3];
		size_t na = 0;
		if (smp->thread < p->threads.n) {
			uint64_t *ta = &tattr[3 * smp->thread];
			const struct cs_thread *t = &p->threads.v[smp->thread];
			if (!ta[0]) {
				name.n = 0;
				cs_view_thread_name(&name, p, smp->thread);
				ta[0] = attr(&e, A_NAME, S_THREAD_NAME, smp->thread,
					     (const char *)name.p, name.n);
				if (t->tid != CS_NONE && t->tid)
					ta[1] = attr(&e, A_TID, S_THREAD_ID, t->tid, NULL, 0);
				if (t->pid != CS_NONE && t->pid)
					ta[2] = attr(&e, A_PID, S_PID, t->pid, NULL, 0);
			}
			for (int k = 0; k < 3; k++)
				if (ta[k])
					a[na++] = ta[k];
		}
		uint64_t v = period ? w * period : w;
		pb_uint(&samp, SAMPLE_STACK, st);
		pb_packed(&samp, SAMPLE_VALUES, &v, 1, &e.tmp);
		pb_packed(&samp, SAMPLE_ATTRS, a, na, &e.tmp);
		pb_msg(&prof, PROF_SAMPLES, &samp);
	}
	cs_buf_release(&name);
	free(tattr);
	pb_fixed64(&prof, PROF_TIME_UNIX_NANO, p->meta.start_unix_ns);
	pb_uint(&prof, PROF_DURATION_NANO, p->stats.duration_ns);
	if (period) {
		pb_uint(&e.sub, VT_TYPE, S_CPU);
		pb_uint(&e.sub, VT_UNIT, S_NS);
		pb_msg(&prof, PROF_PERIOD_TYPE, &e.sub);
		pb_uint(&prof, PROF_PERIOD, period);
	}
	/* a profile id of 16 random bytes (all zeroes is invalid) */
	uint8_t id[16];
	if (getrandom(id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id)) {
		uint64_t x = cs_hash_u64(cs_now_ns() ^ (uint64_t)p->meta.start_unix_ns);
		uint64_t y = cs_hash_u64(x ^ (uint64_t)time(NULL));
		memcpy(id, &x, 8);
		memcpy(id + 8, &y, 8);
	}
	id[0] |= 1;
	pb_bytes(&prof, PROF_PROFILE_ID, id, sizeof(id));

	/* request { resource_profiles { resource, scope_profiles { scope, profiles } },
	 *           dictionary } */
	struct cs_buf scope, sp, rp, res;
	cs_buf_init(&scope);
	cs_buf_init(&sp);
	cs_buf_init(&rp);
	cs_buf_init(&res);
	pb_str(&scope, SCOPE_NAME, "csampler");
	pb_str(&scope, SCOPE_VERSION, CS_VERSION);
	pb_msg(&sp, SP_SCOPE, &scope);
	pb_msg(&sp, SP_PROFILES, &prof);
	resource(p, app, labels, &res);
	pb_msg(&rp, RP_RESOURCE, &res);
	pb_msg(&rp, RP_SCOPE_PROFILES, &sp);
	out->n = 0;
	pb_msg(out, REQ_RESOURCE_PROFILES, &rp);
	struct cs_buf dict;
	cs_buf_init(&dict);
	cs_buf_put(&dict, e.maps.p, e.maps.n);
	cs_buf_put(&dict, e.locs.p, e.locs.n);
	cs_buf_put(&dict, e.funcs.p, e.funcs.n);
	pb_bytes(&dict, DICT_LINK, NULL, 0); /* the zero link: no sample has a link */
	cs_buf_put(&dict, e.strs.p, e.strs.n);
	cs_buf_put(&dict, e.attrs.p, e.attrs.n);
	cs_buf_put(&dict, e.stacks.p, e.stacks.n);
	pb_msg(out, REQ_DICTIONARY, &dict);

	cs_buf_release(&dict);
	cs_buf_release(&scope);
	cs_buf_release(&sp);
	cs_buf_release(&rp);
	cs_buf_release(&res);
	cs_buf_release(&prof);
	cs_buf_release(&samp);
	cs_buf_release(&e.strs);
	cs_buf_release(&e.maps);
	cs_buf_release(&e.locs);
	cs_buf_release(&e.funcs);
	cs_buf_release(&e.attrs);
	cs_buf_release(&e.stacks);
	cs_buf_release(&e.sub);
	cs_buf_release(&e.sub2);
	cs_buf_release(&e.tmp);
	cs_map64_release(&e.fn);
	cs_map64_release(&e.stack_ix);
	cs_map64_release(&e.attr_ix);
	cs_index_release(&e.loc_ix);
	CS_VEC_FREE(e.loc_frames);
	CS_VEC_FREE(e.loc_off);
	CS_VEC_FREE(e.ids);
	free(e.sidx);
	free(e.node_loc);
	free(e.node_next);
	free(e.map_idx);
	return 0;
}
