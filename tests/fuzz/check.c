/* check.c - output checks for the fuzz harnesses: JSON that parses (RFC 8259, UTF-8),
 * folded lines, characters an XML document may carry, text safe for a terminal. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s[0..n) (n > 0), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, v = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, v = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, v = c & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* ---- JSON ---- */

struct js {
	const unsigned char *p, *end;
	const char *err;
	int depth;
	const unsigned char *key; /* the member name of the value being read, unquoted */
	size_t key_len;
};

/* Members that are a share of something, so within 0..100 whatever the counts were
 * (sums that wrap once gave 180 %). cpu_pct is not: 100 is one core. */
static int is_share(const struct js *j)
{
	static const char *const keys[] = {"self_pct",	      "total_pct",	    "pct",
					   "pct_of_function", "function_total_pct", "complete_pct"};
	for (size_t i = 0; i < CS_ARRAY_SIZE(keys); i++)
		if (j->key && strlen(keys[i]) == j->key_len && !memcmp(j->key, keys[i], j->key_len))
			return 1;
	return 0;
}

static void js_ws(struct js *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int js_fail(struct js *j, const char *why)
{
	if (!j->err)
		j->err = why;
	return -1;
}

static int js_lit(struct js *j, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n))
		return js_fail(j, "bad literal");
	j->p += n;
	return 0;
}

static int js_string(struct js *j)
{
	if (j->p >= j->end || *j->p != '"')
		return js_fail(j, "expected a string");
	j->p++;
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = *j->p;
		if (c < 0x20)
			return js_fail(j, "raw control character in a string");
		if (c == '\\') {
			if (j->end - j->p < 2)
				return js_fail(j, "truncated escape");
			unsigned char e = j->p[1];
			if (e == 'u') {
				if (j->end - j->p < 6)
					return js_fail(j, "truncated \\u escape");
				for (int i = 2; i < 6; i++)
					if (!strchr("0123456789abcdefABCDEF", j->p[i]) || !j->p[i])
						return js_fail(j, "bad \\u escape");
				j->p += 6;
			} else if (e && strchr("\"\\/bfnrt", e)) {
				j->p += 2;
			} else {
				return js_fail(j, "bad escape");
			}
			continue;
		}
		uint32_t cp;
		size_t len = utf8_len(j->p, (size_t)(j->end - j->p), &cp);
		if (!len)
			return js_fail(j, "invalid UTF-8 in a string");
		j->p += len;
	}
	if (j->p >= j->end)
		return js_fail(j, "unterminated string");
	j->p++;
	return 0;
}

static int js_digits(struct js *j)
{
	const unsigned char *s = j->p;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s ? 0 : js_fail(j, "expected digits");
}

static int js_number(struct js *j)
{
	const unsigned char *start = j->p;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (js_digits(j) < 0)
		return js_fail(j, "bad number (nan or inf?)");
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (js_digits(j) < 0)
			return -1;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (js_digits(j) < 0)
			return -1;
	}
	if (is_share(j)) {
		char num[64];
		size_t len = CS_MIN((size_t)(j->p - start), sizeof(num) - 1);
		memcpy(num, start, len);
		num[len] = 0;
		double v = strtod(num, NULL);
		if (!(v >= 0 && v <= 100.005)) {
			j->p = start;
			return js_fail(j, "a percentage out of 0..100");
		}
	}
	return 0;
}

static int js_value(struct js *j);

/* Members of an object (obj) or elements of an array, after the opening bracket. */
static int js_list(struct js *j, int obj)
{
	char close = obj ? '}' : ']';
	js_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return 0;
	}
	for (;;) {
		js_ws(j);
		if (obj) {
			const unsigned char *name = j->p + 1;
			if (js_string(j) < 0)
				return -1;
			j->key = name;
			j->key_len = (size_t)(j->p - 1 - name);
			js_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return js_fail(j, "expected ':'");
			j->p++;
		} else {
			j->key = NULL;
		}
		if (js_value(j) < 0)
			return -1;
		js_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			return 0;
		}
		return js_fail(j, obj ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int js_value(struct js *j)
{
	js_ws(j);
	if (j->p >= j->end)
		return js_fail(j, "expected a value");
	int r;
	switch (*j->p) {
	case '{':
	case '[':
		if (++j->depth > 64)
			return js_fail(j, "nested too deep");
		j->p++;
		r = js_list(j, j->p[-1] == '{');
		j->depth--;
		return r;
	case '"':
		return js_string(j);
	case 't':
		return js_lit(j, "true");
	case 'f':
		return js_lit(j, "false");
	case 'n':
		return js_lit(j, "null");
	default:
		return js_number(j);
	}
}

void fz_check_json(const char *text, size_t n, const char *what)
{
	struct js j = {0};
	j.p = (const unsigned char *)text;
	j.end = j.p + n;
	if (js_value(&j) == 0) {
		js_ws(&j);
		if (j.p == j.end)
			return;
		js_fail(&j, "text after the value");
	}
	size_t at = (size_t)((const char *)j.p - text);
	size_t from = at > 60 ? at - 60 : 0;
	fz_fail("%s: invalid JSON (%s) at byte %zu: ...%.*s<HERE>%.*s", what, j.err, at,
		(int)(at - from), text + from, (int)CS_MIN(n - at, 40), text + at);
}

/* ---- folded ---- */

void fz_check_folded(const char *text, size_t n, const char *what)
{
	size_t pos = 0, lineno = 0;
	if (n && text[n - 1] != '\n')
		fz_fail("%s: folded output does not end with a line break", what);
	while (pos < n) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', n - pos);
		size_t len = (size_t)(nl - line), i = len;
		lineno++;
		pos += len + 1;
		while (i && line[i - 1] >= '0' && line[i - 1] <= '9')
			i--;
		if (i == len || i < 2 || line[i - 1] != ' ' || len - i > 20)
			fz_fail("%s: folded line %zu is not 'frames COUNT': '%.*s'", what, lineno,
				(int)len, line);
		if (memchr(line, '\r', len))
			fz_fail("%s: folded line %zu carries a carriage return", what, lineno);
	}
}

/* ---- XML characters ---- */

void fz_check_xml_chars(const char *text, size_t n, const char *what)
{
	const unsigned char *s = (const unsigned char *)text;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_len(s + i, n - i, &cp);
		if (!len)
			fz_fail("%s: invalid UTF-8 at byte %zu of the SVG", what, i);
		if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0xfffe ||
		    cp == 0xffff)
			fz_fail(
			    "%s: character U+%04X, which XML 1.0 forbids, at byte %zu of the SVG",
			    what, (unsigned)cp, i);
		i += len;
	}
}

/* ---- text for a terminal ---- */

void fz_check_terminal(const char *text, size_t n, int allow_cr, const char *what)
{
	const unsigned char *s = (const unsigned char *)text;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		/* C0 controls but tab and line feed, DEL, and C1 controls (U+0080..U+009F,
		 * which some terminals obey as escapes) */
		int bad = (c < 0x20 && c != '\t' && c != '\n' && !(allow_cr && c == '\r')) ||
			  c == 0x7f ||
			  (c == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f);
		if (!bad)
			continue;
		size_t from = i > 40 ? i - 40 : 0;
		fz_fail("%s: control character 0x%02x at byte %zu reaches the terminal: ...%.*s",
			what, c == 0xc2 ? s[i + 1] : c, i, (int)(i - from), text + from);
	}
}
