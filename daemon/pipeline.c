/*
 * pipeline: activityd's main job (see pipeline.h and docs/pipeline.md).
 *
 * One thread runs a libevent loop. librdkafka wakes it through
 * rd_kafka_queue_io_event_enable on a pipe when the consumer queue turns
 * non-empty; a timer every commit interval advances watermarks, follows
 * the metadata topic and commits.
 *
 * A commit is one RocksDB write batch holding: every changed user record
 * and period-set chunk of every assigned partition, the partitions' next
 * offsets, metadata changes, and the outputs produced since the previous
 * commit (sessions, metrics, dead letters) as outbox records. Only after
 * that write succeeds are those outputs handed to the idempotent producer;
 * a delivery report deletes the outbox record in the next batch. So a
 * kill -9 at any point replays from offsets that match the state exactly,
 * and an output is never lost: at worst it is produced again, with the
 * same key and session_id.
 */
#include "pipeline.h"
#include "pipeline_int.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "config.h"
#include "engine.h"
#include "heap.h"
#include "hll.h"
#include "log.h"
#include "notify.h"
#include "meta.h"
#include "owners.h"
#include "placement.h"
#include "pool.h"
#include "persist.h"
#include "rollup.h"
#include "store.h"
#include "writer.h"
#include "tzcal.h"
#include "u64map.h"
#include "xmalloc.h"

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* CPU time of the whole process (every thread), ms: a figure that the
 * machine's other load does not inflate the way it does wall time. */
static int64_t
cpu_ms(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

int64_t
pipeline_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_signal(evutil_socket_t, short, void *);

/* True when keys other than the live-safe ones differ. */
static bool
reload_other_changes(const struct config *old, struct config *c)
{
	const char *lvl = config_str(old, "log", "level");
	bool sk = config_bool(old, "output", "emit_sketch"), same;
	char *a1 = xasprintf("log.level=%s", lvl);
	char *a2 = xasprintf("output.emit_sketch=%s", sk ? "true" : "false");
	char *cause = NULL;

	/* Compare with the live-safe keys set back to the old values. */
	if (config_set(c, a1, &cause) != 0 || config_set(c, a2, &cause) != 0)
		free(cause);
	same = config_equal(old, c);
	free(a1);
	free(a2);
	return !same;
}

/*
 * Waits ms milliseconds during start-up (a broker retry) while serving
 * SIGTERM and SIGINT; returns true when asked to stop.
 */
static bool
pause_or_stop(struct pipeline *p, int64_t ms)
{
	int64_t until = pipeline_mono_ms() + ms;

	for (;;) {
		if (p->base != NULL)
			event_base_loop(p->base, EVLOOP_NONBLOCK);
		if (p->stopping || pipeline_mono_ms() >= until)
			return p->stopping;
		usleep(20000);
	}
}

/* ---- outbox ---- */

static void
outbox_add(struct pipeline *p, enum out_topic t, const void *key, size_t kl,
    const void *val, size_t vl)
{
	struct outrec *r = outrec_new(key, kl, val, vl);

	r->topic = (uint8_t)t;
	p->fresh = xgrow(p->fresh, &p->capfresh, p->nfresh + 1,
	    sizeof *p->fresh);
	p->fresh[p->nfresh++] = r;
	p->fresh_bytes += kl + vl;
}

static void
outrec_header(struct outrec *r, const char *name, const void *v, size_t len)
{
	if (r->nheaders >= OUTREC_MAX_HEADERS)
		return;
	r->hname[r->nheaders] = xstrdup(name);
	r->hval[r->nheaders] = xmemdup(v, len);
	r->hlen[r->nheaders] = len;
	r->nheaders++;
}

/*
 * A dead letter: the original bytes and where they came from. A value too
 * big to be produced again (the input accepts larger records than a
 * producer may send by default) keeps its first DLQ_VALUE_MAX bytes, with
 * headers saying so and giving the original size.
 */
static void
dead_letter(struct pipeline *p, const rd_kafka_message_t *m,
    const char *reason)
{
	struct outrec *r;
	char num[32];
	const char *topic = rd_kafka_topic_name(m->rkt);
	size_t len = m->payload ? m->len : 0;

	outbox_add(p, OUT_DLQ, m->key ? m->key : "", m->key ? m->key_len : 0,
	    m->payload ? m->payload : "", len > DLQ_VALUE_MAX ? DLQ_VALUE_MAX :
	    len);
	r = p->fresh[p->nfresh - 1];
	r->null_value = m->payload == NULL;
	outrec_header(r, "reason", reason, strlen(reason));
	outrec_header(r, "source.topic", topic, strlen(topic));
	snprintf(num, sizeof num, "%" PRId32, m->partition);
	outrec_header(r, "source.partition", num, strlen(num));
	snprintf(num, sizeof num, "%" PRId64, m->offset);
	outrec_header(r, "source.offset", num, strlen(num));
	if (len > DLQ_VALUE_MAX) {
		outrec_header(r, "truncated", "true", 4);
		snprintf(num, sizeof num, "%zu", len);
		outrec_header(r, "original.size", num, strlen(num));
	}
	if (strncmp(reason, "late", 4) == 0)
		p->n_late++;
	else {
		p->n_dlq++;
		pipeline_count_dead_letter(p, reason);
	}
}

/*
 * once_step's outputs are in no outbox page: their page field says which
 * of the two steps in flight produced them (step_left's index).
 */
#define STEP_PAGE(n)	(OUTREC_NO_PAGE - 1 - ((n) & 1))
#define IS_STEP_PAGE(pg)	((pg) == STEP_PAGE(0) || (pg) == STEP_PAGE(1))
#define STEP_OF(pg)	(OUTREC_NO_PAGE - 1 - (pg))

/* Page bookkeeping: the count of undelivered outputs is the map value. */
static void
page_delivered(struct pipeline *p, uint64_t page)
{
	uintptr_t left;

	if (page == OUTREC_NO_PAGE)
		return;
	if (IS_STEP_PAGE(page)) {
		p->step_left[STEP_OF(page)]--;
		return;
	}
	left = (uintptr_t)u64map_get(p->pages, page);

	if (left > 1) {
		u64map_put(p->pages, page, (void *)(left - 1));
		return;
	}
	u64map_del(p->pages, page);
	persist_del_outpage(p->batch, page);
}

/*
 * True once the idempotent producer has failed fatally (a broker that
 * answers OUT_OF_ORDER_SEQUENCE_NUMBER is enough: 0007-broker-faults.sh).
 * Every later produce fails at once, so retrying would spin forever with
 * the outputs stuck in the outbox: the daemon stops with exit 1 instead,
 * and the restart produces the durable outbox again with a new producer.
 */
static bool
producer_fatal(struct pipeline *p)
{
	char why[512];

	if (rd_kafka_fatal_error(p->producer, why, sizeof why) ==
	    RD_KAFKA_RESP_ERR_NO_ERROR)
		return false;
	if (p->exit_code == 0) {
		log_error("producer failed fatally; stopping, the outbox is "
		    "produced again at restart", "error=\"%s\"", why);
		p->exit_code = 1;
		p->stopping = true;
		if (p->base != NULL)
			event_base_loopbreak(p->base);
	}
	return true;
}

static void
dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct pipeline *p = opaque;
	struct outrec *r = m->_private;

	(void)rk;
	p->inflight--;
	if (m->err) {
		/* Purged at exit (producer_close): counted there. */
		if (m->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE &&
		    m->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT &&
		    !producer_fatal(p))
			log_warn("delivery failed, will retry", "topic=%s "
			    "error=\"%s\"", rd_kafka_topic_name(m->rkt),
			    rd_kafka_err2str(m->err));
		p->retry = xgrow(p->retry, &p->capretry, p->nretry + 1,
		    sizeof *p->retry);
		p->retry[p->nretry++] = r;
		return;
	}
	p->n_out[r->topic]++;
	page_delivered(p, r->page);
	outrec_free(r);
}

/* Not queued: kept for the next commit's retry. */
static void
produce_failed(struct pipeline *p, struct outrec *r, rd_kafka_resp_err_t err)
{
	if (!producer_fatal(p))
		log_warn("produce failed, will retry", "topic=%s "
		    "error=\"%s\"", p->topic_out[r->topic],
		    rd_kafka_err2str(err));
	p->retry = xgrow(p->retry, &p->capretry, p->nretry + 1,
	    sizeof *p->retry);
	p->retry[p->nretry++] = r;
}

/*
 * ts: the record's timestamp. Callers read the clock once for all the
 * records they hand over together; left to librdkafka it was a clock read
 * per record (2M of them, 0.1-0.2 s, in a --once).
 */
static void
produce_one(struct pipeline *p, struct outrec *r, int64_t ts)
{
	rd_kafka_headers_t *h = NULL;
	rd_kafka_resp_err_t err;
	unsigned i;

	if (r->nheaders > 0) {
		h = rd_kafka_headers_new(r->nheaders);
		for (i = 0; i < r->nheaders; i++)
			rd_kafka_header_add(h, r->hname[i], -1, r->hval[i],
			    (ssize_t)r->hlen[i]);
	}
	for (;;) {
		err = rd_kafka_producev(p->producer,
		    RD_KAFKA_V_RKT(p->rkt_out[r->topic]),
		    RD_KAFKA_V_KEY(r->key, r->klen),
		    RD_KAFKA_V_VALUE(r->null_value ? NULL : r->val,
			r->null_value ? 0 : r->vlen),
		    RD_KAFKA_V_HEADERS(h),
		    RD_KAFKA_V_TIMESTAMP(ts),
		    RD_KAFKA_V_OPAQUE(r),
		    RD_KAFKA_V_END);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		rd_kafka_poll(p->producer, 50);	/* serve delivery reports */
	}
	if (err) {
		if (h != NULL)
			rd_kafka_headers_destroy(h);
		produce_failed(p, r, err);
		return;
	}
	p->inflight++;
}

/*
 * A run of records of one topic, without headers: one
 * rd_kafka_produce_batch call takes the topic's lock and the clocks once
 * for the run (producev took them for every record; the partitioner still
 * runs per record). Their timestamp is librdkafka's wall clock at the
 * call.
 */
