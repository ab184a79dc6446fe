/*
 * Unit tests for connectors/store: column families, atomic batches, prefix
 * iteration, reopen, locking, read-only opens, checkpoints, format version.
 *
 * Run as "test_store --hold DIR", the program is the helper process that
 * keeps a store open read-write (see hold_main) for the cross-process tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "tmpdir.h"

#include <rocksdb/c.h>

#include "enc.h"
#include "store.h"
#include "xmalloc.h"

struct fixture {
	char	 tmp[64];
	char	*dir;		/* tmp/db */
};

static int
setup(void **state)
{
	struct fixture	*f;

	f = xcalloc(1, sizeof *f);
	strcpy(f->tmp, "/tmp/test_store.XXXXXX");
	if (mkdtemp(f->tmp) == NULL)
		return -1;
	f->dir = xasprintf("%s/db", f->tmp);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	int		 r;

	r = tmpdir_remove(f->tmp);
	free(f->dir);
	free(f);
	return r;
}

static struct store *
open_ok(const char *dir, const struct store_opts *so)
{
	struct store	*s;
	char		*cause = NULL;

	s = store_open(dir, so, &cause);
	if (s == NULL)
		fail_msg("store_open %s: %s", dir, cause);
	assert_null(cause);
	return s;
}

/* store_open must fail with a cause containing want. */
static void
open_fails(const char *dir, const struct store_opts *so, const char *want)
{
	struct store	*s;
	char		*cause = NULL;

	s = store_open(dir, so, &cause);
	assert_null(s);
	assert_non_null(cause);
	if (strstr(cause, want) == NULL)
		fail_msg("cause \"%s\" lacks \"%s\"", cause, want);
	free(cause);
}

static void
put1(struct store *s, enum store_cf cf, const char *k, const char *v)
{
	struct store_batch	*b;
	char			*cause = NULL;

	b = store_batch_new();
	store_batch_put(b, cf, k, strlen(k), v, strlen(v));
	if (store_write(s, b, &cause) != 0)
		fail_msg("store_write: %s", cause);
	store_batch_free(b);
}

/* Value of k must be exactly want (NULL: absent). */
static void
expect_val(struct store *s, enum store_cf cf, const void *k, size_t kl,
    const char *want, size_t wl)
{
	char	*val = NULL, *cause = NULL;
	size_t	 vlen = 0;
	int	 r;

	r = store_get(s, cf, k, kl, &val, &vlen, &cause);
	assert_null(cause);
	if (want == NULL) {
		assert_int_equal(r, 1);
		assert_null(val);
		return;
	}
	assert_int_equal(r, 0);
	assert_int_equal(vlen, wl);
	assert_memory_equal(val, want, vlen);
	assert_int_equal(val[vlen], '\0');
	free(val);
}

static void
expect_str(struct store *s, enum store_cf cf, const char *k, const char *want)
{
	expect_val(s, cf, k, strlen(k), want,
	    want != NULL ? strlen(want) : 0);
}

/* The default family holds format version 1 as a big-endian u32. */
static void
expect_format_version(struct store *s)
{
	expect_val(s, STORE_CF_DEFAULT, STORE_FORMAT_KEY,
	    strlen(STORE_FORMAT_KEY), "\0\0\0\1", 4);
}

static void
test_cf_names(void **state)
{
	(void)state;
	assert_string_equal(store_cf_name(STORE_CF_DEFAULT), "default");
	assert_string_equal(store_cf_name(STORE_CF_OFFSETS), "offsets");
	assert_string_equal(store_cf_name(STORE_CF_USERS), "users");
	assert_string_equal(store_cf_name(STORE_CF_ACTIVE), "active");
	assert_string_equal(store_cf_name(STORE_CF_CLOCK), "clock");
	assert_string_equal(store_cf_name(STORE_CF_META), "meta");
	assert_string_equal(store_cf_name(STORE_CF_OUTBOX), "outbox");
	assert_string_equal(store_cf_name(STORE_NCF), "unknown");
}

/* The same key in every family holds that family's own value. */
static void
test_put_get_across_cfs(void **state)
{
	struct fixture	*f = *state;
	struct store	*s;
	char		 v[32];
	int		 c;

	s = open_ok(f->dir, NULL);
	for (c = 0; c < STORE_NCF; c++) {
		snprintf(v, sizeof v, "value-of-%s", store_cf_name(c));
		put1(s, c, "k", v);
	}
	for (c = 0; c < STORE_NCF; c++) {
		snprintf(v, sizeof v, "value-of-%s", store_cf_name(c));
		expect_str(s, c, "k", v);
		expect_str(s, c, "k2", NULL);
	}
	/* Binary keys and values, including NUL bytes and empty ones. */
	put1(s, STORE_CF_USERS, "", "empty key");
	expect_val(s, STORE_CF_USERS, "", 0, "empty key", 9);
	{
		struct store_batch	*b = store_batch_new();
		char			*cause = NULL;

		store_batch_put(b, STORE_CF_USERS, "a\0b", 3, "", 0);
		assert_int_equal(store_write(s, b, &cause), 0);
		store_batch_free(b);
	}
	expect_val(s, STORE_CF_USERS, "a\0b", 3, "", 0);
	expect_val(s, STORE_CF_USERS, "a", 1, NULL, 0);
	expect_format_version(s);
	store_close(s);
}

