/*
 * pipeline_admin: what an operator sees of the pipeline: the admin HTTP
 * endpoints (connectors/admin.c), the Prometheus metrics
 * (connectors/prom.c) and the systemd notifications (connectors/notify.c).
 *
 * Everything here runs on the pipeline's loop and only reads in-memory
 * state, except POST /v1/snapshots, which commits and then takes a RocksDB
 * checkpoint (hard links: fast, and consistent with that commit).
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "config.h"
#include "hll.h"
#include "log.h"
#include "meta.h"
#include "notify.h"
#include "owners.h"
#include "pipeline_int.h"
#include "prom.h"
#include "report.h"
#include "rollup.h"
#include "store.h"
#include "tzcal.h"
#include "u64map.h"
#include "xmalloc.h"

static const double commit_buckets[] = { .001, .0025, .005, .01, .025, .05,
	.1, .25, .5, 1, 2.5, 5, 10 };

/* ---- readiness, systemd ---- */

static bool
op_ready(void *arg, const char **why)
{
	struct pipeline *p = arg;

	if (p->store == NULL) {
		*why = "state not open";
		return false;
	}
	if (p->state_failed) {
		*why = "state write failed";
		return false;
	}
	if (!p->meta_ready) {
		*why = "metadata not caught up";
		return false;
	}
	if (u64map_count(p->parts) == 0) {
		*why = "no partitions assigned";
		return false;
	}
	if (p->nloading > 0) {
		*why = "partitions loading";
		return false;
	}
	return true;
}

/* Records behind the high watermarks, from librdkafka's cached offsets. */
static int64_t
total_lag(struct pipeline *p)
{
	size_t pos = 0;
	uint64_t key;
	void *val;
	int64_t lag = 0;

	while (u64map_next(p->parts, &pos, &key, &val)) {
		struct part *pt = val;
		int64_t lo, hi;

		if (rd_kafka_get_watermark_offsets(p->consumer, p->topic_in,
		    pt->id, &lo, &hi) == 0 && hi >= 0)
			lag += hi - (pt->next >= 0 ? pt->next : lo);
	}
	return lag;
}

void
pipeline_admin_tick(struct pipeline *p)
{
	int64_t now = pipeline_mono_ms();
	const char *why;

	if (!p->ready_sent && op_ready(p, &why)) {
		notify_ready(p->notify);
		p->ready_sent = true;
	}
	if (now - p->status_at >= 5000) {
		double rate = p->status_at > 0 ? (double)(p->n_in -
		    p->status_in) * 1000.0 / (double)(now - p->status_at) : 0;

		notify_status(p->notify, "%zu partitions, %.0f records/s, lag "
		    "%" PRId64 ", %" PRIu64 " records, %" PRIu64 " sessions "
		    "closed, outbox %zu", u64map_count(p->parts), rate,
		    total_lag(p), p->n_in, p->n_sessions,
		    p->inflight + p->nretry);
		p->status_in = p->n_in;
		p->status_at = now;
	}
}

/*
 * The watchdog has its own timer, independent of commit_interval (which
 * may be longer than WatchdogSec): a loop that keeps turning pings, a
 * stuck one does not, and systemd restarts it.
 */
static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct pipeline *p = arg;

	(void)fd;
	(void)what;
	notify_watchdog(p->notify);
}

int
pipeline_watchdog_start(struct pipeline *p)
{
	uint64_t usec = notify_watchdog_interval_usec(p->notify);
	struct timeval tv;

	if (usec == 0)
		return 0;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	p->ev_watchdog = event_new(p->base, -1, EV_PERSIST, on_watchdog, p);
	if (p->ev_watchdog == NULL || event_add(p->ev_watchdog, &tv) != 0)
		return -1;
	notify_watchdog(p->notify);
	return 0;
}

/* ---- metrics ---- */

void
pipeline_count_dead_letter(struct pipeline *p, const char *reason)
{
	if (p->m_dlq != NULL)
		prom_add(p->m_dlq, 1, reason);
}

void
pipeline_observe_commit(struct pipeline *p, double seconds)
{
	if (p->m_commit != NULL)
		prom_observe(p->m_commit, seconds);
}

static void
gauge(struct prom *pr, const char *name, const char *help, double v)
{
	prom_set(prom_gauge(pr, name, help, ""), v);
}

static void
counter(struct prom *pr, const char *name, const char *help, double v)
{
	prom_set(prom_counter(pr, name, help, ""), v);
}

