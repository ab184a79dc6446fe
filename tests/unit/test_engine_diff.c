/*
 * Differential test of the engine against a deliberately naive reference.
 *
 * A seeded random stream (>100k events: 15k users over two windows that
 * hold the 2023 DST changes of New York and London, follow-up events at
 * and around the exact gap, active-bound durations, midnight crossings, a
 * hot user with 10k events and tied timestamps, odd but valid user ids) is
 * fed to per-partition engines in several orders. The reference sorts each
 * user's events and scans them; it finds local days with the C library's
 * tz database (localtime_r), not with ICU as the engine does, and finds
 * the days an event spans by walking its interval hour by hour.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "engine.h"
#include "hll.h"
#include "meta.h"
#include "rollup.h"
#include "tzcal.h"

#define NUSERS		15000
#define NREGULAR	110000
#define NHOT		10000
#define NPART		4
#define GAP		(10 * 60 * 1000LL)
#define GRACE		(5 * 60 * 1000LL)
#define NZONES		3
#define MAXTYPES	8

static const char *zones[NZONES] = { "UTC", "America/New_York",
	"Europe/London" };
static const char *types[] = { "page_view", "edit", "create", "delete",
	"share", "odd type, with comma" };
#define NTYPES (sizeof types / sizeof types[0])
static const char *countries[] = { "US", "UK", "CA", "AU", "DE", "FR", "JP",
	"IN", "BR", "MX" };

struct tev {
	uint32_t user;
	int64_t  ts;
	int64_t  dur;
	uint8_t  type;
	uint16_t ver;
};

static char    (*names)[140];
static int      *user_country;	/* -1: no metadata */
static struct tev *evs;
static size_t    nevs;

/* ---- seeded generator ---- */

static uint64_t rng_state;

