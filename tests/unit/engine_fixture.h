/*
 * engine_fixture.h: setup shared by the unit tests of the engine modules
 * (test_sessionizer, test_active, test_engine).
 *
 * UTC instants and local periods from text, so that expected values read
 * as dates; and an engine whose emitted sessions and late events are
 * copied, as strings, into arrays the tests compare exactly. Include it
 * after cmocka.h. Everything is static inline so that a test file that
 * uses only part of it compiles without unused-function warnings.
 */
#ifndef AD_TEST_ENGINE_FIXTURE_H
#define AD_TEST_ENGINE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "meta.h"
#include "tzcal.h"
#include "xmalloc.h"

#define FX_T0		1672531200000LL		/* 2023-01-01T00:00:00Z */
#define FX_MIN		60000LL
#define FX_GAP		(10 * FX_MIN)
#define FX_GRACE	(5 * FX_MIN)
#define FX_MAX_OUT	64

/* "2023-03-12T04:30:00Z" (fraction optional) -> UTC epoch ms. */
static inline int64_t
fx_ms(const char *iso)
{
	int64_t ms;

	if (tzcal_parse_utc_timestamp(iso, strlen(iso), &ms) != 0)
		fail_msg("bad timestamp in test: %s", iso);
	return ms;
}

/* "2023-03-12" (a day index) or "2023-03" (a month index). */
static inline int32_t
fx_period(bool month, const char *text)
{
	int32_t p;

	if ((month ? tzcal_parse_month(text, &p) :
	    tzcal_parse_day(text, &p)) != 0)
		fail_msg("bad period in test: %s", text);
	return p;
}

#define fx_day(text)	fx_period(false, text)
#define fx_month(text)	fx_period(true, text)

static inline struct tzcal *
fx_zone(const char *name)
{
	char *cause = NULL;
	struct tzcal *tz = tzcal_open(name, &cause);

	if (tz == NULL)
		fail_msg("tzcal_open %s: %s", name, cause);
	return tz;
}

static inline void
fx_strv_copy(char *dst, size_t cap, struct strv s)
{
	snprintf(dst, cap, "%.*s", (int)s.len, s.len ? s.p : "");
}

/* A session as emitted, with every string copied. */
struct fx_session {
	char     user[EVENT_USER_ID_MAX + 1];
	char     sid[SESSION_ID_MAX + 1];
	int64_t  start, end, duration;
	uint64_t actions;
	char     types[256];		/* "create:1,edit:2", as emitted */
	char     first_ver[32], last_ver[32];
	bool     has_meta;
	int32_t  join_date;
	char     dims[DIM_COUNT][32];
	bool     dim_null[DIM_COUNT];	/* view with a NULL pointer */
};

struct fx_opts {
	bool        hold_open;
	bool        end_last_start;
	bool        span;
	int64_t     idle_close_ms;
	const char *zones[ACTIVE_MAX_ZONES];	/* NULL-terminated; none: UTC */
};

struct fx {
	struct tzcal      *tz[ACTIVE_MAX_ZONES];
	size_t             ntz;
	struct meta       *meta;
	struct engine_conf conf;
	struct engine_cb   cb;
	struct engine     *eng;
	struct fx_session  out[FX_MAX_OUT];
	size_t             nout;
	size_t             nlate;
	int64_t            late_ts;
	char               late_reason[64];
};

static inline void
fx_on_session(void *arg, const struct session_out *o)
{
	struct fx *f = arg;
	struct fx_session *s;
	size_t i, used = 0;
	int d;

	if (f->nout == FX_MAX_OUT)
		fail_msg("more than %d sessions emitted", FX_MAX_OUT);
	s = &f->out[f->nout++];
	memset(s, 0, sizeof *s);
	fx_strv_copy(s->user, sizeof s->user, o->user_id);
	fx_strv_copy(s->sid, sizeof s->sid, o->session_id);
	s->start = o->start_ms;
	s->end = o->end_ms;
	s->duration = o->duration_ms;
	s->actions = o->actions;
	for (i = 0; i < o->n_types; i++)
		used += (size_t)snprintf(s->types + used, sizeof s->types - used,
		    "%s%.*s:%llu", i ? "," : "", (int)o->per_type[i].type.len,
		    o->per_type[i].type.p,
		    (unsigned long long)o->per_type[i].count);
	fx_strv_copy(s->first_ver, sizeof s->first_ver, o->first_app_version);
	fx_strv_copy(s->last_ver, sizeof s->last_ver, o->last_app_version);
	s->has_meta = o->has_meta;
	s->join_date = o->join_date;
	for (d = 0; d < DIM_COUNT; d++) {
		s->dim_null[d] = o->dims[d].p == NULL;
		fx_strv_copy(s->dims[d], sizeof s->dims[d], o->dims[d]);
	}
}

