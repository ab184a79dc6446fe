/*
 * Unit tests for connectors/placement: the three functions against naive
 * CRC-32, Java's murmur2 and FNV-1a written out here; users placed by one
 * function keep the proof, one pair off rules it out for good, partitions
 * past the count and an unknown count prove nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "placement.h"

/* Bit by bit, reflected polynomial 0xEDB88320 (zlib's CRC-32). */
static uint32_t
naive_crc32(const char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		c ^= (uint8_t)p[i];
		for (k = 0; k < 8; k++)
			c = c & 1 ? c >> 1 ^ 0xedb88320u : c >> 1;
	}
	return ~c;
}

/* org.apache.kafka.common.utils.Utils.murmur2, as the Java client has it. */
static int32_t
java_murmur2(const char *p, size_t n)
{
	const uint32_t m = 0x5bd1e995u;
	const uint8_t *d = (const uint8_t *)p;
	uint32_t h = 0x9747b28cu ^ (uint32_t)n, k;
	size_t i, tail = n & ~(size_t)3;

	for (i = 0; i < tail; i += 4) {
		k = d[i] | (uint32_t)d[i + 1] << 8 | (uint32_t)d[i + 2] << 16 |
		    (uint32_t)d[i + 3] << 24;
		k *= m;
		k ^= k >> 24;
		k *= m;
		h *= m;
		h ^= k;
	}
	switch (n % 4) {
	case 3:
		h ^= (uint32_t)d[tail + 2] << 16;
		/* FALLTHROUGH */
	case 2:
		h ^= (uint32_t)d[tail + 1] << 8;
		/* FALLTHROUGH */
	case 1:
		h ^= d[tail];
		h *= m;
	}
	h ^= h >> 13;
	h *= m;
	h ^= h >> 15;
	return (int32_t)h;
}

static uint32_t
naive_fnv1a(const char *p, size_t n)
{
	uint32_t h = 0x811c9dc5u;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (uint8_t)p[i];
		h *= 0x01000193u;
	}
	return h;
}

enum { CRC, MURMUR, FNV };

static int32_t
place(int fn, struct strv u, int32_t n)
{
	switch (fn) {
	case CRC:
		return (int32_t)(naive_crc32(u.p, u.len) % (uint32_t)n);
	case MURMUR:
		return (int32_t)((uint32_t)(java_murmur2(u.p, u.len) &
		    0x7fffffff) % (uint32_t)n);
	default:	/* Sarama's: the signed remainder, made positive */
		return abs((int32_t)naive_fnv1a(u.p, u.len) % n);
	}
}

static struct strv
user(char *buf, unsigned i)
{
	return (struct strv){ buf, (size_t)snprintf(buf, 16, "u%07u", i) };
}

/* The Java client's own test values (UtilsTest). */
static void
murmur2_is_javas(void **state)
{
	(void)state;
	assert_int_equal(java_murmur2("21", 2), -973932308);
	assert_int_equal(java_murmur2("foobar", 6), -790332482);
	assert_int_equal(java_murmur2("a-little-bit-long-string", 24),
	    -985981536);
	assert_int_equal(java_murmur2("a-little-bit-longer-string", 26),
	    -1486304829);
	assert_int_equal(java_murmur2("abc", 3), 479470107);
	assert_int_equal(naive_crc32("123456789", 9), 0xcbf43926u);
}

/*
 * 2000 users placed by each function in turn, on 64 partitions: the proof
 * holds with that function's name; then one user in the partition after
 * its own rules it out, and a user placed right afterwards does not bring
 * it back.
 */
static void
one_function_keeps_the_proof(void **state)
{
	static const char *names[] = { "crc32", "murmur2", "fnv1a" };
	char buf[16];
	int fn;
	unsigned i;

	(void)state;
	for (fn = CRC; fn <= FNV; fn++) {
		struct placement *pl = placement_new(64);

		for (i = 0; i < 2000; i++) {
			struct strv u = user(buf, i);

			assert_true(placement_check(pl, u, place(fn, u, 64)));
		}
		assert_string_equal(placement_name(pl), names[fn]);
		assert_false(placement_check(pl, user(buf, 5000),
		    (place(fn, user(buf, 5000), 64) + 1) % 64));
		assert_false(placement_holds(pl));
		assert_null(placement_name(pl));
		assert_false(placement_check(pl, user(buf, 5001),
		    place(fn, user(buf, 5001), 64)));
		placement_free(pl);
	}
}

/*
 * Users of one producer by CRC-32 and of another by murmur2, where the
 * two disagree: the first murmur2 user rules the proof out.
 */
static void
two_producers_break_it(void **state)
{
	struct placement *pl = placement_new(8);
	char buf[16];
	unsigned i, checked = 0;

	(void)state;
	for (i = 0; i < 100; i++) {
		struct strv u = user(buf, i);

		assert_true(placement_check(pl, u, place(CRC, u, 8)));
	}
	for (i = 100; place(CRC, user(buf, i), 8) ==
	    place(MURMUR, user(buf, i), 8); i++)
		checked++;
	assert_true(checked < 100);
	assert_false(placement_check(pl, user(buf, i),
	    place(MURMUR, user(buf, i), 8)));
	placement_free(pl);
}

/* A partition at or past the count (one added to the topic later), and a
 * count that is not known. */
static void
past_the_count_proves_nothing(void **state)
{
	struct placement *pl = placement_new(4);
	char buf[16];

	(void)state;
	assert_true(placement_holds(pl));
	assert_false(placement_check(pl, user(buf, 1), 4));
	placement_free(pl);
	pl = placement_new(0);
	assert_false(placement_holds(pl));
	assert_false(placement_check(pl, user(buf, 1), 0));
	placement_free(pl);
	pl = placement_new(1);
	assert_true(placement_check(pl, user(buf, 1), 0));
	assert_string_equal(placement_name(pl), "crc32");
	placement_free(pl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(murmur2_is_javas),
		cmocka_unit_test(one_function_keeps_the_proof),
		cmocka_unit_test(two_producers_break_it),
		cmocka_unit_test(past_the_count_proves_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
