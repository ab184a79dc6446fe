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
 * Each fault of a fresh 4 KiB page is a few microseconds on a virtual
 * machine, and the state's arrays double together in all partitions under
 * an even load: at 100k events/s the loop stopped for up to a quarter of
 * a second in faults when 64 partitions' arrays grew at once. With 2 MiB
 * pages the live p99 latency fell from 29-71 ms to 19-36 ms and a restart
 * loaded 10M users in 11.3 s instead of 16.5 s, for 4-7% more resident
 * memory there (docs/pipeline.md, "The allocator").
 */
void
heap_setup(void)
{
	if (getenv("MIMALLOC_LARGE_OS_PAGES") == NULL)
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
heap_setup(void)
{
}

void
heap_release(void)
{
	malloc_trim(0);
}
#endif
