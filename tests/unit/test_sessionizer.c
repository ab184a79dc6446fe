/*
 * Unit tests for state/sessionizer: the gap rule at its exact boundary,
 * out-of-order events that extend a session backwards or bridge two, the
 * order independence of the summary (every arrival order of a small set),
 * closing by watermark and by wall-clock idleness at the exact millisecond,
 * hold-open mode, and the persisted forms of a user's sessions and of the
 * partition clock (round trip, truncation at every length, garbage).
 *
 * Sessions are compared as one line of text, e.g.
 * "start=+0 last=+60000 end=+61000 n=2 ver=1.0..1.1 types=edit:1,page_view:1"
 * (times relative to FX_T0 = 2023-01-01T00:00:00Z, types sorted by name),
 * so an expected value is exact and readable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "enc.h"
#include "sessionizer.h"
#include "strdict.h"
#include "engine_fixture.h"

#define NONE	INT64_MIN

/* ---- describing sessions ---- */

struct named_type {
	struct strv name;
	uint32_t    count;
};

static int
named_type_cmp(const void *a, const void *b)
{
	return strv_cmp(((const struct named_type *)a)->name,
	    ((const struct named_type *)b)->name);
}

static void
describe(const struct strdict *str, const struct sess *s, char *buf,
    size_t cap)
{
	struct named_type t[16];
	struct strv fv = strdict_get(str, s->first_ver);
	struct strv lv = strdict_get(str, s->last_ver);
	size_t used, i;

	assert_true(s->ntypes <= 16);
	for (i = 0; i < s->ntypes; i++)
		t[i] = (struct named_type){ strdict_get(str,
		    sess_types(s)[i].code), sess_types(s)[i].count };
	qsort(t, s->ntypes, sizeof *t, named_type_cmp);
	used = (size_t)snprintf(buf, cap,
	    "start=%+lld last=%+lld end=%+lld n=%llu ver=%.*s..%.*s types=",
	    (long long)(s->start - FX_T0), (long long)(s->last - FX_T0),
	    (long long)(s->end - FX_T0), (unsigned long long)s->count,
	    (int)fv.len, fv.p, (int)lv.len, lv.p);
	for (i = 0; i < s->ntypes && used < cap; i++)
		used += (size_t)snprintf(buf + used, cap - used, "%s%.*s:%u",
		    i ? "," : "", (int)t[i].name.len, t[i].name.p, t[i].count);
}

/* ---- a sessionizer that records what it closes ---- */

struct closed {
	uint32_t uid;
	char     desc[256];
};

struct zfx {
	struct strdict     *str;
	struct sessionizer *z;
	struct closed       c[32];
	size_t              nc;
};

static void
zfx_on_close(void *arg, uint32_t uid, const struct sess *s)
{
	struct zfx *x = arg;

	assert_true(x->nc < 32);
	x->c[x->nc].uid = uid;
	describe(x->str, s, x->c[x->nc].desc, sizeof x->c[x->nc].desc);
	x->nc++;
}

static struct zfx *
zfx_new(bool hold_open, int64_t idle_close_ms)
{
	struct zfx *x = xcalloc(1, sizeof *x);
	struct sessionizer_conf conf = { FX_GAP, FX_GRACE, idle_close_ms,
		hold_open };

	x->str = strdict_new();
	x->z = sessionizer_new(&conf, x->str, zfx_on_close, x);
	return x;
}

static void
zfx_free(struct zfx *x)
{
	sessionizer_free(x->z);
	strdict_free(x->str);
	free(x);
}

/* As the engine does: every event moves the clock, then is placed. */
static void
zfx_add(struct zfx *x, uint32_t uid, int64_t ts, int64_t dur,
    const char *type, const char *ver, int64_t now)
{
	sessionizer_observe(x->z, ts, now);
	sessionizer_add(x->z, uid, ts, dur,
	    strdict_intern(x->str, strv_c(type), NULL),
	    strdict_intern(x->str, strv_c(ver), NULL));
}

/* The user's open sessions, in order, joined by " | ". */
static const char *
zfx_open(const struct zfx *x, uint32_t uid)
{
	static char buf[1024];
	size_t n, i, used = 0;
	const struct sess *s = sessionizer_sessions(x->z, uid, &n);

	buf[0] = '\0';
	for (i = 0; i < n && used < sizeof buf; i++) {
		if (i > 0)
			used += (size_t)snprintf(buf + used, sizeof buf - used,
			    " | ");
		describe(x->str, &s[i], buf + used, sizeof buf - used);
		used = strlen(buf);
	}
	return buf;
}

struct tev {
	uint32_t    uid;
	int64_t     at;		/* ms after FX_T0 */
	int64_t     dur;
	const char *type;
	const char *ver;
};

/* ---- the gap rule ---- */

static void
gap_boundary_exact(void **state)
{
	static const struct {
		int64_t     delta;
		size_t      sessions;
		const char *want;
	} rows[] = {
		{ 0, 1, "start=+0 last=+0 end=+1000 n=2 ver=1.0..1.1 "
		    "types=edit:1,page_view:1" },
		{ FX_GAP - 1, 1, "start=+0 last=+599999 end=+600999 n=2 "
		    "ver=1.0..1.1 types=edit:1,page_view:1" },
		/* A gap of exactly 10 min continues the session. */
		{ FX_GAP, 1, "start=+0 last=+600000 end=+601000 n=2 "
		    "ver=1.0..1.1 types=edit:1,page_view:1" },
		/* 10 min + 1 ms starts a new one. */
		{ FX_GAP + 1, 2, "start=+0 last=+0 end=+1000 n=1 ver=1.0..1.0 "
		    "types=page_view:1 | start=+600001 last=+600001 "
		    "end=+601001 n=1 ver=1.1..1.1 types=edit:1" },
	};
	size_t r;
	int order;

	(void)state;
	for (r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		for (order = 0; order < 2; order++) {
			struct zfx *x = zfx_new(true, 0);
			struct tev e[2] = {
				{ 1, 0, 1000, "page_view", "1.0" },
				{ 1, rows[r].delta, 1000, "edit", "1.1" },
			};
			int k;

			for (k = 0; k < 2; k++) {
				const struct tev *t = &e[order ? 1 - k : k];

				zfx_add(x, t->uid, FX_T0 + t->at, t->dur,
				    t->type, t->ver, 0);
			}
			assert_int_equal(sessionizer_open_count(x->z),
			    rows[r].sessions);
			assert_string_equal(zfx_open(x, 1), rows[r].want);
			zfx_free(x);
		}
	}
}

static void
out_of_order_extends_backwards(void **state)
{
	static const struct {
		struct tev  ev;
		const char *want;
	} steps[] = {
		{ { 1, 10 * FX_MIN, 0, "edit", "2" },
		  "start=+600000 last=+600000 end=+600000 n=1 ver=2..2 "
		  "types=edit:1" },
		{ { 1, 5 * FX_MIN, 0, "page_view", "1" },
		  "start=+300000 last=+600000 end=+600000 n=2 ver=1..2 "
		  "types=edit:1,page_view:1" },
		/* Earlier start, and the latest end too. */
		{ { 1, 0, 15 * FX_MIN, "page_view", "0" },
		  "start=+0 last=+600000 end=+900000 n=3 ver=0..2 "
		  "types=edit:1,page_view:2" },
		/* Exactly gap before the start: still the same session. */
		{ { 1, -FX_GAP, 0, "share", "0" },
		  "start=-600000 last=+600000 end=+900000 n=4 ver=0..2 "
		  "types=edit:1,page_view:2,share:1" },
		/* Gap + 1 ms before the start: a session of its own. */
		{ { 1, -2 * FX_GAP - 1, 0, "share", "9" },
		  "start=-1200001 last=-1200001 end=-1200001 n=1 ver=9..9 "
		  "types=share:1 | start=-600000 last=+600000 end=+900000 "
		  "n=4 ver=0..2 types=edit:1,page_view:2,share:1" },
	};
	struct zfx *x = zfx_new(true, 0);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		const struct tev *t = &steps[i].ev;

		zfx_add(x, t->uid, FX_T0 + t->at, t->dur, t->type, t->ver, 0);
		assert_string_equal(zfx_open(x, 1), steps[i].want);
	}
	assert_int_equal(sessionizer_open_count(x->z), 2);
	zfx_free(x);
}

