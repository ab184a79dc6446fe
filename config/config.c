/*
 * config: the daemon's INI configuration (see config.h).
 *
 * Design
 * ------
 * config_table below declares every option once. config_new parses each
 * default through the same code as a file value, so a default can never
 * disagree with its own bounds. A file is parsed completely into a list of
 * pending values before anything is applied: a broken file, or one broken
 * override, leaves the configuration as it was (what a SIGHUP reload needs).
 *
 * Syntax: "[section]" headers, "key = value" lines, '#' and ';' comment
 * lines. An unquoted value ends at the first '#'. A value may be written in
 * double quotes, then '#' is literal and \" and \\ are the only escapes.
 * Lines are bounded (CONFIG_LINE_MAX) and control characters are refused,
 * so a binary file or a runaway line fails cleanly instead of being read.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define CONFIG_LINE_MAX		65536	/* long enough for an inline PEM */
#define CONFIG_KV_MAX		4096	/* pass-through entries per section */
#define CONFIG_ZONES_MAX	8

enum config_type {
	CONFIG_STRING,		/* min..max is the length in bytes */
	CONFIG_INT,
	CONFIG_BOOL,
	CONFIG_DURATION,	/* milliseconds */
	CONFIG_SIZE,		/* bytes */
	CONFIG_ENUM,
	CONFIG_LIST,		/* with choices: distinct items among them */
	CONFIG_ADDR,
};

static const char *const config_type_names[] = {
	"string", "int", "bool", "duration", "size", "enum", "list", "addr",
};

struct config_option {
	const char		*section;
	const char		*key;
	enum config_type	 type;
	const char		*def;
	int64_t			 min;
	int64_t			 max;
	const char *const	*choices;
	const char		*help;
};

#define SEC	1000LL
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)
#define KIB	1024LL
#define MIB	(1024 * KIB)
#define GIB	(1024 * MIB)
#define TIB	(1024 * GIB)

static const char *const config_formats[] = {
	"avro", "confluent", "json", NULL
};
static const char *const config_assigns[] = { "group", "all", NULL };
static const char *const config_session_ends[] = {
	"last_event_end", "last_event_start", NULL
};
static const char *const config_attributions[] = { "start", "span", NULL };
static const char *const config_dimensions[] = {
	"country", "device_type", "subscription_type", NULL
};
static const char *const config_levels[] = {
	"debug", "info", "notice", "warning", "error", NULL
};

static const struct config_option config_table[] = {
	{ "topics", "interactions", CONFIG_STRING, "interactions", 1, 249, NULL,
	  "input topic of interaction events, keyed by user_id" },
	{ "topics", "metadata", CONFIG_STRING, "user-metadata", 1, 249, NULL,
	  "compacted input topic of user metadata, keyed by user_id" },
	{ "topics", "sessions", CONFIG_STRING, "activity.sessions", 1, 249,
	  NULL, "output topic of closed sessions" },
	{ "topics", "metrics", CONFIG_STRING, "activity.metrics", 1, 249, NULL,
	  "output topic of DAU/MAU records (meant to be compacted)" },
	{ "topics", "dlq", CONFIG_STRING, "activity.dlq", 1, 249, NULL,
	  "dead-letter topic for bad and late records" },

	{ "input", "format", CONFIG_ENUM, "avro", 0, 0, config_formats,
	  "encoding of interaction values" },
	{ "input", "metadata_format", CONFIG_ENUM, "avro", 0, 0, config_formats,
	  "encoding of metadata values" },
	{ "input", "assign", CONFIG_ENUM, "group", 0, 0, config_assigns,
	  "group: partitions shared by the consumer group; all: every "
	  "partition, assigned directly" },

	{ "output", "format", CONFIG_ENUM, "avro", 0, 0, config_formats,
	  "encoding of session and metric values" },
	{ "output", "emit_sketch", CONFIG_BOOL, "false", 0, 0, NULL,
	  "include the HyperLogLog sketch bytes in metric records" },

	{ "schema_ids", "interactions", CONFIG_INT, "1", 0, INT32_MAX, NULL,
	  "Confluent schema id of interaction values" },
	{ "schema_ids", "metadata", CONFIG_INT, "2", 0, INT32_MAX, NULL,
	  "Confluent schema id of metadata values" },
	{ "schema_ids", "sessions", CONFIG_INT, "3", 0, INT32_MAX, NULL,
	  "Confluent schema id written with session values" },
	{ "schema_ids", "metrics", CONFIG_INT, "4", 0, INT32_MAX, NULL,
	  "Confluent schema id written with metric values" },

	{ "state", "dir", CONFIG_STRING, "/var/lib/activityd", 1, 4095, NULL,
	  "directory of the RocksDB state" },
	{ "state", "commit_interval", CONFIG_DURATION, "1s", 10, HOUR, NULL,
	  "how often state and offsets are committed together" },
	{ "state", "memory_limit", CONFIG_SIZE, "256M", 16 * MIB, TIB, NULL,
	  "memory cap of hot state plus RocksDB caches" },
	{ "state", "batch_size", CONFIG_SIZE, "32M", MIB, GIB, NULL,
	  "--once: closed sessions per state write at the end" },
	{ "state", "snapshot_dir", CONFIG_STRING, "", 0, 4095, NULL,
	  "directory of snapshots; empty means <dir>.snapshots" },

	{ "admin", "listen", CONFIG_ADDR, "127.0.0.1:8080", 0, 0, NULL,
	  "address of the admin HTTP server" },
	{ "admin", "token_file", CONFIG_STRING, "", 0, 4095, NULL,
	  "file holding the bearer token; required off loopback" },
	{ "admin", "max_request_size", CONFIG_SIZE, "64K", KIB, 16 * MIB, NULL,
	  "largest admin request accepted" },
	{ "admin", "rate_limit", CONFIG_INT, "100", 1, 1000000, NULL,
	  "admin requests per second" },

	{ "session", "gap", CONFIG_DURATION, "10m", SEC, 7 * DAY, NULL,
	  "inactivity that ends a session (exactly gap continues it)" },
	{ "session", "grace", CONFIG_DURATION, "5m", 0, 7 * DAY, NULL,
	  "watermark lag behind the newest event time" },
	{ "session", "end", CONFIG_ENUM, "last_event_end", 0, 0,
	  config_session_ends,
	  "session end: last timestamp + duration_ms, or last timestamp" },
	{ "session", "idle_close", CONFIG_DURATION, "0", 0, 30 * DAY, NULL,
	  "wall-clock idleness that advances a watermark; 0 = gap + grace" },

	{ "metrics", "time_zones", CONFIG_LIST, "UTC", 0, 0, NULL,
	  "reporting time zones (IANA names, at most 8)" },
	{ "metrics", "attribution", CONFIG_ENUM, "start", 0, 0,
	  config_attributions,
	  "count a user on the start day, or on every day the action spans" },
	{ "metrics", "hll_precision", CONFIG_INT, "14", 4, 18, NULL,
	  "HyperLogLog precision p (2^p registers)" },
	{ "metrics", "active_min_ms", CONFIG_INT, "10000", 0, INT64_MAX, NULL,
	  "an action is active if duration_ms is above this (exclusive)" },
	{ "metrics", "active_max_ms", CONFIG_INT, "14400000", 1, INT64_MAX,
	  NULL,
	  "an action is active if duration_ms is below this (exclusive)" },
	{ "metrics", "dimensions", CONFIG_LIST,
	  "country,device_type,subscription_type", 0, 0, config_dimensions,
	  "metadata breakdowns of DAU/MAU; empty for totals only" },
	{ "metrics", "emit_interval", CONFIG_DURATION, "1s", 10, HOUR, NULL,
	  "how often changed metrics are emitted" },

	{ "log", "level", CONFIG_ENUM, "info", 0, 0, config_levels,
	  "lowest level logged" },
};
#define CONFIG_NOPTIONS (sizeof config_table / sizeof config_table[0])

