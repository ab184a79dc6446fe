/*
 * bench_tzcal: cost of tzcal_open and of tzcal_day for random instants
 * within one year, after warm-up, per zone.
 *
 * usage: bench_tzcal [calls-per-zone]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tzcal.h"
#include "xmalloc.h"

#define NTS	(1 << 20)

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	static const char *zones[] = {
		"UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe",
		"America/Sao_Paulo",
	};
	long calls = argc > 1 ? atol(argv[1]) : 50000000L;
	int64_t lo = (int64_t)tzcal_days_from_civil(2023, 1, 1) * TZCAL_DAY_MS;
	int64_t *ts = xmalloc(NTS * sizeof *ts);
	uint64_t x = 88172645463325252ULL;
	size_t k;
	long i;

	if (calls <= 0)
		fatalx("usage: bench_tzcal [calls-per-zone]");
	for (i = 0; i < NTS; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		ts[i] = lo + (int64_t)(x % (uint64_t)(365 * TZCAL_DAY_MS));
	}
	for (k = 0; k < sizeof zones / sizeof zones[0]; k++) {
		char *cause = NULL;
		double t0 = now_ns(), t1, t2;
		struct tzcal *z = tzcal_open(zones[k], &cause);
		int64_t sum = 0;

		if (z == NULL)
			fatalx("%s", cause);
		t1 = now_ns();
		for (i = 0; i < NTS; i++)		/* warm-up */
			sum += tzcal_day(z, ts[i]);
		t2 = now_ns();
		for (i = 0; i < calls; i++)
			sum += tzcal_day(z, ts[i & (NTS - 1)]);
		printf("%-22s open %7.0f us  day %5.1f ns/call  (sum %lld)\n",
		    zones[k], (t1 - t0) / 1e3, (now_ns() - t2) / calls,
		    (long long)sum);
		tzcal_free(z);
	}
	free(ts);
	return 0;
}
