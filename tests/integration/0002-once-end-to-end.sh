#!/bin/bash
# activityd --once end to end, against the naive batch reference
# (tests/reference/naive.py) on the same CSV files:
#  - generated sample data plus hand-made cases: a hot user with 5000
#    events in one afternoon, events at and around midnight, month and year
#    ends and the DST days of America/New_York, gaps of exactly 10 minutes,
#    durations at the activity bounds, user ids with commas, quotes, UTF-8,
#    spaces, a line break, and of exactly 128 bytes; duplicate metadata
#    (the last row wins) and metadata for unknown users; all shuffled;
#  - run 1: Avro in and out, attribution start, zones UTC and New York;
#    run 2 (fresh topics and state): JSON in and out, attribution span,
#    the zones in the other order;
#  - `activityctl query dau|mau|sessions` (and DAU/MAU by country) equals the
#    reference in every period, value and exact count; the HyperLogLog
#    estimates are within 3 standard errors; query without --tz uses the
#    first configured zone;
#  - the sessions topic holds exactly the reference's sessions (run 2
#    compares every record's id, bounds, actions and country), and the
#    last metric record of each key holds the reference's counts (run 2);
#  - a second --once on the same state reads nothing, emits nothing and
#    changes no answer;
#  - with two CPUs or more, run 1 applied batches on two threads.
set -euo pipefail
. "${SRC_DIR:?}/tests/integration/lib.sh"
it_init

gen_sample 60000 3000 20000 11

# --- hand-made rows -------------------------------------------------------

# nasty-events.csv / nasty-meta.csv: one row per line, shuffled with the
# rest; multiline-*.csv: rows with a quoted line break, appended after the
# shuffle. The metadata rows keep their order: the last one must win.
python3 - "$T" "$(sed -n 2p "$GEN_META" | cut -d, -f1)" <<'EOF'
import datetime, random, sys

out, generated_user = sys.argv[1], sys.argv[2]
rnd = random.Random(20230312)
EPOCH = datetime.datetime(1970, 1, 1)

def ms(s):
    d = datetime.datetime.fromisoformat(s)
    return (d - EPOCH) // datetime.timedelta(milliseconds=1)

def fmt(t):
    d = EPOCH + datetime.timedelta(milliseconds=t)
    s = d.strftime("%Y-%m-%d %H:%M:%S")
    return s + ".%03d" % (t % 1000) if t % 1000 else s

def q(s):
    return '"' + s.replace('"', '""') + '"' if any(c in s for c in ',"\r\n') \
        else s

rows = []
def ev(user, t, dur, action="page_view"):
    t = ms(t) if isinstance(t, str) else t
    rows.append(",".join([q(user), fmt(t), action,
                          "p%05d" % rnd.randint(1, 99999), str(dur),
                          "6.%d.%d" % (rnd.randint(0, 9), rnd.randint(0, 9))]))

# A hot user: 5000 events in one afternoon, with a pause of 15 minutes.
acts = ["page_view", "edit", "create", "delete", "share"]
for lo, hi in (("2023-06-15 13:00:00", "2023-06-15 14:50:00"),
               ("2023-06-15 15:05:00", "2023-06-15 17:00:00")):
    for _ in range(2500):
        ev("hot.user", rnd.randrange(ms(lo), ms(hi)), rnd.randint(100, 300000),
           rnd.choice(acts))

# Midnight in UTC and in New York (EDT: 04:00 UTC), a session ending
# exactly at midnight, month and year ends.
ev("mid.1", "2023-04-10 23:59:50", 20000)
ev("mid.2", "2023-04-11 03:59:59.999", 10001)
ev("mid.3", "2023-04-11 04:00:00", 15000)
ev("mid.4", "2023-04-11 23:59:40", 20000)
ev("mid.5", "2023-01-01 04:59:59", 60000)
ev("mid.5", "2022-12-31 23:59:59", 11000)
ev("mid.6", "2023-12-31 23:30:00", 3600000)
ev("mid.6", "2024-01-01 04:30:00", 3600000)
ev("mid.7", "2023-01-31 23:59:59.500", 30000)
ev("mid.7", "2023-02-01 04:59:59.999", 30000)

