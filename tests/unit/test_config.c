/*
 * Unit tests for config: syntax, every type, every error's exact message,
 * overrides, cross-key validation, pass-through sections, dump round trip,
 * and hostile input (huge lines, binary files).
 *
 * Each test writes its file as "t.conf" in a private temporary directory
 * (the process works there), so error messages are predictable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "xmalloc.h"

static char	tmpdir[] = "/tmp/test_config.XXXXXX";
static char	*srcdir;	/* the source tree's tests/data */

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE	*f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Load text as t.conf into cfg; returns the cause (caller frees) or NULL. */
static char *
load_into(struct config *cfg, const char *text)
{
	char	*cause = NULL;

	write_file("t.conf", text, strlen(text));
	if (config_load_file(cfg, "t.conf", &cause) == 0) {
		assert_null(cause);
		return NULL;
	}
	assert_non_null(cause);
	return cause;
}

static struct config *
load_ok(const char *text)
{
	struct config	*cfg = config_new();
	char		*cause = load_into(cfg, text);

	if (cause != NULL)
		fail_msg("unexpected error: %s", cause);
	return cfg;
}

static void
assert_load_error(const char *text, const char *expected)
{
	struct config	*cfg = config_new();
	char		*cause = load_into(cfg, text);

	if (cause == NULL)
		fail_msg("loaded without error, expected: %s", expected);
	assert_string_equal(cause, expected);
	free(cause);
	config_free(cfg);
}

struct load_case {
	const char	*text;
	const char	*cause;
};

static void
assert_load_errors(const struct load_case *cases, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		assert_load_error(cases[i].text, cases[i].cause);
}

static void
assert_set_error(struct config *cfg, const char *assignment,
    const char *expected)
{
	char	*cause = NULL;

	assert_int_equal(config_set(cfg, assignment, &cause), -1);
	assert_non_null(cause);
	assert_string_equal(cause, expected);
	free(cause);
}

static void
set_ok(struct config *cfg, const char *assignment)
{
	char	*cause = NULL;

	if (config_set(cfg, assignment, &cause) != 0)
		fail_msg("config_set %s: %s", assignment, cause);
}

static char *
validate_cause(const struct config *cfg)
{
	char	*cause = NULL;

	if (config_validate(cfg, &cause) == 0) {
		assert_null(cause);
		return NULL;
	}
	assert_non_null(cause);
	return cause;
}

/* Pass-through entries flattened as "key=value@where;" for comparison. */
static void
collect(const char *key, const char *value, const char *where, void *arg)
{
	char	**acc = arg, *s;

	s = xasprintf("%s%s=%s@%s;", *acc, key, value, where);
	free(*acc);
	*acc = s;
}

static char *
entries(const struct config *cfg, const char *section)
{
	char	*acc = xstrdup("");

	config_foreach(cfg, section, collect, &acc);
	return acc;
}

static void
assert_entries(const struct config *cfg, const char *section,
    const char *expected)
{
	char	*got = entries(cfg, section);

	assert_string_equal(got, expected);
	free(got);
}

/* ------------------------------------------------------------------------ */

static void
defaults_are_the_documented_values(void **st)
{
	struct config		*cfg = config_new();
	const char *const	*items;
	const char		*host;
	uint16_t		 port;

	(void)st;
	assert_string_equal(config_str(cfg, "topics", "interactions"),
	    "interactions");
	assert_string_equal(config_str(cfg, "topics", "metadata"),
	    "user-metadata");
	assert_string_equal(config_str(cfg, "topics", "sessions"),
	    "activity.sessions");
	assert_string_equal(config_str(cfg, "topics", "metrics"),
	    "activity.metrics");
	assert_string_equal(config_str(cfg, "topics", "dlq"), "activity.dlq");
	assert_string_equal(config_str(cfg, "input", "format"), "avro");
	assert_int_equal(config_enum(cfg, "input", "metadata_format"), 0);
	assert_false(config_bool(cfg, "output", "emit_sketch"));
	assert_int_equal(config_int(cfg, "schema_ids", "interactions"), 1);
	assert_int_equal(config_int(cfg, "schema_ids", "metrics"), 4);
	assert_string_equal(config_str(cfg, "state", "dir"),
	    "/var/lib/activityd");
	assert_int_equal(config_int(cfg, "state", "commit_interval"), 1000);
	assert_int_equal(config_int(cfg, "state", "memory_limit"),
	    256 * 1024 * 1024);
	assert_string_equal(config_str(cfg, "admin", "listen"),
	    "127.0.0.1:8080");
	config_addr(cfg, "admin", "listen", &host, &port);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 8080);
	assert_string_equal(config_str(cfg, "admin", "token_file"), "");
	assert_int_equal(config_int(cfg, "admin", "max_request_size"), 65536);
	assert_int_equal(config_int(cfg, "admin", "rate_limit"), 100);
	assert_int_equal(config_int(cfg, "session", "gap"), 600000);
	assert_int_equal(config_int(cfg, "session", "grace"), 300000);
	assert_string_equal(config_str(cfg, "session", "end"),
	    "last_event_end");
	assert_int_equal(config_int(cfg, "session", "idle_close"), 0);
	assert_int_equal(config_list(cfg, "metrics", "time_zones", &items), 1);
	assert_string_equal(items[0], "UTC");
	assert_null(items[1]);
	assert_string_equal(config_str(cfg, "metrics", "attribution"), "start");
	assert_int_equal(config_int(cfg, "metrics", "hll_precision"), 14);
	assert_int_equal(config_int(cfg, "metrics", "active_min_ms"), 10000);
	assert_int_equal(config_int(cfg, "metrics", "active_max_ms"),
	    14400000);
	assert_int_equal(config_list(cfg, "metrics", "dimensions", &items), 3);
	assert_string_equal(items[0], "country");
	assert_string_equal(items[1], "device_type");
	assert_string_equal(items[2], "subscription_type");
	assert_int_equal(config_int(cfg, "metrics", "emit_interval"), 1000);
	assert_string_equal(config_str(cfg, "log", "level"), "info");
	assert_string_equal(config_where(cfg, "session", "gap"), "default");
	assert_null(validate_cause(cfg));
	assert_entries(cfg, "kafka", "");
	config_free(cfg);
}

