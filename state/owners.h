/*
 * owners: the input partition of every user across the engines of a
 * process, to know whether the partitions' user sets are disjoint.
 *
 * The input is keyed by user_id (SPEC section 1), so with Kafka's
 * partitioner a user lives in one partition, and a period's exact count
 * across partitions is the sum of the partitions' counts (state/rollup.h).
 * Exactness must not depend on the producer, though: the pipeline records
 * every user its engines intern here, and the table notices a user that
 * shows up in a second partition. The flag is sticky: once set, the
 * rollup unions the exact sets until the process restarts.
 *
 * A slot is 8 bytes: the upper 48 bits of the user-id hash, and the
 * partition + 1 in the low 16 bits (0 = empty), in an open-addressing
 * table with linear probing, load factor at most 3/4 (growth moves the
 * old table's slots a few per add, so no add stops for long). Two users
 * whose hashes agree on those 48 bits look alike, so on such a match across
 * partitions the caller is asked whether the other partition really holds
 * the user (by name): a collision neither hides an overlap nor raises a
 * false one. A partition above OWNERS_MAX_PARTITION cannot be stored;
 * adding a user of one sets the flag (the exact union is then used).
 */
#ifndef AD_OWNERS_H
#define AD_OWNERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OWNERS_MAX_PARTITION	65534

enum owners_result {
	OWNERS_NEW,		/* recorded under the partition */
	OWNERS_KNOWN,		/* already recorded under the partition */
	OWNERS_OVERLAP		/* in another partition too: flag set */
};

/* Does `partition` hold the user being added (compared by name)? */
typedef bool (*owners_has_fn)(void *arg, int32_t partition);

struct owners;

struct owners *owners_new(void);
void owners_free(struct owners *);
/*
 * Records that the user with id hash `hash` is in `partition`; `has` is
 * called only for another partition whose slot matches the hash.
 */
enum owners_result owners_add(struct owners *, uint64_t hash,
    int32_t partition, owners_has_fn has, void *arg);
/*
 * Room for n more users in one step, when the table holds few next to
 * them (the users of partitions just loaded): growing by doubling keeps
 * the old table beside the new one while it moves, 64 MiB at the peak of
 * tracking 10M users.
 */
void owners_reserve(struct owners *, size_t n);
/* True once a user was seen in two partitions. */
bool owners_overlap(const struct owners *);
/* Forgets the users of a partition (its engine went away). */
void owners_drop_partition(struct owners *, int32_t partition);
/* Slots in use (distinct user hashes per partition). */
size_t owners_count(const struct owners *);
size_t owners_memory(const struct owners *);

#endif