/* ---- order independence ---- */

static bool
next_permutation(size_t *a, size_t n)
{
	size_t i, j, t;

	if (n < 2)
		return false;
	for (i = n - 1; i > 0 && a[i - 1] >= a[i]; i--)
		;
	if (i == 0)
		return false;
	for (j = n - 1; a[j] <= a[i - 1]; j--)
		;
	t = a[i - 1], a[i - 1] = a[j], a[j] = t;
	for (j = n - 1; i < j; i++, j--)
		t = a[i], a[i] = a[j], a[j] = t;
	return true;
}

/*
 * Feeds `ev` in every order, each into a fresh sessionizer and dictionary
 * (so ids differ between orders), and checks the one resulting session.
 * `check` may look at the state just before each event.
 */
static void
every_order_gives(const struct tev *ev, size_t n, const char *want,
    void (*check)(const struct zfx *, const size_t *perm, size_t step))
{
	size_t perm[8], i, orders = 0;

	assert_true(n <= 8);
	for (i = 0; i < n; i++)
		perm[i] = i;
	do {
		struct zfx *x = zfx_new(true, 0);

		for (i = 0; i < n; i++) {
			const struct tev *t = &ev[perm[i]];

			if (check != NULL)
				check(x, perm, i);
			zfx_add(x, t->uid, FX_T0 + t->at, t->dur, t->type,
			    t->ver, 0);
		}
		assert_int_equal(sessionizer_open_count(x->z), 1);
		assert_string_equal(zfx_open(x, 1), want);
		/* The merged-away session's heap entry closes nothing. */
		assert_int_equal(sessionizer_close_all(x->z), 1);
		assert_int_equal(x->nc, 1);
		assert_string_equal(x->c[0].desc, want);
		assert_int_equal(sessionizer_open_count(x->z), 0);
		zfx_free(x);
		orders++;
	} while (next_permutation(perm, n));
	assert_true(orders >= 24);
}

/* Events 0-1 form session A, 2-3 session B; event 4 bridges them. */
static const struct tev bridge_ev[] = {
	{ 1, 0, 30 * FX_MIN, "edit", "1.0" },
	{ 1, 1 * FX_MIN, 1000, "page_view", "1.1" },
	{ 1, 16 * FX_MIN, 0, "share", "1.3" },
	{ 1, 20 * FX_MIN, 50000, "page_view", "1.4" },
	{ 1, 8 * FX_MIN, 0, "edit", "1.2" },
};

static void
bridge_check(const struct zfx *x, const size_t *perm, size_t step)
{
	bool a = false, b = false, bridged = false;
	size_t i;

	for (i = 0; i < step; i++) {
		a |= perm[i] <= 1;
		b |= perm[i] == 2 || perm[i] == 3;
		bridged |= perm[i] == 4;
	}
	/* Before the bridge arrives, A and B are two sessions. */
	if (!bridged)
		assert_int_equal(sessionizer_open_count(x->z),
		    (size_t)a + (size_t)b);
}

static void
bridge_merges_in_every_order(void **state)
{
	(void)state;
	/* End comes from A's first event (ts + 30 min), not the last. */
	every_order_gives(bridge_ev, 5, "start=+0 last=+1200000 end=+1800000 "
	    "n=5 ver=1.0..1.4 types=edit:2,page_view:2,share:1", bridge_check);
}

static void
version_tie_break_is_order_free(void **state)
{
	/* Bytewise: "10.0" < "2.0" at the first instant, "3.0" > "0.9". */
	static const struct tev ev[] = {
		{ 1, 0, 0, "page_view", "2.0" },
		{ 1, 0, 0, "page_view", "10.0" },
		{ 1, 30000, 0, "page_view", "zzz" },
		{ 1, FX_MIN, 0, "page_view", "3.0" },
		{ 1, FX_MIN, 0, "page_view", "0.9" },
	};

	(void)state;
	every_order_gives(ev, 5, "start=+0 last=+60000 end=+60000 n=5 "
	    "ver=10.0..3.0 types=page_view:5", NULL);
}

/* ---- closing ---- */

enum op { ADD, ADVANCE, CLOSE_ALL };

struct step {
	enum op     op;
	uint32_t    uid;
	int64_t     at;		/* event time after FX_T0 (ADD) */
	int64_t     now;	/* wall clock */
	int64_t     want_wm;	/* after FX_T0; NONE: INT64_MIN */
	size_t      want_closed;
	size_t      want_open;
};

/*
 * Runs steps; an ADD also advances at its `now`, as the daemon does after
 * each batch. `want` lists the closed sessions in closing order, each as
 * "uid: description", joined by " | ".
 */
static void
run_steps(const struct step *st, size_t n, bool hold_open, int64_t idle,
    const char *want)
{
	char got[1024];
	size_t used = 0;
	struct zfx *x = zfx_new(hold_open, idle);
	size_t i;

	for (i = 0; i < n; i++) {
		size_t closed = 0, before = x->nc;

		switch (st[i].op) {
		case ADD:
			zfx_add(x, st[i].uid, FX_T0 + st[i].at, 0, "edit",
			    "1", st[i].now);
			closed = sessionizer_advance(x->z, st[i].now);
			break;
		case ADVANCE:
			closed = sessionizer_advance(x->z, st[i].now);
			break;
		case CLOSE_ALL:
			closed = sessionizer_close_all(x->z);
			break;
		}
		if (closed != st[i].want_closed ||
		    x->nc - before != st[i].want_closed)
			fail_msg("step %zu: closed %zu (callbacks %zu), want "
			    "%zu", i, closed, x->nc - before,
			    st[i].want_closed);
		assert_int_equal(sessionizer_open_count(x->z),
		    st[i].want_open);
		if (st[i].want_wm == NONE)
			assert_true(sessionizer_watermark(x->z) == INT64_MIN);
		else if (sessionizer_watermark(x->z) != FX_T0 + st[i].want_wm)
			fail_msg("step %zu: watermark T0%+lld, want T0%+lld", i,
			    (long long)(sessionizer_watermark(x->z) - FX_T0),
			    (long long)st[i].want_wm);
	}
	got[0] = '\0';
	for (i = 0; i < x->nc; i++)
		used += (size_t)snprintf(got + used, sizeof got - used,
		    "%s%u: %s", i ? " | " : "", x->c[i].uid, x->c[i].desc);
	assert_string_equal(got, want);
	zfx_free(x);
}

#define RUN_STEPS(st, hold_open, idle, want) \
	run_steps(st, sizeof st / sizeof st[0], hold_open, idle, want)

#define EDIT_AT(t)	"start=" #t " last=" #t " end=" #t \
	" n=1 ver=1..1 types=edit:1"

static void
watermark_closes_only_past_last_plus_gap(void **state)
{
	static const struct step st[] = {
		{ ADVANCE, 0, 0, 0, NONE, 0, 0 },
		{ ADD, 1, 0, 0, -FX_GRACE, 0, 1 },
		/* max_ts - grace == last + gap: not yet. */
		{ ADD, 2, FX_GAP + FX_GRACE, 0, FX_GAP, 0, 2 },
		/* One more millisecond closes it. */
		{ ADD, 2, FX_GAP + FX_GRACE + 1, 0, FX_GAP + 1, 1, 1 },
		/* Only once. */
		{ ADVANCE, 0, 0, 0, FX_GAP + 1, 0, 1 },
		/* An older event does not move the watermark back. */
		{ ADD, 3, FX_GAP, 0, FX_GAP + 1, 0, 2 },
	};

	(void)state;
	RUN_STEPS(st, false, 0, "1: " EDIT_AT(+0));
}

static void
grown_session_closes_at_its_new_deadline(void **state)
{
	/* u1's entry is queued at T0 + gap; it grows to T0 + 4 min. */
	static const struct step st[] = {
		{ ADD, 1, 0, 0, -FX_GRACE, 0, 1 },
		{ ADD, 1, 4 * FX_MIN, 0, 4 * FX_MIN - FX_GRACE, 0, 1 },
		{ ADD, 2, FX_GAP + FX_GRACE + 1, 0, FX_GAP + 1, 0, 2 },
		{ ADD, 2, 4 * FX_MIN + FX_GAP + FX_GRACE, 0,
		  4 * FX_MIN + FX_GAP, 0, 2 },
		{ ADD, 2, 4 * FX_MIN + FX_GAP + FX_GRACE + 1, 0,
		  4 * FX_MIN + FX_GAP + 1, 1, 1 },
	};

	(void)state;
	RUN_STEPS(st, false, 0, "1: start=+0 last=+240000 end=+240000 n=2 "
	    "ver=1..1 types=edit:2");
}

