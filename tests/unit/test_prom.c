/*
 * Unit tests for connectors/prom: exact text exposition of counters, labelled
 * gauges (sorted, numbers by value), histograms (cumulative buckets, +Inf,
 * _sum, _count), escaping of help and label values, number formatting,
 * prom_clear; and every misuse aborting with its reason, in a forked child.
 */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "enc.h"
#include "prom.h"
#include "xmalloc.h"

/* Render p and compare with want, byte for byte. */
static void
assert_render(const struct prom *p, const char *want)
{
	struct enc	 out;
	char		*got;

	enc_init(&out);
	prom_render(p, &out);
	got = out.len > 0 ? xstrndup((const char *)out.buf, out.len) :
	    xstrdup("");
	assert_string_equal(got, want);
	free(got);
	enc_free(&out);
}

static void
counter_renders_exactly(void **state)
{
	struct prom		*p = prom_new();
	struct prom_metric	*c;

	(void)state;
	c = prom_counter(p, "activityd_late_events_total",
	    "Events older than the watermark.", "");
	assert_int_equal(prom_series(c), 1);
	assert_render(p,
	    "# HELP activityd_late_events_total Events older than the watermark.\n"
	    "# TYPE activityd_late_events_total counter\n"
	    "activityd_late_events_total 0\n");
	prom_add(c, 3);
	prom_add(c, 0.5);
	prom_add(c, 0);
	assert_render(p,
	    "# HELP activityd_late_events_total Events older than the watermark.\n"
	    "# TYPE activityd_late_events_total counter\n"
	    "activityd_late_events_total 3.5\n");
	prom_set(c, 1e6);
	assert_render(p,
	    "# HELP activityd_late_events_total Events older than the watermark.\n"
	    "# TYPE activityd_late_events_total counter\n"
	    "activityd_late_events_total 1000000\n");
	prom_free(p);
}

static void
labelled_gauge_sorted_by_values(void **state)
{
	struct prom		*p = prom_new();
	struct prom_metric	*g, *c;

	(void)state;
	g = prom_gauge(p, "activityd_consumer_lag", "Records behind.",
	    "topic,partition");
	c = prom_counter(p, "activityd_records_in_total", "Records read.",
	    "topic");
	/* A labelled metric without series renders nothing at all. */
	assert_int_equal(prom_series(g), 0);
	assert_render(p, "");

	prom_set(g, 5, "interactions", "10");
	prom_set(g, 7, "interactions", "9");
	prom_set(g, 1, "user-metadata", "0");
	prom_set(g, 2, "interactions", "0");
	prom_set(g, 3, "interactions", "9");	/* same series, replaced */
	prom_add(g, -4, "interactions", "10");	/* gauges go down too */
	prom_add(c, 2, "interactions");
	prom_add(c, 1, "interactions");
	assert_int_equal(prom_series(g), 4);
	assert_int_equal(prom_series(c), 1);
	assert_render(p,
	    "# HELP activityd_consumer_lag Records behind.\n"
	    "# TYPE activityd_consumer_lag gauge\n"
	    "activityd_consumer_lag{topic=\"interactions\",partition=\"0\"} 2\n"
	    "activityd_consumer_lag{topic=\"interactions\",partition=\"9\"} 3\n"
	    "activityd_consumer_lag{topic=\"interactions\",partition=\"10\"} 1\n"
	    "activityd_consumer_lag{topic=\"user-metadata\",partition=\"0\"} 1\n"
	    "# HELP activityd_records_in_total Records read.\n"
	    "# TYPE activityd_records_in_total counter\n"
	    "activityd_records_in_total{topic=\"interactions\"} 3\n");
	prom_free(p);
}

static void
histogram_buckets_are_cumulative(void **state)
{
	static const double	 bounds[] = { 0.5, 1, 10 };
	struct prom		*p = prom_new();
	struct prom_metric	*h, *hl;

	(void)state;
	h = prom_histogram(p, "activityd_commit_duration_seconds",
	    "Time to write a commit batch.", "", bounds, 3);
	hl = prom_histogram(p, "x_seconds", "h", "kind", bounds, 1);
	prom_observe(h, 0.25);
	prom_observe(h, 0.5);		/* on the bound: le is inclusive */
	prom_observe(h, 1);
	prom_observe(h, 4);
	prom_observe(h, 100);
	prom_observe(hl, 2, "b");
	prom_observe(hl, 0.5, "a");
	assert_render(p,
	    "# HELP activityd_commit_duration_seconds Time to write a commit batch.\n"
	    "# TYPE activityd_commit_duration_seconds histogram\n"
	    "activityd_commit_duration_seconds_bucket{le=\"0.5\"} 2\n"
	    "activityd_commit_duration_seconds_bucket{le=\"1\"} 3\n"
	    "activityd_commit_duration_seconds_bucket{le=\"10\"} 4\n"
	    "activityd_commit_duration_seconds_bucket{le=\"+Inf\"} 5\n"
	    "activityd_commit_duration_seconds_sum 105.75\n"
	    "activityd_commit_duration_seconds_count 5\n"
	    "# HELP x_seconds h\n"
	    "# TYPE x_seconds histogram\n"
	    "x_seconds_bucket{kind=\"a\",le=\"0.5\"} 1\n"
	    "x_seconds_bucket{kind=\"a\",le=\"+Inf\"} 1\n"
	    "x_seconds_sum{kind=\"a\"} 0.5\n"
	    "x_seconds_count{kind=\"a\"} 1\n"
	    "x_seconds_bucket{kind=\"b\",le=\"0.5\"} 0\n"
	    "x_seconds_bucket{kind=\"b\",le=\"+Inf\"} 1\n"
	    "x_seconds_sum{kind=\"b\"} 2\n"
	    "x_seconds_count{kind=\"b\"} 1\n");
	prom_free(p);
}

