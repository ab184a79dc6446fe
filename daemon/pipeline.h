/*
 * pipeline: activityd's main job (SPEC sections 3-6). Kafka in, engine
 * state written behind to RocksDB with the consumed offsets and an outbox
 * of outputs in one batch per commit, Kafka out from the outbox.
 */
#ifndef AD_PIPELINE_H
#define AD_PIPELINE_H

#include <stdbool.h>

struct config;
struct pipeline;

/* The config must stay valid for the pipeline's life. */
struct pipeline *pipeline_new(const struct config *, bool once, char **cause);
/* How SIGHUP reads the configuration again (NULL + cause if invalid). */
void pipeline_set_reload(struct pipeline *,
    struct config *(*reload)(void *arg, char **cause), void *arg);
/* Runs until input ends (--once) or a stop; returns the exit code. */
int pipeline_run(struct pipeline *);
void pipeline_free(struct pipeline *);

#endif
