/* perf_script.c - import the text of `perf script`.
 *
 * A sample is a header line, then its call chain leaf first, one frame per indented
 * line, then a blank line:
 *
 *   prog  4242/4243 [001] 5.123: 1001001 cpu-clock:ppp:
 *           7f12a0 work+0x1f (/usr/bin/prog)
 *           7f1290 main+0x30 (/usr/bin/prog)
 *
 * Without call chains perf puts the one frame on the header line itself. A sample
 * weighs its period (1001001 above) when perf printed one, as in `perf report` and
 * stackcollapse-perf.pl, else 1.
 *
 * Names are made the way FlameGraph's stackcollapse-perf.pl makes them (symbol offsets
 * and argument lists dropped, ';' turned into ':', quotes removed, "[unknown]" replaced
 * by the module's basename, "a->b" Java inline chains split), so that folding gives the
 * same stacks; the process name is not made a frame: it is the sample's thread, and the
 * folded and flamegraph views put it back at the root.
 *
 * Two sets of rules. With o->compat every line is read exactly as the Perl script
 * reads it (see import_compat), quirks included, so that `csampler fold` is a drop-in
 * replacement. Otherwise (report, flame, fold --robust) the reading is sturdier: a
 * one-line sample (perf script without -g) keeps its frame, a new header or the end of
 * the input ends a sample, whitespace-only and CRLF lines end a sample, a frame without
 * a symbol is named after its module, one-letter process names are headers, and only
 * kernel code is flagged kernel ([vdso] is user space).
 */
#include "import.h"
#include "util/buf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* One line after the header that names one or more frames, cached by the text after
 * the address: real profiles repeat the same few thousand lines millions of times. */
struct line_ent {
	const char *text;
	uint32_t len;
	uint32_t first, n; /* frame indices in st->line_frames, leaf first */
	int java;	   /* made for a "java" process (names tidied differently) */
};

struct st {
	struct cs_profile *p;
	const struct cs_import_opts *o;
	const char *name;
	size_t lineno;

	/* the current sample */
	int in_sample; /* a header was seen and its sample not yet stored */
	int keep;      /* 0 if filtered out (another event type) */
	uint32_t thread;
	int java;		 /* comm is "java": tidy Java signatures */
	CS_VEC(uint32_t) frames; /* leaf first */
	CS_VEC(uint32_t) root_first;
	CS_VEC(size_t) pieces; /* compat: a symbol split at "->" */
	size_t pending_inline; /* trailing frames marked "(inlined)" awaiting a module */

	/* the previous header's thread, to skip re-interning it */
	const char *last_hdr;
	size_t last_hdr_len;
	uint32_t last_thread;
	int last_java;

	uint32_t event; /* string id of the kept event type, 0 = none yet */
	uint64_t skipped;
	uint64_t period;	/* weight of the current sample */
	uint64_t weight;	/* weights of the samples kept so far */
	int too_heavy;		/* they add up to more than UINT64_MAX */
	int pname;		/* compat: Perl's $pname is set and true */
	size_t bad_period_line; /* first line with a period beyond 64 bits, 0 = none */

	/* caches */
	CS_VEC(struct line_ent) lines;
	struct cs_index line_ix;
	CS_VEC(uint32_t) line_frames;
	uint32_t *mod_of_str; /* string id -> module index + 1, 0 = not yet known */
	size_t mod_cap;
	struct cs_buf nb; /* a name being made */

	uint64_t bad_lines;
	size_t first_bad;
};

/* ---- small text helpers ---- */

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static int starts(const char *s, size_t n, const char *pre)
{
	size_t k = strlen(pre);
	return n >= k && !memcmp(s, pre, k);
}

static int ends(const char *s, size_t n, const char *suf)
{
	size_t k = strlen(suf);
	return n >= k && !memcmp(s + n - k, suf, k);
}

static const char *basename_of(const char *s, size_t n, size_t *out_len)
{
	size_t i = n;
	while (i && s[i - 1] != '/')
		i--;
	*out_len = n - i;
	return s + i;
}

