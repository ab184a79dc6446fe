/*
 * Unit tests for state/hll: hashing into registers, the estimator (against
 * values computed independently at 50 digits), accuracy, sparse to dense
 * promotion, merges of every representation pair, and the serialized form;
 * the union of many sketches at once and adding many hashes at once give
 * the very sketch (same encoding) of merging or adding them one by one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "enc.h"
#include "hll.h"
#include "xmalloc.h"

/* A hash that lands in register `index` with `rank` (1 .. 65 - p). */
static uint64_t
mkhash(int p, uint32_t index, int rank)
{
	int q = 64 - p;
	uint64_t h = (uint64_t)index << q;

	if (rank <= q)
		h |= (uint64_t)1 << (q - rank);
	return h;
}

static bool
add_user(struct hll *h, unsigned i)
{
	char id[16];
	int n = snprintf(id, sizeof id, "u%07u", i);

	return hll_add(h, id, (size_t)n);
}

static void
add_users(struct hll *h, unsigned from, unsigned to)
{
	unsigned i;

	for (i = from; i < to; i++)
		add_user(h, i);
}

static void
assert_close(double got, double want, double rel)
{
	if (fabs(got - want) > rel * fabs(want))
		fail_msg("got %.17g, want %.17g (relative tolerance %g)",
		    got, want, rel);
}

static struct hll *
roundtrip(const struct hll *h, size_t *len)
{
	struct enc e;
	struct hll *d;
	char *cause = NULL;

	enc_init(&e);
	hll_encode(h, &e);
	*len = e.len;
	d = hll_decode(e.buf, e.len, &cause);
	if (d == NULL)
		fail_msg("decode: %s", cause);
	enc_free(&e);
	return d;
}

/* Decoding must fail, with a cause; NULL cause pointers are allowed too. */
static void
assert_rejected(const void *buf, size_t len)
{
	char *cause = NULL;
	struct hll *h = hll_decode(buf, len, &cause);

	if (h != NULL)
		fail_msg("accepted a malformed encoding of %zu bytes", len);
	assert_non_null(cause);
	assert_true(strncmp(cause, "hll: ", 5) == 0);
	free(cause);
	assert_null(hll_decode(buf, len, NULL));
}

static void
new_checks_precision(void **st)
{
	struct hll *h;
	int p;

	(void)st;
	assert_null(hll_new(HLL_MIN_PRECISION - 1));
	assert_null(hll_new(HLL_MAX_PRECISION + 1));
	assert_null(hll_new(-14));
	assert_null(hll_new_dense(19));
	for (p = HLL_MIN_PRECISION; p <= HLL_MAX_PRECISION; p++) {
		h = hll_new(p);
		assert_non_null(h);
		assert_int_equal(hll_precision(h), p);
		assert_true(hll_is_sparse(h));
		hll_free(h);
		h = hll_new_dense(p);
		assert_false(hll_is_sparse(h));
		/* The struct plus one byte per register. */
		assert_true(hll_memory(h) > ((size_t)1 << p));
		assert_true(hll_memory(h) <= ((size_t)1 << p) + 32);
		hll_free(h);
	}
	hll_free(NULL);
}

static void
std_error_formula(void **st)
{
	(void)st;
	assert_true(hll_std_error(14) == 1.04 / 128);	/* 0.008125 */
	assert_true(hll_std_error(4) == 1.04 / 4);
	assert_true(hll_std_error(18) == 1.04 / 512);
}

static void
hash_is_xxh3(void **st)
{
	(void)st;
	/* Published XXH3_64bits test vector: the empty input, seed 0. */
	assert_true(hll_hash("", 0) == UINT64_C(0x2D06800538D394C2));
	assert_true(hll_hash("u0000001", 8) == hll_hash("u0000001", 8));
	assert_true(hll_hash("u0000001", 8) != hll_hash("u0000002", 8));
}

static void
index_is_top_bits_rank_is_leading_zeros(void **st)
{
	struct hll *h = hll_new(14);
	struct hll *small = hll_new(4);

	(void)st;
	/* Top 14 bits = 0x2A5; the next bit set -> rank 1. */
	assert_true(hll_add_hash(h, (uint64_t)0x2A5 << 50 | (uint64_t)1 << 49));
	assert_int_equal(hll_register(h, 0x2A5), 1);
	/* Only the lowest bit set -> rank 50 = q. */
	assert_true(hll_add_hash(h, (uint64_t)7 << 50 | 1));
	assert_int_equal(hll_register(h, 7), 50);
	/* Remaining 50 bits zero -> rank capped at q + 1 = 51. */
	assert_true(hll_add_hash(h, 0));
	assert_int_equal(hll_register(h, 0), 51);
	assert_true(hll_add_hash(h, UINT64_MAX));
	assert_int_equal(hll_register(h, 16383), 1);
	assert_int_equal(hll_register(h, 1), 0);
	assert_int_equal(hll_register(h, 16384), 0);	/* out of range */
	/* p = 4: q + 1 = 61 is the largest register value. */
	assert_true(hll_add_hash(small, (uint64_t)15 << 60));
	assert_int_equal(hll_register(small, 15), 61);
	hll_free(h);
	hll_free(small);
}

static void
empty_estimates_zero(void **st)
{
	struct hll *h = hll_new(HLL_DEFAULT_PRECISION);
	struct hll *d = hll_new_dense(HLL_DEFAULT_PRECISION);

	(void)st;
	assert_true(hll_estimate(h) == 0.0);
	assert_true(hll_estimate(d) == 0.0);
	assert_true(hll_equal(h, d));
	hll_free(h);
	hll_free(d);
}

