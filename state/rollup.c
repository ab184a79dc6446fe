/* rollup: active-user counts of a period across partitions (see rollup.h). */
#include "rollup.h"

#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "hll.h"
#include "xmalloc.h"

/* Grows the per-code arrays of dimension d to hold code. */
static void
ensure_code(struct rollup *r, int d, uint16_t code)
{
	size_t old = r->ncodes[d], n = (size_t)code + 1;

	if (code < r->ncodes[d])
		return;
	r->dcount[d] = xrealloc(r->dcount[d], n * sizeof *r->dcount[d]);
	r->dhll[d] = xrealloc(r->dhll[d], n * sizeof *r->dhll[d]);
	memset(r->dcount[d] + old, 0, (n - old) * sizeof *r->dcount[d]);
	memset(r->dhll[d] + old, 0, (n - old) * sizeof *r->dhll[d]);
	r->ncodes[d] = (uint16_t)n;
}

static void
merge_into(struct hll **dst, const struct hll *src)
{
	if (src == NULL)
		return;
	if (*dst == NULL)
		*dst = hll_dup(src);
	else if (hll_merge(*dst, src) != 0)
		fatalx("rollup: sketches of different precisions");
}

/*
 * The users already counted, by the 64-bit hash of their id (computed once
 * when the id was interned); names are compared only when hashes are equal,
 * so the union of partitions costs one probe per entry and no copying.
 */
struct seen_slot {
	uint64_t hash;
	uint32_t eng;		/* UINT32_MAX: empty */
	uint32_t uid;
};

struct seen {
	struct seen_slot *slot;
	size_t            mask;
};

static void
seen_init(struct seen *t, size_t entries)
{
	size_t n = 16, i;

	while (n < entries * 2)
		n *= 2;
	t->slot = xmalloc(n * sizeof *t->slot);
	for (i = 0; i < n; i++)
		t->slot[i].eng = UINT32_MAX;
	t->mask = n - 1;
}

/* True if the user was not counted yet (and is now). */
static bool
seen_add(struct seen *t, struct engine *const *engines, uint32_t e,
    uint32_t uid)
{
	uint64_t h = engine_user_hash(engines[e], uid);
	size_t i = (size_t)h & t->mask;

	for (;; i = (i + 1) & t->mask) {
		struct seen_slot *sl = &t->slot[i];

		if (sl->eng == UINT32_MAX) {
			sl->hash = h;
			sl->eng = e;
			sl->uid = uid;
			return true;
		}
		if (sl->hash == h && strv_eq(engine_user_name(engines[sl->eng],
		    sl->uid), engine_user_name(engines[e], uid)))
			return false;
	}
}

struct rollup *
rollup_period(struct engine *const *engines, size_t n, int zone,
    enum period_kind kind, int32_t period)
{
	struct rollup *r = NULL;
	struct seen seen = { NULL, 0 };
	size_t e, i, entries = 0;
	int d;

	for (e = 0; e < n; e++) {
		const struct pset *s = active_find(engine_active(engines[e]),
		    zone, kind, period);

		if (s != NULL)
			entries += pset_count(s);
	}
	if (n > 1)
		seen_init(&seen, entries);
	for (e = 0; e < n; e++) {
		const struct pset *s = active_find(engine_active(engines[e]),
		    zone, kind, period);
		const struct pentry *ent;
		size_t cnt;

		if (s == NULL)
			continue;
		if (r == NULL)
			r = xcalloc(1, sizeof *r);
		merge_into(&r->hll, pset_hll(s));
		ent = pset_entries(s, &cnt);
		for (i = 0; i < cnt; i++) {
			if (n > 1 && !seen_add(&seen, engines, (uint32_t)e,
			    ent[i].uid))
				continue;
			r->total++;
			for (d = 0; d < DIM_COUNT; d++) {
				ensure_code(r, d, ent[i].codes[d]);
				r->dcount[d][ent[i].codes[d]]++;
			}
		}
		for (d = 0; d < DIM_COUNT; d++) {
			uint16_t c;

			for (c = 0; c < pset_codes(s, (enum dim)d); c++) {
				ensure_code(r, d, c);
				merge_into(&r->dhll[d][c],
				    pset_dim_hll(s, (enum dim)d, c));
			}
		}
	}
	free(seen.slot);
	return r;
}

void
rollup_free(struct rollup *r)
{
	int d;
	uint16_t c;

	if (r == NULL)
		return;
	hll_free(r->hll);
	for (d = 0; d < DIM_COUNT; d++) {
		for (c = 0; c < r->ncodes[d]; c++)
			hll_free(r->dhll[d][c]);
		free(r->dhll[d]);
		free(r->dcount[d]);
	}
	free(r);
}

static int
i32_cmp(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

size_t
rollup_periods(struct engine *const *engines, size_t n, int zone,
    enum period_kind kind, int32_t **periods)
{
	int32_t *p = NULL;
	size_t np = 0, cap = 0, e, i, out = 0;

	for (e = 0; e < n; e++) {
		const struct active *a = engine_active(engines[e]);
		size_t pos = 0;
		struct pset *s;

		while ((s = active_next(a, &pos)) != NULL) {
			if (pset_zone(s) != zone || pset_kind(s) != kind)
				continue;
			p = xgrow(p, &cap, np + 1, sizeof *p);
			p[np++] = pset_period(s);
		}
	}
	if (np > 0)
		qsort(p, np, sizeof *p, i32_cmp);
	for (i = 0; i < np; i++) {
		if (out == 0 || p[out - 1] != p[i])
			p[out++] = p[i];
	}
	*periods = p;
	return out;
}
