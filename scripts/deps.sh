#!/bin/bash
# Installs the Debian packages activityd builds and tests with. Safe to run
# again: packages already present are skipped without touching apt.
set -euo pipefail

PKGS=(build-essential cmake pkg-config
      librdkafka-dev librocksdb-dev libevent-dev libavro-dev libjansson-dev
      libicu-dev libxxhash-dev libsystemd-dev libcmocka-dev libmimalloc-dev
      systemd kcat python3 gawk gnuplot-nox bsdextrautils
      clang libclang-rt-14-dev valgrind)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
