/*
 * hll: HyperLogLog sketches for distinct-user counts (SPEC section 2).
 *
 * Every DAU/MAU is kept exactly and as a sketch; sketches of days merge into
 * months and across partitions and instances. A sketch starts sparse (a few
 * bytes per distinct register) and turns dense (one byte per register) when
 * that is smaller; the estimate depends only on the register values, so the
 * representation never changes a result. See hll.c for the algorithm, the
 * estimator and the serialized layout.
 */
#ifndef AD_HLL_H
#define AD_HLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct enc;

#define HLL_DEFAULT_PRECISION	14	/* 2^14 registers, ~0.81% error */
#define HLL_MIN_PRECISION	4
#define HLL_MAX_PRECISION	18

/* First byte of every serialized sketch. */
#define HLL_FORMAT_VERSION	1

struct hll;

/* An empty sparse sketch of 2^precision registers; NULL if out of range. */
struct hll *hll_new(int precision);
/* An empty sketch that is dense from the start (tests, benchmarks). */
struct hll *hll_new_dense(int precision);
void hll_free(struct hll *);
int hll_precision(const struct hll *);

/* The 64-bit hash every sketch uses (XXH3_64bits, seed 0). */
uint64_t hll_hash(const void *data, size_t len);
/* Both return true if a register changed. */
bool hll_add_hash(struct hll *, uint64_t hash);
bool hll_add(struct hll *, const void *data, size_t len);
/*
 * hll_add_hash of each, with the same result; a sparse sketch takes many
 * in one pass over its registers instead of one insertion each.
 */
void hll_add_hashes(struct hll *, const uint64_t *hash, size_t n);

/* Estimated number of distinct items; exactly 0 for an empty sketch. */
double hll_estimate(const struct hll *);
/* Relative standard error of the estimate: 1.04 / sqrt(2^precision). */
double hll_std_error(int precision);

/* dst = union(dst, src). 0 on success, -1 if the precisions differ. */
int hll_merge(struct hll *dst, const struct hll *src);
struct hll *hll_dup(const struct hll *);
/*
 * A new sketch of the union of v[0..n-1], in one pass over their
 * registers: the same registers and representation as hll_dup(v[0])
 * followed by hll_merge of the others. NULL if n is 0 or the precisions
 * differ.
 */
struct hll *hll_union(const struct hll *const *v, size_t n);
/*
 * The same with hashes added (hll_add_hashes of them into the union):
 * precision p, which every sketch of v must have; v may be empty. NULL if
 * p is out of range or a precision differs.
 */
struct hll *hll_union_hashes(int p, const struct hll *const *v, size_t n,
    const uint64_t *hash, size_t nh);
/* Same precision and same register values, whatever the representations. */
bool hll_equal(const struct hll *, const struct hll *);
bool hll_is_sparse(const struct hll *);
/* Value of register `index` (0 .. 2^precision - 1). */
int hll_register(const struct hll *, uint32_t index);
/* Heap bytes held, including the struct itself. */
size_t hll_memory(const struct hll *);

/* Append the serialized sketch to `out` (format version 1, see hll.c). */
void hll_encode(const struct hll *, struct enc *out);
/*
 * Parse exactly `len` bytes. NULL on any malformed input, with *cause (if
 * cause is not NULL) set to an allocated message the caller frees.
 */
struct hll *hll_decode(const void *buf, size_t len, char **cause);

#endif
