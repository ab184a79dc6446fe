/* Unit tests for state/tzcal: civil arithmetic, zones, DST days, parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include "tzcal.h"

#define H	(3600 * 1000LL)
#define M	(60 * 1000LL)

/* UTC epoch ms of a civil date-time, offset given in minutes east of UTC. */
static int64_t
at(int y, int mo, int d, int hh, int mi, int off_min)
{
	return (int64_t)tzcal_days_from_civil(y, mo, d) * TZCAL_DAY_MS +
	    hh * H + mi * M - off_min * M;
}

static struct tzcal *
open_ok(const char *zone)
{
	char *cause = NULL;
	struct tzcal *z = tzcal_open(zone, &cause);

	if (z == NULL)
		fail_msg("tzcal_open(%s): %s", zone, cause);
	assert_null(cause);
	return z;
}

/* --- civil calendar ---------------------------------------------------- */

static void
civil_known_days(void **st)
{
	static const struct { int y, m, d; int32_t day; } cases[] = {
		{ 1970, 1, 1, 0 }, { 1969, 12, 31, -1 }, { 2023, 1, 1, 19358 },
		{ 2024, 2, 29, 19782 }, { 2000, 3, 1, 11017 },
		{ 1900, 1, 1, -25567 }, { 2200, 12, 31, 84370 },
		{ 0, 3, 1, -719468 }, { -1, 12, 31, -719529 },
	};
	size_t i;

	(void)st;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int y, m, d;

		assert_int_equal(tzcal_days_from_civil(cases[i].y, cases[i].m,
		    cases[i].d), cases[i].day);
		tzcal_civil_from_days(cases[i].day, &y, &m, &d);
		assert_int_equal(y, cases[i].y);
		assert_int_equal(m, cases[i].m);
		assert_int_equal(d, cases[i].d);
	}
	/* Out-of-range month and day carry over. */
	assert_int_equal(tzcal_days_from_civil(2023, 13, 1),
	    tzcal_days_from_civil(2024, 1, 1));
	assert_int_equal(tzcal_days_from_civil(2023, 3, 0),
	    tzcal_days_from_civil(2023, 2, 28));
	assert_int_equal(tzcal_days_from_civil(2023, 0, 1),
	    tzcal_days_from_civil(2022, 12, 1));
}

/* Every day of 1600..2600 round-trips and follows its predecessor. */
static void
civil_roundtrip_consecutive(void **st)
{
	int32_t first = tzcal_days_from_civil(1600, 1, 1);
	int32_t last = tzcal_days_from_civil(2600, 12, 31);
	int py = 1599, pm = 12, pd = 31, y, m, d;
	int32_t day;

	(void)st;
	for (day = first; day <= last; day++) {
		tzcal_civil_from_days(day, &y, &m, &d);
		assert_int_equal(tzcal_days_from_civil(y, m, d), day);
		if (d == 1) {
			assert_int_equal(pd, tzcal_month_days(py * 12 + pm - 1));
			assert_int_equal(y * 12 + m - 1, py * 12 + pm);
		} else {
			assert_int_equal(d, pd + 1);
		}
		py = y, pm = m, pd = d;
	}
}

static void
month_arithmetic(void **st)
{
	(void)st;
	assert_int_equal(tzcal_month_of_day(tzcal_days_from_civil(2023, 12,
	    31)), 2023 * 12 + 11);
	assert_int_equal(tzcal_month_of_day(-1), 1969 * 12 + 11);
	assert_int_equal(tzcal_month_of_day(0), 1970 * 12);
	assert_int_equal(tzcal_month_days(2023 * 12 + 1), 28);
	assert_int_equal(tzcal_month_days(2024 * 12 + 1), 29);
	assert_int_equal(tzcal_month_days(1900 * 12 + 1), 28);
	assert_int_equal(tzcal_month_days(2000 * 12 + 1), 29);
	assert_int_equal(tzcal_month_days(2023 * 12 + 0), 31);
	assert_int_equal(tzcal_month_days(2023 * 12 + 3), 30);
	assert_int_equal(tzcal_month_first_day(2023 * 12 + 2),
	    tzcal_days_from_civil(2023, 3, 1));
	assert_int_equal(tzcal_month_first_day(1970 * 12), 0);
	assert_int_equal(tzcal_month_first_day(1969 * 12 + 11), -31);
}

/* --- UTC --------------------------------------------------------------- */

