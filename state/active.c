/*
 * active: daily and monthly active-user sets (see active.h).
 *
 * A pset stores its entries in an insertion-ordered array (so that the
 * entries added since the last commit are simply a suffix, written behind
 * as one small record) and indexes them with an open-addressing table of
 * user ids keyed by a multiplicative hash of the id. Membership is all the
 * index answers, so a slot holds the id itself: a probe reads one cache
 * line, not a slot and then the entry it points to.
 *
 * Ids are dense (a partition numbers its users from 0), so a set holding
 * a good part of its partition's users, as the current month's does, is
 * indexed by a bitmap of ids instead: a bit per user of the partition
 * against 5 to 11 bytes per member. Whenever the index grows, it becomes
 * whichever of the two is smaller (pset_reindex).
 *
 * Per event the cost is one zone lookup per reporting zone and one probe
 * per period; the last pset touched per (zone, kind) is cached because a
 * partition's traffic is mostly for the current day.
 *
 * The sketches are a cache of the exact set, brought up to date when they
 * are read (or every PEND_MAX new users): a new user's hash waits in a
 * small array, and folding a run of them into one set's sketches in a row
 * keeps those sketches in the CPU cache, where adding each user as it
 * comes touches up to eight sketches at random.
 */
#include "active.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "hll.h"
#include "tzcal.h"
#include "u64map.h"
#include "xmalloc.h"

#define PEND_MAX	4096	/* hashes waiting per set, at most */
#define COMBO_MAX	65535	/* combination ids are uint16 */

/*
 * The first cache line holds what adding an entry reads and writes; the
 * rest is read when the set is (see pset_tally and pset_fold).
 */
struct pset {
	int32_t        period;
	uint32_t       nbits;		/* log2 of the slots, or bits */
	uint32_t      *slots;		/* uid + 1, 0 = empty; or bits */
	struct pentry *ent;
	size_t         n, cap;
	/* Hashes of the last npend entries, not yet in the sketches. */
	uint64_t      *pend;
	uint32_t       npend, cappend;
	uint8_t        zone;
	uint8_t        kind;
	bool           changed;
	uint8_t        dims_mask;
	uint8_t        grow16;		/* slots grow past this load, 16ths */
	bool           dense;		/* slots is a bitmap of uids */
	uint16_t       pend_max;	/* hashes waiting, at most */
	/* ---- */
	size_t         committed;
	size_t         counted;		/* entries in dcount (see pset_tally) */
	struct hll    *hll;
	uint32_t      *dcount[DIM_COUNT];
	struct hll   **dhll[DIM_COUNT];
	uint16_t       ncodes[DIM_COUNT];
	uint8_t        precision;
	const struct active *a;		/* its combinations of codes */
};

_Static_assert(offsetof(struct pset, committed) == 64,
    "what adding an entry touches is the set's first cache line");

/*
 * Where the sets of recent periods are, per zone and kind, direct-mapped
 * by period: with many partitions, zones and periods a set's own memory
 * is rarely in the cache, and this holds what locating an entry's slot
 * needs, so that the slot and the set's first line load together.
 */
#define PCACHE	512		/* a year and a half of days */

#define DENSE_BIT	0x100u		/* in pcache.nbits: s->dense */

struct pcache {
	struct pset *s;			/* NULL: empty */
	uint32_t    *slots;		/* s->slots and s->nbits */
	uint32_t     nbits;
	int32_t      period;
};

struct active {
	struct active_conf conf;
	unsigned           stagger;	/* see pset_stagger */
	unsigned           nsets;	/* sets made */
	struct tzcal      *zones[ACTIVE_MAX_ZONES];
	struct u64map     *psets;
	struct pcache     *pc;		/* [zone][kind][PCACHE] */
	/* Local day and month of memo_ts per zone: active_prefetch and then
	 * active_add ask for the same event's. */
	int64_t            memo_ts;
	bool               memo_ok;
	int32_t            memo_day[ACTIVE_MAX_ZONES];
	int32_t            memo_month[ACTIVE_MAX_ZONES];
	/* The combinations of dimension codes entries name, by id; the map
	 * is from the codes packed in 48 bits to id + 1. */
	uint16_t         (*combo)[DIM_COUNT];
	size_t             ncombo, capcombo;
	struct u64map     *combo_ids;
};

