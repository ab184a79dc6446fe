/*
 * sessionizer: per-user sessions of one input partition (SPEC sections 2-3).
 *
 * A session is a maximal run of a user's events whose consecutive
 * timestamps are at most `gap` apart. Because membership depends only on
 * timestamps, a session is kept as a summary (first and last start, max
 * end, counts), never as a list of events: an out-of-order event extends
 * the session within `gap` of it, or bridges and merges two.
 *
 * The partition watermark is the max event time seen minus `grace`, or
 * more once the partition is idle for `idle_close` of wall-clock time. A
 * session closes when the watermark passes its last start + gap. In
 * hold-open mode (--once) nothing closes until sessionizer_close_all.
 *
 * The sessionizer knows users only by dense ids (the engine's dictionary)
 * and action types and app versions by ids of a shared dictionary.
 */
#ifndef AD_SESSIONIZER_H
#define AD_SESSIONIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strdict;
struct enc;
struct dec;

struct sess_type {
	uint32_t code;		/* action type id */
	uint32_t count;
};

#define SESS_INLINE_TYPES	2

/*
 * 64 bytes, one cache line: most sessions see one or two action types,
 * which sit in the summary itself; more go to an array of their own.
 * Read the types through sess_types().
 */
struct sess {
	int64_t           start;	/* min timestamp */
	int64_t           last;		/* max timestamp */
	int64_t           end;		/* max timestamp + duration */
	uint64_t          count;
	uint32_t          first_ver;	/* app version id of the first event */
	uint32_t          last_ver;	/* ... and of the last */
	uint32_t          serial;	/* identifies it in the close heap */
	uint16_t          ntypes;
	uint16_t          captypes;	/* 0: the types are inline */
	union {
		struct sess_type  inl[SESS_INLINE_TYPES];
		struct sess_type *ext;
	} t;
};

static inline const struct sess_type *
sess_types(const struct sess *s)
{
	return s->captypes ? s->t.ext : s->t.inl;
}

struct sessionizer_conf {
	int64_t gap_ms;
	int64_t grace_ms;
	int64_t idle_close_ms;	/* 0: gap + grace */
	bool    hold_open;
};

typedef void (*sessionizer_close_cb)(void *arg, uint32_t uid,
    const struct sess *);

struct sessionizer;

/*
 * `strings` resolves action and version ids: for order-free tie breaks,
 * and because persisted sessions carry strings, not process-local ids.
 */
struct sessionizer *sessionizer_new(const struct sessionizer_conf *,
    struct strdict *strings, sessionizer_close_cb, void *arg);
void sessionizer_free(struct sessionizer *);

/* Every valid event's time moves the watermark (late ones included). */
void sessionizer_observe(struct sessionizer *, int64_t ts_ms, int64_t now_ms);
/* Places an event in the user's sessions. */
void sessionizer_add(struct sessionizer *, uint32_t uid, int64_t ts_ms,
    int64_t duration_ms, uint32_t action, uint32_t version);
/*
 * Closing everything calls `ahead` for the users of sessions about to
 * close at three distances, stage 2 farthest, then 1, then 0, so that the
 * close callback's caller can start loading what it will read about them
 * (each stage's loads naming the next's).
 */
typedef void (*sessionizer_ahead_cb)(void *arg, uint32_t uid,
    unsigned stage);
void sessionizer_set_ahead(struct sessionizer *, sessionizer_ahead_cb);
/* Look-ahead hints for an event of uid to come: its list, then (once the
 * list has arrived) its sessions. */
void sessionizer_prefetch_user(const struct sessionizer *, uint32_t uid);
void sessionizer_prefetch_sessions(const struct sessionizer *, uint32_t uid);
/* Applies the idle rule and closes due sessions; returns how many. */
size_t sessionizer_advance(struct sessionizer *, int64_t now_ms);
/* The same, closing at most max of them (earliest deadline first): fewer
 * than max closed means none is due any more. */
size_t sessionizer_advance_some(struct sessionizer *, int64_t now_ms,
    size_t max);
/* Closes every open session (end of input). */
size_t sessionizer_close_all(struct sessionizer *);
/* Closes at most max open sessions, earliest deadline first; returns how
 * many (0 once none is open). Lets a caller commit between slices. */
size_t sessionizer_close_some(struct sessionizer *, size_t max);

int64_t sessionizer_watermark(const struct sessionizer *);
/* INT64_MIN before the first event. */
int64_t sessionizer_max_ts(const struct sessionizer *);
size_t sessionizer_open_count(const struct sessionizer *);
/* The user's open sessions, sorted by start; valid until the next call
 * that adds, closes or reads another user's sessions. */
const struct sess *sessionizer_sessions(const struct sessionizer *,
    uint32_t uid, size_t *n);
/* How many the user has open. */
size_t sessionizer_user_open(const struct sessionizer *, uint32_t uid);
size_t sessionizer_memory(const struct sessionizer *);

/* Persistence: a user's open sessions, and the partition clock. */
void sessionizer_encode_user(const struct sessionizer *, uint32_t uid,
    struct enc *);
int sessionizer_decode_user(struct sessionizer *, uint32_t uid, struct dec *);
void sessionizer_encode_clock(const struct sessionizer *, struct enc *);
int sessionizer_decode_clock(struct sessionizer *, struct dec *);

#endif
