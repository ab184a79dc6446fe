/* owners: the partition of every user, to detect overlap (see owners.h). */
#include "owners.h"

#include <stdlib.h>

#include "xmalloc.h"

#define PART_BITS	16
#define PART_MASK	((UINT64_C(1) << PART_BITS) - 1)
#define MIN_SLOTS	1024
/*
 * Old slots moved per add while the table grows. The new table (twice the
 * slots) reaches 3/4 after 3/4 of the old one's size in adds, and the old
 * one is moved after 1/8 of it: the move always ends first.
 */
#define MOVE_STEP	8

/*
 * Growing is incremental: rebuilding the table at once stopped the loop
 * in proportion to the users (450-470 ms at 6.3M users). While `old` is
 * set, users are in either table: new ones go into `slot`, and each add
 * moves MOVE_STEP of old's slots into it.
 */
struct owners {
	uint64_t *slot;		/* hash & ~PART_MASK | partition + 1; 0 empty */
	size_t    mask;
	uint64_t *old;		/* the table being moved out of, or NULL */
	size_t    oldmask;
	size_t    moved;	/* old's slots before this index are moved */
	size_t    count;	/* in both tables */
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
	free(o->old);
	free(o);
}

/* The table's bits of the hash are above the partition's. */
static size_t
slot_index(size_t mask, uint64_t v)
{
	return (size_t)(v >> PART_BITS) & mask;
}

static void
place(uint64_t *t, size_t mask, uint64_t v)
{
	size_t i = slot_index(mask, v);

	while (t[i] != 0)
		i = (i + 1) & mask;
	t[i] = v;
}

/* Moves up to n of old's slots into the table; frees old after its last. */
static void
move_some(struct owners *o, size_t n)
{
	size_t end;

	if (o->old == NULL)
		return;
	end = o->oldmask + 1 - o->moved > n ? o->moved + n : o->oldmask + 1;
	for (; o->moved < end; o->moved++)
		if (o->old[o->moved] != 0)
			place(o->slot, o->mask, o->old[o->moved]);
	if (o->moved > o->oldmask) {
		free(o->old);
		o->old = NULL;
	}
}

/*
 * Rebuilds into nslots slots without the users of partition `drop` (-1:
 * none; a stored partition is never 0 in its bits), at once.
 */
static void
rebuild(struct owners *o, size_t nslots, int32_t drop)
{
	uint64_t *old, gone = (uint64_t)(drop + 1);
	size_t n, i;

	move_some(o, SIZE_MAX);
	old = o->slot;
	n = o->mask + 1;
	o->slot = xcalloc(nslots, sizeof *o->slot);
	o->mask = nslots - 1;
	o->count = 0;
	for (i = 0; i < n; i++) {
		if (old[i] == 0 || (old[i] & PART_MASK) == gone)
			continue;
		place(o->slot, o->mask, old[i]);
		o->count++;
	}
	free(old);
}

/*
 * The slots of v's hash in one table (all lie before the first empty
 * slot; those before `from` are skipped, as moved copies): 1 if the user
 * is there under v's partition, -1 if another partition holds it (asked
 * by name), else 0. *empty: that first empty slot.
 */
static int
look(const uint64_t *t, size_t mask, size_t from, uint64_t v,
    owners_has_fn has, void *arg, size_t *empty)
{
	uint64_t key = v & ~PART_MASK;
	size_t i;
	int r = 0;

	for (i = slot_index(mask, v); t[i] != 0; i = (i + 1) & mask) {
		uint64_t s = t[i];

		if ((s & ~PART_MASK) != key || i < from)
			continue;
		if (s == v)
			r = 1;
		else if (has(arg, (int32_t)(s & PART_MASK) - 1))
			return -1;
	}
	*empty = i;
	return r;
}

enum owners_result
owners_add(struct owners *o, uint64_t hash, int32_t partition,
    owners_has_fn has, void *arg)
{
	uint64_t v;
	size_t i, j;
	int r, r_old = 0;

	if (partition < 0 || partition > OWNERS_MAX_PARTITION) {
		o->overlap = true;
		return OWNERS_OVERLAP;
	}
	move_some(o, MOVE_STEP);
	v = (hash & ~PART_MASK) | (uint64_t)(partition + 1);
	r = look(o->slot, o->mask, 0, v, has, arg, &i);
	if (r >= 0 && o->old != NULL)
		r_old = look(o->old, o->oldmask, o->moved, v, has, arg, &j);
	if (r < 0 || r_old < 0) {
		o->overlap = true;
		return OWNERS_OVERLAP;
	}
	if (r > 0 || r_old > 0)
		return OWNERS_KNOWN;
	o->slot[i] = v;
	o->count++;
	if (o->count * 4 > (o->mask + 1) * 3) {
		move_some(o, SIZE_MAX);	/* never left by then (MOVE_STEP) */
		o->old = o->slot;
		o->oldmask = o->mask;
		o->moved = 0;
		o->mask = o->mask * 2 + 1;
		o->slot = xcalloc(o->mask + 1, sizeof *o->slot);
	}
	return OWNERS_NEW;
}

void
owners_reserve(struct owners *o, size_t n)
{
	size_t nslots = o->mask + 1;

	/* Rebuilt at once only while it holds few users next to those to
	 * come (a stop of the loop in proportion to them); else the adds
	 * grow it as usual. */
	if (o->count > n / 8)
		return;
	while ((o->count + n) * 4 > nslots * 3)
		nslots *= 2;
	if (nslots != o->mask + 1)
		rebuild(o, nslots, -1);
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
	return sizeof *o + (o->mask + 1) * sizeof *o->slot +
	    (o->old != NULL ? (o->oldmask + 1) * sizeof *o->old : 0);
}
