/*
 * bench_producer: live-mode load and latency probe for a running activityd.
 *
 * Produces Avro interaction events (SPEC section 1) to TOPIC at a fixed
 * rate for SECONDS, each stamped with the current wall-clock time as its
 * event time, so the daemon's watermarks follow the wall clock. Background
 * users are u000001..U, uniform (--digits D: D digits instead of 6, e.g. 8
 * for the users of a state written by bench_state). With --admin and --sessions, it also sends
 * PROBES probe events, evenly spaced after one second of warm-up, each for a
 * fresh user id, and measures from the produce call (close only with
 * --sessions):
 *
 *   state   until GET /v1/users/{probe} on the admin address answers 200
 *           (the event is in the daemon's queryable state);
 *   close   until the probe's session-closed record (keyed by the user id)
 *           appears on the sessions topic. A probe has duration 0, so this
 *           includes the configured session gap.
 *
 * usage: bench_producer BOOTSTRAP TOPIC RATE SECONDS [--users U] [--digits D]
 *            [--probes N --admin HOST:PORT [--sessions TOPIC]] [--tag T]
 *            [--probe-log FILE]
 * Prints one line "produced N seconds S rate R", then per measured latency
 * "state|close n N lost L p50 X p99 Y max Z" in milliseconds. --probe-log
 * writes one line per probe, "user sent state close": the produce time in
 * ms since the first record and each latency in ms (-1: not seen), to
 * find out what the slow ones have in common.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "enc.h"
#include "xmalloc.h"

#define MAX_PROBES	10000

static const char *const actions[] = {
	"page_view", "edit", "create", "delete", "share"
};

struct probe {
	char          user[32];
	_Atomic double sent;	/* monotonic ms; 0 = not yet produced */
	_Atomic double state;	/* seen in /v1/users */
	_Atomic double closed;	/* session record seen */
};

static struct probe *probes;
static int nprobes;
static atomic_bool done;
static struct sockaddr_in admin_addr;

static double
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A uniform pick is all the load needs: random(3), seeded by default. */
static uint64_t
rnd(uint64_t n)
{
	return (uint64_t)random() % n;
}

/* One HTTP/1.0 GET; returns the status code, or -1. */
static int
http_status(const char *path)
{
	char req[256], resp[64];
	ssize_t n;
	size_t got = 0;
	int fd, status = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&admin_addr, sizeof admin_addr) != 0)
		goto out;
	n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\n\r\n", path);
	if (write(fd, req, (size_t)n) != n)
		goto out;
	while (got < 12 && (n = read(fd, resp + got, sizeof resp - 1 - got)) > 0)
		got += (size_t)n;
	resp[got] = '\0';
	if (got >= 12 && strncmp(resp, "HTTP/1.", 7) == 0)
		status = atoi(resp + 9);
out:
	close(fd);
	return status;
}

/* Polls the produced probes not yet seen, about once a millisecond. */
static void *
state_thread(void *arg)
{
	char path[64];
	int first = 0, i, polls;

	(void)arg;
	for (;;) {
		double deadline = mono_ms() + 1;

		/* The oldest few only: polling hundreds of waiting probes every
		 * millisecond would load the daemon's loop more than the
		 * events do. */
		for (i = first, polls = 0; i < nprobes && polls < 8; i++) {
			double sent = atomic_load(&probes[i].sent);

			if (sent == 0)
				break;
			if (atomic_load(&probes[i].state) != 0)
				continue;
			polls++;
			snprintf(path, sizeof path, "/v1/users/%s",
			    probes[i].user);
			if (http_status(path) == 200)
				atomic_store(&probes[i].state, mono_ms());
			else if (atomic_load(&done) && mono_ms() - sent > 10000)
				atomic_store(&probes[i].state, -1);	/* lost */
		}
		while (first < nprobes && atomic_load(&probes[first].state))
			first++;
		/* Done when every produced probe is seen or given up. */
		if (atomic_load(&done) && (first == nprobes ||
		    atomic_load(&probes[first].sent) == 0))
			break;
		while (mono_ms() < deadline)
			usleep(200);
	}
	return NULL;
}

struct close_arg {
	rd_kafka_t *rk;
	double      patience;	/* ms after done to keep waiting */
};

