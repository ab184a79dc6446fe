/*
 * persist: key layouts of the state (see persist.h and docs/state.md).
 *
 *   users   be32 partition | user_id                      -> user record
 *   active  be32 partition | u8 kind | be32 period^2^31 |
 *           u8 zone length | zone | be32 first entry index -> set chunk
 *   clock   be32 partition                                 -> watermark
 *   offsets topic | 0x00 | be32 partition                  -> be64 next offset
 *   meta    user_id                                        -> metadata
 *   outbox  be64 page                                      -> output records
 *
 * Big-endian integers make the byte order of keys the numeric order, so a
 * partition's state is one contiguous key range in each family.
 */
#include "persist.h"

#include <stdlib.h>
#include <string.h>

#include "enc.h"
#include "engine.h"
#include "meta.h"
#include "store.h"
#include "tzcal.h"
#include "xmalloc.h"

#define META_ENC_VERSION	1
#define OUTREC_ENC_VERSION	1
#define LOAD_BATCH		32	/* users decoded a batch at a time */

static uint32_t
period_bias(int32_t p)
{
	return (uint32_t)p ^ 0x80000000u;
}

/* An active-family key, as persist_save_partition writes it. */
struct active_key {
	int         kind;
	int32_t     period;
	struct strv zone;
};

static bool
active_key_parse(const void *k, size_t kl, struct active_key *out)
{
	const uint8_t *p = k;

	if (kl < 14 || kl != 14 + (size_t)p[9])
		return false;
	out->kind = p[4];
	out->period = (int32_t)(be32_get(p + 5) ^ 0x80000000u);
	out->zone = (struct strv){ (const char *)p + 10, p[9] };
	return true;
}

static int
load_partition(struct store *st, struct engine *g, int32_t part,
    struct tzcal *const *zones, size_t nzones, bool users, char **cause)
{
	uint8_t prefix[4];
	struct store_iter *it;
	const void *k, *v;
	size_t kl, vl;
	int rc = 0;
	struct enc buf;
	struct {
		size_t uoff, ul, voff, vl;
	} batch[LOAD_BATCH];
	bool more;

	be32_put(prefix, (uint32_t)part);

	/*
	 * Users a batch at a time, copied out of the iterator (its views end
	 * at the next step), so that the dictionary slots of the whole batch
	 * are requested before the first is needed: each is a cache miss in
	 * a random place.
	 */
	it = store_iter_prefix(st, STORE_CF_USERS, prefix, 4);
	enc_init(&buf);
	for (more = users; rc == 0 && more;) {
		size_t n = 0, i;

		enc_reset(&buf);
		while (n < LOAD_BATCH &&
		    (more = store_iter_next(it, &k, &kl, &v, &vl))) {
			batch[n].uoff = buf.len;
			batch[n].ul = kl - 4;
			enc_raw(&buf, (const char *)k + 4, kl - 4);
			batch[n].voff = buf.len;
			batch[n].vl = vl;
			enc_raw(&buf, v, vl);
			n++;
		}
		for (i = 0; i < n; i++)
			engine_prefetch_user(g, (struct strv){
			    (const char *)buf.buf + batch[i].uoff,
			    batch[i].ul });
		for (i = 0; i < n && rc == 0; i++) {
			struct strv u = { (const char *)buf.buf +
			    batch[i].uoff, batch[i].ul };

			if (engine_decode_user(g, u, buf.buf + batch[i].voff,
			    batch[i].vl) != 0) {
				*cause = xasprintf("partition %d: corrupt "
				    "user record for %.*s", part, (int)u.len,
				    u.p);
				rc = -1;
			}
		}
	}
	enc_free(&buf);
	if (rc == 0 && store_iter_error(it, cause) != 0)
		rc = -1;
	store_iter_free(it);
	if (rc != 0)
		return rc;

	it = store_iter_prefix(st, STORE_CF_ACTIVE, prefix, 4);
	while (rc == 0 && store_iter_next(it, &k, &kl, &v, &vl)) {
		struct active_key ak;
		size_t z;

		if (!active_key_parse(k, kl, &ak)) {
			*cause = xasprintf("partition %d: bad active key",
			    part);
			rc = -1;
			break;
		}
		for (z = 0; z < nzones; z++)
			if (strv_eq(strv_c(tzcal_name(zones[z])), ak.zone))
				break;
		if (z == nzones || ak.kind > PERIOD_MONTH)
			continue;	/* a zone no longer configured */
		if (engine_decode_pset_chunk(g, (int)z,
		    (enum period_kind)ak.kind, ak.period, v, vl) != 0) {
			*cause = xasprintf("partition %d: corrupt active-user "
			    "chunk", part);
			rc = -1;
		}
	}
	if (rc == 0 && store_iter_error(it, cause) != 0)
		rc = -1;
	store_iter_free(it);
	if (rc != 0)
		return rc;

