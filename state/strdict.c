/*
 * strdict: string interning with dense 32-bit ids (see strdict.h).
 *
 * Layout: an open-addressing table of 4-byte slots (id + 1 in the low
 * idbits, and above it as many bits of the hash's upper half, which decide
 * most probes without touching the string; the hash's low bits place the
 * slot), entries indexed by id (the owner's tag, the length, and the
 * string itself if short, else a pointer to its bytes), and an arena of
 * 64 KiB chunks holding longer strings. A slot does not hold the bits that
 * placed it, so growing the table hashes every string again, in id order
 * (the entries are read in a row; the slot table's random writes cost
 * more). The ids take 20 bits at first; the 2^20th string makes them 24,
 * and so on up to 31, each time with the same rebuild.
 *
 * An entry is 16 bytes: with ten million users, bytes per user are the
 * figure that counts (docs/engine.md). The full hash is not kept: the
 * event path has it from the lookup, and the rare callers that need it
 * for a stored id (strdict_hash) hash the few bytes again.
 *
 * A lookup that finds its string reads the slot and the entry, one cache
 * line each: strings of up to ENTRY_INLINE bytes (user ids such as
 * "u00000123") sit in the entry itself. Entries live in segments that
 * never move (segment k holds SEG0 << k entries), so a view of an inline
 * string stays valid as the dictionary grows; the large segments are
 * mapped, so their pages not yet written cost no memory.
 */
#include "strdict.h"

#include <sys/mman.h>

#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL		/* short keys: no call, no dispatch */
#include <xxhash.h>

#include "xmalloc.h"

#define ARENA_CHUNK	(64 * 1024)
#define ENTRY_INLINE	11
#define ENTRY_LONG	0xff		/* len of an arena string */
#define SEG0_BITS	4		/* the first segment holds 16 entries */
#define SEG_MAX		(33 - SEG0_BITS)	/* ids up to 2^32 - 2 */
#define SEG_MAP		(64 * 1024)	/* segments this big are mapped */
#define PAGE		4096

#define IDBITS0		20		/* id bits of a new dictionary */
#define IDBITS_MAX	31

/*
 * 16 bytes: four entries per cache line, never straddling one. A string
 * longer than ENTRY_INLINE is in the arena after its 32-bit length, and
 * b[3..10] hold its address (at offset 8, aligned).
 */
struct entry {
	uint32_t tag;		/* the owner's, 0 until set */
	uint8_t  len;		/* <= ENTRY_INLINE, or ENTRY_LONG */
	char     b[ENTRY_INLINE];
};

_Static_assert(sizeof(struct entry) == 16, "four entries per line");

static inline const char *
long_bytes(const struct entry *e)
{
	const char *p;

	memcpy(&p, e->b + 3, sizeof p);
	return p;
}

static inline struct strv
entry_str(const struct entry *e)
{
	uint32_t len;
	const char *p;

	if (e->len != ENTRY_LONG)
		return (struct strv){ e->b, e->len };
	p = long_bytes(e);
	memcpy(&len, p - sizeof len, sizeof len);
	return (struct strv){ p, len };
}

