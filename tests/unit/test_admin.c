/*
 * Unit tests for connectors/admin: the server runs on a private event_base
 * in a second thread with fake ops that record what they are given; the
 * test thread speaks HTTP/1.1 over blocking sockets and checks exact status
 * lines, headers and bodies: health, readiness, metrics, parameters passed
 * through, path decoding, 400/404/405/413/429, bearer tokens, and the
 * refusals at start (non-loopback without token, token file modes).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <cmocka.h>

#include "tmpdir.h"

#include <event2/event.h>

#include "admin.h"
#include "enc.h"
#include "prom.h"
#include "xmalloc.h"

#define TOKEN	"s3cret-Token.42"

/* What the fake ops were given; written by the server thread. */
struct fake {
	bool		 ready;
	const char	*why;
	struct prom	*prom;
	int		 calls;
	bool		 monthly;
	char		*from, *to, *tz, *dimension;
	char		*user;
	size_t		 top;
	bool		 snap_named;
	char		*snap;
};

struct server {
	struct fake		 fake;
	struct admin_ops	 ops;
	struct event_base	*base;
	struct admin		*admin;
	struct event		*stop;
	int			 pipe[2];
	pthread_t		 thread;
	uint16_t		 port;
	char			 tmp[64];
};

struct resp {
	int	 status;
	char	*head;		/* status line and headers */
	char	*body;
	size_t	 body_len;
};

/* ------------------------------------------------------------ fake ops */

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static bool
fake_ready(void *arg, const char **why)
{
	struct fake	*f = arg;

	*why = f->why;
	return f->ready;
}

static void
fake_metrics(void *arg, struct enc *out)
{
	struct fake	*f = arg;

	f->calls++;
	prom_render(f->prom, out);
}

static json_t *
fake_active(void *arg, bool monthly, const char *from, const char *to,
    const char *tz, const char *dimension, int *status, const char **err)
{
	struct fake	*f = arg;

	f->calls++;
	f->monthly = monthly;
	free(f->from);
	free(f->to);
	free(f->tz);
	free(f->dimension);
	f->from = dup_or_null(from);
	f->to = dup_or_null(to);
	f->tz = dup_or_null(tz);
	f->dimension = dup_or_null(dimension);
	if (from != NULL && strcmp(from, "bad") == 0) {
		*status = 400;
		*err = "from: not a date";
		return NULL;
	}
	if (from != NULL && strcmp(from, "nostatus") == 0)
		return NULL;
	return json_pack("{s:[{s:s,s:i}]}", "rows", "day", "2024-01-01",
	    "count_active_users", 3);
}

static json_t *
fake_user(void *arg, const char *id, int *status, const char **err)
{
	struct fake	*f = arg;

	f->calls++;
	free(f->user);
	f->user = xstrdup(id);
	if (strcmp(id, "ghost") == 0) {
		*status = 404;
		*err = "unknown user";
		return NULL;
	}
	return json_pack("{s:s,s:i}", "user_id", id, "total_sessions", 2);
}

static json_t *
fake_top(void *arg, size_t n, int *status, const char **err)
{
	struct fake	*f = arg;

	f->calls++;
	f->top = n;
	return json_pack("{s:[]}", "users");
}

static json_t *
fake_snapshot(void *arg, const char *name, int *status, const char **err)
{
	struct fake	*f = arg;

	f->calls++;
	free(f->snap);
	f->snap_named = name != NULL;
	f->snap = dup_or_null(name);
	return json_pack("{s:s}", "name", name != NULL ? name : "auto");
}

/* --------------------------------------------------------------- server */

static void
server_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct event_base	*base = arg;

	assert_int_equal(event_base_loopbreak(base), 0);
}

static void *
server_run(void *arg)
{
	struct server	*s = arg;

	if (event_base_dispatch(s->base) == -1)
		abort();
	return NULL;
}

