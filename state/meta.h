/*
 * meta: the user metadata table (SPEC section 4), a global table that every
 * instance holds in full, fed from the compacted metadata topic.
 *
 * Dimension values are interned per dimension: code 0 is always "unknown"
 * (a user without metadata, or an empty value), so the engine can store a
 * user's breakdown as three small integers.
 */
#ifndef AD_META_H
#define AD_META_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"

#define META_UNKNOWN	0

struct meta_entry {
	int32_t  join_date;		/* days since 1970-01-01 */
	uint16_t codes[DIM_COUNT];
};

struct meta;

struct meta *meta_new(void);
void meta_free(struct meta *);
/* Upsert, or delete on a tombstone. The record must be valid. */
void meta_apply(struct meta *, const struct meta_rec *);
/* The user's metadata, or NULL when unknown (never seen or deleted). */
const struct meta_entry *meta_get(const struct meta *, struct strv user_id);
/*
 * For callers that cache lookups: the table's generation changes on every
 * meta_apply, and a user's id (META_NONE when never seen) is stable.
 */
#define META_NONE	UINT32_MAX
uint32_t meta_generation(const struct meta *);
uint32_t meta_find(const struct meta *, struct strv user_id);
/* The same with h = strdict_hash_of(user_id); and look-ahead hints for a
 * lookup to come: the dictionary slot, then its entry and record. */
uint32_t meta_find_hashed(const struct meta *, struct strv user_id,
    uint64_t h);
void meta_prefetch(const struct meta *, uint64_t h);
void meta_prefetch_entry(const struct meta *, uint64_t h);
/* Starts loading the metadata of an id from meta_find. */
void meta_prefetch_id(const struct meta *, uint32_t id);
/* The metadata of an id from meta_find, or NULL when deleted/none. */
const struct meta_entry *meta_get_id(const struct meta *, uint32_t id);
/* The codes a user without metadata has. */
const struct meta_entry *meta_unknown(void);
/* String of a code; META_UNKNOWN gives "unknown". */
struct strv meta_value(const struct meta *, enum dim, uint16_t code);
/* Code of a value, interning it. Empty or "unknown" gives META_UNKNOWN. */
uint16_t meta_code(struct meta *, enum dim, struct strv value);
/* Number of codes of a dimension, "unknown" included. */
uint16_t meta_value_count(const struct meta *, enum dim);
/* Users with metadata. */
size_t meta_count(const struct meta *);
size_t meta_memory(const struct meta *);

#endif
