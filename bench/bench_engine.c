/*
 * bench_engine: cost of the engine alone (no Kafka, no RocksDB, no codec)
 * on events distributed like the seed's sample data: users u000001..U
 * uniform, timestamps uniform over 2023 at second resolution, durations
 * uniform over 100..300000 ms, five action types, app versions X.Y.Z;
 * metadata for half of the users. One reporting zone (UTC), `start`
 * attribution, all three dimensions, HyperLogLog precision 14.
 *
 * Four runs, each in a fresh engine:
 *   live       input in timestamp order, engine_advance and
 *              engine_clear_dirty every 1024 events (a consumer batch and
 *              a commit), sessions close as the watermark passes;
 *   hold-open  input in generated (random) order, nothing closes until
 *              engine_close_all, as `activityd --once` does;
 *   live-b, hold-b  the same through engine_add_batch, 1024 events a call.
 * Printed: ns per event, then the engine's own accounting of its memory
 * (engine_memory, sessionizer_memory, active_memory: allocated capacity,
 * not malloc overhead) per open session, per user-period entry of the
 * exact sets and per user, and the peak RSS after each run.
 *
 * usage: bench_engine [events [users]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "engine.h"
#include "meta.h"
#include "tzcal.h"
#include "xmalloc.h"

#define YEAR_START	1672531200000LL		/* 2023-01-01T00:00:00Z */
#define YEAR_SECONDS	(365LL * 86400)
#define BATCH		1024

static const char *const actions[] = {
	"page_view", "edit", "create", "delete", "share"
};
static const char *const countries[] = {
	"US", "UK", "CA", "AU", "DE", "FR", "JP", "IN", "BR", "MX"
};
static const char *const devices[] = {
	"iOS", "Android", "Web", "Windows", "macOS", "Linux"
};
static const char *const plans[] = { "free", "basic", "premium", "enterprise" };
#define NELEM(a)	(sizeof (a) / sizeof (a)[0])

/* An input event; the user id's bytes travel with it, as in a consumed
 * message (a shared table of names would add a random read per event). */
struct bev {
	int64_t  ts;
	char     name[10];	/* "u000123" */
	uint8_t  namelen;
	uint32_t user;		/* 1..U */
	uint32_t dur;
	uint8_t  action;
	uint16_t version;	/* 0..299: "5.0.0" .. "7.9.9" */
};

static uint64_t rs = 0x2545F4914F6CDD1DULL;

