/*
 * activityctl generate: the seed's sample CSV files, reproducibly.
 *
 * The distributions follow the sample data the batch jobs were written
 * against (its MAU table fits 1,000,000 events over 1,000,000 users with
 * durations up to 300 s, see docs/cli.md):
 *
 *   interactions  user_id     u%06d, uniform over 1..U
 *                 timestamp   uniform over 2023 at second resolution, UTC
 *                 action_type uniform over five actions
 *                 page_id     p%05d, uniform over 1..10000
 *                 duration_ms uniform over 100..300000
 *                 app_version X.Y.Z, X in 5..7, Y and Z in 0..9
 *   metadata      M distinct users drawn uniformly from 1..U (selection
 *                 sampling, so the file is sorted by user_id); join_date
 *                 uniform over 2020-01-01..2023-12-31; country, device_type
 *                 and subscription_type uniform over fixed lists.
 *
 * Randomness is xoshiro256** seeded through splitmix64, one stream per
 * file, so the metadata does not change with --events. Rows are formatted
 * by hand into a large buffer: a million rows take a fraction of a second.
 * Files are written under a temporary name and renamed when complete.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "tzcal.h"
#include "xmalloc.h"

#define GEN_CMD		"generate"
#define GEN_OUTBUF	(1024 * 1024)
#define GEN_ROW_MAX	256	/* longest row we format, with room */

#define GEN_EVENTS_FILE	"user_interactions_sample.csv"
#define GEN_META_FILE	"user_metadata_sample.csv"

static const char *const gen_actions[] = {
	"page_view", "edit", "create", "delete", "share"
};
static const char *const gen_countries[] = {
	"US", "UK", "CA", "AU", "DE", "FR", "JP", "IN", "BR", "MX"
};
static const char *const gen_devices[] = {
	"iOS", "Android", "Web", "Windows", "macOS", "Linux"
};
static const char *const gen_plans[] = {
	"free", "basic", "premium", "enterprise"
};
#define NELEM(a)	(sizeof (a) / sizeof (a)[0])

#define GEN_USERS_MAX	100000000	/* metadata sampling is O(users) */
#define GEN_PAGES	10000
#define GEN_DUR_MIN	100
#define GEN_DUR_MAX	300000

/* --- random numbers ---------------------------------------------------- */