static void
produce_run(struct pipeline *p, rd_kafka_topic_t *rkt, rd_kafka_message_t *m,
    size_t n)
{
	size_t i, left;

	for (;;) {
		p->inflight += (size_t)rd_kafka_produce_batch(rkt,
		    RD_KAFKA_PARTITION_UA, 0, m, (int)n);
		/* A full queue fails the rest of the run: served, tried again. */
		for (i = 0, left = 0; i < n; i++) {
			if (m[i].err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
				m[left++] = m[i];
			else if (m[i].err != RD_KAFKA_RESP_ERR_NO_ERROR)
				produce_failed(p, m[i]._private, m[i].err);
		}
		if (left == 0)
			return;
		rd_kafka_poll(p->producer, 50);	/* serve delivery reports */
		n = left;
	}
}

#define PRODUCE_RUN	1024

/* Records handed over together: runs through produce_run, the others
 * (dead letters have headers, tombstones no value) one by one. */
static void
produce_many(struct pipeline *p, struct outrec **recs, size_t n, int64_t ts)
{
	rd_kafka_message_t m[PRODUCE_RUN];
	size_t i = 0, k;

	while (i < n) {
		struct outrec *r = recs[i];

		for (k = 0; k < PRODUCE_RUN && i + k < n; k++) {
			struct outrec *q = recs[i + k];

			if (q->topic != r->topic || q->nheaders > 0 ||
			    q->null_value)
				break;
			memset(&m[k], 0, sizeof m[k]);
			m[k].payload = q->val;
			m[k].len = q->vlen;
			m[k].key = q->key;
			m[k].key_len = q->klen;
			m[k]._private = q;
		}
		if (k == 0) {
			produce_one(p, r, ts);
			i++;
			continue;
		}
		produce_run(p, p->rkt_out[r->topic], m, k);
		i += k;
	}
}

static void
load_page_cb(void *arg, uint64_t page, struct outrec **recs, size_t n)
{
	struct pipeline *p = arg;
	size_t i, keep = 0;

	if (page >= p->next_seq)
		p->next_seq = page + 1;
	/* Durable already: produce again on the first commit. */
	for (i = 0; i < n; i++) {
		if (recs[i]->topic >= OUT_NTOPICS) {
			outrec_free(recs[i]);
			continue;
		}
		p->retry = xgrow(p->retry, &p->capretry, p->nretry + 1,
		    sizeof *p->retry);
		p->retry[p->nretry++] = recs[i];
		keep++;
	}
	free(recs);
	if (keep > 0)
		u64map_put(p->pages, page, (void *)(uintptr_t)keep);
	else
		persist_del_outpage(p->batch, page);
}

/* ---- engine callbacks ---- */

static void
on_session(void *arg, const struct session_out *o)
{
	struct pipeline *p = arg;
	const char *reason;

	enc_reset(&p->scratch);
	if (codec_encode_session(p->codec, p->fmt_out, o, &p->scratch,
	    &reason) != 0) {
		log_error("cannot encode session", "user=%.*s reason=\"%s\"",
		    (int)o->user_id.len, o->user_id.p, reason);
		return;
	}
	outbox_add(p, OUT_SESSIONS, o->user_id.p, o->user_id.len,
	    p->scratch.buf, p->scratch.len);
	p->n_sessions++;
}

/*
 * May run on the helper: only marks the event (slot_finish). The loop
 * decodes into the other slot meanwhile, so a slot is told by its array,
 * not by its count.
 */
static void
on_late(void *arg, const struct event *ev, const char *reason)
{
	struct pipeline *p = arg;
	int k;

	for (k = 0; k < 2; k++)
		if (ev >= p->slot[k].evs && ev < p->slot[k].evs + BATCH_MSGS)
			p->slot[k].evlate[ev - p->slot[k].evs] = reason;
}

/*
 * Runs a timer's callback at the loop's next pass, after the events that
 * are due now (an event made active from its own callback would run again
 * in the same pass, before any timer).
 */
static void
run_soon(struct event *ev)
{
	static const struct timeval now;

	if (evtimer_add(ev, &now) != 0)
		log_error("cannot schedule an event-loop callback", NULL);
}

/* ---- partitions ---- */

static void part_close(struct pipeline *, int32_t);

/* A partition with its stored offset and an empty engine, loading. */
static struct part *
part_new(struct pipeline *p, int32_t id, char **cause)
{
	struct part *pt = xcalloc(1, sizeof *pt);
	struct engine_cb cb = { on_session, on_late, p };
	int r;

	pt->id = id;
	pt->eng = engine_new(&p->econf, p->meta, &cb);
	pt->end = -1;
	r = persist_get_offset(p->store, p->topic_in, id, &pt->next, cause);
	if (r < 0) {
		engine_free(pt->eng);
		free(pt);
		return NULL;
	}
	if (r == 1)
		pt->next = RD_KAFKA_OFFSET_BEGINNING;
	pt->loading = true;
	p->nloading++;
	u64map_put(p->parts, (uint64_t)(uint32_t)id, pt);
	free(p->engines);
	p->engines = NULL;
	return pt;
}

/* The partition's stored state into its engine. */
static int
part_load(struct pipeline *p, struct part *pt, char **cause)
{
	int64_t t0 = pipeline_mono_ms();

	if (persist_load_partition(p->store, pt->eng, pt->id, p->zones,
	    p->nzones, cause) != 0)
		return -1;
	pt->loading = false;
	p->nloading--;
	free(p->engines);
	p->engines = NULL;
	log_debug("partition loaded", "topic=%s partition=%d users=%zu "
	    "ms=%" PRId64, p->topic_in, pt->id, engine_user_count(pt->eng),
	    pipeline_mono_ms() - t0);
	return 0;
}

static struct part *
part_open(struct pipeline *p, int32_t id, char **cause)
{
	struct part *pt = part_new(p, id, cause);

	if (pt != NULL && part_load(p, pt, cause) != 0) {
		part_close(p, id);
		return NULL;
	}
	return pt;
}

static void
part_close(struct pipeline *p, int32_t id)
{
	struct part *pt = u64map_del(p->parts, (uint64_t)(uint32_t)id);

	if (pt == NULL)
		return;
	if (pt->loading)
		p->nloading--;
	if (p->owners != NULL)
		owners_drop_partition(p->owners, id);
	free(p->engines);
	p->engines = NULL;
	engine_free(pt->eng);
	free(pt);
}

/*
 * Engines of the assigned partitions, in partition order: a copy of a
 * list sorted when the assignment changes (the admin asks per request).
 */
size_t
pipeline_engines(struct pipeline *p, struct engine ***out)
{
	size_t n = u64map_count(p->parts), i = 0, pos = 0, a, b;
	uint64_t key;
	void *val;

	if (p->engines == NULL) {
		struct part **ps = xcalloc(n ? n : 1, sizeof *ps);

		while (u64map_next(p->parts, &pos, &key, &val))
			ps[i++] = val;
		for (a = 1; a < n; a++)	/* few partitions: insertion sort */
			for (b = a; b > 0 && ps[b - 1]->id > ps[b]->id; b--) {
				struct part *t = ps[b];

				ps[b] = ps[b - 1];
				ps[b - 1] = t;
			}
		p->engines = xcalloc(n ? n : 1, sizeof *p->engines);
		for (i = 0; i < n; i++)
			p->engines[i] = ps[i]->eng;
		free(ps);
	}
	*out = xmemdup(p->engines, (n ? n : 1) * sizeof **out);
	return n;
}

/* ---- metrics ---- */

static uint64_t
period_key(int zone, enum period_kind kind, int32_t period)
{
	return (uint64_t)zone << 40 | (uint64_t)kind << 32 | (uint32_t)period;
}

static void
emit_metric(struct pipeline *p, struct metric_out *m, const struct hll *h)
{
	char key[512];
	const char *reason;
	struct enc sk;

	enc_init(&sk);
	m->approx = h != NULL ? hll_estimate(h) : 0.0;
	if (p->emit_sketch && h != NULL) {
		hll_encode(h, &sk);
		m->sketch = sk.buf;
		m->sketch_len = sk.len;
	}
	metric_key(m, key, sizeof key);
	enc_reset(&p->scratch);
	if (codec_encode_metric(p->codec, p->fmt_out, m, &p->scratch,
	    &reason) != 0)
		log_error("cannot encode metric", "key=\"%s\" reason=\"%s\"",
		    key, reason);
	else {
		outbox_add(p, OUT_METRICS, key, strlen(key), p->scratch.buf,
		    p->scratch.len);
		p->n_metrics++;
	}
	enc_free(&sk);
}

static void
emit_period(struct pipeline *p, struct engine **e, size_t n, int zone,
    enum period_kind kind, int32_t period, bool final)
{
	struct rollup *r = p->overlap ?
	    rollup_period(e, n, zone, kind, period) :
	    rollup_period_sum(e, n, zone, kind, period);
	struct metric_out m = { 0 };
	struct newest *nw;
	char label[16];
	int d;
	uint16_t c;

	if (r == NULL)
		return;
	if (kind == PERIOD_DAY)
		tzcal_format_day(period, label);
	else
		tzcal_format_month(period, label);
	m.kind = kind == PERIOD_DAY ? METRIC_DAU : METRIC_MAU;
	m.period = label;
	m.tz = tzcal_name(p->zones[zone]);
	m.final = final;
	m.dimension = "total";
	m.value = STRV("");
	m.exact = r->total;
	emit_metric(p, &m, r->hll);
	nw = &p->newest[zone][kind == PERIOD_DAY ? 0 : 1];
	if (!nw->set || period >= nw->period) {
		nw->period = period;
		nw->exact = m.exact;
		nw->approx = m.approx;
		nw->set = true;
	}
	for (d = 0; d < DIM_COUNT; d++) {
		if (!(p->econf.act.dims_mask & (1u << d)))
			continue;
		for (c = 0; c < r->ncodes[d]; c++) {
			if (r->dcount[d][c] == 0)
				continue;
			m.dimension = dim_name((enum dim)d);
			m.value = meta_value(p->meta, (enum dim)d, c);
			m.exact = r->dcount[d][c];
			emit_metric(p, &m, r->dhll[d][c]);
		}
	}
	rollup_free(r);
}

/*
 * While one partitioner placed every user the engines interned, no user
 * is in two partitions (connectors/placement.h): checks the users interned
 * since the last time. Once none did, every user goes to the owners table,
 * from the first; false from then on.
 */
static bool
users_placed(struct pipeline *p)
{
	size_t pos = 0;
	uint64_t key;
	void *val;

	if (p->placed == NULL || !placement_holds(p->placed))
		return false;
	while (u64map_next(p->parts, &pos, &key, &val)) {
		struct part *pt = val;
		size_t n = engine_user_count(pt->eng);

		for (; pt->owned < n; pt->owned++)
			if (!placement_check(p->placed, engine_user_name(
			    pt->eng, (uint32_t)pt->owned), pt->id))
				goto broken;
	}
	return true;
broken:
	log_info("users are not placed by a known partitioner; tracking the "
	    "partition of every user", "partition=%d", ((struct part *)val)->id);
	pos = 0;
	while (u64map_next(p->parts, &pos, &key, &val))
		((struct part *)val)->owned = 0;
	return false;
}

/*
 * Records the users the engines interned since the last emission: while
 * no user is in two partitions, a period's counts are the sums of the
 * partitions' counts (state/rollup.h); after that, the exact union.
 */
static void
track_owners(struct pipeline *p)
{
	size_t n = u64map_count(p->parts), i = 0, pos = 0;
	struct engine **e;
	int32_t *ids;
	size_t *seen;
	uint64_t key;
	void *val;

	if (n == 0 || users_placed(p))	/* before any assignment: none */
		return;
	e = xcalloc(n, sizeof *e);
	ids = xcalloc(n, sizeof *ids);
	seen = xcalloc(n, sizeof *seen);
	if (p->owners == NULL)
		p->owners = owners_new();
	while (u64map_next(p->parts, &pos, &key, &val)) {
		struct part *pt = val;

		e[i] = pt->eng;
		ids[i] = pt->id;
		seen[i++] = pt->owned;
	}
	if (!rollup_track_users(p->owners, e, ids, seen, n)) {
		log_warn("a user is in more than one input partition; metrics "
		    "are rolled up by exact union from now on", NULL);
		p->overlap = true;
		owners_free(p->owners);
		p->owners = NULL;
	}
	pos = i = 0;
	while (u64map_next(p->parts, &pos, &key, &val))
		((struct part *)val)->owned = seen[i++];
	free(e);
	free(ids);
	free(seen);
}

/*
 * Re-emits every period that changed since the last commit, and those
 * that became final: a period is final once its end is behind the lowest
 * watermark of the partitions that have seen events (or, at the end of
 * --once, always).
 */
static void
emit_metrics(struct pipeline *p, bool all_final)
{
	struct engine **e;
	size_t n = pipeline_engines(p, &e), i, pos;
	struct u64map *todo = u64map_new();
	int64_t min_wm = INT64_MAX;
	uint64_t key;
	void *val;
	struct pset *s;

	for (i = 0; i < n; i++) {
		int64_t wm = engine_watermark(e[i]);

		if (sessionizer_max_ts(engine_sessionizer(e[i])) != INT64_MIN &&
		    wm < min_wm)
			min_wm = wm;
		pos = 0;
		while ((s = active_next(engine_active(e[i]), &pos)) != NULL) {
			uint64_t k = period_key(pset_zone(s), pset_kind(s),
			    pset_period(s));
			bool fin = all_final || active_period_end(
			    engine_active(e[i]), pset_zone(s), pset_kind(s),
			    pset_period(s)) <= min_wm;

			if (pset_changed(s) ||
			    (fin && u64map_get(p->final_done, k) == NULL))
				u64map_put(todo, k, (void *)1);
			pset_clear_changed(s);
		}
	}
	if (!p->overlap)
		track_owners(p);
	pos = 0;
	while (n > 0 && u64map_next(todo, &pos, &key, &val)) {
		int zone = (int)(key >> 40);
		enum period_kind kind = (enum period_kind)((key >> 32) & 0xff);
		int32_t period = (int32_t)(uint32_t)key;
		bool fin = all_final || active_period_end(engine_active(e[0]),
		    zone, kind, period) <= min_wm;

		emit_period(p, e, n, zone, kind, period, fin);
		if (fin)
			u64map_put(p->final_done, key, (void *)1);
	}
	u64map_free(todo);
	free(e);
}

/* ---- commit ---- */

static void state_flush(struct pipeline *, bool wait);

/* Failed deliveries, produced again. */
static void
produce_retries(struct pipeline *p)
{
	struct outrec **r = p->retry;
	size_t nr = p->nretry, i;
	int64_t now = now_ms();

	p->retry = NULL;
	p->nretry = p->capretry = 0;
	for (i = 0; i < nr; i++)
		produce_one(p, r[i], now);
	free(r);
}

/* A partition's changed state and its next offset into the batch. */
static void
part_save(struct pipeline *p, struct part *pt)
{
	persist_save_partition(p->batch, pt->eng, pt->id, p->zones);
	if (pt->next >= 0)
		persist_put_offset(p->batch, p->topic_in, pt->id, pt->next);
	pt->saved = true;
}

/* The batch could not be written: stop without advancing anything. */
static void
write_failed(struct pipeline *p, char *cause)
{
	log_error("state commit failed; stopping without advancing "
	    "offsets", "error=\"%s\"", cause);
	free(cause);
	p->state_failed = true;
	p->exit_code = 1;
	p->stopping = true;
	if (p->base != NULL)
		event_base_loopbreak(p->base);
}

/* Puts the metadata offsets and the pages of out[0..n) into the batch. */
static void
commit_prepare(struct pipeline *p, struct outrec **out, size_t nout)
{
	size_t i, j;
	int32_t mp;

	for (mp = 0; mp < p->meta_nparts; mp++)
		if (p->meta_next[mp] >= 0)
			persist_put_offset(p->batch, p->topic_meta, mp,
			    p->meta_next[mp]);
	for (i = 0; i < nout; i += OUTPAGE_MAX) {
		size_t n = nout - i < OUTPAGE_MAX ? nout - i : OUTPAGE_MAX;
		uint64_t page = p->next_seq++;

		for (j = 0; j < n; j++)
			out[i + j]->page = page;
		u64map_put(p->pages, page, (void *)(uintptr_t)n);
		persist_put_outpage(p->batch, page, out + i, n);
	}
	if (p->fail_after_records > 0 && p->n_in >= p->fail_after_records)
		store_fail_writes(p->store, "injected fault "
		    "(ACTIVITYD_FAULT_FAIL_AFTER_RECORDS)");
}

/* The partitions saved into the batch: their next save carries only what
 * changes from now on. */
static void
commit_mark(struct pipeline *p)
{
	size_t pos = 0;
	uint64_t key;
	void *val;

	while (u64map_next(p->parts, &pos, &key, &val)) {
		struct part *pt = val;

		if (pt->saved)
			persist_committed(pt->eng);
		pt->saved = false;
	}
}

/* The batch is durable: hand its outputs to the producer. */
static void
commit_done(struct pipeline *p, int64_t t0, struct outrec **out, size_t nout,
    int64_t write_ms, size_t nops, size_t nbytes)
{
	produce_many(p, out, nout, now_ms());
	produce_retries(p);
	rd_kafka_poll(p->producer, 0);
	pipeline_observe_commit(p, (double)(pipeline_mono_ms() - t0) / 1000.0);
	log_debug("committed", "ms=%" PRId64 " write_ms=%" PRId64 " ops=%zu "
	    "bytes=%zu", pipeline_mono_ms() - t0, write_ms, nops, nbytes);
	if (++p->nwrites == p->kill_after_writes)
		raise(SIGKILL);
}

/*
 * Collects the writer's write once it is over (waits for it with wait)
 * and produces its outputs. -1 when it failed: the daemon stops, and its
 * outputs stay in sent, never produced.
 */
static int
writer_settle(struct pipeline *p, bool wait)
{
	struct store_batch *b = NULL;
	char *cause = NULL;
	int rc;

	if (p->writer == NULL)
		return 0;
	rc = writer_collect(p->writer, wait, &b, &cause);
	if (rc == 0)
		return 0;
	p->spare = b;
	if (rc < 0) {
		write_failed(p, cause);
		return -1;
	}
	commit_done(p, p->sent_t0, p->sent, p->nsent,
	    pipeline_mono_ms() - p->sent_t1, p->sent_ops, p->sent_bytes);
	p->nsent = 0;
	return 0;
}

/*
 * Writes the batch: the partitions saved into it, the metadata offsets and
 * every output produced since the last write, which must all come from
 * those partitions (or from metadata); then hands the outputs to the
 * producer. A write of the writer's goes first. t0: when the commit
 * started, for its duration.
 */
static int
commit_write(struct pipeline *p, int64_t t0)
{
	char *cause = NULL;
	int64_t t1, t2;
	size_t nops, nbytes, nout = p->nfresh;

	if (writer_settle(p, true) != 0)
		return -1;
	commit_prepare(p, p->fresh, nout);
	t1 = pipeline_mono_ms();
	if (store_write(p->store, p->batch, &cause) != 0) {
		write_failed(p, cause);
		return -1;
	}
	t2 = pipeline_mono_ms();
	nops = store_batch_count(p->batch);
	nbytes = store_batch_bytes(p->batch);
	store_batch_clear(p->batch);
	commit_mark(p);
	commit_done(p, t0, p->fresh, nout, t2 - t1, nops, nbytes);
	p->nfresh = 0;
	p->fresh_bytes = 0;
	return 0;
}

/*
 * The same on the writer's thread: the batch and, with outputs, the
 * outputs so far are handed over, and the loop goes on; writer_settle
 * produces the outputs once the write is over. The partitions are marked
 * committed now, as once_step does: events change them meanwhile, and a
 * failed write stops the daemon, so the marks are never used wrongly.
 */
static void
commit_submit(struct pipeline *p, int64_t t0, bool outputs)
{
	struct outrec **o = p->sent;
	size_t cap = p->capsent;
	struct store_batch *b = p->batch;

	commit_prepare(p, p->fresh, outputs ? p->nfresh : 0);
	commit_mark(p);
	p->nsent = 0;
	if (outputs) {
		p->sent = p->fresh;
		p->capsent = p->capfresh;
		p->nsent = p->nfresh;
		p->fresh = o;
		p->capfresh = cap;
		p->nfresh = 0;
		p->fresh_bytes = 0;
	}
	p->sent_t0 = t0;
	p->sent_ops = store_batch_count(b);
	p->sent_bytes = store_batch_bytes(b);
	p->batch = p->spare;
	p->spare = NULL;
	p->sent_t1 = pipeline_mono_ms();
	writer_submit(p->writer, b);
}

/* A full commit writes what a commit round has left. */
static void
round_end(struct pipeline *p)
{
	p->nround = 0;
	if (p->ev_commit != NULL)
		evtimer_del(p->ev_commit);
}

int
pipeline_commit(struct pipeline *p, bool metrics, bool all_final)
{
	size_t pos = 0;
	uint64_t key;
	void *val;
	int64_t t0 = pipeline_mono_ms();

	/* After a failed write the daemon only stops: no later commit (the
	 * revocation at close, the final flush) may write the failed batch
	 * after all, advancing the offsets the error said were kept. */
	if (p->state_failed)
		return -1;
	round_end(p);
	/* Metrics of a partly loaded state would count too few users. */
	if (metrics && p->nloading == 0)
		emit_metrics(p, all_final);
	while (u64map_next(p->parts, &pos, &key, &val))
		if (!((struct part *)val)->saved &&
		    !((struct part *)val)->loading)
			part_save(p, val);
	return commit_write(p, t0);
}

/*
 * Live mode, one slice of a commit round: the round's next partitions,
 * up to COMMIT_SLICE_BYTES of state, with every output produced so far,
 * in one batch. The consumer's drains run between slices, so the loop
 * stops for one slice at a time instead of for the whole state that
 * changed in an interval (100-300 ms at 100k events/s over 1M users).
 * A partition's state and offset still go into one batch together, and
 * the outputs it produced into that batch or an earlier one, so after a
 * crash no output is missing; a session closed again after a crash is
 * produced again with the same session_id, as with whole commits.
 */
static void
commit_slice(struct pipeline *p)
{
	int64_t t0 = pipeline_mono_ms();

	/* Live mode, so the writer's: one write in flight, on_written takes
	 * the next slice. */
	if (p->state_failed || writer_busy(p->writer))
		return;
	while (p->nround > 0 &&
	    store_batch_bytes(p->batch) < COMMIT_SLICE_BYTES) {
		struct part *pt = u64map_get(p->parts,
		    (uint64_t)(uint32_t)p->round[--p->nround]);

		/* Revoked or reloading since the round began: skip it. */
		if (pt != NULL && !pt->saved && !pt->loading)
			part_save(p, pt);
	}
	commit_submit(p, t0, true);
}

static void
on_commit(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	commit_slice(arg);
}

static void
on_written(evutil_socket_t fd, short what, void *arg)
{
	struct pipeline *p = arg;

	(void)fd;
	(void)what;
	if (writer_settle(p, false) == 0 && !writer_busy(p->writer) &&
	    p->nround > 0)
		run_soon(p->ev_commit);
}

/* Live mode: a commit round over the partitions assigned now. */
static void
commit_round(struct pipeline *p, bool metrics)
{
	size_t pos = 0;
	uint64_t key;
	void *val;

	if (p->state_failed || p->nround > 0)
		return;	/* the last round is not written yet */
	if (metrics && p->nloading == 0)
		emit_metrics(p, false);
	p->round = xrealloc(p->round,
	    (u64map_count(p->parts) + 1) * sizeof *p->round);
	while (u64map_next(p->parts, &pos, &key, &val))
		p->round[p->nround++] = ((struct part *)val)->id;
	commit_slice(p);
}

/*
 * --once, end of input, one step per batch of closed sessions: the state
 * and offsets of the partitions closed since the last step (todo) go into
 * a batch, and their sessions to the producer. A step's batch is written
 * two steps later, once every session of that step is delivered, so
 * the sessions skip the outbox (written, produced and deleted again: each
 * one's bytes through RocksDB's log, memtable and a table file), and the
 * next two batches are closed while one is delivered. Waiting for the
 * step just before instead, 2M sessions spent 0.7 of their 3 s waiting.
 *
 * The sessions need not be durable before they are produced: until their
 * batch is written, its partitions keep the state and offsets they had,
 * and a rerun after a crash closes the same sessions again and produces
 * them again, with the same keys and session_ids. A partition's first
 * batch carries its whole state, open sessions too, so that once written
 * its offset at the end matches the state on disk. Batches are written in
 * the order they were saved: a later one holds what changed since.
 */
static int
once_step(struct pipeline *p, struct part **todo, size_t *ntodo)
{
	int64_t t0 = pipeline_mono_ms(), until = t0 + ONCE_DELIVERY_MS, now;
	size_t *left = &p->step_left[p->nstep & 1], i;
	struct store_batch *b;

	/* The sessions of two steps ago, and every retry. */
	while ((*left > 0 || p->nretry > 0) && !producer_fatal(p) &&
	    pipeline_mono_ms() < until) {
		rd_kafka_poll(p->producer, 10);
		produce_retries(p);
	}
	if (*left > 0 || p->nretry > 0) {
		log_error("sessions not delivered; stopping without writing "
		    "their state", "pending=%zu", *left + p->nretry);
		p->exit_code = 1;
		return -1;
	}
	/*
	 * Their batch is written, on the writer's thread: the loop goes on
	 * closing meanwhile (the write was a fifth of its time). The write
	 * before is collected first, so that writes stay in order.
	 */
	b = p->batch;
	p->batch = p->held;
	p->held = b;
	if (store_batch_count(p->batch) > 0) {
		if (writer_settle(p, true) != 0)
			return -1;
		commit_submit(p, t0, false);
	}
	/*
	 * Marked committed when put into the batch, not when it is written:
	 * the next sessions change the same partitions meanwhile. A failed
	 * write stops the daemon, so the marks are never used wrongly.
	 */
	for (i = 0; i < *ntodo; i++) {
		part_save(p, todo[i]);
		persist_committed(todo[i]->eng);
		todo[i]->saved = false;
	}
	*ntodo = 0;
	*left = p->nfresh;
	now = now_ms();
	for (i = 0; i < p->nfresh; i++)
		p->fresh[i]->page = STEP_PAGE(p->nstep);
	produce_many(p, p->fresh, p->nfresh, now);
	p->nstep++;
	p->nfresh = 0;
	p->fresh_bytes = 0;
	rd_kafka_poll(p->producer, 0);
	return 0;
}

/*
 * --once, end of input: every session is closed, one partition after
 * another, in batches of [state] batch_size bytes of sessions (once_step),
 * plus the state of their partitions. A partition's end also ends a batch
 * of an eighth of that, so that small partitions share a batch and a
 * large one starts a new one. A batch holds at most batch_size of
 * sessions plus the state of the partitions in it.
 */
static int
once_close(struct pipeline *p)
{
	size_t pos = 0, ntodo = 0;
	struct part **todo = xcalloc(u64map_count(p->parts) + 1,
	    sizeof *todo);
	uint64_t key;
	void *val;
	int rc = -1;
	char *cause = NULL;

	p->writer = writer_new(p->store, &cause);
	if (p->writer == NULL) {
		log_error("cannot start the state writer", "error=\"%s\"",
		    cause);
		free(cause);
		free(todo);
		return -1;
	}
	p->spare = store_batch_new();
	while (u64map_next(p->parts, &pos, &key, &val)) {
		struct part *pt = val;

		todo[ntodo++] = pt;
		while (engine_close_some(pt->eng, CLOSE_SLICE) > 0) {
			if (p->fresh_bytes < p->batch_size)
				continue;
			if (once_step(p, todo, &ntodo) != 0)
				goto out;
			todo[ntodo++] = pt;	/* what it closes next */
		}
		if (p->fresh_bytes >= p->batch_size / 8 &&
		    once_step(p, todo, &ntodo) != 0)
			goto out;
	}
	/* The last sessions, then the two batches still held. */
	if (once_step(p, todo, &ntodo) != 0 || once_step(p, todo, &ntodo) != 0 ||
	    once_step(p, todo, &ntodo) != 0 || writer_settle(p, true) != 0)
		goto out;
	/*
	 * Every user's state is written: RocksDB's thread writes its table
	 * files while the loop rolls up the metrics and the last sessions
	 * are delivered. The flush at the end then waits for these and
	 * writes only the last few commits (it took 270 ms alone).
	 */
	state_flush(p, false);
	rc = pipeline_commit(p, true, true);
out:
	free(todo);
	return rc;
}

/* ---- input ---- */

/*
 * A batch's runs are applied on two threads when it holds at least this
 * many events: below, the hand-over (tens of microseconds) is not worth
 * it. A live daemon's batches are that large only when its queue holds a
 * backlog (docs/pipeline.md).
 */
#define APPLY_SPLIT_MIN	1024
/* The helper's share of split batches' events, in 64ths: where it starts
 * (and its least: the loop also consumes), and its most (adjust_share). */
#define SHARE_START	32
#define SHARE_MAX	56

/*
 * Applies the slot's runs given to one side (0 the loop, 1 the helper)
 * by split_runs; side -1: every run.
 */
static void
apply_runs(struct apply_slot *s, int side)
{
	const struct apply_run *r = s->runs;
	size_t i;

	for (i = 0; i < s->nruns; i++)
		if (side < 0 || r[i].side == side)
			engine_add_batch(r[i].pt->eng, s->evs + r[i].start,
			    r[i].n, s->now);
}

/* The helper's job, timed for adjust_share. */
static void
apply_helper(void *arg)
{
	struct apply_slot *s = arg;
	int64_t t0 = mono_ns();

	apply_runs(s, 1);
	s->helper_ns = mono_ns() - t0;
}

/*
 * Gives each partition of the slot to the loop or the helper (a
 * partition's runs must stay on one thread, in order). One the helper
 * may still be applying (in the slot ahead) stays the helper's; any
 * other goes to the side furthest below its share of the events split so
 * far. The count goes across batches because a batch often holds a
 * single partition: a fetch brings up to a megabyte of one partition's
 * records, tens of thousands of them. Whether the helper got any.
 */
static bool
split_runs(struct pipeline *p, struct apply_slot *s)
{
	uint64_t *load = p->split_load, h = p->helper_share;
	size_t i;

	p->apply_seq++;
	s->helper_n = 0;
	for (i = 0; i < s->nruns; i++) {
		struct part *pt = s->runs[i].pt;

		if (pt->apply_seq != p->apply_seq) {
			pt->apply_seq = p->apply_seq;
			if (p->ahead != NULL && pt->helper_seq == p->ahead_seq)
				pt->apply_on = 1;
			else
				pt->apply_on = load[1] * (64 - h) <
				    load[0] * h;
			if (pt->apply_on)
				pt->helper_seq = p->apply_seq;
		}
		s->runs[i].side = pt->apply_on;
		load[pt->apply_on] += s->runs[i].n;
		if (pt->apply_on)
			s->helper_n += s->runs[i].n;
	}
	if (load[0] + load[1] > (1u << 30)) {	/* the recent past counts */
		load[0] /= 2;
		load[1] /= 2;
	}
	return s->helper_n > 0;
}

/*
 * An applied slot's late events to the dead-letter topic in input order,
 * and its events gone. With msgs, its messages go too and the slot is
 * empty; without, the batch is still being decoded (apply_events).
 */
static void
slot_finish(struct pipeline *p, struct apply_slot *s, bool msgs)
{
	size_t i;

	for (i = 0; i < s->nevs; i++)
		if (s->evlate[i] != NULL)
			dead_letter(p, s->evmsg[i], s->evlate[i]);
	s->nevs = 0;
	s->nruns = 0;
	if (!msgs)
		return;
	for (i = 0; i < s->nmsgs; i++)
		rd_kafka_message_destroy(s->msgs[i]);
	s->nmsgs = 0;
}

/*
 * Waits for the helper's part of the slot ahead, if any, and finishes
 * that slot. Everything that reads or changes an engine outside
 * apply_slot calls this first (the end of a drain, a rebalance).
 */
static void
apply_join(struct pipeline *p)
{
	struct apply_slot *s = p->ahead;

	if (s == NULL)
		return;
	pool_wait(p->pool);
	p->ahead = NULL;
	p->cost.apply_ns += (double)s->helper_ns;
	p->cost.apply_n += (double)s->helper_n;
	slot_finish(p, s, true);
}

/*
 * The loop also consumes and decodes every batch, so the helper should
 * apply more than half of the events: with c the loop's time per event
 * for that and a the helper's to apply one, both sides are equally busy
 * when the helper's share is (1 + c / a) / 2. Both are measured (the
 * recent past weighs most) and the share is set from them.
 */
static void
adjust_share(struct pipeline *p)
{
	struct apply_cost *c = &p->cost;
	double share;

	if (c->apply_n == 0 || c->take_n == 0 || c->apply_ns == 0)
		return;
	share = 32.0 * (1.0 + (c->take_ns / c->take_n) /
	    (c->apply_ns / c->apply_n));
	p->helper_share = share > SHARE_MAX ? SHARE_MAX : (unsigned)share;
	if (c->take_n > 1e6) {
		c->take_ns /= 2;
		c->take_n /= 2;
	}
	if (c->apply_n > 1e6) {
		c->apply_ns /= 2;
		c->apply_n /= 2;
	}
}

/*
 * Applies the current slot's events. A batch of at least split_min events
 * is split: the loop applies its runs, while the helper may still be on
 * the slot ahead (their partitions differ), then waits for that, and
 * starts the helper on this slot's other runs. With ahead (the batch is
 * all decoded), these are left running and the loop goes on to the other
 * slot (apply_join waits for them and finishes the slot); else they are
 * waited for here, and the slot's messages stay.
 */
static void
apply_slot(struct pipeline *p, bool ahead)
{
	struct apply_slot *s = p->cur;

	if (p->pool == NULL || s->nevs < p->split_min) {
		apply_join(p);
		apply_runs(s, -1);
		if (s->nevs > 0)
			p->n_apply[0]++;
		slot_finish(p, s, ahead);
		return;
	}
	adjust_share(p);
	if (!split_runs(p, s)) {
		apply_runs(s, 0);
		apply_join(p);
		p->n_apply[0]++;
		slot_finish(p, s, ahead);
		return;
	}
	apply_runs(s, 0);
	apply_join(p);
	pool_start(p->pool, apply_helper, s);
	p->n_apply[1]++;
	if (!ahead) {
		pool_wait(p->pool);
		slot_finish(p, s, false);
		return;
	}
	p->ahead = s;
	p->ahead_seq = p->apply_seq;
	p->cur = s == &p->slot[0] ? &p->slot[1] : &p->slot[0];
}

/*
 * The events decoded so far, applied at once, and their late ones to the
 * dead-letter topic: before an output of the loop's own (a dead letter
 * for an undecodable record), so that every output keeps the order of
 * the input. The messages stay until the whole slot is finished.
 */
static void
apply_events(struct pipeline *p)
{
	apply_slot(p, false);
}

/*
 * Decodes one message of the current slot into its events (those before
 * a dead letter are applied first, so that every output keeps the order
 * of the input).
 */
static void
handle_message(struct pipeline *p, rd_kafka_message_t *m)
{
	struct apply_slot *s = p->cur;
	struct part *pt;
	struct event *ev;
	const char *reason;

	if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
		/*
		 * --once: the end of a partition whose last records are gone
		 * (deleted by retention) is only seen as EOF; the stored
		 * offset moves past the gap.
		 */
		pt = u64map_get(p->parts, (uint64_t)(uint32_t)m->partition);
		if (pt == NULL || pt->loading)
			return;
		if (m->offset > pt->next)
			pt->next = m->offset;
		if (p->once && pt->end >= 0 && m->offset >= pt->end)
			pt->done = true;
		return;
	}
	if (m->err) {
		log_warn("consumer error", "error=\"%s\"",
		    rd_kafka_message_errstr(m));
		return;
	}
	pt = u64map_get(p->parts, (uint64_t)(uint32_t)m->partition);
	if (pt == NULL || pt->loading ||
	    (pt->next >= 0 && m->offset < pt->next))
		return;	/* not ours (yet), or already in the state */
	ev = &s->evs[s->nevs];
	if (codec_decode_event(p->codec, p->fmt_in, m->payload, m->len, ev,
	    &reason) != 0) {
		apply_events(p);
		dead_letter(p, m, reason);
	} else {
		if (s->nruns == 0 || s->runs[s->nruns - 1].pt != pt)
			s->runs[s->nruns++] = (struct apply_run){ pt,
			    (uint32_t)s->nevs, 0, 0 };
		s->runs[s->nruns - 1].n++;
		s->evlate[s->nevs] = NULL;
		s->evmsg[s->nevs++] = m;
		if (!codec_event_views_in_value(p->codec, p->fmt_in))
			apply_events(p);
	}
	pt->next = m->offset + 1;
	p->n_in++;
	if (p->once && pt->end >= 0 && pt->next >= pt->end)
		pt->done = true;
}

