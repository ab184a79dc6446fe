/*
 * rollup: active-user counts of a period across partitions.
 *
 * Each partition engine counts the users it saw. Users are keyed by
 * user_id in the input, so normally a user lives in one partition, but
 * the rollup does not rely on it: it unions the exact sets by user id
 * string (a user seen in two partitions counts once, under the values of
 * the first partition that has it) and merges the sketches.
 */
#ifndef AD_ROLLUP_H
#define AD_ROLLUP_H

#include <stddef.h>
#include <stdint.h>

#include "active.h"
#include "event.h"

struct engine;
struct hll;

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
void rollup_free(struct rollup *);

/* Sorted, distinct periods of a kind present in any engine. */
size_t rollup_periods(struct engine *const *engines, size_t n, int zone,
    enum period_kind, int32_t **periods);

#endif
