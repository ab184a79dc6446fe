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
void persist_save_partition(struct store_batch *, struct engine *,
    int32_t partition, struct tzcal *const *zones);
void persist_committed(struct engine *);
/* Partitions with saved state, sorted; caller frees. */
size_t persist_partitions(struct store *, int32_t **parts);
/* Zone names that period sets were saved under, in first-seen order. */
size_t persist_zones(struct store *, char ***names);

/* Next offset to consume; returns 1 if none is stored, -1 on error. */
int persist_get_offset(struct store *, const char *topic, int32_t partition,
    int64_t *offset, char **cause);
void persist_put_offset(struct store_batch *, const char *topic,
    int32_t partition, int64_t offset);

void persist_put_meta(struct store_batch *, const struct meta_rec *);
int persist_load_meta(struct store *, struct meta *, size_t *count,
    char **cause);

/* An output waiting for delivery. */
#define OUTREC_MAX_HEADERS	4
struct outrec {
	uint64_t    seq;
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

void persist_put_outrec(struct store_batch *, const struct outrec *);
void persist_del_outrec(struct store_batch *, uint64_t seq);
/* Calls cb for every stored outrec in seq order (cb takes ownership). */
int persist_load_outbox(struct store *, void (*cb)(void *, struct outrec *),
    void *arg, char **cause);
void outrec_free(struct outrec *);

#endif