static const char *const config_passthrough[] = { "kafka", "rocksdb" };
#define CONFIG_NPASS (sizeof config_passthrough / sizeof config_passthrough[0])

enum config_origin { ORIGIN_DEFAULT, ORIGIN_FILE, ORIGIN_OVERRIDE };

struct config_value {
	char			*text;	/* as written, after unquoting */
	int64_t			 num;	/* int, duration, size, bool, enum,
					   addr port */
	char			*host;	/* addr, without brackets */
	char			**items;	/* list, NULL-terminated */
	size_t			 nitems;
	enum config_origin	 origin;
	uint64_t		 seq;	/* assignment order; 0 = default */
	char			*where;	/* "FILE:LINE", "-o", "default" */
	char			*label;	/* where, but "-o ASSIGNMENT" */
};

struct config_kv {
	char		*key;
	char		*value;
	char		*where;
	char		*label;
};

struct config_kvlist {
	struct config_kv	*v;
	size_t			 n;
	size_t			 cap;
};

struct config {
	struct config_value	 values[CONFIG_NOPTIONS];
	/* Per pass-through section: file entries, then overrides. */
	struct config_kvlist	 file[CONFIG_NPASS];
	struct config_kvlist	 over[CONFIG_NPASS];
	uint64_t		 seq;
};

/* ---------------------------------------------------------------------------
 * Lookups and value lifetime
 */

static int
config_find(const char *section, const char *key)
{
	size_t	i;

	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		if (strcmp(config_table[i].section, section) == 0 &&
		    strcmp(config_table[i].key, key) == 0)
			return (int)i;
	}
	return -1;
}

static bool
config_known_section(const char *section)
{
	size_t	i;

	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		if (strcmp(config_table[i].section, section) == 0)
			return true;
	}
	return false;
}

static int
config_find_pass(const char *section)
{
	size_t	i;

	for (i = 0; i < CONFIG_NPASS; i++) {
		if (strcmp(config_passthrough[i], section) == 0)
			return (int)i;
	}
	return -1;
}

static void
config_value_clear(struct config_value *v)
{
	size_t	i;

	free(v->text);
	free(v->host);
	for (i = 0; i < v->nitems; i++)
		free(v->items[i]);
	free(v->items);
	free(v->where);
	free(v->label);
	memset(v, 0, sizeof *v);
}

static void
config_kv_clear(struct config_kv *kv)
{
	free(kv->key);
	free(kv->value);
	free(kv->where);
	free(kv->label);
}

static void
config_kvlist_clear(struct config_kvlist *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		config_kv_clear(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

static struct config_kv *
config_kvlist_get(const struct config_kvlist *l, const char *key)
{
	size_t	i;

	for (i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].key, key) == 0)
			return &l->v[i];
	}
	return NULL;
}

/* Replace the entry with the same key, or append. Takes ownership of kv. */
static void
config_kvlist_put(struct config_kvlist *l, struct config_kv *kv)
{
	struct config_kv	*old;

	if ((old = config_kvlist_get(l, kv->key)) != NULL) {
		config_kv_clear(old);
		*old = *kv;
		return;
	}
	l->v = xgrow(l->v, &l->cap, l->n + 1, sizeof *l->v);
	l->v[l->n++] = *kv;
}

#define TYPE(t)	(1u << (t))

/* The value of a declared option whose type is one of the mask's. */
static const struct config_value *
config_get(const struct config *cfg, const char *section, const char *key,
    unsigned types, const char *what)
{
	int	idx;

	if ((idx = config_find(section, key)) == -1)
		fatalx("config: no option [%s] %s", section, key);
	if ((TYPE(config_table[idx].type) & types) == 0)
		fatalx("config: [%s] %s is a %s, not a %s", section, key,
		    config_type_names[config_table[idx].type], what);
	return &cfg->values[idx];
}

