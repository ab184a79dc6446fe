/*
 * persist: how engine state, offsets, metadata and the outbox are laid out
 * in the store's column families (key layouts in docs/state.md).
 *
 * Saving only fills a batch; the caller writes the batch (state, offsets
 * and outbox together, atomically) and then calls persist_committed so
 * that the next save carries only what changed since.
 */
#ifndef AD_PERSIST_H
#define AD_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct engine;
struct meta;
struct store;
struct store_batch;
struct tzcal;

/* Partition state: users, period-set chunks, clock. */
int persist_load_partition(struct store *, struct engine *, int32_t partition,
    struct tzcal *const *zones, size_t nzones, char **cause);
/* The same without the user records: what DAU/MAU reports need (the
 * users in the sets are known by their entries). */
int persist_load_partition_sets(struct store *, struct engine *,
    int32_t partition, struct tzcal *const *zones, size_t nzones,
    char **cause);
void persist_save_partition(struct store_batch *, struct engine *,
    int32_t partition, struct tzcal *const *zones);
void persist_committed(struct engine *);
/* Partitions with saved state, sorted; caller frees. */
size_t persist_partitions(struct store *, int32_t **parts);
/* Zone names that period sets were saved under, in first-seen order. */
size_t persist_zones(struct store *, char ***names);

/*
 * The daemon's settings that a reader of the state needs: reporting zones
 * in configured order and the sketch precision. Written at every start.
 */
void persist_put_settings(struct store_batch *, struct tzcal *const *zones,
    size_t nzones, int hll_precision);
/* 1 if none stored; on 0, *names is an allocated array of nzones names. */
int persist_get_settings(struct store *, char ***names, size_t *nzones,
    int *hll_precision, char **cause);

/* Next offset to consume; returns 1 if none is stored, -1 on error. */
int persist_get_offset(struct store *, const char *topic, int32_t partition,
    int64_t *offset, char **cause);
void persist_put_offset(struct store_batch *, const char *topic,
    int32_t partition, int64_t offset);

void persist_put_meta(struct store_batch *, const struct meta_rec *);
int persist_load_meta(struct store *, struct meta *, size_t *count,
    char **cause);

/*
 * An output waiting for delivery. Outputs are stored in pages, one outbox
 * record per up to OUTPAGE_MAX outputs of a commit, so that a backfill
 * closing a million sessions writes and deletes a few hundred keys rather
 * than a million. A page is deleted once all of its outputs are delivered.
 */
#define OUTREC_MAX_HEADERS	6
#define OUTPAGE_MAX		4096
/* The page of an output produced without an outbox record. */
#define OUTREC_NO_PAGE		UINT64_MAX
struct outrec {
	uint64_t    page;		/* outbox key it is stored under */
	uint8_t     topic;		/* index into the pipeline's topics */
	uint8_t     nheaders;
	bool        null_value;
	uint8_t    *key;
	size_t      klen;
	uint8_t    *val;
	size_t      vlen;
	char       *hname[OUTREC_MAX_HEADERS];
	uint8_t    *hval[OUTREC_MAX_HEADERS];
	size_t      hlen[OUTREC_MAX_HEADERS];
};

void persist_put_outpage(struct store_batch *, uint64_t page,
    struct outrec *const *recs, size_t n);
void persist_del_outpage(struct store_batch *, uint64_t page);
/*
 * Calls cb for every stored page in key order; cb takes ownership of the
 * array and the outrecs.
 */
int persist_load_outbox(struct store *,
    void (*cb)(void *, uint64_t page, struct outrec **, size_t),
    void *arg, char **cause);
/* One allocation holding the record, its key and its value. */
struct outrec *outrec_new(const void *key, size_t klen, const void *val,
    size_t vlen);
void outrec_free(struct outrec *);

#endif
