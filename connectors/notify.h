/*
 * notify: the service manager's notification protocol (sd_notify(3)).
 *
 * Under a Type=notify unit systemd passes a datagram socket in
 * NOTIFY_SOCKET and, with WatchdogSec=, the timeout in WATCHDOG_USEC. The
 * daemon tells it when it is ready (state open, partitions assigned), what
 * it is doing (STATUS=, shown by systemctl status), that its event loop is
 * alive (WATCHDOG=1, every half timeout), and when it reloads or stops.
 *
 * Outside systemd (no NOTIFY_SOCKET) every call is a no-op returning 0, so
 * the daemon calls them unconditionally. A failed send returns -1 with
 * errno set and is logged here as a warning, once until a send succeeds
 * again: a supervisor that went away must not flood the log, and callers
 * need not log it a second time.
 */
#ifndef AD_NOTIFY_H
#define AD_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

struct notify;

/*
 * Reads NOTIFY_SOCKET and the watchdog settings (WATCHDOG_USEC, and
 * WATCHDOG_PID, which must name this process). The environment is left
 * as it is. A malformed WATCHDOG_USEC is logged and means no watchdog.
 */
struct notify *notify_new(void);
void notify_free(struct notify *);

/* NOTIFY_SOCKET was set (to a non-empty value). */
bool notify_enabled(const struct notify *);
/* The watchdog timeout in microseconds; 0 = no watchdog. */
uint64_t notify_watchdog_usec(const struct notify *);
/* How often to ping: half the timeout, as sd_watchdog_enabled(3) advises. */
uint64_t notify_watchdog_interval_usec(const struct notify *);

/* "READY=1": startup is over (also after a reload). */
int notify_ready(struct notify *);
/*
 * "STATUS=<text>": one line of free text. Newlines in the formatted text
 * become spaces, so it cannot smuggle in other assignments.
 */
int notify_status(struct notify *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "WATCHDOG=1"; a no-op returning 0 when there is no watchdog. */
int notify_watchdog(struct notify *);
/*
 * "RELOADING=1" and the CLOCK_MONOTONIC time (MONOTONIC_USEC=, which
 * systemd 253's Type=notify-reload requires); send READY=1 when done.
 */
int notify_reloading(struct notify *);
/* "STOPPING=1": shutdown has begun. */
int notify_stopping(struct notify *);
/*
 * "EXTEND_TIMEOUT_USEC=<usec>": the start or stop in progress needs up to
 * usec more than its timeout (a long state recovery or final commit).
 */
int notify_extend_timeout(struct notify *, uint64_t usec);

#endif