/*
 * advance_some closes the due sessions in slices, earliest deadline first,
 * and fewer than asked once none is due: the daemon closes a second's
 * sessions that way, the input drained between slices.
 */
static void
advance_some_closes_due_in_slices(void **state)
{
	struct zfx *x = zfx_new(false, 0);
	uint32_t u;
	size_t k;

	(void)state;
	/* User u's event at u minutes, added last to first. */
	for (u = 10; u >= 1; u--)
		zfx_add(x, u, FX_T0 + (int64_t)u * FX_MIN, 0, "edit", "1", 0);
	/* The watermark passes the deadlines of users 1..7 only. */
	zfx_add(x, 11, FX_T0 + 7 * FX_MIN + FX_GAP + FX_GRACE + 1, 0, "edit",
	    "1", 0);
	assert_int_equal(sessionizer_advance_some(x->z, 0, 3), 3);
	assert_int_equal(sessionizer_advance_some(x->z, 0, 3), 3);
	assert_int_equal(sessionizer_advance_some(x->z, 0, 3), 1);
	assert_int_equal(sessionizer_advance_some(x->z, 0, 3), 0);
	assert_int_equal(x->nc, 7);
	for (k = 0; k < 7; k++)
		assert_int_equal(x->c[k].uid, k + 1);
	assert_int_equal(sessionizer_open_count(x->z), 4);
	zfx_free(x);
}

#define W	1000000000LL	/* a wall-clock origin */
#define YEAR	(365 * 24 * 60 * FX_MIN)

static void
idle_partition_closes_by_wall_clock(void **state)
{
	/*
	 * idle_close 0 means gap + grace = 15 min. Once the partition has
	 * been quiet that long, event time moves with the wall clock:
	 * wm = max_ts - grace + quiet time. A session then closes when
	 * wm > last + gap, so u1 (last < max_ts) closes at exactly 15 min
	 * and u2 (last == max_ts) one millisecond later.
	 */
	static const struct step st[] = {
		{ ADD, 1, 0, W, -FX_GRACE, 0, 1 },
		{ ADD, 2, FX_MIN, W, FX_MIN - FX_GRACE, 0, 2 },
		{ ADVANCE, 0, 0, W + FX_GAP + FX_GRACE - 1,
		  FX_MIN - FX_GRACE, 0, 2 },
		{ ADVANCE, 0, 0, W + FX_GAP + FX_GRACE, FX_MIN + FX_GAP,
		  1, 1 },
		{ ADVANCE, 0, 0, W + FX_GAP + FX_GRACE + 1,
		  FX_MIN + FX_GAP + 1, 1, 0 },
	};

	(void)state;
	RUN_STEPS(st, false, 0, "1: " EDIT_AT(+0) " | 2: " EDIT_AT(+60000));
}

static void
idle_close_short_and_reset_by_any_event(void **state)
{
	/* idle_close 1 min: the watermark starts moving after 1 min. */
	static const struct step st[] = {
		{ ADD, 1, 0, W, -FX_GRACE, 0, 1 },
		{ ADVANCE, 0, 0, W + FX_MIN - 1, -FX_GRACE, 0, 1 },
		{ ADVANCE, 0, 0, W + FX_MIN, FX_MIN - FX_GRACE, 0, 1 },
		/* An old event (max_ts unchanged) resets idleness... */
		{ ADD, 2, -3 * FX_MIN, W + 2 * FX_MIN, FX_MIN - FX_GRACE, 0,
		  2 },
		{ ADVANCE, 0, 0, W + 3 * FX_MIN - 1, FX_MIN - FX_GRACE, 0, 2 },
		/* ...and the clock restarts from max_ts - grace. */
		{ ADVANCE, 0, 0, W + 3 * FX_MIN, FX_MIN - FX_GRACE, 0, 2 },
		{ ADVANCE, 0, 0, W + 14 * FX_MIN, 7 * FX_MIN, 0, 2 },
		{ ADVANCE, 0, 0, W + 14 * FX_MIN + 1, 7 * FX_MIN + 1, 1, 1 },
		{ ADVANCE, 0, 0, W + 17 * FX_MIN, FX_GAP, 0, 1 },
		{ ADVANCE, 0, 0, W + 17 * FX_MIN + 1, FX_GAP + 1, 1, 0 },
		/* A new event: the watermark follows event time again. */
		{ ADD, 1, 30 * FX_MIN, W + 18 * FX_MIN,
		  30 * FX_MIN - FX_GRACE, 0, 1 },
	};

	(void)state;
	RUN_STEPS(st, false, FX_MIN, "2: " EDIT_AT(-180000) " | 1: "
	    EDIT_AT(+0));
}

static void
hold_open_closes_only_at_close_all(void **state)
{
	static const struct step st[] = {
		{ ADD, 1, 0, 0, -FX_GRACE, 0, 1 },
		{ ADD, 2, YEAR, 0, YEAR - FX_GRACE, 0, 2 },
		/* Idle for a year of wall clock: the watermark moves... */
		{ ADVANCE, 0, 0, YEAR, 2 * YEAR - FX_GRACE, 0, 2 },
		/* ...but nothing closes before the end of input. */
		{ CLOSE_ALL, 0, 0, 0, 2 * YEAR - FX_GRACE, 2, 0 },
		{ CLOSE_ALL, 0, 0, 0, 2 * YEAR - FX_GRACE, 0, 0 },
	};

	(void)state;
	RUN_STEPS(st, true, 0, "1: " EDIT_AT(+0) " | 2: "
	    EDIT_AT(+31536000000));
}

/*
 * One user with 20 open sessions (its array grows through every block
 * size and past them) holding 1 to 7 action types each (past the inline
 * pair), closed in slices in deadline order, with events arriving between
 * two slices.
 */
static void
many_sessions_close_in_deadline_order(void **state)
{
	enum { NS = 20 };
	struct zfx *x = zfx_new(true, 0);
	char want[NS][256];
	int k, j;

	(void)state;
	for (k = NS - 1; k >= 0; k--) {
		int64_t t0 = FX_T0 + (int64_t)k * 3 * FX_GAP;
		int used, m = k % 7 + 1;

		for (j = 0; j < m; j++) {
			char type[8];

			snprintf(type, sizeof type, "t%d", j);
			zfx_add(x, 1, t0 + j * 1000, 5, type, "1.0", 0);
		}
		used = snprintf(want[k], sizeof want[k], "start=%+lld "
		    "last=%+lld end=%+lld n=%d ver=1.0..1.0 types=",
		    (long long)(t0 - FX_T0), (long long)(t0 - FX_T0 +
		    (m - 1) * 1000), (long long)(t0 - FX_T0 + (m - 1) * 1000 +
		    5), m);
		for (j = 0; j < m; j++)
			used += snprintf(want[k] + used, sizeof want[k] -
			    (size_t)used, "%st%d:1", j ? "," : "", j);
	}
	/* User 2 is due between user 1's third and fourth sessions. */
	zfx_add(x, 2, FX_T0 + 6 * FX_GAP + 1500, 5, "t0", "2.0", 0);
	assert_int_equal(sessionizer_open_count(x->z), NS + 1);

	assert_int_equal(sessionizer_close_some(x->z, 5), 5);
	for (k = 0; k < 5; k++)
		assert_int_equal(x->c[k].uid, k == 3 ? 2 : 1);
	assert_string_equal(x->c[0].desc, want[0]);
	assert_string_equal(x->c[1].desc, want[1]);
	assert_string_equal(x->c[2].desc, want[2]);
	assert_string_equal(x->c[4].desc, want[3]);
	assert_string_equal(x->c[3].desc, "start=+3601500 last=+3601500 "
	    "end=+3601505 n=1 ver=2.0..2.0 types=t0:1");

	/* A new session due before all the others, between two slices. */
	zfx_add(x, 3, FX_T0 - 10 * FX_GAP, 5, "t1", "3.0", 0);
	/* And user 1's last session grows (it stays in its place). */
	zfx_add(x, 1, FX_T0 + (NS - 1) * 3 * FX_GAP + 6000, 5, "t0", "1.0",
	    0);
	assert_int_equal(sessionizer_close_some(x->z, 1), 1);
	assert_int_equal(x->c[5].uid, 3);
	assert_int_equal(sessionizer_close_all(x->z), NS - 4);
	assert_int_equal(x->nc, NS + 2);
	for (k = 4; k < NS - 1; k++) {
		assert_int_equal(x->c[k + 2].uid, 1);
		assert_string_equal(x->c[k + 2].desc, want[k]);
	}
	assert_string_equal(x->c[NS + 1].desc, "start=+34200000 "
	    "last=+34206000 end=+34206005 n=7 ver=1.0..1.0 "
	    "types=t0:2,t1:1,t2:1,t3:1,t4:1,t5:1");
	assert_int_equal(sessionizer_open_count(x->z), 0);
	assert_int_equal(sessionizer_close_all(x->z), 0);

	/* The freed blocks serve the next sessions. */
	zfx_add(x, 4, FX_T0, 5, "t0", "1.0", 0);
	assert_string_equal(zfx_open(x, 4), "start=+0 last=+0 end=+5 n=1 "
	    "ver=1.0..1.0 types=t0:1");
	assert_int_equal(sessionizer_close_all(x->z), 1);
	zfx_free(x);
}