/*
 * Expected values computed independently (mpmath, 50 digits) from Ertl's
 * formula: one register of rank 1 at p = 14 gives
 * m^2 / (2 ln 2 (2^-1 + m sigma((m-1)/m))). The double evaluation of sigma
 * near 1 squares x = 1 - 2^-14 about 20 times, which costs ~1e-13 relative:
 * hence the 1e-12 tolerance (the distance to the next estimate for a
 * different register value is ~1e-9).
 */
static void
one_item_exact(void **st)
{
	struct hll *h = hll_new(14), *d = hll_new_dense(14);
	struct hll *small = hll_new(4);

	(void)st;
	assert_true(hll_add_hash(h, mkhash(14, 5, 1)));
	assert_true(hll_add_hash(d, mkhash(14, 5, 1)));
	assert_close(hll_estimate(h), 1.0000241666628344, 1e-12);
	assert_true(hll_estimate(h) == hll_estimate(d));
	assert_true(hll_add_hash(small, mkhash(4, 9, 1)));
	assert_close(hll_estimate(small), 1.0316330806934568, 1e-12);
	hll_free(h);
	hll_free(d);
	hll_free(small);

	/* Any real item estimates within 1 of 1 at every precision. */
	for (int p = HLL_MIN_PRECISION; p <= HLL_MAX_PRECISION; p++) {
		h = hll_new(p);
		assert_true(hll_add(h, "u0000001", 8));
		assert_true(fabs(hll_estimate(h) - 1) < 1);
		hll_free(h);
	}
}

/*
 * The saturated-register term tau: p = 4 with 15 registers at q + 1 = 61 and
 * one at 60, and a spread of ranks; both again computed at 50 digits.
 */
static void
estimator_saturated_and_spread(void **st)
{
	struct hll *h = hll_new_dense(4), *s = hll_new(4);
	uint32_t i;

	(void)st;
	for (i = 0; i < 15; i++)
		hll_add_hash(h, mkhash(4, i, 61));
	hll_add_hash(h, mkhash(4, 15, 60));
	assert_close(hll_estimate(h), 5.193142807008784e+19, 1e-12);
	hll_free(h);

	hll_add_hash(s, mkhash(4, 0, 61));
	for (i = 1; i < 16; i++)
		hll_add_hash(s, mkhash(4, i, (int)(4 * i)));
	assert_false(hll_is_sparse(s));	/* p = 4 keeps 1 sparse entry */
	assert_close(hll_estimate(s), 2769.9744785068096, 1e-12);
	hll_free(s);

	/* All registers saturated: the estimate is unbounded. */
	h = hll_new(4);
	for (i = 0; i < 16; i++)
		hll_add_hash(h, mkhash(4, i, 61));
	assert_true(isinf(hll_estimate(h)));
	hll_free(h);
}

static void
add_reports_register_changes(void **st)
{
	struct hll *h[2] = { hll_new(14), hll_new_dense(14) };
	int k;

	(void)st;
	for (k = 0; k < 2; k++) {
		assert_true(hll_add(h[k], "alice", 5));
		assert_false(hll_add(h[k], "alice", 5));
		assert_true(hll_add_hash(h[k], mkhash(14, 100, 3)));
		assert_false(hll_add_hash(h[k], mkhash(14, 100, 3)));
		assert_false(hll_add_hash(h[k], mkhash(14, 100, 2)));
		assert_true(hll_add_hash(h[k], mkhash(14, 100, 4)));
		assert_int_equal(hll_register(h[k], 100), 4);
	}
	assert_true(hll_is_sparse(h[0]));
	assert_true(hll_equal(h[0], h[1]));
	hll_free(h[0]);
	hll_free(h[1]);
}

/* Relative error within 3 standard errors, p = 10, 14, 16. */
static void
accuracy_within_three_sigma(void **st)
{
	static const int precisions[] = { 10, 14, 16 };
	static const unsigned checkpoints[] = {
		10, 100, 1000, 10000, 100000, 1000000,
	};
	struct hll *h[3];
	unsigned i = 0, c, k;

	(void)st;
	for (k = 0; k < 3; k++)
		h[k] = hll_new(precisions[k]);
	for (c = 0; c < 6; c++) {
		for (; i < checkpoints[c]; i++) {
			char id[16];
			int n = snprintf(id, sizeof id, "u%07u", i);

			for (k = 0; k < 3; k++)
				hll_add(h[k], id, (size_t)n);
		}
		for (k = 0; k < 3; k++) {
			double n = checkpoints[c];
			double err = fabs(hll_estimate(h[k]) - n) / n;
			double bound = 3 * hll_std_error(precisions[k]);

			if (err > bound)
				fail_msg("p=%d n=%.0f estimate %.3f: error %.5f > %.5f",
				    precisions[k], n, hll_estimate(h[k]), err,
				    bound);
		}
	}
	for (k = 0; k < 3; k++)
		hll_free(h[k]);
}

/*
 * Sparse holds m / 16 registers (1024 at p = 14); the next new register
 * promotes. At every step the estimate is bit-identical to a sketch that was
 * dense from the start.
 */
