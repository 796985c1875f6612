/* seeds.c - write the fuzz harnesses' seed corpora: cs_fuzz_seeds OUTDIR SRCDIR.
 *
 * OUTDIR/NAME/ receives the seeds of harness fuzz_NAME: the committed text inputs (the
 * golden files and tests/fuzz/seeds/), generated texts of shapes worth starting from,
 * recordings written by cs_profile_write (each also with its sections stored
 * uncompressed, which mutations handle better), leak-model programs and agent message
 * streams. Generated at test time so that they always match the current formats. */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/protocol.h"
#include "profile/import.h"
#include "util/buf.h"

static const char *outdir;
static int nseeds;

static void die(const char *what, const char *path)
{
	fprintf(stderr, "cs_fuzz_seeds: %s '%s': %s\n", what, path, strerror(errno));
	exit(1);
}

static void put_seed(const char *harness, const char *name, const void *data, size_t n)
{
	char *path = cs_xasprintf("%s/%s/%s", outdir, harness, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0)
		die("cannot write", path);
	free(path);
	nseeds++;
}

/* ---- recordings ---- */

static void put_recording(const char *name, const struct cs_profile *p)
{
	char *path = cs_xasprintf("%s/recording/%s", outdir, name);
	if (cs_profile_write(p, path) < 0)
		exit(1);
	nseeds++;
	size_t n, sn;
	char *data = cs_read_file(path, 64u << 20, &n);
	if (!data)
		die("cannot read", path);
	uint8_t *stored = fz_recording_fix((const uint8_t *)data, n, 1, &sn);
	char *sname = cs_xasprintf("%s.stored", name);
	put_seed("recording", sname, stored, sn);
	free(sname);
	free(stored);
	free(data);
	free(path);
}

/* A profile that fills every section: modules with build-ids, inlined, kernel, JIT and
 * unknown frames with files and lines, threads of two processes, a timeline, stats and
 * three leak snapshots with a growing stack. */
