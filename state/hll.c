/*
 * hll: HyperLogLog sketches for distinct-user counts.
 *
 * The algorithm
 * -------------
 * HyperLogLog (Flajolet, Fusy, Gandouet, Meunier, "HyperLogLog: the analysis
 * of a near-optimal cardinality estimation algorithm", AofA 2007) keeps
 * m = 2^p registers. Every item is hashed to 64 bits; the hash picks one
 * register and a "rank", and the register keeps the largest rank it has seen.
 * The registers define the estimate; nothing else is stored.
 *
 * Here the register index is the TOP p bits of the hash, and the rank is the
 * position of the first 1 bit in the remaining q = 64 - p bits, counting from
 * their most significant end and starting at 1; if those q bits are all zero
 * the rank is q + 1. So a register holds 0 (never hit) .. q + 1, at most 61
 * (for p = 4), and fits in 6 bits. The hash is XXH3_64bits with seed 0, whose
 * bits are independent enough that no second hash is needed.
 *
 * Representations
 * ---------------
 * activityd keeps one sketch per (partition, period, dimension value):
 * hundreds of thousands of sketches, most of them counting a few users. So,
 * following the sparse idea of Heule, Nunkesser and Hall ("HyperLogLog in
 * Practice", EDBT 2013) without its larger sparse precision, a sketch starts
 * SPARSE: a sorted array of uint32 entries
 *
 *	entry = index << 6 | rank		(rank 1 .. q + 1, never 0)
 *
 * one per register that is not zero, sorted by index (hence by entry). An
 * empty sketch allocates nothing beyond its 24-byte struct. Adding does a
 * binary search; a new register is inserted in place (memmove), which is
 * cheap because the array is bounded:
 *
 *	a sparse sketch holds at most m / 16 entries, i.e. 4 * m / 16 = m / 4
 *	bytes, a quarter of the dense form.
 *
 * Adding a register beyond that limit PROMOTES the sketch to DENSE: one byte
 * per register, m bytes (16 KiB at p = 14). Bytes rather than packed 6-bit
 * registers keep adds and merges simple and fast; the serialized form packs.
 * Promotion copies register values, so it cannot change an estimate. A sketch
 * never goes back to sparse. The sparse array grows by doubling up to the
 * limit, so its memory is within 2x of its entries.
 *
 * Estimator
 * ---------
 * Otmar Ertl, "New cardinality estimation algorithms for HyperLogLog
 * sketches" (2017), the improved raw estimator. With C_k the number of
 * registers equal to k (k = 0 .. q + 1):
 *
 *	            alpha_inf * m^2
 *	E = -----------------------------------------------------------------
 *	    m sigma(C_0 / m) + sum_{k=1..q} C_k 2^-k + m tau(1 - C_{q+1} / m) 2^-q
 *
 *	alpha_inf = 1 / (2 ln 2)
 *	sigma(x)  = x + sum_{k>=1} x^(2^k) 2^(k-1)
 *	tau(x)    = (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k) / 3
 *
 * sigma corrects for empty registers (small cardinalities, where the original
 * paper switched to linear counting) and tau for saturated ones (the 64-bit
 * hash makes those practically impossible, but the term is exact and cheap).
 * The estimator is nearly unbiased over the whole range without empirical
 * bias tables or range switches, and its relative standard error is about
 * 1.04 / sqrt(m): 0.81% at p = 14. It reads only the histogram C, which the
 * sparse and dense forms produce identically.
 *
 * Merging is the register-wise maximum, exactly the sketch of the union of
 * the inputs, for any pair of representations.
 *
 * Serialized form (version 1)
 * ---------------------------
 *	byte 0	format version, 1
 *	byte 1	precision p, 4 .. 18
 *	byte 2	representation: 0 sparse, 1 dense
 *
 *	sparse:	uvar n, the number of entries (0 .. m)
 *		n times uvar (gap << 6 | (rank - 1)), where gap is the index
 *		of the first entry, then the difference to the previous index
 *		(>= 1: entries strictly ascending, no duplicates)
 *	dense:	3m/4 bytes, the registers packed 6 bits each, 4 registers in
 *		3 bytes, least significant bits first:
 *		b0 = r0 | r1 << 6, b1 = r1 >> 2 | r2 << 4, b2 = r2 >> 4 | r3 << 2
 *
 * (uvar is the LEB128 varint of common/enc.h.) An empty sketch takes 4 bytes,
 * a sketch of a few users about 3 bytes per user, a dense one at p = 14
 * 12291 bytes. The decoder checks every field and rejects trailing bytes; a
 * sparse encoding with more entries than the in-memory limit is accepted and
 * decoded dense.
 */
