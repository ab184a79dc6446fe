/*
 * Unit tests for state/engine: the emitted session record field by field
 * (session id, sorted per-type counts, metadata as of close time), the two
 * session end modes, per-user statistics, the late rule at its exact
 * boundary, dirty tracking, and the persisted forms: a user's record, the
 * delta chunks of a period set (applied in two commits to a fresh engine
 * whose metadata codes differ) and the clock; decoders must reject
 * truncated and random input without crashing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "enc.h"
#include "hll.h"
#include "strdict.h"
#include "engine_fixture.h"

static const struct fx_opts hold_open = { .hold_open = true };
static const struct fx_opts live = { .hold_open = false };

static const struct fx_session *
emitted(const struct fx *f, const char *user, size_t nth)
{
	size_t i;

	for (i = 0; i < f->nout; i++)
		if (strcmp(f->out[i].user, user) == 0 && nth-- == 0)
			return &f->out[i];
	fail_msg("no session %zu of %s emitted", nth, user);
	return NULL;
}

static uint32_t
uid_of(const struct engine *g, const char *user)
{
	uint32_t uid = engine_user_find(g, strv_c(user));

	assert_int_not_equal(uid, STRDICT_NONE);
	return uid;
}

/* ---- the emitted session ---- */

static void
session_record_fields(void **state)
{
	struct fx *f = fx_new(&hold_open);
	const struct fx_session *s;

	(void)state;
	fx_meta(f->meta, "u1", 19000, "US", "iOS", "premium");
	fx_meta(f->meta, "u4", 19001, "DE", "Web", "free");
	fx_meta(f->meta, "u5", 19002, "", "Android", "free");
	fx_add(f, "u1", FX_T0, 100000, "page_view", "1.0");
	fx_add(f, "u1", FX_T0 + 60000, 40000, "edit", "1.1");
	fx_add(f, "u1", FX_T0 + 120000, 3000, "create", "1.2");
	fx_add(f, "u1", FX_T0 + 90000, 0, "page_view", "1.1");
	fx_add(f, "u2", FX_T0 + 5000, 0, "share", "2.0");
	fx_add(f, "u3", FX_T0, 0, "share", "2.0");
	fx_add(f, "u4", FX_T0, 0, "share", "2.0");
	fx_add(f, "u5", FX_T0, 0, "share", "2.0");
	/* session_id at the epoch and before it. */
	fx_add(f, "u6", -1, 0, "share", "2.0");
	fx_add(f, "u7", 0, 0, "share", "2.0");
	/* Metadata as of close time: u3's arrives late, u4's is deleted. */
	fx_meta(f->meta, "u3", 19003, "FR", "iOS", "free");
	fx_tombstone(f->meta, "u4");
	assert_int_equal(engine_close_all(f->eng), 7);
	assert_int_equal(f->nout, 7);
	assert_string_equal(emitted(f, "u6", 0)->sid, "u6:-1");
	assert_string_equal(emitted(f, "u7", 0)->sid, "u7:0");

	s = emitted(f, "u1", 0);
	assert_string_equal(s->sid, "u1:1672531200000");
	assert_true(s->start == FX_T0);
	assert_true(s->end == FX_T0 + 123000);
	assert_true(s->duration == 123000);
	assert_int_equal(s->actions, 4);
	assert_string_equal(s->types, "create:1,edit:1,page_view:2");
	assert_string_equal(s->first_ver, "1.0");
	assert_string_equal(s->last_ver, "1.2");
	assert_true(s->has_meta);
	assert_int_equal(s->join_date, 19000);
	assert_string_equal(s->dims[DIM_COUNTRY], "US");
	assert_string_equal(s->dims[DIM_DEVICE_TYPE], "iOS");
	assert_string_equal(s->dims[DIM_SUBSCRIPTION_TYPE], "premium");

	s = emitted(f, "u2", 0);
	assert_string_equal(s->sid, "u2:1672531205000");
	assert_int_equal(s->actions, 1);
	assert_string_equal(s->types, "share:1");
	assert_false(s->has_meta);
	assert_int_equal(s->join_date, 0);
	assert_true(s->dim_null[DIM_COUNTRY] && s->dim_null[DIM_DEVICE_TYPE] &&
	    s->dim_null[DIM_SUBSCRIPTION_TYPE]);

	s = emitted(f, "u3", 0);
	assert_true(s->has_meta);
	assert_int_equal(s->join_date, 19003);
	assert_string_equal(s->dims[DIM_COUNTRY], "FR");
	assert_false(emitted(f, "u4", 0)->has_meta);
	/* Metadata with an empty value: that dimension reads "unknown". */
	s = emitted(f, "u5", 0);
	assert_true(s->has_meta);
	assert_string_equal(s->dims[DIM_COUNTRY], "unknown");
	assert_string_equal(s->dims[DIM_DEVICE_TYPE], "Android");
	fx_free(f);
}

