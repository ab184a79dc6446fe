/*
 * bench_rollup: cost of rolling a period up across partition engines, as
 * activityd does at every metrics emission, by exact union (rollup_period)
 * and by sums (rollup_period_sum, valid while the owners table has seen no
 * user in two partitions).
 *
 * Events like the seed's sample data (users u000001..U uniform,
 * timestamps uniform over 2023, durations uniform over 100..300000 ms,
 * metadata with three dimensions for half of the users) go to P engines by
 * the hash of the user id, as Kafka's partitioner keys them; two reporting
 * zones (UTC, America/New_York). Then, timed one after the other:
 *
 *   owners  every user of every engine recorded in an owners table;
 *   first   rollup_period_sum of every period of both kinds and zones
 *           with the sets' hashes still waiting (as --once ends): they
 *           go into the unions, the sets' own sketches stay as they are;
 *   fold    every period set's sketches brought up to date (pset_hll);
 *   union   rollup_period of every period, on the folded sketches;
 *   sum     rollup_period_sum of the same periods;
 *
 * and the rollups of every period compared (counts, sketches).
 * Times are CPU time of the (single-threaded) process.
 *
 * usage: bench_rollup [events [users [partitions]]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "engine.h"
#include "hll.h"
#include "meta.h"
#include "owners.h"
#include "rollup.h"
#include "tzcal.h"
#include "xmalloc.h"

#define NZONES		2
#define DAY0		1672531200000LL		/* 2023-01-01T00:00:00Z */

static const char *const zone_names[NZONES] = { "UTC", "America/New_York" };
static const char *const dim_values[DIM_COUNT][6] = {
	{ "US", "DE", "IN", "BR", "JP", "FR" },
	{ "iOS", "Android", "Web", "Windows", "macOS", "Linux" },
	{ "free", "basic", "premium", "enterprise", "trial", "team" },
};

static uint64_t seed = 42;

/* Knuth's MMIX LCG, its upper bits: plenty for a benchmark's data. */
static uint64_t
next_rand(void)
{
	seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return seed >> 16;
}

/* CPU time: the machine's other load does not inflate it as wall time. */
static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool
never(void *arg, int32_t partition)
{
	(void)arg;
	(void)partition;
	return false;
}

