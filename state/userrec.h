/*
 * userrec: the per-user records of one partition, hot or cold.
 *
 * A user is hot while it has open sessions or changes not yet committed,
 * and for a while after: its record is a 64-byte `struct urec` in a pool,
 * which the engine reads and writes in place on every event. Then it goes
 * cold: its six statistics are packed as varints in an arena (about 12
 * bytes), until userrec_get brings it back. A live daemon knows many times
 * more users than are hot (docs/engine.md, "Hot and cold users").
 *
 * The user dictionary's tag (strdict_tag) says where a user's record is:
 * 0 none (statistics all zero), 1 + pool index hot, USERREC_COLD | arena
 * offset cold. The engine's event path reads that dictionary entry anyway,
 * so finding the record costs no extra cache line.
 */
#ifndef AD_USERREC_H
#define AD_USERREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct strdict;
struct sessionizer;
struct enc;
struct dec;

/* Statistics over a user's closed sessions. */
struct user_stats {
	uint64_t sessions;
	uint64_t duration_ms;	/* sum of session durations */
	uint64_t actions;
	int64_t  first_seen;	/* min session start */
	int64_t  last_seen;	/* max event start of a closed session */
	uint64_t late;		/* late events of this user */
};

/*
 * A hot user, in one cache line: every event reads the statistics (the
 * late rule) and the metadata codes, and marks the user dirty. The codes
 * are looked up once per metadata generation: the table changes rarely
 * against the event rate (and never during --once), so most events touch
 * neither the metadata table nor its dictionary.
 */
struct urec {
	struct user_stats st;
	uint32_t          meta_gen;	/* generation the two below are of */
	uint32_t          meta_id;
	uint16_t          codes[DIM_COUNT];	/* 0s without metadata */
	uint16_t          dirty;
};
_Static_assert(sizeof(struct urec) == 64, "struct urec is one cache line");

/* The persisted and the packed form of the statistics: six varints. */
void user_stats_encode(struct enc *, const struct user_stats *);
void user_stats_decode(struct dec *, struct user_stats *);

struct userrec;

/*
 * `users` holds the tags; `sz` tells which users have open sessions. A
 * committed user goes cold once the watermark is `cool_ms` past its last
 * session's last start.
 */
struct userrec *userrec_new(struct strdict *users,
    const struct sessionizer *sz, int64_t cool_ms);
void userrec_free(struct userrec *);

/*
 * The user's hot record, taken (and filled from its packed statistics)
 * if it had none; a new one is zero with a metadata generation that
 * cannot match. Pointers are valid until the next userrec_get or
 * userrec_settle.
 */
struct urec *userrec_get(struct userrec *, uint32_t uid);
/* The hot record, or NULL. */
const struct urec *userrec_peek(const struct userrec *, uint32_t uid);
/* Starts loading what userrec_get will read (the entry must be loaded). */
void userrec_prefetch(const struct userrec *, uint32_t uid);
/* The user's statistics wherever they are (all zero without a record). */
void userrec_stats(const struct userrec *, uint32_t uid, struct user_stats *);
/* Sets a user's statistics, packed unless it is hot (loading state). */
void userrec_load(struct userrec *, uint32_t uid, const struct user_stats *);

/*
 * After a commit, with the users just written marked clean: queues those
 * of `uids` without open sessions, packs the queued ones whose time has
 * come at watermark `wm` and are still clean without sessions, and
 * rewrites the arena once more than half of it is records of users that
 * came back.
 */
void userrec_settle(struct userrec *, const uint32_t *uids, size_t n,
    int64_t wm);

/* Hot records in use. */
size_t userrec_hot(const struct userrec *);
size_t userrec_memory(const struct userrec *);

#endif
