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
 * per-event cost is independent of the number of open sessions. Closing
 * everything (end of input) sorts the heap once and drains it in order: a
 * sorted array is a valid heap, and reading it front to back (prefetching
 * the users ahead) is far cheaper than a sift-down per session.
 *
 * A user's session array comes from a pool of blocks of 1, 2, 4 or 8
 * sessions with a free list per size (larger arrays from malloc): most
 * users have one or two open sessions, and a malloc'd array of the
 * minimum capacity would cost four summaries plus the allocator's header.
 *
 * The arrays are found through a hash table of the users that have open
 * sessions, not an array indexed by every user id: a live daemon knows
 * many times more users than have a session open (10M known, about 1M
 * open at 50k events/s), and a 16-byte entry for each known user was an
 * eighth of its memory. A user's entry goes when its last session closes.
 *
 * A loaded user's sessions stay packed (varints, about 17 bytes a session
 * instead of a 64-byte summary) in an arena until an event or a close
 * needs them: after a restart most open sessions are only waited out
 * (docs/engine.md, "Hot and cold users").
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

#define POOL_CLASSES	4		/* blocks of 1, 2, 4, 8 sessions */
#define POOL_CHUNK	(256 * 1024)
#define DRAIN_AHEAD	16		/* users prefetched when draining */

#define NO_UID		UINT32_MAX	/* a free slot of the table */
#define TAB_MIN		64	/* slots of a new table */
#define ULIST_MAX	((1u << 27) - 1)	/* open sessions of one user */
#define ULIST_PACKED	31	/* lcap of a user whose sessions are packed */
#define ULIST_SHIFTED	30	/* lcap of an array closed from the front */
#define SHIFT_MIN	8	/* sessions left behind that make it shift */
#define COMPACT_MIN	(64 * 1024)	/* packed bytes before a rewrite */

/*
 * A user's open sessions: an entry of the table, 16 bytes. Packed (lcap
 * ULIST_PACKED), s holds the offset of their bytes in the arena instead.
 */
struct ulist {
	struct sess *s;		/* NULL: no block yet */
	uint32_t     uid;	/* NO_UID: a free slot */
	uint32_t     n : 27;	/* sessions in s, sorted by start */
	uint32_t     lcap : 5;	/* s holds 1 << lcap (see ULIST_*) */
};

struct pool {
	struct sess *free[POOL_CLASSES];	/* linked through the block */
	char       **chunks;
	size_t       nchunks, capchunks;
	char        *cur;			/* carving point in the last chunk */
	size_t       left;
	size_t       big;			/* bytes of malloc'd arrays */
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
	sessionizer_ahead_cb    ahead;
	void                   *cb_arg;
	struct ulist           *tab;		/* users with open sessions */
	size_t                  tsize;		/* slots of tab (0: no tab) */
	size_t                  tcount;		/* entries in use */
	uint8_t                 grow16;		/* tab grows past this load */
	struct hent            *heap;		/* [head, nheap) */
	size_t                  head, nheap, capheap;
	bool                    sorted;		/* draining a sorted heap */
	struct pool             pool;
	struct enc              packed;		/* arena of packed sessions */
	size_t                  garbage;	/* its bytes unpacked since */
	size_t                  open;
	size_t                  ext_types;	/* sess_type slots out of line */
	uint32_t                next_serial;
	unsigned                first_cap;	/* of the heap */
	int64_t                 max_ts;		/* INT64_MIN: none yet */
	int64_t                 wm;
	int64_t                 last_event_wall;
};

/* Sessionizers are made on one thread (the loop's, or a test's). */
static unsigned next_first_cap;

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
	enc_init(&z->packed);
	/*
	 * The heap and the user table grow by half as they fill, and under
	 * an even load every partition's fill at the same moment: at 100k
	 * events/s the 64 partitions' copies (and their fresh pages) came
	 * together in one stop of the loop of tens of ms. First capacities
	 * from 64 to 94 entries, one after another, spread the growths of
	 * sessionizers made together over the whole of each growth instead;
	 * the table, which starts at 64 slots, grows at loads of 3/4, 11/16
	 * or 5/8 in turn.
	 */
	z->first_cap = 64 + 2 * (next_first_cap % 16);
	z->grow16 = (uint8_t)(12 - next_first_cap % 3);
	next_first_cap++;
	return z;
}

