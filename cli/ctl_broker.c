/*
 * activityctl broker: librdkafka's mock cluster as a local broker.
 *
 * The mock cluster is a real Kafka-protocol server on loopback that lives
 * inside a librdkafka client handle (a producer here, never used to
 * produce). It is memory-only and keeps about the last 5 MB of each
 * partition, so topics get enough partitions by default for a million
 * events (SPEC section 8).
 *
 * Signals are blocked before librdkafka starts its threads and read from
 * a signalfd in the serve loop, so no handler runs inside the library:
 *   SIGTERM, SIGINT  stop and exit 0
 *   SIGUSR1          mark every broker down (connections refused/closed)
 *   SIGUSR2          bring them back up
 * Tests use SIGUSR1/SIGUSR2 to simulate a lost broker.
 *
 * --control FIFO: finer faults while clients run. The loop polls the named
 * pipe together with the signalfd and runs one command per line (see
 * brk_cmds below): request errors pushed on the cluster's or a broker's
 * error stack, the count still pending on a broker's stack (so that a test
 * can tell that its fault was met), a moved coordinator or partition
 * leader, one broker down or up, a broker's round-trip time. Every line is
 * answered on stderr by "control: ok: LINE[: RESULT]" or
 * "control: error: LINE: REASON", in order.
 *
 * stdout carries exactly one line, "bootstrap=HOST:PORT", flushed at once
 * so a script can read it; everything else goes to stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "ctl.h"
#include "xmalloc.h"

#define BRK_CMD			"broker"
#define BRK_PARTITIONS		16
#define BRK_TOPICS \
	"interactions,user-metadata,activity.sessions,activity.metrics," \
	"activity.dlq"
#define BRK_TOPIC_MAX		249	/* Kafka's limit on a topic name */
#define BRK_MAX_BROKERS		16
#define BRK_MAX_PARTITIONS	10000
#define BRK_LINE_MAX		4096	/* one control command */
#define BRK_MAX_ARGS		64
#define BRK_MAX_ERRORS		1000	/* requests failed by one command */
#define BRK_MAX_RTT_MS		600000

struct brk {
	rd_kafka_mock_cluster_t	*mc;
	int			 nbrokers;
	int			 sfd;		/* signalfd */
	int			 cfd;		/* control FIFO, or -1 */
	char			 line[BRK_LINE_MAX];
	size_t			 len;
	bool			 overlong;	/* skipping to the next newline */
};

static void
brk_usage(FILE *out)
{
	fprintf(out,
	    "usage: activityctl broker [--partitions N] [--topics a,b,...]"
	    " [--brokers N]\n"
	    "                          [--control FIFO]\n"
	    "\n"
	    "Runs an in-memory Kafka-protocol broker on loopback until SIGTERM"
	    " or SIGINT.\n"
	    "The first stdout line is 'bootstrap=HOST:PORT'. SIGUSR1 takes the"
	    " brokers\n"
	    "down, SIGUSR2 brings them back. Each partition keeps only about"
	    " the last 5 MB.\n"
	    "\n"
	    "  --partitions N  partitions per topic (default %d)\n"
	    "  --topics LIST   topics to create, comma-separated (default\n"
	    "                  " BRK_TOPICS ");\n"
	    "                  others are created on first use\n"
	    "  --brokers N     brokers in the cluster (default 1)\n"
	    "  --control FIFO  read fault commands from this named pipe"
	    " (created if\n"
	    "                  missing), one per line; each is answered on"
	    " stderr by\n"
	    "                  'control: ok: ...' or 'control: error: ...':\n"
	    "\n"
	    "  errors API COUNT ERR...           the next COUNT API requests to"
	    " any broker\n"
	    "                                    fail with ERR... (in turn,"
	    " repeated)\n"
	    "  broker-errors ID API COUNT ERR... the same on broker ID only\n"
	    "  pending ID API                    errors left on broker ID's"
	    " stack\n"
	    "  clear API                         drop the cluster's pending API"
	    " errors\n"
	    "  coordinator group|transaction KEY ID   move a coordinator\n"
	    "  leader TOPIC PARTITION ID|none    move a partition's leader\n"
	    "  down ID|all, up ID|all            take brokers down, bring them"
	    " back\n"
	    "  rtt ID MS                         delay broker ID's responses\n"
	    "\n"
	    "API is a Kafka request name (Produce, Fetch, OffsetCommit,"
	    " JoinGroup, ...),\n"
	    "ERR an error name as librdkafka spells it (NOT_COORDINATOR,"
	    " _TRANSPORT, ...).\n",
	    BRK_PARTITIONS);
}

