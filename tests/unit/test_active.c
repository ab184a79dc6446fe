/*
 * Unit tests for state/active: the exclusive active-duration bounds, day
 * and month attribution in UTC, New York, London and Tokyo around DST
 * changes and month ends, `span` attribution (the interval [ts, ts + dur]
 * is closed, so an action ending exactly at midnight touches the next
 * day), breakdowns that sum to the total, the first-seen breakdown rule,
 * sketches against exact counts, period boundaries of 23 and 25 hour days,
 * and the bookkeeping of a period set (insertion order, duplicates,
 * committed prefix, changed flag, growth).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "active.h"
#include "hll.h"
#include "meta.h"
#include "engine_fixture.h"

enum { Z_UTC, Z_NY, Z_LON, Z_TOKYO, NZ };

static const char *zone_names[NZ] = { "UTC", "America/New_York",
	"Europe/London", "Asia/Tokyo" };
static struct tzcal *tzs[NZ];

static int
open_zones(void **state)
{
	int z;

	(void)state;
	for (z = 0; z < NZ; z++)
		tzs[z] = fx_zone(zone_names[z]);
	return 0;
}

static int
close_zones(void **state)
{
	int z;

	(void)state;
	for (z = 0; z < NZ; z++)
		tzcal_free(tzs[z]);
	return 0;
}

static struct active *
new_active(bool span, unsigned dims_mask)
{
	struct active_conf c = { tzs, NZ, span, 10000, 14400000, 14,
		dims_mask };

	return active_new(&c);
}

static uint64_t
uhash(uint32_t uid)
{
	char name[16];
	int n = snprintf(name, sizeof name, "u%06u", uid);

	return hll_hash(name, (size_t)n);
}

static bool
add(struct active *a, uint32_t uid, int64_t ts, int64_t dur)
{
	return active_add(a, uid, uhash(uid), meta_unknown(), ts, dur);
}

/* The periods of one zone and kind, as "2023-01-15,2023-01-16". */
static const char *
periods_of(const struct active *a, int zone, enum period_kind kind)
{
	static char buf[256];
	int32_t p[16];
	size_t n = 0, pos = 0, i, j, used = 0;
	struct pset *s;

	while ((s = active_next(a, &pos)) != NULL) {
		if (pset_zone(s) != zone || pset_kind(s) != kind)
			continue;
		assert_true(n < 16);
		/* Insertion sort: the map iterates in no order. */
		for (i = n++; i > 0 && p[i - 1] > pset_period(s); i--)
			p[i] = p[i - 1];
		p[i] = pset_period(s);
	}
	buf[0] = '\0';
	for (j = 0; j < n; j++) {
		char t[11];

		if (kind == PERIOD_DAY)
			tzcal_format_day(p[j], t);
		else
			tzcal_format_month(p[j], t);
		used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s",
		    j ? "," : "", t);
	}
	return buf;
}

/* ---- active bounds ---- */

static void
active_bounds_are_exclusive(void **state)
{
	static const struct {
		int64_t dur;
		bool    active;
	} rows[] = {
		{ 0, false }, { 9999, false }, { 10000, false },
		{ 10001, true }, { 14399999, true }, { 14400000, false },
		{ 14400001, false },
	};
	size_t r;

	(void)state;
	for (r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		struct active *a = new_active(false, 7);

		assert_int_equal(active_is_active(a, rows[r].dur),
		    rows[r].active);
		assert_int_equal(add(a, 1, FX_T0, rows[r].dur), rows[r].active);
		/* A day and a month in each of the four zones, or nothing. */
		assert_int_equal(active_pset_count(a),
		    rows[r].active ? 2 * NZ : 0);
		active_free(a);
	}
}

/* ---- attribution ---- */

