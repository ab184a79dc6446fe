/*
 * rollup: active-user counts of a period across partitions.
 *
 * Each partition engine counts the users it saw. Users are keyed by
 * user_id in the input, so normally a user lives in one partition; then
 * a period's exact counts are the sums of the partitions' counts
 * (rollup_period_sum, which walks no set). Whether that holds is for the
 * caller to know (state/owners.h). rollup_period does not rely on it: it
 * unions the exact sets by user id string (a user seen in two partitions
 * counts once, under the values of the first partition that has it).
 * Both merge the partitions' sketches, and on engines that share no user
 * both give the same rollup.
 */
#ifndef AD_ROLLUP_H
#define AD_ROLLUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "active.h"
#include "event.h"

struct engine;
struct hll;
struct owners;

struct rollup {
	uint64_t     total;
	struct hll  *hll;
	uint16_t     ncodes[DIM_COUNT];
	uint64_t    *dcount[DIM_COUNT];	/* by metadata code */
	struct hll **dhll[DIM_COUNT];	/* by code; NULL when none */
};

/* NULL when no engine has the period. */
struct rollup *rollup_period(struct engine *const *engines, size_t n,
    int zone, enum period_kind, int32_t period);
/* The same by sums: exact only if no user is in two of the engines. */
struct rollup *rollup_period_sum(struct engine *const *engines, size_t n,
    int zone, enum period_kind, int32_t period);
/*
 * Records in `o` the users that engines[i] (input partition parts[i])
 * interned from seen[i] on, and moves seen[i] to their count; hashes
 * alike across partitions are settled by name. True while no user is in
 * two partitions, i.e. while rollup_period_sum is exact; false from the
 * first one found on (it stops there).
 */
bool rollup_track_users(struct owners *, struct engine *const *engines,
    const int32_t *parts, size_t *seen, size_t n);
void rollup_free(struct rollup *);

/* Sorted, distinct periods of a kind present in any engine. */
size_t rollup_periods(struct engine *const *engines, size_t n, int zone,
    enum period_kind, int32_t **periods);

#endif
