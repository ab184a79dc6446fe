/* report: rows of the DAU/MAU and session queries (see report.h). */
#include "report.h"

#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "hll.h"
#include "meta.h"
#include "rollup.h"
#include "tzcal.h"
#include "xmalloc.h"

struct code_sort {
	const struct meta *meta;
	enum dim           dim;
};

static struct code_sort sort_ctx;	/* qsort has no argument */

static int
code_cmp(const void *a, const void *b)
{
	return strv_cmp(meta_value(sort_ctx.meta, sort_ctx.dim,
	    *(const uint16_t *)a), meta_value(sort_ctx.meta, sort_ctx.dim,
	    *(const uint16_t *)b));
}

size_t
report_active(struct engine *const *engines, size_t n, const struct meta *meta,
    int zone, enum period_kind kind, int32_t lo, int32_t hi, int dim,
    struct active_row **out)
{
	struct active_row *rows = NULL;
	size_t nrows = 0, cap = 0, np, i;
	int32_t *periods;

	np = rollup_periods(engines, n, zone, kind, &periods);
	for (i = 0; i < np; i++) {
		struct rollup *r;
		char label[11];
		uint16_t c, nc, *order;

		if (periods[i] < lo || periods[i] > hi)
			continue;
		r = rollup_period(engines, n, zone, kind, periods[i]);
		if (r == NULL)
			continue;
		if (kind == PERIOD_DAY)
			tzcal_format_day(periods[i], label);
		else
			tzcal_format_month(periods[i], label);
		if (dim < 0) {
			rows = xgrow(rows, &cap, nrows + 1, sizeof *rows);
			rows[nrows].period = periods[i];
			memcpy(rows[nrows].label, label, sizeof label);
			rows[nrows].value = (struct strv){ "", 0 };
			rows[nrows].exact = r->total;
			rows[nrows].approx = hll_estimate(r->hll);
			nrows++;
			rollup_free(r);
			continue;
		}
		nc = r->ncodes[dim];
		order = xcalloc(nc ? nc : 1, sizeof *order);
		for (c = 0; c < nc; c++)
			order[c] = c;
		sort_ctx.meta = meta;
		sort_ctx.dim = (enum dim)dim;
		qsort(order, nc, sizeof *order, code_cmp);
		for (c = 0; c < nc; c++) {
			uint16_t code = order[c];

			if (r->dcount[dim][code] == 0)
				continue;
			rows = xgrow(rows, &cap, nrows + 1, sizeof *rows);
			rows[nrows].period = periods[i];
			memcpy(rows[nrows].label, label, sizeof label);
			rows[nrows].value = meta_value(meta, (enum dim)dim, code);
			rows[nrows].exact = r->dcount[dim][code];
			rows[nrows].approx = r->dhll[dim][code] != NULL ?
			    hll_estimate(r->dhll[dim][code]) : 0.0;
			nrows++;
		}
		free(order);
		rollup_free(r);
	}
	free(periods);
	*out = rows;
	return nrows;
}

static int
by_user(const void *a, const void *b)
{
	return strv_cmp(((const struct user_row *)a)->user,
	    ((const struct user_row *)b)->user);
}

static int
by_sessions(const void *a, const void *b)
{
	const struct user_row *x = a, *y = b;

	if (x->sessions != y->sessions)
		return x->sessions < y->sessions ? 1 : -1;
	return strv_cmp(x->user, y->user);
}

size_t
report_users(struct engine *const *engines, size_t n, uint64_t top,
    struct user_row **out)
{
	struct user_row *rows = NULL;
	size_t nrows = 0, cap = 0, e, u, i, k = 0;

	for (e = 0; e < n; e++) {
		for (u = 0; u < engine_user_count(engines[e]); u++) {
			struct user_stats st;

			if (!engine_user_stats(engines[e], (uint32_t)u, &st) ||
			    st.sessions == 0)
				continue;
			rows = xgrow(rows, &cap, nrows + 1, sizeof *rows);
			rows[nrows].user = engine_user_name(engines[e],
			    (uint32_t)u);
			rows[nrows].sessions = st.sessions;
			rows[nrows].duration_ms = st.duration_ms;
			rows[nrows].actions = st.actions;
			rows[nrows].first_seen = st.first_seen;
			rows[nrows].last_seen = st.last_seen;
			nrows++;
		}
	}
	if (nrows > 0)
		qsort(rows, nrows, sizeof *rows, by_user);
	for (i = 0; i < nrows; i++) {
		struct user_row *o = k > 0 ? &rows[k - 1] : NULL;

		if (o != NULL && strv_eq(o->user, rows[i].user)) {
			o->sessions += rows[i].sessions;
			o->duration_ms += rows[i].duration_ms;
			o->actions += rows[i].actions;
			if (rows[i].first_seen < o->first_seen)
				o->first_seen = rows[i].first_seen;
			if (rows[i].last_seen > o->last_seen)
				o->last_seen = rows[i].last_seen;
		} else
			rows[k++] = rows[i];
	}
	nrows = k;
	if (top > 0) {
		qsort(rows, nrows, sizeof *rows, by_sessions);
		if (nrows > top)
			nrows = (size_t)top;
	}
	*out = rows;
	return nrows;
}

double
user_row_avg_seconds(const struct user_row *r)
{
	return r->sessions ? (double)r->duration_ms / (double)r->sessions /
	    1000.0 : 0.0;
}