static void
minimal_file_is_enough(void **st)
{
	struct config	*cfg = config_new(), *def = config_new();
	char		*path, *cause = NULL, *expect;

	(void)st;
	path = xasprintf("%s/config/minimal.conf", srcdir);
	if (config_load_file(cfg, path, &cause) != 0)
		fail_msg("%s", cause);
	assert_null(validate_cause(cfg));
	expect = xasprintf("bootstrap.servers=broker1:9092@%s:3;", path);
	assert_entries(cfg, "kafka", expect);
	free(expect);
	free(path);
	assert_entries(cfg, "rocksdb", "");
	assert_string_equal(config_where(cfg, "state", "dir"), "default");
	/* Everything else is the default; the kafka entry is the difference. */
	assert_false(config_equal(cfg, def));
	set_ok(def, "kafka.bootstrap.servers=broker1:9092");
	assert_true(config_equal(cfg, def));
	config_free(def);
	config_free(cfg);
}

static void
every_type_parses_to_exact_values(void **st)
{
	struct config		*cfg;
	const char *const	*items;
	const char		*host;
	uint16_t		 port;

	(void)st;
	cfg = load_ok(
	    "[session]\n"
	    "gap = 90s\n"
	    "grace = 0\n"
	    "idle_close = 2d\n"
	    "end = last_event_start\n"
	    "[state]\n"
	    "commit_interval = 250ms\n"
	    "memory_limit = 1G\n"
	    "dir=/srv/a b\n"
	    "[admin]\n"
	    "listen = [::1]:9000\n"
	    "max_request_size = 1024\n"
	    "rate_limit = 1000000\n"
	    "[output]\n"
	    "emit_sketch = YES\n"
	    "format = confluent\n"
	    "[metrics]\n"
	    "time_zones =  Europe/Berlin ,UTC,\tAmerica/New_York \n"
	    "dimensions = \n"
	    "hll_precision = 18\n"
	    "active_min_ms = 0\n"
	    "active_max_ms = 9223372036854775807\n"
	    "emit_interval = 1h\n"
	    "[schema_ids]\n"
	    "metrics = 2147483647\n"
	    "interactions = +7\n");
	assert_int_equal(config_int(cfg, "session", "gap"), 90000);
	assert_int_equal(config_int(cfg, "session", "grace"), 0);
	assert_int_equal(config_int(cfg, "session", "idle_close"),
	    2LL * 86400000);
	assert_int_equal(config_enum(cfg, "session", "end"), 1);
	assert_int_equal(config_int(cfg, "state", "commit_interval"), 250);
	assert_int_equal(config_int(cfg, "state", "memory_limit"), 1073741824);
	assert_string_equal(config_str(cfg, "state", "dir"), "/srv/a b");
	assert_string_equal(config_str(cfg, "admin", "listen"), "[::1]:9000");
	config_addr(cfg, "admin", "listen", &host, &port);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 9000);
	assert_int_equal(config_int(cfg, "admin", "max_request_size"), 1024);
	assert_int_equal(config_int(cfg, "admin", "rate_limit"), 1000000);
	assert_true(config_bool(cfg, "output", "emit_sketch"));
	assert_string_equal(config_str(cfg, "output", "format"), "confluent");
	assert_int_equal(config_list(cfg, "metrics", "time_zones", &items), 3);
	assert_string_equal(items[0], "Europe/Berlin");
	assert_string_equal(items[1], "UTC");
	assert_string_equal(items[2], "America/New_York");
	assert_int_equal(config_list(cfg, "metrics", "dimensions", &items), 0);
	assert_null(items[0]);
	assert_int_equal(config_int(cfg, "metrics", "hll_precision"), 18);
	assert_int_equal(config_int(cfg, "metrics", "active_min_ms"), 0);
	assert_true(config_int(cfg, "metrics", "active_max_ms") == INT64_MAX);
	assert_int_equal(config_int(cfg, "metrics", "emit_interval"), 3600000);
	assert_int_equal(config_int(cfg, "schema_ids", "metrics"), 2147483647);
	assert_int_equal(config_int(cfg, "schema_ids", "interactions"), 7);
	assert_null(validate_cause(cfg));
	config_free(cfg);
}

