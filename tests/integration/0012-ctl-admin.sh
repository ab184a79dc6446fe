#!/bin/bash
# activityctl against a live daemon and its state: query --admin equals
# query --state; snapshot create/list/verify/restore (and a restore onto
# the running daemon's state is refused); state inspect shows the offsets;
# tail decodes every record of the sessions topic.
set -euo pipefail
. "${SRC_DIR:?}/tests/integration/lib.sh"
it_init

EVENTS=20000
broker_start --partitions 4
gen_sample "$EVENTS" 2000 3000 12
load_csv metadata "$GEN_META" user-metadata avro 2000 0
load_csv interactions "$GEN_EVENTS" interactions avro "$EVENTS" 0
write_config "$T/d.conf" "$T/state" '[state]' 'commit_interval = 100ms' \
	'[admin]' 'listen = 127.0.0.1:0'

"$DAEMON" -c "$T/d.conf" >"$T/d.out" 2>"$T/d.err" &
DPID=$!
IT_PIDS+=("$DPID")

# The port the daemon picked, from its log line.
wait_admin "$T/d.err" "$DPID"
PORT=${ADMIN##*:}
URL=http://127.0.0.1:$PORT
for i in $(seq 300); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")" = 200 ] &&
		break
	[ "$i" -lt 300 ] || fail "$URL/readyz never answered 200"
	sleep 0.1
done

# Every record consumed and committed, and MAU through the API stable.
wait_consumed "$T/state" "$EVENTS" "$DPID"
admin_settled "$URL" mau "$T/admin.mau"
expect_rc 0 "$CTL" query dau --admin "$URL" --format csv
cp "$T/out" "$T/admin.dau"
[ "$(wc -l <"$T/admin.mau")" -eq 13 ] ||
	fail "admin mau: $(wc -l <"$T/admin.mau") lines, want a header and 12 months"

# /metrics' HLL error of the newest day and month is the last emission's:
# |approx - exact| / exact of the last row of query dau and mau (the query
# rounds approx, hence the 0.5 / exact).
hll_err() {
	curl -sf "$URL/metrics" | awk -v p="$1" '
		index($1, "activityd_hll_relative_error{") == 1 &&
		index($1, "period=\"" p "\"") { print $2 }'
}
for q in dau mau; do
	per=day; [ $q = mau ] && per=month
	read -r exact approx < <(tail -n1 "$T/admin.$q" | awk -F, '{ print $(NF-1), $NF }')
	[ "$exact" -gt 0 ] || fail "$q: no newest row in $(cat "$T/admin.$q")"
	for i in $(seq 50); do
		got=$(hll_err $per)
		[ -n "$got" ] && awk -v g="$got" -v e="$exact" -v a="$approx" 'BEGIN {
			d = a - e; if (d < 0) d = -d; w = d / e
			x = g - w; if (x < 0) x = -x
			exit !(x <= 0.5 / e + 1e-9) }' && break
		[ "$i" -lt 50 ] || fail "hll_relative_error $per = '$got', want |$approx - $exact| / $exact"
		sleep 0.2
	done
	echo "hll_relative_error{period=$per} $got for exact $exact, approx $approx"
done

# The state's memory by kind: at least a 64-byte record, a 16-byte
# dictionary entry and more than 5 bytes of its 4-byte slots (at most 3/4
# full) for each user of the input, and not over three times
# that with the tables around them; every kind is reported.
USERS_IN=$(tail -n +2 "$GEN_EVENTS" | cut -d, -f1 | sort -u | wc -l)
got=$(state_memory "$URL" users)
[ -n "$got" ] && [ "$got" -ge $((USERS_IN * 85)) ] &&
	[ "$got" -le $((USERS_IN * 85 * 3)) ] ||
	fail "state memory of $USERS_IN users: '$got' bytes"
for k in sets sessions strings owners metadata; do
	[ -n "$(state_memory "$URL" "$k")" ] || fail "no activityd_state_memory_bytes{kind=\"$k\"}"
done
echo "state memory: users $got bytes for $USERS_IN users, sets $(state_memory "$URL" sets)"