static void rich_profile(struct cs_profile *p)
{
	struct cs_module m = {0};
	m.path = cs_profile_cstr(p, "/usr/bin/prog");
	m.name = cs_profile_cstr(p, "prog");
	m.flags = CS_MODULE_MAIN;
	m.build_id_len = 20;
	memset(m.build_id, 0xab, 20);
	uint32_t prog = cs_profile_module(p, &m);
	m.path = cs_profile_cstr(p, "[kernel.kallsyms]");
	m.name = m.path;
	m.flags = CS_MODULE_KERNEL;
	m.build_id_len = 0;
	uint32_t kern = cs_profile_module(p, &m);

	const struct {
		const char *func, *file;
		uint32_t line, module, flags;
	} fr[] = {
	    {"main", "prog.c", 10, prog, 0},
	    {"work", "prog.c", 20, prog, 0},
	    {"inlined_helper", "helper.h", 5, prog, CS_FRAME_INLINE},
	    {"sys_read", "", 0, kern, CS_FRAME_KERNEL},
	    {"jitted", "", 0, CS_NONE, CS_FRAME_JIT},
	    {"prog+0x1234", "", 0, prog, CS_FRAME_UNKNOWN},
	    {"malloc_site", "alloc.c", 7, prog, 0},
	};
	uint32_t f[CS_ARRAY_SIZE(fr)];
	for (size_t i = 0; i < CS_ARRAY_SIZE(fr); i++) {
		struct cs_frame x = {0};
		x.func = cs_profile_cstr(p, fr[i].func);
		x.file = cs_profile_cstr(p, fr[i].file);
		x.line = fr[i].line;
		x.module = fr[i].module;
		x.flags = fr[i].flags;
		x.addr = 0x1000 + i * 0x10;
		f[i] = cs_profile_frame(p, &x);
	}
	uint32_t t1 =
	    cs_profile_thread(p, 100, 100, cs_profile_cstr(p, "prog"), cs_profile_cstr(p, "prog"));
	uint32_t t2 = cs_profile_thread(p, 100, 101, cs_profile_cstr(p, "worker 1"),
					cs_profile_cstr(p, "prog"));
	uint32_t t3 = cs_profile_thread(p, 200, 200, cs_profile_cstr(p, "child"),
					cs_profile_cstr(p, "child"));
	uint32_t s1[] = {f[0], f[1], f[2]}, s2[] = {f[0], f[1], f[3]}, s3[] = {f[0], f[4], f[5]};
	uint32_t s4[] = {f[0], f[6]};
	uint32_t a = cs_profile_stack(p, s1, 3), b = cs_profile_stack(p, s2, 3);
	uint32_t c = cs_profile_stack(p, s3, 3), d = cs_profile_stack(p, s4, 2);
	cs_profile_add(p, a, t1, 50);
	cs_profile_add(p, b, t2, 30);
	cs_profile_add(p, c, t3, 15);
	cs_profile_add(p, a, t3, 5);
	p->meta.source = CS_SOURCE_RECORDING;
	p->meta.command = cs_profile_cstr(p, "prog --flag");
	p->meta.hostname = cs_profile_cstr(p, "host");
	p->meta.kernel = cs_profile_cstr(p, "6.1.0");
	p->meta.event = cs_profile_cstr(p, "cpu-clock");
	p->meta.arch = cs_profile_cstr(p, "x86_64");
	p->meta.pid = 100;
	p->meta.hz = 99;
	p->meta.stack_size = 16384;
	p->stats.samples = 100;
	p->stats.lost = 2;
	p->stats.complete = 90;
	p->stats.truncated = 10;
	p->stats.threads = 3;
	p->stats.processes = 2;
	p->stats.duration_ns = 3000000000ull;
	for (int i = 0; i < 3; i++) {
		struct cs_tick t = {(uint64_t)i * 1000, (uint64_t)(i + 1) << 20, 2, 5, 99.5, 33};
		CS_VEC_PUSH(p->timeline, t);
	}
	for (int i = 0; i < 3; i++) {
		struct cs_leak_snapshot s = {0};
		s.time_s = i * 1.5;
		s.exact = i != 1;
		s.pre_attach_frees = (uint64_t)i;
		struct cs_leak_site grow = {.stack = d,
					   .bytes = 1000u * (i + 1),
					   .blocks = (uint64_t)i + 1,
					   .oldest_age_ns = 1000000000ull * i};
		struct cs_leak_site once = {.stack = a, .bytes = 64, .blocks = 1, .oldest_age_ns = 5};
		CS_VEC_PUSH(s.sites, grow);
		if (i != 1)
			CS_VEC_PUSH(s.sites, once);
		CS_VEC_PUSH(p->leaks, s);
	}
	p->stats.samples = cs_profile_total(p);
}

/* Recordings that once broke a view (issue 14): kept as seeds, so every build replays
 * them. */
static void regression_recordings(void)
{
	struct cs_profile p;
	struct cs_frame f = {0};
	f.module = CS_NONE;

	/* Leak snapshots a few denormal seconds apart: a growth rate of +inf bytes/s. */
	cs_profile_init(&p);
	f.func = cs_profile_cstr(&p, "leaky");
	uint32_t fr = cs_profile_frame(&p, &f);
	uint32_t st = cs_profile_stack(&p, &fr, 1);
	cs_profile_add(&p, st, CS_NONE, 1);
	for (int i = 0; i < 3; i++) {
		struct cs_leak_snapshot s = {0};
		s.time_s = i * 1e-320;
		s.exact = 1;
		struct cs_leak_site site = {.stack = st, .bytes = 100u * (i + 1), .blocks = 1};
		CS_VEC_PUSH(s.sites, site);
		CS_VEC_PUSH(p.leaks, s);
	}
	put_recording("tiny-intervals.data", &p);
	cs_profile_release(&p);

	/* perf script samples of a thread with no name: an empty root label. */
	cs_profile_init(&p);
	f.func = cs_profile_cstr(&p, "work");
	fr = cs_profile_frame(&p, &f);
	st = cs_profile_stack(&p, &fr, 1);
	cs_profile_add(&p, st, cs_profile_thread(&p, 1, 1, 0, 0), 1);
	p.meta.source = CS_SOURCE_PERF_SCRIPT;
	put_recording("nameless-thread.data", &p);
	cs_profile_release(&p);

	/* Counts whose sums wrap: five threads of 2^62 - 1 samples each, and statistics
	 * whose sum wraps to 1. */
	cs_profile_init(&p);
	f.func = cs_profile_cstr(&p, "hot");
	fr = cs_profile_frame(&p, &f);
	st = cs_profile_stack(&p, &fr, 1);
	for (uint32_t t = 1; t <= 5; t++)
		cs_profile_add(&p, st, cs_profile_thread(&p, t, t, 0, 0), (1ull << 62) - 1);
	p.stats.samples = UINT64_MAX;
	p.stats.complete = UINT64_MAX;
	p.stats.truncated = 2;
	put_recording("huge-counts.data", &p);
	cs_profile_release(&p);
}

