/* Unit tests of the flame tree (merging, reversing, thread roots, narrow frames) and
 * of the SVG writer (escaping, well-formedness, determinism, every option). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#ifdef CS_HAVE_LIBXML2
#include <libxml/parser.h>
#endif

#include "profile/import.h"
#include "render/flame.h"

static void load(struct cs_profile *p, const char *text)
{
	cs_profile_init(p);
	cr_assert_eq(cs_import_folded(p, text, strlen(text), "t"), 0);
}

/* The child of node n named name, or CS_NONE. */
static uint32_t child(const struct cs_flame_tree *t, uint32_t n, const char *name)
{
	for (uint32_t c = t->nodes.v[n].child; c != CS_NONE; c = t->nodes.v[c].next) {
		const struct cs_flame_node *cn = &t->nodes.v[c];
		if (cn->name && cn->name_len == strlen(name) && !memcmp(cn->name, name, cn->name_len))
			return c;
	}
	return CS_NONE;
}

/* The fit that merges what is narrower than min_total, and cuts nothing. */
static const struct cs_flame_fit *below(uint64_t min_total)
{
	static struct cs_flame_fit f;
	f.min_total = min_total;
	f.tie_depth = UINT32_MAX;
	f.max_depth = CS_FLAME_NO_CUT;
	return &f;
}

