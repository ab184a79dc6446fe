/*
 * Unit tests for state/owners: a user recorded once per partition, overlap
 * found across partitions, hashes alike on their upper 48 bits settled by
 * the caller's name check (no false alarm, no missed overlap), growth
 * (moved a few slots per add), dropping a partition, partitions out of
 * range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "owners.h"

/* The answers of a test's name check, and the partitions it was asked. */
struct oracle {
	bool    holds[8];	/* by partition */
	int32_t asked[8];
	int     nasked;
};

static bool
ask(void *arg, int32_t partition)
{
	struct oracle *o = arg;

	assert_true(partition >= 0 && partition < 8);
	assert_true(o->nasked < 8);
	o->asked[o->nasked++] = partition;
	return o->holds[partition];
}

/* A check that must not be reached: the hashes differ. */
static bool
never_asked(void *arg, int32_t partition)
{
	(void)arg;
	fail_msg("name check for partition %d", (int)partition);
	return true;
}

/* Distinct 64-bit values, spread like hashes. */
static uint64_t
spread(uint64_t i)
{
	uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ULL;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	return z ^ (z >> 31);
}

static void
new_then_known(void **st)
{
	struct owners *o = owners_new();

	(void)st;
	assert_int_equal(owners_add(o, 0xabcdef0123456789ULL, 3, never_asked,
	    NULL), OWNERS_NEW);
	assert_int_equal(owners_add(o, 0xabcdef0123456789ULL, 3, never_asked,
	    NULL), OWNERS_KNOWN);
	assert_int_equal(owners_add(o, 0x1111222233334444ULL, 3, never_asked,
	    NULL), OWNERS_NEW);
	assert_int_equal(owners_count(o), 2);
	assert_false(owners_overlap(o));
	owners_free(o);
}

static void
second_partition_overlaps(void **st)
{
	struct owners *o = owners_new();
	struct oracle q = { .holds = { [0] = true } };

	(void)st;
	assert_int_equal(owners_add(o, 42, 0, never_asked, NULL), OWNERS_NEW);
	assert_int_equal(owners_add(o, 42, 5, ask, &q), OWNERS_OVERLAP);
	assert_int_equal(q.nasked, 1);
	assert_int_equal(q.asked[0], 0);
	assert_true(owners_overlap(o));
	/* The flag stays, whatever comes next. */
	assert_int_equal(owners_add(o, 43ULL << 32, 1, never_asked, NULL),
	    OWNERS_NEW);
	assert_true(owners_overlap(o));
	owners_free(o);
}

/*
 * Three users whose hashes agree on the upper 48 bits: u in partition 0,
 * v in 1 (not in 0: a collision), then w in 2, which partition 1 holds
 * too. Every alike slot must be checked, not only the first.
 */
static void
collision_is_no_overlap_and_hides_none(void **st)
{
	struct owners *o = owners_new();
	uint64_t base = 0x5a5a5a5a5a5a0000ULL;
	struct oracle none = { .holds = { false } };
	struct oracle in1 = { .holds = { [1] = true } };

	(void)st;
	assert_int_equal(owners_add(o, base | 0x0001, 0, never_asked, NULL),
	    OWNERS_NEW);
	assert_int_equal(owners_add(o, base | 0x0002, 1, ask, &none),
	    OWNERS_NEW);
	assert_int_equal(none.nasked, 1);
	assert_int_equal(none.asked[0], 0);
	assert_false(owners_overlap(o));
	assert_int_equal(owners_count(o), 2);
	assert_int_equal(owners_add(o, base | 0x0003, 2, ask, &in1),
	    OWNERS_OVERLAP);
	assert_int_equal(in1.nasked, 2);	/* asked 0 (no), then 1 */
	assert_int_equal(in1.asked[0], 0);
	assert_int_equal(in1.asked[1], 1);
	assert_true(owners_overlap(o));
	owners_free(o);
}

/*
 * The low 16 bits are not kept: in the same partition, alike hashes are
 * one slot (no question asked); a second partition holding the same name
 * as either is still found.
 */