	{
		char *val = NULL;
		size_t len;
		int r = store_get(st, STORE_CF_CLOCK, prefix, 4, &val, &len,
		    cause);

		if (r < 0)
			return -1;
		if (r == 0 && engine_decode_clock(g, val, len) != 0) {
			*cause = xasprintf("partition %d: corrupt clock", part);
			rc = -1;
		}
		free(val);
	}
	return rc;
}

int
persist_load_partition(struct store *st, struct engine *g, int32_t part,
    struct tzcal *const *zones, size_t nzones, char **cause)
{
	return load_partition(st, g, part, zones, nzones, true, cause);
}

int
persist_load_partition_sets(struct store *st, struct engine *g,
    int32_t part, struct tzcal *const *zones, size_t nzones, char **cause)
{
	return load_partition(st, g, part, zones, nzones, false, cause);
}

void
persist_save_partition(struct store_batch *b, struct engine *g,
    int32_t part, struct tzcal *const *zones)
{
	struct enc k, v;
	size_t n, i, pos = 0;
	const uint32_t *dirty = engine_dirty_users(g, &n);
	struct pset *s;

	enc_init(&k);
	enc_init(&v);
	for (i = 0; i < n; i++) {
		struct strv u = engine_user_name(g, dirty[i]);

		enc_reset(&k);
		enc_reset(&v);
		enc_be32(&k, (uint32_t)part);
		enc_raw(&k, u.p, u.len);
		engine_encode_user(g, dirty[i], &v);
		store_batch_put(b, STORE_CF_USERS, k.buf, k.len, v.buf, v.len);
	}
	while ((s = active_next(engine_active(g), &pos)) != NULL) {
		const char *zone = tzcal_name(zones[pset_zone(s)]);
		size_t zl = strlen(zone);

		if (pset_committed(s) == pset_count(s))
			continue;
		enc_reset(&k);
		enc_reset(&v);
		enc_be32(&k, (uint32_t)part);
		enc_u8(&k, (uint8_t)pset_kind(s));
		enc_be32(&k, period_bias(pset_period(s)));
		enc_u8(&k, (uint8_t)zl);
		enc_raw(&k, zone, zl);
		enc_be32(&k, (uint32_t)pset_committed(s));
		engine_encode_pset_delta(g, s, &v);
		store_batch_put(b, STORE_CF_ACTIVE, k.buf, k.len, v.buf, v.len);
	}
	enc_reset(&k);
	enc_reset(&v);
	enc_be32(&k, (uint32_t)part);
	engine_encode_clock(g, &v);
	store_batch_put(b, STORE_CF_CLOCK, k.buf, k.len, v.buf, v.len);
	enc_free(&k);
	enc_free(&v);
}

void
persist_committed(struct engine *g)
{
	size_t pos = 0;
	struct pset *s;

	while ((s = active_next(engine_active(g), &pos)) != NULL)
		pset_set_committed(s, pset_count(s));
	engine_clear_dirty(g);
}

