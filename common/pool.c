/*
 * pool: see pool.h.
 *
 * A job is a function and its argument, handed over under a mutex; the
 * helper sleeps on a condition variable between jobs. A batch's half is a
 * millisecond or more of work, so the wake-up (tens of microseconds here)
 * is small beside it, and a helper that spun instead would take the core
 * the consumer's own threads need between batches.
 */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "xmalloc.h"

struct pool {
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	/* Under mu. */
	void		(*fn)(void *);	/* started, not over; NULL: idle */
	void		*arg;
	bool		 stop;
};

static void *
pool_main(void *arg)
{
	struct pool *pl = arg;
	void (*fn)(void *);
	void *a;

	pthread_mutex_lock(&pl->mu);
	for (;;) {
		while (pl->fn == NULL && !pl->stop)
			pthread_cond_wait(&pl->cv, &pl->mu);
		if (pl->fn == NULL)
			break;
		fn = pl->fn;
		a = pl->arg;
		pthread_mutex_unlock(&pl->mu);
		fn(a);
		pthread_mutex_lock(&pl->mu);
		pl->fn = NULL;
		pthread_cond_broadcast(&pl->cv);
	}
	pthread_mutex_unlock(&pl->mu);
	return NULL;
}

struct pool *
pool_new(const char *name, char **cause)
{
	struct pool *pl = xcalloc(1, sizeof *pl);
	int err;

	pthread_mutex_init(&pl->mu, NULL);
	pthread_cond_init(&pl->cv, NULL);
	err = pthread_create(&pl->thread, NULL, pool_main, pl);
	if (err != 0) {
		*cause = xasprintf("%s thread: %s", name, strerror(err));
		pthread_cond_destroy(&pl->cv);
		pthread_mutex_destroy(&pl->mu);
		free(pl);
		return NULL;
	}
	/* Only a name in ps and perf: failing to set it changes nothing. */
	(void)pthread_setname_np(pl->thread, name);
	return pl;
}

void
pool_free(struct pool *pl)
{
	if (pl == NULL)
		return;
	pool_wait(pl);
	pthread_mutex_lock(&pl->mu);
	pl->stop = true;
	pthread_cond_broadcast(&pl->cv);
	pthread_mutex_unlock(&pl->mu);
	pthread_join(pl->thread, NULL);
	pthread_cond_destroy(&pl->cv);
	pthread_mutex_destroy(&pl->mu);
	free(pl);
}

void
pool_start(struct pool *pl, void (*fn)(void *), void *arg)
{
	pthread_mutex_lock(&pl->mu);
	if (pl->fn != NULL)
		abort();	/* a caller's bug: two jobs at once */
	pl->fn = fn;
	pl->arg = arg;
	pthread_cond_broadcast(&pl->cv);
	pthread_mutex_unlock(&pl->mu);
}

void
pool_wait(struct pool *pl)
{
	pthread_mutex_lock(&pl->mu);
	while (pl->fn != NULL)
		pthread_cond_wait(&pl->cv, &pl->mu);
	pthread_mutex_unlock(&pl->mu);
}

int
pool_cpus(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof set, &set) != 0)
		return 1;
	n = CPU_COUNT(&set);
	return n > 0 ? n : 1;
}