/*
 * The id of a combination of codes (of the enabled dimensions; the others
 * are 0), numbered in first-use order. Past COMBO_MAX combinations in one
 * partition, which takes tens of thousands of distinct values in a
 * dimension, a new one is folded into id 0, all codes unknown (as meta.c
 * folds values past 65535 into "unknown").
 */
static uint16_t
combo_of(struct active *a, const uint16_t *codes)
{
	uint64_t key = 0;
	void *v;
	int d;

	for (d = 0; d < DIM_COUNT; d++)
		if (a->conf.dims_mask & (1u << d))
			key |= (uint64_t)codes[d] << (16 * d);
	if ((v = u64map_get(a->combo_ids, key)) != NULL)
		return (uint16_t)((uintptr_t)v - 1);
	if (a->ncombo >= COMBO_MAX)
		return 0;
	a->combo = xgrow(a->combo, &a->capcombo, a->ncombo + 1,
	    sizeof *a->combo);
	for (d = 0; d < DIM_COUNT; d++)
		a->combo[a->ncombo][d] = (uint16_t)(key >> (16 * d));
	u64map_put(a->combo_ids, key, (void *)(uintptr_t)(a->ncombo + 1));
	return (uint16_t)a->ncombo++;
}

static void
local_days(const struct active *ca, int64_t ts)
{
	struct active *a = (struct active *)ca;	/* a cache update */
	size_t z;

	if (a->memo_ok && a->memo_ts == ts)
		return;
	for (z = 0; z < a->conf.n_zones; z++) {
		a->memo_day[z] = tzcal_day(a->zones[z], ts);
		a->memo_month[z] = tzcal_month_of_day(a->memo_day[z]);
	}
	a->memo_ts = ts;
	a->memo_ok = true;
}

static uint64_t
pset_key(int zone, enum period_kind kind, int32_t period)
{
	return (uint64_t)zone << 40 | (uint64_t)kind << 32 | (uint32_t)period;
}

/*
 * Under an even load the 64 partitions' sets of the current day and month
 * reach the same sizes at the same moment. Each set grows its slot table
 * at one of three loads (3/4, 11/16, 5/8) and folds its waiting hashes
 * into the sketches at one of eight counts (4096 down to 2304), in turn
 * from an offset of its own per instance, so that those stops of the loop
 * do not coincide (docs/engine.md). Instances are made on the loop's
 * thread only.
 */
static unsigned next_stagger;

static void
pset_stagger(struct active *a, struct pset *s)
{
	unsigned k = a->stagger + a->nsets++;

	s->grow16 = (uint8_t)(12 - k % 3);
	s->pend_max = (uint16_t)(PEND_MAX - 256 * (k % 8));
}

struct active *
active_new(const struct active_conf *conf)
{
	struct active *a = xcalloc(1, sizeof *a);
	size_t i;

	if (conf->n_zones == 0 || conf->n_zones > ACTIVE_MAX_ZONES)
		fatalx("active_new: %zu zones", conf->n_zones);
	a->conf = *conf;
	a->stagger = next_stagger++;
	for (i = 0; i < conf->n_zones; i++)
		a->zones[i] = conf->zones[i];
	a->conf.zones = a->zones;
	a->psets = u64map_new();
	a->pc = xcalloc(conf->n_zones * 2 * PCACHE, sizeof *a->pc);
	a->combo_ids = u64map_new();
	/* Id 0: every code unknown, the fold of combo_of. */
	combo_of(a, (const uint16_t[DIM_COUNT]){ 0 });
	return a;
}

static void
pset_free(struct pset *s)
{
	int d;
	uint16_t c;

	free(s->ent);
	free(s->slots);
	free(s->pend);
	hll_free(s->hll);
	for (d = 0; d < DIM_COUNT; d++) {
		for (c = 0; c < s->ncodes[d]; c++)
			hll_free(s->dhll[d][c]);
		free(s->dhll[d]);
		free(s->dcount[d]);
	}
	free(s);
}

