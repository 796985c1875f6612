/* Unit tests of the perf script importer: stacks as stackcollapse-perf.pl makes them
 * (with --pid, --tid, --kernel, --jit, --all, --addrs), honest frame and module flags,
 * threads, event filtering, format detection, and report on perf script input. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "profile/import.h"
#include "render/render.h"

enum { PID = 1, TID = 2, KERNEL = 4, JIT = 8, ADDRS = 16 };

static void load(struct cs_profile *p, const char *text, int opts)
{
	struct cs_import_opts o = {0};
	o.pid = !!(opts & PID);
	o.tid = !!(opts & TID);
	o.addrs = !!(opts & ADDRS);
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
	fo.annotate_inline = 1;
	fo.annotate_kernel = !!(opts & KERNEL);
	fo.annotate_jit = !!(opts & JIT);
	fo.thread_root = opts & TID ? CS_ROOT_TID : opts & PID ? CS_ROOT_PID : CS_ROOT_COMM;
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	cr_assert_eq(cs_render_folded(&p, &fo, f), 0);
	fclose(f);
	cs_profile_release(&p);
	return buf;
}

static const char basic[] =
	"# ========\n"
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
	cr_expect_str_eq(out, "prog;[unknown];main;[libfoo.so.1];work;native_safe_halt 1\n"
			      "prog;[unknown];main;work 1\n");
	free(out);
}

Test(perf_script, pid_tid_kernel_addrs)
{
	char *out = fold(basic, PID | KERNEL);
	cr_expect_str_eq(out, "prog-?;[unknown];main;[libfoo.so.1];work;native_safe_halt_[k] 1\n"
			      "prog-?;[unknown];main;work 1\n");
	free(out);
	out = fold(basic, TID | ADDRS);
	cr_expect_str_eq(out, "prog-?/4243;[unknown <0>];main;[libfoo.so.1 <7f0000002000>];work;"
			      "native_safe_halt 1\n"
			      "prog-?/4243;[unknown <0>];main;work 1\n");
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
	load(&p, basic, 0);
	cr_expect_eq(p.stats.samples, 2);
	cr_expect_eq(cs_profile_total(&p), 2);
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
	const char *text =
		"prog 10 1.0: 1 cycles:\n"
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
	 * drops what it takes for a process name */
	cr_expect_str_eq(out, "prog;[x];name+0xZZ;base;std::map<int: int>::find;RegExp:[x];"
			      "net/http.(*Client).Do 1\n");
	free(out);
}

Test(perf_script, java_jit_and_inline_chains)
{
	const char *text =
		"java 25607/25610 [002] 4794564.109216: 10309278 cpu-clock:\n"
		"\t7f722d142778 Lorg/mozilla/javascript/Context;.call(Ljava/lang/Object;)V (/tmp/perf-25607.map)\n"
		"\t7f722d142700 Lcom/a/B;.outer->Lcom/a/C;.inner (/tmp/perf-25607.map)\n"
		"\t7f722d100000 JavaMain (/usr/lib/jvm/lib/libjli.so)\n"
		"\n";
	char *out = fold(text, 0);
	cr_expect_str_eq(out, "java;JavaMain;com/a/B:.outer;com/a/C:.inner_[i];"
			      "org/mozilla/javascript/Context:.call 1\n");
	free(out);
	out = fold(text, JIT | KERNEL);
	cr_expect_str_eq(out, "java;JavaMain;com/a/B:.outer_[j];com/a/C:.inner_[i];"
			      "org/mozilla/javascript/Context:.call_[j] 1\n");
	free(out);
	/* with --pid the process root is not "java": no Java tidying, as in the script */
	out = fold(text, PID);
	cr_expect_str_eq(out, "java-25607;JavaMain;Lcom/a/B:.outer;Lcom/a/C:.inner_[i];"
			      "Lorg/mozilla/javascript/Context:.call 1\n");
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
	const char *text =
		"prog 10 1.0: 1 cycles:\n"
		"\t118c inner (inlined)\n"
		"\t118c outer+0x1c (/bin/prog)\n"
		"  prog.c:12\n"
		"\t1000 main+0x10 (/bin/prog)\n"
		"  [kernel.kallsyms][ffffffff8158c0e6]\n"
		"\n";
	struct cs_profile p;
	load(&p, text, 0);
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
	char *out = fold(text, 0);
	cr_expect_str_eq(out, "prog;main;outer;inner_[i] 1\n");
	free(out);
}

Test(perf_script, only_the_first_event_type)
{
	const char *text = "prog 10 1.0: 1000 cycles:u:\n\t1 a (/bin/x)\n\n"
			   "prog 10 1.1: 500 instructions:u:\n\t1 b (/bin/x)\n\n"
			   "prog 10 1.2: 1000 cycles:u:\n\t1 c (/bin/x)\n\n";
	char *out = fold(text, 0);
	cr_expect_str_eq(out, "prog;a 1\nprog;c 1\n");
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
	char *out = fold(flat, KERNEL);
	cr_expect_str_eq(out, "seq;do_lookup_x 1\nsh;exc_page_fault_[k] 2\n");
	free(out);
	/* a sample without frames still counts for its process; CRLF; no blank at the end */
	const char *odd = "prog 10 1.0: 1 cycles:\r\n\r\n"
			  "prog 10 1.1: 1 cycles:\r\n\t1 a (/bin/x)\r\n\r\n"
			  "prog 10 1.2: 1 cycles:\n\t1 a (/bin/x)";
	out = fold(odd, 0);
	cr_expect_str_eq(out, "prog 1\nprog;a 2\n");
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
	const char *text = "prog 10/11 1.0: 1 cycles:\n\t1 leaf (/bin/x)\n\t2 a (/bin/x)\n\t3 main (/bin/x)\n\n"
			   "prog 10/11 1.1: 1 cycles:\n\t1 leaf (/bin/x)\n\t2 b (/bin/x)\n\t3 main (/bin/x)\n\n"
			   "worker 10/12 1.2: 1 cycles:\n\t1 leaf (/bin/x)\n\t2 a (/bin/x)\n\t3 main (/bin/x)\n\n";
	struct cs_profile p;
	load(&p, text, 0);
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	struct cs_report_opts o = {0};
	o.format = CS_FMT_CSV;
	o.by = CS_BY_THREAD;
	cr_assert_eq(cs_render_report(&p, &o, f), 0);
	fclose(f);
	cr_expect_str_eq(buf, "function,module,file,line,self,total,self_pct,total_pct\n"
			      "prog-11,,,0,2,2,66.67,66.67\nworker-12,,,0,1,1,33.33,33.33\n");
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
	cr_expect(strstr(buf, "\"function\": \"x\", \"module\": \"x\""), "%s", buf);
	cr_expect(strstr(buf, "\"source\": \"perf-script\""));
	free(buf);
	cs_profile_release(&p);
}
