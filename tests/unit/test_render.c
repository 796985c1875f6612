/* Unit tests of the folded and report views. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

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

Test(fold, per_thread_root)
{
	struct cs_profile p;
	cs_profile_init(&p);
	struct cs_frame f = {0};
	f.module = CS_NONE;
	f.func = cs_profile_cstr(&p, "main");
	uint32_t fr = cs_profile_frame(&p, &f);
	uint32_t st = cs_profile_stack(&p, &fr, 1);
	uint32_t t1 = cs_profile_thread(&p, 10, 10, cs_profile_cstr(&p, "prog"), cs_profile_cstr(&p, "prog"));
	uint32_t t2 = cs_profile_thread(&p, 10, 11, cs_profile_cstr(&p, "worker"), cs_profile_cstr(&p, "prog"));
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
