/*
 * active: daily and monthly active-user sets (SPEC section 2).
 *
 * One `struct active` per input partition. For every configured reporting
 * zone it keeps one period set (pset) per day and per month: the exact set
 * of users, each with the dimension codes it is counted under, exact counts
 * per dimension value, and HyperLogLog sketches of the total and of every
 * dimension value, side by side.
 *
 * Breakdown rule: a user is counted in a period under the metadata known
 * when the user's first active event of that period is processed, and only
 * once per dimension; so per period the values of a dimension always sum to
 * the total. Metadata that arrives later applies to later periods.
 */
#ifndef AD_ACTIVE_H
#define AD_ACTIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "meta.h"

struct hll;
struct tzcal;

#define ACTIVE_MAX_ZONES	8

enum period_kind {
	PERIOD_DAY = 0,
	PERIOD_MONTH = 1
};

struct active_conf {
	struct tzcal *const *zones;	/* reporting zones, not owned */
	size_t        n_zones;
	bool          span;		/* attribution = span, else start */
	int64_t       min_ms;		/* active iff min_ms < duration < max_ms */
	int64_t       max_ms;
	int           hll_precision;
	unsigned      dims_mask;	/* bit (1 << dim) per enabled dimension */
};

/*
 * 6 bytes: entries are most of a set's memory. The user's dimension codes
 * are a combination id, numbered by the set's active instance in first-use
 * order (pset_entry_codes); a partition's users share a few hundred.
 */
struct pentry {
	uint32_t uid;
	uint16_t combo;
} __attribute__((packed));

struct active;
struct pset;

struct active *active_new(const struct active_conf *);
void active_free(struct active *);
const struct active_conf *active_conf(const struct active *);

bool active_is_active(const struct active *, int64_t duration_ms);
/*
 * Counts user `uid` (hash `uhash`, dimension codes `me`) in every period
 * an event (ts, duration) is attributed to, in every zone. Returns false
 * (and counts nothing) when the duration is not active.
 */
bool active_add(struct active *, uint32_t uid, uint64_t uhash,
    const struct meta_entry *me, int64_t ts_ms, int64_t duration_ms);
/* Look-ahead hint: starts loading the slots active_add will probe for an
 * event of uid at ts (the sets of its start day and month). */
void active_prefetch(const struct active *, uint32_t uid, int64_t ts_ms);
/* Adds one entry as persisted; returns false if the user was already in. */
bool active_load_entry(struct active *, int zone, enum period_kind,
    int32_t period, uint32_t uid, uint64_t uhash, const uint16_t *codes);
/*
 * Loading a chunk of N entries, of user ids below uid_end (a bound, not a
 * promise): room for them in the set at once (one growth instead of a
 * doubling series; uid_end chooses between a slot table and a bitmap),
 * and the slot of a user to be loaded soon requested ahead. Both only
 * speed the loads up.
 */
void active_load_reserve(struct active *, int zone, enum period_kind,
    int32_t period, size_t n, uint32_t uid_end);
void active_load_prefetch(const struct active *, int zone,
    enum period_kind, int32_t period, uint32_t uid);

struct pset *active_find(const struct active *, int zone, enum period_kind,
    int32_t period);
/* Iteration over all psets: start with *pos = 0; NULL at the end. */
struct pset *active_next(const struct active *, size_t *pos);
size_t active_pset_count(const struct active *);
size_t active_memory(const struct active *);

int pset_zone(const struct pset *);
enum period_kind pset_kind(const struct pset *);
int32_t pset_period(const struct pset *);
size_t pset_count(const struct pset *);
bool pset_contains(const struct pset *, uint32_t uid);
/* Bytes of its membership index: a slot table, or a bitmap of ids. */
size_t pset_index_bytes(const struct pset *);
/* Entries in insertion order. */
const struct pentry *pset_entries(const struct pset *, size_t *n);
/* The dimension codes of an entry of the set (DIM_COUNT of them). */
const uint16_t *pset_entry_codes(const struct pset *, const struct pentry *);
/* Exact users per dimension value; codes >= pset_codes() count 0. */
uint64_t pset_dim_count(const struct pset *, enum dim, uint16_t code);
uint16_t pset_codes(const struct pset *, enum dim);
const struct hll *pset_hll(const struct pset *);
/* NULL when no user has that value. */
const struct hll *pset_dim_hll(const struct pset *, enum dim, uint16_t code);
/*
 * The sketches as they are, without the hashes still waiting (which
 * pset_hll and pset_dim_hll fold in first), and those hashes with their
 * entries (the set's last n): a union of many sets takes the hashes
 * straight, and no set's sketch grows for it. Value sketches: call
 * pset_codes first; NULL when no hash of that value was folded yet.
 */
const struct hll *pset_hll_folded(const struct pset *);
const struct hll *pset_dim_hll_folded(const struct pset *, enum dim,
    uint16_t code);
size_t pset_pending(const struct pset *, const uint64_t **hash,
    const struct pentry **ent);

/* Write-behind bookkeeping: entries [0, committed) are durable. */
size_t pset_committed(const struct pset *);
void pset_set_committed(struct pset *, size_t n);
/* Changed since the flag was last cleared (metrics to re-emit). */
bool pset_changed(const struct pset *);
void pset_clear_changed(struct pset *);

/* First instant of the period in its zone, and of the next one (UTC ms). */
int64_t active_period_start(const struct active *, int zone,
    enum period_kind, int32_t period);
int64_t active_period_end(const struct active *, int zone,
    enum period_kind, int32_t period);

#endif