/* ---------------------------------------------------------------------------
 * Typed value parsing. Each parser fills v (text already set) or returns -1
 * with an allocated reason that does not yet name the option.
 */

/* Decimal digits only, no sign; -1 if empty, not digits or overflowing. */
static int
config_digits(const char *s, size_t len, int64_t *out)
{
	int64_t	n = 0;
	size_t	i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		if (n > (INT64_MAX - (s[i] - '0')) / 10)
			return -2;
		n = n * 10 + (s[i] - '0');
	}
	*out = n;
	return 0;
}

struct config_unit {
	const char	*name;
	int64_t		 mult;
};

/* Largest unit first: the canonical form uses the first that divides. */
static const struct config_unit config_duration_units[] = {
	{ "d", DAY }, { "h", HOUR }, { "m", MIN }, { "s", SEC }, { "ms", 1 },
	{ NULL, 0 }
};
static const struct config_unit config_size_units[] = {
	{ "T", TIB }, { "G", GIB }, { "M", MIB }, { "K", KIB }, { "", 1 },
	{ NULL, 0 }
};

/* "N" or "N<unit>"; 0 ok, -1 malformed, -2 too large. */
static int
config_scaled(const char *s, const struct config_unit *units, bool nocase,
    int64_t *out)
{
	const struct config_unit	*u;
	size_t				 n;
	int64_t				 v;
	int				 r;

	n = strspn(s, "0123456789");
	if ((r = config_digits(s, n, &v)) != 0)
		return r;
	if (s[n] == '\0') {
		*out = v;	/* bare number: the smallest unit */
		return 0;
	}
	for (u = units; u->name != NULL; u++) {
		if (*u->name == '\0')
			continue;
		if ((nocase ? strcasecmp(s + n, u->name) :
		    strcmp(s + n, u->name)) == 0) {
			if (v > INT64_MAX / u->mult)
				return -2;
			*out = v * u->mult;
			return 0;
		}
	}
	return -1;
}

static void
config_format_scaled(char *buf, size_t size, int64_t v,
    const struct config_unit *units)
{
	const struct config_unit	*u;

	for (u = units; u->name != NULL; u++) {
		if (v != 0 && v % u->mult == 0)
			break;
	}
	if (u->name == NULL)
		snprintf(buf, size, "%" PRId64, v);
	else
		snprintf(buf, size, "%" PRId64 "%s", v / u->mult, u->name);
}

/* A value in the way its option's type writes it. */
static void
config_format_num(char *buf, size_t size, enum config_type type, int64_t v)
{
	if (type == CONFIG_DURATION)
		config_format_scaled(buf, size, v, config_duration_units);
	else if (type == CONFIG_SIZE)
		config_format_scaled(buf, size, v, config_size_units);
	else
		snprintf(buf, size, "%" PRId64, v);
}

static char *
config_out_of_range(const struct config_option *o, const char *text)
{
	char	lo[32], hi[32];

	config_format_num(lo, sizeof lo, o->type, o->min);
	config_format_num(hi, sizeof hi, o->type, o->max);
	return xasprintf("\"%s\" is out of range (%s..%s)", text, lo, hi);
}

static char *
config_choices(const char *const *choices)
{
	char	*s = xstrdup(""), *t;
	size_t	 i;

	for (i = 0; choices[i] != NULL; i++) {
		t = xasprintf("%s%s%s", s, i == 0 ? "" : ", ", choices[i]);
		free(s);
		s = t;
	}
	return s;
}

static int
config_choice(const char *const *choices, const char *s)
{
	int	i;

	for (i = 0; choices[i] != NULL; i++) {
		if (strcmp(choices[i], s) == 0)
			return i;
	}
	return -1;
}

static char *
config_not_one_of(const char *const *choices, const char *s)
{
	char	*all = config_choices(choices), *r;

	r = xasprintf("\"%s\" is not one of %s", s, all);
	free(all);
	return r;
}

static int
config_parse_int(const struct config_option *o, struct config_value *v,
    char **reason)
{
	const char	*s = v->text;
	bool		 neg = (*s == '-');
	int64_t		 n;
	int		 r;

	if (neg || *s == '+')
		s++;
	r = config_digits(s, strlen(s), &n);
	if (r == -1) {
		*reason = xasprintf("\"%s\" is not an integer", v->text);
		return -1;
	}
	/* -2^63 does not fit the magnitude; no bound goes that low anyway. */
	if (r == -2 || (neg ? -n : n) < o->min || (neg ? -n : n) > o->max) {
		*reason = config_out_of_range(o, v->text);
		return -1;
	}
	v->num = neg ? -n : n;
	return 0;
}

static int
config_parse_bool(struct config_value *v, char **reason)
{
	static const char *const yes[] = { "true", "yes", "on", "1", NULL };
	static const char *const no[] = { "false", "no", "off", "0", NULL };
	size_t	i;

	for (i = 0; yes[i] != NULL; i++) {
		if (strcasecmp(v->text, yes[i]) == 0) {
			v->num = 1;
			return 0;
		}
		if (strcasecmp(v->text, no[i]) == 0) {
			v->num = 0;
			return 0;
		}
	}
	*reason = xasprintf("\"%s\" is not a boolean "
	    "(use true/false, yes/no, on/off, 1/0)", v->text);
	return -1;
}

static int
config_parse_scaled(const struct config_option *o, struct config_value *v,
    char **reason)
{
	int	r;

	if (o->type == CONFIG_DURATION)
		r = config_scaled(v->text, config_duration_units, false,
		    &v->num);
	else
		r = config_scaled(v->text, config_size_units, true, &v->num);
	if (r == -1) {
		if (o->type == CONFIG_DURATION)
			*reason = xasprintf("\"%s\" is not a duration "
			    "(use ms, s, m, h, d)", v->text);
		else
			*reason = xasprintf("\"%s\" is not a size "
			    "(use K, M, G, T)", v->text);
		return -1;
	}
	if (r == -2 || v->num < o->min || v->num > o->max) {
		*reason = config_out_of_range(o, v->text);
		return -1;
	}
	return 0;
}