static void
promotion_keeps_registers_and_estimate(void **st)
{
	struct hll *s = hll_new(14), *d = hll_new_dense(14);
	uint32_t i;

	(void)st;
	for (i = 0; i < 1024; i++) {
		uint64_t x = mkhash(14, (i * 7919) % 16384, 1 + (int)(i % 51));

		assert_true(hll_add_hash(s, x));
		assert_true(hll_add_hash(d, x));
		assert_true(hll_estimate(s) == hll_estimate(d));
	}
	assert_true(hll_is_sparse(s));
	assert_true(hll_memory(s) <= 4096 + 64);
	assert_true(hll_equal(s, d));
	/* Raising an existing register does not promote. */
	assert_true(hll_add_hash(s, mkhash(14, 7919, 51)));
	assert_true(hll_add_hash(d, mkhash(14, 7919, 51)));
	assert_true(hll_is_sparse(s));
	/* Register 1 is unused (7919 i mod 16384 != 1 for i < 1024). */
	assert_int_equal(hll_register(s, 1), 0);
	assert_true(hll_add_hash(s, mkhash(14, 1, 2)));
	assert_true(hll_add_hash(d, mkhash(14, 1, 2)));
	assert_false(hll_is_sparse(s));
	assert_true(hll_equal(s, d));
	assert_true(hll_estimate(s) == hll_estimate(d));
	for (i = 0; i < 16384; i++)
		assert_int_equal(hll_register(s, i), hll_register(d, i));
	hll_free(s);
	hll_free(d);

	/* Real users, across the promotion, estimate compared at each add. */
	s = hll_new(14);
	d = hll_new_dense(14);
	for (i = 0; i < 3000; i++) {
		assert_true(add_user(s, i) == add_user(d, i));
		assert_true(hll_estimate(s) == hll_estimate(d));
	}
	assert_false(hll_is_sparse(s));
	assert_true(hll_equal(s, d));
	hll_free(s);
	hll_free(d);
}

static void
memory_footprint(void **st)
{
	struct hll *h = hll_new(14), *d = hll_new_dense(14);

	(void)st;
	assert_true(hll_memory(h) <= 32);
	add_users(h, 0, 10);
	assert_true(hll_memory(h) <= 32 + 16 * 4);
	add_users(h, 10, 100000);
	assert_false(hll_is_sparse(h));
	assert_true(hll_memory(h) >= 16384 && hll_memory(h) <= 16384 + 64);
	assert_int_equal(hll_memory(h), hll_memory(d));
	hll_free(h);
	hll_free(d);
}

/* Build a sketch of users [from, to) in the given representation. */
static struct hll *
sketch(bool dense, unsigned from, unsigned to)
{
	struct hll *h = dense ? hll_new_dense(14) : hll_new(14);

	add_users(h, from, to);
	return h;
}

/*
 * 30 days, each user range overlapping the previous day's; some days small
 * (sparse), some big (dense). The month built by merging equals the sketch
 * of the union, whichever representation the month starts in.
 */
static void
merge_days_into_month(void **st)
{
	struct hll *days[30], *month[2], *uni;
	unsigned d, k, hi = 0;

	(void)st;
	for (d = 0; d < 30; d++) {
		unsigned from = d * 400, to = from + (d % 3 == 0 ? 5000 : 300);

		days[d] = sketch(false, from, to);
		assert_true(hll_is_sparse(days[d]) == (d % 3 != 0));
		if (to > hi)
			hi = to;
	}
	uni = sketch(false, 0, hi);	/* the ranges cover [0, hi) */
	month[0] = hll_new(14);
	month[1] = hll_new_dense(14);
	for (k = 0; k < 2; k++) {
		for (d = 0; d < 30; d++)
			assert_int_equal(hll_merge(month[k], days[d]), 0);
		assert_true(hll_equal(month[k], uni));
		assert_true(hll_estimate(month[k]) == hll_estimate(uni));
	}
	/* Only sparse days: the month stays sparse while it fits. */
	hll_free(month[0]);
	month[0] = hll_new(14);
	for (d = 1; d < 3; d++)
		hll_merge(month[0], days[d]);
	assert_true(hll_is_sparse(month[0]));
	hll_free(uni);
	uni = sketch(false, 400, 700);
	add_users(uni, 800, 1100);
	assert_true(hll_equal(month[0], uni));
	for (d = 0; d < 30; d++)
		hll_free(days[d]);
	for (k = 0; k < 2; k++)
		hll_free(month[k]);
	hll_free(uni);
}

/* Every (dst, src) representation pair, with overlapping inputs. */
static void
merge_every_representation_pair(void **st)
{
	static const struct { unsigned a0, a1, b0, b1; } sets[] = {
		{ 0, 200, 100, 400 },		/* union stays sparse */
		{ 0, 700, 500, 1400 },		/* union overflows sparse */
		{ 0, 50000, 40000, 60000 },	/* large */
	};
	unsigned s, dd, sd;

	(void)st;
	for (s = 0; s < 3; s++) {
		struct hll *uni = sketch(false, sets[s].a0, sets[s].b1);

		for (dd = 0; dd < 2; dd++)
			for (sd = 0; sd < 2; sd++) {
				struct hll *dst = sketch(dd, sets[s].a0, sets[s].a1);
				struct hll *src = sketch(sd, sets[s].b0, sets[s].b1);
				struct hll *copy = hll_dup(src);

				assert_int_equal(hll_merge(dst, src), 0);
				assert_true(hll_equal(dst, uni));
				assert_true(hll_estimate(dst) == hll_estimate(uni));
				assert_true(hll_equal(src, copy));  /* untouched */
				if (!dd && !sd)
					assert_true(hll_is_sparse(dst) ==
					    hll_is_sparse(uni));
				hll_free(dst);
				hll_free(src);
				hll_free(copy);
			}
		hll_free(uni);
	}
}