static int64_t
rocksdb_sum(struct store *st, const char *prop)
{
	int64_t sum = 0;
	int c;

	for (c = 0; c < STORE_NCF; c++) {
		int64_t v = store_property(st, (enum store_cf)c, prop);

		if (v > 0)
			sum += v;
	}
	return sum;
}

/*
 * The in-memory state by part, summed over the partitions (allocated
 * sizes as the data structures account them, less records never written:
 * what RSS is made of beside RocksDB and the Kafka client's buffers).
 * Walks every set, not every user or session.
 */
static void
state_memory(struct pipeline *p, struct engine *const *e, size_t n,
    struct prom *pr)
{
	static const char *const kind[ENGINE_MEM_COUNT] = {
		[ENGINE_MEM_USERS] = "users",
		[ENGINE_MEM_SESSIONS] = "sessions",
		[ENGINE_MEM_SETS] = "sets",
		[ENGINE_MEM_STRINGS] = "strings",
	};
	struct prom_metric *m = prom_gauge(pr, "activityd_state_memory_bytes",
	    "Memory of the in-memory state by kind.", "kind");
	size_t sum[ENGINE_MEM_COUNT] = { 0 }, part[ENGINE_MEM_COUNT], i;
	int k;

	for (i = 0; i < n; i++) {
		engine_memory_parts(e[i], part);
		for (k = 0; k < ENGINE_MEM_COUNT; k++)
			sum[k] += part[k];
	}
	for (k = 0; k < ENGINE_MEM_COUNT; k++)
		prom_set(m, (double)sum[k], kind[k]);
	prom_set(m, p->owners != NULL ? (double)owners_memory(p->owners) : 0,
	    "owners");
	prom_set(m, (double)meta_memory(p->meta), "metadata");
}

/*
 * The metrics of a scrape are built fresh, except the dead-letter counter
 * and the commit histogram, which accumulate between scrapes.
 */