/*
 * The handle that hosts the cluster has no bootstrap.servers of its own,
 * which librdkafka warns about once: noise here, so that line is dropped.
 */
static void
brk_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	if (strcmp(fac, "CONFWARN") == 0 &&
	    strstr(buf, "bootstrap.servers") != NULL)
		return;
	fprintf(stderr, "%%%d|%s|%s| %s\n", level, fac, rd_kafka_name(rk),
	    buf);
}

/* Kafka's legal topic names: [A-Za-z0-9._-]{1,249}. */
static int
brk_topic_ok(const char *t)
{
	size_t n = strspn(t, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");

	return n > 0 && t[n] == '\0' && n <= BRK_TOPIC_MAX &&
	    strcmp(t, ".") != 0 && strcmp(t, "..") != 0;
}

/* Marks every broker up or down; returns the number that failed. */
static int
brk_set_all(rd_kafka_mock_cluster_t *mc, int nbrokers, int up)
{
	rd_kafka_resp_err_t	err;
	int			id, failed = 0;

	for (id = 1; id <= nbrokers; id++) {
		err = up ? rd_kafka_mock_broker_set_up(mc, id) :
		    rd_kafka_mock_broker_set_down(mc, id);
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			ctl_warn(BRK_CMD, "broker %d: set %s: %s", id,
			    up ? "up" : "down", rd_kafka_err2str(err));
			failed++;
		}
	}
	return failed;
}

/* Creates the topics of a comma-separated list; -1 on the first failure. */
static int
brk_create_topics(rd_kafka_mock_cluster_t *mc, const char *list,
    int partitions)
{
	rd_kafka_resp_err_t	 err;
	char			*copy = xstrdup(list), *t, *save = NULL;
	int			 rc = 0;

	for (t = strtok_r(copy, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		err = rd_kafka_mock_topic_create(mc, t, partitions, 1);
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			ctl_warn(BRK_CMD, "create topic %s: %s", t,
			    rd_kafka_err2str(err));
			rc = -1;
			break;
		}
	}
	free(copy);
	return rc;
}

/* Checks a topic list before anything starts; -1 with a usage message. */
static int
brk_check_topics(const char *list)
{
	char	*copy = xstrdup(list), *t, *save = NULL;
	int	 rc = 0;

	/* Empty items (",," or a trailing comma) are mistakes, not skips. */
	if (list[0] == ',' || strstr(list, ",,") != NULL ||
	    list[strlen(list) - 1] == ',')
		rc = ctl_usage_error(BRK_CMD, "empty topic name in --topics");
	for (t = strtok_r(copy, ",", &save); rc == 0 && t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		if (!brk_topic_ok(t))
			rc = ctl_usage_error(BRK_CMD, "bad topic name: %s", t);
	}
	free(copy);
	return rc == 0 ? 0 : -1;
}

/* ---- control channel ---- */

/*
 * Kafka's request types by name (the protocol's ApiKey numbers); only
 * those a client of this project can send or the mock can answer.
 */