/* A sparse src that only raises ranks of registers dst already has. */
static void
merge_sparse_raises_ranks(void **st)
{
	struct hll *a = hll_new(14), *b = hll_new(14), *u = hll_new(14);

	(void)st;
	hll_add_hash(a, mkhash(14, 10, 2));
	hll_add_hash(a, mkhash(14, 20, 5));
	hll_add_hash(b, mkhash(14, 10, 7));
	hll_add_hash(b, mkhash(14, 20, 1));
	assert_int_equal(hll_merge(a, b), 0);
	assert_int_equal(hll_register(a, 10), 7);
	assert_int_equal(hll_register(a, 20), 5);
	hll_add_hash(u, mkhash(14, 10, 7));
	hll_add_hash(u, mkhash(14, 20, 5));
	assert_true(hll_equal(a, u));
	/* Merging with itself and with an empty sketch changes nothing. */
	assert_int_equal(hll_merge(a, a), 0);
	hll_free(b);
	b = hll_new(14);
	assert_int_equal(hll_merge(a, b), 0);
	assert_true(hll_equal(a, u));
	assert_true(hll_is_sparse(a));
	hll_free(a);
	hll_free(b);
	hll_free(u);
}

static void
merge_precision_mismatch(void **st)
{
	struct hll *a = sketch(false, 0, 100), *b = hll_new(10);
	struct hll *before = hll_dup(a);

	(void)st;
	add_users(b, 0, 100);
	assert_int_equal(hll_merge(a, b), -1);
	assert_int_equal(hll_merge(b, a), -1);
	assert_true(hll_equal(a, before));
	assert_false(hll_equal(a, b));
	hll_free(a);
	hll_free(b);
	hll_free(before);
}

static void
equal_detects_one_register(void **st)
{
	struct hll *s = sketch(false, 0, 50), *d = sketch(true, 0, 50);
	struct hll *s2 = hll_dup(s);

	(void)st;
	assert_true(hll_equal(s, d) && hll_equal(d, s) && hll_equal(s, s2));
	assert_true(hll_add_hash(s2, mkhash(14, 16383, 51)));	/* one more */
	assert_false(hll_equal(s, s2));
	assert_false(hll_equal(d, s2));
	assert_false(hll_equal(s2, d));
	hll_add_hash(d, mkhash(14, 16383, 50));	/* same index, lower rank */
	assert_false(hll_equal(d, s2));
	hll_add_hash(d, mkhash(14, 16383, 51));
	assert_true(hll_equal(d, s2));
	/* The copy is independent of the original. */
	assert_int_equal(hll_register(s, 16383), 0);
	hll_free(s);
	hll_free(s2);
	hll_free(d);
}

static void
roundtrip_empty_sparse_dense(void **st)
{
	struct hll *in[5] = {
		hll_new(14), sketch(false, 0, 100), sketch(false, 0, 100000),
		hll_new_dense(14), hll_new(4),
	};
	unsigned k;

	(void)st;
	add_users(in[4], 0, 5);		/* dense at p = 4 */
	for (k = 0; k < 5; k++) {
		struct enc a, b;
		size_t len;
		struct hll *out = roundtrip(in[k], &len);

		assert_true(hll_equal(in[k], out));
		assert_true(hll_is_sparse(in[k]) == hll_is_sparse(out));
		assert_true(hll_estimate(in[k]) == hll_estimate(out));
		enc_init(&a);
		enc_init(&b);
		hll_encode(in[k], &a);
		hll_encode(out, &b);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(a.buf, b.buf, a.len);
		enc_free(&a);
		enc_free(&b);
		hll_free(out);
	}
	for (k = 0; k < 5; k++)
		hll_free(in[k]);
}

/*
 * Exact bytes of a sparse sketch with 10 registers: header 01 0e 00, count
 * 0a, then uvar(gap << 6 | rank - 1): gaps 0, 1, 1 and 1 fit one byte, gaps
 * 98 and 155 two, gaps 4744, 5000, 6000 and 383 three: 4 + 20 = 24 bytes.
 */
static void
encoded_sizes_exact(void **st)
{
	static const struct { uint32_t index; int rank; } regs[] = {
		{ 0, 1 }, { 1, 2 }, { 2, 51 }, { 100, 3 }, { 255, 4 },
		{ 256, 5 }, { 5000, 6 }, { 10000, 7 }, { 16000, 8 },
		{ 16383, 51 },
	};
	static const uint8_t want[] = {
		0x01, 0x0e, 0x00, 0x0a,
		0x00, 0x41, 0x72, 0x82, 0x31, 0xc3, 0x4d, 0x44,
		0x85, 0xc4, 0x12, 0x86, 0xc4, 0x13, 0x87, 0xb8, 0x17,
		0xf2, 0xbf, 0x01,
	};
	static const uint8_t empty[] = { 0x01, 0x0e, 0x00, 0x00 };
	struct hll *h = hll_new(14), *d;
	struct enc e;
	unsigned i;

	(void)st;
	enc_init(&e);
	hll_encode(h, &e);
	assert_int_equal(e.len, sizeof empty);
	assert_memory_equal(e.buf, empty, sizeof empty);
	for (i = 0; i < 10; i++)	/* in shuffled order */
		hll_add_hash(h, mkhash(14, regs[(i * 3) % 10].index,
		    regs[(i * 3) % 10].rank));
	enc_reset(&e);
	hll_encode(h, &e);
	assert_int_equal(e.len, sizeof want);
	assert_memory_equal(e.buf, want, sizeof want);
	hll_free(h);

	/*
	 * Ten real users "u0000000".."u0000009": registers ~1600 apart, so
	 * mostly 3-byte entries (at most 4 + 3 * 10 = 34 bytes). XXH3 is a
	 * fixed function, so the exact size pins the format: 32.
	 */
	h = sketch(false, 0, 10);
	enc_reset(&e);
	hll_encode(h, &e);
	assert_int_equal(e.len, 32);
	hll_free(h);

	/* Dense: header + 6 bits per register. */
	d = hll_new_dense(14);
	enc_reset(&e);
	hll_encode(d, &e);
	assert_int_equal(e.len, 3 + 16384 * 6 / 8);
	assert_int_equal(e.buf[2], 1);
	hll_free(d);
	enc_free(&e);
}

