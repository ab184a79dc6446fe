/* enc: compact binary encoding of state records (see enc.h). */
#include "enc.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define ARENA_STEP	(64 * 1024)	/* enc_reserve_arena's least growth */

void
enc_init(struct enc *e)
{
	e->buf = NULL;
	e->len = 0;
	e->cap = 0;
}

void
enc_free(struct enc *e)
{
	free(e->buf);
	enc_init(e);
}

void
enc_reset(struct enc *e)
{
	e->len = 0;
}

uint8_t *
enc_take(struct enc *e, size_t *len)
{
	uint8_t *b = e->buf;

	*len = e->len;
	enc_init(e);
	return b;
}

void
enc_reserve(struct enc *e, size_t more)
{
	e->buf = xgrow(e->buf, &e->cap, e->len + more, 1);
}

void
enc_reserve_arena(struct enc *e, size_t more)
{
	size_t step;

	if (e->cap - e->len >= more)
		return;
	step = e->cap / 8 > ARENA_STEP ? e->cap / 8 : ARENA_STEP;
	e->cap += step > more ? step : more;
	e->buf = xrealloc(e->buf, e->cap);
}

void
enc_u8(struct enc *e, uint8_t v)
{
	enc_reserve(e, 1);
	e->buf[e->len++] = v;
}

void
enc_uvar(struct enc *e, uint64_t v)
{
	enc_reserve(e, 10);
	while (v >= 0x80) {
		e->buf[e->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	e->buf[e->len++] = (uint8_t)v;
}

void
enc_svar(struct enc *e, int64_t v)
{
	enc_uvar(e, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void
enc_be32(struct enc *e, uint32_t v)
{
	enc_reserve(e, 4);
	be32_put(e->buf + e->len, v);
	e->len += 4;
}

void
enc_be64(struct enc *e, uint64_t v)
{
	enc_reserve(e, 8);
	be64_put(e->buf + e->len, v);
	e->len += 8;
}

void
enc_raw(struct enc *e, const void *p, size_t n)
{
	if (n == 0)
		return;
	enc_reserve(e, n);
	memcpy(e->buf + e->len, p, n);
	e->len += n;
}

void
enc_bytes(struct enc *e, const void *p, size_t n)
{
	enc_uvar(e, n);
	enc_raw(e, p, n);
}

void
enc_str(struct enc *e, const char *s)
{
	enc_bytes(e, s, strlen(s));
}

void
dec_init(struct dec *d, const void *buf, size_t len)
{
	d->p = buf;
	d->end = d->p + len;
	d->err = false;
}

static bool
dec_need(struct dec *d, size_t n)
{
	if (d->err || (size_t)(d->end - d->p) < n) {
		d->err = true;
		return false;
	}
	return true;
}

uint8_t
dec_u8(struct dec *d)
{
	if (!dec_need(d, 1))
		return 0;
	return *d->p++;
}

uint64_t
dec_uvar(struct dec *d)
{
	uint64_t v = 0;
	unsigned shift = 0;

	while (dec_need(d, 1)) {
		uint8_t b = *d->p++;

		if (shift == 63 && b > 1)
			break;	/* more than 64 bits */
		v |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0)
			return v;
		shift += 7;
		if (shift > 63)
			break;
	}
	d->err = true;
	return 0;
}

int64_t
dec_svar(struct dec *d)
{
	uint64_t u = dec_uvar(d);

	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

uint32_t
dec_be32(struct dec *d)
{
	uint32_t v;

	if (!dec_need(d, 4))
		return 0;
	v = be32_get(d->p);
	d->p += 4;
	return v;
}

uint64_t
dec_be64(struct dec *d)
{
	uint64_t v;

	if (!dec_need(d, 8))
		return 0;
	v = be64_get(d->p);
	d->p += 8;
	return v;
}

const void *
dec_raw(struct dec *d, size_t n)
{
	const void *p;

	if (!dec_need(d, n))
		return NULL;
	p = d->p;
	d->p += n;
	return p;
}

const void *
dec_bytes(struct dec *d, size_t *len)
{
	uint64_t n = dec_uvar(d);

	*len = 0;
	if (d->err || n > (uint64_t)(d->end - d->p)) {
		d->err = true;
		return NULL;
	}
	*len = (size_t)n;
	return dec_raw(d, (size_t)n);
}

bool
dec_done(const struct dec *d)
{
	return !d->err && d->p == d->end;
}

void
be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void
be64_put(uint8_t *p, uint64_t v)
{
	be32_put(p, (uint32_t)(v >> 32));
	be32_put(p + 4, (uint32_t)v);
}

uint32_t
be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

uint64_t
be64_get(const uint8_t *p)
{
	return (uint64_t)be32_get(p) << 32 | be32_get(p + 4);
}