static bool
once_done(struct pipeline *p)
{
	size_t pos = 0;
	uint64_t key;
	void *val;

	while (u64map_next(p->parts, &pos, &key, &val))
		if (!((struct part *)val)->done)
			return false;
	return true;
}

/*
 * Consumes what the queue holds, for at most DRAIN_BUDGET_MS: under a
 * steady stream the queue never empties, and the commit timer, the
 * watchdog and the admin endpoints must still get their turn. When the
 * budget ends with messages left, a timer due at once brings the loop back
 * here after the other due events. (Making the wake event active again
 * would not: libevent runs an event activated during its own callback in
 * the same pass, and the loop never got to its timers while input lasted.)
 */
static void
drain(struct pipeline *p)
{
	ssize_t n, i;
	int64_t until;

	if (p->drain_delay_ms > 0) {	/* test hook: let the queue fill */
		usleep((useconds_t)p->drain_delay_ms * 1000);
		p->drain_delay_ms = 0;
	}
	until = pipeline_mono_ms() + DRAIN_BUDGET_MS;
	do {
		struct apply_slot *s = p->cur;
		int64_t t0 = mono_ns();

		n = rd_kafka_consume_batch_queue(p->cq, 0, s->msgs,
		    p->once || p->pool != NULL ? BATCH_MSGS :
		    LIVE_BATCH_MSGS);
		/*
		 * One clock read per batch: a read per record was 3% of a
		 * --once's time, 130 ns each in this VM.
		 */
		s->now = now_ms();
		s->nmsgs = n > 0 ? (size_t)n : 0;
		for (i = 0; i < n; i++)
			handle_message(p, s->msgs[i]);
		if (s->nevs >= p->split_min) {
			p->cost.take_ns += (double)(mono_ns() - t0);
			p->cost.take_n += (double)s->nevs;
		}
		apply_slot(p, true);
	} while (n > 0 && !p->stopping && pipeline_mono_ms() < until);
	apply_join(p);
	/*
	 * Live: the users this drain interned go to the owners map now, a
	 * drain's worth at a time, not all of a second's at the next metrics
	 * emission: with 100k new users a second that was a 30-45 ms stop.
	 */
	if (!p->once && !p->overlap && p->nloading == 0)
		track_owners(p);
	if (p->once && once_done(p))
		event_base_loopbreak(p->base);
	else if (n > 0 && !p->stopping && p->ev_more != NULL)
		run_soon(p->ev_more);
}