void
active_free(struct active *a)
{
	size_t pos = 0;
	struct pset *s;

	if (a == NULL)
		return;
	while ((s = active_next(a, &pos)) != NULL)
		pset_free(s);
	u64map_free(a->psets);
	u64map_free(a->combo_ids);
	free(a->combo);
	free(a->pc);
	free(a);
}

const struct active_conf *
active_conf(const struct active *a)
{
	return &a->conf;
}

bool
active_is_active(const struct active *a, int64_t duration_ms)
{
	return duration_ms > a->conf.min_ms && duration_ms < a->conf.max_ms;
}

static struct pcache *
pcache_of(const struct active *a, int zone, enum period_kind kind,
    int32_t period)
{
	return &a->pc[((size_t)zone * 2 + kind) * PCACHE +
	    ((uint32_t)period & (PCACHE - 1))];
}

/* nbits as slots_prefetch takes it: with DENSE_BIT for a bitmap. */
static inline uint32_t
index_bits(const struct pset *s)
{
	return s->nbits | (s->dense ? DENSE_BIT : 0);
}

static void
pcache_set(struct pcache *c, struct pset *s)
{
	c->s = s;
	c->slots = s->slots;
	c->nbits = index_bits(s);
	c->period = s->period;
}

static struct pset *
pset_get(struct active *a, int zone, enum period_kind kind, int32_t period)
{
	struct pcache *c = pcache_of(a, zone, kind, period);
	struct pset *s;
	uint64_t key;

	if (c->s != NULL && c->period == period)
		return c->s;
	key = pset_key(zone, kind, period);
	s = u64map_get(a->psets, key);
	if (s == NULL) {
		s = aligned_alloc(64, (sizeof *s + 63) / 64 * 64);
		if (s == NULL)
			fatalx("out of memory (a period set)");
		memset(s, 0, sizeof *s);
		s->zone = (uint8_t)zone;
		s->kind = (uint8_t)kind;
		s->period = period;
		s->nbits = 4;
		s->slots = xcalloc((size_t)1 << s->nbits, sizeof *s->slots);
		pset_stagger(a, s);
		s->hll = hll_new(a->conf.hll_precision);
		if (s->hll == NULL)
			fatalx("bad HyperLogLog precision %d",
			    a->conf.hll_precision);
		s->dims_mask = (uint8_t)a->conf.dims_mask;
		s->a = a;
		s->precision = (uint8_t)a->conf.hll_precision;
		u64map_put(a->psets, key, s);
	}
	pcache_set(c, s);
	return s;
}

static inline uint32_t
slot_hash(uint32_t uid, uint32_t nbits)
{
	return (uint32_t)(uid * 2654435761u) >> (32 - nbits);
}

/* The line a probe for uid starts in, and the next one (past the end of
 * the table, a prefetch is harmless); or the bitmap's word of uid. nbits
 * as in struct pcache. Always inlined: GCC drops calls to a function that
 * only prefetches. */
static inline __attribute__((always_inline)) void
slots_prefetch(const uint32_t *slots, uint32_t uid, uint32_t nbits)
{
	const char *p;

	if (nbits & DENSE_BIT) {
		__builtin_prefetch((const char *)slots + (uid >> 3));
		return;
	}
	p = (const char *)&slots[slot_hash(uid, nbits)];
	__builtin_prefetch(p);
	__builtin_prefetch(p + 64);
}

static inline bool
dense_has(const struct pset *s, uint32_t uid)
{
	return uid >> s->nbits == 0 && (s->slots[uid >> 5] >> (uid & 31) & 1);
}

/* Sets uid's bit; uid must be below 2^nbits. */
static inline void
dense_set(struct pset *s, uint32_t uid)
{
	s->slots[uid >> 5] |= (uint32_t)1 << (uid & 31);
}

/* More than n entries would pass the load a table of 2^bits slots keeps
 * (grow16/16, pset_stagger). */
static inline bool
over_load(const struct pset *s, size_t n, uint32_t bits)
{
	return n * 16 > ((size_t)s->grow16 << bits);
}

