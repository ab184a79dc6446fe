/*
 * enc: compact binary encoding of state records.
 *
 * Every piece of persisted state is a byte string built with a `struct enc`
 * writer and read back with a `struct dec` reader. Values use LEB128 varints
 * (zigzag for signed) so that small counters cost one byte; RocksDB keys use
 * fixed-width big-endian integers so that byte order equals numeric order.
 *
 * The reader never reads past its end: any short or malformed input sets
 * `err` and makes every later read return 0, so a decoder checks `err` once
 * at the end instead of after every field.
 */
#ifndef AD_ENC_H
#define AD_ENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct enc {
	uint8_t *buf;
	size_t   len;
	size_t   cap;
};

struct dec {
	const uint8_t *p;
	const uint8_t *end;
	bool           err;
};

void enc_init(struct enc *);
void enc_free(struct enc *);
void enc_reset(struct enc *);
/* Hand the buffer to the caller (who frees it); the writer is reset. */
uint8_t *enc_take(struct enc *, size_t *len);
void enc_reserve(struct enc *, size_t more);
/* The same growing by an eighth (at least 64 KiB) instead of doubling:
 * for an arena that is much of a partition's memory. */
void enc_reserve_arena(struct enc *, size_t more);

void enc_u8(struct enc *, uint8_t);
void enc_uvar(struct enc *, uint64_t);
void enc_svar(struct enc *, int64_t);
void enc_be32(struct enc *, uint32_t);
void enc_be64(struct enc *, uint64_t);
void enc_raw(struct enc *, const void *, size_t);
/* Length-prefixed (uvar) bytes. */
void enc_bytes(struct enc *, const void *, size_t);
void enc_str(struct enc *, const char *);

void dec_init(struct dec *, const void *buf, size_t len);
uint8_t dec_u8(struct dec *);
uint64_t dec_uvar(struct dec *);
int64_t dec_svar(struct dec *);
uint32_t dec_be32(struct dec *);
uint64_t dec_be64(struct dec *);
/* Returns a pointer into the input, or NULL (and sets err) if short. */
const void *dec_raw(struct dec *, size_t n);
/* Length-prefixed bytes; *len receives the length. Pointer into input. */
const void *dec_bytes(struct dec *, size_t *len);
/* True when all input was consumed without error. */
bool dec_done(const struct dec *);

/* Fixed big-endian helpers for keys built on the stack. */
void be32_put(uint8_t *, uint32_t);
void be64_put(uint8_t *, uint64_t);
uint32_t be32_get(const uint8_t *);
uint64_t be64_get(const uint8_t *);

#endif
