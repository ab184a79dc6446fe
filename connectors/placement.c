/* placement: users placed by a Kafka partitioner (see placement.h). */
#include "placement.h"

#include <stdlib.h>

#include <librdkafka/rdkafka.h>

#include "xmalloc.h"

typedef int32_t (*partitioner_fn)(const rd_kafka_topic_t *, const void *,
    size_t, int32_t, void *, void *);

/* librdkafka's own functions, which need no topic handle for a key. */
static const struct {
	const char     *name;
	partitioner_fn  fn;
} fns[] = {
	{ "crc32", rd_kafka_msg_partitioner_consistent },
	{ "murmur2", rd_kafka_msg_partitioner_murmur2 },
	{ "fnv1a", rd_kafka_msg_partitioner_fnv1a },
};

#define NFNS	(sizeof fns / sizeof fns[0])

struct placement {
	int32_t  nparts;
	unsigned in;		/* bit i: fns[i] placed every pair so far */
};

struct placement *
placement_new(int32_t nparts)
{
	struct placement *pl = xcalloc(1, sizeof *pl);

	pl->nparts = nparts;
	pl->in = nparts > 0 ? (1u << NFNS) - 1 : 0;
	return pl;
}

void
placement_free(struct placement *pl)
{
	free(pl);
}

bool
placement_check(struct placement *pl, struct strv user, int32_t partition)
{
	size_t i;

	for (i = 0; i < NFNS; i++)
		if ((pl->in & (1u << i)) && fns[i].fn(NULL, user.p, user.len,
		    pl->nparts, NULL, NULL) != partition)
			pl->in &= ~(1u << i);
	return pl->in != 0;
}

bool
placement_holds(const struct placement *pl)
{
	return pl->in != 0;
}

const char *
placement_name(const struct placement *pl)
{
	size_t i;

	for (i = 0; i < NFNS; i++)
		if (pl->in & (1u << i))
			return fns[i].name;
	return NULL;
}