static void
utc_days(void **st)
{
	struct tzcal *z = open_ok("UTC");
	int32_t leap = tzcal_days_from_civil(2024, 2, 29);

	(void)st;
	assert_string_equal(tzcal_name(z), "UTC");
	assert_int_equal(tzcal_day(z, 1672531200000LL), 19358);
	assert_int_equal(tzcal_day(z, 1672531199999LL), 19357);
	assert_int_equal(tzcal_day(z, -1), -1);
	assert_int_equal(tzcal_day(z, 0), 0);
	assert_int_equal(tzcal_day(z, -TZCAL_DAY_MS), -1);
	assert_int_equal(tzcal_day(z, -TZCAL_DAY_MS - 1), -2);
	assert_int_equal(tzcal_day(z, 1709164800000LL), leap);	/* 02-29 */
	assert_int_equal(tzcal_day(z, 1709251199999LL), leap);
	assert_int_equal(tzcal_day(z, 1709251200000LL), leap + 1);
	assert_true(tzcal_day_start(z, 19358) == 1672531200000LL);
	assert_true(tzcal_day_length_ms(z, leap) == TZCAL_DAY_MS);
	assert_int_equal(tzcal_month(z, at(2023, 12, 31, 23, 59, 0)),
	    2023 * 12 + 11);
	tzcal_free(z);
}

/* --- DST zones --------------------------------------------------------- */

/* A local day: its start as UTC ms and its length. */
struct daycase {
	const char *zone;
	int y, m, d;
	int64_t start, len;
};

static void
dst_day_starts_and_lengths(void **st)
{
	static const struct daycase cases[] = {
		{ "America/New_York", 2023, 3, 11, 1678510800000LL, 24 * H },
		{ "America/New_York", 2023, 3, 12, 1678597200000LL, 23 * H },
		{ "America/New_York", 2023, 11, 5, 1699156800000LL, 25 * H },
		{ "Europe/London", 2023, 3, 26, 1679788800000LL, 23 * H },
		{ "Europe/London", 2023, 10, 29, 1698534000000LL, 25 * H },
		/* 30-minute DST shift, +10:30/+11:00. */
		{ "Australia/Lord_Howe", 2023, 4, 2, 1680354000000LL,
		    24 * H + 30 * M },
		{ "Australia/Lord_Howe", 2023, 10, 1, 1696080600000LL,
		    23 * H + 30 * M },
		/* Southern hemisphere: DST ends in April, starts in October. */
		{ "Australia/Sydney", 2023, 4, 2, 1680354000000LL, 25 * H },
		{ "Australia/Sydney", 2023, 10, 1, 1696082400000LL, 23 * H },
		{ "Asia/Kolkata", 2023, 1, 1, 1672511400000LL, 24 * H },
		/* Midnight skipped: the day starts at 01:00 -02 (03:00Z). */
		{ "America/Sao_Paulo", 2018, 11, 4, 1541300400000LL, 23 * H },
		{ "America/Sao_Paulo", 2019, 2, 16, 1550282400000LL, 25 * H },
		/* Samoa skipped 2011-12-30 entirely when it crossed the line. */
		{ "Pacific/Apia", 2011, 12, 29, 1325152800000LL, 24 * H },
		{ "Pacific/Apia", 2011, 12, 30, 1325239200000LL, 0 },
		{ "Pacific/Apia", 2011, 12, 31, 1325239200000LL, 24 * H },
	};
	size_t i;

	(void)st;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct daycase *c = &cases[i];
		struct tzcal *z = open_ok(c->zone);
		int32_t day = tzcal_days_from_civil(c->y, c->m, c->d);

		if (tzcal_day_start(z, day) != c->start ||
		    tzcal_day_length_ms(z, day) != c->len)
			fail_msg("%s %04d-%02d-%02d: start %lld len %lld, "
			    "want %lld %lld", c->zone, c->y, c->m, c->d,
			    (long long)tzcal_day_start(z, day),
			    (long long)tzcal_day_length_ms(z, day),
			    (long long)c->start, (long long)c->len);
		if (c->len > 0) {
			int32_t prev = day - 1, next = day + 1;

			/* Neighbouring instants skip empty days (Apia). */
			while (tzcal_day_length_ms(z, prev) == 0)
				prev--;
			while (tzcal_day_length_ms(z, next) == 0)
				next++;
			assert_int_equal(tzcal_day(z, c->start), day);
			assert_int_equal(tzcal_day(z, c->start - 1), prev);
			assert_int_equal(tzcal_day(z, c->start + c->len - 1),
			    day);
			assert_int_equal(tzcal_day(z, c->start + c->len),
			    next);
		}
		tzcal_free(z);
	}
}