static void
session_end_modes(void **state)
{
	static const struct {
		bool    end_last_start;
		int64_t end, duration;
		double  avg;
	} rows[] = {
		/* max(ts + duration): the first event's long action */
		{ false, FX_T0 + 500000, 500000, 500.0 },
		/* the last event's start */
		{ true, FX_T0 + 60000, 60000, 60.0 },
	};
	size_t r;

	(void)state;
	for (r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		struct fx_opts o = { .hold_open = true,
			.end_last_start = rows[r].end_last_start };
		struct fx *f = fx_new(&o);
		const struct fx_session *s;

		fx_add(f, "u1", FX_T0, 500000, "edit", "1");
		fx_add(f, "u1", FX_T0 + 60000, 1000, "edit", "1");
		engine_close_all(f->eng);
		s = emitted(f, "u1", 0);
		assert_true(s->end == rows[r].end);
		assert_true(s->duration == rows[r].duration);
		assert_true(user_stats_avg_seconds(fx_stats(f->eng,
		    uid_of(f->eng, "u1"))) == rows[r].avg);
		fx_free(f);
	}
}

/* ---- statistics ---- */

static void
user_stats_exact(void **state)
{
	static const struct {
		int64_t dur[3];		/* one single-event session each */
		size_t  n;
		double  avg;
	} rows[] = {
		{ { 100000, 148329 }, 2, 124.1645 },
		{ { 88297 }, 1, 88.297 },
		{ { 1, 2 }, 2, 0.0015 },
		{ { 0, 0, 3 }, 3, 0.001 },
	};
	size_t r, k;

	(void)state;
	for (r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		struct fx *f = fx_new(&hold_open);
		const struct user_stats *st;
		uint64_t sum = 0;

		for (k = 0; k < rows[r].n; k++) {
			fx_add(f, "u1", FX_T0 + (int64_t)k * 3600000,
			    rows[r].dur[k], "edit", "1");
			sum += (uint64_t)rows[r].dur[k];
		}
		fx_add(f, "u2", FX_T0, 1, "edit", "1");
		/* No closed session yet: no statistics. */
		assert_null(fx_stats(f->eng, uid_of(f->eng, "u1")));
		engine_close_all(f->eng);
		st = fx_stats(f->eng, uid_of(f->eng, "u1"));
		assert_non_null(st);
		assert_int_equal(st->sessions, rows[r].n);
		assert_int_equal(st->duration_ms, sum);
		assert_int_equal(st->actions, rows[r].n);
		assert_true(st->first_seen == FX_T0);
		assert_true(st->last_seen ==
		    FX_T0 + (int64_t)(rows[r].n - 1) * 3600000);
		assert_int_equal(st->late, 0);
		if (user_stats_avg_seconds(st) != rows[r].avg)
			fail_msg("avg %.17g, want %.17g",
			    user_stats_avg_seconds(st), rows[r].avg);
		/* Out of range ids have none. */
		assert_null(fx_stats(f->eng, 2));
		assert_null(fx_stats(f->eng, STRDICT_NONE));
		fx_free(f);
	}
	{
		struct user_stats none = { 0 };

		assert_true(user_stats_avg_seconds(&none) == 0.0);
	}
}

/* ---- the late rule ---- */

