/* owners: the partition of every user, to detect overlap (see owners.h). */
#include "owners.h"

#include <stdlib.h>

#include "xmalloc.h"

#define PART_BITS	16
#define PART_MASK	((UINT64_C(1) << PART_BITS) - 1)
#define MIN_SLOTS	1024

struct owners {
	uint64_t *slot;		/* hash & ~PART_MASK | partition + 1; 0 empty */
	size_t    mask;
	size_t    count;
	bool      overlap;
};

struct owners *
owners_new(void)
{
	struct owners *o = xcalloc(1, sizeof *o);

	o->slot = xcalloc(MIN_SLOTS, sizeof *o->slot);
	o->mask = MIN_SLOTS - 1;
	return o;
}

void
owners_free(struct owners *o)
{
	if (o == NULL)
		return;
	free(o->slot);
	free(o);
}

/* The table's bits of the hash are above the partition's. */
static size_t
slot_index(const struct owners *o, uint64_t v)
{
	return (size_t)(v >> PART_BITS) & o->mask;
}

static void
place(struct owners *o, uint64_t v)
{
	size_t i = slot_index(o, v);

	while (o->slot[i] != 0)
		i = (i + 1) & o->mask;
	o->slot[i] = v;
}

/*
 * Rebuilds into nslots slots without the users of partition `drop` (-1:
 * none; a stored partition is never 0 in its bits).
 */
static void
rebuild(struct owners *o, size_t nslots, int32_t drop)
{
	uint64_t *old = o->slot, gone = (uint64_t)(drop + 1);
	size_t n = o->mask + 1, i;

	o->slot = xcalloc(nslots, sizeof *o->slot);
	o->mask = nslots - 1;
	o->count = 0;
	for (i = 0; i < n; i++) {
		if (old[i] == 0 || (old[i] & PART_MASK) == gone)
			continue;
		place(o, old[i]);
		o->count++;
	}
	free(old);
}

enum owners_result
owners_add(struct owners *o, uint64_t hash, int32_t partition,
    owners_has_fn has, void *arg)
{
	uint64_t key = hash & ~PART_MASK, v;
	size_t i;
	bool known = false;

	if (partition < 0 || partition > OWNERS_MAX_PARTITION) {
		o->overlap = true;
		return OWNERS_OVERLAP;
	}
	v = key | (uint64_t)(partition + 1);
	/* Every slot of this hash lies before the first empty slot. */
	for (i = slot_index(o, v); o->slot[i] != 0; i = (i + 1) & o->mask) {
		uint64_t s = o->slot[i];

		if ((s & ~PART_MASK) != key)
			continue;
		if (s == v)
			known = true;
		else if (has(arg, (int32_t)(s & PART_MASK) - 1)) {
			o->overlap = true;
			return OWNERS_OVERLAP;
		}
	}
	if (known)
		return OWNERS_KNOWN;
	o->slot[i] = v;
	o->count++;
	if (o->count * 4 > (o->mask + 1) * 3)
		rebuild(o, (o->mask + 1) * 2, -1);
	return OWNERS_NEW;
}

bool
owners_overlap(const struct owners *o)
{
	return o->overlap;
}

void
owners_drop_partition(struct owners *o, int32_t partition)
{
	size_t n = o->mask + 1;

	if (partition < 0 || partition > OWNERS_MAX_PARTITION)
		return;
	rebuild(o, n, partition);
	/* Shrink while at most 3/16 full, as the table grows at 3/4. */
	while (n > MIN_SLOTS && o->count * 16 <= n * 3)
		n /= 2;
	if (n != o->mask + 1)
		rebuild(o, n, -1);
}

size_t
owners_count(const struct owners *o)
{
	return o->count;
}

size_t
owners_memory(const struct owners *o)
{
	return sizeof *o + (o->mask + 1) * sizeof *o->slot;
}