static const struct admin_ops *
fake_ops(struct server *s)
{
	s->ops.ready = fake_ready;
	s->ops.metrics = fake_metrics;
	s->ops.active = fake_active;
	s->ops.user = fake_user;
	s->ops.top_sessions = fake_top;
	s->ops.snapshot = fake_snapshot;
	s->ops.arg = &s->fake;
	return &s->ops;
}

static int
setup(void **state)
{
	struct server	*s;

	s = xcalloc(1, sizeof *s);
	strcpy(s->tmp, "/tmp/test_admin.XXXXXX");
	if (mkdtemp(s->tmp) == NULL)
		return -1;
	s->fake.prom = prom_new();
	fake_ops(s);
	s->base = event_base_new();
	if (s->base == NULL)
		return -1;
	*state = s;
	return 0;
}

/* Write a file of the given mode (whatever the umask) and return its path. */
static char *
write_file(struct server *s, const char *name, const char *text, mode_t mode)
{
	char	*path;
	int	 fd;

	path = xasprintf("%s/%s", s->tmp, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
	return path;
}

/* Start the admin server on 127.0.0.1, port 0, and its thread. */
static void
start(struct server *s, const char *token_file, size_t max, unsigned rate)
{
	char	*cause = NULL;

	s->admin = admin_new(s->base, "127.0.0.1", 0, token_file, max, rate,
	    &s->ops, &cause);
	if (s->admin == NULL)
		fail_msg("admin_new: %s", cause);
	s->port = admin_port(s->admin);
	assert_int_not_equal(s->port, 0);
	assert_int_equal(pipe(s->pipe), 0);
	s->stop = event_new(s->base, s->pipe[0], EV_READ, server_stop_cb,
	    s->base);
	assert_non_null(s->stop);
	assert_int_equal(event_add(s->stop, NULL), 0);
	assert_int_equal(pthread_create(&s->thread, NULL, server_run, s), 0);
}

/* The usual server: loopback, no token, 64 KiB, 1000 requests/s. */
static int
setup_started(void **state)
{
	if (setup(state) != 0)
		return -1;
	start(*state, "", 65536, 1000);
	return 0;
}

static int
teardown(void **state)
{
	struct server	*s = *state;
	struct fake	*f = &s->fake;
	int		 r;

	if (s->stop != NULL) {
		if (write(s->pipe[1], "x", 1) != 1)
			return -1;
		if (pthread_join(s->thread, NULL) != 0)
			return -1;
		event_free(s->stop);
		close(s->pipe[0]);
		close(s->pipe[1]);
	}
	admin_free(s->admin);
	event_base_free(s->base);
	prom_free(f->prom);
	free(f->from);
	free(f->to);
	free(f->tz);
	free(f->dimension);
	free(f->user);
	free(f->snap);
	r = tmpdir_remove(s->tmp);
	free(s);
	return r;
}

/* --------------------------------------------------------------- client */

static void
resp_free(struct resp *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof *r);
}

/* Send raw bytes, read the whole answer (the server closes after it). */
static struct resp
exchange(const struct server *s, const char *req, size_t req_len)
{
	struct sockaddr_in	 sin;
	struct timeval		 tv = { 10, 0 };
	struct resp		 r;
	char			*buf = NULL, *end;
	size_t			 len = 0, cap = 0, off;
	ssize_t			 n;
	int			 fd;

	memset(&r, 0, sizeof r);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof tv), 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(s->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	for (off = 0; off < req_len; off += (size_t)n) {
		n = write(fd, req + off, req_len - off);
		if (n <= 0)
			break;	/* the server may answer early and close */
	}
	for (;;) {
		buf = xgrow(buf, &cap, len + 4096, 1);
		n = read(fd, buf + len, cap - len - 1);
		if (n == -1 && errno == ECONNRESET && len > 0)
			break;
		assert_true(n >= 0);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	end = strstr(buf, "\r\n\r\n");
	if (end == NULL)
		fail_msg("no complete answer: \"%s\"", buf);
	r.head = xstrndup(buf, (size_t)(end - buf));
	r.body_len = len - (size_t)(end + 4 - buf);
	r.body = xstrndup(end + 4, r.body_len);
	assert_int_equal(sscanf(r.head, "HTTP/1.1 %d ", &r.status), 1);
	free(buf);
	return r;
}

/* The value of a response header, or NULL. */
static const char *
header(const struct resp *r, const char *name)
{
	static char	 value[512];
	const char	*line, *eol;
	size_t		 nlen = strlen(name), vlen;

	for (line = strstr(r->head, "\r\n"); line != NULL; line = eol) {
		line += 2;
		eol = strstr(line, "\r\n");
		if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
			line += nlen + 1;
			line += strspn(line, " ");
			vlen = eol != NULL ? (size_t)(eol - line) : strlen(line);
			assert_true(vlen < sizeof value);
			memcpy(value, line, vlen);
			value[vlen] = '\0';
			return value;
		}
	}
	return NULL;
}