static int
config_parse_list(const struct config_option *o, struct config_value *v,
    char **reason)
{
	const char	*p = v->text, *end, *a, *b;
	size_t		 cap = 0, i;
	char		*item;

	v->items = xgrow(NULL, &cap, 1, sizeof *v->items);
	v->items[0] = NULL;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return 0;	/* empty: no items */
	for (;;) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		a = p;
		b = end;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (a == b) {
			*reason = xasprintf("empty item in list \"%s\"",
			    v->text);
			return -1;
		}
		item = xstrndup(a, b - a);
		if (o->choices != NULL) {
			if (config_choice(o->choices, item) == -1) {
				*reason = config_not_one_of(o->choices, item);
				free(item);
				return -1;
			}
			for (i = 0; i < v->nitems; i++) {
				if (strcmp(v->items[i], item) == 0) {
					*reason = xasprintf("\"%s\" is listed "
					    "twice", item);
					free(item);
					return -1;
				}
			}
		}
		v->items = xgrow(v->items, &cap, v->nitems + 2,
		    sizeof *v->items);
		v->items[v->nitems++] = item;
		v->items[v->nitems] = NULL;
		if (*end == '\0')
			return 0;
		p = end + 1;
	}
}

/* RFC 1123 host name: dot-separated labels of letters, digits and '-'. */
static bool
config_hostname(const char *h)
{
	size_t	len = strlen(h), label = 0, i;

	if (len == 0 || len > 253)
		return false;
	for (i = 0; i <= len; i++) {
		if (h[i] == '.' || h[i] == '\0') {
			if (label == 0 || label > 63 || h[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)h[i]) && h[i] != '-')
			return false;
		if (label == 0 && h[i] == '-')
			return false;
		label++;
	}
	return true;
}

static int
config_parse_addr(struct config_value *v, char **reason)
{
	const char	*s = v->text, *colon, *close;
	unsigned char	 buf[sizeof(struct in6_addr)];
	char		*host;
	int64_t		 port;

	if (*s == '[') {
		if ((close = strchr(s, ']')) == NULL) {
			*reason = xasprintf("\"%s\": missing \"]\" after "
			    "IPv6 address", s);
			return -1;
		}
		host = xstrndup(s + 1, close - s - 1);
		if (inet_pton(AF_INET6, host, buf) != 1) {
			*reason = xasprintf("\"%s\" is not an IPv6 address",
			    host);
			free(host);
			return -1;
		}
		colon = close + 1;
		if (*colon != ':') {
			*reason = xasprintf("\"%s\" is not host:port", s);
			free(host);
			return -1;
		}
	} else {
		if ((colon = strrchr(s, ':')) == NULL) {
			*reason = xasprintf("\"%s\" is not host:port", s);
			return -1;
		}
		host = xstrndup(s, colon - s);
		if (*host == '\0') {
			*reason = xasprintf("\"%s\": missing host", s);
			free(host);
			return -1;
		}
		if (strchr(host, ':') != NULL) {
			*reason = xasprintf("\"%s\": write an IPv6 address in "
			    "brackets, as [%s]:PORT", s, host);
			free(host);
			return -1;
		}
		if (host[strspn(host, "0123456789.")] == '\0') {
			if (inet_pton(AF_INET, host, buf) != 1) {
				*reason = xasprintf("\"%s\" is not an IPv4 "
				    "address", host);
				free(host);
				return -1;
			}
		} else if (!config_hostname(host)) {
			*reason = xasprintf("\"%s\" is not a valid host name",
			    host);
			free(host);
			return -1;
		}
	}
	if (config_digits(colon + 1, strlen(colon + 1), &port) != 0 ||
	    port > 65535) {
		/* 0 asks the system for a free port (logged at start). */
		*reason = xasprintf("\"%s\": port must be 0..65535", s);
		free(host);
		return -1;
	}
	v->host = host;
	v->num = port;
	return 0;
}

/* Parse text as option o into v (which owns a copy of text on success). */
static int
config_parse(const struct config_option *o, const char *text,
    struct config_value *v, char **reason)
{
	size_t	len;

	memset(v, 0, sizeof *v);
	v->text = xstrdup(text);
	switch (o->type) {
	case CONFIG_STRING:
		len = strlen(text);
		if ((int64_t)len < o->min || (int64_t)len > o->max) {
			if (o->min == 1 && len == 0)
				*reason = xstrdup("value must not be empty");
			else
				*reason = xasprintf("value must be %" PRId64
				    "..%" PRId64 " bytes long (got %zu)",
				    o->min, o->max, len);
			goto fail;
		}
		return 0;
	case CONFIG_INT:
		if (config_parse_int(o, v, reason) != 0)
			goto fail;
		return 0;
	case CONFIG_BOOL:
		if (config_parse_bool(v, reason) != 0)
			goto fail;
		return 0;
	case CONFIG_DURATION:
	case CONFIG_SIZE:
		if (config_parse_scaled(o, v, reason) != 0)
			goto fail;
		return 0;
	case CONFIG_ENUM:
		if ((v->num = config_choice(o->choices, text)) == -1) {
			*reason = config_not_one_of(o->choices, text);
			goto fail;
		}
		return 0;
	case CONFIG_LIST:
		if (config_parse_list(o, v, reason) != 0)
			goto fail;
		return 0;
	case CONFIG_ADDR:
		if (config_parse_addr(v, reason) != 0)
			goto fail;
		return 0;
	}
	fatalx("config: bad type %d", (int)o->type);
fail:
	config_value_clear(v);
	return -1;
}

