/*
 * report: the rows of the DAU/MAU and per-user session queries, computed
 * from partition engines. `activityctl query --state` prints them; the
 * daemon's admin endpoints serve them as JSON.
 */
#ifndef AD_REPORT_H
#define AD_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "active.h"
#include "event.h"

struct engine;
struct meta;

struct active_row {
	int32_t     period;		/* day or month index */
	char        label[11];		/* "YYYY-MM-DD" or "YYYY-MM" */
	struct strv value;		/* dimension value; empty for totals */
	uint64_t    exact;
	double      approx;		/* HyperLogLog estimate */
};

/*
 * Rows of periods lo..hi (inclusive) of a zone, by period; with dim >= 0,
 * one row per dimension value with users, by value name.
 */
size_t report_active(struct engine *const *engines, size_t n,
    const struct meta *, int zone, enum period_kind, int32_t lo, int32_t hi,
    int dim, struct active_row **rows);

struct user_row {
	struct strv user;
	uint64_t    sessions;
	uint64_t    duration_ms;
	uint64_t    actions;
	int64_t     first_seen;
	int64_t     last_seen;
};

/*
 * Users with closed sessions, by user id; with top > 0, the top users by
 * total sessions (ties by user id). A user seen in two partitions is one
 * row. The views point into the engines.
 */
size_t report_users(struct engine *const *engines, size_t n, uint64_t top,
    struct user_row **rows);
double user_row_avg_seconds(const struct user_row *);

#endif