static uint32_t path(const struct cs_flame_tree *t, const char *const *names, size_t n)
{
	uint32_t node = 0;
	for (size_t i = 0; i < n && node != CS_NONE; i++)
		node = child(t, node, names[i]);
	return node;
}
#define PATH(t, ...)                                                                               \
	path(t, (const char *const[]){__VA_ARGS__},                                                \
	     sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static size_t nchildren(const struct cs_flame_tree *t, uint32_t n)
{
	size_t k = 0;
	for (uint32_t c = t->nodes.v[n].child; c != CS_NONE; c = t->nodes.v[c].next)
		k++;
	return k;
}

Test(flame_tree, totals_self_depth_and_order)
{
	struct cs_profile p;
	struct cs_flame_tree t;
	load(&p, "a;e 5\na;b;d 2\na;b;c 3\n");
	cr_assert_eq(cs_flame_build(&t, &p, 0, CS_ROOT_NONE), 0);
	cs_flame_sort(&t);
	cr_expect_eq(t.nodes.v[0].total, 10);
	uint32_t a = PATH(&t, "a"), b = PATH(&t, "a", "b"), c = PATH(&t, "a", "b", "c");
	cr_assert(a != CS_NONE && b != CS_NONE && c != CS_NONE);
	cr_expect_eq(t.nodes.v[a].total, 10);
	cr_expect_eq(t.nodes.v[a].self, 0);
	cr_expect_eq(t.nodes.v[b].total, 5);
	cr_expect_eq(t.nodes.v[c].total, 3);
	cr_expect_eq(t.nodes.v[c].self, 3);
	cr_expect_eq(t.nodes.v[c].depth, 3);
	/* children by name: b before e, c before d */
	cr_expect_eq(t.nodes.v[a].child, b);
	cr_expect_eq(t.nodes.v[b].child, c);
	uint32_t *order;
	size_t n = cs_flame_preorder(&t, &order);
	cr_expect_eq(n, 6);
	const char *want[] = {"all", "a", "b", "c", "d", "e"};
	for (size_t i = 0; i < n; i++)
		cr_expect(!memcmp(t.nodes.v[order[i]].name, want[i], strlen(want[i])), "%zu", i);
	free(order);
	cs_flame_release(&t);
	cs_profile_release(&p);
}

Test(flame_tree, merges_by_name_and_flags_not_module)
{
	/* Two frames named "work" in different modules merge (as flamegraph.pl merges
	 * equal text); "work" in the kernel stays apart. The module shown is the one
	 * with more samples. */
	struct cs_profile p;
	cs_profile_init(&p);
	struct cs_module m = {0};
	m.path = m.name = cs_profile_cstr(&p, "liba.so");
	uint32_t ma = cs_profile_module(&p, &m);
	m.path = m.name = cs_profile_cstr(&p, "libb.so");
	uint32_t mb = cs_profile_module(&p, &m);
	struct cs_frame f = {0};
	f.func = cs_profile_cstr(&p, "main");
	f.module = CS_NONE;
	uint32_t fmain = cs_profile_frame(&p, &f);
	f.func = cs_profile_cstr(&p, "work");
	f.module = ma;
	uint32_t fa = cs_profile_frame(&p, &f);
	f.module = mb;
	uint32_t fb = cs_profile_frame(&p, &f);
	f.module = CS_NONE;
	f.flags = CS_FRAME_KERNEL;
	uint32_t fk = cs_profile_frame(&p, &f);
	uint32_t s1[] = {fmain, fa}, s2[] = {fmain, fb}, s3[] = {fmain, fk};
	cs_profile_add(&p, cs_profile_stack(&p, s1, 2), CS_NONE, 2);
	cs_profile_add(&p, cs_profile_stack(&p, s2, 2), CS_NONE, 7);
	cs_profile_add(&p, cs_profile_stack(&p, s3, 2), CS_NONE, 1);
	struct cs_flame_tree t;
	cr_assert_eq(cs_flame_build(&t, &p, 0, CS_ROOT_NONE), 0);
	uint32_t main_ = PATH(&t, "main");
	cr_assert_eq(nchildren(&t, main_), 2);
	uint32_t w = CS_NONE, wk = CS_NONE;
	for (uint32_t c = t.nodes.v[main_].child; c != CS_NONE; c = t.nodes.v[c].next)
		*(t.nodes.v[c].flags & CS_FRAME_KERNEL ? &wk : &w) = c;
	cr_assert(w != CS_NONE && wk != CS_NONE);
	cr_expect_eq(t.nodes.v[w].total, 9);
	cr_expect_eq(t.nodes.v[w].frame, fb, "the heavier module names the frame");
	cr_expect_eq(t.nodes.v[wk].total, 1);
	cs_flame_release(&t);
	cs_profile_release(&p);
}

Test(flame_tree, reverse_puts_leaves_at_the_root)
{
	struct cs_profile p;
	struct cs_flame_tree t;
	load(&p, "a;b;c 3\nx;c 2\na;b 1\n");
	cr_assert_eq(cs_flame_build(&t, &p, 1, CS_ROOT_NONE), 0);
	cr_expect_eq(nchildren(&t, 0), 2);
	uint32_t c = PATH(&t, "c");
	cr_assert(c != CS_NONE);
	cr_expect_eq(t.nodes.v[c].total, 5);
	cr_expect_eq(t.nodes.v[PATH(&t, "c", "b", "a")].total, 3);
	cr_expect_eq(t.nodes.v[PATH(&t, "c", "b", "a")].self, 3);
	cr_expect_eq(t.nodes.v[PATH(&t, "c", "x")].total, 2);
	cr_expect_eq(t.nodes.v[PATH(&t, "b", "a")].total, 1);
	cs_flame_release(&t);
	cs_profile_release(&p);
}

Test(flame_tree, thread_roots)
{
	struct cs_profile p;
	cs_profile_init(&p);
	struct cs_frame f = {0};
	f.module = CS_NONE;
	f.func = cs_profile_cstr(&p, "main");
	uint32_t fr = cs_profile_frame(&p, &f);
	uint32_t st = cs_profile_stack(&p, &fr, 1);
	uint32_t prog = cs_profile_cstr(&p, "prog");
	uint32_t t1 = cs_profile_thread(&p, 10, 10, prog, prog);
	uint32_t t2 = cs_profile_thread(&p, 10, 11, cs_profile_cstr(&p, "my worker"), prog);
	cs_profile_add(&p, st, t1, 2);
	cs_profile_add(&p, st, t2, 3);
	cs_profile_add(&p, 0, t2, 1); /* a sample without frames still counts */
	struct cs_flame_tree t;
	cr_assert_eq(cs_flame_build(&t, &p, 0, CS_ROOT_THREAD), 0);
	cr_expect_eq(t.nodes.v[PATH(&t, "prog-10", "main")].total, 2);
	cr_expect_eq(t.nodes.v[PATH(&t, "my worker-11")].total, 4);
	cr_expect_eq(t.nodes.v[PATH(&t, "my worker-11")].self, 1);
	cr_expect_eq(t.nodes.v[PATH(&t, "my worker-11", "main")].total, 3);
	cs_flame_release(&t);
	/* one root per process: the threads of prog fold together */
	cr_assert_eq(cs_flame_build(&t, &p, 0, CS_ROOT_PID), 0);
	cr_expect_eq(nchildren(&t, 0), 1);
	cr_expect_eq(t.nodes.v[PATH(&t, "prog-10", "main")].total, 5);
	cs_flame_release(&t);
	/* reversed with roots */
	cr_assert_eq(cs_flame_build(&t, &p, 1, CS_ROOT_THREAD), 0);
	cr_expect_eq(t.nodes.v[PATH(&t, "my worker-11", "main")].total, 3);
	cs_flame_release(&t);
	cs_profile_release(&p);
}

Test(flame_tree, narrow_siblings_merge_with_exactly_their_time)
{
	struct cs_profile p;
	struct cs_flame_tree t;
	load(&p, "m;big 100\nm;s1 3\nm;s2;deep 2\nm;s3 1\nm;s4 4\nm;w;lone;under 2\nm;w 50\n");
	cr_assert_eq(cs_flame_build(&t, &p, 0, CS_ROOT_NONE), 0);
	size_t before = cs_flame_count_kept(&t, below(5));
	size_t kept = cs_flame_merge_narrow(&t, below(5));
	cr_expect_eq(kept, before, "count_kept predicts merge_narrow");
	cs_flame_sort(&t);
	uint32_t m = PATH(&t, "m");
	/* big, w, then one merged frame for s1..s4 (merged frames sort last) */
	cr_assert_eq(nchildren(&t, m), 3);
	uint32_t last = CS_NONE;
	for (uint32_t c = t.nodes.v[m].child; c != CS_NONE; c = t.nodes.v[c].next)
		last = c;
	const struct cs_flame_node *mg = &t.nodes.v[last];
	cr_expect_eq(mg->merged, 4);
	cr_expect_eq(mg->total, 3 + 2 + 1 + 4);
	cr_expect_eq(mg->self, mg->total);
	cr_expect_eq(mg->child, CS_NONE, "what was under the members goes with them");
	cr_expect_eq(mg->depth, 2);
	cr_expect(mg->name == NULL);
	/* a lone narrow child keeps its name */
	uint32_t lone = PATH(&t, "m", "w", "lone");
	cr_assert(lone != CS_NONE);
	cr_expect_eq(t.nodes.v[lone].total, 2);
	cr_expect_eq(t.nodes.v[PATH(&t, "m", "w", "lone", "under")].total, 2);
	/* no time lost anywhere */
	uint64_t sum = t.nodes.v[m].self;
	for (uint32_t c = t.nodes.v[m].child; c != CS_NONE; c = t.nodes.v[c].next)
		sum += t.nodes.v[c].total;
	cr_expect_eq(sum, t.nodes.v[m].total);
	cr_expect_eq(t.nodes.v[0].total, 162);
	uint32_t *order;
	cr_expect_eq(cs_flame_preorder(&t, &order), kept);
	free(order);
	/* merging again at a higher bar folds the earlier merged frame in */
	cs_flame_merge_narrow(&t, below(60));
	uint32_t w = PATH(&t, "m", "w");
	cr_expect(w == CS_NONE);
	last = CS_NONE;
	for (uint32_t c = t.nodes.v[m].child; c != CS_NONE; c = t.nodes.v[c].next)
		last = c;
	cr_expect_eq(t.nodes.v[last].merged, 5); /* w plus the four before */
	cr_expect_eq(t.nodes.v[last].total, 62);
	cs_flame_release(&t);
	cs_profile_release(&p);
}

/* The fit as cs_flame_build_fit documents it, the plain way: sort every frame by
 * total, then depth; then try every depth limit from the deepest down. */
struct key {
	uint64_t total;
	uint32_t depth;
};

static int by_width(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return x->depth < y->depth ? -1 : x->depth > y->depth;
}

static struct cs_flame_fit plain_fit(const struct cs_flame_tree *t, size_t budget)
{
	struct key *keys = malloc(t->nodes.n * sizeof(struct key));
	size_t n = 0;
	uint32_t deepest = 0;
	for (size_t i = 0; i < t->nodes.n; i++) {
		if (t->nodes.v[i].total)
			keys[n++] = (struct key){t->nodes.v[i].total, t->nodes.v[i].depth};
		if (t->nodes.v[i].depth > deepest)
			deepest = t->nodes.v[i].depth;
	}
	struct cs_flame_fit fit = {0, UINT32_MAX, CS_FLAME_NO_CUT, 0};
	if (n > budget) {
		qsort(keys, n, sizeof(struct key), by_width);
		/* wide: every frame before the (budget/2+1)-th */
		fit.min_total = keys[budget / 2].total;
		fit.tie_depth = keys[budget / 2].depth ? keys[budget / 2].depth - 1 : 0;
		if (cs_flame_count_kept(t, &fit) > budget) {
			fit.max_depth = deepest;
			while (cs_flame_count_kept(t, &fit) > budget)
				fit.max_depth--;
		}
	}
	free(keys);
	return fit;
}

/* One line per frame in preorder: depth, name, flags, frame, merged, total, self. */
static char *describe(struct cs_flame_tree *t)
{
	cs_flame_sort(t);
	uint32_t *order;
	size_t n = cs_flame_preorder(t, &order);
	char *s;
	size_t len;
	FILE *f = open_memstream(&s, &len);
	for (size_t i = 0; i < n; i++) {
		const struct cs_flame_node *nd = &t->nodes.v[order[i]];
		fprintf(f, "%u %.*s %u %u %u %u %llu %llu\n", nd->depth, (int)nd->name_len,
			nd->name ? nd->name : "", nd->flags, nd->frame, nd->merged, nd->cut,
			(unsigned long long)nd->total, (unsigned long long)nd->self);
	}
	fclose(f);
	free(order);
	return s;
}

Test(flame_tree, fit_is_build_then_merge)
{
	/* Random folded profiles: lines of a random call tree over a few names (so that
	 * names repeat across the tree), some counts zero; fitted at many budgets. */
	uint64_t rng = 7;
#define RND(n) ((rng = rng * 6364136223846793005ULL + 1442695040888963407ULL), (rng >> 33) % (n))
	for (int round = 0; round < 40; round++) {
		char *text;
		size_t len;
		FILE *f = open_memstream(&text, &len);
		int lines = 1 + (int)RND(400);
		for (int l = 0; l < lines; l++) {
			int depth = 1 + (int)RND(round % 4 == 0 ? 40 : 9);
			uint64_t path = 0;
			for (int d = 0; d < depth; d++) {
				path = path * 3 + RND(d < 3 ? 2 : 4);
				const char *ann = path % 11 == 0 ? "_[k]" : "";
				fprintf(f, "%sf%u%s", d ? ";" : "", (unsigned)(path % 7), ann);
			}
			fprintf(f, " %llu\n", (unsigned long long)(RND(5) ? RND(30) + 1 : RND(2)));
		}
		/* every other round, call chains deeper than the small budgets */
		for (int l = 0; round % 2 && l < 1 + round % 5; l++) {
			int depth = 20 + (int)RND(60);
			fprintf(f, "f%u", (unsigned)RND(2));
			for (int d = 1; d < depth; d++)
				fprintf(f, ";c%u", (unsigned)(d < 5 ? RND(2) : d));
			fprintf(f, " %llu\n", (unsigned long long)RND(100) + 1);
		}
		fclose(f);
		struct cs_profile p;
		cs_profile_init(&p);
		cr_assert_eq(cs_import_folded(&p, text, len, "t"), 0);
		free(text);
		if (!cs_profile_total(&p)) {
			cs_profile_release(&p);
			continue;
		}
		for (int reverse = 0; reverse < 2; reverse++) {
			size_t budgets[] = {16, 17, 30, 64, 100, 1000};
			for (size_t b = 0; b < sizeof(budgets) / sizeof(budgets[0]); b++) {
				struct cs_flame_tree fit, plain;
				struct cs_flame_fit got;
				cr_assert_eq(cs_flame_build_fit(&fit, &p, reverse, CS_ROOT_NONE,
								budgets[b], &got),
					     0);
				cr_assert_eq(cs_flame_build(&plain, &p, reverse, CS_ROOT_NONE), 0);
				struct cs_flame_fit want = plain_fit(&plain, budgets[b]);
				cr_expect_eq(got.min_total, want.min_total, "round %d budget %zu",
					     round, budgets[b]);
				cr_expect_eq(got.tie_depth, want.tie_depth, "round %d budget %zu",
					     round, budgets[b]);
				cr_expect_eq(got.max_depth, want.max_depth, "round %d budget %zu",
					     round, budgets[b]);
				size_t kept = 0;
				if (want.min_total)
					kept = cs_flame_merge_narrow(&plain, &want);
				cr_expect_leq(kept, budgets[b], "round %d budget %zu", round,
					      budgets[b]);
				char *a = describe(&fit), *e = describe(&plain);
				cr_expect_str_eq(a, e, "round %d reverse %d budget %zu", round,
						 reverse, budgets[b]);
				free(a);
				free(e);
				cs_flame_release(&fit);
				cs_flame_release(&plain);
			}
		}
		cs_profile_release(&p);
	}
#undef RND
}

Test(flame_tree, no_samples_is_an_error)
{
	struct cs_profile p;
	struct cs_flame_tree t;
	load(&p, "a;b 0\n");
	cr_expect_eq(cs_flame_build(&t, &p, 0, CS_ROOT_NONE), -1);
	cs_profile_release(&p);
}

/* ---- escaping ---- */

#define FFFD "\xef\xbf\xbd" /* U+FFFD, what invalid UTF-8 becomes */

static char *capture_json(const char *s, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cs_flame_json_str(f, s, n);
	fclose(f);
	return buf;
}

static char *capture_xml(const char *s, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cs_flame_xml_str(f, s, n);
	fclose(f);
	return buf;
}

Test(flame_escape, json_for_cdata_and_script)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"plain::name<int>", "\"plain::name\\u003cint\\u003e\""},
		{"</script><script>alert(1)</script>",
		 "\"\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e\""},
		{"a]]>b", "\"a]]\\u003eb\""},
		{"q\"u\\o'te & amp", "\"q\\\"u\\\\o'te \\u0026 amp\""},
		{"tab\there\nnl\x01", "\"tab\\u0009here\\u000anl\\u0001\""},
		{"ls\xe2\x80\xa8ps\xe2\x80\xa9", "\"ls\\u2028ps\\u2029\""},
		{"ok \xc3\xa9\xe6\x97\xa5\xf0\x9f\x94\xa5", "\"ok \xc3\xa9\xe6\x97\xa5\xf0\x9f\x94\xa5\""},
		{"bad\xff\xfe end", "\"bad" FFFD FFFD " end\""},
		{"trunc\xe6\x97", "\"trunc" FFFD FFFD "\""},
		{"overlong\xc0\xaf", "\"overlong" FFFD FFFD "\""},
		{"surrogate\xed\xa0\x80", "\"surrogate" FFFD FFFD FFFD "\""},
		{"nonchar\xef\xbf\xbe", "\"nonchar\\ufffe\""},
		{"c1\xc2\x85", "\"c1\\u0085\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = capture_json(cases[i].in, strlen(cases[i].in));
		cr_expect_str_eq(got, cases[i].out, "case %zu", i);
		free(got);
	}
	char *got = capture_json("nul\0x", 5);
	cr_expect_str_eq(got, "\"nul\\u0000x\"");
	free(got);
}

