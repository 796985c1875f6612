/* Unit tests of the export views (render/view.c): the table, and each format rendered
 * from a small profile with hostile names, a recursion and an empty input. The real
 * clients read them in test_export and test_browser_speedscope. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "profile/import.h"
#include "render/view.h"

static char *render(const char *view, const struct cs_profile *p, size_t *n, int expect)
{
	const struct cs_view *v = cs_view_find(view);
	cr_assert_not_null(v, "view %s", view);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct cs_view_opts o = {0};
	cr_assert_eq(v->render(p, &o, f), expect, "%s renders", view);
	fclose(f);
	if (n)
		*n = len;
	return buf;
}

static void load(struct cs_profile *p, const char *text)
{
	cs_profile_init(p);
	cr_assert_eq(cs_import_folded(p, text, strlen(text), "t"), 0);
}

static const char *text = "main;work;spin 30\nmain;work;wait 10\nmain;rec;rec;rec 5\n"
			  "main;evil\"\\\x01name 2\n";

Test(view, table_lists_every_export)
{
	const char *names[] = {"pprof", "speedscope", "gecko", "callgrind"};
	for (size_t i = 0; i < 4; i++) {
		const struct cs_view *v = cs_view_find(names[i]);
		cr_assert_not_null(v);
		cr_expect(v->flags & CS_VIEW_EXPORT);
	}
	cr_expect_null(cs_view_find("svg"));
	cr_expect_not_null(cs_view_find("folded"));
	cr_expect(!(cs_view_find("folded")->flags & CS_VIEW_EXPORT));
}

Test(view, pprof_is_gzip_of_a_protobuf)
{
	struct cs_profile p;
	load(&p, text);
	size_t n;
	char *out = render("pprof", &p, &n, 0);
	cr_assert_gt(n, 20);
	cr_expect_eq((unsigned char)out[0], 0x1f);
	cr_expect_eq((unsigned char)out[1], 0x8b);
	unsigned char raw[1 << 16];
	z_stream z;
	memset(&z, 0, sizeof(z));
	cr_assert_eq(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (unsigned char *)out;
	z.avail_in = (uInt)n;
	z.next_out = raw;
	z.avail_out = sizeof(raw);
	cr_expect_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
	size_t len = sizeof(raw) - z.avail_out;
	inflateEnd(&z);
	/* field 6 (string table) first: "" then "samples" */
	cr_expect_eq(raw[0], 6 << 3 | 2);
	cr_expect_eq(raw[1], 0);
	cr_expect(memmem(raw, len, "samples", 7) != NULL);
	cr_expect(memmem(raw, len, "spin", 4) != NULL);
	free(out);
	cs_profile_release(&p);
}

Test(view, callgrind_totals_and_recursion)
{
	struct cs_profile p;
	load(&p, text);
	char *out = render("callgrind", &p, NULL, 0);
	cr_expect(strstr(out, "summary: 47\n") != NULL, "%s", out);
	cr_expect(strstr(out, "totals: 47\n") != NULL);
	/* rec calls rec twice in one stack: counted once, never more than the total */
	const char *r = strstr(out, "cfn=(");
	cr_expect_not_null(r);
	for (const char *c = strstr(out, "calls="); c; c = strstr(c + 1, "calls="))
		cr_expect_leq(strtoull(c + 6, NULL, 10), 47);
	/* a name cannot start a new line */
	cr_expect(strstr(out, "evil\"\\\x01name") != NULL);
	free(out);
	cs_profile_release(&p);
}

Test(view, speedscope_and_gecko_are_json_with_escaped_names)
{
	struct cs_profile p;
	load(&p, text);
	char *ss = render("speedscope", &p, NULL, 0);
	cr_expect(strstr(ss, "\"weights\":[") != NULL);
	cr_expect(strstr(ss, "evil\\\"\\\\") != NULL, "%s", ss);
	cr_expect(strstr(ss, "\x01") == NULL);
	char *g = render("gecko", &p, NULL, 0);
	cr_expect(strstr(g, "\"samples\":{\"schema\":{\"stack\":0,\"time\":1") != NULL);
	cr_expect(strstr(g, "\x01") == NULL);
	free(ss);
	free(g);
	cs_profile_release(&p);
}

Test(view, empty_profile_is_one_error)
{
	struct cs_profile p;
	cs_profile_init(&p);
	const char *names[] = {"pprof", "speedscope", "gecko", "callgrind"};
	for (size_t i = 0; i < 4; i++)
		free(render(names[i], &p, NULL, -1));
	cs_profile_release(&p);
}
