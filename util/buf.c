#include "buf.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

void cs_buf_init(struct cs_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void cs_buf_release(struct cs_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void cs_buf_put(struct cs_buf *b, const void *p, size_t n)
{
	CS_GROW(b->p, b->cap, b->n + n);
	if (n)
		memcpy(b->p + b->n, p, n);
	b->n += n;
}

void cs_buf_put_u8(struct cs_buf *b, uint8_t v)
{
	cs_buf_put(b, &v, 1);
}

void cs_buf_put_u32(struct cs_buf *b, uint32_t v)
{
	uint8_t x[4];
	for (int i = 0; i < 4; i++)
		x[i] = (uint8_t)(v >> (8 * i));
	cs_buf_put(b, x, 4);
}

void cs_buf_put_u64(struct cs_buf *b, uint64_t v)
{
	uint8_t x[8];
	for (int i = 0; i < 8; i++)
		x[i] = (uint8_t)(v >> (8 * i));
	cs_buf_put(b, x, 8);
}

void cs_buf_put_uv(struct cs_buf *b, uint64_t v)
{
	uint8_t x[10];
	size_t n = 0;
	do {
		uint8_t c = v & 0x7f;
		v >>= 7;
		x[n++] = c | (v ? 0x80 : 0);
	} while (v);
	cs_buf_put(b, x, n);
}

void cs_buf_put_sv(struct cs_buf *b, int64_t v)
{
	cs_buf_put_uv(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void cs_buf_put_str(struct cs_buf *b, const char *s, size_t n)
{
	cs_buf_put_uv(b, n);
	cs_buf_put(b, s, n);
}

void cs_buf_put_f64(struct cs_buf *b, double v)
{
	uint64_t u;
	memcpy(&u, &v, 8);
	cs_buf_put_u64(b, u);
}

static int need(struct cs_rd *r, size_t n)
{
	if (r->err || (size_t)(r->end - r->p) < n) {
		r->err = 1;
		r->p = r->end;
		return 0;
	}
	return 1;
}

uint8_t cs_rd_u8(struct cs_rd *r)
{
	if (!need(r, 1))
		return 0;
	return *r->p++;
}

uint32_t cs_rd_u32(struct cs_rd *r)
{
	if (!need(r, 4))
		return 0;
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v |= (uint32_t)r->p[i] << (8 * i);
	r->p += 4;
	return v;
}

uint64_t cs_rd_u64(struct cs_rd *r)
{
	if (!need(r, 8))
		return 0;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += 8;
	return v;
}

uint64_t cs_rd_uv(struct cs_rd *r)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 70; shift += 7) {
		if (!need(r, 1))
			return 0;
		uint8_t c = *r->p++;
		if (shift == 63 && (c & 0x7e)) {
			r->err = 1; /* more than 64 bits */
			return 0;
		}
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
	}
	r->err = 1;
	return 0;
}

int64_t cs_rd_sv(struct cs_rd *r)
{
	uint64_t u = cs_rd_uv(r);
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

double cs_rd_f64(struct cs_rd *r)
{
	uint64_t u = cs_rd_u64(r);
	double d;
	memcpy(&d, &u, 8);
	return d;
}

const void *cs_rd_bytes(struct cs_rd *r, size_t n)
{
	if (!need(r, n))
		return NULL;
	const void *p = r->p;
	r->p += n;
	return p;
}

const char *cs_rd_str(struct cs_rd *r, size_t *len)
{
	uint64_t n = cs_rd_uv(r);
	if (r->err || n > (uint64_t)(r->end - r->p)) {
		r->err = 1;
		*len = 0;
		return NULL;
	}
	*len = (size_t)n;
	return cs_rd_bytes(r, (size_t)n);
}

uint64_t cs_rd_idx(struct cs_rd *r, uint64_t limit)
{
	uint64_t v = cs_rd_uv(r);
	if (v >= limit) {
		r->err = 1;
		return 0;
	}
	return v;
}
