/*
 * activityctl load: a CSV file of interactions or metadata -> one Kafka
 * record per row, keyed by user_id, valued by the codec (avro, confluent
 * or json).
 *
 * The first row is the header; columns are found by name, so their order
 * is free and extra columns are ignored. A bad row (malformed CSV, wrong
 * field count, unparsable value, a value event_validate/meta_validate
 * refuses, or one the codec cannot encode) is reported as
 * "FILE:LINE: reason" on stderr and skipped.
 *
 * The producer is idempotent and batches for throughput; QUEUE_FULL is
 * met by serving delivery reports and retrying. Every record gets exactly
 * one delivery report: only those that succeed count as loaded, failures
 * are reported with their row's line and make the exit status 1. Record
 * timestamps are left to the producer (the time of loading): stamping 2023
 * event times on records would make a real broker's time-based retention
 * delete them at once.
 *
 * --sort reads and encodes the whole file first, then produces in
 * (timestamp, line) order; without it rows stream through in file order.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "codec.h"
#include "csv.h"
#include "ctl.h"
#include "event.h"
#include "tzcal.h"
#include "xmalloc.h"

#define LOAD_CMD		"load"
#define LOAD_NCOLS		6
#define LOAD_SHOW_FAILS		10	/* delivery failures shown one by one */
#define LOAD_VALUE_SHOWN	64	/* bytes of a bad value quoted back */
#define LOAD_POLL_EVERY		1024	/* rows between rd_kafka_poll calls */
#define LOAD_FLUSH_GRACE_MS	30000	/* beyond message.timeout.ms */
#define LOAD_MSG_TIMEOUT	"60000"
#define LOAD_CONNECT_MS		10000

enum load_kind { LOAD_INTERACTIONS, LOAD_METADATA };

/* Column order of each kind; the header may order them differently. */
enum { C_USER, C_TS, C_ACTION, C_PAGE, C_DURATION, C_APP };
enum { M_USER, M_JOIN, M_COUNTRY, M_DEVICE, M_PLAN };

static const char *const load_columns[2][LOAD_NCOLS] = {
	{ "user_id", "timestamp", "action_type", "page_id", "duration_ms",
	  "app_version" },
	{ "user_id", "join_date", "country", "device_type",
	  "subscription_type", NULL },
};

/* One encoded record kept for --sort: key and value live in the arena. */
struct load_rec {
	int64_t		ts_ms;
	uint64_t	line;
	size_t		off;
	uint32_t	klen;
	uint32_t	vlen;
};

struct load {
	enum load_kind		 kind;
	enum codec_format	 format;
	const char		*path;
	const char		*bootstrap;
	const char		*topic;
	bool			 sort;
	char			**props;	/* -X key=value, in order */
	size_t			 nprops;

	struct codec		*codec;
	rd_kafka_t		*rk;
	rd_kafka_topic_t	*rkt;
	struct csv		*csv;
	int			 fd;
	uint64_t		 size;		/* of the file, for progress */

	int			 col[LOAD_NCOLS];
	size_t			 ncols;		/* of the header */
	struct enc		 val;

	struct enc		 arena;		/* --sort only */
	struct load_rec		*recs;
	size_t			 nrecs;
	size_t			 caprecs;

	uint64_t		 rows;		/* data rows read */
	uint64_t		 rejected;
	uint64_t		 produced;	/* handed to librdkafka */
	uint64_t		 delivered;	/* acknowledged */
	uint64_t		 failed;	/* refused or not acknowledged */
	int64_t			 next_progress;
};

/* --- delivery ---------------------------------------------------------- */

static void
load_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct load *l = opaque;

	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		l->delivered++;
		return;
	}
	if (l->failed++ < LOAD_SHOW_FAILS)
		fprintf(stderr, "%s:%llu: delivery failed: %s\n", l->path,
		    (unsigned long long)(uintptr_t)m->_private,
		    rd_kafka_err2str(m->err));
}