static void
start_attribution_in_zones(void **state)
{
	static const struct {
		const char *at;
		int         zone;
		const char *day, *month;
	} rows[] = {
		{ "2023-03-12T04:30:00Z", Z_UTC, "2023-03-12", "2023-03" },
		{ "2023-01-31T23:59:59.999Z", Z_UTC, "2023-01-31", "2023-01" },
		{ "2023-02-01T00:00:00Z", Z_UTC, "2023-02-01", "2023-02" },
		/* New York, spring forward on 2023-03-12 (EST -> EDT). */
		{ "2023-03-12T04:30:00Z", Z_NY, "2023-03-11", "2023-03" },
		{ "2023-03-12T04:59:59.999Z", Z_NY, "2023-03-11", "2023-03" },
		{ "2023-03-12T05:00:00Z", Z_NY, "2023-03-12", "2023-03" },
		{ "2023-03-13T03:59:59.999Z", Z_NY, "2023-03-12", "2023-03" },
		{ "2023-03-13T04:00:00Z", Z_NY, "2023-03-13", "2023-03" },
		/* Fall back on 2023-11-05 (EDT -> EST). */
		{ "2023-11-05T03:59:59.999Z", Z_NY, "2023-11-04", "2023-11" },
		{ "2023-11-05T04:00:00Z", Z_NY, "2023-11-05", "2023-11" },
		{ "2023-11-06T04:59:59.999Z", Z_NY, "2023-11-05", "2023-11" },
		{ "2023-11-06T05:00:00Z", Z_NY, "2023-11-06", "2023-11" },
		{ "2023-01-31T23:59:59.999Z", Z_NY, "2023-01-31", "2023-01" },
		{ "2023-03-01T04:59:59.999Z", Z_NY, "2023-02-28", "2023-02" },
		/* London, 2023-03-26 (GMT -> BST) and 2023-10-29 (back). */
		{ "2023-03-25T23:59:59.999Z", Z_LON, "2023-03-25", "2023-03" },
		{ "2023-03-26T00:59:59.999Z", Z_LON, "2023-03-26", "2023-03" },
		{ "2023-03-26T22:59:59.999Z", Z_LON, "2023-03-26", "2023-03" },
		{ "2023-03-26T23:00:00Z", Z_LON, "2023-03-27", "2023-03" },
		{ "2023-03-31T23:30:00Z", Z_LON, "2023-04-01", "2023-04" },
		{ "2023-10-28T22:59:59.999Z", Z_LON, "2023-10-28", "2023-10" },
		{ "2023-10-28T23:00:00Z", Z_LON, "2023-10-29", "2023-10" },
		{ "2023-10-29T23:59:59.999Z", Z_LON, "2023-10-29", "2023-10" },
		{ "2023-10-30T00:00:00Z", Z_LON, "2023-10-30", "2023-10" },
		/* Tokyo, UTC+9: a UTC month end is already February. */
		{ "2023-01-31T23:59:59.999Z", Z_TOKYO, "2023-02-01", "2023-02" },
		{ "2023-01-31T14:59:59.999Z", Z_TOKYO, "2023-01-31", "2023-01" },
		{ "2023-01-31T15:00:00Z", Z_TOKYO, "2023-02-01", "2023-02" },
	};
	size_t r;

	(void)state;
	for (r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		struct active *a = new_active(false, 7);
		int z = rows[r].zone;
		struct pset *d, *m;

		assert_true(add(a, 7, fx_ms(rows[r].at), 20000));
		d = active_find(a, z, PERIOD_DAY, fx_day(rows[r].day));
		m = active_find(a, z, PERIOD_MONTH, fx_month(rows[r].month));
		if (d == NULL || m == NULL)
			fail_msg("%s in %s: days %s, months %s", rows[r].at,
			    zone_names[z], periods_of(a, z, PERIOD_DAY),
			    periods_of(a, z, PERIOD_MONTH));
		assert_string_equal(periods_of(a, z, PERIOD_DAY), rows[r].day);
		assert_string_equal(periods_of(a, z, PERIOD_MONTH),
		    rows[r].month);
		assert_true(pset_contains(d, 7));
		assert_int_equal(pset_count(d), 1);
		assert_true(pset_contains(m, 7));
		active_free(a);
	}
}