static int
i32cmp(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

size_t
persist_partitions(struct store *st, int32_t **parts)
{
	struct store_iter *it = store_iter_prefix(st, STORE_CF_CLOCK, NULL, 0);
	const void *k, *v;
	size_t kl, vl, n = 0, cap = 0;
	int32_t *p = NULL;

	while (store_iter_next(it, &k, &kl, &v, &vl)) {
		if (kl != 4)
			continue;
		p = xgrow(p, &cap, n + 1, sizeof *p);
		p[n++] = (int32_t)be32_get(k);
	}
	store_iter_free(it);
	if (n > 1)
		qsort(p, n, sizeof *p, i32cmp);
	*parts = p;
	return n;
}

size_t
persist_zones(struct store *st, char ***names)
{
	struct store_iter *it = store_iter_prefix(st, STORE_CF_ACTIVE, NULL, 0);
	const void *k, *v;
	size_t kl, vl, n = 0, cap = 0, i;
	char **z = NULL;

	while (store_iter_next(it, &k, &kl, &v, &vl)) {
		struct active_key ak;

		if (!active_key_parse(k, kl, &ak))
			continue;
		for (i = 0; i < n; i++)
			if (strv_eq(strv_c(z[i]), ak.zone))
				break;
		if (i < n)
			continue;
		z = xgrow(z, &cap, n + 1, sizeof *z);
		z[n++] = xstrndup(ak.zone.p, ak.zone.len);
	}
	store_iter_free(it);
	*names = z;
	return n;
}

#define SETTINGS_KEY		"settings"
#define SETTINGS_ENC_VERSION	1

void
persist_put_settings(struct store_batch *b, struct tzcal *const *zones,
    size_t nzones, int hll_precision)
{
	struct enc v;
	size_t i;

	enc_init(&v);
	enc_u8(&v, SETTINGS_ENC_VERSION);
	enc_uvar(&v, (uint64_t)hll_precision);
	enc_uvar(&v, nzones);
	for (i = 0; i < nzones; i++)
		enc_str(&v, tzcal_name(zones[i]));
	store_batch_put(b, STORE_CF_DEFAULT, SETTINGS_KEY,
	    strlen(SETTINGS_KEY), v.buf, v.len);
	enc_free(&v);
}

int
persist_get_settings(struct store *st, char ***names, size_t *nzones,
    int *hll_precision, char **cause)
{
	char *val = NULL;
	size_t len, i;
	uint64_t n;
	struct dec d;
	int r = store_get(st, STORE_CF_DEFAULT, SETTINGS_KEY,
	    strlen(SETTINGS_KEY), &val, &len, cause);

	if (r != 0)
		return r;
	dec_init(&d, val, len);
	if (dec_u8(&d) != SETTINGS_ENC_VERSION)
		d.err = true;
	*hll_precision = (int)dec_uvar(&d);
	n = dec_uvar(&d);
	if (d.err || n > 64) {
		free(val);
		*cause = xstrdup("corrupt settings record");
		return -1;
	}
	*names = xcalloc(n ? n : 1, sizeof **names);
	for (i = 0; i < n; i++) {
		size_t l;
		const char *p = dec_bytes(&d, &l);

		(*names)[i] = xstrndup(p ? p : "", l);
	}
	*nzones = n;
	free(val);
	if (!dec_done(&d)) {
		for (i = 0; i < n; i++)
			free((*names)[i]);
		free(*names);
		*cause = xstrdup("corrupt settings record");
		return -1;
	}
	return 0;
}

static void
offset_key(struct enc *k, const char *topic, int32_t part)
{
	enc_raw(k, topic, strlen(topic));
	enc_u8(k, 0);
	enc_be32(k, (uint32_t)part);
}

int
persist_get_offset(struct store *st, const char *topic, int32_t part,
    int64_t *offset, char **cause)
{
	struct enc k;
	char *val = NULL;
	size_t len;
	int r;

	enc_init(&k);
	offset_key(&k, topic, part);
	r = store_get(st, STORE_CF_OFFSETS, k.buf, k.len, &val, &len, cause);
	enc_free(&k);
	if (r == 0) {
		if (len != 8) {
			free(val);
			*cause = xasprintf("corrupt offset of %s [%d]", topic,
			    part);
			return -1;
		}
		*offset = (int64_t)be64_get((const uint8_t *)val);
	}
	free(val);
	return r;
}

void
persist_put_offset(struct store_batch *b, const char *topic, int32_t part,
    int64_t offset)
{
	struct enc k;
	uint8_t v[8];

	enc_init(&k);
	offset_key(&k, topic, part);
	be64_put(v, (uint64_t)offset);
	store_batch_put(b, STORE_CF_OFFSETS, k.buf, k.len, v, 8);
	enc_free(&k);
}

void
persist_put_meta(struct store_batch *b, const struct meta_rec *m)
{
	struct enc v;
	int d;

	if (m->tombstone) {
		store_batch_del(b, STORE_CF_META, m->user_id.p,
		    m->user_id.len);
		return;
	}
	enc_init(&v);
	enc_u8(&v, META_ENC_VERSION);
	enc_svar(&v, m->join_date);
	for (d = 0; d < DIM_COUNT; d++)
		enc_bytes(&v, m->dims[d].p, m->dims[d].len);
	store_batch_put(b, STORE_CF_META, m->user_id.p, m->user_id.len,
	    v.buf, v.len);
	enc_free(&v);
}

int
persist_load_meta(struct store *st, struct meta *meta, size_t *count,
    char **cause)
{
	struct store_iter *it = store_iter_prefix(st, STORE_CF_META, NULL, 0);
	const void *k, *v;
	size_t kl, vl;
	int rc = 0, d;

	*count = 0;
	while (rc == 0 && store_iter_next(it, &k, &kl, &v, &vl)) {
		struct meta_rec m = { 0 };
		struct dec dc;
		const char *reason;

		dec_init(&dc, v, vl);
		m.user_id = (struct strv){ k, kl };
		if (dec_u8(&dc) != META_ENC_VERSION)
			dc.err = true;
		m.join_date = (int32_t)dec_svar(&dc);
		for (d = 0; d < DIM_COUNT; d++)
			m.dims[d].p = dec_bytes(&dc, &m.dims[d].len);
		if (!dec_done(&dc) || !meta_validate(&m, &reason)) {
			*cause = xasprintf("corrupt metadata record for %.*s",
			    (int)kl, (const char *)k);
			rc = -1;
			break;
		}
		meta_apply(meta, &m);
		(*count)++;
	}
	if (rc == 0 && store_iter_error(it, cause) != 0)
		rc = -1;
	store_iter_free(it);
	return rc;
}

static void
outrec_encode(struct enc *v, const struct outrec *r)
{
	unsigned i;

	enc_u8(v, r->topic);
	enc_bytes(v, r->key, r->klen);
	enc_u8(v, r->null_value);
	enc_bytes(v, r->val, r->vlen);
	enc_u8(v, r->nheaders);
	for (i = 0; i < r->nheaders; i++) {
		enc_str(v, r->hname[i]);
		enc_bytes(v, r->hval[i], r->hlen[i]);
	}
}

void
persist_put_outpage(struct store_batch *b, uint64_t page,
    struct outrec *const *recs, size_t n)
{
	struct enc v;
	uint8_t k[8];
	size_t i;

	enc_init(&v);
	enc_u8(&v, OUTREC_ENC_VERSION);
	enc_uvar(&v, n);
	for (i = 0; i < n; i++)
		outrec_encode(&v, recs[i]);
	be64_put(k, page);
	store_batch_put(b, STORE_CF_OUTBOX, k, 8, v.buf, v.len);
	enc_free(&v);
}

void
persist_del_outpage(struct store_batch *b, uint64_t page)
{
	uint8_t k[8];

	be64_put(k, page);
	store_batch_del(b, STORE_CF_OUTBOX, k, 8);
}

struct outrec *
outrec_new(const void *key, size_t klen, const void *val, size_t vlen)
{
	/* A backfill makes a million of these: one malloc each, not three. */
	struct outrec *r = xmalloc(sizeof *r + klen + vlen);

	memset(r, 0, sizeof *r);
	r->key = (uint8_t *)(r + 1);
	r->klen = klen;
	r->val = r->key + klen;
	r->vlen = vlen;
	if (klen)
		memcpy(r->key, key, klen);
	if (vlen)
		memcpy(r->val, val, vlen);
	return r;
}

void
outrec_free(struct outrec *r)
{
	unsigned i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nheaders; i++) {
		free(r->hname[i]);
		free(r->hval[i]);
	}
	free(r);
}