/* Transport errors are already in librdkafka's log; show the rest. */
static void
load_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	char fatal[512];

	if (err == RD_KAFKA_RESP_ERR__TRANSPORT ||
	    err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
		return;
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		err = rd_kafka_fatal_error(rk, fatal, sizeof fatal);
		reason = fatal;
	}
	ctl_warn(LOAD_CMD, "kafka: %s: %s",
	    rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void
load_progress(struct load *l, const char *what, uint64_t done, uint64_t total,
    const char *unit)
{
	int64_t now = ctl_now_ms();

	if (now < l->next_progress)
		return;
	l->next_progress = now + 1000;
	if (total > 0)
		fprintf(stderr, "%s: %llu/%llu %s (%d%%)\n", what,
		    (unsigned long long)done, (unsigned long long)total,
		    unit, (int)(done * 100 / total));
}

/*
 * Produces one record (copied by librdkafka). Returns 0, or -1 on an error
 * that stops the load; a per-record refusal counts as a failed delivery.
 */
static int
load_produce(struct load *l, const void *key, size_t klen, const void *val,
    size_t vlen, uint64_t line)
{
	rd_kafka_resp_err_t err;

	for (;;) {
		err = rd_kafka_producev(l->rk,
		    RD_KAFKA_V_RKT(l->rkt),
		    RD_KAFKA_V_KEY(key, klen),
		    RD_KAFKA_V_VALUE((void *)val, vlen),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		    RD_KAFKA_V_OPAQUE((void *)(uintptr_t)line),
		    RD_KAFKA_V_END);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		rd_kafka_poll(l->rk, 100);	/* serve reports, make room */
	}
	switch (err) {
	case RD_KAFKA_RESP_ERR_NO_ERROR:
		l->produced++;
		if (l->produced % LOAD_POLL_EVERY == 0)
			rd_kafka_poll(l->rk, 0);
		return 0;
	case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
	case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
		l->produced++;		/* settled at once: no report comes */
		if (l->failed++ < LOAD_SHOW_FAILS)
			fprintf(stderr, "%s:%llu: produce: %s\n", l->path,
			    (unsigned long long)line, rd_kafka_err2str(err));
		return 0;
	default:
		ctl_warn(LOAD_CMD, "produce to %s: %s", l->topic,
		    rd_kafka_err2str(err));
		return -1;
	}
}

/*
 * Waits until every record has its delivery report. librdkafka reports
 * each one within message.timeout.ms; the grace guards against a stuck
 * client, and whatever is still queued then counts as failed.
 */
static void
load_flush(struct load *l, int64_t timeout_ms)
{
	int64_t	deadline = ctl_now_ms() + timeout_ms + LOAD_FLUSH_GRACE_MS;
	int	left;

	while ((left = rd_kafka_outq_len(l->rk)) > 0 &&
	    ctl_now_ms() < deadline) {
		rd_kafka_flush(l->rk, 1000);
		if (l->delivered + l->failed < l->produced)
			load_progress(l, "delivering", l->delivered + l->failed,
			    l->produced, "records");
	}
	if (left > 0 && l->delivered + l->failed < l->produced) {
		uint64_t lost = l->produced - l->delivered - l->failed;

		ctl_warn(LOAD_CMD, "%llu records still queued after flush",
		    (unsigned long long)lost);
		l->failed += lost;
	}
}

/*
 * Sum of the low watermarks of the topic's partitions, 0 for a topic that
 * does not exist yet, -1 if unknown. It grows when the broker deletes old
 * records: the mock broker does so beyond ~5 MB per partition, silently.
 */
static int64_t
load_low_sum(struct load *l)
{
	const struct rd_kafka_metadata	*md;
	const struct rd_kafka_metadata_topic *t;
	int64_t				 sum = 0, lo, hi;
	int				 i;

	if (rd_kafka_metadata(l->rk, 0, l->rkt, &md, LOAD_CONNECT_MS) !=
	    RD_KAFKA_RESP_ERR_NO_ERROR)
		return -1;
	t = md->topic_cnt == 1 ? &md->topics[0] : NULL;
	if (t == NULL || t->err != RD_KAFKA_RESP_ERR_NO_ERROR)
		sum = t != NULL && t->partition_cnt == 0 ? 0 : -1;
	for (i = 0; sum >= 0 && t != NULL && i < t->partition_cnt; i++) {
		if (rd_kafka_query_watermark_offsets(l->rk, l->topic,
		    t->partitions[i].id, &lo, &hi, LOAD_CONNECT_MS) !=
		    RD_KAFKA_RESP_ERR_NO_ERROR)
			sum = -1;
		else
			sum += lo;
	}
	rd_kafka_metadata_destroy(md);
	return sum;
}

/* --- rows -------------------------------------------------------------- */

static void
load_reject(struct load *l, uint64_t line, const char *reason,
    const struct strv *value)
{
	l->rejected++;
	if (value == NULL) {
		fprintf(stderr, "%s:%llu: %s\n", l->path,
		    (unsigned long long)line, reason);
		return;
	}
	fprintf(stderr, "%s:%llu: %s \"%.*s%s\"\n", l->path,
	    (unsigned long long)line, reason,
	    (int)(value->len > LOAD_VALUE_SHOWN ? LOAD_VALUE_SHOWN : value->len),
	    value->p, value->len > LOAD_VALUE_SHOWN ? "..." : "");
}

/* Strict optional '-' then decimal digits, no overflow; 0 ok, -1 bad. */
static int
load_parse_i64(struct strv s, int64_t *out)
{
	uint64_t	v = 0, lim;
	size_t		i = 0;
	bool		neg = s.len > 0 && s.p[0] == '-';

	if (neg)
		i++;
	if (i == s.len)
		return -1;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < s.len; i++) {
		unsigned d = (unsigned char)s.p[i] - '0';

		if (d > 9 || v > (lim - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/*
 * Turns a data row into an encoded value in *out (appended). Returns 0,
 * or -1 with the row rejected; *ts_ms gets the event time (0 for
 * metadata), *key the user_id.
 */
static int
load_encode_row(struct load *l, const struct csv_row *row, struct enc *out,
    int64_t *ts_ms, struct strv *key)
{
	const struct strv	*f = row->fields;
	const struct strv	*shown = NULL;	/* the bad value, if one */
	const int		*c = l->col;
	const char		*reason = NULL;
	char			 msg[64];

	if (row->nfields != l->ncols) {
		snprintf(msg, sizeof msg, "expected %zu fields, got %zu",
		    l->ncols, row->nfields);
		load_reject(l, row->line, msg, NULL);
		return -1;
	}
	*ts_ms = 0;
	if (l->kind == LOAD_INTERACTIONS) {
		struct event ev;

		ev.user_id = f[c[C_USER]];
		ev.action_type = f[c[C_ACTION]];
		ev.page_id = f[c[C_PAGE]];
		ev.app_version = f[c[C_APP]];
		if (tzcal_parse_utc_timestamp(f[c[C_TS]].p, f[c[C_TS]].len,
		    &ev.ts_ms) != 0) {
			reason = "bad timestamp";
			shown = &f[c[C_TS]];
		} else if (load_parse_i64(f[c[C_DURATION]],
		    &ev.duration_ms) != 0) {
			reason = "bad duration_ms";
			shown = &f[c[C_DURATION]];
		} else if (event_validate(&ev, &reason) &&
		    codec_encode_event(l->codec, l->format, &ev, out,
		    &reason) == 0) {
			*ts_ms = ev.ts_ms;
			*key = ev.user_id;
			return 0;
		}
	} else {
		struct meta_rec m;

		memset(&m, 0, sizeof m);
		m.user_id = f[c[M_USER]];
		m.dims[DIM_COUNTRY] = f[c[M_COUNTRY]];
		m.dims[DIM_DEVICE_TYPE] = f[c[M_DEVICE]];
		m.dims[DIM_SUBSCRIPTION_TYPE] = f[c[M_PLAN]];
		/* Fields are NUL-terminated by the reader. */
		if (tzcal_parse_day(f[c[M_JOIN]].p, &m.join_date) != 0) {
			reason = "bad join_date";
			shown = &f[c[M_JOIN]];
		} else if (meta_validate(&m, &reason) &&
		    codec_encode_meta(l->codec, l->format, &m, out,
		    &reason) == 0) {
			*key = m.user_id;
			return 0;
		}
	}
	load_reject(l, row->line, reason, shown);
	return -1;
}

/* Maps the header's columns; -1 (reported) if one is missing or doubled. */
static int
load_header(struct load *l, const struct csv_row *row)
{
	const char *const	*want = load_columns[l->kind];
	size_t			 i, j;

	for (i = 0; i < LOAD_NCOLS; i++)
		l->col[i] = -1;
	for (j = 0; j < row->nfields; j++) {
		for (i = 0; i < LOAD_NCOLS && want[i] != NULL; i++) {
			if (strcmp(row->fields[j].p, want[i]) != 0)
				continue;
			if (l->col[i] != -1) {
				ctl_warn(LOAD_CMD, "%s:%llu: column %s appears "
				    "twice", l->path,
				    (unsigned long long)row->line, want[i]);
				return -1;
			}
			l->col[i] = (int)j;
		}
	}
	for (i = 0; i < LOAD_NCOLS && want[i] != NULL; i++) {
		if (l->col[i] == -1) {
			ctl_warn(LOAD_CMD, "%s:%llu: header lacks column %s",
			    l->path, (unsigned long long)row->line, want[i]);
			return -1;
		}
	}
	l->ncols = row->nfields;
	return 0;
}

static int
load_rec_cmp(const void *a, const void *b)
{
	const struct load_rec *x = a, *y = b;

	if (x->ts_ms != y->ts_ms)
		return x->ts_ms < y->ts_ms ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Encodes one data row and produces it now, or keeps it for --sort. */
static int
load_row(struct load *l, const struct csv_row *row)
{
	struct load_rec	*r;
	struct strv	 key;
	int64_t		 ts;
	size_t		 start = l->arena.len;

	if (!l->sort) {
		enc_reset(&l->val);
		if (load_encode_row(l, row, &l->val, &ts, &key) != 0)
			return 0;
		return load_produce(l, key.p, key.len, l->val.buf, l->val.len,
		    row->line);
	}
	if (load_encode_row(l, row, &l->arena, &ts, &key) != 0)
		return 0;
	l->recs = xgrow(l->recs, &l->caprecs, l->nrecs + 1, sizeof *l->recs);
	r = &l->recs[l->nrecs++];
	r->ts_ms = ts;
	r->line = row->line;
	r->vlen = (uint32_t)(l->arena.len - start);
	r->klen = (uint32_t)key.len;
	/* The value went in first; the key follows it. */
	enc_raw(&l->arena, key.p, key.len);
	r->off = start;
	return 0;
}

static int
load_sorted(struct load *l)
{
	size_t i;

	ctl_warn(LOAD_CMD, "sorting %zu records", l->nrecs);
	qsort(l->recs, l->nrecs, sizeof *l->recs, load_rec_cmp);
	l->next_progress = ctl_now_ms() + 1000;
	for (i = 0; i < l->nrecs; i++) {
		const struct load_rec *r = &l->recs[i];
		const uint8_t *v = l->arena.buf + r->off;

		if (load_produce(l, v + r->vlen, r->klen, v, r->vlen,
		    r->line) < 0)
			return -1;
		load_progress(l, "producing", i + 1, l->nrecs, "records");
	}
	return 0;
}

/* Reads the file; returns 0, or -1 after a fatal (already reported) error. */
static int
load_file(struct load *l)
{
	struct csv_row	row;
	bool		header = true;
	int		st;

	l->next_progress = ctl_now_ms() + 1000;	/* quiet when quick */
	while ((st = csv_next(l->csv, &row)) != CSV_EOF) {
		if (st == CSV_ERROR) {
			ctl_warn(LOAD_CMD, "%s: %s", l->path, row.error);
			return -1;
		}
		if (header) {
			if (st == CSV_BAD) {
				ctl_warn(LOAD_CMD, "%s:%llu: bad header: %s",
				    l->path, (unsigned long long)row.line,
				    row.error);
				return -1;
			}
			if (load_header(l, &row) < 0)
				return -1;
			header = false;
			continue;
		}
		l->rows++;
		if (st == CSV_BAD)
			load_reject(l, row.line, row.error, NULL);
		else if (load_row(l, &row) < 0)
			return -1;
		if ((l->rows & 1023) == 0)
			load_progress(l, "reading", csv_offset(l->csv), l->size,
			    "bytes");
	}
	if (header) {
		ctl_warn(LOAD_CMD, "%s: empty file, no header", l->path);
		return -1;
	}
	return l->sort ? load_sorted(l) : 0;
}

/* --- setup ------------------------------------------------------------- */

static int
load_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
	char errstr[512];

	if (rd_kafka_conf_set(conf, key, value, errstr, sizeof errstr) !=
	    RD_KAFKA_CONF_OK) {
		ctl_warn(LOAD_CMD, "%s=%s: %s", key, value, errstr);
		return -1;
	}
	return 0;
}

/*
 * The producer, and a first metadata round trip so that an unreachable
 * broker fails within LOAD_CONNECT_MS (or message.timeout.ms if shorter)
 * rather than after every record timed out.
 */
static int
load_connect(struct load *l, int64_t *msg_timeout)
{
	static const char *const defaults[][2] = {
		{ "client.id",				"activityctl-load" },
		{ "enable.idempotence",			"true" },
		{ "linger.ms",				"5" },
		{ "batch.size",				"1000000" },
		{ "compression.type",			"lz4" },
		{ "queue.buffering.max.messages",	"500000" },
		{ "message.timeout.ms",			LOAD_MSG_TIMEOUT },
	};
	const struct rd_kafka_metadata	*md = NULL;
	rd_kafka_conf_t			*conf = rd_kafka_conf_new();
	rd_kafka_resp_err_t		 err;
	char				 errstr[512], value[32];
	size_t				 i, vlen = sizeof value;

	if (load_conf_set(conf, "bootstrap.servers", l->bootstrap) < 0)
		goto fail;
	for (i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
		if (load_conf_set(conf, defaults[i][0], defaults[i][1]) < 0)
			goto fail;
	}
	for (i = 0; i < l->nprops; i++) {
		char *eq = strchr(l->props[i], '=');

		*eq = '\0';
		if (load_conf_set(conf, l->props[i], eq + 1) < 0)
			goto fail;
	}
	if (rd_kafka_conf_get(conf, "message.timeout.ms", value, &vlen) !=
	    RD_KAFKA_CONF_OK)
		goto fail;
	*msg_timeout = strtoll(value, NULL, 10);
	rd_kafka_conf_set_opaque(conf, l);
	rd_kafka_conf_set_dr_msg_cb(conf, load_dr_cb);
	rd_kafka_conf_set_error_cb(conf, load_error_cb);

	l->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
	if (l->rk == NULL) {
		ctl_warn(LOAD_CMD, "rd_kafka_new: %s", errstr);
		goto fail;
	}
	conf = NULL;		/* owned by rk now */
	l->rkt = rd_kafka_topic_new(l->rk, l->topic, NULL);
	if (l->rkt == NULL) {
		ctl_warn(LOAD_CMD, "topic %s: %s", l->topic,
		    rd_kafka_err2str(rd_kafka_last_error()));
		return -1;
	}
	err = rd_kafka_metadata(l->rk, 0, l->rkt, &md,
	    (int)(*msg_timeout < LOAD_CONNECT_MS ? *msg_timeout :
	    LOAD_CONNECT_MS));
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		ctl_warn(LOAD_CMD, "cannot reach broker %s: %s", l->bootstrap,
		    rd_kafka_err2str(err));
		return -1;
	}
	rd_kafka_metadata_destroy(md);
	return 0;
fail:
	if (conf != NULL)
		rd_kafka_conf_destroy(conf);
	return -1;
}

static int
load_open(struct load *l)
{
	struct stat	 st;
	char		*cause = NULL;

	/* "-" is standard input, shown as "stdin" in row reports. */
	if (strcmp(l->path, "-") == 0) {
		l->path = "stdin";
		l->fd = dup(STDIN_FILENO);
	} else
		l->fd = open(l->path, O_RDONLY | O_CLOEXEC);
	if (l->fd < 0 || fstat(l->fd, &st) != 0) {
		ctl_warn(LOAD_CMD, "%s: %s", l->path, strerror(errno));
		return -1;
	}
	if (S_ISREG(st.st_mode))
		l->size = (uint64_t)st.st_size;
	l->csv = csv_new_fd(l->fd, 0);

	l->codec = codec_new(codec_schema_dir(), &cause);
	if (l->codec == NULL) {
		ctl_warn(LOAD_CMD, "%s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

static void
load_close(struct load *l)
{
	if (l->rkt != NULL)
		rd_kafka_topic_destroy(l->rkt);
	if (l->rk != NULL)
		rd_kafka_destroy(l->rk);
	codec_free(l->codec);
	csv_free(l->csv);
	if (l->fd >= 0)
		close(l->fd);
	enc_free(&l->val);
	enc_free(&l->arena);
	free(l->recs);
	free(l->props);
}

static void
load_usage(FILE *out)
{
	fprintf(out,
	    "usage: activityctl load --kind interactions|metadata --csv FILE\n"
	    "                        --bootstrap HOST:PORT --topic TOPIC\n"
	    "                        [--format avro|confluent|json] [--sort]"
	    " [-X key=value]...\n"
	    "\n"
	    "Produces one record per CSV row, keyed by user_id. Bad rows are"
	    " reported\n"
	    "on stderr as FILE:LINE: reason and skipped. The last stdout line"
	    " is\n"
	    "'loaded N records, rejected M rows'.\n"
	    "\n"
	    "  --kind K         interactions or metadata (the CSV's columns)\n"
	    "  --csv FILE       the CSV file, with a header row; - for stdin\n"
	    "  --bootstrap B    Kafka bootstrap servers\n"
	    "  --topic T        the topic to produce to\n"
	    "  --format F       value encoding: avro (default), confluent,"
	    " json\n"
	    "  --sort           produce in timestamp order (interactions"
	    " only)\n"
	    "  -X key=value     a librdkafka producer property (repeatable)\n");
}

int
ctl_load(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "kind",	required_argument,	NULL, 'k' },
		{ "csv",	required_argument,	NULL, 'c' },
		{ "bootstrap",	required_argument,	NULL, 'b' },
		{ "topic",	required_argument,	NULL, 't' },
		{ "format",	required_argument,	NULL, 'f' },
		{ "sort",	no_argument,		NULL, 's' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct load	 l;
	const char	*kind = NULL;
	int64_t		 msg_timeout = 0, low, dropped;
	int		 ch, rc = CTL_EXIT_FAIL;
	size_t		 cap = 0;

	memset(&l, 0, sizeof l);
	l.fd = -1;
	l.format = CODEC_AVRO;
	while ((ch = getopt_long(argc, argv, "hX:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			kind = optarg;
			break;
		case 'c':
			l.path = optarg;
			break;
		case 'b':
			l.bootstrap = optarg;
			break;
		case 't':
			l.topic = optarg;
			break;
		case 'f':
			if (codec_format_parse(optarg, &l.format) != 0) {
				free(l.props);
				return ctl_usage_error(LOAD_CMD,
				    "bad --format: %s", optarg);
			}
			break;
		case 's':
			l.sort = true;
			break;
		case 'X':
			if (strchr(optarg, '=') == NULL ||
			    optarg[0] == '=') {
				free(l.props);
				return ctl_usage_error(LOAD_CMD,
				    "-X wants key=value: %s", optarg);
			}
			l.props = xgrow(l.props, &cap, l.nprops + 1,
			    sizeof *l.props);
			l.props[l.nprops++] = optarg;
			break;
		case 'h':
			free(l.props);
			load_usage(stdout);
			return CTL_EXIT_OK;
		default:
			free(l.props);
			return ctl_try_help(LOAD_CMD);
		}
	}
	if (optind < argc)
		rc = ctl_extra_args(LOAD_CMD, argv[optind]);
	else if (kind == NULL || l.path == NULL || l.bootstrap == NULL ||
	    l.topic == NULL)
		rc = ctl_usage_error(LOAD_CMD, "--kind, --csv, --bootstrap "
		    "and --topic are required");
	else if (strcmp(kind, "interactions") != 0 &&
	    strcmp(kind, "metadata") != 0)
		rc = ctl_usage_error(LOAD_CMD, "bad --kind: %s", kind);
	else if (l.sort && strcmp(kind, "metadata") == 0)
		rc = ctl_usage_error(LOAD_CMD, "--sort applies to "
		    "--kind interactions only");
	if (rc == CTL_EXIT_USAGE) {
		free(l.props);
		return rc;
	}
	l.kind = strcmp(kind, "metadata") == 0 ? LOAD_METADATA :
	    LOAD_INTERACTIONS;

	enc_init(&l.val);
	enc_init(&l.arena);
	if (load_open(&l) < 0 || load_connect(&l, &msg_timeout) < 0)
		goto out;
	low = load_low_sum(&l);
	if (load_file(&l) == 0)
		rc = CTL_EXIT_OK;
	load_flush(&l, msg_timeout);
	if (low >= 0 && l.delivered > 0 && (dropped = load_low_sum(&l) - low) > 0)
		ctl_warn(LOAD_CMD, "the broker has deleted %lld of the oldest "
		    "records of %s since the load began (log retention; the "
		    "mock broker keeps about 5 MB per partition)",
		    (long long)dropped, l.topic);

	if (l.failed > 0)
		ctl_warn(LOAD_CMD, "%llu records failed delivery",
		    (unsigned long long)l.failed);
	printf("loaded %llu records, rejected %llu rows\n",
	    (unsigned long long)l.delivered, (unsigned long long)l.rejected);
	if (fflush(stdout) != 0 || l.failed > 0 ||
	    (l.delivered == 0 && l.rows > 0))
		rc = CTL_EXIT_FAIL;
out:
	load_close(&l);
	return rc;
}
