# Shared helpers of the integration tests; sourced, not run (the ctest glob
# takes only NNNN-*.sh). The sourcing script sets `set -euo pipefail`.
#
#   stop_pid PID             SIGTERM, then SIGKILL after 10 s
#   it_init                  temp dir $T, cleanup trap, $CTL $DAEMON $NAIVE;
#                            at exit, the pids in IT_PIDS and the broker are
#                            stopped and $T removed (kept if IT_KEEP is set)
#   broker_start [ARGS...]   activityctl broker ARGS; sets $BOOTSTRAP, $BPID
#   answer LINE / bctl LINE  a broker control command (--control $T/broker.ctl)
#   mval NAME [LABEL]        a value of /metrics at $ADMIN
#   wait_admin LOG PID       the daemon's admin address into $ADMIN
#   write_config FILE STATE [INI...]   minimal daemon config plus lines
#   run_once CONF NAME       activityd -c CONF --once, must exit 0
#   gen_sample EVENTS METADATA USERS SEED   sample CSVs, $GEN_EVENTS $GEN_META
#   load_csv KIND CSV TOPIC FORMAT LOADED REJECTED   activityctl load
#   load_sample EVENTS METADATA USERS SEED   generate into $T/data, load both
#   log_field NAME FIELD     a number of the daemon's "backfill done" line
#   count_records TOPIC      records in a topic (any bytes in them)
#   compare_active WHAT QUERY_CSV NAIVE_CSV   exact columns, HLL within 3 SE

CTL=${BUILD_DIR:?}/activityctl
DAEMON=${BUILD_DIR:?}/activityd
NAIVE="python3 ${SRC_DIR:?}/tests/reference/naive.py"
T=
BPID=
IT_PIDS=()	# more background processes to stop at exit

# The daemon must finish its backfill within this (ASan makes it ~3x slower).
IT_ONCE_TIMEOUT=${IT_ONCE_TIMEOUT:-120}

# stop_pid PID: SIGTERM, and SIGKILL if it is still there after 10 s.
stop_pid() {
	local i
	kill "$1" 2>/dev/null || return 0
	for i in $(seq 100); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

it_cleanup() {
	local pid
	for pid in "${IT_PIDS[@]}" $BPID; do
		stop_pid "$pid"
	done
	if [ -n "$T" ]; then
		if [ -n "${IT_KEEP:-}" ]; then
			echo "kept $T" >&2
		else
			rm -rf "$T"
		fi
	fi
}

it_init() {
	T=$(mktemp -d)
	trap it_cleanup EXIT
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" == "$3" ] || fail "$1: got '$2', want '$3'"
}

# expect_rc WANT CMD...: output to $T/out and $T/err.
expect_rc() {
	local want=$1 rc=0
	shift
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -eq "$want" ] ||
		fail "exit $rc, want $want: $* ($(head -c 2000 "$T/err"))"
}

# Starts a broker and reads its bootstrap line (through a FIFO, so that
# nothing waits on a buffered file).
broker_start() {
	local line
	mkfifo "$T/broker.fifo"
	"$CTL" broker "$@" >"$T/broker.fifo" 2>"$T/broker.err" &
	BPID=$!
	exec 3<"$T/broker.fifo"
	read -r -t 30 line <&3 ||
		fail "no bootstrap line from the broker: $(cat "$T/broker.err")"
	# One address per broker (--brokers N).
	[[ "$line" =~ ^bootstrap=127\.0\.0\.1:[0-9]+(,127\.0\.0\.1:[0-9]+)*$ ]] ||
		fail "first broker line: '$line'"
	BOOTSTRAP=${line#bootstrap=}
}

# With `broker_start ... --control "$T/broker.ctl"`:
# answer LINE: sends one control command and leaves the broker's answer
# in $ANSWER. Answers come in order, so the one after those already there
# is this command's. (awk, not grep: no answer yet is not a failure under
# pipefail.)
answer() {
	local i n
	n=$(awk '/control: / { n++ } END { print n + 0 }' "$T/broker.err")
	printf '%s\n' "$1" >"$T/broker.ctl"
	for i in $(seq 100); do
		ANSWER=$(awk -v k=$((n + 1)) '/control: / && ++n == k' \
			"$T/broker.err")
		[ -n "$ANSWER" ] && return 0
		sleep 0.1
	done
	fail "no answer to broker control '$1'"
}

# bctl LINE: a command that must be answered "ok"; its result (what
# follows the command, for `pending`) is left in $BCTL.
bctl() {
	answer "$*"
	case $ANSWER in
	*"control: ok: $*") BCTL= ;;
	*"control: ok: $*: "*) BCTL=${ANSWER##*: } ;;
	*) fail "broker control '$*': $ANSWER" ;;
	esac
}

