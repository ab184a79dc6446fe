/*
 * store: the daemon's durable state, one RocksDB instance with a column
 * family per kind of record (docs/state.md).
 *
 * Writes go through a struct store_batch that is written atomically with one
 * rocksdb_write, so state, consumed offsets and the outbox always move
 * together. A batch is not tied to a store: it records operations by column
 * family and is turned into a RocksDB WriteBatch when written.
 *
 * Memory is capped by one shared LRU block cache (about half the limit; index
 * and filter blocks are charged to it too) and a shared write-buffer budget
 * (db_write_buffer_size, about a quarter). The RocksDB options string is
 * applied over the store's defaults, and the cap settings are applied last,
 * so they win (see docs/state.md for which keys that affects).
 *
 * Errors: functions return -1 (or NULL) and set *cause to an allocated
 * message that the caller frees.
 */
#ifndef AD_STORE_H
#define AD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum store_cf {
	STORE_CF_DEFAULT,	/* "default": format version and misc */
	STORE_CF_OFFSETS,	/* "offsets": consumed offsets per topic partition */
	STORE_CF_USERS,		/* "users": per partition, per user record */
	STORE_CF_ACTIVE,	/* "active": period-set chunks */
	STORE_CF_CLOCK,		/* "clock": per partition watermark */
	STORE_CF_META,		/* "meta": user metadata table */
	STORE_CF_OUTBOX,	/* "outbox": outputs not yet delivered */
	STORE_NCF
};

/* The on-disk layout version this build reads and writes. */
#define STORE_FORMAT_VERSION		1
/* Key in the default column family holding the format version (be32). */
#define STORE_FORMAT_KEY		"format_version"
/* memory_limit 0 means this. */
#define STORE_MEMORY_LIMIT_DEFAULT	((uint64_t)256 << 20)

struct store_opts {
	uint64_t    memory_limit;	/* bytes: shared LRU block cache + write buffers */
	const char *options;		/* RocksDB options string ("k=v;k=v"), may be NULL/"" */
	bool        read_only;		/* open existing state for reading; fails if dir missing */
	bool        sync;		/* fsync the WAL on every store_write */
};

struct store;
struct store_batch;
struct store_iter;

/*
 * Open (creating if missing, unless read_only) the state in dir. Column
 * families the store does not know are opened too and left alone. Fails
 * with a cause if the directory is locked by another process, the options
 * string is invalid, or the format version is not STORE_FORMAT_VERSION.
 * A read-only open takes no lock and works while a writer has the state open
 * (it sees what was written up to its open).
 */
struct store	*store_open(const char *dir, const struct store_opts *,
		     char **cause);
void		 store_close(struct store *);
const char	*store_cf_name(enum store_cf);
const char	*store_dir(const struct store *);
bool		 store_read_only(const struct store *);

/* 0 found (*val malloc'ed and NUL-terminated past vlen, caller frees),
 * 1 not found, -1 error with *cause. */
int		 store_get(struct store *, enum store_cf, const void *key,
		     size_t klen, char **val, size_t *vlen, char **cause);

struct store_batch *store_batch_new(void);
void		 store_batch_put(struct store_batch *, enum store_cf,
		     const void *k, size_t kl, const void *v, size_t vl);
void		 store_batch_del(struct store_batch *, enum store_cf,
		     const void *k, size_t kl);
/* Deletes keys in [start, end). */
void		 store_batch_del_range(struct store_batch *, enum store_cf,
		     const void *start, size_t sl, const void *end, size_t el);
/* Number of operations recorded. */
size_t		 store_batch_count(const struct store_batch *);
/* Bytes recorded: keys and values plus a few bytes per operation. */
size_t		 store_batch_bytes(const struct store_batch *);
void		 store_batch_clear(struct store_batch *);
void		 store_batch_free(struct store_batch *);

/* Atomic write of the whole batch (one rocksdb_write): all of it becomes
 * visible, or (on -1) none of it. The batch is not cleared. */
int		 store_write(struct store *, struct store_batch *, char **cause);

/*
 * Iteration over the keys that start with prefix, in key order (plen 0: the
 * whole column family). Views returned by next stay valid until the next
 * call. After next returns false, store_iter_error tells whether that was
 * the end (0) or an error (-1 with *cause).
 */
struct store_iter *store_iter_prefix(struct store *, enum store_cf,
		     const void *prefix, size_t plen);
bool		 store_iter_next(struct store_iter *, const void **k,
		     size_t *kl, const void **v, size_t *vl);
int		 store_iter_error(struct store_iter *, char **cause);
void		 store_iter_free(struct store_iter *);

/* Memtables into table files, so that the next open replays no log; a
 * read-only store has nothing to flush. Without wait the flushes are only
 * started: RocksDB's background thread writes the files, and a later
 * store_flush with wait waits for them too. */
int		 store_flush(struct store *, bool wait, char **cause);
/* RocksDB checkpoint (hard links where possible) into dir, which must not
 * exist; consistent with the last store_write. Needs a read-write store. */
int		 store_checkpoint(struct store *, const char *dir, char **cause);

/* Numeric property of a column family ("rocksdb.estimate-num-keys",
 * "rocksdb.cur-size-all-mem-tables", "rocksdb.block-cache-usage",
 * "rocksdb.actual-delayed-write-rate", ...); -1 if unavailable. */
int64_t		 store_property(struct store *, enum store_cf, const char *name);
uint64_t	 store_block_cache_usage(struct store *);
/* Of that, blocks held by readers (iterators, pinned gets). */
uint64_t	 store_block_cache_pinned(struct store *);
/* Capacity of the shared block cache and the write-buffer budget, bytes. */
uint64_t	 store_block_cache_capacity(struct store *);
uint64_t	 store_write_buffer_budget(struct store *);

/* Fault hook for tests: while set, store_write fails with this message and
 * writes nothing. NULL clears it. */
void		 store_fail_writes(struct store *, const char *message_or_null);

#endif
