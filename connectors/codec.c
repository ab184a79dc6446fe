/*
 * codec: Avro, Confluent-framed Avro and JSON values (see codec.h and
 * docs/formats.md).
 *
 * Design
 * ------
 * Every schema activityd reads or writes is described twice: by its .avsc
 * file (the contract with other programs, parsed by avro-c) and by a field
 * table below (the fields this code needs, their Avro type, and the dead
 * letter reasons that name them). codec_new checks that each file has the
 * fields of its table, so a schema edited out of step with the code is
 * refused at start rather than producing odd records.
 *
 * Input records (interaction, metadata) are first turned into an array of
 * "slots", one per table field, by one of three readers:
 *
 *   - flat reader: when the writer schema is exactly the field table (the
 *     v1 files), the Avro bytes are read by hand with the bounded reader of
 *     enc.h: no allocation, strings point into the input;
 *   - avro-c reader: otherwise (or when the fast path is turned off) the
 *     value is read into a reused generic avro value and slots are taken
 *     from it by field index;
 *   - JSON reader: jansson, plus the timestamp and date string forms.
 *
 * then one function per record type turns slots into the struct and
 * validates it, so the three readers cannot drift apart.
 *
 * avro-c allocates a string or array according to the length it reads,
 * before it knows whether the bytes exist (a 5-byte value can ask for a
 * terabyte). Every value is therefore first walked against its schema with
 * the bounded reader (avro_check), which also finds trailing bytes; only a
 * value that passed is given to avro_value_read.
 *
 * Output records are built in a reused generic avro value per schema and
 * written with avro-c (binary), or converted from that value to JSON, so
 * the JSON encoding has the schema's field names by construction. Sessions,
 * the one output as numerous as the input, are written in Avro by hand
 * when the schema file has the table's fields in table order (flat
 * writer, checked byte for byte against avro-c in test_codec).
 */
#include "codec.h"

#include <avro.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

/* Dead-letter reasons shared by several paths. */
#define R_NULL		"null value"
#define R_TOO_LARGE	"value too large"
#define R_TRUNC		"truncated avro"
#define R_MALFORMED	"malformed avro"
#define R_TRAILING	"trailing bytes"
#define R_SHORT_FRAME	"truncated confluent frame"
#define R_MAGIC		"bad magic byte"
#define R_SCHEMA_ID	"unknown schema id"
#define R_JSON		"invalid json"
#define R_NOT_OBJECT	"json value is not an object"
#define R_AVRO_WRITE	"avro encoding failed"
#define R_JSON_WRITE	"json encoding failed"

/* Deepest nesting avro_check follows (ours is 3; guards recursive schemas). */
#define CHECK_DEPTH	32

/* ------------------------------------------------------------------------
 * Field tables
 */

/* How a JSON string may stand for a number. */
enum jsonform {
	JF_NONE,
	JF_TIMESTAMP,		/* ISO-8601 date-time -> epoch ms */
	JF_DATE			/* YYYY-MM-DD -> days since epoch */
};

struct field {
	const char    *name;
	avro_type_t    type;		/* of the value or of the non-null branch */
	bool           nullable;	/* union ["null", type] */
	enum jsonform  jform;
	const char    *missing;
	const char    *wrong;
	const char    *bad_utf8;
};

#define FIELD(n, t, nul, jf) \
	{ n, t, nul, jf, "missing field: " n, "wrong type: " n, "invalid utf-8: " n }

enum {
	EV_USER_ID, EV_TIMESTAMP, EV_ACTION_TYPE, EV_PAGE_ID, EV_DURATION_MS,
	EV_APP_VERSION, EV_NFIELDS
};
static const struct field event_fields[] = {
	FIELD("user_id", AVRO_STRING, false, JF_NONE),
	FIELD("timestamp", AVRO_INT64, false, JF_TIMESTAMP),
	FIELD("action_type", AVRO_STRING, false, JF_NONE),
	FIELD("page_id", AVRO_STRING, false, JF_NONE),
	FIELD("duration_ms", AVRO_INT64, false, JF_NONE),
	FIELD("app_version", AVRO_STRING, false, JF_NONE),
};

/* The dimensions follow in enum dim order. */
enum { MD_USER_ID, MD_JOIN_DATE, MD_DIMS, MD_NFIELDS = MD_DIMS + DIM_COUNT };
static const struct field meta_fields[] = {
	FIELD("user_id", AVRO_STRING, false, JF_NONE),
	FIELD("join_date", AVRO_INT32, false, JF_DATE),
	FIELD("country", AVRO_STRING, false, JF_NONE),
	FIELD("device_type", AVRO_STRING, false, JF_NONE),
	FIELD("subscription_type", AVRO_STRING, false, JF_NONE),
};

enum {
	SE_SESSION_ID, SE_USER_ID, SE_START, SE_END, SE_DURATION_MS, SE_ACTIONS,
	SE_PER_TYPE, SE_FIRST_APP, SE_LAST_APP, SE_JOIN_DATE, SE_DIMS,
	SE_NFIELDS = SE_DIMS + DIM_COUNT
};
static const struct field session_fields[] = {
	FIELD("session_id", AVRO_STRING, false, JF_NONE),
	FIELD("user_id", AVRO_STRING, false, JF_NONE),
	FIELD("start", AVRO_INT64, false, JF_NONE),
	FIELD("end", AVRO_INT64, false, JF_NONE),
	FIELD("duration_ms", AVRO_INT64, false, JF_NONE),
	FIELD("actions", AVRO_INT64, false, JF_NONE),
	FIELD("actions_per_type", AVRO_ARRAY, false, JF_NONE),
	FIELD("first_app_version", AVRO_STRING, false, JF_NONE),
	FIELD("last_app_version", AVRO_STRING, false, JF_NONE),
	FIELD("join_date", AVRO_INT32, true, JF_NONE),
	FIELD("country", AVRO_STRING, true, JF_NONE),
	FIELD("device_type", AVRO_STRING, true, JF_NONE),
	FIELD("subscription_type", AVRO_STRING, true, JF_NONE),
};

/* Items of actions_per_type. */
enum { AC_ACTION_TYPE, AC_COUNT, AC_NFIELDS };
static const struct field action_count_fields[] = {
	FIELD("action_type", AVRO_STRING, false, JF_NONE),
	FIELD("count", AVRO_INT64, false, JF_NONE),
};

