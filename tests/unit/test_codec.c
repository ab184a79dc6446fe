/* Unit tests for connectors/codec: round trips, exact bytes and JSON, and
 * the dead-letter reason of every kind of bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "codec.h"
#include "xmalloc.h"

static const enum codec_format formats[] = {
	CODEC_AVRO, CODEC_CONFLUENT, CODEC_JSON
};
#define NFORMATS	(sizeof formats / sizeof formats[0])

/* The Avro binary of sample_event(), worked out by hand from the spec:
 * zigzag varint lengths and longs. */
static const uint8_t sample_avro[] = {
	0x06, 'u', '4', '2',				/* user_id */
	0xaa, 0xa2, 0x91, 0xec, 0xfc, 0x61,		/* 1683203696789 */
	0x12, 'p', 'a', 'g', 'e', '_', 'v', 'i', 'e', 'w',
	0x06, 'p', '/', '1',
	0xf2, 0xc0, 0x01,				/* 12345 */
	0x0a, '1', '.', '2', '.', '3',
};

static struct event
sample_event(void)
{
	struct event ev = {
		.user_id = STRV("u42"),
		.ts_ms = INT64_C(1683203696789),	/* 2023-05-04T12:34:56.789Z */
		.action_type = STRV("page_view"),
		.page_id = STRV("p/1"),
		.duration_ms = 12345,
		.app_version = STRV("1.2.3"),
	};
	return ev;
}

static struct codec *
new_codec(void)
{
	char *cause = NULL;
	struct codec *c = codec_new(ACTIVITYD_SCHEMA_DIR, &cause);

	if (c == NULL)
		fail_msg("codec_new: %s", cause);
	return c;
}

static int
setup(void **st)
{
	*st = new_codec();
	return 0;
}

static int
teardown(void **st)
{
	codec_free(*st);
	return 0;
}

static void
assert_strv(struct strv got, struct strv want)
{
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.p, want.p, want.len);
}

static void
assert_event_equal(const struct event *a, const struct event *b)
{
	assert_strv(a->user_id, b->user_id);
	assert_true(a->ts_ms == b->ts_ms);
	assert_strv(a->action_type, b->action_type);
	assert_strv(a->page_id, b->page_id);
	assert_true(a->duration_ms == b->duration_ms);
	assert_strv(a->app_version, b->app_version);
}

/* Decodes and expects failure with exactly `want`. */
static void
expect_event_reason(struct codec *c, enum codec_format fmt, const void *val,
    size_t len, const char *want)
{
	struct event ev;
	const char *reason = NULL;

	assert_int_equal(codec_decode_event(c, fmt, val, len, &ev, &reason),
	    -1);
	assert_non_null(reason);
	assert_string_equal(reason, want);
}

static void
encode_event(struct codec *c, enum codec_format fmt, const struct event *ev,
    struct enc *out)
{
	const char *reason = NULL;

	enc_reset(out);
	if (codec_encode_event(c, fmt, ev, out, &reason) != 0)
		fail_msg("encode %s: %s", codec_format_name(fmt), reason);
}

static char *
dumps(json_t *j)
{
	char *s;

	assert_non_null(j);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	assert_non_null(s);
	return s;
}

static void
format_names_parse_back(void **st)
{
	enum codec_format f;
	size_t i;

	(void)st;
	for (i = 0; i < NFORMATS; i++) {
		assert_int_equal(codec_format_parse(codec_format_name(formats[i]),
		    &f), 0);
		assert_int_equal(f, formats[i]);
	}
	assert_string_equal(codec_format_name(CODEC_CONFLUENT), "confluent");
	assert_int_equal(codec_format_parse("protobuf", &f), -1);
	assert_int_equal(codec_format_parse("AVRO", &f), -1);
	assert_string_equal(codec_schema_file(CODEC_SESSION), "session.v1.avsc");
}

static void
event_roundtrip_every_format_and_path(void **st)
{
	struct codec *c = *st;
	struct event in = sample_event(), out;
	struct enc e;
	const char *reason = NULL;
	size_t i;
	int fast;

	enc_init(&e);
	for (fast = 1; fast >= 0; fast--) {
		assert_int_equal(codec_set_fast_path(c, fast), fast);
		for (i = 0; i < NFORMATS; i++) {
			encode_event(c, formats[i], &in, &e);
			memset(&out, 0, sizeof out);
			assert_int_equal(codec_decode_event(c, formats[i], e.buf,
			    e.len, &out, &reason), 0);
			assert_event_equal(&out, &in);
		}
	}
	codec_set_fast_path(c, true);
	enc_free(&e);
}

static void
avro_bytes_and_confluent_frame_exact(void **st)
{
	struct codec *c = *st;
	struct event ev = sample_event();
	struct enc e;

	enc_init(&e);
	encode_event(c, CODEC_AVRO, &ev, &e);
	assert_int_equal(e.len, sizeof sample_avro);
	assert_memory_equal(e.buf, sample_avro, sizeof sample_avro);

	encode_event(c, CODEC_CONFLUENT, &ev, &e);
	assert_int_equal(e.len, 5 + sizeof sample_avro);
	assert_memory_equal(e.buf, ((const uint8_t[]){ 0, 0, 0, 0, 1 }), 5);
	assert_memory_equal(e.buf + 5, sample_avro, sizeof sample_avro);

	/* Another id lands big-endian in bytes 1..4 and is then required. */
	codec_set_schema_id(c, CODEC_INTERACTION, 0x01020304);
	encode_event(c, CODEC_CONFLUENT, &ev, &e);
	assert_memory_equal(e.buf, ((const uint8_t[]){ 0, 1, 2, 3, 4 }), 5);
	codec_set_schema_id(c, CODEC_INTERACTION, 1);
	expect_event_reason(c, CODEC_CONFLUENT, e.buf, e.len,
	    "unknown schema id");
	assert_int_equal(codec_schema_id(c, CODEC_METRIC), 4);
	enc_free(&e);
}

