#!/bin/bash
# Fuzzing (docs/RELIABILITY.md, "Hostile input"): builds the libFuzzer
# targets of tests/fuzz with clang in $BUILD_DIR/fuzz-clang, replays every
# input kept in tests/fuzz/regressions/<target>, then runs each target for
# FUZZ_SECONDS (default 20) over a copy of its seed corpus. Any crash, leak,
# sanitizer report, timeout (5 s) or broken property fails the test and
# prints the reproducer. Runs in the plain build only: the ASan build of
# the suite would repeat the same clang build.
set -euo pipefail

: "${BUILD_DIR:?}" "${SRC_DIR:?}"
case "$BUILD_DIR" in
*-asan)
	echo "SKIP: the fuzzers run from the plain build"
	exit 77 ;;
esac
if ! command -v clang >/dev/null; then
	echo "SKIP: clang not found (scripts/deps.sh installs it)"
	exit 77
fi

FB="$BUILD_DIR/fuzz-clang"
SECONDS_EACH=${FUZZ_SECONDS:-20}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

cmake -S "$SRC_DIR" -B "$FB" -DCMAKE_C_COMPILER=clang -DACTIVITYD_FUZZ=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >"$T/configure.out" 2>&1 ||
	{ cat "$T/configure.out" >&2; fail "configure of the clang build"; }
cmake --build "$FB" --target fuzz_all -j"$(nproc)" >"$T/build.out" 2>&1 ||
	{ tail -50 "$T/build.out" >&2; fail "build of the fuzz targets"; }

export LSAN_OPTIONS="suppressions=$SRC_DIR/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

targets=()
for src in "$SRC_DIR"/tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	targets+=("${name#fuzz_}")
done
[ ${#targets[@]} -ge 8 ] || fail "only ${#targets[@]} fuzz targets"

for t in "${targets[@]}"; do
	bin="$FB/fuzz/fuzz_$t"
	[ -x "$bin" ] || fail "$bin was not built"
	[ -n "$(ls -A "$SRC_DIR/tests/fuzz/corpus/$t" 2>/dev/null)" ] ||
		fail "no seed corpus for $t"

	# Every crash found so far must stay fixed.
	regs=("$SRC_DIR/tests/fuzz/regressions/$t"/*)
	if [ -e "${regs[0]}" ]; then
		"$bin" -rss_limit_mb=2048 -timeout=5 "${regs[@]}" \
			>"$T/$t.replay" 2>&1 || {
			tail -40 "$T/$t.replay" >&2
			fail "fuzz_$t: a regression input fails again"
		}
	fi

	# New findings land in $T/corpus/$t, never in the source tree.
	mkdir -p "$T/corpus/$t" "$T/crash"
	cp "$SRC_DIR/tests/fuzz/corpus/$t"/* "$T/corpus/$t/"
	if ! "$bin" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 \
		-timeout=5 -print_final_stats=1 \
		-artifact_prefix="$T/crash/$t-" "$T/corpus/$t" \
		>"$T/$t.log" 2>&1; then
		tail -60 "$T/$t.log" >&2
		keep="$BUILD_DIR/fuzz-crashes"
		mkdir -p "$keep"
		cp "$T"/crash/"$t"-* "$keep/" 2>/dev/null || true
		fail "fuzz_$t crashed; reproducer(s) in $keep:" \
			"$(ls "$T"/crash/ | tr '\n' ' ')"
	fi
	cov=$(grep -o 'DONE *cov: [0-9]*' "$T/$t.log" | grep -o '[0-9]*$' || true)
	execs=$(grep -o 'number_of_executed_units: [0-9]*' "$T/$t.log" |
		grep -o '[0-9]*$' || true)
	rate=$(grep -o 'average_exec_per_sec: *[0-9]*' "$T/$t.log" |
		grep -o '[0-9]*$' || true)
	echo "fuzz_$t: ${execs:-?} runs, ${rate:-?} exec/s, cov ${cov:-?}"
done
echo "PASS: ${#targets[@]} fuzz targets, ${SECONDS_EACH} s each"
