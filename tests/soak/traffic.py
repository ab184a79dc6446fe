"""Live traffic for the soak: interaction events as "user_id TAB json" lines
(the daemon's JSON input format) at RATE events per second for SECONDS,
stamped with the wall clock at the time they are written, users
u000001..uUSERS picked uniformly (seeded). Meant to be piped into
`kcat -P -K '\\t'` with a long linger.ms: the local broker answers a fetch
with one batch per partition and finds a batch by walking the partition's
list of batches, so the millisecond batches of bench_producer make a
--once over ten minutes of traffic crawl at a few hundred records a
second, and consumption slow down as the topic grows.
The count written goes to COUNT_FILE at the end.
Usage: traffic.py RATE SECONDS USERS SEED COUNT_FILE"""
import os
import random
import sys
import time

ACTIONS = ("page_view", "edit", "create", "delete", "share")


def main():
    rate, seconds, users = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    rnd = random.Random(int(sys.argv[4]))
    out = sys.stdout
    n = 0
    t0 = time.monotonic()
    while True:
        elapsed = time.monotonic() - t0
        if elapsed >= seconds:
            break
        target = int(elapsed * rate)
        ts = int(time.time() * 1000)
        lines = []
        while n < target:
            user = "u%06d" % (1 + rnd.randrange(users))
            lines.append(
                '%s\t{"user_id":"%s","timestamp":%d,"action_type":"%s",'
                '"page_id":"p%05d","duration_ms":%d,"app_version":"6.1.2"}\n'
                % (user, user, ts, rnd.choice(ACTIONS), rnd.randrange(1000),
                   100 + rnd.randrange(300000)))
            n += 1
        try:
            out.write("".join(lines))
            out.flush()
        except BrokenPipeError:
            os._exit(1)     # the reader is gone: no flush at exit
        time.sleep(0.01)
    with open(sys.argv[5], "w") as f:
        f.write("%d\n" % n)


if __name__ == "__main__":
    main()
