#!/bin/bash
# The daemon's side of the service manager's protocol, as systemd sees it:
# a live activityd runs with NOTIFY_SOCKET pointing at a real datagram
# socket (a small receiver records every datagram with its arrival time)
# and WATCHDOG_USEC/WATCHDOG_PID set as systemd sets them.
#  - READY=1 comes once, after the partitions are assigned;
#  - STATUS= lines come while it runs;
#  - WATCHDOG=1 comes at least every 3/4 of WATCHDOG_USEC from the first
#    ping on (systemd acts at the full timeout; sd_watchdog_enabled(3)
#    advises pinging every half), also when [state] commit_interval is
#    longer than the watchdog timeout;
#  - SIGHUP gives RELOADING=1 with MONOTONIC_USEC=, then READY=1;
#  - SIGTERM gives STOPPING=1 and exit status 0.
set -euo pipefail
. "${SRC_DIR:?}/tests/integration/lib.sh"
it_init

WD_USEC=6000000		# pings advised every 3 s
MAX_GAP_MS=4500		# 3/4 of the timeout

# The receiver: one line per datagram, "MONOTONIC_MS PAYLOAD" with the
# payload's newlines written as \n.
cat >"$T/recv.py" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[2] + ".up", "w").close()
with open(sys.argv[2], "a") as log:
    while True:
        d = s.recv(65536).decode()
        log.write("%d %s\n" % (time.monotonic() * 1000, d.replace("\n", "\\n")))
        log.flush()
EOF
python3 "$T/recv.py" "$T/notify.sock" "$T/notify.log" &
IT_PIDS+=($!)
for _ in $(seq 100); do
	[ -e "$T/notify.log.up" ] && break
	sleep 0.1
done
[ -e "$T/notify.log.up" ] || fail "the receiver did not start"
: >"$T/notify.log"

broker_start --partitions 4
# A commit interval far beyond the watchdog timeout: the pings must not
# depend on it.
write_config "$T/d.conf" "$T/state" '[state]' 'commit_interval = 10s' \
	'[admin]' 'listen = 127.0.0.1:0'

# wait_for PATTERN SECONDS: a datagram matching PATTERN (grep -E on the
# payload) arrives within SECONDS.
wait_for() {
	local i
	for i in $(seq $(($2 * 10))); do
		cut -d' ' -f2- "$T/notify.log" | grep -qE "$1" && return 0
		kill -0 "$DPID" 2>/dev/null ||
			fail "daemon died: $(tail -5 "$T/d.err")"
		sleep 0.1
	done
	fail "no datagram /$1/ within $2 s; got: $(cut -c1-200 "$T/notify.log")"
}

# WATCHDOG_PID is the daemon's own pid, as systemd sets it: exec keeps it.
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=$WD_USEC \
    bash -c 'export WATCHDOG_PID=$$; exec "$0" -c "$1"' \
    "$DAEMON" "$T/d.conf" >"$T/d.out" 2>"$T/d.err" &
DPID=$!
IT_PIDS+=("$DPID")

wait_for '^READY=1$' 60
grep -q 'partition assigned' "$T/d.err" ||
	fail "READY=1 before any partition was assigned"
wait_for '^STATUS=.+' 15
# Fifteen seconds of pings, then the largest gap between two of them.
sleep 15
gaps=$(awk '$2 == "WATCHDOG=1" { if (last) print $1 - last; last = $1 }' \
    "$T/notify.log" | sort -n | tail -1)
n=$(grep -c ' WATCHDOG=1$' "$T/notify.log" || true)
echo "watchdog: $n pings, largest gap ${gaps:-none} ms" \
    "(timeout $((WD_USEC / 1000)) ms, at most $MAX_GAP_MS ms allowed)"
[ "$n" -ge 4 ] || fail "only $n WATCHDOG=1 in about 15 s"
[ "$gaps" -le "$MAX_GAP_MS" ] ||
	fail "WATCHDOG=1 gap of $gaps ms, timeout $((WD_USEC / 1000)) ms"

# Reload: RELOADING=1 with a monotonic time, then READY=1 again.
before=$(grep -c ' READY=1$' "$T/notify.log")
kill -HUP "$DPID"
wait_for '^RELOADING=1\\nMONOTONIC_USEC=[0-9]+$' 10
for _ in $(seq 100); do
	[ "$(grep -c ' READY=1$' "$T/notify.log")" -gt "$before" ] && break
	sleep 0.1
done
[ "$(grep -c ' READY=1$' "$T/notify.log")" -eq $((before + 1)) ] ||
	fail "no second READY=1 after the reload"
grep -q 'configuration reloaded' "$T/d.err" || fail "reload not logged"

# Stop: STOPPING=1, exit 0.
kill -TERM "$DPID"
rc=0
wait "$DPID" || rc=$?
[ "$rc" -eq 0 ] || fail "exit $rc after SIGTERM: $(tail -5 "$T/d.err")"
wait_for '^STOPPING=1$' 5
# Nothing unexpected was sent.
bad=$(cut -d' ' -f2- "$T/notify.log" |
    grep -vE '^(READY=1|STOPPING=1|WATCHDOG=1|STATUS=.*|RELOADING=1\\nMONOTONIC_USEC=[0-9]+)$' || true)
[ -z "$bad" ] || fail "unexpected datagrams: $bad"
echo "PASS"
