#!/bin/bash
# tests/soak/soak.sh [--minutes N] [--kill-every S] [--rate R] [--users U]
#                    [--rss-tolerance PCT] [--rss-slack MB]
#
# Live traffic at a fixed rate (traffic.py into kcat: R events/s, default
# 5000, stamped with the wall clock, U users, default 50000) into a
# 64-partition topic for N minutes (default 10), consumed by a live
# activityd that is killed with SIGKILL every S seconds (default 60) and
# restarted at once. Each life of the daemon is
# sampled at fixed points: 10 s after its start and 2 s before its end
# (RSS from /proc/PID/status, open descriptors from /proc/PID/fd, by kind),
# and Prometheus /metrics is scraped every second. The last life ends when
# the producer stops: it catches up and gets SIGTERM (exit 0).
#
# At the end, as tests/integration/live.sh does: the live state finished
# with --once must equal an uninterrupted --once over the same topic (DAU,
# MAU, sessions, and every session in the sessions topic, repeats
# identical), and that run must have consumed every record produced (the
# local broker keeps only ~5 MB per partition). Then, over the lives that
# ended in SIGKILL: the last one's RSS at each point must be within PCT
# percent (default 15) of the second one's, or MB megabytes (default 16)
# if that is more (a small daemon's RSS moves by a write buffer or two);
# the first life starts on an empty state, and the descriptors other than RocksDB's files must be the
# same in number at the same point of every life (RocksDB's vary with its
# files, and are reported). Prints a table of the lives; exit 0 if all
# holds. An ASan build's daemon runs with an 8 MB quarantine (below).
#
# Environment: BUILD_DIR (default build/), SRC_DIR (default this tree);
# IT_KEEP=1 keeps the work directory.
set -euo pipefail

MINUTES=10 KILL_EVERY=60 RATE=5000 USERS=50000 RSS_TOL=15 RSS_SLACK=16
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || { echo "soak.sh: $1 needs a value" >&2; exit 2; }
	case $1 in
	--minutes) MINUTES=$2 ;;
	--kill-every) KILL_EVERY=$2 ;;
	--rate) RATE=$2 ;;
	--users) USERS=$2 ;;
	--rss-tolerance) RSS_TOL=$2 ;;
	--rss-slack) RSS_SLACK=$2 ;;
	*)
		echo "usage: soak.sh [--minutes N] [--kill-every S] [--rate R]" \
		    "[--users U] [--rss-tolerance PCT] [--rss-slack MB]" >&2
		exit 2
		;;
	esac
	shift 2
done
for v in "$MINUTES" "$KILL_EVERY" "$RATE" "$USERS" "$RSS_TOL" "$RSS_SLACK"; do
	[[ $v =~ ^[0-9]+$ ]] && [ "$v" -gt 0 ] ||
		{ echo "soak.sh: not a positive integer: $v" >&2; exit 2; }
done
[ "$KILL_EVERY" -ge 20 ] || { echo "soak.sh: --kill-every below 20 s" >&2; exit 2; }
SECONDS_TOTAL=$((MINUTES * 60))
[ "$SECONDS_TOTAL" -ge $((2 * KILL_EVERY)) ] ||
	{ echo "soak.sh: fewer than two lives" >&2; exit 2; }

