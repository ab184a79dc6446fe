/*
 * ctl: the activityctl subcommands and the helpers they share.
 *
 * activityctl.c parses the global options and dispatches through one
 * table of commands (name, function, one-line help); each command lives in
 * its own ctl_<name>.c and parses its own flags with getopt_long.
 */
#ifndef AD_CTL_H
#define AD_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct store;

/* Exit codes of every command (docs/cli.md). */
#define CTL_EXIT_OK	0
#define CTL_EXIT_FAIL	1	/* runtime failure: I/O, broker, no data */
#define CTL_EXIT_USAGE	2	/* bad command line */

/* Global options, given before the command name. */
struct ctl {
	const char	*admin_url;	/* --admin URL, or NULL */
};

/*
 * A command gets argv[0] = "activityctl <name>" (so getopt's messages
 * name the command) and returns the process exit code.
 */
typedef int (*ctl_fn)(struct ctl *, int argc, char **argv);

int	ctl_broker(struct ctl *, int, char **);
int	ctl_generate(struct ctl *, int, char **);
int	ctl_load(struct ctl *, int, char **);
int	ctl_query(struct ctl *, int, char **);
int	ctl_snapshot(struct ctl *, int, char **);
int	ctl_state(struct ctl *, int, char **);
int	ctl_tail(struct ctl *, int, char **);

/*
 * Prints "activityctl <cmd>: <message>" and a pointer to --help on stderr;
 * returns CTL_EXIT_USAGE for the caller to return.
 */
int	ctl_usage_error(const char *cmd, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* For an operand a command does not take; returns CTL_EXIT_USAGE. */
int	ctl_extra_args(const char *cmd, const char *arg);
/* After getopt's own message: points to --help; returns CTL_EXIT_USAGE. */
int	ctl_try_help(const char *cmd);
/* Prints "activityctl <cmd>: <message>" on stderr. */
void	ctl_warn(const char *cmd, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Strict decimal in [min, max]; 0 ok, -1 bad. */
int	ctl_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* The same for the value of a flag: a usage message and -1 if bad. */
int	ctl_flag_u64(const char *cmd, const char *flag, const char *arg,
	    uint64_t min, uint64_t max, uint64_t *out);

/* The consumed offset of one topic partition, as a state stores it. */
struct ctl_offset {
	char	*topic;
	int32_t	 partition;
	int64_t	 offset;	/* next offset to consume */
};

/* A state directory (or snapshot) opened read-only; NULL with *cause. */
struct store *ctl_store_open_ro(const char *dir, char **cause);
/* Every stored offset, in key order (topic, partition); -1 with *cause. */
int	ctl_offsets_read(struct store *, struct ctl_offset **, size_t *n,
	    char **cause);
/* As a text table: topic, partition, offset. */
void	ctl_offsets_print(const struct ctl_offset *, size_t n, FILE *);
void	ctl_offsets_free(struct ctl_offset *, size_t n);

/* Monotonic clock in milliseconds, for progress reports. */
int64_t	ctl_now_ms(void);

#endif
