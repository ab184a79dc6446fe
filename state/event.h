/*
 * event: the interaction event and the metadata record, as the engine sees
 * them (SPEC sections 1 and 4).
 *
 * Decoders (connectors/codec.c) fill these structs with pointers into their
 * own buffers; nothing here owns memory. Strings are (pointer, length) pairs
 * and are not NUL-terminated, because Avro and JSON strings are not.
 */
#ifndef AD_EVENT_H
#define AD_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVENT_USER_ID_MAX	128	/* bytes, SPEC section 1 */
#define EVENT_STRING_MAX	1024	/* any other string field */

struct strv {
	const char *p;
	size_t      len;
};

struct event {
	struct strv user_id;
	int64_t     ts_ms;		/* UTC epoch milliseconds, action start */
	struct strv action_type;
	struct strv page_id;
	int64_t     duration_ms;	/* >= 0 */
	struct strv app_version;
};

/* The metadata dimensions, in this fixed order everywhere. */
enum dim {
	DIM_COUNTRY,
	DIM_DEVICE_TYPE,
	DIM_SUBSCRIPTION_TYPE,
	DIM_COUNT
};

struct meta_rec {
	struct strv user_id;
	bool        tombstone;		/* null value: metadata deleted */
	int32_t     join_date;		/* days since 1970-01-01 */
	struct strv dims[DIM_COUNT];
};

/*
 * Checks an event against SPEC section 1. Returns true when valid; else
 * false with *reason set to a static string that names the rule broken
 * (it becomes the dead-letter reason header).
 */
bool event_validate(const struct event *, const char **reason);
bool meta_validate(const struct meta_rec *, const char **reason);

/* Name of a dimension as used in config, metrics keys and output. */
const char *dim_name(enum dim);
/* Returns -1 if the name is not a dimension. */
int dim_from_name(const char *name, size_t len);

#define STRV(s)		((struct strv){ (s), sizeof(s) - 1 })
struct strv strv_c(const char *s);
bool strv_eq(struct strv a, struct strv b);
int strv_cmp(struct strv a, struct strv b);

#endif