static const struct {
	const char	*name;
	int16_t		 key;
} brk_apis[] = {
	{ "Produce", 0 },		{ "Fetch", 1 },
	{ "ListOffsets", 2 },		{ "Metadata", 3 },
	{ "OffsetCommit", 8 },		{ "OffsetFetch", 9 },
	{ "FindCoordinator", 10 },	{ "JoinGroup", 11 },
	{ "Heartbeat", 12 },		{ "LeaveGroup", 13 },
	{ "SyncGroup", 14 },		{ "DescribeGroups", 15 },
	{ "ListGroups", 16 },		{ "ApiVersion", 18 },
	{ "CreateTopics", 19 },		{ "DeleteTopics", 20 },
	{ "DeleteRecords", 21 },	{ "InitProducerId", 22 },
	{ "OffsetForLeaderEpoch", 23 },	{ "AddPartitionsToTxn", 24 },
	{ "AddOffsetsToTxn", 25 },	{ "EndTxn", 26 },
	{ "TxnOffsetCommit", 28 },
};

static int
brk_api(const char *name, int16_t *key, const char **reason)
{
	size_t i;

	for (i = 0; i < sizeof brk_apis / sizeof brk_apis[0]; i++) {
		if (strcasecmp(name, brk_apis[i].name) == 0) {
			*key = brk_apis[i].key;
			return 0;
		}
	}
	*reason = "unknown request type";
	return -1;
}

/* An error code by librdkafka's name for it, over the whole code range. */
static int
brk_err(const char *name, rd_kafka_resp_err_t *err, const char **reason)
{
	const struct rd_kafka_err_desc	*d;
	size_t				 n, i;

	rd_kafka_get_err_descs(&d, &n);
	for (i = 0; i < n; i++) {
		if (d[i].name != NULL && strcasecmp(name, d[i].name) == 0) {
			*err = d[i].code;
			return 0;
		}
	}
	*reason = "unknown error name";
	return -1;
}

static int
brk_id(const struct brk *b, const char *s, int32_t *id, const char **reason)
{
	uint64_t v;

	if (ctl_parse_u64(s, 1, (uint64_t)b->nbrokers, &v) != 0) {
		*reason = "no such broker";
		return -1;
	}
	*id = (int32_t)v;
	return 0;
}

/* "errors API COUNT ERR..." and "broker-errors ID API COUNT ERR...". */
static int
brk_push_errors(struct brk *b, int32_t id, char **av, int ac,
    const char **reason)
{
	rd_kafka_resp_err_t	*errs, e;
	uint64_t		 cnt, i;
	int16_t			 key;
	int			 nerr = ac - 2, j;

	if (ac < 3) {
		*reason = "usage: [broker-]errors [ID] API COUNT ERR...";
		return -1;
	}
	if (brk_api(av[0], &key, reason) != 0)
		return -1;
	if (ctl_parse_u64(av[1], 1, BRK_MAX_ERRORS, &cnt) != 0) {
		*reason = "COUNT must be 1 to 1000";
		return -1;
	}
	if ((uint64_t)nerr > cnt) {
		*reason = "more errors than COUNT";
		return -1;
	}
	errs = xcalloc(cnt, sizeof *errs);
	for (j = 0; j < nerr; j++) {
		if (brk_err(av[2 + j], &e, reason) != 0) {
			free(errs);
			return -1;
		}
		for (i = (uint64_t)j; i < cnt; i += (uint64_t)nerr)
			errs[i] = e;
	}
	if (id == 0)
		rd_kafka_mock_push_request_errors_array(b->mc, key, cnt, errs);
	else {
		/* One at a time: the broker stack takes (err, rtt) varargs;
		 * each push goes to the end, so the order is kept. */
		for (i = 0; i < cnt; i++) {
			e = rd_kafka_mock_broker_push_request_error_rtts(b->mc,
			    id, key, 1, errs[i], 0);
			if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
				*reason = rd_kafka_err2str(e);
				free(errs);
				return -1;
			}
		}
	}
	free(errs);
	return 0;
}

/*
 * Runs one command line (split in place); returns 0 with an optional
 * *result, or -1 with *reason.
 */
