/* pyline.c - CPython 3.11 locations tables (co_linetable) to line numbers.
 *
 * The table is a run of entries, each covering 1..8 code units (2 bytes each). An
 * entry's first byte has bit 7 set, bits 3..6 hold its kind and bits 0..2 its length
 * minus one; the bytes after it, up to the next byte with bit 7 set, carry varints
 * (6 bits per byte, bit 6 = more) whose first one is the line delta for kinds 13 and
 * 14 (zig-zag signed: bit 0 is the sign). Kinds 10..12 move the line by 0..2, kinds
 * 0..9 keep it, kind 15 marks code without a line. */
#include "pyframes.h"

enum { LOC_ONE_LINE0 = 10, LOC_NO_COLUMNS = 13, LOC_LONG = 14, LOC_NONE = 15 };

/* Signed varint at p (bounded by end); 0 when cut off. */
static int read_svarint(const uint8_t *p, const uint8_t *end)
{
	if (p >= end)
		return 0;
	uint64_t v = *p & 63;
	unsigned shift = 0;
	while ((*p & 64) && ++p < end && shift < 30) {
		shift += 6;
		v |= (uint64_t)(*p & 63) << shift;
	}
	return (v & 1) ? -(int)(v >> 1) : (int)(v >> 1);
}

int cs_py_addr2line(const uint8_t *table, size_t len, int firstlineno, int addrq)
{
	if (addrq < 0)
		return firstlineno;
	if (!table)
		return -1;
	const uint8_t *p = table, *end = table + len;
	int line = firstlineno;
	long start = 0;
	while (p < end) {
		uint8_t first = *p;
		if (!(first & 128))
			return -1; /* not at an entry: a damaged table */
		int kind = (first >> 3) & 15;
		long stop = start + 2 * ((first & 7) + 1);
		if (kind == LOC_NO_COLUMNS || kind == LOC_LONG)
			line += read_svarint(p + 1, end);
		else if (kind >= LOC_ONE_LINE0 && kind < LOC_NO_COLUMNS)
			line += kind - LOC_ONE_LINE0;
		if (addrq < stop)
			return kind == LOC_NONE ? -1 : line;
		start = stop;
		for (p++; p < end && !(*p & 128); p++)
			;
	}
	return -1;
}