static uint64_t
rng(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static int64_t
rng_range(int64_t lo, int64_t hi)	/* inclusive */
{
	return lo + (int64_t)(rng() % (uint64_t)(hi - lo + 1));
}

static int64_t
utc_ms(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { 0 };

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	return (int64_t)timegm(&tm) * 1000;
}

static void
version_name(uint16_t v, char *buf)
{
	sprintf(buf, "%d.%d.%d", 5 + v / 100, (v / 10) % 10, v % 10);
}

static int64_t
pick_duration(void)
{
	static const int64_t edges[] = { 0, 10000, 10001, 14399999, 14400000,
		14400001, 9999 };
	uint64_t r = rng() % 100;

	if (r < 10)
		return edges[rng() % (sizeof edges / sizeof edges[0])];
	if (r < 15)
		return rng_range(0, 5 * 3600 * 1000LL);
	return rng_range(100, 300000);
}

static void
generate(uint64_t seed)
{
	int64_t w[2][2] = {
		{ utc_ms(2023, 3, 1, 0, 0), utc_ms(2023, 4, 5, 0, 0) },
		{ utc_ms(2023, 10, 25, 0, 0), utc_ms(2023, 11, 10, 0, 0) },
	};
	int64_t *prev;
	size_t i;
	uint32_t u;

	rng_state = seed;
	names = calloc(NUSERS + 1, sizeof *names);
	user_country = calloc(NUSERS + 1, sizeof *user_country);
	prev = calloc(NUSERS + 1, sizeof *prev);
	for (u = 0; u < NUSERS; u++) {
		switch (u % 500) {
		case 7:	/* 128 bytes, the longest valid id */
			memset(names[u], 'x', 128);
			sprintf(names[u] + 118, "%010u", u);
			break;
		case 8:	/* UTF-8, quotes and separators */
			sprintf(names[u], "\xc3\xa9l\xc3\xa8ve \"%u\",|:", u);
			break;
		default:
			sprintf(names[u], "r%05u", u);
		}
		user_country[u] = rng() % 10 < 7 ? (int)(rng() % 10) : -1;
	}
	strcpy(names[NUSERS], "hot");
	user_country[NUSERS] = 0;

	evs = calloc(NREGULAR + NHOT, sizeof *evs);
	for (i = 0; i < NREGULAR; i++) {
		struct tev *e = &evs[nevs++];
		uint64_t r = rng() % 100;

		e->user = (uint32_t)(rng() % NUSERS);
		if (prev[e->user] != 0 && r < 30) {
			/* Follow-ups: around and exactly at the gap. */
			int64_t d = r < 3 ? GAP : r < 6 ? GAP + 1 :
			    rng_range(0, 12 * 60 * 1000);

			e->ts = prev[e->user] + d;
		} else if (r < 36) {
			/* Just before a local or UTC midnight. */
			int k = (int)(rng() % 2);
			int64_t day = rng_range(w[k][0], w[k][1]) / 86400000;

			e->ts = day * 86400000 + rng_range(-6, 1) * 3600000 -
			    rng_range(1, 600000);
		} else {
			int k = (int)(rng() % 2);

			e->ts = rng_range(w[k][0], w[k][1]);
		}
		prev[e->user] = e->ts;
		e->dur = pick_duration();
		e->type = (uint8_t)(rng() % 100 < 2 ? 5 : rng() % 5);
		e->ver = (uint16_t)(rng() % 300);
	}
	/* The hot user: a burst of 10k events over ~5 h, many ties. */
	for (i = 0; i < NHOT; i++) {
		struct tev *e = &evs[nevs++];

		e->user = NUSERS;
		e->ts = utc_ms(2023, 3, 12, 4, 0) + rng_range(0, 5 * 3600) *
		    1000 / 10 * 10;
		e->dur = pick_duration();
		e->type = (uint8_t)(rng() % 5);
		e->ver = (uint16_t)(rng() % 3);
	}
	free(prev);
}

/* ---- the naive reference ---- */

struct rsess {
	uint32_t user;
	int64_t  start, last, end;
	uint64_t count;
	uint64_t per_type[MAXTYPES];
	uint16_t first_ver, last_ver;
};

static struct rsess *rs;
static size_t nrs;

static int
cmp_user_ts(const void *a, const void *b)
{
	const struct tev *x = a, *y = b;
	int c = strcmp(names[x->user], names[y->user]);

	if (c != 0)
		return c;
	return (x->ts > y->ts) - (x->ts < y->ts);
}

static int
ver_cmp(uint16_t a, uint16_t b)
{
	char x[16], y[16];

	version_name(a, x);
	version_name(b, y);
	return strcmp(x, y);
}

static void
reference_sessions(bool end_last_start)
{
	struct tev *s = malloc(nevs * sizeof *s);
	size_t i;

	memcpy(s, evs, nevs * sizeof *s);
	qsort(s, nevs, sizeof *s, cmp_user_ts);
	free(rs);
	rs = calloc(nevs, sizeof *rs);
	nrs = 0;
	for (i = 0; i < nevs; i++) {
		struct rsess *c = nrs ? &rs[nrs - 1] : NULL;

		if (c == NULL || c->user != s[i].user ||
		    s[i].ts - c->last > GAP) {
			c = &rs[nrs++];
			c->user = s[i].user;
			c->start = c->last = s[i].ts;
			c->end = s[i].ts + s[i].dur;
			c->first_ver = c->last_ver = s[i].ver;
		}
		if (s[i].ts == c->start && ver_cmp(s[i].ver, c->first_ver) < 0)
			c->first_ver = s[i].ver;
		if (s[i].ts > c->last ||
		    (s[i].ts == c->last && ver_cmp(s[i].ver, c->last_ver) > 0))
			c->last_ver = s[i].ver;
		c->last = s[i].ts;
		if (s[i].ts + s[i].dur > c->end)
			c->end = s[i].ts + s[i].dur;
		c->count++;
		c->per_type[s[i].type]++;
	}
	if (end_last_start)
		for (i = 0; i < nrs; i++)
			rs[i].end = rs[i].last;
	free(s);
}

static int32_t
ref_local_day(int64_t ms)
{
	time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = 0;
	return (int32_t)(timegm(&tm) / 86400);
}

static int32_t
ref_month(int32_t day)
{
	time_t t = (time_t)day * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	return (tm.tm_year + 1900) * 12 + tm.tm_mon;
}

/* Distinct users per (period) in one zone, and per (period, country). */
struct rcount {
	int32_t  period;
	uint32_t user;
	int      country;
};

static struct rcount *rc[2];
static size_t nrc[2];

static int
cmp_rcount(const void *a, const void *b)
{
	const struct rcount *x = a, *y = b;

	if (x->period != y->period)
		return (x->period > y->period) - (x->period < y->period);
	return (x->user > y->user) - (x->user < y->user);
}

static void
reference_active(const char *zone, bool span)
{
	size_t i, k;

	setenv("TZ", zone, 1);
	tzset();
	for (k = 0; k < 2; k++) {
		free(rc[k]);
		rc[k] = malloc(nevs * 8 * sizeof *rc[k]);
		nrc[k] = 0;
	}
	for (i = 0; i < nevs; i++) {
		const struct tev *e = &evs[i];
		int32_t days[64];
		size_t nd = 0, j;
		int64_t t;

		if (!(e->dur > 10000 && e->dur < 14400000))
			continue;
		if (!span)
			days[nd++] = ref_local_day(e->ts);
		else {
			/* Walk the interval hour by hour, then its end. */
			for (t = e->ts;; t += 3600000) {
				int32_t d = ref_local_day(t < e->ts + e->dur ?
				    t : e->ts + e->dur);

				if (nd == 0 || days[nd - 1] != d)
					days[nd++] = d;
				if (t >= e->ts + e->dur)
					break;
			}
		}
		for (j = 0; j < nd; j++) {
			rc[0][nrc[0]++] = (struct rcount){ days[j], e->user,
			    user_country[e->user] };
			rc[1][nrc[1]++] = (struct rcount){ ref_month(days[j]),
			    e->user, user_country[e->user] };
		}
	}
	for (k = 0; k < 2; k++) {
		size_t out = 0;

		qsort(rc[k], nrc[k], sizeof *rc[k], cmp_rcount);
		for (i = 0; i < nrc[k]; i++)
			if (out == 0 || cmp_rcount(&rc[k][out - 1], &rc[k][i]))
				rc[k][out++] = rc[k][i];
		nrc[k] = out;
	}
	unsetenv("TZ");
	tzset();
}

/* ---- the engine side ---- */

struct gsess {
	char     user[140];
	char     sid[180];
	int64_t  start, end, dur;
	uint64_t count;
	uint64_t per_type[MAXTYPES];
	char     first_ver[16], last_ver[16];
	bool     has_meta;
	char     country[8];
};

static struct gsess *gs;
static size_t ngs;
static size_t nlate;

static void
on_session(void *arg, const struct session_out *o)
{
	struct gsess *g = &gs[ngs++];
	size_t i, t;

	(void)arg;
	memcpy(g->user, o->user_id.p, o->user_id.len);
	g->user[o->user_id.len] = '\0';
	memcpy(g->sid, o->session_id.p, o->session_id.len);
	g->sid[o->session_id.len] = '\0';
	g->start = o->start_ms;
	g->end = o->end_ms;
	g->dur = o->duration_ms;
	g->count = o->actions;
	memset(g->per_type, 0, sizeof g->per_type);
	for (i = 0; i < o->n_types; i++) {
		if (i > 0)	/* sorted by type */
			assert_true(strv_cmp(o->per_type[i - 1].type,
			    o->per_type[i].type) < 0);
		for (t = 0; t < NTYPES; t++)
			if (strv_eq(o->per_type[i].type, strv_c(types[t])))
				g->per_type[t] = o->per_type[i].count;
	}
	snprintf(g->first_ver, sizeof g->first_ver, "%.*s",
	    (int)o->first_app_version.len, o->first_app_version.p);
	snprintf(g->last_ver, sizeof g->last_ver, "%.*s",
	    (int)o->last_app_version.len, o->last_app_version.p);
	g->has_meta = o->has_meta;
	snprintf(g->country, sizeof g->country, "%.*s",
	    (int)o->dims[DIM_COUNTRY].len,
	    o->dims[DIM_COUNTRY].p ? o->dims[DIM_COUNTRY].p : "");
}

static void
on_late(void *arg, const struct event *ev, const char *reason)
{
	(void)arg;
	(void)ev;
	assert_string_equal(reason, "late: belongs to an emitted session");
	nlate++;
}

static struct meta *
load_meta(void)
{
	static const char *dev[] = { "iOS", "Android", "Web" };
	struct meta *m = meta_new();
	uint32_t u;

	for (u = 0; u <= NUSERS; u++) {
		struct meta_rec r = { 0 };

		if (user_country[u] < 0)
			continue;
		r.user_id = strv_c(names[u]);
		r.join_date = 19000 + (int32_t)u % 1000;
		r.dims[DIM_COUNTRY] = strv_c(countries[user_country[u]]);
		r.dims[DIM_DEVICE_TYPE] = strv_c(dev[u % 3]);
		r.dims[DIM_SUBSCRIPTION_TYPE] = STRV("free");
		meta_apply(m, &r);
	}
	return m;
}

static unsigned
partition_of(uint32_t user)
{
	const unsigned char *p = (const unsigned char *)names[user];
	uint32_t h = 2166136261u;

	while (*p)
		h = (h ^ *p++) * 16777619u;
	return h % NPART;
}

struct arrival {
	int64_t  key;
	uint32_t idx;
};

static int
cmp_arrival(const void *a, const void *b)
{
	const struct arrival *x = a, *y = b;

	if (x->key != y->key)
		return (x->key > y->key) - (x->key < y->key);
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static struct tzcal *tzs[NZONES];
static struct engine *eng[NPART];
static struct meta *meta;

struct run {
	bool     hold_open;
	bool     span;
	bool     end_last_start;
	int64_t  jitter;	/* arrival = ts + U(0, jitter); <0: shuffle */
	unsigned late_pct;	/* events with jitter 3 x grace */
	bool     batched;	/* engine_add_batch, 1..BATCH_MAX at a time */
	size_t   commit_every;	/* arrivals between commits; 0: none */
};

#define BATCH_MAX	64

/* Events waiting for engine_add_batch, per partition. */
static struct event pend[NPART][BATCH_MAX];
static char pend_ver[NPART][BATCH_MAX][16];
static size_t npend[NPART], want[NPART];

static void
flush_partition(int p, bool hold_open)
{
	engine_add_batch(eng[p], pend[p], npend[p], 0);
	if (!hold_open)
		engine_advance(eng[p], 0);
	npend[p] = 0;
	want[p] = (size_t)rng_range(1, BATCH_MAX);
}

static void
run_engines(const struct run *r)
{
	struct engine_conf conf = { 0 };
	struct engine_cb cb = { on_session, on_late, NULL };
	struct arrival *order;
	size_t i;
	int p;
	char *cause = NULL;

	for (p = 0; p < NZONES; p++) {
		tzs[p] = tzcal_open(zones[p], &cause);
		assert_non_null(tzs[p]);
	}
	conf.sess.gap_ms = GAP;
	conf.sess.grace_ms = GRACE;
	conf.sess.idle_close_ms = 0;
	conf.sess.hold_open = r->hold_open;
	conf.end_last_start = r->end_last_start;
	conf.act.zones = tzs;
	conf.act.n_zones = NZONES;
	conf.act.span = r->span;
	conf.act.min_ms = 10000;
	conf.act.max_ms = 14400000;
	conf.act.hll_precision = 14;
	conf.act.dims_mask = 7;
	meta = load_meta();
	for (p = 0; p < NPART; p++) {
		eng[p] = engine_new(&conf, meta, &cb);
		npend[p] = 0;
		/* Only batched runs draw: the others keep their order. */
		want[p] = r->batched ? (size_t)rng_range(1, BATCH_MAX) : 0;
	}

	/* Arrival order. */
	order = malloc(nevs * sizeof *order);
	for (i = 0; i < nevs; i++) {
		int64_t j = r->jitter;

		if (r->late_pct && rng() % 100 < r->late_pct)
			j = 3 * GRACE;
		order[i].idx = (uint32_t)i;
		order[i].key = r->jitter < 0 ? (int64_t)(rng() >> 2) :
		    evs[i].ts + (j ? rng_range(0, j) : 0);
	}
	qsort(order, nevs, sizeof *order, cmp_arrival);

	gs = calloc(nevs, sizeof *gs);
	ngs = nlate = 0;
	for (i = 0; i < nevs; i++) {
		const struct tev *e = &evs[order[i].idx];
		struct event ev;
		char ver[16];
		const char *reason;
		struct engine *g = eng[partition_of(e->user)];

		int pt = partition_of(e->user);

		/* As the daemon's commit does: users committed with no
		 * session open go cold, and come back on their next event. */
		if (r->commit_every && i > 0 && i % r->commit_every == 0)
			for (p = 0; p < NPART; p++)
				engine_clear_dirty(eng[p]);
		version_name(e->ver, ver);
		ev.user_id = strv_c(names[e->user]);
		ev.ts_ms = e->ts;
		ev.action_type = strv_c(types[e->type]);
		ev.page_id = STRV("p1");
		ev.duration_ms = e->dur;
		ev.app_version = strv_c(ver);
		assert_true(event_validate(&ev, &reason));
		if (r->batched) {
			memcpy(pend_ver[pt][npend[pt]], ver, sizeof ver);
			ev.app_version = strv_c(pend_ver[pt][npend[pt]]);
			pend[pt][npend[pt]++] = ev;
			if (npend[pt] == want[pt])
				flush_partition(pt, r->hold_open);
			continue;
		}
		engine_add(g, &ev, 0);
		if (!r->hold_open)
			engine_advance(g, 0);
	}
	for (p = 0; p < NPART; p++) {
		if (npend[p] > 0)
			flush_partition(p, r->hold_open);
		engine_close_all(eng[p]);
	}
	free(order);
}

static void
free_engines(void)
{
	int p;

	for (p = 0; p < NPART; p++)
		engine_free(eng[p]);
	for (p = 0; p < NZONES; p++)
		tzcal_free(tzs[p]);
	meta_free(meta);
	free(gs);
	gs = NULL;
}

static int
cmp_gsess(const void *a, const void *b)
{
	const struct gsess *x = a, *y = b;
	int c = strcmp(x->user, y->user);

	if (c != 0)
		return c;
	return (x->start > y->start) - (x->start < y->start);
}

static void
check_sessions(void)
{
	size_t i, t;

	qsort(gs, ngs, sizeof *gs, cmp_gsess);
	assert_int_equal(ngs, nrs);
	for (i = 0; i < nrs; i++) {
		const struct rsess *r = &rs[i];
		const struct gsess *g = &gs[i];
		char sid[200], fv[16], lv[16];

		assert_string_equal(g->user, names[r->user]);
		assert_true(g->start == r->start);
		assert_true(g->end == r->end);
		assert_true(g->dur == r->end - r->start);
		assert_int_equal(g->count, r->count);
		for (t = 0; t < NTYPES; t++)
			assert_int_equal(g->per_type[t], r->per_type[t]);
		version_name(r->first_ver, fv);
		version_name(r->last_ver, lv);
		assert_string_equal(g->first_ver, fv);
		assert_string_equal(g->last_ver, lv);
		snprintf(sid, sizeof sid, "%s:%lld", names[r->user],
		    (long long)r->start);
		assert_string_equal(g->sid, sid);
		assert_int_equal(g->has_meta, user_country[r->user] >= 0);
		if (g->has_meta)
			assert_string_equal(g->country,
			    countries[user_country[r->user]]);
	}
}

/* Per-user statistics: sessions, actions, average duration, first and
 * last seen. */
static void
check_user_stats(void)
{
	size_t i = 0;

	while (i < nrs) {
		uint32_t user = rs[i].user;
		uint64_t n = 0, dur = 0, actions = 0;
		int64_t first = rs[i].start, last = rs[i].last;
		struct user_stats st;
		struct engine *g = eng[partition_of(user)];

		for (; i < nrs && rs[i].user == user; i++) {
			n++;
			dur += (uint64_t)(rs[i].end - rs[i].start);
			actions += rs[i].count;
			if (rs[i].start < first)
				first = rs[i].start;
			if (rs[i].last > last)
				last = rs[i].last;
		}
		assert_true(engine_user_stats(g, engine_user_find(g,
		    strv_c(names[user])), &st));
		assert_int_equal(st.sessions, n);
		assert_int_equal(st.actions, actions);
		assert_int_equal(st.first_seen, first);
		assert_int_equal(st.last_seen, last);
		assert_int_equal(st.late, 0);
		assert_true(user_stats_avg_seconds(&st) ==
		    (double)dur / (double)n / 1000.0);
	}
}

static void
check_active(bool span)
{
	int z, k;
	size_t checked_hll = 0;

	for (z = 0; z < NZONES; z++) {
		reference_active(zones[z], span);
		for (k = 0; k < 2; k++) {
			int32_t *periods;
			size_t np = rollup_periods(eng, NPART, z,
			    (enum period_kind)k, &periods), i = 0, pi;

			for (pi = 0; pi < np; pi++) {
				struct rollup *ru = rollup_period(eng, NPART, z,
				    (enum period_kind)k, periods[pi]);
				uint64_t total = 0, by_c[11] = { 0 };
				int c;

				/* Reference rows of this period. */
				assert_true(i < nrc[k]);
				assert_int_equal(rc[k][i].period, periods[pi]);
				for (; i < nrc[k] &&
				    rc[k][i].period == periods[pi]; i++) {
					total++;
					by_c[rc[k][i].country + 1]++;
				}
				assert_non_null(ru);
				assert_int_equal(ru->total, total);
				/* by country: code of "unknown" is 0 */
				assert_int_equal(ru->ncodes[DIM_COUNTRY] > 0 ?
				    ru->dcount[DIM_COUNTRY][0] : 0, by_c[0]);
				for (c = 0; c < 10; c++) {
					uint16_t code = meta_code(meta,
					    DIM_COUNTRY, strv_c(countries[c]));

					assert_int_equal(code < ru->ncodes[
					    DIM_COUNTRY] ? ru->dcount[
					    DIM_COUNTRY][code] : 0, by_c[c + 1]);
				}
				if (total >= 1000) {
					double est = hll_estimate(ru->hll);
					double se = hll_std_error(14);

					assert_true(fabs(est - (double)total) <=
					    3 * se * (double)total);
					checked_hll++;
				}
				rollup_free(ru);
			}
			assert_int_equal(i, nrc[k]);	/* no period missed */
			free(periods);
		}
	}
	assert_true(checked_hll >= 60);
}

static int
setup(void **st)
{
	(void)st;
	generate(20231105);
	assert_true(nevs >= 100000);
	return 0;
}

/* The engines' results equal the reference's (no event is late). */
static void
equals_reference(const struct run *r)
{
	reference_sessions(r->span);
	run_engines(r);
	assert_int_equal(nlate, 0);
	check_sessions();
	check_user_stats();
	check_active(r->span);
	free_engines();
}

static void
once_shuffled_equals_batch(void **st)
{
	struct run r = { .hold_open = true, .jitter = -1 };

	(void)st;
	equals_reference(&r);
}

static void
once_span_last_start_equals_batch(void **st)
{
	struct run r = { .hold_open = true, .jitter = -1, .span = true,
		.end_last_start = true };

	(void)st;
	equals_reference(&r);
}

static void
live_within_grace_equals_batch(void **st)
{
	struct run r = { .jitter = GRACE, .commit_every = 997 };

	(void)st;
	equals_reference(&r);
}

static void
live_beyond_grace_loses_nothing(void **st)
{
	struct run r = { .jitter = GRACE, .late_pct = 3,
		.commit_every = 997 };
	uint64_t placed = 0;
	size_t i;

	(void)st;
	run_engines(&r);
	for (i = 0; i < ngs; i++)
		placed += gs[i].count;
	/* Every event is in exactly one session or reported late. */
	assert_true(nlate > 0);
	assert_int_equal(placed + nlate, nevs);
	/* Active users do not depend on order. */
	check_active(false);
	free_engines();
}

/* engine_add_batch in batches of random size gives the same results. */
static void
once_batched_equals_batch(void **st)
{
	struct run r = { .hold_open = true, .jitter = -1, .batched = true };

	(void)st;
	equals_reference(&r);
}

static void
live_batched_within_grace_equals_batch(void **st)
{
	struct run r = { .jitter = GRACE, .batched = true,
		.commit_every = 997 };

	(void)st;
	equals_reference(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(once_shuffled_equals_batch),
		cmocka_unit_test(once_span_last_start_equals_batch),
		cmocka_unit_test(live_within_grace_equals_batch),
		cmocka_unit_test(live_beyond_grace_loses_nothing),
		cmocka_unit_test(once_batched_equals_batch),
		cmocka_unit_test(live_batched_within_grace_equals_batch),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
