/* Unit tests of the perf script importer: stacks exactly as stackcollapse-perf.pl makes
 * them (fold's default, with --pid, --tid, --kernel, --jit, --all, --addrs), one input
 * per rule of the script; the sturdier reading of report, flame and fold --robust;
 * period weighting; honest frame and module flags, threads, event filtering, format
 * detection, and report on perf script input. The inputs are written here: none is
 * taken from FlameGraph. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profile/import.h"
#include "render/render.h"

enum { PID = 1, TID = 2, KERNEL = 4, JIT = 8, ADDRS = 16, ROBUST = 32 };

static void load(struct cs_profile *p, const char *text, int opts)
{
	struct cs_import_opts o = {0};
	o.pid = !!(opts & PID);
	o.tid = !!(opts & TID);
	o.addrs = !!(opts & ADDRS);
	o.kernel = !!(opts & KERNEL);
	o.jit = !!(opts & JIT);
	o.compat = !(opts & ROBUST);
	cs_profile_init(p);
	cr_assert(cs_looks_perf_script(text, strlen(text)), "detected as perf script");
	cr_assert_eq(cs_import_perf_script(p, text, strlen(text), "t", &o), 0);
	cr_assert_eq(p->meta.source, CS_SOURCE_PERF_SCRIPT);
}

/* What `csampler fold` prints for perf script input with these options. */
static char *fold(const char *text, int opts)
{
	struct cs_profile p;
	load(&p, text, opts);
	struct cs_fold_opts fo = {0};
	if (opts & ROBUST) {
		fo.annotate_inline = 1;
		fo.annotate_kernel = !!(opts & KERNEL);
		fo.annotate_jit = !!(opts & JIT);
	} else {
		fo.zero_lines = 1;
	}
	fo.thread_root = opts & TID ? CS_ROOT_TID : opts & PID ? CS_ROOT_PID : CS_ROOT_COMM;
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	cr_assert_eq(cs_render_folded(&p, &fo, f), 0);
	fclose(f);
	cs_profile_release(&p);
	return buf;
}

static const char basic[] = "# ========\n"
			    "# cmdline : /usr/bin/perf record -g ./prog\n"
			    "# ========\n"
			    "#\n"
			    "prog  4243 [001] 5.100: 1001001 cpu-clock:ppp: \n"
			    "\tffffffff8103ce3b native_safe_halt+0x1b ([kernel.kallsyms])\n"
			    "\t    7f00000011a0 work(int, char const*)+0x1f (/usr/bin/prog)\n"
			    "\t    7f0000002000 [unknown] (/usr/lib/libfoo.so.1)\n"
			    "\t    7f0000001100 main+0x30 (/usr/bin/prog)\n"
			    "\t               0 [unknown] ([unknown])\n"
			    "\n"
			    "prog  4243 [001] 5.200: 1001001 cpu-clock:ppp: \n"
			    "\t    7f00000011a0 work(int, char const*)+0x1f (/usr/bin/prog)\n"
			    "\t    7f0000001100 main+0x30 (/usr/bin/prog)\n"
			    "\t               0 [unknown] ([unknown])\n"
			    "\n";

Test(perf_script, default_stacks_as_stackcollapse)
{
	char *out = fold(basic, 0);
	cr_expect_str_eq(out, "prog;[unknown];main;[libfoo.so.1];work;native_safe_halt 1001001\n"
			      "prog;[unknown];main;work 1001001\n");
	free(out);
}

