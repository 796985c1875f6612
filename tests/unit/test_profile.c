/* Unit tests of the profile model: interning, the recording file round trip and the
 * rejection of corrupt or truncated recordings, folded-text import, reading files. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profile/import.h"
#include "profile/profile.h"
#include "util/buf.h"

static void build_sample_profile(struct cs_profile *p)
{
	struct cs_module m = {0};
	m.path = cs_profile_cstr(p, "/usr/bin/prog");
	m.name = cs_profile_cstr(p, "prog");
	m.flags = CS_MODULE_MAIN;
	m.build_id_len = 4;
	memcpy(m.build_id, "\x01\x02\x03\x04", 4);
	uint32_t mod = cs_profile_module(p, &m);
	struct cs_frame f = {0};
	f.module = mod;
	f.func = cs_profile_cstr(p, "main");
	f.file = cs_profile_cstr(p, "prog.c");
	f.line = 10;
	f.addr = 0x1000;
	uint32_t fmain = cs_profile_frame(p, &f);
	f.func = cs_profile_cstr(p, "work");
	f.line = 20;
	f.addr = 0x1100;
	uint32_t fwork = cs_profile_frame(p, &f);
	f.func = cs_profile_cstr(p, "inlined<int>");
	f.flags = CS_FRAME_INLINE;
	uint32_t finl = cs_profile_frame(p, &f);
	uint32_t st1[] = {fmain, fwork};
	uint32_t st2[] = {fmain, fwork, finl};
	uint32_t t = cs_profile_thread(p, 100, 101, cs_profile_cstr(p, "worker"),
				       cs_profile_cstr(p, "prog"));
	cs_profile_add(p, cs_profile_stack(p, st1, 2), t, 7);
	cs_profile_add(p, cs_profile_stack(p, st2, 3), t, 5);
	cs_profile_add(p, cs_profile_stack(p, st2, 3), t, 1);
	p->meta.hz = 99;
	p->meta.pid = 100;
	p->meta.command = cs_profile_cstr(p, "prog --flag");
	p->stats.samples = 13;
	p->stats.lost = 2;
	struct cs_tick tick = {1000, 4096, 3, 5, 99.5, 99};
	CS_VEC_PUSH(p->timeline, tick);
	/* two leak snapshots: an empty one, then one with a site */
	struct cs_leak_snapshot ls;
	memset(&ls, 0, sizeof(ls));
	ls.time_s = 0.5;
	ls.exact = 1;
	CS_VEC_PUSH(p->leaks, ls);
	memset(&ls, 0, sizeof(ls));
	ls.time_s = 1.5;
	ls.sampled = 1;
	ls.sample_bytes = 4096;
	ls.pre_attach_frees = 7;
	struct cs_leak_site site = {.stack = cs_profile_stack(p, st2, 3), .bytes = 6400,
				    .blocks = 100, .oldest_age_ns = 1200000000};
	CS_VEC_PUSH(ls.sites, site);
	CS_VEC_PUSH(p->leaks, ls);
}

static char *write_tmp(const struct cs_profile *p, size_t *len)
{
	char path[] = "/tmp/cs-test-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	close(fd);
	cr_assert_eq(cs_profile_write(p, path), 0);
	char *data = cs_read_file(path, 1 << 30, len);
	cr_assert(data);
	unlink(path);
	return data;
}

Test(strings, interning_is_stable)
{
	struct cs_profile p;
	cs_profile_init(&p);
	uint32_t a = cs_profile_cstr(&p, "alpha");
	uint32_t b = cs_profile_cstr(&p, "beta");
	cr_expect_neq(a, b);
	cr_expect_eq(cs_profile_cstr(&p, "alpha"), a);
	cr_expect_eq(cs_profile_cstr(&p, ""), 0);
	for (int i = 0; i < 10000; i++) {
		char buf[32];
		snprintf(buf, sizeof(buf), "s%d", i);
		cs_profile_cstr(&p, buf);
	}
	cr_expect_str_eq(cs_str(&p, a), "alpha");
	cr_expect_eq(cs_profile_cstr(&p, "s9999"), cs_profile_cstr(&p, "s9999"));
	cr_expect_str_eq(cs_str(&p, cs_profile_cstr(&p, "s1234")), "s1234");
	cs_profile_release(&p);
}

