/*
 * tzcal: calendar days and months in a reporting time zone.
 *
 * A day index is the number of days since 1970-01-01 of a *local* calendar
 * date (proleptic Gregorian); a month index is year * 12 + (month - 1).
 * A zone's rules are read from ICU once, in tzcal_open; afterwards every
 * lookup is arithmetic over a cached table (see docs/time.md).
 *
 * A local day starts at the first instant whose local wall time is at or
 * after its midnight: when a DST change skips midnight (America/Sao_Paulo
 * 2018-11-04) the day starts at the first existing instant (01:00 local),
 * when it repeats midnight the day starts at the first occurrence. The
 * day of an instant is the latest day that has started by then.
 *
 * Zone rules are taken from ICU for 1800..2399; outside that range a zone
 * keeps the fixed UTC offset in effect at the range's edge. Day indices
 * are clamped to int32 for instants beyond about +-5.8 million years.
 */
#ifndef AD_TZCAL_H
#define AD_TZCAL_H

#include <stddef.h>
#include <stdint.h>

#define TZCAL_DAY_MS	86400000LL

struct tzcal;		/* one zone's cached rules; not thread-safe */

/* Open an IANA zone ("UTC", "Europe/London"). NULL + *cause if unknown. */
struct tzcal	*tzcal_open(const char *zone, char **cause);
void		 tzcal_free(struct tzcal *);
/* The zone name exactly as given to tzcal_open. */
const char	*tzcal_name(const struct tzcal *);
/* ICU's canonical id of the zone ("US/Eastern" -> "America/New_York"). */
const char	*tzcal_canonical_name(const struct tzcal *);

/* Local day index of an instant (UTC epoch milliseconds). */
int32_t		 tzcal_day(struct tzcal *, int64_t ts_ms);
/* UTC ms of the first instant of local day `day`. */
int64_t		 tzcal_day_start(struct tzcal *, int32_t day);
/* Length of local day `day` in ms: usually 24 h, 23 h or 25 h on DST days. */
int64_t		 tzcal_day_length_ms(struct tzcal *, int32_t day);
/* Local month index of an instant. */
int32_t		 tzcal_month(struct tzcal *, int64_t ts_ms);
/* UTC ms of the first instant of local month `month`. */
int64_t		 tzcal_month_start(struct tzcal *, int32_t month);

/*
 * Civil-calendar arithmetic (proleptic Gregorian), no zone. Years must lie
 * within +-5,000,000 so that day indices fit int32.
 */
int32_t		 tzcal_days_from_civil(int y, int m, int d);
void		 tzcal_civil_from_days(int32_t day, int *y, int *m, int *d);
int32_t		 tzcal_month_of_day(int32_t day);	/* y * 12 + m - 1 */
int32_t		 tzcal_month_first_day(int32_t month);
int32_t		 tzcal_month_days(int32_t month);	/* 28..31 */

/*
 * Text forms used by the CLI, keys and outputs. Formatting clamps to years
 * 0000..9999 (the only ones the fixed width can show).
 */
void		 tzcal_format_day(int32_t day, char out[11]);	/* YYYY-MM-DD */
void		 tzcal_format_month(int32_t month, char out[8]);	/* YYYY-MM */
/* Strict "YYYY-MM-DD" of a valid date; 0 ok, -1 bad. */
int		 tzcal_parse_day(const char *s, int32_t *day);
/* Strict "YYYY-MM"; 0 ok, -1 bad. */
int		 tzcal_parse_month(const char *s, int32_t *month);
/*
 * "YYYY-MM-DD HH:MM:SS" or "YYYY-MM-DDTHH:MM:SS", then an optional fraction
 * of 1..9 digits (truncated to ms) and an optional "Z", read as UTC; the
 * whole of s[0..len) must match. 0 ok with *ms set, -1 bad.
 */
int		 tzcal_parse_utc_timestamp(const char *s, size_t len, int64_t *ms);

#endif
