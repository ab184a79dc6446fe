/*
 * userrec: the per-user records of one partition (see userrec.h).
 */
#include "userrec.h"

#include <sys/mman.h>

#include <stdlib.h>
#include <string.h>

#include "enc.h"
#include "sessionizer.h"
#include "strdict.h"
#include "xmalloc.h"

#define USERREC_COLD	0x80000000u
#define COMPACT_MIN	(64 * 1024)	/* arena bytes */
#define COLD_MAX	60		/* bytes of a record, at most */

/* A user committed with no session open, and the watermark past which it
 * goes cold if it stays so. */
struct cooling {
	int64_t  at;
	uint32_t uid;
};

struct userrec {
	struct strdict           *users;
	const struct sessionizer *sz;
	int64_t                   cool_ms;
	struct urec              *hot;		/* by tag - 1, line-aligned */
	size_t                    nhot, caphot;	/* records set up, allocated */
	uint32_t                 *freehot;	/* indices of released records */
	size_t                    nfree, capfree;
	struct cooling           *cool;		/* clean users waiting */
	size_t                    ncool, capcool, coolhead;
	struct enc                cold;		/* packed statistics */
	size_t                    garbage;	/* bytes of users gone hot */
};

void
user_stats_encode(struct enc *e, const struct user_stats *st)
{
	enc_uvar(e, st->sessions);
	enc_uvar(e, st->duration_ms);
	enc_uvar(e, st->actions);
	enc_svar(e, st->first_seen);
	enc_svar(e, st->last_seen);
	enc_uvar(e, st->late);
}

void
user_stats_decode(struct dec *d, struct user_stats *st)
{
	st->sessions = dec_uvar(d);
	st->duration_ms = dec_uvar(d);
	st->actions = dec_uvar(d);
	st->first_seen = dec_svar(d);
	st->last_seen = dec_svar(d);
	st->late = dec_uvar(d);
}

/*
 * The packed form is the persisted one but for the last start, kept as
 * an offset from the first: most users have had one session, and the
 * offset then takes a byte where the time took six (of about 17).
 */
static void
cold_encode(struct enc *e, const struct user_stats *st)
{
	struct user_stats rel = *st;

	/* Modulo 2^64: any pair round-trips, even from a corrupt state. */
	rel.last_seen = (int64_t)((uint64_t)st->last_seen -
	    (uint64_t)st->first_seen);
	user_stats_encode(e, &rel);
}

static void
cold_decode(struct dec *d, struct user_stats *st)
{
	user_stats_decode(d, st);
	st->last_seen = (int64_t)((uint64_t)st->first_seen +
	    (uint64_t)st->last_seen);
}

struct userrec *
userrec_new(struct strdict *users, const struct sessionizer *sz,
    int64_t cool_ms)
{
	struct userrec *u = xcalloc(1, sizeof *u);

	u->users = users;
	u->sz = sz;
	u->cool_ms = cool_ms;
	enc_init(&u->cold);
	return u;
}

void
userrec_free(struct userrec *u)
{
	if (u == NULL)
		return;
	if (u->hot != NULL && munmap(u->hot, u->caphot * sizeof *u->hot) != 0)
		fatalx("munmap of the user records failed");
	free(u->freehot);
	free(u->cool);
	enc_free(&u->cold);
	free(u);
}

/*
 * The hot records live in their own mapping, grown by doubling with
 * mremap: the kernel moves the pages instead of copying them (loading 10M
 * users spent a sixth of its time copying and faulting in doubled arrays,
 * and a live partition stopped for the copy), and a record is first
 * written when it is taken, so the unused tail is address space, not
 * memory. Page-aligned, so each record is one line.
 */