Test(strings, interning_a_part_of_an_interned_string)
{
	struct cs_profile p;
	cs_profile_init(&p);
	uint32_t a = cs_profile_cstr(&p, "/usr/lib/libexample.so.1");
	/* its basename, taken from the arena, while the arena must grow */
	for (int i = 0; i < 2000; i++) {
		const char *path = cs_str(&p, a);
		uint32_t b = cs_profile_cstr(&p, strrchr(path, '/') + 1 + (i % 3));
		cr_assert_str_eq(cs_str(&p, b), "libexample.so.1" + (i % 3));
		char filler[40];
		snprintf(filler, sizeof(filler), "filler-%d-abcdefghijklmnopqrstuvwxyz", i);
		cs_profile_cstr(&p, filler);
	}
	cs_profile_release(&p);
}

Test(nodes, stacks_share_prefixes)
{
	struct cs_profile p;
	cs_profile_init(&p);
	struct cs_frame f = {0};
	f.module = CS_NONE;
	f.func = cs_profile_cstr(&p, "a");
	uint32_t fa = cs_profile_frame(&p, &f);
	f.func = cs_profile_cstr(&p, "b");
	uint32_t fb = cs_profile_frame(&p, &f);
	cr_expect_eq(cs_profile_frame(&p, &f), fb);
	uint32_t s1[] = {fa, fb}, s2[] = {fa, fb, fa};
	uint32_t n1 = cs_profile_stack(&p, s1, 2), n2 = cs_profile_stack(&p, s2, 3);
	cr_expect_eq(p.nodes.v[n2].parent, n1);
	cr_expect_eq(p.nodes.v[n2].depth, 3);
	uint32_t out[8];
	cr_expect_eq(cs_profile_frames(&p, n2, out, 8), 3);
	cr_expect_eq(out[0], fa);
	cr_expect_eq(out[1], fb);
	cr_expect_eq(out[2], fa);
	cs_profile_release(&p);
}

/* A small deterministic generator for the randomized tests. */
static uint64_t rng = 1;
static uint32_t rnd(uint32_t n)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rng >> 33) % n;
}

Test(nodes, lookups_find_every_node_once)
{
	/* Stacks over few frames share prefixes and siblings in every way; some are added
	 * a node at a time, some as a chain under a node just made. Every node must be
	 * found again, and no two may share their parent and frame. */
	struct cs_profile p;
	cs_profile_init(&p);
	uint32_t frames[6];
	for (int i = 0; i < 6; i++) {
		struct cs_frame f = {0};
		f.module = CS_NONE;
		f.func = cs_profile_str(&p, "abcdef" + i, 1);
		frames[i] = cs_profile_frame(&p, &f);
	}
	for (int k = 0; k < 3000; k++) {
		uint32_t st[12], out[12];
		size_t n = 1 + rnd(12);
		for (size_t i = 0; i < n; i++)
			st[i] = frames[rnd(i < 3 ? 2 : 6)];
		uint32_t leaf;
		if (rnd(2)) {
			leaf = cs_profile_stack(&p, st, n);
		} else {
			/* follow the nodes there are (found by a plain search), then chain
			 * the rest under the last of them */
			size_t i = 0;
			leaf = 0;
			for (; i < n; i++) {
				uint32_t c = 0;
				for (uint32_t j = 1; j < p.nodes.n && !c; j++) {
					const struct cs_node *nd = &p.nodes.v[j];
					if (nd->parent == leaf && nd->frame == st[i])
						c = j;
				}
				if (!c)
					break;
				leaf = c;
			}
			leaf = cs_profile_chain(&p, leaf, st + i, n - i);
		}
		cr_assert_eq(cs_profile_frames(&p, leaf, out, 12), n);
		cr_assert(!memcmp(out, st, n * sizeof(uint32_t)), "stack %d", k);
	}
	struct cs_map64 seen;
	cs_map64_init(&seen);
	for (uint32_t i = 1; i < p.nodes.n; i++) {
		const struct cs_node *nd = &p.nodes.v[i];
		int added;
		cs_map64_put(&seen, ((uint64_t)nd->parent << 32) | nd->frame, i, &added);
		cr_assert(added, "node %u repeats its parent and frame", i);
		size_t before = p.nodes.n;
		cr_assert_eq(cs_profile_node(&p, nd->parent, nd->frame), i);
		cr_assert_eq(p.nodes.n, before);
	}
	cs_map64_release(&seen);
	cs_profile_release(&p);
}