static void
test_batch_atomic(void **state)
{
	struct fixture		*f = *state;
	struct store		*s;
	struct store_batch	*b;
	char			*cause = NULL;

	s = open_ok(f->dir, NULL);
	b = store_batch_new();
	assert_int_equal(store_batch_count(b), 0);
	assert_int_equal(store_batch_bytes(b), 0);
	/* An empty batch writes nothing and succeeds. */
	assert_int_equal(store_write(s, b, &cause), 0);

	store_batch_put(b, STORE_CF_USERS, "u1", 2, "state", 5);
	store_batch_put(b, STORE_CF_OFFSETS, "t/0", 3, "42", 2);
	store_batch_put(b, STORE_CF_OUTBOX, "o1", 2, "out", 3);
	assert_int_equal(store_batch_count(b), 3);
	/* op, cf, klen, key, vlen, value per put. */
	assert_int_equal(store_batch_bytes(b), (4 + 2 + 5) + (4 + 3 + 2) +
	    (4 + 2 + 3));
	assert_int_equal(store_write(s, b, &cause), 0);
	assert_null(cause);
	/* Not cleared by the write. */
	assert_int_equal(store_batch_count(b), 3);
	expect_str(s, STORE_CF_USERS, "u1", "state");
	expect_str(s, STORE_CF_OFFSETS, "t/0", "42");
	expect_str(s, STORE_CF_OUTBOX, "o1", "out");

	store_batch_clear(b);
	assert_int_equal(store_batch_count(b), 0);
	assert_int_equal(store_batch_bytes(b), 0);
	store_batch_put(b, STORE_CF_USERS, "u2", 2, "state2", 6);
	store_batch_put(b, STORE_CF_OFFSETS, "t/0", 3, "43", 2);
	store_batch_del(b, STORE_CF_OUTBOX, "o1", 2);
	store_fail_writes(s, "disk on fire");
	assert_int_equal(store_write(s, b, &cause), -1);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "disk on fire"));
	free(cause);
	cause = NULL;
	/* Nothing of the failed batch is visible. */
	expect_str(s, STORE_CF_USERS, "u2", NULL);
	expect_str(s, STORE_CF_OFFSETS, "t/0", "42");
	expect_str(s, STORE_CF_OUTBOX, "o1", "out");

	/* Cleared fault: the same batch now goes through whole. */
	store_fail_writes(s, NULL);
	assert_int_equal(store_write(s, b, &cause), 0);
	expect_str(s, STORE_CF_USERS, "u2", "state2");
	expect_str(s, STORE_CF_OFFSETS, "t/0", "43");
	expect_str(s, STORE_CF_OUTBOX, "o1", NULL);

	/* Later operations in a batch win over earlier ones on a key. */
	store_batch_clear(b);
	store_batch_put(b, STORE_CF_META, "m", 1, "first", 5);
	store_batch_del(b, STORE_CF_META, "m", 1);
	store_batch_put(b, STORE_CF_META, "m", 1, "last", 4);
	assert_int_equal(store_write(s, b, &cause), 0);
	expect_str(s, STORE_CF_META, "m", "last");

	store_batch_free(b);
	store_close(s);
}

static void
test_delete_and_range(void **state)
{
	struct fixture		*f = *state;
	struct store		*s;
	struct store_batch	*b;
	char			*cause = NULL;
	const char		*keys[] = { "a", "b", "c", "c1", "d", "e" };
	size_t			 i;

	s = open_ok(f->dir, NULL);
	b = store_batch_new();
	for (i = 0; i < 6; i++) {
		store_batch_put(b, STORE_CF_ACTIVE, keys[i], strlen(keys[i]),
		    "v", 1);
		store_batch_put(b, STORE_CF_CLOCK, keys[i], strlen(keys[i]),
		    "w", 1);
	}
	assert_int_equal(store_write(s, b, &cause), 0);
	store_batch_clear(b);
	store_batch_del(b, STORE_CF_ACTIVE, "b", 1);
	store_batch_del(b, STORE_CF_ACTIVE, "zz", 2);	/* absent: no-op */
	/* [c, e): c, c1 and d go; e stays (the end is exclusive). */
	store_batch_del_range(b, STORE_CF_ACTIVE, "c", 1, "e", 1);
	assert_int_equal(store_batch_count(b), 3);
	assert_int_equal(store_write(s, b, &cause), 0);
	expect_str(s, STORE_CF_ACTIVE, "a", "v");
	expect_str(s, STORE_CF_ACTIVE, "b", NULL);
	expect_str(s, STORE_CF_ACTIVE, "c", NULL);
	expect_str(s, STORE_CF_ACTIVE, "c1", NULL);
	expect_str(s, STORE_CF_ACTIVE, "d", NULL);
	expect_str(s, STORE_CF_ACTIVE, "e", "v");
	/* Other families are untouched. */
	for (i = 0; i < 6; i++)
		expect_str(s, STORE_CF_CLOCK, keys[i], "w");
	store_batch_free(b);
	store_close(s);
}

/* Keys for the iteration tests, in byte order. */
static const struct {
	const char	*k;
	size_t		 kl;
} iter_keys[] = {
	{ "", 0 },
	{ "\x00", 1 },
	{ "a", 1 },
	{ "ab", 2 },
	{ "ab\x00", 3 },
	{ "ab\xff", 3 },
	{ "ab\xff\x00", 4 },
	{ "ab\xff\xff", 4 },
	{ "ac", 2 },
	{ "b", 1 },
	{ "\xfe\xff", 2 },
	{ "\xff", 1 },
	{ "\xff\x00", 2 },
	{ "\xff\xff", 2 },
	{ "\xff\xff\x01", 3 },
};
#define N_ITER_KEYS	(sizeof iter_keys / sizeof iter_keys[0])

