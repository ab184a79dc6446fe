#!/bin/bash
# Crash safety at the end of --once (SPEC section 6, docs/pipeline.md):
# the backfill is killed with SIGKILL while it closes sessions and writes
# them partition by partition in small batches, twice at different points,
# and rerun on the same state each time. Its producer lingers 500 ms, so
# that the sessions of the last steps are still unsent at each kill: a
# state written before its sessions are delivered would lose them. The
# rerun resumes (it consumes again only the partitions not yet written);
# the last run's DAU, MAU and sessions equal an uninterrupted --once
# exactly, and the sessions topic holds every session at least once,
# repeats identical to the first copy.
# Also: the loop's timer (progress, watchdog, admin) runs while input lasts,
# not only when the consumer's queue happens to be empty.
set -euo pipefail
. "${SRC_DIR:?}/tests/integration/lib.sh"
it_init

EVENTS=50000
broker_start --partitions 8
load_sample $EVENTS 3000 10000 23

# batch_size 1M: a partition's sessions (about 2 MB of JSON) take several
# writes, so the kills land between two writes of one partition too.
write_config "$T/ref.conf" "$T/ref" '[output]' 'format = json' \
	'[state]' 'batch_size = 1M' \
	'[topics]' 'sessions = ref.sessions' 'metrics = ref.metrics' \
	'dlq = ref.dlq'
write_config "$T/crash.conf" "$T/crash" '[output]' 'format = json' \
	'[state]' 'batch_size = 1M' '[kafka]' 'linger.ms = 500'
run_once "$T/ref.conf" ref

# kill_after NAME N: --once on the crash state, killed with SIGKILL right
# after its Nth state write (the test hook ACTIVITYD_FAULT_KILL_AFTER_WRITES:
# the end of --once here is some fifteen writes within a tenth of a second,
# too fast to be hit reliably by a kill polled from outside). Besides the
# metadata's catch-up, nothing is written while the input is consumed.
kill_after() {
	local rc=0 n
	ACTIVITYD_FAULT_KILL_AFTER_WRITES=$2 timeout -k 10 "$IT_ONCE_TIMEOUT" \
	    "$DAEMON" -c "$T/crash.conf" \
	    --once -o log.level=debug >"$T/$1.out" 2>"$T/$1.err" || rc=$?
	[ "$rc" -eq 137 ] || fail "$1: exit $rc, want 137 (SIGKILL after" \
	    "write $2): $(tail -3 "$T/$1.err")"
	! grep -q 'backfill done' "$T/$1.err" || fail "$1 finished before the kill"
	expect_eq "$1: writes" "$(grep -c 'msg="committed"' "$T/$1.err")" "$2"
	n=$(sed -n '/end of input/,$p' "$T/$1.err" | grep -c 'msg="committed"') ||
		true
	[ "$n" -gt 0 ] || fail "$1: killed before the end of its input"
	echo "$1 killed after $n writes at the end of input"
}

# end_records NAME: records consumed by that run before closing sessions.
end_records() {
	sed -n 's/.*msg="end of input.* records=\([0-9]*\).*/\1/p' "$T/$1.err"
}

kill_after crash1 3
expect_eq "crash1 consumed" "$(end_records crash1)" $EVENTS
kill_after crash2 5
n=$(end_records crash2)
[ "$n" -gt 0 ] && [ "$n" -lt $EVENTS ] ||
	fail "crash2 consumed $n records: it should resume the partitions" \
	    "not written by crash1, and only those"
echo "crash2 consumed $n records"
run_once "$T/crash.conf" final
# The second kill left partitions unwritten: the last run closes their
# sessions again.
n=$(sed -n 's/.*msg="backfill done" records=\([0-9]*\) sessions=\([0-9]*\).*/\1 \2/p' \
	"$T/final.err")
[ "${n% *}" -gt 0 ] && [ "${n#* }" -gt 0 ] ||
	fail "the last run had nothing left to do (records, sessions: $n)"
echo "final run: records, sessions $n"

# Every answer of the state, and the sessions topic, of both runs.
for run in crash:activity.sessions ref:ref.sessions; do
	for q in dau mau sessions; do
		"$CTL" query "$q" --state "$T/${run%%:*}" --format csv
	done >"$T/${run%%:*}.answers"
	kcat -C -b "$BOOTSTRAP" -t "${run#*:}" -e -o beginning -q \
		-f '%k\t%s\n' >"$T/${run%%:*}.topic"
done
lines=$(wc -l <"$T/ref.answers")
[ "$lines" -gt 10000 ] || fail "only $lines lines of DAU, MAU and sessions"
diff -u "$T/ref.answers" "$T/crash.answers" >"$T/diff" || {
	head -20 "$T/diff" >&2
	fail "DAU, MAU or sessions after two kills (+) differ from an" \
	    "uninterrupted run (-)"
}
echo "DAU, MAU and sessions: $lines lines equal after two kills"
python3 "$SRC_DIR/tests/integration/sessions_topic.py" \
	"$T/crash.topic" "$T/ref.topic"

# The timer: 250k records on a topic of their own, a 10 ms interval, and
# eight reporting zones (the most) to make the consumption slow enough: the timer
# gets its turn after each 100 ms of consuming (DRAIN_BUDGET_MS), and then
# consumes for 100 ms itself before it reports.
for i in 1 2 3 4 5; do
	"$CTL" load --kind interactions --csv "$T/data/user_interactions_sample.csv" \
	    --bootstrap "$BOOTSTRAP" --topic ticks >/dev/null 2>&1 ||
		fail "loading the ticks topic"
done
write_config "$T/ticks.conf" "$T/ticks" '[topics]' 'interactions = ticks' \
	'sessions = ticks.sessions' 'metrics = ticks.metrics' 'dlq = ticks.dlq' \
	'[state]' 'commit_interval = 10ms' '[metrics]' 'time_zones = UTC,'\
'America/New_York,Europe/Berlin,Asia/Tokyo,Australia/Sydney,Asia/Kolkata,'\
'America/Los_Angeles,Pacific/Auckland'
run_once "$T/ticks.conf" ticks
ms=$(sed -n 's/.*msg="end of input.* ms=\([0-9]*\).*/\1/p' "$T/ticks.err")
ticks=$(awk -v n=$((EVENTS * 5)) '/^processing: [0-9]+ records/ && $2 > 0 &&
    $2 < n { t++ } END { print t + 0 }' "$T/ticks.err")
if [ "$ms" -ge 450 ]; then
	[ "$ticks" -gt 0 ] || fail "no timer tick in $ms ms of consuming"
	echo "$ticks timer ticks in $ms ms of consuming"
else
	echo "consuming took $ms ms ($ticks ticks): too short to check the timer"
fi