/* An array's first allocation, of first_cap entries, grown from there. */
static void *
first_alloc(const struct sessionizer *z, size_t *cap, size_t elem_size)
{
	*cap = z->first_cap;
	return xmalloc(*cap * elem_size);
}

static void
sess_release(struct sessionizer *z, struct sess *s)
{
	z->ext_types -= s->captypes;
	if (s->captypes)
		free(s->t.ext);
	s->ntypes = s->captypes = 0;
}

/* ---- session arrays ---- */

static int
pool_class(uint32_t cap)
{
	return __builtin_ctz(cap);
}

static struct sess *
pool_get(struct pool *p, uint32_t cap)
{
	size_t size = (size_t)cap * sizeof(struct sess);
	struct sess *b;
	int c;

	if (cap > 1u << (POOL_CLASSES - 1)) {
		p->big += size;
		return xmalloc(size);
	}
	c = pool_class(cap);
	if ((b = p->free[c]) != NULL) {
		/* A free block's first bytes hold the next free block. */
		memcpy(&p->free[c], (const void *)b, sizeof p->free[c]);
		return b;
	}
	if (p->left < size) {
		p->chunks = xgrow(p->chunks, &p->capchunks, p->nchunks + 1,
		    sizeof *p->chunks);
		p->cur = p->chunks[p->nchunks++] = xmalloc(POOL_CHUNK);
		p->left = POOL_CHUNK;
	}
	b = (struct sess *)(void *)p->cur;
	p->cur += size;
	p->left -= size;
	return b;
}

static void
pool_put(struct pool *p, struct sess *b, uint32_t cap)
{
	int c;

	if (cap > 1u << (POOL_CLASSES - 1)) {
		p->big -= (size_t)cap * sizeof(struct sess);
		free(b);
		return;
	}
	c = pool_class(cap);
	memcpy((void *)b, &p->free[c], sizeof p->free[c]);
	p->free[c] = b;
}

static inline bool
ulist_packed(const struct ulist *ul)
{
	return ul->lcap == ULIST_PACKED;
}

static inline size_t
ulist_off(const struct ulist *ul)
{
	return (size_t)(uintptr_t)ul->s;
}

/* Starts loading a user's sessions, packed or not. */
static inline void
ulist_prefetch(const struct sessionizer *z, const struct ulist *ul)
{
	if (ulist_packed(ul))
		__builtin_prefetch(z->packed.buf + ulist_off(ul));
	else if (ul->s != NULL)
		__builtin_prefetch(ul->s);
}

/*
 * An array whose oldest sessions were closed while many were left: s
 * moved forward in its block instead of the others moving back, and the
 * slot before s says where the block starts. Closing a user's k sessions
 * oldest first moved k^2/2 of them before: at the end of --once, 3.7 s for
 * one user with 100,000 sessions and 13.5 s with 200,000.
 */
struct shift_hdr {
	struct sess *base;
	uint32_t     cap;
};

/* The block holding the user's array, and its capacity from the start. */
static struct sess *
ulist_block(const struct ulist *ul, uint32_t *cap)
{
	struct shift_hdr h;

	if (ul->lcap != ULIST_SHIFTED) {
		*cap = 1u << ul->lcap;
		return ul->s;
	}
	memcpy(&h, (const void *)(ul->s - 1), sizeof h);
	*cap = h.cap;
	return h.base;
}

/* Room for sessions from s on. */
static uint32_t
ulist_cap(const struct ulist *ul)
{
	struct sess *base;
	uint32_t cap;

	if (ul->s == NULL || ulist_packed(ul))
		return 0;
	base = ulist_block(ul, &cap);
	return cap - (uint32_t)(ul->s - base);
}

/* Gives the user's block back to the pool. */
static void
ulist_put(struct sessionizer *z, struct ulist *ul)
{
	struct sess *base;
	uint32_t cap;

	base = ulist_block(ul, &cap);
	pool_put(&z->pool, base, cap);
}