# A bad parameter comes back as the daemon's reason, exit 1.
expect_rc 1 "$CTL" --admin "$URL" query dau --tz Mars/Olympus
grep -q 'HTTP 400: unknown time zone' "$T/err" ||
	fail "bad tz: $(cat "$T/err")"

# Snapshots.
expect_rc 0 "$CTL" --admin "$URL" snapshot create s1
SNAP=$(cat "$T/out")
expect_eq "snapshot path" "$SNAP" "$T/state.snapshots/s1"
expect_rc 1 "$CTL" --admin "$URL" snapshot create s1	# exists
expect_rc 2 "$CTL" --admin "$URL" snapshot create ../s2
expect_rc 2 "$CTL" snapshot create s3	# no --admin
expect_rc 0 "$CTL" snapshot list --dir "$T/state.snapshots" --format csv
[ "$(grep -c '^s1,.*,interactions,' "$T/out")" -eq 4 ] ||
	fail "snapshot list: $(cat "$T/out")"
expect_rc 0 "$CTL" snapshot verify "$SNAP" --bootstrap "$BOOTSTRAP"
grep -q 'all offsets are retained' "$T/out" || fail "verify: $(cat "$T/out")"
[ "$(grep -c ' yes|$' "$T/out")" -eq 8 ] || fail "verify: $(cat "$T/out")"
expect_rc 1 "$CTL" snapshot restore "$SNAP" --state "$T/state" --force
grep -q 'locked by a running daemon' "$T/err" ||
	fail "restore onto the live state: $(cat "$T/err")"
expect_rc 0 "$CTL" snapshot restore "$SNAP" --state "$T/restored"
expect_rc 1 "$CTL" snapshot restore "$SNAP" --state "$T/restored"
grep -q 'not empty' "$T/err" || fail "restore twice: $(cat "$T/err")"
echo "snapshot $SNAP created, listed, verified and restored"

rc=0
kill -TERM "$DPID"
wait "$DPID" || rc=$?
[ "$rc" -eq 0 ] || fail "daemon exit $rc: $(tail -5 "$T/d.err")"
# A clean stop writes the memtables out: the next open has no log to replay.
wal=$(cat "$T"/state/*.log | wc -c)
expect_eq "bytes in the state's write-ahead log after SIGTERM" "$wal" 0

for q in dau mau; do
	"$CTL" query "$q" --state "$T/state" --format csv >"$T/state.$q"
	diff -u "$T/state.$q" "$T/admin.$q" ||
		fail "query $q --admin (+) differs from --state (-)"
	echo "$q: $(($(wc -l <"$T/admin.$q") - 1)) rows equal through --admin and --state"
done
"$CTL" query mau --state "$T/restored" --format csv >"$T/restored.mau"
diff -u "$T/admin.mau" "$T/restored.mau" ||
	fail "the restored snapshot's mau (+) differs (-)"
expect_eq "consumed offsets of the restored state" \
	"$(consumed "$T/restored")" "$EVENTS"
expect_rc 0 "$CTL" snapshot restore "$SNAP" --state "$T/restored" --force

expect_rc 0 "$CTL" state inspect --state "$T/state"
grep -q '^offsets: 8 partitions$' "$T/out" || fail "inspect: $(cat "$T/out")"
grep -Eq '^\| *meta\| *[0-9]+\| *2000\|' "$T/out" ||
	fail "inspect: meta keys: $(cat "$T/out")"

# Every record of the sessions topic, one JSON line each.
want=$(count_records activity.sessions)
[ "$want" -gt 0 ] || fail "no sessions in the topic"
expect_rc 0 timeout 60 "$CTL" tail --bootstrap "$BOOTSTRAP" \
	--topic activity.sessions --from-beginning --exit
expect_eq "tail lines" "$(wc -l <"$T/out")" "$want"
expect_eq "lines with a session_id" \
	"$(grep -c '^{"_key":"[^"]*","_partition":[0-9]*,"_offset":[0-9]*,"session_id":"u[0-9]*:[0-9]*",' "$T/out")" \
	"$want"
echo "tail: $want session records decoded"
