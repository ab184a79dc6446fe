#!/bin/bash
# Builds activityd twice from scratch (release, and ASan+UBSan) and runs the
# whole test suite in both. Usage: scripts/test.sh [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh

JOBS=$(nproc)
for cfg in build:OFF build-asan:ON; do
	dir=${cfg%%:*}
	san=${cfg##*:}
	echo "=== $dir (sanitizers $san)"
	cmake -S . -B "$dir" -DACTIVITYD_SANITIZE="$san" >/dev/null
	cmake --build "$dir" -j"$JOBS"
	# Leaks are reported by LeakSanitizer; abort on the first UB report.
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir "$dir" --output-on-failure -j"$JOBS" "$@"
done
echo "all tests passed in build and build-asan"