static void
histogram_without_bounds_has_only_inf(void **state)
{
	struct prom		*p = prom_new();
	struct prom_metric	*h;

	(void)state;
	h = prom_histogram(p, "h", "only +Inf", "", NULL, 0);
	prom_observe(h, -3);
	assert_render(p,
	    "# HELP h only +Inf\n"
	    "# TYPE h histogram\n"
	    "h_bucket{le=\"+Inf\"} 1\n"
	    "h_sum -3\n"
	    "h_count 1\n");
	prom_free(p);
}

static void
help_and_label_values_escaped(void **state)
{
	struct prom		*p = prom_new();
	struct prom_metric	*g;

	(void)state;
	g = prom_gauge(p, "esc", "back\\slash \"quoted\"\nsecond line",
	    "v,w");
	prom_set(g, 1, "a\\b\"c\nd", "");
	assert_render(p,
	    "# HELP esc back\\\\slash \"quoted\"\\nsecond line\n"
	    "# TYPE esc gauge\n"
	    "esc{v=\"a\\\\b\\\"c\\nd\",w=\"\"} 1\n");
	prom_free(p);
}

static void
numbers_shortest_exact_form(void **state)
{
	static const struct {
		double		 v;
		const char	*text;
	} cases[] = {
		{ 0, "0" },
		{ 0.1, "0.1" },
		{ -0.5, "-0.5" },
		{ 1.0 / 3, "0.3333333333333333" },
		{ 0.1 + 0.2, "0.30000000000000004" },
		{ 123456789012.0, "123456789012" },
		{ 9007199254740992.0, "9007199254740992" },
		{ 1e21, "1e+21" },
		{ 1.5e-7, "1.5e-07" },
	};
	struct prom		*p;
	struct prom_metric	*g;
	char			*want;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		p = prom_new();
		g = prom_gauge(p, "g", "", "");
		prom_set(g, cases[i].v);
		want = xasprintf("# HELP g \n# TYPE g gauge\ng %s\n",
		    cases[i].text);
		assert_render(p, want);
		free(want);
		prom_free(p);
	}
	p = prom_new();
	g = prom_gauge(p, "g", "special", "k");
	prom_set(g, NAN, "a");
	prom_set(g, INFINITY, "b");
	prom_set(g, -INFINITY, "c");
	assert_render(p,
	    "# HELP g special\n# TYPE g gauge\n"
	    "g{k=\"a\"} NaN\ng{k=\"b\"} +Inf\ng{k=\"c\"} -Inf\n");
	prom_free(p);
}

static void
clear_drops_series(void **state)
{
	struct prom		*p = prom_new();
	struct prom_metric	*g, *u;

	(void)state;
	g = prom_gauge(p, "lag", "l", "partition");
	u = prom_gauge(p, "open", "o", "");
	prom_set(g, 1, "1");
	prom_set(g, 2, "2");
	prom_set(u, 42);
	prom_clear(g);
	prom_clear(u);
	assert_int_equal(prom_series(g), 0);
	assert_int_equal(prom_series(u), 1);
	assert_render(p, "# HELP open o\n# TYPE open gauge\nopen 0\n");
	/* A series made again after clearing starts from zero. */
	prom_add(g, 5, "2");
	assert_render(p,
	    "# HELP lag l\n# TYPE lag gauge\nlag{partition=\"2\"} 5\n"
	    "# HELP open o\n# TYPE open gauge\nopen 0\n");
	prom_free(p);
}

/* Many series: each keeps its own value (lookups by hash and chain). */
static void
many_series_keep_values(void **state)
{
	struct prom		*p = prom_new();
	struct prom_metric	*c;
	char			 a[16], b[16];
	int			 i;

	(void)state;
	c = prom_counter(p, "c_total", "", "a,b");
	for (i = 0; i < 2000; i++) {
		/* ("1","23") and ("12","3") must be different series. */
		snprintf(a, sizeof a, "%d", i / 100);
		snprintf(b, sizeof b, "%d", i % 100);
		prom_add(c, i, a, b);
		prom_add(c, 1, a, b);
	}
	assert_int_equal(prom_series(c), 2000);
	prom_add(c, 0, "1", "23");
	prom_add(c, 0, "12", "3");
	assert_int_equal(prom_series(c), 2000);
	prom_clear(c);
	prom_add(c, 7, "1", "23");
	prom_add(c, 8, "12", "3");
	assert_render(p,
	    "# HELP c_total \n# TYPE c_total counter\n"
	    "c_total{a=\"1\",b=\"23\"} 7\nc_total{a=\"12\",b=\"3\"} 8\n");
	prom_free(p);
}

