/* rollup: active-user counts of a period across partitions (see rollup.h). */
#include "rollup.h"

#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "hll.h"
#include "owners.h"
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

static struct hll *
union_of(int p, const struct hll *const *v, size_t n, const uint64_t *hash,
    size_t nh)
{
	struct hll *u = hll_union_hashes(p, v, n, hash, nh);

	if (u == NULL)
		fatalx("rollup: sketches of different precisions");
	return u;
}

/*
 * Each sketch of the period is the union of the partitions' sketches and
 * of the hashes still waiting in their sets, made in one pass over all of
 * them (hll_union_hashes): folding the hashes into every partition's
 * sketch first (pset_hll) would grow hundreds of sparse sketches, one
 * insertion each, only to merge them. A value's hashes are grouped by a
 * counting sort over all the sets' waiting entries.
 */
static void
union_sketches(struct rollup *r, const struct pset *const *s, size_t ns)
{
	const struct hll **v = xmalloc(ns * sizeof *v);
	const uint64_t **ph = xmalloc(ns * sizeof *ph);
	const struct pentry **pe = xmalloc(ns * sizeof *pe);
	size_t *np = xmalloc(ns * sizeof *np), npend = 0, i, j, k;
	uint64_t *run;
	uint32_t *at;
	int d, p;
	uint16_t c, nc;

	for (i = 0; i < ns; i++) {
		v[i] = pset_hll_folded(s[i]);
		np[i] = pset_pending(s[i], &ph[i], &pe[i]);
		npend += np[i];
	}
	p = hll_precision(v[0]);
	run = xmalloc((npend ? npend : 1) * sizeof *run);
	for (i = 0, k = 0; i < ns; k += np[i++])
		memcpy(run + k, ph[i], np[i] * sizeof *run);
	r->hll = union_of(p, v, ns, run, npend);
	for (d = 0; d < DIM_COUNT; d++) {
		for (i = 0, nc = 0; i < ns; i++)
			if (pset_codes(s[i], (enum dim)d) > nc)
				nc = pset_codes(s[i], (enum dim)d);
		if (nc == 0)
			continue;
		/* at[c + 1]: hashes of code c; then at[c]: where c's run
		 * ends as it is filled. */
		at = xcalloc((size_t)nc + 1, sizeof *at);
		for (i = 0; i < ns; i++)
			for (j = 0; j < np[i]; j++)
				at[pset_entry_codes(s[i], &pe[i][j])[d] + 1]++;
		for (c = 0; c < nc; c++)
			at[c + 1] += at[c];
		for (i = 0; i < ns; i++)
			for (j = 0; j < np[i]; j++)
				run[at[pset_entry_codes(s[i],
				    &pe[i][j])[d]]++] = ph[i][j];
		for (c = 0, j = 0; c < nc; j = at[c++]) {
			ensure_code(r, d, c);
			for (i = 0, k = 0; i < ns; i++)
				if ((v[k] = pset_dim_hll_folded(s[i],
				    (enum dim)d, c)) != NULL)
					k++;
			if (k > 0 || at[c] > j)
				r->dhll[d][c] = union_of(p, v, k, run + j,
				    at[c] - j);
		}
		free(at);
	}
	free(run);
	free(np);
	free(pe);
	free(ph);
	free(v);
}

/* The sets of a period in the engines that have it. */
struct sets {
	const struct pset **s;
	uint32_t           *eng;	/* the engine of s[i] */
	size_t              n;
};

/*
 * Finds the period's sets and starts its rollup with their sketches'
 * unions; NULL when no engine has the period. Free ss with sets_free.
 */
static struct rollup *
rollup_start(struct engine *const *engines, size_t n, int zone,
    enum period_kind kind, int32_t period, struct sets *ss)
{
	struct rollup *r;
	size_t e;