static void
event_json_encoding_exact(void **st)
{
	struct codec *c = *st;
	struct event ev = sample_event();
	struct enc e;

	enc_init(&e);
	encode_event(c, CODEC_JSON, &ev, &e);
	enc_u8(&e, 0);
	assert_string_equal((char *)e.buf,
	    "{\"user_id\":\"u42\",\"timestamp\":1683203696789,"
	    "\"action_type\":\"page_view\",\"page_id\":\"p/1\","
	    "\"duration_ms\":12345,\"app_version\":\"1.2.3\"}");
	enc_free(&e);
}

static void
json_timestamps_iso_and_integer(void **st)
{
	static const struct {
		const char *ts;		/* JSON text of the timestamp */
		int64_t     ms;
	} ok[] = {
		{ "1683203696789", INT64_C(1683203696789) },
		{ "\"2023-05-04T12:34:56Z\"", INT64_C(1683203696000) },
		{ "\"2023-05-04 12:34:56\"", INT64_C(1683203696000) },
		{ "\"2023-05-04T12:34:56.789Z\"", INT64_C(1683203696789) },
		{ "\"2023-05-04T12:34:56.7\"", INT64_C(1683203696700) },
		{ "\"2023-05-04T12:34:56.123456789Z\"", INT64_C(1683203696123) },
		{ "\"2023-05-04T14:34:56+02:00\"", INT64_C(1683203696000) },
		{ "\"2023-05-04T07:04:56-0530\"", INT64_C(1683203696000) },
		{ "\"1969-12-31T23:59:59.999Z\"", -1 },
		{ "\"1970-01-01T00:00:00Z\"", 0 },
		{ "\"2024-02-29T00:00:00Z\"", INT64_C(1709164800000) },
		{ "\"2000-02-29T00:00:00Z\"", INT64_C(951782400000) },
	};
	static const char *bad[] = {
		"\"2023-02-29T00:00:00Z\"", "\"1900-02-29T00:00:00Z\"",
		"\"2023-05-04T24:00:00Z\"", "\"2023-05-04T12:60:00Z\"",
		"\"2023-05-04T12:34:56.Z\"", "\"2023-05-04T12:34:56ZZ\"",
		"\"2023-05-04\"", "\"2023-5-4T12:34:56Z\"", "\"yesterday\"",
		"\"2023-05-04T12:34:56.1234567890Z\"", "12.5", "null", "true",
	};
	struct codec *c = *st;
	struct event ev;
	const char *reason;
	char buf[256];
	size_t i;
	int n;

	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		n = snprintf(buf, sizeof buf, "{\"user_id\":\"u\",\"timestamp\":"
		    "%s,\"action_type\":\"edit\",\"page_id\":\"p\","
		    "\"duration_ms\":0,\"app_version\":\"v\",\"extra\":[1]}",
		    ok[i].ts);
		reason = NULL;
		if (codec_decode_event(c, CODEC_JSON, buf, (size_t)n, &ev,
		    &reason) != 0)
			fail_msg("%s: %s", ok[i].ts, reason);
		assert_true(ev.ts_ms == ok[i].ms);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		n = snprintf(buf, sizeof buf, "{\"user_id\":\"u\",\"timestamp\":"
		    "%s,\"action_type\":\"edit\",\"page_id\":\"p\","
		    "\"duration_ms\":0,\"app_version\":\"v\"}", bad[i]);
		expect_event_reason(c, CODEC_JSON, buf, (size_t)n,
		    "wrong type: timestamp");
	}
}

