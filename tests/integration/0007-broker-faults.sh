#!/bin/bash
# Broker faults (SPEC section 6), injected through `activityctl broker
# --control` into a 3-broker mock cluster while data streams in to the live
# daemon, one after another: request errors on Produce (retried by
# librdkafka, refused for good, and one that makes the idempotent producer
# fail fatally), on Fetch of the input and of the metadata topic (offset
# resets included), on the group protocol (a rejoin that keeps the
# partitions, then a lost assignment), a coordinator moved to another
# broker, partition leaders moved, a second member joining the group
# while commits run, and a stop while outputs are in flight. Each fault must be met (the broker's error stack for
# it drains, or the daemon logs it: the test cannot pass vacuously), and
# the daemon must recover: every loaded record consumed and committed,
# every output acknowledged. After the stream ends, its state finished
# with `--once` must equal an uninterrupted run exactly, with every session
# in the sessions topic. OffsetCommit and OffsetFetch errors are pushed
# too: they must still be pending at the end (offsets live in the state,
# never in Kafka). Recovery times are printed (docs/RELIABILITY.md).
# (The input is in timestamp order: see live.sh.)
set -euo pipefail
. "${SRC_DIR:?}/tests/integration/lib.sh"
it_init
. "$SRC_DIR/tests/integration/live.sh"
live_init 7007 --brokers 3 --control "$T/broker.ctl"

# The mock elects a group leader session.timeout.ms - 1 s after a
# rebalance starts (a real broker as soon as every member rejoined): a
# shorter session keeps the several rebalances below within the time.
sed -i 's/^session.timeout.ms = 6000$/session.timeout.ms = 3000/' \
	"$T/live.conf"
grep -q '^session.timeout.ms = 3000$' "$T/live.conf" ||
	fail "live.conf has no session.timeout.ms to shorten"

# refused LINE REASON: a command the broker must refuse, with this reason.
refused() {
	answer "$1"
	expect_eq "answer to '$1'" "$ANSWER" \
		"activityctl broker: control: error: $1: $2"
}

now_ms() { date +%s%3N; }

# drained ID API: waits (30 s at most) until broker ID has no API error
# left, i.e. until requests of that type met every error pushed.
drained() {
	local i
	for i in $(seq 300); do
		bctl pending "$1" "$2"
		[ "$BCTL" -eq 0 ] && return 0
		sleep 0.1
	done
	fail "$2 errors on broker $1 not met within 30 s ($BCTL left)"
}

# steady: waits until the member heartbeats again, which it does only
# once it has (re)joined the group and synced: a NO_ERROR entry on the
# coordinator's Heartbeat stack, met by the next heartbeat.
steady() {
	bctl broker-errors "$coord" Heartbeat 1 NO_ERROR
	drained "$coord" Heartbeat
}

# recovered SINCE_MS WHAT: waits (60 s at most) until the live daemon owns
# every partition, has committed offsets for every record loaded so far,
# and has no output left unacknowledged; prints the time since SINCE_MS.
recovered() {
	local i committed
	for i in $(seq 300); do
		kill -0 "$DPID" 2>/dev/null ||
			fail "daemon died during $2: $(tail -5 "$T/live.err")"
		committed=$("$CTL" state inspect --state "$T/state" 2>/dev/null |
			sed 's/|/ /g' |
			awk '$1 == "interactions" { s += $3 } END { print s + 0 }'
		) || committed=-1
		if [ "$committed" -eq "$loaded" ] &&
		    [ "$(mval activityd_assigned_partitions)" -eq 8 ] &&
		    [ "$(mval activityd_outbox_depth)" -eq 0 ]; then
			printf '%-34s recovered in %5d ms\n' "$2:" \
				$(($(now_ms) - $1))
			return 0
		fi
		sleep 0.2
	done
	fail "no recovery from $2 within 60 s ($committed of $loaded" \
		"records committed)"
}

# Chunks are loaded one after another; $loaded counts their records.
chunks=("$T"/chunk.??)
next=0
loaded=0
load_next() {
	load_chunk "${chunks[$next]}"
	loaded=$((loaded + $(wc -l <"${chunks[$next]}")))
	next=$((next + 1))
}

