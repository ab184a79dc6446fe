/*
 * admin: HTTP endpoints on the daemon's loop (libevent evhttp).
 *
 * A request goes through, in order:
 *
 *	size limits	libevent refuses an oversize request line + headers or
 *			body (413) before it reaches us
 *	rate limit	one token bucket for all clients: rate_limit tokens
 *			per second, as many in reserve; empty -> 429
 *	auth		Authorization: Bearer <token>, compared in constant
 *			time; missing or wrong -> 401
 *	routing		unknown path -> 404; known path, other method -> 405
 *			with Allow
 *	handler		parameters checked (400), then an op of the daemon
 *
 * /healthz skips the rate limit and the token: it says only that the loop
 * turns, and a liveness probe must not be starved by other clients.
 * Unknown paths sit behind the token too, so that without it a client
 * learns nothing but 401.
 *
 * Every answer is JSON ({"error": "..."} on failure) except /metrics, and
 * carries Cache-Control: no-store: the data is live and may be private.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "admin.h"
#include "enc.h"
#include "log.h"
#include "xmalloc.h"

/* A token file larger than this is not a token. */
#define ADMIN_TOKEN_MAX		4096
/* Seconds a client may take to send a request or read the answer. */
#define ADMIN_TIMEOUT		10

#define ADMIN_GET	(EVHTTP_REQ_GET | EVHTTP_REQ_HEAD)

struct admin {
	struct evhttp			*http;
	struct evhttp_bound_socket	*sock;
	struct admin_ops		 ops;
	char				*token;		/* NULL: none */
	size_t				 token_len;
	double				 rate;
	double				 bucket;	/* tokens left */
	double				 refilled;	/* monotonic seconds */
	uint16_t			 port;
};

/* A route without an op of struct admin_ops. */
#define ADMIN_NO_OP	SIZE_MAX
#define ADMIN_OP(name)	offsetof(struct admin_ops, name)

struct admin_route {
	const char	*path;
	bool		 prefix;	/* path is a prefix: /v1/users/{id} */
	int		 methods;
	const char	*allow;
	bool		 open;		/* no rate limit, no token */
	bool		 query;		/* takes a query string */
	size_t		 op;		/* the op it needs, or ADMIN_NO_OP */
	void		 (*handle)(struct admin *, struct evhttp_request *,
			    const char *rest, const char *query);
};

/* -------------------------------------------------------------- answers */

static const char *
admin_reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 201: return "Created";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default:  return "Error";
	}
}

static bool
admin_header(struct evhttp_request *req, const char *key, const char *value)
{
	if (evhttp_add_header(evhttp_request_get_output_headers(req), key,
	    value) == 0)
		return true;
	log_warn("admin: cannot add response header", "header=%s", key);
	evhttp_send_error(req, HTTP_INTERNAL, NULL);
	return false;
}

static void
admin_send(struct evhttp_request *req, int code, const char *type,
    const void *body, size_t len)
{
	struct evbuffer	*out = evhttp_request_get_output_buffer(req);
	char		 clen[24];

	if (!admin_header(req, "Content-Type", type) ||
	    !admin_header(req, "Cache-Control", "no-store"))
		return;
	/* libevent would send a body after HEAD: give only its length. */
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		snprintf(clen, sizeof clen, "%zu", len);
		if (admin_header(req, "Content-Length", clen))
			evhttp_send_reply(req, code, admin_reason(code), NULL);
		return;
	}
	if (evbuffer_add(out, body, len) == -1) {
		log_warn("admin: out of buffer memory", "bytes=%zu", len);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evhttp_send_reply(req, code, admin_reason(code), NULL);
}

/* Send a JSON value and release it. */
static void
admin_send_json(struct evhttp_request *req, int code, json_t *body)
{
	static const char	 failed[] =
	    "{\"error\":\"cannot encode the answer\"}\n";
	char			*text, *line;

	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL) {
		admin_send(req, HTTP_INTERNAL, "application/json", failed,
		    sizeof failed - 1);
		return;
	}
	/* A final newline, for humans with curl. */
	line = xasprintf("%s\n", text);
	free(text);
	admin_send(req, code, "application/json", line, strlen(line));
	free(line);
}

