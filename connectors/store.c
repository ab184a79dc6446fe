/*
 * store: RocksDB state with column families under a memory cap.
 *
 * Options are built in three layers, later ones winning:
 *   1. store defaults: max_open_files 512, write_buffer_size limit/16
 *      (1..64 MiB), a small info log, no compression on levels 0 and 1
 *      (unless the options string names a compression option);
 *   2. the user's options string (rocksdb_get_options_from_string), which
 *      may change any of those and any other DB or column-family option;
 *   3. the memory cap: the block-based table factory (shared LRU cache of
 *      limit/2, bloom filter, index and filter blocks charged to the cache),
 *      db_write_buffer_size limit/4, create_if_missing and
 *      create_missing_column_families.
 * Every column family, known or not, is opened with the same options, so
 * they all share the one cache and the one write-buffer budget; the
 * families that are only written in bulk and read by iteration (users,
 * active, meta, outbox) use a vector memtable instead of the skip list:
 * an insert is an append (the daemon writes ~100k records per commit) and
 * the vector is sorted once at flush or when an iterator is created. Point
 * lookups (offsets, clock, default) keep the skip list, where a vector
 * memtable would sort on every get.
 *
 * A batch records operations by column family in an enc buffer; store_write
 * replays them into the store's one rocksdb_writebatch_t and writes it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <rocksdb/c.h>

#include "enc.h"
#include "store.h"
#include "xmalloc.h"

#define STORE_MAX_OPEN_FILES	512
#define STORE_BLOOM_BITS	10.0
/* RocksDB's InfoLogLevel HEADER_LEVEL (the C API has no name for it). */
#define STORE_INFO_LOG_HEADER	5
/* Free space below which a writable open is refused (see store_check_space). */
#define STORE_MIN_FREE		((uint64_t)1 << 20)

static const char *const store_cf_names[STORE_NCF] = {
	[STORE_CF_DEFAULT] = "default",
	[STORE_CF_OFFSETS] = "offsets",
	[STORE_CF_USERS] = "users",
	[STORE_CF_ACTIVE] = "active",
	[STORE_CF_CLOCK] = "clock",
	[STORE_CF_META] = "meta",
	[STORE_CF_OUTBOX] = "outbox",
};

struct store {
	char				 *dir;
	rocksdb_t			 *db;
	rocksdb_options_t		 *opts;
	rocksdb_options_t		 *bulk_opts;	/* vector memtable */
	rocksdb_cache_t			 *cache;
	rocksdb_readoptions_t		 *ropts;
	rocksdb_writeoptions_t		 *wopts;
	rocksdb_writebatch_t		 *wb;
	/* Every opened column family (ours and unknown ones), for close. */
	rocksdb_column_family_handle_t	**handles;
	size_t				  nhandles;
	/* Ours by enum; NULL only for a family missing in a read-only open. */
	rocksdb_column_family_handle_t	 *cf[STORE_NCF];
	bool				  read_only;
	uint64_t			  cache_cap;
	uint64_t			  wbuf_budget;
	char				 *fail_msg;
};

enum store_op {
	STORE_OP_PUT = 1,
	STORE_OP_DEL = 2,
	STORE_OP_DEL_RANGE = 3,
};

struct store_batch {
	struct enc	ops;	/* op u8, cf u8, key bytes[, value or end bytes] */
	size_t		count;
};

struct store_iter {
	rocksdb_iterator_t	*it;	/* NULL: nothing to iterate */
	rocksdb_readoptions_t	*ro;
	uint8_t			*prefix;
	size_t			 plen;
	uint8_t			*upper;	/* must outlive the iterator */
	bool			 started;
	bool			 done;
};

const char *
store_cf_name(enum store_cf cf)
{
	if ((unsigned)cf >= STORE_NCF)
		return "unknown";
	return store_cf_names[cf];
}

const char *
store_dir(const struct store *s)
{
	return s->dir;
}

bool
store_read_only(const struct store *s)
{
	return s->read_only;
}

/* A bad family number is a programming error, not a runtime condition. */
static void
store_check_cf(enum store_cf cf)
{
	if ((unsigned)cf >= STORE_NCF)
		fatalx("store: bad column family %d", (int)cf);
}

