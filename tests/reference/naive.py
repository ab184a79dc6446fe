#!/usr/bin/env python3
"""A deliberately naive batch computation of activityd's results.

Reads the two sample CSV files whole and computes, with plain loops and
sets, what `activityd --once` must end up with (SPEC section 2), printing
the CSV of `activityctl query ... --format csv` so that tests can diff:

  naive.py dau|mau|sessions|dau-country|mau-country|session-list
           --events CSV [--metadata CSV] [--tz ZONE] [--attribution start|span]
  naive.py WHAT WHAT... --out-dir DIR ...   (each to DIR/WHAT)

- An active event has 10000 < duration_ms < 14400000.
- DAU/MAU: distinct users per calendar day/month of ZONE (default UTC).
  Attribution `start` takes the period of the timestamp; `span` every local
  period the closed interval [ts, ts + duration_ms] touches.
- Sessions: a user's events sorted by timestamp; a gap of more than 10 min
  from the previous event's timestamp starts a new session (exactly 10 min
  continues it); end = max(ts + duration_ms); avg_session_duration =
  sum(durations_ms) / n / 1000 seconds, printed as the shortest decimal that
  reads back as the same double, in the form of Java's Double.toString.
- Country breakdown: the last metadata row of each user in the file;
  `unknown` for users without one.
- The approx_active_users column holds the exact count: the test compares
  the product's HyperLogLog estimate against it with a tolerance.
- session-list prints one JSON object per session (session_id, user_id,
  start, end, duration_ms, actions, country), sorted by session_id bytes.

Rows are skipped the way `activityctl load` rejects them: malformed CSV,
wrong field count, unparsable timestamp/duration/join_date, empty user_id,
user_id over 128 bytes, negative or out-of-range values, string fields
over 1024 bytes. Standard library only.
"""
import argparse
import csv
import datetime
import decimal
import json
import re
import sys
import zoneinfo

ACTIVE_MIN_MS = 10000
ACTIVE_MAX_MS = 14400000
GAP_MS = 10 * 60 * 1000
USER_ID_MAX = 128
STRING_MAX = 1024
LIMIT_52 = 1 << 52
INT64_MAX = (1 << 63) - 1

EVENT_COLS = ("user_id", "timestamp", "action_type", "page_id",
              "duration_ms", "app_version")
META_COLS = ("user_id", "join_date", "country", "device_type",
             "subscription_type")

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
TS_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})"
                   r"(?:\.(\d{1,9}))?Z?\Z", re.ASCII)
DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})\Z", re.ASCII)
INT_RE = re.compile(r"-?\d+\Z", re.ASCII)


def nbytes(s):
    return len(s.encode("utf-8", "surrogateescape"))


def parse_date(s):
    m = DATE_RE.match(s)
    if not m:
        return None
    try:
        return datetime.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def parse_ts(s):
    """Epoch milliseconds of 'YYYY-MM-DD HH:MM:SS[.fff][Z]' in UTC."""
    m = TS_RE.match(s)
    if not m:
        return None
    d = parse_date(s[:10])
    hh, mi, ss = int(m[4]), int(m[5]), int(m[6])
    if d is None or hh > 23 or mi > 59 or ss > 59:
        return None
    frac = int((m[7] or "0").ljust(3, "0")[:3])
    days = (d - datetime.date(1970, 1, 1)).days
    return ((days * 86400 + hh * 3600 + mi * 60 + ss) * 1000) + frac


def parse_int(s):
    if not INT_RE.match(s):
        return None
    v = int(s)
    return v if -INT64_MAX - 1 <= v <= INT64_MAX else None


def rows(path, columns):
    """The data rows of a CSV file as dicts of the wanted columns."""
    csv.field_size_limit(1 << 30)
    with open(path, newline="", encoding="utf-8-sig",
              errors="surrogateescape") as f:
        reader = csv.reader(f, strict=True)
        header = None
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error:
                continue        # the loader rejects the row
            if not row:
                continue        # empty lines are ignored
            if header is None:
                header = row
                idx = [header.index(c) for c in columns]
                continue
            if len(row) != len(header):
                continue
            yield {c: row[i] for c, i in zip(columns, idx)}


def user_ok(u):
    return 0 < nbytes(u) <= USER_ID_MAX


def read_events(path):
    out = []
    for r in rows(path, EVENT_COLS):
        ts = parse_ts(r["timestamp"])
        dur = parse_int(r["duration_ms"])
        if ts is None or dur is None or not user_ok(r["user_id"]):
            continue
        if dur < 0 or dur > LIMIT_52 or abs(ts) > LIMIT_52:
            continue
        if any(nbytes(r[c]) > STRING_MAX
               for c in ("action_type", "page_id", "app_version")):
            continue
        out.append((r["user_id"], ts, dur))
    return out


def read_countries(path):
    """user_id -> country of the user's last valid metadata row."""
    country = {}
    if path is None:
        return country
    for r in rows(path, META_COLS):
        if parse_date(r["join_date"]) is None or not user_ok(r["user_id"]):
            continue
        if any(nbytes(r[c]) > STRING_MAX for c in META_COLS[2:]):
            continue
        country[r["user_id"]] = r["country"]
    return country


def local_day(ms, zone):
    return (EPOCH + datetime.timedelta(milliseconds=ms)).astimezone(
        zone).date()