Test(perf_script, pid_tid_kernel_addrs)
{
	char *out = fold(basic, PID | KERNEL);
	cr_expect_str_eq(out,
			 "prog-?;[unknown];main;[libfoo.so.1];work;native_safe_halt_[k] 1001001\n"
			 "prog-?;[unknown];main;work 1001001\n");
	free(out);
	out = fold(basic, TID | ADDRS);
	cr_expect_str_eq(out, "prog-?/4243;[unknown <0>];main;[libfoo.so.1 <7f0000002000>];work;"
			      "native_safe_halt 1001001\n"
			      "prog-?/4243;[unknown <0>];main;work 1001001\n");
	free(out);
	/* with a pid in the header */
	const char *both = "V8 WorkerThread 4242/4243 [000] 1.0: cycles:\n"
			   "\t1 f (/bin/x)\n\n"
			   "V8 WorkerThread 4242/4244 [000] 1.1: cycles:\n"
			   "\t1 f (/bin/x)\n\n";
	out = fold(both, PID);
	cr_expect_str_eq(out, "V8_WorkerThread-4242;f 2\n");
	free(out);
	out = fold(both, TID);
	cr_expect_str_eq(out, "V8_WorkerThread-4242/4243;f 1\nV8_WorkerThread-4242/4244;f 1\n");
	free(out);
	out = fold(both, 0);
	cr_expect_str_eq(out, "V8_WorkerThread;f 2\n");
	free(out);
}

Test(perf_script, model_flags_threads_modules)
{
	struct cs_profile p;
	load(&p, basic, ROBUST);
	cr_expect_eq(p.stats.samples, 2);
	cr_expect_eq(cs_profile_total(&p), 2002002); /* weighted by period */
	cr_expect_str_eq(cs_str(&p, p.meta.command), "/usr/bin/perf record -g ./prog");
	cr_expect_str_eq(cs_str(&p, p.meta.event), "cpu-clock:ppp");
	cr_assert_eq(p.threads.n, 1);
	cr_expect_eq(p.threads.v[0].tid, 4243);
	cr_expect_eq(p.threads.v[0].pid, CS_NONE);
	cr_expect_str_eq(cs_str(&p, p.threads.v[0].name), "prog");
	int seen = 0;
	for (size_t i = 0; i < p.frames.n; i++) {
		const struct cs_frame *f = &p.frames.v[i];
		const char *name = cs_str(&p, f->func), *mod = cs_module_name(&p, f->module);
		uint32_t mflags = f->module == CS_NONE ? 0 : p.modules.v[f->module].flags;
		if (!strcmp(name, "native_safe_halt")) {
			cr_expect_eq(f->flags, CS_FRAME_KERNEL);
			cr_expect_str_eq(mod, "[kernel.kallsyms]");
			cr_expect_eq(mflags, CS_MODULE_KERNEL);
			seen |= 1;
		} else if (!strcmp(name, "work")) {
			cr_expect_eq(f->flags, 0);
			cr_expect_str_eq(mod, "prog");
			cr_expect_eq(mflags, CS_MODULE_MAIN);
			seen |= 2;
		} else if (!strcmp(name, "[libfoo.so.1]")) {
			cr_expect_eq(f->flags, CS_FRAME_UNKNOWN);
			cr_expect_str_eq(mod, "libfoo.so.1");
			cr_expect_eq(mflags, 0);
			seen |= 4;
		} else if (!strcmp(name, "[unknown]")) {
			cr_expect_eq(f->flags, CS_FRAME_UNKNOWN);
			cr_expect_eq(f->module, CS_NONE);
			seen |= 8;
		}
	}
	cr_expect_eq(seen, 15);
	cs_profile_release(&p);
}

