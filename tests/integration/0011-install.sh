#!/bin/bash
# cmake --install:
#  - into --prefix $T/root: exactly the expected files (binaries, units,
#    example configuration, schemas, man pages), each equal to its source;
#    the installed units are the ones in systemd/ with the three packaged
#    paths (/usr/bin/activityd, /etc/activityd, /usr/share/activityd/schemas)
#    moved under the prefix, and systemd-analyze verify accepts them with
#    their Documentation= pages found in the installed man tree;
#  - with DESTDIR and --prefix /usr: the configuration lands in /etc and
#    the units are byte for byte those of systemd/; installing again keeps
#    an edited configuration and puts the example beside it as .new;
#  - each man page renders without a groff warning, and documents every
#    option of `activityd --help`, every command and flag of `activityctl`
#    and every option of the configuration with its default.
set -euo pipefail

: "${BUILD_DIR:?}" "${SRC_DIR:?}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

cmake --install "$BUILD_DIR" --prefix "$T/root" >"$T/install.out" ||
	{ cat "$T/install.out" >&2; fail "cmake --install exited $?"; }

# Exactly these files, nothing else.
{
	echo bin/activityctl
	echo bin/activityd
	echo etc/activityd/activityd.conf
	echo lib/systemd/system/activityd.service
	echo lib/systemd/system/activityd@.service
	for s in "$SRC_DIR"/schemas/*.avsc; do
		echo "share/activityd/schemas/${s##*/}"
	done
	echo share/man/man5/activityd.conf.5
	echo share/man/man8/activityctl.8
	echo share/man/man8/activityd.8
} | LC_ALL=C sort >"$T/want"
(cd "$T/root" && find . -type f -o -type l) | sed 's|^\./||' |
	LC_ALL=C sort >"$T/got"
diff "$T/want" "$T/got" >&2 || fail "installed files differ (< wanted, > got)"

same() {
	cmp -s "$1" "$2" || fail "$2 differs from $1"
}
same "$BUILD_DIR/activityd" "$T/root/bin/activityd"
same "$BUILD_DIR/activityctl" "$T/root/bin/activityctl"
[ -x "$T/root/bin/activityd" ] && [ -x "$T/root/bin/activityctl" ] ||
	fail "installed binaries are not executable"
same "$SRC_DIR/config/activityd.conf" "$T/root/etc/activityd/activityd.conf"
for s in "$SRC_DIR"/schemas/*.avsc; do
	same "$s" "$T/root/share/activityd/schemas/${s##*/}"
done
same "$SRC_DIR/man/activityd.conf.5" "$T/root/share/man/man5/activityd.conf.5"
same "$SRC_DIR/man/activityd.8" "$T/root/share/man/man8/activityd.8"
same "$SRC_DIR/man/activityctl.8" "$T/root/share/man/man8/activityctl.8"
for u in activityd.service activityd@.service; do
	sed -e "s|=/usr/bin/activityd |=$T/root/bin/activityd |" \
	    -e "s| -c /etc/activityd/| -c $T/root/etc/activityd/|" \
	    -e "s|=/usr/share/activityd/schemas|=$T/root/share/activityd/schemas|" \
	    "$SRC_DIR/systemd/$u" >"$T/$u"
	! cmp -s "$SRC_DIR/systemd/$u" "$T/$u" || fail "$u: no path to move"
	same "$T/$u" "$T/root/lib/systemd/system/$u"
done

# The installed units point at the installed binary and man pages.
if command -v systemd-analyze >/dev/null; then
	for u in activityd.service activityd@test.service; do
		rc=0
		MANPATH="$T/root/share/man" systemd-analyze verify \
		    "$T/root/lib/systemd/system/$u" >"$T/verify.out" 2>&1 || rc=$?
		[ "$rc" -eq 0 ] && [ ! -s "$T/verify.out" ] ||
			{ cat "$T/verify.out" >&2; fail "verify installed $u: exit $rc"; }
	done
else
	echo "systemd-analyze not found: installed units not verified"
fi

# A packaged layout: /usr, configuration in /etc, units unchanged.
DESTDIR="$T/stage" cmake --install "$BUILD_DIR" --prefix /usr >"$T/install.out" ||
	{ cat "$T/install.out" >&2; fail "cmake --install --prefix /usr"; }