static struct outrec *
outrec_decode(struct dec *d, uint64_t page)
{
	struct outrec *r;
	const void *p, *k;
	size_t n, kn;
	unsigned i;
	uint8_t topic, null_value;

	topic = dec_u8(d);
	k = dec_bytes(d, &kn);
	null_value = dec_u8(d);
	p = dec_bytes(d, &n);
	if (d->err)
		return NULL;
	r = outrec_new(k, kn, p, n);
	r->page = page;
	r->topic = topic;
	r->null_value = null_value != 0;
	r->nheaders = dec_u8(d);
	if (d->err || r->nheaders > OUTREC_MAX_HEADERS) {
		r->nheaders = 0;
		goto bad;
	}
	for (i = 0; i < r->nheaders; i++) {
		p = dec_bytes(d, &n);
		r->hname[i] = xstrndup(p ? p : "", n);
		p = dec_bytes(d, &n);
		r->hval[i] = xmemdup(p, n);
		r->hlen[i] = n;
	}
	if (d->err)
		goto bad;
	return r;
bad:
	outrec_free(r);
	return NULL;
}

int
persist_load_outbox(struct store *st,
    void (*cb)(void *, uint64_t, struct outrec **, size_t), void *arg,
    char **cause)
{
	struct store_iter *it = store_iter_prefix(st, STORE_CF_OUTBOX, NULL, 0);
	const void *k, *v;
	size_t kl, vl;
	int rc = 0;

	while (rc == 0 && store_iter_next(it, &k, &kl, &v, &vl)) {
		struct dec d;
		uint64_t n, i, page;
		struct outrec **recs;

		dec_init(&d, v, vl);
		if (kl != 8 || dec_u8(&d) != OUTREC_ENC_VERSION)
			d.err = true;
		n = dec_uvar(&d);
		if (d.err || n > vl) {
			*cause = xstrdup("corrupt outbox record");
			rc = -1;
			break;
		}
		page = be64_get(k);
		recs = xcalloc(n ? n : 1, sizeof *recs);
		for (i = 0; i < n && rc == 0; i++)
			if ((recs[i] = outrec_decode(&d, page)) == NULL)
				rc = -1;
		if (rc != 0 || !dec_done(&d)) {
			for (i = 0; i < n; i++)
				outrec_free(recs[i]);
			free(recs);
			*cause = xstrdup("corrupt outbox record");
			rc = -1;
			break;
		}
		cb(arg, page, recs, n);
	}
	if (rc == 0 && store_iter_error(it, cause) != 0)
		rc = -1;
	store_iter_free(it);
	return rc;
}
