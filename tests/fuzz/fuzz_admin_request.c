/*
 * fuzz_admin_request: the admin HTTP server (libevent's request parser,
 * then the server's routing, token check, parameter and body parsing) on
 * hostile bytes from a client. The server runs once, on 127.0.0.1 with a
 * bearer token and fake ops, on a private event base; each input is
 * written to a fresh loopback connection whose write side is then shut, and
 * the loop runs until the server closes the connection or 50 ms pass. The
 * rate limit is too high to be reached, so runs do not depend on time.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <netinet/in.h>
#include <unistd.h>

#include <event2/event.h>

#include "admin.h"
#include "enc.h"
#include "fuzz.h"

#define FUZZ_TOKEN	"fuzz-Token.7"

struct fuzz_conn {
	struct event_base	*base;
	struct event		*rev, *wev, *timer;
	const uint8_t		*data;
	size_t			 left;
	size_t			 got;
	bool			 echo;		/* FUZZ_ECHO set: answers to stderr */
};

static bool
fuzz_ready(void *arg, const char **why)
{
	*why = "not yet";
	return false;
}

static void
fuzz_metrics(void *arg, struct enc *out)
{
	static const char text[] = "# TYPE activityd_up gauge\nactivityd_up 1\n";

	enc_raw(out, text, sizeof text - 1);
}

static json_t *
fuzz_active(void *arg, bool monthly, const char *from, const char *to,
    const char *tz, const char *dimension, int *status, const char **err)
{
	if (from != NULL && strcmp(from, "bad") == 0) {
		*status = 400;
		*err = "from: not a date";
		return NULL;
	}
	return json_pack("{s:b,s:s?,s:s?,s:s?,s:s?}", "monthly", monthly,
	    "from", from, "to", to, "tz", tz, "dimension", dimension);
}

static json_t *
fuzz_user(void *arg, const char *id, int *status, const char **err)
{
	if (strcmp(id, "ghost") == 0) {
		*status = 404;
		*err = "unknown user";
		return NULL;
	}
	return json_pack("{s:s}", "user_id", id);
}

static json_t *
fuzz_top(void *arg, size_t n, int *status, const char **err)
{
	FUZZ_CHECK(n >= 1 && n <= ADMIN_TOP_MAX);
	return json_pack("{s:I}", "n", (json_int_t)n);
}

static json_t *
fuzz_snapshot(void *arg, const char *name, int *status, const char **err)
{
	return json_pack("{s:s?}", "name", name);
}

/* The server, started at the first input and kept for the run. */
static struct fuzz_server {
	struct event_base	*base;
	struct admin		*admin;
	uint16_t		 port;
} *fuzz_server;

static struct fuzz_server *
fuzz_server_get(void)
{
	static const struct admin_ops	 ops = {
		fuzz_ready, fuzz_metrics, fuzz_active, fuzz_user, fuzz_top,
		fuzz_snapshot, NULL
	};
	static struct fuzz_server	 s;
	char				 dir[] = "/tmp/fuzz_admin.XXXXXX";
	char				 path[64], *cause = NULL;
	int				 fd;

	if (fuzz_server != NULL)
		return fuzz_server;
	/* As in the daemon: a client gone mid-answer is an EPIPE, not a
	 * signal. */
	FUZZ_CHECK(signal(SIGPIPE, SIG_IGN) != SIG_ERR);
	/* The token file must be private to its owner. */
	FUZZ_CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/token", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	FUZZ_CHECK(fd != -1);
	FUZZ_CHECK(write(fd, FUZZ_TOKEN "\n", sizeof FUZZ_TOKEN) ==
	    (ssize_t)sizeof FUZZ_TOKEN);
	close(fd);
	FUZZ_CHECK((s.base = event_base_new()) != NULL);
	s.admin = admin_new(s.base, "127.0.0.1", 0, path, 65536, 1000000000u,
	    &ops, &cause);
	if (s.admin == NULL) {
		fprintf(stderr, "admin_new: %s\n", cause);
		abort();
	}
	unlink(path);
	rmdir(dir);
	s.port = admin_port(s.admin);
	fuzz_server = &s;
	return fuzz_server;
}

