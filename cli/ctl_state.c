/*
 * activityctl state inspect --state DIR
 *
 * What a state directory holds, read-only (so it works while a daemon
 * runs): per column family RocksDB's estimate of the keys, the exact count
 * and the bytes of keys plus values (by iterating); the consumed offset of
 * every topic partition; the settings record a reader needs.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_table.h"
#include "enc.h"
#include "persist.h"
#include "store.h"
#include "xmalloc.h"

#define CMD	"state"

void
ctl_offsets_free(struct ctl_offset *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].topic);
	free(v);
}

/* Key: topic, 0x00, be32 partition; value: be64 next offset (persist.c). */
int
ctl_offsets_read(struct store *st, struct ctl_offset **out, size_t *n,
    char **cause)
{
	struct store_iter *it = store_iter_prefix(st, STORE_CF_OFFSETS, "", 0);
	struct ctl_offset *v = NULL;
	const void *k, *val;
	size_t kl, vl, cap = 0;
	const char *nul;

	*n = 0;
	while (store_iter_next(it, &k, &kl, &val, &vl)) {
		nul = memchr(k, 0, kl);
		if (nul == NULL || kl - (size_t)(nul - (const char *)k) != 5 ||
		    vl != 8) {
			*cause = xasprintf("corrupt offsets record (key of %zu "
			    "bytes, value of %zu)", kl, vl);
			store_iter_free(it);
			ctl_offsets_free(v, *n);
			return -1;
		}
		v = xgrow(v, &cap, *n + 1, sizeof *v);
		v[*n].topic = xstrndup(k, (size_t)(nul - (const char *)k));
		v[*n].partition = (int32_t)be32_get((const uint8_t *)nul + 1);
		v[*n].offset = (int64_t)be64_get(val);
		(*n)++;
	}
	if (store_iter_error(it, cause) != 0) {
		store_iter_free(it);
		ctl_offsets_free(v, *n);
		return -1;
	}
	store_iter_free(it);
	*out = v;
	return 0;
}

void
ctl_offsets_print(const struct ctl_offset *v, size_t n, FILE *f)
{
	const char *hdr[] = { "topic", "partition", "offset" };
	struct table *t = table_new(TABLE_TEXT, 3, hdr);
	size_t i;

	for (i = 0; i < n; i++) {
		char part[16], off[32];
		const char *row[] = { v[i].topic, part, off };

		snprintf(part, sizeof part, "%" PRId32, v[i].partition);
		snprintf(off, sizeof off, "%" PRId64, v[i].offset);
		table_row(t, row);
	}
	table_print(t, f);
	table_free(t);
}

struct store *
ctl_store_open_ro(const char *dir, char **cause)
{
	struct store_opts so = { 0 };

	so.memory_limit = 64 << 20;
	so.read_only = true;
	return store_open(dir, &so, cause);
}

/* Exact keys and bytes of one family; -1 with *cause on a read error. */
static int
state_count(struct store *st, enum store_cf cf, uint64_t *keys,
    uint64_t *bytes, char **cause)
{
	struct store_iter *it = store_iter_prefix(st, cf, "", 0);
	const void *k, *v;
	size_t kl, vl;
	int r;

	*keys = *bytes = 0;
	while (store_iter_next(it, &k, &kl, &v, &vl)) {
		(*keys)++;
		*bytes += kl + vl;
	}
	r = store_iter_error(it, cause);
	store_iter_free(it);
	return r;
}

static int
state_families(struct store *st, char **cause)
{
	const char *hdr[] = { "column_family", "estimated_keys", "keys",
		"bytes" };
	struct table *t = table_new(TABLE_TEXT, 4, hdr);
	int cf;

	for (cf = 0; cf < STORE_NCF; cf++) {
		char est[32], keys[32], bytes[32];
		const char *row[] = { store_cf_name((enum store_cf)cf), est,
			keys, bytes };
		int64_t e = store_property(st, (enum store_cf)cf,
		    "rocksdb.estimate-num-keys");
		uint64_t nk, nb;

		if (state_count(st, (enum store_cf)cf, &nk, &nb, cause) != 0) {
			table_free(t);
			return -1;
		}
		if (e < 0)
			snprintf(est, sizeof est, "-");
		else
			snprintf(est, sizeof est, "%" PRId64, e);
		snprintf(keys, sizeof keys, "%" PRIu64, nk);
		snprintf(bytes, sizeof bytes, "%" PRIu64, nb);
		table_row(t, row);
	}
	table_print(t, stdout);
	table_free(t);
	return 0;
}

static int
state_settings(struct store *st, char **cause)
{
	char **names;
	size_t n, i;
	int precision, r;

	r = persist_get_settings(st, &names, &n, &precision, cause);
	if (r < 0)
		return -1;
	if (r == 1) {
		printf("settings: none stored (written at the daemon's start)"
		    "\n");
		return 0;
	}
	printf("settings: time_zones=");
	for (i = 0; i < n; i++) {
		printf("%s%s", i ? "," : "", names[i]);
		free(names[i]);
	}
	free(names);
	printf(" hll_precision=%d\n", precision);
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: activityctl state inspect --state DIR\n");
}

int
ctl_state(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL;
	struct ctl_offset *offs;
	struct store *st;
	char *cause = NULL;
	size_t n;
	int ch;

	(void)ctl;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': dir = optarg; break;
		case 'h':
			usage(stdout);
			return CTL_EXIT_OK;
		default:
			return ctl_try_help(CMD);
		}
	}
	if (optind >= argc || strcmp(argv[optind], "inspect") != 0)
		return ctl_usage_error(CMD, "expected: inspect");
	if (optind + 1 < argc)
		return ctl_extra_args(CMD, argv[optind + 1]);
	if (dir == NULL)
		return ctl_usage_error(CMD, "--state DIR is required");
	if ((st = ctl_store_open_ro(dir, &cause)) == NULL)
		goto fail;
	printf("state: %s\n", dir);
	if (state_settings(st, &cause) != 0 || state_families(st, &cause) != 0 ||
	    ctl_offsets_read(st, &offs, &n, &cause) != 0)
		goto fail;
	printf("offsets: %zu partitions\n", n);
	ctl_offsets_print(offs, n, stdout);
	ctl_offsets_free(offs, n);
	store_close(st);
	return CTL_EXIT_OK;
fail:
	ctl_warn(CMD, "%s: %s", dir, cause);
	free(cause);
	if (st != NULL)
		store_close(st);
	return CTL_EXIT_FAIL;
}