same "$SRC_DIR/config/activityd.conf" "$T/stage/etc/activityd/activityd.conf"
[ ! -e "$T/stage/usr/etc" ] || fail "/usr/etc was created"
for u in activityd.service activityd@.service; do
	same "$SRC_DIR/systemd/$u" "$T/stage/usr/lib/systemd/system/$u"
done
[ -x "$T/stage/usr/bin/activityd" ] || fail "no /usr/bin/activityd"
# An administrator's edits survive a reinstall.
printf '[kafka]\nbootstrap.servers = edited:9092\n' \
    >"$T/stage/etc/activityd/activityd.conf"
cp "$T/stage/etc/activityd/activityd.conf" "$T/edited"
DESTDIR="$T/stage" cmake --install "$BUILD_DIR" --prefix /usr >"$T/install.out" ||
	{ cat "$T/install.out" >&2; fail "second cmake --install"; }
same "$T/edited" "$T/stage/etc/activityd/activityd.conf"
same "$SRC_DIR/config/activityd.conf" "$T/stage/etc/activityd/activityd.conf.new"
grep -q "Keeping: $T/stage/etc/activityd/activityd.conf" "$T/install.out" ||
	fail "the kept configuration is not reported"

# Man pages: no groff warning of any kind, and complete.
render() {
	MANWIDTH=80 man --warnings=w -l "$1" 2>"$T/man.err" >"$T/man.txt" ||
		fail "man -l $1 exited $?"
	[ ! -s "$T/man.err" ] || { cat "$T/man.err" >&2; fail "man -l $1 warns"; }
	grep -q . "$T/man.txt" || fail "man -l $1 printed nothing"
}
has() {		# has PAGE-TEXT STRING
	grep -qF -- "$2" "$1" || fail "$3 does not mention $2"
}

render "$T/root/share/man/man8/activityd.8"
"$BUILD_DIR/activityd" --help | grep -oE -- '(^|[ ,])--?[a-zA-Z][a-z-]*' |
    sed 's/^[ ,]//' | sort -u >"$T/flags"
[ "$(wc -l <"$T/flags")" -ge 7 ] || fail "activityd --help: too few flags"
while read -r f; do
	has "$T/man.txt" "$f" activityd.8
done <"$T/flags"
for s in SIGTERM SIGHUP ACTIVITYD_SCHEMA_DIR "EXIT STATUS" "SEE ALSO"; do
	has "$T/man.txt" "$s" activityd.8
done

render "$T/root/share/man/man8/activityctl.8"
cp "$T/man.txt" "$T/ctl.txt"
"$BUILD_DIR/activityctl" --help |
    sed -n '/^commands:/,/^$/s/^  \([a-z]\+\) .*/\1/p' >"$T/commands"
[ "$(wc -l <"$T/commands")" -ge 4 ] || fail "activityctl --help: too few commands"
while read -r c; do
	grep -qx "   $c" "$T/ctl.txt" || fail "activityctl.8 has no section $c"
	"$BUILD_DIR/activityctl" "$c" --help |
	    grep -oE -- '(^|[ [])--?[a-zA-Z][a-z-]*' | sed 's/^[ []//' |
	    sort -u >"$T/flags"
	while read -r f; do
		has "$T/ctl.txt" "$f" "activityctl.8 ($c)"
	done <"$T/flags"
done <"$T/commands"

# Every option of the table, with its default, under its section: the
# rendered page has "   [section]" headings and "       key = default"
# tags, as --check-config prints them.
render "$T/root/share/man/man5/activityd.conf.5"
printf '[kafka]\nbootstrap.servers = x:1\n' >"$T/min.conf"
"$BUILD_DIR/activityd" -c "$T/min.conf" --check-config |
    awk '/^\[/ { s = $0 } / = / && s != "[kafka]" && s != "[rocksdb]" {
	sub(/\t#.*/, ""); print s " " $0 }' >"$T/options"
[ "$(wc -l <"$T/options")" -ge 30 ] || fail "--check-config: too few options"
awk '/^   \[[a-z_]+\]$/ { sub(/^ +/, ""); s = $0 }
     /^       [a-z_.]+ = / { sub(/^ +/, ""); print s " " $0 }' \
    "$T/man.txt" >"$T/documented"
while read -r line; do
	grep -qxF -- "$line" "$T/documented" ||
		fail "activityd.conf.5 lacks '$line'"
done <"$T/options"
[ "$(wc -l <"$T/documented")" -eq "$(wc -l <"$T/options")" ] ||
	fail "activityd.conf.5 documents options --check-config does not print"
echo "PASS"