/* Iterating prefix in cf returns exactly the iter_keys with that prefix,
 * in order, each with the value "v<index>". Returns how many. */
static size_t
expect_prefix(struct store *s, enum store_cf cf, const char *prefix,
    size_t plen)
{
	struct store_iter	*it;
	const void		*k, *v;
	size_t			 kl, vl, i, n = 0;
	char			 want[16], *cause = NULL;

	it = store_iter_prefix(s, cf, prefix, plen);
	for (i = 0; i < N_ITER_KEYS; i++) {
		if (iter_keys[i].kl < plen ||
		    memcmp(iter_keys[i].k, prefix, plen) != 0)
			continue;
		assert_true(store_iter_next(it, &k, &kl, &v, &vl));
		assert_int_equal(kl, iter_keys[i].kl);
		assert_memory_equal(k, iter_keys[i].k, kl);
		snprintf(want, sizeof want, "v%zu", i);
		assert_int_equal(vl, strlen(want));
		assert_memory_equal(v, want, vl);
		n++;
	}
	assert_false(store_iter_next(it, &k, &kl, &v, &vl));
	/* Stays at the end. */
	assert_false(store_iter_next(it, &k, &kl, &v, &vl));
	assert_int_equal(store_iter_error(it, &cause), 0);
	assert_null(cause);
	store_iter_free(it);
	return n;
}

/* Entries under prefix in cf, each checked to carry the prefix and to come
 * after the one before. */
static size_t
count_prefix(struct store *s, enum store_cf cf, const char *prefix,
    size_t plen)
{
	struct store_iter	*it;
	const void		*k, *v;
	size_t			 kl, vl, n = 0, prevl = 0;
	char			*prev = NULL, *cause = NULL;

	it = store_iter_prefix(s, cf, prefix, plen);
	while (store_iter_next(it, &k, &kl, &v, &vl)) {
		assert_true(kl >= plen);
		assert_memory_equal(k, prefix, plen);
		if (prev != NULL) {
			int cmp = memcmp(prev, k, prevl < kl ? prevl : kl);

			assert_true(cmp < 0 || (cmp == 0 && prevl < kl));
		}
		free(prev);
		prev = xmemdup(k, kl);
		prevl = kl;
		n++;
	}
	free(prev);
	assert_int_equal(store_iter_error(it, &cause), 0);
	store_iter_free(it);
	return n;
}

static void
check_prefixes(struct store *s)
{
	assert_int_equal(expect_prefix(s, STORE_CF_USERS, "", 0), N_ITER_KEYS);
	assert_int_equal(expect_prefix(s, STORE_CF_USERS, "a", 1), 7);
	assert_int_equal(expect_prefix(s, STORE_CF_USERS, "ab", 2), 5);
	assert_int_equal(expect_prefix(s, STORE_CF_USERS, "ab\xff", 3), 3);
	assert_int_equal(expect_prefix(s, STORE_CF_USERS, "ab\xff\xff", 4), 1);
	assert_int_equal(expect_prefix(s, STORE_CF_USERS, "\x00", 1), 1);
	assert_int_equal(expect_prefix(s, STORE_CF_USERS, "\xfe", 1), 1);
	assert_int_equal(expect_prefix(s, STORE_CF_USERS, "\xff", 1), 4);
	assert_int_equal(expect_prefix(s, STORE_CF_USERS, "\xff\xff", 2), 2);
	assert_int_equal(expect_prefix(s, STORE_CF_USERS, "\xff\xff\xff", 3),
	    0);
	assert_int_equal(expect_prefix(s, STORE_CF_USERS, "zz", 2), 0);
	assert_int_equal(expect_prefix(s, STORE_CF_USERS, "abc", 3), 0);
	/* The neighbour family holds only its own marker key. */
	assert_int_equal(count_prefix(s, STORE_CF_ACTIVE, "\xff", 1), 0);
	assert_int_equal(count_prefix(s, STORE_CF_ACTIVE, "a", 1), 0);
	assert_int_equal(count_prefix(s, STORE_CF_ACTIVE, "m", 1), 1);
	assert_int_equal(count_prefix(s, STORE_CF_OFFSETS, "\xff\xff", 2), 1);
	assert_int_equal(count_prefix(s, STORE_CF_CLOCK, "a", 1), 1);
}

static void
test_prefix_iteration(void **state)
{
	struct fixture		*f = *state;
	struct store		*s;
	struct store_batch	*b;
	struct store_iter	*it;
	const void		*k, *v;
	size_t			 kl, vl, i;
	char			 val[16], *cp, *cause = NULL;

	s = open_ok(f->dir, NULL);
	b = store_batch_new();
	/* Inserted in reverse to show the order comes from the store. */
	for (i = N_ITER_KEYS; i-- > 0;) {
		snprintf(val, sizeof val, "v%zu", i);
		store_batch_put(b, STORE_CF_USERS, iter_keys[i].k,
		    iter_keys[i].kl, val, strlen(val));
	}
	/* Keys in neighbouring families must not leak into the users'. */
	store_batch_put(b, STORE_CF_ACTIVE, "m", 1, "x", 1);
	store_batch_put(b, STORE_CF_CLOCK, "ab", 2, "x", 1);
	store_batch_put(b, STORE_CF_OFFSETS, "\xff\xff\xff\xff", 4, "x", 1);
	assert_int_equal(store_write(s, b, &cause), 0);
	store_batch_free(b);

	check_prefixes(s);		/* from the memtables */
	it = store_iter_prefix(s, STORE_CF_ACTIVE, "", 0);
	assert_true(store_iter_next(it, &k, &kl, &v, &vl));
	assert_int_equal(kl, 1);
	assert_memory_equal(k, "m", 1);
	assert_false(store_iter_next(it, &k, &kl, &v, &vl));
	store_iter_free(it);

	/* A checkpoint flushes the memtables: now read from table files. */
	cp = xasprintf("%s/cp", f->tmp);
	assert_int_equal(store_checkpoint(s, cp, &cause), 0);
	free(cp);
	assert_int_equal(store_property(s, STORE_CF_USERS,
	    "rocksdb.num-entries-active-mem-table"), 0);
	check_prefixes(s);
	store_close(s);
}

