#!/bin/bash
# A RocksDB write that fails (SPEC section 6; injected with the test hook
# ACTIVITYD_FAULT_FAIL_AFTER_RECORDS=N: every write fails once N records
# have been consumed): the
# daemon stops consuming, exits non-zero with a clear error, and does not
# advance its offsets; once the fault is gone, a restart resumes from the
# last good commit and the results equal an uninterrupted run exactly.
set -euo pipefail
. "${SRC_DIR:?}/tests/integration/lib.sh"
it_init

broker_start --partitions 4
load_sample 40000 1000 5000 8

write_config "$T/f.conf" "$T/state" '[state]' 'commit_interval = 10ms'
rc=0
ACTIVITYD_FAULT_FAIL_AFTER_RECORDS=10000 "$DAEMON" -c "$T/f.conf" --once \
	>"$T/fault.out" 2>"$T/fault.err" || rc=$?
[ "$rc" -eq 1 ] || fail "exit $rc after a failed commit, want 1"
grep -q 'level=error msg="state commit failed; stopping without advancing offsets" error="state write failed: injected fault' \
	"$T/fault.err" || fail "no clear error: $(tail -3 "$T/fault.err")"
grep -q 'backfill done' "$T/fault.err" && fail "it went on after the fault"

# Offsets stored are those of the last good commit: not the end.
consumed=$("$CTL" state inspect --state "$T/state" |
	sed 's/|/ /g' | awk '$1 == "interactions" { s += $3 } END { print s + 0 }')
[ "$consumed" -lt 40000 ] ||
	fail "offsets advanced to $consumed despite the failed commit"
echo "after the fault: $consumed of 40000 records committed"

run_once "$T/f.conf" resumed
write_config "$T/ref.conf" "$T/ref" '[topics]' 'sessions = ref.sessions' \
	'metrics = ref.metrics' 'dlq = ref.dlq'
run_once "$T/ref.conf" ref
for q in dau mau sessions; do
	"$CTL" query "$q" --state "$T/state" --format csv >"$T/got.$q"
	"$CTL" query "$q" --state "$T/ref" --format csv >"$T/ref.$q"
	cmp -s "$T/got.$q" "$T/ref.$q" || {
		diff -u "$T/ref.$q" "$T/got.$q" | head -20 >&2
		fail "$q after the restart differs from an uninterrupted run"
	}
	echo "$q: $(($(wc -l <"$T/ref.$q") - 1)) rows equal after the restart"
done
