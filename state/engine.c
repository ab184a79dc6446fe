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
#include "userrec.h"
#include "xmalloc.h"

#define USER_ENC_VERSION	1
#define PSET_ENC_VERSION	1
#define LOAD_AHEAD	16	/* entries of a loaded chunk looked ahead */

struct engine {
	struct engine_conf   conf;
	struct meta         *meta;
	struct engine_cb     cb;
	struct strdict      *users;
	struct strdict      *strings;	/* action types and app versions */
	struct userrec      *recs;	/* found through the users' tags */
	struct sessionizer  *sz;
	struct active       *act;
	uint32_t            *dirty;
	size_t               ndirty, capdirty;
	struct action_count *types;	/* scratch for session_out */
	size_t               captypes;
};

static void on_close(void *arg, uint32_t uid, const struct sess *s);
static void on_close_ahead(void *arg, uint32_t uid, unsigned stage);

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
	sessionizer_set_ahead(g->sz, on_close_ahead);
	g->act = active_new(&conf->act);
	/* A committed user stays hot for gap + grace of event time after
	 * its last session closed: in a busy stream with a short gap, users
	 * that come back within seconds are not packed at every session. */
	g->recs = userrec_new(g->users, g->sz,
	    2 * conf->sess.gap_ms + conf->sess.grace_ms);
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
	userrec_free(g->recs);
	free(g->dirty);
	free(g->types);
	free(g);
}

static void
mark_dirty(struct engine *g, struct urec *r, uint32_t uid)
{
	if (r->dirty)
		return;
	r->dirty = 1;
	g->dirty = xgrow(g->dirty, &g->capdirty, g->ndirty + 1,
	    sizeof *g->dirty);
	g->dirty[g->ndirty++] = uid;
}

/* The user's record with its metadata codes current. */
static struct urec *
user_rec(struct engine *g, uint32_t uid)
{
	struct urec *r = userrec_get(g->recs, uid);
	uint32_t gen = meta_generation(g->meta);

	if (r->meta_gen != gen) {
		const struct meta_entry *me;

		r->meta_id = meta_find(g->meta, strdict_get(g->users, uid));
		me = meta_get_id(g->meta, r->meta_id);
		memcpy(r->codes, (me ? me : meta_unknown())->codes,
		    sizeof r->codes);
		r->meta_gen = gen;
	}
	return r;
}

static int
type_cmp(const void *a, const void *b)
{
	return strv_cmp(((const struct action_count *)a)->type,
	    ((const struct action_count *)b)->type);
}

/* What on_close will read: the name (its entry holds the record's tag),
 * then the record, then the metadata. */
static void
on_close_ahead(void *arg, uint32_t uid, unsigned stage)
{
	struct engine *g = arg;
	const struct urec *r;

	if (stage == 2)
		strdict_prefetch_id(g->users, uid);
	else if (stage == 1)
		userrec_prefetch(g->recs, uid);
	else if ((r = userrec_peek(g->recs, uid)) != NULL &&
	    r->meta_gen == meta_generation(g->meta))
		meta_prefetch_id(g->meta, r->meta_id);
}

/* v in decimal, as "%lld" writes it (at most 20 bytes, no NUL): snprintf
 * was 2% of a --once's closing of 2M sessions. */
static int
put_i64(char *out, int64_t v)
{
	char tmp[20];
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	int n = 0, len = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		out[len++] = '-';
	while (n > 0)
		out[len++] = tmp[--n];
	return len;
}

static void
on_close(void *arg, uint32_t uid, const struct sess *s)
{
	struct engine *g = arg;
	struct urec *r = user_rec(g, uid);
	struct user_stats *st = &r->st;
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
	mark_dirty(g, r, uid);
	if (g->cb.session == NULL)
		return;

	memset(&o, 0, sizeof o);
	o.user_id = strdict_get(g->users, uid);
	/* "<user_id>:<start>"; user ids may hold any byte, NUL included. */
	memcpy(sid, o.user_id.p, o.user_id.len);
	n = (int)o.user_id.len;
	sid[n++] = ':';
	n += put_i64(sid + n, s->start);
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
	me = meta_get_id(g->meta, r->meta_id);
	if (me != NULL) {
		o.has_meta = true;
		o.join_date = me->join_date;
		for (d = 0; d < DIM_COUNT; d++)
			o.dims[d] = meta_value(g->meta, (enum dim)d,
			    me->codes[d]);
	}
	g->cb.session(g->cb.arg, &o);
}

/*
 * `warm`: the batch loop has loaded what the event needs. Else the loads
 * are requested so that they overlap instead of following each other: the
 * metadata slot with the dictionary's (a new user will need it; for a
 * known one it is a load nobody waits for), then, once the user is known,
 * its session list, its sets' slots and the metadata entry, before the
 * record is read.
 */