static void
test_reopen_keeps_data(void **state)
{
	struct fixture	*f = *state;
	struct store	*s;

	s = open_ok(f->dir, NULL);
	put1(s, STORE_CF_OFFSETS, "interactions/3", "1000");
	put1(s, STORE_CF_META, "u9", "premium");
	store_close(s);

	s = open_ok(f->dir, NULL);
	expect_str(s, STORE_CF_OFFSETS, "interactions/3", "1000");
	expect_str(s, STORE_CF_META, "u9", "premium");
	put1(s, STORE_CF_OFFSETS, "interactions/3", "2000");
	store_close(s);

	s = open_ok(f->dir, NULL);
	expect_str(s, STORE_CF_OFFSETS, "interactions/3", "2000");
	store_close(s);
}

static void
test_options_string(void **state)
{
	struct fixture		*f = *state;
	struct store		*s;
	struct store_opts	 so = { 0 };

	/* A bad string is refused before anything is created. */
	so.options = "no_such_option=1";
	open_fails(f->dir, &so, "no_such_option");
	assert_int_equal(access(f->dir, F_OK), -1);
	so.options = "write_buffer_size=lots";
	open_fails(f->dir, &so, "bad RocksDB options string");

	so.options = "max_open_files=100;write_buffer_size=2097152";
	so.memory_limit = 64 << 20;
	so.sync = true;
	s = open_ok(f->dir, &so);
	assert_int_equal(store_block_cache_capacity(s), 32 << 20);
	assert_int_equal(store_write_buffer_budget(s), 16 << 20);
	put1(s, STORE_CF_USERS, "k", "v");
	store_close(s);

	/* Reopen of existing state with a bad string fails too. */
	so.options = "max_open_files=";
	open_fails(f->dir, &so, "bad RocksDB options string");
	so.options = "";
	s = open_ok(f->dir, &so);
	expect_str(s, STORE_CF_USERS, "k", "v");
	assert_int_equal(store_block_cache_capacity(s), 32 << 20);
	store_close(s);

	/* memory_limit 0 means the default. */
	s = open_ok(f->dir, NULL);
	assert_int_equal(store_block_cache_capacity(s),
	    STORE_MEMORY_LIMIT_DEFAULT / 2);
	assert_int_equal(store_write_buffer_budget(s),
	    STORE_MEMORY_LIMIT_DEFAULT / 4);
	store_close(s);
}

static void
test_locked_same_process(void **state)
{
	struct fixture	*f = *state;
	struct store	*s;

	s = open_ok(f->dir, NULL);
	put1(s, STORE_CF_USERS, "k", "v");
	open_fails(f->dir, NULL, "locked by another process");
	/* The first store is unharmed. */
	expect_str(s, STORE_CF_USERS, "k", "v");
	store_close(s);
	/* Once closed, the lock is gone. */
	s = open_ok(f->dir, NULL);
	store_close(s);
}

static void
test_read_only(void **state)
{
	struct fixture		*f = *state;
	struct store		*s, *ro;
	struct store_batch	*b;
	struct store_opts	 so = { .read_only = true };
	char			*cause = NULL, *cp;

	/* No state there: read-only refuses (and creates nothing). */
	open_fails(f->dir, &so, "no state in");
	assert_int_equal(access(f->dir, F_OK), -1);

	s = open_ok(f->dir, NULL);
	put1(s, STORE_CF_USERS, "k", "v");
	put1(s, STORE_CF_OUTBOX, "o", "w");
	store_close(s);

	ro = open_ok(f->dir, &so);
	assert_true(store_read_only(ro));
	expect_str(ro, STORE_CF_USERS, "k", "v");
	expect_str(ro, STORE_CF_OUTBOX, "o", "w");
	assert_int_equal(count_prefix(ro, STORE_CF_META, "", 0), 0);
	assert_int_equal(count_prefix(ro, STORE_CF_USERS, "", 0), 1);
	b = store_batch_new();
	store_batch_put(b, STORE_CF_USERS, "k", 1, "changed", 7);
	assert_int_equal(store_write(ro, b, &cause), -1);
	assert_non_null(strstr(cause, "read-only"));
	free(cause);
	cause = NULL;
	cp = xasprintf("%s/cp", f->tmp);
	assert_int_equal(store_checkpoint(ro, cp, &cause), -1);
	assert_non_null(cause);
	free(cause);
	free(cp);
	expect_str(ro, STORE_CF_USERS, "k", "v");

	/* Two read-only opens and a writer at once. */
	s = open_ok(f->dir, NULL);
	{
		struct store	*ro2 = open_ok(f->dir, &so);

		expect_str(ro2, STORE_CF_USERS, "k", "v");
		store_close(ro2);
	}
	assert_int_equal(store_write(s, b, &cause), 0);
	expect_str(s, STORE_CF_USERS, "k", "changed");
	store_close(s);
	store_close(ro);
	store_batch_free(b);
}

