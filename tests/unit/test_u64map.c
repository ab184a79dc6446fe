/*
 * Unit tests for common/u64map: exact get/put/del results, keys 0 and
 * UINT64_MAX, growth to 100k keys, iteration that visits every entry once,
 * and long random sequences of puts and deletes checked against a naive
 * array, in a tiny key space (clusters that wrap around the table end)
 * and a larger one of packed (zone, kind, period) keys. (The engine test
 * fixture is included only for its seeded random numbers.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "u64map.h"
#include "xmalloc.h"
#include "engine_fixture.h"

/* Values are never dereferenced: any non-NULL pointer will do. */
#define VAL(n)	((void *)(uintptr_t)((n) * 8 + 8))

static void
put_get_del_exact(void **state)
{
	struct u64map *m = u64map_new();
	size_t pos = 0;
	uint64_t k;
	void *v;

	(void)state;
	assert_int_equal(u64map_count(m), 0);
	assert_null(u64map_get(m, 0));
	assert_null(u64map_del(m, 0));
	assert_int_equal(u64map_next(m, &pos, &k, &v), 0);

	assert_null(u64map_put(m, 0, VAL(1)));
	assert_null(u64map_put(m, UINT64_MAX, VAL(2)));
	assert_null(u64map_put(m, 42, VAL(3)));
	assert_int_equal(u64map_count(m), 3);
	assert_ptr_equal(u64map_get(m, 0), VAL(1));
	assert_ptr_equal(u64map_get(m, UINT64_MAX), VAL(2));
	/* Overwrite returns the old value and keeps the count. */
	assert_ptr_equal(u64map_put(m, 42, VAL(4)), VAL(3));
	assert_ptr_equal(u64map_get(m, 42), VAL(4));
	assert_int_equal(u64map_count(m), 3);
	assert_ptr_equal(u64map_del(m, 0), VAL(1));
	assert_null(u64map_del(m, 0));
	assert_null(u64map_get(m, 0));
	assert_null(u64map_get(m, 43));
	assert_int_equal(u64map_count(m), 2);
	assert_ptr_equal(u64map_get(m, UINT64_MAX), VAL(2));
	u64map_free(m);
	u64map_free(NULL);
}

static uint64_t
packed(uint64_t i)
{
	/* Like the period keys: zone << 40 | kind << 32 | period. */
	return (i % 8) << 40 | ((i / 8) % 2) << 32 | (19000 + i / 16);
}

static void
grows_to_100k_and_iterates_once(void **state)
{
	enum { N = 100000 };
	struct u64map *m = u64map_new();
	uint8_t *seen = xcalloc(N, 1);
	size_t pos = 0, visits = 0;
	uint64_t i, k;
	void *v;

	(void)state;
	for (i = 0; i < N; i++)
		assert_null(u64map_put(m, packed(i), VAL(i)));
	assert_int_equal(u64map_count(m), N);
	for (i = 0; i < N; i++)
		assert_ptr_equal(u64map_get(m, packed(i)), VAL(i));
	while (u64map_next(m, &pos, &k, &v)) {
		uint64_t n = (uint64_t)(uintptr_t)v / 8 - 1;

		assert_true(n < N);
		assert_true(k == packed(n));
		assert_int_equal(seen[n], 0);
		seen[n] = 1;
		visits++;
	}
	assert_int_equal(visits, N);
	assert_true(u64map_memory(m) >= N * 16);
	free(seen);
	u64map_free(m);
}

static uint64_t rng_state;

static uint64_t
rng(void)
{
	return fx_rng(&rng_state);
}

static void
random_ops_match_naive(size_t nkeys, size_t nops, bool pack,
    size_t check_every)
{
	struct u64map *m = u64map_new();
	uint64_t *keys = xcalloc(nkeys, sizeof *keys);
	size_t *val = xcalloc(nkeys, sizeof *val);	/* 0: absent */
	size_t i, j, present = 0;

	for (i = 0; i < nkeys; i++)
		keys[i] = pack ? packed(rng() % 4096) : rng();
	/* Packed keys may repeat: keep the first of each. */
	for (i = 0; i < nkeys; i++)
		for (j = 0; j < i; j++)
			if (keys[j] == keys[i])
				keys[i] = rng() | 1;
	for (i = 0; i < nops; i++) {
		size_t k = rng() % nkeys;
		void *prev;

		if (rng() % 100 < 55) {
			prev = u64map_put(m, keys[k], VAL(i));
			assert_ptr_equal(prev, val[k] ? VAL(val[k] - 1) : NULL);
			present += val[k] == 0;
			val[k] = i + 1;
		} else {
			prev = u64map_del(m, keys[k]);
			assert_ptr_equal(prev, val[k] ? VAL(val[k] - 1) : NULL);
			present -= val[k] != 0;
			val[k] = 0;
		}
		assert_int_equal(u64map_count(m), present);
		assert_ptr_equal(u64map_get(m, keys[k]),
		    val[k] ? VAL(val[k] - 1) : NULL);
		/* A delete shifts other keys: check them all, now and then. */
		if (i % check_every == 0)
			for (j = 0; j < nkeys; j++)
				assert_ptr_equal(u64map_get(m, keys[j]),
				    val[j] ? VAL(val[j] - 1) : NULL);
	}
	free(keys);
	free(val);
	u64map_free(m);
}

static void
random_ops_tiny_key_space(void **state)
{
	(void)state;
	rng_state = 1;
	random_ops_match_naive(11, 200000, false, 1);
	random_ops_match_naive(40, 100000, false, 1);
}

static void
random_ops_packed_keys(void **state)
{
	(void)state;
	rng_state = 2;
	random_ops_match_naive(3000, 200000, true, 97);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(put_get_del_exact),
		cmocka_unit_test(grows_to_100k_and_iterates_once),
		cmocka_unit_test(random_ops_tiny_key_space),
		cmocka_unit_test(random_ops_packed_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
