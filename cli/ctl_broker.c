/*
 * activityctl broker: librdkafka's mock cluster as a local broker.
 *
 * The mock cluster is a real Kafka-protocol server on loopback that lives
 * inside a librdkafka client handle (a producer here, never used to
 * produce). It is memory-only and keeps about the last 5 MB of each
 * partition, so topics get enough partitions by default for a million
 * events (SPEC section 8).
 *
 * Signals are blocked before librdkafka starts its threads and taken
 * synchronously with sigwaitinfo, so no handler runs inside the library:
 *   SIGTERM, SIGINT  stop and exit 0
 *   SIGUSR1          mark every broker down (connections refused/closed)
 *   SIGUSR2          bring them back up
 * Tests use SIGUSR1/SIGUSR2 to simulate a lost broker.
 *
 * stdout carries exactly one line, "bootstrap=HOST:PORT", flushed at once
 * so a script can read it; everything else goes to stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void
brk_usage(FILE *out)
{
	fprintf(out,
	    "usage: activityctl broker [--partitions N] [--topics a,b,...]"
	    " [--brokers N]\n"
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
	    "  --brokers N     brokers in the cluster (default 1)\n",
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

static int
brk_serve(rd_kafka_mock_cluster_t *mc, int nbrokers, const sigset_t *set)
{
	siginfo_t	info;
	int		sig;

	for (;;) {
		sig = sigwaitinfo(set, &info);
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			ctl_warn(BRK_CMD, "sigwaitinfo: %s", strerror(errno));
			return -1;
		}
		switch (sig) {
		case SIGUSR1:
			ctl_warn(BRK_CMD, "SIGUSR1: brokers down");
			brk_set_all(mc, nbrokers, 0);
			break;
		case SIGUSR2:
			ctl_warn(BRK_CMD, "SIGUSR2: brokers up");
			brk_set_all(mc, nbrokers, 1);
			break;
		default:
			ctl_warn(BRK_CMD, "%s: stopping", strsignal(sig));
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
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	rd_kafka_mock_cluster_t	*mc = NULL;
	rd_kafka_conf_t		*conf;
	rd_kafka_t		*rk = NULL;
	const char		*topics = BRK_TOPICS;
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

	conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "client.id", "activityctl-broker",
	    errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
		ctl_warn(BRK_CMD, "%s", errstr);
		rd_kafka_conf_destroy(conf);
		return CTL_EXIT_FAIL;
	}
	rd_kafka_conf_set_log_cb(conf, brk_log_cb);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
	if (rk == NULL) {
		ctl_warn(BRK_CMD, "rd_kafka_new: %s", errstr);
		rd_kafka_conf_destroy(conf);
		return CTL_EXIT_FAIL;
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

	if (brk_serve(mc, (int)nbrokers, &set) == 0)
		rc = CTL_EXIT_OK;
out:
	if (mc != NULL)
		rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return rc;
}
