/*
 * activityctl tail --bootstrap B --topic T [--from-beginning]
 *     [--format avro|confluent|json] [--kind sessions|metrics|dlq] [--exit]
 *
 * Decodes the daemon's output topics to JSON lines. The consumer assigns
 * every partition itself (no group, nothing committed), from the end or
 * from the beginning; with --exit it stops once it reached the end offsets
 * it saw at start, so a script gets exactly what was there.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "codec.h"
#include "ctl.h"
#include "xmalloc.h"

#define CMD		"tail"
#define TAIL_KAFKA_MS	10000	/* metadata and watermark queries */

enum tail_kind { TAIL_SESSIONS, TAIL_METRICS, TAIL_DLQ };

struct tail_part {
	int32_t	 id;
	int64_t	 end;		/* high watermark at start (--exit) */
	bool	 done;
};

struct tail {
	const char		*topic;
	enum tail_kind		 kind;
	enum codec_format	 format;
	bool			 exit_at_end;
	struct codec		*codec;
	rd_kafka_t		*rk;
	struct tail_part	*parts;
	size_t			 nparts, ndone;
	uint64_t		 records;
};

static volatile sig_atomic_t tail_stop;

static void
tail_on_signal(int sig)
{
	(void)sig;
	tail_stop = 1;
}

/* RFC 4648 base64 with padding; caller frees. */
static char *
tail_base64(const uint8_t *p, size_t n)
{
	static const char al[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = xmalloc((n + 2) / 3 * 4 + 1), *o = out;
	uint32_t v;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = al[v >> 18];
		*o++ = al[(v >> 12) & 63];
		*o++ = al[(v >> 6) & 63];
		*o++ = al[v & 63];
	}
	if (i < n) {
		v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 :
		    0);
		*o++ = al[v >> 18];
		*o++ = al[(v >> 12) & 63];
		*o++ = i + 1 < n ? al[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

/* Bytes as a JSON string when they are UTF-8, else NULL. */
static json_t *
tail_text(const void *p, size_t n)
{
	return p == NULL ? json_null() : json_stringn(p, n);
}

/* Sets name (or name_base64 for bytes that are not UTF-8). */
static void
tail_set_bytes(json_t *o, const char *name, const void *p, size_t n)
{
	json_t *s = tail_text(p, n);
	char *b, *alt;

	if (s != NULL) {
		json_object_set_new(o, name, s);
		return;
	}
	b = tail_base64(p, n);
	alt = xasprintf("%s_base64", name);
	json_object_set_new(o, alt, json_string(b));
	free(alt);
	free(b);
}

static json_t *
tail_dlq(const rd_kafka_message_t *m)
{
	json_t *o = json_object(), *h = json_object();
	rd_kafka_headers_t *hdrs = NULL;
	const char *name;
	const void *val;
	size_t len, i;
	char *b;

	if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR)
		for (i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val,
		    &len) == RD_KAFKA_RESP_ERR_NO_ERROR; i++)
			tail_set_bytes(h, name, val, len);
	json_object_set_new(o, "headers", h);
	b = tail_base64(m->payload, m->payload ? m->len : 0);
	json_object_set_new(o, "value_base64", json_string(b));
	free(b);
	json_object_set_new(o, "value_size", json_integer((json_int_t)
	    (m->payload ? m->len : 0)));
	return o;
}

static void
tail_record(struct tail *t, const rd_kafka_message_t *m)
{
	const char *reason = NULL;
	json_t *o, *first;

	if (t->kind == TAIL_DLQ)
		o = tail_dlq(m);
	else if (m->payload == NULL)
		o = NULL, reason = "null value";
	else
		o = codec_to_json(t->codec, t->kind == TAIL_SESSIONS ?
		    CODEC_SESSION : CODEC_METRIC, t->format, m->payload,
		    m->len, &reason);
	/* The record's place first, then its fields. */
	first = json_object();
	if (m->key != NULL)
		tail_set_bytes(first, "_key", m->key, m->key_len);
	else
		json_object_set_new(first, "_key", json_null());
	json_object_set_new(first, "_partition", json_integer(m->partition));
	json_object_set_new(first, "_offset", json_integer(m->offset));
	if (o == NULL)
		json_object_set_new(first, "_error", json_string(reason ?
		    reason : "undecodable"));
	else
		json_object_update(first, o);
	json_decref(o);
	if (json_dumpf(first, stdout, JSON_COMPACT) != 0 ||
	    putchar('\n') == EOF)
		tail_stop = 1;	/* stdout is gone */
	json_decref(first);
	t->records++;
}

