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
 * Before the state grows: take memory from the system in 2 MiB pages where
 * the kernel allows it (transparent huge pages), one page fault per 2 MiB
 * instead of per 4 KiB. MIMALLOC_LARGE_OS_PAGES in the environment, when
 * set, decides instead (0: 4 KiB pages, a smaller resident size).
 */
void heap_setup(void);

/* Gives memory freed by every thread back to the system. */
void heap_release(void);

#endif