/* ---- text inputs ---- */

/* The text of each file in dir whose name ends in suffix: copied as a seed of harness
 * (with the byte opt appended when opt >= 0) and imported into a recording seed. */
static void text_seeds(const char *dir, const char *suffix, const char *harness, int perf)
{
	DIR *d = opendir(dir);
	if (!d)
		die("cannot open", dir);
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t nl = strlen(e->d_name), sl = strlen(suffix);
		if (nl <= sl || strcmp(e->d_name + nl - sl, suffix))
			continue;
		char *path = cs_xasprintf("%s/%s", dir, e->d_name);
		size_t n;
		char *text = cs_read_file(path, 1u << 20, &n);
		if (!text)
			die("cannot read", path);
		struct cs_profile p;
		cs_profile_init(&p);
		if (perf) {
			/* each seed once with no option, once with all, once with --tid --jit */
			static const uint8_t opts[] = {0x00, 0x3f, 0x0a};
			for (size_t i = 0; i < sizeof(opts); i++) {
				text[n] = (char)opts[i];
				char *name = cs_xasprintf("%s.%02x", e->d_name, opts[i]);
				put_seed(harness, name, text, n + 1);
				free(name);
			}
			text[n] = 0;
			struct cs_import_opts o = {0};
			if (cs_import_perf_script(&p, text, n, path, &o) < 0)
				exit(1);
		} else {
			put_seed(harness, e->d_name, text, n);
			if (cs_import_folded(&p, text, n, path) < 0)
				exit(1);
		}
		char *rname = cs_xasprintf("%s.data", e->d_name);
		put_recording(rname, &p);
		free(rname);
		cs_profile_release(&p);
		free(text);
		free(path);
	}
	closedir(d);
}

static void generated_folded(void)
{
	struct cs_buf b;
	cs_buf_init(&b);
	/* one deep chain, then a line that shares most of it */
	for (int i = 0; i < 300; i++)
		cs_buf_put(&b, i ? ";f" : "f", i ? 2 : 1);
	cs_buf_put(&b, " 3\n", 3);
	for (int i = 0; i < 299; i++)
		cs_buf_put(&b, i ? ";f" : "f", i ? 2 : 1);
	cs_buf_put(&b, ";g 2\n", 5);
	put_seed("folded", "deep", b.p, b.n);
	/* one chain deeper than the frame budget of a flamegraph (issue 14: the threshold
	 * that should fit it in rose until it wrapped, for ever) */
	b.n = 0;
	for (int i = 0; i < 100; i++)
		cs_buf_put(&b, i ? ";f" : "f", i ? 2 : 1);
	cs_buf_put(&b, " 1\n", 3);
	put_seed("folded", "deep-chain", b.p, b.n);
	/* many siblings of different weights */
	b.n = 0;
	for (int i = 0; i < 200; i++) {
		char line[64];
		int n = snprintf(line, sizeof(line), "main;fn%03d;leaf %d\n", i, i % 7 + 1);
		cs_buf_put(&b, line, (size_t)n);
	}
	put_seed("folded", "wide", b.p, b.n);
	cs_buf_release(&b);
	static const char odd[] = "a;;b 1\r\n"
				  " 2\n"
				  "x_[k];y_[j];z_[i] 1.6\n"
				  "sp ace;tab\tbed 999999999999999999\n"
				  "\xe2\x82\xac;\xff\xfe;\x1b]2;t\x07 4\n"
				  "a;b 0\n";
	put_seed("folded", "odd", odd, sizeof(odd) - 1);
	/* counts that are each in range but whose sum wraps (issue 14) */
	cs_buf_init(&b);
	for (int i = 0; i < 19; i++) {
		char line[64];
		int n = snprintf(line, sizeof(line), "f%d 1000000000000000000\n", i);
		cs_buf_put(&b, line, (size_t)n);
	}
	put_seed("folded", "sum-overflow", b.p, b.n);
	cs_buf_release(&b);
}