Test(files, mapped_or_read_whole_and_nul_terminated)
{
	/* sizes around a page: the NUL after a file that fills its last page whole */
	long page = sysconf(_SC_PAGESIZE);
	size_t sizes[] = {0, 1, (size_t)page - 1, (size_t)page, (size_t)page + 1, 3 * (size_t)page};
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		char path[] = "/tmp/cs-test-XXXXXX";
		int fd = mkstemp(path);
		cr_assert(fd >= 0);
		char *want = malloc(sizes[k] + 1);
		for (size_t i = 0; i < sizes[k]; i++)
			want[i] = (char)('a' + i % 26);
		cr_assert_eq(cs_write_all(fd, want, sizes[k]), 0);
		close(fd);
		struct cs_file f;
		cr_assert_eq(cs_file_open(&f, path, 1 << 20), 0);
		cr_expect_eq(f.len, sizes[k]);
		cr_expect(!memcmp(f.data, want, sizes[k]));
		cr_expect_eq(f.data[f.len], 0, "size %zu", sizes[k]);
		cs_file_release(&f);
		unlink(path);
		free(want);
	}
	struct cs_file f;
	cr_expect_eq(cs_file_open(&f, "/nonexistent/csampler", 1 << 20), -1);
	cr_assert_eq(cs_file_open(&f, "/proc/self/status", 1 << 20), 0, "not mappable: read");
	cr_expect_gt(f.len, 0);
	cr_expect_eq(f.mapped, 0);
	cr_expect_eq(f.data[f.len], 0);
	cs_file_release(&f);
}

Test(recording, round_trip)
{
	struct cs_profile p, q;
	cs_profile_init(&p);
	build_sample_profile(&p);
	size_t n;
	char *data = write_tmp(&p, &n);
	cs_profile_init(&q);
	cr_assert_eq(cs_profile_decode(&q, data, n, "mem"), 0);
	cr_expect_eq(cs_profile_total(&q), 13);
	cr_expect_eq(q.samples.n, 2);
	cr_expect_eq(q.meta.hz, 99);
	cr_expect_eq(q.meta.pid, 100);
	cr_expect_str_eq(cs_str(&q, q.meta.command), "prog --flag");
	cr_expect_eq(q.stats.lost, 2);
	cr_expect_eq(q.timeline.n, 1);
	cr_expect_eq(q.timeline.v[0].rss, 4096);
	cr_expect_eq(q.modules.n, 1);
	cr_expect_eq(q.modules.v[0].build_id_len, 4);
	cr_expect_str_eq(cs_str(&q, q.threads.v[0].name), "worker");
	cr_assert_eq(q.leaks.n, 2);
	cr_expect_eq(q.leaks.v[0].sites.n, 0);
	cr_expect(q.leaks.v[0].exact);
	cr_expect_eq(q.leaks.v[1].sites.n, 1);
	cr_expect(q.leaks.v[1].sampled && !q.leaks.v[1].exact);
	cr_expect_eq(q.leaks.v[1].sample_bytes, 4096);
	cr_expect_eq(q.leaks.v[1].pre_attach_frees, 7);
	cr_expect_eq(q.leaks.v[1].sites.v[0].bytes, 6400);
	cr_expect_eq(q.leaks.v[1].sites.v[0].blocks, 100);
	cr_expect_eq(q.leaks.v[1].sites.v[0].oldest_age_ns, 1200000000);
	cr_expect_eq(q.nodes.v[q.leaks.v[1].sites.v[0].stack].depth, 3);
	/* The deepest stack comes back frame for frame. */
	for (size_t i = 0; i < q.samples.n; i++) {
		const struct cs_sample *s = &q.samples.v[i];
		uint32_t fr[4];
		size_t d = cs_profile_frames(&q, s->stack, fr, 4);
		cr_expect_str_eq(cs_str(&q, q.frames.v[fr[0]].func), "main");
		if (d == 3) {
			cr_expect_eq(s->count, 6);
			cr_expect_str_eq(cs_str(&q, q.frames.v[fr[2]].func), "inlined<int>");
			cr_expect_eq(q.frames.v[fr[2]].flags, CS_FRAME_INLINE);
			cr_expect_eq(q.frames.v[fr[2]].line, 20);
		} else {
			cr_expect_eq(d, 2);
			cr_expect_eq(s->count, 7);
		}
	}
	free(data);
	cs_profile_release(&p);
	cs_profile_release(&q);
}