static void
meta_roundtrip_and_tombstone(void **st)
{
	struct codec *c = *st;
	struct meta_rec in = {
		.user_id = STRV("u42"),
		.join_date = 19362,		/* 2023-01-05 */
		.dims = { STRV("US"), STRV("mobile"), STRV("premium") },
	}, out;
	static const char json_date[] = "{\"user_id\":\"u42\",\"join_date\":"
	    "\"2023-01-05\",\"country\":\"US\",\"device_type\":\"mobile\","
	    "\"subscription_type\":\"premium\"}";
	static const char json_bad_date[] = "{\"user_id\":\"u42\",\"join_date\":"
	    "\"2023-13-01\",\"country\":\"US\",\"device_type\":\"mobile\","
	    "\"subscription_type\":\"premium\"}";
	const char *reason = NULL;
	struct enc e;
	size_t i;
	int d;

	enc_init(&e);
	for (i = 0; i < 2 * NFORMATS; i++) {
		codec_set_fast_path(c, i < NFORMATS);
		enc_reset(&e);
		assert_int_equal(codec_encode_meta(c, formats[i % NFORMATS], &in,
		    &e, &reason), 0);
		memset(&out, 0xa5, sizeof out);
		assert_int_equal(codec_decode_meta(c, formats[i % NFORMATS],
		    e.buf, e.len, &out, &reason), 0);
		assert_false(out.tombstone);
		assert_strv(out.user_id, in.user_id);
		assert_int_equal(out.join_date, 19362);
		for (d = 0; d < DIM_COUNT; d++)
			assert_strv(out.dims[d], in.dims[d]);
	}
	codec_set_fast_path(c, true);
	/* "US" -> "U\xff": a metadata string must be UTF-8 too. */
	enc_reset(&e);
	assert_int_equal(codec_encode_meta(c, CODEC_AVRO, &in, &e, &reason), 0);
	assert_int_equal(e.buf[8], 'U');	/* after "u42" and 3-byte date */
	e.buf[9] = 0xff;
	assert_int_equal(codec_decode_meta(c, CODEC_AVRO, e.buf, e.len, &out,
	    &reason), -1);
	assert_string_equal(reason, "invalid utf-8: country");
	/* The JSON form also takes the date as a string. */
	assert_int_equal(codec_decode_meta(c, CODEC_JSON, json_date,
	    strlen(json_date), &out, &reason), 0);
	assert_int_equal(out.join_date, 19362);
	assert_int_equal(codec_decode_meta(c, CODEC_JSON, json_bad_date,
	    strlen(json_bad_date), &out, &reason), -1);
	assert_string_equal(reason, "wrong type: join_date");

	/* A null value in any format is a tombstone without a user id. */
	for (i = 0; i < NFORMATS; i++) {
		memset(&out, 0xa5, sizeof out);
		assert_int_equal(codec_decode_meta(c, formats[i], NULL, 0, &out,
		    &reason), 0);
		assert_true(out.tombstone);
		assert_int_equal(out.user_id.len, 0);
	}
	assert_int_equal(codec_tombstone("u42", 3, &out, &reason), 0);
	assert_true(out.tombstone);
	assert_strv(out.user_id, STRV("u42"));
	assert_int_equal(codec_tombstone("", 0, &out, &reason), -1);
	assert_string_equal(reason, "empty user_id");
	assert_int_equal(codec_tombstone("\xff", 1, &out, &reason), -1);
	assert_string_equal(reason, "invalid utf-8: user_id");
	enc_reset(&e);
	assert_int_equal(codec_encode_meta(c, CODEC_AVRO, &out, &e, &reason),
	    -1);
	assert_string_equal(reason, "tombstone has no value");
	assert_int_equal(e.len, 0);
	enc_free(&e);
}

static const struct action_count sample_types[] = {
	{ STRV("edit"), 1 }, { STRV("page_view"), 2 },
};

static struct session_out
sample_session(bool meta)
{
	struct session_out s = {
		.user_id = STRV("u42"),
		.session_id = STRV("u42:1683203696789"),
		.start_ms = INT64_C(1683203696789),
		.end_ms = INT64_C(1683203796789),
		.duration_ms = 100000,
		.actions = 3,
		.per_type = sample_types,
		.n_types = 2,
		.first_app_version = STRV("1.2.3"),
		.last_app_version = STRV("1.2.4"),
		.has_meta = meta,
	};
	if (meta) {
		s.join_date = 19362;
		s.dims[DIM_COUNTRY] = STRV("US");
		s.dims[DIM_DEVICE_TYPE] = STRV("mobile");
		s.dims[DIM_SUBSCRIPTION_TYPE] = STRV("premium");
	}
	return s;
}

/* Encodes in every format; each must render to exactly `want`. */
static void
assert_json_every_format(struct codec *c, enum codec_schema which,
    const void *rec, const char *want)
{
	const char *reason = NULL;
	struct enc e;
	size_t i;
	int rc;
	char *s;

	enc_init(&e);
	for (i = 0; i < NFORMATS; i++) {
		enc_reset(&e);
		rc = which == CODEC_SESSION ?
		    codec_encode_session(c, formats[i], rec, &e, &reason) :
		    codec_encode_metric(c, formats[i], rec, &e, &reason);
		if (rc != 0)
			fail_msg("encode %s: %s", codec_format_name(formats[i]),
			    reason);
		s = dumps(codec_to_json(c, which, formats[i], e.buf, e.len,
		    &reason));
		assert_string_equal(s, want);
		free(s);
	}
	enc_free(&e);
}

static void
session_encode_to_json_exact(void **st)
{
	struct codec *c = *st;
	struct session_out with = sample_session(true);
	struct session_out without = sample_session(false);

	assert_json_every_format(c, CODEC_SESSION, &with,
	    "{\"session_id\":\"u42:1683203696789\",\"user_id\":\"u42\","
	    "\"start\":1683203696789,\"end\":1683203796789,"
	    "\"duration_ms\":100000,\"actions\":3,\"actions_per_type\":["
	    "{\"action_type\":\"edit\",\"count\":1},"
	    "{\"action_type\":\"page_view\",\"count\":2}],"
	    "\"first_app_version\":\"1.2.3\",\"last_app_version\":\"1.2.4\","
	    "\"join_date\":19362,\"country\":\"US\",\"device_type\":\"mobile\","
	    "\"subscription_type\":\"premium\"}");
	without.n_types = 0;
	assert_json_every_format(c, CODEC_SESSION, &without,
	    "{\"session_id\":\"u42:1683203696789\",\"user_id\":\"u42\","
	    "\"start\":1683203696789,\"end\":1683203796789,"
	    "\"duration_ms\":100000,\"actions\":3,\"actions_per_type\":[],"
	    "\"first_app_version\":\"1.2.3\",\"last_app_version\":\"1.2.4\","
	    "\"join_date\":null,\"country\":null,\"device_type\":null,"
	    "\"subscription_type\":null}");
}

