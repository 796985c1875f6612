/* Unit tests of the folded, report and leak views: shares, recursion, columns that
 * match --by, escaping of hostile names, counts that do not fit in 64 bits, and a
 * 200,000-frame chain reported in linear time. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profile/import.h"
#include "render/render.h"

static char *render_fold(struct cs_profile *p, const struct cs_fold_opts *o)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	cr_assert_eq(cs_render_folded(p, o, f), 0);
	fclose(f);
	return buf;
}

static void load_text(struct cs_profile *p, const char *text)
{
	cs_profile_init(p);
	cr_assert_eq(cs_import_folded(p, text, strlen(text), "t"), 0);
}

Test(fold, sorted_merged_round_trip)
{
	struct cs_profile p;
	load_text(&p, "main;b 1\nmain;a;x 2\nmain;b 4\nmain;k_[k] 3\n");
	struct cs_fold_opts o = {0};
	o.annotate_kernel = 1;
	char *out = render_fold(&p, &o);
	cr_expect_str_eq(out, "main;a;x 2\nmain;b 5\nmain;k_[k] 3\n");
	free(out);
	cs_profile_release(&p);
}

Test(fold, hostile_names_cannot_split_frames)
{
	struct cs_profile p;
	cs_profile_init(&p);
	struct cs_frame f = {0};
	f.module = CS_NONE;
	f.func = cs_profile_cstr(&p, "evil;name\nnext 99");
	uint32_t fr = cs_profile_frame(&p, &f);
	cs_profile_add(&p, cs_profile_stack(&p, &fr, 1), CS_NONE, 1);
	struct cs_fold_opts o = {0};
	char *out = render_fold(&p, &o);
	cr_expect_str_eq(out, "evil:name next 99 1\n");
	free(out);
	cs_profile_release(&p);
}

/* --lines: " (BASE:LINE)" after frames whose line is known, Python frames as any other;
 * two lines of one function are two stacks; a hostile file name cannot split a frame. */
Test(fold, lines_after_frames_whose_line_is_known)
{
	struct cs_profile p;
	cs_profile_init(&p);
	struct cs_frame f = {0};
	f.module = CS_NONE;
	f.func = cs_profile_cstr(&p, "main");
	uint32_t fr[3];
	fr[0] = cs_profile_frame(&p, &f);
	f.func = cs_profile_cstr(&p, "Worker.alpha");
	f.file = cs_profile_cstr(&p, "/srv/app/work.py");
	f.flags = CS_FRAME_PYTHON;
	f.line = 8;
	fr[1] = cs_profile_frame(&p, &f);
	f.func = cs_profile_cstr(&p, "deflate");
	f.file = cs_profile_cstr(&p, "dir/we;ird\nname.c");
	f.flags = 0;
	f.line = 3;
	fr[2] = cs_profile_frame(&p, &f);
	cs_profile_add(&p, cs_profile_stack(&p, fr, 3), CS_NONE, 2);
	f.func = cs_profile_cstr(&p, "Worker.alpha");
	f.file = cs_profile_cstr(&p, "/srv/app/work.py");
	f.flags = CS_FRAME_PYTHON;
	f.line = 9;
	fr[1] = cs_profile_frame(&p, &f);
	cs_profile_add(&p, cs_profile_stack(&p, fr, 2), CS_NONE, 5);
	struct cs_fold_opts o = {0};
	o.lines = 1;
	char *out = render_fold(&p, &o);
	cr_expect_str_eq(out, "main;Worker.alpha (work.py:8);deflate (we:ird name.c:3) 2\n"
			      "main;Worker.alpha (work.py:9) 5\n");
	free(out);
	o.lines = 0;
	out = render_fold(&p, &o);
	cr_expect_str_eq(out, "main;Worker.alpha 5\nmain;Worker.alpha;deflate 2\n");
	free(out);
	cs_profile_release(&p);
}