/* Dense packing: 4 registers in 3 bytes, low bits first. */
static void
dense_packing_layout(void **st)
{
	struct hll *h = hll_new_dense(4), *out;
	struct enc e;
	size_t len;

	(void)st;
	hll_add_hash(h, mkhash(4, 0, 61));	/* 111101 */
	hll_add_hash(h, mkhash(4, 1, 1));	/* 000001 */
	hll_add_hash(h, mkhash(4, 2, 42));	/* 101010 */
	hll_add_hash(h, mkhash(4, 3, 60));	/* 111100 */
	hll_add_hash(h, mkhash(4, 15, 7));
	enc_init(&e);
	hll_encode(h, &e);
	assert_int_equal(e.len, 3 + 12);
	assert_int_equal(e.buf[3], 61 | (1 << 6));
	assert_int_equal(e.buf[4], (1 >> 2) | ((42 << 4) & 0xff));
	assert_int_equal(e.buf[5], (42 >> 4) | (60 << 2));
	assert_int_equal(e.buf[14], 7 << 2);
	out = roundtrip(h, &len);
	assert_int_equal(hll_register(out, 2), 42);
	assert_int_equal(hll_register(out, 15), 7);
	assert_true(hll_equal(h, out));
	hll_free(out);
	hll_free(h);
	enc_free(&e);
}

/* Every proper prefix of a valid encoding is rejected. */
static void
assert_truncations_rejected(const struct hll *h)
{
	struct enc e;
	size_t n;

	enc_init(&e);
	hll_encode(h, &e);
	for (n = 0; n < e.len; n++) {
		/* A copy of exactly n bytes, so ASan sees any overread. */
		uint8_t *cut = malloc(n ? n : 1);

		memcpy(cut, e.buf, n);
		assert_rejected(cut, n);
		free(cut);
	}
	enc_free(&e);
}

static void
decode_rejects_truncation(void **st)
{
	struct hll *s = sketch(false, 0, 300), *d = hll_new(10);

	(void)st;
	assert_rejected("", 0);
	assert_truncations_rejected(s);
	add_users(d, 0, 5000);
	assert_false(hll_is_sparse(d));
	assert_truncations_rejected(d);
	hll_free(s);
	hll_free(d);
}

static void
decode_rejects_bad_header(void **st)
{
	uint8_t b[] = { 1, 14, 0, 1, 0x41 };	/* register 1 = 2 */
	struct hll *h;

	(void)st;
	h = hll_decode(b, sizeof b, NULL);
	assert_non_null(h);
	assert_int_equal(hll_register(h, 1), 2);
	hll_free(h);
	b[0] = 2;
	assert_rejected(b, sizeof b);
	b[0] = 0;
	assert_rejected(b, sizeof b);
	b[0] = 1;
	b[1] = 3;
	assert_rejected(b, sizeof b);
	b[1] = 19;
	assert_rejected(b, sizeof b);
	b[1] = 14;
	b[2] = 2;	/* unknown representation */
	assert_rejected(b, sizeof b);
}

static void
decode_rejects_bad_sparse(void **st)
{
	/* Each a complete, otherwise well-formed p = 14 sparse encoding. */
	static const struct { const char *what; uint8_t b[12]; size_t len; }
	    bad[] = {
		{ "rank 52 > q + 1", { 1, 14, 0, 1, 0xb3, 0x01 }, 6 },
		{ "rank 64", { 1, 14, 0, 1, 0x3f }, 5 },
		{ "duplicate index", { 1, 14, 0, 2, 0x41, 0x01 }, 6 },
		{ "index 16384", { 1, 14, 0, 1, 0x80, 0x80, 0x40 }, 7 },
		{ "index overflow by sum",
		    { 1, 14, 0, 2, 0xc0, 0xff, 0x3f, 0x80, 0x01 }, 9 },
		{ "count > m", { 1, 14, 0, 0x81, 0x80, 0x01, 0 }, 7 },
		{ "count > bytes left", { 1, 14, 0, 3, 0x00, 0x41 }, 6 },
		{ "trailing garbage", { 1, 14, 0, 1, 0x41, 0x00 }, 6 },
		{ "overlong varint",
		    { 1, 14, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		      0xff }, 12 },
	};
	static const uint8_t ok[] = { 1, 14, 0, 1, 0xb2, 0x01 };  /* rank 51 */
	struct hll *h;
	size_t i;

	(void)st;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint8_t *copy = malloc(bad[i].len);

		memcpy(copy, bad[i].b, bad[i].len);
		if (hll_decode(copy, bad[i].len, NULL) != NULL)
			fail_msg("accepted: %s", bad[i].what);
		assert_rejected(copy, bad[i].len);
		free(copy);
	}
	h = hll_decode(ok, sizeof ok, NULL);
	assert_non_null(h);
	assert_int_equal(hll_register(h, 2), 51);
	hll_free(h);
}

