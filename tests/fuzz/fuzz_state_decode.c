/*
 * fuzz_state_decode: the decoders of the persisted engine state
 * (engine_decode_user, engine_decode_pset_chunk, engine_decode_clock), as
 * run at start on whatever the state store holds. The input is a series
 * of records (op byte, 16-bit big-endian length, bytes) applied in order to
 * one fresh engine, so that records of several kinds meet: op % 3 picks
 * the decoder; for a user record op / 3 picks one of four user ids, for a
 * pset chunk it picks the zone (0, 1), the period kind and the period. The
 * engine then advances and closes everything, which walks what was loaded.
 * A user record that loads must encode into a record that loads into
 * another fresh engine and encodes to the same bytes.
 */
#include "engine.h"
#include "fuzz.h"
#include "meta.h"
#include "tzcal.h"

struct fuzz_state {
	struct tzcal		*tz[2];
	struct meta		*meta;		/* of the current input */
	struct engine_conf	 conf;
	struct engine_cb	 cb;
};

static void
fuzz_state_session(void *arg, const struct session_out *o)
{
	FUZZ_CHECK(o->user_id.len >= 1 && o->user_id.len <= EVENT_USER_ID_MAX);
	FUZZ_CHECK(o->actions >= 1);
}

static void
fuzz_state_late(void *arg, const struct event *ev, const char *reason)
{
}

/* Gap 10 min, grace 5 min, zones UTC and Asia/Kolkata, all dimensions: the
 * setup of the engine's unit tests. */
static struct fuzz_state *
fuzz_state(void)
{
	static struct fuzz_state	 st;
	char				*cause = NULL;

	if (st.tz[0] != NULL)
		return &st;
	if ((st.tz[0] = tzcal_open("UTC", &cause)) == NULL ||
	    (st.tz[1] = tzcal_open("Asia/Kolkata", &cause)) == NULL) {
		fprintf(stderr, "tzcal_open: %s\n", cause);
		abort();
	}
	st.conf.sess.gap_ms = 600000;
	st.conf.sess.grace_ms = 300000;
	st.conf.act.zones = st.tz;
	st.conf.act.n_zones = 2;
	st.conf.act.min_ms = 10000;
	st.conf.act.max_ms = 14400000;
	st.conf.act.hll_precision = 14;
	st.conf.act.dims_mask = (1u << DIM_COUNT) - 1;
	st.cb = (struct engine_cb){ fuzz_state_session, fuzz_state_late, NULL };
	return &st;
}

/* A loaded user's record, loaded elsewhere, encodes to the same bytes. */
static void
fuzz_state_user_again(struct fuzz_state *st, struct engine *g,
    struct strv id)
{
	struct engine	*h = engine_new(&st->conf, st->meta, &st->cb);
	struct enc	 e1, e2;
	uint32_t	 uid;

	enc_init(&e1);
	enc_init(&e2);
	uid = engine_user_find(g, id);
	FUZZ_CHECK(uid < engine_user_count(g));
	engine_encode_user(g, uid, &e1);
	FUZZ_CHECK(engine_decode_user(h, id, e1.buf, e1.len) == 0);
	engine_encode_user(h, engine_user_find(h, id), &e2);
	FUZZ_CHECK(e1.len == e2.len && memcmp(e1.buf, e2.buf, e1.len) == 0);
	enc_free(&e2);
	enc_free(&e1);
	engine_free(h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct strv	 users[] = {
		STRV("u1"), STRV("u2"), STRV("user-3"), STRV("\xc3\xa9t\xc3\xa9")
	};
	struct fuzz_state		*st = fuzz_state();
	struct engine			*g;
	const uint8_t			*end = data + size, *rec;
	size_t				 len;
	uint8_t				 op;

	/* Metadata values decoded from chunks land in the table: a fresh one
	 * per input keeps runs independent. */
	st->meta = meta_new();
	g = engine_new(&st->conf, st->meta, &st->cb);
	while (end - data >= 3) {
		op = data[0];
		len = (size_t)data[1] << 8 | data[2];
		rec = data + 3;
		if (len > (size_t)(end - rec))
			len = (size_t)(end - rec);
		data = rec + len;
		switch (op % 3) {
		case 0:
			if (engine_decode_user(g, users[op / 3 % 4], rec,
			    len) == 0)
				fuzz_state_user_again(st, g,
				    users[op / 3 % 4]);
			break;
		case 1:
			(void)engine_decode_pset_chunk(g, op / 3 % 2,
			    (enum period_kind)(op / 6 % 2),
			    19358 + op / 12 % 4 * 31, rec, len);
			break;
		default:
			(void)engine_decode_clock(g, rec, len);
			break;
		}
	}
	engine_advance(g, INT64_C(1700000000000));
	engine_close_all(g);
	engine_free(g);
	meta_free(st->meta);
	return 0;
}