Test(fold, per_thread_root)
{
	struct cs_profile p;
	cs_profile_init(&p);
	struct cs_frame f = {0};
	f.module = CS_NONE;
	f.func = cs_profile_cstr(&p, "main");
	uint32_t fr = cs_profile_frame(&p, &f);
	uint32_t st = cs_profile_stack(&p, &fr, 1);
	uint32_t t1 =
	    cs_profile_thread(&p, 10, 10, cs_profile_cstr(&p, "prog"), cs_profile_cstr(&p, "prog"));
	uint32_t t2 = cs_profile_thread(&p, 10, 11, cs_profile_cstr(&p, "worker"),
					cs_profile_cstr(&p, "prog"));
	cs_profile_add(&p, st, t1, 2);
	cs_profile_add(&p, st, t2, 3);
	struct cs_fold_opts o = {0};
	o.thread_root = CS_ROOT_THREAD;
	char *out = render_fold(&p, &o);
	cr_expect_str_eq(out, "prog-10;main 2\nworker-11;main 3\n");
	free(out);
	o.thread_root = CS_ROOT_PID;
	out = render_fold(&p, &o);
	cr_expect_str_eq(out, "prog-10;main 5\n");
	free(out);
	cs_profile_release(&p);
}

static const struct cs_hotspot *find(const struct cs_profile *p, struct cs_hotspot *rows, size_t n,
				     const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(cs_str(p, rows[i].func), name))
			return &rows[i];
	return NULL;
}

Test(report, self_and_total_count_recursion_once)
{
	struct cs_profile p;
	load_text(&p, "main;f;f;f;g 4\nmain;f 6\nmain;h 10\n");
	struct cs_hotspot *rows;
	size_t n = cs_hotspots(&p, CS_BY_FUNCTION, 0, &rows);
	const struct cs_hotspot *f = find(&p, rows, n, "f"), *m = find(&p, rows, n, "main");
	const struct cs_hotspot *g = find(&p, rows, n, "g");
	cr_assert(f && m && g);
	cr_expect_eq(f->self, 6);
	cr_expect_eq(f->total, 10);
	cr_expect_eq(m->total, 20);
	cr_expect_eq(m->self, 0);
	cr_expect_eq(g->self, 4);
	free(rows);
	cs_profile_release(&p);
}

Test(report, json_is_escaped)
{
	struct cs_profile p;
	load_text(&p, "main;we\"ird\\name\x01 2\n");
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	struct cs_report_opts o = {0};
	o.format = CS_FMT_JSON;
	cr_assert_eq(cs_render_report(&p, &o, f), 0);
	fclose(f);
	cr_expect(strstr(buf, "\"function\": \"we\\\"ird\\\\name\\u0001\""), "%s", buf);
	cr_expect(strstr(buf, "\"total_samples\": 2"));
	free(buf);
	cs_profile_release(&p);
}

Test(report, callers_and_callees)
{
	struct cs_profile p;
	load_text(&p, "main;a;leaf 3\nmain;b;leaf 1\nmain;leaf 1\n");
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	struct cs_report_opts o = {0};
	o.format = CS_FMT_CSV;
	o.callers = "leaf";
	cr_assert_eq(cs_render_report(&p, &o, f), 0);
	fclose(f);
	cr_expect_str_eq(buf, "function,module,samples,pct_of_function,pct\n"
			      "a,,3,60.00,60.00\nb,,1,20.00,20.00\nmain,,1,20.00,20.00\n");
	free(buf);
	cs_profile_release(&p);
}

/* ---- helpers ---- */

static char *report(const struct cs_profile *p, const struct cs_report_opts *o)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	cr_assert_eq(cs_render_report(p, o, f), 0);
	fclose(f);
	return buf;
}

static uint32_t frame_of(struct cs_profile *p, const char *name, uint32_t module, uint32_t flags)
{
	struct cs_frame f = {0};
	f.func = cs_profile_cstr(p, name);
	f.module = module;
	f.flags = flags;
	return cs_profile_frame(p, &f);
}

