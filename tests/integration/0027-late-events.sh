#!/bin/bash
# Late events in live mode (SPEC section 3, docs/engine.md "The late
# rule"): an event of a session already emitted is written to the
# dead-letter topic with the reason `late: belongs to an emitted session`,
# its original bytes and its own topic, partition and offset, and counted
# in activityd_late_events_total; the events around it are not. Two late
# events sit among on-time ones in one load, so that they reach the
# daemon in one consumed batch (Avro input is applied a run of events at a
# time, and each late one must still name its own message); the same again
# with JSON input, which is applied one event at a time.
set -euo pipefail
. "${SRC_DIR:?}/tests/integration/lib.sh"
it_init

# One partition per topic: the watermark is a partition's, and ub's event
# must move the one of ua's partition.
topics=user-metadata
for f in avro json; do
	topics+=",in.$f,sessions.$f,metrics.$f,dlq.$f"
done
broker_start --partitions 1 --topics "$topics"
HDR=user_id,timestamp,action_type,page_id,duration_ms,app_version

# late_round FORMAT: the whole scenario on topics and a state of its own.
late_round() {
	local f=$1 i want got
	write_config "$T/$f.conf" "$T/$f.state" '[kafka]' "group.id = late-$f" \
		'[topics]' "interactions = in.$f" "sessions = sessions.$f" \
		"metrics = metrics.$f" "dlq = dlq.$f" \
		'[input]' "format = $f" '[state]' 'commit_interval = 100ms' \
		'[admin]' 'listen = 127.0.0.1:0'
	# Offsets 0-2. ub's event moves the watermark (12:00 - 5 min of
	# grace) past ua's session (10:01 + 10 min of gap): it is emitted.
	printf '%s\n' "$HDR" \
		'ua,2024-03-10 10:00:00,view,p1,1000,1.0.0' \
		'ua,2024-03-10 10:01:00,click,p2,2000,1.0.0' \
		'ub,2024-03-10 12:00:00,view,p1,1000,1.0.0' >"$T/$f.1.csv"
	# Offsets 3-7: ua's at 4 and 6 are late (inside the emitted session
	# and within its gap after it); uc's and ub's are on time.
	printf '%s\n' "$HDR" \
		'uc,2024-03-10 12:00:30,view,p1,1000,1.0.0' \
		'ua,2024-03-10 10:00:30,view,p3,1500,1.0.0' \
		'uc,2024-03-10 12:01:00,click,p1,1000,1.0.0' \
		'ua,2024-03-10 10:05:00,click,p4,2500,1.0.0' \
		'ub,2024-03-10 12:02:00,view,p2,1000,1.0.0' >"$T/$f.2.csv"
	load_csv interactions "$T/$f.1.csv" "in.$f" "$f" 3 0

	"$DAEMON" -c "$T/$f.conf" >"$T/$f.out" 2>"$T/$f.err" &
	DPID=$!
	IT_PIDS+=("$DPID")
	wait_admin "$T/$f.err" "$DPID"
	wait_mval activityd_sessions_closed_total 1 "$DPID" \
	    "$f: ua's session not emitted"
	expect_eq "$f: sessions closed before the late events" \
	    "$(mval activityd_sessions_closed_total)" 1

	load_csv interactions "$T/$f.2.csv" "in.$f" "$f" 5 0
	wait_mval activityd_records_in_total 8 "$DPID" \
	    "$f: the second load not consumed"
	expect_eq "$f: records consumed" "$(mval activityd_records_in_total)" 8
	expect_eq "$f: late events" "$(mval activityd_late_events_total)" 2
	expect_eq "$f: other dead letters" \
	    "$(mval activityd_dead_letters_total)" 0

	# The dead letters: ua's two late events, each with its own offset
	# and its original bytes.
	for i in $(seq 100); do
		[ "$(count_records "dlq.$f")" -ge 2 ] && break
		sleep 0.1
	done
	want="ua	reason=late: belongs to an emitted session,source.topic=in.$f,source.partition=0,source.offset=4
ua	reason=late: belongs to an emitted session,source.topic=in.$f,source.partition=0,source.offset=6"
	got=$(kcat -C -b "$BOOTSTRAP" -t "dlq.$f" -e -o beginning -q \
	    -f '%k\t%h\n')
	expect_eq "$f: dead letters" "$got" "$want"
	for i in 0 1; do
		kcat -C -b "$BOOTSTRAP" -t "in.$f" -p 0 -o $((4 + 2 * i)) -c 1 -e -q \
		    -f '%s' >"$T/$f.in.$i"
		kcat -C -b "$BOOTSTRAP" -t "dlq.$f" -p 0 -o "$i" -c 1 -e -q \
		    -f '%s' >"$T/$f.dlq.$i"
		cmp -s "$T/$f.in.$i" "$T/$f.dlq.$i" ||
			fail "$f: dead letter $i is not the bytes of offset $((4 + 2 * i))"
	done
	stop_pid "$DPID"
	echo "$f: 2 late events of 8 in the dead-letter topic, offsets 4 and 6"
}

late_round avro
late_round json
