/*
 * strdict: string interning with dense 32-bit ids (see strdict.h).
 *
 * Layout: an open-addressing table of slots (id + 32 bits of the hash, so
 * most probes are decided without touching the string), entries indexed by
 * id (full hash, length, the owner's tag, and the string itself if short,
 * else a pointer to its bytes), and an arena of 64 KiB chunks holding
 * longer strings. The full hash is kept because the HyperLogLog sketches
 * need it for every new (user, period) pair and growing the table must
 * not rehash strings.
 *
 * A lookup that finds its string reads the slot and the entry, one cache
 * line each: strings of up to ENTRY_INLINE bytes (user ids such as
 * "u000123") sit in the entry itself. Entries live in segments that never
 * move (segment k holds SEG0 << k entries), so a view of an inline string
 * stays valid as the dictionary grows.
 */
#include "strdict.h"

#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL		/* short keys: no call, no dispatch */
#include <xxhash.h>

#include "xmalloc.h"

#define ARENA_CHUNK	(64 * 1024)
#define ENTRY_INLINE	16
#define SEG0_BITS	4		/* the first segment holds 16 entries */
#define SEG_MAX		(33 - SEG0_BITS)	/* ids up to 2^32 - 2 */

struct slot {
	uint32_t id;		/* STRDICT_NONE when empty */
	uint32_t hash32;
};

/* 32 bytes: two entries per cache line, never straddling one. */
struct entry {
	uint64_t    hash;
	uint32_t    len;
	uint32_t    tag;		/* the owner's, 0 until set */
	union {
		char        inl[ENTRY_INLINE];	/* len <= ENTRY_INLINE */
		const char *p;			/* else, arena bytes */
	} b;
};

static inline const char *
entry_bytes(const struct entry *e)
{
	return e->len <= ENTRY_INLINE ? e->b.inl : e->b.p;
}

struct strdict {
	struct slot  *slots;
	size_t        mask;		/* nslots - 1, power of two */
	struct entry *seg[SEG_MAX];
	size_t        n;
	char        **chunks;
	size_t        nchunks, chunks_cap;
	char         *open;		/* chunk small strings go to */
	size_t        open_used;
	size_t        arena_bytes;
	uint8_t       grow16;	/* slots grow past this load, in 16ths */
};

/*
 * Dictionaries grow their slot table at different loads (3/4, 11/16 and
 * 5/8, in turn): 64 partitions evenly filled otherwise rehashed their
 * users in the same milliseconds, a stop of the loop (docs/engine.md).
 * Dictionaries are made on the loop's thread only.
 */
static unsigned next_grow;

/*
 * Segment k starts at id SEG0 * (2^k - 1): with v = id / SEG0 + 1, k is
 * the index of v's top bit and the offset id - SEG0 * (2^k - 1).
 */
static inline struct entry *
entry_of(const struct strdict *d, uint32_t id)
{
	uint32_t v = (id >> SEG0_BITS) + 1;
	int k = 31 - __builtin_clz(v);

	return &d->seg[k][id - (((1u << k) - 1) << SEG0_BITS)];
}

/* Cache-line aligned, so that no entry straddles two lines. */
static struct entry *
seg_alloc(int k)
{
	size_t size = ((size_t)1 << (k + SEG0_BITS)) * sizeof(struct entry);
	struct entry *e = aligned_alloc(64, size);

	if (e == NULL)
		fatalx("out of memory (%zu bytes)", size);
	return e;
}

struct strdict *
strdict_new(void)
{
	struct strdict *d = xcalloc(1, sizeof *d);
	size_t i;

	d->mask = 63;
	d->grow16 = (uint8_t)(12 - next_grow++ % 3);
	d->slots = xmalloc((d->mask + 1) * sizeof *d->slots);
	for (i = 0; i <= d->mask; i++)
		d->slots[i].id = STRDICT_NONE;
	return d;
}

void
strdict_free(struct strdict *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->nchunks; i++)
		free(d->chunks[i]);
	for (i = 0; i < SEG_MAX; i++)
		free(d->seg[i]);
	free(d->chunks);
	free(d->slots);
	free(d);
}

static char *
arena_alloc(struct strdict *d, size_t n)
{
	d->chunks = xgrow(d->chunks, &d->chunks_cap, d->nchunks + 1,
	    sizeof *d->chunks);
	d->chunks[d->nchunks] = xmalloc(n);
	d->arena_bytes += n;
	return d->chunks[d->nchunks++];
}

static const char *
arena_copy(struct strdict *d, struct strv s)
{
	char *p;

	if (s.len > ARENA_CHUNK / 4)	/* big strings get their own block */
		p = arena_alloc(d, s.len);
	else {
		if (d->open == NULL || d->open_used + s.len > ARENA_CHUNK) {
			d->open = arena_alloc(d, ARENA_CHUNK);
			d->open_used = 0;
		}
		p = d->open + d->open_used;
		d->open_used += s.len;
	}
	if (s.len)
		memcpy(p, s.p, s.len);
	return p;
}