static uint32_t module_of(struct cs_profile *p, const char *name)
{
	struct cs_module m = {0};
	m.path = m.name = cs_profile_cstr(p, name);
	return cs_profile_module(p, &m);
}

/* Write text to a temporary file and load it as csampler would. */
static int load_file(struct cs_profile *p, const char *text, size_t len)
{
	char path[] = "/tmp/cs_test_render_XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	cs_profile_init(p);
	int r = cs_profile_load(p, path, NULL);
	unlink(path);
	return r;
}

/* ---- columns and fields that match --by ---- */

Test(report, columns_match_by)
{
	struct cs_profile p;
	load_text(&p, "main;a 3\nmain;b 1\n");
	struct cs_report_opts o = {0};
	o.by = CS_BY_MODULE;
	char *out = report(&p, &o);
	cr_expect(strstr(out, "   total  module\n"), "%s", out);
	cr_expect(!strstr(out, "module  module"), "%s", out);
	free(out);
	o.format = CS_FMT_CSV;
	out = report(&p, &o);
	cr_expect_str_eq(out,
			 "module,self,total,self_pct,total_pct\n[unknown],4,4,100.00,100.00\n");
	free(out);
	o.by = CS_BY_THREAD;
	out = report(&p, &o);
	cr_expect_str_eq(
	    out, "thread,tid,pid,self,total,self_pct,total_pct\nall,0,0,4,4,100.00,100.00\n");
	free(out);
	o.format = CS_FMT_TEXT;
	out = report(&p, &o);
	cr_expect(strstr(out, "total  thread    pid\n"), "%s", out);
	cr_expect(strstr(out, "# 4 samples\n"), "%s", out);
	free(out);
	cs_profile_release(&p);

	load_text(&p, "main 1\n");
	o.by = CS_BY_FUNCTION;
	out = report(&p, &o);
	cr_expect(strstr(out, "# 1 sample\n"), "%s", out); /* not "1 samples" */
	free(out);
	cs_profile_release(&p);
}

Test(report, recording_header_singular_and_exact_json_integers)
{
	struct cs_profile p;
	load_text(&p, "main 1\n");
	p.meta.source = CS_SOURCE_RECORDING;
	p.meta.hz = 99;
	p.meta.event = cs_profile_cstr(&p, "cpu-clock");
	p.stats.threads = p.stats.processes = 1;
	struct cs_tick t = {0, 55283712, 3, 7, 12.5, 1};
	CS_VEC_PUSH(p.timeline, t);
	t.rss = 1ull << 60;
	CS_VEC_PUSH(p.timeline, t);
	struct cs_report_opts o = {0};
	char *out = report(&p, &o);
	cr_expect(strstr(out, "(cpu-clock), 1 thread in 1 process\n"), "%s", out);
	free(out);
	o.format = CS_FMT_JSON;
	out = report(&p, &o);
	cr_expect(strstr(out, "\"rss_bytes\": {\"start\": 55283712, \"peak\": 1152921504606846976, "
			      "\"end\": 1152921504606846976}"),
		  "%s", out);
	cr_expect(strstr(out, "\"threads\": {\"start\": 3, \"peak\": 3, \"end\": 3}"), "%s", out);
	free(out);
	cs_profile_release(&p);
}

/* ---- callers of a C++ function named without its parameters ---- */

Test(report, callers_of_a_cpp_name_without_parameters)
{
	struct cs_profile p;
	load_text(&p, "main;ns::f(int) 2\nrun;ns::f(double) const 1\nmain;ns::fx 5\n");
	struct cs_report_opts o = {0};
	o.format = CS_FMT_CSV;
	o.callers = "ns::f";
	char *out = report(&p, &o);
	cr_expect_str_eq(out, "function,module,samples,pct_of_function,pct\n"
			      "main,,2,66.67,25.00\nrun,,1,33.33,12.50\n");
	free(out);
	o.callers = "ns::f(double) const"; /* the full name still works */
	out = report(&p, &o);
	cr_expect_str_eq(out, "function,module,samples,pct_of_function,pct\nrun,,1,100.00,12.50\n");
	free(out);
	cs_profile_release(&p);
}

