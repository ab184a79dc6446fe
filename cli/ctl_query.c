/*
 * activityctl query dau|mau|sessions (--state DIR | --admin URL)
 *     [--from D] [--to D] [--tz Z] [--dimension D] [--top N]
 *     [--format table|csv|json]
 *
 * With --state, the stopped daemon's RocksDB state is opened read-only and
 * every partition found in it is loaded into an engine, as the daemon
 * would; DAU/MAU come from the same rollup the daemon emits metrics with.
 * With --admin, a running daemon answers the same query (GET /v1/dau,
 * /v1/mau, /v1/sessions/top) and the rows go through the same table code,
 * so the output is the same.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_http.h"
#include "ctl_table.h"
#include "engine.h"
#include "hll.h"
#include "meta.h"
#include "persist.h"
#include "report.h"
#include "store.h"
#include "tzcal.h"
#include "xmalloc.h"

#define CMD	"query"
/* Largest n of GET /v1/sessions/top (docs/admin.md). */
#define ADMIN_TOP_MAX	10000

/* Everything read from a state directory. */
struct view {
	struct store   *store;
	struct meta    *meta;
	struct tzcal   *zones[ACTIVE_MAX_ZONES];
	size_t          nzones;
	struct engine **eng;
	size_t          neng;
};

static void
view_free(struct view *v)
{
	size_t i;

	for (i = 0; i < v->neng; i++)
		engine_free(v->eng[i]);
	free(v->eng);
	for (i = 0; i < v->nzones; i++)
		tzcal_free(v->zones[i]);
	meta_free(v->meta);
	if (v->store != NULL)
		store_close(v->store);
}

/* users: load the user records too (the sessions report needs them). */
static int
view_open(struct view *v, const char *dir, bool users, char **cause)
{
	struct store_opts so = { 0 };
	struct engine_conf conf = { 0 };
	struct engine_cb cb = { NULL, NULL, NULL };
	char **names;
	int32_t *parts;
	size_t n, i, count;
	int precision, r;

	memset(v, 0, sizeof *v);
	so.memory_limit = 64 << 20;
	so.read_only = true;
	v->store = store_open(dir, &so, cause);
	if (v->store == NULL)
		return -1;
	v->meta = meta_new();
	if (persist_load_meta(v->store, v->meta, &count, cause) != 0)
		return -1;
	precision = HLL_DEFAULT_PRECISION;
	r = persist_get_settings(v->store, &names, &n, &precision, cause);
	if (r < 0)
		return -1;
	if (r == 1)	/* state of an older daemon: zones from the keys */
		n = persist_zones(v->store, &names);
	for (i = 0; i < n; i++) {
		if (v->nzones < ACTIVE_MAX_ZONES &&
		    (v->zones[v->nzones] = tzcal_open(names[i], cause)) != NULL)
			v->nzones++;
		free(names[i]);
	}
	free(names);
	if (v->nzones == 0)	/* no active users saved yet */
		v->zones[v->nzones++] = tzcal_open("UTC", cause);
	conf.sess.gap_ms = 600000;
	conf.sess.hold_open = true;
	conf.act.zones = v->zones;
	conf.act.n_zones = v->nzones;
	conf.act.min_ms = 10000;
	conf.act.max_ms = 14400000;
	conf.act.hll_precision = precision;
	conf.act.dims_mask = (1u << DIM_COUNT) - 1;
	n = persist_partitions(v->store, &parts);
	v->eng = xcalloc(n ? n : 1, sizeof *v->eng);
	for (i = 0; i < n; i++) {
		v->eng[v->neng++] = engine_new(&conf, v->meta, &cb);
		if ((users ? persist_load_partition :
		    persist_load_partition_sets)(v->store, v->eng[i], parts[i],
		    v->zones, v->nzones, cause) != 0) {
			free(parts);
			return -1;
		}
	}
	free(parts);
	return 0;
}

static int
zone_index(const struct view *v, const char *tz)
{
	size_t i;

	if (tz == NULL)		/* the first configured zone */
		return 0;
	for (i = 0; i < v->nzones; i++)
		if (strcmp(tzcal_name(v->zones[i]), tz) == 0)
			return (int)i;
	return -1;
}

static void
fmt_u64(char *buf, size_t cap, uint64_t v)
{
	snprintf(buf, cap, "%" PRIu64, v);
}

