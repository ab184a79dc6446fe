#!/bin/bash
# Live mode closes the sessions due at a timer tick in slices of 4096, the
# input drained between them (docs/pipeline.md, "Closing in slices"): all
# of them still close at that tick, not one slice per tick. 10000 users'
# sessions become due together; the timer ticks every 5 s, so a slice that
# did not schedule the next one would leave 5904 sessions open for 5 s.
set -euo pipefail
. "${SRC_DIR:?}/tests/integration/lib.sh"
it_init

broker_start --partitions 1 \
	--topics interactions,user-metadata,activity.sessions,activity.metrics,activity.dlq
N=10000
# One event per user, 10:00:00 to 10:08:59; then one at 12:00 moves the
# watermark (12:00 - 5 min of grace) past every one of them.
awk -v n=$N 'BEGIN {
	print "user_id,timestamp,action_type,page_id,duration_ms,app_version"
	for (i = 0; i < n; i++)
		printf "u%05d,2024-03-10 10:%02d:%02d,view,p1,1000,1.0.0\n",
		    i, int(i % 540 / 60), i % 60
	print "zlast,2024-03-10 12:00:00,view,p1,1000,1.0.0"
}' >"$T/in.csv"
load_csv interactions "$T/in.csv" interactions avro $((N + 1)) 0

write_config "$T/d.conf" "$T/state" '[kafka]' 'group.id = close-slices' \
	'[state]' 'commit_interval = 5s' '[admin]' 'listen = 127.0.0.1:0'
"$DAEMON" -c "$T/d.conf" >"$T/d.out" 2>"$T/d.err" &
DPID=$!
IT_PIDS+=("$DPID")
wait_admin "$T/d.err" "$DPID"
wait_mval activityd_sessions_closed_total 1 "$DPID" "no session closed"
# Well within the 5 s to the next tick.
sleep 2
expect_eq "sessions closed at the first tick" \
	"$(mval activityd_sessions_closed_total)" $N
stop_pid "$DPID"
expect_eq "sessions on the topic" "$(count_records activity.sessions)" $N
echo PASS