/* Closing order recorded as (deadline, uid), for the sort test. */
struct order_fx {
	int64_t  (*got)[2];
	size_t     n;
};

static void
order_on_close(void *arg, uint32_t uid, const struct sess *s)
{
	struct order_fx *o = arg;

	o->got[o->n][0] = s->last + FX_GAP;
	o->got[o->n][1] = uid;
	o->n++;
}

static int
pair_cmp(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return (x[1] > y[1]) - (x[1] < y[1]);
}

/*
 * close_all closes in (deadline, uid) order, checked against a plain sort
 * of the sessions put in: seeded random times, a shared deadline across
 * many users (the uid decides), times before 1970, and a spread too wide
 * for one 64-bit key of deadline and uid (the sort's other path).
 */
static void
close_all_in_deadline_then_user_order(void **state)
{
	enum { NU = 3000, PER = 3 };
	static const int64_t spread[] = { 400LL * 86400000, 0,
	    4000000000000000000LL };
	size_t c;

	(void)state;
	for (c = 0; c < sizeof spread / sizeof *spread; c++) {
		struct sessionizer_conf conf = { FX_GAP, FX_GRACE, 0, true };
		struct strdict *str = strdict_new();
		struct order_fx o = { xcalloc(NU * PER, sizeof *o.got), 0 };
		int64_t (*want)[2] = xcalloc(NU * PER, sizeof *want);
		struct sessionizer *z = sessionizer_new(&conf, str,
		    order_on_close, &o);
		uint32_t ty = strdict_intern(str, strv_c("t"), NULL);
		uint32_t ver = strdict_intern(str, strv_c("1.0"), NULL);
		uint64_t rnd = 42 + c;
		size_t nw = 0, i;
		uint32_t u;
		int j;

		for (u = 0; u < NU; u++)
			for (j = 0; j < PER; j++) {
				int64_t ts;

				rnd = rnd * 6364136223846793005ULL +
				    1442695040888963407ULL;
				/* Sessions of a user 10 gaps apart at least. */
				ts = (c == 2 && u % 2 ? -1 : 1) * (spread[c] ?
				    (int64_t)((rnd >> 11) % (uint64_t)
				    spread[c]) : 0) / (c == 2 ? 2 : 1) -
				    (c == 0 ? 30LL * 86400000 : 0) +
				    j * 10 * FX_GAP;
				sessionizer_observe(z, ts, 0);
				sessionizer_add(z, u, ts, 5, ty, ver);
				want[nw][0] = ts + FX_GAP;
				want[nw][1] = u;
				nw++;
			}
		assert_int_equal(sessionizer_open_count(z), NU * PER);
		qsort(want, nw, sizeof *want, pair_cmp);
		assert_int_equal(sessionizer_close_all(z), NU * PER);
		assert_int_equal(o.n, nw);
		for (i = 0; i < nw; i++) {
			assert_int_equal(o.got[i][0], want[i][0]);
			assert_int_equal(o.got[i][1], want[i][1]);
		}
		sessionizer_free(z);
		strdict_free(str);
		free(o.got);
		free(want);
	}
}

/*
 * The action-type arrays that outgrow a session are counted in
 * sessionizer_memory (by a running total, not a walk of every session):
 * they show as whole sess_type slots, at least one per type, and are
 * given back by a bridge and by closing.
 */
static void
memory_counts_out_of_line_types(void **state)
{
	static const char *const types[] = { "a", "b", "c", "d", "e", "f",
		"g", "h", "i", "j" };
	struct zfx *x = zfx_new(true, 0);
	size_t m0, m1, m2, grown, i;

	(void)state;
	zfx_add(x, 1, FX_T0, 0, "a", "1", 0);
	zfx_add(x, 1, FX_T0 + 2 * FX_GAP, 0, "a", "1", 0);
	m0 = sessionizer_memory(x->z);
	/* Ten types in the first session: out of line. */
	for (i = 0; i < 10; i++)
		zfx_add(x, 1, FX_T0, 0, types[i], "1", 0);
	m1 = sessionizer_memory(x->z);
	grown = m1 - m0;
	assert_true(grown >= 10 * sizeof(struct sess_type));
	assert_int_equal(grown % sizeof(struct sess_type), 0);
	/* And three in the second. */
	for (i = 0; i < 3; i++)
		zfx_add(x, 1, FX_T0 + 2 * FX_GAP, 0, types[i + 1], "1", 0);
	m2 = sessionizer_memory(x->z);
	assert_true(m2 - m1 >= 3 * sizeof(struct sess_type));
	/* A bridge folds the second into the first and frees its array. */
	zfx_add(x, 1, FX_T0 + FX_GAP, 0, "a", "1", 0);
	assert_int_equal(sessionizer_open_count(x->z), 1);
	assert_string_equal(zfx_open(x, 1), "start=+0 last=+1200000 "
	    "end=+1200000 n=16 ver=1..1 types=a:4,b:2,c:2,d:2,e:1,f:1,g:1,"
	    "h:1,i:1,j:1");
	assert_int_equal(sessionizer_memory(x->z), m1);
	assert_int_equal(sessionizer_close_all(x->z), 1);
	assert_int_equal(sessionizer_memory(x->z), m0);
	zfx_free(x);
}

/* ---- persistence ---- */

static void
user_round_trip_is_exact(void **state)
{
	struct zfx *a = zfx_new(true, 0), *b = zfx_new(false, 0);
	struct enc e1, e2;
	struct dec d;
	char want[1024];
	size_t len;

	(void)state;
	for (len = 0; len < sizeof bridge_ev / sizeof bridge_ev[0] - 1; len++)
		zfx_add(a, 3, FX_T0 + bridge_ev[len].at, bridge_ev[len].dur,
		    bridge_ev[len].type, bridge_ev[len].ver, 0);
	zfx_add(a, 3, FX_T0 - FX_GAP - 1, 5, "create", "0.1", 0);
	zfx_add(a, 4, FX_T0, 5, "other", "x", 0);
	snprintf(want, sizeof want, "%s", zfx_open(a, 3));
	assert_string_equal(want,
	    "start=-600001 last=-600001 end=-599996 n=1 ver=0.1..0.1 "
	    "types=create:1 | start=+0 last=+60000 end=+1800000 n=2 "
	    "ver=1.0..1.1 types=edit:1,page_view:1 | start=+960000 "
	    "last=+1200000 end=+1250000 n=2 ver=1.3..1.4 "
	    "types=page_view:1,share:1");

	enc_init(&e1);
	sessionizer_encode_user(a->z, 3, &e1);
	/* Into another uid, with a dictionary whose ids all differ. */
	strdict_intern(b->str, STRV("unrelated"), NULL);
	dec_init(&d, e1.buf, e1.len);
	assert_int_equal(sessionizer_decode_user(b->z, 9, &d), 0);
	assert_true(dec_done(&d));
	assert_string_equal(zfx_open(b, 9), want);
	assert_int_equal(sessionizer_open_count(b->z), 3);
	enc_init(&e2);
	sessionizer_encode_user(b->z, 9, &e2);
	assert_int_equal(e2.len, e1.len);
	assert_memory_equal(e2.buf, e1.buf, e1.len);

	/* Decoded sessions keep working: the bridge merges two of them. */
	zfx_add(b, 9, FX_T0 + bridge_ev[4].at, 0, "edit", "1.2", 0);
	assert_int_equal(sessionizer_open_count(b->z), 2);
	/* And they are in the close heap. */
	assert_int_equal(sessionizer_close_all(b->z), 2);
	assert_string_equal(b->c[1].desc, "start=+0 last=+1200000 "
	    "end=+1800000 n=5 ver=1.0..1.4 types=edit:2,page_view:2,share:1");

	/* Every strict prefix is rejected. */
	for (len = 0; len < e1.len; len++) {
		struct zfx *c = zfx_new(true, 0);

		dec_init(&d, e1.buf, len);
		if (sessionizer_decode_user(c->z, 1, &d) != -1)
			fail_msg("prefix of %zu of %zu bytes accepted", len,
			    e1.len);
		zfx_free(c);
	}
	enc_free(&e1);
	enc_free(&e2);
	zfx_free(a);
	zfx_free(b);
}

