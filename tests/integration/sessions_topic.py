"""Checks a sessions topic dump (key TAB JSON value per line) against the
dump of an uninterrupted run: every session present, each with its key
equal to its user_id and session_id "<user_id>:<start>", and every repeat
identical to the first copy. Usage: sessions_topic.py GOT REF"""
import json, sys

def read(path):
    ids = {}
    n = 0
    for line in open(path, encoding="utf-8"):
        key, val = line.rstrip("\n").split("\t", 1)
        s = json.loads(val)
        n += 1
        if key != s["user_id"]:
            sys.exit(f"{path}: key {key!r} for user {s['user_id']!r}")
        if s["session_id"] != f"{s['user_id']}:{s['start']}":
            sys.exit(f"{path}: session_id {s['session_id']!r}")
        prev = ids.setdefault(s["session_id"], (key, s))
        if prev != (key, s):
            sys.exit(f"{path}: {s['session_id']} repeated with other "
                     f"content:\n{prev}\n{(key, s)}")
    return ids, n

got, n_got = read(sys.argv[1])
ref, n_ref = read(sys.argv[2])
if n_ref != len(ref):
    sys.exit(f"uninterrupted run repeated sessions: {n_ref} records, "
             f"{len(ref)} sessions")
missing = set(ref) - set(got)
extra = set(got) - set(ref)
if missing or extra:
    sys.exit(f"{len(missing)} sessions missing (e.g. {sorted(missing)[:3]}), "
             f"{len(extra)} unexpected (e.g. {sorted(extra)[:3]})")
print(f"sessions topic: {len(ref)} sessions, {n_got} records "
      f"({n_got - len(ref)} repeats, all identical)")