enum {
	MT_METRIC, MT_PERIOD, MT_TIME_ZONE, MT_DIMENSION, MT_VALUE,
	MT_COUNT_EXACT, MT_COUNT_APPROX, MT_SKETCH, MT_FINAL, MT_NFIELDS
};
static const struct field metric_fields[] = {
	FIELD("metric", AVRO_STRING, false, JF_NONE),
	FIELD("period", AVRO_STRING, false, JF_NONE),
	FIELD("time_zone", AVRO_STRING, false, JF_NONE),
	FIELD("dimension", AVRO_STRING, false, JF_NONE),
	FIELD("value", AVRO_STRING, false, JF_NONE),
	FIELD("count_exact", AVRO_INT64, false, JF_NONE),
	FIELD("count_approx", AVRO_DOUBLE, false, JF_NONE),
	FIELD("sketch", AVRO_BYTES, true, JF_NONE),
	FIELD("final", AVRO_BOOLEAN, false, JF_NONE),
};

#define MAX_FIELDS	SE_NFIELDS

static const struct {
	const char         *file;
	const struct field *fields;
	size_t              nfields;
	int32_t             default_id;
} schema_info[CODEC_NSCHEMAS] = {
	[CODEC_INTERACTION] = { "interaction.v1.avsc", event_fields,
	    EV_NFIELDS, 1 },
	[CODEC_METADATA] = { "user_metadata.v1.avsc", meta_fields,
	    MD_NFIELDS, 2 },
	[CODEC_SESSION] = { "session.v1.avsc", session_fields,
	    SE_NFIELDS, 3 },
	[CODEC_METRIC] = { "metric.v1.avsc", metric_fields, MT_NFIELDS, 4 },
};

struct sch {
	avro_schema_t        schema;
	avro_value_iface_t  *iface;
	avro_value_t         value;		/* reused for every record */
	bool                 has_value;
	int32_t              id;		/* Confluent schema id */
	int                  idx[MAX_FIELDS];	/* table field -> schema field */
	/* The fields (and a session's items') in table order: interactions
	 * and metadata take the flat reader (their tables have no nullable
	 * field), sessions the flat writer. */
	bool                 flat;
};

struct codec {
	struct sch      s[CODEC_NSCHEMAS];
	int             ac_idx[AC_NFIELDS];	/* ActionCount fields */
	avro_reader_t   reader;
	avro_writer_t   writer;
	bool            fast;		/* flat reader and writer allowed */
	json_t         *json;		/* last decoded JSON; views point in */
	char           *scratch;	/* NUL-terminated copies, base64 */
	size_t          scratch_cap;
};

/* One decoded input field. */
union slot {
	struct strv s;
	int64_t     l;
};

_Static_assert(sizeof event_fields / sizeof event_fields[0] == EV_NFIELDS,
    "event table");
_Static_assert(sizeof meta_fields / sizeof meta_fields[0] == MD_NFIELDS,
    "meta table");
_Static_assert(sizeof session_fields / sizeof session_fields[0] ==
    SE_NFIELDS, "session table");
_Static_assert(sizeof metric_fields / sizeof metric_fields[0] == MT_NFIELDS,
    "metric table");

/* ------------------------------------------------------------------------
 * Formats
 */

static const char *format_names[] = { "avro", "confluent", "json" };

int
codec_format_parse(const char *s, enum codec_format *out)
{
	size_t i;

	for (i = 0; i < sizeof format_names / sizeof format_names[0]; i++) {
		if (strcmp(s, format_names[i]) == 0) {
			*out = (enum codec_format)i;
			return 0;
		}
	}
	return -1;
}

const char *
codec_format_name(enum codec_format f)
{
	return (unsigned)f <= CODEC_JSON ? format_names[f] : "?";
}

const char *
codec_schema_file(enum codec_schema which)
{
	return (unsigned)which < CODEC_NSCHEMAS ? schema_info[which].file : "?";
}

/* ------------------------------------------------------------------------
 * Loading schemas
 */