/* Take a RocksDB error string as an allocated cause, with context. */
static void
store_cause(char **cause, char *err, const char *what)
{
	if (cause != NULL)
		*cause = xasprintf("%s: %s", what, err);
	free(err);
}

static size_t
store_clamp(uint64_t v, uint64_t lo, uint64_t hi)
{
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return v;
}

/* RocksDB's default number of levels. */
#define STORE_LEVELS	7
static const int store_compression[STORE_LEVELS] = {
	rocksdb_no_compression, rocksdb_no_compression,
	rocksdb_snappy_compression, rocksdb_snappy_compression,
	rocksdb_snappy_compression, rocksdb_snappy_compression,
	rocksdb_snappy_compression,
};

/* The three option layers described at the top of this file. */
static rocksdb_options_t *
store_make_options(const struct store_opts *so, struct store *s,
    char **cause)
{
	rocksdb_options_t			*base, *opts;
	rocksdb_block_based_table_options_t	*bbto;
	char					*err = NULL;

	base = rocksdb_options_create();
	rocksdb_options_set_max_open_files(base, STORE_MAX_OPEN_FILES);
	rocksdb_options_set_write_buffer_size(base,
	    store_clamp(s->wbuf_budget / 4, 1 << 20, 64 << 20));
	rocksdb_options_set_keep_log_file_num(base, 4);
	rocksdb_options_set_max_log_file_size(base, 4 << 20);
	/* Only the header lines of an open in RocksDB's LOG file: it lives
	 * in the state directory, and RocksDB 7.8 aborts on an assertion
	 * when it writes to its LOG again after a write to it failed (a
	 * full file system), instead of letting the failed commit stop the
	 * daemon with its error. The daemon reports state errors itself. */
	rocksdb_options_set_info_log_level(base, STORE_INFO_LOG_HEADER);
	/* Flushes and the first compaction write uncompressed (a --once over
	 * 2M events spent a tenth of its CPU in snappy and finished 0.5 s
	 * sooner without); deeper levels, where most of a large state
	 * settles, stay snappy. An options string that names any
	 * compression option decides alone: compression_per_level would
	 * otherwise silently override its `compression`. */
	if (so->options == NULL || strstr(so->options, "compression") == NULL)
		rocksdb_options_set_compression_per_level(base,
		    store_compression, STORE_LEVELS);

	opts = base;
	if (so->options != NULL && *so->options != '\0') {
		opts = rocksdb_options_create();
		rocksdb_get_options_from_string(base, so->options, opts, &err);
		rocksdb_options_destroy(base);
		if (err != NULL) {
			rocksdb_options_destroy(opts);
			store_cause(cause, err, "bad RocksDB options string");
			return NULL;
		}
	}

	bbto = rocksdb_block_based_options_create();
	rocksdb_block_based_options_set_block_cache(bbto, s->cache);
	/* The table options take ownership of the policy. */
	rocksdb_block_based_options_set_filter_policy(bbto,
	    rocksdb_filterpolicy_create_bloom_full(STORE_BLOOM_BITS));
	rocksdb_block_based_options_set_cache_index_and_filter_blocks(bbto, 1);
	rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(
	    bbto, 1);
	rocksdb_options_set_block_based_table_factory(opts, bbto);
	rocksdb_block_based_options_destroy(bbto);

	rocksdb_options_set_db_write_buffer_size(opts, s->wbuf_budget);
	rocksdb_options_set_create_if_missing(opts, !so->read_only);
	rocksdb_options_set_create_missing_column_families(opts,
	    !so->read_only);
	/* A vector memtable cannot take concurrent writes; we have one
	 * writer anyway. */
	rocksdb_options_set_allow_concurrent_memtable_write(opts, 0);
	return opts;
}

/* True if dir holds a RocksDB database (its CURRENT file exists). */
static bool
store_exists(const char *dir)
{
	struct stat	 st;
	char		*path;
	int		 r;

	path = xasprintf("%s/CURRENT", dir);
	r = stat(path, &st);
	free(path);
	return r == 0;
}

