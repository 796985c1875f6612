/* Unit tests of time kinds in the model: off-CPU rows beside CPU samples, the TIMES
 * section's round trip, the --time selection and the thread filters. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/profile.h"

/* Two threads: "busy" with 10 CPU samples at 1 ms and 2 ms preempted; "idle" with 30
 * ms blocked in read. */
static void build(struct cs_profile *p)
{
	struct cs_frame f = {0};
	f.module = CS_NONE;
	f.func = cs_profile_cstr(p, "main");
	uint32_t fmain = cs_profile_frame(p, &f);
	f.func = cs_profile_cstr(p, "read");
	uint32_t fread_ = cs_profile_frame(p, &f);
	f.func = cs_profile_cstr(p, "[off-CPU: blocked]");
	f.flags = CS_FRAME_OFFCPU;
	uint32_t fblk = cs_profile_frame(p, &f);
	f.func = cs_profile_cstr(p, "[off-CPU: preempted]");
	uint32_t fpre = cs_profile_frame(p, &f);
	uint32_t busy = cs_profile_thread(p, 10, 10, cs_profile_cstr(p, "busy"),
					  cs_profile_cstr(p, "prog"));
	uint32_t idle = cs_profile_thread(p, 10, 11, cs_profile_cstr(p, "idle"),
					  cs_profile_cstr(p, "prog"));
	uint32_t s_cpu[] = {fmain}, s_pre[] = {fmain, fpre}, s_blk[] = {fmain, fread_, fblk};
	cs_profile_add(p, cs_profile_stack(p, s_cpu, 1), busy, 10);
	cs_profile_add_time(p, cs_profile_stack(p, s_pre, 2), busy, CS_TIME_PREEMPTED, 2000000);
	cs_profile_add_time(p, cs_profile_stack(p, s_blk, 3), idle, CS_TIME_BLOCKED, 30000000);
	p->times.wall = 1;
	p->times.cpu_period_ns = 1000000;
	struct cs_thread_time tt;
	memset(&tt, 0, sizeof(tt));
	tt.span_ns = 12000000;
	tt.oncpu_ns = 10000000;
	CS_VEC_PUSH(p->times.threads, tt);
	tt.span_ns = 30000000;
	tt.oncpu_ns = 0;
	CS_VEC_PUSH(p->times.threads, tt);
}

static void round_trip(const struct cs_profile *p, struct cs_profile *q)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert_eq(cs_profile_write_to(p, f), 0);
	fclose(f);
	cs_profile_init(q);
	cr_assert_eq(cs_profile_decode(q, buf, len, "mem"), 0);
	free(buf);
}

static uint64_t sum_kind(const struct cs_profile *p, uint32_t kind)
{
	uint64_t t = 0;
	for (size_t i = 0; i < p->samples.n; i++)
		if (p->samples.v[i].kind == kind)
			t += p->samples.v[i].count;
	return t;
}

Test(timesel, kinds_survive_the_recording_file)
{
	struct cs_profile p, q;
	cs_profile_init(&p);
	build(&p);
	round_trip(&p, &q);
	cr_assert(q.times.wall);
	cr_assert_eq(q.times.cpu_period_ns, 1000000);
	cr_assert_eq(q.samples.n, 3);
	cr_assert_eq(sum_kind(&q, CS_TIME_CPU), 10);
	cr_assert_eq(sum_kind(&q, CS_TIME_PREEMPTED), 2000000);
	cr_assert_eq(sum_kind(&q, CS_TIME_BLOCKED), 30000000);
	cr_assert_geq(q.times.threads.n, 2);
	cr_assert_eq(q.times.threads.v[1].span_ns, 30000000);
	cr_assert_eq(q.times.threads.v[0].oncpu_ns, 10000000);
	cr_assert_eq(cs_time_default(&q), CS_SEL_WALL);
	cs_profile_release(&q);
	cs_profile_release(&p);
}

