/*
 * tzcal: calendar days and months in a reporting time zone (see tzcal.h).
 *
 * Design
 * ------
 * ICU knows the zone rules but costs about a microsecond per question, and
 * the engine asks once per event per reporting zone. So tzcal_open asks ICU
 * once for every UTC offset change of the zone between 1800 and 2400 and
 * keeps them as a step function off(t): segment i covers instants
 * [trans[i], trans[i+1]) with offset offs[i]; segment 0 reaches back to
 * -infinity and the last one forward to +infinity (fixed offsets outside
 * the covered years).
 *
 * From that function, the start of local day d is the first instant t with
 * t + off(t) >= d * 86400000: a skipped midnight yields the instant of the
 * transition, a repeated one its first occurrence, a skipped day (Samoa
 * 2011-12-30) a zero-length day. Day starts are cached in blocks of 512
 * days, filled on first use; tzcal_day(ts) is then the largest d with
 * start(d) <= ts, which is one of UTC day u-1, u, u+1 because every offset
 * is less than a day: two table reads per call.
 *
 * Civil dates use the days-from-civil arithmetic on 400-year eras of the
 * proleptic Gregorian calendar (eras of 146097 days, years counted from
 * March so that the leap day is last).
 */
#include "tzcal.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include "xmalloc.h"

#define TZ_YEAR_LO	1800	/* ICU rules are used for [LO, HI) */
#define TZ_YEAR_HI	2400
#define TZ_BLOCK_SHIFT	9
#define TZ_BLOCK_DAYS	(1 << TZ_BLOCK_SHIFT)
#define TZ_ID_MAX	128	/* longest zone id accepted, in bytes */
#define TZ_OFFSET_MAX	(20 * 3600 * 1000)	/* sanity bound, ms */
#define TZ_TRANS_MAX	100000	/* guard against a runaway ICU loop */

struct tzcal {
	char	 *name;		/* as given */
	char	 *canonical;	/* ICU's canonical id */
	int64_t	 *trans;	/* trans[0] unused: segment 0 starts at -inf */
	int32_t	 *offs;		/* UTC offset of each segment, ms */
	size_t	  nseg;
	int32_t	  day_lo;	/* first day of the cached range */
	uint32_t  ndays;	/* days in the cached range */
	int64_t	**blocks;	/* day starts, TZ_BLOCK_DAYS per block, lazy */
	size_t	  nblocks;
};

/* --- civil calendar ---------------------------------------------------- */

static int64_t
floordiv64(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b) != 0 && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static int32_t
clamp32(int64_t v)
{
	if (v > INT32_MAX)
		return INT32_MAX;
	if (v < INT32_MIN)
		return INT32_MIN;
	return (int32_t)v;
}

/* Days since 1970-01-01; m and d may lie outside their ranges and carry. */
static int64_t
days_from_civil64(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe, mp;

	y += floordiv64(m - 1, 12);
	m -= floordiv64(m - 1, 12) * 12;
	/* Years start in March, so February's leap day ends the year. */
	if (m <= 2)
		y--;
	mp = (m + 9) % 12;			/* March = 0 */
	era = floordiv64(y, 400);
	yoe = y - era * 400;			/* [0, 399] */
	doy = (153 * mp + 2) / 5;		/* day of year of the 1st */
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	/* 719468 = days from 0000-03-01 to 1970-01-01. */
	return era * 146097 + doe - 719468 + (d - 1);
}

int32_t
tzcal_days_from_civil(int y, int m, int d)
{
	return clamp32(days_from_civil64(y, m, d));
}

void
tzcal_civil_from_days(int32_t day, int *y, int *m, int *d)
{
	int64_t z = (int64_t)day + 719468;
	int64_t era = floordiv64(z, 146097);
	int64_t doe = z - era * 146097;		/* [0, 146096] */
	int64_t yoe, doy, mp;

	/* Remove the leap days before doe to get whole 365-day years. */
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(era * 400 + yoe + (*m <= 2));
}

int32_t
tzcal_month_of_day(int32_t day)
{
	int y, m, d;

	tzcal_civil_from_days(day, &y, &m, &d);
	return y * 12 + (m - 1);
}

int32_t
tzcal_month_first_day(int32_t month)
{
	int64_t y = floordiv64(month, 12);

	return clamp32(days_from_civil64(y, month - y * 12 + 1, 1));
}

