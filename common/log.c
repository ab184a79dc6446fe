/* log: structured log lines to stderr (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum log_level current = LOG_INFO;
static const char *names[] = { "debug", "info", "notice", "warning",
	"error" };

void
log_set_level(enum log_level l)
{
	current = l;
}

enum log_level
log_get_level(void)
{
	return current;
}

int
log_level_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *
log_level_name(enum log_level l)
{
	return (unsigned)l < sizeof names / sizeof names[0] ? names[l] : "?";
}

void
log_msg(enum log_level l, const char *msg, const char *fmt, ...)
{
	char tail[1024] = "";
	va_list ap;

	if (l < current)
		return;
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(tail, sizeof tail, fmt, ap);
		va_end(ap);
	}
	fprintf(stderr, "level=%s msg=\"%s\"%s%s\n", names[l], msg,
	    tail[0] ? " " : "", tail);
}