static void
bools_sizes_and_addresses_in_all_spellings(void **st)
{
	static const struct { const char *text; bool v; } bools[] = {
		{ "true", true }, { "False", false }, { "yes", true },
		{ "no", false }, { "ON", true }, { "off", false },
		{ "1", true }, { "0", false },
	};
	static const struct { const char *text; int64_t v; } sizes[] = {
		{ "1K", 1024 }, { "2k", 2048 }, { "16M", 16777216 },
		{ "16m", 16777216 }, { "1048576", 1048576 },
	};
	static const struct {
		const char *text, *host;
		uint16_t port;
	} addrs[] = {
		{ "127.0.0.1:1", "127.0.0.1", 1 },
		{ "[::1]:65535", "::1", 65535 },
		{ "[fe80::1:2]:80", "fe80::1:2", 80 },
		{ "localhost:8080", "localhost", 8080 },
		{ "admin-1.example.com:443", "admin-1.example.com", 443 },
	};
	struct config	*cfg = config_new();
	const char	*host;
	uint16_t	 port;
	char		*a;
	size_t		 i;

	(void)st;
	for (i = 0; i < sizeof bools / sizeof bools[0]; i++) {
		a = xasprintf("output.emit_sketch=%s", bools[i].text);
		set_ok(cfg, a);
		assert_int_equal(config_bool(cfg, "output", "emit_sketch"),
		    bools[i].v);
		free(a);
	}
	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		a = xasprintf("admin.max_request_size=%s", sizes[i].text);
		set_ok(cfg, a);
		assert_int_equal(config_int(cfg, "admin", "max_request_size"),
		    sizes[i].v);
		free(a);
	}
	for (i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
		a = xasprintf("admin.listen=%s", addrs[i].text);
		set_ok(cfg, a);
		config_addr(cfg, "admin", "listen", &host, &port);
		assert_string_equal(host, addrs[i].host);
		assert_int_equal(port, addrs[i].port);
		free(a);
	}
	set_ok(cfg, "state.memory_limit=1T");
	assert_true(config_int(cfg, "state", "memory_limit") ==
	    1099511627776LL);
	config_free(cfg);
}

static void
syntax_errors_name_file_and_line(void **st)
{
	static const struct load_case cases[] = {
		{ "gap = 1s\n",
		  "t.conf:1: key \"gap\" outside any section" },
		{ "# c\n\n[session\n",
		  "t.conf:3: missing \"]\" in section header" },
		{ "[session] x\n",
		  "t.conf:1: unexpected text after section header" },
		{ "[ ]\n", "t.conf:1: empty section name" },
		{ "[session]\ngap\n",
		  "t.conf:2: expected \"key = value\" or \"[section]\"" },
		{ "[session]\n = 1s\n", "t.conf:2: missing key before \"=\"" },
		{ "[session]\nga p = 1s\n", "t.conf:2: invalid key \"ga p\"" },
		{ "[nosuch]\n", "t.conf:1: unknown section [nosuch]" },
		{ "[session]\ngapp = 1s\n",
		  "t.conf:2: [session] gapp: unknown key" },
		{ "[session]\n\ngap = 1s\n; x\ngap = 2s\n",
		  "t.conf:5: [session] gap: duplicate key (first set at line 3)" },
		{ "[session]\ngap = 1s\n[log]\n[session]\ngap = 2s\n",
		  "t.conf:5: [session] gap: duplicate key (first set at line 2)" },
		{ "[kafka]\nacks = 1\nacks=all\n",
		  "t.conf:3: [kafka] acks: duplicate key (first set at line 2)" },
		{ "[state]\ndir = \"/a\n",
		  "t.conf:2: [state] dir: unterminated quoted value" },
		{ "[state]\ndir = \"/a\\n\"\n",
		  "t.conf:2: [state] dir: bad escape in quoted value "
		  "(only \\\" and \\\\)" },
		{ "[state]\ndir = \"/a\" /b\n",
		  "t.conf:2: [state] dir: unexpected text after closing quote" },
	};
	(void)st;
	assert_load_errors(cases, sizeof cases / sizeof cases[0]);
}