/* Room for at least `need` sessions in the user's array. */
static void
ulist_reserve(struct sessionizer *z, struct ulist *ul, size_t need)
{
	uint32_t cap = ulist_cap(ul), lcap = 0;
	struct sess *s;

	if (need <= cap)
		return;
	if (need > ULIST_MAX)
		fatalx("more than %u open sessions of one user", ULIST_MAX);
	while ((1u << lcap) < need)
		lcap++;
	s = pool_get(&z->pool, 1u << lcap);
	if (ul->n)
		memcpy(s, ul->s, ul->n * sizeof *s);
	if (cap)
		ulist_put(z, ul);
	ul->s = s;
	ul->lcap = lcap & 31;
}

/* Gives the user's array back to the pool (the entry stays). */
static void
ulist_release(struct sessionizer *z, struct ulist *ul)
{
	if (ul->s != NULL)
		ulist_put(z, ul);
	ul->s = NULL;
	ul->n = 0;
	ul->lcap = 0;
}

/* ---- the table of users with open sessions ---- */

/*
 * Live, Fibonacci hashing: user ids are dense, consecutive ids spread
 * out. In hold-open mode (--once) every user keeps its sessions to the
 * end, so the table is the array by id it replaced: a user's slot is its
 * id (the table grows past the highest), with no collision, no probing
 * and consecutive new users in consecutive slots (hashing cost 5-9% of
 * bench_engine's hold-open runs).
 */
static inline size_t
tab_home(const struct sessionizer *z, uint32_t uid)
{
	if (z->conf.hold_open)
		return uid;
	/* The hash's high bits scaled to the size (any size, not only
	 * powers of two: the table grows by half, not double). */
	return (size_t)(((uint64_t)(uint32_t)(uid * UINT32_C(0x9e3779b1)) *
	    z->tsize) >> 32);
}

/* The slot after i, wrapping around. */
static inline size_t
tab_next(const struct sessionizer *z, size_t i)
{
	return i + 1 == z->tsize ? 0 : i + 1;
}

/* Whether the user's home slot exists (by id, the table may be short). */
static inline bool
tab_covers(const struct sessionizer *z, uint32_t uid)
{
	return z->tab != NULL &&
	    (!z->conf.hold_open || uid < z->tsize);
}

static inline struct ulist *
ulist_find(const struct sessionizer *z, uint32_t uid)
{
	size_t i;

	if (!tab_covers(z, uid))
		return NULL;
	for (i = tab_home(z, uid);; i = tab_next(z, i)) {
		if (z->tab[i].uid == uid)
			return &z->tab[i];
		if (z->tab[i].uid == NO_UID)
			return NULL;
	}
}

/* Puts an entry in a table that has room for it (linear probing). */
static struct ulist *
tab_place(struct sessionizer *z, const struct ulist *ul)
{
	size_t i;

	for (i = tab_home(z, ul->uid); z->tab[i].uid != NO_UID;
	    i = tab_next(z, i))
		;
	z->tab[i] = *ul;
	return &z->tab[i];
}

static void
tab_resize(struct sessionizer *z, size_t size)
{
	struct ulist *old = z->tab;
	size_t n = z->tsize, i;

	if (size > (size_t)1 << 32)
		fatalx("more than 2^31 users with open sessions");
	z->tab = xmalloc(size * sizeof *z->tab);
	for (i = 0; i < size; i++)
		z->tab[i].uid = NO_UID;
	z->tsize = size;
	for (i = 0; i < n; i++)
		if (old[i].uid != NO_UID)
			tab_place(z, &old[i]);
	free(old);
}

/* The user's entry, made (with no sessions) if it has none. */
static struct ulist *
ulist_of(struct sessionizer *z, uint32_t uid)
{
	struct ulist *ul = ulist_find(z, uid), fresh = { .uid = uid };

	if (ul != NULL)
		return ul;
	if (z->conf.hold_open) {
		size_t size = z->tab != NULL ? z->tsize : TAB_MIN;

		while (size <= uid)
			size *= 2;
		if (z->tab == NULL || size > z->tsize)
			tab_resize(z, size);
	} else if (z->tab == NULL)
		tab_resize(z, TAB_MIN);
	else if ((z->tcount + 1) * 16 > z->grow16 * z->tsize)
		/* By half: doubling left the table under half full on
		 * average (38 bytes an entry of 16 on a restart's state). */
		tab_resize(z, z->tsize + z->tsize / 2);
	z->tcount++;
	return tab_place(z, &fresh);
}