def periods(ev, zone, span, monthly):
    """The local days (or months) an active event is attributed to."""
    _, ts, dur = ev
    first = local_day(ts, zone)
    last = local_day(ts + dur, zone) if span else first
    out = set()
    d = first
    while d <= last:
        out.add(d.strftime("%Y-%m") if monthly else d.isoformat())
        d += datetime.timedelta(days=1)
    return out


def active_sets(events, zone, span, monthly, country):
    """(period, value) -> set of users; value None is the total."""
    sets = {}
    for ev in events:
        if not ACTIVE_MIN_MS < ev[2] < ACTIVE_MAX_MS:
            continue
        for p in periods(ev, zone, span, monthly):
            value = country.get(ev[0], "unknown") if country is not None \
                else None
            sets.setdefault((p, value), set()).add(ev[0])
    return sets


def sessions(events):
    """user -> list of (start, end, actions), from the events of the user."""
    by_user = {}
    for u, ts, dur in events:
        by_user.setdefault(u, []).append((ts, dur))
    out = {}
    for u, evs in by_user.items():
        evs.sort()
        cur = None
        lst = out.setdefault(u, [])
        for ts, dur in evs:
            if cur is not None and ts - cur[3] > GAP_MS:
                lst.append(tuple(cur[:3]))
                cur = None
            if cur is None:
                cur = [ts, ts + dur, 0, ts]
            cur[1] = max(cur[1], ts + dur)
            cur[2] += 1
            cur[3] = ts
        lst.append(tuple(cur[:3]))
    return out


def java_double(x):
    """Shortest round-trip decimal, written the way Java's Double.toString
    writes it: plain with at least one fraction digit for 1e-3 <= |x| < 1e7,
    else d.dddE<n>."""
    if x == 0 or 1e-3 <= abs(x) < 1e7:
        r = repr(float(x))
        if "e" in r or "E" in r:   # repr uses exponents only beyond 1e16
            r = format(decimal.Decimal(r), "f")
        return r if "." in r else r + ".0"
    sign, digits, exp = decimal.Decimal(repr(float(x))).as_tuple()
    ds = "".join(map(str, digits)).rstrip("0") or "0"
    e = len(digits) - 1 + exp
    return ("-" if sign else "") + ds[0] + "." + (ds[1:] or "0") + "E" + str(e)


def csv_cell(s):
    if any(c in s for c in ',"\r\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


def utf8_key(s):
    return s.encode("utf-8", "surrogateescape")


WHATS = ("dau", "mau", "sessions", "dau-country", "mau-country",
         "session-list")


def render(what, w, events, countries, zone, span):
    """Writes the CSV (or JSON lines) of one query to w."""
    if what in ("sessions", "session-list"):
        sess = sessions(events)
        if what == "sessions":
            w.write("user_id,total_sessions,avg_session_duration\n")
            for u in sorted(sess, key=utf8_key):
                lst = sess[u]
                total = sum(end - start for start, end, _ in lst)
                w.write("%s,%d,%s\n" % (csv_cell(u), len(lst),
                        java_double(total / len(lst) / 1000)))
            return
        recs = []
        for u, lst in sess.items():
            for start, end, n in lst:
                recs.append({"session_id": "%s:%d" % (u, start),
                             "user_id": u, "start": start, "end": end,
                             "duration_ms": end - start, "actions": n,
                             "country": countries.get(u)})
        recs.sort(key=lambda r: utf8_key(r["session_id"]))
        for r in recs:
            w.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
        return

    monthly = what.startswith("mau")
    by_country = what.endswith("-country")
    sets = active_sets(events, zone, span, monthly,
                       countries if by_country else None)
    head = "month" if monthly else "day"
    if by_country:
        head += ",country"
    w.write(head + ",count_active_users,approx_active_users\n")
    for (p, value) in sorted(sets, key=lambda k: (k[0], utf8_key(k[1] or ""))):
        n = len(sets[(p, value)])
        cells = [p] + ([csv_cell(value)] if by_country else [])
        w.write(",".join(cells + [str(n), str(n)]) + "\n")


def main():
    ap = argparse.ArgumentParser(
        description="Several WHATs need --out-dir: each is written to "
                    "DIR/WHAT (the files are read once).")
    ap.add_argument("what", nargs="+", choices=WHATS)
    ap.add_argument("--events", required=True)
    ap.add_argument("--metadata")
    ap.add_argument("--tz", default="UTC")
    ap.add_argument("--attribution", choices=("start", "span"),
                    default="start")
    ap.add_argument("--out-dir")
    a = ap.parse_args()
    if len(a.what) > 1 and a.out_dir is None:
        ap.error("several queries need --out-dir")

    events = read_events(a.events)
    countries = read_countries(a.metadata)
    zone = zoneinfo.ZoneInfo(a.tz)
    for what in a.what:
        if a.out_dir is None:
            sys.stdout.reconfigure(errors="surrogateescape")
            render(what, sys.stdout, events, countries, zone,
                   a.attribution == "span")
            continue
        with open("%s/%s" % (a.out_dir, what), "w", encoding="utf-8",
                  errors="surrogateescape", newline="") as w:
            render(what, w, events, countries, zone, a.attribution == "span")


if __name__ == "__main__":
    main()