static void
op_metrics(void *arg, struct enc *out)
{
	struct pipeline *p = arg;
	struct prom *pr = prom_new();
	struct prom_metric *m;
	struct engine **e;
	size_t n = pipeline_engines(p, &e), i, open = 0;
	const char *why;
	char part[16];
	int z;

	prom_set(prom_gauge(pr, "activityd_build_info", "Version of the "
	    "running activityd.", "version"), 1, ACTIVITYD_VERSION);
	gauge(pr, "activityd_ready", "1 when /readyz answers 200.",
	    op_ready(p, &why) ? 1 : 0);
	m = prom_counter(pr, "activityd_records_in_total", "Records consumed, "
	    "per input topic.", "topic");
	prom_set(m, (double)p->n_in, p->topic_in);
	prom_set(m, (double)p->n_meta_in, p->topic_meta);
	m = prom_counter(pr, "activityd_records_out_total", "Outputs "
	    "acknowledged by the broker, per output topic.", "topic");
	for (i = 0; i < OUT_NTOPICS; i++)
		prom_set(m, (double)p->n_out[i], p->topic_out[i]);
	m = prom_counter(pr, "activityd_apply_batches_total", "Batches of "
	    "consumed events applied to the state, by the threads that "
	    "applied them (2: the loop and its helper).", "threads");
	prom_set(m, (double)p->n_apply[0], "1");
	prom_set(m, (double)p->n_apply[1], "2");
	counter(pr, "activityd_late_events_total", "Events of an already "
	    "emitted session (counted for DAU/MAU, sent to the dead-letter "
	    "topic).", (double)p->n_late);
	counter(pr, "activityd_sessions_closed_total", "Sessions closed and "
	    "queued for output.", (double)p->n_sessions);
	gauge(pr, "activityd_outbox_depth", "Outputs written to the outbox "
	    "and not yet acknowledged.", (double)(p->inflight + p->nretry +
	    p->nfresh + p->nsent));
	gauge(pr, "activityd_metadata_users", "Users in the metadata table.",
	    (double)meta_count(p->meta));
	prom_set(prom_gauge(pr, "activityd_assigned_partitions", "Partitions "
	    "this instance owns.", "topic"), (double)n, p->topic_in);

	{
		struct prom_metric *lag = prom_gauge(pr,
		    "activityd_consumer_lag", "Records between the next offset "
		    "to consume and the high watermark.", "topic,partition");
		struct prom_metric *wm = prom_gauge(pr,
		    "activityd_watermark_timestamp_seconds", "Event-time "
		    "watermark of a partition, Unix seconds.", "partition");
		size_t pos = 0;
		uint64_t key;
		void *val;

		while (u64map_next(p->parts, &pos, &key, &val)) {
			struct part *pt = val;
			int64_t lo, hi, w = engine_watermark(pt->eng);

			snprintf(part, sizeof part, "%" PRId32, pt->id);
			/* Cached offsets: never blocks the loop. */
			if (rd_kafka_get_watermark_offsets(p->consumer,
			    p->topic_in, pt->id, &lo, &hi) == 0 && hi >= 0)
				prom_set(lag, (double)(hi - (pt->next >= 0 ?
				    pt->next : lo)), p->topic_in, part);
			if (w != INT64_MIN)
				prom_set(wm, (double)w / 1000.0, part);
			open += sessionizer_open_count(engine_sessionizer(
			    pt->eng));
		}
	}
	gauge(pr, "activityd_open_sessions", "Sessions not yet closed.",
	    (double)open);
	state_memory(p, e, n, pr);

	if (p->store != NULL) {
		m = prom_gauge(pr, "activityd_rocksdb_memory_bytes", "RocksDB "
		    "memory by kind.", "kind");
		prom_set(m, (double)rocksdb_sum(p->store,
		    "rocksdb.cur-size-all-mem-tables"), "memtables");
		prom_set(m, (double)store_block_cache_usage(p->store),
		    "block_cache");
		prom_set(m, (double)store_block_cache_pinned(p->store),
		    "pinned");
		prom_set(m, (double)rocksdb_sum(p->store,
		    "rocksdb.estimate-table-readers-mem"), "table_readers");
		gauge(pr, "activityd_rocksdb_write_stopped", "1 while RocksDB "
		    "stops writes.", rocksdb_sum(p->store,
		    "rocksdb.is-write-stopped") > 0 ? 1 : 0);
		gauge(pr, "activityd_rocksdb_delayed_write_rate_bytes",
		    "Write rate RocksDB currently imposes (0 when not "
		    "delaying).", (double)rocksdb_sum(p->store,
		    "rocksdb.actual-delayed-write-rate"));
	}

	/*
	 * HLL against exact for the newest day and month of each zone, as
	 * of the last metrics emission: computing the exact union here
	 * stopped the loop for 100 ms or more on each scrape of a million
	 * users.
	 */
	m = prom_gauge(pr, "activityd_hll_relative_error", "abs(estimate - "
	    "exact) / exact of the newest day and month emitted.",
	    "tz,period");
	for (z = 0; (size_t)z < p->nzones; z++) {
		int k;

		for (k = 0; k < 2; k++) {
			const struct newest *nw = &p->newest[z][k];

			if (nw->set && nw->exact > 0)
				prom_set(m, fabs(nw->approx -
				    (double)nw->exact) / (double)nw->exact,
				    tzcal_name(p->zones[z]),
				    k == 0 ? "day" : "month");
		}
	}
	free(e);
	prom_render(pr, out);
	prom_render(p->prom, out);
	prom_free(pr);
}

/* ---- queries ---- */

static int
zone_of(struct pipeline *p, const char *tz)
{
	size_t i;

	if (tz == NULL)
		return 0;
	for (i = 0; i < p->nzones; i++)
		if (strcmp(tzcal_name(p->zones[i]), tz) == 0)
			return (int)i;
	return -1;
}

static json_t *
op_active(void *arg, bool monthly, const char *from, const char *to,
    const char *tz, const char *dimension, int *status, const char **err)
{
	struct pipeline *p = arg;
	enum period_kind kind = monthly ? PERIOD_MONTH : PERIOD_DAY;
	int32_t lo = INT32_MIN, hi = INT32_MAX;
	int zone = zone_of(p, tz), dim = -1;
	struct engine **e;
	struct active_row *rows;
	size_t n, nr, i;
	json_t *out, *arr;

	*status = 400;
	if (zone < 0) {
		*err = "unknown time zone (not a configured reporting zone)";
		return NULL;
	}
	if (from != NULL && (monthly ? tzcal_parse_month(from, &lo) :
	    tzcal_parse_day(from, &lo)) != 0) {
		*err = monthly ? "from: expected YYYY-MM" :
		    "from: expected YYYY-MM-DD";
		return NULL;
	}
	if (to != NULL && (monthly ? tzcal_parse_month(to, &hi) :
	    tzcal_parse_day(to, &hi)) != 0) {
		*err = monthly ? "to: expected YYYY-MM" :
		    "to: expected YYYY-MM-DD";
		return NULL;
	}
	if (dimension != NULL &&
	    (dim = dim_from_name(dimension, strlen(dimension))) < 0) {
		*err = "dimension: one of country, device_type, "
		    "subscription_type";
		return NULL;
	}
	n = pipeline_engines(p, &e);
	nr = report_active(e, n, p->meta, zone, kind, lo, hi, dim, &rows);
	arr = json_array();
	for (i = 0; i < nr; i++) {
		json_t *r = json_object();

		json_object_set_new(r, monthly ? "month" : "day",
		    json_string(rows[i].label));
		if (dim >= 0)
			json_object_set_new(r, dimension, json_stringn(
			    rows[i].value.p, rows[i].value.len));
		json_object_set_new(r, "count_active_users",
		    json_integer((json_int_t)rows[i].exact));
		json_object_set_new(r, "approx_active_users",
		    json_integer((json_int_t)llround(rows[i].approx)));
		json_array_append_new(arr, r);
	}
	free(rows);
	free(e);
	out = json_pack("{s:s, s:o}", "tz", tzcal_name(p->zones[zone]),
	    "rows", arr);
	return out;
}

