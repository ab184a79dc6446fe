/*
 * activityctl snapshot create|list|verify|restore
 *
 * A snapshot is a RocksDB checkpoint of a daemon's state, consistent with
 * one commit: state, consumed offsets and outbox together. The running
 * daemon makes it (POST /v1/snapshots); this command lists them, checks
 * that one opens and that the broker still has the records after its
 * offsets, and restores one into a state directory for a daemon to start
 * from.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "ctl.h"
#include "ctl_http.h"
#include "ctl_table.h"
#include "store.h"
#include "xmalloc.h"

#define CMD		"snapshot"
#define SNAP_KAFKA_MS	10000	/* per watermark query */

static int
snap_fail(const char *what, char *cause)
{
	ctl_warn(CMD, "%s: %s", what, cause);
	free(cause);
	return CTL_EXIT_FAIL;
}

/* ---- create ---- */

static int
snap_create(struct ctl *ctl, const char *name)
{
	json_t *req, *o, *path;
	char *body = NULL, *cause = NULL;

	if (ctl->admin_url == NULL)
		return ctl_usage_error(CMD, "create needs the daemon's "
		    "endpoint: activityctl --admin URL snapshot create");
	if (name != NULL && (name[0] == '\0' || name[0] == '.' ||
	    strchr(name, '/') != NULL))
		return ctl_usage_error(CMD, "bad snapshot name '%s' (no '/', "
		    "not starting with '.')", name);
	if (name != NULL) {
		req = json_pack("{s:s}", "name", name);
		body = json_dumps(req, JSON_COMPACT);
		json_decref(req);
	}
	if (ctl_admin_call(ctl->admin_url, "/v1/snapshots", body ? body : "",
	    &o, &cause) != 0) {
		free(body);
		return snap_fail("create", cause);
	}
	free(body);
	path = json_object_get(o, "path");
	if (!json_is_string(path)) {
		json_decref(o);
		ctl_warn(CMD, "create: the answer has no path");
		return CTL_EXIT_FAIL;
	}
	printf("%s\n", json_string_value(path));
	json_decref(o);
	return CTL_EXIT_OK;
}

/* ---- list ---- */

/* Bytes of the regular files directly in dir (a checkpoint is flat). */
static uint64_t
snap_size(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct stat st;
	uint64_t sum = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		    0 && S_ISREG(st.st_mode))
			sum += (uint64_t)st.st_size;
	}
	closedir(d);
	return sum;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the rows of one snapshot: one per stored topic partition. */
static int
snap_list_one(struct table *t, const char *base, const char *name)
{
	char *dir = xasprintf("%s/%s", base, name), *cause = NULL;
	char created[32], size[32], part[16], off[32];
	const char *row[] = { name, created, size, "", "", "" };
	struct ctl_offset *offs;
	struct store *st;
	struct stat sb;
	struct tm tm;
	size_t n, i;

	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		free(dir);
		return 0;	/* not a snapshot: skipped */
	}
	gmtime_r(&sb.st_mtime, &tm);
	strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(size, sizeof size, "%" PRIu64, snap_size(dir));
	if ((st = ctl_store_open_ro(dir, &cause)) == NULL ||
	    ctl_offsets_read(st, &offs, &n, &cause) != 0) {
		if (st != NULL)
			store_close(st);
		ctl_warn(CMD, "%s: %s", dir, cause);
		free(cause);
		free(dir);
		return -1;
	}
	store_close(st);
	free(dir);
	if (n == 0)
		table_row(t, row);
	for (i = 0; i < n; i++) {
		snprintf(part, sizeof part, "%" PRId32, offs[i].partition);
		snprintf(off, sizeof off, "%" PRId64, offs[i].offset);
		row[3] = offs[i].topic;
		row[4] = part;
		row[5] = off;
		table_row(t, row);
	}
	ctl_offsets_free(offs, n);
	return 0;
}

