#!/bin/bash
# A full `activityd --once` (metadata, events, dead letters, sessions,
# metrics, commits, delivery) under valgrind's memcheck: no invalid access
# and nothing definitely or indirectly lost at exit. Runs in the release
# configuration only (valgrind and AddressSanitizer exclude each other).
set -euo pipefail
. "${SRC_DIR:?}/tests/integration/lib.sh"
case $BUILD_DIR in *-asan) echo "SKIP: valgrind runs in the plain build"; exit 77 ;; esac
command -v valgrind >/dev/null || fail "valgrind is not installed"
it_init

broker_start --partitions 4
load_sample 5000 500 1500 3
# A record that is not an event: the dead-letter path runs too.
printf 'u1:not avro\n' | kcat -P -b "$BOOTSTRAP" -t interactions -K: -p 0
write_config "$T/v.conf" "$T/state" '[log]' 'level = warning'

rc=0
# The release daemon's malloc is mimalloc's (daemon/heap.c): memcheck
# replaces it as it replaces glibc's when told its library's name. mimalloc
# also defines C++'s new and delete, as aliases of malloc and free, so that
# memcheck takes a delete of RocksDB's for a free of a new[]: mismatched
# frees are not reported (activityd's own code is C).
valgrind --soname-synonyms=somalloc='libmimalloc.so*' \
	--show-mismatched-frees=no \
	--leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --error-exitcode=9 \
	"$DAEMON" -c "$T/v.conf" --once >"$T/vg.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { tail -40 "$T/vg.out" >&2; fail "valgrind: exit $rc"; }
grep -q 'ERROR SUMMARY: 0 errors' "$T/vg.out" ||
	fail "valgrind reported errors: $(grep 'ERROR SUMMARY' "$T/vg.out")"
# Memcheck saw the heap: a --once allocates far more than 10000 blocks.
allocs=$(sed -n 's/.*total heap usage: \([0-9,]*\) allocs.*/\1/p' "$T/vg.out" |
    tr -d ,)
[ "${allocs:-0}" -gt 10000 ] ||
	fail "memcheck did not track the heap: $(grep 'heap usage' "$T/vg.out")"
grep -q 'definitely lost: 0 bytes' "$T/vg.out" ||
	grep -q 'All heap blocks were freed' "$T/vg.out" ||
	fail "leaks: $(grep -E 'lost:' "$T/vg.out")"
expect_eq "dead letters" "$(count_records activity.dlq)" 1
echo "valgrind: $(grep -E 'ERROR SUMMARY|definitely lost' "$T/vg.out" |
    sed 's/^==[0-9]*== *//' | tr '\n' ' ')"