static void
alike_in_one_partition_share_a_slot(void **st)
{
	struct owners *o = owners_new();
	struct oracle q = { .holds = { [4] = true } };

	(void)st;
	assert_int_equal(owners_add(o, 0x77770000ULL << 16 | 0x1234, 4,
	    never_asked, NULL), OWNERS_NEW);
	assert_int_equal(owners_add(o, 0x77770000ULL << 16 | 0x9999, 4,
	    never_asked, NULL), OWNERS_KNOWN);
	assert_int_equal(owners_count(o), 1);
	assert_int_equal(owners_add(o, 0x77770000ULL << 16 | 0x9999, 6, ask,
	    &q), OWNERS_OVERLAP);
	assert_int_equal(q.asked[0], 4);
	owners_free(o);
}

static void
grows_and_keeps_every_user(void **st)
{
	struct owners *o = owners_new();
	const uint64_t n = 200000;
	uint64_t i;
	size_t mem;

	(void)st;
	for (i = 0; i < n; i++)
		assert_int_equal(owners_add(o, spread(i), (int32_t)(i % 64),
		    never_asked, NULL), OWNERS_NEW);
	assert_int_equal(owners_count(o), n);
	for (i = 0; i < n; i++)
		assert_int_equal(owners_add(o, spread(i), (int32_t)(i % 64),
		    never_asked, NULL), OWNERS_KNOWN);
	assert_false(owners_overlap(o));
	/* 8-byte slots at a load factor of 3/8 .. 3/4: 2^19 slots here. */
	mem = owners_memory(o);
	assert_true(mem >= ((size_t)1 << 19) * 8);
	assert_true(mem < ((size_t)1 << 19) * 8 + 64);
	owners_free(o);
}

/* Users added until the 1024-slot table passes 3/4 and starts growing. */
#define TO_GROW	769

/*
 * Growth moves the old table's slots a few per add instead of all at
 * once: right after the 769th user, and after the next add, both tables
 * are held (1024 + 2048 slots); after 128 adds (8 slots each) the old
 * table is gone. Wherever the move is, every user stays known, is found
 * in another partition, and a user alike on 48 bits in a third partition
 * costs one name check (a moved slot's copy is not asked about twice).
 */
static void
growth_moves_a_few_slots_per_add(void **st)
{
	struct owners *o = owners_new();
	uint64_t i;
	size_t base = owners_memory(o) - 1024 * 8;

	(void)st;
	for (i = 0; i < TO_GROW; i++)
		assert_int_equal(owners_add(o, spread(i), (int32_t)(i % 4),
		    never_asked, NULL), OWNERS_NEW);
	assert_int_equal(owners_memory(o), base + (1024 + 2048) * 8);
	for (i = 0; i < TO_GROW; i++) {
		struct oracle yes = { .nasked = 0 }, no = { .nasked = 0 };
		int32_t p = (int32_t)(i % 4);

		yes.holds[p] = true;
		assert_int_equal(owners_add(o, spread(i), p, never_asked,
		    NULL), OWNERS_KNOWN);
		if (i == 0)
			assert_int_equal(owners_memory(o),
			    base + (1024 + 2048) * 8);
		assert_int_equal(owners_add(o, spread(i), p + 4, ask, &yes),
		    OWNERS_OVERLAP);
		assert_int_equal(yes.nasked, 1);
		assert_int_equal(yes.asked[0], p);
		if (i < 64) {
			/* Upper 48 bits alike, another user (p answers no). */
			assert_int_equal(owners_add(o, spread(i) ^ 1, 9, ask,
			    &no), OWNERS_NEW);
			assert_int_equal(no.nasked, 1);
			assert_int_equal(no.asked[0], p);
		}
		if (i == 63)	/* 3 x 64 adds: every old slot moved */
			assert_int_equal(owners_memory(o), base + 2048 * 8);
	}
	assert_int_equal(owners_count(o), TO_GROW + 64);
	owners_free(o);
}

/*
 * A reserve for 100000 users in an empty table makes its final 2^18 slots
 * at once (never two tables), and the adds keep them. With 20000 users
 * in, a reserve for 150000 (under 8 times as many) changes nothing, and
 * one for 200000 is made by one rebuild, every user kept.
 */