/* A request with optional extra header lines ("K: v\r\n...") and body. */
static struct resp
request(const struct server *s, const char *method, const char *target,
    const char *headers, const char *body)
{
	struct resp	 r;
	char		*req, len[32] = "";
	char		 cl[64];

	if (body != NULL) {
		snprintf(cl, sizeof cl, "Content-Length: %zu\r\n",
		    strlen(body));
		strcpy(len, cl);
	}
	req = xasprintf("%s %s HTTP/1.1\r\nHost: localhost\r\n"
	    "Connection: close\r\n%s%s\r\n%s", method, target,
	    headers != NULL ? headers : "", len, body != NULL ? body : "");
	r = exchange(s, req, strlen(req));
	free(req);
	/* Whatever the answer, its length is declared once and exact. */
	assert_non_null(header(&r, "Content-Length"));
	assert_null(strstr(strstr(r.head, "Content-Length:") + 1,
	    "Content-Length:"));
	if (strcmp(method, "HEAD") != 0)
		assert_int_equal(strtoul(header(&r, "Content-Length"), NULL,
		    10), r.body_len);
	return r;
}

/*
 * Expect status, JSON content type and body exactly, and, if hname is not
 * NULL, that header with that value.
 */
static void
expect_with(const struct server *s, const char *method, const char *target,
    const char *headers, const char *body, int status, const char *hname,
    const char *hvalue, const char *want)
{
	struct resp	r;

	r = request(s, method, target, headers, body);
	if (r.status != status)
		fail_msg("%s %s: status %d, want %d; body %s", method, target,
		    r.status, status, r.body);
	assert_string_equal(header(&r, "Content-Type"), "application/json");
	assert_string_equal(header(&r, "Cache-Control"), "no-store");
	if (hname != NULL) {
		assert_non_null(header(&r, hname));
		assert_string_equal(header(&r, hname), hvalue);
	}
	assert_string_equal(r.body, want);
	resp_free(&r);
}

static void
expect(const struct server *s, const char *method, const char *target,
    const char *headers, const char *body, int status, const char *want)
{
	expect_with(s, method, target, headers, body, status, NULL, NULL,
	    want);
}

static void
get(const struct server *s, const char *target, int status, const char *want)
{
	expect(s, "GET", target, NULL, NULL, status, want);
}

/* ---------------------------------------------------------------- tests */

static void
healthz_and_readyz(void **state)
{
	struct server	*s = *state;
	struct resp	 r;

	get(s, "/healthz", 200, "{\"status\":\"ok\"}\n");
	r = request(s, "HEAD", "/healthz", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "Content-Length"), "16");
	assert_string_equal(r.body, "");
	resp_free(&r);

	s->fake.ready = false;
	s->fake.why = "metadata not caught up";
	get(s, "/readyz", 503, "{\"status\":\"not ready\","
	    "\"error\":\"metadata not caught up\"}\n");
	s->fake.ready = true;
	get(s, "/readyz", 200, "{\"status\":\"ready\"}\n");
}