/* An instant and the local date it belongs to. */
struct instcase {
	const char *zone;
	int64_t ts;
	int y, m, d;
};

static void
instants_around_transitions(void **st)
{
	static const struct instcase cases[] = {
		/* 2023-03-12T04:59:59.999Z etc. */
		{ "America/New_York", 1678597199999LL, 2023, 3, 11 },
		{ "America/New_York", 1678597200000LL, 2023, 3, 12 },
		{ "America/New_York", 1678679999999LL, 2023, 3, 12 },
		{ "America/New_York", 1678680000000LL, 2023, 3, 13 },
		/* 06:59:59.999Z (01:59 EDT), 07:00Z (02:00 EDT -> 01:00 EST) */
		{ "America/New_York", 1699167599999LL, 2023, 11, 5 },
		{ "America/New_York", 1699167600000LL, 2023, 11, 5 },
		{ "America/New_York", 1699246799999LL, 2023, 11, 5 },
		{ "America/New_York", 1699246800000LL, 2023, 11, 6 },
		/* 2023-03-26T22:59:59.999Z is 23:59 BST. */
		{ "Europe/London", 1679871599999LL, 2023, 3, 26 },
		{ "Europe/London", 1679871600000LL, 2023, 3, 27 },
		{ "Europe/London", 1698533999999LL, 2023, 10, 28 },
		{ "Europe/London", 1698623999999LL, 2023, 10, 29 },
		{ "Europe/London", 1698624000000LL, 2023, 10, 30 },
		/* 2022-12-31T18:29:59.999Z is 23:59:59.999 IST. */
		{ "Asia/Kolkata", 1672511399999LL, 2022, 12, 31 },
		{ "Asia/Kolkata", 1672511400000LL, 2023, 1, 1 },
		{ "Australia/Lord_Howe", 1696080599999LL, 2023, 9, 30 },
		{ "Australia/Lord_Howe", 1696080600000LL, 2023, 10, 1 },
		{ "Australia/Lord_Howe", 1696165199999LL, 2023, 10, 1 },
		{ "Australia/Lord_Howe", 1696165200000LL, 2023, 10, 2 },
		{ "Australia/Sydney", 1680443999999LL, 2023, 4, 2 },
		{ "Australia/Sydney", 1680444000000LL, 2023, 4, 3 },
		/* Sao Paulo: 02:59:59.999Z is 23:59 -03 on Nov 3. */
		{ "America/Sao_Paulo", 1541300399999LL, 2018, 11, 3 },
		{ "America/Sao_Paulo", 1541300400000LL, 2018, 11, 4 },
		/* Apia: 10:00Z Dec 30 UTC is already Dec 31 local. */
		{ "Pacific/Apia", 1325239199999LL, 2011, 12, 29 },
		{ "Pacific/Apia", 1325239200000LL, 2011, 12, 31 },
	};
	size_t i;

	(void)st;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct instcase *c = &cases[i];
		struct tzcal *z = open_ok(c->zone);
		int32_t want = tzcal_days_from_civil(c->y, c->m, c->d);
		int32_t got = tzcal_day(z, c->ts);

		if (got != want) {
			char buf[11];

			tzcal_format_day(got, buf);
			fail_msg("%s %lld: got %s, want %04d-%02d-%02d",
			    c->zone, (long long)c->ts, buf, c->y, c->m, c->d);
		}
		tzcal_free(z);
	}
}

static void
month_boundary_depends_on_zone(void **st)
{
	struct tzcal *ny = open_ok("America/New_York");
	struct tzcal *utc = open_ok("UTC");
	int64_t ts = at(2023, 1, 31, 23, 30, -5 * 60);	/* 2023-02-01 04:30Z */

	(void)st;
	assert_true(ts == 1675225800000LL);
	assert_int_equal(tzcal_month(ny, ts), 2023 * 12 + 0);
	assert_int_equal(tzcal_month(utc, ts), 2023 * 12 + 1);
	assert_int_equal(tzcal_month_of_day(tzcal_day(ny, ts)), 2023 * 12);
	assert_true(tzcal_month_start(ny, 2023 * 12 + 1) == 1675227600000LL);
	assert_true(tzcal_month_start(utc, 2023 * 12 + 1) == 1675209600000LL);
	tzcal_free(ny);
	tzcal_free(utc);
}