# logged PATTERN: lines of the daemon's log matching (extended regex).
logged() { grep -cE "$1" "$T/live.err" || true; }

start_live() {
	start_daemon
	ADMIN=$(sed -n 's/.*msg="admin listening" address=\([^ ]*\).*/\1/p' \
		"$T/live.err" | tail -1)
	[ -n "$ADMIN" ] || fail "no admin address in the log"
}

# exited_1 WHEN: the live daemon must have exited (or exit) with 1.
exited_1() {
	local rc=0
	wait "$DPID" || rc=$?
	[ "$rc" -eq 1 ] ||
		fail "exit $rc $1, want 1: $(tail -40 "$T/live.err")"
}

# restart_after NAME T0 WHAT: the stopped run's log, with its one expected
# error (finish_and_compare wants none), is kept apart as NAME.err; the
# daemon starts again and must recover.
restart_after() {
	[ "$(grep -c 'level=error' "$T/live.err")" -eq 1 ] ||
		fail "other errors: $(grep 'level=error' "$T/live.err" | head -3)"
	mv "$T/live.err" "$T/$1.err"
	: >"$T/live.err"
	start_live
	recovered "$2" "$3"
}

# The control channel refuses what it cannot do, and changes nothing then;
# --control wants a named pipe.
refused 'frobnicate 1' 'unknown command (see activityctl broker --help)'
refused 'errors Produce 1 NO_SUCH_ERROR' 'unknown error name'
refused 'errors Bogus 1 NOT_COORDINATOR' 'unknown request type'
refused 'errors Fetch 0 NOT_COORDINATOR' 'COUNT must be 1 to 1000'
refused 'errors Fetch 1 NOT_COORDINATOR _TRANSPORT' 'more errors than COUNT'
refused 'broker-errors 4 Fetch 1 NOT_COORDINATOR' 'no such broker'
refused 'pending 1' 'wrong number of arguments'
refused 'leader interactions 8 1' 'Broker: Unknown topic or partition'
refused 'coordinator consumer activityd 1' 'the kind is group or transaction'
: >"$T/plain"
expect_rc 1 "$CTL" broker --control "$T/plain"
grep -q 'not a named pipe' "$T/err" || fail "--control FILE: $(cat "$T/err")"

# Outputs lead on broker 3, the input topic on broker 1, the metadata
# topic on broker 2, and the group's coordinator is broker 1: an error
# pushed on one broker's stack reaches one client of the daemon only
# (activityctl load produces to broker 1).
for p in 0 1 2 3 4 5 6 7; do
	for t in activity.sessions activity.metrics activity.dlq; do
		bctl leader "$t" "$p" 3
	done
	bctl leader interactions "$p" 1
	bctl leader user-metadata "$p" 2
done
coord=1
bctl coordinator group activityd $coord
# Never met: the daemon neither commits nor fetches offsets in Kafka.
bctl broker-errors 1 OffsetCommit 3 REBALANCE_IN_PROGRESS NOT_COORDINATOR \
	REQUEST_TIMED_OUT
bctl broker-errors 1 OffsetFetch 1 NOT_COORDINATOR

start_live
t0=$(now_ms)
load_next
recovered "$t0" "no fault (a chunk's own time)"

# Produce: five retriable errors (librdkafka retries them, in order, with
# the idempotent producer's sequence numbers: no duplicate), then one it
# refuses for good: the daemon's delivery reports fail and it produces the
# outputs again from the outbox at the next commit.
t0=$(now_ms)
bctl broker-errors 3 Produce 6 NOT_LEADER_FOR_PARTITION REQUEST_TIMED_OUT \
	_TRANSPORT NOT_ENOUGH_REPLICAS LEADER_NOT_AVAILABLE MSG_SIZE_TOO_LARGE
load_next
drained 3 Produce
recovered "$t0" "Produce errors"
n=$(logged 'msg="delivery failed, will retry" topic=activity\.[a-z]+ error="Broker: Message size too large"')
[ "$n" -gt 0 ] || fail "no delivery failure logged for MSG_SIZE_TOO_LARGE"
echo "  $n outputs refused by the broker, produced again"