static void
reserve_makes_the_final_table_at_once(void **st)
{
	struct owners *o = owners_new();
	size_t base = owners_memory(o) - 1024 * 8;
	uint64_t i;

	(void)st;
	owners_reserve(o, 100000);
	assert_int_equal(owners_memory(o), base + ((size_t)1 << 18) * 8);
	for (i = 0; i < 100000; i++) {
		assert_int_equal(owners_add(o, spread(i), (int32_t)(i % 4),
		    never_asked, NULL), OWNERS_NEW);
		assert_int_equal(owners_memory(o), base + ((size_t)1 << 18) * 8);
	}
	owners_free(o);

	o = owners_new();
	for (i = 0; i < 20000; i++)
		owners_add(o, spread(i), 1, never_asked, NULL);
	owners_reserve(o, 150000);
	assert_int_equal(owners_memory(o), base + 32768 * 8);
	owners_reserve(o, 200000);	/* 220000 users: 2^19 slots */
	assert_int_equal(owners_memory(o), base + ((size_t)1 << 19) * 8);
	for (i = 0; i < 220000; i++)
		assert_int_equal(owners_add(o, spread(i), 1, never_asked,
		    NULL), i < 20000 ? OWNERS_KNOWN : OWNERS_NEW);
	assert_int_equal(owners_memory(o), base + ((size_t)1 << 19) * 8);
	assert_int_equal(owners_count(o), 220000);
	owners_free(o);
}

/* Dropping a partition in the middle of a move finishes the move. */
static void
drop_partition_while_moving(void **st)
{
	struct owners *o = owners_new();
	struct oracle q = { .holds = { false } };
	uint64_t i;

	(void)st;
	for (i = 0; i < TO_GROW + 10; i++)
		owners_add(o, spread(i), (int32_t)(i % 4), never_asked, NULL);
	owners_drop_partition(o, 3);
	assert_int_equal(owners_count(o), (TO_GROW + 10) - (TO_GROW + 10) / 4);
	for (i = 0; i < TO_GROW + 10; i++)
		assert_int_equal(owners_add(o, spread(i), i % 4 == 3 ? 5 :
		    (int32_t)(i % 4), ask, &q), i % 4 == 3 ? OWNERS_NEW :
		    OWNERS_KNOWN);
	assert_int_equal(q.nasked, 0);
	assert_false(owners_overlap(o));
	owners_free(o);
}

static void
drop_partition_forgets_its_users(void **st)
{
	struct owners *o = owners_new();
	struct oracle q = { .holds = { false } };
	const uint64_t n = 30000;
	uint64_t i;
	size_t big;

	(void)st;
	for (i = 0; i < n; i++)
		owners_add(o, spread(i), i < 1000 ? 1 : 0, never_asked, NULL);
	big = owners_memory(o);
	owners_drop_partition(o, 0);
	assert_int_equal(owners_count(o), 1000);
	assert_true(owners_memory(o) < big);	/* shrunk */
	for (i = 0; i < 1000; i++)
		assert_int_equal(owners_add(o, spread(i), 1, never_asked, NULL),
		    OWNERS_KNOWN);
	/* Partition 0's users can now come from anywhere, once. */
	for (i = 1000; i < n; i++)
		assert_int_equal(owners_add(o, spread(i), 2, ask, &q),
		    OWNERS_NEW);
	assert_int_equal(q.nasked, 0);
	assert_int_equal(owners_count(o), n);
	owners_drop_partition(o, 7);	/* none of its users: no change */
	assert_int_equal(owners_count(o), n);
	assert_false(owners_overlap(o));
	owners_free(o);
}

static void
partition_out_of_range_is_overlap(void **st)
{
	struct owners *o = owners_new();

	(void)st;
	assert_int_equal(owners_add(o, 1, OWNERS_MAX_PARTITION, never_asked,
	    NULL), OWNERS_NEW);
	assert_false(owners_overlap(o));
	assert_int_equal(owners_add(o, 2, OWNERS_MAX_PARTITION + 1,
	    never_asked, NULL), OWNERS_OVERLAP);
	assert_true(owners_overlap(o));
	owners_free(o);
	o = owners_new();
	assert_int_equal(owners_add(o, 2, -1, never_asked, NULL),
	    OWNERS_OVERLAP);
	assert_true(owners_overlap(o));
	assert_int_equal(owners_count(o), 0);
	owners_free(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(new_then_known),
		cmocka_unit_test(second_partition_overlaps),
		cmocka_unit_test(collision_is_no_overlap_and_hides_none),
		cmocka_unit_test(alike_in_one_partition_share_a_slot),
		cmocka_unit_test(grows_and_keeps_every_user),
		cmocka_unit_test(drop_partition_forgets_its_users),
		cmocka_unit_test(growth_moves_a_few_slots_per_add),
		cmocka_unit_test(drop_partition_while_moving),
		cmocka_unit_test(reserve_makes_the_final_table_at_once),
		cmocka_unit_test(partition_out_of_range_is_overlap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
