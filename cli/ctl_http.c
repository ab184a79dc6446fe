/*
 * ctl_http: a blocking HTTP/1.1 client for the admin API (ctl_http.h).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_http.h"
#include "xmalloc.h"

static const char *http_token_file;

void
ctl_http_set_token_file(const char *path)
{
	http_token_file = path;
}

/* The token, trailing white space dropped; NULL if none is configured. */
static int
http_token(char **out, char **cause)
{
	const char *env = getenv("ACTIVITYCTL_TOKEN");
	char buf[4097];
	size_t n;
	FILE *f;

	*out = NULL;
	if (http_token_file == NULL) {
		if (env != NULL && *env != '\0')
			*out = xstrdup(env);
		return 0;
	}
	if ((f = fopen(http_token_file, "r")) == NULL) {
		*cause = xasprintf("%s: %s", http_token_file, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		n--;
	buf[n] = '\0';
	if (n == 0 || strcspn(buf, " \t\r\n") != n) {
		*cause = xasprintf("%s: no token (one line, no spaces)",
		    http_token_file);
		return -1;
	}
	*out = xstrdup(buf);
	return 0;
}

/* "http://host[:port][/prefix]"; host may be "[v6]". */
static int
http_parse_url(const char *url, char **host, char **port, char **prefix,
    char **cause)
{
	const char *h, *end, *p;

	if (strncmp(url, "http://", 7) != 0) {
		*cause = xasprintf("%s: not an http:// URL", url);
		return -1;
	}
	h = url + 7;
	p = h + strcspn(h, "/");
	if (*h == '[') {
		if ((end = memchr(h, ']', (size_t)(p - h))) == NULL)
			goto bad;
		*host = xstrndup(h + 1, (size_t)(end - h - 1));
		end++;
	} else {
		end = h + strcspn(h, ":/");
		*host = xstrndup(h, (size_t)(end - h));
	}
	if (**host == '\0') {
		free(*host);
		goto bad;
	}
	if (*end == ':' && end + 1 < p &&
	    strspn(end + 1, "0123456789") == (size_t)(p - end - 1))
		*port = xstrndup(end + 1, (size_t)(p - end - 1));
	else if (end == p)
		*port = xstrdup("80");
	else {
		free(*host);
		goto bad;
	}
	/* Without the trailing slash: the request path brings its own. */
	end = p + strlen(p);
	while (end > p && end[-1] == '/')
		end--;
	*prefix = xstrndup(p, (size_t)(end - p));
	return 0;
bad:
	*cause = xasprintf("%s: bad URL (want http://host:port)", url);
	return -1;
}

static int
http_wait(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int r;

	for (;;) {
		left = deadline - ctl_now_ms();
		if (left <= 0)
			return 0;
		r = poll(&pfd, 1, (int)left);
		if (r >= 0 || errno != EINTR)
			return r;
	}
}

static int
http_connect(const char *host, const char *port, int64_t deadline,
    char **cause)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1, r, err = 0;
	socklen_t elen = sizeof err;

	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		*cause = xasprintf("%s: %s", host, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		if (err == EINPROGRESS) {
			r = http_wait(fd, POLLOUT, deadline);
			err = r == 0 ? ETIMEDOUT : r < 0 ? errno : 0;
			if (r > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
			    &elen) != 0)
				err = errno;
			if (err == 0)
				break;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		*cause = xasprintf("connect to %s port %s: %s", host, port,
		    strerror(err));
	return fd;
}

static int
http_send(int fd, const char *buf, size_t len, int64_t deadline,
    char **cause)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN || http_wait(fd, POLLOUT, deadline) <= 0) {
			*cause = xasprintf("send: %s", errno == EAGAIN ?
			    "timed out" : strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Case-insensitive header lookup in the header block [h, end). */
static const char *
http_header(const char *h, const char *end, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	const char *eol, *v;

	for (; h < end; h = eol + 2) {
		if ((eol = strstr(h, "\r\n")) == NULL || eol > end)
			return NULL;
		if ((size_t)(eol - h) > nl && h[nl] == ':' &&
		    strncasecmp(h, name, nl) == 0) {
			for (v = h + nl + 1; v < eol && (*v == ' ' ||
			    *v == '\t'); v++)
				;
			*vlen = (size_t)(eol - v);
			while (*vlen > 0 && (v[*vlen - 1] == ' ' ||
			    v[*vlen - 1] == '\t'))
				(*vlen)--;
			return v;
		}
	}
	return NULL;
}

/*
 * A chunked body: 1 complete, 0 needs more bytes, -1 malformed. With copy,
 * the data is moved to the start of out->body (only once it is complete:
 * the move overwrites the headers).
 */
static int
http_dechunk(const char *p, const char *end, bool copy,
    struct ctl_http_reply *out)
{
	const char *eol;
	char *num_end;
	unsigned long long sz;

	out->len = 0;
	for (;;) {
		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (eol == NULL)
			return 0;
		if (!isxdigit((unsigned char)*p))
			return -1;
		errno = 0;
		sz = strtoull(p, &num_end, 16);
		if (errno != 0 || sz > CTL_HTTP_MAX ||
		    (num_end != eol && *num_end != ';'))
			return -1;
		p = eol + 2;
		if (sz == 0)
			break;
		if ((size_t)(end - p) < sz + 2)
			return 0;
		if (p[sz] != '\r' || p[sz + 1] != '\n')
			return -1;
		if (copy)
			memmove(out->body + out->len, p, sz);
		out->len += sz;
		p += sz + 2;
	}
	/* Trailer fields, then the empty line. */
	for (;;) {
		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (eol == NULL)
			return 0;
		if (eol == p)
			return 1;
		p = eol + 2;
	}
}

/*
 * Whether buf[0..len) holds a complete answer; fills reply when it does.
 * 1 complete, 0 more needed, -1 malformed (with *cause). At eof, a body
 * without length ends there.
 */
static int
http_parse(char *buf, size_t len, bool eof, struct ctl_http_reply *reply,
    char **cause)
{
	const char *hend, *v, *body;
	char num[24];
	size_t vl, clen;
	int r;

	buf[len] = '\0';
	hend = strstr(buf, "\r\n\r\n");
	if (hend == NULL) {
		if (eof)
			goto bad;
		return 0;
	}
	if (strncmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ' ||
	    !isdigit((unsigned char)buf[9]) ||
	    !isdigit((unsigned char)buf[10]) ||
	    !isdigit((unsigned char)buf[11]))
		goto bad;
	reply->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 +
	    (buf[11] - '0');
	body = hend + 4;
	v = http_header(strstr(buf, "\r\n") + 2, hend + 2,
	    "Transfer-Encoding", &vl);
	if (v != NULL && vl == 7 && strncasecmp(v, "chunked", 7) == 0) {
		reply->body = buf;
		r = http_dechunk(body, buf + len, false, reply);
		if (r < 0 || (r == 0 && eof))
			goto bad;
		if (r > 0)
			http_dechunk(body, buf + len, true, reply);
		return r;
	}
	v = http_header(strstr(buf, "\r\n") + 2, hend + 2, "Content-Length",
	    &vl);
	if (v != NULL) {
		if (vl == 0 || vl >= sizeof num || strspn(v, "0123456789") < vl)
			goto bad;
		memcpy(num, v, vl);
		num[vl] = '\0';
		clen = strtoull(num, NULL, 10);
		if (clen > CTL_HTTP_MAX) {
			*cause = xasprintf("answer of %zu bytes is over the "
			    "limit of %zu", clen, CTL_HTTP_MAX);
			return -1;
		}
		if ((size_t)(buf + len - body) < clen) {
			if (eof)
				goto bad;
			return 0;
		}
	} else if (!eof)
		return 0;
	else
		clen = (size_t)(buf + len - body);
	reply->body = buf;
	memmove(buf, body, clen);
	reply->len = clen;
	return 1;
bad:
	*cause = xstrdup(eof ? "truncated or malformed HTTP answer" :
	    "malformed HTTP answer");
	return -1;
}

static int
http_receive(int fd, int64_t deadline, struct ctl_http_reply *reply,
    char **cause)
{
	/* The body's limit plus room for the status line and headers. */
	const size_t max = CTL_HTTP_MAX + 65536;
	size_t len = 0, cap = 0;
	char *buf = NULL;
	ssize_t n;
	int r;

	for (;;) {
		buf = xgrow(buf, &cap, len + 65536 + 1, 1);
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if ((r = http_wait(fd, POLLIN, deadline)) > 0)
				continue;
			*cause = xasprintf("no answer within %d s",
			    CTL_HTTP_TIMEOUT_MS / 1000);
			break;
		}
		if (n < 0) {
			*cause = xasprintf("recv: %s", strerror(errno));
			break;
		}
		len += (size_t)n;
		if (len > max) {
			*cause = xasprintf("answer over the limit of %zu bytes",
			    CTL_HTTP_MAX);
			break;
		}
		r = http_parse(buf, len, n == 0, reply, cause);
		if (r > 0) {
			reply->body[reply->len] = '\0';
			return 0;
		}
		if (r < 0)
			break;
	}
	free(buf);
	return -1;
}

int
ctl_http_request(const char *method, const char *url, const char *path,
    const char *body, struct ctl_http_reply *reply, char **cause)
{
	int64_t deadline = ctl_now_ms() + CTL_HTTP_TIMEOUT_MS;
	char *host = NULL, *port = NULL, *prefix = NULL, *token = NULL;
	char *req = NULL, *auth = NULL, *ctype = NULL;
	int fd = -1, rc = -1;

	memset(reply, 0, sizeof *reply);
	if (http_parse_url(url, &host, &port, &prefix, cause) != 0)
		return -1;
	if (http_token(&token, cause) != 0)
		goto out;
	auth = token ? xasprintf("Authorization: Bearer %s\r\n", token) :
	    xstrdup("");
	ctype = body ? xasprintf("Content-Type: application/json\r\n"
	    "Content-Length: %zu\r\n", strlen(body)) : xstrdup("");
	/* A v6 literal keeps its brackets in Host. */
	req = xasprintf("%s %s%s HTTP/1.1\r\nHost: %s%s%s:%s\r\n"
	    "User-Agent: activityctl/%s\r\nAccept: application/json\r\n"
	    "Connection: close\r\n%s%s\r\n%s", method, prefix, path,
	    strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
	    port, ACTIVITYD_VERSION, auth, ctype, body ? body : "");
	if ((fd = http_connect(host, port, deadline, cause)) < 0)
		goto out;
	if (http_send(fd, req, strlen(req), deadline, cause) != 0)
		goto out;
	rc = http_receive(fd, deadline, reply, cause);
out:
	if (fd >= 0)
		close(fd);
	free(req);
	free(ctype);
	free(auth);
	free(token);
	free(host);
	free(port);
	free(prefix);
	return rc;
}

int
ctl_admin_call(const char *url, const char *path, const char *body,
    json_t **out, char **cause)
{
	struct ctl_http_reply r;
	json_error_t jerr;
	json_t *j, *e;

	*out = NULL;
	if (ctl_http_request(body ? "POST" : "GET", url, path, body, &r,
	    cause) != 0)
		return -1;
	j = json_loadb(r.body, r.len, 0, &jerr);
	if (r.status < 200 || r.status > 299) {
		e = json_is_object(j) ? json_object_get(j, "error") : NULL;
		*cause = xasprintf("%s%s: HTTP %d: %s", url, path, r.status,
		    json_is_string(e) ? json_string_value(e) :
		    "no JSON error in the answer");
		json_decref(j);
		free(r.body);
		return -1;
	}
	free(r.body);
	if (!json_is_object(j)) {
		*cause = xasprintf("%s%s: answer is not a JSON object%s%s",
		    url, path, j ? "" : ": ", j ? "" : jerr.text);
		json_decref(j);
		return -1;
	}
	*out = j;
	return 0;
}

int
ctl_admin_query(const char *url, const char *path_and_query, json_t **out,
    char **cause)
{
	return ctl_admin_call(url, path_and_query, NULL, out, cause);
}

char *
ctl_http_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = xmalloc(strlen(s) * 3 + 1), *o = out;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || strchr("-._~", c) != NULL)
			*o++ = (char)c;
		else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}