/* Slot holding uid, or the empty slot where it would go. */
static uint32_t
pset_probe(const struct pset *s, uint32_t uid)
{
	uint32_t mask = ((uint32_t)1 << s->nbits) - 1;
	uint32_t i = slot_hash(uid, s->nbits);

	while (s->slots[i] != 0 && s->slots[i] != uid + 1)
		i = (i + 1) & mask;
	return i;
}

static uint32_t
log2_ceil(size_t n)
{
	uint32_t b = 0;

	while (((size_t)1 << b) < n)
		b++;
	return b;
}

/*
 * A new index for the entries, for `want` of them and ids below `uid_end`
 * (at least): a slot table at the set's load factor, or a bitmap of
 * 2^nbits ids (at least a word), whichever takes fewer bytes. It is never
 * smaller than the old one in its own kind, so rebuilding stays amortized.
 */
static void
pset_reindex(struct active *a, struct pset *s, size_t want, uint32_t uid_end)
{
	struct pcache *c = pcache_of(a, s->zone, (enum period_kind)s->kind,
	    s->period);
	uint32_t hbits = 4, dbits, i;

	for (i = 0; i < s->n; i++)
		if (s->ent[i].uid >= uid_end)
			uid_end = s->ent[i].uid + 1;
	while (over_load(s, want, hbits))
		hbits++;
	if (!s->dense && hbits < s->nbits)
		hbits = s->nbits;
	dbits = log2_ceil(uid_end);
	if (dbits < 5)
		dbits = 5;
	if (s->dense && dbits < s->nbits)
		dbits = s->nbits;
	free(s->slots);
	/* A bit per id against 4 bytes per slot; ids past 2^31 are left to
	 * the table (dense_has shifts by nbits). */
	s->dense = dbits <= hbits + 5 && dbits < 32;
	s->nbits = s->dense ? dbits : hbits;
	if (s->dense) {
		s->slots = xcalloc((size_t)1 << (s->nbits - 5),
		    sizeof *s->slots);
		for (i = 0; i < s->n; i++)
			dense_set(s, s->ent[i].uid);
	} else {
		s->slots = xcalloc((size_t)1 << s->nbits, sizeof *s->slots);
		for (i = 0; i < s->n; i++)
			s->slots[pset_probe(s, s->ent[i].uid)] =
			    s->ent[i].uid + 1;
	}
	if (c->s == s)
		pcache_set(c, s);
}

/* Index bytes: slots, or bits. */
static size_t
index_bytes(const struct pset *s)
{
	return s->dense ? ((size_t)1 << s->nbits) / 8 :
	    ((size_t)1 << s->nbits) * sizeof *s->slots;
}

static void
pset_count_dim(struct pset *s, enum dim d, uint16_t code)
{
	if (code >= s->ncodes[d]) {
		/* Codes are few (values of one dimension): grow exactly. */
		size_t old = s->ncodes[d], n = (size_t)code + 1;

		s->dcount[d] = xrealloc(s->dcount[d], n * sizeof *s->dcount[d]);
		s->dhll[d] = xrealloc(s->dhll[d], n * sizeof *s->dhll[d]);
		memset(s->dcount[d] + old, 0, (n - old) * sizeof *s->dcount[d]);
		memset(s->dhll[d] + old, 0, (n - old) * sizeof *s->dhll[d]);
		s->ncodes[d] = (uint16_t)n;
	}
	s->dcount[d][code]++;
}

/*
 * The counts per dimension value are brought up to date when read, like
 * the sketches: counting each entry as it is added would touch three more
 * small arrays of a set that is, with many partitions, zones and days,
 * rarely in the cache; counting a run of entries reads them in a row.
 * The sketch fold indexes the value arrays by code, so it tallies first.
 */
static void
pset_tally(const struct pset *cs)
{
	struct pset *s = (struct pset *)cs;	/* a cache update */
	size_t i;
	int d;

	for (d = 0; d < DIM_COUNT; d++) {
		if (!(s->dims_mask & (1u << d)))
			continue;
		for (i = s->counted; i < s->n; i++)
			pset_count_dim(s, (enum dim)d,
			    s->a->combo[s->ent[i].combo][d]);
	}
	s->counted = s->n;
}

/*
 * The waiting hashes into dimension d's sketches, grouped into one run per
 * code (a counting sort), so that each sketch takes its run in one call.
 */