static struct tail_part *
tail_part(struct tail *t, int32_t id)
{
	size_t i;

	for (i = 0; i < t->nparts; i++)
		if (t->parts[i].id == id)
			return &t->parts[i];
	return NULL;
}

static void
tail_mark(struct tail *t, int32_t id, int64_t next)
{
	struct tail_part *p = tail_part(t, id);

	if (p != NULL && !p->done && next >= p->end) {
		p->done = true;
		t->ndone++;
	}
}

static int
tail_connect(struct tail *t, const char *bootstrap)
{
	static const char *const props[][2] = {
		{ "client.id", "activityctl-tail" },
		/* Needed by assign(); never joined nor committed to. */
		{ "group.id", "activityctl-tail" },
		{ "enable.auto.commit", "false" },
		{ "enable.auto.offset.store", "false" },
		{ "enable.partition.eof", "true" },
	};
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[512];
	size_t i;

	if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr,
	    sizeof errstr) != RD_KAFKA_CONF_OK)
		goto bad;
	for (i = 0; i < sizeof props / sizeof props[0]; i++)
		if (rd_kafka_conf_set(conf, props[i][0], props[i][1], errstr,
		    sizeof errstr) != RD_KAFKA_CONF_OK)
			goto bad;
	if ((t->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr,
	    sizeof errstr)) == NULL)
		goto bad;
	rd_kafka_poll_set_consumer(t->rk);
	return 0;
bad:
	rd_kafka_conf_destroy(conf);
	ctl_warn(CMD, "consumer: %s", errstr);
	return -1;
}

/* Every partition of the topic, from its start or end. */
static int
tail_assign(struct tail *t, bool from_beginning)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_topic_t *rkt;
	rd_kafka_resp_err_t err;
	int64_t lo, hi;
	int i, rc = -1;

	if ((rkt = rd_kafka_topic_new(t->rk, t->topic, NULL)) == NULL) {
		ctl_warn(CMD, "topic %s: %s", t->topic,
		    rd_kafka_err2str(rd_kafka_last_error()));
		return -1;
	}
	err = rd_kafka_metadata(t->rk, 0, rkt, &md, TAIL_KAFKA_MS);
	rd_kafka_topic_destroy(rkt);
	if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
	    md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR)
		err = md->topics[0].err;
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 ||
	    md->topics[0].partition_cnt == 0) {
		ctl_warn(CMD, "topic %s: %s", t->topic, err ?
		    rd_kafka_err2str(err) : "no partitions");
		if (md != NULL)
			rd_kafka_metadata_destroy(md);
		return -1;
	}
	t->nparts = (size_t)md->topics[0].partition_cnt;
	t->parts = xcalloc(t->nparts, sizeof *t->parts);
	l = rd_kafka_topic_partition_list_new((int)t->nparts);
	for (i = 0; i < (int)t->nparts; i++) {
		struct tail_part *p = &t->parts[i];

		p->id = md->topics[0].partitions[i].id;
		rd_kafka_topic_partition_list_add(l, t->topic, p->id)->offset =
		    from_beginning ? RD_KAFKA_OFFSET_BEGINNING :
		    RD_KAFKA_OFFSET_END;
		if (!t->exit_at_end)
			continue;
		err = rd_kafka_query_watermark_offsets(t->rk, t->topic, p->id,
		    &lo, &hi, TAIL_KAFKA_MS);
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			ctl_warn(CMD, "%s [%" PRId32 "]: %s", t->topic, p->id,
			    rd_kafka_err2str(err));
			goto out;
		}
		p->end = hi;
		/* Nothing to read: empty, or starting at the end. */
		if (!from_beginning || lo >= hi) {
			p->done = true;
			t->ndone++;
		}
	}
	if ((err = rd_kafka_assign(t->rk, l)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		ctl_warn(CMD, "assign: %s", rd_kafka_err2str(err));
		goto out;
	}
	rc = 0;
out:
	rd_kafka_topic_partition_list_destroy(l);
	rd_kafka_metadata_destroy(md);
	return rc;
}