/*
 * RocksDB's info log (LOG, in the state directory) aborts the process on
 * a write after a failed one (an assertion of the packaged librocksdb),
 * and opening on a nearly full filesystem fails exactly so: with 128 kB
 * free, the open died with SIGABRT instead of returning an error. So a
 * writable open wants STORE_MIN_FREE available to an unprivileged user (in
 * the directory, or in its parent when it is still to be created).
 */
static int
store_check_space(const char *dir, char **cause)
{
	struct statvfs	 sv;
	char		*parent = NULL, *slash;
	const char	*at = dir;
	uint64_t	 avail;
	int		 r;

	r = statvfs(at, &sv);
	if (r != 0 && errno == ENOENT) {
		parent = xstrdup(dir);
		slash = strrchr(parent, '/');
		if (slash == NULL)
			at = ".";
		else {
			slash[slash == parent ? 1 : 0] = '\0';	/* "/x": "/" */
			at = parent;
		}
		r = statvfs(at, &sv);
		free(parent);
	}
	if (r != 0)
		return 0;	/* RocksDB reports a directory it cannot make */
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (avail >= STORE_MIN_FREE)
		return 0;
	*cause = xasprintf("state directory %s: %s (%" PRIu64 " bytes "
	    "available, %" PRIu64 " needed to open)", dir, strerror(ENOSPC),
	    avail, STORE_MIN_FREE);
	return -1;
}

/* Open the database with every existing column family plus ours. */
static int
store_open_db(struct store *s, bool exists, char **cause)
{
	const char			**names;
	const rocksdb_options_t		**cfopts;
	char				**list = NULL;
	size_t				  nlist = 0, n = 0, i;
	int				  c;
	char				 *err = NULL;

	if (exists) {
		list = rocksdb_list_column_families(s->opts, s->dir, &nlist,
		    &err);
		if (err != NULL) {
			store_cause(cause, err, "cannot list column families");
			return -1;
		}
	}
	names = xcalloc(nlist + STORE_NCF, sizeof *names);
	for (i = 0; i < nlist; i++)
		names[n++] = list[i];
	if (!s->read_only) {
		for (c = 0; c < STORE_NCF; c++) {
			for (i = 0; i < nlist; i++) {
				if (strcmp(list[i], store_cf_names[c]) == 0)
					break;
			}
			if (i == nlist)
				names[n++] = store_cf_names[c];
		}
	}
	cfopts = xcalloc(n, sizeof *cfopts);
	for (i = 0; i < n; i++) {
		cfopts[i] = s->opts;
		/*
		 * Read-only: what the log replays stays in the memtable (it
		 * is not flushed as on a read-write open), and a vector
		 * memtable sorts a copy of itself for every iterator: a
		 * query of a --once's state spent 60% of its time sorting,
		 * two iterators per partition. The skip list keeps it sorted.
		 */
		if (s->read_only)
			continue;
		if (strcmp(names[i], store_cf_names[STORE_CF_USERS]) == 0 ||
		    strcmp(names[i], store_cf_names[STORE_CF_ACTIVE]) == 0 ||
		    strcmp(names[i], store_cf_names[STORE_CF_META]) == 0 ||
		    strcmp(names[i], store_cf_names[STORE_CF_OUTBOX]) == 0)
			cfopts[i] = s->bulk_opts;
	}
	s->handles = xcalloc(n, sizeof *s->handles);

	if (s->read_only) {
		s->db = rocksdb_open_for_read_only_column_families(s->opts,
		    s->dir, (int)n, names, cfopts, s->handles, 0, &err);
	} else {
		s->db = rocksdb_open_column_families(s->opts, s->dir, (int)n,
		    names, cfopts, s->handles, &err);
	}
	if (err != NULL) {
		/* "While lock file: DIR/LOCK: ..." from another process,
		 * "lock hold by current process ...: DIR/LOCK: ..." from
		 * this one. */
		if (strstr(err, "/LOCK:") != NULL) {
			*cause = xasprintf("state directory %s is locked by "
			    "another process (is another activityd running?): "
			    "%s", s->dir, err);
			free(err);
		} else
			store_cause(cause, err, "cannot open RocksDB");
		s->db = NULL;
	} else {
		s->nhandles = n;
		for (i = 0; i < n; i++) {
			for (c = 0; c < STORE_NCF; c++) {
				if (strcmp(names[i], store_cf_names[c]) == 0)
					s->cf[c] = s->handles[i];
			}
		}
	}
	free(cfopts);
	free(names);
	if (list != NULL)
		rocksdb_list_column_families_destroy(list, nlist);
	return s->db == NULL ? -1 : 0;
}

