#!/bin/bash
# The one-command demo: on a fresh Debian machine, installs what is missing,
# builds, starts a local broker, generates the seed-sized sample (1,000,000
# interactions, 100,000 metadata rows), loads it, runs `activityd --once`
# and prints the seed document's tables from the resulting state.
#
# Usage: scripts/demo.sh [--events N] [--metadata M] [--users U] [--seed S]
#                        [--build DIR] [--work DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

EVENTS=1000000 METADATA=100000 USERS=1000000 SEED=42
BUILD=$ROOT/build WORK=
while [ $# -gt 0 ]; do
	case $1 in
	--events) EVENTS=$2; shift 2 ;;
	--metadata) METADATA=$2; shift 2 ;;
	--users) USERS=$2; shift 2 ;;
	--seed) SEED=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	--work) WORK=$2; shift 2 ;;
	*) echo "usage: $0 [--events N] [--metadata M] [--users U] [--seed S]" \
		"[--build DIR] [--work DIR]" >&2; exit 2 ;;
	esac
done

bash scripts/deps.sh
if [ ! -x "$BUILD/activityd" ] || [ ! -x "$BUILD/activityctl" ]; then
	echo "== building into $BUILD" >&2
	cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$BUILD" -j"$(nproc)" >/dev/null
fi
CTL=$BUILD/activityctl
AD=$BUILD/activityd

if [ -z "$WORK" ]; then
	WORK=$(mktemp -d /tmp/activityd-demo.XXXXXX)
	trap 'kill $BROKER 2>/dev/null || true; wait 2>/dev/null; rm -rf "$WORK"' EXIT
else
	mkdir -p "$WORK"
	trap 'kill $BROKER 2>/dev/null || true; wait 2>/dev/null' EXIT
fi
ms() { date +%s%3N; }

# The local broker keeps ~5 MB per partition: 32 partitions hold the sample.
"$CTL" broker --partitions 32 >"$WORK/broker.out" 2>"$WORK/broker.log" &
BROKER=$!
for _ in $(seq 100); do
	grep -q '^bootstrap=' "$WORK/broker.out" 2>/dev/null && break
	sleep 0.1
done
BOOT=$(sed -n 's/^bootstrap=//p' "$WORK/broker.out")
[ -n "$BOOT" ] || { echo "broker did not start" >&2; exit 1; }

T0=$(ms)
"$CTL" generate --events "$EVENTS" --metadata "$METADATA" --users "$USERS" \
	--seed "$SEED" --out "$WORK/data"
T1=$(ms)
"$CTL" load --kind metadata --csv "$WORK/data/user_metadata_sample.csv" \
	--bootstrap "$BOOT" --topic user-metadata >"$WORK/load-meta.out"
"$CTL" load --kind interactions --csv "$WORK/data/user_interactions_sample.csv" \
	--bootstrap "$BOOT" --topic interactions >"$WORK/load-events.out"
T2=$(ms)

cat >"$WORK/activityd.conf" <<CONF
[kafka]
bootstrap.servers = $BOOT
[state]
dir = $WORK/state
[log]
level = warning
CONF
"$AD" -c "$WORK/activityd.conf" --once
T3=$(ms)

q() { "$CTL" query "$@" --state "$WORK/state" --format csv; }

echo
echo "Loaded: $(tail -1 "$WORK/load-events.out") (interactions);" \
	"$(tail -1 "$WORK/load-meta.out") (metadata)"
echo
echo "MAU table (exact, and the HyperLogLog estimate beside it)"
q mau | awk -F, 'NR > 1 {
	e = ($2 > 0) ? 100 * ($3 - $2) / $2 : 0
	printf "%s,%s,%s,%+.2f%%\n", $1, $2, $3, e }' |
	(echo "month,count_active_users,approx_active_users,hll_error";
	 cat) | column -s, -t
echo
echo "DAU summary"
q dau | gawk -F, 'NR > 1 { d[NR - 1] = $1; c[NR - 1] = $2; n++ }
	END {
		if (n == 0) { print "no active users"; exit }
		for (i = 1; i <= n; i++) s[i] = c[i]
		asort(s)
		med = (n % 2) ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2
		printf "days %d, first %s (%d), last %s (%d)\n", n, d[1], c[1],
		    d[n], c[n]
		printf "min %d, median %s, max %d\n", s[1], med, s[n]
	}'
echo
echo "Session statistics (first 20 users)"
"$CTL" query sessions --state "$WORK/state" >"$WORK/sessions.txt"
head -23 "$WORK/sessions.txt"
echo
echo "MAU by country (metadata join; users without metadata are 'unknown')"
q mau --dimension country | gawk -F, 'NR > 1 { m[$1] = 1; v[$2] = 1; c[$1, $2] = $3 }
	END {
		nm = asorti(m, ms); nv = asorti(v, vs)
		printf "month"; for (j = 1; j <= nv; j++) printf ",%s", vs[j]
		printf "\n"
		for (i = 1; i <= nm; i++) {
			printf "%s", ms[i]
			for (j = 1; j <= nv; j++) printf ",%d", c[ms[i], vs[j]]
			printf "\n"
		}
	}' | column -s, -t
echo
T4=$(ms)
awk -v ev="$EVENTS" -v g=$((T1 - T0)) -v l=$((T2 - T1)) -v p=$((T3 - T2)) \
	-v q=$((T4 - T3)) \
	'BEGIN { printf "Timing: generate %.1f s, load %.1f s, activityd --once %.1f s" \
	    " (%.0f events/s), queries %.1f s, total %.1f s\n", g / 1000,
	    l / 1000, p / 1000, ev / (p / 1000), q / 1000, (g + l + p + q) / 1000 }'
