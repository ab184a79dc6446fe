/*
 * Unit tests for state/meta: code 0 is "unknown" in every dimension (and
 * what an empty value maps to), upserts assign per-dimension codes in
 * first-seen order, tombstones delete exactly once, a dimension with more
 * than 65534 values folds the rest into "unknown", and 100k users.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "meta.h"
#include "engine_fixture.h"

static void
assert_codes(const struct meta *m, const char *user, int32_t join,
    uint16_t c0, uint16_t c1, uint16_t c2)
{
	const struct meta_entry *e = meta_get(m, strv_c(user));

	if (e == NULL)
		fail_msg("%s: no metadata", user);
	assert_int_equal(e->join_date, join);
	assert_int_equal(e->codes[DIM_COUNTRY], c0);
	assert_int_equal(e->codes[DIM_DEVICE_TYPE], c1);
	assert_int_equal(e->codes[DIM_SUBSCRIPTION_TYPE], c2);
}

static void
assert_value(const struct meta *m, enum dim d, uint16_t code,
    const char *want)
{
	assert_true(strv_eq(meta_value(m, d, code), strv_c(want)));
}

static void
unknown_is_code_zero(void **state)
{
	struct meta *m = meta_new();
	int d;

	(void)state;
	for (d = 0; d < DIM_COUNT; d++) {
		assert_int_equal(meta_value_count(m, (enum dim)d), 1);
		assert_value(m, (enum dim)d, META_UNKNOWN, "unknown");
		assert_int_equal(meta_code(m, (enum dim)d, STRV("")), 0);
		assert_int_equal(meta_code(m, (enum dim)d, STRV("unknown")), 0);
		assert_int_equal(meta_code(m, (enum dim)d, (struct strv){
		    NULL, 0 }), 0);
		assert_int_equal(meta_value_count(m, (enum dim)d), 1);
		assert_int_equal(meta_unknown()->codes[d], META_UNKNOWN);
	}
	assert_int_equal(meta_unknown()->join_date, 0);
	assert_int_equal(meta_count(m), 0);
	assert_null(meta_get(m, STRV("u1")));
	meta_free(m);
	meta_free(NULL);
}

static void
upserts_assign_codes_per_dimension(void **state)
{
	struct meta *m = meta_new();

	(void)state;
	fx_meta(m, "u1", 19000, "US", "iOS", "free");
	fx_meta(m, "u2", 19001, "DE", "iOS", "");
	fx_meta(m, "u3", 19002, "US", "Android", "premium");
	assert_int_equal(meta_count(m), 3);
	assert_codes(m, "u1", 19000, 1, 1, 1);
	assert_codes(m, "u2", 19001, 2, 1, 0);	/* empty: unknown */
	assert_codes(m, "u3", 19002, 1, 2, 2);
	assert_value(m, DIM_COUNTRY, 2, "DE");
	assert_value(m, DIM_DEVICE_TYPE, 2, "Android");
	assert_value(m, DIM_SUBSCRIPTION_TYPE, 2, "premium");
	assert_int_equal(meta_value_count(m, DIM_COUNTRY), 3);
	/* Codes are per dimension: "free" is new to country. */
	assert_int_equal(meta_code(m, DIM_COUNTRY, STRV("free")), 3);
	assert_int_equal(meta_code(m, DIM_SUBSCRIPTION_TYPE, STRV("free")), 1);

	/* An upsert replaces every field. */
	fx_meta(m, "u1", 18000, "CA", "Web", "free");
	assert_int_equal(meta_count(m), 3);
	assert_codes(m, "u1", 18000, 4, 3, 1);
	meta_free(m);
}

static void
tombstones_delete_once(void **state)
{
	struct meta *m = meta_new();

	(void)state;
	fx_meta(m, "u1", 19000, "US", "iOS", "free");
	fx_meta(m, "u2", 19001, "DE", "Web", "free");
	fx_tombstone(m, "u2");
	assert_null(meta_get(m, STRV("u2")));
	assert_int_equal(meta_count(m), 1);
	fx_tombstone(m, "u2");			/* again: nothing more */
	fx_tombstone(m, "never-seen");
	assert_int_equal(meta_count(m), 1);
	assert_null(meta_get(m, STRV("never-seen")));
	assert_codes(m, "u1", 19000, 1, 1, 1);
	/* Back after deletion, with the new values. */
	fx_meta(m, "u2", 19005, "FR", "iOS", "premium");
	assert_int_equal(meta_count(m), 2);
	assert_codes(m, "u2", 19005, 3, 1, 2);
	/* Values of deleted users keep their codes. */
	assert_value(m, DIM_COUNTRY, 2, "DE");
	meta_free(m);
}

static void
codes_fold_past_65534_values(void **state)
{
	struct meta *m = meta_new();
	char v[16];
	uint32_t i;

	(void)state;
	for (i = 1; i <= 65534; i++) {
		snprintf(v, sizeof v, "v%u", i);
		assert_int_equal(meta_code(m, DIM_COUNTRY, strv_c(v)), i);
	}
	assert_int_equal(meta_value_count(m, DIM_COUNTRY), 65535);
	assert_int_equal(meta_code(m, DIM_COUNTRY, STRV("one-too-many")),
	    META_UNKNOWN);
	assert_int_equal(meta_value_count(m, DIM_COUNTRY), 65535);
	assert_int_equal(meta_code(m, DIM_COUNTRY, STRV("v65534")), 65534);
	assert_value(m, DIM_COUNTRY, 65534, "v65534");
	/* Other dimensions are unaffected. */
	assert_int_equal(meta_code(m, DIM_DEVICE_TYPE, STRV("iOS")), 1);
	fx_meta(m, "u1", 1, "brand-new", "iOS", "free");
	assert_codes(m, "u1", 1, META_UNKNOWN, 1, 1);
	meta_free(m);
}

static void
many_users(void **state)
{
	enum { N = 100000 };
	static const char *countries[] = { "US", "DE", "FR", "JP", "BR" };
	struct meta *m = meta_new();
	char u[16];
	uint32_t i;

	(void)state;
	for (i = 0; i < N; i++) {
		snprintf(u, sizeof u, "user%u", i);
		fx_meta(m, u, (int32_t)i, countries[i % 5], "iOS", "free");
	}
	for (i = 0; i < N; i += 2) {
		snprintf(u, sizeof u, "user%u", i);
		fx_tombstone(m, u);
	}
	assert_int_equal(meta_count(m), N / 2);
	for (i = 0; i < N; i++) {
		snprintf(u, sizeof u, "user%u", i);
		if (i % 2 == 0)
			assert_null(meta_get(m, strv_c(u)));
		else
			assert_codes(m, u, (int32_t)i, (uint16_t)(i % 5 + 1), 1,
			    1);
	}
	assert_true(meta_memory(m) > N * sizeof(struct meta_entry));
	meta_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unknown_is_code_zero),
		cmocka_unit_test(upserts_assign_codes_per_dimension),
		cmocka_unit_test(tombstones_delete_once),
		cmocka_unit_test(codes_fold_past_65534_values),
		cmocka_unit_test(many_users),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
