/* recfix.c - make a recording-shaped buffer agree with its checksums (fuzz.h).
 *
 * The layout is profile/recording.c's: a header (magic, version, header size, ...),
 * then sections of a 32-byte header (u32 type, u32 flags, u64 raw size, u64 stored
 * size, u32 CRC-32 of the raw bytes, u32 0) and their stored bytes, zlib-compressed
 * when flags & 1; the end section (type END) holds the CRC of everything before it.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/buf.h"

#define SEC_END	  0x454e44u
#define FLAG_ZLIB 1u
/* Inflate no more than this for a CRC: beyond it the reader's own bound applies. */
#define MAX_INFLATE (64u << 20)

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint8_t *fz_recording_fix(const uint8_t *data, size_t n, int store, size_t *out_n)
{
	struct cs_buf out;
	cs_buf_init(&out);
	cs_buf_put(&out, data, n < 16 ? n : 16);
	if (n < 16)
		goto done;
	size_t hsize = le32(data + 12);
	if (hsize < 16 || hsize > n) {
		cs_buf_put(&out, data + 16, n - 16);
		goto done;
	}
	cs_buf_put(&out, data + 16, hsize - 16);
	size_t pos = hsize;
	uint8_t *raw = NULL;
	while (n - pos >= 32) {
		const uint8_t *h = data + pos;
		uint32_t type = le32(h), flags = le32(h + 4);
		uint64_t rawn = le64(h + 8), stored = le64(h + 16);
		if (stored > n - pos - 32)
			break;
		const uint8_t *sp = h + 32;
		size_t hdr_at = out.n;
		cs_buf_put(&out, h, 32);
		if (type == SEC_END) {
			put32(out.p + hdr_at + 24, (uint32_t)crc32(0, out.p, (uInt)hdr_at));
			pos += 32 + stored;
			cs_buf_put(&out, sp, (size_t)stored);
			break;
		}
		const uint8_t *rp = NULL;
		if (!(flags & FLAG_ZLIB) && rawn == stored) {
			rp = sp;
		} else if (flags == FLAG_ZLIB && rawn <= MAX_INFLATE) {
			uLongf got = (uLongf)rawn;
			free(raw);
			raw = malloc(rawn ? rawn : 1);
			if (raw && uncompress(raw, &got, sp, (uLong)stored) == Z_OK && got == rawn)
				rp = raw;
		}
		if (rp)
			put32(out.p + hdr_at + 24, (uint32_t)crc32(0, rp, (uInt)rawn));
		if (rp && store && rp == raw) {
			/* rewrite the header: stored, uncompressed */
			put32(out.p + hdr_at + 4, flags & ~FLAG_ZLIB);
			for (int i = 0; i < 8; i++)
				out.p[hdr_at + 16 + i] = (uint8_t)(rawn >> (8 * i));
			cs_buf_put(&out, raw, (size_t)rawn);
		} else {
			cs_buf_put(&out, sp, (size_t)stored);
		}
		pos += 32 + stored;
	}
	free(raw);
	if (pos < n)
		cs_buf_put(&out, data + pos, n - pos);
done:
	*out_n = out.n;
	return out.p;
}