Test(flame_escape, xml_text_and_attributes)
{
	char *got = capture_xml("<a href=\"x\">&'\x01\xff</a>", 20);
	cr_expect_str_eq(got, "&lt;a href=&quot;x&quot;&gt;&amp;&apos;\xef\xbf\xbd\xef\xbf\xbd&lt;/a&gt;");
	free(got);
}

/* ---- the SVG ---- */

static char *render(const struct cs_profile *p, const struct cs_flame_opts *o)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	cr_assert_eq(cs_render_flame(p, o, f), 0);
	fclose(f);
	return buf;
}

/* The JSON table inside the SVG (a copy). */
static char *data_of(const char *svg)
{
	const char *open = "<script type=\"application/json\" id=\"cs-data\"><![CDATA[";
	const char *a = strstr(svg, open);
	cr_assert(a);
	a += strlen(open);
	const char *b = strstr(a, "]]></script>");
	cr_assert(b);
	return strndup(a, (size_t)(b - a));
}

static void expect_well_formed(const char *svg)
{
#ifdef CS_HAVE_LIBXML2
	xmlDocPtr doc = xmlReadMemory(svg, (int)strlen(svg), "flame.svg", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	cr_expect(doc != NULL, "the SVG is well-formed XML");
	if (doc) {
		xmlNodePtr root = xmlDocGetRootElement(doc);
		cr_expect_str_eq((const char *)root->name, "svg");
		xmlFreeDoc(doc);
	}
#else
	(void)svg;
	cr_log_warn("libxml2 not found at build time: well-formedness not checked");
#endif
}

static const char hostile[] =
	"main;<script>alert(1)</script> 1\n"
	"main;a]]>b 2\n"
	"main;x\"y'z & w 3\n"
	"main;std::vector<int>::operator[](unsigned long) 4\n"
	"main;bad\xff\xfe\xc0name 5\n"
	"main;ctl\x01\x1f\x7f 6\n"
	"main;ls\xe2\x80\xa8 7\n"
	"main;</svg><g onload=alert(2)> 8\n";

Test(flame_svg, hostile_names_stay_inside_their_strings)
{
	struct cs_profile p;
	load(&p, hostile);
	struct cs_flame_opts o = {0};
	o.title = "<title> & \"quotes\" ]]>";
	o.subtitle = "sub\x01title\xff";
	o.countname = "</script>";
	o.fonttype = "Verdana\" onload=\"alert(3)";
	char *svg = render(&p, &o);
	expect_well_formed(svg);
	char *data = data_of(svg);
	/* nothing in the table can end the CDATA section or open a tag */
	cr_expect(!strchr(data, '<') && !strchr(data, '>') && !strchr(data, '&'));
	cr_expect(strstr(data, "\"\\u003cscript\\u003ealert(1)\\u003c/script\\u003e\""));
	cr_expect(strstr(data, "\"a]]\\u003eb\""));
	cr_expect(strstr(data, "\"bad" FFFD FFFD FFFD "name\""));
	cr_expect(strstr(data, "\"ctl\\u0001\\u001f\\u007f\""));
	cr_expect(strstr(data, "\"ls\\u2028\""));
	cr_expect(strstr(data, "\"countname\": \"\\u003c/script\\u003e\""));
	cr_expect(strstr(svg, ">&lt;title&gt; &amp; &quot;quotes&quot; ]]&gt;</text>"));
	cr_expect(strstr(svg, ">sub\xef\xbf\xbdtitle\xef\xbf\xbd</text>"));
	cr_expect(strstr(svg, "font-family=\"Verdana&quot; onload=&quot;alert(3), sans-serif\""));
	/* the static drawing carries the names as escaped text, in labels and titles */
	cr_expect(strstr(svg, "<title>&lt;script&gt;alert(1)&lt;/script&gt; (1 &lt;/script&gt;, "));
	cr_expect(strstr(svg, "<title>&lt;/svg&gt;&lt;g onload=alert(2)&gt; (8 &lt;/script&gt;, "));
	cr_expect(strstr(svg, "<title>bad" FFFD FFFD FFFD "name (5 &lt;/script&gt;, "));
	cr_expect(strstr(svg, ">a]]&gt;b</text>"));
	/* exactly the two scripts of the template */
	size_t scripts = 0;
	for (const char *s = svg; (s = strstr(s, "<script")); s++)
		scripts++;
	cr_expect_eq(scripts, 2);
	free(data);
	free(svg);
	cs_profile_release(&p);
}

Test(flame_svg, same_input_same_bytes_whatever_the_line_order)
{
	struct cs_profile a, b;
	load(&a, "main;f;g 3\nmain;h 2\nother;f 1\nmain;f 4\n");
	load(&b, "main;f 4\nother;f 1\nmain;h 2\nmain;f;g 3\n");
	struct cs_flame_opts o = {0};
	char *x = render(&a, &o), *y = render(&a, &o), *z = render(&b, &o);
	cr_expect_str_eq(x, y);
	cr_expect_str_eq(x, z);
	free(x);
	free(y);
	free(z);
	cs_profile_release(&a);
	cs_profile_release(&b);
}

Test(flame_svg, the_table_holds_names_and_counts)
{
	struct cs_profile p;
	load(&p, "main;f;g 3\nmain;h 2\nmain;k_[k] 1\n");
	struct cs_flame_opts o = {0};
	char *svg = render(&p, &o);
	char *data = data_of(svg);
	cr_expect(strstr(data, "\"total\": 6,"), "%s", data);
	cr_expect(strstr(data, "\"node_count\": 6,"));
	cr_expect(strstr(data, "\"strings\": [\"all\", \"main\", \"f\", \"g\", \"h\", \"k\"]"), "%s", data);
	/* frames: name kind module+1 file+1 line; kinds: 0 root, 1 user, 3 kernel */
	cr_expect(strstr(data, "\"frames\": \"000001100021000310004100053000\""), "%s", data);
	/* nodes: depth step, frame+1, total: all 6, main 6, f 3, g 3, h 2, k 1 */
	cr_expect(strstr(data, "\"nodes\": \"016026033043252161\""), "%s", data);
	cr_expect(strstr(data, "\"merged_below\": 0,"));
	free(data);
	free(svg);
	cs_profile_release(&p);
}

Test(flame_svg, every_option_reaches_the_document)
{
	struct cs_profile p;
	load(&p, "main;f;g 3\nmain;h 2\n");
	struct cs_flame_opts o = {0};
	o.width = 800;
	o.frame_height = 20;
	o.fontsize = 10;
	o.fonttype = "DejaVu Sans";
	o.minwidth = 2;
	o.minwidth_pct = 1; /* 2% of 800 - 2 * 10 px = 15.6 px */
	o.colors = CS_COLORS_MEM;
	o.hash = 1;
	o.inverted = 1;
	o.reverse = 1;
	o.countname = "bytes";
	o.subtitle = "a subtitle";
	char *svg = render(&p, &o);
	char *data = data_of(svg);
	cr_expect(strstr(svg, "width=\"800\""));
	cr_expect(strstr(svg, "font-size=\"10\" font-family=\"DejaVu Sans, sans-serif\""));
	cr_expect(strstr(svg, ">Icicle Graph</text>"), "inverted names the default title");
	cr_expect(strstr(svg, ">a subtitle</text>"));
	cr_expect(strstr(data, "\"width\": 800,"));
	cr_expect(strstr(data, "\"frame_height\": 20,"));
	cr_expect(strstr(data, "\"font_size\": 10,"));
	cr_expect(strstr(data, "\"minwidth\": 15.6,"), "%s", data);
	cr_expect(strstr(data, "\"inverted\": 1,"));
	cr_expect(strstr(data, "\"colors\": \"mem\""));
	cr_expect(strstr(data, "\"hash\": 1,"));
	cr_expect(strstr(data, "\"reverse\": 1,"));
	cr_expect(strstr(data, "\"countname\": \"bytes\""));
	/* reversed: the leaves g and h are children of the root */
	cr_expect(strstr(data, "\"strings\": [\"all\", \"g\", \"f\", \"main\", \"h\"]"), "%s", data);
	/* the height: 3 rows of frames below the title, subtitle and legend rows */
	cr_expect(strstr(data, "\"height\": 174,"), "%s", data);
	free(data);
	free(svg);

	memset(&o, 0, sizeof(o));
	o.colors = CS_COLORS_HOT;
	o.title = "Mine";
	o.thread_root = CS_ROOT_THREAD;
	svg = render(&p, &o);
	data = data_of(svg);
	cr_expect(strstr(svg, ">Mine</text>"));
	cr_expect(strstr(data, "\"colors\": \"hot\""));
	cr_expect(strstr(data, "\"minwidth\": 1,"), "default minwidth is 1 px");
	cr_expect(strstr(data, "\"strings\": [\"all\", \"all-0\", \"main\""), "%s", data);
	cr_expect(strstr(svg, "width=\"1200\""));
	cr_expect(strstr(svg, "font-family=\"Verdana, DejaVu Sans, Bitstream Vera Sans, "
			      "Liberation Sans, Arial, sans-serif\""),
		  "a list of fonts that ends with a generic family");
	free(data);
	free(svg);
	cs_profile_release(&p);
}

Test(flame_svg, max_frames_bounds_the_table_and_keeps_the_time)
{
	/* 400 distinct leaves under one caller, counts 1..400 */
	struct cs_profile p;
	cs_profile_init(&p);
	char line[64];
	for (int i = 1; i <= 400; i++) {
		int n = snprintf(line, sizeof(line), "main;leaf%03d %d\n", i, i);
		cr_assert_eq(cs_import_folded(&p, line, (size_t)n, "t"), 0);
	}
	struct cs_flame_opts o = {0};
	o.max_frames = 100;
	char *svg = render(&p, &o);
	char *data = data_of(svg);
	const char *nc = strstr(data, "\"node_count\": ");
	cr_assert(nc);
	long count = atol(nc + 14);
	cr_expect(count <= 100 && count > 40, "node_count %ld", count);
	cr_expect(strstr(data, "\"total\": 80200,"), "%s", data);
	cr_expect(!strstr(data, "\"merged_below\": 0,"));
	cr_expect(!strstr(data, "\"leaf001\""), "the narrowest leaves are merged");
	cr_expect(strstr(data, "\"leaf400\""));
	free(data);
	free(svg);
	cs_profile_release(&p);
}

/* ---- bounded work: call chains deeper than the frame budget ----
 * Each of these used to hang: lone narrow children are never merged, so the threshold
 * rose until it wrapped around. */

static long json_long(const char *data, const char *key)
{
	const char *k = strstr(data, key);
	cr_assert(k, "%s in the table", key);
	return atol(k + strlen(key));
}

/* A folded line: a chain of depth frames named prefix0;prefix1;... (or all the same
 * name when numbered is 0), count samples. */
static char *chain(const char *head, const char *name, int numbered, size_t depth,
		   unsigned long long count)
{
	char *s;
	size_t n;
	FILE *f = open_memstream(&s, &n);
	fputs(head, f);
	for (size_t i = 0; i < depth; i++) {
		if (numbered)
			fprintf(f, "%s%s%zu", i || *head ? ";" : "", name, i);
		else
			fprintf(f, "%s%s", i || *head ? ";" : "", name);
	}
	fprintf(f, " %llu\n", count);
	fclose(f);
	return s;
}

Test(flame_fit, a_chain_one_frame_deeper_than_the_budget, .timeout = 60)
{
	struct cs_profile p;
	char *text = chain("", "f", 1, 17, 5);
	load(&p, text);
	free(text);
	struct cs_flame_opts o = {0};
	o.max_frames = 16;
	char *svg = render(&p, &o);
	expect_well_formed(svg);
	char *data = data_of(svg);
	cr_expect_leq(json_long(data, "\"node_count\": "), 16);
	cr_expect_eq(json_long(data, "\"total\": "), 5, "no time is lost");
	/* all: depth 0, f0..f13 above it, and the frame that stands for f14..f16 */
	cr_expect_eq(json_long(data, "\"cut_depth\": "), 15);
	cr_expect(strstr(svg, ">Call chains are cut after 14 frames to fit --max-frames 16: 5 "
			      "samples (100.00%)"),
		  "the SVG says what was cut");
	cr_expect(strstr(svg, "<title>frames deeper than 14 cut to fit --max-frames (5 samples, "
			      "100.00%)</title>"));
	cr_expect(strstr(svg, "fill=\"url(#cs-cut)\""), "the cut is drawn");
	free(data);
	free(svg);

	/* the tree itself: at most the budget, the cut frame holds the time below */
	struct cs_flame_tree t;
	struct cs_flame_fit fit;
	cr_assert_eq(cs_flame_build_fit(&t, &p, 0, CS_ROOT_NONE, 16, &fit), 0);
	cr_expect_eq(fit.max_depth, 14);
	cr_expect_eq(fit.cut_total, 5);
	uint32_t *order;
	size_t n = cs_flame_preorder(&t, &order);
	cr_expect_eq(n, 16);
	const struct cs_flame_node *last = &t.nodes.v[order[n - 1]];
	cr_expect(last->cut && last->merged == 1 && last->total == 5 && last->depth == 15);
	free(order);
	cs_flame_release(&t);
	cs_profile_release(&p);
}

/* A recording of a 200-deep recursion: frames named alike at two lines (so the tree is
 * merged by name, not taken over from the model), and with beside != 0 other work. */
static void deep_recording(struct cs_profile *p, int beside)
{
	cs_profile_init(p);
	struct cs_module m = {0};
	m.path = m.name = cs_profile_cstr(p, "/usr/bin/recurse");
	m.flags = CS_MODULE_MAIN;
	struct cs_frame f = {0};
	f.module = cs_profile_module(p, &m);
	f.file = cs_profile_cstr(p, "recurse.c");
	uint32_t fr[210];
	const char *names[] = {"_start", "__libc_start_main", "main"};
	for (int i = 0; i < 3; i++) {
		f.func = cs_profile_cstr(p, names[i]);
		f.line = (uint32_t)i + 1;
		fr[i] = cs_profile_frame(p, &f);
	}
	f.func = cs_profile_cstr(p, "recurse");
	f.line = 10;
	uint32_t rec_a = cs_profile_frame(p, &f);
	f.line = 11;
	uint32_t rec_b = cs_profile_frame(p, &f);
	for (int i = 3; i < 203; i++)
		fr[i] = i == 3 ? rec_a : rec_b;
	f.func = cs_profile_cstr(p, "leaf_burn");
	f.line = 4;
	fr[203] = cs_profile_frame(p, &f);
	cs_profile_add(p, cs_profile_stack(p, fr, 204), CS_NONE, 5000);
	if (!beside)
		return;
	cs_profile_add(p, cs_profile_stack(p, fr, 120), CS_NONE, 30);
	f.func = cs_profile_cstr(p, "setup");
	f.line = 20;
	fr[3] = cs_profile_frame(p, &f);
	cs_profile_add(p, cs_profile_stack(p, fr, 4), CS_NONE, 40);
}

Test(flame_fit, a_200_deep_recording_with_150_frames, .timeout = 60)
{
	struct cs_profile p;
	deep_recording(&p, 0);
	struct cs_flame_opts o = {0};
	o.max_frames = 150;
	char *svg = render(&p, &o);
	char *data = data_of(svg);
	cr_expect_leq(json_long(data, "\"node_count\": "), 150);
	cr_expect_eq(json_long(data, "\"cut_depth\": "), 149);
	free(data);
	free(svg);
	cs_profile_release(&p);

	/* with work beside the recursion: equally wide frames nearer the root stay first */
	deep_recording(&p, 1);
	svg = render(&p, &o);
	expect_well_formed(svg);
	data = data_of(svg);
	cr_expect_leq(json_long(data, "\"node_count\": "), 150);
	cr_expect_eq(json_long(data, "\"total\": "), 5070);
	cr_expect_gt(json_long(data, "\"cut_depth\": "), 100, "the chain is cut deep, not merged");
	cr_expect(strstr(data, "\"setup\""), "the work beside the recursion is kept");
	cr_expect(strstr(svg, "<text id=\"cs-note\""));
	free(data);
	free(svg);
	cs_profile_release(&p);

	/* the same as folded text: the tree is taken over from the model's */
	char *text = chain("_start;__libc_start_main;main", "recurse", 0, 200, 5000);
	load(&p, text);
	free(text);
	cr_assert_eq(cs_import_folded(&p, "_start;__libc_start_main;main;setup 40\n", 39, "t"), 0);
	svg = render(&p, &o);
	data = data_of(svg);
	cr_expect_leq(json_long(data, "\"node_count\": "), 150);
	cr_expect_eq(json_long(data, "\"total\": "), 5040);
	cr_expect(strstr(data, "\"setup\""));
	free(data);
	free(svg);
	cs_profile_release(&p);
}

Test(flame_fit, one_folded_line_of_200000_frames, .timeout = 120)
{
	struct cs_profile p;
	char *text = chain("", "f", 1, 200000, 7);
	load(&p, text);
	free(text);
	struct cs_flame_opts o = {0};
	char *svg = render(&p, &o);
	char *data = data_of(svg);
	cr_expect_leq(json_long(data, "\"node_count\": "), CS_FLAME_MAX_FRAMES_DEFAULT);
	cr_expect_eq(json_long(data, "\"cut_depth\": "), CS_FLAME_MAX_FRAMES_DEFAULT - 1);
	/* the static drawing stops early and says so; coordinates never turn into
	 * exponents (the graph is 2.4 million px high) */
	cr_expect(strstr(svg, "<text id=\"cs-static-note\""));
	cr_expect(!strstr(svg, "e+0"));
	free(data);
	free(svg);
	cs_profile_release(&p);
}

/* ---- hostile sizes ---- */

Test(flame_svg, huge_counts_and_long_names_stay_valid, .timeout = 60)
{
	/* counts whose sum passes 2^64 */
	struct cs_profile p;
	cs_profile_init(&p);
	struct cs_frame f = {0};
	f.module = CS_NONE;
	const char *names[] = {"main", "a", "b", "c", "other"};
	uint32_t fr[5];
	for (int i = 0; i < 5; i++) {
		f.func = cs_profile_cstr(&p, names[i]);
		fr[i] = cs_profile_frame(&p, &f);
	}
	uint64_t counts[] = {UINT64_MAX, UINT64_MAX, 1ULL << 63};
	for (int i = 0; i < 3; i++) {
		uint32_t st[] = {fr[0], fr[1 + i]};
		cs_profile_add(&p, cs_profile_stack(&p, st, 2), CS_NONE, counts[i]);
	}
	cs_profile_add(&p, cs_profile_stack(&p, &fr[4], 1), CS_NONE, 1);
	struct cs_flame_opts o = {0};
	char *svg = render(&p, &o);
	expect_well_formed(svg);
	char *data = data_of(svg);
	/* the root saturates instead of wrapping around to a small number */
	cr_expect(strstr(data, "\"total\": 18446744073709551615,"), "%.200s", data);
	cr_expect(strstr(svg, "<title>main (18,446,744,073,709,551,615 samples, 100.00%)"));
	free(data);
	free(svg);
	cs_profile_release(&p);

	/* a 100,000-byte name that ends in markup and a truncated UTF-8 sequence */
	size_t len = 100000;
	char *name = malloc(len + 32);
	strcpy(name, "main;");
	for (size_t i = 5; i < len; i++)
		name[i] = (char)('a' + (i - 5) % 26);
	memcpy(name + len, "<&\xe6\x97 3\n", 7);
	load(&p, name);
	free(name);
	svg = render(&p, &o);
	expect_well_formed(svg);
	data = data_of(svg);
	/* the table holds all of it, escaped; a <title> a bounded prefix; a label what fits */
	cr_expect(strstr(data, "\\u003c\\u0026" FFFD FFFD "\""));
	const char *t = strstr(svg, "<title>abcdefghijklmnopqrstuvwxyz");
	cr_assert(t);
	const char *end = strstr(t, "</title>");
	cr_assert(end);
	cr_expect_leq((size_t)(end - t), 7 + 400 + 2 + 40, "a bounded title");
	cr_expect(strstr(t, ".. (3 samples, 100.00%)</title>"));
	cr_expect(strstr(svg, ">abcdefghijklmnopqrstuvwxyzabc"));
	free(data);
	free(svg);
	cs_profile_release(&p);
}