static void
user_without_sessions_round_trips(void **state)
{
	struct zfx *a = zfx_new(true, 0);
	struct enc e;
	struct dec d;

	(void)state;
	enc_init(&e);
	sessionizer_encode_user(a->z, 5, &e);
	assert_int_equal(e.len, 2);	/* version, zero sessions */
	dec_init(&d, e.buf, e.len);
	assert_int_equal(sessionizer_decode_user(a->z, 5, &d), 0);
	assert_int_equal(sessionizer_open_count(a->z), 0);
	enc_free(&e);
	zfx_free(a);
}

/* Users 0..n-1 of `from` encoded one by one and decoded into `to`. */
static void
copy_users(struct zfx *from, struct zfx *to, uint32_t n)
{
	struct enc e;
	struct dec d;
	uint32_t u;

	enc_init(&e);
	for (u = 0; u < n; u++) {
		enc_reset(&e);
		sessionizer_encode_user(from->z, u, &e);
		dec_init(&d, e.buf, e.len);
		assert_int_equal(sessionizer_decode_user(to->z, u, &d), 0);
		assert_true(dec_done(&d));
	}
	enc_free(&e);
}

/*
 * Users 0..n-1: one session each; every seventh's has four action types
 * (out of line), every fifth has a second session three gaps later.
 */
static void
add_loaded_users(struct zfx *x, uint32_t n)
{
	static const char *const types[] = { "a", "b", "c", "d" };
	uint32_t u;
	int i;

	for (u = 0; u < n; u++) {
		int64_t t = FX_T0 + u;

		zfx_add(x, u, t, 10, "a", "1", 0);
		for (i = 1; u % 7 == 0 && i < 4; i++)
			zfx_add(x, u, t + i, 0, types[i], "2", 0);
		if (u % 5 == 0)
			zfx_add(x, u, t + 3 * FX_GAP, 5, "b", "3", 0);
	}
}

/*
 * A loaded user's sessions stay packed until an event or a close needs
 * them: a fraction of the memory, written back byte for byte without
 * being unpacked, and the same sessions as ever once unpacked, also
 * after the arena was rewritten without the users unpacked before.
 */
static void
loaded_sessions_stay_packed_until_used(void **state)
{
	/* Both tables end at 27994 slots whichever load they grow at (the
	 * two sessionizers take different ones): 16000 users are above 3/4
	 * of 18663 slots and within 5/8 of 27994. */
	enum { N = 16000 };
	struct zfx *a = zfx_new(false, 0), *b = zfx_new(false, 0);
	struct enc ea, eb;
	char want[1024];
	size_t ma, mb, open;
	uint32_t u;

	(void)state;
	add_loaded_users(a, N);
	open = sessionizer_open_count(a->z);
	assert_int_equal(open, N + N / 5);
	copy_users(a, b, N);
	assert_int_equal(sessionizer_open_count(b->z), open);
	/*
	 * A summary is 64 bytes in a's pool; packed, about 17 (the time as
	 * a varint of milliseconds, the rest mostly a byte each), with the
	 * arena's growth by an eighth and the pool's one chunk beside.
	 */
	ma = sessionizer_memory(a->z);
	mb = sessionizer_memory(b->z);
	if (mb + open * 36 > ma)
		fail_msg("packed %zu bytes, unpacked %zu, %zu sessions", mb,
		    ma, open);

	/* Written back from the packed form, unpacking nothing. */
	enc_init(&ea);
	enc_init(&eb);
	for (u = 0; u < N; u++) {
		enc_reset(&ea);
		enc_reset(&eb);
		sessionizer_encode_user(a->z, u, &ea);
		sessionizer_encode_user(b->z, u, &eb);
		assert_int_equal(eb.len, ea.len);
		assert_memory_equal(eb.buf, ea.buf, ea.len);
	}
	assert_int_equal(sessionizer_memory(b->z), mb);

	/* Events extend, bridge and add sessions as they do unpacked. */
	for (u = 0; u < N; u += 3) {
		zfx_add(a, u, FX_T0 + u + FX_GAP, 0, "c", "4", 0);
		zfx_add(b, u, FX_T0 + u + FX_GAP, 0, "c", "4", 0);
		zfx_add(a, u, FX_T0 + u + 2 * FX_GAP + 1, 0, "d", "5", 0);
		zfx_add(b, u, FX_T0 + u + 2 * FX_GAP + 1, 0, "d", "5", 0);
	}
	assert_int_equal(sessionizer_open_count(b->z),
	    sessionizer_open_count(a->z));
	/* Reading every user unpacks them all, and the arena is rewritten
	 * several times meanwhile. */
	for (u = 0; u < N; u++) {
		snprintf(want, sizeof want, "%s", zfx_open(a, u));
		assert_string_equal(zfx_open(b, u), want);
	}
	enc_free(&ea);
	enc_free(&eb);
	zfx_free(a);
	zfx_free(b);
}

static int
closed_cmp(const void *a, const void *b)
{
	const struct closed *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return strcmp(x->desc, y->desc);
}

/*
 * Closing a packed user closes the sessions an unpacked one would (the
 * order may differ: a's close heap still has the deadlines the sessions
 * had when they opened, b's those they had when saved).
 */
static void
packed_sessions_close_as_unpacked(void **state)
{
	struct zfx *a = zfx_new(false, 0), *b = zfx_new(false, 0);
	size_t i;

	(void)state;
	add_loaded_users(a, 8);
	copy_users(a, b, 8);
	zfx_add(a, 3, FX_T0 + FX_GAP + 3, 0, "c", "4", 0);
	zfx_add(b, 3, FX_T0 + FX_GAP + 3, 0, "c", "4", 0);
	assert_int_equal(sessionizer_close_all(a->z), 10);
	assert_int_equal(sessionizer_close_all(b->z), 10);
	qsort(a->c, 10, sizeof a->c[0], closed_cmp);
	qsort(b->c, 10, sizeof b->c[0], closed_cmp);
	for (i = 0; i < 10; i++) {
		assert_int_equal(b->c[i].uid, a->c[i].uid);
		assert_string_equal(b->c[i].desc, a->c[i].desc);
	}
	assert_int_equal(b->c[0].uid, 0);
	assert_string_equal(b->c[0].desc, "start=+0 last=+3 end=+10 n=4 "
	    "ver=1..2 types=a:1,b:1,c:1,d:1");
	assert_int_equal(b->c[4].uid, 3);
	assert_string_equal(b->c[4].desc, "start=+3 last=+600003 "
	    "end=+600003 n=2 ver=1..4 types=a:1,c:1");
	zfx_free(a);
	zfx_free(b);
}