static bool
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int32_t
tzcal_month_days(int32_t month)
{
	static const int8_t len[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	int64_t y = floordiv64(month, 12);
	int m = (int)(month - y * 12);

	return len[m] + (m == 1 && is_leap(y));
}

/* --- zone rules from ICU ----------------------------------------------- */

static int
zone_offset(UCalendar *cal, int64_t t, int32_t *off)
{
	UErrorCode st = U_ZERO_ERROR;
	int32_t raw, dst;

	ucal_setMillis(cal, (UDate)t, &st);
	raw = ucal_get(cal, UCAL_ZONE_OFFSET, &st);
	dst = ucal_get(cal, UCAL_DST_OFFSET, &st);
	if (U_FAILURE(st))
		return -1;
	*off = raw + dst;
	if (*off <= -TZ_OFFSET_MAX || *off >= TZ_OFFSET_MAX)
		return -1;
	return 0;
}

static void
push_segment(struct tzcal *z, size_t *cap, int64_t start, int32_t off)
{
	size_t tcap = *cap;

	z->trans = xgrow(z->trans, &tcap, z->nseg + 1, sizeof *z->trans);
	z->offs = xgrow(z->offs, cap, z->nseg + 1, sizeof *z->offs);
	z->trans[z->nseg] = start;
	z->offs[z->nseg] = off;
	z->nseg++;
}

/*
 * Collect the offset changes strictly inside the covered range, shrunk by
 * two days at each end: that margin is what makes the fixed offsets used
 * outside the table agree with the table at its edges.
 */
static int
load_transitions(struct tzcal *z, UCalendar *cal)
{
	int64_t lo = ((int64_t)z->day_lo + 2) * TZCAL_DAY_MS;
	int64_t hi = ((int64_t)z->day_lo + z->ndays - 2) * TZCAL_DAY_MS;
	int64_t t = lo;
	size_t cap = 0;
	int32_t off;

	if (zone_offset(cal, lo, &off) != 0)
		return -1;
	push_segment(z, &cap, INT64_MIN, off);
	for (;;) {
		UErrorCode st = U_ZERO_ERROR;
		UDate next;

		ucal_setMillis(cal, (UDate)t, &st);
		if (U_FAILURE(st))
			return -1;
		if (!ucal_getTimeZoneTransitionDate(cal,
		    UCAL_TZ_TRANSITION_NEXT, &next, &st)) {
			if (U_FAILURE(st))
				return -1;
			break;		/* no more transitions: fixed offset */
		}
		if (U_FAILURE(st) || next <= (UDate)t)
			return -1;
		if (next >= (UDate)hi)
			break;
		t = (int64_t)next;
		if (zone_offset(cal, t, &off) != 0)
			return -1;
		/* Changes of name or of the raw/DST split alone don't matter. */
		if (off != z->offs[z->nseg - 1])
			push_segment(z, &cap, t, off);
		if (z->nseg > TZ_TRANS_MAX)
			return -1;
	}
	return 0;
}

/* ICU falls back to GMT for unknown ids: only accept its system zones. */
static int
check_zone_id(const char *zone, UChar *uid, int32_t *ulen, char **canonical)
{
	UChar canon[TZ_ID_MAX];
	char cbuf[TZ_ID_MAX];
	UErrorCode st = U_ZERO_ERROR;
	UBool system = 0;
	size_t len = strlen(zone), i;
	int32_t clen;

	if (len == 0 || len >= TZ_ID_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		char c = zone[i];

		/* Zone ids are ASCII; ICU's invariant conversion needs that. */
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '/' || c == '_' ||
		    c == '-' || c == '+'))
			return -1;
	}
	u_charsToUChars(zone, uid, (int32_t)len);
	*ulen = (int32_t)len;
	clen = ucal_getCanonicalTimeZoneID(uid, *ulen, canon, TZ_ID_MAX,
	    &system, &st);
	if (U_FAILURE(st) || st == U_STRING_NOT_TERMINATED_WARNING ||
	    !system || clen <= 0 || clen >= TZ_ID_MAX)
		return -1;
	u_UCharsToChars(canon, cbuf, clen);
	cbuf[clen] = '\0';
	if (strcmp(cbuf, "Etc/Unknown") == 0)
		return -1;
	*canonical = xstrdup(cbuf);
	return 0;
}