static void
config_set_origin(struct config_value *v, enum config_origin origin,
    const char *where, const char *label)
{
	v->origin = origin;
	v->where = xstrdup(where);
	v->label = xstrdup(label);
}

/* ---------------------------------------------------------------------------
 * Configuration objects
 */

struct config *
config_new(void)
{
	struct config	*cfg = xcalloc(1, sizeof *cfg);
	char		*reason = NULL;
	size_t		 i;

	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		if (config_parse(&config_table[i], config_table[i].def,
		    &cfg->values[i], &reason) != 0)
			fatalx("config: default of [%s] %s: %s",
			    config_table[i].section, config_table[i].key,
			    reason);
		config_set_origin(&cfg->values[i], ORIGIN_DEFAULT, "default",
		    "default");
	}
	return cfg;
}

void
config_free(struct config *cfg)
{
	size_t	i;

	if (cfg == NULL)
		return;
	for (i = 0; i < CONFIG_NOPTIONS; i++)
		config_value_clear(&cfg->values[i]);
	for (i = 0; i < CONFIG_NPASS; i++) {
		config_kvlist_clear(&cfg->file[i]);
		config_kvlist_clear(&cfg->over[i]);
	}
	free(cfg);
}

/* ---------------------------------------------------------------------------
 * File parsing
 */

/* One parsed assignment of a file, applied only once the whole file is good. */
struct config_pending {
	int			 option;	/* table index, or -1 */
	int			 pass;		/* pass-through index, or -1 */
	unsigned		 line;
	struct config_value	 value;		/* option */
	struct config_kv	 kv;		/* pass-through */
};

struct config_parser {
	const char		*path;
	FILE			*f;
	unsigned		 line;
	char			*buf;
	char			 section[64];
	struct config_pending	*pending;
	size_t			 npending;
	size_t			 cap;
	size_t			 npass[CONFIG_NPASS];
	char			*cause;
};