static void
fold_dim(struct pset *s, int d, const struct pentry *e)
{
	uint32_t nc = s->ncodes[d], c, i, *at = xcalloc(nc + 1, sizeof *at);
	uint64_t *run = xmalloc(s->npend * sizeof *run);
	uint16_t (*combo)[DIM_COUNT] = s->a->combo;

	for (i = 0; i < s->npend; i++)
		at[combo[e[i].combo][d] + 1]++;
	for (c = 0; c < nc; c++)
		at[c + 1] += at[c];
	for (i = 0; i < s->npend; i++)	/* at[c]: end of code c's run */
		run[at[combo[e[i].combo][d]]++] = s->pend[i];
	for (c = 0, i = 0; c < nc; i = at[c++]) {
		if (at[c] == i)
			continue;
		if (s->dhll[d][c] == NULL)
			s->dhll[d][c] = hll_new(s->precision);
		hll_add_hashes(s->dhll[d][c], run + i, at[c] - i);
	}
	free(run);
	free(at);
}

/* Adds the waiting hashes to the sketches (see the top of this file). */
static void
pset_fold(const struct pset *cs)
{
	struct pset *s = (struct pset *)cs;	/* a cache update */
	int d;

	hll_add_hashes(s->hll, s->pend, s->npend);
	for (d = 0; d < DIM_COUNT; d++)
		if (s->dims_mask & (1u << d))
			fold_dim(s, d, s->ent + (s->n - s->npend));
	s->npend = 0;
}

/* The waiting hashes into the sketches: before they are read whole, and
 * when PEND_MAX of them wait. */
static void
pset_bring_up_to_date(const struct pset *s)
{
	if (s->npend > 0) {
		pset_tally(s);
		pset_fold(s);
	}
}

static bool
pset_add(struct active *a, struct pset *s, uint32_t uid, uint64_t uhash,
    const uint16_t *codes)
{
	uint32_t i;
	struct pentry *e;

	if (uid == UINT32_MAX)	/* the slot value uid + 1 would be 0 */
		fatalx("active: user id %u out of range", uid);
	if (s->dense) {
		if (dense_has(s, uid))
			return false;
		i = 0;
	} else {
		i = pset_probe(s, uid);
		if (s->slots[i] != 0)
			return false;
	}
	if (s->n == s->cap) {
		/* By half: entries are most of a set's memory. */
		s->cap = s->cap < 16 ? 16 : s->cap + s->cap / 2;
		s->ent = xrealloc(s->ent, s->cap * sizeof *s->ent);
	}
	e = &s->ent[s->n++];
	e->uid = uid;
	e->combo = combo_of(a, codes);
	if (!s->dense)
		s->slots[i] = uid + 1;
	else if (uid >> s->nbits == 0)
		dense_set(s, uid);
	else	/* past the bitmap: it grows, or becomes a table */
		pset_reindex(a, s, s->n, uid + 1);
	if (s->npend >= s->pend_max)
		pset_bring_up_to_date(s);
	if (s->npend == s->cappend) {
		size_t cap = s->cappend;

		s->pend = xgrow(s->pend, &cap, (size_t)s->npend + 1,
		    sizeof *s->pend);
		s->cappend = (uint32_t)cap;
	}
	s->pend[s->npend++] = uhash;
	s->changed = true;
	/* Load factor at most grow16/16 (3/4 or less, pset_stagger): a slot
	 * is 4 bytes, so even a long probe stays within a line or two (both
	 * are prefetched). */
	if (!s->dense && over_load(s, s->n, s->nbits))
		pset_reindex(a, s, s->n, 0);
	return true;
}

/*
 * The sets an event goes to are gathered first and their slots prefetched,
 * so that the probes of a day and a month set (and of every zone) wait on
 * memory together rather than one after the other.
 */
#define ADD_BATCH	16

struct add_ctx {
	struct pset    *sets[ADD_BATCH];
	size_t          n;
	uint32_t        uid;
	uint64_t        uhash;
	const uint16_t *codes;
};

