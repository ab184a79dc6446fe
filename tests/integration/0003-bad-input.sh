#!/bin/bash
# Bad input end to end:
#  - bad records produced between good ones into the interactions topic,
#    as JSON (invalid JSON, not an object, missing field, wrong types,
#    duplicate keys, bad UTF-8, empty or long user_id, negative duration,
#    a null value) and in the Confluent framing (bad magic byte, unknown
#    schema id, short frame, truncated and malformed Avro, trailing bytes,
#    plain Avro without the frame, invalid rules inside good Avro): after
#    `activityd --once`, the dead-letter topic holds exactly those records,
#    with their original key and value bytes and headers naming the exact
#    reason, source topic, partition and offset; every good record is
#    counted (query equals the reference on the good rows);
#  - a 4 MB value (the largest the local broker keeps: about 5 MB per
#    partition) is a dead letter "value too large" like any other, cut to
#    its first 256 KiB with headers truncated=true and original.size;
#  - a 10 MB value, accepted by the broker but deleted by its retention as
#    soon as another record follows it: --once still finishes;
#  - bad CSV rows in `load` are reported with their line numbers and
#    skipped; a broken config is refused with FILE:LINE: and the reason.
set -euo pipefail
. "${SRC_DIR:?}/tests/integration/lib.sh"
it_init

gen_sample 3000 300 800 5
EV=$GEN_EVENTS
head -n 1501 "$EV" >"$T/first.csv"
{ head -1 "$EV"; tail -n +1502 "$EV"; } >"$T/second.csv"

broker_start --partitions 4 --topics interactions,user-metadata,activity.sessions,activity.metrics,activity.dlq,c.interactions,c.user-metadata,c.sessions,c.metrics,c.dlq

# The bad records: DIR/KEY holds the value bytes (no file: a null value),
# DIR/manifest lines "KEY<tab>reason". Avro is written by hand, and checked
# against the loader's own encoding of the same row.
python3 - "$T" <<'EOF'
import json, os, sys

out = sys.argv[1]

def zz(n):
    n = (n << 1) ^ (n >> 63)
    b = bytearray()
    while True:
        if n < 0x80:
            b.append(n)
            return bytes(b)
        b.append((n & 0x7f) | 0x80)
        n >>= 7

def s(x):
    x = x.encode() if isinstance(x, str) else x
    return zz(len(x)) + x

def avro(user="u000001", ts=1677664800000, action="edit", page="p00001",
         dur=20000, app="6.0.0"):
    return s(user) + zz(ts) + s(action) + s(page) + zz(dur) + s(app)

def frame(body, schema_id=1):
    return b"\x00" + schema_id.to_bytes(4, "big") + body

def ev(**kw):
    e = {"user_id": "u000001", "timestamp": 1677664800000,
         "action_type": "edit", "page_id": "p00001", "duration_ms": 20000,
         "app_version": "6.0.0"}
    e.update(kw)
    return e

def js(o):
    return json.dumps(o, separators=(",", ":")).encode()

good = js(ev())
cases = {
    "json": [
        (b"not json at all", "invalid json"),
        (b"[1,2,3]", "json value is not an object"),
        (good[:-1] + b',"user_id":"u2"}', "invalid json"),
        (good + b" trailing", "invalid json"),
        (good.replace(b"u000001", b"u\xff01"), "invalid json"),
        (js(ev(user_id="")), "empty user_id"),
        (js(ev(user_id="x" * 129)), "user_id longer than 128 bytes"),
        (js(ev(duration_ms=-5)), "negative duration_ms"),
        (js({k: v for k, v in ev().items() if k != "duration_ms"}),
         "missing field: duration_ms"),
        (js(ev(timestamp="yesterday")), "wrong type: timestamp"),
        (js(ev(timestamp="2023-02-30 10:00:00")), "wrong type: timestamp"),
        (js(ev(duration_ms="20000")), "wrong type: duration_ms"),
        (None, "null value"),
    ],
    "confluent": [
        (b"\x01" + frame(avro())[1:], "bad magic byte"),
        (avro(), "bad magic byte"),            # plain Avro, no frame
        (frame(avro(), 7), "unknown schema id"),
        (b"\x00\x00\x00", "truncated confluent frame"),
        (frame(avro())[:-2], "truncated avro"),
        (frame(avro()) + b"\x00", "trailing bytes"),
        (frame(b"\xff" * 10 + b"\x01"), "malformed avro"),
        (frame(avro(user="")), "empty user_id"),
        (frame(avro(dur=-5)), "negative duration_ms"),
        (frame(avro(user=b"u\xff01")), "invalid utf-8: user_id"),
        (None, "null value"),
    ],
}
for fmt, lst in cases.items():
    d = "%s/bad-%s" % (out, fmt)
    os.mkdir(d)
    with open(d + "/manifest", "w") as m:
        for i, (value, reason) in enumerate(lst):
            key = "bad-%s-%02d" % (fmt, i)
            m.write("%s\t%s\n" % (key, reason))
            if value is not None:
                with open("%s/%s" % (d, key), "wb") as f:
                    f.write(value)