static void
span_attribution_closed_interval(void **state)
{
	static const struct {
		const char *at;
		int64_t     dur;
		int         zone;
		bool        span;
		const char *days, *months;
	} rows[] = {
		{ "2023-01-15T23:59:00Z", 120000, Z_UTC, true,
		  "2023-01-15,2023-01-16", "2023-01" },
		/* start attribution: the day of the timestamp only */
		{ "2023-01-15T23:59:00Z", 120000, Z_UTC, false,
		  "2023-01-15", "2023-01" },
		{ "2023-01-31T23:59:00Z", 120000, Z_UTC, true,
		  "2023-01-31,2023-02-01", "2023-01,2023-02" },
		{ "2023-12-31T23:59:00Z", 120000, Z_UTC, true,
		  "2023-12-31,2024-01-01", "2023-12,2024-01" },
		/* ts + duration == midnight: [ts, ts + dur] touches it. */
		{ "2023-01-15T23:59:00Z", 60000, Z_UTC, true,
		  "2023-01-15,2023-01-16", "2023-01" },
		{ "2023-01-15T23:59:00Z", 59999, Z_UTC, true,
		  "2023-01-15", "2023-01" },
		{ "2023-01-15T22:00:00Z", 14399999, Z_UTC, true,
		  "2023-01-15,2023-01-16", "2023-01" },
		/* not active: nothing, whatever it spans */
		{ "2023-01-15T23:59:00Z", 14400000, Z_UTC, true, "", "" },
		{ "2023-03-12T04:59:00Z", 120000, Z_NY, true,
		  "2023-03-11,2023-03-12", "2023-03" },
		/* ends at New York's midnight of a 23 h day */
		{ "2023-03-13T03:59:00Z", 60000, Z_NY, true,
		  "2023-03-12,2023-03-13", "2023-03" },
		{ "2023-10-28T22:59:00Z", 60000, Z_LON, true,
		  "2023-10-28,2023-10-29", "2023-10" },
		{ "2023-01-31T14:59:00Z", 120000, Z_TOKYO, true,
		  "2023-01-31,2023-02-01", "2023-01,2023-02" },
	};
	size_t r;

	(void)state;
	for (r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		struct active *a = new_active(rows[r].span, 7);
		int z = rows[r].zone;

		add(a, 3, fx_ms(rows[r].at), rows[r].dur);
		if (strcmp(periods_of(a, z, PERIOD_DAY), rows[r].days) != 0)
			fail_msg("row %zu (%s + %lld in %s): days %s, want %s",
			    r, rows[r].at, (long long)rows[r].dur,
			    zone_names[z], periods_of(a, z, PERIOD_DAY),
			    rows[r].days);
		assert_string_equal(periods_of(a, z, PERIOD_MONTH),
		    rows[r].months);
		active_free(a);
	}
}

/* ---- breakdowns ---- */

static void
breakdown_counts_sum_to_total(void **state)
{
	struct active *a = new_active(false, 7);
	struct pset *s;
	const struct pentry *ent;
	uint64_t want[DIM_COUNT][4] = { { 0 } };
	static const unsigned mod[DIM_COUNT] = { 4, 3, 2 };
	size_t n, i;
	uint32_t u;
	int d;

	(void)state;
	for (u = 1; u <= 50; u++) {
		struct meta_entry me = { 0, { (uint16_t)(u % 4),
			(uint16_t)(u % 3), (uint16_t)(u % 2) } };
		int k;

		/* Twice: a user counts once. */
		for (k = 0; k < 2; k++)
			assert_true(active_add(a, u, uhash(u), &me,
			    FX_T0 + k * 3600000, 20000));
		for (d = 0; d < DIM_COUNT; d++)
			want[d][u % mod[d]]++;
	}
	s = active_find(a, Z_UTC, PERIOD_DAY, fx_day("2023-01-01"));
	assert_non_null(s);
	assert_int_equal(pset_count(s), 50);
	for (d = 0; d < DIM_COUNT; d++) {
		uint64_t sum = 0;
		uint16_t c;
		struct hll *merged = hll_new(14);

		assert_int_equal(pset_codes(s, (enum dim)d), mod[d]);
		for (c = 0; c < pset_codes(s, (enum dim)d); c++) {
			assert_int_equal(pset_dim_count(s, (enum dim)d, c),
			    want[d][c]);
			sum += pset_dim_count(s, (enum dim)d, c);
			assert_int_equal(hll_merge(merged,
			    pset_dim_hll(s, (enum dim)d, c)), 0);
		}
		assert_int_equal(sum, pset_count(s));
		/* The sketches of a dimension's values union to the total. */
		assert_true(hll_equal(merged, pset_hll(s)));
		hll_free(merged);
		/* Codes past the last one count zero and have no sketch. */
		assert_int_equal(pset_dim_count(s, (enum dim)d, mod[d]), 0);
		assert_null(pset_dim_hll(s, (enum dim)d, mod[d]));
	}
	/* Entries in insertion order, with the codes they were counted as. */
	ent = pset_entries(s, &n);
	assert_int_equal(n, 50);
	for (i = 0; i < n; i++) {
		const uint16_t *codes = pset_entry_codes(s, &ent[i]);

		assert_int_equal(ent[i].uid, i + 1);
		assert_int_equal(codes[DIM_COUNTRY], (i + 1) % 4);
		assert_int_equal(codes[DIM_DEVICE_TYPE], (i + 1) % 3);
		assert_int_equal(codes[DIM_SUBSCRIPTION_TYPE], (i + 1) % 2);
		/* Codes repeat every 12 users, and so do combinations; user
		 * 12's are all 0, the combination made first. */
		if (i >= 12)
			assert_int_equal(ent[i].combo, ent[i - 12].combo);
		else
			assert_int_equal(ent[i].combo, i == 11 ? 0 : i + 1);
	}
	active_free(a);
}