/* ---- a stripped binary's frames: one row per module unless asked ---- */

Test(report, frames_without_symbols_grouped_per_module)
{
	struct cs_profile p;
	cs_profile_init(&p);
	uint32_t m = module_of(&p, "libz.so.1");
	uint32_t fr[3] = {frame_of(&p, "main", CS_NONE, 0),
			  frame_of(&p, "libz.so.1+0x10", m, CS_FRAME_UNKNOWN),
			  frame_of(&p, "libz.so.1+0x20", m, CS_FRAME_UNKNOWN)};
	uint32_t a[2] = {fr[0], fr[1]}, b[2] = {fr[0], fr[2]};
	cs_profile_add(&p, cs_profile_stack(&p, a, 2), CS_NONE, 3);
	cs_profile_add(&p, cs_profile_stack(&p, b, 2), CS_NONE, 1);
	struct cs_report_opts o = {0};
	o.format = CS_FMT_CSV;
	char *out = report(&p, &o);
	cr_expect_str_eq(out, "function,module,file,line,self,total,self_pct,total_pct\n"
			      "[libz.so.1],libz.so.1,,0,4,4,100.00,100.00\n"
			      "main,,,0,0,4,0.00,100.00\n");
	free(out);
	o.addrs = 1;
	out = report(&p, &o);
	cr_expect_str_eq(out, "function,module,file,line,self,total,self_pct,total_pct\n"
			      "libz.so.1+0x10,libz.so.1,,0,3,3,75.00,75.00\n"
			      "libz.so.1+0x20,libz.so.1,,0,1,1,25.00,25.00\n"
			      "main,,,0,0,4,0.00,100.00\n");
	free(out);
	cs_profile_release(&p);
}

/* ---- hostile names never reach the terminal as control characters ---- */

Test(report, control_characters_escaped_in_text_and_csv)
{
	const char *evil = "evil\x1b]2;owned\x07\x1b[2J\xc2\x9b"
			   "1m\xff";
	struct cs_profile p;
	cs_profile_init(&p);
	uint32_t m = module_of(&p, "lib\x1b[31mred.so");
	uint32_t fr = frame_of(&p, evil, m, 0);
	cs_profile_add(&p, cs_profile_stack(&p, &fr, 1), CS_NONE, 2);
	p.meta.command = cs_profile_cstr(&p, "prog \x1b[2J");
	struct cs_report_opts o = {0};
	for (int fmt = CS_FMT_TEXT; fmt <= CS_FMT_CSV; fmt++) {
		o.format = fmt;
		o.callers = NULL;
		for (int rel = 0; rel < 2; rel++) {
			o.callees = rel ? evil : NULL;
			char *out = report(&p, &o);
			for (const char *c = out; *c; c++) {
				unsigned char u = (unsigned char)*c;
				cr_expect(u >= 0x20 || u == '\n', "control byte 0x%02x in %s", u,
					  out);
				cr_expect(u != 0x7f && u != 0xff);
				if (u == 0xc2)
					cr_expect((unsigned char)c[1] > 0x9f, "C1 control in %s",
						  out);
			}
			if (fmt != CS_FMT_JSON && !rel)
				cr_expect(
				    strstr(out, "evil\\x1b]2;owned\\x07\\x1b[2J\\xc2\\x9b1m\\xff"),
				    "%s", out);
			if (fmt == CS_FMT_JSON && !rel)
				cr_expect(
				    strstr(out,
					   "evil\\u001b]2;owned\\u0007\\u001b[2J\\u009b1m\\ufffd"),
				    "%s", out);
			free(out);
		}
	}
	cs_profile_release(&p);
}

/* ---- counts that do not fit in 64 bits: refused with one line ---- */