static int all_digits(const char *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* ---- header lines ---- */

struct header {
	const char *comm;
	size_t comm_len;
	uint32_t pid, tid; /* pid CS_NONE when perf printed only the thread id */
	const char *event; /* set if the line ends with "EVENT:" (a call chain follows) */
	size_t event_len;
	const char *frame; /* the frame of a one-line sample, else NULL */
	size_t frame_len;
	uint64_t period; /* the number just before the event, 0 if none */
	int bad_period;	 /* that number does not fit in 64 bits */
};

/* Digits to a number; -1 if it does not fit in 64 bits. */
static int parse_u64_digits(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int parse_u32(const char *s, size_t n, uint32_t *out)
{
	uint64_t v = 0;
	if (!n || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	if (v > UINT32_MAX - 1)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_frame_line(const char *s, size_t n, const char **pc, size_t *pc_len,
			    const char **sym, size_t *sym_len, const char **mod, size_t *mod_len);

/* "COMM [PID/]TID ..." where COMM may contain spaces: the thread id is the first word
 * after the first that is all digits (or digits/digits). */
static int parse_header(const char *s, size_t n, struct header *h)
{
	memset(h, 0, sizeof(*h));
	if (!n || is_ws(s[0]))
		return -1;
	size_t i = 0;
	while (i < n && !is_ws(s[i]))
		i++;
	for (;;) {
		while (i < n && is_ws(s[i]))
			i++;
		if (i >= n)
			return -1;
		size_t w = i;
		while (i < n && !is_ws(s[i]))
			i++;
		const char *slash = memchr(s + w, '/', i - w);
		if (slash) {
			size_t a = (size_t)(slash - (s + w));
			if (all_digits(s + w, a) && all_digits(slash + 1, i - w - a - 1)) {
				if (parse_u32(s + w, a, &h->pid) < 0 ||
				    parse_u32(slash + 1, i - w - a - 1, &h->tid) < 0)
					return -1;
				break;
			}
		} else if (all_digits(s + w, i - w)) {
			if (parse_u32(s + w, i - w, &h->tid) < 0)
				return -1;
			h->pid = CS_NONE;
			break;
		}
		if (i >= n)
			return -1;
	}
	/* comm: everything before the id word, trailing blanks dropped */
	size_t w = i;
	while (w && !is_ws(s[w - 1]))
		w--;
	size_t c = w;
	while (c && is_ws(s[c - 1]))
		c--;
	h->comm = s;
	h->comm_len = c;

	/* The event is the first word ending in ':' that is not the time stamp. */
	size_t end = n;
	while (end > i && is_ws(s[end - 1]))
		end--;
	size_t prev = 0, prev_len = 0; /* the word before, to find the period */
	while (i < end) {
		while (i < end && is_ws(s[i]))
			i++;
		size_t ws = i;
		while (i < end && !is_ws(s[i]))
			i++;
		size_t wl = i - ws;
		int stamp = wl >= 2 && s[ws + wl - 1] == ':';
		for (size_t k = ws; stamp && k < ws + wl - 1; k++)
			if (!isdigit((unsigned char)s[k]) && s[k] != '.')
				stamp = 0;
		if (wl < 2 || s[ws + wl - 1] != ':' || stamp) {
			prev = ws;
			prev_len = wl;
			continue;
		}
		if (all_digits(s + prev, prev_len) &&
		    parse_u64_digits(s + prev, prev_len, &h->period) < 0)
			h->bad_period = 1;
		if (i >= end) {
			h->event = s + ws;
			h->event_len = wl - 1;
			return 0;
		}
		/* Something follows the event: a one-line sample's frame, or the payload of
		 * a tracepoint (which is not a frame and is ignored). */
		while (i < end && is_ws(s[i]))
			i++;
		const char *a, *b, *m;
		size_t al, bl, ml;
		if (parse_frame_line(s + i, end - i, &a, &al, &b, &bl, &m, &ml) == 0) {
			h->frame = s + i;
			h->frame_len = end - i;
		}
		return 0;
	}
	return 0;
}

/* ---- frame lines ---- */

/* "ADDR SYM+OFF (MODULE)", already trimmed on both sides. SYM may be empty or
 * contain spaces and parentheses; MODULE is the parenthesised group at the end.
 * Without a module (perf script -F ip,sym) "HEXADDR SYM" is a frame too. */
static int parse_frame_line(const char *s, size_t n, const char **pc, size_t *pc_len,
			    const char **sym, size_t *sym_len, const char **mod, size_t *mod_len)
{
	size_t i = 0;
	int hex = 1;
	while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_')) {
		hex &= isxdigit((unsigned char)s[i]) != 0;
		i++;
	}
	if (i == 0 || i >= n || !is_ws(s[i]))
		return -1;
	*pc = s;
	*pc_len = i;
	/* the '(' matching the final ')' */
	size_t depth = 0, j = n;
	while (j > i && s[n - 1] == ')') {
		j--;
		if (s[j] == ')')
			depth++;
		else if (s[j] == '(' && --depth == 0)
			break;
	}
	if (s[n - 1] != ')' || depth != 0 || j <= i || !is_ws(s[j - 1])) {
		if (!hex)
			return -1;
		j = n + 1; /* no module: the rest is the symbol */
		*mod = s + n;
		*mod_len = 0;
	} else {
		*mod = s + j + 1;
		*mod_len = n - j - 2;
	}
	size_t a = i, b = CS_MIN(j, n);
	while (a < b && is_ws(s[a]))
		a++;
	while (b > a && is_ws(s[b - 1]))
		b--;
	*sym = s + a;
	*sym_len = b - a;
	return 0;
}

static int module_is_kernel(const char *m, size_t n)
{
	static const char *const user[] = {"[vdso]",	"[vsyscall]", "[vvar]",
					   "[heap]",	"[stack]",    "[unknown]",
					   "[uprobes]", "[vectors]",  "[sigpage]"};
	if (starts(m, n, "[kernel.") || ends(m, n, "vmlinux") || ends(m, n, ".ko"))
		return 1;
	if (!n || m[0] != '[' || starts(m, n, "[anon") || starts(m, n, "[JIT]"))
		return 0;
	for (size_t i = 0; i < CS_ARRAY_SIZE(user); i++)
		if (n == strlen(user[i]) && !memcmp(m, user[i], n))
			return 0;
	return 1; /* [nf_conntrack] and other kernel modules */
}

static int module_is_jit(const char *m, size_t n)
{
	size_t bl;
	const char *b = basename_of(m, n, &bl);
	if (starts(m, n, "[JIT]"))
		return 1;
	if (bl > 9 && starts(b, bl, "perf-") && ends(b, bl, ".map") && all_digits(b + 5, bl - 9))
		return 1;
	return ends(m, n, ".so") && memmem(m, n, "/jitted-", 8) != NULL;
}

static uint32_t module_of(struct st *st, const char *m, size_t n)
{
	struct cs_profile *p = st->p;
	if (!n || (n == 9 && !memcmp(m, "[unknown]", 9)))
		return CS_NONE;
	uint32_t path = cs_profile_str(p, m, n);
	if (path >= st->mod_cap) {
		size_t old = st->mod_cap;
		CS_GROW(st->mod_of_str, st->mod_cap, (size_t)path + 1);
		memset(st->mod_of_str + old, 0, (st->mod_cap - old) * sizeof(uint32_t));
	}
	if (st->mod_of_str[path])
		return st->mod_of_str[path] - 1;
	struct cs_module mod = {0};
	size_t bl;
	const char *b = basename_of(m, n, &bl);
	mod.path = path;
	mod.name = cs_profile_str(p, b, bl);
	if (module_is_kernel(m, n))
		mod.flags = CS_MODULE_KERNEL;
	else if (n == 6 && !memcmp(m, "[vdso]", 6))
		mod.flags = CS_MODULE_VDSO;
	else if (m[0] == '/' && !memmem(b, bl, ".so", 3) && !module_is_jit(m, n))
		mod.flags = CS_MODULE_MAIN; /* an executable that is not a library */
	uint32_t idx = cs_profile_module(p, &mod);
	st->mod_of_str[path] = idx + 1;
	return idx;
}

/* Tidy one function name as stackcollapse-perf.pl does, into st->name. */
static void tidy_name(struct st *st, const char *f, size_t n)
{
	struct cs_buf *b = &st->nb;
	b->n = 0;
	/* Go method names such as "net/http.(*Client).Do" keep their parentheses; other
	 * names lose everything from the first '(' that does not open
	 * "(anonymous namespace)": an argument list or a clone suffix. */
	int go = 0;
	const char *dp = memmem(f, n, ".(", 2);
	if (dp) {
		size_t rest = n - (size_t)(dp + 2 - f);
		go = memmem(dp + 2, rest, ").", 2) != NULL;
	}
	if (!go) {
		for (size_t i = 0; i < n; i++) {
			if (f[i] != '(')
				continue;
			if (n - i >= 21 && !memcmp(f + i, "(anonymous namespace)", 21))
				continue;
			n = i;
			break;
		}
	}
	for (size_t i = 0; i < n; i++) {
		char c = f[i];
		if (c == '"' || c == '\'')
			continue;
		cs_buf_put_u8(b, (uint8_t)(c == ';' ? ':' : c));
	}
	/* Java: "Lorg/foo/Bar;.run" -> "org/foo/Bar:.run" */
	if (st->java && b->n && b->p[0] == 'L' && memchr(b->p, '/', b->n)) {
		memmove(b->p, b->p + 1, b->n - 1);
		b->n--;
	}
}

static uint32_t make_frame(struct st *st, const char *pc, size_t pc_len, const char *f, size_t n,
			   uint32_t module, const char *m, size_t ml, uint32_t flags)
{
	struct cs_profile *p = st->p;
	struct cs_frame fr = {0};
	fr.module = module;
	fr.flags = flags;
	if (n == 9 && !memcmp(f, "[unknown]", 9)) {
		/* "[unknown]" is named after the module if known, like "[libc.so.6]" */
		struct cs_buf *b = &st->nb;
		b->n = 0;
		cs_buf_put_u8(b, '[');
		if (module != CS_NONE) {
			size_t bl;
			const char *bn = basename_of(m, ml, &bl);
			cs_buf_put(b, bn, bl);
		} else {
			cs_buf_put(b, "unknown", 7);
		}
		if (st->o->addrs) {
			cs_buf_put(b, " <", 2);
			cs_buf_put(b, pc, pc_len);
			cs_buf_put_u8(b, '>');
		}
		cs_buf_put_u8(b, ']');
		/* the rules of tidy_name apply to the module name too */
		char *tmp = cs_xstrndup((const char *)b->p, b->n);
		size_t tl = b->n;
		tidy_name(st, tmp, tl);
		free(tmp);
		fr.flags |= CS_FRAME_UNKNOWN;
	} else {
		tidy_name(st, f, n);
	}
	fr.func = cs_profile_str(p, st->nb.n ? (const char *)st->nb.p : "", st->nb.n);
	return cs_profile_frame(p, &fr);
}

/* Parse one frame line into frames (leaf first) appended to out. Returns the number of
 * frames (0 for a line perf uses for a process name), or -1 if it is not a frame. */
static int frames_of_line(struct st *st, const char *s, size_t n, int *inlined, int *cacheable,
			  void *out_vec)
{
	CS_VEC(uint32_t) *out = out_vec;
	const char *pc, *sym, *mod;
	size_t pcl, syml, modl;
	*inlined = 0;
	*cacheable = 1;
	if (parse_frame_line(s, n, &pc, &pcl, &sym, &syml, &mod, &modl) < 0)
		return -1;
	if (modl == 7 && !memcmp(mod, "inlined", 7)) {
		/* perf --inline prints "ADDR func (inlined)": the module is the one of the
		 * next frame line, which is the function it was inlined into. */
		*inlined = 1;
		*cacheable = 0;
		mod = "";
		modl = 0;
	}
	/* strip a symbol offset "+0x1f" */
	for (size_t k = syml; k >= 4; k--) {
		if (sym[k - 1] == 'x' && sym[k - 2] == '0' && sym[k - 3] == '+') {
			if (k < syml)
				syml = k - 3;
			break;
		}
		if (!isdigit((unsigned char)sym[k - 1]) && (sym[k - 1] < 'a' || sym[k - 1] > 'f'))
			break;
	}
	if (!syml) {
		sym = "[unknown]";
		syml = 9;
	}
	if (sym[0] == '(')
		return 0; /* "(comm)": not a frame */
	uint32_t module = module_of(st, mod, modl);
	uint32_t flags = 0;
	if (module != CS_NONE) {
		if (module_is_kernel(mod, modl))
			flags |= CS_FRAME_KERNEL;
		else if (module_is_jit(mod, modl))
			flags |= CS_FRAME_JIT;
	}
	if (*inlined)
		flags |= CS_FRAME_INLINE;
	if (st->o->addrs && memmem(sym, syml, "[unknown]", 9))
		*cacheable = 0;
	/* "outer->inner->innermost": Java inline chains, outermost first; all but the
	 * first are inlined. Appended leaf first. */
	size_t mark = out->n;
	size_t a = 0;
	for (;;) {
		const char *arrow = memmem(sym + a, syml - a, "->", 2);
		size_t e = arrow ? (size_t)(arrow - sym) : syml;
		uint32_t fl = flags | (a > 0 ? CS_FRAME_INLINE : 0);
		uint32_t fi = make_frame(st, pc, pcl, sym + a, e - a, module, mod, modl, fl);
		CS_VEC_PUSH(*out, fi);
		if (!arrow)
			break;
		a = e + 2;
	}
	/* reverse the chain just appended so the innermost comes first */
	for (size_t x = mark, y = out->n - 1; x < y; x++, y--) {
		uint32_t t = out->v[x];
		out->v[x] = out->v[y];
		out->v[y] = t;
	}
	return (int)(out->n - mark);
}

struct line_key {
	struct st *st;
	const char *s;
	size_t n;
};

static int line_eq(void *ctx, uint32_t idx)
{
	struct line_key *k = ctx;
	const struct line_ent *e = &k->st->lines.v[idx];
	return e->len == k->n && e->java == k->st->java && !memcmp(e->text, k->s, k->n);
}

/* Give the frames inlined into the frame just added the module of that frame. */
static void settle_inline(struct st *st)
{
	struct cs_profile *p = st->p;
	uint32_t host = st->frames.v[st->frames.n - 1];
	uint32_t module = p->frames.v[host].module;
	for (size_t k = st->frames.n - 1 - st->pending_inline; k < st->frames.n - 1; k++) {
		struct cs_frame f = p->frames.v[st->frames.v[k]];
		f.module = module;
		if (module != CS_NONE && (p->modules.v[module].flags & CS_MODULE_KERNEL))
			f.flags |= CS_FRAME_KERNEL;
		st->frames.v[k] = cs_profile_frame(p, &f);
	}
	st->pending_inline = 0;
}

static int stack_line(struct st *st, const char *s, size_t n)
{
	/* Everything after the address identifies the frames: look it up first. */
	size_t a = 0;
	while (a < n && !is_ws(s[a]))
		a++;
	const char *key = s + a;
	size_t keyn = n - a;
	uint64_t h = cs_hash_bytes(key, keyn, 0x9e37 + (uint64_t)st->java);
	struct line_key k = {st, key, keyn};
	uint32_t idx = cs_index_find(&st->line_ix, h, line_eq, &k);
	if (idx != CS_INDEX_NONE) {
		const struct line_ent *e = &st->lines.v[idx];
		for (uint32_t i = 0; i < e->n; i++)
			CS_VEC_PUSH(st->frames, st->line_frames.v[e->first + i]);
		if (e->n && st->pending_inline)
			settle_inline(st);
		return 0;
	}
	int inlined, cacheable;
	size_t before = st->frames.n;
	int got = frames_of_line(st, s, n, &inlined, &cacheable, &st->frames);
	if (got < 0)
		return -1;
	if (cacheable) {
		struct line_ent e = {key, (uint32_t)keyn, (uint32_t)st->line_frames.n,
				     (uint32_t)got, st->java};
		for (int i = 0; i < got; i++)
			CS_VEC_PUSH(st->line_frames, st->frames.v[before + i]);
		cs_index_insert(&st->line_ix, h, (uint32_t)st->lines.n);
		CS_VEC_PUSH(st->lines, e);
	}
	if (inlined)
		st->pending_inline += (size_t)got;
	else if (got && st->pending_inline)
		settle_inline(st);
	return 0;
}

/* "  file.c:123" after a frame line (perf script -F+srcline): the source line of the
 * frame before. "??:0" and "[module][addr]" carry nothing. */
static int srcline(struct st *st, const char *s, size_t n)
{
	const char *colon = NULL;
	for (size_t i = n; i > 0; i--)
		if (s[i - 1] == ':') {
			colon = s + i - 1;
			break;
		}
	if (s[0] == '[' && s[n - 1] == ']')
		return 0;
	if (!colon || colon == s)
		return -1;
	size_t fl = (size_t)(colon - s), ll = n - fl - 1;
	uint32_t line;
	/* perf may append " (discriminator N)" or similar: keep the digits only */
	size_t d = 0;
	while (d < ll && isdigit((unsigned char)colon[1 + d]))
		d++;
	if (!d || parse_u32(colon + 1, d, &line) < 0)
		return -1;
	if (!st->frames.n || (fl == 2 && !memcmp(s, "??", 2)) || !line)
		return 0;
	struct cs_frame f = st->p->frames.v[st->frames.v[st->frames.n - 1]];
	f.file = cs_profile_str(st->p, s, fl);
	f.line = line;
	st->frames.v[st->frames.n - 1] = cs_profile_frame(st->p, &f);
	return 0;
}

/* Store the frames gathered (leaf first) as one sample of st->thread weighing
 * st->period, and start over. */
static void store_sample(struct st *st)
{
	struct cs_profile *p = st->p;
	st->root_first.n = 0;
	for (size_t i = st->frames.n; i > 0; i--)
		CS_VEC_PUSH(st->root_first, st->frames.v[i - 1]);
	/* look nodes up until one is new: all below it are new too */
	uint32_t stack = 0, base = (uint32_t)p->nodes.n;
	size_t i = 0;
	while (i < st->root_first.n && stack < base)
		stack = cs_profile_node(p, stack, st->root_first.v[i++]);
	if (i < st->root_first.n)
		stack = cs_profile_chain(p, stack, st->root_first.v + i, st->root_first.n - i);
	uint64_t w = st->period;
	if (w > UINT64_MAX - st->weight)
		st->too_heavy = 1;
	else
		st->weight += w;
	cs_profile_add(p, stack, st->thread, w);
	p->stats.samples++;
	st->frames.n = 0;
	st->pending_inline = 0;
}

static void end_sample(struct st *st)
{
	if (!st->in_sample)
		return;
	st->in_sample = 0;
	if (!st->keep) {
		st->frames.n = 0;
		st->pending_inline = 0;
		return;
	}
	store_sample(st);
}

static void bad_line(struct st *st)
{
	if (!st->bad_lines++)
		st->first_bad = st->lineno;
}

static void header_line(struct st *st, const char *s, size_t n, const struct header *h)
{
	struct cs_profile *p = st->p;
	end_sample(st);
	st->in_sample = 1;
	st->keep = 1;
	st->period = h->period ? h->period : 1;
	if (h->bad_period && !st->bad_period_line)
		st->bad_period_line = st->lineno;
	if (h->event) {
		uint32_t ev = cs_profile_str(p, h->event, h->event_len);
		if (!st->event)
			st->event = ev;
		else if (ev != st->event) {
			/* Mixing event types (cycles and instructions, say) would add up
			 * incomparable counts: keep the first type only, as perf's
			 * stackcollapse does. */
			st->keep = 0;
			st->skipped++;
			return;
		}
	}
	/* the thread: reuse the previous one when the line starts the same way */
	size_t id_end = (size_t)(h->comm - s) + h->comm_len;
	while (id_end < n && is_ws(s[id_end]))
		id_end++;
	while (id_end < n && !is_ws(s[id_end]))
		id_end++;
	if (st->last_hdr && st->last_hdr_len == id_end && !memcmp(st->last_hdr, s, id_end)) {
		st->thread = st->last_thread;
		st->java = st->last_java;
	} else {
		uint32_t comm = cs_profile_str(p, h->comm, h->comm_len);
		st->thread = cs_profile_thread(p, h->pid, h->tid, comm, 0);
		st->java =
		    h->comm_len == 4 && !memcmp(h->comm, "java", 4) && !st->o->pid && !st->o->tid;
		st->last_hdr = s;
		st->last_hdr_len = id_end;
		st->last_thread = st->thread;
		st->last_java = st->java;
	}
	if (h->frame && stack_line(st, h->frame, h->frame_len) < 0)
		bad_line(st);
	if (h->frame)
		end_sample(st);
}

static void command_line(struct st *st, const char *s, size_t n)
{
	/* "# cmdline : /usr/bin/perf record -g ./prog" (perf script --header) */
	const char *c = memchr(s, ':', n);
	if (!c || st->p->meta.command)
		return;
	c++;
	size_t rest = n - (size_t)(c - s);
	while (rest && is_ws(*c)) {
		c++;
		rest--;
	}
	st->p->meta.command = cs_profile_str(st->p, c, rest);
}

/* ---- stackcollapse-perf.pl's rules (o->compat) ----
 *
 * The Perl script reads line by line: a line starting with '#' is skipped; an empty
 * line ends the sample (if the script knows its process: otherwise it is ignored and
 * the frames gathered so far stay); a line matching its header pattern sets the
 * process name and period (and, when its event is not the first event seen, is
 * skipped, leaving both as they were); a line matching its frame pattern adds
 * frames if a process name is set; other lines are ignored. A header does not end the
 * sample before it, and the last sample is dropped unless an empty line follows. */

static int perl_kernel_module(const char *m, size_t n)
{
	return ((n && m[0] == '[') || ends(m, n, "vmlinux")) && !memmem(m, n, "unknown", 7);
}

static int perl_jit_module(const char *m, size_t n)
{
	/* m:/tmp/perf-\d+\.map: anywhere in the module */
	for (const char *f = m; (f = memmem(f, n - (size_t)(f - m), "/tmp/perf-", 10)); f++) {
		size_t i = (size_t)(f - m) + 10, d = i;
		while (d < n && isdigit((unsigned char)m[d]))
			d++;
		if (d > i && n - d >= 4 && !memcmp(m + d, ".map", 4))
			return 1;
	}
	return 0;
}

/* One piece of a frame line's symbol, named as the Perl script names it. */
static uint32_t perl_piece(struct st *st, const struct cs_perl_frame *f, const char *piece,
			   size_t n, int inlined, uint32_t module, uint32_t flags)
{
	struct cs_profile *p = st->p;
	struct cs_frame fr = {0};
	fr.module = module;
	fr.flags = flags | (inlined ? CS_FRAME_INLINE : 0);
	if (n == 9 && !memcmp(piece, "[unknown]", 9)) {
		struct cs_buf *b = &st->nb;
		b->n = 0;
		cs_buf_put_u8(b, '[');
		if (f->mod_len == 9 && !memcmp(f->mod, "[unknown]", 9)) {
			cs_buf_put(b, "unknown", 7);
		} else {
			size_t bl;
			const char *bn = basename_of(f->mod, f->mod_len, &bl);
			cs_buf_put(b, bn, bl);
		}
		if (st->o->addrs) {
			cs_buf_put(b, " <", 2);
			cs_buf_put(b, f->pc, f->pc_len);
			cs_buf_put_u8(b, '>');
		}
		cs_buf_put_u8(b, ']');
		char *tmp = cs_xstrndup((const char *)b->p, b->n);
		tidy_name(st, tmp, b->n);
		free(tmp);
		fr.flags |= CS_FRAME_UNKNOWN;
	} else {
		tidy_name(st, piece, n);
	}
	if (inlined)
		cs_buf_put(&st->nb, "_[i]", 4);
	else if (st->o->kernel && perl_kernel_module(f->mod, f->mod_len))
		cs_buf_put(&st->nb, "_[k]", 4);
	else if (st->o->jit && perl_jit_module(f->mod, f->mod_len))
		cs_buf_put(&st->nb, "_[j]", 4);
	fr.func = cs_profile_str(p, st->nb.n ? (const char *)st->nb.p : "", st->nb.n);
	return cs_profile_frame(p, &fr);
}

/* The frames of one matched frame line, appended leaf first. */
static void perl_frames(struct st *st, const struct cs_perl_frame *f)
{
	const char *sym = f->func;
	size_t n = f->func_len;
	/* s/\+0x[\da-f]+$// */
	size_t k = n;
	while (k &&
	       (isdigit((unsigned char)sym[k - 1]) || (sym[k - 1] >= 'a' && sym[k - 1] <= 'f')))
		k--;
	if (k < n && k >= 3 && !memcmp(sym + k - 3, "+0x", 3))
		n = k - 3;
	if (n && sym[0] == '(')
		return; /* a process name */
	/* split /->/, dropping trailing empty pieces: (start, length) pairs */
	st->pieces.n = 0;
	for (size_t a = 0;;) {
		const char *arrow = n > a ? memmem(sym + a, n - a, "->", 2) : NULL;
		size_t e = arrow ? (size_t)(arrow - sym) : n;
		CS_VEC_PUSH(st->pieces, a);
		CS_VEC_PUSH(st->pieces, e - a);
		if (!arrow)
			break;
		a = e + 2;
	}
	size_t np = st->pieces.n / 2;
	while (np && !st->pieces.v[2 * np - 1])
		np--;
	uint32_t module = module_of(st, f->mod, f->mod_len), flags = 0;
	if (module != CS_NONE) {
		if (module_is_kernel(f->mod, f->mod_len))
			flags |= CS_FRAME_KERNEL;
		else if (module_is_jit(f->mod, f->mod_len))
			flags |= CS_FRAME_JIT;
	}
	/* innermost first: the vector is leaf first */
	for (size_t i = np; i-- > 0;) {
		const char *piece = sym + st->pieces.v[2 * i];
		uint32_t fi =
		    perl_piece(st, f, piece, st->pieces.v[2 * i + 1], i > 0, module, flags);
		CS_VEC_PUSH(st->frames, fi);
	}
}

static void perl_frame_line(struct st *st, const struct cs_perl_frame *f, const char *s, size_t n)
{
	/* The frames depend on the text from the symbol on (and on the address only
	 * for "[unknown]" with --addrs): cache them by that text. */
	const char *key = f->func;
	size_t keyn = n - (size_t)(f->func - s);
	uint64_t h = cs_hash_bytes(key, keyn, 0x5e37 + (uint64_t)st->java);
	struct line_key k = {st, key, keyn};
	uint32_t idx = cs_index_find(&st->line_ix, h, line_eq, &k);
	if (idx != CS_INDEX_NONE) {
		const struct line_ent *e = &st->lines.v[idx];
		for (uint32_t i = 0; i < e->n; i++)
			CS_VEC_PUSH(st->frames, st->line_frames.v[e->first + i]);
		return;
	}
	size_t before = st->frames.n;
	perl_frames(st, f);
	if (st->o->addrs && memmem(f->func, f->func_len, "[unknown]", 9))
		return;
	size_t got = st->frames.n - before;
	struct line_ent e = {key, (uint32_t)keyn, (uint32_t)st->line_frames.n, (uint32_t)got,
			     st->java};
	for (size_t i = 0; i < got; i++)
		CS_VEC_PUSH(st->line_frames, st->frames.v[before + i]);
	cs_index_insert(&st->line_ix, h, (uint32_t)st->lines.n);
	CS_VEC_PUSH(st->lines, e);
}

static uint32_t perl_u32(const char *s, size_t n)
{
	uint64_t v;
	if (parse_u64_digits(s, n, &v) < 0 || v >= CS_NONE)
		return CS_NONE - 1;
	return (uint32_t)v;
}

static void perl_header_line(struct st *st, const char *s, size_t n, const struct cs_perl_header *h)
{
	struct cs_profile *p = st->p;
	const char *per, *ev;
	size_t perl, evl;
	uint64_t period = 1; /* none, or "0" (false in Perl): 1; but "00" is true and 0 */
	if (cs_perl_event(s, n, &per, &perl, &ev, &evl)) {
		if (perl && !(perl == 1 && per[0] == '0') &&
		    parse_u64_digits(per, perl, &period) < 0 && !st->bad_period_line)
			st->bad_period_line = st->lineno;
		uint32_t id = cs_profile_str(p, ev, evl);
		if (!st->event) {
			st->event = id;
		} else if (id != st->event) {
			st->skipped++;
			return;
		}
	}
	st->period = period;
	/* "PID/TID", or "TID" alone (then the pid prints as '?'); a TID of "0" counts as
	 * none, as in the script */
	uint32_t pid, tid;
	if (!h->second_len || (h->second_len == 1 && h->second[0] == '0')) {
		pid = CS_NONE;
		tid = perl_u32(h->first, h->first_len);
	} else {
		pid = perl_u32(h->first, h->first_len);
		tid = perl_u32(h->second, h->second_len);
	}
	uint32_t comm = cs_profile_str(p, s, h->comm_len);
	st->thread = cs_profile_thread(p, pid, tid, comm, 0);
	st->java = !st->o->pid && !st->o->tid && h->comm_len == 4 && !memcmp(s, "java", 4);
	st->pname = 1; /* a comm has two bytes at least: never Perl's false "0" */
}

static void import_compat(struct st *st, const char *text, size_t n)
{
	size_t pos = 0;
	while (pos < n) {
		const char *nl = memchr(text + pos, '\n', n - pos);
		size_t len = nl ? (size_t)(nl - (text + pos)) : n - pos;
		const char *s = text + pos;
		pos += len + 1;
		st->lineno++;
		if (len && s[0] == '#') {
			if (starts(s, len, "# cmdline"))
				command_line(st, s, len);
			continue;
		}
		if (!len) {
			if (st->pname) {
				store_sample(st);
				st->pname = 0;
			}
			continue;
		}
		struct cs_perl_header h;
		struct cs_perl_frame f;
		if (cs_perl_header(s, len, &h))
			perl_header_line(st, s, len, &h);
		else if (cs_perl_frame(s, len, &f)) {
			if (st->pname)
				perl_frame_line(st, &f, s, len);
		} else
			bad_line(st);
	}
	if (st->pname)
		cs_warn("'%s': the last sample has no empty line after it and was left out, as "
			"stackcollapse-perf.pl does (fold --robust keeps it)",
			st->name);
}

int cs_looks_perf_script(const char *text, size_t n)
{
	size_t pos = 0;
	int lines = 0, headers = 0, frames = 0, in_sample = 0, events = 0, others = 0;
	while (pos < n && lines < 200 && frames < 3) {
		const char *nl = memchr(text + pos, '\n', n - pos);
		size_t len = nl ? (size_t)(nl - (text + pos)) : n - pos;
		const char *s = text + pos;
		pos += len + 1;
		while (len && is_ws(s[len - 1]))
			len--;
		if (!len || s[0] == '#') {
			in_sample = 0;
			continue;
		}
		lines++;
		size_t a = 0;
		while (a < len && is_ws(s[a]))
			a++;
		if (!a || !in_sample) {
			/* a header; without call chains perf right-aligns the name */
			struct header h;
			struct cs_perl_header ph;
			if (parse_header(s + a, len - a, &h) < 0 || (a && !h.frame)) {
				if (a || !cs_perl_header(s, len, &ph)) {
					others++; /* a frame of no sample, or not perf's */
					continue;
				}
				h.frame = NULL;
			}
			headers++;
			events += h.event != NULL;
			if (h.frame)
				frames++;
			in_sample = h.frame == NULL;
			continue;
		}
		const char *pc, *sym, *mod;
		size_t pcl, syml, modl;
		struct cs_perl_frame pf;
		if (parse_frame_line(s + a, len - a, &pc, &pcl, &sym, &syml, &mod, &modl) == 0 ||
		    cs_perl_frame(s, len, &pf))
			frames++;
		else
			others++;
	}
	/* samples without call chains (perf script -F comm,tid,event): headers only */
	return headers > 0 && (frames > 0 || (events == headers && !others));
}

static void import_robust(struct st *st, const char *text, size_t n)
{
	size_t pos = 0;
	while (pos < n) {
		const char *nl = memchr(text + pos, '\n', n - pos);
		size_t len = nl ? (size_t)(nl - (text + pos)) : n - pos;
		const char *s = text + pos;
		pos += len + 1;
		st->lineno++;
		while (len && is_ws(s[len - 1]))
			len--;
		if (!len) {
			end_sample(st);
			continue;
		}
		if (s[0] == '#') {
			if (starts(s, len, "# cmdline"))
				command_line(st, s, len);
			continue;
		}
		size_t a = 0;
		while (a < len && is_ws(s[a]))
			a++;
		if (!a || !st->in_sample) {
			/* A header. Without call chains, perf right-aligns the process name
			 * and puts the one frame on the same line. */
			struct header h;
			if (parse_header(s + a, len - a, &h) < 0 || (a && !h.frame)) {
				bad_line(st);
				end_sample(st);
				continue;
			}
			header_line(st, s + a, len - a, &h);
			continue;
		}
		if (!st->keep)
			continue;
		if (stack_line(st, s + a, len - a) < 0 && srcline(st, s + a, len - a) < 0)
			bad_line(st);
	}
	end_sample(st);
}

int cs_import_perf_script(struct cs_profile *p, const char *text, size_t n, const char *name,
			  const struct cs_import_opts *o)
{
	struct cs_import_opts none = {0};
	struct st st;
	int ret = 0;
	memset(&st, 0, sizeof(st));
	st.p = p;
	st.o = o ? o : &none;
	st.name = name;
	cs_index_init(&st.line_ix);
	cs_buf_init(&st.nb);
	p->meta.source = CS_SOURCE_PERF_SCRIPT;

	if (st.o->compat)
		import_compat(&st, text, n);
	else
		import_robust(&st, text, n);

	if (st.event)
		p->meta.event = st.event;
	p->stats.threads = p->threads.n;
	{
		struct cs_map64 pids;
		cs_map64_init(&pids);
		for (size_t i = 0; i < p->threads.n; i++) {
			int added;
			cs_map64_put(&pids, p->threads.v[i].pid, 0, &added);
		}
		p->stats.processes = pids.n;
		cs_map64_release(&pids);
	}
	if (st.bad_period_line) {
		ret = cs_error("'%s' line %zu: the period does not fit in 64 bits", name,
			       st.bad_period_line);
		goto out;
	}
	if (st.too_heavy) {
		ret = cs_error("'%s': the periods of its samples add up to more than %llu, which "
			       "cannot be counted",
			       name, (unsigned long long)UINT64_MAX);
		goto out;
	}
	if (st.skipped)
		cs_warn("'%s': kept the samples of event '%s' only; %llu sample%s of other events "
			"%s left out",
			name, cs_str(p, st.event), (unsigned long long)st.skipped,
			st.skipped == 1 ? "" : "s", st.skipped == 1 ? "was" : "were");
	if (st.bad_lines)
		cs_warn("'%s': %llu line%s not understood and left out (the first is line %zu)",
			name, (unsigned long long)st.bad_lines,
			st.bad_lines == 1 ? " was" : "s were", st.first_bad);
out:
	CS_VEC_FREE(st.frames);
	CS_VEC_FREE(st.root_first);
	CS_VEC_FREE(st.pieces);
	CS_VEC_FREE(st.lines);
	CS_VEC_FREE(st.line_frames);
	cs_index_release(&st.line_ix);
	free(st.mod_of_str);
	cs_buf_release(&st.nb);
	return ret;
}
