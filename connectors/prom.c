/*
 * prom: Prometheus registry and text exposition (format version 0.0.4).
 *
 * The format, per metric:
 *
 *	# HELP <name> <help, with \ and newline escaped>
 *	# TYPE <name> counter|gauge|histogram
 *	<name>{<label>="<value, with \ " and newline escaped>",...} <value>
 *
 * and for a histogram, per series, one cumulative <name>_bucket line per
 * bound with an extra le="<bound>" label, the last one le="+Inf", then
 * <name>_sum and <name>_count. Values are printed with the fewest digits
 * that read back to the same double; NaN and infinities as NaN, +Inf, -Inf.
 *
 * Series are found by a hash of their label values (u64map from the hash to
 * a chain of series with that hash), so updating an existing series costs
 * no allocation.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "enc.h"
#include "prom.h"
#include "u64map.h"
#include "xmalloc.h"

/* More labels than this on one metric is a design error, not a use. */
#define PROM_MAX_LABELS	16

enum prom_type {
	PROM_COUNTER,
	PROM_GAUGE,
	PROM_HISTOGRAM
};

static const char *const prom_type_names[] = {
	"counter", "gauge", "histogram"
};

struct prom_series {
	struct prom_series	*next;		/* same hash */
	char			**values;	/* NULL-terminated */
	double			  value;	/* counter, gauge */
	uint64_t		 *counts;	/* histogram: per bucket, +Inf last */
	double			  sum;
	uint64_t		  count;
};

struct prom_metric {
	enum prom_type		  type;
	char			 *name;
	char			 *help;
	char			**labels;
	size_t			  nlabels;
	double			 *bounds;
	size_t			  nbounds;
	struct u64map		 *index;	/* hash -> chain */
	struct prom_series	**series;	/* creation order */
	size_t			  nseries;
	size_t			  cap;
};

struct prom {
	struct prom_metric	**metrics;
	size_t			  n;
	size_t			  cap;
};

/* ---------------------------------------------------------------- names */

static bool
prom_name_char(char c, bool first, bool colon)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
		return true;
	if (c == ':')
		return colon;
	return !first && c >= '0' && c <= '9';
}

/* Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*; label names without the colon. */
static bool
prom_valid_name(const char *s, size_t len, bool colon)
{
	size_t	i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		if (!prom_name_char(s[i], i == 0, colon))
			return false;
	}
	return true;
}

/* Does a metric already expose this sample name? */
static bool
prom_taken(const struct prom *p, const char *name)
{
	static const char *const suffixes[] = { "_bucket", "_sum", "_count" };
	const struct prom_metric	*m;
	size_t				 i, j, len;

	for (i = 0; i < p->n; i++) {
		m = p->metrics[i];
		if (strcmp(m->name, name) == 0)
			return true;
		if (m->type != PROM_HISTOGRAM)
			continue;
		len = strlen(m->name);
		if (strncmp(m->name, name, len) != 0)
			continue;
		for (j = 0; j < sizeof suffixes / sizeof suffixes[0]; j++) {
			if (strcmp(name + len, suffixes[j]) == 0)
				return true;
		}
	}
	return false;
}

static void
prom_check_free(const struct prom *p, const char *name, const char *suffix)
{
	char	*full;

	full = xasprintf("%s%s", name, suffix);
	if (prom_taken(p, full))
		fatalx("prom: metric name %s is already registered", full);
	free(full);
}

/* Split and check "a,b,c"; the names go to m->labels. */
static void
prom_parse_labels(struct prom_metric *m, const char *labels)
{
	const char	*s, *comma;
	size_t		 len, i;

	m->labels = xcalloc(PROM_MAX_LABELS + 1, sizeof *m->labels);
	if (*labels == '\0')
		return;
	for (s = labels;; s = comma + 1) {
		comma = strchr(s, ',');
		len = comma != NULL ? (size_t)(comma - s) : strlen(s);
		if (!prom_valid_name(s, len, false))
			fatalx("prom: %s: invalid label name \"%.*s\"", m->name,
			    (int)len, s);
		if (len >= 2 && s[0] == '_' && s[1] == '_')
			fatalx("prom: %s: label name %.*s is reserved",
			    m->name, (int)len, s);
		if (m->type == PROM_HISTOGRAM && len == 2 &&
		    memcmp(s, "le", 2) == 0)
			fatalx("prom: %s: a histogram cannot have label le",
			    m->name);
		for (i = 0; i < m->nlabels; i++) {
			if (strlen(m->labels[i]) == len &&
			    memcmp(m->labels[i], s, len) == 0)
				fatalx("prom: %s: label %s is repeated",
				    m->name, m->labels[i]);
		}
		if (m->nlabels == PROM_MAX_LABELS)
			fatalx("prom: %s: more than %d labels", m->name,
			    PROM_MAX_LABELS);
		m->labels[m->nlabels++] = xstrndup(s, len);
		if (comma == NULL)
			break;
	}
}