# A sequence number the broker does not expect makes the idempotent
# producer fail fatally (on the request at the head of a partition's
# queue: nothing is in flight after `recovered`, so the next request is):
# the daemon must stop (exit 1) at once rather than retry forever, and a
# restart must produce the outbox again.
t0=$(now_ms)
bctl broker-errors 3 Produce 1 OUT_OF_ORDER_SEQUENCE_NUMBER
load_next
drained 3 Produce
for i in $(seq 300); do
	kill -0 "$DPID" 2>/dev/null || break
	[ "$i" -lt 300 ] || fail "still running 30 s after a fatal producer error"
	sleep 0.1
done
exited_1 "after a fatal producer error"
grep -q 'level=error msg="producer failed fatally; stopping' "$T/live.err" ||
	fail "no clear error for the fatal producer: $(tail -3 "$T/live.err")"
echo "fatal producer error: exit 1 after $(($(now_ms) - t0)) ms"
restart_after fatal "$t0" "fatal producer error + restart"

# Fetch of the input: retriable errors, then OFFSET_OUT_OF_RANGE, which
# resets the consumer to the beginning (auto.offset.reset = earliest):
# the records already in the state must be skipped, not counted again.
t0=$(now_ms)
bctl broker-errors 1 Fetch 4 NOT_LEADER_FOR_PARTITION REQUEST_TIMED_OUT \
	_TRANSPORT OFFSET_OUT_OF_RANGE
load_next
drained 1 Fetch
recovered "$t0" "Fetch errors (input)"
[ "$(logged 'interactions \[[0-9]+\]: offset reset')" -gt 0 ] ||
	fail "no offset reset of the input logged"

# Fetch of the metadata topic, the same: the table must not be applied a
# second time (the count of applied metadata records must not move).
t0=$(now_ms)
before=$(mval activityd_records_in_total user-metadata)
bctl broker-errors 2 Fetch 3 UNKNOWN_TOPIC_OR_PART FENCED_LEADER_EPOCH \
	OFFSET_OUT_OF_RANGE
drained 2 Fetch
for i in $(seq 100); do
	[ "$(logged 'user-metadata \[[0-9]+\]: offset reset')" -gt 0 ] && break
	[ "$i" -lt 100 ] || fail "no offset reset of the metadata logged"
	sleep 0.1
done
echo "metadata offset reset after $(($(now_ms) - t0)) ms"
sleep 1	# the records read again have arrived
after=$(mval activityd_records_in_total user-metadata)
expect_eq "metadata records applied across an offset reset" "$after" \
	"$before"
echo "  metadata records applied by this process: $before before the reset, $after after"

# Group protocol, a rejoin: the coordinator says a rebalance is on, the
# rejoin meets errors; with the cooperative protocol the member keeps its
# partitions throughout (none revoked) and goes on consuming meanwhile.
t0=$(now_ms)
revoked=$(logged 'msg="partition revoked"')
bctl broker-errors 1 Heartbeat 1 REBALANCE_IN_PROGRESS
bctl broker-errors 1 JoinGroup 2 COORDINATOR_LOAD_IN_PROGRESS \
	REBALANCE_IN_PROGRESS
bctl broker-errors 1 SyncGroup 1 REBALANCE_IN_PROGRESS
load_next
recovered "$t0" "group rejoin errors (consuming)"
for a in Heartbeat JoinGroup SyncGroup; do
	drained 1 "$a"
done
steady
recovered "$t0" "group rejoin errors (steady group)"
expect_eq "partitions revoked by a rejoin" \
	"$(logged 'msg="partition revoked"')" "$revoked"

# Group protocol, a lost assignment: the coordinator no longer knows the
# member; its partitions are dropped without a commit and it rejoins; they
# come back at the offsets stored with the state.
t0=$(now_ms)
assigned=$(logged 'msg="partition assigned"')
bctl broker-errors 1 Heartbeat 1 UNKNOWN_MEMBER_ID
load_next
steady
recovered "$t0" "lost assignment (UNKNOWN_MEMBER_ID)"
expect_eq "partitions revoked as lost" \
	"$(logged 'msg="partition revoked"')" $((revoked + 8))
expect_eq "partitions assigned again" \
	"$(logged 'msg="partition assigned"')" $((assigned + 8))

