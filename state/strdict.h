/*
 * strdict: string interning with dense 32-bit ids.
 *
 * The engine refers to users, action types, app versions and metadata values
 * by small integer ids, so that sets and sessions hold 4 bytes instead of a
 * string. Ids are assigned 0, 1, 2... in first-seen order and never reused;
 * strings live in an append-only arena, so the views returned stay valid for
 * the life of the dictionary.
 */
#ifndef AD_STRDICT_H
#define AD_STRDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define STRDICT_NONE	UINT32_MAX

struct strdict;

struct strdict *strdict_new(void);
void strdict_free(struct strdict *);
/* Id of s, adding it if new (*created tells which; may be NULL). */
uint32_t strdict_intern(struct strdict *, struct strv s, bool *created);
/*
 * The same with the hash already computed (strdict_hash_of), for callers
 * that look ahead: strdict_prefetch starts loading the slot of a string
 * to come; once that has arrived, strdict_prefetch_entry loads the entry
 * its hash bits point at and returns that id (a guess, not checked
 * against the bytes; STRDICT_NONE if the slot is empty).
 */
uint64_t strdict_hash_of(struct strv s);
uint32_t strdict_intern_hashed(struct strdict *, struct strv s, uint64_t h,
    bool *created);
uint32_t strdict_find_hashed(const struct strdict *, struct strv s,
    uint64_t h);
void strdict_prefetch(const struct strdict *, uint64_t h);
uint32_t strdict_prefetch_entry(const struct strdict *, uint64_t h);
/* Starts loading the entry of an id (for strdict_get or strdict_hash). */
void strdict_prefetch_id(const struct strdict *, uint32_t id);
/* Id of s, or STRDICT_NONE. */
uint32_t strdict_find(const struct strdict *, struct strv s);
struct strv strdict_get(const struct strdict *, uint32_t id);
/*
 * A 32-bit value kept with each string for its owner (0 when interned):
 * the engine finds a user's record through it, in the cache line the
 * lookup has loaded anyway. The id must exist.
 */
uint32_t strdict_tag(const struct strdict *, uint32_t id);
void strdict_set_tag(struct strdict *, uint32_t id, uint32_t tag);
/* 64-bit hash of the string with that id (XXH3, as the sketches use),
 * computed again from its bytes: entries do not keep it. */
uint64_t strdict_hash(const struct strdict *, uint32_t id);
size_t strdict_count(const struct strdict *);
size_t strdict_memory(const struct strdict *);

#endif