static char *
read_file(const char *path, size_t *len, char **cause)
{
	FILE *f;
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if ((f = fopen(path, "r")) == NULL) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	do {
		buf = xgrow(buf, &cap, n + 4096, 1);
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0 && n < 1024 * 1024);
	if (ferror(f) || n >= 1024 * 1024) {
		*cause = xasprintf("%s: %s", path,
		    ferror(f) ? strerror(errno) : "file too large");
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

static const char *
type_name(avro_type_t t)
{
	switch (t) {
	case AVRO_STRING:
		return "string";
	case AVRO_BYTES:
		return "bytes";
	case AVRO_INT32:
		return "int";
	case AVRO_INT64:
		return "long";
	case AVRO_DOUBLE:
		return "double";
	case AVRO_BOOLEAN:
		return "boolean";
	case AVRO_ARRAY:
		return "array";
	default:
		return "the expected type";
	}
}

/* The schema a field's value has: the non-null branch of a nullable. */
static avro_schema_t
field_schema(avro_schema_t rec, int idx, bool nullable)
{
	avro_schema_t fs = avro_schema_record_field_get_by_index(rec, idx);

	if (fs != NULL && is_avro_link(fs))
		fs = avro_schema_link_target(fs);
	if (!nullable || fs == NULL)
		return fs;
	if (!is_avro_union(fs) || avro_schema_union_size(fs) != 2 ||
	    !is_avro_null(avro_schema_union_branch(fs, 0)))
		return NULL;
	return avro_schema_union_branch(fs, 1);
}

/*
 * Resolves the table's fields in a record schema into idx[]. Returns true
 * when the record has exactly the table's fields in table order (the flat
 * reader or writer then applies).
 */
static bool
resolve_fields(avro_schema_t rec, const char *what, const struct field *f,
    size_t n, int *idx, char **cause)
{
	avro_schema_t fs;
	bool ordered;
	size_t i;

	*cause = NULL;
	if (!is_avro_record(rec)) {
		*cause = xasprintf("%s: not a record schema", what);
		return false;
	}
	ordered = avro_schema_record_size(rec) == n;
	for (i = 0; i < n; i++) {
		idx[i] = avro_schema_record_field_get_index(rec, f[i].name);
		if (idx[i] < 0) {
			*cause = xasprintf("%s: no field %s", what, f[i].name);
			return false;
		}
		fs = field_schema(rec, idx[i], f[i].nullable);
		if (fs == NULL || avro_typeof(fs) != f[i].type) {
			*cause = xasprintf("%s: field %s is not %s%s", what,
			    f[i].name, f[i].nullable ? "[\"null\", T] of " : "",
			    type_name(f[i].type));
			return false;
		}
		ordered = ordered && idx[i] == (int)i;
	}
	return ordered;
}

static int
load_schema(struct codec *c, const char *dir, enum codec_schema which,
    char **cause)
{
	struct sch *s = &c->s[which];
	avro_schema_t items;
	char *path, *text;
	size_t len;
	int rc;

	path = xasprintf("%s/%s", dir, schema_info[which].file);
	if ((text = read_file(path, &len, cause)) == NULL) {
		free(path);
		return -1;
	}
	rc = avro_schema_from_json_length(text, len, &s->schema);
	free(text);
	if (rc != 0) {
		s->schema = NULL;
		*cause = xasprintf("%s: %s", path, avro_strerror());
		free(path);
		return -1;
	}
	s->flat = resolve_fields(s->schema, path, schema_info[which].fields,
	    schema_info[which].nfields, s->idx, cause);
	if (*cause == NULL && which == CODEC_SESSION) {
		items = avro_schema_array_items(field_schema(s->schema,
		    s->idx[SE_PER_TYPE], false));
		if (items != NULL && is_avro_link(items))
			items = avro_schema_link_target(items);
		s->flat = resolve_fields(items, path, action_count_fields,
		    AC_NFIELDS, c->ac_idx, cause) && s->flat;
	}
	free(path);
	if (*cause != NULL)
		return -1;

	if ((s->iface = avro_generic_class_from_schema(s->schema)) == NULL ||
	    avro_generic_value_new(s->iface, &s->value) != 0) {
		*cause = xasprintf("%s: %s", schema_info[which].file,
		    avro_strerror());
		return -1;
	}
	s->has_value = true;
	s->id = schema_info[which].default_id;
	return 0;
}

struct codec *
codec_new(const char *schema_dir, char **cause)
{
	static char empty[1];
	struct codec *c = xcalloc(1, sizeof *c);
	int i;

	c->fast = true;
	for (i = 0; i < CODEC_NSCHEMAS; i++) {
		if (load_schema(c, schema_dir, i, cause) != 0) {
			codec_free(c);
			return NULL;
		}
	}
	/* Sources and destinations are set per record. */
	c->reader = avro_reader_memory(empty, 0);
	c->writer = avro_writer_memory(empty, 0);
	if (c->reader == NULL || c->writer == NULL) {
		*cause = xasprintf("avro memory reader/writer: %s",
		    avro_strerror());
		codec_free(c);
		return NULL;
	}
	return c;
}

void
codec_free(struct codec *c)
{
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < CODEC_NSCHEMAS; i++) {
		if (c->s[i].has_value)
			avro_value_decref(&c->s[i].value);
		if (c->s[i].iface != NULL)
			avro_value_iface_decref(c->s[i].iface);
		if (c->s[i].schema != NULL)
			avro_schema_decref(c->s[i].schema);
	}
	if (c->reader != NULL)
		avro_reader_free(c->reader);
	if (c->writer != NULL)
		avro_writer_free(c->writer);
	json_decref(c->json);
	free(c->scratch);
	free(c);
}

void
codec_set_schema_id(struct codec *c, enum codec_schema which, int32_t id)
{
	if ((unsigned)which < CODEC_NSCHEMAS)
		c->s[which].id = id;
}

int32_t
codec_schema_id(const struct codec *c, enum codec_schema which)
{
	return (unsigned)which < CODEC_NSCHEMAS ? c->s[which].id : -1;
}

bool
codec_set_fast_path(struct codec *c, bool on)
{
	c->fast = on;
	return on && c->s[CODEC_INTERACTION].flat && c->s[CODEC_SESSION].flat;
}

static char *
scratch(struct codec *c, size_t n)
{
	c->scratch = xgrow(c->scratch, &c->scratch_cap, n, 1);
	return c->scratch;
}

/* ------------------------------------------------------------------------
 * Text helpers: UTF-8, ISO-8601, base64
 */

static bool
utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0, k, j;
	uint32_t cp, min;
	uint64_t w;

	while (i < n) {
		/* Plain ASCII is the common case: eight bytes at a time. */
		if (n - i >= 8) {
			memcpy(&w, s + i, 8);
			if ((w & UINT64_C(0x8080808080808080)) == 0) {
				i += 8;
				continue;
			}
		}
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			k = 1, cp = s[i] & 0x1f, min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			k = 2, cp = s[i] & 0x0f, min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			k = 3, cp = s[i] & 0x07, min = 0x10000;
		} else
			return false;
		if (n - i <= k)
			return false;
		for (j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		/* Overlong forms, surrogates and beyond U+10FFFF. */
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

/* Days from 1970-01-01 to a proleptic Gregorian date (civil calendar). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

struct cursor {
	const char *p;
	const char *end;
};

/* Exactly `width` decimal digits. */
static bool
cur_num(struct cursor *c, int width, int *out)
{
	int v = 0;

	if (c->end - c->p < width)
		return false;
	while (width-- > 0) {
		if (*c->p < '0' || *c->p > '9')
			return false;
		v = v * 10 + (*c->p++ - '0');
	}
	*out = v;
	return true;
}

static bool
cur_char(struct cursor *c, const char *set)
{
	if (c->p < c->end && *c->p != '\0' && strchr(set, *c->p) != NULL) {
		c->p++;
		return true;
	}
	return false;
}

/* "YYYY-MM-DD" -> days since 1970-01-01. */
static bool
cur_date(struct cursor *c, int64_t *days)
{
	static const unsigned char mdays[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	int y, m, d, leap;

	if (!cur_num(c, 4, &y) || !cur_char(c, "-") || !cur_num(c, 2, &m) ||
	    !cur_char(c, "-") || !cur_num(c, 2, &d))
		return false;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && leap))
		return false;
	*days = days_from_civil(y, (unsigned)m, (unsigned)d);
	return true;
}

/*
 * ISO-8601 date-time as epoch ms: "YYYY-MM-DD[T ]hh:mm:ss[.frac]" then
 * nothing (UTC), "Z", or an offset "+hh:mm", "+hhmm", "+hh". The fraction
 * has 1 to 9 digits and is truncated to milliseconds.
 */
static bool
parse_iso_ms(const char *s, size_t n, int64_t *out)
{
	struct cursor c = { s, s + n };
	int64_t days, ms = 0;
	int hh, mi, ss, oh = 0, om = 0, digits = 0, sign;

	if (!cur_date(&c, &days) || !cur_char(&c, "T ") ||
	    !cur_num(&c, 2, &hh) || !cur_char(&c, ":") ||
	    !cur_num(&c, 2, &mi) || !cur_char(&c, ":") ||
	    !cur_num(&c, 2, &ss) || hh > 23 || mi > 59 || ss > 59)
		return false;
	if (cur_char(&c, ".,")) {
		while (c.p < c.end && *c.p >= '0' && *c.p <= '9') {
			if (digits < 3)
				ms = ms * 10 + (*c.p - '0');
			digits++;
			c.p++;
		}
		if (digits == 0 || digits > 9)
			return false;
		for (; digits < 3; digits++)
			ms *= 10;
	}
	if (c.p < c.end && (*c.p == '+' || *c.p == '-')) {
		sign = *c.p++ == '-' ? -1 : 1;
		if (!cur_num(&c, 2, &oh))
			return false;
		if (c.p < c.end) {
			cur_char(&c, ":");
			if (!cur_num(&c, 2, &om))
				return false;
		}
		if (oh > 23 || om > 59)
			return false;
		oh *= sign;
		om *= sign;
	} else
		cur_char(&c, "Z");
	if (c.p != c.end)
		return false;
	*out = ((days * 24 + hh - oh) * 60 + mi - om) * 60000 + ss * 1000 + ms;
	return true;
}

static size_t
base64_encode(const uint8_t *in, size_t n, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (i < n) {
		v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	return o;
}

/* ------------------------------------------------------------------------
 * Bounded Avro reading
 */

static const char *
av_long(struct dec *d, int64_t *v)
{
	*v = dec_svar(d);
	if (!d->err)
		return NULL;
	/* An unfinished varint at the end is truncation; 11 bytes is not. */
	return d->p >= d->end ? R_TRUNC : R_MALFORMED;
}

/* A length (string, bytes, block size): never negative, never beyond the
 * input. */
static const char *
av_len(struct dec *d, size_t *n)
{
	const char *r;
	int64_t v;

	if ((r = av_long(d, &v)) != NULL)
		return r;
	if (v < 0)
		return R_MALFORMED;
	if ((uint64_t)v > (uint64_t)(d->end - d->p))
		return R_TRUNC;
	*n = (size_t)v;
	return NULL;
}

static const char *
av_str(struct dec *d, struct strv *s)
{
	const char *r;
	size_t n;

	if ((r = av_len(d, &n)) != NULL)
		return r;
	s->p = dec_raw(d, n);
	s->len = n;
	return NULL;
}

static const char *
av_skip(struct dec *d, size_t n)
{
	return dec_raw(d, n) == NULL ? R_TRUNC : NULL;
}

static const char *avro_check(avro_schema_t, struct dec *, int);

/* Array and map blocks: count, [byte size if count < 0], items. */
static const char *
avro_check_blocks(avro_schema_t items, bool map, struct dec *d, int depth)
{
	struct strv key;
	const char *r;
	int64_t count;
	size_t size;

	for (;;) {
		if ((r = av_long(d, &count)) != NULL)
			return r;
		if (count == 0)
			return NULL;
		if (count < 0) {
			if (count == INT64_MIN)
				return R_MALFORMED;
			count = -count;
			if ((r = av_len(d, &size)) != NULL)
				return r;
		}
		/* Every item of our schemas takes at least one byte, so a
		 * count beyond the input is a lie, not a long array. */
		if ((uint64_t)count > (uint64_t)(d->end - d->p))
			return R_TRUNC;
		while (count-- > 0) {
			if (map && (r = av_str(d, &key)) != NULL)
				return r;
			if ((r = avro_check(items, d, depth + 1)) != NULL)
				return r;
		}
	}
}

/* Walks one datum of schema s, checking every length against the input. */
static const char *
avro_check(avro_schema_t s, struct dec *d, int depth)
{
	const char *r;
	struct strv sv;
	int64_t v;
	size_t i, n;

	if (depth > CHECK_DEPTH)
		return R_MALFORMED;
	switch (avro_typeof(s)) {
	case AVRO_NULL:
		return NULL;
	case AVRO_BOOLEAN:
		if (d->p >= d->end)
			return R_TRUNC;
		return dec_u8(d) > 1 ? R_MALFORMED : NULL;
	case AVRO_INT32:
		if ((r = av_long(d, &v)) != NULL)
			return r;
		return v < INT32_MIN || v > INT32_MAX ? R_MALFORMED : NULL;
	case AVRO_INT64:
		return av_long(d, &v);
	case AVRO_FLOAT:
		return av_skip(d, 4);
	case AVRO_DOUBLE:
		return av_skip(d, 8);
	case AVRO_STRING:
	case AVRO_BYTES:
		return av_str(d, &sv);
	case AVRO_FIXED:
		return av_skip(d, (size_t)avro_schema_fixed_size(s));
	case AVRO_ENUM:
		if ((r = av_long(d, &v)) != NULL)
			return r;
		return v < 0 || v >= avro_schema_enum_number_of_symbols(s) ?
		    R_MALFORMED : NULL;
	case AVRO_RECORD:
		n = avro_schema_record_size(s);
		for (i = 0; i < n; i++) {
			r = avro_check(avro_schema_record_field_get_by_index(s,
			    (int)i), d, depth + 1);
			if (r != NULL)
				return r;
		}
		return NULL;
	case AVRO_UNION:
		if ((r = av_long(d, &v)) != NULL)
			return r;
		if (v < 0 || (uint64_t)v >= avro_schema_union_size(s))
			return R_MALFORMED;
		return avro_check(avro_schema_union_branch(s, (int)v), d,
		    depth + 1);
	case AVRO_ARRAY:
		return avro_check_blocks(avro_schema_array_items(s), false, d,
		    depth);
	case AVRO_MAP:
		return avro_check_blocks(avro_schema_map_values(s), true, d,
		    depth);
	case AVRO_LINK:
		return avro_check(avro_schema_link_target(s), d, depth + 1);
	}
	return R_MALFORMED;
}

/* Checks a value, then reads it into the schema's reused avro value. */
static const char *
value_read(struct codec *c, struct sch *s, const uint8_t *p, size_t len)
{
	const char *r;
	struct dec d;

	dec_init(&d, p, len);
	if ((r = avro_check(s->schema, &d, 0)) != NULL)
		return r;
	if (d.p != d.end)
		return R_TRAILING;
	avro_reader_memory_set_source(c->reader, (const char *)p, (int64_t)len);
	if (avro_value_read(c->reader, &s->value) != 0)
		return R_MALFORMED;
	return NULL;
}

/* Strips the Confluent frame; a no-op for the other formats. */
static const char *
unframe(const struct codec *c, enum codec_schema which,
    enum codec_format fmt, const uint8_t **p, size_t *len)
{
	if (fmt != CODEC_CONFLUENT)
		return NULL;
	if (*len >= 1 && (*p)[0] != 0)
		return R_MAGIC;
	if (*len < 5)
		return R_SHORT_FRAME;
	if ((int32_t)be32_get(*p + 1) != c->s[which].id)
		return R_SCHEMA_ID;
	*p += 5;
	*len -= 5;
	return NULL;
}

/* ------------------------------------------------------------------------
 * Input records: bytes -> slots
 */

/* The flat reader: the writer schema is exactly the field table. */
static const char *
slots_from_flat(const struct field *f, size_t n, const uint8_t *p,
    size_t len, union slot *sl)
{
	const char *r = NULL;
	struct dec d;
	size_t i;

	dec_init(&d, p, len);
	for (i = 0; i < n && r == NULL; i++) {
		switch (f[i].type) {
		case AVRO_STRING:
			r = av_str(&d, &sl[i].s);
			break;
		case AVRO_INT32:
			r = av_long(&d, &sl[i].l);
			if (r == NULL &&
			    (sl[i].l < INT32_MIN || sl[i].l > INT32_MAX))
				r = R_MALFORMED;
			break;
		default:
			r = av_long(&d, &sl[i].l);
			break;
		}
	}
	if (r == NULL && d.p != d.end)
		r = R_TRAILING;
	return r;
}

/* The avro-c reader: slots from the fields of the schema's value. */
static const char *
slots_from_value(struct codec *c, enum codec_schema which, const uint8_t *p,
    size_t len, union slot *sl)
{
	struct sch *s = &c->s[which];
	const struct field *f = schema_info[which].fields;
	const char *r, *str = NULL;
	avro_value_t v;
	int32_t i32 = 0;
	size_t i, n = 0;
	int rc;

	if ((r = value_read(c, s, p, len)) != NULL)
		return r;
	for (i = 0; i < schema_info[which].nfields; i++) {
		rc = avro_value_get_by_index(&s->value, s->idx[i], &v, NULL);
		switch (f[i].type) {
		case AVRO_STRING:
			if (rc == 0)
				rc = avro_value_get_string(&v, &str, &n);
			/* avro-c counts the NUL it adds. */
			sl[i].s.p = str;
			sl[i].s.len = n > 0 ? n - 1 : 0;
			break;
		case AVRO_INT32:
			if (rc == 0)
				rc = avro_value_get_int(&v, &i32);
			sl[i].l = i32;
			break;
		default:
			if (rc == 0)
				rc = avro_value_get_long(&v, &sl[i].l);
			break;
		}
		if (rc != 0)
			return f[i].wrong;
	}
	return NULL;
}

/* Parses into c->json, which the views then point into. */
static json_t *
json_parse(struct codec *c, const void *val, size_t len, const char **reason)
{
	json_error_t err;

	json_decref(c->json);
	c->json = json_loadb(val, len, JSON_REJECT_DUPLICATES, &err);
	if (c->json == NULL) {
		*reason = R_JSON;
		return NULL;
	}
	if (!json_is_object(c->json)) {
		*reason = R_NOT_OBJECT;
		return NULL;
	}
	return c->json;
}

static const char *
slots_from_json(struct codec *c, const struct field *f, size_t n,
    const void *val, size_t len, union slot *sl)
{
	const char *r = NULL;
	struct cursor cur;
	json_t *o, *j;
	size_t i;

	if ((o = json_parse(c, val, len, &r)) == NULL)
		return r;
	for (i = 0; i < n; i++) {
		if ((j = json_object_get(o, f[i].name)) == NULL)
			return f[i].missing;
		if (f[i].type == AVRO_STRING) {
			if (!json_is_string(j))
				return f[i].wrong;
			sl[i].s.p = json_string_value(j);
			sl[i].s.len = json_string_length(j);
			continue;
		}
		if (json_is_integer(j)) {
			sl[i].l = json_integer_value(j);
			if (f[i].type == AVRO_INT32 &&
			    (sl[i].l < INT32_MIN || sl[i].l > INT32_MAX))
				return f[i].wrong;
			continue;
		}
		if (!json_is_string(j) || f[i].jform == JF_NONE)
			return f[i].wrong;
		cur.p = json_string_value(j);
		cur.end = cur.p + json_string_length(j);
		if (f[i].jform == JF_TIMESTAMP) {
			if (!parse_iso_ms(cur.p, json_string_length(j),
			    &sl[i].l))
				return f[i].wrong;
		} else if (!cur_date(&cur, &sl[i].l) || cur.p != cur.end)
			return f[i].wrong;
	}
	return NULL;
}

/* Any input format to slots, with the checks common to all. */
static const char *
slots_decode(struct codec *c, enum codec_schema which, enum codec_format fmt,
    const void *val, size_t len, union slot *sl)
{
	const uint8_t *p = val;
	const char *r;

	if (val == NULL)
		return R_NULL;
	if (len > CODEC_INPUT_MAX)
		return R_TOO_LARGE;
	if (fmt == CODEC_JSON)
		return slots_from_json(c, schema_info[which].fields,
		    schema_info[which].nfields, val, len, sl);
	if ((r = unframe(c, which, fmt, &p, &len)) != NULL)
		return r;
	if (c->fast && c->s[which].flat)
		return slots_from_flat(schema_info[which].fields,
		    schema_info[which].nfields, p, len, sl);
	return slots_from_value(c, which, p, len, sl);
}

/* UTF-8 of the string slots (jansson already checked JSON input). */
static const char *
slots_utf8(enum codec_schema which, enum codec_format fmt,
    const union slot *sl)
{
	const struct field *f = schema_info[which].fields;
	size_t i;

	if (fmt == CODEC_JSON)
		return NULL;
	for (i = 0; i < schema_info[which].nfields; i++) {
		if (f[i].type == AVRO_STRING &&
		    !utf8_valid((const uint8_t *)sl[i].s.p, sl[i].s.len))
			return f[i].bad_utf8;
	}
	return NULL;
}

int
codec_decode_event(struct codec *c, enum codec_format fmt, const void *val,
    size_t len, struct event *ev, const char **reason)
{
	union slot sl[EV_NFIELDS];
	const char *r;

	if ((r = slots_decode(c, CODEC_INTERACTION, fmt, val, len, sl)) != NULL)
		goto fail;
	ev->user_id = sl[EV_USER_ID].s;
	ev->ts_ms = sl[EV_TIMESTAMP].l;
	ev->action_type = sl[EV_ACTION_TYPE].s;
	ev->page_id = sl[EV_PAGE_ID].s;
	ev->duration_ms = sl[EV_DURATION_MS].l;
	ev->app_version = sl[EV_APP_VERSION].s;
	if (!event_validate(ev, &r) ||
	    (r = slots_utf8(CODEC_INTERACTION, fmt, sl)) != NULL)
		goto fail;
	return 0;
fail:
	*reason = r;
	return -1;
}

bool
codec_event_views_in_value(const struct codec *c, enum codec_format fmt)
{
	return fmt != CODEC_JSON && c->fast && c->s[CODEC_INTERACTION].flat;
}

int
codec_decode_meta(struct codec *c, enum codec_format fmt, const void *val,
    size_t len, struct meta_rec *m, const char **reason)
{
	union slot sl[MD_NFIELDS];
	const char *r;
	int i;

	memset(m, 0, sizeof *m);
	if (val == NULL) {
		m->tombstone = true;
		return 0;
	}
	if ((r = slots_decode(c, CODEC_METADATA, fmt, val, len, sl)) != NULL)
		goto fail;
	m->user_id = sl[MD_USER_ID].s;
	m->join_date = (int32_t)sl[MD_JOIN_DATE].l;
	for (i = 0; i < DIM_COUNT; i++)
		m->dims[i] = sl[MD_DIMS + i].s;
	if (!meta_validate(m, &r) ||
	    (r = slots_utf8(CODEC_METADATA, fmt, sl)) != NULL)
		goto fail;
	return 0;
fail:
	*reason = r;
	return -1;
}

int
codec_tombstone(const void *key, size_t keylen, struct meta_rec *m,
    const char **reason)
{
	memset(m, 0, sizeof *m);
	m->tombstone = true;
	m->user_id.p = key;
	m->user_id.len = key != NULL ? keylen : 0;
	if (!meta_validate(m, reason))
		return -1;
	if (!utf8_valid(key, keylen)) {
		*reason = meta_fields[MD_USER_ID].bad_utf8;
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * Avro values -> JSON
 */

/* On failure returns NULL, and sets *reason only when it knows better than
 * the caller's default. */
static json_t *
value_to_json(struct codec *c, avro_value_t *v, const char **reason)
{
	avro_value_t child;
	const char *name, *str;
	const void *buf;
	json_t *j, *cj;
	size_t i, n;
	int32_t i32;
	int64_t i64;
	double dbl;
	float flt;
	int b, rc = 0;

	j = NULL;
	switch (avro_value_get_type(v)) {
	case AVRO_STRING:
		if ((rc = avro_value_get_string(v, &str, &n)) == 0 &&
		    (j = json_stringn(str, n > 0 ? n - 1 : 0)) == NULL)
			*reason = "invalid utf-8 in string";
		break;
	case AVRO_BYTES:
		if ((rc = avro_value_get_bytes(v, &buf, &n)) == 0) {
			str = scratch(c, (n + 2) / 3 * 4 + 1);
			j = json_stringn(str, base64_encode(buf, n,
			    c->scratch));
		}
		break;
	case AVRO_INT32:
		if ((rc = avro_value_get_int(v, &i32)) == 0)
			j = json_integer(i32);
		break;
	case AVRO_INT64:
		if ((rc = avro_value_get_long(v, &i64)) == 0)
			j = json_integer(i64);
		break;
	case AVRO_FLOAT:
		if ((rc = avro_value_get_float(v, &flt)) == 0 &&
		    (j = json_real(flt)) == NULL)
			*reason = "non-finite number";
		break;
	case AVRO_DOUBLE:
		if ((rc = avro_value_get_double(v, &dbl)) == 0 &&
		    (j = json_real(dbl)) == NULL)
			*reason = "non-finite number";
		break;
	case AVRO_BOOLEAN:
		if ((rc = avro_value_get_boolean(v, &b)) == 0)
			j = json_boolean(b);
		break;
	case AVRO_NULL:
		j = json_null();
		break;
	case AVRO_ENUM:
		if ((rc = avro_value_get_enum(v, &b)) == 0 &&
		    (str = avro_schema_enum_get(avro_value_get_schema(v),
		    b)) != NULL)
			j = json_string(str);
		break;
	case AVRO_UNION:
		if ((rc = avro_value_get_current_branch(v, &child)) == 0)
			return value_to_json(c, &child, reason);
		break;
	case AVRO_RECORD:
	case AVRO_MAP:
	case AVRO_ARRAY:
		if ((rc = avro_value_get_size(v, &n)) != 0)
			break;
		j = avro_value_get_type(v) == AVRO_ARRAY ? json_array() :
		    json_object();
		for (i = 0; i < n && j != NULL; i++) {
			name = NULL;
			if ((rc = avro_value_get_by_index(v, i, &child,
			    &name)) != 0 ||
			    (cj = value_to_json(c, &child, reason)) == NULL ||
			    (name != NULL ? json_object_set_new(j, name, cj) :
			    json_array_append_new(j, cj)) != 0) {
				json_decref(j);
				return NULL;
			}
		}
		break;
	default:
		*reason = "unsupported avro type";
		return NULL;
	}
	return j;
}

/* ------------------------------------------------------------------------
 * Output records: struct -> the schema's avro value -> bytes
 */

static int
set_str(struct codec *c, avro_value_t *v, struct strv s)
{
	char *buf = scratch(c, s.len + 1);

	/* avro-c wants the NUL in the size; our views have none. */
	if (s.len > 0)
		memcpy(buf, s.p, s.len);
	buf[s.len] = '\0';
	return avro_value_set_string_len(v, buf, s.len + 1);
}

static int
get_field(avro_value_t *rec, int idx, avro_value_t *out)
{
	return avro_value_get_by_index(rec, idx, out, NULL);
}

static int
field_str(struct codec *c, avro_value_t *rec, int idx, struct strv s)
{
	avro_value_t v;

	return get_field(rec, idx, &v) || set_str(c, &v, s);
}

static int
field_long(avro_value_t *rec, int idx, int64_t l)
{
	avro_value_t v;

	return get_field(rec, idx, &v) || avro_value_set_long(&v, l);
}

static int
field_int(avro_value_t *rec, int idx, int32_t i)
{
	avro_value_t v;

	return get_field(rec, idx, &v) || avro_value_set_int(&v, i);
}

/* A ["null", T] field: selects the branch; *out is the T value if set. */
static int
field_opt(avro_value_t *rec, int idx, bool present, avro_value_t *out)
{
	avro_value_t v;

	if (get_field(rec, idx, &v) || avro_value_set_branch(&v, present, out))
		return -1;
	return present ? 0 : avro_value_set_null(out);
}

/* The Confluent frame: magic byte 0, the schema id big-endian. */
static void
frame(const struct codec *c, enum codec_schema which, enum codec_format fmt,
    struct enc *out)
{
	if (fmt == CODEC_CONFLUENT) {
		enc_u8(out, 0);
		enc_be32(out, (uint32_t)c->s[which].id);
	}
}

/* Writes the schema's value in the requested format. */
static int
emit(struct codec *c, enum codec_schema which, enum codec_format fmt,
    struct enc *out, const char **reason)
{
	struct sch *s = &c->s[which];
	size_t size, avail, start = out->len;
	json_t *j;

	if (fmt == CODEC_JSON) {
		*reason = R_JSON_WRITE;	/* unless a more precise one is found */
		if ((j = value_to_json(c, &s->value, reason)) == NULL)
			return -1;
		enc_reserve(out, 256);
		avail = out->cap - out->len;
		size = json_dumpb(j, (char *)out->buf + out->len, avail,
		    JSON_COMPACT);
		if (size > avail) {
			enc_reserve(out, size);
			size = json_dumpb(j, (char *)out->buf + out->len, size,
			    JSON_COMPACT);
		}
		json_decref(j);
		if (size == 0) {
			*reason = R_JSON_WRITE;
			return -1;
		}
		out->len += size;
		return 0;
	}
	if (avro_value_sizeof(&s->value, &size) != 0) {
		*reason = R_AVRO_WRITE;
		return -1;
	}
	enc_reserve(out, size + 5);
	frame(c, which, fmt, out);
	avro_writer_memory_set_dest(c->writer, (const char *)out->buf + out->len,
	    (int64_t)size);
	if (avro_value_write(c->writer, &s->value) != 0) {
		out->len = start;
		*reason = R_AVRO_WRITE;
		return -1;
	}
	out->len += size;
	return 0;
}

/* The schema's value, reset before a record is built in it. */
static avro_value_t *
begin(struct codec *c, enum codec_schema which)
{
	avro_value_t *v = &c->s[which].value;

	return avro_value_reset(v) == 0 ? v : NULL;
}

int
codec_encode_event(struct codec *c, enum codec_format fmt,
    const struct event *ev, struct enc *out, const char **reason)
{
	avro_value_t *v = begin(c, CODEC_INTERACTION);
	const int *x = c->s[CODEC_INTERACTION].idx;

	if (v == NULL || field_str(c, v, x[EV_USER_ID], ev->user_id) ||
	    field_long(v, x[EV_TIMESTAMP], ev->ts_ms) ||
	    field_str(c, v, x[EV_ACTION_TYPE], ev->action_type) ||
	    field_str(c, v, x[EV_PAGE_ID], ev->page_id) ||
	    field_long(v, x[EV_DURATION_MS], ev->duration_ms) ||
	    field_str(c, v, x[EV_APP_VERSION], ev->app_version)) {
		*reason = R_AVRO_WRITE;
		return -1;
	}
	return emit(c, CODEC_INTERACTION, fmt, out, reason);
}

int
codec_encode_meta(struct codec *c, enum codec_format fmt,
    const struct meta_rec *m, struct enc *out, const char **reason)
{
	avro_value_t *v = begin(c, CODEC_METADATA);
	const int *x = c->s[CODEC_METADATA].idx;
	int i;

	if (m->tombstone) {
		*reason = "tombstone has no value";
		return -1;
	}
	if (v == NULL || field_str(c, v, x[MD_USER_ID], m->user_id) ||
	    field_int(v, x[MD_JOIN_DATE], m->join_date))
		goto fail;
	for (i = 0; i < DIM_COUNT; i++) {
		if (field_str(c, v, x[MD_DIMS + i], m->dims[i]))
			goto fail;
	}
	return emit(c, CODEC_METADATA, fmt, out, reason);
fail:
	*reason = R_AVRO_WRITE;
	return -1;
}

/* Avro binary: a string or bytes is its length as a long, then the bytes. */
static void
flat_str(struct enc *out, struct strv s)
{
	enc_svar(out, (int64_t)s.len);
	enc_raw(out, s.p, s.len);
}

/*
 * The flat session writer: when the schema has the table's fields in table
 * order (the v1 file), the Avro bytes are written by hand, as the flat
 * reader reads them. One session is written per input event in the worst
 * case (every user seen once), and avro-c's generic value, set field by
 * field and then walked by avro_value_write, cost three times as much.
 * test_codec checks both writers give the same bytes.
 */
static void
flat_session(struct codec *c, enum codec_format fmt,
    const struct session_out *so, struct enc *out)
{
	size_t i;
	int d;

	frame(c, CODEC_SESSION, fmt, out);
	flat_str(out, so->session_id);
	flat_str(out, so->user_id);
	enc_svar(out, so->start_ms);
	enc_svar(out, so->end_ms);
	enc_svar(out, so->duration_ms);
	enc_svar(out, (int64_t)so->actions);
	/* An array: one block of all items, then the empty block. */
	if (so->n_types > 0)
		enc_svar(out, (int64_t)so->n_types);
	for (i = 0; i < so->n_types; i++) {
		flat_str(out, so->per_type[i].type);
		enc_svar(out, (int64_t)so->per_type[i].count);
	}
	enc_svar(out, 0);
	flat_str(out, so->first_app_version);
	flat_str(out, so->last_app_version);
	/* ["null", T]: the branch index, then T's value if not null. */
	enc_svar(out, so->has_meta);
	if (so->has_meta)
		enc_svar(out, so->join_date);
	for (d = 0; d < DIM_COUNT; d++) {
		enc_svar(out, so->has_meta);
		if (so->has_meta)
			flat_str(out, so->dims[d]);
	}
}

int
codec_encode_session(struct codec *c, enum codec_format fmt,
    const struct session_out *so, struct enc *out, const char **reason)
{
	avro_value_t *v;
	const int *x = c->s[CODEC_SESSION].idx;
	avro_value_t arr, item, opt;
	size_t i;
	int d;

	for (i = 1; i < so->n_types; i++) {
		if (strv_cmp(so->per_type[i - 1].type, so->per_type[i].type)
		    >= 0) {
			*reason = "actions_per_type not sorted";
			return -1;
		}
	}
	if (fmt != CODEC_JSON && c->fast && c->s[CODEC_SESSION].flat) {
		flat_session(c, fmt, so, out);
		return 0;
	}
	v = begin(c, CODEC_SESSION);
	if (v == NULL ||
	    field_str(c, v, x[SE_SESSION_ID], so->session_id) ||
	    field_str(c, v, x[SE_USER_ID], so->user_id) ||
	    field_long(v, x[SE_START], so->start_ms) ||
	    field_long(v, x[SE_END], so->end_ms) ||
	    field_long(v, x[SE_DURATION_MS], so->duration_ms) ||
	    field_long(v, x[SE_ACTIONS], (int64_t)so->actions) ||
	    field_str(c, v, x[SE_FIRST_APP], so->first_app_version) ||
	    field_str(c, v, x[SE_LAST_APP], so->last_app_version) ||
	    get_field(v, x[SE_PER_TYPE], &arr))
		goto fail;
	for (i = 0; i < so->n_types; i++) {
		if (avro_value_append(&arr, &item, NULL) ||
		    field_str(c, &item, c->ac_idx[AC_ACTION_TYPE],
		    so->per_type[i].type) ||
		    field_long(&item, c->ac_idx[AC_COUNT],
		    (int64_t)so->per_type[i].count))
			goto fail;
	}
	if (field_opt(v, x[SE_JOIN_DATE], so->has_meta, &opt) ||
	    (so->has_meta && avro_value_set_int(&opt, so->join_date)))
		goto fail;
	for (d = 0; d < DIM_COUNT; d++) {
		if (field_opt(v, x[SE_DIMS + d], so->has_meta, &opt) ||
		    (so->has_meta && set_str(c, &opt, so->dims[d])))
			goto fail;
	}
	return emit(c, CODEC_SESSION, fmt, out, reason);
fail:
	*reason = R_AVRO_WRITE;
	return -1;
}

int
codec_encode_metric(struct codec *c, enum codec_format fmt,
    const struct metric_out *mo, struct enc *out, const char **reason)
{
	avro_value_t *v = begin(c, CODEC_METRIC);
	const int *x = c->s[CODEC_METRIC].idx;
	avro_value_t f, opt;
	bool sk = mo->sketch != NULL;

	if (v == NULL || field_str(c, v, x[MT_METRIC],
	    mo->kind == METRIC_DAU ? STRV("DAU") : STRV("MAU")) ||
	    field_str(c, v, x[MT_PERIOD], strv_c(mo->period)) ||
	    field_str(c, v, x[MT_TIME_ZONE], strv_c(mo->tz)) ||
	    field_str(c, v, x[MT_DIMENSION], strv_c(mo->dimension)) ||
	    field_str(c, v, x[MT_VALUE], mo->value) ||
	    field_long(v, x[MT_COUNT_EXACT], (int64_t)mo->exact) ||
	    get_field(v, x[MT_COUNT_APPROX], &f) ||
	    avro_value_set_double(&f, mo->approx) ||
	    field_opt(v, x[MT_SKETCH], sk, &opt) ||
	    /* set_bytes copies; its pointer is not const in avro-c. */
	    (sk && avro_value_set_bytes(&opt, (void *)(uintptr_t)mo->sketch,
	    mo->sketch_len)) ||
	    get_field(v, x[MT_FINAL], &f) ||
	    avro_value_set_boolean(&f, mo->final)) {
		*reason = R_AVRO_WRITE;
		return -1;
	}
	return emit(c, CODEC_METRIC, fmt, out, reason);
}

json_t *
codec_to_json(struct codec *c, enum codec_schema which,
    enum codec_format fmt, const void *val, size_t len, const char **reason)
{
	const uint8_t *p = val;
	json_t *j;

	if ((unsigned)which >= CODEC_NSCHEMAS) {
		*reason = "unknown schema";
		return NULL;
	}
	if (val == NULL) {
		*reason = R_NULL;
		return NULL;
	}
	if (len > CODEC_OUTPUT_MAX) {
		*reason = R_TOO_LARGE;
		return NULL;
	}
	if (fmt == CODEC_JSON) {
		if (json_parse(c, val, len, reason) == NULL)
			return NULL;
		j = c->json;
		c->json = NULL;
		return j;
	}
	if ((*reason = unframe(c, which, fmt, &p, &len)) != NULL ||
	    (*reason = value_read(c, &c->s[which], p, len)) != NULL)
		return NULL;
	*reason = R_MALFORMED;		/* unless a more precise one is found */
	return value_to_json(c, &c->s[which].value, reason);
}

const char *
codec_schema_dir(void)
{
	const char *dir = getenv("ACTIVITYD_SCHEMA_DIR");

	return dir != NULL && *dir != '\0' ? dir : ACTIVITYD_SCHEMA_DIR;
}