/*
 * Drops an entry whose array was released: the entries after it in its
 * run move back (backward-shift deletion, no tombstones). Entry pointers
 * do not survive this.
 */
static void
ulist_remove(struct sessionizer *z, struct ulist *ul)
{
	size_t i = (size_t)(ul - z->tab), j = i, k;

	/* By id, nothing ever moved from its home. */
	for (; !z->conf.hold_open;) {
		j = tab_next(z, j);
		if (z->tab[j].uid == NO_UID)
			break;
		k = tab_home(z, z->tab[j].uid);
		/* Entry j may fill the hole at i unless its home lies in
		 * the cyclic range (i, j]. */
		if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
			z->tab[i] = z->tab[j];
			i = j;
		}
	}
	z->tab[i].uid = NO_UID;
	z->tcount--;
}

/*
 * Halves the table while it is under an eighth full: after a live close
 * pass, not per removal, so that closing everything at the end of --once
 * does not rehash a shrinking table over and over.
 */
static void
tab_shrink(struct sessionizer *z)
{
	size_t size = z->tsize;

	if (z->tab == NULL)
		return;
	while (size > TAB_MIN && z->tcount * 8 < size)
		size = size / 2 > TAB_MIN ? size / 2 : TAB_MIN;
	if (size < z->tsize)
		tab_resize(z, size);
}

void
sessionizer_set_ahead(struct sessionizer *z, sessionizer_ahead_cb ahead)
{
	z->ahead = ahead;
}

