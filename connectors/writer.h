/*
 * writer: writes store batches on a thread of its own, one at a time.
 *
 * A live commit slice is a RocksDB write of some hundreds of KB (memtable
 * inserts, the write-ahead log, and page faults of fresh memtable memory),
 * 4-6 ms and more in a burst. On the loop's thread every such write stopped
 * the consumption of events (docs/pipeline.md, "Committing"). The loop
 * submits the batch and goes on; the writer's file descriptor becomes
 * readable when the write is over, and the loop then collects the result
 * and does what must wait for durability (producing the outputs).
 *
 * Only one batch is in flight: a caller submits only when the writer is
 * idle, and must collect before it writes to the store any other way
 * (writer_collect with wait), so that writes stay in order.
 */
#ifndef AD_WRITER_H
#define AD_WRITER_H

#include <stdbool.h>

struct store;
struct store_batch;
struct writer;

/* Starts the thread. NULL and *cause (caller frees) on failure. */
struct writer *writer_new(struct store *, char **cause);
/* Waits for a write in flight, then stops the thread. */
void writer_free(struct writer *);

/* Readable once a submitted write is over (level-triggered until
 * collected). */
int writer_fd(const struct writer *);

/* A batch is submitted and not collected yet. */
bool writer_busy(const struct writer *);

/* Hands b to the thread; the writer must be idle. b is the writer's until
 * it is collected. */
void writer_submit(struct writer *, struct store_batch *b);

/*
 * The result of the submitted write. Returns 0 when nothing is collected:
 * the writer is idle, or the write is not over and wait is false. Else
 * returns 1 when it was written, -1 when it failed (*cause set, caller
 * frees), and gives the batch back, cleared, in *b.
 */
int writer_collect(struct writer *, bool wait, struct store_batch **b,
    char **cause);

#endif