with open(out + "/sample.avro", "wb") as f:
    f.write(frame(avro()))
EOF

# The hand-written Avro is what the loader writes for the same row.
printf '%s\n' "$(head -1 "$EV")" "u000001,2023-03-01 10:00:00,edit,p00001,20000,6.0.0" \
    >"$T/sample.csv"
expect_rc 0 "$CTL" load --kind interactions --csv "$T/sample.csv" \
    --bootstrap "$BOOTSTRAP" --topic sample --format confluent
kcat -C -b "$BOOTSTRAP" -t sample -e -o beginning -q -c 1 -f '%s' \
    >"$T/sample.got"
cmp "$T/sample.avro" "$T/sample.got" ||
	fail "hand-written Confluent Avro differs from the loader's:" \
	    "$(od -An -tx1 "$T/sample.avro") vs $(od -An -tx1 "$T/sample.got")"

# produce_bad DIR TOPIC: every record of DIR, one message each.
produce_bad() {
	local key reason
	while IFS=$'\t' read -r key reason; do
		if [ -f "$1/$key" ]; then
			kcat -P -b "$BOOTSTRAP" -t "$2" -k "$key" "$1/$key"
		else
			printf '%s\t\n' "$key" |
			    kcat -P -b "$BOOTSTRAP" -t "$2" -K '\t' -Z
		fi
	done <"$1/manifest"
}

# load KIND CSV TOPIC FORMAT: all rows must load.
load() {
	load_csv "$@" $(($(wc -l <"$2") - 1)) 0
}

# A dead letter keeps at most the first 256 KiB of a value, with headers
# saying it was cut and how big it was: what is left can always be
# produced under the producer's default 1 MB limit.
DLQ_VALUE_MAX=262144

# check_dlq DIR TOPIC DLQ: the dead letters are exactly DIR's records, with
# their key, value and position in TOPIC.
check_dlq() {
	local dir=$1 topic=$2 dlq=$3 key p o size reason
	kcat -C -b "$BOOTSTRAP" -t "$topic" -e -o beginning -q \
	    -f '%k\t%p\t%o\n' | awk -F'\t' '$1 ~ /^bad-/' | sort >"$T/pos"
	expect_eq "bad records in $topic" "$(wc -l <"$T/pos")" \
	    "$(wc -l <"$dir/manifest")"
	while IFS=$'\t' read -r key reason; do
		size=-1
		[ ! -f "$dir/$key" ] || size=$(stat -c %s "$dir/$key")
		printf '%s\t%s\t%s\n' "$key" "$reason" "$size"
	done <"$dir/manifest" | sort | join -t $'\t' - "$T/pos" |
	    awk -F'\t' -v t="$topic" -v max=$DLQ_VALUE_MAX '{
		printf "%s\treason=%s,source.topic=%s,source.partition=%s," \
		    "source.offset=%s", $1, $2, t, $4, $5
		if ($3 > max)
			printf ",truncated=true,original.size=%s", $3
		printf "\n"
	    }' >"$T/dlq.want"
	kcat -C -b "$BOOTSTRAP" -t "$dlq" -e -o beginning -q -f '%k\t%h\n' |
	    sort >"$T/dlq.got"
	diff -u "$T/dlq.want" "$T/dlq.got" >"$T/diff" || {
		cat "$T/diff" >&2
		fail "dead letters of $topic (+) differ from the bad records (-)"
	}
	# The original bytes, one record at a time.
	kcat -C -b "$BOOTSTRAP" -t "$dlq" -e -o beginning -q -Z \
	    -f '%k\t%p\t%o\t%S\n' >"$T/dlq.pos"
	while IFS=$'\t' read -r key p o size; do
		if [ ! -f "$dir/$key" ]; then
			expect_eq "dead letter $key value size" "$size" -1
			continue
		fi
		kcat -C -b "$BOOTSTRAP" -t "$dlq" -p "$p" -o "$o" -c 1 -e -q \
		    -f '%s' >"$T/value"
		head -c $DLQ_VALUE_MAX "$dir/$key" | cmp -s - "$T/value" ||
			fail "dead letter $key: value differs from the original" \
			    "($(stat -c %s "$T/value") bytes)"
	done <"$T/dlq.pos"
	echo "$dlq: $(wc -l <"$T/dlq.got") dead letters as expected"
}

