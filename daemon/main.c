/*
 * activityd: streaming sessions and active users from Kafka.
 *
 *   activityd -c FILE [-o section.key=value]... [--once] [--check-config]
 */
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "heap.h"
#include "log.h"
#include "pipeline.h"
#include "tzcal.h"
#include "xmalloc.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: activityd -c FILE [-o section.key=value]... [--once] "
	    "[--check-config]\n"
	    "  -c, --config FILE     INI configuration (see activityd.conf(5))\n"
	    "  -o section.key=value  override one option (repeatable)\n"
	    "      --once            consume to the end offsets at start, "
	    "close all\n"
	    "                        sessions, emit, commit and exit 0\n"
	    "      --check-config    validate the configuration, print it, "
	    "exit\n"
	    "  -h, --help            this help\n"
	    "  -V, --version         print the version\n");
}

/* libevent's own messages, through the structured logger. */
static void
libevent_log(int severity, const char *msg)
{
	enum log_level l = severity == EVENT_LOG_DEBUG ? LOG_DEBUG :
	    severity == EVENT_LOG_MSG ? LOG_INFO : LOG_WARNING;

	if (l >= log_get_level())
		log_msg(l, "libevent", "detail=\"%s\"", msg);
}

/* Zone names are checked here too, so --check-config refuses them. */
static int
check_zones(const struct config *cfg, char **cause)
{
	const char *const *items;
	size_t n = config_list(cfg, "metrics", "time_zones", &items), i;

	for (i = 0; i < n; i++) {
		char *c = NULL;
		struct tzcal *z = tzcal_open(items[i], &c);

		if (z == NULL) {
			*cause = xasprintf("%s: [metrics] time_zones: %s",
			    config_where(cfg, "metrics", "time_zones"), c);
			free(c);
			return -1;
		}
		tzcal_free(z);
	}
	return 0;
}

/* The command line's configuration: read again on SIGHUP. */
struct cfg_source {
	const char *file;
	char      **overrides;
	size_t      nover;
};

static struct config *
load_config(void *arg, char **cause)
{
	struct cfg_source *src = arg;
	struct config *cfg = config_new();
	size_t i;

	if (config_load_file(cfg, src->file, cause) != 0)
		goto bad;
	for (i = 0; i < src->nover; i++)
		if (config_set(cfg, src->overrides[i], cause) != 0)
			goto bad;
	if (config_validate(cfg, cause) != 0 || check_zones(cfg, cause) != 0)
		goto bad;
	return cfg;
bad:
	config_free(cfg);
	return NULL;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, 'O' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct config *cfg;
	struct cfg_source src = { NULL, NULL, 0 };
	bool once = false, check = false;
	char *cause = NULL;
	struct pipeline *p;
	int ch, rc;

	/* A client that hangs up mid-answer must not kill the daemon: writes
	 * to its socket fail with EPIPE instead. */
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt_long(argc, argv, "c:o:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			src.file = optarg;
			break;
		case 'o':
			if (src.overrides == NULL)
				src.overrides = xcalloc((size_t)argc,
				    sizeof *src.overrides);
			src.overrides[src.nover++] = optarg;
			break;
		case 'O':
			once = true;
			break;
		case 'C':
			check = true;
			break;
		case 'h':
			usage(stdout);
			free(src.overrides);
			return 0;
		case 'V':
			printf("activityd %s (%s)\n", ACTIVITYD_VERSION,
			    heap_name());
			free(src.overrides);
			return 0;
		default:
			usage(stderr);
			free(src.overrides);
			return 2;
		}
	}
	if (src.file == NULL || optind != argc) {
		usage(stderr);
		free(src.overrides);
		return 2;
	}
	heap_setup(once);
	cfg = load_config(&src, &cause);
	if (cfg == NULL) {
		fprintf(stderr, "activityd: %s\n", cause);
		free(cause);
		free(src.overrides);
		return 2;
	}
	log_set_level((enum log_level)config_enum(cfg, "log", "level"));
	event_set_log_callback(libevent_log);
	if (check) {
		config_dump(cfg, stdout);
		config_free(cfg);
		free(src.overrides);
		return 0;
	}
	p = pipeline_new(cfg, once, &cause);
	if (p == NULL) {
		log_error("cannot start", "error=\"%s\"", cause);
		free(cause);
		config_free(cfg);
		free(src.overrides);
		return 1;
	}
	pipeline_set_reload(p, load_config, &src);
	rc = pipeline_run(p);
	pipeline_free(p);
	config_free(cfg);
	free(src.overrides);
	return rc;
}