/* ------------------------------------------------- misuse aborts (fatalx) */

/*
 * Misuse number i: with run, do it (it must abort); either way return the
 * message it aborts with, or NULL past the last case.
 */
static const char *
misuse(int i, bool run)
{
	static const double	 same[] = { 1, 1 };
	const double		 inf[] = { 1, INFINITY };
	struct prom		*p = prom_new();
	const char		*want = NULL;

#define MISUSE(n, code, msg)	case n: if (run) { code; } want = msg; break
	switch (i) {
	MISUSE(0, prom_counter(p, "1st_total", "", ""),
	    "invalid metric name \"1st_total\"");
	MISUSE(1, prom_gauge(p, "activityd-lag", "", ""),
	    "invalid metric name \"activityd-lag\"");
	MISUSE(2, prom_gauge(p, "", "", ""), "invalid metric name \"\"");
	MISUSE(3, prom_gauge(p, "g", "", "topic,par:tition"),
	    "g: invalid label name \"par:tition\"");
	MISUSE(4, prom_gauge(p, "g", "", "topic,"),
	    "g: invalid label name \"\"");
	MISUSE(5, prom_gauge(p, "g", "", "__name"),
	    "g: label name __name is reserved");
	MISUSE(6, prom_histogram(p, "h", "", "le", NULL, 0),
	    "h: a histogram cannot have label le");
	MISUSE(7, prom_gauge(p, "g", "", "a,b,a"), "g: label a is repeated");
	MISUSE(8, prom_gauge(p, "g", "", ""); prom_counter(p, "g", "", ""),
	    "metric name g is already registered");
	MISUSE(9, prom_histogram(p, "h", "", "", NULL, 0);
	    prom_counter(p, "h_count", "", ""),
	    "metric name h_count is already registered");
	MISUSE(10, prom_counter(p, "h_sum", "", "");
	    prom_histogram(p, "h", "", "", NULL, 0),
	    "metric name h_sum is already registered");
	MISUSE(11, prom_set(prom_gauge(p, "g", "", "a,b"), 1, "x"),
	    "set g: 1 label values for 2 labels");
	MISUSE(12, prom_add(prom_counter(p, "c", "", "a"), 1, "x", "y"),
	    "add c: more than 1 label values");
	MISUSE(13, prom_add(prom_counter(p, "c", "", ""), 1, "x"),
	    "add c: more than 0 label values");
	MISUSE(14, prom_add(prom_counter(p, "c", "", ""), -1),
	    "add -1 on counter c");
	MISUSE(15, prom_set(prom_counter(p, "c", "", ""), NAN),
	    "set nan on counter c");
	MISUSE(16, prom_observe(prom_counter(p, "c", "", ""), 1),
	    "observe on counter c");
	MISUSE(17, prom_set(prom_histogram(p, "h", "", "", NULL, 0), 1),
	    "set on histogram h");
	MISUSE(18, prom_histogram(p, "h", "", "", same, 2),
	    "h: bucket bounds are not increasing");
	MISUSE(19, prom_histogram(p, "h", "", "", inf, 2),
	    "h: bucket bound 1 is not finite");
	}
#undef MISUSE
	prom_free(p);
	return want;
}

static void
misuse_aborts_with_reason(void **state)
{
	const char	*msg;
	char		 buf[512], *want;
	size_t		 len;
	ssize_t		 r;
	pid_t		 pid;
	int		 i, fds[2], status;

	(void)state;
	for (i = 0; (msg = misuse(i, false)) != NULL; i++) {
		assert_int_equal(pipe(fds), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			if (dup2(fds[1], 2) == -1)
				_exit(126);
			misuse(i, true);
			_exit(0);	/* not reached if the misuse aborts */
		}
		close(fds[1]);
		len = 0;
		while (len < sizeof buf - 1 &&
		    (r = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0)
			len += (size_t)r;
		buf[len] = '\0';
		close(fds[0]);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGABRT);
		want = xasprintf("activityd: fatal: prom: %s\n", msg);
		assert_string_equal(buf, want);
		free(want);
	}
	assert_int_equal(i, 20);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(counter_renders_exactly),
		cmocka_unit_test(labelled_gauge_sorted_by_values),
		cmocka_unit_test(histogram_buckets_are_cumulative),
		cmocka_unit_test(histogram_without_bounds_has_only_inf),
		cmocka_unit_test(help_and_label_values_escaped),
		cmocka_unit_test(numbers_shortest_exact_form),
		cmocka_unit_test(clear_drops_series),
		cmocka_unit_test(many_series_keep_values),
		cmocka_unit_test(misuse_aborts_with_reason),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
