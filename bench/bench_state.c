/*
 * bench_state: writes a large activityd state directory without Kafka, for
 * the restart benchmark. USERS distinct users (u00000001..), each with one
 * active event two hours before now (so every user is in today's DAU and
 * this month's MAU and has one closed session), spread over PARTITIONS
 * partitions the way librdkafka's default partitioner spreads keys
 * (CRC32 of the key), persisted through the daemon's own layouts
 * (connectors/persist.h) with the settings of the default configuration
 * (UTC, precision 14, all dimensions) and the next offset of every
 * partition of TOPIC set to OFFSET. No session is left open.
 *
 * usage: bench_state DIR USERS PARTITIONS TOPIC [OFFSET]
 * Prints users, partitions, seconds, and the size of the state directory is
 * left to the caller (du).
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "meta.h"
#include "persist.h"
#include "store.h"
#include "tzcal.h"
#include "xmalloc.h"

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct engine_conf conf;
	struct engine_cb cb = { NULL, NULL, NULL };
	struct store_opts so = { 0 };
	struct tzcal *zones[1];
	struct engine **eng;
	struct store *st;
	struct store_batch *b;
	struct meta *meta;
	char *cause = NULL, name[16];
	unsigned long users, u;
	long long offset = argc > 5 ? atoll(argv[5]) : 0;
	int np, p;
	int64_t ts;
	double t0 = mono_s();

	if (argc < 5 || (users = strtoul(argv[2], NULL, 10)) == 0 ||
	    users > 99999999 || (np = atoi(argv[3])) <= 0 || np > 10000 ||
	    offset < 0) {
		fprintf(stderr, "usage: bench_state DIR USERS PARTITIONS TOPIC "
		    "[OFFSET]\n");
		return 2;
	}
	if ((zones[0] = tzcal_open("UTC", &cause)) == NULL)
		fatalx("%s", cause);
	/* The defaults of config/activityd.conf. */
	conf = (struct engine_conf){
		.sess = { .gap_ms = 600000, .grace_ms = 300000,
		    .hold_open = true },
		.act = { .zones = zones, .n_zones = 1, .min_ms = 10000,
		    .max_ms = 14400000, .hll_precision = 14, .dims_mask = 7 },
	};
	meta = meta_new();
	eng = xcalloc((size_t)np, sizeof *eng);
	for (p = 0; p < np; p++)
		eng[p] = engine_new(&conf, meta, &cb);

	ts = (int64_t)time(NULL) * 1000 - 2 * 3600 * 1000;
	for (u = 1; u <= users; u++) {
		struct event e;
		int len = snprintf(name, sizeof name, "u%08lu", u);

		e.user_id = (struct strv){ name, (size_t)len };
		e.ts_ms = ts + (int64_t)(u % 3600) * 1000;
		e.action_type = STRV("page_view");
		e.page_id = STRV("p00001");
		e.duration_ms = 60000;
		e.app_version = STRV("6.1.2");
		p = rd_kafka_msg_partitioner_consistent(NULL, name, (size_t)len,
		    np, NULL, NULL);
		engine_add(eng[p], &e, e.ts_ms);
	}

	so.memory_limit = STORE_MEMORY_LIMIT_DEFAULT;
	if ((st = store_open(argv[1], &so, &cause)) == NULL)
		fatalx("%s", cause);
	b = store_batch_new();
	persist_put_settings(b, zones, 1, 14);
	for (p = 0; p < np; p++) {
		engine_close_all(eng[p]);
		persist_save_partition(b, eng[p], p, zones);
		persist_put_offset(b, argv[4], p, offset);
		if (store_write(st, b, &cause) != 0)
			fatalx("%s", cause);
		store_batch_clear(b);
		engine_free(eng[p]);
	}
	store_batch_free(b);
	/* As the daemon leaves its state at a clean stop: no log to replay
	 * (the restart benchmark's first start measured that replay). */
	if (store_flush(st, true, &cause) != 0)
		fatalx("%s", cause);
	store_close(st);
	printf("users %lu partitions %d seconds %.1f\n", users, np,
	    mono_s() - t0);
	free(eng);
	meta_free(meta);
	tzcal_free(zones[0]);
	return 0;
}
