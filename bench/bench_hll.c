/*
 * bench_hll: cost of the HyperLogLog sketch at the default precision.
 *
 * Prints nanoseconds per hash, per add (sparse and dense), per estimate and
 * per merge, then the memory and encoded bytes of one sketch at several
 * cardinalities. Usage: bench_hll [precision]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "enc.h"
#include "hll.h"
#include "xmalloc.h"

#define NHASH	(1u << 20)

static volatile double sink;

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void
report(const char *what, double ns, double ops)
{
	printf("%-34s %9.1f ns\n", what, ns / ops);
}

static struct hll *
build(int p, bool dense, const uint64_t *hashes, unsigned n)
{
	struct hll *h = dense ? hll_new_dense(p) : hll_new(p);
	unsigned i;

	for (i = 0; i < n; i++)
		hll_add_hash(h, hashes[i]);
	return h;
}

static void
bench_adds(int p, const uint64_t *hashes)
{
	/* Sparse: many small sketches, 200 users each, as most are. */
	unsigned per = 200, nsk = NHASH / per, k, i;
	struct hll **sk = xcalloc(nsk, sizeof *sk);
	struct hll *d;
	double t;

	t = now_ns();
	for (k = 0; k < nsk; k++) {
		sk[k] = hll_new(p);
		for (i = 0; i < per; i++)
			hll_add_hash(sk[k], hashes[k * per + i]);
	}
	report("add, sparse (200 per sketch)", now_ns() - t, nsk * per);
	for (k = 0; k < nsk; k++)
		hll_free(sk[k]);
	free(sk);

	/* The cost of growing one sketch through the promotion. */
	t = now_ns();
	for (k = 0; k < 256; k++)
		hll_free(build(p, false, hashes + k * 4096, 4096));
	report("add, 0..4096 through promotion", now_ns() - t, 256.0 * 4096);

	d = hll_new_dense(p);
	t = now_ns();
	for (k = 0; k < 8; k++)
		for (i = 0; i < NHASH; i++)
			hll_add_hash(d, hashes[i]);
	report("add, dense", now_ns() - t, 8.0 * NHASH);
	hll_free(d);
}

static void
bench_estimate_merge(int p, const uint64_t *hashes)
{
	struct hll *s = build(p, false, hashes, 500);
	struct hll *s2 = build(p, false, hashes + 500, 300);
	struct hll *d = build(p, false, hashes, NHASH);
	struct hll *d2 = build(p, false, hashes + 1000, 100000);
	unsigned i, n = 20000;
	double t;

	t = now_ns();
	for (i = 0; i < n; i++)
		sink = hll_estimate(s);
	report("estimate, sparse (500 registers)", now_ns() - t, n);
	t = now_ns();
	for (i = 0; i < n; i++)
		sink = hll_estimate(d);
	report("estimate, dense", now_ns() - t, n);

	t = now_ns();
	for (i = 0; i < n; i++) {
		struct hll *x = hll_dup(s);

		hll_merge(x, s2);
		hll_free(x);
	}
	report("dup + merge, sparse into sparse", now_ns() - t, n);
	t = now_ns();
	for (i = 0; i < n; i++)
		hll_merge(d, d2);
	report("merge, dense into dense", now_ns() - t, n);
	t = now_ns();
	for (i = 0; i < n; i++)
		hll_merge(d, s);
	report("merge, sparse into dense", now_ns() - t, n);
	hll_free(s);
	hll_free(s2);
	hll_free(d);
	hll_free(d2);
}

static void
bench_sizes(int p, const uint64_t *hashes)
{
	static const unsigned card[] = { 0, 1, 10, 100, 1000, 10000, 100000 };
	unsigned k;

	printf("\n%8s %8s %10s %10s %12s\n", "users", "form", "memory B",
	    "encoded B", "estimate");
	for (k = 0; k < sizeof card / sizeof card[0]; k++) {
		struct hll *h = build(p, false, hashes, card[k]);
		struct enc e;

		enc_init(&e);
		hll_encode(h, &e);
		printf("%8u %8s %10zu %10zu %12.1f\n", card[k],
		    hll_is_sparse(h) ? "sparse" : "dense", hll_memory(h), e.len,
		    hll_estimate(h));
		enc_free(&e);
		hll_free(h);
	}
}

int
main(int argc, char **argv)
{
	int p = argc > 1 ? atoi(argv[1]) : HLL_DEFAULT_PRECISION;
	uint64_t *hashes;
	unsigned i;
	double t;
	struct hll *probe = hll_new(p);

	if (probe == NULL) {
		fprintf(stderr, "bench_hll: precision must be %d..%d\n",
		    HLL_MIN_PRECISION, HLL_MAX_PRECISION);
		return 1;
	}
	hll_free(probe);
	printf("precision %d: %u registers, standard error %.3f%%\n\n", p,
	    1u << p, 100 * hll_std_error(p));

	hashes = xmalloc(NHASH * sizeof *hashes);
	t = now_ns();
	for (i = 0; i < NHASH; i++) {
		char id[16];
		int n = snprintf(id, sizeof id, "u%07u", i);

		hashes[i] = hll_hash(id, (size_t)n);
	}
	report("format id + hash (XXH3)", now_ns() - t, NHASH);

	bench_adds(p, hashes);
	bench_estimate_merge(p, hashes);
	bench_sizes(p, hashes);
	free(hashes);
	return 0;
}
