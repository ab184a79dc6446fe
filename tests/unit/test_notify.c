/*
 * Unit tests for connectors/notify against a real NOTIFY_SOCKET: the test
 * binds an AF_UNIX datagram socket (a file, or an abstract "@name"), points
 * NOTIFY_SOCKET at it and receives what libsystemd sends, asserting each
 * datagram's exact bytes and that nothing else arrived. Also: without
 * NOTIFY_SOCKET every call is a no-op returning 0; WATCHDOG_USEC and
 * WATCHDOG_PID parsing (another pid's watchdog, malformed values, zero);
 * a missing socket fails with ENOENT and recovers once the socket exists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"
#include "xmalloc.h"

struct sock {
	int	 fd;
	char	 dir[64];	/* temp dir of a path socket, else "" */
	char	 name[108];	/* the NOTIFY_SOCKET value */
};

/* Binds a datagram socket; abstract ("@...") when abstract is set. */
static void
sock_open(struct sock *s, bool abstract)
{
	struct sockaddr_un sa;
	struct timeval tv = { .tv_sec = 5 };
	socklen_t len;

	memset(s, 0, sizeof *s);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (abstract) {
		snprintf(s->name, sizeof s->name, "@activityd-test-notify-%ld-%ld",
		    (long)getpid(), (long)time(NULL));
		/* Abstract names are length-delimited, no NUL: as libsystemd. */
		memcpy(sa.sun_path + 1, s->name + 1, strlen(s->name) - 1);
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    strlen(s->name));
	} else {
		strcpy(s->dir, "/tmp/activityd-notify-XXXXXX");
		assert_non_null(mkdtemp(s->dir));
		snprintf(s->name, sizeof s->name, "%s/notify", s->dir);
		strcpy(sa.sun_path, s->name);
		len = sizeof sa;
	}
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, len), 0);
	/* A missing datagram fails the test instead of hanging it. */
	assert_int_equal(setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof tv), 0);
}

static void
sock_close(struct sock *s)
{
	assert_int_equal(close(s->fd), 0);
	if (s->dir[0] != '\0') {
		assert_int_equal(unlink(s->name), 0);
		assert_int_equal(rmdir(s->dir), 0);
	}
}