static void
add_flush(struct active *a, struct add_ctx *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		const struct pset *s = c->sets[i];

		slots_prefetch(s->slots, c->uid, index_bits(s));
		/* Where a new entry and its hash will go. */
		__builtin_prefetch(&s->ent[s->n]);
		__builtin_prefetch(&s->pend[s->npend]);
	}
	for (i = 0; i < c->n; i++)
		pset_add(a, c->sets[i], c->uid, c->uhash, c->codes);
	c->n = 0;
}

static void
add_push(struct active *a, struct add_ctx *c, struct pset *s)
{
	if (c->n == ADD_BATCH)
		add_flush(a, c);
	c->sets[c->n++] = s;
}

bool
active_add(struct active *a, uint32_t uid, uint64_t uhash,
    const struct meta_entry *me, int64_t ts, int64_t dur)
{
	struct add_ctx c;
	size_t z;

	if (!active_is_active(a, dur))
		return false;
	c.n = 0;
	c.uid = uid;
	c.uhash = uhash;
	c.codes = me->codes;
	local_days(a, ts);
	for (z = 0; z < a->conf.n_zones; z++) {
		int32_t d0 = a->memo_day[z], d1 = d0, d, m, m1;

		m1 = a->memo_month[z];
		if (a->conf.span) {
			d1 = tzcal_day(a->zones[z], ts + dur);
			m1 = tzcal_month_of_day(d1);
		}
		for (d = d0; d <= d1; d++)
			add_push(a, &c, pset_get(a, (int)z, PERIOD_DAY, d));
		for (m = a->memo_month[z]; m <= m1; m++)
			add_push(a, &c, pset_get(a, (int)z, PERIOD_MONTH, m));
	}
	add_flush(a, &c);
	return true;
}

static void
prefetch_slot(const struct active *a, int zone, enum period_kind kind,
    int32_t period, uint32_t uid)
{
	struct pcache *c = pcache_of(a, zone, kind, period);

	if (c->s == NULL || c->period != period) {
		struct pset *s = active_find(a, zone, kind, period);

		if (s == NULL)
			return;
		pcache_set(c, s);	/* a cache update */
	}
	slots_prefetch(c->slots, uid, c->nbits);
	__builtin_prefetch(c->s);
}

void
active_prefetch(const struct active *a, uint32_t uid, int64_t ts)
{
	size_t z;

	local_days(a, ts);
	for (z = 0; z < a->conf.n_zones; z++) {
		prefetch_slot(a, (int)z, PERIOD_DAY, a->memo_day[z], uid);
		prefetch_slot(a, (int)z, PERIOD_MONTH, a->memo_month[z], uid);
	}
}

static bool
load_target(const struct active *a, int zone, enum period_kind kind)
{
	return zone >= 0 && (size_t)zone < a->conf.n_zones &&
	    (kind == PERIOD_DAY || kind == PERIOD_MONTH);
}

void
active_load_reserve(struct active *a, int zone, enum period_kind kind,
    int32_t period, size_t n, uint32_t uid_end)
{
	struct pset *s;
	size_t want;

	if (!load_target(a, zone, kind) || n == 0)
		return;
	s = pset_get(a, zone, kind, period);
	want = s->n + n;
	if (want > s->cap) {
		s->cap = want;
		s->ent = xrealloc(s->ent, s->cap * sizeof *s->ent);
	}
	/* The index the entries need, made in one growth. */
	if (s->dense ? uid_end > (uint64_t)1 << s->nbits :
	    over_load(s, want, s->nbits))
		pset_reindex(a, s, want, uid_end);
}

void
active_load_prefetch(const struct active *a, int zone, enum period_kind kind,
    int32_t period, uint32_t uid)
{
	if (load_target(a, zone, kind))
		prefetch_slot(a, zone, kind, period, uid);
}

bool
active_load_entry(struct active *a, int zone, enum period_kind kind,
    int32_t period, uint32_t uid, uint64_t uhash, const uint16_t *codes)
{
	if (!load_target(a, zone, kind))
		return false;
	return pset_add(a, pset_get(a, zone, kind, period), uid, uhash, codes);
}

struct pset *
active_find(const struct active *a, int zone, enum period_kind kind,
    int32_t period)
{
	return u64map_get(a->psets, pset_key(zone, kind, period));
}