/* ---- leak-model programs (fuzz_leaks.c) ---- */

static void op_str(struct cs_buf *b, const char *s)
{
	cs_buf_put_str(b, s, strlen(s));
}

static void generated_leaks(void)
{
	struct cs_buf b;
	cs_buf_init(&b);
	cs_buf_put_u8(&b, FZ_OP_MODULE);
	cs_buf_put_u8(&b, CS_MODULE_MAIN);
	op_str(&b, "/usr/bin/prog");
	op_str(&b, "prog");
	cs_buf_put_u8(&b, FZ_OP_THREAD);
	cs_buf_put_uv(&b, 42);
	cs_buf_put_uv(&b, 43);
	op_str(&b, "worker");
	op_str(&b, "prog");
	const char *names[] = {"main", "alloc_a", "alloc_b", "malloc_wrapper"};
	for (size_t i = 0; i < CS_ARRAY_SIZE(names); i++) {
		cs_buf_put_u8(&b, FZ_OP_FRAME);
		cs_buf_put_u8(&b, i == 3 ? CS_FRAME_INLINE : 0);
		cs_buf_put_uv(&b, 0);
		op_str(&b, names[i]);
	}
	/* nodes 1: main, 2: main;alloc_a, 3: main;alloc_b, 4: main;alloc_b;malloc_wrapper */
	const uint32_t nodes[][2] = {{0, 0}, {1, 1}, {1, 2}, {3, 3}};
	for (size_t i = 0; i < CS_ARRAY_SIZE(nodes); i++) {
		cs_buf_put_u8(&b, FZ_OP_NODE);
		cs_buf_put_uv(&b, nodes[i][0]);
		cs_buf_put_uv(&b, nodes[i][1]);
	}
	cs_buf_put_u8(&b, FZ_OP_SAMPLE);
	cs_buf_put_uv(&b, 2);
	cs_buf_put_uv(&b, 0);
	cs_buf_put_uv(&b, 10);
	for (int i = 0; i < 4; i++) {
		cs_buf_put_u8(&b, FZ_OP_SNAPSHOT);
		cs_buf_put_f64(&b, i * 2.0);
		cs_buf_put_u8(&b, i == 2 ? 2 : 1);
		cs_buf_put_uv(&b, i == 2 ? 4096 : 0);
		cs_buf_put_uv(&b, (uint64_t)i);
		for (uint32_t s = 2; s <= 4; s++) {
			if (s == 3 && i == 1)
				continue;
			cs_buf_put_u8(&b, FZ_OP_SITE);
			cs_buf_put_uv(&b, s);
			cs_buf_put_uv(&b, s == 4 ? 100u * (i + 1) : 50);
			cs_buf_put_uv(&b, s == 4 ? (uint64_t)i + 1 : 1);
			cs_buf_put_uv(&b, 1000000000ull * (uint64_t)i);
		}
	}
	put_seed("leaks", "growth", b.p, b.n);
	cs_buf_release(&b);
}

/* ---- agent message streams (fuzz_agent.c) ---- */

static void msg(struct cs_buf *b, uint32_t type, const void *payload, size_t len)
{
	struct cs_msg m = {CS_AGENT_MAGIC, type, len};
	cs_buf_put(b, &m, sizeof(m));
	cs_buf_put(b, payload, len);
}

