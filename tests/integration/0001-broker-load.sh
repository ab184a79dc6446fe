#!/bin/bash
# activityctl broker, generate and load end to end:
#  - generate is deterministic and writes exact headers and row counts;
#  - broker prints exactly one bootstrap line, serves kcat and the loader,
#    goes down on SIGUSR1, up on SIGUSR2, exits 0 on SIGTERM;
#  - load reports each bad row as FILE:LINE: reason (line numbers count
#    the physical lines of quoted fields), loads every good row keyed by
#    user_id, ends with "loaded N records, rejected M rows", and uses the
#    exit codes of docs/cli.md; --sort produces in timestamp order.
set -euo pipefail

. "${SRC_DIR:?}/tests/integration/lib.sh"
it_init

# --- generate ---------------------------------------------------------

EVENTS=3000 META=400 USERS=1000
gen() {
	"$CTL" generate --events $EVENTS --metadata $META --users $USERS \
	    --seed "$1" --out "$2"
}
gen 7 "$T/a"
gen 7 "$T/b"
gen 8 "$T/c"
I=user_interactions_sample.csv
M=user_metadata_sample.csv
for f in $I $M; do
	expect_eq "same seed, same $f" "$(md5sum <"$T/a/$f")" \
	    "$(md5sum <"$T/b/$f")"
	[ "$(md5sum <"$T/a/$f")" != "$(md5sum <"$T/c/$f")" ] ||
		fail "seeds 7 and 8 wrote the same $f"
done
expect_eq "interactions header" "$(head -1 "$T/a/$I")" \
    "user_id,timestamp,action_type,page_id,duration_ms,app_version"
expect_eq "metadata header" "$(head -1 "$T/a/$M")" \
    "user_id,join_date,country,device_type,subscription_type"
expect_eq "interaction rows" "$(wc -l <"$T/a/$I")" $((EVENTS + 1))
expect_eq "metadata rows" "$(wc -l <"$T/a/$M")" $((META + 1))
expect_eq "distinct metadata users" \
    "$(tail -n +2 "$T/a/$M" | cut -d, -f1 | sort -u | wc -l)" $META
# Every row has the documented shape, and user ids stay within 1..USERS.
expect_eq "malformed interaction rows" "$(tail -n +2 "$T/a/$I" |
    grep -cvE '^u00(0[0-9]{3}|1000),2023-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9],(page_view|edit|create|delete|share),p[0-9]{5},[0-9]+,[5-7]\.[0-9]\.[0-9]$' || true)" 0
expect_eq "malformed metadata rows" "$(tail -n +2 "$T/a/$M" |
    grep -cvE '^u00(0[0-9]{3}|1000),202[0-3]-[01][0-9]-[0-3][0-9],(US|UK|CA|AU|DE|FR|JP|IN|BR|MX),(iOS|Android|Web|Windows|macOS|Linux),(free|basic|premium|enterprise)$' || true)" 0
expect_eq "u000000 never drawn" "$(grep -c '^u000000,' "$T/a/$I" || true)" 0
expect_rc 2 "$CTL" generate --metadata 11 --users 10 --out "$T/x"
expect_rc 2 "$CTL" generate --events 1

# --- command line ------------------------------------------------------

expect_rc 2 "$CTL" no-such-command
grep -q "unknown command 'no-such-command'" "$T/err" || fail "unknown command"
expect_rc 2 "$CTL" load --no-such-flag
expect_rc 2 "$CTL"
expect_rc 0 "$CTL" --help
cp "$T/out" "$T/help"
for cmd in broker generate load; do
	grep -q "^  $cmd " "$T/help" || fail "--help lacks $cmd"
	expect_rc 0 "$CTL" $cmd --help
	grep -q "^usage: activityctl $cmd" "$T/out" || fail "$cmd --help"
done

# --- broker -------------------------------------------------------------

broker_start --partitions 4
expect_eq "interactions partitions" "$(kcat -L -b "$BOOTSTRAP" \
    -t interactions | grep -c '^    partition ')" 4

# --- load: bad rows -----------------------------------------------------

# The generated file with bad rows spliced in after data row 100 (file
# line 101), so that the numbers of later rows must count every line.
{
	head -n 101 "$T/a/$I"
	printf '%s\n' \
	    'u1,2023-13-01 00:00:00,edit,p1,100,1.0.0' \
	    'u2,2023-01-01 00:00:00,edit,p1,-5,1.0.0' \
	    ',2023-01-01 00:00:00,edit,p1,5,1.0.0' \
	    'u3,2023-01-01 00:00:00,edit,p1' \
	    '"u4,multi' \
	    'line",2023-01-01 00:00:01,"say ""hi""",p1,5,1.0.0' \
	    'u5,2023-01-01 00:00:00,edit,p1,12abc,1.0.0' \
	    "$(printf 'x%.0s' {1..129}),2023-01-01 00:00:00,edit,p1,5,1.0.0" \
	    'u6,2023-02-30 00:00:00,edit,p1,5,1.0.0' \
	    '"u7"x,2023-01-01 00:00:00,edit,p1,5,1.0.0'
	tail -n +102 "$T/a/$I"
	printf '"u8,2023-01-01 00:00:00,edit,p1,5,1.0.0\n'	# to EOF
} >"$T/bad.csv"
B=$T/bad.csv
LAST=$((EVENTS + 12))	# header, data, 10 spliced lines, the last
expect_rc 0 "$CTL" load --kind interactions --csv "$B" \
    --bootstrap "$BOOTSTRAP" --topic interactions