/* The period bounds of --from/--to; a usage message and -1 if bad. */
static int
parse_range(enum period_kind kind, const char *from, const char *to,
    int32_t *lo, int32_t *hi)
{
	*lo = INT32_MIN;
	*hi = INT32_MAX;
	if (from != NULL && (kind == PERIOD_DAY ? tzcal_parse_day(from, lo) :
	    tzcal_parse_month(from, lo)) != 0) {
		ctl_usage_error(CMD, "bad --from %s", from);
		return -1;
	}
	if (to != NULL && (kind == PERIOD_DAY ? tzcal_parse_day(to, hi) :
	    tzcal_parse_month(to, hi)) != 0) {
		ctl_usage_error(CMD, "bad --to %s", to);
		return -1;
	}
	return 0;
}

/* Columns: period, [dimension value], exact, approx. */
static struct table *
active_table(enum period_kind kind, int dim, enum table_format fmt)
{
	const char *hdr[4] = { kind == PERIOD_DAY ? "day" : "month",
		"count_active_users", "approx_active_users", NULL };
	size_t nc = 3;
	struct table *t;

	if (dim >= 0) {	/* period, value, exact, approx */
		hdr[3] = hdr[2];
		hdr[2] = hdr[1];
		hdr[1] = dim_name((enum dim)dim);
		nc = 4;
	}
	t = table_new(fmt, nc, hdr);
	table_set_numeric(t, nc - 2);
	table_set_numeric(t, nc - 1);
	return t;
}

static void
active_row(struct table *t, const char *label, const char *val, int dim,
    uint64_t exact, uint64_t approx)
{
	char cnt[32], apx[32];
	const char *plain[3] = { label, cnt, apx };
	const char *bydim[4] = { label, val, cnt, apx };

	fmt_u64(cnt, sizeof cnt, exact);
	fmt_u64(apx, sizeof apx, approx);
	table_row(t, dim >= 0 ? bydim : plain);
}

static int
query_active(struct view *v, enum period_kind kind, int zone,
    const char *from, const char *to, int dim, enum table_format fmt)
{
	int32_t lo, hi;
	struct active_row *rows;
	size_t n, i;
	struct table *t;

	if (parse_range(kind, from, to, &lo, &hi) != 0)
		return CTL_EXIT_USAGE;
	t = active_table(kind, dim, fmt);
	n = report_active(v->eng, v->neng, v->meta, zone, kind, lo, hi, dim,
	    &rows);
	for (i = 0; i < n; i++) {
		char val[EVENT_STRING_MAX + 1];

		snprintf(val, sizeof val, "%.*s", (int)rows[i].value.len,
		    rows[i].value.p);
		active_row(t, rows[i].label, val, dim, rows[i].exact,
		    (uint64_t)llround(rows[i].approx));
	}
	free(rows);
	table_print(t, stdout);
	table_free(t);
	return CTL_EXIT_OK;
}

static struct table *
users_table(enum table_format fmt)
{
	const char *hdr[] = { "user_id", "total_sessions",
		"avg_session_duration" };
	struct table *t = table_new(fmt, 3, hdr);

	table_set_numeric(t, 1);
	table_set_numeric(t, 2);
	return t;
}

static void
users_row(struct table *t, const char *user, uint64_t sessions, double avg)
{
	char cnt[32], a[64];
	const char *row[3] = { user, cnt, a };

	fmt_u64(cnt, sizeof cnt, sessions);
	format_double(avg, a, sizeof a);
	table_row(t, row);
}

static int
query_sessions(struct view *v, uint64_t top, enum table_format fmt)
{
	struct user_row *rows;
	size_t n = report_users(v->eng, v->neng, top, &rows), i;
	struct table *t = users_table(fmt);

	for (i = 0; i < n; i++) {
		char user[EVENT_USER_ID_MAX + 1];

		snprintf(user, sizeof user, "%.*s", (int)rows[i].user.len,
		    rows[i].user.p);
		users_row(t, user, rows[i].sessions,
		    user_row_avg_seconds(&rows[i]));
	}
	table_print(t, stdout);
	table_free(t);
	free(rows);
	return CTL_EXIT_OK;
}

/* ---- the same queries through a running daemon's admin API ---- */