static void
disabled_dimensions_are_not_counted(void **state)
{
	struct active *a = new_active(false, 1u << DIM_COUNTRY);
	struct meta_entry me = { 0, { 2, 1, 1 } };
	const struct pentry *ent;
	struct pset *s;
	size_t n;

	(void)state;
	active_add(a, 1, uhash(1), &me, FX_T0, 20000);
	s = active_find(a, Z_UTC, PERIOD_DAY, fx_day("2023-01-01"));
	assert_non_null(s);
	ent = pset_entries(s, &n);
	assert_int_equal(n, 1);
	assert_int_equal(pset_entry_codes(s, &ent[0])[DIM_COUNTRY], 2);
	assert_int_equal(pset_entry_codes(s, &ent[0])[DIM_DEVICE_TYPE], 0);
	assert_int_equal(pset_entry_codes(s, &ent[0])[DIM_SUBSCRIPTION_TYPE],
	    0);
	assert_int_equal(pset_dim_count(s, DIM_COUNTRY, 2), 1);
	assert_int_equal(pset_codes(s, DIM_DEVICE_TYPE), 0);
	assert_int_equal(pset_dim_count(s, DIM_DEVICE_TYPE, 0), 0);
	assert_null(pset_dim_hll(s, DIM_SUBSCRIPTION_TYPE, 0));
	active_free(a);
}

/*
 * A user is counted in a period under the metadata known at its first
 * active event there; metadata that arrives later applies to periods in
 * which the user is first counted after it.
 */