static void
metrics_body_is_the_ops_text(void **state)
{
	struct server		*s = *state;
	struct prom_metric	*c;
	struct resp		 r;

	c = prom_counter(s->fake.prom, "activityd_records_in_total",
	    "Records consumed.", "topic");
	prom_add(c, 12, "interactions");
	r = request(s, "GET", "/metrics", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "Content-Type"),
	    "text/plain; version=0.0.4; charset=utf-8");
	assert_string_equal(r.body,
	    "# HELP activityd_records_in_total Records consumed.\n"
	    "# TYPE activityd_records_in_total counter\n"
	    "activityd_records_in_total{topic=\"interactions\"} 12\n");
	assert_int_equal(s->fake.calls, 1);
	resp_free(&r);
	/* Rendered per scrape: an update shows in the next one. */
	prom_add(c, 1, "interactions");
	r = request(s, "GET", "/metrics", NULL, NULL);
	assert_non_null(strstr(r.body, "{topic=\"interactions\"} 13\n"));
	assert_int_equal(s->fake.calls, 2);
	resp_free(&r);
}

static void
active_forwards_parameters(void **state)
{
	struct server	*s = *state;
	struct fake	*f = &s->fake;
	const char	*rows = "{\"rows\":[{\"day\":\"2024-01-01\","
			    "\"count_active_users\":3}]}\n";
	char		 target[256], *long_value;

	get(s, "/v1/dau?from=2024-01-01&to=2024-01-31&tz=America%2FNew_York"
	    "&dimension=country", 200, rows);
	assert_false(f->monthly);
	assert_string_equal(f->from, "2024-01-01");
	assert_string_equal(f->to, "2024-01-31");
	assert_string_equal(f->tz, "America/New_York");
	assert_string_equal(f->dimension, "country");

	/* Absent parameters are NULL; %2B is a plus, a bare + a space. */
	get(s, "/v1/mau?tz=Etc%2FGMT%2B5&from=2024-01", 200, rows);
	assert_true(f->monthly);
	assert_string_equal(f->from, "2024-01");
	assert_null(f->to);
	assert_string_equal(f->tz, "Etc/GMT+5");
	assert_null(f->dimension);
	get(s, "/v1/mau?tz=a+b&to=", 200, rows);
	assert_string_equal(f->tz, "a b");
	assert_string_equal(f->to, "");
	get(s, "/v1/dau", 200, rows);
	assert_null(f->from);
	assert_null(f->tz);
	assert_int_equal(f->calls, 4);

	/* Refused before the op is called. */
	get(s, "/v1/dau?from=2024-01-01&frm=x", 400,
	    "{\"error\":\"unknown parameter \\\"frm\\\"\"}\n");
	get(s, "/v1/dau?tz=UTC&tz=UTC", 400,
	    "{\"error\":\"parameter tz given twice\"}\n");
	get(s, "/v1/dau?from", 400, "{\"error\":\"malformed query string\"}\n");
	long_value = xcalloc(1, 130);
	memset(long_value, 'a', 129);
	snprintf(target, sizeof target, "/v1/dau?dimension=%s", long_value);
	get(s, target, 400,
	    "{\"error\":\"parameter dimension is longer than 128 bytes\"}\n");
	long_value[128] = '\0';
	assert_int_equal(f->calls, 4);
	snprintf(target, sizeof target, "/v1/dau?dimension=%s", long_value);
	get(s, target, 200, rows);
	assert_string_equal(f->dimension, long_value);
	free(long_value);

	/* The op's own errors, and an op that forgets its status. */
	get(s, "/v1/dau?from=bad", 400, "{\"error\":\"from: not a date\"}\n");
	get(s, "/v1/mau?from=nostatus", 500,
	    "{\"error\":\"Internal Server Error\"}\n");
}

