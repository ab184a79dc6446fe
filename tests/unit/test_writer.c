/*
 * Unit tests for connectors/writer: a batch written on the writer's
 * thread is in the store once collected, the eventfd says when, writes
 * stay in submission order, and a failed write comes back with its cause
 * and leaves the store as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <cmocka.h>

#include "tmpdir.h"

#include "store.h"
#include "writer.h"
#include "xmalloc.h"

struct fixture {
	char		 tmp[64];
	struct store	*store;
	struct writer	*w;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);
	struct store_opts so = { 0 };
	char *dir, *cause = NULL;

	strcpy(f->tmp, "/tmp/test_writer.XXXXXX");
	if (mkdtemp(f->tmp) == NULL)
		return -1;
	dir = xasprintf("%s/db", f->tmp);
	f->store = store_open(dir, &so, &cause);
	free(dir);
	if (f->store == NULL) {
		fprintf(stderr, "store_open: %s\n", cause);
		return -1;
	}
	f->w = writer_new(f->store, &cause);
	if (f->w == NULL) {
		fprintf(stderr, "writer_new: %s\n", cause);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int r;

	writer_free(f->w);
	store_close(f->store);
	r = tmpdir_remove(f->tmp);
	free(f);
	return r;
}

/* The value of key in the users family; NULL when absent. */
static char *
get(struct store *s, const char *key)
{
	char *val = NULL, *cause = NULL;
	size_t vlen;
	int r = store_get(s, STORE_CF_USERS, key, strlen(key), &val, &vlen,
	    &cause);

	if (r < 0)
		fail_msg("store_get: %s", cause);
	return r == 0 ? val : NULL;
}

static void
put(struct store_batch *b, const char *key, const char *val)
{
	store_batch_put(b, STORE_CF_USERS, key, strlen(key), val, strlen(val));
}

/* Waits (up to 10 s) until the writer's fd is readable. */
static void
wait_readable(struct writer *w)
{
	struct pollfd pfd = { .fd = writer_fd(w), .events = POLLIN };

	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_true(pfd.revents & POLLIN);
}

static bool
readable_now(struct writer *w)
{
	struct pollfd pfd = { .fd = writer_fd(w), .events = POLLIN };

	return poll(&pfd, 1, 0) == 1;
}

static void
test_write_and_collect(void **state)
{
	struct fixture *f = *state;
	struct store_batch *b = store_batch_new(), *back = NULL;
	char *cause = NULL, *v;

	/* Idle: nothing to collect, nothing readable. */
	assert_false(writer_busy(f->w));
	assert_int_equal(writer_collect(f->w, false, &back, &cause), 0);
	assert_null(back);
	assert_false(readable_now(f->w));

	put(b, "u1", "alpha");
	put(b, "u2", "beta");
	writer_submit(f->w, b);
	assert_true(writer_busy(f->w));
	wait_readable(f->w);
	/* The fd is written after the result: a collect without waiting
	 * now finds it, and the fd is quiet again. */
	assert_int_equal(writer_collect(f->w, false, &back, &cause), 1);
	assert_ptr_equal(back, b);
	assert_null(cause);
	assert_int_equal(store_batch_count(back), 0);
	assert_int_equal(store_batch_bytes(back), 0);
	assert_false(writer_busy(f->w));
	assert_false(readable_now(f->w));
	v = get(f->store, "u1");
	assert_string_equal(v, "alpha");
	free(v);
	v = get(f->store, "u2");
	assert_string_equal(v, "beta");
	free(v);
	store_batch_free(back);
}

/* Collected with wait, each write is in the store before the next is
 * submitted, so the last one of a key wins. */
static void
test_writes_in_order(void **state)
{
	struct fixture *f = *state;
	struct store_batch *b = store_batch_new(), *back = NULL;
	char *cause = NULL, *v, val[16];
	int i;

	for (i = 0; i < 50; i++) {
		snprintf(val, sizeof val, "v%d", i);
		put(b, "k", val);
		writer_submit(f->w, b);
		assert_int_equal(writer_collect(f->w, true, &back, &cause), 1);
		assert_ptr_equal(back, b);
		v = get(f->store, "k");
		assert_string_equal(v, val);
		free(v);
	}
	assert_false(writer_busy(f->w));
	store_batch_free(b);
}

static void
test_failed_write(void **state)
{
	struct fixture *f = *state;
	struct store_batch *b = store_batch_new(), *back = NULL;
	char *cause = NULL, *v;

	put(b, "u1", "kept");
	writer_submit(f->w, b);
	assert_int_equal(writer_collect(f->w, true, &back, &cause), 1);

	store_fail_writes(f->store, "disk on fire");
	put(back, "u1", "lost");
	put(back, "u3", "lost too");
	writer_submit(f->w, back);
	back = NULL;
	assert_int_equal(writer_collect(f->w, true, &back, &cause), -1);
	assert_ptr_equal(back, b);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "disk on fire"));
	free(cause);
	assert_int_equal(store_batch_count(back), 0);
	assert_false(writer_busy(f->w));
	v = get(f->store, "u1");
	assert_string_equal(v, "kept");
	free(v);
	assert_null(get(f->store, "u3"));
	store_batch_free(back);
}

/* writer_free waits for a write in flight: it is in the store after. */
static void
test_free_waits(void **state)
{
	struct fixture *f = *state;
	struct store_batch *b = store_batch_new();
	char *v;
	int i;

	for (i = 0; i < 20000; i++) {
		char key[16];

		snprintf(key, sizeof key, "key%05d", i);
		put(b, key, "some value of a few bytes");
	}
	writer_submit(f->w, b);
	writer_free(f->w);	/* frees b too */
	f->w = NULL;
	v = get(f->store, "key19999");
	assert_string_equal(v, "some value of a few bytes");
	free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_and_collect, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_writes_in_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_failed_write, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_free_waits, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