static void
late_event_counts_for_dau_only(void **state)
{
	struct fx *f = fx_new(&live);
	int64_t t = fx_ms("2023-01-01T23:55:00Z");
	uint32_t u1;
	size_t n;
	const struct sess *open;
	const struct user_stats *st;
	struct pset *jan1, *jan2;

	(void)state;
	/* Not active (5 s): u1 is not in the DAU of January 1. */
	assert_int_equal(fx_add(f, "u1", t, 5000, "edit", "1"), ENGINE_OK);
	assert_int_equal(fx_add(f, "u2", t + FX_GAP + FX_GRACE + 1, 20000,
	    "edit", "1"), ENGINE_OK);
	assert_int_equal(engine_advance(f->eng, 0), 1);
	assert_true(engine_watermark(f->eng) == t + FX_GAP + 1);
	assert_int_equal(f->nout, 1);
	u1 = uid_of(f->eng, "u1");

	/* last + gap belongs to the emitted session: late. */
	assert_int_equal(fx_add(f, "u1", t + FX_GAP, 20000, "share", "1"),
	    ENGINE_LATE);
	assert_int_equal(f->nlate, 1);
	assert_true(f->late_ts == t + FX_GAP);
	assert_string_equal(f->late_reason,
	    "late: belongs to an emitted session");
	sessionizer_sessions(engine_sessionizer(f->eng), u1, &n);
	assert_int_equal(n, 0);
	st = fx_stats(f->eng, u1);
	assert_int_equal(st->sessions, 1);
	assert_int_equal(st->actions, 1);
	assert_int_equal(st->late, 1);
	/* ...but it counts for the DAU of January 2 (00:05 UTC). */
	jan1 = active_find(engine_active(f->eng), 0, PERIOD_DAY,
	    fx_day("2023-01-01"));
	jan2 = active_find(engine_active(f->eng), 0, PERIOD_DAY,
	    fx_day("2023-01-02"));
	assert_null(jan1);
	assert_non_null(jan2);
	assert_true(pset_contains(jan2, u1));

	/* last + gap + 1 ms: a new session. */
	assert_int_equal(fx_add(f, "u1", t + FX_GAP + 1, 0, "edit", "2"),
	    ENGINE_OK);
	assert_int_equal(f->nlate, 1);
	open = sessionizer_sessions(engine_sessionizer(f->eng), u1, &n);
	assert_int_equal(n, 1);
	assert_true(open[0].start == t + FX_GAP + 1);
	assert_int_equal(open[0].count, 1);

	assert_int_equal(engine_close_all(f->eng), 2);
	assert_int_equal(emitted(f, "u1", 1)->actions, 1);
	assert_string_equal(emitted(f, "u1", 1)->sid, "u1:1672617900001");
	assert_int_equal(fx_stats(f->eng, u1)->sessions, 2);
	fx_free(f);
}

/* ---- metadata ---- */

/* The country a user is counted under on a day (zone 0), "-" if absent. */
static const char *
day_country(const struct fx *f, const char *day, const char *user)
{
	static char buf[32];
	struct pset *s = active_find(engine_active(f->eng), 0, PERIOD_DAY,
	    fx_day(day));
	uint32_t uid = uid_of(f->eng, user);
	const struct pentry *e;
	size_t n, i;

	if (s == NULL)
		return "-";
	e = pset_entries(s, &n);
	for (i = 0; i < n; i++) {
		if (e[i].uid == uid) {
			struct strv v = meta_value(f->meta, DIM_COUNTRY,
			    pset_entry_codes(s, &e[i])[DIM_COUNTRY]);

			snprintf(buf, sizeof buf, "%.*s", (int)v.len, v.p);
			return buf;
		}
	}
	return "-";
}

static struct event
mk_event(const char *user, const char *at)
{
	struct event ev = { 0 };

	ev.user_id = strv_c(user);
	ev.ts_ms = fx_ms(at);
	ev.action_type = STRV("edit");
	ev.page_id = STRV("p1");
	ev.duration_ms = 20000;
	ev.app_version = STRV("1");
	return ev;
}

/*
 * The engine caches each user's metadata until the table changes: every
 * change (upsert, new value, tombstone) reaches the next period the user
 * is counted in, through engine_add and engine_add_batch alike, and a
 * closing session reports the metadata current at close.
 */
static void
metadata_changes_reach_cached_users(void **state)
{
	struct fx *f = fx_new(&live);
	struct event b[3];

	(void)state;
	fx_add(f, "u1", fx_ms("2023-03-01T10:00:00Z"), 20000, "edit", "1");
	fx_meta(f->meta, "u1", 19000, "US", "iOS", "free");
	b[0] = mk_event("u2", "2023-03-02T10:00:00Z");
	b[1] = mk_event("u1", "2023-03-02T10:00:00Z");
	b[2] = mk_event("u1", "2023-03-02T10:01:00Z");
	engine_add_batch(f->eng, b, 3, 0);
	fx_meta(f->meta, "u1", 19000, "DE", "iOS", "free");
	b[0] = mk_event("u1", "2023-03-03T10:00:00Z");
	engine_add_batch(f->eng, b, 1, 0);
	fx_tombstone(f->meta, "u1");
	fx_add(f, "u1", fx_ms("2023-03-04T10:00:00Z"), 20000, "edit", "1");
	fx_meta(f->meta, "u2", 19000, "FR", "Web", "free");
	fx_add(f, "u2", fx_ms("2023-03-04T10:00:00Z"), 20000, "edit", "1");

	assert_string_equal(day_country(f, "2023-03-01", "u1"), "unknown");
	assert_string_equal(day_country(f, "2023-03-02", "u1"), "US");
	assert_string_equal(day_country(f, "2023-03-02", "u2"), "unknown");
	assert_string_equal(day_country(f, "2023-03-03", "u1"), "DE");
	assert_string_equal(day_country(f, "2023-03-03", "u2"), "-");
	assert_string_equal(day_country(f, "2023-03-04", "u1"), "unknown");
	assert_string_equal(day_country(f, "2023-03-04", "u2"), "FR");
	assert_int_equal(pset_dim_count(active_find(engine_active(f->eng), 0,
	    PERIOD_DAY, fx_day("2023-03-02")), DIM_COUNTRY, 0), 1);

	assert_int_equal(engine_close_all(f->eng), 6);
	assert_false(emitted(f, "u1", 0)->has_meta);
	assert_int_equal(emitted(f, "u1", 1)->actions, 2);
	assert_true(emitted(f, "u2", 0)->has_meta);
	assert_string_equal(emitted(f, "u2", 1)->dims[DIM_COUNTRY], "FR");
	fx_free(f);
}

