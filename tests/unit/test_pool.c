/*
 * Unit tests for common/pool: a started job runs on another thread and is
 * over when pool_wait returns; jobs run one after another with their own
 * arguments; waiting with no job returns at once; the CPU count is the
 * affinity mask's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include <cmocka.h>

#include "pool.h"

struct job {
	pthread_t	 ran_on;
	unsigned	 sum;	/* 1 + 2 + ... + n, computed slowly */
	unsigned	 n;
	int		 runs;
};

static void
slow_sum(void *arg)
{
	struct job *j = arg;
	unsigned i;

	j->ran_on = pthread_self();
	usleep(20000);	/* still running when the caller reaches the wait */
	for (i = 1; i <= j->n; i++)
		j->sum += i;
	j->runs++;
}

static void
job_runs_on_the_helper_and_is_over_at_the_wait(void **state)
{
	char *cause = NULL;
	struct pool *pl = pool_new("test:pool", &cause);
	struct job j = { .n = 100 };

	(void)state;
	assert_non_null(pl);
	assert_null(cause);
	pool_start(pl, slow_sum, &j);
	pool_wait(pl);
	assert_int_equal(j.runs, 1);
	assert_int_equal(j.sum, 5050);
	assert_false(pthread_equal(j.ran_on, pthread_self()));
	pool_free(pl);
}

static void
jobs_in_turn_with_their_own_arguments(void **state)
{
	char *cause = NULL;
	struct pool *pl = pool_new("test:pool", &cause);
	struct job a = { .n = 10 }, b = { .n = 20 };
	int i;

	(void)state;
	assert_non_null(pl);
	for (i = 0; i < 3; i++) {
		pool_start(pl, slow_sum, i % 2 == 0 ? &a : &b);
		pool_wait(pl);
	}
	assert_int_equal(a.runs, 2);
	assert_int_equal(a.sum, 2 * 55);
	assert_int_equal(b.runs, 1);
	assert_int_equal(b.sum, 210);
	assert_true(pthread_equal(a.ran_on, b.ran_on));
	pool_free(pl);
}

static void
wait_without_a_job_and_free_after_one(void **state)
{
	char *cause = NULL;
	struct pool *pl = pool_new("test:pool", &cause);
	struct job j = { .n = 3 };

	(void)state;
	assert_non_null(pl);
	pool_wait(pl);		/* nothing started: returns */
	pool_start(pl, slow_sum, &j);
	pool_free(pl);		/* waits for the job first */
	assert_int_equal(j.runs, 1);
	assert_int_equal(j.sum, 6);
	pool_free(NULL);
}

static void
cpus_counts_the_affinity_mask(void **state)
{
	cpu_set_t all, one;
	int cpu = 0;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof all, &all), 0);
	assert_int_equal(pool_cpus(), CPU_COUNT(&all));
	while (!CPU_ISSET(cpu, &all))
		cpu++;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
	assert_int_equal(pool_cpus(), 1);	/* as under taskset -c */
	assert_int_equal(sched_setaffinity(0, sizeof all, &all), 0);
	assert_int_equal(pool_cpus(), CPU_COUNT(&all));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(job_runs_on_the_helper_and_is_over_at_the_wait),
		cmocka_unit_test(jobs_in_turn_with_their_own_arguments),
		cmocka_unit_test(wait_without_a_job_and_free_after_one),
		cmocka_unit_test(cpus_counts_the_affinity_mask),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