Test(perf_script, names_tidied_like_the_perl_script)
{
	const char *text = "prog 10 1.0: 1 cycles:\n"
			   "\t1 net/http.(*Client).Do+0x10 (/bin/x)\n"
			   "\t2 (anonymous namespace)::helper(int)+0x4 (/bin/x)\n"
			   "\t3 RegExp:[\"'x]+0x1 (/bin/x)\n"
			   "\t4 std::map<int; int>::find(int const&) const (/bin/x)\n"
			   "\t5 base+0x800047c022ec (/bin/x)\n"
			   "\t6 name+0xZZ (/bin/x)\n"
			   "\t7 (prog) (/bin/x)\n"
			   "\t8  (/bin/x)\n"
			   "\n";
	char *out = fold(text, 0);
	/* "(anonymous namespace)::helper" starts with '(' and is dropped, as the script
	 * drops what it takes for a process name; the frame without a symbol takes the
	 * blank before the module for its name, as the script's pattern does */
	cr_expect_str_eq(out, "prog; ;name+0xZZ;base;std::map<int: int>::find;RegExp:[x];"
			      "net/http.(*Client).Do 1\n");
	free(out);
	out = fold(text, ROBUST); /* named after its module */
	cr_expect_str_eq(out, "prog;[x];name+0xZZ;base;std::map<int: int>::find;RegExp:[x];"
			      "net/http.(*Client).Do 1\n");
	free(out);
}

Test(perf_script, java_jit_and_inline_chains)
{
	const char *text =
	    "java 25607/25610 [002] 4794564.109216: 10309278 cpu-clock:\n"
	    "\t7f722d142778 Lorg/mozilla/javascript/Context;.call(Ljava/lang/Object;)V "
	    "(/tmp/perf-25607.map)\n"
	    "\t7f722d142700 Lcom/a/B;.outer->Lcom/a/C;.inner (/tmp/perf-25607.map)\n"
	    "\t7f722d100000 JavaMain (/usr/lib/jvm/lib/libjli.so)\n"
	    "\n";
	char *out = fold(text, 0);
	cr_expect_str_eq(out, "java;JavaMain;com/a/B:.outer;com/a/C:.inner_[i];"
			      "org/mozilla/javascript/Context:.call 10309278\n");
	free(out);
	out = fold(text, JIT | KERNEL);
	cr_expect_str_eq(out, "java;JavaMain;com/a/B:.outer_[j];com/a/C:.inner_[i];"
			      "org/mozilla/javascript/Context:.call_[j] 10309278\n");
	free(out);
	/* with --pid the process root is not "java": no Java tidying, as in the script */
	out = fold(text, PID);
	cr_expect_str_eq(out, "java-25607;JavaMain;Lcom/a/B:.outer;Lcom/a/C:.inner_[i];"
			      "Lorg/mozilla/javascript/Context:.call 10309278\n");
	free(out);
	struct cs_profile p;
	load(&p, text, 0);
	int jit = 0, inl = 0;
	for (size_t i = 0; i < p.frames.n; i++) {
		jit += !!(p.frames.v[i].flags & CS_FRAME_JIT);
		inl += !!(p.frames.v[i].flags & CS_FRAME_INLINE);
	}
	cr_expect_eq(jit, 3);
	cr_expect_eq(inl, 1);
	cs_profile_release(&p);
}

Test(perf_script, perf_inlined_frames_and_srclines)
{
	const char *text = "prog 10 1.0: 1 cycles:\n"
			   "\t118c inner (inlined)\n"
			   "\t118c outer+0x1c (/bin/prog)\n"
			   "  prog.c:12\n"
			   "\t1000 main+0x10 (/bin/prog)\n"
			   "  [kernel.kallsyms][ffffffff8158c0e6]\n"
			   "\n";
	struct cs_profile p;
	load(&p, text, ROBUST);
	/* walk the sample's stack: main, outer (with its source line), inner */
	int checked = 0;
	cr_assert_eq(p.samples.n, 1);
	for (uint32_t n = p.samples.v[0].stack; n; n = p.nodes.v[n].parent) {
		const struct cs_frame *f = &p.frames.v[p.nodes.v[n].frame];
		if (!strcmp(cs_str(&p, f->func), "inner")) {
			cr_expect_eq(f->flags, CS_FRAME_INLINE);
			cr_expect_str_eq(cs_module_name(&p, f->module), "prog");
			checked |= 1;
		}
		if (!strcmp(cs_str(&p, f->func), "outer")) {
			cr_expect_str_eq(cs_str(&p, f->file), "prog.c");
			cr_expect_eq(f->line, 12);
			checked |= 2;
		}
	}
	cr_expect_eq(checked, 3);
	cs_profile_release(&p);
	char *out = fold(text, ROBUST);
	cr_expect_str_eq(out, "prog;main;outer;inner_[i] 1\n");
	free(out);
}