static void
user_id_is_percent_decoded(void **state)
{
	struct server	*s = *state;
	struct fake	*f = &s->fake;
	char		 target[512], want[512], id[130];
	int		 calls;

	get(s, "/v1/users/u%2F1", 200,
	    "{\"user_id\":\"u/1\",\"total_sessions\":2}\n");
	assert_string_equal(f->user, "u/1");
	/* In a path a plus is a plus. */
	get(s, "/v1/users/a+b%20c", 200,
	    "{\"user_id\":\"a+b c\",\"total_sessions\":2}\n");
	get(s, "/v1/users/ghost", 404, "{\"error\":\"unknown user\"}\n");
	assert_string_equal(f->user, "ghost");

	calls = f->calls;
	get(s, "/v1/users/", 404, "{\"error\":\"no such endpoint\"}\n");
	get(s, "/v1/users", 404, "{\"error\":\"no such endpoint\"}\n");
	get(s, "/v1/users/a/b", 404, "{\"error\":\"no such endpoint\"}\n");
	get(s, "/v1/users/a%00b", 400,
	    "{\"error\":\"user id holds a NUL byte\"}\n");
	get(s, "/v1/users/a?x=1", 400,
	    "{\"error\":\"no parameters expected\"}\n");
	/* 128 bytes once decoded is the limit: 127 x plus %41. */
	memset(id, 'x', 127);
	id[127] = '\0';
	snprintf(target, sizeof target, "/v1/users/%s%%41%%41", id);
	get(s, target, 400,
	    "{\"error\":\"user id is longer than 128 bytes\"}\n");
	assert_int_equal(f->calls, calls);
	snprintf(target, sizeof target, "/v1/users/%s%%41", id);
	snprintf(want, sizeof want,
	    "{\"user_id\":\"%sA\",\"total_sessions\":2}\n", id);
	get(s, target, 200, want);
	assert_int_equal(strlen(f->user), 128);
	assert_int_equal(f->user[127], 'A');
}

static void
top_sessions_bounds(void **state)
{
	struct server	*s = *state;
	struct fake	*f = &s->fake;
	static const char *const bad[] = {
		"n=0", "n=10001", "n=abc", "n=-1", "n=%205", "n=5x", "n=",
		"n=99999999999999999999",
	};
	const char	*want = "{\"error\":\"n must be an integer from 1 to "
			    "10000\"}\n";
	char		 target[64];
	size_t		 i;

	get(s, "/v1/sessions/top", 200, "{\"users\":[]}\n");
	assert_int_equal(f->top, 20);
	get(s, "/v1/sessions/top?n=5", 200, "{\"users\":[]}\n");
	assert_int_equal(f->top, 5);
	get(s, "/v1/sessions/top?n=10000", 200, "{\"users\":[]}\n");
	assert_int_equal(f->top, 10000);
	get(s, "/v1/sessions/top?n=007", 200, "{\"users\":[]}\n");
	assert_int_equal(f->top, 7);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(target, sizeof target, "/v1/sessions/top?%s", bad[i]);
		get(s, target, 400, want);
	}
	get(s, "/v1/sessions/top?top=5", 400,
	    "{\"error\":\"unknown parameter \\\"top\\\"\"}\n");
	assert_int_equal(f->calls, 4);
}

static void
snapshot_post_with_optional_name(void **state)
{
	struct server	*s = *state;
	struct fake	*f = &s->fake;

	expect(s, "POST", "/v1/snapshots", NULL, NULL, 201,
	    "{\"name\":\"auto\"}\n");
	assert_false(f->snap_named);
	expect(s, "POST", "/v1/snapshots",
	    "Content-Type: application/json\r\n", "{\"name\": \"nightly\"}",
	    201, "{\"name\":\"nightly\"}\n");
	assert_true(f->snap_named);
	assert_string_equal(f->snap, "nightly");
	assert_int_equal(f->calls, 2);

	expect(s, "POST", "/v1/snapshots", NULL, "{\"name\": ", 400,
	    "{\"error\":\"body is not JSON: unexpected token near end of "
	    "file\"}\n");
	expect(s, "POST", "/v1/snapshots", NULL, "[\"nightly\"]", 400,
	    "{\"error\":\"body must be a JSON object\"}\n");
	expect(s, "POST", "/v1/snapshots", NULL, "{\"nam\": \"x\"}", 400,
	    "{\"error\":\"unknown field \\\"nam\\\"\"}\n");
	expect(s, "POST", "/v1/snapshots", NULL, "{\"name\": 5}", 400,
	    "{\"error\":\"name must be a string\"}\n");
	expect(s, "POST", "/v1/snapshots?name=x", NULL, NULL, 400,
	    "{\"error\":\"no parameters expected\"}\n");
	assert_int_equal(f->calls, 2);
}