struct pset *
active_next(const struct active *a, size_t *pos)
{
	uint64_t key;
	void *val;

	if (!u64map_next(a->psets, pos, &key, &val))
		return NULL;
	return val;
}

size_t
active_pset_count(const struct active *a)
{
	return u64map_count(a->psets);
}

size_t
active_memory(const struct active *a)
{
	size_t n = sizeof *a + u64map_memory(a->psets) +
	    u64map_memory(a->combo_ids) + a->capcombo * sizeof *a->combo,
	    pos = 0;
	struct pset *s;
	int d;
	uint16_t c;

	while ((s = active_next(a, &pos)) != NULL) {
		n += sizeof *s + s->cap * sizeof *s->ent + index_bytes(s) +
		    s->cappend * sizeof *s->pend + hll_memory(s->hll);
		for (d = 0; d < DIM_COUNT; d++) {
			n += s->ncodes[d] *
			    (sizeof *s->dcount[d] + sizeof *s->dhll[d]);
			for (c = 0; c < s->ncodes[d]; c++)
				if (s->dhll[d][c] != NULL)
					n += hll_memory(s->dhll[d][c]);
		}
	}
	return n;
}

int
pset_zone(const struct pset *s)
{
	return s->zone;
}

enum period_kind
pset_kind(const struct pset *s)
{
	return (enum period_kind)s->kind;
}

int32_t
pset_period(const struct pset *s)
{
	return s->period;
}

size_t
pset_count(const struct pset *s)
{
	return s->n;
}

bool
pset_contains(const struct pset *s, uint32_t uid)
{
	return s->dense ? dense_has(s, uid) :
	    s->slots[pset_probe(s, uid)] != 0;
}

size_t
pset_index_bytes(const struct pset *s)
{
	return index_bytes(s);
}

const uint16_t *
pset_entry_codes(const struct pset *s, const struct pentry *e)
{
	return s->a->combo[e->combo];
}

const struct pentry *
pset_entries(const struct pset *s, size_t *n)
{
	*n = s->n;
	return s->ent;
}

uint64_t
pset_dim_count(const struct pset *s, enum dim d, uint16_t code)
{
	if (s->counted < s->n)
		pset_tally(s);
	return code < s->ncodes[d] ? s->dcount[d][code] : 0;
}

uint16_t
pset_codes(const struct pset *s, enum dim d)
{
	if (s->counted < s->n)
		pset_tally(s);
	return s->ncodes[d];
}

const struct hll *
pset_hll_folded(const struct pset *s)
{
	return s->hll;
}

const struct hll *
pset_dim_hll_folded(const struct pset *s, enum dim d, uint16_t code)
{
	return code < s->ncodes[d] ? s->dhll[d][code] : NULL;
}

const struct hll *
pset_hll(const struct pset *s)
{
	pset_bring_up_to_date(s);
	return pset_hll_folded(s);
}

const struct hll *
pset_dim_hll(const struct pset *s, enum dim d, uint16_t code)
{
	pset_bring_up_to_date(s);
	return pset_dim_hll_folded(s, d, code);
}

size_t
pset_pending(const struct pset *s, const uint64_t **hash,
    const struct pentry **ent)
{
	*hash = s->pend;
	*ent = s->ent + (s->n - s->npend);
	return s->npend;
}

size_t
pset_committed(const struct pset *s)
{
	return s->committed;
}

void
pset_set_committed(struct pset *s, size_t n)
{
	s->committed = n <= s->n ? n : s->n;
}

bool
pset_changed(const struct pset *s)
{
	return s->changed;
}

void
pset_clear_changed(struct pset *s)
{
	s->changed = false;
}

int64_t
active_period_start(const struct active *a, int zone, enum period_kind kind,
    int32_t period)
{
	struct tzcal *tz = a->zones[zone];

	if (kind == PERIOD_DAY)
		return tzcal_day_start(tz, period);
	return tzcal_day_start(tz, tzcal_month_first_day(period));
}

int64_t
active_period_end(const struct active *a, int zone, enum period_kind kind,
    int32_t period)
{
	return active_period_start(a, zone, kind, period + 1);
}
