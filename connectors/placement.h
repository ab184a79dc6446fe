/*
 * placement: proof, from Kafka's partitioners, that no user is in two
 * input partitions.
 *
 * A producer places a keyed record by a hash of its key modulo the topic's
 * partition count: librdkafka's default by CRC32 (so kcat and activityctl
 * load), the Java client's by murmur2, Go's Sarama by FNV-1a (librdkafka's
 * fnv1a option). If every (user, partition) pair the engines intern
 * satisfies partition == h(user) mod n for one and the same function h,
 * each user is in exactly one partition, whatever the producers did: the
 * period counts are the sums of the partitions' counts without the owners
 * table (state/owners.h), whose 8-byte slots cost 13 bytes per user at 10M
 * users. A pair that breaks the rule rules its function out; once all
 * three are, the pipeline falls back to the table. A partition added to
 * the topic later is at or past n, so its pairs break the rule for every
 * function.
 *
 * The cost is one hash of each new user id per function still in, and
 * after the first few users only the producers' function is.
 */
#ifndef AD_PLACEMENT_H
#define AD_PLACEMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"

struct placement;

/* For a topic of nparts partitions; nparts <= 0 proves nothing. */
struct placement *placement_new(int32_t nparts);
void placement_free(struct placement *);
/* Rules out the functions that would not have put user in partition;
 * returns placement_holds(). */
bool placement_check(struct placement *, struct strv user, int32_t partition);
/* True while one function placed every pair checked. */
bool placement_holds(const struct placement *);
/* The function still in, for the log ("crc32", "murmur2", "fnv1a"), or
 * NULL. */
const char *placement_name(const struct placement *);

#endif