/* --- zone names -------------------------------------------------------- */

static void
unknown_zones_refused(void **st)
{
	static const char *bad[] = {
		"Mars/Olympus", "", "utc", "Etc/Unknown", "GMT+05:00",
		"Europe/London ", "Europe/Lond\xc3\xb6n", "../etc/passwd",
	};
	size_t i;

	(void)st;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *cause = NULL;

		assert_null(tzcal_open(bad[i], &cause));
		assert_non_null(cause);
		if (*bad[i] != '\0' && strstr(cause, bad[i]) == NULL)
			fail_msg("cause \"%s\" does not name \"%s\"", cause,
			    bad[i]);
		free(cause);
	}
	{
		char *cause = NULL;

		assert_null(tzcal_open("", &cause));
		assert_string_equal(cause, "empty time zone name");
		free(cause);
	}
}

static void
alias_keeps_given_name(void **st)
{
	struct tzcal *z = open_ok("US/Eastern");

	(void)st;
	assert_string_equal(tzcal_name(z), "US/Eastern");
	assert_string_equal(tzcal_canonical_name(z), "America/New_York");
	assert_true(tzcal_day_length_ms(z, tzcal_days_from_civil(2023, 3, 12))
	    == 23 * H);
	tzcal_free(z);
}

/* --- range and extremes ------------------------------------------------ */

static void
extremes_clamp(void **st)
{
	struct tzcal *z = open_ok("America/New_York");
	int32_t d2500 = tzcal_days_from_civil(2500, 7, 1);
	int32_t d1700 = tzcal_days_from_civil(1700, 7, 1);

	(void)st;
	assert_int_equal(tzcal_day(z, INT64_MAX), INT32_MAX);
	assert_int_equal(tzcal_day(z, INT64_MIN), INT32_MIN);
	assert_true(tzcal_day_length_ms(z, INT32_MAX) == TZCAL_DAY_MS);
	assert_true(tzcal_day_length_ms(z, INT32_MIN) == TZCAL_DAY_MS);
	/* Beyond the rules: EST after 2400, LMT (-4:56:02) before 1800. */
	assert_true(tzcal_day_start(z, d2500) == at(2500, 7, 1, 5, 0, 0));
	assert_true(tzcal_day_start(z, d1700) ==
	    at(1700, 7, 1, 4, 56, 0) + 2000);
	assert_int_equal(tzcal_day(z, at(2500, 7, 1, 4, 59, 0)), d2500 - 1);
	assert_int_equal(tzcal_day(z, at(2500, 7, 1, 5, 0, 0)), d2500);
	/* DST rules still apply in 2200 and 2399. */
	assert_true(tzcal_day_length_ms(z, tzcal_days_from_civil(2200, 3, 9))
	    == 23 * H);
	assert_true(tzcal_day_length_ms(z, tzcal_days_from_civil(2399, 11, 7))
	    == 25 * H);
	tzcal_free(z);
}

/* Across the whole cached range and beyond, days tile the time line. */
static void
days_tile_the_timeline(void **st)
{
	static const char *zones[] = {
		"UTC", "America/New_York", "Pacific/Apia", "Asia/Kolkata",
		"Australia/Lord_Howe",
	};
	int32_t first = tzcal_days_from_civil(1780, 1, 1);
	int32_t last = tzcal_days_from_civil(2420, 1, 1);
	size_t i;

	(void)st;
	for (i = 0; i < sizeof zones / sizeof zones[0]; i++) {
		struct tzcal *z = open_ok(zones[i]);
		int32_t day;

		for (day = first; day < last; day++) {
			int64_t s = tzcal_day_start(z, day);
			int64_t len = tzcal_day_length_ms(z, day);

			/* 48 h: Apia lived 1892-07-04 twice. */
			if (len < 0 || len > 48 * H)
				fail_msg("%s day %d: length %lld", zones[i],
				    day, (long long)len);
			if (len > 0 && (tzcal_day(z, s) != day ||
			    tzcal_day(z, s + len - 1) != day))
				fail_msg("%s day %d: start %lld maps to %d",
				    zones[i], day, (long long)s,
				    tzcal_day(z, s));
		}
		tzcal_free(z);
	}
}