static void
fuzz_conn_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct fuzz_conn	*c = arg;

	event_base_loopbreak(c->base);
}

static void
fuzz_conn_write(evutil_socket_t fd, short what, void *arg)
{
	struct fuzz_conn	*c = arg;
	ssize_t			 n;

	/* A server that answered and closed must not kill the run. */
	n = c->left ? send(fd, c->data, c->left, MSG_NOSIGNAL) : 0;
	if (n > 0) {
		c->data += n;
		c->left -= (size_t)n;
	}
	/* The server may answer and close before reading it all. */
	if (c->left == 0 || (n == -1 && errno != EAGAIN)) {
		shutdown(fd, SHUT_WR);
		event_del(c->wev);
	}
}

static void
fuzz_conn_read(evutil_socket_t fd, short what, void *arg)
{
	struct fuzz_conn	*c = arg;
	char			 buf[4096];
	ssize_t			 n;

	while ((n = read(fd, buf, sizeof buf)) > 0) {
		c->got += (size_t)n;
		if (c->echo)
			fwrite(buf, 1, (size_t)n, stderr);
	}
	if (n == 0 || (n == -1 && errno != EAGAIN))
		event_base_loopbreak(c->base);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_server	*s = fuzz_server_get();
	static unsigned		 nconn;
	struct sockaddr_in	 sin, src;
	struct timeval		 tv = { 0, 50000 };
	struct linger		 lg = { 1, 0 };
	struct fuzz_conn	 c = { s->base, NULL, NULL, NULL, data, size, 0,
		getenv("FUZZ_ECHO") != NULL };
	int			 fd;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(s->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	FUZZ_CHECK(fd != -1);
	/* The server closes first, so each connection leaves a TIME_WAIT
	 * behind for a minute: rotating the source over 62500 loopback
	 * addresses keeps a long run from using up the ephemeral ports. */
	memset(&src, 0, sizeof src);
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(0x7f010000u | (nconn / 250 % 250) << 8 |
	    (1 + nconn % 250));
	nconn++;
	FUZZ_CHECK(bind(fd, (struct sockaddr *)&src, sizeof src) == 0);
	/* Non-blocking, so that libFuzzer's timer signal cannot interrupt
	 * it; the write event waits for the connection. */
	FUZZ_CHECK(evutil_make_socket_nonblocking(fd) == 0);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0 &&
	    errno != EINPROGRESS) {
		fprintf(stderr, "connect: %s\n", strerror(errno));
		abort();
	}
	/* Closed with a reset when the 50 ms pass first: the server drops
	 * the connection at once instead of waiting on it. */
	FUZZ_CHECK(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
	c.rev = event_new(s->base, fd, EV_READ | EV_PERSIST, fuzz_conn_read,
	    &c);
	c.wev = event_new(s->base, fd, EV_WRITE | EV_PERSIST, fuzz_conn_write,
	    &c);
	c.timer = evtimer_new(s->base, fuzz_conn_timeout, &c);
	FUZZ_CHECK(c.rev != NULL && c.wev != NULL && c.timer != NULL);
	FUZZ_CHECK(event_add(c.rev, NULL) == 0 && event_add(c.wev, NULL) == 0 &&
	    evtimer_add(c.timer, &tv) == 0);
	FUZZ_CHECK(event_base_dispatch(s->base) != -1);
	event_free(c.timer);
	event_free(c.wev);
	event_free(c.rev);
	close(fd);
	/* Let the server see the close and free the connection. */
	FUZZ_CHECK(event_base_loop(s->base, EVLOOP_NONBLOCK) != -1);
	return 0;
}