struct tzcal *
tzcal_open(const char *zone, char **cause)
{
	UChar uid[TZ_ID_MAX];
	UErrorCode st = U_ZERO_ERROR;
	UCalendar *cal;
	struct tzcal *z;
	int32_t ulen, day_hi;
	char *canonical;

	if (zone == NULL || *zone == '\0') {
		*cause = xstrdup("empty time zone name");
		return NULL;
	}
	if (check_zone_id(zone, uid, &ulen, &canonical) != 0) {
		*cause = xasprintf("unknown time zone \"%.*s\"", TZ_ID_MAX,
		    zone);
		return NULL;
	}
	cal = ucal_open(uid, ulen, "", UCAL_GREGORIAN, &st);
	if (U_FAILURE(st) || cal == NULL) {
		*cause = xasprintf("time zone %s: ICU: %s", zone,
		    u_errorName(st));
		free(canonical);
		return NULL;
	}

	z = xcalloc(1, sizeof *z);
	z->name = xstrdup(zone);
	z->canonical = canonical;
	z->day_lo = tzcal_days_from_civil(TZ_YEAR_LO, 1, 1);
	day_hi = tzcal_days_from_civil(TZ_YEAR_HI, 1, 1);
	z->ndays = (uint32_t)(day_hi - z->day_lo);
	if (load_transitions(z, cal) != 0) {
		*cause = xasprintf("time zone %s: cannot read its rules from "
		    "ICU", zone);
		ucal_close(cal);
		tzcal_free(z);
		return NULL;
	}
	ucal_close(cal);
	z->nblocks = (z->ndays + TZ_BLOCK_DAYS - 1) >> TZ_BLOCK_SHIFT;
	z->blocks = xcalloc(z->nblocks, sizeof *z->blocks);
	return z;
}

void
tzcal_free(struct tzcal *z)
{
	size_t i;

	if (z == NULL)
		return;
	for (i = 0; i < z->nblocks; i++)
		free(z->blocks[i]);
	free(z->blocks);
	free(z->trans);
	free(z->offs);
	free(z->canonical);
	free(z->name);
	free(z);
}

const char *
tzcal_name(const struct tzcal *z)
{
	return z->name;
}

const char *
tzcal_canonical_name(const struct tzcal *z)
{
	return z->canonical;
}

/* --- day starts -------------------------------------------------------- */

/*
 * Fill one block. The first segment that reaches local time L is found by
 * a forward scan: a segment whose local times all lie below L also lies
 * below every later midnight, so the scan never moves back.
 *
 * Engines on two threads share a zone (docs/pipeline.md), so a block is
 * published with a compare-and-swap: two threads that fill the same block
 * compute the same values, and the loser frees its copy.
 */
static int64_t *
fill_block(struct tzcal *z, uint32_t b)
{
	int64_t *starts = xmalloc(TZ_BLOCK_DAYS * sizeof *starts);
	int64_t *expected = NULL;
	int64_t first = (int64_t)z->day_lo + ((int64_t)b << TZ_BLOCK_SHIFT);
	size_t i = 0;
	int k;

	for (k = 0; k < TZ_BLOCK_DAYS; k++) {
		int64_t local = (first + k) * TZCAL_DAY_MS, t;

		while (i + 1 < z->nseg && z->trans[i + 1] + z->offs[i] <= local)
			i++;
		t = local - z->offs[i];
		if (i > 0 && t < z->trans[i])
			t = z->trans[i];	/* midnight skipped */
		starts[k] = t;
	}
	if (!__atomic_compare_exchange_n(&z->blocks[b], &expected, starts,
	    false, __ATOMIC_RELEASE, __ATOMIC_ACQUIRE)) {
		free(starts);
		return expected;	/* the other thread's */
	}
	return starts;
}

static inline int64_t
day_start(struct tzcal *z, int32_t day)
{
	uint32_t idx = (uint32_t)day - (uint32_t)z->day_lo;
	int64_t *blk;

	if (__builtin_expect(idx >= z->ndays, 0)) {
		/* Outside the rules: the fixed offset at that edge. */
		int32_t off = day < z->day_lo ? z->offs[0] :
		    z->offs[z->nseg - 1];

		return (int64_t)day * TZCAL_DAY_MS - off;
	}
	blk = __atomic_load_n(&z->blocks[idx >> TZ_BLOCK_SHIFT],
	    __ATOMIC_ACQUIRE);
	if (__builtin_expect(blk == NULL, 0))
		blk = fill_block(z, idx >> TZ_BLOCK_SHIFT);
	return blk[idx & (TZ_BLOCK_DAYS - 1)];
}

int32_t
tzcal_day(struct tzcal *z, int64_t ts_ms)
{
	int64_t u = floordiv64(ts_ms, TZCAL_DAY_MS);
	int32_t d;

	/* Keep d - 1 and d + 1 representable; far instants clamp. */
	if (u > INT32_MAX - 1)
		u = INT32_MAX - 1;
	else if (u < INT32_MIN + 1)
		u = INT32_MIN + 1;
	d = (int32_t)u;
	/*
	 * Starts are monotonic, so counting the two that have passed gives
	 * the day without a branch to mispredict (offsets near +-12 h).
	 */
	return d - 1 + (ts_ms >= day_start(z, d)) +
	    (ts_ms >= day_start(z, d + 1));
}

