/*
 * sessionizer: per-user sessions of one input partition (see sessionizer.h).
 *
 * Open sessions of a user sit in a small array sorted by start; sessions
 * of one user are more than `gap` apart, so an event at time t can touch
 * at most two of them (the one ending within gap before t and the one
 * starting within gap after t), found by binary search.
 *
 * Closing uses a min-heap of (deadline = last + gap, uid, serial) with lazy
 * updates: extending a session does not touch the heap; when an entry
 * reaches the top, a session that grew is pushed back with its current
 * deadline and an entry whose session was merged away is dropped. So the
 * per-event cost is independent of the number of open sessions.
 */
#include "sessionizer.h"

#include <stdlib.h>
#include <string.h>

#include "enc.h"
#include "event.h"
#include "strdict.h"
#include "xmalloc.h"

#define SESS_ENC_VERSION	1

/* Bounds of decoded times: event_validate keeps timestamps within 2^52
 * and durations under 2^52, so offsets within a session stay under 2^54. */
#define TIME_OK(t)	((t) >= -(INT64_C(1) << 52) && (t) <= (INT64_C(1) << 52))
#define TIME_SPAN_MAX	(INT64_C(1) << 54)

struct ulist {
	struct sess *s;
	uint32_t     n, cap;
};

struct hent {
	int64_t  deadline;
	uint32_t uid;
	uint32_t serial;
};

struct sessionizer {
	struct sessionizer_conf conf;
	struct strdict         *strings;
	sessionizer_close_cb    cb;
	void                   *cb_arg;
	struct ulist           *users;
	size_t                  nusers;		/* allocated entries */
	struct hent            *heap;
	size_t                  nheap, capheap;
	size_t                  open;
	uint32_t                next_serial;
	int64_t                 max_ts;		/* INT64_MIN: none yet */
	int64_t                 wm;
	int64_t                 last_event_wall;
};

struct sessionizer *
sessionizer_new(const struct sessionizer_conf *conf, struct strdict *strings,
    sessionizer_close_cb cb, void *arg)
{
	struct sessionizer *z = xcalloc(1, sizeof *z);

	z->conf = *conf;
	if (z->conf.idle_close_ms <= 0)
		z->conf.idle_close_ms = conf->gap_ms + conf->grace_ms;
	z->strings = strings;
	z->cb = cb;
	z->cb_arg = arg;
	z->max_ts = INT64_MIN;
	z->wm = INT64_MIN;
	return z;
}

static void
sess_release(struct sess *s)
{
	free(s->types);
	s->types = NULL;
	s->ntypes = s->captypes = 0;
}

void
sessionizer_free(struct sessionizer *z)
{
	size_t i, j;

	if (z == NULL)
		return;
	for (i = 0; i < z->nusers; i++) {
		for (j = 0; j < z->users[i].n; j++)
			sess_release(&z->users[i].s[j]);
		free(z->users[i].s);
	}
	free(z->users);
	free(z->heap);
	free(z);
}

/* ---- close heap ---- */

static bool
hent_less(const struct hent *a, const struct hent *b)
{
	if (a->deadline != b->deadline)
		return a->deadline < b->deadline;
	return a->uid < b->uid;
}

static void
heap_push(struct sessionizer *z, int64_t deadline, uint32_t uid,
    uint32_t serial)
{
	size_t i;

	z->heap = xgrow(z->heap, &z->capheap, z->nheap + 1, sizeof *z->heap);
	i = z->nheap++;
	z->heap[i] = (struct hent){ deadline, uid, serial };
	while (i > 0) {
		size_t p = (i - 1) / 2;
		struct hent t;

		if (!hent_less(&z->heap[i], &z->heap[p]))
			break;
		t = z->heap[p];
		z->heap[p] = z->heap[i];
		z->heap[i] = t;
		i = p;
	}
}

static void
heap_pop(struct sessionizer *z)
{
	size_t i = 0;

	z->heap[0] = z->heap[--z->nheap];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct hent t;

		if (l < z->nheap && hent_less(&z->heap[l], &z->heap[m]))
			m = l;
		if (r < z->nheap && hent_less(&z->heap[r], &z->heap[m]))
			m = r;
		if (m == i)
			break;
		t = z->heap[m];
		z->heap[m] = z->heap[i];
		z->heap[i] = t;
		i = m;
	}
}

/* ---- session summaries ---- */

