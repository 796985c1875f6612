/* perf_compat.c - the three line patterns of FlameGraph's stackcollapse-perf.pl,
 * matched the way Perl's regex engine matches them (leftmost match; greedy and lazy
 * quantifiers with backtracking), so that `csampler fold` finds the same headers,
 * periods and frames in every line, odd ones included. Each matcher runs in time
 * linear in the line: the backtracking is worked out once here instead of replayed.
 *
 * Perl's classes on bytes: \s is space, \t, \n, \v, \f, \r; \d is 0-9; \w is
 * [A-Za-z0-9_]; '.' is anything but \n (lines never contain \n here).
 */
#include "import.h"

#include <string.h>

static int p_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int p_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int p_word(char c)
{
	return p_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* /^(\S.+?)\s+(\d+)[/]*(\d+)*\s+/ : the comm is the shortest prefix of at least two
 * bytes, starting with a non-space, after which come blanks, digits, optional
 * slashes and digits, and a blank. */
int cs_perl_header(const char *s, size_t n, struct cs_perl_header *h)
{
	memset(h, 0, sizeof(*h));
	if (!n || p_space(s[0]))
		return 0;
	for (size_t e = 2; e < n; e++) {
		if (!p_space(s[e]))
			continue;
		/* Every comm end inside one run of blanks leads to the same continuation:
		 * try it once, then skip the run. */
		size_t i = e;
		while (i < n && p_space(s[i]))
			i++;
		size_t d1 = i;
		while (i < n && p_digit(s[i]))
			i++;
		size_t d1_end = i;
		while (i < n && s[i] == '/')
			i++;
		size_t d2 = i;
		while (i < n && p_digit(s[i]))
			i++;
		if (d1_end > d1 && i < n && p_space(s[i])) {
			h->comm_len = e;
			h->first = s + d1;
			h->first_len = d1_end - d1;
			h->second = s + d2;
			h->second_len = i - d2;
			return 1;
		}
		while (e + 1 < n && p_space(s[e + 1]))
			e++;
	}
	return 0;
}

/* /:\s*(\d+)*\s+(\S+):\s*$/ : the event is the last word, which ends in ':'; the
 * period is the number between it and the ':' before. The text between that ':' and
 * the event must be blanks, digits, blanks (the digits optional, the last blanks
 * not), so the ':' can only be the byte just before that text. */
int cs_perl_event(const char *s, size_t n, const char **period, size_t *period_len,
		  const char **event, size_t *event_len)
{
	size_t e = n;
	while (e && p_space(s[e - 1]))
		e--;
	size_t t = e;
	while (t && !p_space(s[t - 1]))
		t--;
	/* the word s[t..e) is (\S+): with at least one byte before the ':' */
	if (e - t < 2 || s[e - 1] != ':' || !t)
		return 0;
	size_t a = t;
	while (a && p_space(s[a - 1]))
		a--;
	if (a == t)
		return 0; /* \s+ before the event needs a blank */
	size_t b = a;
	while (b && p_digit(s[b - 1]))
		b--;
	size_t d = b;
	if (b < a)
		while (d && p_space(s[d - 1]))
			d--;
	if (!d || s[d - 1] != ':')
		return 0;
	*period = s + b;
	*period_len = a - b;
	*event = s + t;
	*event_len = e - t - 1;
	return 1;
}

/* /^\s*(\w+)\s*(.+) \((\S*)\)/, not anchored at the end. (.+) is greedy, so the
 * module is taken at the last " (" whose run of non-blanks holds a ')', up to the last
 * ')' of that run. When nothing is left for (.+) between the address and that " (",
 * Perl backtracks: first into the blanks after the address (the symbol is then one
 * blank), then into the address itself (the symbol is its last character). */
int cs_perl_frame(const char *s, size_t n, struct cs_perl_frame *f)
{
	memset(f, 0, sizeof(*f));
	size_t w = 0;
	while (w < n && p_space(s[w]))
		w++;
	size_t we = w;
	while (we < n && p_word(s[we]))
		we++;
	if (we == w)
		return 0;
	/* the last " (" followed by non-blanks that contain a ')' */
	size_t p = n, mod_end = 0;
	for (size_t k = n; k-- > we;) {
		if (s[k] != ' ' || k + 1 >= n || s[k + 1] != '(')
			continue;
		size_t r = k + 2, close = 0;
		while (r < n && !p_space(s[r])) {
			if (s[r] == ')')
				close = r + 1;
			r++;
		}
		if (close) {
			p = k;
			mod_end = close - 1;
			break;
		}
	}
	if (p == n)
		return 0;
	size_t s0 = we;
	while (s0 < n && p_space(s[s0]))
		s0++;
	size_t pc_end = we, func = s0;
	if (p >= s0 + 1)
		func = s0;
	else if (p >= we + 1)
		func = p - 1; /* one blank */
	else if (p == we && we - w >= 2)
		pc_end = func = we - 1; /* the address's last character */
	else
		return 0;
	f->pc = s + w;
	f->pc_len = pc_end - w;
	f->func = s + func;
	f->func_len = p - func;
	f->mod = s + p + 2;
	f->mod_len = mod_end - (p + 2);
	return 1;
}