# DST: 2023-03-12 is 23 hours long in New York (05:00 to 04:00 UTC),
# 2023-11-05 is 25 hours (04:00 to 05:00 UTC) with 01:xx local twice.
for t in ("2023-03-12 04:59:59.999", "2023-03-12 05:00:00",
          "2023-03-12 06:59:59", "2023-03-12 07:00:00",
          "2023-03-13 03:59:59.999", "2023-03-13 04:00:00",
          "2023-11-05 03:59:59.999", "2023-11-05 04:00:00",
          "2023-11-05 05:30:00", "2023-11-05 06:30:00",
          "2023-11-06 04:59:59.999", "2023-11-06 05:00:00"):
    ev("dst." + t[5:10] + "." + t[11:13], t, 20000)
ev("dst.span1", "2023-11-05 03:00:00", 7200000)
ev("dst.span2", "2023-03-12 04:30:00", 3600000)
ev("dst.span3", "2023-11-06 03:00:00", 14399999)

# Gaps: exactly 10 minutes continues a session, 10 minutes and 1 ms ends
# it; a tie; the gap counts from the previous start, not its end.
t0 = ms("2023-07-01 10:00:00")
for d in (0, 600000, 1200001, 1800001, 1800001, 2400001):
    ev("gap.user", t0 + d, 1000)
for i in range(10):
    ev("gap.exact", t0 + i * 600000, 12000)
ev("gap.long", t0, 3600000)
ev("gap.long", t0 + 900000, 1000)

# Durations at the activity bounds (10 s < d < 4 h), zero, and averages
# that are whole numbers of seconds.
for d in (0, 10000, 10001, 14399999, 14400000, 20000, 100000):
    ev("dur.%d" % d, "2023-05-01 12:00:00", d)
for d in (1000, 1000, 1001):
    ev("avg.third", ms("2023-05-02 12:00:00") + rnd.randint(0, 9) * 3600000
       + d * 1000, d)

# Odd but valid user ids, each active on a few days.
odd = ['comma, "quoted" user', "ユーザー😀", "x" * 128, "é" * 64,
       " spaced ", "tab\tuser", "=1+2"]
for u in odd:
    for _ in range(3):
        ev(u, rnd.randrange(ms("2023-01-01 00:00:00"),
                            ms("2024-01-01 00:00:00")),
           rnd.randint(5000, 600000))
# Rows the loader rejects, and so does the reference.
ev("y" * 129, "2023-05-01 12:00:00", 20000)
ev("é" * 64 + "a", "2023-05-01 12:00:00", 20000)
rows.append("u000005,2023-02-29 12:00:00,edit,p1,20000,6.0.0")
with open(out + "/nasty-events.csv", "w") as f:
    f.write("\n".join(rows) + "\n")

rows = []
ev("multi\nline user", "2023-08-08 08:08:08", 80808)
ev("multi\nline user", "2023-08-08 08:10:08", 1)
with open(out + "/multiline-events.csv", "w") as f:
    f.write("\n".join(rows) + "\n")

meta = [
    "hot.user,2021-05-05,US,iOS,premium",
    q('comma, "quoted" user') + ',2022-01-01,"Côte d\'Ivoire, Rep.",Web,free',
    "ユーザー😀,2020-02-29,JP,Android,basic",
    "x" * 128 + ",2023-12-31,DE,Linux,enterprise",
    "mid.1,2022-01-01,US,iOS,free",
    "dst.03-12.05,2022-01-01,CA,iOS,free",
    "mid.1,2022-01-02,FR,Web,basic",
    "mid.2,2023-02-30,US,iOS,free",
    generated_user + ",2023-03-03,ZZ,Web,basic",
    "nobody,2023-03-03,AU,Web,basic",
]
with open(out + "/nasty-meta.csv", "w") as f:
    f.write("\n".join(meta) + "\n")
with open(out + "/multiline-meta.csv", "w") as f:
    f.write(q("multi\nline user") + ",2023-01-01,UK,Web,free\n")
EOF

# Shuffled with a fixed random source: the same files every run.
shuffle() {
	shuf --random-source=<(yes 20230312)
}
{
	head -1 "$GEN_EVENTS"
	cat <(tail -n +2 "$GEN_EVENTS") "$T/nasty-events.csv" | shuffle
	cat "$T/multiline-events.csv"
} >"$T/events.csv"
{
	head -1 "$GEN_META"
	tail -n +2 "$GEN_META" | shuffle
	cat "$T/nasty-meta.csv" "$T/multiline-meta.csv"
} >"$T/meta.csv"
EV=$T/events.csv
ME=$T/meta.csv
# Records that load: 3 hand-made event rows and 1 metadata row are bad; the
# multi-line files hold 2 and 1 rows.
NEVENTS=$((60000 + $(wc -l <"$T/nasty-events.csv") - 3 + 2))
NMETA=$((3000 + $(wc -l <"$T/nasty-meta.csv") - 1 + 1))