static void
decode_rejects_bad_dense(void **st)
{
	struct hll *h = hll_new_dense(14), *out;
	struct enc e;
	uint8_t *b;
	size_t len;

	(void)st;
	enc_init(&e);
	hll_encode(h, &e);
	b = e.buf;
	len = e.len;
	b[3] = 51;		/* register 0 = q + 1: valid */
	out = hll_decode(b, len, NULL);
	assert_non_null(out);
	assert_int_equal(hll_register(out, 0), 51);
	hll_free(out);
	b[3] = 52;		/* register 0 = 52 > q + 1 */
	assert_rejected(b, len);
	b[3] = 0;
	b[len - 1] = 63 << 2;	/* last register = 63 */
	assert_rejected(b, len);
	b[len - 1] = 0;
	enc_u8(&e, 0);		/* trailing byte */
	assert_rejected(e.buf, e.len);
	enc_free(&e);
	hll_free(h);
}

/* More sparse entries than kept in memory: accepted, decoded dense. */
static void
decode_long_sparse_goes_dense(void **st)
{
	static const uint8_t b[] = { 1, 4, 0, 2, 0x00, 0x41 };
	struct hll *h = hll_decode(b, sizeof b, NULL);

	(void)st;
	assert_non_null(h);
	assert_false(hll_is_sparse(h));
	assert_int_equal(hll_register(h, 0), 1);
	assert_int_equal(hll_register(h, 1), 2);
	hll_free(h);
}

/* Every single-byte change of small encodings: decode or reject, cleanly. */
static void
decode_survives_byte_flips(void **st)
{
	struct hll *in[2] = { sketch(false, 0, 20), hll_new(4) };
	unsigned k, v;
	size_t i;

	(void)st;
	add_users(in[1], 0, 40);
	for (k = 0; k < 2; k++) {
		struct enc e;

		enc_init(&e);
		hll_encode(in[k], &e);
		for (i = 0; i < e.len; i++)
			for (v = 0; v < 256; v++) {
				uint8_t *copy = xmemdup(e.buf, e.len);
				struct hll *h;
				char *cause = NULL;

				copy[i] = (uint8_t)v;
				h = hll_decode(copy, e.len, &cause);
				if (h != NULL) {
					assert_null(cause);
					hll_estimate(h);
					hll_free(h);
				} else
					free(cause);
				free(copy);
			}
		enc_free(&e);
	}
	for (k = 0; k < 2; k++)
		hll_free(in[k]);
}

/* Same registers and representation: the encodings are the same bytes. */
static void
assert_same_encoding(const struct hll *a, const struct hll *b)
{
	struct enc ea, eb;

	enc_init(&ea);
	enc_init(&eb);
	hll_encode(a, &ea);
	hll_encode(b, &eb);
	assert_int_equal(hll_is_sparse(a), hll_is_sparse(b));
	assert_int_equal(ea.len, eb.len);
	assert_memory_equal(ea.buf, eb.buf, ea.len);
	assert_true(hll_equal(a, b));
	enc_free(&ea);
	enc_free(&eb);
}

/* hll_union(v, n) against hll_dup(v[0]) merged with the others in turn. */
static void
assert_union_as_merges(struct hll *const *v, size_t n)
{
	struct hll *want = hll_dup(v[0]), *got;
	size_t i;

	for (i = 1; i < n; i++)
		assert_int_equal(hll_merge(want, v[i]), 0);
	got = hll_union((const struct hll *const *)v, n);
	assert_non_null(got);
	assert_same_encoding(got, want);
	assert_true(hll_estimate(got) == hll_estimate(want));
	hll_free(got);
	hll_free(want);
}

static void
free_all(struct hll **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		hll_free(v[i]);
}

/*
 * Every path of hll_union: few entries (sorted), many into a sparse
 * result, past the sparse limit, dense inputs (promoted or made dense),
 * empty inputs, one input, equal indexes with other ranks.
 */
static void
union_equals_merging_in_turn(void **st)
{
	static const int prec[] = { HLL_MIN_PRECISION, 11, 14,
	    HLL_MAX_PRECISION };
	struct hll *v[64];
	size_t i, j;
	int p;

	(void)st;
	for (j = 0; j < sizeof prec / sizeof prec[0]; j++) {
		p = prec[j];
		/* few: 3 x 2 users, at p = 4 already 6 > m / 64 */
		for (i = 0; i < 3; i++) {
			v[i] = hll_new(p);
			add_users(v[i], (unsigned)i, (unsigned)i + 2);
		}
		assert_union_as_merges(v, 3);
		free_all(v, 3);
		/* 64 x 12 overlapping users: 520, sparse at p >= 14 */
		for (i = 0; i < 64; i++) {
			v[i] = hll_new(p);
			add_users(v[i], (unsigned)i * 8, (unsigned)i * 8 + 12);
		}
		assert_union_as_merges(v, 64);
		free_all(v, 64);
		/* 64 x 40 distinct users: dense up to p = 15 */
		for (i = 0; i < 64; i++) {
			v[i] = hll_new(p);
			add_users(v[i], (unsigned)i * 40, (unsigned)i * 40 + 40);
		}
		assert_union_as_merges(v, 64);
		/* a dense one among them, first or not */
		hll_free(v[5]);
		v[5] = hll_new_dense(p);
		add_user(v[5], 7);
		assert_union_as_merges(v, 64);
		assert_union_as_merges(v + 5, 3);
		free_all(v, 64);
	}
	/* empty ones, and one alone */
	for (i = 0; i < 4; i++)
		v[i] = hll_new(14);
	assert_union_as_merges(v, 4);
	add_users(v[2], 0, 3000);	/* promoted */
	assert_false(hll_is_sparse(v[2]));
	assert_union_as_merges(v, 4);
	assert_union_as_merges(v + 2, 1);
	assert_union_as_merges(v + 3, 1);
	free_all(v, 4);
}