/* --------------------------------------------------------------- series */

static void
prom_series_free(struct prom_series *s)
{
	char	**v;

	for (v = s->values; *v != NULL; v++)
		free(*v);
	free(s->values);
	free(s->counts);
	free(s);
}

static uint64_t
prom_hash(const char *const *values, size_t n)
{
	uint64_t	h = 0;
	size_t		i;

	/* Chained with the length in the seed, so ("ab","") != ("a","b"). */
	for (i = 0; i < n; i++)
		h = XXH3_64bits_withSeed(values[i], strlen(values[i]),
		    h * 31 + strlen(values[i]) + 1);
	return h;
}

static struct prom_series *
prom_series_new(struct prom_metric *m, const char *const *values,
    uint64_t hash)
{
	struct prom_series	*s;
	size_t			 i;

	s = xcalloc(1, sizeof *s);
	s->values = xcalloc(m->nlabels + 1, sizeof *s->values);
	for (i = 0; i < m->nlabels; i++)
		s->values[i] = xstrdup(values[i]);
	if (m->type == PROM_HISTOGRAM)
		s->counts = xcalloc(m->nbounds + 1, sizeof *s->counts);
	s->next = u64map_put(m->index, hash, s);
	m->series = xgrow(m->series, &m->cap, m->nseries + 1,
	    sizeof *m->series);
	m->series[m->nseries++] = s;
	return s;
}

/* The series of the label values in ap (NULL-terminated), made if new. */
static struct prom_series *
prom_lookup(struct prom_metric *m, const char *op, va_list ap)
{
	const char		*values[PROM_MAX_LABELS];
	const char		*v;
	struct prom_series	*s;
	uint64_t		 hash;
	size_t			 n = 0, i;

	while ((v = va_arg(ap, const char *)) != NULL) {
		if (n == m->nlabels)
			fatalx("prom: %s %s: more than %zu label values",
			    op, m->name, m->nlabels);
		values[n++] = v;
	}
	if (n != m->nlabels)
		fatalx("prom: %s %s: %zu label values for %zu labels", op,
		    m->name, n, m->nlabels);

	hash = prom_hash(values, n);
	for (s = u64map_get(m->index, hash); s != NULL; s = s->next) {
		for (i = 0; i < n; i++) {
			if (strcmp(s->values[i], values[i]) != 0)
				break;
		}
		if (i == n)
			return s;
	}
	return prom_series_new(m, values, hash);
}

/* ------------------------------------------------------------- registry */

struct prom *
prom_new(void)
{
	return xcalloc(1, sizeof (struct prom));
}

void
prom_clear(struct prom_metric *m)
{
	size_t	i;

	for (i = 0; i < m->nseries; i++)
		prom_series_free(m->series[i]);
	m->nseries = 0;
	u64map_free(m->index);
	m->index = u64map_new();
	/* The one series of an unlabelled metric always exists. */
	if (m->nlabels == 0)
		prom_series_new(m, NULL, prom_hash(NULL, 0));
}

size_t
prom_series(const struct prom_metric *m)
{
	return m->nseries;
}

static void
prom_metric_free(struct prom_metric *m)
{
	size_t	i;

	for (i = 0; i < m->nseries; i++)
		prom_series_free(m->series[i]);
	free(m->series);
	u64map_free(m->index);
	for (i = 0; i < m->nlabels; i++)
		free(m->labels[i]);
	free(m->labels);
	free(m->bounds);
	free(m->help);
	free(m->name);
	free(m);
}

void
prom_free(struct prom *p)
{
	size_t	i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		prom_metric_free(p->metrics[i]);
	free(p->metrics);
	free(p);
}

