/* escape.c - names made safe for each output: JSON strings, CSV fields and text meant
 * for a terminal. Symbol, module, file and thread names come from the profiled
 * program and its files, so they may hold any bytes: a terminal escape sequence in a
 * symbol must never reach the terminal of the person reading a report. */
#include "render.h"
#include "util/buf.h"

#include <string.h>

/* Length of the valid UTF-8 sequence at s[i] (1 for ASCII), or 0 if the bytes there
 * are not one (overlong forms, surrogates and code points past U+10FFFF are not). */
static size_t utf8_len(const unsigned char *s, size_t i, size_t len)
{
	unsigned char c = s[i];
	if (c < 0x80)
		return 1;
	size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
	if (!n || c >= 0xf5 || i + n > len)
		return 0;
	for (size_t j = 1; j < n; j++)
		if ((s[i + j] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] > 0x9f) ||
	    (c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] > 0x8f))
		return 0;
	return n;
}

/* A C1 control (U+0080..U+009F) in UTF-8: some terminals act on them (U+009B is CSI). */
static int c1_control(const unsigned char *s, size_t i, size_t n)
{
	return n == 2 && s[i] == 0xc2 && s[i + 1] <= 0x9f;
}

void cs_json_str(FILE *out, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	fputc('"', out);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];
		if (c == '"' || c == '\\') {
			fputc('\\', out);
			fputc(c, out);
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			fprintf(out, "\\u%04x", c);
			continue;
		}
		size_t n = utf8_len(s, i, len);
		if (!n) {
			fputs("\\ufffd", out); /* not UTF-8: JSON text must be */
		} else if (c1_control(s, i, n)) {
			fprintf(out, "\\u%04x", s[i + 1]);
			i++;
		} else {
			fwrite(s + i, 1, n, out);
			i += n - 1;
		}
	}
	fputc('"', out);
}

void cs_text_escape(struct cs_buf *b, const char *str, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];
		size_t n = c < 0x20 || c == 0x7f ? 0 : utf8_len(s, i, len);
		if (n && !c1_control(s, i, n)) {
			cs_buf_put(b, s + i, n);
			i += n - 1;
			continue;
		}
		/* a control byte, a C1 control (both of its bytes) or a byte that is not
		 * UTF-8: written as \xNN */
		size_t k = n ? n : 1;
		for (size_t j = 0; j < k; j++) {
			uint8_t e[4] = {'\\', 'x', (uint8_t)hex[s[i + j] >> 4],
					(uint8_t)hex[s[i + j] & 15]};
			cs_buf_put(b, e, 4);
		}
		i += k - 1;
	}
}

const char *cs_text_str(struct cs_buf *b, const char *s)
{
	b->n = 0;
	cs_text_escape(b, s, strlen(s));
	cs_buf_put_u8(b, 0);
	return (const char *)b->p;
}

void cs_text_put(FILE *out, const char *s)
{
	struct cs_buf b;
	cs_buf_init(&b);
	fputs(cs_text_str(&b, s), out);
	cs_buf_release(&b);
}

void cs_csv_str(FILE *out, const char *s)
{
	struct cs_buf b;
	cs_buf_init(&b);
	const char *t = cs_text_str(&b, s);
	if (!strpbrk(t, ",\"")) {
		fputs(t, out);
	} else {
		fputc('"', out);
		for (; *t; t++) {
			if (*t == '"')
				fputc('"', out);
			fputc(*t, out);
		}
		fputc('"', out);
	}
	cs_buf_release(&b);
}