Test(report, folded_counts_past_64_bits_refused)
{
	/* 19 lines of 10^18 (the largest count a line may have) */
	char text[4096];
	size_t n = 0;
	for (int i = 0; i < 19; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "main;f%d 1000000000000000000\n",
				      i);
	struct cs_profile p;
	cr_expect_eq(load_file(&p, text, n), -1);
	cs_profile_release(&p);
	/* exactly 2^64 in all, on one stack */
	n = 0;
	for (int i = 0; i < 18; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "main;f 1000000000000000000\n");
	n += (size_t)snprintf(text + n, sizeof(text) - n, "main;f 446744073709551616\n");
	cr_expect_eq(load_file(&p, text, n), -1);
	cs_profile_release(&p);
	/* two less: counted, and shown as the whole */
	text[n - 2] = '4';
	cr_assert_eq(load_file(&p, text, n), 0);
	struct cs_report_opts o = {0};
	o.format = CS_FMT_CSV;
	char *out = report(&p, &o);
	cr_expect(strstr(out, "f,,,0,18446744073709551614,18446744073709551614,100.00,100.00\n"),
		  "%s", out);
	free(out);
	cs_profile_release(&p);
}

Test(report, recording_counts_past_64_bits_refused)
{
	struct cs_profile p;
	cs_profile_init(&p);
	p.meta.source = CS_SOURCE_RECORDING;
	for (int i = 0; i < 5; i++) {
		char name[16];
		snprintf(name, sizeof(name), "f%d", i);
		uint32_t fr = frame_of(&p, name, CS_NONE, 0);
		cs_profile_add(&p, cs_profile_stack(&p, &fr, 1), CS_NONE, (1ull << 62) - 1);
	}
	char dir[] = "/tmp/cs_test_rec_XXXXXX";
	cr_assert(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof(path), "%s/x.data", dir);
	cr_assert_eq(cs_profile_write(&p, path), 0);
	cs_profile_release(&p);
	cs_profile_init(&p);
	cr_expect_eq(cs_profile_load(&p, path, NULL), -1);
	cs_profile_release(&p);
	unlink(path);
	rmdir(dir);
}

/* ---- a 200,000-frame chain: linear, so well within the time bound ---- */

Test(report, deep_chain_is_linear, .timeout = 60)
{
	enum { DEPTH = 200000 };
	struct cs_profile p;
	cs_profile_init(&p);
	uint32_t *frames = malloc(DEPTH * sizeof(uint32_t));
	char name[32];
	for (int i = 0; i < DEPTH; i++) {
		/* half distinct functions, half one recursive function */
		snprintf(name, sizeof(name), "f%d", i % 2 ? i : 1);
		frames[i] = frame_of(&p, name, CS_NONE, 0);
	}
	uint32_t leaf = cs_profile_chain(&p, 0, frames, DEPTH);
	cr_assert_eq(leaf, DEPTH);
	/* a sample at every node: the worst case of a walk to the root per node */
	for (uint32_t n = 1; n <= DEPTH; n++)
		cs_profile_add(&p, n, CS_NONE, 1);
	struct cs_hotspot *rows;
	size_t nrows = cs_hotspots(&p, CS_BY_FUNCTION, 0, &rows);
	cr_expect_eq(nrows, DEPTH / 2);
	const struct cs_hotspot *f1 = find(&p, rows, nrows, "f1"),
				*f3 = find(&p, rows, nrows, "f3");
	cr_assert(f1 && f3);
	cr_expect_eq(f1->total, DEPTH); /* every stack, once, however deep it recurs */
	cr_expect_eq(f1->self, DEPTH / 2 + 1);
	cr_expect_eq(f3->total, DEPTH - 3);
	free(rows);
	struct cs_report_opts o = {0};
	o.format = CS_FMT_CSV;
	o.top = 3;
	o.callers = "f1";
	char *out = report(&p, &o);
	cr_expect(strstr(out, "[root],,200000,100.00,100.00\n"), "%s", out);
	free(out);
	o.callers = NULL;
	o.callees = "f3";
	out = report(&p, &o);
	cr_expect(strstr(out, "function,module,samples,pct_of_function,pct\nf1,,199996,"), "%s",
		  out);
	free(out);
	free(frames);
	cs_profile_release(&p);
}

