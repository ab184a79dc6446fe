#!/bin/bash
# The README's first command, scripts/demo.sh, on a small dataset: every
# number it prints (MAU with the HyperLogLog estimate, the DAU summary, the
# first 20 users' session statistics, MAU by country) is checked against
# the naive reference computed from the same generated CSV files.
set -euo pipefail
. "${SRC_DIR:?}/tests/integration/lib.sh"
it_init

bash "$SRC_DIR/scripts/demo.sh" --events 20000 --metadata 3000 \
	--users 6000 --seed 5 --build "$BUILD_DIR" --work "$T/demo" \
	>"$T/demo.out" 2>"$T/demo.err" ||
	fail "demo.sh exited non-zero: $(tail -5 "$T/demo.err")"
D=$T/demo/data
mkdir -p "$T/naive"
$NAIVE mau dau sessions mau-country --events "$D/user_interactions_sample.csv" \
	--metadata "$D/user_metadata_sample.csv" --out-dir "$T/naive"

python3 - "$T/demo.out" "$T/naive" <<'PY'
import csv, statistics, sys

out = open(sys.argv[1], encoding="utf-8").read().split("\n")
ref = sys.argv[2]

def rows(name):
    with open(f"{ref}/{name}", encoding="utf-8") as f:
        return list(csv.reader(f))[1:]

def section(title):
    i = next(k for k, l in enumerate(out) if l.startswith(title))
    body = []
    for l in out[i + 1:]:
        if not l.strip():
            break
        body.append(l)
    return body

def fail(msg):
    sys.exit(f"FAIL: {msg}")

# MAU: month, exact, approx (3 standard errors from 1000 users), error.
mau = section("MAU table")
if mau[0].split() != ["month", "count_active_users", "approx_active_users",
                      "hll_error"]:
    fail(f"MAU header {mau[0]!r}")
want = rows("mau")
got = [l.split() for l in mau[1:]]
if [(g[0], g[1]) for g in got] != [(w[0], w[1]) for w in want]:
    fail(f"MAU table {got} != reference {want}")
for g in got:
    exact, approx = int(g[1]), int(g[2])
    if exact >= 1000 and abs(approx - exact) > 3 * 1.04 / 128 * exact:
        fail(f"MAU {g[0]}: estimate {approx} too far from {exact}")
    err = f"{100 * (approx - exact) / exact:+.2f}%"
    if g[3] != err:
        fail(f"MAU {g[0]}: error column {g[3]}, want {err}")

# DAU summary.
dau = [(d, int(c)) for d, c, _ in rows("dau")]
counts = [c for _, c in dau]
med = statistics.median(counts)
want = [f"days {len(dau)}, first {dau[0][0]} ({dau[0][1]}), "
        f"last {dau[-1][0]} ({dau[-1][1]})",
        f"min {min(counts)}, median {med:g}, max {max(counts)}"]
if section("DAU summary") != want:
    fail(f"DAU summary {section('DAU summary')} != {want}")

# Session statistics: the first 20 users, by user_id.
sess = [l.strip("|").split("|") for l in section("Session statistics")
        if l.startswith("|")]
sess = [[c.strip() for c in r] for r in sess]
if sess[0] != ["user_id", "total_sessions", "avg_session_duration"]:
    fail(f"sessions header {sess[0]}")
want = rows("sessions")[:20]
if sess[1:] != want:
    fail(f"sessions {sess[1:]} != reference {want}")

# MAU by country: a month x value pivot of the reference rows.
piv = [l.split() for l in section("MAU by country")]
vals = piv[0][1:]
ref_c = {(m, v): c for m, v, c, _ in rows("mau-country")}
if sorted(vals) != vals or set(vals) != {v for _, v in ref_c}:
    fail(f"country columns {vals}")
for r in piv[1:]:
    for v, c in zip(vals, r[1:]):
        if int(c) != int(ref_c.get((r[0], v), 0)):
            fail(f"MAU {r[0]} {v}: {c}, want {ref_c.get((r[0], v), 0)}")
if len(piv) - 1 != len({m for m, _ in ref_c}):
    fail("months of the country table")

timing = [l for l in out if l.startswith("Timing:")]
if len(timing) != 1 or "events/s" not in timing[0]:
    fail(f"timing line {timing}")
print(f"demo: MAU {len(got)} months, DAU {len(dau)} days, 20 session rows, "
      f"{len(piv) - 1}x{len(vals)} country cells equal the reference")
PY