static int
brk_run(struct brk *b, char *line, char *result, size_t rlen,
    const char **reason)
{
	char			*av[BRK_MAX_ARGS], *save = NULL, *t;
	int			 ac = 0, up;
	int32_t			 id, part;
	int16_t			 key;
	uint64_t		 v;
	size_t			 cnt;
	rd_kafka_resp_err_t	 err = RD_KAFKA_RESP_ERR_NO_ERROR;

	for (t = strtok_r(line, " \t", &save); t != NULL;
	    t = strtok_r(NULL, " \t", &save)) {
		if (ac == BRK_MAX_ARGS) {
			*reason = "too many words";
			return -1;
		}
		av[ac++] = t;
	}
	*reason = "wrong number of arguments";
	if (strcmp(av[0], "errors") == 0)
		return brk_push_errors(b, 0, av + 1, ac - 1, reason);
	if (strcmp(av[0], "broker-errors") == 0) {
		if (ac < 2 || brk_id(b, av[1], &id, reason) != 0)
			return -1;
		return brk_push_errors(b, id, av + 2, ac - 2, reason);
	}
	if (strcmp(av[0], "pending") == 0) {
		if (ac != 3 || brk_id(b, av[1], &id, reason) != 0 ||
		    brk_api(av[2], &key, reason) != 0)
			return -1;
		cnt = 0;	/* left as is when the stack was never made */
		err = rd_kafka_mock_broker_error_stack_cnt(b->mc, id, key,
		    &cnt);
		if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
			snprintf(result, rlen, "%zu", cnt);
	} else if (strcmp(av[0], "clear") == 0) {
		if (ac != 2 || brk_api(av[1], &key, reason) != 0)
			return -1;
		rd_kafka_mock_clear_request_errors(b->mc, key);
	} else if (strcmp(av[0], "coordinator") == 0) {
		if (ac != 4)
			return -1;
		if (strcmp(av[1], "group") != 0 &&
		    strcmp(av[1], "transaction") != 0) {
			*reason = "the kind is group or transaction";
			return -1;
		}
		if (brk_id(b, av[3], &id, reason) != 0)
			return -1;
		err = rd_kafka_mock_coordinator_set(b->mc, av[1], av[2], id);
	} else if (strcmp(av[0], "leader") == 0) {
		if (ac != 4)
			return -1;
		if (!brk_topic_ok(av[1])) {
			*reason = "bad topic name";
			return -1;
		}
		if (ctl_parse_u64(av[2], 0, BRK_MAX_PARTITIONS - 1, &v) != 0) {
			*reason = "bad partition";
			return -1;
		}
		part = (int32_t)v;
		if (strcmp(av[3], "none") == 0)
			id = -1;	/* leaderless */
		else if (brk_id(b, av[3], &id, reason) != 0)
			return -1;
		err = rd_kafka_mock_partition_set_leader(b->mc, av[1], part,
		    id);
	} else if (strcmp(av[0], "down") == 0 || strcmp(av[0], "up") == 0) {
		up = av[0][0] == 'u';
		if (ac != 2)
			return -1;
		if (strcmp(av[1], "all") == 0) {
			if (brk_set_all(b->mc, b->nbrokers, up) != 0) {
				*reason = "some brokers failed (see above)";
				return -1;
			}
			return 0;
		}
		if (brk_id(b, av[1], &id, reason) != 0)
			return -1;
		err = up ? rd_kafka_mock_broker_set_up(b->mc, id) :
		    rd_kafka_mock_broker_set_down(b->mc, id);
	} else if (strcmp(av[0], "rtt") == 0) {
		if (ac != 3 || brk_id(b, av[1], &id, reason) != 0)
			return -1;
		if (ctl_parse_u64(av[2], 0, BRK_MAX_RTT_MS, &v) != 0) {
			*reason = "MS must be 0 to 600000";
			return -1;
		}
		err = rd_kafka_mock_broker_set_rtt(b->mc, id, (int)v);
	} else {
		*reason = "unknown command (see activityctl broker --help)";
		return -1;
	}
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		*reason = rd_kafka_err2str(err);
		return -1;
	}
	return 0;
}