/* ---- write-behind: dirty users and user records ---- */

/*
 * A user committed with no session open waits for gap + grace of event
 * time after its session closed (last start + 2 gap + grace) before it is
 * packed; one that comes back meanwhile stays whole.
 */
static void
committed_users_cool_before_going_cold(void **state)
{
	struct fx *f = fx_new(&live);
	int64_t t = FX_T0;
	struct user_stats st;

	(void)state;
	fx_add(f, "a", t, 0, "edit", "1");
	fx_add(f, "b", t, 0, "edit", "1");
	fx_add(f, "clock", t + FX_GAP + FX_GRACE + 1, 0, "edit", "1");
	assert_int_equal(engine_advance(f->eng, 0), 2);	/* a, b */
	engine_clear_dirty(f->eng);
	/* The watermark (t + gap + 1 ms) is not past t + 2 gap + grace. */
	assert_int_equal(engine_hot_users(f->eng), 3);
	assert_int_equal(fx_add(f, "b", t + 2 * FX_GAP, 0, "edit", "1"),
	    ENGINE_OK);
	/* Watermark t + 2 gap + grace + 1 ms: a's time has come. */
	fx_add(f, "clock", t + 2 * FX_GAP + 2 * FX_GRACE + 1, 0, "edit", "1");
	assert_int_equal(engine_advance(f->eng, 0), 0);
	engine_clear_dirty(f->eng);
	assert_int_equal(engine_hot_users(f->eng), 2);	/* b, clock */
	assert_true(engine_user_stats(f->eng, uid_of(f->eng, "a"), &st));
	assert_int_equal(st.sessions, 1);
	assert_true(st.last_seen == t);
	fx_free(f);
}

/*
 * A commit (engine_clear_dirty) packs the users without open sessions;
 * their next event or closed session brings them back whole. 5000 users
 * with one session a day for four days, each day closed and committed:
 * only the user with a session open stays whole, every statistic is
 * exact after each day, and the arena, rewritten once more than half of
 * it is records of users that came back (after the third day), is then
 * smaller than after the second. The late rule reads a packed user's
 * last session.
 */
static void
idle_users_go_cold_and_come_back(void **state)
{
	enum { N = 5000, DAYS = 4 };
	const int64_t day = 86400000;
	struct fx *f = fx_new(&live);
	struct engine_cb cb = { NULL, NULL, NULL };
	struct engine *g = engine_new(&f->conf, f->meta, &cb);
	size_t part[ENGINE_MEM_COUNT], users_mem[DAYS], i, c;
	struct user_stats st;
	char name[16];

	(void)state;
	for (c = 0; c < DAYS; c++) {
		int64_t base = FX_T0 + (int64_t)c * day;

		for (i = 0; i < N; i++) {
			snprintf(name, sizeof name, "u%zu", i);
			assert_int_equal(fx_add_to(g, name, base + (int64_t)i,
			    1000, "edit", "1", 0), ENGINE_OK);
		}
		/* Half a day later: every session of the day is due (and
		 * the clock user's of the day before). */
		fx_add_to(g, "clock", base + day / 2, 0, "edit", "1", 0);
		assert_int_equal(engine_advance(g, 0), c == 0 ? N : N + 1);
		assert_int_equal(engine_hot_users(g), N + 1);
		engine_clear_dirty(g);
		assert_int_equal(engine_hot_users(g), 1);
		for (i = 0; i < N; i++) {
			snprintf(name, sizeof name, "u%zu", i);
			assert_true(engine_user_stats(g, uid_of(g, name), &st));
			assert_int_equal(st.sessions, c + 1);
			assert_int_equal(st.actions, c + 1);
			assert_int_equal(st.duration_ms, (c + 1) * 1000);
			assert_true(st.first_seen == FX_T0 + (int64_t)i);
			assert_true(st.last_seen == base + (int64_t)i);
			assert_int_equal(st.late, 0);
		}
		engine_memory_parts(g, part);
		users_mem[c] = part[ENGINE_MEM_USERS];
	}
	assert_true(users_mem[2] < users_mem[1]);

	/* u7's last session started at day 3 + 7 ms: within the gap after
	 * it is late, and only counted. */
	assert_int_equal(fx_add_to(g, "u7", FX_T0 + 3 * day + 7 + FX_GAP, 0,
	    "edit", "1", 0), ENGINE_LATE);
	assert_int_equal(engine_hot_users(g), 2);
	engine_clear_dirty(g);
	assert_int_equal(engine_hot_users(g), 1);
	assert_true(engine_user_stats(g, uid_of(g, "u7"), &st));
	assert_int_equal(st.sessions, DAYS);
	assert_int_equal(st.late, 1);
	engine_free(g);

	/* A user back from cold looks its metadata up again. */
	fx_meta(f->meta, "m1", 19000, "US", "iOS", "free");
	fx_add(f, "m1", fx_ms("2023-03-01T10:00:00Z"), 20000, "edit", "1");
	fx_add(f, "clock", fx_ms("2023-03-01T12:00:00Z"), 0, "edit", "1");
	assert_int_equal(engine_advance(f->eng, 0), 1);
	engine_clear_dirty(f->eng);
	assert_int_equal(engine_hot_users(f->eng), 1);
	fx_add(f, "m1", fx_ms("2023-03-02T10:00:00Z"), 20000, "edit", "1");
	assert_string_equal(day_country(f, "2023-03-01", "m1"), "US");
	assert_string_equal(day_country(f, "2023-03-02", "m1"), "US");
	assert_int_equal(engine_close_all(f->eng), 2);
	assert_true(emitted(f, "m1", 1)->has_meta);
	assert_string_equal(emitted(f, "m1", 1)->dims[DIM_COUNTRY], "US");
	fx_free(f);
}

