#!/bin/bash
# What docs/RELIABILITY.md "Security" claims, against the built daemon:
#  - the admin API listens on loopback by default; any other address is
#    refused at start without a token file, and a token file others can
#    read is refused;
#  - off loopback every endpoint but /healthz wants the bearer token;
#  - request line + headers and body are bounded ([admin]
#    max_request_size), and so is every query parameter (128 bytes);
#  - POST /v1/snapshots takes only a plain name (1..64 of [A-Za-z0-9._-],
#    not starting with '.'): no '/', '..', absolute path, NUL or other byte;
#    a name whose path or staging path (NAME.tmp) exists in any form, a
#    symbolic link included, is refused and the link's target untouched;
#    a snapshot directory others can write to is refused;
#  - input fields are bounded: user_id 128 bytes, other strings 1024, a
#    record 64 KiB; longer ones are dead letters with the reason.
set -euo pipefail
. "${SRC_DIR:?}/tests/integration/lib.sh"
it_init

# --- defaults and refusals at start (no broker needed) ---
printf '[state]\ndir = %s/none\n' "$T" >"$T/min.conf"
expect_rc 0 "$DAEMON" -c "$T/min.conf" --check-config
grep -qx $'listen = 127.0.0.1:8080\t# default' "$T/out" ||
	fail "default listen: $(grep '^listen' "$T/out")"
grep -qx $'token_file = ""\t# default' "$T/out" ||
	fail "default token_file: $(grep '^token_file' "$T/out")"
for addr in 0.0.0.0:0 '[::]:0' 192.0.2.1:8080; do
	expect_rc 2 "$DAEMON" -c "$T/min.conf" -o "admin.listen=$addr" \
	    --check-config
	grep -q "is not loopback: set \[admin\] token_file" "$T/err" ||
		fail "listen $addr without a token: $(cat "$T/err")"
done
echo "admin: loopback by default; 0.0.0.0, [::], 192.0.2.1 refused without a token"

broker_start --partitions 2
TOKEN=t0k3n-$RANDOM$RANDOM
printf '%s\n' "$TOKEN" >"$T/token"
chmod 644 "$T/token"
write_config "$T/live.conf" "$T/state" '[state]' 'commit_interval = 100ms' \
	'[admin]' 'listen = 0.0.0.0:0' "token_file = $T/token" \
	'max_request_size = 4K' '[input]' 'format = json'
expect_rc 1 timeout 30 "$DAEMON" -c "$T/live.conf"
grep -q "admin token file $T/token: mode 0644 lets group or others access it; chmod 600 it" \
	"$T/err" || fail "token file 0644: $(tail -3 "$T/err")"
echo "admin: a token file others can read is refused"
chmod 600 "$T/token"

# live.sh's start_daemon: $T/live.conf, log in $T/live.err, waits for a
# partition.
: >"$T/live.err"
. "$SRC_DIR/tests/integration/live.sh"
start_daemon
PORT=$(sed -n 's/.*msg="admin listening" address=0\.0\.0\.0:\([0-9]*\) token=required.*/\1/p' \
    "$T/live.err")
[ -n "$PORT" ] || fail "no 'admin listening ... token=required' line"
URL=http://127.0.0.1:$PORT
AUTH="Authorization: Bearer $TOKEN"

# code METHOD PATH [CURL ARGS...]: the status code.
code() {
	local m=$1 p=$2
	shift 2
	curl -s -o "$T/body" -w '%{http_code}' -X "$m" "$@" "$URL$p" || true
}
expect_code() {
	local want=$1
	shift
	expect_eq "$*" "$(code "$@")" "$want"
}

# --- the token ---
for i in $(seq 100); do
	[ "$(code GET /readyz -H "$AUTH")" = 200 ] && break
	[ "$i" -lt 100 ] || fail "/readyz never 200: $(cat "$T/body")"
	sleep 0.2
done
expect_code 200 GET /healthz
for p in /readyz /metrics /v1/dau /v1/users/u1 /v1/sessions/top /nope; do
	expect_code 401 GET "$p"
	expect_code 401 GET "$p" -H "Authorization: Bearer wrong"
done
expect_code 401 POST /v1/snapshots -d '{"name":"x"}'
expect_code 200 GET /metrics -H "$AUTH"
echo "admin: 401 without the token or with a wrong one, on every endpoint but /healthz"

# --- sizes ---
big=$(head -c 5000 /dev/zero | tr '\0' a)
expect_code 400 GET /readyz -H "$AUTH" -H "X-Padding: $big"
expect_code 413 POST /v1/snapshots -H "$AUTH" -d "{\"name\":\"$big\"}"
expect_code 400 GET "/v1/dau?tz=$(head -c 129 /dev/zero | tr '\0' a)" -H "$AUTH"
grep -q 'longer than 128 bytes' "$T/body" || fail "long tz: $(cat "$T/body")"
expect_code 400 GET "/v1/users/$(head -c 129 /dev/zero | tr '\0' u)" -H "$AUTH"
echo "admin: headers and body over 4K refused (400, 413), parameters over 128 bytes (400)"