# --- the reference ----------------------------------------------------------

# First the reference itself, on cases worked out by hand: local midnights
# 1 ms after the start (DST days of New York), the activity bounds, a span
# ending exactly at UTC midnight, the repeated hour.
cat >"$T/tiny.csv" <<'CSV'
user_id,timestamp,action_type,page_id,duration_ms,app_version
a,2023-03-12 04:59:59.999,x,p,20000,1
b,2023-11-06 04:59:59.999,x,p,10000,1
c,2023-11-06 04:59:59.999,x,p,10001,1
d,2023-04-11 23:59:40,x,p,20000,1
e,2023-11-05 05:30:00,x,p,14399999,1
e,2023-11-05 06:30:00,x,p,14400000,1
CSV
# tiny WHAT "ARGS" WANT-ROW...: the reference's output on tiny.csv
tiny() {
	local what=$1 args=$2
	shift 2
	expect_eq "reference $what $args" \
	    "$($NAIVE $what --events "$T/tiny.csv" $args)" "$(printf '%s\n' "$@")"
}
H=count_active_users,approx_active_users
tiny dau "--tz America/New_York --attribution span" day,$H \
    2023-03-11,1,1 2023-03-12,1,1 2023-04-11,1,1 2023-11-05,2,2 2023-11-06,1,1
tiny dau "--tz UTC --attribution span" day,$H \
    2023-03-12,1,1 2023-04-11,1,1 2023-04-12,1,1 2023-11-05,1,1 2023-11-06,1,1
tiny mau "--tz America/New_York" month,$H 2023-03,1,1 2023-04,1,1 2023-11,2,2
tiny sessions "" user_id,total_sessions,avg_session_duration \
    a,1,20.0 b,1,10.0 c,1,10.001 d,1,20.0 e,2,14399.9995

naive() {
	$NAIVE "$@" --events "$EV" --metadata "$ME"
}
mkdir "$T/ref"
naive sessions session-list --out-dir "$T/ref"
mv "$T/ref/sessions" "$T/ref.sessions"
mv "$T/ref/session-list" "$T/ref.session-list"
NSESSIONS=$(wc -l <"$T/ref.session-list")
# Sanity of the reference on cases worked out by hand.
expect_eq "reference gap.user" "$(grep '^gap\.user,' "$T/ref.sessions")" \
    "gap.user,2,901.0"
expect_eq "reference gap.exact" "$(grep '^gap\.exact,' "$T/ref.sessions")" \
    "gap.exact,1,5412.0"
expect_eq "reference gap.long" "$(grep '^gap\.long,' "$T/ref.sessions")" \
    "gap.long,2,1800.5"
expect_eq "reference dur.100000" "$(grep '^dur\.100000,' "$T/ref.sessions")" \
    "dur.100000,1,100.0"
expect_eq "reference hot.user" "$(grep -c '"user_id": "hot.user"' \
    "$T/ref.session-list")" 2
expect_eq "reference users with sessions" "$(grep -c '^u0' \
    "$T/ref.sessions")" "$(tail -n +2 "$GEN_EVENTS" | cut -d, -f1 | sort -u |
    wc -l)"

# --- run 1: Avro, attribution start -------------------------------------------

broker_start --partitions 8 --topics interactions,user-metadata,activity.sessions,activity.metrics,activity.dlq,j.interactions,j.user-metadata,j.sessions,j.metrics,j.dlq

load_csv metadata "$ME" user-metadata avro $NMETA 1
expect_eq "bad metadata row" "$(grep -c "^$ME:$(grep -n '^mid\.2,2023-02-30' \
    "$ME" | cut -d: -f1): bad join_date \"2023-02-30\"$" "$T/err")" 1
load_csv interactions "$EV" interactions avro $NEVENTS 3
BAD_ROWS='(user_id longer than 128 bytes|bad timestamp "2023-02-29 12:00:00")'
expect_eq "bad interaction rows" \
    "$(grep -cE "^$EV:[0-9]+: $BAD_ROWS\$" "$T/err")" 3

