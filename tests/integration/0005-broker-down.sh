#!/bin/bash
# A lost broker (SPEC section 6): while data streams in to the live daemon,
# the broker goes down for 10 s (activityctl broker's SIGUSR1/SIGUSR2
# switch). The daemon must keep running, retry, and resume when the broker
# is back; after the stream ends, its state finished with `--once` equals an
# uninterrupted run exactly and every session reached the sessions topic.
# (The input is in timestamp order: see live.sh.)
set -euo pipefail
. "${SRC_DIR:?}/tests/integration/lib.sh"
it_init
. "$SRC_DIR/tests/integration/live.sh"
live_init 4242

start_daemon
n=0
for c in "$T"/chunk.??; do
	load_chunk "$c"
	n=$((n + 1))
	if [ "$n" -eq 4 ]; then
		sleep 0.3
		kill -USR1 "$BPID"	# broker down
		sleep 10
		kill -0 "$DPID" 2>/dev/null ||
			fail "daemon exited while the broker was down:" \
			    "$(tail -5 "$T/live.err")"
		kill -USR2 "$BPID"	# and up again
	fi
done
# Resumed: new records are consumed after the outage.
sleep 3
kill -0 "$DPID" 2>/dev/null || fail "daemon died: $(tail -5 "$T/live.err")"
finish_and_compare "after a 10 s broker outage"
