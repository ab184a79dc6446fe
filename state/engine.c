/*
 * engine: the state of one input partition (see engine.h).
 */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enc.h"
#include "meta.h"
#include "strdict.h"
#include "xmalloc.h"

#define USER_ENC_VERSION	1
#define PSET_ENC_VERSION	1

struct engine {
	struct engine_conf   conf;
	struct meta         *meta;
	struct engine_cb     cb;
	struct strdict      *users;
	struct strdict      *strings;	/* action types and app versions */
	struct user_stats   *stats;	/* by uid */
	struct meta_ref     *mref;	/* by uid, same capacity */
	size_t               capstats;
	struct sessionizer  *sz;
	struct active       *act;
	uint8_t             *dirty_bits;
	size_t               capbits;
	uint32_t            *dirty;
	size_t               ndirty, capdirty;
	struct action_count *types;	/* scratch for session_out */
	size_t               captypes;
};

/*
 * A user's metadata id, looked up once per metadata generation: the
 * metadata table changes rarely against the event rate (and never during
 * --once), so most events skip the string lookup.
 */
struct meta_ref {
	uint32_t id;
	uint32_t generation;
};

static void on_close(void *arg, uint32_t uid, const struct sess *s);

struct engine *
engine_new(const struct engine_conf *conf, struct meta *meta,
    const struct engine_cb *cb)
{
	struct engine *g = xcalloc(1, sizeof *g);

	g->conf = *conf;
	g->meta = meta;
	g->cb = *cb;
	g->users = strdict_new();
	g->strings = strdict_new();
	g->sz = sessionizer_new(&conf->sess, g->strings, on_close, g);
	g->act = active_new(&conf->act);
	return g;
}

void
engine_free(struct engine *g)
{
	if (g == NULL)
		return;
	sessionizer_free(g->sz);
	active_free(g->act);
	strdict_free(g->users);
	strdict_free(g->strings);
	free(g->stats);
	free(g->mref);
	free(g->dirty_bits);
	free(g->dirty);
	free(g->types);
	free(g);
}

static void
mark_dirty(struct engine *g, uint32_t uid)
{
	size_t byte = uid / 8;

	if (byte >= g->capbits) {
		size_t old = g->capbits;

		g->dirty_bits = xgrow(g->dirty_bits, &g->capbits, byte + 1, 1);
		memset(g->dirty_bits + old, 0, g->capbits - old);
	}
	if (g->dirty_bits[byte] & (1u << (uid % 8)))
		return;
	g->dirty_bits[byte] |= (uint8_t)(1u << (uid % 8));
	g->dirty = xgrow(g->dirty, &g->capdirty, g->ndirty + 1,
	    sizeof *g->dirty);
	g->dirty[g->ndirty++] = uid;
}

static uint32_t
user_intern(struct engine *g, struct strv user_id)
{
	uint32_t uid = strdict_intern(g->users, user_id, NULL);

	if (uid >= g->capstats) {
		size_t old = g->capstats;

		size_t cap = old;

		g->stats = xgrow(g->stats, &g->capstats, (size_t)uid + 1,
		    sizeof *g->stats);
		memset(g->stats + old, 0,
		    (g->capstats - old) * sizeof *g->stats);
		g->mref = xgrow(g->mref, &cap, g->capstats, sizeof *g->mref);
		/* A generation that cannot match: looked up on first use. */
		memset(g->mref + old, 0xff, (cap - old) * sizeof *g->mref);
	}
	return uid;
}

static const struct meta_entry *
user_meta(struct engine *g, uint32_t uid)
{
	struct meta_ref *r = &g->mref[uid];
	uint32_t gen = meta_generation(g->meta);

	if (r->generation != gen) {
		r->id = meta_find(g->meta, strdict_get(g->users, uid));
		r->generation = gen;
	}
	return meta_get_id(g->meta, r->id);
}

static int
type_cmp(const void *a, const void *b)
{
	return strv_cmp(((const struct action_count *)a)->type,
	    ((const struct action_count *)b)->type);
}