static void
on_more(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	drain(arg);
}

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	char buf[64];

	(void)what;
	while (read(fd, buf, sizeof buf) > 0)
		;
	drain(arg);
}

/* ---- metadata ---- */

static void
apply_meta(struct pipeline *p, rd_kafka_message_t *m)
{
	struct meta_rec r;
	const char *reason;
	int rc;

	/*
	 * Already applied: after a fetch answered OFFSET_OUT_OF_RANGE the
	 * consumer starts again from the beginning (auto.offset.reset), and
	 * the table would go back through older versions of users' records
	 * while they are read again (0007-broker-faults.sh). The input
	 * consumer skips such records the same way (handle_message).
	 */
	if (m->partition >= 0 && m->partition < p->meta_nparts &&
	    m->offset < p->meta_next[m->partition])
		return;
	if (m->payload == NULL)
		rc = codec_tombstone(m->key, m->key_len, &r, &reason);
	else
		rc = codec_decode_meta(p->codec, p->fmt_meta, m->payload,
		    m->len, &r, &reason);
	if (rc != 0)
		dead_letter(p, m, reason);
	else {
		meta_apply(p->meta, &r);
		persist_put_meta(p->batch, &r);
	}
	p->n_meta_in++;
	if (m->partition >= 0 && m->partition < p->meta_nparts)
		p->meta_next[m->partition] = m->offset + 1;
}

