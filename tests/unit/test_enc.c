/* Unit tests for common/enc: varints, big-endian keys, bounded reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "enc.h"

static void
varint_roundtrip_exact_sizes(void **st)
{
	static const struct { uint64_t v; size_t len; } cases[] = {
		{ 0, 1 }, { 127, 1 }, { 128, 2 }, { 16383, 2 }, { 16384, 3 },
		{ UINT64_MAX, 10 },
	};
	size_t i;

	(void)st;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct enc e;
		struct dec d;

		enc_init(&e);
		enc_uvar(&e, cases[i].v);
		assert_int_equal(e.len, cases[i].len);
		dec_init(&d, e.buf, e.len);
		assert_true(dec_uvar(&d) == cases[i].v);
		assert_true(dec_done(&d));
		enc_free(&e);
	}
}

static void
svar_zigzag(void **st)
{
	struct enc e;
	struct dec d;

	(void)st;
	enc_init(&e);
	enc_svar(&e, -1);
	enc_svar(&e, INT64_MIN);
	enc_svar(&e, INT64_MAX);
	assert_int_equal(e.buf[0], 1);	/* zigzag(-1) == 1 */
	dec_init(&d, e.buf, e.len);
	assert_true(dec_svar(&d) == -1);
	assert_true(dec_svar(&d) == INT64_MIN);
	assert_true(dec_svar(&d) == INT64_MAX);
	assert_true(dec_done(&d));
	enc_free(&e);
}

static void
be_keys_sort_numerically(void **st)
{
	uint8_t a[8], b[8];

	(void)st;
	be64_put(a, 255);
	be64_put(b, 256);
	assert_true(memcmp(a, b, 8) < 0);
	assert_true(be64_get(b) == 256);
	be32_put(a, 0xdeadbeef);
	assert_int_equal(a[0], 0xde);
	assert_int_equal(be32_get(a), 0xdeadbeef);
}

static void
short_input_sets_error(void **st)
{
	static const uint8_t trunc[] = { 0x80, 0x80 };	/* unfinished varint */
	static const uint8_t lenbad[] = { 0x05, 'a', 'b' };
	struct dec d;
	size_t n;

	(void)st;
	dec_init(&d, trunc, sizeof trunc);
	assert_true(dec_uvar(&d) == 0);
	assert_true(d.err);
	assert_true(dec_be32(&d) == 0);	/* stays in error */

	dec_init(&d, lenbad, sizeof lenbad);
	assert_null(dec_bytes(&d, &n));
	assert_int_equal(n, 0);
	assert_false(dec_done(&d));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(varint_roundtrip_exact_sizes),
		cmocka_unit_test(svar_zigzag),
		cmocka_unit_test(be_keys_sort_numerically),
		cmocka_unit_test(short_input_sets_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