static void
on_close(void *arg, uint32_t uid, const struct sess *s)
{
	struct engine *g = arg;
	struct user_stats *st = &g->stats[uid];
	struct session_out o;
	const struct meta_entry *me;
	char sid[SESSION_ID_MAX + 1];
	int64_t end = g->conf.end_last_start ? s->last : s->end;
	uint16_t i;
	int n, d;

	if (st->sessions == 0 || s->start < st->first_seen)
		st->first_seen = s->start;
	if (st->sessions == 0 || s->last > st->last_seen)
		st->last_seen = s->last;
	st->sessions++;
	st->duration_ms += (uint64_t)(end - s->start);
	st->actions += s->count;
	mark_dirty(g, uid);
	if (g->cb.session == NULL)
		return;

	memset(&o, 0, sizeof o);
	o.user_id = strdict_get(g->users, uid);
	/* "<user_id>:<start>"; user ids may hold any byte, NUL included. */
	memcpy(sid, o.user_id.p, o.user_id.len);
	n = (int)o.user_id.len;
	n += snprintf(sid + n, sizeof sid - (size_t)n, ":%lld",
	    (long long)s->start);
	o.session_id = (struct strv){ sid, (size_t)n };
	o.start_ms = s->start;
	o.end_ms = end;
	o.duration_ms = end - s->start;
	o.actions = s->count;
	g->types = xgrow(g->types, &g->captypes, s->ntypes ? s->ntypes : 1,
	    sizeof *g->types);
	for (i = 0; i < s->ntypes; i++) {
		g->types[i].type = strdict_get(g->strings,
		    sess_types(s)[i].code);
		g->types[i].count = sess_types(s)[i].count;
	}
	if (s->ntypes > 1)
		qsort(g->types, s->ntypes, sizeof *g->types, type_cmp);
	o.per_type = g->types;
	o.n_types = s->ntypes;
	o.first_app_version = strdict_get(g->strings, s->first_ver);
	o.last_app_version = strdict_get(g->strings, s->last_ver);
	me = user_meta(g, uid);
	if (me != NULL) {
		o.has_meta = true;
		o.join_date = me->join_date;
		for (d = 0; d < DIM_COUNT; d++)
			o.dims[d] = meta_value(g->meta, (enum dim)d,
			    me->codes[d]);
	}
	g->cb.session(g->cb.arg, &o);
}

enum engine_result
engine_add(struct engine *g, const struct event *ev, int64_t now_ms)
{
	uint32_t uid = user_intern(g, ev->user_id);
	struct user_stats *st = &g->stats[uid];
	enum engine_result r = ENGINE_OK;

	sessionizer_observe(g->sz, ev->ts_ms, now_ms);
	if (st->sessions > 0 &&
	    ev->ts_ms <= st->last_seen + g->conf.sess.gap_ms) {
		st->late++;
		r = ENGINE_LATE;
		if (g->cb.late != NULL)
			g->cb.late(g->cb.arg, ev,
			    "late: belongs to an emitted session");
	} else {
		sessionizer_add(g->sz, uid, ev->ts_ms, ev->duration_ms,
		    strdict_intern(g->strings, ev->action_type, NULL),
		    strdict_intern(g->strings, ev->app_version, NULL));
	}
	mark_dirty(g, uid);
	if (active_is_active(g->act, ev->duration_ms)) {
		const struct meta_entry *me = user_meta(g, uid);

		active_add(g->act, uid, strdict_hash(g->users, uid),
		    me ? me : meta_unknown(), ev->ts_ms, ev->duration_ms);
	}
	return r;
}

size_t
engine_advance(struct engine *g, int64_t now_ms)
{
	return sessionizer_advance(g->sz, now_ms);
}

size_t
engine_close_all(struct engine *g)
{
	return sessionizer_close_all(g->sz);
}

size_t
engine_close_some(struct engine *g, size_t max)
{
	return sessionizer_close_some(g->sz, max);
}

struct active *
engine_active(const struct engine *g)
{
	return g->act;
}

const struct sessionizer *
engine_sessionizer(const struct engine *g)
{
	return g->sz;
}

int64_t
engine_watermark(const struct engine *g)
{
	return sessionizer_watermark(g->sz);
}

size_t
engine_user_count(const struct engine *g)
{
	return strdict_count(g->users);
}

uint32_t
engine_user_find(const struct engine *g, struct strv user_id)
{
	return strdict_find(g->users, user_id);
}

struct strv
engine_user_name(const struct engine *g, uint32_t uid)
{
	return strdict_get(g->users, uid);
}

uint64_t
engine_user_hash(const struct engine *g, uint32_t uid)
{
	return strdict_hash(g->users, uid);
}

const struct user_stats *
engine_user_stats(const struct engine *g, uint32_t uid)
{
	if (uid >= strdict_count(g->users))
		return NULL;
	if (g->stats[uid].sessions == 0 && g->stats[uid].late == 0)
		return NULL;
	return &g->stats[uid];
}

double
user_stats_avg_seconds(const struct user_stats *st)
{
	if (st->sessions == 0)
		return 0.0;
	return (double)st->duration_ms / (double)st->sessions / 1000.0;
}

size_t
engine_memory(const struct engine *g)
{
	return sizeof *g + strdict_memory(g->users) +
	    strdict_memory(g->strings) + g->capstats * (sizeof *g->stats +
	    sizeof *g->mref) +
	    g->capbits + g->capdirty * sizeof *g->dirty +
	    sessionizer_memory(g->sz) + active_memory(g->act);
}

/* ---- write-behind ---- */

const uint32_t *
engine_dirty_users(const struct engine *g, size_t *n)
{
	*n = g->ndirty;
	return g->dirty;
}

void
engine_clear_dirty(struct engine *g)
{
	size_t i;

	for (i = 0; i < g->ndirty; i++)
		g->dirty_bits[g->dirty[i] / 8] = 0;
	g->ndirty = 0;
}