static bool
same_rollup(const struct rollup *a, const struct rollup *b)
{
	int d;
	uint16_t c;

	if (a->total != b->total || !hll_equal(a->hll, b->hll))
		return false;
	for (d = 0; d < DIM_COUNT; d++) {
		if (a->ncodes[d] != b->ncodes[d])
			return false;
		for (c = 0; c < a->ncodes[d]; c++) {
			if (a->dcount[d][c] != b->dcount[d][c] ||
			    (a->dhll[d][c] == NULL) != (b->dhll[d][c] == NULL) ||
			    (a->dhll[d][c] != NULL &&
			    !hll_equal(a->dhll[d][c], b->dhll[d][c])))
				return false;
		}
	}
	return true;
}

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000000;
	uint32_t users = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) :
	    1000000;
	size_t np = argc > 3 ? strtoul(argv[3], NULL, 10) : 64;
	struct tzcal *zones[NZONES];
	struct engine_conf conf = { 0 };
	struct engine **eng;
	struct owners *own;
	struct meta *meta = meta_new();
	char *cause = NULL, name[16];
	double t, t_owners, t_first = 0, t_fold = 0, t_union = 0, t_sum = 0;
	struct rollup **firsts;
	size_t i, e, nperiods = 0, differ = 0, sketches = 0;
	int z, k;

	if (n == 0 || users == 0 || users > 99999999 || np == 0 ||
	    np > OWNERS_MAX_PARTITION) {
		fprintf(stderr, "usage: bench_rollup [events [users "
		    "[partitions]]]\n");
		return 2;
	}
	for (z = 0; z < NZONES; z++)
		if ((zones[z] = tzcal_open(zone_names[z], &cause)) == NULL) {
			fprintf(stderr, "bench_rollup: %s\n", cause);
			return 1;
		}
	for (i = 1; i <= users; i += 2) {
		struct meta_rec rec = { 0 };
		int d;

		snprintf(name, sizeof name, "u%06zu", i);
		rec.user_id = strv_c(name);
		for (d = 0; d < DIM_COUNT; d++)
			rec.dims[d] = strv_c(dim_values[d][next_rand() % 6]);
		meta_apply(meta, &rec);
	}
	conf.sess.gap_ms = 30 * 60 * 1000;
	conf.sess.hold_open = true;
	conf.act.zones = zones;
	conf.act.n_zones = NZONES;
	conf.act.min_ms = 10000;
	conf.act.max_ms = 4 * 3600 * 1000;
	conf.act.hll_precision = HLL_DEFAULT_PRECISION;
	conf.act.dims_mask = (1u << DIM_COUNT) - 1;
	eng = xcalloc(np, sizeof *eng);
	for (e = 0; e < np; e++)
		eng[e] = engine_new(&conf, meta, &(struct engine_cb){ 0 });
	for (i = 0; i < n; i++) {
		struct event ev = { 0 };
		int len = snprintf(name, sizeof name, "u%06u",
		    (unsigned)(1 + next_rand() % users));

		ev.user_id = (struct strv){ name, (size_t)len };
		ev.ts_ms = DAY0 + (int64_t)(next_rand() % (365ULL * 86400)) *
		    1000;
		ev.duration_ms = 100 + (int64_t)(next_rand() % 299901);
		ev.action_type = STRV("page_view");
		ev.page_id = STRV("p1");
		ev.app_version = STRV("5.0.0");
		engine_add(eng[hll_hash(name, (size_t)len) % np], &ev,
		    ev.ts_ms);
	}

	own = owners_new();
	t = seconds();
	for (e = 0; e < np; e++)
		for (i = 0; i < engine_user_count(eng[e]); i++)
			owners_add(own, engine_user_hash(eng[e], (uint32_t)i),
			    (int32_t)e, never, NULL);
	t_owners = seconds() - t;

	for (z = 0; z < NZONES; z++)
		for (k = PERIOD_DAY; k <= PERIOD_MONTH; k++) {
			int32_t *per;
			size_t nper = rollup_periods(eng, np, z,
			    (enum period_kind)k, &per), j;

			firsts = xcalloc(nper ? nper : 1, sizeof *firsts);
			t = seconds();
			for (j = 0; j < nper; j++)
				firsts[j] = rollup_period_sum(eng, np, z,
				    (enum period_kind)k, per[j]);
			t_first += seconds() - t;
			t = seconds();
			for (e = 0; e < np; e++)
				for (j = 0; j < nper; j++) {
					const struct pset *s = active_find(
					    engine_active(eng[e]), z,
					    (enum period_kind)k, per[j]);

					if (s != NULL)
						(void)pset_hll(s);
				}
			t_fold += seconds() - t;
			for (j = 0; j < nper; j++) {
				struct rollup *u, *s;

				t = seconds();
				u = rollup_period(eng, np, z,
				    (enum period_kind)k, per[j]);
				t_union += seconds() - t;
				t = seconds();
				s = rollup_period_sum(eng, np, z,
				    (enum period_kind)k, per[j]);
				t_sum += seconds() - t;
				if (!same_rollup(u, s) ||
				    !same_rollup(firsts[j], s))
					differ++;
				rollup_free(firsts[j]);
				sketches += 1 + u->ncodes[0] + u->ncodes[1] +
				    u->ncodes[2];
				rollup_free(u);
				rollup_free(s);
			}
			nperiods += nper;
			free(firsts);
			free(per);
		}

	printf("bench_rollup: %zu events, %u users, %zu partitions, %zu "
	    "periods (%zu sketches each merged over the partitions)\n", n,
	    users, np, nperiods, sketches);
	printf("owners %.0f ms (%zu users, overlap %s, %.1f B per user), "
	    "first %.0f ms, fold %.0f ms, union %.0f ms, sum %.0f ms, "
	    "rollups %s\n",
	    t_owners * 1e3, owners_count(own),
	    owners_overlap(own) ? "yes" : "no",
	    (double)owners_memory(own) / (double)owners_count(own),
	    t_first * 1e3, t_fold * 1e3, t_union * 1e3, t_sum * 1e3,
	    differ ? "DIFFER" : "equal");
	owners_free(own);
	for (e = 0; e < np; e++)
		engine_free(eng[e]);
	free(eng);
	meta_free(meta);
	for (z = 0; z < NZONES; z++)
		tzcal_free(zones[z]);
	return differ ? 1 : 0;
}
