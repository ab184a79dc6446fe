/*
 * Unit tests for state/strdict: dense ids in first-seen order, exact bytes
 * back (empty strings and embedded NULs included), the stored hash equal
 * to the sketches' hash, growth past many table resizes and arena
 * chunks with every earlier view still valid, ids widened in the slots past
 * a million strings, tags kept beside short and
 * long strings, the large segments' memory counted by pages written, and
 * dictionaries made in a row growing their tables at different loads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hll.h"
#include "strdict.h"
#include "xmalloc.h"

static void
ids_are_dense_in_first_seen_order(void **state)
{
	static const struct {
		struct strv s;
		uint32_t    id;
		bool        created;
	} rows[] = {
		{ { "", 0 }, 0, true },
		{ { "a", 1 }, 1, true },
		{ { "b", 1 }, 2, true },
		{ { "a", 1 }, 1, false },
		{ { "ab", 2 }, 3, true },
		{ { "a\0b", 3 }, 4, true },	/* not "a" */
		{ { "A", 1 }, 5, true },
		{ { "", 0 }, 0, false },
		{ { "a\0b", 3 }, 4, false },
	};
	struct strdict *d = strdict_new();
	size_t r;

	(void)state;
	assert_int_equal(strdict_count(d), 0);
	assert_int_equal(strdict_find(d, STRV("a")), STRDICT_NONE);
	for (r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		bool created = !rows[r].created;

		assert_int_equal(strdict_intern(d, rows[r].s, &created),
		    rows[r].id);
		assert_int_equal(created, rows[r].created);
	}
	assert_int_equal(strdict_count(d), 6);
	for (r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		struct strv got = strdict_get(d, rows[r].id);

		assert_int_equal(strdict_find(d, rows[r].s), rows[r].id);
		assert_true(strv_eq(got, rows[r].s));
		/* The sketches hash the same bytes the same way. */
		assert_true(strdict_hash(d, rows[r].id) ==
		    hll_hash(rows[r].s.p, rows[r].s.len));
	}
	assert_int_equal(strdict_find(d, STRV("a\0")), STRDICT_NONE);
	assert_int_equal(strdict_find(d, STRV("B")), STRDICT_NONE);
	/* Out of range ids. */
	assert_null(strdict_get(d, 6).p);
	assert_int_equal(strdict_get(d, 6).len, 0);
	assert_null(strdict_get(d, STRDICT_NONE).p);
	assert_true(strdict_hash(d, 6) == 0);
	/* A NULL `created` is allowed. */
	assert_int_equal(strdict_intern(d, STRV("b"), NULL), 2);
	strdict_free(d);
	strdict_free(NULL);
}

static int
key(char *buf, uint32_t i)
{
	return sprintf(buf, "key-%u-%x", i, i * 2654435761u);
}

static void
grows_past_many_resizes(void **state)
{
	enum { N = 100000, BIG = 20000 };
	struct strdict *d = strdict_new();
	char buf[32], *big = xmalloc(BIG);
	struct strv first;
	size_t mem0 = strdict_memory(d), bytes = 0;
	uint32_t i;

	(void)state;
	strdict_intern(d, STRV("first"), NULL);
	first = strdict_get(d, 0);
	for (i = 1; i < N; i++) {
		bool created = false;

		if (i % 1000 == 0) {
			/* Longer than a quarter chunk: its own block. */
			memset(big, 'a' + (int)(i / 1000 % 26), BIG);
			memcpy(big, &i, sizeof i);
			assert_int_equal(strdict_intern(d, (struct strv){ big,
			    BIG }, &created), i);
			bytes += BIG;
		} else {
			int n = key(buf, i);

			assert_int_equal(strdict_intern(d, (struct strv){ buf,
			    (size_t)n }, &created), i);
			bytes += (size_t)n;
		}
		assert_true(created);
	}
	assert_int_equal(strdict_count(d), N);
	/* Views handed out before any growth still point at the bytes. */
	assert_ptr_equal(strdict_get(d, 0).p, first.p);
	assert_memory_equal(first.p, "first", 5);
	for (i = 1; i < N; i++) {
		struct strv want;

		if (i % 1000 == 0) {
			memset(big, 'a' + (int)(i / 1000 % 26), BIG);
			memcpy(big, &i, sizeof i);
			want = (struct strv){ big, BIG };
		} else
			want = (struct strv){ buf, (size_t)key(buf, i) };
		assert_true(strv_eq(strdict_get(d, i), want));
		assert_int_equal(strdict_find(d, want), i);
		assert_int_equal(strdict_intern(d, want, NULL), i);
	}
	assert_int_equal(strdict_count(d), N);
	assert_true(strdict_memory(d) >= mem0 + bytes);
	free(big);
	strdict_free(d);
}