# --- snapshot names ---
snap() {
	code POST /v1/snapshots -H "$AUTH" -H 'Content-Type: application/json' \
	    --data-binary "$1"
}
long=$(head -c 65 /dev/zero | tr '\0' s)
for name in '../x' '..' '/tmp/x' 'a/b' '.hidden' '' 'x y' 'a\\b' \
    'caf\u00e9' 'a\u0000b' "$long" '%2e%2e'; do
	got=$(snap "{\"name\":\"$name\"}")
	expect_eq "snapshot name '$name'" "$got" 400
done
expect_eq "snapshot name as a number" "$(snap '{"name":5}')" 400
expect_eq "snapshot with another field" "$(snap '{"name":"x","dir":"/"}')" 400
expect_eq "snapshots after the bad names" "$(ls -A "$T/state.snapshots" 2>/dev/null)" ""
expect_eq "a good name" "$(snap '{"name":"s1"}')" 201
expect_eq "snapshot path" "$(jq -r .path "$T/body")" "$T/state.snapshots/s1"
expect_eq "the same name again" "$(snap '{"name":"s1"}')" 409

# Symbolic links planted in the snapshot directory.
mkdir "$T/victim"
echo precious >"$T/victim/file"
ln -s "$T/victim" "$T/state.snapshots/evil.tmp"
ln -s "$T/victim" "$T/state.snapshots/evil2"
ln -s "$T/nowhere" "$T/state.snapshots/dangling"
ln -s "$T/nowhere" "$T/state.snapshots/dangling2.tmp"
for name in evil evil2 dangling dangling2; do
	expect_eq "snapshot over a link ($name)" \
	    "$(snap "{\"name\":\"$name\"}")" 409
	grep -q 'a snapshot of that name exists' "$T/body" ||
		fail "$name: $(cat "$T/body")"
done
expect_eq "the links' target" "$(ls -A "$T/victim")" file
expect_eq "the target's file" "$(cat "$T/victim/file")" precious
[ ! -e "$T/nowhere" ] || fail "a dangling link's target was created"

chmod 777 "$T/state.snapshots"
expect_eq "snapshot into a directory others can write" \
	"$(snap '{"name":"s2"}')" 500
grep -q 'msg="snapshot directory refused' "$T/live.err" ||
	fail "no log line for the open snapshot directory"
chmod 700 "$T/state.snapshots"
expect_eq "after chmod 700" "$(snap '{"name":"s2"}')" 201
echo "snapshots: bad names 400; existing names, links and staging links 409, targets untouched; an open directory 500"

# --- input lengths ---
# JSON events on the wire: each bad one is a dead letter with its reason,
# the good ones at the limits are counted.
python3 - "$T/events" <<'EOF'
import json, sys
def ev(**kw):
    e = {"user_id": "u1", "timestamp": 1700000000000, "action_type": "edit",
         "page_id": "p1", "duration_ms": 1000, "app_version": "6.0.0"}
    e.update(kw)
    return e
cases = [
    ("ok-user-128", ev(user_id="u" * 128), ""),
    ("ok-strings-1024", ev(user_id="u2", action_type="a" * 1024,
                           page_id="p" * 1024, app_version="v" * 1024), ""),
    ("bad-user-129", ev(user_id="u" * 129), "user_id longer than 128 bytes"),
    ("bad-action", ev(action_type="a" * 1025), "string field longer than 1024 bytes"),
    ("bad-page", ev(page_id="p" * 1025), "string field longer than 1024 bytes"),
    ("bad-version", ev(app_version="v" * 1025), "string field longer than 1024 bytes"),
    ("bad-65k", ev(page_id="p" * 70000), "value too large"),
]
with open(sys.argv[1], "w") as f:
    for key, e, reason in cases:
        f.write("%s\t%s\t%s\n" % (key, reason, json.dumps(e, separators=(",", ":"))))
EOF
cut -f1,3 "$T/events" | kcat -P -b "$BOOTSTRAP" -t interactions -K $'\t'
grep -P '^bad-' "$T/events" | cut -f1,2 | sort >"$T/dlq.want"
for i in $(seq 100); do
	kcat -C -b "$BOOTSTRAP" -t activity.dlq -e -o beginning -q \
	    -f '%k\t%h\n' 2>/dev/null |
	    sed 's/\treason=\([^,]*\),.*/\t\1/' | sort >"$T/dlq.got"
	cmp -s "$T/dlq.want" "$T/dlq.got" && break
	[ "$i" -lt 100 ] || {
		diff -u "$T/dlq.want" "$T/dlq.got" >&2
		fail "dead letters (+) differ from the oversized inputs (-)"
	}
	sleep 0.2
done
for u in "$(head -c 128 /dev/zero | tr '\0' u)" u2; do
	for i in $(seq 50); do
		[ "$(code GET "/v1/users/$u" -H "$AUTH")" = 200 ] && break
		[ "$i" -lt 50 ] || fail "user ${u:0:8}... (${#u} bytes) not counted"
		sleep 0.2
	done
done
echo "input: user_id 128 and strings 1024 bytes counted; 129, 1025 and a 70 kB record are dead letters"

kill -TERM "$DPID"
rc=0
wait "$DPID" || rc=$?
expect_eq "exit after SIGTERM" "$rc" 0