Test(perf_script, only_the_first_event_type)
{
	const char *text = "prog 10 1.0: 1000 cycles:u:\n\t1 a (/bin/x)\n\n"
			   "prog 10 1.1: 500 instructions:u:\n\t1 b (/bin/x)\n\n"
			   "prog 10 1.2: 1000 cycles:u:\n\t1 c (/bin/x)\n\n";
	char *out = fold(text, 0);
	cr_expect_str_eq(out, "prog;a 1000\nprog;c 1000\n");
	free(out);
}

Test(perf_script, one_line_samples_empty_stacks_crlf_and_eof)
{
	/* perf script without call chains: right-aligned names, one frame per line */
	const char *flat =
	    "              sh  6004   578.973819:    1001001 cpu-clock:ppp:  ffffffff821efaa7 "
	    "exc_page_fault+0xd7 ([kernel.kallsyms])\n"
	    "             seq  6006   578.974873:    1001001 cpu-clock:ppp:      7f1f813720c0 "
	    "do_lookup_x+0x360 (/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2)\n"
	    "              sh  6004   578.976341:    1001001 cpu-clock:ppp:  ffffffff821efaa7 "
	    "exc_page_fault+0xd7 ([kernel.kallsyms])\n";
	char *out = fold(flat, KERNEL | ROBUST);
	cr_expect_str_eq(out, "seq;do_lookup_x 1001001\nsh;exc_page_fault_[k] 2002002\n");
	free(out);
	/* the script recognizes no header there (the names are indented) and keeps nothing */
	out = fold(flat, KERNEL);
	cr_expect_str_eq(out, "");
	free(out);
	/* a sample without frames still counts for its process; CRLF; no blank at the end */
	const char *odd = "prog 10 1.0: 1 cycles:\r\n\r\n"
			  "prog 10 1.1: 1 cycles:\r\n\t1 a (/bin/x)\r\n\r\n"
			  "prog 10 1.2: 1 cycles:\n\t1 a (/bin/x)";
	out = fold(odd, ROBUST);
	cr_expect_str_eq(out, "prog 1\nprog;a 2\n");
	free(out);
	/* the script: a "\r" line ends nothing, and the last sample has no empty line */
	out = fold(odd, 0);
	cr_expect_str_eq(out, "");
	free(out);
}

Test(perf_script, detection)
{
	const char *folded = "main;a;b 12\nmain;c 3\n";
	cr_expect(!cs_looks_perf_script(folded, strlen(folded)));
	cr_expect(!cs_looks_folded(basic, strlen(basic)));
	const char *junk = "hello world\nthis is not perf\n";
	cr_expect(!cs_looks_perf_script(junk, strlen(junk)));
	const char *header_only = "prog 10 1.0: 1 cycles:\n\tnot a frame line\n\n";
	cr_expect(!cs_looks_perf_script(header_only, strlen(header_only)));
}