/*
 * The helper process: open dir read-write, write users/k = "held" and
 * users/big (a batch of 1000 keys in three families), say "R" on stdout,
 * and keep the store open until stdin reaches its end. The parent may
 * kill -9 it instead of closing stdin.
 */
static int
hold_main(const char *dir)
{
	struct store		*s;
	struct store_batch	*b;
	char			*cause = NULL, c, key[16];
	int			 i;

	s = store_open(dir, NULL, &cause);
	if (s == NULL) {
		fprintf(stderr, "hold: %s\n", cause);
		return 1;
	}
	put1(s, STORE_CF_USERS, "k", "held");
	b = store_batch_new();
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof key, "b%04d", i);
		store_batch_put(b, STORE_CF_ACTIVE, key, strlen(key), "a", 1);
	}
	store_batch_put(b, STORE_CF_OFFSETS, "t/0", 3, "1000", 4);
	store_batch_put(b, STORE_CF_OUTBOX, "o", 1, "pending", 7);
	if (store_write(s, b, &cause) != 0) {
		fprintf(stderr, "hold: %s\n", cause);
		return 1;
	}
	store_batch_free(b);
	if (write(1, "R", 1) != 1)
		return 1;
	while (read(0, &c, 1) > 0)
		;
	store_close(s);
	return 0;
}

struct helper {
	pid_t	pid;
	int	to;		/* its stdin: close to let it finish */
	int	from;		/* its stdout */
};

/* Start the helper on dir and wait until it has written its data. */
static void
helper_start(struct helper *h, const char *dir)
{
	int	to[2], from[2];
	char	c;

	assert_int_equal(pipe(to), 0);
	assert_int_equal(pipe(from), 0);
	h->pid = fork();
	assert_true(h->pid >= 0);
	if (h->pid == 0) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		close(to[0]);
		close(to[1]);
		close(from[0]);
		close(from[1]);
		execl("/proc/self/exe", "test_store", "--hold", dir,
		    (char *)NULL);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	h->to = to[1];
	h->from = from[0];
	assert_int_equal(read(h->from, &c, 1), 1);
	assert_int_equal(c, 'R');
}

/* Let the helper finish (or kill it with sig) and check how it ended. */
static void
helper_stop(struct helper *h, int sig)
{
	int	status;

	if (sig != 0)
		assert_int_equal(kill(h->pid, sig), 0);
	close(h->to);
	assert_int_equal(waitpid(h->pid, &status, 0), h->pid);
	if (sig != 0) {
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), sig);
	} else {
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	close(h->from);
}

/* What the helper wrote, all of it. */
static void
expect_helper_data(struct store *s)
{
	expect_str(s, STORE_CF_USERS, "k", "held");
	expect_str(s, STORE_CF_OFFSETS, "t/0", "1000");
	expect_str(s, STORE_CF_OUTBOX, "o", "pending");
	assert_int_equal(count_prefix(s, STORE_CF_ACTIVE, "b", 1), 1000);
}

static void
test_locked_other_process(void **state)
{
	struct fixture		*f = *state;
	struct store		*s;
	struct store_opts	 so = { .read_only = true };
	struct helper		 h;

	helper_start(&h, f->dir);
	open_fails(f->dir, NULL, "locked by another process");
	/* Read-only needs no lock: it sees what the writer wrote. */
	s = open_ok(f->dir, &so);
	expect_helper_data(s);
	store_close(s);
	helper_stop(&h, 0);

	s = open_ok(f->dir, NULL);
	expect_helper_data(s);
	store_close(s);
}

/* Without sync, a written batch survives kill -9 of the writer (from the
 * WAL), and the dead writer's lock does not block the next open. */
static void
test_survives_kill(void **state)
{
	struct fixture	*f = *state;
	struct store	*s;
	struct helper	 h;

	helper_start(&h, f->dir);
	helper_stop(&h, SIGKILL);
	s = open_ok(f->dir, NULL);
	expect_helper_data(s);
	store_close(s);
}

static void
test_checkpoint(void **state)
{
	struct fixture	*f = *state;
	struct store	*s, *c;
	char		*cp, *cause = NULL;

	cp = xasprintf("%s/cp", f->tmp);
	s = open_ok(f->dir, NULL);
	put1(s, STORE_CF_USERS, "u1", "before");
	put1(s, STORE_CF_CLOCK, "p0", "watermark");
	assert_int_equal(store_checkpoint(s, cp, &cause), 0);
	assert_null(cause);
	put1(s, STORE_CF_USERS, "u1", "after");
	/* The target must not exist. */
	assert_int_equal(store_checkpoint(s, cp, &cause), -1);
	assert_non_null(cause);
	free(cause);

	c = open_ok(cp, NULL);
	expect_str(c, STORE_CF_USERS, "u1", "before");
	expect_str(c, STORE_CF_CLOCK, "p0", "watermark");
	put1(c, STORE_CF_USERS, "u2", "only in the copy");
	store_close(c);
	expect_str(s, STORE_CF_USERS, "u1", "after");
	expect_str(s, STORE_CF_USERS, "u2", NULL);
	store_close(s);
	free(cp);
}

static void
test_format_version(void **state)
{
	struct fixture	*f = *state;
	struct store	*s;
	uint8_t		 v[4];

	s = open_ok(f->dir, NULL);
	put1(s, STORE_CF_USERS, "k", "v");
	be32_put(v, 2);
	{
		struct store_batch	*b = store_batch_new();
		char			*cause = NULL;

		store_batch_put(b, STORE_CF_DEFAULT, STORE_FORMAT_KEY,
		    strlen(STORE_FORMAT_KEY), v, sizeof v);
		assert_int_equal(store_write(s, b, &cause), 0);
		store_batch_free(b);
	}
	store_close(s);
	open_fails(f->dir, NULL, "has format version 2, this build reads "
	    "only version 1");
	{
		struct store_opts	so = { .read_only = true };

		open_fails(f->dir, &so, "format version 2");
	}
	/* A failed open releases the lock: a later writer gets past it. */
	open_fails(f->dir, NULL, "format version 2");
}

