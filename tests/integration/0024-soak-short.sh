#!/bin/bash
# A short soak (tests/soak/soak.sh): 2 minutes of live traffic at 1000
# events/s over 10000 users, the daemon killed with SIGKILL every 30 s and
# restarted; exact results against an uninterrupted run, RSS of the last
# killed life within 15 % or 16 MB of the second's, the same descriptors
# (other than RocksDB's files) at the same point of every life.
set -euo pipefail
exec bash "${SRC_DIR:?}/tests/soak/soak.sh" --minutes 2 --kill-every 30 \
	--rate 1000 --users 10000 --rss-tolerance 15 --rss-slack 16