static int
admin_get(const char *admin, const char *path, json_t **out)
{
	char *cause = NULL;

	if (ctl_admin_query(admin, path, out, &cause) == 0)
		return 0;
	ctl_warn(CMD, "%s", cause);
	free(cause);
	return -1;
}

/* A non-negative integer member; -1 if missing or of another type. */
static int
json_u64(json_t *o, const char *name, uint64_t *out)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* Appends "name=value&" (value escaped) unless value is NULL. */
static void
add_param(char **path, const char *name, const char *value)
{
	char *esc, *tmp;

	if (value == NULL)
		return;
	esc = ctl_http_escape(value);
	tmp = xasprintf("%s%s=%s&", *path, name, esc);
	free(esc);
	free(*path);
	*path = tmp;
}

static int
admin_active(const char *admin, enum period_kind kind, const char *tz,
    const char *from, const char *to, int dim, enum table_format fmt)
{
	const char *pname = kind == PERIOD_DAY ? "day" : "month";
	int32_t lo, hi;
	char *path;
	json_t *o, *rows, *r;
	struct table *t;
	size_t i;
	int rc = CTL_EXIT_OK;

	if (parse_range(kind, from, to, &lo, &hi) != 0)
		return CTL_EXIT_USAGE;
	path = xasprintf("/v1/%s?", kind == PERIOD_DAY ? "dau" : "mau");
	add_param(&path, "from", from);
	add_param(&path, "to", to);
	add_param(&path, "tz", tz);
	add_param(&path, "dimension", dim >= 0 ? dim_name((enum dim)dim) :
	    NULL);
	path[strlen(path) - 1] = '\0';	/* the last '&' or the lone '?' */
	if (admin_get(admin, path, &o) != 0) {
		free(path);
		return CTL_EXIT_FAIL;
	}
	free(path);
	rows = json_object_get(o, "rows");
	if (!json_is_array(rows)) {
		ctl_warn(CMD, "%s: answer without rows", admin);
		json_decref(o);
		return CTL_EXIT_FAIL;
	}
	t = active_table(kind, dim, fmt);
	json_array_foreach(rows, i, r) {
		json_t *label = json_object_get(r, pname);
		json_t *val = dim >= 0 ?
		    json_object_get(r, dim_name((enum dim)dim)) : NULL;
		uint64_t exact, approx;

		if (!json_is_string(label) || (dim >= 0 && !json_is_string(val))
		    || json_u64(r, "count_active_users", &exact) != 0 ||
		    json_u64(r, "approx_active_users", &approx) != 0) {
			ctl_warn(CMD, "%s: malformed row %zu", admin, i);
			rc = CTL_EXIT_FAIL;
			break;
		}
		active_row(t, json_string_value(label),
		    val ? json_string_value(val) : NULL, dim, exact, approx);
	}
	if (rc == CTL_EXIT_OK)
		table_print(t, stdout);
	table_free(t);
	json_decref(o);
	return rc;
}

static int
user_id_cmp(const void *a, const void *b)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a,
	    "user_id")), json_string_value(json_object_get(*(json_t *const *)b,
	    "user_id")));
}

static int
admin_sessions(const char *admin, uint64_t top, enum table_format fmt)
{
	char path[64];
	json_t *o, *users, *u, **v;
	struct table *t;
	size_t i, n;

	snprintf(path, sizeof path, "/v1/sessions/top?n=%" PRIu64,
	    top ? top : ADMIN_TOP_MAX);
	if (admin_get(admin, path, &o) != 0)
		return CTL_EXIT_FAIL;
	users = json_object_get(o, "users");
	if (!json_is_array(users)) {
		ctl_warn(CMD, "%s: answer without users", admin);
		json_decref(o);
		return CTL_EXIT_FAIL;
	}
	n = json_array_size(users);
	v = xcalloc(n ? n : 1, sizeof *v);
	json_array_foreach(users, i, u) {
		json_t *id = json_object_get(u, "user_id");
		uint64_t cnt;

		if (!json_is_string(id) || json_u64(u, "total_sessions", &cnt)
		    != 0 || !json_is_number(json_object_get(u,
		    "avg_session_duration"))) {
			ctl_warn(CMD, "%s: malformed user %zu", admin, i);
			free(v);
			json_decref(o);
			return CTL_EXIT_FAIL;
		}
		v[i] = u;
	}
	/* Without --top, --state lists every user by id: so do we. */
	if (top == 0)
		qsort(v, n, sizeof *v, user_id_cmp);
	t = users_table(fmt);
	for (i = 0; i < n; i++) {
		uint64_t cnt = 0;

		json_u64(v[i], "total_sessions", &cnt);
		users_row(t, json_string_value(json_object_get(v[i],
		    "user_id")), cnt, json_number_value(json_object_get(v[i],
		    "avg_session_duration")));
	}
	free(v);
	table_print(t, stdout);
	if (top == 0 && n == ADMIN_TOP_MAX)
		ctl_warn(CMD, "the admin API returns at most %d users: these "
		    "are the ones with most sessions; for all, use --state DIR "
		    "(read-only, works while the daemon runs)", ADMIN_TOP_MAX);
	table_free(t);
	json_decref(o);
	return CTL_EXIT_OK;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: activityctl query dau|mau|sessions (--state DIR | --admin "
	    "URL)\n"
	    "           [--from D] [--to D] [--tz ZONE] [--dimension D] "
	    "[--top N]\n"
	    "           [--format table|csv|json]\n");
}

