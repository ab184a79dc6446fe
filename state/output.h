/*
 * output: the records activityd emits (SPEC section 5), as plain structs.
 *
 * The engine fills them; connectors/codec.c encodes them as Avro, Confluent
 * framed Avro or JSON. Like struct event, strings are views that stay valid
 * only until the call that produced the struct returns.
 */
#ifndef AD_OUTPUT_H
#define AD_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

/* Deterministic session id: "<user_id>:<start ms>" (SPEC: user_id + start). */
#define SESSION_ID_MAX	(EVENT_USER_ID_MAX + 1 + 21)

struct action_count {
	struct strv type;
	uint64_t    count;
};

struct session_out {
	struct strv                user_id;
	struct strv                session_id;
	int64_t                    start_ms;
	int64_t                    end_ms;
	int64_t                    duration_ms;
	uint64_t                   actions;
	const struct action_count *per_type;	/* sorted by type */
	size_t                     n_types;
	struct strv                first_app_version;
	struct strv                last_app_version;
	bool                       has_meta;	/* false: dims and join date null */
	int32_t                    join_date;	/* days since 1970-01-01 */
	struct strv                dims[DIM_COUNT];
};

enum metric_kind {
	METRIC_DAU,
	METRIC_MAU
};

struct metric_out {
	enum metric_kind kind;
	const char      *period;	/* "YYYY-MM-DD" or "YYYY-MM" */
	const char      *tz;		/* IANA zone name */
	const char      *dimension;	/* "total", "country", ... */
	struct strv      value;		/* "" for total, else e.g. "US", "unknown" */
	uint64_t         exact;
	double           approx;	/* HyperLogLog estimate */
	const uint8_t   *sketch;	/* encoded sketch, or NULL */
	size_t           sketch_len;
	bool             final;		/* period entirely behind the watermark */
};

/* Metric record key: "DAU|2023-01-05|UTC|country|US" ("...|total|" for totals). */
void metric_key(const struct metric_out *, char *buf, size_t cap);

#endif