static int
snap_list(const char *base, enum table_format fmt)
{
	const char *hdr[] = { "name", "created", "bytes", "topic",
		"partition", "offset" };
	struct table *t;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	int rc = CTL_EXIT_OK;
	DIR *d;

	if (base == NULL)
		return ctl_usage_error(CMD, "list needs --dir DIR (the "
		    "daemon's snapshot directory, by default <state.dir>."
		    "snapshots)");
	if ((d = opendir(base)) == NULL) {
		ctl_warn(CMD, "%s: %s", base, strerror(errno));
		return CTL_EXIT_FAIL;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')	/* also the daemon's temp names */
			continue;
		names = xgrow(names, &cap, n + 1, sizeof *names);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, name_cmp);
	t = table_new(fmt, 6, hdr);
	table_set_numeric(t, 2);
	table_set_numeric(t, 4);
	table_set_numeric(t, 5);
	for (i = 0; i < n; i++) {
		if (snap_list_one(t, base, names[i]) != 0)
			rc = CTL_EXIT_FAIL;
		free(names[i]);
	}
	free(names);
	table_print(t, stdout);
	table_free(t);
	return rc;
}

/* ---- verify ---- */

static rd_kafka_t *
snap_kafka(const char *bootstrap)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[512];
	rd_kafka_t *rk;

	if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr,
	    sizeof errstr) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "client.id", "activityctl-snapshot",
	    errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
		rd_kafka_conf_destroy(conf);
		ctl_warn(CMD, "bootstrap.servers=%s: %s", bootstrap, errstr);
		return NULL;
	}
	/* A producer needs no group; it only asks for watermarks. */
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
	if (rk == NULL) {
		rd_kafka_conf_destroy(conf);
		ctl_warn(CMD, "rd_kafka_new: %s", errstr);
	}
	return rk;
}

static int
snap_verify(const char *dir, const char *bootstrap)
{
	const char *hdr[] = { "topic", "partition", "offset", "low", "high",
		"retained" };
	struct ctl_offset *offs;
	struct store *st;
	struct table *t;
	rd_kafka_t *rk;
	char *cause = NULL;
	size_t n, i, lost = 0;

	if ((st = ctl_store_open_ro(dir, &cause)) == NULL)
		return snap_fail(dir, cause);
	if (ctl_offsets_read(st, &offs, &n, &cause) != 0) {
		store_close(st);
		return snap_fail(dir, cause);
	}
	store_close(st);
	printf("snapshot %s opens: %zu partitions with offsets\n", dir, n);
	if (bootstrap == NULL) {
		ctl_offsets_print(offs, n, stdout);
		ctl_offsets_free(offs, n);
		return CTL_EXIT_OK;
	}
	if ((rk = snap_kafka(bootstrap)) == NULL) {
		ctl_offsets_free(offs, n);
		return CTL_EXIT_FAIL;
	}
	t = table_new(TABLE_TEXT, 6, hdr);
	for (i = 0; i < n; i++) {
		char part[16], off[32], low[32], high[32];
		const char *row[] = { offs[i].topic, part, off, low, high, "" };
		int64_t lo, hi;
		rd_kafka_resp_err_t err;

		snprintf(part, sizeof part, "%" PRId32, offs[i].partition);
		snprintf(off, sizeof off, "%" PRId64, offs[i].offset);
		err = rd_kafka_query_watermark_offsets(rk, offs[i].topic,
		    offs[i].partition, &lo, &hi, SNAP_KAFKA_MS);
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			snprintf(low, sizeof low, "-");
			snprintf(high, sizeof high, "-");
			row[5] = rd_kafka_err2str(err);
			lost++;
		} else {
			snprintf(low, sizeof low, "%" PRId64, lo);
			snprintf(high, sizeof high, "%" PRId64, hi);
			/* Past the end: the topic was recreated or truncated. */
			row[5] = offs[i].offset < lo ? "no" :
			    offs[i].offset > hi ? "no (beyond end)" : "yes";
			if (offs[i].offset < lo || offs[i].offset > hi)
				lost++;
		}
		table_row(t, row);
	}
	table_print(t, stdout);
	table_free(t);
	rd_kafka_destroy(rk);
	ctl_offsets_free(offs, n);
	if (lost > 0) {
		ctl_warn(CMD, "%zu of %zu partitions cannot resume from this "
		    "snapshot: records after its offsets are gone", lost, n);
		return CTL_EXIT_FAIL;
	}
	printf("all offsets are retained by the broker\n");
	return CTL_EXIT_OK;
}