static void
value_errors_name_file_line_and_reason(void **st)
{
	static const struct load_case cases[] = {
		{ "[session]\ngap = 10x\n",
		  "t.conf:2: [session] gap: \"10x\" is not a duration "
		  "(use ms, s, m, h, d)" },
		{ "[session]\ngap = 10 s\n",
		  "t.conf:2: [session] gap: \"10 s\" is not a duration "
		  "(use ms, s, m, h, d)" },
		{ "[session]\ngap = -1s\n",
		  "t.conf:2: [session] gap: \"-1s\" is not a duration "
		  "(use ms, s, m, h, d)" },
		{ "[session]\ngap = 999ms\n",
		  "t.conf:2: [session] gap: \"999ms\" is out of range "
		  "(1s..7d)" },
		{ "[session]\ngap = 8d\n",
		  "t.conf:2: [session] gap: \"8d\" is out of range (1s..7d)" },
		{ "[session]\ngap = 99999999999999999999d\n",
		  "t.conf:2: [session] gap: \"99999999999999999999d\" is out "
		  "of range (1s..7d)" },
		{ "[session]\nidle_close = 9223372036854775807d\n",
		  "t.conf:2: [session] idle_close: \"9223372036854775807d\" is "
		  "out of range (0..30d)" },
		{ "[state]\nmemory_limit = 15M\n",
		  "t.conf:2: [state] memory_limit: \"15M\" is out of range "
		  "(16M..1T)" },
		{ "[state]\nmemory_limit = 1MB\n",
		  "t.conf:2: [state] memory_limit: \"1MB\" is not a size "
		  "(use K, M, G, T)" },
		{ "[state]\ncommit_interval = 5ms\n",
		  "t.conf:2: [state] commit_interval: \"5ms\" is out of range "
		  "(10ms..1h)" },
		{ "[state]\ndir =\n",
		  "t.conf:2: [state] dir: value must not be empty" },
		{ "[admin]\nrate_limit = 0\n",
		  "t.conf:2: [admin] rate_limit: \"0\" is out of range "
		  "(1..1000000)" },
		{ "[admin]\nrate_limit = 12abc\n",
		  "t.conf:2: [admin] rate_limit: \"12abc\" is not an integer" },
		{ "[admin]\nrate_limit = \n",
		  "t.conf:2: [admin] rate_limit: \"\" is not an integer" },
		{ "[metrics]\nhll_precision = 19\n",
		  "t.conf:2: [metrics] hll_precision: \"19\" is out of range "
		  "(4..18)" },
		{ "[metrics]\nactive_min_ms = -1\n",
		  "t.conf:2: [metrics] active_min_ms: \"-1\" is out of range "
		  "(0..9223372036854775807)" },
		{ "[metrics]\nactive_max_ms = 9223372036854775808\n",
		  "t.conf:2: [metrics] active_max_ms: \"9223372036854775808\" "
		  "is out of range (1..9223372036854775807)" },
		{ "[output]\nemit_sketch = maybe\n",
		  "t.conf:2: [output] emit_sketch: \"maybe\" is not a boolean "
		  "(use true/false, yes/no, on/off, 1/0)" },
		{ "[input]\nformat = xml\n",
		  "t.conf:2: [input] format: \"xml\" is not one of avro, "
		  "confluent, json" },
		{ "[log]\nlevel = INFO\n",
		  "t.conf:2: [log] level: \"INFO\" is not one of debug, info, "
		  "notice, warning, error" },
		{ "[metrics]\ndimensions = country,city\n",
		  "t.conf:2: [metrics] dimensions: \"city\" is not one of "
		  "country, device_type, subscription_type" },
		{ "[metrics]\ndimensions = country, country\n",
		  "t.conf:2: [metrics] dimensions: \"country\" is listed twice" },
		{ "[metrics]\ntime_zones = UTC,,Europe/Paris\n",
		  "t.conf:2: [metrics] time_zones: empty item in list "
		  "\"UTC,,Europe/Paris\"" },
		{ "[metrics]\ntime_zones = UTC,\n",
		  "t.conf:2: [metrics] time_zones: empty item in list \"UTC,\"" },
		{ "[admin]\nlisten = localhost\n",
		  "t.conf:2: [admin] listen: \"localhost\" is not host:port" },
		{ "[admin]\nlisten = 127.0.0.1:65536\n",
		  "t.conf:2: [admin] listen: \"127.0.0.1:65536\": port must be "
		  "0..65535" },
		{ "[admin]\nlisten = 127.0.0.1:\n",
		  "t.conf:2: [admin] listen: \"127.0.0.1:\": port must be "
		  "0..65535" },
		{ "[admin]\nlisten = 300.1.1.1:80\n",
		  "t.conf:2: [admin] listen: \"300.1.1.1\" is not an IPv4 "
		  "address" },
		{ "[admin]\nlisten = ::1:80\n",
		  "t.conf:2: [admin] listen: \"::1:80\": write an IPv6 address "
		  "in brackets, as [::1]:PORT" },
		{ "[admin]\nlisten = [::1:80\n",
		  "t.conf:2: [admin] listen: \"[::1:80\": missing \"]\" after "
		  "IPv6 address" },
		{ "[admin]\nlisten = [::g]:80\n",
		  "t.conf:2: [admin] listen: \"::g\" is not an IPv6 address" },
		{ "[admin]\nlisten = [::1]80\n",
		  "t.conf:2: [admin] listen: \"[::1]80\" is not host:port" },
		{ "[admin]\nlisten = bad_host:80\n",
		  "t.conf:2: [admin] listen: \"bad_host\" is not a valid host "
		  "name" },
		{ "[admin]\nlisten = -a.b:80\n",
		  "t.conf:2: [admin] listen: \"-a.b\" is not a valid host name" },
		{ "[admin]\nlisten = :80\n",
		  "t.conf:2: [admin] listen: \":80\": missing host" },
	};
	(void)st;
	assert_load_errors(cases, sizeof cases / sizeof cases[0]);
}

static void
unreadable_files_are_reported(void **st)
{
	struct config	*cfg = config_new();
	char		*cause = NULL;

	(void)st;
	assert_int_equal(config_load_file(cfg, "missing.conf", &cause), -1);
	assert_string_equal(cause,
	    "missing.conf: cannot open: No such file or directory");
	free(cause);
	cause = NULL;
	assert_int_equal(mkdir("adir", 0700), 0);
	assert_int_equal(config_load_file(cfg, "adir", &cause), -1);
	assert_string_equal(cause, "adir: cannot read: Is a directory");
	free(cause);
	assert_int_equal(rmdir("adir"), 0);
	config_free(cfg);
}

static void
failed_load_changes_nothing(void **st)
{
	struct config	*cfg = config_new(), *def = config_new();
	char		*cause;

	(void)st;
	cause = load_into(cfg, "[session]\ngap = 1m\n[kafka]\nacks = all\n"
	    "[log]\nlevel = loud\n");
	assert_string_equal(cause, "t.conf:6: [log] level: \"loud\" is not "
	    "one of debug, info, notice, warning, error");
	free(cause);
	assert_true(config_equal(cfg, def));
	assert_string_equal(config_where(cfg, "session", "gap"), "default");
	config_free(def);
	config_free(cfg);
}