/* Row i: i % 41 bytes; from 4 bytes on they start with i (so they are
 * distinct, NULs included), shorter ones are "", "a", "ab", "abc". */
static struct strv
row(char *buf, uint32_t i)
{
	size_t len = i % 41, k;

	for (k = 0; k < len; k++)
		buf[k] = (char)('a' + k % 26);
	if (len >= 4)
		memcpy(buf, &i, sizeof i);
	return (struct strv){ buf, len };
}

/* Lengths around the inline limit (11 bytes) and ids around segment
 * starts (16, 48, 112, ...): every string comes back byte for byte. */
static void
short_and_long_strings_across_segments(void **state)
{
	enum { N = 600 };
	struct strdict *d = strdict_new();
	struct strv v[N];
	char buf[64];
	uint32_t i, id;

	(void)state;
	for (i = 0; i < N; i++) {
		struct strv want = row(buf, i);
		bool created = false;

		id = strdict_intern(d, want, &created);
		v[i] = strdict_get(d, id);
		/* The short ones are new only in the first 41 rows. */
		assert_int_equal(created, want.len >= 4 || i < 41);
		assert_true(strv_eq(v[i], want));
	}
	/* Every view is still the same after the later growth. */
	for (i = 0; i < N; i++) {
		struct strv want = row(buf, i);

		assert_true(strv_eq(v[i], want));
		id = strdict_find(d, want);
		assert_ptr_equal(strdict_get(d, id).p, v[i].p);
		assert_true(strdict_hash(d, id) == hll_hash(buf, want.len));
	}
	/* Ids 0..3 went to "", "a", "ab", "abc" in the first 41 rows. */
	assert_int_equal(strdict_find(d, STRV("abc")), 3);
	assert_int_equal(strdict_count(d), N - (N / 41 + 1) * 4 + 4);
	strdict_free(d);
}

/* The look-ahead entry points agree with the plain ones. */
static void
hashed_calls_agree(void **state)
{
	struct strdict *d = strdict_new();
	uint64_t h = strdict_hash_of(STRV("u000001"));
	bool created = false;
	char buf[32];
	uint32_t i;

	(void)state;
	assert_true(h == hll_hash("u000001", 7));
	/* An empty table: no guess. */
	strdict_prefetch(d, h);
	assert_int_equal(strdict_prefetch_entry(d, h), STRDICT_NONE);
	assert_int_equal(strdict_find_hashed(d, STRV("u000001"), h),
	    STRDICT_NONE);
	assert_int_equal(strdict_intern_hashed(d, STRV("u000001"), h,
	    &created), 0);
	assert_true(created);
	/* Alone in the table, the string sits in its home slot. */
	assert_int_equal(strdict_prefetch_entry(d, h), 0);
	for (i = 1; i < 5000; i++) {
		struct strv s = { buf, (size_t)sprintf(buf, "user-%u", i) };
		uint64_t hs = strdict_hash_of(s);

		assert_int_equal(strdict_intern_hashed(d, s, hs, &created), i);
		assert_true(created);
		assert_int_equal(strdict_intern(d, s, &created), i);
		assert_false(created);
		assert_int_equal(strdict_find_hashed(d, s, hs), i);
		assert_true(strdict_hash(d, i) == hs);
	}
	assert_int_equal(strdict_find(d, STRV("u000001")), 0);
	assert_int_equal(strdict_find_hashed(d, STRV("user-5000"),
	    strdict_hash_of(STRV("user-5000"))), STRDICT_NONE);
	strdict_free(d);
}

/*
 * A tag sits beside an inline string (11 bytes) and an arena one (12) and
 * leaves the bytes alone. Segment 8 (ids 4080..8175, 64 KiB) is the first
 * mapped one: it counts a 4 KiB page per 256 entries written. The slot
 * table does not grow between 4080 and 5120 strings.
 */