/* ---- restore ---- */

/* Whether a process holds RocksDB's lock on dir/LOCK (a POSIX record
 * lock): asked with F_GETLK, which changes nothing. */
static int
snap_locked(const char *dir, bool *locked, char **cause)
{
	char *path = xasprintf("%s/LOCK", dir);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*locked = false;
	if (fd < 0) {
		free(path);
		if (errno == ENOENT)
			return 0;
		*cause = xasprintf("%s/LOCK: %s", dir, strerror(errno));
		return -1;
	}
	free(path);
	if (fcntl(fd, F_GETLK, &fl) != 0) {
		*cause = xasprintf("%s/LOCK: %s", dir, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	*locked = fl.l_type != F_UNLCK;
	return 0;
}

static int
rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

static int
snap_copy_file(const char *from, const char *to, char **cause)
{
	char buf[65536];
	ssize_t r, w, off;
	int in, out;

	if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0) {
		*cause = xasprintf("%s: %s", from, strerror(errno));
		return -1;
	}
	if ((out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) <
	    0) {
		*cause = xasprintf("%s: %s", to, strerror(errno));
		close(in);
		return -1;
	}
	while ((r = read(in, buf, sizeof buf)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		for (off = 0; off < r; off += w)
			if ((w = write(out, buf + off, (size_t)(r - off))) < 0)
				goto fail;
	}
	close(in);
	if (fsync(out) != 0 || close(out) != 0) {
		*cause = xasprintf("%s: %s", to, strerror(errno));
		return -1;
	}
	return 0;
fail:
	*cause = xasprintf("copy %s: %s", from, strerror(errno));
	close(in);
	close(out);
	return -1;
}

/*
 * Table files (.sst, .blob) are immutable: hard-linked where the file
 * system allows. The rest (MANIFEST, CURRENT, OPTIONS, WAL) is copied, so
 * that the restored state never writes into the snapshot's inodes.
 */
static int
snap_copy_dir(const char *from, const char *to, size_t *linked,
    size_t *copied, char **cause)
{
	DIR *d = opendir(from);
	struct dirent *de;
	struct stat st;
	char *src, *dst;
	const char *ext;
	int rc = 0;

	if (d == NULL) {
		*cause = xasprintf("%s: %s", from, strerror(errno));
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		src = xasprintf("%s/%s", from, de->d_name);
		dst = xasprintf("%s/%s", to, de->d_name);
		if (lstat(src, &st) != 0) {
			*cause = xasprintf("%s: %s", src, strerror(errno));
			rc = -1;
		} else if (S_ISREG(st.st_mode)) {
			ext = strrchr(de->d_name, '.');
			if (ext != NULL && (strcmp(ext, ".sst") == 0 ||
			    strcmp(ext, ".blob") == 0) && link(src, dst) == 0)
				(*linked)++;
			else if ((rc = snap_copy_file(src, dst, cause)) == 0)
				(*copied)++;
		}
		free(src);
		free(dst);
	}
	closedir(d);
	return rc;
}

/* Refuses a target a daemon holds, or one that holds anything (unless
 * force: then it is removed). */
static int
snap_check_target(const char *target, bool force)
{
	struct dirent *de;
	bool locked, empty = true;
	char *cause = NULL;
	DIR *d;

	if ((d = opendir(target)) == NULL) {
		if (errno == ENOENT)
			return 0;
		ctl_warn(CMD, "%s: %s", target, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = false;
	closedir(d);
	if (snap_locked(target, &locked, &cause) != 0) {
		snap_fail("restore", cause);
		return -1;
	}
	if (locked) {
		ctl_warn(CMD, "%s is locked by a running daemon: stop it "
		    "first", target);
		return -1;
	}
	if (!empty && !force) {
		ctl_warn(CMD, "%s is not empty: restore into a new directory, "
		    "or replace it with --force", target);
		return -1;
	}
	if (nftw(target, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
		ctl_warn(CMD, "cannot remove %s: %s", target, strerror(errno));
		return -1;
	}
	return 0;
}

static int
snap_restore(const char *dir, const char *target, bool force)
{
	struct store *st;
	char *cause = NULL, *tmp;
	size_t linked = 0, copied = 0;

	if (target == NULL)
		return ctl_usage_error(CMD, "restore needs --state DIR");
	/* The snapshot must open before anything is removed. */
	if ((st = ctl_store_open_ro(dir, &cause)) == NULL)
		return snap_fail(dir, cause);
	store_close(st);
	if (snap_check_target(target, force) != 0)
		return CTL_EXIT_FAIL;
	/* Built beside the target and renamed: never half restored. */
	tmp = xasprintf("%s.restore-%ld", target, (long)getpid());
	if (mkdir(tmp, 0700) != 0) {
		ctl_warn(CMD, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return CTL_EXIT_FAIL;
	}
	if (snap_copy_dir(dir, tmp, &linked, &copied, &cause) != 0 ||
	    (st = ctl_store_open_ro(tmp, &cause)) == NULL) {
		nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		free(tmp);
		return snap_fail("restore", cause);
	}
	store_close(st);
	if (rename(tmp, target) != 0) {
		ctl_warn(CMD, "rename %s to %s: %s", tmp, target,
		    strerror(errno));
		nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		free(tmp);
		return CTL_EXIT_FAIL;
	}
	free(tmp);
	printf("restored %s into %s (%zu files linked, %zu copied)\n", dir,
	    target, linked, copied);
	return CTL_EXIT_OK;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: activityctl --admin URL snapshot create [NAME]\n"
	    "       activityctl snapshot list --dir DIR "
	    "[--format table|csv|json]\n"
	    "       activityctl snapshot verify DIR [--bootstrap B]\n"
	    "       activityctl snapshot restore DIR --state DIR [--force]\n");
}

int
ctl_snapshot(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "bootstrap", required_argument, NULL, 'b' },
		{ "state", required_argument, NULL, 's' },
		{ "force", no_argument, NULL, 'f' },
		{ "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL, *bootstrap = NULL, *state = NULL, *sub;
	enum table_format fmt = TABLE_TEXT;
	bool force = false;
	int ch, nargs;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'b': bootstrap = optarg; break;
		case 's': state = optarg; break;
		case 'f': force = true; break;
		case 'F':
			if (table_format_parse(optarg, &fmt) != 0)
				return ctl_usage_error(CMD, "bad --format %s",
				    optarg);
			break;
		case 'h':
			usage(stdout);
			return CTL_EXIT_OK;
		default:
			return ctl_try_help(CMD);
		}
	}
	if (optind >= argc)
		return ctl_usage_error(CMD, "expected create, list, verify or "
		    "restore");
	sub = argv[optind++];
	nargs = argc - optind;
	if (strcmp(sub, "create") == 0) {
		if (nargs > 1)
			return ctl_extra_args(CMD, argv[optind + 1]);
		return snap_create(ctl, nargs ? argv[optind] : NULL);
	}
	if (strcmp(sub, "list") == 0) {
		if (nargs > 0)
			return ctl_extra_args(CMD, argv[optind]);
		return snap_list(dir, fmt);
	}
	if (strcmp(sub, "verify") != 0 && strcmp(sub, "restore") != 0)
		return ctl_usage_error(CMD, "unknown subcommand %s", sub);
	if (nargs != 1)
		return nargs ? ctl_extra_args(CMD, argv[optind + 1]) :
		    ctl_usage_error(CMD, "%s needs the snapshot's directory",
		    sub);
	if (strcmp(sub, "verify") == 0)
		return snap_verify(argv[optind], bootstrap);
	return snap_restore(argv[optind], state, force);
}