static void
overrides_win_and_are_validated(void **st)
{
	struct config	*cfg = config_new();
	char		*cause;

	(void)st;
	/* Given before the file: still wins over it. */
	set_ok(cfg, "session.gap=2m");
	cause = load_into(cfg, "[session]\ngap = 1m\ngrace = 1m\n"
	    "[kafka]\nbootstrap.servers = file:9092\nacks = all\n");
	assert_null(cause);
	assert_int_equal(config_int(cfg, "session", "gap"), 120000);
	assert_string_equal(config_where(cfg, "session", "gap"), "-o");
	assert_int_equal(config_int(cfg, "session", "grace"), 60000);
	assert_string_equal(config_where(cfg, "session", "grace"), "t.conf:3");
	/* Given after: wins, later override over earlier one. */
	set_ok(cfg, "session.grace=2m");
	set_ok(cfg, " session.grace = 3m ");
	assert_int_equal(config_int(cfg, "session", "grace"), 180000);
	/* The section ends at the first dot; the value may hold '='. */
	set_ok(cfg, "kafka.bootstrap.servers=h:9092");
	set_ok(cfg, "kafka.sasl.jaas.config=a=b; c=\"d\"");
	assert_entries(cfg, "kafka", "acks=all@t.conf:6;"
	    "bootstrap.servers=h:9092@-o;sasl.jaas.config=a=b; c=\"d\"@-o;");
	/* -o values are literal: no quote processing, '#' kept. */
	set_ok(cfg, "state.dir=/a#b");
	assert_string_equal(config_str(cfg, "state", "dir"), "/a#b");

	assert_set_error(cfg, "session.gap=10x",
	    "-o session.gap=10x: \"10x\" is not a duration (use ms, s, m, h, d)");
	assert_set_error(cfg, "session.gap=0",
	    "-o session.gap=0: \"0\" is out of range (1s..7d)");
	assert_set_error(cfg, "nodot=1", "-o nodot=1: expected section.key=value");
	assert_set_error(cfg, "session.gap", "-o session.gap: expected "
	    "section.key=value");
	assert_set_error(cfg, "a=b.c", "-o a=b.c: expected section.key=value");
	assert_set_error(cfg, ".gap=1s", "-o .gap=1s: expected section.key=value");
	assert_set_error(cfg, "foo.bar=1", "-o foo.bar=1: unknown section [foo]");
	assert_set_error(cfg, "session.gapp=1s",
	    "-o session.gapp=1s: [session] gapp: unknown key");
	assert_set_error(cfg, "log.level=\x01",
	    "-o log.level=\x01: control character 0x01 in value");
	/* A refused override leaves the earlier value. */
	assert_int_equal(config_int(cfg, "session", "gap"), 120000);
	config_free(cfg);
}

static void
quoted_values_keep_hash_and_escapes(void **st)
{
	struct config	*cfg;

	(void)st;
	cfg = load_ok(
	    "[state]\n"
	    "dir = \"/var/lib/a#b \\\"q\\\" \\\\x\"   # trailing comment\n"
	    "[admin]\n"
	    "token_file = /etc/token # unquoted: this is a comment\n"
	    "[topics]\n"
	    "dlq = \"  spaced  \"\n"
	    "[metrics]\n"
	    "dimensions = \"\"\n"
	    "[kafka]\n"
	    "sasl.password = \"p#ss;word\" ; comment\n"
	    "client.id = \"\"\n");
	assert_string_equal(config_str(cfg, "state", "dir"),
	    "/var/lib/a#b \"q\" \\x");
	assert_string_equal(config_str(cfg, "admin", "token_file"),
	    "/etc/token");
	assert_string_equal(config_str(cfg, "topics", "dlq"), "  spaced  ");
	assert_int_equal(config_list(cfg, "metrics", "dimensions",
	    &(const char *const *){ NULL }), 0);
	assert_entries(cfg, "kafka",
	    "sasl.password=p#ss;word@t.conf:10;client.id=@t.conf:11;");
	config_free(cfg);
}

static void
crlf_and_bom_are_accepted(void **st)
{
	struct config	*cfg;

	(void)st;
	cfg = load_ok("\xef\xbb\xbf# comment\r\n[session]\r\ngap = 90s\r\n"
	    "\r\n[kafka]\r\nbootstrap.servers = h:1\r\n[state]\r\n"
	    "dir = \"/x\"\r\n[log]\r\nlevel = debug");
	assert_int_equal(config_int(cfg, "session", "gap"), 90000);
	assert_string_equal(config_where(cfg, "session", "gap"), "t.conf:3");
	assert_entries(cfg, "kafka", "bootstrap.servers=h:1@t.conf:6;");
	assert_string_equal(config_str(cfg, "state", "dir"), "/x");
	/* The last line has no newline at all. */
	assert_string_equal(config_str(cfg, "log", "level"), "debug");
	config_free(cfg);
	/* A carriage return anywhere else is not text. */
	assert_load_error("[session]\ngap = 1\rs\n",
	    "t.conf:2: control character 0x0d (not a text file?)");
}

static void
value_length(const char *key, const char *value, const char *where,
    void *arg)
{
	*(size_t *)arg = strlen(value);
}