static void
unknown_path_and_wrong_method(void **state)
{
	struct server	*s = *state;

	get(s, "/nope", 404, "{\"error\":\"no such endpoint\"}\n");
	get(s, "/healthz/", 404, "{\"error\":\"no such endpoint\"}\n");
	get(s, "/v1/dau/", 404, "{\"error\":\"no such endpoint\"}\n");

	expect_with(s, "DELETE", "/healthz", NULL, NULL, 405, "Allow",
	    "GET, HEAD", "{\"error\":\"method not allowed; use GET, HEAD\"}\n");
	expect_with(s, "POST", "/metrics", NULL, "x", 405, "Allow",
	    "GET, HEAD", "{\"error\":\"method not allowed; use GET, HEAD\"}\n");
	expect_with(s, "GET", "/v1/snapshots", NULL, NULL, 405, "Allow", "POST",
	    "{\"error\":\"method not allowed; use POST\"}\n");
	expect_with(s, "PUT", "/v1/users/u1", NULL, "{}", 405, "Allow",
	    "GET, HEAD", "{\"error\":\"method not allowed; use GET, HEAD\"}\n");
	assert_int_equal(s->fake.calls, 0);
}

static void
missing_op_answers_501(void **state)
{
	struct server	*s = *state;

	s->ops.user = NULL;
	s->ops.metrics = NULL;
	start(s, "", 65536, 1000);
	get(s, "/v1/users/u1", 501, "{\"error\":\"not available\"}\n");
	get(s, "/metrics", 501, "{\"error\":\"not available\"}\n");
	get(s, "/v1/sessions/top", 200, "{\"users\":[]}\n");
	assert_int_equal(s->fake.calls, 1);
}

static void
oversize_request_refused(void **state)
{
	static const char chunked[] = "POST /v1/snapshots HTTP/1.1\r\n"
	    "Host: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n";
	struct server	*s = *state;
	struct resp	 r;
	char		*big, *hdr;

	start(s, "", 1024, 1000);
	big = xcalloc(1, 2001);
	memset(big, ' ', 2000);
	r = request(s, "POST", "/v1/snapshots", NULL, big);
	assert_int_equal(r.status, 413);
	/* libevent's own answer, and it drops the connection. */
	assert_string_equal(header(&r, "Connection"), "close");
	resp_free(&r);
	/* A chunked body is counted as it arrives. */
	r = exchange(s, chunked, strlen(chunked));
	assert_int_equal(r.status, 413);
	resp_free(&r);
	/* Headers count too (libevent answers those with 400). */
	hdr = xasprintf("X-Padding: %s\r\n", big);
	r = request(s, "GET", "/healthz", hdr, NULL);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	assert_int_equal(s->fake.calls, 0);
	/* Just under the limit is served. */
	big[900] = '\0';
	memcpy(big + 890, "{}", 2);
	expect(s, "POST", "/v1/snapshots", NULL, big, 201,
	    "{\"name\":\"auto\"}\n");
	free(hdr);
	free(big);
}

