/* output: keys of emitted records (see output.h). */
#include "output.h"

#include <stdio.h>

void
metric_key(const struct metric_out *m, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s|%s|%s|%s|%.*s",
	    m->kind == METRIC_DAU ? "DAU" : "MAU", m->period, m->tz,
	    m->dimension, (int)m->value.len, m->value.p ? m->value.p : "");
}
