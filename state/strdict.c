/*
 * strdict: string interning with dense 32-bit ids (see strdict.h).
 *
 * Layout: an open-addressing table of slots (id + 32 bits of the hash, so
 * most probes are decided without touching the string), an array of entries
 * (string pointer, length, full hash) indexed by id, and an arena of 64 KiB
 * chunks holding the bytes. The full hash is kept because the HyperLogLog
 * sketches need it for every new (user, period) pair and growing the table
 * must not rehash strings.
 */
#include "strdict.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "xmalloc.h"

#define ARENA_CHUNK	(64 * 1024)

struct slot {
	uint32_t id;		/* STRDICT_NONE when empty */
	uint32_t hash32;
};

struct entry {
	const char *p;
	uint32_t    len;
	uint64_t    hash;
};

struct strdict {
	struct slot  *slots;
	size_t        mask;		/* nslots - 1, power of two */
	struct entry *ent;
	size_t        n, cap;
	char        **chunks;
	size_t        nchunks, chunks_cap;
	char         *open;		/* chunk small strings go to */
	size_t        open_used;
	size_t        arena_bytes;
};

struct strdict *
strdict_new(void)
{
	struct strdict *d = xcalloc(1, sizeof *d);
	size_t i;

	d->mask = 63;
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
	free(d->chunks);
	free(d->ent);
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
	for (i = 0; i < d->n; i++) {
		size_t j = (size_t)d->ent[i].hash & (nslots - 1);

		while (ns[j].id != STRDICT_NONE)
			j = (j + 1) & (nslots - 1);
		ns[j].id = (uint32_t)i;
		ns[j].hash32 = (uint32_t)(d->ent[i].hash >> 32);
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
			const struct entry *e = &d->ent[sl->id];

			if (e->len == s.len &&
			    (s.len == 0 || memcmp(e->p, s.p, s.len) == 0))
				return j;
		}
		j = (j + 1) & d->mask;
	}
}

uint32_t
strdict_find(const struct strdict *d, struct strv s)
{
	uint64_t h = XXH3_64bits(s.p, s.len);

	return d->slots[probe(d, s, h)].id;
}

uint32_t
strdict_intern(struct strdict *d, struct strv s, bool *created)
{
	uint64_t h = XXH3_64bits(s.p, s.len);
	size_t j = probe(d, s, h);
	struct entry *e;

	if (created)
		*created = d->slots[j].id == STRDICT_NONE;
	if (d->slots[j].id != STRDICT_NONE)
		return d->slots[j].id;
	if (d->n >= STRDICT_NONE - 1)
		fatalx("string dictionary full");
	d->ent = xgrow(d->ent, &d->cap, d->n + 1, sizeof *d->ent);
	e = &d->ent[d->n];
	e->p = arena_copy(d, s);
	e->len = (uint32_t)s.len;
	e->hash = h;
	d->slots[j].id = (uint32_t)d->n;
	d->slots[j].hash32 = (uint32_t)(h >> 32);
	d->n++;
	/* Keep the load factor under 3/4. */
	if (d->n * 4 > (d->mask + 1) * 3)
		grow_table(d);
	return (uint32_t)(d->n - 1);
}

struct strv
strdict_get(const struct strdict *d, uint32_t id)
{
	if (id >= d->n)
		return (struct strv){ NULL, 0 };
	return (struct strv){ d->ent[id].p, d->ent[id].len };
}

uint64_t
strdict_hash(const struct strdict *d, uint32_t id)
{
	return id < d->n ? d->ent[id].hash : 0;
}

size_t
strdict_count(const struct strdict *d)
{
	return d->n;
}

size_t
strdict_memory(const struct strdict *d)
{
	return sizeof *d + (d->mask + 1) * sizeof *d->slots +
	    d->cap * sizeof *d->ent + d->chunks_cap * sizeof(char *) +
	    d->arena_bytes;
}
