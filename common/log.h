/*
 * log: structured log lines to stderr, one per event, for journald:
 *   level=info msg="partition assigned" topic=interactions partition=3
 * The level is checked before anything is formatted (as serverLog does).
 */
#ifndef AD_LOG_H
#define AD_LOG_H

enum log_level {
	LOG_DEBUG,
	LOG_INFO,
	LOG_NOTICE,
	LOG_WARNING,
	LOG_ERROR
};

void log_set_level(enum log_level);
enum log_level log_get_level(void);
/* "debug", "info", ...; returns -1 if unknown. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level);
/* fmt formats the key=value tail after msg="..."; may be NULL. */
void log_msg(enum log_level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(m, ...)	do { if (log_get_level() <= LOG_DEBUG) \
	log_msg(LOG_DEBUG, m, __VA_ARGS__); } while (0)
#define log_info(m, ...)	log_msg(LOG_INFO, m, __VA_ARGS__)
#define log_notice(m, ...)	log_msg(LOG_NOTICE, m, __VA_ARGS__)
#define log_warn(m, ...)	log_msg(LOG_WARNING, m, __VA_ARGS__)
#define log_error(m, ...)	log_msg(LOG_ERROR, m, __VA_ARGS__)

#endif