static void
rate_limit_over_all_clients(void **state)
{
	struct server	*s = *state;
	int		 i;

	s->fake.ready = true;
	start(s, "", 65536, 3);
	for (i = 0; i < 3; i++)
		get(s, "/readyz", 200, "{\"status\":\"ready\"}\n");
	expect_with(s, "GET", "/readyz", NULL, NULL, 429, "Retry-After", "1",
	    "{\"error\":\"more than 3 requests per second\"}\n");
	/* Unknown paths spend tokens too; /healthz needs none. */
	expect_with(s, "GET", "/nope", NULL, NULL, 429, "Retry-After", "1",
	    "{\"error\":\"more than 3 requests per second\"}\n");
	get(s, "/healthz", 200, "{\"status\":\"ok\"}\n");
	/* The bucket refills at 3 per second. */
	usleep(400 * 1000);
	get(s, "/readyz", 200, "{\"status\":\"ready\"}\n");
	expect_with(s, "GET", "/readyz", NULL, NULL, 429, "Retry-After", "1",
	    "{\"error\":\"more than 3 requests per second\"}\n");
}

static void
bearer_token_required(void **state)
{
	struct server	*s = *state;
	char		*path;
	static const char *const wrong[] = {
		"Authorization: Bearer s3cret-Token.4\r\n",
		"Authorization: Bearer s3cret-Token.422\r\n",
		"Authorization: Bearer S3cret-Token.42\r\n",
		"Authorization: Bearer \r\n",
		"Authorization: Bearer  " TOKEN " x\r\n",
	};
	size_t		 i;

	s->fake.ready = true;
	path = write_file(s, "token", TOKEN "\n", 0600);
	start(s, path, 65536, 1000);

	/* Missing (a Basic header is no bearer token), then wrong. */
	expect_with(s, "GET", "/readyz", NULL, NULL, 401, "WWW-Authenticate",
	    "Bearer", "{\"error\":\"a bearer token is required\"}\n");
	expect_with(s, "GET", "/metrics", "Authorization: Basic " TOKEN "\r\n",
	    NULL, 401, "WWW-Authenticate", "Bearer",
	    "{\"error\":\"a bearer token is required\"}\n");
	for (i = 0; i < sizeof wrong / sizeof wrong[0]; i++)
		expect_with(s, "GET", "/metrics", wrong[i], NULL, 401,
		    "WWW-Authenticate", "Bearer error=\"invalid_token\"",
		    "{\"error\":\"invalid bearer token\"}\n");
	/* Without the token an unknown path is not even a 404. */
	expect_with(s, "GET", "/nope", NULL, NULL, 401, "WWW-Authenticate",
	    "Bearer", "{\"error\":\"a bearer token is required\"}\n");
	assert_int_equal(s->fake.calls, 0);

	expect(s, "GET", "/readyz", "Authorization: Bearer " TOKEN "\r\n",
	    NULL, 200, "{\"status\":\"ready\"}\n");
	expect(s, "GET", "/v1/users/u1", "authorization: bearer " TOKEN
	    "\r\n", NULL, 200, "{\"user_id\":\"u1\",\"total_sessions\":2}\n");
	expect(s, "GET", "/nope", "Authorization: Bearer " TOKEN "\r\n",
	    NULL, 404, "{\"error\":\"no such endpoint\"}\n");
	get(s, "/healthz", 200, "{\"status\":\"ok\"}\n");
	free(path);
}

/* admin_new must fail with exactly this cause. */
static void
refused(struct server *s, const char *host, const char *token_file,
    const char *want)
{
	struct admin	*a;
	char		*cause = NULL;

	a = admin_new(s->base, host, 0, token_file, 65536, 100, fake_ops(s),
	    &cause);
	assert_null(a);
	assert_non_null(cause);
	assert_string_equal(cause, want);
	free(cause);
}