static struct prom_metric *
prom_register(struct prom *p, enum prom_type type, const char *name,
    const char *help, const char *labels, const double *bounds, size_t n)
{
	struct prom_metric	*m;
	size_t			 i;

	if (!prom_valid_name(name, strlen(name), true))
		fatalx("prom: invalid metric name \"%s\"", name);
	prom_check_free(p, name, "");
	if (type == PROM_HISTOGRAM) {
		prom_check_free(p, name, "_bucket");
		prom_check_free(p, name, "_sum");
		prom_check_free(p, name, "_count");
	}
	for (i = 0; i < n; i++) {
		if (!isfinite(bounds[i]))
			fatalx("prom: %s: bucket bound %zu is not finite",
			    name, i);
		if (i > 0 && !(bounds[i] > bounds[i - 1]))
			fatalx("prom: %s: bucket bounds are not increasing",
			    name);
	}

	m = xcalloc(1, sizeof *m);
	m->type = type;
	m->name = xstrdup(name);
	m->help = xstrdup(help);
	prom_parse_labels(m, labels);
	if (n > 0)
		m->bounds = xmemdup(bounds, n * sizeof *bounds);
	m->nbounds = n;
	m->index = u64map_new();
	if (m->nlabels == 0)
		prom_series_new(m, NULL, prom_hash(NULL, 0));

	p->metrics = xgrow(p->metrics, &p->cap, p->n + 1, sizeof *p->metrics);
	p->metrics[p->n++] = m;
	return m;
}

struct prom_metric *
prom_counter(struct prom *p, const char *name, const char *help,
    const char *labels)
{
	return prom_register(p, PROM_COUNTER, name, help, labels, NULL, 0);
}

struct prom_metric *
prom_gauge(struct prom *p, const char *name, const char *help,
    const char *labels)
{
	return prom_register(p, PROM_GAUGE, name, help, labels, NULL, 0);
}

struct prom_metric *
prom_histogram(struct prom *p, const char *name, const char *help,
    const char *labels, const double *bounds, size_t n)
{
	return prom_register(p, PROM_HISTOGRAM, name, help, labels, bounds, n);
}

/* -------------------------------------------------------------- updates */

static void
prom_need(const struct prom_metric *m, const char *op, bool ok)
{
	if (!ok)
		fatalx("prom: %s on %s %s", op, prom_type_names[m->type],
		    m->name);
}

/* add and set: counters (never below zero) and gauges. */
static void
prom_update(struct prom_metric *m, const char *op, double v, bool set,
    va_list ap)
{
	struct prom_series	*s;

	prom_need(m, op, m->type != PROM_HISTOGRAM);
	/* "!(v >= 0)" also catches NaN. */
	if (m->type == PROM_COUNTER && !(v >= 0))
		fatalx("prom: %s %g on counter %s", op, v, m->name);
	s = prom_lookup(m, op, ap);
	s->value = set ? v : s->value + v;
}

void
prom_addl(struct prom_metric *m, double v, ...)
{
	va_list	ap;

	va_start(ap, v);
	prom_update(m, "add", v, false, ap);
	va_end(ap);
}

void
prom_setl(struct prom_metric *m, double v, ...)
{
	va_list	ap;

	va_start(ap, v);
	prom_update(m, "set", v, true, ap);
	va_end(ap);
}

void
prom_observel(struct prom_metric *m, double v, ...)
{
	struct prom_series	*s;
	va_list			 ap;
	size_t			 i;

	prom_need(m, "observe", m->type == PROM_HISTOGRAM);
	va_start(ap, v);
	s = prom_lookup(m, "observe", ap);
	va_end(ap);
	/* Buckets are "less than or equal"; NaN falls through to +Inf. */
	for (i = 0; i < m->nbounds; i++) {
		if (v <= m->bounds[i])
			break;
	}
	s->counts[i]++;
	s->sum += v;
	s->count++;
}

/* ------------------------------------------------------------ rendering */

static void
prom_put(struct enc *out, const char *s)
{
	enc_raw(out, s, strlen(s));
}

static void
prom_put_escaped(struct enc *out, const char *s, bool quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			prom_put(out, "\\\\");
		else if (*s == '\n')
			prom_put(out, "\\n");
		else if (*s == '"' && quote)
			prom_put(out, "\\\"");
		else
			enc_u8(out, (uint8_t)*s);
	}
}

