/*
 * xmalloc: allocation that cannot fail.
 *
 * activityd treats allocation failure as unrecoverable (as tmux does): the
 * state is durable in RocksDB and the process restarts under systemd, so a
 * clean abort is better than a half-updated in-memory state.
 */
#ifndef AD_XMALLOC_H
#define AD_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/*
 * Grow an array to at least `need` elements, doubling; updates *cap. The
 * check is inline: encoders call it for every field they append.
 */
void *xgrow_to(void *ptr, size_t *cap, size_t need, size_t elem_size);
/*
 * The same by half: large arrays that are rarely reallocated, where a
 * doubled one would sit a quarter empty on average.
 */
void *xgrow_half(void *ptr, size_t *cap, size_t need, size_t elem_size);

static inline void *
xgrow(void *ptr, size_t *cap, size_t need, size_t elem_size)
{
	return need <= *cap ? ptr : xgrow_to(ptr, cap, need, elem_size);
}
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);
/* printf into a freshly allocated string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "activityd: fatal: ..." to stderr and abort. */
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