/* --- cross-check against ICU ------------------------------------------- */

static uint64_t
splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static UCalendar *
icu_cal(const char *zone)
{
	UChar uid[64];
	UErrorCode err = U_ZERO_ERROR;
	UCalendar *cal;

	u_uastrcpy(uid, zone);
	cal = ucal_open(uid, -1, "", UCAL_GREGORIAN, &err);
	assert_false(U_FAILURE(err));
	return cal;
}

static int32_t
icu_local_day(UCalendar *cal, int64_t ts)
{
	UErrorCode err = U_ZERO_ERROR;
	int y, m, d;

	ucal_setMillis(cal, (UDate)ts, &err);
	y = ucal_get(cal, UCAL_EXTENDED_YEAR, &err);
	m = ucal_get(cal, UCAL_MONTH, &err) + 1;
	d = ucal_get(cal, UCAL_DATE, &err);
	assert_false(U_FAILURE(err));
	return tzcal_days_from_civil(y, m, d);
}

static void
cross_check(int ylo, int yhi, int n, uint64_t seed)
{
	static const char *zones[] = {
		"America/New_York", "Europe/London", "Australia/Lord_Howe",
		"America/Sao_Paulo", "Asia/Kathmandu",
	};
	enum { NZ = sizeof zones / sizeof zones[0] };
	struct tzcal *z[NZ];
	UCalendar *cal[NZ];
	int64_t lo = at(ylo, 1, 1, 0, 0, 0), hi = at(yhi, 1, 1, 0, 0, 0);
	int i, k;

	for (k = 0; k < NZ; k++) {
		z[k] = open_ok(zones[k]);
		cal[k] = icu_cal(zones[k]);
	}
	for (i = 0; i < n; i++) {
		int64_t ts = lo + (int64_t)(splitmix(&seed) %
		    (uint64_t)(hi - lo));

		for (k = 0; k < NZ; k++) {
			int32_t day = tzcal_day(z[k], ts);
			int32_t want = icu_local_day(cal[k], ts);

			if (day != want)
				fail_msg("%s ts %lld: day %d, ICU %d",
				    zones[k], (long long)ts, day, want);
			if (!(tzcal_day_start(z[k], day) <= ts &&
			    ts < tzcal_day_start(z[k], day + 1)))
				fail_msg("%s ts %lld: outside day %d",
				    zones[k], (long long)ts, day);
		}
	}
	for (k = 0; k < NZ; k++) {
		ucal_close(cal[k]);
		tzcal_free(z[k]);
	}
}

static void
cross_check_icu_1990_2050(void **st)
{
	(void)st;
	cross_check(1990, 2050, 200000, 42);
}

static void
cross_check_icu_1900_2200(void **st)
{
	(void)st;
	cross_check(1900, 2200, 50000, 7);
}

/* --- text -------------------------------------------------------------- */

static void
format_parse_day_roundtrip(void **st)
{
	static const struct { const char *s; int32_t day; } ok[] = {
		{ "1970-01-01", 0 }, { "1969-12-31", -1 },
		{ "2024-02-29", 19782 }, { "2000-02-29", 11016 },
		{ "0000-01-01", -719528 }, { "9999-12-31", 2932896 },
	};
	static const char *bad[] = {
		"2023-02-29", "2023-13-01", "2023-00-10", "2023-01-00",
		"2023-1-01", "2023-01-1", "2023-01-01x", "2023-01-01 ",
		" 2023-01-01", "2023/01/01", "20230101", "", "1900-02-29",
		"2023-04-31", "+023-01-01",
	};
	size_t i;

	(void)st;
	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char buf[11];
		int32_t day = 12345;

		assert_int_equal(tzcal_parse_day(ok[i].s, &day), 0);
		assert_int_equal(day, ok[i].day);
		tzcal_format_day(day, buf);
		assert_string_equal(buf, ok[i].s);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int32_t day = 12345;

		if (tzcal_parse_day(bad[i], &day) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(day, 12345);
	}
}

static void
format_clamps(void **st)
{
	char d[11], m[8];

	(void)st;
	tzcal_format_day(INT32_MIN, d);
	assert_string_equal(d, "0000-01-01");
	tzcal_format_day(INT32_MAX, d);
	assert_string_equal(d, "9999-12-31");
	tzcal_format_month(-5, m);
	assert_string_equal(m, "0000-01");
	tzcal_format_month(INT32_MAX, m);
	assert_string_equal(m, "9999-12");
}