static void
breakdown_uses_metadata_of_first_count(void **state)
{
	static const struct {
		const char *country;	/* NULL: no metadata (yet) */
		const char *at;
		/* then: country counts of one period */
		enum period_kind kind;
		const char *period;
		uint64_t    unknown, us, de;
	} steps[] = {
		{ NULL, "2023-01-05T10:00:00Z", PERIOD_DAY, "2023-01-05",
		  1, 0, 0 },
		{ "US", "2023-01-05T11:00:00Z", PERIOD_DAY, "2023-01-05",
		  1, 0, 0 },
		{ "US", "2023-01-06T11:00:00Z", PERIOD_DAY, "2023-01-06",
		  0, 1, 0 },
		{ "US", "2023-01-06T12:00:00Z", PERIOD_MONTH, "2023-01",
		  1, 0, 0 },
		{ "US", "2023-02-01T12:00:00Z", PERIOD_MONTH, "2023-02",
		  0, 1, 0 },
		{ "DE", "2023-02-02T12:00:00Z", PERIOD_DAY, "2023-02-02",
		  0, 0, 1 },
		{ "DE", "2023-02-02T13:00:00Z", PERIOD_MONTH, "2023-02",
		  0, 1, 0 },
		/* metadata deleted: unknown again for new periods */
		{ NULL, "2023-02-03T13:00:00Z", PERIOD_DAY, "2023-02-03",
		  1, 0, 0 },
		{ NULL, "2023-02-03T14:00:00Z", PERIOD_DAY, "2023-02-02",
		  0, 0, 1 },
	};
	struct active *a = new_active(false, 7);
	struct meta *m = meta_new();
	uint16_t us, de;
	size_t i;

	(void)state;
	us = meta_code(m, DIM_COUNTRY, STRV("US"));
	de = meta_code(m, DIM_COUNTRY, STRV("DE"));
	for (i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		const struct meta_entry *me;
		struct pset *s;
		int32_t p;

		if (steps[i].country != NULL)
			fx_meta(m, "u1", 19000, steps[i].country, "iOS", "free");
		else
			fx_tombstone(m, "u1");
		me = meta_get(m, STRV("u1"));
		assert_true(active_add(a, 1, uhash(1), me ? me : meta_unknown(),
		    fx_ms(steps[i].at), 20000));
		p = steps[i].kind == PERIOD_DAY ? fx_day(steps[i].period) :
		    fx_month(steps[i].period);
		s = active_find(a, Z_UTC, steps[i].kind, p);
		assert_non_null(s);
		assert_int_equal(pset_count(s), 1);
		if (pset_dim_count(s, DIM_COUNTRY, META_UNKNOWN) !=
		    steps[i].unknown ||
		    pset_dim_count(s, DIM_COUNTRY, us) != steps[i].us ||
		    pset_dim_count(s, DIM_COUNTRY, de) != steps[i].de)
			fail_msg("step %zu (%s): unknown %llu US %llu DE %llu",
			    i, steps[i].period, (unsigned long long)
			    pset_dim_count(s, DIM_COUNTRY, META_UNKNOWN),
			    (unsigned long long)pset_dim_count(s, DIM_COUNTRY,
			    us), (unsigned long long)pset_dim_count(s,
			    DIM_COUNTRY, de));
	}
	meta_free(m);
	active_free(a);
}

static void
sketch_matches_exact_count(void **state)
{
	static const uint32_t sizes[] = { 1, 2, 3, 5, 10, 100, 1000, 5000 };
	struct active *a = new_active(false, 7);
	size_t k;
	uint32_t u, next = 1;

	(void)state;
	for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		int64_t day_ts = FX_T0 + (int64_t)k * 86400000;
		struct pset *s;
		double est;

		for (u = 0; u < sizes[k]; u++)
			add(a, next++, day_ts, 20000);
		s = active_find(a, Z_UTC, PERIOD_DAY, tzcal_day(tzs[Z_UTC],
		    day_ts));
		assert_int_equal(pset_count(s), sizes[k]);
		est = hll_estimate(pset_hll(s));
		/* Tiny sets: linear counting is all but exact. */
		if (sizes[k] <= 10)
			assert_int_equal(llround(est), sizes[k]);
		if (fabs(est - sizes[k]) > 3 * hll_std_error(14) * sizes[k])
			fail_msg("%u users: estimate %.3f", sizes[k], est);
	}
	active_free(a);
}

/* ---- periods ---- */

