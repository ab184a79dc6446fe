/*
 * u64map: open addressing with linear probing and backward-shift deletion
 * (no tombstones, so lookups stay short after many deletes).
 */
#include "u64map.h"

#include <stdlib.h>

#include "xmalloc.h"

struct u64slot {
	uint64_t key;
	void    *val;	/* NULL: empty */
};

struct u64map {
	struct u64slot *s;
	size_t          mask;
	size_t          n;
};

static size_t
slot_of(const struct u64map *m, uint64_t key)
{
	/* Fibonacci hashing spreads packed tuples whose low bits repeat. */
	return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & m->mask;
}

struct u64map *
u64map_new(void)
{
	struct u64map *m = xcalloc(1, sizeof *m);

	m->mask = 15;
	m->s = xcalloc(m->mask + 1, sizeof *m->s);
	return m;
}

void
u64map_free(struct u64map *m)
{
	if (m == NULL)
		return;
	free(m->s);
	free(m);
}

static size_t
find(const struct u64map *m, uint64_t key)
{
	size_t i = slot_of(m, key);

	while (m->s[i].val != NULL && m->s[i].key != key)
		i = (i + 1) & m->mask;
	return i;
}

void *
u64map_get(const struct u64map *m, uint64_t key)
{
	return m->s[find(m, key)].val;
}

static void
grow(struct u64map *m)
{
	struct u64slot *old = m->s;
	size_t oldn = m->mask + 1, i;

	m->mask = oldn * 2 - 1;
	m->s = xcalloc(m->mask + 1, sizeof *m->s);
	for (i = 0; i < oldn; i++) {
		if (old[i].val != NULL)
			m->s[find(m, old[i].key)] = old[i];
	}
	free(old);
}

void *
u64map_put(struct u64map *m, uint64_t key, void *val)
{
	size_t i = find(m, key);
	void *prev = m->s[i].val;

	if (val == NULL)
		fatalx("u64map_put: NULL value");
	m->s[i].key = key;
	m->s[i].val = val;
	if (prev == NULL && ++m->n * 4 > (m->mask + 1) * 3)
		grow(m);
	return prev;
}

void *
u64map_del(struct u64map *m, uint64_t key)
{
	size_t i = find(m, key), j;
	void *prev = m->s[i].val;

	if (prev == NULL)
		return NULL;
	/* Shift back later entries of the cluster that probe past i. */
	j = i;
	for (;;) {
		size_t home;

		j = (j + 1) & m->mask;
		if (m->s[j].val == NULL)
			break;
		home = slot_of(m, m->s[j].key);
		if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
			m->s[i] = m->s[j];
			i = j;
		}
	}
	m->s[i].val = NULL;
	m->n--;
	return prev;
}

size_t
u64map_count(const struct u64map *m)
{
	return m->n;
}

int
u64map_next(const struct u64map *m, size_t *pos, uint64_t *key, void **val)
{
	while (*pos <= m->mask) {
		size_t i = (*pos)++;

		if (m->s[i].val != NULL) {
			*key = m->s[i].key;
			*val = m->s[i].val;
			return 1;
		}
	}
	return 0;
}

size_t
u64map_memory(const struct u64map *m)
{
	return sizeof *m + (m->mask + 1) * sizeof *m->s;
}