static void
clock_round_trip_is_exact(void **state)
{
	/* Clocks reached by: nothing; one event; idleness; negative time. */
	static const struct {
		int64_t ts, now_add, now_adv;
		int64_t want_max, want_wm;
	} rows[] = {
		{ NONE, 0, 0, INT64_MIN, INT64_MIN },
		{ FX_T0, 0, 0, FX_T0, FX_T0 - FX_GRACE },
		{ FX_T0, W, W + 2 * FX_GAP, FX_T0, FX_T0 + 2 * FX_GAP - FX_GRACE },
		{ -5000, 0, 0, -5000, -5000 - FX_GRACE },
	};
	size_t r, len;

	(void)state;
	for (r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		struct zfx *a = zfx_new(false, 0), *b = zfx_new(false, 0);
		struct enc e;
		struct dec d;

		if (rows[r].ts != NONE) {
			zfx_add(a, 1, rows[r].ts, 0, "edit", "1",
			    rows[r].now_add);
			sessionizer_advance(a->z, rows[r].now_adv);
		}
		assert_true(sessionizer_max_ts(a->z) == rows[r].want_max);
		assert_true(sessionizer_watermark(a->z) == rows[r].want_wm);
		enc_init(&e);
		sessionizer_encode_clock(a->z, &e);
		dec_init(&d, e.buf, e.len);
		assert_int_equal(sessionizer_decode_clock(b->z, &d), 0);
		assert_true(dec_done(&d));
		assert_true(sessionizer_max_ts(b->z) == rows[r].want_max);
		assert_true(sessionizer_watermark(b->z) == rows[r].want_wm);
		for (len = 0; len < e.len; len++) {
			struct zfx *c = zfx_new(false, 0);

			dec_init(&d, e.buf, len);
			assert_int_equal(sessionizer_decode_clock(c->z, &d),
			    -1);
			zfx_free(c);
		}
		enc_free(&e);
		zfx_free(a);
		zfx_free(b);
	}
}

/*
 * The wall time of the last event is not persisted: after a restart the
 * partition counts as idle from the first advance, not from the epoch
 * (which would jump the watermark decades ahead and close everything).
 */
static void
restored_clock_measures_idleness_from_restart(void **state)
{
	struct zfx *a = zfx_new(false, 0), *b = zfx_new(false, 0);
	struct enc clock, user;
	struct dec d;
	int64_t restart = W + 10 * YEAR;

	(void)state;
	zfx_add(a, 1, FX_T0, 0, "edit", "1", W);
	enc_init(&clock);
	enc_init(&user);
	sessionizer_encode_clock(a->z, &clock);
	sessionizer_encode_user(a->z, 1, &user);
	dec_init(&d, clock.buf, clock.len);
	assert_int_equal(sessionizer_decode_clock(b->z, &d), 0);
	dec_init(&d, user.buf, user.len);
	assert_int_equal(sessionizer_decode_user(b->z, 1, &d), 0);

	assert_int_equal(sessionizer_advance(b->z, restart), 0);
	assert_true(sessionizer_watermark(b->z) == FX_T0 - FX_GRACE);
	assert_int_equal(sessionizer_advance(b->z,
	    restart + FX_GAP + FX_GRACE), 0);
	assert_true(sessionizer_watermark(b->z) == FX_T0 + FX_GAP);
	assert_int_equal(sessionizer_advance(b->z,
	    restart + FX_GAP + FX_GRACE + 1), 1);
	assert_string_equal(b->c[0].desc, EDIT_AT(+0));
	enc_free(&clock);
	enc_free(&user);
	zfx_free(a);
	zfx_free(b);
}

/* 2^62 as a zigzag svar (2^63: ten bytes) and as a uvar (nine bytes). */
#define Z62	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01
#define U62	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40

static void
decode_rejects_garbage(void **state)
{
	static const struct {
		const char *what;
		uint8_t     buf[40];
		size_t      len;
	} bad[] = {
		{ "empty", { 0 }, 0 },
		{ "version 0", { 0, 0 }, 2 },
		{ "version 2", { 2, 0 }, 2 },
		{ "more sessions than bytes", { 1, 0x90, 0x4e, 0, 0 }, 5 },
		/* 2^62 encoded as svar (start) or uvar (offsets). */
		{ "start out of range", { 1, 1, Z62, 0, 0, 1, 0, 0, 0 }, 18 },
		{ "start + last offset overflows", { 1, 1, Z62, U62, 0, 1, 0,
		  0, 0 }, 26 },
		{ "last offset out of range", { 1, 1, 0, U62, 0, 1, 0, 0, 0 },
		  17 },
		{ "end offset out of range", { 1, 1, 0, 0, U62, 1, 0, 0, 0 },
		  17 },
		{ "truncated session count", { 1, 0xff, 0xff, 0xff }, 4 },
		{ "70000 action types", { 1, 1, 0, 0, 0, 1, 0, 0, 0xf0, 0xa2,
		  0x04 }, 11 },
	};
	static const struct {
		const char *what;
		uint8_t     buf[24];
		size_t      len;
	} bad_clock[] = {
		{ "version 2", { 2, 0, 0 }, 3 },
		{ "max_ts 2^62", { 1, Z62, 0 }, 12 },
		{ "watermark 2^62", { 1, 0, Z62 }, 12 },
		{ "truncated watermark", { 1, 0, 0x80 }, 3 },
	};
	uint64_t seed = 42;
	size_t i, accepted = 0;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct zfx *x = zfx_new(true, 0);
		struct dec d;

		dec_init(&d, bad[i].buf, bad[i].len);
		if (sessionizer_decode_user(x->z, 1, &d) != -1)
			fail_msg("accepted: %s", bad[i].what);
		zfx_free(x);
	}
	/* Clocks: times out of range would overflow later arithmetic. */
	for (i = 0; i < sizeof bad_clock / sizeof bad_clock[0]; i++) {
		struct zfx *x = zfx_new(false, 0);
		struct dec d;

		dec_init(&d, bad_clock[i].buf, bad_clock[i].len);
		if (sessionizer_decode_clock(x->z, &d) != -1)
			fail_msg("accepted clock: %s", bad_clock[i].what);
		assert_true(sessionizer_max_ts(x->z) == INT64_MIN);
		zfx_free(x);
	}
	/* Random bytes behind a valid version byte: never a crash, and a
	 * record that is accepted leaves a consistent sessionizer. */
	for (i = 0; i < 20000; i++) {
		struct zfx *x = zfx_new(true, 0);
		uint8_t buf[48];
		size_t len = 1 + i % 47, n;
		struct dec d;

		fx_random_bytes(&seed, buf, sizeof buf);
		buf[0] = 1;
		buf[1] &= 0x03;		/* a few sessions */
		dec_init(&d, buf, len);
		if (sessionizer_decode_user(x->z, 1, &d) == 0) {
			accepted++;
			sessionizer_sessions(x->z, 1, &n);
			assert_int_equal(sessionizer_open_count(x->z), n);
			assert_int_equal(sessionizer_close_all(x->z), n);
		}
		zfx_free(x);
	}
	assert_true(accepted > 0 && accepted < 20000);
}

/*
 * Sessionizers made one after another start their heap at different
 * capacities (64, 66, ... 94 entries, then 64 again: one growth by half),
 * so that partitions filled evenly do not all grow it at once. Seen
 * through sessionizer_memory after one session each: 2 heap entries of
 * 16 bytes apart, 16 distinct values a cycle (the user table starts at 64
 * slots in every one).
 */
static void
first_capacities_differ_between_sessionizers(void **state)
{
	enum { N = 17 };
	struct sessionizer_conf conf = { FX_GAP, FX_GRACE, 0, false };
	struct strdict *str = strdict_new();
	uint32_t ty = strdict_intern(str, strv_c("t"), NULL);
	uint32_t ver = strdict_intern(str, strv_c("1.0"), NULL);
	struct sessionizer *z[N];
	size_t mem[N], step = 2 * 16;
	int i, wraps = 0;

	(void)state;
	for (i = 0; i < N; i++) {
		z[i] = sessionizer_new(&conf, str, NULL, NULL);
		sessionizer_observe(z[i], 1000, 0);
		sessionizer_add(z[i], 0, 1000, 5, ty, ver);
		mem[i] = sessionizer_memory(z[i]);
	}
	for (i = 1; i < N; i++) {
		if (mem[i] < mem[i - 1]) {
			assert_int_equal(mem[i - 1] - mem[i], 15 * step);
			wraps++;
		} else
			assert_int_equal(mem[i] - mem[i - 1], step);
	}
	assert_int_equal(wraps, 1);	/* 17 in a row: one cycle of 16 */
	for (i = 0; i < N; i++)
		sessionizer_free(z[i]);
	strdict_free(str);
}