#include "hll.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "enc.h"
#include "xmalloc.h"

#define HLL_RANK_BITS	6
#define HLL_RANK_MASK	((1u << HLL_RANK_BITS) - 1)

#define HLL_TAG_SPARSE	0
#define HLL_TAG_DENSE	1

struct hll {
	uint8_t		 p;
	bool		 dense;
	uint32_t	 n;	/* sparse: entries in use */
	uint32_t	 cap;	/* sparse: entries allocated */
	union {
		uint32_t *sparse;
		uint8_t	 *dense;
	} r;
};
/* Hundreds of thousands of sketches are live: keep the empty one tiny. */
_Static_assert(sizeof(struct hll) <= 24, "struct hll grew");

static inline uint32_t
hll_m(const struct hll *h)
{
	return (uint32_t)1 << h->p;
}

/* Largest rank: q + 1 where q = 64 - p. */
static inline int
hll_max_rank(int p)
{
	return 64 - p + 1;
}

/* Most entries a sparse sketch holds: m / 16, i.e. m / 4 bytes. */
static inline uint32_t
hll_sparse_limit(int p)
{
	return ((uint32_t)1 << p) / 16;
}

static inline uint32_t
entry_index(uint32_t e)
{
	return e >> HLL_RANK_BITS;
}

static inline int
entry_rank(uint32_t e)
{
	return (int)(e & HLL_RANK_MASK);
}

static inline uint32_t
entry_make(uint32_t index, int rank)
{
	return index << HLL_RANK_BITS | (uint32_t)rank;
}

static bool
hll_precision_ok(int p)
{
	return p >= HLL_MIN_PRECISION && p <= HLL_MAX_PRECISION;
}

struct hll *
hll_new(int precision)
{
	struct hll *h;

	if (!hll_precision_ok(precision))
		return NULL;
	h = xcalloc(1, sizeof *h);
	h->p = (uint8_t)precision;
	return h;
}

struct hll *
hll_new_dense(int precision)
{
	struct hll *h = hll_new(precision);

	if (h == NULL)
		return NULL;
	h->dense = true;
	h->r.dense = xcalloc(hll_m(h), 1);
	return h;
}

void
hll_free(struct hll *h)
{
	if (h == NULL)
		return;
	if (h->dense)
		free(h->r.dense);
	else
		free(h->r.sparse);
	free(h);
}

int
hll_precision(const struct hll *h)
{
	return h->p;
}

bool
hll_is_sparse(const struct hll *h)
{
	return !h->dense;
}

size_t
hll_memory(const struct hll *h)
{
	if (h->dense)
		return sizeof *h + hll_m(h);
	return sizeof *h + (size_t)h->cap * sizeof *h->r.sparse;
}

/* ------------------------------------------------------------------------
 * Hashing
 * ------------------------------------------------------------------------ */

uint64_t
hll_hash(const void *data, size_t len)
{
	return XXH3_64bits(data, len);
}

/* Split a hash into register index (top p bits) and rank (see top). */
static void
hll_split(int p, uint64_t hash, uint32_t *index, int *rank)
{
	uint64_t rest = hash << p;	/* the low q bits, moved to the top */

	*index = (uint32_t)(hash >> (64 - p));
	if (rest == 0)
		*rank = hll_max_rank(p);
	else
		*rank = __builtin_clzll(rest) + 1;
}

/* ------------------------------------------------------------------------
 * Dense representation
 * ------------------------------------------------------------------------ */

static bool
dense_set(struct hll *h, uint32_t index, int rank)
{
	if (h->r.dense[index] >= rank)
		return false;
	h->r.dense[index] = (uint8_t)rank;
	return true;
}

