/*
 * bench_consumer: the physical limit for activityd's input: a bare
 * librdkafka consumer that assigns every partition of a topic from the
 * beginning and reads every record up to the end offsets seen at start,
 * doing nothing with them. Prints records, bytes and records per second.
 *
 *   bench_consumer BOOTSTRAP TOPIC [key=value librdkafka settings...]
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;
	const struct rd_kafka_metadata *md;
	rd_kafka_topic_t *t;
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_queue_t *q;
	int64_t *end, left = 0, n = 0, bytes = 0;
	int np, i;
	double t0;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_consumer BOOTSTRAP TOPIC "
		    "[key=value...]\n");
		return 2;
	}
	if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], errstr,
	    sizeof errstr) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "group.id", "bench", errstr,
	    sizeof errstr) != RD_KAFKA_CONF_OK)
		goto conferr;
	for (i = 3; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (eq == NULL)
			continue;
		*eq = '\0';
		if (rd_kafka_conf_set(conf, argv[i], eq + 1, errstr,
		    sizeof errstr) != RD_KAFKA_CONF_OK)
			goto conferr;
	}
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
	if (rk == NULL)
		goto conferr;
	t = rd_kafka_topic_new(rk, argv[2], NULL);
	if (rd_kafka_metadata(rk, 0, t, &md, 10000) != 0 ||
	    md->topic_cnt != 1) {
		fprintf(stderr, "no metadata for %s\n", argv[2]);
		return 1;
	}
	np = md->topics[0].partition_cnt;
	rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(t);
	end = calloc((size_t)np, sizeof *end);
	l = rd_kafka_topic_partition_list_new(np);
	for (i = 0; i < np; i++) {
		int64_t lo;

		if (rd_kafka_query_watermark_offsets(rk, argv[2], i, &lo,
		    &end[i], 10000) != 0)
			return 1;
		left += end[i] - lo;
		rd_kafka_topic_partition_list_add(l, argv[2], i)->offset =
		    RD_KAFKA_OFFSET_BEGINNING;
	}
	rd_kafka_poll_set_consumer(rk);
	if (rd_kafka_assign(rk, l) != 0)
		return 1;
	rd_kafka_topic_partition_list_destroy(l);
	q = rd_kafka_queue_get_consumer(rk);
	t0 = now();
	while (n < left) {
		rd_kafka_message_t *m[1024];
		ssize_t k = rd_kafka_consume_batch_queue(q, 100, m, 1024), j;

		for (j = 0; j < k; j++) {
			if (!m[j]->err) {
				n++;
				bytes += (int64_t)m[j]->len;
			}
			rd_kafka_message_destroy(m[j]);
		}
	}
	printf("records %lld bytes %lld seconds %.3f records/s %.0f\n",
	    (long long)n, (long long)bytes, now() - t0, n / (now() - t0));
	rd_kafka_queue_destroy(q);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	free(end);
	return 0;
conferr:
	fprintf(stderr, "%s\n", errstr);
	return 2;
}