Test(recording, rejects_every_truncation)
{
	struct cs_profile p;
	cs_profile_init(&p);
	build_sample_profile(&p);
	size_t n;
	char *data = write_tmp(&p, &n);
	for (size_t cut = 0; cut < n; cut++) {
		struct cs_profile q;
		cs_profile_init(&q);
		cr_expect_eq(cs_profile_decode(&q, data, cut, "mem"), -1, "cut at %zu accepted", cut);
		cs_profile_release(&q);
	}
	free(data);
	cs_profile_release(&p);
}

Test(recording, rejects_corruption)
{
	struct cs_profile p;
	cs_profile_init(&p);
	build_sample_profile(&p);
	size_t n;
	char *data = write_tmp(&p, &n);
	/* Flip every byte after the header in turn: never a crash; never silently wrong
	 * (the CRC or a structural check must catch it). */
	int accepted = 0;
	for (size_t i = 8; i < n; i++) {
		struct cs_profile q;
		cs_profile_init(&q);
		data[i] ^= 0x5a;
		if (cs_profile_decode(&q, data, n, "mem") == 0)
			accepted++;
		data[i] ^= 0x5a;
		cs_profile_release(&q);
	}
	/* Only the END marker's reserved word (last 4 bytes) is not covered by a CRC. */
	cr_expect_leq(accepted, 4, "%d corrupted copies accepted", accepted);
	free(data);
	cs_profile_release(&p);
}

Test(recording, rejects_hostile_indices)
{
	/* A structurally valid file whose node refers to a frame that does not exist. */
	struct cs_profile p;
	cs_profile_init(&p);
	build_sample_profile(&p);
	p.nodes.v[1].frame = 999;
	size_t n;
	char *data = write_tmp(&p, &n);
	struct cs_profile q;
	cs_profile_init(&q);
	cr_expect_eq(cs_profile_decode(&q, data, n, "mem"), -1);
	cs_profile_release(&q);
	free(data);
	cs_profile_release(&p);
}

Test(folded, import)
{
	const char *text = "main;a;b 3\nmain;a;c 2\n\nmain;sys_read_[k] 1\nmain;a;b 4\n";
	struct cs_profile p;
	cs_profile_init(&p);
	cr_assert(cs_looks_folded(text, strlen(text)));
	cr_assert_eq(cs_import_folded(&p, text, strlen(text), "t"), 0);
	cr_expect_eq(cs_profile_total(&p), 10);
	int kernel = 0;
	for (size_t i = 0; i < p.frames.n; i++)
		if (p.frames.v[i].flags & CS_FRAME_KERNEL) {
			kernel++;
			cr_expect_str_eq(cs_str(&p, p.frames.v[i].func), "sys_read");
		}
	cr_expect_eq(kernel, 1);
	cs_profile_release(&p);
}

Test(folded, rejects_garbage)
{
	const char *text = "main;a;b 3\nthis line has no count\n";
	struct cs_profile p;
	cs_profile_init(&p);
	cr_expect_eq(cs_import_folded(&p, text, strlen(text), "t"), -1);
	cr_expect_not(cs_looks_folded("hello world\n", 12));
	cs_profile_release(&p);
}

Test(buf, varints)
{
	struct cs_buf b;
	cs_buf_init(&b);
	uint64_t vals[] = {0, 1, 127, 128, 300, UINT32_MAX, UINT64_MAX};
	for (size_t i = 0; i < 7; i++)
		cs_buf_put_uv(&b, vals[i]);
	cs_buf_put_sv(&b, -5);
	struct cs_rd r;
	cs_rd_init(&r, b.p, b.n);
	for (size_t i = 0; i < 7; i++)
		cr_expect_eq(cs_rd_uv(&r), vals[i]);
	cr_expect_eq(cs_rd_sv(&r), -5);
	cr_expect(cs_rd_ok(&r));
	cs_rd_uv(&r);
	cr_expect_not(cs_rd_ok(&r), "reading past the end must fail");
	cs_buf_release(&b);
}