expect_eq "load summary" "$(tail -1 "$T/out")" \
    "loaded $((EVENTS + 1)) records, rejected 9 rows"
expect_eq "stdout lines" "$(wc -l <"$T/out")" 1
grep -E "^$B:[0-9]+: " "$T/err" >"$T/rejects" || true
cat >"$T/want" <<EOF
$B:102: bad timestamp "2023-13-01 00:00:00"
$B:103: negative duration_ms
$B:104: empty user_id
$B:105: expected 6 fields, got 4
$B:108: bad duration_ms "12abc"
$B:109: user_id longer than 128 bytes
$B:110: bad timestamp "2023-02-30 00:00:00"
$B:111: unexpected character after closing quote
$B:$LAST: unterminated quoted field
EOF
diff -u "$T/want" "$T/rejects" || fail "reported bad rows differ"
expect_eq "records in interactions" "$(count_records interactions)" \
    $((EVENTS + 1))

# The keys are the user ids: the clean file's keys, as a multiset.
expect_rc 0 "$CTL" load --kind interactions --csv "$T/a/$I" \
    --bootstrap "$BOOTSTRAP" --topic clean
expect_eq "clean summary" "$(cat "$T/out")" \
    "loaded $EVENTS records, rejected 0 rows"
if grep -q "has deleted" "$T/err"; then fail "drop warning without drops"; fi
# The same through standard input, where rows are reported as "stdin".
printf 'x,2023-01-01 00:00:00,edit,p1,5,1.0.0\n' | cat "$T/a/$I" - |
    expect_rc 0 "$CTL" load --kind interactions --csv - \
    --bootstrap "$BOOTSTRAP" --topic stdin
expect_eq "stdin summary" "$(cat "$T/out")" \
    "loaded $((EVENTS + 1)) records, rejected 0 rows"
printf 'user_id,timestamp,action_type,page_id,duration_ms,app_version\nu1,x,edit,p1,5,1.0.0\n' |
    expect_rc 1 "$CTL" load --kind interactions --csv - \
    --bootstrap "$BOOTSTRAP" --topic stdin
expect_eq "stdin reject" "$(grep '^stdin:' "$T/err")" 'stdin:2: bad timestamp "x"'
expect_eq "keys of clean" \
    "$(kcat -C -b "$BOOTSTRAP" -t clean -e -o beginning -q -f '%k\n' |
    sort | md5sum)" "$(tail -n +2 "$T/a/$I" | cut -d, -f1 | sort | md5sum)"

# --- load: metadata as JSON, values carry their key -----------------------

expect_rc 0 "$CTL" load --kind metadata --csv "$T/a/$M" \
    --bootstrap "$BOOTSTRAP" --topic user-metadata --format json
expect_eq "metadata summary" "$(cat "$T/out")" \
    "loaded $META records, rejected 0 rows"
kcat -C -b "$BOOTSTRAP" -t user-metadata -e -o beginning -q \
    -f '%k\t%s\n' >"$T/meta.json"
expect_eq "metadata records" "$(wc -l <"$T/meta.json")" $META
expect_eq "metadata values naming another user" "$(awk -F'\t' \
    'index($2, "\"user_id\":\"" $1 "\"") == 0' "$T/meta.json" | wc -l)" 0

# --- load: --sort -------------------------------------------------------

# Timestamps must ascend within every partition (JSON shows them).
ts_order_breaks() {
	kcat -C -b "$BOOTSTRAP" -t "$1" -e -o beginning -q -f '%p %s\n' |
	    sed -E 's/^([0-9]+) .*"timestamp":([0-9]+).*/\1 \2/' |
	    awk '{ if ($1 in last && $2 < last[$1]) n++; last[$1] = $2 }
		 END { print n + 0 }'
}
expect_rc 0 "$CTL" load --kind interactions --csv "$T/a/$I" \
    --bootstrap "$BOOTSTRAP" --topic sorted --format json --sort
expect_eq "sorted summary" "$(cat "$T/out")" \
    "loaded $EVENTS records, rejected 0 rows"
expect_eq "sorted records" "$(count_records sorted)" $EVENTS
expect_eq "order breaks with --sort" "$(ts_order_breaks sorted)" 0
expect_rc 0 "$CTL" load --kind interactions --csv "$T/a/$I" \
    --bootstrap "$BOOTSTRAP" --topic unsorted --format json
