/*
 * heap: see heap.h.
 *
 * Why mimalloc: librdkafka's fetch thread allocates every consumed message
 * and the main thread frees it. With glibc's malloc that free takes the
 * lock of the fetch thread's arena, which the fetch thread is holding to
 * allocate the next ones: a --once over 2M records spent 6% of its main
 * thread waiting on that lock, and 15% in page faults of a heap growing
 * 4 KiB at a time. mimalloc hands such frees back to the owning thread
 * without a lock; end to end the same --once took 25-40% less time (see
 * docs/pipeline.md, "The allocator").
 */
#include "heap.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef ACTIVITYD_MIMALLOC
#include <mimalloc.h>

const char *
heap_name(void)
{
	static char name[32];

	if (name[0] == '\0')
		snprintf(name, sizeof name, "mimalloc %d.%d.%d",
		    mi_version() / 100, mi_version() / 10 % 10,
		    mi_version() % 10);
	return name;
}

/*
 * Live mode with 2 MiB pages was measured too (docs/pipeline.md, "The
 * allocator"): the p99 latency at 100k events/s fell, but 10M users of
 * state took 17% more peak memory and the first partition resumed 0.5 s
 * later after a restart. Memory is what a live daemon is judged by, so
 * it is the operator's choice there (MIMALLOC_LARGE_OS_PAGES=1).
 */
void
heap_setup(bool batch)
{
	if (batch && getenv("MIMALLOC_LARGE_OS_PAGES") == NULL)
		mi_option_set(mi_option_large_os_pages, 1);
}

void
heap_release(void)
{
	mi_collect(true);
}

#else
#include <malloc.h>

const char *
heap_name(void)
{
	return "glibc";
}

void
heap_setup(bool batch)
{
	(void)batch;
}

void
heap_release(void)
{
	malloc_trim(0);
}
#endif
