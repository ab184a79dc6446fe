/*
 * pipeline_int: the pipeline's state, shared by the files of the pipeline
 * module only (pipeline.c: Kafka, state and commits; pipeline_admin.c: the
 * admin endpoints, Prometheus metrics and systemd notifications).
 */
#ifndef AD_PIPELINE_INT_H
#define AD_PIPELINE_INT_H

#include <event2/event.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

#include "codec.h"
#include "enc.h"
#include "engine.h"

struct admin;
struct config;
struct meta;
struct notify;
struct prom;
struct prom_metric;
struct store;
struct store_batch;
struct writer;
struct tzcal;
struct u64map;
struct outrec;
struct owners;
struct pool;

enum out_topic {
	OUT_SESSIONS,
	OUT_METRICS,
	OUT_DLQ,
	OUT_NTOPICS
};

#define BATCH_MSGS	2048
#define LIVE_BATCH_MSGS	256	/* live on one CPU: the drain budget is
				 * checked this often */
#define DRAIN_BUDGET_MS	20	/* consuming before other events run */
#define CLOSE_SLICE	4096	/* sessions closed between size checks
				 * (--once) or between drains (live) */
#define COMMIT_SLICE_BYTES (512 * 1024)	/* live: state written between drains */
#define ONCE_DELIVERY_MS	45000	/* --once: wait for a batch's outputs */
#define DLQ_VALUE_MAX	(256 * 1024)	/* under the producer's 1 MB limit */

struct part {
	int32_t        id;
	struct engine *eng;
	int64_t        next;	/* next offset to consume */
	int64_t        end;	/* --once: high watermark at start */
	bool           done;
	size_t         owned;	/* users recorded in pipeline.owners */
	bool           saved;	/* in the batch being built */
	bool           loading;	/* state not loaded yet: paused */
	uint64_t       apply_seq;	/* split_runs call it was last in */
	uint8_t        apply_on;	/* then: 0 the loop, 1 the helper */
	uint64_t       helper_seq;	/* the last that gave it the helper */
};

/* Consecutive decoded events of one partition (apply_slot.evs). */
struct apply_run {
	struct part   *pt;
	uint32_t       start, n;
	uint8_t        side;	/* split_runs: 0 the loop, 1 the helper */
};

/*
 * One consumed batch: its messages, the input events decoded from them,
 * applied to their partition's engine a run at a time (engine_add_batch
 * looks ahead), the message of each (a late one's is a dead letter), and
 * the lateness reason on_late gave each, NULL if none. Dead letters are
 * produced once the whole batch is applied, in input order, since the
 * helper applies runs too; the messages are destroyed then, since the
 * decoded strings point into them.
 */
struct apply_slot {
	rd_kafka_message_t  **msgs;		/* BATCH_MSGS */
	size_t                nmsgs;
	struct event         *evs;		/* BATCH_MSGS */
	rd_kafka_message_t  **evmsg;		/* BATCH_MSGS */
	const char          **evlate;		/* BATCH_MSGS */
	size_t                nevs;
	struct apply_run     *runs;		/* BATCH_MSGS */
	size_t                nruns;
	int64_t               now;		/* when it was consumed */
	size_t                helper_n;	/* events given to the helper */
	int64_t               helper_ns;	/* and its time to apply them */
};

/* What consuming and applying an event cost (adjust_share). */
struct apply_cost {
	double                take_ns, take_n;	/* the loop: consume, decode */
	double                apply_ns, apply_n;	/* the helper: apply */
};

struct pipeline {
	const struct config  *cfg;
	bool                  once;
	bool                  assign_all;	/* input.assign = all */
	bool                  subscribed;	/* to the group */
	bool                  ever_assigned;	/* by the group */
	const char           *topic_in;
	const char           *topic_meta;
	const char           *topic_out[OUT_NTOPICS];
	rd_kafka_topic_t     *rkt_out[OUT_NTOPICS];
	enum codec_format     fmt_in, fmt_meta, fmt_out;
	bool                  emit_sketch;
	int64_t               commit_ms;

	struct tzcal         *zones[ACTIVE_MAX_ZONES];
	size_t                nzones;
	struct meta          *meta;
	struct codec         *codec;
	struct engine_conf    econf;
	struct store         *store;
	struct store_batch   *batch;
	/*
	 * Live: commit slices are written by the writer's thread. While one
	 * is in flight its outputs wait in sent (produced once it is
	 * durable) and spare, the batch it replaced, is the writer's.
	 */
	struct writer        *writer;
	struct store_batch   *spare;
	struct outrec       **sent;
	size_t                nsent, capsent;
	int64_t               sent_t0;	/* its commit started */
	int64_t               sent_t1;	/* it was submitted */
	size_t                sent_ops, sent_bytes;

	rd_kafka_t           *consumer;
	rd_kafka_queue_t     *cq;
	rd_kafka_t           *meta_consumer;
	rd_kafka_t           *producer;
	int                   wake[2];	/* consumer queue -> loop */