static bool
meta_caught_up(const struct pipeline *p)
{
	int32_t i;

	for (i = 0; i < p->meta_nparts; i++)
		if (p->meta_end[i] > 0 &&
		    (p->meta_next[i] < 0 ? 0 : p->meta_next[i]) < p->meta_end[i])
			return false;
	return true;
}

/* Polls the metadata consumer; with catch_up, until its end offsets. */
static int
poll_meta(struct pipeline *p, bool catch_up)
{
	size_t since = 0;

	for (;;) {
		rd_kafka_message_t *m;

		if (catch_up && meta_caught_up(p))
			return 0;
		m = rd_kafka_consumer_poll(p->meta_consumer, catch_up ? 100 : 0);
		if (m == NULL) {
			if (!catch_up)
				return 0;
			if (pause_or_stop(p, 0))
				return -1;
			continue;
		}
		if (m->err) {
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				log_warn("metadata consumer error",
				    "error=\"%s\"", rd_kafka_message_errstr(m));
		} else
			apply_meta(p, m);
		rd_kafka_message_destroy(m);
		/* Keep the batch bounded while catching up. */
		if (++since >= 50000) {
			since = 0;
			if (pipeline_commit(p, false, false) != 0)
				return -1;
		}
	}
}

/* ---- Kafka setup ---- */

struct conf_ctx {
	rd_kafka_conf_t *conf;
	char            *err;
};

static void
kafka_kv(const char *key, const char *value, const char *where, void *arg)
{
	struct conf_ctx *c = arg;
	char errstr[512];

	if (c->err != NULL)
		return;
	if (rd_kafka_conf_set(c->conf, key, value, errstr, sizeof errstr) !=
	    RD_KAFKA_CONF_OK)
		c->err = xasprintf("%s: [kafka] %s: %s", where, key, errstr);
}

/*
 * librdkafka's log lines, through our logger. They are at most warnings:
 * librdkafka retries what it reports (a refused connection while a broker
 * is down) and the daemon logs errors it acts on itself. [kafka] is given
 * to the consumers and the producer alike, so the warning that a property
 * is for the other kind of client is expected and dropped.
 */
static void
kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac,
    const char *buf)
{
	enum log_level l = level <= 4 ? LOG_WARNING : level <= 6 ? LOG_INFO :
	    LOG_DEBUG;

	if (strcmp(fac, "CONFWARN") == 0 &&
	    (strstr(buf, "is a consumer property") != NULL ||
	    strstr(buf, "is a producer property") != NULL))
		return;
	if (l < log_get_level())
		return;
	log_msg(l, "kafka", "client=%s facility=%s detail=\"%s\"",
	    rd_kafka_name(rk), fac, buf);
}

static rd_kafka_conf_t *
kafka_conf(struct pipeline *p, const char *const *defaults, char **cause)
{
	struct conf_ctx c = { rd_kafka_conf_new(), NULL };
	char errstr[512];
	size_t i;

	for (i = 0; defaults[i] != NULL; i += 2) {
		if (rd_kafka_conf_set(c.conf, defaults[i], defaults[i + 1],
		    errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
			*cause = xasprintf("%s: %s", defaults[i], errstr);
			rd_kafka_conf_destroy(c.conf);
			return NULL;
		}
	}
	config_foreach(p->cfg, "kafka", kafka_kv, &c);
	if (c.err != NULL) {
		*cause = c.err;
		rd_kafka_conf_destroy(c.conf);
		return NULL;
	}
	rd_kafka_conf_set_opaque(c.conf, p);
	rd_kafka_conf_set_log_cb(c.conf, kafka_log_cb);
	return c.conf;
}

/* Partition count of a topic; 0 if it does not exist. Retries. */
static int
topic_partitions(struct pipeline *p, rd_kafka_t *rk, const char *topic)
{
	int attempt;

	for (attempt = 0; !p->stopping; attempt++) {
		const struct rd_kafka_metadata *md = NULL;
		rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
		rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, t, &md,
		    5000);
		int n = -1;

		rd_kafka_topic_destroy(t);
		if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
			if (md->topic_cnt == 1 && md->topics[0].err ==
			    RD_KAFKA_RESP_ERR_NO_ERROR)
				n = md->topics[0].partition_cnt;
			else if (md->topic_cnt == 1 && md->topics[0].err ==
			    RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
				n = 0;
			rd_kafka_metadata_destroy(md);
			if (n >= 0)
				return n;
		}
		log_warn("cannot get topic metadata; retrying", "topic=%s "
		    "error=\"%s\" attempt=%d", topic, rd_kafka_err2str(err),
		    attempt + 1);
		if (pause_or_stop(p, attempt < 5 ? 1000 : 5000))
			break;
	}
	return -1;
}

/*
 * The placement check takes the input's partition count at the first
 * assignment (n < 0: ask for it); a count that cannot be had proves
 * nothing, and the owners table does the work.
 */
static void
placement_start(struct pipeline *p, rd_kafka_t *rk, int n)
{
	if (p->placed != NULL)
		return;
	if (n < 0)
		n = topic_partitions(p, rk, p->topic_in);
	p->placed = placement_new(n);
	log_debug("placement check", "topic=%s partitions=%d", p->topic_in, n);
}

static int64_t
high_watermark(struct pipeline *p, rd_kafka_t *rk, const char *topic,
    int32_t part)
{
	int attempt;

	for (attempt = 0; !p->stopping; attempt++) {
		int64_t lo, hi;
		rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(rk,
		    topic, part, &lo, &hi, 5000);

		if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
			return hi;
		log_warn("cannot get end offset; retrying", "topic=%s "
		    "partition=%d error=\"%s\"", topic, part,
		    rd_kafka_err2str(err));
		if (pause_or_stop(p, 1000))
			break;
	}
	return -1;
}

/* Adds PARTS to the assignment or takes them out, in the protocol's way. */
static void
change_assignment(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts,
    bool coop, bool add)
{
	rd_kafka_error_t *e = NULL;
	rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;

	if (coop)
		e = add ? rd_kafka_incremental_assign(rk, parts) :
		    rd_kafka_incremental_unassign(rk, parts);
	else
		err = rd_kafka_assign(rk, add ? parts : NULL);
	if (e != NULL || err != RD_KAFKA_RESP_ERR_NO_ERROR)
		log_error(add ? "assign failed" : "unassign failed",
		    "error=\"%s\"", e != NULL ? rd_kafka_error_string(e) :
		    rd_kafka_err2str(err));
	if (e != NULL)
		rd_kafka_error_destroy(e);
}

/*
 * Takes over newly assigned partitions: each with its stored offset and an
 * empty engine, paused until loaded (on_load), one partition at a time from
 * the loop: with millions of users a partition takes 0.1 to 0.4 s, and the
 * first ones consume while the others load, with the watchdog and the admin
 * endpoints served. -1 (and the loop stopped) if a partition's state cannot
 * be read.
 */
static int
assign_parts(struct pipeline *p, rd_kafka_t *rk,
    rd_kafka_topic_partition_list_t *parts, bool coop)
{
	int i;

	placement_start(p, rk, -1);
	for (i = 0; i < parts->cnt; i++) {
		char *cause = NULL;
		struct part *pt = part_new(p, parts->elems[i].partition,
		    &cause);

		if (pt == NULL) {
			log_error("cannot load partition state",
			    "partition=%d error=\"%s\"",
			    parts->elems[i].partition, cause);
			free(cause);
			p->exit_code = 1;
			p->stopping = true;
			if (p->base != NULL)
				event_base_loopbreak(p->base);
			return -1;
		}
		/* Resume exactly where the stored state ends. */
		parts->elems[i].offset = pt->next;
		log_info("partition assigned", "topic=%s partition=%d "
		    "offset=%" PRId64, p->topic_in, pt->id, pt->next);
	}
	change_assignment(rk, parts, coop, true);
	if (rd_kafka_pause_partitions(rk, parts) != 0)
		log_error("pause failed", NULL);
	if (p->ev_load != NULL)
		run_soon(p->ev_load);
	return 0;
}

