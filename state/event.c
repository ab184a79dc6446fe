/* event: validation of interaction events and metadata (see event.h). */
#include "event.h"

#include <string.h>

static const char *dim_names[DIM_COUNT] = {
	"country", "device_type", "subscription_type"
};

static bool
strv_ok(struct strv s, size_t max)
{
	return s.len <= max && (s.len == 0 || s.p != NULL);
}

bool
event_validate(const struct event *ev, const char **reason)
{
	if (ev->user_id.len == 0 || ev->user_id.p == NULL) {
		*reason = "empty user_id";
		return false;
	}
	if (ev->user_id.len > EVENT_USER_ID_MAX) {
		*reason = "user_id longer than 128 bytes";
		return false;
	}
	if (ev->duration_ms < 0) {
		*reason = "negative duration_ms";
		return false;
	}
	/* Keep ts + duration and ts +/- a day far from int64 overflow. */
	if (ev->ts_ms < -(INT64_C(1) << 52) || ev->ts_ms > (INT64_C(1) << 52)) {
		*reason = "timestamp out of range";
		return false;
	}
	if (ev->duration_ms > (INT64_C(1) << 52)) {
		*reason = "duration_ms out of range";
		return false;
	}
	if (!strv_ok(ev->action_type, EVENT_STRING_MAX) ||
	    !strv_ok(ev->page_id, EVENT_STRING_MAX) ||
	    !strv_ok(ev->app_version, EVENT_STRING_MAX)) {
		*reason = "string field longer than 1024 bytes";
		return false;
	}
	return true;
}

bool
meta_validate(const struct meta_rec *m, const char **reason)
{
	int i;

	if (m->user_id.len == 0 || m->user_id.p == NULL) {
		*reason = "empty user_id";
		return false;
	}
	if (m->user_id.len > EVENT_USER_ID_MAX) {
		*reason = "user_id longer than 128 bytes";
		return false;
	}
	if (m->tombstone)
		return true;
	for (i = 0; i < DIM_COUNT; i++) {
		if (!strv_ok(m->dims[i], EVENT_STRING_MAX)) {
			*reason = "string field longer than 1024 bytes";
			return false;
		}
	}
	return true;
}

const char *
dim_name(enum dim d)
{
	return (unsigned)d < DIM_COUNT ? dim_names[d] : "?";
}

int
dim_from_name(const char *name, size_t len)
{
	int i;

	for (i = 0; i < DIM_COUNT; i++) {
		if (strlen(dim_names[i]) == len &&
		    memcmp(dim_names[i], name, len) == 0)
			return i;
	}
	return -1;
}

struct strv
strv_c(const char *s)
{
	return (struct strv){ s, s ? strlen(s) : 0 };
}

bool
strv_eq(struct strv a, struct strv b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

int
strv_cmp(struct strv a, struct strv b)
{
	size_t n = a.len < b.len ? a.len : b.len;
	int c = n ? memcmp(a.p, b.p, n) : 0;

	if (c != 0)
		return c;
	return (a.len > b.len) - (a.len < b.len);
}