/* A SNAPSHOT of nsites sites of depth 1, 2, ... with flags. */
static void snapshot_msg(struct cs_buf *b, uint32_t flags, uint32_t nsites)
{
	struct cs_buf pl;
	cs_buf_init(&pl);
	struct cs_snap_header h = {.time_ns = 5000000000ull,
				   .flags = flags,
				   .nsites = nsites,
				   .sample_bytes = flags & CS_SNAP_SAMPLED ? 4096 : 0,
				   .untracked_frees = 3,
				   .allocs = 100,
				   .frees = 90};
	cs_buf_put(&pl, &h, sizeof(h));
	for (uint32_t i = 0; i < nsites; i++) {
		struct cs_snap_site s = {.bytes = 64u * (i + 1),
					 .blocks = i + 1,
					 .oldest_ns = 4000000000ull,
					 .allocs = 2 * (i + 1),
					 .alloc_bytes = 128u * (i + 1),
					 .depth = i + 1,
					 .truncated = i == 2};
		cs_buf_put(&pl, &s, sizeof(s));
		for (uint32_t d = 0; d <= i; d++) {
			uint64_t a = 0x401000 + 0x10 * d;
			cs_buf_put(&pl, &a, 8);
		}
	}
	msg(b, CS_MSG_SNAPSHOT, pl.p, pl.n);
	cs_buf_release(&pl);
}

static void generated_agent(void)
{
	struct cs_buf b;
	cs_buf_init(&b);
	snapshot_msg(&b, 0, 3);
	snapshot_msg(&b, CS_SNAP_INEXACT | CS_SNAP_SAMPLED, 2);
	snapshot_msg(&b, CS_SNAP_FINAL, 1);
	put_seed("agent", "snapshots", b.p, b.n);
	b.n = 0;
	/* an unknown message, an empty snapshot, then an error */
	msg(&b, 99, "junk", 4);
	snapshot_msg(&b, 0, 0);
	msg(&b, CS_MSG_ERROR, "agent gave up", 13);
	put_seed("agent", "unknown-error", b.p, b.n);
	b.n = 0;
	snapshot_msg(&b, 0, 4);
	msg(&b, CS_MSG_BYE, NULL, 0);
	put_seed("agent", "bye", b.p, b.n);
	cs_buf_release(&b);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: cs_fuzz_seeds OUTDIR SRCDIR\n");
		return 2;
	}
	outdir = argv[1];
	const char *src = argv[2];
	const char *harnesses[] = {"", "recording", "folded", "perf_script", "leaks", "agent"};
	for (size_t i = 0; i < CS_ARRAY_SIZE(harnesses); i++) {
		char *d = cs_xasprintf("%s/%s", outdir, harnesses[i]);
		if (mkdir(d, 0755) < 0 && errno != EEXIST)
			die("cannot create", d);
		free(d);
	}
	char *golden = cs_xasprintf("%s/tests/golden", src);
	char *mine = cs_xasprintf("%s/tests/fuzz/seeds", src);
	text_seeds(golden, ".folded", "folded", 0);
	text_seeds(golden, ".txt", "perf_script", 1);
	text_seeds(mine, ".folded", "folded", 0);
	text_seeds(mine, ".perf", "perf_script", 1);
	free(golden);
	free(mine);
	generated_folded();

	struct cs_profile p;
	cs_profile_init(&p);
	rich_profile(&p);
	put_recording("rich.data", &p);
	/* the same with off-CPU time (record --wall) */
	uint32_t st = p.samples.v[0].stack, th = p.samples.v[0].thread;
	cs_profile_add_time(&p, st, th, CS_TIME_BLOCKED, 123456789);
	cs_profile_add_time(&p, p.samples.v[1].stack, p.samples.v[1].thread, CS_TIME_PREEMPTED,
			    5000000);
	p.times.wall = 1;
	p.times.cpu_period_ns = 10101010;
	for (size_t i = 0; i < p.threads.n; i++) {
		struct cs_thread_time tt;
		memset(&tt, 0, sizeof(tt));
		tt.span_ns = 3000000000ull;
		tt.oncpu_ns = 1000000000ull * i;
		CS_VEC_PUSH(p.times.threads, tt);
	}
	put_recording("wall.data", &p);
	cs_profile_release(&p);
	regression_recordings();

	generated_leaks();
	generated_agent();
	printf("cs_fuzz_seeds: %d seeds in %s\n", nseeds, outdir);
	return 0;
}