/* 1 if no opened column family holds a key, 0 if one does, -1 on error. */
static int
store_is_empty(struct store *s, char **cause)
{
	rocksdb_iterator_t	*it;
	char			*err = NULL;
	bool			 valid;
	size_t			 i;

	for (i = 0; i < s->nhandles; i++) {
		it = rocksdb_create_iterator_cf(s->db, s->ropts, s->handles[i]);
		rocksdb_iter_seek_to_first(it);
		valid = rocksdb_iter_valid(it);
		if (!valid)
			rocksdb_iter_get_error(it, &err);
		rocksdb_iter_destroy(it);
		if (err != NULL) {
			store_cause(cause, err, "cannot read state");
			return -1;
		}
		if (valid)
			return 0;
	}
	return 1;
}

/*
 * A new (empty) state gets the current format version, written with fsync
 * so that a crash right after creation cannot leave a versionless store
 * with data in it. Existing state must carry exactly our version.
 */
static int
store_check_format(struct store *s, char **cause)
{
	rocksdb_writeoptions_t	*wo;
	uint8_t			 buf[4];
	char			*val, *err = NULL;
	size_t			 vlen;
	uint32_t		 version;
	int			 r;

	r = store_get(s, STORE_CF_DEFAULT, STORE_FORMAT_KEY,
	    strlen(STORE_FORMAT_KEY), &val, &vlen, cause);
	if (r == -1)
		return -1;
	if (r == 0) {
		version = vlen == 4 ? be32_get((uint8_t *)val) : 0;
		free(val);
		if (vlen != 4) {
			*cause = xasprintf("state in %s has a corrupt format "
			    "version record (%zu bytes)", s->dir, vlen);
			return -1;
		}
		if (version != STORE_FORMAT_VERSION) {
			*cause = xasprintf("state in %s has format version %u, "
			    "this build reads only version %d", s->dir,
			    version, STORE_FORMAT_VERSION);
			return -1;
		}
		return 0;
	}

	r = store_is_empty(s, cause);
	if (r == -1)
		return -1;
	if (r == 0) {
		*cause = xasprintf("%s holds a RocksDB database without a "
		    "format version: not activityd state", s->dir);
		return -1;
	}
	if (s->read_only)
		return 0;	/* empty: nothing to check, nothing to read */

	be32_put(buf, STORE_FORMAT_VERSION);
	wo = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(wo, 1);
	rocksdb_put_cf(s->db, wo, s->cf[STORE_CF_DEFAULT], STORE_FORMAT_KEY,
	    strlen(STORE_FORMAT_KEY), (const char *)buf, sizeof buf, &err);
	rocksdb_writeoptions_destroy(wo);
	if (err != NULL) {
		store_cause(cause, err, "cannot write format version");
		return -1;
	}
	return 0;
}

struct store *
store_open(const char *dir, const struct store_opts *so, char **cause)
{
	static const struct store_opts	 defaults;
	struct store			*s;
	uint64_t			 limit;
	bool				 exists;

	if (so == NULL)
		so = &defaults;
	exists = store_exists(dir);
	if (so->read_only && !exists) {
		*cause = xasprintf("no state in %s (missing directory or not a "
		    "RocksDB database)", dir);
		return NULL;
	}

	if (!so->read_only && store_check_space(dir, cause) != 0)
		return NULL;

	s = xcalloc(1, sizeof *s);
	s->dir = xstrdup(dir);
	s->read_only = so->read_only;
	limit = so->memory_limit != 0 ? so->memory_limit :
	    STORE_MEMORY_LIMIT_DEFAULT;
	s->cache_cap = limit / 2;
	s->wbuf_budget = limit / 4;
	s->cache = rocksdb_cache_create_lru(s->cache_cap);
	s->ropts = rocksdb_readoptions_create();
	s->wopts = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(s->wopts, so->sync);
	s->wb = rocksdb_writebatch_create();

	s->opts = store_make_options(so, s, cause);
	if (s->opts != NULL) {
		s->bulk_opts = rocksdb_options_create_copy(s->opts);
		rocksdb_options_set_memtable_vector_rep(s->bulk_opts);
	}
	if (s->opts == NULL || store_open_db(s, exists, cause) != 0 ||
	    store_check_format(s, cause) != 0) {
		store_close(s);
		return NULL;
	}
	return s;
}

