/*
 * bench_fault: what first touching memory costs on this machine.
 *
 * Maps MiB of anonymous memory (default 1024), touches one byte per 4 KiB
 * page, writes the whole region once more, and unmaps it, ROUNDS times
 * (default 3), with 4 KiB pages and then with 2 MiB pages
 * (MADV_HUGEPAGE). Prints per round the milliseconds of the first touch
 * (page faults and the kernel zeroing the pages) and of the second write
 * (memory bandwidth alone), and GB/s of each. On a virtual machine whose
 * host backs guest memory lazily, the first touch can cost a hundred times
 * the write: the state's growth is then a large part of a run's CPU time
 * (docs/BENCHMARKS.md). Usage: bench_fault [MIB [ROUNDS]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
round_once(size_t bytes, int huge, int r)
{
	double t0, t1, t2, gb = (double)bytes / 1e9;
	volatile char *p;
	size_t i;

	t0 = now_s();
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("bench_fault: mmap");
		return -1;
	}
	if (huge && madvise((void *)p, bytes, MADV_HUGEPAGE) != 0)
		perror("bench_fault: madvise(MADV_HUGEPAGE)");
	for (i = 0; i < bytes; i += 4096)
		p[i] = 1;
	t1 = now_s();
	memset((void *)p, 2, bytes);
	t2 = now_s();
	if (munmap((void *)p, bytes) != 0) {
		perror("bench_fault: munmap");
		return -1;
	}
	printf("%s pages, round %d: first touch %.0f ms (%.2f GB/s), "
	    "write %.0f ms (%.2f GB/s)\n", huge ? "2 MiB" : "4 KiB", r,
	    (t1 - t0) * 1e3, gb / (t1 - t0), (t2 - t1) * 1e3, gb / (t2 - t1));
	return 0;
}

int
main(int argc, char **argv)
{
	long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 1024;
	long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : 3;
	int huge, r;

	if (mib <= 0 || rounds <= 0) {
		fprintf(stderr, "usage: bench_fault [MIB [ROUNDS]]\n");
		return 2;
	}
	for (huge = 0; huge <= 1; huge++)
		for (r = 1; r <= rounds; r++)
			if (round_once((size_t)mib << 20, huge, r) != 0)
				return 1;
	return 0;
}