static void
huge_lines_and_binary_files_are_refused(void **st)
{
	static const unsigned char elf[] = {
		0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, '\n', 0xff, 0xfe
	};
	size_t	 n = 10 * 1024 * 1024;
	char	*big = xmalloc(n + 32), *cause = NULL;
	struct config *cfg = config_new(), *def = config_new();
	unsigned char noise[4096];
	unsigned seed = 12345;
	size_t	 i;

	(void)st;
	memcpy(big, "[state]\ndir = ", 14);
	memset(big + 14, 'a', n);
	memcpy(big + 14 + n, "\n", 2);
	write_file("t.conf", big, strlen(big));
	assert_int_equal(config_load_file(cfg, "t.conf", &cause), -1);
	assert_string_equal(cause, "t.conf:2: line longer than 65536 bytes");
	free(cause);
	cause = NULL;
	free(big);

	/* The longest allowed line still loads (an inline PEM needs room). */
	big = xmalloc(8 + 65536 + 2);
	memcpy(big, "[kafka]\nk=", 10);
	memset(big + 10, 'b', 65536 - 2);
	memcpy(big + 8 + 65536, "\n", 2);
	write_file("t.conf", big, strlen(big));
	assert_int_equal(config_load_file(cfg, "t.conf", &cause), 0);
	config_foreach(cfg, "kafka", value_length, &i);
	assert_int_equal(i, 65536 - 2);
	free(big);
	config_free(cfg);
	cfg = config_new();

	write_file("t.conf", elf, sizeof elf);
	assert_int_equal(config_load_file(cfg, "t.conf", &cause), -1);
	assert_string_equal(cause,
	    "t.conf:1: control character 0x7f (not a text file?)");
	free(cause);
	cause = NULL;

	/* Random bytes: refused, never loaded, never a crash. */
	for (i = 0; i < sizeof noise; i++) {
		seed = seed * 1103515245 + 12345;
		noise[i] = (unsigned char)(seed >> 16);
	}
	write_file("t.conf", noise, sizeof noise);
	assert_int_equal(config_load_file(cfg, "t.conf", &cause), -1);
	assert_true(strncmp(cause, "t.conf:", 7) == 0);
	free(cause);
	assert_true(config_equal(cfg, def));
	config_free(def);
	config_free(cfg);
}

static void
where_names_file_line_override_or_default(void **st)
{
	struct config	*cfg;

	(void)st;
	cfg = load_ok("# header\n\n[session]\n  gap = 1m  \n[log]\nlevel=debug\n");
	set_ok(cfg, "log.level=error");
	assert_string_equal(config_where(cfg, "session", "gap"), "t.conf:4");
	assert_string_equal(config_where(cfg, "log", "level"), "-o");
	assert_string_equal(config_where(cfg, "session", "grace"), "default");
	config_free(cfg);
}

static void
foreach_is_file_order_then_overrides(void **st)
{
	struct config	*cfg = config_new();
	char		*cause;

	(void)st;
	set_ok(cfg, "kafka.linger.ms=5");
	cause = load_into(cfg, "[kafka]\nz.last = 1\na.first = 2\n"
	    "[rocksdb]\nmax_background_jobs = 2\n[kafka]\nm.mid = 3\n"
	    "linger.ms = 100\n");
	assert_null(cause);
	set_ok(cfg, "kafka.a.first=20");
	set_ok(cfg, "rocksdb.max_open_files=100");
	set_ok(cfg, "kafka.linger.ms=7");
	assert_entries(cfg, "kafka", "z.last=1@t.conf:2;m.mid=3@t.conf:7;"
	    "linger.ms=7@-o;a.first=20@-o;");
	assert_entries(cfg, "rocksdb", "max_background_jobs=2@t.conf:5;"
	    "max_open_files=100@-o;");
	/* A second file layers over the first: same key replaced in place. */
	cause = load_into(cfg, "[kafka]\nm.mid = 30\nnew.key = x\n");
	assert_null(cause);
	assert_entries(cfg, "kafka", "z.last=1@t.conf:2;m.mid=30@t.conf:2;"
	    "new.key=x@t.conf:3;linger.ms=7@-o;a.first=20@-o;");
	config_free(cfg);
}

static void
validate_checks_across_keys(void **st)
{
	static const struct load_case cases[] = {
		{ "[metrics]\nactive_min_ms = 5000\nactive_max_ms = 5000\n",
		  "t.conf:3: [metrics] active_max_ms: active_min_ms (5000) "
		  "must be less than active_max_ms (5000)" },
		{ "[metrics]\nactive_min_ms = 20000000\n",
		  "t.conf:2: [metrics] active_min_ms: active_min_ms (20000000) "
		  "must be less than active_max_ms (14400000)" },
		{ "[metrics]\nactive_max_ms = 10000\n",
		  "t.conf:2: [metrics] active_max_ms: active_min_ms (10000) "
		  "must be less than active_max_ms (10000)" },
		{ "[metrics]\n\ntime_zones =\n",
		  "t.conf:3: [metrics] time_zones: at least one time zone is "
		  "required" },
		{ "[metrics]\ntime_zones = A,B,C,D,E,F,G,H,I\n",
		  "t.conf:2: [metrics] time_zones: at most 8 time zones "
		  "(got 9)" },
		{ "[metrics]\ntime_zones = UTC, Europe/Paris, UTC\n",
		  "t.conf:2: [metrics] time_zones: \"UTC\" is listed twice" },
		{ "[admin]\nlisten = 0.0.0.0:8080\n",
		  "t.conf:2: [admin] listen: \"0.0.0.0:8080\" is not loopback: "
		  "set [admin] token_file" },
		{ "[admin]\nlisten = [::]:8080\n",
		  "t.conf:2: [admin] listen: \"[::]:8080\" is not loopback: "
		  "set [admin] token_file" },
		{ "[admin]\nlisten = admin.example.com:8080\n",
		  "t.conf:2: [admin] listen: \"admin.example.com:8080\" is not "
		  "loopback: set [admin] token_file" },
	};
	static const char *const loopback[] = {
		"127.0.0.1:1", "127.255.0.9:1", "[::1]:1", "localhost:1",
		"LocalHost:1", "[::ffff:127.0.0.2]:1",
	};
	struct config	*cfg;
	char		*cause, *a;
	size_t		 i;

	(void)st;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cfg = config_new();
		assert_null(load_into(cfg, cases[i].text));
		cause = validate_cause(cfg);
		if (cause == NULL)
			fail_msg("valid, expected: %s", cases[i].cause);
		assert_string_equal(cause, cases[i].cause);
		free(cause);
		config_free(cfg);
	}

	/* Errors from overrides name the override. */
	cfg = config_new();
	set_ok(cfg, "admin.listen=10.0.0.1:80");
	cause = validate_cause(cfg);
	assert_string_equal(cause, "-o admin.listen=10.0.0.1:80: [admin] "
	    "listen: \"10.0.0.1:80\" is not loopback: set [admin] token_file");
	free(cause);
	set_ok(cfg, "admin.token_file=/etc/activityd/token");
	assert_null(validate_cause(cfg));
	/* The later-set bound is blamed. */
	assert_null(load_into(cfg, "[metrics]\nactive_max_ms = 100\n"));
	set_ok(cfg, "metrics.active_min_ms=100");
	cause = validate_cause(cfg);
	assert_string_equal(cause, "-o metrics.active_min_ms=100: [metrics] "
	    "active_min_ms: active_min_ms (100) must be less than "
	    "active_max_ms (100)");
	free(cause);
	config_free(cfg);
	/* The default min (10000) against a too-small max set via -o. */
	cfg = config_new();
	set_ok(cfg, "metrics.active_max_ms=100");
	cause = validate_cause(cfg);
	assert_string_equal(cause, "-o metrics.active_max_ms=100: [metrics] "
	    "active_max_ms: active_min_ms (10000) must be less than "
	    "active_max_ms (100)");
	free(cause);
	config_free(cfg);

	for (i = 0; i < sizeof loopback / sizeof loopback[0]; i++) {
		cfg = config_new();
		a = xasprintf("admin.listen=%s", loopback[i]);
		set_ok(cfg, a);
		cause = validate_cause(cfg);
		if (cause != NULL)
			fail_msg("%s: %s", loopback[i], cause);
		free(a);
		config_free(cfg);
	}
	cfg = load_ok("[metrics]\ntime_zones = A,B,C,D,E,F,G,H\n");
	assert_null(validate_cause(cfg));
	config_free(cfg);
}