void
store_close(struct store *s)
{
	size_t	i;

	if (s == NULL)
		return;
	/* Handles go before the database they belong to. */
	for (i = 0; i < s->nhandles; i++)
		rocksdb_column_family_handle_destroy(s->handles[i]);
	free(s->handles);
	if (s->db != NULL)
		rocksdb_close(s->db);
	if (s->opts != NULL)
		rocksdb_options_destroy(s->opts);
	if (s->bulk_opts != NULL)
		rocksdb_options_destroy(s->bulk_opts);
	rocksdb_cache_destroy(s->cache);
	rocksdb_readoptions_destroy(s->ropts);
	rocksdb_writeoptions_destroy(s->wopts);
	rocksdb_writebatch_destroy(s->wb);
	free(s->fail_msg);
	free(s->dir);
	free(s);
}

int
store_get(struct store *s, enum store_cf cf, const void *key, size_t klen,
    char **val, size_t *vlen, char **cause)
{
	rocksdb_pinnableslice_t	*ps;
	const char		*p;
	char			*err = NULL;
	size_t			 len;

	store_check_cf(cf);
	if (s->cf[cf] == NULL)
		return 1;	/* family absent from a read-only open */
	ps = rocksdb_get_pinned_cf(s->db, s->ropts, s->cf[cf],
	    key != NULL ? key : "", klen, &err);
	if (err != NULL) {
		store_cause(cause, err, "state read failed");
		return -1;
	}
	if (ps == NULL)
		return 1;
	p = rocksdb_pinnableslice_value(ps, &len);
	*val = xmalloc(len + 1);
	if (len != 0)
		memcpy(*val, p, len);
	(*val)[len] = '\0';
	*vlen = len;
	rocksdb_pinnableslice_destroy(ps);
	return 0;
}

struct store_batch *
store_batch_new(void)
{
	struct store_batch	*b;

	b = xcalloc(1, sizeof *b);
	enc_init(&b->ops);
	return b;
}

static void
store_batch_op(struct store_batch *b, enum store_op op, enum store_cf cf,
    const void *k, size_t kl, const void *v, size_t vl, bool with_v)
{
	store_check_cf(cf);
	enc_u8(&b->ops, op);
	enc_u8(&b->ops, cf);
	enc_bytes(&b->ops, k, kl);
	if (with_v)
		enc_bytes(&b->ops, v, vl);
	b->count++;
}

void
store_batch_put(struct store_batch *b, enum store_cf cf, const void *k,
    size_t kl, const void *v, size_t vl)
{
	store_batch_op(b, STORE_OP_PUT, cf, k, kl, v, vl, true);
}

void
store_batch_del(struct store_batch *b, enum store_cf cf, const void *k,
    size_t kl)
{
	store_batch_op(b, STORE_OP_DEL, cf, k, kl, NULL, 0, false);
}

void
store_batch_del_range(struct store_batch *b, enum store_cf cf,
    const void *start, size_t sl, const void *end, size_t el)
{
	store_batch_op(b, STORE_OP_DEL_RANGE, cf, start, sl, end, el, true);
}

size_t
store_batch_count(const struct store_batch *b)
{
	return b->count;
}

size_t
store_batch_bytes(const struct store_batch *b)
{
	return b->ops.len;
}

void
store_batch_clear(struct store_batch *b)
{
	enc_reset(&b->ops);
	b->count = 0;
}