static void
assert_dirty(const struct engine *g, const uint32_t *want, size_t nwant)
{
	size_t n, i;
	const uint32_t *d = engine_dirty_users(g, &n);

	assert_int_equal(n, nwant);
	for (i = 0; i < n; i++)
		assert_int_equal(d[i], want[i]);
}

static void
dirty_users_track_changes(void **state)
{
	struct fx *f = fx_new(&live);
	uint32_t u1, u9;

	(void)state;
	assert_dirty(f->eng, NULL, 0);
	fx_add(f, "u1", FX_T0, 1000, "edit", "1");
	fx_add(f, "u1", FX_T0 + FX_MIN, 1000, "edit", "1");
	fx_add(f, "u9", FX_T0 + 30 * FX_MIN, 1000, "edit", "1");
	u1 = uid_of(f->eng, "u1");
	u9 = uid_of(f->eng, "u9");
	assert_dirty(f->eng, (uint32_t[]){ u1, u9 }, 2);
	engine_clear_dirty(f->eng);
	assert_dirty(f->eng, NULL, 0);
	/* Closing a session dirties its user. */
	assert_int_equal(engine_advance(f->eng, 0), 1);
	assert_dirty(f->eng, (uint32_t[]){ u1 }, 1);
	engine_clear_dirty(f->eng);
	fx_add(f, "u9", FX_T0 + 31 * FX_MIN, 1000, "edit", "1");
	fx_add(f, "u1", FX_T0 + 40 * FX_MIN, 1000, "edit", "1");
	fx_add(f, "u9", FX_T0 + 32 * FX_MIN, 1000, "edit", "1");
	assert_dirty(f->eng, (uint32_t[]){ u9, u1 }, 2);
	fx_free(f);
}

static uint8_t *
encode_user(const struct engine *g, const char *user, size_t *len)
{
	struct enc e;

	enc_init(&e);
	engine_encode_user(g, uid_of(g, user), &e);
	return enc_take(&e, len);
}

