/*
 * heap: the daemon's memory allocator, as far as the daemon steers it.
 *
 * Release builds link mimalloc, which replaces malloc for the whole
 * process (librdkafka and RocksDB included); sanitizer builds keep glibc's,
 * which AddressSanitizer needs. See docs/pipeline.md, "Memory".
 */
#ifndef ACTIVITYD_HEAP_H
#define ACTIVITYD_HEAP_H

/* The allocator in use, for --version ("mimalloc 2.0.9"). */
const char *heap_name(void);

/*
 * A backfill (--once) is about to grow the heap by hundreds of megabytes
 * at once: take memory from the system in 2 MiB pages where the kernel
 * allows it (transparent huge pages), so that it costs one page fault per
 * 2 MiB instead of per 4 KiB. Not in live mode, where the heap grows
 * slowly and the resident size counts for more than the faults.
 */
void heap_batch_mode(void);

/* Gives memory freed by every thread back to the system. */
void heap_release(void);

#endif