void
store_batch_free(struct store_batch *b)
{
	if (b == NULL)
		return;
	enc_free(&b->ops);
	free(b);
}

/* Replay the batch's operations into s->wb. */
static int
store_fill_writebatch(struct store *s, const struct store_batch *b,
    char **cause)
{
	rocksdb_column_family_handle_t	*h;
	struct dec			 d;
	const char			*k, *v;
	size_t				 kl, vl, i;
	uint8_t				 op, cf;

	rocksdb_writebatch_clear(s->wb);
	dec_init(&d, b->ops.buf, b->ops.len);
	for (i = 0; i < b->count; i++) {
		op = dec_u8(&d);
		cf = dec_u8(&d);
		k = dec_bytes(&d, &kl);
		v = NULL;
		vl = 0;
		if (op != STORE_OP_DEL)
			v = dec_bytes(&d, &vl);
		if (d.err || cf >= STORE_NCF)
			fatalx("store: corrupt batch at operation %zu", i);
		h = s->cf[cf];
		if (h == NULL) {
			*cause = xasprintf("state write failed: column family "
			    "%s is missing", store_cf_names[cf]);
			return -1;
		}
		switch (op) {
		case STORE_OP_PUT:
			rocksdb_writebatch_put_cf(s->wb, h, k, kl, v, vl);
			break;
		case STORE_OP_DEL:
			rocksdb_writebatch_delete_cf(s->wb, h, k, kl);
			break;
		case STORE_OP_DEL_RANGE:
			rocksdb_writebatch_delete_range_cf(s->wb, h, k, kl, v,
			    vl);
			break;
		default:
			fatalx("store: bad batch operation %u", op);
		}
	}
	return 0;
}

int
store_write(struct store *s, struct store_batch *b, char **cause)
{
	char	*err = NULL;
	int	 r = 0;

	if (s->fail_msg != NULL) {
		*cause = xasprintf("state write failed: %s", s->fail_msg);
		return -1;
	}
	if (s->read_only) {
		*cause = xasprintf("state write failed: %s is open read-only",
		    s->dir);
		return -1;
	}
	if (b->count == 0)
		return 0;
	if (store_fill_writebatch(s, b, cause) != 0)
		r = -1;
	else {
		rocksdb_write(s->db, s->wopts, s->wb, &err);
		if (err != NULL) {
			store_cause(cause, err, "state write failed");
			r = -1;
		}
	}
	/* Do not keep a copy of a large batch around between writes. */
	rocksdb_writebatch_clear(s->wb);
	return r;
}

/*
 * The least key greater than every key that starts with prefix: drop
 * trailing 0xff bytes and increment the last remaining one. Returns 0 when
 * there is none (empty or all-0xff prefix: no upper bound).
 */
static size_t
store_prefix_successor(const uint8_t *prefix, size_t plen, uint8_t **out)
{
	size_t	n = plen;

	while (n > 0 && prefix[n - 1] == 0xff)
		n--;
	if (n == 0)
		return 0;
	*out = xmemdup(prefix, n);
	(*out)[n - 1]++;
	return n;
}

struct store_iter *
store_iter_prefix(struct store *s, enum store_cf cf, const void *prefix,
    size_t plen)
{
	struct store_iter	*si;
	size_t			 ulen;

	store_check_cf(cf);
	si = xcalloc(1, sizeof *si);
	if (plen != 0)
		si->prefix = xmemdup(prefix, plen);
	si->plen = plen;
	if (s->cf[cf] == NULL)
		return si;	/* family absent from a read-only open */
	si->ro = rocksdb_readoptions_create();
	ulen = store_prefix_successor(si->prefix, plen, &si->upper);
	if (ulen != 0) {
		rocksdb_readoptions_set_iterate_upper_bound(si->ro,
		    (const char *)si->upper, ulen);
	}
	si->it = rocksdb_create_iterator_cf(s->db, si->ro, s->cf[cf]);
	return si;
}

