/*
 * config: the daemon's INI configuration.
 *
 * Every option the daemon knows is declared once, in the table in config.c
 * (section, key, type, default, bounds, one-line help), as tmux does in
 * options-table.c. A file supplies values, `-o section.key=value`
 * overrides win over it, and anything not set keeps its default. Two
 * sections are passed through untouched: [kafka] to librdkafka and
 * [rocksdb] to RocksDB's options-from-string; their keys are not checked
 * here, but each entry keeps where it came from so a rejection by the
 * library can still be reported as FILE:LINE.
 *
 * Errors come back as -1 and an allocated *cause (caller frees) of the form
 * "FILE:LINE: reason", "-o ASSIGNMENT: reason" or "FILE: cannot open: ...".
 * A failed load or set leaves the configuration unchanged.
 */
#ifndef AD_CONFIG_H
#define AD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct config;

/* A configuration holding every default. */
struct config *config_new(void);
void config_free(struct config *);

/*
 * Read an INI file. Values set by config_set stay in force whatever the
 * file says, so overrides win even if given first. Loading a second file
 * layers it over the first.
 */
int config_load_file(struct config *, const char *path, char **cause);
/* Apply one "section.key=value" override; the section ends at the first dot. */
int config_set(struct config *, const char *assignment, char **cause);
/* Checks across keys; errors name where the offending value was set. */
int config_validate(const struct config *, char **cause);

/*
 * Typed getters for options of the table. Asking for an undeclared option
 * or with the wrong type is a programming error and aborts (fatalx).
 *   config_str:  string, enum, addr (addr as written: "host:port")
 *   config_int:  int, duration (milliseconds), size (bytes)
 *   config_bool: bool
 *   config_list: list; returns the item count, *items is an internal
 *                NULL-terminated array valid until the value changes
 *   config_enum: enum; index of the value in the declared choices
 *   config_addr: addr; host without brackets, port
 */
const char *config_str(const struct config *, const char *section,
    const char *key);
int64_t config_int(const struct config *, const char *section,
    const char *key);
bool config_bool(const struct config *, const char *section,
    const char *key);
size_t config_list(const struct config *, const char *section,
    const char *key, const char *const **items);
int config_enum(const struct config *, const char *section,
    const char *key);
void config_addr(const struct config *, const char *section,
    const char *key, const char **host, uint16_t *port);

/* Where a value came from: "FILE:LINE", "-o" or "default". */
const char *config_where(const struct config *, const char *section,
    const char *key);

/*
 * Entries of a pass-through section ("kafka", "rocksdb"): those from files
 * in file order, then overrides in the order given. A key set by an
 * override is reported once, with the override's value.
 */
typedef void (*config_kv_cb)(const char *key, const char *value,
    const char *where, void *arg);
void config_foreach(const struct config *, const char *section,
    config_kv_cb, void *arg);

/*
 * Print the effective configuration as an INI file that loads back to an
 * equal configuration: every table option with a comment naming its
 * origin, then the pass-through sections. Pass-through keys that look like
 * secrets (password, secret, jaas, private key) are printed commented out
 * with the value hidden.
 */
void config_dump(const struct config *, FILE *);

/* Same effective values (origins are ignored). */
bool config_equal(const struct config *, const struct config *);

/* The option table, for documentation and tests. */
size_t config_table_size(void);
void config_table_entry(size_t i, const char **section, const char **key,
    const char **def, const char **help);

#endif
