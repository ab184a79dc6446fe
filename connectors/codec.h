/*
 * codec: decoding of input records and encoding of output records
 * (SPEC sections 1 and 5), in three value encodings:
 *
 *   avro       Avro binary, no framing (the default);
 *   confluent  magic byte 0, 4-byte big-endian schema id, then Avro binary;
 *   json       one JSON object per message, field names as in the schemas.
 *
 * The Avro schemas are the versioned .avsc files of schemas/ (see
 * docs/formats.md). A codec holds the parsed schemas and reuses one avro-c
 * reader, writer and value per schema, so it allocates little per record; it
 * is not thread-safe: use one per thread.
 *
 * Decoded strings are views: they point into `val` or into the codec, and
 * stay valid until the next decode or encode call on the same codec (the
 * avro-c path reads into a value that encoding reuses): copy them before
 * encoding with the same codec.
 */
#ifndef AD_CODEC_H
#define AD_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "enc.h"
#include "event.h"
#include "output.h"

/* Largest input value accepted; a valid event is a few KB at most. */
#define CODEC_INPUT_MAX		(64 * 1024)
/* Largest value codec_to_json accepts (sessions with many action types). */
#define CODEC_OUTPUT_MAX	(16 * 1024 * 1024)

enum codec_format {
	CODEC_AVRO,
	CODEC_CONFLUENT,
	CODEC_JSON
};

/* "avro", "confluent" or "json"; returns -1 for anything else. */
int codec_format_parse(const char *s, enum codec_format *out);
const char *codec_format_name(enum codec_format);

enum codec_schema {
	CODEC_INTERACTION,
	CODEC_METADATA,
	CODEC_SESSION,
	CODEC_METRIC,
	CODEC_NSCHEMAS
};

/* File name of a schema inside the schema directory, e.g. "session.v1.avsc". */
const char *codec_schema_file(enum codec_schema);

struct codec;

/*
 * Loads and checks the .avsc files of schema_dir (normally
 * ACTIVITYD_SCHEMA_DIR). Returns NULL with an allocated *cause if a file is
 * missing, is not a valid schema, or lacks a field activityd needs.
 */
struct codec *codec_new(const char *schema_dir, char **cause);
/* The schema directory to use: $ACTIVITYD_SCHEMA_DIR when set and not
 * empty, else the one the build was configured with. */
const char *codec_schema_dir(void);
void codec_free(struct codec *);

/* Confluent schema ids, written when encoding and required when decoding.
 * Defaults: interaction 1, metadata 2, session 3, metric 4. */
void codec_set_schema_id(struct codec *, enum codec_schema, int32_t id);
int32_t codec_schema_id(const struct codec *, enum codec_schema);

/*
 * Interactions and metadata are read by a hand-written reader when their
 * schema file is exactly v1 (6x faster than avro-c's generic reader, see
 * docs/formats.md), else by avro-c; likewise sessions are written in Avro
 * by a hand-written writer when their schema file has v1's fields in v1's
 * order. Passing false forces avro-c (tests, benchmarks); true has no
 * effect on a schema that differs. Returns whether interactions and
 * sessions now both take the fast path.
 */
bool codec_set_fast_path(struct codec *, bool on);

/*
 * Decoding: returns 0 and fills the struct, or -1 with *reason set to a
 * short static string fit for a dead-letter header ("truncated avro",
 * "bad magic byte", "unknown schema id", "invalid json",
 * "missing field: user_id", "wrong type: duration_ms", "trailing bytes",
 * or a reason of event_validate/meta_validate). A decoded record has passed
 * event_validate/meta_validate and its strings are valid UTF-8.
 */
int codec_decode_event(struct codec *, enum codec_format, const void *val,
    size_t len, struct event *ev, const char **reason);
/*
 * Whether the strings of an event decoded in that format are views into
 * the value given (the flat Avro reader), valid as long as the value is;
 * otherwise they live in the codec until its next decode (JSON, and Avro
 * through avro-c).
 */
bool codec_event_views_in_value(const struct codec *, enum codec_format);
/*
 * val == NULL is a tombstone (a null Kafka value): *m is cleared and
 * m->tombstone set, and the user id must come from the message key (see
 * codec_tombstone).
 */
int codec_decode_meta(struct codec *, enum codec_format, const void *val,
    size_t len, struct meta_rec *m, const char **reason);
/* Fills a tombstone for the user named by a message key, checking the key
 * as a user_id. */
int codec_tombstone(const void *key, size_t keylen, struct meta_rec *m,
    const char **reason);

/* Encoding: appends one value to out; returns 0, or -1 with *reason (out
 * is then left as it was). */
int codec_encode_event(struct codec *, enum codec_format,
    const struct event *, struct enc *out, const char **reason);
/* A tombstone has no value: encoding one is an error. */
int codec_encode_meta(struct codec *, enum codec_format,
    const struct meta_rec *, struct enc *out, const char **reason);
/* per_type must be strictly sorted by type (deterministic output). */
int codec_encode_session(struct codec *, enum codec_format,
    const struct session_out *, struct enc *out, const char **reason);
int codec_encode_metric(struct codec *, enum codec_format,
    const struct metric_out *, struct enc *out, const char **reason);

/*
 * Decodes an encoded value of any schema and format into a new JSON object
 * (caller decrefs) with the fields of the JSON encoding: unions are plain
 * values or null, bytes are base64 strings. For inspection tools.
 */
json_t *codec_to_json(struct codec *, enum codec_schema, enum codec_format,
    const void *val, size_t len, const char **reason);

#endif