# mval NAME [LABEL]: a value of the live daemon's /metrics (at $ADMIN),
# summed over the series whose labels contain LABEL.
mval() {
	{ curl -sf "http://$ADMIN/metrics" || true; } |
	    awk -v n="$1" -v l="${2:-}" '
		{ name = $1; sub(/\{.*/, "", name) }
		name == n && index($1, l) { s += $2 }
		END { print s + 0 }'
}

# wait_mval NAME MIN PID WHAT: waits (30 s at most) until the metric NAME
# of the daemon at $ADMIN is at least MIN; fails with WHAT if it is not, or
# at once if the daemon PID (when not empty) is gone.
wait_mval() {
	local i
	for i in $(seq 300); do
		[ "$(mval "$1")" -ge "$2" ] && return 0
		[ -z "$3" ] || kill -0 "$3" 2>/dev/null ||
			fail "$4: the daemon died"
		sleep 0.1
	done
	fail "$4 in 30 s"
}

# wait_admin LOG PID: waits (30 s at most) for the daemon's "admin
# listening" line in LOG and sets $ADMIN to its address (HOST:PORT).
wait_admin() {
	local i
	ADMIN=
	for i in $(seq 300); do
		ADMIN=$(sed -n 's/.*msg="admin listening" address=\([^ ]*\).*/\1/p' \
		    "$1")
		[ -n "$ADMIN" ] && return 0
		kill -0 "$2" 2>/dev/null || fail "daemon died: $(tail -5 "$1")"
		sleep 0.1
	done
	fail "no 'admin listening' line in 30 s: $(tail -5 "$1")"
}

# write_config FILE STATE_DIR [LINE...]: brokers and state, then the lines.
write_config() {
	local file=$1 state=$2
	shift 2
	{
		printf '[kafka]\nbootstrap.servers = %s\n' "$BOOTSTRAP"
		printf '[state]\ndir = %s\n' "$state"
		printf '%s\n' "$@"
	} >"$file"
}

# run_once CONF NAME: the daemon's stderr is kept in $T/NAME.err.
run_once() {
	local rc=0
	timeout -k 10 "$IT_ONCE_TIMEOUT" "$DAEMON" -c "$1" --once \
	    >"$T/$2.out" 2>"$T/$2.err" || rc=$?
	[ "$rc" -eq 0 ] ||
		fail "activityd --once ($2) exited $rc: $(tail -20 "$T/$2.err")"
}

# gen_sample EVENTS METADATA USERS SEED: activityctl generate into $T/gen;
# the files are $GEN_EVENTS and $GEN_META.
gen_sample() {
	"$CTL" generate --events "$1" --metadata "$2" --users "$3" --seed "$4" \
	    --out "$T/gen"
	GEN_EVENTS=$T/gen/user_interactions_sample.csv
	GEN_META=$T/gen/user_metadata_sample.csv
}

# load_csv KIND CSV TOPIC FORMAT LOADED REJECTED: activityctl load, with
# its report in $T/out and $T/err.
load_csv() {
	expect_rc 0 "$CTL" load --kind "$1" --csv "$2" --bootstrap "$BOOTSTRAP" \
	    --topic "$3" --format "$4"
	expect_eq "load $2 as $4 to $3" "$(tail -1 "$T/out")" \
	    "loaded $5 records, rejected $6 rows"
}

# load_sample EVENTS METADATA USERS SEED: generated sample in $T/data,
# metadata and interactions loaded (Avro) to their default topics.
load_sample() {
	"$CTL" generate --events "$1" --metadata "$2" --users "$3" --seed "$4" \
	    --out "$T/data" >/dev/null
	"$CTL" load --kind metadata --csv "$T/data/user_metadata_sample.csv" \
	    --bootstrap "$BOOTSTRAP" --topic user-metadata >/dev/null 2>&1 ||
		fail "loading the metadata sample"
	"$CTL" load --kind interactions \
	    --csv "$T/data/user_interactions_sample.csv" \
	    --bootstrap "$BOOTSTRAP" --topic interactions >/dev/null 2>&1 ||
		fail "loading the interactions sample"
}

# consumed STATE: the offsets of interactions stored in STATE, summed over
# the partitions (a read-only open, beside a running daemon).
consumed() {
	"$CTL" state inspect --state "$1" |
		awk -F'|' '$2 ~ /^ *interactions$/ { s += $4 } END { print s + 0 }'
}

# wait_consumed STATE N [PID]: until N records are stored as consumed (30
# s at most), failing early if the daemon PID is gone.
wait_consumed() {
	local i
	for i in $(seq 300); do
		[ "$(consumed "$1")" -eq "$2" ] && return 0
		[ -z "${3:-}" ] || kill -0 "$3" 2>/dev/null ||
			fail "daemon died before consuming $2 records"
		sleep 0.1
	done
	fail "consumed $(consumed "$1") of $2 records"
}

# admin_settled URL WHAT OUT: `activityctl query WHAT` through the admin
# API at URL into OUT (CSV), once two answers in a row agree.
admin_settled() {
	local i
	: >"$T/settled.prev"
	for i in $(seq 50); do
		"$CTL" --admin "$1" query "$2" --format csv >"$3"
		cmp -s "$T/settled.prev" "$3" && return 0
		cp "$3" "$T/settled.prev"
		sleep 0.3
	done
	fail "query $2 --admin does not settle"
}

# state_memory URL KIND: activityd_state_memory_bytes{kind=KIND} from the
# daemon's /metrics at URL (nothing if it is not reported).
state_memory() {
	curl -sf "$1/metrics" | awk -v k="$2" '
		$1 == "activityd_state_memory_bytes{kind=\"" k "\"}" { print $2 }'
}

# log_field NAME FIELD: a field of the daemon's "backfill done" line in
# $T/NAME.err (from run_once).
log_field() {
	sed -n "s/.*msg=\"backfill done\".* $2=\([0-9]*\).*/\1/p" "$T/$1.err"
}

# Records in a topic, counted by a fixed line per record: keys and values
# may hold newlines or raw Avro bytes.
count_records() {
	kcat -C -b "$BOOTSTRAP" -t "$1" -e -o beginning -q -f 'r\n' | wc -l
}

# compare_active WHAT QUERY_CSV NAIVE_CSV
#
# A DAU/MAU CSV of `activityctl query` against the reference: every column
# but the last (periods, dimension values, exact counts) must be equal;
# approx_active_users must be a count within 3 standard errors of
# HyperLogLog with 2^14 registers (1.04 / 128) of the exact count where that
# is at least 1000 (smaller counts are only checked for their form).
# Prints how many rows were compared, and the difference on failure.
compare_active() {
	local what=$1 q=$2 n=$3 rows checked
	if ! diff -u <(sed 's/,[^,]*$//' "$n") <(sed 's/,[^,]*$//' "$q") \
	    >"$T/diff"; then
		head -40 "$T/diff" >&2
		fail "$what: query (+) differs from the reference (-)" \
		    "in the exact columns ($(grep -c '^[-+][^-+]' "$T/diff")" \
		    "lines)"
	fi
	rows=$(($(wc -l <"$q") - 1))
	[ "$rows" -gt 0 ] || fail "$what: no rows"
	checked=$(tail -n +2 "$q" | sed -E 's/.*,([^,]*),([^,]*)$/\1 \2/' |
	    awk -v what="$what" '
		$2 !~ /^[0-9]+$/ {
			printf "%s: approx \"%s\" is not a count\n", what, $2 \
			    > "/dev/stderr"
			bad++
			next
		}
		$1 >= 1000 {
			n++
			tol = 3 * 1.04 / 128 * $1
			if ($2 - $1 > tol || $1 - $2 > tol) {
				printf "%s: approx %d, exact %d: off by more " \
				    "than %.1f\n", what, $2, $1, tol \
				    > "/dev/stderr"
				bad++
			}
		}
		END { print n + 0; exit (bad > 0) }') ||
		fail "$what: approx_active_users out of bounds"
	echo "$what: $rows rows equal, $checked approximations within 3 SE"
}