struct strdict {
	uint32_t     *slots;		/* 0: empty; see the top */
	size_t        mask;		/* nslots - 1, power of two */
	unsigned      idbits;
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

static size_t
seg_size(int k)
{
	return ((size_t)1 << (k + SEG0_BITS)) * sizeof(struct entry);
}

/* Cache-line aligned, so that no entry straddles two lines; mapped when
 * large (a page is written when its first entry is). */
static struct entry *
seg_alloc(int k)
{
	size_t size = seg_size(k);
	void *p;

	if (size >= SEG_MAP) {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			p = NULL;
	} else
		p = aligned_alloc(64, size);
	if (p == NULL)
		fatalx("out of memory (%zu bytes)", size);
	return p;
}

static void
seg_free(struct entry *e, int k)
{
	if (e == NULL)
		return;
	if (seg_size(k) < SEG_MAP)
		free(e);
	else if (munmap(e, seg_size(k)) != 0)
		fatalx("munmap of a dictionary segment failed");
}

struct strdict *
strdict_new(void)
{
	struct strdict *d = xcalloc(1, sizeof *d);

	d->mask = 63;
	d->idbits = IDBITS0;
	d->grow16 = (uint8_t)(12 - next_grow++ % 3);
	d->slots = xcalloc(d->mask + 1, sizeof *d->slots);
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
		seg_free(d->seg[i], (int)i);
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

/* A long string's bytes after their 32-bit length; returns the bytes. */
static const char *
arena_copy(struct strdict *d, struct strv s)
{
	uint32_t len = (uint32_t)s.len;
	size_t need = sizeof len + s.len;
	char *p;

	if (need > ARENA_CHUNK / 4)	/* big strings get their own block */
		p = arena_alloc(d, need);
	else {
		if (d->open == NULL || d->open_used + need > ARENA_CHUNK) {
			d->open = arena_alloc(d, ARENA_CHUNK);
			d->open_used = 0;
		}
		p = d->open + d->open_used;
		d->open_used += need;
	}
	memcpy(p, &len, sizeof len);
	memcpy(p + sizeof len, s.p, s.len);
	return p + sizeof len;
}

/* Slot value of id with hash h. */
static inline uint32_t
slot_of(const struct strdict *d, uint32_t id, uint64_t h)
{
	return (uint32_t)(h >> 32) << d->idbits | (id + 1);
}

static inline uint32_t
slot_id(const struct strdict *d, uint32_t sl)
{
	return (sl & ((UINT32_C(1) << d->idbits) - 1)) - 1;
}

/* The hash bits a slot of h keeps, in place. */
static inline bool
slot_matches(const struct strdict *d, uint32_t sl, uint64_t h)
{
	return (sl ^ (uint32_t)(h >> 32) << d->idbits) >> d->idbits == 0;
}

/* A table of nslots slots and ids of idbits, every string hashed again. */
static void
rebuild(struct strdict *d, size_t nslots, unsigned idbits)
{
	uint32_t *ns = xcalloc(nslots, sizeof *ns), id;

	d->idbits = idbits;
	for (id = 0; id < d->n; id++) {
		struct strv v = entry_str(entry_of(d, id));
		uint64_t h = XXH3_64bits(v.p, v.len);
		size_t j = (size_t)h & (nslots - 1);

		while (ns[j] != 0)
			j = (j + 1) & (nslots - 1);
		ns[j] = slot_of(d, id, h);
	}
	free(d->slots);
	d->slots = ns;
	d->mask = nslots - 1;
}

static size_t
probe(const struct strdict *d, struct strv s, uint64_t h)
{
	size_t j = (size_t)h & d->mask;

	for (;;) {
		uint32_t sl = d->slots[j];

		if (sl == 0)
			return j;
		if (slot_matches(d, sl, h)) {
			struct strv e = entry_str(entry_of(d, slot_id(d, sl)));

			if (e.len == s.len && (s.len == 0 ||
			    memcmp(e.p, s.p, s.len) == 0))
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
	uint32_t sl = d->slots[probe(d, s, h)];

	return sl == 0 ? STRDICT_NONE : slot_id(d, sl);
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
	uint32_t sl = d->slots[(size_t)h & d->mask], id;

	if (sl == 0 || !slot_matches(d, sl, h))
		return STRDICT_NONE;
	id = slot_id(d, sl);
	__builtin_prefetch(entry_of(d, id));
	return id;
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
		*created = d->slots[j] == 0;
	if (d->slots[j] != 0)
		return slot_id(d, d->slots[j]);
	if (id + 1 >= (UINT32_C(1) << d->idbits) - 1) {
		/* id + 1 must fit beside the hash bits */
		if (d->idbits == IDBITS_MAX)
			fatalx("string dictionary full");
		rebuild(d, d->mask + 1, d->idbits + 4 > IDBITS_MAX ?
		    IDBITS_MAX : d->idbits + 4);
		j = probe(d, s, h);
	}
	k = 31 - __builtin_clz((id >> SEG0_BITS) + 1);
	if (d->seg[k] == NULL)
		d->seg[k] = seg_alloc(k);
	e = entry_of(d, id);
	e->tag = 0;
	if (s.len <= ENTRY_INLINE) {
		e->len = (uint8_t)s.len;
		if (s.len)
			memcpy(e->b, s.p, s.len);
	} else {
		const char *p = arena_copy(d, s);

		e->len = ENTRY_LONG;
		memcpy(e->b + 3, &p, sizeof p);
	}
	d->slots[j] = slot_of(d, id, h);
	d->n++;
	/* Keep the load factor under 3/4 (or grow16). */
	if (d->n * 16 > (d->mask + 1) * d->grow16)
		rebuild(d, (d->mask + 1) * 2, d->idbits);
	return id;
}

struct strv
strdict_get(const struct strdict *d, uint32_t id)
{
	if (id >= d->n)
		return (struct strv){ NULL, 0 };
	return entry_str(entry_of(d, id));
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
	struct strv s;

	if (id >= d->n)
		return 0;
	s = entry_str(entry_of(d, id));
	return XXH3_64bits(s.p, s.len);
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

	/* A mapped segment's pages count once written (entries fill it in
	 * id order). */
	for (k = 0; k < SEG_MAX && d->seg[k] != NULL; k++) {
		size_t first = (((size_t)1 << k) - 1) << SEG0_BITS,
		    used = (d->n - first) * sizeof(struct entry);

		if (seg_size(k) < SEG_MAP || used >= seg_size(k))
			n += seg_size(k);
		else
			n += (used + PAGE - 1) / PAGE * PAGE;
	}
	return n;
}
