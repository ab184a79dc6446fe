/*
 * activityd: streaming sessions and active users from Kafka.
 *
 *   activityd -c FILE [-o section.key=value]... [--once] [--check-config]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
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
	struct config *cfg = config_new();
	const char *file = NULL;
	char **overrides = xcalloc((size_t)argc + 1, sizeof *overrides);
	size_t nover = 0, i;
	bool once = false, check = false;
	char *cause = NULL;
	struct pipeline *p;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "c:o:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 'o':
			overrides[nover++] = optarg;
			break;
		case 'O':
			once = true;
			break;
		case 'C':
			check = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("activityd %s\n", ACTIVITYD_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (file == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (config_load_file(cfg, file, &cause) != 0)
		goto bad;
	for (i = 0; i < nover; i++)
		if (config_set(cfg, overrides[i], &cause) != 0)
			goto bad;
	if (config_validate(cfg, &cause) != 0 || check_zones(cfg, &cause) != 0)
		goto bad;
	free(overrides);
	log_set_level((enum log_level)config_enum(cfg, "log", "level"));
	if (check) {
		config_dump(cfg, stdout);
		config_free(cfg);
		return 0;
	}
	p = pipeline_new(cfg, once, &cause);
	if (p == NULL) {
		log_error("cannot start", "error=\"%s\"", cause);
		free(cause);
		config_free(cfg);
		return 1;
	}
	rc = pipeline_run(p);
	pipeline_free(p);
	config_free(cfg);
	return rc;
bad:
	fprintf(stderr, "activityd: %s\n", cause);
	free(cause);
	free(overrides);
	config_free(cfg);
	return 2;
}