static void
format_parse_month_roundtrip(void **st)
{
	static const char *bad[] = {
		"2023-13", "2023-00", "2023-1", "2023-01-", "2023-01x", "202301",
		"", "2023",
	};
	char buf[8];
	int32_t month = 0;
	size_t i;

	(void)st;
	assert_int_equal(tzcal_parse_month("2023-12", &month), 0);
	assert_int_equal(month, 2023 * 12 + 11);
	tzcal_format_month(month, buf);
	assert_string_equal(buf, "2023-12");
	assert_int_equal(tzcal_parse_month("1969-01", &month), 0);
	assert_int_equal(month, 1969 * 12);
	tzcal_format_month(month, buf);
	assert_string_equal(buf, "1969-01");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		month = 7;
		if (tzcal_parse_month(bad[i], &month) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(month, 7);
	}
}

static void
parse_utc_timestamps(void **st)
{
	static const struct { const char *s; int64_t ms; } ok[] = {
		{ "2023-05-04 12:34:56", 1683203696000LL },
		{ "2023-05-04T12:34:56", 1683203696000LL },
		{ "2023-05-04T12:34:56Z", 1683203696000LL },
		{ "2023-05-04 12:34:56.250", 1683203696250LL },
		{ "2023-05-04T12:34:56.250Z", 1683203696250LL },
		{ "2023-05-04T12:34:56.2Z", 1683203696200LL },
		{ "2023-05-04T12:34:56.123456789Z", 1683203696123LL },
		{ "1969-12-31T23:59:59.999Z", -1 },
		{ "1970-01-01 00:00:00", 0 },
		{ "2024-02-29 23:59:59", 1709251199000LL },
	};
	static const char *bad[] = {
		"2023-05-04", "2023-05-04 12:34", "2023-05-04 24:00:00",
		"2023-05-04 12:60:00", "2023-05-04 12:34:60",
		"2023-02-29 12:34:56", "2023-05-04X12:34:56",
		"2023-05-04 12:34:56.", "2023-05-04 12:34:56Zx",
		"2023-05-04 12:34:56 ", "2023-05-04 12:34:56+01:00",
		"2023-05-04 12:34:56.1234567890", "2023-05-04 1:34:56",
		"2023-05-04 12:34:56z",
	};
	size_t i;

	(void)st;
	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int64_t ms = 0;

		if (tzcal_parse_utc_timestamp(ok[i].s, strlen(ok[i].s),
		    &ms) != 0)
			fail_msg("refused \"%s\"", ok[i].s);
		assert_true(ms == ok[i].ms);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t ms = 99;

		if (tzcal_parse_utc_timestamp(bad[i], strlen(bad[i]), &ms) !=
		    -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_true(ms == 99);
	}
	/* The length bounds the parse: a CSV field is not NUL-terminated. */
	{
		const char *row = "2023-05-04 12:34:56,login";
		int64_t ms = 0;

		assert_int_equal(tzcal_parse_utc_timestamp(row, 19, &ms), 0);
		assert_true(ms == 1683203696000LL);
		assert_int_equal(tzcal_parse_utc_timestamp(row, 20, &ms), -1);
		assert_int_equal(tzcal_parse_utc_timestamp(row, 18, &ms), -1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(civil_known_days),
		cmocka_unit_test(civil_roundtrip_consecutive),
		cmocka_unit_test(month_arithmetic),
		cmocka_unit_test(utc_days),
		cmocka_unit_test(dst_day_starts_and_lengths),
		cmocka_unit_test(instants_around_transitions),
		cmocka_unit_test(month_boundary_depends_on_zone),
		cmocka_unit_test(unknown_zones_refused),
		cmocka_unit_test(alias_keeps_given_name),
		cmocka_unit_test(extremes_clamp),
		cmocka_unit_test(days_tile_the_timeline),
		cmocka_unit_test(cross_check_icu_1990_2050),
		cmocka_unit_test(cross_check_icu_1900_2200),
		cmocka_unit_test(format_parse_day_roundtrip),
		cmocka_unit_test(format_clamps),
		cmocka_unit_test(format_parse_month_roundtrip),
		cmocka_unit_test(parse_utc_timestamps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