/* Runs and answers one line; blank lines and # comments are skipped. */
static void
brk_line(struct brk *b, char *line)
{
	char		*copy, result[64] = "";
	const char	*reason = NULL;

	line[strcspn(line, "\r")] = '\0';
	if (line[strspn(line, " \t")] == '\0' ||
	    line[strspn(line, " \t")] == '#')
		return;
	copy = xstrdup(line);
	if (brk_run(b, copy, result, sizeof result, &reason) != 0)
		ctl_warn(BRK_CMD, "control: error: %s: %s", line, reason);
	else if (result[0] != '\0')
		ctl_warn(BRK_CMD, "control: ok: %s: %s", line, result);
	else
		ctl_warn(BRK_CMD, "control: ok: %s", line);
	free(copy);
}

/* Reads what the FIFO holds and runs every complete line; -1 on error. */
static int
brk_control_read(struct brk *b)
{
	ssize_t	 n;
	char	*nl;

	for (;;) {
		n = read(b->cfd, b->line + b->len, sizeof b->line - 1 - b->len);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (n == 0)	/* not while we hold a write end too */
			return 0;
		b->len += (size_t)n;
		b->line[b->len] = '\0';
		while ((nl = strchr(b->line, '\n')) != NULL) {
			*nl = '\0';
			if (b->overlong) {
				ctl_warn(BRK_CMD, "control: error: line longer "
				    "than %d bytes", BRK_LINE_MAX - 1);
				b->overlong = false;
			} else
				brk_line(b, b->line);
			b->len -= (size_t)(nl + 1 - b->line);
			memmove(b->line, nl + 1, b->len + 1);
		}
		if (b->len == sizeof b->line - 1) {	/* no newline in sight */
			b->overlong = true;
			b->len = 0;
		}
	}
}

/*
 * Opens (creating it if missing) the control FIFO. Read-write, so that
 * the pipe always has a writer: a test's successive writers open and close
 * it, and a reader alone would see end-of-file after each of them.
 */
static int
brk_control_open(const char *path)
{
	struct stat	st;
	int		fd;

	if (mkfifo(path, 0600) != 0 && errno != EEXIST) {
		ctl_warn(BRK_CMD, "--control %s: mkfifo: %s", path,
		    strerror(errno));
		return -1;
	}
	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		ctl_warn(BRK_CMD, "--control %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
		ctl_warn(BRK_CMD, "--control %s: not a named pipe", path);
		close(fd);
		return -1;
	}
	return fd;
}

/* Until SIGTERM or SIGINT (0), or a failure (-1). */
static int
brk_serve(struct brk *b)
{
	struct signalfd_siginfo	si;
	struct pollfd		pfd[2];
	ssize_t			n;

	pfd[0].fd = b->sfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = b->cfd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, b->cfd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			ctl_warn(BRK_CMD, "poll: %s", strerror(errno));
			return -1;
		}
		if (b->cfd >= 0 && (pfd[1].revents & (POLLIN | POLLERR)) &&
		    brk_control_read(b) != 0) {
			ctl_warn(BRK_CMD, "--control: read: %s",
			    strerror(errno));
			return -1;
		}
		if (!(pfd[0].revents & POLLIN))
			continue;
		n = read(b->sfd, &si, sizeof si);
		if (n != (ssize_t)sizeof si) {
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			ctl_warn(BRK_CMD, "signalfd: %s", n < 0 ?
			    strerror(errno) : "short read");
			return -1;
		}
		switch (si.ssi_signo) {
		case SIGUSR1:
			ctl_warn(BRK_CMD, "SIGUSR1: brokers down");
			brk_set_all(b->mc, b->nbrokers, 0);
			break;
		case SIGUSR2:
			ctl_warn(BRK_CMD, "SIGUSR2: brokers up");
			brk_set_all(b->mc, b->nbrokers, 1);
			break;
		default:
			ctl_warn(BRK_CMD, "%s: stopping",
			    strsignal((int)si.ssi_signo));
			return 0;
		}
	}
}