static void
rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct pipeline *p = opaque;
	bool coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") ==
	    0;
	int i;

	apply_join(p);	/* called inside a drain */
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		p->ever_assigned = true;
		(void)assign_parts(p, rk, parts, coop);
		return;
	}
	if (!rd_kafka_assignment_lost(rk))
		pipeline_commit(p, true, false);
	for (i = 0; i < parts->cnt; i++) {
		part_close(p, parts->elems[i].partition);
		log_info("partition revoked", "topic=%s partition=%d",
		    p->topic_in, parts->elems[i].partition);
	}
	change_assignment(rk, parts, coop, false);
}

/*
 * Loads one assigned partition's state, then seeks it to its stored offset
 * (records fetched before the pause took effect were skipped) and resumes
 * it; again at once while partitions are left.
 */
static void
on_load(evutil_socket_t fd, short what, void *arg)
{
	struct pipeline *p = arg;
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_error_t *e;
	struct part *pt = NULL;
	size_t pos = 0;
	uint64_t key;
	void *val;
	char *cause = NULL;

	(void)fd;
	(void)what;
	while (u64map_next(p->parts, &pos, &key, &val))
		if (((struct part *)val)->loading) {
			pt = val;
			break;
		}
	if (pt == NULL || p->stopping)
		return;
	if (part_load(p, pt, &cause) != 0) {
		log_error("cannot load partition state", "partition=%d "
		    "error=\"%s\"", pt->id, cause);
		free(cause);
		p->exit_code = 1;
		p->stopping = true;
		event_base_loopbreak(p->base);
		return;
	}
	l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, p->topic_in, pt->id)->offset =
	    pt->next;
	e = rd_kafka_seek_partitions(p->consumer, l, 0);
	if (e != NULL) {
		log_error("seek failed", "partition=%d error=\"%s\"", pt->id,
		    rd_kafka_error_string(e));
		rd_kafka_error_destroy(e);
	}
	if (rd_kafka_resume_partitions(p->consumer, l) != 0)
		log_error("resume failed", "partition=%d", pt->id);
	rd_kafka_topic_partition_list_destroy(l);
	if (p->notify != NULL)
		notify_watchdog(p->notify);
	if (p->nloading > 0)
		run_soon(p->ev_load);
	else
		log_info("partitions loaded", "partitions=%zu",
		    u64map_count(p->parts));
}

static int
kafka_setup(struct pipeline *p, char **cause)
{
	const char *cons_defaults[] = {
		"group.id", "activityd",
		"enable.auto.commit", "false",
		"enable.auto.offset.store", "false",
		"auto.offset.reset", "earliest",
		"partition.assignment.strategy", "cooperative-sticky",
		"fetch.wait.max.ms", "50",
		"enable.partition.eof", "true",
		/*
		 * Prefetch is capped by bytes, for all partitions together:
		 * librdkafka 2.0 counts the consumer queue that partitions
		 * forward to, not each partition's. Each record also costs
		 * a few hundred bytes of librdkafka's own, and what the
		 * queue once held stays in the process (freed into the
		 * fetching thread's malloc arena). On 2M records, 64
		 * partitions, a --once had 1100 MB RSS at the end of its
		 * input with the 64 MB default, 880 MB with 16 MB (some 250k
		 * records of the seed's size, a quarter second at 1M
		 * records/s), for the same CPU time. The count threshold
		 * stays above it, so that bytes decide: at its default (100k)
		 * fetches get small and consuming took twice the CPU time.
		 *
		 * A full queue stops a partition's fetches for a whole second
		 * in librdkafka 2.0 (fetch.queue.backoff.ms came in 2.2), so
		 * the queue must hold more than a second of consuming, or the
		 * loop starves until the fetches resume: 16 MB is some 450k
		 * records of the seed's size, and --once consumes 700k+ a
		 * second. It takes 32 MB (2M records: consuming 2.5 s instead
		 * of 3.0, peak RSS 970-1020 MB instead of 810-880). Live, a
		 * queue only fills while catching up, and memory counts more.
		 */
		"queued.min.messages", "1000000",
		"queued.max.messages.kbytes", p->once ? "32768" : "16384",
		NULL
	};
	static const char *prod_defaults[] = {
		"enable.idempotence", "true",
		"linger.ms", "5",
		"batch.size", "1000000",
		NULL
	};
	rd_kafka_conf_t *conf;
	char errstr[512];
	int i;

	conf = kafka_conf(p, prod_defaults, cause);
	if (conf == NULL)
		return -1;
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	p->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr,
	    sizeof errstr);
	if (p->producer == NULL) {
		rd_kafka_conf_destroy(conf);
		*cause = xasprintf("producer: %s", errstr);
		return -1;
	}
	/*
	 * Topic handles now, not a lookup by name per record: creating one
	 * asks for the topic's metadata at once. Named in the first
	 * produce instead, the topic was unknown until a later metadata
	 * refresh, and a --once's first sessions and its metrics each waited
	 * 0.3-0.7 s for their first delivery.
	 */
	for (i = 0; i < OUT_NTOPICS; i++) {
		p->rkt_out[i] = rd_kafka_topic_new(p->producer,
		    p->topic_out[i], NULL);
		if (p->rkt_out[i] == NULL) {
			*cause = xasprintf("producer topic %s: %s",
			    p->topic_out[i],
			    rd_kafka_err2str(rd_kafka_last_error()));
			return -1;
		}
	}

	conf = kafka_conf(p, cons_defaults, cause);
	if (conf == NULL)
		return -1;
	if (!p->once)
		rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
	p->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr,
	    sizeof errstr);
	if (p->consumer == NULL) {
		rd_kafka_conf_destroy(conf);
		*cause = xasprintf("consumer: %s", errstr);
		return -1;
	}
	rd_kafka_poll_set_consumer(p->consumer);
	p->cq = rd_kafka_queue_get_consumer(p->consumer);

	conf = kafka_conf(p, cons_defaults, cause);
	if (conf == NULL)
		return -1;
	/* The metadata table is global: no group, every partition. */
	p->meta_consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr,
	    sizeof errstr);
	if (p->meta_consumer == NULL) {
		rd_kafka_conf_destroy(conf);
		*cause = xasprintf("metadata consumer: %s", errstr);
		return -1;
	}
	rd_kafka_poll_set_consumer(p->meta_consumer);
	return 0;
}