void
sessionizer_free(struct sessionizer *z)
{
	size_t i, j;

	if (z == NULL)
		return;
	for (i = 0; z->tab != NULL && i < z->tsize; i++) {
		if (z->tab[i].uid == NO_UID || ulist_packed(&z->tab[i]))
			continue;
		for (j = 0; j < z->tab[i].n; j++)
			sess_release(z, &z->tab[i].s[j]);
		ulist_release(z, &z->tab[i]);
	}
	enc_free(&z->packed);
	for (i = 0; i < z->pool.nchunks; i++)
		free(z->pool.chunks[i]);
	free(z->pool.chunks);
	free(z->tab);
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

static int
hent_cmp(const void *a, const void *b)
{
	if (hent_less(a, b))
		return -1;
	return hent_less(b, a);
}

static size_t
heap_size(const struct sessionizer *z)
{
	return z->nheap - z->head;
}

#define RADIX_BITS	11
#define RADIX_MIN	256	/* fewer entries: qsort */

/*
 * Sorts by (deadline, uid) in least-significant-digit radix passes over
 * one 64-bit key of both, when it fits (deadlines relative to the
 * earliest). False when it does not: the caller falls back to qsort.
 * qsort of the 2M entries of a --once's close took a quarter second,
 * mostly in calls to the comparison.
 */
static bool
hent_radix_sort(struct hent *a, size_t n)
{
	enum { B = 1 << RADIX_BITS };
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	uint32_t umax = 0;
	uint64_t range;
	int ubits, kbits, npass, pass;
	size_t (*cnt)[B], i;
	struct hent *tmp, *src, *dst, *t;

	for (i = 0; i < n; i++) {
		if (a[i].deadline < lo)
			lo = a[i].deadline;
		if (a[i].deadline > hi)
			hi = a[i].deadline;
		if (a[i].uid > umax)
			umax = a[i].uid;
	}
	range = (uint64_t)hi - (uint64_t)lo;
	ubits = umax ? 32 - __builtin_clz(umax) : 0;
	kbits = ubits + (range ? 64 - __builtin_clzll(range) : 0);
	if (kbits > 64)
		return false;
	npass = (kbits + RADIX_BITS - 1) / RADIX_BITS;
	cnt = xcalloc(npass ? (size_t)npass : 1, sizeof *cnt);
#define HKEY(h)	((((uint64_t)(h).deadline - (uint64_t)lo) << ubits) | (h).uid)
	for (i = 0; i < n; i++) {
		uint64_t k = HKEY(a[i]);

		for (pass = 0; pass < npass; pass++)
			cnt[pass][(k >> (pass * RADIX_BITS)) & (B - 1)]++;
	}
	tmp = xmalloc(n * sizeof *tmp);
	src = a;
	dst = tmp;
	for (pass = 0; pass < npass; pass++) {
		int sh = pass * RADIX_BITS;
		size_t *c = cnt[pass], sum = 0, d;

		if (c[(HKEY(src[0]) >> sh) & (B - 1)] == n)
			continue;	/* one digit for all: nothing moves */
		for (d = 0; d < B; d++) {
			size_t m = c[d];

			c[d] = sum;
			sum += m;
		}
		for (i = 0; i < n; i++)
			dst[c[(HKEY(src[i]) >> sh) & (B - 1)]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
#undef HKEY
	if (src != a)
		memcpy(a, src, n * sizeof *a);
	free(tmp);
	free(cnt);
	return true;
}

/* Sorted, drained order: a sorted array is a heap, from its front. */
static void
heap_sort(struct sessionizer *z)
{
	if (z->sorted)
		return;
	if (z->nheap < RADIX_MIN || !hent_radix_sort(z->heap, z->nheap))
		qsort(z->heap, z->nheap, sizeof *z->heap, hent_cmp);
	z->sorted = true;
}

static void
heap_unsort(struct sessionizer *z)
{
	if (!z->sorted)
		return;
	memmove(z->heap, z->heap + z->head, heap_size(z) * sizeof *z->heap);
	z->nheap -= z->head;
	z->head = 0;
	z->sorted = false;
}

static void
heap_push(struct sessionizer *z, int64_t deadline, uint32_t uid,
    uint32_t serial)
{
	size_t i;

	heap_unsort(z);
	if (z->capheap == 0)
		z->heap = first_alloc(z, &z->capheap, sizeof *z->heap);
	/* By half: a heap of 50k sessions is 800 KB a partition. */
	z->heap = xgrow_half(z->heap, &z->capheap, z->nheap + 1,
	    sizeof *z->heap);
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

	if (z->sorted) {
		if (++z->head == z->nheap) {
			z->head = z->nheap = 0;
			z->sorted = false;
		}
		return;
	}
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

/*
 * Sorted drain: the users, then their sessions, of entries ahead. Inlined
 * by force: GCC takes a function that only prefetches for a pure one and
 * drops the call.
 */
static inline __attribute__((always_inline)) void
heap_prefetch(const struct sessionizer *z)
{
	size_t far2 = z->head + DRAIN_AHEAD * 3 / 2;
	size_t far = z->head + DRAIN_AHEAD, near = z->head + DRAIN_AHEAD / 2;

	if (!z->sorted)
		return;
	if (far2 < z->nheap && z->ahead != NULL)
		z->ahead(z->cb_arg, z->heap[far2].uid, 2);
	if (far < z->nheap) {
		if (tab_covers(z, z->heap[far].uid))
			__builtin_prefetch(&z->tab[tab_home(z,
			    z->heap[far].uid)]);
		if (z->ahead != NULL)
			z->ahead(z->cb_arg, z->heap[far].uid, 1);
	}
	if (near < z->nheap) {
		const struct ulist *ul = ulist_find(z, z->heap[near].uid);

		if (ul != NULL)
			ulist_prefetch(z, ul);
		if (z->ahead != NULL)
			z->ahead(z->cb_arg, z->heap[near].uid, 0);
	}
}

/* ---- session summaries ---- */

static void
sess_count_type(struct sessionizer *z, struct sess *s, uint32_t code,
    uint32_t count)
{
	struct sess_type *t = s->captypes ? s->t.ext : s->t.inl;
	uint16_t i;

	for (i = 0; i < s->ntypes; i++) {
		if (t[i].code == code) {
			t[i].count += count;
			return;
		}
	}
	if (s->ntypes == UINT16_MAX)
		fatalx("more than 65535 action types in one session");
	if (s->captypes == 0 && s->ntypes < SESS_INLINE_TYPES) {
		t[s->ntypes++] = (struct sess_type){ code, count };
		return;
	}
	if (s->captypes == 0) {
		/* Inline types full: move them out. */
		t = xmalloc(2 * SESS_INLINE_TYPES * sizeof *t);
		memcpy(t, s->t.inl, sizeof s->t.inl);
		s->t.ext = t;
		s->captypes = 2 * SESS_INLINE_TYPES;
		z->ext_types += s->captypes;
	} else if (s->ntypes == s->captypes) {
		size_t cap = s->captypes;

		s->t.ext = xgrow(s->t.ext, &cap, (size_t)s->ntypes + 1,
		    sizeof *t);
		z->ext_types -= s->captypes;
		s->captypes = cap > UINT16_MAX ? UINT16_MAX : (uint16_t)cap;
		z->ext_types += s->captypes;
	}
	s->t.ext[s->ntypes++] = (struct sess_type){ code, count };
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
		sess_count_type(z, a, sess_types(b)[i].code,
		    sess_types(b)[i].count);
}

/* ---- packed sessions ---- */

/* A version or action id: its string persisted, its number packed. */
static void
enc_id(const struct sessionizer *z, struct enc *e, uint32_t id, bool packed)
{
	struct strv s;

	if (packed) {
		enc_uvar(e, id);
		return;
	}
	s = strdict_get(z->strings, id);
	enc_bytes(e, s.p, s.len);
}

/*
 * One session, times as offsets from its start. Persisted, ids are the
 * strings; packed, the numbers (they stay valid: the strings are kept),
 * and the close-heap serial follows the versions.
 */
static void
sess_write(const struct sessionizer *z, const struct sess *s, struct enc *e,
    bool packed)
{
	uint16_t t;

	enc_svar(e, s->start);
	enc_uvar(e, (uint64_t)(s->last - s->start));
	enc_uvar(e, (uint64_t)(s->end - s->start));
	enc_uvar(e, s->count);
	enc_id(z, e, s->first_ver, packed);
	enc_id(z, e, s->last_ver, packed);
	if (packed)
		enc_uvar(e, s->serial);
	enc_uvar(e, s->ntypes);
	for (t = 0; t < s->ntypes; t++) {
		enc_id(z, e, sess_types(s)[t].code, packed);
		enc_uvar(e, sess_types(s)[t].count);
	}
}

/* The packed session at d into s; its types may go out of line. */
static void
sess_unpack(struct sessionizer *z, struct dec *d, struct sess *s)
{
	uint64_t nt, t;

	memset(s, 0, sizeof *s);
	s->start = dec_svar(d);
	s->last = s->start + (int64_t)dec_uvar(d);
	s->end = s->start + (int64_t)dec_uvar(d);
	s->count = dec_uvar(d);
	s->first_ver = (uint32_t)dec_uvar(d);
	s->last_ver = (uint32_t)dec_uvar(d);
	s->serial = (uint32_t)dec_uvar(d);
	nt = dec_uvar(d);
	for (t = 0; t < nt && !d->err; t++) {
		uint32_t code = (uint32_t)dec_uvar(d);

		sess_count_type(z, s, code, (uint32_t)dec_uvar(d));
	}
	if (d->err)
		fatalx("packed sessions are corrupt");
}

static void
packed_dec(const struct sessionizer *z, const struct ulist *ul,
    struct dec *d)
{
	size_t off = ulist_off(ul);

	dec_init(d, z->packed.buf + off, z->packed.len - off);
}

/* Bytes of a user's packed sessions. */
static size_t
packed_len(struct sessionizer *z, const struct ulist *ul)
{
	struct dec d;
	struct sess s;
	uint32_t i;

	packed_dec(z, ul, &d);
	for (i = 0; i < ul->n; i++) {
		sess_unpack(z, &d, &s);
		sess_release(z, &s);
	}
	return (size_t)(d.p - (z->packed.buf + ulist_off(ul)));
}

/* Packs the user's sessions at the end of the arena; its array goes. */
static void
ulist_pack(struct sessionizer *z, struct ulist *ul)
{
	size_t off = z->packed.len;
	uint32_t i, n = ul->n;

	for (i = 0; i < n; i++) {
		enc_reserve_arena(&z->packed, 80 + 20 * (size_t)ul->s[i].ntypes);
		sess_write(z, &ul->s[i], &z->packed, true);
		sess_release(z, &ul->s[i]);
	}
	ulist_release(z, ul);
	ul->n = n & ULIST_MAX;
	ul->s = (struct sess *)(uintptr_t)off;
	ul->lcap = ULIST_PACKED;
}

/* Rewrites the arena without the bytes of users unpacked since. */
static void
packed_compact(struct sessionizer *z)
{
	struct enc fresh;
	size_t i;

	enc_init(&fresh);
	enc_reserve(&fresh, (z->packed.len - z->garbage) * 9 / 8);
	for (i = 0; i < z->tsize; i++) {
		struct ulist *ul = &z->tab[i];
		size_t len;

		if (ul->uid == NO_UID || !ulist_packed(ul))
			continue;
		len = packed_len(z, ul);
		enc_raw(&fresh, z->packed.buf + ulist_off(ul), len);
		ul->s = (struct sess *)(uintptr_t)(fresh.len - len);
	}
	enc_free(&z->packed);
	z->packed = fresh;
	z->garbage = 0;
}

/* The user's sessions back in an array. */
static void
ulist_unpack(struct sessionizer *z, struct ulist *ul)
{
	struct dec d;
	const uint8_t *from;
	uint32_t i, n = ul->n;

	packed_dec(z, ul, &d);
	from = d.p;
	ul->s = NULL;
	ul->n = 0;
	ul->lcap = 0;
	ulist_reserve(z, ul, n);
	for (i = 0; i < n; i++)
		sess_unpack(z, &d, &ul->s[i]);
	ul->n = n & ULIST_MAX;
	z->garbage += (size_t)(d.p - from);
	if (z->packed.len > COMPACT_MIN && z->garbage > z->packed.len / 2)
		packed_compact(z);
}

/* The user's entry, its sessions unpacked; NULL if it has none. */
static struct ulist *
ulist_open(struct sessionizer *z, uint32_t uid)
{
	struct ulist *ul = ulist_find(z, uid);

	if (ul != NULL && ulist_packed(ul))
		ulist_unpack(z, ul);
	return ul;
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
	int64_t gap = z->conf.gap_ms;
	uint32_t i;

	if (ulist_packed(ul))
		ulist_unpack(z, ul);
	i = first_after(ul, ts);

	ev.start = ev.last = ts;
	ev.end = ts + dur;
	ev.count = 1;
	ev.first_ver = ev.last_ver = version;
	ev.t.inl[0] = (struct sess_type){ action, 1 };
	ev.ntypes = 1;

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
			sess_release(z, &ul->s[i]);
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
	ulist_reserve(z, ul, (size_t)ul->n + 1);
	memmove(&ul->s[i + 1], &ul->s[i], (ul->n - i) * sizeof *ul->s);
	ul->n++;
	ev.serial = z->next_serial++;
	ul->s[i] = ev;
	z->open++;
	heap_push(z, ts + gap, uid, ev.serial);
}

void
sessionizer_prefetch_user(const struct sessionizer *z, uint32_t uid)
{
	if (tab_covers(z, uid))
		__builtin_prefetch(&z->tab[tab_home(z, uid)]);
}

void
sessionizer_prefetch_sessions(const struct sessionizer *z, uint32_t uid)
{
	const struct ulist *ul = ulist_find(z, uid);

	if (ul != NULL)
		ulist_prefetch(z, ul);
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

	if (i == 0 && ul->n > SHIFT_MIN) {
		struct shift_hdr h;

		h.base = ulist_block(ul, &h.cap);
		ul->s++;
		memcpy((void *)(ul->s - 1), &h, sizeof h);
		ul->lcap = ULIST_SHIFTED;
	} else
		memmove(&ul->s[i], &ul->s[i + 1],
		    (ul->n - i - 1) * sizeof *ul->s);
	ul->n--;
	z->open--;
	if (ul->n == 0) {
		ulist_release(z, ul);
		ulist_remove(z, ul);
	}
	z->cb(z->cb_arg, uid, &s);
	sess_release(z, &s);
}

/* Pops heap entries whose session is due at watermark `wm` (or every one
 * with `all`), closing at most max sessions. */
static size_t
close_due(struct sessionizer *z, int64_t wm, bool all, size_t max)
{
	size_t closed = 0;

	if (all && max > 0 && heap_size(z) > 1)
		heap_sort(z);
	while (heap_size(z) > 0 && closed < max &&
	    (all || z->heap[z->head].deadline < wm)) {
		struct hent h = z->heap[z->head];
		struct ulist *ul = ulist_open(z, h.uid);
		uint32_t i;
		struct sess *s = NULL;

		heap_prefetch(z);
		if (ul != NULL)
			s = find_serial(ul, h.serial, &i);
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
	return sessionizer_advance_some(z, now_ms, SIZE_MAX);
}

size_t
sessionizer_advance_some(struct sessionizer *z, int64_t now_ms, size_t max)
{
	size_t n;

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
	n = close_due(z, z->wm, false, max);
	tab_shrink(z);
	return n;
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

/* A packed user's sessions are unpacked: a change of form only. */
const struct sess *
sessionizer_sessions(const struct sessionizer *z, uint32_t uid, size_t *n)
{
	const struct ulist *ul = ulist_open((struct sessionizer *)(uintptr_t)z,
	    uid);

	if (ul == NULL) {
		*n = 0;
		return NULL;
	}
	*n = ul->n;
	return ul->s;
}

size_t
sessionizer_user_open(const struct sessionizer *z, uint32_t uid)
{
	const struct ulist *ul = ulist_find(z, uid);

	return ul != NULL ? ul->n : 0;
}

size_t
sessionizer_memory(const struct sessionizer *z)
{
	return sizeof *z +
	    z->tsize * sizeof *z->tab +
	    z->capheap * sizeof *z->heap + z->pool.nchunks * POOL_CHUNK +
	    z->pool.capchunks * sizeof *z->pool.chunks + z->pool.big +
	    z->packed.cap +
	    z->ext_types * sizeof(struct sess_type);
}

/* ---- persistence ---- */

static uint32_t
dec_id(struct sessionizer *z, struct dec *d)
{
	size_t len;
	const char *p = dec_bytes(d, &len);

	if (p == NULL)
		return 0;
	return strdict_intern(z->strings, (struct strv){ p, len }, NULL);
}

/* Packed sessions are written from the arena, one at a time: a commit
 * must not unpack every loaded user it saves. */
void
sessionizer_encode_user(const struct sessionizer *z, uint32_t uid,
    struct enc *e)
{
	const struct ulist *ul = ulist_find(z, uid);
	size_t n = ul != NULL ? ul->n : 0, i;

	enc_u8(e, SESS_ENC_VERSION);
	enc_uvar(e, n);
	if (n > 0 && ulist_packed(ul)) {
		struct sessionizer *w = (struct sessionizer *)(uintptr_t)z;
		struct dec d;
		struct sess s;

		packed_dec(z, ul, &d);
		for (i = 0; i < n; i++) {
			sess_unpack(w, &d, &s);
			sess_write(z, &s, e, false);
			sess_release(w, &s);
		}
		return;
	}
	for (i = 0; i < n; i++)
		sess_write(z, &ul->s[i], e, false);
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

			sess_count_type(z, &s, code, (uint32_t)dec_uvar(d));
		}
		if (d->err) {
			sess_release(z, &s);
			return -1;
		}
		/* Sessions were encoded sorted and disjoint: append. */
		ul = ulist_of(z, uid);
		ulist_reserve(z, ul, (size_t)ul->n + 1);
		s.serial = z->next_serial++;
		ul->s[ul->n++] = s;
		z->open++;
		heap_push(z, s.last + z->conf.gap_ms, uid, s.serial);
	}
	/* Loaded sessions stay packed until an event or a close. */
	if (n > 0)
		ulist_pack(z, ulist_find(z, uid));
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
