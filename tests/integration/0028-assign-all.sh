#!/bin/bash
# `[input] assign = all` (docs/pipeline.md): one instance reads every
# partition without a consumer group. The live daemon is killed with
# SIGKILL three times while data streams in; each start must assign all 8
# partitions itself and load them at once, with no wait for a group (the
# configuration has no static membership and a 30 s session timeout, so a
# group member's restart would wait about that long). Then, as in 0004,
# `activityd --once` finishes the state, and DAU, MAU and sessions must
# equal an uninterrupted run exactly, every session in the topic.
set -euo pipefail
. "${SRC_DIR:?}/tests/integration/lib.sh"
it_init

. "$SRC_DIR/tests/integration/live.sh"
live_init 20231106
write_config "$T/live.conf" "$T/state" \
	'[kafka]' 'session.timeout.ms = 30000' \
	'[input]' 'assign = all' \
	'[state]' 'commit_interval = 100ms' '[output]' 'format = json' \
	'[admin]' 'listen = 127.0.0.1:0'

starts=0
# Starts the daemon and waits for its 8 partitions to be loaded; a start
# that takes 10 s (a third of the session timeout) waited for a group.
start_loaded() {
	local t0 i
	t0=$(date +%s%N)
	start_daemon
	starts=$((starts + 1))
	for i in $(seq 100); do
		[ "$(grep -c 'msg="partitions loaded"' "$T/live.err")" -ge \
		    "$starts" ] && break
		[ "$i" -lt 100 ] ||
			fail "start $starts: partitions not loaded within 10 s"
		sleep 0.1
	done
	echo "start $starts: 8 partitions loaded in" \
		"$((($(date +%s%N) - t0) / 1000000)) ms"
	[ "$(grep -c 'msg="partition assigned"' "$T/live.err")" -eq \
	    $((8 * starts)) ] ||
		fail "start $starts: not exactly 8 partitions assigned per start"
}

start_loaded
for c in "$T"/chunk.??; do
	load_chunk "$c"
	if [ "$starts" -le 3 ] && [ $((RANDOM % 10)) -lt 4 ]; then
		sleep "0.$((RANDOM % 10))"
		kill -9 "$DPID"
		wait "$DPID" 2>/dev/null || true
		start_loaded
	fi
done
while [ "$starts" -le 3 ]; do
	kill -9 "$DPID"
	wait "$DPID" 2>/dev/null || true
	start_loaded
done
! grep -q 'rebalance\|partition revoked' "$T/live.err" ||
	fail "a group rebalance in assign = all"
sleep 1
finish_and_compare "after $((starts - 1)) kills with assign = all"