static void
test_format_version_corrupt(void **state)
{
	struct fixture	*f = *state;
	struct store	*s;

	s = open_ok(f->dir, NULL);
	put1(s, STORE_CF_DEFAULT, STORE_FORMAT_KEY, "1");
	store_close(s);
	open_fails(f->dir, NULL, "corrupt format version record (1 bytes)");
}

/*
 * A plain RocksDB database in dir (default family only, as another program
 * would make it), holding key = val unless key is NULL.
 */
static void
raw_create(const char *dir, const char *key, const void *val, size_t vlen)
{
	rocksdb_options_t	*opts;
	rocksdb_writeoptions_t	*wo;
	rocksdb_t		*db;
	char			*err = NULL;

	opts = rocksdb_options_create();
	rocksdb_options_set_create_if_missing(opts, 1);
	db = rocksdb_open(opts, dir, &err);
	if (err != NULL)
		fail_msg("rocksdb_open: %s", err);
	if (key != NULL) {
		wo = rocksdb_writeoptions_create();
		rocksdb_put(db, wo, key, strlen(key), val, vlen, &err);
		assert_null(err);
		rocksdb_writeoptions_destroy(wo);
	}
	rocksdb_close(db);
	rocksdb_options_destroy(opts);
}

/* A RocksDB database with data but no format version is not ours. */
static void
test_foreign_database(void **state)
{
	struct fixture	*f = *state;

	raw_create(f->dir, "x", "y", 1);
	open_fails(f->dir, NULL, "without a format version");
}

/* An empty database without a version (crash right after create) is
 * adopted: the store writes version 1 into it. */
static void
test_empty_database_adopted(void **state)
{
	struct fixture	*f = *state;
	struct store	*s;

	raw_create(f->dir, NULL, NULL, 0);
	s = open_ok(f->dir, NULL);
	expect_format_version(s);
	store_close(s);
}

/* Column families the store does not know are opened and kept. */
static void
test_unknown_cf(void **state)
{
	struct fixture			*f = *state;
	struct store			*s;
	rocksdb_options_t		*opts;
	rocksdb_writeoptions_t		*wo;
	rocksdb_column_family_handle_t	*h[STORE_NCF + 1];
	const rocksdb_options_t		*cfo[STORE_NCF + 1];
	const char			*names[STORE_NCF + 1];
	rocksdb_t			*db;
	char				*err = NULL, **list;
	size_t				 n, i;
	int				 c;

	s = open_ok(f->dir, NULL);
	put1(s, STORE_CF_META, "m", "1");
	store_close(s);

	/* Add a family "extra" with a key, behind the store's back. */
	opts = rocksdb_options_create();
	for (c = 0; c < STORE_NCF; c++) {
		names[c] = store_cf_name(c);
		cfo[c] = opts;
	}
	db = rocksdb_open_column_families(opts, f->dir, STORE_NCF, names, cfo,
	    h, &err);
	assert_null(err);
	h[STORE_NCF] = rocksdb_create_column_family(db, opts, "extra", &err);
	assert_null(err);
	wo = rocksdb_writeoptions_create();
	rocksdb_put_cf(db, wo, h[STORE_NCF], "e", 1, "f", 1, &err);
	assert_null(err);
	rocksdb_writeoptions_destroy(wo);
	for (i = 0; i <= STORE_NCF; i++)
		rocksdb_column_family_handle_destroy(h[i]);
	rocksdb_close(db);

	s = open_ok(f->dir, NULL);
	expect_str(s, STORE_CF_META, "m", "1");
	put1(s, STORE_CF_META, "m", "2");
	store_close(s);
	{
		struct store_opts	so = { .read_only = true };

		s = open_ok(f->dir, &so);
		expect_str(s, STORE_CF_META, "m", "2");
		store_close(s);
	}

	list = rocksdb_list_column_families(opts, f->dir, &n, &err);
	assert_null(err);
	assert_int_equal(n, STORE_NCF + 1);
	for (i = 0; i < n; i++) {
		if (strcmp(list[i], "extra") == 0)
			break;
	}
	assert_true(i < n);
	rocksdb_list_column_families_destroy(list, n);
	rocksdb_options_destroy(opts);
}

/* A read-only open of state that lacks one of the store's families (an
 * older layout) treats it as empty. */
static void
test_read_only_missing_cf(void **state)
{
	struct fixture		*f = *state;
	struct store_opts	 so = { .read_only = true };
	struct store		*s;
	uint8_t			 v[4];

	be32_put(v, STORE_FORMAT_VERSION);
	raw_create(f->dir, STORE_FORMAT_KEY, v, sizeof v);
	s = open_ok(f->dir, &so);
	expect_str(s, STORE_CF_USERS, "k", NULL);
	assert_int_equal(count_prefix(s, STORE_CF_USERS, "", 0), 0);
	assert_int_equal(count_prefix(s, STORE_CF_DEFAULT, "", 0), 1);
	assert_int_equal(store_property(s, STORE_CF_USERS,
	    "rocksdb.estimate-num-keys"), -1);
	store_close(s);

	/* A read-write open adds the missing families. */
	s = open_ok(f->dir, NULL);
	put1(s, STORE_CF_USERS, "k", "v");
	expect_str(s, STORE_CF_USERS, "k", "v");
	store_close(s);
}