/* ---- leaks: figures from a hostile file ---- */

static void snapshot(struct cs_profile *p, double t, const uint32_t *stacks, const uint64_t *bytes,
		     size_t n)
{
	struct cs_leak_snapshot s;
	memset(&s, 0, sizeof(s));
	s.time_s = t;
	s.exact = 1;
	for (size_t i = 0; i < n; i++) {
		struct cs_leak_site site = {stacks[i], bytes[i], 1, 0};
		CS_VEC_PUSH(s.sites, site);
	}
	CS_VEC_PUSH(p->leaks, s);
}

static char *leaks(const struct cs_profile *p, const struct cs_leak_report_opts *o, int *ret)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	*ret = cs_render_leaks(p, o, f);
	fclose(f);
	return buf;
}

Test(leaks, suspects_and_growth_never_wrap)
{
	struct cs_profile p;
	cs_profile_init(&p);
	uint32_t fr = frame_of(&p, "grow", CS_NONE, 0), fr2 = frame_of(&p, "big", CS_NONE, 0);
	uint32_t s = cs_profile_stack(&p, &fr, 1), t = cs_profile_stack(&p, &fr2, 1);
	uint32_t one[1] = {s}, twice[2] = {s, s}, both[2] = {s, t};
	uint64_t b0[1] = {100}, b1[1] = {200}, b2[1] = {300}, b3[2] = {400, 50};
	snapshot(&p, 1, one, b0, 1);
	snapshot(&p, 2, one, b1, 1);
	snapshot(&p, 3, one, b2, 1);
	snapshot(&p, 4, twice, b3, 2); /* the file lists the stack twice: one site of 450 */
	uint64_t bx[2] = {500, (1ull << 63) + 5};
	snapshot(&p, 5, both, bx, 2);
	struct cs_leak_report_opts o = {0};
	int ret;
	o.snapshot = 4;
	char *out = leaks(&p, &o, &ret);
	cr_expect_eq(ret, 0);
	cr_expect(!strstr(out, "from 100 to 50 bytes"), "%s", out);
	free(out);
	/* the suspect of the last snapshot: rose 100 -> 500 */
	o.snapshot = 0;
	out = leaks(&p, &o, &ret);
	cr_expect(strstr(out, "  1. +100 bytes/s: from 100 to 500 bytes over 5 snapshots"), "%s",
		  out);
	cr_expect(!strstr(out, "  2. +"), "%s", out);
	free(out);
	/* growth of 2^63 + 5 bytes, and a fall of 2^63 + 5 */
	o.diff_a = 4;
	o.diff_b = 5;
	out = leaks(&p, &o, &ret);
	cr_expect(strstr(out, "  1. +9223372036854775813 bytes, +1 blocks\n"), "%s", out);
	free(out);
	o.diff_a = 5;
	o.diff_b = 1;
	o.format = CS_FMT_JSON;
	out = leaks(&p, &o, &ret);
	cr_expect(strstr(out, "\"bytes\": -9223372036854775813, \"blocks\": -1}"), "%s", out);
	free(out);
	/* a snapshot whose bytes add up past 64 bits is refused */
	uint64_t by[2] = {1ull << 63, 1ull << 63};
	snapshot(&p, 6, both, by, 2);
	o.diff_a = o.diff_b = 0;
	o.format = CS_FMT_TEXT;
	out = leaks(&p, &o, &ret);
	cr_expect_eq(ret, -1);
	free(out);
	struct cs_profile q;
	cs_profile_init(&q);
	struct cs_leak_flame_opts lo = {6, CS_COST_LEAKED, 0, 0};
	int several;
	cr_expect_eq(cs_leak_profile(&p, &lo, &q, &several), -1);
	cs_profile_release(&q);
	cs_profile_release(&p);
}