static void
period_bounds_follow_dst(void **state)
{
	static const struct {
		int              zone;
		enum period_kind kind;
		const char      *period, *start, *end;
		int              hours;
	} rows[] = {
		{ Z_NY, PERIOD_DAY, "2023-03-12", "2023-03-12T05:00:00Z",
		  "2023-03-13T04:00:00Z", 23 },
		{ Z_NY, PERIOD_DAY, "2023-11-05", "2023-11-05T04:00:00Z",
		  "2023-11-06T05:00:00Z", 25 },
		{ Z_LON, PERIOD_DAY, "2023-03-26", "2023-03-26T00:00:00Z",
		  "2023-03-26T23:00:00Z", 23 },
		{ Z_LON, PERIOD_DAY, "2023-10-29", "2023-10-28T23:00:00Z",
		  "2023-10-30T00:00:00Z", 25 },
		{ Z_UTC, PERIOD_DAY, "2023-03-12", "2023-03-12T00:00:00Z",
		  "2023-03-13T00:00:00Z", 24 },
		{ Z_TOKYO, PERIOD_DAY, "2023-03-12", "2023-03-11T15:00:00Z",
		  "2023-03-12T15:00:00Z", 24 },
		{ Z_NY, PERIOD_MONTH, "2023-03", "2023-03-01T05:00:00Z",
		  "2023-04-01T04:00:00Z", 31 * 24 - 1 },
		{ Z_LON, PERIOD_MONTH, "2023-10", "2023-09-30T23:00:00Z",
		  "2023-11-01T00:00:00Z", 31 * 24 + 1 },
		{ Z_TOKYO, PERIOD_MONTH, "2023-02", "2023-01-31T15:00:00Z",
		  "2023-02-28T15:00:00Z", 28 * 24 },
		{ Z_UTC, PERIOD_MONTH, "2023-12", "2023-12-01T00:00:00Z",
		  "2024-01-01T00:00:00Z", 31 * 24 },
	};
	struct active *a = new_active(false, 7);
	size_t r;

	(void)state;
	for (r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		int32_t p = rows[r].kind == PERIOD_DAY ?
		    fx_day(rows[r].period) : fx_month(rows[r].period);
		int64_t s = active_period_start(a, rows[r].zone, rows[r].kind,
		    p);
		int64_t e = active_period_end(a, rows[r].zone, rows[r].kind,
		    p);

		if (s != fx_ms(rows[r].start) || e != fx_ms(rows[r].end))
			fail_msg("%s in %s: [%lld, %lld)", rows[r].period,
			    zone_names[rows[r].zone], (long long)s,
			    (long long)e);
		assert_true(e - s == rows[r].hours * 3600000LL);
	}
	active_free(a);
}

/* ---- period set bookkeeping ---- */

static void
pset_bookkeeping(void **state)
{
	struct active *a = new_active(false, 7);
	static const uint16_t codes[DIM_COUNT] = { 1, 2, 3 };
	int32_t day = fx_day("2023-06-01");
	struct pset *s;

	(void)state;
	assert_true(active_load_entry(a, Z_NY, PERIOD_DAY, day, 9, uhash(9),
	    codes));
	assert_false(active_load_entry(a, Z_NY, PERIOD_DAY, day, 9, uhash(9),
	    codes));
	assert_false(active_load_entry(a, -1, PERIOD_DAY, day, 1, uhash(1),
	    codes));
	assert_false(active_load_entry(a, NZ, PERIOD_DAY, day, 1, uhash(1),
	    codes));
	assert_int_equal(active_pset_count(a), 1);
	s = active_find(a, Z_NY, PERIOD_DAY, day);
	assert_non_null(s);
	assert_null(active_find(a, Z_UTC, PERIOD_DAY, day));
	assert_null(active_find(a, Z_NY, PERIOD_MONTH, day));
	assert_int_equal(pset_zone(s), Z_NY);
	assert_int_equal(pset_kind(s), PERIOD_DAY);
	assert_int_equal(pset_period(s), day);
	assert_int_equal(pset_dim_count(s, DIM_SUBSCRIPTION_TYPE, 3), 1);

	assert_true(pset_changed(s));
	pset_clear_changed(s);
	assert_false(active_load_entry(a, Z_NY, PERIOD_DAY, day, 9, uhash(9),
	    codes));
	assert_false(pset_changed(s));	/* a duplicate changes nothing */
	assert_true(active_load_entry(a, Z_NY, PERIOD_DAY, day, 4, uhash(4),
	    codes));
	assert_true(pset_changed(s));

	assert_int_equal(pset_committed(s), 0);
	pset_set_committed(s, 1);
	assert_int_equal(pset_committed(s), 1);
	pset_set_committed(s, 99);	/* clamped to the entry count */
	assert_int_equal(pset_committed(s), 2);
	active_free(a);
}

static void
pset_grows_past_many_resizes(void **state)
{
	struct active *a = new_active(false, 7);
	const struct pentry *ent;
	struct pset *s;
	size_t n, i;
	uint32_t u;

	(void)state;
	/* Ids in a scrambled order, each added twice. */
	for (u = 0; u < 100000; u++) {
		uint32_t id = (u * 7919u) % 100003u;

		assert_true(add(a, id, FX_T0 + 1000, 20000));
		assert_true(add(a, id, FX_T0 + 2000, 20000));
	}
	s = active_find(a, Z_UTC, PERIOD_DAY, fx_day("2023-01-01"));
	assert_int_equal(pset_count(s), 100000);
	ent = pset_entries(s, &n);
	for (i = 0; i < n; i++) {
		assert_int_equal(ent[i].uid, (i * 7919u) % 100003u);
		assert_true(pset_contains(s, ent[i].uid));
	}
	/* The three ids of the cycle never added, and a larger one. */
	for (u = 100000; u < 100003; u++)
		assert_false(pset_contains(s, (u * 7919u) % 100003u));
	assert_false(pset_contains(s, 200000));
	assert_true(active_memory(a) > 100000 * sizeof(struct pentry));
	active_free(a);
}