static void
session_unsorted_types_refused(void **st)
{
	static const struct action_count unsorted[] = {
		{ STRV("page_view"), 2 }, { STRV("edit"), 1 },
	};
	struct codec *c = *st;
	struct session_out s = sample_session(true);
	const char *reason = NULL;
	struct enc e;

	enc_init(&e);
	s.per_type = unsorted;
	assert_int_equal(codec_encode_session(c, CODEC_AVRO, &s, &e, &reason),
	    -1);
	assert_string_equal(reason, "actions_per_type not sorted");
	assert_int_equal(e.len, 0);
	s.per_type = (const struct action_count[]){
		{ STRV("edit"), 1 }, { STRV("edit"), 2 } };
	assert_int_equal(codec_encode_session(c, CODEC_JSON, &s, &e, &reason),
	    -1);
	enc_free(&e);
}

/*
 * The flat session writer against avro-c's, byte for byte, in Avro and in
 * the Confluent frame: sessions with and without metadata, zero to five
 * action types, strings long enough for two-byte lengths, negative and
 * large numbers.
 */
static void
flat_and_avro_c_session_writers_agree(void **st)
{
	static const char *types[] = { "create", "delete", "edit",
	    "page_view", "share" };
	struct codec *c = *st;
	struct action_count per[5];
	struct session_out s;
	const char *reason = NULL;
	struct enc a, b;
	char long_id[200];
	uint32_t rnd = 7;
	size_t i, k, f;
	int d;

	memset(long_id, 'x', sizeof long_id);
	enc_init(&a);
	enc_init(&b);
	for (i = 0; i < 3000; i++) {
		rnd = rnd * 1103515245 + 12345;
		s = sample_session(i % 3 != 0);
		s.n_types = i % 6;
		for (k = 0; k < s.n_types; k++) {
			per[k].type = strv_c(types[k]);
			per[k].count = (uint64_t)(rnd >> (k * 3)) % 100000;
		}
		s.per_type = per;
		s.user_id = (struct strv){ long_id, (rnd >> 4) % 129 };
		s.session_id = (struct strv){ long_id, (rnd >> 12) % 200 };
		s.start_ms = (int64_t)rnd * 1000003 - (INT64_C(1) << 40);
		s.end_ms = s.start_ms + (int64_t)(rnd % 14400000);
		s.duration_ms = s.end_ms - s.start_ms;
		s.actions = (uint64_t)rnd * 77;
		s.join_date = (int32_t)(rnd % 40000) - 20000;
		for (d = 0; d < DIM_COUNT; d++)
			s.dims[d] = (struct strv){ long_id, (rnd >> d) % 70 };
		for (f = 0; f < 2; f++) {
			enum codec_format fmt = f ? CODEC_CONFLUENT : CODEC_AVRO;

			enc_reset(&a);
			enc_reset(&b);
			assert_true(codec_set_fast_path(c, true));
			assert_int_equal(codec_encode_session(c, fmt, &s, &a,
			    &reason), 0);
			assert_false(codec_set_fast_path(c, false));
			assert_int_equal(codec_encode_session(c, fmt, &s, &b,
			    &reason), 0);
			assert_int_equal(a.len, b.len);
			assert_memory_equal(a.buf, b.buf, a.len);
		}
	}
	/* The sample session's first bytes: the Confluent frame, then
	 * session_id as zigzag length 17 (0x22) and its bytes. */
	s = sample_session(true);
	enc_reset(&a);
	codec_set_fast_path(c, true);
	assert_int_equal(codec_encode_session(c, CODEC_CONFLUENT, &s, &a,
	    &reason), 0);
	assert_memory_equal(a.buf, "\x00\x00\x00\x00\x03\x22u42:1683203696789",
	    23);
	enc_free(&a);
	enc_free(&b);
}

static void
metric_encode_to_json_exact(void **st)
{
	static const uint8_t sketch[] = { 1, 2, 3, 4, 5 };
	struct codec *c = *st;
	struct metric_out m = {
		.kind = METRIC_DAU,
		.period = "2023-01-05",
		.tz = "Europe/Paris",
		.dimension = "country",
		.value = STRV("US"),
		.exact = 1234,
		.approx = 1250.5,
		.sketch = sketch,
		.sketch_len = sizeof sketch,
		.final = true,
	};

	assert_json_every_format(c, CODEC_METRIC, &m,
	    "{\"metric\":\"DAU\",\"period\":\"2023-01-05\","
	    "\"time_zone\":\"Europe/Paris\",\"dimension\":\"country\","
	    "\"value\":\"US\",\"count_exact\":1234,\"count_approx\":1250.5,"
	    "\"sketch\":\"AQIDBAU=\",\"final\":true}");
	m.kind = METRIC_MAU;
	m.period = "2023-01";
	m.dimension = "total";
	m.value = STRV("");
	m.sketch = NULL;
	m.sketch_len = 0;
	m.final = false;
	assert_json_every_format(c, CODEC_METRIC, &m,
	    "{\"metric\":\"MAU\",\"period\":\"2023-01\","
	    "\"time_zone\":\"Europe/Paris\",\"dimension\":\"total\","
	    "\"value\":\"\",\"count_exact\":1234,\"count_approx\":1250.5,"
	    "\"sketch\":null,\"final\":false}");
}