# The coordinator moves to broker 2: the old one answers NOT_COORDINATOR,
# the member finds the new one (steady: heartbeats reach broker 2).
t0=$(now_ms)
coord=2
bctl coordinator group activityd $coord
load_next
steady
recovered "$t0" "coordinator moved"

# Leaders move: half the input partitions to broker 3 (where nothing else
# fetches), every output partition to broker 2 (where nothing else
# produces); NO_ERROR entries there show that fetches and produce
# requests followed.
t0=$(now_ms)
for p in 0 1 2 3; do
	bctl leader interactions "$p" 3
done
for p in 0 1 2 3 4 5 6 7; do
	for t in activity.sessions activity.metrics activity.dlq; do
		bctl leader "$t" "$p" 2
	done
done
bctl broker-errors 3 Fetch 1 NO_ERROR
bctl broker-errors 2 Produce 1 NO_ERROR
load_next
drained 3 Fetch
drained 2 Produce
recovered "$t0" "leaders moved"

# A second member joins the group (with its own state: a configuration
# the operations guide forbids, the worst case of a rebalance): the live
# daemon commits and gives up some partitions while it streams, then the
# second one stops and leaves, and the partitions come back to the live
# daemon at the offsets of its own state, which it consumes again.
t0=$(now_ms)
revoked=$(logged 'msg="partition revoked"')
write_config "$T/second.conf" "$T/state2" \
	'[kafka]' 'session.timeout.ms = 3000' 'heartbeat.interval.ms = 500' \
	'[state]' 'commit_interval = 100ms' '[output]' 'format = json' \
	'[admin]' 'listen = 127.0.0.1:0'
"$DAEMON" -c "$T/second.conf" >"$T/second.out" 2>"$T/second.err" &
SPID=$!
IT_PIDS+=("$SPID")
for i in $(seq 300); do
	grep -q 'partition assigned' "$T/second.err" &&
		[ "$(logged 'msg="partition revoked"')" -gt "$revoked" ] && break
	kill -0 "$SPID" 2>/dev/null ||
		fail "second member died: $(tail -5 "$T/second.err")"
	[ "$i" -lt 300 ] || fail "no partition moved to the second member"
	sleep 0.1
done
moved=$(grep -c 'partition assigned' "$T/second.err")
load_next
sleep 1
kill -TERM "$SPID"
rc=0
wait "$SPID" || rc=$?
[ "$rc" -eq 0 ] || fail "second member: exit $rc: $(tail -5 "$T/second.err")"
! grep -q 'level=error' "$T/second.err" ||
	fail "second member: $(grep 'level=error' "$T/second.err" | head -3)"
recovered "$t0" "second member ($moved partitions) came and went"

# A stop while outputs are in flight: the output leader (broker 2 now)
# holds its responses back for a minute, the outputs of a chunk wait in
# the producer, and SIGTERM comes. The daemon waits its flush time (45 s)
# and exits 1, the outputs staying in the outbox, and frees what the
# producer held (dropped inside rd_kafka_destroy, that leaked: the
# sanitizer build died with SIGABRT instead); the restart produces them
# (repeats are allowed in the sessions topic, identical).
t0=$(now_ms)
bctl rtt 2 60000
load_next
wait_mval activityd_outbox_depth 1 "" \
    "no output waiting with the output leader slowed"
kill -TERM "$DPID"
exited_1 "on SIGTERM with outputs in flight"
held=$(sed -n 's/.*msg="outputs not acknowledged at exit; the outbox has them for the next start" count=\([0-9]*\).*/\1/p' \
	"$T/live.err")
[ "${held:-0}" -gt 0 ] || fail "no outputs held at exit: $(tail -5 "$T/live.err")"
echo "stop with outputs in flight: exit 1 after $(($(now_ms) - t0)) ms, $held outputs held"
bctl rtt 2 0
restart_after stop "$t0" "stop with outputs in flight + restart"

while [ "$next" -lt "${#chunks[@]}" ]; do
	load_next
done
finish_and_compare "after broker faults"

for a in OffsetCommit:3 OffsetFetch:1; do
	bctl pending 1 "${a%:*}"
	expect_eq "${a%:*} errors never met" "$BCTL" "${a#*:}"
done
