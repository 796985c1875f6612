/* import.h - text importers behind cs_profile_load (internal to profile/).
 * Each parses a whole NUL-terminated buffer into an empty profile and returns 0, or
 * prints one error line naming the input and the line number and returns -1. */
#ifndef CS_IMPORT_H
#define CS_IMPORT_H

#include "profile.h"

/* Does the text look like folded stacks ("a;b;c 12" lines)? */
int cs_looks_folded(const char *text, size_t n);
int cs_import_folded(struct cs_profile *p, const char *text, size_t n, const char *name);

/* Split a folded frame's annotation suffix (_[k] kernel, _[j] JIT, _[i] inline) off
 * name[0..*len): shortens *len and returns the matching CS_FRAME_* flag, or 0. */
uint32_t cs_folded_annotation(const char *name, size_t *len);

#endif