static int
config_error(struct config_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
config_error(struct config_parser *p, const char *fmt, ...)
{
	va_list	 ap;
	char	*reason;

	va_start(ap, fmt);
	if (vasprintf(&reason, fmt, ap) == -1)
		fatalx("out of memory");
	va_end(ap);
	p->cause = xasprintf("%s:%u: %s", p->path, p->line, reason);
	free(reason);
	return -1;
}

/*
 * Read one line into p->buf without its end of line (LF or CRLF).
 * Returns 1 for a line, 0 at end of file, -1 on error.
 */
static int
config_read_line(struct config_parser *p)
{
	size_t	len = 0;
	int	c;

	p->line++;
	while ((c = getc(p->f)) != EOF && c != '\n') {
		if (len == CONFIG_LINE_MAX)
			return config_error(p, "line longer than %d bytes",
			    CONFIG_LINE_MAX);
		p->buf[len++] = (char)c;
	}
	if (ferror(p->f)) {
		p->cause = xasprintf("%s: cannot read: %s", p->path,
		    strerror(errno));
		return -1;
	}
	if (c == EOF && len == 0)
		return 0;
	if (len > 0 && p->buf[len - 1] == '\r')
		len--;
	p->buf[len] = '\0';
	for (size_t i = 0; i < len; i++) {
		c = (unsigned char)p->buf[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return config_error(p, "control character 0x%02x "
			    "(not a text file?)", c);
	}
	/* A UTF-8 byte order mark, as some editors write, is not content. */
	if (p->line == 1 && strncmp(p->buf, "\xef\xbb\xbf", 3) == 0)
		memmove(p->buf, p->buf + 3, len - 2);
	return 1;
}

static char *
config_trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*e = '\0';
	return s;
}

static bool
config_is_comment(const char *s)
{
	return *s == '\0' || *s == '#' || *s == ';';
}

static int
config_parse_section(struct config_parser *p, char *s)
{
	char	*close = strchr(s, ']'), *name;

	if (close == NULL)
		return config_error(p, "missing \"]\" in section header");
	if (!config_is_comment(config_trim(close + 1)))
		return config_error(p, "unexpected text after section header");
	*close = '\0';
	name = config_trim(s + 1);
	if (*name == '\0')
		return config_error(p, "empty section name");
	if (!config_known_section(name) && config_find_pass(name) == -1)
		return config_error(p, "unknown section [%s]", name);
	snprintf(p->section, sizeof p->section, "%s", name);
	return 0;
}

/*
 * Unquote a value in place. Unquoted, it ends at '#'; quoted, it ends at
 * the closing quote, after which only a comment may follow.
 */
static int
config_unquote(char *s, const char **reason)
{
	char	*r, *w;

	if (*s != '"') {
		if ((r = strchr(s, '#')) != NULL)
			*r = '\0';
		config_trim(s);
		return 0;
	}
	for (r = s + 1, w = s; *r != '"'; r++) {
		if (*r == '\0') {
			*reason = "unterminated quoted value";
			return -1;
		}
		if (*r == '\\') {
			r++;
			if (*r != '"' && *r != '\\') {
				*reason = "bad escape in quoted value "
				    "(only \\\" and \\\\)";
				return -1;
			}
		}
		*w++ = *r;
	}
	*w = '\0';
	r = config_trim(r + 1);
	if (!config_is_comment(r)) {
		*reason = "unexpected text after closing quote";
		return -1;
	}
	return 0;
}

static bool
config_valid_key(const char *k)
{
	for (; *k != '\0'; k++) {
		if (isspace((unsigned char)*k) || strchr("[]\"#;=", *k) != NULL)
			return false;
	}
	return true;
}

static struct config_pending *
config_pending_add(struct config_parser *p)
{
	struct config_pending	*pe;

	p->pending = xgrow(p->pending, &p->cap, p->npending + 1,
	    sizeof *p->pending);
	pe = &p->pending[p->npending++];
	memset(pe, 0, sizeof *pe);
	pe->option = pe->pass = -1;
	pe->line = p->line;
	return pe;
}

static const struct config_pending *
config_pending_find(const struct config_parser *p, int option, int pass,
    const char *key)
{
	size_t	i;

	for (i = 0; i < p->npending; i++) {
		const struct config_pending *pe = &p->pending[i];

		if (option != -1 && pe->option == option)
			return pe;
		if (pass != -1 && pe->pass == pass &&
		    strcmp(pe->kv.key, key) == 0)
			return pe;
	}
	return NULL;
}

static int
config_parse_assignment(struct config_parser *p, char *s)
{
	const struct config_pending	*dup;
	struct config_pending		*pe;
	struct config_value		 v;
	const char			*why;
	char				*eq, *key, *value, *reason, *where;
	int				 option = -1, pass;

	if ((eq = strchr(s, '=')) == NULL)
		return config_error(p, "expected \"key = value\" or "
		    "\"[section]\"");
	*eq = '\0';
	key = config_trim(s);
	value = config_trim(eq + 1);
	if (*key == '\0')
		return config_error(p, "missing key before \"=\"");
	if (!config_valid_key(key))
		return config_error(p, "invalid key \"%s\"", key);
	if (*p->section == '\0')
		return config_error(p, "key \"%s\" outside any section", key);
	pass = config_find_pass(p->section);
	if (pass == -1 && (option = config_find(p->section, key)) == -1)
		return config_error(p, "[%s] %s: unknown key", p->section, key);
	if (config_unquote(value, &why) != 0)
		return config_error(p, "[%s] %s: %s", p->section, key, why);
	if ((dup = config_pending_find(p, option, pass, key)) != NULL)
		return config_error(p, "[%s] %s: duplicate key (first set at "
		    "line %u)", p->section, key, dup->line);

	if (pass != -1) {
		if (p->npass[pass] == CONFIG_KV_MAX)
			return config_error(p, "more than %d keys in [%s]",
			    CONFIG_KV_MAX, p->section);
		p->npass[pass]++;
		pe = config_pending_add(p);
		pe->pass = pass;
		pe->kv.key = xstrdup(key);
		pe->kv.value = xstrdup(value);
		pe->kv.where = xasprintf("%s:%u", p->path, p->line);
		pe->kv.label = xstrdup(pe->kv.where);
		return 0;
	}
	if (config_parse(&config_table[option], value, &v, &reason) != 0) {
		config_error(p, "[%s] %s: %s", p->section, key, reason);
		free(reason);
		return -1;
	}
	where = xasprintf("%s:%u", p->path, p->line);
	config_set_origin(&v, ORIGIN_FILE, where, where);
	free(where);
	pe = config_pending_add(p);
	pe->option = option;
	pe->value = v;
	return 0;
}

static void
config_apply(struct config *cfg, struct config_parser *p)
{
	struct config_value	*cur;
	size_t			 i;

	for (i = 0; i < p->npending; i++) {
		struct config_pending *pe = &p->pending[i];

		if (pe->pass != -1) {
			config_kvlist_put(&cfg->file[pe->pass], &pe->kv);
			continue;
		}
		cur = &cfg->values[pe->option];
		if (cur->origin == ORIGIN_OVERRIDE) {
			config_value_clear(&pe->value);	/* the override wins */
			continue;
		}
		config_value_clear(cur);
		*cur = pe->value;
		cur->seq = ++cfg->seq;
	}
	p->npending = 0;
}

int
config_load_file(struct config *cfg, const char *path, char **cause)
{
	struct config_parser	 p;
	char			*s;
	int			 r;
	size_t			 i;

	memset(&p, 0, sizeof p);
	p.path = path;
	if ((p.f = fopen(path, "r")) == NULL) {
		*cause = xasprintf("%s: cannot open: %s", path,
		    strerror(errno));
		return -1;
	}
	p.buf = xmalloc(CONFIG_LINE_MAX + 1);
	while ((r = config_read_line(&p)) == 1) {
		s = config_trim(p.buf);
		if (config_is_comment(s))
			continue;
		if (*s == '[')
			r = config_parse_section(&p, s);
		else
			r = config_parse_assignment(&p, s);
		if (r != 0)
			break;
	}
	fclose(p.f);
	free(p.buf);
	if (r == 0)
		config_apply(cfg, &p);
	for (i = 0; i < p.npending; i++) {
		config_value_clear(&p.pending[i].value);
		config_kv_clear(&p.pending[i].kv);
	}
	free(p.pending);
	if (r != 0) {
		*cause = p.cause;
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------------------
 * Overrides
 */

int
config_set(struct config *cfg, const char *assignment, char **cause)
{
	struct config_value	 v;
	struct config_kv	 kv;
	char			*copy, *eq, *dot, *section, *key, *value;
	char			*reason = NULL, *label;
	int			 option, pass, r = -1;

	label = xasprintf("-o %s", assignment);
	copy = xstrdup(assignment);
	if ((eq = strchr(copy, '=')) == NULL ||
	    (dot = memchr(copy, '.', eq - copy)) == NULL) {
		reason = xstrdup("expected section.key=value");
		goto out;
	}
	*eq = *dot = '\0';
	section = config_trim(copy);
	key = config_trim(dot + 1);
	value = config_trim(eq + 1);
	if (*section == '\0' || *key == '\0' || !config_valid_key(key)) {
		reason = xstrdup("expected section.key=value");
		goto out;
	}
	for (const char *c = value; *c != '\0'; c++) {
		if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f) {
			reason = xasprintf("control character 0x%02x in value",
			    (unsigned char)*c);
			goto out;
		}
	}
	if ((pass = config_find_pass(section)) != -1) {
		if (config_kvlist_get(&cfg->over[pass], key) == NULL &&
		    cfg->over[pass].n == CONFIG_KV_MAX) {
			reason = xasprintf("more than %d keys in [%s]",
			    CONFIG_KV_MAX, section);
			goto out;
		}
		kv.key = xstrdup(key);
		kv.value = xstrdup(value);
		kv.where = xstrdup("-o");
		kv.label = xstrdup(label);
		config_kvlist_put(&cfg->over[pass], &kv);
		r = 0;
		goto out;
	}
	if (!config_known_section(section)) {
		reason = xasprintf("unknown section [%s]", section);
		goto out;
	}
	if ((option = config_find(section, key)) == -1) {
		reason = xasprintf("[%s] %s: unknown key", section, key);
		goto out;
	}
	/* The shell has already removed any quotes: the value is literal. */
	if (config_parse(&config_table[option], value, &v, &reason) != 0)
		goto out;
	config_set_origin(&v, ORIGIN_OVERRIDE, "-o", label);
	config_value_clear(&cfg->values[option]);
	cfg->values[option] = v;
	cfg->values[option].seq = ++cfg->seq;
	r = 0;
out:
	if (r != 0)
		*cause = xasprintf("%s: %s", label, reason);
	free(reason);
	free(label);
	free(copy);
	return r;
}

/* ---------------------------------------------------------------------------
 * Validation across keys
 */

static bool
config_loopback(const char *host)
{
	struct in_addr	a4;
	struct in6_addr	a6;

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return true;
		/* ::ffff:127.x.y.z is IPv4 loopback too. */
		return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
	}
	return false;
}

static int
config_invalid(const struct config *cfg, int option, char **cause,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
config_invalid(const struct config *cfg, int option, char **cause,
    const char *fmt, ...)
{
	va_list	 ap;
	char	*reason;

	va_start(ap, fmt);
	if (vasprintf(&reason, fmt, ap) == -1)
		fatalx("out of memory");
	va_end(ap);
	*cause = xasprintf("%s: [%s] %s: %s", cfg->values[option].label,
	    config_table[option].section, config_table[option].key, reason);
	free(reason);
	return -1;
}

int
config_validate(const struct config *cfg, char **cause)
{
	const struct config_value	*v;
	int				 lo, hi, zones, listen;
	size_t				 i, j;

	lo = config_find("metrics", "active_min_ms");
	hi = config_find("metrics", "active_max_ms");
	if (cfg->values[lo].num >= cfg->values[hi].num) {
		/* Blame the bound set last (defaults have seq 0). */
		int blame = cfg->values[hi].seq > cfg->values[lo].seq ? hi : lo;

		return config_invalid(cfg, blame, cause, "active_min_ms "
		    "(%" PRId64 ") must be less than active_max_ms (%" PRId64
		    ")", cfg->values[lo].num, cfg->values[hi].num);
	}

	zones = config_find("metrics", "time_zones");
	v = &cfg->values[zones];
	if (v->nitems == 0)
		return config_invalid(cfg, zones, cause,
		    "at least one time zone is required");
	if (v->nitems > CONFIG_ZONES_MAX)
		return config_invalid(cfg, zones, cause, "at most %d time "
		    "zones (got %zu)", CONFIG_ZONES_MAX, v->nitems);
	for (i = 0; i < v->nitems; i++) {
		for (j = 0; j < i; j++) {
			if (strcmp(v->items[i], v->items[j]) == 0)
				return config_invalid(cfg, zones, cause,
				    "\"%s\" is listed twice", v->items[i]);
		}
	}

	listen = config_find("admin", "listen");
	if (!config_loopback(cfg->values[listen].host) &&
	    *config_str(cfg, "admin", "token_file") == '\0')
		return config_invalid(cfg, listen, cause, "\"%s\" is not "
		    "loopback: set [admin] token_file",
		    cfg->values[listen].text);
	return 0;
}

/* ---------------------------------------------------------------------------
 * Getters
 */

const char *
config_str(const struct config *cfg, const char *section, const char *key)
{
	return config_get(cfg, section, key, TYPE(CONFIG_STRING) |
	    TYPE(CONFIG_ENUM) | TYPE(CONFIG_ADDR), "string")->text;
}

int64_t
config_int(const struct config *cfg, const char *section, const char *key)
{
	return config_get(cfg, section, key, TYPE(CONFIG_INT) |
	    TYPE(CONFIG_DURATION) | TYPE(CONFIG_SIZE), "number")->num;
}

bool
config_bool(const struct config *cfg, const char *section, const char *key)
{
	return config_get(cfg, section, key, TYPE(CONFIG_BOOL),
	    "bool")->num != 0;
}

size_t
config_list(const struct config *cfg, const char *section, const char *key,
    const char *const **items)
{
	const struct config_value *v;

	v = config_get(cfg, section, key, TYPE(CONFIG_LIST), "list");
	*items = (const char *const *)v->items;
	return v->nitems;
}

int
config_enum(const struct config *cfg, const char *section, const char *key)
{
	return (int)config_get(cfg, section, key, TYPE(CONFIG_ENUM),
	    "enum")->num;
}

void
config_addr(const struct config *cfg, const char *section, const char *key,
    const char **host, uint16_t *port)
{
	const struct config_value *v;

	v = config_get(cfg, section, key, TYPE(CONFIG_ADDR), "addr");
	*host = v->host;
	*port = (uint16_t)v->num;
}

const char *
config_where(const struct config *cfg, const char *section, const char *key)
{
	return config_get(cfg, section, key, ~0u, "value")->where;
}

void
config_foreach(const struct config *cfg, const char *section,
    config_kv_cb cb, void *arg)
{
	const struct config_kvlist	*file, *over;
	int				 pass;
	size_t				 i;

	if ((pass = config_find_pass(section)) == -1)
		fatalx("config: [%s] is not a pass-through section", section);
	file = &cfg->file[pass];
	over = &cfg->over[pass];
	for (i = 0; i < file->n; i++) {
		if (config_kvlist_get(over, file->v[i].key) == NULL)
			cb(file->v[i].key, file->v[i].value, file->v[i].where,
			    arg);
	}
	for (i = 0; i < over->n; i++)
		cb(over->v[i].key, over->v[i].value, over->v[i].where, arg);
}

/* ---------------------------------------------------------------------------
 * Dump and comparison
 */

/* Write a value so that config_load_file reads back exactly the same text. */
static void
config_dump_value(FILE *f, const char *s)
{
	size_t	len = strlen(s);

	if (len > 0 && strchr(s, '#') == NULL && s[0] != '"' &&
	    s[0] != ' ' && s[0] != '\t' &&
	    s[len - 1] != ' ' && s[len - 1] != '\t') {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void
config_dump_option(const struct config *cfg, FILE *f, size_t i)
{
	const struct config_option	*o = &config_table[i];
	const struct config_value	*v = &cfg->values[i];
	char				 buf[32], *joined, *t;
	size_t				 j;

	fprintf(f, "%s = ", o->key);
	switch (o->type) {
	case CONFIG_INT:
	case CONFIG_DURATION:
	case CONFIG_SIZE:
		config_format_num(buf, sizeof buf, o->type, v->num);
		fputs(buf, f);
		break;
	case CONFIG_BOOL:
		fputs(v->num ? "true" : "false", f);
		break;
	case CONFIG_LIST:
		joined = xstrdup("");
		for (j = 0; j < v->nitems; j++) {
			t = xasprintf("%s%s%s", joined, j == 0 ? "" : ",",
			    v->items[j]);
			free(joined);
			joined = t;
		}
		config_dump_value(f, joined);
		free(joined);
		break;
	default:
		config_dump_value(f, v->text);
		break;
	}
	fprintf(f, "\t# %s\n", v->where);
}

/* Keys whose values should not end up in logs or terminals. */
static bool
config_secret(const char *key)
{
	return strstr(key, "password") != NULL ||
	    strstr(key, "secret") != NULL || strstr(key, "jaas") != NULL ||
	    strcmp(key, "ssl.key.pem") == 0;
}

struct config_dump_arg {
	FILE	*f;
};

static void
config_dump_kv(const char *key, const char *value, const char *where,
    void *arg)
{
	FILE	*f = ((struct config_dump_arg *)arg)->f;

	if (config_secret(key)) {
		fprintf(f, "# %s = (hidden)\t# %s\n", key, where);
		return;
	}
	fprintf(f, "%s = ", key);
	config_dump_value(f, value);
	fprintf(f, "\t# %s\n", where);
}

void
config_dump(const struct config *cfg, FILE *f)
{
	struct config_dump_arg	 arg = { f };
	const char		*section = NULL;
	size_t			 i;

	fputs("# activityd effective configuration; each value is followed "
	    "by where it was set\n", f);
	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		if (section == NULL ||
		    strcmp(section, config_table[i].section) != 0) {
			section = config_table[i].section;
			fprintf(f, "\n[%s]\n", section);
		}
		config_dump_option(cfg, f, i);
	}
	for (i = 0; i < CONFIG_NPASS; i++) {
		fprintf(f, "\n[%s]\n", config_passthrough[i]);
		config_foreach(cfg, config_passthrough[i], config_dump_kv,
		    &arg);
	}
}

struct config_kv_seq {
	const char	**kv;	/* key, value, key, value... */
	size_t		  n;
	size_t		  cap;
};

static void
config_collect_kv(const char *key, const char *value, const char *where,
    void *arg)
{
	struct config_kv_seq	*seq = arg;

	seq->kv = xgrow(seq->kv, &seq->cap, seq->n + 2, sizeof *seq->kv);
	seq->kv[seq->n++] = key;
	seq->kv[seq->n++] = value;
}

static bool
config_value_equal(const struct config_option *o,
    const struct config_value *a, const struct config_value *b)
{
	size_t	i;

	switch (o->type) {
	case CONFIG_STRING:
	case CONFIG_ENUM:
	case CONFIG_ADDR:
		return strcmp(a->text, b->text) == 0;
	case CONFIG_LIST:
		if (a->nitems != b->nitems)
			return false;
		for (i = 0; i < a->nitems; i++) {
			if (strcmp(a->items[i], b->items[i]) != 0)
				return false;
		}
		return true;
	default:
		return a->num == b->num;
	}
}

bool
config_equal(const struct config *a, const struct config *b)
{
	struct config_kv_seq	 sa, sb;
	bool			 eq = true;
	size_t			 i, j;

	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		if (!config_value_equal(&config_table[i], &a->values[i],
		    &b->values[i]))
			return false;
	}
	for (i = 0; eq && i < CONFIG_NPASS; i++) {
		memset(&sa, 0, sizeof sa);
		memset(&sb, 0, sizeof sb);
		config_foreach(a, config_passthrough[i], config_collect_kv,
		    &sa);
		config_foreach(b, config_passthrough[i], config_collect_kv,
		    &sb);
		eq = (sa.n == sb.n);
		for (j = 0; eq && j < sa.n; j++)
			eq = strcmp(sa.kv[j], sb.kv[j]) == 0;
		free(sa.kv);
		free(sb.kv);
	}
	return eq;
}

size_t
config_table_size(void)
{
	return CONFIG_NOPTIONS;
}

void
config_table_entry(size_t i, const char **section, const char **key,
    const char **def, const char **help)
{
	if (i >= CONFIG_NOPTIONS)
		fatalx("config: no table entry %zu", i);
	*section = config_table[i].section;
	*key = config_table[i].key;
	*def = config_table[i].def;
	*help = config_table[i].help;
}
