/* buf.h - a growable byte buffer with compact encoders, and a bounded reader.
 *
 * The reader never reads past its end: any overrun sets rd->err and further reads
 * return zeros, so a decoder checks cs_rd_ok() once at the end of a record instead of
 * after every field. This is how every length in a recording is validated before use.
 */
#ifndef CS_BUF_H
#define CS_BUF_H

#include <stddef.h>
#include <stdint.h>

struct cs_buf {
	uint8_t *p;
	size_t n, cap;
};

void cs_buf_init(struct cs_buf *b);
void cs_buf_release(struct cs_buf *b);
void cs_buf_put(struct cs_buf *b, const void *p, size_t n);
void cs_buf_put_u8(struct cs_buf *b, uint8_t v);
void cs_buf_put_u32(struct cs_buf *b, uint32_t v); /* little endian */
void cs_buf_put_u64(struct cs_buf *b, uint64_t v); /* little endian */
void cs_buf_put_uv(struct cs_buf *b, uint64_t v);  /* LEB128 */
void cs_buf_put_sv(struct cs_buf *b, int64_t v);   /* zigzag LEB128 */
void cs_buf_put_str(struct cs_buf *b, const char *s, size_t n); /* uv length + bytes */
void cs_buf_put_f64(struct cs_buf *b, double v);

struct cs_rd {
	const uint8_t *p, *end;
	int err;
};

static inline void cs_rd_init(struct cs_rd *r, const void *p, size_t n)
{
	r->p = p;
	r->end = r->p + n;
	r->err = 0;
}
static inline int cs_rd_ok(const struct cs_rd *r)
{
	return !r->err;
}
static inline size_t cs_rd_left(const struct cs_rd *r)
{
	return (size_t)(r->end - r->p);
}
uint8_t cs_rd_u8(struct cs_rd *r);
uint32_t cs_rd_u32(struct cs_rd *r);
uint64_t cs_rd_u64(struct cs_rd *r);
uint64_t cs_rd_uv(struct cs_rd *r);
int64_t cs_rd_sv(struct cs_rd *r);
double cs_rd_f64(struct cs_rd *r);
/* Pointer to n bytes inside the input (not NUL-terminated), or NULL on overrun. */
const void *cs_rd_bytes(struct cs_rd *r, size_t n);
/* A length-prefixed string; *len receives its length. NULL on overrun. */
const char *cs_rd_str(struct cs_rd *r, size_t *len);
/* An unsigned varint that must be < limit (e.g. an index into a table). */
uint64_t cs_rd_idx(struct cs_rd *r, uint64_t limit);

#endif