static void
grow_table(struct strdict *d)
{
	size_t nslots = (d->mask + 1) * 2, i;
	struct slot *ns = xmalloc(nslots * sizeof *ns);

	for (i = 0; i < nslots; i++)
		ns[i].id = STRDICT_NONE;
	/* The old slots hold every id and the hash bits that place it. */
	for (i = 0; i <= d->mask; i++) {
		uint32_t id = d->slots[i].id;
		uint64_t h;
		size_t j;

		if (id == STRDICT_NONE)
			continue;
		h = entry_of(d, id)->hash;
		j = (size_t)h & (nslots - 1);
		while (ns[j].id != STRDICT_NONE)
			j = (j + 1) & (nslots - 1);
		ns[j] = d->slots[i];
	}
	free(d->slots);
	d->slots = ns;
	d->mask = nslots - 1;
}

static size_t
probe(const struct strdict *d, struct strv s, uint64_t h)
{
	size_t j = (size_t)h & d->mask;
	uint32_t h32 = (uint32_t)(h >> 32);

	for (;;) {
		const struct slot *sl = &d->slots[j];

		if (sl->id == STRDICT_NONE)
			return j;
		if (sl->hash32 == h32) {
			const struct entry *e = entry_of(d, sl->id);

			if (e->len == s.len && (s.len == 0 ||
			    memcmp(entry_bytes(e), s.p, s.len) == 0))
				return j;
		}
		j = (j + 1) & d->mask;
	}
}

uint32_t
strdict_find(const struct strdict *d, struct strv s)
{
	return strdict_find_hashed(d, s, XXH3_64bits(s.p, s.len));
}

uint32_t
strdict_find_hashed(const struct strdict *d, struct strv s, uint64_t h)
{
	return d->slots[probe(d, s, h)].id;
}

uint64_t
strdict_hash_of(struct strv s)
{
	return XXH3_64bits(s.p, s.len);
}

void
strdict_prefetch(const struct strdict *d, uint64_t h)
{
	__builtin_prefetch(&d->slots[(size_t)h & d->mask]);
}

uint32_t
strdict_prefetch_entry(const struct strdict *d, uint64_t h)
{
	const struct slot *sl = &d->slots[(size_t)h & d->mask];

	if (sl->id == STRDICT_NONE || sl->hash32 != (uint32_t)(h >> 32))
		return STRDICT_NONE;
	__builtin_prefetch(entry_of(d, sl->id));
	return sl->id;
}

void
strdict_prefetch_id(const struct strdict *d, uint32_t id)
{
	if (id < d->n)
		__builtin_prefetch(entry_of(d, id));
}

uint32_t
strdict_intern(struct strdict *d, struct strv s, bool *created)
{
	return strdict_intern_hashed(d, s, XXH3_64bits(s.p, s.len), created);
}

uint32_t
strdict_intern_hashed(struct strdict *d, struct strv s, uint64_t h,
    bool *created)
{
	size_t j = probe(d, s, h);
	uint32_t id = (uint32_t)d->n;
	int k;
	struct entry *e;

	if (created)
		*created = d->slots[j].id == STRDICT_NONE;
	if (d->slots[j].id != STRDICT_NONE)
		return d->slots[j].id;
	if (d->n >= STRDICT_NONE - 1)
		fatalx("string dictionary full");
	k = 31 - __builtin_clz((id >> SEG0_BITS) + 1);
	if (d->seg[k] == NULL)
		d->seg[k] = seg_alloc(k);
	e = entry_of(d, id);
	e->hash = h;
	e->len = (uint32_t)s.len;
	e->tag = 0;
	if (s.len <= ENTRY_INLINE) {
		if (s.len)
			memcpy(e->b.inl, s.p, s.len);
	} else
		e->b.p = arena_copy(d, s);
	d->slots[j].id = id;
	d->slots[j].hash32 = (uint32_t)(h >> 32);
	d->n++;
	/* Keep the load factor under 3/4 (or grow16). */
	if (d->n * 16 > (d->mask + 1) * d->grow16)
		grow_table(d);
	return id;
}

struct strv
strdict_get(const struct strdict *d, uint32_t id)
{
	const struct entry *e;

	if (id >= d->n)
		return (struct strv){ NULL, 0 };
	e = entry_of(d, id);
	return (struct strv){ entry_bytes(e), e->len };
}

uint32_t
strdict_tag(const struct strdict *d, uint32_t id)
{
	return entry_of(d, id)->tag;
}

void
strdict_set_tag(struct strdict *d, uint32_t id, uint32_t tag)
{
	entry_of(d, id)->tag = tag;
}

uint64_t
strdict_hash(const struct strdict *d, uint32_t id)
{
	return id < d->n ? entry_of(d, id)->hash : 0;
}

size_t
strdict_count(const struct strdict *d)
{
	return d->n;
}

size_t
strdict_memory(const struct strdict *d)
{
	size_t n = sizeof *d + (d->mask + 1) * sizeof *d->slots +
	    d->chunks_cap * sizeof(char *) + d->arena_bytes;
	int k;

	for (k = 0; k < SEG_MAX && d->seg[k] != NULL; k++)
		n += ((size_t)1 << (k + SEG0_BITS)) * sizeof *d->seg[k];
	return n;
}
