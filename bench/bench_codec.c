/*
 * bench_codec: nanoseconds per decoded event in each format and per
 * encoded session and metric. Usage: bench_codec [SCHEMA_DIR] [ITERATIONS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "xmalloc.h"

#define NSAMPLES	1024

struct sample {
	uint8_t *buf;
	size_t   len;
};

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* NSAMPLES events with distinct users, encoded in one format. */
static void
make_events(struct codec *c, enum codec_format fmt, struct sample *out)
{
	static const char *types[] = {
		"page_view", "edit", "create", "delete", "share"
	};
	char uid[32], page[32];
	const char *reason;
	struct event ev;
	struct enc e;
	int i;

	for (i = 0; i < NSAMPLES; i++) {
		snprintf(uid, sizeof uid, "u%06d", i * 7919 % 100000);
		snprintf(page, sizeof page, "p%d", i % 500);
		ev.user_id = strv_c(uid);
		ev.ts_ms = INT64_C(1672531200000) + (int64_t)i * 60000;
		ev.action_type = strv_c(types[i % 5]);
		ev.page_id = strv_c(page);
		ev.duration_ms = 1000 + i * 37;
		ev.app_version = STRV("5.4.3");
		enc_init(&e);
		if (codec_encode_event(c, fmt, &ev, &e, &reason) != 0)
			fatalx("encode: %s", reason);
		out[i].buf = enc_take(&e, &out[i].len);
	}
}

static void
bench_decode(struct codec *c, const char *name, enum codec_format fmt,
    const struct sample *s, long iters)
{
	const char *reason;
	struct event ev;
	double t0, t1;
	long i;
	int64_t sum = 0;

	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		const struct sample *x = &s[i % NSAMPLES];

		if (codec_decode_event(c, fmt, x->buf, x->len, &ev,
		    &reason) != 0)
			fatalx("decode %s: %s", name, reason);
		sum += ev.duration_ms + (int64_t)ev.user_id.len;
	}
	t1 = now_ns();
	printf("decode event %-22s %8.1f ns/op  (%zu bytes, check %lld)\n",
	    name, (t1 - t0) / iters, s[0].len, (long long)sum);
}

static void
free_samples(struct sample *s)
{
	int i;

	for (i = 0; i < NSAMPLES; i++)
		free(s[i].buf);
}

static void
bench_iso_json(struct codec *c, long iters)
{
	struct sample s[NSAMPLES];
	char buf[256];
	int i, n;

	for (i = 0; i < NSAMPLES; i++) {
		n = snprintf(buf, sizeof buf, "{\"user_id\":\"u%06d\","
		    "\"timestamp\":\"2023-01-%02d %02d:%02d:%02d.%03d\","
		    "\"action_type\":\"page_view\",\"page_id\":\"p%d\","
		    "\"duration_ms\":%d,\"app_version\":\"5.4.3\"}",
		    i, 1 + i % 28, i % 24, i % 60, (i * 7) % 60, i % 1000,
		    i % 500, 1000 + i);
		s[i].buf = xmemdup(buf, (size_t)n);
		s[i].len = (size_t)n;
	}
	bench_decode(c, "json (iso timestamp)", CODEC_JSON, s, iters);
	free_samples(s);
}

/* Times one encode call on one record. */
static void
bench_encode(struct codec *c, const char *what, enum codec_schema which,
    enum codec_format fmt, const void *rec, long iters)
{
	const char *reason = NULL;
	struct enc e;
	double t0, t1;
	long i;
	int rc;

	enc_init(&e);
	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		enc_reset(&e);
		switch (which) {
		case CODEC_INTERACTION:
			rc = codec_encode_event(c, fmt, rec, &e, &reason);
			break;
		case CODEC_SESSION:
			rc = codec_encode_session(c, fmt, rec, &e, &reason);
			break;
		default:
			rc = codec_encode_metric(c, fmt, rec, &e, &reason);
			break;
		}
		if (rc != 0)
			fatalx("encode %s: %s", what, reason);
	}
	t1 = now_ns();
	printf("encode %-9s %-18s %8.1f ns/op  (%zu bytes)\n", what,
	    codec_format_name(fmt), (t1 - t0) / iters, e.len);
	enc_free(&e);
}