struct rng {
	uint64_t s[4];
};

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna). */
static inline uint64_t
rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* Uniform over [0, n) by multiply-shift; the bias is below 2^-40 here. */
static inline uint64_t
rng_below(struct rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

/* --- output ------------------------------------------------------------ */

struct out {
	FILE	*fp;
	char	*path;		/* final name */
	char	*tmp;		/* written here, renamed when complete */
	char	*buf;
	size_t	 len;
	bool	 failed;
};

static int
out_open(struct out *o, const char *dir, const char *name)
{
	memset(o, 0, sizeof *o);
	o->path = xasprintf("%s/%s", dir, name);
	o->tmp = xasprintf("%s/.%s.tmp", dir, name);
	o->fp = fopen(o->tmp, "w");
	if (o->fp == NULL) {
		ctl_warn(GEN_CMD, "%s: %s", o->tmp, strerror(errno));
		free(o->path);
		free(o->tmp);
		return -1;
	}
	o->buf = xmalloc(GEN_OUTBUF);
	return 0;
}

static void
out_flush(struct out *o)
{
	if (o->len > 0 && !o->failed &&
	    fwrite(o->buf, 1, o->len, o->fp) != o->len)
		o->failed = true;
	o->len = 0;
}

/* Room for one more row. */
static inline char *
out_row(struct out *o)
{
	if (GEN_OUTBUF - o->len < GEN_ROW_MAX)
		out_flush(o);
	return o->buf + o->len;
}

static inline void
out_commit(struct out *o, const char *end)
{
	o->len = (size_t)(end - o->buf);
}

/* Flushes, closes and renames into place; -1 (and no file) on error. */
static int
out_close(struct out *o)
{
	int rc = 0;

	out_flush(o);
	if (fclose(o->fp) != 0)
		o->failed = true;
	if (o->failed || rename(o->tmp, o->path) != 0) {
		ctl_warn(GEN_CMD, "%s: %s", o->failed ? o->tmp : o->path,
		    strerror(errno));
		unlink(o->tmp);
		rc = -1;
	}
	free(o->buf);
	free(o->path);
	free(o->tmp);
	return rc;
}

static inline char *
put_str(char *p, const char *s)
{
	while (*s != '\0')
		*p++ = *s++;
	return p;
}

/* Decimal, zero-padded to at least `width` digits. */
static inline char *
put_uint(char *p, uint64_t v, int width)
{
	char	tmp[20];
	int	n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n < width)
		tmp[n++] = '0';
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

static inline char *
put_2d(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

/* --- the two files ----------------------------------------------------- */

static int
gen_events(const char *dir, uint64_t n, uint64_t users, uint64_t seed)
{
	char		 days[366][11];
	int32_t		 day0 = tzcal_days_from_civil(2023, 1, 1);
	uint32_t	 ndays = (uint32_t)(tzcal_days_from_civil(2024, 1, 1) - day0);
	struct rng	 r;
	struct out	 o;
	uint64_t	 i;
	uint32_t	 d;

	if (out_open(&o, dir, GEN_EVENTS_FILE) < 0)
		return -1;
	for (d = 0; d < ndays; d++)
		tzcal_format_day(day0 + (int32_t)d, days[d]);
	rng_seed(&r, seed, 1);

	out_commit(&o, put_str(out_row(&o), "user_id,timestamp,action_type,"
	    "page_id,duration_ms,app_version\n"));
	for (i = 0; i < n; i++) {
		char		*p = out_row(&o);
		uint64_t	 sec = rng_below(&r, (uint64_t)ndays * 86400);
		unsigned	 tod = (unsigned)(sec % 86400);

		*p++ = 'u';
		p = put_uint(p, 1 + rng_below(&r, users), 6);
		*p++ = ',';
		p = put_str(p, days[sec / 86400]);
		*p++ = ' ';
		p = put_2d(p, tod / 3600);
		*p++ = ':';
		p = put_2d(p, tod / 60 % 60);
		*p++ = ':';
		p = put_2d(p, tod % 60);
		*p++ = ',';
		p = put_str(p, gen_actions[rng_below(&r, NELEM(gen_actions))]);
		*p++ = ',';
		*p++ = 'p';
		p = put_uint(p, 1 + rng_below(&r, GEN_PAGES), 5);
		*p++ = ',';
		p = put_uint(p, GEN_DUR_MIN +
		    rng_below(&r, GEN_DUR_MAX - GEN_DUR_MIN + 1), 1);
		*p++ = ',';
		*p++ = (char)('5' + rng_below(&r, 3));
		*p++ = '.';
		*p++ = (char)('0' + rng_below(&r, 10));
		*p++ = '.';
		*p++ = (char)('0' + rng_below(&r, 10));
		*p++ = '\n';
		out_commit(&o, p);
	}
	return out_close(&o);
}

static int
gen_meta(const char *dir, uint64_t m, uint64_t users, uint64_t seed)
{
	int32_t		 day0 = tzcal_days_from_civil(2020, 1, 1);
	uint32_t	 ndays = (uint32_t)(tzcal_days_from_civil(2023, 12, 31) -
			     day0 + 1);
	struct rng	 r;
	struct out	 o;
	uint64_t	 uid, left = m;

	if (out_open(&o, dir, GEN_META_FILE) < 0)
		return -1;
	rng_seed(&r, seed, 2);

	out_commit(&o, put_str(out_row(&o), "user_id,join_date,country,"
	    "device_type,subscription_type\n"));
	/* Knuth's selection sampling: each of the remaining users is taken
	 * with probability (still needed) / (still available). */
	for (uid = 1; uid <= users && left > 0; uid++) {
		char *p;

		if (rng_below(&r, users - uid + 1) >= left)
			continue;
		left--;
		p = out_row(&o);
		*p++ = 'u';
		p = put_uint(p, uid, 6);
		*p++ = ',';
		tzcal_format_day(day0 + (int32_t)rng_below(&r, ndays), p);
		p += 10;
		*p++ = ',';
		p = put_str(p, gen_countries[rng_below(&r,
		    NELEM(gen_countries))]);
		*p++ = ',';
		p = put_str(p, gen_devices[rng_below(&r, NELEM(gen_devices))]);
		*p++ = ',';
		p = put_str(p, gen_plans[rng_below(&r, NELEM(gen_plans))]);
		*p++ = '\n';
		out_commit(&o, p);
	}
	return out_close(&o);
}

static void
gen_usage(FILE *out)
{
	fprintf(out,
	    "usage: activityctl generate --out DIR [--events N] [--metadata M]\n"
	    "                            [--users U] [--seed S]\n"
	    "\n"
	    "Writes DIR/" GEN_EVENTS_FILE " and DIR/" GEN_META_FILE ",\n"
	    "the same bytes for the same flags.\n"
	    "\n"
	    "  --events N    interaction rows (default 1000000)\n"
	    "  --metadata M  metadata rows, distinct users, M <= U"
	    " (default 100000)\n"
	    "  --users U     user ids u000001..U (default 1000000)\n"
	    "  --seed S      random seed (default 42)\n"
	    "  --out DIR     output directory (created if missing)\n");
}

int
ctl_generate(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "events",	required_argument,	NULL, 'e' },
		{ "metadata",	required_argument,	NULL, 'm' },
		{ "users",	required_argument,	NULL, 'u' },
		{ "seed",	required_argument,	NULL, 's' },
		{ "out",	required_argument,	NULL, 'o' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	uint64_t	 events = 1000000, meta = 100000, users = 1000000;
	uint64_t	 seed = 42;
	const struct {
		int		 ch;
		const char	*flag;
		uint64_t	 min, max, *v;
	} nums[] = {
		{ 'e', "--events",	0, UINT32_MAX,		&events },
		{ 'm', "--metadata",	0, UINT32_MAX,		&meta },
		{ 'u', "--users",	1, GEN_USERS_MAX,	&users },
		{ 's', "--seed",	0, UINT64_MAX,		&seed },
	};
	const char	*dir = NULL;
	size_t		 i;
	int		 ch;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		for (i = 0; i < NELEM(nums) && nums[i].ch != ch; i++)
			;
		if (i < NELEM(nums)) {
			if (ctl_flag_u64(GEN_CMD, nums[i].flag, optarg,
			    nums[i].min, nums[i].max, nums[i].v) < 0)
				return CTL_EXIT_USAGE;
			continue;
		}
		switch (ch) {
		case 'o':
			dir = optarg;
			break;
		case 'h':
			gen_usage(stdout);
			return CTL_EXIT_OK;
		default:
			return ctl_try_help(GEN_CMD);
		}
	}
	if (optind < argc)
		return ctl_extra_args(GEN_CMD, argv[optind]);
	if (dir == NULL)
		return ctl_usage_error(GEN_CMD, "--out DIR is required");
	if (meta > users)
		return ctl_usage_error(GEN_CMD, "--metadata %llu exceeds "
		    "--users %llu", (unsigned long long)meta,
		    (unsigned long long)users);

	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		ctl_warn(GEN_CMD, "%s: %s", dir, strerror(errno));
		return CTL_EXIT_FAIL;
	}
	if (gen_events(dir, events, users, seed) < 0 ||
	    gen_meta(dir, meta, users, seed) < 0)
		return CTL_EXIT_FAIL;
	return CTL_EXIT_OK;
}