/*
 * The table of users with open sessions (64 slots of 16 bytes at first)
 * grows at a load of 3/4, 11/16 or 5/8 in turn: three sessionizers made
 * one after another hold 48, 44 and 40 users (in some rotation) in 64
 * slots and grow by half (96 slots) at the next one.
 */
static void
user_table_grows_at_staggered_loads(void **state)
{
	struct sessionizer_conf conf = { FX_GAP, FX_GRACE, 0, false };
	struct strdict *str = strdict_new();
	uint32_t ty = strdict_intern(str, strv_c("t"), NULL);
	uint32_t ver = strdict_intern(str, strv_c("1.0"), NULL);
	size_t fit[3], k;
	uint32_t u;

	(void)state;
	for (k = 0; k < 3; k++) {
		struct sessionizer *z = sessionizer_new(&conf, str, NULL, NULL);
		size_t m0;

		sessionizer_observe(z, FX_T0, 0);
		sessionizer_add(z, 0, FX_T0, 0, ty, ver);
		m0 = sessionizer_memory(z);
		for (u = 1; sessionizer_memory(z) == m0; u++) {
			assert_true(u < 64);
			sessionizer_add(z, u, FX_T0, 0, ty, ver);
		}
		/* Users 0..u - 1 are in; the table went to 96 slots at the
		 * last one (the heap of 64 or more entries did not grow). */
		assert_int_equal(sessionizer_memory(z) - m0, 32 * 16);
		fit[k] = u - 1;
		sessionizer_free(z);
	}
	assert_true(fit[0] != fit[1] && fit[1] != fit[2] && fit[0] != fit[2]);
	assert_int_equal(fit[0] + fit[1] + fit[2], 48 + 44 + 40);
	for (k = 0; k < 3; k++)
		assert_true(fit[k] == 48 || fit[k] == 44 || fit[k] == 40);
	strdict_free(str);
}

/*
 * In hold-open mode the table is indexed by user id and grows past the
 * highest: ids far apart, and one beyond the table's end, are found,
 * closed in deadline order, and a user never seen has no sessions.
 */
static void
hold_open_table_by_id(void **state)
{
	struct zfx *x = zfx_new(true, 0);
	size_t n, m;

	(void)state;
	zfx_add(x, 70000, FX_T0 + 2 * FX_GAP, 0, "edit", "1", 0);
	zfx_add(x, 5, FX_T0, 0, "edit", "1", 0);
	m = sessionizer_memory(x->z);
	zfx_add(x, 1000, FX_T0 + FX_GAP + 1, 0, "edit", "1", 0);
	zfx_add(x, 5, FX_T0 + 4 * FX_GAP, 0, "edit", "1", 0);
	assert_int_equal(sessionizer_memory(x->z), m);	/* no growth */
	sessionizer_sessions(x->z, 5, &n);
	assert_int_equal(n, 2);
	sessionizer_sessions(x->z, 70000, &n);
	assert_int_equal(n, 1);
	sessionizer_sessions(x->z, 200000, &n);	/* past the table */
	assert_int_equal(n, 0);
	sessionizer_sessions(x->z, 6, &n);
	assert_int_equal(n, 0);
	/* 131072 slots hold id 70000: the id past it grows the table. */
	zfx_add(x, 131072, FX_T0 + 3 * FX_GAP, 0, "edit", "1", 0);
	assert_int_equal(sessionizer_memory(x->z) - m, 131072 * 16);
	assert_int_equal(sessionizer_close_all(x->z), 5);
	assert_int_equal(x->c[0].uid, 5);
	assert_int_equal(x->c[1].uid, 1000);
	assert_int_equal(x->c[2].uid, 70000);
	assert_int_equal(x->c[3].uid, 131072);
	assert_int_equal(x->c[4].uid, 5);
	sessionizer_sessions(x->z, 70000, &n);
	assert_int_equal(n, 0);
	zfx_free(x);
}

/* ---- many users: the table follows who has a session open ---- */

enum { TU = 3300 };	/* users 1, 8, 15, ... (ids 7 apart) */

struct tfx {
	uint32_t closed[TU];	/* sessions closed, by user index */
	size_t   total;
};

static void
tfx_on_close(void *arg, uint32_t uid, const struct sess *s)
{
	struct tfx *t = arg;

	(void)s;
	assert_int_equal((uid - 1) % 7, 0);
	assert_true((uid - 1) / 7 < TU);
	t->closed[(uid - 1) / 7]++;
	t->total++;
}

struct tdue {
	int64_t  deadline;
	uint32_t idx;
};

static int
tdue_cmp(const void *a, const void *b)
{
	const struct tdue *x = a, *y = b;

	return (x->deadline > y->deadline) - (x->deadline < y->deadline);
}

/*
 * 3300 users with one session each, every tenth with a second one just
 * over a gap later, then closed in slices of 250, earliest deadline
 * first, until the watermark stops it, and the rest at close_all. After
 * every slice each user's open sessions are exactly those not among the
 * earliest closed, which checks that removing an entry (moving the ones
 * after it back) never loses another; the table shrinks after each pass
 * as users leave, but not while everything closes.
 */
static void
table_follows_users_with_open_sessions(void **state)
{
	struct sessionizer_conf conf = { FX_GAP, FX_GRACE, 0, false };
	struct strdict *str = strdict_new();
	uint32_t ty = strdict_intern(str, strv_c("t"), NULL);
	uint32_t ver = strdict_intern(str, strv_c("1.0"), NULL);
	struct tfx *t = xcalloc(1, sizeof *t);
	struct sessionizer *z = sessionizer_new(&conf, str, tfx_on_close, t);
	struct tdue *due = xcalloc(TU + TU / 10, sizeof *due);
	size_t ndue = 0, closed = 0, m_peak, i, n, got, left, slots;
	uint32_t *expect = xcalloc(TU, sizeof *expect);
	int64_t wm;

	(void)state;
	for (i = 0; i < TU; i++) {
		int64_t t1 = FX_T0 + (int64_t)i * 1000;

		sessionizer_observe(z, t1, 0);
		sessionizer_add(z, 1 + 7 * (uint32_t)i, t1, 0, ty, ver);
		due[ndue++] = (struct tdue){ t1 + FX_GAP, (uint32_t)i };
		if (i % 10 == 0) {
			sessionizer_observe(z, t1 + FX_GAP + 1, 0);
			sessionizer_add(z, 1 + 7 * (uint32_t)i,
			    t1 + FX_GAP + 1, 0, ty, ver);
			due[ndue++] = (struct tdue){ t1 + 2 * FX_GAP + 1,
			    (uint32_t)i };
		}
	}
	assert_int_equal(sessionizer_open_count(z), TU + TU / 10);
	qsort(due, ndue, sizeof *due, tdue_cmp);
	m_peak = sessionizer_memory(z);
	wm = sessionizer_watermark(z);
	for (;;) {
		got = sessionizer_advance_some(z, 0, 250);
		/* The next `got` deadlines, all before the watermark. */
		for (i = 0; i < got; i++) {
			assert_true(due[closed + i].deadline < wm);
			expect[due[closed + i].idx]++;
		}
		closed += got;
		assert_int_equal(t->total, closed);
		for (i = 0; i < TU; i++) {
			uint32_t mine = i % 10 == 0 ? 2 : 1;

			assert_int_equal(t->closed[i], expect[i]);
			sessionizer_sessions(z, 1 + 7 * (uint32_t)i, &n);
			assert_int_equal(n, mine - expect[i]);
		}
		if (got < 250)
			break;
	}
	/* The watermark stopped it, at the first deadline not before it. */
	assert_true(closed < ndue && due[closed].deadline >= wm);
	/* After each pass the table halved while under an eighth full: the
	 * users still open fill at least an eighth of what is left (3630
	 * sessions of 3300 users took 5530 slots at the peak: 64 grown by
	 * half ten times, 3687 holding at most 3/4 of that). */
	for (i = 0, left = 0; i < TU; i++)
		left += expect[i] < (i % 10 == 0 ? 2u : 1u);
	for (slots = 5530; slots > 64 && left * 8 < slots;
	    slots = slots / 2 > 64 ? slots / 2 : 64)
		;
	assert_true(left > 0 && slots < 5530);
	assert_int_equal(m_peak - sessionizer_memory(z), (5530 - slots) * 16);
	/* Closing everything leaves the table as it is (the heap and the
	 * pool keep their capacity too)... */
	assert_int_equal(sessionizer_close_all(z), ndue - closed);
	for (i = 0; i < TU; i++) {
		assert_int_equal(t->closed[i], i % 10 == 0 ? 2 : 1);
		sessionizer_sessions(z, 1 + 7 * (uint32_t)i, &n);
		assert_int_equal(n, 0);
	}
	assert_int_equal(m_peak - sessionizer_memory(z), (5530 - slots) * 16);
	/* ...until the next pass, which finds it empty: 64 slots. */
	assert_int_equal(sessionizer_advance_some(z, 0, 250), 0);
	assert_int_equal(m_peak - sessionizer_memory(z), (5530 - 64) * 16);
	sessionizer_free(z);
	strdict_free(str);
	free(expect);
	free(due);
	free(t);
}