/* Users "user000".. with the value "state" in one batch; every `every`th
 * (0: none) also gets "set" in the active family. */
static void
put_users(struct store *s, int n, int every)
{
	struct store_batch	*b = store_batch_new();
	char			 key[16], *cause = NULL;
	int			 i;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof key, "user%03d", i);
		store_batch_put(b, STORE_CF_USERS, key, strlen(key), "state",
		    5);
		if (every > 0 && i % every == 0)
			store_batch_put(b, STORE_CF_ACTIVE, key, strlen(key),
			    "set", 3);
	}
	assert_int_equal(store_write(s, b, &cause), 0);
	store_batch_free(b);
}

static void
test_properties(void **state)
{
	struct fixture		*f = *state;
	struct store		*s;
	struct store_opts	 so = { .memory_limit = 32 << 20 };
	char			*cp, *cause = NULL;

	s = open_ok(f->dir, &so);
	assert_int_equal(store_property(s, STORE_CF_USERS,
	    "rocksdb.estimate-num-keys"), 0);
	put_users(s, 100, 0);
	/* Exact while everything is in one memtable. */
	assert_int_equal(store_property(s, STORE_CF_USERS,
	    "rocksdb.estimate-num-keys"), 100);
	assert_int_equal(store_property(s, STORE_CF_ACTIVE,
	    "rocksdb.estimate-num-keys"), 0);
	assert_true(store_property(s, STORE_CF_USERS,
	    "rocksdb.cur-size-all-mem-tables") > 0);
	assert_true(store_property(s, STORE_CF_USERS,
	    "rocksdb.actual-delayed-write-rate") >= 0);
	assert_int_equal(store_property(s, STORE_CF_USERS,
	    "rocksdb.no-such-property"), -1);

	/* Reads from a table file go through the shared cache. */
	cp = xasprintf("%s/cp", f->tmp);
	assert_int_equal(store_checkpoint(s, cp, &cause), 0);
	free(cp);
	expect_str(s, STORE_CF_USERS, "user042", "state");
	assert_true(store_block_cache_usage(s) > 0);
	assert_true(store_block_cache_usage(s) <= store_block_cache_capacity(s));
	assert_int_equal(store_property(s, STORE_CF_USERS,
	    "rocksdb.block-cache-usage"), (int64_t)store_block_cache_usage(s));
	assert_int_equal(store_property(s, STORE_CF_USERS,
	    "rocksdb.estimate-num-keys"), 100);
	store_close(s);
}

/* A flush leaves the memtables empty, and a later open has no log to
 * replay into them. */
static void
test_flush(void **state)
{
	struct fixture		*f = *state;
	struct store		*s;
	struct store_opts	 so = { .memory_limit = 32 << 20 };
	char			*cause = NULL;

	s = open_ok(f->dir, &so);
	put_users(s, 100, 10);
	assert_int_equal(store_property(s, STORE_CF_USERS,
	    "rocksdb.num-entries-active-mem-table"), 100);
	assert_int_equal(store_property(s, STORE_CF_ACTIVE,
	    "rocksdb.num-entries-active-mem-table"), 10);
	assert_int_equal(store_property(s, STORE_CF_USERS,
	    "rocksdb.live-sst-files-size"), 0);
	assert_int_equal(store_flush(s, true, &cause), 0);
	assert_null(cause);
	assert_int_equal(store_property(s, STORE_CF_USERS,
	    "rocksdb.num-entries-active-mem-table"), 0);
	assert_int_equal(store_property(s, STORE_CF_ACTIVE,
	    "rocksdb.num-entries-active-mem-table"), 0);
	assert_true(store_property(s, STORE_CF_USERS,
	    "rocksdb.live-sst-files-size") > 0);
	assert_true(store_property(s, STORE_CF_ACTIVE,
	    "rocksdb.live-sst-files-size") > 0);
	store_close(s);

	so.read_only = true;
	s = open_ok(f->dir, &so);
	assert_int_equal(store_property(s, STORE_CF_USERS,
	    "rocksdb.num-entries-active-mem-table"), 0);
	expect_str(s, STORE_CF_USERS, "user099", "state");
	expect_str(s, STORE_CF_ACTIVE, "user090", "set");
	/* A read-only store has nothing to flush. */
	assert_int_equal(store_flush(s, true, &cause), 0);
	store_close(s);
}

/*
 * A flush without wait takes the memtables at once (the writes after it
 * go to new ones); the flush with wait then leaves nothing for a later
 * open to replay, neither what the first one took nor what came after.
 */
static void
test_flush_started(void **state)
{
	struct fixture		*f = *state;
	struct store		*s;
	struct store_opts	 so = { .memory_limit = 32 << 20 };
	struct store_batch	*b;
	char			*cause = NULL;

	s = open_ok(f->dir, &so);
	put_users(s, 100, 10);
	assert_int_equal(store_flush(s, false, &cause), 0);
	assert_null(cause);
	assert_int_equal(store_property(s, STORE_CF_USERS,
	    "rocksdb.num-entries-active-mem-table"), 0);
	b = store_batch_new();
	store_batch_put(b, STORE_CF_USERS, "zafter", 6, "later", 5);
	assert_int_equal(store_write(s, b, &cause), 0);
	store_batch_free(b);
	assert_int_equal(store_property(s, STORE_CF_USERS,
	    "rocksdb.num-entries-active-mem-table"), 1);
	assert_int_equal(store_flush(s, true, &cause), 0);
	assert_int_equal(store_property(s, STORE_CF_USERS,
	    "rocksdb.num-entries-active-mem-table"), 0);
	assert_int_equal(store_property(s, STORE_CF_USERS,
	    "rocksdb.num-immutable-mem-table"), 0);
	assert_int_equal(store_property(s, STORE_CF_ACTIVE,
	    "rocksdb.num-immutable-mem-table"), 0);
	store_close(s);

	so.read_only = true;
	s = open_ok(f->dir, &so);
	assert_int_equal(store_property(s, STORE_CF_USERS,
	    "rocksdb.num-entries-active-mem-table"), 0);
	assert_int_equal(store_property(s, STORE_CF_ACTIVE,
	    "rocksdb.num-entries-active-mem-table"), 0);
	expect_str(s, STORE_CF_USERS, "user099", "state");
	expect_str(s, STORE_CF_USERS, "zafter", "later");
	expect_str(s, STORE_CF_ACTIVE, "user090", "set");
	store_close(s);
}