Test(perf_script, report_by_thread_and_callers)
{
	const char *text =
	    "prog 10/11 1.0: 1 cycles:\n\t1 leaf (/bin/x)\n\t2 a (/bin/x)\n\t3 main (/bin/x)\n\n"
	    "prog 10/11 1.1: 1 cycles:\n\t1 leaf (/bin/x)\n\t2 b (/bin/x)\n\t3 main (/bin/x)\n\n"
	    "worker 10/12 1.2: 1 cycles:\n\t1 leaf (/bin/x)\n\t2 a (/bin/x)\n\t3 main (/bin/x)\n\n";
	struct cs_profile p;
	load(&p, text, ROBUST);
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	struct cs_report_opts o = {0};
	o.format = CS_FMT_CSV;
	o.by = CS_BY_THREAD;
	cr_assert_eq(cs_render_report(&p, &o, f), 0);
	fclose(f);
	cr_expect_str_eq(buf, "thread,tid,pid,self,total,self_pct,total_pct\n"
			      "prog,11,10,2,2,66.67,66.67\nworker,12,10,1,1,33.33,33.33\n");
	free(buf);
	f = open_memstream(&buf, &n);
	memset(&o, 0, sizeof(o));
	o.format = CS_FMT_CSV;
	o.callers = "leaf";
	cr_assert_eq(cs_render_report(&p, &o, f), 0);
	fclose(f);
	cr_expect_str_eq(buf, "function,module,samples,pct_of_function,pct\n"
			      "a,x,2,66.67,66.67\nb,x,1,33.33,33.33\n");
	free(buf);
	f = open_memstream(&buf, &n);
	memset(&o, 0, sizeof(o));
	o.format = CS_FMT_JSON;
	o.by = CS_BY_MODULE;
	cr_assert_eq(cs_render_report(&p, &o, f), 0);
	fclose(f);
	cr_expect(strstr(buf, "{\"module\": \"x\", \"self\": 3,"), "%s", buf);
	cr_expect(strstr(buf, "\"source\": \"perf-script\""));
	free(buf);
	cs_profile_release(&p);
}

/* ---- the script's line patterns, matched as Perl matches them ---- */

static int header(const char *line, struct cs_perl_header *h)
{
	return cs_perl_header(line, strlen(line), h);
}

Test(perl_patterns, header_lines)
{
	struct cs_perl_header h;
	cr_assert(header("V8 WorkerThread 4242/4243 [000] 1.0: cycles:", &h));
	cr_expect_eq(h.comm_len, 15);
	cr_expect_eq(h.first_len, 4);
	cr_expect(!strncmp(h.second, "4243", 4) && h.second_len == 4);
	/* the comm is the shortest prefix of two bytes or more */
	cr_assert(header("a  12 [000] 1.0: cycles:", &h));
	cr_expect_eq(h.comm_len, 2); /* "a " */
	cr_assert(header("x 12/ 1.0: 4 cycles:", &h));
	cr_expect_eq(h.comm_len, 10); /* "x 12/ 1.0:": a one-byte comm cannot be */
	cr_assert(header("xy 12// 1.0: 4 cycles:", &h));
	cr_expect_eq(h.comm_len, 2);
	cr_expect_eq(h.second_len, 0);
	cr_expect(!header("\tprog 12 1.0: cycles:", &h)); /* indented */
	cr_expect(!header("prog 12", &h));		  /* needs a blank after the id */
	cr_expect(header("prog 12 ", &h));
	cr_expect(!header("prog x12 y", &h));
}

static int event(const char *line, char *period, char *ev)
{
	const char *p, *e;
	size_t pl, el;
	if (!cs_perl_event(line, strlen(line), &p, &pl, &e, &el))
		return 0;
	snprintf(period, 32, "%.*s", (int)pl, p);
	snprintf(ev, 32, "%.*s", (int)el, e);
	return 1;
}

Test(perl_patterns, period_and_event)
{
	char per[32], ev[32];
	cr_assert(event("prog 1 [001] 5.1:    1001001 cpu-clock:ppp: ", per, ev));
	cr_expect_str_eq(per, "1001001");
	cr_expect_str_eq(ev, "cpu-clock:ppp");
	cr_assert(event("prog 1 5.1: cycles:", per, ev));
	cr_expect_str_eq(per, "");
	cr_expect_str_eq(ev, "cycles");
	/* a one-line sample: the event is not the last word, nothing matches */
	cr_expect(!event("prog 1 5.1: 7 cycles: ffff f+0x1 ([kernel.kallsyms])", per, ev));
	cr_expect(!event("prog 1 5.1: 12 34 cycles:", per, ev)); /* two numbers */
	cr_expect(!event("prog 1 5.1:cycles:", per, ev));	 /* no blank before */
}