bool
store_iter_next(struct store_iter *si, const void **k, size_t *kl,
    const void **v, size_t *vl)
{
	const char	*key;
	size_t		 len;

	if (si->it == NULL || si->done)
		return false;
	if (!si->started) {
		si->started = true;
		if (si->plen != 0) {
			rocksdb_iter_seek(si->it, (const char *)si->prefix,
			    si->plen);
		} else
			rocksdb_iter_seek_to_first(si->it);
	} else
		rocksdb_iter_next(si->it);

	if (!rocksdb_iter_valid(si->it)) {
		si->done = true;
		return false;
	}
	key = rocksdb_iter_key(si->it, &len);
	/* Only an unbounded (all-0xff) prefix can run past its keys. */
	if (si->plen != 0 && (len < si->plen ||
	    memcmp(key, si->prefix, si->plen) != 0)) {
		si->done = true;
		return false;
	}
	*k = key;
	*kl = len;
	*v = rocksdb_iter_value(si->it, vl);
	return true;
}

int
store_iter_error(struct store_iter *si, char **cause)
{
	char	*err = NULL;

	if (si->it == NULL)
		return 0;
	rocksdb_iter_get_error(si->it, &err);
	if (err != NULL) {
		store_cause(cause, err, "state iteration failed");
		return -1;
	}
	return 0;
}

void
store_iter_free(struct store_iter *si)
{
	if (si == NULL)
		return;
	if (si->it != NULL)
		rocksdb_iter_destroy(si->it);
	if (si->ro != NULL)
		rocksdb_readoptions_destroy(si->ro);
	free(si->upper);
	free(si->prefix);
	free(si);
}

int
store_flush(struct store *s, bool wait, char **cause)
{
	rocksdb_flushoptions_t *fo;
	char *err = NULL;
	int i;

	if (s->read_only)
		return 0;
	fo = rocksdb_flushoptions_create();
	rocksdb_flushoptions_set_wait(fo, wait);
	for (i = 0; i < STORE_NCF && err == NULL; i++)
		if (s->cf[i] != NULL)
			rocksdb_flush_cf(s->db, fo, s->cf[i], &err);
	rocksdb_flushoptions_destroy(fo);
	if (err != NULL) {
		store_cause(cause, err, "flush");
		return -1;
	}
	return 0;
}

int
store_checkpoint(struct store *s, const char *dir, char **cause)
{
	rocksdb_checkpoint_t	*cp;
	char			*err = NULL;

	if (s->read_only) {
		*cause = xasprintf("cannot checkpoint %s: state is open "
		    "read-only", s->dir);
		return -1;
	}
	cp = rocksdb_checkpoint_object_create(s->db, &err);
	if (err != NULL) {
		store_cause(cause, err, "checkpoint failed");
		return -1;
	}
	/* log_size_for_flush 0: flush memtables first, so the checkpoint
	 * needs no WAL replay when it is opened. */
	rocksdb_checkpoint_create(cp, dir, 0, &err);
	rocksdb_checkpoint_object_destroy(cp);
	if (err != NULL) {
		store_cause(cause, err, "checkpoint failed");
		return -1;
	}
	return 0;
}

int64_t
store_property(struct store *s, enum store_cf cf, const char *name)
{
	uint64_t	v;

	if (strcmp(name, "rocksdb.block-cache-usage") == 0)
		return (int64_t)store_block_cache_usage(s);
	if ((unsigned)cf >= STORE_NCF || s->cf[cf] == NULL)
		return -1;
	if (rocksdb_property_int_cf(s->db, s->cf[cf], name, &v) != 0)
		return -1;
	if (v > INT64_MAX)
		return -1;
	return (int64_t)v;
}

uint64_t
store_block_cache_usage(struct store *s)
{
	return rocksdb_cache_get_usage(s->cache);
}

uint64_t
store_block_cache_pinned(struct store *s)
{
	return rocksdb_cache_get_pinned_usage(s->cache);
}

uint64_t
store_block_cache_capacity(struct store *s)
{
	return s->cache_cap;
}

uint64_t
store_write_buffer_budget(struct store *s)
{
	return s->wbuf_budget;
}

void
store_fail_writes(struct store *s, const char *message)
{
	free(s->fail_msg);
	s->fail_msg = message != NULL ? xstrdup(message) : NULL;
}