/* 6 MiB of users records: 24 batches of 256 keys of 1000 bytes. */
static void
write_users_6m(struct store *s)
{
	struct store_batch	*b;
	char			 key[16], val[1000], *cause = NULL;
	int			 i, j;

	memset(val, 'x', sizeof val);
	b = store_batch_new();
	for (i = 0; i < 24; i++) {
		store_batch_clear(b);
		for (j = 0; j < 256; j++) {
			snprintf(key, sizeof key, "u%06d", i * 256 + j);
			store_batch_put(b, STORE_CF_USERS, key, strlen(key),
			    val, sizeof val);
		}
		assert_int_equal(store_write(s, b, &cause), 0);
	}
	store_batch_free(b);
}

/* Bytes of table files in the users family after writing write_users_6m's
 * highly compressible records with these options and flushing. */
static int64_t
flushed_size(const char *dir, const char *options)
{
	struct store		*s;
	struct store_opts	 so = { .memory_limit = 256 << 20 };
	char			*cause = NULL;
	int64_t			 size;

	so.options = options;
	s = open_ok(dir, &so);
	write_users_6m(s);
	assert_int_equal(store_flush(s, true, &cause), 0);
	size = store_property(s, STORE_CF_USERS, "rocksdb.live-sst-files-size");
	store_close(s);
	return size;
}

/*
 * Flushes write level 0 uncompressed by default: 6,144,000 bytes of
 * values (plus keys and the table's own blocks) reach the disk as they
 * are. An options string naming a compression option replaces the
 * default (compression_per_level would otherwise override it): snappy
 * shrinks the same 'x' runs to a small fraction.
 */
static void
test_compression_default(void **state)
{
	struct fixture	*f = *state;
	char		*dir2 = xasprintf("%s/snappy", f->tmp);
	int64_t		 plain, snappy;

	plain = flushed_size(f->dir, NULL);
	assert_true(plain >= 6144000);
	snappy = flushed_size(dir2, "compression=kSnappyCompression");
	assert_true(snappy > 0);
	assert_true(snappy < 1000000);
	free(dir2);
}

/*
 * The write-buffer budget (memory_limit / 4) wins over a large
 * write_buffer_size from the options string: 6 MiB written under a 2 MiB
 * budget get flushed to a table file, while under a 256 MiB budget they all
 * stay in the memtable.
 */
static void
test_write_buffer_budget(void **state)
{
	struct fixture		*f = *state;
	struct store		*s;
	struct store_opts	 so = { .options = "write_buffer_size=64M" };
	char			*dir2, val[1000];
	int			 tries;

	so.memory_limit = 8 << 20;
	s = open_ok(f->dir, &so);
	assert_int_equal(store_write_buffer_budget(s), 2 << 20);
	write_users_6m(s);
	/* The flush runs in the background. */
	for (tries = 0; tries < 500; tries++) {
		if (store_property(s, STORE_CF_USERS,
		    "rocksdb.total-sst-files-size") > 0)
			break;
		usleep(10000);
	}
	assert_true(store_property(s, STORE_CF_USERS,
	    "rocksdb.total-sst-files-size") > 0);
	memset(val, 'x', sizeof val);
	expect_val(s, STORE_CF_USERS, "u000000", 7, val, sizeof val);
	expect_val(s, STORE_CF_USERS, "u006143", 7, val, sizeof val);
	expect_val(s, STORE_CF_USERS, "u006144", 7, NULL, 0);
	store_close(s);

	dir2 = xasprintf("%s/db2", f->tmp);
	so.memory_limit = 1 << 30;
	s = open_ok(dir2, &so);
	write_users_6m(s);
	assert_int_equal(store_property(s, STORE_CF_USERS,
	    "rocksdb.total-sst-files-size"), 0);
	assert_int_equal(store_property(s, STORE_CF_USERS,
	    "rocksdb.estimate-num-keys"), 24 * 256);
	assert_true(store_property(s, STORE_CF_USERS,
	    "rocksdb.cur-size-all-mem-tables") > 6 * 1000 * 1000);
	store_close(s);
	free(dir2);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cf_names),
		cmocka_unit_test_setup_teardown(test_put_get_across_cfs,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_atomic, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_delete_and_range, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_prefix_iteration, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_options_string, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_locked_same_process,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_locked_other_process,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_survives_kill, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_format_version, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_format_version_corrupt,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_database, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_empty_database_adopted,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_cf, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_read_only_missing_cf,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_started, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_compression_default, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_properties, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_write_buffer_budget,
		    setup, teardown),
	};

	if (argc == 3 && strcmp(argv[1], "--hold") == 0)
		return hold_main(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