static int frame(const char *line, char *pc, char *fn, char *mod)
{
	struct cs_perl_frame f;
	if (!cs_perl_frame(line, strlen(line), &f))
		return 0;
	snprintf(pc, 64, "%.*s", (int)f.pc_len, f.pc);
	snprintf(fn, 64, "%.*s", (int)f.func_len, f.func);
	snprintf(mod, 64, "%.*s", (int)f.mod_len, f.mod);
	return 1;
}

Test(perl_patterns, frame_lines)
{
	char pc[64], fn[64], mod[64];
	cr_assert(frame("\t7f00 work(int) const+0x1f (/usr/bin/prog)", pc, fn, mod));
	cr_expect_str_eq(pc, "7f00");
	cr_expect_str_eq(fn, "work(int) const+0x1f");
	cr_expect_str_eq(mod, "/usr/bin/prog");
	/* the module is the last " (" group without blanks, up to its last ')' */
	cr_assert(frame("\t1 f (a) (b)c) trailing", pc, fn, mod));
	cr_expect_str_eq(fn, "f (a)");
	cr_expect_str_eq(mod, "b)c");
	/* nothing between address and module: the regex backtracks */
	cr_assert(frame("\t1f0 (/lib/libz.so)", pc, fn, mod));
	cr_expect_str_eq(pc, "1f");
	cr_expect_str_eq(fn, "0");
	cr_assert(frame("\t1f0  (/lib/libz.so)", pc, fn, mod));
	cr_expect_str_eq(pc, "1f0");
	cr_expect_str_eq(fn, " ");
	cr_expect(!frame("\t7 (/lib/libz.so)", pc, fn, mod));
	/* a module with blanks is no module */
	cr_expect(!frame("\t7f j ([JIT] tid 42)", pc, fn, mod));
	cr_assert(frame("\t1 f () ", pc, fn, mod));
	cr_expect_str_eq(mod, "");
}

/* ---- one input per rule of stackcollapse-perf.pl (fold's default) ---- */

Test(collapse_rules, period_weights_and_first_event)
{
	const char *text = "prog 10 [001] 1.000: 1000 cycles:\n\t1 leaf+0x1 (/bin/x)\n"
			   "\t2 main+0x2 (/bin/x)\n\n"
			   "prog 10 [001] 1.001: 3000 cycles:\n\t1 leaf+0x1 (/bin/x)\n"
			   "\t2 main+0x2 (/bin/x)\n\n"
			   "prog 10 [001] 1.002: 500 instructions:\n\t1 other (/bin/x)\n\n"
			   "prog 10 [001] 1.003: cycles:\n\t3 solo (/bin/x)\n\n"
			   "prog 10 [001] 1.004: 0 cycles:\n\t3 solo (/bin/x)\n\n"
			   "prog 11 1.005: 7 cycles:\n\n";
	char *out = fold(text, 0);
	/* periods add up; no period or "0" count 1; a sample without a call chain keeps
	 * its process; the samples of another event are left out */
	cr_expect_str_eq(out, "prog 7\nprog;main;leaf 4000\nprog;solo 2\n");
	free(out);
	out = fold(text, ROBUST);
	cr_expect_str_eq(out, "prog 7\nprog;main;leaf 4000\nprog;solo 2\n");
	free(out);
}

