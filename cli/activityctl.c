/*
 * activityctl: the admin and data tool of activityd (docs/cli.md).
 *
 *   activityctl [--admin URL] <command> [args]
 *
 * Global options come before the command; everything after it belongs to
 * the command, which is looked up in one table.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "ctl_http.h"
#include "xmalloc.h"

static const struct ctl_command {
	const char	*name;
	ctl_fn		 fn;
	const char	*help;
} ctl_commands[] = {
	{ "broker", ctl_broker,
	  "run a local Kafka-protocol broker (librdkafka's mock cluster)" },
	{ "generate", ctl_generate,
	  "write sample interaction and metadata CSV files" },
	{ "load", ctl_load,
	  "produce a CSV file to a topic, one record per row" },
	{ "query", ctl_query,
	  "DAU, MAU or per-user sessions from a daemon's state" },
	{ "snapshot", ctl_snapshot,
	  "create, list, verify or restore snapshots of the state" },
	{ "state", ctl_state,
	  "inspect a state directory: families, keys, sizes, offsets" },
	{ "tail", ctl_tail,
	  "decode the daemon's output topics to JSON lines" },
};
#define CTL_NCOMMANDS	(sizeof ctl_commands / sizeof ctl_commands[0])

static void
usage(FILE *out)
{
	size_t i;

	fprintf(out,
	    "usage: activityctl [--admin URL] [--token-file F] <command> "
	    "[args]\n"
	    "\n"
	    "commands:\n");
	for (i = 0; i < CTL_NCOMMANDS; i++)
		fprintf(out, "  %-10s %s\n", ctl_commands[i].name,
		    ctl_commands[i].help);
	fprintf(out,
	    "\n"
	    "global options:\n"
	    "  --admin URL     admin endpoint of a running activityd\n"
	    "  --token-file F  its bearer token (else $ACTIVITYCTL_TOKEN)\n"
	    "  --help          this text; 'activityctl <command> --help'"
	    " for a command\n"
	    "  --version       print the version\n");
}

static void
ctl_vwarn(const char *cmd, const char *fmt, va_list ap)
{
	fprintf(stderr, "activityctl %s: ", cmd);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int
ctl_try_help(const char *cmd)
{
	fprintf(stderr, "Try 'activityctl %s --help'.\n", cmd);
	return CTL_EXIT_USAGE;
}

int
ctl_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_vwarn(cmd, fmt, ap);
	va_end(ap);
	return ctl_try_help(cmd);
}

int
ctl_extra_args(const char *cmd, const char *arg)
{
	return ctl_usage_error(cmd, "unexpected argument: %s", arg);
}

void
ctl_warn(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_vwarn(cmd, fmt, ap);
	va_end(ap);
}

int
ctl_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long	 v;
	char			*end;

	if (s[0] < '0' || s[0] > '9')	/* no sign, no space */
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
ctl_flag_u64(const char *cmd, const char *flag, const char *arg,
    uint64_t min, uint64_t max, uint64_t *out)
{
	if (ctl_parse_u64(arg, min, max, out) == 0)
		return 0;
	ctl_usage_error(cmd, "bad %s: %s (want %llu..%llu)", flag, arg,
	    (unsigned long long)min, (unsigned long long)max);
	return -1;
}

int64_t
ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "admin",	required_argument,	NULL, 'a' },
		{ "token-file",	required_argument,	NULL, 'T' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl	 ctl = { NULL };
	char		*name;
	size_t		 i;
	int		 ch, rc;

	/* "+": stop at the command name; its flags are its own. */
	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			ctl.admin_url = optarg;
			break;
		case 'T':
			ctl_http_set_token_file(optarg);
			break;
		case 'h':
			usage(stdout);
			return CTL_EXIT_OK;
		case 'V':
			printf("activityctl %s\n", ACTIVITYD_VERSION);
			return CTL_EXIT_OK;
		default:
			fprintf(stderr, "Try 'activityctl --help'.\n");
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	for (i = 0; i < CTL_NCOMMANDS; i++) {
		if (strcmp(argv[optind], ctl_commands[i].name) == 0)
			break;
	}
	if (i == CTL_NCOMMANDS) {
		fprintf(stderr, "activityctl: unknown command '%s'\n"
		    "Try 'activityctl --help'.\n", argv[optind]);
		return CTL_EXIT_USAGE;
	}

	/* The command sees its own argv, named for getopt's messages. */
	argc -= optind;
	argv += optind;
	name = xasprintf("activityctl %s", ctl_commands[i].name);
	argv[0] = name;
	optind = 0;		/* full getopt reset for the command */
	rc = ctl_commands[i].fn(&ctl, argc, argv);
	free(name);
	return rc;
}
