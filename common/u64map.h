/*
 * u64map: a small open-addressing hash map from uint64 keys to pointers.
 *
 * For the modest maps of the engine (periods, partitions), where a key is a
 * packed tuple. Iteration order is unspecified; use u64map_keys and sort
 * when order matters.
 */
#ifndef AD_U64MAP_H
#define AD_U64MAP_H

#include <stddef.h>
#include <stdint.h>

struct u64map;

struct u64map *u64map_new(void);
/* Frees the map, not the values. */
void u64map_free(struct u64map *);
void *u64map_get(const struct u64map *, uint64_t key);
/* Sets key to val (val must not be NULL); returns the previous value. */
void *u64map_put(struct u64map *, uint64_t key, void *val);
/* Removes key; returns its value or NULL. */
void *u64map_del(struct u64map *, uint64_t key);
size_t u64map_count(const struct u64map *);
/* Iteration: start with *pos = 0; returns 0 at the end. */
int u64map_next(const struct u64map *, size_t *pos, uint64_t *key, void **val);
size_t u64map_memory(const struct u64map *);

#endif