static void
truncated_avro_every_prefix(void **st)
{
	struct codec *c = *st;
	uint8_t framed[5 + sizeof sample_avro] = { 0, 0, 0, 0, 1 };
	size_t n;
	int fast;

	memcpy(framed + 5, sample_avro, sizeof sample_avro);
	for (fast = 1; fast >= 0; fast--) {
		codec_set_fast_path(c, fast);
		for (n = 0; n < sizeof sample_avro; n++) {
			expect_event_reason(c, CODEC_AVRO, sample_avro, n,
			    "truncated avro");
			expect_event_reason(c, CODEC_CONFLUENT, framed, n + 5,
			    "truncated avro");
		}
		for (n = 1; n < 5; n++)
			expect_event_reason(c, CODEC_CONFLUENT, framed, n,
			    "truncated confluent frame");
	}
	codec_set_fast_path(c, true);
}

static void
bad_avro_reasons_both_paths(void **st)
{
	/* Length varint of 2^40 for user_id, then a few bytes. */
	static const uint8_t huge_len[] = {
		0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 'u', '4', '2'
	};
	/* Length -2 for user_id. */
	static const uint8_t neg_len[] = { 0x03, 'u', '4', '2' };
	/* Eleven-byte varint. */
	static const uint8_t long_varint[] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x01, 0x00
	};
	struct codec *c = *st;
	uint8_t buf[sizeof sample_avro + 1], *big;
	size_t bigsz = 10 * 1024 * 1024, mid = CODEC_INPUT_MAX;
	struct event ev = sample_event();
	struct enc e;
	size_t i;
	int fast;

	enc_init(&e);
	big = xmalloc(bigsz);
	memset(big, 0xff, bigsz);
	for (fast = 1; fast >= 0; fast--) {
		codec_set_fast_path(c, fast);
		expect_event_reason(c, CODEC_AVRO, huge_len, sizeof huge_len,
		    "truncated avro");
		expect_event_reason(c, CODEC_AVRO, neg_len, sizeof neg_len,
		    "malformed avro");
		expect_event_reason(c, CODEC_AVRO, long_varint,
		    sizeof long_varint, "malformed avro");
		/* Under the size cap, 0xff bytes are a varint too long. */
		expect_event_reason(c, CODEC_AVRO, big, mid, "malformed avro");
		for (i = 0; i < NFORMATS; i++)
			expect_event_reason(c, formats[i], big, bigsz,
			    "value too large");
		expect_event_reason(c, CODEC_AVRO, NULL, 0, "null value");

		memcpy(buf, sample_avro, sizeof sample_avro);
		buf[sizeof sample_avro] = 0;
		expect_event_reason(c, CODEC_AVRO, buf, sizeof buf,
		    "trailing bytes");
		buf[1] = 0xff;		/* user_id "\xff42" */
		expect_event_reason(c, CODEC_AVRO, buf, sizeof sample_avro,
		    "invalid utf-8: user_id");

		ev = sample_event();
		ev.user_id = STRV("");
		encode_event(c, CODEC_AVRO, &ev, &e);
		expect_event_reason(c, CODEC_AVRO, e.buf, e.len,
		    "empty user_id");
		ev = sample_event();
		ev.duration_ms = -1;
		encode_event(c, CODEC_AVRO, &ev, &e);
		expect_event_reason(c, CODEC_AVRO, e.buf, e.len,
		    "negative duration_ms");
	}
	codec_set_fast_path(c, true);
	free(big);
	enc_free(&e);
}

/* Same verdict, reason and fields from the flat reader and from avro-c,
 * on valid events and on thousands of corrupted ones. */
static void
flat_and_avro_c_readers_agree(void **st)
{
	static const char *texts[] = {
		"", "a", "page_view", "\xc3\xa9t\xc3\xa9", "\xe2\x82\xac",
		"\xf0\x9f\x98\x80 smile", "u:with:colons",
	};
	struct codec *c = *st;
	struct event in, a, b;
	const char *ra, *rb;
	uint32_t rnd = 12345;
	struct enc e;
	int i, k, ia, ib, ok = 0;

	enc_init(&e);
	for (i = 0; i < 4000; i++) {
		in = sample_event();
		in.user_id = strv_c(texts[1 + i % 6]);
		in.action_type = strv_c(texts[i % 7]);
		in.page_id = strv_c(texts[(i / 7) % 7]);
		in.ts_ms = (int64_t)i * 86399999 - INT64_C(1000000000000);
		in.duration_ms = i * 997;
		encode_event(c, CODEC_AVRO, &in, &e);
		/* Three of four records get one to three bytes changed. */
		for (k = 0; k < (i % 4) && e.len > 0; k++) {
			rnd = rnd * 1103515245 + 12345;
			e.buf[(rnd >> 8) % e.len] ^= (uint8_t)(1 + (rnd >> 20) % 255);
		}
		ra = rb = NULL;
		codec_set_fast_path(c, true);
		ia = codec_decode_event(c, CODEC_AVRO, e.buf, e.len, &a, &ra);
		codec_set_fast_path(c, false);
		ib = codec_decode_event(c, CODEC_AVRO, e.buf, e.len, &b, &rb);
		assert_int_equal(ia, ib);
		if (ia == 0) {
			assert_event_equal(&a, &b);
			ok++;
		} else
			assert_string_equal(ra, rb);
		if (i % 4 == 0) {
			assert_int_equal(ia, 0);
			assert_event_equal(&a, &in);
		}
	}
	/* The corruptions did not all fail or all pass. */
	assert_in_range(ok, 1001, 3999);
	codec_set_fast_path(c, true);
	enc_free(&e);
}

