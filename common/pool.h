/*
 * pool: one helper thread that runs a job while its caller runs another
 * (fork and join).
 *
 * The daemon's partitions are independent engines, and one thread
 * applying every partition's events was the bottleneck of a backfill
 * while the second core idled (docs/pipeline.md, "Applying events on two
 * threads"). The caller hands the helper part of a batch's partitions,
 * applies the others itself, may consume the next batch meanwhile, and
 * then waits; nothing is shared between the two parts, so the join is the
 * only synchronization.
 */
#ifndef AD_POOL_H
#define AD_POOL_H

struct pool;

/* Starts the thread, named name (at most 15 bytes). NULL and *cause
 * (caller frees) on failure. */
struct pool *pool_new(const char *name, char **cause);
/* Stops the thread; no job may be running. */
void pool_free(struct pool *);

/* Runs fn(arg) on the helper; the previous job must have been waited. */
void pool_start(struct pool *, void (*fn)(void *), void *arg);
/* Returns once the started job is over (at once when none is). */
void pool_wait(struct pool *);

/* CPUs this process may run on (its affinity mask), at least 1. */
int pool_cpus(void);

#endif