static void
dump_reloads_to_an_equal_config(void **st)
{
	struct config		*cfg, *back;
	const char *const	*items;
	char			*cause = NULL, *text;
	size_t			 len;
	FILE			*f;

	(void)st;
	cfg = load_ok(
	    "[session]\ngap = 90s\nidle_close = 1500ms\n"
	    "[state]\ndir = \" /odd # dir \\\"x\\\" \"\nmemory_limit = 1536M\n"
	    "[admin]\nlisten = [::1]:9000\nmax_request_size = 1500\n"
	    "[metrics]\ntime_zones = Europe/Berlin, UTC\ndimensions =\n"
	    "[output]\nemit_sketch = on\n"
	    "[kafka]\nbootstrap.servers = a:1,b:2\nclient.id = \"x # y\"\n"
	    "[rocksdb]\nmax_background_jobs = 4\n");
	set_ok(cfg, "log.level=debug");
	set_ok(cfg, "kafka.acks=all");
	set_ok(cfg, "rocksdb.max_background_jobs=8");

	f = open_memstream(&text, &len);
	assert_non_null(f);
	config_dump(cfg, f);
	assert_int_equal(fclose(f), 0);
	/* Values in canonical units, origins as comments. */
	assert_non_null(strstr(text, "\n[session]\ngap = 90s\t# t.conf:2\n"));
	assert_non_null(strstr(text, "\nidle_close = 1500ms\t# t.conf:3\n"));
	assert_non_null(strstr(text, "\ngrace = 5m\t# default\n"));
	assert_non_null(strstr(text, "\nmemory_limit = 1536M\t# t.conf:6\n"));
	assert_non_null(strstr(text,
	    "\ndir = \" /odd # dir \\\"x\\\" \"\t# t.conf:5\n"));
	assert_non_null(strstr(text, "\nlevel = debug\t# -o\n"));
	assert_non_null(strstr(text, "\ndimensions = \"\"\t# t.conf:12\n"));
	assert_non_null(strstr(text, "\ntime_zones = Europe/Berlin,UTC\t"));
	assert_non_null(strstr(text, "\n[kafka]\nbootstrap.servers = a:1,b:2\t"
	    "# t.conf:16\nclient.id = \"x # y\"\t# t.conf:17\n"
	    "acks = all\t# -o\n"));
	assert_non_null(strstr(text,
	    "\n[rocksdb]\nmax_background_jobs = 8\t# -o\n"));
	write_file("dump.conf", text, len);
	free(text);

	back = config_new();
	assert_int_equal(config_load_file(back, "dump.conf", &cause), 0);
	assert_null(cause);
	assert_true(config_equal(cfg, back));
	assert_string_equal(config_str(back, "state", "dir"),
	    " /odd # dir \"x\" ");
	assert_int_equal(config_int(back, "admin", "max_request_size"), 1500);
	assert_int_equal(config_list(back, "metrics", "time_zones", &items), 2);
	assert_string_equal(items[1], "UTC");
	/* The dump lists every table option (one line each) first. */
	assert_entries(back, "kafka", "bootstrap.servers=a:1,b:2@dump.conf:57;"
	    "client.id=x # y@dump.conf:58;acks=all@dump.conf:59;");
	/* And config_equal does see a difference. */
	set_ok(back, "session.grace=1ms");
	assert_false(config_equal(cfg, back));
	config_free(back);
	config_free(cfg);
}