static void
start_refusals(void **state)
{
	struct server	*s = *state;
	struct admin	*a;
	char		*path, *want, *cause = NULL;

	refused(s, "0.0.0.0", "",
	    "admin address 0.0.0.0 is not loopback: a token file is required");
	refused(s, "192.168.1.10", "", "admin address 192.168.1.10 is not "
	    "loopback: a token file is required");
	refused(s, "::", "",
	    "admin address [::] is not loopback: a token file is required");
	refused(s, "::ffff:10.0.0.1", "", "admin address [::ffff:10.0.0.1] "
	    "is not loopback: a token file is required");
	refused(s, "example.com", "", "admin address example.com is not "
	    "loopback: a token file is required");

	path = write_file(s, "open", TOKEN "\n", 0644);
	want = xasprintf("admin token file %s: mode 0644 lets group or "
	    "others access it; chmod 600 it", path);
	refused(s, "127.0.0.1", path, want);
	free(want);
	free(path);
	path = write_file(s, "group", TOKEN, 0640);
	want = xasprintf("admin token file %s: mode 0640 lets group or "
	    "others access it; chmod 600 it", path);
	refused(s, "127.0.0.1", path, want);
	free(want);
	free(path);
	path = write_file(s, "empty", " \n", 0600);
	want = xasprintf("admin token file %s: empty", path);
	refused(s, "0.0.0.0", path, want);
	free(want);
	free(path);
	path = write_file(s, "spaced", "two words\n", 0400);
	want = xasprintf("admin token file %s: byte 4 is a space or not "
	    "printable ASCII", path);
	refused(s, "127.0.0.1", path, want);
	free(want);
	free(path);
	path = xasprintf("%s/missing", s->tmp);
	want = xasprintf("admin token file %s: No such file or directory",
	    path);
	refused(s, "127.0.0.1", path, want);
	free(want);
	free(path);
	want = xasprintf("admin token file %s: not a regular file", s->tmp);
	refused(s, "127.0.0.1", s->tmp, want);
	free(want);

	/* Loopback in all its spellings needs no token. */
	a = admin_new(s->base, "127.0.0.2", 0, "", 65536, 100, fake_ops(s),
	    &cause);
	if (a == NULL)
		fail_msg("127.0.0.2: %s", cause);
	admin_free(a);
	a = admin_new(s->base, "localhost", 0, "", 65536, 100, fake_ops(s),
	    &cause);
	if (a == NULL)
		fail_msg("localhost: %s", cause);
	admin_free(a);
	/* Off loopback with a good token file it starts. */
	path = write_file(s, "token", TOKEN, 0400);
	a = admin_new(s->base, "0.0.0.0", 0, path, 65536, 100, fake_ops(s),
	    &cause);
	if (a == NULL)
		fail_msg("0.0.0.0 with token: %s", cause);
	admin_free(a);
	free(path);
}

static void
port_in_use_refused(void **state)
{
	struct server	*s = *state;
	char		*want;

	want = xasprintf("admin: cannot listen on 127.0.0.1:%u: Address "
	    "already in use", s->port);
	/* admin_new of a taken port (the thread's base is not touched). */
	{
		struct event_base	*other = event_base_new();
		struct admin		*a;
		char			*cause = NULL;

		assert_non_null(other);
		a = admin_new(other, "127.0.0.1", s->port, "", 65536, 100,
		    fake_ops(s), &cause);
		assert_null(a);
		assert_string_equal(cause, want);
		free(cause);
		event_base_free(other);
	}
	free(want);
	get(s, "/healthz", 200, "{\"status\":\"ok\"}\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(healthz_and_readyz,
		    setup_started, teardown),
		cmocka_unit_test_setup_teardown(metrics_body_is_the_ops_text,
		    setup_started, teardown),
		cmocka_unit_test_setup_teardown(active_forwards_parameters,
		    setup_started, teardown),
		cmocka_unit_test_setup_teardown(user_id_is_percent_decoded,
		    setup_started, teardown),
		cmocka_unit_test_setup_teardown(top_sessions_bounds,
		    setup_started, teardown),
		cmocka_unit_test_setup_teardown(snapshot_post_with_optional_name,
		    setup_started, teardown),
		cmocka_unit_test_setup_teardown(unknown_path_and_wrong_method,
		    setup_started, teardown),
		cmocka_unit_test_setup_teardown(missing_op_answers_501, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(oversize_request_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(rate_limit_over_all_clients,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(bearer_token_required, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(start_refusals, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(port_in_use_refused,
		    setup_started, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