static void
admin_error(struct evhttp_request *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
admin_error(struct evhttp_request *req, int code, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;
	json_t	*body;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatalx("out of memory");
	va_end(ap);
	/* A message quoting the request may not be UTF-8: say less. */
	body = json_pack("{s:s}", "error", msg);
	if (body == NULL)
		body = json_pack("{s:s}", "error", admin_reason(code));
	free(msg);
	if (body == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	admin_send_json(req, code, body);
}

/* The answer of a JSON op: its value, or its error. */
static void
admin_reply_op(struct evhttp_request *req, int ok, json_t *body, int status,
    const char *err)
{
	if (body != NULL) {
		admin_send_json(req, ok, body);
		return;
	}
	if (status < 400 || status > 599)
		status = HTTP_INTERNAL;
	admin_error(req, status, "%s",
	    err != NULL ? err : admin_reason(status));
}

/* ----------------------------------------------------------- parameters */

/*
 * Parse the query string into the values of the keys named (NULL-terminated
 * list), each at most once and at most ADMIN_PARAM_MAX bytes; values[i] is
 * NULL when keys[i] is absent. On failure the error is sent and false
 * returned. The values stay valid until evhttp_clear_headers(q).
 */
static bool
admin_params(struct evhttp_request *req, const char *query,
    struct evkeyvalq *q, const char *const *keys, const char **values)
{
	struct evkeyval	*kv;
	size_t		 i;

	TAILQ_INIT(q);
	for (i = 0; keys[i] != NULL; i++)
		values[i] = NULL;
	if (query == NULL || *query == '\0')
		return true;
	if (evhttp_parse_query_str(query, q) == -1) {
		admin_error(req, HTTP_BADREQUEST, "malformed query string");
		return false;
	}
	TAILQ_FOREACH(kv, q, next) {
		for (i = 0; keys[i] != NULL; i++) {
			if (strcmp(kv->key, keys[i]) == 0)
				break;
		}
		if (keys[i] == NULL) {
			admin_error(req, HTTP_BADREQUEST,
			    "unknown parameter \"%.*s\"", ADMIN_PARAM_MAX,
			    kv->key);
			return false;
		}
		if (values[i] != NULL) {
			admin_error(req, HTTP_BADREQUEST,
			    "parameter %s given twice", keys[i]);
			return false;
		}
		if (strlen(kv->value) > ADMIN_PARAM_MAX) {
			admin_error(req, HTTP_BADREQUEST,
			    "parameter %s is longer than %d bytes", keys[i],
			    ADMIN_PARAM_MAX);
			return false;
		}
		values[i] = kv->value;
	}
	return true;
}

/* ------------------------------------------------------------- handlers */

static void
admin_healthz(struct admin *a, struct evhttp_request *req, const char *rest,
    const char *query)
{
	static const char	ok[] = "{\"status\":\"ok\"}\n";

	admin_send(req, HTTP_OK, "application/json", ok, sizeof ok - 1);
}

static void
admin_readyz(struct admin *a, struct evhttp_request *req, const char *rest,
    const char *query)
{
	const char	*why = NULL;

	if (a->ops.ready(a->ops.arg, &why)) {
		admin_send_json(req, HTTP_OK, json_pack("{s:s}", "status",
		    "ready"));
		return;
	}
	admin_send_json(req, HTTP_SERVUNAVAIL, json_pack("{s:s,s:s}",
	    "status", "not ready", "error", why != NULL ? why : "not ready"));
}

static void
admin_metrics(struct admin *a, struct evhttp_request *req, const char *rest,
    const char *query)
{
	struct enc	out;

	enc_init(&out);
	a->ops.metrics(a->ops.arg, &out);
	admin_send(req, HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
	    out.buf != NULL ? (const void *)out.buf : "", out.len);
	enc_free(&out);
}

static void
admin_active(struct admin *a, struct evhttp_request *req, const char *query,
    bool monthly)
{
	static const char *const keys[] = {
		"from", "to", "tz", "dimension", NULL
	};
	struct evkeyvalq	 q;
	const char		*v[4], *err = NULL;
	json_t			*body;
	int			 status = HTTP_INTERNAL;

	if (admin_params(req, query, &q, keys, v)) {
		body = a->ops.active(a->ops.arg, monthly, v[0], v[1], v[2],
		    v[3], &status, &err);
		admin_reply_op(req, HTTP_OK, body, status, err);
	}
	evhttp_clear_headers(&q);
}

static void
admin_dau(struct admin *a, struct evhttp_request *req, const char *rest,
    const char *query)
{
	admin_active(a, req, query, false);
}

static void
admin_mau(struct admin *a, struct evhttp_request *req, const char *rest,
    const char *query)
{
	admin_active(a, req, query, true);
}

static void
admin_user(struct admin *a, struct evhttp_request *req, const char *rest,
    const char *query)
{
	const char	*err = NULL;
	char		*id;
	size_t		 len;
	json_t		*body;
	int		 status = HTTP_INTERNAL;

	/* One path segment: /v1/users/a/b is no user. */
	if (*rest == '\0' || strchr(rest, '/') != NULL) {
		admin_error(req, HTTP_NOTFOUND, "no such endpoint");
		return;
	}
	/* Percent-encoding at most triples a byte: bound before decoding. */
	if (strlen(rest) > 3 * ADMIN_PARAM_MAX) {
		admin_error(req, HTTP_BADREQUEST,
		    "user id is longer than %d bytes", ADMIN_PARAM_MAX);
		return;
	}
	id = evhttp_uridecode(rest, 0, &len);
	if (id == NULL)
		fatalx("out of memory");
	if (len > ADMIN_PARAM_MAX)
		admin_error(req, HTTP_BADREQUEST,
		    "user id is longer than %d bytes", ADMIN_PARAM_MAX);
	else if (len != strlen(id))
		admin_error(req, HTTP_BADREQUEST, "user id holds a NUL byte");
	else {
		body = a->ops.user(a->ops.arg, id, &status, &err);
		admin_reply_op(req, HTTP_OK, body, status, err);
	}
	free(id);
}

static void
admin_top(struct admin *a, struct evhttp_request *req, const char *rest,
    const char *query)
{
	static const char *const keys[] = { "n", NULL };
	struct evkeyvalq	 q;
	const char		*v[1], *err = NULL;
	json_t			*body;
	size_t			 n = ADMIN_TOP_DEFAULT;
	int			 status = HTTP_INTERNAL;

	if (!admin_params(req, query, &q, keys, v))
		goto out;
	if (v[0] != NULL) {
		/* Digits only (no sign, no space), 1..ADMIN_TOP_MAX. */
		if (*v[0] == '\0' || strspn(v[0], "0123456789") !=
		    strlen(v[0]) || strlen(v[0]) > 6 ||
		    (n = strtoul(v[0], NULL, 10)) < 1 || n > ADMIN_TOP_MAX) {
			admin_error(req, HTTP_BADREQUEST,
			    "n must be an integer from 1 to %d", ADMIN_TOP_MAX);
			goto out;
		}
	}
	body = a->ops.top_sessions(a->ops.arg, n, &status, &err);
	admin_reply_op(req, HTTP_OK, body, status, err);
out:
	evhttp_clear_headers(&q);
}

static void
admin_snapshot(struct admin *a, struct evhttp_request *req, const char *rest,
    const char *query)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	const char	*name = NULL, *key, *err = NULL;
	json_t		*doc = NULL, *value, *body;
	json_error_t	 jerr;
	unsigned char	*data;
	size_t		 len;
	int		 status = HTTP_INTERNAL;

	len = evbuffer_get_length(in);
	if (len > 0) {
		if ((data = evbuffer_pullup(in, -1)) == NULL) {
			admin_error(req, HTTP_INTERNAL, "cannot read the body");
			return;
		}
		doc = json_loadb((const char *)data, len,
		    JSON_REJECT_DUPLICATES, &jerr);
		if (doc == NULL) {
			admin_error(req, HTTP_BADREQUEST,
			    "body is not JSON: %s", jerr.text);
			return;
		}
		if (!json_is_object(doc)) {
			admin_error(req, HTTP_BADREQUEST,
			    "body must be a JSON object");
			goto out;
		}
		json_object_foreach(doc, key, value) {
			if (strcmp(key, "name") != 0) {
				admin_error(req, HTTP_BADREQUEST,
				    "unknown field \"%.*s\"", ADMIN_PARAM_MAX,
				    key);
				goto out;
			}
			if (!json_is_string(value)) {
				admin_error(req, HTTP_BADREQUEST,
				    "name must be a string");
				goto out;
			}
			name = json_string_value(value);
		}
	}
	body = a->ops.snapshot(a->ops.arg, name, &status, &err);
	admin_reply_op(req, 201, body, status, err);
out:
	json_decref(doc);
}

static const struct admin_route admin_routes[] = {
	{ "/healthz", false, ADMIN_GET, "GET, HEAD", true, true, ADMIN_NO_OP,
	  admin_healthz },
	{ "/readyz", false, ADMIN_GET, "GET, HEAD", false, true,
	  ADMIN_OP(ready), admin_readyz },
	{ "/metrics", false, ADMIN_GET, "GET, HEAD", false, true,
	  ADMIN_OP(metrics), admin_metrics },
	{ "/v1/dau", false, ADMIN_GET, "GET, HEAD", false, true,
	  ADMIN_OP(active), admin_dau },
	{ "/v1/mau", false, ADMIN_GET, "GET, HEAD", false, true,
	  ADMIN_OP(active), admin_mau },
	{ "/v1/users/", true, ADMIN_GET, "GET, HEAD", false, false,
	  ADMIN_OP(user), admin_user },
	{ "/v1/sessions/top", false, ADMIN_GET, "GET, HEAD", false, true,
	  ADMIN_OP(top_sessions), admin_top },
	{ "/v1/snapshots", false, EVHTTP_REQ_POST, "POST", false, false,
	  ADMIN_OP(snapshot), admin_snapshot },
};

/* Did the daemon give the op? (Every op is a function pointer.) */
static bool
admin_has_op(const struct admin *a, size_t op)
{
	void	(*fn)(void);

	if (op == ADMIN_NO_OP)
		return true;
	memcpy(&fn, (const char *)&a->ops + op, sizeof fn);
	return fn != NULL;
}

/* ------------------------------------------------------ limits and auth */

static double
admin_now(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatalx("clock_gettime: %s", strerror(errno));
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Take a token from the bucket; if empty, *wait is seconds until one. */
static bool
admin_take(struct admin *a, double *wait)
{
	double	now = admin_now();

	a->bucket = fmin(a->rate, a->bucket + (now - a->refilled) * a->rate);
	a->refilled = now;
	if (a->bucket >= 1) {
		a->bucket -= 1;
		return true;
	}
	*wait = (1 - a->bucket) / a->rate;
	return false;
}

/* Constant time in the token's length, whatever the client sent. */
static bool
admin_token_ok(const struct admin *a, const char *given)
{
	size_t		glen = strlen(given), i;
	unsigned char	diff = glen != a->token_len;

	for (i = 0; i < a->token_len; i++)
		diff |= (unsigned char)a->token[i] ^
		    (unsigned char)(i < glen ? given[i] : 0);
	return diff == 0;
}

/* Is the request authorized? If not, the 401 is sent. */
static bool
admin_auth(struct admin *a, struct evhttp_request *req)
{
	const char	*h, *challenge = "Bearer";

	if (a->token == NULL)
		return true;
	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	/* libevent trims the value: "Bearer " arrives as "Bearer". */
	if (h != NULL && strncasecmp(h, "Bearer", 6) == 0 &&
	    (h[6] == ' ' || h[6] == '\0')) {
		h += 6;
		h += strspn(h, " ");
		if (admin_token_ok(a, h))
			return true;
		challenge = "Bearer error=\"invalid_token\"";
	}
	if (admin_header(req, "WWW-Authenticate", challenge))
		admin_error(req, 401, "%s", strcmp(challenge, "Bearer") == 0 ?
		    "a bearer token is required" : "invalid bearer token");
	return false;
}

static void
admin_request(struct evhttp_request *req, void *arg)
{
	struct admin			*a = arg;
	const struct evhttp_uri		*uri;
	const struct admin_route	*r = NULL, *ri;
	const char			*path, *query, *rest = NULL;
	char				 secs[24];
	double				 wait;
	size_t				 i, len;

	uri = evhttp_request_get_evhttp_uri(req);
	if (uri == NULL || (path = evhttp_uri_get_path(uri)) == NULL) {
		admin_error(req, HTTP_BADREQUEST, "malformed request target");
		return;
	}
	for (i = 0; i < sizeof admin_routes / sizeof admin_routes[0]; i++) {
		ri = &admin_routes[i];
		len = strlen(ri->path);
		if (ri->prefix ? strncmp(path, ri->path, len) == 0 :
		    strcmp(path, ri->path) == 0) {
			r = ri;
			rest = path + len;
			break;
		}
	}

	if (r == NULL || !r->open) {
		if (!admin_take(a, &wait)) {
			snprintf(secs, sizeof secs, "%.0f",
			    fmax(1, ceil(wait)));
			if (admin_header(req, "Retry-After", secs))
				admin_error(req, 429, "more than %.0f requests "
				    "per second", a->rate);
			return;
		}
		if (!admin_auth(a, req))
			return;
	}
	if (r == NULL) {
		admin_error(req, HTTP_NOTFOUND, "no such endpoint");
		return;
	}
	if ((evhttp_request_get_command(req) & r->methods) == 0) {
		if (admin_header(req, "Allow", r->allow))
			admin_error(req, HTTP_BADMETHOD, "method not allowed; "
			    "use %s", r->allow);
		return;
	}
	query = evhttp_uri_get_query(uri);
	if (!r->query && query != NULL && *query != '\0') {
		admin_error(req, HTTP_BADREQUEST, "no parameters expected");
		return;
	}
	if (!admin_has_op(a, r->op)) {
		admin_error(req, HTTP_NOTIMPLEMENTED, "not available");
		return;
	}
	r->handle(a, req, rest, query);
}

/* --------------------------------------------------------------- set-up */

static bool
admin_loopback(const char *host)
{
	struct addrinfo		 hints, *ai;
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	bool			 yes = false;

	if (strcasecmp(host, "localhost") == 0)
		return true;
	memset(&hints, 0, sizeof hints);
	hints.ai_flags = AI_NUMERICHOST;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &ai) != 0)
		return false;
	if (ai->ai_family == AF_INET) {
		sin = (const struct sockaddr_in *)ai->ai_addr;
		yes = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	} else if (ai->ai_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)ai->ai_addr;
		yes = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr) ||
		    (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
		    sin6->sin6_addr.s6_addr[12] == 127);
	}
	freeaddrinfo(ai);
	return yes;
}