static void
bench_encodes(struct codec *c, long iters)
{
	static const struct action_count types[] = {
		{ STRV("create"), 1 }, { STRV("edit"), 4 },
		{ STRV("page_view"), 12 }, { STRV("share"), 2 },
	};
	static uint8_t sketch[12 * 1024];
	const struct event ev = {
		.user_id = STRV("u004242"), .ts_ms = INT64_C(1672531200000),
		.action_type = STRV("page_view"), .page_id = STRV("p17"),
		.duration_ms = 12345, .app_version = STRV("5.4.3"),
	};
	const struct session_out s = {
		.user_id = STRV("u004242"),
		.session_id = STRV("u004242:1672531200000"),
		.start_ms = INT64_C(1672531200000),
		.end_ms = INT64_C(1672532400000),
		.duration_ms = 1200000,
		.actions = 19,
		.per_type = types,
		.n_types = 4,
		.first_app_version = STRV("5.4.3"),
		.last_app_version = STRV("5.4.3"),
		.has_meta = true,
		.join_date = 19000,
		.dims = { STRV("US"), STRV("mobile"), STRV("premium") },
	};
	const struct metric_out m = {
		.kind = METRIC_DAU, .period = "2023-01-05", .tz = "UTC",
		.dimension = "country", .value = STRV("US"), .exact = 123456,
		.approx = 123999.5, .sketch = sketch, .sketch_len = sizeof sketch,
		.final = false,
	};

	bench_encode(c, "event", CODEC_INTERACTION, CODEC_AVRO, &ev, iters);
	bench_encode(c, "event", CODEC_INTERACTION, CODEC_JSON, &ev, iters / 4);
	bench_encode(c, "session", CODEC_SESSION, CODEC_AVRO, &s, iters);
	bench_encode(c, "session", CODEC_SESSION, CODEC_CONFLUENT, &s, iters);
	codec_set_fast_path(c, false);
	bench_encode(c, "session", CODEC_SESSION, CODEC_AVRO, &s, iters);
	printf("  (the line above: avro-c's writer, the flat writer off)\n");
	codec_set_fast_path(c, true);
	bench_encode(c, "session", CODEC_SESSION, CODEC_JSON, &s, iters / 4);
	/* A 2^14-register sketch, as metrics may carry. */
	bench_encode(c, "metric", CODEC_METRIC, CODEC_AVRO, &m, iters);
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ACTIVITYD_SCHEMA_DIR;
	long iters = argc > 2 ? atol(argv[2]) : 2000000;
	struct sample avro[NSAMPLES], conf[NSAMPLES], json[NSAMPLES];
	char *cause;
	struct codec *c;

	if (iters <= 0)
		iters = 2000000;
	if ((c = codec_new(dir, &cause)) == NULL)
		fatalx("%s", cause);
	make_events(c, CODEC_AVRO, avro);
	make_events(c, CODEC_CONFLUENT, conf);
	make_events(c, CODEC_JSON, json);

	bench_decode(c, "avro (fast path)", CODEC_AVRO, avro, iters);
	bench_decode(c, "confluent (fast path)", CODEC_CONFLUENT, conf, iters);
	codec_set_fast_path(c, false);
	bench_decode(c, "avro (avro-c)", CODEC_AVRO, avro, iters / 4);
	bench_decode(c, "confluent (avro-c)", CODEC_CONFLUENT, conf,
	    iters / 4);
	codec_set_fast_path(c, true);
	bench_decode(c, "json (integer ts)", CODEC_JSON, json, iters / 4);
	bench_iso_json(c, iters / 4);

	bench_encodes(c, iters / 4);

	free_samples(avro);
	free_samples(conf);
	free_samples(json);
	codec_free(c);
	return 0;
}
