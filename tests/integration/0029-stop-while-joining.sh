#!/bin/bash
# SIGTERM to a live daemon that has joined its consumer group but has no
# assignment yet (a restart after SIGKILL, waiting for the group to drop
# the killed member) must stop it cleanly, exit 0. librdkafka before 2.3
# aborts when such a cooperative-sticky consumer is closed (its issue
# 4312): the daemon leaves that consumer to the exit (docs/pipeline.md).
set -euo pipefail
. "${SRC_DIR:?}/tests/integration/lib.sh"
it_init
broker_start --partitions 8
write_config "$T/c.conf" "$T/state" \
	'[kafka]' 'session.timeout.ms = 6000' 'heartbeat.interval.ms = 500' \
	'debug = cgrp' '[log]' 'level = debug' '[admin]' 'listen = 127.0.0.1:0'

# wait_log FILE PATTERN WHAT: up to 30 s.
wait_log() {
	for _ in $(seq 300); do
		grep -q "$2" "$1" && return 0
		sleep 0.1
	done
	fail "$3 not seen within 30 s: $(grep -v 'level=debug' "$1" | tail -3)"
}

for round in 1 2 3; do
	"$DAEMON" -c "$T/c.conf" 2>"$T/first$round.err" &
	pid=$!
	IT_PIDS+=("$pid")
	wait_log "$T/first$round.err" 'msg="partition assigned"' \
		"round $round: the first daemon's assignment"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true

	"$DAEMON" -c "$T/c.conf" 2>"$T/second$round.err" &
	pid=$!
	IT_PIDS+=("$pid")
	# Joined: the group has answered its JoinGroup; the killed member
	# still holds the partitions until its session ends.
	wait_log "$T/second$round.err" 'JoinGroup response' \
		"round $round: the restarted daemon's join"
	rc=0
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ] || fail "round $round: SIGTERM while joining: exit" \
		"$rc: $(grep -v 'level=debug' "$T/second$round.err" | tail -3)"
	if grep -q 'msg="partition assigned"' "$T/second$round.err"; then
		echo "round $round: assigned before the SIGTERM, exit 0"
	else
		grep -q 'msg="leaving the consumer group without closing' \
		    "$T/second$round.err" ||
			fail "round $round: no assignment and no notice"
		echo "round $round: stopped while joining, exit 0"
	fi
	# The next round's first daemon waits for this one's session too.
done