/* One register, ranks 3, 9, 5 in three sketches: the top rank wins. */
static void
union_keeps_top_rank(void **st)
{
	struct hll *v[3];
	struct hll *u;
	int i, rank[3] = { 3, 9, 5 };

	(void)st;
	for (i = 0; i < 3; i++) {
		v[i] = hll_new(14);
		hll_add_hash(v[i], mkhash(14, 777, rank[i]));
		hll_add_hash(v[i], mkhash(14, 100 + (uint32_t)i, 1));
	}
	u = hll_union((const struct hll *const *)v, 3);
	assert_int_equal(hll_register(u, 777), 9);
	assert_int_equal(hll_register(u, 101), 1);
	assert_int_equal(hll_register(u, 103), 0);
	assert_union_as_merges(v, 3);
	hll_free(u);
	free_all(v, 3);
}

static void
union_rejects_mixed_precision_and_nothing(void **st)
{
	struct hll *v[2] = { hll_new(14), hll_new(12) };

	(void)st;
	assert_null(hll_union((const struct hll *const *)v, 2));
	assert_null(hll_union((const struct hll *const *)v, 0));
	free_all(v, 2);
}

/* hll_add_hashes against hll_add_hash of each, from a given start. */
static void
assert_batch_as_one_by_one(const struct hll *start, const uint64_t *h,
    size_t n)
{
	struct hll *one = hll_dup(start), *batch = hll_dup(start);
	size_t i;

	for (i = 0; i < n; i++)
		hll_add_hash(one, h[i]);
	hll_add_hashes(batch, h, n);
	assert_same_encoding(batch, one);
	hll_free(one);
	hll_free(batch);
}

/*
 * Batches below and above the size taken in one pass, into empty, sparse
 * and dense sketches, across the sparse limit, with equal indexes.
 */
static void
add_hashes_equals_one_by_one(void **st)
{
	uint64_t h[5000];
	struct hll *start[4];
	size_t i, s, sizes[] = { 0, 1, 15, 16, 17, 300, 1024, 1500, 5000 };

	(void)st;
	for (i = 0; i < 5000; i++) {
		char id[16];
		int len = snprintf(id, sizeof id, "b%07zu", i);

		h[i] = hll_hash(id, (size_t)len);
	}
	/* The same index with rising and falling ranks. */
	h[10] = mkhash(14, 4242, 2);
	h[11] = mkhash(14, 4242, 11);
	h[12] = mkhash(14, 4242, 4);
	start[0] = hll_new(14);
	start[1] = hll_new(14);
	add_users(start[1], 0, 500);		/* sparse, 500 in */
	start[2] = hll_new(14);
	add_users(start[2], 0, 1000);		/* sparse, near the limit */
	start[3] = hll_new(14);
	add_users(start[3], 0, 5000);		/* dense */
	assert_true(hll_is_sparse(start[2]));
	assert_false(hll_is_sparse(start[3]));
	for (s = 0; s < 4; s++)
		for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
			assert_batch_as_one_by_one(start[s], h, sizes[i]);
	/* The users already in: nothing changes. */
	for (i = 0; i < 500; i++) {
		char id[16];
		int len = snprintf(id, sizeof id, "u%07zu", i);

		h[i] = hll_hash(id, (size_t)len);
	}
	assert_batch_as_one_by_one(start[1], h, 500);
	free_all(start, 4);
}

/* Exactly the sparse limit (m / 16) of registers is sparse; one more not. */
static void
union_and_batch_at_the_sparse_limit(void **st)
{
	uint64_t h[1025];
	struct hll *v[3], *u, *e = hll_new(14);
	uint32_t i;

	(void)st;
	for (i = 0; i < 1025; i++)
		h[i] = mkhash(14, i * 15, 1 + (int)(i % 7));
	for (i = 0; i < 3; i++)
		v[i] = hll_new(14);
	hll_add_hashes(v[0], h, 512);
	hll_add_hashes(v[1], h + 512, 512);
	hll_add_hash(v[2], h[1024]);
	assert_true(hll_is_sparse(v[0]) && hll_is_sparse(v[1]));
	u = hll_union((const struct hll *const *)v, 2);
	assert_true(hll_is_sparse(u));
	assert_union_as_merges(v, 2);
	hll_free(u);
	u = hll_union((const struct hll *const *)v, 3);
	assert_false(hll_is_sparse(u));
	assert_union_as_merges(v, 3);
	hll_free(u);
	assert_batch_as_one_by_one(e, h, 1024);
	hll_add_hashes(e, h, 1024);
	assert_true(hll_is_sparse(e));
	assert_batch_as_one_by_one(e, h + 1024, 1);
	hll_free(e);
	e = hll_new(14);
	assert_batch_as_one_by_one(e, h, 1025);
	hll_add_hashes(e, h, 1025);
	assert_false(hll_is_sparse(e));
	hll_free(e);
	free_all(v, 3);
}

