#!/bin/bash
# Late events in batches applied on two threads (docs/pipeline.md,
# "Applying events on two threads"). A consumed batch of 1024 events or
# more over several partitions is split between the loop and its helper;
# the helper's late events are only marked, and the loop writes them to the
# dead-letter topic after the join. Each must still name its own message.
#  - run 1 (--once): 4000 users, one event each at 10:00; their sessions
#    are emitted at the end of the input;
#  - run 2 (--once, same state): each user's event at 10:00:30 (inside the
#    emitted session: late) followed by one at 12:00 (a new session), 8000
#    records over 8 partitions;
#  - every late event, and no other, is in the dead-letter topic with the
#    late reason and its own partition and offset: those of the second
#    record of its key in the input topic; the 4000 new sessions are
#    emitted;
#  - with two CPUs or more, run 2 applied batches on two threads. Batches
#    of 1024 events or more depend on how fast the daemon drains its queue
#    (a sanitizer build took batches of one partition each), so the test
#    lowers that bound to 64 events and has the daemon wait 1 s before its
#    first drain, so that the queue holds every partition's records.
set -euo pipefail
. "${SRC_DIR:?}/tests/integration/lib.sh"
it_init

N=4000
broker_start --partitions 8 --topics user-metadata,in,sessions,metrics,dlq
HDR=user_id,timestamp,action_type,page_id,duration_ms,app_version
write_config "$T/c.conf" "$T/state" '[kafka]' 'group.id = late2' \
	'[topics]' 'interactions = in' 'sessions = sessions' \
	'metrics = metrics' 'dlq = dlq'

{
	echo "$HDR"
	for i in $(seq -f '%04g' "$N"); do
		echo "u$i,2024-03-10 10:00:00,view,p1,1000,1.0.0"
	done
} >"$T/1.csv"
{
	echo "$HDR"
	for i in $(seq -f '%04g' "$N"); do
		echo "u$i,2024-03-10 10:00:30,view,p2,1000,1.0.0"
		echo "u$i,2024-03-10 12:00:00,click,p3,1000,1.0.0"
	done
} >"$T/2.csv"

load_csv interactions "$T/1.csv" in avro "$N" 0
run_once "$T/c.conf" run1
expect_eq "run 1: sessions" "$(log_field run1 sessions)" "$N"
expect_eq "run 1: late" "$(log_field run1 late)" 0

load_csv interactions "$T/2.csv" in avro $((2 * N)) 0
ACTIVITYD_TEST_APPLY_SPLIT_MIN=64 ACTIVITYD_TEST_DRAIN_DELAY_MS=1000 \
	run_once "$T/c.conf" run2
expect_eq "run 2: records" "$(log_field run2 records)" $((2 * N))
expect_eq "run 2: late" "$(log_field run2 late)" "$N"
expect_eq "run 2: other dead letters" "$(log_field run2 dead_letters)" 0
expect_eq "run 2: sessions" "$(log_field run2 sessions)" "$N"
split=$(log_field run2 two_threads)
if [ "$(nproc)" -ge 2 ]; then
	[ "$split" -ge 1 ] || fail "run 2: no batch applied on two threads" \
	    "($(log_field run2 batches) batches)"
else
	expect_eq "run 2: batches on two threads (one CPU)" "$split" 0
fi

# Where each late event is: the second record of its key (run 1's is the
# first, the on-time one the third).
kcat -C -b "$BOOTSTRAP" -t in -e -o beginning -q -f '%k %p %o\n' |
	awk '++seen[$1] == 2 { print $1, $2, $3 }' | sort >"$T/want"
expect_eq "late events in the input" "$(wc -l <"$T/want")" "$N"
kcat -C -b "$BOOTSTRAP" -t dlq -e -o beginning -q -f '%k\t%h\n' |
	awk -F '\t' '{
		n = split($2, h, ",")
		for (i = 1; i <= n; i++) {
			split(h[i], kv, "=")
			v[kv[1]] = substr(h[i], length(kv[1]) + 2)
		}
		print $1, v["source.partition"], v["source.offset"], v["reason"],
		    v["source.topic"]
	}' | sort >"$T/got"
expect_eq "dead letters" "$(wc -l <"$T/got")" "$N"
sed 's/$/ late: belongs to an emitted session in/' "$T/want" >"$T/want.full"
if ! diff -u "$T/want.full" "$T/got" >"$T/diff"; then
	head -20 "$T/diff" >&2
	fail "dead letters (+) differ from the late events' positions (-)"
fi
expect_eq "sessions topic" "$(count_records sessions)" $((2 * N))
echo "$N late events of $((2 * N)), applied in $split of" \
    "$(log_field run2 batches) batches on two threads, each a dead letter" \
    "naming its own partition and offset"
