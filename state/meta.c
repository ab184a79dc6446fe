/*
 * meta: the user metadata table (see meta.h).
 *
 * Users are interned in a strdict; an entry array indexed by that id holds
 * the join date and the dimension codes, with a "present" flag so that a
 * tombstone can delete without touching the dictionary.
 */
#include "meta.h"

#include <stdlib.h>

#include "strdict.h"
#include "xmalloc.h"

#define MAX_CODES	65535	/* codes are uint16 */

struct meta_slot {
	struct meta_entry e;
	bool              present;
};

struct meta {
	struct strdict   *users;
	struct meta_slot *slots;
	size_t            cap;
	size_t            present;
	uint32_t          generation;
	struct strdict   *values[DIM_COUNT];
};

static const struct meta_entry unknown_entry = { 0, { 0, 0, 0 } };

struct meta *
meta_new(void)
{
	struct meta *m = xcalloc(1, sizeof *m);
	int i;

	m->users = strdict_new();
	for (i = 0; i < DIM_COUNT; i++) {
		m->values[i] = strdict_new();
		/* Code 0 is "unknown" in every dimension. */
		strdict_intern(m->values[i], STRV("unknown"), NULL);
	}
	return m;
}

void
meta_free(struct meta *m)
{
	int i;

	if (m == NULL)
		return;
	strdict_free(m->users);
	for (i = 0; i < DIM_COUNT; i++)
		strdict_free(m->values[i]);
	free(m->slots);
	free(m);
}

uint16_t
meta_code(struct meta *m, enum dim d, struct strv value)
{
	uint32_t id;

	if (value.len == 0)
		return META_UNKNOWN;
	id = strdict_find(m->values[d], value);
	if (id != STRDICT_NONE)
		return (uint16_t)id;
	if (strdict_count(m->values[d]) >= MAX_CODES)
		return META_UNKNOWN;	/* absurd cardinality: fold */
	return (uint16_t)strdict_intern(m->values[d], value, NULL);
}

void
meta_apply(struct meta *m, const struct meta_rec *r)
{
	uint32_t id;
	struct meta_slot *s;
	int i;

	m->generation++;
	if (r->tombstone) {
		id = strdict_find(m->users, r->user_id);
		if (id != STRDICT_NONE && m->slots[id].present) {
			m->slots[id].present = false;
			m->present--;
		}
		return;
	}
	id = strdict_intern(m->users, r->user_id, NULL);
	if (id >= m->cap) {
		size_t old = m->cap;

		m->slots = xgrow(m->slots, &m->cap, id + 1, sizeof *m->slots);
		for (; old < m->cap; old++)
			m->slots[old].present = false;
	}
	s = &m->slots[id];
	if (!s->present)
		m->present++;
	s->present = true;
	s->e.join_date = r->join_date;
	for (i = 0; i < DIM_COUNT; i++)
		s->e.codes[i] = meta_code(m, (enum dim)i, r->dims[i]);
}

const struct meta_entry *
meta_get(const struct meta *m, struct strv user_id)
{
	uint32_t id = strdict_find(m->users, user_id);

	if (id == STRDICT_NONE || !m->slots[id].present)
		return NULL;
	return &m->slots[id].e;
}

uint32_t
meta_generation(const struct meta *m)
{
	return m->generation;
}

uint32_t
meta_find(const struct meta *m, struct strv user_id)
{
	uint32_t id = strdict_find(m->users, user_id);

	return id == STRDICT_NONE ? META_NONE : id;
}

uint32_t
meta_find_hashed(const struct meta *m, struct strv user_id, uint64_t h)
{
	uint32_t id = strdict_find_hashed(m->users, user_id, h);

	return id == STRDICT_NONE ? META_NONE : id;
}

void
meta_prefetch(const struct meta *m, uint64_t h)
{
	strdict_prefetch(m->users, h);
}

void
meta_prefetch_entry(const struct meta *m, uint64_t h)
{
	uint32_t id = strdict_prefetch_entry(m->users, h);

	if (id != STRDICT_NONE && id < m->cap)
		__builtin_prefetch(&m->slots[id]);
}

void
meta_prefetch_id(const struct meta *m, uint32_t id)
{
	if (id != META_NONE && id < m->cap)
		__builtin_prefetch(&m->slots[id]);
}

const struct meta_entry *
meta_get_id(const struct meta *m, uint32_t id)
{
	if (id == META_NONE || id >= m->cap || !m->slots[id].present)
		return NULL;
	return &m->slots[id].e;
}

const struct meta_entry *
meta_unknown(void)
{
	return &unknown_entry;
}

struct strv
meta_value(const struct meta *m, enum dim d, uint16_t code)
{
	return strdict_get(m->values[d], code);
}

uint16_t
meta_value_count(const struct meta *m, enum dim d)
{
	return (uint16_t)strdict_count(m->values[d]);
}

size_t
meta_count(const struct meta *m)
{
	return m->present;
}

size_t
meta_memory(const struct meta *m)
{
	size_t n = sizeof *m + strdict_memory(m->users) +
	    m->cap * sizeof *m->slots;
	int i;

	for (i = 0; i < DIM_COUNT; i++)
		n += strdict_memory(m->values[i]);
	return n;
}
