/*
 * admin: the daemon's HTTP endpoints (libevent evhttp) on the caller's
 * event loop: /healthz, /readyz, /metrics, /v1/dau, /v1/mau,
 * /v1/users/{id}, /v1/sessions/top and POST /v1/snapshots (docs/admin.md).
 *
 * The server only parses, authenticates, limits and routes; the answers come
 * from the daemon through struct admin_ops. Handlers run on the daemon's
 * single loop, so an op must not block: it reads in-memory state and returns.
 *
 * Off loopback a bearer token is mandatory; it is read once, at start, from a
 * file only its owner can read. Every endpoint but /healthz requires it
 * when it is configured.
 */
#ifndef AD_ADMIN_H
#define AD_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct enc;
struct event_base;

/*
 * The JSON ops return a new reference (the server sends and releases it), or
 * NULL with *status (4xx or 5xx) and *err (a static or long-lived string) set.
 * A NULL op answers 501.
 */
struct admin_ops {
	/* /readyz: true when ready; else *why says what is missing. */
	bool	 (*ready)(void *arg, const char **why);
	/* /metrics: append the text exposition (called once per scrape). */
	void	 (*metrics)(void *arg, struct enc *out);
	/*
	 * /v1/dau (monthly false) and /v1/mau: the query parameters as given,
	 * NULL when absent.
	 */
	json_t	*(*active)(void *arg, bool monthly, const char *from,
		    const char *to, const char *tz, const char *dimension,
		    int *status, const char **err);
	/* /v1/users/{id}, id percent-decoded; NULL + 404 when unknown. */
	json_t	*(*user)(void *arg, const char *user_id, int *status,
		    const char **err);
	/* /v1/sessions/top?n=N: n is 1..ADMIN_TOP_MAX, default 20. */
	json_t	*(*top_sessions)(void *arg, size_t n, int *status,
		    const char **err);
	/* POST /v1/snapshots, body {"name": "..."} or empty (name NULL). */
	json_t	*(*snapshot)(void *arg, const char *name, int *status,
		    const char **err);
	void	  *arg;
};

#define ADMIN_TOP_DEFAULT	20
#define ADMIN_TOP_MAX		10000
/* Longest user id in a path and longest query parameter value. */
#define ADMIN_PARAM_MAX		128

struct admin;

/*
 * Listen on host:port (port 0: any free port). token_file "" means no token,
 * which is refused unless host is loopback (127.0.0.0/8, ::1, localhost).
 * max_request_size bounds the request line plus headers, and the body;
 * rate_limit is the requests per second accepted from all clients together.
 */
struct admin *admin_new(struct event_base *, const char *host, uint16_t port,
    const char *token_file, size_t max_request_size, unsigned rate_limit,
    const struct admin_ops *, char **cause);
/* The port actually bound. */
uint16_t admin_port(const struct admin *);
/* Stop listening and free (requests in flight are dropped by libevent). */
void admin_free(struct admin *);

#endif