[ "$(ts_order_breaks unsorted)" -gt 0 ] || fail "unsorted input came out sorted"
expect_rc 2 "$CTL" load --kind metadata --csv "$T/a/$M" \
    --bootstrap "$BOOTSTRAP" --topic m2 --sort

# --- load: records the broker dropped are reported -----------------------

# 200 000 uncompressed JSON events (~30 MB) overflow the mock's ~5 MB per
# partition of a 4-partition topic: the loader must say how many went.
"$CTL" generate --events 200000 --metadata 0 --out "$T/big"
expect_rc 0 "$CTL" load --kind interactions --csv "$T/big/$I" \
    --bootstrap "$BOOTSTRAP" --topic overflow --format json \
    -X compression.type=none
expect_eq "overflow summary" "$(cat "$T/out")" \
    "loaded 200000 records, rejected 0 rows"
dropped=$(sed -nE 's/.*the broker has deleted ([0-9]+) of the oldest records of overflow.*/\1/p' "$T/err")
[ -n "$dropped" ] && [ "$dropped" -gt 0 ] || fail "no drop warning: $(cat "$T/err")"
expect_eq "records kept" "$(count_records overflow)" $((200000 - dropped))

# --- load: exit codes ---------------------------------------------------

printf 'user_id,timestamp,action_type,page_id,duration_ms,app_version\n' \
    >"$T/none.csv"
printf 'u1,yesterday,edit,p1,5,1.0.0\n' >>"$T/none.csv"
expect_rc 1 "$CTL" load --kind interactions --csv "$T/none.csv" \
    --bootstrap "$BOOTSTRAP" --topic none
expect_eq "nothing loaded" "$(cat "$T/out")" "loaded 0 records, rejected 1 rows"
# A record the producer refuses is not loaded, is reported with its
# line, and fails the load.
{
	head -n 3 "$T/a/$I"
	printf 'u9,2023-01-01 00:00:00,edit,%s,5,1.0.0\n' "$(printf 'p%.0s' {1..1000})"
} >"$T/huge.csv"
expect_rc 1 "$CTL" load --kind interactions --csv "$T/huge.csv" \
    --bootstrap "$BOOTSTRAP" --topic huge -X message.max.bytes=1000 \
    -X batch.size=900
expect_eq "refused summary" "$(cat "$T/out")" "loaded 2 records, rejected 0 rows"
expect_eq "refused record" "$(grep "^$T/huge.csv:" "$T/err")" \
    "$T/huge.csv:4: produce: Broker: Message size too large"
printf 'user_id,when\nu1,x\n' >"$T/nohdr.csv"
expect_rc 1 "$CTL" load --kind interactions --csv "$T/nohdr.csv" \
    --bootstrap "$BOOTSTRAP" --topic none
grep -q "header lacks column timestamp" "$T/err" || fail "missing column"
expect_rc 1 "$CTL" load --kind interactions --csv "$T/missing.csv" \
    --bootstrap "$BOOTSTRAP" --topic none
expect_rc 2 "$CTL" load --kind sessions --csv "$T/a/$I" \
    --bootstrap "$BOOTSTRAP" --topic none
expect_rc 2 "$CTL" load --kind interactions --csv "$T/a/$I" \
    --bootstrap "$BOOTSTRAP" --topic none --format xml

# --- broker down and up -------------------------------------------------

kill -USR1 "$BPID"
sleep 0.5
expect_rc 1 "$CTL" load --kind interactions --csv "$T/a/$I" \
    --bootstrap "$BOOTSTRAP" --topic down -X message.timeout.ms=1500
grep -q "cannot reach broker" "$T/err" || fail "down broker: $(cat "$T/err")"
# A load started while the broker is down completes once it is back.
"$CTL" load --kind interactions --csv "$T/a/$I" --bootstrap "$BOOTSTRAP" \
    --topic later >"$T/later.out" 2>"$T/later.err" &
LPID=$!
sleep 2
kill -USR2 "$BPID"
wait "$LPID" || fail "load across down/up: $(cat "$T/later.err")"
expect_eq "load across down/up" "$(cat "$T/later.out")" \
    "loaded $EVENTS records, rejected 0 rows"
expect_eq "records after down/up" "$(count_records later)" $EVENTS
grep -q "SIGUSR1: brokers down" "$T/broker.err" || fail "no SIGUSR1 log"
grep -q "SIGUSR2: brokers up" "$T/broker.err" || fail "no SIGUSR2 log"

# --- broker stops on SIGTERM with status 0, nothing more on stdout ---------

kill -TERM "$BPID"
rc=0
wait "$BPID" || rc=$?
BPID=
expect_eq "broker exit status" $rc 0
extra=$(cat <&3)
expect_eq "broker stdout after the bootstrap line" "$extra" ""
echo "ok"