	ss->s = xmalloc((n ? n : 1) * sizeof *ss->s);
	ss->eng = xmalloc((n ? n : 1) * sizeof *ss->eng);
	ss->n = 0;
	for (e = 0; e < n; e++) {
		ss->s[ss->n] = active_find(engine_active(engines[e]), zone,
		    kind, period);
		if (ss->s[ss->n] != NULL)
			ss->eng[ss->n++] = (uint32_t)e;
	}
	if (ss->n == 0)
		return NULL;
	r = xcalloc(1, sizeof *r);
	union_sketches(r, ss->s, ss->n);
	return r;
}

static void
sets_free(struct sets *ss)
{
	free(ss->s);
	free(ss->eng);
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
	struct sets ss;
	struct rollup *r = rollup_start(engines, n, zone, kind, period, &ss);
	struct seen seen = { NULL, 0 };
	size_t entries = 0, i, j;
	int d;

	for (i = 0; i < ss.n; i++)
		entries += pset_count(ss.s[i]);
	if (ss.n > 1)
		seen_init(&seen, entries);
	for (i = 0; i < ss.n; i++) {
		size_t cnt;
		const struct pentry *ent = pset_entries(ss.s[i], &cnt);

		for (j = 0; j < cnt; j++) {
			if (ss.n > 1 && !seen_add(&seen, engines, ss.eng[i],
			    ent[j].uid))
				continue;
			const uint16_t *codes = pset_entry_codes(ss.s[i],
			    &ent[j]);

			r->total++;
			for (d = 0; d < DIM_COUNT; d++) {
				ensure_code(r, d, codes[d]);
				r->dcount[d][codes[d]]++;
			}
		}
	}
	free(seen.slot);
	sets_free(&ss);
	return r;
}

struct rollup *
rollup_period_sum(struct engine *const *engines, size_t n, int zone,
    enum period_kind kind, int32_t period)
{
	struct sets ss;
	struct rollup *r = rollup_start(engines, n, zone, kind, period, &ss);
	size_t i;
	int d;
	uint16_t c;

	for (i = 0; i < ss.n; i++) {
		const struct pset *s = ss.s[i];
		unsigned mask = active_conf(engine_active(engines[ss.eng[i]]))->
		    dims_mask;

		r->total += pset_count(s);
		for (d = 0; d < DIM_COUNT; d++) {
			/* Entries hold code 0 for a dimension not kept. */
			if (!(mask & (1u << d))) {
				ensure_code(r, d, 0);
				r->dcount[d][0] += pset_count(s);
				continue;
			}
			for (c = 0; c < pset_codes(s, (enum dim)d); c++) {
				ensure_code(r, d, c);
				r->dcount[d][c] += pset_dim_count(s,
				    (enum dim)d, c);
			}
		}
	}
	sets_free(&ss);
	return r;
}

struct track {
	struct engine *const *engines;
	const int32_t        *parts;
	size_t                n;
	size_t                e;	/* the engine of the user added */
	uint32_t              uid;
};

/* Does partition `part` hold the user too (their hashes look alike)? */
static bool
track_has(void *arg, int32_t part)
{
	const struct track *t = arg;
	struct strv name = engine_user_name(t->engines[t->e], t->uid);
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->parts[i] == part)
			return engine_user_find(t->engines[i], name) <
			    engine_user_count(t->engines[i]);
	return true;	/* not one of ours: cannot tell, so assume it */
}

bool
rollup_track_users(struct owners *o, struct engine *const *engines,
    const int32_t *parts, size_t *seen, size_t n)
{
	struct track t = { engines, parts, n, 0, 0 };
	size_t more = 0;

	for (t.e = 0; t.e < n; t.e++)
		more += engine_user_count(engines[t.e]) - seen[t.e];
	owners_reserve(o, more);
	for (t.e = 0; t.e < n; t.e++) {
		size_t count = engine_user_count(engines[t.e]);

		for (; seen[t.e] < count; seen[t.e]++) {
			t.uid = (uint32_t)seen[t.e];
			if (owners_add(o, engine_user_hash(engines[t.e], t.uid),
			    parts[t.e], track_has, &t) == OWNERS_OVERLAP)
				return false;
		}
	}
	return !owners_overlap(o);
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