write_config "$T/c1.conf" "$T/state1" \
    '[metrics]' 'time_zones = UTC, America/New_York'
# The first drain waits a second (test hook), so that batches are full
# and hold several partitions in any build, and are split (below).
ACTIVITYD_TEST_DRAIN_DELAY_MS=1000 run_once "$T/c1.conf" once1

expect_eq "run 1 records read" "$(log_field once1 records)" $NEVENTS
expect_eq "run 1 sessions emitted" "$(log_field once1 sessions)" $NSESSIONS
expect_eq "run 1 dead letters" "$(log_field once1 dead_letters)" 0
# The comparisons below cover the events applied on two threads
# (docs/pipeline.md): with two CPUs, batches were.
if [ "$(nproc)" -ge 2 ]; then
	[ "$(log_field once1 two_threads)" -ge 1 ] ||
		fail "run 1: no batch applied on two threads"
fi

query() {
	"$CTL" query "$@" --format csv
}

# check_state STATE ATTRIBUTION TAG: every answer of query against the
# reference; the answers stay in $T/TAG.*.
check_state() {
	local state=$1 attr=$2 tag=$3 tz z what
	for tz in UTC America/New_York; do
		z=${tz//\//_}
		mkdir -p "$T/ref/$attr.$z"
		naive dau mau dau-country mau-country --tz "$tz" \
		    --attribution "$attr" --out-dir "$T/ref/$attr.$z"
		for what in dau mau; do
			query "$what" --state "$state" --tz "$tz" \
			    >"$T/$tag.$what.$z"
			compare_active "$tag $what $tz" "$T/$tag.$what.$z" \
			    "$T/ref/$attr.$z/$what"
			query "$what" --state "$state" --tz "$tz" \
			    --dimension country >"$T/$tag.$what-country.$z"
			compare_active "$tag $what by country $tz" \
			    "$T/$tag.$what-country.$z" \
			    "$T/ref/$attr.$z/$what-country"
		done
	done
	query sessions --state "$state" >"$T/$tag.sessions"
	diff -u "$T/ref.sessions" "$T/$tag.sessions" >"$T/diff" || {
		head -40 "$T/diff" >&2
		fail "$tag sessions: query (+) differs from the reference (-)" \
		    "($(grep -c '^[-+][^-+]' "$T/diff") lines)"
	}
	echo "$tag sessions: $(($(wc -l <"$T/$tag.sessions") - 1)) users equal"

	# A range, on the DST days of New York.
	query dau --state "$state" --tz America/New_York --from 2023-03-11 \
	    --to 2023-03-13 >"$T/$tag.range"
	awk -F, 'NR == 1 || ($1 >= "2023-03-11" && $1 <= "2023-03-13")' \
	    "$T/ref/$attr.America_New_York/dau" >"$T/ref.range"
	expect_eq "$tag rows from 2023-03-11 to 2023-03-13" \
	    "$(wc -l <"$T/$tag.range")" 4
	compare_active "$tag dau --from --to" "$T/$tag.range" "$T/ref.range"
}
check_state "$T/state1" start run1

# Without --tz, the first configured zone.
query dau --state "$T/state1" >"$T/run1.dau.default"
diff -u "$T/run1.dau.UTC" "$T/run1.dau.default" >"$T/diff" || {
	head -10 "$T/diff" >&2
	fail "query dau without --tz (+) is not the first configured zone," \
	    "UTC (-)"
}

expect_eq "run 1 session records" "$(count_records activity.sessions)" \
    $NSESSIONS
expect_eq "run 1 dead letters" "$(count_records activity.dlq)" 0
METRICS1=$(count_records activity.metrics)
[ "$METRICS1" -gt 0 ] || fail "no metric records"

# --- run 1 again: nothing new ---------------------------------------------------

run_once "$T/c1.conf" once1b
expect_eq "second run records read" "$(log_field once1b records)" 0
expect_eq "second run sessions emitted" "$(log_field once1b sessions)" 0
expect_eq "session records after a second run" \
    "$(count_records activity.sessions)" $NSESSIONS
expect_eq "dead letters after a second run" "$(count_records activity.dlq)" 0
# same_again FILE QUERY-ARGS...: the query still answers FILE.
same_again() {
	local f=$1
	shift
	query "$@" --state "$T/state1" >"$T/again"
	cmp -s "$T/$f" "$T/again" ||
		fail "query $* changed after a second --once:" \
		    "$(diff "$T/$f" "$T/again" | head -5)"
}
same_again run1.sessions sessions
same_again run1.dau.UTC dau --tz UTC
same_again run1.mau.America_New_York mau --tz America/New_York
same_again run1.dau-country.America_New_York dau --tz America/New_York \
    --dimension country

# --- run 2: JSON, attribution span, fresh topics and state --------------------

load_csv metadata "$ME" j.user-metadata json $NMETA 1
load_csv interactions "$EV" j.interactions json $NEVENTS 3
write_config "$T/c2.conf" "$T/state2" \
    '[topics]' 'interactions = j.interactions' 'metadata = j.user-metadata' \
    'sessions = j.sessions' 'metrics = j.metrics' 'dlq = j.dlq' \
    '[input]' 'format = json' 'metadata_format = json' \
    '[output]' 'format = json' \
    '[metrics]' 'time_zones = America/New_York, UTC' 'attribution = span'
run_once "$T/c2.conf" once2
expect_eq "run 2 records read" "$(log_field once2 records)" $NEVENTS
expect_eq "run 2 dead letters" "$(log_field once2 dead_letters)" 0
check_state "$T/state2" span run2
query mau --state "$T/state2" >"$T/run2.mau.default"
cmp -s "$T/run2.mau.America_New_York" "$T/run2.mau.default" ||
	fail "query mau without --tz is not the first configured zone, New York"
# Span differs from start exactly where activity crosses midnight.
! cmp -s "$T/ref/start.UTC/dau" "$T/ref/span.UTC/dau" ||
	fail "span and start attribution agree: the data lacks the cases"

# Every session record, as JSON, against the reference's sessions.
kcat -C -b "$BOOTSTRAP" -t j.sessions -e -o beginning -q -f '%s\n' |
    python3 -c '
import json, sys
keys = ("session_id", "user_id", "start", "end", "duration_ms", "actions",
        "country")
recs = [json.loads(line) for line in sys.stdin]
recs.sort(key=lambda r: r["session_id"].encode())
for r in recs:
    print(json.dumps({k: r[k] for k in keys}, ensure_ascii=False,
                     sort_keys=True))' >"$T/run2.session-list"
diff -u "$T/ref.session-list" "$T/run2.session-list" >"$T/diff" || {
	head -20 "$T/diff" >&2
	fail "session records (+) differ from the reference (-)" \
	    "($(grep -c '^[-+][^-+]' "$T/diff") lines)"
}
echo "run 2: $NSESSIONS session records equal"

# The metrics topic, as JSON: the last record of each key (upserts) holds
# the same counts as the reference.
kcat -C -b "$BOOTSTRAP" -t j.metrics -e -o beginning -q -f '%k\t%s\n' \
    >"$T/run2.metrics"
for tz in UTC America/New_York; do
	for what in dau mau dau-country mau-country; do
		python3 -c '
import json, sys
metric, zone, dim, path = sys.argv[1:]
last = {}
for line in open(path, encoding="utf-8"):
    key, value = line.rstrip("\n").split("\t", 1)
    r = json.loads(value)
    if key != "|".join([r["metric"], r["period"], r["time_zone"],
                        r["dimension"], r["value"]]):
        sys.exit("key %r does not match its record %r" % (key, value))
    if (r["metric"], r["time_zone"], r["dimension"]) == (metric, zone, dim):
        last[(r["period"], r["value"])] = r
q = lambda s: "\"" + s.replace("\"", "\"\"") + "\"" if any(
    c in s for c in ",\"\r\n") else s
print(("day" if metric == "DAU" else "month") +
      ("" if dim == "total" else "," + dim) +
      ",count_active_users,approx_active_users")
for (period, value) in sorted(last, key=lambda k: (k[0], k[1].encode())):
    r = last[(period, value)]
    print(",".join([period] + ([q(value)] if dim != "total" else []) +
                   [str(r["count_exact"]), "%.0f" % r["count_approx"]]))
' "$(echo "${what%-*}" | tr a-z A-Z)" "$tz" \
		    "$([[ $what == *-country ]] && echo country || echo total)" \
		    "$T/run2.metrics" >"$T/run2.metrics.csv" ||
			fail "metric records of $what $tz"
		compare_active "run2 metrics $what $tz" "$T/run2.metrics.csv" \
		    "$T/ref/span.${tz//\//_}/$what"
	done
done
echo "ok"