static json_t *
user_json(const struct user_row *r)
{
	return json_pack("{s:s%, s:I, s:f, s:I, s:I, s:I}",
	    "user_id", r->user.p, r->user.len,
	    "total_sessions", (json_int_t)r->sessions,
	    "avg_session_duration", user_row_avg_seconds(r),
	    "actions", (json_int_t)r->actions,
	    "first_seen", (json_int_t)r->first_seen,
	    "last_seen", (json_int_t)r->last_seen);
}

static json_t *
op_user(void *arg, const char *user_id, int *status, const char **err)
{
	struct pipeline *p = arg;
	struct engine **e;
	size_t n = pipeline_engines(p, &e), i, open = 0;
	struct user_row row = { .user = strv_c(user_id) };
	bool found = false;
	const struct meta_entry *me;
	json_t *o;
	int d;

	for (i = 0; i < n; i++) {
		uint32_t uid = engine_user_find(e[i], row.user);
		struct user_stats st;

		if (uid == UINT32_MAX)
			continue;
		found = true;
		open += sessionizer_user_open(engine_sessionizer(e[i]), uid);
		if (!engine_user_stats(e[i], uid, &st))
			continue;
		if (row.sessions == 0 || st.first_seen < row.first_seen)
			row.first_seen = st.first_seen;
		if (row.sessions == 0 || st.last_seen > row.last_seen)
			row.last_seen = st.last_seen;
		row.sessions += st.sessions;
		row.duration_ms += st.duration_ms;
		row.actions += st.actions;
	}
	free(e);
	if (!found) {
		*status = 404;
		*err = "unknown user";
		return NULL;
	}
	o = user_json(&row);
	json_object_set_new(o, "open_sessions", json_integer((json_int_t)open));
	me = meta_get(p->meta, row.user);
	for (d = 0; d < DIM_COUNT; d++) {
		struct strv v = me ? meta_value(p->meta, (enum dim)d,
		    me->codes[d]) : (struct strv){ NULL, 0 };

		json_object_set_new(o, dim_name((enum dim)d), v.p ?
		    json_stringn(v.p, v.len) : json_null());
	}
	return o;
}

static json_t *
op_top(void *arg, size_t top, int *status, const char **err)
{
	struct pipeline *p = arg;
	struct engine **e;
	size_t n = pipeline_engines(p, &e), nr, i;
	struct user_row *rows;
	json_t *arr = json_array();

	(void)status;
	(void)err;
	nr = report_users(e, n, top, &rows);
	for (i = 0; i < nr; i++)
		json_array_append_new(arr, user_json(&rows[i]));
	free(rows);
	free(e);
	return json_pack("{s:o}", "users", arr);
}

/* ---- snapshots ---- */

/* A name that stays inside the snapshot directory. */
static bool
snapshot_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 64 || s[0] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || strchr("._-", s[i])))
			return false;
	return true;
}

/*
 * RocksDB builds a checkpoint in PATH.tmp, first emptying whatever is
 * there (through a symbolic link too: a link planted as NAME.tmp had the
 * files of its target deleted), then renames it to PATH. So neither may
 * exist in any form, and the directory must be the daemon's own, or
 * another user could plant such a link between this check and the
 * checkpoint.
 */