# check_good STATE: query equals the reference on the good rows.
check_good() {
	local what
	mkdir -p "$T/ref"
	$NAIVE dau mau sessions --events "$EV" --out-dir "$T/ref"
	for what in dau mau; do
		"$CTL" query "$what" --state "$1" --tz UTC --format csv \
		    >"$T/got.$what"
		compare_active "$what" "$T/got.$what" "$T/ref/$what"
	done
	"$CTL" query sessions --state "$1" --format csv >"$T/got.sessions"
	diff -u "$T/ref/sessions" "$T/got.sessions" >"$T/diff" || {
		head -20 "$T/diff" >&2
		fail "sessions (+) differ from the reference on the good rows (-)"
	}
}

# --- JSON -------------------------------------------------------------------

load metadata "$GEN_META" user-metadata json
load interactions "$T/first.csv" interactions json
produce_bad "$T/bad-json" interactions
load interactions "$T/second.csv" interactions json
write_config "$T/json.conf" "$T/state-json" \
    '[input]' 'format = json' 'metadata_format = json'
run_once "$T/json.conf" once-json
NBAD=$(wc -l <"$T/bad-json/manifest")
expect_eq "json records read" "$(log_field once-json records)" $((3000 + NBAD))
expect_eq "json dead letters" "$(log_field once-json dead_letters)" $NBAD
check_dlq "$T/bad-json" interactions activity.dlq
check_good "$T/state-json"

# --- Confluent framing --------------------------------------------------------

load metadata "$GEN_META" c.user-metadata confluent
load interactions "$T/first.csv" c.interactions confluent
produce_bad "$T/bad-confluent" c.interactions
load interactions "$T/second.csv" c.interactions confluent
write_config "$T/c.conf" "$T/state-c" \
    '[topics]' 'interactions = c.interactions' 'metadata = c.user-metadata' \
    'sessions = c.sessions' 'metrics = c.metrics' 'dlq = c.dlq' \
    '[input]' 'format = confluent' 'metadata_format = confluent'
run_once "$T/c.conf" once-c
NBAD=$(wc -l <"$T/bad-confluent/manifest")
expect_eq "confluent records read" "$(log_field once-c records)" \
    $((3000 + NBAD))
expect_eq "confluent dead letters" "$(log_field once-c dead_letters)" $NBAD
check_dlq "$T/bad-confluent" c.interactions c.dlq
check_good "$T/state-c"

# --- bad CSV rows in load -------------------------------------------------------

{
	head -n 3 "$EV"
	printf '%s\n' 'u1,2023-01-01 00:00:00,edit,p1,5' \
	    'u2,2023-01-01 00:00:00,edit,p1,-5,1.0.0' \
	    '"u3"x,2023-01-01 00:00:00,edit,p1,5,1.0.0' \
	    'u4,2023-01-01 25:00:00,edit,p1,5,1.0.0'
	sed -n 4,5p "$EV"
	printf '"u5,2023-01-01 00:00:00,edit,p1,5,1.0.0\n'
} >"$T/badrows.csv"
expect_rc 0 "$CTL" load --kind interactions --csv "$T/badrows.csv" \
    --bootstrap "$BOOTSTRAP" --topic badrows
expect_eq "load of bad rows" "$(cat "$T/out")" \
    "loaded 4 records, rejected 5 rows"