/* ---- a user with many sessions, closed oldest first ---- */

struct shut {
	uint32_t uid;
	int64_t  start, last;
	uint64_t count;
};

struct shutlog {
	struct shut *v;
	size_t       n, cap;
};

static void
shutlog_on_close(void *arg, uint32_t uid, const struct sess *s)
{
	struct shutlog *l = arg;

	l->v = xgrow(l->v, &l->cap, l->n + 1, sizeof *l->v);
	l->v[l->n++] = (struct shut){ uid, s->start, s->last, s->count };
}

/* The sessions of uid the log holds equal, in order, the model's m[0..nm). */
static void
expect_closed(const struct shutlog *l, uint32_t uid, const struct shut *m,
    size_t nm)
{
	size_t i, k = 0;

	for (i = 0; i < l->n; i++) {
		if (l->v[i].uid != uid)
			continue;
		assert_true(k < nm);
		assert_int_equal(l->v[i].start, m[k].start);
		assert_int_equal(l->v[i].last, m[k].last);
		assert_int_equal(l->v[i].count, m[k].count);
		k++;
	}
	assert_int_equal(k, nm);
}

/*
 * Closing a user's oldest session while many are left moves the array's
 * start instead of the sessions (struct shift_hdr): 256 sessions of user
 * 7, 3 of user 8 among them. A slice of 50 closes 48 of user 7's; then
 * events extend the oldest one left, add one after the last (the block,
 * 256 from its start, is full from where the array now starts: it is
 * replaced), bridge two in the middle and add one before the first. The
 * rest closes in start order with exactly the model's contents, in this
 * sessionizer and in one the user was copied to.
 */
static void
closing_from_the_front_keeps_the_rest_in_place(void **state)
{
	enum { K = 256 };
	const int64_t unit = FX_GAP + 1000;
	struct sessionizer_conf conf = { FX_GAP, FX_GRACE, 0, false };
	struct strdict *str = strdict_new();
	uint32_t ty = strdict_intern(str, strv_c("t"), NULL);
	uint32_t ver = strdict_intern(str, strv_c("1.0"), NULL);
	struct shutlog la = { 0 }, lb = { 0 };
	struct sessionizer *a = sessionizer_new(&conf, str, shutlog_on_close,
	    &la), *b = sessionizer_new(&conf, str, shutlog_on_close, &lb);
	struct shut *m = xcalloc(K + 2, sizeof *m);
	const struct sess *left;
	struct enc e;
	struct dec d;
	size_t nm = 0, i, n;
	int j;

	(void)state;
#define T(k) (FX_T0 + (int64_t)(k) * unit)
#define ADD(z, uid, ts) do { sessionizer_observe((z), (ts), 0); \
	sessionizer_add((z), (uid), (ts), 0, ty, ver); } while (0)
	for (i = 0; i < K; i++)
		ADD(a, 7, T(i));
	for (j = 0; j < 3; j++)
		ADD(a, 8, T(10 + 20 * j) + unit / 2);
	left = sessionizer_sessions(a, 7, &n) + 48;
	/* User 8's first two are due 10.5 and 30.5 units in: 48 of user
	 * 7's among the first 50. */
	assert_int_equal(sessionizer_close_some(a, 50), 50);
	for (i = 0; i < 48; i++)
		m[nm++] = (struct shut){ 7, T(i), T(i), 1 };
	expect_closed(&la, 7, m, nm);
	/* Where they were: nothing moved. */
	assert_ptr_equal(sessionizer_sessions(a, 7, &n), left);
	assert_int_equal(n, K - 48);

	ADD(a, 7, T(48) + 500);			/* extends the first left */
	ADD(a, 7, T(K));			/* after the last */
	ADD(a, 7, T(100) + unit / 2);		/* bridges 100 and 101 */
	ADD(a, 7, T(47) + 100);			/* before the first */
	sessionizer_sessions(a, 7, &n);
	assert_int_equal(n, K - 48 + 1);
	m[nm++] = (struct shut){ 7, T(47) + 100, T(47) + 100, 1 };
	m[nm++] = (struct shut){ 7, T(48), T(48) + 500, 2 };
	for (i = 49; i < K; i++) {
		if (i == 100) {
			m[nm++] = (struct shut){ 7, T(100), T(101), 3 };
			i++;
		} else
			m[nm++] = (struct shut){ 7, T(i), T(i), 1 };
	}
	m[nm++] = (struct shut){ 7, T(K), T(K), 1 };

	/* The same sessions written out and loaded elsewhere. */
	enc_init(&e);
	sessionizer_encode_user(a, 7, &e);
	dec_init(&d, e.buf, e.len);
	assert_int_equal(sessionizer_decode_user(b, 7, &d), 0);
	assert_true(dec_done(&d));
	enc_free(&e);

	/* User 7's last ones, and user 8's last. */
	assert_int_equal(sessionizer_close_all(a), nm - 48 + 1);
	expect_closed(&la, 7, m, nm);
	assert_int_equal(sessionizer_close_all(b), nm - 48);
	expect_closed(&lb, 7, m + 48, nm - 48);
	sessionizer_sessions(a, 7, &n);
	assert_int_equal(n, 0);
#undef ADD
#undef T
	sessionizer_free(a);
	sessionizer_free(b);
	strdict_free(str);
	free(la.v);
	free(lb.v);
	free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gap_boundary_exact),
		cmocka_unit_test(out_of_order_extends_backwards),
		cmocka_unit_test(bridge_merges_in_every_order),
		cmocka_unit_test(version_tie_break_is_order_free),
		cmocka_unit_test(watermark_closes_only_past_last_plus_gap),
		cmocka_unit_test(grown_session_closes_at_its_new_deadline),
		cmocka_unit_test(advance_some_closes_due_in_slices),
		cmocka_unit_test(idle_partition_closes_by_wall_clock),
		cmocka_unit_test(idle_close_short_and_reset_by_any_event),
		cmocka_unit_test(hold_open_closes_only_at_close_all),
		cmocka_unit_test(many_sessions_close_in_deadline_order),
		cmocka_unit_test(close_all_in_deadline_then_user_order),
		cmocka_unit_test(memory_counts_out_of_line_types),
		cmocka_unit_test(first_capacities_differ_between_sessionizers),
		cmocka_unit_test(user_table_grows_at_staggered_loads),
		cmocka_unit_test(table_follows_users_with_open_sessions),
		cmocka_unit_test(hold_open_table_by_id),
		cmocka_unit_test(user_round_trip_is_exact),
		cmocka_unit_test(user_without_sessions_round_trips),
		cmocka_unit_test(clock_round_trip_is_exact),
		cmocka_unit_test(restored_clock_measures_idleness_from_restart),
		cmocka_unit_test(decode_rejects_garbage),
		cmocka_unit_test(loaded_sessions_stay_packed_until_used),
		cmocka_unit_test(packed_sessions_close_as_unpacked),
		cmocka_unit_test(closing_from_the_front_keeps_the_rest_in_place),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