int64_t
tzcal_day_start(struct tzcal *z, int32_t day)
{
	return day_start(z, day);
}

int64_t
tzcal_day_length_ms(struct tzcal *z, int32_t day)
{
	if (day == INT32_MAX)
		return TZCAL_DAY_MS;
	return day_start(z, day + 1) - day_start(z, day);
}

int32_t
tzcal_month(struct tzcal *z, int64_t ts_ms)
{
	return tzcal_month_of_day(tzcal_day(z, ts_ms));
}

int64_t
tzcal_month_start(struct tzcal *z, int32_t month)
{
	return day_start(z, tzcal_month_first_day(month));
}

/* --- text -------------------------------------------------------------- */

static void
put_digits(char *out, int64_t v, int n)
{
	while (n-- > 0) {
		out[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void
tzcal_format_day(int32_t day, char out[11])
{
	int32_t lo = tzcal_days_from_civil(0, 1, 1);
	int32_t hi = tzcal_days_from_civil(9999, 12, 31);
	int y, m, d;

	tzcal_civil_from_days(day < lo ? lo : day > hi ? hi : day, &y, &m, &d);
	put_digits(out, y, 4);
	out[4] = '-';
	put_digits(out + 5, m, 2);
	out[7] = '-';
	put_digits(out + 8, d, 2);
	out[10] = '\0';
}

void
tzcal_format_month(int32_t month, char out[8])
{
	int32_t hi = 9999 * 12 + 11;

	if (month < 0)
		month = 0;
	else if (month > hi)
		month = hi;
	put_digits(out, month / 12, 4);
	out[4] = '-';
	put_digits(out + 5, month % 12 + 1, 2);
	out[7] = '\0';
}

/* Read exactly n decimal digits. */
static int
get_digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/* "YYYY-MM-DD" at s (10 bytes available), valid date; no terminator check. */
static int
get_date(const char *s, int32_t *day)
{
	int y, m, d;

	if (get_digits(s, 4, &y) != 0 || s[4] != '-' ||
	    get_digits(s + 5, 2, &m) != 0 || s[7] != '-' ||
	    get_digits(s + 8, 2, &d) != 0)
		return -1;
	if (m < 1 || m > 12 || d < 1 ||
	    d > tzcal_month_days(y * 12 + m - 1))
		return -1;
	*day = tzcal_days_from_civil(y, m, d);
	return 0;
}

int
tzcal_parse_day(const char *s, int32_t *day)
{
	if (strnlen(s, 11) != 10)
		return -1;
	return get_date(s, day);
}

int
tzcal_parse_month(const char *s, int32_t *month)
{
	int y, m;

	if (strnlen(s, 8) != 7 || get_digits(s, 4, &y) != 0 ||
	    s[4] != '-' || get_digits(s + 5, 2, &m) != 0 || m < 1 || m > 12)
		return -1;
	*month = y * 12 + m - 1;
	return 0;
}

int
tzcal_parse_utc_timestamp(const char *s, size_t len, int64_t *ms)
{
	int32_t day;
	int hh, mi, ss, frac = 0, scale = 100;
	size_t i = 19;

	if (len < 19 || memchr(s, '\0', 19) != NULL || get_date(s, &day) != 0 ||
	    (s[10] != ' ' && s[10] != 'T') ||
	    get_digits(s + 11, 2, &hh) != 0 || s[13] != ':' ||
	    get_digits(s + 14, 2, &mi) != 0 || s[16] != ':' ||
	    get_digits(s + 17, 2, &ss) != 0 || hh > 23 || mi > 59 || ss > 59)
		return -1;
	if (i < len && s[i] == '.') {
		size_t start = ++i;

		/* Up to nanoseconds; digits beyond ms are truncated. */
		while (i < len && i - start < 9 && s[i] >= '0' && s[i] <= '9') {
			frac += (s[i] - '0') * scale;
			scale /= 10;
			i++;
		}
		if (i == start)
			return -1;
	}
	if (i < len && s[i] == 'Z')
		i++;
	if (i != len)
		return -1;
	*ms = (int64_t)day * TZCAL_DAY_MS +
	    ((int64_t)hh * 3600 + mi * 60 + ss) * 1000 + frac;
	return 0;
}
