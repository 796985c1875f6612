/* text.h - the text importers' harnesses share this: how cs_profile_load hands them
 * their input. */
#ifndef CS_FUZZ_TEXT_H
#define CS_FUZZ_TEXT_H

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/* The input as cs_profile_load gives it to an importer: NUL-terminated, or NULL when
 * it holds a NUL byte (cs_profile_load refuses such input before any importer). */
static inline char *fz_text(const uint8_t *data, size_t n)
{
	if (memchr(data, 0, n))
		return NULL;
	char *s = cs_xmalloc(n + 1);
	memcpy(s, data, n);
	s[n] = 0;
	return s;
}

#endif
