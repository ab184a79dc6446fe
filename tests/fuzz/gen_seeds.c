/*
 * gen_seeds: writes the binary seeds of the fuzz corpora (valid Avro,
 * Confluent and JSON values of every schema, HLL sketches, engine state
 * records) with the project's own encoders, so the seeds are what the
 * daemon writes and reads. Usage: gen_seeds CORPUS_DIR (the directories
 * codec_event, codec_meta, codec_json_out, hll_decode, state_decode must
 * exist). The text seeds (CSV, config, HTTP) are committed as written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "engine.h"
#include "hll.h"
#include "meta.h"
#include "tzcal.h"
#include "xmalloc.h"

static const char *outdir;
static const char *const fmt_names[] = { "avro", "confluent", "json" };

/* Writes prefix (if >= 0) and the bytes to outdir/target/name. */
static void
seed_write(const char *target, const char *name, int prefix, const void *p,
    size_t len)
{
	char	*path;
	FILE	*f;

	path = xasprintf("%s/%s/%s", outdir, target, name);
	if ((f = fopen(path, "w")) == NULL)
		fatalx("%s: cannot open", path);
	if (prefix >= 0)
		fputc(prefix, f);
	if (len != 0 && fwrite(p, 1, len, f) != len)
		fatalx("%s: write failed", path);
	if (fclose(f) != 0)
		fatalx("%s: write failed", path);
	free(path);
}

static void
seed_events(struct codec *c)
{
	struct event	 evs[] = {
		{ STRV("u42"), INT64_C(1683203696789), STRV("page_view"),
		  STRV("p/1"), 12345, STRV("1.2.3") },
		{ STRV("\xc3\xa9l\xc3\xa8ve \"q\""), 0, STRV(""), STRV(""), 0,
		  STRV("") },
		{ STRV("u"), -INT64_C(86400000), STRV("edit"),
		  STRV("doc\\1\n"), INT64_C(4503599627370496), STRV("9") },
	};
	struct enc	 e;
	const char	*reason;
	char		 name[64];
	size_t		 i;
	int		 f;

	for (f = 0; f < 3; f++) {
		for (i = 0; i < sizeof evs / sizeof evs[0]; i++) {
			enc_init(&e);
			if (codec_encode_event(c, (enum codec_format)f, &evs[i],
			    &e, &reason) != 0)
				fatalx("encode event: %s", reason);
			snprintf(name, sizeof name, "%s-%zu", fmt_names[f], i);
			seed_write("codec_event", name, f, e.buf, e.len);
			snprintf(name, sizeof name, "event-%s-%zu",
			    fmt_names[f], i);
			seed_write("codec_json_out", name, f, e.buf, e.len);
			if (i == 0) {
				snprintf(name, sizeof name, "%s-generic",
				    fmt_names[f]);
				seed_write("codec_event", name, 4 + f, e.buf,
				    e.len);
			}
			enc_free(&e);
		}
	}
}

static void
seed_meta(struct codec *c)
{
	struct meta_rec	 m = { STRV("u42"), false, 19000,
		{ STRV("US"), STRV("iOS"), STRV("free") } };
	struct enc	 e;
	const char	*reason;
	char		 name[64];
	int		 f;

	for (f = 0; f < 3; f++) {
		enc_init(&e);
		if (codec_encode_meta(c, (enum codec_format)f, &m, &e,
		    &reason) != 0)
			fatalx("encode meta: %s", reason);
		seed_write("codec_meta", fmt_names[f], f, e.buf, e.len);
		snprintf(name, sizeof name, "meta-%s", fmt_names[f]);
		seed_write("codec_json_out", name, 3 + f, e.buf, e.len);
		snprintf(name, sizeof name, "%s-generic", fmt_names[f]);
		seed_write("codec_meta", name, 4 + f, e.buf, e.len);
		enc_free(&e);
	}
	seed_write("codec_meta", "tombstone", 8, "u42", 3);
}

static void
seed_outputs(struct codec *c)
{
	static const struct action_count types[] = {
		{ STRV("edit"), 2 }, { STRV("page_view"), 5 }
	};
	static const uint8_t sketch[] = { 1, 4, 0, 1, 0x45 };
	struct session_out s = {
		STRV("u42"), STRV("u42:1683203696789"), INT64_C(1683203696789),
		INT64_C(1683204296789), 600000, 7, types, 2, STRV("1.2"),
		STRV("1.3"), true, 19000,
		{ STRV("US"), STRV("iOS"), STRV("free") }
	};
	struct metric_out mo = {
		METRIC_DAU, "2023-05-04", "UTC", "country", STRV("US"), 3, 3.01,
		sketch, sizeof sketch, true
	};
	struct enc	 e;
	const char	*reason;
	char		 name[64];
	int		 f, v;

	for (f = 0; f < 3; f++) {
		for (v = 0; v < 2; v++) {
			enc_init(&e);
			s.has_meta = v == 0;
			if (codec_encode_session(c, (enum codec_format)f, &s,
			    &e, &reason) != 0)
				fatalx("encode session: %s", reason);
			snprintf(name, sizeof name, "session-%s-%d",
			    fmt_names[f], v);
			seed_write("codec_json_out", name, 6 + f, e.buf, e.len);
			enc_free(&e);

			enc_init(&e);
			mo.kind = v == 0 ? METRIC_DAU : METRIC_MAU;
			mo.sketch = v == 0 ? sketch : NULL;
			mo.sketch_len = v == 0 ? sizeof sketch : 0;
			if (codec_encode_metric(c, (enum codec_format)f, &mo,
			    &e, &reason) != 0)
				fatalx("encode metric: %s", reason);
			snprintf(name, sizeof name, "metric-%s-%d",
			    fmt_names[f], v);
			seed_write("codec_json_out", name, 9 + f, e.buf, e.len);
			enc_free(&e);
		}
	}
}