/*
 * Users 0..66000 with codes (u % 300, u / 300 % 300, 0), all distinct
 * combinations (300 values a dimension keep the counts' arrays small):
 * ids 1..65534 go to users 1..65534 (id 0, all unknown, is made first and
 * is user 0's), and users 65535..66000 are folded into id 0. So country 0
 * counts the 219 users below 65535 with u % 300 = 0 and the 466 folded;
 * device 1 counts users 300..599; device 0 users 0..299 and the folded.
 */
static void
combinations_past_the_limit_fold_to_unknown(void **state)
{
	struct active *a = new_active(false, 7);
	struct meta_entry me = { 0, { 0, 0, 0 } };
	const struct pentry *ent;
	struct pset *s;
	size_t n;
	uint32_t u;

	(void)state;
	for (u = 0; u <= 66000; u++) {
		me.codes[DIM_COUNTRY] = (uint16_t)(u % 300);
		me.codes[DIM_DEVICE_TYPE] = (uint16_t)(u / 300 % 300);
		active_add(a, u, uhash(u), &me, FX_T0, 20000);
	}
	s = active_find(a, Z_UTC, PERIOD_DAY, fx_day("2023-01-01"));
	ent = pset_entries(s, &n);
	assert_int_equal(n, 66001);
	assert_int_equal(ent[65534].combo, 65534);
	assert_int_equal(pset_entry_codes(s, &ent[65534])[DIM_COUNTRY], 134);
	assert_int_equal(pset_entry_codes(s, &ent[65534])[DIM_DEVICE_TYPE],
	    218);
	assert_int_equal(ent[65535].combo, 0);
	assert_int_equal(pset_entry_codes(s, &ent[65535])[DIM_DEVICE_TYPE], 0);
	assert_int_equal(pset_dim_count(s, DIM_COUNTRY, 0), 219 + 466);
	assert_int_equal(pset_dim_count(s, DIM_DEVICE_TYPE, 1), 300);
	assert_int_equal(pset_dim_count(s, DIM_DEVICE_TYPE, 0), 300 + 466);
	active_free(a);
}

/*
 * The index is whichever of a slot table and a bitmap of ids is smaller
 * when it grows. Ids 0..99999 in order: a bitmap of 2^17 bits. Then id
 * 50,000,000: a bitmap would take 8 MiB, so a table of 2^18 slots (the
 * smallest under a load of 5/8 for 100001 entries). Ids 1000 apart: a
 * table from the start, of 2^11 slots for 1000. Loading: the bound on ids
 * chooses before the entries come.
 */