B=$T/badrows.csv
diff -u - <(grep "^$B:" "$T/err") <<EOF || fail "bad rows reported (+)"
$B:4: expected 6 fields, got 5
$B:5: negative duration_ms
$B:6: unexpected character after closing quote
$B:7: bad timestamp "2023-01-01 25:00:00"
$B:10: unterminated quoted field
EOF
expect_eq "records of the bad-rows file" "$(count_records badrows)" 4

# --- broken config --------------------------------------------------------------

write_config "$T/bad.conf" "$T/state-bad" '[session]' 'grace = 1m' 'gap = 10x'
expect_rc 2 "$DAEMON" -c "$T/bad.conf" --check-config
expect_eq "broken config" "$(cat "$T/err")" \
    "activityd: $T/bad.conf:7: [session] gap: \"10x\" is not a duration (use ms, s, m, h, d)"
expect_eq "stdout of a broken --check-config" "$(cat "$T/out")" ""
expect_rc 2 "$DAEMON" -c "$T/bad.conf" --once
[ ! -e "$T/state-bad" ] || fail "a broken config created the state directory"

# --- a 4 MB value -------------------------------------------------------------------

mkdir "$T/bad-big"
python3 -c '
import sys
pad = "x" * (4 * 1024 * 1024)
sys.stdout.write("{\"user_id\":\"u000001\",\"timestamp\":1677664800000,"
                 "\"action_type\":\"edit\",\"page_id\":\"p1\","
                 "\"duration_ms\":20000,\"app_version\":\"" + pad + "\"}")' \
    >"$T/bad-big/bad-big-4mb"
printf 'bad-big-4mb\tvalue too large\n' >"$T/bad-big/manifest"
load interactions "$T/first.csv" big.interactions json
kcat -P -b "$BOOTSTRAP" -t big.interactions -k bad-big-4mb \
    -X message.max.bytes=8000000 "$T/bad-big/bad-big-4mb"
write_config "$T/big.conf" "$T/state-big" \
    '[topics]' 'interactions = big.interactions' 'metadata = c.user-metadata' \
    'sessions = big.sessions' 'metrics = big.metrics' 'dlq = big.dlq' \
    '[input]' 'format = json' 'metadata_format = confluent'
IT_ONCE_TIMEOUT=120 run_once "$T/big.conf" once-big
expect_eq "records read with a 4 MB value" "$(log_field once-big records)" 1501
check_dlq "$T/bad-big" big.interactions big.dlq

# --- a 10 MB value the broker drops -----------------------------------------------

# The mock broker takes it, but deletes it (and the record after it) from
# the partition when the next record comes: the partition's end offset is
# then past records nobody can read.
python3 -c 'import sys; sys.stdout.write("x" * (10 * 1024 * 1024))' \
    >"$T/ten-mb"
kcat -P -b "$BOOTSTRAP" -t gone.interactions -p 0 -k bad-10mb \
    -X message.max.bytes=20000000 "$T/ten-mb"
head -n 3 "$EV" | tail -n 2 | python3 -c '
import json, sys
for line in sys.stdin:
    u, ts, a, p, d, v = line.rstrip("\n").split(",")
    print(json.dumps({"user_id": u, "timestamp": ts, "action_type": a,
                      "page_id": p, "duration_ms": int(d), "app_version": v}))
' >"$T/two.json"
head -1 "$T/two.json" | kcat -P -b "$BOOTSTRAP" -t gone.interactions -p 0
tail -1 "$T/two.json" | kcat -P -b "$BOOTSTRAP" -t gone.interactions -p 1
low=$(kcat -Q -b "$BOOTSTRAP" -t gone.interactions:0:-2 | awk '{print $NF}')
high=$(kcat -Q -b "$BOOTSTRAP" -t gone.interactions:0:-1 | awk '{print $NF}')
echo "gone.interactions partition 0 keeps offsets $low..$high"
write_config "$T/gone.conf" "$T/state-gone" \
    '[topics]' 'interactions = gone.interactions' 'metadata = c.user-metadata' \
    'sessions = gone.sessions' 'metrics = gone.metrics' 'dlq = gone.dlq' \
    '[input]' 'format = json' 'metadata_format = confluent'
IT_ONCE_TIMEOUT=30 run_once "$T/gone.conf" once-gone
expect_eq "records read after retention" "$(log_field once-gone records)" \
    $((high - low + 1))
echo "ok"
