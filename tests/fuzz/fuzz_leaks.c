/* fuzz_leaks.c - the leak report (cs_render_leaks, cs_leak_profile) and every other view,
 * over profiles built straight through the model's API: any counts, ages, times and
 * snapshot layouts, without the recording format's checks in the way.
 *
 * Input: a program of operations (enum fz_leak_op in fuzz.h), each a u8 opcode (taken
 * modulo FZ_OP_COUNT) and its operands, varints and strings as in util/buf.h. Indices
 * are taken modulo their table, so every program builds a valid model; a string with a
 * NUL byte ends the program. Sites go into
 * the last snapshot; frames, nodes and samples as the recorder would add them. */
#include "fuzz.h"

#include <string.h>

#include "util/buf.h"

/* Keep one input's model small enough that a few views of it take milliseconds. */
#define MAX_OPS 4096

/* A string for the model (which holds no NUL bytes), or NULL. */
static const char *rd_name(struct cs_rd *r, size_t *len)
{
	const char *s = cs_rd_str(r, len);
	return s && !memchr(s, 0, *len) ? s : NULL;
}

static void build(struct cs_profile *p, struct cs_rd *r)
{
	for (int i = 0; i < MAX_OPS && cs_rd_left(r) && cs_rd_ok(r); i++) {
		uint8_t op = cs_rd_u8(r) % FZ_OP_COUNT;
		size_t len, len2;
		const char *s, *s2;
		switch (op) {
		case FZ_OP_FRAME: {
			struct cs_frame f = {0};
			f.flags = cs_rd_u8(r) & 0xf;
			uint64_t m = cs_rd_uv(r);
			f.module = m < p->modules.n ? (uint32_t)m : CS_NONE;
			s = rd_name(r, &len);
			if (!s)
				return;
			f.func = cs_profile_str(p, s, len);
			f.line = (uint32_t)(len * 7);
			f.addr = len;
			cs_profile_frame(p, &f);
			break;
		}
		case FZ_OP_NODE: {
			uint64_t parent = cs_rd_uv(r), frame = cs_rd_uv(r);
			if (!cs_rd_ok(r) || !p->frames.n)
				break;
			cs_profile_node(p, (uint32_t)(parent % p->nodes.n),
					(uint32_t)(frame % p->frames.n));
			break;
		}
		case FZ_OP_SAMPLE: {
			uint64_t stack = cs_rd_uv(r), thread = cs_rd_uv(r), count = cs_rd_uv(r);
			if (!cs_rd_ok(r))
				break;
			cs_profile_add(p, (uint32_t)(stack % p->nodes.n),
				       thread < p->threads.n ? (uint32_t)thread : CS_NONE, count);
			p->stats.samples += count;
			break;
		}
		case FZ_OP_SNAPSHOT: {
			struct cs_leak_snapshot snap = {0};
			snap.time_s = cs_rd_f64(r);
			/* what the recording reader lets through */
			if (!(snap.time_s >= 0 && snap.time_s < 1e12))
				snap.time_s = 0;
			uint8_t fl = cs_rd_u8(r);
			snap.exact = fl & 1;
			snap.sampled = (fl >> 1) & 1;
			snap.sample_bytes = cs_rd_uv(r);
			snap.pre_attach_frees = cs_rd_uv(r);
			CS_VEC_PUSH(p->leaks, snap);
			break;
		}
		case FZ_OP_SITE: {
			struct cs_leak_site site;
			uint64_t stack = cs_rd_uv(r);
			site.stack = (uint32_t)(stack % p->nodes.n);
			site.bytes = cs_rd_uv(r);
			site.blocks = cs_rd_uv(r);
			site.oldest_age_ns = cs_rd_uv(r);
			if (!cs_rd_ok(r) || !p->leaks.n)
				break;
			CS_VEC_PUSH(p->leaks.v[p->leaks.n - 1].sites, site);
			break;
		}
		case FZ_OP_THREAD: {
			uint64_t pid = cs_rd_uv(r), tid = cs_rd_uv(r);
			s = rd_name(r, &len);
			s2 = rd_name(r, &len2);
			if (!s || !s2)
				return;
			cs_profile_thread(p, (uint32_t)pid, (uint32_t)tid,
					  cs_profile_str(p, s, len), cs_profile_str(p, s2, len2));
			break;
		}
		case FZ_OP_MODULE: {
			struct cs_module m = {0};
			m.flags = cs_rd_u8(r) & 7;
			s = rd_name(r, &len);
			s2 = rd_name(r, &len2);
			if (!s || !s2)
				return;
			m.path = cs_profile_str(p, s, len);
			m.name = cs_profile_str(p, s2, len2);
			m.build_id_len = (uint32_t)CS_MIN(len, sizeof(m.build_id));
			memcpy(m.build_id, s, m.build_id_len);
			cs_profile_module(p, &m);
			break;
		}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_profile p;
	struct cs_rd r;
	cs_profile_init(&p);
	cs_rd_init(&r, data, size);
	build(&p, &r);
	fz_render_all(&p, fz_variant(data, size));
	cs_profile_release(&p);
	return 0;
}