static void *
close_thread(void *arg)
{
	struct close_arg *ca = arg;
	rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(ca->rk);
	double stop = 0;

	for (;;) {
		rd_kafka_message_t *m[256];
		ssize_t k = rd_kafka_consume_batch_queue(q, 50, m, 256), j;
		double t = mono_ms();
		int pending = 0, i;

		for (j = 0; j < k; j++) {
			const char *key = m[j]->key;

			if (!m[j]->err && m[j]->key_len > 2 &&
			    m[j]->key_len < 32 && strncmp(key, "bp", 2) == 0) {
				char buf[32];

				memcpy(buf, key, m[j]->key_len);
				buf[m[j]->key_len] = '\0';
				/* "bp<tag>-<i>": the tag may hold '-'. */
				i = atoi(strrchr(buf, '-') ?
				    strrchr(buf, '-') + 1 : buf);
				if (i >= 0 && i < nprobes &&
				    strcmp(buf, probes[i].user) == 0 &&
				    atomic_load(&probes[i].closed) == 0)
					atomic_store(&probes[i].closed, t);
			}
			rd_kafka_message_destroy(m[j]);
		}
		for (i = 0; i < nprobes; i++)
			if (atomic_load(&probes[i].sent) != 0 &&
			    atomic_load(&probes[i].closed) == 0)
				pending++;
		if (atomic_load(&done)) {
			if (stop == 0)
				stop = t + ca->patience;
			if (pending == 0 || t > stop)
				break;
		}
	}
	rd_kafka_queue_destroy(q);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int
probe_log(const char *path, double t0)
{
	FILE *f = fopen(path, "w");
	int i;

	if (f == NULL)
		return -1;
	for (i = 0; i < nprobes; i++) {
		double sent = atomic_load(&probes[i].sent);
		double st = atomic_load(&probes[i].state);
		double cl = atomic_load(&probes[i].closed);

		if (sent == 0)
			continue;
		fprintf(f, "%s %.1f %.1f %.1f\n", probes[i].user, sent - t0,
		    st > 0 ? st - sent : -1, cl > 0 ? cl - sent : -1);
	}
	return fclose(f);
}

static void
report(const char *what, bool closed)
{
	double *v = xcalloc((size_t)nprobes + 1, sizeof *v);
	int n = 0, lost = 0, i;

	for (i = 0; i < nprobes; i++) {
		double sent = atomic_load(&probes[i].sent);
		double seen = closed ? atomic_load(&probes[i].closed) :
		    atomic_load(&probes[i].state);

		if (sent == 0)
			continue;
		if (seen <= 0)
			lost++;
		else
			v[n++] = seen - sent;
	}
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	if (n == 0)
		printf("%s n 0 lost %d p50 n/a p99 n/a max n/a\n", what, lost);
	else
		printf("%s n %d lost %d p50 %.1f p99 %.1f max %.1f\n", what, n,
		    lost, v[(n - 1) / 2], v[(n * 99 + 99) / 100 - 1],
		    v[n - 1]);
	free(v);
}

static rd_kafka_conf_t *
kconf(const char *bootstrap)
{
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	char err[256];

	if (rd_kafka_conf_set(c, "bootstrap.servers", bootstrap, err,
	    sizeof err) != RD_KAFKA_CONF_OK)
		fatalx("%s", err);
	return c;
}

static void
kset(rd_kafka_conf_t *c, const char *k, const char *v)
{
	char err[256];

	if (rd_kafka_conf_set(c, k, v, err, sizeof err) != RD_KAFKA_CONF_OK)
		fatalx("%s=%s: %s", k, v, err);
}

/* A consumer assigned to every partition of topic at its end. */
static rd_kafka_t *
sessions_consumer(const char *bootstrap, const char *topic)
{
	rd_kafka_conf_t *c = kconf(bootstrap);
	const struct rd_kafka_metadata *md;
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_topic_t *t;
	rd_kafka_t *rk;
	char err[256];
	int i;

	kset(c, "group.id", "bench_producer");
	kset(c, "enable.auto.commit", "false");
	kset(c, "fetch.wait.max.ms", "5");
	if ((rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err)) == NULL)
		fatalx("%s", err);
	t = rd_kafka_topic_new(rk, topic, NULL);
	if (rd_kafka_metadata(rk, 0, t, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR
	    || md->topic_cnt != 1 || md->topics[0].partition_cnt == 0)
		fatalx("no metadata for %s", topic);
	l = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
	for (i = 0; i < md->topics[0].partition_cnt; i++)
		rd_kafka_topic_partition_list_add(l, topic, i)->offset =
		    RD_KAFKA_OFFSET_END;
	rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(t);
	rd_kafka_poll_set_consumer(rk);
	if (rd_kafka_assign(rk, l) != RD_KAFKA_RESP_ERR_NO_ERROR)
		fatalx("assign %s failed", topic);
	rd_kafka_topic_partition_list_destroy(l);
	return rk;
}

static void
produce(rd_kafka_t *rk, rd_kafka_topic_t *t, struct codec *cx, struct enc *e,
    const char *user, int64_t ts, int64_t dur, const char *page)
{
	struct event ev;
	const char *reason;

	ev.user_id = strv_c(user);
	ev.ts_ms = ts;
	ev.action_type = strv_c(actions[rnd(5)]);
	ev.page_id = strv_c(page);
	ev.duration_ms = dur;
	ev.app_version = STRV("6.1.2");
	enc_reset(e);
	if (codec_encode_event(cx, CODEC_AVRO, &ev, e, &reason) != 0)
		fatalx("encode: %s", reason);
	while (rd_kafka_produce(t, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
	    e->buf, e->len, user, strlen(user), NULL) != 0) {
		if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			fatalx("produce: %s",
			    rd_kafka_err2str(rd_kafka_last_error()));
		rd_kafka_poll(rk, 1);
	}
}

int
main(int argc, char **argv)
{
	const char *admin = NULL, *sessions = NULL, *tag = "0", *plog = NULL;
	unsigned long users = 1000000;
	int digits = 6;
	double rate, seconds, t0, next_probe = 0, interval = 0, elapsed;
	struct close_arg ca = { NULL, 0 };
	pthread_t st, ct;
	rd_kafka_conf_t *c;
	rd_kafka_t *rk, *prk;
	rd_kafka_topic_t *t, *pt;
	struct codec *cx;
	struct enc e;
	char err[256], user[32], *cause = NULL;
	uint64_t n = 0;
	int i, sent = 0;

	if (argc < 5)
		goto usage;
	rate = atof(argv[3]);
	seconds = atof(argv[4]);
	for (i = 5; i < argc; i++) {
		if (i + 1 >= argc)
			goto usage;
		if (strcmp(argv[i], "--users") == 0)
			users = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--digits") == 0)
			digits = atoi(argv[++i]);
		else if (strcmp(argv[i], "--probes") == 0)
			nprobes = atoi(argv[++i]);
		else if (strcmp(argv[i], "--admin") == 0)
			admin = argv[++i];
		else if (strcmp(argv[i], "--sessions") == 0)
			sessions = argv[++i];
		else if (strcmp(argv[i], "--tag") == 0)
			tag = argv[++i];
		else if (strcmp(argv[i], "--probe-log") == 0)
			plog = argv[++i];
		else
			goto usage;
	}
	if (rate <= 0 || seconds <= 2 || users == 0 || digits < 1 ||
	    digits > 20 || nprobes < 0 ||
	    nprobes > MAX_PROBES || (nprobes > 0 && admin == NULL))
		goto usage;
	if (admin != NULL) {
		const char *colon = strrchr(admin, ':');
		char host[64];

		if (colon == NULL || (size_t)(colon - admin) >= sizeof host)
			goto usage;
		memcpy(host, admin, (size_t)(colon - admin));
		host[colon - admin] = '\0';
		admin_addr.sin_family = AF_INET;
		admin_addr.sin_port = htons((uint16_t)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &admin_addr.sin_addr) != 1)
			goto usage;
	}
	if ((cx = codec_new(ACTIVITYD_SCHEMA_DIR, &cause)) == NULL)
		fatalx("%s", cause);
	probes = xcalloc((size_t)nprobes + 1, sizeof *probes);
	for (i = 0; i < nprobes; i++)
		snprintf(probes[i].user, sizeof probes[i].user, "bp%s-%d", tag,
		    i);

	/*
	 * The load lingers 50 ms, so that a partition's batch holds some 80
	 * records at 100k/s over 64 partitions: the local broker answers a
	 * fetch with one batch per partition and finds it by walking the
	 * partition's batches from the oldest, so batches of a few records
	 * made it, not the daemon, the limit. The probes have a producer of
	 * their own that does not linger: their latency is measured from
	 * the produce call.
	 */
	c = kconf(argv[1]);
	kset(c, "linger.ms", "50");
	kset(c, "queue.buffering.max.messages", "1000000");
	kset(c, "compression.type", "lz4");
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err)) == NULL)
		fatalx("%s", err);
	t = rd_kafka_topic_new(rk, argv[2], NULL);
	c = kconf(argv[1]);
	kset(c, "linger.ms", "0");
	kset(c, "compression.type", "lz4");
	if ((prk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err)) == NULL)
		fatalx("%s", err);
	pt = rd_kafka_topic_new(prk, argv[2], NULL);

	if (nprobes > 0) {
		if (pthread_create(&st, NULL, state_thread, NULL) != 0)
			fatalx("pthread_create failed");
		if (sessions != NULL) {
			ca.rk = sessions_consumer(argv[1], sessions);
			ca.patience = 15000;
			if (pthread_create(&ct, NULL, close_thread, &ca) != 0)
				fatalx("pthread_create failed");
		}
		/* Probes from 1 s on, the last 3 s before the end, so the
		 * watermark still moves past its session. */
		interval = (seconds - 4) * 1000 / nprobes;
		next_probe = 1000;
	}
	enc_init(&e);
	t0 = mono_ms();
	while ((elapsed = mono_ms() - t0) < seconds * 1000) {
		uint64_t target = (uint64_t)(elapsed * rate / 1000);
		int64_t ts = wall_ms();

		while (n < target) {
			snprintf(user, sizeof user, "u%0*lu", digits,
			    (unsigned long)(1 + rnd(users)));
			produce(rk, t, cx, &e, user, ts, 100 + (int64_t)
			    rnd(300000 - 100 + 1), "p00001");
			n++;
			if ((n & 1023) == 0)
				rd_kafka_poll(rk, 0);
		}
		if (sent < nprobes && elapsed >= next_probe) {
			produce(prk, pt, cx, &e, probes[sent].user, wall_ms(),
			    0, "probe");
			atomic_store(&probes[sent].sent, mono_ms());
			sent++;
			next_probe += interval;
		}
		rd_kafka_poll(rk, 0);
		rd_kafka_poll(prk, 0);
		usleep(200);
	}
	elapsed = mono_ms() - t0;
	if (rd_kafka_flush(rk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    rd_kafka_flush(prk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR)
		fprintf(stderr, "bench_producer: flush timed out\n");
	atomic_store(&done, true);
	printf("produced %llu seconds %.2f rate %.0f\n", (unsigned long long)n,
	    elapsed / 1000, n / (elapsed / 1000));
	if (nprobes > 0) {
		pthread_join(st, NULL);
		report("state", false);
	}
	if (ca.rk != NULL) {
		pthread_join(ct, NULL);
		report("close", true);
		rd_kafka_consumer_close(ca.rk);
		rd_kafka_destroy(ca.rk);
	}
	if (plog != NULL && nprobes > 0 && probe_log(plog, t0) != 0)
		fprintf(stderr, "bench_producer: %s: %s\n", plog,
		    strerror(errno));
	fflush(stdout);
	enc_free(&e);
	codec_free(cx);
	rd_kafka_topic_destroy(t);
	rd_kafka_destroy(rk);
	rd_kafka_topic_destroy(pt);
	rd_kafka_destroy(prk);
	free(probes);
	return 0;
usage:
	fprintf(stderr, "usage: bench_producer BOOTSTRAP TOPIC RATE SECONDS "
	    "[--users U] [--digits D] [--probes N --admin HOST:PORT "
	    "[--sessions TOPIC]] [--tag T] [--probe-log FILE]\n");
	return 2;
}