static enum engine_result
add_hashed(struct engine *g, const struct event *ev, uint64_t uhash,
    int64_t now_ms, bool warm)
{
	bool created = false;
	uint32_t uid;
	struct urec *r;
	enum engine_result res = ENGINE_OK;

	if (!warm)
		meta_prefetch(g->meta, uhash);
	uid = strdict_intern_hashed(g->users, ev->user_id, uhash, &created);
	r = userrec_get(g->recs, uid);
	if (!warm) {
		sessionizer_prefetch_user(g->sz, uid);
		if (active_is_active(g->act, ev->duration_ms))
			active_prefetch(g->act, uid, ev->ts_ms);
		if (created)
			meta_prefetch_entry(g->meta, uhash);
	}
	sessionizer_observe(g->sz, ev->ts_ms, now_ms);
	if (r->st.sessions > 0 &&
	    ev->ts_ms <= r->st.last_seen + g->conf.sess.gap_ms) {
		r->st.late++;
		res = ENGINE_LATE;
		if (g->cb.late != NULL)
			g->cb.late(g->cb.arg, ev,
			    "late: belongs to an emitted session");
	} else {
		sessionizer_add(g->sz, uid, ev->ts_ms, ev->duration_ms,
		    strdict_intern(g->strings, ev->action_type, NULL),
		    strdict_intern(g->strings, ev->app_version, NULL));
	}
	mark_dirty(g, r, uid);
	if (active_is_active(g->act, ev->duration_ms)) {
		struct meta_entry me = { 0, { 0 } };

		memcpy(me.codes, user_rec(g, uid)->codes, sizeof me.codes);
		active_add(g->act, uid, uhash, &me,
		    ev->ts_ms, ev->duration_ms);
	}
	return res;
}

enum engine_result
engine_add(struct engine *g, const struct event *ev, int64_t now_ms)
{
	return add_hashed(g, ev, strdict_hash_of(ev->user_id), now_ms, false);
}

/*
 * Software pipelining over the batch: event i + 2 * AHEAD has its user's
 * hash computed and dictionary slot requested; at i + AHEAD, the slot has
 * arrived and names the user's entry, record and session list, requested
 * in turn (for a new user: the metadata dictionary's slot, then entry);
 * at i they are in the cache and the event is applied, its session array
 * and set slots requested AHEAD / 2 events before. Ids are
 * guesses until the event is applied (the bytes are compared only then),
 * which is harmless: a wrong guess costs a useless load.
 */
#define AHEAD	4
#define RING	16	/* > 2 * AHEAD, a power of two */

void
engine_add_batch(struct engine *g, const struct event *evs, size_t n,
    int64_t now_ms)
{
	uint64_t h[RING];
	bool fresh[RING];	/* a new user when its loads were requested */
	size_t i;

	for (i = 0; i < n + 2 * AHEAD; i++) {
		size_t f = i, m = i - AHEAD, c = i - AHEAD - AHEAD / 2,
		    t = i - 2 * AHEAD;

		if (f < n) {
			h[f % RING] = strdict_hash_of(evs[f].user_id);
			strdict_prefetch(g->users, h[f % RING]);
		}
		if (i >= AHEAD && m < n) {
			uint32_t id = strdict_prefetch_entry(g->users,
			    h[m % RING]);

			if (id == STRDICT_NONE)	/* new: metadata lookup */
				meta_prefetch(g->meta, h[m % RING]);
			else
				sessionizer_prefetch_user(g->sz, id);
		}
		if (i >= AHEAD + AHEAD / 2 && c < n) {
			uint32_t id = strdict_prefetch_entry(g->users,
			    h[c % RING]);
			size_t k;

			fresh[c % RING] = id == STRDICT_NONE;
			if (id == STRDICT_NONE) {
				meta_prefetch_entry(g->meta, h[c % RING]);
				/* The id it will get: one past the users
				 * known and those new ones applied first. */
				id = (uint32_t)strdict_count(g->users);
				for (k = t; k < c; k++)
					id += k < n && fresh[k % RING];
				/* Its session table slot, to be taken. */
				sessionizer_prefetch_user(g->sz, id);
			} else {
				/* The entry has arrived: its tag names
				 * the record. */
				userrec_prefetch(g->recs, id);
				sessionizer_prefetch_sessions(g->sz, id);
			}
			if (active_is_active(g->act, evs[c].duration_ms))
				active_prefetch(g->act, id, evs[c].ts_ms);
		}
		if (i >= 2 * AHEAD)
			add_hashed(g, &evs[t], h[t % RING], now_ms, true);
	}
}

size_t
engine_advance(struct engine *g, int64_t now_ms)
{
	return sessionizer_advance(g->sz, now_ms);
}