static int
tail_run(struct tail *t)
{
	rd_kafka_message_t *m;

	while (!tail_stop && !(t->exit_at_end && t->ndone == t->nparts)) {
		if ((m = rd_kafka_consumer_poll(t->rk, 200)) == NULL)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
			tail_mark(t, m->partition, m->offset);
		else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			ctl_warn(CMD, "%s", rd_kafka_message_errstr(m));
			/* A topic or partition that went away is final. */
			if (m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
			    m->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
			    m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
				rd_kafka_message_destroy(m);
				return -1;
			}
		} else {
			tail_record(t, m);
			tail_mark(t, m->partition, m->offset + 1);
		}
		rd_kafka_message_destroy(m);
	}
	return fflush(stdout) == 0 ? 0 : -1;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: activityctl tail --bootstrap B --topic T "
	    "[--from-beginning] [--exit]\n"
	    "           [--format avro|confluent|json] "
	    "[--kind sessions|metrics|dlq]\n");
}

static int
tail_kind_parse(const char *s, enum tail_kind *out)
{
	static const char *const names[] = { "sessions", "metrics", "dlq" };
	size_t i;

	for (i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum tail_kind)i;
			return 0;
		}
	return -1;
}

int
ctl_tail(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bootstrap", required_argument, NULL, 'b' },
		{ "topic", required_argument, NULL, 't' },
		{ "from-beginning", no_argument, NULL, 'B' },
		{ "format", required_argument, NULL, 'F' },
		{ "kind", required_argument, NULL, 'k' },
		{ "exit", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct tail t = { .format = CODEC_AVRO };
	const char *bootstrap = NULL, *kind = NULL;
	struct sigaction sa = { .sa_handler = tail_on_signal };
	bool from_beginning = false;
	char *cause = NULL;
	int ch, rc = CTL_EXIT_FAIL;

	(void)ctl;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b': bootstrap = optarg; break;
		case 't': t.topic = optarg; break;
		case 'B': from_beginning = true; break;
		case 'e': t.exit_at_end = true; break;
		case 'k': kind = optarg; break;
		case 'F':
			if (codec_format_parse(optarg, &t.format) != 0)
				return ctl_usage_error(CMD, "bad --format %s",
				    optarg);
			break;
		case 'h':
			usage(stdout);
			return CTL_EXIT_OK;
		default:
			return ctl_try_help(CMD);
		}
	}
	if (optind < argc)
		return ctl_extra_args(CMD, argv[optind]);
	if (bootstrap == NULL || t.topic == NULL)
		return ctl_usage_error(CMD, "--bootstrap and --topic are "
		    "required");
	/* The daemon's default output topics name their kind. */
	if (kind == NULL)
		kind = strcmp(t.topic, "activity.sessions") == 0 ? "sessions" :
		    strcmp(t.topic, "activity.metrics") == 0 ? "metrics" :
		    strcmp(t.topic, "activity.dlq") == 0 ? "dlq" : NULL;
	if (kind == NULL)
		return ctl_usage_error(CMD, "--kind sessions|metrics|dlq is "
		    "required for topic %s", t.topic);
	if (tail_kind_parse(kind, &t.kind) != 0)
		return ctl_usage_error(CMD, "bad --kind %s", kind);

	t.codec = codec_new(codec_schema_dir(), &cause);
	if (t.codec == NULL) {
		ctl_warn(CMD, "%s", cause);
		free(cause);
		return CTL_EXIT_FAIL;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);	/* lines as they come */
	if (tail_connect(&t, bootstrap) == 0 &&
	    tail_assign(&t, from_beginning) == 0 && tail_run(&t) == 0)
		rc = CTL_EXIT_OK;
	if (t.rk != NULL) {
		rd_kafka_consumer_close(t.rk);
		rd_kafka_destroy(t.rk);
	}
	free(t.parts);
	codec_free(t.codec);
	return rc;
}
