#!/bin/bash
# State faults on a real file system (SPEC section 6): the state directory
# is a bind mount of a directory on a small tmpfs.
#  - The tmpfs fills up (a filler file) while the live daemon consumes.
#  - The state directory turns read-only under the running daemon (a
#    read-only bind mount is stacked on the writable one: files the daemon
#    has open stay writable, as a remount cannot happen while files are
#    open for writing, so the fault strikes when RocksDB creates its next
#    file). Stacked, not swapped: between an unmount and the next mount
#    the path would name the empty directory underneath, and a file
#    RocksDB created there in that instant would vanish with the mount.
#  - It is read-only, or the tmpfs is full, when the daemon starts.
# Each time the daemon must stop consuming and exit 1 (not hang, not die
# on a signal) with one error naming the cause, and leave the stored
# offsets at its last good commit. Once the fault is gone, a restart
# resumes, and after the whole stream DAU, MAU, sessions and the sessions
# topic equal an uninterrupted run exactly (finish_and_compare).
# Needs permission to mount; exits 77 (skip) without it.
set -euo pipefail
. "${SRC_DIR:?}/tests/integration/lib.sh"
it_init

mkdir "$T/disk" "$T/state"
if ! mount -t tmpfs -o size=64m tmpfs "$T/disk" 2>"$T/mount.err"; then
	echo "SKIP: cannot mount a tmpfs (needs root or CAP_SYS_ADMIN):" \
	    "$(cat "$T/mount.err")"
	exit 77
fi
# The daemons stop before their file systems go, and those before $T.
disk_cleanup() {
	local pid

	for pid in "${IT_PIDS[@]}"; do
		stop_pid "$pid"
	done
	# Up to two bind mounts are stacked on the state directory.
	umount -l "$T/state" 2>/dev/null || true
	umount -l "$T/state" 2>/dev/null || true
	umount -l "$T/disk" 2>/dev/null || true
	it_cleanup
}
trap disk_cleanup EXIT
mkdir "$T/disk/state"
mount --bind "$T/disk/state" "$T/state"

. "$SRC_DIR/tests/integration/live.sh"
live_init 20231123
# 16M: write buffers of 1 MB. RocksDB preallocates the next write-ahead
# log at 1.1 times the write buffer, which would hide a full disk for as
# long as a 16 MB buffer takes to fill.
printf '%s\n' '[state]' 'memory_limit = 16M' >>"$T/live.conf"
CHUNKS=("$T"/chunk.??)
next=0
loaded=0	# records produced so far
load_next() {
	load_chunk "${CHUNKS[next]}"
	loaded=$((loaded + $(wc -l <"${CHUNKS[next]}")))
	next=$((next + 1))
}


# readyz_ok: the live daemon answers 200 on /readyz.
readyz_ok() {
	local port i

	port=$(sed -n 's/.*msg="admin listening" address=127\.0\.0\.1:\([0-9]*\).*/\1/p' \
	    "$T/live.err" | tail -1)
	[ -n "$port" ] || fail "no 'admin listening' line"
	for i in $(seq 100); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' \
		    "http://127.0.0.1:$port/readyz")" = 200 ] && return 0
		sleep 0.1
	done
	fail "/readyz is not 200 on a healthy daemon"
}

# mark_log: the daemon's log lines from here on are those of the fault
# about to be injected (the daemon may fail before fault_exit starts).
mark_log() {
	from=$(($(wc -l <"$T/live.err") + 1))
}