/* The next datagram, NUL-terminated, in a static buffer. */
static const char *
sock_recv(struct sock *s)
{
	static char buf[8192];
	ssize_t n = recv(s->fd, buf, sizeof buf - 1, 0);

	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

static void
sock_expect(struct sock *s, const char *want)
{
	assert_string_equal(sock_recv(s), want);
}

static void
sock_expect_none(struct sock *s)
{
	char c;

	assert_int_equal(recv(s->fd, &c, 1, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
}

/* Sets or unsets (NULL) the three variables. */
static void
env(const char *sock, const char *usec, const char *pid)
{
	const char *names[] = { "NOTIFY_SOCKET", "WATCHDOG_USEC",
		"WATCHDOG_PID" };
	const char *vals[] = { sock, usec, pid };
	size_t i;

	for (i = 0; i < 3; i++) {
		if (vals[i] != NULL)
			assert_int_equal(setenv(names[i], vals[i], 1), 0);
		else
			assert_int_equal(unsetenv(names[i]), 0);
	}
}

static char *
mypid(void)
{
	return xasprintf("%ld", (long)getpid());
}

static uint64_t
monotonic_usec(void)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Every message of the protocol, exactly, to the given kind of socket. */
static void
payloads(bool abstract)
{
	struct sock s;
	char *pid = mypid(), *p;
	struct notify *n;
	uint64_t before, after, got;
	const char *m;

	sock_open(&s, abstract);
	env(s.name, "30000000", pid);
	n = notify_new();
	assert_true(notify_enabled(n));
	assert_int_equal(notify_watchdog_usec(n), 30000000);
	assert_int_equal(notify_watchdog_interval_usec(n), 15000000);

	assert_int_equal(notify_ready(n), 0);
	sock_expect(&s, "READY=1");
	assert_int_equal(notify_status(n, "consuming: %d events/s, lag %s",
	    1250, "3s"), 0);
	sock_expect(&s, "STATUS=consuming: 1250 events/s, lag 3s");
	assert_int_equal(notify_watchdog(n), 0);
	sock_expect(&s, "WATCHDOG=1");
	assert_int_equal(notify_extend_timeout(n, 90000000), 0);
	sock_expect(&s, "EXTEND_TIMEOUT_USEC=90000000");

	before = monotonic_usec();
	assert_int_equal(notify_reloading(n), 0);
	after = monotonic_usec();
	m = sock_recv(&s);
	assert_int_equal(strncmp(m, "RELOADING=1\nMONOTONIC_USEC=", 27), 0);
	errno = 0;
	got = strtoull(m + 27, &p, 10);
	assert_int_equal(errno, 0);
	assert_int_equal(*p, '\0');
	assert_true(got >= before && got <= after);
	assert_int_equal(notify_ready(n), 0);
	sock_expect(&s, "READY=1");

	assert_int_equal(notify_stopping(n), 0);
	sock_expect(&s, "STOPPING=1");
	sock_expect_none(&s);
	notify_free(n);
	sock_close(&s);
	free(pid);
}

static void
payloads_path(void **state)
{
	(void)state;
	payloads(false);
}

static void
payloads_abstract(void **state)
{
	(void)state;
	payloads(true);
}

/* STATUS stays one assignment whatever the text holds. */
static void
status_text(void **state)
{
	struct sock s;
	struct notify *n;
	char big[3001], *want;

	(void)state;
	sock_open(&s, false);
	env(s.name, NULL, NULL);
	n = notify_new();
	assert_int_equal(notify_status(n, "%s", ""), 0);
	sock_expect(&s, "STATUS=");
	assert_int_equal(notify_status(n, "a\nREADY=1\nb\n"), 0);
	sock_expect(&s, "STATUS=a READY=1 b ");
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(notify_status(n, "%s!", big), 0);
	want = xasprintf("STATUS=%s!", big);
	sock_expect(&s, want);
	free(want);
	/* No watchdog configured: no ping is sent. */
	assert_int_equal(notify_watchdog_usec(n), 0);
	assert_int_equal(notify_watchdog(n), 0);
	sock_expect_none(&s);
	notify_free(n);
	sock_close(&s);
}

/* Outside systemd nothing is sent and nothing fails. */
static void
no_socket_noop(void **state)
{
	struct notify *n;
	char *pid = mypid();

	(void)state;
	env(NULL, "30000000", pid);	/* a watchdog alone means nothing */
	n = notify_new();
	assert_false(notify_enabled(n));
	assert_int_equal(notify_watchdog_usec(n), 0);
	assert_int_equal(notify_watchdog_interval_usec(n), 0);
	assert_int_equal(notify_ready(n), 0);
	assert_int_equal(notify_status(n, "rate %d", 1), 0);
	assert_int_equal(notify_watchdog(n), 0);
	assert_int_equal(notify_reloading(n), 0);
	assert_int_equal(notify_stopping(n), 0);
	assert_int_equal(notify_extend_timeout(n, 1), 0);
	notify_free(n);

	env("", NULL, NULL);		/* set but empty: the same */
	n = notify_new();
	assert_false(notify_enabled(n));
	assert_int_equal(notify_ready(n), 0);
	notify_free(n);
	notify_free(NULL);
	free(pid);
}

/* WATCHDOG_USEC counts only for the pid in WATCHDOG_PID, if one is set. */
static void
watchdog_env(void **state)
{
	static const struct {
		const char	*usec;
		const char	*pid;	/* "self" = getpid() */
		uint64_t	 want;
	} cases[] = {
		{ "30000000", "self", 30000000 },
		{ "30000000", NULL, 30000000 },		/* no pid: ours */
		{ "1", "self", 1 },
		{ "18446744073709551614", "self", 18446744073709551614ULL },
		{ "30000000", "1", 0 },			/* pid 1's watchdog */
		{ NULL, "self", 0 },
		{ "", "self", 0 },
		{ "0", "self", 0 },			/* not a timeout */
		{ "30s", "self", 0 },
		{ "-5", "self", 0 },
		{ "18446744073709551616", "self", 0 },	/* overflows */
		{ "30000000", "abc", 0 },
	};
	struct sock s;
	char *pid = mypid();
	size_t i;

	(void)state;
	sock_open(&s, false);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct notify *n;

		env(s.name, cases[i].usec, cases[i].pid != NULL &&
		    strcmp(cases[i].pid, "self") == 0 ? pid : cases[i].pid);
		n = notify_new();
		assert_true(notify_enabled(n));
		if (notify_watchdog_usec(n) != cases[i].want)
			fail_msg("case %zu (WATCHDOG_USEC=%s WATCHDOG_PID=%s): "
			    "%" PRIu64 ", want %" PRIu64, i,
			    cases[i].usec ? cases[i].usec : "(unset)",
			    cases[i].pid ? cases[i].pid : "(unset)",
			    notify_watchdog_usec(n), cases[i].want);
		assert_int_equal(notify_watchdog(n), 0);
		if (cases[i].want != 0)
			sock_expect(&s, "WATCHDOG=1");
		sock_expect_none(&s);
		notify_free(n);
	}
	sock_close(&s);
	free(pid);
}

/* A socket that is not there: -1 with ENOENT, then fine once it is. */
static void
missing_socket(void **state)
{
	struct sock s;
	struct notify *n;

	(void)state;
	sock_open(&s, false);
	env(s.name, NULL, NULL);
	n = notify_new();
	assert_int_equal(unlink(s.name), 0);
	assert_int_equal(close(s.fd), 0);

	errno = 0;
	assert_int_equal(notify_ready(n), -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(notify_status(n, "x"), -1);
	assert_int_equal(errno, ENOENT);

	sock_open(&s, false);	/* a new temp dir: point there */
	env(s.name, NULL, NULL);
	assert_int_equal(notify_ready(n), 0);
	sock_expect(&s, "READY=1");
	notify_free(n);
	sock_close(&s);

	/* The peer is a stream socket: the datagram is refused. */
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		char dir[] = "/tmp/activityd-notify-XXXXXX", *path;
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		assert_true(fd >= 0);
		assert_non_null(mkdtemp(dir));
		path = xasprintf("%s/stream", dir);
		strcpy(sa.sun_path, path);
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
		env(path, NULL, NULL);
		n = notify_new();
		errno = 0;
		assert_int_equal(notify_stopping(n), -1);
		assert_true(errno != 0);
		notify_free(n);
		assert_int_equal(close(fd), 0);
		assert_int_equal(unlink(path), 0);
		assert_int_equal(rmdir(dir), 0);
		free(path);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(payloads_path),
		cmocka_unit_test(payloads_abstract),
		cmocka_unit_test(status_text),
		cmocka_unit_test(no_socket_noop),
		cmocka_unit_test(watchdog_env),
		cmocka_unit_test(missing_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