Test(collapse_rules, headers_without_empty_lines_and_the_last_sample)
{
	/* a header does not end the sample before it: the frames run on under the last
	 * process name; frames after an empty line belong to no sample; the last sample
	 * is dropped when no empty line follows. Two-letter comms at least, so "b 11" is
	 * not a comm and the id: the comm runs to the time stamp. */
	const char *text = "ab 10 1.0: 5 cycles:\n\t1 f (/bin/x)\n"
			   "cd 11 1.1: 7 cycles:\n\t1 g (/bin/x)\n\n"
			   "\t1 h (/bin/x)\n\n"
			   "b 11 1.1: 9 cycles:\n\t1 i (/bin/x)\n\n"
			   "ef 12 1.2: 9 cycles:\n\t1 k (/bin/x)\n";
	char *out = fold(text, 0);
	cr_expect_str_eq(out, "b_11_1.1:;i 9\ncd;g;f 7\n");
	free(out);
	out = fold(text, ROBUST);
	cr_expect_str_eq(out, "ab;f 5\nb;i 9\ncd;g 7\nef;k 9\n");
	free(out);
}

Test(collapse_rules, threads_pid_and_tid)
{
	const char *text = "swapper 0/0 [000] 1.0: 3 cycles:\n\t1 idle ([kernel.kallsyms])\n\n"
			   "xy 12/ 1.0: 4 cycles:\n\t1 f (/bin/x)\n\n"
			   "my prog 7/8 1.0: 5 cycles:\n\t1 g (/bin/x)\n\n";
	char *out = fold(text, TID);
	/* a tid of 0 counts as none: the pid prints as '?' */
	cr_expect_str_eq(out, "my_prog-7/8;g 5\nswapper-?/0;idle 3\nxy-?/12;f 4\n");
	free(out);
	out = fold(text, PID);
	cr_expect_str_eq(out, "my_prog-7;g 5\nswapper-?;idle 3\nxy-?;f 4\n");
	free(out);
}

Test(collapse_rules, symbols_offsets_and_inline_chains)
{
	const char *text = "prog 10 1.0: 1 cycles:\n"
			   "\t1 (prog) (/bin/x)\n"
			   "\t2 ->a->->b-> (/bin/x)\n"
			   "\t3 f+0x1F (/bin/x)\n"
			   "\t4 g+0x1f+0xa (/bin/x)\n"
			   "\t5 +0x12 (/bin/x)\n"
			   "\t6 q(int) (/bin/x)\n\n";
	char *out = fold(text, 0);
	/* "(prog)" is skipped; pieces split at "->" (the last empty one dropped) and all
	 * but the first marked inlined; only a lowercase "+0x..." at the very end goes */
	cr_expect_str_eq(out, "prog;q;g+0x1f;f+0x1F;;a_[i];_[i];b_[i] 1\n");
	free(out);
}

Test(collapse_rules, frames_without_a_symbol)
{
	const char *text = "prog 10 1.0: 5 cycles:\n"
			   "\t1f0 (/lib/libz.so)\n"
			   "\t1f0  (/lib/libz.so)\n"
			   "\t7 (/lib/libz.so)\n"
			   "\t1 [unknown] (/lib/libz.so.1)\n"
			   "\t2 [unknown] ([unknown])\n"
			   "\t3 f (/bin/x)\n\n";
	char *out = fold(text, 0);
	cr_expect_str_eq(out, "prog;f;[unknown];[libz.so.1]; ;0 5\n");
	free(out);
	out = fold(text, ADDRS);
	cr_expect_str_eq(out, "prog;f;[unknown <2>];[libz.so.1 <1>]; ;0 5\n");
	free(out);
	out = fold(text, ROBUST);
	cr_expect_str_eq(out, "prog;f;[unknown];[libz.so.1];[libz.so];[libz.so];[libz.so] 5\n");
	free(out);
}