static void
dump_hides_secrets(void **st)
{
	struct config	*cfg;
	char		*text;
	size_t		 len;
	FILE		*f;

	(void)st;
	cfg = load_ok("[kafka]\nsasl.password = hunter2\n"
	    "sasl.jaas.config = x required password=\"hunter3\";\n"
	    "ssl.key.pem = KEYDATA\nsasl.username = alice\n");
	f = open_memstream(&text, &len);
	assert_non_null(f);
	config_dump(cfg, f);
	assert_int_equal(fclose(f), 0);
	assert_null(strstr(text, "hunter"));
	assert_null(strstr(text, "KEYDATA"));
	assert_non_null(strstr(text, "\n# sasl.password = (hidden)\t# t.conf:2\n"
	    "# sasl.jaas.config = (hidden)\t# t.conf:3\n"
	    "# ssl.key.pem = (hidden)\t# t.conf:4\n"
	    "sasl.username = alice\t# t.conf:5\n"));
	free(text);
	config_free(cfg);
}

static void
example_file_loads_and_sets_every_option(void **st)
{
	struct config	*cfg = config_new(), *expect = config_new();
	const char	*section, *key, *def, *help, *where;
	char		*path, *cause = NULL;
	size_t		 i;

	(void)st;
	path = xasprintf("%s/../../config/activityd.conf", srcdir);
	if (config_load_file(cfg, path, &cause) != 0)
		fail_msg("%s", cause);
	assert_null(validate_cause(cfg));
	/* Every option appears, set to its default. */
	for (i = 0; i < config_table_size(); i++) {
		config_table_entry(i, &section, &key, &def, &help);
		where = config_where(cfg, section, key);
		if (strncmp(where, path, strlen(path)) != 0)
			fail_msg("[%s] %s is not in the example", section, key);
	}
	set_ok(expect, "kafka.bootstrap.servers=localhost:9092");
	set_ok(expect, "kafka.group.id=activityd");
	set_ok(expect, "rocksdb.max_background_jobs=2");
	assert_true(config_equal(cfg, expect));
	free(path);
	config_free(expect);
	config_free(cfg);
}

static void
docs_describe_every_option(void **st)
{
	const char	*section, *key, *def, *help;
	char		*path, *doc, *name;
	size_t		 i, len;
	FILE		*f, *m;
	int		 c;

	(void)st;
	path = xasprintf("%s/../../docs/config.md", srcdir);
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	m = open_memstream(&doc, &len);
	while ((c = getc(f)) != EOF)
		fputc(c, m);
	fclose(f);
	fclose(m);
	for (i = 0; i < config_table_size(); i++) {
		config_table_entry(i, &section, &key, &def, &help);
		assert_true(*help != '\0');
		name = xasprintf("| `%s.%s` |", section, key);
		if (strstr(doc, name) == NULL)
			fail_msg("docs/config.md lacks a row for %s", name);
		free(name);
	}
	free(doc);
	free(path);
}

static void
wrong_getter_is_a_programming_error(void **st)
{
	static const int which[] = { 0, 1, 2, 3 };
	size_t	i;

	(void)st;
	for (i = 0; i < sizeof which / sizeof which[0]; i++) {
		pid_t	pid;
		int	status;

		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct config *cfg = config_new();

			/* The fatal message is expected: keep it quiet. */
			if (freopen("/dev/null", "w", stderr) == NULL)
				_exit(2);
			if (which[i] == 0)
				config_int(cfg, "session", "end");
			else if (which[i] == 1)
				config_str(cfg, "session", "nosuch");
			else if (which[i] == 2)
				config_bool(cfg, "metrics", "time_zones");
			else
				config_foreach(cfg, "session", collect, NULL);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGABRT);
	}
}

static int
setup(void **st)
{
	const char	*data = getenv("ACTIVITYD_TEST_DATA");

	(void)st;
	if (data == NULL)
		data = "tests/data";
	srcdir = realpath(data, NULL);
	if (srcdir == NULL || mkdtemp(tmpdir) == NULL || chdir(tmpdir) != 0)
		return -1;
	return 0;
}

static int
teardown(void **st)
{
	(void)st;
	unlink("t.conf");
	unlink("dump.conf");
	if (chdir("/") != 0 || rmdir(tmpdir) != 0)
		return -1;
	free(srcdir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_are_the_documented_values),
		cmocka_unit_test(minimal_file_is_enough),
		cmocka_unit_test(every_type_parses_to_exact_values),
		cmocka_unit_test(bools_sizes_and_addresses_in_all_spellings),
		cmocka_unit_test(syntax_errors_name_file_and_line),
		cmocka_unit_test(value_errors_name_file_line_and_reason),
		cmocka_unit_test(unreadable_files_are_reported),
		cmocka_unit_test(failed_load_changes_nothing),
		cmocka_unit_test(overrides_win_and_are_validated),
		cmocka_unit_test(quoted_values_keep_hash_and_escapes),
		cmocka_unit_test(crlf_and_bom_are_accepted),
		cmocka_unit_test(huge_lines_and_binary_files_are_refused),
		cmocka_unit_test(where_names_file_line_override_or_default),
		cmocka_unit_test(foreach_is_file_order_then_overrides),
		cmocka_unit_test(validate_checks_across_keys),
		cmocka_unit_test(dump_reloads_to_an_equal_config),
		cmocka_unit_test(dump_hides_secrets),
		cmocka_unit_test(example_file_loads_and_sets_every_option),
		cmocka_unit_test(docs_describe_every_option),
		cmocka_unit_test(wrong_getter_is_a_programming_error),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