static void
hot_grow(struct userrec *u, size_t need)
{
	size_t cap = u->caphot ? u->caphot : 1024;
	void *p;

	while (cap < need)
		cap *= 2;
	if (cap >= USERREC_COLD)
		fatalx("more than %u hot user records in one partition",
		    USERREC_COLD - 1);
	if (u->hot == NULL)
		p = mmap(NULL, cap * sizeof *u->hot, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	else
		p = mremap(u->hot, u->caphot * sizeof *u->hot,
		    cap * sizeof *u->hot, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		fatalx("out of memory (%zu users)", cap);
	u->hot = p;
	u->caphot = cap;
}

/* A cold record's statistics; returns its length in the arena. */
static size_t
cold_read(const struct userrec *u, uint32_t off, struct user_stats *st)
{
	struct dec d;

	dec_init(&d, u->cold.buf + off, u->cold.len - off);
	cold_decode(&d, st);
	if (d.err)
		fatalx("cold user record at %u is corrupt", off);
	return (size_t)(d.p - (u->cold.buf + off));
}

/* Bytes of the cold record at off: six varints, each ending with a byte
 * below 0x80. */
static size_t
cold_len(const struct userrec *u, uint32_t off)
{
	const uint8_t *p = u->cold.buf + off;
	size_t n = 0;
	int ends = 0;

	while (ends < 6)
		ends += p[n++] < 0x80;
	return n;
}

/* Packs a user's statistics into the arena, or drops them (all zero). */
static void
cold_write(struct userrec *u, uint32_t uid, const struct user_stats *st)
{
	if (st->sessions == 0 && st->late == 0) {
		strdict_set_tag(u->users, uid, 0);
		return;
	}
	if (u->cold.len >= USERREC_COLD)
		fatalx("cold user records of one partition over 2 GiB");
	/* The arena is most of a loaded partition's memory for its users. */
	enc_reserve_arena(&u->cold, COLD_MAX);
	strdict_set_tag(u->users, uid, USERREC_COLD | (uint32_t)u->cold.len);
	cold_encode(&u->cold, st);
}

/* Rewrites the arena without the records of users that went hot. */
static void
cold_compact(struct userrec *u)
{
	struct enc fresh;
	size_t n = strdict_count(u->users);
	uint32_t uid;

	enc_init(&fresh);
	/* Room for the next commits' records too: no copy at the next one. */
	enc_reserve(&fresh, (u->cold.len - u->garbage) * 5 / 4);
	for (uid = 0; uid < n; uid++) {
		uint32_t tag = strdict_tag(u->users, uid), off;

		if (!(tag & USERREC_COLD))
			continue;
		off = tag & ~USERREC_COLD;
		strdict_set_tag(u->users, uid,
		    USERREC_COLD | (uint32_t)fresh.len);
		enc_raw(&fresh, u->cold.buf + off, cold_len(u, off));
	}
	enc_free(&u->cold);
	u->cold = fresh;
	u->garbage = 0;
}

struct urec *
userrec_get(struct userrec *u, uint32_t uid)
{
	uint32_t tag = strdict_tag(u->users, uid);
	size_t idx;
	struct urec *r;

	if (tag != 0 && !(tag & USERREC_COLD))
		return &u->hot[tag - 1];
	if (u->nfree > 0) {
		idx = u->freehot[--u->nfree];
		/* The next user to come back will take this one. */
		if (u->nfree > 0)
			__builtin_prefetch(&u->hot[u->freehot[u->nfree - 1]],
			    1);
	} else {
		if (u->nhot == u->caphot)
			hot_grow(u, u->nhot + 1);
		idx = u->nhot++;
	}
	r = &u->hot[idx];
	memset(r, 0, sizeof *r);
	/* A generation that cannot match: looked up on first use. */
	r->meta_gen = UINT32_MAX;
	if (tag & USERREC_COLD)
		u->garbage += cold_read(u, tag & ~USERREC_COLD, &r->st);
	strdict_set_tag(u->users, uid, (uint32_t)idx + 1);
	return r;
}

const struct urec *
userrec_peek(const struct userrec *u, uint32_t uid)
{
	uint32_t tag = strdict_tag(u->users, uid);

	return tag != 0 && !(tag & USERREC_COLD) ? &u->hot[tag - 1] : NULL;
}

void
userrec_prefetch(const struct userrec *u, uint32_t uid)
{
	uint32_t tag = strdict_tag(u->users, uid);

	if (tag & USERREC_COLD)		/* to unpack */
		__builtin_prefetch(u->cold.buf + (tag & ~USERREC_COLD));
	else if (tag != 0)
		__builtin_prefetch(&u->hot[tag - 1]);
}

void
userrec_stats(const struct userrec *u, uint32_t uid, struct user_stats *st)
{
	uint32_t tag = strdict_tag(u->users, uid);

	if (tag == 0)
		memset(st, 0, sizeof *st);
	else if (tag & USERREC_COLD)
		cold_read(u, tag & ~USERREC_COLD, st);
	else
		*st = u->hot[tag - 1].st;
}

void
userrec_load(struct userrec *u, uint32_t uid, const struct user_stats *st)
{
	uint32_t tag = strdict_tag(u->users, uid);

	if (tag != 0 && !(tag & USERREC_COLD)) {
		u->hot[tag - 1].st = *st;
		return;
	}
	if (tag & USERREC_COLD)
		u->garbage += cold_len(u, tag & ~USERREC_COLD);
	cold_write(u, uid, st);
}

/*
 * Whether a user is hot, clean and without open sessions, and (unless wm
 * is INT64_MAX) its time has come at watermark wm.
 */
static bool
coolable(const struct userrec *u, uint32_t uid, int64_t wm)
{
	const struct urec *r = userrec_peek(u, uid);

	if (r == NULL || r->dirty)
		return false;
	return sessionizer_user_open(u->sz, uid) == 0 &&
	    (wm == INT64_MAX || r->st.last_seen + u->cool_ms < wm);
}

static void
cool_push(struct userrec *u, uint32_t uid, int64_t at)
{
	if (u->coolhead > 0 && u->coolhead >= u->ncool / 2) {
		u->ncool -= u->coolhead;
		memmove(u->cool, u->cool + u->coolhead,
		    u->ncool * sizeof *u->cool);
		u->coolhead = 0;
	}
	u->cool = xgrow(u->cool, &u->capcool, u->ncool + 1, sizeof *u->cool);
	u->cool[u->ncool++] = (struct cooling){ at, uid };
}

/* Packs a user's statistics and gives its hot record back. */
static void
freeze(struct userrec *u, uint32_t uid)
{
	uint32_t tag = strdict_tag(u->users, uid);

	cold_write(u, uid, &u->hot[tag - 1].st);
	u->freehot = xgrow(u->freehot, &u->capfree, u->nfree + 1,
	    sizeof *u->freehot);
	u->freehot[u->nfree++] = tag - 1;
}

/*
 * The queue is drained in the order users were queued: their times are
 * nearly in order, each queued at the first commit after its session
 * closed. One that became active meanwhile is dropped; it is queued again
 * once it is clean without sessions.
 */
void
userrec_settle(struct userrec *u, const uint32_t *uids, size_t n, int64_t wm)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (coolable(u, uids[i], INT64_MAX))
			cool_push(u, uids[i],
			    userrec_peek(u, uids[i])->st.last_seen + u->cool_ms);
	while (u->coolhead < u->ncool && u->cool[u->coolhead].at < wm) {
		uint32_t uid = u->cool[u->coolhead++].uid;

		if (coolable(u, uid, wm))
			freeze(u, uid);
	}
	if (u->coolhead == u->ncool)
		u->coolhead = u->ncool = 0;
	if (u->cold.len > COMPACT_MIN && u->garbage > u->cold.len / 2)
		cold_compact(u);
}

size_t
userrec_hot(const struct userrec *u)
{
	return u->nhot - u->nfree;
}

size_t
userrec_memory(const struct userrec *u)
{
	return sizeof *u + u->nhot * sizeof *u->hot +
	    u->capfree * sizeof *u->freehot + u->capcool * sizeof *u->cool +
	    u->cold.cap;
}