/* xorshift64*: plenty for a benchmark's data. */
static uint64_t
rnd(uint64_t n)
{
	rs ^= rs >> 12;
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return (rs * 0x2545F4914F6CDD1DULL) % n;
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double
peak_rss_mib(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return ru.ru_maxrss / 1024.0;		/* KiB on Linux */
}

static int
bev_cmp_ts(const void *a, const void *b)
{
	const struct bev *x = a, *y = b;

	return (x->ts > y->ts) - (x->ts < y->ts);
}

static size_t closed;

static void
on_session(void *arg, const struct session_out *o)
{
	(void)arg;
	(void)o;
	closed++;
}

struct result {
	double ns_event;
	double ns_close;	/* per session closed by engine_close_all */
	size_t open;		/* open sessions before engine_close_all */
	size_t engine_mem, sess_mem, act_mem;
	size_t entries, psets, users;
	double rss;
};

static void
run(bool hold_open, bool batch, const struct bev *ev, size_t n,
    struct tzcal *tz, struct meta *meta, struct result *r)
{
	static struct event eb[BATCH];
	struct tzcal *zones[1] = { tz };
	struct engine_conf conf = { 0 };
	struct engine_cb cb = { on_session, NULL, NULL };
	struct engine *g;
	struct pset *s;
	size_t i, pos = 0;
	double t;
	char ver[300][8];

	for (i = 0; i < 300; i++)
		snprintf(ver[i], sizeof ver[i], "%zu.%zu.%zu", 5 + i / 100,
		    i / 10 % 10, i % 10);
	conf.sess.gap_ms = 10 * 60 * 1000;
	conf.sess.grace_ms = 5 * 60 * 1000;
	conf.sess.hold_open = hold_open;
	conf.act.zones = zones;
	conf.act.n_zones = 1;
	conf.act.min_ms = 10000;
	conf.act.max_ms = 14400000;
	conf.act.hll_precision = 14;
	conf.act.dims_mask = 7;
	g = engine_new(&conf, meta, &cb);

	t = now_ns();
	for (i = 0; i < n; i++) {
		struct event *e = &eb[i % BATCH];

		e->user_id = (struct strv){ ev[i].name, ev[i].namelen };
		e->ts_ms = ev[i].ts;
		e->action_type = strv_c(actions[ev[i].action]);
		e->page_id = STRV("p00001");
		e->duration_ms = ev[i].dur;
		e->app_version = strv_c(ver[ev[i].version]);
		/* The wall clock follows event time: never idle. */
		if (!batch)
			engine_add(g, e, ev[i].ts);
		else if (i % BATCH == BATCH - 1 || i == n - 1)
			engine_add_batch(g, eb, i % BATCH + 1, ev[i].ts);
		/* A consumer batch, then the commit's end (users written
		 * and clean). */
		if (!hold_open && i % BATCH == BATCH - 1) {
			engine_advance(g, ev[i].ts);
			engine_clear_dirty(g);
		}
	}
	r->ns_event = (now_ns() - t) / (double)n;

	r->open = sessionizer_open_count(engine_sessionizer(g));
	r->engine_mem = engine_memory(g);
	r->sess_mem = sessionizer_memory(engine_sessionizer(g));
	r->act_mem = active_memory(engine_active(g));
	r->users = engine_user_count(g);
	r->entries = 0;
	r->psets = active_pset_count(engine_active(g));
	while ((s = active_next(engine_active(g), &pos)) != NULL)
		r->entries += pset_count(s);
	r->rss = peak_rss_mib();

	closed = 0;
	t = now_ns();
	engine_close_all(g);
	r->ns_close = closed ? (now_ns() - t) / (double)closed : 0;
	engine_free(g);
}

static struct meta *
make_meta(uint32_t users, const struct strv *uids)
{
	struct meta *m = meta_new();
	uint32_t u;

	for (u = 1; u <= users; u += 2) {
		struct meta_rec rec = { 0 };

		rec.user_id = uids[u];
		rec.join_date = 18262 + (int32_t)rnd(4 * 365);
		rec.dims[DIM_COUNTRY] = strv_c(countries[rnd(NELEM(countries))]);
		rec.dims[DIM_DEVICE_TYPE] = strv_c(devices[rnd(NELEM(devices))]);
		rec.dims[DIM_SUBSCRIPTION_TYPE] =
		    strv_c(plans[rnd(NELEM(plans))]);
		meta_apply(m, &rec);
	}
	return m;
}

static void
print_row(const char *mode, const struct result *r)
{
	char close[16] = "-";

	/* A handful of sessions left at the end times nothing useful. */
	if (r->open >= 10000)
		snprintf(close, sizeof close, "%.0f", r->ns_close);
	printf("%-10s %9.0f %12zu %9s %11.0f %9.1f %9.1f %9.0f\n", mode,
	    r->ns_event, r->open, close,
	    r->open ? (double)r->sess_mem / r->open : 0,
	    (double)r->act_mem / r->entries,
	    (double)(r->engine_mem - r->sess_mem - r->act_mem) / r->users,
	    r->rss);
}

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000000;
	uint32_t users = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) :
	    1000000;
	char (*names)[12];
	struct strv *uids;
	struct bev *ev, *sorted;
	struct tzcal *tz;
	struct meta *meta;
	struct result live, once, live_b, once_b;
	char *cause = NULL;
	double base_rss;
	size_t i;

	if (n == 0 || users == 0 || users > 99999999) {
		fprintf(stderr, "usage: bench_engine [events [users]]\n");
		return 2;
	}
	if ((tz = tzcal_open("UTC", &cause)) == NULL) {
		fprintf(stderr, "bench_engine: %s\n", cause);
		return 1;
	}
	names = xmalloc(((size_t)users + 1) * sizeof *names);
	uids = xmalloc(((size_t)users + 1) * sizeof *uids);
	for (i = 0; i <= users; i++)
		uids[i] = (struct strv){ names[i], (size_t)snprintf(names[i],
		    sizeof names[i], "u%06zu", i) };
	ev = xmalloc(n * sizeof *ev);
	for (i = 0; i < n; i++) {
		ev[i].user = 1 + (uint32_t)rnd(users);
		memcpy(ev[i].name, names[ev[i].user], sizeof ev[i].name);
		ev[i].namelen = (uint8_t)uids[ev[i].user].len;
		ev[i].ts = YEAR_START + (int64_t)rnd(YEAR_SECONDS) * 1000;
		ev[i].dur = 100 + (uint32_t)rnd(300000 - 100 + 1);
		ev[i].action = (uint8_t)rnd(NELEM(actions));
		ev[i].version = (uint16_t)rnd(300);
	}
	sorted = xmemdup(ev, n * sizeof *ev);
	qsort(sorted, n, sizeof *sorted, bev_cmp_ts);
	meta = make_meta(users, uids);
	base_rss = peak_rss_mib();

	run(false, false, sorted, n, tz, meta, &live);
	run(true, false, ev, n, tz, meta, &once);
	run(false, true, sorted, n, tz, meta, &live_b);
	run(true, true, ev, n, tz, meta, &once_b);

	printf("bench_engine: %zu events, %u users, 2023 UTC, metadata for "
	    "%zu users; input and metadata take %.0f MiB RSS\n", n, users,
	    meta_count(meta), base_rss);
	printf("%-10s %9s %12s %9s %11s %9s %9s %9s\n", "mode", "ns/event",
	    "open sess", "ns/close", "B/session", "B/entry", "B/user",
	    "peak MiB");
	print_row("live", &live);
	print_row("hold-open", &once);
	print_row("live-b", &live_b);
	print_row("hold-b", &once_b);
	printf("hold-open: %zu user-period entries in %zu sets; engine %.1f "
	    "MiB = sessions %.1f + sets %.1f + users %.1f\n", once.entries,
	    once.psets, once.engine_mem / 1048576.0, once.sess_mem / 1048576.0,
	    once.act_mem / 1048576.0, (once.engine_mem - once.sess_mem -
	    once.act_mem) / 1048576.0);
	printf("metadata table (shared by all partitions): %.1f MiB, %.0f B "
	    "per user with metadata\n", meta_memory(meta) / 1048576.0,
	    (double)meta_memory(meta) / (double)meta_count(meta));

	meta_free(meta);
	tzcal_free(tz);
	free(sorted);
	free(ev);
	free(uids);
	free(names);
	return 0;
}
