/*
 * engine: the state of one input partition, without any I/O.
 *
 * It owns the partition's user dictionary, its sessionizer, its active-user
 * sets and per-user session statistics, and reads the process-wide
 * metadata table. The daemon feeds it decoded, valid events and persists
 * what it marks dirty; tests feed it directly.
 *
 * Late events (SPEC section 3): an event at or before the last start of the
 * user's last emitted session plus the gap cannot be placed without
 * rewriting an emitted session. It still counts for DAU/MAU, is reported
 * through the late callback, and does not change sessions or statistics.
 */
#ifndef AD_ENGINE_H
#define AD_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "active.h"
#include "event.h"
#include "output.h"
#include "sessionizer.h"
#include "userrec.h"	/* struct user_stats */

struct meta;
struct enc;

struct engine_conf {
	struct sessionizer_conf sess;
	bool                    end_last_start;	/* session.end = last_event_start */
	struct active_conf      act;
};

struct engine_cb {
	void  (*session)(void *arg, const struct session_out *);
	void  (*late)(void *arg, const struct event *, const char *reason);
	void   *arg;
};

enum engine_result {
	ENGINE_OK,
	ENGINE_LATE
};

struct engine;

struct engine *engine_new(const struct engine_conf *, struct meta *,
    const struct engine_cb *);
void engine_free(struct engine *);

/* The event must have passed event_validate. */
enum engine_result engine_add(struct engine *, const struct event *,
    int64_t now_ms);
/*
 * The same as engine_add on each of n events in order, faster: the state
 * the next events need is loaded while the current ones are applied.
 */
void engine_add_batch(struct engine *, const struct event *evs, size_t n,
    int64_t now_ms);
/* Watermark by idleness, then close due sessions. Returns closed count. */
size_t engine_advance(struct engine *, int64_t now_ms);
/* The same, closing at most max; fewer means none is due any more. */
size_t engine_advance_some(struct engine *, int64_t now_ms, size_t max);
/* End of input: close every session. */
size_t engine_close_all(struct engine *);
/* The same in slices of at most max sessions; 0 when none is left. */
size_t engine_close_some(struct engine *, size_t max);

struct active *engine_active(const struct engine *);
const struct sessionizer *engine_sessionizer(const struct engine *);
int64_t engine_watermark(const struct engine *);

/* Users: dense ids 0 .. engine_user_count() - 1. */
size_t engine_user_count(const struct engine *);
uint32_t engine_user_find(const struct engine *, struct strv user_id);
struct strv engine_user_name(const struct engine *, uint32_t uid);
uint64_t engine_user_hash(const struct engine *, uint32_t uid);
/* The user's statistics into *out; false (and *out zero or undefined for
 * an unknown id) when it has no closed session and no late event. */
bool engine_user_stats(const struct engine *, uint32_t uid,
    struct user_stats *out);
/* Average session duration in seconds (SPEC: avg_session_duration). */
double user_stats_avg_seconds(const struct user_stats *);

/*
 * Users whose record is kept in full (open sessions, or changes not yet
 * committed); the others' statistics are packed (docs/engine.md).
 */
size_t engine_hot_users(const struct engine *);

/* Bytes allocated, less capacity reserved and never written. */
size_t engine_memory(const struct engine *);
/* The same by part, as the admin /metrics breaks it down. */
enum engine_mem {
	ENGINE_MEM_USERS,	/* user dictionary and per-user records */
	ENGINE_MEM_SESSIONS,	/* open sessions and the close heap */
	ENGINE_MEM_SETS,	/* active-user sets and their sketches */
	ENGINE_MEM_STRINGS,	/* action types and app versions */
	ENGINE_MEM_COUNT
};
void engine_memory_parts(const struct engine *, size_t out[ENGINE_MEM_COUNT]);

/* ---- write-behind ---- */

/* Users whose record changed since engine_clear_dirty. */
const uint32_t *engine_dirty_users(const struct engine *, size_t *n);
void engine_clear_dirty(struct engine *);
/* A user's record: statistics and open sessions. */
void engine_encode_user(const struct engine *, uint32_t uid, struct enc *);
int engine_decode_user(struct engine *, struct strv user_id,
    const void *buf, size_t len);
/* Look-ahead hint for loading: requests the user's dictionary slot. */
void engine_prefetch_user(const struct engine *, struct strv user_id);
/*
 * Entries of a period set added since it was last committed, as one
 * record; returns the entry count to pass to pset_set_committed once the
 * record is durable.
 */
size_t engine_encode_pset_delta(const struct engine *, const struct pset *,
    struct enc *);
int engine_decode_pset_chunk(struct engine *, int zone, enum period_kind,
    int32_t period, const void *buf, size_t len);
void engine_encode_clock(const struct engine *, struct enc *);
int engine_decode_clock(struct engine *, const void *buf, size_t len);

#endif