static void
bad_frame_reasons(void **st)
{
	struct codec *c = *st;
	uint8_t framed[5 + sizeof sample_avro] = { 1, 0, 0, 0, 1 };

	memcpy(framed + 5, sample_avro, sizeof sample_avro);
	expect_event_reason(c, CODEC_CONFLUENT, framed, sizeof framed,
	    "bad magic byte");
	expect_event_reason(c, CODEC_CONFLUENT, framed, 1, "bad magic byte");
	framed[0] = 0;
	framed[4] = 9;
	expect_event_reason(c, CODEC_CONFLUENT, framed, sizeof framed,
	    "unknown schema id");
	framed[4] = 2;		/* the metadata schema's id */
	expect_event_reason(c, CODEC_CONFLUENT, framed, sizeof framed,
	    "unknown schema id");
	framed[4] = 1;
	expect_event_reason(c, CODEC_CONFLUENT, framed, 0,
	    "truncated confluent frame");
}

static void
bad_json_reasons(void **st)
{
	static const struct {
		const char *json;
		const char *reason;
	} cases[] = {
		{ "{\"user_id\":", "invalid json" },
		{ "", "invalid json" },
		{ "{\"user_id\":\"u\"} x", "invalid json" },
		{ "{\"user_id\":\"u\",\"user_id\":\"v\"}", "invalid json" },
		{ "[1,2]", "json value is not an object" },
		{ "{\"user_id\":5,\"timestamp\":0,\"action_type\":\"a\","
		  "\"page_id\":\"p\",\"duration_ms\":0,\"app_version\":\"v\"}",
		  "wrong type: user_id" },
		{ "{\"user_id\":\"u\",\"timestamp\":0,\"action_type\":\"a\","
		  "\"page_id\":\"p\",\"duration_ms\":\"12\","
		  "\"app_version\":\"v\"}", "wrong type: duration_ms" },
		{ "{\"user_id\":\"u\",\"timestamp\":0,\"action_type\":\"a\","
		  "\"page_id\":\"p\",\"duration_ms\":1.5,"
		  "\"app_version\":\"v\"}", "wrong type: duration_ms" },
		{ "{\"user_id\":\"u\",\"timestamp\":0,\"action_type\":null,"
		  "\"page_id\":\"p\",\"duration_ms\":1,\"app_version\":\"v\"}",
		  "wrong type: action_type" },
		{ "{\"user_id\":\"u\",\"timestamp\":0,\"action_type\":\"a\","
		  "\"duration_ms\":1,\"app_version\":\"v\"}",
		  "missing field: page_id" },
		{ "{\"user_id\":\"\",\"timestamp\":0,\"action_type\":\"a\","
		  "\"page_id\":\"p\",\"duration_ms\":1,\"app_version\":\"v\"}",
		  "empty user_id" },
		{ "{\"user_id\":\"u\",\"timestamp\":0,\"action_type\":\"a\","
		  "\"page_id\":\"p\",\"duration_ms\":-5,\"app_version\":\"v\"}",
		  "negative duration_ms" },
		{ "{\"user_id\":\"\\ud800\",\"timestamp\":0,"
		  "\"action_type\":\"a\",\"page_id\":\"p\",\"duration_ms\":1,"
		  "\"app_version\":\"v\"}", "invalid json" },
	};
	struct codec *c = *st;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		expect_event_reason(c, CODEC_JSON, cases[i].json,
		    strlen(cases[i].json), cases[i].reason);
	/* Invalid UTF-8 bytes in JSON text. */
	expect_event_reason(c, CODEC_JSON, "{\"user_id\":\"\xc3\x28\"}", 14,
	    "invalid json");
}

static void
validation_limits_all_formats(void **st)
{
	char longid[EVENT_USER_ID_MAX + 1];
	struct codec *c = *st;
	struct event ev;
	struct enc e;
	size_t i;

	memset(longid, 'x', sizeof longid);
	enc_init(&e);
	for (i = 0; i < NFORMATS; i++) {
		ev = sample_event();
		ev.user_id = (struct strv){ longid, sizeof longid };
		encode_event(c, formats[i], &ev, &e);
		expect_event_reason(c, formats[i], e.buf, e.len,
		    "user_id longer than 128 bytes");
		ev.user_id.len--;
		encode_event(c, formats[i], &ev, &e);
		assert_int_equal(codec_decode_event(c, formats[i], e.buf, e.len,
		    &ev, &(const char *){ NULL }), 0);
		assert_int_equal(ev.user_id.len, EVENT_USER_ID_MAX);
		ev = sample_event();
		ev.duration_ms = -1;
		encode_event(c, formats[i], &ev, &e);
		expect_event_reason(c, formats[i], e.buf, e.len,
		    "negative duration_ms");
	}
	enc_free(&e);
}

