/*
 * writer: see writer.h.
 *
 * The thread sleeps on a condition variable until a batch is submitted,
 * writes it with store_write (RocksDB is safe to write from one thread
 * while others read), and tells the loop through an eventfd. busy is only
 * read and changed by the submitting thread; the mutex guards job, done
 * and the result between the two threads.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "writer.h"
#include "xmalloc.h"

struct writer {
	struct store		*store;
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	int			 efd;
	bool			 busy;
	/* Under mu. */
	struct store_batch	*job;	/* submitted, not taken by the thread */
	struct store_batch	*done;	/* written, not collected */
	int			 rc;
	char			*cause;
	bool			 stop;
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct store_batch *b;
	char *cause;
	uint64_t one = 1;
	int rc;

	for (;;) {
		pthread_mutex_lock(&w->mu);
		while (w->job == NULL && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		b = w->job;
		w->job = NULL;
		pthread_mutex_unlock(&w->mu);
		if (b == NULL)
			return NULL;	/* stopped, nothing left */
		cause = NULL;
		rc = store_write(w->store, b, &cause);
		store_batch_clear(b);
		pthread_mutex_lock(&w->mu);
		w->done = b;
		w->rc = rc;
		w->cause = cause;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		/* A full counter (2^64 - 2 unread writes) cannot happen: the
		 * loop reads it at every collect. */
		if (write(w->efd, &one, sizeof one) != (ssize_t)sizeof one)
			log_warn("state writer cannot wake the loop",
			    "error=\"%s\"", strerror(errno));
	}
}

struct writer *
writer_new(struct store *s, char **cause)
{
	struct writer *w = xcalloc(1, sizeof *w);
	int err;

	w->store = s;
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0) {
		*cause = xasprintf("state writer: eventfd: %s",
		    strerror(errno));
		free(w);
		return NULL;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	err = pthread_create(&w->thread, NULL, writer_main, w);
	if (err != 0) {
		*cause = xasprintf("state writer: thread: %s", strerror(err));
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		close(w->efd);
		free(w);
		return NULL;
	}
	return w;
}

void
writer_free(struct writer *w)
{
	struct store_batch *b = NULL;
	char *cause = NULL;

	if (w == NULL)
		return;
	if (writer_collect(w, true, &b, &cause) < 0) {
		log_error("state write failed at stop", "error=\"%s\"", cause);
		free(cause);
	}
	if (b != NULL)
		store_batch_free(b);
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	close(w->efd);
	free(w);
}

int
writer_fd(const struct writer *w)
{
	return w->efd;
}

bool
writer_busy(const struct writer *w)
{
	return w->busy;
}

void
writer_submit(struct writer *w, struct store_batch *b)
{
	if (w->busy)
		abort();	/* a caller's bug: writes would reorder */
	w->busy = true;
	pthread_mutex_lock(&w->mu);
	w->job = b;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int
writer_collect(struct writer *w, bool wait, struct store_batch **b,
    char **cause)
{
	uint64_t n;
	int rc;

	if (!w->busy)
		return 0;
	pthread_mutex_lock(&w->mu);
	while (w->done == NULL && wait)
		pthread_cond_wait(&w->cv, &w->mu);
	if (w->done == NULL) {
		pthread_mutex_unlock(&w->mu);
		return 0;
	}
	*b = w->done;
	rc = w->rc;
	if (rc != 0)
		*cause = w->cause;
	w->done = NULL;
	w->cause = NULL;
	pthread_mutex_unlock(&w->mu);
	w->busy = false;
	/* Reset the counter; EAGAIN when the thread has not written it yet
	 * (it then does, and a later collect finds nothing). */
	if (read(w->efd, &n, sizeof n) < 0 && errno != EAGAIN)
		log_warn("state writer: cannot read its eventfd",
		    "error=\"%s\"", strerror(errno));
	return rc == 0 ? 1 : -1;
}
