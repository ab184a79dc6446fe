/*
 * prom: a small Prometheus registry rendered in the text exposition format,
 * version 0.0.4 (what /metrics serves).
 *
 * A metric has a name, a help text and a fixed list of label names; its
 * series (one per combination of label values) are created on first use.
 * Label values are passed as trailing const char * arguments, as many as the
 * metric declares; the macros below append the NULL sentinel that lets the
 * count be checked. Misuse is a programming error and aborts (fatalx): an
 * invalid or repeated metric name, an invalid label name, the wrong number of
 * label values, a negative counter increment, an operation that does not fit
 * the metric's type.
 *
 * Counters accept prom_add and prom_set (to mirror a counter kept elsewhere
 * at scrape time); gauges prom_add and prom_set; histograms prom_observe.
 * Series are rendered sorted by label values (all-digit values in numeric
 * order, so partition 10 comes after partition 9). A metric without labels
 * always has its one series, starting at 0; a labelled metric without
 * series renders nothing.
 *
 * Not thread-safe: the daemon uses one registry from its single loop.
 */
#ifndef AD_PROM_H
#define AD_PROM_H

#include <stddef.h>

struct enc;
struct prom;
struct prom_metric;

struct prom *prom_new(void);
void prom_free(struct prom *);

/*
 * Register a metric. labels is a comma-separated list of label names
 * ("topic,partition") or "". Histogram bounds must be finite and strictly
 * increasing; the +Inf bucket is implicit.
 */
struct prom_metric *prom_counter(struct prom *, const char *name,
    const char *help, const char *labels);
struct prom_metric *prom_gauge(struct prom *, const char *name,
    const char *help, const char *labels);
struct prom_metric *prom_histogram(struct prom *, const char *name,
    const char *help, const char *labels, const double *bounds, size_t n);

void prom_addl(struct prom_metric *, double v, ...)
    __attribute__((sentinel));
void prom_setl(struct prom_metric *, double v, ...)
    __attribute__((sentinel));
void prom_observel(struct prom_metric *, double v, ...)
    __attribute__((sentinel));

#define prom_add(m, v, ...)	\
	prom_addl((m), (v), ##__VA_ARGS__, (char *)NULL)
#define prom_set(m, v, ...)	\
	prom_setl((m), (v), ##__VA_ARGS__, (char *)NULL)
#define prom_observe(m, v, ...)	\
	prom_observel((m), (v), ##__VA_ARGS__, (char *)NULL)

/* Forget every series (an unlabelled metric goes back to 0). */
void prom_clear(struct prom_metric *);
/* Number of series a metric holds now. */
size_t prom_series(const struct prom_metric *);

/* Append the text exposition of every metric, in registration order. */
void prom_render(const struct prom *, struct enc *out);

#endif