static void
user_record_round_trip(void **state)
{
	struct fx *f = fx_new(&live);
	struct engine *g2;
	uint8_t *rec, *rec2;
	size_t len, len2, i;
	const struct user_stats *a, *b;
	char long_id[EVENT_USER_ID_MAX + 2];

	(void)state;
	/* u1: a closed session and an open one of two action types. */
	fx_add(f, "u1", FX_T0, 1000, "edit", "1.0");
	fx_add(f, "u1", FX_T0 + FX_MIN, 2000, "page_view", "1.1");
	fx_add(f, "u9", FX_T0 + 30 * FX_MIN, 1000, "edit", "1");
	assert_int_equal(engine_advance(f->eng, 0), 1);
	fx_add(f, "u1", FX_T0 + 40 * FX_MIN, 500, "create", "1.2");
	fx_add(f, "u1", FX_T0 + 41 * FX_MIN, 20000, "edit", "1.3");
	assert_int_equal(fx_add(f, "u1", FX_T0 + 5 * FX_MIN, 0, "edit", "1"),
	    ENGINE_LATE);
	rec = encode_user(f->eng, "u1", &len);

	g2 = fx_engine_like(f);
	fx_add_to(g2, "other", FX_T0, 0, "x", "y", 0);	/* ids differ */
	assert_int_equal(engine_decode_user(g2, STRV("u1"), rec, len), 0);
	a = fx_stats(f->eng, uid_of(f->eng, "u1"));
	b = fx_stats(g2, uid_of(g2, "u1"));
	assert_non_null(b);
	assert_memory_equal(a, b, sizeof *a);
	assert_int_equal(b->sessions, 1);
	assert_int_equal(b->late, 1);
	rec2 = encode_user(g2, "u1", &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(rec2, rec, len);
	/* Loading a user with open sessions twice is refused. */
	assert_int_equal(engine_decode_user(g2, STRV("u1"), rec, len), -1);

	/* The restored state applies the late rule the same way. */
	assert_int_equal(fx_add_to(g2, "u1", FX_T0 + FX_MIN + FX_GAP, 0,
	    "edit", "1", 0), ENGINE_LATE);
	assert_int_equal(fx_add_to(f->eng, "u1", FX_T0 + FX_MIN + FX_GAP, 0,
	    "edit", "1", 0), ENGINE_LATE);

	/* Both close the same open session. */
	f->nout = 0;
	assert_int_equal(engine_close_all(f->eng), 2);	/* u1, u9 */
	assert_int_equal(engine_close_all(g2), 2);	/* u1, other */
	assert_int_equal(f->nout, 4);
	{
		const struct fx_session *s1 = emitted(f, "u1", 0);
		const struct fx_session *s2 = emitted(f, "u1", 1);

		assert_memory_equal(s1, s2, sizeof *s1);
		assert_string_equal(s1->types, "create:1,edit:1");
		assert_true(s1->end == FX_T0 + 41 * FX_MIN + 20000);
	}
	assert_memory_equal(fx_stats(f->eng, uid_of(f->eng, "u1")),
	    fx_stats(g2, uid_of(g2, "u1")), sizeof *a);

	/* Every strict prefix and a trailing byte are rejected. */
	for (i = 0; i <= len; i++) {
		struct engine *g3 = fx_engine_like(f);
		uint8_t *buf = xmalloc(len + 1);

		memcpy(buf, rec, len);
		buf[len] = 0;
		if (engine_decode_user(g3, STRV("u1"), buf,
		    i < len ? i : len + 1) != -1)
			fail_msg("user record of %zu bytes (of %zu) accepted",
			    i < len ? i : len + 1, len);
		free(buf);
		engine_free(g3);
	}
	/* Bad user ids. */
	memset(long_id, 'x', sizeof long_id - 1);
	long_id[sizeof long_id - 1] = '\0';
	engine_free(g2);
	g2 = fx_engine_like(f);
	assert_int_equal(engine_decode_user(g2, STRV(""), rec, len), -1);
	assert_int_equal(engine_decode_user(g2, strv_c(long_id), rec, len),
	    -1);
	assert_int_equal(engine_user_count(g2), 0);
	free(rec);
	free(rec2);
	engine_free(g2);
	fx_free(f);
}

/* ---- write-behind: period sets ---- */

/* Same users, counts per value (by string), and sketches. */
static void
assert_pset_same(const struct engine *ga, const struct meta *ma,
    const struct pset *sa, const struct engine *gb, struct meta *mb,
    const struct pset *sb)
{
	const struct pentry *ent;
	size_t n, i;
	int d;

	assert_non_null(sb);
	assert_int_equal(pset_count(sb), pset_count(sa));
	assert_true(hll_equal(pset_hll(sa), pset_hll(sb)));
	ent = pset_entries(sa, &n);
	for (i = 0; i < n; i++) {
		uint32_t ub = engine_user_find(gb, engine_user_name(ga,
		    ent[i].uid));

		assert_int_not_equal(ub, STRDICT_NONE);
		assert_true(pset_contains(sb, ub));
	}
	for (d = 0; d < DIM_COUNT; d++) {
		uint16_t c;

		for (c = 0; c < pset_codes(sa, (enum dim)d); c++) {
			struct strv v = meta_value(ma, (enum dim)d, c);
			uint16_t cb = meta_code(mb, (enum dim)d, v);
			const struct hll *ha = pset_dim_hll(sa, (enum dim)d, c);
			const struct hll *hb = pset_dim_hll(sb, (enum dim)d, cb);

			assert_int_equal(pset_dim_count(sb, (enum dim)d, cb),
			    pset_dim_count(sa, (enum dim)d, c));
			if (ha == NULL)
				assert_null(hb);
			else
				assert_true(hb != NULL && hll_equal(ha, hb));
		}
	}
}

static uint8_t *
encode_delta(const struct engine *g, struct pset *s, size_t *len,
    size_t want_upto)
{
	struct enc e;

	enc_init(&e);
	assert_int_equal(engine_encode_pset_delta(g, s, &e), want_upto);
	pset_set_committed(s, want_upto);
	return enc_take(&e, len);
}

static void
pset_delta_round_trip_in_two_chunks(void **state)
{
	struct fx *f = fx_new(&hold_open);
	struct meta *mb = meta_new();
	struct engine *gb, *gc;
	int32_t day = fx_day("2023-01-05");
	int64_t t = fx_ms("2023-01-05T12:00:00Z");
	struct pset *sa, *sb, *sc;
	uint8_t *c1, *c2;
	size_t l1, l2;

	(void)state;
	/* The second engine's metadata assigns other codes. */
	meta_code(mb, DIM_COUNTRY, STRV("FR"));
	meta_code(mb, DIM_COUNTRY, STRV("DE"));
	meta_code(mb, DIM_DEVICE_TYPE, STRV("Web"));
	gb = engine_new(&f->conf, mb, &f->cb);
	gc = engine_new(&f->conf, mb, &f->cb);
	fx_meta(f->meta, "u1", 19000, "US", "iOS", "free");
	fx_meta(f->meta, "u2", 19000, "DE", "Android", "premium");
	fx_meta(f->meta, "u4", 19000, "US", "Web", "free");
	fx_add(f, "u1", t, 20000, "edit", "1");
	fx_add(f, "u2", t, 20000, "edit", "1");
	fx_add(f, "u3", t, 20000, "edit", "1");		/* no metadata */
	fx_add(f, "u9", t, 5000, "edit", "1");		/* not active */
	sa = active_find(engine_active(f->eng), 0, PERIOD_DAY, day);
	assert_int_equal(pset_count(sa), 3);

	c1 = encode_delta(f->eng, sa, &l1, 3);
	assert_int_equal(engine_decode_pset_chunk(gb, 0, PERIOD_DAY, day, c1,
	    l1), 0);
	sb = active_find(engine_active(gb), 0, PERIOD_DAY, day);
	assert_pset_same(f->eng, f->meta, sa, gb, mb, sb);
	assert_int_equal(pset_committed(sb), 3);
	assert_false(pset_changed(sb));
	assert_int_equal(pset_dim_count(sb, DIM_COUNTRY,
	    meta_code(mb, DIM_COUNTRY, STRV("US"))), 1);
	assert_int_equal(pset_dim_count(sb, DIM_COUNTRY, META_UNKNOWN), 1);

	/* More users, and one already counted. */
	fx_add(f, "u4", t + 1000, 20000, "edit", "1");
	fx_add(f, "u1", t + 2000, 20000, "edit", "1");
	fx_add(f, "u5", t + 3000, 20000, "edit", "1");
	assert_int_equal(pset_count(sa), 5);
	c2 = encode_delta(f->eng, sa, &l2, 5);
	/* The second chunk holds only the two new entries. */
	assert_int_equal(engine_decode_pset_chunk(gc, 0, PERIOD_DAY, day, c2,
	    l2), 0);
	sc = active_find(engine_active(gc), 0, PERIOD_DAY, day);
	assert_int_equal(pset_count(sc), 2);
	assert_true(pset_contains(sc, uid_of(gc, "u4")));
	assert_true(pset_contains(sc, uid_of(gc, "u5")));
	/* Both chunks in order rebuild the set exactly. */
	assert_int_equal(engine_decode_pset_chunk(gb, 0, PERIOD_DAY, day, c2,
	    l2), 0);
	assert_pset_same(f->eng, f->meta, sa, gb, mb, sb);
	assert_int_equal(pset_dim_count(sb, DIM_COUNTRY,
	    meta_code(mb, DIM_COUNTRY, STRV("US"))), 2);
	assert_int_equal(pset_committed(sb), 5);
	/* Nothing new: an empty delta, still decodable. */
	free(c1);
	c1 = encode_delta(f->eng, sa, &l1, 5);
	assert_int_equal(engine_decode_pset_chunk(gb, 0, PERIOD_DAY, day, c1,
	    l1), 0);
	assert_int_equal(pset_count(sb), 5);

	free(c1);
	free(c2);
	engine_free(gb);
	engine_free(gc);
	meta_free(mb);
	fx_free(f);
}

/* ---- clock ---- */

static void
clock_round_trip(void **state)
{
	struct fx *f = fx_new(&live);
	struct engine *g2 = fx_engine_like(f);
	struct enc e;
	size_t i;

	(void)state;
	fx_add(f, "u1", FX_T0, 0, "edit", "1");
	fx_add(f, "u2", FX_T0 - FX_MIN, 0, "edit", "1");
	enc_init(&e);
	engine_encode_clock(f->eng, &e);
	assert_int_equal(engine_decode_clock(g2, e.buf, e.len), 0);
	assert_true(engine_watermark(g2) == FX_T0 - FX_GRACE);
	assert_true(sessionizer_max_ts(engine_sessionizer(g2)) == FX_T0);
	/* Truncated or with a trailing byte: rejected. */
	enc_u8(&e, 0);
	for (i = 0; i < e.len; i++)
		if (i != e.len - 1)
			assert_int_equal(engine_decode_clock(g2, e.buf, i), -1);
	assert_int_equal(engine_decode_clock(g2, e.buf, e.len), -1);
	enc_free(&e);
	engine_free(g2);
	fx_free(f);
}

/* ---- garbage ---- */

/* An engine that emits nothing: garbage may decode to many sessions. */
static struct engine *
quiet_engine(const struct fx *f)
{
	static const struct engine_cb none = { NULL, NULL, NULL };

	return engine_new(&f->conf, f->meta, &none);
}

static void
decoders_reject_garbage(void **state)
{
	static const uint8_t wrong_version[] = { 2, 0, 0, 0, 0, 0, 0, 0 };
	struct fx *f = fx_new(&hold_open);
	struct engine *g = fx_engine_like(f);
	uint8_t *rec, *chunk, buf[64];
	size_t rlen, clen, i, bit;
	uint64_t seed = 7;
	struct pset *s;

	(void)state;
	assert_int_equal(engine_decode_user(g, STRV("u"), wrong_version,
	    sizeof wrong_version), -1);
	assert_int_equal(engine_decode_pset_chunk(g, 0, PERIOD_DAY, 1,
	    wrong_version, sizeof wrong_version), -1);
	assert_int_equal(engine_decode_clock(g, wrong_version,
	    sizeof wrong_version), -1);
	assert_int_equal(engine_decode_user(g, STRV("u"), NULL, 0), -1);
	assert_int_equal(engine_decode_pset_chunk(g, 0, PERIOD_DAY, 1, NULL,
	    0), -1);
	assert_int_equal(engine_decode_clock(g, NULL, 0), -1);

	/* Valid records to mutate one bit at a time. */
	fx_meta(f->meta, "u1", 19000, "US", "iOS", "free");
	fx_add(f, "u1", FX_T0, 20000, "edit", "1.0");
	fx_add(f, "u1", FX_T0 + FX_MIN, 20000, "page_view", "1.1");
	fx_add(f, "u2", FX_T0, 20000, "edit", "1.0");
	rec = encode_user(f->eng, "u1", &rlen);
	s = active_find(engine_active(f->eng), 0, PERIOD_DAY,
	    fx_day("2023-01-01"));
	chunk = encode_delta(f->eng, s, &clen, 2);
	for (i = 0; i < rlen + clen; i++) {
		for (bit = 0; bit < 8; bit++) {
			struct engine *h = quiet_engine(f);
			uint8_t *p = i < rlen ? rec : chunk;
			size_t at = i < rlen ? i : i - rlen;

			p[at] ^= (uint8_t)(1u << bit);
			if (i < rlen)
				(void)engine_decode_user(h, STRV("u1"), rec,
				    rlen);
			else
				(void)engine_decode_pset_chunk(h, 0,
				    PERIOD_DAY, 1, chunk, clen);
			(void)engine_decode_clock(h, p, i < rlen ? rlen : clen);
			engine_close_all(h);
			p[at] ^= (uint8_t)(1u << bit);
			engine_free(h);
		}
	}
	/* Random bytes behind each valid version byte. */
	for (i = 0; i < 5000; i++) {
		struct engine *h = quiet_engine(f);
		size_t len = 1 + i % (sizeof buf - 1);

		fx_random_bytes(&seed, buf, sizeof buf);
		buf[0] = 1;
		(void)engine_decode_user(h, STRV("r"), buf, len);
		(void)engine_decode_pset_chunk(h, (int)(i % 3) - 1,
		    (enum period_kind)(i % 2), 19000, buf, len);
		(void)engine_decode_clock(h, buf, len);
		engine_close_all(h);
		engine_free(h);
	}
	free(rec);
	free(chunk);
	engine_free(g);
	fx_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(session_record_fields),
		cmocka_unit_test(session_end_modes),
		cmocka_unit_test(user_stats_exact),
		cmocka_unit_test(late_event_counts_for_dau_only),
		cmocka_unit_test(metadata_changes_reach_cached_users),
		cmocka_unit_test(dirty_users_track_changes),
		cmocka_unit_test(idle_users_go_cold_and_come_back),
		cmocka_unit_test(committed_users_cool_before_going_cold),
		cmocka_unit_test(user_record_round_trip),
		cmocka_unit_test(pset_delta_round_trip_in_two_chunks),
		cmocka_unit_test(clock_round_trip),
		cmocka_unit_test(decoders_reject_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
