#!/bin/bash
# Users placed by librdkafka's default partitioner need no owners table
# (its memory is 0). The same events loaded again with the Java client's
# partitioner put users in a second partition: the daemon notices that
# the placement is broken, tracks every user's partition, finds the
# overlap, and DAU and MAU stay exactly what they were (the union of the
# partitions' sets, not their sum).
set -euo pipefail
. "${SRC_DIR:?}/tests/integration/lib.sh"
it_init

EVENTS=6000
broker_start --partitions 4
gen_sample "$EVENTS" 600 800 5
load_csv metadata "$GEN_META" user-metadata avro 600 0
load_csv interactions "$GEN_EVENTS" interactions avro "$EVENTS" 0
write_config "$T/d.conf" "$T/state" '[state]' 'commit_interval = 100ms' \
	'[admin]' 'listen = 127.0.0.1:0' '[log]' 'level = debug'

"$DAEMON" -c "$T/d.conf" >"$T/d.out" 2>"$T/d.err" &
DPID=$!
IT_PIDS+=("$DPID")
wait_admin "$T/d.err" "$DPID"
URL=http://$ADMIN

wait_consumed "$T/state" "$EVENTS" "$DPID"
admin_settled "$URL" mau "$T/mau1"
admin_settled "$URL" dau "$T/dau1"
[ "$(wc -l <"$T/mau1")" -eq 13 ] || fail "mau: $(cat "$T/mau1")"
expect_eq "owners table while placed by crc32" "$(state_memory "$URL" owners)" 0
grep -q 'msg="placement check" topic=interactions partitions=4' "$T/d.err" ||
	fail "no placement check line"
! grep -q 'not placed' "$T/d.err" || fail "placement broken by crc32 keys"

expect_rc 0 "$CTL" load --kind interactions --csv "$GEN_EVENTS" \
    --bootstrap "$BOOTSTRAP" --topic interactions --format avro \
    -X partitioner=murmur2
wait_consumed "$T/state" $((EVENTS * 2)) "$DPID"
for i in $(seq 100); do
	grep -q 'more than one input partition' "$T/d.err" && break
	[ "$i" -lt 100 ] || fail "no overlap found: $(grep -c . "$T/d.err") log lines"
	sleep 0.1
done
grep -q 'users are not placed by a known partitioner' "$T/d.err" ||
	fail "placement not reported broken"
admin_settled "$URL" mau "$T/mau2"
admin_settled "$URL" dau "$T/dau2"
cmp "$T/mau1" "$T/mau2" || fail "MAU changed by events in a second partition"
cmp "$T/dau1" "$T/dau2" || fail "DAU changed by events in a second partition"
echo "MAU and DAU unchanged ($(($(wc -l <"$T/dau1") - 1)) days) with every user in two partitions"