static void
seed_hll(void)
{
	static const struct { int p, n; bool dense; } sk[] = {
		{ 14, 0, false }, { 14, 3, false }, { 4, 40, false },
		{ 6, 10, true }, { 18, 20, false }, { 10, 5000, false },
	};
	struct hll	*h;
	struct enc	 e;
	char		 name[64];
	size_t		 i;
	int		 u;

	for (i = 0; i < sizeof sk / sizeof sk[0]; i++) {
		h = sk[i].dense ? hll_new_dense(sk[i].p) : hll_new(sk[i].p);
		for (u = 0; u < sk[i].n; u++)
			hll_add(h, &u, sizeof u);
		enc_init(&e);
		hll_encode(h, &e);
		snprintf(name, sizeof name, "p%d-n%d-%s", sk[i].p, sk[i].n,
		    hll_is_sparse(h) ? "sparse" : "dense");
		seed_write("hll_decode", name, -1, e.buf, e.len);
		enc_free(&e);
		hll_free(h);
	}
}

/* One record of the state target: op, 16-bit big-endian length, bytes. */
static void
seed_record(struct enc *out, uint8_t op, const struct enc *rec)
{
	enc_u8(out, op);
	enc_u8(out, (uint8_t)(rec->len >> 8));
	enc_u8(out, (uint8_t)rec->len);
	enc_raw(out, rec->buf, rec->len);
}

static void
seed_add(struct engine *g, const char *user, int64_t ts, int64_t dur,
    const char *type)
{
	struct event	 ev = { strv_c(user), ts, strv_c(type), STRV("p1"), dur,
		STRV("1.0") };

	engine_add(g, &ev, 0);
}

/* The engine set-up of fuzz_state_decode: two zones, all dimensions. */
static void
seed_state(void)
{
	const int64_t		 t0 = INT64_C(1672531200000), min = 60000;
	struct tzcal		*tz[2];
	struct meta		*meta = meta_new();
	struct engine_conf	 conf = { 0 };
	struct engine_cb	 cb = { NULL, NULL, NULL };
	struct meta_rec		 m = { STRV("u1"), false, 19000,
		{ STRV("US"), STRV("iOS"), STRV("free") } };
	struct engine		*g;
	struct enc		 rec, all, one;
	struct pset		*s;
	char			*cause = NULL;

	if ((tz[0] = tzcal_open("UTC", &cause)) == NULL ||
	    (tz[1] = tzcal_open("Asia/Kolkata", &cause)) == NULL)
		fatalx("tzcal_open: %s", cause);
	conf.sess.gap_ms = 10 * min;
	conf.sess.grace_ms = 5 * min;
	conf.act.zones = tz;
	conf.act.n_zones = 2;
	conf.act.min_ms = 10000;
	conf.act.max_ms = 14400000;
	conf.act.hll_precision = 14;
	conf.act.dims_mask = (1u << DIM_COUNT) - 1;
	meta_apply(meta, &m);
	g = engine_new(&conf, meta, &cb);
	seed_add(g, "u1", t0, 20000, "edit");
	seed_add(g, "u1", t0 + min, 20000, "page_view");
	seed_add(g, "u2", t0, 20000, "edit");
	engine_advance(g, 0);
	seed_add(g, "u1", t0 + 60 * min, 30000, "edit");

	enc_init(&all);
	/* u1 (op 0: first user id), a pset chunk of day 2023-01-01 in UTC
	 * (op 1 + 3 * 0 and period 19358), the clock (op 2). */
	enc_init(&rec);
	engine_encode_user(g, engine_user_find(g, STRV("u1")), &rec);
	seed_record(&all, 0, &rec);
	enc_init(&one);
	seed_record(&one, 0, &rec);
	seed_write("state_decode", "user", -1, one.buf, one.len);
	enc_free(&one);
	enc_free(&rec);

	s = active_find(engine_active(g), 0, PERIOD_DAY, 19358);
	if (s == NULL)
		fatalx("no period set for 2023-01-01");
	enc_init(&rec);
	engine_encode_pset_delta(g, s, &rec);
	seed_record(&all, 1, &rec);
	enc_init(&one);
	seed_record(&one, 1, &rec);
	seed_write("state_decode", "pset", -1, one.buf, one.len);
	enc_free(&one);
	enc_free(&rec);

	enc_init(&rec);
	engine_encode_clock(g, &rec);
	seed_record(&all, 2, &rec);
	enc_init(&one);
	seed_record(&one, 2, &rec);
	seed_write("state_decode", "clock", -1, one.buf, one.len);
	enc_free(&one);
	enc_free(&rec);
	seed_write("state_decode", "all", -1, all.buf, all.len);
	enc_free(&all);

	engine_free(g);
	meta_free(meta);
	tzcal_free(tz[0]);
	tzcal_free(tz[1]);
}

int
main(int argc, char **argv)
{
	struct codec	*c;
	char		*cause = NULL;

	if (argc != 2) {
		fprintf(stderr, "usage: gen_seeds CORPUS_DIR\n");
		return 2;
	}
	outdir = argv[1];
	if ((c = codec_new(ACTIVITYD_SCHEMA_DIR, &cause)) == NULL)
		fatalx("codec_new: %s", cause);
	seed_events(c);
	seed_meta(c);
	seed_outputs(c);
	seed_hll();
	seed_state();
	codec_free(c);
	return 0;
}