int
ctl_query(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "admin", required_argument, NULL, 'a' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "tz", required_argument, NULL, 'z' },
		{ "dimension", required_argument, NULL, 'd' },
		{ "top", required_argument, NULL, 'n' },
		{ "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *state = NULL, *admin = ctl->admin_url, *from = NULL;
	const char *to = NULL, *tz = NULL, *what;
	enum table_format fmt = TABLE_TEXT;
	uint64_t top = 0;
	int ch, dim = -1, zone, rc;
	struct view v;
	char *cause = NULL;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': state = optarg; break;
		case 'a': admin = optarg; break;
		case 'f': from = optarg; break;
		case 't': to = optarg; break;
		case 'z': tz = optarg; break;
		case 'd':
			dim = dim_from_name(optarg, strlen(optarg));
			if (dim < 0)
				return ctl_usage_error(CMD, "unknown dimension "
				    "%s (country, device_type, "
				    "subscription_type)", optarg);
			break;
		case 'n':
			if (ctl_parse_u64(optarg, 1, UINT32_MAX, &top) != 0)
				return ctl_usage_error(CMD, "bad --top %s",
				    optarg);
			break;
		case 'F':
			if (table_format_parse(optarg, &fmt) != 0)
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
	if (optind + 1 != argc)
		return ctl_usage_error(CMD, "expected one of dau, mau, "
		    "sessions");
	what = argv[optind];
	if (strcmp(what, "dau") != 0 && strcmp(what, "mau") != 0 &&
	    strcmp(what, "sessions") != 0)
		return ctl_usage_error(CMD, "unknown query %s", what);
	if (state != NULL && admin != NULL && admin != ctl->admin_url)
		return ctl_usage_error(CMD, "--state and --admin exclude each "
		    "other");
	if (state == NULL && admin != NULL) {
		if (strcmp(what, "sessions") == 0) {
			if (top > ADMIN_TOP_MAX)
				return ctl_usage_error(CMD, "--top is at most "
				    "%d with --admin", ADMIN_TOP_MAX);
			return admin_sessions(admin, top, fmt);
		}
		return admin_active(admin, strcmp(what, "dau") == 0 ?
		    PERIOD_DAY : PERIOD_MONTH, tz, from, to, dim, fmt);
	}
	if (state == NULL)
		return ctl_usage_error(CMD, "--state DIR or --admin URL is "
		    "required");
	if (view_open(&v, state, strcmp(what, "sessions") == 0, &cause) != 0) {
		ctl_warn(CMD, "%s: %s", state, cause);
		free(cause);
		view_free(&v);
		return CTL_EXIT_FAIL;
	}
	zone = zone_index(&v, tz);
	if (zone < 0) {
		ctl_warn(CMD, "no active users kept in time zone %s", tz);
		view_free(&v);
		return CTL_EXIT_FAIL;
	}
	if (strcmp(what, "sessions") == 0)
		rc = query_sessions(&v, top, fmt);
	else
		rc = query_active(&v, strcmp(what, "dau") == 0 ? PERIOD_DAY :
		    PERIOD_MONTH, zone, from, to, dim, fmt);
	view_free(&v);
	return rc;
}
