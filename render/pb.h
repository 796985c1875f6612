/* pb.h - the protobuf wire format, write side: the few field kinds csampler's
 * encoders (pprof's profile.proto, OTLP profiles) need, over a cs_buf.
 *
 * A nested message is built in a buffer of its own and then appended as one
 * length-delimited field (pb_msg), which empties the sub-buffer for the next message.
 * proto3 rules: a scalar equal to its default (0) is not written. */
#ifndef CS_PB_H
#define CS_PB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/buf.h"

enum { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2 };

static inline void pb_key(struct cs_buf *b, unsigned field, unsigned wire)
{
	cs_buf_put_uv(b, (uint64_t)field << 3 | wire);
}
/* uint32/uint64/int32/int64 (non-negative), bool, enum: a varint, unless 0. */
static inline void pb_uint(struct cs_buf *b, unsigned field, uint64_t v)
{
	if (!v)
		return;
	pb_key(b, field, PB_VARINT);
	cs_buf_put_uv(b, v);
}
/* fixed64, unless 0. */
static inline void pb_fixed64(struct cs_buf *b, unsigned field, uint64_t v)
{
	if (!v)
		return;
	pb_key(b, field, PB_I64);
	cs_buf_put_u64(b, v); /* little endian, as the wire format wants */
}
/* bytes or string, written even when empty (a repeated string keeps its place). */
static inline void pb_bytes(struct cs_buf *b, unsigned field, const void *p, size_t n)
{
	pb_key(b, field, PB_LEN);
	cs_buf_put_uv(b, n);
	cs_buf_put(b, p, n);
}
static inline void pb_str(struct cs_buf *b, unsigned field, const char *s)
{
	pb_bytes(b, field, s, strlen(s));
}
/* The message in sub as field of b; sub is emptied for the next message. */
static inline void pb_msg(struct cs_buf *b, unsigned field, struct cs_buf *sub)
{
	pb_bytes(b, field, sub->p, sub->n);
	sub->n = 0;
}
/* A packed repeated varint field (nothing when n is 0); tmp is scratch. */
static inline void pb_packed(struct cs_buf *b, unsigned field, const uint64_t *v, size_t n,
			     struct cs_buf *tmp)
{
	if (!n)
		return;
	tmp->n = 0;
	for (size_t i = 0; i < n; i++)
		cs_buf_put_uv(tmp, v[i]);
	pb_msg(b, field, tmp);
}

#endif