	struct u64map        *parts;	/* partition -> struct part */
	int64_t              *meta_next;	/* by metadata partition */
	int64_t              *meta_end;
	int32_t               meta_nparts;

	struct outrec       **fresh;	/* in this batch, not yet produced */
	size_t                nfresh, capfresh;
	size_t                fresh_bytes;	/* their keys and values */
	size_t                batch_size;	/* --once: write past this */
	struct store_batch   *held;	/* --once: last step's, not written */
	size_t                step_left[2];	/* its and this step's undelivered */
	uint64_t              nstep;
	struct outrec       **retry;	/* failed deliveries */
	size_t                nretry, capretry;
	size_t                inflight;
	uint64_t              next_seq;	/* next outbox page */
	struct u64map        *pages;	/* page -> outputs not yet delivered */
	struct u64map        *final_done;	/* period keys emitted final */
	struct placement     *placed;	/* users placed by a partitioner */
	struct owners        *owners;	/* partition of every user */
	bool                  overlap;	/* a user in two partitions */
	struct engine       **engines;	/* sorted by partition; NULL: stale */
	struct newest {		/* newest day, month emitted, by zone */
		int32_t        period;
		uint64_t       exact;
		double         approx;
		bool           set;
	}                     newest[ACTIVE_MAX_ZONES][2];

	/*
	 * The batch being decoded (cur), and the other: while the helper
	 * applies its part of one batch, the loop consumes and decodes the
	 * next (docs/pipeline.md, "Applying events on two threads").
	 */
	struct apply_slot     slot[2];
	struct apply_slot    *cur;
	struct apply_slot    *ahead;		/* the helper's; NULL: none */
	uint64_t              ahead_seq;	/* its split_runs call */
	/* Split calls so far: a part's apply_on holds if its apply_seq
	 * is this (split_runs). */
	uint64_t              apply_seq;
	/* The helper's share of the events of split batches, in 64ths,
	 * and the events each side got (split_runs). */
	unsigned              helper_share;
	uint64_t              split_load[2];
	struct apply_cost     cost;
	size_t                split_min;	/* APPLY_SPLIT_MIN; a test hook */
	uint64_t              drain_delay_ms;	/* test hook, first drain */
	uint64_t              n_apply[2];	/* batches applied by 1, 2 threads */
	struct pool          *pool;		/* NULL: one CPU */
	struct enc            scratch;

	struct event_base    *base;
	struct event         *ev_wake, *ev_timer, *ev_term, *ev_int;
	struct event         *ev_more;	/* input left after a drain */
	struct event         *ev_load;	/* partitions left to load */
	struct event         *ev_commit;	/* commit round left to write */
	struct event         *ev_close;	/* due sessions left to close */
	struct event         *ev_written;	/* the writer is done */
	int32_t              *round;	/* its partitions not written yet */
	size_t                nround;
	size_t                nloading;
	bool                  stopping;
	int                   exit_code;

	uint64_t              n_in, n_dlq, n_late, n_sessions, n_metrics;
	uint64_t              n_meta_in;
	uint64_t              n_out[OUT_NTOPICS];	/* acknowledged */
	int64_t               t_start;
	int64_t               last_emit;	/* metrics, monotonic ms */
	bool                  state_failed;	/* a commit's write failed */
	uint64_t              fail_after_records;	/* test hook; 0: off */
	uint64_t              kill_after_writes;	/* test hook; 0: off */
	uint64_t              nwrites;	/* state writes done */

	/* Operations (pipeline_admin.c). */
	bool                  meta_ready;	/* metadata caught up */
	bool                  ready_sent;	/* READY=1 told to systemd */
	struct notify        *notify;
	uint64_t              status_in;	/* n_in at the last STATUS= */
	int64_t               status_at;
	struct admin         *admin;
	struct prom          *prom;
	struct prom_metric   *m_dlq, *m_commit;
	struct event         *ev_hup;
	struct event         *ev_watchdog;
	struct config      *(*reload)(void *, char **);
	void                 *reload_arg;
};

/* pipeline.c */
size_t pipeline_engines(struct pipeline *, struct engine ***out);
int pipeline_commit(struct pipeline *, bool metrics, bool all_final);
int64_t pipeline_mono_ms(void);

/* pipeline_admin.c */
int pipeline_admin_start(struct pipeline *, char **cause);
void pipeline_admin_stop(struct pipeline *);
void pipeline_admin_free(struct pipeline *);
/* Called at every commit tick: status, readiness. */
void pipeline_admin_tick(struct pipeline *);
/* Arms WATCHDOG=1 on its own timer, at half of WatchdogSec. */
int pipeline_watchdog_start(struct pipeline *);
void pipeline_count_dead_letter(struct pipeline *, const char *reason);
void pipeline_observe_commit(struct pipeline *, double seconds);

#endif