int
ctl_broker(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "partitions",	required_argument,	NULL, 'p' },
		{ "topics",	required_argument,	NULL, 't' },
		{ "brokers",	required_argument,	NULL, 'b' },
		{ "control",	required_argument,	NULL, 'c' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct brk		 b = { .sfd = -1, .cfd = -1 };
	rd_kafka_mock_cluster_t	*mc = NULL;
	rd_kafka_conf_t		*conf;
	rd_kafka_t		*rk = NULL;
	const char		*topics = BRK_TOPICS, *control = NULL;
	char			 errstr[512];
	uint64_t		 partitions = BRK_PARTITIONS, nbrokers = 1;
	sigset_t		 set;
	int			 ch, rc = CTL_EXIT_FAIL;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (ctl_flag_u64(BRK_CMD, "--partitions", optarg, 1,
			    BRK_MAX_PARTITIONS, &partitions) < 0)
				return CTL_EXIT_USAGE;
			break;
		case 't':
			topics = optarg;
			break;
		case 'b':
			if (ctl_flag_u64(BRK_CMD, "--brokers", optarg, 1,
			    BRK_MAX_BROKERS, &nbrokers) < 0)
				return CTL_EXIT_USAGE;
			break;
		case 'c':
			control = optarg;
			break;
		case 'h':
			brk_usage(stdout);
			return CTL_EXIT_OK;
		default:
			return ctl_try_help(BRK_CMD);
		}
	}
	if (optind < argc)
		return ctl_extra_args(BRK_CMD, argv[optind]);
	if (topics[0] != '\0' && brk_check_topics(topics) < 0)
		return CTL_EXIT_USAGE;

	/* Before rd_kafka_new: its threads inherit the blocked mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	if ((errno = pthread_sigmask(SIG_BLOCK, &set, NULL)) != 0) {
		ctl_warn(BRK_CMD, "pthread_sigmask: %s", strerror(errno));
		return CTL_EXIT_FAIL;
	}
	b.sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (b.sfd < 0) {
		ctl_warn(BRK_CMD, "signalfd: %s", strerror(errno));
		return CTL_EXIT_FAIL;
	}
	if (control != NULL && (b.cfd = brk_control_open(control)) < 0) {
		close(b.sfd);
		return CTL_EXIT_FAIL;
	}

	conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "client.id", "activityctl-broker",
	    errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
		ctl_warn(BRK_CMD, "%s", errstr);
		rd_kafka_conf_destroy(conf);
		goto out;
	}
	rd_kafka_conf_set_log_cb(conf, brk_log_cb);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
	if (rk == NULL) {
		ctl_warn(BRK_CMD, "rd_kafka_new: %s", errstr);
		rd_kafka_conf_destroy(conf);
		goto out;
	}
	conf = NULL;		/* owned by rk now */

	mc = rd_kafka_mock_cluster_new(rk, (int)nbrokers);
	if (mc == NULL) {
		ctl_warn(BRK_CMD, "cannot create the mock cluster");
		goto out;
	}
	if (topics[0] != '\0' &&
	    brk_create_topics(mc, topics, (int)partitions) < 0)
		goto out;

	if (printf("bootstrap=%s\n", rd_kafka_mock_cluster_bootstraps(mc)) < 0 ||
	    fflush(stdout) != 0) {
		ctl_warn(BRK_CMD, "stdout: %s", strerror(errno));
		goto out;
	}
	ctl_warn(BRK_CMD, "serving %s (%d broker%s, %d partitions per topic)",
	    rd_kafka_mock_cluster_bootstraps(mc), (int)nbrokers,
	    nbrokers == 1 ? "" : "s", (int)partitions);

	b.mc = mc;
	b.nbrokers = (int)nbrokers;
	if (brk_serve(&b) == 0)
		rc = CTL_EXIT_OK;
out:
	if (mc != NULL)
		rd_kafka_mock_cluster_destroy(mc);
	if (rk != NULL)
		rd_kafka_destroy(rk);
	if (b.cfd >= 0)
		close(b.cfd);
	close(b.sfd);
	return rc;
}