Test(timesel, cpu_profiles_stay_as_they_were)
{
	struct cs_profile p, q;
	cs_profile_init(&p);
	build(&p);
	p.times.wall = 0; /* as csampler record without --wall writes it */
	p.samples.n = 1;  /* the CPU row only */
	round_trip(&p, &q);
	cr_assert(!q.times.wall);
	cr_assert_eq(cs_time_default(&q), CS_SEL_CPU);
	cr_assert_eq(cs_profile_select_time(&q, CS_SEL_CPU), 0);
	cr_assert_eq(cs_profile_total(&q), 10); /* samples, not microseconds */
	cs_profile_release(&q);
	round_trip(&p, &q);
	cr_redirect_stderr();
	cr_assert_eq(cs_profile_select_time(&q, CS_SEL_OFF), -1);
	cs_profile_release(&q);
	cs_profile_release(&p);
}

Test(timesel, selections_weigh_in_microseconds)
{
	static const struct {
		unsigned sel;
		uint64_t total;
	} cases[] = {
		{CS_SEL_CPU, 10},	   /* samples */
		{CS_SEL_WALL, 42000},	   /* 10 ms CPU + 2 ms preempted + 30 ms blocked */
		{CS_SEL_OFF, 32000},	   {CS_SEL_BLOCKED, 30000},
		{CS_SEL_PREEMPTED, 2000},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cs_profile p;
		cs_profile_init(&p);
		build(&p);
		cr_assert_eq(cs_profile_select_time(&p, cases[i].sel), 0);
		cr_assert_eq(cs_profile_total(&p), cases[i].total, "%s: %llu",
			     cs_time_name(cases[i].sel), (unsigned long long)cs_profile_total(&p));
		/* the per-thread split is kept whatever the selection */
		cr_assert_eq(p.times.threads.v[0].ns[CS_TIME_CPU], 10000000);
		cr_assert_eq(p.times.threads.v[0].ns[CS_TIME_PREEMPTED], 2000000);
		cr_assert_eq(p.times.threads.v[1].ns[CS_TIME_BLOCKED], 30000000);
		cs_profile_release(&p);
	}
	cr_assert_eq(cs_time_parse("wall"), CS_SEL_WALL);
	cr_assert_eq(cs_time_parse("off"), CS_SEL_OFF);
	cr_assert_eq(cs_time_parse("cpu"), CS_SEL_CPU);
	cr_assert_eq(cs_time_parse("Wall"), 0);
	cr_assert_eq(cs_time_parse(""), 0);
}

Test(timesel, thread_filters)
{
	struct cs_profile p;
	cs_profile_init(&p);
	build(&p);
	struct cs_thread_filter f = {0};
	f.exclude_idle = 1;
	cr_assert_eq(cs_profile_filter_threads(&p, &f), 0);
	cr_assert_eq(cs_profile_select_time(&p, CS_SEL_WALL), 0);
	cr_assert_eq(cs_profile_total(&p), 12000); /* "idle" used no CPU */
	cs_profile_release(&p);

	cs_profile_init(&p);
	build(&p);
	uint32_t tid = 11;
	struct cs_thread_filter g = {&tid, 1, NULL, 0};
	cr_assert_eq(cs_profile_filter_threads(&p, &g), 0);
	cr_assert_eq(cs_profile_select_time(&p, CS_SEL_WALL), 0);
	cr_assert_eq(cs_profile_total(&p), 30000);
	cs_profile_release(&p);

	cs_profile_init(&p);
	build(&p);
	struct cs_thread_filter h = {NULL, 0, "nosuch", 0};
	cr_redirect_stderr();
	cr_assert_eq(cs_profile_filter_threads(&p, &h), -1);
	cs_profile_release(&p);
}

Test(timesel, adding_the_same_stack_as_two_kinds_keeps_two_rows)
{
	struct cs_profile p;
	cs_profile_init(&p);
	build(&p);
	uint32_t st = p.samples.v[0].stack, th = p.samples.v[0].thread;
	cs_profile_add_time(&p, st, th, CS_TIME_BLOCKED, 5);
	cs_profile_add(&p, st, th, 1);
	cr_assert_eq(p.samples.n, 4);
	cr_assert_eq(p.samples.v[0].count, 11);
	cr_assert_eq(p.samples.v[3].kind, CS_TIME_BLOCKED);
	cs_profile_release(&p);
}
