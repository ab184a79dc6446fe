/*
 * activityctl query dau|mau|sessions (--state DIR | --admin URL)
 *     [--from D] [--to D] [--tz Z] [--dimension D] [--top N]
 *     [--format table|csv|json]
 *
 * With --state, the stopped daemon's RocksDB state is opened read-only and
 * every partition found in it is loaded into an engine, as the daemon
 * would; DAU/MAU come from the same rollup the daemon emits metrics with.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
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

static int
view_open(struct view *v, const char *dir, char **cause)
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
		if (persist_load_partition(v->store, v->eng[i], parts[i],
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

static int
query_active(struct view *v, enum period_kind kind, int zone,
    const char *from, const char *to, int dim, enum table_format fmt)
{
	const char *hdr[4] = { kind == PERIOD_DAY ? "day" : "month",
		"count_active_users", "approx_active_users", NULL };
	int32_t lo = INT32_MIN, hi = INT32_MAX;
	struct active_row *rows;
	size_t n, i, nc = 3;
	struct table *t;

	if (from != NULL && (kind == PERIOD_DAY ? tzcal_parse_day(from, &lo) :
	    tzcal_parse_month(from, &lo)) != 0)
		return ctl_usage_error(CMD, "bad --from %s", from);
	if (to != NULL && (kind == PERIOD_DAY ? tzcal_parse_day(to, &hi) :
	    tzcal_parse_month(to, &hi)) != 0)
		return ctl_usage_error(CMD, "bad --to %s", to);
	if (dim >= 0) {	/* period, value, exact, approx */
		hdr[3] = hdr[2];
		hdr[2] = hdr[1];
		hdr[1] = dim_name((enum dim)dim);
		nc = 4;
	}
	t = table_new(fmt, nc, hdr);
	table_set_numeric(t, nc - 2);
	table_set_numeric(t, nc - 1);
	n = report_active(v->eng, v->neng, v->meta, zone, kind, lo, hi, dim,
	    &rows);
	for (i = 0; i < n; i++) {
		char val[EVENT_STRING_MAX + 1], cnt[32], approx[32];
		const char *plain[3] = { rows[i].label, cnt, approx };
		const char *bydim[4] = { rows[i].label, val, cnt, approx };

		snprintf(val, sizeof val, "%.*s", (int)rows[i].value.len,
		    rows[i].value.p);
		fmt_u64(cnt, sizeof cnt, rows[i].exact);
		snprintf(approx, sizeof approx, "%.0f", round(rows[i].approx));
		table_row(t, dim >= 0 ? bydim : plain);
	}
	free(rows);
	table_print(t, stdout);
	table_free(t);
	return CTL_EXIT_OK;
}

static int
query_sessions(struct view *v, uint64_t top, enum table_format fmt)
{
	const char *hdr[] = { "user_id", "total_sessions",
		"avg_session_duration" };
	struct user_row *rows;
	size_t n = report_users(v->eng, v->neng, top, &rows), i;
	struct table *t = table_new(fmt, 3, hdr);

	table_set_numeric(t, 1);
	table_set_numeric(t, 2);
	for (i = 0; i < n; i++) {
		char user[EVENT_USER_ID_MAX + 1], cnt[32], avg[64];
		const char *row[3] = { user, cnt, avg };

		snprintf(user, sizeof user, "%.*s", (int)rows[i].user.len,
		    rows[i].user.p);
		fmt_u64(cnt, sizeof cnt, rows[i].sessions);
		format_double(user_row_avg_seconds(&rows[i]), avg, sizeof avg);
		table_row(t, row);
	}
	table_print(t, stdout);
	table_free(t);
	free(rows);
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
	if (state == NULL && admin != NULL)
		return ctl_usage_error(CMD, "--admin is not available yet: "
		    "stop the daemon and use --state DIR");
	if (state == NULL)
		return ctl_usage_error(CMD, "--state DIR is required");
	if (view_open(&v, state, &cause) != 0) {
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