static struct ulist *
ulist_of(struct sessionizer *z, uint32_t uid)
{
	if (uid >= z->nusers) {
		size_t old = z->nusers;

		z->users = xgrow(z->users, &z->nusers, (size_t)uid + 1,
		    sizeof *z->users);
		memset(z->users + old, 0, (z->nusers - old) * sizeof *z->users);
	}
	return &z->users[uid];
}

static void
sess_count_type(struct sess *s, uint32_t code, uint32_t count)
{
	uint16_t i;
	size_t cap = s->captypes;

	for (i = 0; i < s->ntypes; i++) {
		if (s->types[i].code == code) {
			s->types[i].count += count;
			return;
		}
	}
	if (s->ntypes == UINT16_MAX)
		fatalx("more than 65535 action types in one session");
	s->types = xgrow(s->types, &cap, (size_t)s->ntypes + 1,
	    sizeof *s->types);
	s->captypes = cap > UINT16_MAX ? UINT16_MAX : (uint16_t)cap;
	s->types[s->ntypes++] = (struct sess_type){ code, count };
}

/* Order-free tie break between two versions at the same timestamp. */
static int
ver_cmp(const struct sessionizer *z, uint32_t a, uint32_t b)
{
	if (a == b)
		return 0;
	return strv_cmp(strdict_get(z->strings, a), strdict_get(z->strings, b));
}

/* Folds b into a (a and b of the same user, now one session). */
static void
sess_merge(struct sessionizer *z, struct sess *a, const struct sess *b)
{
	uint16_t i;

	if (b->start < a->start ||
	    (b->start == a->start && ver_cmp(z, b->first_ver, a->first_ver) < 0))
		a->first_ver = b->first_ver;
	if (b->last > a->last ||
	    (b->last == a->last && ver_cmp(z, b->last_ver, a->last_ver) > 0))
		a->last_ver = b->last_ver;
	if (b->start < a->start)
		a->start = b->start;
	if (b->last > a->last)
		a->last = b->last;
	if (b->end > a->end)
		a->end = b->end;
	a->count += b->count;
	for (i = 0; i < b->ntypes; i++)
		sess_count_type(a, b->types[i].code, b->types[i].count);
}

void
sessionizer_observe(struct sessionizer *z, int64_t ts, int64_t now_ms)
{
	if (ts > z->max_ts) {
		z->max_ts = ts;
		if (ts - z->conf.grace_ms > z->wm)
			z->wm = ts - z->conf.grace_ms;
	}
	z->last_event_wall = now_ms;
}