static void
to_json_bad_input(void **st)
{
	/* A session whose session_id claims 2^40 bytes: avro-c must never
	 * see it (it would allocate the length it reads). */
	static const uint8_t huge_len[] = {
		0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 'u', '4', '2'
	};
	struct codec *c = *st;
	const char *reason = NULL;
	struct session_out s = sample_session(true);
	struct enc e;
	size_t n;

	assert_null(codec_to_json(c, CODEC_SESSION, CODEC_AVRO, huge_len,
	    sizeof huge_len, &reason));
	assert_string_equal(reason, "truncated avro");
	assert_null(codec_to_json(c, CODEC_SESSION, CODEC_JSON, "{", 1,
	    &reason));
	assert_string_equal(reason, "invalid json");

	enc_init(&e);
	assert_int_equal(codec_encode_session(c, CODEC_AVRO, &s, &e, &reason),
	    0);
	for (n = 0; n < e.len; n++) {
		reason = NULL;
		assert_null(codec_to_json(c, CODEC_SESSION, CODEC_AVRO, e.buf, n,
		    &reason));
		assert_string_equal(reason, "truncated avro");
	}
	enc_u8(&e, 7);
	assert_null(codec_to_json(c, CODEC_SESSION, CODEC_AVRO, e.buf, e.len,
	    &reason));
	assert_string_equal(reason, "trailing bytes");
	enc_free(&e);
}

static void
to_json_array_blocks(void **st)
{
	/* Session fields up to actions_per_type: "a", "a", 0, 0, 0, 0. */
#define HEAD	0x02, 'a', 0x02, 'a', 0, 0, 0, 0
	/* Then no versions and no metadata. */
#define TAIL	0, 0, 0, 0, 0, 0
	/* A block with a negative count carries its byte size (Avro spec). */
	static const uint8_t sized_block[] = {
		HEAD, 0x01, 0x06, 0x02, 'e', 0x02, 0x00, TAIL
	};
	static const uint8_t huge_count[] = {
		HEAD, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0x02, 'e', 0x02, 0x00,
		TAIL
	};
	/* Count INT64_MIN, which has no positive counterpart. */
	static const uint8_t min_count[] = {
		HEAD, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
		0x00, TAIL
	};
	static const uint8_t bad_branch[] = {
		HEAD, 0x00, 0, 0, 0x04, 0, 0, 0
	};
#undef HEAD
#undef TAIL
	struct codec *c = *st;
	const char *reason = NULL;
	char *s;

	s = dumps(codec_to_json(c, CODEC_SESSION, CODEC_AVRO, sized_block,
	    sizeof sized_block, &reason));
	assert_string_equal(s, "{\"session_id\":\"a\",\"user_id\":\"a\","
	    "\"start\":0,\"end\":0,\"duration_ms\":0,\"actions\":0,"
	    "\"actions_per_type\":[{\"action_type\":\"e\",\"count\":1}],"
	    "\"first_app_version\":\"\",\"last_app_version\":\"\","
	    "\"join_date\":null,\"country\":null,\"device_type\":null,"
	    "\"subscription_type\":null}");
	free(s);
	assert_null(codec_to_json(c, CODEC_SESSION, CODEC_AVRO, huge_count,
	    sizeof huge_count, &reason));
	assert_string_equal(reason, "truncated avro");
	assert_null(codec_to_json(c, CODEC_SESSION, CODEC_AVRO, min_count,
	    sizeof min_count, &reason));
	assert_string_equal(reason, "malformed avro");
	assert_null(codec_to_json(c, CODEC_SESSION, CODEC_AVRO, bad_branch,
	    sizeof bad_branch, &reason));
	assert_string_equal(reason, "malformed avro");
}

static void
json_encoding_failures_leave_output(void **st)
{
	struct codec *c = *st;
	struct event ev = sample_event();
	struct metric_out m = {
		.kind = METRIC_DAU, .period = "2023-01-05", .tz = "UTC",
		.dimension = "total", .value = STRV(""), .exact = 1,
		.approx = NAN,
	};
	struct session_out s = sample_session(true);
	const char *reason = NULL;
	struct enc e;

	enc_init(&e);
	enc_raw(&e, "keep", 4);
	ev.page_id = STRV("p\xff");
	assert_int_equal(codec_encode_event(c, CODEC_JSON, &ev, &e, &reason),
	    -1);
	assert_string_equal(reason, "invalid utf-8 in string");
	assert_int_equal(codec_encode_metric(c, CODEC_JSON, &m, &e, &reason),
	    -1);
	assert_string_equal(reason, "non-finite number");
	assert_int_equal(e.len, 4);
	assert_memory_equal(e.buf, "keep", 4);

	/* A session framed with the metric schema's id is refused. */
	codec_set_schema_id(c, CODEC_SESSION, 4);
	assert_int_equal(codec_encode_session(c, CODEC_CONFLUENT, &s, &e,
	    &reason), 0);
	codec_set_schema_id(c, CODEC_SESSION, 3);
	assert_memory_equal(e.buf + 4, ((const uint8_t[]){ 0, 0, 0, 0, 4 }),
	    5);
	assert_null(codec_to_json(c, CODEC_SESSION, CODEC_CONFLUENT, e.buf + 4,
	    e.len - 4, &reason));
	assert_string_equal(reason, "unknown schema id");
	enc_free(&e);
}