static int
meta_start(struct pipeline *p, char **cause)
{
	rd_kafka_topic_partition_list_t *l;
	int n = topic_partitions(p, p->meta_consumer, p->topic_meta), i;
	rd_kafka_resp_err_t err;

	if (n < 0) {
		*cause = xstrdup("stopped before the broker was reachable");
		return -1;
	}
	p->meta_nparts = n;
	p->meta_next = xcalloc(n ? (size_t)n : 1, sizeof *p->meta_next);
	p->meta_end = xcalloc(n ? (size_t)n : 1, sizeof *p->meta_end);
	l = rd_kafka_topic_partition_list_new(n ? n : 1);
	for (i = 0; i < n; i++) {
		int64_t off;
		int r = persist_get_offset(p->store, p->topic_meta, i, &off,
		    cause);

		if (r < 0) {
			rd_kafka_topic_partition_list_destroy(l);
			return -1;
		}
		p->meta_next[i] = r == 0 ? off : -1;
		p->meta_end[i] = high_watermark(p, p->meta_consumer,
		    p->topic_meta, i);
		rd_kafka_topic_partition_list_add(l, p->topic_meta, i)->offset =
		    r == 0 ? off : RD_KAFKA_OFFSET_BEGINNING;
	}
	err = rd_kafka_assign(p->meta_consumer, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (err) {
		*cause = xasprintf("metadata assign: %s", rd_kafka_err2str(err));
		return -1;
	}
	log_info("catching up on metadata", "topic=%s partitions=%d",
	    p->topic_meta, n);
	if (poll_meta(p, true) != 0)
		return -1;
	log_info("metadata caught up", "users=%zu", meta_count(p->meta));
	p->meta_ready = true;
	return pipeline_commit(p, false, false);
}

/* --once: every partition, from the stored offsets to the end at start. */
static int
once_assign(struct pipeline *p, char **cause)
{
	int n = topic_partitions(p, p->consumer, p->topic_in), i;
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_resp_err_t err;

	if (n < 0) {
		*cause = xstrdup("stopped before the broker was reachable");
		return -1;
	}
	placement_start(p, p->consumer, n);
	l = rd_kafka_topic_partition_list_new(n ? n : 1);
	for (i = 0; i < n; i++) {
		struct part *pt = part_open(p, i, cause);

		if (pt == NULL) {
			rd_kafka_topic_partition_list_destroy(l);
			return -1;
		}
		pt->end = high_watermark(p, p->consumer, p->topic_in, i);
		pt->done = pt->end <= 0 || (pt->next >= 0 && pt->next >= pt->end);
		rd_kafka_topic_partition_list_add(l, p->topic_in, i)->offset =
		    pt->next;
	}
	err = rd_kafka_assign(p->consumer, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (err) {
		*cause = xasprintf("assign: %s", rd_kafka_err2str(err));
		return -1;
	}
	log_info("backfill started", "topic=%s partitions=%d", p->topic_in, n);
	return 0;
}

/* Live, input.assign = group: the consumer group hands out partitions. */
static int
live_subscribe(struct pipeline *p, char **cause)
{
	rd_kafka_topic_partition_list_t *l =
	    rd_kafka_topic_partition_list_new(1);
	rd_kafka_resp_err_t err;

	rd_kafka_topic_partition_list_add(l, p->topic_in,
	    RD_KAFKA_PARTITION_UA);
	err = rd_kafka_subscribe(p->consumer, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (err) {
		*cause = xasprintf("subscribe: %s", rd_kafka_err2str(err));
		return -1;
	}
	p->subscribed = true;
	return 0;
}

/*
 * Live, input.assign = all: every partition the topic has now, assigned
 * directly. Offsets come from the state either way, so nothing but the
 * group's coordination is skipped: a restart does not wait for the group
 * to notice the old member gone. Waits for the topic to exist.
 */
static int
live_assign_all(struct pipeline *p, char **cause)
{
	rd_kafka_topic_partition_list_t *l;
	int n, i, attempt, r;

	for (attempt = 0;; attempt++) {
		n = topic_partitions(p, p->consumer, p->topic_in);
		if (n != 0)
			break;
		if (attempt % 12 == 0)
			log_warn("input topic does not exist; waiting for it",
			    "topic=%s", p->topic_in);
		if (pause_or_stop(p, 5000))
			return 0;
	}
	if (n < 0)	/* stopped */
		return 0;
	placement_start(p, p->consumer, n);
	l = rd_kafka_topic_partition_list_new(n);
	for (i = 0; i < n; i++)
		rd_kafka_topic_partition_list_add(l, p->topic_in, i);
	r = assign_parts(p, p->consumer, l, false);
	rd_kafka_topic_partition_list_destroy(l);
	if (r != 0) {
		*cause = xstrdup("cannot load partition state");
		return -1;
	}
	return 0;
}

/* ---- loop ---- */

/*
 * Live mode: the idle rule, then at most CLOSE_SLICE of the sessions due
 * (SPEC 3), across the partitions; the rest in later slices, with the
 * input drained between them. Closed all at once in the timer, the 100k
 * sessions a second of bench/run.sh's close row at 100k events/s stopped
 * the loop for 100 ms and more each second.
 */
static void
close_slice(struct pipeline *p)
{
	size_t pos = 0, left = CLOSE_SLICE;
	uint64_t key;
	void *val;
	int64_t now = now_ms();

	while (left > 0 && u64map_next(p->parts, &pos, &key, &val))
		left -= engine_advance_some(((struct part *)val)->eng, now,
		    left);
	if (left == 0)
		run_soon(p->ev_close);	/* some may be due still */
}

static void
on_due(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	close_slice(arg);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pipeline *p = arg;

	(void)fd;
	(void)what;
	drain(p);
	if (!p->once) {
		poll_meta(p, false);
		close_slice(p);
	}
	{
		/* Metrics at [metrics] emit_interval, not at every commit:
		 * a period's union over the partitions is not free. */
		int64_t mono = pipeline_mono_ms();
		bool emit = !p->once && p->nloading == 0 &&
		    mono - p->last_emit >= config_int(p->cfg, "metrics",
		    "emit_interval");

		if (emit)
			p->last_emit = mono;
		/*
		 * --once commits at the end of its input (once_close): a
		 * commit now would write every user touched since the last
		 * one with its open sessions, to be written again once they
		 * are closed. Only dead letters piling up are written out.
		 */
		if (!p->once)
			commit_round(p, emit);
		else if (p->fresh_bytes >= p->batch_size)
			pipeline_commit(p, false, false);
	}
	pipeline_admin_tick(p);
	if (p->once) {
		int64_t el = pipeline_mono_ms() - p->t_start;

		fprintf(stderr, "processing: %" PRIu64 " records, %.0f/s\n",
		    p->n_in, el > 0 ? (double)p->n_in * 1000.0 / (double)el :
		    0.0);
	}
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct pipeline *p = arg;

	(void)what;
	log_notice("stopping", "signal=%d", (int)sig);
	p->stopping = true;
	/* STOPPING=1 and no new admin requests, then finish and commit. */
	pipeline_admin_stop(p);
	event_base_loopbreak(p->base);
}

static void
rocksdb_kv(const char *key, const char *value, const char *where, void *arg)
{
	struct enc *e = arg;

	(void)where;
	enc_raw(e, key, strlen(key));
	enc_u8(e, '=');
	enc_raw(e, value, strlen(value));
	enc_u8(e, ';');
}

struct pipeline *
pipeline_new(const struct config *cfg, bool once, char **cause)
{
	struct pipeline *p = xcalloc(1, sizeof *p);
	const char *const *items;
	size_t n, i;
	struct store_opts so = { 0 };
	struct enc ropts;

	p->cfg = cfg;
	p->once = once;
	p->assign_all = strcmp(config_str(cfg, "input", "assign"), "all") == 0;
	p->wake[0] = p->wake[1] = -1;
	p->topic_in = config_str(cfg, "topics", "interactions");
	p->topic_meta = config_str(cfg, "topics", "metadata");
	p->topic_out[OUT_SESSIONS] = config_str(cfg, "topics", "sessions");
	p->topic_out[OUT_METRICS] = config_str(cfg, "topics", "metrics");
	p->topic_out[OUT_DLQ] = config_str(cfg, "topics", "dlq");
	codec_format_parse(config_str(cfg, "input", "format"), &p->fmt_in);
	codec_format_parse(config_str(cfg, "input", "metadata_format"),
	    &p->fmt_meta);
	codec_format_parse(config_str(cfg, "output", "format"), &p->fmt_out);
	p->emit_sketch = config_bool(cfg, "output", "emit_sketch");
	p->commit_ms = config_int(cfg, "state", "commit_interval");
	p->batch_size = (size_t)config_int(cfg, "state", "batch_size");
	p->parts = u64map_new();
	p->final_done = u64map_new();
	p->pages = u64map_new();
	p->meta = meta_new();
	for (i = 0; i < 2; i++) {
		struct apply_slot *s = &p->slot[i];

		s->msgs = xcalloc(BATCH_MSGS, sizeof *s->msgs);
		s->evs = xcalloc(BATCH_MSGS, sizeof *s->evs);
		s->evmsg = xcalloc(BATCH_MSGS, sizeof *s->evmsg);
		s->evlate = xcalloc(BATCH_MSGS, sizeof *s->evlate);
		s->runs = xcalloc(BATCH_MSGS, sizeof *s->runs);
	}
	p->cur = &p->slot[0];
	p->helper_share = SHARE_START;
	p->batch = store_batch_new();
	p->held = store_batch_new();
	enc_init(&p->scratch);
	p->exit_code = 0;
	{
		/*
		 * Test hooks for state faults (tests/integration, docs/
		 * RELIABILITY.md): every RocksDB write fails once N input
		 * records have been consumed; the process kills itself with
		 * SIGKILL right after its Nth state write (a kill polled from
		 * outside missed the end of --once, which is a few writes
		 * within a tenth of a second).
		 */
		const char *f = getenv("ACTIVITYD_FAULT_FAIL_AFTER_RECORDS");
		const char *k = getenv("ACTIVITYD_FAULT_KILL_AFTER_WRITES");
		/* And one for the split of batches between two threads: a
		 * slow (sanitizer) build takes smaller batches. */
		const char *m = getenv("ACTIVITYD_TEST_APPLY_SPLIT_MIN");
		/* ... and the first drain waits, so that batches are full and
		 * hold several partitions whatever the build's speed. */
		const char *w = getenv("ACTIVITYD_TEST_DRAIN_DELAY_MS");

		p->fail_after_records = f != NULL ? strtoull(f, NULL, 10) : 0;
		p->kill_after_writes = k != NULL ? strtoull(k, NULL, 10) : 0;
		p->split_min = m != NULL ? strtoull(m, NULL, 10) :
		    APPLY_SPLIT_MIN;
		p->drain_delay_ms = w != NULL ? strtoull(w, NULL, 10) : 0;
	}

	n = config_list(cfg, "metrics", "time_zones", &items);
	for (i = 0; i < n && i < ACTIVE_MAX_ZONES; i++) {
		p->zones[i] = tzcal_open(items[i], cause);
		if (p->zones[i] == NULL) {
			char *c = *cause;

			*cause = xasprintf("%s: [metrics] time_zones: %s",
			    config_where(cfg, "metrics", "time_zones"), c);
			free(c);
			goto fail;
		}
		p->nzones++;
	}
	p->econf.sess.gap_ms = config_int(cfg, "session", "gap");
	p->econf.sess.grace_ms = config_int(cfg, "session", "grace");
	p->econf.sess.idle_close_ms = config_int(cfg, "session", "idle_close");
	p->econf.sess.hold_open = once;
	p->econf.end_last_start = strcmp(config_str(cfg, "session", "end"),
	    "last_event_start") == 0;
	p->econf.act.zones = p->zones;
	p->econf.act.n_zones = p->nzones;
	p->econf.act.span = strcmp(config_str(cfg, "metrics", "attribution"),
	    "span") == 0;
	p->econf.act.min_ms = config_int(cfg, "metrics", "active_min_ms");
	p->econf.act.max_ms = config_int(cfg, "metrics", "active_max_ms");
	p->econf.act.hll_precision = (int)config_int(cfg, "metrics",
	    "hll_precision");
	n = config_list(cfg, "metrics", "dimensions", &items);
	for (i = 0; i < n; i++) {
		int d = dim_from_name(items[i], strlen(items[i]));

		if (d >= 0)
			p->econf.act.dims_mask |= 1u << d;
	}

	p->codec = codec_new(codec_schema_dir(), cause);
	if (p->codec == NULL)
		goto fail;
	if (pool_cpus() >= 2) {
		char *c = NULL;

		p->pool = pool_new("activityd:apply", &c);
		if (p->pool == NULL) {
			log_warn("applying events on one thread", "error=\"%s\"",
			    c);
			free(c);
		}
	}
	codec_set_schema_id(p->codec, CODEC_INTERACTION,
	    (int32_t)config_int(cfg, "schema_ids", "interactions"));
	codec_set_schema_id(p->codec, CODEC_METADATA,
	    (int32_t)config_int(cfg, "schema_ids", "metadata"));
	codec_set_schema_id(p->codec, CODEC_SESSION,
	    (int32_t)config_int(cfg, "schema_ids", "sessions"));
	codec_set_schema_id(p->codec, CODEC_METRIC,
	    (int32_t)config_int(cfg, "schema_ids", "metrics"));

	/* [rocksdb] keys become RocksDB's "k=v;k=v" options string. */
	enc_init(&ropts);
	config_foreach(cfg, "rocksdb", rocksdb_kv, &ropts);
	enc_u8(&ropts, 0);
	so.memory_limit = (uint64_t)config_int(cfg, "state", "memory_limit");
	so.options = (const char *)ropts.buf;
	p->store = store_open(config_str(cfg, "state", "dir"), &so, cause);
	enc_free(&ropts);
	if (p->store == NULL)
		goto fail;
	if (!once) {
		p->writer = writer_new(p->store, cause);
		if (p->writer == NULL)
			goto fail;
		p->spare = store_batch_new();
	}
	if (persist_load_meta(p->store, p->meta, &n, cause) != 0)
		goto fail;
	if (persist_load_outbox(p->store, load_page_cb, p, cause) != 0)
		goto fail;
	persist_put_settings(p->batch, p->zones, p->nzones,
	    p->econf.act.hll_precision);
	if (kafka_setup(p, cause) != 0)
		goto fail;
	return p;
fail:
	pipeline_free(p);
	return NULL;
}

/*
 * SIGHUP: the configuration is read again; what can change live is
 * applied (the log level, whether metrics carry sketches), the rest is
 * reported as needing a restart.
 */
static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct pipeline *p = arg;
	struct config *c;
	char *cause = NULL;

	(void)sig;
	(void)what;
	if (p->reload == NULL)
		return;
	notify_reloading(p->notify);
	c = p->reload(p->reload_arg, &cause);
	if (c == NULL) {
		log_error("reload refused; keeping the running configuration",
		    "error=\"%s\"", cause);
		free(cause);
	} else {
		log_set_level((enum log_level)config_enum(c, "log", "level"));
		p->emit_sketch = config_bool(c, "output", "emit_sketch");
		log_notice("configuration reloaded", "log_level=%s "
		    "emit_sketch=%d other_changes=%s",
		    config_str(c, "log", "level"), p->emit_sketch,
		    reload_other_changes(p->cfg, c) ? "need_restart" : "none");
		config_free(c);
	}
	if (p->ready_sent)
		notify_ready(p->notify);
}

static int
loop_setup(struct pipeline *p)
{
	char *cause = NULL;

	p->base = event_base_new();
	if (p->base == NULL)
		return -1;
	if (pipe2(p->wake, O_NONBLOCK | O_CLOEXEC) != 0)
		return -1;
	rd_kafka_queue_io_event_enable(p->cq, p->wake[1], "1", 1);
	p->ev_wake = event_new(p->base, p->wake[0], EV_READ | EV_PERSIST,
	    on_wake, p);
	p->ev_timer = event_new(p->base, -1, EV_PERSIST, on_timer, p);
	p->ev_more = evtimer_new(p->base, on_more, p);
	p->ev_load = evtimer_new(p->base, on_load, p);
	p->ev_commit = evtimer_new(p->base, on_commit, p);
	p->ev_close = evtimer_new(p->base, on_due, p);
	if (p->writer != NULL) {
		p->ev_written = event_new(p->base, writer_fd(p->writer),
		    EV_READ | EV_PERSIST, on_written, p);
		if (p->ev_written == NULL ||
		    event_add(p->ev_written, NULL) != 0)
			return -1;
	}
	if (pipeline_admin_start(p, &cause) != 0) {
		log_error("cannot start the admin server", "error=\"%s\"",
		    cause);
		free(cause);
		return -1;
	}
	p->ev_hup = evsignal_new(p->base, SIGHUP, on_hup, p);
	p->ev_term = evsignal_new(p->base, SIGTERM, on_signal, p);
	p->ev_int = evsignal_new(p->base, SIGINT, on_signal, p);
	if (p->ev_wake == NULL || p->ev_timer == NULL || p->ev_more == NULL ||
	    p->ev_load == NULL || p->ev_commit == NULL ||
	    p->ev_close == NULL || p->ev_term == NULL ||
	    p->ev_int == NULL)
		return -1;
	/* Signals are served from the start (see pause_or_stop); input
	 * and commits only once the pipeline runs (loop_start). */
	if (p->ev_hup == NULL || event_add(p->ev_hup, NULL) != 0 ||
	    event_add(p->ev_term, NULL) != 0 || event_add(p->ev_int, NULL) != 0 ||
	    pipeline_watchdog_start(p) != 0)
		return -1;
	return 0;
}

static int
loop_start(struct pipeline *p)
{
	struct timeval tv;

	tv.tv_sec = p->commit_ms / 1000;
	tv.tv_usec = (p->commit_ms % 1000) * 1000;
	if (event_add(p->ev_wake, NULL) != 0 ||
	    event_add(p->ev_timer, &tv) != 0) {
		log_error("cannot start the event loop", NULL);
		return -1;
	}
	return 0;
}

/* Waits until every output is delivered (or time runs out). */
static bool
flush_outputs(struct pipeline *p, int64_t timeout_ms)
{
	int64_t until = pipeline_mono_ms() + timeout_ms;

	while ((p->inflight > 0 || p->nretry > 0) && pipeline_mono_ms() < until &&
	    !producer_fatal(p)) {
		rd_kafka_poll(p->producer, 100);
		if (p->nretry > 0 && p->inflight == 0)
			pipeline_commit(p, false, false);	/* re-produces */
	}
	/* Record the deliveries (outbox deletes). */
	if (store_batch_count(p->batch) > 0)
		pipeline_commit(p, false, false);
	return p->inflight == 0 && p->nretry == 0;
}

void
pipeline_set_reload(struct pipeline *p,
    struct config *(*reload)(void *, char **), void *arg)
{
	p->reload = reload;
	p->reload_arg = arg;
}

/*
 * At a clean end. The state is read next (queries, snapshots, the next
 * start), each open of it replaying the log of what is still in the
 * memtables: tens of MB after a large backfill or a busy live run, ~1 s
 * per `activityctl query` and as much again before a restart can assign.
 * Written out once here instead (after a kill the next open replays).
 */
static void
state_flush(struct pipeline *p, bool wait)
{
	char *cause = NULL;

	if (p->store == NULL || p->state_failed)
		return;
	if (store_flush(p->store, wait, &cause) != 0) {
		log_warn("cannot flush the state; the next open replays its "
		    "log", "error=\"%s\"", cause);
		free(cause);
	}
}

int
pipeline_run(struct pipeline *p)
{
	char *cause = NULL;

	p->t_start = pipeline_mono_ms();
	if (loop_setup(p) != 0) {
		log_error("cannot set up the event loop", "error=\"%s\"",
		    strerror(errno));
		return 1;
	}
	if (meta_start(p, &cause) != 0)
		goto fail;
	if (p->once) {
		if (once_assign(p, &cause) != 0)
			goto fail;
		p->t_start = pipeline_mono_ms();
		if (!once_done(p)) {
			if (loop_start(p) != 0)
				return 1;
			event_base_dispatch(p->base);
		}
	} else {
		if ((p->assign_all ? live_assign_all(p, &cause) :
		    live_subscribe(p, &cause)) != 0)
			goto fail;
		if (p->stopping) {	/* SIGTERM while waiting for the topic */
			log_notice("stopped during start-up", NULL);
			return p->exit_code;
		}
		if (loop_start(p) != 0)
			return 1;
		event_base_dispatch(p->base);
	}
	if (p->exit_code != 0)
		return p->exit_code;
	if (p->once && !p->stopping) {
		/*
		 * What the consumer's queue held was freed into memory of
		 * librdkafka's threads (glibc: their malloc arenas), where
		 * the closing and the rollup cannot reuse it: give it back
		 * to the system.
		 */
		heap_release();
		log_info("end of input; closing sessions", "records=%" PRIu64
		    " ms=%" PRId64 " cpu_ms=%" PRId64, p->n_in,
		    pipeline_mono_ms() - p->t_start, cpu_ms());
		if (once_close(p) != 0)
			return 1;
	} else if (pipeline_commit(p, !p->once, false) != 0)
		return 1;
	/* Under TimeoutStopSec=60s of the unit, with time to spare. */
	if (!flush_outputs(p, 45000)) {
		log_error("outputs not delivered; they stay in the outbox",
		    "pending=%zu", p->inflight + p->nretry);
		return 1;
	}
	if (p->once) {
		int64_t el;

		state_flush(p, true);
		el = pipeline_mono_ms() - p->t_start;
		log_info("backfill done", "records=%" PRIu64 " sessions=%"
		    PRIu64 " metrics=%" PRIu64 " dead_letters=%" PRIu64
		    " late=%" PRIu64 " ms=%" PRId64 " cpu_ms=%" PRId64
		    " batches=%" PRIu64 " two_threads=%" PRIu64, p->n_in,
		    p->n_sessions, p->n_metrics, p->n_dlq, p->n_late, el,
		    cpu_ms(), p->n_apply[0] + p->n_apply[1], p->n_apply[1]);
	}
	return 0;
fail:
	if (p->stopping && p->exit_code == 0) {	/* SIGTERM at start-up */
		log_notice("stopped during start-up", NULL);
		free(cause);
		return 0;
	}
	log_error("cannot start", "error=\"%s\"", cause);
	free(cause);
	return 1;
}

/*
 * Outputs the producer still holds at exit (the broker down, the producer
 * failed fatally) are durable in the outbox and produced again at the next
 * start. rd_kafka_destroy would drop them without a delivery report, and
 * their records with them (a leak at exit): they are purged instead and
 * the purge's reports served, which hands each record back to the retry
 * list that is freed with the pipeline.
 */
static void
producer_close(struct pipeline *p)
{
	rd_kafka_resp_err_t err;
	size_t held;

	/* After flush_outputs (45 s) a second wait would only delay the
	 * exit; on the paths that skip it the outbox has the outputs too. */
	if (rd_kafka_flush(p->producer, 1000) != RD_KAFKA_RESP_ERR_NO_ERROR &&
	    p->inflight > 0) {
		held = p->inflight;
		err = rd_kafka_purge(p->producer, RD_KAFKA_PURGE_F_QUEUE |
		    RD_KAFKA_PURGE_F_INFLIGHT);
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
			log_warn("cannot purge the producer", "error=\"%s\"",
			    rd_kafka_err2str(err));
		else if (rd_kafka_flush(p->producer, 1000) !=
		    RD_KAFKA_RESP_ERR_NO_ERROR)
			log_warn("purged outputs not all reported back",
			    "left=%zu", p->inflight);
		log_notice("outputs not acknowledged at exit; the outbox has "
		    "them for the next start", "count=%zu", held);
	}
	rd_kafka_destroy(p->producer);
}

/* Whether a list-valued librdkafka property names ITEM. */
static bool
conf_has(const rd_kafka_conf_t *conf, const char *name, const char *item)
{
	char buf[256];
	size_t len = sizeof buf;

	return rd_kafka_conf_get(conf, name, buf, &len) == RD_KAFKA_CONF_OK &&
	    strstr(buf, item) != NULL;
}

/*
 * librdkafka before 2.3 aborts on an assertion when a cooperative-sticky
 * consumer is closed after joining its group and before its first
 * assignment (librdkafka issue 4312): a SIGTERM while a restart waits for
 * the group did that. Such a consumer holds nothing (no partition, and
 * offsets live in the state), so it is left to the exit instead: the
 * group drops the member after its session timeout, as after a kill. The
 * handle stays referenced, so that leak checkers see it as reachable
 * (volatile: a pointer that is only stored was optimized away). A consumer
 * that never subscribed (a start that failed earlier) is closed as usual.
 */
static rd_kafka_t *volatile abandoned_consumer;

static void
consumer_close(struct pipeline *p)
{
	if (p->subscribed && !p->ever_assigned &&
	    rd_kafka_version() < 0x020300ff &&
	    conf_has(rd_kafka_conf(p->consumer),
	    "partition.assignment.strategy", "cooperative-sticky")) {
		log_notice("leaving the consumer group without closing: no "
		    "assignment yet, and this librdkafka aborts on that close",
		    "librdkafka=%s", rd_kafka_version_str());
		abandoned_consumer = p->consumer;
		return;
	}
	rd_kafka_consumer_close(p->consumer);
	rd_kafka_destroy(p->consumer);
}

void
pipeline_free(struct pipeline *p)
{
	size_t pos = 0, i;
	uint64_t key;
	void *val;

	if (p == NULL)
		return;
	if (p->consumer != NULL) {
		rd_kafka_queue_io_event_enable(p->cq, -1, NULL, 0);
		rd_kafka_queue_destroy(p->cq);
		consumer_close(p);
	}
	if (p->meta_consumer != NULL) {
		rd_kafka_consumer_close(p->meta_consumer);
		rd_kafka_destroy(p->meta_consumer);
	}
	/* Live: after the consumer's close, whose revocation commits once
	 * more (--once flushes in pipeline_run, where it is timed). */
	if (p->writer != NULL) {
		writer_settle(p, true);
		if (p->ev_written != NULL)
			event_free(p->ev_written);
		p->ev_written = NULL;
		writer_free(p->writer);
		p->writer = NULL;
	}
	if (!p->once)
		state_flush(p, true);
	for (i = 0; i < OUT_NTOPICS; i++)
		if (p->rkt_out[i] != NULL)
			rd_kafka_topic_destroy(p->rkt_out[i]);
	if (p->producer != NULL)
		producer_close(p);
	while (u64map_next(p->parts, &pos, &key, &val)) {
		engine_free(((struct part *)val)->eng);
		free(val);
	}
	u64map_free(p->parts);
	free(p->engines);
	owners_free(p->owners);
	placement_free(p->placed);
	u64map_free(p->final_done);
	u64map_free(p->pages);
	for (i = 0; i < p->nfresh; i++)
		outrec_free(p->fresh[i]);
	for (i = 0; i < p->nsent; i++)
		outrec_free(p->sent[i]);
	free(p->sent);
	if (p->spare != NULL)
		store_batch_free(p->spare);
	for (i = 0; i < p->nretry; i++)
		outrec_free(p->retry[i]);
	free(p->fresh);
	free(p->retry);
	free(p->meta_next);
	free(p->meta_end);
	pool_free(p->pool);
	for (i = 0; i < 2; i++) {
		free(p->slot[i].msgs);
		free(p->slot[i].evs);
		free(p->slot[i].evmsg);
		free(p->slot[i].evlate);
		free(p->slot[i].runs);
	}
	if (p->batch != NULL)
		store_batch_free(p->batch);
	if (p->held != NULL)
		store_batch_free(p->held);
	if (p->store != NULL)
		store_close(p->store);
	codec_free(p->codec);
	meta_free(p->meta);
	for (i = 0; i < p->nzones; i++)
		tzcal_free(p->zones[i]);
	enc_free(&p->scratch);
	if (p->ev_wake)
		event_free(p->ev_wake);
	if (p->ev_timer)
		event_free(p->ev_timer);
	if (p->ev_more)
		event_free(p->ev_more);
	if (p->ev_load)
		event_free(p->ev_load);
	if (p->ev_commit)
		event_free(p->ev_commit);
	if (p->ev_close)
		event_free(p->ev_close);
	free(p->round);
	if (p->ev_term)
		event_free(p->ev_term);
	if (p->ev_hup)
		event_free(p->ev_hup);
	pipeline_admin_free(p);
	if (p->ev_int)
		event_free(p->ev_int);
	if (p->base)
		event_base_free(p->base);
	if (p->wake[0] >= 0)
		close(p->wake[0]);
	if (p->wake[1] >= 0)
		close(p->wake[1]);
	free(p);
}