static void
prom_put_num(struct enc *out, double v)
{
	char	buf[40];
	int	prec;

	if (isnan(v)) {
		prom_put(out, "NaN");
		return;
	}
	if (isinf(v)) {
		prom_put(out, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* The shortest of 15..17 significant digits that reads back exactly. */
	for (prec = 15; prec < 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (prec == 17)
		snprintf(buf, sizeof buf, "%.17g", v);
	prom_put(out, buf);
}

static void
prom_put_u64(struct enc *out, uint64_t v)
{
	char	buf[24];

	snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
	prom_put(out, buf);
}

/*
 * One sample line: name+suffix, the series' labels plus an optional le
 * label, then the caller writes the value.
 */
static void
prom_put_sample(struct enc *out, const struct prom_metric *m,
    const struct prom_series *s, const char *suffix, const double *le)
{
	size_t	i;

	prom_put(out, m->name);
	prom_put(out, suffix);
	if (m->nlabels == 0 && le == NULL) {
		enc_u8(out, ' ');
		return;
	}
	enc_u8(out, '{');
	for (i = 0; i < m->nlabels; i++) {
		if (i > 0)
			enc_u8(out, ',');
		prom_put(out, m->labels[i]);
		prom_put(out, "=\"");
		prom_put_escaped(out, s->values[i], true);
		enc_u8(out, '"');
	}
	if (le != NULL) {
		prom_put(out, m->nlabels > 0 ? ",le=\"" : "le=\"");
		prom_put_num(out, *le);
		enc_u8(out, '"');
	}
	prom_put(out, "} ");
}

static void
prom_render_series(struct enc *out, const struct prom_metric *m,
    const struct prom_series *s)
{
	const double	 inf = INFINITY;
	uint64_t	 cum = 0;
	size_t		 i;

	if (m->type != PROM_HISTOGRAM) {
		prom_put_sample(out, m, s, "", NULL);
		prom_put_num(out, s->value);
		enc_u8(out, '\n');
		return;
	}
	for (i = 0; i <= m->nbounds; i++) {
		cum += s->counts[i];
		prom_put_sample(out, m, s, "_bucket",
		    i < m->nbounds ? &m->bounds[i] : &inf);
		prom_put_u64(out, cum);
		enc_u8(out, '\n');
	}
	prom_put_sample(out, m, s, "_sum", NULL);
	prom_put_num(out, s->sum);
	enc_u8(out, '\n');
	prom_put_sample(out, m, s, "_count", NULL);
	prom_put_u64(out, s->count);
	enc_u8(out, '\n');
}

static bool
prom_all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
	}
	return true;
}

/* Label tuples in order; decimal numbers by value ("9" < "10"). */
static int
prom_series_cmp(const void *a, const void *b)
{
	const struct prom_series *const	*pa = a, *const *pb = b;
	char *const			*u, *const *v;
	size_t				 lu, lv;
	int				 c;

	for (u = (*pa)->values, v = (*pb)->values; *u != NULL; u++, v++) {
		if (prom_all_digits(*u) && prom_all_digits(*v)) {
			/* Leading zeros aside, the longer number is larger. */
			lu = strlen(*u) - strspn(*u, "0");
			lv = strlen(*v) - strspn(*v, "0");
			if (lu != lv)
				return lu < lv ? -1 : 1;
		}
		if ((c = strcmp(*u, *v)) != 0)
			return c;
	}
	return 0;
}

void
prom_render(const struct prom *p, struct enc *out)
{
	const struct prom_metric	 *m;
	struct prom_series		**sorted;
	size_t				  i, j;

	for (i = 0; i < p->n; i++) {
		m = p->metrics[i];
		if (m->nseries == 0)
			continue;
		prom_put(out, "# HELP ");
		prom_put(out, m->name);
		enc_u8(out, ' ');
		prom_put_escaped(out, m->help, false);
		prom_put(out, "\n# TYPE ");
		prom_put(out, m->name);
		enc_u8(out, ' ');
		prom_put(out, prom_type_names[m->type]);
		enc_u8(out, '\n');

		sorted = xmemdup(m->series, m->nseries * sizeof *sorted);
		qsort(sorted, m->nseries, sizeof *sorted, prom_series_cmp);
		for (j = 0; j < m->nseries; j++)
			prom_render_series(out, m, sorted[j]);
		free(sorted);
	}
}