/*
 * hll_union_hashes equals the union followed by hll_add_hashes, in
 * registers and representation: with no sketch, hashes alone up to and
 * past the sparse limit; sparse and dense inputs; the small path (all
 * sorted together) keeping the top rank of a register hit by both a
 * sketch and a hash. A precision out of range or differing gives NULL.
 */
static void
union_with_hashes_as_union_then_adds(void **st)
{
	uint64_t h[1100];
	struct hll *v[3], *u, *want, *odd = hll_new(12);
	uint32_t i;
	size_t n, split[] = { 0, 1, 255, 256, 1024, 1025, 1100 };

	(void)st;
	for (i = 0; i < 1100; i++)
		h[i] = mkhash(14, i * 13, 1 + (int)(i % 9));
	/* A register of v[0] hit again by a hash, at a lower and a higher
	 * rank. */
	h[1] = mkhash(14, 0, 20);
	h[2] = mkhash(14, 13, 1);
	for (n = 0; n < sizeof split / sizeof split[0]; n++) {
		u = hll_union_hashes(14, NULL, 0, h, split[n]);
		want = hll_new(14);
		hll_add_hashes(want, h, split[n]);
		assert_true(hll_equal(u, want));
		assert_int_equal(hll_is_sparse(u), hll_is_sparse(want));
		hll_free(u);
		hll_free(want);
	}
	v[0] = hll_new(14);
	v[1] = hll_new(14);
	v[2] = hll_new_dense(14);
	for (i = 0; i < 20; i++) {
		hll_add_hash(v[0], mkhash(14, i * 13, 5));
		hll_add_hash(v[1], mkhash(14, 7 + i * 13, 3));
		hll_add_hash(v[2], mkhash(14, 9 + i * 13, 2));
	}
	for (i = 1; i <= 3; i++) {
		for (n = 0; n < sizeof split / sizeof split[0]; n++) {
			u = hll_union_hashes(14, (const struct hll *const *)v,
			    i, h, split[n]);
			want = hll_union((const struct hll *const *)v, i);
			hll_add_hashes(want, h, split[n]);
			assert_true(hll_equal(u, want));
			assert_int_equal(hll_is_sparse(u),
			    hll_is_sparse(want));
			hll_free(u);
			hll_free(want);
		}
	}
	u = hll_union_hashes(14, NULL, 0, h, 3);
	assert_int_equal(hll_register(u, 0), 20);	/* h[0] has rank 1 */
	assert_int_equal(hll_register(u, 13), 1);
	hll_free(u);
	/* An empty sparse sketch holds no array at all. */
	want = hll_new(14);
	u = hll_union_hashes(14, (const struct hll *const *)&want, 1, h, 3);
	hll_add_hashes(want, h, 3);
	assert_true(hll_equal(u, want) && hll_is_sparse(u));
	hll_free(u);
	hll_free(want);
	assert_null(hll_union_hashes(3, NULL, 0, h, 1));
	assert_null(hll_union_hashes(19, NULL, 0, h, 1));
	hll_free(v[2]);
	v[2] = odd;
	assert_null(hll_union_hashes(14, (const struct hll *const *)v, 3,
	    h, 1));
	free_all(v, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(new_checks_precision),
		cmocka_unit_test(std_error_formula),
		cmocka_unit_test(hash_is_xxh3),
		cmocka_unit_test(index_is_top_bits_rank_is_leading_zeros),
		cmocka_unit_test(empty_estimates_zero),
		cmocka_unit_test(one_item_exact),
		cmocka_unit_test(estimator_saturated_and_spread),
		cmocka_unit_test(add_reports_register_changes),
		cmocka_unit_test(accuracy_within_three_sigma),
		cmocka_unit_test(promotion_keeps_registers_and_estimate),
		cmocka_unit_test(memory_footprint),
		cmocka_unit_test(merge_days_into_month),
		cmocka_unit_test(merge_every_representation_pair),
		cmocka_unit_test(merge_sparse_raises_ranks),
		cmocka_unit_test(merge_precision_mismatch),
		cmocka_unit_test(equal_detects_one_register),
		cmocka_unit_test(roundtrip_empty_sparse_dense),
		cmocka_unit_test(encoded_sizes_exact),
		cmocka_unit_test(dense_packing_layout),
		cmocka_unit_test(decode_rejects_truncation),
		cmocka_unit_test(decode_rejects_bad_header),
		cmocka_unit_test(decode_rejects_bad_sparse),
		cmocka_unit_test(decode_rejects_bad_dense),
		cmocka_unit_test(decode_long_sparse_goes_dense),
		cmocka_unit_test(decode_survives_byte_flips),
		cmocka_unit_test(union_equals_merging_in_turn),
		cmocka_unit_test(union_keeps_top_rank),
		cmocka_unit_test(union_and_batch_at_the_sparse_limit),
		cmocka_unit_test(union_with_hashes_as_union_then_adds),
		cmocka_unit_test(union_rejects_mixed_precision_and_nothing),
		cmocka_unit_test(add_hashes_equals_one_by_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