static inline void
fx_on_late(void *arg, const struct event *ev, const char *reason)
{
	struct fx *f = arg;

	f->nlate++;
	f->late_ts = ev->ts_ms;
	snprintf(f->late_reason, sizeof f->late_reason, "%s", reason);
}

/* Gap 10 min, grace 5 min, active bounds 10 s .. 4 h, all dimensions. */
static inline struct fx *
fx_new(const struct fx_opts *o)
{
	struct fx *f = xcalloc(1, sizeof *f);

	while (f->ntz < ACTIVE_MAX_ZONES && o->zones[f->ntz] != NULL) {
		f->tz[f->ntz] = fx_zone(o->zones[f->ntz]);
		f->ntz++;
	}
	if (f->ntz == 0)
		f->tz[f->ntz++] = fx_zone("UTC");
	f->meta = meta_new();
	f->conf.sess.gap_ms = FX_GAP;
	f->conf.sess.grace_ms = FX_GRACE;
	f->conf.sess.idle_close_ms = o->idle_close_ms;
	f->conf.sess.hold_open = o->hold_open;
	f->conf.end_last_start = o->end_last_start;
	f->conf.act.zones = f->tz;
	f->conf.act.n_zones = f->ntz;
	f->conf.act.span = o->span;
	f->conf.act.min_ms = 10000;
	f->conf.act.max_ms = 14400000;
	f->conf.act.hll_precision = 14;
	f->conf.act.dims_mask = (1u << DIM_COUNT) - 1;
	f->cb = (struct engine_cb){ fx_on_session, fx_on_late, f };
	f->eng = engine_new(&f->conf, f->meta, &f->cb);
	return f;
}

/* Another engine with the same configuration, metadata and callbacks. */
static inline struct engine *
fx_engine_like(struct fx *f)
{
	return engine_new(&f->conf, f->meta, &f->cb);
}

/*
 * engine_user_stats as a pointer (NULL without statistics), into one of
 * four buffers used in turn, so that an assertion can compare two.
 */
static inline const struct user_stats *
fx_stats(const struct engine *g, uint32_t uid)
{
	static struct user_stats buf[4];
	static unsigned next;
	struct user_stats *st = &buf[next++ % 4];

	return engine_user_stats(g, uid, st) ? st : NULL;
}

static inline void
fx_free(struct fx *f)
{
	size_t i;

	engine_free(f->eng);
	meta_free(f->meta);
	for (i = 0; i < f->ntz; i++)
		tzcal_free(f->tz[i]);
	free(f);
}

static inline enum engine_result
fx_add_to(struct engine *g, const char *user, int64_t ts, int64_t dur,
    const char *type, const char *ver, int64_t now)
{
	struct event ev = { 0 };
	const char *reason = NULL;

	ev.user_id = strv_c(user);
	ev.ts_ms = ts;
	ev.action_type = strv_c(type);
	ev.page_id = STRV("p1");
	ev.duration_ms = dur;
	ev.app_version = strv_c(ver);
	if (!event_validate(&ev, &reason))
		fail_msg("invalid test event: %s", reason);
	return engine_add(g, &ev, now);
}

static inline enum engine_result
fx_add(struct fx *f, const char *user, int64_t ts, int64_t dur,
    const char *type, const char *ver)
{
	return fx_add_to(f->eng, user, ts, dur, type, ver, 0);
}

static inline void
fx_meta(struct meta *m, const char *user, int32_t join_date,
    const char *country, const char *device, const char *sub)
{
	struct meta_rec r = { 0 };

	r.user_id = strv_c(user);
	r.join_date = join_date;
	r.dims[DIM_COUNTRY] = strv_c(country);
	r.dims[DIM_DEVICE_TYPE] = strv_c(device);
	r.dims[DIM_SUBSCRIPTION_TYPE] = strv_c(sub);
	meta_apply(m, &r);
}

static inline void
fx_tombstone(struct meta *m, const char *user)
{
	struct meta_rec r = { 0 };

	r.user_id = strv_c(user);
	r.tombstone = true;
	meta_apply(m, &r);
}

/* splitmix64: a seeded stream of test data. */
static inline uint64_t
fx_rng(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static inline void
fx_random_bytes(uint64_t *state, uint8_t *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = (uint8_t)fx_rng(state);
}

#endif
