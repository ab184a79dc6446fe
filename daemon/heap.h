/*
 * heap: the daemon's memory allocator, as far as the daemon steers it.
 *
 * Release builds link mimalloc, which replaces malloc for the whole
 * process (librdkafka and RocksDB included); sanitizer builds keep glibc's,
 * which AddressSanitizer needs. See docs/pipeline.md, "Memory".
 */
#ifndef ACTIVITYD_HEAP_H
#define ACTIVITYD_HEAP_H

#include <stdbool.h>

/* The allocator in use, for --version ("mimalloc 2.0.9"). */
const char *heap_name(void);

/*
 * Before the first allocation. A backfill (batch, --once) grows the heap by
 * hundreds of megabytes at once: it takes memory from the system in 2 MiB
 * pages where the kernel allows it (transparent huge pages), one page
 * fault per 2 MiB instead of per 4 KiB. Live mode keeps 4 KiB pages, for a
 * smaller resident size. MIMALLOC_LARGE_OS_PAGES in the environment, when
 * set, decides instead, in either mode.
 */
void heap_setup(bool batch);

/* Gives memory freed by every thread back to the system. */
void heap_release(void);

#endif