/* Sparse to dense; the register values, and so the estimate, are kept. */
static void
hll_promote(struct hll *h)
{
	uint8_t *regs;
	uint32_t i;

	if (h->dense)
		return;
	regs = xcalloc(hll_m(h), 1);
	for (i = 0; i < h->n; i++)
		regs[entry_index(h->r.sparse[i])] =
		    (uint8_t)entry_rank(h->r.sparse[i]);
	free(h->r.sparse);
	h->r.dense = regs;
	h->dense = true;
	h->n = h->cap = 0;
}

/* ------------------------------------------------------------------------
 * Sparse representation
 * ------------------------------------------------------------------------ */

/* Position of `index` in the entries, or where it would be inserted. */
static uint32_t
sparse_find(const struct hll *h, uint32_t index, bool *found)
{
	uint32_t lo = 0, hi = h->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint32_t at = entry_index(h->r.sparse[mid]);

		if (at == index) {
			*found = true;
			return mid;
		}
		if (at < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static void
sparse_reserve(struct hll *h, uint32_t need)
{
	uint32_t cap, limit = hll_sparse_limit(h->p);

	if (need <= h->cap)
		return;
	cap = h->cap ? h->cap : 4;
	while (cap < need)
		cap *= 2;
	if (cap > limit)
		cap = limit;
	h->r.sparse = xrealloc(h->r.sparse, (size_t)cap * sizeof *h->r.sparse);
	h->cap = cap;
}

static bool
sparse_set(struct hll *h, uint32_t index, int rank)
{
	uint32_t pos;
	bool found;

	pos = sparse_find(h, index, &found);
	if (found) {
		if (entry_rank(h->r.sparse[pos]) >= rank)
			return false;
		h->r.sparse[pos] = entry_make(index, rank);
		return true;
	}
	if (h->n == hll_sparse_limit(h->p)) {
		hll_promote(h);
		return dense_set(h, index, rank);
	}
	sparse_reserve(h, h->n + 1);
	memmove(h->r.sparse + pos + 1, h->r.sparse + pos,
	    (size_t)(h->n - pos) * sizeof *h->r.sparse);
	h->r.sparse[pos] = entry_make(index, rank);
	h->n++;
	return true;
}

/* ------------------------------------------------------------------------
 * Many registers at once
 * ------------------------------------------------------------------------ */

/*
 * a = max(a, b) per register. m is a multiple of 16 (p >= 4): blocks of 16
 * with a plain store let the compiler use vector max even at -O2.
 */
static void
dense_max(uint8_t *restrict a, const uint8_t *restrict b, uint32_t m)
{
	uint32_t i, j;

	for (i = 0; i < m; i += 16, a += 16, b += 16)
		for (j = 0; j < 16; j++)
			a[j] = a[j] > b[j] ? a[j] : b[j];
}

/*
 * A plain register array: sparse entries raise registers and mark their
 * index in a bitmap (counting the distinct ones), dense sketches are
 * maxed in (the result is then dense). At the end the array becomes the
 * sketch if it must be dense; otherwise the bitmap lists the indexes in
 * order for the sparse entries. O(entries + m / 64), against a binary
 * search and a memmove per new register of a sparse sketch.
 */
struct regs {
	uint8_t  *reg;
	uint64_t *mark;
	uint32_t  m, distinct;
};

static void
regs_init(struct regs *g, int p)
{
	g->m = (uint32_t)1 << p;
	g->reg = xcalloc(g->m, 1);
	g->mark = xcalloc((g->m + 63) / 64, sizeof *g->mark);
	g->distinct = 0;
}

static void
regs_set(struct regs *g, uint32_t index, int rank)
{
	uint64_t bit = UINT64_C(1) << (index % 64);

	if (g->reg[index] < rank)
		g->reg[index] = (uint8_t)rank;
	g->distinct += !(g->mark[index / 64] & bit);
	g->mark[index / 64] |= bit;
}

static void
regs_add(struct regs *g, const struct hll *h)
{
	uint32_t i;

	if (h->dense) {
		dense_max(g->reg, h->r.dense, g->m);
		return;
	}
	for (i = 0; i < h->n; i++)
		regs_set(g, entry_index(h->r.sparse[i]),
		    entry_rank(h->r.sparse[i]));
}

/* Installs the registers into h, whose own storage is freed. */
static void
regs_finish(struct regs *g, struct hll *h, bool dense)
{
	uint32_t w, n = 0;

	free(h->dense ? (void *)h->r.dense : (void *)h->r.sparse);
	if (dense || g->distinct > hll_sparse_limit(h->p)) {
		h->dense = true;
		h->r.dense = g->reg;
		h->n = h->cap = 0;
		free(g->mark);
		return;
	}
	h->dense = false;
	h->r.sparse = g->distinct == 0 ? NULL :
	    xmalloc((size_t)g->distinct * sizeof *h->r.sparse);
	for (w = 0; w < (g->m + 63) / 64; w++) {
		uint64_t bits = g->mark[w];

		while (bits != 0) {
			uint32_t idx = w * 64 + (uint32_t)__builtin_ctzll(bits);

			h->r.sparse[n++] = entry_make(idx, g->reg[idx]);
			bits &= bits - 1;
		}
	}
	h->n = h->cap = n;
	free(g->reg);
	free(g->mark);
}

/* ------------------------------------------------------------------------
 * Adding
 * ------------------------------------------------------------------------ */

static bool
hll_set(struct hll *h, uint32_t index, int rank)
{
	return h->dense ? dense_set(h, index, rank) : sparse_set(h, index, rank);
}

bool
hll_add_hash(struct hll *h, uint64_t hash)
{
	uint32_t index;
	int rank;

	hll_split(h->p, hash, &index, &rank);
	return hll_set(h, index, rank);
}

void
hll_add_hashes(struct hll *h, const uint64_t *hash, size_t n)
{
	struct regs g;
	uint32_t index;
	int rank;
	size_t i;

	/* A few new registers cost less one by one than a pass over m. */
	if (h->dense || n * 1024 < hll_m(h)) {
		for (i = 0; i < n; i++)
			hll_add_hash(h, hash[i]);
		return;
	}
	/* Sparse turns dense once past the limit, as one by one. */
	regs_init(&g, h->p);
	regs_add(&g, h);
	for (i = 0; i < n; i++) {
		hll_split(h->p, hash[i], &index, &rank);
		regs_set(&g, index, rank);
	}
	regs_finish(&g, h, false);
}

bool
hll_add(struct hll *h, const void *data, size_t len)
{
	return hll_add_hash(h, hll_hash(data, len));
}

int
hll_register(const struct hll *h, uint32_t index)
{
	uint32_t pos;
	bool found;

	if (index >= hll_m(h))
		return 0;
	if (h->dense)
		return h->r.dense[index];
	pos = sparse_find(h, index, &found);
	return found ? entry_rank(h->r.sparse[pos]) : 0;
}

/* ------------------------------------------------------------------------
 * Estimator (Ertl 2017, improved raw estimator)
 * ------------------------------------------------------------------------ */

/* sigma(x) = x + sum_{k>=1} x^(2^k) 2^(k-1), for 0 <= x < 1. */
static double
hll_sigma(double x)
{
	double y = 1, z = x, prev;

	do {
		x *= x;
		prev = z;
		z += x * y;
		y += y;
	} while (z != prev);
	return z;
}

/* tau(x) = (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k) / 3, 0 <= x <= 1. */
static double
hll_tau(double x)
{
	double y = 1, z, prev;

	if (x == 0 || x == 1)
		return 0;
	z = 1 - x;
	do {
		x = sqrt(x);
		prev = z;
		y *= 0.5;
		z -= (1 - x) * (1 - x) * y;
	} while (z != prev);
	return z / 3;
}

/* C_k: how many registers hold k, k = 0 .. q + 1. */
static void
hll_histogram(const struct hll *h, uint32_t c[64])
{
	uint32_t i, m = hll_m(h);

	memset(c, 0, 64 * sizeof *c);
	if (h->dense) {
		/* Four partial counts: equal neighbours do not serialize. */
		uint32_t part[4][64] = { { 0 } };
		const uint8_t *r = h->r.dense;
		int k;

		for (i = 0; i < m; i += 4) {
			part[0][r[i]]++;
			part[1][r[i + 1]]++;
			part[2][r[i + 2]]++;
			part[3][r[i + 3]]++;
		}
		for (k = 0; k < 64; k++)
			c[k] = part[0][k] + part[1][k] + part[2][k] + part[3][k];
		return;
	}
	c[0] = m - h->n;
	for (i = 0; i < h->n; i++)
		c[entry_rank(h->r.sparse[i])]++;
}

double
hll_estimate(const struct hll *h)
{
	uint32_t c[64];
	double m = hll_m(h), z;
	int k, q = 64 - h->p;

	hll_histogram(h, c);
	if (c[0] == hll_m(h))
		return 0;	/* sigma(1) is infinite: the limit is exactly 0 */
	/* Horner form of the denominator, from the top rank down. */
	z = m * hll_tau(1 - c[q + 1] / m);
	for (k = q; k >= 1; k--)
		z = 0.5 * (z + c[k]);
	z += m * hll_sigma(c[0] / m);
	return m * m / (2 * M_LN2 * z);
}

double
hll_std_error(int precision)
{
	return 1.04 / sqrt(ldexp(1, precision));
}

/* ------------------------------------------------------------------------
 * Merge, copy, compare
 * ------------------------------------------------------------------------ */

/* Number of distinct indexes in the union of two sparse sketches. */
static uint32_t
sparse_union_size(const struct hll *a, const struct hll *b)
{
	uint32_t i = 0, j = 0, n = 0;

	while (i < a->n && j < b->n) {
		uint32_t ia = entry_index(a->r.sparse[i]);
		uint32_t ib = entry_index(b->r.sparse[j]);

		i += ia <= ib;
		j += ib <= ia;
		n++;
	}
	return n + (a->n - i) + (b->n - j);
}

/* dst = dst | src, both sparse, when the union fits the sparse limit. */
static void
sparse_merge(struct hll *dst, const struct hll *src, uint32_t total)
{
	uint32_t *out = xmalloc((size_t)total * sizeof *out);
	const uint32_t *a = dst->r.sparse, *b = src->r.sparse;
	uint32_t i = 0, j = 0, n = 0;

	while (i < dst->n && j < src->n) {
		uint32_t ia = entry_index(a[i]), ib = entry_index(b[j]);

		if (ia < ib)
			out[n++] = a[i++];
		else if (ib < ia)
			out[n++] = b[j++];
		else {
			out[n++] = a[i] > b[j] ? a[i] : b[j];
			i++;
			j++;
		}
	}
	while (i < dst->n)
		out[n++] = a[i++];
	while (j < src->n)
		out[n++] = b[j++];
	free(dst->r.sparse);
	dst->r.sparse = out;
	dst->n = dst->cap = total;
}

int
hll_merge(struct hll *dst, const struct hll *src)
{
	uint32_t i, m = hll_m(dst), total;

	if (dst->p != src->p)
		return -1;
	if (dst == src || (!src->dense && src->n == 0))
		return 0;
	if (!dst->dense && !src->dense) {
		total = sparse_union_size(dst, src);
		if (total <= hll_sparse_limit(dst->p)) {
			if (total > dst->n)
				sparse_merge(dst, src, total);
			else	/* src adds no index: raise ranks in place */
				for (i = 0; i < src->n; i++)
					sparse_set(dst, entry_index(src->r.sparse[i]),
					    entry_rank(src->r.sparse[i]));
			return 0;
		}
	}
	hll_promote(dst);
	if (src->dense)
		dense_max(dst->r.dense, src->r.dense, m);
	else {
		for (i = 0; i < src->n; i++)
			dense_set(dst, entry_index(src->r.sparse[i]),
			    entry_rank(src->r.sparse[i]));
	}
	return 0;
}

static int
entry_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/*
 * Union of sparse sketches and hashes holding k entries in all, few
 * against m: the entries sorted together; of equal indexes the last has
 * the top rank.
 */
static struct hll *
union_small(int p, const struct hll *const *v, size_t n,
    const uint64_t *hash, size_t nh, uint32_t k)
{
	struct hll *u = hll_new(p);
	uint32_t *e, j = 0, out = 0, index;
	size_t i;
	int rank;

	if (k == 0)
		return u;
	e = xmalloc((size_t)k * sizeof *e);
	for (i = 0; i < n; i++) {
		if (v[i]->n == 0)	/* r.sparse is NULL */
			continue;
		memcpy(e + j, v[i]->r.sparse, (size_t)v[i]->n * sizeof *e);
		j += v[i]->n;
	}
	for (i = 0; i < nh; i++) {
		hll_split(p, hash[i], &index, &rank);
		e[j++] = entry_make(index, rank);
	}
	qsort(e, k, sizeof *e, entry_cmp);
	for (j = 0; j < k; j++) {
		if (out > 0 && entry_index(e[out - 1]) == entry_index(e[j]))
			out--;
		e[out++] = e[j];
	}
	u->r.sparse = e;
	u->n = u->cap = out;
	return u;
}

struct hll *
hll_union_hashes(int p, const struct hll *const *v, size_t n,
    const uint64_t *hash, size_t nh)
{
	struct hll *u;
	struct regs g;
	uint64_t k = nh;
	bool dense = false;
	uint32_t index;
	int rank;
	size_t i;

	if (!hll_precision_ok(p))
		return NULL;
	for (i = 0; i < n; i++) {
		if (v[i]->p != p)
			return NULL;
		dense |= v[i]->dense;
		k += v[i]->n;
	}
	/*
	 * Merging one by one into a copy of the first stays sparse as long
	 * as the union fits the sparse limit and no input is dense, and a
	 * union only grows: the same rule decides here. Few entries in all
	 * (no more than the limit, so the result is sparse) are sorted
	 * rather than spread over m registers.
	 */
	if (!dense && k <= ((uint64_t)1 << p) / 64)
		return union_small(p, v, n, hash, nh, (uint32_t)k);
	u = hll_new(p);
	regs_init(&g, p);
	for (i = 0; i < n; i++)
		regs_add(&g, v[i]);
	for (i = 0; i < nh; i++) {
		hll_split(p, hash[i], &index, &rank);
		regs_set(&g, index, rank);
	}
	regs_finish(&g, u, dense);
	return u;
}

struct hll *
hll_union(const struct hll *const *v, size_t n)
{
	return n == 0 ? NULL : hll_union_hashes(v[0]->p, v, n, NULL, 0);
}

struct hll *
hll_dup(const struct hll *h)
{
	struct hll *d = xmalloc(sizeof *d);

	*d = *h;
	if (h->dense)
		d->r.dense = xmemdup(h->r.dense, hll_m(h));
	else {
		d->cap = h->n;	/* trimmed: a copy is mostly read */
		d->r.sparse = h->n == 0 ? NULL :
		    xmemdup(h->r.sparse, (size_t)h->n * sizeof *h->r.sparse);
	}
	return d;
}

/* A dense and a sparse sketch hold the same registers. */
static bool
equal_dense_sparse(const struct hll *d, const struct hll *s)
{
	uint32_t i, j = 0, m = hll_m(d);

	for (i = 0; i < m; i++) {
		int want = 0;

		if (j < s->n && entry_index(s->r.sparse[j]) == i)
			want = entry_rank(s->r.sparse[j++]);
		if (d->r.dense[i] != want)
			return false;
	}
	return true;
}

bool
hll_equal(const struct hll *a, const struct hll *b)
{
	if (a->p != b->p)
		return false;
	if (a->dense && b->dense)
		return memcmp(a->r.dense, b->r.dense, hll_m(a)) == 0;
	if (a->dense)
		return equal_dense_sparse(a, b);
	if (b->dense)
		return equal_dense_sparse(b, a);
	return a->n == b->n && (a->n == 0 ||
	    memcmp(a->r.sparse, b->r.sparse, a->n * sizeof *a->r.sparse) == 0);
}

/* ------------------------------------------------------------------------
 * Serialization (layout at the top of this file)
 * ------------------------------------------------------------------------ */

static void
encode_dense(const struct hll *h, struct enc *out)
{
	const uint8_t *r = h->r.dense;
	uint32_t i, m = hll_m(h);

	enc_reserve(out, m / 4 * 3);
	for (i = 0; i < m; i += 4) {
		uint8_t *b = out->buf + out->len;

		b[0] = (uint8_t)(r[i] | r[i + 1] << 6);
		b[1] = (uint8_t)(r[i + 1] >> 2 | r[i + 2] << 4);
		b[2] = (uint8_t)(r[i + 2] >> 4 | r[i + 3] << 2);
		out->len += 3;
	}
}

void
hll_encode(const struct hll *h, struct enc *out)
{
	uint32_t i, prev = 0;

	enc_u8(out, HLL_FORMAT_VERSION);
	enc_u8(out, h->p);
	if (h->dense) {
		enc_u8(out, HLL_TAG_DENSE);
		encode_dense(h, out);
		return;
	}
	enc_u8(out, HLL_TAG_SPARSE);
	enc_uvar(out, h->n);
	for (i = 0; i < h->n; i++) {
		uint32_t index = entry_index(h->r.sparse[i]);

		enc_uvar(out, (uint64_t)(index - prev) << HLL_RANK_BITS |
		    (uint64_t)(entry_rank(h->r.sparse[i]) - 1));
		prev = index;
	}
}

static const char *
decode_dense(struct hll *h, struct dec *d)
{
	uint32_t i, m = hll_m(h);
	int max = hll_max_rank(h->p);
	const uint8_t *b = dec_raw(d, m / 4 * 3);

	if (b == NULL)
		return "truncated dense registers";
	for (i = 0; i < m; i += 4, b += 3) {
		uint8_t r[4] = {
			b[0] & 0x3f,
			(uint8_t)((b[0] >> 6 | b[1] << 2) & 0x3f),
			(uint8_t)((b[1] >> 4 | b[2] << 4) & 0x3f),
			b[2] >> 2,
		};
		int k;

		for (k = 0; k < 4; k++)
			if (r[k] > max)
				return "register value out of range";
		memcpy(h->r.dense + i, r, sizeof r);
	}
	return NULL;
}

static const char *
decode_sparse(struct hll *h, struct dec *d)
{
	uint64_t n, i, v, gap, index = 0;
	uint32_t m = hll_m(h);
	int rank, max = hll_max_rank(h->p);

	n = dec_uvar(d);
	if (d->err)
		return "truncated entry count";
	/* Each entry takes at least one byte: bound n before allocating. */
	if (n > m || n > (uint64_t)(d->end - d->p))
		return "entry count out of range";
	if (n > hll_sparse_limit(h->p))
		hll_promote(h);
	else
		sparse_reserve(h, (uint32_t)n);
	for (i = 0; i < n; i++) {
		v = dec_uvar(d);
		if (d->err)
			return "truncated sparse entry";
		gap = v >> HLL_RANK_BITS;
		rank = (int)(v & HLL_RANK_MASK) + 1;
		if (i > 0 && gap == 0)
			return "sparse entries not strictly ascending";
		if (gap >= m || index + gap >= m)
			return "register index out of range";
		if (rank > max)
			return "register value out of range";
		index += gap;
		if (h->dense)
			h->r.dense[index] = (uint8_t)rank;
		else
			h->r.sparse[h->n++] = entry_make((uint32_t)index, rank);
	}
	return NULL;
}

struct hll *
hll_decode(const void *buf, size_t len, char **cause)
{
	struct dec d;
	struct hll *h = NULL;
	const char *why = NULL;
	int version, p, tag;

	dec_init(&d, buf, len);
	version = dec_u8(&d);
	p = dec_u8(&d);
	tag = dec_u8(&d);
	if (d.err)
		why = "truncated header";
	else if (version != HLL_FORMAT_VERSION)
		why = "unknown format version";
	else if (!hll_precision_ok(p))
		why = "precision out of range";
	else if (tag == HLL_TAG_SPARSE) {
		h = hll_new(p);
		why = decode_sparse(h, &d);
	} else if (tag == HLL_TAG_DENSE) {
		h = hll_new_dense(p);
		why = decode_dense(h, &d);
	} else
		why = "unknown representation";
	if (why == NULL && !dec_done(&d))
		why = "trailing bytes";
	if (why != NULL) {
		if (cause != NULL)
			*cause = xasprintf("hll: %s", why);
		hll_free(h);
		return NULL;
	}
	return h;
}
