#!/bin/bash
# bench/ab_once.sh DIR_A DIR_B [ROUNDS]: `activityd --once` of two build
# trees (each with activityd and activityctl at its root, e.g. one built
# from the last commit in a git worktree) over the same data, alternating
# A and B ROUNDS times (default 3), one line per run: wall time, the time
# of the end of input (closing every session, the final rollup and
# commit), process CPU and peak RSS. Before/after figures of
# docs/BENCHMARKS.md's "Profile-driven changes" come from runs like these:
# this machine is shared, and only runs alternated in one sitting compare.
# The data is the seed-distributed 2M events of 1M users of bench/run.sh
# on a fresh 64-partition local broker; each run has an empty state.
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: bench/ab_once.sh DIR_A DIR_B [ROUNDS]" >&2; exit 2; }
A=$(cd "$1" && pwd) B=$(cd "$2" && pwd) ROUNDS=${3:-3}
for d in "$A" "$B"; do
	if [ ! -x "$d/activityd" ] || [ ! -x "$d/activityctl" ]; then
		echo "$d: no activityd or activityctl" >&2
		exit 2
	fi
done
W=$(mktemp -d /tmp/ab_once.XXXXXX)
BP=
cleanup() {
	[ -z "$BP" ] || { kill "$BP" 2>/dev/null; wait "$BP" 2>/dev/null; } || true
	rm -rf "$W"
}
trap cleanup EXIT

"$A/activityctl" broker --partitions 64 \
	--topics interactions,user-metadata,activity.sessions,activity.metrics,activity.dlq \
	>"$W/broker.out" 2>"$W/broker.err" &
BP=$!
for _ in $(seq 100); do grep -q '^bootstrap=' "$W/broker.out" && break; sleep 0.1; done
BOOT=$(sed -n 's/^bootstrap=//p' "$W/broker.out")
[ -n "$BOOT" ] || { echo "broker did not start" >&2; exit 1; }
"$A/activityctl" generate --events 2000000 --metadata 100000 --users 1000000 \
	--seed 42 --out "$W/data" >/dev/null
"$A/activityctl" load --kind metadata --csv "$W/data/user_metadata_sample.csv" \
	--bootstrap "$BOOT" --topic user-metadata >/dev/null 2>&1
"$A/activityctl" load --kind interactions \
	--csv "$W/data/user_interactions_sample.csv" --bootstrap "$BOOT" \
	--topic interactions >/dev/null 2>&1

ms_of() {	# ms_of LOG MESSAGE: the ms= of that log line
	sed -n "s/.*msg=\"$2\".* ms=\\([0-9]*\\).*/\\1/p" "$1" | head -n1
}
run() {	# run LABEL DIR
	local log=$W/d.log t0 t1 closing ended
	rm -rf "$W/state"
	printf '[kafka]\nbootstrap.servers = %s\ngroup.id = ab\n[topics]\ninteractions = interactions\n[state]\ndir = %s/state\n' \
		"$BOOT" "$W" >"$W/c.conf"
	t0=$(date +%s%N)
	/usr/bin/time -f '%U %S %M' -o "$W/time" "$2/activityd" -c "$W/c.conf" \
		--once 2>"$log"
	t1=$(date +%s%N)
	closing=$(ms_of "$log" "end of input; closing sessions")
	ended=$(ms_of "$log" "backfill done")
	awk -v l="$1" -v w=$(( (t1 - t0) / 1000000 )) -v e=$((ended - closing)) \
		'{ printf "%s wall %d ms, end of input %d ms, CPU %.1f s, peak RSS %d MiB\n",
		   l, w, e, $1 + $2, $3 / 1024 }' "$W/time"
}
for _ in $(seq "$ROUNDS"); do
	run A "$A"
	run B "$B"
done