# fault_exit WHAT PATTERN: the live daemon, fed one chunk after another,
# must exit 1 within 30 s with one "state commit failed" error carrying
# PATTERN, and nothing after it, since mark_log.
fault_exit() {
	local what=$1 pattern=$2 i rc=0

	for i in $(seq 300); do
		kill -0 "$DPID" 2>/dev/null || break
		if [ $((i % 20)) -eq 1 ] && [ "$next" -lt "${#CHUNKS[@]}" ]; then
			load_next
		fi
		[ "$i" -lt 300 ] || fail "$what: still running after 30 s"
		sleep 0.1
	done
	wait "$DPID" || rc=$?
	IT_PIDS=()
	[ "$rc" -eq 1 ] || fail "$what: exit $rc, want 1"
	tail -n +"$from" "$T/live.err" >"$T/fault.log"
	! grep -q 'Assertion' "$T/fault.log" ||
		fail "$what: $(grep 'Assertion' "$T/fault.log")"
	[ "$(grep -c 'level=error' "$T/fault.log")" -eq 1 ] ||
		fail "$what: want one error: $(grep 'level=error' "$T/fault.log")"
	grep 'level=error msg="state commit failed; stopping without advancing offsets" error="state write failed: ' \
	    "$T/fault.log" | grep -q "$pattern" ||
		fail "$what: no clear error: $(grep 'level=error' "$T/fault.log")"
	echo "$what: exit 1: $(grep -o 'error=.*' "$T/fault.log")"
}

# The offsets stored after a failure: those of a commit between the last
# one seen (before) and the records loaded (whether the failed write held
# records or only an idle commit depends on timing). That they match the
# state is what the final comparison shows: nothing lost or doubled.
check_kept() {
	kept=$(consumed "$T/state")
	[ "$kept" -ge "$before" ] && [ "$kept" -le "$loaded" ] ||
		fail "offsets at $kept after the failure, $before committed" \
		    "before and $loaded loaded"
	echo "offsets kept at $kept ($before before the fault, $loaded loaded)"
}

# start_refused WHAT PATTERN: a daemon started now must exit 1 at once
# with "cannot start" and PATTERN.
start_refused() {
	local rc=0

	timeout -k 5 30 "$DAEMON" -c "$T/live.conf" >"$T/refused.out" \
	    2>"$T/refused.err" || rc=$?
	[ "$rc" -eq 1 ] || fail "$1: exit $rc, want 1: $(tail -3 "$T/refused.err")"
	grep -q "level=error msg=\"cannot start\" error=\".*$2" \
	    "$T/refused.err" || fail "$1: no clear error: $(cat "$T/refused.err")"
	! grep -q 'partition assigned' "$T/refused.err" ||
		fail "$1: it consumed"
	echo "$1: exit 1: $(grep -o 'error=.*' "$T/refused.err")"
}

# --- the tmpfs fills up ---
start_daemon
load_next
load_next
load_next
wait_consumed "$T/state" "$loaded" "$DPID"
readyz_ok
before=$loaded
mark_log
dd if=/dev/zero of="$T/disk/filler" bs=64k 2>/dev/null || true
[ "$(df --output=avail -k "$T/disk" | tail -1)" -eq 0 ] ||
	fail "the tmpfs is not full: $(df -k "$T/disk" | tail -1)"
fault_exit "full file system" 'No space left on device'
check_kept
# RocksDB gave back the space preallocated for its log at close: fill
# that too.
dd if=/dev/zero of="$T/disk/filler2" bs=4k 2>/dev/null || true
start_refused "start on the full file system" 'No space left on device'
expect_eq "offsets after the refused start" "$(consumed "$T/state")" "$kept"

# --- space freed: the restart resumes ---
rm "$T/disk/filler" "$T/disk/filler2"
start_daemon
wait_consumed "$T/state" "$loaded" "$DPID"
echo "resumed after the space was freed: $loaded records"

# --- the state directory turns read-only under the daemon ---
before=$loaded
mark_log
mount --bind -o ro "$T/disk/state" "$T/state"
! touch "$T/state/probe" 2>/dev/null || fail "the bind mount is writable"
fault_exit "read-only mid-run" 'Read-only file system'
check_kept
start_refused "start on the read-only directory" 'Read-only file system'
expect_eq "offsets after the refused start" "$(consumed "$T/state")" "$kept"

# --- writable again: resume, the rest of the stream, compare ---
umount "$T/state"	# the read-only one on top
touch "$T/state/probe" && rm "$T/state/probe" ||
	fail "the state directory is not writable again"
mv "$T/live.err" "$T/faults.err"
: >"$T/live.err"
start_daemon
while [ "$next" -lt "${#CHUNKS[@]}" ]; do
	load_next
done
finish_and_compare "after the disk faults"