/* Index of the first session with start > t, by binary search. */
static uint32_t
first_after(const struct ulist *ul, int64_t t)
{
	uint32_t lo = 0, hi = ul->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ul->s[mid].start <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void
sessionizer_add(struct sessionizer *z, uint32_t uid, int64_t ts,
    int64_t dur, uint32_t action, uint32_t version)
{
	struct ulist *ul = ulist_of(z, uid);
	struct sess ev = { 0 }, *hit = NULL;
	struct sess_type one = { action, 1 };
	int64_t gap = z->conf.gap_ms;
	uint32_t i = first_after(ul, ts);

	ev.start = ev.last = ts;
	ev.end = ts + dur;
	ev.count = 1;
	ev.first_ver = ev.last_ver = version;
	ev.types = &one;
	ev.ntypes = ev.captypes = 1;

	/* The session before (start <= ts) takes it if ts <= last + gap. */
	if (i > 0 && ts <= ul->s[i - 1].last + gap) {
		hit = &ul->s[i - 1];
		sess_merge(z, hit, &ev);
	}
	/* The session after (start > ts) takes it if start - ts <= gap. */
	if (i < ul->n && ul->s[i].start - ts <= gap) {
		if (hit != NULL) {
			/* Bridge: fold session i into i - 1 and drop it. */
			sess_merge(z, hit, &ul->s[i]);
			sess_release(&ul->s[i]);
			memmove(&ul->s[i], &ul->s[i + 1],
			    (ul->n - i - 1) * sizeof *ul->s);
			ul->n--;
			z->open--;
		} else {
			hit = &ul->s[i];
			sess_merge(z, hit, &ev);
		}
	}
	if (hit != NULL)
		return;

	/* A new session at position i. */
	{
		size_t cap = ul->cap;
		struct sess *s;

		ul->s = xgrow(ul->s, &cap, (size_t)ul->n + 1, sizeof *ul->s);
		ul->cap = (uint32_t)cap;
		memmove(&ul->s[i + 1], &ul->s[i], (ul->n - i) * sizeof *ul->s);
		ul->n++;
		s = &ul->s[i];
		*s = ev;
		s->types = NULL;
		s->ntypes = s->captypes = 0;
		sess_count_type(s, action, 1);
		s->serial = z->next_serial++;
		z->open++;
		heap_push(z, ts + gap, uid, s->serial);
	}
}

static struct sess *
find_serial(struct ulist *ul, uint32_t serial, uint32_t *idx)
{
	uint32_t i;

	for (i = 0; i < ul->n; i++) {
		if (ul->s[i].serial == serial) {
			*idx = i;
			return &ul->s[i];
		}
	}
	return NULL;
}

static void
close_one(struct sessionizer *z, uint32_t uid, struct ulist *ul, uint32_t i)
{
	struct sess s = ul->s[i];

	memmove(&ul->s[i], &ul->s[i + 1], (ul->n - i - 1) * sizeof *ul->s);
	ul->n--;
	z->open--;
	if (ul->n == 0) {
		free(ul->s);
		ul->s = NULL;
		ul->cap = 0;
	}
	z->cb(z->cb_arg, uid, &s);
	sess_release(&s);
}

/* Pops heap entries whose session is due at watermark `wm` (or every one
 * with `all`), closing at most max sessions. */
static size_t
close_due(struct sessionizer *z, int64_t wm, bool all, size_t max)
{
	size_t closed = 0;

	while (z->nheap > 0 && closed < max &&
	    (all || z->heap[0].deadline < wm)) {
		struct hent h = z->heap[0];
		struct ulist *ul = &z->users[h.uid];
		uint32_t i;
		struct sess *s = find_serial(ul, h.serial, &i);

		heap_pop(z);
		if (s == NULL)
			continue;	/* merged into another session */
		if (!all && s->last + z->conf.gap_ms >= wm) {
			heap_push(z, s->last + z->conf.gap_ms, h.uid, h.serial);
			continue;	/* it grew since it was queued */
		}
		close_one(z, h.uid, ul, i);
		closed++;
	}
	return closed;
}

size_t
sessionizer_advance(struct sessionizer *z, int64_t now_ms)
{
	if (z->max_ts == INT64_MIN)
		return 0;
	/* Restored clock: the wall time of the last event is not known, so
	 * idleness counts from now rather than from the epoch. */
	if (z->last_event_wall == INT64_MIN)
		z->last_event_wall = now_ms;
	/* Idle partition: event time is taken to move with the wall clock. */
	if (now_ms - z->last_event_wall >= z->conf.idle_close_ms) {
		int64_t wm = z->max_ts - z->conf.grace_ms +
		    (now_ms - z->last_event_wall);

		if (wm > z->wm)
			z->wm = wm;
	}
	if (z->conf.hold_open)
		return 0;
	return close_due(z, z->wm, false, SIZE_MAX);
}

size_t
sessionizer_close_all(struct sessionizer *z)
{
	return close_due(z, 0, true, SIZE_MAX);
}

size_t
sessionizer_close_some(struct sessionizer *z, size_t max)
{
	return close_due(z, 0, true, max);
}

int64_t
sessionizer_watermark(const struct sessionizer *z)
{
	return z->wm;
}

int64_t
sessionizer_max_ts(const struct sessionizer *z)
{
	return z->max_ts;
}

size_t
sessionizer_open_count(const struct sessionizer *z)
{
	return z->open;
}

const struct sess *
sessionizer_sessions(const struct sessionizer *z, uint32_t uid, size_t *n)
{
	if (uid >= z->nusers) {
		*n = 0;
		return NULL;
	}
	*n = z->users[uid].n;
	return z->users[uid].s;
}

size_t
sessionizer_memory(const struct sessionizer *z)
{
	size_t n = sizeof *z + z->nusers * sizeof *z->users +
	    z->capheap * sizeof *z->heap, i, j;

	for (i = 0; i < z->nusers; i++) {
		n += z->users[i].cap * sizeof(struct sess);
		for (j = 0; j < z->users[i].n; j++)
			n += z->users[i].s[j].captypes *
			    sizeof(struct sess_type);
	}
	return n;
}

/* ---- persistence ---- */

static void
enc_id(const struct sessionizer *z, struct enc *e, uint32_t id)
{
	struct strv s = strdict_get(z->strings, id);

	enc_bytes(e, s.p, s.len);
}

static uint32_t
dec_id(struct sessionizer *z, struct dec *d)
{
	size_t len;
	const char *p = dec_bytes(d, &len);

	if (p == NULL)
		return 0;
	return strdict_intern(z->strings, (struct strv){ p, len }, NULL);
}

void
sessionizer_encode_user(const struct sessionizer *z, uint32_t uid,
    struct enc *e)
{
	size_t n, i;
	const struct sess *s = sessionizer_sessions(z, uid, &n);
	uint16_t t;

	enc_u8(e, SESS_ENC_VERSION);
	enc_uvar(e, n);
	for (i = 0; i < n; i++) {
		enc_svar(e, s[i].start);
		enc_uvar(e, (uint64_t)(s[i].last - s[i].start));
		enc_uvar(e, (uint64_t)(s[i].end - s[i].start));
		enc_uvar(e, s[i].count);
		enc_id(z, e, s[i].first_ver);
		enc_id(z, e, s[i].last_ver);
		enc_uvar(e, s[i].ntypes);
		for (t = 0; t < s[i].ntypes; t++) {
			enc_id(z, e, s[i].types[t].code);
			enc_uvar(e, s[i].types[t].count);
		}
	}
}

int
sessionizer_decode_user(struct sessionizer *z, uint32_t uid, struct dec *d)
{
	uint64_t n, i, nt, t;

	if (dec_u8(d) != SESS_ENC_VERSION)
		return -1;
	n = dec_uvar(d);
	if (d->err || n > (uint64_t)(d->end - d->p))
		return -1;
	for (i = 0; i < n; i++) {
		struct sess s = { 0 };
		struct ulist *ul;
		size_t cap;
		uint64_t dlast, dend;

		s.start = dec_svar(d);
		dlast = dec_uvar(d);
		dend = dec_uvar(d);
		/* Corrupt input must not overflow: times are within 2^52. */
		if (d->err || !TIME_OK(s.start) || dlast > TIME_SPAN_MAX ||
		    dend > TIME_SPAN_MAX)
			return -1;
		s.last = s.start + (int64_t)dlast;
		s.end = s.start + (int64_t)dend;
		s.count = dec_uvar(d);
		s.first_ver = dec_id(z, d);
		s.last_ver = dec_id(z, d);
		nt = dec_uvar(d);
		/* A session holds at least the event that opened it. */
		if (d->err || nt > UINT16_MAX || s.count == 0)
			return -1;
		for (t = 0; t < nt && !d->err; t++) {
			uint32_t code = dec_id(z, d);

			sess_count_type(&s, code, (uint32_t)dec_uvar(d));
		}
		if (d->err) {
			sess_release(&s);
			return -1;
		}
		/* Sessions were encoded sorted and disjoint: append. */
		ul = ulist_of(z, uid);
		cap = ul->cap;
		ul->s = xgrow(ul->s, &cap, (size_t)ul->n + 1, sizeof *ul->s);
		ul->cap = (uint32_t)cap;
		s.serial = z->next_serial++;
		ul->s[ul->n++] = s;
		z->open++;
		heap_push(z, s.last + z->conf.gap_ms, uid, s.serial);
	}
	return 0;
}

void
sessionizer_encode_clock(const struct sessionizer *z, struct enc *e)
{
	enc_u8(e, SESS_ENC_VERSION);
	enc_svar(e, z->max_ts);
	enc_svar(e, z->wm);
}

int
sessionizer_decode_clock(struct sessionizer *z, struct dec *d)
{
	int64_t max_ts, wm;

	if (dec_u8(d) != SESS_ENC_VERSION)
		return -1;
	max_ts = dec_svar(d);
	wm = dec_svar(d);
	/* INT64_MIN: no event yet; else in range, as sessionizer_advance
	 * adds to them. The idle rule may put wm far past max_ts. */
	if (d->err || (max_ts != INT64_MIN && !TIME_OK(max_ts)) ||
	    (wm != INT64_MIN && (wm < -TIME_SPAN_MAX || wm > TIME_SPAN_MAX)))
		return -1;
	z->max_ts = max_ts;
	z->wm = wm;
	z->last_event_wall = INT64_MIN;	/* unknown: see sessionizer_advance */
	return 0;
}