SRC_DIR=${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD_DIR=${BUILD_DIR:-$SRC_DIR/build}
export SRC_DIR BUILD_DIR
. "$SRC_DIR/tests/integration/lib.sh"
it_init

log() { printf '[%s] %s\n' "$(date +%T)" "$*"; }

# In an ASan build most of the RSS is the allocator's quarantine of freed
# blocks (256 MB by default), which fills at the rate the daemon frees:
# at a fixed time it measures how much a life has allocated so far (a
# life whose partitions came 6 s sooner read 35 MB less at 10 s), not
# what the daemon holds. A small quarantine fills in the first seconds,
# and then the RSS compared is the daemon's again.
if [[ $(ldd "$DAEMON") == *libasan* ]]; then
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8
fi

broker_start --partitions 64 --topics interactions,user-metadata,activity.sessions,activity.metrics,activity.dlq,ref.sessions,ref.metrics,ref.dlq
# Sessions split after 20 s without an event, so that they close during
# the run (a user's events come every U/R seconds on average); the
# watermark moves with event time only (idle_close of an hour), and each
# partition's events arrive in time order, so nothing is late and the
# live results can equal the batch ones exactly.
SESSION=('[session]' 'gap = 20s' 'grace = 5s' 'idle_close = 1h')
write_config "$T/live.conf" "$T/state" \
	'[kafka]' 'group.instance.id = soak' 'session.timeout.ms = 6000' \
	'heartbeat.interval.ms = 500' \
	'[state]' 'commit_interval = 200ms' '[output]' 'format = json' \
	'[admin]' 'listen = 127.0.0.1:0' '[input]' 'format = json' \
	"${SESSION[@]}"
: >"$T/live.err"

# A new life: live.sh's start_daemon (waits for a partition), then the
# admin port it chose.
. "$SRC_DIR/tests/integration/live.sh"
start_life() {
	start_daemon
	PORT=$(sed -n 's/.*msg="admin listening" address=127\.0\.0\.1:\([0-9]*\).*/\1/p' \
	    "$T/live.err" | tail -1)
}

# sample NAME: "rss_kb fds sockets pipes anon rocksdb_files deleted"
# of the daemon into the array entry SAMPLE[NAME].
declare -A SAMPLE
sample() {
	local rss fd l n=0 sock=0 pipe=0 anon=0 rdb=0 del=0

	rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$DPID/status")
	for fd in /proc/"$DPID"/fd/*; do
		l=$(readlink "$fd" 2>/dev/null) || continue
		n=$((n + 1))
		case $l in
		socket:*) sock=$((sock + 1)) ;;
		pipe:*) pipe=$((pipe + 1)) ;;
		anon_inode:*) anon=$((anon + 1)) ;;
		"$T/state"*) rdb=$((rdb + 1)) ;;
		esac
		case $l in *' (deleted)') del=$((del + 1)) ;; esac
	done
	SAMPLE[$1]="$rss $n $sock $pipe $anon $rdb $del"
}

# scrape: /metrics must answer 200; keeps the life's records consumed and
# its consumer lag (summed over the partitions).
scrape() {
	local code

	code=$(curl -s -o "$T/metrics" -w '%{http_code}' \
	    "http://127.0.0.1:$PORT/metrics") || code=000
	[ "$code" = 200 ] || fail "life $LIFE: /metrics answered $code"
	RECORDS=$(awk '$1 == "activityd_records_in_total{topic=\"interactions\"}" \
	    { print $2 }' "$T/metrics")
	LAG=$(awk '$1 ~ /^activityd_consumer_lag/ { s += $2 } END { print s + 0 }' \
	    "$T/metrics")
}

log "producing $RATE events/s to 64 partitions for $MINUTES min," \
    "SIGKILL every $KILL_EVERY s"
python3 "$SRC_DIR/tests/soak/traffic.py" "$RATE" "$SECONDS_TOTAL" "$USERS" 1 \
	"$T/produced" | kcat -P -b "$BOOTSTRAP" -t interactions -K $'\t' \
	-z lz4 -X linger.ms=1000 -X queue.buffering.max.messages=1000000 \
	2>"$T/producer.err" &
PROD_PID=$!
IT_PIDS+=("$PROD_PID")
T0=$(date +%s)
LIVES=$((SECONDS_TOTAL / KILL_EVERY))
declare -A RECS LAGS STARTUP
t_kill=$T0
for LIFE in $(seq "$LIVES"); do
	start_life
	t_start=$(date +%s)
	STARTUP[$LIFE]=$((t_start - t_kill))
	RECORDS=0 LAG=0
	# Lives end on a fixed schedule, whatever their start-up took.
	end=$((T0 + LIFE * KILL_EVERY))
	[ "$LIFE" -lt "$LIVES" ] || end=$((T0 + SECONDS_TOTAL))
	early=0 late=0
	while [ "$(date +%s)" -lt "$end" ]; do
		kill -0 "$DPID" 2>/dev/null ||
			fail "life $LIFE: the daemon died: $(tail -3 "$T/live.err")"
		now=$(date +%s)
		if [ $early = 0 ] && [ "$now" -ge $((t_start + 10)) ]; then
			sample "$LIFE.early"
			early=1
		fi
		if [ $late = 0 ] && [ "$now" -ge $((end - 2)) ]; then
			sample "$LIFE.end"
			late=1
		fi
		scrape
		sleep 1
	done
	[ $early = 1 ] && [ $late = 1 ] ||
		fail "life $LIFE: a sampling point was missed"
	RECS[$LIFE]=$RECORDS LAGS[$LIFE]=$LAG
	if [ "$LIFE" -lt "$LIVES" ]; then
		kill -KILL "$DPID"
		wait "$DPID" 2>/dev/null || true
		t_kill=$(date +%s)
		log "life $LIFE: SIGKILL after $((t_kill - t_start)) s," \
		    "$RECORDS records, lag $LAG, rss ${SAMPLE[$LIFE.end]%% *} kB"
	fi
done
wait "$PROD_PID" || fail "kcat failed: $(cat "$T/producer.err")"
[ -s "$T/produced" ] || fail "traffic.py did not finish"
PRODUCED=$(cat "$T/produced")
log "producer done: $PRODUCED records"

# --- results: live.sh's comparison, with this run's input and sessions ---
IT_ONCE_TIMEOUT=600
finish_and_compare "after $((LIVES - 1)) kills" 1 '[input]' 'format = json' \
	"${SESSION[@]}"
# Fewer would mean records dropped by the broker's retention.
expect_eq "records consumed by the uninterrupted run" \
    "$(log_field ref records)" "$PRODUCED"
log "uninterrupted --once: $PRODUCED records in $(log_field ref ms) ms"

# --- the table, and the resource checks ---
# start_s: from the kill (or the start) to the first partition assigned;
# records: consumed in the life; lag: at its last scrape.
printf '\n%-5s %7s %9s %7s %10s %10s %8s %-22s %-22s\n' life start_s records lag \
    rss_10s_kB rss_end_kB delta_kB "fds_10s (s/p/a/rdb/del)" \
    "fds_end (s/p/a/rdb/del)"
fmt_fds() { set -- $1; printf '%s (%s/%s/%s/%s/%s)' "$2" "$3" "$4" "$5" "$6" "$7"; }
for LIFE in $(seq "$LIVES"); do
	e=(${SAMPLE[$LIFE.early]}) z=(${SAMPLE[$LIFE.end]})
	printf '%-5s %7s %9s %7s %10s %10s %8s %-22s %-22s\n' "$LIFE" \
	    "${STARTUP[$LIFE]}" "${RECS[$LIFE]}" "${LAGS[$LIFE]}" \
	    "${e[0]}" "${z[0]}" $((z[0] - e[0])) \
	    "$(fmt_fds "${SAMPLE[$LIFE.early]}")" \
	    "$(fmt_fds "${SAMPLE[$LIFE.end]}")"
done

# Over the killed lives 2..LIVES-1: RSS of the last within RSS_TOL % (or
# RSS_SLACK MB) of the second at both points; descriptors other than RocksDB's files equal at
# each point; none open on a deleted file.
bad=0
last=$((LIVES - 1))
for point in early end; do
	a=(${SAMPLE[2.$point]}) b=(${SAMPLE[$last.$point]})
	pct=$(awk -v a="${a[0]}" -v b="${b[0]}" \
	    'BEGIN { printf "%.1f", (b - a) * 100 / a }')
	tol="tolerance $RSS_TOL % or $RSS_SLACK MB"
	if awk -v a="${a[0]}" -v b="${b[0]}" -v t="$RSS_TOL" -v m="$RSS_SLACK" \
	    'BEGIN { d = b > a ? b - a : a - b; lim = a * t / 100;
		if (m * 1024 > lim) lim = m * 1024; exit !(d > lim) }'; then
		echo "RSS at $point: life $last ${b[0]} kB is $pct % from life 2's ${a[0]} kB ($tol)" >&2
		bad=1
	else
		echo "RSS at $point: life $last ${b[0]} kB is $pct % from life 2's ${a[0]} kB ($tol)"
	fi
	for LIFE in $(seq 2 "$last"); do
		c=(${SAMPLE[$LIFE.$point]})
		if [ $((c[1] - c[5])) -ne $((a[1] - a[5])) ] || [ "${c[6]}" -ne 0 ]; then
			echo "descriptors at $point of life $LIFE: $(fmt_fds "${SAMPLE[$LIFE.$point]}"), life 2: $(fmt_fds "${SAMPLE[2.$point]}")" >&2
			bad=1
		fi
	done
done
[ $bad = 0 ] || fail "resource use changed between lives"
echo "descriptors other than RocksDB's: $((a[1] - a[5])) at the end of every life, none on a deleted file"
log "soak passed: $((LIVES - 1)) kills, $PRODUCED records"
