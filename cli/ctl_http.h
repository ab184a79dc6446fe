/*
 * ctl_http: the small HTTP/1.1 client activityctl uses to talk to a
 * running daemon's admin endpoint (--admin http://host:port).
 *
 * One blocking request per connection ("Connection: close"), a 10 s
 * timeout for connecting, sending and each read, and answers of at most
 * CTL_HTTP_MAX bytes, with Content-Length, chunked or close-delimited
 * bodies. Plain http only: the admin API has no TLS.
 *
 * The bearer token comes from the file given to ctl_http_set_token_file
 * (activityctl --token-file), else from the environment variable
 * ACTIVITYCTL_TOKEN; without either no Authorization header is sent.
 */
#ifndef AD_CTL_HTTP_H
#define AD_CTL_HTTP_H

#include <stddef.h>

#include <jansson.h>

#define CTL_HTTP_MAX		((size_t)64 << 20)
#define CTL_HTTP_TIMEOUT_MS	10000

struct ctl_http_reply {
	int	 status;	/* 200, 404, ... */
	char	*body;		/* NUL-terminated past len; caller frees */
	size_t	 len;
};

/* Path of a file holding the token (trailing white space dropped). */
void	ctl_http_set_token_file(const char *path);

/*
 * method "GET" or "POST"; url "http://host:port" (a trailing "/" or path
 * prefix is allowed and prepended to path); body NULL for none (sent as
 * application/json otherwise). 0 with *reply filled whatever the status,
 * or -1 with *cause on a bad URL, network error, timeout or bad answer.
 */
int	ctl_http_request(const char *method, const char *url, const char *path,
	    const char *body, struct ctl_http_reply *reply, char **cause);

/*
 * The admin API's JSON calls: GET path (with its query string), or POST
 * body when body is not NULL. 0 and *out (caller decrefs) for a 2xx answer
 * holding a JSON object; -1 with *cause otherwise ("HTTP 400: <error>").
 */
int	ctl_admin_call(const char *url, const char *path, const char *body,
	    json_t **out, char **cause);
int	ctl_admin_query(const char *url, const char *path_and_query,
	    json_t **out, char **cause);

/* Percent-encodes s for a query value (unreserved characters kept);
 * caller frees. */
char	*ctl_http_escape(const char *s);

#endif
