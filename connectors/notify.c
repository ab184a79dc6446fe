/*
 * notify: the service manager's notification protocol (see notify.h).
 *
 * libsystemd does the socket work: sd_notify(3) sends one datagram of
 * newline-separated assignments to NOTIFY_SOCKET (a path, or "@name" for
 * an abstract socket) with our credentials, and returns 0 when the
 * variable is unset, > 0 once sent, or a negative errno.
 * sd_watchdog_enabled(3) parses WATCHDOG_USEC and checks WATCHDOG_PID.
 * Both leave the environment alone (unset_environment = 0): a reload
 * re-execs nothing, but tests and children may still want to read it.
 */
#include "notify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "log.h"
#include "xmalloc.h"

struct notify {
	bool		 enabled;
	uint64_t	 watchdog_usec;
	bool		 failing;	/* the last send failed (and was logged) */
};

struct notify *
notify_new(void)
{
	struct notify *n = xcalloc(1, sizeof *n);
	const char *sock = getenv("NOTIFY_SOCKET");
	uint64_t usec = 0;
	int r;

	n->enabled = sock != NULL && *sock != '\0';
	if (!n->enabled)
		return n;	/* nobody would hear the pings */
	r = sd_watchdog_enabled(0, &usec);
	if (r < 0)
		log_warn("watchdog settings ignored",
		    "WATCHDOG_USEC=\"%s\" WATCHDOG_PID=\"%s\" error=\"%s\"",
		    getenv("WATCHDOG_USEC") ? getenv("WATCHDOG_USEC") : "",
		    getenv("WATCHDOG_PID") ? getenv("WATCHDOG_PID") : "",
		    strerror(-r));
	else if (r > 0)
		n->watchdog_usec = usec;
	return n;
}

void
notify_free(struct notify *n)
{
	free(n);
}

bool
notify_enabled(const struct notify *n)
{
	return n->enabled;
}

uint64_t
notify_watchdog_usec(const struct notify *n)
{
	return n->watchdog_usec;
}

uint64_t
notify_watchdog_interval_usec(const struct notify *n)
{
	return n->watchdog_usec / 2;
}

/* Sends one message; see notify.h for the logging rule. */
static int
notify_send(struct notify *n, const char *msg)
{
	int r;

	if (!n->enabled)
		return 0;
	r = sd_notify(0, msg);
	if (r < 0) {
		if (!n->failing)
			log_warn("cannot notify the service manager",
			    "message=%.*s socket=\"%s\" error=\"%s\"",
			    (int)strcspn(msg, "="), msg,
			    getenv("NOTIFY_SOCKET") ? getenv("NOTIFY_SOCKET") :
			    "", strerror(-r));
		n->failing = true;
		errno = -r;
		return -1;
	}
	n->failing = false;
	return 0;
}

int
notify_ready(struct notify *n)
{
	return notify_send(n, "READY=1");
}

int
notify_status(struct notify *n, const char *fmt, ...)
{
	static const char prefix[] = "STATUS=";
	va_list ap;
	char *msg, *p;
	int len, r;

	if (!n->enabled)
		return 0;
	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		fatalx("notify_status: bad format \"%s\"", fmt);
	msg = xmalloc(sizeof prefix + (size_t)len);
	memcpy(msg, prefix, sizeof prefix - 1);
	va_start(ap, fmt);
	vsnprintf(msg + sizeof prefix - 1, (size_t)len + 1, fmt, ap);
	va_end(ap);
	/* A newline would start a new assignment: keep it one line. */
	for (p = msg; (p = strchr(p, '\n')) != NULL; p++)
		*p = ' ';
	r = notify_send(n, msg);
	free(msg);
	return r;
}

int
notify_watchdog(struct notify *n)
{
	if (n->watchdog_usec == 0)
		return 0;
	return notify_send(n, "WATCHDOG=1");
}

int
notify_reloading(struct notify *n)
{
	struct timespec ts;
	char msg[64];

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		fatalx("clock_gettime(CLOCK_MONOTONIC): %s", strerror(errno));
	snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
	    (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
	return notify_send(n, msg);
}

int
notify_stopping(struct notify *n)
{
	return notify_send(n, "STOPPING=1");
}

int
notify_extend_timeout(struct notify *n, uint64_t usec)
{
	char msg[64];

	snprintf(msg, sizeof msg, "EXTEND_TIMEOUT_USEC=%" PRIu64, usec);
	return notify_send(n, msg);
}
