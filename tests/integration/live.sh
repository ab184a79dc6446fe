# Shared by the live-mode integration tests (sourced after lib.sh): a
# time-ordered stream produced in chunks to a live daemon, then a final
# `--once` on its state compared with an uninterrupted `--once`.
#
# The input is produced in timestamp order, so that no event is beyond the
# grace: then live sessions equal batch sessions whatever the timing, and
# the comparison can be exact.
#
#   live_init SEED [BROKER_ARG...]   broker (with these extra arguments),
#                         data, metadata loaded, chunks, live.conf
#   start_daemon          start the live daemon; waits for partitions
#   load_chunk FILE       produce one chunk
#   finish_and_compare WHAT [MIN_ROWS [REF_LINE...]]
#                         SIGTERM, --once, compare with the reference run

live_init() {
	RANDOM=$1
	broker_start --partitions 8 "${@:2}"
	"$CTL" generate --events 30000 --metadata 2000 --users 6000 \
		--seed "$1" --out "$T/data" >/dev/null
	"$CTL" load --kind metadata --csv "$T/data/user_metadata_sample.csv" \
		--bootstrap "$BOOTSTRAP" --topic user-metadata >/dev/null 2>&1
	# Time order, then ten chunks streamed one after another.
	head -1 "$T/data/user_interactions_sample.csv" >"$T/header.csv"
	tail -n +2 "$T/data/user_interactions_sample.csv" | sort -t, -k2,2 \
		>"$T/body.csv"
	split -n l/10 "$T/body.csv" "$T/chunk."
	# Static membership and short timeouts: a restarted daemon gets its
	# partitions back at once.
	write_config "$T/live.conf" "$T/state" \
		'[kafka]' 'group.instance.id = it-live' \
		'session.timeout.ms = 6000' 'heartbeat.interval.ms = 500' \
		'[state]' 'commit_interval = 100ms' '[output]' 'format = json' \
		'[admin]' 'listen = 127.0.0.1:0'
	: >"$T/live.err"
}

# Starts the live daemon and waits until it has partitions, so that what
# the test does next hits a daemon that is consuming and committing.
start_daemon() {
	local before i
	before=$(grep -c 'partition assigned' "$T/live.err") || true
	"$DAEMON" -c "$T/live.conf" >>"$T/live.out" 2>>"$T/live.err" &
	DPID=$!
	IT_PIDS+=("$DPID")
	for i in $(seq 300); do
		[ "$(grep -c 'partition assigned' "$T/live.err")" -gt \
		    "${before:-0}" ] && return 0
		kill -0 "$DPID" 2>/dev/null ||
			fail "daemon died: $(tail -5 "$T/live.err")"
		sleep 0.1
	done
	fail "no partition assigned within 30 s: $(tail -5 "$T/live.err")"
}

load_chunk() {
	cat "$T/header.csv" "$1" >"$1.csv"
	"$CTL" load --kind interactions --csv "$1.csv" \
		--bootstrap "$BOOTSTRAP" --topic interactions >/dev/null 2>&1 ||
		fail "load of $(basename "$1") failed"
}

# Runs the uninterrupted reference (its configuration takes the REF_LINEs
# too), waits until the live daemon has caught up (its DAU, read from the
# state it holds, equals the reference's: it consumed every record), stops
# it (it must exit 0), finishes its state with --once, and compares DAU,
# MAU, sessions (each at least MIN_ROWS rows, default 12) and the sessions
# topic with the reference.
finish_and_compare() {
	local what=$1 min=${2:-12} rc=0 q rows i
	shift $(($# < 2 ? $# : 2))
	write_config "$T/ref.conf" "$T/ref" '[output]' 'format = json' \
		'[topics]' 'sessions = ref.sessions' 'metrics = ref.metrics' \
		'dlq = ref.dlq' "$@"
	run_once "$T/ref.conf" ref
	"$CTL" query dau --state "$T/ref" --format csv >"$T/ref.dau"
	for i in $(seq 120); do
		"$CTL" query dau --state "$T/state" --format csv \
			>"$T/live.dau" 2>/dev/null || true
		cmp -s "$T/ref.dau" "$T/live.dau" && break
		[ "$i" -lt 120 ] || fail "the live daemon did not catch up $what"
		sleep 0.5
	done
	echo "live daemon caught up $what"

	kill -TERM "$DPID"
	wait "$DPID" || rc=$?
	[ "$rc" -eq 0 ] || fail "SIGTERM: exit $rc: $(tail -5 "$T/live.err")"
	! grep -q 'level=error' "$T/live.err" ||
		fail "errors in the live runs:" \
		    "$(grep 'level=error' "$T/live.err" | head -3)"
	run_once "$T/live.conf" live-once

	for q in dau mau sessions; do
		"$CTL" query "$q" --state "$T/state" --format csv >"$T/live.$q"
		"$CTL" query "$q" --state "$T/ref" --format csv >"$T/ref.$q"
		rows=$(($(wc -l <"$T/ref.$q") - 1))
		[ "$rows" -ge "$min" ] || fail "$q: only $rows rows"
		diff -u "$T/ref.$q" "$T/live.$q" >"$T/diff" || {
			head -20 "$T/diff" >&2
			fail "$q $what (+) differs from an uninterrupted run (-)"
		}
		echo "$q: $rows rows equal $what"
	done

	kcat -C -b "$BOOTSTRAP" -t activity.sessions -e -o beginning -q \
		-f '%k\t%s\n' >"$T/sessions.topic"
	kcat -C -b "$BOOTSTRAP" -t ref.sessions -e -o beginning -q \
		-f '%k\t%s\n' >"$T/ref.topic"
	python3 "$SRC_DIR/tests/integration/sessions_topic.py" \
		"$T/sessions.topic" "$T/ref.topic"
}