Test(collapse_rules, kernel_and_jit_marks)
{
	const char *text = "prog 10 1.0: 5 cycles:\n"
			   "\t1 k1 ([vdso])\n"
			   "\t2 k2 ([kernel.kallsyms])\n"
			   "\t3 k3 (/boot/vmlinux)\n"
			   "\t4 [unknown] ([unknown])\n"
			   "\t5 u ([unknownx])\n"
			   "\t6 j (/tmp/perf-42.map)\n"
			   "\t7 j2 ([JIT] tid 42)\n"
			   "\t8 a->b->c (/tmp/perf-42.map)\n\n";
	/* the script: any "[...]" module but "unknown" ones is kernel, [vdso] included;
	 * only /tmp/perf-PID.map is JIT; "([JIT] tid 42)" is not a frame line */
	char *out = fold(text, KERNEL | JIT);
	cr_expect_str_eq(out, "prog;a_[j];b_[i];c_[i];j_[j];u;[unknown];k3_[k];k2_[k];k1_[k] 5\n");
	free(out);
	out = fold(text, 0);
	cr_expect_str_eq(out, "prog;a;b_[i];c_[i];j;u;[unknown];k3;k2;k1 5\n");
	free(out);
	/* --robust: [vdso] is user space, [JIT] frames are read */
	out = fold(text, KERNEL | JIT | ROBUST);
	cr_expect_str_eq(
	    out, "prog;a_[j];b_[i];c_[i];j2_[j];j_[j];u_[k];[unknown];k3_[k];k2_[k];k1 5\n");
	free(out);
}

Test(collapse_rules, zero_weight_and_huge_periods)
{
	/* "00" is true in Perl, so the period is 0 and the line is kept at 0 */
	char *out = fold("prog 1 1.0: 00 cycles:\n\t1 f (/bin/x)\n\n", 0);
	cr_expect_str_eq(out, "prog;f 0\n");
	free(out);
	/* periods that add up past 64 bits: refused, with one line */
	const char *big = "prog 1 1.0: 18446744073709551615 cycles:\n\t1 f (/bin/x)\n\n"
			  "prog 1 1.1: 1 cycles:\n\t1 f (/bin/x)\n\n";
	const char *huge = "prog 1 1.0: 18446744073709551616 cycles:\n\t1 f (/bin/x)\n\n";
	for (int compat = 0; compat < 2; compat++) {
		struct cs_import_opts o = {0};
		o.compat = compat;
		struct cs_profile p;
		cs_profile_init(&p);
		cr_expect_eq(cs_import_perf_script(&p, big, strlen(big), "t", &o), -1);
		cs_profile_release(&p);
		cs_profile_init(&p);
		cr_expect_eq(cs_import_perf_script(&p, huge, strlen(huge), "t", &o), -1);
		cs_profile_release(&p);
	}
}

/* report and flame read perf script as perf report does: each sample weighs its
 * period. The shares below are those of `perf report --no-children --sort sym`. */
Test(perf_script, report_weights_by_period)
{
	const char *text = "prog 10 1.0: 1000 cycles:\n\t1 a (/bin/x)\n\t2 main (/bin/x)\n\n"
			   "prog 10 1.1: 3000 cycles:\n\t1 b (/bin/x)\n\t2 main (/bin/x)\n\n"
			   "prog 10 1.2: 1000 cycles:\n\t1 b (/bin/x)\n\t2 main (/bin/x)\n\n";
	struct cs_profile p;
	load(&p, text, ROBUST);
	cr_expect_eq(p.stats.samples, 3);
	cr_expect_eq(cs_profile_total(&p), 5000);
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	struct cs_report_opts o = {0};
	o.format = CS_FMT_CSV;
	cr_assert_eq(cs_render_report(&p, &o, f), 0);
	fclose(f);
	cr_expect_str_eq(buf, "function,module,file,line,self,total,self_pct,total_pct\n"
			      "b,x,,0,4000,4000,80.00,80.00\n"
			      "a,x,,0,1000,1000,20.00,20.00\n"
			      "main,x,,0,0,5000,0.00,100.00\n");
	free(buf);
	f = open_memstream(&buf, &n);
	o.format = CS_FMT_TEXT;
	cr_assert_eq(cs_render_report(&p, &o, f), 0);
	fclose(f);
	cr_expect(strstr(buf, "# 3 samples of cycles, weighted by their period as in perf report: "
			      "5000 in all\n"),
		  "%s", buf);
	free(buf);
	cs_profile_release(&p);
}