static bool
snapshot_path_free(const char *base, const char *path, int *status,
    const char **err)
{
	struct stat st;
	char *tmp;
	bool taken;

	if (stat(base, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		log_error("snapshot directory refused: it must be a directory "
		    "of the daemon's user that no one else can write to",
		    "dir=%s", base);
		*status = 500;
		*err = "the snapshot directory is not the daemon's own (see "
		    "the daemon's log)";
		return false;
	}
	tmp = xasprintf("%s.tmp", path);
	taken = lstat(path, &st) == 0 || errno != ENOENT ||
	    lstat(tmp, &st) == 0 || errno != ENOENT;
	free(tmp);
	if (taken) {
		*status = 409;
		*err = "a snapshot of that name exists";
		return false;
	}
	return true;
}

static json_t *
op_snapshot(void *arg, const char *name, int *status, const char **err)
{
	struct pipeline *p = arg;
	const char *dir = config_str(p->cfg, "state", "snapshot_dir");
	char stamp[32], *base, *path, *cause = NULL;
	time_t now = time(NULL);
	struct tm tm;
	int64_t t0 = pipeline_mono_ms();
	json_t *o;

	if (name == NULL) {
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
		name = stamp;
	}
	if (!snapshot_name_ok(name)) {
		*status = 400;
		*err = "name: 1 to 64 of [A-Za-z0-9._-], not starting with '.'";
		return NULL;
	}
	base = dir[0] ? xstrdup(dir) :
	    xasprintf("%s.snapshots", config_str(p->cfg, "state", "dir"));
	if (mkdir(base, 0700) != 0 && errno != EEXIST) {
		log_error("cannot create snapshot directory", "dir=%s "
		    "error=\"%s\"", base, strerror(errno));
		free(base);
		*status = 500;
		*err = "cannot create the snapshot directory";
		return NULL;
	}
	path = xasprintf("%s/%s", base, name);
	if (!snapshot_path_free(base, path, status, err)) {
		free(base);
		free(path);
		return NULL;
	}
	free(base);
	/* Everything in memory first, so the checkpoint holds it. */
	if (pipeline_commit(p, false, false) != 0 ||
	    store_checkpoint(p->store, path, &cause) != 0) {
		log_error("snapshot failed", "path=%s error=\"%s\"", path,
		    cause ? cause : "commit failed");
		free(cause);
		free(path);
		*status = errno == EEXIST ? 409 : 500;
		*err = "snapshot failed (see the daemon's log)";
		return NULL;
	}
	log_notice("snapshot created", "path=%s ms=%" PRId64, path,
	    pipeline_mono_ms() - t0);
	o = json_pack("{s:s, s:s, s:I}", "name", name, "path", path,
	    "partitions", (json_int_t)u64map_count(p->parts));
	free(path);
	return o;
}

/* ---- life cycle ---- */

int
pipeline_admin_start(struct pipeline *p, char **cause)
{
	struct admin_ops ops = { op_ready, op_metrics, op_active, op_user,
		op_top, op_snapshot, p };
	const char *host;
	uint16_t port;

	p->notify = notify_new();
	p->prom = prom_new();
	p->m_dlq = prom_counter(p->prom, "activityd_dead_letters_total",
	    "Records sent to the dead-letter topic, by reason (late events "
	    "excluded).", "reason");
	p->m_commit = prom_histogram(p->prom,
	    "activityd_commit_duration_seconds", "Time to write one state, "
	    "offsets and outbox batch.", "", commit_buckets,
	    sizeof commit_buckets / sizeof commit_buckets[0]);
	if (p->once)
		return 0;	/* a backfill has no endpoint */
	config_addr(p->cfg, "admin", "listen", &host, &port);
	p->admin = admin_new(p->base, host, port,
	    config_str(p->cfg, "admin", "token_file"),
	    (size_t)config_int(p->cfg, "admin", "max_request_size"),
	    (unsigned)config_int(p->cfg, "admin", "rate_limit"), &ops, cause);
	return p->admin == NULL ? -1 : 0;
}

void
pipeline_admin_stop(struct pipeline *p)
{
	if (p->notify != NULL)
		notify_stopping(p->notify);
	admin_free(p->admin);
	p->admin = NULL;
}

void
pipeline_admin_free(struct pipeline *p)
{
	pipeline_admin_stop(p);
	if (p->ev_watchdog != NULL)
		event_free(p->ev_watchdog);
	p->ev_watchdog = NULL;
	prom_free(p->prom);
	p->prom = NULL;
	p->m_dlq = p->m_commit = NULL;
	notify_free(p->notify);
	p->notify = NULL;
}