static void
tags_and_mapped_pages(void **state)
{
	struct strdict *d = strdict_new();
	char buf[16];
	size_t mem = 0;
	uint32_t i;

	(void)state;
	assert_int_equal(strdict_intern(d, STRV("u0000000011"), NULL), 0);
	assert_int_equal(strdict_intern(d, STRV("u00000000012"), NULL), 1);
	strdict_set_tag(d, 0, 0xfffffffe);
	strdict_set_tag(d, 1, 7);
	assert_int_equal(strdict_tag(d, 0), 0xfffffffe);
	assert_int_equal(strdict_tag(d, 1), 7);
	assert_true(strv_eq(strdict_get(d, 0), STRV("u0000000011")));
	assert_true(strv_eq(strdict_get(d, 1), STRV("u00000000012")));
	assert_int_equal(strdict_find(d, STRV("u00000000012")), 1);
	for (i = 2; i < 4080 + 256 + 1; i++) {
		if (i == 4080)
			mem = strdict_memory(d);
		strdict_intern(d, (struct strv){ buf,
		    (size_t)snprintf(buf, sizeof buf, "k%u", i) }, NULL);
		if (i == 4080 || i == 4080 + 255)
			assert_int_equal(strdict_memory(d), mem + 4096);
	}
	assert_int_equal(strdict_memory(d), mem + 2 * 4096);
	assert_int_equal(strdict_tag(d, 1), 7);
	assert_int_equal(strdict_tag(d, 4080), 0);
	strdict_free(d);
}

/*
 * A slot keeps the id in 20 bits at first: the 2^20th string widens them
 * (every slot made again), and every string keeps its id and is found;
 * strings never interned are not, though most share hash bits with some
 * slot on their way.
 */
static void
ids_widen_past_a_million(void **state)
{
	enum { N = 1100000 };
	struct strdict *d = strdict_new();
	char buf[24];
	uint32_t i;

	(void)state;
	for (i = 0; i < N; i++)
		assert_int_equal(strdict_intern(d, (struct strv){ buf,
		    (size_t)snprintf(buf, sizeof buf, "k%u", i) }, NULL), i);
	assert_int_equal(strdict_count(d), N);
	for (i = 0; i < N; i++) {
		struct strv v = { buf, (size_t)snprintf(buf, sizeof buf, "k%u",
		    i) };

		assert_int_equal(strdict_find(d, v), i);
		assert_true(strv_eq(strdict_get(d, i), v));
	}
	for (i = 0; i < 100000; i++)
		assert_int_equal(strdict_find(d, (struct strv){ buf,
		    (size_t)snprintf(buf, sizeof buf, "x%u", i) }),
		    STRDICT_NONE);
	strdict_free(d);
}

/*
 * Three dictionaries in a row grow their 128-slot table at three loads
 * (3/4, 11/16, 5/8, in some rotation): past 96, 88 and 80 strings.
 * Between 50 and 110 strings nothing else allocates (segments start at
 * ids 48 and 112; 3-byte strings stay inline).
 */
static void
grow_loads_differ_between_dictionaries(void **state)
{
	size_t at[3], k, n;
	char buf[8];

	(void)state;
	for (k = 0; k < 3; k++) {
		struct strdict *d = strdict_new();
		size_t mem = 0;

		at[k] = 0;
		for (n = 1; n <= 110; n++) {
			snprintf(buf, sizeof buf, "%03zu", n);
			strdict_intern(d, (struct strv){ buf, 3 }, NULL);
			if (n >= 50 && mem != 0 && strdict_memory(d) > mem) {
				assert_int_equal(at[k], 0);	/* once */
				at[k] = n;
			}
			mem = strdict_memory(d);
		}
		strdict_free(d);
	}
	/* Each load once: the three growth points sum and differ. */
	assert_int_equal(at[0] + at[1] + at[2], 81 + 89 + 97);
	assert_true(at[0] != at[1] && at[1] != at[2] && at[0] != at[2]);
	for (k = 0; k < 3; k++)
		assert_true(at[k] == 81 || at[k] == 89 || at[k] == 97);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ids_are_dense_in_first_seen_order),
		cmocka_unit_test(grows_past_many_resizes),
		cmocka_unit_test(short_and_long_strings_across_segments),
		cmocka_unit_test(hashed_calls_agree),
		cmocka_unit_test(tags_and_mapped_pages),
		cmocka_unit_test(ids_widen_past_a_million),
		cmocka_unit_test(grow_loads_differ_between_dictionaries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