size_t
engine_advance_some(struct engine *g, int64_t now_ms, size_t max)
{
	return sessionizer_advance_some(g->sz, now_ms, max);
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

bool
engine_user_stats(const struct engine *g, uint32_t uid,
    struct user_stats *out)
{
	if (uid >= strdict_count(g->users))
		return false;
	userrec_stats(g->recs, uid, out);
	return out->sessions != 0 || out->late != 0;
}

size_t
engine_hot_users(const struct engine *g)
{
	return userrec_hot(g->recs);
}

double
user_stats_avg_seconds(const struct user_stats *st)
{
	if (st->sessions == 0)
		return 0.0;
	return (double)st->duration_ms / (double)st->sessions / 1000.0;
}

void
engine_memory_parts(const struct engine *g, size_t out[ENGINE_MEM_COUNT])
{
	out[ENGINE_MEM_USERS] = sizeof *g + strdict_memory(g->users) +
	    userrec_memory(g->recs) + g->capdirty * sizeof *g->dirty;
	out[ENGINE_MEM_SESSIONS] = sessionizer_memory(g->sz);
	out[ENGINE_MEM_SETS] = active_memory(g->act);
	out[ENGINE_MEM_STRINGS] = strdict_memory(g->strings);
}

size_t
engine_memory(const struct engine *g)
{
	size_t part[ENGINE_MEM_COUNT], n = 0;
	int i;

	engine_memory_parts(g, part);
	for (i = 0; i < ENGINE_MEM_COUNT; i++)
		n += part[i];
	return n;
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
		userrec_get(g->recs, g->dirty[i])->dirty = 0;
	/* In --once every user has sessions open to the end. */
	if (!g->conf.sess.hold_open)
		userrec_settle(g->recs, g->dirty, g->ndirty,
		    engine_watermark(g));
	g->ndirty = 0;
}

void
engine_encode_user(const struct engine *g, uint32_t uid, struct enc *e)
{
	struct user_stats st;

	userrec_stats(g->recs, uid, &st);
	enc_u8(e, USER_ENC_VERSION);
	user_stats_encode(e, &st);
	sessionizer_encode_user(g->sz, uid, e);
}

int
engine_decode_user(struct engine *g, struct strv user_id, const void *buf,
    size_t len)
{
	struct dec d;
	struct user_stats st;
	uint32_t uid;

	dec_init(&d, buf, len);
	if (dec_u8(&d) != USER_ENC_VERSION)
		return -1;
	user_stats_decode(&d, &st);
	if (d.err || user_id.len == 0 || user_id.len > EVENT_USER_ID_MAX)
		return -1;
	uid = strdict_intern(g->users, user_id, NULL);
	if (sessionizer_user_open(g->sz, uid) != 0)
		return -1;	/* loaded twice */
	/* Loaded users start cold: most will see no event soon. */
	userrec_load(g->recs, uid, &st);
	if (sessionizer_decode_user(g->sz, uid, &d) != 0 || !dec_done(&d))
		return -1;
	return 0;
}

void
engine_prefetch_user(const struct engine *g, struct strv user_id)
{
	strdict_prefetch(g->users, strdict_hash_of(user_id));
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
		const uint16_t *codes = pset_entry_codes(s, &ent[i]);

		enc_bytes(e, u.p, u.len);
		for (d = 0; d < DIM_COUNT; d++)
			enc_uvar(e, codes[d]);
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
	struct load_ent {
		struct strv u;
		uint64_t    h;
		uint16_t    codes[DIM_COUNT];
	} *ent = NULL;
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
	/* An entry takes at least 1 + DIM_COUNT bytes. */
	n = dec_uvar(&d);
	if (d.err || n > len)
		goto out;
	ent = xcalloc(n ? n : 1, sizeof *ent);
	for (i = 0; i < n; i++) {
		const char *u = dec_bytes(&d, &ent[i].u.len);

		for (k = 0; k < DIM_COUNT; k++) {
			c = dec_uvar(&d);
			ent[i].codes[k] = c < nc[k] ? map[k][c] : 0;
		}
		if (u == NULL || ent[i].u.len == 0 ||
		    ent[i].u.len > EVENT_USER_ID_MAX || d.err)
			goto out;
		ent[i].u.p = u;
		ent[i].h = strdict_hash_of(ent[i].u);
	}
	/*
	 * A user's dictionary slot, its entry and its slot in the set are
	 * cache misses in a random order: requested LOAD_AHEAD and half as
	 * many entries ahead, as engine_add_batch does (docs/engine.md).
	 */
	active_load_reserve(g->act, zone, kind, period, n,
	    (uint32_t)(strdict_count(g->users) + n));
	for (i = 0; i < n; i++) {
		uint32_t uid;

		if (i + LOAD_AHEAD < n)
			strdict_prefetch(g->users, ent[i + LOAD_AHEAD].h);
		if (i + LOAD_AHEAD / 2 < n) {
			uid = strdict_prefetch_entry(g->users,
			    ent[i + LOAD_AHEAD / 2].h);
			if (uid != STRDICT_NONE)
				active_load_prefetch(g->act, zone, kind,
				    period, uid);
		}
		uid = strdict_intern_hashed(g->users, ent[i].u, ent[i].h, NULL);
		active_load_entry(g->act, zone, kind, period, uid, ent[i].h,
		    ent[i].codes);
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
	free(ent);
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
