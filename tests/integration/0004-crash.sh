#!/bin/bash
# Crash safety (SPEC section 6): the live daemon is killed with SIGKILL five
# times at random moments while data streams in, restarted each time, then
# `activityd --once` finishes on the same state. Its DAU, MAU and sessions
# must equal an uninterrupted `--once` over the same topic exactly; every
# session must be in the sessions topic at least once, and repeats must
# carry the same key and session_id.
# (The input is in timestamp order: see live.sh.)
set -euo pipefail
. "${SRC_DIR:?}/tests/integration/lib.sh"
it_init

. "$SRC_DIR/tests/integration/live.sh"
live_init 20231105

kills=0
kill_restart() {
	sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
	kill -9 "$DPID"
	wait "$DPID" 2>/dev/null || true
	kills=$((kills + 1))
	start_daemon
}

start_daemon
for c in "$T"/chunk.??; do
	load_chunk "$c"
	if [ "$kills" -lt 5 ] && [ $((RANDOM % 10)) -lt 6 ]; then
		kill_restart
	fi
done
while [ "$kills" -lt 5 ]; do
	kill_restart
done
sleep 1
finish_and_compare "after $kills kills"