/* Read the token: the whole file less trailing white space. */
static char *
admin_read_token(const char *path, char **cause)
{
	struct stat	 st;
	char		 buf[ADMIN_TOKEN_MAX + 1], *tok;
	size_t		 len = 0, i;
	ssize_t		 r;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		*cause = xasprintf("admin token file %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		*cause = xasprintf("admin token file %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		*cause = xasprintf("admin token file %s: not a regular file",
		    path);
		goto fail;
	}
	if ((st.st_mode & 077) != 0) {
		*cause = xasprintf("admin token file %s: mode %04o lets group "
		    "or others access it; chmod 600 it", path,
		    (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	while (len < sizeof buf &&
	    (r = read(fd, buf + len, sizeof buf - len)) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			*cause = xasprintf("admin token file %s: %s", path,
			    strerror(errno));
			goto fail;
		}
		len += (size_t)r;
	}
	close(fd);
	if (len > ADMIN_TOKEN_MAX) {
		*cause = xasprintf("admin token file %s: longer than %d bytes",
		    path, ADMIN_TOKEN_MAX);
		return NULL;
	}
	while (len > 0 && strchr(" \t\r\n", buf[len - 1]) != NULL)
		len--;
	if (len == 0) {
		*cause = xasprintf("admin token file %s: empty", path);
		return NULL;
	}
	/* It must fit in a header as the client sends it. */
	for (i = 0; i < len; i++) {
		if (buf[i] <= ' ' || buf[i] > '~') {
			*cause = xasprintf("admin token file %s: byte %zu is "
			    "a space or not printable ASCII", path, i + 1);
			return NULL;
		}
	}
	tok = xstrndup(buf, len);
	explicit_bzero(buf, sizeof buf);
	return tok;

fail:
	close(fd);
	return NULL;
}

struct admin *
admin_new(struct event_base *base, const char *host, uint16_t port,
    const char *token_file, size_t max_request_size, unsigned rate_limit,
    const struct admin_ops *ops, char **cause)
{
	struct admin		*a;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof ss;
	evutil_socket_t		 fd;
	const char		*lb = strchr(host, ':') != NULL ? "[" : "";
	const char		*rb = *lb != '\0' ? "]" : "";
	int			 e;

	if (*token_file == '\0' && !admin_loopback(host)) {
		*cause = xasprintf("admin address %s%s%s is not loopback: a "
		    "token file is required", lb, host, rb);
		return NULL;
	}
	if (rate_limit == 0 || max_request_size == 0) {
		*cause = xstrdup("admin rate limit and request size must be "
		    "positive");
		return NULL;
	}

	a = xcalloc(1, sizeof *a);
	a->ops = *ops;
	a->rate = rate_limit;
	a->bucket = rate_limit;		/* a full second's worth at start */
	a->refilled = admin_now();
	if (*token_file != '\0') {
		if ((a->token = admin_read_token(token_file, cause)) == NULL)
			goto fail;
		a->token_len = strlen(a->token);
	}

	if ((a->http = evhttp_new(base)) == NULL) {
		*cause = xstrdup("admin: cannot create the HTTP server");
		goto fail;
	}
	evhttp_set_max_headers_size(a->http, (ev_ssize_t)max_request_size);
	evhttp_set_max_body_size(a->http, (ev_ssize_t)max_request_size);
	evhttp_set_timeout(a->http, ADMIN_TIMEOUT);
	/* Let every known method through: 405 with Allow is ours to send. */
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_gencb(a->http, admin_request, a);

	errno = 0;
	a->sock = evhttp_bind_socket_with_handle(a->http, host, port);
	if (a->sock == NULL) {
		e = errno;
		*cause = xasprintf("admin: cannot listen on %s%s%s:%u: %s", lb,
		    host, rb, port, e != 0 ? strerror(e) : "failed");
		goto fail;
	}
	fd = evhttp_bound_socket_get_fd(a->sock);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1) {
		*cause = xasprintf("admin: getsockname: %s", strerror(errno));
		goto fail;
	}
	if (ss.ss_family == AF_INET)
		a->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else
		a->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);

	log_info("admin listening", "address=%s%s%s:%u token=%s", lb, host,
	    rb, a->port, a->token != NULL ? "required" : "none");
	return a;

fail:
	admin_free(a);
	return NULL;
}

uint16_t
admin_port(const struct admin *a)
{
	return a->port;
}

void
admin_free(struct admin *a)
{
	if (a == NULL)
		return;
	/* Frees the listener and every connection of the server too. */
	if (a->http != NULL)
		evhttp_free(a->http);
	if (a->token != NULL) {
		explicit_bzero(a->token, a->token_len);
		free(a->token);
	}
	free(a);
}