static char *
write_schema_dir(const char *interaction)
{
	static const char *others[] = {
		"user_metadata.v1.avsc", "session.v1.avsc", "metric.v1.avsc"
	};
	char tmpl[] = "/tmp/codec-test-XXXXXX", *dir, *path, *cmd;
	FILE *f;
	size_t i;

	dir = mkdtemp(tmpl);
	assert_non_null(dir);
	dir = xstrdup(dir);
	for (i = 0; i < 3; i++) {
		cmd = xasprintf("cp %s/%s %s/", ACTIVITYD_SCHEMA_DIR, others[i],
		    dir);
		assert_int_equal(system(cmd), 0);
		free(cmd);
	}
	path = xasprintf("%s/interaction.v1.avsc", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(interaction, f);
	assert_int_equal(fclose(f), 0);
	free(path);
	return dir;
}

static void
remove_dir(char *dir)
{
	char *cmd = xasprintf("rm -rf %s", dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(dir);
}

static void
other_schema_uses_avro_c_reader(void **st)
{
	/* Reordered fields and one more: the flat reader cannot apply. */
	char *dir = write_schema_dir("{\"type\":\"record\",\"name\":\"I\","
	    "\"fields\":[{\"name\":\"app_version\",\"type\":\"string\"},"
	    "{\"name\":\"user_id\",\"type\":\"string\"},"
	    "{\"name\":\"extra\",\"type\":\"int\"},"
	    "{\"name\":\"duration_ms\",\"type\":\"long\"},"
	    "{\"name\":\"timestamp\",\"type\":\"long\"},"
	    "{\"name\":\"page_id\",\"type\":\"string\"},"
	    "{\"name\":\"action_type\",\"type\":\"string\"}]}");
	char *cause = NULL;
	struct codec *c = codec_new(dir, &cause);
	struct event in = sample_event(), out;
	const char *reason = NULL;
	struct enc e;
	size_t n;

	(void)st;
	if (c == NULL)
		fail_msg("%s", cause);
	assert_false(codec_set_fast_path(c, true));
	enc_init(&e);
	encode_event(c, CODEC_AVRO, &in, &e);
	/* app_version first, and the extra int (0) in the middle. */
	assert_int_equal(e.len, sizeof sample_avro + 1);
	assert_memory_equal(e.buf, "\x0a" "1.2.3" "\x06" "u42" "\x00", 11);
	assert_int_equal(codec_decode_event(c, CODEC_AVRO, e.buf, e.len, &out,
	    &reason), 0);
	assert_event_equal(&out, &in);
	for (n = 0; n < e.len; n++)
		expect_event_reason(c, CODEC_AVRO, e.buf, n, "truncated avro");
	codec_free(c);
	enc_free(&e);
	remove_dir(dir);
}

static void
broken_schema_dirs_refused(void **st)
{
	char *dir, *cause = NULL;

	(void)st;
	assert_null(codec_new("/nonexistent-dir", &cause));
	assert_non_null(strstr(cause, "/nonexistent-dir/interaction.v1.avsc"));
	free(cause);

	dir = write_schema_dir("{\"type\":\"record\",\"name\":\"I\","
	    "\"fields\":[{\"name\":\"user_id\",\"type\":\"string\"}]}");
	cause = NULL;
	assert_null(codec_new(dir, &cause));
	assert_non_null(strstr(cause, "no field timestamp"));
	free(cause);
	remove_dir(dir);

	dir = write_schema_dir("{\"type\":\"record\",\"name\":\"I\","
	    "\"fields\":[{\"name\":\"user_id\",\"type\":\"long\"},");
	cause = NULL;
	assert_null(codec_new(dir, &cause));
	assert_non_null(strstr(cause, "interaction.v1.avsc"));
	free(cause);
	remove_dir(dir);

	dir = write_schema_dir("{\"type\":\"record\",\"name\":\"I\","
	    "\"fields\":[{\"name\":\"user_id\",\"type\":\"long\"},"
	    "{\"name\":\"timestamp\",\"type\":\"long\"},"
	    "{\"name\":\"action_type\",\"type\":\"string\"},"
	    "{\"name\":\"page_id\",\"type\":\"string\"},"
	    "{\"name\":\"duration_ms\",\"type\":\"long\"},"
	    "{\"name\":\"app_version\",\"type\":\"string\"}]}");
	cause = NULL;
	assert_null(codec_new(dir, &cause));
	assert_non_null(strstr(cause, "field user_id is not string"));
	free(cause);
	remove_dir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(format_names_parse_back),
		cmocka_unit_test(event_roundtrip_every_format_and_path),
		cmocka_unit_test(avro_bytes_and_confluent_frame_exact),
		cmocka_unit_test(event_json_encoding_exact),
		cmocka_unit_test(json_timestamps_iso_and_integer),
		cmocka_unit_test(meta_roundtrip_and_tombstone),
		cmocka_unit_test(session_encode_to_json_exact),
		cmocka_unit_test(session_unsorted_types_refused),
		cmocka_unit_test(flat_and_avro_c_session_writers_agree),
		cmocka_unit_test(metric_encode_to_json_exact),
		cmocka_unit_test(truncated_avro_every_prefix),
		cmocka_unit_test(bad_avro_reasons_both_paths),
		cmocka_unit_test(flat_and_avro_c_readers_agree),
		cmocka_unit_test(bad_frame_reasons),
		cmocka_unit_test(bad_json_reasons),
		cmocka_unit_test(validation_limits_all_formats),
		cmocka_unit_test(to_json_bad_input),
		cmocka_unit_test(to_json_array_blocks),
		cmocka_unit_test(json_encoding_failures_leave_output),
		cmocka_unit_test(other_schema_uses_avro_c_reader),
		cmocka_unit_test(broken_schema_dirs_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