static void
index_is_the_smaller_of_table_and_bitmap(void **state)
{
	static const uint16_t codes[DIM_COUNT] = { 0, 0, 0 };
	struct active *a = new_active(false, 7);
	int32_t d0 = fx_day("2023-01-01"), d1 = d0 + 1, d2 = d0 + 2, d3 = d0 + 3;
	struct pset *s;
	uint32_t u;

	(void)state;
	for (u = 0; u < 100000; u++)
		assert_true(add(a, u, FX_T0 + 1000, 20000));
	s = active_find(a, Z_UTC, PERIOD_DAY, d0);
	assert_int_equal(pset_index_bytes(s), (1u << 17) / 8);
	assert_false(pset_contains(s, 100000));
	assert_false(pset_contains(s, 1u << 17));	/* past the bitmap */
	assert_false(pset_contains(s, UINT32_MAX - 1));
	assert_true(add(a, 50000000, FX_T0 + 1000, 20000));
	assert_true(add(a, 50000000, FX_T0 + 1000, 20000));	/* again */
	assert_int_equal(pset_index_bytes(s), (1u << 18) * 4);
	for (u = 0; u < 100000; u++)
		assert_true(pset_contains(s, u));
	assert_true(pset_contains(s, 50000000));
	assert_false(pset_contains(s, 49999999));
	assert_int_equal(pset_count(s), 100001);

	for (u = 0; u < 1000; u++)
		assert_true(add(a, u * 1000, FX_T0 + 86400000 + 1000, 20000));
	s = active_find(a, Z_UTC, PERIOD_DAY, d1);
	assert_int_equal(pset_index_bytes(s), (1u << 11) * 4);
	for (u = 0; u < 1000; u++)
		assert_true(pset_contains(s, u * 1000));
	assert_false(pset_contains(s, 500));

	active_load_reserve(a, Z_UTC, PERIOD_DAY, d2, 5000, 5000);
	s = active_find(a, Z_UTC, PERIOD_DAY, d2);
	assert_int_equal(pset_index_bytes(s), (1u << 13) / 8);
	for (u = 0; u < 5000; u++)
		assert_true(active_load_entry(a, Z_UTC, PERIOD_DAY, d2,
		    4999 - u, uhash(4999 - u), codes));
	assert_int_equal(pset_index_bytes(s), (1u << 13) / 8);
	assert_false(active_load_entry(a, Z_UTC, PERIOD_DAY, d2, 17,
	    uhash(17), codes));
	active_load_reserve(a, Z_UTC, PERIOD_DAY, d3, 5000, 1000000);
	s = active_find(a, Z_UTC, PERIOD_DAY, d3);
	assert_int_equal(pset_index_bytes(s), (1u << 13) * 4);
	assert_int_equal(pset_count(s), 0);
	active_free(a);
}

/*
 * Days 512 apart share a place in the cache of recent periods' sets: sets
 * growing in turn while they evict each other keep their own users, and
 * prefetches (active_prefetch) for sets never made change nothing.
 */
static void
periods_sharing_a_cache_place_stay_apart(void **state)
{
	static const int32_t off[] = { 0, 512, 1024, -512 };
	struct active *a = new_active(false, 7);
	int32_t d0 = fx_day("2023-01-01");
	uint32_t u;
	size_t k;

	(void)state;
	active_prefetch(a, 1, FX_T0);	/* no set yet */
	assert_int_equal(active_pset_count(a), 0);
	for (u = 0; u < 3000; u++) {
		k = u % 4;
		active_prefetch(a, u, FX_T0 + off[k] * 86400000LL);
		assert_true(add(a, u * 4 + (uint32_t)k, FX_T0 + off[k] *
		    86400000LL + 1000, 20000));
	}
	for (k = 0; k < 4; k++) {
		struct pset *s = active_find(a, Z_UTC, PERIOD_DAY, d0 + off[k]);

		assert_non_null(s);
		assert_int_equal(pset_count(s), 750);
		for (u = 0; u < 3000; u++)
			assert_int_equal(pset_contains(s, u * 4 +
			    (uint32_t)(u % 4)), u % 4 == k);
		assert_int_equal(pset_dim_count(s, DIM_COUNTRY, 0), 750);
	}
	/* Day and month sets of 4 zones, 4 days in 4 months. */
	assert_int_equal(active_pset_count(a), 4 * NZ * 2);
	active_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(active_bounds_are_exclusive),
		cmocka_unit_test(start_attribution_in_zones),
		cmocka_unit_test(span_attribution_closed_interval),
		cmocka_unit_test(breakdown_counts_sum_to_total),
		cmocka_unit_test(disabled_dimensions_are_not_counted),
		cmocka_unit_test(breakdown_uses_metadata_of_first_count),
		cmocka_unit_test(sketch_matches_exact_count),
		cmocka_unit_test(period_bounds_follow_dst),
		cmocka_unit_test(pset_bookkeeping),
		cmocka_unit_test(pset_grows_past_many_resizes),
		cmocka_unit_test(index_is_the_smaller_of_table_and_bitmap),
		cmocka_unit_test(combinations_past_the_limit_fold_to_unknown),
		cmocka_unit_test(periods_sharing_a_cache_place_stay_apart),
	};

	return cmocka_run_group_tests(tests, open_zones, close_zones);
}
