/*
 * fuzz.h: setup shared by the libFuzzer targets of tests/fuzz. Everything
 * is static inline so that a target that uses part of it compiles without
 * unused-function warnings.
 */
#ifndef AD_FUZZ_H
#define AD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property the target checks was broken: abort so libFuzzer keeps the
 * input as a crash. */
#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/* One codec for the whole run: loading the schemas is the slow part. */
static inline struct codec *
fuzz_codec(void)
{
	static struct codec	*c;
	char			*cause = NULL;

	if (c == NULL && (c = codec_new(ACTIVITYD_SCHEMA_DIR, &cause)) == NULL) {
		fprintf(stderr, "codec_new: %s\n", cause);
		abort();
	}
	return c;
}

static const enum codec_format fuzz_formats[] = {
	CODEC_AVRO, CODEC_CONFLUENT, CODEC_JSON
};

/* The format chosen by an input's first byte. */
static inline enum codec_format
fuzz_format(uint8_t b)
{
	return fuzz_formats[b % 3];
}

/* Both encodings are the same bytes; frees them. */
static inline void
fuzz_same_free(struct enc *a, struct enc *b)
{
	FUZZ_CHECK(a->len == b->len && memcmp(a->buf, b->buf, a->len) == 0);
	enc_free(a);
	enc_free(b);
}

/*
 * Copies the strings a decoded record views into one allocation (returned,
 * caller frees) and points the views there. Encoding reuses the codec's
 * avro value, which the views of a record decoded by avro-c point into, so
 * a record must be copied before it is encoded again.
 */
static inline char *
fuzz_keep(struct strv *const *f, size_t n)
{
	size_t	 i, total = 1, at = 0;
	char	*buf;

	for (i = 0; i < n; i++)
		total += f[i]->len;
	buf = malloc(total);
	FUZZ_CHECK(buf != NULL);
	for (i = 0; i < n; i++) {
		if (f[i]->p == NULL)
			continue;
		memcpy(buf + at, f[i]->p, f[i]->len);
		f[i]->p = buf + at;
		at += f[i]->len;
	}
	return buf;
}

#endif