void
engine_encode_user(const struct engine *g, uint32_t uid, struct enc *e)
{
	const struct user_stats *st = &g->stats[uid];

	enc_u8(e, USER_ENC_VERSION);
	enc_uvar(e, st->sessions);
	enc_uvar(e, st->duration_ms);
	enc_uvar(e, st->actions);
	enc_svar(e, st->first_seen);
	enc_svar(e, st->last_seen);
	enc_uvar(e, st->late);
	sessionizer_encode_user(g->sz, uid, e);
}

int
engine_decode_user(struct engine *g, struct strv user_id, const void *buf,
    size_t len)
{
	struct dec d;
	struct user_stats st;
	uint32_t uid;
	size_t n;

	dec_init(&d, buf, len);
	if (dec_u8(&d) != USER_ENC_VERSION)
		return -1;
	st.sessions = dec_uvar(&d);
	st.duration_ms = dec_uvar(&d);
	st.actions = dec_uvar(&d);
	st.first_seen = dec_svar(&d);
	st.last_seen = dec_svar(&d);
	st.late = dec_uvar(&d);
	if (d.err || user_id.len == 0 || user_id.len > EVENT_USER_ID_MAX)
		return -1;
	uid = user_intern(g, user_id);
	sessionizer_sessions(g->sz, uid, &n);
	if (n != 0)
		return -1;	/* loaded twice */
	g->stats[uid] = st;
	if (sessionizer_decode_user(g->sz, uid, &d) != 0 || !dec_done(&d))
		return -1;
	return 0;
}

/*
 * A pset chunk: version, the value strings its entries use per dimension,
 * then the entries as (user id bytes, value index per dimension).
 */
size_t
engine_encode_pset_delta(const struct engine *g, const struct pset *s,
    struct enc *e)
{
	size_t n, i, from = pset_committed(s);
	const struct pentry *ent = pset_entries(s, &n);
	int d;

	enc_u8(e, PSET_ENC_VERSION);
	for (d = 0; d < DIM_COUNT; d++) {
		uint16_t c, nc = meta_value_count(g->meta, (enum dim)d);

		enc_uvar(e, nc);
		for (c = 0; c < nc; c++) {
			struct strv v = meta_value(g->meta, (enum dim)d, c);

			enc_bytes(e, v.p, v.len);
		}
	}
	enc_uvar(e, n - from);
	for (i = from; i < n; i++) {
		struct strv u = strdict_get(g->users, ent[i].uid);

		enc_bytes(e, u.p, u.len);
		for (d = 0; d < DIM_COUNT; d++)
			enc_uvar(e, ent[i].codes[d]);
	}
	return n;
}

int
engine_decode_pset_chunk(struct engine *g, int zone, enum period_kind kind,
    int32_t period, const void *buf, size_t len)
{
	struct dec d;
	uint16_t *map[DIM_COUNT] = { NULL };
	uint64_t nc[DIM_COUNT] = { 0 }, n, i, c;
	int k, rc = -1;

	dec_init(&d, buf, len);
	if (dec_u8(&d) != PSET_ENC_VERSION)
		return -1;
	/* Chunk codes -> this process's codes. */
	for (k = 0; k < DIM_COUNT; k++) {
		nc[k] = dec_uvar(&d);
		if (d.err || nc[k] > 65535)
			goto out;
		map[k] = xcalloc(nc[k] ? nc[k] : 1, sizeof *map[k]);
		for (c = 0; c < nc[k]; c++) {
			size_t vl;
			const char *v = dec_bytes(&d, &vl);

			if (v == NULL)
				goto out;
			map[k][c] = meta_code(g->meta, (enum dim)k,
			    (struct strv){ v, vl });
		}
	}
	n = dec_uvar(&d);
	for (i = 0; i < n && !d.err; i++) {
		size_t ul;
		const char *u = dec_bytes(&d, &ul);
		uint16_t codes[DIM_COUNT];
		uint32_t uid;

		for (k = 0; k < DIM_COUNT; k++) {
			c = dec_uvar(&d);
			codes[k] = c < nc[k] ? map[k][c] : 0;
		}
		if (u == NULL || ul == 0 || ul > EVENT_USER_ID_MAX || d.err)
			goto out;
		uid = user_intern(g, (struct strv){ u, ul });
		active_load_entry(g->act, zone, kind, period, uid,
		    strdict_hash(g->users, uid), codes);
	}
	if (dec_done(&d)) {
		struct pset *s = active_find(g->act, zone, kind, period);

		if (s != NULL) {
			pset_set_committed(s, pset_count(s));
			pset_clear_changed(s);
		}
		rc = 0;
	}
out:
	for (k = 0; k < DIM_COUNT; k++)
		free(map[k]);
	return rc;
}

void
engine_encode_clock(const struct engine *g, struct enc *e)
{
	sessionizer_encode_clock(g->sz, e);
}

int
engine_decode_clock(struct engine *g, const void *buf, size_t len)
{
	struct dec d;

	dec_init(&d, buf, len);
	if (sessionizer_decode_clock(g->sz, &d) != 0 || !dec_done(&d))
		return -1;
	return 0;
}
